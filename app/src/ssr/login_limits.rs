//! Limits on failed sign-ins, per account and per client address, kept in the database
//! so they hold across restarts and across several server processes.

use sqlx::Row;

use super::{Db, new_id};
use crate::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failed attempts on one account within the window before it is paused.
    pub per_account: u32,
    /// Failed attempts from one address within the window before it is paused.
    pub per_ip: u32,
    pub window_secs: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self { per_account: 5, per_ip: 20, window_secs: 15 * 60 }
    }
}

/// Seconds until the next attempt is allowed, or `None` when it is allowed now.
pub async fn blocked_for(
    db: &Db,
    limits: &LoginLimits,
    account_key: &str,
    client_ip: &str,
    now: i64,
) -> Result<Option<u64>, AppError> {
    let window_ms = i64::from(limits.window_secs) * 1000;
    let since = now - window_ms;
    let checks = [
        (
            "SELECT failed_at FROM login_failures WHERE account_key = $1 AND failed_at > $2 ORDER BY failed_at DESC LIMIT 1 OFFSET $3",
            account_key,
            limits.per_account,
        ),
        (
            "SELECT failed_at FROM login_failures WHERE client_ip = $1 AND failed_at > $2 ORDER BY failed_at DESC LIMIT 1 OFFSET $3",
            client_ip,
            limits.per_ip,
        ),
    ];
    let mut wait_ms = 0i64;
    for (sql, key, limit) in checks {
        // The limit-th most recent failure in the window: while it is inside the window,
        // the key is paused until it leaves.
        let row =
            sqlx::query(sql).bind(key).bind(since).bind(i64::from(limit.max(1)) - 1).fetch_optional(db.read()).await?;
        if let Some(failed_at) = row.and_then(|r| r.try_get::<i64, _>(0).ok()) {
            wait_ms = wait_ms.max(failed_at + window_ms - now);
        }
    }
    Ok((wait_ms > 0).then(|| u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1)))
}

pub async fn record_failure(db: &Db, account_key: &str, client_ip: &str, now: i64) -> Result<(), AppError> {
    sqlx::query("INSERT INTO login_failures (id, account_key, client_ip, failed_at) VALUES ($1, $2, $3, $4)")
        .bind(new_id())
        .bind(account_key)
        .bind(client_ip)
        .bind(now)
        .execute(db.write())
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

/// A successful sign-in clears that account's failures (not the address's).
pub async fn forget_account(db: &Db, account_key: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM login_failures WHERE account_key = $1")
        .bind(account_key)
        .execute(db.write())
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

/// Drops failures older than any window could need.
pub async fn prune(db: &Db, limits: &LoginLimits, now: i64) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
        .bind(now - i64::from(limits.window_secs) * 1000)
        .execute(db.write())
        .await
        .map(|done| done.rows_affected())
}
