//! Subscriptions to external iCalendar feeds: a poller that fetches each due subscription
//! once a minute at most (conditional GET with the stored `ETag`/`Last-Modified`), mirrors
//! the feed into its read-only calendar, and records the outcome on the calendar.
//!
//! Fetches go through the server's guarded client ([`crate::outbound`]): public addresses
//! (and the operator's allowlist) only, checked on every redirect. Limits: 30 s for a whole
//! fetch, at most 5 redirects, http and https only, a body no larger than
//! `CALENTO_MAX_IMPORT_BYTES`.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use http::{HeaderValue, Method, Request, StatusCode, header};
use hyper::body::Bytes;

use app::AppError;
use app::ssr::calendars::CalendarRow;
use app::ssr::leases::Held;
use app::ssr::{Db, now_ms, subscriptions};

use crate::outbound::{self, Limits, Outbound, OutboundError};

/// A whole fetch (connect, redirects, body) must finish within this.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_REDIRECTS: usize = outbound::MAX_REDIRECTS;
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

/// Fetches and mirrors subscriptions. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Poller {
    client: Outbound,
    limits: Limits,
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

impl Poller {
    /// A poller that fetches through `client` feeds of at most `max_bytes`.
    pub fn new(client: Outbound, max_bytes: usize) -> Self {
        let limits = Limits {
            connect_timeout: Duration::from_secs(10),
            timeout: FETCH_TIMEOUT,
            max_bytes,
            redirects: MAX_REDIRECTS,
        };
        Self { client, limits }
    }

    /// The same poller with another time limit for a fetch (for tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// GETs `url` (following up to [`MAX_REDIRECTS`] redirects), conditionally when
    /// validators are given. The error is a short sentence for the calendar's `poll_error`.
    pub async fn fetch(&self, url: &str, etag: Option<&str>, last_modified: Option<&str>) -> Result<Fetched, String> {
        // Scheme and spelling first: `http::Uri` would call `file:///etc/passwd` merely invalid.
        let url = outbound::target(url).map_err(|e| sentence(&e))?;
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(url.as_str())
            .header(header::USER_AGENT, USER_AGENT)
            .header(header::ACCEPT, "text/calendar, */*;q=0.5");
        if let Some(value) = etag.and_then(|v| HeaderValue::from_str(v).ok()) {
            request = request.header(header::IF_NONE_MATCH, value);
        }
        if let Some(value) = last_modified.and_then(|v| HeaderValue::from_str(v).ok()) {
            request = request.header(header::IF_MODIFIED_SINCE, value);
        }
        // A URL `http::Uri` cannot hold is no URL to fetch either.
        let request =
            request.body(Bytes::new()).map_err(|_| "The subscription address is not a valid URL.".to_owned())?;
        let response = self.client.send_with(request, self.limits).await.map_err(|e| sentence(&e))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(format!("The calendar server answered {status}."));
        }
        let text = |name: header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).filter(|v| v.len() <= 512)
        };
        let (etag, last_modified) = (text(header::ETAG), text(header::LAST_MODIFIED));
        Ok(Fetched::Body { bytes: response.into_body(), etag, last_modified })
    }

    /// Polls one subscription now: fetch, then mirror the feed or record why not. Returns
    /// the calendar as it stands afterwards (a failed fetch is in its `poll_error`).
    pub async fn poll(&self, db: &Db, calendar_id: &str) -> Result<CalendarRow, AppError> {
        // Another server process fetching it right now: its result is the answer.
        let held = hold(db, calendar_id).await?;
        let calendar = subscriptions::find(db, calendar_id).await?;
        if held.is_none() {
            return Ok(calendar);
        }
        self.poll_held(db, calendar).await
    }

    /// Polls one subscription if it is still due once this process holds it: another
    /// process may have polled it since this one listed it as due.
    pub async fn poll_if_due(&self, db: &Db, calendar_id: &str) -> Result<(), AppError> {
        let Some(_held) = hold(db, calendar_id).await? else { return Ok(()) };
        let calendar = subscriptions::find(db, calendar_id).await?;
        let every = calendar.poll_minutes.unwrap_or(subscriptions::DEFAULT_POLL_MINUTES) * 60_000;
        if calendar.polled_at.is_some_and(|at| at > now_ms() - every) {
            return Ok(());
        }
        self.poll_held(db, calendar).await.map(|_| ())
    }

    /// Fetches and mirrors a subscription this process holds.
    async fn poll_held(&self, db: &Db, calendar: CalendarRow) -> Result<CalendarRow, AppError> {
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
                if let Err(error) = poller.poll_if_due(&db, &calendar.id).await {
                    tracing::warn!(calendar = %calendar.id, %error, "polling a subscription");
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        Ok(count)
    }
}

