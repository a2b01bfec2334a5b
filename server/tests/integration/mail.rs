//! Durable jobs and the email outbox, on both databases: delivery to a real SMTP server
//! (aiosmtpd, started here) exactly once, retries with backoff against a closed port until
//! the job is dead, emails kept pending without SMTP and listed by the API and the outbox
//! page, concurrent workers processing every job once, and expired leases taken over.
//!
//! Python: `CALENTO_SMTP_PYTHON` names the interpreter of the environment that
//! `scripts/smtp-sink` installs (aiosmtpd and icalendar); scripts/test sets it. Without it
//! the SMTP test fails and says how to run it: it never passes without an SMTP server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use app::ssr::accounts::{self, Registration};
use app::ssr::booking_mail::{self, BookingMail};
use app::ssr::jobs::{self, Backoff, Failed, Handlers, WorkerOptions};
use app::ssr::mail::{self, EmailDraft, Mailer};
use app::ssr::{Db, now_ms};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, fresh_database, spawn_app, spawn_app_with};

on_both_backends!(
    queued_emails_are_delivered_once_over_smtp,
    an_unreachable_smtp_server_means_retries_with_backoff_then_a_dead_job,
    without_smtp_emails_stay_pending_and_are_listed,
    five_workers_process_twenty_jobs_exactly_once,
    an_expired_lease_is_claimed_again,
    a_booking_emails_both_sides_and_its_cancellation_follows_the_same_invitation,
);

// ---------------------------------------------------------------------------------------
// The SMTP server
// ---------------------------------------------------------------------------------------

/// The Python with aiosmtpd, or a failure that says how to get it.
pub(crate) fn smtp_python() -> PathBuf {
    match std::env::var_os("CALENTO_SMTP_PYTHON").filter(|p| !p.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => panic!(
            "This test needs a local SMTP server (python aiosmtpd). Run `scripts/smtp-sink` (it installs aiosmtpd \
             once into $CALENTO_CACHE/smtp-sink and prints its python), then run the tests with \
             CALENTO_SMTP_PYTHON=<that path>, e.g. CALENTO_SMTP_PYTHON=$(scripts/smtp-sink) cargo test -p server \
             --test integration mail. scripts/test does this."
        ),
    }
}

pub(crate) fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("addr").port()
}

/// aiosmtpd on a free port, keeping each message as a file (scripts/smtp_sink.py).
pub(crate) struct SmtpSink {
    child: Child,
    port: u16,
    folder: PathBuf,
}

impl SmtpSink {
    pub(crate) async fn start() -> Self {
        let python = smtp_python();
        let port = free_port();
        let folder = std::env::temp_dir().join(format!("calento-smtp-{}", app::ssr::new_id().to_lowercase()));
        std::fs::create_dir_all(&folder).expect("sink folder");
        let child = Command::new(&python)
            .arg(scripts().join("smtp_sink.py"))
            .arg(port.to_string())
            .arg(&folder)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} ({e}); run scripts/smtp-sink", python.display()));
        let sink = Self { child, port, folder };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "the SMTP sink did not start listening on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sink
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub(crate) fn messages(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.folder)
            .expect("sink folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
    }

