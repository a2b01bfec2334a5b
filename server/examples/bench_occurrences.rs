//! Times the occurrences of one month through the storage layer: a fresh database seeded
//! with 10,000 single events and 1,000 repeating series (200 with a moved or cancelled instance)
//! spread over three years, then
//! `events::occurrences` for one month, many times (median and p95), split into its SQL part
//! (`rows_in_window`) and its expansion (`expand_rows`), beside a peer measured in the same
//! run: one plain `SELECT` of all the user's rows.
//!
//! Runs on a new SQLite file, and on a new PostgreSQL schema when `TEST_DATABASE_URL` is set
//! (the schema is dropped afterwards; `CALENTO_BENCH_KEEP=1` keeps the SQLite file, to study plans). Prints Markdown table rows (docs/BENCHMARKS.md).
//!
//! `cargo run --release -p server --example bench_occurrences -- [--runs N] [--events N] [--series N] [--old-index]`
//! (`--old-index` also times the query with the index it had before migration 20261124000001)
//! (`scripts/bench --occurrences` runs it).
// A measuring tool, not production code: a failed step ends the run with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use app::ssr::accounts::{self, Registration};
use app::ssr::events::{self, NewEvent, WindowRows};
use app::ssr::{Db, calendars, new_id};
use calento::event::{EventDetails, EventTimes, TimesInput};
use chrono::{NaiveDate, NaiveDateTime};

struct Options {
    /// Also time the query with the index it had before migration 20261124000001.
    old_index: bool,
    runs: usize,
    events: usize,
    series: usize,
}

fn options() -> Options {
    let mut out = Options { old_index: false, runs: 200, events: 10_000, series: 1_000 };
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--old-index") {
        out.old_index = true;
        args.remove(at);
    }
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{} needs a number", pair[0]));
        match pair[0].as_str() {
            "--runs" => out.runs = value,
            "--events" => out.events = value,
            "--series" => out.series = value,
            other => panic!("unknown option {other} (--runs N, --events N, --series N, --old-index)"),
        }
    }
    out
}

/// A small deterministic generator, so every run seeds the same calendar.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const ZONES: [&str; 4] = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];
const RULES: [&str; 8] = [
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=WEEKLY",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=MONTHLY;BYDAY=2TU",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=YEARLY",
    "FREQ=DAILY;COUNT=10",
];
/// Three years of events, from 2024 to 2026.
const FIRST_DAY: &str = "2024-01-01";
const DAYS: u64 = 3 * 365;

fn day(rng: &mut Lcg) -> NaiveDate {
    let first = NaiveDate::parse_from_str(FIRST_DAY, "%Y-%m-%d").unwrap();
    first + chrono::Duration::days(rng.below(DAYS) as i64)
}

/// One event's input: a single event, or (`repeating`) a series with a rule, an end for a
/// third of them, and an EXDATE for some.
fn input(rng: &mut Lcg, index: usize, repeating: bool) -> TimesInput {
    let date = day(rng);
    let zone = ZONES[rng.below(ZONES.len() as u64) as usize];
    let all_day = !repeating && rng.below(20) == 0;
    let (start, end) = if all_day {
        (date.format("%Y-%m-%d").to_string(), (date + chrono::Duration::days(1)).format("%Y-%m-%d").to_string())
    } else {
        let start = date.and_hms_opt(7 + rng.below(12) as u32, [0, 15, 30, 45][rng.below(4) as usize], 0).unwrap();
        let end = start + chrono::Duration::minutes([30, 45, 60, 90][rng.below(4) as usize]);
        (start.format("%Y-%m-%dT%H:%M").to_string(), end.format("%Y-%m-%dT%H:%M").to_string())
    };
    let mut times = TimesInput {
        start,
        end,
        all_day,
        time_zone: Some(zone.to_owned()),
        rrule: None,
        exdates: Vec::new(),
        rdates: Vec::new(),
    };
    if repeating {
        let mut rule = RULES[index % RULES.len()].to_owned();
        if !rule.contains("COUNT") && rng.below(3) == 0 {
            let until = date + chrono::Duration::days(30 + rng.below(365) as i64);
            rule.push_str(&format!(";UNTIL={}T235959Z", until.format("%Y%m%d")));
        }
        if rng.below(4) == 0 {
            // The start's own instance excluded: a valid EXDATE whatever the rule.
            times.exdates.push(times.start.clone());
        }
        times.rrule = Some(rule);
    }
    times
}

