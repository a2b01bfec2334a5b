//! The signed-in account as any credential sees it: `GET /me`.
use axum::{Extension, Json};

use app::models::UserProfile;

use super::{ApiUser, Guard, Routes};

pub fn routes() -> Routes {
    Routes::new(Guard::Signed).get("/me", me)
}

async fn me(Extension(ApiUser(user)): Extension<ApiUser>) -> Json<UserProfile> {
    Json(user.profile())
}
