//! Live updates: `GET /api/v1/changes/stream` sends the change feed as Server-Sent Events,
//! read here as a browser's EventSource reads them (blocks of `event:`, `id:` and `data:`
//! lines). A change made through the API reaches an open stream within a second; a
//! reconnect with `Last-Event-ID` resumes without gaps; a cursor the feed no longer covers
//! is answered with `resync`; scopes filter kinds as on `/changes`; several server
//! processes on one PostgreSQL database reach each other's streams.

use std::time::Duration;

use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, postgres_url, spawn_app, spawn_app_on};

on_both_backends!(
    a_stream_sends_each_change_as_it_happens,
    a_reconnect_resumes_without_gaps_and_a_lost_cursor_resyncs,
    a_stream_shows_only_the_kinds_its_scopes_read,
    streams_refuse_strangers_bad_cursors_and_too_many_tabs,
);

/// One event of a stream.
#[derive(Debug, Clone, Default)]
struct Received {
    event: String,
    id: Option<String>,
    data: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// An open stream, read as EventSource does.
struct Stream {
    body: hyper::body::Incoming,
    buffer: String,
}

impl Stream {
    async fn open(app: &TestApp, token: &str, headers: &[(&str, &str)], query: &str) -> Stream {
        let auth = format!("Bearer {token}");
        let mut all = vec![("authorization", auth.as_str()), ("accept", "text/event-stream")];
        all.extend_from_slice(headers);
        let (status, response_headers, body) = app.open(&format!("/api/v1/changes/stream{query}"), &all).await;
        assert_eq!(status, 200);
        let kind = response_headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Stream { body, buffer: String::new() }
    }

    /// The next event (comments skipped), or `None` when none comes within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Received> {
        tokio::time::timeout(wait, self.next()).await.ok().flatten()
    }

    async fn next(&mut self) -> Option<Received> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut received = Received { event: "message".to_owned(), ..Received::default() };
                let mut data: Vec<&str> = Vec::new();
                let mut any = false;
                for line in block.lines() {
                    let (field, value) =
                        line.split_once(':').map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
                    match field {
                        "" => {}
                        "event" => (received.event, any) = (value.to_owned(), true),
                        "id" => (received.id, any) = (Some(value.to_owned()), true),
                        "data" => {
                            data.push(value);
                            any = true;
                        }
                        _ => {}
                    }
                }
                if any {
                    received.data = data.join("\n");
                    return Some(received);
                }
            }
            let frame = self.body.frame().await?.ok()?;
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }

    /// The next `change` event within a second.
    async fn change(&mut self) -> Received {
        loop {
            let received = self.next_within(Duration::from_secs(1)).await.expect("a change within a second");
            if received.event == "change" {
                return received;
            }
        }
    }
}

async fn add_task(app: &TestApp, token: &str, title: &str) -> String {
    let made = app.api("POST", "/api/v1/tasks", token, Some(json!({"title": title}))).await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()["id"].as_str().expect("id").to_owned()
}

async fn a_stream_sends_each_change_as_it_happens(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "live@example.org").await;
    let mut stream = Stream::open(&app, &token, &[], "").await;
    let ready = stream.next_within(Duration::from_secs(5)).await.expect("the stream opens");
    assert_eq!(ready.event, "ready");
    let start = ready.id.clone().expect("the cursor it starts at");
    assert_eq!(ready.data, start);
    assert!(stream.next_within(Duration::from_millis(300)).await.is_none(), "nothing changed, nothing is sent");

    let task = add_task(&app, &token, "Water the plants").await;
    let change = stream.change().await;
    let body = change.json();
    assert_eq!(
        (body["kind"].as_str(), body["op"].as_str(), body["id"].as_str()),
        (Some("task"), Some("created"), Some(task.as_str()))
    );
    assert_eq!(change.id.as_deref(), body["cursor"].as_str(), "the event's id is its cursor");

    let event = json!({"title": "Lunch", "start": "2030-01-07T12:00:00", "end": "2030-01-07T13:00:00"});
    let made = app.api("POST", "/api/v1/events", &token, Some(event)).await;
    assert_eq!(made.status, 201);
    let change = stream.change().await.json();
    assert_eq!((change["kind"].as_str(), change["op"].as_str()), (Some("event"), Some("created")));
    assert!(change["calendar_id"].is_string(), "{change}");

    // The same cursors as the feed's own pages.
    let page = app.api("GET", &format!("/api/v1/changes?since={start}"), &token, None).await.json();
    assert_eq!(page["changes"][1]["cursor"], change["cursor"]);

    // Another account's changes are not sent.
    let stranger = user_with_token(&app, "stranger@example.org").await;
    add_task(&app, &stranger, "Not yours").await;
    assert!(stream.next_within(Duration::from_millis(500)).await.is_none_or(|r| r.event != "change"));
}

