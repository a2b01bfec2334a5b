//! Notion task sync (issue 18): a Notion workspace connected with an internal integration
//! token (pasted under Settings → Connected accounts), one of its task databases (a data
//! source, API version 2025-09-03) synced two-way with Calento's tasks, micro-steps as the
//! page's to-do blocks.
//!
//! Calls go through the guarded outbound client at most three per second per connection
//! (Notion's documented average); 429 waits for `Retry-After`. Webhooks only queue a poll,
//! after their `X-Notion-Signature` (HMAC-SHA256 of the body under the verification token
//! Notion sent when the subscription was made) checks out.

pub mod sync;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http::{Method, Request};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::Session;

use app::AppError;
use app::ssr::connections::{self, ConnectionRow, Grant, Listed};
use app::ssr::session_store::USER_ID_KEY;
use app::ssr::{AppState, Db, changes, now_ms};

use crate::google::ApiError;
use crate::outbound::{Limits, Outbound};
use crate::secrets::SecretBox;

pub const API_URL: &str = "https://api.notion.com/v1";
/// The API version Calento speaks (data sources).
pub const VERSION: &str = "2025-09-03";
const TOKEN_PURPOSE: &str = "notion-token";
/// A public integration's refresh token (newer integrations get one with the access token).
const REFRESH_PURPOSE: &str = "notion-refresh";
/// A refreshable access token is renewed this long before Notion said it expires.
const REFRESH_BEFORE_MS: i64 = 5 * 60_000;
/// At most three requests per second per integration.
const SPACING: Duration = Duration::from_millis(340);
const PAGE: &str = "/settings/connections";
/// The instance key holding the webhook verification token Notion sent.
pub const WEBHOOK_KEY: &str = "notion_webhook_token";

/// Notion as this instance speaks to it. Cheap to clone.
#[derive(Clone)]
pub struct Notion {
    pub api: String,
    /// A public integration's OAuth client (id, secret), when the instance has one.
    client_id: Option<(String, String)>,
    secrets: Option<SecretBox>,
    client: Outbound,
    pub poll_every_ms: i64,
    /// The address links in emails point to.
    pub base_url: String,
}

/// When each integration (by the SHA-256 of its token) may call next: one map for the
/// process, so the pages and the job worker pace together.
static NEXT_CALL: std::sync::LazyLock<Mutex<HashMap<String, Instant>>> = std::sync::LazyLock::new(Mutex::default);

impl std::fmt::Debug for Notion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notion").field("api", &self.api).field("oauth", &self.client_id.is_some()).finish()
    }
}

impl Notion {
    /// Whether people can connect Notion by signing in there (a public integration).
    pub fn has_oauth(&self) -> bool {
        self.client_id.is_some()
    }

