//! Expansion of a rule into local wall-clock start times, period by period, starting at the
//! period of the window rather than at DTSTART when the rule allows it.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

use super::rule::{Frequency, Rule};

/// What stopped an expansion early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The visitor has what it needs.
    Done,
    /// The work budget ran out (a rule that produces almost nothing, or far too much).
    Budget,
}

/// Work allowed for one expansion: days and candidate times examined.
pub const WORK_BUDGET: u64 = 4_000_000;

/// The rule with its defaults from DTSTART filled in (RFC 5545 §3.3.10, as dateutil does).
struct Plan<'a> {
    rule: &'a Rule,
    start: NaiveDateTime,
    hours: Vec<u32>,
    minutes: Vec<u32>,
    seconds: Vec<u32>,
    month_days: Vec<i8>,
    months: Vec<u8>,
    /// BYDAY without ordinals (or with ordinals that mean nothing at this frequency).
    weekdays: [bool; 7],
    /// BYDAY with ordinals, for MONTHLY and YEARLY.
    numbered: Vec<(i16, Weekday)>,
    /// Times of day for DAILY and coarser, sorted.
    times: Vec<NaiveTime>,
}

impl<'a> Plan<'a> {
    fn new(rule: &'a Rule, start: NaiveDateTime) -> Self {
        let no_day_parts = rule.by_week_no.is_empty()
            && rule.by_year_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_day.is_empty();
        let mut months = rule.by_month.clone();
        let mut month_days = rule.by_month_day.clone();
        let mut by_day: Vec<(i16, Weekday)> = rule.by_day.iter().map(|d| (d.ordinal, d.weekday)).collect();
        if no_day_parts {
            match rule.freq {
                Frequency::Yearly => {
                    if months.is_empty() {
                        months.push(start.month() as u8);
                    }
                    month_days.push(start.day() as i8);
                }
                Frequency::Monthly => month_days.push(start.day() as i8),
                Frequency::Weekly => by_day.push((0, start.weekday())),
                _ => {}
            }
        }
        let mut weekdays = [false; 7];
        let mut numbered = Vec::new();
        for (ordinal, weekday) in by_day {
            let numbered_here = ordinal != 0 && matches!(rule.freq, Frequency::Monthly | Frequency::Yearly);
            if numbered_here {
                numbered.push((ordinal, weekday));
            } else {
                weekdays[weekday.num_days_from_monday() as usize] = true;
            }
        }
        let or_start = |list: &[u8], coarser: bool, value: u32| -> Vec<u32> {
            if list.is_empty() {
                if coarser { vec![value] } else { Vec::new() }
            } else {
                list.iter().map(|v| u32::from(*v)).collect()
            }
        };
        let hours = or_start(&rule.by_hour, rule.freq > Frequency::Hourly, start.hour());
        let minutes = or_start(&rule.by_minute, rule.freq > Frequency::Minutely, start.minute());
        let seconds = or_start(&rule.by_second, rule.freq > Frequency::Secondly, start.second());
        let mut times = Vec::new();
        if rule.freq >= Frequency::Daily {
            for h in &hours {
                for m in &minutes {
                    for s in &seconds {
                        if let Some(t) = NaiveTime::from_hms_opt(*h, *m, *s) {
                            times.push(t);
                        }
                    }
                }
            }
        }
        Self { rule, start, hours, minutes, seconds, month_days, months, weekdays, numbered, times }
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let rule = self.rule;
        if !self.months.is_empty() && !self.months.contains(&(date.month() as u8)) {
            return false;
        }
        if !rule.by_week_no.is_empty() && !week_no_matches(&rule.by_week_no, date, rule.week_start) {
            return false;
        }
        let any_weekday = self.weekdays.iter().any(|w| *w);
        if any_weekday || !self.numbered.is_empty() {
            let plain = self.weekdays[date.weekday().num_days_from_monday() as usize];
            if !plain && !self.numbered_matches(date) {
                return false;
            }
        }
        if !self.month_days.is_empty() {
            let day = date.day() as i32;
            let from_end = day - days_in_month(date.year(), date.month()) as i32 - 1;
            if !self.month_days.iter().any(|d| i32::from(*d) == day || i32::from(*d) == from_end) {
                return false;
            }
        }
        if !rule.by_year_day.is_empty() {
            let ordinal = date.ordinal() as i32;
            let from_end = ordinal - days_in_year(date.year()) as i32 - 1;
            if !rule.by_year_day.iter().any(|d| i32::from(*d) == ordinal || i32::from(*d) == from_end) {
                return false;
            }
        }
        true
    }