/// Holds a subscription for one fetch: first in this process (waiting for a fetch of it
/// in progress here), then across processes (its lease; `None` when another process holds
/// it). Both are let go when the result is dropped.
async fn hold(db: &Db, calendar_id: &str) -> Result<Option<(InFlight, Held)>, AppError> {
    let polling = InFlight::acquire(calendar_id).await;
    let lease = format!("subscription:{calendar_id}");
    Ok(Held::take(db, &lease, FETCH_TIMEOUT + Duration::from_secs(300)).await?.map(|held| (polling, held)))
}

/// A failed fetch as the sentence stored in the calendar's `poll_error`.
fn sentence(error: &OutboundError) -> String {
    match error {
        OutboundError::Refused(_) => format!("The address is refused: {error}."),
        OutboundError::BadUrl => "The subscription address is not a valid URL.".to_owned(),
        OutboundError::Scheme(scheme) => format!("Only http and https addresses can be fetched, not {scheme}:."),
        OutboundError::Timeout(limit) => {
            format!("The calendar server did not answer within {}.", outbound::describe_duration(*limit))
        }
        OutboundError::TooLarge(max) => format!("The calendar is larger than {max} bytes."),
        OutboundError::Network(cause) => format!("Cannot reach the calendar server: {cause}"),
        other => format!("The calendar server {other}."),
    }
}

/// Polls due subscriptions every minute, for as long as the process runs, and also soon
/// after a write (heard on the change feed's announcements), so a calendar subscribed a
/// moment ago is fetched at once rather than at the next minute. A burst of writes (an
/// import) is one look for due subscriptions; one that is not due costs that one query.
pub fn spawn(db: Db, poller: Poller) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut news = Some(db.bus().subscribe());
        loop {
            match news.as_mut() {
                Some(receiver) => {
                    tokio::select! {
                        _ = tick.tick() => {}
                        heard = receiver.recv() => {
                            if matches!(heard, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                                news = None;
                                continue;
                            }
                            tokio::time::sleep(SETTLE).await;
                            while !matches!(
                                receiver.try_recv(),
                                Err(tokio::sync::broadcast::error::TryRecvError::Empty
                                    | tokio::sync::broadcast::error::TryRecvError::Closed)
                            ) {}
                        }
                    }
                }
                None => {
                    tick.tick().await;
                }
            }
            if let Err(error) = poller.poll_due(&db).await {
                tracing::warn!(%error, "polling subscriptions");
            }
        }
    });
}

/// How long the poller lets a burst of writes settle before it looks for due subscriptions.
const SETTLE: Duration = Duration::from_millis(300);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn other_schemes_and_bad_addresses_are_refused_before_any_request() {
        let poller = Poller::new(Outbound::new(outbound::Allowlist::default()), 1024);
        let refused = poller.fetch("ftp://example.org/cal.ics", None, None).await.expect_err("ftp");
        assert!(refused.contains("http and https"), "{refused}");
        let refused = poller.fetch("file:///etc/passwd", None, None).await.expect_err("file");
        assert!(refused.contains("http and https"), "{refused}");
        assert!(poller.fetch("not a url", None, None).await.is_err());
    }
}
