//! Jobs that keep storage tidy, each queuing its own next run: pruning the change feed
//! and finished jobs (the minute scans alone finish thousands a day).

use super::{Db, changes, jobs, now_ms};
use crate::AppError;

/// The job that prunes the feed: once an hour, changes older than the retention go.
pub const PRUNE_JOB: &str = "prune_changes";

/// Makes sure the pruning job is queued (every server process calls this at start; one
/// job is queued whatever their number).
pub async fn schedule_pruning(db: &Db, run_at_ms: i64) -> Result<(), AppError> {
    let mut write = changes::begin_unowned(db).await?;
    jobs::enqueue_once(&mut write, PRUNE_JOB, PRUNE_JOB, &serde_json::json!({}), run_at_ms).await?;
    write.commit().await
}

/// Runs one pruning and queues the next an hour later.
pub async fn run_pruning(db: &Db, retention_days: i64) -> Result<(), String> {
    let cutoff = now_ms() - retention_days.max(1) * 86_400_000;
    let deleted = changes::prune(db, cutoff).await.map_err(|e| e.to_string())?;
    if deleted > 0 {
        tracing::info!(deleted, retention_days, "pruned the change feed");
    }
    // Jobs done longer ago than the feed is kept; failed (dead) ones stay for the admin page.
    let done = jobs::prune_done(db, cutoff).await.map_err(|e| e.to_string())?;
    if done > 0 {
        tracing::info!(done, retention_days, "pruned finished jobs");
    }
    // The job running now is not `queued`, so the next one can be.
    schedule_pruning(db, now_ms() + 3_600_000).await.map_err(|e| e.to_string())
}
