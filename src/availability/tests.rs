use chrono::{NaiveDate, NaiveDateTime, TimeZone, Weekday};
use chrono_tz::Tz;

use super::*;

const BERLIN: Tz = Tz::Europe__Berlin;
const NEW_YORK: Tz = Tz::America__New_York;
const LORD_HOWE: Tz = Tz::Australia__Lord_Howe;

fn t(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time")
}

/// A wall time in a zone that exists, as UTC ms (the earlier one when repeated).
fn at(tz: Tz, text: &str) -> i64 {
    tz.from_local_datetime(&t(text)).earliest().expect("wall time exists").timestamp_millis()
}

fn utc(text: &str) -> i64 {
    t(text).and_utc().timestamp_millis()
}

fn wall(tz: Tz, ms: i64) -> String {
    tz.timestamp_millis_opt(ms).single().expect("instant").format("%Y-%m-%d %H:%M").to_string()
}

fn walls(tz: Tz, list: &[i64]) -> Vec<String> {
    list.iter().map(|ms| wall(tz, *ms)).collect()
}

fn schedule(zone: &str, weekly: &[(u8, &str, &str)], overrides: &[(&str, &[(&str, &str)])]) -> Schedule {
    Schedule::from_input(&ScheduleInput {
        timezone: zone.into(),
        rules: weekly
            .iter()
            .map(|(weekday, start, end)| RuleInput { weekday: *weekday, start: (*start).into(), end: (*end).into() })
            .collect(),
        overrides: overrides
            .iter()
            .map(|(date, ranges)| OverrideInput {
                date: (*date).into(),
                ranges: ranges.iter().map(|(s, e)| RangeInput { start: (*s).into(), end: (*e).into() }).collect(),
            })
            .collect(),
    })
    .expect("valid schedule")
}

fn every_day(zone: &str, start: &str, end: &str) -> Schedule {
    let rules: Vec<(u8, &str, &str)> = (1..=7).map(|d| (d, start, end)).collect();
    schedule(zone, &rules, &[])
}

fn weekdays(zone: &str, start: &str, end: &str) -> Schedule {
    let rules: Vec<(u8, &str, &str)> = (1..=5).map(|d| (d, start, end)).collect();
    schedule(zone, &rules, &[])
}

/// Slots between two local times of the schedule's zone, with `now` long before.
fn offered(s: &Schedule, rules: &SlotRules, busy: &[Interval], from: &str, to: &str) -> Vec<String> {
    let tz = s.zone;
    let found = slots(s, rules, busy, &[], at(tz, "2000-01-01 00:00"), at(tz, from), at(tz, to));
    walls(tz, &found)
}

fn offered_at(s: &Schedule, rules: &SlotRules, booked: &[Interval], now: &str, from: &str, to: &str) -> Vec<String> {
    let tz = s.zone;
    walls(tz, &slots(s, rules, &[], booked, at(tz, now), at(tz, from), at(tz, to)))
}

fn dates(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = list.iter().map(|w| w[..10].to_owned()).collect();
    out.dedup();
    out
}

// ---- The weekly grid ------------------------------------------------------------------

#[test]
fn weekday_hours_offer_a_slot_every_half_hour_on_weekdays_only() {
    let s = weekdays("Europe/Berlin", "09:00", "12:00");
    // 2024-06-03 is a Monday.
    let found = offered(&s, &SlotRules::new(30), &[], "2024-06-03 00:00", "2024-06-10 00:00");
    assert_eq!(found.len(), 5 * 6);
    assert_eq!(
        &found[..7],
        [
            "2024-06-03 09:00",
            "2024-06-03 09:30",
            "2024-06-03 10:00",
            "2024-06-03 10:30",
            "2024-06-03 11:00",
            "2024-06-03 11:30",
            "2024-06-04 09:00"
        ]
    );
    assert_eq!(dates(&found), ["2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06", "2024-06-07"]);
}

#[test]
fn a_slot_must_fit_before_the_range_ends() {
    let s = weekdays("UTC", "09:00", "10:40");
    let found = offered(&s, &SlotRules::new(30), &[], "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 09:00", "2024-06-03 09:30", "2024-06-03 10:00"]);
}

