//! The page cache: pages that are the same for every anonymous visitor (the log-in page,
//! a host's links, a public booking page) are rendered once and served again for a few
//! seconds, each time with a fresh CSP nonce.
//!
//! A page opts in while it renders (`app::ssr::page_cache::allow`), naming whose data it
//! shows. An entry is dropped when that person's data changes (the change feed's
//! announcements, read before every lookup, so a booking made a moment ago is never
//! offered again), and in any case after [`FRESH_FOR`], because the page also depends on
//! the time (the first bookable slot, today's date). Only requests without cookies or
//! credentials are served from it or fill it: anything personal (a session, a refused
//! form's draft) renders as before. Responses that set a cookie are never kept.
//!
//! Served from here, a page costs no database work, so it is not counted against the
//! public request budget; every render (a miss) still is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;

use app::ssr::db::Announced;

/// How long a kept page is served.
pub const FRESH_FOR: Duration = Duration::from_secs(5);
/// The most pages kept, and the most bytes (bodies) they may hold together.
const MAX_ENTRIES: usize = 256;
const MAX_BYTES: usize = 8 << 20;
/// Larger pages are not kept.
const MAX_PAGE: usize = 512 << 10;
/// The longest key (address and language) considered; longer requests render.
const MAX_KEY: usize = 2048;

#[derive(Clone)]
pub struct PageCache(Arc<Mutex<Inner>>);

struct Inner {
    entries: HashMap<String, Entry>,
    bytes: usize,
    news: Receiver<Announced>,
}

#[derive(Clone)]
struct Entry {
    stored: Instant,
    /// Whose data the page shows (empty: nobody's).
    owner: String,
    status: StatusCode,
    headers: HeaderMap,
    /// The body cut at each occurrence of the nonce it was rendered with.
    pieces: Arc<[Bytes]>,
    /// The Content-Security-Policy, cut the same way.
    csp: Option<(String, String)>,
}

impl PageCache {
    /// A cache that hears the changes announced on `db`'s bus.
    pub fn new(db: &app::ssr::Db) -> Self {
        PageCache(Arc::new(Mutex::new(Inner { entries: HashMap::new(), bytes: 0, news: db.bus().subscribe() })))
    }

    /// The kept page for `key`, if fresh, as a response with a new nonce (built in place:
    /// the entry is not copied first).
    fn lookup(&self, key: &str, now: Instant, nonce: impl FnOnce() -> String) -> Option<Response> {
        let mut inner = self.0.lock().ok()?;
        inner.hear_news();
        let fresh =
            inner.entries.get(key).filter(|e| now.duration_since(e.stored) < FRESH_FOR).map(|e| e.response(&nonce()));
        if fresh.is_none() {
            inner.drop_key(key);
        }
        fresh
    }

    fn store(&self, key: String, entry: Entry) {
        let Ok(mut inner) = self.0.lock() else { return };
        inner.hear_news();
        inner.drop_key(&key);
        let size = entry.size();
        if inner.entries.len() >= MAX_ENTRIES || inner.bytes + size > MAX_BYTES {
            // Full: what is stale goes first, then the oldest until the page fits.
            let now = Instant::now();
            inner.drop_where(|e| now.duration_since(e.stored) >= FRESH_FOR);
            while inner.entries.len() >= MAX_ENTRIES || inner.bytes + size > MAX_BYTES {
                let Some(oldest) = inner.entries.values().map(|e| e.stored).min() else { break };
                inner.drop_where(|e| e.stored == oldest);
            }
        }
        inner.bytes += size;
        inner.entries.insert(key, entry);
    }
}

impl Inner {
    /// Drops the pages of everyone whose data changed since the last look.
    fn hear_news(&mut self) {
        loop {
            match self.news.try_recv() {
                Ok(news) => self.drop_where(|e| e.owner == news.user_id),
                // Missed some: whose is unknown, so nothing kept can be trusted.
                Err(TryRecvError::Lagged(_)) => self.drop_where(|_| true),
                Err(TryRecvError::Empty | TryRecvError::Closed) => return,
            }
        }
    }

    fn drop_key(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.bytes -= entry.size();
        }
    }

    /// Drops the pages `gone` picks, keeping the byte count.
    fn drop_where(&mut self, gone: impl Fn(&Entry) -> bool) {
        let mut freed = 0;
        self.entries.retain(|_, entry| {
            let keep = !gone(entry);
            if !keep {
                freed += entry.size();
            }
            keep
        });
        self.bytes -= freed;
    }
}

impl Entry {
    fn size(&self) -> usize {
        self.pieces.iter().map(Bytes::len).sum()
    }

