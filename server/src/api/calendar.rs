//! Calendars and events: calendars (with private feeds, imports, exports and subscriptions),
//! events with their edit scopes, occurrences of a window, search, and free/busy. Also the
//! feeds themselves and the no-JavaScript import form, which live outside `/api/v1`.
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::Value;

use app::AppError;
use app::ssr::AppState;

use super::{ApiJson, ApiQuery, ApiUser, Guard, Routes, query_instant};
use app::models::{
    CalendarInfo, CalendarInput, EditScope, EventInfo, EventInput, EventPage, EventPatch, ImportReport, OccurrenceInfo,
};
use app::ssr::session_store::USER_ID_KEY;
use app::ssr::{bookings, calendars, events, ical, search};
use calento::scope::Area;
use tower_sessions::Session;

pub fn routes() -> Routes {
    Routes::new(Guard::Area(Area::Calendar))
        .get("/calendars", list_calendars)
        .post("/calendars", create_calendar)
        .get("/calendars/{id}", get_calendar)
        .patch("/calendars/{id}", update_calendar)
        .delete("/calendars/{id}", delete_calendar)
        .post("/calendars/{id}/feed", publish_feed)
        .delete("/calendars/{id}/feed", revoke_feed)
        .post("/calendars/{id}/import", import_calendar)
        .get("/calendars/{id}/export.ics", export_calendar)
        .post("/calendars/{id}/refresh", refresh_calendar)
        .get("/events", search_events)
        .post("/events", create_event)
        .get("/events/{id}", get_event)
        .patch("/events/{id}", update_event)
        .delete("/events/{id}", delete_event)
        .get("/occurrences", occurrences)
        .get("/freebusy", freebusy)
}

async fn list_calendars(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<CalendarInfo>>, AppError> {
    let rows = calendars::list(&state.db, &user.id).await?;
    Ok(Json(rows.iter().map(|c| c.info()).collect()))
}

async fn create_calendar(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(body): ApiJson<CalendarInput>,
) -> Result<(StatusCode, Json<CalendarInfo>), AppError> {
    calendars::check_subscription(&state.url_check, &body).await?;
    let row = calendars::create(&state.db, &user.id, &body, &user.time_zone).await?;
    Ok((StatusCode::CREATED, Json(row.info())))
}

async fn get_calendar(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<CalendarInfo>, AppError> {
    Ok(Json(calendars::find(&state.db, &user.id, &id).await?.info()))
}

async fn update_calendar(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CalendarInput>,
) -> Result<Json<CalendarInfo>, AppError> {
    Ok(Json(calendars::update(&state.db, &user.id, &id, &body).await?.info()))
}

async fn delete_calendar(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    calendars::delete(&state.db, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publishes a private feed; the URL (with its secret) is shown this once.
async fn publish_feed(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let token = calendars::publish_feed(&state.db, &user.id, &id).await?;
    let path = format!("/feeds/{token}.ics");
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "path": path }))))
}

