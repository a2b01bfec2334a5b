//! The calendar API: calendars, events with their three edit scopes, occurrences, and
//! iCalendar import, export and feeds, on both databases.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, spawn_app, spawn_app_with};

on_both_backends!(
    every_recurrence_fixture_passes_through_import_and_the_occurrences_api,
    a_new_account_has_a_default_calendar_and_can_add_more,
    events_are_created_checked_changed_and_deleted,
    one_occurrence_this_and_following_and_all_can_be_edited,
    occurrences_can_be_deleted_one_or_following_at_a_time,
    exported_calendars_import_back_with_the_same_occurrences,
    private_feeds_answer_304_when_nothing_changed_and_stop_when_revoked,
    hostile_calendar_files_get_a_report_never_a_server_error,
    other_users_calendars_and_events_are_not_found,
    a_deleted_event_comes_back_exactly_with_undo,
);

type Tuple = (String, String, String, String);

fn tuples(list: &Value) -> BTreeSet<Tuple> {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|o| (text(o, "uid"), text(o, "recurrence_id"), text(o, "start"), text(o, "end")))
        .collect()
}

async fn import(app: &TestApp, token: &str, calendar: &str, ics: &[u8]) -> crate::support::Reply {
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str()), ("content-type", "text/calendar")];
    app.send("POST", &format!("/api/v1/calendars/{calendar}/import"), &headers, ics.to_vec()).await
}

async fn new_calendar(app: &TestApp, token: &str, name: &str) -> String {
    let reply = app.api("POST", "/api/v1/calendars", token, Some(json!({"name": name}))).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["id"].as_str().expect("id").to_owned()
}

