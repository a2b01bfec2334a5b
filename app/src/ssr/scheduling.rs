//! Availability schedules and booking links: validation and storage. The slot rules
//! themselves are pure and live in the domain core (`calento::availability`).

use std::collections::HashSet;

use super::changes::{self, Kind, Op, Write};
use calento::FieldError;
use calento::availability::{Notice, RuleInput, Schedule, ScheduleInput, SlotRules, Window};

use super::{Db, new_id, now_ms, unexpected};
use crate::AppError;
use crate::models::{BookingLinkFields, BookingLinkInfo, LinkPatch, LocationKind, ScheduleBody, ScheduleInfo};

pub const MAX_SCHEDULES: i64 = 50;
pub const MAX_LINKS: i64 = 200;
const MAX_DURATIONS: usize = 6;
const MAX_QUESTIONS: usize = 20;

// ---- Schedules ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub time_zone: String,
    pub rules: String,
    pub overrides: String,
    pub is_default: i64,
}

const SCHEDULE_COLUMNS: &str = "id, user_id, name, time_zone, rules, overrides, is_default";

impl ScheduleRow {
    fn input(&self) -> ScheduleInput {
        ScheduleInput {
            timezone: self.time_zone.clone(),
            rules: serde_json::from_str(&self.rules).unwrap_or_default(),
            overrides: serde_json::from_str(&self.overrides).unwrap_or_default(),
        }
    }

    pub fn info(&self) -> ScheduleInfo {
        let input = self.input();
        ScheduleInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            timezone: input.timezone,
            rules: input.rules,
            overrides: input.overrides,
            is_default: self.is_default != 0,
        }
    }

    /// The validated schedule; a stored one that no longer validates was damaged outside Calento.
    pub fn schedule(&self) -> Result<Schedule, AppError> {
        Schedule::from_input(&self.input()).map_err(|_| unexpected("reading a stored schedule", &self.id))
    }
}

/// Monday to Friday, 09:00–17:00: what a new schedule starts with.
pub fn working_hours() -> Vec<RuleInput> {
    (1..=5).map(|weekday| RuleInput { weekday, start: "09:00".into(), end: "17:00".into() }).collect()
}

fn schedule_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err(FieldError::new("name", "Give the schedule a name.")),
        n if n > 100 => Err(FieldError::new("name", "A name has at most 100 characters.")),
        _ => Ok(name.to_owned()),
    }
}

/// Validates a schedule and returns it in its normal form (ranges sorted and merged).
fn checked(name: &str, input: &ScheduleInput) -> Result<(String, ScheduleInput), AppError> {
    let mut errors = Vec::new();
    let name = schedule_name(name).map_err(|e| errors.push(e)).ok();
    let schedule = Schedule::from_input(input).map_err(|e| errors.extend(e)).ok();
    match (name, schedule) {
        (Some(name), Some(schedule)) if errors.is_empty() => Ok((name, schedule.to_input())),
        _ => Err(AppError::fields(errors)),
    }
}

pub async fn list_schedules(db: &Db, user_id: &str) -> Result<Vec<ScheduleRow>, AppError> {
    sqlx::query_as::<_, ScheduleRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE user_id = $1 ORDER BY is_default DESC, created_at, id"
    )))
    .bind(user_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

pub async fn find_schedule(db: &Db, user_id: &str, id: &str) -> Result<ScheduleRow, AppError> {
    sqlx::query_as::<_, ScheduleRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)
}

async fn clear_default(tx: &mut Write, user_id: &str) -> Result<(), AppError> {
    let cleared: Vec<String> =
        sqlx::query_scalar("UPDATE schedules SET is_default = 0 WHERE user_id = $1 AND is_default = 1 RETURNING id")
            .bind(user_id)
            .fetch_all(&mut **tx)
            .await?;
    for id in cleared {
        tx.record(Kind::Schedule, &id, Op::Updated, None);
    }
    Ok(())
}

