//! What a valid event is: its times, its repeat rule and its details, checked field by field.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::recurrence::{CalTime, ExtraDate, Length, Rule, Series, local_to_utc, utc_to_local};
use crate::zone::truncate;

pub const MAX_TITLE: usize = 500;
pub const MAX_DESCRIPTION: usize = 20_000;
pub const MAX_LOCATION: usize = 1_000;
pub const MAX_URL: usize = 2_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 50;
pub const MAX_REMINDERS: usize = 10;
/// Four weeks, in minutes.
pub const MAX_REMINDER_MINUTES: u32 = 40_320;
pub const MAX_ATTENDEES: usize = 100;
pub const MAX_EXTRA_DATES: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    #[default]
    Confirmed,
    Tentative,
    Cancelled,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Tentative => "tentative",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "confirmed" => Some(Self::Confirmed),
            "tentative" => Some(Self::Tentative),
            "cancelled" | "canceled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// Whether the event blocks time (busy) or not (free).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Transparency {
    #[default]
    Busy,
    Free,
}

impl Transparency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::Free => "free",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "busy" | "opaque" => Some(Self::Busy),
            "free" | "transparent" => Some(Self::Free),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Response {
    #[default]
    NeedsAction,
    Accepted,
    Declined,
    Tentative,
}

impl Response {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "needs_action" | "" => Some(Self::NeedsAction),
            "accepted" => Some(Self::Accepted),
            "declined" => Some(Self::Declined),
            "tentative" => Some(Self::Tentative),
            _ => None,
        }
    }

    pub fn as_ics(self) -> &'static str {
        match self {
            Self::NeedsAction => "NEEDS-ACTION",
            Self::Accepted => "ACCEPTED",
            Self::Declined => "DECLINED",
            Self::Tentative => "TENTATIVE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attendee {
    #[serde(default)]
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub response: Response,
}

/// Everything about an event except its times.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventDetails {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub status: EventStatus,
    #[serde(default)]
    pub transparency: Transparency,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub reminders: Vec<u32>,
    #[serde(default)]
    pub attendees: Vec<Attendee>,
}

impl EventDetails {
    /// Trims and checks every field; returns every problem at once.
    pub fn validate(mut self) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        self.title = self.title.trim().to_owned();
        let title_len = self.title.chars().count();
        if title_len == 0 {
            errors.push(FieldError::new("title", "Give the event a title."));
        } else if title_len > MAX_TITLE {
            errors.push(FieldError::new("title", format!("A title has at most {MAX_TITLE} characters.")));
        }
        for (field, value, max) in [
            ("description", &mut self.description, MAX_DESCRIPTION),
            ("location", &mut self.location, MAX_LOCATION),
            ("url", &mut self.url, MAX_URL),
        ] {
            *value = value.trim().to_owned();
            if value.chars().count() > max {
                errors.push(FieldError::new(field, format!("At most {max} characters.")));
            }
        }
        if !self.url.is_empty() && !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            errors.push(FieldError::new("url", "A link starts with https:// or http://."));
        }
        if let Some(color) = self.color.take() {
            let color = color.trim().to_ascii_lowercase();
            if color.is_empty() {
                self.color = None;
            } else if is_color(&color) {
                self.color = Some(color);
            } else {
                errors.push(FieldError::new("color", "A colour looks like #1a73e8."));
            }
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in &self.tags {
            let tag = tag.trim().trim_start_matches('#').to_owned();
            if tag.is_empty() {
                continue;
            }
            if tag.chars().count() > MAX_TAG {
                errors.push(FieldError::new("tags", format!("A tag has at most {MAX_TAG} characters.")));
                break;
            }
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > MAX_TAGS {
            errors.push(FieldError::new("tags", format!("At most {MAX_TAGS} tags.")));
        }
        self.tags = tags;
        self.reminders.sort_unstable();
        self.reminders.dedup();
        if self.reminders.len() > MAX_REMINDERS {
            errors.push(FieldError::new("reminders", format!("At most {MAX_REMINDERS} reminders.")));
        }
        if self.reminders.iter().any(|m| *m > MAX_REMINDER_MINUTES) {
            errors.push(FieldError::new("reminders", "A reminder can be at most 4 weeks before."));
        }
        if self.attendees.len() > MAX_ATTENDEES {
            errors.push(FieldError::new("attendees", format!("At most {MAX_ATTENDEES} attendees.")));
        }
        for attendee in &mut self.attendees {
            attendee.name = attendee.name.trim().chars().take(200).collect();
            match crate::EmailAddress::parse(&attendee.email) {
                Ok(email) => attendee.email = email.as_str().to_owned(),
                Err(_) => {
                    errors.push(FieldError::new(
                        "attendees",
                        format!("\u{201c}{}\u{201d} is not an email address.", truncate(&attendee.email, 60)),
                    ));
                    break;
                }
            }
        }
        if errors.is_empty() { Ok(self) } else { Err(errors) }
    }
}

