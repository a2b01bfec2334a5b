//! Public booking: the host's busy time, the slots a link offers, and bookings made
//! exactly once. A booking transaction first bumps its host's `booking_seq`, which
//! serialises bookings per host on SQLite and PostgreSQL alike; then the slot is checked
//! again and the booking and its calendar event are written together.

use calento::FieldError;
use calento::availability::{Interval, Schedule, merge_busy};
use chrono::{DateTime, Duration, NaiveDateTime};
use chrono_tz::Tz;
use sqlx::Any;

use super::booking_mail::{self, BookingMail};
use super::calendars;
use super::changes::{self, Kind, Op, Write};
use super::events;
use super::mail;
use super::scheduling::{self, LINK_COLUMNS, LinkRow, ScheduleRow};
use super::{Db, millis_to_utc, new_id, now_ms, search};
use crate::AppError;
use crate::models::{
    Answer, BookingInfo, BookingLinkFields, BookingPage, BookingRequest, BookingStatus, CreatedBooking, EventInput,
    PublicLink, QuestionKind,
};

const DAY_MS: i64 = 86_400_000;
/// The longest window one slots request may ask for.
pub const MAX_SLOT_WINDOW_DAYS: i64 = 62;

/// A link's host, as public pages show them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Host {
    pub id: String,
    pub name: String,
    pub username: String,
    pub email: String,
    pub time_zone: String,
}

/// A public link found by its address: the host, the link and its schedule.
#[derive(Debug, Clone)]
pub struct Found {
    pub host: Host,
    pub link: LinkRow,
    pub fields: BookingLinkFields,
    pub schedule_row: ScheduleRow,
    pub schedule: Schedule,
}

impl Found {
    pub fn public(&self) -> PublicLink {
        PublicLink {
            host_name: self.host.name.clone(),
            username: self.host.username.clone(),
            slug: self.link.slug.clone(),
            title: self.fields.title.clone(),
            description: self.fields.description.clone(),
            durations: self.fields.durations.clone(),
            location: self.fields.location.before_booking(),
            questions: self.fields.questions.clone(),
            requires_approval: self.fields.requires_approval,
            host_timezone: self.schedule_row.time_zone.clone(),
        }
    }

    /// The chosen duration, which must be one the link offers; none chosen: the first.
    pub fn duration(&self, chosen: Option<u32>) -> Result<u32, AppError> {
        match chosen {
            None => self.fields.durations.first().copied().ok_or(AppError::NotFound),
            Some(d) if self.fields.durations.contains(&d) => Ok(d),
            Some(_) => Err(AppError::field(FieldError::new(
                "duration",
                format!("Choose one of the offered durations: {} minutes.", minutes_list(&self.fields.durations)),
            ))),
        }
    }
}

/// A duration as a form or a query gives it: minutes, or nothing (the link's first).
pub fn parse_duration(text: Option<&str>) -> Result<Option<u32>, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| AppError::field(FieldError::new("duration", "Give the duration in minutes, like 30."))),
    }
}

fn minutes_list(durations: &[u32]) -> String {
    durations.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Finds an active link by `/{username}/{slug}`; a secret one needs its key. Anything
/// else is "not found", so strangers learn nothing.
pub async fn find_public(db: &Db, username: &str, slug: &str, key: Option<&str>) -> Result<Found, AppError> {
    let username = username.trim().to_lowercase();
    let slug = slug.trim().to_lowercase();
    if username.len() > 64 || slug.len() > 64 {
        return Err(AppError::NotFound);
    }
    let host = find_host(db, HostKey::Username(&username)).await?;
    let link = sqlx::query_as::<_, LinkRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {LINK_COLUMNS} FROM booking_links WHERE user_id = $1 AND slug = $2"
    )))
    .bind(&host.id)
    .bind(&slug)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)?;
    let key_ok = link.secret == 0 || key.is_some_and(|k| same(k.trim(), &link.link_key));
    if link.active == 0 || !key_ok {
        return Err(AppError::NotFound);
    }
    let schedule_row = scheduling::find_schedule(db, &host.id, &link.schedule_id).await?;
    let schedule = schedule_row.schedule()?;
    let fields = link.fields();
    Ok(Found { host, link, fields, schedule_row, schedule })
}

