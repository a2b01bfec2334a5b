//! Extractors and answers shared by every area of the API: the user and credential a
//! request acts for, JSON bodies with the API's error shapes, optional bodies, instants in
//! queries, and where a request came from (for the audit log).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use app::AppError;
use app::ssr::AppState;
use app::ssr::accounts::UserRow;
use app::ssr::audit::Origin;
use calento::scope::Scopes;

/// The user a request to the API acts for.
#[derive(Clone)]
pub struct ApiUser(pub UserRow);

/// What the request's credential may do: its scopes (every scope for a browser session)
/// and whether it is a personal token or session (`false`: an app's token).
#[derive(Clone, Copy, Debug)]
pub struct ApiCredential {
    pub scopes: Scopes,
    pub personal: bool,
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
        let value = match Json::<serde_json::Value>::from_request(request, state).await {
            Ok(Json(value)) => value,
            Err(rejection) => return Err(json_rejection(rejection)),
        };
        // Every body the API takes is an object: serde would read a struct from an array
        // by position (`[null, null]` made a schedule).
        if !value.is_object() {
            return Err(AppError::Invalid {
                message: "The body must be a JSON object.".to_owned(),
                fields: Vec::new(),
            }
            .into_response());
        }
        serde_json::from_value(value).map(Self).map_err(|error| {
            AppError::Invalid { message: format!("Failed to deserialize the JSON body: {error}"), fields: Vec::new() }
                .into_response()
        })
    }
}

/// A query string with the API's error shapes: one that does not fit is `400` with a JSON
/// body (axum's own rejection is plain text).
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(error_body(StatusCode::BAD_REQUEST, "bad_request", &rejection.body_text())),
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
