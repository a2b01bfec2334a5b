//! Recurring series: DTSTART, RRULE, RDATE, EXDATE and moved or cancelled instances, expanded
//! in the series' own wall-clock time and placed on the UTC axis.
//!
//! The rules followed (and the reference they are checked against) are written down in
//! `tests/fixtures/recurrence/README.md`.

mod expand;
mod rule;
mod summary;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;

pub use expand::{Stop, WORK_BUDGET};
pub use rule::{Frequency, MAX_COUNT, Rule, RuleError, Until, WeekdayNum};
pub use summary::describe;

/// The two-letter RRULE code of a weekday (`MO`…`SU`).
pub fn weekday_code_of(day: chrono::Weekday) -> &'static str {
    rule::weekday_code(day)
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month_of(year: i32, month: u32) -> u32 {
    expand::days_in_month(year, month)
}

/// A time as an event writes it: an all-day date, a floating wall-clock time (the same clock
/// reading wherever the viewer is), or a wall-clock time in a zone (UTC is a zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalTime {
    Date(NaiveDate),
    Floating(NaiveDateTime),
    Zoned(NaiveDateTime, Tz),
}

impl CalTime {
    /// The wall-clock reading (midnight for a date).
    pub fn local(&self) -> NaiveDateTime {
        match *self {
            CalTime::Date(d) => d.and_time(NaiveTime::MIN),
            CalTime::Floating(t) | CalTime::Zoned(t, _) => t,
        }
    }

    /// Where this time sits on the UTC axis; floating and all-day values are pinned to UTC.
    pub fn axis(&self) -> NaiveDateTime {
        match *self {
            CalTime::Zoned(t, tz) => local_to_utc(tz, t),
            other => other.local(),
        }
    }
}

/// An instance's time as it is reported: a date, a floating time, or a UTC instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placed {
    Date(NaiveDate),
    Floating(NaiveDateTime),
    Utc(NaiveDateTime),
}

impl Placed {
    pub fn axis(&self) -> NaiveDateTime {
        match *self {
            Placed::Date(d) => d.and_time(NaiveTime::MIN),
            Placed::Floating(t) | Placed::Utc(t) => t,
        }
    }

    /// Milliseconds since the epoch on the UTC axis.
    pub fn axis_ms(&self) -> i64 {
        self.axis().and_utc().timestamp_millis()
    }
}

impl fmt::Display for Placed {
    /// `YYYY-MM-DD` for dates, `YYYY-MM-DDTHH:MM:SS` for floating times, `…Z` for instants.
    /// Written field by field: a `format` pattern is parsed again on every call, and a view
    /// writes two of these per occurrence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::{Datelike, Timelike};
        let date = |f: &mut fmt::Formatter<'_>, d: NaiveDate| {
            if (0..=9999).contains(&d.year()) {
                write!(f, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
            } else {
                write!(f, "{}", d.format("%Y-%m-%d"))
            }
        };
        let time = |f: &mut fmt::Formatter<'_>, t: NaiveDateTime| {
            date(f, t.date())?;
            // A leap second reads as :60, as chrono writes it.
            let second = t.second() + u32::from(t.nanosecond() >= 1_000_000_000);
            write!(f, "T{:02}:{:02}:{second:02}", t.hour(), t.minute())
        };
        match self {
            Placed::Date(d) => date(f, *d),
            Placed::Floating(t) => time(f, *t),
            Placed::Utc(t) => {
                time(f, *t)?;
                f.write_str("Z")
            }
        }
    }
}

/// Converts a wall-clock time in `tz` to UTC. A time in a spring-forward gap takes the offset
/// in effect before the gap (02:30 New York on 2024-03-10 is 07:30Z); a time that occurs twice
/// takes its first occurrence.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> NaiveDateTime {
    let shift = |offset: i32| local - Duration::seconds(i64::from(offset));
    match tz.offset_from_local_datetime(&local) {
        chrono::LocalResult::Single(o) => shift(o.fix().local_minus_utc()),
        chrono::LocalResult::Ambiguous(a, b) => shift(a.fix().local_minus_utc()).min(shift(b.fix().local_minus_utc())),
        chrono::LocalResult::None => {
            // Transitions are far more than a day apart, so a day earlier is before the gap.
            let before = tz.offset_from_utc_datetime(&(local - Duration::days(1))).fix();
            shift(before.local_minus_utc())
        }
    }
}

