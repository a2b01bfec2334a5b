//! Tasks and micro-steps: validation, storage, lists and quick capture. One table holds
//! both; a step names its parent and the task at the top (`root_id`), so a task's whole tree
//! is one indexed read.

use std::collections::HashMap;

use super::changes::{self, Kind, Op, Write};
use calento::FieldError;
use calento::capture::{self, CaptureContext, Energy, When};
use calento::task::{self as rules, Progress, StepNode, TaskStatus};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Offset};
use chrono_tz::Tz;

use super::accounts::{UserRow, local_now, today, user_zone};
use super::{Db, millis_to_utc, motivation, new_id, now_ms};
use crate::AppError;
use crate::models::{
    CaptureItem, CaptureResult, ImportNote, StepInput, TaskImportReport, TaskInfo, TaskInput, TaskPatch, TaskQuery,
    TaskView, ZoneInfo,
};

/// The most tasks (and steps) one account keeps, and zones.
pub const MAX_TASKS: i64 = 100_000;
pub const MAX_ZONES: i64 = 50;
const ZONE_COLORS: [&str; 8] = ["#1a73e8", "#188038", "#e37400", "#9334e6", "#d93025", "#129eaf", "#b06000", "#5f6368"];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: String,
    pub user_id: String,
    pub parent_id: Option<String>,
    pub root_id: String,
    pub depth: i64,
    pub position: i64,
    pub title: String,
    pub notes: String,
    pub zone_id: Option<String>,
    pub tags: String,
    pub priority: i64,
    pub do_at: Option<String>,
    pub due_at: Option<String>,
    pub due_ms: Option<i64>,
    pub estimate_minutes: Option<i64>,
    pub energy: Option<String>,
    pub status: String,
    pub rrule: Option<String>,
    pub is_template: i64,
    pub completed_at: Option<i64>,
    pub created_at: i64,
}

pub const COLUMNS: &str = "id, user_id, parent_id, root_id, depth, position, title, notes, zone_id, tags, priority, \
     do_at, due_at, due_ms, estimate_minutes, energy, status, rrule, is_template, completed_at, created_at";

impl TaskRow {
    pub fn status(&self) -> TaskStatus {
        TaskStatus::parse(&self.status).unwrap_or(TaskStatus::Todo)
    }

    pub fn energy(&self) -> Option<Energy> {
        self.energy.as_deref().and_then(parse_energy)
    }

    pub fn do_when(&self) -> Option<When> {
        self.do_at.as_deref().and_then(stored_when)
    }
}

pub fn parse_energy(text: &str) -> Option<Energy> {
    match text.trim().to_lowercase().as_str() {
        "low" => Some(Energy::Low),
        "medium" => Some(Energy::Medium),
        "high" => Some(Energy::High),
        _ => None,
    }
}

pub fn energy_text(energy: Energy) -> &'static str {
    match energy {
        Energy::Low => "low",
        Energy::Medium => "medium",
        Energy::High => "high",
    }
}

fn stored_text(when: &When) -> String {
    match when {
        When::Date(date) => date.format("%Y-%m-%d").to_string(),
        When::DateTime(at) => at.format("%Y-%m-%dT%H:%M:%S").to_string(),
    }
}

fn stored_when(text: &str) -> Option<When> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(When::Date(date));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok().map(When::DateTime)
}

/// A wall time in `tz` as the instant it names (the later instant after a gap).
pub fn instant(tz: Tz, local: NaiveDateTime) -> i64 {
    calento::availability::wall_to_utc_ms(tz, local)
}

/// How the API shows a stored day or time: the date, or RFC 3339 with the zone's offset.
pub fn when_text(when: &When, tz: Tz) -> String {
    match when {
        When::Date(date) => date.format("%Y-%m-%d").to_string(),
        When::DateTime(at) => rfc3339(instant(tz, *at), tz),
    }
}

/// An instant as RFC 3339 with the offset of `tz` at that instant (seconds precision).
pub fn rfc3339(ms: i64, tz: Tz) -> String {
    let at = DateTime::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&tz);
    let offset = at.offset().fix();
    at.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string() + &offset.to_string()
}

/// Reads a day or time as the user writes it: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` (their
/// wall time) or RFC 3339 (shown in their zone).
pub fn parse_when(field: &str, text: &str, tz: Tz) -> Result<When, FieldError> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(When::Date(date));
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(When::DateTime(at));
        }
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(When::DateTime(at.with_timezone(&tz).naive_local()));
    }
    Err(FieldError::new(field, "Give a date (2030-01-15) or a date and time (2030-01-15T15:00)."))
}

/// The deadline as an instant: a time as written, a date at the end of that day.
pub fn due_instant(when: &When, tz: Tz) -> i64 {
    match when {
        When::Date(date) => instant(tz, date.succ_opt().unwrap_or(*date).and_time(NaiveTime::MIN)),
        When::DateTime(at) => instant(tz, *at),
    }
}

fn tags_text(tags: &[String]) -> String {
    if tags.is_empty() { String::new() } else { format!(" {} ", tags.join(" ")) }
}

// ---- Zones ----

pub async fn zones(db: &Db, user_id: &str) -> Result<Vec<ZoneInfo>, AppError> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, name, color FROM zones WHERE user_id = $1 ORDER BY created_at, id")
            .bind(user_id)
            .fetch_all(db.read())
            .await?;
    Ok(rows.into_iter().map(|(id, name, color)| ZoneInfo { id, name, color }).collect())
}

fn zone_name(text: &str) -> Result<String, FieldError> {
    let name = text.trim().trim_start_matches('@').trim();
    match name.chars().count() {
        0 => Err(FieldError::new("zone", "Give the zone a name.")),
        n if n > 50 => Err(FieldError::new("zone", "A zone's name has at most 50 characters.")),
        _ => Ok(name.to_owned()),
    }
}

