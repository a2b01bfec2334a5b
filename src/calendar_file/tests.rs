use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::*;

type Tuple = (String, String, String, String);

fn instant(text: &str) -> NaiveDateTime {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.naive_utc()).expect("fixture instant")
}

/// Expands a fixture's file the way the README says to compare it.
fn expand(case: &Value) -> BTreeSet<Tuple> {
    let file = read(case["ics"].as_str().expect("ics").as_bytes()).expect("fixture parses");
    assert!(file.skipped.is_empty(), "{:?}", file.skipped);
    let from = instant(case["window"]["from"].as_str().expect("from"));
    let to = instant(case["window"]["to"].as_str().expect("to"));
    let mut out = BTreeSet::new();
    for event in &file.events {
        for occurrence in event.series.occurrences(&event.exceptions(), from, to, 10_000).expect("expands") {
            let i = occurrence.instance;
            let new =
                out.insert((event.uid.clone(), i.recurrence_id.to_string(), i.start.to_string(), i.end.to_string()));
            assert!(new, "duplicate occurrence {i:?}");
        }
    }
    out
}

fn expected(case: &Value) -> BTreeSet<Tuple> {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    case["expected"]
        .as_array()
        .expect("expected")
        .iter()
        .map(|e| (text(e, "uid"), text(e, "recurrence_id"), text(e, "start"), text(e, "end")))
        .collect()
}

