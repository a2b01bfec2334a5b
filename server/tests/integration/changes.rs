//! The change feed: `GET /api/v1/changes` pages through what changed, in order, with cursors;
//! bad cursors are refused and old ones expire; scopes filter kinds; each calendar's
//! revision grows with its events; reactions run as jobs; and several server processes on
//! one PostgreSQL database hear each other's changes and jobs.

use std::time::Duration;

use serde_json::{Value, json};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, postgres_url, spawn_app, spawn_app_on};

on_both_backends!(
    the_feed_lists_every_change_in_order_with_cursors,
    bad_cursors_are_refused_and_pruned_ones_expire,
    each_credential_sees_only_the_kinds_its_scopes_read,
    a_calendar_revision_grows_with_each_write_of_its_events,
    busy_time_changes_replan_blocks_through_a_job,
    the_pruning_job_drops_old_changes_and_queues_its_next_run,
);

async fn feed(app: &TestApp, token: &str, query: &str) -> Value {
    let reply = app.api("GET", &format!("/api/v1/changes{query}"), token, None).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    reply.json()
}

fn summary(page: &Value) -> Vec<(String, String)> {
    page["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| (c["kind"].as_str().unwrap_or("").to_owned(), c["op"].as_str().unwrap_or("").to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, o)| ((*k).to_owned(), (*o).to_owned())).collect()
}

async fn the_feed_lists_every_change_in_order_with_cursors(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "feed@example.org").await;
    let start = feed(&app, &token, "").await;
    assert_eq!(start["changes"], json!([]), "without since: no changes, only where to start");
    assert_eq!(start["more"], false);
    let cursor = start["cursor"].as_str().expect("cursor").to_owned();

    let calendar = app.api("POST", "/api/v1/calendars", &token, Some(json!({"name": "Work"}))).await.json();
    let calendar_id = calendar["id"].as_str().expect("id").to_owned();
    let event = json!({"calendar_id": calendar_id, "title": "Standup", "start": "2030-01-07T09:00:00", "end": "2030-01-07T09:15:00"});
    let event = app.api("POST", "/api/v1/events", &token, Some(event)).await.json();
    let event_id = event["id"].as_str().expect("id").to_owned();
    let patched = app.api("PATCH", &format!("/api/v1/events/{event_id}"), &token, Some(json!({"title": "Sync"}))).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(app.api("DELETE", &format!("/api/v1/events/{event_id}"), &token, None).await.status, 204);
    let task =
        app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Write", "steps": [{"title": "Open"}]}))).await;
    assert_eq!(task.status, 201, "{}", task.body);

    let page = feed(&app, &token, &format!("?since={cursor}")).await;
    assert_eq!(
        summary(&page),
        pairs(&[
            ("calendar", "created"),
            ("event", "created"),
            ("event", "updated"),
            ("event", "deleted"),
            ("task", "created"),
            ("task", "created"),
        ])
    );
    let changes = page["changes"].as_array().expect("changes");
    assert_eq!(changes[1]["id"], event_id.as_str());
    assert_eq!(changes[1]["calendar_id"], calendar_id.as_str(), "events name their calendar");
    assert!(changes[4].get("calendar_id").is_none(), "tasks have no calendar");
    let cursors: Vec<u64> =
        changes.iter().map(|c| c["cursor"].as_str().expect("cursor").parse().expect("number")).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "cursors grow: {cursors:?}");
    assert_eq!(page["more"], false);
    assert_eq!(page["cursor"], changes[5]["cursor"], "the page ends where its last change is");
    assert_eq!(
        feed(&app, &token, &format!("?since={}", page["cursor"].as_str().expect("c"))).await["changes"],
        json!([])
    );

    // Paging: two at a time, resuming from each page's cursor, gives the same list.
    let mut seen = Vec::new();
    let mut at = cursor.clone();
    for _ in 0..10 {
        let page = feed(&app, &token, &format!("?since={at}&limit=2")).await;
        seen.extend(summary(&page));
        at = page["cursor"].as_str().expect("cursor").to_owned();
        if page["more"] == false {
            break;
        }
        assert_eq!(page["changes"].as_array().map(Vec::len), Some(2));
    }
    assert_eq!(seen, summary(&feed(&app, &token, &format!("?since={cursor}")).await));
}