/// How a host is looked up: by the username of a public address, or by id.
enum HostKey<'a> {
    Username(&'a str),
    Id(&'a str),
}

/// A host by username or id; "not found" when there is none.
async fn find_host(db: &Db, key: HostKey<'_>) -> Result<Host, AppError> {
    let (sql, value) = match key {
        HostKey::Username(name) => ("SELECT id, name, username, email, time_zone FROM users WHERE username = $1", name),
        HostKey::Id(id) => ("SELECT id, name, username, email, time_zone FROM users WHERE id = $1", id),
    };
    sqlx::query_as::<_, Host>(sql).bind(value).fetch_optional(db.read()).await?.ok_or(AppError::NotFound)
}

/// Compares secrets in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The host's public links, for `/{username}`: active and not secret.
pub async fn listed_links(db: &Db, username: &str) -> Result<(Host, Vec<LinkRow>), AppError> {
    let host = find_host(db, HostKey::Username(&username.trim().to_lowercase())).await?;
    let links =
        scheduling::list_links(db, &host.id).await?.into_iter().filter(|l| l.active != 0 && l.secret == 0).collect();
    Ok((host, links))
}

/// The host's busy time from calendars in `[from_ms, to_ms)`: occurrences on calendars
/// that count as busy (recurring, moved instances and subscribed calendars included;
/// events marked free or cancelled left out). Floating and all-day events are placed in
/// `zone`. `except_event` leaves out one event (a booking's own, when moving it).
pub async fn calendar_busy(
    db: &Db,
    host_id: &str,
    zone: Tz,
    from_ms: i64,
    to_ms: i64,
    except_event: Option<&str>,
) -> Result<Vec<Interval>, AppError> {
    let calendars: Vec<_> = calendars::list(db, host_id).await?.into_iter().filter(|c| c.counts_as_busy != 0).collect();
    let found = events::busy_in(db, host_id, &calendars, zone, from_ms, to_ms, except_event).await?;
    Ok(found.into_iter().map(|(start, end)| Interval { start, end }).collect())
}

/// The host's pending and confirmed bookings overlapping `[from_ms, to_ms)`, but `except`.
pub async fn booking_busy<'c, E>(
    executor: E,
    host_id: &str,
    from_ms: i64,
    to_ms: i64,
    except: Option<&str>,
) -> Result<Vec<Interval>, AppError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT start_ms, end_ms FROM bookings
          WHERE host_id = $1 AND status IN ('pending', 'confirmed') AND start_ms < $3 AND end_ms > $2 AND id <> $4",
    )
    .bind(host_id)
    .bind(from_ms)
    .bind(to_ms)
    .bind(except.unwrap_or(""))
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|(start, end)| Interval { start, end }).collect())
}

/// All the host's busy time, merged: calendars and bookings (`GET /api/v1/freebusy`).
pub async fn busy(db: &Db, host_id: &str, zone: Tz, from_ms: i64, to_ms: i64) -> Result<Vec<Interval>, AppError> {
    let mut all = calendar_busy(db, host_id, zone, from_ms, to_ms, None).await?;
    all.extend(booking_busy(db.read(), host_id, from_ms, to_ms, None).await?);
    Ok(merge_busy(all).into_iter().map(|i| Interval { start: i.start.max(from_ms), end: i.end.min(to_ms) }).collect())
}

async fn booking_event(db: &Db, booking_id: &str) -> Result<Option<String>, AppError> {
    let row: Option<(Option<String>,)> = sqlx::query_as("SELECT event_id FROM bookings WHERE id = $1")
        .bind(booking_id)
        .fetch_optional(db.read())
        .await?;
    Ok(row.and_then(|(id,)| id))
}

/// This link's pending and confirmed bookings around a window, for its day and week limits.
async fn booked_on_link<'c, E>(
    executor: E,
    link_id: &str,
    from_ms: i64,
    to_ms: i64,
    except: Option<&str>,
) -> Result<Vec<Interval>, AppError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT start_ms, end_ms FROM bookings
          WHERE link_id = $1 AND status IN ('pending', 'confirmed') AND start_ms < $3 AND start_ms >= $2 AND id <> $4",
    )
    .bind(link_id)
    .bind(from_ms - 8 * DAY_MS)
    .bind(to_ms + 8 * DAY_MS)
    .bind(except.unwrap_or(""))
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|(start, end)| Interval { start, end }).collect())
}

/// How far beyond a window busy time can still close one of its slots.
fn reach(found: &Found, duration: u32) -> i64 {
    let f = &found.fields;
    (i64::from(duration) + i64::from(f.buffer_before.max(f.buffer_after))) * 60_000
}

/// The slot starts (UTC ms) a link offers in `[from_ms, to_ms)` for one duration.
/// `except` leaves one booking (and its event) out, when moving it.
pub async fn offered(
    db: &Db,
    found: &Found,
    duration: u32,
    from_ms: i64,
    to_ms: i64,
    now: i64,
    except: Option<&str>,
) -> Result<Vec<i64>, AppError> {
    let reach = reach(found, duration);
    let except_event = match except {
        Some(id) => booking_event(db, id).await?,
        None => None,
    };
    let zone = found.schedule.zone;
    let mut busy =
        calendar_busy(db, &found.host.id, zone, from_ms - reach, to_ms + reach, except_event.as_deref()).await?;
    busy.extend(booking_busy(db.read(), &found.host.id, from_ms - reach, to_ms + reach, except).await?);
    let booked = booked_on_link(db.read(), &found.link.id, from_ms, to_ms, except).await?;
    let rules = scheduling::rules_for(&found.fields, duration);
    Ok(calento::availability::slots(&found.schedule, &rules, &merge_busy(busy), &booked, now, from_ms, to_ms))
}

