//! Connected accounts in storage (issue 18): the accounts, their calendars and how each
//! syncs, the remote items as last seen, conflicts, and the reaction that sends Calento's
//! changes out. Talking to the services is the server's job (`server::google`); tokens
//! arrive here already encrypted.

use std::collections::BTreeSet;

use sqlx::Row;

use super::calendars::{self, CalendarRow};
use super::changes::{self, BoxFuture, Change, Kind, Op, Write};
use super::{Db, jobs, millis_to_utc, new_id, now_ms};
use crate::AppError;
use crate::models::{ConnectionInfo, ConnectionsPage, RemoteCalendarInfo, SyncConflictInfo};

/// Syncs one remote calendar: `{"remote_calendar_id": …}`.
pub const SYNC_JOB: &str = "google_sync";
/// Sends Calento's changes of one remote calendar's events: `{"remote_calendar_id": …}`.
pub const PUSH_JOB: &str = "google_push";
/// Finds remote calendars due for a poll; one for the instance, queuing its next run.
pub const SCAN_JOB: &str = "google_scan";
/// Revokes a disconnected account's grant at the service: `{"provider", "sealed"}` (the
/// refresh token, still sealed).
pub const REVOKE_JOB: &str = "connection_revoke";

pub const MODES: [&str; 3] = ["off", "busy", "two_way"];

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConnectionRow {
    pub id: String,
    pub user_id: String,
    pub provider: String,
    pub account: String,
    pub external_id: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub refresh_secret: Option<String>,
    pub access_secret: Option<String>,
    pub access_expires_at: Option<i64>,
    pub scopes: String,
    pub write_calendar: Option<String>,
    pub send_updates: i64,
    pub told_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const CONNECTION_COLUMNS: &str = "id, user_id, provider, account, external_id, status, status_reason, refresh_secret, \
     access_secret, access_expires_at, scopes, write_calendar, send_updates, told_at, created_at, updated_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RemoteCalendarRow {
    pub id: String,
    pub connection_id: String,
    pub user_id: String,
    pub remote_id: String,
    pub name: String,
    pub color: Option<String>,
    pub time_zone: Option<String>,
    pub is_primary: i64,
    pub mode: String,
    pub calendar_id: Option<String>,
    pub mapping: Option<String>,
    pub sync_token: Option<String>,
    pub synced_at: Option<i64>,
    pub next_sync_at: Option<i64>,
    pub created_count: i64,
    pub updated_count: i64,
    pub deleted_count: i64,
    pub error: Option<String>,
    pub channel_id: Option<String>,
    pub channel_resource: Option<String>,
    pub channel_token_hash: Option<String>,
    pub channel_expires_at: Option<i64>,
}

const REMOTE_COLUMNS: &str = "id, connection_id, user_id, remote_id, name, color, time_zone, is_primary, mode, \
     calendar_id, mapping, sync_token, synced_at, next_sync_at, created_count, updated_count, deleted_count, error, channel_id, \
     channel_resource, channel_token_hash, channel_expires_at";

impl RemoteCalendarRow {
    pub fn info(&self) -> RemoteCalendarInfo {
        RemoteCalendarInfo {
            id: self.id.clone(),
            remote_id: self.remote_id.clone(),
            name: self.name.clone(),
            primary: self.is_primary == 1,
            mode: self.mode.clone(),
            calendar_id: self.calendar_id.clone(),
            last_sync: self.synced_at.map(millis_to_utc),
            next_sync: self.next_sync_at.filter(|_| self.mode != "off").map(millis_to_utc),
            created: self.created_count,
            updated: self.updated_count,
            deleted: self.deleted_count,
            error: self.error.clone(),
            mapping: self.mapping.as_deref().and_then(|m| serde_json::from_str(m).ok()),
        }
    }
}

impl ConnectionRow {
    pub fn info(&self, calendars: Vec<RemoteCalendarInfo>) -> ConnectionInfo {
        ConnectionInfo {
            id: self.id.clone(),
            provider: self.provider.clone(),
            account: self.account.clone(),
            status: self.status.clone(),
            status_reason: self.status_reason.clone(),
            write_calendar: self.write_calendar.clone(),
            send_updates: self.send_updates == 1,
            calendars,
            created_at: millis_to_utc(self.created_at),
        }
    }
}

/// A remote item as last seen.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemRow {
    pub remote_calendar_id: String,
    pub remote_id: String,
    pub uid: String,
    pub master_remote_id: Option<String>,
    pub etag: Option<String>,
    pub raw: String,
    pub remote_base: Option<String>,
    pub local_base: Option<String>,
    pub event_id: Option<String>,
    pub updated_at: i64,
}

const ITEM_COLUMNS: &str =
    "remote_calendar_id, remote_id, uid, master_remote_id, etag, raw, remote_base, local_base, event_id, updated_at";

// ---------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------

/// What a completed OAuth grant gives.
#[derive(Debug, Clone)]
pub struct Grant {
    pub provider: String,
    pub account: String,
    pub external_id: Option<String>,
    pub refresh_secret: Option<String>,
    pub access_secret: String,
    pub access_expires_at: i64,
    pub scopes: String,
}

/// Stores a grant: a new connection, or the same account connected again (its tokens
/// replaced, its status back to ok; its calendars and their sync state kept).
pub async fn save_grant(db: &Db, user_id: &str, grant: &Grant) -> Result<ConnectionRow, AppError> {
    let now = now_ms();
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM connections WHERE user_id = $1 AND provider = $2 AND account = $3")
            .bind(user_id)
            .bind(&grant.provider)
            .bind(&grant.account)
            .fetch_optional(db.read())
            .await?;
    let mut write = changes::begin(db, user_id).await?;
    let id = match existing {
        Some(id) => {
            sqlx::query(
                "UPDATE connections SET status = 'ok', status_reason = NULL, refresh_secret = COALESCE($1, refresh_secret),
                        access_secret = $2, access_expires_at = $3, scopes = $4, told_at = NULL, updated_at = $5
                  WHERE id = $6",
            )
            .bind(&grant.refresh_secret)
            .bind(&grant.access_secret)
            .bind(grant.access_expires_at)
            .bind(&grant.scopes)
            .bind(now)
            .bind(&id)
            .execute(&mut *write)
            .await?;
            id
        }
        None => {
            let id = new_id();
            sqlx::query(
                "INSERT INTO connections (id, user_id, provider, account, external_id, status, refresh_secret,
                        access_secret, access_expires_at, scopes, send_updates, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $10, 'ok', $5, $6, $7, $8, 0, $9, $9)",
            )
            .bind(&id)
            .bind(user_id)
            .bind(&grant.provider)
            .bind(&grant.account)
            .bind(&grant.refresh_secret)
            .bind(&grant.access_secret)
            .bind(grant.access_expires_at)
            .bind(&grant.scopes)
            .bind(now)
            .bind(&grant.external_id)
            .execute(&mut *write)
            .await?;
            id
        }
    };
    write.record(Kind::Connection, &id, Op::Updated, None);
    write.commit().await?;
    connection(db, &id).await
}

