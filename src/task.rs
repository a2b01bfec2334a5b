//! Tasks and their micro-steps: field rules, progress rolled up from the steps, and the
//! next date of a repeating task.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::recurrence::{CalTime, Length, Placed, Rule, Series};

/// How deep micro-steps nest below their task (a task's steps are level 1).
pub const MAX_DEPTH: u32 = 7;
pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_NOTES_CHARS: usize = 20_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_STEPS: usize = 500;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Todo,
    Doing,
    Done,
    Archived,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Todo => "todo",
            Self::Doing => "doing",
            Self::Done => "done",
            Self::Archived => "archived",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "todo" => Some(Self::Todo),
            "doing" => Some(Self::Doing),
            "done" => Some(Self::Done),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }

    /// Still to do (todo or doing).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Todo | Self::Doing)
    }
}

/// A title: trimmed, not empty, at most [`MAX_TITLE_CHARS`].
pub fn title(field: &str, text: &str) -> Result<String, FieldError> {
    let text = text.trim();
    match text.chars().count() {
        0 => Err(FieldError::new(field, "Give it a title.")),
        n if n > MAX_TITLE_CHARS => {
            Err(FieldError::new(field, format!("A title has at most {MAX_TITLE_CHARS} characters.")))
        }
        _ => Ok(text.to_owned()),
    }
}

pub fn notes(text: &str) -> Result<String, FieldError> {
    if text.chars().count() > MAX_NOTES_CHARS {
        return Err(FieldError::new("notes", format!("Notes have at most {MAX_NOTES_CHARS} characters.")));
    }
    Ok(text.trim_end().to_owned())
}