#[test]
fn slots_start_every_interval_even_when_the_interval_differs_from_the_duration() {
    let s = weekdays("Europe/Berlin", "09:00", "11:00");
    let rules = SlotRules { interval_min: 15, ..SlotRules::new(60) };
    let found = offered(&s, &rules, &[], "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(
        found,
        ["2024-06-03 09:00", "2024-06-03 09:15", "2024-06-03 09:30", "2024-06-03 09:45", "2024-06-03 10:00"]
    );
    // Longer interval than the duration leaves gaps between slots.
    let rules = SlotRules { interval_min: 45, ..SlotRules::new(30) };
    let found = offered(&s, &rules, &[], "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 09:00", "2024-06-03 09:45", "2024-06-03 10:30"]);
}

#[test]
fn the_grid_starts_at_each_range_start_not_at_the_hour() {
    let s = schedule("UTC", &[(1, "09:10", "10:10"), (1, "13:45", "14:45")], &[]);
    let found = offered(&s, &SlotRules::new(30), &[], "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 09:10", "2024-06-03 09:40", "2024-06-03 13:45", "2024-06-03 14:15"]);
}

#[test]
fn only_slots_starting_inside_the_requested_span_are_returned() {
    let s = weekdays("UTC", "09:00", "12:00");
    let found = offered(&s, &SlotRules::new(30), &[], "2024-06-03 10:00", "2024-06-03 11:00");
    assert_eq!(found, ["2024-06-03 10:00", "2024-06-03 10:30"]);
    assert!(offered(&s, &SlotRules::new(30), &[], "2024-06-03 11:00", "2024-06-03 10:00").is_empty());
}

// ---- Overrides -----------------------------------------------------------------------

#[test]
fn an_override_without_hours_makes_the_day_unavailable() {
    let s = schedule("Europe/Berlin", &[(1, "09:00", "12:00"), (2, "09:00", "12:00")], &[("2024-06-03", &[])]);
    let found = offered(&s, &SlotRules::new(60), &[], "2024-06-03 00:00", "2024-06-05 00:00");
    assert_eq!(found, ["2024-06-04 09:00", "2024-06-04 10:00", "2024-06-04 11:00"]);
}

#[test]
fn an_override_replaces_the_weekday_hours_and_can_open_a_free_day() {
    let s = schedule(
        "Europe/Berlin",
        &[(1, "09:00", "12:00")],
        &[("2024-06-03", &[("14:00", "15:00"), ("16:00", "17:00")]), ("2024-06-08", &[("10:00", "11:00")])],
    );
    let found = offered(&s, &SlotRules::new(60), &[], "2024-06-03 00:00", "2024-06-10 00:00");
    assert_eq!(found, ["2024-06-03 14:00", "2024-06-03 16:00", "2024-06-08 10:00"]);
}

// ---- Busy time and buffers -----------------------------------------------------------

#[test]
fn busy_time_hides_overlapping_slots_but_one_exactly_touching_is_fine() {
    let s = weekdays("UTC", "09:00", "12:00");
    let busy = [Interval::new(utc("2024-06-03 10:00"), utc("2024-06-03 10:30"))];
    let found = offered(&s, &SlotRules::new(30), &busy, "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(
        found,
        ["2024-06-03 09:00", "2024-06-03 09:30", "2024-06-03 10:30", "2024-06-03 11:00", "2024-06-03 11:30"]
    );
    let one_minute_more = [Interval::new(utc("2024-06-03 09:59"), utc("2024-06-03 10:31"))];
    let found = offered(&s, &SlotRules::new(30), &one_minute_more, "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 09:00", "2024-06-03 11:00", "2024-06-03 11:30"]);
}

#[test]
fn buffers_keep_slots_away_from_busy_time() {
    let s = weekdays("UTC", "09:00", "12:00");
    let busy = [Interval::new(utc("2024-06-03 10:00"), utc("2024-06-03 10:30"))];
    let rules = SlotRules { buffer_before_min: 15, buffer_after_min: 15, ..SlotRules::new(30) };
    let found = offered(&s, &rules, &busy, "2024-06-03 00:00", "2024-06-04 00:00");
    // 09:30 would end at 10:00 and needs 15 minutes after; 10:30 needs 15 minutes before.
    assert_eq!(found, ["2024-06-03 09:00", "2024-06-03 11:00", "2024-06-03 11:30"]);
}

#[test]
fn buffers_may_reach_outside_the_available_hours() {
    let s = weekdays("UTC", "09:00", "10:00");
    let rules = SlotRules { buffer_before_min: 60, buffer_after_min: 60, ..SlotRules::new(60) };
    let found = offered(&s, &rules, &[], "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 09:00"]);
    let early_meeting = [Interval::new(utc("2024-06-03 07:30"), utc("2024-06-03 08:01"))];
    assert!(offered(&s, &rules, &early_meeting, "2024-06-03 00:00", "2024-06-04 00:00").is_empty());
}

