//! Google Calendar sync on both databases, against a local fake of Google's OAuth and
//! Calendar API v3 (scripts/google_fake.py) that the tests script "on Google's side":
//! connecting through the browser flow (PKCE checked by the fake), busy time that blocks
//! booking slots at the next poll (free, cancelled and free all-day events do not), a
//! booking written to Google and cancelled or moved there with it, a 410 that re-syncs
//! without duplicates, a refused token refresh that is shown and emailed, two-way edits
//! merged field by field with conflicts logged, 412 on a stale write, rate limits with
//! Retry-After, and a booking's event deleted at Google that waits for the host.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::booking::{Host, book, invitee, link};
use crate::mail::{free_port, scripts, smtp_python};
use crate::on_both_backends;
use crate::support::{Backend, Browser, TestApp, form, spawn_app_with};

on_both_backends!(
    connecting_google_brings_busy_time_that_blocks_slots_at_the_next_poll,
    bookings_go_to_google_and_their_cancellation_and_move_follow,
    a_410_resync_leaves_no_duplicates,
    a_refused_token_refresh_is_shown_and_emailed_not_swallowed,
    two_way_sync_merges_field_by_field_and_logs_conflicts,
    a_stale_write_gets_412_and_is_merged_not_overwritten,
    rate_limits_wait_for_retry_after,
    a_bookings_event_deleted_in_google_waits_for_the_host,
    googles_push_notifications_queue_a_poll_and_channels_are_renewed,
    disconnecting_revokes_the_grant_and_removes_what_was_asked,
    a_moved_or_removed_occurrence_is_an_exception_in_google,
    a_calendar_syncs_in_one_process_at_a_time,
);

pub(crate) const SECRET_KEY: &str = "test-secret-key-for-sealing-tokens-0123456789";

// ---------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------

/// Starts a fake service (`scripts/{script}`, run by the SMTP sink's Python) on a free port,
/// once it listens.
pub(crate) async fn start_fake(script: &str) -> (Child, u16) {
    let python = smtp_python();
    let port = free_port();
    let mut child = Command::new(&python)
        .arg(scripts().join(script))
        .arg(port.to_string())
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}); run scripts/smtp-sink", python.display()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("{script} did not start on port {port}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, port)
}

pub(crate) struct GoogleFake {
    child: Child,
    pub port: u16,
}

impl GoogleFake {
    pub(crate) async fn start() -> Self {
        let (child, port) = start_fake("google_fake.py").await;
        Self { child, port }
    }

    /// The server settings that point Calento at the fake.
    pub(crate) fn settings(&self) -> Vec<(String, String)> {
        let base = format!("http://127.0.0.1:{}", self.port);
        vec![
            ("CALENTO_GOOGLE_CLIENT_ID".into(), "calento-test.apps.googleusercontent.com".into()),
            ("CALENTO_GOOGLE_CLIENT_SECRET".into(), "fake-client-secret".into()),
            ("CALENTO_SECRET_KEY".into(), SECRET_KEY.into()),
            ("CALENTO_GOOGLE_OAUTH_URL".into(), format!("{base}/o/oauth2/v2/auth")),
            ("CALENTO_GOOGLE_TOKEN_URL".into(), format!("{base}/token")),
            ("CALENTO_GOOGLE_REVOKE_URL".into(), format!("{base}/revoke")),
            ("CALENTO_GOOGLE_CALENDAR_URL".into(), format!("{base}/calendar/v3")),
            // Polls come from the tests ("sync now"), not the clock.
            ("CALENTO_GOOGLE_SYNC_SECONDS".into(), "86400".into()),
        ]
    }

    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        http_call(self.port, method, path, "application/json", body.map(Value::to_string).unwrap_or_default()).await
    }

    async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, text) = self.call(method, &format!("/_control{path}"), Some(&body)).await;
        assert!(status < 300, "{method} {path}: {status} {text}");
        if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("control JSON") }
    }

    /// An event made or changed "in Google" (by the account's owner, or by `organiser`).
    async fn put(&self, calendar: &str, event: Value) -> Value {
        self.control("POST", &format!("/events/{}", enc(calendar)), event).await
    }

    async fn delete(&self, calendar: &str, id: &str) {
        self.control("DELETE", &format!("/events/{}/{}", enc(calendar), enc(id)), json!({})).await;
    }

    async fn events(&self, calendar: &str) -> Vec<Value> {
        let (status, text) = self.call("GET", &format!("/_control/events/{}", enc(calendar)), None).await;
        assert_eq!(status, 200, "{text}");
        serde_json::from_str::<Vec<Value>>(&text).expect("events")
    }

    async fn log(&self) -> Vec<Value> {
        let (_, text) = self.call("GET", "/_control/log", None).await;
        serde_json::from_str(&text).expect("log")
    }

    async fn fail(&self, rule: Value) {
        self.control("POST", "/fail", rule).await;
    }
}

impl Drop for GoogleFake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn enc(text: &str) -> String {
    app::components::percent_encode(text)
}

/// One HTTP/1.1 request to 127.0.0.1:`port`: status and body.
async fn http_call(port: u16, method: &str, path: &str, content_type: &str, body: String) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    // The Location of a redirect, as the body (the tests follow it by hand).
    let location = head.lines().find_map(|l| l.strip_prefix("Location: ").or_else(|| l.strip_prefix("location: ")));
    (status, location.map_or_else(|| body.to_owned(), str::to_owned))
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

pub(crate) async fn app_with(backend: Backend, fake: &GoogleFake, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = fake.settings();
    settings.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    spawn_app_with(backend, &settings).await
}

/// Connects `email`'s Google account through the browser flow: Calento's start address
/// sends the browser to the fake's consent page, the person allows, Google sends the browser
/// back to Calento's callback.
pub(crate) async fn connect(browser: &Browser<'_>, fake: &GoogleFake, email: &str) -> String {
    let start = browser.get("/connections/google/start").await;
    assert_eq!(start.status, 303, "{}", start.body);
    let consent = start.header("location").expect("to Google").to_owned();
    let url = url::Url::parse(&consent).expect("consent URL");
    assert_eq!(url.port(), Some(fake.port));
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["access_type"], "offline");
    assert!(query["scope"].contains("https://www.googleapis.com/auth/calendar"));
    let mut fields: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    fields.push(("email", email));
    fields.push(("decision", "allow"));
    let body = String::from_utf8(form(&fields)).expect("form");
    let (status, location) =
        http_call(fake.port, "POST", "/o/oauth2/v2/approve", "application/x-www-form-urlencoded", body).await;
    assert_eq!(status, 302, "{location}");
    let back = url::Url::parse(&location).expect("callback URL");
    let path = format!("{}?{}", back.path(), back.query().unwrap_or_default());
    let done = browser.get(&path).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let landed = done.header("location").unwrap_or_default().to_owned();
    assert_eq!(landed, "/settings/connections?connected=google", "{landed}");
    landed
}

