//! Notion task databases two-way with Calento's tasks.
//!
//! **Pull**: the database's pages edited since the last poll, less two minutes
//! (`last_edited_time` is rounded to the minute, so an edit in the same minute as the last
//! poll would otherwise be missed), sorted by that time and paged with cursors; each page's
//! to-do blocks are its micro-steps. A page's fields (through the property mapping) are
//! compared with what both sides last agreed (`remote_items`), so re-reading a page in the
//! overlap changes nothing, and the conflict policy of `calento::sync` merges field by
//! field when both sides changed.
//!
//! **Push** (queued by task changes): tasks and steps whose fields differ from the agreed
//! ones are created (a page with its to-do blocks), updated or trashed in Notion.
//! Completing a task in Calento sets the page's status to the mapped "done" option; XP is
//! awarded once per task whichever side completes it (`xp_awards` is keyed by task).

use std::collections::{BTreeMap, HashMap};

use calento::sync::{Context, Fields, Side, merge};
use chrono::{DateTime, NaiveDate, Utc};
use http::Method;
use serde_json::{Map, Value, json};

use app::models::{TaskInfo, TaskInput, TaskPatch};
use app::ssr::accounts::UserRow;
use app::ssr::changes;
use app::ssr::connections::{self, Counts, ItemRow, RemoteCalendarRow, TaskMapping};
use app::ssr::{Db, now_ms, tasks};

use super::Notion;
use crate::google::ApiError;

/// Calento's fields of a task, compared across the two sides.
const TASK_FIELDS: [&str; 7] = ["title", "done", "do", "due", "priority", "tags", "estimate"];

fn storage(error: app::AppError) -> ApiError {
    ApiError::Transport(format!("storage: {error}"))
}

/// The text of a rich-text array.
pub fn plain(rich: &Value) -> String {
    rich.as_array()
        .map(|parts| {
            parts
                .iter()
                .map(|p| p["plain_text"].as_str().or(p["text"]["content"].as_str()).unwrap_or_default())
                .collect::<String>()
        })
        .unwrap_or_default()
}

fn rich(text: &str) -> Value {
    json!([{ "type": "text", "text": { "content": text.chars().take(2000).collect::<String>() } }])
}

// ---------------------------------------------------------------------------------------
// The mapping
// ---------------------------------------------------------------------------------------

fn kind<'a>(schema: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    schema.get(name).and_then(|p| p["type"].as_str())
}

