//! Focus sessions (the Pomodoro timer kept on the server), the distraction log and energy.

use calento::FieldError;
use calento::focus::{FocusKind, FocusState, FocusTimer, next_kind};

use super::accounts::{UserRow, today, user_zone};
use super::changes::{self, Kind, Op};
use super::motivation::{self, local_day, settings};
use super::tasks::day_start;
use super::{Db, millis_to_utc, new_id, now_ms, unexpected};
use crate::AppError;
use crate::models::{
    DayStat, DistractionInfo, EnergyInfo, EstimateVsActual, FocusOverview, FocusSessionInfo, NowSuggestion, StatsInfo,
    TaskInfo, ZoneMinutes,
};

#[derive(Debug, Clone, sqlx::FromRow)]
struct SessionRow {
    id: String,
    task_id: Option<String>,
    task_title: Option<String>,
    kind: String,
    state: String,
    planned_ms: i64,
    started_ms: i64,
    paused_at_ms: Option<i64>,
    paused_total_ms: i64,
    ended_ms: Option<i64>,
}

const SELECT: &str = "SELECT s.id, s.task_id, t.title AS task_title, s.kind, s.state, s.planned_ms, s.started_ms,
        s.paused_at_ms, s.paused_total_ms, s.ended_ms
   FROM focus_sessions s LEFT JOIN tasks t ON t.id = s.task_id";

impl SessionRow {
    fn timer(&self) -> FocusTimer {
        FocusTimer {
            kind: FocusKind::parse(&self.kind).unwrap_or(FocusKind::Focus),
            state: FocusState::parse(&self.state).unwrap_or(FocusState::Abandoned),
            planned_ms: self.planned_ms,
            started_ms: self.started_ms,
            paused_at_ms: self.paused_at_ms,
            paused_total_ms: self.paused_total_ms,
            ended_ms: self.ended_ms,
        }
    }
}

/// What every session's "next kind" is worked out from, read once per request.
struct Cycle {
    settings: calento::focus::FocusSettings,
    in_a_row: u32,
}

async fn cycle(db: &Db, user_id: &str) -> Result<Cycle, AppError> {
    Ok(Cycle { settings: settings(db, user_id).await?.focus, in_a_row: focus_in_a_row(db, user_id).await? })
}

async fn info(db: &Db, cycle: &Cycle, row: &SessionRow, now: i64) -> Result<FocusSessionInfo, AppError> {
    let timer = row.timer();
    let distractions: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT id, note, created_at FROM distractions WHERE session_id = $1 ORDER BY created_at, id")
            .bind(&row.id)
            .fetch_all(db.read())
            .await?;
    let following = if timer.kind == FocusKind::Focus && timer.state.is_active() {
        next_kind(FocusKind::Focus, cycle.in_a_row + 1, &cycle.settings)
    } else {
        next_kind(timer.kind, cycle.in_a_row, &cycle.settings)
    };
    Ok(FocusSessionInfo {
        id: row.id.clone(),
        task_id: row.task_id.clone(),
        task_title: row.task_title.clone(),
        kind: timer.kind,
        state: timer.state,
        planned_seconds: timer.planned_ms / 1000,
        elapsed_seconds: timer.elapsed_ms(now) / 1000,
        remaining_seconds: (timer.remaining_ms(now) + 999) / 1000,
        started_at: millis_to_utc(timer.started_ms),
        ended_at: timer.ended_ms.map(millis_to_utc),
        next_kind: following,
        distractions: distractions
            .into_iter()
            .map(|(id, note, at)| DistractionInfo { id, note, at: millis_to_utc(at) })
            .collect(),
    })
}

/// Completed focus periods since the last long break (or the last abandoned focus).
async fn focus_in_a_row(db: &Db, user_id: &str) -> Result<u32, AppError> {
    let recent: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, state FROM focus_sessions WHERE user_id = $1 AND state IN ('completed', 'abandoned')
          ORDER BY started_ms DESC LIMIT 50",
    )
    .bind(user_id)
    .fetch_all(db.read())
    .await?;
    let mut count = 0;
    for (kind, state) in recent {
        match (kind.as_str(), state.as_str()) {
            ("long_break", _) | ("focus", "abandoned") => break,
            ("focus", "completed") => count += 1,
            _ => {}
        }
    }
    Ok(count)
}