    fn numbered_matches(&self, date: NaiveDate) -> bool {
        let in_month = self.rule.freq == Frequency::Monthly || !self.rule.by_month.is_empty();
        let (position, length) = if in_month {
            (date.day() as i32, days_in_month(date.year(), date.month()) as i32)
        } else {
            (date.ordinal() as i32, days_in_year(date.year()) as i32)
        };
        let nth = (position - 1) / 7 + 1;
        let nth_from_end = -((length - position) / 7 + 1);
        self.numbered.iter().any(|(ordinal, weekday)| {
            *weekday == date.weekday() && (i32::from(*ordinal) == nth || i32::from(*ordinal) == nth_from_end)
        })
    }

    fn base(&self) -> NaiveDateTime {
        let start = self.start;
        let date = start.date();
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        match self.rule.freq {
            Frequency::Yearly => NaiveDate::from_ymd_opt(date.year(), 1, 1).map(midnight).unwrap_or(start),
            Frequency::Monthly => NaiveDate::from_ymd_opt(date.year(), date.month(), 1).map(midnight).unwrap_or(start),
            Frequency::Weekly => midnight(week_start(date, self.rule.week_start)),
            Frequency::Daily => midnight(date),
            Frequency::Hourly => start.with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(start),
            Frequency::Minutely => start.with_second(0).unwrap_or(start),
            Frequency::Secondly => start,
        }
    }

