//! Durable jobs: rows in `jobs`, written in the transaction of their cause, claimed with a
//! lease by workers in any number of server processes, retried with exponential backoff,
//! and kept as `dead` (with the last error) once they run out of attempts.
//!
//! - **Enqueue** ([`enqueue`], [`enqueue_with`], [`enqueue_once`]) inside the caller's
//!   [`Write`], so a job exists exactly when its cause was committed. The commit wakes the
//!   workers of this process and, on PostgreSQL through `NOTIFY`, of every other server
//!   process at once (they also poll every second).
//! - **Claim**: one statement marks a due job `running`, counts the attempt and sets
//!   `locked_until = now + lease` and `locked_by = worker`. PostgreSQL picks the row with
//!   `FOR UPDATE SKIP LOCKED`, so concurrent claimers in many processes never wait for or
//!   take the same row; SQLite runs the same statement, without that clause, on the
//!   one-connection writer pool, which serialises claims. A `running` job whose lease has
//!   expired (its worker crashed) is due again. Only the kinds a worker has handlers for
//!   are claimed.
//! - **Finish**: [`complete`] marks it `done`; [`fail`] puts it back in the queue after
//!   30 s × 2^(attempts − 1) (capped at 6 h, plus up to 10 % jitter), or marks it `dead`
//!   after `max_attempts`. Both only act while the worker still holds the lease.
//! - **See and repair**: [`list_jobs`] and [`retry_dead`].
//!
//! Delivery is at least once: a worker that dies after the work but before [`complete`]
//! leaves a job that runs again when its lease expires, so handlers must be idempotent.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::changes::{self, Write};
use super::{Backend, Db, new_id, now_ms};
use crate::AppError;

pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;
/// How long a claim holds a job before another worker may take it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// How long one attempt may run (its lease is renewed meanwhile, see [`renew`]).
pub const DEFAULT_RUN_LIMIT: Duration = Duration::from_secs(270);

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const DEAD: &str = "dead";
/// Most jobs one listing returns.
const LIST_LIMIT: i64 = 500;
/// Longest error text kept on a job.
const MAX_ERROR_CHARS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub locked_until: Option<i64>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl JobRow {
    /// The payload as JSON (`null` if the stored text is not JSON).
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

const COLUMNS: &str = "id, kind, payload, status, attempts, max_attempts, run_at, locked_until, locked_by, last_error, created_at, updated_at";

/// Adds a job (up to [`DEFAULT_MAX_ATTEMPTS`] attempts) to run at `run_at_ms` or later, in
/// the caller's write: it exists exactly when its cause does, and the workers of every
/// server process are woken when the write commits.
pub async fn enqueue(
    write: &mut Write,
    kind: &str,
    payload: &serde_json::Value,
    run_at_ms: i64,
) -> Result<String, AppError> {
    enqueue_with(write, kind, payload, run_at_ms, DEFAULT_MAX_ATTEMPTS).await
}

/// [`enqueue`] with its own number of attempts (at least 1).
pub async fn enqueue_with(
    write: &mut Write,
    kind: &str,
    payload: &serde_json::Value,
    run_at_ms: i64,
    max_attempts: i64,
) -> Result<String, AppError> {
    insert(write, kind, None, payload, run_at_ms, max_attempts).await
}

/// [`enqueue`], unless a job with this `key` is already queued (not yet started): a burst
/// of causes runs the work once. `None` when one was already waiting.
pub async fn enqueue_once(
    write: &mut Write,
    kind: &str,
    key: &str,
    payload: &serde_json::Value,
    run_at_ms: i64,
) -> Result<Option<String>, AppError> {
    let waiting: i64 = sqlx::query_scalar(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE job_key = $1 AND status = 'queued') THEN 1 ELSE 0 END",
    )
    .bind(key)
    .fetch_one(&mut **write)
    .await?;
    if waiting == 1 {
        return Ok(None);
    }
    insert(write, kind, Some(key), payload, run_at_ms, DEFAULT_MAX_ATTEMPTS).await.map(Some)
}

