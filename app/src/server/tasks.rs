//! Tasks, micro-steps, quick capture, focus sessions, energy, planning and motivation: the
//! shared types (the API's JSON too) and the server functions the Tasks and Focus pages call.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};

pub use calento::capture::Energy;
pub use calento::focus::{FocusKind, FocusSettings, FocusState};
pub use calento::motivation::{Achievement, Companion, Level, Streak};
pub use calento::task::{Progress, TaskStatus};

use crate::AppError;
#[cfg(feature = "ssr")]
use {
    super::request,
    crate::ssr::{focus, motivation, planning, tasks},
};

/// A checkbox or submit-button field of a plain form: present, not empty and not "false".
#[cfg(feature = "ssr")]
fn ticked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty() && v != "false")
}

#[cfg(feature = "ssr")]
fn switches(
    xp: &Option<String>,
    streaks: &Option<String>,
    achievements: &Option<String>,
    rewards: &Option<String>,
    companion: &Option<String>,
) -> MotivationSwitches {
    MotivationSwitches {
        xp: ticked(xp),
        streaks: ticked(streaks),
        achievements: ticked(achievements),
        rewards: ticked(rewards),
        companion: ticked(companion),
    }
}

/// A life area a task belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneInfo {
    pub id: String,
    pub name: String,
    pub color: String,
}

/// A task or micro-step, with its steps nested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct StepInput {
    pub title: String,
    #[serde(default)]
    pub steps: Vec<StepInput>,
}

/// A new task (or, with `parent_id`, a new micro-step).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// `null` and absent differ in a patch: `null` clears, absent keeps.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A change to a task or step: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub zone: Option<Option<String>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    pub do_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub due: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub estimate_minutes: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub energy: Option<Option<String>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub rrule: Option<Option<String>>,
    /// A new place among its siblings (0 first).
    #[serde(default)]
    pub position: Option<i64>,
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct TaskQuery {
    #[serde(default)]
    pub view: Option<String>,
    /// A zone's id or name.
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    /// `smart` (default: planned day, then deadline, then priority), `due`, `priority`, `created`.
    #[serde(default)]
    pub sort: Option<String>,
}

/// One line of a brain dump, as understood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct CaptureResult {
    pub items: Vec<CaptureItem>,
    /// The tasks made (empty for a preview).
    pub tasks: Vec<TaskInfo>,
}

/// A block the planner placed (or would place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct UnplacedInfo {
    pub task_id: String,
    pub title: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanResult {
    pub placements: Vec<PlacementInfo>,
    pub unplaced: Vec<UnplacedInfo>,
    pub applied: bool,
}

/// A focus session as every device sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct DistractionInfo {
    pub id: String,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// What the Focus page shows: the running session, if any, the settings and today's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct RewardInfo {
    pub id: String,
    pub title: String,
    pub cost: i64,
}

/// XP, level, streak, achievements, rewards and companion, as far as they are switched on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct TaskImportReport {
    /// `todoist` or `generic`.
    pub format: String,
    pub tasks: usize,
    pub steps: usize,
    pub skipped: Vec<ImportNote>,
    pub notes: Vec<ImportNote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportNote {
    pub line: usize,
    pub reason: String,
}

/// Saves a task and its micro-steps as a template (`template`), or makes a task from one.
#[server(prefix = "/fn", endpoint = "copy_task")]
pub async fn copy_task(id: String, template: bool) -> Result<TaskInfo, AppError> {
    let user = request::require_user().await?;
    tasks::copy_as(&request::state()?.db, &user, &id, template).await
}

/// Imports pasted CSV (Todoist's export or the generic format).
#[server(prefix = "/fn", endpoint = "import_tasks")]
pub async fn import_tasks(text: String) -> Result<TaskImportReport, AppError> {
    let user = request::require_user().await?;
    tasks::import_csv(&request::state()?.db, &user, &text).await
}

/// "What can I do now": tasks that fit the latest energy and the free time before the next
/// busy event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NowSuggestion {
    /// The energy logged in the last 6 hours, if any.
    pub energy: Option<u8>,
    /// Free minutes before the next busy event (`None`: nothing in the next 12 hours).
    pub free_minutes: Option<i64>,
    pub next_busy_at: Option<String>,
    pub tasks: Vec<TaskInfo>,
}

