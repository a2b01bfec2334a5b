//! Calendars in storage: a user's calendars, the default one, private feeds and subscriptions.

use calento::{FieldError, TimeZoneName};
use sqlx::Row;

use super::changes::{self, Kind, Op};
use super::{Db, UrlCheck, millis_to_utc, new_id, now_ms, tokens};
use crate::AppError;
use crate::models::{CalendarInfo, CalendarInput};

pub const MAX_CALENDARS: i64 = 100;
pub const DEFAULT_COLOR: &str = "#1a73e8";
/// Subscriptions are polled at most this often, and at least once a week.
pub const MIN_POLL_MINUTES: i64 = 5;
pub const MAX_POLL_MINUTES: i64 = 10_080;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CalendarRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub color: String,
    pub time_zone: String,
    pub counts_as_busy: i64,
    pub visible: i64,
    pub is_default: i64,
    pub feed_token_hash: Option<String>,
    pub source_url: Option<String>,
    pub poll_minutes: Option<i64>,
    pub source_etag: Option<String>,
    pub source_last_modified: Option<String>,
    pub polled_at: Option<i64>,
    pub poll_error: Option<String>,
    pub revision: i64,
    pub changed_at: i64,
    pub created_at: i64,
    /// Minutes before, as JSON: what events made here without reminders get.
    pub default_reminders: String,
    /// Kept for a connected calendar (issue 18): `busy` mirrors are read-only, `two_way`
    /// ones are edited on both sides.
    pub mirror: Option<String>,
}

pub const COLUMNS: &str = "id, user_id, name, color, time_zone, counts_as_busy, visible, is_default, feed_token_hash, \
     source_url, poll_minutes, source_etag, source_last_modified, polled_at, poll_error, revision, changed_at, created_at, \
     default_reminders, mirror";

/// Most default reminders a calendar keeps.
pub const MAX_DEFAULT_REMINDERS: usize = 5;

impl CalendarRow {
    pub fn info(&self) -> CalendarInfo {
        CalendarInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            color: self.color.clone(),
            time_zone: self.time_zone.clone(),
            counts_as_busy: self.counts_as_busy == 1,
            visible: self.visible == 1,
            is_default: self.is_default == 1,
            source_url: self.source_url.clone(),
            poll_minutes: self.poll_minutes,
            polled_at: self.polled_at.map(millis_to_utc),
            poll_error: self.poll_error.clone(),
            has_feed: self.feed_token_hash.is_some(),
            created_at: millis_to_utc(self.created_at),
            default_reminders: self.default_reminders(),
        }
    }

    pub fn default_reminders(&self) -> Vec<u32> {
        serde_json::from_str(&self.default_reminders).unwrap_or_default()
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        TimeZoneName::parse(&self.time_zone).map(|z| z.tz()).unwrap_or(chrono_tz::Tz::UTC)
    }

    /// Subscribed calendars mirror their source; people cannot edit their events.
    pub fn read_only(&self) -> bool {
        self.source_url.is_some() || self.mirror.as_deref() == Some("busy")
    }
}

fn check_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err(FieldError::new("name", "Give the calendar a name.")),
        n if n > 100 => Err(FieldError::new("name", "A calendar name has at most 100 characters.")),
        _ => Ok(name.to_owned()),
    }
}

fn check_color(color: &str) -> Result<String, FieldError> {
    let color = color.trim().to_ascii_lowercase();
    if calento::event::is_color(&color) {
        Ok(color)
    } else {
        Err(FieldError::new("color", "A colour looks like #1a73e8."))
    }
}

fn check_poll(minutes: i64) -> Result<i64, FieldError> {
    if (MIN_POLL_MINUTES..=MAX_POLL_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(FieldError::new("poll_minutes", format!("Poll every {MIN_POLL_MINUTES} to {MAX_POLL_MINUTES} minutes.")))
    }
}

pub fn check_source_url(url: &str) -> Result<String, FieldError> {
    let url = url.trim();
    let url = url.strip_prefix("webcal://").map(|rest| format!("https://{rest}")).unwrap_or_else(|| url.to_owned());
    let valid = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 2000
        && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(url)
    } else {
        Err(FieldError::new("source_url", "Enter the calendar's address, starting with https://."))
    }
}

/// A new subscription's address must be one the server may fetch (the server's outbound
/// guard, `AppState::url_check`). Asked where a person subscribes (the API and the page's
/// form), so they learn it at once; the poller's connections are guarded again later.
pub async fn check_subscription(check: &UrlCheck, input: &CalendarInput) -> Result<(), AppError> {
    let Some(Ok(url)) = input.source_url.as_deref().filter(|u| !u.trim().is_empty()).map(check_source_url) else {
        // No address, or a malformed one that `create` names together with the other fields.
        return Ok(());
    };
    check.check(&url).await.map_err(|reason| {
        AppError::field(FieldError::new("source_url", format!("Calento cannot subscribe to this address: {reason}.")))
    })
}

