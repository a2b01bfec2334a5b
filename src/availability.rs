//! Availability schedules (weekly hours plus date overrides, in one time zone) and the booking
//! slot engine that turns a schedule, busy time and a link's rules into bookable start times.
//!
//! Instants are UTC milliseconds (`i64`); intervals are half-open `[start, end)`.
//!
//! # Decisions
//!
//! - **Wall time to UTC.** A schedule's hours are wall-clock times in its zone. A wall time
//!   maps to the *first instant whose wall time is at or after it*: a time that does not exist
//!   (a spring-forward gap) maps to the first instant after the gap (02:30 in New York on
//!   2024-03-10 is 03:00 EDT, 07:00Z), a time that happens twice (a fall-back repeat) maps to
//!   the earlier instant (01:30 in New York on 2024-11-03 is 01:30 EDT, 05:30Z). The map never
//!   goes backwards, so ranges stay ordered. A range's end follows the same rule, so 01:00–03:00
//!   on a spring-forward night lasts one hour and on a fall-back night three.
//! - **Days are separate.** Each local day's ranges stand alone: a day ending at 24:00 and the
//!   next one starting at 00:00 are two ranges for slots (a slot never crosses local midnight
//!   into the next day's range, and the grid restarts at 00:00). [`Schedule::available`]
//!   still merges touching intervals on the UTC axis.
//! - **Slot grid.** Candidate starts are `range start + k × interval` in local wall time, for
//!   each range of the day after overrides. A candidate in a gap is skipped (never shifted);
//!   one in a repeated hour is offered once, at the earlier instant. A slot's local date is the
//!   date of the range it comes from.
//! - The remaining slot rules (buffers, notice, window, limits) are documented on
//!   [`SlotRules`] and [`slots`].

mod slots;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::zone::{TimeZoneName, truncate};

pub use slots::{MAX_NOTICE_MIN, MAX_ROLLING_DAYS, Notice, SlotRules, Window, slots};

/// Minutes in a local day; a range may end at 1440 ("24:00").
pub const MINUTES_PER_DAY: u16 = 1440;
/// Ranges one weekday or one override date may have.
pub const MAX_RANGES_PER_DAY: usize = 48;
/// Weekly ranges a schedule may have in all.
pub const MAX_RULES: usize = 7 * MAX_RANGES_PER_DAY;
/// Date overrides a schedule may have.
pub const MAX_OVERRIDES: usize = 1000;
/// The longest span one call of [`Schedule::available`] or [`slots`] looks at: a longer
/// `[from, to)` is cut to `from + MAX_SPAN_DAYS` days.
pub const MAX_SPAN_DAYS: i64 = 732;

pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const DAY_MS: i64 = 86_400_000;
/// 1970-01-01 counted from 0001-01-01 (day 1) as chrono counts days from the common era.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;
/// Instants are clamped to about 0001-01-08 … 9999-12-24 so dates a few days either side exist.
const LOWEST_MS: i64 = -62_135_596_800_000 + 7 * DAY_MS;
const HIGHEST_MS: i64 = 253_402_214_400_000 - 7 * DAY_MS;

/// A half-open interval of UTC milliseconds, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Interval {
    pub start: i64,
    pub end: i64,
}

impl Interval {
    pub fn new(start: i64, end: i64) -> Self {
        Self { start, end }
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Sorts intervals and merges those that overlap or touch; empty and inverted ones are dropped.
pub fn merge_busy(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|i| !i.is_empty());
    intervals.sort_unstable_by_key(|i| (i.start, i.end));
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for next in intervals {
        match out.last_mut() {
            Some(last) if next.start <= last.end => last.end = last.end.max(next.end),
            _ => out.push(next),
        }
    }
    out
}

/// Whether intervals are already as [`merge_busy`] returns them.
pub(crate) fn is_merged(intervals: &[Interval]) -> bool {
    intervals.iter().all(|i| !i.is_empty()) && intervals.windows(2).all(|w| w[0].end < w[1].start)
}

/// Minutes of a local day, `[start, end)`, with `0 <= start < end <= 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Range {
    pub start: u16,
    pub end: u16,
}

