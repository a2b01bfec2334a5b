//! Credentials for the REST API: app sign-in and refresh (`/auth/token`, `/auth/refresh`),
//! what each route needs (scopes), and the account's own security routes (`/account/…`).

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::Value;

use calento::scope::{Access, Area, Scopes};

use app::AppError;
use app::models::{AppGrantInfo, AuditEntry, SessionInfo, TokenPair};
use app::ssr::audit::{self, Origin, event};
use app::ssr::{AppState, accounts, export, grants, rate_limit, security};

use crate::api::{ApiJson, ApiUser, error_body};

/// What a route of the API needs from a bearer token, beyond belonging to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any valid credential (`/me`).
    Any,
    /// A scope on an area: reading for GET and HEAD, writing for everything else.
    Scope(Area, Access),
    /// The account itself (tokens, sessions, audit log, export, outbox): a personal token
    /// or the browser session; app tokens never reach these.
    Account,
}

/// The need of `method path` (the path inside `/api/v1`).
pub fn need(method: &Method, path: &str) -> Need {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let access = if method == Method::GET || method == Method::HEAD { Access::Read } else { Access::Write };
    let area = match first {
        "me" | "changes" => return Need::Any,
        "tokens" | "account" | "outbox" => return Need::Account,
        "calendars" | "events" | "occurrences" | "freebusy" => Area::Calendar,
        "availability" | "booking-links" | "bookings" => Area::Bookings,
        "tasks" | "templates" | "zones" | "capture" | "plan" | "focus-sessions" | "energy" | "stats" | "progress"
        | "rewards" | "task-settings" => Area::Tasks,
        // Unknown routes answer 404 to any valid credential.
        _ => return Need::Any,
    };
    Need::Scope(area, access)
}

/// Where a request to the API came from, for the audit log.
pub fn origin_of(headers: &HeaderMap, peer: Option<std::net::SocketAddr>, trust_proxy: bool) -> Origin {
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    Origin::new(app::ssr::client_address(headers, peer, trust_proxy), agent)
}

/// The client's address and User-Agent, for the audit log.
pub struct ClientOrigin(pub Origin);

impl FromRequestParts<AppState> for ClientOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|ConnectInfo(a)| *a);
        Ok(Self(origin_of(&parts.headers, peer, state.trust_proxy)))
    }
}

/// Routes that take no credential: they hand credentials out.
pub fn token_router() -> Router<AppState> {
    Router::new().route("/auth/token", post(sign_in)).route("/auth/refresh", post(refresh))
}

/// The account's own security routes (behind the API's authentication).
pub fn account_router() -> Router<AppState> {
    Router::new()
        .route("/account/sessions", get(list_sessions))
        .route("/account/sessions/{id}", delete(revoke_session))
        .route("/account/apps", get(list_apps))
        .route("/account/apps/{id}", delete(revoke_app))
        .route("/account/audit", get(audit_log))
        .route("/account/export", get(export_account))
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
    /// `"calendar:read tasks:write"` or `["calendar:read", "tasks:write"]`; every scope when absent.
    #[serde(default)]
    scopes: Option<Value>,
}

fn scopes_of(value: Option<&Value>) -> Result<Scopes, AppError> {
    let text = match value {
        None | Some(Value::Null) => return Ok(Scopes::all()),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => {
            let mut words = Vec::new();
            for item in items {
                match item {
                    Value::String(word) => words.push(word.clone()),
                    _ => return Err(AppError::bad_request("scopes is a string or an array of strings.")),
                }
            }
            words.join(" ")
        }
        Some(_) => return Err(AppError::bad_request("scopes is a string or an array of strings.")),
    };
    Ok(Scopes::parse(&text)?)
}

fn unauthorized(message: &str) -> Response {
    let mut response = error_body(StatusCode::UNAUTHORIZED, "unauthorized", message);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    response
}