/// Checks, inside the host's serialised transaction, that `start_ms` is still offered:
/// calendar busy time was read just before (`calendar`); bookings and limits are read
/// through the transaction, so a booking committed a moment ago counts. Every read goes
/// through the transaction's own connection, so waiting bookers cannot starve the pool.
async fn still_offered(
    tx: &mut Write,
    found: &Found,
    duration: u32,
    start_ms: i64,
    calendar: &[Interval],
    except: Option<&str>,
) -> Result<bool, AppError> {
    let (from, to) = (start_ms - DAY_MS, start_ms + DAY_MS);
    let reach = reach(found, duration);
    let mut busy = calendar.to_vec();
    busy.extend(booking_busy(&mut **tx, &found.host.id, from - reach, to + reach, except).await?);
    let booked = booked_on_link(&mut **tx, &found.link.id, from, to, except).await?;
    let rules = scheduling::rules_for(&found.fields, duration);
    let slots = calento::availability::slots(&found.schedule, &rules, &merge_busy(busy), &booked, now_ms(), from, to);
    Ok(slots.binary_search(&start_ms).is_ok())
}

/// Slots for the public API: `from`/`to` as instants, at most [`MAX_SLOT_WINDOW_DAYS`] apart.
pub async fn slots(
    db: &Db,
    found: &Found,
    duration: Option<u32>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    if to <= from {
        return Err(AppError::field(FieldError::new("to", "The end of the range must be after its start.")));
    }
    if to - from > Duration::days(MAX_SLOT_WINDOW_DAYS) {
        return Err(AppError::field(FieldError::new(
            "to",
            format!("Ask for at most {MAX_SLOT_WINDOW_DAYS} days of slots at a time."),
        )));
    }
    let duration = found.duration(duration)?;
    let ms = |t: NaiveDateTime| t.and_utc().timestamp_millis();
    let starts = offered(db, found, duration, ms(from), ms(to), now_ms(), None).await?;
    Ok(starts.into_iter().map(utc_text).collect())
}

pub fn utc_text(ms: i64) -> String {
    millis_to_utc(ms).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

// ---- Bookings ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BookingRow {
    pub id: String,
    pub host_id: String,
    pub link_id: Option<String>,
    pub event_id: Option<String>,
    pub title: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub status: String,
    pub invitee_name: String,
    pub invitee_email: String,
    pub invitee_zone: String,
    pub notes: String,
    pub answers: String,
    pub location: String,
    pub manage_token: String,
    pub idempotency_key: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
    pub sequence: i64,
}

const BOOKING_COLUMNS: &str = "id, host_id, link_id, event_id, title, start_ms, end_ms, status, invitee_name, \
     invitee_email, invitee_zone, notes, answers, location, manage_token, idempotency_key, reason, created_at, sequence";

impl BookingRow {
    pub fn info(&self) -> BookingInfo {
        BookingInfo {
            id: self.id.clone(),
            link_id: self.link_id.clone(),
            title: self.title.clone(),
            start: utc_text(self.start_ms),
            end: utc_text(self.end_ms),
            status: BookingStatus::parse(&self.status).unwrap_or(BookingStatus::Cancelled),
            name: self.invitee_name.clone(),
            email: self.invitee_email.clone(),
            timezone: self.invitee_zone.clone(),
            notes: self.notes.clone(),
            answers: serde_json::from_str(&self.answers).unwrap_or_default(),
            location: self.location.clone(),
            event_id: self.event_id.clone(),
            reason: self.reason.clone(),
            created_at: utc_text(self.created_at),
        }
    }

    pub fn created(&self) -> CreatedBooking {
        CreatedBooking { booking: self.info(), manage_url: format!("/booking/{}", self.manage_token) }
    }
}

/// A booking request, checked: every problem at once.
struct Checked {
    start_ms: i64,
    duration: u32,
    name: String,
    email: String,
    zone: String,
    notes: String,
    answers: Vec<Answer>,
    idempotency_key: Option<String>,
}