/// Waits until no Google job is due or running (the sync caught up).
pub(crate) async fn settle(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = app::ssr::now_ms();
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind IN ('google_sync', 'google_push', 'connection_revoke')
              AND (status = 'running' OR (status = 'queued' AND run_at <= $1))",
        )
        .bind(now)
        .fetch_one(app.state.db.read())
        .await
        .expect("jobs");
        if busy == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "Google jobs still running after a minute");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn connections(app: &TestApp, token: &str) -> Value {
    let reply = app.api("GET", "/api/v1/connections", token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

pub(crate) async fn sync_now(app: &TestApp, token: &str, connection: &str) {
    let reply = app.api("POST", &format!("/api/v1/connections/{connection}/sync"), token, None).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    settle(app).await;
}

/// Connects `email`'s Google account and syncs its primary calendar two-way with a new
/// Calento calendar: the connection's id and that calendar's.
async fn connect_two_way(
    app: &TestApp,
    browser: &Browser<'_>,
    fake: &GoogleFake,
    host: &Host,
    email: &str,
) -> (String, String) {
    connect(browser, fake, email).await;
    settle(app).await;
    let list = connections(app, &host.token).await;
    let connection = list[0]["id"].as_str().expect("id").to_owned();
    let primary = remote(&list, email)["id"].as_str().expect("id").to_owned();
    let reply = app
        .api(
            "PATCH",
            &format!("/api/v1/connections/{connection}/calendars/{primary}"),
            &host.token,
            Some(json!({"mode": "two_way"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let calendar = reply.json()["calendar_id"].as_str().expect("calendar").to_owned();
    settle(app).await;
    (connection, calendar)
}

/// The remote calendar `remote_id` of the first connection.
fn remote<'a>(list: &'a Value, remote_id: &str) -> &'a Value {
    list[0]["calendars"].as_array().expect("calendars").iter().find(|c| c["remote_id"] == remote_id).expect(remote_id)
}

/// A host (signed-in browser and a token): a New York schedule, weekdays 09:00–12:00, and a
/// 30-minute link `intro`.
async fn host<'a>(app: &'a TestApp, email: &str) -> (Browser<'a>, Host) {
    let browser = app.browser();
    assert_eq!(browser.register(email, "Gail Google").await.status, 200);
    let token = crate::api::token_of(&browser).await;
    let me = app.api("GET", "/api/v1/me", &token, None).await.json();
    let reply = app
        .api(
            "POST",
            "/api/v1/availability/schedules",
            &token,
            Some(json!({
                "name": "Mornings", "timezone": "America/New_York",
                "rules": (1..=5).map(|d| json!({"weekday": d, "start": "09:00", "end": "12:00"})).collect::<Vec<_>>(),
            })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let host = Host {
        token,
        username: me["username"].as_str().expect("username").to_owned(),
        schedule: reply.json()["id"].as_str().expect("id").to_owned(),
    };
    link(app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    (browser, host)
}

async fn slots(app: &TestApp, host: &Host, day: &str) -> Vec<String> {
    let path = format!("/api/v1/public/{}/intro/slots?from={day}T00:00:00Z&to={day}T23:59:59Z", host.username);
    let reply = app.get(&path).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json().as_array().expect("slots").iter().map(|s| s.as_str().expect("text").to_owned()).collect()
}

fn timed(id: &str, summary: &str, start: &str, end: &str) -> Value {
    json!({ "id": id, "summary": summary,
            "start": { "dateTime": start, "timeZone": "America/New_York" },
            "end": { "dateTime": end, "timeZone": "America/New_York" } })
}

async fn occurrences(app: &TestApp, token: &str, from: &str, to: &str) -> Vec<Value> {
    let reply = app.api("GET", &format!("/api/v1/occurrences?from={from}&to={to}"), token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json().as_array().expect("occurrences").clone()
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

async fn connecting_google_brings_busy_time_that_blocks_slots_at_the_next_poll(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "gail@example.org").await;
    let email = "gail@gmail.test";
    // Monday 2030-01-14: slots 14:00Z–16:30Z (09:00–12:00 in New York).
    let free_before = slots(&app, &host, "2030-01-14").await;
    assert!(free_before.contains(&"2030-01-14T14:00:00Z".to_owned()));
    fake.control("POST", "/accounts", json!({ "email": email })).await;
    fake.put(email, timed("busy1", "Dentist", "2030-01-14T09:00:00-05:00", "2030-01-14T10:00:00-05:00")).await;
    // Free, cancelled and free all-day events never block.
    let mut free = timed("free1", "Maybe", "2030-01-14T10:00:00-05:00", "2030-01-14T10:30:00-05:00");
    free["transparency"] = json!("transparent");
    fake.put(email, free).await;
    fake.put(
        email,
        json!({ "id": "allday1", "summary": "Holiday?", "transparency": "transparent",
                            "start": { "date": "2030-01-14" }, "end": { "date": "2030-01-15" } }),
    )
    .await;
    fake.put(email, timed("gone1", "Cancelled", "2030-01-14T11:00:00-05:00", "2030-01-14T11:30:00-05:00")).await;
    fake.delete(email, "gone1").await;

    connect(&browser, &fake, email).await;
    settle(&app).await;
    let list = connections(&app, &host.token).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["provider"], "google");
    assert_eq!(list[0]["account"], email);
    assert_eq!(list[0]["status"], "ok");
    let primary = remote(&list, email);
    assert_eq!(primary["primary"], true);
    assert_eq!(primary["mode"], "busy", "the primary calendar blocks slots from the start");
    assert!(primary["last_sync"].is_string(), "{primary}");
    assert_eq!(primary["created"], 3, "{primary}");
    assert_eq!(remote(&list, list[0]["calendars"][1]["remote_id"].as_str().expect("id"))["mode"], "off");

    let open = slots(&app, &host, "2030-01-14").await;
    assert!(!open.contains(&"2030-01-14T14:00:00Z".to_owned()), "the Google event blocks 09:00: {open:?}");
    assert!(!open.contains(&"2030-01-14T14:30:00Z".to_owned()));
    for kept in ["2030-01-14T15:00:00Z", "2030-01-14T15:30:00Z", "2030-01-14T16:00:00Z", "2030-01-14T16:30:00Z"] {
        assert!(open.contains(&kept.to_owned()), "{kept} stays open (free, all-day free, cancelled): {open:?}");
    }
    // A change made in Google blocks a slot at the next poll; a busy all-day event blocks the day.
    fake.put(email, timed("busy2", "Call", "2030-01-14T11:00:00-05:00", "2030-01-14T11:30:00-05:00")).await;
    fake.put(
        email,
        json!({ "id": "allday2", "summary": "Offsite", "start": { "date": "2030-01-15" },
                            "end": { "date": "2030-01-16" } }),
    )
    .await;
    assert!(slots(&app, &host, "2030-01-14").await.contains(&"2030-01-14T16:00:00Z".to_owned()), "not before");
    sync_now(&app, &host.token, list[0]["id"].as_str().expect("id")).await;
    assert!(!slots(&app, &host, "2030-01-14").await.contains(&"2030-01-14T16:00:00Z".to_owned()));
    assert!(slots(&app, &host, "2030-01-15").await.is_empty(), "a busy all-day event blocks its day");
    // The second poll used the sync token.
    let lists: Vec<Value> = fake
        .log()
        .await
        .into_iter()
        .filter(|r| r["method"] == "GET" && r["path"].as_str().is_some_and(|p| p.ends_with("/events")))
        .collect();
    assert!(lists.first().is_some_and(|r| r["query"].get("syncToken").is_none()), "first: a full listing");
    assert!(lists.last().is_some_and(|r| r["query"]["syncToken"].is_string()), "then: incremental");
    assert!(lists.iter().all(|r| r["query"]["singleEvents"] == "false"));

    // The busy-time copy cannot be edited in Calento.
    let calendars = app.api("GET", "/api/v1/calendars", &host.token, None).await.json();
    let mirror = calendars.as_array().expect("calendars").iter().find(|c| c["name"] == email).expect("mirror").clone();
    let reply = app
        .api(
            "POST",
            "/api/v1/events",
            &host.token,
            Some(json!({"title": "Mine", "start": "2030-01-16T10:00", "end": "2030-01-16T11:00",
                        "time_zone": "UTC", "calendar_id": mirror["id"]})),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("busy time from a connected account"), "{}", reply.body);

    // Tokens are sealed at rest: neither the refresh nor the access token is readable.
    let (refresh, access): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT refresh_secret, access_secret FROM connections")
            .fetch_one(app.state.db.read())
            .await
            .expect("row");
    let (refresh, access) = (refresh.expect("refresh"), access.expect("access"));
    assert!(refresh.starts_with("v1.") && !refresh.contains("1//"), "{refresh}");
    assert!(access.starts_with("v1.") && !access.contains("ya29."), "{access}");
    // A second Google account connects beside the first.
    fake.control("POST", "/accounts", json!({ "email": "gail.work@gmail.test" })).await;
    connect(&browser, &fake, "gail.work@gmail.test").await;
    settle(&app).await;
    assert_eq!(connections(&app, &host.token).await.as_array().map(Vec::len), Some(2));
    // The sync page shows the accounts.
    let page = browser.get("/settings/connections").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(email) && page.body.contains("gail.work@gmail.test"), "{}", page.body);
}

async fn bookings_go_to_google_and_their_cancellation_and_move_follow(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "bo@example.org").await;
    let email = "bo@gmail.test";
    connect(&browser, &fake, email).await;
    settle(&app).await;
    let connection = connections(&app, &host.token).await[0]["id"].as_str().expect("id").to_owned();
    let reply = app
        .api("PATCH", &format!("/api/v1/connections/{connection}"), &host.token, Some(json!({"write_calendar": email})))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["write_calendar"], email);

    let booking = book(&app, &host, "intro", invitee("2030-01-14T14:00:00Z"), None).await;
    assert_eq!(booking.status, 201, "{}", booking.body);
    let booking = booking.json();
    settle(&app).await;
    let events = fake.events(email).await;
    let written: Vec<&Value> = events.iter().filter(|e| e["summary"] == "Intro with Ada Lovelace").collect();
    assert_eq!(written.len(), 1, "{events:?}");
    let google_event = written[0].clone();
    assert_eq!(google_event["start"]["dateTime"], "2030-01-14T09:00:00");
    assert!(google_event["id"].as_str().is_some_and(|id| id.len() == 40), "Calento chose the id");
    let inserts: Vec<Value> = fake
        .log()
        .await
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/events")))
        .collect();
    assert_eq!(inserts.len(), 1, "{inserts:?}");
    assert!(inserts.iter().all(|r| r["query"]["sendUpdates"] == "none"), "guests are not emailed unless asked");
    // Its echo in the next poll is not imported as a second, busy copy.
    sync_now(&app, &host.token, &connection).await;
    let found = occurrences(&app, &host.token, "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z").await;
    assert_eq!(found.iter().filter(|o| o["summary"] == "Intro with Ada Lovelace").count(), 1, "{found:?}");

    // Rescheduled in Calento: moved in Google within one sync, with If-Match.
    let id = booking["id"].as_str().expect("id");
    let reply = app
        .api(
            "POST",
            &format!("/api/v1/bookings/{id}/reschedule"),
            &host.token,
            Some(json!({"start": "2030-01-14T15:00:00Z"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle(&app).await;
    let moved = fake.events(email).await.into_iter().find(|e| e["id"] == google_event["id"]).expect("event");
    assert_eq!(moved["start"]["dateTime"], "2030-01-14T10:00:00");
    let patch = fake.log().await.into_iter().find(|r| r["method"] == "PATCH").expect("a PATCH");
    assert_eq!(patch["if_match"], google_event["etag"]);
    // Cancelled in Calento: cancelled in Google.
    let reply = app.api("POST", &format!("/api/v1/bookings/{id}/cancel"), &host.token, Some(json!({}))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle(&app).await;
    let gone = fake.events(email).await.into_iter().find(|e| e["id"] == google_event["id"]).expect("event");
    assert_eq!(gone["status"], "cancelled");
    let list = connections(&app, &host.token).await;
    let primary = remote(&list, email);
    assert_eq!((primary["created"].as_i64(), primary["deleted"].as_i64()), (Some(1), Some(1)), "{primary}");
    // Focus time the planner (or the person) blocks for a task goes there too.
    let task = app.api("POST", "/api/v1/tasks", &host.token, Some(json!({"title": "Write the report"}))).await.json();
    let block = json!({"start": "2030-01-16T14:00:00Z", "end": "2030-01-16T15:00:00Z"});
    let path = format!("/api/v1/tasks/{}/blocks", task["id"].as_str().expect("id"));
    let reply = app.api("POST", &path, &host.token, Some(block)).await;
    assert!(reply.status < 300, "{}", reply.body);
    settle(&app).await;
    let events = fake.events(email).await;
    let focus: Vec<&Value> =
        events.iter().filter(|e| e["summary"].as_str().is_some_and(|s| s.contains("Write the report"))).collect();
    assert_eq!(focus.len(), 1, "{events:?}");
    assert_eq!(focus[0]["status"], "confirmed");
    // Deleted in Google: the block is gone from Calento too (the task is unplanned again),
    // not put back at the next push.
    let block_id = focus[0]["id"].as_str().expect("id").to_owned();
    fake.delete(email, &block_id).await;
    sync_now(&app, &host.token, &connection).await;
    settle(&app).await;
    let found = occurrences(&app, &host.token, "2030-01-16T00:00:00Z", "2030-01-17T00:00:00Z").await;
    assert!(found.iter().all(|o| !o["summary"].as_str().unwrap_or_default().contains("Write the report")), "{found:?}");
    let again = fake.events(email).await.into_iter().find(|e| e["id"] == block_id.as_str()).expect("event");
    assert_eq!(again["status"], "cancelled", "not put back in Google");
}

async fn a_410_resync_leaves_no_duplicates(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "re@example.org").await;
    let email = "re@gmail.test";
    fake.control("POST", "/accounts", json!({ "email": email })).await;
    fake.control("POST", "/settings", json!({ "page_size": 2 })).await;
    for i in 0..5 {
        fake.put(
            email,
            timed(
                &format!("ev{i}0000"),
                &format!("Event {i}"),
                &format!("2030-02-0{}T09:00:00-05:00", i + 1),
                &format!("2030-02-0{}T10:00:00-05:00", i + 1),
            ),
        )
        .await;
    }
    // A weekly series with a moved and a cancelled instance.
    let mut series = timed("weekly1", "Weekly", "2030-02-04T13:00:00-05:00", "2030-02-04T14:00:00-05:00");
    series["recurrence"] = json!(["RRULE:FREQ=WEEKLY;COUNT=4"]);
    fake.put(email, series).await;
    fake.put(email, json!({ "id": "weekly1_20300211T180000Z", "recurringEventId": "weekly1", "summary": "Weekly (moved)",
                            "originalStartTime": { "dateTime": "2030-02-11T13:00:00-05:00", "timeZone": "America/New_York" },
                            "start": { "dateTime": "2030-02-11T15:00:00-05:00" }, "end": { "dateTime": "2030-02-11T16:00:00-05:00" } }))
        .await;
    fake.put(email, json!({ "id": "weekly1_20300218T180000Z", "recurringEventId": "weekly1", "status": "cancelled",
                            "originalStartTime": { "dateTime": "2030-02-18T13:00:00-05:00", "timeZone": "America/New_York" } }))
        .await;
    connect(&browser, &fake, email).await;
    settle(&app).await;
    let count = || async {
        let found = occurrences(&app, &host.token, "2030-02-01T00:00:00Z", "2030-03-01T00:00:00Z").await;
        let mut names: Vec<String> =
            found.iter().map(|o| format!("{} {}", o["summary"].as_str().unwrap_or(""), o["start"])).collect();
        names.sort();
        names
    };
    let before = count().await;
    assert_eq!(before.len(), 5 + 3, "five events, a weekly series of four less a cancelled one: {before:?}");
    assert!(before.iter().any(|n| n.starts_with("Weekly (moved) \"2030-02-11T20:00:00Z\"")), "{before:?}");
    // Google expires the sync token: the next poll gets 410, lists everything again, and
    // ends with the same events, one each, plus what changed meanwhile.
    fake.control("POST", &format!("/expire/{}", enc(email)), json!({})).await;
    fake.put(email, timed("late1", "Late", "2030-02-06T15:00:00-05:00", "2030-02-06T16:00:00-05:00")).await;
    fake.delete(email, "ev00000").await;
    let connection = connections(&app, &host.token).await[0]["id"].as_str().expect("id").to_owned();
    sync_now(&app, &host.token, &connection).await;
    let log = fake.log().await;
    assert!(log.iter().any(|r| r["query"]["syncToken"].is_string()), "the token was tried");
    let after = count().await;
    assert_eq!(after.len(), before.len(), "one new, one deleted, nothing twice: {after:?}");
    assert!(after.iter().any(|n| n.starts_with("Late ")));
    assert!(!after.iter().any(|n| n.starts_with("Event 0 ")));
    let uids: Vec<String> = sqlx::query_scalar("SELECT uid FROM events WHERE master_id IS NULL")
        .fetch_all(app.state.db.read())
        .await
        .expect("uids");
    let mut unique = uids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), uids.len(), "no duplicated series: {uids:?}");
    let list = connections(&app, &host.token).await;
    assert!(remote(&list, email)["error"].is_null(), "{list}");
}

async fn a_refused_token_refresh_is_shown_and_emailed_not_swallowed(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "rev@example.org").await;
    let email = "rev@gmail.test";
    // Access tokens that expire at once: every sync refreshes.
    fake.control("POST", "/settings", json!({ "token_lifetime": 1 })).await;
    connect(&browser, &fake, email).await;
    settle(&app).await;
    let connection = connections(&app, &host.token).await[0]["id"].as_str().expect("id").to_owned();
    sync_now(&app, &host.token, &connection).await;
    assert!(fake.log().await.iter().any(|r| r["path"] == "/token"), "refreshed");
    assert_eq!(connections(&app, &host.token).await[0]["status"], "ok");
    // The person revokes Calento's access in their Google account.
    fake.control("POST", "/revoke", json!({ "email": email })).await;
    sync_now(&app, &host.token, &connection).await;
    let list = connections(&app, &host.token).await;
    assert_eq!(list[0]["status"], "reconnect", "{list}");
    assert!(list[0]["status_reason"].as_str().is_some_and(|r| r.contains("revoked")), "{list}");
    assert!(remote(&list, email)["error"].as_str().is_some_and(|e| e.contains("connect the account again")));
    // Emailed once, however many polls fail.
    let reply = app.api("POST", &format!("/api/v1/connections/{connection}/sync"), &host.token, None).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    let outbox = app.api("GET", "/api/v1/outbox", &host.token, None).await.json();
    let told: Vec<&Value> = outbox
        .as_array()
        .expect("outbox")
        .iter()
        .filter(|e| e["subject"].as_str().is_some_and(|s| s.starts_with("Reconnect your Google account")))
        .collect();
    assert_eq!(told.len(), 1, "{outbox}");
    let page = browser.get("/settings/connections").await;
    assert!(page.body.contains("Reconnect needed"), "{}", page.body);
    // Connecting again brings it back.
    connect(&browser, &fake, email).await;
    settle(&app).await;
    let list = connections(&app, &host.token).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "the same connection");
    assert_eq!(list[0]["status"], "ok");
}

async fn two_way_sync_merges_field_by_field_and_logs_conflicts(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "two@example.org").await;
    let email = "two@gmail.test";
    fake.control("POST", "/accounts", json!({ "email": email })).await;
    fake.put(email, timed("meet0001", "Planning", "2030-03-04T09:00:00-05:00", "2030-03-04T10:00:00-05:00")).await;
    fake.put(
        email,
        json!({ "id": "theirs01", "summary": "Their meeting", "_organiser": "boss@example.com",
                            "start": { "dateTime": "2030-03-05T09:00:00-05:00", "timeZone": "America/New_York" },
                            "end": { "dateTime": "2030-03-05T10:00:00-05:00", "timeZone": "America/New_York" } }),
    )
    .await;
    let (connection, calendar) = connect_two_way(&app, &browser, &fake, &host, email).await;
    let find = |title: &'static str| {
        let app = &app;
        let token = host.token.clone();
        async move {
            occurrences(app, &token, "2030-03-01T00:00:00Z", "2030-03-31T00:00:00Z")
                .await
                .into_iter()
                .find(|o| o["summary"] == title)
                .unwrap_or_else(|| panic!("{title} in Calento"))
        }
    };
    let planning = find("Planning").await;
    let event_id = planning["event_id"].as_str().expect("event id").to_owned();
    let patch_log = || async { fake.log().await.into_iter().filter(|r| r["method"] == "PATCH").count() };
    assert_eq!(patch_log().await, 0, "importing is not echoed back to Google");

    // Made in Calento: appears in Google. Changed in Calento: changed in Google.
    let reply = app
        .api(
            "POST",
            "/api/v1/events",
            &host.token,
            Some(json!({"title": "Lunch", "start": "2030-03-06T12:00",
              "end": "2030-03-06T13:00", "time_zone": "America/New_York", "calendar_id": calendar})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    settle(&app).await;
    let lunch = fake.events(email).await.into_iter().find(|e| e["summary"] == "Lunch").expect("Lunch in Google");
    assert_eq!(lunch["start"]["timeZone"], "America/New_York");
    let reply = app
        .api("PATCH", &format!("/api/v1/events/{event_id}"), &host.token, Some(json!({"title": "Planning Q2"})))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle(&app).await;
    let in_google = fake.events(email).await.into_iter().find(|e| e["id"] == "meet0001").expect("meet");
    assert_eq!(in_google["summary"], "Planning Q2");
    // Its echo is not applied again: the next poll changes nothing in Calento.
    let counts_before = remote(&connections(&app, &host.token).await, email)["updated"].clone();
    sync_now(&app, &host.token, &connection).await;
    assert_eq!(remote(&connections(&app, &host.token).await, email)["updated"], counts_before);

    // Different fields on the two sides: both kept.
    let mut theirs = in_google.clone();
    theirs["location"] = json!("Room 4");
    theirs["_keep"] = json!(true);
    fake.put(email, theirs).await;
    let reply = app
        .api("PATCH", &format!("/api/v1/events/{event_id}"), &host.token, Some(json!({"description": "Bring numbers"})))
        .await;
    assert_eq!(reply.status, 200);
    settle(&app).await;
    sync_now(&app, &host.token, &connection).await;
    let merged = app.api("GET", &format!("/api/v1/events/{event_id}"), &host.token, None).await.json();
    assert_eq!(merged["location"], "Room 4", "{merged}");
    assert_eq!(merged["description"], "Bring numbers", "{merged}");
    let in_google = fake.events(email).await.into_iter().find(|e| e["id"] == "meet0001").expect("meet");
    assert_eq!(in_google["location"], "Room 4");
    assert_eq!(in_google["description"], "Bring numbers");

    // Someone else's event changed on both sides: the organiser's copy wins, and the
    // conflict is logged where the person sees it.
    let their_id = find("Their meeting").await["event_id"].as_str().expect("id").to_owned();
    let mut changed = fake.events(email).await.into_iter().find(|e| e["id"] == "theirs01").expect("theirs");
    changed["summary"] = json!("Their meeting (moved room)");
    changed["_keep"] = json!(true);
    // Calento's edit first (its push waits for the answer below), then Google's.
    fake.fail(json!({ "method": "PATCH", "path": "/events/theirs01", "status": 503, "times": 1 })).await;
    let reply = app
        .api("PATCH", &format!("/api/v1/events/{their_id}"), &host.token, Some(json!({"title": "My name for it"})))
        .await;
    assert_eq!(reply.status, 200);
    settle(&app).await;
    fake.put(email, changed).await;
    sync_now(&app, &host.token, &connection).await;
    let theirs = app.api("GET", &format!("/api/v1/events/{their_id}"), &host.token, None).await.json();
    assert_eq!(theirs["title"], "Their meeting (moved room)", "{theirs}");
    let page = browser.call("load_connections", &[]).await.json();
    let conflicts = page["conflicts"].as_array().expect("conflicts");
    assert!(
        conflicts.iter().any(|c| c["field"] == "summary" && c["kept"] == "remote" && c["title"] == "My name for it"),
        "{conflicts:?}"
    );
}

async fn a_stale_write_gets_412_and_is_merged_not_overwritten(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "stale@example.org").await;
    let email = "stale@gmail.test";
    fake.control("POST", "/accounts", json!({ "email": email })).await;
    fake.put(email, timed("stale001", "Review", "2030-03-04T09:00:00-05:00", "2030-03-04T10:00:00-05:00")).await;
    connect(&browser, &fake, email).await;
    settle(&app).await;
    let list = connections(&app, &host.token).await;
    let (connection, primary) =
        (list[0]["id"].as_str().expect("id").to_owned(), remote(&list, email)["id"].as_str().expect("id").to_owned());
    app.api(
        "PATCH",
        &format!("/api/v1/connections/{connection}/calendars/{primary}"),
        &host.token,
        Some(json!({"mode": "two_way"})),
    )
    .await;
    settle(&app).await;
    let event = occurrences(&app, &host.token, "2030-03-01T00:00:00Z", "2030-03-31T00:00:00Z").await;
    let event_id =
        event.iter().find(|o| o["summary"] == "Review").expect("Review")["event_id"].as_str().expect("id").to_owned();
    // Changed in Google (not yet polled), then in Calento: Calento's write carries the old
    // etag, Google answers 412, Calento reads the new version and merges.
    let mut theirs = fake.events(email).await.into_iter().find(|e| e["id"] == "stale001").expect("event");
    theirs["location"] = json!("Room 9");
    theirs["_keep"] = json!(true);
    fake.put(email, theirs).await;
    let reply = app
        .api("PATCH", &format!("/api/v1/events/{event_id}"), &host.token, Some(json!({"title": "Review (final)"})))
        .await;
    assert_eq!(reply.status, 200);
    settle(&app).await;
    let log = fake.log().await;
    let patches: Vec<&Value> = log.iter().filter(|r| r["method"] == "PATCH").collect();
    assert!(patches.len() >= 2, "a refused PATCH, then the merged one: {patches:?}");
    let now = fake.events(email).await.into_iter().find(|e| e["id"] == "stale001").expect("event");
    assert_eq!(now["summary"], "Review (final)");
    assert_eq!(now["location"], "Room 9", "Google's change was not overwritten");
    let here = app.api("GET", &format!("/api/v1/events/{event_id}"), &host.token, None).await.json();
    assert_eq!((here["title"].as_str(), here["location"].as_str()), (Some("Review (final)"), Some("Room 9")));
}

async fn rate_limits_wait_for_retry_after(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "slow@example.org").await;
    let email = "slow@gmail.test";
    connect(&browser, &fake, email).await;
    settle(&app).await;
    let connection = connections(&app, &host.token).await[0]["id"].as_str().expect("id").to_owned();
    fake.put(email, timed("later001", "Later", "2030-01-14T09:00:00-05:00", "2030-01-14T10:00:00-05:00")).await;
    // Google says 429 with Retry-After: 2, then 403 rateLimitExceeded: both back off.
    fake.fail(json!({ "method": "GET", "path": "/events", "status": 429, "retry_after": 2, "times": 1 })).await;
    let asked = Instant::now();
    sync_now(&app, &host.token, &connection).await;
    let list = connections(&app, &host.token).await;
    assert!(remote(&list, email)["error"].as_str().is_some_and(|e| e.contains("slow down")), "{list}");
    let waiting: Vec<i64> =
        sqlx::query_scalar("SELECT run_at FROM jobs WHERE kind = 'google_sync' AND status = 'queued'")
            .fetch_all(app.state.db.read())
            .await
            .expect("jobs");
    assert_eq!(waiting.len(), 1, "one retry queued");
    assert!(waiting[0] >= app::ssr::now_ms() + 500, "not before Retry-After");
    // It comes back by itself after Retry-After (plus jitter) and succeeds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = connections(&app, &host.token).await;
        if remote(&list, email)["error"].is_null() {
            break;
        }
        assert!(Instant::now() < deadline, "no successful retry: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(asked.elapsed() >= Duration::from_secs(2), "waited for Retry-After");
    let found = occurrences(&app, &host.token, "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z").await;
    assert!(found.iter().any(|o| o["summary"] == "Later"));
    fake.fail(json!({ "method": "GET", "path": "/events", "status": 403, "reason": "rateLimitExceeded", "times": 1 }))
        .await;
    let reply = app.api("POST", &format!("/api/v1/connections/{connection}/sync"), &host.token, None).await;
    assert_eq!(reply.status, 202);
    settle(&app).await;
    let list = connections(&app, &host.token).await;
    assert!(remote(&list, email)["error"].as_str().is_some_and(|e| e.contains("slow down")), "{list}");
}

async fn a_bookings_event_deleted_in_google_waits_for_the_host(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "ask@example.org").await;
    let email = "ask@gmail.test";
    connect(&browser, &fake, email).await;
    settle(&app).await;
    let connection = connections(&app, &host.token).await[0]["id"].as_str().expect("id").to_owned();
    app.api("PATCH", &format!("/api/v1/connections/{connection}"), &host.token, Some(json!({"write_calendar": email})))
        .await;
    let first = book(&app, &host, "intro", invitee("2030-01-14T14:00:00Z"), None).await.json();
    let second = book(&app, &host, "intro", invitee("2030-01-14T15:00:00Z"), None).await.json();
    settle(&app).await;
    let events = fake.events(email).await;
    assert_eq!(events.len(), 2, "{events:?}");
    // Both deleted in Google: the bookings stand until the host decides.
    for event in &events {
        fake.delete(email, event["id"].as_str().expect("id")).await;
    }
    sync_now(&app, &host.token, &connection).await;
    let bookings = app.api("GET", "/api/v1/bookings", &host.token, None).await.json();
    assert!(bookings["items"].as_array().expect("items").iter().all(|b| b["status"] == "confirmed"), "{bookings}");
    let page = browser.call("load_connections", &[]).await.json();
    let questions: Vec<Value> =
        page["conflicts"].as_array().expect("conflicts").iter().filter(|c| c["kept"] == "ask").cloned().collect();
    assert_eq!(questions.len(), 2, "{page}");
    let ask = |booking: &Value| {
        questions.iter().find(|q| q["booking_id"] == booking["id"]).expect("a question per booking")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    // Cancel the first: the invitee is told. Keep the second: it is back in Google.
    let reply = browser.call("answer_sync_question", &[("conflict_id", &ask(&first)), ("answer", "cancel")]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = browser.call("answer_sync_question", &[("conflict_id", &ask(&second)), ("answer", "keep")]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle(&app).await;
    let status = |b: &Value| {
        let path = format!("/api/v1/bookings/{}", b["id"].as_str().expect("id"));
        let token = host.token.clone();
        let app = &app;
        async move { app.api("GET", &path, &token, None).await.json()["status"].clone() }
    };
    assert_eq!(status(&first).await, "cancelled");
    assert_eq!(status(&second).await, "confirmed");
    let live: Vec<Value> = fake.events(email).await.into_iter().filter(|e| e["status"] != "cancelled").collect();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["start"]["dateTime"], "2030-01-14T10:00:00");
    let outbox = app.api("GET", "/api/v1/outbox", &host.token, None).await.json();
    assert!(
        outbox.as_array().expect("outbox").iter().any(|e| e["to_address"] == "ada@example.org"
            && e["subject"].as_str().is_some_and(|s| s.to_lowercase().contains("cancel"))),
        "{outbox}"
    );
}

async fn googles_push_notifications_queue_a_poll_and_channels_are_renewed(backend: Backend) {
    let fake = GoogleFake::start().await;
    // Google can reach a public https address: push channels are opened.
    let app = app_with(backend, &fake, &[("CALENTO_PUBLIC_URL", "https://calento.example.org")]).await;
    let (browser, host) = host(&app, "push@example.org").await;
    let email = "push@gmail.test";
    connect(&browser, &fake, email).await;
    settle(&app).await;
    let (_, text) = fake.call("GET", "/_control/channels", None).await;
    let channels: Vec<Value> = serde_json::from_str(&text).expect("channels");
    assert_eq!(channels.len(), 1, "{channels:?}");
    assert_eq!(channels[0]["address"], "https://calento.example.org/connections/google/notify");
    assert_eq!(channels[0]["calendar"], email);
    // A change in Google: Google notifies, Calento polls without being asked.
    fake.put(email, timed("pushed01", "Pushed", "2030-01-14T09:00:00-05:00", "2030-01-14T10:00:00-05:00")).await;
    let base = format!("http://{}", app.addr);
    let sent = fake.control("POST", &format!("/push/{}", enc(email)), json!({ "base": base })).await;
    assert_eq!(sent, json!([200]));
    settle(&app).await;
    let found = occurrences(&app, &host.token, "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z").await;
    assert!(found.iter().any(|o| o["summary"] == "Pushed"), "{found:?}");
    // A notification without the channel's token is refused and queues nothing.
    let sent = fake.control("POST", &format!("/push/{}", enc(email)), json!({ "base": base, "token": "forged" })).await;
    assert_eq!(sent, json!([403]));
    // A channel near its expiry is renewed at the next sync, and the old one stopped.
    sqlx::query("UPDATE remote_calendars SET channel_expires_at = $1")
        .bind(app::ssr::now_ms() + 3_600_000)
        .execute(app.state.db.write())
        .await
        .expect("expire");
    let connection = connections(&app, &host.token).await[0]["id"].as_str().expect("id").to_owned();
    sync_now(&app, &host.token, &connection).await;
    let (_, text) = fake.call("GET", "/_control/channels", None).await;
    let channels: Vec<Value> = serde_json::from_str(&text).expect("channels");
    assert_eq!(channels.len(), 2, "{channels:?}");
    assert_eq!(channels[0]["stopped"], true, "the replaced channel is stopped");
    assert!(channels[1].get("stopped").is_none());
}

async fn disconnecting_revokes_the_grant_and_removes_what_was_asked(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "bye@example.org").await;
    for (email, id) in [("bye@gmail.test", "byeevent1"), ("bye.work@gmail.test", "byeevent2")] {
        fake.control("POST", "/accounts", json!({ "email": email })).await;
        fake.put(email, timed(id, "Kept?", "2030-01-14T09:00:00-05:00", "2030-01-14T10:00:00-05:00")).await;
        connect(&browser, &fake, email).await;
    }
    settle(&app).await;
    let list = connections(&app, &host.token).await;
    let [first, second] = [&list[0], &list[1]].map(|c| c["id"].as_str().expect("id").to_owned());
    // The second syncs two-way into a calendar of its own.
    let primary = list[1]["calendars"][0]["id"].as_str().expect("id").to_owned();
    let reply = app
        .api(
            "PATCH",
            &format!("/api/v1/connections/{second}/calendars/{primary}"),
            &host.token,
            Some(json!({"mode": "two_way"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let two_way = reply.json()["calendar_id"].as_str().expect("calendar").to_owned();
    settle(&app).await;
    assert_eq!(occurrences(&app, &host.token, "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z").await.len(), 2);

    // Disconnect the first, keeping what it brought: its busy-time copy goes anyway (it is
    // nothing without its source), the grant is revoked at Google, the tokens are gone.
    let reply = app.api("DELETE", &format!("/api/v1/connections/{first}"), &host.token, None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    settle(&app).await;
    assert!(fake.log().await.iter().any(|r| r["path"] == "/revoke"), "revoked at Google");
    let left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM connections").fetch_one(app.state.db.read()).await.expect("n");
    assert_eq!(left, 1);
    // Disconnect the second without removing: its two-way calendar stays as the person's own.
    let reply = app.api("DELETE", &format!("/api/v1/connections/{second}"), &host.token, None).await;
    assert_eq!(reply.status, 204);
    let calendars = app.api("GET", "/api/v1/calendars", &host.token, None).await.json();
    let kept = calendars.as_array().expect("calendars").iter().find(|c| c["id"] == two_way).expect("kept").clone();
    assert!(kept["read_only"].as_bool() != Some(true), "{kept}");
    let found = occurrences(&app, &host.token, "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z").await;
    assert_eq!(found.len(), 1, "only the two-way calendar's event stays: {found:?}");
    assert_eq!(connections(&app, &host.token).await, json!([]));
    // Connected again with "also remove": the calendar it brought goes with it.
    connect(&browser, &fake, "bye@gmail.test").await;
    settle(&app).await;
    let list = connections(&app, &host.token).await;
    let id = list[0]["id"].as_str().expect("id").to_owned();
    let primary = list[0]["calendars"][0]["id"].as_str().expect("id").to_owned();
    let reply = app
        .api(
            "PATCH",
            &format!("/api/v1/connections/{id}/calendars/{primary}"),
            &host.token,
            Some(json!({"mode": "two_way"})),
        )
        .await;
    let brought = reply.json()["calendar_id"].as_str().expect("calendar").to_owned();
    settle(&app).await;
    assert_eq!(occurrences(&app, &host.token, "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z").await.len(), 2);
    let reply = app.api("DELETE", &format!("/api/v1/connections/{id}?remove_events=true"), &host.token, None).await;
    assert_eq!(reply.status, 204);
    let found = occurrences(&app, &host.token, "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let calendars = app.api("GET", "/api/v1/calendars", &host.token, None).await.json();
    assert!(!calendars.as_array().expect("calendars").iter().any(|c| c["id"] == brought), "removed: {calendars}");
}

async fn a_moved_or_removed_occurrence_is_an_exception_in_google(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "series@example.org").await;
    let email = "series@gmail.test";
    fake.control("POST", "/accounts", json!({ "email": email })).await;
    // Google's own series with a moved and a cancelled instance: read, never written back.
    let mut weekly = timed("weekly2", "Weekly", "2030-03-04T13:00:00-05:00", "2030-03-04T14:00:00-05:00");
    weekly["recurrence"] = json!(["RRULE:FREQ=WEEKLY;COUNT=4"]);
    fake.put(email, weekly).await;
    fake.put(email, json!({ "id": "weekly2_20300311T170000Z", "recurringEventId": "weekly2", "summary": "Weekly (moved)",
                            "originalStartTime": { "dateTime": "2030-03-11T13:00:00-04:00", "timeZone": "America/New_York" },
                            "start": { "dateTime": "2030-03-11T15:00:00-04:00" }, "end": { "dateTime": "2030-03-11T16:00:00-04:00" } }))
        .await;
    fake.put(email, json!({ "id": "weekly2_20300318T170000Z", "recurringEventId": "weekly2", "status": "cancelled",
                            "originalStartTime": { "dateTime": "2030-03-18T13:00:00-04:00", "timeZone": "America/New_York" } }))
        .await;
    let (connection, calendar) = connect_two_way(&app, &browser, &fake, &host, email).await;
    let written: Vec<Value> = fake
        .log()
        .await
        .into_iter()
        .filter(|r| r["method"] != "GET" && r["path"].as_str().is_some_and(|p| p.contains("weekly2")))
        .collect();
    assert!(written.is_empty(), "Google's series was written back: {written:?}");
    let weeks = occurrences(&app, &host.token, "2030-03-01T00:00:00Z", "2030-04-01T00:00:00Z").await;
    assert_eq!(weeks.iter().filter(|o| o["summary"].as_str().is_some_and(|s| s.starts_with("Weekly"))).count(), 3);
    // A daily stand-up, five days from Monday 4 March 2030, 09:00 in New York (14:00 UTC).
    let reply = app
        .api(
            "POST",
            "/api/v1/events",
            &host.token,
            Some(json!({"title": "Standup", "start": "2030-03-04T09:00", "end": "2030-03-04T09:15",
              "time_zone": "America/New_York", "rrule": "FREQ=DAILY;COUNT=5", "calendar_id": calendar})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let series = reply.json()["id"].as_str().expect("id").to_owned();
    settle(&app).await;
    let master = fake.events(email).await.into_iter().find(|e| e["summary"] == "Standup").expect("in Google");
    let master_id = master["id"].as_str().expect("id").to_owned();
    assert_eq!(master["recurrence"], json!(["RRULE:FREQ=DAILY;COUNT=5"]));

    // Tuesday's moved to 11:00 and renamed in Calento: that instance is an exception in
    // Google, under the id Google gives the 14:00 UTC instance; the series is untouched.
    let reply = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{series}?scope=this&recurrence_id=2030-03-05T14:00:00Z"),
            &host.token,
            Some(json!({"title": "Standup (late)", "start": "2030-03-05T11:00", "end": "2030-03-05T11:15",
              "time_zone": "America/New_York"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle(&app).await;
    let instance_id = format!("{master_id}_20300305T140000Z");
    let in_google = |id: String| {
        let fake = &fake;
        async move { fake.events(email).await.into_iter().find(|e| e["id"] == id.as_str()) }
    };
    let moved = in_google(instance_id.clone()).await.expect("the moved instance in Google");
    assert_eq!(moved["recurringEventId"], master_id.as_str());
    assert_eq!(moved["summary"], "Standup (late)");
    assert_eq!(moved["status"], "confirmed");
    assert_eq!(moved["start"]["dateTime"], "2030-03-05T11:00:00");
    assert_eq!(moved["start"]["timeZone"], "America/New_York");
    assert_eq!(in_google(master_id.clone()).await.expect("master")["recurrence"], json!(["RRULE:FREQ=DAILY;COUNT=5"]));
    // The echo changes nothing in Calento: five occurrences, Tuesday's at 11:00.
    sync_now(&app, &host.token, &connection).await;
    let week = occurrences(&app, &host.token, "2030-03-01T00:00:00Z", "2030-03-31T00:00:00Z").await;
    let standups: Vec<(&str, &str)> = week
        .iter()
        .filter(|o| o["summary"].as_str().is_some_and(|s| s.starts_with("Standup")))
        .map(|o| (o["summary"].as_str().unwrap_or_default(), o["start"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(standups.len(), 5, "{standups:?}");
    assert!(standups.contains(&("Standup (late)", "2030-03-05T16:00:00Z")), "{standups:?}");

    // The moved occurrence deleted in Calento: cancelled in Google too (the series'
    // EXDATE alone would leave Google's exception standing), and Wednesday's as well.
    for at in ["2030-03-05T14:00:00Z", "2030-03-06T14:00:00Z"] {
        let path = format!("/api/v1/events/{series}?scope=this&recurrence_id={at}");
        let reply = app.api("DELETE", &path, &host.token, None).await;
        assert_eq!(reply.status, 204, "{}", reply.body);
    }
    settle(&app).await;
    assert_eq!(in_google(instance_id).await.expect("the instance")["status"], "cancelled");
    let recurrence = in_google(master_id.clone()).await.expect("master")["recurrence"].clone();
    assert!(recurrence.to_string().contains("EXDATE"), "{recurrence}");
    sync_now(&app, &host.token, &connection).await;
    let week = occurrences(&app, &host.token, "2030-03-01T00:00:00Z", "2030-03-31T00:00:00Z").await;
    let starts: Vec<&str> = week
        .iter()
        .filter(|o| o["summary"].as_str().is_some_and(|s| s.starts_with("Standup")))
        .map(|o| o["start"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(starts, vec!["2030-03-04T14:00:00Z", "2030-03-07T14:00:00Z", "2030-03-08T14:00:00Z"]);
    // Nothing went wrong on the way.
    assert!(remote(&connections(&app, &host.token).await, email)["error"].is_null());
}

/// Another server process syncing the calendar (it holds the calendar's lease) makes this
/// process's sync wait and come again, not run alongside it.
async fn a_calendar_syncs_in_one_process_at_a_time(backend: Backend) {
    let fake = GoogleFake::start().await;
    let app = app_with(backend, &fake, &[]).await;
    let (browser, host) = host(&app, "lease@example.org").await;
    let email = "lease@gmail.test";
    fake.control("POST", "/accounts", json!({ "email": email })).await;
    connect(&browser, &fake, email).await;
    settle(&app).await;
    let list = connections(&app, &host.token).await;
    let connection = list[0]["id"].as_str().expect("id").to_owned();
    let primary = remote(&list, email)["id"].as_str().expect("id").to_owned();
    let lease = format!("sync:{primary}");
    let minute = Duration::from_secs(60);
    assert!(app::ssr::leases::take_as(&app.state.db, &lease, "another-process", minute).await.expect("lease"));
    fake.put(email, timed("later1", "Dentist", "2030-01-14T09:00:00-05:00", "2030-01-14T10:00:00-05:00")).await;
    let lists_before = fake.log().await.iter().filter(|r| r["method"] == "GET").count();
    sync_now(&app, &host.token, &connection).await;
    let dentist = || async {
        occurrences(&app, &host.token, "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z")
            .await
            .iter()
            .any(|o| o["summary"] == "Dentist")
    };
    assert!(!dentist().await, "not synced while another process holds the calendar");
    assert_eq!(fake.log().await.iter().filter(|r| r["method"] == "GET").count(), lists_before, "Google not asked");
    // The other process is done: the postponed sync runs by itself.
    app::ssr::leases::give_back_as(&app.state.db, &lease, "another-process").await.expect("give back");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dentist().await {
        assert!(Instant::now() < deadline, "the postponed sync never ran");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The lease is given back just after the sync commits (on drop), so a moment later.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app::ssr::leases::holder(&app.state.db, &lease).await.expect("holder").is_some() {
        assert!(Instant::now() < deadline, "the lease was never given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
