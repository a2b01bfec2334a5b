//! Subscriptions in storage: which calendars are due for a poll, what a poll found, and
//! mirroring a fetched feed into its calendar. Fetching itself is the server's job
//! (`server::subscriptions`).

use std::collections::HashSet;

use sqlx::Row;

use super::calendars::{self, COLUMNS, CalendarRow};
use super::{Db, ical, unexpected};
use crate::AppError;
use crate::models::ImportReport;

/// A poll's error as stored and shown: one line, at most this many characters.
pub const MAX_ERROR_CHARS: usize = 200;
/// Subscriptions without a stored interval are polled this often.
pub const DEFAULT_POLL_MINUTES: i64 = 60;
/// Events deleted per transaction when a feed drops them.
const BATCH: usize = 200;

/// A subscription by id, whoever owns it (for the poller).
pub async fn find(db: &Db, id: &str) -> Result<CalendarRow, AppError> {
    sqlx::query_as::<_, CalendarRow>(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM calendars WHERE id = $1")))
        .bind(id)
        .fetch_optional(db.read())
        .await
        .map_err(|e| unexpected("reading a subscription", e))?
        .ok_or(AppError::NotFound)
}

/// Subscriptions never polled, or last polled at least their interval before `now_ms`,
/// the longest waiting first.
pub async fn due(db: &Db, now_ms: i64, limit: i64) -> Result<Vec<CalendarRow>, AppError> {
    sqlx::query_as::<_, CalendarRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calendars
          WHERE source_url IS NOT NULL
            AND (polled_at IS NULL OR polled_at <= $1 - COALESCE(poll_minutes, $2) * 60000)
          ORDER BY polled_at NULLS FIRST, id
          LIMIT $3"
    )))
    .bind(now_ms)
    .bind(DEFAULT_POLL_MINUTES)
    .bind(limit)
    .fetch_all(db.read())
    .await
    .map_err(|e| unexpected("finding subscriptions to poll", e))
}

/// The source answered 304: nothing changed.
pub async fn record_not_modified(db: &Db, id: &str, now_ms: i64) -> Result<(), AppError> {
    sqlx::query("UPDATE calendars SET polled_at = $1, poll_error = NULL WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(db.write())
        .await
        .map_err(|e| unexpected("recording a poll", e))?;
    Ok(())
}

/// The poll failed: the events stay as they were; the next try comes after the interval.
pub async fn record_failure(db: &Db, id: &str, error: &str, now_ms: i64) -> Result<(), AppError> {
    sqlx::query("UPDATE calendars SET polled_at = $1, poll_error = $2 WHERE id = $3")
        .bind(now_ms)
        .bind(short_error(error))
        .bind(id)
        .execute(db.write())
        .await
        .map_err(|e| unexpected("recording a failed poll", e))?;
    Ok(())
}

/// One line of at most [`MAX_ERROR_CHARS`] characters.
pub fn short_error(error: &str) -> String {
    let line: String = error.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX_ERROR_CHARS {
        line
    } else {
        let cut: String = line.chars().take(MAX_ERROR_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// Makes the calendar a copy of the feed `bytes`: events in the feed are imported (known
/// UIDs replaced), events whose UID left the feed are deleted, and the validators of the
/// response are stored. An unreadable feed changes no event (`Invalid`).
pub async fn mirror(
    db: &Db,
    calendar: &CalendarRow,
    bytes: &[u8],
    etag: Option<&str>,
    last_modified: Option<&str>,
    now_ms: i64,
) -> Result<ImportReport, AppError> {
    let file = ical::read(bytes)?;
    let report = ical::import_file(db, calendar, &file).await?;
    // UIDs the feed still names, including events it has but we could not read.
    let keep: HashSet<&str> = file
        .events
        .iter()
        .map(|e| e.uid.as_str())
        .chain(file.skipped.iter().filter_map(|s| s.uid.as_deref()))
        .collect();
    let rows = sqlx::query("SELECT id, uid FROM events WHERE calendar_id = $1 AND master_id IS NULL")
        .bind(&calendar.id)
        .fetch_all(db.read())
        .await
        .map_err(|e| unexpected("listing a subscription's events", e))?;
    let mut gone = Vec::new();
    for row in rows {
        let id: String = row.try_get(0).map_err(|e| unexpected("reading an id", e))?;
        let uid: String = row.try_get(1).map_err(|e| unexpected("reading a uid", e))?;
        if !keep.contains(uid.as_str()) {
            gone.push(id);
        }
    }
    for batch in gone.chunks(BATCH) {
        let mut tx = db.write().begin().await.map_err(|e| unexpected("starting a mirror", e))?;
        for id in batch {
            sqlx::query("DELETE FROM events WHERE id = $1 AND calendar_id = $2")
                .bind(id)
                .bind(&calendar.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| unexpected("deleting an event the feed dropped", e))?;
        }
        tx.commit().await.map_err(|e| unexpected("committing a mirror", e))?;
    }
    if !gone.is_empty() {
        calendars::touch(db, &calendar.id).await?;
    }
    sqlx::query(
        "UPDATE calendars SET source_etag = $1, source_last_modified = $2, polled_at = $3, poll_error = NULL
          WHERE id = $4",
    )
    .bind(etag)
    .bind(last_modified)
    .bind(now_ms)
    .bind(&calendar.id)
    .execute(db.write())
    .await
    .map_err(|e| unexpected("recording a poll", e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_one_short_line() {
        assert_eq!(short_error("  connection\nrefused  "), "connection refused");
        let long = short_error(&"x".repeat(1000));
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS);
        assert!(long.ends_with('…'));
    }
}
