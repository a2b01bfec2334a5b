//! Quick capture: a brain dump, one task a line, read into titles, dates, deadlines, estimates,
//! priorities, tags, a zone and an energy level.
//!
//! The parser is pure and deterministic: it reads the user's local wall-clock "now" from
//! [`CaptureContext`] and never looks at a clock or a time zone itself. Output dates and times
//! are local wall times in the user's zone.
//!
//! # Rules
//!
//! Words are split on whitespace and matched case-insensitively as whole words; a `,`, `;` or
//! `.` stuck to the end of a word is ignored for matching (and goes with the word when the word
//! is recognised). What is recognised is removed from the title; everything else stays, in
//! order, joined by single spaces. A connector (`at`, `on`, `by`, `for`, `in`, `due`, `before`)
//! left at either end of the title is dropped when the word after it was recognised ("Call mum
//! for ~30m" → "Call mum"); a connector the user typed at the end ("Log in") stays. When
//! everything was recognised the title is the line, trimmed. **The first of each kind wins**:
//! a second date, deadline, estimate, priority, zone or energy stays in the title.
//!
//! **Dates** (`do_at`, the day to do it; "today" is the date of [`CaptureContext::now`]):
//! - `today`; `tonight` = today at 20:00 (even when 20:00 has passed; an explicit time
//!   replaces 20:00: "tonight 10pm"); `tomorrow`, `tmr`, `tmrw`, `tmw`.
//! - A **weekday alone** (`fri`, `friday`; `mon tue tues wed weds thu thur thurs`): the next
//!   such day strictly after today, so "fri" typed on a Friday is a week later. `sat` and `sun`
//!   are also English words and count only after `on`, `next`, `this` or a deadline keyword
//!   (`saturday` and `sunday` always count).
//! - `this <weekday>`: today if today is that weekday, else the next one.
//! - `next <weekday>`: that weekday in the *following week*, weeks starting on
//!   [`CaptureContext::week_start`]: the first day of next week plus the weekday's distance from
//!   the week start. With weeks from Monday, on a Monday "next fri" is 11 days later and "fri"
//!   4; on a Friday both are 7 days later. With weeks from Sunday, on a Saturday "next sun" is
//!   tomorrow.
//! - `this weekend`: today if today is Saturday, else the next Saturday (on a Sunday, the
//!   coming Saturday); `next weekend` is a
//!   week after that. `next week`: the first day of next week; `next month`: the 1st of next month.
//! - `in N days|weeks|months` (`N` digits, or `a`/`an`/`one`); months keep the day of the
//!   month where it exists, else the month's last day (31 January + 1 month = 28/29 February).
//!   `in N hours|minutes` (also `in 2h`, `in 1h30m`, `in an hour`) is a date *and time*: now
//!   plus that much, to the minute (at most a year ahead).
//! - `12 march`, `12th march`, `march 12`, `mar 12th`, with an optional year (`12 mar 2031`,
//!   `march 12, 2031`), and ISO `2030-01-15`. Without a year: the next such date that is not in
//!   the past (today counts), so "29 feb" is the next leap day. An impossible date ("31 feb")
//!   or one already past ("12 mar 2020") is not a date and stays in the title.
//! - `on` before a date goes with it.
//!
//! **Times**: `3pm`, `3:30pm`, `3 pm`, `12am` (00:00), `12pm` (12:00); `15:00`, `9:05` (24-hour,
//! with a colon); `at 9`, `at 15` (a bare hour 0–23 only after `at`, read as 24-hour); `noon`,
//! `midday`, `midnight` (00:00 at the *start* of the day), `morning` 09:00, `afternoon` 14:00,
//! `evening` 19:00 (also `this morning` …). `at` before a time goes with it. A date and a time
//! anywhere on the line combine into one [`When::DateTime`]; a date alone is a [`When::Date`];
//! a **time alone** is today when it is still ahead of now (strictly later), else tomorrow.
//!
//! **Deadlines** (`due`): `by`, `due`, `before`, `deadline` (also `due:`, `deadline:`)
//! followed directly by the same date and time grammar ("by friday 5pm", "due on 12 march").
//!
//! **Estimates** (`estimate_minutes`): a number with a unit (`30m`, `2h`, `1h30m`, `1h30`,
//! `1.5h`, `90 min`, `2 hours`, `2h 30m`, `1 hour 30 min`; units `m min mins minute minutes h hr
//! hrs hour hours`), optionally after `~` or `for`; `~30` (a bare number after `~`) is minutes.
//! A bare number is never an estimate, nor is `for 2`. Zero is not an estimate; more than 24
//! hours is capped at 1440 minutes.
//!
//! **Priority**: `!1`…`!4`, `p1`…`p4`, `!!!` (1), `!!` (2). Words such as "urgent" are not
//! read: they stay in the title.
//!
//! **Tags**: `#home`, `#deep-work` (letters, digits, `-`, `_`), stored lower-case without `#`,
//! deduplicated in order of first appearance. **Zone**: `@work` (same characters), lower-case
//! without `@`, the first one wins. **Energy**: `low energy`, `medium energy`, `med energy`,
//! `high energy`, `low-energy` (…), `energy:low|medium|med|high`, and `⚡` (high).
//!
//! [`parse_lines`] takes one task a non-empty line (after trimming), at most [`MAX_LINES`];
//! every line is cut to [`MAX_LINE_CHARS`] characters (by [`parse_line`] too).

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// Lines one call of [`parse_lines`] reads; later lines are ignored.
pub const MAX_LINES: usize = 500;
/// Characters of a line that are read; the rest is cut off.
pub const MAX_LINE_CHARS: usize = 1000;
/// The largest estimate, in minutes (24 hours).
pub const MAX_ESTIMATE_MINUTES: u32 = 1440;

