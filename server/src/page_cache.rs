//! The page cache: pages that are the same for every anonymous visitor (the log-in page,
//! a host's links, a public booking page) are rendered once and served again for a few
//! seconds, the same bytes every time.
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
//!
//! A kept page's Content-Security-Policy allows its inline scripts by their SHA-256
//! hashes instead of the nonce it was rendered with (CSP's hash sources, the strict policy
//! for cached pages): a nonce must not be served twice, a hash may, and the page's bytes
//! no longer change per response. So each page is compressed once per encoding, at the
//! best ratio and off the request path ([`encoded`]), instead of once per response.

mod encoded;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;

use app::ssr::db::Announced;
use base64::Engine as _;
use encoded::Encoding;
use sha2::{Digest, Sha256};

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
    /// With the policy that allows the page's inline scripts by their hashes, and `Vary:
    /// accept-encoding`.
    headers: HeaderMap,
    kept: Arc<Kept>,
}

/// A kept page's body and its compressed copies, shared by every response made from it.
struct Kept {
    body: Bytes,
    /// By [`Encoding::index`]: each made once, on a blocking thread, when the page is first
    /// served again in that encoding; until it is there, responses go out as they are
    /// (tower-http compresses them at its quick setting).
    compressed: [OnceLock<Option<Bytes>>; 2],
    started: [AtomicBool; 2],
}

impl Kept {
    fn new(body: Bytes) -> Arc<Self> {
        Arc::new(Kept { body, compressed: Default::default(), started: Default::default() })
    }

    /// The body in `encoding` if it is ready. If it is not and `start`, starts making it,
    /// unless another page's copy is being made: one at a time, so that the best ratio
    /// (about 40 ms of CPU for a booking page) costs at most one blocking thread however
    /// many pages are asked for; a later request tries again.
    fn compressed(self: &Arc<Self>, encoding: Encoding, start: bool) -> Option<Bytes> {
        static BUSY: AtomicBool = AtomicBool::new(false);
        let i = encoding.index();
        if let Some(ready) = self.compressed[i].get() {
            return ready.clone();
        }
        if start && !self.started[i].load(Ordering::Acquire) && !BUSY.swap(true, Ordering::AcqRel) {
            if self.started[i].swap(true, Ordering::AcqRel) {
                BUSY.store(false, Ordering::Release);
            } else {
                let kept = self.clone();
                tokio::task::spawn_blocking(move || {
                    kept.compressed[i].get_or_init(|| encoded::compress(&kept.body, encoding));
                    BUSY.store(false, Ordering::Release);
                });
            }
        }
        None
    }
}

impl PageCache {
    /// A cache that hears the changes announced on `db`'s bus.
    pub fn new(db: &app::ssr::Db) -> Self {
        PageCache(Arc::new(Mutex::new(Inner { entries: HashMap::new(), bytes: 0, news: db.bus().subscribe() })))
    }

