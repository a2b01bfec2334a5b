//! The emails of a booking: confirmation to the invitee (with an invitation), notice to the
//! host, cancellation and reschedule to both, and a reminder. Each function builds an
//! [`EmailDraft`] to pass to [`super::mail::queue`] in the booking's transaction.
//!
//! Times are written in the recipient's zone with its name ("Tuesday 15 January 2030,
//! 09:00–09:30 (Europe/Paris)"). HTML bodies escape every value a person typed. The
//! invitation (`.ics`, RFC 5546 iTIP) has the host as ORGANIZER and the invitee as
//! ATTENDEE, the booking's stable UID and the caller's SEQUENCE: a cancellation or a
//! reschedule must be given a higher sequence than the invitation it replaces.

use calento::ics::{self, Component, Property};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::mail::EmailDraft;
use crate::components::escape_html;

pub const CONFIRMATION: &str = "booking_confirmation";
pub const HOST_NOTIFICATION: &str = "booking_notification";
pub const CANCELLATION: &str = "booking_cancelled";
pub const RESCHEDULE: &str = "booking_rescheduled";
pub const REMINDER: &str = "booking_reminder";
pub const REQUEST_RECEIVED: &str = "booking_requested";
pub const APPROVAL_NEEDED: &str = "booking_needs_approval";
pub const DECLINED: &str = "booking_declined";

/// What the emails of one booking say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookingMail {
    pub booking_id: String,
    pub host_user_id: String,
    pub host_name: String,
    pub host_email: String,
    pub invitee_name: String,
    pub invitee_email: String,
    pub title: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// IANA zone names; an unknown name is written as UTC.
    pub invitee_zone: String,
    pub host_zone: String,
    pub location: String,
    pub notes: String,
    /// The booking form's questions and the invitee's answers.
    pub answers: Vec<(String, String)>,
    /// The absolute link where the invitee cancels or reschedules.
    pub manage_url: String,
    /// The invitation's UID: the same for every email of the booking.
    pub uid: String,
    /// The invitation's SEQUENCE: raise it for each change.
    pub sequence: i64,
    /// Why it was cancelled or moved, if someone said.
    pub reason: Option<String>,
}

/// The iTIP method of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Request,
    Cancel,
}

/// Confirmation to the invitee, with the invitation (`METHOD:REQUEST`).
pub fn confirmation_to_invitee(m: &BookingMail) -> EmailDraft {
    let when = format_when(m.start_ms, m.end_ms, &m.invitee_zone);
    let intro = format!("Your booking with {} is confirmed.", m.host_name);
    let body = Body::new(&intro).line("What", &m.title).line("When", &when).details(m).manage(m);
    draft(m, CONFIRMATION, Recipient::Invitee, format!("Confirmed: {} with {}", m.title, m.host_name), body)
        .with_ics(invitation(m, Method::Request))
}

/// Notice to the host of a new booking (their calendar already has the event).
pub fn notification_to_host(m: &BookingMail) -> EmailDraft {
    let when = format_when(m.start_ms, m.end_ms, &m.host_zone);
    let intro = format!("{} booked {} with you.", m.invitee_name, m.title);
    let body = Body::new(&intro)
        .line("What", &m.title)
        .line("When", &when)
        .line("Invitee", &format!("{} <{}>", m.invitee_name, m.invitee_email))
        .details(m);
    draft(m, HOST_NOTIFICATION, Recipient::Host, format!("New booking: {} with {}", m.title, m.invitee_name), body)
}

/// To the invitee of a link that needs the host's approval: the request is in, not yet
/// confirmed (no invitation until it is).
pub fn request_received(m: &BookingMail) -> EmailDraft {
    let when = format_when(m.start_ms, m.end_ms, &m.invitee_zone);
    let intro =
        format!("Your request is with {}, who confirms each booking. You will hear back by email.", m.host_name);
    let body = Body::new(&intro).line("What", &m.title).line("When", &when).details(m).manage(m);
    draft(m, REQUEST_RECEIVED, Recipient::Invitee, format!("Requested: {} with {}", m.title, m.host_name), body)
}