/// One day of the statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct ZoneMinutes {
    pub zone: String,
    pub color: String,
    pub focus_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateVsActual {
    pub task_id: String,
    pub title: String,
    pub estimate_minutes: i64,
    pub focus_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsInfo {
    /// Oldest first, ending today.
    pub days: Vec<DayStat>,
    pub zones: Vec<ZoneMinutes>,
    pub estimates: Vec<EstimateVsActual>,
}

/// The task settings as the settings form edits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSettingsForm {
    pub focus: FocusSettings,
    pub sound: bool,
    pub switches: MotivationSwitches,
    pub peak_start: String,
    pub peak_end: String,
    pub blocks_busy: bool,
}

#[server(prefix = "/fn", endpoint = "what_now")]
pub async fn what_now() -> Result<NowSuggestion, AppError> {
    let user = request::require_user().await?;
    focus::what_now(&request::state()?.db, &user).await
}

#[server(prefix = "/fn", endpoint = "load_stats")]
pub async fn load_stats(days: i64) -> Result<StatsInfo, AppError> {
    let user = request::require_user().await?;
    focus::stats(&request::state()?.db, &user, days).await
}

#[server(prefix = "/fn", endpoint = "load_task_settings")]
pub async fn load_task_settings() -> Result<TaskSettingsForm, AppError> {
    let user = request::require_user().await?;
    let settings = motivation::settings(&request::state()?.db, &user.id).await?;
    let peak = settings.peak_hours.first().cloned();
    Ok(TaskSettingsForm {
        focus: settings.focus,
        sound: settings.sound,
        switches: settings.motivation,
        peak_start: peak.as_ref().map(|p| p.start.clone()).unwrap_or_default(),
        peak_end: peak.map(|p| p.end).unwrap_or_default(),
        blocks_busy: settings.blocks_busy,
    })
}

/// Saves the Tasks & focus settings form (checkboxes absent mean off).
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "save_task_settings")]
pub async fn save_task_settings(
    focus_minutes: u32,
    short_break_minutes: u32,
    long_break_minutes: u32,
    cycles: u32,
    peak_start: Option<String>,
    peak_end: Option<String>,
    xp: Option<String>,
    streaks: Option<String>,
    achievements: Option<String>,
    rewards: Option<String>,
    companion: Option<String>,
    blocks_busy: Option<String>,
    sound: Option<String>,
) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db;
    let mut settings = motivation::settings(&db, &user.id).await?;
    settings.focus = FocusSettings { focus_minutes, short_break_minutes, long_break_minutes, cycles };
    settings.motivation = switches(&xp, &streaks, &achievements, &rewards, &companion);
    let (start, end) = (peak_start.unwrap_or_default(), peak_end.unwrap_or_default());
    settings.peak_hours = if start.trim().is_empty() && end.trim().is_empty() {
        Vec::new()
    } else {
        vec![motivation::PeakRange { start: start.trim().to_owned(), end: end.trim().to_owned() }]
    };
    settings.sound = ticked(&sound);
    let busy_changed = settings.blocks_busy != ticked(&blocks_busy);
    settings.blocks_busy = ticked(&blocks_busy);
    motivation::save_settings(&db, &user.id, &settings).await?;
    if busy_changed && let Some(id) = &settings.blocks_calendar_id {
        let change = crate::models::CalendarInput { counts_as_busy: Some(settings.blocks_busy), ..Default::default() };
        crate::ssr::calendars::update(&db, &user.id, id, &change).await?;
    }
    Ok(())
}

/// One event of today, as the daily plan lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayEvent {
    /// `HH:MM–HH:MM` in the user's zone, or "all day".
    pub time: String,
    pub title: String,
}

/// The morning ritual and the evening shutdown of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ShutdownReport {
    pub moved: usize,
    pub done_today: usize,
}

#[server(prefix = "/fn", endpoint = "load_daily_plan")]
pub async fn load_daily_plan() -> Result<DailyPlanInfo, AppError> {
    let user = request::require_user().await?;
    planning::daily_plan(&request::state()?.db, &user).await
}

/// Saves the morning plan (up to three tasks, `task_ids[]`) and, with `place`, puts them on
/// today's calendar.
#[server(prefix = "/fn", endpoint = "save_daily_plan")]
pub async fn save_daily_plan(
    intention: String,
    #[server(default)] task_ids: Vec<String>,
    place: Option<String>,
) -> Result<Option<PlanResult>, AppError> {
    let user = request::require_user().await?;
    let place = ticked(&place);
    planning::save_daily_plan(&request::state()?.db, &user, &intention, &task_ids, place).await
}

/// The evening shutdown: unfinished tasks planned for today or earlier move to tomorrow.
#[server(prefix = "/fn", endpoint = "shut_down_day")]
pub async fn shut_down_day() -> Result<ShutdownReport, AppError> {
    let user = request::require_user().await?;
    planning::shutdown(&request::state()?.db, &user).await
}

