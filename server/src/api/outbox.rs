//! The account's emails (`GET /outbox`): sent, failed or waiting (all of them when no SMTP
//! server is configured).
use axum::extract::State;
use axum::{Extension, Json};

use app::AppError;
use app::ssr::AppState;

use super::{ApiUser, Guard, Routes};
use app::models::OutboxEmail;
use app::ssr::mail;

pub fn routes() -> Routes {
    Routes::new(Guard::Account).get("/outbox", outbox)
}

/// The user's emails (sent, failed, or waiting: all of them when no SMTP is configured),
/// newest first.
async fn outbox(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<OutboxEmail>>, AppError> {
    mail::list_for_user(&state.db, &user.id).await.map(Json)
}
