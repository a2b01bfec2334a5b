//! Events in storage: create, read, edit and delete with the three scopes of a repeating
//! event, and the occurrences of a window, expanded from the series in Rust.

use calento::event::{EventDetails, EventTimes, TimesInput, axis_ms, caltime_text, parse_caltime_text, shift_local};
use calento::recurrence::{CalTime, Exception, ExtraDate, Length, Placed, Rule, Series, Until, describe};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use sqlx::Any;

use super::calendars::{self, CalendarRow};
use super::changes::{self, Kind, Op, Write};
use super::{Db, millis_to_utc, new_id, now_ms, unexpected};
use crate::AppError;
use crate::models::{EditScope, EventInfo, EventInput, EventPatch, OccurrenceInfo};

/// Most occurrences one query returns before asking for a shorter range.
pub const MAX_OCCURRENCES: usize = 25_000;
/// The longest window one occurrences query may span.
pub const MAX_WINDOW_DAYS: i64 = 3_700;
/// Floating and all-day times are pinned to UTC on the axis; a viewer may be 14 hours off.
const FLOATING_PAD_MS: i64 = 86_400_000;

/// An event's row. The fields marked `default` are not read for laying out a window
/// ([`WINDOW_COLUMNS`]); everything else reads [`COLUMNS`], all of them.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct EventRow {
    pub id: String,
    pub calendar_id: String,
    #[sqlx(default)]
    pub user_id: String,
    pub uid: String,
    pub master_id: Option<String>,
    pub recurrence_id: Option<String>,
    #[sqlx(default)]
    pub recurrence_ms: Option<i64>,
    pub title: String,
    #[sqlx(default)]
    pub description: String,
    pub location: String,
    #[sqlx(default)]
    pub url: String,
    pub status: String,
    pub transparency: String,
    pub color: Option<String>,
    #[sqlx(default)]
    pub tags: String,
    pub reminders: String,
    #[sqlx(default)]
    pub attendees: String,
    pub all_day: i64,
    pub start_at: String,
    pub end_at: String,
    pub duration: Option<String>,
    pub rrule: Option<String>,
    pub rdates: String,
    pub exdates: String,
    pub start_ms: i64,
    pub end_ms: i64,
    #[sqlx(default)]
    pub span_start_ms: i64,
    #[sqlx(default)]
    pub span_end_ms: Option<i64>,
    #[sqlx(default)]
    pub sequence: i64,
    #[sqlx(default)]
    pub created_at: i64,
    #[sqlx(default)]
    pub updated_at: i64,
}

pub const COLUMNS: &str = "id, calendar_id, user_id, uid, master_id, recurrence_id, recurrence_ms, title, description, \
     location, url, status, transparency, color, tags, reminders, attendees, all_day, start_at, end_at, duration, rrule, \
     rdates, exdates, start_ms, end_ms, span_start_ms, span_end_ms, sequence, created_at, updated_at";

/// The columns a window is laid out from: its times, rules, title, place, colour, status
/// and reminders. Each value a row carries costs the SQLite driver a copy and a conversion
/// (about 0.35 µs, more than SQLite spends finding the row), so the long texts no view
/// shows (description, link, tags, guests) and the bookkeeping (owner, span, sequence,
/// stamps) are not read; `EventRow` fills them with their defaults.
const WINDOW_COLUMNS: [&str; 20] = [
    "id",
    "calendar_id",
    "uid",
    "master_id",
    "recurrence_id",
    "title",
    "location",
    "status",
    "transparency",
    "color",
    "reminders",
    "all_day",
    "start_at",
    "end_at",
    "duration",
    "rrule",
    "rdates",
    "exdates",
    "start_ms",
    "end_ms",
];

