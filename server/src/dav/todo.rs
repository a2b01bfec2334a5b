//! Tasks as VTODOs (RFC 5545 §3.6.2), for Apple Reminders, Thunderbird, Tasks.org and
//! jtx Board. A task list per zone (its collection id is the zone's id) and "Tasks"
//! (`tasks`) for tasks without one; a micro-step is a VTODO of its own with
//! `RELATED-TO;RELTYPE=PARENT` naming its parent, in its root task's list. Writes go
//! through Calento's own task functions (`tasks::create`, `update`, `delete`), so a VTODO
//! completed in an app earns XP and keeps the streak, and a repeating one comes back on its
//! next date, exactly as when it is done in Calento.
//!
//! Mapping: SUMMARY title, DESCRIPTION notes, DTSTART do-date, DUE deadline, PRIORITY 1–9
//! ↔ 1–4 (1–3 → 1, 4–5 → 2, 6–9 → 3, 0 → 4; back 1, 5, 9, 0), STATUS NEEDS-ACTION /
//! IN-PROCESS / COMPLETED / CANCELLED ↔ todo / doing / done / archived (COMPLETED and
//! PERCENT-COMPLETE:100 also mean done), CATEGORIES tags, RRULE, and
//! `X-CALENTO-ENERGY` / `X-CALENTO-ESTIMATE` (minutes).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use app::AppError;
use app::models::{TaskInput, TaskPatch};
use app::ssr::accounts::UserRow;
use app::ssr::changes;
use app::ssr::tasks::{self, TaskRow};
use app::ssr::{Db, millis_to_utc};
use calento::ics::{self, Component, DateTimeValue, Property};

use super::store::{self, Kept, Left, Listing, Object, Place, Renamed};

/// The collection of tasks without a zone.
pub const INBOX: &str = "tasks";

/// A zone's longest name (as Calento's own zones).
const MAX_NAME: usize = 50;

/// A task list: "Tasks", or a zone.
#[derive(Debug, Clone)]
pub struct TaskList {
    pub id: String,
    pub name: String,
    pub color: String,
    pub zone_id: Option<String>,
}

pub fn tz_of(user: &UserRow) -> Tz {
    calento::TimeZoneName::parse(&user.time_zone).map(|z| z.tz()).unwrap_or(Tz::UTC)
}

fn inbox() -> TaskList {
    TaskList { id: INBOX.to_owned(), name: "Tasks".to_owned(), color: "#5f6368".to_owned(), zone_id: None }
}

/// "Tasks" and the user's zones.
pub async fn lists(db: &Db, user_id: &str) -> Result<Vec<TaskList>, AppError> {
    let zones: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, name, color FROM zones WHERE user_id = $1 ORDER BY created_at, id")
            .bind(user_id)
            .fetch_all(db.read())
            .await?;
    let mut out = vec![inbox()];
    out.extend(zones.into_iter().map(|(id, name, color)| TaskList { zone_id: Some(id.clone()), id, name, color }));
    Ok(out)
}

