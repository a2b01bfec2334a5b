//! Searching events (`GET /api/v1/events`): words as prefixes over title, description and
//! location, filters, sorting and pages, hostile input, and the index following every
//! write, on both databases.

use serde_json::{Value, json};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, spawn_app};

on_both_backends!(
    words_match_as_prefixes_ignoring_case_and_accents,
    filters_sorting_and_pages,
    hostile_search_text_gets_200_or_422_never_500,
    the_index_follows_edits_deletes_imports_and_exceptions,
    search_sees_only_the_callers_events,
    an_index_built_after_the_rows_finds_them,
);

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app.api("POST", "/api/v1/events", token, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

async fn event(app: &TestApp, token: &str, title: &str, description: &str, location: &str, day: u32) -> String {
    let start = format!("2024-05-{day:02}T10:00");
    let end = format!("2024-05-{day:02}T11:00");
    let made = create(
        app,
        token,
        json!({"title": title, "description": description, "location": location, "start": start, "end": end,
               "time_zone": "Europe/Paris"}),
    )
    .await;
    made["id"].as_str().expect("id").to_owned()
}

fn encode(text: &str) -> String {
    app::components::percent_encode(text)
}

async fn search(app: &TestApp, token: &str, query: &str) -> Value {
    let reply = app.api("GET", &format!("/api/v1/events?{query}"), token, None).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    reply.json()
}

/// The titles of a page, in order.
fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn found(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    let mut list = titles(&search(app, token, &format!("q={}&per_page=200", encode(q))).await);
    list.sort();
    list
}

async fn words_match_as_prefixes_ignoring_case_and_accents(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "find@example.org").await;
    event(&app, &token, "Team sync", "Weekly planning of the roadmap", "Room 4.12", 1).await;
    event(&app, &token, "Café with Zoë", "Bring the Crème brûlée recipe", "Rue de l'Église, Paris", 2).await;
    event(&app, &token, "Dentist", "ann@example.org will call; e-mail first", "Main St", 3).await;
    event(&app, &token, "Σύσκεψη ομάδας", "", "Αθήνα", 4).await;
    event(&app, &token, "Project kickoff", "Q3 plan: 3.5 million budget", "Online", 5).await;

    assert_eq!(found(&app, &token, "sync").await, ["Team sync"]);
    assert_eq!(found(&app, &token, "SY").await, ["Team sync"], "a prefix, any case");
    assert_eq!(found(&app, &token, "plan").await, ["Project kickoff", "Team sync"], "description too");
    assert_eq!(found(&app, &token, "team plan").await, ["Team sync"], "every word, in any field");
    assert_eq!(found(&app, &token, "team dentist").await, Vec::<String>::new());
    assert_eq!(found(&app, &token, "cafe").await, ["Café with Zoë"], "accents folded in documents");
    assert_eq!(found(&app, &token, "ZOE creme").await, ["Café with Zoë"]);
    assert_eq!(found(&app, &token, "brûl").await, ["Café with Zoë"], "and in queries");
    assert_eq!(found(&app, &token, "eglise").await, ["Café with Zoë"], "location too");
    assert_eq!(found(&app, &token, "example").await, ["Dentist"], "e-mail addresses are words too");
    assert_eq!(found(&app, &token, "mail").await, ["Dentist"], "hyphenated words are words too");
    assert_eq!(found(&app, &token, "4.12").await, ["Team sync"]);
    assert_eq!(found(&app, &token, "σύσκ").await, ["Σύσκεψη ομάδας"]);
    assert_eq!(found(&app, &token, "αθ").await, ["Σύσκεψη ομάδας"]);
    assert_eq!(found(&app, &token, "q3 million").await, ["Project kickoff"]);
    assert_eq!(found(&app, &token, "nothing").await, Vec::<String>::new());

    let page = search(&app, &token, "q=sync").await;
    assert_eq!(
        (page["total"].as_i64(), page["page"].as_i64(), page["per_page"].as_i64()),
        (Some(1), Some(1), Some(50))
    );
    let item = &page["items"][0];
    assert_eq!(item["location"], "Room 4.12");
    assert_eq!(item["start_utc"], "2024-05-01T08:00:00Z");
    assert_eq!(item["read_only"], false);
}