/// To the host: a booking waits for their approval.
pub fn approval_needed(m: &BookingMail) -> EmailDraft {
    let when = format_when(m.start_ms, m.end_ms, &m.host_zone);
    let intro = format!("{} asks to book {} with you. Approve or decline it under Bookings.", m.invitee_name, m.title);
    let body = Body::new(&intro)
        .line("What", &m.title)
        .line("When", &when)
        .line("Invitee", &format!("{} <{}>", m.invitee_name, m.invitee_email))
        .details(m);
    draft(m, APPROVAL_NEEDED, Recipient::Host, format!("To approve: {} with {}", m.title, m.invitee_name), body)
}

/// To the invitee: the host declined the request.
pub fn declined(m: &BookingMail) -> EmailDraft {
    let when = format_when(m.start_ms, m.end_ms, &m.invitee_zone);
    let reason = m.reason.as_deref().filter(|r| !r.trim().is_empty());
    let intro = format!("{} could not accept your request.", m.host_name);
    let body = Body::new(&intro).line("What", &m.title).line("When", &when).optional("Reason", reason);
    draft(m, DECLINED, Recipient::Invitee, format!("Declined: {} with {}", m.title, m.host_name), body)
}

/// Cancellation: to the invitee with `METHOD:CANCEL` (same UID, `m.sequence` higher than
/// before), then to the host.
pub fn cancellation(m: &BookingMail) -> Vec<EmailDraft> {
    let reason = m.reason.as_deref().filter(|r| !r.trim().is_empty());
    let to_invitee = {
        let when = format_when(m.start_ms, m.end_ms, &m.invitee_zone);
        let intro = format!("Your booking with {} has been cancelled.", m.host_name);
        let body = Body::new(&intro).line("What", &m.title).line("When", &when).optional("Reason", reason);
        draft(m, CANCELLATION, Recipient::Invitee, format!("Cancelled: {} with {}", m.title, m.host_name), body)
            .with_ics(invitation(m, Method::Cancel))
    };
    let to_host = {
        let when = format_when(m.start_ms, m.end_ms, &m.host_zone);
        let intro = format!("The booking of {} with {} has been cancelled.", m.title, m.invitee_name);
        let body = Body::new(&intro)
            .line("What", &m.title)
            .line("When", &when)
            .line("Invitee", &format!("{} <{}>", m.invitee_name, m.invitee_email))
            .optional("Reason", reason);
        draft(m, CANCELLATION, Recipient::Host, format!("Cancelled: {} with {}", m.title, m.invitee_name), body)
    };
    vec![to_invitee, to_host]
}

/// Reschedule: `m` has the new time and a higher sequence; the invitee gets the updated
/// invitation (`METHOD:REQUEST`), the host a notice. Both mention the previous time.
pub fn reschedule(m: &BookingMail, previous_start_ms: i64, previous_end_ms: i64) -> Vec<EmailDraft> {
    let reason = m.reason.as_deref().filter(|r| !r.trim().is_empty());
    let to_invitee = {
        let when = format_when(m.start_ms, m.end_ms, &m.invitee_zone);
        let before = format_when(previous_start_ms, previous_end_ms, &m.invitee_zone);
        let intro = format!("Your booking with {} has moved to a new time.", m.host_name);
        let body = Body::new(&intro)
            .line("What", &m.title)
            .line("When", &when)
            .line("Previously", &before)
            .optional("Reason", reason)
            .details(m)
            .manage(m);
        draft(m, RESCHEDULE, Recipient::Invitee, format!("Rescheduled: {} with {}", m.title, m.host_name), body)
            .with_ics(invitation(m, Method::Request))
    };
    let to_host = {
        let when = format_when(m.start_ms, m.end_ms, &m.host_zone);
        let before = format_when(previous_start_ms, previous_end_ms, &m.host_zone);
        let intro = format!("The booking of {} with {} has moved to a new time.", m.title, m.invitee_name);
        let body = Body::new(&intro)
            .line("What", &m.title)
            .line("When", &when)
            .line("Previously", &before)
            .line("Invitee", &format!("{} <{}>", m.invitee_name, m.invitee_email))
            .optional("Reason", reason)
            .details(m);
        draft(m, RESCHEDULE, Recipient::Host, format!("Rescheduled: {} with {}", m.title, m.invitee_name), body)
    };
    vec![to_invitee, to_host]
}

