//! Google Calendar events (API v3 JSON) to and from Calento's events, and the normalised
//! fields the conflict policy compares (`calento::sync`).
//!
//! Google → Calento goes through iCalendar: a series' master (`recurrence` lines as Google
//! keeps them: RRULE, EXDATE, RDATE) and its exceptions (`recurringEventId`,
//! `originalStartTime`) are written as one VCALENDAR and read by the same reader as every
//! import, so time zones, recurrence and all-day events mean the same as in a file.
//! Cancelled instances become EXDATEs of the master. Calento → Google writes the event's
//! fields as Google takes them (wall-clock time with its IANA zone, or a date).

use calento::recurrence::{CalTime, Placed};
use calento::sync::Fields;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use app::ssr::events::EventRow;

/// The fields the conflict policy compares, in this order on the sync page.
pub const FIELDS: [&str; 8] =
    ["summary", "description", "location", "start", "end", "recurrence", "status", "transparency"];

/// A time as Google writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum GoogleTime {
    Date(NaiveDate),
    /// `dateTime` with an offset, and the event's zone when named.
    Instant(DateTime<FixedOffset>, Option<Tz>),
    /// `dateTime` without an offset: a wall-clock time in the named zone.
    Wall(NaiveDateTime, Tz),
}

fn zone(value: &Value) -> Option<Tz> {
    value.get("timeZone").and_then(Value::as_str).and_then(|z| z.parse::<Tz>().ok())
}

fn read_time(value: &Value, fallback: Option<Tz>) -> Option<GoogleTime> {
    if let Some(date) = value.get("date").and_then(Value::as_str) {
        return NaiveDate::parse_from_str(date, "%Y-%m-%d").ok().map(GoogleTime::Date);
    }
    let text = value.get("dateTime").and_then(Value::as_str)?;
    let tz = zone(value);
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(GoogleTime::Instant(instant, tz));
    }
    let wall = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok()?;
    tz.or(fallback).map(|tz| GoogleTime::Wall(wall, tz))
}

/// The normalised text of a time: `date:YYYY-MM-DD`, or the UTC instant.
fn normal_time(time: Option<GoogleTime>) -> String {
    match time {
        None => String::new(),
        Some(GoogleTime::Date(d)) => format!("date:{}", d.format("%Y-%m-%d")),
        Some(GoogleTime::Instant(t, _)) => t.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(GoogleTime::Wall(t, tz)) => match tz.from_local_datetime(&t).earliest() {
            Some(at) => at.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            None => format!("{}[{}]", t.format("%Y-%m-%dT%H:%M:%S"), tz.name()),
        },
    }
}

fn text(value: &Value, name: &str) -> String {
    value.get(name).and_then(Value::as_str).unwrap_or_default().trim().to_owned()
}

/// The fields of a Google event (ours, written as Google takes them, or Google's).
pub fn fields(event: &Value, calendar_zone: Option<Tz>) -> Fields {
    let recurrence: Vec<String> = event
        .get("recurrence")
        .and_then(Value::as_array)
        .map(|lines| lines.iter().filter_map(Value::as_str).map(|l| l.trim().to_owned()).collect())
        .unwrap_or_default();
    let status = match text(event, "status").as_str() {
        "" => "confirmed".to_owned(),
        other => other.to_owned(),
    };
    let transparency = match text(event, "transparency").as_str() {
        "transparent" => "transparent",
        _ => "opaque",
    };
    let mut out = Fields::new();
    out.insert("summary".into(), text(event, "summary"));
    out.insert("description".into(), text(event, "description"));
    out.insert("location".into(), text(event, "location"));
    out.insert("start".into(), normal_time(event.get("start").and_then(|t| read_time(t, calendar_zone))));
    out.insert("end".into(), normal_time(event.get("end").and_then(|t| read_time(t, calendar_zone))));
    out.insert("recurrence".into(), recurrence.join("\n"));
    out.insert("status".into(), status);
    out.insert("transparency".into(), transparency.to_owned());
    out
}

/// Fields as stored in `remote_items` (JSON).
pub fn fields_text(fields: &Fields) -> String {
    serde_json::to_string(fields).unwrap_or_default()
}

