//! Health, metrics, headers, static assets and the 404 page.

use crate::on_both_backends;
use crate::support::{Backend, spawn_app};

on_both_backends!(health_metrics_and_headers, pages_keep_rendering_while_other_servers_start);

async fn health_metrics_and_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let live = app.get("/health/live").await;
    assert_eq!(live.status, 200);
    assert_eq!(live.json()["status"], "ok");
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["database"], "ok");
    assert!(ready.header("x-request-id").is_some_and(|id| !id.is_empty()));
    let echoed = app.send("GET", "/health/live", &[("x-request-id", "abc-123")], Vec::new()).await;
    assert_eq!(echoed.header("x-request-id"), Some("abc-123"));

    let page = app.get("/login").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<form"), "server-rendered form");
    let csp = page.header("content-security-policy").expect("CSP").to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
    // The log-in page is the same for every visitor (kept and served again): its policy
    // allows its inline scripts by their hashes. Rendered for one visitor (a cookie), it
    // carries a nonce of its own, on every script.
    assert_eq!(crate::booking::scripts_allowed(&page.headers, &page.body), (true, None), "{csp}");
    let rendered = app.send("GET", "/login", &[("cookie", "calento_form=x")], Vec::new()).await;
    let (allowed, nonce) = crate::booking::scripts_allowed(&rendered.headers, &rendered.body);
    assert!(allowed && nonce.is_some(), "{:?}", rendered.header("content-security-policy"));
    let again = app.send("GET", "/login", &[("cookie", "calento_form=x")], Vec::new()).await;
    assert_ne!(crate::booking::scripts_allowed(&again.headers, &again.body).1, nonce, "a fresh nonce per render");
    // Inline scripts (but those allowed) and <style> elements stay forbidden; only style
    // attributes (the calendar grid's positions) are allowed.
    assert!(csp.contains("style-src 'self';"), "{csp}");
    assert!(csp.contains("style-src-attr 'unsafe-inline'"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("strict-origin-when-cross-origin"));

    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("Page not found"));

    let compressed = app.send("GET", "/login", &[("accept-encoding", "br")], Vec::new()).await;
    assert_eq!(compressed.header("content-encoding"), Some("br"));

    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("calento_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} 2"),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains("calento_http_request_duration_seconds_bucket{route=\"/login\",le=\"+Inf\"}"));
    assert!(metrics.body.contains("calento_db_connections{state=\"idle\"}"));
}

/// Pages render while other servers start in the same process (as the tests run them).
/// Building a router used to generate the page routes again, which stalls every page
/// rendering at that moment for good (leptos-rs/leptos#4773): the rare unanswered GET.
async fn pages_keep_rendering_while_other_servers_start(backend: Backend) {
    let app = spawn_app(backend).await;
    let config = crate::support::test_config(&app.url, &[]);
    let starting = async {
        for _ in 0..100 {
            // What starting another server does before it serves: build its router.
            let _ = server::router(app.state.clone(), &config);
            tokio::task::yield_now().await;
        }
    };
    let rendering = async {
        let mut answers = Vec::new();
        for round in 0..100 {
            let path = if round % 2 == 0 { "/login" } else { "/no/such/page" };
            let started = std::time::Instant::now();
            let reply = tokio::time::timeout(std::time::Duration::from_secs(20), app.get(path)).await.map(|r| r.status);
            answers.push((path, reply, started.elapsed()));
        }
        answers
    };
    let ((), answers) = tokio::join!(starting, rendering);
    for (path, reply, took) in answers {
        assert!(matches!(reply, Ok(200 | 404)), "{path}: {reply:?} after {took:?}");
    }
}

/// A TCP relay to PostgreSQL that a test cuts and restores: the database going away
/// (every connection dropped, new ones refused) and coming back.
struct Relay {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start(target: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (up2, links2) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(client); // refused: the database is down
                    continue;
                }
                let target = target.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links2.lock().expect("links").push(link.abort_handle());
            }
        });
        Self { port, up, links }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// PostgreSQL stopped under load and started again: while it is away every request that
/// needs it is answered 503 with Retry-After (never another 5xx), `/health/ready` says
/// 503 within its two seconds, and when it is back the server recovers by itself with
/// every write it acknowledged still there. (SQLite is a file in the process: it cannot
/// go away like this.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_going_away_and_back_gives_503s_and_loses_nothing() {
    let Some(_) = crate::support::postgres_url() else {
        eprintln!("PostgreSQL run skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let direct = crate::support::fresh_database(Backend::Postgres).await;
    let mut url = url::Url::parse(&direct).expect("URL");
    let target = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port().unwrap_or(5432));
    let relay = Relay::start(target).await;
    url.set_host(Some("127.0.0.1")).expect("host");
    url.set_port(Some(relay.port)).expect("port");
    let app = crate::support::spawn_app_on(url.as_str(), &[("CALENTO_REQUEST_TIMEOUT_SECS", "30,5,15,300")]).await;
    let token = crate::api::user_with_token(&app, "outage@example.org").await;
    let create = |title: String| {
        let (app, token) = (&app, token.clone());
        async move {
            let body = serde_json::json!({"title": title, "start": "2030-05-06T10:00", "end": "2030-05-06T11:00",
                                          "time_zone": "Europe/Berlin"});
            app.api("POST", "/api/v1/events", &token, Some(body)).await
        }
    };
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        let reply = create(format!("Before {i}")).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        acknowledged.push(format!("Before {i}"));
    }

    relay.cut();
    let started = std::time::Instant::now();
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "{:?}", started.elapsed());
    // Load while it is away: writes and reads, eight at a time.
    let mut load = Vec::new();
    for i in 0..8 {
        let (app, token) = (&app, token.clone());
        let create = &create;
        load.push(async move {
            if i % 2 == 0 {
                let reply = create(format!("During {i}")).await;
                (Some(format!("During {i}")), reply)
            } else {
                (None, app.api("GET", "/api/v1/events", &token, None).await)
            }
        });
    }
    for (title, reply) in futures_util::future::join_all(load).await {
        assert!(reply.status < 500 || reply.status == 503, "{} {}", reply.status, reply.body);
        if reply.status == 503 {
            assert!(reply.header("retry-after").is_some(), "{}", reply.body);
        }
        if let (Some(title), 201) = (title, reply.status) {
            acknowledged.push(title);
        }
    }

    relay.restore();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.get("/health/ready").await.status != 200 {
        assert!(std::time::Instant::now() < deadline, "never ready again");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let reply = create("After".to_owned()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    acknowledged.push("After".to_owned());
    let listed = app.api("GET", "/api/v1/events?per_page=100", &token, None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let titles: Vec<String> = listed.json()["items"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["title"].as_str().map(str::to_owned))
        .collect();
    for title in &acknowledged {
        assert!(titles.contains(title), "acknowledged {title} is lost: {titles:?}");
    }
}
