//! The RRULE value (RFC 5545 §3.3.10): parsing with clear messages, and canonical text.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, Weekday};

/// How often a rule repeats. Ordered from the finest to the coarsest unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Frequency {
    Secondly,
    Minutely,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Frequency {
    const NAMES: [(&'static str, Frequency); 7] = [
        ("SECONDLY", Frequency::Secondly),
        ("MINUTELY", Frequency::Minutely),
        ("HOURLY", Frequency::Hourly),
        ("DAILY", Frequency::Daily),
        ("WEEKLY", Frequency::Weekly),
        ("MONTHLY", Frequency::Monthly),
        ("YEARLY", Frequency::Yearly),
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES.iter().find(|(_, f)| *f == self).map(|(n, _)| *n).unwrap_or("DAILY")
    }
}

/// One BYDAY entry: a weekday, optionally the n-th of the month or year (negative: from the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeekdayNum {
    /// 0 means every such weekday of the period.
    pub ordinal: i16,
    pub weekday: Weekday,
}

/// The end of a rule as written: a date, a wall-clock time without zone, or a UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Until {
    Date(NaiveDate),
    Local(NaiveDateTime),
    Utc(NaiveDateTime),
}

/// A recurrence rule. Build it with [`Rule::parse`] or [`Rule::new`]; the `by_*` lists are
/// sorted and free of duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub freq: Frequency,
    pub interval: u32,
    pub count: Option<u32>,
    pub until: Option<Until>,
    pub by_second: Vec<u8>,
    pub by_minute: Vec<u8>,
    pub by_hour: Vec<u8>,
    pub by_day: Vec<WeekdayNum>,
    pub by_month_day: Vec<i8>,
    pub by_year_day: Vec<i16>,
    pub by_week_no: Vec<i8>,
    pub by_month: Vec<u8>,
    pub by_set_pos: Vec<i16>,
    pub week_start: Weekday,
}

/// Why a rule was refused, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

/// The largest COUNT accepted: more instances than any calendar needs, few enough to expand.
pub const MAX_COUNT: u32 = 100_000;

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Mon),
    ("TU", Weekday::Tue),
    ("WE", Weekday::Wed),
    ("TH", Weekday::Thu),
    ("FR", Weekday::Fri),
    ("SA", Weekday::Sat),
    ("SU", Weekday::Sun),
];

pub(crate) fn weekday_code(day: Weekday) -> &'static str {
    WEEKDAYS.iter().find(|(_, d)| *d == day).map(|(c, _)| *c).unwrap_or("MO")
}

fn parse_weekday(code: &str) -> Option<Weekday> {
    WEEKDAYS.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map(|(_, d)| *d)
}

impl Rule {
    /// A rule with the given frequency and nothing else: every day, every week…
    pub fn new(freq: Frequency) -> Self {
        Self {
            freq,
            interval: 1,
            count: None,
            until: None,
            by_second: Vec::new(),
            by_minute: Vec::new(),
            by_hour: Vec::new(),
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_year_day: Vec::new(),
            by_week_no: Vec::new(),
            by_month: Vec::new(),
            by_set_pos: Vec::new(),
            week_start: Weekday::Mon,
        }
    }