    /// The kept page with `nonce` where the rendered one was.
    fn response(&self, nonce: &str) -> Response {
        let mut body = Vec::with_capacity(self.size() + self.pieces.len() * nonce.len());
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > 0 {
                body.extend_from_slice(nonce.as_bytes());
            }
            body.extend_from_slice(piece);
        }
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        if let Some((before, after)) = &self.csp
            && let Ok(value) = HeaderValue::from_str(&format!("{before}{nonce}{after}"))
        {
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
        }
        response
    }
}

/// The cache key of a request that may be served from the cache: its address and the
/// language it asks for (which picks the clock). `None`: it must render.
fn key_of(request: &Request) -> Option<String> {
    if request.method() != Method::GET {
        return None;
    }
    let headers = request.headers();
    if headers.contains_key(header::COOKIE) || headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    let path = request.uri().path();
    if path.starts_with("/fn/") || path.starts_with("/api/") || path.starts_with("/pkg/") {
        return None;
    }
    let language = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let query = request.uri().query().unwrap_or("");
    let key = format!("{path}?{query}\n{language}");
    (key.len() <= MAX_KEY).then_some(key)
}

/// The nonce of a page's policy (`'nonce-…'`), with the policy's text around it.
fn split_csp(csp: &str) -> Option<(String, String, String)> {
    let start = csp.find("'nonce-")? + "'nonce-".len();
    let end = start + csp[start..].find('\'')?;
    Some((csp[..start].to_owned(), csp[start..end].to_owned(), csp[end..].to_owned()))
}

/// `body` cut at each occurrence of `nonce`.
fn cut(body: &Bytes, nonce: &str) -> Vec<Bytes> {
    let needle = nonce.as_bytes();
    let mut pieces = Vec::new();
    let mut from = 0;
    let mut i = 0;
    while !needle.is_empty() && i + needle.len() <= body.len() {
        if &body[i..i + needle.len()] == needle {
            pieces.push(body.slice(from..i));
            i += needle.len();
            from = i;
        } else {
            i += 1;
        }
    }
    pieces.push(body.slice(from..));
    pieces
}

/// The middleware: serves a kept page, or renders and keeps what may be kept.
pub async fn serve(cache: PageCache, request: Request, next: Next) -> Response {
    let Some(key) = key_of(&request) else {
        let mut response = next.run(request).await;
        response.headers_mut().remove(app::ssr::page_cache::HEADER);
        return response;
    };
    if let Some(response) = cache.lookup(&key, Instant::now(), || leptos::nonce::Nonce::new().to_string()) {
        return response;
    }
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let owner = parts.headers.remove(app::ssr::page_cache::HEADER);
    let keep = owner.is_some()
        && parts.status == StatusCode::OK
        && !parts.headers.contains_key(header::SET_COOKIE)
        && !parts.headers.contains_key(header::CONTENT_ENCODING);
    let Some(owner) = owner.filter(|_| keep).and_then(|v| v.to_str().ok().map(str::to_owned)) else {
        return Response::from_parts(parts, body);
    };
    // Leptos has the whole page in memory already (pages render in `Async` mode).
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if bytes.len() <= MAX_PAGE {
        let mut headers = parts.headers.clone();
        headers.remove(header::CONTENT_LENGTH);
        let csp = headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).and_then(split_csp);
        let (pieces, csp) = match csp {
            Some((before, nonce, after)) => {
                headers.remove(header::CONTENT_SECURITY_POLICY);
                (cut(&bytes, &nonce), Some((before, after)))
            }
            None => (vec![bytes.clone()], None),
        };
        let entry = Entry { stored: Instant::now(), owner, status: parts.status, headers, pieces: pieces.into(), csp };
        cache.store(key, entry);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_cut_at_every_nonce_and_put_together_with_another() {
        let body = Bytes::from_static(b"<script nonce=\"abc\">1</script><link nonce=\"abc\">end");
        let pieces = cut(&body, "abc");
        assert_eq!(pieces.len(), 3);
        let entry = Entry {
            stored: Instant::now(),
            owner: String::new(),
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            pieces: pieces.into(),
            csp: Some(("script-src 'nonce-".to_owned(), "'".to_owned())),
        };
        let response = entry.response("XYZ");
        assert_eq!(response.headers()[header::CONTENT_SECURITY_POLICY], "script-src 'nonce-XYZ'");
        let body = futures_body(response);
        assert_eq!(body, "<script nonce=\"XYZ\">1</script><link nonce=\"XYZ\">end");
    }

    fn futures_body(response: Response) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let bytes = runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX)).expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[test]
    fn the_policy_gives_up_its_nonce() {
        let (before, nonce, after) =
            split_csp("default-src 'self'; script-src 'self' 'nonce-Q2x1' 'wasm-unsafe-eval'").expect("a nonce");
        assert_eq!(nonce, "Q2x1");
        assert_eq!(format!("{before}N{after}"), "default-src 'self'; script-src 'self' 'nonce-N' 'wasm-unsafe-eval'");
        assert!(split_csp("default-src 'self'").is_none());
    }
}