async fn occurrences(app: &TestApp, token: &str, from: &str, to: &str, calendar: Option<&str>) -> Value {
    let filter = calendar.map(|c| format!("&calendar_id={c}")).unwrap_or_default();
    let reply = app.api("GET", &format!("/api/v1/occurrences?from={from}&to={to}{filter}"), token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

async fn every_recurrence_fixture_passes_through_import_and_the_occurrences_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "fixtures@example.org").await;
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/recurrence");
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&folder).expect("fixtures").map(|e| e.expect("entry").path()).collect();
    paths.sort();
    for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        cases += 1;
        let calendar = new_calendar(&app, &token, case["id"].as_str().expect("id")).await;
        let report = import(&app, &token, &calendar, case["ics"].as_str().expect("ics").as_bytes()).await;
        assert_eq!(report.status, 200, "{}: {}", case["id"], report.body);
        assert_eq!(report.json()["imported"], 1, "{}: {}", case["id"], report.body);
        let (from, to) = (case["window"]["from"].as_str().expect("from"), case["window"]["to"].as_str().expect("to"));
        let got = occurrences(&app, &token, from, to, Some(&calendar)).await;
        let list = got.as_array().expect("array");
        let unique: BTreeSet<Tuple> = tuples(&got);
        if unique.len() != list.len() {
            failures.push(format!("{}: duplicate occurrences", case["id"]));
        }
        let want = tuples(&case["expected"]);
        if unique != want {
            failures.push(format!(
                "{}: missing {:?} extra {:?}",
                case["id"],
                want.difference(&unique).collect::<Vec<_>>(),
                unique.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    assert_eq!(cases, 25);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn a_new_account_has_a_default_calendar_and_can_add_more(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "cal@example.org").await;
    let list = app.api("GET", "/api/v1/calendars", &token, None).await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["is_default"], true);
    let default_id = list[0]["id"].as_str().expect("id").to_owned();

    let made = app
        .api(
            "POST",
            "/api/v1/calendars",
            &token,
            Some(json!({"name": "Work", "color": "#0B8043", "time_zone": "Europe/Paris", "counts_as_busy": false})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let work = made.json();
    assert_eq!((work["color"].as_str(), work["counts_as_busy"].as_bool()), (Some("#0b8043"), Some(false)));
    let id = work["id"].as_str().expect("id");

    let bad = app
        .api("POST", "/api/v1/calendars", &token, Some(json!({"name": "", "color": "blue", "time_zone": "Mars/Base"})))
        .await;
    assert_eq!(bad.status, 422);
    let bad = bad.json();
    let fields: Vec<&str> =
        bad["fields"].as_array().expect("fields").iter().filter_map(|f| f["field"].as_str()).collect();
    assert_eq!(fields, ["name", "color", "time_zone"]);

    let hidden = app
        .api("PATCH", &format!("/api/v1/calendars/{id}"), &token, Some(json!({"visible": false, "name": "Job"})))
        .await;
    assert_eq!(hidden.status, 200, "{}", hidden.body);
    assert_eq!((hidden.json()["visible"].as_bool(), hidden.json()["name"].as_str()), (Some(false), Some("Job")));

    let refused = app.api("DELETE", &format!("/api/v1/calendars/{default_id}"), &token, None).await;
    assert_eq!(refused.status, 400, "the default calendar stays");
    assert_eq!(app.api("DELETE", &format!("/api/v1/calendars/{id}"), &token, None).await.status, 204);
    assert_eq!(app.api("GET", &format!("/api/v1/calendars/{id}"), &token, None).await.status, 404);
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app.api("POST", "/api/v1/events", token, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

async fn events_are_created_checked_changed_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "ev@example.org").await;
    let event = create(
        &app,
        &token,
        json!({"title": "Dentist", "start": "2024-03-14T09:30", "end": "2024-03-14T10:15", "time_zone": "Europe/Paris",
               "location": "Rue X", "tags": ["health"], "reminders": [10, 60],
               "attendees": [{"name": "Ann", "email": "Ann@Example.org", "response": "accepted"}]}),
    )
    .await;
    assert_eq!(event["start_utc"], "2024-03-14T08:30:00Z");
    assert_eq!(event["attendees"][0]["email"], "ann@example.org");
    let id = event["id"].as_str().expect("id");

    let bad = app
        .api("POST", "/api/v1/events", &token, Some(json!({"title": "", "start": "2024-03-14T10:00", "end": "2024-03-14T09:00", "time_zone": "Nowhere/Land"})))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let fields: BTreeSet<String> = bad.json()["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(fields.contains("title") && fields.contains("time_zone"), "{fields:?}");

    let moved = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{id}"),
            &token,
            Some(json!({"start": "2024-03-15T11:00", "end": "2024-03-15T12:00"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["title"], "Dentist", "fields not in the patch are kept");
    assert_eq!(moved.json()["start_utc"], "2024-03-15T10:00:00Z");

    let found = occurrences(&app, &token, "2024-03-15T00:00:00Z", "2024-03-16T00:00:00Z", None).await;
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    assert_eq!(found[0]["summary"], "Dentist");
    assert_eq!(found[0]["recurrence_id"], Value::Null);

    let invalid =
        app.api("PATCH", &format!("/api/v1/events/{id}"), &token, Some(json!({"end": "2024-03-15T10:00"}))).await;
    assert_eq!(invalid.status, 422);
    assert_eq!(
        app.api("GET", &format!("/api/v1/events/{id}"), &token, None).await.json()["end"],
        "2024-03-15T12:00:00",
        "a refused edit changes nothing"
    );

    assert_eq!(app.api("DELETE", &format!("/api/v1/events/{id}"), &token, None).await.status, 204);
    assert_eq!(app.api("GET", &format!("/api/v1/events/{id}"), &token, None).await.status, 404);
    let none = occurrences(&app, &token, "2024-03-15T00:00:00Z", "2024-03-16T00:00:00Z", None).await;
    assert_eq!(none.as_array().map(Vec::len), Some(0));
}

fn starts(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|o| format!("{} {}", o["start"].as_str().unwrap_or_default(), o["summary"].as_str().unwrap_or_default()))
        .collect()
}

async fn one_occurrence_this_and_following_and_all_can_be_edited(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "scope@example.org").await;
    // Mondays 09:00 New York, six weeks from 4 March 2024 (DST starts 10 March).
    let series = create(
        &app,
        &token,
        json!({"title": "Standup", "start": "2024-03-04T09:00", "end": "2024-03-04T09:30", "time_zone": "America/New_York",
               "rrule": "FREQ=WEEKLY;COUNT=6"}),
    )
    .await;
    assert_eq!(series["repeats"], "Weekly on Monday, 6 times");
    let id = series["id"].as_str().expect("id").to_owned();
    let (from, to) = ("2024-03-01T00:00:00Z", "2024-05-01T00:00:00Z");
    assert_eq!(
        starts(&occurrences(&app, &token, from, to, None).await),
        [
            "2024-03-04T14:00:00Z Standup",
            "2024-03-11T13:00:00Z Standup",
            "2024-03-18T13:00:00Z Standup",
            "2024-03-25T13:00:00Z Standup",
            "2024-04-01T13:00:00Z Standup",
            "2024-04-08T13:00:00Z Standup"
        ]
    );

    // This occurrence: 18 March moves to 11:00 with a new title.
    let this = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{id}?scope=this&recurrence_id=2024-03-18T13:00:00Z"),
            &token,
            Some(json!({"title": "Standup (late)", "start": "2024-03-18T11:00", "end": "2024-03-18T11:30"})),
        )
        .await;
    assert_eq!(this.status, 200, "{}", this.body);
    let after_this = occurrences(&app, &token, from, to, None).await;
    assert_eq!(starts(&after_this)[2], "2024-03-18T15:00:00Z Standup (late)");
    assert_eq!(after_this[2]["recurrence_id"], "2024-03-18T13:00:00Z");

    // This and following from 1 April: renamed; the earlier ones keep their title.
    let following = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{id}?scope=following&recurrence_id=2024-04-01T13:00:00Z"),
            &token,
            Some(json!({"title": "Sync"})),
        )
        .await;
    assert_eq!(following.status, 200, "{}", following.body);
    assert_eq!(
        starts(&occurrences(&app, &token, from, to, None).await),
        [
            "2024-03-04T14:00:00Z Standup",
            "2024-03-11T13:00:00Z Standup",
            "2024-03-18T15:00:00Z Standup (late)",
            "2024-03-25T13:00:00Z Standup",
            "2024-04-01T13:00:00Z Sync",
            "2024-04-08T13:00:00Z Sync"
        ]
    );

    // All occurrences (of the first part): one hour later; the moved one moves with it? No:
    // it keeps its own time, as in Google Calendar; the rest shift.
    let all = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{id}?scope=all"),
            &token,
            Some(json!({"start": "2024-03-04T10:00", "end": "2024-03-04T10:30"})),
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(
        starts(&occurrences(&app, &token, from, to, None).await),
        [
            "2024-03-04T15:00:00Z Standup",
            "2024-03-11T14:00:00Z Standup",
            "2024-03-18T15:00:00Z Standup (late)",
            "2024-03-25T14:00:00Z Standup",
            "2024-04-01T13:00:00Z Sync",
            "2024-04-08T13:00:00Z Sync"
        ]
    );

    // All, edited from an occurrence (as the dialog does): its new time moves every
    // occurrence by the same amount; the series still starts on 4 March.
    let from_occurrence = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{id}?scope=all&recurrence_id=2024-03-25T14:00:00Z"),
            &token,
            Some(json!({"start": "2024-03-25T08:00", "end": "2024-03-25T08:45"})),
        )
        .await;
    assert_eq!(from_occurrence.status, 200, "{}", from_occurrence.body);
    assert_eq!(
        starts(&occurrences(&app, &token, from, "2024-03-31T00:00:00Z", None).await),
        [
            "2024-03-04T13:00:00Z Standup",
            "2024-03-11T12:00:00Z Standup",
            "2024-03-18T15:00:00Z Standup (late)",
            "2024-03-25T12:00:00Z Standup"
        ]
    );
    assert_eq!(from_occurrence.json()["end"], "2024-03-04T08:45:00");

    let missing = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{id}?scope=this&recurrence_id=2024-03-19T13:00:00Z"),
            &token,
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(missing.status, 404, "not an occurrence of the series");
    let no_key =
        app.api("PATCH", &format!("/api/v1/events/{id}?scope=this"), &token, Some(json!({"title": "x"}))).await;
    assert_eq!(no_key.status, 422);
    let bad_scope =
        app.api("PATCH", &format!("/api/v1/events/{id}?scope=some"), &token, Some(json!({"title": "x"}))).await;
    assert_eq!(bad_scope.status, 422);
}

async fn occurrences_can_be_deleted_one_or_following_at_a_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "del@example.org").await;
    let series = create(
        &app,
        &token,
        json!({"title": "Gym", "start": "2024-06-03", "end": "2024-06-04", "all_day": true, "rrule": "FREQ=DAILY"}),
    )
    .await;
    let id = series["id"].as_str().expect("id").to_owned();
    let (from, to) = ("2024-06-01T00:00:00Z", "2024-06-10T00:00:00Z");
    assert_eq!(occurrences(&app, &token, from, to, None).await.as_array().map(Vec::len), Some(7));
    let one =
        app.api("DELETE", &format!("/api/v1/events/{id}?scope=this&recurrence_id=2024-06-05"), &token, None).await;
    assert_eq!(one.status, 204, "{}", one.body);
    let rest =
        app.api("DELETE", &format!("/api/v1/events/{id}?scope=following&recurrence_id=2024-06-08"), &token, None).await;
    assert_eq!(rest.status, 204, "{}", rest.body);
    let left: Vec<String> = occurrences(&app, &token, from, "2025-01-01T00:00:00Z", None)
        .await
        .as_array()
        .expect("array")
        .iter()
        .map(|o| o["start"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(left, ["2024-06-03", "2024-06-04", "2024-06-06", "2024-06-07"]);
    let first =
        app.api("DELETE", &format!("/api/v1/events/{id}?scope=following&recurrence_id=2024-06-03"), &token, None).await;
    assert_eq!(first.status, 204);
    assert_eq!(
        app.api("GET", &format!("/api/v1/events/{id}"), &token, None).await.status,
        404,
        "following from the first is all"
    );
}

const SERIES: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:rt@example.org\r\n\
DTSTART;TZID=Europe/Berlin:20240305T140000\r\nDTEND;TZID=Europe/Berlin:20240305T150000\r\nRRULE:FREQ=WEEKLY;COUNT=8\r\n\
EXDATE;TZID=Europe/Berlin:20240319T140000\r\nSUMMARY:Review\\, weekly\r\nDESCRIPTION:Line one\\nLine two\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:rt@example.org\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240326T140000\r\nDTSTART;TZID=Europe/Berlin:20240327T090000\r\n\
DTEND;TZID=Europe/Berlin:20240327T100000\r\nSUMMARY:Review (moved)\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:day@example.org\r\n\
DTSTART;VALUE=DATE:20240401\r\nSUMMARY:Holiday\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:float@example.org\r\n\
DTSTART:20240402T080000\r\nDTEND:20240402T083000\r\nRRULE:FREQ=DAILY;UNTIL=20240405T080000\r\nSUMMARY:Coffee\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

async fn exported_calendars_import_back_with_the_same_occurrences(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "rt@example.org").await;
    let first = new_calendar(&app, &token, "First").await;
    let report = import(&app, &token, &first, SERIES.as_bytes()).await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(
        (report.json()["imported"].as_u64(), report.json()["updated"].as_u64()),
        (Some(3), Some(0)),
        "{}",
        report.body
    );
    let again = import(&app, &token, &first, SERIES.as_bytes()).await;
    assert_eq!(again.json()["updated"], 3, "importing the same file updates, never duplicates");

    let exported = app.api("GET", &format!("/api/v1/calendars/{first}/export.ics"), &token, None).await;
    assert_eq!(exported.status, 200);
    assert!(exported.header("content-type").is_some_and(|t| t.starts_with("text/calendar")));
    let second = new_calendar(&app, &token, "Second").await;
    let back = import(&app, &token, &second, exported.body.as_bytes()).await;
    assert_eq!(back.json()["imported"], 3, "{}", back.body);
    assert_eq!(back.json()["skipped"], json!([]), "{}", back.body);

    let (from, to) = ("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z");
    let a = occurrences(&app, &token, from, to, Some(&first)).await;
    let b = occurrences(&app, &token, from, to, Some(&second)).await;
    assert_eq!(a.as_array().map(Vec::len), Some(12));
    assert_eq!(tuples(&a), tuples(&b));
    let summaries: BTreeSet<&str> = b.as_array().expect("array").iter().filter_map(|o| o["summary"].as_str()).collect();
    assert!(summaries.contains("Review, weekly") && summaries.contains("Review (moved)"), "{summaries:?}");
}