pub async fn find_list(db: &Db, user_id: &str, id: &str) -> Result<Option<TaskList>, AppError> {
    if id == INBOX {
        return Ok(Some(inbox()));
    }
    let zone: Option<(String, String)> = sqlx::query_as("SELECT name, color FROM zones WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .fetch_optional(db.read())
        .await?;
    Ok(zone.map(|(name, color)| TaskList { id: id.to_owned(), name, color, zone_id: Some(id.to_owned()) }))
}

/// Makes a zone under the id a client chose (MKCALENDAR of a VTODO collection).
pub async fn create_list(db: &Db, user_id: &str, id: &str, name: &str, color: Option<String>) -> Result<(), AppError> {
    let name: String = name.trim().chars().take(MAX_NAME).collect();
    let mut write = changes::begin(db, user_id).await?;
    let taken: Option<String> = sqlx::query_scalar("SELECT id FROM zones WHERE user_id = $1 AND name_key = $2")
        .bind(user_id)
        .bind(name.to_lowercase())
        .fetch_optional(&mut *write)
        .await?;
    if taken.is_some() {
        return Err(AppError::Conflict { message: format!("A list named {name} already exists.") });
    }
    sqlx::query("INSERT INTO zones (id, user_id, name, name_key, color, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(user_id)
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(color.unwrap_or_else(|| "#1a73e8".to_owned()))
        .bind(app::ssr::now_ms())
        .execute(&mut *write)
        .await
        .map_err(|e| {
            if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
                AppError::Conflict { message: "A list with this address already exists.".to_owned() }
            } else {
                AppError::from(e)
            }
        })?;
    write.record(changes::Kind::Zone, id, changes::Op::Created, None);
    write.commit().await
}

/// Renames or recolours a zone's list.
pub async fn update_list(
    db: &Db,
    user_id: &str,
    id: &str,
    name: Option<&str>,
    color: Option<&str>,
) -> Result<(), AppError> {
    if name.is_none() && color.is_none() {
        return Ok(());
    }
    let mut write = changes::begin(db, user_id).await?;
    if let Some(name) = name {
        let name: String = name.trim().chars().take(MAX_NAME).collect();
        sqlx::query("UPDATE zones SET name = $3, name_key = $4 WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .bind(&name)
            .bind(name.to_lowercase())
            .execute(&mut *write)
            .await
            .map_err(|e| {
                if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
                    AppError::Conflict { message: "Another list has this name.".to_owned() }
                } else {
                    AppError::from(e)
                }
            })?;
    }
    if let Some(color) = color {
        sqlx::query("UPDATE zones SET color = $3 WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .bind(color)
            .execute(&mut *write)
            .await?;
    }
    write.record(changes::Kind::Zone, id, changes::Op::Updated, None);
    write.commit().await
}

/// Deletes a zone's list as an app deletes a list: its tasks (with their steps, each a
/// change) and then the zone.
pub async fn delete_list(db: &Db, user_id: &str, id: &str) -> Result<(), AppError> {
    let roots: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM tasks WHERE user_id = $1 AND zone_id = $2 AND parent_id IS NULL AND is_template = 0",
    )
    .bind(user_id)
    .bind(id)
    .fetch_all(db.read())
    .await?;
    for root in roots {
        match tasks::delete(db, user_id, &root).await {
            Ok(()) | Err(AppError::NotFound) => {}
            Err(other) => return Err(other),
        }
    }
    let mut write = changes::begin(db, user_id).await?;
    // Templates are not in the list; they stay, without the zone.
    let kept: Vec<String> = sqlx::query_scalar(
        "UPDATE tasks SET zone_id = NULL, updated_at = $3 WHERE user_id = $1 AND zone_id = $2 RETURNING id",
    )
    .bind(user_id)
    .bind(id)
    .bind(app::ssr::now_ms())
    .fetch_all(&mut *write)
    .await?;
    for task in kept {
        write.record(changes::Kind::Task, &task, changes::Op::Updated, None);
    }
    sqlx::query("DELETE FROM zones WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).execute(&mut *write).await?;
    sqlx::query("DELETE FROM dav_list_properties WHERE user_id = $1 AND list_id = $2")
        .bind(user_id)
        .bind(id)
        .execute(&mut *write)
        .await?;
    write.record(changes::Kind::Zone, id, changes::Op::Deleted, None);
    write.commit().await
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    parent_id: Option<String>,
    status: String,
    updated_at: i64,
}

fn fingerprint(row: &KeyRow) -> String {
    let digest = Sha256::digest(format!(
        "{}|{}|{}|{}",
        row.id,
        row.parent_id.as_deref().unwrap_or(""),
        row.status,
        row.updated_at
    ));
    store::hex(&digest[..16])
}

/// A list's tasks and steps (templates are not tasks to do), with names and ETags.
pub async fn list(db: &Db, user_id: &str, tasklist: &TaskList) -> Result<Listing, AppError> {
    let zone = if tasklist.zone_id.is_some() { "r.zone_id = $2" } else { "r.zone_id IS NULL" };
    let rows: Vec<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT t.id, t.parent_id, t.status, t.updated_at FROM tasks t JOIN tasks r ON r.id = t.root_id
          WHERE t.user_id = $1 AND r.is_template = 0 AND {zone}"
    )))
    .bind(user_id)
    .bind(tasklist.zone_id.as_deref().unwrap_or(""))
    .fetch_all(db.read())
    .await?;
    let kept = kept(db, user_id).await?;
    let objects = rows
        .iter()
        .map(|row| {
            let fp = fingerprint(row);
            let (name, uid, etag, raw) = match kept.get(&row.id) {
                Some(k) if k.fingerprint == fp => (k.name.clone(), k.uid.clone(), k.etag.clone(), true),
                Some(k) => (k.name.clone(), k.uid.clone(), store::made_etag(&fp), false),
                None => (format!("{}.ics", row.id), row.id.clone(), store::made_etag(&fp), false),
            };
            Object { id: row.id.clone(), uid, name, etag, raw, updated_at: row.updated_at, booked: false }
        })
        .collect();
    Ok(Listing { objects, exceptions: HashMap::new() })
}