async fn revoke_feed(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    calendars::revoke_feed(&state.db, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Imports an iCalendar file (the raw body) into a calendar; answers with the report.
async fn import_calendar(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<ImportReport>, AppError> {
    let calendar = calendars::find(&state.db, &user.id, &id).await?;
    if calendar.read_only() {
        return Err(AppError::bad_request("This calendar mirrors another; import into one of your own calendars."));
    }
    Ok(Json(ical::import(&state.db, &calendar, body).await?))
}

async fn export_calendar(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let calendar = calendars::find(&state.db, &user.id, &id).await?;
    let text = ical::export(&state.db, &calendar).await?;
    let file = format!("attachment; filename=\"{}.ics\"", file_name(&calendar.name));
    Ok(([(header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, file)], text)
        .into_response())
}

/// Polls a subscription now; answers with the calendar (a failed fetch is in `poll_error`).
async fn refresh_calendar(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Extension(poller): Extension<crate::subscriptions::Poller>,
    Path(id): Path<String>,
) -> Result<Json<CalendarInfo>, AppError> {
    let calendar = calendars::find(&state.db, &user.id, &id).await?;
    if calendar.source_url.is_none() {
        return Err(AppError::bad_request("This calendar is not a subscription; only subscriptions can be refreshed."));
    }
    Ok(Json(poller.poll(&state.db, &calendar.id).await?.info()))
}

/// A calendar name made safe for a download's file name.
fn file_name(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).take(60).collect();
    if cleaned.trim_matches('-').is_empty() { "calendar".to_owned() } else { cleaned }
}

/// A private feed: the calendar as iCalendar, opened by the secret in its URL, with
/// `ETag`/`Last-Modified` so subscribers poll cheaply (304 when nothing changed).
pub async fn feed(State(state): State<AppState>, Path(file): Path<String>, headers: axum::http::HeaderMap) -> Response {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    let calendar = match calendars::find_by_feed_token(&state.db, token).await {
        Ok(Some(calendar)) => calendar,
        Ok(None) => return AppError::NotFound.into_response(),
        Err(error) => return error.into_response(),
    };
    let (etag, modified) = ical::validators(&calendar);
    let matches_etag = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let not_modified_since = headers.get(header::IF_NONE_MATCH).is_none()
        && headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()).is_some_and(|since| {
            chrono::DateTime::parse_from_rfc2822(since)
                .is_ok_and(|t| t.timestamp() >= calendar.changed_at.div_euclid(1000))
        });
    let validators = [(header::ETAG, etag), (header::LAST_MODIFIED, modified)];
    if matches_etag || not_modified_since {
        return (StatusCode::NOT_MODIFIED, validators).into_response();
    }
    match ical::export(&state.db, &calendar).await {
        Ok(text) => (validators, [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], text).into_response(),
        Err(error) => error.into_response(),
    }
}

/// A new event's body, kept as JSON (whether it names `reminders` at all matters);
/// described as [`EventInput`].
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct EventBody(serde_json::Value);

impl utoipa::PartialSchema for EventBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <EventInput as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for EventBody {
    fn name() -> std::borrow::Cow<'static, str> {
        <EventInput as utoipa::ToSchema>::name()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <EventInput as utoipa::ToSchema>::schemas(schemas);
    }
}

/// A body without `reminders` gets the calendar's default reminders; `"reminders": []`
/// means none.
async fn create_event(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(EventBody(body)): ApiJson<EventBody>,
) -> Result<(StatusCode, Json<EventInfo>), AppError> {
    let defaults = body.get("reminders").is_none();
    let input: EventInput = serde_json::from_value(body).map_err(|e| AppError::Invalid {
        message: format!("Failed to deserialize the JSON body: {e}"),
        fields: Vec::new(),
    })?;
    let event = events::create_with(&state.db, &user.id, input, defaults).await?;
    Ok((StatusCode::CREATED, Json(event)))
}

