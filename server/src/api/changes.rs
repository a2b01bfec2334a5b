//! The change feed (`GET /changes`): what changed in the account, in order, of the kinds the
//! credential's scopes read, and the same live as Server-Sent Events (`GET /changes/stream`).
//! See `app::ssr::changes`.
use std::collections::{HashMap, VecDeque};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use app::AppError;
use app::ssr::AppState;

use super::ApiCredential;
use super::{ApiUser, Guard, Routes};
use app::ssr::changes;

pub fn routes() -> Routes {
    Routes::new(Guard::Signed).get("/changes", changes).get("/changes/stream", stream)
}

#[derive(utoipa::ToSchema, Deserialize)]
struct ChangesQuery {
    since: Option<String>,
    limit: Option<String>,
}

/// The change feed: what changed after `since`, in order, of the kinds the credential may
/// read (see `app::ssr::changes`).
async fn changes(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Extension(credential): Extension<ApiCredential>,
    query: Result<Query<ChangesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<app::models::ChangePage>, AppError> {
    let Query(query) = query.map_err(|e| AppError::bad_request(e.body_text()))?;
    let limit = match query.limit.as_deref().map(str::trim) {
        None | Some("") => changes::DEFAULT_LIMIT,
        Some(text) => text.parse::<i64>().ok().filter(|n| (1..=changes::MAX_LIMIT).contains(n)).ok_or_else(|| {
            AppError::field(calento::FieldError::new(
                "limit",
                format!("limit is a whole number from 1 to {}.", changes::MAX_LIMIT),
            ))
        })?,
    };
    let kinds = changes::Kind::visible_with(credential.scopes);
    changes::read(&state.db, &user.id, query.since.as_deref(), limit, &kinds).await.map(Json)
}

/// How often an idle stream sends a comment, so proxies and load balancers keep it open.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long one stream lasts: then it ends, and the client reconnects with `Last-Event-ID`
/// (EventSource does by itself), so a revoked token or a closed session stops being served
/// within this time.
const LIFETIME: Duration = Duration::from_secs(300);
/// When EventSource reconnects after a stream ends.
const RETRY: Duration = Duration::from_secs(1);
/// Open streams one account may hold (tabs and devices).
const PER_ACCOUNT: usize = 16;

/// Open streams by account.
static OPEN: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(Default::default);

/// A place among an account's open streams, given back when the stream ends.
struct Slot(String);

impl Slot {
    fn take(user_id: &str) -> Option<Self> {
        let mut open = OPEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(user_id.to_owned()).or_insert(0);
        if *count >= PER_ACCOUNT {
            return None;
        }
        *count += 1;
        Some(Slot(user_id.to_owned()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.0) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.0);
            }
        }
    }
}

#[derive(utoipa::ToSchema, Deserialize)]
struct StreamQuery {
    since: Option<String>,
}

/// A stream being followed: where it is in the feed and what is still to be sent.
struct Follow {
    db: app::ssr::Db,
    user_id: String,
    kinds: Vec<changes::Kind>,
    cursor: String,
    news: tokio::sync::broadcast::Receiver<app::ssr::db::Announced>,
    queue: VecDeque<Event>,
    ends: Instant,
    /// Whether the feed must be read again before waiting (at the start, and after news).
    stale: bool,
    _slot: Slot,
}

/// `GET /changes/stream`: the change feed as Server-Sent Events, from the cursor of
/// `Last-Event-ID` (a reconnect) or `since`, else from now. Each change is an event
/// `change` whose `id:` is its cursor and whose data is the change as `/changes` gives it;
/// the first event, `ready`, carries the cursor the stream starts at. A cursor older than
/// the feed keeps is answered with `resync` (read everything again) and the stream goes on
/// from now. Comments every 15 s keep it open; it ends after 5 minutes and the client
/// reconnects where it was.
async fn stream(
    State(state): State<AppState>,
    Extension(ApiUser(user)): Extension<ApiUser>,
    Extension(credential): Extension<ApiCredential>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(query) = query.map_err(|e| AppError::bad_request(e.body_text()))?;
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let since = resume.or(query.since.as_deref().map(str::trim).filter(|v| !v.is_empty()));
    let kinds = changes::Kind::visible_with(credential.scopes);
    // Listen before reading, so a change committed in between is not missed.
    let news = state.db.bus().subscribe();
    let mut queue = VecDeque::new();
    let cursor = match since {
        Some(since) => match changes::read(&state.db, &user.id, Some(since), 1, &[]).await {
            Ok(_) => since.to_owned(),
            Err(AppError::CursorExpired { .. }) => {
                let now = changes::read(&state.db, &user.id, None, 1, &[]).await?.cursor;
                queue.push_back(resync(&now));
                now
            }
            Err(other) => return Err(other),
        },
        None => changes::read(&state.db, &user.id, None, 1, &[]).await?.cursor,
    };
    let Some(slot) = Slot::take(&user.id) else {
        return Err(AppError::RateLimited { retry_after_secs: 30 });
    };
    queue.push_front(Event::default().event("ready").id(cursor.clone()).retry(RETRY).data(cursor.clone()));
    let follow = Follow {
        db: state.db.clone(),
        user_id: user.id.clone(),
        kinds,
        cursor,
        news,
        queue,
        ends: Instant::now() + LIFETIME,
        stale: true,
        _slot: slot,
    };
    let events = futures_util::stream::unfold(follow, |mut follow| async move {
        let event = next_event(&mut follow).await?;
        Some((Ok::<_, std::convert::Infallible>(event), follow))
    });
    let mut response =
        Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")).into_response();
    // Proxies such as nginx would otherwise hold the events back in their buffers.
    response.headers_mut().insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

fn resync(cursor: &str) -> Event {
    Event::default().event("resync").id(cursor).data(cursor)
}

/// The stream's next event, waiting for news of the account when there is none; `None`
/// when the stream ends (its lifetime is over, or the feed cannot be read).
async fn next_event(follow: &mut Follow) -> Option<Event> {
    loop {
        if let Some(event) = follow.queue.pop_front() {
            return Some(event);
        }
        if Instant::now() >= follow.ends {
            return None;
        }
        if follow.stale {
            follow.stale = false;
            match changes::read(&follow.db, &follow.user_id, Some(&follow.cursor), changes::MAX_LIMIT, &follow.kinds)
                .await
            {
                Ok(page) => {
                    for change in page.changes {
                        let event = Event::default().event("change").id(change.cursor.clone());
                        match event.json_data(&change) {
                            Ok(event) => follow.queue.push_back(event),
                            Err(_) => return None,
                        }
                    }
                    follow.cursor = page.cursor;
                    follow.stale = page.more;
                }
                // Pruned while the stream was open (it was idle for the feed's whole
                // retention): start again from now.
                Err(AppError::CursorExpired { .. }) => {
                    let now = changes::read(&follow.db, &follow.user_id, None, 1, &[]).await.ok()?.cursor;
                    follow.queue.push_back(resync(&now));
                    follow.cursor = now;
                }
                Err(_) => return None,
            }
            continue;
        }
        tokio::select! {
            news = follow.news.recv() => match news {
                Ok(news) if news.user_id == follow.user_id => follow.stale = true,
                Ok(_) => {}
                // Fell behind the bus: the feed has everything, read it.
                Err(RecvError::Lagged(_)) => follow.stale = true,
                Err(RecvError::Closed) => return None,
            },
            () = tokio::time::sleep_until(follow.ends) => return None,
        }
    }
}
