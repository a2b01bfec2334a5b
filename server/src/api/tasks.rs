//! The tasks and focus part of the REST API: tasks with nested micro-steps, quick capture,
//! planning and time blocks, focus sessions, energy, and motivation. Mounted under
//! `/api/v1` behind the same authentication as the rest (see `api.rs`).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use app::AppError;
use app::models::{
    CaptureResult, DistractionInfo, EnergyInfo, FocusSessionInfo, NowSuggestion, PlacementInfo, PlanResult,
    ProgressInfo, RewardInfo, StatsInfo, TaskImportReport, TaskInfo, TaskInput, TaskPatch, TaskQuery, ZoneInfo,
};
use app::ssr::motivation::TaskSettings;
use app::ssr::{AppState, focus, motivation, planning, tasks};

use super::{ApiJson, ApiQuery, ApiUser, Guard, OptionalJson, Routes};
use calento::scope::Area;

pub fn routes() -> Routes {
    Routes::new(Guard::Area(Area::Tasks))
        .get("/tasks", list_tasks)
        .post("/tasks", create_task)
        .get("/tasks/export.json", export_json)
        .get("/tasks/export.csv", export_csv)
        .post("/tasks/import", import_csv)
        .post("/tasks/{id}/template", save_template)
        .post("/templates/{id}/use", use_template)
        .get("/tasks/{id}", get_task)
        .patch("/tasks/{id}", update_task)
        .delete("/tasks/{id}", delete_task)
        .post("/tasks/{id}/steps", add_step)
        .post("/tasks/{id}/blocks", add_block)
        .post("/tasks/{id}/breakdown", breakdown)
        .get("/zones", list_zones)
        .post("/capture", capture)
        .post("/plan", plan)
        .get("/focus-sessions", list_sessions)
        .post("/focus-sessions", start_session)
        .get("/focus-sessions/current", current_session)
        .get("/focus-sessions/{id}", get_session)
        .post("/focus-sessions/{id}/distractions", add_distraction)
        .post("/focus-sessions/{id}/{action}", change_session)
        .get("/energy", list_energy)
        .post("/energy", log_energy)
        .get("/energy/now", what_now)
        .get("/stats", stats)
        .get("/progress", progress)
        .post("/rewards", create_reward)
        .post("/rewards/{id}/claim", claim_reward)
        .get("/task-settings", get_settings)
        .put("/task-settings", put_settings)
}

async fn list_tasks(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiQuery(query): ApiQuery<TaskQuery>,
) -> Result<Json<Vec<TaskInfo>>, AppError> {
    tasks::list(&state.db, &user, &query).await.map(Json)
}

async fn create_task(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(body): ApiJson<TaskInput>,
) -> Result<(StatusCode, Json<TaskInfo>), AppError> {
    Ok((StatusCode::CREATED, Json(tasks::create(&state.db, &user, body).await?)))
}

/// All tasks, micro-steps nested, as a JSON download.
async fn export_json(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Response, AppError> {
    let all = tasks::export_all(&state.db, &user).await?;
    let body = serde_json::to_string_pretty(&all).map_err(|e| app::ssr::unexpected("writing JSON", e))?;
    Ok(download("application/json", "calento-tasks.json", body))
}

/// All tasks in the generic CSV format (what the import reads back).
async fn export_csv(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Response, AppError> {
    let body = tasks::export_csv(&state.db, &user).await?;
    Ok(download("text/csv; charset=utf-8", "calento-tasks.csv", body))
}

fn download(kind: &str, name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, kind.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body).into_response()
}

/// Imports a CSV file (the raw body: Todoist's export or the generic format); answers with
/// the report.
async fn import_csv(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    body: axum::body::Bytes,
) -> Result<Json<TaskImportReport>, AppError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::bad_request("The file is not UTF-8 text; export it again as UTF-8 CSV."))?;
    tasks::import_csv(&state.db, &user, text).await.map(Json)
}

