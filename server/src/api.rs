//! The REST API under `/api/v1`: JSON in and out, a bearer token or the session cookie.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::Value;
use tower_sessions::Session;

use app::AppError;
use app::models::{
    BookingInfo, BookingLinkInfo, CalendarInfo, CalendarInput, CreatedToken, EditScope, EventInfo, EventInput,
    EventPage, ImportReport, OccurrenceInfo, ScheduleBody, ScheduleInfo, TokenInfo, UserProfile,
};
use app::server::outbox::OutboxEmail;
use app::ssr::accounts::{self, UserRow};
use app::ssr::session_store::USER_ID_KEY;
use app::ssr::{
    AppState, audit, bookings, calendars, changes, events, grants, ical, mail, rate_limit, scheduling, search, tokens,
};
use calento::scope::Scopes;

/// The user a request to the API acts for.
#[derive(Clone)]
pub struct ApiUser(pub UserRow);

/// What the request's credential may do (every scope for a browser session).
#[derive(Clone, Copy)]
pub struct ApiScopes(pub Scopes);

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/changes", get(changes))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/calendars", get(list_calendars).post(create_calendar))
        .route("/calendars/{id}", get(get_calendar).patch(update_calendar).delete(delete_calendar))
        .route("/calendars/{id}/feed", post(publish_feed).delete(revoke_feed))
        .route("/calendars/{id}/import", post(import_calendar))
        .route("/calendars/{id}/export.ics", get(export_calendar))
        .route("/calendars/{id}/refresh", post(refresh_calendar))
        .route("/events", get(search_events).post(create_event))
        .route("/events/{id}", get(get_event).patch(update_event).delete(delete_event))
        .route("/occurrences", get(occurrences))
        .route("/freebusy", get(freebusy))
        .route("/availability/schedules", get(list_schedules).post(create_schedule))
        .route("/availability/schedules/{id}", get(get_schedule).patch(update_schedule).delete(delete_schedule))
        .route("/booking-links", get(list_links).post(create_link))
        .route("/booking-links/{id}", get(get_link).patch(update_link).delete(delete_link))
        .route("/bookings", get(list_bookings))
        .route("/bookings/{id}", get(get_booking))
        .route("/bookings/{id}/cancel", post(cancel_booking))
        .route("/bookings/{id}/reschedule", post(reschedule_booking))
        .route("/bookings/{id}/approve", post(approve_booking))
        .route("/bookings/{id}/decline", post(decline_booking))
        .route("/outbox", get(outbox))
        .merge(crate::tasks::routes())
        .merge(crate::auth::account_router())
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn_with_state(state, authenticate))
}

/// The bearer token of an `Authorization` header: `Some(None)` when the header is there
/// but is not a bearer token of a sane size.
pub fn bearer(headers: &header::HeaderMap) -> Option<Option<String>> {
    headers.get(header::AUTHORIZATION).map(|value| {
        value
            .to_str()
            .ok()
            .and_then(|v| v.get(..7).filter(|p| p.eq_ignore_ascii_case("bearer ")).map(|_| &v[7..]))
            .map(str::trim)
            .filter(|token| !token.is_empty() && token.len() <= 512)
            .map(str::to_owned)
    })
}

