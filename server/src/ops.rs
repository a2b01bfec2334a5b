//! Operations: health checks, Prometheus metrics, request ids and logging, security
//! headers, and the HTTP status of server-function errors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use app::AppError;
use app::ssr::AppState;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// One route's figures: requests by method and status, and the latency histogram.
#[derive(Default)]
struct RouteFigures {
    /// (method, status, count); a route sees few pairs, so a list searched in place.
    requests: Vec<(String, u16, u64)>,
    count: u64,
    sum_secs: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request counts by route and status, and latencies by route. One lock, and no
/// allocation on a request to a route already seen (every request passes here).
#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<BTreeMap<String, RouteFigures>>>);

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        let Ok(mut routes) = self.0.lock() else { return };
        let figures = match routes.get_mut(route) {
            Some(figures) => figures,
            None => routes.entry(route.to_owned()).or_default(),
        };
        match figures.requests.iter_mut().find(|(m, s, _)| m == method && *s == status) {
            Some((_, _, count)) => *count += 1,
            None => figures.requests.push((method.to_owned(), status, 1)),
        }
        figures.count += 1;
        figures.sum_secs += secs;
        for (bucket, bound) in figures.buckets.iter_mut().zip(BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, pool_in_use: u32, pool_idle: u32) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "# HELP calento_http_requests_total HTTP requests by method, route and status.");
        let _ = writeln!(out, "# TYPE calento_http_requests_total counter");
        let Ok(routes) = self.0.lock() else { return out };
        let mut requests: Vec<(&str, &str, u16, u64)> = routes
            .iter()
            .flat_map(|(route, figures)| {
                figures
                    .requests
                    .iter()
                    .map(move |(method, status, count)| (method.as_str(), route.as_str(), *status, *count))
            })
            .collect();
        requests.sort_unstable();
        for (method, route, status, count) in requests {
            let _ = writeln!(
                out,
                "calento_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        let _ = writeln!(out, "# HELP calento_http_request_duration_seconds Time to the response head, by route.");
        let _ = writeln!(out, "# TYPE calento_http_request_duration_seconds histogram");
        for (route, series) in routes.iter() {
            let route = escape(route);
            for (bound, count) in BUCKETS.iter().zip(series.buckets) {
                let _ = writeln!(
                    out,
                    "calento_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "calento_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                series.count
            );
            let _ = writeln!(out, "calento_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", series.sum_secs);
            let _ = writeln!(out, "calento_http_request_duration_seconds_count{{route=\"{route}\"}} {}", series.count);
        }
        drop(routes);
        let _ = writeln!(out, "# HELP calento_db_connections Database pool connections by state.");
        let _ = writeln!(out, "# TYPE calento_db_connections gauge");
        let _ = writeln!(out, "calento_db_connections{{state=\"in_use\"}} {pool_in_use}");
        let _ = writeln!(out, "calento_db_connections{{state=\"idle\"}} {pool_idle}");
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

pub async fn ready(State(state): State<AppState>) -> Response {
    // A database that does not answer (stopped, or every connection stuck) is as down as
    // one that refuses: the check answers within two seconds either way, and recovers by
    // itself when the database does (the pool reconnects).
    let answer = tokio::time::timeout(std::time::Duration::from_secs(2), state.db.ping())
        .await
        .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut));
    match answer {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "database": "unreachable" })),
            )
                .into_response()
        }
    }
}

