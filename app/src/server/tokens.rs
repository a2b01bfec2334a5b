//! Personal access tokens for the REST API: list, create (shown once), revoke; and app
//! passwords for calendar apps (CalDAV), the same kind of token made for one app.

use leptos::prelude::*;

use crate::AppError;
use crate::models::{CalendarAppsInfo, CreatedToken, TokenInfo};
#[cfg(feature = "ssr")]
use {super::request, crate::ssr::audit, crate::ssr::tokens};

#[server(prefix = "/fn", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, AppError> {
    let user = request::require_user().await?;
    tokens::list(&request::state()?.db, &user.id).await
}

#[server(prefix = "/fn", endpoint = "create_token")]
pub async fn create_token(name: String, #[server(default)] scopes: Option<String>) -> Result<CreatedToken, AppError> {
    let user = request::require_user().await?;
    let scopes = match scopes.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => calento::scope::Scopes::parse(text)?,
        None => calento::scope::Scopes::all(),
    };
    let db = request::state()?.db.clone();
    let created = tokens::create_scoped(&db, &user.id, &name, scopes).await?;
    let detail = format!("{} ({})", created.info.name, created.info.scopes);
    audit::record(&db, Some(&user.id), None, audit::event::TOKEN_CREATED, &detail, &request::origin().await).await;
    if request::is_plain_form_post() {
        // Without JavaScript the browser is redirected back to the page, which then shows
        // the new token once from the session.
        let session = request::session().await?;
        session.insert(NEW_TOKEN_KEY, &created).await.map_err(|e| crate::ssr::unexpected("writing the session", e))?;
    }
    Ok(created)
}

#[cfg(feature = "ssr")]
const NEW_TOKEN_KEY: &str = "new_token";

/// The token created by a form posted without JavaScript, shown once.
#[server(prefix = "/fn", endpoint = "take_new_token")]
pub async fn take_new_token() -> Result<Option<CreatedToken>, AppError> {
    // Leptos may render a page's parts twice while resolving them on the server; the
    // first take is remembered for the rest of the request so the token is not lost.
    let memo = leptos::prelude::use_context::<crate::ssr::PageMemo>();
    if let Some(taken) = memo.as_ref().and_then(|m| m.new_token()) {
        return Ok(taken);
    }
    request::require_user().await?;
    let session = request::session().await?;
    let taken: Option<CreatedToken> =
        session.remove(NEW_TOKEN_KEY).await.map_err(|e| crate::ssr::unexpected("reading the session", e))?;
    if let Some(memo) = memo {
        memo.remember_new_token(taken.clone());
    }
    Ok(taken)
}

/// Settings → Calendar apps: the address and user name to give an app, and the app
/// passwords made so far (with when each was last used).
#[server(prefix = "/fn", endpoint = "calendar_apps")]
pub async fn calendar_apps() -> Result<CalendarAppsInfo, AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    let passwords = tokens::list_for(&state.db, &user.id, tokens::APP_PASSWORD).await?;
    Ok(CalendarAppsInfo { server_url: state.public_url.clone(), login: user.email.clone(), passwords })
}

/// An app password: a personal token for one calendar app, with the calendar and tasks
/// scopes (CalDAV reads and writes both), shown once.
#[server(prefix = "/fn", endpoint = "create_app_password")]
pub async fn create_app_password(name: String) -> Result<CreatedToken, AppError> {
    let user = request::require_user().await?;
    let scopes = calento::scope::Scopes::parse("calendar:write tasks:write")?;
    let db = request::state()?.db.clone();
    let created = tokens::create_for(&db, &user.id, &name, scopes, tokens::APP_PASSWORD).await?;
    let detail = format!("{} (app password)", created.info.name);
    audit::record(&db, Some(&user.id), None, audit::event::TOKEN_CREATED, &detail, &request::origin().await).await;
    if request::is_plain_form_post() {
        let session = request::session().await?;
        session.insert(NEW_TOKEN_KEY, &created).await.map_err(|e| crate::ssr::unexpected("writing the session", e))?;
    }
    Ok(created)
}

#[server(prefix = "/fn", endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let name = tokens::name_of(&db, &user.id, &id).await.unwrap_or_default();
    tokens::revoke(&db, &user.id, &id).await?;
    audit::record(&db, Some(&user.id), None, audit::event::TOKEN_REVOKED, &name, &request::origin().await).await;
    Ok(())
}