impl Range {
    pub fn new(start: u16, end: u16) -> Self {
        Self { start, end }
    }

    fn is_valid(&self) -> bool {
        self.start < self.end && self.end <= MINUTES_PER_DAY
    }
}

/// Sorts ranges and merges overlapping or touching ones; invalid ones are dropped.
pub fn normalize_ranges(ranges: &[Range]) -> Vec<Range> {
    let mut sorted: Vec<Range> = ranges.iter().copied().filter(Range::is_valid).collect();
    sorted.sort_unstable();
    let mut out: Vec<Range> = Vec::with_capacity(sorted.len());
    for next in sorted {
        match out.last_mut() {
            Some(last) if next.start <= last.end => last.end = last.end.max(next.end),
            _ => out.push(next),
        }
    }
    out
}

fn is_normal(ranges: &[Range]) -> bool {
    ranges.iter().all(Range::is_valid) && ranges.windows(2).all(|w| w[0].end < w[1].start)
}

/// When someone can be booked: weekly hours in a zone, and dates whose hours differ.
///
/// Build one with [`Schedule::from_input`] or [`Schedule::new`], which validate and normalise.
/// The fields are public; a schedule built by hand with unsorted, overlapping or invalid ranges
/// is still handled (each day's ranges are normalised when read), never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub zone: Tz,
    /// Index 0 is Monday, 6 is Sunday.
    pub weekly: [Vec<Range>; 7],
    /// A date listed here uses these ranges instead of its weekday's; no ranges: unavailable.
    pub overrides: BTreeMap<NaiveDate, Vec<Range>>,
}

/// One weekly range as a form or an API sends it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleInput {
    /// 1 = Monday … 7 = Sunday (ISO 8601).
    pub weekday: u8,
    /// `HH:MM`, 00:00–23:59.
    pub start: String,
    /// `HH:MM`, 00:01–24:00, after `start`.
    pub end: String,
}

/// One range of an override date.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RangeInput {
    pub start: String,
    pub end: String,
}

/// A date with its own hours; no ranges means unavailable that day.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverrideInput {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default)]
    pub ranges: Vec<RangeInput>,
}

/// A schedule as a form or an API sends it, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScheduleInput {
    pub timezone: String,
    #[serde(default)]
    pub rules: Vec<RuleInput>,
    #[serde(default)]
    pub overrides: Vec<OverrideInput>,
}

/// Errors reported at most, so a huge bad input gets a short answer.
const MAX_ERRORS: usize = 100;

const WEEKDAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

impl Schedule {
    /// Validates and normalises a schedule (ranges sorted, overlapping or touching ones merged).
    /// Errors name fields as `weekly[0][2]` (Monday's third range) and `overrides[2024-12-25][0]`.
    pub fn new(
        zone: Tz,
        weekly: [Vec<Range>; 7],
        overrides: BTreeMap<NaiveDate, Vec<Range>>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let check = |ranges: &[Range], field: &str, errors: &mut Vec<FieldError>| {
            if ranges.len() > MAX_RANGES_PER_DAY {
                errors.push(FieldError::new(field, format!("At most {MAX_RANGES_PER_DAY} ranges a day.")));
            }
            for (i, r) in ranges.iter().enumerate().take(MAX_RANGES_PER_DAY + 1) {
                if !r.is_valid() {
                    errors.push(FieldError::new(&format!("{field}[{i}]"), range_message(*r)));
                }
            }
        };
        for (day, ranges) in weekly.iter().enumerate() {
            check(ranges, &format!("weekly[{day}]"), &mut errors);
        }
        if overrides.len() > MAX_OVERRIDES {
            errors.push(FieldError::new("overrides", format!("At most {MAX_OVERRIDES} dates with their own hours.")));
        } else {
            for (date, ranges) in &overrides {
                check(ranges, &format!("overrides[{}]", date.format("%Y-%m-%d")), &mut errors);
            }
        }
        if !errors.is_empty() {
            errors.truncate(MAX_ERRORS);
            return Err(errors);
        }
        let weekly = weekly.map(|ranges| normalize_ranges(&ranges));
        let overrides = overrides.into_iter().map(|(d, r)| (d, normalize_ranges(&r))).collect();
        Ok(Self { zone, weekly, overrides })
    }