async fn get_event(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<EventInfo>, AppError> {
    Ok(Json(events::get(&state.db, &user.id, &id).await?))
}

/// Which instances of a repeating event an edit or delete applies to.
#[derive(utoipa::ToSchema, Deserialize, Default)]
struct ScopeQuery {
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    recurrence_id: Option<String>,
}

impl ScopeQuery {
    fn scope(&self) -> Result<EditScope, AppError> {
        EditScope::parse(self.scope.as_deref().unwrap_or("all"))
            .ok_or_else(|| AppError::field(calento::FieldError::new("scope", "The scope is this, following or all.")))
    }
}

async fn update_event(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ScopeQuery>,
    ApiJson(patch): ApiJson<EventPatch>,
) -> Result<Json<EventInfo>, AppError> {
    let event =
        events::update(&state.db, &user.id, &id, &patch, query.scope()?, query.recurrence_id.as_deref()).await?;
    Ok(Json(event))
}

async fn delete_event(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ScopeQuery>,
) -> Result<StatusCode, AppError> {
    events::delete(&state.db, &user.id, &id, query.scope()?, query.recurrence_id.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct WindowQuery {
    from: Option<String>,
    to: Option<String>,
    calendar_id: Option<String>,
}

async fn occurrences(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<Json<Vec<OccurrenceInfo>>, AppError> {
    let from = query_instant("from", query.from.as_deref())?;
    let to = query_instant("to", query.to.as_deref())?;
    let found = events::occurrences(&state.db, &user.id, from, to, query.calendar_id.as_deref()).await?;
    Ok(Json(found))
}

/// Searches or lists the user's events (see `app::ssr::search`).
async fn search_events(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    query: Result<Query<search::SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventPage>, AppError> {
    let Query(query) = query.map_err(|e| AppError::Invalid { message: e.body_text(), fields: Vec::new() })?;
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let ms = |t: chrono::NaiveDateTime| t.and_utc().timestamp_millis();
    let from = given(&query.from).map(|v| query_instant("from", Some(&v)).map(ms)).transpose();
    let to = given(&query.to).map(|v| query_instant("to", Some(&v)).map(ms)).transpose();
    let (from, to) = match (from, to) {
        (Ok(from), Ok(to)) => (from, to),
        (from, to) => {
            let fields = [from.err(), to.err()]
                .into_iter()
                .flatten()
                .flat_map(|e| match e {
                    AppError::Invalid { fields, .. } => fields,
                    _ => Vec::new(),
                })
                .collect();
            return Err(AppError::fields(fields));
        }
    };
    let search = search::Search::parse(&query, from, to)?;
    Ok(Json(search::search(&state.db, &user.id, &search).await?))
}

#[derive(utoipa::ToSchema, serde::Serialize)]
struct BusyInterval {
    start: String,
    end: String,
}

/// The signed-in user's merged busy time in `[from, to)`.
async fn freebusy(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<Json<Vec<BusyInterval>>, AppError> {
    let ms = |t: chrono::NaiveDateTime| t.and_utc().timestamp_millis();
    let from = ms(query_instant("from", query.from.as_deref())?);
    let to = ms(query_instant("to", query.to.as_deref())?);
    if to <= from {
        return Err(AppError::field(calento::FieldError::new("to", "The end of the range must be after its start.")));
    }
    if to - from > 366 * 86_400_000 {
        return Err(AppError::field(calento::FieldError::new("to", "Ask for at most a year at a time.")));
    }
    let zone = calento::TimeZoneName::parse(&user.time_zone)
        .map(|z| z.tz())
        .unwrap_or_else(|_| calento::TimeZoneName::default().tz());
    let busy = bookings::busy(&state.db, &user.id, zone, from, to).await?;
    Ok(Json(
        busy.into_iter()
            .map(|i| BusyInterval { start: bookings::utc_text(i.start), end: bookings::utc_text(i.end) })
            .collect(),
    ))
}

/// Import from the calendars page without JavaScript: a multipart form with the file; the
/// answer is a redirect back to the page with the report in its address.
pub async fn import_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let back = |report: &str| {
        let location = format!("/settings/calendars?report={}", app::components::percent_encode(report));
        (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
    };
    let user_id = session.get::<String>(USER_ID_KEY).await.ok().flatten();
    let Some(user_id) = user_id else {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login?next=/settings/calendars")]).into_response();
    };
    let Ok(mut form) = form else {
        return AppError::bad_request("Send the file as a form upload (multipart/form-data).").into_response();
    };
    let mut bytes = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            match field.bytes().await {
                Ok(b) => bytes = Some(b),
                Err(_) => return AppError::bad_request("The file could not be read.").into_response(),
            }
        }
    }
    let Some(bytes) = bytes else { return AppError::bad_request("Choose a file to import.").into_response() };
    let calendar = match calendars::find(&state.db, &user_id, &id).await {
        Ok(calendar) if !calendar.read_only() => calendar,
        Ok(_) => return AppError::bad_request("A subscribed calendar cannot import files.").into_response(),
        Err(error) => return error.into_response(),
    };
    match ical::import(&state.db, &calendar, bytes).await {
        Ok(mut report) => {
            report.skipped.truncate(20);
            back(&serde_json::to_string(&report).unwrap_or_default())
        }
        Err(AppError::Invalid { message, .. }) => {
            let report = ImportReport {
                skipped: vec![app::models::SkippedItem { uid: None, line: 0, reason: message }],
                ..ImportReport::default()
            };
            back(&serde_json::to_string(&report).unwrap_or_default())
        }
        Err(error) => error.into_response(),
    }
}
