//! Subscriptions to external iCalendar feeds: a poller that fetches each due subscription
//! once a minute at most (conditional GET with the stored `ETag`/`Last-Modified`), mirrors
//! the feed into its read-only calendar, and records the outcome on the calendar.
//!
//! The client is hyper's (already in the tree for the server) with rustls for https
//! (Mozilla's roots, compiled in). Limits: 30 s for a whole fetch, at most 5 redirects,
//! http and https only, a body no larger than `CALENTO_MAX_IMPORT_BYTES`.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use app::AppError;
use app::ssr::calendars::CalendarRow;
use app::ssr::{Db, now_ms, subscriptions};

/// A whole fetch (connect, redirects, body) must finish within this.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_REDIRECTS: usize = 5;
/// How often the poller looks for due subscriptions.
pub const POLL_EVERY: Duration = Duration::from_secs(60);
/// Subscriptions fetched at the same time by the poller.
const PARALLEL: usize = 4;
/// Due subscriptions taken per round.
const PER_ROUND: i64 = 200;
const USER_AGENT: &str = concat!("Calento/", env!("CARGO_PKG_VERSION"), " (calendar subscription)");

/// What a fetch found.
#[derive(Debug)]
pub enum Fetched {
    /// 304: the feed has not changed since the stored validators.
    NotModified,
    /// A 2xx body and its validators.
    Body { bytes: Bytes, etag: Option<String>, last_modified: Option<String> },
}

/// Fetches and mirrors subscriptions. Cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Poller {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    max_bytes: usize,
    timeout: Duration,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller").field("max_bytes", &self.max_bytes).field("timeout", &self.timeout).finish()
    }
}

/// Calendars being polled in this process: a refresh waits for a poll in progress rather
/// than importing the same feed twice at once.
static IN_FLIGHT: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

struct InFlight(String);

impl InFlight {
    async fn acquire(id: &str) -> Self {
        loop {
            if IN_FLIGHT.lock().map(|mut set| set.insert(id.to_owned())).unwrap_or(true) {
                return Self(id.to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut set) = IN_FLIGHT.lock() {
            set.remove(&self.0);
        }
    }
}

/// An error and its causes on one line (hyper's own message alone says little).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    // hyper's outer "client error (Connect)" adds nothing to its cause.
    if error.source().is_some() && parts[0].starts_with("client error") {
        parts.clear();
    }
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// The outgoing connector every client of the server uses (feeds, the language model,
/// sign-in providers): http and https (rustls on ring, Mozilla's roots), HTTP/1.
pub fn connector(connect_timeout: Duration) -> HttpsConnector<HttpConnector> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    // rustls' process-wide provider: ring (the first install wins; later ones are no-ops),
    // so that another crate enabling aws-lc-rs cannot leave the choice ambiguous.
    let _ = rustls::crypto::ring::default_provider().install_default();
    hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().wrap_connector(http)
}

impl Poller {
    /// A poller that accepts feeds of at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        let https = connector(Duration::from_secs(10));
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(https);
        Self { client, max_bytes, timeout: FETCH_TIMEOUT }
    }

    /// The same poller with another time limit for a fetch (for tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// GETs `url` (following up to [`MAX_REDIRECTS`] redirects), conditionally when
    /// validators are given. The error is a short sentence for the calendar's `poll_error`.
    pub async fn fetch(&self, url: &str, etag: Option<&str>, last_modified: Option<&str>) -> Result<Fetched, String> {
        match tokio::time::timeout(self.timeout, self.fetch_within(url, etag, last_modified)).await {
            Ok(result) => result,
            Err(_) => {
                let limit = match self.timeout.subsec_millis() {
                    0 => format!("{} s", self.timeout.as_secs()),
                    _ => format!("{} ms", self.timeout.as_millis()),
                };
                Err(format!("The calendar server did not answer within {limit}."))
            }
        }
    }

