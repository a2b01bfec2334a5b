//! The API's OpenAPI 3.1 description, generated from the code: served at
//! `/api/openapi.json`.
//!
//! Every route is added through [`super::Routes`], which asks its handler to describe
//! itself ([`Describe`], implemented for any function whose arguments are [`Arg`]s and
//! whose answer is an [`Answer`]): the JSON body and query a handler takes and the JSON it
//! answers give the operation's schemas (derived with `utoipa::ToSchema`, in the server
//! build only), the route's guard gives its security (the scope it needs) and its error
//! answers. A handler whose types cannot describe themselves does not compile, so no route
//! can be left out. What a type cannot say (a file download's media type, a raw body) is
//! in [`RAW_ANSWERS`] and [`RAW_BODIES`].

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use axum::Json;
use axum::extract::{ConnectInfo, Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{ApiJson, ApiQuery, ApiUser, ClientOrigin, Guard, OptionalJson, Route};

/// One operation as its handler's types describe it; the schemas it names go to
/// `components`.
#[derive(Debug, Default)]
pub struct Doc {
    parameters: Vec<Value>,
    body: Option<Value>,
    responses: BTreeMap<String, Value>,
    /// Error statuses the handler itself may answer (beyond its guard's).
    errors: BTreeSet<u16>,
    schemas: BTreeMap<String, Value>,
}

impl Doc {
    /// The schema of `T`, inline, with the schemas it refers to added to the components.
    fn schema<T: ToSchema>(&mut self) -> Value {
        let mut named = Vec::new();
        T::schemas(&mut named);
        for (name, schema) in named {
            self.schemas.entry(name).or_insert_with(|| serde_json::to_value(schema).unwrap_or_default());
        }
        serde_json::to_value(T::schema()).unwrap_or_default()
    }

    fn json_body<T: ToSchema>(&mut self, required: bool) {
        let schema = self.schema::<T>();
        self.body = Some(json!({ "required": required, "content": { "application/json": { "schema": schema } } }));
        // A body that is not JSON, or does not fit: 400 or 415; a value refused: 422.
        self.errors.extend([400, 413, 415, 422]);
    }

    fn query<T: ToSchema>(&mut self) {
        let schema = self.schema::<T>();
        let required: BTreeSet<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if let Some(properties) = schema["properties"].as_object() {
            for (name, property) in properties {
                self.parameters.push(json!({
                    "name": name,
                    "in": "query",
                    "required": required.contains(name.as_str()),
                    "schema": property,
                }));
            }
        }
        self.errors.extend([400, 422]);
    }

    fn answer<T: ToSchema>(&mut self, status: StatusCode, description: &str) {
        let schema = self.schema::<T>();
        self.responses.insert(
            status.as_u16().to_string(),
            json!({ "description": description, "content": { "application/json": { "schema": schema } } }),
        );
    }
}

/// A handler's argument: what it adds to the operation (a body, query parameters), if
/// anything.
pub trait Arg {
    fn describe(_doc: &mut Doc) {}
}

/// A handler's answer.
pub trait Answer {
    fn describe(doc: &mut Doc);
}

/// A handler that can describe its operation (any `async fn` of [`Arg`]s answering an
/// [`Answer`]); `M` is only there to tell the arities apart.
pub trait Describe<M> {
    fn describe(doc: &mut Doc);
}

macro_rules! describe_fn {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Describe<(R, $($arg,)*)> for F
        where
            F: FnOnce($($arg,)*) -> Fut,
            Fut: Future<Output = R>,
            R: Answer,
            $($arg: Arg,)*
        {
            fn describe(doc: &mut Doc) {
                $($arg::describe(doc);)*
                R::describe(doc);
            }
        }
    };
}

describe_fn!();
describe_fn!(A1);
describe_fn!(A1, A2);
describe_fn!(A1, A2, A3);
describe_fn!(A1, A2, A3, A4);
describe_fn!(A1, A2, A3, A4, A5);
describe_fn!(A1, A2, A3, A4, A5, A6);
describe_fn!(A1, A2, A3, A4, A5, A6, A7);
describe_fn!(A1, A2, A3, A4, A5, A6, A7, A8);

/// How a route's operation is described: its handler's [`Describe`], and its name.
#[derive(Clone, Copy)]
pub struct Describer {
    describe: fn(&mut Doc),
    /// The handler's path (`server::api::tasks::list_tasks`).
    name: &'static str,
}