pub async fn create_default(db: &Db, user_id: &str, time_zone: &str, now: i64) -> Result<(), AppError> {
    let id = new_id();
    let mut write = changes::begin(db, user_id).await?;
    sqlx::query(
        "INSERT INTO calendars (id, user_id, name, color, time_zone, is_default, changed_at, created_at)
         VALUES ($1, $2, 'Personal', $3, $4, 1, $5, $5)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(DEFAULT_COLOR)
    .bind(time_zone)
    .bind(now)
    .execute(&mut *write)
    .await?;
    write.record(Kind::Calendar, &id, Op::Created, Some(&id));
    write.commit().await
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<CalendarRow>, AppError> {
    sqlx::query_as::<_, CalendarRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calendars WHERE user_id = $1 ORDER BY is_default DESC, created_at, id"
    )))
    .bind(user_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

/// The user's calendar with this id; another user's calendar is "not found" too.
pub async fn find(db: &Db, user_id: &str, id: &str) -> Result<CalendarRow, AppError> {
    sqlx::query_as::<_, CalendarRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calendars WHERE id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)
}

/// A calendar by id, whoever owns it (for work that follows a change, not for requests).
pub async fn find_any(db: &Db, id: &str) -> Result<Option<CalendarRow>, AppError> {
    sqlx::query_as::<_, CalendarRow>(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM calendars WHERE id = $1")))
        .bind(id)
        .fetch_optional(db.read())
        .await
        .map_err(AppError::from)
}

pub async fn default_for(db: &Db, user_id: &str) -> Result<CalendarRow, AppError> {
    let all = list(db, user_id).await?;
    all.into_iter().next().ok_or(AppError::NotFound)
}

pub async fn create(db: &Db, user_id: &str, input: &CalendarInput, user_zone: &str) -> Result<CalendarRow, AppError> {
    create_with_id(db, user_id, new_id(), input, user_zone).await
}

/// [`create`] under an id the caller chose (a CalDAV client names the collection it makes);
/// an id already taken is refused as a conflict.
pub async fn create_with_id(
    db: &Db,
    user_id: &str,
    id: String,
    input: &CalendarInput,
    user_zone: &str,
) -> Result<CalendarRow, AppError> {
    let name = check_name(input.name.as_deref().unwrap_or_default());
    let color = check_color(input.color.as_deref().unwrap_or(DEFAULT_COLOR));
    let zone = TimeZoneName::parse(input.time_zone.as_deref().unwrap_or(user_zone));
    let source = input.source_url.as_deref().filter(|u| !u.trim().is_empty()).map(check_source_url).transpose();
    let poll = input.poll_minutes.map(check_poll).transpose();
    let (name, color, zone, source, poll) = match (name, color, zone, source, poll) {
        (Ok(n), Ok(c), Ok(z), Ok(s), Ok(p)) => (n, c, z, s, p),
        (n, c, z, s, p) => {
            return Err(AppError::fields(
                [n.err(), c.err(), z.err(), s.err(), p.err()].into_iter().flatten().collect(),
            ));
        }
    };
    let reminders = match input.default_reminders.as_deref().map(check_reminders).transpose() {
        Ok(r) => r.unwrap_or_default(),
        Err(e) => return Err(AppError::field(e)),
    };
    let mut write = changes::begin(db, user_id).await?;
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM calendars WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *write)
        .await
        .and_then(|row| row.try_get(0))?;
    if count >= MAX_CALENDARS {
        return Err(AppError::field(FieldError::new(
            "name",
            format!("You can have at most {MAX_CALENDARS} calendars."),
        )));
    }
    let now = now_ms();
    let poll = source.as_ref().map(|_| poll.unwrap_or(60));
    sqlx::query(
        "INSERT INTO calendars (id, user_id, name, color, time_zone, counts_as_busy, visible, is_default, source_url,
                                poll_minutes, changed_at, created_at, default_reminders)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $10, $11)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(&name)
    .bind(&color)
    .bind(zone.as_str())
    .bind(i64::from(input.counts_as_busy.unwrap_or(true)))
    .bind(i64::from(input.visible.unwrap_or(true)))
    .bind(source)
    .bind(poll)
    .bind(now)
    .bind(serde_json::to_string(&reminders).unwrap_or_else(|_| "[]".into()))
    .execute(&mut *write)
    .await
    .map_err(|e| {
        if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
            AppError::Conflict { message: "A calendar with this address already exists.".to_owned() }
        } else {
            AppError::from(e)
        }
    })?;
    write.record(Kind::Calendar, &id, Op::Created, Some(&id));
    write.commit().await?;
    find(db, user_id, &id).await
}

