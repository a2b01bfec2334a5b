//! Tasks, micro-steps, quick capture, focus sessions, energy, planning and motivation: what
//! the Tasks, Focus and Today pages and the API show and take.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use calento::capture::Energy;
pub use calento::focus::{FocusKind, FocusSettings, FocusState};
pub use calento::motivation::{Achievement, Companion, Level, Streak};
pub use calento::task::{Progress, TaskStatus};

/// A life area a task belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ZoneInfo {
    pub id: String,
    pub name: String,
    pub color: String,
}

/// A task or micro-step, with its steps nested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TaskInfo {
    pub id: String,
    pub parent_id: Option<String>,
    /// 0 for a task, 1–7 for its micro-steps.
    pub depth: u32,
    pub position: i64,
    pub title: String,
    pub notes: String,
    pub zone: Option<ZoneInfo>,
    pub tags: Vec<String>,
    /// 1 highest … 4 lowest.
    pub priority: u8,
    /// When to do it: `YYYY-MM-DD`, or RFC 3339 with the user's offset when a time was given.
    pub do_at: Option<String>,
    /// The deadline, in the same form.
    pub due: Option<String>,
    pub estimate_minutes: Option<u32>,
    pub energy: Option<Energy>,
    pub status: TaskStatus,
    /// A repeating task's RRULE; finishing it creates the next one.
    pub rrule: Option<String>,
    pub is_template: bool,
    /// Leaf micro-steps done of all.
    pub progress: Progress,
    #[cfg_attr(feature = "ssr", schema(no_recursion))]
    pub steps: Vec<TaskInfo>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl TaskInfo {
    /// The first open step in depth-first order ("just the next step"), with its path.
    pub fn next_step(&self) -> Option<(&TaskInfo, Vec<&str>)> {
        fn walk<'a>(steps: &'a [TaskInfo], path: &mut Vec<&'a str>) -> Option<&'a TaskInfo> {
            for step in steps {
                if step.status.is_open() {
                    if step.steps.iter().any(|s| s.status.is_open()) {
                        path.push(&step.title);
                        if let Some(found) = walk(&step.steps, path) {
                            return Some(found);
                        }
                        path.pop();
                    }
                    return Some(step);
                }
            }
            None
        }
        let mut path = Vec::new();
        walk(&self.steps, &mut path).map(|step| (step, path))
    }

    pub fn is_done(&self) -> bool {
        self.status == TaskStatus::Done
    }
}

/// A micro-step to create with its task (sub-steps nested).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StepInput {
    pub title: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(no_recursion))]
    pub steps: Vec<StepInput>,
}

/// A new task (or, with `parent_id`, a new micro-step).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"title": "Plan the trip", "notes": "Check trains first", "priority": 2, "estimate_minutes": 45, "steps": [{"title": "Pick the dates"}, {"title": "Book the train"}]})))]
pub struct TaskInput {
    pub title: String,
    #[serde(default)]
    pub notes: Option<String>,
    /// A zone's name; a new name creates the zone.
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub priority: Option<i64>,
    /// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` (the user's wall time) or RFC 3339.
    #[serde(default)]
    pub do_at: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub estimate_minutes: Option<i64>,
    /// `low`, `medium` or `high`.
    #[serde(default)]
    pub energy: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub rrule: Option<String>,
    #[serde(default)]
    pub is_template: bool,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub steps: Vec<StepInput>,
}

/// A change to a task or step: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TaskPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub zone: Option<Option<String>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default, deserialize_with = "super::present")]
    pub do_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub due: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub estimate_minutes: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::present")]
    pub energy: Option<Option<String>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub rrule: Option<Option<String>>,
    /// A new place among its siblings (0 first).
    #[serde(default)]
    pub position: Option<i64>,
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TaskView {
    /// Open tasks planned for today or earlier, or due by today.
    Today,
    /// Open tasks planned or due after today.
    Upcoming,
    /// Every open task.
    #[default]
    All,
    Done,
    Templates,
}

impl TaskView {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "today" => Some(Self::Today),
            "upcoming" => Some(Self::Upcoming),
            "all" | "" => Some(Self::All),
            "done" => Some(Self::Done),
            "templates" => Some(Self::Templates),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Upcoming => "upcoming",
            Self::All => "all",
            Self::Done => "done",
            Self::Templates => "templates",
        }
    }
}

/// A list's filter and order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TaskQuery {
    #[serde(default)]
    pub view: Option<String>,
    /// A zone's id or name.
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    /// `smart` (default: late or due by today, then the coming week, then later; by priority inside each, then the nearer date), `due`, `priority`, `created`.
    #[serde(default)]
    pub sort: Option<String>,
}

/// One page of a task list (1-based), and how many tasks the whole list holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TaskPage {
    pub items: Vec<TaskInfo>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
    /// The user's date when the page was read (`YYYY-MM-DD`): dates are shown against it
    /// ("today", "Fri", "overdue"), the same on the server and in the browser.
    #[serde(default)]
    pub today: String,
}

