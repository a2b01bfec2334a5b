//! Browser sessions for tower-sessions, stored in the application's own database.
//!
//! The signed-in user's id is copied into its own column so that sessions can be listed
//! and revoked per user, and vanish with the account.

use async_trait::async_trait;
use sqlx::Row;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::{Db, now_ms};

/// The session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Removes expired sessions; returns how many.
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(self.db.write())
            .await
            .map(|done| done.rows_affected())
    }
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn columns(record: &Record) -> session_store::Result<(String, Option<String>, String, i64)> {
    let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let user_id = record.data.get(USER_ID_KEY).and_then(|v| v.as_str()).map(str::to_owned);
    let expires_at = i64::try_from(record.expiry_date.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    Ok((record.id.to_string(), user_id, data, expires_at))
}

const INSERT_NEW: &str =
    "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING";
const UPSERT: &str = "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, expires_at = excluded.expires_at";

impl DbSessionStore {
    /// Writes a record with one of the statements above; returns the rows written.
    async fn write(&self, sql: &'static str, record: &Record) -> session_store::Result<u64> {
        let (id, user_id, data, expires_at) = columns(record)?;
        sqlx::query(sql)
            .bind(id)
            .bind(user_id)
            .bind(data)
            .bind(expires_at)
            .execute(self.db.write())
            .await
            .map(|done| done.rows_affected())
            .map_err(backend)
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // An id collision (vanishingly rare) draws another id.
        while self.write(INSERT_NEW, record).await? == 0 {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(UPSERT, record).await.map(|_| ())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
            .bind(session_id.to_string())
            .bind(now_ms())
            .fetch_optional(self.db.read())
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.try_get(0).map_err(backend)?;
        let expires_at: i64 = row.try_get(1).map_err(backend)?;
        let data = serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_at) * 1_000_000)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record { id: *session_id, data, expiry_date }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(session_id.to_string())
            .execute(self.db.write())
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
