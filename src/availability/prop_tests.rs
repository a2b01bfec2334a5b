//! Property tests of the slot engine over many zones and windows holding offset transitions,
//! against a brute-force reference written from the rules alone (quadratic, no shortcuts).

use chrono::{Datelike, Days as DateDays, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

const ZONES: [Tz; 22] = [
    Tz::Australia__Lord_Howe,
    Tz::Pacific__Chatham,
    Tz::Asia__Kathmandu,
    Tz::Asia__Tehran,
    Tz::America__Santiago,
    Tz::America__Sao_Paulo,
    Tz::Europe__Dublin,
    Tz::Pacific__Apia,
    Tz::Europe__Berlin,
    Tz::America__New_York,
    Tz::UTC,
    Tz::America__St_Johns,
    Tz::Africa__Casablanca,
    Tz::America__Havana,
    Tz::Asia__Gaza,
    Tz::Europe__Moscow,
    Tz::Pacific__Kiritimati,
    Tz::Australia__Adelaide,
    Tz::America__Asuncion,
    Tz::Antarctica__Troll,
    Tz::Asia__Amman,
    Tz::Europe__London,
];

// ---- The reference ---------------------------------------------------------------------

fn wall_of(tz: Tz, ms: i64) -> NaiveDateTime {
    tz.timestamp_millis_opt(ms).single().expect("instant").naive_local()
}

fn date_of(tz: Tz, ms: i64) -> NaiveDate {
    wall_of(tz, ms).date()
}

fn local(date: NaiveDate, minute: u16) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN) + chrono::Duration::minutes(i64::from(minute))
}

/// A day's ranges as covered minutes, read back as runs: sorted, merged, touching joined.
fn runs(ranges: &[Range]) -> Vec<(u16, u16)> {
    let mut covered = [false; 1440];
    for r in ranges.iter().filter(|r| r.start < r.end && r.end <= 1440) {
        covered[usize::from(r.start)..usize::from(r.end)].fill(true);
    }
    let mut out = Vec::new();
    let mut minute = 0;
    while minute < 1440 {
        if covered[minute] {
            let start = minute;
            while minute < 1440 && covered[minute] {
                minute += 1;
            }
            out.push((start as u16, minute as u16));
        } else {
            minute += 1;
        }
    }
    out
}

fn day_runs(s: &Schedule, date: NaiveDate) -> Vec<(u16, u16)> {
    match s.overrides.get(&date) {
        Some(ranges) => runs(ranges),
        None => runs(&s.weekly[date.weekday().num_days_from_monday() as usize]),
    }
}

/// The first instant whose wall time is at or after `wall`, by scanning minutes, then seconds.
fn first_at_or_after(tz: Tz, wall: NaiveDateTime) -> i64 {
    if let Some(exact) = tz.from_local_datetime(&wall).earliest() {
        return exact.timestamp_millis();
    }
    let mut u = wall.and_utc().timestamp_millis() - 15 * 3_600_000;
    while wall_of(tz, u) < wall {
        u += 60_000;
    }
    while wall_of(tz, u - 1000) >= wall {
        u -= 1000;
    }
    u
}

fn week_start_of(date: NaiveDate, start: Weekday) -> NaiveDate {
    let mut d = date;
    while d.weekday() != start {
        d = d.pred_opt().expect("date");
    }
    d
}

fn reference_available(s: &Schedule, from: i64, to: i64) -> Vec<Interval> {
    let tz = s.zone;
    let mut pieces = Vec::new();
    let mut date = date_of(tz, from) - DateDays::new(3);
    while date <= date_of(tz, to) + DateDays::new(3) {
        for (start, end) in day_runs(s, date) {
            let a = first_at_or_after(tz, local(date, start)).max(from);
            let b = first_at_or_after(tz, local(date, end)).min(to);
            pieces.push(Interval::new(a, b));
        }
        date = date.succ_opt().expect("date");
    }
    merge_busy(pieces)
}