pub async fn update(db: &Db, user_id: &str, id: &str, input: &CalendarInput) -> Result<CalendarRow, AppError> {
    let current = find(db, user_id, id).await?;
    let name = input.name.as_deref().map(check_name).transpose();
    let color = input.color.as_deref().map(check_color).transpose();
    let zone = input.time_zone.as_deref().map(TimeZoneName::parse).transpose();
    let poll = input.poll_minutes.map(check_poll).transpose();
    let reminders = input.default_reminders.as_deref().map(check_reminders).transpose();
    let source = match &input.source_url {
        Some(url) if Some(url.trim()) != current.source_url.as_deref() => {
            Err(FieldError::new("source_url", "A calendar's subscription address cannot be changed; subscribe again."))
        }
        _ => Ok(()),
    };
    let (name, color, zone, poll, reminders) = match (name, color, zone, poll, reminders, source) {
        (Ok(n), Ok(c), Ok(z), Ok(p), Ok(r), Ok(())) => (n, c, z, p, r),
        (n, c, z, p, r, s) => {
            return Err(AppError::fields(
                [n.err(), c.err(), z.err(), p.err(), r.err(), s.err()].into_iter().flatten().collect(),
            ));
        }
    };
    let mut write = changes::begin(db, user_id).await?;
    sqlx::query(
        "UPDATE calendars SET name = $1, color = $2, time_zone = $3, counts_as_busy = $4, visible = $5,
                poll_minutes = $6, changed_at = $7, default_reminders = $10
         WHERE id = $8 AND user_id = $9",
    )
    .bind(name.unwrap_or(current.name))
    .bind(color.unwrap_or(current.color))
    .bind(zone.map(|z| z.as_str().to_owned()).unwrap_or(current.time_zone))
    .bind(input.counts_as_busy.map(i64::from).unwrap_or(current.counts_as_busy))
    .bind(input.visible.map(i64::from).unwrap_or(current.visible))
    .bind(if current.source_url.is_some() { poll.or(current.poll_minutes) } else { None })
    .bind(now_ms())
    .bind(id)
    .bind(user_id)
    .bind(reminders.map_or(current.default_reminders, |r| serde_json::to_string(&r).unwrap_or_else(|_| "[]".into())))
    .execute(&mut *write)
    .await?;
    write.record(Kind::Calendar, id, Op::Updated, Some(id));
    write.commit().await?;
    find(db, user_id, id).await
}

/// Default reminders: at most five, each at most four weeks before; sorted, without repeats.
fn check_reminders(minutes: &[u32]) -> Result<Vec<u32>, FieldError> {
    if minutes.len() > MAX_DEFAULT_REMINDERS {
        return Err(FieldError::new(
            "default_reminders",
            format!("At most {MAX_DEFAULT_REMINDERS} default reminders."),
        ));
    }
    if minutes.iter().any(|m| *m > calento::event::MAX_REMINDER_MINUTES) {
        return Err(FieldError::new("default_reminders", "A reminder can be at most 4 weeks before."));
    }
    let mut sorted = minutes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    Ok(sorted)
}

/// Deletes a calendar and its events. The default calendar stays: every account keeps one.
pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<(), AppError> {
    let current = find(db, user_id, id).await?;
    if current.is_default == 1 {
        return Err(AppError::bad_request("The default calendar cannot be deleted."));
    }
    // The calendar takes its events with it: one `calendar deleted` change says so.
    let mut write = changes::begin(db, user_id).await?;
    sqlx::query("DELETE FROM calendars WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *write)
        .await?;
    write.record(Kind::Calendar, id, Op::Deleted, Some(id));
    write.commit().await
}

/// Publishes (or replaces) the private feed of a calendar; returns the new secret token.
pub async fn publish_feed(db: &Db, user_id: &str, id: &str) -> Result<String, AppError> {
    find(db, user_id, id).await?;
    let secret: [u8; 24] = rand::random();
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut write = changes::begin(db, user_id).await?;
    sqlx::query("UPDATE calendars SET feed_token_hash = $1 WHERE id = $2 AND user_id = $3")
        .bind(tokens::hash(&token))
        .bind(id)
        .bind(user_id)
        .execute(&mut *write)
        .await?;
    write.record(Kind::Calendar, id, Op::Updated, Some(id));
    write.commit().await?;
    Ok(token)
}

pub async fn revoke_feed(db: &Db, user_id: &str, id: &str) -> Result<(), AppError> {
    find(db, user_id, id).await?;
    let mut write = changes::begin(db, user_id).await?;
    sqlx::query("UPDATE calendars SET feed_token_hash = NULL WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *write)
        .await?;
    write.record(Kind::Calendar, id, Op::Updated, Some(id));
    write.commit().await
}

/// The calendar a feed token opens, if the token is current.
pub async fn find_by_feed_token(db: &Db, token: &str) -> Result<Option<CalendarRow>, AppError> {
    if token.len() != 48 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    sqlx::query_as::<_, CalendarRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calendars WHERE feed_token_hash = $1"
    )))
    .bind(tokens::hash(token))
    .fetch_optional(db.read())
    .await
    .map_err(AppError::from)
}