pub async fn metrics(State(state): State<AppState>, axum::Extension(metrics): axum::Extension<Metrics>) -> Response {
    let (in_use, idle) = state.db.pool_usage();
    let mut text = metrics.render(in_use, idle);
    text.push_str(&crate::backup::metrics(&state.db).await);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// A request id (the caller's `X-Request-Id` if it is sane, else a new one) on the log
/// span and the response; one log line per request; the request counted in the metrics.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(app::ssr::new_id);
    let method = request.method().clone();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let unmatched = route_label(request.uri().path());
    let metrics = request.extensions().get::<Metrics>().cloned();
    let span = tracing::info_span!("request", id = %request_id, %method, path = %loggable_path(request.uri().path()));
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let secs = started.elapsed().as_secs_f64();
    span.in_scope(|| tracing::info!(status, ms = secs * 1000.0, "served"));
    if let Some(metrics) = metrics {
        metrics.record(method.as_str(), matched.as_ref().map_or(unmatched, MatchedPath::as_str), status, secs);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The path as logged: capability secrets in paths (private feeds, invitees' booking
/// links) are replaced by `…`. Queries (reset and confirmation links, provider callbacks)
/// are never logged.
pub fn loggable_path(path: &str) -> String {
    for prefix in ["/feeds/", "/booking/", "/api/v1/public/bookings/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            let extension = if tail.is_empty() { rest.rfind('.').map_or("", |i| &rest[i..]) } else { "" };
            return format!("{prefix}…{extension}{tail}");
        }
    }
    path.to_owned()
}

/// Routes without a matched pattern (static files, fallbacks) are grouped so that
/// arbitrary paths cannot grow the metrics without bound.
fn route_label(path: &str) -> &'static str {
    if path.starts_with("/pkg/") { "/pkg/*" } else { "other" }
}

/// The policy for pages: scripts only from us, the page's own nonce and WASM compilation.
/// The pages' Content-Security-Policy. Scripts need this response's nonce; stylesheets come
/// from this origin only. Inline `style` attributes are allowed (`style-src-attr`): the
/// calendar grids place events with them. They cannot load anything (`img-src`, `font-src`
/// and `connect-src` stay on this origin) and have no selectors to read the page with.
pub fn page_csp(nonce: &str, dev_reload_port: Option<u32>) -> String {
    let connect = match dev_reload_port {
        Some(port) => format!("'self' ws://127.0.0.1:{port} ws://localhost:{port}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self'; connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The nonce a page was rendered with: the page's render records it (the server's page
/// context) and `page_nonce` puts it in the response's Content-Security-Policy. Through
/// Leptos' `ResponseOptions` the header was lost on some renders of lazily loaded routes
/// (their scripts were then blocked and the page never hydrated); a slot in the request
/// does not depend on when Leptos copies those options into the response.
#[derive(Clone, Default)]
pub struct PageNonce(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl PageNonce {
    pub fn record(&self, nonce: &str) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(nonce.to_owned());
    }

    fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

/// Gives every request a `PageNonce` slot; a page's response gets the policy with its nonce.
pub async fn page_nonce(dev_reload_port: Option<u32>, mut request: Request, next: Next) -> Response {
    let slot = PageNonce::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(nonce) = slot.take()
        && let Ok(value) = HeaderValue::from_str(&page_csp(&nonce, dev_reload_port))
    {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Security headers on every response; static assets get cache headers by whether their
/// names carry a content hash.
pub async fn harden(hashed_assets: bool, request: Request, next: Next) -> Response {
    let is_pkg = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let success = response.status().is_success();
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_CSP));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        let dynamic = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_none_or(|t| {
            t.starts_with("text/html") || t.starts_with("application/json") || t.starts_with("text/plain")
        });
        let cache = match (is_pkg, hashed_assets) {
            (true, true) if success => "public, max-age=31536000, immutable",
            (true, _) => "no-cache",
            // Pages and API answers are personal; other public files may be kept an hour.
            (false, _) if dynamic || !success => "no-store",
            (false, _) => "public, max-age=3600",
        };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    response
}

/// Server functions answer errors with the status their `AppError` carries (leptos would
/// send 500), and a form posted without JavaScript is sent back to its page with the
/// error in the `err` query parameter, so the page can show it, and with what the person
/// typed in a short-lived cookie, so the page can show that again too (`FormDraft`).
pub async fn server_fn_errors(secure: bool, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/fn/") {
        return with_form_draft(secure, request, next).await;
    }
    let plain_form =
        request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    let urlencoded = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    // The body is already bounded by `limit_body`.
    let (request, typed) = if plain_form && urlencoded {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        let draft = app::components::FormDraft::keepable(url::form_urlencoded::parse(&bytes).into_owned());
        (Request::from_parts(parts, Body::from(bytes)), draft)
    } else {
        (request, app::components::FormDraft::default())
    };
    let referer_path = request
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<axum::http::Uri>().ok())
        .map(|uri| {
            // Keep the page's own query (a chosen slot, a date), less an earlier error.
            let kept: Vec<&str> =
                uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty() && !p.starts_with("err=")).collect();
            if kept.is_empty() { uri.path().to_owned() } else { format!("{}?{}", uri.path(), kept.join("&")) }
        });
    let response = next.run(request).await;
    if !response.headers().contains_key("serverfnerror") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let error: AppError = serde_json::from_slice(&bytes).unwrap_or(AppError::Unexpected);
    if plain_form {
        let path = referer_path.unwrap_or_else(|| "/".to_owned());
        let json = serde_json::to_string(&error).unwrap_or_default();
        let separator = if path.contains('?') { '&' } else { '?' };
        let location = format!("{path}{separator}err={}", app::components::percent_encode(&json));
        let mut redirect = Response::new(Body::empty());
        *redirect.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(value) = HeaderValue::from_str(&location) {
            redirect.headers_mut().insert(header::LOCATION, value);
        }
        // Keep cookies the server function set (a rotated session, for example).
        for cookie in parts.headers.get_all(header::SET_COOKIE) {
            redirect.headers_mut().append(header::SET_COOKIE, cookie.clone());
        }
        if !typed.is_empty() {
            let value = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(typed.pairs()).finish();
            let cookie = form_draft_cookie(&value, 60, secure);
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                redirect.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        return redirect;
    }
    parts.status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let AppError::RateLimited { retry_after_secs } = &error
        && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        parts.headers.insert(header::RETRY_AFTER, value);
    }
    if error == AppError::Unavailable {
        parts.headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn form_draft_cookie(value: &str, max_age: u32, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}", app::components::FORM_DRAFT_COOKIE)
}

/// Hands a page the form a person just sent (see `server_fn_errors`) and forgets it: it is
/// shown once.
async fn with_form_draft(secure: bool, mut request: Request, next: Next) -> Response {
    let prefix = format!("{}=", app::components::FORM_DRAFT_COOKIE);
    let sent = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&prefix).map(str::to_owned));
    let Some(sent) = sent else { return next.run(request).await };
    if request.method() == axum::http::Method::GET {
        let draft = app::components::FormDraft::keepable(url::form_urlencoded::parse(sent.as_bytes()).into_owned());
        request.extensions_mut().insert(draft);
    }
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&form_draft_cookie("", 0, secure)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// How much is served at once, and for how long, per class of request (see [`shed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadLimits {
    /// Requests in flight: pages, API, public booking, imports.
    pub in_flight: [u64; 4],
    /// Seconds one request may take, same order.
    pub timeout_secs: [u64; 4],
}

/// The classes [`LoadLimits`] counts, in its order.
pub const LOAD_CLASSES: [&str; 4] = ["pages", "api", "public", "imports"];

/// Load shedding: a slot count and a deadline per class of request.
#[derive(Clone)]
pub struct Shed {
    slots: Arc<[Arc<tokio::sync::Semaphore>; 4]>,
    timeouts: [std::time::Duration; 4],
    /// The first path segments of the signed-in app's pages (`calendar`, `login`…): a
    /// one- or two-segment path with another first segment is a public booking page.
    app_segments: Arc<std::collections::HashSet<String>>,
}

impl Shed {
    pub fn new(limits: LoadLimits, app_segments: std::collections::HashSet<String>) -> Self {
        let slot = |i: usize| Arc::new(tokio::sync::Semaphore::new(usize::try_from(limits.in_flight[i]).unwrap_or(1)));
        Self {
            slots: Arc::new([slot(0), slot(1), slot(2), slot(3)]),
            timeouts: limits.timeout_secs.map(std::time::Duration::from_secs),
            app_segments: Arc::new(app_segments),
        }
    }

    /// The class of a request path (index into [`LOAD_CLASSES`]); `None` for what is never
    /// shed: health checks and metrics (they must answer under load), static files, and
    /// live-update streams (long-lived, capped per account on their own).
    pub fn class(&self, path: &str) -> Option<usize> {
        const EXEMPT: [&str; 10] = [
            "/health/",
            "/metrics",
            "/pkg/",
            "/icons/",
            "/favicon.svg",
            "/manifest.webmanifest",
            "/sw.js",
            "/app.js",
            "/notify.js",
            "/api/v1/changes/stream",
        ];
        if EXEMPT.iter().any(|p| path.starts_with(p)) {
            return None;
        }
        if is_import(path) {
            return Some(3);
        }
        if path.starts_with("/api/v1/public/") || path.starts_with("/booking/") {
            return Some(2);
        }
        if ["/api/", "/fn/", "/dav", "/.well-known/"].iter().any(|p| path.starts_with(p)) {
            return Some(1);
        }
        // One or two segments, the first not one of the app's: `/{user}` or `/{user}/{slug}`.
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let first = segments.next();
        let short = segments.nth(1).is_none();
        match first {
            Some(first) if short && !self.app_segments.contains(first) => Some(2),
            _ => Some(0),
        }
    }
}

/// Whether a path takes an iCalendar or task import (its own body limit and load class).
fn is_import(path: &str) -> bool {
    (path.starts_with("/api/v1/calendars/") && path.ends_with("/import")) || path == "/api/v1/tasks/import"
}

/// Serves a request only when its class has a free slot, and only for as long as its
/// class allows: past either, `503 Service Unavailable` with `Retry-After` at once, never
/// a queue that grows without bound. A request cut off by its deadline is dropped where
/// it stands, and a write it had open rolls back.
pub async fn shed(shed: Shed, request: Request, next: Next) -> Response {
    let Some(class) = shed.class(request.uri().path()) else { return next.run(request).await };
    let json = (class != 0 && class != 2) || request.uri().path().starts_with("/api/");
    let Ok(slot) = shed.slots[class].clone().try_acquire_owned() else {
        tracing::warn!(class = LOAD_CLASSES[class], "shed: every slot is busy");
        return overloaded(json, 1, "The server is busy right now. Please try again in a moment.");
    };
    let answer = tokio::time::timeout(shed.timeouts[class], next.run(request)).await;
    drop(slot);
    match answer {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(class = LOAD_CLASSES[class], "shed: the request ran out of time");
            overloaded(json, 5, "The server took too long to answer. Please try again.")
        }
    }
}

