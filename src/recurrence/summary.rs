//! A rule in plain words: "Every weekday", "Monthly on the second Tuesday, 6 times".

use chrono::{Datelike, Weekday};

use super::CalTime;
use super::rule::{Frequency, Rule, Until};

const WEEKDAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAY_NAMES[day.num_days_from_monday() as usize]
}

fn month_name(month: u32) -> &'static str {
    MONTH_NAMES.get(month.saturating_sub(1) as usize).copied().unwrap_or("?")
}

fn ordinal_word(n: i64) -> String {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        4 => "fourth".into(),
        5 => "fifth".into(),
        -1 => "last".into(),
        -2 => "second-to-last".into(),
        n if n < 0 => format!("{}{} from last", -n, suffix(-n)),
        n => format!("{n}{}", suffix(n)),
    }
}

fn suffix(n: i64) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn every(interval: u32, one: &str, many: &str) -> String {
    if interval == 1 { format!("Every {one}") } else { format!("Every {interval} {many}") }
}

const WEEKDAYS_ONLY: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

/// Describes `rule` for a series starting at `start`, in English.
pub fn describe(rule: &Rule, start: &CalTime) -> String {
    let local = start.local();
    let plain_days: Vec<Weekday> = rule.by_day.iter().filter(|d| d.ordinal == 0).map(|d| d.weekday).collect();
    let is_weekdays = plain_days.len() == 5 && WEEKDAYS_ONLY.iter().all(|d| plain_days.contains(d));
    let only_days = rule.by_month_day.is_empty()
        && rule.by_year_day.is_empty()
        && rule.by_week_no.is_empty()
        && rule.by_hour.is_empty()
        && rule.by_minute.is_empty()
        && rule.by_second.is_empty();
    let days_text = |days: &[Weekday]| and_list(&days.iter().map(|d| weekday_name(*d).to_owned()).collect::<Vec<_>>());
    let head = match rule.freq {
        Frequency::Daily if only_days && rule.by_month.is_empty() && rule.by_set_pos.is_empty() => {
            if rule.interval == 1 && is_weekdays && plain_days.len() == rule.by_day.len() {
                Some("Every weekday".to_owned())
            } else if rule.by_day.is_empty() {
                Some(every(rule.interval, "day", "days"))
            } else {
                None
            }
        }
        Frequency::Weekly if only_days && rule.by_month.is_empty() && rule.by_set_pos.is_empty() => {
            if rule.interval == 1 && is_weekdays {
                Some("Every weekday".to_owned())
            } else {
                let days = if plain_days.is_empty() { vec![local.weekday()] } else { plain_days.clone() };
                let lead = if rule.interval == 1 { "Weekly".to_owned() } else { every(rule.interval, "week", "weeks") };
                Some(format!("{lead} on {}", days_text(&days)))
            }
        }
        Frequency::Monthly if rule.by_month.is_empty() && rule.by_year_day.is_empty() && rule.by_week_no.is_empty() => {
            let lead = if rule.interval == 1 { "Monthly".to_owned() } else { every(rule.interval, "month", "months") };
            let numbered: Vec<String> = rule
                .by_day
                .iter()
                .filter(|d| d.ordinal != 0)
                .map(|d| format!("the {} {}", ordinal_word(i64::from(d.ordinal)), weekday_name(d.weekday)))
                .collect();
            if rule.by_day.is_empty() && rule.by_set_pos.is_empty() {
                let days: Vec<i8> =
                    if rule.by_month_day.is_empty() { vec![local.day() as i8] } else { rule.by_month_day.clone() };
                let words: Vec<String> = days
                    .iter()
                    .map(|d| {
                        if *d == -1 {
                            "the last day".to_owned()
                        } else if *d < 0 {
                            format!("the {} day", ordinal_word(i64::from(*d)))
                        } else {
                            format!("day {d}")
                        }
                    })
                    .collect();
                Some(format!("{lead} on {}", and_list(&words)))
            } else if rule.by_month_day.is_empty() && rule.by_set_pos.is_empty() && numbered.len() == rule.by_day.len()
            {
                Some(format!("{lead} on {}", and_list(&numbered)))
            } else if rule.by_month_day.is_empty() && rule.by_set_pos.len() == 1 && numbered.is_empty() {
                let which =
                    if is_weekdays && plain_days.len() == 5 { "weekday".to_owned() } else { days_text(&plain_days) };
                let position = rule.by_set_pos.first().map(|p| ordinal_word(i64::from(*p))).unwrap_or_default();
                Some(format!("{lead} on the {position} {which}"))
            } else {
                None
            }
        }
        Frequency::Yearly
            if rule.by_day.is_empty()
                && rule.by_year_day.is_empty()
                && rule.by_week_no.is_empty()
                && rule.by_set_pos.is_empty() =>
        {
            let lead = if rule.interval == 1 { "Annually".to_owned() } else { every(rule.interval, "year", "years") };
            let month = rule.by_month.first().map(|m| u32::from(*m)).unwrap_or(local.month());
            let day = rule.by_month_day.first().map(|d| i64::from(*d)).unwrap_or(i64::from(local.day()));
            (rule.by_month.len() <= 1 && rule.by_month_day.len() <= 1 && day > 0)
                .then(|| format!("{lead} on {} {day}", month_name(month)))
        }
        Frequency::Yearly if rule.by_week_no.len() == 1 && rule.by_set_pos.is_empty() => {
            let week = rule.by_week_no.first().map(|w| i64::from(*w)).unwrap_or(1);
            let days = if plain_days.is_empty() { String::new() } else { format!(" on {}", days_text(&plain_days)) };
            Some(format!("Yearly in week {week}{days}"))
        }
        Frequency::Hourly if only_days && rule.by_day.is_empty() && rule.by_month.is_empty() => {
            Some(every(rule.interval, "hour", "hours"))
        }
        _ => None,
    };
    let mut text = head.unwrap_or_else(|| format!("Custom rule ({rule})"));
    if let Some(count) = rule.count {
        if count == 1 {
            text.push_str(", once");
        } else {
            text.push_str(&format!(", {count} times"));
        }
    }
    match rule.until {
        Some(Until::Date(d)) => text.push_str(&format!(", until {}", d.format("%b %-d, %Y"))),
        Some(Until::Local(t) | Until::Utc(t)) => text.push_str(&format!(", until {}", t.format("%b %-d, %Y"))),
        None => {}
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn say(rule: &str) -> String {
        let start = NaiveDate::from_ymd_opt(2024, 3, 12).and_then(|d| d.and_hms_opt(9, 0, 0)).expect("date");
        describe(&Rule::parse(rule).expect("rule"), &CalTime::Floating(start))
    }

    #[test]
    fn common_rules_read_like_a_calendar_app() {
        assert_eq!(say("FREQ=DAILY"), "Every day");
        assert_eq!(say("FREQ=DAILY;INTERVAL=3;COUNT=10"), "Every 3 days, 10 times");
        assert_eq!(say("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"), "Every weekday");
        assert_eq!(say("FREQ=WEEKLY"), "Weekly on Tuesday");
        assert_eq!(say("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"), "Every 2 weeks on Monday and Thursday");
        assert_eq!(say("FREQ=MONTHLY;BYDAY=2TU"), "Monthly on the second Tuesday");
        assert_eq!(say("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20241231"), "Monthly on the last Friday, until Dec 31, 2024");
        assert_eq!(say("FREQ=MONTHLY"), "Monthly on day 12");
        assert_eq!(say("FREQ=MONTHLY;BYMONTHDAY=-1"), "Monthly on the last day");
        assert_eq!(say("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"), "Monthly on the last weekday");
        assert_eq!(say("FREQ=YEARLY"), "Annually on March 12");
        assert_eq!(say("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO"), "Yearly in week 20 on Monday");
    }

    #[test]
    fn unusual_rules_fall_back_to_their_text() {
        assert_eq!(say("FREQ=MINUTELY;INTERVAL=15"), "Custom rule (FREQ=MINUTELY;INTERVAL=15)");
    }
}
