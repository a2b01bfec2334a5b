//! Times event search over a large calendar: seeds 100,000 events for one user into a
//! fresh SQLite file (and, when `TEST_DATABASE_URL` is set, a fresh PostgreSQL schema,
//! dropped afterwards), then runs representative searches through
//! `app::ssr::search::search` (the function behind `GET /api/v1/events`) and prints the
//! median, 90th percentile and slowest time of each.
//!
//! ```sh
//! cargo run -p server --example bench_search                       # SQLite only
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run -p server --example bench_search -- --events 100000 --runs 21
//! ```
//!
//! `--keep` keeps the SQLite file and the PostgreSQL schema (their names are printed), and
//! `--sqlite-file PATH` / `--pg-schema NAME` measure them again without seeding;
//! `--sqlite-only` and `--postgres-only` run one of them; `--explain` prints each
//! statement's plan and time.
//!
//! Targets: under 50 ms a query (see docs/BENCHMARKS.md, "Search").
// A measuring tool, not production code: a failed step ends the run with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use app::ssr::search::{Order, Search, Sort, words};
use app::ssr::{Db, new_id};

const COLUMNS: &str = "id, calendar_id, user_id, uid, master_id, recurrence_id, recurrence_ms, title, description, \
     location, url, status, transparency, color, tags, reminders, attendees, all_day, start_at, end_at, duration, rrule, \
     rdates, exdates, start_ms, end_ms, span_start_ms, span_end_ms, sequence, created_at, updated_at";
const PER_STATEMENT: usize = 400;

const TITLE_WORDS: &[&str] = &[
    "meeting",
    "team",
    "sync",
    "review",
    "planning",
    "lunch",
    "call",
    "standup",
    "demo",
    "retro",
    "budget",
    "project",
    "client",
    "design",
    "interview",
    "workshop",
    "training",
    "doctor",
    "dentist",
    "gym",
    "yoga",
    "dinner",
    "coffee",
    "memo",
    "report",
    "launch",
    "sprint",
    "board",
    "offsite",
    "birthday",
    "school",
    "concert",
    "flight",
    "hotel",
    "café",
    "réunion",
    "entretien",
    "Besprechung",
    "Übergabe",
    "señal",
];
const TEXT_WORDS: &[&str] = &[
    "the",
    "agenda",
    "notes",
    "bring",
    "laptop",
    "discuss",
    "quarterly",
    "numbers",
    "roadmap",
    "hiring",
    "feedback",
    "customer",
    "release",
    "security",
    "invoice",
    "contract",
    "travel",
    "parking",
    "room",
    "video",
    "link",
    "dial",
    "prepare",
    "slides",
    "questions",
    "follow",
    "up",
    "with",
    "about",
    "and",
    "for",
    "crème",
    "brûlée",
    "naïve",
    "façade",
    "jalapeño",
    "Zürich",
    "København",
];
const LOCATIONS: &[&str] = &[
    "Room 4.12",
    "Main office, floor 3",
    "Café de Flore, Paris",
    "Rue de l'Église 5",
    "Online",
    "Zoom",
    "Hauptbahnhof Zürich",
    "København H",
    "São Paulo",
    "Kraków",
    "",
];

/// A small deterministic generator (no dependency, same data on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// Skewed towards the start of the list, like word frequencies.
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        let a = self.next() as usize % list.len();
        let b = self.next() as usize % list.len();
        list[a.min(b)]
    }

    fn words(&mut self, list: &[&str], min: u64, max: u64) -> String {
        let n = min + self.next() % (max - min + 1);
        (0..n).map(|_| self.pick(list)).collect::<Vec<_>>().join(" ")
    }
}

fn utc_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn ms(date: &str) -> i64 {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default()
}

async fn execute(db: &Db, sql: String) {
    if let Err(error) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(db.write()).await {
        panic!("seeding failed: {error}");
    }
}