fn overloaded(json: bool, retry_after_secs: u32, message: &str) -> Response {
    let mut response = if json {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "code": "overloaded", "message": message })))
            .into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.to_owned())
            .into_response()
    };
    response.headers_mut().insert(header::RETRY_AFTER, http::HeaderValue::from(retry_after_secs));
    response.headers_mut().insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}

/// Request body limits: one for everything, a larger one for iCalendar imports.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    pub default: usize,
    pub import: usize,
}

/// The largest refused body still read to its end before the 413 (see `limit_body`).
const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;

/// Refuses bodies over the route's limit with 413, before or while they are read.
pub async fn limit_body(limits: BodyLimits, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let max = if is_import(path) { limits.import } else { limits.default };
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared.filter(|length| *length > max as u64) {
        // Read (and drop) a moderately oversized body before answering: closing the socket
        // with unread data makes the client's TCP stack reset it, and the client loses the
        // 413 it was about to read.
        if length <= DRAIN_LIMIT {
            let mut body = request.into_body();
            let drain = async { while let Some(Ok(_)) = http_body_util::BodyExt::frame(&mut body).await {} };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain).await;
        }
        let mut response = too_large(max);
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        return response;
    }
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, max)));
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response.headers().get(header::CONTENT_TYPE).is_none_or(|t| t != "application/json")
    {
        return too_large(max);
    }
    response
}

