//! The audit log: security events (sign-ins, password and email changes, tokens, linked
//! providers, admin actions), each with when, from where and by whom. Users read their
//! own; administrators read everyone's. Secrets never go in here: details name things
//! (a token's name, a provider), they never hold a password or a token.

use super::{Db, millis_to_utc, new_id, now_ms};
use crate::AppError;
use crate::models::AuditEntry;

/// Where a request came from, as recorded with each event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
}

impl Origin {
    pub fn new(ip: impl Into<String>, user_agent: &str) -> Self {
        Self { ip: ip.into(), user_agent: user_agent.chars().take(300).collect() }
    }

    /// Something done by the server itself (the admin command, a background job).
    pub fn system() -> Self {
        Self { ip: "local".to_owned(), user_agent: "calento".to_owned() }
    }
}

/// The events recorded. Their names are stable: they are what the log pages and the
/// API show, and what an operator filters on.
pub mod event {
    pub const SIGN_IN: &str = "sign_in";
    pub const SIGN_IN_FAILED: &str = "sign_in_failed";
    pub const SIGN_OUT: &str = "sign_out";
    pub const REGISTERED: &str = "registered";
    pub const SIGN_UP_ATTEMPTED: &str = "sign_up_attempted";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    pub const PASSWORD_RESET_REQUESTED: &str = "password_reset_requested";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const EMAIL_CHANGE_REQUESTED: &str = "email_change_requested";
    pub const EMAIL_CHANGED: &str = "email_changed";
    pub const EMAIL_VERIFIED: &str = "email_verified";
    pub const SESSION_REVOKED: &str = "session_revoked";
    pub const SIGNED_OUT_EVERYWHERE: &str = "signed_out_everywhere";
    pub const TOKEN_CREATED: &str = "token_created";
    pub const TOKEN_REVOKED: &str = "token_revoked";
    pub const APP_SIGN_IN: &str = "app_sign_in";
    pub const TOKEN_ROTATED: &str = "token_rotated";
    pub const REFRESH_REUSED: &str = "refresh_token_reused";
    pub const PROVIDER_LINKED: &str = "provider_linked";
    pub const PROVIDER_UNLINKED: &str = "provider_unlinked";
    pub const ACCOUNT_EXPORTED: &str = "account_exported";
    pub const ACCOUNT_DELETED: &str = "account_deleted";
    pub const ADMIN_DISABLED_USER: &str = "admin_disabled_user";
    pub const ADMIN_ENABLED_USER: &str = "admin_enabled_user";
    pub const ADMIN_MADE_ADMIN: &str = "admin_made_admin";
    pub const ADMIN_REMOVED_ADMIN: &str = "admin_removed_admin";
    pub const ADMIN_REGISTRATION_MODE: &str = "admin_registration_mode";
    pub const ADMIN_INVITE_CREATED: &str = "admin_invite_created";
    pub const ADMIN_JOB_RETRIED: &str = "admin_job_retried";
}

/// Records one event about `user_id` (None: no account, e.g. a failed sign-in for an
/// unknown email). A failure to write is logged, never shown to the user: the action it
/// describes already happened.
pub async fn record(
    db: &Db,
    user_id: Option<&str>,
    actor_id: Option<&str>,
    event: &str,
    detail: &str,
    origin: &Origin,
) {
    let result = sqlx::query(
        "INSERT INTO audit_log (id, user_id, actor_id, event, detail, client_ip, user_agent, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(actor_id)
    .bind(event)
    .bind(detail.chars().take(500).collect::<String>())
    .bind(&origin.ip)
    .bind(&origin.user_agent)
    .bind(now_ms())
    .execute(db.write())
    .await;
    if let Err(error) = result {
        tracing::error!(%error, event, "writing the audit log");
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    user_id: Option<String>,
    actor_id: Option<String>,
    event: String,
    detail: String,
    client_ip: String,
    user_agent: String,
    created_at: i64,
    email: Option<String>,
}

impl Row {
    fn entry(self) -> AuditEntry {
        AuditEntry {
            id: self.id,
            user_id: self.user_id,
            user_email: self.email,
            by_admin: self.actor_id.is_some(),
            event: self.event,
            detail: self.detail,
            ip: self.client_ip,
            user_agent: self.user_agent,
            at: millis_to_utc(self.created_at),
        }
    }
}

/// Most entries one page of the log shows.
pub const PAGE: i64 = 200;

/// The newest events about one account.
pub async fn list_for_user(db: &Db, user_id: &str) -> Result<Vec<AuditEntry>, AppError> {
    sqlx::query_as::<_, Row>(
        "SELECT a.id, a.user_id, a.actor_id, a.event, a.detail, a.client_ip, a.user_agent, a.created_at, u.email
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.user_id = $1 ORDER BY a.created_at DESC, a.id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(PAGE)
    .fetch_all(db.read())
    .await
    .map(|rows| rows.into_iter().map(Row::entry).collect())
    .map_err(AppError::from)
}

/// The newest events of the whole instance, optionally only one event kind (for admins).
pub async fn list_all(db: &Db, event: Option<&str>) -> Result<Vec<AuditEntry>, AppError> {
    sqlx::query_as::<_, Row>(
        "SELECT a.id, a.user_id, a.actor_id, a.event, a.detail, a.client_ip, a.user_agent, a.created_at, u.email
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
         WHERE ($1 = '' OR a.event = $1) ORDER BY a.created_at DESC, a.id DESC LIMIT $2",
    )
    .bind(event.unwrap_or(""))
    .bind(PAGE)
    .fetch_all(db.read())
    .await
    .map(|rows| rows.into_iter().map(Row::entry).collect())
    .map_err(AppError::from)
}