/// A connection by id, whoever owns it (for jobs).
pub async fn connection(db: &Db, id: &str) -> Result<ConnectionRow, AppError> {
    sqlx::query_as::<_, ConnectionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)
}

/// A person's connection (another person's reads as not found).
pub async fn connection_of(db: &Db, user_id: &str, id: &str) -> Result<ConnectionRow, AppError> {
    connection(db, id).await.and_then(|c| if c.user_id == user_id { Ok(c) } else { Err(AppError::NotFound) })
}

/// Whether any account is connected (start-up then needs the secret key).
pub async fn any_connected(db: &Db) -> Result<bool, AppError> {
    let found: i64 = sqlx::query_scalar(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM connections WHERE refresh_secret IS NOT NULL OR access_secret IS NOT NULL)
                THEN 1 ELSE 0 END",
    )
    .fetch_one(db.read())
    .await?;
    Ok(found == 1)
}

/// Stores a refreshed access token.
pub async fn store_access(db: &Db, id: &str, access_secret: &str, expires_at: i64) -> Result<(), AppError> {
    let mut write = changes::begin_unowned(db).await?;
    sqlx::query("UPDATE connections SET access_secret = $1, access_expires_at = $2, updated_at = $3 WHERE id = $4")
        .bind(access_secret)
        .bind(expires_at)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *write)
        .await?;
    write.commit().await
}

/// Stores renewed tokens (a rotated refresh token replaces the old one).
pub async fn store_tokens(
    db: &Db,
    id: &str,
    access_secret: &str,
    expires_at: i64,
    refresh_secret: Option<&str>,
) -> Result<(), AppError> {
    let mut write = changes::begin_unowned(db).await?;
    sqlx::query(
        "UPDATE connections SET access_secret = $1, access_expires_at = $2, updated_at = $3,
                refresh_secret = COALESCE($4, refresh_secret) WHERE id = $5",
    )
    .bind(access_secret)
    .bind(expires_at)
    .bind(now_ms())
    .bind(refresh_secret)
    .bind(id)
    .execute(&mut *write)
    .await?;
    write.commit().await
}

/// The service refused the grant: the connection shows "reconnect", its calendars stop
/// syncing until the person connects again, and the person is emailed once (until they
/// connect again) with a link to the sync page. Never silent staleness.
pub async fn needs_reconnect(
    db: &Db,
    connection: &ConnectionRow,
    reason: &str,
    base_url: &str,
) -> Result<(), AppError> {
    let user = super::accounts::find_by_id(db, &connection.user_id).await?.ok_or(AppError::NotFound)?;
    let label = provider_label(&connection.provider);
    let mut write = changes::begin(db, &connection.user_id).await?;
    let now = now_ms();
    let told: Option<i64> = sqlx::query_scalar("SELECT told_at FROM connections WHERE id = $1")
        .bind(&connection.id)
        .fetch_one(&mut *write)
        .await?;
    sqlx::query(
        "UPDATE connections SET status = 'reconnect', status_reason = $1, access_secret = NULL, updated_at = $2,
                told_at = COALESCE(told_at, $2)
          WHERE id = $3",
    )
    .bind(super::subscriptions::short_error(reason))
    .bind(now)
    .bind(&connection.id)
    .execute(&mut *write)
    .await?;
    sqlx::query("UPDATE remote_calendars SET error = $1 WHERE connection_id = $2 AND mode <> 'off'")
        .bind(format!("{label} refused access: connect the account again."))
        .bind(&connection.id)
        .execute(&mut *write)
        .await?;
    if told.is_none() {
        let link = format!("{}/settings/connections", base_url.trim_end_matches('/'));
        let subject = format!("Reconnect your {label} account to keep it in sync");
        let text = format!(
            "{label} no longer lets Calento reach {account} ({reason}).\n\nUntil you connect it again, its \
             calendars are not synced: changes made there do not reach Calento, and busy time from there may be \
             out of date.\n\nConnect it again: {link}\n",
            account = connection.account,
        );
        let html = format!(
            "<p>{label} no longer lets Calento reach <strong>{account}</strong> ({reason}).</p><p>Until you connect \
             it again, its calendars are not synced: changes made there do not reach Calento, and busy time from \
             there may be out of date.</p><p><a href=\"{link}\">Connect it again</a></p>",
            account = crate::components::escape_html(&connection.account),
            reason = crate::components::escape_html(reason),
            link = crate::components::escape_html(&link),
        );
        let draft = super::mail::EmailDraft {
            user_id: user.id.clone(),
            booking_id: None,
            kind: "connection_reconnect".into(),
            to_address: user.email.clone(),
            to_name: user.name.clone(),
            subject,
            text_body: text,
            html_body: format!("<!doctype html><html><body>{html}</body></html>"),
            ics: None,
            unsubscribe_url: None,
        };
        super::mail::queue(&mut write, &draft).await?;
    }
    write.record(Kind::Connection, &connection.id, Op::Updated, None);
    write.commit().await
}

pub fn provider_label(provider: &str) -> &'static str {
    match provider {
        "google" => "Google",
        "notion" => "Notion",
        _ => "The service",
    }
}