    pub fn from_config(config: &crate::Config) -> Self {
        let limits = Limits {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_bytes: 16 << 20,
            redirects: 0,
        };
        Self {
            api: config.notion_api_url.clone(),
            client_id: config.notion_client.clone(),
            secrets: config.secrets.clone(),
            client: config.outbound().with_limits(limits),
            poll_every_ms: i64::try_from(config.google_poll_secs).unwrap_or(120).saturating_mul(1000),
            base_url: config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.addr)),
        }
    }

    fn secrets(&self) -> Result<&SecretBox, ApiError> {
        self.secrets
            .as_ref()
            .ok_or_else(|| ApiError::Setup("CALENTO_SECRET_KEY is not set: connected accounts cannot be used".into()))
    }

    /// The connection's token: an internal integration's, or a public integration's access
    /// token, renewed with its refresh token shortly before it expires.
    pub async fn token(&self, db: &Db, connection: &ConnectionRow) -> Result<String, ApiError> {
        let sealed =
            connection.access_secret.as_deref().ok_or_else(|| ApiError::Revoked("no token is stored".into()))?;
        let token = self
            .secrets()?
            .open(TOKEN_PURPOSE, sealed)
            .map_err(|_| ApiError::Revoked("the stored token cannot be opened (CALENTO_SECRET_KEY changed?)".into()))?;
        let expiring = connection.access_expires_at.is_some_and(|at| at - REFRESH_BEFORE_MS <= now_ms());
        if connection.refresh_secret.is_some() && expiring {
            return self.refresh(db, connection).await;
        }
        Ok(token)
    }

    /// Renews a public integration's access token with its refresh token (Notion rotates
    /// both). A refused refresh token means the person must connect again.
    pub async fn refresh(&self, db: &Db, connection: &ConnectionRow) -> Result<String, ApiError> {
        let secrets = self.secrets()?;
        let refresh = connection
            .refresh_secret
            .as_deref()
            .and_then(|s| secrets.open(REFRESH_PURPOSE, s).ok())
            .ok_or_else(|| ApiError::Revoked("Notion refused the token and no refresh token is stored".into()))?;
        let body = json!({ "grant_type": "refresh_token", "refresh_token": refresh });
        let (status, answer) = self.token_endpoint(&body).await?;
        match status {
            200..=299 => {
                let access = answer["access_token"]
                    .as_str()
                    .ok_or_else(|| ApiError::Status(status, "Notion's token answer has no access token".into()))?;
                let rotated = answer["refresh_token"].as_str().map(|r| secrets.seal(REFRESH_PURPOSE, r));
                let expires_at = expiry(&answer);
                connections::store_tokens(
                    db,
                    &connection.id,
                    &secrets.seal(TOKEN_PURPOSE, access),
                    expires_at,
                    rotated.as_deref(),
                )
                .await
                .map_err(|e| ApiError::Transport(format!("storage: {e}")))?;
                Ok(access.to_owned())
            }
            400 | 401 => {
                let reason = answer["error_description"]
                    .as_str()
                    .or(answer["message"].as_str())
                    .unwrap_or("Notion refused the refresh token")
                    .chars()
                    .take(200)
                    .collect::<String>();
                let _ = connections::needs_reconnect(db, connection, &reason, &self.base_url).await;
                Err(ApiError::Revoked(reason))
            }
            429 => Err(ApiError::RateLimited(None)),
            _ => Err(ApiError::Status(status, "renewing Notion's token".into())),
        }
    }

    /// A call to the public integration's token endpoint (HTTP Basic with the client id
    /// and secret): its status and JSON answer.
    async fn token_endpoint(&self, body: &Value) -> Result<(u16, Value), ApiError> {
        let (client_id, secret) = self.client_id.as_ref().ok_or_else(|| {
            ApiError::Setup("CALENTO_NOTION_CLIENT_ID is not set: Notion sign-in is not available".into())
        })?;
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
        let builder = Request::post(format!("{}/oauth/token", self.api))
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header("Notion-Version", VERSION)
            .header(header::ACCEPT, "application/json");
        let (status, _, answer) = crate::google::send_json(&self.client, builder, Some(body), "Notion").await?;
        Ok((status, answer))
    }

    /// Waits for the integration's turn: calls at least [`SPACING`] apart.
    async fn pace(token: &str) {
        let key = app::ssr::tokens::hash(token);
        let wait = {
            let Ok(mut next_call) = NEXT_CALL.lock() else { return };
            let now = Instant::now();
            let at = next_call.get(&key).map_or(now, |at| (*at).max(now));
            next_call.insert(key, at + SPACING);
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// One call to Notion's API (`path` under its base): the answer's JSON.
    pub async fn call(&self, token: &str, method: Method, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        Self::pace(token).await;
        let builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.api))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("Notion-Version", VERSION)
            .header(header::ACCEPT, "application/json");
        let (status, retry_after, json) = crate::google::send_json(&self.client, builder, body, "Notion").await?;
        let message = json["message"].as_str().unwrap_or_default().chars().take(200).collect::<String>();
        match status {
            200..=299 => Ok(json),
            429 => Err(ApiError::RateLimited(retry_after)),
            401 => Err(ApiError::Revoked(format!("Notion refused the token ({message})"))),
            404 => Err(ApiError::NotFound),
            409 => Err(ApiError::Duplicate),
            _ => Err(ApiError::Status(status, message)),
        }
    }

    /// The task databases (data sources) the integration can see.
    pub async fn data_sources(&self, token: &str) -> Result<Vec<Listed>, ApiError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut body = json!({ "filter": { "property": "object", "value": "data_source" }, "page_size": 100 });
            if let Some(c) = &cursor {
                body["start_cursor"] = json!(c);
            }
            let answer = self.call(token, Method::POST, "/search", Some(&body)).await?;
            for item in answer["results"].as_array().into_iter().flatten() {
                let Some(id) = item["id"].as_str() else { continue };
                out.push(Listed {
                    remote_id: id.to_owned(),
                    name: sync::plain(&item["title"]).chars().take(100).collect::<String>(),
                    color: None,
                    time_zone: None,
                    primary: false,
                });
            }
            match answer["next_cursor"].as_str().filter(|_| answer["has_more"].as_bool() == Some(true)) {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(out),
            }
        }
    }
}