impl Describer {
    pub fn of<H: Describe<M>, M>() -> Self {
        Self { describe: H::describe, name: std::any::type_name::<H>() }
    }
}

impl std::fmt::Debug for Describer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Routes are the same route whoever describes them.
impl PartialEq for Describer {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Describer {}

// Arguments that add nothing: the state, the user and credential, path parameters (the
// path's template names them), headers, where the request came from.
impl<T> Arg for State<T> {}
impl<T> Arg for Extension<T> {}
impl<T> Arg for Path<T> {}
impl<T> Arg for ConnectInfo<T> {}
impl Arg for HeaderMap {}
impl Arg for Request {}
impl Arg for ApiUser {}
impl Arg for ClientOrigin {}
impl Arg for tower_sessions::Session {}
impl Arg for axum::http::Uri {}
impl Arg for axum::extract::OriginalUri {}
// A raw body: its media type is in RAW_BODIES.
impl Arg for axum::body::Bytes {}
impl Arg for String {}
impl<E> Arg for Result<axum::extract::Multipart, E> {}
impl Arg for axum::extract::Multipart {}

impl<T: ToSchema> Arg for Query<T> {
    fn describe(doc: &mut Doc) {
        doc.query::<T>();
    }
}

impl<T: ToSchema> Arg for ApiQuery<T> {
    fn describe(doc: &mut Doc) {
        doc.query::<T>();
    }
}

impl<T: ToSchema, E> Arg for Result<Query<T>, E> {
    fn describe(doc: &mut Doc) {
        doc.query::<T>();
    }
}

impl<T: ToSchema> Arg for axum::Form<T> {
    fn describe(doc: &mut Doc) {
        let schema = doc.schema::<T>();
        doc.body = Some(json!({
            "required": true,
            "content": { "application/x-www-form-urlencoded": { "schema": schema } }
        }));
        doc.errors.extend([400, 415, 422]);
    }
}

impl<T: ToSchema> Arg for Json<T> {
    fn describe(doc: &mut Doc) {
        doc.json_body::<T>(true);
    }
}

impl<T: ToSchema> Arg for ApiJson<T> {
    fn describe(doc: &mut Doc) {
        doc.json_body::<T>(true);
    }
}

impl<T: ToSchema> Arg for OptionalJson<T> {
    fn describe(doc: &mut Doc) {
        doc.json_body::<T>(false);
    }
}

impl<T: ToSchema> Answer for Json<T> {
    fn describe(doc: &mut Doc) {
        doc.answer::<T>(StatusCode::OK, "OK");
    }
}

/// Made: `201 Created` with what was made (or `200` when nothing new was, such as a
/// capture's preview or an existing booking for the same idempotency key).
impl<T: ToSchema> Answer for (StatusCode, Json<T>) {
    fn describe(doc: &mut Doc) {
        doc.answer::<T>(StatusCode::CREATED, "Created");
        doc.answer::<T>(StatusCode::OK, "Nothing new was made: what is there");
    }
}

/// Done, nothing to say: `204 No Content`.
impl Answer for StatusCode {
    fn describe(doc: &mut Doc) {
        doc.responses.insert("204".to_owned(), json!({ "description": "Done" }));
    }
}

/// A hand-made answer: described in RAW_ANSWERS.
impl Answer for Response {
    fn describe(_doc: &mut Doc) {}
}

impl<T: Answer> Answer for Result<T, app::AppError> {
    fn describe(doc: &mut Doc) {
        T::describe(doc);
        // What any handler may meet: a request it refuses as it stands (`bad_request`:
        // deleting the default calendar, refreshing what is not a subscription), something
        // it looks for is not there (or not this account's), the database away.
        doc.errors.extend([400, 404, 503]);
    }
}

impl<T: Answer> Answer for Result<T, Response> {
    fn describe(doc: &mut Doc) {
        T::describe(doc);
        doc.errors.extend([400, 401, 422, 429, 503]);
    }
}

/// Answers a type cannot describe: `(method, path, media type, description)`.
pub const RAW_ANSWERS: &[(&str, &str, &str, &str)] = &[
    ("GET", "/calendars/{id}/export.ics", "text/calendar", "The calendar as an iCalendar file."),
    ("GET", "/public/bookings/{token}/invite.ics", "text/calendar", "The booking as an iCalendar invitation."),
    ("GET", "/tasks/export.json", "application/json", "Every task with its micro-steps, as a file."),
    ("GET", "/tasks/export.csv", "text/csv", "Every task as CSV (a step per row under its task)."),
    (
        "GET",
        "/account/export",
        "application/x-tar",
        "A tar archive: account.json (everything the account owns) and an .ics file per calendar.",
    ),
    (
        "GET",
        "/changes/stream",
        "text/event-stream",
        "The change feed as Server-Sent Events (`change` events whose id is the cursor to resume from).",
    ),
];

/// Bodies a type cannot describe: `(method, path, media type, description)`.
pub const RAW_BODIES: &[(&str, &str, &str, &str)] = &[
    ("POST", "/calendars/{id}/import", "text/calendar", "An iCalendar file to import into the calendar."),
    ("POST", "/tasks/import", "text/csv", "Tasks as CSV (the columns of the CSV export)."),
];

/// The error body every refusal has.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "What went wrong: a stable code, a message a person can act on, and for \
                        `invalid` the fields to change.",
        "required": ["code", "message"],
        "properties": {
            "code": { "type": "string", "description": "invalid, unauthorized, not_found, forbidden, rate_limited, \
                      bad_request, slot_taken, conflict, cursor_expired, unavailable, unexpected, malformed_json, \
                      unsupported_media_type, payload_too_large" },
            "message": { "type": "string" },
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": { "field": { "type": "string" }, "message": { "type": "string" } }
                }
            },
            "retry_after_secs": { "type": "integer", "minimum": 0 }
        }
    })
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "The request could not be read, or cannot be done as it stands (the message says why).",
        401 => "No valid credential (a bearer token or the session cookie).",
        403 => "The credential lacks the scope this needs, or the request came from another site.",
        404 => "Not found (or not this account's).",
        409 => "In conflict with the current state (a slot taken since it was offered, a schedule in use).",
        410 => "The cursor is older than the changes kept: read everything again.",
        413 => "The body is too large.",
        415 => "The body is not of a media type this takes.",
        422 => "A value was refused; `fields` says which and why.",
        429 => "Too many requests: try again after Retry-After seconds.",
        503 => "Busy or the database is briefly away: try again after Retry-After seconds.",
        _ => "An error.",
    }
}