fn reference_slots(
    s: &Schedule,
    rules: &SlotRules,
    busy: &[Interval],
    booked: &[Interval],
    now: i64,
    from: i64,
    to: i64,
) -> Vec<i64> {
    if rules.validate().is_err() {
        return Vec::new();
    }
    let tz = s.zone;
    let minute = 60_000;
    let duration = i64::from(rules.duration_min) * minute;
    let before = i64::from(rules.buffer_before_min) * minute;
    let after = i64::from(rules.buffer_after_min) * minute;
    let today = date_of(tz, now);
    let mut out = Vec::new();
    let mut date = date_of(tz, from) - DateDays::new(3);
    while date <= date_of(tz, to) + DateDays::new(3) {
        for (start, end) in day_runs(s, date) {
            let range_end = first_at_or_after(tz, local(date, end));
            let mut m = start;
            while m < end {
                let at = m;
                m = m.saturating_add(rules.interval_min as u16);
                let Some(instant) = tz.from_local_datetime(&local(date, at)).earliest() else { continue };
                let slot = instant.timestamp_millis();
                let day = date_of(tz, slot);
                let in_span = from <= slot && slot < to;
                let fits = slot + duration <= range_end;
                let free = busy.iter().all(|b| b.end <= slot - before || b.start >= slot + duration + after);
                let noticed = match rules.min_notice {
                    Notice::Minutes(n) => slot >= now + i64::from(n) * minute,
                    Notice::NotSameDay => day > today && slot >= now,
                };
                let in_window = match rules.window {
                    Window::Rolling { days } => day <= today + DateDays::new(u64::from(days)),
                    Window::Range { from, to } => from <= day && day <= to,
                    Window::Unlimited => true,
                };
                let same_day: Vec<&Interval> = booked.iter().filter(|b| date_of(tz, b.start) == day).collect();
                let week = week_start_of(day, rules.week_start);
                let same_week: Vec<&Interval> =
                    booked.iter().filter(|b| week_start_of(date_of(tz, b.start), rules.week_start) == week).collect();
                let total = |list: &[&Interval]| list.iter().map(|b| (b.end - b.start).max(0)).sum::<i64>();
                let under = rules.max_per_day.is_none_or(|n| (same_day.len() as u32) < n)
                    && rules.max_per_week.is_none_or(|n| (same_week.len() as u32) < n)
                    && rules.max_minutes_per_day.is_none_or(|n| total(&same_day) + duration <= i64::from(n) * minute)
                    && rules.max_minutes_per_week.is_none_or(|n| total(&same_week) + duration <= i64::from(n) * minute);
                if in_span && fits && free && noticed && in_window && under {
                    out.push(slot);
                }
            }
        }
        date = date.succ_opt().expect("date");
    }
    out.sort_unstable();
    out.dedup();
    out
}

// ---- Generated cases -------------------------------------------------------------------

/// Dates in a year where the zone's offset differs from the day before (at 12:00 UTC).
fn transitions(tz: Tz, year: i32) -> Vec<NaiveDate> {
    let offset = |d: NaiveDate| {
        offset_ms(tz, d.and_time(NaiveTime::from_hms_opt(12, 0, 0).expect("noon")).and_utc().timestamp_millis())
    };
    let mut out = Vec::new();
    let Some(mut date) = NaiveDate::from_ymd_opt(year, 1, 1) else { return out };
    let mut last = offset(date);
    while date.year() == year {
        let now = offset(date);
        if now != last {
            out.push(date);
        }
        last = now;
        date = date.succ_opt().expect("date");
    }
    out
}

#[derive(Debug, Clone)]
struct Case {
    zone: usize,
    year: i32,
    pick: usize,
    shift_days: i64,
    from_minute: i64,
    span_minutes: i64,
    now_minutes: i64,
    weekly: Vec<Vec<(u16, u16)>>,
    overrides: Vec<(u64, Vec<(u16, u16)>)>,
    rules: SlotRules,
    window_dates: (u64, u64),
    busy: Vec<(i64, i64)>,
    booked: Vec<(i64, i64)>,
}

fn range_strategy() -> impl Strategy<Value = (u16, u16)> {
    // Many ranges sit in the small hours, where transitions happen; some end at 24:00.
    prop_oneof![
        (0u16..1440, 0u16..=1440),
        (0u16..300, 0u16..360),
        (1200u16..1440, Just(1440u16)),
        Just((0u16, 1440u16)),
    ]
    .prop_map(|(a, b)| (a.min(b), a.max(b)))
}