/// Whether to show the new-account onboarding: only before it is done or skipped, and only
/// while the account has no tasks yet.
#[server(prefix = "/fn", endpoint = "needs_onboarding")]
pub async fn needs_onboarding() -> Result<bool, AppError> {
    let user = request::require_user().await?;
    tasks::needs_onboarding(&request::state()?.db, &user.id).await
}

/// Onboarding: zones (comma-separated), working hours (a Mon–Fri schedule when there is none
/// yet), peak hours and motivation features; `skip` just closes it.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "finish_onboarding")]
pub async fn finish_onboarding(
    zones: Option<String>,
    work_start: Option<String>,
    work_end: Option<String>,
    peak_start: Option<String>,
    peak_end: Option<String>,
    xp: Option<String>,
    streaks: Option<String>,
    achievements: Option<String>,
    rewards: Option<String>,
    companion: Option<String>,
    skip: Option<String>,
) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db;
    let mut settings = motivation::settings(&db, &user.id).await?;
    if !ticked(&skip) {
        let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).unwrap_or_default();
        let (peak_start, peak_end) = (text(peak_start), text(peak_end));
        if !peak_start.is_empty() || !peak_end.is_empty() {
            settings.peak_hours = vec![motivation::PeakRange { start: peak_start, end: peak_end }];
        }
        settings.motivation = switches(&xp, &streaks, &achievements, &rewards, &companion);
        settings.validate()?;
        tasks::onboard(&db, &user, zones.as_deref().unwrap_or_default(), &text(work_start), &text(work_end)).await?;
    }
    settings.onboarded = true;
    motivation::save_settings(&db, &user.id, &settings).await
}

/// Suggested micro-steps for a task: from the configured language model, or by rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Suggests micro-steps for a task; with `apply`, adds them to it.
#[server(prefix = "/fn", endpoint = "suggest_steps")]
pub async fn suggest_steps(id: String, apply: Option<String>) -> Result<BreakdownInfo, AppError> {
    let user = request::require_user().await?;
    let apply = ticked(&apply);
    tasks::breakdown(&request::state()?, &user, &id, apply).await
}

/// Timeboxing: a task dropped on the week view becomes a block at that time (`YYYY-MM-DDTHH:MM`).
#[server(prefix = "/fn", endpoint = "timebox_task")]
pub async fn timebox_task(task_id: String, start: String, end: String) -> Result<PlacementInfo, AppError> {
    let user = request::require_user().await?;
    planning::add_block(&request::state()?.db, &user, &task_id, &start, &end).await
}

#[server(prefix = "/fn", endpoint = "add_reward")]
pub async fn add_reward(title: String, cost: String) -> Result<RewardInfo, AppError> {
    let user = request::require_user().await?;
    let cost = cost
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::field(calento::FieldError::new("cost", "Write the cost in points, like 50.")))?;
    motivation::create_reward(&request::state()?.db, &user.id, &title, cost).await
}

/// Buys a reward with points.
#[server(prefix = "/fn", endpoint = "claim_reward")]
pub async fn claim_reward(id: String) -> Result<ProgressInfo, AppError> {
    let user = request::require_user().await?;
    motivation::claim_reward(&request::state()?.db, &user, &id).await
}

/// The signed-in user's tasks for a list.
#[server(prefix = "/fn", endpoint = "list_tasks")]
pub async fn list_tasks(
    view: String,
    zone: Option<String>,
    tag: Option<String>,
    sort: Option<String>,
) -> Result<Vec<TaskInfo>, AppError> {
    let user = request::require_user().await?;
    let query = TaskQuery { view: Some(view), zone, tag, sort };
    tasks::list(&request::state()?.db, &user, &query).await
}

#[server(prefix = "/fn", endpoint = "list_zones")]
pub async fn list_zones() -> Result<Vec<ZoneInfo>, AppError> {
    let user = request::require_user().await?;
    tasks::zones(&request::state()?.db, &user.id).await
}

/// Reads a brain dump; with `save` the tasks are created.
#[server(prefix = "/fn", endpoint = "capture_tasks")]
pub async fn capture_tasks(text: String, save: Option<String>) -> Result<CaptureResult, AppError> {
    let user = request::require_user().await?;
    tasks::capture(&request::state()?.db, &user, &text, ticked(&save)).await
}

/// Adds a micro-step under a task or step.
#[server(prefix = "/fn", endpoint = "add_step")]
pub async fn add_step(parent_id: String, title: String) -> Result<TaskInfo, AppError> {
    let user = request::require_user().await?;
    let input = TaskInput { title, parent_id: Some(parent_id), ..TaskInput::default() };
    tasks::create(&request::state()?.db, &user, input).await
}