async fn sign_in(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Json<TokenPair>, Response> {
    rate_limit::hit(&state.db, "token", &origin.ip, state.rate_limits.token)
        .await
        .map_err(IntoResponse::into_response)?;
    let scopes = scopes_of(body.scopes.as_ref()).map_err(IntoResponse::into_response)?;
    let user = accounts::authenticate(&state.db, &state.login_limits, &body.email, &body.password, &origin)
        .await
        .map_err(|error| match error {
            AppError::Invalid { .. } => unauthorized("Email or password is incorrect."),
            other => other.into_response(),
        })?;
    let (_, pair) = grants::start(&state.db, &user.id, scopes).await.map_err(IntoResponse::into_response)?;
    audit::record(&state.db, Some(&user.id), None, event::APP_SIGN_IN, &pair.scope, &origin).await;
    Ok(Json(pair))
}

#[derive(Deserialize)]
struct Refresh {
    refresh_token: String,
}

async fn refresh(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    ApiJson(body): ApiJson<Refresh>,
) -> Result<Json<TokenPair>, Response> {
    rate_limit::hit(&state.db, "token", &origin.ip, state.rate_limits.token)
        .await
        .map_err(IntoResponse::into_response)?;
    match grants::refresh(&state.db, &body.refresh_token).await.map_err(IntoResponse::into_response)? {
        Ok((user_id, _, pair)) => {
            let active = accounts::find_by_id(&state.db, &user_id).await.map_err(IntoResponse::into_response)?;
            if active.is_none_or(|u| u.disabled_at.is_some()) {
                return Err(unauthorized("This account cannot sign in."));
            }
            audit::record(&state.db, Some(&user_id), None, event::TOKEN_ROTATED, "", &origin).await;
            Ok(Json(pair))
        }
        Err(grants::RefreshError::Invalid) => {
            Err(unauthorized("This refresh token is not valid: it expired or was revoked. Sign in again."))
        }
        Err(grants::RefreshError::Reused { user_id, .. }) => {
            audit::record(
                &state.db,
                Some(&user_id),
                None,
                event::REFRESH_REUSED,
                "every token of the sign-in revoked",
                &origin,
            )
            .await;
            Err(unauthorized(
                "This refresh token was already used, so the sign-in it belongs to was revoked as a precaution. Sign in again.",
            ))
        }
    }
}

async fn list_sessions(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Extension(session): Extension<tower_sessions::Session>,
) -> Result<Json<Vec<SessionInfo>>, AppError> {
    let current = session.id().map(|id| id.to_string());
    security::list_sessions(&state.db, &user.id, current.as_deref()).await.map(Json)
}

async fn revoke_session(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ClientOrigin(origin): ClientOrigin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    security::revoke_session(&state.db, &user.id, &id).await?;
    audit::record(&state.db, Some(&user.id), None, event::SESSION_REVOKED, "", &origin).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_apps(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<AppGrantInfo>>, AppError> {
    grants::list(&state.db, &user.id).await.map(Json)
}

async fn revoke_app(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ClientOrigin(origin): ClientOrigin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    grants::revoke_for_user(&state.db, &user.id, &id).await?;
    audit::record(&state.db, Some(&user.id), None, event::TOKEN_REVOKED, "app sign-in", &origin).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit_log(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    audit::list_for_user(&state.db, &user.id).await.map(Json)
}

/// The whole account as one tar archive (`account.json` and an `.ics` per calendar).
pub async fn export_account(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ClientOrigin(origin): ClientOrigin,
) -> Result<Response, AppError> {
    let bytes = export::archive(&state.db, &user.id, &origin).await?;
    let name =
        format!("attachment; filename=\"calento-{}-{}.tar\"", user.username, chrono::Utc::now().format("%Y-%m-%d"));
    Ok(([(header::CONTENT_TYPE, "application/x-tar".to_owned()), (header::CONTENT_DISPOSITION, name)], bytes)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_the_scope_of_their_area() {
        assert_eq!(need(&Method::GET, "/calendars/x"), Need::Scope(Area::Calendar, Access::Read));
        assert_eq!(need(&Method::PATCH, "/events/x"), Need::Scope(Area::Calendar, Access::Write));
        assert_eq!(need(&Method::POST, "/bookings/x/cancel"), Need::Scope(Area::Bookings, Access::Write));
        assert_eq!(need(&Method::GET, "/focus-sessions/current"), Need::Scope(Area::Tasks, Access::Read));
        assert_eq!(need(&Method::POST, "/tokens"), Need::Account);
        assert_eq!(need(&Method::GET, "/account/export"), Need::Account);
        assert_eq!(need(&Method::GET, "/me"), Need::Any);
    }

    #[test]
    fn scopes_come_as_text_or_a_list() {
        assert_eq!(scopes_of(None).expect("default"), Scopes::all());
        let listed = scopes_of(Some(&serde_json::json!(["calendar:read", "tasks:write"]))).expect("list");
        assert_eq!(listed.text(), "calendar:read tasks:write");
        assert!(scopes_of(Some(&serde_json::json!(7))).is_err());
        assert!(scopes_of(Some(&serde_json::json!("root"))).is_err());
    }
}
