//! "Plan my week" and timeboxing: tasks become time blocks, events on the user's "Task
//! blocks" calendar linked to their task. The placing itself is the domain core's
//! (`calento::planner`); this gathers its input (working hours, busy time, tasks) and writes
//! the blocks.

use calento::FieldError;
use calento::availability::{Interval, Schedule, ScheduleInput};
use calento::capture::Energy;
use calento::planner::{self, PlanInput, PlanSettings, PlanTask};
use chrono::Duration;
use chrono_tz::Tz;

use super::accounts::{UserRow, today, user_zone};
use super::calendars::{self, CalendarRow};
use super::changes::{self, BoxFuture, Change, Kind, Op, Write};
use super::motivation::{TaskSettings, save_settings, settings};
use super::tasks::{TaskRow, day_start, parse_when, rfc3339};
use super::{Db, bookings, events, jobs, now_ms, scheduling, unexpected};
use crate::AppError;
use crate::models::{CalendarInput, EventInput};
use crate::models::{DailyPlanInfo, DayEvent, PlacementInfo, PlanResult, ShutdownReport, TaskQuery, UnplacedInfo};

/// The longest window a plan looks at.
const MAX_PLAN_DAYS: i64 = 62;

/// The user's working hours: their default availability schedule, else Mon–Fri 09:00–17:00.
async fn working_hours(db: &Db, user: &UserRow) -> Result<Schedule, AppError> {
    let schedules = scheduling::list_schedules(db, &user.id).await?;
    if let Some(default) = schedules.iter().find(|s| s.is_default != 0).or(schedules.first()) {
        return default.schedule();
    }
    let input =
        ScheduleInput { timezone: user.time_zone.clone(), rules: scheduling::working_hours(), overrides: Vec::new() };
    Schedule::from_input(&input).map_err(|_| unexpected("building working hours", &user.id))
}

/// The calendar time blocks go to, made the first time it is needed.
pub async fn blocks_calendar(db: &Db, user: &UserRow) -> Result<CalendarRow, AppError> {
    let mut settings: TaskSettings = settings(db, &user.id).await?;
    if let Some(id) = &settings.blocks_calendar_id
        && let Ok(calendar) = calendars::find(db, &user.id, id).await
    {
        return Ok(calendar);
    }
    let input = CalendarInput {
        name: Some("Task blocks".to_owned()),
        color: Some("#7e57c2".to_owned()),
        counts_as_busy: Some(settings.blocks_busy),
        ..CalendarInput::default()
    };
    let calendar = calendars::create(db, &user.id, &input, &user.time_zone).await?;
    settings.blocks_calendar_id = Some(calendar.id.clone());
    save_settings(db, &user.id, &settings).await?;
    Ok(calendar)
}

fn planner_energy(energy: Option<Energy>) -> planner::Energy {
    match energy {
        Some(Energy::Low) => planner::Energy::Low,
        Some(Energy::High) => planner::Energy::High,
        _ => planner::Energy::Medium,
    }
}

fn plan_task(row: &TaskRow, tz: Tz) -> PlanTask {
    PlanTask {
        id: row.id.clone(),
        title: row.title.clone(),
        estimate_minutes: row.estimate_minutes.and_then(|m| u32::try_from(m).ok()).unwrap_or(0),
        due_ms: row.due_ms,
        energy: planner_energy(row.energy()),
        priority: row.priority.clamp(1, 4) as u8,
        not_before_ms: row.do_when().map(|w| day_start(tz, w.date())),
    }
}

/// Reads `from`/`to` of a plan request: a date (its midnight) or a date and time.
pub fn window(user: &UserRow, from: Option<&str>, to: Option<&str>) -> Result<(i64, i64), AppError> {
    let tz = user_zone(user);
    let at = |field: &str, text: &str| -> Result<i64, FieldError> {
        Ok(match parse_when(field, text, tz)? {
            calento::capture::When::Date(d) => day_start(tz, d),
            calento::capture::When::DateTime(t) => super::tasks::instant(tz, t),
        })
    };
    let from_ms = match from.filter(|t| !t.trim().is_empty()) {
        Some(text) => at("from", text).map_err(AppError::field)?,
        None => now_ms(),
    };
    let to_ms = match to.filter(|t| !t.trim().is_empty()) {
        Some(text) => at("to", text).map_err(AppError::field)?,
        None => from_ms + Duration::days(7).num_milliseconds(),
    };
    if to_ms <= from_ms {
        return Err(AppError::field(FieldError::new("to", "The end of the window comes after its start.")));
    }
    if to_ms - from_ms > Duration::days(MAX_PLAN_DAYS).num_milliseconds() {
        return Err(AppError::field(FieldError::new("to", format!("Plan at most {MAX_PLAN_DAYS} days at once."))));
    }
    Ok((from_ms, to_ms))
}

