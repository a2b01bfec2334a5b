//! Fuzz targets kept with the code, run by `cargo test` (proptest): reading calendar files and
//! parsing and expanding repeat rules must never panic or hang, whatever the input.
//!
//! - `calendar_files_*`: arbitrary bytes, structured garbage built from real iCalendar parts,
//!   and byte-level mutations of the recurrence fixtures go through `calendar_file::read`;
//!   everything it accepts is expanded (windows near DTSTART, in year 1 and in year 9999,
//!   `span`, moved instances) with small limits.
//! - `repeat_rules_*`: RRULE strings built from real part names and values (and some junk)
//!   go through `Rule::parse`; every accepted rule is expanded from random starts in every
//!   kind of time.
//!
//! Case counts are small so `cargo test -p calento` stays quick; raise them for a real
//! fuzzing session: `PROPTEST_CASES=20000 cargo test -p calento --release --test fuzz`.
//! A case that runs past [`DEADLINE`] fails as a hang (the deadline is a hang detector, not a
//! speed target: the engine's work budget keeps every expansion far below it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::mpsc;
use std::time::Duration;

use calento::calendar_file;
use calento::recurrence::{CalTime, Length, Rule, Series};
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Longer than any legitimate case takes in a debug build on a busy machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// `cases` unless `PROPTEST_CASES` asks for another number.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// Runs `work` on its own thread and fails the case if it has not finished by [`DEADLINE`];
/// a panic inside is passed on, so proptest shrinks it like any other failure.
fn within_deadline<F: FnOnce() + Send + 'static>(what: String, work: F) {
    let (done, finished) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || {
            work();
            let _ = done.send(());
        })
        .expect("a worker thread");
    match finished.recv_timeout(DEADLINE) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("still running after {DEADLINE:?} (a hang?): {what}"),
    }
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

/// Windows an expansion is asked for: around the series' start, and at both ends of the
/// years a calendar file can write.
fn windows(start: NaiveDateTime) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let day = chrono::Duration::days(1);
    let mut out = vec![
        (at("2024-01-01 00:00"), at("2024-03-01 00:00")),
        (at("0001-01-01 00:00"), at("0001-03-01 00:00")),
        (at("9999-11-01 00:00"), at("9999-12-31 23:59")),
    ];
    if let (Some(from), Some(to)) = (start.checked_sub_signed(day), start.checked_add_signed(day * 40)) {
        out.push((from, to));
    }
    if let (Some(from), Some(to)) = (start.checked_add_signed(day * 3000), start.checked_add_signed(day * 3031)) {
        out.push((from, to));
    }
    out
}

/// Everything the server does with an imported series, with small limits.
fn expand_series(series: &Series, exceptions: &[calento::recurrence::Exception]) {
    let _ = series.span();
    for (from, to) in windows(series.start.axis()) {
        let _ = series.instances(from, to, 50);
        let _ = series.occurrences(exceptions, from, to, 50);
    }
}

fn read_and_expand(bytes: Vec<u8>) {
    let what = format!("{:?}", String::from_utf8_lossy(&bytes));
    within_deadline(what, move || {
        let Ok(file) = calendar_file::read(&bytes) else { return };
        for event in &file.events {
            expand_series(&event.series, &event.exceptions());
            for exception in &event.exceptions {
                let _ = event.series.placed(exception.recurrence_id);
            }
        }
        // Whatever was read is written back out, and that file reads back with the same events.
        let now = at("2026-01-01 00:00");
        let mut export = Vec::new();
        for event in &file.events {
            export.push(calendar_file::ExportEvent {
                uid: &event.uid,
                details: &event.details,
                start: event.start,
                end: event.end,
                series: Some(&event.series),
                recurrence_id: None,
                sequence: event.sequence,
                created: now,
                modified: now,
            });
            for exception in &event.exceptions {
                export.push(calendar_file::ExportEvent {
                    uid: &event.uid,
                    details: &exception.details,
                    start: exception.start,
                    end: exception.end,
                    series: None,
                    recurrence_id: Some(exception.recurrence_id),
                    sequence: event.sequence,
                    created: now,
                    modified: now,
                });
            }
        }
        let written = calendar_file::write("fuzz", &export, now);
        let again = calendar_file::read(written.as_bytes()).expect("a written file reads back");
        let uids = |f: &calendar_file::CalendarFile| f.events.iter().map(|e| e.uid.clone()).collect::<Vec<_>>();
        assert_eq!(uids(&again), uids(&file), "written:\n{written}\nskipped on reading back: {:?}", again.skipped);
    });
}

