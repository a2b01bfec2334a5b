//! Booking benchmarks over real HTTP (a server on a local port, hyper as the client):
//!
//! 1. The public slots endpoint for a 31-day window, host with 1,000 events on their
//!    calendars (SQLite), requests sent open-loop at a fixed rate (latency counted from each
//!    request's scheduled time, so a slow answer cannot hide the queue behind it): p50,
//!    p95, p99. The peer in the same run: the same link of a host with no events.
//! 2. Booking throughput: distinct slots booked by 8 concurrent clients, on SQLite and,
//!    when `BENCH_DATABASE_URL` (or `TEST_DATABASE_URL`) names a PostgreSQL server, there too.
//!
//! `cargo run --release -p server --example bench_booking [-- RATE_PER_SECOND SECONDS]`
// A measuring tool, not production code: a failed step ends the run with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

struct Server {
    base: String,
    client: HttpClient,
    state: app::ssr::AppState,
}

async fn start(database_url: &str) -> Server {
    let mut values = HashMap::new();
    values.insert("DATABASE_URL".to_owned(), database_url.to_owned());
    values.insert("CALENTO_LOG".to_owned(), "error".to_owned());
    values.insert("CALENTO_ADDR".to_owned(), "127.0.0.1:0".to_owned());
    // The public budget is counted in the database on every request; BENCH_PUBLIC_RATE=0
    // turns it off, to measure what the counting costs.
    let budget = std::env::var("BENCH_PUBLIC_RATE").unwrap_or_else(|_| "1000000".to_owned());
    values.insert("CALENTO_PUBLIC_RATE_PER_MINUTE".to_owned(), budget);
    values.insert("CALENTO_DB_MAX_CONNECTIONS".to_owned(), "16".to_owned());
    let config = server::config::Config::from_values(&values).expect("config");
    let state = server::open_state(&config).await.expect("database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = server::router(state.clone(), &config);
    let serving = state.clone();
    tokio::spawn(async move {
        let _ = server::serve(listener, app, serving, Duration::from_secs(1)).await;
    });
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build(connector);
    Server { base: format!("http://{addr}"), client, state }
}

async fn send(server: &Server, method: &str, path: &str, token: Option<&str>, body: Option<String>) -> (u16, String) {
    let mut builder = http::Request::builder().method(method).uri(format!("{}{path}", server.base));
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    let request = builder.body(Full::new(Bytes::from(body.unwrap_or_default()))).expect("request");
    let response = server.client.request(request).await.expect("response");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A host with a token, a New York schedule (weekdays 09:00–17:00) and a 30-minute link
/// `intro` offering a start every 15 minutes. Returns (token, username).
async fn host(server: &Server, email: &str) -> (String, String) {
    let db = &server.state.db;
    let registration = app::ssr::accounts::Registration {
        email: email.into(),
        password: "correct horse battery".into(),
        name: "Bench Host".into(),
        username: String::new(),
        time_zone: "America/New_York".into(),
        ..Default::default()
    };
    let user = app::ssr::accounts::register(db, &registration).await.expect("register");
    let token = app::ssr::tokens::create(db, &user.id, "bench").await.expect("token").token;
    let rules: Vec<_> = (1..=5).map(|d| serde_json::json!({"weekday": d, "start": "09:00", "end": "17:00"})).collect();
    let (status, body) = send(
        server,
        "POST",
        "/api/v1/availability/schedules",
        Some(&token),
        Some(serde_json::json!({"name": "Work", "timezone": "America/New_York", "rules": rules}).to_string()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let schedule: serde_json::Value = serde_json::from_str(&body).expect("json");
    let link = serde_json::json!({"slug": "intro", "title": "Intro", "durations": [30], "slot_interval": 15,
        "schedule_id": schedule["id"], "reminder_hours": null});
    let (status, body) = send(server, "POST", "/api/v1/booking-links", Some(&token), Some(link.to_string())).await;
    assert_eq!(status, 201, "{body}");
    (token, user.username)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Open-loop load: `rate` requests a second for `seconds`; latencies from schedule.
async fn load(server: &Arc<Server>, path: &str, rate: u32, seconds: u32) -> Vec<Duration> {
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let began = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = began + interval * i;
        tokio::time::sleep_until(due.into()).await;
        let server = server.clone();
        let path = path.to_owned();
        tasks.push(tokio::spawn(async move {
            let (status, body) = send(&server, "GET", &path, None, None).await;
            assert_eq!(status, 200, "{body}");
            due.elapsed()
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out.sort();
    out
}

async fn slots_latency(rate: u32, seconds: u32) {
    let dir = std::env::temp_dir().join(format!("calento-bench-booking-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let server = Arc::new(start(&format!("sqlite://{}/calento.db", dir.display())).await);
    let (busy_token, busy_user) = host(&server, "busy@example.org").await;
    let (_, quiet_user) = host(&server, "quiet@example.org").await;
    let email = calento::EmailAddress::parse("busy@example.org").expect("email");
    // 1,000 events over the window's weekdays (about 45 a day, 30–90 minutes, overlapping),
    // 100 of them on a second calendar that also counts as busy.
    let user = app::ssr::accounts::find_by_email(&server.state.db, &email).await.expect("q").expect("user");
    let (status, body) =
        send(&server, "POST", "/api/v1/calendars", Some(&busy_token), Some(r#"{"name":"Team"}"#.into())).await;
    assert_eq!(status, 201, "{body}");
    let team: serde_json::Value = serde_json::from_str(&body).expect("json");
    for i in 0..1000u32 {
        let day = 1 + (i % 22) * 31 / 22; // spread over January 2030
        let minutes = (i * 53) % (9 * 60);
        let length = 30 + (i % 3) * 30;
        let input = app::models::EventInput {
            calendar_id: (i % 10 == 0).then(|| team["id"].as_str().unwrap_or_default().to_owned()),
            details: calento::event::EventDetails { title: format!("Event {i}"), ..Default::default() },
            times: calento::event::TimesInput {
                start: format!("2030-01-{day:02}T{:02}:{:02}", 8 + minutes / 60, minutes % 60),
                end: format!("2030-01-{day:02}T{:02}:{:02}", 8 + (minutes + length) / 60, (minutes + length) % 60),
                time_zone: Some("America/New_York".into()),
                ..Default::default()
            },
        };
        app::ssr::events::create(&server.state.db, &user.id, input).await.expect("event");
    }
    let path =
        |who: &str| format!("/api/v1/public/{who}/intro/slots?from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z");
    let (_, busy_slots) = send(&server, "GET", &path(&busy_user), None, None).await;
    let (_, quiet_slots) = send(&server, "GET", &path(&quiet_user), None, None).await;
    let count = |text: &str| serde_json::from_str::<Vec<String>>(text).map(|v| v.len()).unwrap_or(0);
    // Service time first: one request at a time.
    for (name, who) in [("1,000 events", &busy_user), ("no events (peer)", &quiet_user)] {
        let mut one = Vec::new();
        for _ in 0..30 {
            let began = Instant::now();
            send(&server, "GET", &path(who), None, None).await;
            one.push(began.elapsed());
        }
        one.sort();
        println!("one at a time, {name}: median {:.2} ms", percentile(&one, 0.5));
    }
    // Warm up, then measure the busy host and its peer in turn.
    load(&server, &path(&busy_user), rate, 1).await;
    let busy = load(&server, &path(&busy_user), rate, seconds).await;
    let quiet = load(&server, &path(&quiet_user), rate, seconds).await;
    println!("Slots endpoint, 31 days, {rate} requests/s for {seconds} s each (SQLite):");
    println!("| host | slots | p50 | p95 | p99 |");
    println!("|---|---|---|---|---|");
    for (name, samples, slots) in
        [("1,000 events", &busy, count(&busy_slots)), ("no events (peer)", &quiet, count(&quiet_slots))]
    {
        println!(
            "| {name} | {slots} | {:.2} ms | {:.2} ms | {:.2} ms |",
            percentile(samples, 0.50),
            percentile(samples, 0.95),
            percentile(samples, 0.99)
        );
    }
    println!("| p95 ratio | | | {:.1}× | |", percentile(&busy, 0.95) / percentile(&quiet, 0.95));
    server.state.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn throughput(label: &str, database_url: &str) {
    let server = Arc::new(start(database_url).await);
    let (_, username) = host(&server, &format!("throughput-{}@example.org", std::process::id())).await;
    // 240 distinct slots: every 15 minutes (a 30-minute link, so neighbours never overlap
    // when taken two apart) on the weekdays of three weeks.
    let mut starts = Vec::new();
    for day in [7, 8, 9, 10, 11, 14, 15, 16, 17, 18, 21, 22, 23, 24, 25] {
        for half_hour in 0..16 {
            starts.push(format!("2030-01-{day:02}T{:02}:{:02}:00Z", 14 + half_hour / 2, (half_hour % 2) * 30));
        }
    }
    let starts = Arc::new(starts);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let began = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (server, starts, next, username) = (server.clone(), starts.clone(), next.clone(), username.clone());
        workers.push(tokio::spawn(async move {
            let mut made = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(start) = starts.get(i) else { break };
                let body = serde_json::json!({"start": start, "name": "Invitee", "email": format!("i{i}@example.org")});
                let (status, text) = send(
                    &server,
                    "POST",
                    &format!("/api/v1/public/{username}/intro/bookings"),
                    None,
                    Some(body.to_string()),
                )
                .await;
                assert_eq!(status, 201, "{start}: {text}");
                made += 1;
            }
            made
        }));
    }
    let mut made = 0;
    for worker in workers {
        made += worker.await.expect("worker");
    }
    let elapsed = began.elapsed();
    println!(
        "| {label} | {made} bookings | {:.2} s | {:.0} bookings/s | {:.1} ms each |",
        elapsed.as_secs_f64(),
        f64::from(made) / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / f64::from(made)
    );
    server.state.db.close().await;
}

async fn postgres_schema(base: &str) -> String {
    sqlx::any::install_default_drivers();
    let schema = format!("calento_bench_{}", std::process::id());
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(base).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
        .execute(&pool)
        .await
        .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&pool).await.expect("schema");
    pool.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rate: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(50);
    let seconds: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    slots_latency(rate, seconds).await;

    println!();
    println!("Booking throughput, 8 concurrent clients, distinct slots, through the public API:");
    println!("| database | made | time | rate | per booking |");
    println!("|---|---|---|---|---|");
    let dir = std::env::temp_dir().join(format!("calento-bench-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    throughput("SQLite", &format!("sqlite://{}/calento.db", dir.display())).await;
    let _ = std::fs::remove_dir_all(&dir);
    let pg = std::env::var("BENCH_DATABASE_URL").or_else(|_| std::env::var("TEST_DATABASE_URL")).ok();
    match pg.filter(|u| u.starts_with("postgres")) {
        Some(base) => throughput("PostgreSQL", &postgres_schema(&base).await).await,
        None => println!("| PostgreSQL | skipped: set BENCH_DATABASE_URL | | | |"),
    }
}