/// The zone with this name (any case), created when new.
async fn zone_id(tx: &mut Write, user_id: &str, name: &str) -> Result<String, AppError> {
    let name = zone_name(name).map_err(AppError::field)?;
    let key = name.to_lowercase();
    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM zones WHERE user_id = $1 AND name_key = $2")
        .bind(user_id)
        .bind(&key)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some((id,)) = found {
        return Ok(id);
    }
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM zones WHERE user_id = $1").bind(user_id).fetch_one(&mut **tx).await?;
    if count >= MAX_ZONES {
        return Err(AppError::field(FieldError::new("zone", format!("You can have at most {MAX_ZONES} zones."))));
    }
    let id = new_id();
    sqlx::query("INSERT INTO zones (id, user_id, name, name_key, color, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(user_id)
        .bind(&name)
        .bind(&key)
        .bind(ZONE_COLORS[count.rem_euclid(ZONE_COLORS.len() as i64) as usize])
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    tx.record(Kind::Zone, &id, Op::Created, None);
    Ok(id)
}

// ---- Reading ----

/// Turns rows (a set of roots and all their steps) into trees, roots in the given order.
fn trees(roots: Vec<TaskRow>, steps: Vec<TaskRow>, zones: &[ZoneInfo], tz: Tz) -> Vec<TaskInfo> {
    let mut children: HashMap<String, Vec<TaskRow>> = HashMap::new();
    for step in steps {
        if let Some(parent) = step.parent_id.clone() {
            children.entry(parent).or_default().push(step);
        }
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.id.cmp(&b.id)));
    }
    fn build(row: TaskRow, children: &mut HashMap<String, Vec<TaskRow>>, zones: &[ZoneInfo], tz: Tz) -> TaskInfo {
        let steps: Vec<TaskInfo> = children
            .remove(&row.id)
            .unwrap_or_default()
            .into_iter()
            .map(|child| build(child, children, zones, tz))
            .collect();
        info(row, steps, zones, tz)
    }
    roots.into_iter().map(|root| build(root, &mut children, zones, tz)).collect()
}

fn step_nodes(steps: &[TaskInfo]) -> Vec<StepNode> {
    steps.iter().map(|s| StepNode::new(s.is_done(), step_nodes(&s.steps))).collect()
}

fn info(row: TaskRow, steps: Vec<TaskInfo>, zones: &[ZoneInfo], tz: Tz) -> TaskInfo {
    let progress: Progress = rules::progress(&step_nodes(&steps));
    TaskInfo {
        status: row.status(),
        energy: row.energy(),
        do_at: row.do_when().map(|w| when_text(&w, tz)),
        due: row.due_at.as_deref().and_then(stored_when).map(|w| when_text(&w, tz)),
        zone: row.zone_id.as_ref().and_then(|id| zones.iter().find(|z| &z.id == id).cloned()),
        tags: row.tags.split_whitespace().map(str::to_owned).collect(),
        priority: row.priority.clamp(1, 4) as u8,
        estimate_minutes: row.estimate_minutes.and_then(|m| u32::try_from(m).ok()),
        depth: row.depth.clamp(0, 100) as u32,
        is_template: row.is_template != 0,
        created_at: millis_to_utc(row.created_at),
        completed_at: row.completed_at.map(millis_to_utc),
        progress,
        steps,
        id: row.id,
        parent_id: row.parent_id,
        position: row.position,
        title: row.title,
        notes: row.notes,
        rrule: row.rrule,
    }
}

async fn row(db: &Db, user_id: &str, id: &str) -> Result<TaskRow, AppError> {
    sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?
    .ok_or(AppError::NotFound)
}

/// A task or step with everything below it.
pub async fn find(db: &Db, user: &UserRow, id: &str) -> Result<TaskInfo, AppError> {
    let top = row(db, &user.id, id).await?;
    let below: Vec<TaskRow> = sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE root_id = $1 AND user_id = $2 AND depth > $3"
    )))
    .bind(&top.root_id)
    .bind(&user.id)
    .bind(top.depth)
    .fetch_all(db.read())
    .await?;
    let zones = zones(db, &user.id).await?;
    Ok(trees(vec![top], below, &zones, user_zone(user)).remove(0))
}

/// The root tasks of a list, each with its steps.
pub async fn list(db: &Db, user: &UserRow, query: &TaskQuery) -> Result<Vec<TaskInfo>, AppError> {
    Ok(list_page(db, user, query, None).await?.0)
}

/// The tasks page shows this many at a time.
pub const PAGE_SIZE: i64 = 50;

/// One page (1-based, of `per_page`) of a list, in its order, and how many the list holds;
/// `None`: the whole list (up to 5,000 open or 500 done tasks), its length as the total.
pub async fn list_page(
    db: &Db,
    user: &UserRow,
    query: &TaskQuery,
    page: Option<(i64, i64)>,
) -> Result<(Vec<TaskInfo>, i64), AppError> {
    let view = match query.view.as_deref() {
        None => TaskView::All,
        Some(text) => TaskView::parse(text).ok_or_else(|| {
            AppError::field(FieldError::new("view", "The view is today, upcoming, all, done or templates."))
        })?,
    };
    let today_date = today(user);
    let today = today_date.format("%Y-%m-%d").to_string();
    let zones = zones(db, &user.id).await?;
    let zone_id = match query.zone.as_deref().map(str::trim).filter(|z| !z.is_empty()) {
        Some(wanted) => {
            let key = wanted.trim_start_matches('@').to_lowercase();
            match zones.iter().find(|z| z.id == wanted || z.name.to_lowercase() == key) {
                Some(zone) => Some(zone.id.clone()),
                None => return Ok((Vec::new(), 0)),
            }
        }
        None => None,
    };
    let tag = query.tag.as_deref().map(|t| t.trim().trim_start_matches('#').to_lowercase()).filter(|t| !t.is_empty());
    let mut filter = String::from("user_id = $1 AND parent_id IS NULL");
    filter.push_str(match view {
        TaskView::Templates => " AND is_template = 1",
        TaskView::Done => " AND is_template = 0 AND status = 'done'",
        TaskView::All => " AND is_template = 0 AND status IN ('todo', 'doing')",
        TaskView::Today => {
            " AND is_template = 0 AND status IN ('todo', 'doing') AND (do_day <= $2 OR due_day <= $2)"
        }
        TaskView::Upcoming => {
            " AND is_template = 0 AND status IN ('todo', 'doing') AND (do_day > $2 OR (do_day IS NULL AND due_day > $2))"
        }
    });
    // $2 is always bound (today), so the numbering stays the same whichever filters apply.
    filter.push_str(" AND ($3 = '' OR zone_id = $3) AND ($4 = '' OR tags LIKE $5)");
    // "Smart": what is late or due by today first, then the coming week, then later or
    // undated; inside each, priority, then the nearer of the do-day and the deadline. So a
    // P1 due on Friday comes before a task planned for March, and a P1 with no date before
    // a P4 due in March. Both dates are ours (`%Y-%m-%d`), never text from the request.
    let soonest = "COALESCE(CASE WHEN do_day < due_day THEN do_day ELSE due_day END, do_day, due_day)";
    let week_end = (today_date + chrono::Duration::days(7)).format("%Y-%m-%d").to_string();
    let smart = format!(
        "CASE WHEN {soonest} <= '{today}' THEN 0 WHEN {soonest} <= '{week_end}' THEN 1 ELSE 2 END, \
         priority, {soonest} IS NULL, {soonest}, due_ms IS NULL, due_ms, created_at, id"
    );
    let order = match query.sort.as_deref().unwrap_or("smart") {
        "due" => "due_ms IS NULL, due_ms, priority, created_at, id",
        "priority" => "priority, due_ms IS NULL, due_ms, created_at, id",
        "created" => "created_at DESC, id DESC",
        "smart" | "" if view == TaskView::Done => "completed_at DESC, id DESC",
        "smart" | "" => smart.as_str(),
        _ => {
            return Err(AppError::field(FieldError::new("sort", "Sort by smart, due, priority or created.")));
        }
    };
    let whole = if view == TaskView::Done { 500 } else { 5_000 };
    // Both are numbers we made, never text from the request.
    let (limit, offset) = match page {
        Some((page, per_page)) => {
            let per_page = per_page.clamp(1, 500);
            (per_page, page.max(1).saturating_sub(1).saturating_mul(per_page).min(1_000_000))
        }
        None => (whole, 0),
    };
    let zone_bind = zone_id.unwrap_or_default();
    let tag_bind = tag.clone().unwrap_or_default();
    let like = format!("% {tag_bind} %");
    let roots: Vec<TaskRow> = sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    )))
    .bind(&user.id)
    .bind(&today)
    .bind(&zone_bind)
    .bind(&tag_bind)
    .bind(&like)
    .fetch_all(db.read())
    .await?;
    let total = match page {
        None => i64::try_from(roots.len()).unwrap_or(i64::MAX),
        Some(_) => {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM tasks WHERE {filter}")))
                .bind(&user.id)
                .bind(&today)
                .bind(&zone_bind)
                .bind(&tag_bind)
                .bind(&like)
                .fetch_one(db.read())
                .await?
        }
    };
    if roots.is_empty() {
        return Ok((Vec::new(), total));
    }
    // The steps of this page's tasks only, named by id (the list is not filtered and
    // sorted a second time), a few hundred ids a query.
    let mut steps: Vec<TaskRow> = Vec::new();
    for chunk in roots.chunks(500) {
        let marks = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ");
        let mut query = sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND depth > 0 AND root_id IN ({marks})"
        )))
        .bind(&user.id);
        for root in chunk {
            query = query.bind(&root.id);
        }
        steps.extend(query.fetch_all(db.read()).await?);
    }
    Ok((trees(roots, steps, &zones, user_zone(user)), total))
}