// --- Structured garbage: real iCalendar parts in random order with edge values ---

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

fn date_text() -> impl Strategy<Value = String> {
    let real = (
        prop_oneof![Just(1i32), Just(1582), Just(1970), 1990i32..2040, Just(2038), Just(9998), Just(9999)],
        1u32..13,
        1u32..32,
    )
        .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
        .prop_map(|d| d.format("%Y%m%d").to_string());
    let odd = (0u32..10_000, 0u32..14, 0u32..33).prop_map(|(y, m, d)| format!("{y:04}{m:02}{d:02}"));
    prop_oneof![8 => real, 1 => odd]
}

fn time_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0u32..24, prop_oneof![Just(0u32), Just(30), 0u32..60]).prop_map(|(h, m)| format!("T{h:02}{m:02}00")),
        1 => pick(&["T023000", "T235959", "T240000", "T235960"]).prop_map(str::to_owned),
        1 => (0u32..26, 0u32..62, 0u32..62).prop_map(|(h, m, s)| format!("T{h:02}{m:02}{s:02}")),
    ]
}

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "America/Santiago",
    "Etc/GMT+12",
    "UTC",
    "Mars/Olympus",
    "/mozilla.org/20050126_1/Europe/Paris",
    "W. Europe Standard Time",
];

/// A date-time value with its parameters: `(params, value)`.
fn time_value() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        3 => (date_text(), time_text()).prop_map(|(d, t)| (String::new(), format!("{d}{t}"))),
        3 => (date_text(), time_text()).prop_map(|(d, t)| (String::new(), format!("{d}{t}Z"))),
        6 => (pick(ZONES), date_text(), time_text()).prop_map(|(z, d, t)| (format!(";TZID={z}"), format!("{d}{t}"))),
        3 => date_text().prop_map(|d| (";VALUE=DATE".to_owned(), d)),
        1 => (date_text(), time_text()).prop_map(|(d, t)| (";VALUE=DATE".to_owned(), format!("{d}{t}"))),
        1 => pick(&["", "garbage", "2024-03-10T02:30:00", "20240310T0230"]).prop_map(|v| (String::new(), v.to_owned())),
    ]
}

fn duration_text() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(&[
            "PT1H",
            "PT0S",
            "P1D",
            "P1W",
            "-PT1H",
            "P",
            "PT",
            "P1DT",
            "P99999999W",
            "PT9999999999H",
            "P1D2H",
            "P0D",
            "P3650D",
            "+P1DT2H3M4S",
            "PT-1H",
        ])
        .prop_map(str::to_owned),
        (0u64..1000, 0u64..100_000).prop_map(|(d, s)| format!("P{d}DT{s}S")),
    ]
}

