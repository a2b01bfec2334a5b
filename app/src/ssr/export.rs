//! An account's data, whole: the export (one tar archive with `account.json`, every row
//! the account owns, and an `.ics` file per calendar) and the deletion of the account.

use serde_json::{Map, Value};
use sqlx::{Column, Row};

use super::audit::{self, Origin, event};
use super::{Db, accounts, calendars, ical, now_ms, unexpected};
use crate::AppError;

/// Every table holding an account's rows, with the column naming the account and the
/// columns never exported (secrets and opaque internals). A test checks that every table
/// with a `user_id` column is listed here.
pub const OWNED_TABLES: &[(&str, &str, &[&str])] = &[
    ("calendars", "user_id", &["feed_token_hash"]),
    ("events", "user_id", &[]),
    ("schedules", "user_id", &[]),
    ("booking_links", "user_id", &[]),
    ("bookings", "host_id", &["manage_token"]),
    ("emails", "user_id", &[]),
    ("zones", "user_id", &[]),
    ("tasks", "user_id", &[]),
    ("task_blocks", "user_id", &[]),
    ("focus_sessions", "user_id", &[]),
    ("distractions", "user_id", &[]),
    ("energy_logs", "user_id", &[]),
    ("xp_awards", "user_id", &[]),
    ("rewards", "user_id", &[]),
    ("reward_claims", "user_id", &[]),
    ("daily_plans", "user_id", &[]),
    ("api_tokens", "user_id", &["token_hash"]),
    ("token_families", "user_id", &[]),
    ("sessions", "user_id", &["id", "data"]),
    ("user_identities", "user_id", &[]),
    ("audit_log", "user_id", &[]),
    // What calendar apps wrote (CalDAV), as they wrote it; the fingerprints are internal.
    ("dav_objects", "user_id", &["fingerprint", "etag"]),
    ("dav_properties", "user_id", &[]),
    ("dav_list_properties", "user_id", &[]),
    ("notification_settings", "user_id", &[]),
    // A device's push address and keys are its browser's secrets: listed, not revealed.
    ("push_subscriptions", "user_id", &["endpoint", "p256dh", "auth"]),
];

/// Tables with a `user_id` column that are deliberately not exported.
pub const NOT_EXPORTED: &[&str] = &[
    // Single-use link secrets (hashes only); nothing a person could use.
    "email_tokens",
    // The search index: derived from `events`, which are exported.
    "events_search",
    // The change feed: a log of which objects changed (ids only), kept 30 days for sync
    // clients; the objects themselves are exported.
    "changes",
    // Events deleted in the last minutes, kept for "Undo" (pruned after an hour): what
    // the person deleted, not what they keep.
    "event_trash",
    // Names calendar apps knew moved objects by, kept for their sync (pruned with the feed).
    "dav_departed",
    // Which notifications went out (keys naming their causes), so none goes twice; pruned
    // after 60 days.
    "notifications_sent",
    // Idempotency keys of quick captures (the tasks they made are exported).
    "capture_keys",
    // Connected accounts: tokens of another service, sealed under this instance's key and
    // useless elsewhere; connect the account again on a new instance.
    "connections",
    // How each connected calendar syncs and where it stands: made again on connecting.
    // The events it brought are in `events`, which are exported.
    "remote_calendars",
    // A log of what sync decided (conflicts) and asked.
    "sync_conflicts",
];

/// One stored value as JSON: integers, floats, text or null, whatever the backend.
fn value_of(row: &sqlx::any::AnyRow, index: usize) -> Value {
    if let Ok(v) = row.try_get::<Option<i64>, _>(index) {
        return v.map_or(Value::Null, Value::from);
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(index) {
        return v.map_or(Value::Null, Value::from);
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(index) {
        return v.map_or(Value::Null, Value::from);
    }
    Value::Null
}

/// The table's columns holding plain values (text and numbers), in order: search
/// vectors and other backend-specific types are left out.
async fn plain_columns(db: &Db, table: &str) -> Result<Vec<String>, AppError> {
    let sql = match db.backend() {
        super::Backend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY cid",
        super::Backend::Postgres => {
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_name = $1 AND table_schema = current_schema()
               AND data_type IN ('text', 'bigint', 'integer', 'smallint', 'double precision', 'character varying')
             ORDER BY ordinal_position"
        }
    };
    let rows: Vec<(String,)> = sqlx::query_as(sql).bind(table).fetch_all(db.read()).await?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

async fn rows_of(db: &Db, table: &str, owner: &str, hidden: &[&str], user_id: &str) -> Result<Vec<Value>, AppError> {
    let columns: Vec<String> = plain_columns(db, table)
        .await?
        .into_iter()
        .filter(|c| !hidden.contains(&c.as_str()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .collect();
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {} FROM {table} WHERE {owner} = $1", columns.join(", "));
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_all(db.read()).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut object = Map::new();
            for (index, column) in row.columns().iter().enumerate() {
                if !hidden.contains(&column.name()) {
                    object.insert(column.name().to_owned(), value_of(row, index));
                }
            }
            Value::Object(object)
        })
        .collect())
}

/// The export archive: `account.json` and `calendars/{name}-{id}.ics`.
pub async fn archive(db: &Db, user_id: &str, origin: &Origin) -> Result<Vec<u8>, AppError> {
    let user = accounts::find_by_id(db, user_id).await?.ok_or(AppError::NotFound)?;
    let mut data = Map::new();
    let profile = rows_of(db, "users", "id", &["password_hash"], user_id).await?;
    data.insert("account".to_owned(), profile.into_iter().next().unwrap_or(Value::Null));
    for (table, owner, hidden) in OWNED_TABLES {
        data.insert((*table).to_owned(), Value::Array(rows_of(db, table, owner, hidden, user_id).await?));
    }
    let now = now_ms();
    let document = serde_json::json!({
        "format": "calento-export",
        "version": 1,
        "exported_at": super::millis_to_utc(now).to_rfc3339(),
        "data": data,
    });
    let json = serde_json::to_vec_pretty(&document).map_err(|e| unexpected("writing the export", e))?;
    let mut tar = calento::archive::Tar::new();
    let secs = now / 1000;
    tar.add("calento-export/account.json", &json, secs);
    for calendar in calendars::list(db, &user.id).await? {
        let text = ical::export(db, &calendar).await?;
        tar.add(&format!("calento-export/calendars/{}-{}.ics", calendar.name, calendar.id), text.as_bytes(), secs);
    }
    audit::record(db, Some(user_id), None, event::ACCOUNT_EXPORTED, "", origin).await;
    Ok(tar.finish())
}

/// Deletes the account and everything it owns (sessions, tokens, calendars, bookings
/// with their invitees' details, tasks…; the database cascades from `users`). Its own
/// audit entries go too; one "account deleted" entry without personal data remains.
pub async fn delete_account(db: &Db, user_id: &str, origin: &Origin) -> Result<(), AppError> {
    let user = accounts::find_by_id(db, user_id).await?.ok_or(AppError::NotFound)?;
    let mut tx = db.write().begin().await?;
    for sql in [
        "DELETE FROM audit_log WHERE user_id = $1",
        "DELETE FROM sessions WHERE user_id = $1",
        "DELETE FROM users WHERE id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM login_failures WHERE account_key = $1").bind(&user.email).execute(&mut *tx).await?;
    tx.commit().await?;
    audit::record(db, Some(user_id), None, event::ACCOUNT_DELETED, "", origin).await;
    Ok(())
}