/// Disconnects: the tokens are removed (the caller revokes them first when it can), the
/// remote calendars forgotten; with `remove_events` the calendars Calento kept for them
/// are deleted, otherwise they stay as ordinary calendars.
pub async fn disconnect(db: &Db, user_id: &str, id: &str, remove_events: bool) -> Result<(), AppError> {
    let connection = connection_of(db, user_id, id).await?;
    let kept: Vec<String> = sqlx::query_scalar(
        "SELECT calendar_id FROM remote_calendars WHERE connection_id = $1 AND calendar_id IS NOT NULL",
    )
    .bind(&connection.id)
    .fetch_all(db.read())
    .await?;
    let mut write = changes::begin(db, user_id).await?;
    for calendar_id in &kept {
        let mirror: Option<Option<String>> =
            sqlx::query_scalar("SELECT mirror FROM calendars WHERE id = $1 AND user_id = $2")
                .bind(calendar_id)
                .bind(user_id)
                .fetch_optional(&mut *write)
                .await?;
        let Some(mirror) = mirror else { continue };
        // Busy-time copies are nothing without their source; two-way calendars are the
        // person's own unless they asked to remove what came from the account.
        if remove_events || mirror.as_deref() == Some("busy") {
            sqlx::query("DELETE FROM calendars WHERE id = $1").bind(calendar_id).execute(&mut *write).await?;
            write.record(Kind::Calendar, calendar_id, Op::Deleted, Some(calendar_id));
        } else {
            sqlx::query("UPDATE calendars SET mirror = NULL WHERE id = $1")
                .bind(calendar_id)
                .execute(&mut *write)
                .await?;
            write.record(Kind::Calendar, calendar_id, Op::Updated, Some(calendar_id));
        }
    }
    if let Some(sealed) = &connection.refresh_secret {
        let payload = serde_json::json!({ "provider": connection.provider, "sealed": sealed });
        jobs::enqueue(&mut write, REVOKE_JOB, &payload, now_ms()).await?;
    }
    sqlx::query("DELETE FROM connections WHERE id = $1").bind(&connection.id).execute(&mut *write).await?;
    write.record(Kind::Connection, &connection.id, Op::Deleted, None);
    write.commit().await
}

/// Sets whether Google emails guests of events Calento writes, and where new bookings go
/// (a remote calendar id of this connection, or none).
pub async fn set_options(
    db: &Db,
    user_id: &str,
    id: &str,
    write_calendar: Option<&str>,
    send_updates: bool,
) -> Result<ConnectionInfo, AppError> {
    let connection = connection_of(db, user_id, id).await?;
    if let Some(remote) = write_calendar {
        let known = remote_calendars_of(db, &connection.id).await?.iter().any(|c| c.remote_id == remote);
        if !known {
            return Err(AppError::field(calento::FieldError::new(
                "write_calendar",
                "Choose one of this account's calendars.",
            )));
        }
    }
    let mut write = changes::begin(db, user_id).await?;
    sqlx::query("UPDATE connections SET write_calendar = $1, send_updates = $2, updated_at = $3 WHERE id = $4")
        .bind(write_calendar)
        .bind(i64::from(send_updates))
        .bind(now_ms())
        .bind(&connection.id)
        .execute(&mut *write)
        .await?;
    write.record(Kind::Connection, &connection.id, Op::Updated, None);
    if let Some(remote) = write_calendar {
        let rc: Option<String> =
            sqlx::query_scalar("SELECT id FROM remote_calendars WHERE connection_id = $1 AND remote_id = $2")
                .bind(&connection.id)
                .bind(remote)
                .fetch_optional(&mut *write)
                .await?;
        if let Some(rc) = rc {
            queue_push(&mut write, &rc).await?;
        }
    }
    write.commit().await?;
    info(db, &connection_of(db, user_id, id).await?).await
}

// ---------------------------------------------------------------------------------------
// Remote calendars
// ---------------------------------------------------------------------------------------

/// A calendar as the service lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub remote_id: String,
    pub name: String,
    pub color: Option<String>,
    pub time_zone: Option<String>,
    pub primary: bool,
}

/// Records the calendars the service lists: new ones are added (the primary one syncs its
/// busy time at once, as people expect their main calendar to block bookings), known ones
/// are renamed; ones no longer listed stop syncing.
pub async fn save_listed(db: &Db, connection: &ConnectionRow, listed: &[Listed]) -> Result<(), AppError> {
    let known = remote_calendars_of(db, &connection.id).await?;
    let user = super::accounts::find_by_id(db, &connection.user_id).await?.ok_or(AppError::NotFound)?;
    let now = now_ms();
    let mut write = changes::begin(db, &connection.user_id).await?;
    for item in listed {
        match known.iter().find(|k| k.remote_id == item.remote_id) {
            Some(k) => {
                sqlx::query(
                    "UPDATE remote_calendars SET name = $1, color = $2, time_zone = $3, is_primary = $4 WHERE id = $5",
                )
                .bind(&item.name)
                .bind(&item.color)
                .bind(&item.time_zone)
                .bind(i64::from(item.primary))
                .bind(&k.id)
                .execute(&mut *write)
                .await?;
            }
            None => {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO remote_calendars (id, connection_id, user_id, remote_id, name, color, time_zone,
                            is_primary, mode, next_sync_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'off', $9, $9)",
                )
                .bind(&id)
                .bind(&connection.id)
                .bind(&connection.user_id)
                .bind(&item.remote_id)
                .bind(&item.name)
                .bind(&item.color)
                .bind(&item.time_zone)
                .bind(i64::from(item.primary))
                .bind(now)
                .execute(&mut *write)
                .await?;
                if item.primary {
                    let row = RemoteCalendarRow {
                        id: id.clone(),
                        connection_id: connection.id.clone(),
                        user_id: connection.user_id.clone(),
                        remote_id: item.remote_id.clone(),
                        name: item.name.clone(),
                        color: item.color.clone(),
                        time_zone: item.time_zone.clone(),
                        is_primary: 1,
                        mode: "off".into(),
                        calendar_id: None,
                        mapping: None,
                        sync_token: None,
                        synced_at: None,
                        next_sync_at: None,
                        created_count: 0,
                        updated_count: 0,
                        deleted_count: 0,
                        error: None,
                        channel_id: None,
                        channel_resource: None,
                        channel_token_hash: None,
                        channel_expires_at: None,
                    };
                    apply_mode(&mut write, &row, "busy", None, &user.time_zone, &connection.account).await?;
                }
            }
        }
    }
    for gone in known.iter().filter(|k| !listed.iter().any(|l| l.remote_id == k.remote_id)) {
        sqlx::query("UPDATE remote_calendars SET mode = 'off', error = $1 WHERE id = $2")
            .bind("No longer listed by the account (deleted or unshared there).")
            .bind(&gone.id)
            .execute(&mut *write)
            .await?;
    }
    write.record(Kind::Connection, &connection.id, Op::Updated, None);
    write.commit().await
}

pub async fn remote_calendars_of(db: &Db, connection_id: &str) -> Result<Vec<RemoteCalendarRow>, AppError> {
    sqlx::query_as::<_, RemoteCalendarRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {REMOTE_COLUMNS} FROM remote_calendars WHERE connection_id = $1 ORDER BY is_primary DESC, name, id"
    )))
    .bind(connection_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

pub async fn remote_calendar(db: &Db, id: &str) -> Result<RemoteCalendarRow, AppError> {
    sqlx::query_as::<_, RemoteCalendarRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {REMOTE_COLUMNS} FROM remote_calendars WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)
}

