use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

fn t(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time")
}

fn zoned(text: &str, tz: Tz) -> CalTime {
    CalTime::Zoned(t(text), tz)
}

fn series(start: CalTime, minutes: i64, rule: &str) -> Series {
    Series {
        start,
        length: Length::Exact(Duration::minutes(minutes)),
        rule: Some(Rule::parse(rule).expect("rule")),
        rdates: Vec::new(),
        exdates: Vec::new(),
    }
}

fn starts(series: &Series, from: &str, to: &str) -> Vec<String> {
    series.instances(t(from), t(to), 10_000).expect("expands").iter().map(|i| i.start.to_string()).collect()
}

#[test]
fn a_weekly_meeting_stays_at_nine_local_across_daylight_saving() {
    let meeting = series(zoned("2024-03-01 09:00", Tz::America__New_York), 60, "FREQ=WEEKLY;COUNT=3");
    // 09:00 EST is 14:00Z; after 10 March 09:00 EDT is 13:00Z.
    assert_eq!(
        starts(&meeting, "2024-01-01 00:00", "2025-01-01 00:00"),
        ["2024-03-01T14:00:00Z", "2024-03-08T14:00:00Z", "2024-03-15T13:00:00Z"]
    );
}

#[test]
fn a_time_in_the_spring_gap_keeps_the_offset_before_the_gap() {
    let utc = local_to_utc(Tz::America__New_York, t("2024-03-10 02:30"));
    assert_eq!(utc, t("2024-03-10 07:30"));
    // 01:30 on 3 November happens twice; the first one (EDT) is meant.
    assert_eq!(local_to_utc(Tz::America__New_York, t("2024-11-03 01:30")), t("2024-11-03 05:30"));
}

#[test]
fn exdates_written_in_another_zone_still_match_by_instant() {
    let mut weekly = series(zoned("2024-03-05 14:00", Tz::Europe__Berlin), 60, "FREQ=WEEKLY;COUNT=3");
    weekly.exdates.push(CalTime::Zoned(t("2024-03-12 13:00"), Tz::UTC));
    assert_eq!(
        starts(&weekly, "2024-01-01 00:00", "2025-01-01 00:00"),
        ["2024-03-05T13:00:00Z", "2024-03-19T13:00:00Z"]
    );
}

#[test]
fn a_start_that_does_not_match_the_rule_is_still_the_first_instance() {
    // DTSTART on a Wednesday with BYDAY=MO: the Wednesday is kept, COUNT counts Mondays.
    let odd = series(CalTime::Floating(t("2024-01-03 10:00")), 30, "FREQ=WEEKLY;BYDAY=MO;COUNT=2");
    assert_eq!(
        starts(&odd, "2024-01-01 00:00", "2024-12-31 00:00"),
        ["2024-01-03T10:00:00", "2024-01-08T10:00:00", "2024-01-15T10:00:00"]
    );
}

#[test]
fn all_day_series_report_dates_with_an_exclusive_end() {
    let daily = Series {
        start: CalTime::Date(NaiveDate::from_ymd_opt(2024, 3, 4).expect("date")),
        length: Length::Days(1),
        rule: Some(Rule::parse("FREQ=DAILY;INTERVAL=2;UNTIL=20240308").expect("rule")),
        rdates: Vec::new(),
        exdates: Vec::new(),
    };
    let found = daily.instances(t("2024-03-01 00:00"), t("2024-04-01 00:00"), 100).expect("expands");
    let text: Vec<(String, String)> = found.iter().map(|i| (i.start.to_string(), i.end.to_string())).collect();
    assert_eq!(
        text,
        [
            ("2024-03-04".to_owned(), "2024-03-05".to_owned()),
            ("2024-03-06".to_owned(), "2024-03-07".to_owned()),
            ("2024-03-08".to_owned(), "2024-03-09".to_owned())
        ]
    );
}

#[test]
fn moved_and_cancelled_instances_replace_the_originals() {
    let daily = series(CalTime::Zoned(t("2024-08-12 07:00"), Tz::UTC), 30, "FREQ=DAILY;COUNT=5");
    let exceptions = [
        Exception {
            recurrence_id: CalTime::Zoned(t("2024-08-13 07:00"), Tz::UTC),
            start: CalTime::Zoned(t("2024-09-01 08:00"), Tz::UTC),
            end: CalTime::Zoned(t("2024-09-01 09:00"), Tz::UTC),
            cancelled: false,
        },
        Exception {
            recurrence_id: CalTime::Zoned(t("2024-08-14 07:00"), Tz::UTC),
            start: CalTime::Zoned(t("2024-08-14 07:00"), Tz::UTC),
            end: CalTime::Zoned(t("2024-08-14 07:30"), Tz::UTC),
            cancelled: true,
        },
    ];
    let august = daily.occurrences(&exceptions, t("2024-08-01 00:00"), t("2024-09-01 00:00"), 100).expect("expands");
    let days: Vec<u32> = august.iter().map(|o| o.instance.start.axis().day()).collect();
    assert_eq!(days, [12, 15, 16]);
    let september = daily.occurrences(&exceptions, t("2024-09-01 00:00"), t("2024-10-01 00:00"), 100).expect("expands");
    assert_eq!(september.len(), 1);
    assert_eq!(september[0].exception, Some(0));
    assert_eq!(september[0].instance.recurrence_id.to_string(), "2024-08-13T07:00:00Z");
}

