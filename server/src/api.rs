//! The REST API under `/api/v1`: JSON in and out, a bearer token or the session cookie.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use tower_sessions::Session;

use app::AppError;
use app::models::{CreatedToken, TokenInfo, UserProfile};
use app::ssr::accounts::{self, UserRow};
use app::ssr::session_store::USER_ID_KEY;
use app::ssr::{AppState, tokens};

/// The user a request to the API acts for.
#[derive(Clone)]
pub struct ApiUser(pub UserRow);

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn_with_state(state, authenticate))
}

/// Every route, known or not, needs a valid bearer token or a signed-in session; a
/// presented but invalid token is refused even when a session cookie is also present.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    let bearer = request.headers().get(header::AUTHORIZATION).map(|value| {
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|token| token.trim().to_owned())
    });
    let user_id = match bearer {
        Some(Some(token)) => match tokens::authenticate(&state.db, &token).await {
            Ok(found) => found,
            Err(error) => return error.into_response(),
        },
        Some(None) => None,
        None => match session {
            Some(session) => session.get::<String>(USER_ID_KEY).await.ok().flatten(),
            None => None,
        },
    };
    let user = match user_id {
        Some(id) => match accounts::find_by_id(&state.db, &id).await {
            Ok(user) => user,
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    match user {
        Some(user) => {
            request.extensions_mut().insert(ApiUser(user));
            next.run(request).await
        }
        None => {
            let mut response = AppError::Unauthorized.into_response();
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            response
        }
    }
}

async fn me(Extension(ApiUser(user)): Extension<ApiUser>) -> Json<UserProfile> {
    Json(user.profile())
}

async fn list_tokens(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<TokenInfo>>, AppError> {
    tokens::list(&state.db, &user.id).await.map(Json)
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
}

async fn create_token(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    let created = tokens::create(&state.db, &user.id, &body.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    tokens::revoke(&state.db, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
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