struct KeptRow {
    name: String,
    uid: String,
    fingerprint: String,
    etag: String,
}

async fn kept(db: &Db, user_id: &str) -> Result<HashMap<String, KeptRow>, AppError> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT object_id, name, uid, fingerprint, etag FROM dav_objects WHERE user_id = $1 AND kind = 'task'",
    )
    .bind(user_id)
    .fetch_all(db.read())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, uid, fingerprint, etag)| (id, KeptRow { name, uid, fingerprint, etag }))
        .collect())
}

/// The objects' texts: the client's own where it still holds, else written from the task.
pub async fn bodies(db: &Db, user: &UserRow, objects: &[&Object]) -> Result<HashMap<String, String>, AppError> {
    let mut out = HashMap::with_capacity(objects.len());
    for object in objects.iter().filter(|o| o.raw) {
        let raw: Option<Option<String>> = sqlx::query_scalar("SELECT raw FROM dav_objects WHERE object_id = $1")
            .bind(&object.id)
            .fetch_optional(db.read())
            .await?;
        if let Some(Some(raw)) = raw {
            out.insert(object.id.clone(), raw);
        }
    }
    let made: Vec<&&Object> = objects.iter().filter(|o| !out.contains_key(&o.id)).collect();
    if made.is_empty() {
        return Ok(out);
    }
    let uids: HashMap<String, String> = kept(db, &user.id).await?.into_iter().map(|(id, k)| (id, k.uid)).collect();
    let rows: Vec<TaskRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM tasks WHERE user_id = $1 AND is_template = 0",
        tasks::COLUMNS
    )))
    .bind(&user.id)
    .fetch_all(db.read())
    .await?;
    let rows: HashMap<&str, &TaskRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let tz = tz_of(user);
    for object in made {
        let Some(row) = rows.get(object.id.as_str()) else { continue };
        let parent_uid = row.parent_id.as_ref().map(|p| uids.get(p).cloned().unwrap_or_else(|| p.clone()));
        out.insert(object.id.clone(), write_todo(row, &object.uid, parent_uid.as_deref(), object.updated_at, tz));
    }
    Ok(out)
}

fn utc_stamp(name: &str, ms: i64) -> Property {
    Property::new(name, format!("{}Z", ics::format_date_time(millis_to_utc(ms).naive_utc())))
}

