//! The guard on calls out of the server, against real local servers: refused addresses in
//! every spelling, names that resolve inside, redirects into the network, the operator's
//! allowlist, the limits of every call, and the callers (subscriptions, sign-in providers,
//! the language model) all going through it; on both databases.
//!
//! Test servers run with `CALENTO_OUTBOUND_ALLOW=127.0.0.1/32` so that the other suites
//! reach their local fakes; these tests set it to something else, or to nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};
use server::outbound::{Allowlist, Limits, Outbound, OutboundError};

use crate::api::user_with_token;
use crate::oidc::provider;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, spawn_app_with};

on_both_backends!(
    subscribing_to_a_refused_address_is_invalid_on_source_url,
    refusals_found_at_poll_time_are_stored_and_keep_the_events,
    the_allowlist_admits_listed_address_blocks_and_host_names,
    sign_in_providers_and_the_language_model_are_called_through_the_guard,
);

/// No exceptions: public addresses only.
const NOTHING_ALLOWED: (&str, &str) = ("CALENTO_OUTBOUND_ALLOW", "");

/// A local calendar server and what it saw.
#[derive(Default)]
struct Seen {
    hits: AtomicUsize,
    /// When set, `/feed.ics` redirects here.
    redirect_to: Mutex<Option<String>>,
    authorization: Mutex<Vec<String>>,
}

struct Local {
    base: String,
    seen: Arc<Seen>,
}

impl Local {
    fn hits(&self) -> usize {
        self.seen.hits.load(Ordering::SeqCst)
    }

    fn redirect_to(&self, target: Option<String>) {
        *self.seen.redirect_to.lock().expect("lock") = target;
    }
}

fn feed() -> String {
    let event = |uid: &str, start: &str| {
        format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\nSUMMARY:{uid}\r\nEND:VEVENT\r\n"
        )
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Calento tests//Guard//EN\r\n{}{}END:VCALENDAR\r\n",
        event("one@guard", "20240610T090000Z"),
        event("two@guard", "20240611T090000Z")
    )
}

async fn serve_feed(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    seen.hits.fetch_add(1, Ordering::SeqCst);
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        seen.authorization.lock().expect("lock").push(auth.to_owned());
    }
    if let Some(target) = seen.redirect_to.lock().expect("lock").clone() {
        return (StatusCode::FOUND, [(header::LOCATION, target)]).into_response();
    }
    ([(header::CONTENT_TYPE, "text/calendar")], feed()).into_response()
}

