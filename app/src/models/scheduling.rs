//! Scheduling: availability schedules, booking links, bookings and the public booking pages.

use calento::ClockFormat;
use serde::{Deserialize, Serialize};

pub use calento::availability::{OverrideInput, RangeInput, RuleInput};

/// An availability schedule: weekly ranges and date overrides in its own zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Mornings", "timezone": "America/New_York", "rules": [{"weekday": 1, "start": "09:00", "end": "12:00"}, {"weekday": 3, "start": "09:00", "end": "12:00"}]})))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LinkLocation {
    #[serde(default)]
    pub kind: LocationKind,
    /// The address, phone number, video URL or text.
    #[serde(default)]
    pub value: String,
}

impl LinkLocation {
    /// What a visitor of the booking page learns before booking: a video call's address is
    /// given to those who book (in their confirmation), as Cal.com and Calendly do, not to
    /// everyone who opens the link.
    pub fn before_booking(&self) -> Self {
        match self.kind {
            LocationKind::Video => Self { kind: LocationKind::Video, value: String::new() },
            _ => self.clone(),
        }
    }

    /// The location as one line for an event or an email.
    pub fn text(&self) -> String {
        match self.kind {
            LocationKind::None => String::new(),
            LocationKind::Video if self.value.is_empty() => "Video call".to_owned(),
            LocationKind::InPerson | LocationKind::Custom | LocationKind::Video => self.value.clone(),
            LocationKind::Phone => format!("Phone: {}", self.value),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    #[default]
    Short,
    Long,
}

/// A question the host asks on the booking form.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

/// One page of the host's bookings, and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BookingPage {
    pub items: Vec<BookingInfo>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// A booking link's settings, as the API takes and returns them (all minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BookingLinkInfo {
    pub id: String,
    /// The public page's path, `/{username}/{slug}` (with `?key=…` for a secret link).
    pub url: String,
    #[serde(flatten)]
    pub fields: BookingLinkFields,
}

/// What an invitee sees of a link: no host-only settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Answer {
    pub question_id: String,
    pub label: String,
    pub value: String,
}

/// A booking as its host (and, through the manage link, its invitee) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedBooking {
    #[serde(flatten)]
    pub booking: BookingInfo,
    /// The invitee's page for cancelling or rescheduling: `/booking/{token}`.
    pub manage_url: String,
}

/// A booking request from the public page or the API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"start": "2030-01-14T14:00:00Z", "name": "Ada Lovelace", "email": "ada@example.org", "timezone": "Europe/London"})))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DaySlots {
    pub date: chrono::NaiveDate,
    /// Slot starts, UTC milliseconds.
    pub starts: Vec<i64>,
    /// Each start as the invitee reads it (their zone and clock), and in the host's zone
    /// when that differs. Written by the server, so the page needs no zone data in the
    /// browser.
    #[serde(default)]
    pub times: Vec<String>,
    #[serde(default)]
    pub host_times: Vec<Option<String>>,
}

/// Everything the public booking page shows for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
    /// When moving a booking: the booking being moved, and when it is now as the invitee
    /// reads it ("Tuesday 15 January 2030 at 14:00").
    pub rescheduling: Option<BookingInfo>,
    #[serde(default)]
    pub rescheduling_when: Option<String>,
    /// The page's address for search engines (`{CALENTO_PUBLIC_URL}/{username}/{slug}`),
    /// when that setting is given and the page is to be indexed.
    #[serde(default)]
    pub canonical: Option<String>,
    /// Whether search engines may index the page: not a secret link's, nor a booking's move.
    #[serde(default)]
    pub indexed: bool,
}

/// What the invitee's page for one booking shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ManagePage {
    pub booking: BookingInfo,
    pub host_name: String,
    pub host_timezone: String,
    /// `/{username}/{slug}` of the link, when it still exists.
    pub link_path: Option<String>,
    /// Whether the invitee may still cancel or move it (before the host's cut-off).
    pub can_change: bool,
    pub clock: ClockFormat,
    /// When it is, as the invitee reads it, and as the host does when their zone differs.
    #[serde(default)]
    pub when: String,
    #[serde(default)]
    pub host_when: Option<String>,
}