fn too_large(max: usize) -> Response {
    let message = format!("The request body is larger than {max} bytes.");
    (StatusCode::PAYLOAD_TOO_LARGE, Json(serde_json::json!({ "code": "payload_too_large", "message": message })))
        .into_response()
}

#[cfg(test)]
mod log_tests {
    use super::loggable_path;

    #[test]
    fn secrets_in_paths_are_not_logged() {
        assert_eq!(loggable_path("/feeds/abc123secret.ics"), "/feeds/….ics");
        assert_eq!(loggable_path("/booking/tok3n"), "/booking/…");
        assert_eq!(loggable_path("/api/v1/public/bookings/tok3n/cancel"), "/api/v1/public/bookings/…/cancel");
        assert_eq!(loggable_path("/calendar"), "/calendar");
    }
}

#[cfg(test)]
mod shed_tests {
    use super::{LOAD_CLASSES, LoadLimits, Shed};

    #[test]
    fn requests_fall_into_their_class_and_health_and_files_into_none() {
        let limits = LoadLimits { in_flight: [1, 1, 1, 1], timeout_secs: [1, 1, 1, 1] };
        let shed = Shed::new(limits, ["calendar", "login", "settings", "tasks"].map(str::to_owned).into());
        let class = |path: &str| shed.class(path).map(|c| LOAD_CLASSES[c]);
        assert_eq!(class("/calendar"), Some("pages"));
        assert_eq!(class("/settings/connections"), Some("pages"));
        assert_eq!(class("/"), Some("pages"));
        assert_eq!(class("/api/v1/events"), Some("api"));
        assert_eq!(class("/fn/load_connections"), Some("api"));
        assert_eq!(class("/dav/calendars/ada/"), Some("api"));
        assert_eq!(class("/api/v1/public/ada/intro/slots"), Some("public"));
        assert_eq!(class("/ada/intro"), Some("public"));
        assert_eq!(class("/ada"), Some("public"));
        assert_eq!(class("/booking/abc123"), Some("public"));
        assert_eq!(class("/api/v1/calendars/c1/import"), Some("imports"));
        assert_eq!(class("/api/v1/tasks/import"), Some("imports"));
        for never in ["/health/ready", "/health/live", "/metrics", "/pkg/calento.wasm", "/api/v1/changes/stream"] {
            assert_eq!(class(never), None, "{never}");
        }
    }
}