/// What to start next: focus after a break (or at first), else the break the cycle calls for.
async fn suggested_kind(
    db: &Db,
    user_id: &str,
    settings: &calento::focus::FocusSettings,
) -> Result<FocusKind, AppError> {
    let last: Option<(String, String)> = sqlx::query_as(
        "SELECT kind, state FROM focus_sessions WHERE user_id = $1 AND state IN ('completed', 'abandoned')
          ORDER BY started_ms DESC LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(db.read())
    .await?;
    let in_a_row = focus_in_a_row(db, user_id).await?;
    Ok(match last {
        Some((kind, state)) if state == "completed" => {
            next_kind(FocusKind::parse(&kind).unwrap_or(FocusKind::LongBreak), in_a_row, settings)
        }
        _ => FocusKind::Focus,
    })
}

/// Writes a timer back if the row is still as it was read (another device may have changed
/// it meanwhile); a finished session no longer holds the user's one active slot.
async fn save(db: &Db, user: &UserRow, row: &SessionRow, timer: &FocusTimer) -> Result<bool, AppError> {
    let mut tx = changes::begin(db, &user.id).await?;
    let done = sqlx::query(
        "UPDATE focus_sessions SET state = $1, paused_at_ms = $2, paused_total_ms = $3, ended_ms = $4,
             active_key = CASE WHEN $1 IN ('running', 'paused') THEN user_id ELSE NULL END
          WHERE id = $5 AND state = $6 AND paused_total_ms = $7",
    )
    .bind(timer.state.as_str())
    .bind(timer.paused_at_ms)
    .bind(timer.paused_total_ms)
    .bind(timer.ended_ms)
    .bind(&row.id)
    .bind(&row.state)
    .bind(row.paused_total_ms)
    .execute(&mut *tx)
    .await?;
    let changed = done.rows_affected() == 1;
    if changed {
        tx.record(Kind::FocusSession, &row.id, Op::Updated, None);
    }
    if changed && timer.state == FocusState::Completed && timer.kind == FocusKind::Focus {
        let end = timer.ended_ms.unwrap_or_else(now_ms);
        let minutes = timer.elapsed_ms(end) / 60_000;
        let xp = calento::motivation::focus_xp(minutes);
        motivation::award_on(&mut tx, user, "focus", &row.id, xp, local_day(user, end)).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// The running or paused session, completing it first if its time ran out.
async fn active(db: &Db, user: &UserRow) -> Result<Option<SessionRow>, AppError> {
    let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE s.active_key = $1")))
        .bind(&user.id)
        .fetch_optional(db.read())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut timer = row.timer();
    if timer.settle(now_ms()) {
        save(db, user, &row, &timer).await?;
        return Ok(None);
    }
    Ok(Some(row))
}

async fn by_id(db: &Db, user_id: &str, id: &str) -> Result<SessionRow, AppError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE s.id = $1 AND s.user_id = $2")))
        .bind(id)
        .bind(user_id)
        .fetch_optional(db.read())
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn current(db: &Db, user: &UserRow) -> Result<Option<FocusSessionInfo>, AppError> {
    match active(db, user).await? {
        Some(row) => Ok(Some(info(db, &cycle(db, &user.id).await?, &row, now_ms()).await?)),
        None => Ok(None),
    }
}

pub async fn get(db: &Db, user: &UserRow, id: &str) -> Result<FocusSessionInfo, AppError> {
    active(db, user).await?;
    let row = by_id(db, &user.id, id).await?;
    info(db, &cycle(db, &user.id).await?, &row, now_ms()).await
}

/// Starts a session (the next kind in the cycle when none is given), optionally for a task
/// or micro-step. Only one session runs at a time: a second start is a conflict.
pub async fn start(
    db: &Db,
    user: &UserRow,
    task_id: Option<&str>,
    kind: Option<&str>,
    minutes: Option<i64>,
) -> Result<FocusSessionInfo, AppError> {
    let settings = settings(db, &user.id).await?;
    let mut errors = Vec::new();
    let kind = match kind {
        Some(text) => FocusKind::parse(text).ok_or_else(|| {
            errors.push(FieldError::new("kind", "The kind is focus, short_break or long_break."));
        }),
        None => Ok(suggested_kind(db, &user.id, &settings.focus).await?),
    };
    let minutes = match minutes {
        Some(m) if (1..=i64::from(calento::focus::MAX_SESSION_MINUTES)).contains(&m) => Some(m as u32),
        Some(_) => {
            errors.push(FieldError::new("minutes", "A session lasts 1 to 240 minutes."));
            None
        }
        None => None,
    };
    if let Some(task_id) = task_id {
        let found: Option<(String,)> = sqlx::query_as("SELECT id FROM tasks WHERE id = $1 AND user_id = $2")
            .bind(task_id)
            .bind(&user.id)
            .fetch_optional(db.read())
            .await?;
        if found.is_none() {
            errors.push(FieldError::new("task_id", "That task does not exist (any more)."));
        }
    }
    let Ok(kind) = kind else { return Err(AppError::fields(errors)) };
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let busy =
        || AppError::Conflict { message: "A focus session is already running; finish or abandon it first.".to_owned() };
    if active(db, user).await?.is_some() {
        return Err(busy());
    }
    let now = now_ms();
    let timer = FocusTimer::start(kind, minutes.unwrap_or_else(|| settings.focus.minutes(kind)), now);
    let id = new_id();
    let mut tx = changes::begin(db, &user.id).await?;
    sqlx::query(
        "INSERT INTO focus_sessions (id, user_id, task_id, kind, state, planned_ms, started_ms, paused_total_ms,
             active_key, created_at)
         VALUES ($1, $2, $3, $4, 'running', $5, $6, 0, $2, $6)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(task_id)
    .bind(kind.as_str())
    .bind(timer.planned_ms)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
            busy()
        } else {
            unexpected("starting a focus session", e)
        }
    })?;
    tx.record(Kind::FocusSession, &id, Op::Created, None);
    tx.commit().await?;
    get(db, user, &id).await
}