/// The remote calendar a push channel belongs to.
pub async fn by_channel(db: &Db, channel_id: &str) -> Result<Option<RemoteCalendarRow>, AppError> {
    sqlx::query_as::<_, RemoteCalendarRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {REMOTE_COLUMNS} FROM remote_calendars WHERE channel_id = $1"
    )))
    .bind(channel_id)
    .fetch_optional(db.read())
    .await
    .map_err(AppError::from)
}

/// Changes how a remote calendar syncs. `busy` keeps a read-only calendar of its events;
/// `two_way` mirrors it with `calendar_id` (one of the person's own calendars) or a new
/// calendar; `off` stops (a busy-time calendar is removed, a two-way one stays as the
/// person's own). Any change starts over with a full sync.
pub async fn set_mode(
    db: &Db,
    user_id: &str,
    remote_calendar_id: &str,
    mode: &str,
    calendar_id: Option<&str>,
) -> Result<RemoteCalendarInfo, AppError> {
    if !MODES.contains(&mode) {
        return Err(AppError::field(calento::FieldError::new("mode", "Choose off, busy or two_way.")));
    }
    let row = remote_calendar(db, remote_calendar_id).await?;
    if row.user_id != user_id {
        return Err(AppError::NotFound);
    }
    if mode == "busy" && connection(db, &row.connection_id).await?.provider == "notion" {
        return Err(AppError::field(calento::FieldError::new("mode", "A task database syncs off or two_way.")));
    }
    if let Some(id) = calendar_id.filter(|_| mode == "two_way") {
        let calendar = calendars::find(db, user_id, id)
            .await
            .map_err(|_| AppError::field(calento::FieldError::new("calendar_id", "Choose one of your calendars.")))?;
        if calendar.read_only() {
            return Err(AppError::field(calento::FieldError::new(
                "calendar_id",
                "Choose a calendar of your own, not a subscription or busy-time copy.",
            )));
        }
        let taken: Option<String> =
            sqlx::query_scalar("SELECT id FROM remote_calendars WHERE calendar_id = $1 AND id <> $2 AND mode <> 'off'")
                .bind(id)
                .bind(&row.id)
                .fetch_optional(db.read())
                .await?;
        if taken.is_some() {
            return Err(AppError::field(calento::FieldError::new(
                "calendar_id",
                "That calendar already syncs with another connected calendar.",
            )));
        }
    }
    let user = super::accounts::find_by_id(db, user_id).await?.ok_or(AppError::NotFound)?;
    let connection = connection(db, &row.connection_id).await?;
    let mut write = changes::begin(db, user_id).await?;
    let chosen = calendar_id.filter(|_| mode == "two_way");
    apply_mode(&mut write, &row, mode, chosen, &user.time_zone, &connection.account).await?;
    write.record(Kind::Connection, &row.connection_id, Op::Updated, None);
    write.commit().await?;
    Ok(remote_calendar(db, remote_calendar_id).await?.info())
}

async fn apply_mode(
    write: &mut Write,
    row: &RemoteCalendarRow,
    mode: &str,
    chosen: Option<&str>,
    user_zone: &str,
    account: &str,
) -> Result<(), AppError> {
    let now = now_ms();
    let provider: String = sqlx::query_scalar("SELECT provider FROM connections WHERE id = $1")
        .bind(&row.connection_id)
        .fetch_one(&mut **write)
        .await?;
    if provider == "notion" {
        // A task database: no calendar; its tasks are the person's own.
        sqlx::query(
            "UPDATE remote_calendars SET mode = $1, sync_token = NULL, next_sync_at = $2, error = NULL WHERE id = $3",
        )
        .bind(mode)
        .bind(now)
        .bind(&row.id)
        .execute(&mut **write)
        .await?;
        if mode != "off" {
            queue_sync(write, &row.id, now).await?;
        }
        return Ok(());
    }
    // Leave the current calendar: a busy copy goes, a two-way one stays the person's.
    if let Some(old) = &row.calendar_id
        && (mode != row.mode || chosen.is_some_and(|c| c != old))
    {
        let mirror: Option<Option<String>> = sqlx::query_scalar("SELECT mirror FROM calendars WHERE id = $1")
            .bind(old)
            .fetch_optional(&mut **write)
            .await?;
        if mirror.clone().flatten().as_deref() == Some("busy") {
            sqlx::query("DELETE FROM calendars WHERE id = $1").bind(old).execute(&mut **write).await?;
            write.record(Kind::Calendar, old, Op::Deleted, Some(old));
        } else if mirror.is_some() {
            sqlx::query("UPDATE calendars SET mirror = NULL WHERE id = $1").bind(old).execute(&mut **write).await?;
            write.record(Kind::Calendar, old, Op::Updated, Some(old));
        }
    }
    let keep_calendar = row.calendar_id.clone().filter(|_| mode == row.mode && chosen.is_none());
    let calendar_id = match (mode, keep_calendar) {
        ("off", _) => None,
        (_, Some(same)) => Some(same),
        ("two_way", None) if chosen.is_some() => {
            let id = chosen.unwrap_or_default().to_owned();
            sqlx::query("UPDATE calendars SET mirror = 'two_way' WHERE id = $1")
                .bind(&id)
                .execute(&mut **write)
                .await?;
            write.record(Kind::Calendar, &id, Op::Updated, Some(&id));
            Some(id)
        }
        (_, None) => {
            let id = new_id();
            let zone = row
                .time_zone
                .clone()
                .filter(|z| calento::TimeZoneName::parse(z).is_ok())
                .unwrap_or_else(|| user_zone.to_owned());
            let name = if row.is_primary == 1 { account.to_owned() } else { row.name.clone() };
            let color = row.color.clone().filter(|c| c.len() == 7 && c.starts_with('#')).unwrap_or("#039be5".into());
            sqlx::query(
                "INSERT INTO calendars (id, user_id, name, color, time_zone, counts_as_busy, visible, is_default,
                        mirror, changed_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, 1, 1, 0, $6, $7, $7)",
            )
            .bind(&id)
            .bind(&row.user_id)
            .bind(name.chars().take(100).collect::<String>())
            .bind(color)
            .bind(zone)
            .bind(mode)
            .bind(now)
            .execute(&mut **write)
            .await?;
            write.record(Kind::Calendar, &id, Op::Created, Some(&id));
            Some(id)
        }
    };
    sqlx::query(
        "UPDATE remote_calendars SET mode = $1, calendar_id = $2, sync_token = NULL, next_sync_at = $3, error = NULL
          WHERE id = $4",
    )
    .bind(mode)
    .bind(&calendar_id)
    .bind(now)
    .bind(&row.id)
    .execute(&mut **write)
    .await?;
    // A new mirror starts from what the service holds: the full listing brings everything
    // again (events Calento wrote there keep their ids, derived from their UIDs).
    sqlx::query("DELETE FROM remote_items WHERE remote_calendar_id = $1").bind(&row.id).execute(&mut **write).await?;
    if mode != "off" {
        jobs::enqueue_once(
            write,
            SYNC_JOB,
            &sync_key(&row.id),
            &serde_json::json!({ "remote_calendar_id": row.id }),
            now,
        )
        .await?;
    }
    Ok(())
}