#[test]
fn unsorted_busy_input_is_merged_first() {
    let s = weekdays("UTC", "09:00", "12:00");
    let busy = [
        Interval::new(utc("2024-06-03 11:00"), utc("2024-06-03 11:30")),
        Interval::new(utc("2024-06-03 09:00"), utc("2024-06-03 09:30")),
        Interval::new(utc("2024-06-03 09:10"), utc("2024-06-03 09:20")),
    ];
    let found = offered(&s, &SlotRules::new(30), &busy, "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 09:30", "2024-06-03 10:00", "2024-06-03 10:30", "2024-06-03 11:30"]);
}

#[test]
fn merge_busy_sorts_merges_touching_and_drops_empty_intervals() {
    let merged = merge_busy(vec![
        Interval::new(50, 60),
        Interval::new(10, 20),
        Interval::new(20, 30),
        Interval::new(25, 28),
        Interval::new(40, 40),
        Interval::new(45, 41),
        Interval::new(59, 70),
    ]);
    assert_eq!(merged, [Interval::new(10, 30), Interval::new(50, 70)]);
    assert!(merge_busy(Vec::new()).is_empty());
}

// ---- Notice and window ---------------------------------------------------------------

#[test]
fn minimum_notice_in_minutes_hides_slots_starting_too_soon() {
    let s = weekdays("Europe/Berlin", "09:00", "12:00");
    let rules = SlotRules { min_notice: Notice::Minutes(60), ..SlotRules::new(30) };
    let found = offered_at(&s, &rules, &[], "2024-06-03 09:10", "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 10:30", "2024-06-03 11:00", "2024-06-03 11:30"]);
    // No notice still hides what has already started.
    let found = offered_at(&s, &SlotRules::new(30), &[], "2024-06-03 11:00", "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 11:00", "2024-06-03 11:30"]);
}

#[test]
fn not_same_day_notice_opens_the_next_day_in_the_schedules_zone() {
    let s = weekdays("Europe/Berlin", "09:00", "10:00");
    let rules = SlotRules { min_notice: Notice::NotSameDay, ..SlotRules::new(60) };
    // 00:30 on Tuesday in Berlin is still Monday in UTC: today is Tuesday, so Wednesday opens.
    let found = offered_at(&s, &rules, &[], "2024-06-04 00:30", "2024-06-03 00:00", "2024-06-07 00:00");
    assert_eq!(found, ["2024-06-05 09:00", "2024-06-06 09:00"]);
    // Late Monday: Tuesday morning is bookable.
    let found = offered_at(&s, &rules, &[], "2024-06-03 23:59", "2024-06-03 00:00", "2024-06-05 00:00");
    assert_eq!(found, ["2024-06-04 09:00"]);
}

#[test]
fn a_rolling_window_offers_today_and_the_next_days() {
    let s = every_day("Europe/Berlin", "09:00", "10:00");
    let rules = SlotRules { window: Window::Rolling { days: 2 }, ..SlotRules::new(60) };
    let found = offered_at(&s, &rules, &[], "2024-06-03 08:00", "2024-06-01 00:00", "2024-06-30 00:00");
    assert_eq!(found, ["2024-06-03 09:00", "2024-06-04 09:00", "2024-06-05 09:00"]);
    let today_only = SlotRules { window: Window::Rolling { days: 0 }, ..SlotRules::new(60) };
    let found = offered_at(&s, &today_only, &[], "2024-06-03 08:00", "2024-06-01 00:00", "2024-06-30 00:00");
    assert_eq!(found, ["2024-06-03 09:00"]);
}

#[test]
fn a_date_range_window_includes_both_its_ends() {
    let s = every_day("Europe/Berlin", "09:00", "10:00");
    let window = Window::Range {
        from: NaiveDate::from_ymd_opt(2024, 6, 10).expect("date"),
        to: NaiveDate::from_ymd_opt(2024, 6, 12).expect("date"),
    };
    let rules = SlotRules { window, ..SlotRules::new(60) };
    let found = offered_at(&s, &rules, &[], "2024-06-03 08:00", "2024-06-01 00:00", "2024-06-30 00:00");
    assert_eq!(found, ["2024-06-10 09:00", "2024-06-11 09:00", "2024-06-12 09:00"]);
}

// ---- Limits --------------------------------------------------------------------------

fn booking(tz: Tz, start: &str, minutes: i64) -> Interval {
    let s = at(tz, start);
    Interval::new(s, s + minutes * 60_000)
}