async fn filters_sorting_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "filters@example.org").await;
    let work = app.api("POST", "/api/v1/calendars", &token, Some(json!({"name": "Work"}))).await.json();
    let work = work["id"].as_str().expect("id").to_owned();
    // Created in this order: C (day 3), a (day 1), B (day 2), d (day 4, in Work).
    event(&app, &token, "C meeting", "", "", 3).await;
    event(&app, &token, "a meeting", "", "", 1).await;
    event(&app, &token, "B meeting", "", "", 2).await;
    create(
        &app,
        &token,
        json!({"calendar_id": work, "title": "d meeting", "start": "2024-05-04T10:00", "end": "2024-05-04T11:00"}),
    )
    .await;
    // A series that never ends, from 1 April.
    create(
        &app,
        &token,
        json!({"title": "Weekly review", "start": "2024-04-01T09:00", "end": "2024-04-01T10:00", "rrule": "FREQ=WEEKLY"}),
    )
    .await;

    assert_eq!(
        titles(&search(&app, &token, "q=meeting").await),
        ["a meeting", "B meeting", "C meeting", "d meeting"],
        "by start, earliest first"
    );
    assert_eq!(
        titles(&search(&app, &token, "q=meeting&order=desc").await),
        ["d meeting", "C meeting", "B meeting", "a meeting"]
    );
    assert_eq!(
        titles(&search(&app, &token, "q=meeting&sort=title").await),
        ["a meeting", "B meeting", "C meeting", "d meeting"],
        "titles ignore case"
    );
    assert_eq!(
        titles(&search(&app, &token, "q=meeting&sort=created&order=desc").await),
        ["d meeting", "B meeting", "a meeting", "C meeting"]
    );
    assert_eq!(titles(&search(&app, &token, &format!("q=meeting&calendar_id={work}")).await), ["d meeting"]);

    // Dates: series whose span overlaps [from, to).
    assert_eq!(
        titles(&search(&app, &token, "from=2024-05-02&to=2024-05-04").await),
        ["Weekly review", "B meeting", "C meeting"]
    );
    assert_eq!(titles(&search(&app, &token, "to=2024-05-01").await), ["Weekly review"]);
    assert_eq!(
        titles(&search(&app, &token, "from=2030-01-01").await),
        ["Weekly review"],
        "an endless series overlaps every later range"
    );
    assert_eq!(
        titles(&search(&app, &token, "from=2024-05-03T08:30:00Z&to=2024-05-03T08:30:01Z").await),
        ["Weekly review", "C meeting"]
    );
    assert_eq!(
        titles(&search(&app, &token, "from=2024-05-03T08:30:00Z&to=2024-05-03T08:30:01Z&q=meet").await),
        ["C meeting"]
    );

    // Without a query: every event, with the same paging.
    let all = search(&app, &token, "per_page=2").await;
    assert_eq!((all["total"].as_i64(), titles(&all).len()), (Some(5), 2));
    assert_eq!(titles(&all), ["Weekly review", "a meeting"]);
    assert_eq!(titles(&search(&app, &token, "per_page=2&page=2").await), ["B meeting", "C meeting"]);
    assert_eq!(titles(&search(&app, &token, "per_page=2&page=3").await), ["d meeting"]);
    let beyond = search(&app, &token, "per_page=2&page=9").await;
    assert_eq!((beyond["total"].as_i64(), titles(&beyond).len(), beyond["page"].as_i64()), (Some(5), 0, Some(9)));
    let symbols_only = search(&app, &token, &format!("q={}", encode("*** -- :"))).await;
    assert_eq!(symbols_only["total"], 5, "a text without words filters nothing");

    for (query, field) in [
        ("sort=size", "sort"),
        ("order=up", "order"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("per_page=0", "per_page"),
        ("per_page=201", "per_page"),
        ("from=yesterday", "from"),
        ("to=2024-13-45", "to"),
        ("from=2024-05-02&to=2024-05-01", "to"),
    ] {
        let reply = app.api("GET", &format!("/api/v1/events?{query}"), &token, None).await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
        assert_eq!(reply.json()["fields"][0]["field"], field, "{query}");
    }
    let unknown = app.api("GET", "/api/v1/events?calendar_id=01JNOTACALENDAR", &token, None).await;
    assert_eq!(unknown.status, 404);
    let doubled = app.api("GET", "/api/v1/events?q=a&q=b", &token, None).await;
    assert_eq!(doubled.status, 422, "{}", doubled.body);
}