/// A host's public page: their listed booking links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostLinks {
    pub host_name: String,
    pub username: String,
    pub links: Vec<ListedLink>,
    /// The page's address for search engines (`{CALENTO_PUBLIC_URL}/{username}`), when
    /// that setting is given.
    #[serde(default)]
    pub canonical: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ListedLink {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub durations: Vec<u32>,
}

/// A change to a booking link's settings: the API's JSON merge patch (and a new link's
/// body) reads into it, and the pages build it. A field given replaces the setting; `null`
/// clears an optional setting (a limit, a window, the reminder) and puts any other back to
/// its default; absent keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LinkPatch {
    #[serde(deserialize_with = "super::present")]
    pub slug: Option<Option<String>>,
    #[serde(deserialize_with = "super::present")]
    pub title: Option<Option<String>>,
    #[serde(deserialize_with = "super::present")]
    pub description: Option<Option<String>>,
    #[serde(deserialize_with = "super::present")]
    pub durations: Option<Option<Vec<u32>>>,
    #[serde(deserialize_with = "super::present")]
    pub schedule_id: Option<Option<String>>,
    #[serde(deserialize_with = "super::present")]
    pub location: Option<Option<LinkLocation>>,
    #[serde(deserialize_with = "super::present")]
    pub slot_interval: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub buffer_before: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub buffer_after: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub minimum_notice_minutes: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub not_same_day: Option<Option<bool>>,
    #[serde(deserialize_with = "super::present")]
    pub booking_window_days: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub window_start: Option<Option<chrono::NaiveDate>>,
    #[serde(deserialize_with = "super::present")]
    pub window_end: Option<Option<chrono::NaiveDate>>,
    #[serde(deserialize_with = "super::present")]
    pub max_per_day: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub max_per_week: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub max_minutes_per_day: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub max_minutes_per_week: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub questions: Option<Option<Vec<Question>>>,
    #[serde(deserialize_with = "super::present")]
    pub requires_approval: Option<Option<bool>>,
    #[serde(deserialize_with = "super::present")]
    pub active: Option<Option<bool>>,
    #[serde(deserialize_with = "super::present")]
    pub secret: Option<Option<bool>>,
    #[serde(deserialize_with = "super::present")]
    pub cancel_cutoff_minutes: Option<Option<u32>>,
    #[serde(deserialize_with = "super::present")]
    pub reminder_hours: Option<Option<u32>>,
}

impl LinkPatch {
    /// `base` with the patch's settings in place.
    pub fn apply(&self, base: &BookingLinkFields) -> BookingLinkFields {
        let defaults = BookingLinkFields::default();
        let mut out = base.clone();
        // A setting every link has: `null` puts the default back.
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(value) = &self.$field {
                    out.$field = value.clone().unwrap_or_else(|| defaults.$field.clone());
                }
            )*};
        }
        // An optional setting: `null` clears it.
        macro_rules! clear {
            ($($field:ident),*) => {$(
                if let Some(value) = &self.$field {
                    out.$field = value.clone();
                }
            )*};
        }
        set!(slug, title, description, durations, schedule_id, location, buffer_before, buffer_after);
        set!(minimum_notice_minutes, not_same_day, questions, requires_approval, active, secret, cancel_cutoff_minutes);
        clear!(slot_interval, booking_window_days, window_start, window_end, max_per_day, max_per_week);
        clear!(max_minutes_per_day, max_minutes_per_week, reminder_hours);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_clears_an_optional_setting_and_restores_a_default_otherwise() {
        let mut base = BookingLinkFields { buffer_before: 10, max_per_day: Some(3), ..BookingLinkFields::default() };
        base.title = "Intro".into();
        let patch: LinkPatch =
            serde_json::from_str(r#"{"buffer_before": null, "max_per_day": null, "reminder_hours": null}"#)
                .expect("reads");
        let out = patch.apply(&base);
        assert_eq!(out.buffer_before, 0, "the default");
        assert_eq!(out.max_per_day, None, "cleared");
        assert_eq!(out.reminder_hours, None, "the reminder turned off");
        assert_eq!(out.title, "Intro", "absent keeps");
        let active: LinkPatch = serde_json::from_str(r#"{"active": false}"#).expect("reads");
        assert!(!active.apply(&base).active);
        assert_eq!(active.apply(&base).buffer_before, 10);
    }
}