fn new_event(calendar: &calendars::CalendarRow, times: TimesInput, title: String) -> NewEvent {
    let details = EventDetails { title, ..EventDetails::default() }.validate().expect("valid details");
    let times = EventTimes::parse(&times, calendar.tz()).expect("valid times");
    NewEvent {
        calendar_id: calendar.id.clone(),
        uid: format!("{}@bench", new_id()),
        master_id: None,
        recurrence: None,
        details,
        start: times.start,
        end: times.end,
        series: times.series,
        sequence: 0,
    }
}

/// An exception of `master`: its fifth instance (or its last, if it has fewer) two hours later.
fn moved_instance(
    calendar: &calendars::CalendarRow,
    master: &NewEvent,
    master_id: String,
    cancelled: bool,
) -> Option<NewEvent> {
    let from = master.series.start.axis();
    let instances = master.series.instances(from, from + chrono::Duration::days(400), 1_000).expect("instances");
    // A series whose only instance is excluded has none to move.
    let instance = *instances.get(4).or(instances.last())?;
    let shift = chrono::Duration::hours(2);
    let utc = |p: calento::recurrence::Placed| (p.axis() + shift).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let times = TimesInput {
        start: utc(instance.start),
        end: utc(instance.end),
        all_day: false,
        time_zone: Some("UTC".into()),
        rrule: None,
        exdates: Vec::new(),
        rdates: Vec::new(),
    };
    let mut event = new_event(calendar, times, format!("{} (moved)", master.details.title));
    if cancelled {
        event.details.status = calento::event::EventStatus::Cancelled;
    }
    Some(NewEvent {
        uid: master.uid.clone(),
        master_id: Some(master_id),
        recurrence: Some(instance.recurrence_id),
        ..event
    })
}

async fn seed(db: &Db, options: &Options) -> (String, usize, Duration) {
    let started = Instant::now();
    let user = accounts::register(
        db,
        &Registration {
            email: "bench@example.org".into(),
            password: "correct horse battery".into(),
            name: "Bench".into(),
            username: String::new(),
            time_zone: "Europe/Berlin".into(),
            ..Default::default()
        },
    )
    .await
    .expect("register");
    let calendar = calendars::default_for(db, &user.id).await.expect("default calendar");
    let mut rng = Lcg(7);
    let total = options.events + options.series;
    let mut made = 0;
    let mut exceptions = 0;
    while made < total {
        let mut tx = app::ssr::changes::begin(db, &user.id).await.expect("begin");
        for _ in 0..500.min(total - made) {
            let repeating = made >= options.events;
            let event = new_event(&calendar, input(&mut rng, made, repeating), format!("Event {made}"));
            let id = events::insert(&mut tx, &user.id, &event, None).await.expect("insert");
            if repeating && made % 5 == 0 {
                // One series in five has an instance moved two hours later (one in ten of those cancelled).
                if let Some(exception) = moved_instance(&calendar, &event, id, made % 50 == 0) {
                    events::insert(&mut tx, &user.id, &exception, None).await.expect("insert an exception");
                    exceptions += 1;
                }
            }
            made += 1;
        }
        tx.commit().await.expect("commit");
    }
    // Statistics as a running server has them: PostgreSQL's autovacuum analyzes a table this
    // size soon after; Calento never runs ANALYZE on SQLite, so it has none.
    if db.backend() == app::ssr::Backend::Postgres {
        sqlx::query("ANALYZE events").execute(db.write()).await.expect("analyze");
    }
    (user.id, exceptions, started.elapsed())
}

struct Timings(Vec<Duration>);