/// Whether an occurrence starting at `start_ms` has a reminder due at `now_ms`: one of its
/// reminders (minutes before) has passed and the occurrence has not started yet.
pub fn reminder_due(start_ms: i64, reminders: &[u32], now_ms: i64) -> bool {
    now_ms < start_ms && reminders.iter().any(|m| start_ms - i64::from(*m) * 60_000 <= now_ms)
}

/// Attendees as a person types them, one per line: `Ada Lovelace <ada@example.com>` or
/// just `ada@example.com`. A response already known for an address (from `known`) is kept;
/// new addresses start as "needs action". Blank lines are ignored; validation of the
/// addresses happens in [`EventDetails::validate`].
pub fn parse_attendee_lines(text: &str, known: &[Attendee]) -> Vec<Attendee> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, email) = match (line.rfind('<'), line.ends_with('>')) {
                (Some(open), true) => {
                    (line[..open].trim().trim_matches('"').trim(), line[open + 1..line.len() - 1].trim())
                }
                _ => ("", line),
            };
            let response =
                known.iter().find(|a| a.email.eq_ignore_ascii_case(email)).map(|a| a.response).unwrap_or_default();
            Attendee { name: name.to_owned(), email: email.to_owned(), response }
        })
        .collect()
}

/// The line [`parse_attendee_lines`] reads back for one attendee.
pub fn attendee_line(attendee: &Attendee) -> String {
    if attendee.name.is_empty() { attendee.email.clone() } else { format!("{} <{}>", attendee.name, attendee.email) }
}

/// Tags as typed in one field: separated by commas, a leading `#` allowed.
pub fn parse_tag_list(text: &str) -> Vec<String> {
    text.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()
}

pub fn is_color(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// The times of an event as a person enters them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimesInput {
    /// `YYYY-MM-DD` for all-day; `YYYY-MM-DDTHH:MM[:SS]` wall-clock in `time_zone`; or an
    /// RFC 3339 instant (`…Z`, `…+02:00`), shown in `time_zone`.
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub all_day: bool,
    /// IANA zone; absent means the calendar's zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// An RRULE value, e.g. `FREQ=WEEKLY;BYDAY=MO`; empty or absent: no repeat.
    #[serde(default)]
    pub rrule: Option<String>,
    #[serde(default)]
    pub exdates: Vec<String>,
    #[serde(default)]
    pub rdates: Vec<String>,
}

/// Validated times: the series an event describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTimes {
    pub start: CalTime,
    pub end: CalTime,
    pub series: Series,
}

impl EventTimes {
    /// Checks the entered times; `default_zone` applies when none is given.
    pub fn parse(input: &TimesInput, default_zone: Tz) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let zone = match input.time_zone.as_deref().map(str::trim).filter(|z| !z.is_empty()) {
            None => default_zone,
            Some(name) => match Tz::from_str(name) {
                Ok(tz) => tz,
                Err(_) => {
                    errors.push(FieldError::new(
                        "time_zone",
                        format!(
                            "\u{201c}{}\u{201d} is not a known time zone (for example Europe/Paris).",
                            truncate(name, 64)
                        ),
                    ));
                    default_zone
                }
            },
        };
        let read = |field: &str, text: &str, errors: &mut Vec<FieldError>| -> Option<CalTime> {
            let parsed = if input.all_day { parse_date(text).map(CalTime::Date) } else { parse_zoned(text, zone) };
            if parsed.is_none() {
                let example = if input.all_day { "2024-03-14" } else { "2024-03-14T09:30" };
                errors.push(FieldError::new(
                    field,
                    format!("Enter a {} like {example}.", if input.all_day { "date" } else { "time" }),
                ));
            }
            parsed
        };
        let start = read("start", &input.start, &mut errors);
        let end = read("end", &input.end, &mut errors);
        let rule = match input.rrule.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(text) => match Rule::parse(text) {
                Ok(rule) => Some(rule),
                Err(e) => {
                    errors.push(FieldError::new("rrule", e.0));
                    None
                }
            },
        };
        let list = |field: &str, items: &[String], errors: &mut Vec<FieldError>| -> Vec<CalTime> {
            if items.len() > MAX_EXTRA_DATES {
                errors.push(FieldError::new(field, format!("At most {MAX_EXTRA_DATES} dates.")));
                return Vec::new();
            }
            let mut out = Vec::new();
            for item in items {
                let parsed = if input.all_day { parse_date(item).map(CalTime::Date) } else { parse_zoned(item, zone) };
                match parsed {
                    Some(t) => out.push(t),
                    None => {
                        errors.push(FieldError::new(
                            field,
                            format!("\u{201c}{}\u{201d} is not a date or time.", truncate(item, 40)),
                        ));
                        break;
                    }
                }
            }
            out
        };
        let exdates = list("exdates", &input.exdates, &mut errors);
        let rdates = list("rdates", &input.rdates, &mut errors);
        let (Some(start), Some(end)) = (start, end) else { return Err(errors) };
        let length = match (start, end) {
            (CalTime::Date(s), CalTime::Date(e)) => Length::Days((e - s).num_days()),
            _ => Length::Exact(end.axis() - start.axis()),
        };
        let positive = match length {
            Length::Days(n) => n > 0,
            Length::Exact(d) => d > Duration::zero(),
            Length::Nominal { .. } => true,
        };
        if !positive {
            errors.push(FieldError::new("end", "The end must be after the start."));
        } else if end.axis() - start.axis() > Duration::days(3660) {
            errors.push(FieldError::new("end", "An event can last at most ten years."));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let series = Series {
            start,
            length,
            rule,
            rdates: rdates.into_iter().map(|at| ExtraDate { at, end: None }).collect(),
            exdates,
        };
        if series.rule.is_some() || !series.rdates.is_empty() {
            series.span().map_err(|e| vec![FieldError::new("rrule", e.to_string())])?;
        }
        Ok(Self { start, end, series })
    }
}

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().filter(|d| (1..=9999).contains(&d.year()))
}

