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
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce in the CSP");
    assert!(page.body.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries the page's nonce");
    // Inline scripts and <style> elements stay forbidden; only style attributes (the
    // calendar grid's positions) are allowed.
    let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).expect("script-src");
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("style-src 'self';"), "{csp}");
    assert!(csp.contains("style-src-attr 'unsafe-inline'"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("strict-origin-when-cross-origin"));
    let second = app.get("/login").await;
    assert_ne!(second.header("content-security-policy"), Some(csp.as_str()), "a fresh nonce per page");

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
