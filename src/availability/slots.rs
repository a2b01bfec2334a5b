//! The slot engine: bookable start times from a schedule, busy time and a link's rules.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::{Days, Interval, MINUTE_MS, Schedule, clamp_ms, clamp_span, is_merged, local_date, merge_busy, week_of};
use crate::FieldError;

/// The longest minimum notice: a year.
pub const MAX_NOTICE_MIN: u32 = 365 * 24 * 60;
/// The longest rolling window: about ten years.
pub const MAX_ROLLING_DAYS: u32 = 3660;

/// How long before a slot it must be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Notice {
    /// The slot starts at least this many minutes after now.
    Minutes(u32),
    /// Not on today's date in the schedule's zone: the first slot is on the next local day.
    NotSameDay,
}

/// Which dates may be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Window {
    /// Slots whose local date is at most today + `days` (today's date in the schedule's zone):
    /// `days: 0` is today only, `days: 14` is today and the next fourteen dates.
    Rolling { days: u32 },
    /// Slots whose local date is within `from ..= to`.
    Range { from: NaiveDate, to: NaiveDate },
    /// Any date.
    Unlimited,
}

/// A booking link's rules for turning available time into slots. All minutes.
///
/// - Slots last `duration_min` and start every `interval_min` from the start of each range
///   (in local wall time; see the module documentation).
/// - `buffer_before_min` / `buffer_after_min` must be free of busy time around a slot, but may
///   lie outside the available hours.
/// - Limits count the `booked` intervals given to [`slots`] by the local date (and week, from
///   `week_start`) of their start: a day with `max_per_day` bookings offers nothing more; a
///   slot is offered only if the bookings' minutes that day plus its duration stay within
///   `max_minutes_per_day` (the same for weeks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "SlotRulesInput")]
pub struct SlotRules {
    pub duration_min: u32,
    pub interval_min: u32,
    pub buffer_before_min: u32,
    pub buffer_after_min: u32,
    pub min_notice: Notice,
    pub window: Window,
    pub max_per_day: Option<u32>,
    pub max_per_week: Option<u32>,
    pub max_minutes_per_day: Option<u32>,
    pub max_minutes_per_week: Option<u32>,
    pub week_start: Weekday,
}

/// Serde's view: everything but the duration may be left out (the interval defaults to the
/// duration).
#[derive(Deserialize)]
struct SlotRulesInput {
    duration_min: u32,
    #[serde(default)]
    interval_min: Option<u32>,
    #[serde(default)]
    buffer_before_min: u32,
    #[serde(default)]
    buffer_after_min: u32,
    #[serde(default)]
    min_notice: Option<Notice>,
    #[serde(default)]
    window: Option<Window>,
    #[serde(default)]
    max_per_day: Option<u32>,
    #[serde(default)]
    max_per_week: Option<u32>,
    #[serde(default)]
    max_minutes_per_day: Option<u32>,
    #[serde(default)]
    max_minutes_per_week: Option<u32>,
    #[serde(default)]
    week_start: Option<Weekday>,
}

impl From<SlotRulesInput> for SlotRules {
    fn from(i: SlotRulesInput) -> Self {
        Self {
            interval_min: i.interval_min.unwrap_or(i.duration_min),
            buffer_before_min: i.buffer_before_min,
            buffer_after_min: i.buffer_after_min,
            min_notice: i.min_notice.unwrap_or(Notice::Minutes(0)),
            window: i.window.unwrap_or(Window::Unlimited),
            max_per_day: i.max_per_day,
            max_per_week: i.max_per_week,
            max_minutes_per_day: i.max_minutes_per_day,
            max_minutes_per_week: i.max_minutes_per_week,
            week_start: i.week_start.unwrap_or(Weekday::Mon),
            duration_min: i.duration_min,
        }
    }
}

impl SlotRules {
    /// Slots of `duration_min` every `duration_min`, no buffers, no notice, no limits, any date.
    pub fn new(duration_min: u32) -> Self {
        Self {
            duration_min,
            interval_min: duration_min,
            buffer_before_min: 0,
            buffer_after_min: 0,
            min_notice: Notice::Minutes(0),
            window: Window::Unlimited,
            max_per_day: None,
            max_per_week: None,
            max_minutes_per_day: None,
            max_minutes_per_week: None,
            week_start: Weekday::Mon,
        }
    }