#[test]
fn a_day_with_its_maximum_of_bookings_offers_nothing_more() {
    let s = every_day("Europe/Berlin", "09:00", "11:00");
    let rules = SlotRules { max_per_day: Some(2), ..SlotRules::new(60) };
    let booked = [booking(BERLIN, "2024-06-03 14:00", 30), booking(BERLIN, "2024-06-03 16:00", 30)];
    let found = offered_at(&s, &rules, &booked, "2024-06-01 00:00", "2024-06-03 00:00", "2024-06-05 00:00");
    assert_eq!(found, ["2024-06-04 09:00", "2024-06-04 10:00"]);
    // One booking fewer than the maximum leaves the day open.
    let found = offered_at(&s, &rules, &booked[..1], "2024-06-01 00:00", "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 09:00", "2024-06-03 10:00"]);
}

#[test]
fn bookings_count_on_their_local_day_not_their_utc_day() {
    let s = every_day("Europe/Berlin", "09:00", "10:00");
    let rules = SlotRules { max_per_day: Some(1), ..SlotRules::new(60) };
    // 00:30 Tuesday in Berlin is 22:30Z on Monday.
    let booked = [booking(BERLIN, "2024-06-04 00:30", 30)];
    let found = offered_at(&s, &rules, &booked, "2024-06-01 00:00", "2024-06-03 00:00", "2024-06-05 00:00");
    assert_eq!(found, ["2024-06-03 09:00"]);
}

#[test]
fn a_week_with_its_maximum_of_bookings_offers_nothing_more_until_the_next_week() {
    let s = every_day("UTC", "09:00", "10:00");
    // Weeks starting on Sunday: 2024-06-02 (Sun) … 2024-06-08 (Sat).
    let rules = SlotRules { max_per_week: Some(1), week_start: Weekday::Sun, ..SlotRules::new(60) };
    let booked = [booking(Tz::UTC, "2024-06-02 12:00", 60)];
    let found = offered_at(&s, &rules, &booked, "2024-06-01 00:00", "2024-06-01 00:00", "2024-06-11 00:00");
    assert_eq!(found, ["2024-06-01 09:00", "2024-06-09 09:00", "2024-06-10 09:00"]);
    // With Monday weeks, the Sunday booking fills the week of 27 May instead.
    let monday_weeks = SlotRules { week_start: Weekday::Mon, ..rules };
    let found = offered_at(&s, &monday_weeks, &booked, "2024-06-01 00:00", "2024-06-01 00:00", "2024-06-05 00:00");
    assert_eq!(found, ["2024-06-03 09:00", "2024-06-04 09:00"]);
}

#[test]
fn minute_limits_offer_a_slot_only_if_it_still_fits() {
    let s = every_day("UTC", "09:00", "10:00");
    let rules = SlotRules { max_minutes_per_day: Some(90), ..SlotRules::new(30) };
    let sixty = [booking(Tz::UTC, "2024-06-03 14:00", 60)];
    let found = offered_at(&s, &rules, &sixty, "2024-06-01 00:00", "2024-06-03 00:00", "2024-06-04 00:00");
    assert_eq!(found, ["2024-06-03 09:00", "2024-06-03 09:30"]);
    let seventy = [booking(Tz::UTC, "2024-06-03 14:00", 70)];
    assert!(offered_at(&s, &rules, &seventy, "2024-06-01 00:00", "2024-06-03 00:00", "2024-06-04 00:00").is_empty());

    let weekly = SlotRules { max_minutes_per_week: Some(120), ..SlotRules::new(60) };
    let booked = [booking(Tz::UTC, "2024-06-03 14:00", 60), booking(Tz::UTC, "2024-06-05 14:00", 30)];
    let found = offered_at(&s, &weekly, &booked, "2024-06-01 00:00", "2024-06-03 00:00", "2024-06-11 00:00");
    assert_eq!(found, ["2024-06-10 09:00"]);
}

// ---- Daylight saving -----------------------------------------------------------------