async fn insert(
    write: &mut Write,
    kind: &str,
    key: Option<&str>,
    payload: &serde_json::Value,
    run_at_ms: i64,
    max_attempts: i64,
) -> Result<String, AppError> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO jobs (id, kind, job_key, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7)",
    )
    .bind(&id)
    .bind(kind)
    .bind(key)
    .bind(payload.to_string())
    .bind(max_attempts.max(1))
    .bind(run_at_ms)
    .bind(now)
    .execute(&mut **write)
    .await?;
    write.jobs_enqueued();
    Ok(id)
}

/// The claim statement for `kinds` on `backend` (`$1` now, `$2` lease end, `$3` worker,
/// `$4…` the kinds).
fn claim_sql(backend: Backend, kinds: usize) -> String {
    let kind_list = (0..kinds).map(|i| format!("${}", i + 4)).collect::<Vec<_>>().join(", ");
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2, locked_by = $3, \
         updated_at = $1 \
         WHERE id = (SELECT id FROM jobs \
             WHERE ((status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until < $1)) \
             AND attempts < max_attempts AND kind IN ({kind_list}) \
             ORDER BY run_at, id LIMIT 1{lock}) \
         RETURNING {COLUMNS}"
    )
}

/// Claims the next due job of one of `kinds` for `worker`, holding it for `lease`.
pub async fn claim(db: &Db, worker: &str, kinds: &[&str], lease: Duration) -> Result<Option<JobRow>, AppError> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let now = now_ms();
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 4);
    let sql = claim_sql(db.backend(), kinds.len());
    let mut query = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql)).bind(now).bind(now + lease_ms).bind(worker);
    for kind in kinds {
        query = query.bind(*kind);
    }
    query.fetch_optional(db.write()).await.map_err(AppError::from)
}

/// Marks jobs whose last attempt's lease expired (a worker died on it) as dead. Returns
/// how many.
pub async fn bury_abandoned(db: &Db) -> Result<u64, AppError> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE jobs SET status = 'dead', locked_until = NULL, locked_by = NULL, updated_at = $1, \
         last_error = COALESCE(last_error, 'the worker stopped during the last attempt') \
         WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts",
    )
    .bind(now)
    .execute(db.write())
    .await?;
    Ok(result.rows_affected())
}

/// Deletes jobs finished before `before_ms` (not the dead ones). Returns how many.
pub async fn prune_done(db: &Db, before_ms: i64) -> Result<u64, AppError> {
    let result = sqlx::query("DELETE FROM jobs WHERE status = 'done' AND updated_at < $1")
        .bind(before_ms)
        .execute(db.write())
        .await?;
    Ok(result.rows_affected())
}

/// Extends the lease of a job `worker` is running: a live worker keeps its job, and one
/// that died (a crash, `kill -9`) lets it go within one lease. False when `worker` no
/// longer holds it.
pub async fn renew(db: &Db, id: &str, worker: &str, lease: Duration) -> Result<bool, AppError> {
    let until = now_ms() + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 4);
    let result =
        sqlx::query("UPDATE jobs SET locked_until = $1 WHERE id = $2 AND status = 'running' AND locked_by = $3")
            .bind(until)
            .bind(id)
            .bind(worker)
            .execute(db.write())
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks a job `done`. False when `worker` no longer holds it (its lease expired and
/// another worker took it), in which case nothing changes.
pub async fn complete(db: &Db, id: &str, worker: &str) -> Result<bool, AppError> {
    let result = sqlx::query(
        "UPDATE jobs SET status = 'done', locked_until = NULL, locked_by = NULL, last_error = NULL, updated_at = $1 \
         WHERE id = $2 AND status = 'running' AND locked_by = $3",
    )
    .bind(now_ms())
    .bind(id)
    .bind(worker)
    .execute(db.write())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The waits between attempts: `base` × 2^(attempts − 1), at most `cap`, plus up to 10 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_secs(30), cap: Duration::from_secs(6 * 3600) }
    }
}

