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
    /// An administrator of this instance.
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub email_verified: bool,
}

/// A personal access token as listed: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Space-separated scopes, e.g. `calendar:read tasks:write`.
    #[serde(default)]
    pub scopes: String,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

/// One security event, as the audit log lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub user_id: Option<String>,
    /// The account's email (admins' view), when the account still exists.
    pub user_email: Option<String>,
    /// Done by an administrator rather than the account's owner.
    pub by_admin: bool,
    pub event: String,
    pub detail: String,
    pub ip: String,
    pub user_agent: String,
    pub at: DateTime<Utc>,
}

/// A signed-in browser session, as the sessions list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// A handle for revoking it (not the session's secret).
    pub id: String,
    /// "Firefox on Linux", from the browser's User-Agent.
    pub device: String,
    pub ip: String,
    pub signed_in_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The session this request came in.
    pub current: bool,
}

/// An app signed in with `POST /api/v1/auth/token`: one family of rotating tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppGrantInfo {
    pub id: String,
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What `POST /api/v1/auth/token` and `/auth/refresh` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub scope: String,
}

/// The account's security page: what it can sign in with and where it is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityOverview {
    pub email: String,
    pub email_verified: bool,
    pub has_password: bool,
    pub sessions: Vec<SessionInfo>,
    pub apps: Vec<AppGrantInfo>,
    pub providers: Vec<LinkedProvider>,
    /// Providers this instance offers that the account has not linked.
    pub available_providers: Vec<ProviderInfo>,
}

/// A sign-in provider linked to the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedProvider {
    pub id: String,
    pub provider: String,
    pub label: String,
    pub email: String,
    pub linked_at: DateTime<Utc>,
}

/// A sign-in provider this instance offers ("Sign in with …").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    pub id: String,
    pub label: String,
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    #[default]
    Open,
    InviteOnly,
    Closed,
}

impl RegistrationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InviteOnly => "invite_only",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "open" => Some(Self::Open),
            "invite_only" | "invite-only" | "invite" => Some(Self::InviteOnly),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// An account as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub username: String,
    pub name: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
}

/// An invite link (invite-only registration); the secret is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    pub id: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    /// Only when just created: the path to send, `/register?invite=…`.
    pub link: Option<String>,
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

// ---- Scheduling: availability schedules, booking links and bookings ----

pub use calento::availability::{OverrideInput, RangeInput, RuleInput};

/// An availability schedule: weekly ranges and date overrides in its own zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleInfo {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub rules: Vec<RuleInput>,
    pub overrides: Vec<OverrideInput>,
    pub is_default: bool,
}

/// A schedule as created (`POST`) or changed (`PATCH`: absent fields stay as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub rules: Option<Vec<RuleInput>>,
    #[serde(default)]
    pub overrides: Option<Vec<OverrideInput>>,
    #[serde(default)]
    pub is_default: Option<bool>,
}

/// Where a booked meeting happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    #[default]
    None,
    InPerson,
    Phone,
    Video,
    Custom,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LinkLocation {
    #[serde(default)]
    pub kind: LocationKind,
    /// The address, phone number, video URL or text.
    #[serde(default)]
    pub value: String,
}

impl LinkLocation {
    /// The location as one line for an event or an email.
    pub fn text(&self) -> String {
        match self.kind {
            LocationKind::None => String::new(),
            LocationKind::InPerson | LocationKind::Custom | LocationKind::Video => self.value.clone(),
            LocationKind::Phone => format!("Phone: {}", self.value),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    #[default]
    Short,
    Long,
}

/// A question the host asks on the booking form.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Question {
    /// A stable key for the answer; made from the label when absent.
    #[serde(default)]
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub kind: QuestionKind,
    #[serde(default)]
    pub required: bool,
}

/// A booking link's settings, as the API takes and returns them (all minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BookingLinkFields {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// The lengths an invitee can choose from, in minutes; the first is the default.
    pub durations: Vec<u32>,
    pub schedule_id: String,
    pub location: LinkLocation,
    /// Minutes between offered starts; absent: the chosen duration.
    pub slot_interval: Option<u32>,
    pub buffer_before: u32,
    pub buffer_after: u32,
    pub minimum_notice_minutes: u32,
    /// "Not on the same calendar day": the earliest slot is tomorrow in the schedule's zone.
    pub not_same_day: bool,
    /// A rolling window: bookable up to this many days ahead (absent: no limit).
    pub booking_window_days: Option<u32>,
    /// A fixed window instead: the first and last bookable dates (inclusive).
    pub window_start: Option<chrono::NaiveDate>,
    pub window_end: Option<chrono::NaiveDate>,
    pub max_per_day: Option<u32>,
    pub max_per_week: Option<u32>,
    pub max_minutes_per_day: Option<u32>,
    pub max_minutes_per_week: Option<u32>,
    pub questions: Vec<Question>,
    pub requires_approval: bool,
    pub active: bool,
    /// Unlisted: reachable only through its URL, which carries a secret key.
    pub secret: bool,
    /// Invitees can cancel or reschedule until this many minutes before the start.
    pub cancel_cutoff_minutes: u32,
    /// A reminder email this many hours before (absent: none).
    pub reminder_hours: Option<u32>,
}

