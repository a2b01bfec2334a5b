//! Calendars and events: what the calendar pages and the API show and take.

use calento::{ClockFormat, WeekStart};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A calendar as listed and edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
    /// Minutes before the start: the reminders of events made here without their own.
    #[serde(default)]
    pub default_reminders: Vec<u32>,
}

/// Fields of a calendar to create or change; absent fields keep their value (or default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Work", "color": "#1a73e8", "time_zone": "Europe/Paris"})))]
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
    /// Minutes before the start, for events made in this calendar without reminders.
    #[serde(default)]
    pub default_reminders: Option<Vec<u32>>,
}

/// A deleted event: its title, and the token that puts it back ("Undo"; empty when it
/// cannot be undone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Deleted {
    pub title: String,
    pub undo: String,
}

/// An event or series as stored: times as written, plus the rule and its summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"title": "Dentist", "start": "2030-03-01T09:00:00", "end": "2030-03-01T10:00:00", "time_zone": "Europe/Paris", "location": "Rue de Rivoli 1", "reminders": [30]})))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub imported: usize,
    pub updated: usize,
    pub skipped: Vec<SkippedItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SkippedItem {
    pub uid: Option<String>,
    pub line: usize,
    pub reason: String,
}

/// An occurrence placed in the viewer's zone, ready for a view to lay out: only what the
/// views and the event dialog read of it (the dialog loads the event itself).
///
/// A week of 500 events carries 500 of these to the browser in the page's hydration data,
/// so on the wire an item is a positional array with the flags in one number and the
/// wall-clock times as milliseconds (about 150 bytes; the named fields of the
/// `OccurrenceInfo` it is made from were about 500, escaped again inside the page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewItem {
    pub event_id: String,
    pub recurrence_id: Option<String>,
    pub summary: String,
    pub color: String,
    pub location: String,
    /// Start and end as UTC milliseconds (floating and all-day pinned to UTC).
    pub start_ms: i64,
    pub end_ms: i64,
    pub all_day: bool,
    pub recurring: bool,
    pub read_only: bool,
    pub status: calento::event::EventStatus,
    /// Wall-clock start and end in the viewer's zone (all-day: midnights of the dates).
    pub local_start: chrono::NaiveDateTime,
    pub local_end: chrono::NaiveDateTime,
    /// Whether it blocks time (a busy calendar, not marked free, not cancelled).
    pub busy: bool,
}

impl ViewItem {
    /// Places an occurrence at its wall-clock times in the viewer's zone.
    pub fn new(
        occurrence: OccurrenceInfo,
        local_start: chrono::NaiveDateTime,
        local_end: chrono::NaiveDateTime,
        busy: bool,
    ) -> Self {
        let OccurrenceInfo {
            event_id,
            recurrence_id,
            summary,
            color,
            location,
            start_ms,
            end_ms,
            all_day,
            recurring,
            read_only,
            status,
            ..
        } = occurrence;
        Self {
            event_id,
            recurrence_id,
            summary,
            color,
            location,
            start_ms,
            end_ms,
            all_day,
            recurring,
            read_only,
            status,
            local_start,
            local_end,
            busy,
        }
    }
}

/// `ViewItem` on the wire: `[event_id, recurrence_id, summary, color, location, start_ms,
/// end_ms, local_start_ms, local_end_ms, status, flags]`, flags being all-day 1, repeating
/// 2, read-only 4, busy 8.
type ViewItemWire =
    (String, Option<String>, String, String, String, i64, i64, i64, i64, calento::event::EventStatus, u8);

impl Serialize for ViewItem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let flags = u8::from(self.all_day)
            | u8::from(self.recurring) << 1
            | u8::from(self.read_only) << 2
            | u8::from(self.busy) << 3;
        (
            &self.event_id,
            &self.recurrence_id,
            &self.summary,
            &self.color,
            &self.location,
            self.start_ms,
            self.end_ms,
            self.local_start.and_utc().timestamp_millis(),
            self.local_end.and_utc().timestamp_millis(),
            self.status,
            flags,
        )
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ViewItem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (
            event_id,
            recurrence_id,
            summary,
            color,
            location,
            start_ms,
            end_ms,
            local_start,
            local_end,
            status,
            flags,
        ) = ViewItemWire::deserialize(deserializer)?;
        let local = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.naive_utc())
                .ok_or_else(|| serde::de::Error::custom("a view item's time is out of range"))
        };
        Ok(Self {
            event_id,
            recurrence_id,
            summary,
            color,
            location,
            start_ms,
            end_ms,
            all_day: flags & 1 != 0,
            recurring: flags & 2 != 0,
            read_only: flags & 4 != 0,
            status,
            local_start: local(local_start)?,
            local_end: local(local_end)?,
            busy: flags & 8 != 0,
        })
    }
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub items: Vec<EventInfo>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// A change to an event: the API's JSON merge patch reads into it, and the pages build it.
/// A field given replaces the stored one; `null` clears an optional field (colour, zone,
/// repeat rule) and empties a text or a list; absent keeps it. Times are written as in
/// [`EventInput`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventPatch {
    /// Moves the event (with its exceptions) to another of the user's calendars.
    #[serde(default)]
    pub calendar_id: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub url: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub status: Option<Option<calento::event::EventStatus>>,
    #[serde(default, deserialize_with = "super::present")]
    pub transparency: Option<Option<calento::event::Transparency>>,
    #[serde(default, deserialize_with = "super::present")]
    pub color: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub tags: Option<Option<Vec<String>>>,
    /// Minutes before the start.
    #[serde(default, deserialize_with = "super::present")]
    pub reminders: Option<Option<Vec<u32>>>,
    #[serde(default, deserialize_with = "super::present")]
    pub attendees: Option<Option<Vec<calento::event::Attendee>>>,
    #[serde(default, deserialize_with = "super::present")]
    pub start: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub end: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub all_day: Option<Option<bool>>,
    #[serde(default, deserialize_with = "super::present")]
    pub time_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub rrule: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub exdates: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "super::present")]
    pub rdates: Option<Option<Vec<String>>>,
}