    /// Parses the value of an RRULE property (an `RRULE:` prefix is accepted too).
    pub fn parse(input: &str) -> Result<Self, RuleError> {
        let text = input.trim();
        let text = match text.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => &text[6..],
            _ => text,
        };
        if text.is_empty() {
            return Err(RuleError("The repeat rule is empty.".into()));
        }
        if text.len() > 2000 {
            return Err(RuleError("The repeat rule is too long.".into()));
        }
        let mut freq = None;
        let mut rule = Rule::new(Frequency::Daily);
        let mut seen: Vec<String> = Vec::new();
        for part in text.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| RuleError(format!("\u{201c}{}\u{201d} is not NAME=VALUE.", short(part))))?;
            let name = name.trim().to_ascii_uppercase();
            let value = value.trim();
            if seen.contains(&name) {
                return Err(RuleError(format!("{name} appears twice.")));
            }
            seen.push(name.clone());
            match name.as_str() {
                "FREQ" => {
                    freq = Some(
                        Frequency::NAMES
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(value))
                            .map(|(_, f)| *f)
                            .ok_or_else(|| RuleError(format!("FREQ={} is not a known frequency.", short(value))))?,
                    );
                }
                "INTERVAL" => {
                    rule.interval = number(&name, value, 1, 100_000)? as u32;
                }
                "COUNT" => {
                    rule.count = Some(number(&name, value, 1, i64::from(MAX_COUNT))? as u32);
                }
                "UNTIL" => rule.until = Some(parse_until(value)?),
                "BYSECOND" => rule.by_second = list(&name, value, 0, 59, false)?,
                "BYMINUTE" => rule.by_minute = list(&name, value, 0, 59, false)?,
                "BYHOUR" => rule.by_hour = list(&name, value, 0, 23, false)?,
                "BYMONTHDAY" => rule.by_month_day = list(&name, value, -31, 31, true)?,
                "BYYEARDAY" => rule.by_year_day = list(&name, value, -366, 366, true)?,
                "BYWEEKNO" => rule.by_week_no = list(&name, value, -53, 53, true)?,
                "BYMONTH" => rule.by_month = list(&name, value, 1, 12, false)?,
                "BYSETPOS" => rule.by_set_pos = list(&name, value, -366, 366, true)?,
                "BYDAY" => rule.by_day = parse_by_day(value)?,
                "WKST" => {
                    rule.week_start = parse_weekday(value)
                        .ok_or_else(|| RuleError(format!("WKST={} is not a weekday (MO…SU).", short(value))))?;
                }
                other if other.starts_with("X-") => {}
                other => return Err(RuleError(format!("{} is not supported in a repeat rule.", short(other)))),
            }
        }
        rule.freq = freq.ok_or_else(|| RuleError("The repeat rule needs FREQ (for example FREQ=WEEKLY).".into()))?;
        if rule.count.is_some() && rule.until.is_some() {
            return Err(RuleError("A repeat rule may have COUNT or UNTIL, not both.".into()));
        }
        rule.check()?;
        Ok(rule)
    }

    /// Rules that parse but cannot mean anything.
    fn check(&self) -> Result<(), RuleError> {
        if !self.by_week_no.is_empty() && self.freq != Frequency::Yearly {
            return Err(RuleError("BYWEEKNO only works with FREQ=YEARLY.".into()));
        }
        if !self.by_year_day.is_empty()
            && matches!(self.freq, Frequency::Daily | Frequency::Weekly | Frequency::Monthly)
        {
            return Err(RuleError("BYYEARDAY does not work with FREQ=DAILY, WEEKLY or MONTHLY.".into()));
        }
        if !self.by_month_day.is_empty() && self.freq == Frequency::Weekly {
            return Err(RuleError("BYMONTHDAY does not work with FREQ=WEEKLY.".into()));
        }
        let ordinal_days = self.by_day.iter().any(|d| d.ordinal != 0);
        if ordinal_days {
            let max = match self.freq {
                Frequency::Monthly => 5,
                Frequency::Yearly if !self.by_month.is_empty() => 5,
                Frequency::Yearly if self.by_week_no.is_empty() => 53,
                _ => {
                    return Err(RuleError(
                        "A numbered weekday (like 2TU) only works with FREQ=MONTHLY or FREQ=YEARLY.".into(),
                    ));
                }
            };
            if self.by_day.iter().any(|d| d.ordinal.abs() > max) {
                return Err(RuleError(format!("A numbered weekday here must be between -{max} and {max}.")));
            }
        }
        let has_by = !(self.by_second.is_empty()
            && self.by_minute.is_empty()
            && self.by_hour.is_empty()
            && self.by_day.is_empty()
            && self.by_month_day.is_empty()
            && self.by_year_day.is_empty()
            && self.by_week_no.is_empty()
            && self.by_month.is_empty());
        if !self.by_set_pos.is_empty() && !has_by {
            return Err(RuleError("BYSETPOS needs another BY… part to choose from.".into()));
        }
        Ok(())
    }

    /// True when the rule has an end (COUNT or UNTIL).
    pub fn is_bounded(&self) -> bool {
        self.count.is_some() || self.until.is_some()
    }
}

