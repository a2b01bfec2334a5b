//! Browser sessions for tower-sessions, stored in the application's own database.
//!
//! The signed-in user's id is copied into its own column so that sessions can be listed
//! and revoked per user, and vanish with the account. The session id (the cookie's
//! secret) is never stored: rows are keyed by its SHA-256 ([`storage_key`]), so a copy of
//! the database does not let anyone act as a signed-in user.

use async_trait::async_trait;
use sqlx::Row;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::{Db, now_ms};

/// The session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";
/// When the user signed in (UTC milliseconds): for re-authentication and the sessions list.
pub const SIGNED_IN_AT_KEY: &str = "signed_in_at";
/// When the session was last used, refreshed every few minutes (UTC milliseconds).
pub const SEEN_AT_KEY: &str = "seen_at";
/// The browser's User-Agent and the client address at sign-in.
pub const USER_AGENT_KEY: &str = "user_agent";
pub const CLIENT_IP_KEY: &str = "client_ip";

/// Starts a signed-in session under a fresh id (an id planted before sign-in is useless),
/// noting the device for the sessions list, and records the sign-in (`how`: "browser",
/// or the provider's name).
pub async fn start_signed_in(
    db: &Db,
    session: &tower_sessions::Session,
    user_id: &str,
    how: &str,
    origin: &super::audit::Origin,
) -> Result<(), crate::AppError> {
    let failed = |e| super::unexpected("writing the session", e);
    session.cycle_id().await.map_err(|e| super::unexpected("rotating the session", e))?;
    let now = now_ms();
    session.insert(USER_ID_KEY, user_id).await.map_err(failed)?;
    session.insert(SIGNED_IN_AT_KEY, now).await.map_err(failed)?;
    session.insert(SEEN_AT_KEY, now).await.map_err(failed)?;
    session.insert(USER_AGENT_KEY, &origin.user_agent).await.map_err(failed)?;
    session.insert(CLIENT_IP_KEY, &origin.ip).await.map_err(failed)?;
    super::audit::record(db, Some(user_id), None, super::audit::event::SIGN_IN, how, origin).await;
    Ok(())
}

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

/// A session's row: its data, plus copies of what listing and revoking need.
struct Columns {
    id: String,
    user_id: Option<String>,
    data: String,
    expires_at: i64,
    created_at: i64,
    last_seen_at: i64,
    user_agent: String,
    client_ip: String,
}

/// The key a session's row is stored under: the SHA-256 of its id, in hex.
pub fn storage_key(session_id: &str) -> String {
    super::tokens::hash(session_id)
}

fn columns(record: &Record) -> session_store::Result<Columns> {
    let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let text = |key: &str| record.data.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let number = |key: &str| record.data.get(key).and_then(serde_json::Value::as_i64);
    let expires_at = i64::try_from(record.expiry_date.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let created_at = number(SIGNED_IN_AT_KEY).unwrap_or_else(now_ms);
    Ok(Columns {
        id: storage_key(&record.id.to_string()),
        user_id: text(USER_ID_KEY),
        data,
        expires_at,
        created_at,
        last_seen_at: number(SEEN_AT_KEY).unwrap_or(created_at),
        user_agent: text(USER_AGENT_KEY).unwrap_or_default(),
        client_ip: text(CLIENT_IP_KEY).unwrap_or_default(),
    })
}

const INSERT_NEW: &str =
    "INSERT INTO sessions (id, user_id, data, expires_at, created_at, last_seen_at, user_agent, client_ip)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING";
/// Saving only updates: a session revoked (deleted) while a request of it was in flight
/// stays revoked instead of being written back.
const UPDATE: &str = "UPDATE sessions SET user_id = $2, data = $3, expires_at = $4, created_at = $5, last_seen_at = $6,
        user_agent = $7, client_ip = $8 WHERE id = $1";

impl DbSessionStore {
    /// Writes a record with one of the statements above; returns the rows written.
    async fn write(&self, sql: &'static str, record: &Record) -> session_store::Result<u64> {
        let c = columns(record)?;
        sqlx::query(sql)
            .bind(c.id)
            .bind(c.user_id)
            .bind(c.data)
            .bind(c.expires_at)
            .bind(c.created_at)
            .bind(c.last_seen_at)
            .bind(c.user_agent)
            .bind(c.client_ip)
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
        self.write(UPDATE, record).await.map(|_| ())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
            .bind(storage_key(&session_id.to_string()))
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
            .bind(storage_key(&session_id.to_string()))
            .execute(self.db.write())
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