/// What the parser needs to know about the user: their local wall-clock now and the first
/// day of their week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureContext {
    /// The user's local wall-clock time now.
    pub now: NaiveDateTime,
    pub week_start: Weekday,
}

/// A day, or a day and a wall time, in the user's zone.
///
/// Serialised untagged: a date is `"2030-01-15"`, a date-time `"2030-01-15T15:00:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum When {
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl When {
    /// The day, with or without a time.
    pub fn date(&self) -> NaiveDate {
        match self {
            Self::Date(date) => *date,
            Self::DateTime(at) => at.date(),
        }
    }
}

/// How much energy a task takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Energy {
    Low,
    Medium,
    High,
}

/// One captured task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    pub title: String,
    /// The day (and maybe time) to do it.
    pub do_at: Option<When>,
    /// The deadline.
    pub due: Option<When>,
    pub estimate_minutes: Option<u32>,
    /// 1 is the highest, 4 the lowest.
    pub priority: Option<u8>,
    pub tags: Vec<String>,
    pub zone: Option<String>,
    pub energy: Option<Energy>,
}

/// Reads every non-empty line of `text` (at most [`MAX_LINES`]) into one task.
pub fn parse_lines(text: &str, ctx: &CaptureContext) -> Vec<Captured> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .take(MAX_LINES)
        .map(|line| parse_line(line, ctx))
        .collect()
}

/// Reads one line into a task. See the module documentation for the rules.
pub fn parse_line(line: &str, ctx: &CaptureContext) -> Captured {
    let line: String = match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => line[..cut].to_owned(),
        None => line.to_owned(),
    };
    Parser::new(&line, ctx).run()
}

/// An event typed on one line ("lunch with Sam tomorrow 12:30 for 1h"): the title, and
/// what the line says of when, each `None` when it says nothing of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLine {
    pub title: String,
    /// The day, read as [`parse_line`] reads a do-date ("tomorrow", "fri", "12 march").
    pub date: Option<NaiveDate>,
    /// The start time ("12:30", "3pm", "tonight" is 20:00).
    pub time: Option<NaiveTime>,
    /// How long ("for 1h", "45m").
    pub minutes: Option<u32>,
}

impl EventLine {
    /// Where the event goes: on the day and at the time the line names, else those of
    /// `start`; as long as the line says, else as long as `start`–`end` (an hour when
    /// that is not a length).
    pub fn place(&self, start: NaiveDateTime, end: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
        let at = self.date.unwrap_or(start.date()).and_time(self.time.unwrap_or(start.time()));
        let length = match self.minutes {
            Some(minutes) => chrono::Duration::minutes(i64::from(minutes)),
            None if end > start => end - start,
            None => chrono::Duration::hours(1),
        };
        (at, at.checked_add_signed(length).unwrap_or(at))
    }
}