// ---- Writing ----

/// Validated fields of a new task or step.
struct Fields {
    title: String,
    notes: String,
    zone: Option<String>,
    tags: Vec<String>,
    priority: u8,
    do_at: Option<When>,
    due: Option<When>,
    estimate: Option<u32>,
    energy: Option<Energy>,
    status: TaskStatus,
    rrule: Option<String>,
}

fn status(text: &str) -> Result<TaskStatus, FieldError> {
    TaskStatus::parse(text.trim())
        .ok_or_else(|| FieldError::new("status", "The status is todo, doing, done or archived."))
}

fn energy_field(text: &str) -> Result<Energy, FieldError> {
    parse_energy(text).ok_or_else(|| FieldError::new("energy", "Energy is low, medium or high."))
}

fn rrule_field(text: &str) -> Result<Option<String>, FieldError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    rules::repeat_rule(text).map(|rule| Some(rule.to_string()))
}

/// Keeps a valid value, or records why it is not.
fn ok<T>(result: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn optional_when(field: &str, text: Option<&str>, tz: Tz) -> Result<Option<When>, FieldError> {
    text.filter(|t| !t.trim().is_empty()).map(|t| parse_when(field, t, tz)).transpose()
}

fn checked(input: &TaskInput, tz: Tz) -> Result<Fields, AppError> {
    let mut errors = Vec::new();
    let e = &mut errors;
    let title = ok(rules::title("title", &input.title), e);
    let notes = ok(rules::notes(input.notes.as_deref().unwrap_or_default()), e);
    let zone = ok(input.zone.as_deref().filter(|z| !z.trim().is_empty()).map(zone_name).transpose(), e);
    let tags = ok(rules::tags(input.tags.as_deref().unwrap_or_default()), e);
    let priority = ok(rules::priority(input.priority.unwrap_or(4)), e);
    let do_at = ok(optional_when("do_at", input.do_at.as_deref(), tz), e);
    let due = ok(optional_when("due", input.due.as_deref(), tz), e);
    let estimate = ok(input.estimate_minutes.map(rules::estimate).transpose(), e);
    let energy = ok(input.energy.as_deref().filter(|t| !t.trim().is_empty()).map(energy_field).transpose(), e);
    let status = ok(input.status.as_deref().map(status).transpose().map(|s| s.unwrap_or(TaskStatus::Todo)), e);
    let rrule = ok(input.rrule.as_deref().map(rrule_field).transpose().map(Option::flatten), e);
    if input.rrule.as_deref().is_some_and(|r| !r.trim().is_empty())
        && input.do_at.as_deref().is_none_or(|d| d.trim().is_empty())
    {
        errors.push(FieldError::new("do_at", "A repeating task needs the day it is first done."));
    }
    match (title, notes, zone, tags, priority, do_at, due, estimate, energy, status, rrule) {
        (
            Some(title),
            Some(notes),
            Some(zone),
            Some(tags),
            Some(priority),
            Some(do_at),
            Some(due),
            Some(estimate),
            Some(energy),
            Some(status),
            Some(rrule),
        ) if errors.is_empty() => {
            Ok(Fields { title, notes, zone, tags, priority, do_at, due, estimate, energy, status, rrule })
        }
        _ => Err(AppError::fields(errors)),
    }
}

fn count_steps(steps: &[StepInput], errors: &mut Vec<FieldError>) -> usize {
    let mut n = 0;
    for step in steps {
        n += 1;
        if let Err(e) = rules::title("steps", &step.title) {
            errors.push(e);
        }
        n += count_steps(&step.steps, errors);
    }
    n
}

struct Place<'a> {
    user_id: &'a str,
    parent_id: Option<&'a str>,
    root_id: Option<&'a str>,
    depth: u32,
    position: i64,
}