    /// The start of period number `index` (counted in units of the frequency from the base).
    fn period_start(&self, base: NaiveDateTime, index: i64) -> Option<NaiveDateTime> {
        let date = base.date();
        match self.rule.freq {
            Frequency::Yearly => {
                let year = i64::from(date.year()) + index;
                NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, 1, 1).map(|d| d.and_time(NaiveTime::MIN))
            }
            Frequency::Monthly => {
                let months = i64::from(date.year()) * 12 + i64::from(date.month0()) + index;
                let year = i32::try_from(months.div_euclid(12)).ok()?;
                NaiveDate::from_ymd_opt(year, months.rem_euclid(12) as u32 + 1, 1).map(|d| d.and_time(NaiveTime::MIN))
            }
            Frequency::Weekly => base.checked_add_signed(Duration::try_days(index.checked_mul(7)?)?),
            Frequency::Daily => base.checked_add_signed(Duration::try_days(index)?),
            Frequency::Hourly => base.checked_add_signed(Duration::try_hours(index)?),
            Frequency::Minutely => base.checked_add_signed(Duration::try_minutes(index)?),
            Frequency::Secondly => base.checked_add_signed(Duration::try_seconds(index)?),
        }
    }

    /// The index of the period holding `at` (may be negative).
    fn period_index(&self, base: NaiveDateTime, at: NaiveDateTime) -> i64 {
        let (b, a) = (base.date(), at.date());
        match self.rule.freq {
            Frequency::Yearly => i64::from(a.year() - b.year()),
            Frequency::Monthly => {
                (i64::from(a.year()) * 12 + i64::from(a.month0())) - (i64::from(b.year()) * 12 + i64::from(b.month0()))
            }
            Frequency::Weekly => (week_start(a, self.rule.week_start) - b).num_days().div_euclid(7),
            Frequency::Daily => (a - b).num_days(),
            Frequency::Hourly => (at - base).num_seconds().div_euclid(3600),
            Frequency::Minutely => (at - base).num_seconds().div_euclid(60),
            Frequency::Secondly => (at - base).num_seconds(),
        }
    }

    /// The candidate times of one period, sorted, BYSETPOS applied. Returns the work done.
    fn candidates(&self, period: NaiveDateTime, out: &mut Vec<NaiveDateTime>) -> u64 {
        out.clear();
        let date = period.date();
        let mut work = 0u64;
        let push_day = |day: NaiveDate, out: &mut Vec<NaiveDateTime>, work: &mut u64| {
            *work += 1;
            if self.day_matches(day) {
                for t in &self.times {
                    out.push(day.and_time(*t));
                }
                *work += self.times.len() as u64;
            }
        };
        match self.rule.freq {
            Frequency::Yearly => {
                if self.months.is_empty() || !self.rule.by_week_no.is_empty() {
                    for day in date.iter_days().take_while(|d| d.year() == date.year()) {
                        push_day(day, out, &mut work);
                    }
                } else {
                    for month in &self.months {
                        if let Some(first) = NaiveDate::from_ymd_opt(date.year(), u32::from(*month), 1) {
                            for day in first.iter_days().take_while(|d| d.month() == u32::from(*month)) {
                                push_day(day, out, &mut work);
                            }
                        }
                    }
                }
            }
            Frequency::Monthly => {
                for day in date.iter_days().take_while(|d| d.month() == date.month()) {
                    push_day(day, out, &mut work);
                }
            }
            Frequency::Weekly => {
                for day in date.iter_days().take(7) {
                    push_day(day, out, &mut work);
                }
            }
            Frequency::Daily => push_day(date, out, &mut work),
            Frequency::Hourly | Frequency::Minutely | Frequency::Secondly => {
                work += 1;
                if !self.day_matches(date) || !(self.hours.is_empty() || self.hours.contains(&period.hour())) {
                    return work;
                }
                let minutes: &[u32] = if self.rule.freq == Frequency::Hourly { &self.minutes } else { &[] };
                let fixed_minute = [period.minute()];
                let minutes = if self.rule.freq == Frequency::Hourly { minutes } else { &fixed_minute[..] };
                if self.rule.freq != Frequency::Hourly
                    && !(self.minutes.is_empty() || self.minutes.contains(&period.minute()))
                {
                    return work;
                }
                let fixed_second = [period.second()];
                let seconds: &[u32] = if self.rule.freq == Frequency::Secondly {
                    if !(self.seconds.is_empty() || self.seconds.contains(&period.second())) {
                        return work;
                    }
                    &fixed_second
                } else {
                    &self.seconds
                };
                for m in minutes {
                    for s in seconds {
                        if let Some(t) = NaiveTime::from_hms_opt(period.hour(), *m, *s) {
                            out.push(date.and_time(t));
                        }
                    }
                }
                work += out.len() as u64;
            }
        }
        if !self.rule.by_set_pos.is_empty() && !out.is_empty() {
            let len = out.len() as i64;
            let mut chosen: Vec<NaiveDateTime> = self
                .rule
                .by_set_pos
                .iter()
                .filter_map(|pos| {
                    let index = if *pos > 0 { i64::from(*pos) - 1 } else { len + i64::from(*pos) };
                    usize::try_from(index).ok().and_then(|i| out.get(i).copied())
                })
                .collect();
            chosen.sort();
            chosen.dedup();
            *out = chosen;
        }
        work
    }
}