fn sync_key(remote_calendar_id: &str) -> String {
    format!("{SYNC_JOB}:{remote_calendar_id}")
}

/// Remote calendars whose poll is due (their connection is ok).
pub async fn due(db: &Db, now_ms: i64, limit: i64) -> Result<Vec<RemoteCalendarRow>, AppError> {
    let columns = REMOTE_COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
    sqlx::query_as::<_, RemoteCalendarRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM remote_calendars r JOIN connections c ON c.id = r.connection_id
          WHERE r.mode <> 'off' AND c.status = 'ok' AND (r.next_sync_at IS NULL OR r.next_sync_at <= $1)
          ORDER BY r.next_sync_at, r.id LIMIT $2"
    )))
    .bind(now_ms)
    .bind(limit)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

/// Queues a sync of each of the connection's syncing calendars now ("Sync now").
pub async fn sync_now(db: &Db, user_id: &str, connection_id: &str) -> Result<(), AppError> {
    let connection = connection_of(db, user_id, connection_id).await?;
    if connection.status != "ok" {
        return Err(AppError::Conflict {
            message: format!("{} refused access: connect the account again.", provider_label(&connection.provider)),
        });
    }
    let rows = remote_calendars_of(db, &connection.id).await?;
    let mut write = changes::begin_unowned(db).await?;
    for row in rows.iter().filter(|r| r.mode != "off") {
        queue_sync(&mut write, &row.id, now_ms()).await?;
    }
    write.commit().await
}

/// Queues a sync of one remote calendar at `at_ms` (once, however many causes).
pub async fn queue_sync(write: &mut Write, remote_calendar_id: &str, at_ms: i64) -> Result<(), AppError> {
    jobs::enqueue_once(
        write,
        SYNC_JOB,
        &sync_key(remote_calendar_id),
        &serde_json::json!({ "remote_calendar_id": remote_calendar_id }),
        at_ms,
    )
    .await
    .map(|_| ())
}

async fn queue_push(write: &mut Write, remote_calendar_id: &str) -> Result<(), AppError> {
    jobs::enqueue_once(
        write,
        PUSH_JOB,
        &format!("{PUSH_JOB}:{remote_calendar_id}"),
        &serde_json::json!({ "remote_calendar_id": remote_calendar_id }),
        now_ms(),
    )
    .await
    .map(|_| ())
}

/// What a sync did, for the sync page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub deleted: i64,
}

/// A sync ended well: its token, counts and the next poll.
pub async fn record_sync(
    db: &Db,
    row: &RemoteCalendarRow,
    sync_token: Option<&str>,
    counts: Counts,
    next_ms: i64,
) -> Result<(), AppError> {
    let mut write = changes::begin(db, &row.user_id).await?;
    sqlx::query(
        "UPDATE remote_calendars SET sync_token = $1, synced_at = $2, next_sync_at = $3, error = NULL,
                created_count = created_count + $4, updated_count = updated_count + $5, deleted_count = deleted_count + $6
          WHERE id = $7",
    )
    .bind(sync_token)
    .bind(now_ms())
    .bind(next_ms)
    .bind(counts.created)
    .bind(counts.updated)
    .bind(counts.deleted)
    .bind(&row.id)
    .execute(&mut *write)
    .await?;
    if counts != Counts::default() || row.error.is_some() || row.synced_at.is_none() {
        write.record(Kind::Connection, &row.connection_id, Op::Updated, None);
    }
    write.commit().await
}

/// A sync failed: its reason is shown; the next poll comes at `next_ms`.
pub async fn record_error(db: &Db, row: &RemoteCalendarRow, error: &str, next_ms: i64) -> Result<(), AppError> {
    let error = super::subscriptions::short_error(error);
    let mut write = changes::begin(db, &row.user_id).await?;
    sqlx::query("UPDATE remote_calendars SET error = $1, next_sync_at = $2 WHERE id = $3")
        .bind(&error)
        .bind(next_ms)
        .bind(&row.id)
        .execute(&mut *write)
        .await?;
    if row.error.as_deref() != Some(error.as_str()) {
        write.record(Kind::Connection, &row.connection_id, Op::Updated, None);
    }
    write.commit().await
}

/// Forgets a calendar's sync token (the service said 410 Gone): the next listing is full.
pub async fn forget_sync_token(db: &Db, id: &str) -> Result<(), AppError> {
    let mut write = changes::begin_unowned(db).await?;
    sqlx::query("UPDATE remote_calendars SET sync_token = NULL WHERE id = $1").bind(id).execute(&mut *write).await?;
    write.commit().await
}

/// Stores a push channel (or clears it with `None`).
pub async fn set_channel(db: &Db, id: &str, channel: Option<(&str, &str, &str, i64)>) -> Result<(), AppError> {
    let (channel_id, resource, token_hash, expires) = match channel {
        Some((c, r, t, e)) => (Some(c), Some(r), Some(t), Some(e)),
        None => (None, None, None, None),
    };
    let mut write = changes::begin_unowned(db).await?;
    sqlx::query(
        "UPDATE remote_calendars SET channel_id = $1, channel_resource = $2, channel_token_hash = $3,
                channel_expires_at = $4 WHERE id = $5",
    )
    .bind(channel_id)
    .bind(resource)
    .bind(token_hash)
    .bind(expires)
    .bind(id)
    .execute(&mut *write)
    .await?;
    write.commit().await
}

// ---------------------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------------------

pub async fn items_of(db: &Db, remote_calendar_id: &str) -> Result<Vec<ItemRow>, AppError> {
    sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM remote_items WHERE remote_calendar_id = $1 ORDER BY remote_id"
    )))
    .bind(remote_calendar_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

pub async fn items_with_uid(db: &Db, remote_calendar_id: &str, uid: &str) -> Result<Vec<ItemRow>, AppError> {
    sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM remote_items WHERE remote_calendar_id = $1 AND uid = $2 ORDER BY remote_id"
    )))
    .bind(remote_calendar_id)
    .bind(uid)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