    /// Validates loose input: every problem is reported, each naming its field
    /// (`timezone`, `rules[3].start`, `overrides[1].ranges[0].end`, …).
    pub fn from_input(input: &ScheduleInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let zone = match TimeZoneName::parse(&input.timezone) {
            Ok(zone) => zone.tz(),
            Err(e) => {
                errors.push(FieldError::new("timezone", e.message));
                Tz::UTC
            }
        };

        let mut weekly: [Vec<Range>; 7] = Default::default();
        if input.rules.len() > MAX_RULES {
            errors.push(FieldError::new(
                "rules",
                format!("At most {MAX_RULES} weekly ranges ({MAX_RANGES_PER_DAY} a day)."),
            ));
        } else {
            for (i, rule) in input.rules.iter().enumerate() {
                let field = format!("rules[{i}]");
                let day = if (1..=7).contains(&rule.weekday) {
                    Some(usize::from(rule.weekday - 1))
                } else {
                    errors.push(FieldError::new(
                        &format!("{field}.weekday"),
                        "Choose a weekday from 1 (Monday) to 7 (Sunday).",
                    ));
                    None
                };
                let range = parse_range(&rule.start, &rule.end, &field, &mut errors);
                if let (Some(day), Some(range)) = (day, range) {
                    weekly[day].push(range);
                }
            }
            for (day, ranges) in weekly.iter_mut().enumerate() {
                if ranges.len() > MAX_RANGES_PER_DAY {
                    errors.push(FieldError::new(
                        "rules",
                        format!("At most {MAX_RANGES_PER_DAY} ranges on {}.", WEEKDAY_NAMES[day]),
                    ));
                }
                *ranges = normalize_ranges(ranges);
            }
        }

        let mut overrides = BTreeMap::new();
        if input.overrides.len() > MAX_OVERRIDES {
            errors.push(FieldError::new("overrides", format!("At most {MAX_OVERRIDES} dates with their own hours.")));
        } else {
            for (i, item) in input.overrides.iter().enumerate() {
                let field = format!("overrides[{i}]");
                let date = match parse_date(&item.date) {
                    Ok(date) => Some(date),
                    Err(e) => {
                        errors.push(FieldError::new(&format!("{field}.date"), e.message));
                        None
                    }
                };
                if item.ranges.len() > MAX_RANGES_PER_DAY {
                    errors.push(FieldError::new(
                        &format!("{field}.ranges"),
                        format!("At most {MAX_RANGES_PER_DAY} ranges a day."),
                    ));
                    continue;
                }
                let mut ranges = Vec::with_capacity(item.ranges.len());
                for (j, r) in item.ranges.iter().enumerate() {
                    if let Some(range) = parse_range(&r.start, &r.end, &format!("{field}.ranges[{j}]"), &mut errors) {
                        ranges.push(range);
                    }
                }
                if let Some(date) = date
                    && overrides.insert(date, normalize_ranges(&ranges)).is_some()
                {
                    errors.push(FieldError::new(
                        &format!("{field}.date"),
                        format!("{} has its own hours twice; keep one.", date.format("%Y-%m-%d")),
                    ));
                }
            }
        }

        if errors.is_empty() {
            Ok(Self { zone, weekly, overrides })
        } else {
            errors.truncate(MAX_ERRORS);
            Err(errors)
        }
    }