async fn private_feeds_answer_304_when_nothing_changed_and_stop_when_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "feed@example.org").await;
    let calendar = new_calendar(&app, &token, "Shared").await;
    import(&app, &token, &calendar, SERIES.as_bytes()).await;
    let published = app.api("POST", &format!("/api/v1/calendars/{calendar}/feed"), &token, None).await;
    assert_eq!(published.status, 201);
    let path = published.json()["path"].as_str().expect("path").to_owned();

    let feed = app.get(&path).await;
    assert_eq!(feed.status, 200);
    assert!(feed.body.contains("BEGIN:VCALENDAR") && feed.body.contains("UID:rt@example.org"));
    let etag = feed.header("etag").expect("etag").to_owned();
    let modified = feed.header("last-modified").expect("last-modified").to_owned();
    let same = app.send("GET", &path, &[("if-none-match", etag.as_str())], Vec::new()).await;
    assert_eq!(same.status, 304);
    assert!(same.body.is_empty());
    let since = app.send("GET", &path, &[("if-modified-since", modified.as_str())], Vec::new()).await;
    assert_eq!(since.status, 304);

    create(
        &app,
        &token,
        json!({"calendar_id": calendar, "title": "New", "start": "2024-05-01T10:00", "end": "2024-05-01T11:00"}),
    )
    .await;
    let changed = app.send("GET", &path, &[("if-none-match", etag.as_str())], Vec::new()).await;
    assert_eq!(changed.status, 200, "a change gives a new ETag");
    assert!(changed.body.contains("SUMMARY:New"));

    assert_eq!(app.api("DELETE", &format!("/api/v1/calendars/{calendar}/feed"), &token, None).await.status, 204);
    assert_eq!(app.get(&path).await.status, 404);
    assert_eq!(app.get("/feeds/not-a-token.ics").await.status, 404);
}