/// Stores an item as seen (insert or replace), in the caller's write.
pub async fn put_item(write: &mut Write, item: &ItemRow) -> Result<(), AppError> {
    sqlx::query("DELETE FROM remote_items WHERE remote_calendar_id = $1 AND remote_id = $2")
        .bind(&item.remote_calendar_id)
        .bind(&item.remote_id)
        .execute(&mut **write)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO remote_items ({ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )))
    .bind(&item.remote_calendar_id)
    .bind(&item.remote_id)
    .bind(&item.uid)
    .bind(&item.master_remote_id)
    .bind(&item.etag)
    .bind(&item.raw)
    .bind(&item.remote_base)
    .bind(&item.local_base)
    .bind(&item.event_id)
    .bind(item.updated_at)
    .execute(&mut **write)
    .await?;
    Ok(())
}

/// Forgets an item (and, for a series, its exceptions), in the caller's write.
pub async fn drop_item(write: &mut Write, remote_calendar_id: &str, remote_id: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM remote_items WHERE remote_calendar_id = $1 AND (remote_id = $2 OR master_remote_id = $2)")
        .bind(remote_calendar_id)
        .bind(remote_id)
        .execute(&mut **write)
        .await?;
    Ok(())
}

/// Records the bases both sides agreed on for a series' item.
pub async fn set_bases(
    write: &mut Write,
    remote_calendar_id: &str,
    remote_id: &str,
    remote_base: Option<&str>,
    local_base: Option<&str>,
    event_id: Option<&str>,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE remote_items SET remote_base = $1, local_base = $2, event_id = $3
          WHERE remote_calendar_id = $4 AND remote_id = $5",
    )
    .bind(remote_base)
    .bind(local_base)
    .bind(event_id)
    .bind(remote_calendar_id)
    .bind(remote_id)
    .execute(&mut **write)
    .await?;
    Ok(())
}

/// Logs a conflict (or a question, with `kept` = `ask`) for the sync page.
#[allow(clippy::too_many_arguments)]
pub async fn log_conflict(
    write: &mut Write,
    user_id: &str,
    remote_calendar_id: &str,
    uid: &str,
    title: &str,
    field: &str,
    kept: &str,
    detail: &str,
    booking_id: Option<&str>,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO sync_conflicts (id, user_id, remote_calendar_id, uid, title, field, kept, detail, booking_id,
                created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(remote_calendar_id)
    .bind(uid)
    .bind(title.chars().take(200).collect::<String>())
    .bind(field)
    .bind(kept)
    .bind(detail.chars().take(500).collect::<String>())
    .bind(booking_id)
    .bind(now_ms())
    .execute(&mut **write)
    .await?;
    Ok(())
}

/// Logs what the merge decided for each field both sides changed (`service`: "Google",
/// "Notion"), for the sync page.
pub async fn log_conflicts(
    write: &mut Write,
    user_id: &str,
    remote_calendar_id: &str,
    uid: &str,
    title: &str,
    conflicts: &[calento::sync::Conflict],
    service: &str,
) -> Result<(), AppError> {
    for conflict in conflicts {
        let reason = match conflict.reason {
            calento::sync::Reason::Organiser => "the organiser's copy wins",
            calento::sync::Reason::Later => "the later change wins",
        };
        let short = |text: &str| {
            let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if one.chars().count() > 60 { format!("{}…", one.chars().take(59).collect::<String>()) } else { one }
        };
        let kept =
            if conflict.kept == calento::sync::Side::Local { "Calento's".to_owned() } else { format!("{service}'s") };
        let detail = format!(
            "Changed on both sides: Calento “{}”, {service} “{}”; kept {kept} ({reason}).",
            short(&conflict.local),
            short(&conflict.remote),
        );
        log_conflict(
            write,
            user_id,
            remote_calendar_id,
            uid,
            title,
            &conflict.field,
            conflict.kept.as_str(),
            &detail,
            None,
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

pub async fn info(db: &Db, connection: &ConnectionRow) -> Result<ConnectionInfo, AppError> {
    let calendars = remote_calendars_of(db, &connection.id).await?.iter().map(RemoteCalendarRow::info).collect();
    Ok(connection.info(calendars))
}

/// A person's connections with their calendars.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<ConnectionInfo>, AppError> {
    let rows = sqlx::query_as::<_, ConnectionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CONNECTION_COLUMNS} FROM connections WHERE user_id = $1 ORDER BY created_at, id"
    )))
    .bind(user_id)
    .fetch_all(db.read())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(info(db, row).await?);
    }
    Ok(out)
}

/// The sync page's data: connections and the last 50 conflicts.
pub async fn page(
    db: &Db,
    user_id: &str,
    (google_available, notion_sign_in): (bool, bool),
    admin: bool,
) -> Result<ConnectionsPage, AppError> {
    let rows = sqlx::query(
        "SELECT id, title, field, kept, detail, booking_id, resolved_at, created_at FROM sync_conflicts
          WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50",
    )
    .bind(user_id)
    .fetch_all(db.read())
    .await?;
    let mut conflicts = Vec::with_capacity(rows.len());
    for row in rows {
        conflicts.push(SyncConflictInfo {
            id: row.try_get(0)?,
            title: row.try_get(1)?,
            field: row.try_get(2)?,
            kept: row.try_get(3)?,
            detail: row.try_get(4)?,
            booking_id: row.try_get(5)?,
            resolved: row.try_get::<Option<i64>, _>(6)?.is_some(),
            at: millis_to_utc(row.try_get(7)?),
        });
    }
    let own_calendars =
        calendars::list(db, user_id).await?.into_iter().filter(|c| !c.read_only()).map(|c| (c.id, c.name)).collect();
    let notion_webhook_token = if admin { super::notify::read_key(db, "notion_webhook_token").await? } else { None };
    Ok(ConnectionsPage {
        connections: list(db, user_id).await?,
        conflicts,
        google_available,
        notion_sign_in,
        own_calendars,
        notion_webhook_token,
    })
}

// ---------------------------------------------------------------------------------------
// The reaction: Calento's changes go out
// ---------------------------------------------------------------------------------------