/// A wall-clock time in `zone`, or an instant shown in `zone`.
pub fn parse_zoned(text: &str, zone: Tz) -> Option<CalTime> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        let utc = instant.naive_utc();
        return in_range(utc).then(|| CalTime::Zoned(utc_to_local(zone, utc), zone));
    }
    let local = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())?;
    in_range(local).then_some(CalTime::Zoned(local, zone))
}

fn in_range(t: NaiveDateTime) -> bool {
    let min = NaiveDate::from_ymd_opt(1, 1, 2).map(|d| d.and_time(NaiveTime::MIN));
    let max = NaiveDate::from_ymd_opt(9999, 12, 30).map(|d| d.and_time(NaiveTime::MIN));
    matches!((min, max), (Some(lo), Some(hi)) if t >= lo && t <= hi)
}

/// The stored text of a calendar time: `2024-03-14`, `2024-03-14T09:30:00` (floating),
/// `2024-03-14T09:30:00Z` (UTC) or `2024-03-14T09:30:00[Europe/Paris]`.
pub fn caltime_text(time: &CalTime) -> String {
    match time {
        CalTime::Date(d) => d.format("%Y-%m-%d").to_string(),
        CalTime::Floating(t) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        CalTime::Zoned(t, Tz::UTC) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        CalTime::Zoned(t, tz) => format!("{}[{}]", t.format("%Y-%m-%dT%H:%M:%S"), tz.name()),
    }
}

