//! Notifications, on both databases: event reminders by email (a real SMTP server) and by
//! Web Push (a local push service, scripts/push_service.py, that checks each VAPID token
//! and decrypts each payload with the RFC 8188 reference library, as a push service and a
//! browser do), once per occurrence and channel across a restart and across two server
//! processes; moved and cancelled occurrences; reminders on the wall clock across a DST
//! change; quiet hours; expired push subscriptions; one-click unsubscribe; a focus
//! session's end.
//!
//! The minute scan is called with the instant it runs at, so the tests choose the clock;
//! the events are years ahead, where the server's own scan (running on the real clock)
//! never looks.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use app::ssr::notify;

use crate::mail::{SmtpSink, free_port, scripts, smtp_python};
use crate::on_both_backends;
use crate::support::{Backend, Browser, TestApp, spawn_app_on, spawn_app_with};

on_both_backends!(
    reminders_go_once_by_email_and_push_across_a_restart,
    two_processes_remind_once,
    a_moved_or_cancelled_occurrence_reminds_only_where_it_is,
    reminders_follow_the_wall_clock_across_a_dst_change,
    quiet_hours_hold_all_but_urgent_notifications,
    expired_push_subscriptions_are_forgotten,
    the_unsubscribe_link_works_in_one_click_and_only_by_post,
    a_focus_session_end_is_pushed_once,
    hosts_are_pushed_what_invitees_do_with_bookings,
    a_calendars_default_reminders_go_to_new_events,
    the_weekly_review_and_a_late_agenda_go_once_on_their_day,
    a_tasks_do_time_is_pushed_once_while_the_task_is_open,
);

// ---------------------------------------------------------------------------------------
// The push service
// ---------------------------------------------------------------------------------------

struct PushService {
    child: Child,
    port: u16,
    folder: PathBuf,
}