/// Places open tasks (all with an estimate, or those named) into free working time in
/// `[from_ms, to_ms)`. With `apply`, replaces the tasks' future blocks with the new ones.
pub async fn plan(
    db: &Db,
    user: &UserRow,
    from_ms: i64,
    to_ms: i64,
    task_ids: Option<&[String]>,
    apply: bool,
) -> Result<PlanResult, AppError> {
    let tz = user_zone(user);
    let now = now_ms();
    let settings = settings(db, &user.id).await?;
    let open = super::tasks::open_roots(db, &user.id).await?;
    let chosen: Vec<&TaskRow> = match task_ids {
        Some(ids) => {
            let mut missing = Vec::new();
            for id in ids {
                if !open.iter().any(|t| &t.id == id) {
                    missing.push(id.clone());
                }
            }
            if !missing.is_empty() {
                return Err(AppError::field(FieldError::new(
                    "task_ids",
                    format!("These are not open tasks of yours: {}.", missing.join(", ")),
                )));
            }
            open.iter().filter(|t| ids.contains(&t.id)).collect()
        }
        None => open.iter().filter(|t| t.estimate_minutes.is_some()).collect(),
    };
    let chosen_ids: Vec<String> = chosen.iter().map(|t| t.id.clone()).collect();
    let existing_blocks = match &settings.blocks_calendar_id {
        Some(id) => calendars::find(db, &user.id, id).await.ok(),
        None => None,
    };
    // Busy: events on busy calendars (but the blocks calendar), bookings, and the blocks of
    // tasks this plan does not move.
    let busy_calendars: Vec<CalendarRow> = calendars::list(db, &user.id)
        .await?
        .into_iter()
        .filter(|c| c.counts_as_busy != 0 && Some(&c.id) != existing_blocks.as_ref().map(|b| &b.id))
        .collect();
    let mut busy: Vec<Interval> = events::busy_in(db, &user.id, &busy_calendars, tz, from_ms, to_ms, None)
        .await?
        .into_iter()
        .map(|(start, end)| Interval { start, end })
        .collect();
    busy.extend(bookings::booking_busy(db.read(), &user.id, from_ms, to_ms, None).await?);
    let blocks: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT task_id, start_ms, end_ms FROM task_blocks WHERE user_id = $1 AND start_ms < $3 AND end_ms > $2",
    )
    .bind(&user.id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(db.read())
    .await?;
    for (task_id, start, end) in blocks {
        if !chosen_ids.contains(&task_id) || start < now {
            busy.push(Interval { start, end });
        }
    }
    let input = PlanInput {
        working_hours: working_hours(db, user).await?,
        settings: PlanSettings {
            min_chunk_min: settings.min_chunk_minutes,
            max_chunk_min: settings.max_chunk_minutes,
            peak: settings.peak_minutes(),
            ..PlanSettings::default()
        },
        busy,
        tasks: chosen.iter().map(|t| plan_task(t, tz)).collect(),
        now_ms: now,
        from_ms,
        to_ms,
    };
    let plan = planner::plan(&input);
    let title_of = |id: &str| chosen.iter().find(|t| t.id == id).map(|t| t.title.clone()).unwrap_or_default();
    let mut placements: Vec<PlacementInfo> = plan
        .placements
        .iter()
        .map(|p| PlacementInfo {
            task_id: p.task_id.clone(),
            title: title_of(&p.task_id),
            start: rfc3339(p.start_ms, tz),
            end: rfc3339(p.end_ms, tz),
            reason: p.reason.clone(),
            event_id: None,
        })
        .collect();
    let unplaced = plan
        .unplaced
        .iter()
        .map(|u| UnplacedInfo { task_id: u.task_id.clone(), title: title_of(&u.task_id), reason: u.reason.clone() })
        .collect();
    if apply {
        let calendar = match existing_blocks {
            Some(calendar) => calendar,
            None => blocks_calendar(db, user).await?,
        };
        let mut prepared = Vec::new();
        for (info, placement) in placements.iter().zip(&plan.placements) {
            prepared.push((
                placement,
                block_event(db, user, &calendar, &info.title, &info.reason, placement.start_ms, placement.end_ms, tz)
                    .await?,
            ));
        }
        let mut tx = changes::begin(db, &user.id).await?;
        for id in &chosen_ids {
            let blocks: Vec<String> =
                sqlx::query_scalar("SELECT event_id FROM task_blocks WHERE task_id = $1 AND start_ms >= $2")
                    .bind(id)
                    .bind(now.max(from_ms))
                    .fetch_all(&mut *tx)
                    .await?;
            for event_id in blocks {
                events::delete_row(&mut tx, &event_id).await?;
            }
        }
        for (index, (placement, event)) in prepared.iter().enumerate() {
            let event_id = events::insert(&mut tx, &user.id, event, None).await?;
            insert_block(
                &mut tx,
                &user.id,
                &event_id,
                &placement.task_id,
                placement.start_ms,
                placement.end_ms,
                &placement.reason,
            )
            .await?;
            placements[index].event_id = Some(event_id);
        }
        tx.commit().await?;
    }
    Ok(PlanResult { placements, unplaced, applied: apply })
}

