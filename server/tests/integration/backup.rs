//! Instance backup and restore (`server::backup`, the `backup` and `restore` commands): a
//! seeded instance restored into SQLite or PostgreSQL serves what it served before, a backup
//! taken during writes is one consistent moment, and what must be refused is refused.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::Digest;

use crate::api::user_with_token;
use crate::authz::objects_of_a;
use crate::booking::Host;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, fresh_database, postgres_url, spawn_app, spawn_app_on};

on_both_backends!(
    a_restored_instance_serves_what_the_original_did,
    a_backup_taken_during_writes_is_one_consistent_moment,
    damaged_newer_and_misplaced_restores_are_refused_and_change_nothing,
    scheduled_backups_run_as_jobs_keep_the_newest_and_report_on_the_admin_page_and_metrics,
);

/// SQLite → PostgreSQL: the way out when an instance outgrows SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_instance_moves_to_postgresql() {
    if postgres_url().is_none() {
        eprintln!("PostgreSQL run skipped: TEST_DATABASE_URL is not set");
        return;
    }
    round_trip(Backend::Sqlite, Backend::Postgres).await;
}

async fn a_restored_instance_serves_what_the_original_did(backend: Backend) {
    round_trip(backend, backend).await;
}

fn folder() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calento-backup-{}", app::ssr::new_id().to_lowercase()));
    std::fs::create_dir_all(&dir).expect("folder");
    dir
}