/// Every route, known or not, needs a valid bearer token or a signed-in session; a
/// presented but invalid token is refused even when a session cookie is also present.
/// Then the token must carry the route's scope (403 otherwise), and its request budget
/// must not be spent (429).
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    let credential = match bearer(request.headers()) {
        Some(Some(token)) if token.starts_with(grants::ACCESS_PREFIX) => grants::authenticate(&state.db, &token).await,
        Some(Some(token)) => tokens::authenticate(&state.db, &token).await,
        Some(None) => Ok(None),
        None => match session {
            Some(session) => {
                Ok(session.get::<String>(USER_ID_KEY).await.ok().flatten().map(|user_id| tokens::Credential {
                    budget_key: format!("user:{user_id}"),
                    user_id,
                    scopes: Scopes::all(),
                    personal: true,
                }))
            }
            None => Ok(None),
        },
    };
    let credential = match credential {
        Ok(credential) => credential,
        Err(error) => return error.into_response(),
    };
    let user = match &credential {
        Some(credential) => match accounts::find_by_id(&state.db, &credential.user_id).await {
            Ok(user) => user.filter(|u| u.disabled_at.is_none()),
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    let (Some(user), Some(credential)) = (user, credential) else {
        let mut response = AppError::Unauthorized.into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    };
    let refused = match crate::auth::need(request.method(), request.uri().path()) {
        crate::auth::Need::Any => None,
        crate::auth::Need::Account if credential.personal => None,
        crate::auth::Need::Account => {
            Some("App tokens cannot manage the account; use a personal token or sign in.".to_owned())
        }
        crate::auth::Need::Scope(area, access) if credential.scopes.allows(area, access) => None,
        crate::auth::Need::Scope(area, access) => {
            Some(format!("This token lacks the {}:{} scope.", area.as_str(), access.as_str()))
        }
    };
    if let Some(message) = refused {
        let mut response = AppError::forbidden(message).into_response();
        if let Ok(value) = header::HeaderValue::from_str("Bearer error=\"insufficient_scope\"") {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        return response;
    }
    if let Err(error) = rate_limit::hit(&state.db, "api", &credential.budget_key, state.rate_limits.api).await {
        return error.into_response();
    }
    request.extensions_mut().insert(ApiUser(user));
    request.extensions_mut().insert(ApiScopes(credential.scopes));
    next.run(request).await
}

async fn me(Extension(ApiUser(user)): Extension<ApiUser>) -> Json<UserProfile> {
    Json(user.profile())
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
    Extension(ApiScopes(scopes)): Extension<ApiScopes>,
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
    let kinds = changes::Kind::visible_with(scopes);
    changes::read(&state.db, &user.id, query.since.as_deref(), limit, &kinds).await.map(Json)
}

async fn list_tokens(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<TokenInfo>>, AppError> {
    tokens::list(&state.db, &user.id).await.map(Json)
}

/// The user's emails (sent, failed, or waiting: all of them when no SMTP is configured),
/// newest first.
async fn outbox(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<OutboxEmail>>, AppError> {
    mail::list_for_user(&state.db, &user.id).await.map(Json)
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
    /// Space-separated scopes; every scope when absent.
    #[serde(default)]
    scopes: Option<String>,
}

async fn create_token(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    crate::auth::ClientOrigin(origin): crate::auth::ClientOrigin,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    let scopes = match body.scopes.as_deref() {
        Some(text) => Scopes::parse(text)?,
        None => Scopes::all(),
    };
    let created = tokens::create_scoped(&state.db, &user.id, &body.name, scopes).await?;
    let detail = format!("{} ({})", created.info.name, created.info.scopes);
    audit::record(&state.db, Some(&user.id), None, audit::event::TOKEN_CREATED, &detail, &origin).await;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    crate::auth::ClientOrigin(origin): crate::auth::ClientOrigin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let name = tokens::name_of(&state.db, &user.id, &id).await.unwrap_or_default();
    tokens::revoke(&state.db, &user.id, &id).await?;
    audit::record(&state.db, Some(&user.id), None, audit::event::TOKEN_REVOKED, &name, &origin).await;
    Ok(StatusCode::NO_CONTENT)
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
        return Err(AppError::bad_request("This calendar is a subscription; import into one of your own calendars."));
    }
    Ok(Json(ical::import(&state.db, &calendar, &body).await?))
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
    if !calendar.read_only() {
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

async fn create_event(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(body): ApiJson<EventInput>,
) -> Result<(StatusCode, Json<EventInfo>), AppError> {
    let event = events::create(&state.db, &user.id, body).await?;
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
#[derive(Deserialize, Default)]
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
    Query(query): Query<ScopeQuery>,
    ApiJson(patch): ApiJson<Value>,
) -> Result<Json<EventInfo>, AppError> {
    let event =
        events::update(&state.db, &user.id, &id, &patch, query.scope()?, query.recurrence_id.as_deref()).await?;
    Ok(Json(event))
}

async fn delete_event(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<StatusCode, AppError> {
    events::delete(&state.db, &user.id, &id, query.scope()?, query.recurrence_id.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct WindowQuery {
    from: Option<String>,
    to: Option<String>,
    calendar_id: Option<String>,
}

/// An instant in a query: RFC 3339, or a date or wall-clock time taken as UTC.
pub fn query_instant(field: &str, value: Option<&str>) -> Result<chrono::NaiveDateTime, AppError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| {
        AppError::field(calento::FieldError::new(field, format!("Give {field} as a time like 2024-06-01T00:00:00Z.")))
    })?;
    let parsed = chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.naive_utc())
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").ok())
        .or_else(|| chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)));
    parsed.ok_or_else(|| {
        AppError::field(calento::FieldError::new(field, format!("{field} must be a time like 2024-06-01T00:00:00Z.")))
    })
}

async fn occurrences(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Query(query): Query<WindowQuery>,
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
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<BookingLinkInfo>), AppError> {
    let info = scheduling::create_link(&state.db, &user.id, &user.username, &user.time_zone, body).await?;
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
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<BookingLinkInfo>, AppError> {
    scheduling::update_link(&state.db, &user.id, &user.username, &user.time_zone, &id, body).await.map(Json)
}

async fn delete_link(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    scheduling::delete_link(&state.db, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct BookingsQuery {
    status: Option<String>,
}

async fn list_bookings(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Query(query): Query<BookingsQuery>,
) -> Result<Json<Vec<BookingInfo>>, AppError> {
    bookings::list(&state.db, &user.id, query.status.as_deref()).await.map(Json)
}

async fn get_booking(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<BookingInfo>, AppError> {
    Ok(Json(bookings::find(&state.db, &user.id, &id).await?.info()))
}

#[derive(Deserialize, Default)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize)]
pub struct RescheduleBody {
    pub start: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// An optional JSON body: none at all is the same as `{}`.
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: serde::de::DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
            || (!request.headers().contains_key(header::CONTENT_TYPE)
                && !request.headers().contains_key(header::CONTENT_LENGTH)
                && !request.headers().contains_key(header::TRANSFER_ENCODING));
        if empty {
            return Ok(Self(T::default()));
        }
        ApiJson::<T>::from_request(request, state).await.map(|ApiJson(value)| Self(value))
    }
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

#[derive(serde::Serialize)]
struct BusyInterval {
    start: String,
    end: String,
}

/// The signed-in user's merged busy time in `[from, to)`.
async fn freebusy(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Query(query): Query<WindowQuery>,
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

/// JSON bodies with the API's error shapes: malformed JSON is 400, well-formed JSON of the
/// wrong shape is 422, a missing content type 415, an oversized body 413.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

pub fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(serde_json::json!({ "code": code, "message": message }))).into_response()
}

fn json_rejection(rejection: JsonRejection) -> Response {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            AppError::Invalid { message: e.body_text(), fields: Vec::new() }.into_response()
        }
        JsonRejection::JsonSyntaxError(e) => error_body(StatusCode::BAD_REQUEST, "malformed_json", &e.body_text()),
        JsonRejection::MissingJsonContentType(_) => error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with Content-Type: application/json.",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            error_body(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large.")
        }
        other => error_body(StatusCode::BAD_REQUEST, "bad_request", &other.body_text()),
    }
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
    match ical::import(&state.db, &calendar, &bytes).await {
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
