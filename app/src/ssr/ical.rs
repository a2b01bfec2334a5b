//! iCalendar in and out of storage: importing a file into a calendar (new events added,
//! known UIDs updated, problems reported), exporting a calendar, and the feeds' validators.

use calento::calendar_file::{self, CalendarFile, ExportEvent, ImportedEvent};
use calento::recurrence::{CalTime, Length, Series};
use chrono::NaiveDateTime;
use sqlx::Row;

use super::Db;
use super::calendars::CalendarRow;
use super::changes::{self, Write};
use super::events::{self, EventRow, NewEvent};
use crate::AppError;
use crate::models::{ImportReport, SkippedItem};

/// Events written per transaction, so a large import never holds the writer for long.
const BATCH: usize = 200;

/// Imports a file into `calendar`. The file is refused whole only when it is not a readable
/// calendar; otherwise every event is imported, updated or skipped with its reason. The
/// file's bytes are dropped once it is read, before anything is written.
pub async fn import<B: AsRef<[u8]>>(db: &Db, calendar: &CalendarRow, bytes: B) -> Result<ImportReport, AppError> {
    let file = read(bytes.as_ref())?;
    drop(bytes);
    import_file(db, calendar, file).await
}

/// Reads a calendar file for [`import_file`]; an unreadable file is refused whole.
pub fn read(bytes: &[u8]) -> Result<CalendarFile, AppError> {
    calendar_file::read(bytes)
        .map_err(|e| AppError::Invalid { message: format!("This file cannot be imported: {e}"), fields: Vec::new() })
}

/// Imports a file already read (see [`import`]), a batch of events per transaction; each
/// batch is dropped once written, so memory falls as the import goes.
pub async fn import_file(db: &Db, calendar: &CalendarRow, file: CalendarFile) -> Result<ImportReport, AppError> {
    let CalendarFile { events, skipped, .. } = file;
    let mut report = ImportReport {
        skipped: skipped.into_iter().map(|s| SkippedItem { uid: s.uid, line: s.line, reason: s.reason }).collect(),
        ..ImportReport::default()
    };
    let mut events = events.into_iter();
    loop {
        let batch: Vec<ImportedEvent> = events.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        let mut tx = changes::begin(db, &calendar.user_id).await?;
        for event in &batch {
            let existing: Option<String> =
                sqlx::query("SELECT id FROM events WHERE calendar_id = $1 AND uid = $2 AND master_id IS NULL")
                    .bind(&calendar.id)
                    .bind(&event.uid)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| row.try_get(0))
                    .transpose()?;
            if let Some(id) = &existing {
                events::delete_row(&mut tx, id).await?;
            }
            match write_event(&mut tx, calendar, event, existing.clone()).await {
                Ok(()) if existing.is_some() => report.updated += 1,
                Ok(()) => report.imported += 1,
                Err(AppError::Unexpected) => return Err(AppError::Unexpected),
                Err(other) => report.skipped.push(SkippedItem {
                    uid: Some(event.uid.clone()),
                    line: event.line,
                    reason: other.to_string(),
                }),
            }
        }
        tx.commit().await?;
    }
    report.skipped.sort_by_key(|s| s.line);
    Ok(report)
}

pub async fn write_event(
    tx: &mut Write,
    calendar: &CalendarRow,
    event: &ImportedEvent,
    id: Option<String>,
) -> Result<(), AppError> {
    let master = NewEvent {
        calendar_id: calendar.id.clone(),
        uid: event.uid.clone(),
        master_id: None,
        recurrence: None,
        details: event.details.clone(),
        start: event.start,
        end: event.end,
        series: event.series.clone(),
        sequence: event.sequence,
    };
    let master_id = events::insert(tx, &calendar.user_id, &master, id).await?;
    for exception in &event.exceptions {
        let key = event.series.placed(exception.recurrence_id);
        let row = NewEvent {
            calendar_id: calendar.id.clone(),
            uid: event.uid.clone(),
            master_id: Some(master_id.clone()),
            recurrence: Some(key),
            details: exception.details.clone(),
            start: exception.start,
            end: exception.end,
            series: Series {
                start: exception.start,
                length: match (exception.start, exception.end) {
                    (CalTime::Date(s), CalTime::Date(e)) => Length::Days((e - s).num_days()),
                    (s, e) => Length::Exact(e.axis() - s.axis()),
                },
                rule: None,
                rdates: Vec::new(),
                exdates: Vec::new(),
            },
            sequence: event.sequence,
        };
        events::insert(tx, &calendar.user_id, &row, None).await?;
    }
    Ok(())
}

pub fn at(ms: i64) -> NaiveDateTime {
    super::millis_to_utc(ms).naive_utc()
}

/// The calendar as an iCalendar file.
pub async fn export(db: &Db, calendar: &CalendarRow) -> Result<String, AppError> {
    let rows = events::all_in_calendar(db, &calendar.id).await?;
    file_of(&calendar.name, rows, at(super::now_ms()))
}

/// Rows as an iCalendar file named `name` (none when empty): a calendar's events, or one
/// series with its exceptions (a CalDAV object). `now` is the file's DTSTAMP.
pub fn file_of(name: &str, rows: Vec<EventRow>, now: NaiveDateTime) -> Result<String, AppError> {
    let mut series: Vec<(EventRow, Series)> = Vec::with_capacity(rows.len());
    for row in rows {
        let s = row.series()?;
        series.push((row, s));
    }
    let details: Vec<_> = series.iter().map(|(row, _)| row.details()).collect();
    let mut out = Vec::with_capacity(series.len());
    for ((row, s), details) in series.iter().zip(&details) {
        let master = row.master_id.as_ref().and_then(|m| series.iter().find(|(r, _)| &r.id == m));
        let recurrence_id = match (master, row.recurrence_id.as_deref().and_then(events::parse_instance_key)) {
            (Some((_, master_series)), Some(key)) => Some(written_key(master_series, key)),
            _ => None,
        };
        out.push(ExportEvent {
            uid: &row.uid,
            details,
            start: s.start,
            end: row.end()?,
            series: if row.master_id.is_some() { None } else { Some(s) },
            recurrence_id,
            sequence: row.sequence,
            created: at(row.created_at),
            modified: at(row.updated_at),
        });
    }
    Ok(calendar_file::write(name, &out, now))
}

/// An instance key written as the series writes its times (so RECURRENCE-ID has its TZID).
fn written_key(series: &Series, key: calento::recurrence::Placed) -> calento::recurrence::CalTime {
    use calento::recurrence::{CalTime, Placed, utc_to_local};
    match (series.start, key) {
        (CalTime::Zoned(_, tz), Placed::Utc(t)) => CalTime::Zoned(utc_to_local(tz, t), tz),
        (_, Placed::Date(d)) => CalTime::Date(d),
        (_, Placed::Floating(t)) => CalTime::Floating(t),
        (_, Placed::Utc(t)) => CalTime::Zoned(t, chrono_tz::Tz::UTC),
    }
}

/// The validators of a calendar's feed: a strong ETag and an HTTP date.
pub fn validators(calendar: &CalendarRow) -> (String, String) {
    let etag = format!("\"{}-{}\"", calendar.id, calendar.revision);
    let modified = super::millis_to_utc(calendar.changed_at).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    (etag, modified)
}