impl Default for BookingLinkFields {
    fn default() -> Self {
        Self {
            slug: String::new(),
            title: String::new(),
            description: String::new(),
            durations: vec![30],
            schedule_id: String::new(),
            location: LinkLocation::default(),
            slot_interval: None,
            buffer_before: 0,
            buffer_after: 0,
            minimum_notice_minutes: 0,
            not_same_day: false,
            booking_window_days: None,
            window_start: None,
            window_end: None,
            max_per_day: None,
            max_per_week: None,
            max_minutes_per_day: None,
            max_minutes_per_week: None,
            questions: Vec::new(),
            requires_approval: false,
            active: true,
            secret: false,
            cancel_cutoff_minutes: 0,
            reminder_hours: Some(24),
        }
    }
}

/// A booking link as its host sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingLinkInfo {
    pub id: String,
    /// The public page's path, `/{username}/{slug}` (with `?key=…` for a secret link).
    pub url: String,
    #[serde(flatten)]
    pub fields: BookingLinkFields,
}

/// What an invitee sees of a link: no host-only settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicLink {
    pub host_name: String,
    pub username: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub durations: Vec<u32>,
    pub location: LinkLocation,
    pub questions: Vec<Question>,
    pub requires_approval: bool,
    /// The host's schedule zone, shown beside the invitee's.
    pub host_timezone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Waiting for the host's approval.
    Pending,
    Confirmed,
    Declined,
    Cancelled,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Declined => "declined",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "confirmed" => Some(Self::Confirmed),
            "declined" => Some(Self::Declined),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub question_id: String,
    pub label: String,
    pub value: String,
}

/// A booking as its host (and, through the manage link, its invitee) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingInfo {
    pub id: String,
    pub link_id: Option<String>,
    pub title: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub start: String,
    pub end: String,
    pub status: BookingStatus,
    pub name: String,
    pub email: String,
    pub timezone: String,
    pub notes: String,
    pub answers: Vec<Answer>,
    pub location: String,
    pub event_id: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
}

/// The answer to a new booking: the booking and, once only, the invitee's secret link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedBooking {
    #[serde(flatten)]
    pub booking: BookingInfo,
    /// The invitee's page for cancelling or rescheduling: `/booking/{token}`.
    pub manage_url: String,
}

/// A booking request from the public page or the API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRequest {
    /// The slot's start: an RFC 3339 instant.
    pub start: String,
    #[serde(default)]
    pub duration: Option<u32>,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub notes: Option<String>,
    /// Answers by question id.
    #[serde(default)]
    pub answers: std::collections::BTreeMap<String, String>,
    /// The invitee's IANA zone, for the emails.
    #[serde(default)]
    pub timezone: Option<String>,
    /// A honeypot: people never see or fill it; bots do.
    #[serde(default)]
    pub website: Option<String>,
}

/// The slots of one day, in the invitee's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySlots {
    pub date: chrono::NaiveDate,
    /// Slot starts, UTC milliseconds.
    pub starts: Vec<i64>,
}

/// Everything the public booking page shows for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPage {
    pub link: PublicLink,
    /// The secret key to carry in links, for a secret booking link.
    pub key: Option<String>,
    pub duration: u32,
    /// The invitee's zone the page is shown in.
    pub timezone: String,
    /// 12- or 24-hour clock.
    pub clock: ClockFormat,
    /// The first day of the month shown, and today, in the invitee's zone.
    pub month: chrono::NaiveDate,
    pub today: chrono::NaiveDate,
    /// Days of the month with at least one slot.
    pub days: Vec<DaySlots>,
    /// Whether an earlier month can still have slots (it is not before this one).
    pub has_previous: bool,
    /// When moving a booking: the booking being moved.
    pub rescheduling: Option<BookingInfo>,
}

/// What the invitee's page for one booking shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagePage {
    pub booking: BookingInfo,
    pub host_name: String,
    pub host_timezone: String,
    /// `/{username}/{slug}` of the link, when it still exists.
    pub link_path: Option<String>,
    /// Whether the invitee may still cancel or move it (before the host's cut-off).
    pub can_change: bool,
    pub clock: ClockFormat,
}

/// A host's public page: their listed booking links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLinks {
    pub host_name: String,
    pub username: String,
    pub links: Vec<ListedLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedLink {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub durations: Vec<u32>,
}

/// A background job as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminJob {
    pub id: String,
    pub kind: String,
    /// queued, running, done or dead; a queued job with attempts behind it failed and waits.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The admin page's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOverview {
    pub registration_mode: RegistrationMode,
    pub users: Vec<AdminUser>,
    pub invites: Vec<InviteInfo>,
    /// Jobs waiting for their first run.
    pub pending_jobs: usize,
    /// Jobs that failed and wait for another attempt.
    pub failed_jobs: usize,
    pub dead_jobs: usize,
    /// Failed and dead jobs, newest first.
    pub problem_jobs: Vec<AdminJob>,
}

/// "Firefox on Linux" from a User-Agent; "Unknown device" when it says nothing we know.
pub fn short_agent(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("HeadlessChrome") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        ""
    };
    let system = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        ""
    };
    match (browser, system) {
        ("", "") => "Unknown device".to_owned(),
        (b, "") => b.to_owned(),
        ("", s) => format!("A browser on {s}"),
        (b, s) => format!("{b} on {s}"),
    }
}

/// One entry of the change feed (`GET /api/v1/changes`): what changed, not its content
/// (a client reads the object again, or drops it when `op` is `deleted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ChangePage {
    pub changes: Vec<ChangeInfo>,
    pub cursor: String,
    pub more: bool,
}
