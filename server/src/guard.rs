//! Request safety beyond SameSite cookies: a browser's state-changing request must come
//! from our own pages, and signed-in sessions note when they were last seen.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use app::AppError;
use app::ssr::session_store::{SEEN_AT_KEY, USER_ID_KEY};

/// How often a session's "last seen" is written (and its inactivity expiry extended).
const SEEN_RESOLUTION_MS: i64 = 5 * 60 * 1000;

/// The origins our own pages are served from: the configured public URL's, plus whatever
/// the request's `Host` says (the address the browser used).
#[derive(Clone, Debug)]
pub struct AllowedOrigin {
    pub public: Option<String>,
}

impl AllowedOrigin {
    pub fn new(public_url: Option<&str>) -> Self {
        Self { public: public_url.and_then(origin_of_url) }
    }
}

/// `scheme://host[:port]` of a URL, lowercased.
fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// Whether a state-changing request may proceed, as Go's CrossOriginProtection decides:
/// safe methods and requests carrying their own credential (`Authorization`) always;
/// else `Sec-Fetch-Site` when the browser sends it (same-origin or none), else the
/// `Origin` header must be ours; a request with neither is not from a browser.
pub fn allowed(method: &Method, headers: &HeaderMap, allowed: &AllowedOrigin) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE) {
        return true;
    }
    if headers.contains_key(header::AUTHORIZATION) {
        return true;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str().unwrap_or(""), "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(origin) = origin.to_str().ok().map(|o| o.trim().to_ascii_lowercase()) else {
        return false;
    };
    if allowed.public.as_deref() == Some(origin.as_str()) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
    match (origin.split_once("://"), host) {
        (Some((_, origin_host)), Some(host)) => origin_host == host,
        _ => false,
    }
}

pub async fn same_origin(allowed_origin: AllowedOrigin, request: Request, next: Next) -> Response {
    if allowed(request.method(), request.headers(), &allowed_origin) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), path = %request.uri().path(), "refused a cross-site request");
    AppError::forbidden("This request came from another site and was refused. Reload the page and try again.")
        .into_response()
}

/// Server functions other than the public ones need a signed-in session: without one
/// they answer 401 before reading their arguments. Signed-in sessions also note every
/// few minutes when they were last used (the sessions list shows it); that write extends
/// the session's inactivity expiry too.
pub async fn session_guard(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let skip = path.starts_with("/pkg/") || path.starts_with("/health/") || path == "/metrics";
    let function = path.strip_prefix("/fn/").map(|name| name.trim_end_matches('/'));
    let session = if skip { None } else { request.extensions().get::<Session>().cloned() };
    let signed_in = match &session {
        Some(session) if session.id().is_some() => session.get::<String>(USER_ID_KEY).await.ok().flatten().is_some(),
        _ => false,
    };
    if let Some(name) = function
        && !signed_in
        && !app::server::PUBLIC_FNS.contains(&name)
    {
        // Shaped as a server function's own error, so a form posted without JavaScript is
        // sent back to its page with the message (see `ops::server_fn_errors`).
        let body = serde_json::to_string(&AppError::Unauthorized).unwrap_or_default();
        let mut response = (axum::http::StatusCode::UNAUTHORIZED, body).into_response();
        response.headers_mut().insert("serverfnerror", header::HeaderValue::from_static("unauthorized"));
        response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
        return response;
    }
    if signed_in && let Some(session) = session {
        let now = app::ssr::now_ms();
        let seen = session.get::<i64>(SEEN_AT_KEY).await.ok().flatten().unwrap_or(0);
        if now - seen >= SEEN_RESOLUTION_MS {
            let _ = session.insert(SEEN_AT_KEY, now).await;
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, header::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cross_site_posts_are_refused_and_our_own_pass() {
        let ours = AllowedOrigin::new(Some("https://cal.example.org/"));
        let post = Method::POST;
        assert!(allowed(&post, &headers(&[("sec-fetch-site", "same-origin")]), &ours));
        assert!(!allowed(&post, &headers(&[("sec-fetch-site", "cross-site")]), &ours));
        assert!(!allowed(&post, &headers(&[("sec-fetch-site", "same-site")]), &ours));
        assert!(allowed(&post, &headers(&[("origin", "https://cal.example.org")]), &ours));
        assert!(!allowed(&post, &headers(&[("origin", "https://evil.example")]), &ours));
        assert!(!allowed(&post, &headers(&[("origin", "null")]), &ours));
        assert!(allowed(&post, &headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]), &ours));
        assert!(!allowed(&post, &headers(&[("origin", "http://127.0.0.1:3001"), ("host", "127.0.0.1:3000")]), &ours));
        // Not from a browser: no Origin, no Sec-Fetch-Site.
        assert!(allowed(&post, &headers(&[]), &ours));
        // A bearer token is its own credential.
        assert!(allowed(&post, &headers(&[("origin", "https://evil.example"), ("authorization", "Bearer x")]), &ours));
        assert!(allowed(&Method::GET, &headers(&[("sec-fetch-site", "cross-site")]), &ours));
    }
}