/// Converts a UTC instant to the wall-clock time in `tz`.
pub fn utc_to_local(tz: Tz, utc: NaiveDateTime) -> NaiveDateTime {
    let offset = tz.offset_from_utc_datetime(&utc).fix().local_minus_utc();
    utc + Duration::seconds(i64::from(offset))
}

/// How long each instance lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Length {
    /// All-day: this many days (the end date is exclusive).
    Days(i64),
    /// Exact elapsed time (from DTEND − DTSTART).
    Exact(Duration),
    /// A DURATION: whole days on the wall clock, then exact time.
    Nominal { days: i64, exact: Duration },
}

impl Length {
    /// An upper bound of the elapsed time, for window margins.
    fn at_most(&self) -> Duration {
        let day = Duration::days(1);
        match *self {
            Length::Days(n) => day * (n.clamp(0, 100_000) as i32),
            Length::Exact(d) => d.max(Duration::zero()),
            Length::Nominal { days, exact } => day * (days.clamp(0, 100_000) as i32 + 1) + exact.max(Duration::zero()),
        }
    }
}

/// An extra date of the series (RDATE), optionally with its own end (a PERIOD value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtraDate {
    pub at: CalTime,
    pub end: Option<CalTime>,
}

/// A series: one event, or a recurring one with its rule, extra dates and exclusions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Series {
    pub start: CalTime,
    pub length: Length,
    pub rule: Option<Rule>,
    pub rdates: Vec<ExtraDate>,
    pub exdates: Vec<CalTime>,
}

/// One instance: `recurrence_id` is its original start, which moved instances keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance {
    pub recurrence_id: Placed,
    pub start: Placed,
    pub end: Placed,
}

/// An instance that was moved or cancelled (a VEVENT with RECURRENCE-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    pub recurrence_id: CalTime,
    pub start: CalTime,
    pub end: CalTime,
    pub cancelled: bool,
}

/// An instance in a window, and which exception (by index) replaced it, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub instance: Instance,
    pub exception: Option<usize>,
}

/// Why an expansion was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpandError {
    /// More instances than `limit` in the window.
    TooMany { limit: usize },
    /// The rule needs too much work to expand (it matches almost nothing, or far too much).
    TooExpensive,
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpandError::TooMany { limit } => {
                write!(f, "More than {limit} occurrences fall in this range; ask for a shorter range.")
            }
            ExpandError::TooExpensive => f.write_str("This repeat rule takes too long to expand; simplify it."),
        }
    }
}

impl std::error::Error for ExpandError {}

/// How the series' local times map to reported times.
#[derive(Debug, Clone, Copy)]
enum Frame {
    Date,
    Floating,
    Zoned(Tz),
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    local: NaiveDateTime,
    placed: Placed,
    end: Option<Placed>,
}

/// Instances a recurring series may have in its first year before it counts as too dense
/// (more often than about every 50 minutes, forever).
pub const MAX_INSTANCES_PER_YEAR: usize = 10_000;

impl Series {
    fn frame(&self) -> Frame {
        match self.start {
            CalTime::Date(_) => Frame::Date,
            CalTime::Floating(_) => Frame::Floating,
            CalTime::Zoned(_, tz) => Frame::Zoned(tz),
        }
    }

    fn place(&self, local: NaiveDateTime) -> Placed {
        match self.frame() {
            Frame::Date => Placed::Date(local.date()),
            Frame::Floating => Placed::Floating(local),
            Frame::Zoned(tz) => Placed::Utc(local_to_utc(tz, local)),
        }
    }

