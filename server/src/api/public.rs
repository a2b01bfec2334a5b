//! The public booking API under `/api/v1/public`: no account needed. Invitees read a
//! link, its slots, book, and manage their booking through its secret token. Every route
//! is rate limited per client address (429 with `Retry-After`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;

use app::AppError;
use app::models::{BookingInfo, BookingRequest, CreatedBooking, PublicLink};
use app::ssr::{AppState, bookings};

use super::scheduling::{ReasonBody, RescheduleBody};
use super::{ApiJson, ApiQuery, Guard, OptionalJson, Routes, query_instant};

pub fn routes() -> Routes {
    Routes::new(Guard::Public)
        .get("/public/{username}/{slug}", link)
        .get("/public/{username}/{slug}/slots", slots)
        .post("/public/{username}/{slug}/bookings", book)
        .get("/public/bookings/{token}", booking)
        .post("/public/bookings/{token}/cancel", cancel)
        .post("/public/bookings/{token}/reschedule", reschedule)
        .get("/public/bookings/{token}/invite.ics", invite_ics)
}

/// The public routes (and apps' sign-in) share one budget per client address, checked
/// only on the routes themselves (an unknown path is the authenticated API's 404).
pub fn limited(router: Router<AppState>, state: AppState) -> Router<AppState> {
    router.route_layer(middleware::from_fn_with_state(state, limit))
}

async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| *a);
    let client = app::ssr::client_address(request.headers(), peer, state.trust_proxy);
    match app::ssr::rate_limit::hit(&state.db, "public", &client, state.rate_limits.public).await {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

#[derive(utoipa::ToSchema, Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

async fn link(
    State(state): State<AppState>,
    Path((username, slug)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<KeyQuery>,
) -> Result<Json<PublicLink>, AppError> {
    Ok(Json(bookings::find_public(&state.db, &username, &slug, query.key.as_deref()).await?.public()))
}

#[derive(utoipa::ToSchema, Deserialize)]
struct SlotsQuery {
    from: Option<String>,
    to: Option<String>,
    duration: Option<String>,
    key: Option<String>,
}

/// The offered slot starts in `[from, to)`, in UTC: a JSON array like `["2030-01-15T09:00:00Z"]`.
async fn slots(
    State(state): State<AppState>,
    Path((username, slug)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<SlotsQuery>,
) -> Result<Json<Vec<String>>, AppError> {
    let found = bookings::find_public(&state.db, &username, &slug, query.key.as_deref()).await?;
    let from = query_instant("from", query.from.as_deref())?;
    let to = query_instant("to", query.to.as_deref())?;
    let duration = bookings::parse_duration(query.duration.as_deref())?;
    bookings::slots(&state.db, &found, duration, from, to).await.map(Json)
}

/// Books a slot: 201 with the booking, 409 `slot_taken`, or 422 with the fields to fix.
/// An `Idempotency-Key` header makes retries safe: the same key gives the same booking.
async fn book(
    State(state): State<AppState>,
    Path((username, slug)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<KeyQuery>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BookingRequest>,
) -> Result<(StatusCode, Json<CreatedBooking>), AppError> {
    let found = bookings::find_public(&state.db, &username, &slug, query.key.as_deref()).await?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let (created, _new) = bookings::create(&state.db, &found, &body, key, &state.public_url).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn booking(State(state): State<AppState>, Path(token): Path<String>) -> Result<Json<BookingInfo>, AppError> {
    Ok(Json(bookings::find_by_token(&state.db, &token).await?.info()))
}

async fn cancel(
    State(state): State<AppState>,
    Path(token): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> Result<Json<BookingInfo>, AppError> {
    let row = bookings::find_by_token(&state.db, &token).await?;
    bookings::cancel(&state.db, &row, bookings::Actor::Invitee, body.reason.as_deref(), &state.public_url)
        .await
        .map(Json)
}

async fn reschedule(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<RescheduleBody>,
) -> Result<Json<BookingInfo>, AppError> {
    let row = bookings::find_by_token(&state.db, &token).await?;
    bookings::reschedule(
        &state.db,
        &row,
        bookings::Actor::Invitee,
        &body.start,
        body.reason.as_deref(),
        &state.public_url,
    )
    .await
    .map(Json)
}

/// "Add to calendar": the booking as an `.ics` file.
async fn invite_ics(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, AppError> {
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    let row = bookings::find_by_token(&state.db, token).await?;
    let text = bookings::invite_file(&state.db, &row).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"booking.ics\""),
        ],
        text,
    )
        .into_response())
}