async fn hostile_search_text_gets_200_or_422_never_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "hostile-search@example.org").await;
    event(&app, &token, "Plain \"quoted\" title", "NEAR(a b) AND OR NOT", "col:term", 1).await;
    // 10 kB (as UTF-8) of mixed ASCII, symbols, accents and scripts.
    let mut junk = String::new();
    for i in 0..10_000u32 {
        let c = char::from_u32(0x20 + (i * 7919) % 0x2f00).unwrap_or('x');
        if junk.len() + c.len_utf8() > 10_000 {
            break;
        }
        junk.push(c);
    }
    let mut cases: Vec<String> = [
        "\"",
        "'",
        "\"\"",
        "*",
        "**",
        ":",
        "-",
        "-x",
        "^x",
        "x*",
        "AND",
        "OR",
        "NOT",
        "a AND",
        "NEAR(a b)",
        "title:x",
        "col:term",
        "(",
        ")",
        "{a b}",
        "'; DROP TABLE events; --",
        "\\",
        "\\'",
        "x' OR '1'='1",
        "&|!<->",
        "a:*",
        "\u{0}",
        "\u{fffd}\u{feff}",
        "😀 👍🏽",
        "日本語の会議",
        "e\u{301}cole",
        "ǅ ß ſ İ ı",
        "%",
        "_",
        "\u{345}",
        "a \u{345}",
        "\u{301}\u{301}x",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    cases.push("x".repeat(499));
    cases.push(junk.chars().take(500).collect());
    cases.push(junk.clone());
    cases.push("a ".repeat(5000));
    for q in &cases {
        for extra in ["", "&sort=title&order=desc&from=2024-01-01&to=2025-01-01"] {
            let reply = app.api("GET", &format!("/api/v1/events?q={}{extra}", encode(q)), &token, None).await;
            assert!(
                reply.status == 200 || reply.status == 422,
                "q={:?}: {} {}",
                q.chars().take(40).collect::<String>(),
                reply.status,
                reply.body
            );
            if reply.status == 422 {
                assert_eq!(reply.json()["fields"][0]["field"], "q");
            }
        }
    }
    // Raw bytes that are not UTF-8, and a query string that is not form encoding.
    for raw in ["q=%FF%FE", "q=%", "q=%zz", "q=a%00b", "q&q", "=&&=", "page=%FF"] {
        let reply = app.api("GET", &format!("/api/v1/events?{raw}"), &token, None).await;
        assert!(reply.status == 200 || reply.status == 422, "{raw}: {} {}", reply.status, reply.body);
    }
    assert_eq!(found(&app, &token, "\"quoted\"").await, ["Plain \"quoted\" title"]);
    assert_eq!(found(&app, &token, "near(a").await, ["Plain \"quoted\" title"]);
    assert_eq!(found(&app, &token, "col:term").await, ["Plain \"quoted\" title"]);
    assert_eq!(found(&app, &token, "AND").await, ["Plain \"quoted\" title"], "operators are words");
}

