//! The sync jobs: pulling a Google calendar into Calento, pushing Calento's changes out,
//! and the minute scan that queues polls.
//!
//! **Pull** (`google_sync`): a full listing (`singleEvents=false`: masters with their
//! recurrence and exceptions with `recurringEventId`) paged to its end, then `syncToken`
//! on every later poll. Items are grouped by series (`iCalUID`); each series is applied in
//! one write with its items, so a crash never leaves an item recorded but not applied (the
//! sync token is stored only after all of them). An item whose etag is the one stored is
//! not applied again: that is also the echo of Calento's own write. A 410 forgets the
//! token and lists again in full; series are matched by UID, so nothing is duplicated.
//!
//! **Push** (`google_push`, queued by `connections::push_on_changes`): each series of a
//! two-way calendar (and each booking's event, for the calendar chosen for bookings) whose
//! fields differ from what was last agreed is inserted (with an id derived from its UID,
//! so a retried insert cannot make a second event) or patched with `If-Match`; a 412
//! re-reads the event and merges (`calento::sync`); series gone from Calento are deleted
//! with `If-Match`.
//!
//! **Rate limits**: 429 and 403 `rateLimitExceeded` put the job off by `Retry-After` (or a
//! minute) plus jitter; the sync page shows why.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use calento::sync::{Context, Fields, Side, merge};
use chrono_tz::Tz;
use http::Method;
use serde_json::{Value, json};

use app::ssr::calendars::CalendarRow;
use app::ssr::changes::{self, Write};
use app::ssr::connections::{self, Counts, ItemRow, RemoteCalendarRow};
use app::ssr::events::{self, EventRow};
use app::ssr::{Db, jobs, leases, new_id, now_ms};

use super::convert::{self, FIELDS};
use super::{ApiError, Google};

/// How often the scan looks for calendars due a poll.
pub const SCAN_EVERY_MS: i64 = 60_000;
/// Items per page of a listing.
const PAGE_SIZE: u32 = 250;

/// The services sync can talk to: Google when the instance has a Google client; Notion
/// always (a pasted integration token needs no client of ours).
#[derive(Clone, Debug)]
pub struct Services {
    pub google: Option<Google>,
    pub notion: crate::notion::Notion,
}

pub fn register(handlers: jobs::Handlers, services: Services) -> jobs::Handlers {
    let (sync_services, push_services) = (services.clone(), services);
    handlers
        .add(connections::SCAN_JOB, move |db, _| async move {
            let result = scan(&db).await;
            let next = (now_ms() / SCAN_EVERY_MS + 1) * SCAN_EVERY_MS;
            connections::schedule_scan(&db, next).await.map_err(|e| e.to_string())?;
            result
        })
        .add(connections::SYNC_JOB, move |db, payload| {
            let services = sync_services.clone();
            async move {
                let id = payload["remote_calendar_id"].as_str().unwrap_or_default().to_owned();
                run(&services, &db, &id, Job::Pull).await
            }
        })
        .add(connections::PUSH_JOB, move |db, payload| {
            let services = push_services.clone();
            async move {
                let id = payload["remote_calendar_id"].as_str().unwrap_or_default().to_owned();
                run(&services, &db, &id, Job::Push).await
            }
        })
}

async fn scan(db: &Db) -> Result<(), String> {
    let now = now_ms();
    let due = connections::due(db, now, 200).await.map_err(|e| e.to_string())?;
    if due.is_empty() {
        return Ok(());
    }
    let mut write = changes::begin_unowned(db).await.map_err(|e| e.to_string())?;
    for row in &due {
        connections::queue_sync(&mut write, &row.id, now).await.map_err(|e| e.to_string())?;
    }
    write.commit().await.map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Pull,
    Push,
}

/// Runs a pull or push and records how it went; only a fault of our own storage is a
/// failed job (retried). Google's refusals are shown on the sync page instead.
/// One pull or push at a time per remote calendar in this process: a pull reading an item a
/// push is creating would take it for someone else's and copy it back.
static RUNNING: std::sync::LazyLock<std::sync::Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>> =
    std::sync::LazyLock::new(Default::default);

async fn run(services: &Services, db: &Db, id: &str, job: Job) -> Result<(), String> {
    let lock = RUNNING
        .lock()
        .map(|mut running| running.entry(id.to_owned()).or_default().clone())
        .map_err(|_| "the sync lock is poisoned".to_owned())?;
    let _turn = lock.lock().await;
    // And one process at a time, however many share the database: another process
    // syncing this calendar now means this run comes again shortly.
    let _held = match leases::Held::take(db, &format!("sync:{id}"), SYNC_LEASE).await {
        Ok(Some(held)) => held,
        Ok(None) => return again_at(db, id, job, now_ms() + 5_000 + jitter(5_000)).await,
        Err(error) => return Err(error.to_string()),
    };
    run_held(services, db, id, job).await
}