impl TaskPage {
    /// The last page (1 for an empty list).
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page.max(1)).max(1)
    }
}

/// One line of a brain dump, as understood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CaptureItem {
    pub title: String,
    pub do_at: Option<String>,
    pub due: Option<String>,
    pub estimate_minutes: Option<u32>,
    pub priority: Option<u8>,
    pub tags: Vec<String>,
    pub zone: Option<String>,
    pub energy: Option<Energy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CaptureResult {
    pub items: Vec<CaptureItem>,
    /// The tasks made (empty for a preview).
    pub tasks: Vec<TaskInfo>,
}

/// A block the planner placed (or would place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlacementInfo {
    pub task_id: String,
    pub title: String,
    pub start: String,
    pub end: String,
    pub reason: String,
    /// The calendar event made for it, when the plan was applied.
    pub event_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UnplacedInfo {
    pub task_id: String,
    pub title: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanResult {
    pub placements: Vec<PlacementInfo>,
    pub unplaced: Vec<UnplacedInfo>,
    pub applied: bool,
}

/// A focus session as every device sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FocusSessionInfo {
    pub id: String,
    pub task_id: Option<String>,
    pub task_title: Option<String>,
    pub kind: FocusKind,
    pub state: FocusState,
    pub planned_seconds: i64,
    pub elapsed_seconds: i64,
    pub remaining_seconds: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// What the next session should be (after this one ends).
    pub next_kind: FocusKind,
    pub distractions: Vec<DistractionInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DistractionInfo {
    pub id: String,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// What the Focus page shows: the running session, if any, the settings and today's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FocusOverview {
    pub current: Option<FocusSessionInfo>,
    pub settings: FocusSettings,
    /// Play a sound when time is up.
    pub sound: bool,
    pub next_kind: FocusKind,
    pub focus_minutes_today: i64,
    pub recent: Vec<FocusSessionInfo>,
    pub open_tasks: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EnergyInfo {
    pub id: String,
    /// 1 (empty) … 5 (full of energy).
    pub level: u8,
    pub note: String,
    pub check_in: bool,
    pub at: DateTime<Utc>,
}

/// Which motivation features the user wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct MotivationSwitches {
    pub xp: bool,
    pub streaks: bool,
    pub achievements: bool,
    pub rewards: bool,
    pub companion: bool,
}

impl Default for MotivationSwitches {
    fn default() -> Self {
        Self { xp: true, streaks: true, achievements: true, rewards: true, companion: true }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RewardInfo {
    pub id: String,
    pub title: String,
    pub cost: i64,
}

/// XP, level, streak, achievements, rewards and companion, as far as they are switched on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProgressInfo {
    pub switches: MotivationSwitches,
    pub xp: i64,
    pub xp_today: i64,
    pub level: Level,
    /// XP not yet spent on rewards.
    pub points: i64,
    pub streak: Streak,
    pub achievements: Vec<Achievement>,
    pub companion: Companion,
    pub rewards: Vec<RewardInfo>,
}

/// What an import did: tasks and micro-steps made, rows skipped and why, and rows read
/// with a change (each with its line in the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TaskImportReport {
    /// `todoist` or `generic`.
    pub format: String,
    pub tasks: usize,
    pub steps: usize,
    pub skipped: Vec<ImportNote>,
    pub notes: Vec<ImportNote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportNote {
    pub line: usize,
    pub reason: String,
}

/// "What can I do now": tasks that fit the latest energy and the free time before the next
/// busy event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NowSuggestion {
    /// The energy logged in the last 6 hours, if any.
    pub energy: Option<u8>,
    /// Free minutes before the next busy event (`None`: nothing in the next 12 hours).
    pub free_minutes: Option<i64>,
    pub next_busy_at: Option<String>,
    pub tasks: Vec<TaskInfo>,
}

/// An energy level in words, so 1–5 means the same thing every time it is logged.
pub fn energy_word(level: u8) -> &'static str {
    match level {
        0 | 1 => "Drained",
        2 => "Low",
        3 => "Steady",
        4 => "Good",
        _ => "Charged",
    }
}

/// The running or paused focus session in the few fields the header's badge shows (the
/// badge is on every page, so its code is in every page's first load).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FocusBadgeInfo {
    pub id: String,
    pub running: bool,
    pub remaining_seconds: i64,
    /// The task worked on, else the kind of session ("Focus", "Short break").
    pub what: String,
}

/// One day of the statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DayStat {
    /// `YYYY-MM-DD`, the user's day.
    pub date: String,
    pub tasks_done: i64,
    pub steps_done: i64,
    pub focus_minutes: i64,
    /// The day's average logged energy (1–5).
    pub energy: Option<f64>,
    /// Whether the day counted for the streak.
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ZoneMinutes {
    pub zone: String,
    pub color: String,
    pub focus_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EstimateVsActual {
    pub task_id: String,
    pub title: String,
    pub estimate_minutes: i64,
    pub focus_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatsInfo {
    /// Oldest first, ending today.
    pub days: Vec<DayStat>,
    pub zones: Vec<ZoneMinutes>,
    pub estimates: Vec<EstimateVsActual>,
}

/// The task settings as the settings form edits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TaskSettingsForm {
    pub focus: FocusSettings,
    pub sound: bool,
    pub switches: MotivationSwitches,
    pub peak_start: String,
    pub peak_end: String,
    pub blocks_busy: bool,
}

/// One event of today, as the daily plan lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DayEvent {
    /// `HH:MM–HH:MM` in the user's zone, or "all day".
    pub time: String,
    pub title: String,
}

