//! Tokens for apps: a sign-in with email and password (`POST /api/v1/auth/token`) starts a
//! family; each refresh (`/auth/refresh`) spends its refresh token and answers a new pair
//! in the same family. A refresh token presented a second time means someone holds a copy:
//! the whole family is revoked, so every access and refresh token of it stops working.
//!
//! Access tokens live 15 minutes, refresh tokens 30 days; all are stored as hashes only.

use calento::scope::Scopes;

use super::tokens::{Credential, generate_with, hash, well_formed};
use super::{Db, millis_to_utc, new_id, now_ms};
use crate::AppError;
use crate::models::{AppGrantInfo, TokenPair};

pub const ACCESS_PREFIX: &str = "cat_";
pub const REFRESH_PREFIX: &str = "car_";
pub const ACCESS_SECS: i64 = 15 * 60;
pub const REFRESH_SECS: i64 = 30 * 86_400;

/// Why a refresh failed; each is a 401 to the client, told apart for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshError {
    /// Not one of ours, expired, or its family was revoked.
    Invalid,
    /// Already spent: the family is now revoked. Carries the account and family.
    Reused { user_id: String, family_id: String },
}

async fn issue(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    family_id: &str,
    scopes: Scopes,
    now: i64,
) -> Result<TokenPair, AppError> {
    let access = generate_with(ACCESS_PREFIX);
    let refresh = generate_with(REFRESH_PREFIX);
    sqlx::query(
        "INSERT INTO access_tokens (id, family_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new_id())
    .bind(family_id)
    .bind(hash(&access))
    .bind(now)
    .bind(now + ACCESS_SECS * 1000)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new_id())
    .bind(family_id)
    .bind(hash(&refresh))
    .bind(now)
    .bind(now + REFRESH_SECS * 1000)
    .execute(&mut **tx)
    .await?;
    Ok(TokenPair {
        access_token: access,
        refresh_token: refresh,
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_SECS,
        scope: scopes.text(),
    })
}

/// Starts a family for a user who has just proven who they are.
pub async fn start(db: &Db, user_id: &str, scopes: Scopes) -> Result<(String, TokenPair), AppError> {
    let now = now_ms();
    let family_id = new_id();
    let mut tx = db.write().begin().await?;
    sqlx::query("INSERT INTO token_families (id, user_id, scopes, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&family_id)
        .bind(user_id)
        .bind(scopes.text())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let pair = issue(&mut tx, &family_id, scopes, now).await?;
    tx.commit().await?;
    Ok((family_id, pair))
}

/// Spends a refresh token for a new pair. Returns the account, the family and the pair.
pub async fn refresh(db: &Db, presented: &str) -> Result<Result<(String, String, TokenPair), RefreshError>, AppError> {
    if !well_formed(presented, REFRESH_PREFIX) {
        return Ok(Err(RefreshError::Invalid));
    }
    let now = now_ms();
    let found: Option<(String, String, i64, Option<i64>, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT r.id, r.family_id, r.expires_at, r.used_at, f.user_id, f.scopes, f.revoked_at
         FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id WHERE r.token_hash = $1",
    )
    .bind(hash(presented))
    .fetch_optional(db.read())
    .await?;
    let Some((token_id, family_id, expires_at, used_at, user_id, scopes, revoked_at)) = found else {
        return Ok(Err(RefreshError::Invalid));
    };
    if revoked_at.is_some() {
        return Ok(Err(RefreshError::Invalid));
    }
    if used_at.is_some() {
        revoke_family(db, &family_id, "refresh token reused").await?;
        return Ok(Err(RefreshError::Reused { user_id, family_id }));
    }
    if expires_at <= now {
        return Ok(Err(RefreshError::Invalid));
    }
    let mut tx = db.write().begin().await?;
    // Spending is the transaction's first write: of two concurrent refreshes with the same
    // token, exactly one spends it; the other is a reuse.
    let spent = sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
        .bind(&token_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    if spent.rows_affected() != 1 {
        drop(tx);
        revoke_family(db, &family_id, "refresh token reused").await?;
        return Ok(Err(RefreshError::Reused { user_id, family_id }));
    }
    sqlx::query("UPDATE token_families SET last_used_at = $2 WHERE id = $1")
        .bind(&family_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let pair = issue(&mut tx, &family_id, Scopes::from_stored(&scopes), now).await?;
    tx.commit().await?;
    Ok(Ok((user_id, family_id, pair)))
}

pub async fn revoke_family(db: &Db, family_id: &str, reason: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE token_families SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL")
        .bind(family_id)
        .bind(now_ms())
        .bind(reason)
        .execute(db.write())
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

/// Signs one app out: its family is revoked. Another user's family is "not found".
pub async fn revoke_for_user(db: &Db, user_id: &str, family_id: &str) -> Result<(), AppError> {
    let done = sqlx::query(
        "UPDATE token_families SET revoked_at = $3, revoked_reason = 'signed out' WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .bind(user_id)
    .bind(now_ms())
    .execute(db.write())
    .await?;
    if done.rows_affected() == 1 { Ok(()) } else { Err(AppError::NotFound) }
}

/// Signs every app of the user out (password reset, "log out everywhere", disabled account).
pub async fn revoke_all(db: &Db, user_id: &str, reason: &str) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE token_families SET revoked_at = $2, revoked_reason = $3 WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(now_ms())
    .bind(reason)
    .execute(db.write())
    .await
    .map(|_| ())
    .map_err(AppError::from)
}

/// The user's apps that are still signed in, newest first.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<AppGrantInfo>, AppError> {
    let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, scopes, created_at, last_used_at FROM token_families
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC",
    )
    .bind(user_id)
    .fetch_all(db.read())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, scopes, created_at, last_used_at)| AppGrantInfo {
            id,
            scopes,
            created_at: millis_to_utc(created_at),
            last_used_at: last_used_at.map(millis_to_utc),
        })
        .collect())
}

/// What a presented access token allows: unexpired, and its family not revoked.
pub async fn authenticate(db: &Db, presented: &str) -> Result<Option<Credential>, AppError> {
    if !well_formed(presented, ACCESS_PREFIX) {
        return Ok(None);
    }
    let now = now_ms();
    let found: Option<(String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT f.id, f.user_id, f.scopes, f.last_used_at FROM access_tokens a JOIN token_families f ON f.id = a.family_id
         WHERE a.token_hash = $1 AND a.expires_at > $2 AND f.revoked_at IS NULL",
    )
    .bind(hash(presented))
    .bind(now)
    .fetch_optional(db.read())
    .await?;
    let Some((family_id, user_id, scopes, last_used_at)) = found else {
        return Ok(None);
    };
    super::tokens::note_use(db, "UPDATE token_families SET last_used_at = $2 WHERE id = $1", &family_id, last_used_at)
        .await?;
    Ok(Some(Credential {
        user_id,
        scopes: Scopes::from_stored(&scopes),
        budget_key: format!("app:{family_id}"),
        personal: false,
    }))
}

/// Drops expired access tokens, spent or expired refresh tokens older than their lifetime,
/// and families revoked more than 30 days ago.
pub async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    for (sql, before) in [
        ("DELETE FROM access_tokens WHERE expires_at < $1", now),
        ("DELETE FROM refresh_tokens WHERE expires_at < $1", now),
        ("DELETE FROM token_families WHERE revoked_at < $1", now - REFRESH_SECS * 1000),
    ] {
        removed += sqlx::query(sql).bind(before).execute(db.write()).await?.rows_affected();
    }
    Ok(removed)
}