fn check_request(found: &Found, req: &BookingRequest, idempotency_key: Option<&str>) -> Result<Checked, AppError> {
    if req.website.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        // The honeypot: a field people never see. Nothing is written.
        return Err(AppError::bad_request("This request looks automated and was not accepted."));
    }
    let mut errors = Vec::new();
    let start_ms = match DateTime::parse_from_rfc3339(req.start.trim()) {
        Ok(t) => Some(t.timestamp_millis()),
        Err(_) => {
            errors
                .push(FieldError::new("start", "Choose a time from the list (an instant like 2030-01-15T09:00:00Z)."));
            None
        }
    };
    let duration = found.duration(req.duration).map_err(|e| errors.extend(field_errors(e))).ok();
    let name = req.name.trim().to_owned();
    match name.chars().count() {
        0 => errors.push(FieldError::new("name", "Enter your name.")),
        n if n > 200 => errors.push(FieldError::new("name", "A name has at most 200 characters.")),
        _ => {}
    }
    let email = calento::EmailAddress::parse(&req.email).map_err(|e| errors.push(e)).ok();
    let notes = req.notes.clone().unwrap_or_default().trim().to_owned();
    if notes.chars().count() > 5000 {
        errors.push(FieldError::new("notes", "Notes have at most 5000 characters."));
    }
    let zone = match req.timezone.as_deref().map(str::trim).filter(|z| !z.is_empty()) {
        Some(zone) => match calento::TimeZoneName::parse(zone) {
            Ok(zone) => zone.as_str().to_owned(),
            Err(mut e) => {
                e.field = "timezone".into();
                errors.push(e);
                String::new()
            }
        },
        None => found.schedule_row.time_zone.clone(),
    };
    let mut answers = Vec::new();
    for q in &found.fields.questions {
        let value = req.answers.get(&q.id).map(|v| v.trim().to_owned()).unwrap_or_default();
        let most = if q.kind == QuestionKind::Long { 5000 } else { 500 };
        let field = format!("answers.{}", q.id);
        if q.required && value.is_empty() {
            errors.push(FieldError::new(&field, format!("Answer \u{201c}{}\u{201d}.", q.label)));
        } else if value.chars().count() > most {
            errors.push(FieldError::new(&field, format!("At most {most} characters.")));
        } else if !value.is_empty() {
            answers.push(Answer { question_id: q.id.clone(), label: q.label.clone(), value });
        }
    }
    let idempotency_key = idempotency_key.map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned);
    if idempotency_key.as_ref().is_some_and(|k| k.len() > 200) {
        errors.push(FieldError::new("idempotency_key", "An Idempotency-Key has at most 200 characters."));
    }
    match (start_ms, duration, email) {
        (Some(start_ms), Some(duration), Some(email)) if errors.is_empty() => Ok(Checked {
            start_ms,
            duration,
            name,
            email: email.as_str().to_owned(),
            zone,
            notes,
            answers,
            idempotency_key,
        }),
        _ => Err(AppError::fields(errors)),
    }
}

fn field_errors(error: AppError) -> Vec<FieldError> {
    match error {
        AppError::Invalid { fields, .. } => fields,
        _ => Vec::new(),
    }
}

fn slot_taken() -> AppError {
    AppError::SlotTaken { message: "That time is no longer available. Please choose another.".into() }
}

/// The calendar event a booking puts on its host's default calendar.
fn event_input(found: &Found, c: &Checked, status: BookingStatus) -> EventInput {
    let mut description = format!("Booked by {} <{}> through \u{201c}{}\u{201d}.", c.name, c.email, found.fields.title);
    if !c.notes.is_empty() {
        description.push_str(&format!("\n\nNotes: {}", c.notes));
    }
    for a in &c.answers {
        description.push_str(&format!("\n{}: {}", a.label, a.value));
    }
    let mut input = EventInput::default();
    input.details.title = format!("{} with {}", found.fields.title, c.name).chars().take(500).collect();
    input.details.description = description.chars().take(10_000).collect();
    input.details.location = found.fields.location.text().chars().take(1000).collect();
    if status == BookingStatus::Pending {
        input.details.status = calento::event::EventStatus::Tentative;
    }
    input.details.attendees = vec![calento::event::Attendee {
        name: c.name.clone(),
        email: c.email.clone(),
        response: calento::event::Response::Accepted,
    }];
    input.times.start = utc_text(c.start_ms);
    input.times.end = utc_text(c.start_ms + i64::from(c.duration) * 60_000);
    input.times.time_zone = Some(found.schedule_row.time_zone.clone());
    input
}

/// A write of the host's data. Its first statement takes the host's row lock (see
/// `changes::begin`), so bookings of one host go one at a time; the booking counter
/// counts them.
async fn begin_for_host(db: &Db, host_id: &str) -> Result<Write, AppError> {
    let mut tx = changes::begin(db, host_id).await?;
    sqlx::query("UPDATE users SET booking_seq = booking_seq + 1 WHERE id = $1").bind(host_id).execute(&mut *tx).await?;
    Ok(tx)
}

/// Changes a booking's calendar event in place (`sql` binds the event's id last) and
/// records it.
async fn update_event(tx: &mut Write, event_id: &str, query: AnyQuery<'_>) -> Result<(), AppError> {
    let calendar: Option<String> = query.bind(event_id.to_owned()).fetch_optional(&mut **tx).await?.map(|row| {
        use sqlx::Row;
        row.try_get::<String, _>(0).unwrap_or_default()
    });
    if let Some(calendar) = calendar {
        tx.record(Kind::Event, event_id, Op::Updated, Some(&calendar));
    }
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

async fn by_idempotency_key(tx: &mut Write, link_id: &str, key: &str) -> Result<Option<BookingRow>, AppError> {
    sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings WHERE link_id = $1 AND idempotency_key = $2"
    )))
    .bind(link_id)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await
    .map_err(AppError::from)
}