/// Visits the rule's instances in order, from DTSTART (`start`) on, as local wall-clock times.
///
/// `from` lets an unbounded-by-COUNT rule start at the period holding that local time instead
/// of replaying the series from DTSTART; expansion stops once a period starts after `to`, when
/// `visit` returns [`Stop::Done`], at COUNT, or when the work budget runs out (`Err`).
pub fn expand(
    rule: &Rule,
    start: NaiveDateTime,
    from: Option<NaiveDateTime>,
    to: NaiveDateTime,
    visit: &mut dyn FnMut(NaiveDateTime) -> Option<Stop>,
) -> Result<(), Stop> {
    let plan = Plan::new(rule, start);
    let base = plan.base();
    let interval = i64::from(rule.interval.max(1));
    let mut index = 0i64;
    if rule.count.is_none()
        && let Some(from) = from.filter(|f| *f > start)
    {
        let at = plan.period_index(base, from);
        if at > 0 {
            index = at - at.rem_euclid(interval);
        }
    }
    let mut emitted = 0u32;
    let mut work = 0u64;
    let mut buffer = Vec::new();
    loop {
        let Some(period) = plan.period_start(base, index) else { return Ok(()) };
        if period > to || period.year() > 9999 {
            return Ok(());
        }
        work += plan.candidates(period, &mut buffer);
        if work > WORK_BUDGET {
            return Err(Stop::Budget);
        }
        for at in buffer.iter().copied().filter(|at| *at >= start) {
            if let Some(count) = rule.count {
                if emitted >= count {
                    return Ok(());
                }
                emitted += 1;
            }
            if let Some(stop) = visit(at) {
                return if stop == Stop::Done { Ok(()) } else { Err(stop) };
            }
        }
        if rule.count.is_some_and(|count| emitted >= count) {
            return Ok(());
        }
        index = next_index(&plan, base, index, interval, period, buffer.is_empty());
    }
}

/// The next period to look at. Sub-daily rules jump over a whole day (or hour) that cannot
/// match, so a rule like FREQ=MINUTELY;BYMONTH=2 does not crawl through every minute of March.
fn next_index(
    plan: &Plan<'_>,
    base: NaiveDateTime,
    index: i64,
    interval: i64,
    period: NaiveDateTime,
    empty: bool,
) -> i64 {
    let step = index.saturating_add(interval);
    if !empty || plan.rule.freq > Frequency::Hourly {
        return step;
    }
    let day_fails = !plan.day_matches(period.date());
    let skip_to = if day_fails {
        period.date().succ_opt().map(|d| d.and_time(NaiveTime::MIN))
    } else if plan.rule.freq < Frequency::Hourly && !(plan.hours.is_empty() || plan.hours.contains(&period.hour())) {
        period.with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.checked_add_signed(Duration::hours(1)))
    } else {
        None
    };
    match skip_to {
        Some(next) => {
            let at = plan.period_index(base, next);
            // The first index on the interval grid at or after `at`.
            let aligned = at + (interval - at.rem_euclid(interval)) % interval;
            aligned.max(step)
        }
        None => step,
    }
}

pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_year(year: i32) -> u32 {
    if is_leap(year) { 366 } else { 365 }
}

pub(crate) fn week_start(date: NaiveDate, first: Weekday) -> NaiveDate {
    let back = (7 + date.weekday().num_days_from_monday() - first.num_days_from_monday()) % 7;
    date.checked_sub_signed(Duration::days(i64::from(back))).unwrap_or(date)
}

/// The first day of week 1 of `year`: the week (starting on `first`) with at least four days in the year.
fn week_one(year: i32, first: Weekday) -> Option<NaiveDate> {
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let start = week_start(jan1, first);
    Some(if (jan1 - start).num_days() <= 3 { start } else { start + Duration::days(7) })
}