#[test]
fn a_nine_o_clock_slot_stays_at_nine_local_across_spring_and_fall_transitions() {
    // (zone, a week holding the spring transition, a week holding the fall one)
    let cases = [
        ("Europe/Berlin", "2024-03-28", "2024-10-24"),
        ("America/New_York", "2024-03-07", "2024-10-31"),
        // Lord Howe moves by 30 minutes: back on 7 April, forward on 6 October 2024.
        ("Australia/Lord_Howe", "2024-10-03", "2024-04-04"),
    ];
    for (zone, spring, fall) in cases {
        let s = every_day(zone, "09:00", "10:00");
        let tz = s.zone;
        for week in [spring, fall] {
            let from = NaiveDate::parse_from_str(week, "%Y-%m-%d").expect("date");
            let to = from + chrono::Days::new(7);
            let found = slots(
                &s,
                &SlotRules::new(60),
                &[],
                &[],
                0,
                at(tz, &format!("{from} 00:00")),
                at(tz, &format!("{to} 00:00")),
            );
            assert_eq!(found.len(), 7, "{zone} {week}");
            assert!(walls(tz, &found).iter().all(|w| w.ends_with(" 09:00")), "{zone} {week}: {:?}", walls(tz, &found));
            let offsets: std::collections::BTreeSet<i64> =
                found.iter().map(|ms| offset_ms(tz, *ms) / MINUTE_MS).collect();
            assert_eq!(offsets.len(), 2, "{zone} {week}: the UTC time moves with the offset");
        }
    }
}

#[test]
fn a_spring_forward_night_offers_no_slot_at_a_wall_time_that_does_not_exist() {
    // New York skips 02:00–03:00 on 10 March 2024, Berlin on 31 March 2024.
    for (zone, date) in [("America/New_York", "2024-03-10"), ("Europe/Berlin", "2024-03-31")] {
        let s = every_day(zone, "01:00", "04:00");
        let found = offered(&s, &SlotRules::new(30), &[], &format!("{date} 00:00"), &format!("{date} 12:00"));
        let expected: Vec<String> =
            ["01:00", "01:30", "03:00", "03:30"].iter().map(|h| format!("{date} {h}")).collect();
        assert_eq!(found, expected, "{zone}");
    }
    // Lord Howe skips 02:00–02:30 on 6 October 2024; the grid is not shifted onto 02:30.
    let s = every_day("Australia/Lord_Howe", "01:00", "04:00");
    let rules = SlotRules { interval_min: 20, ..SlotRules::new(20) };
    let found = offered(&s, &rules, &[], "2024-10-06 00:00", "2024-10-06 12:00");
    let expected = ["01:00", "01:20", "01:40", "02:40", "03:00", "03:20", "03:40"];
    assert_eq!(found, expected.iter().map(|h| format!("2024-10-06 {h}")).collect::<Vec<_>>());
}

#[test]
fn a_fall_back_night_offers_each_wall_time_once_at_its_first_occurrence() {
    // New York repeats 01:00–02:00 on 3 November 2024.
    let s = every_day("America/New_York", "01:00", "03:00");
    let found = slots(&s, &SlotRules::new(30), &[], &[], 0, utc("2024-11-03 00:00"), utc("2024-11-04 00:00"));
    assert_eq!(
        walls(NEW_YORK, &found),
        ["2024-11-03 01:00", "2024-11-03 01:30", "2024-11-03 02:00", "2024-11-03 02:30"]
    );
    // 01:00 and 01:30 are the EDT ones; 02:00 is EST.
    assert_eq!(
        found,
        [utc("2024-11-03 05:00"), utc("2024-11-03 05:30"), utc("2024-11-03 07:00"), utc("2024-11-03 07:30")]
    );
    // Lord Howe repeats 01:30–02:00 on 7 April 2024.
    let s = every_day("Australia/Lord_Howe", "01:00", "03:00");
    let found = offered(&s, &SlotRules::new(30), &[], "2024-04-07 00:00", "2024-04-07 12:00");
    assert_eq!(found, ["2024-04-07 01:00", "2024-04-07 01:30", "2024-04-07 02:00", "2024-04-07 02:30"]);
    assert_eq!(found.len(), 4);
}