    pub(crate) async fn wait_for_messages(&self, count: usize) -> Vec<PathBuf> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let files = self.messages();
            if files.len() >= count {
                return files;
            }
            assert!(Instant::now() < deadline, "{} of {count} messages arrived", files.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Reads a received message with Python's `email` and `icalendar`, as mail clients would.
const READ_MESSAGE: &str = r#"
import json, sys, email
from email import policy
import icalendar
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=policy.default)
out = {k: str(msg[k]) for k in ["Subject", "To", "From", "Message-ID", "X-Sink-Rcpt-To", "X-Sink-Mail-From", "Content-Type"]}
out["parts"] = []
for part in msg.walk():
    if part.is_multipart():
        continue
    kind = part.get_content_type()
    info = {"type": kind, "method": part.get_param("method"), "filename": part.get_filename()}
    raw = part.get_payload(decode=True)
    info["text"] = raw.decode("utf-8")
    if kind in ("text/calendar", "application/ics"):
        cal = icalendar.Calendar.from_ical(raw)
        ev = cal.walk("VEVENT")[0]
        info["calendar"] = {
            "method": str(cal.get("METHOD")), "uid": str(ev.get("UID")), "sequence": int(ev.get("SEQUENCE")),
            "organizer": str(ev.get("ORGANIZER")), "attendee": str(ev.get("ATTENDEE")),
            "summary": str(ev.get("SUMMARY")), "start": ev.decoded("DTSTART").isoformat(),
        }
    out["parts"].append(info)
print(json.dumps(out))
"#;

pub(crate) fn read_message(path: &PathBuf) -> Value {
    let output = Command::new(smtp_python()).arg("-c").arg(READ_MESSAGE).arg(path).output().expect("run python");
    assert!(
        output.status.success(),
        "python could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python answers JSON")
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

async fn open(backend: Backend) -> Db {
    Db::connect(&fresh_database(backend).await, 5).await.expect("connect and migrate")
}

async fn new_user(db: &Db, email: &str) -> String {
    let registration = Registration {
        email: email.into(),
        password: "correct horse battery".into(),
        name: "Hana Host".into(),
        username: String::new(),
        time_zone: "Europe/Paris".into(),
        ..Default::default()
    };
    accounts::register(db, &registration).await.expect("register").id
}

fn booking(host_user_id: &str) -> BookingMail {
    BookingMail {
        booking_id: "01JBOOKING0000000000000000".into(),
        host_user_id: host_user_id.into(),
        host_name: "Hana Host".into(),
        host_email: "hana@example.org".into(),
        invitee_name: "Ivo Invitee".into(),
        invitee_email: "ivo@example.net".into(),
        title: "Intro call".into(),
        // 2030-01-15 08:00Z: 09:00 in Paris.
        start_ms: 1_894_694_400_000,
        end_ms: 1_894_694_400_000 + 30 * 60_000,
        invitee_zone: "Europe/Paris".into(),
        host_zone: "Europe/Paris".into(),
        location: "https://meet.example.org/intro".into(),
        notes: "About the <project>".into(),
        answers: vec![("Company".into(), "ACME".into())],
        manage_url: "https://cal.example.org/booking/manage/abc".into(),
        uid: "01jbooking0000000000000000@calento".into(),
        sequence: 0,
        reason: None,
    }
}

async fn queue(db: &Db, draft: &EmailDraft) -> String {
    let mut tx = app::ssr::changes::begin_unowned(db).await.expect("begin");
    let id = mail::queue(&mut tx, draft).await.expect("queue");
    tx.commit().await.expect("commit");
    id
}

/// The send_email job of an email.
async fn job_of(db: &Db, email_id: &str) -> jobs::JobRow {
    let all = jobs::list_jobs(db, None).await.expect("jobs");
    all.into_iter().find(|j| j.payload_json()["email_id"] == email_id).expect("the email's job")
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fast(id: &str) -> WorkerOptions {
    WorkerOptions {
        id: id.into(),
        poll_every: Duration::from_millis(25),
        concurrency: 2,
        lease: Duration::from_secs(30),
        run_limit: Duration::from_secs(27),
        backoff: Backoff { base: Duration::from_millis(50), cap: Duration::from_millis(200) },
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

async fn queued_emails_are_delivered_once_over_smtp(backend: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app =
        spawn_app_with(backend, &[("CALENTO_SMTP_URL", &url), ("CALENTO_SMTP_FROM", "Calento <cal@example.org>")])
            .await;
    let db = app.state.db.clone();
    let host = new_user(&db, "hana@example.org").await;
    let draft = booking_mail::confirmation_to_invitee(&booking(&host));
    let email_id = queue(&db, &draft).await;

    let files = sink.wait_for_messages(1).await;
    wait_until("the email is marked sent", || async {
        mail::find(&db, &email_id).await.expect("find").is_some_and(|e| e.status == "sent")
    })
    .await;
    let email = mail::find(&db, &email_id).await.expect("find").expect("row");
    assert!(email.sent_at.is_some() && email.error.is_none(), "{email:?}");
    wait_until("the job is done", || async { job_of(&db, &email_id).await.status == "done" }).await;

    let message = read_message(&files[0]);
    assert_eq!(message["Subject"], "Confirmed: Intro call with Hana Host");
    assert_eq!(message["To"], "Ivo Invitee <ivo@example.net>");
    assert_eq!(message["From"], "Calento <cal@example.org>");
    assert_eq!(message["X-Sink-Rcpt-To"], "ivo@example.net");
    assert!(message["Content-Type"].as_str().expect("type").starts_with("multipart/mixed"), "{message}");
    let parts = message["parts"].as_array().expect("parts");
    let part = |kind: &str| parts.iter().find(|p| p["type"] == kind).unwrap_or_else(|| panic!("no {kind}: {message}"));
    assert!(
        part("text/plain")["text"]
            .as_str()
            .expect("text")
            .contains("Tuesday 15 January 2030, 09:00–09:30 (Europe/Paris)")
    );
    assert!(part("text/html")["text"].as_str().expect("html").contains("About the &lt;project&gt;"));
    let calendar = part("text/calendar");
    assert_eq!(calendar["method"], "REQUEST");
    let ics = calendar["text"].as_str().expect("ics");
    // (In a 7bit MIME part every line ends in CRLF on the wire; readers give lines back.)
    let lines: Vec<&str> = ics.lines().map(str::trim_end).collect();
    assert!(lines.contains(&"METHOD:REQUEST") && lines.contains(&"BEGIN:VEVENT"), "{ics}");
    assert_eq!(calendar["calendar"]["method"], "REQUEST");
    assert_eq!(calendar["calendar"]["uid"], "01jbooking0000000000000000@calento");
    assert_eq!(calendar["calendar"]["sequence"], 0);
    assert_eq!(calendar["calendar"]["organizer"], "mailto:hana@example.org");
    assert_eq!(calendar["calendar"]["attendee"], "mailto:ivo@example.net");
    assert_eq!(calendar["calendar"]["start"], "2030-01-15T08:00:00+00:00");
    let attachment = part("application/ics");
    assert_eq!(attachment["filename"], "invite.ics");
    assert_eq!(attachment["calendar"]["uid"], "01jbooking0000000000000000@calento");

    // Running the job again (a retry after a crash) sends nothing: the email is sent.
    let mailer = Mailer::new(&url, mail::DEFAULT_FROM).expect("mailer");
    mail::send_job(&db, &mailer, &json!({ "email_id": email_id })).await.expect("idempotent");
    // A cancellation goes out as METHOD:CANCEL with the same UID and a higher sequence.
    let mut cancelled = booking(&host);
    cancelled.sequence = 1;
    cancelled.reason = Some("Something came up".into());
    let drafts = booking_mail::cancellation(&cancelled);
    let cancel_id = queue(&db, &drafts[0]).await;
    let files = sink.wait_for_messages(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 2, "each email is delivered once");
    let message = read_message(&files[1]);
    assert_eq!(message["Subject"], "Cancelled: Intro call with Hana Host");
    let calendar = message["parts"].as_array().expect("parts").iter().find(|p| p["type"] == "text/calendar").cloned();
    let calendar = calendar.expect("calendar part");
    assert_eq!(calendar["method"], "CANCEL");
    assert_eq!(calendar["calendar"]["uid"], "01jbooking0000000000000000@calento");
    assert_eq!(calendar["calendar"]["sequence"], 1);
    wait_until("the cancellation is marked sent", || async {
        mail::find(&db, &cancel_id).await.expect("find").is_some_and(|e| e.status == "sent")
    })
    .await;
}

async fn an_unreachable_smtp_server_means_retries_with_backoff_then_a_dead_job(backend: Backend) {
    let db = open(backend).await;
    let host = new_user(&db, "hana@example.org").await;
    let closed = format!("smtp://127.0.0.1:{}", free_port());
    let mailer = Mailer::new(&closed, mail::DEFAULT_FROM).expect("mailer");
    let email_id = queue(&db, &booking_mail::notification_to_host(&booking(&host))).await;

    // The first attempt by hand: it fails, and the job waits 30 s (plus jitter) to retry.
    let job = jobs::claim(&db, "by-hand", &[mail::SEND_EMAIL], Duration::from_secs(60)).await.expect("claim");
    let job = job.expect("a due job");
    assert_eq!((job.attempts, job.status.as_str(), job.locked_by.as_deref()), (1, "running", Some("by-hand")));
    let error = mail::send_job(&db, &mailer, &job.payload_json()).await.expect_err("the port is closed");
    let before = now_ms();
    let outcome = jobs::fail(&db, &job.id, "by-hand", &error, &Backoff::default()).await.expect("fail");
    let Failed::Retry { run_at } = outcome else { panic!("expected a retry, got {outcome:?}") };
    assert!(run_at >= before + 30_000 && run_at <= now_ms() + 33_000, "backoff {}", run_at - before);
    let job = jobs::find_job(&db, &job.id).await.expect("find").expect("job");
    assert_eq!((job.status.as_str(), job.attempts), ("queued", 1));
    assert!(job.last_error.as_deref().is_some_and(|e| e.contains("SMTP")), "{job:?}");
    let email = mail::find(&db, &email_id).await.expect("find").expect("email");
    assert_eq!(email.status, "pending");
    assert!(email.error.is_some(), "the outbox shows why: {email:?}");
    // Not due yet: nobody claims it.
    assert!(jobs::claim(&db, "other", &[mail::SEND_EMAIL], Duration::from_secs(60)).await.expect("claim").is_none());

    // Due now; a worker with short waits uses up the attempts.
    sqlx::query("UPDATE jobs SET run_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(&job.id)
        .execute(db.write())
        .await
        .expect("make due");
    let worker = jobs::spawn_worker_with(db.clone(), mail::register(Handlers::new(), mailer), fast("retrier"));
    let seen_attempts: Arc<Mutex<Vec<i64>>> = Arc::default();
    wait_until("the job is dead", || {
        let (db, id, seen) = (db.clone(), job.id.clone(), seen_attempts.clone());
        async move {
            let job = jobs::find_job(&db, &id).await.expect("find").expect("job");
            let mut seen = seen.lock().expect("seen");
            if seen.last() != Some(&job.attempts) {
                seen.push(job.attempts);
            }
            job.status == "dead"
        }
    })
    .await;
    worker.shutdown(Duration::from_secs(5)).await;
    let dead = jobs::find_job(&db, &job.id).await.expect("find").expect("job");
    assert_eq!(dead.attempts, jobs::DEFAULT_MAX_ATTEMPTS);
    let seen_attempts = seen_attempts.lock().expect("seen").clone();
    assert!(seen_attempts.windows(2).all(|w| w[0] < w[1]), "attempts only increase: {seen_attempts:?}");
    assert!(dead.last_error.as_deref().is_some_and(|e| !e.is_empty()) && dead.locked_by.is_none(), "{dead:?}");
    let listed = jobs::list_jobs(&db, Some("dead")).await.expect("list");
    assert_eq!(listed.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), vec![job.id.as_str()]);
    assert!(jobs::list_jobs(&db, Some("queued")).await.expect("list").is_empty());
    let email = mail::find(&db, &email_id).await.expect("find").expect("email");
    assert_eq!(email.status, "failed");
    assert!(email.error.is_some() && email.sent_at.is_none(), "{email:?}");

    // An administrator may try again: a fresh set of attempts, due now.
    jobs::retry_dead(&db, &job.id).await.expect("retry");
    let again = jobs::find_job(&db, &job.id).await.expect("find").expect("job");
    assert_eq!((again.status.as_str(), again.attempts), ("queued", 0));
    assert!(jobs::retry_dead(&db, &job.id).await.is_err(), "only dead jobs are retried");
    db.close().await;
}

async fn without_smtp_emails_stay_pending_and_are_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "hana@example.org").await;
    let me = app.api("GET", "/api/v1/me", &token, None).await.json();
    let host = me["id"].as_str().expect("id").to_owned();
    let db = app.state.db.clone();
    let draft = booking_mail::confirmation_to_invitee(&booking(&host));
    let email_id = queue(&db, &draft).await;
    queue(&db, &booking_mail::notification_to_host(&booking(&host))).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let email = mail::find(&db, &email_id).await.expect("find").expect("row");
    assert_eq!(email.status, "pending");
    let job = job_of(&db, &email_id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("queued", 0), "no worker sends without SMTP");

    let reply = app.api("GET", "/api/v1/outbox", &token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let list = reply.json();
    let list = list.as_array().expect("list");
    // Besides the "confirm your email address" of the registration.
    assert_eq!(list.iter().filter(|e| e["kind"] == "verify_email").count(), 1, "{list:?}");
    let list: Vec<_> = list.iter().filter(|e| e["kind"] != "verify_email").collect();
    assert_eq!(list.len(), 2);
    // Both are listed (queued within the same millisecond, so their order is not asserted).
    assert!(list.iter().any(|e| e["kind"] == "booking_notification"), "{list:?}");
    let confirmation = list.iter().find(|e| e["kind"] == "booking_confirmation").expect("the confirmation");
    assert_eq!(confirmation["id"], email_id.as_str());
    assert_eq!(confirmation["status"], "pending");
    assert_eq!(confirmation["subject"], "Confirmed: Intro call with Hana Host");
    assert_eq!(confirmation["to_address"], "ivo@example.net");
    assert_eq!(confirmation["has_invitation"], true);
    assert!(confirmation["text_body"].as_str().expect("body").contains("09:00–09:30 (Europe/Paris)"));
    assert!(confirmation["created_at"].is_string());
    // Not tried (no SMTP server), its job due at once.
    assert_eq!(confirmation["attempts"], 0);
    assert!(confirmation["next_try"].is_string(), "{confirmation}");

    // Another account sees none of them; without credentials, nothing.
    let other = user_with_token(&app, "other@example.org").await;
    let others = app.api("GET", "/api/v1/outbox", &other, None).await.json();
    assert!(
        others
            .as_array()
            .expect("list")
            .iter()
            .all(|e| e["kind"] == "verify_email" && e["to_address"] == "other@example.org"),
        "{others}"
    );
    assert_eq!(app.get("/api/v1/outbox").await.status, 401);

    // The page lists them for the signed-in user.
    let browser = app.browser();
    assert_eq!(browser.login("hana@example.org", "correct horse battery").await.status, 200);
    let page = browser.get("/settings/outbox").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Confirmed: Intro call with Hana Host"), "{}", page.body);
    assert!(page.body.contains("Pending · not tried yet"), "{}", page.body);
    assert!(page.body.contains("href=\"/settings/outbox\""), "the settings menu links the outbox");
}

async fn five_workers_process_twenty_jobs_exactly_once(backend: Backend) {
    let url = fresh_database(backend).await;
    // Five "processes": each worker has its own connections to the one database.
    let mut dbs = Vec::new();
    for _ in 0..5 {
        dbs.push(Db::connect(&url, 3).await.expect("connect"));
    }
    let db = dbs[0].clone();

    // Claims alone, 5 claimers at once: each of 20 jobs is claimed by exactly one.
    let mut tx = app::ssr::changes::begin_unowned(&db).await.expect("begin");
    for n in 0..20 {
        jobs::enqueue(&mut tx, "claim_race", &json!({ "n": n }), now_ms()).await.expect("enqueue");
    }
    tx.commit().await.expect("commit");
    let mut claimers = Vec::new();
    for (i, db) in dbs.iter().enumerate() {
        let db = db.clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let worker = format!("claimer-{i}");
            while let Some(job) =
                jobs::claim(&db, &worker, &["claim_race"], Duration::from_secs(60)).await.expect("claim")
            {
                mine.push(job.payload_json()["n"].as_i64().expect("n"));
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.expect("claimer"));
    }
    claimed.sort_unstable();
    assert_eq!(claimed, (0..20).collect::<Vec<i64>>(), "every job claimed once");

    // Whole workers: 5 of them, 2 jobs at a time each, run every job exactly once.
    let mut tx = app::ssr::changes::begin_unowned(&db).await.expect("begin");
    for n in 0..20 {
        jobs::enqueue(&mut tx, "count", &json!({ "n": n }), now_ms()).await.expect("enqueue");
    }
    tx.commit().await.expect("commit");
    let runs: Arc<Mutex<BTreeMap<i64, usize>>> = Arc::default();
    let mut workers = Vec::new();
    for (i, db) in dbs.iter().enumerate() {
        let runs = runs.clone();
        let handlers = Handlers::new().add("count", move |_db, payload: Value| {
            let runs = runs.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let n = payload["n"].as_i64().ok_or("no n")?;
                *runs.lock().map_err(|e| e.to_string())?.entry(n).or_default() += 1;
                Ok(())
            }
        });
        workers.push(jobs::spawn_worker_with(db.clone(), handlers, fast(&format!("worker-{i}"))));
    }
    wait_until("all 20 jobs are done", || async {
        jobs::list_jobs(&db, Some("done")).await.expect("list").iter().filter(|j| j.kind == "count").count() == 20
    })
    .await;
    for worker in workers {
        worker.shutdown(Duration::from_secs(5)).await;
    }
    let runs = runs.lock().expect("runs").clone();
    assert_eq!(runs.len(), 20, "{runs:?}");
    assert!(runs.values().all(|&count| count == 1), "each job ran once: {runs:?}");
    let done = jobs::list_jobs(&db, Some("done")).await.expect("list");
    assert!(done.iter().filter(|j| j.kind == "count").all(|j| j.attempts == 1 && j.locked_by.is_none()));
    // The jobs claimed above but never finished are still running under their lease.
    assert_eq!(jobs::list_jobs(&db, Some("running")).await.expect("list").len(), 20);
    for db in dbs {
        db.close().await;
    }
}

async fn an_expired_lease_is_claimed_again(backend: Backend) {
    let db = open(backend).await;
    let mut tx = app::ssr::changes::begin_unowned(&db).await.expect("begin");
    let id = jobs::enqueue(&mut tx, "lease_test", &json!({}), now_ms()).await.expect("enqueue");
    let last_chance = jobs::enqueue_with(&mut tx, "last_chance", &json!({}), now_ms(), 1).await.expect("enqueue");
    tx.commit().await.expect("commit");

    // Only the kinds a worker handles are claimed.
    assert!(jobs::claim(&db, "a", &["other"], Duration::from_secs(60)).await.expect("claim").is_none());
    let first = jobs::claim(&db, "a", &["lease_test"], Duration::from_millis(200)).await.expect("claim").expect("job");
    assert_eq!((first.id.as_str(), first.attempts), (id.as_str(), 1));
    // Held: nobody else gets it while the lease lasts.
    assert!(jobs::claim(&db, "b", &["lease_test"], Duration::from_secs(60)).await.expect("claim").is_none());
    // Worker "a" crashes; once the lease has expired "b" takes the job over.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = jobs::claim(&db, "b", &["lease_test"], Duration::from_secs(60)).await.expect("claim").expect("job");
    assert_eq!(second.id, id);
    assert_eq!((second.attempts, second.locked_by.as_deref()), (2, Some("b")));
    // "a" coming back late changes nothing.
    assert!(!jobs::complete(&db, &id, "a").await.expect("complete"));
    assert_eq!(jobs::fail(&db, &id, "a", "late", &Backoff::default()).await.expect("fail"), Failed::NotHeld);
    assert!(jobs::complete(&db, &id, "b").await.expect("complete"));
    let done = jobs::find_job(&db, &id).await.expect("find").expect("job");
    assert_eq!((done.status.as_str(), done.locked_by), ("done", None));
    assert!(jobs::claim(&db, "c", &["lease_test"], Duration::from_secs(60)).await.expect("claim").is_none());

    // A job whose worker died during its last attempt is not run again but buried.
    let claimed = jobs::claim(&db, "a", &["last_chance"], Duration::from_millis(100)).await.expect("claim");
    assert_eq!(claimed.map(|j| j.id), Some(last_chance.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(jobs::claim(&db, "b", &["last_chance"], Duration::from_secs(60)).await.expect("claim").is_none());
    assert_eq!(jobs::bury_abandoned(&db).await.expect("bury"), 1);
    let buried = jobs::find_job(&db, &last_chance).await.expect("find").expect("job");
    assert_eq!(buried.status, "dead");
    assert!(buried.last_error.is_some());
    db.close().await;
}

async fn a_booking_emails_both_sides_and_its_cancellation_follows_the_same_invitation(backend: Backend) {
    use crate::booking::{book, host, invitee, link};
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(backend, &[("CALENTO_SMTP_URL", &sink.url())]).await;
    let host = host(&app, "mail-host@example.org").await;
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30], "reminder_hours": 24})).await;
    let reply = book(&app, &host, "intro", invitee("2030-01-15T14:00:00Z"), None).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let token = reply.json()["manage_url"].as_str().expect("url").trim_start_matches("/booking/").to_owned();
    let read = |files: &[PathBuf]| files.iter().map(read_message).collect::<Vec<_>>();
    // The host's "confirm your email address" from the registration, then the booking's two.
    let first = read(&sink.wait_for_messages(3).await);
    assert!(first.iter().any(|m| m["Subject"] == "Confirm your email address"));
    let to_invitee =
        first.iter().find(|m| m["To"].as_str().is_some_and(|t| t.contains("ada@example.org"))).expect("invitee mail");
    let to_host = first
        .iter()
        .find(|m| {
            m["To"].as_str().is_some_and(|t| t.contains("mail-host@example.org"))
                && m["Subject"] != "Confirm your email address"
        })
        .expect("host mail");
    assert_eq!(to_invitee["Subject"], "Confirmed: Intro with Tester");
    assert_eq!(to_host["Subject"], "New booking: Intro with Ada Lovelace");
    let invitation = to_invitee["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .find_map(|p| p.get("calendar").filter(|c| c["method"] == "REQUEST"))
        .expect("a METHOD:REQUEST invitation")
        .clone();
    assert_eq!(invitation["start"], "2030-01-15T14:00:00+00:00");
    assert_eq!(invitation["sequence"], 0);
    let text = to_invitee["parts"].as_array().expect("parts").iter().find(|p| p["type"] == "text/plain").expect("text");
    assert!(text["text"].as_str().is_some_and(|t| t.contains(&format!("/booking/{token}"))), "{text}");
    // The invitee's local time (Europe/London) is in their email.
    assert!(text["text"].as_str().is_some_and(|t| t.contains("14:00") && t.contains("Europe/London")), "{text}");
    // The reminder waits in the outbox for its time (24 hours before).
    let outbox = app.api("GET", "/api/v1/outbox", &host.token, None).await.json();
    assert!(outbox.to_string().contains("booking_reminder"), "{outbox}");

    // The invitee cancels: both are told, the invitation is cancelled under the same UID
    // with a higher sequence, and the reminder is dropped.
    let reply = app.send("POST", &format!("/api/v1/public/bookings/{token}/cancel"), &[], Vec::new()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let all = sink.wait_for_messages(5).await;
    let later = read(&all[3..]);
    let cancel = later
        .iter()
        .flat_map(|m| m["parts"].as_array().cloned().unwrap_or_default())
        .find_map(|p| p.get("calendar").filter(|c| c["method"] == "CANCEL").cloned())
        .expect("a METHOD:CANCEL invitation");
    assert_eq!(cancel["uid"], invitation["uid"]);
    assert_eq!(cancel["sequence"], 1);
    let outbox = app.api("GET", "/api/v1/outbox", &host.token, None).await.json();
    assert!(!outbox.to_string().contains("booking_reminder"), "{outbox}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 5, "no reminder and nothing twice");
}
