//! Tasks, micro-steps, quick capture, focus sessions, energy, planning and motivation: the
//! server functions the Tasks, Focus and Today pages call (their types are in
//! `crate::models`).

use leptos::prelude::*;

use crate::AppError;
use crate::models::*;
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
    let db = request::state()?.db.clone();
    let mut settings = motivation::settings(&db, &user.id).await?;
    settings.focus = FocusSettings { focus_minutes, short_break_minutes, long_break_minutes, cycles };
    settings.motivation = switches(&xp, &streaks, &achievements, &rewards, &companion);
    let (start, end) = (peak_start.unwrap_or_default(), peak_end.unwrap_or_default());
    settings.peak_hours = if start.trim().is_empty() && end.trim().is_empty() {
        Vec::new()
    } else {
        vec![motivation::PeakRange { start: calento::clock::typed_time(&start), end: calento::clock::typed_time(&end) }]
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
    let db = request::state()?.db.clone();
    let mut settings = motivation::settings(&db, &user.id).await?;
    if !ticked(&skip) {
        let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).unwrap_or_default();
        let (peak_start, peak_end) = (text(peak_start), text(peak_end));
        let (peak_start, peak_end) = (calento::clock::typed_time(&peak_start), calento::clock::typed_time(&peak_end));
        if !peak_start.is_empty() || !peak_end.is_empty() {
            settings.peak_hours = vec![motivation::PeakRange { start: peak_start, end: peak_end }];
        }
        settings.motivation = switches(&xp, &streaks, &achievements, &rewards, &companion);
        settings.validate()?;
        let (work_start, work_end) =
            (calento::clock::typed_time(&text(work_start)), calento::clock::typed_time(&text(work_end)));
        tasks::onboard(&db, &user, zones.as_deref().unwrap_or_default(), &work_start, &work_end).await?;
    }
    settings.onboarded = true;
    motivation::save_settings(&db, &user.id, &settings).await
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

/// One page of a list, for the tasks page: people with thousands of open tasks get the
/// first fifty at once and the rest a page at a time.
#[server(prefix = "/fn", endpoint = "list_task_page")]
pub async fn list_task_page(
    view: String,
    zone: Option<String>,
    tag: Option<String>,
    sort: Option<String>,
    page: Option<String>,
) -> Result<TaskPage, AppError> {
    let user = request::require_user().await?;
    let page = crate::ssr::search::number("page", page.as_deref(), 1, 100_000)
        .map_err(|_| AppError::field(calento::FieldError::new("page", "The page is a whole number from 1.")))?;
    let query = TaskQuery { view: Some(view), zone, tag, sort };
    let per_page = tasks::PAGE_SIZE;
    let (items, total) = tasks::list_page(&request::state()?.db, &user, &query, Some((page, per_page))).await?;
    let today = crate::ssr::accounts::today(&user).format("%Y-%m-%d").to_string();
    Ok(TaskPage { items, page, per_page, total, today })
}

#[server(prefix = "/fn", endpoint = "list_zones")]
pub async fn list_zones() -> Result<Vec<ZoneInfo>, AppError> {
    let user = request::require_user().await?;
    tasks::zones(&request::state()?.db, &user.id).await
}

/// Reads a brain dump; with `save` the tasks are created. A `key` (quick capture kept on
/// the device while offline) makes them once, however often it is sent.
#[server(prefix = "/fn", endpoint = "capture_tasks")]
pub async fn capture_tasks(
    text: String,
    save: Option<String>,
    #[server(default)] next: Option<String>,
    #[server(default)] key: Option<String>,
) -> Result<CaptureResult, AppError> {
    let user = request::require_user().await?;
    let key = key.filter(|k| !k.is_empty());
    let captured = tasks::capture(&request::state()?.db, &user, &text, ticked(&save), key.as_deref()).await?;
    if let Some(next) = next.filter(|_| request::is_plain_form_post()) {
        leptos_axum::redirect(&request::local_path(Some(next), "/tasks"));
    }
    Ok(captured)
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

/// Saves the edit form of a task: every field as typed; an empty one clears it. "Do on" and
/// "due" come as a date (a date picker) and an optional time (`9:30`, `2:30 pm`), or as one
/// text (`do_at`, `due`: `2030-01-15` or `2030-01-15T10:00`).
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "edit_task")]
pub async fn edit_task(
    id: String,
    title: String,
    do_at: Option<String>,
    due: Option<String>,
    do_date: Option<String>,
    do_time: Option<String>,
    due_date: Option<String>,
    due_time: Option<String>,
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
    // A date and a time from the pickers, or the one text; an empty date clears it.
    let when = |at: Option<String>, date: Option<String>, time: Option<String>, field: &str| match date {
        None => Ok(text(at).flatten()),
        Some(date) if date.trim().is_empty() => Ok(None),
        Some(date) => match time.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(Some(date.trim().to_owned())),
            Some(time) => calento::clock::parse_time_of_day(time)
                .map(|t| Some(format!("{}T{}", date.trim(), t.format("%H:%M"))))
                .ok_or_else(|| AppError::field(calento::FieldError::new(field, "Write a time like 09:30 or 2:30 pm."))),
        },
    };
    let do_at = when(do_at, do_date, do_time, "do_at")?;
    let due = when(due, due_date, due_time, "due")?;
    let patch = TaskPatch {
        title: Some(title),
        notes: notes.or(Some(String::new())),
        zone: text(zone),
        tags: Some(tags.unwrap_or_default().split([' ', ',']).filter(|t| !t.is_empty()).map(str::to_owned).collect()),
        priority,
        do_at: Some(do_at),
        due: Some(due),
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

/// The running or paused session, if any, for the header's badge.
#[server(prefix = "/fn", endpoint = "focus_now")]
pub async fn focus_now() -> Result<Option<FocusBadgeInfo>, AppError> {
    let user = request::require_user().await?;
    Ok(focus::current(&request::state()?.db, &user).await?.map(badge_of))
}

/// Pause, resume or stop the session from the header's badge; answers what the badge shows
/// next (nothing once it is stopped).
#[server(prefix = "/fn", endpoint = "change_focus_now")]
pub async fn change_focus_now(id: String, action: String) -> Result<Option<FocusBadgeInfo>, AppError> {
    let user = request::require_user().await?;
    let session = focus::change(&request::state()?.db, &user, &id, &action).await?;
    Ok(session.state.is_active().then(|| badge_of(session)))
}

#[cfg(feature = "ssr")]
fn badge_of(session: FocusSessionInfo) -> FocusBadgeInfo {
    FocusBadgeInfo {
        id: session.id,
        running: session.state == FocusState::Running,
        remaining_seconds: session.remaining_seconds,
        what: session.task_title.unwrap_or_else(|| session.kind.label().to_owned()),
    }
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