/// `pause`, `resume`, `complete` or `abandon`.
pub async fn change(db: &Db, user: &UserRow, id: &str, action: &str) -> Result<FocusSessionInfo, AppError> {
    let row = by_id(db, &user.id, id).await?;
    let mut timer = row.timer();
    let now = now_ms();
    let result = match action {
        "pause" => timer.pause(now),
        "resume" => timer.resume(now),
        "complete" => timer.complete(now),
        "abandon" => timer.abandon(now),
        _ => {
            return Err(AppError::field(FieldError::new(
                "action",
                "The action is pause, resume, complete or abandon.",
            )));
        }
    };
    if let Err(refused) = result {
        // A session whose time ran out is saved as completed even when the change is refused.
        if timer.state != row.timer().state {
            save(db, user, &row, &timer).await?;
        }
        return Err(AppError::Conflict { message: refused.0.to_owned() });
    }
    if !save(db, user, &row, &timer).await? {
        return Err(AppError::Conflict { message: "The session changed on another device; look again.".to_owned() });
    }
    get(db, user, id).await
}

/// Sessions that started in `[from_ms, to_ms)`, newest first (at most 500).
pub async fn history(db: &Db, user: &UserRow, from_ms: i64, to_ms: i64) -> Result<Vec<FocusSessionInfo>, AppError> {
    active(db, user).await?;
    let rows: Vec<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE s.user_id = $1 AND s.started_ms >= $2 AND s.started_ms < $3 ORDER BY s.started_ms DESC LIMIT 500"
    )))
    .bind(&user.id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(db.read())
    .await?;
    let now = now_ms();
    let cycle = cycle(db, &user.id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(info(db, &cycle, row, now).await?);
    }
    Ok(out)
}

