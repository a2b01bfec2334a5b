//! Server-only code: storage, password hashing, sessions and the services behind the
//! server functions and the REST API.

pub mod accounts;
pub mod audit;
pub mod booking_mail;
pub mod bookings;
pub mod calendars;
pub mod changes;
pub mod connections;
pub mod db;
pub mod events;
pub mod export;
pub mod focus;
pub mod grants;
pub mod ical;
pub mod identities;
pub mod instance;
pub mod jobs;
pub mod leases;
pub mod login_limits;
pub mod mail;
pub mod motivation;
pub mod notify;
pub mod page_cache;
pub mod passwords;
pub mod planning;
pub mod rate_limit;
pub mod registration;
pub mod scheduling;
pub mod search;
pub mod security;
pub mod session_store;
pub mod split;
pub mod subscriptions;
pub mod tasks;
pub mod tokens;
pub mod upkeep;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

pub use db::{Backend, Db};
pub use login_limits::LoginLimits;

impl Db {
    /// Opens the database (SQLite by default, PostgreSQL by URL): pools, migrations, and the
    /// full-text search objects, which differ by backend (`search::prepare`).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, db::ConnectError> {
        let db = Db::open(url, max_connections).await?;
        search::prepare(&db).await?;
        Ok(db)
    }

    /// [`Db::connect`] at schema `up_to` (see `Db::open_at`); the search objects are made
    /// when the schema is the newest, else by [`Db::finish_migrating`].
    pub async fn connect_at(url: &str, max_connections: u32, up_to: i64) -> Result<Self, db::ConnectError> {
        let db = Db::open_at(url, max_connections, Some(up_to)).await?;
        if up_to >= db::latest_schema() {
            search::prepare(&db).await?;
        }
        Ok(db)
    }

    /// Applies the migrations after a [`Db::connect_at`] and makes (or rebuilds) the search
    /// objects.
    pub async fn finish_migrating(&self) -> Result<(), db::ConnectError> {
        db::MIGRATOR.run(self.write()).await?;
        search::prepare(self).await?;
        Ok(())
    }
}

/// What every change of a user's data sets off in its own transaction (see
/// `changes::Write::commit`): each reaction looks at the changes and may queue jobs. A new
/// consumer of changes is a function in its own module and a line here.
pub(crate) const REACTIONS: &[changes::Reaction] =
    &[planning::replan_when_busy_time_changes, notify::notify_on_changes, connections::push_on_changes];

/// What every handler and server function can reach. Cloned for every request (and by
/// each middleware layer around a route), so it is one shared pointer: cloning the fields
/// themselves was a tenth of the time of a page served from the page cache.
#[derive(Clone, Debug)]
pub struct AppState(std::sync::Arc<AppStateFields>);

impl AppState {
    pub fn new(fields: AppStateFields) -> Self {
        AppState(std::sync::Arc::new(fields))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateFields;
    fn deref(&self) -> &AppStateFields {
        &self.0
    }
}

/// The fields of [`AppState`].
#[derive(Debug)]
pub struct AppStateFields {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub login_limits: LoginLimits,
    /// Whether clients reach us over https (cookies are then `Secure`).
    pub secure_cookies: bool,
    /// Whether to take the client address from `X-Forwarded-For` (behind a reverse proxy).
    pub trust_proxy: bool,
    /// Request budgets (public booking, API, registration, reset, token), in the database.
    pub rate_limits: rate_limit::RateLimits,
    /// The address people reach Calento at (`CALENTO_PUBLIC_URL`, else the listening
    /// address), for absolute links in emails.
    pub public_url: String,
    /// `CALENTO_PUBLIC_URL` when it is set: public pages then name their canonical address
    /// (without it the listening address may not be where people reach Calento).
    pub canonical_base: Option<String>,
    /// The sign-in providers this instance offers (OpenID Connect, GitHub).
    pub sign_in_providers: Vec<crate::models::ProviderInfo>,
    /// Asks a language model for a task's micro-steps (`CALENTO_LLM_URL`); `None`: rules only.
    pub step_suggester: Option<StepSuggester>,
    /// Whether the server may call a URL (the server's outbound guard), for subscriptions.
    pub url_check: UrlCheck,
    /// The VAPID public key browsers subscribe to push with (base64url); empty when the
    /// key could not be read.
    pub vapid_public_key: String,
    /// Google accounts can be connected (a Google OAuth client and `CALENTO_SECRET_KEY`).
    pub google_connect: bool,
    /// Notion can be connected by signing in there (a public integration's client).
    pub notion_connect: bool,
}

/// Whether the server may call a URL a person gave (a subscription): a short reason when
/// not. The server's outbound guard, passed in because storage cannot name the server.
#[derive(Clone)]
pub struct UrlCheck(
    #[allow(clippy::type_complexity)]
    pub  std::sync::Arc<
        dyn Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>> + Send + Sync,
    >,
);

impl UrlCheck {
    pub async fn check(&self, url: &str) -> Result<(), String> {
        (self.0)(url.to_owned()).await
    }
}

impl std::fmt::Debug for UrlCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlCheck")
    }
}