impl PushService {
    async fn start() -> Self {
        let python = smtp_python();
        let port = free_port();
        let folder = std::env::temp_dir().join(format!("calento-push-{}", app::ssr::new_id().to_lowercase()));
        std::fs::create_dir_all(&folder).expect("push folder");
        let child = Command::new(&python)
            .arg(scripts().join("push_service.py"))
            .arg(port.to_string())
            .arg(&folder)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} ({e}); run scripts/smtp-sink", python.display()));
        let service = Self { child, port, folder };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "the push service did not start on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        service
    }

    /// A new subscription, as a browser's `PushSubscription.toJSON()`.
    async fn subscribe(&self) -> Value {
        let (status, body) = post(self.port, "/subscribe", "").await;
        assert_eq!(status, 201, "{body}");
        serde_json::from_str(&body).expect("subscription JSON")
    }

    /// Makes later pushes to the subscription at `endpoint` answer `status`.
    async fn answer_with(&self, endpoint: &str, status: u16) {
        let id = endpoint.rsplit('/').next().expect("id");
        let (code, body) = post(self.port, &format!("/control/{id}"), &json!({ "status": status }).to_string()).await;
        assert_eq!(code, 204, "{body}");
    }

    fn received(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.folder)
            .expect("push folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files.iter().map(|f| serde_json::from_slice(&std::fs::read(f).expect("read")).expect("json")).collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self.received();
            if found.len() >= count {
                return found;
            }
            assert!(Instant::now() < deadline, "{} of {count} pushes arrived: {found:?}", found.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A plain HTTP/1.1 POST to 127.0.0.1:`port` (the push service): status and body.
async fn post(port: u16, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A signed-in browser (time zone Europe/Paris) and an API token of the same account.
async fn person<'a>(app: &'a TestApp, email: &str) -> (Browser<'a>, String, String) {
    let browser = app.browser();
    assert_eq!(browser.register(email, "Nora Notified").await.status, 200);
    let token = crate::api::token_of(&browser).await;
    let me = app.api("GET", "/api/v1/me", &token, None).await.json();
    (browser, token, me["id"].as_str().expect("id").to_owned())
}

async fn event(app: &TestApp, token: &str, body: Value) -> String {
    let reply = app.api("POST", "/api/v1/events", token, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["id"].as_str().expect("id").to_owned()
}

/// Milliseconds of a UTC time written `2031-03-04T08:50`.
fn utc(text: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").expect("time").and_utc().timestamp_millis()
}

async fn scan(app: &TestApp, now: i64) -> notify::ScanReport {
    notify::scan(&app.state.db, &app.state.public_url, now).await.expect("scan")
}

async fn subscribe(browser: &Browser<'_>, push: &PushService, label: &str) -> Value {
    let sub = push.subscribe().await;
    let reply = browser
        .call(
            "subscribe_push",
            &[
                ("endpoint", sub["endpoint"].as_str().expect("endpoint")),
                ("p256dh", sub["keys"]["p256dh"].as_str().expect("p256dh")),
                ("auth", sub["keys"]["auth"].as_str().expect("auth")),
                ("label", label),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    sub
}

/// The messages the sink received whose subject starts with `prefix` (registering also
/// sends a confirmation email), once `count` of them arrived.
async fn mail_about(sink: &SmtpSink, prefix: &str, count: usize) -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found: Vec<PathBuf> = sink
            .messages()
            .into_iter()
            .filter(|m| header_value(&email_headers(m), "Subject").is_some_and(|s| s.starts_with(prefix)))
            .collect();
        if found.len() >= count {
            return found;
        }
        assert!(Instant::now() < deadline, "{} of {count} messages about {prefix:?}", found.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn email_headers(path: &PathBuf) -> String {
    // Headers are ASCII and end at the first blank line; folded lines are joined.
    let text = String::from_utf8_lossy(&std::fs::read(path).expect("read message")).into_owned();
    text.split("\r\n\r\n").next().unwrap_or_default().replace("\r\n ", " ").replace("\r\n\t", " ")
}

fn header_value(headers: &str, name: &str) -> Option<String> {
    headers.lines().find_map(|line| {
        line.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned())
    })
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

async fn reminders_go_once_by_email_and_push_across_a_restart(backend: Backend) {
    let sink = SmtpSink::start().await;
    let push = PushService::start().await;
    let settings = [("CALENTO_SMTP_URL", sink.url())];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = spawn_app_with(backend, &settings).await;
    let (browser, token, _) = person(&first, "nora@example.org").await;
    subscribe(&browser, &push, "Phone").await;
    event(
        &first,
        &token,
        json!({"title": "Dentist", "start": "2031-03-04T10:00", "end": "2031-03-04T11:00",
               "time_zone": "Europe/Paris", "location": "Rue de la Paix 3", "reminders": [10, 60]}),
    )
    .await;
    // 10:00 in Paris is 09:00Z: the hour-before reminder goes at 08:00Z.
    assert_eq!(scan(&first, utc("2031-03-04T07:59")).await.notices, 0, "nothing before its time");
    let report = scan(&first, utc("2031-03-04T08:00")).await;
    assert_eq!((report.emails, report.pushes), (1, 1), "{report:?}");
    assert_eq!(scan(&first, utc("2031-03-04T08:01")).await.emails, 0, "the same reminder again");

    // A restart: a new process on the same database remembers what was sent.
    let second = spawn_app_on(&first.url, &settings).await;
    drop(first);
    let again = scan(&second, utc("2031-03-04T08:02")).await;
    assert_eq!((again.emails, again.pushes), (0, 0), "{again:?}");
    let later = scan(&second, utc("2031-03-04T08:50")).await;
    assert_eq!((later.emails, later.pushes), (1, 1), "the ten-minute reminder: {later:?}");

    mail_about(&sink, "Reminder:", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = mail_about(&sink, "Reminder:", 2).await;
    assert_eq!(messages.len(), 2, "each reminder once by email");
    let read = crate::mail::read_message(&messages[0]);
    assert_eq!(read["Subject"], "Reminder: Dentist");
    let text = read["parts"].as_array().expect("parts").iter().find(|p| p["type"] == "text/plain").expect("text");
    assert!(text["text"].as_str().expect("text").contains("at 10:00"), "{text}");
    let headers = email_headers(&messages[0]);
    let unsubscribe = header_value(&headers, "List-Unsubscribe").expect("List-Unsubscribe");
    assert!(unsubscribe.starts_with("<http://") && unsubscribe.contains("/unsubscribe/"), "{unsubscribe}");
    assert_eq!(header_value(&headers, "List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));

    let pushes = push.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(push.received().len(), 2, "each reminder once by push");
    for received in &pushes {
        assert_eq!(received["vapid_error"], Value::Null, "{received}");
        assert_eq!(received["error"], Value::Null, "{received}");
        assert_eq!(received["payload"]["title"], "Reminder: Dentist", "{received}");
        assert_eq!(received["payload"]["kind"], "event_reminder");
        assert!(received["payload"]["body"].as_str().expect("body").contains("Rue de la Paix 3"));
        assert_eq!(received["headers"]["urgency"], "high");
        assert!(received["headers"]["ttl"].as_str().is_some_and(|t| t.parse::<u32>().is_ok()));
    }
}

async fn two_processes_remind_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    let settings = [("CALENTO_SMTP_URL", sink.url())];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let one = spawn_app_with(backend, &settings).await;
    let two = spawn_app_on(&one.url, &settings).await;
    let (_, token, _) = person(&one, "twice@example.org").await;
    for i in 0..5 {
        event(
            &one,
            &token,
            json!({"title": format!("Standup {i}"), "start": format!("2031-06-02T09:0{i}"),
                   "end": format!("2031-06-02T09:3{i}"), "time_zone": "Europe/Paris", "reminders": [5]}),
        )
        .await;
    }
    // Both processes scan the same minutes at the same moments (09:00 Paris is 07:00Z).
    let mut emails = 0;
    for minute in ["06:55", "06:56", "06:57", "06:58", "06:59"] {
        let now = utc(&format!("2031-06-02T{minute}"));
        let (a, b) = tokio::join!(scan(&one, now), scan(&two, now));
        emails += a.emails + b.emails;
    }
    assert_eq!(emails, 5, "five reminders, each once");
    mail_about(&sink, "Reminder:", 5).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(mail_about(&sink, "Reminder:", 5).await.len(), 5);
}

async fn a_moved_or_cancelled_occurrence_reminds_only_where_it_is(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let (_, token, _) = person(&app, "series@example.org").await;
    let id = event(
        &app,
        &token,
        json!({"title": "Swim", "start": "2031-03-10T10:00", "end": "2031-03-10T11:00",
               "time_zone": "Europe/Paris", "rrule": "FREQ=DAILY;COUNT=4", "reminders": [15]}),
    )
    .await;
    // The 11th is cancelled, the 12th moved to 14:00.
    let cancelled = app
        .api("DELETE", &format!("/api/v1/events/{id}?scope=this&recurrence_id=2031-03-11T09:00:00Z"), &token, None)
        .await;
    assert_eq!(cancelled.status, 204, "{}", cancelled.body);
    let moved = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{id}?scope=this&recurrence_id=2031-03-12T09:00:00Z"),
            &token,
            Some(json!({"start": "2031-03-12T14:00", "end": "2031-03-12T15:00", "time_zone": "Europe/Paris"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    // Paris is UTC+1 in March: 10:00 is 09:00Z, its reminder 08:45Z.
    assert_eq!(scan(&app, utc("2031-03-10T08:45")).await.emails, 1, "the first occurrence");
    assert_eq!(scan(&app, utc("2031-03-11T08:45")).await.notices, 0, "cancelled: no reminder");
    assert_eq!(scan(&app, utc("2031-03-12T08:45")).await.notices, 0, "moved away: not at its old time");
    assert_eq!(scan(&app, utc("2031-03-12T12:45")).await.emails, 1, "moved: at its new time");
    assert_eq!(scan(&app, utc("2031-03-13T08:45")).await.emails, 1, "the last occurrence");
    // Without SMTP they wait in the outbox, each once.
    let outbox = app.api("GET", "/api/v1/outbox", &token, None).await;
    let reminders = outbox.json().as_array().expect("list").iter().filter(|e| e["kind"] == "event_reminder").count();
    assert_eq!(reminders, 3, "{}", outbox.body);
}

async fn reminders_follow_the_wall_clock_across_a_dst_change(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let (_, token, _) = person(&app, "dst@example.org").await;
    // Europe/Paris moves its clocks forward at 02:00 on Sunday 30 March 2031.
    event(
        &app,
        &token,
        json!({"title": "Run", "start": "2031-03-29T08:00", "end": "2031-03-29T09:00",
               "time_zone": "Europe/Paris", "rrule": "FREQ=DAILY;COUNT=3", "reminders": [30]}),
    )
    .await;
    event(
        &app,
        &token,
        json!({"title": "Market", "start": "2031-03-30", "end": "2031-03-31", "all_day": true, "reminders": [1440]}),
    )
    .await;
    // Saturday (UTC+1): 07:30 local is 06:30Z.
    assert_eq!(scan(&app, utc("2031-03-29T06:29")).await.notices, 0);
    assert_eq!(scan(&app, utc("2031-03-29T06:30")).await.emails, 1);
    // The all-day market reminds "1 day before at 09:00": Saturday 09:00 local, 08:00Z.
    assert_eq!(scan(&app, utc("2031-03-29T07:59")).await.notices, 0);
    let market = scan(&app, utc("2031-03-29T08:00")).await;
    assert_eq!(market.emails, 1, "{market:?}");
    // Monday (UTC+2): 07:30 local is 05:30Z, an hour earlier in UTC than before the change.
    assert_eq!(scan(&app, utc("2031-03-31T05:29")).await.notices, 0);
    assert_eq!(scan(&app, utc("2031-03-31T05:30")).await.emails, 1);
    assert_eq!(scan(&app, utc("2031-03-31T06:30")).await.emails, 0, "not again at the old offset");
}

async fn quiet_hours_hold_all_but_urgent_notifications(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let (browser, token, _) = person(&app, "quiet@example.org").await;
    let saved = browser
        .call(
            "save_notification_settings",
            &[
                ("event_reminder_email", "true"),
                ("quiet_start", "22:00"),
                ("quiet_end", "7am"),
                ("agenda_at", "06:30"),
                ("daily_agenda_email", "true"),
                ("agenda_when_empty", "true"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let bad = browser.call("save_notification_settings", &[("quiet_start", "22:00")]).await;
    assert_eq!(bad.status, 422, "a start without an end: {}", bad.body);
    let bad = browser.call("save_notification_settings", &[("agenda_at", "half past")]).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let settings = browser.call("load_notifications", &[]).await.json();
    assert_eq!(settings["preferences"]["quiet_end"], 420, "what was saved before the refusals: {settings}");

    event(
        &app,
        &token,
        json!({"title": "Late call", "start": "2031-05-05T23:30", "end": "2031-05-05T23:45",
               "time_zone": "Europe/Paris", "reminders": [15]}),
    )
    .await;
    // 23:15 in Paris (UTC+2 in May) is 21:15Z: inside quiet hours, so nothing goes, ever.
    let held = scan(&app, utc("2031-05-05T21:15")).await;
    assert_eq!(held.emails, 0, "{held:?}");
    assert_eq!(scan(&app, utc("2031-05-05T21:20")).await.emails, 0, "not later either");

    // The daily agenda at 06:30 waits for the end of the quiet hours at 07:00.
    assert_eq!(scan(&app, utc("2031-05-06T04:45")).await.emails, 0, "06:45 local");
    assert_eq!(scan(&app, utc("2031-05-06T05:01")).await.emails, 1, "07:01 local: the agenda");
    assert_eq!(scan(&app, utc("2031-05-06T05:02")).await.emails, 0, "once a day");

    // Reminders marked urgent come through.
    let urgent = browser
        .call(
            "save_notification_settings",
            &[
                ("event_reminder_email", "true"),
                ("event_reminder_urgent", "true"),
                ("quiet_start", "22:00"),
                ("quiet_end", "07:00"),
            ],
        )
        .await;
    assert_eq!(urgent.status, 200, "{}", urgent.body);
    event(
        &app,
        &token,
        json!({"title": "Night train", "start": "2031-05-06T23:40", "end": "2031-05-07T06:00",
               "time_zone": "Europe/Paris", "reminders": [15]}),
    )
    .await;
    assert_eq!(scan(&app, utc("2031-05-06T21:25")).await.emails, 1, "urgent");
    let outbox = app.api("GET", "/api/v1/outbox", &token, None).await.json();
    let subjects: Vec<&str> = outbox.as_array().expect("list").iter().filter_map(|e| e["subject"].as_str()).collect();
    assert!(subjects.contains(&"Reminder: Night train"), "{subjects:?}");
    assert!(!subjects.contains(&"Reminder: Late call"), "{subjects:?}");
}

async fn expired_push_subscriptions_are_forgotten(backend: Backend) {
    let push = PushService::start().await;
    let app = spawn_app_with(backend, &[]).await;
    let (browser, _, _) = person(&app, "devices@example.org").await;
    let gone = subscribe(&browser, &push, "Old laptop").await;
    subscribe(&browser, &push, "Phone").await;
    push.answer_with(gone["endpoint"].as_str().expect("endpoint"), 410).await;
    let sent = browser.call("test_notification", &[("channel", "push")]).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.json(), 2, "one per device");
    let received = push.wait_for(2).await;
    assert!(received.iter().all(|r| r["payload"]["title"] == "Calento test notification"), "{received:?}");
    // The 410 makes the server forget that device.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let devices = browser.call("load_notifications", &[]).await.json()["devices"].clone();
        let labels: Vec<&str> =
            devices.as_array().expect("devices").iter().filter_map(|d| d["label"].as_str()).collect();
        if labels == ["Phone"] {
            break;
        }
        assert!(Instant::now() < deadline, "still {labels:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Bad subscriptions are refused and change nothing.
    let bad = browser
        .call("subscribe_push", &[("endpoint", "ftp://push.example.org/x"), ("p256dh", "short"), ("auth", "x")])
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    for field in ["endpoint", "p256dh", "auth"] {
        assert!(bad.body.contains(field), "{field}: {}", bad.body);
    }
    let none = app.browser();
    none.register("other@example.org", "Other").await;
    assert_eq!(none.call("test_notification", &[("channel", "push")]).await.status, 422, "no device");
}

async fn the_unsubscribe_link_works_in_one_click_and_only_by_post(backend: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(backend, &[("CALENTO_SMTP_URL", url.as_str())]).await;
    let (browser, _, _) = person(&app, "leave@example.org").await;
    assert_eq!(browser.call("test_notification", &[("channel", "email")]).await.status, 200);
    let message = mail_about(&sink, "Calento test notification", 1).await.remove(0);
    let link = header_value(&email_headers(&message), "List-Unsubscribe").expect("header");
    let link = link.trim_start_matches('<').trim_end_matches('>');
    let path = &link[link.find("/unsubscribe/").expect("path")..];
    let email_on = |b: &Value| b["preferences"]["kinds"]["event_reminder"]["email"].as_bool().unwrap_or(true);

    // Opening the link (a scanner, a preview) only asks.
    let page = app.get(path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<form method=\"post\""), "{}", page.body);
    assert!(email_on(&browser.call("load_notifications", &[]).await.json()), "GET changed nothing");

    // A tampered token is refused.
    let last = if path.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &path[..path.len() - 1]);
    assert_eq!(app.send("POST", &tampered, &[], b"List-Unsubscribe=One-Click".to_vec()).await.status, 404);
    let other_kind = path.replace("event_reminder", "daily_agenda");
    assert_eq!(app.send("POST", &other_kind, &[], b"List-Unsubscribe=One-Click".to_vec()).await.status, 404);

    // The mail client's one click: a POST without cookies or Origin.
    let done = app
        .send(
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            b"List-Unsubscribe=One-Click".to_vec(),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("data-testid=\"unsubscribed\""), "{}", done.body);
    let settings = browser.call("load_notifications", &[]).await.json();
    assert!(!email_on(&settings), "{settings}");
    assert_eq!(settings["preferences"]["kinds"]["event_reminder"]["push"], true, "push stays on");
}

async fn a_focus_session_end_is_pushed_once(backend: Backend) {
    let push = PushService::start().await;
    let app = spawn_app_with(backend, &[]).await;
    let (browser, _, user_id) = person(&app, "focus@example.org").await;
    subscribe(&browser, &push, "Laptop").await;
    let started = browser.call("start_focus", &[("kind", "focus")]).await;
    assert_eq!(started.status, 200, "{}", started.body);
    // Let the planned time pass: the session started its length ago, and its check is due.
    let db = &app.state.db;
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("UPDATE focus_sessions SET started_ms = started_ms - planned_ms - 1000 WHERE user_id = $1")
        .bind(&user_id)
        .execute(db.write())
        .await
        .expect("age the session");
    sqlx::query("UPDATE jobs SET run_at = 0 WHERE kind = $1 AND status = 'queued'")
        .bind(notify::FOCUS_JOB)
        .execute(db.write())
        .await
        .expect("make the check due");
    let received = push.wait_for(1).await;
    assert_eq!(received[0]["payload"]["title"], "Focus session done", "{received:?}");
    assert_eq!(received[0]["payload"]["kind"], "focus_end");
    assert!(received[0]["payload"]["url"].as_str().expect("url").ends_with("/focus"));
    // Completing it afterwards tells nobody again.
    let session = started.json()["id"].as_str().expect("id").to_owned();
    browser.call("change_focus", &[("id", &session), ("action", "complete")]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(push.received().len(), 1);
}

async fn hosts_are_pushed_what_invitees_do_with_bookings(backend: Backend) {
    use crate::booking::{book, host, invitee, link};
    let push = PushService::start().await;
    let app = spawn_app_with(backend, &[]).await;
    let host = host(&app, "pushed-host@example.org").await;
    let me = app.api("GET", "/api/v1/me", &host.token, None).await.json();
    let sub = push.subscribe().await;
    let subscription = notify::Subscription {
        endpoint: sub["endpoint"].as_str().expect("endpoint").to_owned(),
        p256dh: sub["keys"]["p256dh"].as_str().expect("p256dh").to_owned(),
        auth: sub["keys"]["auth"].as_str().expect("auth").to_owned(),
        label: "Host phone".to_owned(),
    };
    notify::subscribe(&app.state.db, me["id"].as_str().expect("id"), &subscription, &app.state.url_check)
        .await
        .expect("subscribe");
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    link(&app, &host, json!({"slug": "vip", "title": "VIP", "durations": [30], "requires_approval": true})).await;
    let titles = |found: &[Value]| {
        found.iter().map(|r| r["payload"]["title"].as_str().unwrap_or("").to_owned()).collect::<Vec<_>>()
    };

    let booked = book(&app, &host, "intro", invitee("2030-01-15T14:00:00Z"), None).await.json();
    let found = push.wait_for(1).await;
    assert_eq!(titles(&found), ["New booking"]);
    assert!(found[0]["payload"]["body"].as_str().expect("body").contains("Ada Lovelace"), "{found:?}");
    let token = booked["manage_url"].as_str().expect("url").trim_start_matches("/booking/").to_owned();
    let moved = app
        .send(
            "POST",
            &format!("/api/v1/public/bookings/{token}/reschedule"),
            &[("content-type", "application/json")],
            json!({"start": "2030-01-15T15:30:00Z"}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(titles(&push.wait_for(2).await)[1], "Booking rescheduled");
    let cancelled = app
        .send(
            "POST",
            &format!("/api/v1/public/bookings/{token}/cancel"),
            &[("content-type", "application/json")],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(titles(&push.wait_for(3).await)[2], "Booking cancelled");

    // Waiting for approval is news; the host's own approval is not.
    let pending = book(&app, &host, "vip", invitee("2030-01-16T14:00:00Z"), None).await.json();
    assert_eq!(titles(&push.wait_for(4).await)[3], "Booking waiting for approval");
    let id = pending["id"].as_str().expect("id");
    assert_eq!(app.api("POST", &format!("/api/v1/bookings/{id}/approve"), &host.token, None).await.status, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(push.received().len(), 4, "{:?}", titles(&push.received()));
}

async fn a_calendars_default_reminders_go_to_new_events(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let (browser, token, _) = person(&app, "defaults@example.org").await;
    let calendars = app.api("GET", "/api/v1/calendars", &token, None).await.json();
    let id = calendars[0]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/calendars/{id}");
    let set = app.api("PATCH", &path, &token, Some(json!({"default_reminders": [60, 10, 10]}))).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json()["default_reminders"], json!([10, 60]), "sorted, without repeats");
    for bad in [json!([1, 2, 3, 4, 5, 6]), json!([50_000])] {
        let refused = app.api("PATCH", &path, &token, Some(json!({"default_reminders": bad}))).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
    }
    assert_eq!(app.api("GET", &path, &token, None).await.json()["default_reminders"], json!([10, 60]));

    let plain = json!({"title": "Gets the defaults", "start": "2031-07-01T10:00", "end": "2031-07-01T11:00"});
    let made = app.api("POST", "/api/v1/events", &token, Some(plain)).await.json();
    assert_eq!(made["reminders"], json!([10, 60]), "{made}");
    let none = json!({"title": "None", "start": "2031-07-01T12:00", "end": "2031-07-01T13:00", "reminders": []});
    assert_eq!(app.api("POST", "/api/v1/events", &token, Some(none)).await.json()["reminders"], json!([]));
    let own = json!({"title": "Own", "start": "2031-07-01T14:00", "end": "2031-07-01T15:00", "reminders": [5]});
    assert_eq!(app.api("POST", "/api/v1/events", &token, Some(own)).await.json()["reminders"], json!([5]));
    // The form: left as offered ("keep") takes the defaults, "No reminder" means none.
    let form = |title: &'static str, reminder: &'static str| {
        vec![
            ("title", title),
            ("calendar_id", ""),
            ("start_date", "2031-07-02"),
            ("start_time", "09:00"),
            ("end_date", "2031-07-02"),
            ("end_time", "10:00"),
            ("reminder", reminder),
        ]
    };
    let kept = browser.call("save_event", &form("Kept", "keep")).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.json()["reminders"], json!([10, 60]));
    let cleared = browser.call("save_event", &form("Cleared", "none")).await;
    assert_eq!(cleared.json()["reminders"], json!([]));
    // The settings form takes minutes as typed.
    let signed_in = &browser;
    let settings_form = |reminders: &'static str| {
        let id = id.clone();
        async move {
            let fields = [
                ("id", id.as_str()),
                ("name", "Mine"),
                ("color", "#336699"),
                ("time_zone", "Europe/Paris"),
                ("default_reminders", reminders),
            ];
            signed_in.call("update_calendar", &fields).await
        }
    };
    let saved = settings_form("15, 1440").await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["default_reminders"], json!([15, 1440]));
    let bad = settings_form("soon").await;
    assert_eq!(bad.status, 422, "{}", bad.body);
}

async fn the_weekly_review_and_a_late_agenda_go_once_on_their_day(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let (browser, token, _) = person(&app, "digest@example.org").await;
    // Friday at 18:00 for the review; the agenda at 23:30, inside quiet hours until 06:00.
    let saved = browser
        .call(
            "save_notification_settings",
            &[
                ("weekly_review_email", "true"),
                ("review_day", "4"),
                ("review_at", "6pm"),
                ("daily_agenda_email", "true"),
                ("agenda_at", "23:30"),
                ("agenda_when_empty", "true"),
                ("quiet_start", "23:00"),
                ("quiet_end", "06:00"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    // Friday 9 May 2031 in Paris is UTC+2. The agenda planned at 23:30 is held by the quiet
    // hours until 06:00 (04:00Z): each morning then brings that day's agenda.
    assert_eq!(scan(&app, utc("2031-05-09T03:59")).await.emails, 0, "05:59 is still quiet");
    assert_eq!(scan(&app, utc("2031-05-09T04:00")).await.emails, 1, "06:00: the day's agenda");
    assert_eq!(scan(&app, utc("2031-05-09T04:05")).await.emails, 0, "once");
    // The review at 18:00 (16:00Z), on Fridays.
    assert_eq!(scan(&app, utc("2031-05-09T15:59")).await.emails, 0);
    assert_eq!(scan(&app, utc("2031-05-09T16:00")).await.emails, 1, "the review");
    assert_eq!(scan(&app, utc("2031-05-09T16:05")).await.emails, 0, "once");
    assert_eq!(scan(&app, utc("2031-05-09T21:30")).await.emails, 0, "23:30 is quiet: nothing");
    assert_eq!(scan(&app, utc("2031-05-10T03:59")).await.emails, 0, "still quiet at 05:59");
    assert_eq!(scan(&app, utc("2031-05-10T04:00")).await.emails, 1, "Saturday 06:00: Saturday's agenda");
    assert_eq!(scan(&app, utc("2031-05-10T04:05")).await.emails, 0, "once");
    assert_eq!(scan(&app, utc("2031-05-10T16:00")).await.emails, 0, "Saturday: no review");
    let outbox = app.api("GET", "/api/v1/outbox", &token, None).await.json();
    let kinds: Vec<&str> = outbox.as_array().expect("list").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "weekly_review").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "daily_agenda").count(), 2, "{kinds:?}");
    let review = outbox.as_array().expect("list").iter().find(|e| e["kind"] == "weekly_review").expect("review");
    assert!(review["subject"].as_str().expect("subject").starts_with("Your week"), "{review}");
    assert!(review["text_body"].as_str().expect("text").contains("Streak"), "{review}");
}

async fn a_tasks_do_time_is_pushed_once_while_the_task_is_open(backend: Backend) {
    let push = PushService::start().await;
    let app = spawn_app_with(backend, &[]).await;
    let (browser, token, _) = person(&app, "tasks-due@example.org").await;
    subscribe(&browser, &push, "Phone").await;
    for (title, do_at) in
        [("Call the bank", "2031-06-03T09:00"), ("Water plants", "2031-06-03T09:30"), ("Someday", "2031-06-03")]
    {
        let made = app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": title, "do_at": do_at}))).await;
        assert_eq!(made.status, 201, "{}", made.body);
        if title == "Water plants" {
            let id = made.json()["id"].as_str().expect("id").to_owned();
            let done = app.api("PATCH", &format!("/api/v1/tasks/{id}"), &token, Some(json!({"status": "done"}))).await;
            assert_eq!(done.status, 200, "{}", done.body);
        }
    }
    // 09:00 in Paris in June is 07:00Z.
    assert_eq!(scan(&app, utc("2031-06-03T06:59")).await.notices, 0);
    assert_eq!(scan(&app, utc("2031-06-03T07:00")).await.pushes, 1);
    assert_eq!(scan(&app, utc("2031-06-03T07:01")).await.pushes, 0, "once");
    assert_eq!(scan(&app, utc("2031-06-03T07:30")).await.notices, 0, "a done task is not due");
    let received = push.wait_for(1).await;
    assert_eq!(received[0]["payload"]["title"], "Time for: Call the bank", "{received:?}");
    assert_eq!(received[0]["payload"]["kind"], "task_due");
    // By default a do-time is not emailed.
    let outbox = app.api("GET", "/api/v1/outbox", &token, None).await.json();
    assert!(outbox.as_array().expect("list").iter().all(|e| e["kind"] != "task_due"), "{outbox}");
}