#[test]
fn too_many_instances_is_a_clear_error_not_a_hang() {
    let every_second = series(CalTime::Zoned(t("2024-01-01 00:00"), Tz::UTC), 0, "FREQ=SECONDLY");
    let err = every_second.instances(t("2024-01-01 00:00"), t("2025-01-01 00:00"), 5000).expect_err("too many");
    assert_eq!(err, ExpandError::TooMany { limit: 5000 });
    assert!(every_second.span().is_err(), "an endless rule this dense is refused when saved");
}

#[test]
fn a_far_window_does_not_replay_the_series() {
    // Twenty years of a minutely rule would be ten million instances; the window needs 60.
    let minutely = series(CalTime::Zoned(t("2004-01-01 00:00"), Tz::UTC), 1, "FREQ=MINUTELY");
    let hour = minutely.instances(t("2024-06-01 12:00"), t("2024-06-01 13:00"), 100).expect("expands");
    assert_eq!(hour.len(), 60);
}

#[test]
fn span_covers_the_whole_bounded_series() {
    let weekly = series(zoned("2024-01-01 09:00", Tz::Europe__Paris), 60, "FREQ=WEEKLY;COUNT=3");
    let (first, last) = weekly.span().expect("span");
    assert_eq!(first, t("2024-01-01 08:00"));
    assert_eq!(last, Some(t("2024-01-15 09:00")));
    let endless = series(zoned("2024-01-01 09:00", Tz::Europe__Paris), 60, "FREQ=WEEKLY");
    assert_eq!(endless.span().expect("span").1, None);
}

const ZONES: [Tz; 6] = [
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Australia__Sydney,
    Tz::America__Sao_Paulo,
    Tz::Asia__Kolkata,
    Tz::UTC,
];

const RULES: [&str; 10] = [
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
    "FREQ=MONTHLY;BYDAY=2TU",
    "FREQ=MONTHLY;BYMONTHDAY=-1,15",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=HOURLY;INTERVAL=7;BYHOUR=1,2,3,9,17",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Starting at the window's period gives exactly what replaying from DTSTART gives.
    #[test]
    fn window_queries_match_a_full_replay(
        zone in 0usize..ZONES.len(),
        rule in 0usize..RULES.len(),
        start_days in 0i64..3000,
        start_minute in 0i64..1440,
        offset_days in 0i64..6000,
        window_days in 1i64..60,
    ) {
        let tz = ZONES[zone];
        let start = t("2000-01-01 00:00") + Duration::days(start_days) + Duration::minutes(start_minute);
        let s = series(CalTime::Zoned(start, tz), 45, RULES[rule]);
        let from = start + Duration::days(offset_days);
        let to = from + Duration::days(window_days);
        let fast = s.instances(from, to, 10_000).expect("window");
        // The replay: everything from DTSTART to the window's end, filtered here.
        let replay: Vec<Instance> = s
            .instances(start - Duration::days(2), to, 1_000_000)
            .expect("replay")
            .into_iter()
            .filter(|i| i.start.axis() < to && i.end.axis() > from)
            .collect();
        prop_assert_eq!(fast, replay);
    }

    /// Every instance keeps DTSTART's wall-clock time (unless it fell in a gap), whatever the zone.
    #[test]
    fn instances_keep_their_wall_clock_time(
        zone in 0usize..ZONES.len(),
        start_days in 0i64..9000,
        hour in 0u32..24,
    ) {
        let tz = ZONES[zone];
        let start = t("2000-01-01 00:00") + Duration::days(start_days) + Duration::hours(i64::from(hour));
        let s = series(CalTime::Zoned(start, tz), 30, "FREQ=WEEKLY;BYDAY=MO,SA");
        let found = s.instances(start, start + Duration::days(400), 1000).expect("expands");
        for instance in found {
            let local = utc_to_local(tz, instance.start.axis());
            let shifted_by_gap = local_to_utc(tz, utc_to_local(tz, instance.start.axis())) != instance.start.axis()
                || local.hour() != hour;
            if shifted_by_gap {
                // Only a spring-forward gap may move a start, and then by its size (≤ 1 hour here).
                prop_assert!((i64::from(local.hour()) - i64::from(hour)).abs() <= 1);
            }
            prop_assert_eq!(local.minute(), 0);
        }
    }
}

proptest! {
    /// A placed time is written exactly as chrono's patterns write it.
    #[test]
    fn placed_times_read_as_chronos_patterns(days in -400_000i32..4_000_000, seconds in 0u32..86_400, leap in 0u32..3) {
        let Some(date) = NaiveDate::from_num_days_from_ce_opt(days) else { return Ok(()) };
        // One case in three is a leap second (a nanosecond part of a second or more).
        let nanos = if leap == 0 { 1_500_000_000 } else { 0 };
        let Some(time) = chrono::NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos) else { return Ok(()) };
        let at = date.and_time(time);
        prop_assert_eq!(Placed::Date(date).to_string(), date.format("%Y-%m-%d").to_string());
        prop_assert_eq!(Placed::Floating(at).to_string(), at.format("%Y-%m-%dT%H:%M:%S").to_string());
        prop_assert_eq!(Placed::Utc(at).to_string(), at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
}