/// One user with four calendars and `count` events between 2020 and 2026: one in ten
/// repeats weekly ten times, one in a hundred never ends. Returns the user id and the
/// calendar ids.
async fn seed(db: &Db, count: usize) -> (String, Vec<String>) {
    let now = app::ssr::now_ms();
    let user = new_id();
    execute(
        db,
        format!(
            "INSERT INTO users (id, email, username, name, password_hash, time_zone, week_start, clock, created_at, updated_at)
             VALUES ('{user}', 'bench-{user}@example.org', 'bench{user}', 'Bench', 'x', 'UTC', 'monday', '24h', {now}, {now})"
        ),
    )
    .await;
    let calendars: Vec<String> = (0..4).map(|_| new_id()).collect();
    for (i, id) in calendars.iter().enumerate() {
        execute(
            db,
            format!(
                "INSERT INTO calendars (id, user_id, name, color, time_zone, is_default, changed_at, created_at)
                 VALUES ('{id}', '{user}', 'Calendar {i}', '#1a73e8', 'UTC', {}, {now}, {now})",
                i64::from(i == 0)
            ),
        )
        .await;
    }
    let mut rng = Lcg(42);
    let (first, last) = (ms("2020-01-01"), ms("2026-12-31"));
    let placeholders = |rows: usize| {
        (0..rows)
            .map(|r| {
                let base = r * 31;
                format!("({})", (1..=31).map(|c| format!("${}", base + c)).collect::<Vec<_>>().join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let full = placeholders(PER_STATEMENT);
    let mut written = 0;
    let started = Instant::now();
    while written < count {
        let rows = PER_STATEMENT.min(count - written);
        let sql = if rows == PER_STATEMENT {
            format!("INSERT INTO events ({COLUMNS}) VALUES {full}")
        } else {
            format!("INSERT INTO events ({COLUMNS}) VALUES {}", placeholders(rows))
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for n in written..written + rows {
            let start = first + (rng.next() as i64 % ((last - first) / 1_800_000)) * 1_800_000;
            let end = start + 1_800_000 * (1 + rng.next() as i64 % 4);
            let kind = rng.next() % 100;
            let (rrule, span_end) = match kind {
                0 => (Some("FREQ=DAILY".to_owned()), None),
                1..=10 => (Some("FREQ=WEEKLY;COUNT=10".to_owned()), Some(end + 9 * 7 * 86_400_000)),
                _ => (None, Some(end)),
            };
            let mut title = rng.words(TITLE_WORDS, 1, 4);
            if n % 1000 == 7 {
                title.push_str(" zephyr");
            }
            let created = now - (rng.next() as i64 % 86_400_000) * 1000;
            query = query
                .bind(new_id())
                .bind(calendars[n % calendars.len()].clone())
                .bind(user.clone())
                .bind(format!("{n}@bench"))
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(None::<i64>)
                .bind(title)
                .bind(rng.words(TEXT_WORDS, 0, 20))
                .bind(rng.pick(LOCATIONS).to_owned())
                .bind(String::new())
                .bind("confirmed")
                .bind("opaque")
                .bind(None::<String>)
                .bind("[]")
                .bind("[]")
                .bind("[]")
                .bind(0_i64)
                .bind(utc_text(start))
                .bind(utc_text(end))
                .bind(None::<String>)
                .bind(rrule)
                .bind("")
                .bind("")
                .bind(start)
                .bind(end)
                .bind(start)
                .bind(span_end)
                .bind(0_i64)
                .bind(created)
                .bind(created);
        }
        if let Err(error) = query.execute(db.write()).await {
            panic!("seeding failed: {error}");
        }
        written += rows;
    }
    println!("  seeded {count} events in {:.1} s", started.elapsed().as_secs_f64());
    (user, calendars)
}

struct Case {
    name: &'static str,
    search: Search,
}

fn cases(calendars: &[String]) -> Vec<Case> {
    let base = Search { page: 1, per_page: 50, ..Search::default() };
    let q = |text: &str| Search { words: words(text), ..base.clone() };
    vec![
        Case { name: "rare word (\"zephyr\", 0.1 %)", search: q("zephyr") },
        Case { name: "common word (\"meeting\")", search: q("meeting") },
        Case { name: "one-letter prefix (\"s\")", search: q("s") },
        Case { name: "two words (\"team sync\")", search: q("team sync") },
        Case { name: "accents folded (\"cafe reunion\")", search: q("cafe reunion") },
        Case { name: "word in description (\"roadmap\")", search: q("roadmap") },
        Case {
            name: "word + one month",
            search: Search { from_ms: Some(ms("2024-05-01")), to_ms: Some(ms("2024-06-01")), ..q("review") },
        },
        Case {
            name: "word + calendar, by title desc",
            search: Search {
                calendar_id: calendars.get(1).cloned(),
                sort: Sort::Title,
                order: Order::Desc,
                ..q("project")
            },
        },
        Case { name: "word, page 20", search: Search { page: 20, ..q("meeting") } },
        Case {
            name: "no text, one week",
            search: Search { from_ms: Some(ms("2024-05-06")), to_ms: Some(ms("2024-05-13")), ..base.clone() },
        },
        Case { name: "no text, all, by start", search: base.clone() },
        Case { name: "no text, all, page 100", search: Search { page: 100, ..base.clone() } },
        Case { name: "no text, all, by title", search: Search { sort: Sort::Title, ..base.clone() } },
        Case {
            name: "no text, all, newest created",
            search: Search { sort: Sort::Created, order: Order::Desc, ..base },
        },
    ]
}

/// The plan of each statement of a case and its own median time (`--explain`).
async fn explain(db: &Db, user: &str, case: &Case, runs: usize) {
    let count = app::ssr::search::count_statement(db.backend(), user, &case.search);
    let total = match app::ssr::search::search(db, user, &case.search).await {
        Ok(page) => page.total,
        Err(error) => panic!("{error}"),
    };
    let page = app::ssr::search::page_statement(db.backend(), user, &case.search, total);
    for (label, statement) in [("count", count), ("page", page)] {
        let sql = &statement.sql;
        let explain = match db.backend() {
            app::ssr::Backend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
            app::ssr::Backend::Postgres => format!("EXPLAIN {sql}"),
        };
        let mut times = Vec::new();
        for round in 0..=runs {
            let text = if round == 0 { explain.clone() } else { sql.clone() };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
            for bind in &statement.binds {
                query = match bind {
                    app::ssr::search::Bind::Text(t) => query.bind(t.clone()),
                    app::ssr::search::Bind::Int(n) => query.bind(*n),
                };
            }
            let started = Instant::now();
            let rows = match query.fetch_all(db.read()).await {
                Ok(rows) => rows,
                Err(error) => panic!("{label}: {error}"),
            };
            if round == 0 {
                use sqlx::Row;
                for row in rows {
                    let last = row.len().saturating_sub(1);
                    println!("      {}", row.try_get::<String, _>(last).unwrap_or_default());
                }
            } else {
                times.push(started.elapsed());
            }
        }
        times.sort();
        println!("    {label}: {:.1} ms", times[times.len() / 2].as_secs_f64() * 1000.0);
    }
}

async fn measure(db: &Db, user: &str, calendars: &[String], runs: usize, plans: bool) {
    println!("  {:<36} {:>8} {:>9} {:>9} {:>9}", "query", "matches", "median", "p90", "max");
    for case in cases(calendars) {
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut total = 0;
        for _ in 0..runs {
            let started = Instant::now();
            match app::ssr::search::search(db, user, &case.search).await {
                Ok(page) => total = page.total,
                Err(error) => panic!("{}: {error}", case.name),
            }
            times.push(started.elapsed());
        }
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
        println!("  {:<36} {:>8} {:>6.1} ms {:>6.1} ms {:>6.1} ms", case.name, total, at(0.5), at(0.9), at(1.0));
        if plans {
            explain(db, user, &case, runs).await;
        }
    }
}

/// The bench user and calendars of a database seeded by an earlier `--keep` run.
async fn seeded(db: &Db) -> (String, Vec<String>) {
    let user: (String,) =
        match sqlx::query_as("SELECT id FROM users WHERE email LIKE 'bench-%' LIMIT 1").fetch_one(db.read()).await {
            Ok(row) => row,
            Err(error) => panic!("no bench user: {error}"),
        };
    let calendars: Vec<(String,)> = match sqlx::query_as("SELECT id FROM calendars WHERE user_id = $1 ORDER BY name")
        .bind(&user.0)
        .fetch_all(db.read())
        .await
    {
        Ok(rows) => rows,
        Err(error) => panic!("no bench calendars: {error}"),
    };
    (user.0, calendars.into_iter().map(|c| c.0).collect())
}

async fn run(label: &str, url: &str, count: Option<usize>, runs: usize, plans: bool) {
    println!("{label}");
    let db = match Db::connect(url, 4).await {
        Ok(db) => db,
        Err(error) => panic!("cannot open {label}: {error}"),
    };
    let (user, calendars) = match count {
        Some(count) => {
            let seeded = seed(&db, count).await;
            // As autovacuum would have done by then (PostgreSQL: statistics and the visibility map).
            let analyze = if db.backend() == app::ssr::Backend::Postgres { "VACUUM ANALYZE events" } else { "ANALYZE" };
            execute(&db, analyze.to_owned()).await;
            seeded
        }
        None => seeded(&db).await,
    };
    // A restart over existing rows: the index is already complete, so start-up stays quick.
    let started = Instant::now();
    if let Err(error) = app::ssr::search::prepare(&db).await {
        panic!("prepare: {error}");
    }
    println!("  start-up check of the search index: {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    measure(&db, &user, &calendars, runs, plans).await;
    db.close().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let text = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let number = |name: &str, default: usize| text(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (count, runs) = (number("--events", 100_000), number("--runs", 21).max(1));
    let (keep, plans) = (flag("--keep"), flag("--explain"));
    sqlx::any::install_default_drivers();

    if !flag("--postgres-only") {
        if let Some(file) = text("--sqlite-file") {
            run(&format!("SQLite ({file})"), &format!("sqlite://{file}"), None, runs, plans).await;
        } else {
            let folder = std::env::temp_dir().join(format!("calento-bench-{}", new_id().to_lowercase()));
            if let Err(error) = std::fs::create_dir_all(&folder) {
                panic!("temp folder: {error}");
            }
            let url = format!("sqlite://{}/bench.db", folder.display());
            run("SQLite (fresh file)", &url, Some(count), runs, plans).await;
            if keep {
                println!("  kept {}/bench.db (reuse it with --sqlite-file)", folder.display());
            } else {
                let _ = std::fs::remove_dir_all(&folder);
            }
        }
    }
    if flag("--sqlite-only") {
        return;
    }

    let Some(base) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        println!("PostgreSQL skipped: set TEST_DATABASE_URL to a database where a schema may be created");
        return;
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let with_schema = |schema: &str| format!("{base}{separator}options=-c%20search_path%3D{schema}");
    if let Some(schema) = text("--pg-schema") {
        run(&format!("PostgreSQL (schema {schema})"), &with_schema(&schema), None, runs, plans).await;
        return;
    }
    let schema = format!("calento_bench_{}", new_id().to_lowercase());
    let admin = match sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&base).await {
        Ok(pool) => pool,
        Err(error) => panic!("cannot connect to TEST_DATABASE_URL: {error}"),
    };
    let ddl = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    if let Err(error) = ddl(format!("CREATE SCHEMA {schema}")).execute(&admin).await {
        panic!("create schema: {error}");
    }
    run(&format!("PostgreSQL (fresh schema {schema})"), &with_schema(&schema), Some(count), runs, plans).await;
    if keep {
        println!("  kept schema {schema} (reuse it with --pg-schema)");
    } else if let Err(error) = ddl(format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await {
        println!("could not drop schema {schema}: {error}");
    }
}