/// RRULE text: mostly one valid FREQ and a few distinct parts with values in or near their
/// ranges, sometimes junk.
fn rrule_text() -> impl Strategy<Value = String> {
    use proptest::option::weighted;
    let freq = pick(&[
        "SECONDLY",
        "MINUTELY",
        "HOURLY",
        "DAILY",
        "DAILY",
        "WEEKLY",
        "WEEKLY",
        "MONTHLY",
        "MONTHLY",
        "YEARLY",
        "YEARLY",
        "daily",
        "FORTNIGHTLY",
    ])
    .prop_map(|f| format!("FREQ={f}"));
    let by_day = proptest::collection::vec(
        (
            prop_oneof![4 => Just(0i32), 3 => -5i32..6, 1 => -55i32..55],
            pick(&["MO", "TU", "WE", "TH", "FR", "SA", "SU", "XX"]),
        ),
        1..5,
    )
    .prop_map(|days| {
        let items: Vec<String> =
            days.iter().map(|(n, d)| if *n == 0 { (*d).to_owned() } else { format!("{n}{d}") }).collect();
        format!("BYDAY={}", items.join(","))
    });
    let end = prop_oneof![
        prop_oneof![4 => 1u32..40, 1 => Just(0u32), 1 => Just(100_000), 1 => Just(100_001)]
            .prop_map(|n| format!("COUNT={n}")),
        (date_text(), prop_oneof![Just(String::new()), time_text(), time_text().prop_map(|t| format!("{t}Z"))])
            .prop_map(|(d, t)| format!("UNTIL={d}{t}")),
    ];
    let parts = (
        weighted(0.95, freq),
        weighted(
            0.3,
            prop_oneof![4 => 1u32..5, 1 => 1u32..100_001, 1 => Just(0u32)].prop_map(|n| format!("INTERVAL={n}")),
        ),
        weighted(0.4, end),
        (
            weighted(0.1, list("BYSECOND", -1..61)),
            weighted(0.15, list("BYMINUTE", -1..61)),
            weighted(0.2, list("BYHOUR", -1..25)),
            weighted(0.25, list("BYMONTHDAY", -32..33)),
            weighted(0.1, list("BYYEARDAY", -367..368)),
            weighted(0.1, list("BYWEEKNO", -54..55)),
            weighted(0.2, list("BYMONTH", 0..14)),
        ),
        weighted(0.45, by_day),
        weighted(0.2, list("BYSETPOS", -10..11)),
        weighted(0.15, pick(&["WKST=MO", "WKST=SU", "WKST=TH", "WKST=XX"]).prop_map(str::to_owned)),
        weighted(
            0.05,
            pick(&["X-NAME=1", "BYEASTER=0", "=", "FREQ", ";;", "RRULE:FREQ=DAILY", "COUNT=1;COUNT=2"])
                .prop_map(str::to_owned),
        ),
    );
    (parts, any::<prop::sample::Index>()).prop_map(
        |((freq, interval, end, by, by_day, set_pos, wkst, junk), shuffle)| {
            let (second, minute, hour, month_day, year_day, week_no, month) = by;
            let mut parts: Vec<String> = [
                freq, interval, end, second, minute, hour, month_day, year_day, week_no, month, by_day, set_pos, wkst,
                junk,
            ]
            .into_iter()
            .flatten()
            .collect();
            // The order of parts does not matter to RFC 5545; move one to the front sometimes.
            if !parts.is_empty() {
                let i = shuffle.index(parts.len());
                let part = parts.remove(i);
                parts.insert(0, part);
            }
            parts.join(";")
        },
    )
}

fn list(name: &'static str, range: std::ops::Range<i32>) -> impl Strategy<Value = String> {
    proptest::collection::vec(range, 1..5).prop_map(move |values| {
        let values: Vec<String> = values.iter().map(i32::to_string).collect();
        format!("{name}={}", values.join(","))
    })
}

fn time_property(name: &'static str) -> impl Strategy<Value = String> {
    time_value().prop_map(move |(params, value)| format!("{name}{params}:{value}"))
}

fn time_list_property(name: &'static str) -> impl Strategy<Value = String> {
    let item = prop_oneof![
        time_value().prop_map(|(p, v)| (p, v)),
        (time_value(), duration_text()).prop_map(|((p, v), d)| (format!("{p};VALUE=PERIOD"), format!("{v}/{d}"))),
        (time_value(), time_value()).prop_map(|((p, v), (_, w))| (format!("{p};VALUE=PERIOD"), format!("{v}/{w}"))),
    ];
    proptest::collection::vec(item, 1..4).prop_map(move |items| {
        let params = items[0].0.clone();
        let values: Vec<String> = items.into_iter().map(|(_, v)| v).collect();
        format!("{name}{params}:{}", values.join(","))
    })
}

