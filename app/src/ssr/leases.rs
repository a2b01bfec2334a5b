//! Named leases in the database, so that work meant to happen once happens in one server
//! process at a time however many share the database (migration `leases`).
//!
//! [`take`] is one statement on either database: an upsert that only overwrites a lease
//! that has run out or is the taker's own, so of two processes racing for a free lease
//! exactly one row changes. A lease runs out by itself (`ttl`), so a crashed holder delays
//! the work by at most that; [`give_back`] frees it as soon as the work is done.

use std::sync::LazyLock;
use std::time::Duration;

use super::{Db, changes, now_ms};
use crate::AppError;

/// This process's name as a lease holder (random per start).
pub static HOLDER: LazyLock<String> = LazyLock::new(|| format!("p-{}", super::new_id()));

/// Takes the lease `name` for `ttl` when it is free, run out, or already this process's
/// (then it is extended). `true` when taken.
pub async fn take(db: &Db, name: &str, ttl: Duration) -> Result<bool, AppError> {
    take_as(db, name, HOLDER.as_str(), ttl).await
}

/// [`take`] for a named holder (tests play two processes with it).
pub async fn take_as(db: &Db, name: &str, holder: &str, ttl: Duration) -> Result<bool, AppError> {
    let now = now_ms();
    let until = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4));
    let mut write = changes::begin_unowned(db).await?;
    let taken = sqlx::query(
        "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
          WHERE leases.until_ms <= $4 OR leases.holder = excluded.holder",
    )
    .bind(name)
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(&mut *write)
    .await?
    .rows_affected()
        == 1;
    write.commit().await?;
    Ok(taken)
}

/// Gives the lease back (only this process's own).
pub async fn give_back(db: &Db, name: &str) -> Result<(), AppError> {
    give_back_as(db, name, HOLDER.as_str()).await
}

/// [`give_back`] for a named holder.
pub async fn give_back_as(db: &Db, name: &str, holder: &str) -> Result<(), AppError> {
    let mut write = changes::begin_unowned(db).await?;
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(&mut *write)
        .await?;
    write.commit().await
}

/// Who holds `name` now, if anyone (for tests and the admin page).
pub async fn holder(db: &Db, name: &str) -> Result<Option<String>, AppError> {
    sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1 AND until_ms > $2")
        .bind(name)
        .bind(now_ms())
        .fetch_optional(db.read())
        .await
        .map_err(AppError::from)
}

/// A lease this process holds, given back when dropped: also when the work holding it is
/// cut off (a request timeout, a job's deadline), not only when it ends normally.
#[must_use = "the lease is given back when this is dropped"]
pub struct Held {
    db: Db,
    name: String,
}

impl Held {
    /// Takes `name` for `ttl`; `None` when another process holds it.
    pub async fn take(db: &Db, name: &str, ttl: Duration) -> Result<Option<Self>, AppError> {
        Ok(take(db, name, ttl).await?.then(|| Self { db: db.clone(), name: name.to_owned() }))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let (db, name) = (self.db.clone(), std::mem::take(&mut self.name));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = give_back(&db, &name).await {
                    tracing::warn!(%error, lease = %name, "giving back a lease");
                }
            });
        }
    }
}