fn short(text: &str) -> String {
    crate::zone::truncate(text, 40)
}

fn number(name: &str, value: &str, min: i64, max: i64) -> Result<i64, RuleError> {
    match value.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(RuleError(format!("{name} must be a whole number from {min} to {max}."))),
    }
}

fn list<T: TryFrom<i64> + Ord + Copy>(
    name: &str,
    value: &str,
    min: i64,
    max: i64,
    signed: bool,
) -> Result<Vec<T>, RuleError> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let n = item.trim().trim_start_matches('+').parse::<i64>().ok().filter(|n| (min..=max).contains(n));
        let n = match n {
            Some(0) if signed => None,
            other => other,
        };
        let n = n.and_then(|n| T::try_from(n).ok()).ok_or_else(|| {
            let range = if signed { format!("{min}…-1 or 1…{max}") } else { format!("{min}…{max}") };
            RuleError(format!("{name} values must be in {range}; \u{201c}{}\u{201d} is not.", short(item)))
        })?;
        out.push(n);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn parse_by_day(value: &str) -> Result<Vec<WeekdayNum>, RuleError> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let item = item.trim();
        let bad =
            || RuleError(format!("BYDAY entries look like MO or 2TU or -1FR; \u{201c}{}\u{201d} is not.", short(item)));
        if item.len() < 2 || !item.is_char_boundary(item.len() - 2) {
            return Err(bad());
        }
        let (number, code) = item.split_at(item.len() - 2);
        let weekday = parse_weekday(code).ok_or_else(bad)?;
        let ordinal = if number.is_empty() {
            0
        } else {
            match number.trim_start_matches('+').parse::<i16>() {
                Ok(n) if n != 0 && n.abs() <= 53 => n,
                _ => return Err(bad()),
            }
        };
        out.push(WeekdayNum { ordinal, weekday });
    }
    out.sort_by_key(|d| (d.ordinal, d.weekday.num_days_from_monday()));
    out.dedup();
    Ok(out)
}

fn parse_until(value: &str) -> Result<Until, RuleError> {
    let bad = || {
        RuleError(format!(
            "UNTIL must be a date like 20241231 or a time like 20241231T235959Z; \u{201c}{}\u{201d} is not.",
            short(value)
        ))
    };
    if value.len() == 8 {
        return NaiveDate::parse_from_str(value, "%Y%m%d").map(Until::Date).map_err(|_| bad());
    }
    let (text, utc) = match value.strip_suffix(['Z', 'z']) {
        Some(rest) => (rest, true),
        None => (value, false),
    };
    if text.len() != 15 {
        return Err(bad());
    }
    let at = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
    Ok(if utc { Until::Utc(at) } else { Until::Local(at) })
}