#[allow(clippy::too_many_arguments)]
async fn block_event(
    db: &Db,
    user: &UserRow,
    calendar: &CalendarRow,
    title: &str,
    reason: &str,
    start_ms: i64,
    end_ms: i64,
    tz: Tz,
) -> Result<events::NewEvent, AppError> {
    let input = EventInput {
        calendar_id: Some(calendar.id.clone()),
        details: calento::event::EventDetails {
            title: title.chars().take(200).collect(),
            description: format!("Time block for a task. {reason}"),
            location: String::new(),
            url: String::new(),
            status: Default::default(),
            transparency: Default::default(),
            color: None,
            tags: vec!["task".to_owned()],
            reminders: Vec::new(),
            attendees: Vec::new(),
        },
        times: calento::event::TimesInput {
            start: rfc3339(start_ms, tz),
            end: rfc3339(end_ms, tz),
            all_day: false,
            time_zone: Some(user.time_zone.clone()),
            rrule: None,
            exdates: Vec::new(),
            rdates: Vec::new(),
        },
    };
    Ok(events::prepare_new(db, &user.id, input).await?.1)
}

async fn insert_block(
    tx: &mut Write,
    user_id: &str,
    event_id: &str,
    task_id: &str,
    start_ms: i64,
    end_ms: i64,
    reason: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO task_blocks (event_id, task_id, user_id, start_ms, end_ms, reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event_id)
    .bind(task_id)
    .bind(user_id)
    .bind(start_ms)
    .bind(end_ms)
    .bind(reason)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The job that moves time blocks out from under new busy time.
pub const REPLAN_JOB: &str = "replan_blocks";

/// Reaction to a change (see `changes::REACTIONS`): when busy time may have grown (an
/// event on a calendar that counts as busy, other than the blocks calendar itself; a
/// booking; a calendar's own settings) while the user has time blocks ahead, a
/// [`REPLAN_JOB`] is queued in the same transaction, once for a burst of changes. The job
/// moves the blocks that now overlap busy time; a failure is retried and shows in the
/// admin's job list, and never fails the change.
pub fn replan_when_busy_time_changes<'a>(
    write: &'a mut Write,
    user_id: &'a str,
    changed: &'a [Change],
) -> BoxFuture<'a, Result<(), AppError>> {
    Box::pin(async move {
        let calendars: Vec<&str> = changed
            .iter()
            .filter(|c| matches!(c.kind, Kind::Event | Kind::Calendar))
            .filter_map(|c| c.calendar_id.as_deref())
            .collect();
        let booking = changed.iter().any(|c| c.kind == Kind::Booking);
        if calendars.is_empty() && !booking {
            return Ok(());
        }
        let now = now_ms();
        let blocks_ahead: i64 = sqlx::query_scalar(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM task_blocks WHERE user_id = $1 AND end_ms > $2) THEN 1 ELSE 0 END",
        )
        .bind(user_id)
        .bind(now)
        .fetch_one(&mut **write)
        .await?;
        if blocks_ahead == 0 {
            return Ok(());
        }
        if !booking {
            let text: Option<String> = sqlx::query_scalar("SELECT task_settings FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut **write)
                .await?;
            let blocks =
                text.and_then(|t| serde_json::from_str::<TaskSettings>(&t).ok()).and_then(|s| s.blocks_calendar_id);
            let busy: Vec<String> =
                sqlx::query_scalar("SELECT id FROM calendars WHERE user_id = $1 AND counts_as_busy = 1")
                    .bind(user_id)
                    .fetch_all(&mut **write)
                    .await?;
            let matters = |id: &&str| busy.iter().any(|b| b == id) && blocks.as_deref() != Some(*id);
            if !calendars.iter().any(matters) {
                return Ok(());
            }
        }
        let key = format!("{REPLAN_JOB}:{user_id}");
        jobs::enqueue_once(write, REPLAN_JOB, &key, &serde_json::json!({ "user_id": user_id }), now).await?;
        Ok(())
    })
}