fn rules_strategy() -> impl Strategy<Value = SlotRules> {
    let notice =
        prop_oneof![(0u32..3000).prop_map(Notice::Minutes), Just(Notice::Minutes(0)), Just(Notice::NotSameDay)];
    let weekday = (0u8..7).prop_map(|d| Weekday::try_from(d).unwrap_or(Weekday::Mon));
    (
        prop_oneof![5u32..=120, 5u32..=600, Just(60u32)],
        prop_oneof![5u32..=120, Just(15u32), Just(30u32)],
        prop_oneof![Just(0u32), 0u32..=90],
        prop_oneof![Just(0u32), 0u32..=90],
        notice,
        (proptest::option::weighted(0.3, 1u32..4), proptest::option::weighted(0.2, 1u32..8)),
        (proptest::option::weighted(0.2, 1u32..=3), proptest::option::weighted(0.2, 1u32..=6)),
        weekday,
    )
        .prop_map(
            |(duration, interval, before, after, notice, (per_day, per_week), (min_day, min_week), week_start)| {
                SlotRules {
                    duration_min: duration,
                    interval_min: interval,
                    buffer_before_min: before,
                    buffer_after_min: after,
                    min_notice: notice,
                    window: Window::Unlimited,
                    max_per_day: per_day,
                    max_per_week: per_week,
                    max_minutes_per_day: min_day.map(|k| (duration * k).min(1440)),
                    max_minutes_per_week: min_week.map(|k| (duration * k).min(10_080)),
                    week_start,
                }
            },
        )
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let times = (0usize..ZONES.len(), prop_oneof![1970i32..2038, Just(2011i32)], any::<usize>(), -3i64..=1);
    let span = (0i64..1440, 60i64..=(8 * 1440), -3000i64..=(6 * 1440));
    let shape = (
        proptest::collection::vec(proptest::collection::vec(range_strategy(), 0..=3), 7),
        proptest::collection::vec((0u64..8, proptest::collection::vec(range_strategy(), 0..=2)), 0..=2),
    );
    let rules = (rules_strategy(), 0u8..4, (0u64..6, 0u64..6));
    let intervals = (
        proptest::collection::vec((-1440i64..(9 * 1440), 1i64..300), 0..=12),
        proptest::collection::vec((-1440i64..(9 * 1440), 0i64..200), 0..=6),
    );
    (times, span, shape, rules, intervals).prop_map(
        |(
            (zone, year, pick, shift_days),
            (from_minute, span_minutes, now_minutes),
            (weekly, overrides),
            (rules, window_kind, window_dates),
            (busy, booked),
        )| {
            let rules = SlotRules {
                window: match window_kind {
                    0 => Window::Unlimited,
                    1 => Window::Rolling { days: (window_dates.0 + window_dates.1) as u32 },
                    // Dates are filled in once the window's dates are known.
                    _ => Window::Range { from: NaiveDate::MIN, to: NaiveDate::MIN },
                },
                ..rules
            };
            Case {
                zone,
                year,
                pick,
                shift_days,
                from_minute,
                span_minutes,
                now_minutes,
                weekly,
                overrides,
                rules,
                window_dates,
                busy,
                booked,
            }
        },
    )
}

struct Built {
    schedule: Schedule,
    rules: SlotRules,
    busy: Vec<Interval>,
    booked: Vec<Interval>,
    now: i64,
    from: i64,
    to: i64,
}