/// The scopes a guard needs for a method, as the security requirement lists them.
fn scopes(guard: Guard, method: &Method) -> Option<Vec<String>> {
    let read = method == Method::GET || method == Method::HEAD;
    match guard {
        Guard::Public => None,
        Guard::Signed => Some(Vec::new()),
        Guard::Area(area) => Some(vec![format!("{}:{}", area.as_str(), if read { "read" } else { "write" })]),
        Guard::Account | Guard::Session | Guard::AppPassword => Some(vec!["account".to_owned()]),
    }
}

/// `list_tasks` → `List tasks`.
fn summary(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The description of every route in `routes` (paths inside `/api/v1`).
pub fn document(routes: &[Route]) -> Value {
    let mut paths: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    let mut schemas: BTreeMap<String, Value> = BTreeMap::new();
    schemas.insert("Error".to_owned(), error_schema());
    let mut ids = BTreeSet::new();
    for route in routes {
        let mut doc = Doc::default();
        (route.describe.describe)(&mut doc);
        schemas.append(&mut doc.schemas);
        let method = route.method.as_str();
        let segments: Vec<&str> = route.describe.name.rsplit("::").take(2).collect();
        let (name, area) = (segments.first().copied().unwrap_or("route"), segments.get(1).copied().unwrap_or("api"));
        let mut id = format!("{area}_{name}");
        while !ids.insert(id.clone()) {
            id.push('_');
        }
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        parameters.append(&mut doc.parameters);
        let mut responses = doc.responses;
        if let Some((_, _, media, description)) =
            RAW_ANSWERS.iter().find(|(m, p, _, _)| *m == method && *p == route.path)
        {
            let schema = match *media {
                "application/json" => json!({}),
                // Each event, as Server-Sent Events parse it.
                "text/event-stream" => json!({
                    "type": "object",
                    "properties": {
                        "event": { "type": "string" },
                        "data": { "type": "string" },
                        "id": { "type": "string" },
                        "retry": { "type": "integer" }
                    }
                }),
                _ => json!({ "type": "string" }),
            };
            responses.insert(
                "200".to_owned(),
                json!({ "description": description, "content": { *media: { "schema": schema } } }),
            );
        }
        let mut body = doc.body;
        if let Some((_, _, media, description)) =
            RAW_BODIES.iter().find(|(m, p, _, _)| *m == method && *p == route.path)
        {
            body = Some(json!({
                "required": true,
                "description": description,
                "content": { *media: { "schema": { "type": "string" } } }
            }));
            doc.errors.extend([400, 413, 415, 422]);
        }
        let mut errors = doc.errors;
        let security = scopes(route.guard, &route.method);
        if security.is_some() {
            errors.extend([401, 429]);
        }
        if matches!(route.guard, Guard::Area(_) | Guard::Account) {
            errors.insert(403);
        }
        if route.path.contains('{') {
            errors.insert(404);
        }
        if route.method != Method::GET {
            // In conflict with what is there (a slot taken, a schedule in use).
            errors.insert(409);
        }
        if route.path == "/changes" || route.path == "/changes/stream" {
            errors.insert(410);
        }
        for status in errors {
            responses.entry(status.to_string()).or_insert_with(|| {
                json!({
                    "description": error_description(status),
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                })
            });
        }
        let mut operation = json!({
            "operationId": id,
            "summary": summary(name),
            "tags": [area],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = body {
            operation["requestBody"] = body;
        }
        match security {
            None => operation["security"] = json!([]),
            Some(scopes) => operation["security"] = json!([{ "bearer": scopes }, { "session": scopes }]),
        }
        paths.entry(format!("/api/v1{}", route.path)).or_default().insert(method.to_ascii_lowercase(), operation);
    }
    link_made_to_their_own_paths(&mut paths);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Calento API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Calendars, events and occurrences, availability and booking links, bookings, tasks and \
                            focus, the change feed. JSON in and out. Authenticate with `Authorization: Bearer <token>` \
                            (a personal access token, or an app's access token from /api/v1/auth/token) or the \
                            browser's session cookie; each operation lists the scope it needs. Errors are \
                            `{code, message, fields?}`.",
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token (`cal_…`) or an app's access token. Scopes: \
                                    calendar:read, calendar:write, bookings:read, bookings:write, tasks:read, \
                                    tasks:write, account."
                },
                "session": { "type": "apiKey", "in": "cookie", "name": "calento_session" }
            }
        }
    })
}