fn redirect(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

fn fail(message: impl Into<String>) -> Response {
    let json = serde_json::to_string(&AppError::bad_request(message.into())).unwrap_or_default();
    redirect(&format!("{PAGE}?err={}", app::components::percent_encode(&json)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

/// `POST /connections/notion`: connects a workspace with an internal integration token
/// (a form on the sync page, with or without JavaScript).
pub async fn connect(
    State(state): State<AppState>,
    Extension(notion): Extension<Notion>,
    session: Session,
    axum::Form(form): axum::Form<TokenForm>,
) -> Response {
    let Some(user_id) = session.get::<String>(USER_ID_KEY).await.ok().flatten() else {
        return redirect(&format!("/login?next={PAGE}"));
    };
    let token = form.token.trim().to_owned();
    if token.is_empty() || token.len() > 500 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return fail("Paste the integration's secret (it starts with ntn_ or secret_).");
    }
    match finish(&state.db, &notion, &user_id, &token, None).await {
        Ok(()) => redirect(&format!("{PAGE}?connected=notion")),
        Err(message) => fail(message),
    }
}

const PENDING_KEY: &str = "notion_connect_pending";

#[derive(Debug, serde::Serialize, Deserialize)]
struct Pending {
    user_id: String,
    state: String,
    redirect_uri: String,
    started_at: i64,
}

/// `GET /connections/notion/start`: to Notion's consent page (a public integration).
pub async fn start(
    State(state): State<AppState>,
    Extension(notion): Extension<Notion>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let Some(user_id) = session.get::<String>(USER_ID_KEY).await.ok().flatten() else {
        return redirect(&format!("/login?next={PAGE}"));
    };
    let Some((client_id, _)) = &notion.client_id else {
        return fail("Notion sign-in is not set up on this server: paste an integration secret instead.");
    };
    if notion.secrets.is_none() {
        return fail(
            "This server has no CALENTO_SECRET_KEY, which keeps connected accounts' tokens safe; ask its administrator.",
        );
    }
    // The address Notion sends the browser back to: CALENTO_PUBLIC_URL, else the host the
    // browser used.
    let base = match (&state.canonical_base, headers.get(header::HOST).and_then(|h| h.to_str().ok())) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(host)) if host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) => {
            format!("http://{host}")
        }
        _ => state.public_url.trim_end_matches('/').to_owned(),
    };
    let redirect_uri = format!("{base}/connections/notion/callback");
    let pending = Pending {
        user_id,
        state: app::ssr::tokens::generate_with("ns_"),
        redirect_uri: redirect_uri.clone(),
        started_at: now_ms(),
    };
    let url = format!(
        "{}/oauth/authorize?client_id={}&response_type=code&owner=user&redirect_uri={}&state={}",
        notion.api,
        app::components::percent_encode(client_id),
        app::components::percent_encode(&redirect_uri),
        app::components::percent_encode(&pending.state),
    );
    if session.insert(PENDING_KEY, &pending).await.is_err() {
        return AppError::Unexpected.into_response();
    }
    redirect(&url)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /connections/notion/callback`: Notion sends the browser back with a code, which is
/// exchanged (HTTP Basic with the client's id and secret) for the workspace's token.
pub async fn callback(
    State(state): State<AppState>,
    Extension(notion): Extension<Notion>,
    axum::extract::Query(query): axum::extract::Query<CallbackQuery>,
    session: Session,
) -> Response {
    let pending: Option<Pending> = session.remove(PENDING_KEY).await.ok().flatten();
    let current: Option<String> = session.get::<String>(USER_ID_KEY).await.ok().flatten();
    let again = "Connecting Notion did not work. Please start again.";
    let Some(pending) = pending.filter(|p| current.as_deref() == Some(p.user_id.as_str())) else { return fail(again) };
    if query.error.is_some() {
        return fail("Notion was not connected: access was not allowed.");
    }
    let same = query.state.as_deref().is_some_and(|s| {
        s.len() == pending.state.len() && s.bytes().zip(pending.state.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
    });
    if !same || now_ms() - pending.started_at > 10 * 60_000 {
        return fail(again);
    }
    let Some(code) = query.code.as_deref().filter(|c| c.len() < 2048) else { return fail(again) };
    let body = json!({ "grant_type": "authorization_code", "code": code, "redirect_uri": pending.redirect_uri });
    let token = match notion.token_endpoint(&body).await {
        Ok((200..=299, token)) => token,
        Ok((status, _)) => {
            tracing::warn!(%status, "Notion refused the code");
            return fail("Notion did not accept the sign-in; please start again.");
        }
        Err(ApiError::Setup(_)) => return fail(again),
        Err(error) => {
            tracing::warn!(%error, "Notion's token endpoint");
            return fail("Notion cannot be reached right now. Try again later.");
        }
    };
    let Some(access) = token["access_token"].as_str() else { return fail(again) };
    let refresh = token["refresh_token"].as_str().map(|r| (r, expiry(&token)));
    match finish(&state.db, &notion, &pending.user_id, access, refresh).await {
        Ok(()) => redirect(&format!("{PAGE}?connected=notion")),
        Err(message) => fail(message),
    }
}

/// When an access token expires (`expires_in` seconds from now; never, when Notion does not
/// say).
fn expiry(answer: &Value) -> i64 {
    answer["expires_in"]
        .as_i64()
        .filter(|s| *s > 0)
        .map_or(i64::MAX / 4, |s| now_ms().saturating_add(s.saturating_mul(1000)))
}

/// Stores a connection: the token (an internal integration's, or a public integration's
/// access token with its refresh token and expiry).
async fn finish(
    db: &Db,
    notion: &Notion,
    user_id: &str,
    token: &str,
    refresh: Option<(&str, i64)>,
) -> Result<(), String> {
    let secrets = notion.secrets().map_err(|e| e.to_string())?;
    let me = notion.call(token, Method::GET, "/users/me", None).await.map_err(|e| match e {
        ApiError::Revoked(_) => "Notion did not accept that token.".to_owned(),
        other => format!("Notion could not be reached ({other})."),
    })?;
    let bot = &me["bot"];
    let account = bot["workspace_name"].as_str().filter(|n| !n.is_empty()).unwrap_or("Notion workspace").to_owned();
    let workspace = bot["workspace_id"].as_str().or(me["workspace_id"].as_str()).map(str::to_owned);
    let listed = notion.data_sources(token).await.map_err(|e| format!("Notion's databases: {e}"))?;
    let grant = Grant {
        provider: "notion".into(),
        account,
        external_id: workspace,
        refresh_secret: refresh.map(|(r, _)| secrets.seal(REFRESH_PURPOSE, r)),
        access_secret: secrets.seal(TOKEN_PURPOSE, token),
        // Internal integration tokens do not expire; an access token with a refresh token
        // until Notion says.
        access_expires_at: refresh.map_or(i64::MAX / 4, |(_, at)| at),
        scopes: if refresh.is_some() { "public integration" } else { "internal integration" }.into(),
    };
    let connection = connections::save_grant(db, user_id, &grant).await.map_err(|e| e.to_string())?;
    connections::save_listed(db, &connection, &listed).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// HMAC-SHA256 (RFC 2104) with ring.
fn hmac_hex(key: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, body).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `POST /connections/notion/webhook`: Notion's webhook. The subscription's first request
/// carries its verification token (kept; the administrator pastes it back in Notion); every
/// later one must be signed with it, and only queues a poll of the workspace's databases.
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Ok(json) = serde_json::from_slice::<Value>(&body) else { return StatusCode::BAD_REQUEST.into_response() };
    if let Some(token) = json["verification_token"].as_str().filter(|t| t.len() < 200) {
        return match connections::set_instance_key(&state.db, WEBHOOK_KEY, token).await {
            Ok(()) => {
                tracing::info!(
                    "Notion sent its webhook verification token: an administrator finds it on the admin page"
                );
                StatusCode::OK.into_response()
            }
            Err(error) => error.into_response(),
        };
    }
    let secret = match app::ssr::notify::read_key(&state.db, WEBHOOK_KEY).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return StatusCode::FORBIDDEN.into_response(),
        Err(error) => return error.into_response(),
    };
    let signature = headers.get("x-notion-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let expected = format!("sha256={}", hmac_hex(secret.as_bytes(), &body));
    let valid = signature.len() == expected.len()
        && signature.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !valid {
        tracing::warn!("a Notion webhook with a wrong signature");
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some(workspace) = json["workspace_id"].as_str() else { return StatusCode::OK.into_response() };
    let queued = async {
        let targets = connections::notion_targets(&state.db, workspace).await?;
        let mut write = changes::begin_unowned(&state.db).await?;
        for id in targets {
            connections::queue_sync(&mut write, &id, now_ms()).await?;
        }
        write.commit().await
    };
    match queued.await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_are_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