impl EventPatch {
    /// `base` with the patch's fields in place.
    pub fn apply(&self, base: &EventInput) -> EventInput {
        fn set<T: Clone + Default>(target: &mut T, field: &Option<Option<T>>) {
            if let Some(value) = field {
                *target = value.clone().unwrap_or_default();
            }
        }
        let mut out = base.clone();
        if let Some(calendar) = &self.calendar_id {
            out.calendar_id = Some(calendar.clone());
        }
        let d = &mut out.details;
        set(&mut d.title, &self.title);
        set(&mut d.description, &self.description);
        set(&mut d.location, &self.location);
        set(&mut d.url, &self.url);
        set(&mut d.status, &self.status);
        set(&mut d.transparency, &self.transparency);
        set(&mut d.tags, &self.tags);
        set(&mut d.reminders, &self.reminders);
        set(&mut d.attendees, &self.attendees);
        if let Some(color) = &self.color {
            d.color = color.clone();
        }
        let t = &mut out.times;
        set(&mut t.start, &self.start);
        set(&mut t.end, &self.end);
        set(&mut t.all_day, &self.all_day);
        set(&mut t.exdates, &self.exdates);
        set(&mut t.rdates, &self.rdates);
        if let Some(zone) = &self.time_zone {
            t.time_zone = zone.clone();
        }
        if let Some(rule) = &self.rrule {
            t.rrule = rule.clone();
        }
        out
    }

    /// Whether the patch moves the event in time (its start or end).
    pub fn touches_times(&self) -> bool {
        self.start.is_some() || self.end.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_item_crosses_the_wire_whole_and_small() {
        let at = |t: &str| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").unwrap();
        for (all_day, recurring, read_only, busy) in [(false, false, false, true), (true, true, true, false)] {
            let item = ViewItem {
                event_id: "0193a5f2-0000-7000-8000-000000000001".into(),
                recurrence_id: recurring.then(|| "20300114T090000Z".into()),
                summary: "Tom & \"Jerry\" <3".into(),
                color: "#336699".into(),
                location: "Room 4".into(),
                start_ms: 1_894_600_800_000,
                end_ms: 1_894_604_400_000,
                all_day,
                recurring,
                read_only,
                status: calento::event::EventStatus::Tentative,
                local_start: at("2030-01-14T09:00:00.250"),
                local_end: at("2030-01-14T10:00:00"),
                busy,
            };
            let json = serde_json::to_string(&item).unwrap();
            assert!(json.len() < 170, "{} bytes: {json}", json.len());
            assert_eq!(serde_json::from_str::<ViewItem>(&json).unwrap(), item);
        }
        assert!(
            serde_json::from_str::<ViewItem>(r#"["a",null,"s","c","l",0,0,9223372036854775807,0,"confirmed",0]"#)
                .is_err()
        );
    }

    fn base() -> EventInput {
        let mut input = EventInput::default();
        input.details.title = "Standup".into();
        input.details.color = Some("#336699".into());
        input.details.tags = vec!["work".into()];
        input.times.start = "2030-01-07T09:00".into();
        input.times.end = "2030-01-07T09:15".into();
        input.times.rrule = Some("FREQ=DAILY".into());
        input
    }

    #[test]
    fn a_patch_changes_what_it_names_clears_with_null_and_keeps_the_rest() {
        let patch: EventPatch =
            serde_json::from_str(r#"{"title": "Sync", "color": null, "rrule": null, "tags": null}"#).expect("reads");
        let out = patch.apply(&base());
        assert_eq!(out.details.title, "Sync");
        assert_eq!(out.details.color, None, "null clears an optional field");
        assert_eq!(out.times.rrule, None);
        assert!(out.details.tags.is_empty(), "null empties a list");
        assert_eq!(out.times.start, "2030-01-07T09:00", "absent keeps");
        assert!(!patch.touches_times());
        let moved: EventPatch = serde_json::from_str(r#"{"start": "2030-01-07T10:00"}"#).expect("reads");
        assert!(moved.touches_times());
        assert_eq!(moved.apply(&base()).details.color.as_deref(), Some("#336699"));
    }

    #[test]
    fn a_misspelt_value_is_refused_not_ignored() {
        assert!(serde_json::from_str::<EventPatch>(r#"{"status": "maybe"}"#).is_err());
        assert!(serde_json::from_str::<EventPatch>(r#"{"reminders": "ten"}"#).is_err());
    }
}
