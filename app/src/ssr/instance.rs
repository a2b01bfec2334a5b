//! The instance's accounts as its administrators run them: search, disable, re-enable,
//! make admin. Who may register is `registration.rs`.

use super::audit::{self, Origin, event};
use super::{Db, grants, millis_to_utc, now_ms, security, tokens};
use crate::AppError;
use crate::models::AdminUser;

/// An account as the search reads it.
type UserTuple = (String, String, String, String, i64, Option<i64>, Option<i64>, i64);

/// Accounts whose email, username or name contains `query` (all when empty), newest first.
pub async fn search_users(db: &Db, query: &str) -> Result<Vec<AdminUser>, AppError> {
    let pattern = format!("%{}%", query.trim().to_lowercase().replace(['%', '_'], ""));
    let rows: Vec<UserTuple> = sqlx::query_as(
        "SELECT id, email, username, name, is_admin, disabled_at, email_verified_at, created_at FROM users
         WHERE lower(email) LIKE $1 OR lower(username) LIKE $1 OR lower(name) LIKE $1
         ORDER BY created_at DESC, id DESC LIMIT 200",
    )
    .bind(pattern)
    .fetch_all(db.read())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, email, username, name, is_admin, disabled_at, verified_at, created_at)| AdminUser {
            id,
            email,
            username,
            name,
            is_admin: is_admin == 1,
            disabled: disabled_at.is_some(),
            email_verified: verified_at.is_some(),
            created_at: millis_to_utc(created_at),
        })
        .collect())
}

/// What an administrator can do to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    Disable,
    Enable,
    MakeAdmin,
    RemoveAdmin,
}

impl UserAction {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "disable" => Some(Self::Disable),
            "enable" => Some(Self::Enable),
            "make_admin" => Some(Self::MakeAdmin),
            "remove_admin" => Some(Self::RemoveAdmin),
            _ => None,
        }
    }
}

/// Applies an admin action. An administrator cannot disable or demote themselves (so an
/// instance always keeps one). Disabling ends the account's sessions and tokens.
pub async fn act_on_user(
    db: &Db,
    admin_id: &str,
    user_id: &str,
    action: UserAction,
    origin: &Origin,
) -> Result<(), AppError> {
    if admin_id == user_id && matches!(action, UserAction::Disable | UserAction::RemoveAdmin) {
        return Err(AppError::Conflict {
            message: "You cannot disable or demote your own account; ask another administrator.".to_owned(),
        });
    }
    let now = now_ms();
    let (sql, name) = match action {
        UserAction::Disable => ("UPDATE users SET disabled_at = $2 WHERE id = $1", event::ADMIN_DISABLED_USER),
        UserAction::Enable => {
            ("UPDATE users SET disabled_at = NULL WHERE id = $1 AND $2 > 0", event::ADMIN_ENABLED_USER)
        }
        UserAction::MakeAdmin => ("UPDATE users SET is_admin = 1 WHERE id = $1 AND $2 > 0", event::ADMIN_MADE_ADMIN),
        UserAction::RemoveAdmin => {
            ("UPDATE users SET is_admin = 0 WHERE id = $1 AND $2 > 0", event::ADMIN_REMOVED_ADMIN)
        }
    };
    let done = sqlx::query(sql).bind(user_id).bind(now).execute(db.write()).await?;
    if done.rows_affected() != 1 {
        return Err(AppError::NotFound);
    }
    if action == UserAction::Disable {
        security::end_sessions(db, user_id, None).await?;
        tokens::revoke_all(db, user_id).await?;
        grants::revoke_all(db, user_id, "account disabled").await?;
    }
    audit::record(db, Some(user_id), Some(admin_id), name, "", origin).await;
    Ok(())
}

/// Makes an account an administrator from the command line.
pub async fn make_admin_by_email(db: &Db, email: &str) -> Result<(), AppError> {
    let done = sqlx::query("UPDATE users SET is_admin = 1 WHERE email = $1")
        .bind(email.trim().to_lowercase())
        .execute(db.write())
        .await?;
    if done.rows_affected() == 1 { Ok(()) } else { Err(AppError::NotFound) }
}

/// The newest scheduled backup's result (`server::backup` writes them).
pub async fn last_backup(db: &Db) -> Result<Option<crate::models::BackupRun>, AppError> {
    type Row = (i64, i64, Option<String>, Option<i64>, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT finished_at, ok, archive, bytes, error FROM backups ORDER BY finished_at DESC, id DESC LIMIT 1",
    )
    .fetch_optional(db.read())
    .await?;
    Ok(row.map(|(finished_at, ok, archive, bytes, error)| crate::models::BackupRun {
        finished_at: millis_to_utc(finished_at),
        ok: ok == 1,
        archive,
        bytes,
        error,
    }))
}