/// How long a sync may hold its calendar before another process may take over (a
/// process that died mid-sync blocks the calendar no longer than this).
const SYNC_LEASE: Duration = Duration::from_secs(15 * 60);

/// Queues the job again at `at` (another process holds the calendar, or a rate limit).
async fn again_at(db: &Db, id: &str, job: Job, at: i64) -> Result<(), String> {
    match job {
        Job::Pull => {
            let mut write = changes::begin_unowned(db).await.map_err(|e| e.to_string())?;
            connections::queue_sync(&mut write, id, at).await.map_err(|e| e.to_string())?;
            write.commit().await.map_err(|e| e.to_string())
        }
        Job::Push => connections::queue_push_at(db, id, at).await.map_err(|e| e.to_string()),
    }
}

async fn run_held(services: &Services, db: &Db, id: &str, job: Job) -> Result<(), String> {
    let row = match connections::remote_calendar(db, id).await {
        Ok(row) => row,
        Err(app::AppError::NotFound) => return Ok(()),
        Err(error) => return Err(error.to_string()),
    };
    if row.mode == "off" && job == Job::Pull {
        return Ok(());
    }
    let provider = match connections::connection(db, &row.connection_id).await {
        Ok(connection) => connection.provider,
        Err(app::AppError::NotFound) => return Ok(()),
        Err(error) => return Err(error.to_string()),
    };
    let label = connections::provider_label(&provider);
    let (result, poll_every_ms) = match (provider.as_str(), &services.google, job) {
        ("notion", _, Job::Pull) => {
            (crate::notion::sync::pull(&services.notion, db, &row).await, services.notion.poll_every_ms)
        }
        ("notion", _, Job::Push) => {
            (crate::notion::sync::push(&services.notion, db, &row).await, services.notion.poll_every_ms)
        }
        (_, Some(google), Job::Pull) => (pull(google, db, &row).await, google.poll_every_ms),
        (_, Some(google), Job::Push) => (push(google, db, &row).await, google.poll_every_ms),
        (_, None, _) => (Err(ApiError::Setup("Google is not set up on this server any more".into())), 3_600_000),
    };
    let now = now_ms();
    match result {
        Ok(()) => Ok(()),
        Err(ApiError::Revoked(_)) => Ok(()),
        Err(ApiError::RateLimited(after)) => {
            let wait = after.unwrap_or(Duration::from_secs(60));
            let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(60_000);
            let at = now + wait_ms + jitter(wait_ms / 4 + 1_000);
            let when = app::ssr::millis_to_utc(at).format("%H:%M:%S UTC");
            connections::record_error(
                db,
                &row,
                &format!("{label} asked to slow down (rate limit); trying again at {when}."),
                at,
            )
            .await
            .map_err(|e| e.to_string())?;
            again_at(db, &row.id, job, at).await
        }
        Err(error) => {
            tracing::warn!(remote_calendar = %row.id, %error, provider = %provider, "sync");
            connections::record_error(db, &row, &error.to_string(), now + poll_every_ms)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// Up to `max_ms` of randomness, so clients told to wait do not all come back at once.
fn jitter(max_ms: i64) -> i64 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 4];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    i64::from(u32::from_le_bytes(bytes)) % max_ms.max(1)
}

fn storage(error: app::AppError) -> ApiError {
    ApiError::Transport(format!("storage: {error}"))
}

fn encode(text: &str) -> String {
    app::components::percent_encode(text)
}

fn zone_of(calendar: Option<&CalendarRow>, row: &RemoteCalendarRow) -> Tz {
    calendar
        .map(CalendarRow::tz)
        .or_else(|| row.time_zone.as_deref().and_then(|z| z.parse::<Tz>().ok()))
        .unwrap_or(Tz::UTC)
}

// ---------------------------------------------------------------------------------------
// Pull
// ---------------------------------------------------------------------------------------

/// Lists the calendar's events: everything (`sync_token` none) or what changed since.
async fn list(
    google: &Google,
    token: &str,
    row: &RemoteCalendarRow,
    sync_token: Option<&str>,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let mut items = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let mut path =
            format!("/calendars/{}/events?maxResults={PAGE_SIZE}&singleEvents=false", encode(&row.remote_id));
        match (&page, sync_token) {
            (Some(p), _) => path.push_str(&format!("&pageToken={}", encode(p))),
            (None, Some(t)) => path.push_str(&format!("&syncToken={}", encode(t))),
            (None, None) => path.push_str("&showDeleted=false"),
        }
        if page.is_some()
            && let Some(t) = sync_token
        {
            path.push_str(&format!("&syncToken={}", encode(t)));
        }
        let answer = google.call(token, Method::GET, &path, None, None).await?;
        if let Some(list) = answer["items"].as_array() {
            items.extend(list.iter().cloned());
        }
        match answer["nextPageToken"].as_str() {
            Some(next) => page = Some(next.to_owned()),
            None => return Ok((items, answer["nextSyncToken"].as_str().map(str::to_owned))),
        }
    }
}