pub fn fields_of_text(text: Option<&str>) -> Option<Fields> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// Whether someone else organises the event (their copy wins conflicts).
pub fn organised_elsewhere(event: &Value) -> bool {
    event.get("organizer").is_some_and(|o| !o.get("self").and_then(Value::as_bool).unwrap_or(false))
}

/// The event id Calento gives an event it creates at Google: derived from the UID, so a
/// retried insert names the same event (Google answers 409) instead of making a second.
/// Google takes 5–1024 characters of base32hex (`0-9a-v`); hex is a subset.
pub fn google_id(uid: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(uid.as_bytes());
    digest.iter().take(20).map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------
// Google → iCalendar
// ---------------------------------------------------------------------------------------

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (RFC 5545 §3.1), at character boundaries.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 74 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

fn ics_time(name: &str, time: GoogleTime, calendar_zone: Option<Tz>) -> String {
    match time {
        GoogleTime::Date(d) => format!("{name};VALUE=DATE:{}", d.format("%Y%m%d")),
        GoogleTime::Instant(t, Some(tz)) => {
            format!("{name};TZID={}:{}", tz.name(), t.with_timezone(&tz).naive_local().format("%Y%m%dT%H%M%S"))
        }
        GoogleTime::Instant(t, None) => match calendar_zone {
            Some(tz) => {
                format!("{name};TZID={}:{}", tz.name(), t.with_timezone(&tz).naive_local().format("%Y%m%dT%H%M%S"))
            }
            None => format!("{name}:{}", t.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ")),
        },
        GoogleTime::Wall(t, tz) => format!("{name};TZID={}:{}", tz.name(), t.format("%Y%m%dT%H%M%S")),
    }
}

/// The zone a series' instants are written in: its start's zone, else the calendar's.
fn series_zone(master: &Value, calendar_zone: Option<Tz>) -> Option<Tz> {
    master.get("start").and_then(zone).or(calendar_zone)
}

fn vevent(event: &Value, uid: &str, zone_for_instants: Option<Tz>, extra: &[String], out: &mut String) -> bool {
    let (Some(start), Some(end)) = (
        event.get("start").and_then(|t| read_time(t, zone_for_instants)),
        event.get("end").and_then(|t| read_time(t, zone_for_instants)),
    ) else {
        return false;
    };
    fold("BEGIN:VEVENT", out);
    fold(&format!("UID:{}", escape(uid)), out);
    fold("DTSTAMP:20000101T000000Z", out);
    fold(&ics_time("DTSTART", start, zone_for_instants), out);
    fold(&ics_time("DTEND", end, zone_for_instants), out);
    for (field, property) in [("summary", "SUMMARY"), ("description", "DESCRIPTION"), ("location", "LOCATION")] {
        let value = text(event, field);
        if !value.is_empty() || field == "summary" {
            fold(&format!("{property}:{}", escape(&value)), out);
        }
    }
    let status = match text(event, "status").as_str() {
        "tentative" => "TENTATIVE",
        _ => "CONFIRMED",
    };
    fold(&format!("STATUS:{status}"), out);
    let transp = if text(event, "transparency") == "transparent" { "TRANSPARENT" } else { "OPAQUE" };
    fold(&format!("TRANSP:{transp}"), out);
    if let Some(sequence) = event.get("sequence").and_then(Value::as_i64) {
        fold(&format!("SEQUENCE:{sequence}"), out);
    }
    // The guests (not rooms and other resources), with their answers.
    for guest in event.get("attendees").and_then(Value::as_array).into_iter().flatten() {
        let email = text(guest, "email");
        if email.is_empty() || guest.get("resource").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let answer = match text(guest, "responseStatus").as_str() {
            "accepted" => "ACCEPTED",
            "declined" => "DECLINED",
            "tentative" => "TENTATIVE",
            _ => "NEEDS-ACTION",
        };
        let name: String = text(guest, "displayName").chars().filter(|c| !matches!(c, '"' | '\r' | '\n')).collect();
        let name = if name.is_empty() { String::new() } else { format!(";CN=\"{name}\"") };
        fold(&format!("ATTENDEE{name};PARTSTAT={answer}:mailto:{email}"), out);
    }
    for line in extra {
        fold(line, out);
    }
    fold("END:VEVENT", out);
    true
}

/// One series as iCalendar: `master` (when Google still has it) and its exceptions;
/// cancelled instances become EXDATEs. `None` when there is nothing to show.
/// `uid` is the series' UID in Calento (Google's iCalUID, or Calento's own for events it
/// wrote there).
pub fn series_ics(
    master: Option<&Value>,
    exceptions: &[&Value],
    calendar_zone: Option<Tz>,
    uid: &str,
) -> Option<String> {
    let master = master.filter(|m| text(m, "status") != "cancelled")?;
    let zone = series_zone(master, calendar_zone);
    let mut out = String::new();
    fold("BEGIN:VCALENDAR", &mut out);
    fold("VERSION:2.0", &mut out);
    fold("PRODID:-//Calento//Google Calendar sync//EN", &mut out);
    let mut lines: Vec<String> = master
        .get("recurrence")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let recurring = !lines.is_empty();
    let mut moved = Vec::new();
    for exception in exceptions {
        let Some(original) = exception.get("originalStartTime").and_then(|t| read_time(t, zone)) else { continue };
        if !recurring {
            continue;
        }
        if text(exception, "status") == "cancelled" {
            lines.push(ics_time("EXDATE", original, zone));
        } else {
            moved.push((*exception, ics_time("RECURRENCE-ID", original, zone)));
        }
    }
    if !vevent(master, uid, zone, &lines, &mut out) {
        return None;
    }
    for (exception, recurrence_id) in moved {
        vevent(exception, uid, zone, &[recurrence_id], &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Calento → Google
// ---------------------------------------------------------------------------------------

fn google_time(time: CalTime, calendar_zone: Tz) -> Value {
    match time {
        CalTime::Date(d) => json!({ "date": d.format("%Y-%m-%d").to_string() }),
        CalTime::Floating(t) => {
            json!({ "dateTime": t.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": calendar_zone.name() })
        }
        CalTime::Zoned(t, tz) => {
            json!({ "dateTime": t.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": tz.name() })
        }
    }
}

/// The recurrence lines (RRULE, RDATE, EXDATE) of the series in an iCalendar text, as
/// Google takes them.
fn recurrence_lines(ics: &str) -> Vec<String> {
    let unfolded = ics.replace("\r\n ", "").replace("\n ", "");
    let mut in_master = false;
    let mut current: Vec<String> = Vec::new();
    let mut is_exception = false;
    let mut out = Vec::new();
    for line in unfolded.lines() {
        let line = line.trim_end_matches('\r');
        match line {
            "BEGIN:VEVENT" => {
                in_master = true;
                is_exception = false;
                current.clear();
            }
            "END:VEVENT" => {
                if in_master && !is_exception {
                    out.append(&mut current);
                }
                in_master = false;
            }
            _ if in_master => {
                let name = line.split([':', ';']).next().unwrap_or_default().to_ascii_uppercase();
                match name.as_str() {
                    "RECURRENCE-ID" => is_exception = true,
                    "RRULE" | "RDATE" | "EXDATE" | "EXRULE" => current.push(line.to_owned()),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    out
}

/// A Calento series (master first, then its exceptions) as a Google event body; the
/// exceptions go as instances of their own (`instance_body`).
pub fn event_body(rows: Vec<EventRow>, calendar_zone: Tz) -> Result<Value, app::AppError> {
    let master = rows.iter().find(|r| r.master_id.is_none()).ok_or(app::AppError::NotFound)?.clone();
    let mut body = plain_body(&master, calendar_zone)?;
    let ics = app::ssr::ical::file_of("sync", rows, app::ssr::ical::at(0))?;
    let lines = recurrence_lines(&ics);
    if !lines.is_empty() {
        body.insert("recurrence".into(), json!(lines));
    }
    Ok(Value::Object(body))
}

/// One moved or changed instance of a series (a Calento exception) as Google takes it.
pub fn instance_body(row: &EventRow, calendar_zone: Tz) -> Result<Value, app::AppError> {
    plain_body(row, calendar_zone).map(Value::Object)
}

/// An event's own fields: title, text, place, times, status and transparency.
fn plain_body(row: &EventRow, calendar_zone: Tz) -> Result<Map<String, Value>, app::AppError> {
    let series = row.series()?;
    let end = row.end()?;
    let details = row.details();
    let mut body = Map::new();
    body.insert("summary".into(), json!(details.title));
    body.insert("description".into(), json!(details.description));
    body.insert("location".into(), json!(details.location));
    body.insert("start".into(), google_time(series.start, calendar_zone));
    body.insert("end".into(), google_time(end, calendar_zone));
    let status = match details.status {
        calento::event::EventStatus::Tentative => "tentative",
        calento::event::EventStatus::Cancelled => "cancelled",
        calento::event::EventStatus::Confirmed => "confirmed",
    };
    body.insert("status".into(), json!(status));
    let transparency = match details.transparency {
        calento::event::Transparency::Free => "transparent",
        calento::event::Transparency::Busy => "opaque",
    };
    body.insert("transparency".into(), json!(transparency));
    Ok(body)
}

/// Google's id of one instance of a recurring event: the master's id, `_`, and the
/// instance's original start (`YYYYMMDD` for an all-day series, else the UTC instant as
/// `YYYYMMDDTHHMMSSZ`; a floating time is read in the calendar's zone).
pub fn instance_id(master_id: &str, original: Placed, calendar_zone: Tz) -> String {
    let suffix = match original {
        Placed::Date(d) => d.format("%Y%m%d").to_string(),
        Placed::Utc(t) => t.format("%Y%m%dT%H%M%SZ").to_string(),
        Placed::Floating(t) => calendar_zone
            .from_local_datetime(&t)
            .earliest()
            .map_or(t, |z| z.naive_utc())
            .format("%Y%m%dT%H%M%SZ")
            .to_string(),
    };
    format!("{master_id}_{suffix}")
}

/// The merged event: `remote` with the fields the merge took from `local`.
pub fn combine(remote: &Value, local: &Value, take_local: &[&str]) -> Value {
    let mut out = remote.clone();
    if let (Some(out), Some(local)) = (out.as_object_mut(), local.as_object()) {
        for field in take_local {
            match local.get(*field) {
                Some(value) => {
                    out.insert((*field).to_owned(), value.clone());
                }
                None => {
                    out.remove(*field);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> Option<Tz> {
        Some(chrono_tz::Europe::Paris)
    }

    #[test]
    fn times_normalise_to_the_same_instant_whichever_way_they_are_written() {
        let google = json!({ "start": { "dateTime": "2027-01-04T10:00:00+01:00", "timeZone": "Europe/Paris" },
                             "end": { "dateTime": "2027-01-04T11:00:00+01:00" } });
        let ours = json!({ "start": { "dateTime": "2027-01-04T10:00:00", "timeZone": "Europe/Paris" },
                           "end": { "dateTime": "2027-01-04T10:00:00Z" } });
        let (g, o) = (fields(&google, paris()), fields(&ours, paris()));
        assert_eq!(g["start"], "2027-01-04T09:00:00Z");
        assert_eq!(g["start"], o["start"]);
        assert_eq!(g["end"], o["end"]);
        assert_eq!(fields(&json!({ "start": { "date": "2027-01-04" } }), None)["start"], "date:2027-01-04");
        assert_eq!(g["status"], "confirmed");
        assert_eq!(g["transparency"], "opaque");
    }

    #[test]
    fn guests_and_their_answers_come_with_an_event_but_rooms_do_not() {
        let event = json!({
            "id": "meet", "summary": "Review", "status": "confirmed",
            "start": { "dateTime": "2027-01-04T10:00:00+01:00" }, "end": { "dateTime": "2027-01-04T11:00:00+01:00" },
            "organizer": { "email": "boss@example.com" },
            "attendees": [
                { "email": "boss@example.com", "displayName": "The \"Boss\"", "organizer": true, "responseStatus": "accepted" },
                { "email": "ada@example.org", "responseStatus": "tentative" },
                { "email": "room-4@resource.calendar.google.com", "resource": true, "responseStatus": "accepted" },
                { "email": "bob@example.org", "displayName": "Bob" }
            ]
        });
        let ics = series_ics(Some(&event), &[], paris(), "meet@google.com").expect("ics");
        let file = calento::calendar_file::read(ics.as_bytes()).expect("reads");
        let guests: Vec<(String, String, String)> = file.events[0]
            .details
            .attendees
            .iter()
            .map(|a| (a.name.clone(), a.email.clone(), format!("{:?}", a.response)))
            .collect();
        assert_eq!(
            guests,
            vec![
                ("The Boss".into(), "boss@example.com".into(), "Accepted".into()),
                (String::new(), "ada@example.org".into(), "Tentative".into()),
                ("Bob".into(), "bob@example.org".into(), "NeedsAction".into()),
            ]
        );
    }

    #[test]
    fn a_series_with_a_moved_and_a_cancelled_instance_reads_as_one_icalendar_series() {
        let master = json!({
            "id": "abc", "iCalUID": "abc@google.com", "status": "confirmed", "summary": "Standup; daily, short",
            "start": { "dateTime": "2027-01-04T10:00:00+01:00", "timeZone": "Europe/Paris" },
            "end": { "dateTime": "2027-01-04T10:15:00+01:00", "timeZone": "Europe/Paris" },
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"], "transparency": "transparent"
        });
        let moved = json!({
            "id": "abc_20270105T090000Z", "recurringEventId": "abc", "status": "confirmed", "summary": "Standup (late)",
            "originalStartTime": { "dateTime": "2027-01-05T10:00:00+01:00", "timeZone": "Europe/Paris" },
            "start": { "dateTime": "2027-01-05T14:00:00+01:00" }, "end": { "dateTime": "2027-01-05T14:15:00+01:00" }
        });
        let cancelled = json!({
            "id": "abc_20270106T090000Z", "recurringEventId": "abc", "status": "cancelled",
            "originalStartTime": { "dateTime": "2027-01-06T10:00:00+01:00", "timeZone": "Europe/Paris" }
        });
        let ics = series_ics(Some(&master), &[&moved, &cancelled], paris(), "abc@google.com").expect("ics");
        assert!(ics.contains("EXDATE;TZID=Europe/Paris:20270106T100000"), "{ics}");
        assert!(ics.contains("RECURRENCE-ID;TZID=Europe/Paris:20270105T100000"), "{ics}");
        assert!(ics.contains("SUMMARY:Standup\\; daily\\, short"), "{ics}");
        let file = calento::calendar_file::read(ics.as_bytes()).expect("readable");
        assert_eq!(file.events.len(), 1, "{:?}", file.skipped);
        let event = &file.events[0];
        assert_eq!(event.uid, "abc@google.com");
        assert_eq!(event.exceptions.len(), 1);
        assert_eq!(event.series.exdates.len(), 1);
        assert_eq!(event.details.transparency, calento::event::Transparency::Free);
        assert!(
            series_ics(Some(&cancelled), &[], paris(), "abc@google.com").is_none(),
            "a cancelled master shows nothing"
        );
        assert!(series_ics(None, &[&moved], paris(), "abc@google.com").is_none());
    }

    #[test]
    fn all_day_events_are_dates_and_long_lines_fold() {
        let event = json!({ "id": "d", "iCalUID": "d@google.com", "summary": "é".repeat(100),
                            "start": { "date": "2027-03-01" }, "end": { "date": "2027-03-02" } });
        let ics = series_ics(Some(&event), &[], None, "d@google.com").expect("ics");
        assert!(ics.contains("DTSTART;VALUE=DATE:20270301"));
        assert!(ics.lines().all(|l| l.len() <= 75), "{ics}");
        let file = calento::calendar_file::read(ics.as_bytes()).expect("readable");
        assert_eq!(file.events[0].details.title, "é".repeat(100));
    }

    #[test]
    fn recurrence_lines_come_from_the_master_only() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\nEXDATE;TZID=Europe/Paris:2\r\n 0270111T100000\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID:20270118T090000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            recurrence_lines(ics),
            vec!["RRULE:FREQ=WEEKLY;BYDAY=MO".to_owned(), "EXDATE;TZID=Europe/Paris:20270111T100000".to_owned()]
        );
    }

    #[test]
    fn ids_are_base32hex_and_stable() {
        let id = google_id("01J@calento");
        assert_eq!(id, google_id("01J@calento"));
        assert_eq!(id.len(), 40);
        assert!(id.chars().all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c)));
    }

    #[test]
    fn combine_takes_only_the_named_fields_from_local() {
        let remote = json!({ "id": "r", "summary": "Theirs", "location": "Room 1", "etag": "\"1\"" });
        let local = json!({ "summary": "Mine", "description": "notes" });
        let merged = combine(&remote, &local, &["summary", "description"]);
        assert_eq!(merged["summary"], "Mine");
        assert_eq!(merged["description"], "notes");
        assert_eq!(merged["location"], "Room 1");
        assert_eq!(merged["id"], "r");
    }
}