/// Reads an event's title the way quick capture reads a task: the date, the time and the
/// length are taken out of the title. A time without a day is not placed here (the caller
/// knows which day the person had in mind: the one they clicked).
pub fn parse_event_line(line: &str, ctx: &CaptureContext) -> EventLine {
    let line: String = line.chars().take(MAX_LINE_CHARS).collect();
    let (captured, spec) = Parser::new(&line, ctx).run_with_spec();
    EventLine {
        title: captured.title,
        date: spec.date,
        time: spec.time.or(spec.default_time),
        minutes: captured.estimate_minutes,
    }
}

const CONNECTORS: [&str; 7] = ["at", "on", "by", "for", "in", "due", "before"];
const DEADLINE_WORDS: [&str; 6] = ["due", "by", "before", "deadline", "due:", "deadline:"];

struct Word<'a> {
    raw: &'a str,
    key: String,
}

/// A date and/or time read from adjacent words, before "time alone" is resolved.
#[derive(Debug, Default, Clone, Copy)]
struct Spec {
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    /// The time a date word implies ("tonight"), used when no time is given.
    default_time: Option<NaiveTime>,
}

impl Spec {
    fn resolve(self, now: NaiveDateTime) -> Option<When> {
        match (self.date, self.time.or(self.default_time)) {
            (Some(date), Some(time)) => Some(When::DateTime(date.and_time(time))),
            (Some(date), None) => Some(When::Date(date)),
            (None, Some(time)) => {
                let date = if time > now.time() { now.date() } else { now.date().succ_opt()? };
                Some(When::DateTime(date.and_time(time)))
            }
            (None, None) => None,
        }
    }
}

struct Parser<'a> {
    words: Vec<Word<'a>>,
    used: Vec<bool>,
    now: NaiveDateTime,
    today: NaiveDate,
    week_start: Weekday,
}

impl<'a> Parser<'a> {
    fn new(line: &'a str, ctx: &CaptureContext) -> Self {
        let words: Vec<Word<'a>> = line
            .split_whitespace()
            .map(|raw| {
                let lower = raw.to_lowercase();
                let trimmed = lower.trim_end_matches([',', ';', '.']);
                let key = if trimmed.is_empty() { lower.clone() } else { trimmed.to_owned() };
                Word { raw, key }
            })
            .collect();
        let used = vec![false; words.len()];
        Self { words, used, now: ctx.now, today: ctx.now.date(), week_start: ctx.week_start }
    }

    /// The key of word `i` if it exists and is not yet recognised.
    fn key(&self, i: usize) -> Option<&str> {
        if *self.used.get(i)? { None } else { Some(self.words[i].key.as_str()) }
    }

    fn mark(&mut self, from: usize, count: usize) {
        for slot in self.used.iter_mut().skip(from).take(count) {
            *slot = true;
        }
    }

    fn run(self) -> Captured {
        self.run_with_spec().0
    }

    /// The task, and the do-date and time as they were written (before "a time alone"
    /// was given a day).
    fn run_with_spec(mut self) -> (Captured, Spec) {
        let mut out = Captured {
            title: String::new(),
            do_at: None,
            due: None,
            estimate_minutes: None,
            priority: None,
            tags: Vec::new(),
            zone: None,
            energy: None,
        };
        let mut do_spec = Spec::default();
        let mut i = 0;
        while i < self.words.len() {
            let Some(key) = self.key(i) else {
                i += 1;
                continue;
            };
            // Deadline: a keyword and a date/time right after it.
            if DEADLINE_WORDS.contains(&key)
                && let Some((spec, count)) = self.when_at(i + 1, true)
            {
                if out.due.is_none()
                    && let Some(when) = spec.resolve(self.now)
                {
                    out.due = Some(when);
                    self.mark(i, count + 1);
                }
                i += count + 1;
                continue;
            }
            if let Some((minutes, count)) = self.duration_at(i) {
                if out.estimate_minutes.is_none() {
                    out.estimate_minutes = Some(minutes);
                    self.mark(i, count);
                }
                i += count;
                continue;
            }
            if let Some(priority) = priority(key) {
                if out.priority.is_none() {
                    out.priority = Some(priority);
                    self.mark(i, 1);
                }
                i += 1;
                continue;
            }
            if let Some(tag) = key.strip_prefix('#').filter(|name| is_name(name)) {
                if !out.tags.iter().any(|t| t == tag) {
                    out.tags.push(tag.to_owned());
                }
                self.mark(i, 1);
                i += 1;
                continue;
            }
            if let Some(zone) = key.strip_prefix('@').filter(|name| is_name(name)) {
                if out.zone.is_none() {
                    out.zone = Some(zone.to_owned());
                    self.mark(i, 1);
                }
                i += 1;
                continue;
            }
            if let Some((energy, count)) = self.energy_at(i) {
                if out.energy.is_none() {
                    out.energy = Some(energy);
                    self.mark(i, count);
                }
                i += count;
                continue;
            }
            if let Some((spec, count)) = self.when_at(i, false) {
                let date_free = spec.date.is_none() || do_spec.date.is_none();
                let time_free = spec.time.is_none() || do_spec.time.is_none();
                if date_free && time_free {
                    if spec.date.is_some() {
                        do_spec.date = spec.date;
                        do_spec.default_time = spec.default_time;
                    }
                    if spec.time.is_some() {
                        do_spec.time = spec.time;
                    }
                    self.mark(i, count);
                }
                i += count;
                continue;
            }
            i += 1;
        }
        out.do_at = do_spec.resolve(self.now);
        out.title = self.title();
        (out, do_spec)
    }