fn event_line() -> BoxedStrategy<String> {
    prop_oneof![
        2 => time_property("DTEND"),
        2 => duration_text().prop_map(|d| format!("DURATION:{d}")),
        4 => rrule_text().prop_map(|r| format!("RRULE:{r}")),
        2 => time_list_property("EXDATE"),
        2 => time_list_property("RDATE"),
        1 => time_property("DTSTART"),
        1 => pick(&["STATUS:CANCELLED", "STATUS:TENTATIVE", "TRANSP:TRANSPARENT", "SEQUENCE:99999999999999999999"])
            .prop_map(str::to_owned),
        1 => "[^\r\n]{0,40}".prop_map(|t| format!("SUMMARY:{t}")),
        1 => pick(&["BEGIN:VALARM\r\nTRIGGER:-PT15M\r\nEND:VALARM", "BEGIN:VALARM\r\nTRIGGER:-P99999999W\r\nEND:VALARM"])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// A VEVENT: a series (UID, DTSTART, then random lines) or, one time in four, a moved or
/// cancelled instance of one (with RECURRENCE-ID). UIDs repeat so instances find series.
fn event_text() -> impl Strategy<Value = String> {
    let uid = pick(&["UID:a", "UID:a", "UID:b", "UID: a ", "UID:"]);
    let head = prop_oneof![
        3 => time_property("DTSTART").prop_map(|l| vec![l]),
        1 => (time_property("RECURRENCE-ID"), time_property("DTSTART")).prop_map(|(r, l)| vec![r, l]),
        1 => time_property("RECURRENCE-ID;RANGE=THISANDFUTURE").prop_map(|r| vec![r]),
    ];
    (uid, head, proptest::collection::vec(event_line(), 0..7)).prop_map(|(uid, head, lines)| {
        format!("BEGIN:VEVENT\r\n{uid}\r\n{}\r\n{}\r\nEND:VEVENT\r\n", head.join("\r\n"), lines.join("\r\n"))
    })
}

fn calendar_text() -> impl Strategy<Value = String> {
    let zone =
        pick(ZONES).prop_map(|z| format!("BEGIN:VTIMEZONE\r\nTZID:{z}\r\nX-LIC-LOCATION:{z}\r\nEND:VTIMEZONE\r\n"));
    (proptest::collection::vec(zone, 0..2), proptest::collection::vec(event_text(), 1..4)).prop_map(
        |(zones, events)| {
            format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\n{}{}END:VCALENDAR\r\n",
                zones.concat(),
                events.concat()
            )
        },
    )
}

/// The fixtures' calendar files, to mutate.
fn fixture_files() -> Vec<String> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recurrence");
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let case: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        out.push(case["ics"].as_str().unwrap().to_owned());
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, &'static str),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), pick(&["0", "9", ";", ":", ",", "/", "-", "Z", "T", "\r\n", "\r\n ", "P9W", "99999", "=-1"]))
            .prop_map(|(at, t)| Mutation::Insert(at, t)),
        (any::<usize>(), 1usize..20).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), 1usize..200).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Flip(at, b) if !bytes.is_empty() => bytes[at % len] = b,
            Mutation::Insert(at, text) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, text.bytes());
            }
            Mutation::Delete(at, n) if !bytes.is_empty() => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Duplicate(at, n) if !bytes.is_empty() => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                let copy: Vec<u8> = bytes[at..end].to_vec();
                bytes.splice(end..end, copy);
            }
            _ => {}
        }
    }
    bytes
}

// --- Series for the rule fuzzer ---

fn start_time() -> impl Strategy<Value = CalTime> {
    let local = (
        prop_oneof![Just(1i32), Just(1970), 1990i32..2040, Just(9998), Just(9999)],
        1u32..13,
        1u32..32,
        0u32..24,
        prop_oneof![Just(0u32), Just(30), 0u32..60],
    )
        .prop_filter_map("a real date", |(y, mo, d, h, mi)| {
            NaiveDate::from_ymd_opt(y, mo, d).and_then(|date| date.and_hms_opt(h, mi, 0))
        });
    let zone = pick(&[
        Tz::Europe__Berlin,
        Tz::America__New_York,
        Tz::Australia__Lord_Howe,
        Tz::Pacific__Apia,
        Tz::America__Santiago,
        Tz::UTC,
    ]);
    prop_oneof![
        local.clone().prop_map(|t| CalTime::Date(t.date())),
        local.clone().prop_map(CalTime::Floating),
        (local, zone).prop_map(|(t, z)| CalTime::Zoned(t, z)),
    ]
}

/// Runs a fuzz target: `cases` inputs from `strategy` (or `PROPTEST_CASES`), shrunk to a
/// minimal one on failure. The deep strategies above need more stack to generate and shrink
/// in a debug build than a test thread has, so the runner gets a thread of its own.
fn fuzz<S: Strategy + 'static>(cases: u32, strategy: fn() -> S, body: fn(S::Value)) {
    let runner = std::thread::Builder::new().stack_size(64 << 20).spawn(move || {
        let mut runner = proptest::test_runner::TestRunner::new(config(cases));
        let result = runner.run(&strategy(), |value| {
            body(value);
            Ok(())
        });
        result.map_err(|failure| failure.to_string())
    });
    if let Err(failure) = runner.expect("a runner thread").join().expect("the runner") {
        panic!("{failure}");
    }
}

#[test]
fn calendar_files_of_arbitrary_bytes_never_panic() {
    fuzz(64, || proptest::collection::vec(any::<u8>(), 0..2048), read_and_expand);
}

