//! Subscriptions to external iCalendar feeds, against a real HTTP server started here: a
//! first poll imports, a 304 changes nothing, a changed feed is mirrored, failures keep
//! the events and say why, and subscribed events are read-only; on both databases.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, local_outbound, spawn_app, spawn_app_with};

on_both_backends!(
    a_subscription_mirrors_its_feed_with_conditional_requests,
    failing_feeds_keep_their_events_and_say_why,
    redirects_are_followed_five_times_at_most,
    due_subscriptions_are_polled_in_the_background_round,
    a_full_class_of_requests_is_answered_503_at_once_and_others_go_on,
);

/// The feed the fake calendar server serves, and what it saw.
struct Feed {
    body: String,
    etag: String,
    status: u16,
    requests: usize,
    not_modified: usize,
    last_if_none_match: Option<String>,
}

type Shared = Arc<Mutex<Feed>>;

async fn serve_feed(State(feed): State<Shared>, headers: HeaderMap) -> Response {
    let mut feed = feed.lock().expect("feed");
    feed.requests += 1;
    let asked = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    feed.last_if_none_match = asked.clone();
    if feed.status != 200 {
        return StatusCode::from_u16(feed.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR).into_response();
    }
    let etag = feed.etag.clone();
    if asked.as_deref() == Some(etag.as_str()) {
        feed.not_modified += 1;
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned()),
            (header::ETAG, etag),
            (header::LAST_MODIFIED, "Mon, 03 Jun 2024 10:00:00 GMT".to_owned()),
        ],
        feed.body.clone(),
    )
        .into_response()
}

/// A fake calendar server on port 0: `/feed.ics`, `/moved` (a relative redirect to it),
/// `/loop/{n}` (redirects forever), `/slow` (answers after 3 s).
async fn start_feed_server(body: &str) -> (String, Shared) {
    let feed = Arc::new(Mutex::new(Feed {
        body: body.to_owned(),
        etag: "\"v1\"".to_owned(),
        status: 200,
        requests: 0,
        not_modified: 0,
        last_if_none_match: None,
    }));
    let router = axum::Router::new()
        .route("/feed.ics", get(serve_feed))
        .route("/moved", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "feed.ics")]) }))
        .route(
            "/loop/{n}",
            get(|State(feed): State<Shared>, Path(n): Path<u32>| async move {
                feed.lock().expect("feed").requests += 1;
                (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, format!("/loop/{}", n + 1))])
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
            }),
        )
        .with_state(feed.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}"), feed)
}

fn vevent(uid: &str, summary: &str, start: &str, extra: &str) -> String {
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\nSUMMARY:{summary}\r\n{extra}END:VEVENT\r\n"
    )
}

fn calendar_file(events: &[String]) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Calento tests//Feed//EN\r\n{}END:VCALENDAR\r\n",
        events.concat()
    )
}

/// Alpha, Beta, and Gamma (weekly, three times, the second moved).
fn first_feed() -> String {
    calendar_file(&[
        vevent("alpha@feed", "Alpha", "20240610T090000Z", ""),
        vevent("beta@feed", "Beta", "20240611T090000Z", ""),
        vevent("gamma@feed", "Gamma", "20240612T090000Z", "RRULE:FREQ=WEEKLY;COUNT=3\r\n"),
        vevent("gamma@feed", "Gamma moved", "20240619T150000Z", "RECURRENCE-ID:20240619T090000Z\r\n"),
    ])
}

/// Alpha removed, Beta changed, Gamma as it was, Delta added.
fn second_feed() -> String {
    calendar_file(&[
        vevent("beta@feed", "Beta again", "20240611T100000Z", "LOCATION:Room 2\r\n"),
        vevent("gamma@feed", "Gamma", "20240612T090000Z", "RRULE:FREQ=WEEKLY;COUNT=3\r\n"),
        vevent("gamma@feed", "Gamma moved", "20240619T150000Z", "RECURRENCE-ID:20240619T090000Z\r\n"),
        vevent("delta@feed", "Delta", "20240613T090000Z", ""),
    ])
}