/// Reads [`caltime_text`] back.
pub fn parse_caltime_text(text: &str) -> Option<CalTime> {
    if let Some((local, zone)) = text.strip_suffix(']').and_then(|t| t.split_once('[')) {
        let tz = Tz::from_str(zone).ok()?;
        return NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").ok().map(|t| CalTime::Zoned(t, tz));
    }
    if let Some(utc) = text.strip_suffix('Z') {
        return NaiveDateTime::parse_from_str(utc, "%Y-%m-%dT%H:%M:%S").ok().map(|t| CalTime::Zoned(t, Tz::UTC));
    }
    if text.len() == 10 {
        return NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(CalTime::Date);
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok().map(CalTime::Floating)
}

/// The UTC instant of a time (floating and dates pinned to UTC), in milliseconds.
pub fn axis_ms(time: &CalTime) -> i64 {
    time.axis().and_utc().timestamp_millis()
}

/// The same wall-clock reading moved by `delta`, resolved again in its zone.
pub fn shift_local(time: &CalTime, delta: Duration) -> CalTime {
    match *time {
        CalTime::Date(d) => CalTime::Date(d + Duration::days(delta.num_days())),
        CalTime::Floating(t) => CalTime::Floating(t + delta),
        CalTime::Zoned(t, tz) => CalTime::Zoned(t + delta, tz),
    }
}

/// The instant a zoned wall-clock time denotes (exposed for callers without the recurrence module).
pub fn zoned_instant(local: NaiveDateTime, tz: Tz) -> NaiveDateTime {
    local_to_utc(tz, local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attendee_lines_read_names_and_addresses_and_keep_known_responses() {
        let known =
            vec![Attendee { name: "Ada".into(), email: "ada@example.com".into(), response: Response::Accepted }];
        let parsed = parse_attendee_lines(
            "Ada Lovelace <ADA@example.com>\n\n  bob@example.com  \n\"Cy, D\" <cy@example.com>",
            &known,
        );
        assert_eq!(parsed.len(), 3);
        assert_eq!(
            (parsed[0].name.as_str(), parsed[0].email.as_str(), parsed[0].response),
            ("Ada Lovelace", "ADA@example.com", Response::Accepted)
        );
        assert_eq!(
            (parsed[1].name.as_str(), parsed[1].email.as_str(), parsed[1].response),
            ("", "bob@example.com", Response::NeedsAction)
        );
        assert_eq!(parsed[2].name, "Cy, D");
        let lines: Vec<String> = parsed.iter().map(attendee_line).collect();
        assert_eq!(parse_attendee_lines(&lines.join("\n"), &parsed), parsed);
    }

    #[test]
    fn a_typed_tag_list_splits_on_commas_and_drops_blanks() {
        assert_eq!(parse_tag_list(" work, #deep focus ,, "), vec!["work".to_owned(), "#deep focus".to_owned()]);
        assert!(parse_tag_list("").is_empty());
    }

    fn times(start: &str, end: &str, all_day: bool, rrule: Option<&str>) -> Result<EventTimes, Vec<FieldError>> {
        EventTimes::parse(
            &TimesInput {
                start: start.into(),
                end: end.into(),
                all_day,
                time_zone: Some("Europe/Paris".into()),
                rrule: rrule.map(Into::into),
                ..TimesInput::default()
            },
            Tz::UTC,
        )
    }

    fn fields(result: Result<EventTimes, Vec<FieldError>>) -> Vec<String> {
        result.err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn the_end_must_come_after_the_start() {
        assert_eq!(fields(times("2024-03-14T10:00", "2024-03-14T09:00", false, None)), ["end"]);
        assert_eq!(fields(times("2024-03-14T10:00", "2024-03-14T10:00", false, None)), ["end"]);
        assert_eq!(fields(times("2024-03-14", "2024-03-14", true, None)), ["end"]);
        assert!(times("2024-03-14", "2024-03-15", true, None).is_ok());
    }

    #[test]
    fn instants_are_shown_in_the_event_zone() {
        let parsed = times("2024-03-14T08:00:00Z", "2024-03-14T10:30:00+01:00", false, None).expect("valid");
        assert_eq!(caltime_text(&parsed.start), "2024-03-14T09:00:00[Europe/Paris]");
        assert_eq!(caltime_text(&parsed.end), "2024-03-14T10:30:00[Europe/Paris]");
    }

    #[test]
    fn bad_rules_and_times_name_their_fields() {
        assert_eq!(fields(times("soon", "later", false, Some("FREQ=NEVER"))), ["start", "end", "rrule"]);
        assert_eq!(fields(times("2024-03-14T10:00", "2024-03-14T11:00", false, Some("FREQ=SECONDLY"))), ["rrule"]);
    }

    #[test]
    fn details_are_checked_together() {
        let details = EventDetails {
            title: " ".into(),
            url: "javascript:alert(1)".into(),
            color: Some("red".into()),
            reminders: (0..20).collect(),
            attendees: vec![Attendee { name: "A".into(), email: "nope".into(), response: Response::Accepted }],
            ..EventDetails::default()
        };
        let errors: Vec<String> = details.validate().expect_err("invalid").into_iter().map(|e| e.field).collect();
        assert_eq!(errors, ["title", "url", "color", "reminders", "attendees"]);
        let long = EventDetails { title: "x".repeat(MAX_TITLE + 1), ..EventDetails::default() };
        assert!(long.validate().is_err());
        let fine = EventDetails {
            title: " Lunch ".into(),
            tags: vec!["#home".into(), "home".into()],
            ..EventDetails::default()
        };
        let fine = fine.validate().expect("valid");
        assert_eq!((fine.title.as_str(), fine.tags), ("Lunch", vec!["home".to_owned()]));
    }

    #[test]
    fn a_reminder_is_due_from_its_time_until_the_start() {
        let start = 1_000_000_000;
        assert!(!reminder_due(start, &[10], start - 11 * 60_000));
        assert!(reminder_due(start, &[10], start - 10 * 60_000));
        assert!(reminder_due(start, &[10, 60], start - 59 * 60_000));
        assert!(!reminder_due(start, &[10], start));
        assert!(!reminder_due(start, &[], start - 1));
    }

    #[test]
    fn stored_times_read_back_identically() {
        for text in
            ["2024-03-14", "2024-03-14T09:30:00", "2024-03-14T09:30:00Z", "2024-03-14T09:30:00[America/New_York]"]
        {
            let parsed = parse_caltime_text(text).expect(text);
            assert_eq!(caltime_text(&parsed), text);
        }
        assert_eq!(parse_caltime_text("2024-03-14T09:30:00[Mars/Base]"), None);
    }
}