/// The option names of a status, select or multi-select property.
fn options(schema: &Map<String, Value>, name: &str) -> Vec<String> {
    let Some(property) = schema.get(name) else { return Vec::new() };
    let kind = property["type"].as_str().unwrap_or_default();
    property[kind]["options"]
        .as_array()
        .map(|o| o.iter().filter_map(|o| o["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Guesses which property holds what, from the names and types Notion's task templates and
/// people use (Status/Done, Due/Deadline, Do date/When, Priority, Tags, Estimate…; with
/// Notion's "Sub-items" on, the "Parent item" relation of data source `source_id` to itself).
pub fn guess(schema: &Map<String, Value>, source_id: &str) -> Option<TaskMapping> {
    let named = |types: &[&str], words: &[&str]| -> Option<String> {
        let mut candidates: Vec<&String> =
            schema.keys().filter(|k| kind(schema, k).is_some_and(|t| types.contains(&t))).collect();
        candidates.sort();
        candidates.iter().find(|k| words.iter().any(|w| k.to_lowercase().contains(w))).map(|k| (*k).clone())
    };
    let only = |types: &[&str]| -> Option<String> {
        let found: Vec<&String> =
            schema.keys().filter(|k| kind(schema, k).is_some_and(|t| types.contains(&t))).collect();
        (found.len() == 1).then(|| found[0].clone())
    };
    let title = schema.keys().find(|k| kind(schema, k) == Some("title"))?.clone();
    let status = named(&["status"], &[""])
        .or_else(|| named(&["checkbox"], &["done", "complete", "finished"]))
        .or_else(|| named(&["select"], &["status", "state"]));
    let (done_value, open_value) = match status.as_deref().and_then(|s| kind(schema, s)) {
        Some("status") => {
            let property = &schema[status.as_deref().unwrap_or_default()];
            let group = |name: &str| -> Option<String> {
                let groups = property["status"]["groups"].as_array()?;
                let ids = groups.iter().find(|g| g["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))?
                    ["option_ids"]
                    .as_array()?
                    .clone();
                let first = ids.first()?.as_str()?.to_owned();
                property["status"]["options"]
                    .as_array()?
                    .iter()
                    .find(|o| o["id"].as_str() == Some(first.as_str()))
                    .and_then(|o| o["name"].as_str())
                    .map(str::to_owned)
            };
            let names = options(schema, status.as_deref().unwrap_or_default());
            let done = group("Complete").or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case("done")).cloned());
            let open = group("To-do").or_else(|| names.first().cloned());
            (done, open)
        }
        Some("select") => {
            let names = options(schema, status.as_deref().unwrap_or_default());
            let done =
                names.iter().find(|n| ["done", "complete", "finished"].contains(&n.to_lowercase().as_str())).cloned();
            (done, names.first().cloned())
        }
        _ => (None, None),
    };
    let due = named(&["date"], &["due", "deadline"]);
    let do_date = named(&["date"], &["do", "when", "schedule", "start", "plan"])
        .filter(|d| Some(d) != due.as_ref())
        .or_else(|| if due.is_none() { only(&["date"]) } else { None });
    Some(TaskMapping {
        title,
        status,
        done_value,
        open_value,
        do_date,
        due,
        priority: named(&["select"], &["priority", "importance"]),
        tags: named(&["multi_select"], &["tag", "label", "categor"]).or_else(|| only(&["multi_select"])),
        estimate: named(&["number"], &["estimate", "minutes", "duration", "effort"]),
        parent: {
            let mut own: Vec<&String> = schema
                .keys()
                .filter(|k| kind(schema, k) == Some("relation") && k.to_lowercase().contains("parent"))
                .filter(|k| {
                    schema[k.as_str()]["relation"]["data_source_id"].as_str().is_none_or(|id| same_id(id, source_id))
                })
                .collect();
            own.sort();
            own.first().map(|k| (*k).clone())
        },
    })
}

/// Notion ids compare without their dashes.
fn same_id(a: &str, b: &str) -> bool {
    a.replace('-', "") == b.replace('-', "")
}

/// Checks the mapping against the database's properties: every named property exists
/// with a type that can hold its field.
pub fn check(mapping: &TaskMapping, schema: &Map<String, Value>) -> Result<(), String> {
    let want = |field: &str, name: &Option<String>, types: &[&str]| -> Result<(), String> {
        let Some(name) = name else { return Ok(()) };
        match kind(schema, name) {
            Some(t) if types.contains(&t) => Ok(()),
            Some(t) => Err(format!("the {field} property “{name}” is a {t}; it needs {}", types.join(" or "))),
            None => Err(format!("the database has no property “{name}” (mapped to {field})")),
        }
    };
    want("title", &Some(mapping.title.clone()), &["title"])?;
    want("status", &mapping.status, &["status", "checkbox", "select"])?;
    want("do date", &mapping.do_date, &["date"])?;
    want("due", &mapping.due, &["date"])?;
    want("priority", &mapping.priority, &["select"])?;
    want("tags", &mapping.tags, &["multi_select"])?;
    want("estimate", &mapping.estimate, &["number"])?;
    want("parent item", &mapping.parent, &["relation"])?;
    if matches!(mapping.status.as_deref().and_then(|s| kind(schema, s)), Some("status" | "select"))
        && mapping.done_value.is_none()
    {
        return Err("name the status option that means done".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------

/// A date as compared: `YYYY-MM-DD`, or the UTC instant of a date and time.
fn normal_date(text: &str) -> String {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return day.format("%Y-%m-%d").to_string();
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| text.to_owned())
}

fn level_of(option: &str) -> u8 {
    let o = option.to_lowercase();
    if ["urgent", "high", "p1", "critical", "!!!"].iter().any(|w| o.contains(w)) {
        1
    } else if ["medium", "normal", "p2", "mid"].iter().any(|w| o.contains(w)) {
        2
    } else if ["low", "p3", "minor"].iter().any(|w| o.contains(w)) {
        3
    } else {
        4
    }
}

fn tags_text(tags: &[String]) -> String {
    let mut tags: Vec<String> = tags.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    tags.sort();
    tags.dedup();
    tags.join(",")
}

/// A page's fields, through the mapping.
pub fn page_fields(page: &Value, mapping: &TaskMapping) -> Fields {
    let props = &page["properties"];
    let mut out = Fields::new();
    out.insert("title".into(), plain(&props[&mapping.title]["title"]).trim().to_owned());
    let done = match &mapping.status {
        Some(name) => {
            // Notion names a value's type; a value as written (and read back) has its key.
            let p = &props[name];
            let kind = p["type"]
                .as_str()
                .or_else(|| ["checkbox", "status", "select"].into_iter().find(|k| p.get(*k).is_some()));
            match kind {
                Some("checkbox") => p["checkbox"].as_bool().unwrap_or(false),
                Some(k @ ("status" | "select")) => {
                    p[k]["name"].as_str().is_some() && p[k]["name"].as_str() == mapping.done_value.as_deref()
                }
                _ => false,
            }
        }
        None => false,
    };
    out.insert("done".into(), done.to_string());
    let date = |name: &Option<String>| {
        name.as_ref().and_then(|n| props[n]["date"]["start"].as_str()).map(normal_date).unwrap_or_default()
    };
    out.insert("do".into(), date(&mapping.do_date));
    out.insert("due".into(), date(&mapping.due));
    let priority = mapping.priority.as_ref().and_then(|n| props[n]["select"]["name"].as_str()).map_or(4, level_of);
    out.insert("priority".into(), priority.to_string());
    let tags: Vec<String> = mapping
        .tags
        .as_ref()
        .and_then(|n| props[n]["multi_select"].as_array())
        .map(|t| t.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    out.insert("tags".into(), tags_text(&tags));
    let estimate = mapping
        .estimate
        .as_ref()
        .and_then(|n| props[n]["number"].as_f64())
        .map(|m| format!("{}", m.round() as i64))
        .unwrap_or_default();
    out.insert("estimate".into(), estimate);
    // Fields the mapping does not sync read the same on both sides.
    mask(&mut out, mapping);
    out
}

/// Calento's fields of a task.
pub fn task_fields(task: &TaskInfo, mapping: &TaskMapping) -> Fields {
    let mut out = Fields::new();
    out.insert("title".into(), task.title.trim().to_owned());
    out.insert("done".into(), (task.status == calento::task::TaskStatus::Done).to_string());
    out.insert("do".into(), task.do_at.as_deref().map(normal_date).unwrap_or_default());
    out.insert("due".into(), task.due.as_deref().map(normal_date).unwrap_or_default());
    out.insert("priority".into(), task.priority.to_string());
    out.insert("tags".into(), tags_text(&task.tags));
    out.insert("estimate".into(), task.estimate_minutes.map(|m| m.to_string()).unwrap_or_default());
    mask(&mut out, mapping);
    out
}

fn mask(fields: &mut Fields, mapping: &TaskMapping) {
    let unmapped = [
        ("done", mapping.status.is_none()),
        ("do", mapping.do_date.is_none()),
        ("due", mapping.due.is_none()),
        ("priority", mapping.priority.is_none()),
        ("tags", mapping.tags.is_none()),
        ("estimate", mapping.estimate.is_none()),
    ];
    for (field, off) in unmapped {
        if off {
            fields.remove(field);
        }
    }
}

fn step_fields(title: &str, done: bool) -> Fields {
    let mut out = Fields::new();
    out.insert("title".into(), title.trim().to_owned());
    out.insert("done".into(), done.to_string());
    out
}

/// The page properties for `fields` (only those in `which`).
fn properties(fields: &Fields, which: &[&str], mapping: &TaskMapping, schema: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    let get = |f: &str| fields.get(f).map(String::as_str).unwrap_or_default();
    for field in which {
        match *field {
            "title" => {
                out.insert(mapping.title.clone(), json!({ "title": rich(get("title")) }));
            }
            "done" => {
                if let Some(name) = &mapping.status {
                    let done = get("done") == "true";
                    let value = match kind(schema, name) {
                        Some("checkbox") => json!({ "checkbox": done }),
                        Some(t @ ("status" | "select")) => {
                            let option = if done { mapping.done_value.clone() } else { mapping.open_value.clone() };
                            let mut value = Map::new();
                            value.insert(t.to_owned(), option.map_or(Value::Null, |o| json!({ "name": o })));
                            Value::Object(value)
                        }
                        _ => continue,
                    };
                    out.insert(name.clone(), value);
                }
            }
            "do" | "due" => {
                let name = if *field == "do" { &mapping.do_date } else { &mapping.due };
                if let Some(name) = name {
                    let value = get(field);
                    out.insert(
                        name.clone(),
                        if value.is_empty() { json!({ "date": null }) } else { json!({ "date": { "start": value } }) },
                    );
                }
            }
            "priority" => {
                if let Some(name) = &mapping.priority {
                    let level: u8 = get("priority").parse().unwrap_or(4);
                    let names = options(schema, name);
                    let option =
                        names.iter().find(|o| level_of(o) == level).cloned().or_else(|| {
                            (level < 4).then(|| ["High", "Medium", "Low"][usize::from(level - 1)].to_owned())
                        });
                    out.insert(
                        name.clone(),
                        match option {
                            Some(o) => json!({ "select": { "name": o } }),
                            None => json!({ "select": null }),
                        },
                    );
                }
            }
            "tags" => {
                if let Some(name) = &mapping.tags {
                    let tags: Vec<Value> =
                        get("tags").split(',').filter(|t| !t.is_empty()).map(|t| json!({ "name": t })).collect();
                    out.insert(name.clone(), json!({ "multi_select": tags }));
                }
            }
            "estimate" => {
                if let Some(name) = &mapping.estimate {
                    let value = get("estimate").parse::<i64>().ok();
                    out.insert(name.clone(), json!({ "number": value }));
                }
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// The task change that makes Calento's task hold `fields` (those in `which`).
fn patch_of(fields: &Fields, which: &[&str]) -> TaskPatch {
    let get = |f: &str| fields.get(f).cloned().unwrap_or_default();
    let mut patch = TaskPatch::default();
    for field in which {
        match *field {
            "title" => patch.title = Some(get("title")),
            "done" => patch.status = Some(if get("done") == "true" { "done".into() } else { "todo".into() }),
            "do" => patch.do_at = Some(Some(get("do")).filter(|v| !v.is_empty())),
            "due" => patch.due = Some(Some(get("due")).filter(|v| !v.is_empty())),
            "priority" => patch.priority = get("priority").parse().ok(),
            "tags" => patch.tags = Some(get("tags").split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect()),
            "estimate" => patch.estimate_minutes = Some(get("estimate").parse().ok()),
            _ => {}
        }
    }
    patch
}

fn input_of(fields: &Fields, steps: &[(String, bool)]) -> TaskInput {
    let get = |f: &str| fields.get(f).cloned().filter(|v| !v.is_empty());
    TaskInput {
        title: get("title").unwrap_or_else(|| "Untitled".into()),
        tags: get("tags").map(|t| t.split(',').map(str::to_owned).collect()),
        priority: get("priority").and_then(|p| p.parse().ok()),
        do_at: get("do"),
        due: get("due"),
        estimate_minutes: get("estimate").and_then(|e| e.parse().ok()),
        status: Some(if get("done").as_deref() == Some("true") { "done".into() } else { "todo".into() }),
        steps: steps
            .iter()
            .map(|(title, _)| app::models::StepInput { title: title.clone(), steps: Vec::new() })
            .collect(),
        ..TaskInput::default()
    }
}

// ---------------------------------------------------------------------------------------
// The jobs
// ---------------------------------------------------------------------------------------

struct Session<'a> {
    notion: &'a Notion,
    db: &'a Db,
    row: &'a RemoteCalendarRow,
    user: UserRow,
    token: String,
    schema: Map<String, Value>,
    mapping: TaskMapping,
    counts: Counts,
}

impl<'a> Session<'a> {
    async fn open(notion: &'a Notion, db: &'a Db, row: &'a RemoteCalendarRow) -> Result<Self, ApiError> {
        let connection = connections::connection(db, &row.connection_id).await.map_err(storage)?;
        let user = app::ssr::accounts::find_by_id(db, &connection.user_id)
            .await
            .map_err(storage)?
            .ok_or(ApiError::NotFound)?;
        let reconnect = |reason: String| async {
            let _ = connections::needs_reconnect(db, &connection, &reason, &notion.base_url).await;
            ApiError::Revoked(reason)
        };
        let mut token = match notion.token(db, &connection).await {
            Ok(token) => token,
            Err(ApiError::Revoked(reason)) => return Err(reconnect(reason).await),
            Err(other) => return Err(other),
        };
        let path = format!("/data_sources/{}", row.remote_id);
        let mut answer = notion.call(&token, Method::GET, &path, None).await;
        if matches!(answer, Err(ApiError::Revoked(_))) && connection.refresh_secret.is_some() {
            // Refused before its time: renewed once, then asked again.
            token = notion.refresh(db, &connection).await?;
            answer = notion.call(&token, Method::GET, &path, None).await;
        }
        let source = match answer {
            Err(ApiError::Revoked(reason)) => return Err(reconnect(reason).await),
            other => other?,
        };
        let schema = source["properties"].as_object().cloned().unwrap_or_default();
        let mapping = match row.mapping.as_deref().and_then(|m| serde_json::from_str::<TaskMapping>(m).ok()) {
            Some(mapping) => mapping,
            None => {
                let guessed = guess(&schema, &row.remote_id)
                    .ok_or_else(|| ApiError::Setup("the database has no title property".into()))?;
                connections::store_guessed_mapping(db, &row.id, &guessed).await.map_err(storage)?;
                guessed
            }
        };
        check(&mapping, &schema).map_err(|e| ApiError::Setup(format!("Notion mapping: {e}")))?;
        Ok(Self { notion, db, row, user, token, schema, mapping, counts: Counts::default() })
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        self.notion.call(&self.token, method, path, body).await
    }

    /// The to-do blocks of a page: (block, title, checked), in order.
    async fn to_dos(&self, page_id: &str) -> Result<Vec<(Value, String, bool)>, ApiError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/blocks/{page_id}/children?page_size=100");
            if let Some(c) = &cursor {
                path.push_str(&format!("&start_cursor={}", app::components::percent_encode(c)));
            }
            let answer = self.call(Method::GET, &path, None).await?;
            for block in answer["results"].as_array().into_iter().flatten() {
                if block["type"] == "to_do" && block["in_trash"].as_bool() != Some(true) {
                    let title = plain(&block["to_do"]["rich_text"]);
                    let checked = block["to_do"]["checked"].as_bool().unwrap_or(false);
                    out.push((block.clone(), title, checked));
                }
            }
            match answer["next_cursor"].as_str().filter(|_| answer["has_more"].as_bool() == Some(true)) {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(out),
            }
        }
    }

    /// The parent page of a sub-item page (none for a task's own page, or when the mapping
    /// keeps steps as to-do blocks).
    fn parent_of(&self, page: &Value) -> Option<String> {
        let name = self.mapping.parent.as_ref()?;
        page["properties"][name]["relation"].as_array()?.first()?["id"].as_str().map(str::to_owned)
    }

    /// A task's micro-steps as Notion holds them: (block or page, title, done), in order.
    async fn steps_of(&self, page_id: &str) -> Result<Vec<(Value, String, bool)>, ApiError> {
        let Some(parent) = self.mapping.parent.clone() else { return self.to_dos(page_id).await };
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut body = json!({
                "page_size": 100,
                "filter": { "property": parent, "relation": { "contains": page_id } },
                "sorts": [{ "timestamp": "created_time", "direction": "ascending" }],
            });
            if let Some(c) = &cursor {
                body["start_cursor"] = json!(c);
            }
            let answer =
                self.call(Method::POST, &format!("/data_sources/{}/query", self.row.remote_id), Some(&body)).await?;
            for page in answer["results"].as_array().into_iter().flatten() {
                let fields = page_fields(page, &self.mapping);
                let title = fields.get("title").cloned().unwrap_or_default();
                out.push((page.clone(), title, fields.get("done").is_some_and(|d| d == "true")));
            }
            match answer["next_cursor"].as_str().filter(|_| answer["has_more"].as_bool() == Some(true)) {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(out),
            }
        }
    }

    /// Writes a new step under a task's page: a to-do block, or a sub-item page.
    async fn create_step(&self, page_id: &str, title: &str, done: bool) -> Result<Value, ApiError> {
        match &self.mapping.parent {
            Some(parent) => {
                let mut props = properties(&step_fields(title, done), &["title", "done"], &self.mapping, &self.schema);
                props[parent.as_str()] = json!({ "relation": [{ "id": page_id }] });
                let body = json!({
                    "parent": { "type": "data_source_id", "data_source_id": self.row.remote_id },
                    "properties": props,
                });
                self.call(Method::POST, "/pages", Some(&body)).await
            }
            None => {
                let to_do = json!({ "rich_text": rich(title), "checked": done });
                let body = json!({ "children": [{ "object": "block", "type": "to_do", "to_do": to_do }] });
                let answer = self.call(Method::PATCH, &format!("/blocks/{page_id}/children"), Some(&body)).await?;
                answer["results"].as_array().and_then(|r| r.first()).cloned().ok_or(ApiError::NotFound)
            }
        }
    }

    /// Changes a step's title or state in Notion.
    async fn update_step(&self, remote_id: &str, title: &str, done: bool) -> Result<Value, ApiError> {
        if self.mapping.parent.is_some() {
            let props = properties(&step_fields(title, done), &["title", "done"], &self.mapping, &self.schema);
            self.call(Method::PATCH, &format!("/pages/{remote_id}"), Some(&json!({ "properties": props }))).await
        } else {
            let to_do = json!({ "rich_text": rich(title), "checked": done });
            self.call(Method::PATCH, &format!("/blocks/{remote_id}"), Some(&json!({ "to_do": to_do }))).await
        }
    }

    /// Removes a step from Notion (a sub-item page goes to the trash); gone already is fine.
    async fn delete_step(&self, remote_id: &str) -> Result<(), ApiError> {
        let answer = if self.mapping.parent.is_some() {
            self.call(Method::PATCH, &format!("/pages/{remote_id}"), Some(&json!({ "in_trash": true }))).await
        } else {
            self.call(Method::DELETE, &format!("/blocks/{remote_id}"), None).await
        };
        match answer {
            Ok(_) | Err(ApiError::NotFound) => self.drop_item(remote_id).await,
            Err(other) => Err(other),
        }
    }

    async fn put(&self, item: ItemRow) -> Result<(), ApiError> {
        let mut write = changes::begin_unowned(self.db).await.map_err(storage)?;
        connections::put_item(&mut write, &item).await.map_err(storage)?;
        write.commit().await.map_err(storage)
    }

    async fn drop_item(&self, remote_id: &str) -> Result<(), ApiError> {
        let mut write = changes::begin_unowned(self.db).await.map_err(storage)?;
        connections::drop_item(&mut write, &self.row.id, remote_id).await.map_err(storage)?;
        write.commit().await.map_err(storage)
    }

    fn item(
        &self,
        remote_id: &str,
        uid: &str,
        parent: Option<&str>,
        raw: &Value,
        remote: &Fields,
        local: Option<&Fields>,
    ) -> ItemRow {
        ItemRow {
            remote_calendar_id: self.row.id.clone(),
            remote_id: remote_id.to_owned(),
            uid: uid.to_owned(),
            master_remote_id: parent.map(str::to_owned),
            etag: raw["last_edited_time"].as_str().map(str::to_owned),
            raw: raw.to_string(),
            remote_base: Some(serde_json::to_string(remote).unwrap_or_default()),
            local_base: local.map(|l| serde_json::to_string(l).unwrap_or_default()),
            event_id: Some(uid.to_owned()),
            updated_at: now_ms(),
        }
    }

    /// Finds a task of the person (none when deleted).
    async fn task(&self, id: &str) -> Result<Option<TaskInfo>, ApiError> {
        match tasks::find(self.db, &self.user, id).await {
            Ok(task) => Ok(Some(task)),
            Err(app::AppError::NotFound) => Ok(None),
            Err(other) => Err(storage(other)),
        }
    }
}

fn base(text: Option<&str>) -> Option<Fields> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// Pulls one database.
pub async fn pull(notion: &Notion, db: &Db, row: &RemoteCalendarRow) -> Result<(), ApiError> {
    let mut s = Session::open(notion, db, row).await?;
    let stored: HashMap<String, ItemRow> = connections::items_of(db, &row.id)
        .await
        .map_err(storage)?
        .into_iter()
        .map(|i| (i.remote_id.clone(), i))
        .collect();
    // Two minutes back from the watermark: Notion rounds `last_edited_time` to the minute.
    // Once an hour the whole database is read: a query never returns trashed pages, so
    // pages gone from a full listing were deleted in Notion.
    let full = row.synced_at.is_none_or(|at| at / 3_600_000 != now_ms() / 3_600_000);
    let since =
        row.sync_token.as_deref().filter(|_| !full).and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| {
            (t.with_timezone(&Utc) - chrono::Duration::minutes(2)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        });
    let mut watermark = row.sync_token.clone();
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let mut body = json!({
            "page_size": 100,
            "sorts": [{ "timestamp": "last_edited_time", "direction": "ascending" }],
        });
        if let Some(since) = &since {
            body["filter"] = json!({ "timestamp": "last_edited_time", "last_edited_time": { "on_or_after": since } });
        }
        if let Some(c) = &cursor {
            body["start_cursor"] = json!(c);
        }
        let answer = s.call(Method::POST, &format!("/data_sources/{}/query", row.remote_id), Some(&body)).await?;
        pages.extend(answer["results"].as_array().into_iter().flatten().cloned());
        match answer["next_cursor"].as_str().filter(|_| answer["has_more"].as_bool() == Some(true)) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut push_needed = false;
    // Tasks' own pages first; a sub-item page listed (new or changed) has its parent's
    // steps read again, once, after them.
    let mut parents: Vec<String> = Vec::new();
    let mut read: Vec<String> = Vec::new();
    for page in &pages {
        if let Some(edited) = page["last_edited_time"].as_str()
            && watermark.as_deref().is_none_or(|w| edited > w)
        {
            watermark = Some(edited.to_owned());
        }
        if let Some(parent) = s.parent_of(page) {
            if !parents.contains(&parent) {
                parents.push(parent);
            }
            continue;
        }
        push_needed |= pull_page(&mut s, page, &stored).await?;
        read.extend(page["id"].as_str().map(str::to_owned));
    }
    for parent in parents.iter().filter(|p| !read.contains(p)) {
        let Some(item) = stored.get(parent).filter(|i| i.master_remote_id.is_none()) else { continue };
        let Some(task) = s.task(item.event_id.as_deref().unwrap_or_default()).await? else { continue };
        push_needed |= pull_steps(&mut s, parent, &task, &stored).await?;
    }
    if since.is_none() {
        let listed: Vec<&str> = pages.iter().filter_map(|p| p["id"].as_str()).collect();
        let gone: Vec<String> = stored
            .values()
            .filter(|i| i.master_remote_id.is_none() && !listed.contains(&i.remote_id.as_str()))
            .map(|i| i.remote_id.clone())
            .collect();
        for id in gone {
            push_needed |= pull_page(&mut s, &json!({ "id": id, "in_trash": true }), &stored).await?;
        }
    }
    if push_needed {
        connections::queue_push_at(db, &row.id, now_ms()).await.map_err(storage)?;
    }
    connections::record_sync(db, row, watermark.as_deref(), s.counts, now_ms() + notion.poll_every_ms)
        .await
        .map_err(storage)
}

/// Applies one page; `true` when Calento's side must be pushed afterwards.
async fn pull_page(s: &mut Session<'_>, page: &Value, stored: &HashMap<String, ItemRow>) -> Result<bool, ApiError> {
    let Some(page_id) = page["id"].as_str() else { return Ok(false) };
    let trashed = page["in_trash"].as_bool() == Some(true) || page["archived"].as_bool() == Some(true);
    let remote = page_fields(page, &s.mapping);
    let item = stored.get(page_id);
    let remote_base = base(item.and_then(|i| i.remote_base.as_deref()));
    let local_base = base(item.and_then(|i| i.local_base.as_deref()));
    let task = match item.and_then(|i| i.event_id.as_deref()) {
        Some(id) => s.task(id).await?,
        None => None,
    };
    if trashed {
        if let (Some(item), Some(task)) = (item, &task) {
            if local_base.as_ref() == Some(&task_fields(task, &s.mapping)) {
                tasks::delete(s.db, &s.user.id, &task.id).await.map_err(storage)?;
                s.counts.deleted += 1;
            }
            s.drop_item(&item.remote_id).await?;
        }
        return Ok(false);
    }
    if item.is_some() && remote_base.as_ref() == Some(&remote) && task.is_some() {
        // Unchanged (read again in the overlap): only its steps may have moved.
        let task = task.unwrap_or_else(|| unreachable!("checked above"));
        return pull_steps(s, page_id, &task, stored).await;
    }
    let blocks = s.steps_of(page_id).await?;
    let created = item.is_none() || task.is_none();
    let (task, push) = match (item, task) {
        (Some(_), None) if remote_base.as_ref() == Some(&remote) => return Ok(true), // deleted in Calento
        (_, None) => {
            let steps: Vec<(String, bool)> = blocks.iter().map(|(_, t, c)| (t.clone(), *c)).collect();
            let created = tasks::create(s.db, &s.user, input_of(&remote, &steps)).await.map_err(storage)?;
            s.counts.created += 1;
            // Steps made with the task, in order; then the done ones are ticked.
            for ((block, title, checked), step) in blocks.iter().zip(created.steps.iter()) {
                if *checked {
                    let patch = TaskPatch { status: Some("done".into()), ..TaskPatch::default() };
                    tasks::update(s.db, &s.user, &step.id, patch).await.map_err(storage)?;
                }
                let fields = step_fields(title, *checked);
                let id = block["id"].as_str().unwrap_or_default();
                s.put(s.item(id, &step.id, Some(page_id), block, &fields, Some(&fields))).await?;
            }
            let task = s.task(&created.id).await?.ok_or(ApiError::NotFound)?;
            (task, false)
        }
        (_, Some(task)) => {
            let local = task_fields(&task, &s.mapping);
            let local_changed = local_base.as_ref() != Some(&local);
            let remote_updated = page["last_edited_time"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map_or(0, |t| t.timestamp_millis());
            let task_updated = tasks_updated_at(s.db, &task.id).await?;
            let merged = merge(
                local_base.as_ref(),
                &local,
                remote_base.as_ref(),
                &remote,
                Context { organised_elsewhere: false, remote_later: remote_updated >= task_updated || !local_changed },
            );
            let mut write = changes::begin(s.db, &s.user.id).await.map_err(storage)?;
            connections::log_conflicts(
                &mut write,
                &s.user.id,
                &s.row.id,
                &task.id,
                &task.title,
                &merged.conflicts,
                "Notion",
            )
            .await
            .map_err(storage)?;
            write.commit().await.map_err(storage)?;
            let from_remote: Vec<&str> = TASK_FIELDS
                .iter()
                .copied()
                .filter(|f| merged.take.get(*f) == Some(&Side::Remote) && local.get(*f) != remote.get(*f))
                .collect();
            if !from_remote.is_empty() {
                tasks::update(s.db, &s.user, &task.id, patch_of(&remote, &from_remote)).await.map_err(storage)?;
                s.counts.updated += 1;
            }
            let task = s.task(&task.id).await?.ok_or(ApiError::NotFound)?;
            (task, merged.changes_remote(&local, &remote))
        }
    };
    // Both sides agree now, unless Calento's side is to be pushed (then its base stays).
    let local_now = task_fields(&task, &s.mapping);
    let local_base_text = if push { local_base.clone() } else { Some(local_now.clone()) };
    s.put(s.item(page_id, &task.id, None, page, &remote, local_base_text.as_ref())).await?;
    if created {
        return Ok(push); // its steps were made with it, block by block
    }
    let steps_push = pull_steps_with(s, page_id, &task, stored, blocks).await?;
    Ok(push || steps_push)
}

async fn tasks_updated_at(db: &Db, id: &str) -> Result<i64, ApiError> {
    sqlx::query_scalar::<_, i64>("SELECT updated_at FROM tasks WHERE id = $1")
        .bind(id)
        .fetch_optional(db.read())
        .await
        .map(|v| v.unwrap_or(0))
        .map_err(|e| storage(e.into()))
}

async fn pull_steps(
    s: &mut Session<'_>,
    page_id: &str,
    task: &TaskInfo,
    stored: &HashMap<String, ItemRow>,
) -> Result<bool, ApiError> {
    let blocks = s.steps_of(page_id).await?;
    pull_steps_with(s, page_id, task, stored, blocks).await
}

/// Brings a task's steps in line with the page's to-do blocks.
async fn pull_steps_with(
    s: &mut Session<'_>,
    page_id: &str,
    task: &TaskInfo,
    stored: &HashMap<String, ItemRow>,
    blocks: Vec<(Value, String, bool)>,
) -> Result<bool, ApiError> {
    let mut push = false;
    let steps: BTreeMap<String, &TaskInfo> = task.steps.iter().map(|s| (s.id.clone(), s)).collect();
    let mut seen = Vec::new();
    for (block, title, checked) in &blocks {
        let Some(id) = block["id"].as_str() else { continue };
        seen.push(id.to_owned());
        let remote = step_fields(title, *checked);
        match stored.get(id) {
            None => {
                let input = TaskInput {
                    title: title.clone(),
                    parent_id: Some(task.id.clone()),
                    status: Some(if *checked { "done".into() } else { "todo".into() }),
                    ..TaskInput::default()
                };
                let made = tasks::create(s.db, &s.user, input).await.map_err(storage)?;
                s.put(s.item(id, &made.id, Some(page_id), block, &remote, Some(&remote))).await?;
            }
            Some(item) => {
                let Some(step) = item.event_id.as_deref().and_then(|e| steps.get(e)) else {
                    push = true; // deleted in Calento: the push removes the block
                    continue;
                };
                let local = step_fields(&step.title, step.status == calento::task::TaskStatus::Done);
                let remote_base = base(item.remote_base.as_deref());
                let local_base = base(item.local_base.as_deref());
                if remote_base.as_ref() == Some(&remote) {
                    push |= local_base.as_ref() != Some(&local);
                    continue;
                }
                let merged = merge(
                    local_base.as_ref(),
                    &local,
                    remote_base.as_ref(),
                    &remote,
                    Context { organised_elsewhere: false, remote_later: true },
                );
                let from_remote: Vec<&str> = ["title", "done"]
                    .into_iter()
                    .filter(|f| merged.take.get(*f) == Some(&Side::Remote) && local.get(*f) != remote.get(*f))
                    .collect();
                if !from_remote.is_empty() {
                    tasks::update(s.db, &s.user, &step.id, patch_of(&remote, &from_remote)).await.map_err(storage)?;
                }
                let changes_remote = merged.changes_remote(&local, &remote);
                push |= changes_remote;
                let agreed = if changes_remote { local_base } else { Some(merged.apply(&local, &remote)) };
                s.put(s.item(id, &step.id, Some(page_id), block, &remote, agreed.as_ref())).await?;
            }
        }
    }
    // Blocks deleted in Notion: their steps go, unless changed in Calento since.
    for item in stored.values().filter(|i| i.master_remote_id.as_deref() == Some(page_id)) {
        if seen.contains(&item.remote_id) {
            continue;
        }
        if let Some(step) = item.event_id.as_deref().and_then(|e| steps.get(e)) {
            let local = step_fields(&step.title, step.status == calento::task::TaskStatus::Done);
            if base(item.local_base.as_deref()).as_ref() == Some(&local) {
                tasks::delete(s.db, &s.user.id, &step.id).await.map_err(storage)?;
            }
        }
        s.drop_item(&item.remote_id).await?;
    }
    Ok(push)
}

/// Pushes Calento's task changes to one database.
pub async fn push(notion: &Notion, db: &Db, row: &RemoteCalendarRow) -> Result<(), ApiError> {
    if row.mode != "two_way" {
        return Ok(());
    }
    let mut s = Session::open(notion, db, row).await?;
    let items = connections::items_of(db, &row.id).await.map_err(storage)?;
    let pages: HashMap<String, ItemRow> = items
        .iter()
        .filter(|i| i.master_remote_id.is_none())
        .filter_map(|i| i.event_id.clone().map(|e| (e, i.clone())))
        .collect();
    let blocks: HashMap<String, ItemRow> = items
        .iter()
        .filter(|i| i.master_remote_id.is_some())
        .filter_map(|i| i.event_id.clone().map(|e| (e, i.clone())))
        .collect();
    let mut alive = Vec::new();
    let connected_at = row_created(db, row).await?;
    for id in connections::task_roots(db, &s.user.id).await.map_err(storage)? {
        let Some(task) = s.task(&id).await? else { continue };
        let done_before = task.status == calento::task::TaskStatus::Done
            && task.completed_at.is_some_and(|at| at.timestamp_millis() < connected_at);
        if done_before && !pages.contains_key(&task.id) {
            continue; // finished before the database was connected: not sent
        }
        alive.push(task.id.clone());
        let local = task_fields(&task, &s.mapping);
        let page_id = match pages.get(&task.id) {
            Some(item) => {
                if base(item.local_base.as_deref()).as_ref() != Some(&local) {
                    let props = properties(&local, &TASK_FIELDS, &s.mapping, &s.schema);
                    let answer = s
                        .call(
                            Method::PATCH,
                            &format!("/pages/{}", item.remote_id),
                            Some(&json!({ "properties": props })),
                        )
                        .await;
                    match answer {
                        Ok(page) => {
                            let remote = page_fields(&page, &s.mapping);
                            s.put(s.item(&item.remote_id, &task.id, None, &page, &remote, Some(&local))).await?;
                            s.counts.updated += 1;
                        }
                        Err(ApiError::NotFound) => {
                            s.drop_item(&item.remote_id).await?;
                            continue;
                        }
                        Err(other) => return Err(other),
                    }
                }
                item.remote_id.clone()
            }
            None => {
                // To-do blocks are written with the page; sub-items after it, one by one.
                let children: Vec<Value> = task
                    .steps
                    .iter()
                    .filter(|_| s.mapping.parent.is_none())
                    .map(|step| {
                        json!({ "object": "block", "type": "to_do", "to_do": {
                            "rich_text": rich(&step.title), "checked": step.status == calento::task::TaskStatus::Done } })
                    })
                    .collect();
                let body = json!({
                    "parent": { "type": "data_source_id", "data_source_id": row.remote_id },
                    "properties": properties(&local, &TASK_FIELDS, &s.mapping, &s.schema),
                    "children": children,
                });
                let page = s.call(Method::POST, "/pages", Some(&body)).await?;
                let page_id = page["id"].as_str().unwrap_or_default().to_owned();
                let remote = page_fields(&page, &s.mapping);
                s.put(s.item(&page_id, &task.id, None, &page, &remote, Some(&local))).await?;
                s.counts.created += 1;
                if s.mapping.parent.is_none() {
                    // The blocks just made, matched to the steps by order.
                    let made = s.to_dos(&page_id).await?;
                    for ((block, title, checked), step) in made.iter().zip(task.steps.iter()) {
                        let fields = step_fields(title, *checked);
                        let id = block["id"].as_str().unwrap_or_default();
                        s.put(s.item(id, &step.id, Some(&page_id), block, &fields, Some(&fields))).await?;
                    }
                    continue;
                }
                page_id
            }
        };
        // Steps of a known page.
        let mut kept = Vec::new();
        for step in &task.steps {
            let done = step.status == calento::task::TaskStatus::Done;
            let local = step_fields(&step.title, done);
            match blocks.get(&step.id).filter(|i| i.master_remote_id.as_deref() == Some(page_id.as_str())) {
                Some(item) => {
                    kept.push(item.remote_id.clone());
                    if base(item.local_base.as_deref()).as_ref() != Some(&local) {
                        let block = s.update_step(&item.remote_id, &step.title, done).await?;
                        s.put(s.item(&item.remote_id, &step.id, Some(&page_id), &block, &local, Some(&local))).await?;
                    }
                }
                None => {
                    let block = s.create_step(&page_id, &step.title, done).await?;
                    let id = block["id"].as_str().unwrap_or_default().to_owned();
                    kept.push(id.clone());
                    s.put(s.item(&id, &step.id, Some(&page_id), &block, &local, Some(&local))).await?;
                }
            }
        }
        for item in items.iter().filter(|i| i.master_remote_id.as_deref() == Some(page_id.as_str())) {
            if !kept.contains(&item.remote_id) {
                s.delete_step(&item.remote_id).await?;
            }
        }
    }
    // Tasks gone from Calento (deleted or archived): their pages go to Notion's trash.
    for (task_id, item) in &pages {
        if alive.contains(task_id) {
            continue;
        }
        match s.call(Method::PATCH, &format!("/pages/{}", item.remote_id), Some(&json!({ "in_trash": true }))).await {
            Ok(_) | Err(ApiError::NotFound) => {
                s.drop_item(&item.remote_id).await?;
                s.counts.deleted += 1;
            }
            Err(other) => return Err(other),
        }
        // Its steps: sub-item pages go to the trash with it (blocks went with the page).
        for step in items.iter().filter(|i| i.master_remote_id.as_deref() == Some(item.remote_id.as_str())) {
            if s.mapping.parent.is_some() {
                s.delete_step(&step.remote_id).await?;
            } else {
                s.drop_item(&step.remote_id).await?;
            }
        }
    }
    connections::add_counts(db, row, s.counts).await.map_err(storage)
}

async fn row_created(db: &Db, row: &RemoteCalendarRow) -> Result<i64, ApiError> {
    sqlx::query_scalar::<_, i64>("SELECT created_at FROM remote_calendars WHERE id = $1")
        .bind(&row.id)
        .fetch_one(db.read())
        .await
        .map_err(|e| storage(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Map<String, Value> {
        serde_json::from_value(json!({
            "Name": { "id": "title", "type": "title", "title": {} },
            "Status": { "id": "s", "type": "status", "status": {
                "options": [{ "id": "1", "name": "Not started" }, { "id": "2", "name": "In progress" }, { "id": "3", "name": "Done" }],
                "groups": [{ "name": "To-do", "option_ids": ["1"] }, { "name": "In progress", "option_ids": ["2"] },
                           { "name": "Complete", "option_ids": ["3"] }] } },
            "Due date": { "id": "d", "type": "date", "date": {} },
            "Do on": { "id": "o", "type": "date", "date": {} },
            "Priority": { "id": "p", "type": "select", "select": { "options": [{ "name": "High" }, { "name": "Medium" }, { "name": "Low" }] } },
            "Tags": { "id": "t", "type": "multi_select", "multi_select": { "options": [] } },
            "Estimate (min)": { "id": "e", "type": "number", "number": {} },
        }))
        .expect("schema")
    }

    #[test]
    fn the_mapping_is_guessed_from_names_and_types() {
        let mapping = guess(&schema(), "tasks-source").expect("mapping");
        assert_eq!(mapping.title, "Name");
        assert_eq!(mapping.status.as_deref(), Some("Status"));
        assert_eq!(mapping.done_value.as_deref(), Some("Done"));
        assert_eq!(mapping.open_value.as_deref(), Some("Not started"));
        assert_eq!(mapping.due.as_deref(), Some("Due date"));
        assert_eq!(mapping.do_date.as_deref(), Some("Do on"));
        assert_eq!(mapping.priority.as_deref(), Some("Priority"));
        assert_eq!(mapping.tags.as_deref(), Some("Tags"));
        assert_eq!(mapping.estimate.as_deref(), Some("Estimate (min)"));
        assert!(check(&mapping, &schema()).is_ok());
        let wrong = TaskMapping { due: Some("Priority".into()), ..mapping.clone() };
        assert!(check(&wrong, &schema()).is_err_and(|e| e.contains("is a select")));
        let missing = TaskMapping { tags: Some("Labels".into()), ..mapping.clone() };
        assert!(check(&missing, &schema()).is_err_and(|e| e.contains("no property “Labels”")));
        // No sub-items: steps are to-do blocks.
        assert_eq!(mapping.parent, None);
    }

    #[test]
    fn sub_items_are_found_by_the_relation_of_the_database_to_itself() {
        let mut with = schema();
        let relation = |target: &str| {
            json!({ "type": "relation", "relation": { "data_source_id": target, "type": "dual_property",
                    "dual_property": { "synced_property_name": "Sub-item" } } })
        };
        // A "parent" relation to another database (a parent project) is not sub-items.
        with.insert("Parent project".into(), relation("projects-source"));
        assert_eq!(guess(&with, "tasks-source").expect("mapping").parent, None);
        with.insert("Parent item".into(), relation("tasks-source"));
        with.insert("Sub-item".into(), relation("tasks-source"));
        let mapping = guess(&with, "tasks-source").expect("mapping");
        assert_eq!(mapping.parent.as_deref(), Some("Parent item"));
        assert!(check(&mapping, &with).is_ok());
        let wrong = TaskMapping { parent: Some("Tags".into()), ..mapping };
        assert!(check(&wrong, &with).is_err_and(|e| e.contains("needs relation")));
    }

    #[test]
    fn fields_read_back_the_same_from_the_properties_they_write() {
        let mapping = guess(&schema(), "tasks-source").expect("mapping");
        let mut fields = Fields::new();
        for (k, v) in [
            ("title", "Write report"),
            ("done", "true"),
            ("do", "2030-01-14"),
            ("due", "2030-01-15T09:00:00Z"),
            ("priority", "2"),
            ("tags", "home,work"),
            ("estimate", "45"),
        ] {
            fields.insert(k.into(), v.into());
        }
        let props = properties(&fields, &TASK_FIELDS, &mapping, &schema());
        assert_eq!(props["Status"]["status"]["name"], "Done");
        assert_eq!(props["Priority"]["select"]["name"], "Medium");
        // As Notion answers: rich text with plain_text.
        let mut page = json!({ "properties": props });
        page["properties"]["Name"]["title"][0]["plain_text"] = json!("Write report");
        assert_eq!(page_fields(&page, &mapping), fields);
        // Dates written with an offset compare as the same instant.
        page["properties"]["Due date"]["date"]["start"] = json!("2030-01-15T10:00:00.000+01:00");
        assert_eq!(page_fields(&page, &mapping)["due"], "2030-01-15T09:00:00Z");
    }
}