async fn subscribe(app: &TestApp, token: &str, url: &str) -> String {
    let reply =
        app.api("POST", "/api/v1/calendars", token, Some(json!({"name": "Team feed", "source_url": url}))).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["source_url"], url);
    assert_eq!(reply.json()["polled_at"], Value::Null);
    reply.json()["id"].as_str().expect("id").to_owned()
}

async fn refresh(app: &TestApp, token: &str, calendar: &str) -> Value {
    let reply = app.api("POST", &format!("/api/v1/calendars/{calendar}/refresh"), token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

/// The calendar's events (series and exceptions), sorted by title, with `updated_at`.
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

/// Where the user's change feed ends now.
async fn cursor(app: &TestApp, token: &str) -> String {
    app.api("GET", "/api/v1/changes", token, None).await.json()["cursor"].as_str().expect("cursor").to_owned()
}

/// The user's changes after `since`.
async fn changes_since(app: &TestApp, token: &str, since: &str) -> Vec<Value> {
    let page = app.api("GET", &format!("/api/v1/changes?since={since}"), token, None).await.json();
    page["changes"].as_array().expect("changes").clone()
}

fn titles(events: &[(String, String, String)]) -> Vec<&str> {
    events.iter().map(|(title, _, _)| title.as_str()).collect()
}

async fn a_subscription_mirrors_its_feed_with_conditional_requests(backend: Backend) {
    let (base, feed) = start_feed_server(&first_feed()).await;
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "sub@example.org").await;
    let calendar = subscribe(&app, &token, &format!("{base}/feed.ics")).await;
    let before_polls = cursor(&app, &token).await;

    // First poll: everything is imported.
    let first = refresh(&app, &token, &calendar).await;
    assert_eq!(first["poll_error"], Value::Null, "{first}");
    assert!(first["polled_at"].is_string());
    let imported = events_of(&app, &token, &calendar).await;
    assert_eq!(titles(&imported), ["Alpha", "Beta", "Gamma", "Gamma moved"]);
    assert_eq!(feed.lock().expect("feed").requests, 1);
    assert_eq!(feed.lock().expect("feed").last_if_none_match, None, "nothing to validate yet");
    let occurrences = app
        .api("GET", &format!("/api/v1/occurrences?from=2024-06-01&to=2024-07-01&calendar_id={calendar}"), &token, None)
        .await
        .json();
    assert_eq!(occurrences.as_array().map(Vec::len), Some(5), "{occurrences}");
    assert!(occurrences.as_array().expect("list").iter().all(|o| o["read_only"] == true));

    // The change feed heard of each imported row (the series and its moved instance), in
    // the subscription's calendar.
    let polled = changes_since(&app, &token, &before_polls).await;
    assert_eq!(polled.len(), 4, "{polled:?}");
    assert!(
        polled.iter().all(|c| c["kind"] == "event" && c["op"] == "created" && c["calendar_id"] == calendar.as_str())
    );
    let after_first = cursor(&app, &token).await;

    // Second poll: the stored ETag gets a 304, and nothing changes.
    let second = refresh(&app, &token, &calendar).await;
    assert_eq!(second["poll_error"], Value::Null);
    assert!(second["polled_at"].as_str() >= first["polled_at"].as_str());
    {
        let feed = feed.lock().expect("feed");
        assert_eq!((feed.requests, feed.not_modified), (2, 1));
        assert_eq!(feed.last_if_none_match.as_deref(), Some("\"v1\""));
    }
    assert_eq!(events_of(&app, &token, &calendar).await, imported, "same rows, not rewritten");
    assert_eq!(cursor(&app, &token).await, after_first, "a poll that changed nothing records nothing");

    // The feed changes: one event removed, one changed, one added.
    {
        let mut feed = feed.lock().expect("feed");
        feed.body = second_feed();
        feed.etag = "\"v2\"".to_owned();
    }
    let third = refresh(&app, &token, &calendar).await;
    assert_eq!(third["poll_error"], Value::Null);
    let mirrored = events_of(&app, &token, &calendar).await;
    assert_eq!(titles(&mirrored), ["Beta again", "Delta", "Gamma", "Gamma moved"]);
    let beta = app.api("GET", &format!("/api/v1/events/{}", mirrored[0].1), &token, None).await.json();
    assert_eq!((beta["location"].as_str(), beta["start_utc"].as_str()), (Some("Room 2"), Some("2024-06-11T10:00:00Z")));
    assert_eq!(feed.lock().expect("feed").last_if_none_match.as_deref(), Some("\"v1\""));
    let search = app.api("GET", "/api/v1/events?q=alpha", &token, None).await.json();
    assert_eq!(search["total"], 0, "the removed event is gone from search too");
    let mirrored_changes = changes_since(&app, &token, &after_first).await;
    let alpha = &imported[0].1;
    assert!(
        mirrored_changes.iter().any(|c| c["id"] == alpha.as_str() && c["op"] == "deleted"),
        "the event that left the feed is deleted in the feed: {mirrored_changes:?}"
    );
    let delta = &mirrored[1].1;
    assert!(mirrored_changes.iter().any(|c| c["id"] == delta.as_str() && c["op"] == "created"));

    // Subscribed events cannot be changed here.
    let beta_id = &mirrored[0].1;
    let patch = app.api("PATCH", &format!("/api/v1/events/{beta_id}"), &token, Some(json!({"title": "Mine"}))).await;
    assert!((400..500).contains(&patch.status), "{}", patch.body);
    let delete = app.api("DELETE", &format!("/api/v1/events/{beta_id}"), &token, None).await;
    assert!((400..500).contains(&delete.status), "{}", delete.body);
    let add = app
        .api(
            "POST",
            "/api/v1/events",
            &token,
            Some(
                json!({"calendar_id": calendar, "title": "x", "start": "2024-06-01T10:00", "end": "2024-06-01T11:00"}),
            ),
        )
        .await;
    assert!((400..500).contains(&add.status), "{}", add.body);
    assert_eq!(events_of(&app, &token, &calendar).await, mirrored, "refused edits change nothing");

    // Another user cannot refresh it (or see it).
    let other = user_with_token(&app, "other-sub@example.org").await;
    let reply = app.api("POST", &format!("/api/v1/calendars/{calendar}/refresh"), &other, None).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["code"], "not_found");
    assert_eq!(feed.lock().expect("feed").requests, 3, "their attempt fetched nothing");

    // A calendar of one's own is no subscription.
    let own = app.api("GET", "/api/v1/calendars", &token, None).await.json()[0]["id"].clone();
    let own = own.as_str().expect("id");
    let reply = app.api("POST", &format!("/api/v1/calendars/{own}/refresh"), &token, None).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
}

