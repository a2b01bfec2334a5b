//! Personal access tokens: created once and shown once, stored only as a SHA-256 hash.

use calento::TokenName;
use calento::scope::Scopes;
use sha2::{Digest, Sha256};

use super::{Db, millis_to_utc, new_id, now_ms};
use crate::AppError;
use crate::models::{CreatedToken, TokenInfo};

/// Every token starts with this, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "cal_";

/// What a token is for: the API (Settings → API tokens) or one calendar app
/// (Settings → Calendar apps, CalDAV).
pub const API: &str = "api";
pub const APP_PASSWORD: &str = "app_password";

/// How stale `last_used_at` may get before a use writes it again.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

#[derive(Debug, Clone, sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    scopes: String,
}

impl TokenRow {
    fn info(self) -> TokenInfo {
        TokenInfo {
            id: self.id,
            name: self.name,
            created_at: millis_to_utc(self.created_at),
            last_used_at: self.last_used_at.map(millis_to_utc),
            scopes: self.scopes,
        }
    }
}

/// The SHA-256 of a secret, in hex: what storage keeps of every token. Looking a token up
/// by its hash compares hashes, never the secret, so timing tells an attacker nothing.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh secret: `prefix` and 64 hex digits (256 random bits).
pub fn generate_with(prefix: &str) -> String {
    let secret: [u8; 32] = rand::random();
    let mut token = String::from(prefix);
    token.extend(secret.iter().map(|b| format!("{b:02x}")));
    token
}

/// Whether `presented` has the shape of a secret made by [`generate_with`] for `prefix`.
pub fn well_formed(presented: &str, prefix: &str) -> bool {
    presented.len() == prefix.len() + 64
        && presented.starts_with(prefix)
        && presented[prefix.len()..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn generate() -> String {
    generate_with(TOKEN_PREFIX)
}

/// What a valid bearer token lets its holder do, and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub user_id: String,
    pub scopes: Scopes,
    /// What the per-token request budget counts against: `pat:{id}` or `app:{family}`.
    pub budget_key: String,
    /// A personal token (it may manage tokens); app tokens may not.
    pub personal: bool,
}

pub async fn create(db: &Db, user_id: &str, name: &str) -> Result<CreatedToken, AppError> {
    create_scoped(db, user_id, name, Scopes::all()).await
}

pub async fn create_scoped(db: &Db, user_id: &str, name: &str, scopes: Scopes) -> Result<CreatedToken, AppError> {
    create_for(db, user_id, name, scopes, API).await
}

/// A token for `purpose` ([`API`] or [`APP_PASSWORD`]).
pub async fn create_for(
    db: &Db,
    user_id: &str,
    name: &str,
    scopes: Scopes,
    purpose: &str,
) -> Result<CreatedToken, AppError> {
    let name = TokenName::parse(name)?;
    let token = generate();
    let row = TokenRow {
        id: new_id(),
        name: name.as_str().to_owned(),
        created_at: now_ms(),
        last_used_at: None,
        scopes: scopes.text(),
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, scopes, purpose)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&row.id)
    .bind(user_id)
    .bind(&row.name)
    .bind(hash(&token))
    .bind(row.created_at)
    .bind(&row.scopes)
    .bind(purpose)
    .execute(db.write())
    .await?;
    Ok(CreatedToken { info: row.info(), token })
}

/// The user's API tokens that still work, newest first.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<TokenInfo>, AppError> {
    list_for(db, user_id, API).await
}

/// The user's tokens for `purpose` that still work, newest first.
pub async fn list_for(db: &Db, user_id: &str, purpose: &str) -> Result<Vec<TokenInfo>, AppError> {
    sqlx::query_as::<_, TokenRow>(
        "SELECT id, name, created_at, last_used_at, scopes FROM api_tokens
         WHERE user_id = $1 AND purpose = $2 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC",
    )
    .bind(user_id)
    .bind(purpose)
    .fetch_all(db.read())
    .await
    .map(|rows| rows.into_iter().map(TokenRow::info).collect())
    .map_err(AppError::from)
}

/// The name of one of the user's tokens (for the audit log).
pub async fn name_of(db: &Db, user_id: &str, token_id: &str) -> Option<String> {
    sqlx::query_as::<_, (String,)>("SELECT name FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(token_id)
        .bind(user_id)
        .fetch_optional(db.read())
        .await
        .ok()
        .flatten()
        .map(|(name,)| name)
}

/// Writes `last_used_at` (with `sql`, binding the row's id and now) when the stored one is
/// more than a minute old, so a busy token does not write on every request.
pub(super) async fn note_use(db: &Db, sql: &'static str, id: &str, last_used_at: Option<i64>) -> Result<(), AppError> {
    let now = now_ms();
    if last_used_at.is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS) {
        sqlx::query(sql).bind(id).bind(now).execute(db.write()).await?;
    }
    Ok(())
}

/// Revokes every personal token of the user (password reset, disabled account).
pub async fn revoke_all(db: &Db, user_id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now_ms())
        .execute(db.write())
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

/// Revokes one of the user's tokens; another user's token is "not found".
pub async fn revoke(db: &Db, user_id: &str, token_id: &str) -> Result<(), AppError> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
            .bind(token_id)
            .bind(user_id)
            .bind(now_ms())
            .execute(db.write())
            .await?;
    if done.rows_affected() == 1 { Ok(()) } else { Err(AppError::NotFound) }
}

/// What a presented personal token allows, if it is one of ours and not revoked.
pub async fn authenticate(db: &Db, presented: &str) -> Result<Option<Credential>, AppError> {
    if !well_formed(presented, TOKEN_PREFIX) {
        return Ok(None);
    }
    let token_hash = hash(presented);
    let row: Option<(String, String, Option<i64>, String)> = sqlx::query_as(
        "SELECT id, user_id, last_used_at, scopes FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(&token_hash)
    .fetch_optional(db.read())
    .await?;
    let Some((id, user_id, last_used_at, scopes)) = row else {
        return Ok(None);
    };
    note_use(db, "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", &id, last_used_at).await?;
    Ok(Some(Credential {
        user_id,
        scopes: Scopes::from_stored(&scopes),
        budget_key: format!("pat:{id}"),
        personal: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_long_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
    }
}
