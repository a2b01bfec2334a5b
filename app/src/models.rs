//! Types shared by the server and the browser: what pages and the API show.

use calento::{ClockFormat, WeekStart};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The signed-in person, as `GET /api/v1/me` and the settings page show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    pub id: String,
    pub email: String,
    pub username: String,
    pub name: String,
    pub time_zone: String,
    pub week_start: WeekStart,
    pub clock: ClockFormat,
}

/// A personal access token as listed: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

/// Light, dark, or whatever the system prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const COOKIE: &'static str = "calento_theme";

    pub fn parse(input: &str) -> Self {
        match input {
            "light" => Self::Light,
            "dark" => Self::Dark,
            _ => Self::System,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    /// The next theme when the toggle is pressed.
    pub fn next(self) -> Self {
        match self {
            Self::System => Self::Light,
            Self::Light => Self::Dark,
            Self::Dark => Self::System,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::System => "Theme: system",
            Self::Light => "Theme: light",
            Self::Dark => "Theme: dark",
        }
    }

    /// Reads the theme from a `Cookie` header value.
    pub fn from_cookie_header(header: &str) -> Self {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == Self::COOKIE)
            .map(|(_, value)| Self::parse(value))
            .unwrap_or_default()
    }
}

/// A calendar as listed and edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarInfo {
    pub id: String,
    pub name: String,
    pub color: String,
    pub time_zone: String,
    pub counts_as_busy: bool,
    pub visible: bool,
    pub is_default: bool,
    /// A subscription to an external ICS URL: its events are read-only.
    pub source_url: Option<String>,
    pub poll_minutes: Option<i64>,
    pub polled_at: Option<DateTime<Utc>>,
    pub poll_error: Option<String>,
    /// Whether a private feed URL is published (the URL itself is shown once, at creation).
    pub has_feed: bool,
    pub created_at: DateTime<Utc>,
}

/// Fields of a calendar to create or change; absent fields keep their value (or default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub counts_as_busy: Option<bool>,
    #[serde(default)]
    pub visible: Option<bool>,
    /// Subscribe to this ICS URL (only when creating).
    #[serde(default)]
    pub source_url: Option<String>,
    #[serde(default)]
    pub poll_minutes: Option<i64>,
}

/// An event or series as stored: times as written, plus the rule and its summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInfo {
    pub id: String,
    pub calendar_id: String,
    pub uid: String,
    /// For an exception (one moved or changed instance): its series and original start.
    pub master_id: Option<String>,
    pub recurrence_id: Option<String>,
    #[serde(flatten)]
    pub details: calento::event::EventDetails,
    pub all_day: bool,
    /// `YYYY-MM-DD` (all-day) or wall-clock `YYYY-MM-DDTHH:MM:SS` in `time_zone`.
    pub start: String,
    pub end: String,
    /// `None` for all-day and floating times.
    pub time_zone: Option<String>,
    pub start_utc: DateTime<Utc>,
    pub end_utc: DateTime<Utc>,
    pub rrule: Option<String>,
    /// The rule in plain words, e.g. "Monthly on the second Tuesday".
    pub repeats: Option<String>,
    pub exdates: Vec<String>,
    pub rdates: Vec<String>,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a create or edit submits: the details and the times (see `calento::event`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInput {
    #[serde(default)]
    pub calendar_id: Option<String>,
    #[serde(flatten)]
    pub details: calento::event::EventDetails,
    #[serde(flatten)]
    pub times: calento::event::TimesInput,
}

/// Which instances an edit or delete of a repeating event applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EditScope {
    /// Only the instance named by `recurrence_id`.
    This,
    /// That instance and every later one (the series is split there).
    Following,
    /// The whole series.
    #[default]
    All,
}

impl EditScope {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "this" => Some(Self::This),
            "following" => Some(Self::Following),
            "all" | "" => Some(Self::All),
            _ => None,
        }
    }
}

/// One occurrence in a window, formatted as the recurrence fixtures' README says: UTC with
/// `Z` for zoned times, `YYYY-MM-DD` for all-day, wall-clock without zone for floating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceInfo {
    pub event_id: String,
    pub calendar_id: String,
    pub uid: String,
    pub recurrence_id: Option<String>,
    pub start: String,
    pub end: String,
    pub all_day: bool,
    pub summary: String,
    /// Start and end as UTC milliseconds (floating and all-day pinned to UTC), for layout.
    pub start_ms: i64,
    pub end_ms: i64,
    pub floating: bool,
    pub recurring: bool,
    pub color: String,
    pub location: String,
    pub status: calento::event::EventStatus,
    pub transparency: calento::event::Transparency,
    pub read_only: bool,
    /// Minutes before the start at which to remind.
    #[serde(default)]
    pub reminders: Vec<u32>,
}

/// A reminder that is due now: the occurrence starts within its reminder time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueReminder {
    pub event_id: String,
    pub recurrence_id: Option<String>,
    pub title: String,
    pub start_ms: i64,
    /// The start in the user's zone, e.g. "14:30" or "2:30 PM", and the date.
    pub at: String,
    pub date: chrono::NaiveDate,
}

/// What an ICS import did, event by event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub imported: usize,
    pub updated: usize,
    pub skipped: Vec<SkippedItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedItem {
    pub uid: Option<String>,
    pub line: usize,
    pub reason: String,
}

/// An occurrence placed in the viewer's zone, ready for a view to lay out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewItem {
    #[serde(flatten)]
    pub occurrence: OccurrenceInfo,
    /// Wall-clock start and end in the viewer's zone (all-day: midnights of the dates).
    pub local_start: chrono::NaiveDateTime,
    pub local_end: chrono::NaiveDateTime,
    /// Whether it blocks time (a busy calendar, not marked free, not cancelled).
    pub busy: bool,
}

/// Everything a calendar view needs: the viewer's settings, their calendars, and the
/// occurrences of the days shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarData {
    pub view: calento::calendar_view::ViewKind,
    pub date: chrono::NaiveDate,
    pub first_day: chrono::NaiveDate,
    pub end_day: chrono::NaiveDate,
    pub today: chrono::NaiveDate,
    pub now: chrono::NaiveDateTime,
    pub time_zone: String,
    pub week_start: WeekStart,
    pub clock: ClockFormat,
    pub calendars: Vec<CalendarInfo>,
    pub items: Vec<ViewItem>,
}

/// One page of events from a search or listing, and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    pub items: Vec<EventInfo>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}