pub async fn overview(db: &Db, user: &UserRow) -> Result<FocusOverview, AppError> {
    let settings = settings(db, &user.id).await?;
    let current = current(db, user).await?;
    let tz = user_zone(user);
    let day = today(user);
    let from = day_start(tz, day);
    let to = day_start(tz, day.succ_opt().unwrap_or(day));
    let recent = history(db, user, from, to).await?;
    let focus_minutes_today = recent
        .iter()
        .filter(|s| s.kind == FocusKind::Focus && s.state != FocusState::Abandoned)
        .map(|s| s.elapsed_seconds / 60)
        .sum();
    let next = suggested_kind(db, &user.id, &settings.focus).await?;
    let open_tasks: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, title FROM tasks WHERE user_id = $1 AND status IN ('todo', 'doing') AND is_template = 0
          ORDER BY depth, do_day IS NULL, do_day, priority, created_at LIMIT 200",
    )
    .bind(&user.id)
    .fetch_all(db.read())
    .await?;
    Ok(FocusOverview {
        current,
        settings: settings.focus,
        sound: settings.sound,
        next_kind: next,
        focus_minutes_today,
        recent: recent.into_iter().filter(|s| !s.state.is_active()).take(20).collect(),
        open_tasks,
    })
}

/// Notes a distraction on the running session (or on `session_id`), one line.
pub async fn note_distraction(
    db: &Db,
    user: &UserRow,
    session_id: Option<&str>,
    note: &str,
) -> Result<DistractionInfo, AppError> {
    let note = note.trim();
    if note.is_empty() || note.chars().count() > 500 {
        return Err(AppError::field(FieldError::new("note", "Write what pulled you away in 1 to 500 characters.")));
    }
    let session = match session_id {
        Some(id) => Some(by_id(db, &user.id, id).await?.id),
        None => active(db, user).await?.map(|r| r.id),
    };
    let id = new_id();
    let at = now_ms();
    let mut tx = changes::begin(db, &user.id).await?;
    sqlx::query("INSERT INTO distractions (id, user_id, session_id, note, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(&user.id)
        .bind(&session)
        .bind(note)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    tx.record(Kind::Distraction, &id, Op::Created, None);
    if let Some(session) = &session {
        tx.record(Kind::FocusSession, session, Op::Updated, None);
    }
    tx.commit().await?;
    Ok(DistractionInfo { id, note: note.to_owned(), at: millis_to_utc(at) })
}

pub async fn log_energy(
    db: &Db,
    user: &UserRow,
    level: i64,
    note: &str,
    check_in: bool,
) -> Result<EnergyInfo, AppError> {
    let mut errors = Vec::new();
    if !(1..=5).contains(&level) {
        errors.push(FieldError::new("level", "Energy is 1 (empty) to 5 (full)."));
    }
    if note.chars().count() > 500 {
        errors.push(FieldError::new("note", "A note has at most 500 characters."));
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let id = new_id();
    let at = now_ms();
    let mut tx = changes::begin(db, &user.id).await?;
    sqlx::query("INSERT INTO energy_logs (id, user_id, level, note, check_in, at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(&user.id)
        .bind(level)
        .bind(note.trim())
        .bind(i64::from(check_in))
        .bind(at)
        .execute(&mut *tx)
        .await?;
    tx.record(Kind::Energy, &id, Op::Created, None);
    tx.commit().await?;
    Ok(EnergyInfo { id, level: level as u8, note: note.trim().to_owned(), check_in, at: millis_to_utc(at) })
}

pub async fn energy_history(db: &Db, user_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<EnergyInfo>, AppError> {
    let rows: Vec<(String, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT id, level, note, check_in, at_ms FROM energy_logs WHERE user_id = $1 AND at_ms >= $2 AND at_ms < $3
          ORDER BY at_ms DESC LIMIT 1000",
    )
    .bind(user_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(db.read())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, level, note, check_in, at)| EnergyInfo {
            id,
            level: level.clamp(1, 5) as u8,
            note,
            check_in: check_in != 0,
            at: millis_to_utc(at),
        })
        .collect())
}

/// Tasks that fit the latest energy (logged in the last 6 hours) and the free time before
/// the next busy event: with low energy only low-energy tasks, with medium energy low and
/// medium ones, with high energy anything (demanding work first). Tasks without an estimate
/// fit any gap; at most five, by deadline and priority.
pub async fn what_now(db: &Db, user: &UserRow) -> Result<NowSuggestion, AppError> {
    use calento::capture::Energy;
    let now = now_ms();
    let tz = user_zone(user);
    let latest: Option<(i64,)> =
        sqlx::query_as("SELECT level FROM energy_logs WHERE user_id = $1 AND at_ms >= $2 ORDER BY at_ms DESC LIMIT 1")
            .bind(&user.id)
            .bind(now - 6 * 3_600_000)
            .fetch_optional(db.read())
            .await?;
    let energy = latest.map(|(level,)| level.clamp(1, 5) as u8);
    let horizon = now + 12 * 3_600_000;
    let busy = super::bookings::busy(db, &user.id, tz, now, horizon).await?;
    let next = busy.iter().map(|i| i.start).filter(|start| *start >= now).min();
    let busy_now = busy.iter().any(|i| i.start <= now && i.end > now);
    let free_minutes = if busy_now { Some(0) } else { next.map(|start| (start - now) / 60_000) };
    let allowed = |task: Option<Energy>| match (energy, task) {
        (None, _) | (_, None) => true,
        (Some(1..=2), Some(e)) => e == Energy::Low,
        (Some(3), Some(e)) => e != Energy::High,
        _ => true,
    };
    let list = super::tasks::list(db, user, &crate::models::TaskQuery::default()).await?;
    let mut fitting: Vec<TaskInfo> = list
        .into_iter()
        .filter(|t| allowed(t.energy))
        .filter(|t| match (free_minutes, t.estimate_minutes) {
            (Some(free), Some(estimate)) => i64::from(estimate) <= free,
            _ => true,
        })
        .collect();
    if energy.is_some_and(|e| e >= 4) {
        fitting.sort_by_key(|t| std::cmp::Reverse(t.energy == Some(Energy::High)));
    }
    fitting.truncate(5);
    Ok(NowSuggestion {
        energy,
        free_minutes,
        next_busy_at: next.map(|ms| super::tasks::rfc3339(ms, tz)),
        tasks: fitting,
    })
}

/// Per day for the last `days` days (7–366) ending today: tasks and steps done, focus
/// minutes, average energy, streak days; focus minutes per zone; estimate against focused
/// time for tasks that have both.
pub async fn stats(db: &Db, user: &UserRow, days: i64) -> Result<StatsInfo, AppError> {
    use std::collections::HashMap;
    if !(7..=366).contains(&days) {
        return Err(AppError::field(FieldError::new("days", "Statistics cover 7 to 366 days.")));
    }
    let tz = user_zone(user);
    let last = today(user);
    let first = last - chrono::Duration::days(days - 1);
    let (from, to) = (day_start(tz, first), day_start(tz, last.succ_opt().unwrap_or(last)));
    let key = |ms: i64| local_day(user, ms).format("%Y-%m-%d").to_string();
    let mut by_day: HashMap<String, DayStat> = HashMap::new();
    let mut day = first;
    while day <= last {
        let date = day.format("%Y-%m-%d").to_string();
        by_day.insert(
            date.clone(),
            DayStat { date, tasks_done: 0, steps_done: 0, focus_minutes: 0, energy: None, active: false },
        );
        day = day.succ_opt().unwrap_or(last + chrono::Duration::days(1));
    }
    let done: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT depth, completed_at FROM tasks WHERE user_id = $1 AND status = 'done' AND completed_at >= $2 AND completed_at < $3",
    )
    .bind(&user.id)
    .bind(from)
    .bind(to)
    .fetch_all(db.read())
    .await?;
    for (depth, at) in done {
        if let Some(stat) = by_day.get_mut(&key(at)) {
            if depth == 0 { stat.tasks_done += 1 } else { stat.steps_done += 1 }
        }
    }
    let sessions: Vec<(Option<String>, i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT task_id, started_ms, planned_ms, paused_total_ms, ended_ms FROM focus_sessions
          WHERE user_id = $1 AND kind = 'focus' AND state = 'completed' AND started_ms >= $2 AND started_ms < $3",
    )
    .bind(&user.id)
    .bind(from)
    .bind(to)
    .fetch_all(db.read())
    .await?;
    let mut per_task: HashMap<String, i64> = HashMap::new();
    for (task_id, started, planned, paused, ended) in &sessions {
        let minutes = (ended.unwrap_or(*started) - started - paused).clamp(0, *planned) / 60_000;
        if let Some(stat) = by_day.get_mut(&key(*started)) {
            stat.focus_minutes += minutes;
        }
        if let Some(task) = task_id {
            *per_task.entry(task.clone()).or_default() += minutes;
        }
    }
    let energy: Vec<(i64, i64)> =
        sqlx::query_as("SELECT level, at_ms FROM energy_logs WHERE user_id = $1 AND at_ms >= $2 AND at_ms < $3")
            .bind(&user.id)
            .bind(from)
            .bind(to)
            .fetch_all(db.read())
            .await?;
    let mut energy_sum: HashMap<String, (i64, i64)> = HashMap::new();
    for (level, at) in energy {
        let entry = energy_sum.entry(key(at)).or_default();
        entry.0 += level;
        entry.1 += 1;
    }
    for (date, (sum, n)) in energy_sum {
        if let Some(stat) = by_day.get_mut(&date) {
            stat.energy = Some(sum as f64 / n as f64);
        }
    }
    let active: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT day FROM xp_awards WHERE user_id = $1 AND day >= $2 AND day <= $3")
            .bind(&user.id)
            .bind(first.format("%Y-%m-%d").to_string())
            .bind(last.format("%Y-%m-%d").to_string())
            .fetch_all(db.read())
            .await?;
    for (date,) in active {
        if let Some(stat) = by_day.get_mut(&date) {
            stat.active = true;
        }
    }
    // Focus per zone and estimate against focus go through each session's task to its root.
    let rows: Vec<(String, String, i64, Option<i64>, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT t.id, r.title, r.depth, r.estimate_minutes, r.id, z.name, z.color
           FROM tasks t JOIN tasks r ON r.id = t.root_id LEFT JOIN zones z ON z.id = r.zone_id
          WHERE t.user_id = $1 AND t.id IN (SELECT task_id FROM focus_sessions WHERE user_id = $1 AND started_ms >= $2
                AND started_ms < $3 AND task_id IS NOT NULL)",
    )
    .bind(&user.id)
    .bind(from)
    .bind(to)
    .fetch_all(db.read())
    .await?;
    let mut zones: HashMap<String, ZoneMinutes> = HashMap::new();
    let mut estimates: HashMap<String, EstimateVsActual> = HashMap::new();
    for (task_id, root_title, _depth, estimate, root_id, zone, color) in rows {
        let minutes = per_task.get(&task_id).copied().unwrap_or_default();
        let name = zone.unwrap_or_else(|| "No zone".to_owned());
        zones
            .entry(name.clone())
            .or_insert(ZoneMinutes {
                zone: name,
                color: color.unwrap_or_else(|| "#5f6368".to_owned()),
                focus_minutes: 0,
            })
            .focus_minutes += minutes;
        if let (Some(estimate), Some(root_id)) = (estimate, root_id) {
            estimates
                .entry(root_id.clone())
                .or_insert(EstimateVsActual {
                    task_id: root_id,
                    title: root_title,
                    estimate_minutes: estimate,
                    focus_minutes: 0,
                })
                .focus_minutes += minutes;
        }
    }
    let mut days_out: Vec<DayStat> = by_day.into_values().collect();
    days_out.sort_by(|a, b| a.date.cmp(&b.date));
    let mut zones: Vec<ZoneMinutes> = zones.into_values().collect();
    zones.sort_by(|a, b| b.focus_minutes.cmp(&a.focus_minutes).then_with(|| a.zone.cmp(&b.zone)));
    let mut estimates: Vec<EstimateVsActual> = estimates.into_values().collect();
    estimates.sort_by(|a, b| a.title.cmp(&b.title));
    estimates.truncate(50);
    Ok(StatsInfo { days: days_out, zones, estimates })
}
