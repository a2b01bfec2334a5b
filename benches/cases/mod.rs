//! The recurring series the recurrence benchmarks time: shared by `benches/recurrence.rs`
//! (criterion) and `examples/bench_recurrence.rs` (the side of `scripts/bench-recurrence`
//! that is compared with python-dateutil), so both time exactly the same rules and windows.

#![allow(dead_code, clippy::expect_used)]

use calento::recurrence::{CalTime, Length, Rule, Series};
use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;

/// One benchmark case: a zoned series and the UTC window `[from, to)` asked of it.
pub struct Case {
    pub name: &'static str,
    pub zone: Tz,
    /// DTSTART, wall-clock time in `zone`.
    pub start: &'static str,
    pub rrule: &'static str,
    /// EXDATEs, wall-clock times in `zone`.
    pub exdates: &'static [&'static str],
    pub minutes: i64,
    pub from: &'static str,
    pub to: &'static str,
}

pub fn time(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").expect("benchmark time")
}

impl Case {
    pub fn series(&self) -> Series {
        Series {
            start: CalTime::Zoned(time(self.start), self.zone),
            length: Length::Exact(Duration::minutes(self.minutes)),
            rule: Some(Rule::parse(self.rrule).expect("benchmark rule")),
            rdates: Vec::new(),
            exdates: self.exdates.iter().map(|t| CalTime::Zoned(time(t), self.zone)).collect(),
        }
    }

    pub fn window(&self) -> (NaiveDateTime, NaiveDateTime) {
        (time(self.from), time(self.to))
    }
}

/// A daily series (no COUNT) asked for one month, 1 year and 20 years after DTSTART: the cost
/// of a far window must not grow with the distance (the engine starts at the window's period).
pub static DAILY_NEAR: Case = Case {
    name: "daily, window 1 year after DTSTART",
    zone: Tz::Europe__Berlin,
    start: "2025-03-03T09:00:00",
    rrule: "FREQ=DAILY",
    exdates: &[],
    minutes: 30,
    from: "2026-03-01T00:00:00",
    to: "2026-04-01T00:00:00",
};

pub static DAILY_FAR: Case = Case {
    name: "daily, window 20 years after DTSTART",
    zone: Tz::Europe__Berlin,
    start: "2006-03-06T09:00:00",
    rrule: "FREQ=DAILY",
    exdates: &[],
    minutes: 30,
    from: "2026-03-01T00:00:00",
    to: "2026-04-01T00:00:00",
};

/// Typical rules, each asked for March 2026 (Berlin changes to summer time on the 29th),
/// about a year after DTSTART.
pub static TYPICAL: [Case; 6] = [
    Case {
        name: "daily",
        zone: Tz::Europe__Berlin,
        start: "2025-01-06T09:00:00",
        rrule: "FREQ=DAILY",
        exdates: &[],
        minutes: 30,
        from: "2026-03-01T00:00:00",
        to: "2026-04-01T00:00:00",
    },
    Case {
        name: "weekly BYDAY=MO,WE,FR",
        zone: Tz::Europe__Berlin,
        start: "2025-01-06T09:00:00",
        rrule: "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        exdates: &[],
        minutes: 60,
        from: "2026-03-01T00:00:00",
        to: "2026-04-01T00:00:00",
    },
    Case {
        name: "monthly BYDAY=2TU",
        zone: Tz::Europe__Berlin,
        start: "2025-01-14T18:30:00",
        rrule: "FREQ=MONTHLY;BYDAY=2TU",
        exdates: &[],
        minutes: 90,
        from: "2026-03-01T00:00:00",
        to: "2026-04-01T00:00:00",
    },
    Case {
        name: "monthly last weekday (BYSETPOS=-1)",
        zone: Tz::Europe__Berlin,
        start: "2025-01-31T16:00:00",
        rrule: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        exdates: &[],
        minutes: 60,
        from: "2026-03-01T00:00:00",
        to: "2026-04-01T00:00:00",
    },
    Case {
        name: "yearly",
        zone: Tz::Europe__Berlin,
        start: "2025-03-17T08:00:00",
        rrule: "FREQ=YEARLY",
        exdates: &[],
        minutes: 60,
        from: "2026-03-01T00:00:00",
        to: "2026-04-01T00:00:00",
    },
    Case {
        name: "weekly BYDAY=TU,TH with 4 EXDATEs",
        zone: Tz::Europe__Berlin,
        start: "2025-01-07T10:00:00",
        rrule: "FREQ=WEEKLY;BYDAY=TU,TH",
        exdates: &["2025-12-23T10:00:00", "2025-12-25T10:00:00", "2026-03-05T10:00:00", "2026-03-31T10:00:00"],
        minutes: 45,
        from: "2026-03-01T00:00:00",
        to: "2026-04-01T00:00:00",
    },
];

/// Every case, in the order the comparison table lists them.
pub fn all() -> Vec<&'static Case> {
    let mut out: Vec<&'static Case> = TYPICAL.iter().collect();
    out.push(&DAILY_NEAR);
    out.push(&DAILY_FAR);
    out
}
