//! Server functions: the thin layer pages call. Each checks who is asking, then hands
//! over to the services in `ssr`.

// A server function takes a form's fields as its arguments (that is how forms without
// JavaScript reach it), so long forms make long argument lists, on both sides of the wire.
#![allow(clippy::too_many_arguments)]

pub mod account;
pub mod calendar;
pub mod connections;
pub mod notify;
pub mod outbox;
pub mod public;
pub mod scheduling;
pub mod security;
pub mod tasks;
pub mod tokens;

/// The server functions anyone may call without signing in (pages for visitors,
/// invitees and people who lost their password). Every other one answers 401 to a
/// request without a signed-in session before it reads its arguments; the
/// authorization matrix test (server/tests/integration/authz.rs) keeps this list honest.
pub const PUBLIC_FNS: &[&str] = &[
    "current_user",
    "register",
    "login",
    "logout",
    "set_theme",
    "public_page",
    "book_slot",
    "manage_page",
    "cancel_my_booking",
    "reschedule_my_booking",
    "host_links",
    "confirm_email",
    "request_password_reset",
    "reset_password",
    "sign_in_providers",
];

#[cfg(feature = "ssr")]
pub(crate) mod request {
    //! What a server function needs from the request it is answering.

    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use leptos::prelude::use_context;
    use tower_sessions::Session;

    use crate::AppError;
    use crate::ssr::accounts::{self, UserRow};
    use crate::ssr::audit::Origin;
    use crate::ssr::session_store::{SIGNED_IN_AT_KEY, USER_ID_KEY};
    use crate::ssr::{AppState, unexpected};

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| unexpected("server function context", "AppState missing"))
    }

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|e| unexpected("session layer", format!("{e:?}")))
    }

    /// The signed-in user, if any; a session whose user is gone counts as signed out.
    pub async fn current_user() -> Result<Option<UserRow>, AppError> {
        let state = state()?;
        let session = session().await?;
        let user_id: Option<String> =
            session.get(USER_ID_KEY).await.map_err(|e| unexpected("reading the session", e))?;
        match user_id {
            // A disabled account's sessions were ended; one in flight counts as signed out.
            Some(id) => Ok(accounts::find_by_id(&state.db, &id).await?.filter(|u| u.disabled_at.is_none())),
            None => Ok(None),
        }
    }

    pub async fn require_user() -> Result<UserRow, AppError> {
        current_user().await?.ok_or(AppError::Unauthorized)
    }

    /// The signed-in user, who must be an administrator of the instance.
    pub async fn require_admin() -> Result<UserRow, AppError> {
        let user = require_user().await?;
        if user.is_admin == 1 { Ok(user) } else { Err(AppError::forbidden("Only administrators can do this.")) }
    }

    /// Starts a signed-in session under a fresh id, so an id planted before sign-in is
    /// useless, noting the device for the sessions list, and records the sign-in.
    pub async fn sign_in(session: &Session, user: &UserRow) -> Result<(), AppError> {
        let origin = origin().await;
        crate::ssr::session_store::start_signed_in(&state()?.db, session, &user.id, "browser", &origin).await
    }

    /// When this session signed in (for re-authentication without a password).
    pub async fn signed_in_at() -> Option<i64> {
        session().await.ok()?.get::<i64>(SIGNED_IN_AT_KEY).await.ok().flatten()
    }

    /// Where the request came from, for the audit log.
    pub async fn origin() -> Origin {
        let user_agent = use_context::<http::request::Parts>()
            .and_then(|p| p.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned))
            .unwrap_or_default();
        Origin::new(client_ip().await, &user_agent)
    }

    /// The client's address: the socket peer, or the first `X-Forwarded-For` hop when
    /// the server is configured to trust its proxy.
    pub async fn client_ip() -> String {
        let trust_proxy = use_context::<AppState>().is_some_and(|s| s.trust_proxy);
        let parts = use_context::<http::request::Parts>();
        let forwarded = parts.as_ref().and_then(|p| crate::ssr::forwarded_for(&p.headers));
        match (trust_proxy, forwarded) {
            (true, Some(ip)) => ip,
            _ => leptos_axum::extract::<ConnectInfo<SocketAddr>>()
                .await
                .map(|ConnectInfo(addr)| addr.ip().to_string())
                .unwrap_or_else(|_| "unknown".to_owned()),
        }
    }

    /// Counts a request against the public booking budget of the client's address.
    pub async fn check_public_rate() -> Result<(), AppError> {
        let state = state()?;
        let ip = client_ip().await;
        crate::ssr::rate_limit::hit(&state.db, "public", &ip, state.rate_limits.public).await
    }

    /// The first language the browser asks for (`Accept-Language`), lowercased.
    pub fn preferred_language() -> Option<String> {
        let parts = use_context::<http::request::Parts>()?;
        let value = parts.headers.get(http::header::ACCEPT_LANGUAGE)?.to_str().ok()?;
        let first = value.split(',').next()?.split(';').next()?.trim().to_lowercase();
        (!first.is_empty()).then_some(first)
    }

    /// True when the browser is a phone's: it says so in the `Sec-CH-UA-Mobile` client
    /// hint (Chromium) or with "Mobi" in its user agent (everyone's convention; tablets
    /// leave it out and get the desktop's views).
    pub fn is_phone() -> bool {
        use_context::<http::request::Parts>().is_some_and(|parts| {
            let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
            header("sec-ch-ua-mobile").trim() == "?1" || header("user-agent").contains("Mobi")
        })
    }

    /// True when a browser posted a form without JavaScript (it will follow a redirect).
    pub fn is_plain_form_post() -> bool {
        use_context::<http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        })
    }

    /// A local path to go to after a form, never another site.
    pub fn local_path(next: Option<String>, default: &str) -> String {
        match next {
            Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path,
            _ => default.to_owned(),
        }
    }
}