    /// Any written time as a candidate in this series' frame (for RDATE, EXDATE, RECURRENCE-ID).
    fn in_frame(&self, time: CalTime) -> Candidate {
        let (local, placed) = match (self.frame(), time) {
            // The same zone keeps the wall-clock reading, even one inside a gap.
            (Frame::Zoned(tz), CalTime::Zoned(t, their)) if their == tz => (t, Placed::Utc(local_to_utc(tz, t))),
            (Frame::Zoned(tz), CalTime::Zoned(t, their)) => {
                let utc = local_to_utc(their, t);
                (utc_to_local(tz, utc), Placed::Utc(utc))
            }
            (Frame::Zoned(tz), other) => (other.local(), Placed::Utc(local_to_utc(tz, other.local()))),
            (Frame::Floating, other) => (other.axis(), Placed::Floating(other.axis())),
            (Frame::Date, other) => {
                let date = other.axis().date();
                (date.and_time(NaiveTime::MIN), Placed::Date(date))
            }
        };
        Candidate { local, placed, end: None }
    }

    /// A time reported as this series reports its instances (used for RECURRENCE-ID).
    pub fn placed(&self, time: CalTime) -> Placed {
        self.in_frame(time).placed
    }

    fn end_of(&self, local: NaiveDateTime, placed: Placed) -> Placed {
        match (self.length, placed) {
            (Length::Days(n), _) => Placed::Date(local.date() + Duration::days(n)),
            (Length::Exact(d), Placed::Date(date)) => Placed::Date(date + Duration::days(d.num_days().max(1))),
            (Length::Exact(d), Placed::Floating(t)) => Placed::Floating(t + d),
            (Length::Exact(d), Placed::Utc(t)) => Placed::Utc(t + d),
            (Length::Nominal { days, .. }, Placed::Date(date)) => Placed::Date(date + Duration::days(days.max(1))),
            (Length::Nominal { days, exact }, _) => match self.place(local + Duration::days(days)) {
                Placed::Floating(t) => Placed::Floating(t + exact),
                Placed::Utc(t) => Placed::Utc(t + exact),
                date => date,
            },
        }
    }

    /// Whether a rule instance at `local` is on or before UNTIL, compared as the reference
    /// does: as a UTC instant when DTSTART has a zone, as a wall-clock time otherwise.
    fn before_until(&self, local: NaiveDateTime, placed: Placed) -> bool {
        let Some(until) = self.rule.as_ref().and_then(|r| r.until) else { return true };
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        match (self.frame(), until) {
            (Frame::Zoned(_), Until::Date(d)) => placed.axis() <= midnight(d),
            (Frame::Zoned(_), Until::Local(t) | Until::Utc(t)) => placed.axis() <= t,
            (Frame::Floating, Until::Date(d)) => local <= midnight(d),
            (Frame::Floating, Until::Local(t) | Until::Utc(t)) => local <= t,
            (Frame::Date, Until::Date(d)) => local.date() <= d,
            (Frame::Date, Until::Local(t) | Until::Utc(t)) => local.date() <= t.date(),
        }
    }

    /// The instances overlapping `[from, to)` on the UTC axis (`start < to && end > from`),
    /// sorted by start, without exceptions applied. At most `limit` instances.
    pub fn instances(
        &self,
        from: NaiveDateTime,
        to: NaiveDateTime,
        limit: usize,
    ) -> Result<Vec<Instance>, ExpandError> {
        let mut found: BTreeMap<Placed, Candidate> = BTreeMap::new();
        let excluded: Vec<Placed> = self.exdates.iter().map(|t| self.in_frame(*t).placed).collect();
        let margin = Duration::days(2);
        let low = from.checked_sub_signed(self.length.at_most() + margin).unwrap_or(from);
        let high = to.checked_add_signed(margin).unwrap_or(to);
        let keep = |candidate: Candidate, found: &mut BTreeMap<Placed, Candidate>| -> Result<(), ExpandError> {
            if excluded.contains(&candidate.placed) || found.contains_key(&candidate.placed) {
                return Ok(());
            }
            let end = candidate.end.unwrap_or_else(|| self.end_of(candidate.local, candidate.placed));
            if candidate.placed.axis() < to && end.axis() > from {
                if found.len() >= limit {
                    return Err(ExpandError::TooMany { limit });
                }
                found.insert(candidate.placed, Candidate { end: Some(end), ..candidate });
            }
            Ok(())
        };

        let first = self.in_frame(self.start);
        if self.before_until(first.local, first.placed) {
            keep(first, &mut found)?;
        }
        if let Some(rule) = &self.rule {
            let mut failure = None;
            let result = expand::expand(rule, first.local, Some(low), high, &mut |local| {
                let placed = self.place(local);
                if !self.before_until(local, placed) {
                    return Some(Stop::Done);
                }
                if placed.axis() >= to {
                    // Instances only move forward; nothing later can overlap the window.
                    return (local > high).then_some(Stop::Done);
                }
                match keep(Candidate { local, placed, end: None }, &mut found) {
                    Ok(()) => None,
                    Err(e) => {
                        failure = Some(e);
                        Some(Stop::Done)
                    }
                }
            });
            if let Some(e) = failure {
                return Err(e);
            }
            result.map_err(|_| ExpandError::TooExpensive)?;
        }
        for extra in &self.rdates {
            let mut candidate = self.in_frame(extra.at);
            candidate.end = extra.end.map(|end| self.in_frame(end).placed);
            keep(candidate, &mut found)?;
        }
        let mut out: Vec<Instance> = found
            .into_values()
            .map(|c| Instance { recurrence_id: c.placed, start: c.placed, end: c.end.unwrap_or(c.placed) })
            .collect();
        out.sort_by_key(|i| (i.start.axis(), i.start));
        Ok(out)
    }