pub async fn create_schedule(
    db: &Db,
    user_id: &str,
    user_zone: &str,
    body: ScheduleBody,
) -> Result<ScheduleInfo, AppError> {
    let input = ScheduleInput {
        timezone: body.timezone.unwrap_or_else(|| user_zone.to_owned()),
        rules: body.rules.unwrap_or_else(working_hours),
        overrides: body.overrides.unwrap_or_default(),
    };
    let (name, input) = checked(body.name.as_deref().unwrap_or("Working hours"), &input)?;
    let existing = list_schedules(db, user_id).await?;
    if existing.len() as i64 >= MAX_SCHEDULES {
        return Err(AppError::Conflict { message: format!("You can have at most {MAX_SCHEDULES} schedules.") });
    }
    let is_default = body.is_default.unwrap_or(false) || existing.is_empty();
    let id = new_id();
    let now = now_ms();
    let mut tx = changes::begin(db, user_id).await?;
    if is_default {
        clear_default(&mut tx, user_id).await?;
    }
    sqlx::query(
        "INSERT INTO schedules (id, user_id, name, time_zone, rules, overrides, is_default, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(&name)
    .bind(&input.timezone)
    .bind(to_json(&input.rules))
    .bind(to_json(&input.overrides))
    .bind(i64::from(is_default))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.record(Kind::Schedule, &id, Op::Created, None);
    tx.commit().await?;
    Ok(find_schedule(db, user_id, &id).await?.info())
}

/// Changes the fields given; the rest stay.
pub async fn update_schedule(db: &Db, user_id: &str, id: &str, body: ScheduleBody) -> Result<ScheduleInfo, AppError> {
    let row = find_schedule(db, user_id, id).await?;
    let current = row.input();
    let input = ScheduleInput {
        timezone: body.timezone.unwrap_or(current.timezone),
        rules: body.rules.unwrap_or(current.rules),
        overrides: body.overrides.unwrap_or(current.overrides),
    };
    let (name, input) = checked(body.name.as_deref().unwrap_or(&row.name), &input)?;
    let make_default = body.is_default == Some(true) && row.is_default == 0;
    let mut tx = changes::begin(db, user_id).await?;
    if make_default {
        clear_default(&mut tx, user_id).await?;
    }
    sqlx::query(
        "UPDATE schedules SET name = $1, time_zone = $2, rules = $3, overrides = $4, is_default = $5, updated_at = $6
          WHERE id = $7 AND user_id = $8",
    )
    .bind(&name)
    .bind(&input.timezone)
    .bind(to_json(&input.rules))
    .bind(to_json(&input.overrides))
    .bind(i64::from(make_default || row.is_default != 0))
    .bind(now_ms())
    .bind(id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.record(Kind::Schedule, id, Op::Updated, None);
    tx.commit().await?;
    Ok(find_schedule(db, user_id, id).await?.info())
}

/// Deletes a schedule no booking link uses; another one becomes the default.
pub async fn delete_schedule(db: &Db, user_id: &str, id: &str) -> Result<(), AppError> {
    let row = find_schedule(db, user_id, id).await?;
    let used: Option<(String,)> = sqlx::query_as("SELECT title FROM booking_links WHERE schedule_id = $1 LIMIT 1")
        .bind(id)
        .fetch_optional(db.read())
        .await?;
    if let Some((title,)) = used {
        return Err(AppError::Conflict {
            message: format!(
                "The booking link \u{201c}{title}\u{201d} uses this schedule; give it another schedule first."
            ),
        });
    }
    let mut tx = changes::begin(db, user_id).await?;
    sqlx::query("DELETE FROM schedules WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.record(Kind::Schedule, id, Op::Deleted, None);
    if row.is_default != 0 {
        let promoted: Option<String> = sqlx::query_scalar(
            "UPDATE schedules SET is_default = 1
              WHERE id = (SELECT id FROM schedules WHERE user_id = $1 ORDER BY created_at, id LIMIT 1) RETURNING id",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(promoted) = promoted {
            tx.record(Kind::Schedule, &promoted, Op::Updated, None);
        }
    }
    tx.commit().await
}

/// The user's default schedule, made (working hours in their zone) when they have none.
pub async fn default_schedule(db: &Db, user_id: &str, user_zone: &str) -> Result<ScheduleRow, AppError> {
    if let Some(row) = list_schedules(db, user_id).await?.into_iter().next() {
        return Ok(row);
    }
    let info = create_schedule(db, user_id, user_zone, ScheduleBody::default()).await?;
    find_schedule(db, user_id, &info.id).await
}

// ---- Booking links ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: String,
    pub user_id: String,
    pub schedule_id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub settings: String,
    pub active: i64,
    pub secret: i64,
    pub link_key: String,
}

pub const LINK_COLUMNS: &str = "id, user_id, schedule_id, slug, title, description, settings, active, secret, link_key";

impl LinkRow {
    pub fn fields(&self) -> BookingLinkFields {
        let mut fields: BookingLinkFields = serde_json::from_str(&self.settings).unwrap_or_default();
        fields.slug = self.slug.clone();
        fields.title = self.title.clone();
        fields.description = self.description.clone();
        fields.schedule_id = self.schedule_id.clone();
        fields.active = self.active != 0;
        fields.secret = self.secret != 0;
        fields
    }

    pub fn info(&self, username: &str) -> BookingLinkInfo {
        BookingLinkInfo { id: self.id.clone(), url: self.url(username), fields: self.fields() }
    }

    /// The public page's path; a secret link's carries its key.
    pub fn url(&self, username: &str) -> String {
        if self.secret != 0 {
            format!("/{username}/{}?key={}", self.slug, self.link_key)
        } else {
            format!("/{username}/{}", self.slug)
        }
    }
}

/// The slot rules of a link for one of its durations.
pub fn rules_for(fields: &BookingLinkFields, duration: u32) -> SlotRules {
    let mut rules = SlotRules::new(duration);
    rules.interval_min = fields.slot_interval.unwrap_or(duration);
    rules.buffer_before_min = fields.buffer_before;
    rules.buffer_after_min = fields.buffer_after;
    rules.min_notice =
        if fields.not_same_day { Notice::NotSameDay } else { Notice::Minutes(fields.minimum_notice_minutes) };
    rules.window = match (fields.window_start, fields.window_end, fields.booking_window_days) {
        (Some(from), Some(to), _) => Window::Range { from, to },
        (_, _, Some(days)) => Window::Rolling { days },
        _ => Window::Unlimited,
    };
    rules.max_per_day = fields.max_per_day;
    rules.max_per_week = fields.max_per_week;
    rules.max_minutes_per_day = fields.max_minutes_per_day;
    rules.max_minutes_per_week = fields.max_minutes_per_week;
    rules
}

/// The API's name for a field the slot rules report.
fn link_field(rule_field: &str) -> &'static str {
    match rule_field {
        "duration_min" => "durations",
        "interval_min" => "slot_interval",
        "buffer_before_min" => "buffer_before",
        "buffer_after_min" => "buffer_after",
        "min_notice" => "minimum_notice_minutes",
        "window" => "booking_window_days",
        "max_per_day" => "max_per_day",
        "max_per_week" => "max_per_week",
        "max_minutes_per_day" => "max_minutes_per_day",
        "max_minutes_per_week" => "max_minutes_per_week",
        _ => "settings",
    }
}

fn slug_of(text: &str) -> String {
    let mut slug = String::new();
    for c in text.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(64).collect()
}

/// Trims and checks every setting; returns every problem at once.
pub fn validate_link(mut f: BookingLinkFields) -> Result<BookingLinkFields, AppError> {
    let mut errors = Vec::new();
    let mut check = |ok: bool, field: &str, message: &str| {
        if !ok {
            errors.push(FieldError::new(field, message));
        }
    };
    f.title = f.title.trim().to_owned();
    let title_len = f.title.chars().count();
    check(title_len > 0, "title", "Give the link a title.");
    check(title_len <= 200, "title", "A title has at most 200 characters.");
    f.description = f.description.trim().to_owned();
    check(f.description.chars().count() <= 5000, "description", "A description has at most 5000 characters.");
    f.slug = f.slug.trim().to_lowercase();
    if f.slug.is_empty() {
        f.slug = slug_of(&f.title);
    }
    let slug_ok = !f.slug.is_empty()
        && f.slug.len() <= 64
        && f.slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !f.slug.starts_with('-')
        && !f.slug.ends_with('-');
    check(slug_ok, "slug", "A slug has 1 to 64 lowercase letters, digits and dashes, like 30-min-call.");
    let mut seen = HashSet::new();
    f.durations.retain(|d| seen.insert(*d));
    check(!f.durations.is_empty(), "durations", "Offer at least one duration.");
    check(f.durations.len() <= MAX_DURATIONS, "durations", "Offer at most 6 durations.");
    check(f.durations.iter().all(|d| (5..=720).contains(d)), "durations", "A duration is from 5 minutes to 12 hours.");
    if let Some(interval) = f.slot_interval {
        check((5..=720).contains(&interval), "slot_interval", "Offer starts every 5 minutes to every 12 hours.");
    }
    f.location.value = f.location.value.trim().to_owned();
    check(f.location.value.chars().count() <= 500, "location", "A location has at most 500 characters.");
    if f.location.kind == LocationKind::Video && !f.location.value.is_empty() {
        check(
            f.location.value.starts_with("https://") || f.location.value.starts_with("http://"),
            "location",
            "A video link starts with https://.",
        );
    }
    if f.location.kind != LocationKind::None && f.location.kind != LocationKind::Video {
        check(!f.location.value.is_empty(), "location", "Say where: an address, a number or a few words.");
    }
    check(
        !(f.booking_window_days.is_some() && (f.window_start.is_some() || f.window_end.is_some())),
        "booking_window_days",
        "Choose a rolling window or a date range, not both.",
    );
    check(
        f.window_start.is_some() == f.window_end.is_some(),
        "window_end",
        "Give both the first and the last bookable date.",
    );
    check(f.cancel_cutoff_minutes <= 43_200, "cancel_cutoff_minutes", "The cut-off is at most 30 days.");
    if let Some(hours) = f.reminder_hours {
        check((1..=168).contains(&hours), "reminder_hours", "Remind from 1 hour to 7 days before, or not at all.");
    }
    check(f.questions.len() <= MAX_QUESTIONS, "questions", "Ask at most 20 questions.");
    let mut ids = HashSet::new();
    for (i, q) in f.questions.iter_mut().enumerate() {
        q.label = q.label.trim().to_owned();
        check(
            !q.label.is_empty() && q.label.chars().count() <= 200,
            "questions",
            "Each question needs a label of at most 200 characters.",
        );
        q.id = slug_of(if q.id.trim().is_empty() { &q.label } else { &q.id });
        if q.id.is_empty() || !ids.insert(q.id.clone()) {
            q.id = format!("q{}", i + 1);
            ids.insert(q.id.clone());
        }
    }
    for duration in &f.durations {
        if let Err(problems) = rules_for(&f, *duration).validate() {
            for p in problems {
                let field = link_field(&p.field);
                if !errors.iter().any(|e| e.field == field) {
                    errors.push(FieldError::new(field, p.message));
                }
            }
        }
    }
    if errors.is_empty() { Ok(f) } else { Err(AppError::fields(errors)) }
}

pub fn random_key() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn list_links(db: &Db, user_id: &str) -> Result<Vec<LinkRow>, AppError> {
    sqlx::query_as::<_, LinkRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {LINK_COLUMNS} FROM booking_links WHERE user_id = $1 ORDER BY created_at, id"
    )))
    .bind(user_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

pub async fn find_link(db: &Db, user_id: &str, id: &str) -> Result<LinkRow, AppError> {
    sqlx::query_as::<_, LinkRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {LINK_COLUMNS} FROM booking_links WHERE id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)
}