    fn title(&mut self) -> String {
        let n = self.words.len();
        let next_used = |used: &[bool], i: usize| i + 1 < n && used[i + 1];
        // Dangling connectors at the end, then at the start.
        while let Some(last) = (0..n).rev().find(|&i| !self.used[i]) {
            if CONNECTORS.contains(&self.words[last].key.as_str()) && next_used(&self.used, last) {
                self.used[last] = true;
            } else {
                break;
            }
        }
        while let Some(first) = (0..n).find(|&i| !self.used[i]) {
            if CONNECTORS.contains(&self.words[first].key.as_str()) && next_used(&self.used, first) {
                self.used[first] = true;
            } else {
                break;
            }
        }
        let kept: Vec<&str> =
            self.words.iter().zip(&self.used).filter(|(_, used)| !**used).map(|(w, _)| w.raw).collect();
        if kept.is_empty() { self.words.iter().map(|w| w.raw).collect::<Vec<_>>().join(" ") } else { kept.join(" ") }
    }

    /// A date and/or time starting at word `i`: a date (maybe after "on") and maybe a time
    /// after it, or a time (maybe after "at") and maybe a date after it.
    fn when_at(&self, i: usize, led: bool) -> Option<(Spec, usize)> {
        if let Some((date, default_time, count)) = self.date_led_at(i, led) {
            let mut spec = Spec { date: Some(date), time: None, default_time };
            let mut total = count;
            if let Some((time, more)) = self.time_led_at(i + total) {
                spec.time = Some(time);
                total += more;
            }
            return Some((spec, total));
        }
        let (time, count) = self.time_led_at(i)?;
        let mut spec = Spec { date: None, time: Some(time), default_time: None };
        let mut total = count;
        if let Some((date, _, more)) = self.date_led_at(i + total, true) {
            spec.date = Some(date);
            total += more;
        }
        Some((spec, total))
    }

    fn date_led_at(&self, i: usize, led: bool) -> Option<(NaiveDate, Option<NaiveTime>, usize)> {
        if self.key(i)? == "on" {
            let (date, time, count) = self.date_at(i + 1, true)?;
            return Some((date, time, count + 1));
        }
        self.date_at(i, led)
    }

    fn time_led_at(&self, i: usize) -> Option<(NaiveTime, usize)> {
        if self.key(i)? == "at" {
            let (time, count) = self.time_at(i + 1, true)?;
            return Some((time, count + 1));
        }
        self.time_at(i, false)
    }

    fn days_after_today(&self, days: u64) -> Option<NaiveDate> {
        self.today.checked_add_days(Days::new(days))
    }

    /// The first day of the week after this one.
    fn next_week_start(&self) -> Option<NaiveDate> {
        let into_week = days_from(self.week_start, self.today.weekday());
        self.days_after_today(7 - into_week)
    }

    /// Today if it is `day`, else the next `day`.
    fn on_or_after(&self, day: Weekday) -> Option<NaiveDate> {
        self.days_after_today(days_from(self.today.weekday(), day))
    }