/// A reminder to the invitee, meant to be queued `hours_before` hours before the start
/// (`mail::queue_at(tx, &draft, m.start_ms - hours_before * 3_600_000)`).
pub fn reminder(m: &BookingMail, hours_before: i64) -> EmailDraft {
    let when = format_when(m.start_ms, m.end_ms, &m.invitee_zone);
    let soon = match hours_before {
        1 => "in 1 hour".to_owned(),
        24 => "tomorrow".to_owned(),
        h => format!("in {h} hours"),
    };
    let intro = format!("A reminder: {} with {} starts {soon}.", m.title, m.host_name);
    let body = Body::new(&intro).line("What", &m.title).line("When", &when).details(m).manage(m);
    draft(m, REMINDER, Recipient::Invitee, format!("Reminder: {} with {} {soon}", m.title, m.host_name), body)
}

/// The invitation: a VCALENDAR with one VEVENT in UTC, host as ORGANIZER, invitee as
/// ATTENDEE. CRLF line ends, folded at 75 octets.
pub fn invitation(m: &BookingMail, method: Method) -> String {
    let stamp = |ms: i64| format!("{}Z", ics::format_date_time(utc(ms).naive_utc()));
    let mut description = String::new();
    if !m.notes.trim().is_empty() {
        description.push_str(&format!("Notes: {}\n", m.notes.trim()));
    }
    for (question, answer) in &m.answers {
        description.push_str(&format!("{question}: {answer}\n"));
    }
    if method == Method::Request && is_web_link(&m.manage_url) {
        description.push_str(&format!("Cancel or reschedule: {}\n", m.manage_url));
    }
    let mut event = Component::new("VEVENT")
        .with_property(Property::new("UID", m.uid.clone()))
        .with_property(Property::new("SEQUENCE", m.sequence.max(0).to_string()))
        .with_property(Property::new("DTSTAMP", stamp(super::now_ms())))
        .with_property(Property::new("DTSTART", stamp(m.start_ms)))
        .with_property(Property::new("DTEND", stamp(m.end_ms)))
        .with_property(Property::new_text("SUMMARY", &m.title))
        .with_property(
            Property::new("ORGANIZER", format!("mailto:{}", m.host_email)).with_param("CN", &one_line(&m.host_name)),
        )
        .with_property(
            Property::new("ATTENDEE", format!("mailto:{}", m.invitee_email))
                .with_param("CN", &one_line(&m.invitee_name))
                .with_param("ROLE", "REQ-PARTICIPANT")
                .with_param("PARTSTAT", "ACCEPTED")
                .with_param("RSVP", "FALSE"),
        );
    if !description.is_empty() {
        event.push(Property::new_text("DESCRIPTION", description.trim_end()));
    }
    if !m.location.trim().is_empty() {
        event.push(Property::new_text("LOCATION", m.location.trim()));
    }
    if method == Method::Request && is_web_link(&m.manage_url) {
        event.push(Property::new("URL", m.manage_url.clone()));
    }
    event.push(Property::new("STATUS", if method == Method::Cancel { "CANCELLED" } else { "CONFIRMED" }));
    let calendar = Component::new("VCALENDAR")
        .with_property(Property::new("PRODID", "-//Calento//Calento//EN"))
        .with_property(Property::new("VERSION", "2.0"))
        .with_property(Property::new("CALSCALE", "GREGORIAN"))
        .with_property(Property::new("METHOD", if method == Method::Cancel { "CANCEL" } else { "REQUEST" }))
        .with_component(event);
    ics::write(&calendar)
}