async fn bad_cursors_are_refused_and_pruned_ones_expire(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "cursor@example.org").await;
    for bad in ["abc", "-1", "1.5", "%20", "99999999999999999999"] {
        let reply = app.api("GET", &format!("/api/v1/changes?since={bad}"), &token, None).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
    }
    for bad in ["0", "1001", "x"] {
        let reply = app.api("GET", &format!("/api/v1/changes?limit={bad}"), &token, None).await;
        assert_eq!(reply.status, 422, "limit {bad}: {}", reply.body);
        assert_eq!(reply.json()["fields"][0]["field"], "limit");
    }
    let old = feed(&app, &token, "").await["cursor"].as_str().expect("cursor").to_owned();
    let future = app.api("GET", "/api/v1/changes?since=999999", &token, None).await;
    assert_eq!(future.status, 410, "a cursor this server never gave: {}", future.body);
    assert_eq!(future.json()["code"], "cursor_expired");

    app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "One"}))).await;
    assert_eq!(feed(&app, &token, &format!("?since={old}")).await["changes"].as_array().map(Vec::len), Some(1));
    // Pruning everything written so far: the old cursor has lost a change and must resync.
    let pruned = app::ssr::changes::prune(&app.state.db, app::ssr::now_ms() + 1).await.expect("prune");
    assert!(pruned >= 2, "{pruned}");
    let expired = app.api("GET", &format!("/api/v1/changes?since={old}"), &token, None).await;
    assert_eq!(expired.status, 410, "{}", expired.body);
    assert_eq!(expired.json()["code"], "cursor_expired");
    // Starting again from the current cursor works, and sees what comes next.
    let now = feed(&app, &token, "").await["cursor"].as_str().expect("cursor").to_owned();
    assert_eq!(feed(&app, &token, &format!("?since={now}")).await["changes"], json!([]));
    app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Two"}))).await;
    assert_eq!(summary(&feed(&app, &token, &format!("?since={now}")).await), pairs(&[("task", "created")]));
}

async fn each_credential_sees_only_the_kinds_its_scopes_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = user_with_token(&app, "kinds@example.org").await;
    let scoped = |scopes: &'static str| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let made = app.api("POST", "/api/v1/tokens", &owner, Some(json!({"name": scopes, "scopes": scopes}))).await;
            made.json()["token"].as_str().expect("token").to_owned()
        }
    };
    let calendar_reader = scoped("calendar:read").await;
    let task_reader = scoped("tasks:read").await;
    let start = feed(&app, &owner, "").await["cursor"].as_str().expect("cursor").to_owned();
    let event = json!({"title": "Lunch", "start": "2030-01-07T12:00:00", "end": "2030-01-07T13:00:00"});
    assert_eq!(app.api("POST", "/api/v1/events", &owner, Some(event)).await.status, 201);
    assert_eq!(app.api("POST", "/api/v1/tasks", &owner, Some(json!({"title": "Read"}))).await.status, 201);
    let schedule = json!({"name": "Hours", "timezone": "UTC", "rules": []});
    assert_eq!(app.api("POST", "/api/v1/availability/schedules", &owner, Some(schedule)).await.status, 201);

    let everything = summary(&feed(&app, &owner, &format!("?since={start}")).await);
    assert_eq!(everything, pairs(&[("event", "created"), ("task", "created"), ("schedule", "created")]));
    assert_eq!(
        summary(&feed(&app, &calendar_reader, &format!("?since={start}")).await),
        pairs(&[("event", "created")])
    );
    let tasks_page = feed(&app, &task_reader, &format!("?since={start}")).await;
    assert_eq!(summary(&tasks_page), pairs(&[("task", "created")]));
    // A filtered page still ends at the feed's end, so the next read starts after it all.
    assert_eq!(tasks_page["cursor"], feed(&app, &owner, "").await["cursor"]);
}