async fn the_index_follows_edits_deletes_imports_and_exceptions(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "follow@example.org").await;
    let id = event(&app, &token, "Dentist", "", "", 1).await;
    let renamed =
        app.api("PATCH", &format!("/api/v1/events/{id}"), &token, Some(json!({"title": "Orthodontist visit"}))).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(found(&app, &token, "dentist").await, Vec::<String>::new(), "the old title is gone");
    assert_eq!(found(&app, &token, "ortho visit").await, ["Orthodontist visit"]);
    assert_eq!(app.api("DELETE", &format!("/api/v1/events/{id}"), &token, None).await.status, 204);
    assert_eq!(found(&app, &token, "ortho").await, Vec::<String>::new());

    // Moved to another calendar and another day: filters with words follow.
    let work = app.api("POST", "/api/v1/calendars", &token, Some(json!({"name": "Work"}))).await.json();
    let work = work["id"].as_str().expect("id").to_owned();
    let moving = event(&app, &token, "Quarterly planning", "", "", 2).await;
    let week = "from=2024-05-01T00:00:00Z&to=2024-05-08T00:00:00Z";
    assert_eq!(titles(&search(&app, &token, &format!("q=quarterly&{week}")).await), ["Quarterly planning"]);
    let moved = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{moving}"),
            &token,
            Some(json!({"calendar_id": work, "start": "2024-06-03T10:00", "end": "2024-06-03T11:00"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(search(&app, &token, &format!("q=quarterly&{week}")).await["total"], 0);
    assert_eq!(search(&app, &token, "q=quarterly&from=2024-06-03&to=2024-06-04").await["total"], 1);
    assert_eq!(titles(&search(&app, &token, &format!("q=quarterly&calendar_id={work}")).await), ["Quarterly planning"]);
    assert_eq!(app.api("DELETE", &format!("/api/v1/events/{moving}"), &token, None).await.status, 204);

    // One occurrence of a series, renamed: an exception, listed as its own item.
    let series = create(
        &app,
        &token,
        json!({"title": "Standup", "start": "2024-03-04T09:00", "end": "2024-03-04T09:15", "time_zone": "UTC",
               "rrule": "FREQ=DAILY;COUNT=5"}),
    )
    .await;
    let series_id = series["id"].as_str().expect("id").to_owned();
    let moved = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{series_id}?scope=this&recurrence_id=2024-03-06T09:00:00Z"),
            &token,
            Some(json!({"title": "Standup with guests"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(found(&app, &token, "standup").await, ["Standup", "Standup with guests"]);
    let guests = search(&app, &token, "q=guests").await;
    assert_eq!(guests["items"][0]["master_id"], series_id.as_str());
    assert_eq!(guests["items"][0]["recurrence_id"], "2024-03-06T09:00:00Z");
    assert_eq!(
        titles(&search(&app, &token, "q=standup&from=2024-03-06T00:00:00Z&to=2024-03-06T12:00:00Z").await),
        ["Standup", "Standup with guests"]
    );
    // Deleting the series deletes its exception (a cascade) from the index too.
    assert_eq!(app.api("DELETE", &format!("/api/v1/events/{series_id}"), &token, None).await.status, 204);
    assert_eq!(found(&app, &token, "standup").await, Vec::<String>::new());

    // Imports write through the same triggers; re-importing a UID replaces its words.
    let calendar = app.api("POST", "/api/v1/calendars", &token, Some(json!({"name": "Imported"}))).await.json();
    let calendar = calendar["id"].as_str().expect("id").to_owned();
    let file = |summary: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:imp@example.org\r\n\
             DTSTAMP:20240101T000000Z\r\nDTSTART:20240601T100000Z\r\nDTEND:20240601T110000Z\r\nSUMMARY:{summary}\r\n\
             LOCATION:Zürich\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    };
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str()), ("content-type", "text/calendar")];
    let path = format!("/api/v1/calendars/{calendar}/import");
    assert_eq!(app.send("POST", &path, &headers, file("Board meeting").into_bytes()).await.status, 200);
    assert_eq!(found(&app, &token, "zurich board").await, ["Board meeting"]);
    assert_eq!(app.send("POST", &path, &headers, file("Budget review").into_bytes()).await.status, 200);
    assert_eq!(found(&app, &token, "board").await, Vec::<String>::new());
    assert_eq!(found(&app, &token, "budget").await, ["Budget review"]);
    // Deleting the calendar deletes its events (a cascade) from the index too.
    assert_eq!(app.api("DELETE", &format!("/api/v1/calendars/{calendar}"), &token, None).await.status, 204);
    assert_eq!(found(&app, &token, "budget").await, Vec::<String>::new());

    if backend == Backend::Sqlite {
        let db = &app.state.db;
        let count = |sql: &'static str| async move {
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(db.read()).await.expect("count");
            n
        };
        assert_eq!(count("SELECT COUNT(*) FROM events").await, count("SELECT COUNT(*) FROM events_search").await);
        assert_eq!(count("SELECT COUNT(*) FROM events_search").await, 0, "nothing left behind");
    }
}

async fn search_sees_only_the_callers_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = user_with_token(&app, "ann-search@example.org").await;
    let bob = user_with_token(&app, "bob-search@example.org").await;
    event(&app, &ann, "Secret launch", "", "", 1).await;
    event(&app, &bob, "Public launch", "", "", 1).await;
    assert_eq!(found(&app, &ann, "launch").await, ["Secret launch"]);
    assert_eq!(found(&app, &bob, "launch").await, ["Public launch"]);
    assert_eq!(search(&app, &bob, "").await["total"], 1);
    // Owners are tokens in the SQLite index, never matched by what people type.
    let ann_id = app.api("GET", "/api/v1/me", &ann, None).await.json()["id"].as_str().expect("id").to_owned();
    for q in [format!("u{ann_id}"), ann_id.clone(), format!("owner:u{ann_id}"), "owner".to_owned()] {
        assert_eq!(search(&app, &ann, &format!("q={}", encode(&q))).await["total"], 0, "{q}");
    }
    let ann_calendar = app.api("GET", "/api/v1/calendars", &ann, None).await.json()[0]["id"].clone();
    let ann_calendar = ann_calendar.as_str().expect("id");
    let reply = app.api("GET", &format!("/api/v1/events?calendar_id={ann_calendar}"), &bob, None).await;
    assert_eq!(reply.status, 404, "another user's calendar is not found");
}

