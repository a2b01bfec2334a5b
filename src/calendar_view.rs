//! The arithmetic of calendar views: which days a day, week, month or agenda view shows,
//! where timed events sit in the hour grid (overlaps side by side), and the repeat choices a
//! person is offered for a start date.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::WeekStart;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ViewKind {
    Day,
    /// Three days from the date: a phone's default, readable at 390 px.
    ThreeDays,
    #[default]
    Week,
    Month,
    Agenda,
}

/// Days the agenda shows from its date.
pub const AGENDA_DAYS: i64 = 30;

impl ViewKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "day" => Some(Self::Day),
            "3day" => Some(Self::ThreeDays),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            "agenda" => Some(Self::Agenda),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::ThreeDays => "3day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Agenda => "agenda",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Day => "Day",
            Self::ThreeDays => "3 days",
            Self::Week => "Week",
            Self::Month => "Month",
            Self::Agenda => "Agenda",
        }
    }

    pub const ALL: [ViewKind; 5] = [Self::Day, Self::ThreeDays, Self::Week, Self::Month, Self::Agenda];

    /// Views drawn as a grid of hours, one column a day.
    pub fn is_timed(self) -> bool {
        matches!(self, Self::Day | Self::ThreeDays | Self::Week)
    }

    /// The days shown, `[first, end)`.
    pub fn days(self, date: NaiveDate, week_start: WeekStart) -> (NaiveDate, NaiveDate) {
        match self {
            Self::Day => (date, date + Duration::days(1)),
            Self::ThreeDays => (date, date + Duration::days(3)),
            Self::Week => {
                let first = start_of_week(date, week_start);
                (first, first + Duration::days(7))
            }
            Self::Month => {
                let first_of_month = date.with_day(1).unwrap_or(date);
                let first = start_of_week(first_of_month, week_start);
                (first, first + Duration::days(42))
            }
            Self::Agenda => (date, date + Duration::days(AGENDA_DAYS)),
        }
    }

    /// The date one step earlier (`-1`) or later (`1`).
    pub fn step(self, date: NaiveDate, direction: i32) -> NaiveDate {
        let forward = direction >= 0;
        match self {
            Self::Day => date + Duration::days(if forward { 1 } else { -1 }),
            Self::ThreeDays => date + Duration::days(if forward { 3 } else { -3 }),
            Self::Week => date + Duration::days(if forward { 7 } else { -7 }),
            Self::Agenda => date + Duration::days(if forward { AGENDA_DAYS } else { -AGENDA_DAYS }),
            Self::Month => {
                let first = date.with_day(1).unwrap_or(date);
                let moved = if forward {
                    first.checked_add_months(Months::new(1))
                } else {
                    first.checked_sub_months(Months::new(1))
                };
                moved.unwrap_or(first)
            }
        }
    }

    /// The heading of the view for `date`, e.g. "March 2024" or "11 – 17 March 2024".
    pub fn title(self, date: NaiveDate, week_start: WeekStart) -> String {
        match self {
            Self::Day => date.format("%A %-d %B %Y").to_string(),
            Self::Month => date.format("%B %Y").to_string(),
            Self::ThreeDays | Self::Week | Self::Agenda => {
                let (first, end) = self.days(date, week_start);
                let last = end - Duration::days(1);
                if first.year() != last.year() {
                    format!("{} – {}", first.format("%-d %b %Y"), last.format("%-d %b %Y"))
                } else if first.month() != last.month() {
                    format!("{} – {}", first.format("%-d %b"), last.format("%-d %b %Y"))
                } else {
                    format!("{} – {}", first.format("%-d"), last.format("%-d %B %Y"))
                }
            }
        }
    }
}

pub fn start_of_week(date: NaiveDate, week_start: WeekStart) -> NaiveDate {
    let first = match week_start {
        WeekStart::Monday => Weekday::Mon,
        WeekStart::Sunday => Weekday::Sun,
        WeekStart::Saturday => Weekday::Sat,
    };
    let back = (7 + date.weekday().num_days_from_monday() - first.num_days_from_monday()) % 7;
    date - Duration::days(i64::from(back))
}

