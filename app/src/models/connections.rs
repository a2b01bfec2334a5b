//! Connected accounts (Google Calendar, Notion): what the sync page and
//! `GET /api/v1/connections` show.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An account at another service that a person connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConnectionInfo {
    pub id: String,
    /// `google` or `notion`.
    pub provider: String,
    /// The account there (an email address, a workspace).
    pub account: String,
    /// `ok`, `reconnect` (the service refused the grant: connect again) or `disconnected`.
    pub status: String,
    /// Why the status is not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The remote calendar new bookings are written to (Google), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_calendar: Option<String>,
    /// Google emails the guests of events Calento writes.
    pub send_updates: bool,
    pub calendars: Vec<RemoteCalendarInfo>,
    pub created_at: DateTime<Utc>,
}

/// A calendar (or task database) of a connected account and how it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RemoteCalendarInfo {
    pub id: String,
    /// Its id at the service.
    pub remote_id: String,
    pub name: String,
    pub primary: bool,
    /// `off`, `busy` (its events block slots and the planner) or `two_way`.
    pub mode: String,
    /// The Calento calendar it mirrors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sync: Option<DateTime<Utc>>,
    pub created: i64,
    pub updated: i64,
    pub deleted: i64,
    /// The last sync's error, with its reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A Notion database: which property holds what (`title`, `status`, `done_value`,
    /// `open_value`, `do_date`, `due`, `priority`, `tags`, `estimate` → property name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<std::collections::BTreeMap<String, String>>,
}

/// Something sync could not decide alone, shown on the sync page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SyncConflictInfo {
    pub id: String,
    pub title: String,
    /// The field both sides changed (`summary`, `start`, …), or `deleted` for a booking's
    /// event deleted on the other side.
    pub field: String,
    /// `calento`, `remote`, or `ask` (waits for the person).
    pub kept: String,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<String>,
    pub resolved: bool,
    pub at: DateTime<Utc>,
}

/// The sync page: connections and the recent conflicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConnectionsPage {
    pub connections: Vec<ConnectionInfo>,
    pub conflicts: Vec<SyncConflictInfo>,
    /// Google can be connected (the instance has a Google client and a secret key).
    pub google_available: bool,
    /// Notion can be connected by signing in there (a public integration).
    #[serde(default)]
    pub notion_sign_in: bool,
    /// The person's own calendars (what a two-way sync can pair with): id and name.
    pub own_calendars: Vec<(String, String)>,
    /// For administrators: the verification token Notion sent to the webhook address, to
    /// paste back in Notion's integration settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notion_webhook_token: Option<String>,
}