async fn save_template(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TaskInfo>), AppError> {
    Ok((StatusCode::CREATED, Json(tasks::copy_as(&state.db, &user, &id, true).await?)))
}

async fn use_template(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TaskInfo>), AppError> {
    Ok((StatusCode::CREATED, Json(tasks::copy_as(&state.db, &user, &id, false).await?)))
}

async fn get_task(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<TaskInfo>, AppError> {
    tasks::find(&state.db, &user, &id).await.map(Json)
}

async fn update_task(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<TaskPatch>,
) -> Result<Json<TaskInfo>, AppError> {
    tasks::update(&state.db, &user, &id, patch).await.map(Json)
}

async fn delete_task(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    tasks::delete(&state.db, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A micro-step under the task or step `id` (its sub-steps may come along).
async fn add_step(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<TaskInput>,
) -> Result<(StatusCode, Json<TaskInfo>), AppError> {
    tasks::find(&state.db, &user, &id).await?;
    body.parent_id = Some(id);
    Ok((StatusCode::CREATED, Json(tasks::create(&state.db, &user, body).await?)))
}

#[derive(utoipa::ToSchema, Deserialize, Default)]
struct BreakdownBody {
    #[serde(default)]
    apply: bool,
}

/// Suggested micro-steps (`apply: true` adds them).
async fn breakdown(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<BreakdownBody>,
) -> Result<Json<app::models::BreakdownInfo>, AppError> {
    tasks::breakdown(&state, &user, &id, body.apply).await.map(Json)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct BlockBody {
    start: String,
    end: String,
}

async fn add_block(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BlockBody>,
) -> Result<(StatusCode, Json<PlacementInfo>), AppError> {
    let block = planning::add_block(&state.db, &user, &id, &body.start, &body.end).await?;
    Ok((StatusCode::CREATED, Json(block)))
}

async fn list_zones(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<Vec<ZoneInfo>>, AppError> {
    tasks::zones(&state.db, &user.id).await.map(Json)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct CaptureBody {
    text: String,
    /// Only show what was understood (the default); `false` creates the tasks.
    #[serde(default = "yes")]
    preview: bool,
}

fn yes() -> bool {
    true
}

/// An `Idempotency-Key` header makes retries safe: the same key makes the tasks once and
/// answers with them again.
async fn capture(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    headers: http::HeaderMap,
    ApiJson(body): ApiJson<CaptureBody>,
) -> Result<(StatusCode, Json<CaptureResult>), AppError> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let result = tasks::capture(&state.db, &user, &body.text, !body.preview, key).await?;
    let status = if body.preview || result.tasks.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(result)))
}

#[derive(utoipa::ToSchema, Deserialize)]
struct PlanBody {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    task_ids: Option<Vec<String>>,
    #[serde(default)]
    apply: bool,
}

async fn plan(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(body): ApiJson<PlanBody>,
) -> Result<Json<PlanResult>, AppError> {
    let (from, to) = planning::window(&user, body.from.as_deref(), body.to.as_deref())?;
    planning::plan(&state.db, &user, from, to, body.task_ids.as_deref(), body.apply).await.map(Json)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct RangeQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// `from`/`to` as dates or times in the user's zone; the last 30 days by default.
fn range(user: &app::ssr::accounts::UserRow, query: &RangeQuery) -> Result<(i64, i64), AppError> {
    let (from, to) = (query.from.as_deref(), query.to.as_deref());
    match (from, to) {
        (None, None) => {
            let now = app::ssr::now_ms();
            Ok((now - 30 * 86_400_000, now + 86_400_000))
        }
        _ => planning::window(user, from, to.or(Some(""))),
    }
}

async fn list_sessions(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<Vec<FocusSessionInfo>>, AppError> {
    let (from, to) = range(&user, &query)?;
    focus::history(&state.db, &user, from, to).await.map(Json)
}

#[derive(utoipa::ToSchema, Deserialize, Default)]
struct StartBody {
    #[serde(default)]
    task_id: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    minutes: Option<i64>,
}

async fn start_session(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    OptionalJson(body): OptionalJson<StartBody>,
) -> Result<(StatusCode, Json<FocusSessionInfo>), AppError> {
    let session = focus::start(&state.db, &user, body.task_id.as_deref(), body.kind.as_deref(), body.minutes).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// The running or paused session; 404 when there is none.
async fn current_session(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<FocusSessionInfo>, AppError> {
    focus::current(&state.db, &user).await?.map(Json).ok_or(AppError::NotFound)
}

async fn get_session(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<FocusSessionInfo>, AppError> {
    focus::get(&state.db, &user, &id).await.map(Json)
}

async fn change_session(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<FocusSessionInfo>, AppError> {
    if !matches!(action.as_str(), "pause" | "resume" | "complete" | "abandon") {
        return Err(AppError::NotFound);
    }
    focus::change(&state.db, &user, &id, &action).await.map(Json)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct NoteBody {
    note: String,
}

async fn add_distraction(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<(StatusCode, Json<DistractionInfo>), AppError> {
    let noted = focus::note_distraction(&state.db, &user, Some(&id), &body.note).await?;
    Ok((StatusCode::CREATED, Json(noted)))
}

async fn list_energy(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<Vec<EnergyInfo>>, AppError> {
    let (from, to) = range(&user, &query)?;
    focus::energy_history(&state.db, &user.id, from, to).await.map(Json)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct EnergyBody {
    #[schema(minimum = 1, maximum = 5)]
    level: i64,
    #[serde(default)]
    note: String,
    #[serde(default)]
    check_in: bool,
}

async fn log_energy(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(body): ApiJson<EnergyBody>,
) -> Result<(StatusCode, Json<EnergyInfo>), AppError> {
    let logged = focus::log_energy(&state.db, &user, body.level, &body.note, body.check_in).await?;
    Ok((StatusCode::CREATED, Json(logged)))
}

async fn what_now(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<NowSuggestion>, AppError> {
    focus::what_now(&state.db, &user).await.map(Json)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct StatsQuery {
    #[serde(default = "four_weeks")]
    #[schema(minimum = 7, maximum = 366)]
    days: i64,
}

fn four_weeks() -> i64 {
    28
}

async fn stats(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Json<StatsInfo>, AppError> {
    focus::stats(&state.db, &user, query.days).await.map(Json)
}

async fn progress(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<ProgressInfo>, AppError> {
    motivation::progress(&state.db, &user).await.map(Json)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct RewardBody {
    #[schema(min_length = 1)]
    title: String,
    #[schema(minimum = 1, maximum = 1_000_000)]
    cost: i64,
}

async fn create_reward(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(body): ApiJson<RewardBody>,
) -> Result<(StatusCode, Json<RewardInfo>), AppError> {
    Ok((StatusCode::CREATED, Json(motivation::create_reward(&state.db, &user.id, &body.title, body.cost).await?)))
}

async fn claim_reward(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Path(id): Path<String>,
) -> Result<Json<ProgressInfo>, AppError> {
    motivation::claim_reward(&state.db, &user, &id).await.map(Json)
}

async fn get_settings(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
) -> Result<Json<TaskSettings>, AppError> {
    motivation::settings(&state.db, &user.id).await.map(Json)
}

/// Replaces the task settings (focus lengths, peak hours, motivation switches, blocks).
async fn put_settings(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    ApiJson(mut body): ApiJson<TaskSettings>,
) -> Result<Json<TaskSettings>, AppError> {
    let current = motivation::settings(&state.db, &user.id).await?;
    body.blocks_calendar_id = current.blocks_calendar_id.clone();
    motivation::save_settings(&state.db, &user.id, &body).await?;
    if body.blocks_busy != current.blocks_busy
        && let Some(id) = &current.blocks_calendar_id
    {
        let change = app::models::CalendarInput { counts_as_busy: Some(body.blocks_busy), ..Default::default() };
        app::ssr::calendars::update(&state.db, &user.id, id, &change).await?;
    }
    Ok(Json(body))
}
