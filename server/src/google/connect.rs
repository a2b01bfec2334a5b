//! Connecting a Google account (Settings → Connected accounts) and Google's push
//! notifications.
//!
//! `GET /connections/google/start` sends the signed-in person to Google's consent page
//! (authorization code with PKCE S256, a `state` bound to the browser session, offline
//! access with the calendar scope, `prompt=consent` so a refresh token is issued again);
//! `GET /connections/google/callback` exchanges the code, reads the account's calendars
//! (the primary calendar's id is the account's address), seals the tokens and stores the
//! connection. Several Google accounts per person; connecting one again renews its grant.
//!
//! `POST /connections/google/notify` takes Google's push notifications for a watched
//! calendar: the channel's token (only its hash is stored) must match; a notification only
//! queues a poll.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_sessions::Session;

use app::AppError;
use app::ssr::connections::{self, RemoteCalendarRow};
use app::ssr::session_store::USER_ID_KEY;
use app::ssr::{AppState, Db, changes, now_ms, tokens};

use super::{ApiError, Google, SCOPE};

const PENDING_KEY: &str = "google_connect_pending";
const PENDING_MS: i64 = 10 * 60_000;
const PAGE: &str = "/settings/connections";
/// Channels are renewed when they have less than this left.
const RENEW_BEFORE_MS: i64 = 24 * 3_600_000;
/// The lifetime asked for a channel (Google's maximum for calendars is a week or so).
const CHANNEL_TTL_SECS: i64 = 7 * 86_400;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    user_id: String,
    state: String,
    verifier: String,
    redirect_uri: String,
    started_at: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    scope: Option<String>,
}

fn redirect(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

/// Back to the sync page with the message shown there.
fn fail(message: impl Into<String>) -> Response {
    let json = serde_json::to_string(&AppError::bad_request(message.into())).unwrap_or_default();
    redirect(&format!("{PAGE}?err={}", app::components::percent_encode(&json)))
}

fn callback_url(state: &AppState, headers: &HeaderMap, google: &Google) -> String {
    let base = match (google.public_url.clone(), headers.get(header::HOST).and_then(|h| h.to_str().ok())) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(host)) if host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) => {
            format!("http://{host}")
        }
        _ => state.public_url.trim_end_matches('/').to_owned(),
    };
    format!("{base}/connections/google/callback")
}

fn oauth_client(
    google: &Google,
    redirect_uri: &str,
) -> Result<
    oauth2::Client<
        oauth2::basic::BasicErrorResponse,
        oauth2::basic::BasicTokenResponse,
        oauth2::basic::BasicTokenIntrospectionResponse,
        oauth2::StandardRevocableToken,
        oauth2::basic::BasicRevocationErrorResponse,
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    String,
> {
    let mut client = BasicClient::new(ClientId::new(google.client_id.clone()))
        .set_auth_uri(AuthUrl::new(google.endpoints.auth.clone()).map_err(|e| e.to_string())?)
        .set_token_uri(TokenUrl::new(google.endpoints.token.clone()).map_err(|e| e.to_string())?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| e.to_string())?);
    if let Some(secret) = &google.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(client)
}

/// `GET /connections/google/start`.
pub async fn start(
    State(state): State<AppState>,
    Extension(google): Extension<Option<Google>>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let Some(user_id) = session.get::<String>(USER_ID_KEY).await.ok().flatten() else {
        return redirect(&format!("/login?next={PAGE}"));
    };
    let Some(google) = google else {
        return fail("Google is not set up on this server (CALENTO_GOOGLE_CLIENT_ID).");
    };
    if google.secrets.is_none() {
        return fail(
            "This server has no CALENTO_SECRET_KEY, which keeps connected accounts' tokens safe; ask its administrator.",
        );
    }
    let redirect_uri = callback_url(&state, &headers, &google);
    let client = match oauth_client(&google, &redirect_uri) {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "Google's endpoints are not URLs");
            return fail("Google is not set up correctly on this server.");
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_scope(Scope::new(SCOPE.into()))
        .add_extra_param("access_type", "offline")
        .add_extra_param("prompt", "consent")
        .add_extra_param("include_granted_scopes", "true")
        .url();
    let pending = Pending {
        user_id,
        state: csrf.secret().clone(),
        verifier: verifier.secret().clone(),
        redirect_uri,
        started_at: now_ms(),
    };
    if session.insert(PENDING_KEY, &pending).await.is_err() {
        return AppError::Unexpected.into_response();
    }
    redirect(url.as_str())
}

/// Equal without telling, through timing, where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /connections/google/callback`.
pub async fn callback(
    State(state): State<AppState>,
    Extension(google): Extension<Option<Google>>,
    Query(query): Query<CallbackQuery>,
    session: Session,
) -> Response {
    let Some(google) = google else { return fail("Google is not set up on this server.") };
    let pending: Option<Pending> = session.remove(PENDING_KEY).await.ok().flatten();
    let current: Option<String> = session.get::<String>(USER_ID_KEY).await.ok().flatten();
    let again = "Connecting Google did not work. Please start again.";
    let Some(pending) = pending.filter(|p| current.as_deref() == Some(p.user_id.as_str())) else {
        return fail(again);
    };
    if let Some(error) = &query.error {
        let error: String = error.chars().take(60).collect();
        return fail(if error == "access_denied" {
            "Google was not connected: access was not allowed.".to_owned()
        } else {
            format!("Google did not connect the account ({error}).")
        });
    }
    if !query.state.as_deref().is_some_and(|s| same(s, &pending.state)) || now_ms() - pending.started_at > PENDING_MS {
        return fail(again);
    }
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty() && c.len() < 2048) else { return fail(again) };
    if let Some(scope) = &query.scope
        && !scope.split_whitespace().any(|s| s == SCOPE)
    {
        return fail("Calento needs to see and edit your calendars to sync them: connect again and allow that.");
    }
    match finish(&state.db, &google, &pending, code).await {
        Ok(()) => redirect(&format!("{PAGE}?connected=google")),
        Err(message) => fail(message),
    }
}