    /// Every problem, each naming its field.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, field: &str, message: String| {
            if !ok {
                errors.push(FieldError::new(field, message));
            }
        };
        check(
            (5..=1440).contains(&self.duration_min),
            "duration_min",
            "Choose a duration from 5 minutes to 24 hours.".into(),
        );
        check(
            (5..=1440).contains(&self.interval_min),
            "interval_min",
            "Offer slots every 5 minutes to every 24 hours.".into(),
        );
        check(self.buffer_before_min <= 1440, "buffer_before_min", "A buffer is at most 24 hours.".into());
        check(self.buffer_after_min <= 1440, "buffer_after_min", "A buffer is at most 24 hours.".into());
        if let Notice::Minutes(m) = self.min_notice {
            check(m <= MAX_NOTICE_MIN, "min_notice", "The minimum notice is at most a year.".into());
        }
        match self.window {
            Window::Rolling { days } => check(
                days <= MAX_ROLLING_DAYS,
                "window",
                format!("Bookings can open at most {MAX_ROLLING_DAYS} days ahead."),
            ),
            Window::Range { from, to } => {
                check(from <= to, "window", "The last date must not be before the first.".into())
            }
            Window::Unlimited => {}
        }
        for (value, field, most) in
            [(self.max_per_day, "max_per_day", 1440), (self.max_per_week, "max_per_week", 10_080)]
        {
            if let Some(n) = value {
                check((1..=most).contains(&n), field, format!("Allow from 1 to {most} bookings, or no limit."));
            }
        }
        for (value, field, most) in [
            (self.max_minutes_per_day, "max_minutes_per_day", 1440),
            (self.max_minutes_per_week, "max_minutes_per_week", 10_080),
        ] {
            if let Some(n) = value {
                check(
                    (self.duration_min..=most).contains(&n),
                    field,
                    format!(
                        "Allow from one slot's length ({} minutes) to {most} minutes, or no limit.",
                        self.duration_min
                    ),
                );
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// Bookings per local day and week: (count, total ms), by local date of their start.
struct Tally {
    days: BTreeMap<NaiveDate, (u32, i64)>,
    weeks: BTreeMap<NaiveDate, (u32, i64)>,
}

impl Tally {
    fn new(schedule: &Schedule, rules: &SlotRules, booked: &[Interval]) -> Self {
        let by_day = rules.max_per_day.is_some() || rules.max_minutes_per_day.is_some();
        let by_week = rules.max_per_week.is_some() || rules.max_minutes_per_week.is_some();
        let mut tally = Self { days: BTreeMap::new(), weeks: BTreeMap::new() };
        if !by_day && !by_week {
            return tally;
        }
        for b in booked {
            let date = local_date(schedule.zone, b.start);
            let length = (clamp_ms(b.end) - clamp_ms(b.start)).max(0);
            let add = |map: &mut BTreeMap<NaiveDate, (u32, i64)>, key| {
                let entry = map.entry(key).or_insert((0, 0));
                entry.0 = entry.0.saturating_add(1);
                entry.1 = entry.1.saturating_add(length);
            };
            if by_day {
                add(&mut tally.days, date);
            }
            if by_week {
                add(&mut tally.weeks, week_of(date, rules.week_start));
            }
        }
        tally
    }

    /// Whether one more slot of `duration` fits within the limits of `date` and its week.
    fn allows(&self, rules: &SlotRules, date: NaiveDate, duration: i64) -> bool {
        let fits = |map: &BTreeMap<NaiveDate, (u32, i64)>, key, count: Option<u32>, minutes: Option<u32>| {
            let (n, ms) = map.get(&key).copied().unwrap_or((0, 0));
            count.is_none_or(|max| n < max) && minutes.is_none_or(|max| ms + duration <= i64::from(max) * MINUTE_MS)
        };
        fits(&self.days, date, rules.max_per_day, rules.max_minutes_per_day)
            && fits(&self.weeks, week_of(date, rules.week_start), rules.max_per_week, rules.max_minutes_per_week)
    }
}

/// The start times (UTC ms, ascending, unique) of the slots offered within `[from_ms, to_ms)`.
///
/// A slot `[s, s + duration)` is offered when, besides being on the grid (module docs):
/// it lies within one range of its day on the UTC axis; `[s − buffer_before, s + duration +
/// buffer_after)` overlaps no `busy` interval (touching is fine); `s ≥ now + notice` (or its
/// local date is after today's for [`Notice::NotSameDay`]); its local date is inside the
/// [`Window`]; and the day and week limits of [`SlotRules`] are not reached by `booked`.
///
/// `busy` should be sorted and merged ([`merge_busy`]); other input is merged first. `booked`
/// (this link's confirmed and pending bookings) only feeds the limits: their times block slots
/// only when they are also in `busy`. Rules that fail [`SlotRules::validate`] offer nothing.
/// At most [`super::MAX_SPAN_DAYS`] days from `from_ms` are looked at.
///
/// Time: linear in the days, ranges and grid points of the span plus the busy intervals (one
/// moving pointer), plus one pass over `booked` when limits are set.
pub fn slots(
    schedule: &Schedule,
    rules: &SlotRules,
    busy: &[Interval],
    booked: &[Interval],
    now_ms: i64,
    from_ms: i64,
    to_ms: i64,
) -> Vec<i64> {
    let mut out = Vec::new();
    if rules.validate().is_err() {
        return out;
    }
    let Some((from, to)) = clamp_span(from_ms, to_ms) else { return out };
    let busy: Cow<'_, [Interval]> =
        if is_merged(busy) { Cow::Borrowed(busy) } else { Cow::Owned(merge_busy(busy.to_vec())) };
    let tz = schedule.zone;
    let now = clamp_ms(now_ms);
    let today = local_date(tz, now);
    let duration = i64::from(rules.duration_min) * MINUTE_MS;
    let interval = i64::from(rules.interval_min);
    let before = i64::from(rules.buffer_before_min) * MINUTE_MS;
    let after = i64::from(rules.buffer_after_min) * MINUTE_MS;

    let (earliest, mut first_date) = match rules.min_notice {
        Notice::Minutes(m) => (now + i64::from(m) * MINUTE_MS, None),
        Notice::NotSameDay => (now, today.succ_opt()),
    };
    let earliest = earliest.max(from);
    let mut last_date = local_date(tz, to).succ_opt();
    match rules.window {
        Window::Rolling { days } => {
            last_date = last_date.min(today.checked_add_days(chrono::Days::new(u64::from(days))));
        }
        Window::Range { from: first, to: last } => {
            first_date = first_date.max(Some(first));
            last_date = last_date.min(Some(last));
        }
        Window::Unlimited => {}
    }
    // A wall clock can run back over midnight, so start a day early.
    let (Some(first_date), Some(last_date)) = (local_date(tz, earliest).pred_opt().max(first_date), last_date) else {
        return out;
    };

    let tally = Tally::new(schedule, rules, booked);
    let limited = rules.max_per_day.is_some()
        || rules.max_per_week.is_some()
        || rules.max_minutes_per_day.is_some()
        || rules.max_minutes_per_week.is_some();
    let mut days = Days::new(tz);
    let mut next_busy = 0;
    let mut date = first_date;
    'days: while date <= last_date {
        if !limited || tally.allows(rules, date, duration) {
            let day = days.frame(date);
            for range in schedule.ranges_on(date).iter() {
                let range_end = day.at_or_after(tz, range.end);
                let mut minute = i64::from(range.start);
                while minute < i64::from(range.end) {
                    let step = minute;
                    minute += interval;
                    let Some(start) = day.exact(tz, step) else { continue };
                    if start >= to {
                        break 'days;
                    }
                    if start + duration > range_end {
                        break;
                    }
                    if start < earliest {
                        continue;
                    }
                    let (low, high) = (start - before, start + duration + after);
                    while next_busy < busy.len() && busy[next_busy].end <= low {
                        next_busy += 1;
                    }
                    if busy.get(next_busy).is_none_or(|b| b.start >= high) {
                        out.push(start);
                    }
                }
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    out
}