async fn a_reconnect_resumes_without_gaps_and_a_lost_cursor_resyncs(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "resume@example.org").await;
    let mut stream = Stream::open(&app, &token, &[], "").await;
    stream.next_within(Duration::from_secs(5)).await.expect("ready");
    add_task(&app, &token, "First").await;
    let last = stream.change().await.id.expect("an id");
    drop(stream);

    // Changes made while disconnected arrive, in order, after the reconnect.
    let second = add_task(&app, &token, "Second").await;
    let third = add_task(&app, &token, "Third").await;
    let mut stream = Stream::open(&app, &token, &[("last-event-id", last.as_str())], "").await;
    let ready = stream.next_within(Duration::from_secs(5)).await.expect("ready");
    assert_eq!((ready.event.as_str(), ready.id.as_deref()), ("ready", Some(last.as_str())));
    let ids: Vec<String> = [stream.change().await, stream.change().await]
        .iter()
        .map(|c| c.json()["id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(ids, vec![second, third]);
    drop(stream);

    // `since` works as Last-Event-ID does (for clients that are not EventSource).
    let mut stream = Stream::open(&app, &token, &[], &format!("?since={last}")).await;
    stream.next_within(Duration::from_secs(5)).await.expect("ready");
    assert_eq!(stream.change().await.json()["id"].as_str(), Some(ids[0].as_str()));
    drop(stream);

    // A cursor the feed no longer covers: `resync`, then the stream goes on from now.
    app::ssr::changes::prune(&app.state.db, app::ssr::now_ms() + 1).await.expect("prune");
    let mut stream = Stream::open(&app, &token, &[("last-event-id", last.as_str())], "").await;
    let mut first_two = Vec::new();
    for _ in 0..2 {
        first_two.push(stream.next_within(Duration::from_secs(5)).await.expect("an event"));
    }
    let resync = first_two.iter().find(|e| e.event == "resync").expect("resync");
    assert!(first_two.iter().all(|e| e.event != "change"), "{first_two:?}");
    let fourth = add_task(&app, &token, "Fourth").await;
    let change = stream.change().await;
    assert_eq!(change.json()["id"].as_str(), Some(fourth.as_str()));
    assert!(
        change.id.as_deref().and_then(|c| c.parse::<i64>().ok())
            > resync.id.as_deref().and_then(|c| c.parse::<i64>().ok()),
        "the stream goes on after the resync's cursor"
    );
}

async fn a_stream_shows_only_the_kinds_its_scopes_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = user_with_token(&app, "scoped-live@example.org").await;
    let made =
        app.api("POST", "/api/v1/tokens", &owner, Some(json!({"name": "reader", "scopes": "calendar:read"}))).await;
    let reader = made.json()["token"].as_str().expect("token").to_owned();
    let mut stream = Stream::open(&app, &reader, &[], "").await;
    stream.next_within(Duration::from_secs(5)).await.expect("ready");
    add_task(&app, &owner, "Private task").await;
    let event = json!({"title": "Standup", "start": "2030-01-08T09:00:00", "end": "2030-01-08T09:15:00"});
    assert_eq!(app.api("POST", "/api/v1/events", &owner, Some(event)).await.status, 201);
    let change = stream.change().await.json();
    assert_eq!(change["kind"], "event", "the task is not sent to a calendar-only token: {change}");
}

async fn streams_refuse_strangers_bad_cursors_and_too_many_tabs(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "limits-live@example.org").await;
    assert_eq!(app.get("/api/v1/changes/stream").await.status, 401);
    let bad = app
        .send(
            "GET",
            "/api/v1/changes/stream",
            &[("authorization", &format!("Bearer {token}")), ("last-event-id", "yesterday")],
            Vec::new(),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("cursor"), "{}", bad.body);

    let mut open = Vec::new();
    for _ in 0..16 {
        open.push(Stream::open(&app, &token, &[], "").await);
    }
    let refused =
        app.send("GET", "/api/v1/changes/stream", &[("authorization", &format!("Bearer {token}"))], Vec::new()).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    open.pop();
    // A closed stream gives its place back (once the server sees it closed).
    let mut reopened = None;
    for _ in 0..50 {
        let (status, _, body) =
            app.open("/api/v1/changes/stream", &[("authorization", &format!("Bearer {token}"))]).await;
        if status == 200 {
            reopened = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a place came free");
}

/// Two server processes on one PostgreSQL database: a change written through one reaches a
/// stream open on the other within a second (through `NOTIFY`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_process_reaches_a_stream_on_another() {
    if postgres_url().is_none() {
        eprintln!("PostgreSQL run skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let first = spawn_app(Backend::Postgres).await;
    let second = spawn_app_on(&first.url, &[]).await;
    let token = user_with_token(&first, "two-live@example.org").await;
    let mut stream = Stream::open(&second, &token, &[], "").await;
    stream.next_within(Duration::from_secs(5)).await.expect("ready");
    let task = add_task(&first, &token, "Written on the first").await;
    assert_eq!(stream.change().await.json()["id"].as_str(), Some(task.as_str()));
}