/// Books a slot, exactly once. Returns the booking and whether it is new (`false` when an
/// earlier request with the same `Idempotency-Key` made it).
pub async fn create(
    db: &Db,
    found: &Found,
    req: &BookingRequest,
    idempotency_key: Option<&str>,
    base_url: &str,
) -> Result<(CreatedBooking, bool), AppError> {
    let c = check_request(found, req, idempotency_key)?;
    let status = if found.fields.requires_approval { BookingStatus::Pending } else { BookingStatus::Confirmed };
    let (_, event) = events::prepare_new(db, &found.host.id, event_input(found, &c, status)).await?;
    let end_ms = c.start_ms + i64::from(c.duration) * 60_000;
    let reach = reach(found, c.duration);
    let calendar = calendar_busy(
        db,
        &found.host.id,
        found.schedule.zone,
        c.start_ms - DAY_MS - reach,
        c.start_ms + DAY_MS + reach,
        None,
    )
    .await?;

    let mut tx = begin_for_host(db, &found.host.id).await?;
    if let Some(key) = &c.idempotency_key
        && let Some(done) = by_idempotency_key(&mut tx, &found.link.id, key).await?
    {
        tx.rollback().await?;
        return Ok((done.created(), false));
    }
    // Checked again now that no other booking of this host can run: the slot must still be
    // offered (availability, busy time with buffers, notice, window, limits).
    if !still_offered(&mut tx, found, c.duration, c.start_ms, &calendar, None).await? {
        tx.rollback().await?;
        return Err(slot_taken());
    }
    let event_id = events::insert(&mut tx, &found.host.id, &event, None).await?;
    let id = new_id();
    let now = now_ms();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO bookings ({BOOKING_COLUMNS}, rescheduled_from, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, $17, 0, NULL, $17)"
    )))
    .bind(&id)
    .bind(&found.host.id)
    .bind(&found.link.id)
    .bind(&event_id)
    .bind(&found.fields.title)
    .bind(c.start_ms)
    .bind(end_ms)
    .bind(status.as_str())
    .bind(&c.name)
    .bind(&c.email)
    .bind(&c.zone)
    .bind(&c.notes)
    .bind(serde_json::to_string(&c.answers).unwrap_or_else(|_| "[]".into()))
    .bind(found.fields.location.text())
    .bind(scheduling::random_key() + &scheduling::random_key())
    .bind(&c.idempotency_key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.record(Kind::Booking, &id, Op::Created, None);
    let row = find_in(&mut tx, &id).await?;
    // The emails are written with the booking: a crash loses or duplicates neither.
    let m = mail_of(&found.host, &found.schedule_row.time_zone, &row, base_url, None);
    if status == BookingStatus::Pending {
        mail::queue(&mut tx, &booking_mail::request_received(&m)).await?;
        mail::queue(&mut tx, &booking_mail::approval_needed(&m)).await?;
    } else {
        queue_confirmation(&mut tx, &m, found.fields.reminder_hours).await?;
        mail::queue(&mut tx, &booking_mail::notification_to_host(&m)).await?;
    }
    tx.commit().await?;
    Ok((row.created(), true))
}

async fn find_in(tx: &mut Write, id: &str) -> Result<BookingRow, AppError> {
    sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AppError::NotFound)
}

pub async fn find(db: &Db, host_id: &str, id: &str) -> Result<BookingRow, AppError> {
    sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1 AND host_id = $2"
    )))
    .bind(id)
    .bind(host_id)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)
}

pub async fn find_by_token(db: &Db, token: &str) -> Result<BookingRow, AppError> {
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::NotFound);
    }
    sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings WHERE manage_token = $1"
    )))
    .bind(token)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)
}