impl Timings {
    fn ms(&self, quantile: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * quantile).round() as usize;
        sorted[index].as_secs_f64() * 1000.0
    }
}

async fn time<F, Fut, T>(runs: usize, mut call: F) -> (Timings, T)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    // Warm the pool, the statement caches and the page cache.
    for _ in 0..5 {
        call().await;
    }
    let mut out = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = call().await;
        out.push(start.elapsed());
        last = Some(value);
    }
    (Timings(out), last.expect("at least one run"))
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

async fn measure(label: &str, url: &str, options: &Options) {
    let db = Db::connect(url, 4).await.expect("open database");
    let (user, exceptions, seeded) = seed(&db, options).await;
    let (from, to) = (at("2025-06-01 00:00"), at("2025-07-01 00:00"));
    let ms = |t: NaiveDateTime| t.and_utc().timestamp_millis();
    // The same padding `events::occurrences` adds for floating and all-day times.
    let pad = 86_400_000;
    let calendars = calendars::list(&db, &user).await.expect("calendars");

    let (whole, found) =
        time(options.runs, || async { events::occurrences(&db, &user, from, to, None).await.expect("occurrences") })
            .await;
    let (sql, rows) = time(options.runs, || async {
        events::rows_in_window(&db, &user, ms(from) - pad, ms(to) + pad).await.expect("rows")
    })
    .await;
    let (expansion, _) = time(options.runs, || {
        let rows: &WindowRows = &rows;
        let calendars = &calendars;
        async move { events::expand_rows(rows, calendars, from, to).expect("expand").len() }
    })
    .await;
    let all_sql = format!("SELECT {} FROM events WHERE user_id = $1", events::COLUMNS);
    let (peer, all) = time(options.runs, || async {
        sqlx::query_as::<_, events::EventRow>(sqlx::AssertSqlSafe(all_sql.clone()))
            .bind(&user)
            .fetch_all(db.read())
            .await
            .expect("all rows")
            .len()
    })
    .await;

    let old = if options.old_index {
        // The index as migration 20261123000001 made it against the one of 20261124000001, on the
        // same data, in alternating rounds so that a burst of load on the machine hits both.
        let (mut old_whole, mut old_sql, mut new_whole, mut new_sql) = (vec![], vec![], vec![], vec![]);
        let per_round = (options.runs / 4).max(1);
        for _ in 0..4 {
            for old in [true, false] {
                use_index(&db, old).await;
                let (w, _) = time(per_round, || async {
                    events::occurrences(&db, &user, from, to, None).await.expect("occurrences")
                })
                .await;
                let (q, _) = time(per_round, || async {
                    events::rows_in_window(&db, &user, ms(from) - pad, ms(to) + pad).await.expect("rows")
                })
                .await;
                let (whole, sql) = if old { (&mut old_whole, &mut old_sql) } else { (&mut new_whole, &mut new_sql) };
                whole.extend(w.0);
                sql.extend(q.0);
            }
        }
        Some([Timings(old_whole), Timings(old_sql), Timings(new_whole), Timings(new_sql)])
    } else {
        None
    };

    let n = options.runs;
    let rows_read = rows.masters.len() + rows.exceptions.len();
    println!(
        "| {label}: seeding {} single events + {} series + {} moved or cancelled instances (batches of 500 in transactions) | {:.1} s |",
        options.events,
        options.series,
        exceptions,
        seeded.as_secs_f64()
    );
    println!(
        "| {label}: `events::occurrences`, June 2025, {} occurrences from {rows_read} rows (median / p95 of {n}) | {:.2} ms / {:.2} ms |",
        found.len(),
        whole.ms(0.5),
        whole.ms(0.95)
    );
    println!("| {label}: of which `rows_in_window` (SQL) | {:.2} ms / {:.2} ms |", sql.ms(0.5), sql.ms(0.95));
    println!(
        "| {label}: of which `expand_rows` (expansion in Rust) | {:.2} ms / {:.2} ms |",
        expansion.ms(0.5),
        expansion.ms(0.95)
    );
    println!(
        "| {label}: peer, one `SELECT` of all {all} of the user's rows, same run | {:.2} ms / {:.2} ms |",
        peer.ms(0.5),
        peer.ms(0.95)
    );
    println!("| {label}: ratio `occurrences` / peer (median) | {:.2} |", whole.ms(0.5) / peer.ms(0.5));
    if let Some([old_whole, old_sql, new_whole, new_sql]) = old {
        let row = |what: &str, t: &Timings| {
            println!(
                "| {label}: {what} (median / p95 of {}) | {:.2} ms / {:.2} ms |",
                t.0.len(),
                t.ms(0.5),
                t.ms(0.95)
            );
        };
        row("old indexes (events_user_span, events_master), alternating rounds: `events::occurrences`", &old_whole);
        row("new index (events_user_window), same rounds: `events::occurrences`", &new_whole);
        row("old indexes: `rows_in_window`", &old_sql);
        row("new index: `rows_in_window`", &new_sql);
        println!(
            "| {label}: ratio new / old indexes, `rows_in_window` (medians) | {:.2} |",
            new_sql.ms(0.5) / old_sql.ms(0.5)
        );
    }
    db.read().close().await;
    db.write().close().await;
}