/// [`WINDOW_COLUMNS`] of the table named `prefix` (none: the only table).
fn window_columns(prefix: &str) -> String {
    WINDOW_COLUMNS
        .iter()
        .map(|c| if prefix.is_empty() { (*c).to_owned() } else { format!("{prefix}.{c}") })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stored time that cannot be read back means the row was damaged outside Calento.
fn stored_time(text: &str) -> Result<CalTime, AppError> {
    parse_caltime_text(text).ok_or_else(|| unexpected("reading a stored time", text))
}

fn time_list(text: &str) -> Vec<&str> {
    text.split(',').filter(|s| !s.is_empty()).collect()
}

impl EventRow {
    pub fn start(&self) -> Result<CalTime, AppError> {
        stored_time(&self.start_at)
    }

    pub fn end(&self) -> Result<CalTime, AppError> {
        stored_time(&self.end_at)
    }

    pub fn is_recurring(&self) -> bool {
        self.rrule.is_some() || !self.rdates.is_empty()
    }

    pub fn details(&self) -> EventDetails {
        EventDetails {
            title: self.title.clone(),
            description: self.description.clone(),
            location: self.location.clone(),
            url: self.url.clone(),
            status: calento::event::EventStatus::parse(&self.status).unwrap_or_default(),
            transparency: calento::event::Transparency::parse(&self.transparency).unwrap_or_default(),
            color: self.color.clone(),
            tags: serde_json::from_str(&self.tags).unwrap_or_default(),
            reminders: serde_json::from_str(&self.reminders).unwrap_or_default(),
            attendees: serde_json::from_str(&self.attendees).unwrap_or_default(),
        }
    }

    /// The series this row describes (a single event is a series of one).
    pub fn series(&self) -> Result<Series, AppError> {
        let start = self.start()?;
        let end = self.end()?;
        let length = match (&self.duration, start, end) {
            (Some(text), _, _) => nominal_length(text).ok_or_else(|| unexpected("reading a stored duration", text))?,
            (None, CalTime::Date(s), CalTime::Date(e)) => Length::Days((e - s).num_days()),
            (None, _, _) => Length::Exact(end.axis() - start.axis()),
        };
        let rule = match &self.rrule {
            Some(text) => Some(Rule::parse(text).map_err(|e| unexpected("reading a stored rule", e))?),
            None => None,
        };
        let mut rdates = Vec::new();
        for item in time_list(&self.rdates) {
            let (at, end) = match item.split_once(' ') {
                Some((at, end)) => (stored_time(at)?, Some(stored_time(end)?)),
                None => (stored_time(item)?, None),
            };
            rdates.push(ExtraDate { at, end });
        }
        let exdates = time_list(&self.exdates).into_iter().map(stored_time).collect::<Result<Vec<_>, _>>()?;
        Ok(Series { start, length, rule, rdates, exdates })
    }

    /// What an edit form starts from: this row's fields as input.
    pub fn input(&self) -> Result<EventInput, AppError> {
        let start = self.start()?;
        let (zone, start_text) = wall_clock(&start);
        let (_, end_text) = wall_clock(&self.end()?);
        Ok(EventInput {
            calendar_id: Some(self.calendar_id.clone()),
            details: self.details(),
            times: TimesInput {
                start: start_text,
                end: end_text,
                all_day: self.all_day == 1,
                time_zone: zone,
                rrule: self.rrule.clone(),
                exdates: time_list(&self.exdates).into_iter().map(str::to_owned).collect(),
                rdates: time_list(&self.rdates).into_iter().map(str::to_owned).collect(),
            },
        })
    }

    pub fn info(&self, calendar: &CalendarRow) -> Result<EventInfo, AppError> {
        let start = self.start()?;
        let (zone, start_text) = wall_clock(&start);
        let (_, end_text) = wall_clock(&self.end()?);
        let repeats = match &self.rrule {
            Some(text) => Rule::parse(text).ok().map(|rule| describe(&rule, &start)),
            None if !self.rdates.is_empty() => Some("On chosen dates".to_owned()),
            None => None,
        };
        Ok(EventInfo {
            id: self.id.clone(),
            calendar_id: self.calendar_id.clone(),
            uid: self.uid.clone(),
            master_id: self.master_id.clone(),
            recurrence_id: self.recurrence_id.clone(),
            details: self.details(),
            all_day: self.all_day == 1,
            start: start_text,
            end: end_text,
            time_zone: zone,
            start_utc: millis_to_utc(self.start_ms),
            end_utc: millis_to_utc(self.end_ms),
            rrule: self.rrule.clone(),
            repeats,
            exdates: time_list(&self.exdates).into_iter().map(str::to_owned).collect(),
            rdates: time_list(&self.rdates).into_iter().map(str::to_owned).collect(),
            read_only: calendar.read_only(),
            created_at: millis_to_utc(self.created_at),
            updated_at: millis_to_utc(self.updated_at),
        })
    }
}

/// The zone (if any) and wall-clock text of a time, as forms and the API show it.
fn wall_clock(time: &CalTime) -> (Option<String>, String) {
    match time {
        CalTime::Date(d) => (None, d.format("%Y-%m-%d").to_string()),
        CalTime::Floating(t) => (None, t.format("%Y-%m-%dT%H:%M:%S").to_string()),
        CalTime::Zoned(t, tz) => (Some(tz.name().to_owned()), t.format("%Y-%m-%dT%H:%M:%S").to_string()),
    }
}

fn nominal_length(text: &str) -> Option<Length> {
    let (days, seconds) = text.split_once(':')?;
    Some(Length::Nominal { days: days.parse().ok()?, exact: Duration::seconds(seconds.parse().ok()?) })
}

/// The stored form of a nominal length: `days:seconds`.
pub fn nominal_text(length: &Length) -> Option<String> {
    match length {
        Length::Nominal { days, exact } => Some(format!("{days}:{}", exact.num_seconds())),
        _ => None,
    }
}

/// A new row's content: validated details and series, and where it belongs.
pub struct NewEvent {
    pub calendar_id: String,
    pub uid: String,
    pub master_id: Option<String>,
    pub recurrence: Option<Placed>,
    pub details: EventDetails,
    pub start: CalTime,
    pub end: CalTime,
    pub series: Series,
    pub sequence: i64,
}

impl NewEvent {
    fn span(&self) -> Result<(i64, Option<i64>), AppError> {
        let (first, last) =
            self.series.span().map_err(|e| AppError::field(calento::FieldError::new("rrule", e.to_string())))?;
        let pad = if matches!(self.start, CalTime::Zoned(..)) { 0 } else { FLOATING_PAD_MS };
        let ms = |t: NaiveDateTime| t.and_utc().timestamp_millis();
        Ok((ms(first) - pad, last.map(|l| ms(l) + pad)))
    }
}

fn join_times(times: &[CalTime]) -> String {
    times.iter().map(caltime_text).collect::<Vec<_>>().join(",")
}

fn join_extra(dates: &[ExtraDate]) -> String {
    dates
        .iter()
        .map(|d| match &d.end {
            // A PERIOD: start and end separated by a space (zone names contain slashes).
            Some(end) => format!("{} {}", caltime_text(&d.at), caltime_text(end)),
            None => caltime_text(&d.at),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn placed_text(placed: &Placed) -> String {
    placed.to_string()
}

/// The columns an event's content is stored in, in the order [`bind_content`] binds them.
const CONTENT_COLUMNS: [&str; 23] = [
    "calendar_id",
    "title",
    "description",
    "location",
    "url",
    "status",
    "transparency",
    "color",
    "tags",
    "reminders",
    "attendees",
    "all_day",
    "start_at",
    "end_at",
    "duration",
    "rrule",
    "rdates",
    "exdates",
    "start_ms",
    "end_ms",
    "span_start_ms",
    "span_end_ms",
    "sequence",
];

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// Binds an event's content, one value per entry of [`CONTENT_COLUMNS`].
fn bind_content<'q>(query: AnyQuery<'q>, event: &NewEvent, (span_start, span_end): (i64, Option<i64>)) -> AnyQuery<'q> {
    let d = &event.details;
    query
        .bind(event.calendar_id.clone())
        .bind(d.title.clone())
        .bind(d.description.clone())
        .bind(d.location.clone())
        .bind(d.url.clone())
        .bind(d.status.as_str())
        .bind(d.transparency.as_str())
        .bind(d.color.clone())
        .bind(to_json(&d.tags))
        .bind(to_json(&d.reminders))
        .bind(to_json(&d.attendees))
        .bind(i64::from(matches!(event.start, CalTime::Date(_))))
        .bind(caltime_text(&event.start))
        .bind(caltime_text(&event.end))
        .bind(nominal_text(&event.series.length))
        .bind(event.series.rule.as_ref().map(|r| r.to_string()))
        .bind(join_extra(&event.series.rdates))
        .bind(join_times(&event.series.exdates))
        .bind(axis_ms(&event.start))
        .bind(axis_ms(&event.end))
        .bind(span_start)
        .bind(span_end)
        .bind(event.sequence)
}

/// Writes a new row (inside the caller's transaction) and returns its id.
pub async fn insert(tx: &mut Write, user_id: &str, event: &NewEvent, id: Option<String>) -> Result<String, AppError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let n = CONTENT_COLUMNS.len();
        let content_params = (7..7 + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        format!(
            "INSERT INTO events (id, user_id, uid, master_id, recurrence_id, recurrence_ms, {}, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, {content_params}, ${at}, ${at})",
            CONTENT_COLUMNS.join(", "),
            at = 7 + n
        )
    });
    let span = event.span()?;
    let id = id.unwrap_or_else(new_id);
    let query = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(id.clone())
        .bind(user_id.to_owned())
        .bind(event.uid.clone())
        .bind(event.master_id.clone())
        .bind(event.recurrence.as_ref().map(placed_text))
        .bind(event.recurrence.as_ref().map(Placed::axis_ms));
    bind_content(query, event, span).bind(now_ms()).execute(&mut **tx).await.map_err(|e| {
        if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
            AppError::bad_request("An event with this UID (or this instance) already exists in the calendar.")
        } else {
            unexpected("inserting an event", e)
        }
    })?;
    tx.record(Kind::Event, &id, Op::Created, Some(&event.calendar_id));
    Ok(id)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