impl fmt::Display for Rule {
    /// The canonical RRULE value (without the `RRULE:` prefix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FREQ={}", self.freq.as_str())?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        match self.until {
            Some(Until::Date(d)) => write!(f, ";UNTIL={}", d.format("%Y%m%d"))?,
            Some(Until::Local(t)) => write!(f, ";UNTIL={}", t.format("%Y%m%dT%H%M%S"))?,
            Some(Until::Utc(t)) => write!(f, ";UNTIL={}", t.format("%Y%m%dT%H%M%SZ"))?,
            None => {}
        }
        fn join<T: fmt::Display>(f: &mut fmt::Formatter<'_>, name: &str, items: &[T]) -> fmt::Result {
            if items.is_empty() {
                return Ok(());
            }
            write!(f, ";{name}=")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        join(f, "BYMONTH", &self.by_month)?;
        join(f, "BYWEEKNO", &self.by_week_no)?;
        join(f, "BYYEARDAY", &self.by_year_day)?;
        join(f, "BYMONTHDAY", &self.by_month_day)?;
        let days: Vec<String> = self
            .by_day
            .iter()
            .map(|d| {
                if d.ordinal == 0 {
                    weekday_code(d.weekday).to_owned()
                } else {
                    format!("{}{}", d.ordinal, weekday_code(d.weekday))
                }
            })
            .collect();
        join(f, "BYDAY", &days)?;
        join(f, "BYHOUR", &self.by_hour)?;
        join(f, "BYMINUTE", &self.by_minute)?;
        join(f, "BYSECOND", &self.by_second)?;
        join(f, "BYSETPOS", &self.by_set_pos)?;
        if self.week_start != Weekday::Mon {
            write!(f, ";WKST={}", weekday_code(self.week_start))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rfc_part_is_understood_and_written_back_canonically() {
        let rule = Rule::parse(
            "RRULE:freq=yearly;interval=2;bymonth=1,3;byweekno=-1,20;byyearday=1,-1;bymonthday=-1,15;\
             byday=-1FR,MO,+2TU;byhour=9,17;byminute=30;bysecond=0;bysetpos=1,-1;wkst=SU;count=10",
        );
        let rule = rule.expect("parses");
        assert_eq!(rule.freq, Frequency::Yearly);
        assert_eq!(rule.by_day.len(), 3);
        assert_eq!(
            rule.to_string(),
            "FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,3;BYWEEKNO=-1,20;BYYEARDAY=-1,1;BYMONTHDAY=-1,15;\
             BYDAY=-1FR,MO,2TU;BYHOUR=9,17;BYMINUTE=30;BYSECOND=0;BYSETPOS=-1,1;WKST=SU"
        );
        assert_eq!(Rule::parse(&rule.to_string()), Ok(rule));
    }

    #[test]
    fn until_keeps_its_kind() {
        let until = |text: &str| Rule::parse(&format!("FREQ=DAILY;UNTIL={text}")).map(|r| r.until);
        assert!(matches!(until("20240314"), Ok(Some(Until::Date(_)))));
        assert!(matches!(until("20240314T120000"), Ok(Some(Until::Local(_)))));
        assert!(matches!(until("20240314T120000Z"), Ok(Some(Until::Utc(_)))));
        assert!(until("2024-03-14").is_err());
        assert!(until("20240230").is_err());
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        for bad in [
            "",
            "INTERVAL=2",
            "FREQ=FORTNIGHTLY",
            "FREQ=DAILY;INTERVAL=0",
            "FREQ=DAILY;COUNT=0",
            "FREQ=DAILY;COUNT=-3",
            "FREQ=SECONDLY;COUNT=100000000",
            "FREQ=DAILY;COUNT=3;UNTIL=20240101",
            "FREQ=DAILY;FREQ=WEEKLY",
            "FREQ=MONTHLY;BYMONTHDAY=0",
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "FREQ=MONTHLY;BYDAY=6MO",
            "FREQ=WEEKLY;BYDAY=2MO",
            "FREQ=MONTHLY;BYDAY=XX",
            "FREQ=MONTHLY;BYDAY=0MO",
            "FREQ=DAILY;BYWEEKNO=3",
            "FREQ=DAILY;BYHOUR=24",
            "FREQ=DAILY;BYSETPOS=1",
            "FREQ=DAILY;BYEASTER=0",
            "FREQ=DAILY;WKST=XX",
            "FREQ=DAILY;garbage",
        ] {
            let err = Rule::parse(bad).expect_err(bad);
            assert!(!err.0.is_empty() && err.0.len() < 200, "{bad}: {err}");
        }
    }

    #[test]
    fn extension_parts_are_ignored() {
        assert_eq!(Rule::parse("FREQ=WEEKLY;X-NAME=1"), Ok(Rule::new(Frequency::Weekly)));
    }
}