async fn failing_feeds_keep_their_events_and_say_why(backend: Backend) {
    let (base, feed) = start_feed_server(&first_feed()).await;
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "fail@example.org").await;
    let calendar = subscribe(&app, &token, &format!("{base}/feed.ics")).await;
    refresh(&app, &token, &calendar).await;
    let before = events_of(&app, &token, &calendar).await;
    assert_eq!(before.len(), 4);

    let mut errors = Vec::new();
    // A server error.
    feed.lock().expect("feed").status = 500;
    errors.push(refresh(&app, &token, &calendar).await["poll_error"].clone());
    // A body that is no calendar.
    {
        let mut feed = feed.lock().expect("feed");
        feed.status = 200;
        feed.etag = "\"html\"".to_owned();
        feed.body = "<html><body>Sign in to see this calendar</body></html>".to_owned();
    }
    errors.push(refresh(&app, &token, &calendar).await["poll_error"].clone());
    // Nobody listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let gone = subscribe(&app, &token, &format!("http://{closed}/feed.ics")).await;
    errors.push(refresh(&app, &token, &gone).await["poll_error"].clone());
    // https to a server that speaks plain http: the TLS handshake fails.
    let tls = subscribe(&app, &token, &format!("{}/feed.ics", base.replace("http://", "https://"))).await;
    errors.push(refresh(&app, &token, &tls).await["poll_error"].clone());

    for (error, expected) in errors.iter().zip(["500", "cannot be imported", "Cannot reach", "Cannot reach"]) {
        let text = error.as_str().unwrap_or_default();
        assert!(text.contains(expected), "{text:?} should mention {expected:?}");
        assert!(text.chars().count() <= 200 && !text.contains('\n'), "{text:?}");
    }
    assert_eq!(events_of(&app, &token, &calendar).await, before, "failed polls keep the events");

    // Too large, and too slow: a poller with small limits, called directly.
    let db = &app.state.db;
    feed.lock().expect("feed").body = first_feed();
    feed.lock().expect("feed").etag = "\"v1-again\"".to_owned();
    let small = server::subscriptions::Poller::new(local_outbound(), 100);
    let row = small.poll(db, &calendar).await.expect("poll");
    assert!(row.poll_error.as_deref().is_some_and(|e| e.contains("larger than 100 bytes")), "{:?}", row.poll_error);
    let slow = subscribe(&app, &token, &format!("{base}/slow")).await;
    let impatient =
        server::subscriptions::Poller::new(local_outbound(), 1 << 20).with_timeout(Duration::from_millis(500));
    let row = impatient.poll(db, &slow).await.expect("poll");
    assert!(row.poll_error.as_deref().is_some_and(|e| e.contains("did not answer")), "{:?}", row.poll_error);
    assert_eq!(events_of(&app, &token, &calendar).await, before);

    // The feed recovers: the error clears.
    let recovered = refresh(&app, &token, &calendar).await;
    assert_eq!(recovered["poll_error"], Value::Null, "{recovered}");
}