fn slug_taken(username: &str, slug: &str) -> AppError {
    AppError::field(FieldError::new("slug", format!("You already have a link at /{username}/{slug}; choose another.")))
}

/// The settings as stored (what has its own column is left out of the JSON).
fn settings_json(f: &BookingLinkFields) -> String {
    let mut value = serde_json::to_value(f).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        for key in ["slug", "title", "description", "schedule_id", "active", "secret"] {
            map.remove(key);
        }
    }
    value.to_string()
}

/// Creates a link (settings not given take their defaults).
pub async fn create_link(
    db: &Db,
    user_id: &str,
    username: &str,
    user_zone: &str,
    settings: &LinkPatch,
) -> Result<BookingLinkInfo, AppError> {
    let mut fields = validate_link(settings.apply(&BookingLinkFields::default()))?;
    fields.schedule_id = owned_schedule(db, user_id, user_zone, &fields.schedule_id).await?;
    let mut tx = changes::begin(db, user_id).await?;
    let count: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM booking_links WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    if count.0 >= MAX_LINKS {
        return Err(AppError::Conflict { message: format!("You can have at most {MAX_LINKS} booking links.") });
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO booking_links (id, user_id, schedule_id, slug, title, description, settings, active, secret,
                link_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(&fields.schedule_id)
    .bind(&fields.slug)
    .bind(&fields.title)
    .bind(&fields.description)
    .bind(settings_json(&fields))
    .bind(i64::from(fields.active))
    .bind(i64::from(fields.secret))
    .bind(random_key())
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
            slug_taken(username, &fields.slug)
        } else {
            unexpected("creating a booking link", e)
        }
    })?;
    tx.record(Kind::BookingLink, &id, Op::Created, None);
    tx.commit().await?;
    Ok(find_link(db, user_id, &id).await?.info(username))
}