/// The [`REPLAN_JOB`]: the tasks whose future blocks overlap busy time (events on busy
/// calendars, bookings) are planned again, so a block never sits under a meeting.
pub async fn replan_overlapped_blocks(db: &Db, user_id: &str) -> Result<(), AppError> {
    let Some(user) = super::accounts::find_by_id(db, user_id).await? else { return Ok(()) };
    let now = now_ms();
    let blocks: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT task_id, start_ms, end_ms FROM task_blocks WHERE user_id = $1 AND start_ms >= $2 ORDER BY start_ms",
    )
    .bind(&user.id)
    .bind(now)
    .fetch_all(db.read())
    .await?;
    if blocks.is_empty() {
        return Ok(());
    }
    let settings = settings(db, &user.id).await?;
    let tz = user_zone(&user);
    let last = blocks.iter().map(|b| b.2).max().unwrap_or(now);
    let busy_calendars: Vec<CalendarRow> = calendars::list(db, &user.id)
        .await?
        .into_iter()
        .filter(|c| c.counts_as_busy != 0 && Some(&c.id) != settings.blocks_calendar_id.as_ref())
        .collect();
    let mut busy: Vec<(i64, i64)> = events::busy_in(db, &user.id, &busy_calendars, tz, now, last, None).await?;
    busy.extend(
        bookings::booking_busy(db.read(), &user.id, now, last, None).await?.into_iter().map(|i| (i.start, i.end)),
    );
    let mut moved: Vec<String> = Vec::new();
    for (task_id, start, end) in &blocks {
        if busy.iter().any(|(s, e)| s < end && e > start) && !moved.contains(task_id) {
            moved.push(task_id.clone());
        }
    }
    if moved.is_empty() {
        return Ok(());
    }
    let open: Vec<String> = super::tasks::open_roots(db, &user.id).await?.into_iter().map(|t| t.id).collect();
    moved.retain(|id| open.contains(id));
    if moved.is_empty() {
        return Ok(());
    }
    let to = last
        .max(now + Duration::days(7).num_milliseconds())
        .min(now + Duration::days(MAX_PLAN_DAYS).num_milliseconds());
    plan(db, &user, now, to, Some(&moved), true).await?;
    Ok(())
}

/// Registers the [`REPLAN_JOB`] handler.
pub fn register(handlers: jobs::Handlers) -> jobs::Handlers {
    handlers.add(REPLAN_JOB, |db, payload| async move {
        let user_id = payload["user_id"].as_str().unwrap_or_default().to_owned();
        replan_overlapped_blocks(&db, &user_id).await.map_err(|e| format!("re-planning time blocks: {e}"))
    })
}

/// Plans the next seven days from now.
pub async fn plan_week(db: &Db, user: &UserRow, apply: bool) -> Result<PlanResult, AppError> {
    let from = now_ms();
    let to = day_start(user_zone(user), today(user) + Duration::days(8));
    plan(db, user, from, to, None, apply).await
}