impl Backoff {
    /// The wait after the `attempts`-th failed attempt, without jitter.
    pub fn delay_ms(&self, attempts: i64) -> i64 {
        let base = i64::try_from(self.base.as_millis()).unwrap_or(i64::MAX);
        let cap = i64::try_from(self.cap.as_millis()).unwrap_or(i64::MAX);
        let exponent = u32::try_from((attempts - 1).clamp(0, 40)).unwrap_or(40);
        base.saturating_mul(2_i64.saturating_pow(exponent)).min(cap)
    }

    /// [`Backoff::delay_ms`] plus a random 0–10 %, so jobs that failed together spread out.
    pub fn jittered_ms(&self, attempts: i64) -> i64 {
        let delay = self.delay_ms(attempts);
        delay + rand::random_range(0..=delay / 10)
    }
}

/// What [`fail`] did with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// Queued again, to run at this instant (UTC ms).
    Retry { run_at: i64 },
    /// Out of attempts: kept as `dead` with the error.
    Dead,
    /// `worker` no longer held the job; nothing changed.
    NotHeld,
}

/// Records a failed attempt: the job is queued again after the backoff, or becomes
/// `dead` when it has used all its attempts. The error is kept in `last_error`.
pub async fn fail(db: &Db, id: &str, worker: &str, error: &str, backoff: &Backoff) -> Result<Failed, AppError> {
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    let now = now_ms();
    let held: Option<(i64, i64)> = sqlx::query_as(
        "SELECT attempts, max_attempts FROM jobs WHERE id = $1 AND status = 'running' AND locked_by = $2",
    )
    .bind(id)
    .bind(worker)
    .fetch_optional(db.write())
    .await?;
    let Some((attempts, max_attempts)) = held else { return Ok(Failed::NotHeld) };
    let (status, run_at, outcome) = if attempts >= max_attempts {
        (DEAD, None, Failed::Dead)
    } else {
        let run_at = now + backoff.jittered_ms(attempts);
        (QUEUED, Some(run_at), Failed::Retry { run_at })
    };
    let result = sqlx::query(
        "UPDATE jobs SET status = $1, run_at = COALESCE($2, run_at), last_error = $3, locked_until = NULL, \
         locked_by = NULL, updated_at = $4 \
         WHERE id = $5 AND status = 'running' AND locked_by = $6",
    )
    .bind(status)
    .bind(run_at)
    .bind(&error)
    .bind(now)
    .bind(id)
    .bind(worker)
    .execute(db.write())
    .await?;
    Ok(if result.rows_affected() == 1 { outcome } else { Failed::NotHeld })
}

/// Jobs with that status (all when `None`), the most recently changed first (500 at most).
pub async fn list_jobs(db: &Db, status: Option<&str>) -> Result<Vec<JobRow>, AppError> {
    let sql =
        format!("SELECT {COLUMNS} FROM jobs WHERE ($1 = '' OR status = $1) ORDER BY updated_at DESC, id DESC LIMIT $2");
    sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
        .bind(status.unwrap_or(""))
        .bind(LIST_LIMIT)
        .fetch_all(db.read())
        .await
        .map_err(AppError::from)
}

pub async fn find_job(db: &Db, id: &str) -> Result<Option<JobRow>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.read())
        .await
        .map_err(AppError::from)
}

/// Gives a dead job a fresh set of attempts, due now. `NotFound` unless it is dead.
pub async fn retry_dead(db: &Db, id: &str) -> Result<(), AppError> {
    let now = now_ms();
    let mut write = changes::begin_unowned(db).await?;
    let result = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $1, locked_until = NULL, locked_by = NULL, \
         updated_at = $1 WHERE id = $2 AND status = 'dead'",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *write)
    .await?;
    if result.rows_affected() == 1 {
        write.jobs_enqueued();
        write.commit().await
    } else {
        Err(AppError::NotFound)
    }
}