/// Queues a push for each remote calendar a change touches: events of a two-way calendar,
/// and bookings (their events go to the calendar the person chose for bookings).
pub fn push_on_changes<'a>(
    write: &'a mut Write,
    user_id: &'a str,
    changed: &'a [Change],
) -> BoxFuture<'a, Result<(), AppError>> {
    Box::pin(async move {
        let calendars: BTreeSet<&str> =
            changed.iter().filter(|c| c.kind == Kind::Event).filter_map(|c| c.calendar_id.as_deref()).collect();
        let booking = changed.iter().any(|c| c.kind == Kind::Booking);
        let tasks = changed.iter().any(|c| c.kind == Kind::Task);
        if calendars.is_empty() && !booking && !tasks {
            return Ok(());
        }
        let targets: Vec<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT r.id, c.provider, r.mode, r.calendar_id,
                    CASE WHEN c.write_calendar = r.remote_id THEN 1 ELSE 0 END FROM remote_calendars r
               JOIN connections c ON c.id = r.connection_id
              WHERE r.user_id = $1 AND c.status = 'ok'
                AND (r.mode = 'two_way' OR c.write_calendar = r.remote_id)",
        )
        .bind(user_id)
        .fetch_all(&mut **write)
        .await?;
        for (id, provider, mode, calendar_id, bookings_go_here) in targets {
            let wanted = if provider == "notion" {
                tasks && mode == "two_way"
            } else {
                let mirrored = mode == "two_way" && calendar_id.as_deref().is_some_and(|c| calendars.contains(c));
                // Bookings and task blocks are events of the person's calendars: any change
                // of an event or a booking may be one (the push sends only what differs).
                mirrored || (bookings_go_here == 1 && (booking || !calendars.is_empty()))
            };
            if wanted {
                queue_push(write, &id).await?;
            }
        }
        Ok(())
    })
}

/// The calendar a remote calendar mirrors.
pub async fn mirror_calendar(db: &Db, row: &RemoteCalendarRow) -> Result<Option<CalendarRow>, AppError> {
    match &row.calendar_id {
        Some(id) => calendars::find_any(db, id).await,
        None => Ok(None),
    }
}

/// The items of one series, read in the caller's write.
pub async fn items_with_uid_in(
    write: &mut Write,
    remote_calendar_id: &str,
    uid: &str,
) -> Result<Vec<ItemRow>, AppError> {
    sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM remote_items WHERE remote_calendar_id = $1 AND uid = $2 ORDER BY remote_id"
    )))
    .bind(remote_calendar_id)
    .bind(uid)
    .fetch_all(&mut **write)
    .await
    .map_err(AppError::from)
}

/// A series' rows (master first) in a calendar, read in the caller's write.
pub async fn series_in(
    write: &mut Write,
    calendar_id: &str,
    uid: &str,
) -> Result<Vec<super::events::EventRow>, AppError> {
    sqlx::query_as::<_, super::events::EventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM events WHERE calendar_id = $1 AND uid = $2 ORDER BY master_id NULLS FIRST, start_ms, id",
        super::events::COLUMNS
    )))
    .bind(calendar_id)
    .bind(uid)
    .fetch_all(&mut **write)
    .await
    .map_err(AppError::from)
}

/// Whether the person has an event with this UID in one of their own calendars (not a copy
/// kept for a connected one): Calento wrote it to the remote calendar (a booking, a task
/// block), so its remote copy is not imported back as a duplicate. The same event in two
/// connected calendars (an invitation to two accounts) is kept in each.
pub async fn uid_is_elsewhere(
    write: &mut Write,
    user_id: &str,
    calendar_id: &str,
    uid: &str,
) -> Result<bool, AppError> {
    let found: i64 = sqlx::query_scalar(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM events e JOIN calendars c ON c.id = e.calendar_id
                                   WHERE e.user_id = $1 AND e.uid = $2 AND e.calendar_id <> $3
                                     AND c.mirror IS NULL)
                THEN 1 ELSE 0 END",
    )
    .bind(user_id)
    .bind(uid)
    .bind(calendar_id)
    .fetch_one(&mut **write)
    .await?;
    Ok(found == 1)
}

/// The active booking whose event this is, if any.
pub async fn booking_of_event(write: &mut Write, event_id: &str) -> Result<Option<String>, AppError> {
    sqlx::query_scalar("SELECT id FROM bookings WHERE event_id = $1 AND status IN ('confirmed', 'pending')")
        .bind(event_id)
        .fetch_optional(&mut **write)
        .await
        .map_err(AppError::from)
}

/// Whether the event is a task's block of focus time.
pub async fn is_task_block(write: &mut Write, event_id: &str) -> Result<bool, AppError> {
    let found: Option<String> = sqlx::query_scalar("SELECT event_id FROM task_blocks WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(&mut **write)
        .await?;
    Ok(found.is_some())
}

/// What goes to the calendar chosen for bookings: the events of the person's active
/// bookings and of their task blocks (focus time the planner placed).
pub async fn booking_events(db: &Db, user_id: &str) -> Result<Vec<super::events::EventRow>, AppError> {
    let columns = super::events::COLUMNS.split(", ").map(|c| format!("e.{}", c.trim())).collect::<Vec<_>>().join(", ");
    sqlx::query_as::<_, super::events::EventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM events e
          WHERE e.user_id = $1 AND e.master_id IS NULL
            AND (e.id IN (SELECT event_id FROM bookings WHERE host_id = $1 AND status IN ('confirmed', 'pending')
                            AND event_id IS NOT NULL)
                 OR e.id IN (SELECT event_id FROM task_blocks WHERE user_id = $1))
          ORDER BY e.id"
    )))
    .bind(user_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

/// UIDs of a remote calendar waiting for the person's answer (a booking's event deleted on
/// the other side): sync leaves them alone until then.
pub async fn waiting_uids(db: &Db, remote_calendar_id: &str) -> Result<BTreeSet<String>, AppError> {
    let uids: Vec<String> = sqlx::query_scalar(
        "SELECT uid FROM sync_conflicts WHERE remote_calendar_id = $1 AND kept = 'ask' AND resolved_at IS NULL",
    )
    .bind(remote_calendar_id)
    .fetch_all(db.read())
    .await?;
    Ok(uids.into_iter().collect())
}

/// Adds what a push did to the calendar's counts.
pub async fn add_counts(db: &Db, row: &RemoteCalendarRow, counts: Counts) -> Result<(), AppError> {
    if counts == Counts::default() {
        return Ok(());
    }
    let mut write = changes::begin(db, &row.user_id).await?;
    sqlx::query(
        "UPDATE remote_calendars SET created_count = created_count + $1, updated_count = updated_count + $2,
                deleted_count = deleted_count + $3 WHERE id = $4",
    )
    .bind(counts.created)
    .bind(counts.updated)
    .bind(counts.deleted)
    .bind(&row.id)
    .execute(&mut *write)
    .await?;
    write.record(Kind::Connection, &row.connection_id, Op::Updated, None);
    write.commit().await
}

/// Queues a push of one remote calendar at `at_ms` (after a rate limit).
pub async fn queue_push_at(db: &Db, remote_calendar_id: &str, at_ms: i64) -> Result<(), AppError> {
    let mut write = changes::begin_unowned(db).await?;
    jobs::enqueue_once(
        &mut write,
        PUSH_JOB,
        &format!("{PUSH_JOB}:{remote_calendar_id}"),
        &serde_json::json!({ "remote_calendar_id": remote_calendar_id }),
        at_ms,
    )
    .await?;
    write.commit().await
}

/// Makes sure the poll scan is queued (every process calls this at start).
pub async fn schedule_scan(db: &Db, run_at_ms: i64) -> Result<(), AppError> {
    let mut write = changes::begin_unowned(db).await?;
    jobs::enqueue_once(&mut write, SCAN_JOB, SCAN_JOB, &serde_json::json!({}), run_at_ms).await?;
    write.commit().await
}

/// The person's answer to a question of sync (a booking's event deleted on the other side):
/// `cancel` cancels the booking (the caller does, telling the invitee), `keep` puts the
/// event back on the other side at the next push.
pub async fn resolve_question(
    db: &Db,
    user_id: &str,
    conflict_id: &str,
    keep: bool,
) -> Result<(Option<String>, String), AppError> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT booking_id, remote_calendar_id FROM sync_conflicts
          WHERE id = $1 AND user_id = $2 AND kept = 'ask' AND resolved_at IS NULL",
    )
    .bind(conflict_id)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?;
    let Some((booking_id, remote_calendar_id)) = row else { return Err(AppError::NotFound) };
    let mut write = changes::begin(db, user_id).await?;
    sqlx::query("UPDATE sync_conflicts SET resolved_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(conflict_id)
        .execute(&mut *write)
        .await?;
    let remote_calendar_id = remote_calendar_id.unwrap_or_default();
    if keep && !remote_calendar_id.is_empty() {
        queue_push(&mut write, &remote_calendar_id).await?;
    }
    write.record(Kind::Connection, conflict_id, Op::Updated, None);
    write.commit().await?;
    Ok((booking_id, remote_calendar_id))
}