/// Deletes a row and, for a series, its exceptions.
pub async fn delete_row(tx: &mut Write, id: &str) -> Result<(), AppError> {
    let gone: Vec<(String, String)> =
        sqlx::query_as("DELETE FROM events WHERE id = $1 OR master_id = $1 RETURNING id, calendar_id")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    for (id, calendar_id) in gone {
        tx.record(Kind::Event, &id, Op::Deleted, Some(&calendar_id));
    }
    Ok(())
}

/// Records that an event moved from one calendar to another: gone from the first, new in
/// the second (what per-calendar sync needs to see).
fn record_move(tx: &mut Write, id: &str, from: &str, to: &str) {
    tx.record(Kind::Event, id, Op::Deleted, Some(from));
    tx.record(Kind::Event, id, Op::Created, Some(to));
}

/// Replaces a row's content in place (same id, creation time and exceptions).
async fn replace(tx: &mut Write, old: &EventRow, event: &NewEvent) -> Result<(), AppError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let n = CONTENT_COLUMNS.len();
        let sets = CONTENT_COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect::<Vec<_>>();
        format!("UPDATE events SET {}, updated_at = ${} WHERE id = ${}", sets.join(", "), n + 1, n + 2)
    });
    let query = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()));
    bind_content(query, event, event.span()?).bind(now_ms()).bind(old.id.clone()).execute(&mut **tx).await?;
    if event.calendar_id == old.calendar_id {
        tx.record(Kind::Event, &old.id, Op::Updated, Some(&old.calendar_id));
    } else {
        record_move(tx, &old.id, &old.calendar_id, &event.calendar_id);
        let moved: Vec<String> =
            sqlx::query_scalar("UPDATE events SET calendar_id = $1 WHERE master_id = $2 RETURNING id")
                .bind(&event.calendar_id)
                .bind(&old.id)
                .fetch_all(&mut **tx)
                .await?;
        for id in moved {
            record_move(tx, &id, &old.calendar_id, &event.calendar_id);
        }
    }
    Ok(())
}

pub async fn find(db: &Db, user_id: &str, id: &str) -> Result<EventRow, AppError> {
    sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM events WHERE id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)
}