#[test]
fn available_hours_follow_the_wall_clock_through_gaps_and_repeats() {
    let s = every_day("America/New_York", "01:00", "04:00");
    // Spring: 01:00 EST (06:00Z) to 04:00 EDT (08:00Z), two hours.
    assert_eq!(
        s.available(utc("2024-03-10 00:00"), utc("2024-03-11 00:00")),
        [Interval::new(utc("2024-03-10 06:00"), utc("2024-03-10 08:00"))]
    );
    // Fall: 01:00 EDT (05:00Z) to 04:00 EST (09:00Z), four hours.
    assert_eq!(
        s.available(utc("2024-11-03 00:00"), utc("2024-11-04 00:00")),
        [Interval::new(utc("2024-11-03 05:00"), utc("2024-11-03 09:00"))]
    );
    // A range ending inside the gap ends at the first instant after it (03:00 EDT, 07:00Z).
    let s = every_day("America/New_York", "01:00", "02:30");
    assert_eq!(
        s.available(utc("2024-03-10 00:00"), utc("2024-03-11 00:00")),
        [Interval::new(utc("2024-03-10 06:00"), utc("2024-03-10 07:00"))]
    );
    assert_eq!(wall_to_utc_ms(NEW_YORK, t("2024-03-10 02:30")), utc("2024-03-10 07:00"));
    assert_eq!(wall_to_utc_ms(NEW_YORK, t("2024-11-03 01:30")), utc("2024-11-03 05:30"));
    assert_eq!(wall_to_utc_ms(LORD_HOWE, t("2024-10-06 02:10")), at(LORD_HOWE, "2024-10-06 02:30"));
}

#[test]
fn available_merges_days_that_touch_at_midnight_and_cuts_to_the_window() {
    let s = schedule("UTC", &[(1, "20:00", "24:00"), (2, "00:00", "02:00"), (2, "09:00", "10:00")], &[]);
    assert_eq!(
        s.available(utc("2024-06-03 21:00"), utc("2024-06-04 09:30")),
        [
            Interval::new(utc("2024-06-03 21:00"), utc("2024-06-04 02:00")),
            Interval::new(utc("2024-06-04 09:00"), utc("2024-06-04 09:30"))
        ]
    );
    // Slots, though, stay within their own day's range: none from 23:30 to 00:30.
    let found = offered(&s, &SlotRules::new(60), &[], "2024-06-03 00:00", "2024-06-05 00:00");
    assert_eq!(
        found,
        [
            "2024-06-03 20:00",
            "2024-06-03 21:00",
            "2024-06-03 22:00",
            "2024-06-03 23:00",
            "2024-06-04 00:00",
            "2024-06-04 01:00",
            "2024-06-04 09:00"
        ]
    );
}

#[test]
fn samoa_skipped_the_30th_of_december_2011_and_so_do_its_slots() {
    let s = every_day("Pacific/Apia", "09:00", "17:00");
    let tz = s.zone;
    let found = slots(&s, &SlotRules::new(480), &[], &[], 0, utc("2011-12-28 00:00"), utc("2012-01-02 00:00"));
    assert_eq!(dates(&walls(tz, &found)), ["2011-12-28", "2011-12-29", "2011-12-31", "2012-01-01", "2012-01-02"]);
    // 29 Dec 09:00 (UTC−10) and 31 Dec 09:00 (UTC+14) are 24 hours apart.
    assert_eq!(found[2] - found[1], DAY_MS);
}

// ---- Input and validation ------------------------------------------------------------

#[test]
fn times_are_read_as_hh_mm_and_24_00_only_ends_a_range() {
    assert_eq!(parse_hhmm("09:30"), Ok(570));
    assert_eq!(parse_hhmm(" 9:05 "), Ok(545));
    assert_eq!(parse_hhmm("00:00"), Ok(0));
    assert_eq!(parse_hhmm("23:59"), Ok(1439));
    assert_eq!(parse_hhmm_end("24:00"), Ok(1440));
    assert_eq!(parse_hhmm_end("17:00"), Ok(1020));
    let err = parse_hhmm("24:00").expect_err("24:00 starts nothing");
    assert!(err.message.contains("end"), "{}", err.message);
    for bad in ["", "9", "9:5", "09:60", "25:00", "24:01", "-1:00", "0930", "09:30:00", "١٢:٠٠", "+9:30", "09 :30"]
    {
        assert!(parse_hhmm(bad).is_err(), "{bad}");
        assert!(parse_hhmm_end(bad).is_err(), "{bad}");
    }
    assert_eq!(format_hhmm(570), "09:30");
    assert_eq!(format_hhmm(1440), "24:00");
}

#[test]
fn dates_are_read_only_as_yyyy_mm_dd() {
    assert_eq!(parse_date("2024-02-29"), Ok(NaiveDate::from_ymd_opt(2024, 2, 29).expect("date")));
    for bad in ["2023-02-29", "2024-2-29", "24-02-29", "2024/02/29", "2024-02-29T00:00", "", "x".repeat(1000).as_str()]
    {
        let err = parse_date(bad).expect_err(bad);
        assert!(err.message.chars().count() < 100, "{}", err.message);
    }
}