async fn finish(db: &Db, google: &Google, pending: &Pending, code: &str) -> Result<(), String> {
    let client = oauth_client(google, &pending.redirect_uri)?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&google.client)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "Google's code exchange failed");
            "Google did not accept the sign-in; please start again.".to_owned()
        })?;
    let access = token.access_token().secret().clone();
    let refresh = token.refresh_token().map(|r| r.secret().clone());
    let scopes = token
        .scopes()
        .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| SCOPE.to_owned());
    let listed = google.calendar_list(&access).await.map_err(|e| {
        tracing::warn!(error = %e, "reading a new Google account's calendars");
        format!("Google connected, but its calendars could not be read ({e}). Please try again.")
    })?;
    let account = listed
        .iter()
        .find(|c| c.primary)
        .map(|c| c.remote_id.clone())
        .ok_or("Google listed no primary calendar for this account.")?;
    let grant =
        google.grant(&account, &access, refresh.as_deref(), token.expires_in(), &scopes).map_err(|e| e.to_string())?;
    if grant.refresh_secret.is_none() {
        let known = connections::list(db, &pending.user_id)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .any(|c| c.provider == "google" && c.account == account);
        if !known {
            return Err("Google did not grant offline access, so Calento could not keep your calendars in sync. \
                        Please connect again."
                .into());
        }
    }
    let connection = connections::save_grant(db, &pending.user_id, &grant).await.map_err(|e| e.to_string())?;
    connections::save_listed(db, &connection, &listed).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Whether Google can reach this instance's address (push channels need public https).
fn reachable(public_url: Option<&str>) -> Option<String> {
    let url = url::Url::parse(public_url?).ok()?;
    let host = url.host_str()?;
    let local = host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| crate::outbound::refused_class(ip).is_some());
    (url.scheme() == "https" && !local)
        .then(|| format!("{}/connections/google/notify", url.as_str().trim_end_matches('/')))
}

/// Opens (or renews before it expires) the calendar's push channel when Google can reach
/// us; the replaced channel is stopped. Failures only leave polling in charge.
pub async fn ensure_channel(google: &Google, db: &Db, row: &RemoteCalendarRow, token: &str) {
    let Some(address) = reachable(google.public_url.as_deref()) else { return };
    if row.channel_expires_at.is_some_and(|e| e - RENEW_BEFORE_MS > now_ms()) {
        return;
    }
    let id = app::ssr::new_id().to_lowercase();
    let secret = tokens::generate_with("gch_");
    let body = json!({
        "id": id, "type": "web_hook", "address": address, "token": secret,
        "params": { "ttl": CHANNEL_TTL_SECS.to_string() },
    });
    let path = format!("/calendars/{}/events/watch", app::components::percent_encode(&row.remote_id));
    match google.call(token, http::Method::POST, &path, Some(&body), None).await {
        Ok(answer) => {
            let resource = answer["resourceId"].as_str().unwrap_or_default();
            let expires = answer["expiration"]
                .as_str()
                .and_then(|e| e.parse::<i64>().ok())
                .or_else(|| answer["expiration"].as_i64())
                .unwrap_or(now_ms() + CHANNEL_TTL_SECS * 1000);
            if let Err(error) =
                connections::set_channel(db, &row.id, Some((&id, resource, &tokens::hash(&secret), expires))).await
            {
                tracing::warn!(%error, "storing a Google push channel");
            }
            if let (Some(old), Some(old_resource)) = (&row.channel_id, &row.channel_resource) {
                let stop = json!({ "id": old, "resourceId": old_resource });
                if let Err(error) = google.call(token, http::Method::POST, "/channels/stop", Some(&stop), None).await {
                    tracing::info!(%error, "stopping a replaced Google push channel");
                }
            }
        }
        Err(error) => tracing::info!(%error, "Google push channel not opened; polling only"),
    }
}

/// `POST /connections/google/notify`: a push notification from Google.
pub async fn notify(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (channel, token, resource_state) =
        (header("x-goog-channel-id"), header("x-goog-channel-token"), header("x-goog-resource-state"));
    if channel.is_empty() || channel.len() > 64 {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let row = match connections::by_channel(&state.db, &channel).await {
        Ok(Some(row)) => row,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => return error.into_response(),
    };
    let known = row.channel_token_hash.as_deref().is_some_and(|hash| same(hash, &tokens::hash(&token)));
    if !known {
        tracing::warn!(%channel, "a Google notification with a wrong channel token");
        return StatusCode::FORBIDDEN.into_response();
    }
    if resource_state == "sync" {
        return StatusCode::OK.into_response();
    }
    let queued = async {
        let mut write = changes::begin_unowned(&state.db).await?;
        connections::queue_sync(&mut write, &row.id, now_ms()).await?;
        write.commit().await
    };
    match queued.await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => error.into_response(),
    }
}

impl From<ApiError> for AppError {
    fn from(error: ApiError) -> Self {
        AppError::bad_request(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_channels_only_for_public_https_addresses() {
        assert_eq!(
            reachable(Some("https://cal.example.org/")).as_deref(),
            Some("https://cal.example.org/connections/google/notify")
        );
        assert_eq!(reachable(Some("http://cal.example.org")), None);
        assert_eq!(reachable(Some("https://localhost:3000")), None);
        assert_eq!(reachable(Some("https://192.168.1.4")), None);
        assert_eq!(reachable(Some("https://calento.local")), None);
        assert_eq!(reachable(None), None);
    }
}
