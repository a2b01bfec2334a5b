//! The email outbox: every email Calento sent or would send for the signed-in user.

use leptos::prelude::*;

use crate::AppError;
use crate::models::OutboxEmail;
#[cfg(feature = "ssr")]
use {super::request, crate::ssr::mail};

/// The signed-in user's emails, newest first.
#[server(prefix = "/fn", endpoint = "list_outbox")]
pub async fn list_outbox() -> Result<Vec<OutboxEmail>, AppError> {
    let user = request::require_user().await?;
    mail::list_for_user(&request::state()?.db, &user.id).await
}