#[test]
fn schedule_input_reports_every_problem_naming_its_field() {
    let input = ScheduleInput {
        timezone: "Mars/Olympus".into(),
        rules: vec![
            RuleInput { weekday: 0, start: "09:00".into(), end: "17:00".into() },
            RuleInput { weekday: 8, start: "09:00".into(), end: "17:00".into() },
            RuleInput { weekday: 1, start: "24:00".into(), end: "17:00".into() },
            RuleInput { weekday: 1, start: "10:00".into(), end: "09:00".into() },
            RuleInput { weekday: 1, start: "10:00".into(), end: "noon".into() },
        ],
        overrides: vec![
            OverrideInput { date: "2024-13-01".into(), ranges: vec![] },
            OverrideInput {
                date: "2024-06-03".into(),
                ranges: vec![RangeInput { start: "09:00".into(), end: "09:00".into() }],
            },
            OverrideInput { date: "2024-06-03".into(), ranges: vec![] },
        ],
    };
    let errors = Schedule::from_input(&input).expect_err("invalid");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "timezone",
            "rules[0].weekday",
            "rules[1].weekday",
            "rules[2].start",
            "rules[3].end",
            "rules[4].end",
            "overrides[0].date",
            "overrides[1].ranges[0].end",
            "overrides[2].date"
        ]
    );
    assert!(errors.iter().all(|e| !e.message.is_empty()));
}

#[test]
fn overlapping_and_adjacent_ranges_are_merged() {
    let s = schedule(
        "UTC",
        &[
            (1, "13:00", "17:00"),
            (1, "09:00", "12:00"),
            (1, "12:00", "12:30"),
            (1, "10:00", "11:00"),
            (1, "16:00", "24:00"),
        ],
        &[("2024-06-04", &[("10:00", "11:00"), ("10:30", "12:00")])],
    );
    assert_eq!(s.weekly[0], [Range::new(540, 750), Range::new(780, 1440)]);
    assert_eq!(s.overrides[&NaiveDate::from_ymd_opt(2024, 6, 4).expect("date")], [Range::new(600, 720)]);
    // And the schedule goes back to input that reads the same.
    assert_eq!(Schedule::from_input(&s.to_input()), Ok(s));
}

#[test]
fn schedule_input_is_capped() {
    let many = |n: usize, weekday: u8| -> Vec<RuleInput> {
        (0..n)
            .map(|i| RuleInput {
                weekday,
                start: format_hhmm((i % 700) as u16 * 2),
                end: format_hhmm((i % 700) as u16 * 2 + 1),
            })
            .collect()
    };
    let ok = ScheduleInput { timezone: "UTC".into(), rules: many(48, 1), overrides: vec![] };
    assert!(Schedule::from_input(&ok).is_ok());
    let too_many_a_day = ScheduleInput { timezone: "UTC".into(), rules: many(49, 1), overrides: vec![] };
    assert_eq!(Schedule::from_input(&too_many_a_day).expect_err("49").len(), 1);
    let huge = ScheduleInput { timezone: "UTC".into(), rules: many(100_000, 9), overrides: vec![] };
    assert_eq!(Schedule::from_input(&huge).expect_err("huge")[0].field, "rules");
    let overrides: Vec<OverrideInput> = (0..1001)
        .map(|i| OverrideInput {
            date: (NaiveDate::from_ymd_opt(2024, 1, 1).expect("date") + chrono::Days::new(i)).to_string(),
            ranges: vec![],
        })
        .collect();
    let errors = Schedule::from_input(&ScheduleInput { timezone: "UTC".into(), rules: vec![], overrides })
        .expect_err("too many overrides");
    assert_eq!(errors[0].field, "overrides");
    // Many bad fields still give a short answer.
    let bad = ScheduleInput { timezone: "UTC".into(), rules: many(300, 9), overrides: vec![] };
    assert!(Schedule::from_input(&bad).expect_err("bad").len() <= 100);
}

#[test]
fn schedule_new_validates_and_normalises_ranges() {
    let mut weekly: [Vec<Range>; 7] = Default::default();
    weekly[0] = vec![Range::new(600, 660), Range::new(540, 600)];
    let s = Schedule::new(Tz::UTC, weekly.clone(), BTreeMap::new()).expect("valid");
    assert_eq!(s.weekly[0], [Range::new(540, 660)]);
    weekly[2] = vec![Range::new(600, 600), Range::new(0, 1441)];
    let errors = Schedule::new(Tz::UTC, weekly, BTreeMap::new()).expect_err("invalid");
    assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["weekly[2][0]", "weekly[2][1]"]);
}

