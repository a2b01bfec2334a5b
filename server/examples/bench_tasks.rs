//! Task list render time: a signed-in GET of `/tasks` with 2,000 open tasks (every tenth with
//! three micro-steps), against the same page showing the empty Done list (the peer:
//! everything but the tasks), measured in-process on a fresh SQLite file, in the same run.
//!
//! `cargo run --release -p server --example bench_tasks [-- ROUNDS]`
// A measuring tool, not production code: a failed step ends the run with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The server's allocator (server/src/main.rs), so the figures are the server's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::time::{Duration, Instant};

use axum::body::Body;
use http::{Request, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn call(app: &axum::Router, request: Request<Body>) -> (http::response::Parts, Vec<u8>) {
    let response = app.clone().oneshot(request).await.expect("response");
    let (parts, body) = response.into_parts();
    (parts, body.collect().await.expect("body").to_bytes().to_vec())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("calento-bench-tasks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}/calento.db", dir.display());
    let mut values = std::collections::HashMap::new();
    values.insert("DATABASE_URL".to_owned(), url);
    values.insert("CALENTO_LOG".to_owned(), "error".to_owned());
    let config = server::config::Config::from_values(&values).expect("config");
    let state = server::open_state(&config).await.expect("database");
    let app = server::router(state.clone(), &config);

    // A signed-in browser: register through the same form the page uses.
    let form = "email=bench%40example.org&password=correct+horse+battery&name=Bench&username=&time_zone=Europe%2FParis";
    let request = Request::post("/fn/register")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    let (parts, _) = call(&app, request).await;
    let cookie = parts
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("; ");
    let user = app::ssr::accounts::find_by_email(
        &state.db,
        &calento::EmailAddress::parse("bench@example.org").expect("email"),
    )
    .await
    .expect("query")
    .expect("user");

    // 2,000 tasks captured in four brain dumps, with dates, estimates, tags and zones.
    for batch in 0..4 {
        let text: String = (0..500)
            .map(|i| {
                let n = batch * 500 + i;
                format!("Task {n} in {} days ~{}m !{} #tag{} @zone{}\n", n % 30, 15 + n % 90, 1 + n % 4, n % 12, n % 5)
            })
            .collect();
        app::ssr::tasks::capture(&state.db, &user, &text, true, None).await.expect("capture");
    }
    let all = app::ssr::tasks::list(&state.db, &user, &Default::default()).await.expect("list");
    for task in all.iter().step_by(10) {
        for step in ["First step", "Second step", "Third step"] {
            let input = app::models::TaskInput {
                title: step.to_owned(),
                parent_id: Some(task.id.clone()),
                ..Default::default()
            };
            app::ssr::tasks::create(&state.db, &user, input).await.expect("step");
        }
    }

    let page = |query: &str| {
        Request::get(format!("/tasks?{query}"))
            .header(header::COOKIE, cookie.clone())
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .expect("request")
    };
    let count = |html: &[u8]| String::from_utf8_lossy(html).matches("data-testid=\"task\"").count();
    let (_, first) = call(&app, page("view=all")).await;
    assert_eq!(count(&first), 50, "the first page holds 50 of the 2,000 tasks");
    assert!(String::from_utf8_lossy(&first).contains("Tasks 1–50 of 2000"));
    let (_, last) = call(&app, page("view=all&page=40")).await;
    assert_eq!(count(&last), 50, "the 40th page holds the last 50");
    let (_, empty) = call(&app, page("view=done")).await;
    assert_eq!(count(&empty), 0);

    let mut busy = Vec::with_capacity(rounds);
    let mut far = Vec::with_capacity(rounds);
    let mut quiet = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        call(&app, page("view=all")).await;
        busy.push(start.elapsed());
        let start = Instant::now();
        call(&app, page("view=all&page=40")).await;
        far.push(start.elapsed());
        let start = Instant::now();
        call(&app, page("view=done")).await;
        quiet.push(start.elapsed());
    }
    let (busy, far, quiet) = (median(busy), median(far), median(quiet));
    println!(
        "| task list of 2,000 open tasks, first page (50) | {:.1} ms | {} bytes |",
        busy.as_secs_f64() * 1000.0,
        first.len()
    );
    println!("| the same list, last page (40th) | {:.1} ms | {} bytes |", far.as_secs_f64() * 1000.0, last.len());
    println!("| task list, empty (peer) | {:.1} ms | {} bytes |", quiet.as_secs_f64() * 1000.0, empty.len());
    println!("| ratio first page / empty | {:.1}× | |", busy.as_secs_f64() / quiet.as_secs_f64());
    state.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