async fn insert(
    tx: &mut Write,
    place: &Place<'_>,
    fields: &Fields,
    zone_id: Option<&str>,
    is_template: bool,
    tz: Tz,
) -> Result<String, AppError> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO tasks (id, user_id, parent_id, root_id, depth, position, title, notes, zone_id, tags, priority,
             do_at, do_day, due_at, due_day, due_ms, estimate_minutes, energy, status, rrule, is_template,
             completed_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $23)",
    )
    .bind(&id)
    .bind(place.user_id)
    .bind(place.parent_id)
    .bind(place.root_id.unwrap_or(&id))
    .bind(i64::from(place.depth))
    .bind(place.position)
    .bind(&fields.title)
    .bind(&fields.notes)
    .bind(zone_id)
    .bind(tags_text(&fields.tags))
    .bind(i64::from(fields.priority))
    .bind(fields.do_at.as_ref().map(stored_text))
    .bind(fields.do_at.as_ref().map(|w| w.date().format("%Y-%m-%d").to_string()))
    .bind(fields.due.as_ref().map(stored_text))
    .bind(fields.due.as_ref().map(|w| w.date().format("%Y-%m-%d").to_string()))
    .bind(fields.due.as_ref().map(|w| due_instant(w, tz)))
    .bind(fields.estimate.map(i64::from))
    .bind(fields.energy.map(energy_text))
    .bind(fields.status.as_str())
    .bind(fields.rrule.as_deref())
    .bind(i64::from(is_template))
    .bind((fields.status == TaskStatus::Done).then_some(now))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    tx.record(Kind::Task, &id, Op::Created, None);
    Ok(id)
}

fn step_fields(title: &str) -> Fields {
    Fields {
        title: title.trim().to_owned(),
        notes: String::new(),
        zone: None,
        tags: Vec::new(),
        priority: 4,
        do_at: None,
        due: None,
        estimate: None,
        energy: None,
        status: TaskStatus::Todo,
        rrule: None,
    }
}

fn insert_steps<'a>(
    tx: &'a mut Write,
    user_id: &'a str,
    parent_id: &'a str,
    root_id: &'a str,
    depth: u32,
    steps: &'a [StepInput],
    tz: Tz,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>> + Send + 'a>> {
    Box::pin(async move {
        for (index, step) in steps.iter().enumerate() {
            let place =
                Place { user_id, parent_id: Some(parent_id), root_id: Some(root_id), depth, position: index as i64 };
            let id = insert(tx, &place, &step_fields(&step.title), None, false, tz).await?;
            insert_steps(tx, user_id, &id, root_id, depth + 1, &step.steps, tz).await?;
        }
        Ok(())
    })
}

async fn task_count(tx: &mut Write, user_id: &str) -> Result<i64, AppError> {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM tasks WHERE user_id = $1").bind(user_id).fetch_one(&mut **tx).await?;
    Ok(count)
}