async fn redirects_are_followed_five_times_at_most(backend: Backend) {
    let (base, feed) = start_feed_server(&first_feed()).await;
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "redirect@example.org").await;
    let moved = subscribe(&app, &token, &format!("{base}/moved")).await;
    assert_eq!(refresh(&app, &token, &moved).await["poll_error"], Value::Null);
    assert_eq!(events_of(&app, &token, &moved).await.len(), 4);

    let looping = subscribe(&app, &token, &format!("{base}/loop/0")).await;
    let before = feed.lock().expect("feed").requests;
    let error = refresh(&app, &token, &looping).await["poll_error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("more than 5"), "{error}");
    assert_eq!(feed.lock().expect("feed").requests - before, 6, "the first request and five redirects");
}

async fn due_subscriptions_are_polled_in_the_background_round(backend: Backend) {
    let (base, feed) = start_feed_server(&first_feed()).await;
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "due@example.org").await;
    let calendar = subscribe(&app, &token, &format!("{base}/feed.ics")).await;
    let db = &app.state.db;
    let poller = server::subscriptions::Poller::new(local_outbound(), 1 << 20);

    assert_eq!(poller.poll_due(db).await.expect("round"), 1, "never polled: due");
    assert_eq!(events_of(&app, &token, &calendar).await.len(), 4);
    assert_eq!(poller.poll_due(db).await.expect("round"), 0, "just polled: not due");
    assert_eq!(feed.lock().expect("feed").requests, 1);

    // An hour later (the default interval) it is due again, and the ETag gets a 304.
    sqlx::query("UPDATE calendars SET polled_at = polled_at - 3600000 WHERE id = $1")
        .bind(&calendar)
        .execute(db.write())
        .await
        .expect("age");
    assert_eq!(poller.poll_due(db).await.expect("round"), 1);
    assert_eq!(feed.lock().expect("feed").not_modified, 1);

    // A 30-minute interval: due after 30 minutes, not after 29.
    let updated =
        app.api("PATCH", &format!("/api/v1/calendars/{calendar}"), &token, Some(json!({"poll_minutes": 30}))).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    sqlx::query("UPDATE calendars SET polled_at = polled_at - 1740000 WHERE id = $1")
        .bind(&calendar)
        .execute(db.write())
        .await
        .expect("age");
    assert_eq!(poller.poll_due(db).await.expect("round"), 0);
    sqlx::query("UPDATE calendars SET polled_at = polled_at - 60000 WHERE id = $1")
        .bind(&calendar)
        .execute(db.write())
        .await
        .expect("age");
    assert_eq!(poller.poll_due(db).await.expect("round"), 1);
    assert_eq!(feed.lock().expect("feed").requests, 3);
}