    /// The occurrences overlapping `[from, to)`: instances, with moved ones at their new times
    /// (even when they moved in from outside the window) and cancelled ones left out.
    pub fn occurrences(
        &self,
        exceptions: &[Exception],
        from: NaiveDateTime,
        to: NaiveDateTime,
        limit: usize,
    ) -> Result<Vec<Occurrence>, ExpandError> {
        let replaced: Vec<Placed> = exceptions.iter().map(|e| self.placed(e.recurrence_id)).collect();
        let mut out: Vec<Occurrence> = self
            .instances(from, to, limit)?
            .into_iter()
            .filter(|i| !replaced.contains(&i.recurrence_id))
            .map(|instance| Occurrence { instance, exception: None })
            .collect();
        for (index, exception) in exceptions.iter().enumerate() {
            if exception.cancelled {
                continue;
            }
            let start = placed_as_written(exception.start);
            let end = placed_as_written(exception.end).max(start);
            if start.axis() < to && end.axis() > from {
                if out.len() >= limit {
                    return Err(ExpandError::TooMany { limit });
                }
                let instance = Instance { recurrence_id: replaced[index], start, end };
                out.push(Occurrence { instance, exception: Some(index) });
            }
        }
        out.sort_by_key(|o| (o.instance.start.axis(), o.instance.recurrence_id));
        Ok(out)
    }

    /// The first start and the last end of the whole series on the UTC axis (`None`: it never
    /// ends), for indexing. Fails for a series too large or too dense to expand.
    pub fn span(&self) -> Result<(NaiveDateTime, Option<NaiveDateTime>), ExpandError> {
        let min = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN).and_time(NaiveTime::MIN);
        let max = NaiveDate::from_ymd_opt(9999, 12, 31).map(|d| d.and_time(NaiveTime::MIN)).unwrap_or(min);
        let bounded = self.rule.as_ref().is_none_or(|r| r.is_bounded());
        if bounded {
            let limit = MAX_COUNT as usize + self.rdates.len() + 1;
            let all = self.instances(min, max, limit)?;
            let first = all.iter().map(|i| i.start.axis()).min().unwrap_or_else(|| self.start.axis());
            let last = all.iter().map(|i| i.end.axis()).max().unwrap_or_else(|| self.start.axis());
            return Ok((first, Some(last)));
        }
        let start = self.start.axis();
        let year_later = start + Duration::days(366);
        self.instances(start - Duration::days(1), year_later, MAX_INSTANCES_PER_YEAR)?;
        let first = self.rdates.iter().map(|r| self.in_frame(r.at).placed.axis()).fold(start, NaiveDateTime::min);
        Ok((first, None))
    }
}

/// A time of an exception as reported: instants in UTC, floating and dates as written.
fn placed_as_written(time: CalTime) -> Placed {
    match time {
        CalTime::Date(d) => Placed::Date(d),
        CalTime::Floating(t) => Placed::Floating(t),
        CalTime::Zoned(t, tz) => Placed::Utc(local_to_utc(tz, t)),
    }
}

#[cfg(test)]
mod tests;