/// "Tuesday 15 January 2030, 09:00–09:30 (Europe/Paris)"; an end on another day is
/// written in full. An unknown zone is written as UTC.
pub fn format_when(start_ms: i64, end_ms: i64, zone: &str) -> String {
    let tz: Tz = zone.parse().unwrap_or(Tz::UTC);
    let start = utc(start_ms).with_timezone(&tz);
    let end = utc(end_ms).with_timezone(&tz);
    let day = "%A %-d %B %Y";
    if start.date_naive() == end.date_naive() {
        format!("{}, {}–{} ({})", start.format(day), start.format("%H:%M"), end.format("%H:%M"), tz.name())
    } else {
        format!(
            "{}, {} – {}, {} ({})",
            start.format(day),
            start.format("%H:%M"),
            end.format(day),
            end.format("%H:%M"),
            tz.name()
        )
    }
}

fn utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn one_line(text: &str) -> String {
    text.split(['\r', '\n']).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

fn is_web_link(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://")) && !url.chars().any(char::is_whitespace)
}

#[derive(Clone, Copy)]
enum Recipient {
    Invitee,
    Host,
}

fn draft(m: &BookingMail, kind: &str, to: Recipient, subject: String, body: Body) -> EmailDraft {
    let (to_address, to_name) = match to {
        Recipient::Invitee => (&m.invitee_email, &m.invitee_name),
        Recipient::Host => (&m.host_email, &m.host_name),
    };
    EmailDraft {
        user_id: m.host_user_id.clone(),
        booking_id: Some(m.booking_id.clone()),
        kind: kind.to_owned(),
        to_address: to_address.clone(),
        to_name: one_line(to_name),
        subject: one_line(&subject),
        text_body: body.text(),
        html_body: body.html(&subject),
        ics: None,
        unsubscribe_url: None,
    }
}

trait WithIcs {
    fn with_ics(self, ics: String) -> Self;
}

impl WithIcs for EmailDraft {
    fn with_ics(mut self, ics: String) -> Self {
        self.ics = Some(ics);
        self
    }
}

/// A body written once and rendered as text and as HTML.
struct Body {
    intro: String,
    lines: Vec<(String, String)>,
    link: Option<(String, String)>,
}

impl Body {
    fn new(intro: &str) -> Self {
        Self { intro: intro.to_owned(), lines: Vec::new(), link: None }
    }

    fn line(mut self, label: &str, value: &str) -> Self {
        self.lines.push((label.to_owned(), value.to_owned()));
        self
    }

    fn optional(self, label: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.line(label, value),
            None => self,
        }
    }

    /// Location, notes and answers, when given.
    fn details(mut self, m: &BookingMail) -> Self {
        for (label, value) in [("Where", &m.location), ("Notes", &m.notes)] {
            if !value.trim().is_empty() {
                self = self.line(label, value.trim());
            }
        }
        for (question, answer) in &m.answers {
            if !answer.trim().is_empty() {
                self = self.line(question, answer.trim());
            }
        }
        self
    }

    fn manage(mut self, m: &BookingMail) -> Self {
        if is_web_link(&m.manage_url) {
            self.link = Some(("Cancel or reschedule".to_owned(), m.manage_url.clone()));
        }
        self
    }

    fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.intro);
        for (label, value) in &self.lines {
            let value = value.replace('\n', "\n  ");
            out.push_str(&format!("{label}: {value}\n"));
        }
        if let Some((label, url)) = &self.link {
            out.push_str(&format!("\n{label}: {url}\n"));
        }
        out.push_str("\n-- \nSent by Calento\n");
        out
    }

    fn html(&self, title: &str) -> String {
        let mut out = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body style=\"font-family: sans-serif; line-height: 1.5\">\n<p>{}</p>\n<table>\n",
            escape_html(title),
            escape_html(&self.intro)
        );
        for (label, value) in &self.lines {
            out.push_str(&format!(
                "<tr><th align=\"left\" valign=\"top\">{}</th><td>{}</td></tr>\n",
                escape_html(label),
                escape_html(value).replace('\n', "<br>")
            ));
        }
        out.push_str("</table>\n");
        if let Some((label, url)) = &self.link {
            out.push_str(&format!("<p><a href=\"{}\">{}</a></p>\n", escape_html(url), escape_html(label)));
        }
        out.push_str("<p style=\"color: #666\">Sent by Calento</p>\n</body></html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking() -> BookingMail {
        BookingMail {
            booking_id: "b1".into(),
            host_user_id: "u1".into(),
            host_name: "Hélène Host".into(),
            host_email: "host@example.org".into(),
            invitee_name: "Ivo <script>".into(),
            invitee_email: "ivo@example.org".into(),
            title: "Intro call & demo".into(),
            // 2030-01-15 08:00Z = 09:00 in Paris, 17:00 in Tokyo.
            start_ms: 1_894_694_400_000,
            end_ms: 1_894_694_400_000 + 30 * 60_000,
            invitee_zone: "Europe/Paris".into(),
            host_zone: "Asia/Tokyo".into(),
            location: "Room 4, floor 2".into(),
            notes: "Bring the <b>numbers</b>; thanks".into(),
            answers: vec![("Company".into(), "ACME \"Ltd\"".into())],
            manage_url: "https://cal.example.org/bookings/manage/tok123".into(),
            uid: "b1@calento".into(),
            sequence: 0,
            reason: None,
        }
    }

    #[test]
    fn times_are_written_in_the_recipients_zone() {
        let m = booking();
        assert_eq!(
            format_when(m.start_ms, m.end_ms, "Europe/Paris"),
            "Tuesday 15 January 2030, 09:00–09:30 (Europe/Paris)"
        );
        assert_eq!(
            format_when(m.start_ms, m.end_ms, "Asia/Tokyo"),
            "Tuesday 15 January 2030, 17:00–17:30 (Asia/Tokyo)"
        );
        assert_eq!(
            format_when(m.start_ms, m.start_ms + 16 * 3_600_000, "Europe/Paris"),
            "Tuesday 15 January 2030, 09:00 – Wednesday 16 January 2030, 01:00 (Europe/Paris)"
        );
        assert!(format_when(m.start_ms, m.end_ms, "Mars/Olympus").ends_with("(UTC)"));
        let confirmation = confirmation_to_invitee(&m);
        assert!(confirmation.text_body.contains("09:00–09:30 (Europe/Paris)"), "{}", confirmation.text_body);
        let notice = notification_to_host(&m);
        assert!(notice.text_body.contains("17:00–17:30 (Asia/Tokyo)"), "{}", notice.text_body);
        assert_eq!(notice.to_address, "host@example.org");
        assert_eq!(notice.ics, None);
    }

    #[test]
    fn html_escapes_what_people_typed() {
        let m = booking();
        let html = confirmation_to_invitee(&m).html_body;
        assert!(html.contains("Intro call &amp; demo"), "{html}");
        assert!(html.contains("Bring the &lt;b&gt;numbers&lt;/b&gt;"), "{html}");
        assert!(html.contains("ACME &quot;Ltd&quot;"), "{html}");
        assert!(!html.contains("<b>numbers"), "{html}");
        let host = notification_to_host(&m).html_body;
        assert!(host.contains("Ivo &lt;script&gt;"), "{host}");
        assert!(!host.contains("<script>"), "{host}");
        // A link that is not a web address is not offered.
        let mut odd = m.clone();
        odd.manage_url = "javascript:alert(1)".into();
        assert!(!confirmation_to_invitee(&odd).html_body.contains("javascript:"));
    }

    #[test]
    fn invitations_are_valid_icalendar_with_organizer_attendee_uid_and_sequence() {
        let m = booking();
        let ics_text = confirmation_to_invitee(&m).ics.expect("invitation");
        assert!(ics_text.ends_with("\r\n") && !ics_text.replace("\r\n", "").contains('\n'), "CRLF only");
        assert!(ics_text.split("\r\n").all(|line| line.len() <= 75), "folded");
        let parsed = ics::parse(ics_text.as_bytes(), &ics::Limits::default()).expect("parses");
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let calendar = &parsed.components[0];
        assert_eq!(calendar.property("METHOD").map(|p| p.value.as_str()), Some("REQUEST"));
        let event = calendar.components_named("VEVENT").next().expect("event");
        assert_eq!(event.property("UID").map(|p| p.value.as_str()), Some("b1@calento"));
        assert_eq!(event.property("SEQUENCE").map(|p| p.value.as_str()), Some("0"));
        assert_eq!(event.property("DTSTART").map(|p| p.value.as_str()), Some("20300115T080000Z"));
        assert_eq!(event.property("DTEND").map(|p| p.value.as_str()), Some("20300115T083000Z"));
        assert_eq!(event.property("SUMMARY").map(|p| p.text()), Some("Intro call & demo".to_owned()));
        assert_eq!(event.property("LOCATION").map(|p| p.text()), Some("Room 4, floor 2".to_owned()));
        let organizer = event.property("ORGANIZER").expect("organizer");
        assert_eq!(organizer.value, "mailto:host@example.org");
        assert_eq!(organizer.param("CN"), Some("Hélène Host"));
        let attendee = event.property("ATTENDEE").expect("attendee");
        assert_eq!(attendee.value, "mailto:ivo@example.org");
        assert_eq!(attendee.param("PARTSTAT"), Some("ACCEPTED"));

        let mut cancelled = m.clone();
        cancelled.sequence = 1;
        cancelled.reason = Some("Ill, sorry".into());
        let drafts = cancellation(&cancelled);
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[0].to_address, "ivo@example.org");
        assert_eq!(drafts[1].to_address, "host@example.org");
        assert!(drafts[0].text_body.contains("Reason: Ill, sorry"));
        let cancel = drafts[0].ics.clone().expect("cancel");
        assert!(cancel.contains("METHOD:CANCEL\r\n") && cancel.contains("STATUS:CANCELLED\r\n"), "{cancel}");
        assert!(cancel.contains("UID:b1@calento\r\n") && cancel.contains("SEQUENCE:1\r\n"), "{cancel}");

        let mut moved = m.clone();
        moved.sequence = 2;
        moved.start_ms += 3_600_000;
        moved.end_ms += 3_600_000;
        let drafts = reschedule(&moved, m.start_ms, m.end_ms);
        let request = drafts[0].ics.clone().expect("request");
        assert!(request.contains("METHOD:REQUEST\r\n") && request.contains("SEQUENCE:2\r\n"), "{request}");
        assert!(request.contains("DTSTART:20300115T090000Z\r\n"), "{request}");
        assert!(
            drafts[0].text_body.contains("Previously: Tuesday 15 January 2030, 09:00–09:30"),
            "{}",
            drafts[0].text_body
        );
        assert!(drafts[1].text_body.contains("When: Tuesday 15 January 2030, 18:00–18:30 (Asia/Tokyo)"));
    }

    #[test]
    fn reminders_say_when() {
        let draft = reminder(&booking(), 24);
        assert_eq!(draft.kind, REMINDER);
        assert!(draft.subject.contains("tomorrow"), "{}", draft.subject);
        assert!(draft.text_body.contains("https://cal.example.org/bookings/manage/tok123"));
    }
}