/// Load shedding: with one API request allowed at a time, a second one while a slow
/// refresh holds the slot is answered 503 with Retry-After at once (not queued), pages go
/// on; a request past its class's deadline is answered 503 too, and the server is itself
/// again afterwards (the slot free, the subscription's lease given back).
async fn a_full_class_of_requests_is_answered_503_at_once_and_others_go_on(backend: Backend) {
    let (base, _feed) = start_feed_server(&first_feed()).await;
    let app = spawn_app_with(
        backend,
        &[("CALENTO_MAX_IN_FLIGHT", "64,1,128,2"), ("CALENTO_REQUEST_TIMEOUT_SECS", "30,30,15,300")],
    )
    .await;
    let token = user_with_token(&app, "busy@example.org").await;
    let calendar = subscribe(&app, &token, &format!("{base}/slow")).await;
    let slow = {
        let (app, token, calendar) = (&app, token.clone(), calendar.clone());
        async move {
            let started = std::time::Instant::now();
            let reply = app.api("POST", &format!("/api/v1/calendars/{calendar}/refresh"), &token, None).await;
            (reply.status, started.elapsed())
        }
    };
    let others = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = std::time::Instant::now();
        let busy = app.api("GET", "/api/v1/me", &token, None).await;
        let waited = started.elapsed();
        let page = app.get("/login").await;
        (busy, waited, page.status)
    };
    let ((slow_status, slow_took), (busy, waited, page)) = tokio::join!(slow, others);
    assert_eq!(slow_status, 200);
    assert!(slow_took >= Duration::from_secs(3), "the refresh held the slot: {slow_took:?}");
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert_eq!(busy.header("retry-after"), Some("1"));
    assert_eq!(busy.json()["code"], "overloaded");
    assert!(waited < Duration::from_secs(2), "answered at once, not queued: {waited:?}");
    assert_eq!(page, 200, "pages have slots of their own");
    assert_eq!(app.api("GET", "/api/v1/me", &token, None).await.status, 200, "the slot is free again");

    // A deadline of one second: the slow refresh is cut off with 503, and nothing is left
    // held (the next refresh fetches again).
    let app = spawn_app_with(backend, &[("CALENTO_REQUEST_TIMEOUT_SECS", "30,1,15,300")]).await;
    let token = user_with_token(&app, "late@example.org").await;
    let calendar = subscribe(&app, &token, &format!("{base}/slow")).await;
    let started = std::time::Instant::now();
    let reply = app.api("POST", &format!("/api/v1/calendars/{calendar}/refresh"), &token, None).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(reply.header("retry-after").is_some());
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(app.api("GET", "/api/v1/me", &token, None).await.status, 200);
    let lease = format!("subscription:{calendar}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app::ssr::leases::holder(&app.state.db, &lease).await.expect("holder").is_some() {
        assert!(std::time::Instant::now() < deadline, "the cut-off fetch still holds its lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
