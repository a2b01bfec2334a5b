//! Request budgets kept in the database, so they hold across restarts and across several
//! server processes: so many requests per window for one key (a client address, an
//! account, a token), then 429 with the seconds to wait.
//!
//! Fixed windows: one row per key holds the current window's start and its count, bumped
//! by a single upsert, so concurrent requests in any process count exactly.

use sqlx::Row;

use super::{Db, now_ms};
use crate::AppError;

/// `max` requests per `window_secs`; a `max` of 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_secs: u32,
}

impl Limit {
    pub const fn per_minute(max: u32) -> Self {
        Self { max, window_secs: 60 }
    }

    pub const fn per_hour(max: u32) -> Self {
        Self { max, window_secs: 3600 }
    }
}

/// Every budget the server enforces (see docs/SECURITY.md, "Rate limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Public booking pages and API, per client address.
    pub public: Limit,
    /// The REST API, per token (or per signed-in user).
    pub api: Limit,
    /// New accounts, per client address.
    pub register: Limit,
    /// Password-reset emails, per client address and per account.
    pub reset: Limit,
    /// `POST /api/v1/auth/token` and `/auth/refresh`, per client address.
    pub token: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            public: Limit::per_minute(300),
            api: Limit::per_minute(600),
            register: Limit::per_hour(10),
            reset: Limit::per_hour(5),
            token: Limit::per_minute(30),
        }
    }
}

/// Longest key stored; longer ones (they come from input) are cut.
const MAX_KEY: usize = 300;

const BUMP: &str = "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1)
     ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END,
        window_start = excluded.window_start
     RETURNING hits";

/// Counts one request for `bucket`/`key`; `RateLimited` with the seconds left in the
/// window when the budget is spent (the refused request counts too).
pub async fn hit(db: &Db, bucket: &str, key: &str, limit: Limit) -> Result<(), AppError> {
    hit_at(db, bucket, key, limit, now_ms()).await
}

pub async fn hit_at(db: &Db, bucket: &str, key: &str, limit: Limit, now: i64) -> Result<(), AppError> {
    if limit.max == 0 {
        return Ok(());
    }
    let window_ms = i64::from(limit.window_secs.max(1)) * 1000;
    let window_start = now - now.rem_euclid(window_ms);
    let mut full = format!("{bucket}:{key}");
    if full.len() > MAX_KEY {
        let mut cut = MAX_KEY;
        while !full.is_char_boundary(cut) {
            cut -= 1;
        }
        full.truncate(cut);
    }
    let row = sqlx::query(BUMP).bind(&full).bind(window_start).fetch_one(db.write()).await?;
    let hits: i64 = row.try_get(0)?;
    if hits > i64::from(limit.max) {
        let left_ms = window_start + window_ms - now;
        return Err(AppError::RateLimited {
            retry_after_secs: u64::try_from((left_ms + 999) / 1000).unwrap_or(1).max(1),
        });
    }
    Ok(())
}

/// Drops counters of windows that ended more than a day ago.
pub async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
        .bind(now - 2 * 86_400_000)
        .execute(db.write())
        .await
        .map(|done| done.rows_affected())
}