async fn a_calendar_revision_grows_with_each_write_of_its_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "rev@example.org").await;
    let db = &app.state.db;
    let revision = |id: String| async move { app::ssr::changes::calendar_revision(db, &id).await.expect("read") };
    let make = |name: &str| {
        let app = &app;
        let token = token.clone();
        let body = json!({"name": name});
        async move {
            app.api("POST", "/api/v1/calendars", &token, Some(body)).await.json()["id"].as_str().expect("id").to_owned()
        }
    };
    let work = make("Work").await;
    let home = make("Home").await;
    let (work_0, home_0) = (revision(work.clone()).await.expect("work"), revision(home.clone()).await.expect("home"));
    let event = json!({"calendar_id": work, "title": "Weekly", "start": "2030-01-07T09:00:00", "end": "2030-01-07T10:00:00", "rrule": "FREQ=WEEKLY;COUNT=5"});
    let event = app.api("POST", "/api/v1/events", &token, Some(event)).await.json();
    let id = event["id"].as_str().expect("id").to_owned();
    assert_eq!(revision(work.clone()).await, Some(work_0 + 1), "one write, one new revision");
    assert_eq!(revision(home.clone()).await, Some(home_0), "another calendar is untouched");
    // Moving one occurrence writes an exception: the series' calendar moves on again.
    let moved = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{id}?scope=this&recurrence_id=2030-01-14T09:00:00"),
            &token,
            Some(json!({"title": "Moved"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(revision(work.clone()).await, Some(work_0 + 2));
    // Moving the series to the other calendar changes both.
    let patch = json!({"calendar_id": home});
    assert_eq!(app.api("PATCH", &format!("/api/v1/events/{id}"), &token, Some(patch)).await.status, 200);
    assert_eq!(revision(work.clone()).await, Some(work_0 + 3));
    assert_eq!(revision(home.clone()).await, Some(home_0 + 1));
    let start = feed(&app, &token, "").await["cursor"].as_str().expect("cursor").to_owned();
    let import = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:a@t\r\nDTSTART:20300101T100000Z\r\nDTEND:20300101T110000Z\r\nSUMMARY:A\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b@t\r\nDTSTART:20300102T100000Z\r\nDTEND:20300102T110000Z\r\nSUMMARY:B\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let reply = app
        .send(
            "POST",
            &format!("/api/v1/calendars/{work}/import"),
            &[("authorization", &format!("Bearer {token}")), ("content-type", "text/calendar")],
            import.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(revision(work.clone()).await, Some(work_0 + 4), "an import of two events is one write");
    assert_eq!(
        summary(&feed(&app, &token, &format!("?since={start}")).await),
        pairs(&[("event", "created"), ("event", "created")])
    );
}

async fn busy_time_changes_replan_blocks_through_a_job(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "replan@example.org").await;
    let task =
        app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Deep work", "estimate_minutes": 60}))).await;
    let task_id = task.json()["id"].as_str().expect("id").to_owned();
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let day = start.format("%Y-%m-%d").to_string();
    let block = json!({"start": format!("{day}T10:00:00"), "end": format!("{day}T11:00:00")});
    let placed = app.api("POST", &format!("/api/v1/tasks/{task_id}/blocks"), &token, Some(block)).await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let block_event = placed.json()["event_id"].as_str().expect("event").to_owned();
    // A meeting lands on the block: the write enqueues a re-planning job in its transaction.
    let meeting = json!({"title": "Meeting", "start": format!("{day}T10:00:00"), "end": format!("{day}T11:00:00")});
    assert_eq!(app.api("POST", "/api/v1/events", &token, Some(meeting)).await.status, 201);
    let jobs = app::ssr::jobs::list_jobs(&app.state.db, None).await.expect("jobs");
    assert!(
        jobs.iter().any(|j| j.kind == app::ssr::planning::REPLAN_JOB),
        "a replan job is in the admin list: {:?}",
        jobs.iter().map(|j| &j.kind).collect::<Vec<_>>()
    );
    // The worker moves the block away from the meeting.
    let mut moved = false;
    for _ in 0..100 {
        if app.api("GET", &format!("/api/v1/events/{block_event}"), &token, None).await.status == 404 {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(moved, "the block under the meeting was re-planned");
    let blocks = app.api("GET", &format!("/api/v1/tasks/{task_id}"), &token, None).await;
    assert_eq!(blocks.status, 200);
}

/// Two server processes on one PostgreSQL database: a job enqueued through one is run by the
/// other within a second (its worker polls once a minute here, so only `NOTIFY` can wake it),
/// and a change written through one is announced on the other's bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_hears_jobs_and_changes_through_notify() {
    if postgres_url().is_none() {
        eprintln!("PostgreSQL run skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let first = spawn_app(Backend::Postgres).await;
    let second = spawn_app_on(&first.url, &[]).await;
    let (ran_tx, mut ran_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let handlers = app::ssr::jobs::Handlers::new().add("probe", move |_, payload| {
        let ran = ran_tx.clone();
        async move {
            let _ = ran.send(payload["n"].as_str().unwrap_or_default().to_owned());
            Ok(())
        }
    });
    let options = app::ssr::jobs::WorkerOptions { poll_every: Duration::from_secs(60), ..Default::default() };
    let worker = app::ssr::jobs::spawn_worker_with(second.state.db.clone(), handlers, options);
    // The second worker's first look finds nothing; give it a moment to go to sleep.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut announced = second.state.db.bus().subscribe();

    let mut write = app::ssr::changes::begin_unowned(&first.state.db).await.expect("begin");
    app::ssr::jobs::enqueue(&mut write, "probe", &json!({"n": "one"}), app::ssr::now_ms()).await.expect("enqueue");
    write.commit().await.expect("commit");
    let ran = tokio::time::timeout(Duration::from_secs(1), ran_rx.recv()).await;
    assert_eq!(ran.ok().flatten().as_deref(), Some("one"), "the other process ran the job within a second");

    let token = user_with_token(&first, "two@example.org").await;
    assert_eq!(first.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Seen"}))).await.status, 201);
    let me = first.api("GET", "/api/v1/me", &token, None).await.json();
    let user_id = me["id"].as_str().expect("id").to_owned();
    let cursor: i64 = feed(&first, &token, "").await["cursor"].as_str().expect("cursor").parse().expect("number");
    let heard = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match announced.recv().await {
                Ok(news) if news.user_id == user_id && news.seq == cursor => return true,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return false,
            }
        }
    })
    .await;
    assert_eq!(heard, Ok(true), "the second process heard the first one's change");
    worker.shutdown(Duration::from_secs(1)).await;
}

async fn the_pruning_job_drops_old_changes_and_queues_its_next_run(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "prune@example.org").await;
    let db = &app.state.db;
    let old = feed(&app, &token, "").await["cursor"].as_str().expect("cursor").to_owned();
    assert_eq!(app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Old"}))).await.status, 201);
    // Forty days pass for what is written so far.
    sqlx::query("UPDATE changes SET at = at - $1").bind(40 * 86_400_000_i64).execute(db.write()).await.expect("age");
    let recent = feed(&app, &token, "").await["cursor"].as_str().expect("cursor").to_owned();
    assert_eq!(app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "New"}))).await.status, 201);

    // Finished jobs as old go too; a dead one stays for the admin page.
    for (id, status) in [("oldjob1", "done"), ("oldjob2", "dead"), ("newjob1", "done")] {
        let at = if id.starts_with("old") { app::ssr::now_ms() - 40 * 86_400_000 } else { app::ssr::now_ms() };
        sqlx::query(
            "INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
             VALUES ($1, 'send_email', '{}', $2, 1, 1, $3, $3, $3)",
        )
        .bind(id)
        .bind(status)
        .bind(at)
        .execute(db.write())
        .await
        .expect("job");
    }
    app::ssr::upkeep::run_pruning(db, 30).await.expect("prune");
    let left: Vec<String> =
        sqlx::query_scalar("SELECT id FROM jobs WHERE id IN ('oldjob1', 'oldjob2', 'newjob1') ORDER BY id")
            .fetch_all(db.read())
            .await
            .expect("jobs");
    assert_eq!(left, vec!["newjob1".to_owned(), "oldjob2".to_owned()]);
    let expired = app.api("GET", &format!("/api/v1/changes?since={old}"), &token, None).await;
    assert_eq!(expired.status, 410, "{}", expired.body);
    assert_eq!(
        summary(&feed(&app, &token, &format!("?since={recent}")).await),
        pairs(&[("task", "created")]),
        "what is younger than the retention stays"
    );
    // The next run is queued an hour on, once however often it is scheduled.
    app::ssr::upkeep::schedule_pruning(db, app::ssr::now_ms()).await.expect("schedule");
    let queued: Vec<_> = app::ssr::jobs::list_jobs(db, Some("queued"))
        .await
        .expect("jobs")
        .into_iter()
        .filter(|j| j.kind == app::ssr::upkeep::PRUNE_JOB)
        .collect();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert!(queued[0].run_at > app::ssr::now_ms() + 3_000_000, "an hour on: {}", queued[0].run_at);
}