/// Marks a task or step done (or open again).
#[server(prefix = "/fn", endpoint = "set_task_done")]
pub async fn set_task_done(id: String, done: bool) -> Result<TaskInfo, AppError> {
    let user = request::require_user().await?;
    let status = if done { "done" } else { "todo" };
    let patch = TaskPatch { status: Some(status.to_owned()), ..TaskPatch::default() };
    tasks::update(&request::state()?.db, &user, &id, patch).await
}

/// Saves the edit form of a task: every field as typed; an empty one clears it.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "edit_task")]
pub async fn edit_task(
    id: String,
    title: String,
    do_at: Option<String>,
    due: Option<String>,
    estimate_minutes: Option<String>,
    priority: Option<i64>,
    energy: Option<String>,
    zone: Option<String>,
    tags: Option<String>,
    notes: Option<String>,
    status: Option<String>,
) -> Result<TaskInfo, AppError> {
    let user = request::require_user().await?;
    let text = |v: Option<String>| Some(v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
    let estimate = match estimate_minutes.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(value) => Some(value.parse::<i64>().map_err(|_| {
            AppError::field(calento::FieldError::new("estimate_minutes", "Write the estimate in minutes, like 30."))
        })?),
    };
    let patch = TaskPatch {
        title: Some(title),
        notes: notes.or(Some(String::new())),
        zone: text(zone),
        tags: Some(tags.unwrap_or_default().split([' ', ',']).filter(|t| !t.is_empty()).map(str::to_owned).collect()),
        priority,
        do_at: text(do_at),
        due: text(due),
        estimate_minutes: Some(estimate),
        energy: text(energy),
        status: status.filter(|s| !s.trim().is_empty()),
        ..TaskPatch::default()
    };
    tasks::update(&request::state()?.db, &user, &id, patch).await
}

/// Moves a step up (-1) or down (+1) among its siblings.
#[server(prefix = "/fn", endpoint = "move_step")]
pub async fn move_step(id: String, by: i64) -> Result<(), AppError> {
    let user = request::require_user().await?;
    tasks::shift(&request::state()?.db, &user, &id, by).await
}

#[server(prefix = "/fn", endpoint = "delete_task")]
pub async fn delete_task(id: String) -> Result<(), AppError> {
    let user = request::require_user().await?;
    tasks::delete(&request::state()?.db, &user.id, &id).await
}

/// Plans the next seven days (from now) for every open task with an estimate.
#[server(prefix = "/fn", endpoint = "plan_week")]
pub async fn plan_week(apply: Option<String>) -> Result<PlanResult, AppError> {
    let user = request::require_user().await?;
    let apply = ticked(&apply);
    planning::plan_week(&request::state()?.db, &user, apply).await
}

#[server(prefix = "/fn", endpoint = "focus_overview")]
pub async fn load_focus() -> Result<FocusOverview, AppError> {
    let user = request::require_user().await?;
    focus::overview(&request::state()?.db, &user).await
}

/// Starts a session; `kind` defaults to what comes next in the cycle.
#[server(prefix = "/fn", endpoint = "start_focus")]
pub async fn start_focus(task_id: Option<String>, kind: Option<String>) -> Result<FocusSessionInfo, AppError> {
    let user = request::require_user().await?;
    let task_id = task_id.filter(|t| !t.is_empty());
    let kind = kind.filter(|k| !k.is_empty());
    focus::start(&request::state()?.db, &user, task_id.as_deref(), kind.as_deref(), None).await
}

/// Pause, resume, complete or abandon the session.
#[server(prefix = "/fn", endpoint = "change_focus")]
pub async fn change_focus(id: String, action: String) -> Result<FocusSessionInfo, AppError> {
    let user = request::require_user().await?;
    focus::change(&request::state()?.db, &user, &id, &action).await
}

/// Notes what pulled the user away, during the running session.
#[server(prefix = "/fn", endpoint = "note_distraction")]
pub async fn note_distraction(note: String) -> Result<DistractionInfo, AppError> {
    let user = request::require_user().await?;
    focus::note_distraction(&request::state()?.db, &user, None, &note).await
}

#[server(prefix = "/fn", endpoint = "log_energy")]
pub async fn log_energy(level: i64, check_in: Option<String>) -> Result<EnergyInfo, AppError> {
    let user = request::require_user().await?;
    focus::log_energy(&request::state()?.db, &user, level, "", ticked(&check_in)).await
}

#[server(prefix = "/fn", endpoint = "my_progress")]
pub async fn my_progress() -> Result<ProgressInfo, AppError> {
    let user = request::require_user().await?;
    motivation::progress(&request::state()?.db, &user).await
}