    fn date_at(&self, i: usize, led: bool) -> Option<(NaiveDate, Option<NaiveTime>, usize)> {
        let key = self.key(i)?;
        let date = match key {
            "today" => (self.today, None, 1),
            "tonight" => (self.today, NaiveTime::from_hms_opt(20, 0, 0), 1),
            "tomorrow" | "tmr" | "tmrw" | "tmw" => (self.days_after_today(1)?, None, 1),
            "next" => {
                let date = match self.key(i + 1)? {
                    "week" => self.next_week_start()?,
                    "weekend" => self.on_or_after(Weekday::Sat)?.checked_add_days(Days::new(7))?,
                    "month" => self.today.with_day(1)?.checked_add_months(Months::new(1))?,
                    other => {
                        let day = weekday(other, true)?;
                        self.next_week_start()?.checked_add_days(Days::new(days_from(self.week_start, day)))?
                    }
                };
                (date, None, 2)
            }
            "this" => {
                let date = match self.key(i + 1)? {
                    "weekend" => self.on_or_after(Weekday::Sat)?,
                    other => self.on_or_after(weekday(other, true)?)?,
                };
                (date, None, 2)
            }
            "in" => {
                let amount = self.key(i + 1)?;
                // "in 2h", "in 1h30m": a time from now.
                if let Some(Compact { minutes, unit: true, .. }) = compact(amount) {
                    let at = self.minutes_from_now(minutes)?;
                    return Some((at.date(), Some(at.time()), 2));
                }
                let n: u32 = match amount {
                    "a" | "an" | "one" => 1,
                    digits => number(digits, 4)?,
                };
                let unit_word = self.key(i + 2)?;
                if let Some(factor) = unit(unit_word) {
                    let at = self.minutes_from_now(f64::from(n) * factor)?;
                    return Some((at.date(), Some(at.time()), 3));
                }
                let date = match unit_word {
                    "day" | "days" => self.days_after_today(u64::from(n))?,
                    "week" | "weeks" => self.days_after_today(u64::from(n) * 7)?,
                    "month" | "months" => self.today.checked_add_months(Months::new(n))?,
                    _ => return None,
                };
                (date, None, 3)
            }
            _ => {
                if let Some(day) = weekday(key, led) {
                    // The next such day strictly after today.
                    let ahead = match days_from(self.today.weekday(), day) {
                        0 => 7,
                        n => n,
                    };
                    (self.days_after_today(ahead)?, None, 1)
                } else if let Some(date) = iso_date(key) {
                    (self.not_past(date)?, None, 1)
                } else {
                    let (date, count) = self.day_month_at(i)?;
                    (date, None, count)
                }
            }
        };
        Some(date)
    }

    /// Now plus `minutes` (at most a year ahead), to the minute.
    fn minutes_from_now(&self, minutes: f64) -> Option<NaiveDateTime> {
        if !(0.0..=525_600.0).contains(&minutes) {
            return None;
        }
        let at = self.now.checked_add_signed(chrono::TimeDelta::try_minutes(minutes.round() as i64)?)?;
        at.with_second(0)?.with_nanosecond(0)
    }

    fn not_past(&self, date: NaiveDate) -> Option<NaiveDate> {
        (date >= self.today).then_some(date)
    }

    /// "12 march [2031]" or "march 12 [2031]".
    fn day_month_at(&self, i: usize) -> Option<(NaiveDate, usize)> {
        let first = self.key(i)?;
        let second = self.key(i + 1)?;
        let (day, month) = match (day_number(first), month(second)) {
            (Some(day), Some(month)) => (day, month),
            _ => (day_number(second)?, month(first)?),
        };
        if let Some(year) = self.key(i + 2).and_then(year) {
            let date = NaiveDate::from_ymd_opt(year, month, day)?;
            return Some((self.not_past(date)?, 3));
        }
        let this_year = self.today.year();
        (this_year..=this_year.saturating_add(8))
            .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
            .find(|date| *date >= self.today)
            .map(|date| (date, 2))
    }