async fn hostile_calendar_files_get_a_report_never_a_server_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "hostile@example.org").await;
    let calendar = new_calendar(&app, &token, "Imports").await;
    let missing_end =
        import(&app, &token, &calendar, b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20240101T000000Z\r\n")
            .await;
    assert_eq!(missing_end.status, 422, "{}", missing_end.body);
    assert!(missing_end.json()["message"].as_str().unwrap_or_default().contains("no END"));
    assert_eq!(import(&app, &token, &calendar, b"\xff\xfe\x00garbage").await.status, 422);

    let mut file = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:absurd\r\nDTSTART:20240101T000000Z\r\nRRULE:FREQ=SECONDLY;COUNT=100000000\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:zone\r\nDTSTART;TZID=Mars/Olympus:20240101T000000\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:ok\r\nDTSTART:20240101T090000Z\r\n\
DTEND:20240101T100000Z\r\nSUMMARY:Fine\r\nX-LONG:".to_vec();
    file.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    file.extend(b"\r\nX-BAD:\xc3\x28\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    let report = import(&app, &token, &calendar, &file).await;
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    assert_eq!(report["imported"], 1);
    let skipped = report["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(skipped.iter().all(|s| s["reason"].as_str().is_some_and(|r| !r.is_empty())));

    // Over the import limit: 413 (a small limit here, so the body fits in socket buffers
    // before the server answers early).
    let small = spawn_app_with(backend, &[("CALENTO_MAX_IMPORT_BYTES", "100000")]).await;
    let small_token = user_with_token(&small, "small@example.org").await;
    let small_calendar = new_calendar(&small, &small_token, "Imports").await;
    let too_big = import(&small, &small_token, &small_calendar, &vec![b'a'; 150_000]).await;
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    assert_eq!(too_big.json()["code"], "payload_too_large");

    let far = occurrences(&app, &token, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", None).await;
    assert_eq!(far.as_array().map(Vec::len), Some(1));
    for query in [
        "from=yesterday&to=2024-01-01",
        "from=2024-01-02&to=2024-01-01",
        "from=1900-01-01&to=2100-01-01",
        "to=2024-01-01",
    ] {
        let reply = app.api("GET", &format!("/api/v1/occurrences?{query}"), &token, None).await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
    }
    let dense = create(
        &app,
        &token,
        json!({"title": "Tick", "start": "2024-01-01T00:00", "end": "2024-01-01T00:10", "rrule": "FREQ=HOURLY"}),
    )
    .await;
    assert_eq!(dense["repeats"], "Every hour");
    let reply =
        app.api("GET", "/api/v1/occurrences?from=2024-01-01T00:00:00Z&to=2030-01-01T00:00:00Z", &token, None).await;
    assert_eq!(reply.status, 400, "too many occurrences is a clear error: {}", reply.body);
}

async fn other_users_calendars_and_events_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = user_with_token(&app, "ann@example.org").await;
    let bob = user_with_token(&app, "bob@example.org").await;
    let calendar = new_calendar(&app, &ann, "Private").await;
    let event = create(&app, &ann, json!({"calendar_id": calendar, "title": "Secret", "start": "2024-01-01T10:00", "end": "2024-01-01T11:00", "rrule": "FREQ=DAILY"})).await;
    let event = event["id"].as_str().expect("id");
    for (method, path, body) in [
        ("GET", format!("/api/v1/calendars/{calendar}"), None),
        ("PATCH", format!("/api/v1/calendars/{calendar}"), Some(json!({"name": "Mine"}))),
        ("DELETE", format!("/api/v1/calendars/{calendar}"), None),
        ("POST", format!("/api/v1/calendars/{calendar}/feed"), None),
        ("GET", format!("/api/v1/calendars/{calendar}/export.ics"), None),
        ("GET", format!("/api/v1/events/{event}"), None),
        ("PATCH", format!("/api/v1/events/{event}"), Some(json!({"title": "Mine"}))),
        ("DELETE", format!("/api/v1/events/{event}?scope=this&recurrence_id=2024-01-02T10:00:00Z"), None),
        ("GET", format!("/api/v1/occurrences?from=2024-01-01&to=2024-02-01&calendar_id={calendar}"), None),
        ("GET", "/api/v1/events/01JUNKNOWN".to_owned(), None),
    ] {
        let reply = app.api(method, &path, &bob, body).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
        assert_eq!(reply.json()["code"], "not_found");
    }
    let smuggled = app
        .api(
            "POST",
            "/api/v1/events",
            &bob,
            Some(
                json!({"calendar_id": calendar, "title": "x", "start": "2024-01-01T10:00", "end": "2024-01-01T11:00"}),
            ),
        )
        .await;
    assert_eq!(smuggled.status, 422, "cannot add to another user's calendar");
    assert_eq!(import(&app, &bob, &calendar, SERIES.as_bytes()).await.status, 404);
    let bobs = occurrences(&app, &bob, "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", None).await;
    assert_eq!(bobs.as_array().map(Vec::len), Some(0));
    assert_eq!(
        occurrences(&app, &ann, "2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z", None).await.as_array().map(Vec::len),
        Some(7)
    );
}

/// "Undo" after a delete from the calendar page puts the series back as it was: one
/// occurrence, or the whole series with its moved occurrence; with the page's script and
/// as plain forms; only for its owner, and once.
async fn a_deleted_event_comes_back_exactly_with_undo(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.browser();
    assert_eq!(ann.register("undo@example.org", "Ann").await.status, 200);
    let made = ann
        .send(
            "POST",
            "/api/v1/tokens",
            &[("content-type", "application/json")],
            json!({"name": "tests", "scopes": ["all"]}).to_string().into_bytes(),
        )
        .await;
    let token = made.json()["token"].as_str().expect("token").to_owned();
    let calendar = new_calendar(&app, &token, "Undo").await;
    assert_eq!(import(&app, &token, &calendar, SERIES.as_bytes()).await.status, 200);
    let (from, to) = ("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z");
    let before = occurrences(&app, &token, from, to, Some(&calendar)).await;
    let series = before
        .as_array()
        .expect("array")
        .iter()
        .find(|o| o["summary"] == "Review, weekly")
        .cloned()
        .expect("an occurrence of the series");
    let id = series["event_id"].as_str().expect("event id").to_owned();
    let rid = series["recurrence_id"].as_str().expect("recurrence id").to_owned();
    let undo = |reply: crate::support::Reply| {
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json()["title"], "Review, weekly", "{}", reply.body);
        reply.json()["undo"].as_str().expect("an undo token").to_owned()
    };

    // One occurrence, then back.
    let one = undo(ann.call("delete_event", &[("id", &id), ("scope", "this"), ("recurrence_id", &rid)]).await);
    let fewer = occurrences(&app, &token, from, to, Some(&calendar)).await;
    assert_eq!(fewer.as_array().map(Vec::len), before.as_array().map(|a| a.len() - 1));
    // Nobody else can use the token.
    let bob = app.browser();
    assert_eq!(bob.register("bob-undo@example.org", "Bob").await.status, 200);
    assert_eq!(bob.call("undo_delete", &[("token", &one)]).await.status, 404);
    let back = ann.call("undo_delete", &[("token", &one)]).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(back.json(), json!("Review, weekly"));
    assert_eq!(tuples(&occurrences(&app, &token, from, to, Some(&calendar)).await), tuples(&before));
    // A token puts back once.
    assert_eq!(ann.call("undo_delete", &[("token", &one)]).await.status, 404);

    // The whole series, its moved occurrence included: the same event comes back.
    let all = undo(ann.call("delete_event", &[("id", &id), ("scope", "all")]).await);
    assert_eq!(app.api("GET", &format!("/api/v1/events/{id}"), &token, None).await.status, 404);
    assert_eq!(ann.call("undo_delete", &[("token", &all)]).await.status, 200);
    let event = app.api("GET", &format!("/api/v1/events/{id}"), &token, None).await;
    assert_eq!(event.status, 200, "{}", event.body);
    assert_eq!(event.json()["uid"], "rt@example.org");
    assert_eq!(tuples(&occurrences(&app, &token, from, to, Some(&calendar)).await), tuples(&before));

    // Without JavaScript: the delete sends the browser back with the token, and the
    // undo form sends it back to the view.
    let view = "/calendar?view=week&date=2024-03-04";
    let gone = ann.submit("delete_event", view, &[("id", &id), ("scope", "all"), ("back", view)]).await;
    let location = gone.header("location").unwrap_or_default().to_owned();
    assert!(location.starts_with(&format!("{view}&deleted=")), "{} {location}", gone.status);
    let plain = location.rsplit("deleted=").next().unwrap_or_default().to_owned();
    let again = ann.submit("undo_delete", &location, &[("token", &plain), ("back", view)]).await;
    assert_eq!(again.header("location"), Some(view), "{}", again.status);
    assert_eq!(tuples(&occurrences(&app, &token, from, to, Some(&calendar)).await), tuples(&before));
}
