//! Settings → Connected accounts: Google (and later Notion) accounts, how each calendar
//! syncs, "sync now", disconnecting, and the questions sync asks.

use leptos::prelude::*;

use crate::AppError;
use crate::models::ConnectionsPage;
#[cfg(feature = "ssr")]
use {super::request, crate::ssr::connections};

/// The sync page: connected accounts with their calendars, and recent conflicts.
#[server(prefix = "/fn", endpoint = "load_connections")]
pub async fn load_connections() -> Result<ConnectionsPage, AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    connections::page(&state.db, &user.id, (state.google_connect, state.notion_connect), user.is_admin == 1).await
}

/// How a remote calendar syncs: `off`, `busy` or `two_way` (with `calendar_id`, one of the
/// person's calendars, or `new` for a new one).
#[server(prefix = "/fn", endpoint = "set_sync_mode")]
pub async fn set_sync_mode(
    remote_calendar_id: String,
    mode: String,
    #[server(default)] calendar_id: String,
) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let chosen = Some(calendar_id.as_str()).filter(|c| !c.is_empty() && *c != "new");
    connections::set_mode(&request::state()?.db, &user.id, &remote_calendar_id, &mode, chosen).await.map(|_| ())
}

/// Where new bookings go (`none`: nowhere) and whether Google emails the guests.
#[server(prefix = "/fn", endpoint = "set_connection_options")]
pub async fn set_connection_options(
    connection_id: String,
    #[server(default)] write_calendar: String,
    #[server(default)] send_updates: Option<String>,
) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let target = Some(write_calendar.as_str()).filter(|c| !c.is_empty() && *c != "none");
    let send = send_updates.as_deref().is_some_and(|v| !v.is_empty() && v != "false");
    connections::set_options(&request::state()?.db, &user.id, &connection_id, target, send).await.map(|_| ())
}

/// "Sync now".
#[server(prefix = "/fn", endpoint = "sync_connection_now")]
pub async fn sync_connection_now(connection_id: String) -> Result<(), AppError> {
    let user = request::require_user().await?;
    connections::sync_now(&request::state()?.db, &user.id, &connection_id).await
}

/// Disconnects an account (its grant is revoked at the service); with `remove_events` the
/// calendars kept for it go too.
#[server(prefix = "/fn", endpoint = "disconnect_connection")]
pub async fn disconnect_connection(
    connection_id: String,
    #[server(default)] remove_events: Option<String>,
) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let remove = remove_events.as_deref().is_some_and(|v| !v.is_empty() && v != "false");
    connections::disconnect(&request::state()?.db, &user.id, &connection_id, remove).await
}

/// Answers a question of sync: `cancel` the booking whose event was deleted at the other
/// side (the invitee is told), or `keep` it (the event is put back there).
#[server(prefix = "/fn", endpoint = "answer_sync_question")]
pub async fn answer_sync_question(conflict_id: String, answer: String) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    if answer != "cancel" && answer != "keep" {
        return Err(AppError::field(calento::FieldError::new("answer", "Choose cancel or keep.")));
    }
    let (booking_id, _) = connections::resolve_question(&state.db, &user.id, &conflict_id, answer == "keep").await?;
    if answer == "cancel"
        && let Some(id) = booking_id
    {
        let row = crate::ssr::bookings::find(&state.db, &user.id, &id).await?;
        crate::ssr::bookings::cancel(
            &state.db,
            &row,
            crate::ssr::bookings::Actor::Host,
            Some("The event was deleted from the host's calendar."),
            &state.public_url,
        )
        .await?;
    }
    Ok(())
}

/// A Notion database's property mapping, as the form on the sync page sends it (empty:
/// not synced).
#[server(prefix = "/fn", endpoint = "set_notion_mapping")]
#[allow(clippy::too_many_arguments)]
pub async fn set_notion_mapping(
    remote_calendar_id: String,
    title: String,
    #[server(default)] status: String,
    #[server(default)] done_value: String,
    #[server(default)] open_value: String,
    #[server(default)] do_date: String,
    #[server(default)] due: String,
    #[server(default)] priority: String,
    #[server(default)] tags: String,
    #[server(default)] estimate: String,
    #[server(default)] parent: String,
) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let some = |v: String| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let mapping = connections::TaskMapping {
        title: title.trim().to_owned(),
        status: some(status),
        done_value: some(done_value),
        open_value: some(open_value),
        do_date: some(do_date),
        due: some(due),
        priority: some(priority),
        tags: some(tags),
        estimate: some(estimate),
        parent: some(parent),
    };
    connections::set_mapping(&request::state()?.db, &user.id, &remote_calendar_id, &mapping).await.map(|_| ())
}