// ---------------------------------------------------------------------------------------
// Handlers and the worker
// ---------------------------------------------------------------------------------------

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Handler = Arc<dyn Fn(Db, serde_json::Value) -> JobFuture + Send + Sync>;
type DeadHook = Arc<dyn Fn(Db, serde_json::Value, String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What a worker can run: kind → `async fn(Db, payload) -> Result<(), String>`, and
/// optionally what to do when a job of that kind dies.
#[derive(Clone, Default)]
pub struct Handlers {
    run: HashMap<String, Handler>,
    dead: HashMap<String, DeadHook>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers").field("kinds", &self.kinds()).finish()
    }
}

impl Handlers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs jobs of `kind` with `handler`. An `Err` is a failed attempt (retried later).
    pub fn add<F, Fut>(mut self, kind: &str, handler: F) -> Self
    where
        F: Fn(Db, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.run.insert(kind.to_owned(), Arc::new(move |db, payload| Box::pin(handler(db, payload))));
        self
    }

    /// Calls `hook(db, payload, last_error)` when a job of `kind` runs out of attempts.
    pub fn on_dead<F, Fut>(mut self, kind: &str, hook: F) -> Self
    where
        F: Fn(Db, serde_json::Value, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.dead.insert(kind.to_owned(), Arc::new(move |db, payload, error| Box::pin(hook(db, payload, error))));
        self
    }

    /// The kinds this worker claims, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.run.keys().cloned().collect();
        kinds.sort();
        kinds
    }

    pub fn handles(&self, kind: &str) -> bool {
        self.run.contains_key(kind)
    }
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Written to `locked_by`; unique per worker (default: `worker-` + a new id).
    pub id: String,
    /// How often to look for due jobs when not woken (see `Bus::wake_jobs`).
    pub poll_every: Duration,
    /// Jobs run at the same time by this worker.
    pub concurrency: usize,
    /// How long a claim holds a job before another worker may take it over; renewed every
    /// third of it while the attempt runs, so only a dead worker's jobs are taken over.
    pub lease: Duration,
    /// How long one attempt may run before it counts as failed.
    pub run_limit: Duration,
    pub backoff: Backoff,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            id: format!("worker-{}", new_id().to_lowercase()),
            poll_every: Duration::from_secs(1),
            concurrency: 4,
            lease: DEFAULT_LEASE,
            run_limit: DEFAULT_RUN_LIMIT,
            backoff: Backoff::default(),
        }
    }
}

/// A running worker. [`WorkerHandle::shutdown`] stops it cleanly; dropping the handle
/// leaves it running.
#[derive(Debug)]
pub struct WorkerHandle {
    id: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Stops claiming and waits up to `grace` for the jobs in flight; jobs still running
    /// then are abandoned and run again when their lease expires.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            tracing::warn!(worker = %self.id, "jobs still running at shutdown: they will be retried");
            task.abort();
        }
    }
}

/// Starts a worker with the default options (poll every second, 4 jobs at a time, a
/// one-minute lease renewed while a job runs, 4.5 minutes an attempt).
pub fn spawn_worker(db: Db, handlers: Handlers) -> WorkerHandle {
    spawn_worker_with(db, handlers, WorkerOptions::default())
}

pub fn spawn_worker_with(db: Db, handlers: Handlers, options: WorkerOptions) -> WorkerHandle {
    let (stop, stopped) = watch::channel(false);
    let id = options.id.clone();
    // The task keeps a sender too, so dropping the handle does not look like a stop.
    let keep_open = stop.clone();
    let task = tokio::spawn(async move {
        run_worker(db, handlers, options, stopped).await;
        drop(keep_open);
    });
    WorkerHandle { id, stop, task }
}

