//! Week-view render time: a signed-in GET of `/calendar?view=week` with 500 events in the
//! week, against the same page with an empty week (the peer: everything but the events),
//! measured in-process on a fresh SQLite file, in the same run.
//!
//! `cargo run --release -p server --example bench_week [-- ROUNDS]`
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

const WEEK: &str = "2030-01-14";
const EMPTY_WEEK: &str = "2031-06-02";

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
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(40);
    let dir = std::env::temp_dir().join(format!("calento-bench-week-{}", std::process::id()));
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

    // 500 events in the week: 100 a weekday, overlapping in every way.
    for i in 0..500u32 {
        let day = 14 + i % 5;
        let minutes = (i * 37) % (10 * 60);
        let input = app::models::EventInput {
            details: calento::event::EventDetails { title: format!("Event {i}"), ..Default::default() },
            times: calento::event::TimesInput {
                start: format!("2030-01-{day}T{:02}:{:02}", 8 + minutes / 60, minutes % 60),
                end: format!("2030-01-{day}T{:02}:{:02}", 9 + minutes / 60, minutes % 60),
                ..Default::default()
            },
            ..Default::default()
        };
        app::ssr::events::create(&state.db, &user.id, input).await.expect("event");
    }

    let page = |date: &str| {
        Request::get(format!("/calendar?view=week&date={date}"))
            .header(header::COOKIE, cookie.clone())
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .expect("request")
    };
    let (_, full) = call(&app, page(WEEK)).await;
    let html = String::from_utf8_lossy(&full);
    assert_eq!(html.matches("data-testid=\"event\"").count(), 500, "all 500 events are on the page");
    let (_, empty) = call(&app, page(EMPTY_WEEK)).await;
    assert_eq!(String::from_utf8_lossy(&empty).matches("data-testid=\"event\"").count(), 0);

    let mut busy = Vec::with_capacity(rounds);
    let mut quiet = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        call(&app, page(WEEK)).await;
        busy.push(start.elapsed());
        let start = Instant::now();
        call(&app, page(EMPTY_WEEK)).await;
        quiet.push(start.elapsed());
    }
    let (busy, quiet) = (median(busy), median(quiet));
    println!("| week view, 500 events | {:.1} ms | {} bytes |", busy.as_secs_f64() * 1000.0, full.len());
    println!("| week view, empty (peer) | {:.1} ms | {} bytes |", quiet.as_secs_f64() * 1000.0, empty.len());
    println!("| ratio | {:.1}× | |", busy.as_secs_f64() / quiet.as_secs_f64());

    // Where the difference goes: the window's rows read from the database, then laid out as
    // occurrences (the page's data without its HTML), the same way `load_calendar` does.
    let calendars = app::ssr::calendars::list(&state.db, &user.id).await.expect("calendars");
    let at = |d: &str| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date").and_hms_opt(0, 0, 0).expect("midnight")
    };
    let (from, to) = (at("2030-01-13"), at("2030-01-22"));
    let ms = |t: chrono::NaiveDateTime| t.and_utc().timestamp_millis();
    let mut reads = Vec::with_capacity(rounds);
    let mut layouts = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let rows = app::ssr::events::rows_in_window(&state.db, &user.id, ms(from), ms(to)).await.expect("rows");
        reads.push(start.elapsed());
        let start = Instant::now();
        let found = app::ssr::events::expand_rows(&rows, &calendars, from, to).expect("occurrences");
        layouts.push(start.elapsed());
        assert_eq!(found.len(), 500);
    }
    let (read, layout) = (median(reads), median(layouts));
    println!("| of which: the window's rows (database) | {:.2} ms | |", read.as_secs_f64() * 1000.0);
    println!("| of which: their occurrences (expansion) | {:.2} ms | |", layout.as_secs_f64() * 1000.0);
    state.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