#[test]
fn schedule_input_reads_from_json() {
    let json = r#"{"timezone":"Europe/Berlin","rules":[{"weekday":1,"start":"09:00","end":"17:00"}],
                   "overrides":[{"date":"2024-12-24"}]}"#;
    let input: ScheduleInput = serde_json::from_str(json).expect("json");
    let s = Schedule::from_input(&input).expect("valid");
    assert_eq!(s.zone, BERLIN);
    assert_eq!(s.weekly[0], [Range::new(540, 1020)]);
    assert_eq!(s.overrides.values().next(), Some(&Vec::new()));
}

#[test]
fn slot_rules_read_from_json_with_the_interval_defaulting_to_the_duration() {
    let rules: SlotRules = serde_json::from_str(r#"{"duration_min":45}"#).expect("json");
    assert_eq!(rules, SlotRules::new(45));
    let rules: SlotRules = serde_json::from_str(
        r#"{"duration_min":30,"interval_min":15,"min_notice":{"kind":"not_same_day"},
            "window":{"kind":"range","from":"2024-06-01","to":"2024-06-30"},"max_per_day":3,"week_start":"Sun"}"#,
    )
    .expect("json");
    assert_eq!(rules.interval_min, 15);
    assert_eq!(rules.min_notice, Notice::NotSameDay);
    assert_eq!(rules.week_start, Weekday::Sun);
    let back: SlotRules = serde_json::from_str(&serde_json::to_string(&rules).expect("json")).expect("json");
    assert_eq!(back, rules);
}

#[test]
fn slot_rules_report_every_problem_naming_its_field() {
    assert_eq!(SlotRules::new(30).validate(), Ok(()));
    let bad = SlotRules {
        duration_min: 4,
        interval_min: 1441,
        buffer_before_min: 1441,
        buffer_after_min: 2000,
        min_notice: Notice::Minutes(MAX_NOTICE_MIN + 1),
        window: Window::Range {
            from: NaiveDate::from_ymd_opt(2024, 6, 2).expect("date"),
            to: NaiveDate::from_ymd_opt(2024, 6, 1).expect("date"),
        },
        max_per_day: Some(0),
        max_per_week: Some(0),
        max_minutes_per_day: Some(2),
        max_minutes_per_week: Some(20_000),
        week_start: Weekday::Mon,
    };
    let errors = bad.validate().expect_err("invalid");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "duration_min",
            "interval_min",
            "buffer_before_min",
            "buffer_after_min",
            "min_notice",
            "window",
            "max_per_day",
            "max_per_week",
            "max_minutes_per_day",
            "max_minutes_per_week"
        ]
    );
    // Invalid rules offer nothing rather than looping or panicking.
    let s = every_day("UTC", "00:00", "24:00");
    assert!(slots(&s, &SlotRules::new(0), &[], &[], 0, 0, DAY_MS).is_empty());
}

#[test]
fn extreme_instants_and_hand_built_schedules_never_panic() {
    let mut s = every_day("Pacific/Apia", "00:00", "24:00");
    s.weekly[3] = vec![Range::new(900, 600), Range::new(2000, 3000), Range::new(100, 200), Range::new(50, 150)];
    let rules = SlotRules { interval_min: 5, max_per_day: Some(1), ..SlotRules::new(5) };
    let booked = [Interval::new(i64::MIN, i64::MAX), Interval::new(i64::MAX, i64::MIN)];
    let busy = [Interval::new(i64::MAX - 5, i64::MIN)];
    for (now, from, to) in [
        (i64::MIN, i64::MIN, i64::MAX),
        (i64::MAX, i64::MIN, i64::MAX),
        (0, i64::MAX - 1, i64::MAX),
        (0, i64::MIN, i64::MIN + 1),
        (0, 0, i64::MAX),
    ] {
        let found = slots(&s, &rules, &busy, &booked, now, from, to);
        assert!(found.windows(2).all(|w| w[0] < w[1]));
        let _ = s.available(from, to);
    }
    assert_eq!(s.ranges_on(NaiveDate::from_ymd_opt(2024, 6, 6).expect("date")).as_ref(), [Range::new(50, 200)]);
}

#[test]
fn a_long_request_is_cut_to_the_maximum_span() {
    let s = every_day("UTC", "09:00", "10:00");
    let found = slots(&s, &SlotRules::new(60), &[], &[], 0, 0, 10_000 * DAY_MS);
    assert_eq!(found.len() as i64, MAX_SPAN_DAYS);
}