    /// The kept page for `key`, if fresh (its body shared, not copied).
    fn lookup(&self, key: &str, now: Instant) -> Option<Entry> {
        let mut inner = self.0.lock().ok()?;
        inner.hear_news();
        let fresh = inner.entries.get(key).filter(|e| now.duration_since(e.stored) < FRESH_FOR).cloned();
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
    /// The body, with room for its compressed copies (each well under half of it).
    fn size(&self) -> usize {
        2 * self.kept.body.len()
    }

    /// The kept page, in `encoding` when its copy is ready (else as it is). `again`: it is
    /// being served again (a page asked for once is never worth its best compression).
    fn response(&self, encoding: Option<Encoding>, again: bool) -> Response {
        let mut headers = self.headers.clone();
        let body = match encoding.and_then(|e| Some((e, self.kept.compressed(e, again)?))) {
            Some((encoding, body)) => {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding.header_value()));
                body
            }
            None => self.kept.body.clone(),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        *response.headers_mut() = headers;
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

/// The nonce of a page's policy (`'nonce-…'`), with the policy's text before and after
/// that source.
fn split_csp(csp: &str) -> Option<(&str, &str, &str)> {
    let at = csp.find("'nonce-")?;
    let start = at + "'nonce-".len();
    let end = start + csp[start..].find('\'')?;
    Some((&csp[..at], &csp[start..end], &csp[end + 1..]))
}

/// `body` without `needle` (not empty) wherever it occurs.
fn without(body: &[u8], needle: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = find(rest, needle) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The CSP hash source (`'sha256-…'`) of each inline script of `page` (a `<script>`
/// without `src`), in order, each once.
fn inline_script_hashes(page: &[u8]) -> Vec<String> {
    let mut hashes: Vec<String> = Vec::new();
    let mut rest = page;
    while let Some(at) = find(rest, b"<script") {
        let tag = &rest[at..];
        let Some(open_end) = find(tag, b">") else { break };
        let Some(close) = find(&tag[open_end + 1..], b"</script>") else { break };
        let content = &tag[open_end + 1..open_end + 1 + close];
        if find(&tag[..open_end], b" src=").is_none() {
            let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(content));
            let source = format!("'sha256-{hash}'");
            if !hashes.contains(&source) {
                hashes.push(source);
            }
        }
        rest = &tag[open_end + 1 + close + b"</script>".len()..];
    }
    hashes
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A rendered page made fit to serve to everyone: the nonce's attributes taken out of the
/// body, and the policy's nonce replaced by the hashes of the page's inline scripts. `None`
/// if the policy has no nonce to replace or the new one is not a valid header.
fn without_nonce(body: &[u8], csp: &str) -> Option<(Bytes, HeaderValue)> {
    let (before, nonce, after) = split_csp(csp)?;
    let body = without(body, format!(" nonce=\"{nonce}\"").as_bytes());
    let hashes = inline_script_hashes(&body).join(" ");
    let policy = format!("{before}{hashes}{after}").replace("  ", " ");
    Some((Bytes::from(body), HeaderValue::from_str(&policy).ok()?))
}

/// The middleware: serves a kept page, or renders and keeps what may be kept.
pub async fn serve(cache: PageCache, request: Request, next: Next) -> Response {
    let Some(key) = key_of(&request) else {
        let mut response = next.run(request).await;
        response.headers_mut().remove(app::ssr::page_cache::HEADER);
        return response;
    };
    let encoding =
        request.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).and_then(Encoding::chosen);
    if let Some(entry) = cache.lookup(&key, Instant::now()) {
        return entry.response(encoding, true);
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
    let policy = parts.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok());
    if bytes.len() <= MAX_PAGE
        && let Some((body, policy)) = policy.and_then(|csp| without_nonce(&bytes, csp))
    {
        let mut headers = parts.headers.clone();
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        // The same address answers differently by Accept-Encoding (for caches on the way).
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
        let entry = Entry { stored: Instant::now(), owner, status: parts.status, headers, kept: Kept::new(body) };
        cache.store(key, entry.clone());
        // This first visitor gets the kept page too.
        return entry.response(encoding, false);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_page_allows_its_inline_scripts_by_hash_and_carries_no_nonce() {
        let page = concat!(
            r#"<script src="/app.js" defer></script><script type="module" nonce="abc">import x from "/pkg/a.js";</script>"#,
            r#"<p>abc</p><script nonce="abc">__RESOLVED_RESOURCES=[];</script><link rel="modulepreload" nonce="abc">"#,
            r#"<script nonce="abc">__RESOLVED_RESOURCES=[];</script>"#
        );
        let csp = "default-src 'self'; script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'; style-src 'self'";
        let (body, policy) = without_nonce(page.as_bytes(), csp).expect("a nonce to replace");
        let body = String::from_utf8(body.to_vec()).expect("utf-8");
        assert_eq!(
            body,
            concat!(
                r#"<script src="/app.js" defer></script><script type="module">import x from "/pkg/a.js";</script>"#,
                r#"<p>abc</p><script>__RESOLVED_RESOURCES=[];</script><link rel="modulepreload">"#,
                r#"<script>__RESOLVED_RESOURCES=[];</script>"#
            )
        );
        let hash =
            |s: &str| format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s)));
        assert_eq!(
            policy.to_str().expect("text"),
            format!(
                "default-src 'self'; script-src 'self' {} {} 'wasm-unsafe-eval'; style-src 'self'",
                hash(r#"import x from "/pkg/a.js";"#),
                hash("__RESOLVED_RESOURCES=[];")
            )
        );
        // A policy without a nonce is not one this cache knows how to rewrite.
        assert!(without_nonce(page.as_bytes(), "default-src 'self'").is_none());
    }

    #[test]
    fn the_policy_gives_up_its_nonce() {
        let (before, nonce, after) =
            split_csp("default-src 'self'; script-src 'self' 'nonce-Q2x1' 'wasm-unsafe-eval'").expect("a nonce");
        assert_eq!(nonce, "Q2x1");
        assert_eq!(format!("{before}N{after}"), "default-src 'self'; script-src 'self' N 'wasm-unsafe-eval'");
        assert!(split_csp("default-src 'self'").is_none());
    }
}