/// Links (for stateful clients and testers): what a `POST` to `/things` makes (`201` with
/// its `id`) is what the operations on `/things/{id}` (and below) take.
fn link_made_to_their_own_paths(paths: &mut BTreeMap<String, serde_json::Map<String, Value>>) {
    let targets: Vec<(String, String, String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.iter().filter_map(move |(method, operation)| {
                let rest = path.rsplit_once("/{")?;
                let parameter = rest.1.split('}').next()?.to_owned();
                Some((rest.0.to_owned(), parameter, method.clone(), operation["operationId"].as_str()?.to_owned()))
            })
        })
        .collect();
    for (path, item) in paths.iter_mut() {
        let Some(made) = item.get_mut("post").and_then(|op| op["responses"].get_mut("201")) else { continue };
        let links: serde_json::Map<String, Value> = targets
            .iter()
            .filter(|(parent, parameter, _, _)| parent == path && !parameter.is_empty())
            .map(|(_, parameter, _, id)| {
                (id.clone(), json!({ "operationId": id, "parameters": { parameter.clone(): "$response.body#/id" } }))
            })
            .collect();
        if !links.is_empty() {
            made["links"] = Value::Object(links);
        }
    }
}

/// `GET /api/openapi.json`: the description, made once.
pub async fn serve() -> Response {
    use axum::response::IntoResponse;
    // Shared bytes: each answer takes a reference, not a copy of the document.
    static TEXT: std::sync::OnceLock<axum::body::Bytes> = std::sync::OnceLock::new();
    let text = TEXT.get_or_init(|| document(&super::route_table()).to_string().into());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], text.clone()).into_response()
}

/// One scope of a token (`all` means every area's, not `account`).
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum Scope {
    #[schema(rename = "all")]
    All,
    #[schema(rename = "account")]
    Account,
    #[schema(rename = "calendar:read")]
    CalendarRead,
    #[schema(rename = "calendar:write")]
    CalendarWrite,
    #[schema(rename = "bookings:read")]
    BookingsRead,
    #[schema(rename = "bookings:write")]
    BookingsWrite,
    #[schema(rename = "tasks:read")]
    TasksRead,
    #[schema(rename = "tasks:write")]
    TasksWrite,
}

/// Scopes as a request gives them: a list, or one string of them separated by spaces or
/// commas (`"calendar:read tasks:write"`).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum ScopeList {
    List(Vec<Scope>),
    Text(String),
}