async fn exceptions_of(db: &Db, master_id: &str) -> Result<Vec<EventRow>, AppError> {
    sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM events WHERE master_id = $1 ORDER BY recurrence_ms"
    )))
    .bind(master_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

pub async fn get(db: &Db, user_id: &str, id: &str) -> Result<EventInfo, AppError> {
    let row = find(db, user_id, id).await?;
    let calendar = calendars::find(db, user_id, &row.calendar_id).await?;
    row.info(&calendar)
}

/// Validates an input against its calendar: every problem at once.
fn validate(input: EventInput, calendar: &CalendarRow) -> Result<(EventDetails, EventTimes), AppError> {
    let details = input.details.validate();
    let times = EventTimes::parse(&input.times, calendar.tz());
    match (details, times) {
        (Ok(d), Ok(t)) => Ok((d, t)),
        (d, t) => Err(AppError::fields(d.err().into_iter().chain(t.err()).flatten().collect())),
    }
}

fn writable(calendar: &CalendarRow) -> Result<(), AppError> {
    if calendar.mirror.is_some() && calendar.read_only() {
        Err(AppError::bad_request("This calendar shows busy time from a connected account; change its events there."))
    } else if calendar.read_only() {
        Err(AppError::bad_request("This calendar is a subscription; its events cannot be changed here."))
    } else {
        Ok(())
    }
}

/// Creates an event.
pub async fn create(db: &Db, user_id: &str, input: EventInput) -> Result<EventInfo, AppError> {
    create_with(db, user_id, input, false).await
}

/// Creates an event; with `calendar_defaults` (the person gave no reminders: the API body
/// has no `reminders`, the form left them as offered) it gets its calendar's default
/// reminders.
pub async fn create_with(
    db: &Db,
    user_id: &str,
    input: EventInput,
    calendar_defaults: bool,
) -> Result<EventInfo, AppError> {
    let (calendar, mut event) = prepare_new(db, user_id, input).await?;
    if calendar_defaults && event.details.reminders.is_empty() {
        event.details.reminders = calendar.default_reminders();
    }
    let mut tx = changes::begin(db, user_id).await?;
    let id = insert(&mut tx, user_id, &event, None).await?;
    tx.commit().await?;
    get(db, user_id, &id).await
}

/// Validates a new event for its calendar (the default one when none is named), ready for
/// [`insert`] in the caller's transaction.
pub async fn prepare_new(db: &Db, user_id: &str, input: EventInput) -> Result<(CalendarRow, NewEvent), AppError> {
    let calendar = match input.calendar_id.as_deref().filter(|c| !c.is_empty()) {
        Some(id) => calendars::find(db, user_id, id)
            .await
            .map_err(|_| AppError::field(calento::FieldError::new("calendar_id", "Choose one of your calendars.")))?,
        None => calendars::default_for(db, user_id).await?,
    };
    writable(&calendar)?;
    let (details, times) = validate(input, &calendar)?;
    let event = NewEvent {
        calendar_id: calendar.id.clone(),
        uid: format!("{}@calento", new_id()),
        master_id: None,
        recurrence: None,
        details,
        start: times.start,
        end: times.end,
        series: times.series,
        sequence: 0,
    };
    Ok((calendar, event))
}

/// Reads an instance key as the occurrences API writes it: `…Z`, `YYYY-MM-DD` or a floating time.
pub fn parse_instance_key(text: &str) -> Option<Placed> {
    let text = text.trim();
    if let Some(utc) = text.strip_suffix('Z') {
        return NaiveDateTime::parse_from_str(utc, "%Y-%m-%dT%H:%M:%S").ok().map(Placed::Utc);
    }
    if text.len() == 10 {
        return NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Placed::Date);
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok().map(Placed::Floating)
}

fn placed_as_caltime(placed: Placed) -> CalTime {
    match placed {
        Placed::Date(d) => CalTime::Date(d),
        Placed::Floating(t) => CalTime::Floating(t),
        Placed::Utc(t) => CalTime::Zoned(t, Tz::UTC),
    }
}

/// The instance of `series` whose original start is `key`, if it is one.
fn instance_at(series: &Series, key: Placed) -> Result<Option<calento::recurrence::Instance>, AppError> {
    let at = series.placed(placed_as_caltime(key));
    let around = at.axis();
    let window = series
        .instances(around - Duration::days(1), around + Duration::days(1), 10_000)
        .map_err(|e| AppError::bad_request(e.to_string()))?;
    Ok(window.into_iter().find(|i| i.recurrence_id == at))
}

/// The instance key an edit or delete names, required for the "this" and "following" scopes.
fn required_key(recurrence_id: Option<&str>) -> Result<Placed, AppError> {
    recurrence_id.and_then(parse_instance_key).ok_or_else(|| {
        AppError::field(calento::FieldError::new(
            "recurrence_id",
            "Name the occurrence by its original start, as the occurrences list gives it.",
        ))
    })
}

/// The instance's start written in the series' own zone (what a new exception starts from).
fn as_written(series: &Series, placed: Placed) -> CalTime {
    match (series.start, placed) {
        (CalTime::Zoned(_, tz), Placed::Utc(t)) => CalTime::Zoned(calento::recurrence::utc_to_local(tz, t), tz),
        (_, other) => placed_as_caltime(other),
    }
}

/// The end of an instance starting at `start` (as written), following the series' length.
fn end_as_written(start: &CalTime, end: Placed) -> CalTime {
    match (start, end) {
        (CalTime::Zoned(_, tz), Placed::Utc(t)) => CalTime::Zoned(calento::recurrence::utc_to_local(*tz, t), *tz),
        (_, other) => placed_as_caltime(other),
    }
}

/// Whether `key` is the series' first instance (so "this and following" means all of it).
fn is_first(series: &Series, key: Placed) -> bool {
    let start = series.placed(series.start).axis();
    let first = series.rdates.iter().map(|r| series.placed(r.at).axis()).fold(start, NaiveDateTime::min);
    key.axis() <= first
}

/// UNTIL for a series that must end just before the instance `key`.
fn until_before(series: &Series, key: Placed) -> Until {
    match (series.start, key) {
        (CalTime::Date(_), key) => Until::Date(key.axis().date() - Duration::days(1)),
        (CalTime::Floating(_), key) => Until::Local(key.axis() - Duration::seconds(1)),
        (CalTime::Zoned(..), key) => Until::Utc(key.axis() - Duration::seconds(1)),
    }
}

/// UNTIL that keeps the instance `key` as the last one.
fn until_at(series: &Series, key: Placed) -> Until {
    match series.start {
        CalTime::Date(_) => Until::Date(key.axis().date()),
        CalTime::Floating(_) => Until::Local(key.axis()),
        CalTime::Zoned(..) => Until::Utc(key.axis()),
    }
}

fn new_event_from(row: &EventRow, details: EventDetails, times: EventTimes, calendar_id: &str) -> NewEvent {
    NewEvent {
        calendar_id: calendar_id.to_owned(),
        uid: row.uid.clone(),
        master_id: row.master_id.clone(),
        recurrence: row.recurrence_id.as_deref().and_then(parse_instance_key),
        details,
        start: times.start,
        end: times.end,
        series: times.series,
        sequence: row.sequence + 1,
    }
}

/// Changes an event. For a repeating one, `scope` says which instances; "this" and
/// "following" name the instance by `recurrence_id` (its original start).
pub async fn update(
    db: &Db,
    user_id: &str,
    id: &str,
    patch: &EventPatch,
    scope: EditScope,
    recurrence_id: Option<&str>,
) -> Result<EventInfo, AppError> {
    let row = find(db, user_id, id).await?;
    let calendar = calendars::find(db, user_id, &row.calendar_id).await?;
    writable(&calendar)?;
    if let Some(master_id) = &row.master_id {
        // An exception edited directly is "this occurrence"; wider scopes act on its series.
        if scope == EditScope::This {
            return update_single(db, user_id, &row, &calendar, patch).await;
        }
        let key = row.recurrence_id.clone();
        return Box::pin(update(db, user_id, master_id, patch, scope, key.as_deref())).await;
    }
    if !row.is_recurring() {
        return update_all(db, user_id, &row, &calendar, patch).await;
    }
    let series = row.series()?;
    if scope == EditScope::All {
        // Times edited on one occurrence move the whole series by the same amount.
        let patch = match recurrence_id.and_then(parse_instance_key) {
            Some(key) => match instance_at(&series, key)? {
                Some(instance) => relative_to_series(&row, &series, instance, &calendar, patch)?,
                None => return Err(AppError::NotFound),
            },
            None => patch.clone(),
        };
        return update_all(db, user_id, &row, &calendar, &patch).await;
    }
    let key = required_key(recurrence_id)?;
    let instance = instance_at(&series, key)?.ok_or(AppError::NotFound)?;
    match scope {
        EditScope::This => {
            let existing = exceptions_of(db, &row.id)
                .await?
                .into_iter()
                .find(|e| e.recurrence_ms == Some(instance.recurrence_id.axis_ms()));
            if let Some(exception) = existing {
                return update_single(db, user_id, &exception, &calendar, patch).await;
            }
            let start = as_written(&series, instance.start);
            let end = end_as_written(&start, instance.end);
            let mut base = row.input()?;
            let (zone, start_text) = wall_clock(&start);
            base.times = TimesInput {
                start: start_text,
                end: wall_clock(&end).1,
                all_day: matches!(start, CalTime::Date(_)),
                time_zone: zone,
                ..TimesInput::default()
            };
            let mut input = patch.apply(&base);
            input.times.rrule = None;
            input.times.exdates.clear();
            input.times.rdates.clear();
            input.calendar_id = Some(row.calendar_id.clone());
            let (details, times) = validate(input, &calendar)?;
            let event = NewEvent {
                calendar_id: row.calendar_id.clone(),
                uid: row.uid.clone(),
                master_id: Some(row.id.clone()),
                recurrence: Some(instance.recurrence_id),
                details,
                start: times.start,
                end: times.end,
                series: times.series,
                sequence: row.sequence + 1,
            };
            let mut tx = changes::begin(db, user_id).await?;
            let new_id = insert(&mut tx, user_id, &event, None).await?;
            tx.commit().await?;
            get(db, user_id, &new_id).await
        }
        EditScope::Following => {
            if is_first(&series, instance.recurrence_id) {
                return update_all(db, user_id, &row, &calendar, patch).await;
            }
            split(db, user_id, &row, &calendar, &series, instance, patch).await
        }
        EditScope::All => update_all(db, user_id, &row, &calendar, patch).await,
    }
}

async fn update_single(
    db: &Db,
    user_id: &str,
    row: &EventRow,
    calendar: &CalendarRow,
    patch: &EventPatch,
) -> Result<EventInfo, AppError> {
    let mut input = patch.apply(&row.input()?);
    if row.master_id.is_some() {
        // An exception stays in its series' calendar and does not repeat on its own.
        input.calendar_id = Some(row.calendar_id.clone());
        input.times.rrule = None;
        input.times.rdates.clear();
        input.times.exdates.clear();
    }
    let target = target_calendar(db, user_id, &input, calendar).await?;
    let (details, times) = validate(input, &target)?;
    let event = new_event_from(row, details, times, &target.id);
    let mut tx = changes::begin(db, user_id).await?;
    replace(&mut tx, row, &event).await?;
    tx.commit().await?;
    get(db, user_id, &row.id).await
}

async fn target_calendar(
    db: &Db,
    user_id: &str,
    input: &EventInput,
    current: &CalendarRow,
) -> Result<CalendarRow, AppError> {
    match input.calendar_id.as_deref() {
        Some(id) if id != current.id => {
            let target = calendars::find(db, user_id, id).await.map_err(|_| {
                AppError::field(calento::FieldError::new("calendar_id", "Choose one of your calendars."))
            })?;
            writable(&target)?;
            Ok(target)
        }
        _ => Ok(current.clone()),
    }
}

/// A patch whose start and end were written for one occurrence, rewritten for the series:
/// DTSTART moves by as much as the occurrence moved, and the new length is kept.
fn relative_to_series(
    row: &EventRow,
    series: &Series,
    instance: calento::recurrence::Instance,
    calendar: &CalendarRow,
    patch: &EventPatch,
) -> Result<EventPatch, AppError> {
    if !patch.touches_times() {
        return Ok(patch.clone());
    }
    let occurrence_start = as_written(series, instance.start);
    let occurrence_end = end_as_written(&occurrence_start, instance.end);
    let mut base = row.input()?;
    let (zone, start_text) = wall_clock(&occurrence_start);
    base.times.start = start_text;
    base.times.end = wall_clock(&occurrence_end).1;
    base.times.time_zone = zone;
    let merged = patch.apply(&base);
    // Invalid times are left for validation to report against the fields as entered.
    let Ok(edited) = EventTimes::parse(&merged.times, calendar.tz()) else { return Ok(patch.clone()) };
    let delta = edited.start.local() - occurrence_start.local();
    let span = edited.end.local() - edited.start.local();
    let new_start = shift_local(&series.start, delta);
    let new_end = shift_local(&new_start, span);
    let mut out = patch.clone();
    out.start = Some(Some(wall_clock(&new_start).1));
    out.end = Some(Some(wall_clock(&new_end).1));
    Ok(out)
}

/// Edits a whole series. A moved start moves the exclusions and exceptions with it; a new
/// rule starts the series afresh (its exceptions no longer name real instances).
async fn update_all(
    db: &Db,
    user_id: &str,
    row: &EventRow,
    calendar: &CalendarRow,
    patch: &EventPatch,
) -> Result<EventInfo, AppError> {
    let before = row.input()?;
    let input = patch.apply(&before);
    let target = target_calendar(db, user_id, &input, calendar).await?;
    let rule_changed = input.times.rrule.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(Rule::parse)
        != before.times.rrule.as_deref().map(Rule::parse);
    let (details, mut times) = validate(input, &target)?;
    let old_series = row.series()?;
    let delta = times.start.local() - old_series.start.local();
    let exceptions = exceptions_of(db, &row.id).await?;
    let mut tx = changes::begin(db, user_id).await?;
    if rule_changed {
        times.series.exdates.clear();
        for exception in &exceptions {
            delete_row(&mut tx, &exception.id).await?;
        }
    } else if delta != Duration::zero() {
        times.series.exdates = times.series.exdates.iter().map(|t| shift_local(t, delta)).collect();
    }
    let event = new_event_from(row, details, times, &target.id);
    replace(&mut tx, row, &event).await?;
    if !rule_changed && delta != Duration::zero() {
        let new_series = event.series.clone();
        for exception in &exceptions {
            let Some(old_key) = exception.recurrence_id.as_deref().and_then(parse_instance_key) else { continue };
            let moved = shift_local(&as_written(&old_series, old_key), delta);
            let key = new_series.placed(moved);
            sqlx::query("UPDATE events SET recurrence_id = $1, recurrence_ms = $2 WHERE id = $3")
                .bind(key.to_string())
                .bind(key.axis_ms())
                .bind(&exception.id)
                .execute(&mut *tx)
                .await?;
            tx.record(Kind::Event, &exception.id, Op::Updated, Some(&target.id));
        }
    }
    tx.commit().await?;
    get(db, user_id, &row.id).await
}

/// "This and following": the series ends before the instance, and a new series starts
/// there with the changes; later exceptions and exclusions move to the new series.
async fn split(
    db: &Db,
    user_id: &str,
    row: &EventRow,
    calendar: &CalendarRow,
    series: &Series,
    instance: calento::recurrence::Instance,
    patch: &EventPatch,
) -> Result<EventInfo, AppError> {
    let key = instance.recurrence_id;
    let cut = key.axis();
    // The old series keeps what comes before the instance.
    let mut head = series.clone();
    let last_instance = last_start(series)?;
    if let Some(rule) = head.rule.as_mut() {
        rule.count = None;
        rule.until = Some(until_before(series, key));
    }
    head.rdates.retain(|r| series.placed(r.at).axis() < cut);
    head.exdates.retain(|t| series.placed(*t).axis() < cut);
    // The new series starts at the instance, with the changes.
    let start = as_written(series, instance.start);
    let end = end_as_written(&start, instance.end);
    let mut base = row.input()?;
    let (zone, start_text) = wall_clock(&start);
    base.times.start = start_text;
    base.times.end = wall_clock(&end).1;
    base.times.time_zone = zone;
    if let Some(rule) = series.rule.as_ref() {
        let mut tail_rule = rule.clone();
        if tail_rule.count.is_some() {
            tail_rule.count = None;
            tail_rule.until = last_instance.map(|last| until_at(series, last));
        }
        base.times.rrule = Some(tail_rule.to_string());
    }
    base.times.exdates = series.exdates.iter().filter(|t| series.placed(**t).axis() >= cut).map(caltime_text).collect();
    base.times.rdates =
        series.rdates.iter().filter(|r| series.placed(r.at).axis() >= cut).map(|r| caltime_text(&r.at)).collect();
    let input = patch.apply(&base);
    let target = target_calendar(db, user_id, &input, calendar).await?;
    let (details, times) = validate(input, &target)?;
    let delta = times.start.local() - start.local();
    let tail = NewEvent {
        calendar_id: target.id.clone(),
        uid: format!("{}@calento", new_id()),
        master_id: None,
        recurrence: None,
        details,
        start: times.start,
        end: times.end,
        series: times.series,
        sequence: 0,
    };
    let head_event = NewEvent {
        calendar_id: row.calendar_id.clone(),
        uid: row.uid.clone(),
        master_id: None,
        recurrence: None,
        details: row.details(),
        start: head.start,
        end: row.end()?,
        series: head,
        sequence: row.sequence + 1,
    };
    let exceptions = exceptions_of(db, &row.id).await?;
    let mut tx = changes::begin(db, user_id).await?;
    let tail_id = insert(&mut tx, user_id, &tail, None).await?;
    for exception in exceptions.iter().filter(|e| e.recurrence_ms.is_some_and(|ms| ms >= key.axis_ms())) {
        let moved = exception
            .recurrence_id
            .as_deref()
            .and_then(parse_instance_key)
            .map(|k| tail.series.placed(shift_local(&as_written(series, k), delta)));
        match moved {
            Some(new_key) => {
                sqlx::query(
                    "UPDATE events SET master_id = $1, uid = $2, calendar_id = $3, recurrence_id = $4, recurrence_ms = $5
                     WHERE id = $6",
                )
                .bind(&tail_id)
                .bind(&tail.uid)
                .bind(&tail.calendar_id)
                .bind(new_key.to_string())
                .bind(new_key.axis_ms())
                .bind(&exception.id)
                .execute(&mut *tx)
                .await?;
                if exception.calendar_id == tail.calendar_id {
                    tx.record(Kind::Event, &exception.id, Op::Updated, Some(&tail.calendar_id));
                } else {
                    record_move(&mut tx, &exception.id, &exception.calendar_id, &tail.calendar_id);
                }
            }
            None => delete_row(&mut tx, &exception.id).await?,
        }
    }
    replace(&mut tx, row, &head_event).await?;
    tx.commit().await?;
    get(db, user_id, &tail_id).await
}

/// The start of the last instance of a bounded series (`None` when it never ends).
fn last_start(series: &Series) -> Result<Option<Placed>, AppError> {
    if !series.rule.as_ref().is_none_or(|r| r.is_bounded()) {
        return Ok(None);
    }
    let min = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN).and_time(NaiveTime::MIN);
    let max = NaiveDate::from_ymd_opt(9999, 12, 31).map(|d| d.and_time(NaiveTime::MIN)).unwrap_or(min);
    let all = series
        .instances(min, max, calento::recurrence::MAX_COUNT as usize + series.rdates.len() + 1)
        .map_err(|e| AppError::bad_request(e.to_string()))?;
    Ok(all.last().map(|i| i.recurrence_id))
}