/// A page of the host's bookings: `upcoming` (default, soonest first), `past`,
/// `cancelled` (and declined), `pending` (awaiting approval) or `all` (newest first);
/// `page` from 1, `per_page` 1–200 (50), with the total.
pub async fn list(
    db: &Db,
    host_id: &str,
    status: Option<&str>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> Result<BookingPage, AppError> {
    let mut problems = Vec::new();
    let (filter, order) = match status.map(str::trim).unwrap_or("upcoming") {
        "upcoming" | "" => ("status IN ('pending', 'confirmed') AND end_ms > $2", "start_ms, id"),
        "past" => ("status = 'confirmed' AND end_ms <= $2", "start_ms DESC, id"),
        "cancelled" => ("status IN ('cancelled', 'declined') AND $2 = $2", "start_ms DESC, id"),
        "pending" => ("status = 'pending' AND $2 = $2", "start_ms, id"),
        "all" => ("$2 = $2", "start_ms DESC, id"),
        _ => {
            problems.push(FieldError::new("status", "Choose upcoming, past, cancelled, pending or all."));
            ("$2 = $2", "id")
        }
    };
    let page = search::number("page", page, 1, search::MAX_PAGE).map_err(|e| problems.push(e)).unwrap_or(1);
    let per_page = search::number("per_page", per_page, search::DEFAULT_PER_PAGE, search::MAX_PER_PAGE)
        .map_err(|e| problems.push(e))
        .unwrap_or(search::DEFAULT_PER_PAGE);
    if !problems.is_empty() {
        return Err(AppError::fields(problems));
    }
    let now = now_ms();
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM bookings WHERE host_id = $1 AND {filter}"
    )))
    .bind(host_id)
    .bind(now)
    .fetch_one(db.read())
    .await?;
    let rows = sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings WHERE host_id = $1 AND {filter} ORDER BY {order} LIMIT $3 OFFSET $4"
    )))
    .bind(host_id)
    .bind(now)
    .bind(per_page)
    .bind((page - 1).saturating_mul(per_page))
    .fetch_all(db.read())
    .await?;
    Ok(BookingPage { items: rows.iter().map(BookingRow::info).collect(), page, per_page, total })
}

/// Who asks for a change: the host, or the invitee through their secret link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Host,
    Invitee,
}

fn reason_of(reason: Option<&str>) -> Result<Option<String>, AppError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
        return Err(AppError::field(FieldError::new("reason", "A reason has at most 1000 characters.")));
    }
    Ok(reason)
}

/// The invitee may change a booking only until the link's cut-off before its start.
async fn check_cutoff(db: &Db, row: &BookingRow, actor: Actor) -> Result<(), AppError> {
    if actor == Actor::Host {
        return Ok(());
    }
    let cutoff = match &row.link_id {
        Some(link_id) => scheduling::find_link(db, &row.host_id, link_id)
            .await
            .map(|l| l.fields().cancel_cutoff_minutes)
            .unwrap_or(0),
        None => 0,
    };
    if now_ms() > row.start_ms - i64::from(cutoff) * 60_000 {
        return Err(AppError::Conflict {
            message: "It is too late to change this booking here; please contact the host.".into(),
        });
    }
    Ok(())
}

/// Cancels a booking and removes its calendar event.
pub async fn cancel(
    db: &Db,
    row: &BookingRow,
    actor: Actor,
    reason: Option<&str>,
    base_url: &str,
) -> Result<BookingInfo, AppError> {
    let reason = reason_of(reason)?;
    if !matches!(BookingStatus::parse(&row.status), Some(BookingStatus::Pending | BookingStatus::Confirmed)) {
        return Err(AppError::Conflict { message: "This booking is already cancelled or declined.".into() });
    }
    check_cutoff(db, row, actor).await?;
    set_status(db, row, BookingStatus::Cancelled, reason, base_url).await
}