/// A language model behind "split into micro-steps": `(title, notes)` to step titles, or a
/// short reason it could not answer (then the rule-based suggestions are used).
#[derive(Clone)]
pub struct StepSuggester(
    #[allow(clippy::type_complexity)]
    pub  std::sync::Arc<
        dyn Fn(
                String,
                String,
            ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<String>, String>> + Send>>
            + Send
            + Sync,
    >,
);

impl std::fmt::Debug for StepSuggester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepSuggester")
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Per-page-request memory, provided by the server to each page render.
#[derive(Clone, Debug, Default)]
pub struct PageMemo {
    new_token: std::sync::Arc<std::sync::Mutex<Option<Option<crate::models::CreatedToken>>>>,
}

impl PageMemo {
    /// The token already taken from the session during this request, if any was taken.
    pub fn new_token(&self) -> Option<Option<crate::models::CreatedToken>> {
        self.new_token.lock().ok().and_then(|slot| slot.clone())
    }

    pub fn remember_new_token(&self, token: Option<crate::models::CreatedToken>) {
        if let Ok(mut slot) = self.new_token.lock() {
            *slot = Some(token);
        }
    }
}

/// Now, as integer UTC milliseconds: the only form instants take in storage.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new time-ordered id (see `calento::id`).
pub fn new_id() -> String {
    calento::id::new_id(now_ms(), rand::random())
}

/// Logs an unexpected storage failure with its cause and turns it into the error the
/// client sees, which carries no detail.
pub fn unexpected(context: &str, error: impl std::fmt::Display) -> crate::AppError {
    tracing::error!(%error, "{context}");
    crate::AppError::Unexpected
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when the
/// server trusts its proxy.
pub fn client_address(headers: &http::HeaderMap, peer: Option<std::net::SocketAddr>, trust_proxy: bool) -> String {
    let forwarded = if trust_proxy { forwarded_for(headers) } else { None };
    forwarded.or_else(|| peer.map(|a| a.ip().to_string())).unwrap_or_else(|| "unknown".to_owned())
}

/// The first address in `X-Forwarded-For`, if it parses as an IP address.
pub fn forwarded_for(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get("x-forwarded-for")?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    first.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

pub fn millis_to_utc(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl axum::response::IntoResponse for crate::AppError {
    /// The REST API's error body: `{code, message, fields?, retry_after_secs?}`.
    fn into_response(self) -> axum::response::Response {
        let status = http::StatusCode::from_u16(self.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        let mut retry_after = None;
        match &self {
            crate::AppError::Invalid { fields, .. } => body["fields"] = serde_json::json!(fields),
            crate::AppError::RateLimited { retry_after_secs } => {
                body["retry_after_secs"] = serde_json::json!(retry_after_secs);
                retry_after = Some(retry_after_secs.to_string());
            }
            crate::AppError::Unavailable => retry_after = Some("5".to_owned()),
            _ => {}
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(value) = retry_after.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(http::header::RETRY_AFTER, value);
        }
        response
    }
}