/// Creates a task with its micro-steps, or (with `parent_id`) a micro-step.
pub async fn create(db: &Db, user: &UserRow, input: TaskInput) -> Result<TaskInfo, AppError> {
    let tz = user_zone(user);
    let fields = checked(&input, tz)?;
    let mut errors = Vec::new();
    let added = count_steps(&input.steps, &mut errors) + 1;
    if added > rules::MAX_STEPS {
        errors.push(FieldError::new("steps", format!("At most {} micro-steps at once.", rules::MAX_STEPS)));
    }
    let parent = match input.parent_id.as_deref().filter(|p| !p.is_empty()) {
        Some(id) => Some(row(db, &user.id, id).await.map_err(|_| {
            AppError::field(FieldError::new("parent_id", "That task or step does not exist (any more)."))
        })?),
        None => None,
    };
    let depth = parent.as_ref().map_or(0, |p| p.depth as u32 + 1);
    if let Err(e) = rules::depth(depth) {
        errors.push(e);
    }
    if depth + deepest(&input.steps) > rules::MAX_DEPTH && depth <= rules::MAX_DEPTH {
        errors.push(FieldError::new("steps", format!("Micro-steps nest at most {} levels deep.", rules::MAX_DEPTH)));
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let mut tx = changes::begin(db, &user.id).await?;
    if task_count(&mut tx, &user.id).await? + added as i64 > MAX_TASKS {
        return Err(AppError::Conflict { message: format!("An account keeps at most {MAX_TASKS} tasks and steps.") });
    }
    let zone_id = match &fields.zone {
        Some(name) => Some(zone_id(&mut tx, &user.id, name).await?),
        None => None,
    };
    let position = match &parent {
        Some(p) => next_position(&mut tx, &p.id).await?,
        None => now_ms(),
    };
    let place = Place {
        user_id: &user.id,
        parent_id: parent.as_ref().map(|p| p.id.as_str()),
        root_id: parent.as_ref().map(|p| p.root_id.as_str()),
        depth,
        position,
    };
    let id = insert(&mut tx, &place, &fields, zone_id.as_deref(), input.is_template && parent.is_none(), tz).await?;
    let root_id = parent.as_ref().map_or(id.clone(), |p| p.root_id.clone());
    insert_steps(&mut tx, &user.id, &id, &root_id, depth + 1, &input.steps, tz).await?;
    tx.commit().await?;
    find(db, user, &id).await
}

fn deepest(steps: &[StepInput]) -> u32 {
    steps.iter().map(|s| 1 + deepest(&s.steps)).max().unwrap_or(0)
}

async fn next_position(tx: &mut Write, parent_id: &str) -> Result<i64, AppError> {
    let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(position) FROM tasks WHERE parent_id = $1")
        .bind(parent_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(max.map_or(0, |m| m + 1))
}

/// Applies a patch. Finishing a task or step earns XP once; finishing a repeating task
/// creates its next one (with fresh copies of its micro-steps).
pub async fn update(db: &Db, user: &UserRow, id: &str, patch: TaskPatch) -> Result<TaskInfo, AppError> {
    let tz = user_zone(user);
    let current = row(db, &user.id, id).await?;
    let mut errors = Vec::new();
    let e = &mut errors;
    let title = patch.title.as_deref().and_then(|t| ok(rules::title("title", t), e));
    let notes = patch.notes.as_deref().and_then(|t| ok(rules::notes(t), e));
    let zone = patch
        .zone
        .as_ref()
        .and_then(|z| ok(z.as_deref().filter(|z| !z.trim().is_empty()).map(zone_name).transpose(), e));
    let tags = patch.tags.as_deref().and_then(|t| ok(rules::tags(t), e));
    let priority = patch.priority.and_then(|p| ok(rules::priority(p), e));
    let do_at = patch.do_at.as_ref().and_then(|d| ok(optional_when("do_at", d.as_deref(), tz), e));
    let due = patch.due.as_ref().and_then(|d| ok(optional_when("due", d.as_deref(), tz), e));
    let estimate = patch.estimate_minutes.and_then(|m| ok(m.map(rules::estimate).transpose(), e));
    let energy = patch
        .energy
        .as_ref()
        .and_then(|v| ok(v.as_deref().filter(|t| !t.trim().is_empty()).map(energy_field).transpose(), e));
    let new_status = patch.status.as_deref().and_then(|s| ok(status(s), e));
    let rrule = patch.rrule.as_ref().and_then(|r| ok(rrule_field(r.as_deref().unwrap_or_default()), e));
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let will_repeat = rrule.clone().unwrap_or(current.rrule.clone());
    let will_do = do_at.unwrap_or(current.do_when());
    if will_repeat.is_some() && will_do.is_none() {
        return Err(AppError::field(FieldError::new("do_at", "A repeating task needs the day it is first done.")));
    }
    let now = now_ms();
    let mut tx = changes::begin(db, &user.id).await?;
    let zone_id = match zone {
        Some(Some(name)) => Some(Some(zone_id(&mut tx, &user.id, &name).await?)),
        Some(None) => Some(None),
        None => None,
    };
    let was = current.status();
    let status_now = new_status.unwrap_or(was);
    let completed_at = match (was, status_now) {
        (TaskStatus::Done, TaskStatus::Done) => current.completed_at,
        (_, TaskStatus::Done) => Some(now),
        _ => None,
    };
    let keep_text = |new: Option<Option<When>>, old: Option<String>| match new {
        Some(w) => w.as_ref().map(stored_text),
        None => old,
    };
    let due_stored = keep_text(due, current.due_at.clone());
    let due_when = due_stored.as_deref().and_then(stored_when);
    let do_stored = keep_text(do_at, current.do_at.clone());
    let do_when = do_stored.as_deref().and_then(stored_when);
    sqlx::query(
        "UPDATE tasks SET title = $1, notes = $2, zone_id = $3, tags = $4, priority = $5, do_at = $6, do_day = $7,
             due_at = $8, due_day = $9, due_ms = $10, estimate_minutes = $11, energy = $12, status = $13, rrule = $14,
             completed_at = $15, updated_at = $16
         WHERE id = $17 AND user_id = $18",
    )
    .bind(title.unwrap_or(current.title.clone()))
    .bind(notes.unwrap_or(current.notes.clone()))
    .bind(zone_id.unwrap_or(current.zone_id.clone()))
    .bind(tags.map_or(current.tags.clone(), |t| tags_text(&t)))
    .bind(priority.map_or(current.priority, i64::from))
    .bind(do_stored.clone())
    .bind(do_when.map(|w| w.date().format("%Y-%m-%d").to_string()))
    .bind(due_stored.clone())
    .bind(due_when.map(|w| w.date().format("%Y-%m-%d").to_string()))
    .bind(due_when.map(|w| due_instant(&w, tz)))
    .bind(estimate.map_or(current.estimate_minutes, |e| e.map(i64::from)))
    .bind(energy.map_or(current.energy.clone(), |e| e.map(|e| energy_text(e).to_owned())))
    .bind(status_now.as_str())
    .bind(will_repeat.clone())
    .bind(completed_at)
    .bind(now)
    .bind(id)
    .bind(&user.id)
    .execute(&mut *tx)
    .await?;
    tx.record(Kind::Task, id, Op::Updated, None);
    if let Some(position) = patch.position {
        reorder(&mut tx, &current, position).await?;
    }
    if status_now == TaskStatus::Done && was != TaskStatus::Done {
        let (kind, points) = if current.depth == 0 {
            ("task", calento::motivation::XP_TASK)
        } else {
            ("step", calento::motivation::XP_STEP)
        };
        motivation::award(&mut tx, user, kind, id, points).await?;
        if current.depth == 0
            && current.is_template == 0
            && let (Some(rule), Some(when)) = (will_repeat.as_deref(), do_when)
        {
            repeat(&mut tx, user, &current, rule, &when, tz).await?;
        }
    }
    tx.commit().await?;
    find(db, user, id).await
}

/// Creates the next instance of a repeating task: a copy with the next do date (and the
/// deadline moved by as much), its micro-steps copied open. The finished one stops repeating.
async fn repeat(
    tx: &mut Write,
    user: &UserRow,
    done: &TaskRow,
    rule_text: &str,
    when: &When,
    tz: Tz,
) -> Result<(), AppError> {
    let Ok(rule) = rules::repeat_rule(rule_text) else { return Ok(()) };
    let anchor = when.date();
    let after = anchor.max(today(user));
    let Some(next) = rules::next_date(&rule, anchor, after) else { return Ok(()) };
    let shift = next - anchor;
    let move_when = |w: When| match w {
        When::Date(d) => When::Date(d + shift),
        When::DateTime(t) => When::DateTime(t + shift),
    };
    let fields = Fields {
        title: done.title.clone(),
        notes: done.notes.clone(),
        zone: None,
        tags: done.tags.split_whitespace().map(str::to_owned).collect(),
        priority: done.priority.clamp(1, 4) as u8,
        do_at: Some(move_when(*when)),
        due: done.due_at.as_deref().and_then(stored_when).map(move_when),
        estimate: done.estimate_minutes.and_then(|m| u32::try_from(m).ok()),
        energy: done.energy(),
        status: TaskStatus::Todo,
        rrule: Some(rule.to_string()),
    };
    let place = Place { user_id: &user.id, parent_id: None, root_id: None, depth: 0, position: now_ms() };
    let new_id = insert(tx, &place, &fields, done.zone_id.as_deref(), false, tz).await?;
    sqlx::query("UPDATE tasks SET rrule = NULL WHERE id = $1").bind(&done.id).execute(&mut **tx).await?;
    copy_steps(tx, &user.id, &done.id, &new_id, tz).await
}

/// Copies every micro-step of `from_root` under `to_root`, parents before children, in
/// their order, all open again.
async fn copy_steps(tx: &mut Write, user_id: &str, from_root: &str, to_root: &str, tz: Tz) -> Result<(), AppError> {
    let steps: Vec<TaskRow> = sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE root_id = $1 AND depth > 0 ORDER BY depth, position, id"
    )))
    .bind(from_root)
    .fetch_all(&mut **tx)
    .await?;
    let mut ids: HashMap<String, String> = HashMap::from([(from_root.to_owned(), to_root.to_owned())]);
    for step in steps {
        let Some(parent) = step.parent_id.as_ref().and_then(|p| ids.get(p)).cloned() else { continue };
        let place = Place {
            user_id,
            parent_id: Some(&parent),
            root_id: Some(to_root),
            depth: step.depth as u32,
            position: step.position,
        };
        let copy = insert(tx, &place, &step_fields(&step.title), None, false, tz).await?;
        ids.insert(step.id.clone(), copy);
    }
    Ok(())
}