/// A timed item's place in one day column: minutes from midnight, and its column among
/// the items it overlaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub top: i64,
    pub bottom: i64,
    pub column: usize,
    pub columns: usize,
}

/// Places items of one day (each `(start, end)` in minutes from midnight, clipped to the
/// day) side by side where they overlap, as calendar apps do: each cluster of overlapping
/// items shares its width between as many columns as it needs.
pub fn lay_out_day(items: &[(i64, i64)]) -> Vec<Slot> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|i| (items[*i].0, -(items[*i].1)));
    let mut slots = vec![Slot { top: 0, bottom: 0, column: 0, columns: 1 }; items.len()];
    let mut cluster: Vec<usize> = Vec::new();
    let mut column_ends: Vec<i64> = Vec::new();
    let mut cluster_end = i64::MIN;
    let close = |cluster: &mut Vec<usize>, column_ends: &mut Vec<i64>, slots: &mut Vec<Slot>| {
        for i in cluster.drain(..) {
            slots[i].columns = column_ends.len().max(1);
        }
        column_ends.clear();
    };
    for i in order {
        let (start, end) = items[i];
        // At least 15 minutes tall, so short items stay clickable and readable.
        let end = end.max(start + 15);
        if start >= cluster_end {
            close(&mut cluster, &mut column_ends, &mut slots);
            cluster_end = i64::MIN;
        }
        let column = match column_ends.iter().position(|e| *e <= start) {
            Some(c) => c,
            None => {
                column_ends.push(i64::MIN);
                column_ends.len() - 1
            }
        };
        column_ends[column] = end;
        cluster_end = cluster_end.max(end);
        cluster.push(i);
        slots[i] = Slot { top: start, bottom: end, column, columns: 1 };
    }
    close(&mut cluster, &mut column_ends, &mut slots);
    slots
}

/// Minutes from `day`'s midnight to `at`, clipped to the day.
pub fn minutes_into(day: NaiveDate, at: NaiveDateTime) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (at - midnight).num_minutes().clamp(0, 1440)
}

/// One choice of the repeat menu: its key, its words, and its rule for this start date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatChoice {
    pub key: &'static str,
    pub label: String,
    pub rule: Option<String>,
}

const ORDINALS: [&str; 5] = ["first", "second", "third", "fourth", "fifth"];