async fn an_index_built_after_the_rows_finds_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "backfill@example.org").await;
    event(&app, &token, "Written before the index", "", "", 1).await;
    let db = &app.state.db;
    let drop: &[&str] = match backend {
        Backend::Sqlite => &[
            "DROP TRIGGER events_search_insert",
            "DROP TRIGGER events_search_words",
            "DROP TRIGGER events_search_fields",
            "DROP TRIGGER events_search_delete",
            "DROP TABLE events_fts",
            "DROP TABLE events_search",
        ],
        Backend::Postgres => &["ALTER TABLE events DROP COLUMN search_v1"],
    };
    for statement in drop {
        sqlx::query(*statement).execute(db.write()).await.expect("drop");
    }
    if backend == Backend::Sqlite {
        // The first version's key table is replaced.
        sqlx::query("CREATE TABLE events_fts_keys (key INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE)")
            .execute(db.write())
            .await
            .expect("old table");
    }
    app::ssr::search::prepare(db).await.expect("prepare");
    app::ssr::search::prepare(db).await.expect("prepare again: idempotent");
    assert_eq!(found(&app, &token, "written index").await, ["Written before the index"]);
    event(&app, &token, "Written after", "", "", 2).await;
    assert_eq!(found(&app, &token, "written").await, ["Written after", "Written before the index"]);
    if backend == Backend::Sqlite {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_fts_keys'")
            .fetch_one(db.read())
            .await
            .expect("count");
        assert_eq!(n, 0);
    }
    if backend == Backend::Postgres {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'events_search_v1' AND schemaname = current_schema()",
        )
        .fetch_one(db.read())
        .await
        .expect("count");
        assert_eq!(n, 1);
    }
}