/// A copy of a task (and its micro-steps) as a template, or a new task from a template.
/// Templates keep what a task is (title, notes, zone, tags, priority, estimate, energy,
/// steps), not when it is due.
pub async fn copy_as(db: &Db, user: &UserRow, id: &str, template: bool) -> Result<TaskInfo, AppError> {
    let source = row(db, &user.id, id).await?;
    if source.depth != 0 {
        return Err(AppError::bad_request("Only a whole task can be a template (or be made from one)."));
    }
    if !template && source.is_template == 0 {
        return Err(AppError::bad_request("That task is not a template."));
    }
    let tz = user_zone(user);
    let fields = Fields {
        title: source.title.clone(),
        notes: source.notes.clone(),
        zone: None,
        tags: source.tags.split_whitespace().map(str::to_owned).collect(),
        priority: source.priority.clamp(1, 4) as u8,
        do_at: None,
        due: None,
        estimate: source.estimate_minutes.and_then(|m| u32::try_from(m).ok()),
        energy: source.energy(),
        status: TaskStatus::Todo,
        rrule: None,
    };
    let mut tx = changes::begin(db, &user.id).await?;
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM tasks WHERE root_id = $1").bind(&source.id).fetch_one(&mut *tx).await?;
    if task_count(&mut tx, &user.id).await? + count > MAX_TASKS {
        return Err(AppError::Conflict { message: format!("An account keeps at most {MAX_TASKS} tasks and steps.") });
    }
    let place = Place { user_id: &user.id, parent_id: None, root_id: None, depth: 0, position: now_ms() };
    let new_id = insert(&mut tx, &place, &fields, source.zone_id.as_deref(), template, tz).await?;
    copy_steps(&mut tx, &user.id, &source.id, &new_id, tz).await?;
    tx.commit().await?;
    find(db, user, &new_id).await
}

/// Every task of the user (open, done, archived and templates) with its steps, for export.
pub async fn export_all(db: &Db, user: &UserRow) -> Result<Vec<TaskInfo>, AppError> {
    let roots: Vec<TaskRow> = sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND parent_id IS NULL ORDER BY created_at, id"
    )))
    .bind(&user.id)
    .fetch_all(db.read())
    .await?;
    let steps: Vec<TaskRow> = sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND parent_id IS NOT NULL"
    )))
    .bind(&user.id)
    .fetch_all(db.read())
    .await?;
    let zones = zones(db, &user.id).await?;
    Ok(trees(roots, steps, &zones, user_zone(user)))
}