/// The repeat menu for an event starting on `date`, as Google Calendar offers it.
pub fn repeat_choices(date: NaiveDate) -> Vec<RepeatChoice> {
    let weekday = date.format("%A").to_string();
    let code = crate::recurrence::weekday_code_of(date.weekday());
    let nth = (date.day() - 1) / 7 + 1;
    let is_last = date.day() + 7 > crate::recurrence::days_in_month_of(date.year(), date.month());
    let mut choices = vec![
        RepeatChoice { key: "none", label: "Does not repeat".into(), rule: None },
        RepeatChoice { key: "daily", label: "Daily".into(), rule: Some("FREQ=DAILY".into()) },
        RepeatChoice {
            key: "weekdays",
            label: "Every weekday (Monday to Friday)".into(),
            rule: Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR".into()),
        },
        RepeatChoice {
            key: "weekly",
            label: format!("Weekly on {weekday}"),
            rule: Some(format!("FREQ=WEEKLY;BYDAY={code}")),
        },
        RepeatChoice {
            key: "monthly_day",
            label: format!("Monthly on day {}", date.day()),
            rule: Some(format!("FREQ=MONTHLY;BYMONTHDAY={}", date.day())),
        },
    ];
    if nth <= 4 {
        let word = ORDINALS.get(nth as usize - 1).copied().unwrap_or("first");
        choices.push(RepeatChoice {
            key: "monthly_nth",
            label: format!("Monthly on the {word} {weekday}"),
            rule: Some(format!("FREQ=MONTHLY;BYDAY={nth}{code}")),
        });
    }
    if is_last {
        choices.push(RepeatChoice {
            key: "monthly_last",
            label: format!("Monthly on the last {weekday}"),
            rule: Some(format!("FREQ=MONTHLY;BYDAY=-1{code}")),
        });
    }
    choices.push(RepeatChoice {
        key: "yearly",
        label: format!("Annually on {}", date.format("%B %-d")),
        rule: Some(format!("FREQ=YEARLY;BYMONTH={};BYMONTHDAY={}", date.month(), date.day())),
    });
    choices.push(RepeatChoice { key: "custom", label: "Custom…".into(), rule: None });
    choices
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn views_show_the_days_people_expect() {
        let thursday = d("2024-03-14");
        assert_eq!(ViewKind::Week.days(thursday, WeekStart::Monday), (d("2024-03-11"), d("2024-03-18")));
        assert_eq!(ViewKind::Week.days(thursday, WeekStart::Sunday), (d("2024-03-10"), d("2024-03-17")));
        assert_eq!(ViewKind::Month.days(thursday, WeekStart::Monday), (d("2024-02-26"), d("2024-04-08")));
        assert_eq!(ViewKind::Day.days(thursday, WeekStart::Monday), (thursday, d("2024-03-15")));
        assert_eq!(ViewKind::ThreeDays.days(thursday, WeekStart::Monday), (thursday, d("2024-03-17")));
        assert_eq!(ViewKind::ThreeDays.step(thursday, -1), d("2024-03-11"));
        assert_eq!(ViewKind::ThreeDays.title(d("2024-03-30"), WeekStart::Monday), "30 Mar – 1 Apr 2024");
        assert_eq!(ViewKind::parse("3day"), Some(ViewKind::ThreeDays));
        assert_eq!(ViewKind::Month.step(d("2024-01-31"), 1), d("2024-02-01"));
        assert_eq!(ViewKind::Month.step(d("2024-01-31"), -1), d("2023-12-01"));
        assert_eq!(ViewKind::Week.title(thursday, WeekStart::Monday), "11 – 17 March 2024");
        assert_eq!(ViewKind::Week.title(d("2024-12-31"), WeekStart::Monday), "30 Dec 2024 – 5 Jan 2025");
    }

    #[test]
    fn overlapping_events_sit_side_by_side() {
        // 9–10 and 9:30–11 overlap; 11–12 follows alone; 13–14 three-way with two others.
        let slots = lay_out_day(&[(540, 600), (570, 660), (660, 720), (780, 840), (780, 800), (790, 850)]);
        let cols: Vec<(usize, usize)> = slots.iter().map(|s| (s.column, s.columns)).collect();
        assert_eq!(cols, [(0, 2), (1, 2), (0, 1), (0, 3), (1, 3), (2, 3)]);
        // A zero-length item still gets a visible height.
        assert_eq!(lay_out_day(&[(600, 600)])[0].bottom, 615);
    }

    #[test]
    fn the_repeat_menu_follows_the_start_date() {
        let keys = |date: &str| repeat_choices(d(date)).into_iter().map(|c| (c.key, c.label)).collect::<Vec<_>>();
        let second_tuesday = keys("2024-03-12");
        assert!(second_tuesday.contains(&("monthly_nth", "Monthly on the second Tuesday".to_owned())));
        assert!(second_tuesday.contains(&("weekly", "Weekly on Tuesday".to_owned())));
        let last_friday = keys("2024-03-29");
        assert!(last_friday.contains(&("monthly_last", "Monthly on the last Friday".to_owned())));
        assert!(!last_friday.iter().any(|(k, _)| *k == "monthly_nth"), "a fifth Friday is offered as the last one");
        for choice in repeat_choices(d("2024-02-29")) {
            if let Some(rule) = choice.rule {
                assert!(crate::recurrence::Rule::parse(&rule).is_ok(), "{rule}");
            }
        }
    }
}