/// Pulls one calendar.
pub async fn pull(google: &Google, db: &Db, row: &RemoteCalendarRow) -> Result<(), ApiError> {
    let connection = connections::connection(db, &row.connection_id).await.map_err(storage)?;
    let token = google.access_token(db, &connection).await?;
    let calendar = connections::mirror_calendar(db, row).await.map_err(storage)?.ok_or_else(|| {
        ApiError::Setup("the Calento calendar of this sync was deleted; choose how it syncs again".into())
    })?;
    let (items, next_token, full) = match list(google, &token, row, row.sync_token.as_deref()).await {
        Err(ApiError::Gone) if row.sync_token.is_some() => {
            tracing::info!(remote_calendar = %row.id, "Google's sync token expired (410): listing everything again");
            connections::forget_sync_token(db, &row.id).await.map_err(storage)?;
            let (items, token) = list(google, &token, row, None).await?;
            (items, token, true)
        }
        other => {
            let (items, token) = other?;
            (items, token, row.sync_token.is_none())
        }
    };
    let mut puller = Puller::new(db, row, &calendar, connection.user_id.clone()).await?;
    puller.apply(items, full).await?;
    let counts = puller.counts;
    if puller.push_needed {
        connections::queue_push_at(db, &row.id, now_ms()).await.map_err(storage)?;
    }
    connections::record_sync(db, row, next_token.as_deref(), counts, now_ms() + google.poll_every_ms)
        .await
        .map_err(storage)?;
    super::connect::ensure_channel(google, db, row, &token).await;
    Ok(())
}

/// Applies listings to one calendar.
struct Puller<'a> {
    db: &'a Db,
    row: &'a RemoteCalendarRow,
    calendar: &'a CalendarRow,
    zone: Tz,
    user_id: String,
    stored: HashMap<String, ItemRow>,
    counts: Counts,
    push_needed: bool,
}

impl<'a> Puller<'a> {
    async fn new(
        db: &'a Db,
        row: &'a RemoteCalendarRow,
        calendar: &'a CalendarRow,
        user_id: String,
    ) -> Result<Self, ApiError> {
        let stored = connections::items_of(db, &row.id)
            .await
            .map_err(storage)?
            .into_iter()
            .map(|i| (i.remote_id.clone(), i))
            .collect();
        Ok(Self {
            db,
            row,
            calendar,
            zone: calendar.tz(),
            user_id,
            stored,
            counts: Counts::default(),
            push_needed: false,
        })
    }

    /// Applies a listing (`full`: every live item; items not in it are gone).
    async fn apply(&mut self, items: Vec<Value>, full: bool) -> Result<(), ApiError> {
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for item in items {
            let Some(id) = item["id"].as_str().map(str::to_owned) else { continue };
            seen.insert(id.clone());
            let known = self.stored.get(&id);
            if known.is_some_and(|k| k.etag.is_some() && k.etag.as_deref() == item["etag"].as_str()) {
                continue;
            }
            // A known item keeps the series it was filed under (Calento's UID for events
            // Calento wrote there, whatever iCalUID Google gave them).
            let uid = known
                .map(|k| k.uid.clone())
                .or_else(|| {
                    let master = item["recurringEventId"].as_str()?;
                    self.stored.get(master).map(|m| m.uid.clone())
                })
                .or_else(|| item["iCalUID"].as_str().map(str::to_owned));
            // (A deletion of something never seen has no series: nothing to do.)
            if let Some(uid) = uid {
                groups.entry(uid).or_default().push(item);
            }
        }
        if full {
            for (id, known) in &self.stored {
                if !seen.contains(id) {
                    groups
                        .entry(known.uid.clone())
                        .or_default()
                        .push(json!({ "id": id, "status": "cancelled", "_gone": true }));
                }
            }
        }
        for (uid, changed) in groups {
            self.apply_series(&uid, changed).await?;
        }
        Ok(())
    }