/// The generic CSV (see `calento::task_csv`): a task's steps follow it, with their depth.
pub async fn export_csv(db: &Db, user: &UserRow) -> Result<String, AppError> {
    use calento::task_csv::{COLUMNS as CSV_COLUMNS, field};
    fn rows(task: &TaskInfo, out: &mut String) {
        let energy = task.energy.map(energy_text).unwrap_or_default();
        let cells = [
            task.title.clone(),
            task.notes.clone(),
            task.zone.as_ref().map(|z| z.name.clone()).unwrap_or_default(),
            task.tags.join(" "),
            task.priority.to_string(),
            task.do_at.clone().unwrap_or_default(),
            task.due.clone().unwrap_or_default(),
            task.estimate_minutes.map(|m| m.to_string()).unwrap_or_default(),
            energy.to_owned(),
            task.status.as_str().to_owned(),
            task.depth.to_string(),
        ];
        out.push_str(&cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
        for step in &task.steps {
            rows(step, out);
        }
    }
    let mut out = CSV_COLUMNS.join(",") + "\r\n";
    for task in export_all(db, user).await?.iter().filter(|t| !t.is_template) {
        rows(task, &mut out);
    }
    Ok(out)
}

/// Imports a CSV file (Todoist's export or the generic format) in one transaction; rows that
/// do not check out are skipped and reported, with their line.
pub async fn import_csv(db: &Db, user: &UserRow, text: &str) -> Result<TaskImportReport, AppError> {
    use calento::task_csv::{self, Skipped};
    let tz = user_zone(user);
    let week_start = week_start(user);
    let read = task_csv::read(text, &CaptureContext { now: local_now(user), week_start })
        .map_err(|message| AppError::field(FieldError::new("file", message)))?;
    let mut skipped: Vec<Skipped> = read.skipped.clone();
    let mut tx = changes::begin(db, &user.id).await?;
    if task_count(&mut tx, &user.id).await? + read.rows.len() as i64 > MAX_TASKS {
        return Err(AppError::Conflict { message: format!("An account keeps at most {MAX_TASKS} tasks and steps.") });
    }
    // The id of the last row kept at each depth (a step goes under the one a level up).
    let mut parents: Vec<Option<(String, String)>> = vec![None; rules::MAX_DEPTH as usize + 1];
    let (mut tasks, mut steps) = (0usize, 0usize);
    let base = now_ms();
    for (index, imported) in read.rows.iter().enumerate() {
        let depth = imported.depth as usize;
        let parent = if depth == 0 { None } else { parents[depth - 1].clone() };
        if depth > 0 && parent.is_none() {
            skipped.push(Skipped { line: imported.line, reason: "its task was skipped".to_owned() });
            for slot in parents.iter_mut().skip(depth) {
                *slot = None;
            }
            continue;
        }
        let input = TaskInput {
            title: imported.title.clone(),
            notes: Some(imported.notes.clone()),
            zone: imported.zone.clone(),
            tags: Some(imported.tags.clone()),
            priority: imported.priority.map(i64::from),
            do_at: imported.do_at.clone(),
            due: imported.due.clone(),
            estimate_minutes: imported.estimate_minutes.map(i64::from),
            energy: imported.energy.map(|e| energy_text(e).to_owned()),
            status: imported.status.clone(),
            ..TaskInput::default()
        };
        let fields = match checked(&input, tz) {
            Ok(fields) => fields,
            Err(AppError::Invalid { fields, message }) => {
                let reason = fields.first().map_or(message, |f| format!("{}: {}", f.field, f.message));
                skipped.push(Skipped { line: imported.line, reason });
                for slot in parents.iter_mut().skip(depth) {
                    *slot = None;
                }
                continue;
            }
            Err(other) => return Err(other),
        };
        let zone = match &fields.zone {
            Some(name) => Some(zone_id(&mut tx, &user.id, name).await?),
            None => None,
        };
        let place = Place {
            user_id: &user.id,
            parent_id: parent.as_ref().map(|(id, _)| id.as_str()),
            root_id: parent.as_ref().map(|(_, root)| root.as_str()),
            depth: depth as u32,
            position: if depth == 0 { base + index as i64 } else { index as i64 },
        };
        let id = insert(&mut tx, &place, &fields, zone.as_deref(), false, tz).await?;
        let root = parent.map_or(id.clone(), |(_, root)| root);
        parents[depth] = Some((id, root));
        for slot in parents.iter_mut().skip(depth + 1) {
            *slot = None;
        }
        if depth == 0 { tasks += 1 } else { steps += 1 }
    }
    tx.commit().await?;
    skipped.sort_by_key(|s| s.line);
    Ok(TaskImportReport {
        format: match read.format {
            task_csv::Format::Todoist => "todoist".to_owned(),
            task_csv::Format::Generic => "generic".to_owned(),
        },
        tasks,
        steps,
        skipped: skipped.into_iter().map(|s| ImportNote { line: s.line, reason: s.reason }).collect(),
        notes: read.notes.into_iter().map(|s| ImportNote { line: s.line, reason: s.reason }).collect(),
    })
}

/// Puts a step at `position` among its siblings (0 first), renumbering them.
async fn reorder(tx: &mut Write, current: &TaskRow, position: i64) -> Result<(), AppError> {
    let Some(parent) = &current.parent_id else { return Ok(()) };
    let siblings: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM tasks WHERE parent_id = $1 AND id <> $2 ORDER BY position, id")
            .bind(parent)
            .bind(&current.id)
            .fetch_all(&mut **tx)
            .await?;
    let mut order: Vec<String> = siblings.into_iter().map(|(id,)| id).collect();
    let at = position.clamp(0, order.len() as i64) as usize;
    order.insert(at, current.id.clone());
    for (index, id) in order.iter().enumerate() {
        sqlx::query("UPDATE tasks SET position = $1 WHERE id = $2")
            .bind(index as i64)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        tx.record(Kind::Task, id, Op::Updated, None);
    }
    Ok(())
}

/// Moves a step up (negative) or down (positive) among its siblings.
pub async fn shift(db: &Db, user: &UserRow, id: &str, by: i64) -> Result<(), AppError> {
    let current = row(db, &user.id, id).await?;
    let Some(parent) = &current.parent_id else {
        return Err(AppError::bad_request("Only micro-steps have an order to change."));
    };
    let siblings: Vec<(String,)> = sqlx::query_as("SELECT id FROM tasks WHERE parent_id = $1 ORDER BY position, id")
        .bind(parent)
        .fetch_all(db.read())
        .await?;
    let index = siblings.iter().position(|(s,)| s == id).unwrap_or(0) as i64;
    let mut tx = changes::begin(db, &user.id).await?;
    reorder(&mut tx, &current, (index + by.clamp(-1000, 1000)).max(0)).await?;
    tx.commit().await
}

/// Deletes a task or step with everything below it.
pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<(), AppError> {
    let current = row(db, user_id, id).await?;
    let mut tx = changes::begin(db, user_id).await?;
    // The steps below go with it (the database cascades); each is a change of its own.
    let tree: Vec<(String, Option<String>)> = sqlx::query_as("SELECT id, parent_id FROM tasks WHERE root_id = $1")
        .bind(&current.root_id)
        .fetch_all(&mut *tx)
        .await?;
    let mut gone = vec![current.id.clone()];
    let mut index = 0;
    while index < gone.len() {
        let parent = gone[index].clone();
        gone.extend(tree.iter().filter(|(_, p)| p.as_deref() == Some(parent.as_str())).map(|(id, _)| id.clone()));
        index += 1;
    }
    let found = sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if found.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    for id in &gone {
        tx.record(Kind::Task, id, Op::Deleted, None);
    }
    tx.commit().await
}

// ---- Quick capture ----

fn week_start(user: &UserRow) -> chrono::Weekday {
    calento::WeekStart::parse(&user.week_start).unwrap_or_default().weekday()
}

/// How long a quick capture's idempotency key is remembered.
pub const CAPTURE_KEY_RETENTION_MS: i64 = 30 * 86_400_000;

/// Reads every non-empty line of a brain dump in the user's zone; with `save`, makes a task
/// of each (all or none). A `key` (made by the device, for a capture it may send more than
/// once: kept offline, sent again after a lost answer) makes the tasks once: the same key
/// again answers with the tasks made the first time.
pub async fn capture(
    db: &Db,
    user: &UserRow,
    text: &str,
    save: bool,
    key: Option<&str>,
) -> Result<CaptureResult, AppError> {
    if let Some(key) = key
        && (key.is_empty()
            || key.len() > 100
            || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return Err(AppError::field(FieldError::new("key", "An idempotency key is 1 to 100 letters, digits, - or _.")));
    }
    let tz = user_zone(user);
    let week_start = week_start(user);
    let context = CaptureContext { now: local_now(user), week_start };
    if text.lines().filter(|l| !l.trim().is_empty()).count() > capture::MAX_LINES {
        return Err(AppError::field(FieldError::new(
            "text",
            format!("At most {} lines at once; capture the rest in another go.", capture::MAX_LINES),
        )));
    }
    let parsed = capture::parse_lines(text, &context);
    let items: Vec<CaptureItem> = parsed
        .iter()
        .map(|c| CaptureItem {
            title: c.title.clone(),
            do_at: c.do_at.as_ref().map(|w| when_text(w, tz)),
            due: c.due.as_ref().map(|w| when_text(w, tz)),
            estimate_minutes: c.estimate_minutes,
            priority: c.priority,
            tags: c.tags.clone(),
            zone: c.zone.clone(),
            energy: c.energy,
        })
        .collect();
    if !save || items.is_empty() {
        return Ok(CaptureResult { items, tasks: Vec::new() });
    }
    let mut tx = changes::begin(db, &user.id).await?;
    if let Some(key) = key {
        let seen = sqlx::query(
            "INSERT INTO capture_keys (user_id, key, task_ids, created_at) VALUES ($1, $2, '', $3) \
             ON CONFLICT (user_id, key) DO NOTHING",
        )
        .bind(&user.id)
        .bind(key)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 0;
        if seen {
            tx.rollback().await?;
            let made: String = sqlx::query_scalar("SELECT task_ids FROM capture_keys WHERE user_id = $1 AND key = $2")
                .bind(&user.id)
                .bind(key)
                .fetch_one(db.read())
                .await?;
            let mut tasks = Vec::new();
            for id in made.split_whitespace() {
                if let Ok(task) = find(db, user, id).await {
                    tasks.push(task);
                }
            }
            return Ok(CaptureResult { items, tasks });
        }
    }
    if task_count(&mut tx, &user.id).await? + items.len() as i64 > MAX_TASKS {
        return Err(AppError::Conflict { message: format!("An account keeps at most {MAX_TASKS} tasks and steps.") });
    }
    let mut ids = Vec::new();
    let base = now_ms();
    for (index, c) in parsed.iter().enumerate() {
        let fields = Fields {
            title: c.title.chars().take(rules::MAX_TITLE_CHARS).collect(),
            notes: String::new(),
            zone: None,
            tags: rules::tags(&c.tags).unwrap_or_default(),
            priority: c.priority.unwrap_or(4).clamp(1, 4),
            do_at: c.do_at,
            due: c.due,
            estimate: c.estimate_minutes.filter(|m| (1..=1440).contains(m)),
            energy: c.energy,
            status: TaskStatus::Todo,
            rrule: None,
        };
        let zone = match c.zone.as_deref().filter(|z| zone_name(z).is_ok()) {
            Some(name) => Some(zone_id(&mut tx, &user.id, name).await?),
            None => None,
        };
        let place =
            Place { user_id: &user.id, parent_id: None, root_id: None, depth: 0, position: base + index as i64 };
        ids.push(insert(&mut tx, &place, &fields, zone.as_deref(), false, tz).await?);
    }
    if let Some(key) = key {
        sqlx::query("UPDATE capture_keys SET task_ids = $3 WHERE user_id = $1 AND key = $2")
            .bind(&user.id)
            .bind(key)
            .bind(ids.join(" "))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let mut tasks = Vec::new();
    for id in ids {
        tasks.push(find(db, user, &id).await?);
    }
    Ok(CaptureResult { items, tasks })
}

/// Open root tasks with these ids (or all of them), for planning.
pub async fn open_roots(db: &Db, user_id: &str) -> Result<Vec<TaskRow>, AppError> {
    sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND parent_id IS NULL AND is_template = 0
            AND status IN ('todo', 'doing') ORDER BY created_at, id LIMIT 5000"
    )))
    .bind(user_id)
    .fetch_all(db.read())
    .await
    .map_err(AppError::from)
}