/// Changes the settings given (see [`LinkPatch`]).
pub async fn update_link(
    db: &Db,
    user_id: &str,
    username: &str,
    user_zone: &str,
    id: &str,
    patch: &LinkPatch,
) -> Result<BookingLinkInfo, AppError> {
    let row = find_link(db, user_id, id).await?;
    let mut fields = validate_link(patch.apply(&row.fields()))?;
    fields.schedule_id = owned_schedule(db, user_id, user_zone, &fields.schedule_id).await?;
    let mut tx = changes::begin(db, user_id).await?;
    sqlx::query(
        "UPDATE booking_links SET schedule_id = $1, slug = $2, title = $3, description = $4, settings = $5,
                active = $6, secret = $7, updated_at = $8
          WHERE id = $9 AND user_id = $10",
    )
    .bind(&fields.schedule_id)
    .bind(&fields.slug)
    .bind(&fields.title)
    .bind(&fields.description)
    .bind(settings_json(&fields))
    .bind(i64::from(fields.active))
    .bind(i64::from(fields.secret))
    .bind(now_ms())
    .bind(id)
    .bind(user_id)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
            slug_taken(username, &fields.slug)
        } else {
            unexpected("updating a booking link", e)
        }
    })?;
    tx.record(Kind::BookingLink, id, Op::Updated, None);
    tx.commit().await?;
    Ok(find_link(db, user_id, id).await?.info(username))
}