/// The seed: everything user A owns (calendars, an event, a schedule, a link and a booking,
/// tasks, a template, focus, a reward, tokens, sessions, an app, a connection), a weekly
/// series with a moved and a cancelled occurrence, micro-steps four levels deep, and a
/// second account.
async fn seed(app: &TestApp) -> Host {
    let (_, host) = objects_of_a(app).await;
    let t = &host.token;
    let series = app
        .api(
            "POST",
            "/api/v1/events",
            t,
            Some(json!({"title": "Standup", "start": "2030-03-04T09:00", "end": "2030-03-04T09:30",
                        "time_zone": "America/New_York", "rrule": "FREQ=WEEKLY;COUNT=6"})),
        )
        .await;
    assert_eq!(series.status, 201, "{}", series.body);
    let id = series.json()["id"].as_str().expect("id").to_owned();
    let moved = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{id}?scope=this&recurrence_id=2030-03-18T13:00:00Z"),
            t,
            Some(json!({"title": "Standup (late)", "start": "2030-03-18T11:00", "end": "2030-03-18T11:30"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let cancelled =
        app.api("DELETE", &format!("/api/v1/events/{id}?scope=this&recurrence_id=2030-03-25T13:00:00Z"), t, None).await;
    assert!(cancelled.status < 300, "{}", cancelled.body);
    let task = app.api("POST", "/api/v1/tasks", t, Some(json!({"title": "Move house"}))).await;
    let mut parent = task.json()["id"].as_str().expect("task").to_owned();
    for level in 1..=4 {
        let step = app
            .api("POST", &format!("/api/v1/tasks/{parent}/steps"), t, Some(json!({"title": format!("Step {level}")})))
            .await;
        assert_eq!(step.status, 201, "{}", step.body);
        parent = step.json()["id"].as_str().expect("step").to_owned();
    }
    let other = user_with_token(app, "b-other@example.org").await;
    app.api("POST", "/api/v1/tasks", &other, Some(json!({"title": "B's own task"}))).await;
    host
}

/// Drops what changes by merely being looked at (when a token or session was last used).
fn settled(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|k, _| !k.starts_with("last_used") && !k.starts_with("last_seen"));
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// What A sees: their account export, the occurrences of March 2030, the link's open slots.
async fn observe(app: &TestApp, host: &Host) -> Value {
    let export = app.api("GET", "/api/v1/account/export", &host.token, None).await;
    assert_eq!(export.status, 200, "{}", export.body);
    let files = crate::security::untar(export.body.as_bytes());
    let account = files.iter().find(|(n, _)| n.ends_with("account.json")).expect("account.json");
    let account: Value = serde_json::from_slice(&account.1).expect("json");
    let calendars: Vec<String> = files
        .iter()
        .filter(|(n, _)| n.ends_with(".ics"))
        .map(|(_, b)| {
            // Each calendar file as a user's calendar app would read it; DTSTAMP is "now".
            String::from_utf8_lossy(b).lines().filter(|l| !l.starts_with("DTSTAMP")).collect::<Vec<_>>().join("\n")
        })
        .collect();
    let occurrences = app
        .api("GET", "/api/v1/occurrences?from=2030-03-01T00:00:00Z&to=2030-04-30T00:00:00Z", &host.token, None)
        .await;
    assert_eq!(occurrences.status, 200, "{}", occurrences.body);
    let slots = app.get(&format!("/api/v1/public/{}/asecret/slots?from=2030-01-14&to=2030-01-19", host.username)).await;
    assert_eq!(slots.status, 200, "{}", slots.body);
    settled(json!({
        "export": account["data"],
        "calendars": calendars,
        "occurrences": occurrences.json(),
        "slots": slots.json(),
    }))
}

async fn round_trip(from: Backend, to: Backend) {
    let original = spawn_app(from).await;
    let host = seed(&original).await;
    let browser = original.browser();
    assert_eq!(browser.login("b-other@example.org", "correct horse battery").await.status, 200);
    let cookie = browser.session_cookie().expect("a session");
    let cursor_before = original.api("GET", "/api/v1/changes", &host.token, None).await.json()["cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();

    let dir = folder();
    let written = server::backup::backup(&original.state.db, &dir).await.expect("backup");
    // Looked at after the backup: an export is itself recorded in the account's security
    // events, after it is answered.
    let before = observe(&original, &host).await;
    assert!(before["occurrences"].as_array().expect("list").len() >= 5);
    assert!(!before["slots"].as_array().expect("slots").is_empty(), "the link has open times");
    assert!(written.archive.starts_with(&dir) && written.archive.exists());
    assert_eq!(written.copy.is_some(), from == Backend::Sqlite, "a checked SQLite copy beside the archive");
    assert!(written.rows > 40, "{written}");

    let url = fresh_database(to).await;
    let restored = server::backup::restore(&url, &written.archive, false).await.expect("restore");
    assert_eq!((restored.tables, restored.rows), (written.tables, written.rows));
    let copy = spawn_app_on(&url, &[]).await;
    let after = observe(&copy, &host).await;
    let (after_text, before_text) =
        (serde_json::to_string_pretty(&after).expect("text"), serde_json::to_string_pretty(&before).expect("text"));
    if let Some((line, (a, b))) = after_text.lines().zip(before_text.lines()).enumerate().find(|(_, (a, b))| a != b) {
        let around = |text: &str| text.lines().skip(line.saturating_sub(12)).take(16).collect::<Vec<_>>().join("\n");
        panic!(
            "the restored instance serves what the original did; line {line} differs ({a} / {b}):\nrestored:\n{}\noriginal:\n{}",
            around(&after_text),
            around(&before_text)
        );
    }
    assert_eq!(after_text.len(), before_text.len(), "the restored instance serves what the original did");
    // Passwords, tokens and sessions came along: nobody has to sign in again.
    assert_eq!(copy.browser().login("a-owner@example.org", "correct horse battery").await.status, 200);
    let returning = copy.browser();
    returning.set_session_cookie(&cookie);
    let me = returning.get("/api/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["email"], "b-other@example.org");
    // The search index was rebuilt, and the change feed goes on from where it was.
    let found = copy.api("GET", "/api/v1/events?q=standu", &host.token, None).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.json()["items"].as_array().is_some_and(|items| !items.is_empty()), "{}", found.body);
    let made = copy.api("POST", "/api/v1/tasks", &host.token, Some(json!({"title": "After the move"}))).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let page = copy.api("GET", &format!("/api/v1/changes?since={cursor_before}"), &host.token, None).await;
    assert_eq!(page.status, 200, "a sync token from before the move still works: {}", page.body);
    let kinds: Vec<(&str, &str)> = page.json()["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| (c["kind"].as_str().unwrap_or_default(), c["op"].as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(k, o)| (if k == "task" { "task" } else { "other" }, if o == "created" { "created" } else { "other" }))
        .collect();
    assert_eq!(kinds, [("task", "created")], "only what happened since: {}", page.body);
    let booked =
        crate::booking::book(&copy, &host, "asecret", crate::booking::invitee("2030-01-16T14:00:00Z"), None).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let taken =
        crate::booking::book(&copy, &host, "asecret", crate::booking::invitee("2030-01-15T14:00:00Z"), None).await;
    assert_eq!(taken.status, 409, "the restored booking still holds its time: {}", taken.body);
}

/// Task ids (micro-steps included), and the task ids the change feed says were made, straight from the database.
async fn tasks_and_their_changes(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let tasks: Vec<String> =
        sqlx::query_scalar("SELECT id FROM tasks ORDER BY id").fetch_all(app.state.db.read()).await.expect("tasks");
    let changed: Vec<String> =
        sqlx::query_scalar("SELECT object_id FROM changes WHERE kind = 'task' AND op = 'created' ORDER BY object_id")
            .fetch_all(app.state.db.read())
            .await
            .expect("changes");
    (tasks, changed)
}

async fn a_backup_taken_during_writes_is_one_consistent_moment(backend: Backend) {
    // As fast as they are answered: no request budget in the way.
    let app =
        std::sync::Arc::new(crate::support::spawn_app_with(backend, &[("CALENTO_API_RATE_PER_MINUTE", "0")]).await);
    let token = user_with_token(&app, "busy@example.org").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Two writers make tasks (each with its change in the feed) as fast as they are answered.
    let mut writers = Vec::new();
    for writer in 0..2 {
        let (client, token, stop) = (app.clone(), token.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let body = json!({"title": format!("w{writer} #{n}"), "steps": [{"title": "a"}, {"title": "b"}]});
                let reply = client.api("POST", "/api/v1/tasks", &token, Some(body)).await;
                if reply.status == 201 {
                    acknowledged.push(reply.json()["id"].as_str().expect("id").to_owned());
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (made_before, _) = tasks_and_their_changes(&app).await;
    let written = server::backup::backup(&app.state.db, &folder()).await.expect("backup during writes");
    let (made_after, _) = tasks_and_their_changes(&app).await;
    // The writers go on after the backup (so it was taken in the middle of them).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while tasks_and_their_changes(&app).await.0.len() <= made_after.len() {
        assert!(std::time::Instant::now() < deadline, "the writes stopped after the backup");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("writer"));
    }
    assert!(made_after.len() > made_before.len(), "the writes went on during the backup");

    let url = fresh_database(backend).await;
    server::backup::restore(&url, &written.archive, false).await.expect("restore");
    let copy = spawn_app_on(&url, &[]).await;
    let (tasks, changed) = tasks_and_their_changes(&copy).await;
    // One moment: every task has its change and every change its task (tables read at
    // different moments would disagree), each task with both its steps.
    let (task_set, changed_set): (std::collections::HashSet<&String>, std::collections::HashSet<&String>) =
        (tasks.iter().collect(), changed.iter().collect());
    let unrecorded: Vec<&String> = tasks.iter().filter(|id| !changed_set.contains(id)).take(5).collect();
    let missing: Vec<&String> = changed.iter().filter(|id| !task_set.contains(id)).take(5).collect();
    assert!(
        unrecorded.is_empty() && missing.is_empty(),
        "the tasks and the change feed are of one moment: {} tasks, {} made in the feed; without a change {unrecorded:?}, changes without a task {missing:?}",
        tasks.len(),
        changed.len()
    );
    assert!(
        tasks.len() >= made_before.len() && tasks.len() <= made_after.len(),
        "{} tasks restored, {} before the backup, {} after",
        tasks.len(),
        made_before.len(),
        made_after.len()
    );
    assert!(made_before.iter().all(|id| task_set.contains(id)), "everything written before the backup is in it");
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks s WHERE s.parent_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = s.parent_id)",
    )
    .fetch_one(copy.state.db.read())
    .await
    .expect("orphans");
    assert_eq!(orphans, 0);
    let acknowledged: std::collections::HashSet<&String> = acknowledged.iter().collect();
    let roots: Vec<&String> = tasks.iter().filter(|id| acknowledged.contains(id)).collect();
    for id in roots.iter().take(20) {
        let task = copy.api("GET", &format!("/api/v1/tasks/{id}"), &token, None).await;
        assert_eq!(task.status, 200, "{}", task.body);
        assert_eq!(task.json()["steps"].as_array().map(Vec::len), Some(2), "{}", task.body);
    }
}

/// Rewrites an archive's lines with `edit` and makes its checksums right again (what a
/// newer Calento's backup would look like).
fn rewrite(path: &Path, to: &Path, edit: impl Fn(Value) -> Value) {
    rewrite_some(path, to, |value| Some(edit(value)));
}

/// [`rewrite`], leaving out the lines `edit` answers `None` for.
fn rewrite_some(path: &Path, to: &Path, mut edit: impl FnMut(Value) -> Option<Value>) {
    let text = std::fs::read_to_string(path).expect("archive");
    let mut out = String::new();
    let mut table = sha2::Sha256::new();
    let mut all = sha2::Sha256::new();
    for line in text.lines() {
        let Some(value) = edit(serde_json::from_str(line).expect("json")) else { continue };
        let line = if value.get("end").is_some() {
            let mut value = value;
            value["sha256"] = json!(hex(&std::mem::take(&mut table).finalize()));
            value.to_string()
        } else if value.get("complete").is_some() {
            let mut value = value;
            value["sha256"] = json!(hex(&all.clone().finalize()));
            value.to_string()
        } else {
            value.to_string()
        };
        if serde_json::from_str::<Value>(&line).expect("json").is_array() {
            table.update(format!("{line}\n"));
        }
        all.update(format!("{line}\n"));
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(to, out).expect("write");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn damaged_newer_and_misplaced_restores_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "keep@example.org").await;
    app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Precious"}))).await;
    let dir = folder();
    let written = server::backup::backup(&app.state.db, &dir.join("nightly.jsonl")).await.expect("backup");
    assert_eq!(written.archive, dir.join("nightly.jsonl"), "a file name is used as given");
    let good = std::fs::read_to_string(&written.archive).expect("archive");

    // Into a database that holds accounts: refused without --force, nothing changed.
    let other = spawn_app(backend).await;
    let theirs = user_with_token(&other, "theirs@example.org").await;
    let refused = server::backup::restore(&other.url, &written.archive, false).await.expect_err("non-empty");
    assert!(refused.contains("--force") && refused.contains("1 account"), "{refused}");
    assert_eq!(other.api("GET", "/api/v1/me", &theirs, None).await.json()["email"], "theirs@example.org");

    let refuse = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        // One character of one row changed.
        (refuse("flipped.jsonl", good.replacen("Precious", "Precioua", 1)), "checksum"),
        // Cut short, as by a full disk.
        (refuse("cut.jsonl", good[..good.len() * 2 / 3].to_owned()), "damaged"),
        (refuse("headless.jsonl", good.lines().skip(1).collect::<Vec<_>>().join("\n")), "not a Calento backup"),
        (refuse("empty.jsonl", String::new()), "empty"),
        (refuse("other.jsonl", "{\"hello\":1}\n".to_owned()), "not a Calento backup"),
        (dir.join("missing.jsonl"), "cannot open"),
    ];
    let lines = good.lines().count();
    let whole_lines = good.lines().take(lines - 1).map(|l| format!("{l}\n")).collect::<String>();
    let cases = cases.into_iter().chain([(refuse("untrailed.jsonl", whole_lines), "incomplete")]);
    for (path, expected) in cases {
        let url = fresh_database(backend).await;
        let message = server::backup::restore(&url, &path, false).await.expect_err("refused");
        assert!(message.contains(expected), "{}: {message}", path.display());
    }
    // A backup from a newer Calento (a schema this build does not know), checksums right.
    let newer = dir.join("newer.jsonl");
    rewrite(&written.archive, &newer, |mut v| {
        if v.get("format").is_some() {
            v["schema"] = json!(29_991_231_000_001_i64);
        }
        v
    });
    let message = server::backup::restore(&fresh_database(backend).await, &newer, false).await.expect_err("newer");
    assert!(message.contains("newer Calento") && message.contains("upgrade"), "{message}");
    // A row that does not fit its column is refused as a whole: the restore is one
    // transaction, so the database stays empty.
    let misfit = dir.join("misfit.jsonl");
    rewrite(&written.archive, &misfit, |v| match v {
        Value::Array(mut values) if values.iter().any(|x| x == "Precious") => {
            for x in &mut values {
                if x.is_i64() {
                    *x = json!("not a number");
                }
            }
            Value::Array(values)
        }
        other => other,
    });
    let url = fresh_database(backend).await;
    let message = server::backup::restore(&url, &misfit, false).await.expect_err("misfit");
    assert!(message.contains("is not a Integer value"), "{message}");
    let empty = spawn_app_on(&url, &[]).await;
    let users: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(empty.state.db.read()).await.expect("users");
    assert_eq!(users, 0, "a failed restore leaves nothing behind");

    // A backup from before the newest migration (no `backups` table yet) is restored into
    // that schema, then migrated.
    let versions: Vec<i64> = app::ssr::db::MIGRATOR.iter().map(|m| m.version).collect();
    let previous = versions[versions.len() - 2];
    let older = dir.join("older.jsonl");
    let mut in_backups = false;
    rewrite_some(&written.archive, &older, |mut v| {
        if v.get("format").is_some() {
            v["schema"] = json!(previous);
        }
        if v["table"] == "backups" {
            in_backups = true;
        }
        if in_backups {
            in_backups = v["end"] != "backups";
            return None;
        }
        if v.get("complete").is_some() {
            v["tables"] = json!(v["tables"].as_i64().expect("tables") - 1);
        }
        Some(v)
    });
    let url = fresh_database(backend).await;
    server::backup::restore(&url, &older, false).await.expect("an older backup restores");
    let upgraded = spawn_app_on(&url, &[]).await;
    let tasks = upgraded.api("GET", "/api/v1/tasks", &token, None).await;
    assert!(tasks.body.contains("Precious"), "{}", tasks.body);
    assert_eq!(app::ssr::db::schema_of(upgraded.state.db.read()).await, versions.last().copied(), "and migrated");
    assert_eq!(backups_recorded(&upgraded).await, 0, "the newer table is there, empty");

    // With --force the database is replaced by the backup.
    server::backup::restore(&other.url, &written.archive, true).await.expect("forced");
    let replaced = spawn_app_on(&other.url, &[]).await;
    assert_eq!(replaced.api("GET", "/api/v1/me", &theirs, None).await.status, 401, "their token went with their data");
    let tasks = replaced.api("GET", "/api/v1/tasks", &token, None).await;
    assert!(tasks.body.contains("Precious"), "{}", tasks.body);
}

async fn backups_recorded(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM backups").fetch_one(app.state.db.read()).await.expect("backups")
}

/// Waits for the `n`th recorded scheduled backup.
async fn wait_for_backups(app: &TestApp, n: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while backups_recorded(app).await < n {
        assert!(std::time::Instant::now() < deadline, "scheduled backup {n} never ran");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Brings the queued scheduled backup forward to now.
async fn backup_now(app: &TestApp) {
    sqlx::query("UPDATE jobs SET run_at = 0 WHERE kind = 'backup' AND status = 'queued'")
        .execute(app.state.db.write())
        .await
        .expect("due");
    app.state.db.bus().wake_jobs();
}

async fn scheduled_backups_run_as_jobs_keep_the_newest_and_report_on_the_admin_page_and_metrics(backend: Backend) {
    let dir = folder().join("nightly");
    let dir_text = dir.display().to_string();
    let app =
        crate::support::spawn_app_with(backend, &[("CALENTO_BACKUP_DIR", &dir_text), ("CALENTO_BACKUP_KEEP", "2")])
            .await;
    let admin = app.browser();
    assert_eq!(admin.register("admin@example.org", "Admin").await.status, 200);
    // The first runs at start (none was ever taken), the next is a day later.
    wait_for_backups(&app, 1).await;
    let next: i64 = sqlx::query_scalar("SELECT run_at FROM jobs WHERE kind = 'backup' AND status = 'queued'")
        .fetch_one(app.state.db.read())
        .await
        .expect("the next backup is queued");
    let day = (next - app::ssr::now_ms()) as f64 / 3_600_000.0;
    assert!((23.0..=24.0).contains(&day), "next in {day} hours");
    for n in 2..=3 {
        backup_now(&app).await;
        wait_for_backups(&app, n).await;
    }
    let kept = server::backup::list(&dir);
    assert_eq!(kept.len(), 2, "the newest two are kept: {kept:?}");
    for archive in &kept {
        server::backup::check(archive).expect("each kept archive is whole");
        assert_eq!(archive.with_extension("sqlite3").exists(), backend == Backend::Sqlite);
    }
    let page = admin.call("load_admin", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let last = &page.json()["last_backup"];
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["archive"].as_str(), kept.last().and_then(|p| p.to_str()), "{last}");
    let metrics = app.get("/metrics").await.body;
    assert!(metrics.contains("calento_backup_last_ok 1"), "{metrics}");
    assert!(metrics.contains("calento_backup_last_bytes "), "{metrics}");

    // The folder becomes unusable (a file where it should be): the failure is shown, the
    // next attempt is within the hour, and nothing is retried in a loop.
    std::fs::remove_dir_all(&dir).expect("remove");
    std::fs::write(&dir, b"not a folder").expect("file");
    backup_now(&app).await;
    wait_for_backups(&app, 4).await;
    let last = admin.call("load_admin", &[]).await.json()["last_backup"].clone();
    assert_eq!(last["ok"], false, "{last}");
    assert!(last["error"].as_str().is_some_and(|e| e.contains("nightly")), "{last}");
    assert!(app.get("/metrics").await.body.contains("calento_backup_last_ok 0"));
    let next: i64 = sqlx::query_scalar("SELECT run_at FROM jobs WHERE kind = 'backup' AND status = 'queued'")
        .fetch_one(app.state.db.read())
        .await
        .expect("queued again");
    assert!(next - app::ssr::now_ms() <= 3_600_000, "a failed backup is tried again within the hour");
}