/// A calendar server on `ip`, port 0: `/feed.ics` (or a redirect, see [`Seen`]),
/// `/to?url=…` (a redirect there), `/hops/{n}` (redirects forever), `/big` (5,000 bytes,
/// streamed without a length), `/big-declared` (the same with a length), `/slow` (3 s).
async fn serve_on(ip: &str) -> Option<Local> {
    let seen = Arc::new(Seen::default());
    let router = axum::Router::new()
        .route("/feed.ics", get(serve_feed))
        .route(
            "/to",
            get(|State(seen): State<Arc<Seen>>, Query(query): Query<HashMap<String, String>>| async move {
                seen.hits.fetch_add(1, Ordering::SeqCst);
                (StatusCode::FOUND, [(header::LOCATION, query.get("url").cloned().unwrap_or_default())])
            }),
        )
        .route(
            "/hops/{n}",
            get(|State(seen): State<Arc<Seen>>, Path(n): Path<u32>| async move {
                seen.hits.fetch_add(1, Ordering::SeqCst);
                (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, format!("/hops/{}", n + 1))])
            }),
        )
        .route(
            "/big",
            // Mapping the frames hides the length, so it goes out chunked.
            get(|| async { Body::new(Full::new(Bytes::from(vec![b'x'; 5000])).map_frame(|frame| frame)) }),
        )
        .route("/big-declared", get(|| async { vec![b'x'; 5000] }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .with_state(seen.clone());
    // Not every machine has IPv6 on its loopback.
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.ok()?;
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Some(Local { base: format!("http://{addr}"), seen })
}

fn port(local: &Local) -> u16 {
    local.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
}

async fn subscribe(app: &TestApp, token: &str, url: &str) -> (u16, Value) {
    let reply = app.api("POST", "/api/v1/calendars", token, Some(json!({"name": "Guarded", "source_url": url}))).await;
    let body = if reply.body.is_empty() { Value::Null } else { reply.json() };
    (reply.status, body)
}

async fn refresh(app: &TestApp, token: &str, calendar: &str) -> Value {
    let reply = app.api("POST", &format!("/api/v1/calendars/{calendar}/refresh"), token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

/// The calendar's events as `(title, id, updated_at)`, sorted by title.
async fn events_of(app: &TestApp, token: &str, calendar: &str) -> Vec<(String, String, String)> {
    let reply =
        app.api("GET", &format!("/api/v1/events?calendar_id={calendar}&sort=title&per_page=200"), token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("title"), text("id"), text("updated_at"))
        })
        .collect()
}

fn source_url_error(body: &Value) -> String {
    assert_eq!(body["code"], "invalid", "{body}");
    let fields = body["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 1, "{body}");
    assert_eq!(fields[0]["field"], "source_url", "{body}");
    fields[0]["message"].as_str().expect("message").to_owned()
}

async fn subscribing_to_a_refused_address_is_invalid_on_source_url(backend: Backend) {
    let feed = serve_on("127.0.0.1").await.expect("a server on 127.0.0.1");
    let ipv6 = serve_on("::1").await;
    let app = spawn_app_with(backend, &[NOTHING_ALLOWED]).await;
    let token = user_with_token(&app, "guard@example.org").await;
    let p = port(&feed);
    let mut refused = vec![
        // Loopback, in every spelling that reaches the live server above.
        (format!("http://127.0.0.1:{p}/feed.ics"), "loopback"),
        (format!("http://[::ffff:127.0.0.1]:{p}/feed.ics"), "loopback"),
        (format!("http://[::127.0.0.1]:{p}/feed.ics"), "loopback"),
        (format!("http://[64:ff9b::7f00:1]:{p}/feed.ics"), "loopback"),
        (format!("http://2130706433:{p}/feed.ics"), "not a host name"),
        (format!("http://0177.0.0.1:{p}/feed.ics"), "not a host name"),
        (format!("http://0x7f.1:{p}/feed.ics"), "not a host name"),
        (format!("http://127.1:{p}/feed.ics"), "not a host name"),
        (format!("webcal://127.0.0.1:{p}/feed.ics"), "loopback"),
        // A name that resolves only inside.
        (format!("http://localhost:{p}/feed.ics"), "localhost resolves to"),
        // Every other class.
        ("http://10.0.0.1/cal.ics".to_owned(), "private"),
        ("http://172.16.5.4/cal.ics".to_owned(), "private"),
        ("https://192.168.1.1/cal.ics".to_owned(), "private"),
        ("http://[fd00::1]/cal.ics".to_owned(), "private"),
        ("http://[::ffff:10.0.0.1]/cal.ics".to_owned(), "private"),
        ("http://169.254.169.254/latest/meta-data/".to_owned(), "link-local"),
        ("http://[fe80::1]/cal.ics".to_owned(), "link-local"),
        ("http://100.64.0.1/cal.ics".to_owned(), "carrier-grade NAT"),
        (format!("http://0.0.0.0:{p}/feed.ics"), "unspecified"),
        (format!("http://[::]:{p}/feed.ics"), "unspecified"),
        ("http://224.0.0.1/cal.ics".to_owned(), "multicast"),
        ("http://[ff02::1]/cal.ics".to_owned(), "multicast"),
        ("http://255.255.255.255/cal.ics".to_owned(), "broadcast"),
        ("http://240.0.0.1/cal.ics".to_owned(), "reserved"),
    ];
    if let Some(ipv6) = &ipv6 {
        refused.push((format!("http://[::1]:{}/feed.ics", port(ipv6)), "loopback"));
    }
    for (url, why) in &refused {
        let (status, body) = subscribe(&app, &token, url).await;
        assert_eq!(status, 422, "{url}: {body}");
        let message = source_url_error(&body);
        assert!(message.contains(why), "{url}: {message:?} should say {why:?}");
    }
    let calendars = app.api("GET", "/api/v1/calendars", &token, None).await.json();
    assert_eq!(calendars.as_array().map(Vec::len), Some(1), "only the default calendar: {calendars}");
    assert_eq!(feed.hits(), 0, "nothing was fetched");
    assert_eq!(ipv6.as_ref().map_or(0, Local::hits), 0);

    // The page's form answers the same, through its server function.
    let browser = app.browser();
    assert_eq!(browser.register("form-guard@example.org", "Form").await.status, 200);
    let reply = browser
        .call("create_calendar", &[("name", "Mine"), ("source_url", &format!("http://localhost:{p}/feed.ics"))])
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(source_url_error(&reply.json()).contains("localhost resolves to"));
    assert_eq!(feed.hits(), 0);
}

async fn refusals_found_at_poll_time_are_stored_and_keep_the_events(backend: Backend) {
    let feed = serve_on("127.0.0.1").await.expect("a server on 127.0.0.1");
    // 127.0.0.2 is loopback too, but outside the test servers' allowlist (127.0.0.1/32).
    let inside = serve_on("127.0.0.2").await.expect("a server on 127.0.0.2");
    let ipv6 = serve_on("::1").await;
    let app = spawn_app_with(backend, &[]).await;
    let token = user_with_token(&app, "poll-guard@example.org").await;
    let (status, calendar) = subscribe(&app, &token, &format!("{}/feed.ics", feed.base)).await;
    assert_eq!(status, 201, "{calendar}");
    let calendar = calendar["id"].as_str().expect("id").to_owned();
    assert_eq!(refresh(&app, &token, &calendar).await["poll_error"], Value::Null);
    let before = events_of(&app, &token, &calendar).await;
    assert_eq!(before.len(), 2);

    // The allowed server now redirects into the network: every hop is checked.
    let mut targets = vec![
        (format!("{}/feed.ics", inside.base), "127.0.0.2 is a loopback address"),
        ("http://10.0.0.1/feed.ics".to_owned(), "10.0.0.1 is a private network address"),
        ("http://169.254.169.254/latest/meta-data/".to_owned(), "link-local"),
        (format!("http://2130706433:{}/feed.ics", port(&feed)), "not a host name"),
    ];
    if let Some(ipv6) = &ipv6 {
        targets.push((format!("{}/feed.ics", ipv6.base), "::1 is a loopback address"));
    }
    for (target, why) in &targets {
        feed.redirect_to(Some(target.clone()));
        let started = Instant::now();
        let polled = refresh(&app, &token, &calendar).await;
        let error = polled["poll_error"].as_str().unwrap_or_default();
        assert!(error.starts_with("The address is refused:") && error.contains(why), "{target}: {error:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "refused before connecting, not timed out");
        assert_eq!(events_of(&app, &token, &calendar).await, before, "a refused poll keeps the events");
    }
    assert_eq!(inside.hits(), 0, "the address inside was never called");
    assert_eq!(ipv6.as_ref().map_or(0, Local::hits), 0);

    // The name resolves only to refused addresses when it is polled (here: the guard no
    // longer allows what `localhost` resolves to, as after a DNS change).
    feed.redirect_to(None);
    let named = format!("http://localhost:{}/feed.ics", port(&feed));
    let (status, by_name) = subscribe(&app, &token, &named).await;
    assert_eq!(status, 201, "127.0.0.1 is allowed, and localhost resolves to it: {by_name}");
    let by_name = by_name["id"].as_str().expect("id").to_owned();
    assert_eq!(refresh(&app, &token, &by_name).await["poll_error"], Value::Null);
    let mirrored = events_of(&app, &token, &by_name).await;
    let strict = server::subscriptions::Poller::new(Outbound::new(Allowlist::default()), 1 << 20);
    let row = strict.poll(&app.state.db, &by_name).await.expect("poll");
    let error = row.poll_error.unwrap_or_default();
    assert!(error.contains("localhost resolves to") && error.contains("loopback"), "{error:?}");
    assert_eq!(events_of(&app, &token, &by_name).await, mirrored);

    // Back to a plain answer: the error clears.
    assert_eq!(refresh(&app, &token, &calendar).await["poll_error"], Value::Null);
}

async fn the_allowlist_admits_listed_address_blocks_and_host_names(backend: Backend) {
    let feed = serve_on("127.0.0.1").await.expect("a server on 127.0.0.1");
    let inside = serve_on("127.0.0.2").await.expect("a server on 127.0.0.2");

    // A listed block: 127.0.0.2 is inside 127.0.0.0/8, directly and through a redirect.
    let app = spawn_app_with(backend, &[("CALENTO_OUTBOUND_ALLOW", "nextcloud.lan, 127.0.0.0/8")]).await;
    let token = user_with_token(&app, "allow-block@example.org").await;
    let (status, direct) = subscribe(&app, &token, &format!("{}/feed.ics", inside.base)).await;
    assert_eq!(status, 201, "{direct}");
    let direct = direct["id"].as_str().expect("id").to_owned();
    assert_eq!(refresh(&app, &token, &direct).await["poll_error"], Value::Null);
    assert_eq!(events_of(&app, &token, &direct).await.len(), 2);
    feed.redirect_to(Some(format!("{}/feed.ics", inside.base)));
    let (_, redirected) = subscribe(&app, &token, &format!("{}/feed.ics", feed.base)).await;
    let redirected = redirected["id"].as_str().expect("id").to_owned();
    assert_eq!(refresh(&app, &token, &redirected).await["poll_error"], Value::Null);
    assert_eq!(inside.hits(), 2);
    // Outside the block is still refused.
    let (status, body) = subscribe(&app, &token, "http://10.1.2.3/cal.ics").await;
    assert_eq!(status, 422);
    assert!(source_url_error(&body).contains("10.1.2.3 is a private network address"));
    feed.redirect_to(None);

    // A listed host name: its addresses are allowed, the same address by number is not.
    let app = spawn_app_with(backend, &[("CALENTO_OUTBOUND_ALLOW", "localhost")]).await;
    let token = user_with_token(&app, "allow-name@example.org").await;
    let (status, named) = subscribe(&app, &token, &format!("http://localhost:{}/feed.ics", port(&feed))).await;
    assert_eq!(status, 201, "{named}");
    let named = named["id"].as_str().expect("id").to_owned();
    assert_eq!(refresh(&app, &token, &named).await["poll_error"], Value::Null);
    assert_eq!(events_of(&app, &token, &named).await.len(), 2);
    let (status, body) = subscribe(&app, &token, &format!("{}/feed.ics", feed.base)).await;
    assert_eq!(status, 422);
    assert!(source_url_error(&body).contains("127.0.0.1 is a loopback address"));
}

async fn sign_in_providers_and_the_language_model_are_called_through_the_guard(backend: Backend) {
    // The local OpenID provider: reached when allowed, refused otherwise.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let idp = provider::Provider::serve(listener, "calento-test", "s3cret").await;
    let issuer = idp.issuer().to_owned();
    let oidc = [
        ("CALENTO_OIDC_ISSUER", issuer.as_str()),
        ("CALENTO_OIDC_CLIENT_ID", "calento-test"),
        ("CALENTO_OIDC_CLIENT_SECRET", "s3cret"),
    ];
    let allowed = spawn_app_with(backend, &oidc).await;
    let reply = allowed.browser().get("/auth/oidc/oidc/start").await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert!(reply.header("location").is_some_and(|l| l.starts_with(&issuer)), "{:?}", reply.header("location"));
    let mut strict = oidc.to_vec();
    strict.push(NOTHING_ALLOWED);
    let refused = spawn_app_with(backend, &strict).await;
    let reply = refused.browser().get("/auth/oidc/oidc/start").await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = reply.header("location").unwrap_or_default();
    assert!(location.starts_with("/login?err=") && location.contains("cannot%20be%20reached"), "{location}");

    // A model on this machine: refused without the allowlist, and never called.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let model = axum::Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"choices": [{"message": {"content": "1. Open the file\n2. Save it"}}]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, model).await;
    });
    for (allow, source) in [("", "rules"), ("127.0.0.1/32", "model")] {
        let app =
            spawn_app_with(backend, &[("CALENTO_LLM_URL", base.as_str()), ("CALENTO_OUTBOUND_ALLOW", allow)]).await;
        let token = user_with_token(&app, "model-guard@example.org").await;
        let task = app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Write the report"}))).await.json();
        let id = task["id"].as_str().expect("id");
        let reply = app.api("POST", &format!("/api/v1/tasks/{id}/breakdown"), &token, None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let suggested = reply.json();
        assert_eq!(suggested["source"], source, "{suggested}");
        if source == "rules" {
            let note = suggested["note"].as_str().unwrap_or_default();
            assert!(note.contains("refused") && note.contains("127.0.0.1"), "{note}");
            assert_eq!(calls.load(Ordering::SeqCst), 0, "the refused model was never called");
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// The guarded client on its own: the limits every call keeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_keeps_its_redirect_time_and_size_limits() {
    let local = serve_on("127.0.0.1").await.expect("a server on 127.0.0.1");
    let other = serve_on("127.0.0.1").await.expect("another server");
    let client = Outbound::new(Allowlist::parse("127.0.0.1/32").expect("allowlist"));
    let get = |path: &str| {
        http::Request::get(format!("{}{path}", local.base))
            .header(header::AUTHORIZATION, "Bearer for-the-first-server")
            .body(Bytes::new())
            .expect("request")
    };
    let five = Limits { redirects: 5, ..Limits::default() };

    // At most five redirects: the first request and five more, then a refusal.
    let error = client.send_with(get("/hops/0"), five).await.expect_err("endless redirects");
    assert_eq!(error, OutboundError::TooManyRedirects(5));
    assert_eq!(local.hits(), 6);
    let hops = client.send_with(get("/to?url=/feed.ics"), five).await.expect("one redirect");
    assert_eq!(hops.status(), 200);
    // Without redirects (a token endpoint), the redirect is the answer.
    let answer = client.send(get("/to?url=/feed.ics")).await.expect("the redirect itself");
    assert_eq!(answer.status(), 302);
    // A credential stays with the server it was meant for.
    let target = format!("{}/to?url={}/feed.ics", local.base, other.base);
    let request = http::Request::get(target).header(header::AUTHORIZATION, "Bearer secret").body(Bytes::new());
    let moved = client.send_with(request.expect("request"), five).await.expect("redirect to another server");
    assert_eq!(moved.status(), 200);
    assert!(other.seen.authorization.lock().expect("lock").is_empty(), "no Authorization after the redirect");

    // The body cap, with and without a declared length.
    let small = Limits { max_bytes: 1000, ..Limits::default() };
    assert_eq!(client.send_with(get("/big"), small).await.expect_err("streamed"), OutboundError::TooLarge(1000));
    assert_eq!(
        client.send_with(get("/big-declared"), small).await.expect_err("declared"),
        OutboundError::TooLarge(1000)
    );
    let whole = client.send_with(get("/big"), Limits::default()).await.expect("fits");
    assert_eq!((whole.headers().get(header::CONTENT_LENGTH), whole.body().len()), (None, 5000), "streamed");

    // The time limit covers the whole call.
    let started = Instant::now();
    let quick = Limits { timeout: Duration::from_millis(300), ..Limits::default() };
    let error = client.send_with(get("/slow"), quick).await.expect_err("too slow");
    assert_eq!(error, OutboundError::Timeout(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(error.to_string(), "no answer within 300 ms");
}
