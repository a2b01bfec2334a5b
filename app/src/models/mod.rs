//! Types shared by the server and the browser: what pages and the API show and take, one
//! file per area. Storage (`crate::ssr`) and the server functions (`crate::server`) both use
//! them; they use neither.

mod account;
mod calendar;
mod connections;
mod scheduling;
mod tasks;

pub use account::*;
pub use calendar::*;
pub use connections::*;
pub use scheduling::*;
pub use tasks::*;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// In a patch, `null` and absent differ: `null` clears (`Some(None)`), absent keeps (`None`).
/// Every patch type reads its clearable fields through this one function.
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One entry of the change feed (`GET /api/v1/changes`): what changed, not its content
/// (a client reads the object again, or drops it when `op` is `deleted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangeInfo {
    /// Where a client resumes to read the changes after this one.
    pub cursor: String,
    /// `event`, `calendar`, `booking`, `booking_link`, `schedule`, `task`, `zone`,
    /// `focus_session`, `distraction`, `energy`, `reward`, `daily_plan`, `task_settings` or `profile`.
    pub kind: String,
    pub id: String,
    /// `created`, `updated` or `deleted`.
    pub op: String,
    /// The calendar of an event (or the calendar itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// A page of the change feed: the changes in order, the cursor to ask from next, and
/// whether more are waiting already.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangePage {
    pub changes: Vec<ChangeInfo>,
    pub cursor: String,
    pub more: bool,
}