    /// The schedule as input again (for editing forms); `from_input` of it gives it back.
    pub fn to_input(&self) -> ScheduleInput {
        let mut rules = Vec::new();
        for (day, ranges) in self.weekly.iter().enumerate() {
            for r in normalize_ranges(ranges) {
                rules.push(RuleInput { weekday: day as u8 + 1, start: format_hhmm(r.start), end: format_hhmm(r.end) });
            }
        }
        let overrides = self
            .overrides
            .iter()
            .map(|(date, ranges)| OverrideInput {
                date: date.format("%Y-%m-%d").to_string(),
                ranges: normalize_ranges(ranges)
                    .into_iter()
                    .map(|r| RangeInput { start: format_hhmm(r.start), end: format_hhmm(r.end) })
                    .collect(),
            })
            .collect();
        ScheduleInput { timezone: self.zone.name().to_owned(), rules, overrides }
    }

    /// The ranges of a local date, after overrides: sorted, disjoint, not touching.
    pub fn ranges_on(&self, date: NaiveDate) -> Cow<'_, [Range]> {
        let ranges = match self.overrides.get(&date) {
            Some(ranges) => ranges,
            None => &self.weekly[date.weekday().num_days_from_monday() as usize],
        };
        if is_normal(ranges) { Cow::Borrowed(ranges.as_slice()) } else { Cow::Owned(normalize_ranges(ranges)) }
    }

    /// The available UTC intervals within `[from_ms, to_ms)`: sorted, merged (touching ones too),
    /// each cut to the window. Wall times map to UTC as the module documentation says.
    pub fn available(&self, from_ms: i64, to_ms: i64) -> Vec<Interval> {
        let Some((from, to)) = clamp_span(from_ms, to_ms) else { return Vec::new() };
        let tz = self.zone;
        let mut out: Vec<Interval> = Vec::new();
        let (Some(first), Some(last)) = (local_date(tz, from).pred_opt(), local_date(tz, to).succ_opt()) else {
            return out;
        };
        let mut days = Days::new(tz);
        let mut date = first;
        while date <= last {
            let day = days.frame(date);
            for r in self.ranges_on(date).iter() {
                let start = day.at_or_after(tz, r.start).max(from);
                let end = day.at_or_after(tz, r.end).min(to);
                if start >= end {
                    continue;
                }
                match out.last_mut() {
                    Some(prev) if start <= prev.end => prev.end = prev.end.max(end),
                    _ => out.push(Interval { start, end }),
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        out
    }
}

fn range_message(r: Range) -> String {
    if r.end > MINUTES_PER_DAY || r.start >= MINUTES_PER_DAY {
        "Times go from 00:00 to 24:00.".to_owned()
    } else {
        "The end must be after the start.".to_owned()
    }
}

fn parse_range(start: &str, end: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<Range> {
    let start = parse_hhmm(start).map_err(|e| errors.push(FieldError::new(&format!("{field}.start"), e.message)));
    let end = parse_hhmm_end(end).map_err(|e| errors.push(FieldError::new(&format!("{field}.end"), e.message)));
    let (Ok(start), Ok(end)) = (start, end) else { return None };
    if end <= start {
        errors.push(FieldError::new(&format!("{field}.end"), "The end must be after the start."));
        return None;
    }
    Some(Range { start, end })
}

/// Parses a start time `HH:MM` (or `H:MM`), 00:00–23:59, into minutes of the day.
/// `24:00` is refused here: it can only end a range (see [`parse_hhmm_end`]).
pub fn parse_hhmm(input: &str) -> Result<u16, FieldError> {
    match parse_clock(input) {
        Some(MINUTES_PER_DAY) => Err(FieldError::new("time", "24:00 can only end a range.")),
        Some(minutes) => Ok(minutes),
        None => Err(bad_time(input)),
    }
}

/// Parses an end time `HH:MM`, 00:00–24:00, into minutes of the day (24:00 is 1440).
pub fn parse_hhmm_end(input: &str) -> Result<u16, FieldError> {
    parse_clock(input).ok_or_else(|| bad_time(input))
}

fn bad_time(input: &str) -> FieldError {
    FieldError::new(
        "time",
        format!("\u{201c}{}\u{201d} is not a time; write it as HH:MM, for example 09:30.", truncate(input.trim(), 16)),
    )
}

fn parse_clock(input: &str) -> Option<u16> {
    let (h, m) = input.trim().split_once(':')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || h.len() > 2 || !digits(m) || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(MINUTES_PER_DAY),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Minutes of the day as `HH:MM` (1440 is `24:00`).
pub fn format_hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Parses a date written exactly `YYYY-MM-DD`.
pub fn parse_date(input: &str) -> Result<NaiveDate, FieldError> {
    let text = input.trim();
    let bytes = text.as_bytes();
    let shape = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() });
    let date = shape
        .then(|| {
            let year = text[0..4].parse().ok()?;
            let month = text[5..7].parse().ok()?;
            let day = text[8..10].parse().ok()?;
            NaiveDate::from_ymd_opt(year, month, day)
        })
        .flatten();
    date.ok_or_else(|| {
        FieldError::new(
            "date",
            format!("\u{201c}{}\u{201d} is not a date; write it as YYYY-MM-DD.", truncate(text, 16)),
        )
    })
}

// ---- Wall time and the UTC axis -------------------------------------------------------

/// Clamps an instant to the range where every date a few days either side exists.
pub(crate) fn clamp_ms(ms: i64) -> i64 {
    ms.clamp(LOWEST_MS, HIGHEST_MS)
}

/// `[from, to)` clamped to representable dates and to [`MAX_SPAN_DAYS`]; `None` when empty.
pub(crate) fn clamp_span(from_ms: i64, to_ms: i64) -> Option<(i64, i64)> {
    let from = clamp_ms(from_ms);
    let to = clamp_ms(to_ms).min(from + MAX_SPAN_DAYS * DAY_MS);
    (from < to).then_some((from, to))
}

fn naive(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc()
}

/// The zone's offset (local minus UTC, in ms) at a UTC instant.
pub(crate) fn offset_ms(tz: Tz, utc_ms: i64) -> i64 {
    i64::from(tz.offset_from_utc_datetime(&naive(utc_ms)).fix().local_minus_utc()) * 1000
}

/// Local midnight of a date as milliseconds of the local time line.
pub(crate) fn local_ms_of(date: NaiveDate) -> i64 {
    (i64::from(date.num_days_from_ce()) - EPOCH_DAYS_FROM_CE) * DAY_MS
}

/// The local date at a UTC instant.
pub(crate) fn local_date(tz: Tz, utc_ms: i64) -> NaiveDate {
    let utc_ms = clamp_ms(utc_ms);
    let days = (utc_ms + offset_ms(tz, utc_ms)).div_euclid(DAY_MS) + EPOCH_DAYS_FROM_CE;
    i32::try_from(days).ok().and_then(NaiveDate::from_num_days_from_ce_opt).unwrap_or_default()
}

/// The instant of a wall time (ms of the local time line) that exists: the earlier of two when
/// it happens twice, `None` in a spring-forward gap.
pub(crate) fn exact_instant(tz: Tz, local_ms: i64) -> Option<i64> {
    let seconds = |o: &<Tz as TimeZone>::Offset| i64::from(o.fix().local_minus_utc()) * 1000;
    match tz.offset_from_local_datetime(&naive(local_ms)) {
        chrono::LocalResult::Single(o) => Some(local_ms - seconds(&o)),
        chrono::LocalResult::Ambiguous(a, b) => Some(local_ms - seconds(&a).max(seconds(&b))),
        chrono::LocalResult::None => None,
    }
}

/// The first instant whose wall time is at or after `local_ms`: the wall time's own instant
/// (the earlier one when it happens twice), or, inside a gap, the first instant after the gap.
pub(crate) fn at_or_after(tz: Tz, local_ms: i64) -> i64 {
    if let Some(instant) = exact_instant(tz, local_ms) {
        return instant;
    }
    // In a gap: the transition lies within a day either side. Search whole seconds (the tz
    // database changes offsets on whole seconds) for the first one whose wall time reaches it.
    let wall = |second: i64| second * 1000 + offset_ms(tz, second * 1000);
    let mut lo = local_ms.div_euclid(1000) - 86_400;
    let mut hi = local_ms.div_euclid(1000) + 86_400;
    if wall(lo) >= local_ms || wall(hi) < local_ms {
        return local_ms - offset_ms(tz, local_ms);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if wall(mid) >= local_ms {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi * 1000
}

/// Wall time to UTC as this module maps it (see the module documentation): the first instant
/// whose wall time is at or after `local`.
pub fn wall_to_utc_ms(tz: Tz, local: NaiveDateTime) -> i64 {
    let local_ms = clamp_ms(local.and_utc().timestamp_millis());
    at_or_after(tz, local_ms)
}

/// The first day of the week that holds `date`, for weeks starting on `week_start`.
pub(crate) fn week_of(date: NaiveDate, week_start: Weekday) -> NaiveDate {
    let back = (7 + date.weekday().num_days_from_monday() - week_start.num_days_from_monday()) % 7;
    date.checked_sub_days(chrono::Days::new(u64::from(back))).unwrap_or(date)
}

/// One local day's map from wall minutes to UTC.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DayFrame {
    /// Local midnight on the local time line.
    midnight: i64,
    /// The day's offset when one offset holds from its midnight to the next.
    uniform: Option<i64>,
}

impl DayFrame {
    /// The instant of a wall time of this day that exists; `None` in a gap.
    pub(crate) fn exact(&self, tz: Tz, minute: i64) -> Option<i64> {
        let local = self.midnight + minute * MINUTE_MS;
        match self.uniform {
            Some(offset) => Some(local - offset),
            None => exact_instant(tz, local),
        }
    }

    /// [`at_or_after`] for a wall time of this day (minute 1440 is the next midnight).
    pub(crate) fn at_or_after(&self, tz: Tz, minute: u16) -> i64 {
        let local = self.midnight + i64::from(minute) * MINUTE_MS;
        match self.uniform {
            Some(offset) => local - offset,
            None => at_or_after(tz, local),
        }
    }
}

/// Day frames for dates taken in order, reusing each next midnight.
pub(crate) struct Days {
    tz: Tz,
    /// The last date's next midnight: (that date, its instant, the offset there).
    carried: Option<(NaiveDate, i64, i64)>,
}

impl Days {
    pub(crate) fn new(tz: Tz) -> Self {
        Self { tz, carried: None }
    }

    /// A day is uniform when its midnight and the next map with the same offset, and that
    /// offset still holds just before the next midnight: one offset, no transition inside.
    /// (Two offset changes within one day that cancel out would escape this test; the tz
    /// database has no two changes less than two days apart that cancel out since 1900,
    /// checked against tzdata 2025b.)
    pub(crate) fn frame(&mut self, date: NaiveDate) -> DayFrame {
        let tz = self.tz;
        let midnight = local_ms_of(date);
        let (start, start_offset) = match self.carried {
            Some((d, instant, offset)) if d == date => (instant, offset),
            _ => {
                let instant = at_or_after(tz, midnight);
                (instant, offset_ms(tz, instant))
            }
        };
        let end = at_or_after(tz, midnight + DAY_MS);
        let end_offset = offset_ms(tz, end);
        self.carried = date.succ_opt().map(|next| (next, end, end_offset));
        let uniform = (start == midnight - start_offset
            && end == midnight + DAY_MS - start_offset
            && offset_ms(tz, end - 1) == start_offset)
            .then_some(start_offset);
        DayFrame { midnight, uniform }
    }
}