/// Timeboxing: a block for a task at a chosen time (a task dropped on the week view).
pub async fn add_block(
    db: &Db,
    user: &UserRow,
    task_id: &str,
    start: &str,
    end: &str,
) -> Result<PlacementInfo, AppError> {
    let tz = user_zone(user);
    let task = super::tasks::find(db, user, task_id).await?;
    let instant = |field: &str, text: &str| -> Result<i64, FieldError> {
        match parse_when(field, text, tz)? {
            calento::capture::When::DateTime(t) => Ok(super::tasks::instant(tz, t)),
            calento::capture::When::Date(_) => Err(FieldError::new(field, "Give a date and time (2030-01-15T10:00).")),
        }
    };
    let (start_ms, end_ms) = match (instant("start", start), instant("end", end)) {
        (Ok(s), Ok(e)) if e > s && e - s <= Duration::hours(24).num_milliseconds() => (s, e),
        (Ok(_), Ok(_)) => {
            return Err(AppError::field(FieldError::new("end", "A block ends after it starts, within 24 hours.")));
        }
        (s, e) => return Err(AppError::fields([s.err(), e.err()].into_iter().flatten().collect())),
    };
    let calendar = blocks_calendar(db, user).await?;
    let reason = "Placed by hand".to_owned();
    let event = block_event(db, user, &calendar, &task.title, &reason, start_ms, end_ms, tz).await?;
    let mut tx = changes::begin(db, &user.id).await?;
    let event_id = events::insert(&mut tx, &user.id, &event, None).await?;
    insert_block(&mut tx, &user.id, &event_id, &task.id, start_ms, end_ms, &reason).await?;
    tx.commit().await?;
    Ok(PlacementInfo {
        task_id: task.id,
        title: task.title,
        start: rfc3339(start_ms, tz),
        end: rfc3339(end_ms, tz),
        reason,
        event_id: Some(event_id),
    })
}

// ---- The daily plan ----

const MAX_TOP: usize = 3;

async fn plan_row(db: &Db, user_id: &str, day: &str) -> Result<Option<(String, String, Option<i64>)>, AppError> {
    sqlx::query_as("SELECT intention, top_task_ids, shutdown_at FROM daily_plans WHERE user_id = $1 AND day = $2")
        .bind(user_id)
        .bind(day)
        .fetch_optional(db.read())
        .await
        .map_err(AppError::from)
}

/// Today: the calendar, the plan (intention, top three), tasks to choose from, what got done.
pub async fn daily_plan(db: &Db, user: &UserRow) -> Result<DailyPlanInfo, AppError> {
    let tz = user_zone(user);
    let day = today(user);
    let date = day.format("%Y-%m-%d").to_string();
    let row = plan_row(db, &user.id, &date).await?;
    let (from, to) = (day_start(tz, day), day_start(tz, day + Duration::days(1)));
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc();
    let occurrences = events::occurrences(db, &user.id, at(from), at(to), None).await?;
    let local = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&tz);
    let events = occurrences
        .iter()
        .filter(|o| o.status != calento::event::EventStatus::Cancelled)
        .map(|o| DayEvent {
            time: if o.all_day {
                "all day".to_owned()
            } else {
                format!("{}–{}", local(o.start_ms).format("%H:%M"), local(o.end_ms).format("%H:%M"))
            },
            title: o.summary.clone(),
        })
        .collect();
    let today_list =
        super::tasks::list(db, user, &TaskQuery { view: Some("today".to_owned()), ..TaskQuery::default() }).await?;
    let all_open = super::tasks::list(db, user, &TaskQuery::default()).await?;
    let mut candidates = today_list.clone();
    for task in all_open {
        if candidates.len() >= 50 {
            break;
        }
        if !candidates.iter().any(|c| c.id == task.id) {
            candidates.push(task);
        }
    }
    let (intention, top_ids, shutdown) = match &row {
        Some((intention, ids, shutdown)) => {
            (intention.clone(), ids.split_whitespace().map(str::to_owned).collect::<Vec<_>>(), shutdown.is_some())
        }
        None => (String::new(), Vec::new(), false),
    };
    let mut top = Vec::new();
    for id in &top_ids {
        if let Ok(task) = super::tasks::find(db, user, id).await {
            top.push(task);
        }
    }
    let done: Vec<(String,)> = sqlx::query_as(
        "SELECT title FROM tasks WHERE user_id = $1 AND depth = 0 AND status = 'done' AND completed_at >= $2
            AND completed_at < $3 ORDER BY completed_at",
    )
    .bind(&user.id)
    .bind(from)
    .bind(to)
    .fetch_all(db.read())
    .await?;
    Ok(DailyPlanInfo {
        date,
        intention,
        planned: row.is_some(),
        top,
        events,
        candidates,
        shutdown,
        done_today: done.into_iter().map(|(t,)| t).collect(),
    })
}