/// A stored day or wall time as a DATE or a UTC time.
fn when_property(name: &str, stored: &str, tz: Tz) -> Option<Property> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(stored, "%Y-%m-%d") {
        return Some(Property::new(name, ics::format_date(date)).with_param("VALUE", "DATE"));
    }
    let local = NaiveDateTime::parse_from_str(stored, "%Y-%m-%dT%H:%M:%S").ok()?;
    Some(utc_stamp(name, tasks::instant(tz, local)))
}

/// Calento's priority (1 highest … 4 none) as iCalendar's (1 highest … 9 lowest, 0 none).
pub fn ical_priority(priority: i64) -> i64 {
    match priority {
        1 => 1,
        2 => 5,
        3 => 9,
        _ => 0,
    }
}

pub fn calento_priority(priority: i64) -> i64 {
    match priority {
        1..=3 => 1,
        4 | 5 => 2,
        6..=9 => 3,
        _ => 4,
    }
}

/// A task as a VTODO in its own VCALENDAR.
fn write_todo(row: &TaskRow, uid: &str, parent_uid: Option<&str>, updated_at: i64, tz: Tz) -> String {
    let mut todo = Component::new("VTODO");
    todo.push(Property::new_text("UID", uid))
        .push(utc_stamp("DTSTAMP", updated_at))
        .push(utc_stamp("CREATED", row.created_at))
        .push(utc_stamp("LAST-MODIFIED", updated_at))
        .push(Property::new_text("SUMMARY", &row.title));
    if !row.notes.is_empty() {
        todo.push(Property::new_text("DESCRIPTION", &row.notes));
    }
    if let Some(p) = row.do_at.as_deref().and_then(|d| when_property("DTSTART", d, tz)) {
        todo.push(p);
    }
    if let Some(p) = row.due_at.as_deref().and_then(|d| when_property("DUE", d, tz)) {
        todo.push(p);
    }
    let priority = ical_priority(row.priority);
    if priority > 0 {
        todo.push(Property::new("PRIORITY", priority.to_string()));
    }
    let status = match row.status.as_str() {
        "doing" => "IN-PROCESS",
        "done" => "COMPLETED",
        "archived" => "CANCELLED",
        _ => "NEEDS-ACTION",
    };
    todo.push(Property::new("STATUS", status));
    if row.status == "done" {
        todo.push(utc_stamp("COMPLETED", row.completed_at.unwrap_or(updated_at)));
        todo.push(Property::new("PERCENT-COMPLETE", "100"));
    }
    let tags: Vec<String> = row.tags.split_whitespace().map(ics::escape_text).collect();
    if !tags.is_empty() {
        todo.push(Property::new("CATEGORIES", tags.join(",")));
    }
    if let Some(rule) = &row.rrule {
        todo.push(Property::new("RRULE", rule.clone()));
    }
    if let Some(parent) = parent_uid {
        todo.push(Property::new_text("RELATED-TO", parent).with_param("RELTYPE", "PARENT"));
    }
    if let Some(energy) = &row.energy {
        todo.push(Property::new_text("X-CALENTO-ENERGY", energy));
    }
    if let Some(minutes) = row.estimate_minutes {
        todo.push(Property::new("X-CALENTO-ESTIMATE", minutes.to_string()));
    }
    let mut calendar = Component::new("VCALENDAR");
    calendar
        .push(Property::new("VERSION", "2.0"))
        .push(Property::new("PRODID", "-//Calento//Calento//EN"))
        .push_component(todo);
    ics::write(&calendar)
}

/// A VTODO as a client wrote it, read into Calento's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Todo {
    pub uid: String,
    pub title: String,
    pub notes: String,
    pub do_at: Option<String>,
    pub due: Option<String>,
    pub priority: i64,
    pub status: &'static str,
    pub tags: Vec<String>,
    pub rrule: Option<String>,
    pub parent_uid: Option<String>,
    pub energy: Option<String>,
    pub estimate_minutes: Option<i64>,
}