/// Puts the indexes of migration 20261123000001 (`old`: events_user_span, events_master) or
/// the one of 20261124000001 that replaced them (events_user_window) in place.
async fn use_index(db: &Db, old: bool) {
    let exists = |name: &str| match db.backend() {
        app::ssr::Backend::Sqlite => format!("SELECT COUNT(*) FROM sqlite_master WHERE name = '{name}'"),
        app::ssr::Backend::Postgres => {
            format!("SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = '{name}'")
        }
    };
    let (wanted, create, drop): (&str, &[&str], &[&str]) = if old {
        (
            "events_user_span",
            &[
                "CREATE INDEX events_user_span ON events (user_id, span_start_ms)",
                "CREATE INDEX events_master ON events (master_id)",
            ],
            &["DROP INDEX events_user_window"],
        )
    } else {
        (
            "events_user_window",
            &["CREATE INDEX events_user_window ON events (user_id, span_start_ms, span_end_ms, master_id)"],
            &["DROP INDEX events_user_span", "DROP INDEX events_master"],
        )
    };
    let count: i64 =
        sqlx::query_scalar(sqlx::AssertSqlSafe(exists(wanted))).fetch_one(db.write()).await.expect("index");
    if count == 0 {
        for statement in create.iter().chain(drop) {
            sqlx::query(*statement).execute(db.write()).await.expect("change the indexes");
        }
        if db.backend() == app::ssr::Backend::Postgres {
            sqlx::query("ANALYZE events").execute(db.write()).await.expect("analyze");
        }
    }
}

/// A new schema on the PostgreSQL server named by `base`, and a URL that uses it.
async fn fresh_schema(base: &str) -> (String, String) {
    let schema = format!("calento_bench_{}", new_id().to_lowercase());
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(base).await.expect("TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&pool).await.expect("create schema");
    pool.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    (format!("{base}{separator}options=-c%20search_path%3D{schema}"), schema)
}

async fn drop_schema(base: &str, schema: &str) {
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(base).await.expect("TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&pool).await.expect("drop");
    pool.close().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    sqlx::any::install_default_drivers();
    let dir = std::env::temp_dir().join(format!("calento-bench-{}", new_id().to_lowercase()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    measure("SQLite", &format!("sqlite://{}/calento.db", dir.display()), &options).await;
    if std::env::var_os("CALENTO_BENCH_KEEP").is_some() {
        eprintln!("kept the SQLite database: {}/calento.db", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(base) => {
            let (url, schema) = fresh_schema(&base).await;
            measure("PostgreSQL", &url, &options).await;
            drop_schema(&base, &schema).await;
        }
        None => eprintln!("PostgreSQL skipped: TEST_DATABASE_URL is not set"),
    }
}