/// Saves today's intention and top tasks (at most three, open tasks of the user); with
/// `place`, plans them into the rest of today and puts the blocks on the calendar.
pub async fn save_daily_plan(
    db: &Db,
    user: &UserRow,
    intention: &str,
    task_ids: &[String],
    place: bool,
) -> Result<Option<PlanResult>, AppError> {
    let intention = intention.trim();
    let mut errors = Vec::new();
    if intention.chars().count() > 500 {
        errors.push(FieldError::new("intention", "An intention has at most 500 characters."));
    }
    let mut ids: Vec<String> = Vec::new();
    for id in task_ids.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    if ids.len() > MAX_TOP {
        errors.push(FieldError::new("task_ids", format!("Pick at most {MAX_TOP} tasks: fewer is kinder.")));
    }
    let open = super::tasks::open_roots(db, &user.id).await?;
    if ids.iter().any(|id| !open.iter().any(|t| &t.id == id)) {
        errors.push(FieldError::new("task_ids", "Pick from your open tasks."));
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let day = today(user).format("%Y-%m-%d").to_string();
    let mut write = changes::begin(db, &user.id).await?;
    sqlx::query(
        "INSERT INTO daily_plans (user_id, day, intention, top_task_ids, planned_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, day) DO UPDATE SET intention = excluded.intention, top_task_ids = excluded.top_task_ids,
             planned_at = excluded.planned_at",
    )
    .bind(&user.id)
    .bind(&day)
    .bind(intention)
    .bind(ids.join(" "))
    .bind(now_ms())
    .execute(&mut *write)
    .await?;
    write.record(Kind::DailyPlan, &day, Op::Updated, None);
    write.commit().await?;
    if !place || ids.is_empty() {
        return Ok(None);
    }
    let tz = user_zone(user);
    let end = day_start(tz, today(user) + Duration::days(1));
    let from = now_ms();
    if end <= from {
        return Ok(None);
    }
    plan(db, user, from, end, Some(&ids), true).await.map(Some)
}

/// Moves every unfinished task planned for today or earlier to tomorrow (a time of day is
/// kept) and marks today shut down.
pub async fn shutdown(db: &Db, user: &UserRow) -> Result<ShutdownReport, AppError> {
    use calento::capture::When;
    let day = today(user);
    let date = day.format("%Y-%m-%d").to_string();
    let tomorrow = day + Duration::days(1);
    let open = super::tasks::open_roots(db, &user.id).await?;
    let mut moved = 0;
    for task in open.iter().filter(|t| t.do_when().is_some_and(|w| w.date() <= day)) {
        let next = match task.do_when() {
            Some(When::DateTime(at)) => tomorrow.and_time(at.time()).format("%Y-%m-%dT%H:%M:%S").to_string(),
            _ => tomorrow.format("%Y-%m-%d").to_string(),
        };
        let patch = crate::models::TaskPatch { do_at: Some(Some(next)), ..Default::default() };
        super::tasks::update(db, user, &task.id, patch).await?;
        moved += 1;
    }
    let mut write = changes::begin(db, &user.id).await?;
    sqlx::query(
        "INSERT INTO daily_plans (user_id, day, intention, top_task_ids, planned_at, shutdown_at) VALUES ($1, $2, '', '', $3, $3)
         ON CONFLICT (user_id, day) DO UPDATE SET shutdown_at = excluded.shutdown_at",
    )
    .bind(&user.id)
    .bind(&date)
    .bind(now_ms())
    .execute(&mut *write)
    .await?;
    write.record(Kind::DailyPlan, &date, Op::Updated, None);
    write.commit().await?;
    let (done_today,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM tasks WHERE user_id = $1 AND depth = 0 AND status = 'done' AND completed_at >= $2",
    )
    .bind(&user.id)
    .bind(day_start(user_zone(user), day))
    .fetch_one(db.read())
    .await?;
    Ok(ShutdownReport { moved, done_today: done_today as usize })
}