/// Deletes a link; its bookings stay (and keep their calendar events).
pub async fn delete_link(db: &Db, user_id: &str, id: &str) -> Result<(), AppError> {
    find_link(db, user_id, id).await?;
    let mut tx = changes::begin(db, user_id).await?;
    sqlx::query("DELETE FROM booking_links WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.record(Kind::BookingLink, id, Op::Deleted, None);
    tx.commit().await
}

/// The schedule a link names, which must be the user's; none named: the default one.
async fn owned_schedule(db: &Db, user_id: &str, user_zone: &str, id: &str) -> Result<String, AppError> {
    if id.trim().is_empty() {
        return Ok(default_schedule(db, user_id, user_zone).await?.id);
    }
    match find_schedule(db, user_id, id.trim()).await {
        Ok(row) => Ok(row.id),
        Err(AppError::NotFound) => {
            Err(AppError::field(FieldError::new("schedule_id", "Choose one of your availability schedules.")))
        }
        Err(other) => Err(other),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(value: serde_json::Value) -> Result<BookingLinkFields, AppError> {
        let patch: LinkPatch = serde_json::from_value(value).map_err(|e| AppError::bad_request(e.to_string()))?;
        validate_link(patch.apply(&BookingLinkFields::default()))
    }

    #[test]
    fn a_minimal_link_takes_defaults_and_a_slug_from_its_title() {
        let f = link(serde_json::json!({"title": "Intro Call!", "durations": [30, 60, 30]})).expect("valid");
        assert_eq!(f.slug, "intro-call");
        assert_eq!(f.durations, vec![30, 60]);
        assert!(f.active);
        assert!(!f.secret);
    }

    #[test]
    fn bad_settings_are_reported_by_their_api_names() {
        let err = link(serde_json::json!({
            "title": "", "slug": "Bad Slug", "durations": [2], "buffer_before": 5000,
            "booking_window_days": 10, "window_start": "2030-01-01", "window_end": "2030-02-01"
        }))
        .expect_err("invalid");
        for field in ["title", "slug", "durations", "buffer_before", "booking_window_days"] {
            assert!(err.field_message(field).is_some(), "{field}: {err:?}");
        }
    }

    #[test]
    fn questions_get_stable_unique_ids() {
        let f = link(serde_json::json!({"title": "x", "questions": [
            {"label": "Company name"}, {"label": "Company name", "required": true}, {"label": "?!"}
        ]}))
        .expect("valid");
        let ids: Vec<_> = f.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, vec!["company-name", "q2", "q3"]);
    }

    #[test]
    fn a_null_reminder_turns_it_off_and_an_absent_one_keeps_the_default() {
        assert_eq!(link(serde_json::json!({"title": "x"})).expect("valid").reminder_hours, Some(24));
        let off = link(serde_json::json!({"title": "x", "reminder_hours": null})).expect("valid");
        assert_eq!(off.reminder_hours, None);
    }

    #[test]
    fn rules_follow_the_link_settings() {
        let f = link(serde_json::json!({"title": "x", "durations": [45], "slot_interval": 15,
            "buffer_before": 10, "not_same_day": true, "booking_window_days": 14, "max_per_day": 3}))
        .expect("valid");
        let rules = rules_for(&f, 45);
        assert_eq!((rules.duration_min, rules.interval_min, rules.buffer_before_min), (45, 15, 10));
        assert_eq!(rules.min_notice, Notice::NotSameDay);
        assert_eq!(rules.window, Window::Rolling { days: 14 });
        assert_eq!(rules.max_per_day, Some(3));
    }
}