/// The host approves (`true`) or declines a booking awaiting approval.
pub async fn decide(
    db: &Db,
    row: &BookingRow,
    approve: bool,
    reason: Option<&str>,
    base_url: &str,
) -> Result<BookingInfo, AppError> {
    let reason = reason_of(reason)?;
    if BookingStatus::parse(&row.status) != Some(BookingStatus::Pending) {
        return Err(AppError::Conflict {
            message: "Only a booking awaiting approval can be approved or declined.".into(),
        });
    }
    if approve {
        let mut tx = begin_for_host(db, &row.host_id).await?;
        sqlx::query("UPDATE bookings SET status = 'confirmed', updated_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
        tx.record(Kind::Booking, &row.id, Op::Updated, None);
        if let Some(event_id) = &row.event_id {
            let query = sqlx::query(
                "UPDATE events SET status = 'confirmed', sequence = sequence + 1, updated_at = $1 WHERE id = $2 \
                 RETURNING calendar_id",
            )
            .bind(now_ms());
            update_event(&mut tx, event_id, query).await?;
        }
        let updated = find_in(&mut tx, &row.id).await?;
        let (host, zone, reminder_hours) = mail_context(db, row).await?;
        let m = mail_of(&host, &zone, &updated, base_url, None);
        queue_confirmation(&mut tx, &m, reminder_hours).await?;
        tx.commit().await?;
        Ok(updated.info())
    } else {
        set_status(db, row, BookingStatus::Declined, reason, base_url).await
    }
}

async fn set_status(
    db: &Db,
    row: &BookingRow,
    status: BookingStatus,
    reason: Option<String>,
    base_url: &str,
) -> Result<BookingInfo, AppError> {
    let (host, zone, _) = mail_context(db, row).await?;
    let mut tx = begin_for_host(db, &row.host_id).await?;
    sqlx::query("UPDATE bookings SET status = $1, reason = $2, sequence = sequence + 1, updated_at = $3 WHERE id = $4")
        .bind(status.as_str())
        .bind(&reason)
        .bind(now_ms())
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    tx.record(Kind::Booking, &row.id, Op::Updated, None);
    if let Some(event_id) = &row.event_id {
        events::delete_row(&mut tx, event_id).await?;
    }
    let updated = find_in(&mut tx, &row.id).await?;
    let m = mail_of(&host, &zone, &updated, base_url, reason);
    mail::discard_pending(&mut tx, &row.id, booking_mail::REMINDER).await?;
    let drafts = match status {
        BookingStatus::Declined => vec![booking_mail::declined(&m)],
        _ => booking_mail::cancellation(&m),
    };
    for draft in &drafts {
        mail::queue(&mut tx, draft).await?;
    }
    tx.commit().await?;
    Ok(updated.info())
}

/// Moves a booking to another offered start of its link (the booking itself does not
/// block its own move). The calendar event moves with it.
pub async fn reschedule(
    db: &Db,
    row: &BookingRow,
    actor: Actor,
    start: &str,
    reason: Option<&str>,
    base_url: &str,
) -> Result<BookingInfo, AppError> {
    let reason = reason_of(reason)?;
    if !matches!(BookingStatus::parse(&row.status), Some(BookingStatus::Pending | BookingStatus::Confirmed)) {
        return Err(AppError::Conflict { message: "A cancelled or declined booking cannot be moved.".into() });
    }
    check_cutoff(db, row, actor).await?;
    let start_ms = DateTime::parse_from_rfc3339(start.trim()).map(|t| t.timestamp_millis()).map_err(|_| {
        AppError::field(FieldError::new("start", "Choose a time from the list (an instant like 2030-01-15T09:00:00Z)."))
    })?;
    let link_id = row.link_id.clone().ok_or_else(|| AppError::Conflict {
        message: "The booking link of this booking was deleted; it cannot be moved.".into(),
    })?;
    let found = found_for_link(db, &row.host_id, &link_id).await?;
    let duration = u32::try_from((row.end_ms - row.start_ms) / 60_000).unwrap_or(0);
    let duration = if found.fields.durations.contains(&duration) { duration } else { found.duration(None)? };
    let end_ms = start_ms + i64::from(duration) * 60_000;
    let reach = reach(&found, duration);
    let calendar = calendar_busy(
        db,
        &row.host_id,
        found.schedule.zone,
        start_ms - DAY_MS - reach,
        start_ms + DAY_MS + reach,
        row.event_id.as_deref(),
    )
    .await?;
    let mut tx = begin_for_host(db, &row.host_id).await?;
    if !still_offered(&mut tx, &found, duration, start_ms, &calendar, Some(&row.id)).await? {
        tx.rollback().await?;
        return Err(slot_taken());
    }
    sqlx::query(
        "UPDATE bookings SET start_ms = $1, end_ms = $2, sequence = sequence + 1, reason = $5, updated_at = $3
          WHERE id = $4",
    )
    .bind(start_ms)
    .bind(end_ms)
    .bind(now_ms())
    .bind(&row.id)
    .bind(&reason)
    .execute(&mut *tx)
    .await?;
    tx.record(Kind::Booking, &row.id, Op::Updated, None);
    if let Some(event_id) = &row.event_id {
        let zone = found.schedule.zone;
        let wall = |ms: i64| {
            let local = calento::recurrence::utc_to_local(zone, millis_to_utc(ms).naive_utc());
            calento::event::caltime_text(&calento::recurrence::CalTime::Zoned(local, zone))
        };
        let query = sqlx::query(
            "UPDATE events SET start_at = $1, end_at = $2, start_ms = $3, end_ms = $4, span_start_ms = $3,
                    span_end_ms = $4, sequence = sequence + 1, updated_at = $5
              WHERE id = $6 AND rrule IS NULL RETURNING calendar_id",
        )
        .bind(wall(start_ms))
        .bind(wall(end_ms))
        .bind(start_ms)
        .bind(end_ms)
        .bind(now_ms());
        update_event(&mut tx, event_id, query).await?;
    }
    let updated = find_in(&mut tx, &row.id).await?;
    let m = mail_of(&found.host, &found.schedule_row.time_zone, &updated, base_url, reason);
    mail::discard_pending(&mut tx, &row.id, booking_mail::REMINDER).await?;
    for draft in booking_mail::reschedule(&m, row.start_ms, row.end_ms) {
        mail::queue(&mut tx, &draft).await?;
    }
    if BookingStatus::parse(&updated.status) == Some(BookingStatus::Confirmed) {
        queue_reminder(&mut tx, &m, found.fields.reminder_hours).await?;
    }
    tx.commit().await?;
    Ok(updated.info())
}

/// What the emails of a booking say.
fn mail_of(host: &Host, host_zone: &str, row: &BookingRow, base_url: &str, reason: Option<String>) -> BookingMail {
    BookingMail {
        booking_id: row.id.clone(),
        host_user_id: host.id.clone(),
        host_name: host.name.clone(),
        host_email: host.email.clone(),
        invitee_name: row.invitee_name.clone(),
        invitee_email: row.invitee_email.clone(),
        title: row.title.clone(),
        start_ms: row.start_ms,
        end_ms: row.end_ms,
        invitee_zone: row.invitee_zone.clone(),
        host_zone: host_zone.to_owned(),
        location: row.location.clone(),
        notes: row.notes.clone(),
        answers: serde_json::from_str::<Vec<Answer>>(&row.answers)
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.label, a.value))
            .collect(),
        manage_url: format!("{}/booking/{}", base_url.trim_end_matches('/'), row.manage_token),
        uid: booking_uid(&row.id),
        sequence: row.sequence,
        reason,
    }
}