    fn time_at(&self, i: usize, after_at: bool) -> Option<(NaiveTime, usize)> {
        let key = self.key(i)?;
        let named = |word: &str| match word {
            "morning" => NaiveTime::from_hms_opt(9, 0, 0),
            "afternoon" => NaiveTime::from_hms_opt(14, 0, 0),
            "evening" => NaiveTime::from_hms_opt(19, 0, 0),
            _ => None,
        };
        match key {
            "noon" | "midday" => return Some((NaiveTime::from_hms_opt(12, 0, 0)?, 1)),
            "midnight" => return Some((NaiveTime::MIN, 1)),
            "this" => return Some((named(self.key(i + 1)?)?, 2)),
            _ => {}
        }
        if let Some(time) = named(key) {
            return Some((time, 1));
        }
        for suffix in ["am", "a.m.", "a.m", "pm", "p.m.", "p.m"] {
            if let Some(clock) = key.strip_suffix(suffix)
                && !clock.is_empty()
            {
                return Some((twelve_hour(clock, suffix.starts_with('p'))?, 1));
            }
        }
        if let Some(next) = self.key(i + 1)
            && let Some(pm) = match next {
                "am" | "a.m." | "a.m" => Some(false),
                "pm" | "p.m." | "p.m" => Some(true),
                _ => None,
            }
            && let Some(time) = twelve_hour(key, pm)
        {
            return Some((time, 2));
        }
        if key.contains(':') {
            let (hour, minute) = clock(key)?;
            return Some((NaiveTime::from_hms_opt(hour, minute, 0)?, 1));
        }
        if after_at {
            let hour = number(key, 2)?;
            return Some((NaiveTime::from_hms_opt(hour, 0, 0)?, 1));
        }
        None
    }

    /// An estimate at word `i`, in minutes (capped), and how many words it took.
    fn duration_at(&self, i: usize) -> Option<(u32, usize)> {
        let key = self.key(i)?;
        let (minutes, count) = if key == "for" {
            let (minutes, count) = self.amount_at(self.key(i + 1)?, i + 1, false)?;
            (minutes, count + 1)
        } else if let Some(rest) = key.strip_prefix('~') {
            if rest.is_empty() {
                let (minutes, count) = self.amount_at(self.key(i + 1)?, i + 1, true)?;
                (minutes, count + 1)
            } else {
                self.amount_at(rest, i, true)?
            }
        } else {
            self.amount_at(key, i, false)?
        };
        if minutes < 0.5 {
            return None;
        }
        Some(((minutes.round() as u32).min(MAX_ESTIMATE_MINUTES), count))
    }

    /// A duration whose first word (at `i`) reads `first`: "30m", "1h30m", "2 hours",
    /// "2h 30m", "1 hour 30 min", or (when `bare_ok`) a bare number of minutes.
    fn amount_at(&self, first: &str, i: usize, bare_ok: bool) -> Option<(f64, usize)> {
        let (mut minutes, had_hours, mut count) = match compact(first) {
            Some(Compact { minutes, hours, unit: true }) => (minutes, hours, 1),
            Some(Compact { minutes: n, unit: false, .. }) => match self.key(i + 1).and_then(unit) {
                Some(factor) => (n * factor, factor > 1.0, 2),
                None if bare_ok => (n, false, 1),
                None => return None,
            },
            None => return None,
        };
        if had_hours && let Some(more) = self.key(i + count) {
            match compact(more) {
                Some(Compact { minutes: m, hours: false, unit: true }) => {
                    minutes += m;
                    count += 1;
                }
                Some(Compact { minutes: m, unit: false, .. })
                    if self.key(i + count + 1).and_then(unit) == Some(1.0) =>
                {
                    minutes += m;
                    count += 2;
                }
                _ => {}
            }
        }
        Some((minutes, count))
    }

    fn energy_at(&self, i: usize) -> Option<(Energy, usize)> {
        let key = self.key(i)?;
        let level = |word: &str| match word {
            "low" => Some(Energy::Low),
            "medium" | "med" => Some(Energy::Medium),
            "high" => Some(Energy::High),
            _ => None,
        };
        if key == "⚡" || key == "⚡\u{fe0f}" {
            return Some((Energy::High, 1));
        }
        if let Some(rest) = key.strip_prefix("energy:") {
            return Some((level(rest)?, 1));
        }
        if let Some(rest) = key.strip_suffix("-energy") {
            return Some((level(rest)?, 1));
        }
        let energy = level(key)?;
        (self.key(i + 1)? == "energy").then_some((energy, 2))
    }
}

/// Days from `from` forward to `to`, 0–6.
fn days_from(from: Weekday, to: Weekday) -> u64 {
    u64::from((to.num_days_from_monday() + 7 - from.num_days_from_monday()) % 7)
}

