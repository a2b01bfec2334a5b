//! Personal access tokens (`/tokens`): listed, created (shown once), revoked. An account
//! route: the session or a token with the `account` scope; a token never makes a token
//! with a scope it does not hold.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::Value;

use app::AppError;
use app::ssr::AppState;

use super::{ApiCredential, ClientOrigin};
use super::{ApiJson, ApiUser, Guard, Routes};
use app::models::{CreatedToken, TokenInfo};
use app::ssr::{audit, tokens};

pub fn routes() -> Routes {
    Routes::new(Guard::Account)
        .get("/tokens", list_tokens)
        .post("/tokens", create_token)
        .delete("/tokens/{id}", revoke_token)
}

async fn list_tokens(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<TokenInfo>>, AppError> {
    tokens::list(&state.db, &user.id).await.map(Json)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct NewToken {
    name: String,
    /// Scopes as a string (`"calendar:read tasks:write"`) or a list; absent: the area
    /// scopes of the credential making it (never `account` unless named).
    #[serde(default)]
    #[schema(value_type = Option<super::openapi::ScopeList>)]
    scopes: Option<Value>,
}

/// Makes a personal token. It may hold only scopes the credential asking for it holds, so
/// a token can never widen its own reach.
async fn create_token(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Extension(credential): Extension<ApiCredential>,
    ClientOrigin(origin): ClientOrigin,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    let scopes = match body.scopes.as_ref().filter(|v| !v.is_null()) {
        Some(value) => super::security::scopes_of(Some(value))?,
        None => credential.scopes.without_account(),
    };
    if !credential.scopes.covers(scopes) {
        return Err(AppError::forbidden(format!(
            "A token can only make tokens within its own scopes ({}).",
            credential.scopes.text()
        )));
    }
    if scopes.is_empty() {
        return Err(AppError::field(calento::FieldError::new(
            "scopes",
            "Name at least one scope, such as calendar:read.",
        )));
    }
    let created = tokens::create_scoped(&state.db, &user.id, &body.name, scopes).await?;
    let detail = format!("{} ({})", created.info.name, created.info.scopes);
    audit::record(&state.db, Some(&user.id), None, audit::event::TOKEN_CREATED, &detail, &origin).await;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ClientOrigin(origin): ClientOrigin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let name = tokens::name_of(&state.db, &user.id, &id).await.unwrap_or_default();
    tokens::revoke(&state.db, &user.id, &id).await?;
    audit::record(&state.db, Some(&user.id), None, audit::event::TOKEN_REVOKED, &name, &origin).await;
    Ok(StatusCode::NO_CONTENT)
}