/// Why a PUT's text is not one task.
#[derive(Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Not iCalendar, or a broken VTODO: the reason.
    Invalid(String),
    /// No VTODO (an event, a journal) in a task list.
    NotATask,
    /// More than one UID.
    Several,
}

/// A DTSTART or DUE as `tasks::parse_when` reads it: a date, an instant (RFC 3339), or a
/// floating time on the person's wall clock.
fn when_text(property: &Property) -> Option<String> {
    let value = ics::parse_date_or_date_time(property.value.trim(), property.param("VALUE"))?;
    Some(match value {
        DateTimeValue::Date(d) => d.format("%Y-%m-%d").to_string(),
        DateTimeValue::Utc(t) => format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S")),
        DateTimeValue::Floating(t) => match property.param("TZID").and_then(calento::calendar_file::iana_zone) {
            Some(tz) => {
                let utc = calento::recurrence::local_to_utc(tz, t);
                DateTime::<chrono::Utc>::from_naive_utc_and_offset(utc, chrono::Utc).to_rfc3339()
            }
            None => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        },
    })
}

pub fn read(text: &str) -> Result<Todo, Unreadable> {
    let parsed =
        ics::parse(text.as_bytes(), &ics::Limits::default()).map_err(|e| Unreadable::Invalid(e.to_string()))?;
    let calendar = parsed
        .components
        .iter()
        .find(|c| c.name == "VCALENDAR")
        .ok_or_else(|| Unreadable::Invalid("There is no VCALENDAR.".to_owned()))?;
    let todos: Vec<&Component> = calendar.components_named("VTODO").collect();
    let first = match todos.as_slice() {
        [] => return Err(Unreadable::NotATask),
        [first, rest @ ..] => {
            let uid = first.property("UID").map(Property::text);
            if rest.iter().any(|t| t.property("UID").map(Property::text) != uid) {
                return Err(Unreadable::Several);
            }
            *first
        }
    };
    let uid = first
        .property("UID")
        .map(Property::text)
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Unreadable::Invalid("A VTODO needs a UID.".to_owned()))?;
    let text_of = |name: &str| first.property(name).map(Property::text).unwrap_or_default();
    let status_text = text_of("STATUS").to_ascii_uppercase();
    let percent: i64 = text_of("PERCENT-COMPLETE").trim().parse().unwrap_or(0);
    let status = match status_text.as_str() {
        "COMPLETED" => "done",
        "CANCELLED" => "archived",
        "IN-PROCESS" => "doing",
        _ if first.property("COMPLETED").is_some() || percent >= 100 => "done",
        _ => "todo",
    };
    let mut tags: Vec<String> = Vec::new();
    for p in first.properties_named("CATEGORIES") {
        for tag in p.values() {
            let tag = tag.replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\");
            let tag: String = tag.split_whitespace().collect::<Vec<_>>().join("-");
            if !tag.is_empty() && !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    let parent_uid = first
        .properties_named("RELATED-TO")
        .find(|p| p.param("RELTYPE").is_none_or(|r| r.eq_ignore_ascii_case("PARENT")))
        .map(Property::text);
    let mut title = text_of("SUMMARY").trim().to_owned();
    if title.is_empty() {
        title = "(no title)".to_owned();
    }
    Ok(Todo {
        uid,
        title,
        notes: text_of("DESCRIPTION"),
        do_at: first.property("DTSTART").and_then(when_text),
        due: first.property("DUE").and_then(when_text),
        priority: calento_priority(text_of("PRIORITY").trim().parse().unwrap_or(0)),
        status,
        tags,
        rrule: first.property("RRULE").map(|p| p.value.trim().to_owned()).filter(|r| !r.is_empty()),
        parent_uid,
        energy: first.property("X-CALENTO-ENERGY").map(Property::text),
        estimate_minutes: first.property("X-CALENTO-ESTIMATE").and_then(|p| p.value.trim().parse().ok()),
    })
}

/// The task a UID names: a client's own UID, or a task's id (Calento's tasks use it).
pub async fn task_of_uid(db: &Db, user_id: &str, uid: &str) -> Result<Option<String>, AppError> {
    let kept: Option<String> = sqlx::query_scalar(
        "SELECT d.object_id FROM dav_objects d JOIN tasks t ON t.id = d.object_id
          WHERE d.user_id = $1 AND d.uid = $2 AND d.kind = 'task' LIMIT 1",
    )
    .bind(user_id)
    .bind(uid)
    .fetch_optional(db.read())
    .await?;
    if kept.is_some() {
        return Ok(kept);
    }
    let own: Option<String> = sqlx::query_scalar("SELECT id FROM tasks WHERE id = $1 AND user_id = $2")
        .bind(uid)
        .bind(user_id)
        .fetch_optional(db.read())
        .await?;
    Ok(own)
}

/// Writes a VTODO a client PUT: a new task, or the task it replaces; then keeps the
/// client's text. Returns the new ETag.
pub async fn put(
    db: &Db,
    user: &UserRow,
    tasklist: &TaskList,
    todo: Todo,
    text: &str,
    place: Place<'_>,
) -> Result<String, AppError> {
    let Place { name, existing, left } = place;
    let parent_id = match &todo.parent_uid {
        Some(uid) => task_of_uid(db, &user.id, uid).await?,
        None => None,
    };
    let zone =
        if parent_id.is_none() { Some(tasklist.name.clone()).filter(|_| tasklist.zone_id.is_some()) } else { None };
    let id = match existing {
        Some(id) => {
            let patch = TaskPatch {
                title: Some(todo.title.clone()),
                notes: Some(todo.notes.clone()),
                zone: if parent_id.is_none() { Some(zone) } else { None },
                tags: Some(todo.tags.clone()),
                priority: Some(todo.priority),
                do_at: Some(todo.do_at.clone()),
                due: Some(todo.due.clone()),
                estimate_minutes: Some(todo.estimate_minutes),
                energy: Some(todo.energy.clone()),
                status: Some(todo.status.to_owned()),
                rrule: Some(todo.rrule.clone()),
                position: None,
            };
            tasks::update(db, user, id, patch).await?;
            id.to_owned()
        }
        None => {
            let input = TaskInput {
                title: todo.title.clone(),
                notes: Some(todo.notes.clone()),
                zone,
                tags: Some(todo.tags.clone()),
                priority: Some(todo.priority),
                do_at: todo.do_at.clone(),
                due: todo.due.clone(),
                estimate_minutes: todo.estimate_minutes,
                energy: todo.energy.clone(),
                status: Some(todo.status.to_owned()),
                rrule: todo.rrule.clone(),
                is_template: false,
                parent_id,
                steps: Vec::new(),
            };
            tasks::create(db, user, input).await?.id
        }
    };
    let mut write = changes::begin(db, &user.id).await?;
    let row: KeyRow = sqlx::query_as("SELECT id, parent_id, status, updated_at FROM tasks WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut *write)
        .await?;
    let fp = fingerprint(&row);
    let etag = store::text_etag(text);
    store::keep(
        &mut write,
        Kept {
            kind: "task",
            id: &id,
            user_id: &user.id,
            name,
            uid: &todo.uid,
            raw: text,
            fingerprint: &fp,
            etag: &etag,
        },
    )
    .await?;
    match left {
        Some(left) => store::moved(&mut write, &user.id, &id, &left, &tasklist.id, name).await?,
        None => store::arrived(&mut write, &user.id, &tasklist.id, &id, name).await?,
    }
    write.commit().await?;
    Ok(etag)
}

/// The list a task is in (its root's zone) and whether it is a step (steps move with
/// their task).
pub async fn whereabouts(db: &Db, user_id: &str, id: &str) -> Result<Option<(String, bool)>, AppError> {
    let found: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT r.zone_id, t.parent_id FROM tasks t JOIN tasks r ON r.id = t.root_id WHERE t.id = $1 AND t.user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?;
    Ok(found.map(|(zone, parent)| (zone.unwrap_or_else(|| INBOX.to_owned()), parent.is_some())))
}

/// Moves a task (with its steps) to another list, or renames it in its own, for a MOVE;
/// the client's text, if it still holds, stays the task's text. Returns its ETag.
pub async fn relocate(
    db: &Db,
    user: &UserRow,
    object: &Object,
    from: &TaskList,
    to: &TaskList,
    name: &str,
) -> Result<String, AppError> {
    if from.id != to.id {
        let zone = Some(to.name.clone()).filter(|_| to.zone_id.is_some());
        tasks::update(db, user, &object.id, TaskPatch { zone: Some(zone), ..TaskPatch::default() }).await?;
    }
    let mut write = changes::begin(db, &user.id).await?;
    let row: KeyRow = sqlx::query_as("SELECT id, parent_id, status, updated_at FROM tasks WHERE id = $1")
        .bind(&object.id)
        .fetch_one(&mut *write)
        .await?;
    let fp = fingerprint(&row);
    let holds_at = object.raw.then_some(fp.as_str());
    let renamed = Renamed { kind: "task", id: &object.id, user_id: &user.id, name, uid: &object.uid, holds_at };
    store::rename(&mut write, renamed).await?;
    store::moved(&mut write, &user.id, &object.id, &Left { collection_id: &from.id, name: &object.name }, &to.id, name)
        .await?;
    if from.id == to.id {
        write.record(changes::Kind::Task, &object.id, changes::Op::Updated, None);
    }
    write.commit().await?;
    Ok(if object.raw { object.etag.clone() } else { store::made_etag(&fp) })
}

/// Deletes a task (and its steps, as Calento does); its name stays known for sync.
pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<(), AppError> {
    tasks::delete(db, user_id, id).await?;
    let mut conn = db.write().acquire().await?;
    store::forget_text(&mut conn, id).await
}

/// Task changes after feed counter `after` up to `upto`: each task once, with the counter
/// of its first change, in that order.
pub async fn changed_since(db: &Db, user_id: &str, after: i64, upto: i64) -> Result<Vec<(String, i64)>, AppError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT object_id, seq FROM changes WHERE user_id = $1 AND kind = 'task' AND seq > $2 AND seq <= $3 ORDER BY seq",
    )
    .bind(user_id)
    .bind(after)
    .bind(upto)
    .fetch_all(db.read())
    .await?;
    Ok(store::first_of_each(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_survive_a_round_trip_both_ways() {
        for p in 1..=4 {
            assert_eq!(calento_priority(ical_priority(p)), p);
        }
        assert_eq!(calento_priority(2), 1);
        assert_eq!(calento_priority(7), 3);
        assert_eq!(calento_priority(0), 4);
    }

    #[test]
    fn a_vtodo_reads_into_a_task() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t1@x\r\nSUMMARY:Buy milk\\, eggs\r\n\
                    DTSTART;VALUE=DATE:20240107\r\nDUE;TZID=Europe/Paris:20240108T180000\r\nPRIORITY:2\r\n\
                    STATUS:COMPLETED\r\nCATEGORIES:home,errands\r\nRELATED-TO;RELTYPE=PARENT:p@x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
        let todo = read(text).expect("a task");
        assert_eq!(todo.title, "Buy milk, eggs");
        assert_eq!(todo.do_at.as_deref(), Some("2024-01-07"));
        assert_eq!(todo.due.as_deref(), Some("2024-01-08T17:00:00+00:00"));
        assert_eq!(todo.priority, 1);
        assert_eq!(todo.status, "done");
        assert_eq!(todo.tags, vec!["home", "errands"]);
        assert_eq!(todo.parent_uid.as_deref(), Some("p@x"));
        let event = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(read(event), Err(Unreadable::NotATask));
    }
}