/// Deletes an event; for a repeating one, `scope` says which instances.
pub async fn delete(
    db: &Db,
    user_id: &str,
    id: &str,
    scope: EditScope,
    recurrence_id: Option<&str>,
) -> Result<(), AppError> {
    let row = find(db, user_id, id).await?;
    let calendar = calendars::find(db, user_id, &row.calendar_id).await?;
    writable(&calendar)?;
    if let Some(master_id) = &row.master_id {
        let key = row.recurrence_id.clone();
        let scope = if scope == EditScope::All { EditScope::All } else { scope };
        if scope == EditScope::All {
            return Box::pin(delete(db, user_id, master_id, EditScope::All, None)).await;
        }
        return Box::pin(delete(db, user_id, master_id, scope, key.as_deref())).await;
    }
    if !row.is_recurring() || scope == EditScope::All {
        let mut tx = changes::begin(db, user_id).await?;
        delete_row(&mut tx, &row.id).await?;
        return tx.commit().await;
    }
    let series = row.series()?;
    let key = required_key(recurrence_id)?;
    let instance = instance_at(&series, key)?;
    let exceptions = exceptions_of(db, &row.id).await?;
    let at = series.placed(placed_as_caltime(key));
    if instance.is_none() && !exceptions.iter().any(|e| e.recurrence_ms == Some(at.axis_ms())) {
        return Err(AppError::NotFound);
    }
    let mut updated = series.clone();
    let mut tx = changes::begin(db, user_id).await?;
    match scope {
        EditScope::This => {
            updated.exdates.push(placed_as_caltime(at));
            for exception in exceptions.iter().filter(|e| e.recurrence_ms == Some(at.axis_ms())) {
                delete_row(&mut tx, &exception.id).await?;
            }
        }
        _ => {
            if is_first(&series, at) {
                delete_row(&mut tx, &row.id).await?;
                return tx.commit().await;
            }
            if let Some(rule) = updated.rule.as_mut() {
                rule.count = None;
                rule.until = Some(until_before(&series, at));
            }
            updated.rdates.retain(|r| series.placed(r.at).axis() < at.axis());
            updated.exdates.retain(|t| series.placed(*t).axis() < at.axis());
            for exception in exceptions.iter().filter(|e| e.recurrence_ms.is_some_and(|ms| ms >= at.axis_ms())) {
                delete_row(&mut tx, &exception.id).await?;
            }
        }
    }
    let event = NewEvent {
        calendar_id: row.calendar_id.clone(),
        uid: row.uid.clone(),
        master_id: None,
        recurrence: None,
        details: row.details(),
        start: updated.start,
        end: row.end()?,
        series: updated,
        sequence: row.sequence + 1,
    };
    replace(&mut tx, &row, &event).await?;
    tx.commit().await
}

