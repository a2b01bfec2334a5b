//! The email outbox: every email Calento sent or would send for the signed-in user.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppError;
#[cfg(feature = "ssr")]
use {super::request, crate::ssr::mail};

/// One email as the outbox page and `GET /api/v1/outbox` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEmail {
    pub id: String,
    pub booking_id: Option<String>,
    /// What it is about, e.g. `booking_confirmation`, `booking_cancelled`.
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    /// `pending` (not sent yet, or no SMTP server configured), `sent` or `failed`.
    pub status: String,
    /// The last delivery error, if any.
    pub error: Option<String>,
    pub text_body: String,
    /// Whether it carries an invitation (`.ics`).
    pub has_invitation: bool,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The signed-in user's emails, newest first.
#[server(prefix = "/fn", endpoint = "list_outbox")]
pub async fn list_outbox() -> Result<Vec<OutboxEmail>, AppError> {
    let user = request::require_user().await?;
    mail::list_for_user(&request::state()?.db, &user.id).await
}
