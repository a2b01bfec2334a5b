//! Notion task sync on both databases, against a local fake of Notion's API
//! (scripts/notion_fake.py, version 2025-09-03 with data sources) that the tests script "as a
//! person in Notion": connecting with an integration token, the guessed property mapping, a
//! task with micro-steps round trip both ways, completion (XP once), an edit in the same
//! minute as the last poll, pages trashed on either side, 429 with Retry-After and the
//! pacing, and webhooks that only queue a poll once their signature checks out.

use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::google::{SECRET_KEY, settle, sync_now};
use crate::on_both_backends;
use crate::support::{Backend, Browser, TestApp, form, spawn_app_with};

on_both_backends!(
    a_task_with_steps_round_trips_and_completes_once,
    an_edit_in_the_same_minute_as_the_last_poll_is_not_missed,
    pages_and_tasks_deleted_on_either_side_go_on_the_other,
    notions_rate_limit_is_honoured,
    webhooks_queue_a_poll_only_when_signed,
    a_workspace_connects_by_signing_in_to_notion,
    steps_are_sub_items_when_the_database_has_them,
);

const TOKEN: &str = "ntn_test_integration_secret";

struct NotionFake {
    child: Child,
    port: u16,
}

impl NotionFake {
    async fn start() -> Self {
        let (child, port) = crate::google::start_fake("notion_fake.py").await;
        Self { child, port }
    }

    async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, text) = call(self.port, method, &format!("/_control{path}"), &body.to_string()).await;
        assert!(status < 300, "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn pages(&self, source: &str) -> Vec<Value> {
        self.control("GET", &format!("/pages/{source}"), json!({})).await.as_array().cloned().unwrap_or_default()
    }

    /// The titles of the database's pages not in the trash, in creation order.
    async fn live_titles(&self, source: &str) -> Vec<String> {
        self.pages(source)
            .await
            .iter()
            .filter(|p| p["in_trash"] != true)
            .map(|p| p["properties"]["Name"]["title"][0]["plain_text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn page(&self, source: &str, title: &str) -> Value {
        self.pages(source)
            .await
            .into_iter()
            .find(|p| p["properties"]["Name"]["title"][0]["plain_text"] == title)
            .unwrap_or_else(|| panic!("no page {title} in Notion"))
    }
}

impl Drop for NotionFake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

/// A person with Notion connected and its task database syncing two-way.
async fn connected<'a>(app: &'a TestApp, fake: &NotionFake, email: &str) -> (Browser<'a>, String, String, String) {
    connected_to(app, fake, email, json!({ "token": TOKEN, "title": "Tasks" })).await
}