/// How long a deleted event can be put back ("Undo" shows for eight seconds; a slow
/// click or a second tab still gets it back).
const UNDO_MS: i64 = 10 * 60 * 1000;

/// A deleted event's way back: the token `restore` takes, and the title to show.
pub struct Undo {
    pub token: String,
    pub title: String,
}

/// A task's time block, as kept with a deleted event so "Undo" links it again.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
struct BlockRow {
    event_id: String,
    task_id: String,
    start_ms: i64,
    end_ms: i64,
    reason: String,
    created_at: i64,
}

/// [`delete`], keeping the series' rows as they were (the master, its exceptions and
/// the time blocks pointing at them) for [`restore`].
pub async fn delete_with_undo(
    db: &Db,
    user_id: &str,
    id: &str,
    scope: EditScope,
    recurrence_id: Option<&str>,
) -> Result<Undo, AppError> {
    let row = find(db, user_id, id).await?;
    let master_id = row.master_id.clone().unwrap_or_else(|| row.id.clone());
    let master = if row.master_id.is_some() { find(db, user_id, &master_id).await? } else { row.clone() };
    let mut rows = vec![master];
    rows.extend(exceptions_of(db, &master_id).await?);
    let blocks: Vec<BlockRow> = sqlx::query_as(
        "SELECT event_id, task_id, start_ms, end_ms, reason, created_at FROM task_blocks
         WHERE user_id = $1 AND event_id IN (SELECT id FROM events WHERE id = $2 OR master_id = $2)",
    )
    .bind(user_id)
    .bind(&master_id)
    .fetch_all(db.read())
    .await?;
    delete(db, user_id, id, scope, recurrence_id).await?;
    let token = new_id();
    let now = now_ms();
    sqlx::query("DELETE FROM event_trash WHERE created_at < $1").bind(now - 6 * UNDO_MS).execute(db.write()).await?;
    sqlx::query(
        "INSERT INTO event_trash (id, user_id, master_id, title, rows_json, blocks_json, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&token)
    .bind(user_id)
    .bind(&master_id)
    .bind(&row.title)
    .bind(to_json(&rows))
    .bind(to_json(&blocks))
    .bind(now)
    .execute(db.write())
    .await?;
    Ok(Undo { token, title: row.title })
}

/// Puts back what a delete removed (its token from [`delete_with_undo`]), as it was:
/// the same ids, UID, occurrences and exceptions, time blocks linked again. Whatever the
/// series became since the delete is replaced. Returns the event's title.
pub async fn restore(db: &Db, user_id: &str, token: &str) -> Result<String, AppError> {
    let kept: Option<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT master_id, title, rows_json, blocks_json, created_at FROM event_trash WHERE id = $1 AND user_id = $2",
    )
    .bind(token)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?;
    let Some((master_id, title, rows_json, blocks_json, at)) = kept else { return Err(AppError::NotFound) };
    if at < now_ms() - UNDO_MS {
        return Err(AppError::bad_request("It is too late to undo this delete."));
    }
    let rows: Vec<EventRow> = serde_json::from_str(&rows_json).map_err(|e| unexpected("reading a deleted event", e))?;
    let blocks: Vec<BlockRow> =
        serde_json::from_str(&blocks_json).map_err(|e| unexpected("reading a deleted event's blocks", e))?;
    let Some(master) = rows.first() else { return Err(AppError::NotFound) };
    let calendar = calendars::find(db, user_id, &master.calendar_id)
        .await
        .map_err(|_| AppError::bad_request("The event's calendar was deleted; the event cannot come back."))?;
    writable(&calendar)?;
    let mut tx = changes::begin(db, user_id).await?;
    // What is left of the series (after deleting one occurrence, or the following ones).
    delete_row(&mut tx, &master_id).await?;
    let now = now_ms();
    for row in &rows {
        insert_row(&mut tx, row, now).await?;
    }
    for block in &blocks {
        sqlx::query(
            "INSERT INTO task_blocks (event_id, task_id, user_id, start_ms, end_ms, reason, created_at)
             SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM tasks WHERE id = $2 AND user_id = $3)",
        )
        .bind(&block.event_id)
        .bind(&block.task_id)
        .bind(user_id)
        .bind(block.start_ms)
        .bind(block.end_ms)
        .bind(&block.reason)
        .bind(block.created_at)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM event_trash WHERE id = $1").bind(token).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(title)
}