#[test]
fn every_recurrence_fixture_expands_exactly_as_the_reference() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recurrence");
    let mut cases = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&folder).expect("fixtures folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        cases += 1;
        let (got, want) = (expand(&case), expected(&case));
        if got != want {
            failures.push(format!(
                "{}: missing {:?}, extra {:?}",
                case["id"],
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    assert_eq!(cases, 25);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const NY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a@x\r\nDTSTART;TZID=America/New_York:20240606T130000\r\n\
DTEND;TZID=America/New_York:20240606T140000\r\nRRULE:FREQ=WEEKLY;COUNT=5\r\nEXDATE:20240613T170000Z\r\nSUMMARY:Review\r\n\
CATEGORIES:work,team\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\n\
UID:a@x\r\nRECURRENCE-ID;TZID=America/New_York:20240620T130000\r\nDTSTART;TZID=America/New_York:20240624T090000\r\n\
DTEND;TZID=America/New_York:20240624T100000\r\nSUMMARY:Review (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn written_calendars_read_back_with_the_same_occurrences() {
    let file = read(NY.as_bytes()).expect("parses");
    let event = &file.events[0];
    assert_eq!(event.details.tags, ["work", "team"]);
    assert_eq!(event.details.reminders, [15]);
    let now = instant("2024-01-01T00:00:00Z");
    let mut out = vec![ExportEvent {
        uid: &event.uid,
        details: &event.details,
        start: event.start,
        end: event.end,
        series: Some(&event.series),
        recurrence_id: None,
        sequence: 0,
        created: now,
        modified: now,
    }];
    for exception in &event.exceptions {
        out.push(ExportEvent {
            uid: &event.uid,
            details: &exception.details,
            start: exception.start,
            end: exception.end,
            series: None,
            recurrence_id: Some(exception.recurrence_id),
            sequence: 0,
            created: now,
            modified: now,
        });
    }
    let text = write("Work", &out, now);
    assert!(text.contains("BEGIN:VTIMEZONE\r\nTZID:America/New_York"), "{text}");
    let again = read(text.as_bytes()).expect("reads back");
    assert!(again.skipped.is_empty(), "{:?}", again.skipped);
    assert_eq!(again.name.as_deref(), Some("Work"));
    let (from, to) = (instant("2024-01-01T00:00:00Z"), instant("2025-01-01T00:00:00Z"));
    let expand = |f: &CalendarFile| -> Vec<String> {
        let e = &f.events[0];
        e.series
            .occurrences(&e.exceptions(), from, to, 100)
            .expect("expands")
            .iter()
            .map(|o| format!("{:?}", o.instance))
            .collect()
    };
    assert_eq!(expand(&again), expand(&file));
    assert_eq!(expand(&file).len(), 4);
    assert_eq!(again.events[0].details, event.details);
}

#[test]
fn hostile_files_are_refused_or_skipped_with_reasons() {
    // Missing END: the whole file is refused with a line number.
    let err = read(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n").expect_err("no END");
    assert!(err.to_string().contains("no END"), "{err}");
    // Not a calendar at all.
    assert!(read(b"hello").is_err());
    // Events with bad parts are skipped, each with its reason; good ones still come in.
    let text = "BEGIN:VCALENDAR\r\n\
        BEGIN:VEVENT\r\nUID:1\r\nDTSTART;TZID=Mars/Olympus:20240101T100000\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:2\r\nDTSTART:20240101T100000Z\r\nRRULE:FREQ=SECONDLY;COUNT=100000000\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:3\r\nDTSTART:20240101T100000Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:4\r\nSUMMARY:no start\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:5\r\nDTSTART:20240101T100000Z\r\nDTEND:20230101T100000Z\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:6\r\nDTSTART:20240101T100000Z\r\nSUMMARY:fine\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";
    let mut bytes = text.as_bytes().to_vec();
    // An invalid UTF-8 line and a 10 MB line inside the good event are skipped with a reason.
    let at = text.find("SUMMARY:fine").expect("marker");
    let mut hostile = b"X-BAD:\xff\xfe\r\nX-HUGE:".to_vec();
    hostile.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    hostile.extend(b"\r\n");
    bytes.splice(at..at, hostile);
    let file = read(&bytes).expect("parses");
    assert_eq!(file.events.iter().map(|e| e.uid.as_str()).collect::<Vec<_>>(), ["6"]);
    let skipped: Vec<(Option<&str>, &str)> =
        file.skipped.iter().map(|s| (s.uid.as_deref(), s.reason.as_str())).collect();
    assert_eq!(skipped.len(), 7, "{skipped:?}");
    for (uid, reason) in &skipped {
        assert!(!reason.is_empty(), "{uid:?}");
    }
}

#[test]
fn windows_and_mozilla_zone_names_map_to_iana() {
    assert_eq!(iana_zone("/mozilla.org/20050126_1/Europe/Berlin"), Some(Tz::Europe__Berlin));
    assert_eq!(iana_zone("W. Europe Standard Time"), Some(Tz::Europe__Berlin));
    assert_eq!(iana_zone("America/New_York"), Some(Tz::America__New_York));
    assert_eq!(iana_zone("Nowhere/Special"), None);
}

#[test]
fn every_windows_zone_name_maps_to_a_zone_this_build_knows() {
    for (windows, iana) in WINDOWS_ZONES {
        assert_eq!(iana_zone(windows).map(|tz| tz.name()), Some(iana), "{windows}");
    }
    assert_eq!(iana_zone("romance standard time"), Some(Tz::Europe__Paris));
    assert_eq!(iana_zone("Pacific Standard Time (Mexico)"), Some(Tz::America__Tijuana));
}

#[test]
fn windows_display_names_map_to_the_city_they_list_at_the_offset_they_write() {
    let berlin = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna";
    assert_eq!(iana_zone(berlin), Some(Tz::Europe__Amsterdam));
    assert_eq!(iana_zone("(UTC-05:00) Eastern Time (US & Canada)"), None);
    assert_eq!(iana_zone("(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi"), Some(Tz::Asia__Kolkata));
    assert_eq!(iana_zone("(UTC) Dublin, Edinburgh, Lisbon, London"), Some(Tz::Europe__Dublin));
    // A city at another offset than the one written is not taken.
    assert_eq!(iana_zone("(UTC+03:00) Berlin"), None);
    assert_eq!(iana_zone("(UTC+01:00"), None);
    assert_eq!(iana_zone("(UTC+99999999999:00) Berlin"), None);
    assert_eq!(iana_zone("(UTC+é:00) Berlin"), None);
}

/// An invitation as Exchange and Outlook write it: the VTIMEZONE's TZID is a display name
/// written as TEXT (its commas escaped), which the event's TZID parameter quotes.
#[test]
fn an_exchange_zone_with_escaped_commas_is_the_one_its_events_name() {
    let text = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n\
        BEGIN:VTIMEZONE\r\nTZID:(UTC+01:00) Amsterdam\\, Berlin\\, Bern\\, Rome\\, Stockholm\\, Vienna\r\n\
        BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n\
        BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n\
        BEGIN:VEVENT\r\nUID:040000008200E00074C5B7101A82E00800000000\r\nSUMMARY;LANGUAGE=en-US:Quarterly review\r\n\
        DTSTART;TZID=\"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna\":20240710T090000\r\n\
        DTEND;TZID=\"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna\":20240710T100000\r\n\
        DTSTAMP:20240701T120000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let file = read(text.as_bytes()).expect("parses");
    assert!(file.skipped.is_empty(), "{:?}", file.skipped);
    assert_eq!(file.events.len(), 1);
    assert_eq!(file.events[0].start, CalTime::Zoned(instant("2024-07-10T09:00:00Z"), Tz::Europe__Amsterdam));
    assert_eq!(file.events[0].details.title, "Quarterly review");
}

#[test]
fn an_unknown_zone_name_is_matched_by_its_offsets() {
    let text = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Custom Zone 7\r\nBEGIN:STANDARD\r\nDTSTART:16011104T020000\r\n\
        RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n\
        DTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n\
        END:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:z\r\nDTSTART;TZID=Custom Zone 7:20240710T090000\r\n\
        DURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let file = read(text.as_bytes()).expect("parses");
    assert!(file.skipped.is_empty(), "{:?}", file.skipped);
    assert_eq!(file.events[0].start, CalTime::Zoned(instant("2024-07-10T09:00:00Z"), Tz::America__New_York));
}

#[test]
fn an_event_before_its_zone_waits_for_it_and_the_first_of_two_same_uids_is_kept() {
    let zone = "BEGIN:VTIMEZONE\r\nTZID:Custom Zone 7\r\nBEGIN:STANDARD\r\nDTSTART:16011104T020000\r\n\
        RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n\
        DTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n\
        END:DAYLIGHT\r\nEND:VTIMEZONE\r\n";
    // The first "z" names a zone described further down, so it is read last; it is still
    // the one kept, and the second "z" (readable at once) is the one reported.
    let text = format!(
        "BEGIN:VCALENDAR\r\n\
         BEGIN:VEVENT\r\nUID:z\r\nSUMMARY:first\r\nDTSTART;TZID=Custom Zone 7:20240710T090000\r\nDURATION:PT1H\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:z\r\nSUMMARY:second\r\nDTSTART:20240711T090000Z\r\nEND:VEVENT\r\n\
         {zone}\
         BEGIN:VEVENT\r\nUID:z\r\nRECURRENCE-ID;TZID=Custom Zone 7:20240710T090000\r\nSUMMARY:moved\r\n\
         DTSTART;TZID=Custom Zone 7:20240710T100000\r\nEND:VEVENT\r\n\
         END:VCALENDAR\r\n"
    );
    let file = read(text.as_bytes()).expect("parses");
    assert_eq!(file.events.len(), 1, "{:?}", file.events);
    let event = &file.events[0];
    assert_eq!(event.details.title, "first");
    assert_eq!(event.line, 2);
    assert_eq!(event.start, CalTime::Zoned(instant("2024-07-10T09:00:00Z"), Tz::America__New_York));
    assert_eq!(event.exceptions.len(), 1);
    assert_eq!(event.exceptions[0].details.title, "moved");
    let skipped: Vec<(usize, &str)> = file.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(skipped, [(8, "Another event in this file has the same UID.")]);
}

#[test]
fn events_in_two_calendars_of_one_file_are_all_read_with_their_own_zones() {
    let text = "BEGIN:VCALENDAR\r\nX-WR-CALNAME:One\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T090000Z\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\nBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART;TZID=Europe/Paris:20240101T090000\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";
    let file = read(text.as_bytes()).expect("parses");
    assert_eq!(file.name.as_deref(), Some("One"));
    assert_eq!(file.events.iter().map(|e| e.uid.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(file.skipped.is_empty(), "{:?}", file.skipped);
}