// ---------------------------------------------------------------------------------------
// Notion: task databases
// ---------------------------------------------------------------------------------------

/// Which property of a Notion task database holds what. Absent: not synced.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskMapping {
    /// The title property.
    pub title: String,
    /// A status, checkbox or select property saying whether the task is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The status/select option meaning done (a checkbox: checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_value: Option<String>,
    /// The option set when a task is reopened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_value: Option<String>,
    /// A date property: when to do it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_date: Option<String>,
    /// A date property: the deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// A select property: priority (options named like high, medium, low).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// A multi-select property: tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// A number property: the estimate in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<String>,
    /// A relation of the database to itself holding a page's parent (Notion's "Sub-items":
    /// "Parent item"). When set, micro-steps are sub-item pages; when not, to-do blocks in
    /// the task's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// Stores a database's property mapping (checked against its properties at the next sync,
/// which shows a mismatch as the sync's error).
pub async fn set_mapping(
    db: &Db,
    user_id: &str,
    remote_calendar_id: &str,
    mapping: &TaskMapping,
) -> Result<RemoteCalendarInfo, AppError> {
    let row = remote_calendar(db, remote_calendar_id).await?;
    if row.user_id != user_id {
        return Err(AppError::NotFound);
    }
    if mapping.title.trim().is_empty() {
        return Err(AppError::field(calento::FieldError::new("mapping.title", "Name the title property.")));
    }
    let text = serde_json::to_string(mapping).map_err(|e| super::unexpected("writing a mapping", e))?;
    let before: Option<TaskMapping> = row.mapping.as_deref().and_then(|m| serde_json::from_str(m).ok());
    let mut write = changes::begin(db, user_id).await?;
    sqlx::query("UPDATE remote_calendars SET mapping = $1, next_sync_at = $2, sync_token = NULL WHERE id = $3")
        .bind(&text)
        .bind(now_ms())
        .bind(&row.id)
        .execute(&mut *write)
        .await?;
    if before.is_some_and(|b| b.parent != mapping.parent) {
        // Steps change kind (to-do blocks ↔ sub-items): the push writes them anew as the
        // new kind; the old blocks or pages are left in Notion as they are.
        sqlx::query("DELETE FROM remote_items WHERE remote_calendar_id = $1 AND master_remote_id IS NOT NULL")
            .bind(&row.id)
            .execute(&mut *write)
            .await?;
        if row.mode == "two_way" {
            queue_push(&mut write, &row.id).await?;
        }
    }
    write.record(Kind::Connection, &row.connection_id, Op::Updated, None);
    if row.mode != "off" {
        queue_sync(&mut write, &row.id, now_ms()).await?;
    }
    write.commit().await?;
    Ok(remote_calendar(db, remote_calendar_id).await?.info())
}

/// Stores a guessed mapping (the sync's first look at the database) unless one is set.
pub async fn store_guessed_mapping(db: &Db, remote_calendar_id: &str, mapping: &TaskMapping) -> Result<(), AppError> {
    let text = serde_json::to_string(mapping).map_err(|e| super::unexpected("writing a mapping", e))?;
    let mut write = changes::begin_unowned(db).await?;
    sqlx::query("UPDATE remote_calendars SET mapping = $1 WHERE id = $2 AND mapping IS NULL")
        .bind(&text)
        .bind(remote_calendar_id)
        .execute(&mut *write)
        .await?;
    write.commit().await
}

/// Notion databases of a workspace that sync (its webhook queues their poll).
pub async fn notion_targets(db: &Db, workspace_id: &str) -> Result<Vec<String>, AppError> {
    sqlx::query_scalar(
        "SELECT r.id FROM remote_calendars r JOIN connections c ON c.id = r.connection_id
          WHERE c.provider = 'notion' AND c.external_id = $1 AND c.status = 'ok' AND r.mode <> 'off'",
    )
    .bind(workspace_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

/// Tasks (with their steps) of the person, as the Notion push reads them: the roots this
/// database holds and those it should (every open root task).
pub async fn task_roots(db: &Db, user_id: &str) -> Result<Vec<String>, AppError> {
    sqlx::query_scalar(
        "SELECT id FROM tasks WHERE user_id = $1 AND parent_id IS NULL AND is_template = 0 AND status <> 'archived'
          ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

/// Stores (or replaces) an instance key of connected services (Notion's webhook token).
pub async fn set_instance_key(db: &Db, name: &str, value: &str) -> Result<(), AppError> {
    let mut write = changes::begin_unowned(db).await?;
    sqlx::query("DELETE FROM instance_keys WHERE name = $1").bind(name).execute(&mut *write).await?;
    sqlx::query("INSERT INTO instance_keys (name, value, created_at) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(value)
        .bind(now_ms())
        .execute(&mut *write)
        .await?;
    write.commit().await
}