    async fn fetch_within(
        &self,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, String> {
        let mut current =
            url::Url::parse(url).map_err(|_| "The subscription address is not a valid URL.".to_owned())?;
        for _ in 0..=MAX_REDIRECTS {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(format!("Only http and https addresses can be fetched, not {}:.", current.scheme()));
            }
            let uri: http::Uri =
                current.as_str().parse().map_err(|_| "The subscription address is not a valid URL.".to_owned())?;
            let mut request = Request::builder()
                .method(Method::GET)
                .uri(uri)
                .header(header::USER_AGENT, USER_AGENT)
                .header(header::ACCEPT, "text/calendar, */*;q=0.5");
            if let Some(value) = etag.and_then(|v| HeaderValue::from_str(v).ok()) {
                request = request.header(header::IF_NONE_MATCH, value);
            }
            if let Some(value) = last_modified.and_then(|v| HeaderValue::from_str(v).ok()) {
                request = request.header(header::IF_MODIFIED_SINCE, value);
            }
            let request = request.body(Empty::new()).map_err(|e| format!("Cannot build the request: {e}"))?;
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("Cannot reach the calendar server: {}", describe(&e)))?;
            let status = response.status();
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Fetched::NotModified);
            }
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| format!("The calendar server answered {status} without a Location."))?;
                current = current
                    .join(location)
                    .map_err(|_| format!("The server redirected to a bad address: {location}"))?;
                continue;
            }
            if !status.is_success() {
                return Err(format!("The calendar server answered {status}."));
            }
            let too_large = || format!("The calendar is larger than {} bytes.", self.max_bytes);
            let declared = response
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|length| length > self.max_bytes as u64) {
                return Err(too_large());
            }
            let text = |name: header::HeaderName| {
                response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).filter(|v| v.len() <= 512)
            };
            let (etag, last_modified) = (text(header::ETAG), text(header::LAST_MODIFIED));
            let bytes = Limited::new(response.into_body(), self.max_bytes)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        too_large()
                    } else {
                        format!("The download broke off: {}", describe(e.as_ref()))
                    }
                })?
                .to_bytes();
            return Ok(Fetched::Body { bytes, etag, last_modified });
        }
        Err(format!("The calendar server redirected more than {MAX_REDIRECTS} times."))
    }

    /// Polls one subscription now: fetch, then mirror the feed or record why not. Returns
    /// the calendar as it stands afterwards (a failed fetch is in its `poll_error`).
    pub async fn poll(&self, db: &Db, calendar_id: &str) -> Result<CalendarRow, AppError> {
        let _polling = InFlight::acquire(calendar_id).await;
        let calendar = subscriptions::find(db, calendar_id).await?;
        let Some(url) = calendar.source_url.clone() else {
            return Err(AppError::bad_request("This calendar is not a subscription."));
        };
        let fetched = self.fetch(&url, calendar.source_etag.as_deref(), calendar.source_last_modified.as_deref()).await;
        let now = now_ms();
        match fetched {
            Ok(Fetched::NotModified) => subscriptions::record_not_modified(db, &calendar.id, now).await?,
            Ok(Fetched::Body { bytes, etag, last_modified }) => {
                match subscriptions::mirror(db, &calendar, &bytes, etag.as_deref(), last_modified.as_deref(), now).await
                {
                    Ok(report) => {
                        tracing::debug!(calendar = %calendar.id, imported = report.imported, updated = report.updated,
                            skipped = report.skipped.len(), "subscription mirrored");
                    }
                    Err(AppError::Unexpected) => {
                        subscriptions::record_failure(db, &calendar.id, "The feed could not be stored.", now).await?;
                        return Err(AppError::Unexpected);
                    }
                    Err(error) => subscriptions::record_failure(db, &calendar.id, &error.to_string(), now).await?,
                }
            }
            Err(message) => {
                tracing::info!(calendar = %calendar.id, %message, "subscription poll failed");
                subscriptions::record_failure(db, &calendar.id, &message, now).await?;
            }
        }
        subscriptions::find(db, &calendar.id).await
    }

    /// Polls every subscription that is due (a few at a time); returns how many were polled.
    pub async fn poll_due(&self, db: &Db) -> Result<usize, AppError> {
        let due = subscriptions::due(db, now_ms(), PER_ROUND).await?;
        let count = due.len();
        let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
        let mut tasks = tokio::task::JoinSet::new();
        for calendar in due {
            let (poller, db, slots) = (self.clone(), db.clone(), slots.clone());
            tasks.spawn(async move {
                let _slot = slots.acquire().await;
                if let Err(error) = poller.poll(&db, &calendar.id).await {
                    tracing::warn!(calendar = %calendar.id, %error, "polling a subscription");
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        Ok(count)
    }
}

/// Polls due subscriptions every minute, for as long as the process runs.
pub fn spawn(db: Db, poller: Poller) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(error) = poller.poll_due(&db).await {
                tracing::warn!(%error, "polling subscriptions");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn other_schemes_and_bad_addresses_are_refused_before_any_request() {
        let poller = Poller::new(1024);
        let refused = poller.fetch("ftp://example.org/cal.ics", None, None).await.expect_err("ftp");
        assert!(refused.contains("http and https"), "{refused}");
        let refused = poller.fetch("file:///etc/passwd", None, None).await.expect_err("file");
        assert!(refused.contains("http and https"), "{refused}");
        assert!(poller.fetch("not a url", None, None).await.is_err());
    }
}