    /// Stores a series' changed items and brings its Calento copy in line, in one write.
    async fn apply_series(&mut self, uid: &str, changed: Vec<Value>) -> Result<(), ApiError> {
        let mut write = changes::begin(self.db, &self.user_id).await.map_err(storage)?;
        let before: Vec<ItemRow> = self.stored.values().filter(|i| i.uid == uid).cloned().collect();
        for item in &changed {
            let id = item["id"].as_str().unwrap_or_default();
            let cancelled = item["status"].as_str() == Some("cancelled");
            let master_remote_id = item["recurringEventId"].as_str().map(str::to_owned);
            if cancelled && master_remote_id.is_none() {
                connections::drop_item(&mut write, &self.row.id, id).await.map_err(storage)?;
                continue;
            }
            let known = self.stored.get(id);
            let stored = ItemRow {
                remote_calendar_id: self.row.id.clone(),
                remote_id: id.to_owned(),
                uid: uid.to_owned(),
                master_remote_id,
                etag: item["etag"].as_str().map(str::to_owned),
                raw: item.to_string(),
                remote_base: known.and_then(|k| k.remote_base.clone()),
                local_base: known.and_then(|k| k.local_base.clone()),
                event_id: known.and_then(|k| k.event_id.clone()),
                updated_at: now_ms(),
            };
            connections::put_item(&mut write, &stored).await.map_err(storage)?;
        }
        let base = before.iter().find(|i| i.master_remote_id.is_none()).cloned();
        self.reconcile(&mut write, uid, base).await?;
        write.commit().await.map_err(storage)?;
        // Keep the in-memory view in step for later series of this listing.
        for item in changed {
            if let Some(id) = item["id"].as_str() {
                self.stored.remove(id);
            }
        }
        Ok(())
    }

    /// Makes the Calento copy of series `uid` follow its items (and, two-way, merges).
    async fn reconcile(&mut self, write: &mut Write, uid: &str, base: Option<ItemRow>) -> Result<(), ApiError> {
        let items = connections::items_with_uid_in(write, &self.row.id, uid).await.map_err(storage)?;
        let master_item = items.iter().find(|i| i.master_remote_id.is_none()).cloned();
        let master: Option<Value> = master_item.as_ref().and_then(|i| serde_json::from_str(&i.raw).ok());
        let exceptions: Vec<Value> = items
            .iter()
            .filter(|i| i.master_remote_id.is_some())
            .filter_map(|i| serde_json::from_str(&i.raw).ok())
            .collect();
        let local = connections::series_in(write, &self.calendar.id, uid).await.map_err(storage)?;
        let local_master = local.iter().find(|r| r.master_id.is_none()).cloned();

        // Events Calento itself wrote there (bookings, task blocks, events of another
        // calendar) are not imported back: they would show twice.
        if connections::uid_is_elsewhere(write, &self.user_id, &self.calendar.id, uid).await.map_err(storage)? {
            // A booking's event Calento wrote there, deleted at Google: ask the host.
            if master.is_none()
                && let Some(event_id) = base.as_ref().and_then(|b| b.event_id.clone())
                && let Some(booking) = connections::booking_of_event(write, &event_id).await.map_err(storage)?
            {
                self.ask_about_booking(write, uid, &event_id, &booking).await?;
            } else if master.is_none()
                && let Some(event_id) = base.as_ref().and_then(|b| b.event_id.clone())
                && connections::is_task_block(write, &event_id).await.map_err(storage)?
            {
                // Focus time deleted in Google: the person does not want it then. The
                // block goes (its task is unplanned again) rather than coming back.
                events::delete_row(write, &event_id).await.map_err(storage)?;
                self.counts.deleted += 1;
            }
            if let Some(local) = &local_master {
                events::delete_row(write, &local.id).await.map_err(storage)?;
            }
            return Ok(());
        }
        if self.row.mode != "two_way" {
            // Busy time: a copy of Google's side.
            self.replace(write, uid, local_master.as_ref(), master.as_ref(), &exceptions).await?;
            return Ok(());
        }

        let local_base = convert::fields_of_text(base.as_ref().and_then(|b| b.local_base.as_deref()));
        let remote_base = convert::fields_of_text(base.as_ref().and_then(|b| b.remote_base.as_deref()));
        let synced_before = base.as_ref().is_some_and(|b| b.event_id.is_some());
        let local_fields = match &local_master {
            Some(_) => Some(self.local_fields(local.clone())?),
            None => None,
        };
        match (&master, &local_master) {
            (None, None) => Ok(()),
            (None, Some(local_row)) => {
                // Deleted at Google.
                if let Some(booking) = connections::booking_of_event(write, &local_row.id).await.map_err(storage)? {
                    return self.ask_about_booking(write, uid, &local_row.id, &booking).await;
                }
                let changed_here = local_fields.as_ref() != local_base.as_ref() && local_base.is_some();
                if changed_here {
                    connections::log_conflict(
                        write,
                        &self.user_id,
                        &self.row.id,
                        uid,
                        &local_row.title,
                        "deleted",
                        "calento",
                        "Deleted in Google Calendar but changed in Calento since: kept, and put back in Google.",
                        None,
                    )
                    .await
                    .map_err(storage)?;
                    self.push_needed = true;
                    return Ok(());
                }
                events::delete_row(write, &local_row.id).await.map_err(storage)?;
                self.counts.deleted += 1;
                Ok(())
            }
            (Some(remote), None) => {
                let remote_fields = convert::fields(remote, Some(self.zone));
                if synced_before && remote_base.as_ref() == Some(&remote_fields) {
                    // Deleted in Calento, unchanged at Google: the push deletes it there.
                    self.push_needed = true;
                    return Ok(());
                }
                self.replace(write, uid, None, Some(remote), &exceptions).await
            }
            (Some(remote), Some(local_row)) => {
                let remote_fields = convert::fields(remote, Some(self.zone));
                let local_fields = local_fields.unwrap_or_default();
                let local_unchanged = local_base.as_ref() == Some(&local_fields);
                if local_unchanged || (local_base.is_none() && local_fields == remote_fields) {
                    return self.replace(write, uid, Some(local_row), Some(remote), &exceptions).await;
                }
                // Both sides may have changed: merge field by field.
                let remote_updated = remote["updated"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.timestamp_millis())
                    .unwrap_or(0);
                let context = Context {
                    organised_elsewhere: convert::organised_elsewhere(remote),
                    remote_later: remote_updated > local_row.updated_at,
                };
                let merged = merge(local_base.as_ref(), &local_fields, remote_base.as_ref(), &remote_fields, context);
                connections::log_conflicts(
                    write,
                    &self.user_id,
                    &self.row.id,
                    uid,
                    &local_row.title,
                    &merged.conflicts,
                    "Google",
                )
                .await
                .map_err(storage)?;
                let take_local: Vec<&str> =
                    FIELDS.iter().copied().filter(|f| merged.take.get(*f) == Some(&Side::Local)).collect();
                let local_body = convert::event_body(local.clone(), self.zone).map_err(storage)?;
                let combined = convert::combine(remote, &local_body, &take_local);
                if merged.changes_local(&local_fields, &remote_fields) {
                    self.replace(write, uid, Some(local_row), Some(&combined), &exceptions).await?;
                }
                if merged.changes_remote(&local_fields, &remote_fields) {
                    // The push sends the merged fields; the bases stay until it has.
                    let remote_text = convert::fields_text(&remote_fields);
                    let local_base_text = local_base.as_ref().map(convert::fields_text);
                    if let Some(item) = &master_item {
                        connections::set_bases(
                            write,
                            &self.row.id,
                            &item.remote_id,
                            Some(&remote_text),
                            local_base_text.as_deref(),
                            Some(&local_row.id),
                        )
                        .await
                        .map_err(storage)?;
                    }
                    self.push_needed = true;
                } else {
                    self.agree(write, uid, master_item.as_ref()).await?;
                }
                Ok(())
            }
        }
    }