/// The morning ritual and the evening shutdown of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DailyPlanInfo {
    /// `YYYY-MM-DD`, the user's today.
    pub date: String,
    pub intention: String,
    pub planned: bool,
    pub top: Vec<TaskInfo>,
    pub events: Vec<DayEvent>,
    /// Open tasks to choose the top three from (today's first).
    pub candidates: Vec<TaskInfo>,
    pub shutdown: bool,
    /// Titles of tasks finished today.
    pub done_today: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShutdownReport {
    pub moved: usize,
    pub done_today: usize,
}

/// Suggested micro-steps for a task: from the configured language model, or by rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BreakdownInfo {
    pub task_id: String,
    /// `model` or `rules`.
    pub source: String,
    /// Why the rules answered although a model is configured.
    pub note: Option<String>,
    pub steps: Vec<calento::breakdown::Suggestion>,
    /// The task with the steps added, when they were applied.
    pub task: Option<TaskInfo>,
}

/// How a task's date reads in a list, against the user's `today` (`YYYY-MM-DD`):
/// "today", "tomorrow", "yesterday", a weekday within the coming week ("Fri"), else
/// "Fri 11 Dec" (this year) or "11 Dec 2027"; a time, when given, follows in 24-hour form.
/// `text` is `YYYY-MM-DD` or RFC 3339; anything else is shown as it is.
pub fn when_label(text: &str, today: &str) -> String {
    use chrono::{Datelike, NaiveDate};
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (date_text, time) = match text.split_once('T') {
        Some((date, time)) => (date, time.get(..5)),
        None => (text, None),
    };
    let Ok(date) = NaiveDate::parse_from_str(date_text, "%Y-%m-%d") else { return text.to_owned() };
    let weekday = DAYS[date.weekday().num_days_from_monday() as usize];
    let month = MONTHS[date.month0() as usize];
    let day = match NaiveDate::parse_from_str(today, "%Y-%m-%d") {
        Ok(today) => match (date - today).num_days() {
            0 => "today".to_owned(),
            1 => "tomorrow".to_owned(),
            -1 => "yesterday".to_owned(),
            2..=6 => weekday.to_owned(),
            _ if date.year() == today.year() => format!("{weekday} {} {month}", date.day()),
            _ => format!("{} {month} {}", date.day(), date.year()),
        },
        Err(_) => format!("{} {month} {}", date.day(), date.year()),
    };
    match time {
        Some(time) => format!("{day} {time}"),
        None => day,
    }
}

/// Whether a date (`YYYY-MM-DD` or RFC 3339) falls before `today` (`YYYY-MM-DD`).
pub fn is_before(text: &str, today: &str) -> bool {
    let date = text.split_once('T').map_or(text, |(date, _)| date);
    date.len() == 10 && today.len() == 10 && date < today
}

#[cfg(test)]
mod when_tests {
    use super::{is_before, when_label};

    #[test]
    fn dates_read_as_people_say_them() {
        let today = "2026-12-09"; // a Wednesday
        assert_eq!(when_label("2026-12-09", today), "today");
        assert_eq!(when_label("2026-12-10", today), "tomorrow");
        assert_eq!(when_label("2026-12-08", today), "yesterday");
        assert_eq!(when_label("2026-12-11", today), "Fri");
        assert_eq!(when_label("2026-12-15", today), "Tue");
        assert_eq!(when_label("2026-12-16", today), "Wed 16 Dec");
        assert_eq!(when_label("2026-12-01", today), "Tue 1 Dec");
        assert_eq!(when_label("2027-03-02", today), "2 Mar 2027");
        assert_eq!(when_label("2026-12-10T15:00:00+01:00", today), "tomorrow 15:00");
        assert_eq!(when_label("2027-01-04T09:30:00-05:00", today), "4 Jan 2027 09:30");
        // Across a year's end, the weekday still reads as one.
        assert_eq!(when_label("2027-01-01", "2026-12-30"), "Fri");
        assert_eq!(when_label("someday", today), "someday");
        assert_eq!(when_label("2026-12-10", ""), "10 Dec 2026");
    }

    #[test]
    fn overdue_is_before_today_only() {
        assert!(is_before("2026-12-08", "2026-12-09"));
        assert!(is_before("2026-12-08T23:00:00+01:00", "2026-12-09"));
        assert!(!is_before("2026-12-09", "2026-12-09"));
        assert!(!is_before("2026-12-10", "2026-12-09"));
        assert!(!is_before("2026-12-08", ""));
    }
}