/// Whether `date`'s week number (positive, or negative from the end of its week-year) is listed.
fn week_no_matches(list: &[i8], date: NaiveDate, first: Weekday) -> bool {
    let year = date.year();
    let (Some(this), Some(next)) = (week_one(year, first), week_one(year + 1, first)) else { return false };
    let (week_year_start, week_year_end) = if date < this {
        match week_one(year - 1, first) {
            Some(previous) => (previous, this),
            None => return false,
        }
    } else if date >= next {
        match week_one(year + 2, first) {
            Some(after) => (next, after),
            None => return false,
        }
    } else {
        (this, next)
    };
    let number = (date - week_year_start).num_days() / 7 + 1;
    let weeks = (week_year_end - week_year_start).num_days() / 7;
    let from_end = number - weeks - 1;
    list.iter().any(|w| i64::from(*w) == number || i64::from(*w) == from_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time")
    }

    fn all(rule: &str, start: &str, limit: usize) -> Vec<String> {
        let rule = Rule::parse(rule).expect("rule");
        let mut out = Vec::new();
        let result = expand(&rule, at(start), None, at("9999-12-31 00:00"), &mut |t| {
            out.push(t.format("%Y-%m-%d %H:%M").to_string());
            (out.len() >= limit).then_some(Stop::Done)
        });
        assert_eq!(result, Ok(()));
        out
    }

    #[test]
    fn last_weekday_of_the_month() {
        assert_eq!(
            all("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "2024-01-01 09:00", 4),
            ["2024-01-31 09:00", "2024-02-29 09:00", "2024-03-29 09:00", "2024-04-30 09:00"]
        );
    }

    #[test]
    fn thirty_first_skips_short_months() {
        assert_eq!(
            all("FREQ=MONTHLY;BYMONTHDAY=31", "2024-01-31 10:00", 4),
            ["2024-01-31 10:00", "2024-03-31 10:00", "2024-05-31 10:00", "2024-07-31 10:00"]
        );
    }

    #[test]
    fn iso_week_numbers_cross_the_new_year() {
        // Week 1 of 2025 starts on Monday 2024-12-30.
        assert_eq!(
            all("FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO", "2024-01-01 08:00", 2),
            ["2024-01-01 08:00", "2024-12-30 08:00"]
        );
        // 2026 has 53 ISO weeks; -1 is the last one.
        assert_eq!(
            all("FREQ=YEARLY;BYWEEKNO=-1;BYDAY=TH", "2026-01-01 08:00", 2),
            ["2026-12-31 08:00", "2027-12-30 08:00"]
        );
    }

    #[test]
    fn yearly_numbered_weekday_counts_in_the_year_without_bymonth() {
        assert_eq!(all("FREQ=YEARLY;BYDAY=20MO", "2024-01-01 08:00", 2), ["2024-05-13 08:00", "2025-05-19 08:00"]);
        assert_eq!(
            all("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "2024-01-01 02:00", 2),
            ["2024-03-31 02:00", "2025-03-30 02:00"]
        );
    }

    #[test]
    fn hourly_rules_skip_days_that_cannot_match() {
        assert_eq!(
            all("FREQ=HOURLY;INTERVAL=5;BYDAY=SU", "2024-01-01 00:00", 3),
            ["2024-01-07 01:00", "2024-01-07 06:00", "2024-01-07 11:00"]
        );
        assert_eq!(all("FREQ=MINUTELY;INTERVAL=7;BYHOUR=3;BYMINUTE=4", "2024-01-01 00:00", 1), ["2024-01-02 03:04"]);
    }

    #[test]
    fn a_rule_that_never_matches_ends_instead_of_hanging() {
        assert_eq!(all("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "2024-01-01 00:00", 1), Vec::<String>::new());
        let rule = Rule::parse("FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30").expect("rule");
        let result = expand(&rule, at("2024-01-01 00:00"), None, at("9999-01-01 00:00"), &mut |_| None);
        assert!(matches!(result, Ok(()) | Err(Stop::Budget)));
    }

    #[test]
    fn starting_from_a_later_window_gives_the_same_instances() {
        let rule = Rule::parse("FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA;WKST=SU").expect("rule");
        let start = at("2001-05-05 07:30");
        let (from, to) = (at("2021-02-01 00:00"), at("2021-06-01 00:00"));
        let collect = |skip: Option<NaiveDateTime>| {
            let mut out = Vec::new();
            expand(&rule, start, skip, to, &mut |t| {
                if t >= from && t < to {
                    out.push(t);
                }
                None
            })
            .expect("expands");
            out
        };
        let replayed = collect(None);
        assert!(!replayed.is_empty());
        assert_eq!(collect(Some(from)), replayed);
    }
}
