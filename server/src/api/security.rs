//! Credentials for the REST API: app sign-in and refresh (`/auth/token`, `/auth/refresh`),
//! and the account's own security routes (`/account/…`).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::Value;

use calento::scope::Scopes;

use app::AppError;
use app::models::{AppGrantInfo, AuditEntry, SessionInfo, TokenPair};
use app::ssr::audit::{self, event};
use app::ssr::{AppState, accounts, export, grants, rate_limit, security};

use super::{ApiJson, ApiUser, ClientOrigin, Guard, Routes, error_body};

/// Apps sign in and refresh here: no credential needed, they hand credentials out.
pub fn sign_in_routes() -> Routes {
    Routes::new(Guard::Public).post("/auth/token", sign_in).post("/auth/refresh", refresh)
}

/// The account's own security routes.
pub fn account_routes() -> Routes {
    Routes::new(Guard::Account)
        .get("/account/sessions", list_sessions)
        .delete("/account/sessions/{id}", revoke_session)
        .get("/account/apps", list_apps)
        .delete("/account/apps/{id}", revoke_app)
        .get("/account/audit", audit_log)
        .get("/account/export", export_account)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct SignIn {
    email: String,
    password: String,
    /// `"calendar:read tasks:write"` or `["calendar:read", "tasks:write"]`; every scope when absent.
    #[serde(default)]
    #[schema(value_type = Option<super::openapi::ScopeList>)]
    scopes: Option<Value>,
}

/// Scopes as a request gives them: a string or a list of strings; every area scope when
/// absent.
pub fn scopes_of(value: Option<&Value>) -> Result<Scopes, AppError> {
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
    if scopes.has_account() {
        let refusal = calento::FieldError::new(
            "scopes",
            "Apps cannot hold the account scope; manage the account signed in or with a personal token.",
        );
        return Err(AppError::field(refusal).into_response());
    }
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

#[derive(utoipa::ToSchema, Deserialize)]
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
    fn scopes_come_as_text_or_a_list() {
        assert_eq!(scopes_of(None).expect("default"), Scopes::all());
        let listed = scopes_of(Some(&serde_json::json!(["calendar:read", "tasks:write"]))).expect("list");
        assert_eq!(listed.text(), "calendar:read tasks:write");
        assert!(scopes_of(Some(&serde_json::json!(7))).is_err());
        assert!(scopes_of(Some(&serde_json::json!("root"))).is_err());
    }
}