#[test]
fn calendar_files_of_structured_garbage_never_panic_and_expand_within_limits() {
    fuzz(64, calendar_text, |text| read_and_expand(text.into_bytes()));
}

#[test]
fn calendar_files_mutated_from_the_fixtures_never_panic() {
    let strategy = || (any::<prop::sample::Index>(), proptest::collection::vec(mutation(), 1..8));
    fuzz(64, strategy, |(index, mutations)| {
        let files = fixture_files();
        let file = files[index.index(files.len())].clone().into_bytes();
        read_and_expand(mutate(file, &mutations));
    });
}

#[test]
fn repeat_rules_from_real_parts_never_panic_or_hang() {
    let strategy = || {
        (
            rrule_text(),
            start_time(),
            prop_oneof![Just(0i64), 1i64..1440, Just(100_000)],
            proptest::option::of(0i64..400),
        )
    };
    fuzz(48, strategy, |(text, start, minutes, exdate_shift)| {
        let described = format!("{text:?} from {start:?}");
        within_deadline(described, move || {
            let Ok(rule) = Rule::parse(&text) else { return };
            // What is accepted is written canonically and reads back the same.
            assert_eq!(Rule::parse(&rule.to_string()).as_ref(), Ok(&rule), "{text}");
            let _ = calento::recurrence::describe(&rule, &start);
            let length = match start {
                CalTime::Date(_) => Length::Days(1 + minutes / 1440),
                _ => Length::Exact(chrono::Duration::minutes(minutes)),
            };
            let exdates = exdate_shift
                .and_then(|days| match start {
                    CalTime::Date(d) => d.checked_add_signed(chrono::Duration::days(days)).map(CalTime::Date),
                    CalTime::Floating(t) => t.checked_add_signed(chrono::Duration::days(days)).map(CalTime::Floating),
                    CalTime::Zoned(t, z) => {
                        t.checked_add_signed(chrono::Duration::days(days)).map(|t| CalTime::Zoned(t, z))
                    }
                })
                .into_iter()
                .collect();
            let series = Series { start, length, rule: Some(rule), rdates: Vec::new(), exdates };
            expand_series(&series, &[]);
        });
    });
}

// --- Cases the fuzzers found, kept as plain tests ---

fn one_event(lines: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// An end past 9999-12-31 cannot be written to a file (years have four digits), so an export
/// would not read back: such events are skipped with a reason when read.
#[test]
fn ends_computed_past_the_year_9999_are_refused_when_read() {
    for lines in [
        "DTSTART:00010301T000000\r\nRDATE;TZID=Europe/Berlin;VALUE=PERIOD:99980104T000000/P727DT0S\r\n",
        "DTSTART:99991231T120000\r\nDURATION:PT24H\r\n",
        "DTSTART;VALUE=DATE:99991231\r\n",
    ] {
        let file = calendar_file::read(one_event(lines).as_bytes()).expect("a calendar");
        assert!(file.events.is_empty(), "{lines:?} was accepted");
        assert!(file.skipped[0].reason.contains("after the year 9999"), "{:?}", file.skipped);
    }
    let last_day = calendar_file::read(one_event("DTSTART;VALUE=DATE:99991230\r\n").as_bytes()).expect("a calendar");
    assert_eq!(last_day.events.len(), 1, "{:?}", last_day.skipped);
}

/// A PERIOD of dates, or one that ends before it starts, was accepted and then written as
/// `RDATE;VALUE=DATE;VALUE=PERIOD:…`, which nothing reads back.
#[test]
fn periods_of_dates_or_backwards_periods_are_refused_when_read() {
    for lines in [
        "DTSTART:20240101T090000\r\nRDATE:20240105/20240106T000000\r\n",
        "DTSTART:20240101T090000\r\nRDATE;VALUE=PERIOD:20240105T090000/20240106\r\n",
        "DTSTART:20240101T090000\r\nRDATE;VALUE=PERIOD:20240105T090000/20240104T090000\r\n",
    ] {
        let file = calendar_file::read(one_event(lines).as_bytes()).expect("a calendar");
        assert!(file.events.is_empty(), "{lines:?} was accepted");
    }
    let good = "DTSTART:20240101T090000\r\nRDATE;VALUE=PERIOD:20240105T090000/PT2H,20240106T090000/20240106T100000\r\n";
    let file = calendar_file::read(one_event(good).as_bytes()).expect("a calendar");
    assert_eq!(file.events.len(), 1, "{:?}", file.skipped);
}
