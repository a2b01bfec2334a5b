//! Interoperability: other software reads what Calento publishes. A calendar with a varied
//! set of events (timed in several zones, all-day, floating, repeating with EXDATE and RDATE,
//! a moved and a cancelled instance, text with commas, semicolons, newlines and non-ASCII
//! characters, lines long enough to fold) is exported (`/api/v1/calendars/{id}/export.ics`)
//! and published as a private feed; python `icalendar` 7.3.0 must parse both without a
//! problem and read back the same texts, and `recurring_ical_events` 3.8.2 must find exactly
//! the occurrences Calento's `/api/v1/occurrences` gives for a year.
//!
//! Python: `CALENTO_PYTHON` names the interpreter of the reference environment (scripts/test
//! sets it from scripts/python-reference); without it the environment's default place
//! (`$CALENTO_CACHE/python-reference`, `~/.cache/calento/python-reference`) is used. When
//! neither has it the test fails and says how to install it: it never passes without Python.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, spawn_app};

on_both_backends!(python_icalendar_reads_exports_and_feeds_with_the_same_texts_and_occurrences);

const FROM: &str = "2024-01-01T00:00:00Z";
const TO: &str = "2025-01-01T00:00:00Z";

/// The Python of the reference environment, or a failure that says how to get it.
fn reference_python() -> PathBuf {
    if let Some(path) = std::env::var_os("CALENTO_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("CALENTO_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/calento")));
    let default = cache.map(|c| c.join("python-reference/bin/python"));
    match default.filter(|p| p.exists()) {
        Some(path) => path,
        None => panic!(
            "This test needs python icalendar 7.3.0 and recurring-ical-events 3.8.2. Run scripts/python-reference \
             (scripts/test does it) and set CALENTO_PYTHON to the path it prints."
        ),
    }
}

/// Runs scripts/differential/interop.py on the files and returns its answer per file.
fn read_with_python(files: &BTreeMap<&str, String>) -> Value {
    let python = reference_python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/differential/interop.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}); run scripts/python-reference", python.display()));
    let request = json!({"window": {"from": FROM, "to": TO}, "files": files});
    child.stdin.take().expect("stdin").write_all(request.to_string().as_bytes()).expect("write to python");
    let output = child.wait_with_output().expect("python finishes");
    assert!(
        output.status.success(),
        "{} {} failed: {}",
        python.display(),
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python answers JSON")
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app.api("POST", "/api/v1/events", token, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

type Tuple = (String, String, String, String);

/// Occurrences as `(uid, recurrence_id, start, end)`; a single event's recurrence id is its
/// start, as the reference reports it.
fn tuples(list: &Value) -> BTreeSet<Tuple> {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    list.as_array()
        .expect("a list of occurrences")
        .iter()
        .map(|o| {
            let start = text(o, "start");
            let rid = o["recurrence_id"].as_str().map(str::to_owned).unwrap_or_else(|| start.clone());
            (text(o, "uid"), rid, start, text(o, "end"))
        })
        .collect()
}

const DESCRIPTION: &str = "Agenda:\n1. Budget; Q2, Q3\n2. Hiring \u{2014} \"senior\" role\n\nC:\\shared\\notes \
     \u{00e9}\u{00e8}\u{00ea} \u{65e5}\u{672c}\u{8a9e} \u{1f4c5}\u{1f389} and a long tail of text so that the line has to fold \
     more than once: \u{00fc}\u{00f6}\u{00e4}\u{00df} \u{00fc}\u{00f6}\u{00e4}\u{00df} \u{00fc}\u{00f6}\u{00e4}\u{00df} \
     \u{0428}\u{0435}\u{0440}\u{043b}\u{043e}\u{043a} \u{0425}\u{043e}\u{043b}\u{043c}\u{0441} \u{1f600}\u{1f600}\u{1f600}\u{1f600}";

/// The floating events: only an import can make them.
const FLOATING: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:run@interop.example.org\r\n\
DTSTART:20240304T070000\r\nDTEND:20240304T073000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,TH;COUNT=10\r\nSUMMARY:Morning run\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:nap@interop.example.org\r\nDTSTART:20240707T140000\r\nDTEND:20240707T143000\r\nSUMMARY:Nap\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

async fn python_icalendar_reads_exports_and_feeds_with_the_same_texts_and_occurrences(backend: Backend) {
    let python = reference_python();
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "interop@example.org").await;
    let made = app
        .api(
            "POST",
            "/api/v1/calendars",
            &token,
            Some(json!({"name": "Interop; tests, \u{00e9}t\u{00e9}", "time_zone": "Europe/Berlin"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let calendar = made.json()["id"].as_str().expect("id").to_owned();

    // (title, description, location) by UID, as the reader must see them.
    let mut texts: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    let mut add = async |body: Value| -> Value {
        let mut body = body;
        body["calendar_id"] = json!(calendar);
        let event = create(&app, &token, body.clone()).await;
        let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
        texts.insert(
            event["uid"].as_str().expect("uid").to_owned(),
            (text("title"), text("description"), text("location")),
        );
        event
    };
    // Berlin, twice a week across the change to summer time, one EXDATE and one RDATE.
    add(json!({"title": "Team sync, weekly; room 4 \u{2014} Z\u{00fc}rich \u{2615}", "description": DESCRIPTION,
                "location": "Z\u{00fc}rich, Bahnhofstrasse 1; 3rd floor", "tags": ["work", "weekly, sync"],
                "start": "2024-03-05T14:00", "end": "2024-03-05T15:00", "time_zone": "Europe/Berlin",
                "rrule": "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=16", "exdates": ["2024-03-12T14:00"], "rdates": ["2024-03-16T10:00"]}))
    .await;
    // New York, daily until a UTC instant; one instance moved, one cancelled below.
    let standup = add(json!({"title": "Standup", "start": "2024-03-08T09:00", "end": "2024-03-08T09:15",
                             "time_zone": "America/New_York", "rrule": "FREQ=DAILY;UNTIL=20240320T235959Z"}))
    .await;
    // Kolkata, the second Tuesday of every month, forever.
    add(json!({"title": "Review", "start": "2024-01-09T18:30", "end": "2024-01-09T19:30", "time_zone": "Asia/Kolkata",
               "rrule": "FREQ=MONTHLY;BYDAY=2TU"}))
    .await;
    // Sydney, at a time that happens twice (summer time ends at 03:00 on 7 April 2024).
    add(json!({"title": "Twice-told time", "start": "2024-04-07T02:30", "end": "2024-04-07T02:45",
               "time_zone": "Australia/Sydney"}))
    .await;
    add(json!({"title": "UTC call", "start": "2024-08-01T23:30", "end": "2024-08-02T00:30", "time_zone": "UTC"})).await;
    add(json!({"title": "Conference", "start": "2024-05-01", "end": "2024-05-04", "all_day": true,
               "location": "Lisboa"}))
    .await;
    add(json!({"title": "Birthday \u{1f382}", "start": "2020-06-15", "end": "2020-06-16", "all_day": true,
               "rrule": "FREQ=YEARLY"}))
    .await;
    add(json!({"title": "x".repeat(120) + " \u{00e9}\u{00e9}\u{00e9} long title", "start": "2024-09-02T08:00",
               "end": "2024-09-02T09:00"}))
    .await;

    let standup_id = standup["id"].as_str().expect("id");
    let moved = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{standup_id}?scope=this&recurrence_id=2024-03-12T13:00:00Z"),
            &token,
            Some(json!({"title": "Standup (moved), later; \u{00e0} 11", "start": "2024-03-12T11:00", "end": "2024-03-12T11:20"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let cancelled = app
        .api(
            "DELETE",
            &format!("/api/v1/events/{standup_id}?scope=this&recurrence_id=2024-03-14T13:00:00Z"),
            &token,
            None,
        )
        .await;
    assert_eq!(cancelled.status, 204, "{}", cancelled.body);

    let auth = format!("Bearer {token}");
    let imported = app
        .send(
            "POST",
            &format!("/api/v1/calendars/{calendar}/import"),
            &[("authorization", auth.as_str()), ("content-type", "text/calendar")],
            FLOATING.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.json()["imported"], 2, "{}", imported.body);
    texts.insert("run@interop.example.org".into(), ("Morning run".into(), String::new(), String::new()));
    texts.insert("nap@interop.example.org".into(), ("Nap".into(), String::new(), String::new()));

    let export = app.api("GET", &format!("/api/v1/calendars/{calendar}/export.ics"), &token, None).await;
    assert_eq!(export.status, 200, "{}", export.body);
    let published = app.api("POST", &format!("/api/v1/calendars/{calendar}/feed"), &token, None).await;
    assert_eq!(published.status, 201, "{}", published.body);
    let feed = app.get(published.json()["path"].as_str().expect("path")).await;
    assert_eq!(feed.status, 200);

    let files: BTreeMap<&str, String> = [("export", export.body), ("feed", feed.body)].into_iter().collect();
    for (name, text) in &files {
        for line in text.split_terminator("\r\n") {
            assert!(line.len() <= 75, "{name}: a line of {} octets is not folded: {line:?}", line.len());
            assert!(!line.contains('\n') && !line.contains('\r'), "{name}: a bare line break in {line:?}");
        }
        assert!(text.ends_with("\r\n"), "{name}: lines end with CRLF");
    }
    let theirs = tokio::task::spawn_blocking(move || read_with_python(&files)).await.expect("python task");

    let reply =
        app.api("GET", &format!("/api/v1/occurrences?from={FROM}&to={TO}&calendar_id={calendar}"), &token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ours = tuples(&reply.json());
    assert!(ours.len() > 40, "a varied year: {}", ours.len());
    let standup_uid = standup["uid"].as_str().expect("uid");
    let standups: Vec<&Tuple> = ours.iter().filter(|o| o.0 == standup_uid).collect();
    assert!(standups.iter().any(|o| o.1 == "2024-03-12T13:00:00Z" && o.2 == "2024-03-12T15:00:00Z"), "{standups:?}");
    assert!(!standups.iter().any(|o| o.1 == "2024-03-14T13:00:00Z"), "the cancelled standup: {standups:?}");

    for name in ["export", "feed"] {
        let answer = &theirs["files"][name];
        assert_eq!(answer["errors"], json!([]), "{name}: python icalendar ({}) reported problems", python.display());
        assert_eq!(tuples(&answer["occurrences"]), ours, "{name}: recurring_ical_events and Calento disagree");
        let events = answer["events"].as_array().expect("events");
        for (uid, (title, description, location)) in &texts {
            let master = events
                .iter()
                .find(|e| e["uid"] == json!(uid) && e["recurrence_id"].is_null())
                .unwrap_or_else(|| panic!("{name}: no VEVENT for {uid}"));
            assert_eq!(master["summary"], json!(title), "{name}: {uid}");
            assert_eq!(master["description"], json!(description), "{name}: {uid}");
            assert_eq!(master["location"], json!(location), "{name}: {uid}");
        }
        let moved = events
            .iter()
            .find(|e| e["uid"] == standup["uid"] && e["recurrence_id"] == "2024-03-12T13:00:00Z")
            .unwrap_or_else(|| panic!("{name}: no VEVENT for the moved standup"));
        assert_eq!(moved["summary"], "Standup (moved), later; \u{00e0} 11");
        let tagged =
            events.iter().find(|e| e["location"] == "Z\u{00fc}rich, Bahnhofstrasse 1; 3rd floor").expect("sync");
        assert_eq!(tagged["categories"], json!(["work", "weekly, sync"]), "{name}");
    }
}
