//! Who may register on the instance (open, by invitation, closed) and the invite links
//! its administrators hand out.

use sqlx::Row;

use super::audit::{self, Origin, event};
use super::tokens::{generate_with, hash, well_formed};
use super::{Db, millis_to_utc, new_id, now_ms};
use crate::AppError;
use crate::models::{InviteInfo, RegistrationMode};

const MODE_KEY: &str = "registration_mode";
const INVITE_PREFIX: &str = "cai_";
const INVITE_DAYS: i64 = 14;

pub async fn registration_mode(db: &Db) -> Result<RegistrationMode, AppError> {
    let row = sqlx::query("SELECT value FROM instance_settings WHERE key = $1")
        .bind(MODE_KEY)
        .fetch_optional(db.read())
        .await?;
    Ok(row.and_then(|r| r.try_get::<String, _>(0).ok()).and_then(|v| RegistrationMode::parse(&v)).unwrap_or_default())
}

pub async fn set_registration_mode(
    db: &Db,
    mode: RegistrationMode,
    admin_id: &str,
    origin: &Origin,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO instance_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(MODE_KEY)
    .bind(mode.as_str())
    .execute(db.write())
    .await?;
    audit::record(db, Some(admin_id), Some(admin_id), event::ADMIN_REGISTRATION_MODE, mode.as_str(), origin).await;
    Ok(())
}

fn invalid_invite() -> AppError {
    AppError::field(calento::FieldError::new(
        "invite",
        "Registration here is by invitation: this invite link is missing, used, expired, or for another address.",
    ))
}

/// Makes an invite link (optionally for one address), valid 14 days.
pub async fn create_invite(
    db: &Db,
    admin_id: &str,
    email: Option<&str>,
    origin: &Origin,
) -> Result<InviteInfo, AppError> {
    let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(text) => Some(calento::EmailAddress::parse(text)?.as_str().to_owned()),
        None => None,
    };
    let secret = generate_with(INVITE_PREFIX);
    let now = now_ms();
    let id = new_id();
    let expires_at = now + INVITE_DAYS * 86_400_000;
    sqlx::query(
        "INSERT INTO invites (id, token_hash, email, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(hash(&secret))
    .bind(&email)
    .bind(admin_id)
    .bind(now)
    .bind(expires_at)
    .execute(db.write())
    .await?;
    audit::record(
        db,
        Some(admin_id),
        Some(admin_id),
        event::ADMIN_INVITE_CREATED,
        email.as_deref().unwrap_or("any address"),
        origin,
    )
    .await;
    Ok(InviteInfo {
        id,
        email,
        created_at: millis_to_utc(now),
        expires_at: millis_to_utc(expires_at),
        used: false,
        link: Some(format!("/register?invite={secret}")),
    })
}

pub async fn list_invites(db: &Db) -> Result<Vec<InviteInfo>, AppError> {
    let rows: Vec<(String, Option<String>, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, email, created_at, expires_at, used_at FROM invites ORDER BY created_at DESC, id DESC LIMIT 100",
    )
    .fetch_all(db.read())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, email, created_at, expires_at, used_at)| InviteInfo {
            id,
            email,
            created_at: millis_to_utc(created_at),
            expires_at: millis_to_utc(expires_at),
            used: used_at.is_some(),
            link: None,
        })
        .collect())
}

/// Spends an invite for a registration with `email`; returns its id.
pub async fn spend_invite(db: &Db, secret: &str, email: &str) -> Result<String, AppError> {
    let secret = secret.trim();
    if !well_formed(secret, INVITE_PREFIX) {
        return Err(invalid_invite());
    }
    let row = sqlx::query(
        "UPDATE invites SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND (email IS NULL OR email = $3)
         RETURNING id",
    )
    .bind(hash(secret))
    .bind(now_ms())
    .bind(email)
    .fetch_optional(db.write())
    .await?;
    row.and_then(|r| r.try_get::<String, _>(0).ok()).ok_or_else(invalid_invite)
}

pub async fn invite_used_by(db: &Db, invite_id: &str, user_id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE invites SET used_by = $2 WHERE id = $1")
        .bind(invite_id)
        .bind(user_id)
        .execute(db.write())
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

/// Gives an invite back when the registration that spent it failed.
pub async fn unspend_invite(db: &Db, invite_id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE invites SET used_at = NULL WHERE id = $1 AND used_by IS NULL")
        .bind(invite_id)
        .execute(db.write())
        .await
        .map(|_| ())
        .map_err(AppError::from)
}