/// Tags: each trimmed, a leading `#` dropped, lower-cased, no spaces or commas, de-duplicated
/// in order.
pub fn tags(list: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for raw in list {
        let tag = raw.trim().trim_start_matches('#').to_lowercase();
        if tag.is_empty() {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS {
            return Err(FieldError::new("tags", format!("A tag has at most {MAX_TAG_CHARS} characters.")));
        }
        if tag.chars().any(|c| c.is_whitespace() || c == ',') {
            return Err(FieldError::new("tags", format!("“{tag}”: a tag is one word (no spaces or commas).")));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(FieldError::new("tags", format!("A task has at most {MAX_TAGS} tags.")));
    }
    Ok(out)
}

pub fn priority(value: i64) -> Result<u8, FieldError> {
    match value {
        1..=4 => Ok(value as u8),
        _ => Err(FieldError::new("priority", "Priority is 1 (highest) to 4 (lowest).")),
    }
}

pub fn estimate(value: i64) -> Result<u32, FieldError> {
    match value {
        1..=1440 => Ok(value as u32),
        _ => Err(FieldError::new("estimate_minutes", "An estimate is 1 to 1440 minutes (24 hours).")),
    }
}

/// A step's level below its task must stay within [`MAX_DEPTH`].
pub fn depth(level: u32) -> Result<(), FieldError> {
    if level > MAX_DEPTH {
        return Err(FieldError::new(
            "parent_id",
            format!("Micro-steps nest at most {MAX_DEPTH} levels deep; add this step higher up."),
        ));
    }
    Ok(())
}

/// Done and total leaf steps: a step with sub-steps counts through them, unless it is itself
/// done (then all its leaves count as done).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    pub done: u32,
    pub total: u32,
}

impl Progress {
    pub fn percent(&self) -> u32 {
        (self.done * 100).checked_div(self.total).unwrap_or(0)
    }
}

/// One step for the progress roll-up.
pub struct StepNode {
    pub done: bool,
    pub children: Vec<StepNode>,
}

impl StepNode {
    pub fn new(done: bool, children: Vec<Self>) -> Self {
        Self { done, children }
    }
}

pub fn progress(steps: &[StepNode]) -> Progress {
    fn leaves(node: &StepNode, forced_done: bool, into: &mut Progress) {
        let done = forced_done || node.done;
        if node.children.is_empty() {
            into.total += 1;
            if done {
                into.done += 1;
            }
        } else {
            for child in &node.children {
                leaves(child, done, into);
            }
        }
    }
    let mut out = Progress::default();
    for step in steps {
        leaves(step, false, &mut out);
    }
    out
}

/// Checks a repeating task's rule (an RRULE, without the `RRULE:` prefix or with it).
pub fn repeat_rule(text: &str) -> Result<Rule, FieldError> {
    let text = text.trim();
    let text = text.strip_prefix("RRULE:").unwrap_or(text);
    Rule::parse(text).map_err(|e| FieldError::new("rrule", format!("The repeat rule is not valid: {}", e.0)))
}

/// The next date of a repeating task after `after`, the series starting on `anchor`
/// (its first do-date). `None` when the rule has ended.
pub fn next_date(rule: &Rule, anchor: NaiveDate, after: NaiveDate) -> Option<NaiveDate> {
    let series = Series {
        start: CalTime::Date(anchor),
        length: Length::Days(1),
        rule: Some(rule.clone()),
        rdates: Vec::new(),
        exdates: Vec::new(),
    };
    let at = |d: NaiveDate| -> NaiveDateTime { d.and_time(NaiveTime::MIN) };
    // Look a month ahead at a time, up to ten years, so rare rules still find their next date.
    let mut from = after + Duration::days(1);
    for _ in 0..122 {
        let to = from + Duration::days(31);
        let found = series.instances(at(from), at(to), 5_000).ok()?;
        if let Some(instance) = found.first() {
            return match instance.start {
                Placed::Date(date) => Some(date),
                other => Some(other.axis().date()),
            };
        }
        from = to;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_daily_task_comes_back_the_next_day_and_a_weekly_one_a_week_later() {
        let daily = repeat_rule("FREQ=DAILY").unwrap();
        assert_eq!(next_date(&daily, date("2030-01-01"), date("2030-01-05")), Some(date("2030-01-06")));
        let weekly = repeat_rule("RRULE:FREQ=WEEKLY;BYDAY=MO,TH").unwrap();
        assert_eq!(next_date(&weekly, date("2030-01-07"), date("2030-01-07")), Some(date("2030-01-10")));
    }

    #[test]
    fn a_rule_that_ended_has_no_next_date() {
        let rule = repeat_rule("FREQ=DAILY;COUNT=3").unwrap();
        assert_eq!(next_date(&rule, date("2030-01-01"), date("2030-01-02")), Some(date("2030-01-03")));
        assert_eq!(next_date(&rule, date("2030-01-01"), date("2030-01-03")), None);
    }

    #[test]
    fn a_leap_day_task_waits_for_the_next_leap_year() {
        let rule = repeat_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29").unwrap();
        assert_eq!(next_date(&rule, date("2028-02-29"), date("2028-02-29")), Some(date("2032-02-29")));
    }

    #[test]
    fn bad_rules_are_refused_with_a_message_on_the_field() {
        assert_eq!(repeat_rule("FREQ=SOMETIMES").unwrap_err().field, "rrule");
    }

    #[test]
    fn progress_counts_leaves_and_a_done_parent_counts_all_its_leaves() {
        let steps = vec![
            StepNode::new(true, vec![]),
            StepNode::new(false, vec![StepNode::new(true, vec![]), StepNode::new(false, vec![])]),
            StepNode::new(true, vec![StepNode::new(false, vec![]), StepNode::new(false, vec![])]),
        ];
        assert_eq!(progress(&steps), Progress { done: 4, total: 5 });
        assert_eq!(progress(&steps).percent(), 80);
        assert_eq!(progress(&[]).percent(), 0);
    }

    #[test]
    fn tags_are_normalised_and_checked() {
        let list = vec!["#Home".to_owned(), "home".to_owned(), " errands ".to_owned(), "".to_owned()];
        assert_eq!(tags(&list).unwrap(), ["home", "errands"]);
        assert!(tags(&["two words".to_owned()]).is_err());
        let many: Vec<String> = (0..21).map(|n| format!("t{n}")).collect();
        assert!(tags(&many).is_err());
    }

    #[test]
    fn field_limits_are_enforced_with_clear_messages() {
        assert!(title("title", "  ").is_err());
        assert!(title("title", &"x".repeat(501)).is_err());
        assert_eq!(title("title", "  Call mum ").unwrap(), "Call mum");
        assert!(priority(0).is_err() && priority(5).is_err() && priority(1).is_ok());
        assert!(estimate(0).is_err() && estimate(1441).is_err());
        assert!(depth(7).is_ok());
        assert!(depth(8).unwrap_err().message.contains("7 levels"));
    }
}