fn weekday(word: &str, led: bool) -> Option<Weekday> {
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" | "weds" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        "sunday" => Weekday::Sun,
        "sat" if led => Weekday::Sat,
        "sun" if led => Weekday::Sun,
        _ => return None,
    })
}

fn month(word: &str) -> Option<u32> {
    Some(match word {
        "january" | "jan" => 1,
        "february" | "feb" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    })
}

/// A whole number of at most `max_digits` ASCII digits.
fn number(word: &str, max_digits: usize) -> Option<u32> {
    if word.is_empty() || word.len() > max_digits || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

/// "12", "12th", "1st", "2nd", "3rd": 1–31.
fn day_number(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"].iter().find_map(|suffix| word.strip_suffix(suffix)).unwrap_or(word);
    number(digits, 2).filter(|day| (1..=31).contains(day))
}

fn year(word: &str) -> Option<i32> {
    if word.len() != 4 {
        return None;
    }
    number(word, 4).and_then(|y| i32::try_from(y).ok()).filter(|y| *y >= 1000)
}

/// "2030-01-15".
fn iso_date(word: &str) -> Option<NaiveDate> {
    let mut parts = word.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(number(y, 4)?).ok()?, number(m, 2)?, number(d, 2)?)
}

/// "15:00", "9:05" → (hour, minute), 24-hour.
fn clock(word: &str) -> Option<(u32, u32)> {
    let (hour, minute) = word.split_once(':')?;
    if minute.len() != 2 {
        return None;
    }
    let (hour, minute) = (number(hour, 2)?, number(minute, 2)?);
    (hour < 24 && minute < 60).then_some((hour, minute))
}

/// "3", "3:30" with am/pm; the hour is 1–12.
fn twelve_hour(word: &str, pm: bool) -> Option<NaiveTime> {
    let (hour, minute) = if word.contains(':') { clock(word)? } else { (number(word, 2)?, 0) };
    if !(1..=12).contains(&hour) {
        return None;
    }
    let hour = (hour % 12) + if pm { 12 } else { 0 };
    NaiveTime::from_hms_opt(hour, minute, 0)
}

fn unit(word: &str) -> Option<f64> {
    match word {
        "m" | "min" | "mins" | "minute" | "minutes" => Some(1.0),
        "h" | "hr" | "hrs" | "hour" | "hours" => Some(60.0),
        _ => None,
    }
}

struct Compact {
    minutes: f64,
    /// An hours unit appeared.
    hours: bool,
    /// Any unit appeared (else this is a bare number).
    unit: bool,
}

/// "30m", "2h", "1h30m", "1h30", "1.5h", "90" (bare).
fn compact(word: &str) -> Option<Compact> {
    let mut rest = word;
    let mut out = Compact { minutes: 0.0, hours: false, unit: false };
    let mut parts = 0;
    while !rest.is_empty() {
        parts += 1;
        if parts > 2 {
            return None;
        }
        let digits_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let digits = &rest[..digits_end];
        if digits.is_empty() || digits.len() > 6 || digits.starts_with('.') || digits.ends_with('.') {
            return None;
        }
        let value: f64 = digits.parse().ok()?;
        rest = &rest[digits_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let name = &rest[..unit_end];
        rest = &rest[unit_end..];
        if name.is_empty() {
            // A trailing bare number: minutes after hours ("1h30"), or the whole bare number.
            if parts == 1 {
                out.minutes = value;
            } else if out.hours && !digits.contains('.') {
                out.minutes += value;
            } else {
                return None;
            }
            continue;
        }
        let factor = unit(name)?;
        if parts == 2 && (factor > 1.0 || !out.hours) {
            return None;
        }
        out.hours |= factor > 1.0;
        out.unit = true;
        out.minutes += value * factor;
    }
    if parts == 0 {
        return None;
    }
    Some(out)
}

fn priority(word: &str) -> Option<u8> {
    match word {
        "!!!" => Some(1),
        "!!" => Some(2),
        _ => {
            let digit = word.strip_prefix('!').or_else(|| word.strip_prefix('p'))?;
            let n = number(digit, 1)?;
            (1..=4).contains(&n).then_some(n as u8)
        }
    }
}

/// A tag or zone name: letters, digits, '-' and '_'.
fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}
