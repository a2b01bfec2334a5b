//! Scheduling: availability schedules, booking links and the host's bookings (cancel,
//! reschedule, approve, decline).
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

use app::AppError;
use app::ssr::AppState;

use super::{ApiJson, ApiQuery, ApiUser, Guard, OptionalJson, Routes};
use app::models::{BookingInfo, BookingLinkInfo, BookingPage, LinkPatch, ScheduleBody, ScheduleInfo};
use app::ssr::{bookings, scheduling};
use calento::scope::Area;

pub fn routes() -> Routes {
    Routes::new(Guard::Area(Area::Bookings))
        .get("/availability/schedules", list_schedules)
        .post("/availability/schedules", create_schedule)
        .get("/availability/schedules/{id}", get_schedule)
        .patch("/availability/schedules/{id}", update_schedule)
        .delete("/availability/schedules/{id}", delete_schedule)
        .get("/booking-links", list_links)
        .post("/booking-links", create_link)
        .get("/booking-links/{id}", get_link)
        .patch("/booking-links/{id}", update_link)
        .delete("/booking-links/{id}", delete_link)
        .get("/bookings", list_bookings)
        .get("/bookings/{id}", get_booking)
        .post("/bookings/{id}/cancel", cancel_booking)
        .post("/bookings/{id}/reschedule", reschedule_booking)
        .post("/bookings/{id}/approve", approve_booking)
        .post("/bookings/{id}/decline", decline_booking)
}

// ---- Scheduling: availability schedules, booking links, bookings, free/busy ----

async fn list_schedules(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<ScheduleInfo>>, AppError> {
    let rows = scheduling::list_schedules(&state.db, &user.id).await?;
    Ok(Json(rows.iter().map(|r| r.info()).collect()))
}

async fn create_schedule(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<(StatusCode, Json<ScheduleInfo>), AppError> {
    let info = scheduling::create_schedule(&state.db, &user.id, &user.time_zone, body).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn get_schedule(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<ScheduleInfo>, AppError> {
    Ok(Json(scheduling::find_schedule(&state.db, &user.id, &id).await?.info()))
}

async fn update_schedule(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<Json<ScheduleInfo>, AppError> {
    scheduling::update_schedule(&state.db, &user.id, &id, body).await.map(Json)
}

async fn delete_schedule(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    scheduling::delete_schedule(&state.db, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_links(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<BookingLinkInfo>>, AppError> {
    let rows = scheduling::list_links(&state.db, &user.id).await?;
    Ok(Json(rows.iter().map(|r| r.info(&user.username)).collect()))
}

async fn create_link(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(body): ApiJson<LinkPatch>,
) -> Result<(StatusCode, Json<BookingLinkInfo>), AppError> {
    let info = scheduling::create_link(&state.db, &user.id, &user.username, &user.time_zone, &body).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn get_link(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<BookingLinkInfo>, AppError> {
    Ok(Json(scheduling::find_link(&state.db, &user.id, &id).await?.info(&user.username)))
}

async fn update_link(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LinkPatch>,
) -> Result<Json<BookingLinkInfo>, AppError> {
    scheduling::update_link(&state.db, &user.id, &user.username, &user.time_zone, &id, &body).await.map(Json)
}

async fn delete_link(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    scheduling::delete_link(&state.db, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct BookingsQuery {
    status: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

async fn list_bookings(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiQuery(query): ApiQuery<BookingsQuery>,
) -> Result<Json<BookingPage>, AppError> {
    let (page, per_page) = (query.page.as_deref(), query.per_page.as_deref());
    bookings::list(&state.db, &user.id, query.status.as_deref(), page, per_page).await.map(Json)
}

async fn get_booking(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<BookingInfo>, AppError> {
    Ok(Json(bookings::find(&state.db, &user.id, &id).await?.info()))
}

#[derive(utoipa::ToSchema, Deserialize, Default)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(utoipa::ToSchema, Deserialize)]
pub struct RescheduleBody {
    pub start: String,
    #[serde(default)]
    pub reason: Option<String>,
}

async fn cancel_booking(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> Result<Json<BookingInfo>, AppError> {
    let row = bookings::find(&state.db, &user.id, &id).await?;
    bookings::cancel(&state.db, &row, bookings::Actor::Host, body.reason.as_deref(), &state.public_url).await.map(Json)
}

async fn reschedule_booking(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RescheduleBody>,
) -> Result<Json<BookingInfo>, AppError> {
    let row = bookings::find(&state.db, &user.id, &id).await?;
    bookings::reschedule(&state.db, &row, bookings::Actor::Host, &body.start, body.reason.as_deref(), &state.public_url)
        .await
        .map(Json)
}

async fn approve_booking(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<BookingInfo>, AppError> {
    let row = bookings::find(&state.db, &user.id, &id).await?;
    bookings::decide(&state.db, &row, true, None, &state.public_url).await.map(Json)
}

async fn decline_booking(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> Result<Json<BookingInfo>, AppError> {
    let row = bookings::find(&state.db, &user.id, &id).await?;
    bookings::decide(&state.db, &row, false, body.reason.as_deref(), &state.public_url).await.map(Json)
}