/// The invitation's UID, the same in every email and in the "add to calendar" file.
fn booking_uid(id: &str) -> String {
    format!("booking-{id}@calento")
}

/// The host, the zone their emails use and the link's reminder setting.
async fn mail_context(db: &Db, row: &BookingRow) -> Result<(Host, String, Option<u32>), AppError> {
    if let Some(link_id) = &row.link_id
        && let Ok(found) = found_for_link(db, &row.host_id, link_id).await
    {
        return Ok((found.host, found.schedule_row.time_zone, found.fields.reminder_hours));
    }
    let host = find_host(db, HostKey::Id(&row.host_id)).await?;
    let zone = host.time_zone.clone();
    Ok((host, zone, None))
}

/// The invitee's confirmation (with the invitation) and, when the link asks for one, a
/// reminder due that many hours before the start.
async fn queue_confirmation(tx: &mut Write, m: &BookingMail, reminder_hours: Option<u32>) -> Result<(), AppError> {
    mail::queue(tx, &booking_mail::confirmation_to_invitee(m)).await?;
    queue_reminder(tx, m, reminder_hours).await
}

async fn queue_reminder(tx: &mut Write, m: &BookingMail, hours: Option<u32>) -> Result<(), AppError> {
    if let Some(hours) = hours {
        let at = m.start_ms - i64::from(hours) * 3_600_000;
        if at > now_ms() {
            mail::queue_at(tx, &booking_mail::reminder(m, i64::from(hours)), at).await?;
        }
    }
    Ok(())
}

/// A link by its id, without the public checks (for its own bookings' invitees and host).
pub async fn found_for_link(db: &Db, host_id: &str, link_id: &str) -> Result<Found, AppError> {
    let link = scheduling::find_link(db, host_id, link_id).await?;
    let host = find_host(db, HostKey::Id(host_id)).await?;
    let schedule_row = scheduling::find_schedule(db, host_id, &link.schedule_id).await?;
    Ok(Found { schedule: schedule_row.schedule()?, fields: link.fields(), host, link, schedule_row })
}

/// Whether the invitee may still cancel or move a booking themselves.
pub async fn invitee_can_change(db: &Db, row: &BookingRow) -> bool {
    matches!(BookingStatus::parse(&row.status), Some(BookingStatus::Pending | BookingStatus::Confirmed))
        && check_cutoff(db, row, Actor::Invitee).await.is_ok()
}

/// The booking as an iCalendar file for the invitee's "add to calendar".
pub async fn invite_file(db: &Db, row: &BookingRow) -> Result<String, AppError> {
    let host = find_host(db, HostKey::Id(&row.host_id)).await?;
    let mut details = calento::event::EventDetails {
        title: format!("{} with {}", row.title, host.name),
        location: row.location.clone(),
        ..Default::default()
    };
    if BookingStatus::parse(&row.status) == Some(BookingStatus::Pending) {
        details.status = calento::event::EventStatus::Tentative;
    } else if BookingStatus::parse(&row.status) != Some(BookingStatus::Confirmed) {
        details.status = calento::event::EventStatus::Cancelled;
    }
    details.attendees = vec![calento::event::Attendee {
        name: row.invitee_name.clone(),
        email: row.invitee_email.clone(),
        response: calento::event::Response::Accepted,
    }];
    let at = |ms: i64| millis_to_utc(ms).naive_utc();
    let uid = booking_uid(&row.id);
    let event = calento::calendar_file::ExportEvent {
        uid: &uid,
        details: &details,
        start: calento::recurrence::CalTime::Zoned(at(row.start_ms), Tz::UTC),
        end: calento::recurrence::CalTime::Zoned(at(row.end_ms), Tz::UTC),
        series: None,
        recurrence_id: None,
        sequence: row.sequence,
        created: at(row.created_at),
        modified: at(now_ms()),
    };
    Ok(calento::calendar_file::write(&row.title, &[event], at(now_ms())))
}