/// Writes a row back exactly as it was kept (its change time now, its sequence one on).
async fn insert_row(tx: &mut Write, row: &EventRow, now: i64) -> Result<(), AppError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let params = (1..=COLUMNS.split(", ").count()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        format!("INSERT INTO events ({COLUMNS}) VALUES ({params})")
    });
    sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(row.id.clone())
        .bind(row.calendar_id.clone())
        .bind(row.user_id.clone())
        .bind(row.uid.clone())
        .bind(row.master_id.clone())
        .bind(row.recurrence_id.clone())
        .bind(row.recurrence_ms)
        .bind(row.title.clone())
        .bind(row.description.clone())
        .bind(row.location.clone())
        .bind(row.url.clone())
        .bind(row.status.clone())
        .bind(row.transparency.clone())
        .bind(row.color.clone())
        .bind(row.tags.clone())
        .bind(row.reminders.clone())
        .bind(row.attendees.clone())
        .bind(row.all_day)
        .bind(row.start_at.clone())
        .bind(row.end_at.clone())
        .bind(row.duration.clone())
        .bind(row.rrule.clone())
        .bind(row.rdates.clone())
        .bind(row.exdates.clone())
        .bind(row.start_ms)
        .bind(row.end_ms)
        .bind(row.span_start_ms)
        .bind(row.span_end_ms)
        .bind(row.sequence + 1)
        .bind(row.created_at)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
                AppError::bad_request("An event with this UID was made since; the deleted one cannot come back.")
            } else {
                unexpected("restoring an event", e)
            }
        })?;
    tx.record(Kind::Event, &row.id, Op::Created, Some(&row.calendar_id));
    Ok(())
}

/// Everything needed to expand the rows of a window.
pub struct WindowRows {
    pub masters: Vec<EventRow>,
    pub exceptions: Vec<EventRow>,
}

/// The rows that can have an occurrence in `[from_ms, to_ms)`: series whose span overlaps,
/// series with an exception moved into the window, and the exceptions of all of them.
pub async fn rows_in_window(db: &Db, user_id: &str, from_ms: i64, to_ms: i64) -> Result<WindowRows, AppError> {
    rows_of_window(db, user_id, from_ms, to_ms, false).await
}

/// [`rows_in_window`], optionally only repeating series (and their exceptions).
async fn rows_of_window(
    db: &Db,
    user_id: &str,
    from_ms: i64,
    to_ms: i64,
    series_only: bool,
) -> Result<WindowRows, AppError> {
    let all = window_columns("");
    let m = window_columns("m");
    let series = if series_only { "AND (rrule IS NOT NULL OR rdates <> '')" } else { "" };
    let masters = sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {all} FROM events
          WHERE user_id = $1 AND master_id IS NULL AND span_start_ms < $3 AND (span_end_ms IS NULL OR span_end_ms > $2)
                {series}
         UNION ALL
         SELECT {m} FROM events m JOIN events e ON e.master_id = m.id
          WHERE e.user_id = $1 AND e.span_start_ms < $3 AND e.span_end_ms > $2"
    )))
    .bind(user_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(db.read())
    .await?;
    let masters = distinct(masters);
    let e = window_columns("e");
    let exceptions = sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {e} FROM events e JOIN events m ON e.master_id = m.id
          WHERE m.user_id = $1 AND m.master_id IS NULL AND m.span_start_ms < $3
            AND (m.span_end_ms IS NULL OR m.span_end_ms > $2)
         UNION ALL
         SELECT {all} FROM events
          WHERE user_id = $1 AND master_id IS NOT NULL AND span_start_ms < $3 AND span_end_ms > $2"
    )))
    .bind(user_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(db.read())
    .await?;
    Ok(WindowRows { masters, exceptions: distinct(exceptions) })
}

/// Rows without repeats (the queries above are `UNION ALL`: letting the database drop the
/// repeats sorted every row of a window, all its columns, in a temporary tree).
fn distinct(mut rows: Vec<EventRow>) -> Vec<EventRow> {
    rows.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    rows.dedup_by(|a, b| a.id == b.id);
    rows
}

pub fn exception_of(row: &EventRow) -> Result<Exception, AppError> {
    let key = row
        .recurrence_id
        .as_deref()
        .and_then(parse_instance_key)
        .ok_or_else(|| unexpected("reading an exception key", &row.id))?;
    Ok(Exception {
        recurrence_id: placed_as_caltime(key),
        start: row.start()?,
        end: row.end()?,
        cancelled: row.status == "cancelled",
    })
}

