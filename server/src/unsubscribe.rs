//! One-click unsubscribe (RFC 8058) for the emails a person chose to get (reminders, the
//! daily agenda, the weekly review…): each email names `/unsubscribe/{token}` in
//! `List-Unsubscribe`, with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
//!
//! - `POST` turns that kind's emails off at once: what mail clients send (no cookie, no
//!   Origin), and what the confirmation page's button sends.
//! - `GET` only shows a page with that button: link scanners and previews fetch links in
//!   emails, and must not unsubscribe anyone.
//!
//! The token names the account and the kind and is signed with the instance's key, so it
//! works without signing in and cannot be made for someone else.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

use app::ssr::AppState;
use app::ssr::notify::{self, Sender};

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title} · \
         Calento</title><link rel=\"stylesheet\" href=\"/pkg/calento.css\"></head><body><main class=\"narrow\">\
         <section class=\"card\"><h1>{title}</h1>{body}</section></main></body></html>"
    );
    (status, Html(html)).into_response()
}

fn invalid() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "This link does not work",
        "<p>The unsubscribe link is incomplete or was not made by this Calento. Sign in and choose what you get \
         under <a href=\"/settings/notifications\">Settings → Notifications</a>.</p>",
    )
}

async fn read(state: &AppState, token: &str) -> Result<Option<(String, calento::notify::NotifyKind)>, Response> {
    let sender = Sender::load(&state.db, &state.public_url).await.map_err(IntoResponse::into_response)?;
    Ok(sender.read_unsubscribe_token(token))
}

/// The confirmation page.
pub async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let (_, kind) = match read(&state, &token).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid(),
        Err(response) => return response,
    };
    page(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            "<p>Stop emails for “{}”?</p><form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" \
             value=\"One-Click\"><button type=\"submit\" class=\"primary\">Unsubscribe</button></form>\
             <p class=\"hint\">Other notifications stay as they are; change them any time under Settings → \
             Notifications.</p>",
            kind.label()
        ),
    )
}

/// The one click: that kind's emails go off.
pub async fn one_click(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let (user_id, kind) = match read(&state, &token).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid(),
        Err(response) => return response,
    };
    match notify::unsubscribe(&state.db, &user_id, kind).await {
        Ok(()) => {
            tracing::info!(user = %user_id, kind = kind.as_str(), "unsubscribed by link");
            page(
                StatusCode::OK,
                "Unsubscribed",
                &format!(
                    "<p data-testid=\"unsubscribed\">You will no longer get emails for “{}”.</p><p><a \
                     href=\"/settings/notifications\">Notification settings</a></p>",
                    kind.label()
                ),
            )
        }
        // The account is gone: nothing will be sent to it anyway.
        Err(app::AppError::NotFound) => invalid(),
        Err(error) => error.into_response(),
    }
}
