//! Connected accounts (`/connections`): the accounts with each synced calendar and its
//! state, how a calendar syncs, "sync now", disconnecting. The account itself may call
//! them (the session, or a personal token with the `account` scope): they reach another
//! service in the person's name.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

use app::AppError;
use app::models::{ConnectionInfo, RemoteCalendarInfo};
use app::ssr::{AppState, connections};

use super::{ApiJson, ApiQuery, ApiUser, Guard, Routes};

pub fn routes() -> Routes {
    Routes::new(Guard::Account)
        .get("/connections", list)
        .patch("/connections/{id}", update)
        .delete("/connections/{id}", disconnect)
        .post("/connections/{id}/sync", sync_now)
        .patch("/connections/{id}/calendars/{calendar}", set_mode)
}

/// Every connected account with its calendars (provider, account, status; per calendar
/// the mode, last and next sync, counts and the last error).
async fn list(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<ConnectionInfo>>, AppError> {
    connections::list(&state.db, &user.id).await.map(Json)
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    /// The remote calendar new bookings go to; `null`: none.
    #[serde(default)]
    write_calendar: Option<String>,
    #[serde(default)]
    send_updates: bool,
}

async fn update(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiJson(options): ApiJson<Options>,
) -> Result<Json<ConnectionInfo>, AppError> {
    connections::set_options(&state.db, &user.id, &id, options.write_calendar.as_deref(), options.send_updates)
        .await
        .map(Json)
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
struct DisconnectQuery {
    #[serde(default)]
    remove_events: bool,
}

/// Disconnects (the grant is revoked at the service); `?remove_events=true` also removes
/// the calendars kept for it.
async fn disconnect(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DisconnectQuery>,
) -> Result<StatusCode, AppError> {
    connections::disconnect(&state.db, &user.id, &id, query.remove_events).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a sync of every syncing calendar of the account now: 202.
async fn sync_now(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    connections::sync_now(&state.db, &user.id, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mode {
    /// `off`, `busy` or `two_way`.
    mode: String,
    /// For `two_way`: one of the person's calendars (absent: a new one).
    #[serde(default)]
    calendar_id: Option<String>,
    /// A Notion database: which property holds what (absent: unchanged).
    #[serde(default)]
    mapping: Option<connections::TaskMapping>,
}

async fn set_mode(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path((id, calendar)): Path<(String, String)>,
    ApiJson(mode): ApiJson<Mode>,
) -> Result<Json<RemoteCalendarInfo>, AppError> {
    let row = connections::remote_calendar(&state.db, &calendar).await?;
    if row.connection_id != id || row.user_id != user.id {
        return Err(AppError::NotFound);
    }
    if let Some(mapping) = &mode.mapping {
        connections::set_mapping(&state.db, &user.id, &calendar, mapping).await?;
    }
    connections::set_mode(&state.db, &user.id, &calendar, &mode.mode, mode.calendar_id.as_deref()).await.map(Json)
}
