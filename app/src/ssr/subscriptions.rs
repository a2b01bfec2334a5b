//! Subscriptions in storage: which calendars are due for a poll, what a poll found, and
//! mirroring a fetched feed into its calendar. Fetching itself is the server's job
//! (`server::subscriptions`).

use std::collections::HashSet;

use sqlx::Row;

use super::calendars::{COLUMNS, CalendarRow};
use super::changes::{self, Kind, Op};
use super::{Db, events, ical};
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
        .await?
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
    .map_err(AppError::from)
}

/// The source answered 304: nothing changed.
pub async fn record_not_modified(db: &Db, id: &str, now_ms: i64) -> Result<(), AppError> {
    record_poll(db, id, None, now_ms).await
}

/// The poll failed: the events stay as they were; the next try comes after the interval.
pub async fn record_failure(db: &Db, id: &str, error: &str, now_ms: i64) -> Result<(), AppError> {
    record_poll(db, id, Some(&short_error(error)), now_ms).await
}

/// Stores when a poll ran and its error. The feed hears of it only when the error the
/// calendar shows appears, changes or goes: the time of a poll alone is bookkeeping.
async fn record_poll(db: &Db, id: &str, error: Option<&str>, now_ms: i64) -> Result<(), AppError> {
    let Some((user_id, before)): Option<(String, Option<String>)> =
        sqlx::query_as("SELECT user_id, poll_error FROM calendars WHERE id = $1")
            .bind(id)
            .fetch_optional(db.read())
            .await?
    else {
        return Ok(());
    };
    let mut write = changes::begin(db, &user_id).await?;
    sqlx::query("UPDATE calendars SET polled_at = $1, poll_error = $2 WHERE id = $3")
        .bind(now_ms)
        .bind(error)
        .bind(id)
        .execute(&mut *write)
        .await?;
    if before.as_deref() != error {
        write.record(Kind::Calendar, id, Op::Updated, Some(id));
    }
    write.commit().await
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
    // UIDs the feed still names, including events it has but we could not read.
    let keep: HashSet<String> =
        file.events.iter().map(|e| e.uid.clone()).chain(file.skipped.iter().filter_map(|s| s.uid.clone())).collect();
    let report = ical::import_file(db, calendar, file).await?;
    let rows = sqlx::query("SELECT id, uid FROM events WHERE calendar_id = $1 AND master_id IS NULL")
        .bind(&calendar.id)
        .fetch_all(db.read())
        .await?;
    let mut gone = Vec::new();
    for row in rows {
        let id: String = row.try_get(0)?;
        let uid: String = row.try_get(1)?;
        if !keep.contains(uid.as_str()) {
            gone.push(id);
        }
    }
    for batch in gone.chunks(BATCH) {
        let mut tx = changes::begin(db, &calendar.user_id).await?;
        for id in batch {
            events::delete_row(&mut tx, id).await?;
        }
        tx.commit().await?;
    }
    let mut write = changes::begin(db, &calendar.user_id).await?;
    sqlx::query(
        "UPDATE calendars SET source_etag = $1, source_last_modified = $2, polled_at = $3, poll_error = NULL
          WHERE id = $4",
    )
    .bind(etag)
    .bind(last_modified)
    .bind(now_ms)
    .bind(&calendar.id)
    .execute(&mut *write)
    .await?;
    if calendar.poll_error.is_some() {
        write.record(Kind::Calendar, &calendar.id, Op::Updated, Some(&calendar.id));
    }
    write.commit().await?;
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