fn build(case: &Case) -> Built {
    let tz = ZONES[case.zone];
    let found = transitions(tz, case.year);
    let anchor = if found.is_empty() {
        NaiveDate::from_ymd_opt(case.year, 1, 1).expect("date") + DateDays::new((case.pick % 360) as u64)
    } else {
        found[case.pick % found.len()]
    };
    let first = if case.shift_days < 0 {
        anchor - DateDays::new(case.shift_days.unsigned_abs())
    } else {
        anchor + DateDays::new(case.shift_days as u64)
    };
    let base = wall_to_utc_ms(tz, first.and_time(NaiveTime::MIN));
    let from = base + case.from_minute * MINUTE_MS;
    let to = from + case.span_minutes * MINUTE_MS;
    let now = base + case.now_minutes * MINUTE_MS;
    let mut weekly: [Vec<Range>; 7] = Default::default();
    for (day, ranges) in case.weekly.iter().enumerate().take(7) {
        weekly[day] = ranges.iter().map(|(a, b)| Range::new(*a, *b)).collect();
    }
    let overrides = case
        .overrides
        .iter()
        .map(|(d, ranges)| (first + DateDays::new(*d), ranges.iter().map(|(a, b)| Range::new(*a, *b)).collect()))
        .collect();
    // Built by hand, not through `new`: empty ranges and unmerged ones must be handled too.
    let schedule = Schedule { zone: tz, weekly, overrides };
    let mut rules = case.rules;
    if let Window::Range { .. } = rules.window {
        let (a, b) = case.window_dates;
        rules.window = Window::Range { from: first + DateDays::new(a.min(b)), to: first + DateDays::new(a.max(b)) };
    }
    let busy = merge_busy(
        case.busy.iter().map(|(at, len)| Interval::new(base + at * MINUTE_MS, base + (at + len) * MINUTE_MS)).collect(),
    );
    let booked = case
        .booked
        .iter()
        .map(|(at, len)| Interval::new(base + at * MINUTE_MS, base + (at + len) * MINUTE_MS))
        .collect();
    Built { schedule, rules, busy, booked, now, from, to }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn slots_keep_every_rule_and_agree_with_the_brute_force_reference(case in case_strategy()) {
        let Built { schedule, rules, busy, booked, now, from, to } = build(&case);
        let tz = schedule.zone;
        let found = slots(&schedule, &rules, &busy, &booked, now, from, to);

        prop_assert!(found.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        let duration = i64::from(rules.duration_min) * MINUTE_MS;
        let available = schedule.available(from - 2 * DAY_MS, to + 2 * DAY_MS);
        for &slot in &found {
            prop_assert!(from <= slot && slot < to);
            // On the grid of one of its day's ranges: never in a gap, never shifted.
            let wall = wall_of(tz, slot);
            prop_assert_eq!((wall.second(), wall.nanosecond()), (0, 0));
            let m = (wall.hour() * 60 + wall.minute()) as u16;
            prop_assert!(
                day_runs(&schedule, wall.date())
                    .iter()
                    .any(|&(a, b)| a <= m && m < b && (m - a).is_multiple_of(rules.interval_min as u16)),
                "{} is off the grid", wall
            );
            prop_assert!(available.iter().any(|i| i.start <= slot && slot + duration <= i.end), "inside available");
            let (low, high) = (
                slot - i64::from(rules.buffer_before_min) * MINUTE_MS,
                slot + duration + i64::from(rules.buffer_after_min) * MINUTE_MS,
            );
            prop_assert!(busy.iter().all(|b| b.end <= low || b.start >= high), "padded slot is free");
            match rules.min_notice {
                Notice::Minutes(n) => prop_assert!(slot >= now + i64::from(n) * MINUTE_MS),
                Notice::NotSameDay => prop_assert!(wall.date() > date_of(tz, now)),
            }
        }
        let expected = reference_slots(&schedule, &rules, &busy, &booked, now, from, to);
        prop_assert_eq!(walls(tz, &found), walls(tz, &expected), "zone {}", tz.name());
    }

    #[test]
    fn available_agrees_with_the_brute_force_reference(case in case_strategy()) {
        let Built { schedule, from, to, .. } = build(&case);
        let found = schedule.available(from, to);
        prop_assert!(found.windows(2).all(|w| w[0].end < w[1].start));
        prop_assert!(found.iter().all(|i| from <= i.start && i.start < i.end && i.end <= to));
        prop_assert_eq!(found, reference_available(&schedule, from, to), "zone {}", schedule.zone.name());
    }

    #[test]
    fn wall_times_map_to_the_first_instant_at_or_after_them(zone in 0usize..ZONES.len(), year in 1970i32..2038, pick: usize, minute in 0u16..1440) {
        let tz = ZONES[zone];
        let found = transitions(tz, year);
        let date = if found.is_empty() { NaiveDate::from_ymd_opt(year, 6, 1).expect("date") } else { found[pick % found.len()] };
        for day in [date.pred_opt().expect("date"), date] {
            let wall = local(day, minute);
            prop_assert_eq!(wall_to_utc_ms(tz, wall), first_at_or_after(tz, wall), "{} {}", tz.name(), wall);
        }
    }
}

fn walls(tz: Tz, list: &[i64]) -> Vec<String> {
    list.iter().map(|ms| format!("{} ({ms})", wall_of(tz, *ms).format("%Y-%m-%d %H:%M"))).collect()
}

#[test]
fn the_zones_tested_have_transitions_to_test() {
    let with = ZONES.iter().filter(|tz| (1970..2038).any(|y| !transitions(**tz, y).is_empty())).count();
    assert!(with >= 19, "{with}");
    assert!(transitions(Tz::Pacific__Apia, 2011).contains(&NaiveDate::from_ymd_opt(2011, 12, 30).expect("date")));
}
