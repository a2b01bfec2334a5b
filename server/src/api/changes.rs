//! The change feed (`GET /changes`): what changed in the account, in order, of the kinds the
//! credential's scopes read. See `app::ssr::changes`.
use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Deserialize;

use app::AppError;
use app::ssr::AppState;

use super::ApiCredential;
use super::{ApiUser, Guard, Routes};
use app::ssr::changes;

pub fn routes() -> Routes {
    Routes::new(Guard::Signed).get("/changes", changes)
}

#[derive(Deserialize)]
struct ChangesQuery {
    since: Option<String>,
    limit: Option<String>,
}

/// The change feed: what changed after `since`, in order, of the kinds the credential may
/// read (see `app::ssr::changes`).
async fn changes(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Extension(credential): Extension<ApiCredential>,
    query: Result<Query<ChangesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<app::models::ChangePage>, AppError> {
    let Query(query) = query.map_err(|e| AppError::bad_request(e.body_text()))?;
    let limit = match query.limit.as_deref().map(str::trim) {
        None | Some("") => changes::DEFAULT_LIMIT,
        Some(text) => text.parse::<i64>().ok().filter(|n| (1..=changes::MAX_LIMIT).contains(n)).ok_or_else(|| {
            AppError::field(calento::FieldError::new(
                "limit",
                format!("limit is a whole number from 1 to {}.", changes::MAX_LIMIT),
            ))
        })?,
    };
    let kinds = changes::Kind::visible_with(credential.scopes);
    changes::read(&state.db, &user.id, query.since.as_deref(), limit, &kinds).await.map(Json)
}