/// The same with the database `source` describes (the fake's /_control/sources body).
async fn connected_to<'a>(
    app: &'a TestApp,
    fake: &NotionFake,
    email: &str,
    source: Value,
) -> (Browser<'a>, String, String, String) {
    fake.control("POST", "/workspaces", json!({ "token": TOKEN, "name": "Acme", "id": "ws-acme" })).await;
    let source = fake.control("POST", "/sources", source).await["id"].as_str().expect("id").to_owned();
    let browser = app.browser();
    assert_eq!(browser.register(email, "Nia Notion").await.status, 200);
    let token = crate::api::token_of(&browser).await;
    // A wrong token is refused with a message; nothing is stored.
    let reply = browser
        .send(
            "POST",
            "/connections/notion",
            &[("content-type", "application/x-www-form-urlencoded")],
            form(&[("token", "ntn_wrong")]),
        )
        .await;
    assert_eq!(reply.status, 303);
    assert!(reply.header("location").is_some_and(|l| l.contains("err=")), "{:?}", reply.header("location"));
    let reply = browser
        .send(
            "POST",
            "/connections/notion",
            &[("content-type", "application/x-www-form-urlencoded")],
            form(&[("token", TOKEN)]),
        )
        .await;
    assert_eq!(reply.header("location"), Some("/settings/connections?connected=notion"));
    let list = app.api("GET", "/api/v1/connections", &token, None).await.json();
    assert_eq!(list[0]["provider"], "notion");
    assert_eq!(list[0]["account"], "Acme");
    let connection = list[0]["id"].as_str().expect("id").to_owned();
    let database = list[0]["calendars"][0].clone();
    assert_eq!(database["remote_id"], source);
    assert_eq!(database["mode"], "off", "nothing syncs until a database is chosen");
    let id = database["id"].as_str().expect("id").to_owned();
    let reply = app
        .api(
            "PATCH",
            &format!("/api/v1/connections/{connection}/calendars/{id}"),
            &token,
            Some(json!({"mode": "two_way"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle(app).await;
    (browser, token, connection, source)
}

async fn app_with(backend: Backend, fake: &NotionFake) -> TestApp {
    let api = format!("http://127.0.0.1:{}/v1", fake.port);
    spawn_app_with(
        backend,
        &[
            ("CALENTO_SECRET_KEY", SECRET_KEY),
            ("CALENTO_NOTION_API_URL", &api),
            ("CALENTO_GOOGLE_SYNC_SECONDS", "86400"),
        ],
    )
    .await
}

async fn tasks(app: &TestApp, token: &str) -> Vec<Value> {
    // Every task (open, done) with its steps.
    let reply = app.api("GET", "/api/v1/tasks/export.json", token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json().as_array().cloned().unwrap_or_default()
}

async fn task(app: &TestApp, token: &str, title: &str) -> Value {
    tasks(app, token)
        .await
        .into_iter()
        .find(|t| t["title"] == title)
        .unwrap_or_else(|| panic!("no task {title} in Calento"))
}

async fn xp_for(app: &TestApp, task_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM xp_awards WHERE subject_id = $1")
        .bind(task_id)
        .fetch_one(app.state.db.read())
        .await
        .expect("xp")
}

/// A Calento task's steps: (title, status).
fn step_list(task: &Value) -> Vec<(String, String)> {
    task["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (s["title"].as_str().unwrap_or_default().to_owned(), s["status"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn steps_of(page: &Value) -> Vec<(String, bool)> {
    page["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|b| {
            (
                b["to_do"]["rich_text"][0]["plain_text"].as_str().unwrap_or_default().to_owned(),
                b["to_do"]["checked"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

async fn a_task_with_steps_round_trips_and_completes_once(backend: Backend) {
    let fake = NotionFake::start().await;
    let app = app_with(backend, &fake).await;
    let (_browser, token, connection, source) = connected(&app, &fake, "nia@example.org").await;
    // The mapping was guessed from the database's properties.
    let list = app.api("GET", "/api/v1/connections", &token, None).await.json();
    let mapping = &list[0]["calendars"][0]["mapping"];
    assert_eq!(mapping["title"], "Name");
    assert_eq!(mapping["status"], "Status");
    assert_eq!(mapping["done_value"], "Done");
    assert_eq!(mapping["due"], "Due");
    assert_eq!(mapping["priority"], "Priority");
    assert_eq!(mapping["tags"], "Tags");
    assert_eq!(mapping["estimate"], "Estimate");

    // Made in Notion, with to-do blocks: a task with steps in Calento.
    fake.control(
        "POST",
        &format!("/pages/{source}"),
        json!({ "values": { "Name": "Write report", "Status": "Not started", "Due": "2030-01-14", "Priority": "High",
                            "Tags": ["work"], "Estimate": 45 },
                "steps": [["Outline", true], ["Draft", false]] }),
    )
    .await;
    sync_now(&app, &token, &connection).await;
    let report = task(&app, &token, "Write report").await;
    assert_eq!(report["due"], "2030-01-14");
    assert_eq!(report["priority"], 1);
    assert_eq!(report["tags"], json!(["work"]));
    assert_eq!(report["estimate_minutes"], 45);
    assert_eq!(report["status"], "todo");
    let steps = step_list(&report);
    assert_eq!(steps, vec![("Outline".into(), "done".into()), ("Draft".into(), "todo".into())]);

    // Made in Calento with steps: a page with to-do blocks in Notion.
    let reply = app
        .api(
            "POST",
            "/api/v1/tasks",
            &token,
            Some(json!({"title": "Call plumber", "priority": 2, "tags": ["home"],
              "steps": [{"title": "Find number"}, {"title": "Call"}]})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let plumber = reply.json();
    settle(&app).await;
    let page = fake.page(&source, "Call plumber").await;
    assert_eq!(page["properties"]["Priority"]["select"]["name"], "Medium");
    assert_eq!(page["properties"]["Status"]["status"]["name"], "Not started");
    assert_eq!(steps_of(&page), vec![("Find number".into(), false), ("Call".into(), false)]);

    // A step done in Calento is ticked in Notion; one ticked in Notion is done in Calento.
    let find = plumber["steps"][0]["id"].as_str().expect("step").to_owned();
    let reply = app.api("PATCH", &format!("/api/v1/tasks/{find}"), &token, Some(json!({"status": "done"}))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle(&app).await;
    let page = fake.page(&source, "Call plumber").await;
    assert_eq!(steps_of(&page)[0], ("Find number".into(), true));
    let draft = fake.page(&source, "Write report").await["steps"][1]["id"].as_str().expect("block").to_owned();
    let report_page = fake.page(&source, "Write report").await["id"].as_str().expect("id").to_owned();
    let mut check = serde_json::Map::new();
    check.insert(draft.clone(), json!(true));
    fake.control("PATCH", &format!("/pages/{report_page}"), json!({ "check": check, "add_steps": ["Send"] })).await;
    sync_now(&app, &token, &connection).await;
    let report = task(&app, &token, "Write report").await;
    let steps = step_list(&report);
    assert_eq!(
        steps,
        vec![("Outline".into(), "done".into()), ("Draft".into(), "done".into()), ("Send".into(), "todo".into())]
    );

    // Completed in Calento: done in Notion, XP once, also after the echo comes back.
    let id = plumber["id"].as_str().expect("id");
    let reply = app.api("PATCH", &format!("/api/v1/tasks/{id}"), &token, Some(json!({"status": "done"}))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle(&app).await;
    assert_eq!(fake.page(&source, "Call plumber").await["properties"]["Status"]["status"]["name"], "Done");
    sync_now(&app, &token, &connection).await;
    assert_eq!(task(&app, &token, "Call plumber").await["status"], "done");
    assert_eq!(xp_for(&app, id).await, 1);
    // Completed in Notion: done in Calento, XP once however many polls read it.
    fake.control("PATCH", &format!("/pages/{report_page}"), json!({ "values": { "Status": "Done" } })).await;
    sync_now(&app, &token, &connection).await;
    sync_now(&app, &token, &connection).await;
    let report = task(&app, &token, "Write report").await;
    assert_eq!(report["status"], "done");
    assert_eq!(xp_for(&app, report["id"].as_str().expect("id")).await, 1);
    // Nothing was made twice on either side.
    assert_eq!(fake.pages(&source).await.len(), 2);
    assert_eq!(tasks(&app, &token).await.iter().filter(|t| t["parent_id"].is_null()).count(), 2);
}

async fn an_edit_in_the_same_minute_as_the_last_poll_is_not_missed(backend: Backend) {
    let fake = NotionFake::start().await;
    let app = app_with(backend, &fake).await;
    let (_browser, token, connection, source) = connected(&app, &fake, "min@example.org").await;
    // Notion's clock stays in one minute for this test, as it does for edits made quickly.
    fake.control("POST", "/settings", json!({ "clock": "2030-01-14T10:00:00.000Z" })).await;
    let page = fake.control("POST", &format!("/pages/{source}"), json!({ "values": { "Name": "Plan trip" } })).await;
    sync_now(&app, &token, &connection).await;
    assert_eq!(task(&app, &token, "Plan trip").await["priority"], 4);
    // Edited again within the same minute: its last_edited_time does not move (Notion rounds
    // it to the minute), yet the next poll finds it.
    let id = page["id"].as_str().expect("id");
    fake.control("PATCH", &format!("/pages/{id}"), json!({ "values": { "Priority": "Low", "Name": "Plan the trip" } }))
        .await;
    sync_now(&app, &token, &connection).await;
    let found = task(&app, &token, "Plan the trip").await;
    assert_eq!(found["priority"], 3);
    // The polls asked for pages edited since two minutes before the last one seen.
    let (_, log) = call(fake.port, "GET", "/_control/log", "").await;
    let log: Vec<Value> = serde_json::from_str(&log).expect("log");
    let queries: Vec<&Value> =
        log.iter().filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/query"))).collect();
    let since =
        queries.last().expect("a query")["body"]["filter"]["last_edited_time"]["on_or_after"].as_str().expect("since");
    let seen = fake.page(&source, "Plan the trip").await["last_edited_time"].as_str().expect("time").to_owned();
    let since = chrono::DateTime::parse_from_rfc3339(since).expect("since");
    let seen = chrono::DateTime::parse_from_rfc3339(&seen).expect("seen");
    assert_eq!(seen - since, chrono::Duration::minutes(2), "{since} / {seen}");
}

async fn pages_and_tasks_deleted_on_either_side_go_on_the_other(backend: Backend) {
    let fake = NotionFake::start().await;
    let app = app_with(backend, &fake).await;
    let (_browser, token, connection, source) = connected(&app, &fake, "del@example.org").await;
    let page = fake.control("POST", &format!("/pages/{source}"), json!({ "values": { "Name": "Old chore" } })).await;
    let reply = app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Stale idea"}))).await;
    let stale = reply.json()["id"].as_str().expect("id").to_owned();
    sync_now(&app, &token, &connection).await;
    assert_eq!(fake.pages(&source).await.len(), 2);
    // Deleted in Calento: in Notion's trash.
    assert_eq!(app.api("DELETE", &format!("/api/v1/tasks/{stale}"), &token, None).await.status, 204);
    settle(&app).await;
    let left = fake.live_titles(&source).await;
    assert_eq!(left, vec!["Old chore".to_owned()]);
    // Trashed in Notion: queries no longer return it; the hourly full listing notices.
    let id = page["id"].as_str().expect("id");
    fake.control("PATCH", &format!("/pages/{id}"), json!({ "in_trash": true })).await;
    sqlx::query("UPDATE remote_calendars SET synced_at = $1")
        .bind(app::ssr::now_ms() - 3_600_000)
        .execute(app.state.db.write())
        .await
        .expect("an hour ago");
    sync_now(&app, &token, &connection).await;
    assert!(tasks(&app, &token).await.iter().all(|t| t["title"] != "Old chore"));
}

async fn notions_rate_limit_is_honoured(backend: Backend) {
    let fake = NotionFake::start().await;
    let app = app_with(backend, &fake).await;
    let (_browser, token, connection, source) = connected(&app, &fake, "rate@example.org").await;
    for i in 0..6 {
        fake.control(
            "POST",
            &format!("/pages/{source}"),
            json!({ "values": { "Name": format!("Task {i}") },
                                                                  "steps": [["a", false], ["b", false]] }),
        )
        .await;
    }
    fake.control("POST", "/fail", json!({ "method": "POST", "path": "/query", "status": 429, "retry_after": 2 })).await;
    let asked = Instant::now();
    sync_now(&app, &token, &connection).await;
    let list = app.api("GET", "/api/v1/connections", &token, None).await.json();
    assert!(
        list[0]["calendars"][0]["error"].as_str().is_some_and(|e| e.contains("Notion asked to slow down")),
        "{list}"
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let list = app.api("GET", "/api/v1/connections", &token, None).await.json();
        if list[0]["calendars"][0]["error"].is_null() && tasks(&app, &token).await.len() >= 6 {
            break;
        }
        assert!(Instant::now() < deadline, "no successful retry: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(asked.elapsed() >= Duration::from_secs(2));
    // Never more than three calls in any second: the fake's 429 for bursts never fired.
    let (_, log) = call(fake.port, "GET", "/_control/log", "").await;
    let log: Vec<Value> = serde_json::from_str(&log).expect("log");
    let times: Vec<f64> = log
        .iter()
        .filter(|r| TOKEN.starts_with(r["token"].as_str().unwrap_or("-")))
        .filter_map(|r| r["at"].as_f64())
        .collect();
    for (i, t) in times.iter().enumerate() {
        let within = times[i..].iter().take_while(|u| **u - t < 1.0).count();
        assert!(within <= 3, "{within} calls within a second at {t}");
    }
}

fn sign(secret: &str, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body.as_bytes());
    format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

async fn webhooks_queue_a_poll_only_when_signed(backend: Backend) {
    let fake = NotionFake::start().await;
    let app = app_with(backend, &fake).await;
    let (browser, _token, _connection, _source) = connected(&app, &fake, "hook@example.org").await;
    let post = |body: String, signature: Option<String>| {
        let app = &app;
        async move {
            let mut headers = vec![("content-type", "application/json")];
            let signature = signature.unwrap_or_default();
            if !signature.is_empty() {
                headers.push(("x-notion-signature", signature.as_str()));
            }
            app.send("POST", "/connections/notion/webhook", &headers, body.into_bytes()).await.status
        }
    };
    // Before verification, events are refused.
    let event = json!({ "type": "page.properties_updated", "workspace_id": "ws-acme", "entity": { "id": "x", "type": "page" } })
        .to_string();
    assert_eq!(post(event.clone(), Some(sign("anything", &event))).await, 403);
    // Notion's verification request: the token is kept and shown to the administrator.
    assert_eq!(post(json!({ "verification_token": "secret_verify_123" }).to_string(), None).await, 200);
    let page = browser.call("load_connections", &[]).await.json();
    assert_eq!(page["notion_webhook_token"], "secret_verify_123", "the first account administers the instance");
    let queued = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'google_sync' AND status = 'queued'")
            .fetch_one(app.state.db.read())
            .await
            .expect("jobs");
        n
    };
    settle(&app).await;
    assert_eq!(post(event.clone(), Some(sign("wrong", &event))).await, 403);
    assert_eq!(post(event.clone(), None).await, 403);
    assert_eq!(queued().await, 0, "nothing queued by unsigned or wrongly signed events");
    assert_eq!(post(event.clone(), Some(sign("secret_verify_123", &event))).await, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let polled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'google_sync'")
            .fetch_one(app.state.db.read())
            .await
            .expect("jobs");
        if polled >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the signed event queued no poll");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_workspace_connects_by_signing_in_to_notion(backend: Backend) {
    let fake = NotionFake::start().await;
    let api = format!("http://127.0.0.1:{}/v1", fake.port);
    let app = spawn_app_with(
        backend,
        &[
            ("CALENTO_SECRET_KEY", SECRET_KEY),
            ("CALENTO_NOTION_API_URL", &api),
            ("CALENTO_NOTION_CLIENT_ID", "calento-public-integration"),
            ("CALENTO_NOTION_CLIENT_SECRET", "notion-client-secret"),
        ],
    )
    .await;
    fake.control("POST", "/workspaces", json!({ "token": "ntn_owner", "name": "Globex", "id": "ws-globex" })).await;
    let source = fake.control("POST", "/sources", json!({ "token": "ntn_owner", "title": "Team tasks" })).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A newer public integration: access tokens expire and come with a refresh token.
    fake.control("POST", "/settings", json!({ "refresh_tokens": true, "expires_in": 3600 })).await;
    let browser = app.browser();
    assert_eq!(browser.register("oauth@example.org", "Olga OAuth").await.status, 200);
    let token = crate::api::token_of(&browser).await;
    let page = browser.call("load_connections", &[]).await.json();
    assert_eq!(page["notion_sign_in"], true);
    let start = browser.get("/connections/notion/start").await;
    assert_eq!(start.status, 303, "{}", start.body);
    let consent = url::Url::parse(start.header("location").expect("to Notion")).expect("URL");
    let mut fields: Vec<(String, String)> = consent.query_pairs().into_owned().collect();
    assert!(fields.iter().any(|(k, v)| k == "owner" && v == "user"));
    fields.push(("workspace".into(), "Globex".into()));
    fields.push(("decision".into(), "allow".into()));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let body = String::from_utf8(form(&pairs)).expect("form");
    let approved = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", fake.port)).await.expect("connect");
        let request = format!(
            "POST /v1/oauth/approve HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        answer
    };
    let location =
        approved.lines().find_map(|l| l.strip_prefix("Location: ")).expect("back to Calento").trim().to_owned();
    let back = url::Url::parse(&location).expect("callback");
    let done = browser.get(&format!("{}?{}", back.path(), back.query().unwrap_or_default())).await;
    assert_eq!(done.header("location"), Some("/settings/connections?connected=notion"), "{}", done.body);
    let list = app.api("GET", "/api/v1/connections", &token, None).await.json();
    assert_eq!(list[0]["provider"], "notion");
    assert_eq!(list[0]["account"], "Globex");
    assert_eq!(list[0]["calendars"][0]["name"], "Team tasks");
    let sealed: String = sqlx::query_scalar("SELECT access_secret FROM connections")
        .fetch_one(app.state.db.read())
        .await
        .expect("token");
    assert!(sealed.starts_with("v1.") && !sealed.contains("ntn_"), "sealed at rest");
    // A replayed callback (the state was spent) connects nothing more.
    let replay = browser.get(&format!("{}?{}", back.path(), back.query().unwrap_or_default())).await;
    assert!(replay.header("location").is_some_and(|l| l.contains("err=")));

    // The refresh token is sealed too; when Notion stops taking the access token, Calento
    // renews it (Notion rotates both) and the sync goes on.
    let refresh_before: String = sqlx::query_scalar("SELECT refresh_secret FROM connections")
        .fetch_one(app.state.db.read())
        .await
        .expect("refresh");
    assert!(refresh_before.starts_with("v1.") && !refresh_before.contains("nrt_"), "sealed at rest");
    let connection = list[0]["id"].as_str().expect("id").to_owned();
    let database = list[0]["calendars"][0]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/connections/{connection}/calendars/{database}");
    assert_eq!(app.api("PATCH", &path, &token, Some(json!({"mode": "two_way"}))).await.status, 200);
    settle(&app).await;
    fake.control("POST", "/expire", json!({ "workspace": "Globex" })).await;
    fake.control("POST", &format!("/pages/{source}"), json!({ "values": { "Name": "Renew the lease" } })).await;
    sync_now(&app, &token, &connection).await;
    assert_eq!(task(&app, &token, "Renew the lease").await["status"], "todo");
    let list = app.api("GET", "/api/v1/connections", &token, None).await.json();
    assert_eq!(list[0]["status"], "ok", "{list}");
    assert!(list[0]["calendars"][0]["error"].is_null(), "{list}");
    let refresh_after: String = sqlx::query_scalar("SELECT refresh_secret FROM connections")
        .fetch_one(app.state.db.read())
        .await
        .expect("refresh");
    assert_ne!(refresh_after, refresh_before, "the rotated refresh token is kept");
    // Both refused: "reconnect", not silence.
    fake.control("POST", "/expire", json!({ "workspace": "Globex", "refresh": true })).await;
    sync_now(&app, &token, &connection).await;
    let list = app.api("GET", "/api/v1/connections", &token, None).await.json();
    assert_eq!(list[0]["status"], "reconnect", "{list}");
}

/// The sub-item pages of a page in Notion (not trashed): (title, status), in creation order.
async fn sub_items(fake: &NotionFake, source: &str, page_id: &str) -> Vec<(String, String)> {
    fake.pages(source)
        .await
        .iter()
        .filter(|p| p["in_trash"] != true)
        .filter(|p| {
            p["properties"]["Parent item"]["relation"].as_array().is_some_and(|r| r.iter().any(|r| r["id"] == page_id))
        })
        .map(|p| {
            (
                p["properties"]["Name"]["title"][0]["plain_text"].as_str().unwrap_or_default().to_owned(),
                p["properties"]["Status"]["status"]["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn steps_are_sub_items_when_the_database_has_them(backend: Backend) {
    let fake = NotionFake::start().await;
    let app = app_with(backend, &fake).await;
    let (_browser, token, connection, source) =
        connected_to(&app, &fake, "sub@example.org", json!({ "token": TOKEN, "title": "Projects", "sub_items": true }))
            .await;
    let list = app.api("GET", "/api/v1/connections", &token, None).await.json();
    assert_eq!(list[0]["calendars"][0]["mapping"]["parent"], "Parent item", "{list}");

    // Made in Notion: a page with two sub-items is one task with two steps, not three tasks.
    let pages = format!("/pages/{source}");
    let plan = fake.control("POST", &pages, json!({ "values": { "Name": "Plan move", "Due": "2030-02-01" } })).await;
    let plan_id = plan["id"].as_str().expect("id").to_owned();
    fake.control(
        "POST",
        &pages,
        json!({ "values": { "Name": "Book van", "Status": "Done", "Parent item": [plan_id] } }),
    )
    .await;
    let pack =
        fake.control("POST", &pages, json!({ "values": { "Name": "Pack books", "Parent item": [plan_id] } })).await;
    sync_now(&app, &token, &connection).await;
    let moving = task(&app, &token, "Plan move").await;
    assert_eq!(step_list(&moving), vec![("Book van".into(), "done".into()), ("Pack books".into(), "todo".into())]);
    let roots = || async { tasks(&app, &token).await.iter().filter(|t| t["parent_id"].is_null()).count() };
    assert_eq!(roots().await, 1, "sub-items are steps, not tasks of their own");

    // Made in Calento with steps: a page, and a sub-item page per step pointing at it.
    let reply = app
        .api(
            "POST",
            "/api/v1/tasks",
            &token,
            Some(json!({"title": "Tax return", "steps": [{"title": "Gather receipts"}, {"title": "File"}]})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let tax = reply.json();
    settle(&app).await;
    let page = fake.page(&source, "Tax return").await;
    let page_id = page["id"].as_str().expect("id").to_owned();
    assert_eq!(
        sub_items(&fake, &source, &page_id).await,
        vec![("Gather receipts".into(), "Not started".into()), ("File".into(), "Not started".into())]
    );
    assert_eq!(page["steps"], json!([]), "no to-do blocks as well");
    let page = fake.page(&source, "Tax return").await;
    assert_eq!(page["properties"]["Sub-item"]["relation"].as_array().map(Vec::len), Some(2));

    // A step done in Calento is done in Notion; renamed and added in Notion, in Calento.
    let gather = tax["steps"][0]["id"].as_str().expect("step").to_owned();
    let reply = app.api("PATCH", &format!("/api/v1/tasks/{gather}"), &token, Some(json!({"status": "done"}))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle(&app).await;
    assert_eq!(sub_items(&fake, &source, &page_id).await[0], ("Gather receipts".into(), "Done".into()));
    let pack_id = pack["id"].as_str().expect("id");
    fake.control("PATCH", &format!("/pages/{pack_id}"), json!({ "values": { "Name": "Pack all books" } })).await;
    fake.control("POST", &pages, json!({ "values": { "Name": "Return keys", "Parent item": [plan_id] } })).await;
    sync_now(&app, &token, &connection).await;
    let moving = task(&app, &token, "Plan move").await;
    assert_eq!(
        step_list(&moving),
        vec![
            ("Book van".into(), "done".into()),
            ("Pack all books".into(), "todo".into()),
            ("Return keys".into(), "todo".into())
        ]
    );
    assert_eq!(roots().await, 2);

    // A sub-item trashed in Notion: the step goes (the hourly full listing notices).
    fake.control("PATCH", &format!("/pages/{pack_id}"), json!({ "in_trash": true })).await;
    sqlx::query("UPDATE remote_calendars SET synced_at = $1")
        .bind(app::ssr::now_ms() - 3_600_000)
        .execute(app.state.db.write())
        .await
        .expect("an hour ago");
    sync_now(&app, &token, &connection).await;
    let moving = task(&app, &token, "Plan move").await;
    assert_eq!(step_list(&moving), vec![("Book van".into(), "done".into()), ("Return keys".into(), "todo".into())]);

    // A task deleted in Calento: its page and its sub-items go to Notion's trash.
    let id = tax["id"].as_str().expect("id");
    assert_eq!(app.api("DELETE", &format!("/api/v1/tasks/{id}"), &token, None).await.status, 204);
    settle(&app).await;
    let live = fake.live_titles(&source).await;
    assert_eq!(live, vec!["Plan move", "Book van", "Return keys"]);
}