/// Expands window rows into occurrences, sorted by start. `calendars` filters and colours.
pub fn expand_rows(
    rows: &WindowRows,
    calendars: &[CalendarRow],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<OccurrenceInfo>, AppError> {
    let mut out = Vec::new();
    for master in &rows.masters {
        let Some(calendar) = calendars.iter().find(|c| c.id == master.calendar_id) else { continue };
        let series = master.series()?;
        let own: Vec<&EventRow> =
            rows.exceptions.iter().filter(|e| e.master_id.as_deref() == Some(&master.id)).collect();
        let exceptions = own.iter().map(|e| exception_of(e)).collect::<Result<Vec<_>, _>>()?;
        let remaining = MAX_OCCURRENCES.saturating_sub(out.len());
        let found = series.occurrences(&exceptions, from, to, remaining.max(1)).map_err(|e| match e {
            calento::recurrence::ExpandError::TooMany { .. } => AppError::bad_request(format!(
                "More than {MAX_OCCURRENCES} occurrences fall in this range; ask for a shorter range."
            )),
            other => AppError::bad_request(other.to_string()),
        })?;
        let recurring = master.is_recurring();
        for occurrence in found {
            let source = occurrence.exception.and_then(|i| own.get(i).copied()).unwrap_or(master);
            // What an occurrence shows, read from its row directly (not `details()`: that
            // copies and parses the texts a window does not read, per occurrence).
            let instance = occurrence.instance;
            out.push(OccurrenceInfo {
                event_id: source.id.clone(),
                calendar_id: master.calendar_id.clone(),
                uid: master.uid.clone(),
                recurrence_id: (recurring || occurrence.exception.is_some())
                    .then(|| instance.recurrence_id.to_string()),
                start: instance.start.to_string(),
                end: instance.end.to_string(),
                all_day: matches!(instance.start, Placed::Date(_)),
                summary: source.title.clone(),
                start_ms: instance.start.axis_ms(),
                end_ms: instance.end.axis_ms(),
                floating: matches!(instance.start, Placed::Floating(_)),
                recurring,
                color: source.color.clone().unwrap_or_else(|| calendar.color.clone()),
                location: source.location.clone(),
                status: calento::event::EventStatus::parse(&source.status).unwrap_or_default(),
                transparency: calento::event::Transparency::parse(&source.transparency).unwrap_or_default(),
                read_only: calendar.read_only(),
                reminders: if source.reminders.is_empty() || source.reminders == "[]" {
                    Vec::new()
                } else {
                    serde_json::from_str(&source.reminders).unwrap_or_default()
                },
            });
        }
        if out.len() > MAX_OCCURRENCES {
            return Err(AppError::bad_request(format!(
                "More than {MAX_OCCURRENCES} occurrences fall in this range; ask for a shorter range."
            )));
        }
    }
    out.sort_by(|a, b| (a.start_ms, &a.uid, &a.recurrence_id).cmp(&(b.start_ms, &b.uid, &b.recurrence_id)));
    Ok(out)
}

/// The occurrences overlapping `[from, to)` in the user's calendars (or one of them).
pub async fn occurrences(
    db: &Db,
    user_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    calendar_id: Option<&str>,
) -> Result<Vec<OccurrenceInfo>, AppError> {
    if to <= from {
        return Err(AppError::field(calento::FieldError::new("to", "The end of the range must be after its start.")));
    }
    if to - from > Duration::days(MAX_WINDOW_DAYS) {
        return Err(AppError::field(calento::FieldError::new("to", "Ask for at most ten years at a time.")));
    }
    let mut calendars = calendars::list(db, user_id).await?;
    if let Some(id) = calendar_id {
        calendars.retain(|c| c.id == id);
        if calendars.is_empty() {
            return Err(AppError::NotFound);
        }
    }
    occurrences_in(db, user_id, from, to, &calendars).await
}

/// The occurrences overlapping `[from, to)` in the given calendars of the user.
pub async fn occurrences_in(
    db: &Db,
    user_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    calendars: &[CalendarRow],
) -> Result<Vec<OccurrenceInfo>, AppError> {
    let ms = |t: NaiveDateTime| t.and_utc().timestamp_millis();
    let rows = rows_in_window(db, user_id, ms(from) - FLOATING_PAD_MS, ms(to) + FLOATING_PAD_MS).await?;
    expand_rows(&rows, calendars, from, to)
}

/// All rows of a calendar (series and exceptions), for export.
pub async fn all_in_calendar(db: &Db, calendar_id: &str) -> Result<Vec<EventRow>, AppError> {
    sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM events WHERE calendar_id = $1 ORDER BY master_id NULLS FIRST, start_ms, id"
    )))
    .bind(calendar_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

/// Busy time of `calendars` overlapping `[from_ms, to_ms)`, as UTC millisecond intervals:
/// events not cancelled and not marked free. One-off events are read as their stored
/// instants (no expansion, no text); only repeating series go through expansion, with their
/// moved and cancelled instances. Floating and all-day times are placed in `zone`.
/// `except_event` leaves one event out.
pub async fn busy_in(
    db: &Db,
    user_id: &str,
    calendars: &[CalendarRow],
    zone: Tz,
    from_ms: i64,
    to_ms: i64,
    except_event: Option<&str>,
) -> Result<Vec<(i64, i64)>, AppError> {
    use std::collections::HashSet;
    let wanted: HashSet<&str> = calendars.iter().map(|c| c.id.as_str()).collect();
    let mut out = Vec::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let place = |ms: i64, zoned: bool| {
        if zoned { ms } else { calento::availability::wall_to_utc_ms(zone, millis_to_utc(ms).naive_utc()) }
    };
    let singles: Vec<(String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT id, calendar_id, start_ms, end_ms, start_at FROM events
          WHERE user_id = $1 AND master_id IS NULL AND rrule IS NULL AND rdates = ''
            AND status <> 'cancelled' AND transparency <> 'free'
            AND span_start_ms < $3 AND span_end_ms > $2",
    )
    .bind(user_id)
    .bind(from_ms - FLOATING_PAD_MS)
    .bind(to_ms + FLOATING_PAD_MS)
    .fetch_all(db.read())
    .await?;
    for (id, calendar_id, start_ms, end_ms, start_at) in singles {
        if !wanted.contains(calendar_id.as_str()) || except_event == Some(id.as_str()) {
            continue;
        }
        // Zoned times are stored with their zone (`…[Zone]`) or as UTC (`…Z`).
        let zoned = start_at.ends_with(']') || start_at.ends_with('Z');
        let (start, end) = (place(start_ms, zoned), place(end_ms, zoned));
        if start < to_ms && end > from_ms {
            out.push((start, end));
        }
    }
    // Repeating series: expanded, with their exceptions.
    let rows = rows_of_window(db, user_id, from_ms - FLOATING_PAD_MS, to_ms + FLOATING_PAD_MS, true).await?;
    let rows = WindowRows {
        masters: rows
            .masters
            .into_iter()
            .filter(|r| r.is_recurring() && wanted.contains(r.calendar_id.as_str()))
            .collect(),
        exceptions: rows.exceptions,
    };
    if rows.masters.is_empty() {
        return Ok(out);
    }
    let wall = |ms: i64| millis_to_utc(ms).naive_utc();
    for o in expand_rows(&rows, calendars, wall(from_ms - FLOATING_PAD_MS), wall(to_ms + FLOATING_PAD_MS))? {
        if o.status == calento::event::EventStatus::Cancelled
            || o.transparency == calento::event::Transparency::Free
            || except_event == Some(o.event_id.as_str())
        {
            continue;
        }
        let zoned = !(o.floating || o.all_day);
        let (start, end) = (place(o.start_ms, zoned), place(o.end_ms, zoned));
        if start < to_ms && end > from_ms {
            out.push((start, end));
        }
    }
    Ok(out)
}