async fn run_worker(db: Db, handlers: Handlers, options: WorkerOptions, mut stopped: watch::Receiver<bool>) {
    let kinds = handlers.kinds();
    let kind_refs: Vec<&str> = kinds.iter().map(String::as_str).collect();
    let concurrency = options.concurrency.max(1);
    let mut running: JoinSet<()> = JoinSet::new();
    let mut last_sweep = 0_i64;
    tracing::debug!(worker = %options.id, ?kinds, "job worker started");
    while !*stopped.borrow() && !kinds.is_empty() {
        // Listen before looking, so a wake-up between the look and the wait is not lost.
        let woken = db.bus().jobs_woken();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let mut trouble = false;
        if now_ms() - last_sweep > 10_000 {
            last_sweep = now_ms();
            if let Err(error) = bury_abandoned(&db).await {
                tracing::warn!(?error, "checking abandoned jobs");
            }
        }
        while running.len() < concurrency {
            match claim(&db, &options.id, &kind_refs, options.lease).await {
                Ok(Some(job)) => {
                    let Some(handler) = handlers.run.get(&job.kind).cloned() else { continue };
                    let dead_hook = handlers.dead.get(&job.kind).cloned();
                    running.spawn(run_job(db.clone(), job, handler, dead_hook, options.clone()));
                }
                Ok(None) => break,
                Err(_) => {
                    // Logged as a storage error; try again at the next poll.
                    trouble = true;
                    break;
                }
            }
        }
        let full = running.len() >= concurrency;
        tokio::select! {
            _ = stopped.changed() => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = &mut woken, if !full && !trouble => {}
            () = tokio::time::sleep(options.poll_every), if !full => {}
        }
    }
    while running.join_next().await.is_some() {}
    tracing::debug!(worker = %options.id, "job worker stopped");
}

/// One attempt: the handler runs in its own task (a panic is a failure) within the run
/// limit, its lease renewed meanwhile.
async fn run_job(db: Db, job: JobRow, handler: Handler, dead_hook: Option<DeadHook>, options: WorkerOptions) {
    let payload = job.payload_json();
    let limit = options.run_limit;
    let attempt = tokio::spawn(handler(db.clone(), payload.clone()));
    let abort = attempt.abort_handle();
    let heartbeat = {
        let (db, id, worker, lease) = (db.clone(), job.id.clone(), options.id.clone(), options.lease);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                match renew(&db, &id, &worker, lease).await {
                    Ok(true) => {}
                    Ok(false) => return, // taken over: nothing more to keep
                    Err(_) => {}         // logged; the next beat tries again
                }
            }
        })
    };
    let outcome = tokio::time::timeout(limit, attempt).await;
    heartbeat.abort();
    let outcome = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(join_error)) => Err(format!("the handler panicked: {join_error}")),
        Err(_) => {
            abort.abort();
            Err(format!("timed out after {} s", limit.as_secs()))
        }
    };
    match outcome {
        Ok(()) => {
            if let Ok(false) = complete(&db, &job.id, &options.id).await {
                tracing::warn!(job = %job.id, kind = %job.kind, "job finished after its lease was taken over");
            }
        }
        Err(error) => {
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, %error, "job failed");
            if let Ok(Failed::Dead) = fail(&db, &job.id, &options.id, &error, &options.backoff).await {
                tracing::error!(job = %job.id, kind = %job.kind, %error, "job is dead after {} attempts", job.attempts);
                if let Some(hook) = dead_hook {
                    hook(db.clone(), payload, error).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_30_seconds_up_to_6_hours() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay_ms(1), 30_000);
        assert_eq!(backoff.delay_ms(2), 60_000);
        assert_eq!(backoff.delay_ms(3), 120_000);
        assert_eq!(backoff.delay_ms(10), 30_000 * 512);
        assert_eq!(backoff.delay_ms(11), 6 * 3600 * 1000);
        assert_eq!(backoff.delay_ms(1000), 6 * 3600 * 1000);
        for attempts in 1..12 {
            let jittered = backoff.jittered_ms(attempts);
            let delay = backoff.delay_ms(attempts);
            assert!((delay..=delay + delay / 10).contains(&jittered), "{attempts}: {jittered}");
        }
    }

    #[test]
    fn only_postgres_claims_skip_locked_rows() {
        assert!(claim_sql(Backend::Postgres, 2).contains("FOR UPDATE SKIP LOCKED"));
        assert!(!claim_sql(Backend::Sqlite, 2).contains("FOR UPDATE"));
        assert!(claim_sql(Backend::Sqlite, 2).contains("kind IN ($4, $5)"));
    }
}