    /// A booking's event was deleted at Google: the host decides (cancel the booking, and
    /// the invitee is told, or put the event back); nothing is cancelled silently.
    async fn ask_about_booking(
        &self,
        write: &mut Write,
        uid: &str,
        event_id: &str,
        booking: &str,
    ) -> Result<(), ApiError> {
        let title: Option<String> = sqlx::query_scalar("SELECT title FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(&mut **write)
            .await
            .map_err(|e| storage(e.into()))?;
        connections::log_conflict(
            write,
            &self.user_id,
            &self.row.id,
            uid,
            title.as_deref().unwrap_or("A booking"),
            "deleted",
            "ask",
            "The event of this booking was deleted in Google Calendar. Cancel the booking (the invitee is told), \
             or keep it and put the event back in Google.",
            Some(booking),
        )
        .await
        .map_err(storage)
    }

    fn local_fields(&self, rows: Vec<EventRow>) -> Result<Fields, ApiError> {
        let body = convert::event_body(rows, self.zone).map_err(storage)?;
        Ok(convert::fields(&body, Some(self.zone)))
    }

    /// Replaces the Calento copy of a series with Google's (`master` none: deletes it).
    async fn replace(
        &mut self,
        write: &mut Write,
        uid: &str,
        local: Option<&EventRow>,
        master: Option<&Value>,
        exceptions: &[Value],
    ) -> Result<(), ApiError> {
        let refs: Vec<&Value> = exceptions.iter().collect();
        let ics = convert::series_ics(master, &refs, Some(self.zone), uid);
        let Some(ics) = ics else {
            if let Some(local) = local {
                events::delete_row(write, &local.id).await.map_err(storage)?;
                self.counts.deleted += 1;
            }
            return Ok(());
        };
        let file = match calento::calendar_file::read(ics.as_bytes()) {
            Ok(file) => file,
            Err(error) => {
                tracing::warn!(%uid, %error, "an event from Google cannot be read");
                return Ok(());
            }
        };
        let Some(event) = file.events.into_iter().next() else {
            let reason = file.skipped.first().map(|s| s.reason.clone()).unwrap_or_default();
            tracing::warn!(%uid, %reason, "an event from Google was skipped");
            return Ok(());
        };
        let id = match local {
            Some(local) => {
                events::delete_row(write, &local.id).await.map_err(storage)?;
                self.counts.updated += 1;
                local.id.clone()
            }
            None => {
                self.counts.created += 1;
                new_id()
            }
        };
        match app::ssr::ical::write_event(write, self.calendar, &event, Some(id)).await {
            Ok(()) => {}
            Err(app::AppError::Unexpected) => return Err(storage(app::AppError::Unexpected)),
            Err(other) => {
                tracing::warn!(%uid, error = %other, "an event from Google was not stored");
                return Ok(());
            }
        }
        let items = connections::items_with_uid_in(write, &self.row.id, uid).await.map_err(storage)?;
        let master_item = items.into_iter().find(|i| i.master_remote_id.is_none());
        self.agree(write, uid, master_item.as_ref()).await
    }

    /// Records that both sides now hold the same series.
    /// Busy-time copies keep no bases: nothing goes back from them.
    async fn agree(&self, write: &mut Write, uid: &str, item: Option<&ItemRow>) -> Result<(), ApiError> {
        let Some(item) = item.filter(|_| self.row.mode == "two_way") else { return Ok(()) };
        let remote: Value = serde_json::from_str(&item.raw).unwrap_or(Value::Null);
        let remote_text = convert::fields_text(&convert::fields(&remote, Some(self.zone)));
        let local = connections::series_in(write, &self.calendar.id, uid).await.map_err(storage)?;
        let event_id = local.iter().find(|r| r.master_id.is_none()).map(|r| r.id.clone());
        let local_text = match event_id {
            Some(_) => Some(convert::fields_text(&self.local_fields(local)?)),
            None => None,
        };
        connections::set_bases(
            write,
            &self.row.id,
            &item.remote_id,
            Some(&remote_text),
            local_text.as_deref(),
            event_id.as_deref(),
        )
        .await
        .map_err(storage)
    }
}

// ---------------------------------------------------------------------------------------
// Push
// ---------------------------------------------------------------------------------------

/// Sends Calento's changes of one remote calendar.
pub async fn push(google: &Google, db: &Db, row: &RemoteCalendarRow) -> Result<(), ApiError> {
    let connection = connections::connection(db, &row.connection_id).await.map_err(storage)?;
    let bookings_here = connection.write_calendar.as_deref() == Some(row.remote_id.as_str());
    if row.mode != "two_way" && !bookings_here {
        return Ok(());
    }
    let token = google.access_token(db, &connection).await?;
    let calendar = connections::mirror_calendar(db, row).await.map_err(storage)?;
    let zone = zone_of(calendar.as_ref(), row);
    let send_updates = if connection.send_updates == 1 { "all" } else { "none" };

    // What Calento holds for this calendar, by series.
    let mut local: BTreeMap<String, Vec<EventRow>> = BTreeMap::new();
    if row.mode == "two_way"
        && let Some(calendar) = &calendar
    {
        for event in events::all_in_calendar(db, &calendar.id).await.map_err(storage)? {
            local.entry(event.uid.clone()).or_default().push(event);
        }
    }
    if bookings_here {
        for event in connections::booking_events(db, &connection.user_id).await.map_err(storage)? {
            local.entry(event.uid.clone()).or_default().push(event);
        }
    }
    let waiting = connections::waiting_uids(db, &row.id).await.map_err(storage)?;
    let items: HashMap<String, ItemRow> = connections::items_of(db, &row.id)
        .await
        .map_err(storage)?
        .into_iter()
        .filter(|i| i.master_remote_id.is_none())
        .map(|i| (i.uid.clone(), i))
        .collect();
    let calendar_path = format!("/calendars/{}/events", encode(&row.remote_id));
    let mut counts = Counts::default();
    let mut remerge: Vec<Value> = Vec::new();

    for (uid, rows) in &local {
        if waiting.contains(uid) || !rows.iter().any(|r| r.master_id.is_none()) {
            continue;
        }
        let body = convert::event_body(rows.clone(), zone).map_err(storage)?;
        let fields = convert::fields(&body, Some(zone));
        let event_id = rows.iter().find(|r| r.master_id.is_none()).map(|r| r.id.clone());
        let answer = match items.get(uid) {
            Some(item) if convert::fields_of_text(item.local_base.as_deref()).as_ref() == Some(&fields) => continue,
            Some(item) => {
                let mut patch = body.clone();
                if let Some(object) = patch.as_object_mut() {
                    object.remove("iCalUID");
                    object.entry("recurrence").or_insert(json!([]));
                }
                let path = format!("{calendar_path}/{}?sendUpdates={send_updates}", encode(&item.remote_id));
                match google.call(&token, Method::PATCH, &path, Some(&patch), item.etag.as_deref()).await {
                    Ok(answer) => {
                        counts.updated += 1;
                        answer
                    }
                    Err(ApiError::PreconditionFailed) => {
                        // Changed at Google meanwhile: read it and merge (the pull does).
                        let path = format!("{calendar_path}/{}", encode(&item.remote_id));
                        remerge.push(google.call(&token, Method::GET, &path, None, None).await?);
                        continue;
                    }
                    Err(ApiError::NotFound | ApiError::Gone) => {
                        remerge.push(json!({ "id": item.remote_id, "status": "cancelled", "iCalUID": uid }));
                        continue;
                    }
                    Err(other) => return Err(other),
                }
            }
            None => {
                let id = convert::google_id(uid);
                let mut insert = body.clone();
                if let Some(object) = insert.as_object_mut() {
                    object.insert("id".into(), json!(id));
                }
                let path = format!("{calendar_path}?sendUpdates={send_updates}");
                match google.call(&token, Method::POST, &path, Some(&insert), None).await {
                    Ok(answer) => {
                        counts.created += 1;
                        answer
                    }
                    Err(ApiError::Duplicate) => {
                        // An earlier attempt got through (or the event was deleted there):
                        // make it what Calento holds.
                        let existing =
                            google.call(&token, Method::GET, &format!("{calendar_path}/{id}"), None, None).await?;
                        let mut patch = body.clone();
                        if let Some(object) = patch.as_object_mut() {
                            object.remove("iCalUID");
                            object.insert("status".into(), body["status"].clone());
                        }
                        let path = format!("{calendar_path}/{id}?sendUpdates={send_updates}");
                        let answer =
                            google.call(&token, Method::PATCH, &path, Some(&patch), existing["etag"].as_str()).await?;
                        counts.created += 1;
                        answer
                    }
                    Err(other) => return Err(other),
                }
            }
        };
        let stored = ItemRow {
            remote_calendar_id: row.id.clone(),
            remote_id: answer["id"].as_str().unwrap_or_default().to_owned(),
            uid: uid.clone(),
            master_remote_id: None,
            etag: answer["etag"].as_str().map(str::to_owned),
            raw: answer.to_string(),
            remote_base: Some(convert::fields_text(&convert::fields(&answer, Some(zone)))),
            local_base: Some(convert::fields_text(&fields)),
            event_id,
            updated_at: now_ms(),
        };
        let mut write = changes::begin_unowned(db).await.map_err(storage)?;
        connections::put_item(&mut write, &stored).await.map_err(storage)?;
        write.commit().await.map_err(storage)?;
    }

    push_instances(google, db, row, &token, &local, &waiting, zone, send_updates, &mut counts, &mut remerge).await?;

    // Series gone from Calento (deleted, or a booking cancelled): delete them at Google.
    for (uid, item) in &items {
        if local.contains_key(uid) || waiting.contains(uid) || item.event_id.is_none() {
            continue;
        }
        let path = format!("{calendar_path}/{}?sendUpdates={send_updates}", encode(&item.remote_id));
        match google.call(&token, Method::DELETE, &path, None, item.etag.as_deref()).await {
            Ok(_) => counts.deleted += 1,
            Err(ApiError::NotFound | ApiError::Gone) => {}
            Err(ApiError::PreconditionFailed) => {
                // Changed at Google after Calento deleted it: the edit wins, it comes back.
                let path = format!("{calendar_path}/{}", encode(&item.remote_id));
                remerge.push(google.call(&token, Method::GET, &path, None, None).await?);
                continue;
            }
            Err(other) => return Err(other),
        }
        let mut write = changes::begin_unowned(db).await.map_err(storage)?;
        connections::drop_item(&mut write, &row.id, &item.remote_id).await.map_err(storage)?;
        write.commit().await.map_err(storage)?;
    }
    connections::add_counts(db, row, counts).await.map_err(storage)?;

    if !remerge.is_empty()
        && let Some(calendar) = &calendar
    {
        let mut puller = Puller::new(db, row, calendar, connection.user_id.clone()).await?;
        puller.apply(remerge, false).await?;
        if puller.push_needed {
            connections::queue_push_at(db, &row.id, now_ms()).await.map_err(storage)?;
        }
    }
    Ok(())
}

/// Sends the instances of Calento's series that differ from their series: a moved or
/// changed occurrence is patched as Google's instance (its id is the master's and the
/// original start), and an occurrence Calento removed that Google holds as an exception
/// is deleted there (the master's EXDATE alone leaves such an exception standing).
#[allow(clippy::too_many_arguments)]
async fn push_instances(
    google: &Google,
    db: &Db,
    row: &RemoteCalendarRow,
    token: &str,
    local: &BTreeMap<String, Vec<EventRow>>,
    waiting: &BTreeSet<String>,
    zone: Tz,
    send_updates: &str,
    counts: &mut Counts,
    remerge: &mut Vec<Value>,
) -> Result<(), ApiError> {
    let items = connections::items_of(db, &row.id).await.map_err(storage)?;
    let masters: HashMap<&str, &ItemRow> =
        items.iter().filter(|i| i.master_remote_id.is_none()).map(|i| (i.uid.as_str(), i)).collect();
    let instances: HashMap<&str, &ItemRow> =
        items.iter().filter(|i| i.master_remote_id.is_some()).map(|i| (i.remote_id.as_str(), i)).collect();
    let calendar_path = format!("/calendars/{}/events", encode(&row.remote_id));
    for (uid, rows) in local {
        let Some(master_item) = masters.get(uid.as_str()) else { continue };
        let Some(master) = rows.iter().find(|r| r.master_id.is_none()) else { continue };
        if waiting.contains(uid) || master.rrule.is_none() && master.rdates.is_empty() {
            continue;
        }
        let mut sent: Vec<String> = Vec::new();
        for exception in rows.iter().filter(|r| r.master_id.is_some()) {
            let Some(original) = exception.recurrence_id.as_deref().and_then(events::parse_instance_key) else {
                continue;
            };
            let id = convert::instance_id(&master_item.remote_id, original, zone);
            sent.push(id.clone());
            let body = convert::instance_body(exception, zone).map_err(storage)?;
            let fields = convert::fields(&body, Some(zone));
            let known = instances.get(id.as_str());
            // What both sides last agreed: the fields Calento sent, or Google's exception as
            // the pull read it.
            let agreed = known.and_then(|k| {
                convert::fields_of_text(k.local_base.as_deref())
                    .or_else(|| serde_json::from_str::<Value>(&k.raw).ok().map(|raw| convert::fields(&raw, Some(zone))))
            });
            if agreed.as_ref() == Some(&fields) {
                continue;
            }
            let path = format!("{calendar_path}/{}?sendUpdates={send_updates}", encode(&id));
            let answer = match google
                .call(token, Method::PATCH, &path, Some(&body), known.and_then(|k| k.etag.as_deref()))
                .await
            {
                Ok(answer) => answer,
                Err(ApiError::PreconditionFailed) => {
                    let path = format!("{calendar_path}/{}", encode(&id));
                    remerge.push(google.call(token, Method::GET, &path, None, None).await?);
                    continue;
                }
                Err(ApiError::NotFound | ApiError::Gone) => {
                    tracing::warn!(%uid, instance = %id, "Google has no such instance; not sent");
                    continue;
                }
                Err(other) => return Err(other),
            };
            counts.updated += 1;
            store_instance(db, row, uid, master_item, &answer, Some(&fields), Some(&exception.id)).await?;
        }
        // Occurrences removed in Calento that Google holds as exceptions.
        let series = master.series().map_err(storage)?;
        for excluded in &series.exdates {
            let id = convert::instance_id(&master_item.remote_id, series.placed(*excluded), zone);
            let Some(known) = instances.get(id.as_str()) else { continue };
            let cancelled =
                serde_json::from_str::<Value>(&known.raw).is_ok_and(|raw| raw["status"].as_str() == Some("cancelled"));
            if cancelled || sent.contains(&id) {
                continue;
            }
            let path = format!("{calendar_path}/{}?sendUpdates={send_updates}", encode(&id));
            match google.call(token, Method::DELETE, &path, None, known.etag.as_deref()).await {
                Ok(_) | Err(ApiError::NotFound | ApiError::Gone) => counts.deleted += 1,
                Err(ApiError::PreconditionFailed) => {
                    let path = format!("{calendar_path}/{}", encode(&id));
                    remerge.push(google.call(token, Method::GET, &path, None, None).await?);
                    continue;
                }
                Err(other) => return Err(other),
            }
            let gone = json!({ "id": id, "status": "cancelled", "recurringEventId": master_item.remote_id });
            store_instance(db, row, uid, master_item, &gone, None, None).await?;
        }
    }
    Ok(())
}

/// Records an instance of a series as Google now holds it.
async fn store_instance(
    db: &Db,
    row: &RemoteCalendarRow,
    uid: &str,
    master: &ItemRow,
    answer: &Value,
    local: Option<&Fields>,
    event_id: Option<&str>,
) -> Result<(), ApiError> {
    let stored = ItemRow {
        remote_calendar_id: row.id.clone(),
        remote_id: answer["id"].as_str().unwrap_or_default().to_owned(),
        uid: uid.to_owned(),
        master_remote_id: Some(master.remote_id.clone()),
        etag: answer["etag"].as_str().map(str::to_owned),
        raw: answer.to_string(),
        remote_base: None,
        local_base: local.map(convert::fields_text),
        event_id: event_id.map(str::to_owned),
        updated_at: now_ms(),
    };
    let mut write = changes::begin_unowned(db).await.map_err(storage)?;
    connections::put_item(&mut write, &stored).await.map_err(storage)?;
    write.commit().await.map_err(storage)
}