/// Midnight of a day in the user's zone, as an instant.
pub fn day_start(tz: Tz, day: NaiveDate) -> i64 {
    instant(tz, day.and_time(NaiveTime::MIN))
}

/// Whether the onboarding should show: not done or skipped, and no tasks yet.
pub async fn needs_onboarding(db: &Db, user_id: &str) -> Result<bool, AppError> {
    if super::motivation::settings(db, user_id).await?.onboarded {
        return Ok(false);
    }
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM tasks WHERE user_id = $1").bind(user_id).fetch_one(db.read()).await?;
    Ok(count == 0)
}

/// Creates the zones named (comma-separated) and, when the user has no availability
/// schedule yet, a Monday–Friday one with these working hours.
pub async fn onboard(
    db: &Db,
    user: &UserRow,
    zone_names: &str,
    work_start: &str,
    work_end: &str,
) -> Result<(), AppError> {
    let names: Vec<&str> = zone_names.split(',').map(str::trim).filter(|z| !z.is_empty()).collect();
    let mut errors = Vec::new();
    for name in &names {
        if let Err(e) = zone_name(name) {
            errors.push(FieldError::new("zones", format!("“{name}”: {}", e.message)));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    if super::scheduling::list_schedules(db, &user.id).await?.is_empty()
        && !work_start.is_empty()
        && !work_end.is_empty()
    {
        let rules = (1..=5)
            .map(|weekday| calento::availability::RuleInput {
                weekday,
                start: work_start.to_owned(),
                end: work_end.to_owned(),
            })
            .collect();
        let body = crate::models::ScheduleBody {
            name: Some("Working hours".to_owned()),
            rules: Some(rules),
            ..Default::default()
        };
        super::scheduling::create_schedule(db, &user.id, &user.time_zone, body).await.map_err(|e| match e {
            AppError::Invalid { .. } => {
                AppError::field(FieldError::new("work_start", "Working hours are HH:MM to a later HH:MM."))
            }
            other => other,
        })?;
    }
    let mut tx = changes::begin(db, &user.id).await?;
    for name in names {
        zone_id(&mut tx, &user.id, name).await?;
    }
    tx.commit().await
}

/// Micro-steps for a task from the configured model, or by the domain core's rules (also
/// when the model fails, saying why); with `apply`, they are added under the task.
pub async fn breakdown(
    state: &super::AppState,
    user: &UserRow,
    id: &str,
    apply: bool,
) -> Result<crate::models::BreakdownInfo, AppError> {
    use calento::breakdown;
    let db = &state.db;
    let task = find(db, user, id).await?;
    let rules = || breakdown::suggest(&task.title, task.estimate_minutes);
    let (source, note, steps) = match &state.step_suggester {
        Some(suggester) => match (suggester.0)(task.title.clone(), task.notes.clone()).await {
            Ok(titles) => ("model", None, breakdown::share(titles, task.estimate_minutes)),
            Err(reason) => {
                tracing::warn!(%reason, "micro-step suggestion fell back to rules");
                ("rules", Some(format!("Suggested by rules: {reason}.")), rules())
            }
        },
        None => ("rules", None, rules()),
    };
    let mut applied = None;
    if apply {
        let depth = task.depth + 1;
        rules::depth(depth).map_err(AppError::field)?;
        let mut tx = changes::begin(db, &user.id).await?;
        if task_count(&mut tx, &user.id).await? + steps.len() as i64 > MAX_TASKS {
            return Err(AppError::Conflict {
                message: format!("An account keeps at most {MAX_TASKS} tasks and steps."),
            });
        }
        let root: (String,) =
            sqlx::query_as("SELECT root_id FROM tasks WHERE id = $1").bind(&task.id).fetch_one(&mut *tx).await?;
        let first = next_position(&mut tx, &task.id).await?;
        let tz = user_zone(user);
        for (index, step) in steps.iter().enumerate() {
            let place = Place {
                user_id: &user.id,
                parent_id: Some(&task.id),
                root_id: Some(&root.0),
                depth,
                position: first + index as i64,
            };
            let mut fields = step_fields(&step.title);
            fields.estimate = step.estimate_minutes;
            insert(&mut tx, &place, &fields, None, false, tz).await?;
        }
        tx.commit().await?;
        applied = Some(find(db, user, &task.id).await?);
    }
    Ok(crate::models::BreakdownInfo { task_id: task.id, source: source.to_owned(), note, steps, task: applied })
}
