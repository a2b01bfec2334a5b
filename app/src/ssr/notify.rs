//! Notifications that reach a person whose tab is closed: by email (the outbox) and by Web
//! Push (jobs the server's push sender runs). Everything that notifies goes through
//! [`deliver`]: it reads the person's preferences and quiet hours, and records each
//! notification and channel in `notifications_sent` under a key naming its cause, in the
//! same transaction as the email or push jobs it queues. The key's uniqueness makes each
//! reminder go once per occurrence and channel, however many server processes scan,
//! however often a job is retried, across restarts.
//!
//! What notifies, each one small part of this module:
//! - the minute scan ([`SCAN_JOB`], one job for the whole instance, queuing its next run):
//!   event reminders, tasks whose do-time arrived, the daily agenda, the weekly review;
//! - reactions to the change feed: a focus session started or resumed queues
//!   [`FOCUS_JOB`] for its end; a booking made, cancelled, rescheduled or waiting for
//!   approval queues [`BOOKING_JOB`].

use std::collections::BTreeMap;

use calento::notify::{Channel, NotifyKind, Preferences, Start, is_due, minute_of, reminder_at};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::accounts::{self, UserRow, user_zone};
use super::changes::{self, BoxFuture, Change, Kind, Op, Write};
use super::mail::{self, EmailDraft};
use super::{Db, calendars, events, jobs, new_id, now_ms};
use crate::AppError;
use crate::components::escape_html;
use crate::models::{NotificationSettings, PushDevice};

/// The job that sends one push message; its payload is `{"subscription_id", "message"}`.
/// Its handler is the server's (it encrypts and calls out through the guarded client).
pub const SEND_PUSH: &str = "send_push";
/// The minute scan: reminders, do-times, digests. One queued at a time for the instance.
pub const SCAN_JOB: &str = "notify_scan";
/// Checks whether a focus session ended: `{"session_id", "user_id"}`.
pub const FOCUS_JOB: &str = "notify_focus_end";
/// Tells the host about a booking: `{"booking_id", "user_id"}`.
pub const BOOKING_JOB: &str = "notify_booking";
/// How often the scan runs.
pub const SCAN_EVERY_MS: i64 = 60_000;
/// How long `notifications_sent` remembers a key.
pub const SENT_RETENTION_MS: i64 = 60 * 86_400_000;
/// Most push devices one account keeps (the oldest goes when a new one subscribes).
pub const MAX_DEVICES: i64 = 20;
/// The name of the key that signs unsubscribe links, in `instance_keys`.
const UNSUBSCRIBE_KEY: &str = "unsubscribe_hmac";

/// What to tell a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NotifyKind,
    /// Names the cause (`reminder:{event}:{start}:{minutes}`): one notification per key and
    /// channel, ever.
    pub key: String,
    pub title: String,
    pub body: String,
    /// Where a click leads (a path of this site).
    pub path: String,
    /// The email's own text and HTML when it says more than the title and body (digests).
    pub email: Option<(String, String)>,
}

/// The message a push carries, as the service worker reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushMessage {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub url: String,
    /// Notifications with the same tag replace each other on the device.
    pub tag: String,
}

// ---------------------------------------------------------------------------------------
// Preferences
// ---------------------------------------------------------------------------------------

type SettingsRow = (String, Option<i64>, Option<i64>, i64, Option<i64>, i64, Option<i64>, i64);

/// A person's preferences (the defaults until they save some).
pub async fn preferences(db: &Db, user_id: &str) -> Result<Preferences, AppError> {
    let row: Option<SettingsRow> = sqlx::query_as(
        "SELECT channels, quiet_start, quiet_end, all_day_at, agenda_at, agenda_when_empty, review_day, review_at \
         FROM notification_settings WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db.read())
    .await?;
    Ok(row.map(preferences_of).unwrap_or_default())
}

fn preferences_of(row: SettingsRow) -> Preferences {
    let (channels, quiet_start, quiet_end, all_day_at, agenda_at, when_empty, review_day, review_at) = row;
    let minute = |v: i64| u16::try_from(v.clamp(0, 1439)).unwrap_or(0);
    Preferences {
        kinds: serde_json::from_str(&channels).unwrap_or_default(),
        quiet_start: quiet_start.map(minute),
        quiet_end: quiet_end.map(minute),
        all_day_at: minute(all_day_at),
        agenda_at: agenda_at.map(minute),
        agenda_when_empty: when_empty == 1,
        review_day: review_day.and_then(|d| u8::try_from(d).ok()).filter(|d| *d < 7),
        review_at: minute(review_at),
    }
}

/// Saves a person's preferences.
pub async fn save_preferences(db: &Db, user_id: &str, prefs: &Preferences) -> Result<(), AppError> {
    let kinds: BTreeMap<NotifyKind, calento::notify::KindChoice> = prefs.kinds.clone();
    let mut write = changes::begin(db, user_id).await?;
    sqlx::query(
        "INSERT INTO notification_settings (user_id, channels, quiet_start, quiet_end, all_day_at, agenda_at, \
             agenda_when_empty, review_day, review_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (user_id) DO UPDATE SET channels = excluded.channels, quiet_start = excluded.quiet_start, \
             quiet_end = excluded.quiet_end, all_day_at = excluded.all_day_at, agenda_at = excluded.agenda_at, \
             agenda_when_empty = excluded.agenda_when_empty, review_day = excluded.review_day, \
             review_at = excluded.review_at, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(serde_json::to_string(&kinds).unwrap_or_else(|_| "{}".to_owned()))
    .bind(prefs.quiet_start.map(i64::from))
    .bind(prefs.quiet_end.map(i64::from))
    .bind(i64::from(prefs.all_day_at))
    .bind(prefs.agenda_at.map(i64::from))
    .bind(i64::from(prefs.agenda_when_empty))
    .bind(prefs.review_day.map(i64::from))
    .bind(i64::from(prefs.review_at))
    .bind(now_ms())
    .execute(&mut *write)
    .await?;
    write.record(Kind::Profile, user_id, Op::Updated, None);
    write.commit().await
}

/// The settings page's view: preferences, this account's devices, and the VAPID key a
/// browser subscribes with.
pub async fn settings(db: &Db, user_id: &str, vapid_public_key: String) -> Result<NotificationSettings, AppError> {
    Ok(NotificationSettings {
        preferences: preferences(db, user_id).await?,
        devices: devices(db, user_id).await?,
        vapid_public_key,
    })
}

// ---------------------------------------------------------------------------------------
// Instance keys and unsubscribe links
// ---------------------------------------------------------------------------------------

/// The instance's key `name`, made by `make` on first use. Every process gets the same one:
/// the first insert wins and everyone reads it back.
pub async fn instance_key(db: &Db, name: &str, make: impl FnOnce() -> String) -> Result<String, AppError> {
    if let Some(value) = read_key(db, name).await? {
        return Ok(value);
    }
    sqlx::query(
        "INSERT INTO instance_keys (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(make())
    .bind(now_ms())
    .execute(db.write())
    .await?;
    read_key(db, name).await?.ok_or(AppError::Unexpected)
}

/// The instance's key `name`, if it was made.
pub async fn read_key(db: &Db, name: &str) -> Result<Option<String>, AppError> {
    sqlx::query_scalar("SELECT value FROM instance_keys WHERE name = $1")
        .bind(name)
        .fetch_optional(db.write())
        .await
        .map_err(AppError::from)
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn unsubscribe_key(db: &Db) -> Result<String, AppError> {
    instance_key(db, UNSUBSCRIBE_KEY, || super::tokens::generate_with("")).await
}

/// What sending needs besides the database: where links point, and the key that signs
/// unsubscribe links. Loaded before a write opens (on SQLite the write holds the one
/// writer connection, and the key may need writing on first use).
#[derive(Clone)]
pub struct Sender {
    public_url: String,
    key: String,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("public_url", &self.public_url).finish()
    }
}

impl Sender {
    pub async fn load(db: &Db, public_url: &str) -> Result<Self, AppError> {
        Ok(Self { public_url: public_url.trim_end_matches('/').to_owned(), key: unsubscribe_key(db).await? })
    }

    /// The token of an unsubscribe link: the account, the kind, and a signature over both.
    pub fn unsubscribe_token(&self, user_id: &str, kind: NotifyKind) -> String {
        let message = format!("{user_id}.{}", kind.as_str());
        format!("{message}.{}", &hex(&hmac_sha256(self.key.as_bytes(), message.as_bytes()))[..32])
    }

    /// The account and kind a token names, when its signature holds.
    pub fn read_unsubscribe_token(&self, token: &str) -> Option<(String, NotifyKind)> {
        let mut parts = token.split('.');
        let (Some(user_id), Some(kind), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let kind = NotifyKind::parse(kind)?;
        let expected = self.unsubscribe_token(user_id, kind);
        // Compared in full, every byte, whatever differs first.
        let same = expected.len() == token.len()
            && expected.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        same.then(|| (user_id.to_owned(), kind))
    }

    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

/// Turns a kind's emails off (what the one-click link does). Returns the account's email
/// address and the kind's name, for the page that confirms it.
pub async fn unsubscribe(db: &Db, user_id: &str, kind: NotifyKind) -> Result<(), AppError> {
    if accounts::find_by_id(db, user_id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let mut prefs = preferences(db, user_id).await?;
    let mut choice = prefs.choice(kind);
    choice.email = false;
    prefs.kinds.insert(kind, choice);
    save_preferences(db, user_id, &prefs).await
}

// ---------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------

type DeviceRow = (String, String, String, i64, Option<i64>, Option<String>);

/// This account's push devices, newest first.
pub async fn devices(db: &Db, user_id: &str) -> Result<Vec<PushDevice>, AppError> {
    let rows: Vec<DeviceRow> = sqlx::query_as(
        "SELECT id, label, endpoint, created_at, last_sent_at, last_error FROM push_subscriptions \
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(user_id)
    .fetch_all(db.read())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, label, endpoint, created, sent, error)| PushDevice {
            id,
            label,
            service: url_host(&endpoint),
            endpoint_hash: super::tokens::hash(&endpoint)[..16].to_owned(),
            created_at: super::millis_to_utc(created),
            last_sent_at: sent.map(super::millis_to_utc),
            last_error: error,
        })
        .collect())
}

fn url_host(url: &str) -> String {
    url.split_once("://")
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// A browser's subscription as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub label: String,
}

fn is_base64url(text: &str, min_bytes: usize, max_bytes: usize) -> bool {
    let len = text.trim_end_matches('=').len();
    text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        && (min_bytes * 4).div_ceil(3) <= len
        && len <= (max_bytes * 4).div_ceil(3)
}

/// Keeps a device's subscription (the same endpoint again replaces its keys and label).
/// The endpoint must be https (a push service) unless the operator allows the address.
pub async fn subscribe(
    db: &Db,
    user_id: &str,
    sub: &Subscription,
    url_check: &super::UrlCheck,
) -> Result<PushDevice, AppError> {
    let mut errors = Vec::new();
    let endpoint = sub.endpoint.trim();
    if endpoint.len() > 2_000 || !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
        errors.push(calento::FieldError::new("endpoint", "A push endpoint is an https address from the browser."));
    } else if let Err(reason) = url_check.check(endpoint).await {
        errors.push(calento::FieldError::new("endpoint", format!("This push service cannot be reached: {reason}")));
    }
    // An uncompressed P-256 point is 65 bytes; the auth secret 16.
    if !is_base64url(&sub.p256dh, 65, 65) {
        errors.push(calento::FieldError::new("p256dh", "The browser's key (p256dh) is not a P-256 public key."));
    }
    if !is_base64url(&sub.auth, 16, 16) {
        errors.push(calento::FieldError::new("auth", "The browser's auth secret is not 16 bytes."));
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let label: String = sub.label.trim().chars().take(100).collect();
    let label = if label.is_empty() { "This device".to_owned() } else { label };
    let id = new_id();
    let mut write = changes::begin(db, user_id).await?;
    // An endpoint belongs to one browser: a second account signing in on it takes it over.
    sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1").bind(endpoint).execute(&mut *write).await?;
    sqlx::query(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, label, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(endpoint)
    .bind(sub.p256dh.trim_end_matches('='))
    .bind(sub.auth.trim_end_matches('='))
    .bind(&label)
    .bind(now_ms())
    .execute(&mut *write)
    .await?;
    sqlx::query(
        "DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)",
    )
    .bind(user_id)
    .bind(MAX_DEVICES)
    .execute(&mut *write)
    .await?;
    write.record(Kind::Profile, user_id, Op::Updated, None);
    write.commit().await?;
    devices(db, user_id).await?.into_iter().find(|d| d.id == id).ok_or(AppError::Unexpected)
}

/// Forgets a device (by id, or by endpoint when the browser unsubscribes itself).
pub async fn unsubscribe_device(db: &Db, user_id: &str, id_or_endpoint: &str) -> Result<(), AppError> {
    let mut write = changes::begin(db, user_id).await?;
    let done = sqlx::query("DELETE FROM push_subscriptions WHERE user_id = $1 AND (id = $2 OR endpoint = $2)")
        .bind(user_id)
        .bind(id_or_endpoint)
        .execute(&mut *write)
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    write.record(Kind::Profile, user_id, Op::Updated, None);
    write.commit().await
}

/// What the push sender needs of a subscription: endpoint, p256dh, auth.
pub async fn subscription(db: &Db, id: &str) -> Result<Option<(String, String, String)>, AppError> {
    sqlx::query_as("SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE id = $1")
        .bind(id)
        .fetch_optional(db.read())
        .await
        .map_err(AppError::from)
}

/// The push service said the subscription is gone (404, 410): forget it.
pub async fn drop_subscription(db: &Db, id: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM push_subscriptions WHERE id = $1").bind(id).execute(db.write()).await?;
    Ok(())
}

/// Notes how the last push to a device went.
pub async fn note_push(db: &Db, id: &str, error: Option<&str>) -> Result<(), AppError> {
    let sql = if error.is_some() {
        "UPDATE push_subscriptions SET last_error = $2 WHERE id = $1 AND $3 > 0"
    } else {
        "UPDATE push_subscriptions SET last_error = $2, last_sent_at = $3 WHERE id = $1"
    };
    sqlx::query(sql).bind(id).bind(error).bind(now_ms()).execute(db.write()).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Delivering
// ---------------------------------------------------------------------------------------

/// What [`deliver`] did, per channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    pub emails: usize,
    pub pushes: usize,
    /// Channels skipped because quiet hours held the notice.
    pub held: usize,
}

/// Sends `notice` to `user` by each channel their preferences choose, once per key and
/// channel, in `write` (the emails and push jobs exist exactly when the write commits).
/// Inside quiet hours nothing goes (unless the kind is marked urgent), and the key is
/// still spent: a reminder of 23:00 is not sent at 07:00.
pub async fn deliver(
    write: &mut Write,
    user: &UserRow,
    prefs: &Preferences,
    notice: &Notice,
    sender: &Sender,
    now: i64,
) -> Result<Delivered, AppError> {
    let local = local_at(user_zone(user), now);
    let held = prefs.holds(notice.kind, minute_of(local));
    let mut done = Delivered::default();
    for channel in Channel::ALL {
        if !prefs.wants(notice.kind, channel) {
            continue;
        }
        if !claim(write, &user.id, &format!("{}:{}", notice.key, channel.as_str()), now).await? {
            continue;
        }
        if held {
            done.held += 1;
            continue;
        }
        match channel {
            Channel::Email => {
                send_email(write, user, notice, sender).await?;
                done.emails += 1;
            }
            Channel::Push => done.pushes += send_push(write, &user.id, notice, sender).await?,
        }
    }
    Ok(done)
}

/// Sends a test on one channel now, whatever the preferences and quiet hours say.
pub async fn send_test(db: &Db, user: &UserRow, channel: Channel, public_url: &str) -> Result<usize, AppError> {
    let sender = Sender::load(db, public_url).await?;
    let notice = Notice {
        kind: NotifyKind::EventReminder,
        key: format!("test:{}", new_id()),
        title: "Calento test notification".to_owned(),
        body: format!("Notifications by {} reach you.", channel.as_str()),
        path: "/settings/notifications".to_owned(),
        email: None,
    };
    let mut write = changes::begin_unowned(db).await?;
    let sent = match channel {
        Channel::Email => {
            send_email(&mut write, user, &notice, &sender).await?;
            1
        }
        Channel::Push => send_push(&mut write, &user.id, &notice, &sender).await?,
    };
    write.commit().await?;
    Ok(sent)
}

/// Spends a key: false when it was spent before.
async fn claim(write: &mut Write, user_id: &str, key: &str, now: i64) -> Result<bool, AppError> {
    let done = sqlx::query(
        "INSERT INTO notifications_sent (key, user_id, sent_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(user_id)
    .bind(now)
    .execute(&mut **write)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn send_email(write: &mut Write, user: &UserRow, notice: &Notice, sender: &Sender) -> Result<(), AppError> {
    let link = sender.link(&notice.path);
    let unsubscribe = sender.link(&format!("/unsubscribe/{}", sender.unsubscribe_token(&user.id, notice.kind)));
    let (text, html) = notice.email.clone().unwrap_or_else(|| {
        (
            format!("{}\n\n{link}\n", notice.body),
            format!("<p>{}</p><p><a href=\"{link}\">Open Calento</a></p>", escape_html(&notice.body)),
        )
    });
    let footer_text =
        format!("\n—\nYou get this because {} is on. Turn these emails off: {unsubscribe}\n", notice.kind.label());
    let footer_html = format!(
        "<hr><p style=\"color:#666;font-size:12px\">You get this because “{}” is on. \
         <a href=\"{unsubscribe}\">Unsubscribe from these emails</a>.</p>",
        escape_html(notice.kind.label())
    );
    let draft = EmailDraft {
        user_id: user.id.clone(),
        booking_id: None,
        kind: notice.kind.as_str().to_owned(),
        to_address: user.email.clone(),
        to_name: user.name.clone(),
        subject: notice.title.clone(),
        text_body: format!("{text}{footer_text}"),
        html_body: format!("<!doctype html><html><body>{html}{footer_html}</body></html>"),
        ics: None,
        unsubscribe_url: Some(unsubscribe),
    };
    mail::queue(write, &draft).await?;
    Ok(())
}

async fn send_push(write: &mut Write, user_id: &str, notice: &Notice, sender: &Sender) -> Result<usize, AppError> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM push_subscriptions WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&mut **write)
        .await?;
    let message = PushMessage {
        kind: notice.kind.as_str().to_owned(),
        title: notice.title.clone(),
        body: notice.body.clone(),
        url: sender.link(&notice.path),
        tag: notice.key.clone(),
    };
    for id in &ids {
        let payload = serde_json::json!({ "subscription_id": id, "message": message });
        // A push that cannot get through in a few tries is stale news.
        jobs::enqueue_with(write, SEND_PUSH, &payload, now_ms(), 4).await?;
    }
    Ok(ids.len())
}

fn local_at(tz: Tz, ms: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&tz).naive_local()
}

/// A wall-clock time on the person's clock.
fn time_text(user: &UserRow, local: NaiveDateTime) -> String {
    calento::ClockFormat::parse(&user.clock).unwrap_or_default().time_text(local.time())
}

// ---------------------------------------------------------------------------------------
// The minute scan
// ---------------------------------------------------------------------------------------

/// Makes sure the scan is queued (every server process calls this at start; one job is
/// queued whatever their number).
pub async fn schedule_scan(db: &Db, run_at_ms: i64) -> Result<(), AppError> {
    let mut write = changes::begin_unowned(db).await?;
    jobs::enqueue_once(&mut write, SCAN_JOB, SCAN_JOB, &serde_json::json!({}), run_at_ms).await?;
    write.commit().await
}

/// Registers the scan, the focus and booking checks. `public_url` makes the links.
pub fn register(handlers: jobs::Handlers, public_url: String) -> jobs::Handlers {
    let (scan_url, focus_url, booking_url) = (public_url.clone(), public_url.clone(), public_url);
    handlers
        .add(SCAN_JOB, move |db, _| {
            let url = scan_url.clone();
            async move {
                let result = scan(&db, &url, now_ms()).await.map_err(|e| format!("notification scan: {e}"));
                // The next minute, at its start (the job running now is not `queued`).
                let next = (now_ms() / SCAN_EVERY_MS + 1) * SCAN_EVERY_MS;
                schedule_scan(&db, next).await.map_err(|e| e.to_string())?;
                result.map(|_| ())
            }
        })
        .add(FOCUS_JOB, move |db, payload| {
            let url = focus_url.clone();
            async move { focus_check(&db, &payload, &url).await.map_err(|e| format!("focus end: {e}")) }
        })
        .add(BOOKING_JOB, move |db, payload| {
            let url = booking_url.clone();
            async move { booking_notice(&db, &payload, &url).await.map_err(|e| format!("booking notice: {e}")) }
        })
}

/// What one scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub notices: usize,
    pub emails: usize,
    pub pushes: usize,
}

/// One scan at `now`: every account with reminders, do-times or digests due.
pub async fn scan(db: &Db, public_url: &str, now: i64) -> Result<ScanReport, AppError> {
    let sender = Sender::load(db, public_url).await?;
    let mut report = ScanReport::default();
    for user_id in accounts_to_scan(db, now).await? {
        let Some(user) = accounts::find_by_id(db, &user_id).await? else { continue };
        if user.disabled_at.is_some() {
            continue;
        }
        let prefs = preferences(db, &user.id).await?;
        let mut notices = reminders_due(db, &user, &prefs, now).await?;
        notices.extend(tasks_due(db, &user, now).await?);
        notices.extend(digests_due(db, &user, &prefs, now).await?);
        if notices.is_empty() {
            continue;
        }
        let mut write = changes::begin_unowned(db).await?;
        for notice in &notices {
            let done = deliver(&mut write, &user, &prefs, notice, &sender, now).await?;
            report.notices += 1;
            report.emails += done.emails;
            report.pushes += done.pushes;
        }
        write.commit().await?;
    }
    sqlx::query("DELETE FROM notifications_sent WHERE sent_at < $1")
        .bind(now - SENT_RETENTION_MS)
        .execute(db.write())
        .await?;
    sqlx::query("DELETE FROM capture_keys WHERE created_at < $1")
        .bind(now - super::tasks::CAPTURE_KEY_RETENTION_MS)
        .execute(db.write())
        .await?;
    Ok(report)
}

/// Accounts with events that remind, open tasks with a do-time around now, or digests.
async fn accounts_to_scan(db: &Db, now: i64) -> Result<Vec<String>, AppError> {
    let day = |offset: i64| {
        (chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().date_naive() + Duration::days(offset))
            .format("%Y-%m-%d")
            .to_string()
    };
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM events WHERE reminders <> '[]' AND reminders <> '' \
         UNION SELECT DISTINCT user_id FROM tasks WHERE status IN ('todo', 'doing') AND is_template = 0 \
             AND do_day >= $1 AND do_day <= $2 AND do_at LIKE '%T%' \
         UNION SELECT user_id FROM notification_settings WHERE agenda_at IS NOT NULL OR review_day IS NOT NULL",
    )
    .bind(day(-1))
    .bind(day(1))
    .fetch_all(db.read())
    .await?;
    Ok(ids)
}

/// Reminders of occurrences going off within the grace period before `now`. Computed from
/// the events as they are now: a moved occurrence reminds at its new time only, a
/// cancelled one not at all.
async fn reminders_due(db: &Db, user: &UserRow, prefs: &Preferences, now: i64) -> Result<Vec<Notice>, AppError> {
    let tz = user_zone(user);
    let longest: Vec<String> =
        sqlx::query_scalar("SELECT reminders FROM events WHERE user_id = $1 AND reminders <> '[]' AND reminders <> ''")
            .bind(&user.id)
            .fetch_all(db.read())
            .await?;
    let Some(lead) = longest
        .iter()
        .filter_map(|text| serde_json::from_str::<Vec<u32>>(text).ok())
        .flat_map(|list| list.into_iter())
        .max()
    else {
        return Ok(Vec::new());
    };
    let utc = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc();
    // Occurrences that start between now (less the grace) and the longest lead ahead, with
    // two days either side for all-day days and floating times in any zone.
    let from = utc(now - calento::notify::REMINDER_GRACE_MS) - Duration::days(2);
    let to = utc(now) + Duration::minutes(i64::from(lead)) + Duration::days(2);
    let rows = calendars::list(db, &user.id).await?;
    let found = events::occurrences_in(db, &user.id, from, to, &rows).await?;
    let mut notices = Vec::new();
    for o in found {
        if o.status == calento::event::EventStatus::Cancelled || o.reminders.is_empty() {
            continue;
        }
        let pinned = utc(o.start_ms);
        let start = if o.all_day {
            Start::AllDay(pinned.date())
        } else if o.floating {
            Start::Floating(pinned)
        } else {
            Start::At(o.start_ms)
        };
        let starts_at = match start {
            Start::At(ms) => ms,
            Start::Floating(local) => calento::recurrence::local_to_utc(tz, local).and_utc().timestamp_millis(),
            Start::AllDay(day) => {
                calento::recurrence::local_to_utc(tz, day.and_time(chrono::NaiveTime::MIN)).and_utc().timestamp_millis()
            }
        };
        let mut minutes: Vec<u32> = o.reminders.clone();
        minutes.sort_unstable();
        minutes.dedup();
        for m in minutes {
            let at = reminder_at(start, m, tz, prefs.all_day_at);
            if !is_due(at, now) {
                continue;
            }
            let local = local_at(tz, starts_at);
            let when = if o.all_day {
                format!("{} (all day)", local.format("%a %-d %b"))
            } else {
                let day = if local.date() == local_at(tz, now).date() {
                    "today".to_owned()
                } else {
                    local.format("%a %-d %b").to_string()
                };
                format!("{day} at {}", time_text(user, local))
            };
            let body = if o.location.trim().is_empty() {
                format!("{} — {when}", o.summary)
            } else {
                format!("{} — {when}, {}", o.summary, o.location.trim())
            };
            notices.push(Notice {
                kind: NotifyKind::EventReminder,
                key: format!("reminder:{}:{}:{m}", o.event_id, o.start_ms),
                title: format!("Reminder: {}", o.summary),
                body,
                path: format!("/calendar?view=day&date={}", local.format("%Y-%m-%d")),
                email: None,
            });
        }
    }
    Ok(notices)
}

/// Open tasks whose do-time (a time, not only a day) arrived within the grace period.
async fn tasks_due(db: &Db, user: &UserRow, now: i64) -> Result<Vec<Notice>, AppError> {
    let tz = user_zone(user);
    let today = local_at(tz, now).date();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, title, do_at FROM tasks WHERE user_id = $1 AND status IN ('todo', 'doing') AND is_template = 0 \
         AND do_day >= $2 AND do_day <= $3 AND do_at LIKE '%T%'",
    )
    .bind(&user.id)
    .bind((today - Duration::days(1)).format("%Y-%m-%d").to_string())
    .bind((today + Duration::days(1)).format("%Y-%m-%d").to_string())
    .fetch_all(db.read())
    .await?;
    let mut notices = Vec::new();
    for (id, title, do_at) in rows {
        let Ok(local) = NaiveDateTime::parse_from_str(&do_at, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(&do_at, "%Y-%m-%dT%H:%M"))
        else {
            continue;
        };
        let at = calento::recurrence::local_to_utc(tz, local).and_utc().timestamp_millis();
        if !is_due(at, now) {
            continue;
        }
        notices.push(Notice {
            kind: NotifyKind::TaskDue,
            key: format!("task:{id}:{do_at}"),
            title: format!("Time for: {title}"),
            body: format!("You planned “{title}” for {}.", time_text(user, local)),
            path: format!("/tasks?task={id}"),
            email: None,
        });
    }
    Ok(notices)
}

/// The daily agenda and weekly review, when their local time has come today (held to the
/// end of quiet hours when those cover it and they are not urgent).
async fn digests_due(db: &Db, user: &UserRow, prefs: &Preferences, now: i64) -> Result<Vec<Notice>, AppError> {
    let tz = user_zone(user);
    let local = local_at(tz, now);
    let today = local.date();
    let mut notices = Vec::new();
    // Whether a digest planned at `minute` on `day` (local) is due now: from its time (or
    // the end of the quiet hours holding it, which may be the next morning) until the end
    // of the day it came due on.
    let due_from = |day: NaiveDate, minute: u16, kind: NotifyKind| {
        let planned = day.and_time(calento::notify::clock(minute));
        let at = if prefs.choice(kind).urgent { planned } else { prefs.after_quiet(planned) };
        local >= at && at.date() == today
    };
    let yesterday = today - Duration::days(1);
    // One agenda a day, of the day it is sent on.
    if let Some(minute) = prefs.agenda_at
        && (due_from(today, minute, NotifyKind::DailyAgenda) || due_from(yesterday, minute, NotifyKind::DailyAgenda))
        && !spent(db, &format!("agenda:{today}")).await?
        && let Some(notice) = agenda(db, user, prefs, today).await?
    {
        notices.push(notice);
    }
    let review_on = |day: NaiveDate| {
        prefs.review_day.is_some_and(|d| u32::from(d) == day.weekday().num_days_from_monday())
            && due_from(day, prefs.review_at, NotifyKind::WeeklyReview)
    };
    if (review_on(today) || review_on(yesterday)) && !spent(db, &format!("review:{today}")).await? {
        notices.push(review(db, user, today).await?);
    }
    Ok(notices)
}

/// Whether a digest's key was spent on its email channel already (saves building it).
async fn spent(db: &Db, key: &str) -> Result<bool, AppError> {
    let found: Option<String> = sqlx::query_scalar("SELECT key FROM notifications_sent WHERE key = $1")
        .bind(format!("{key}:email"))
        .fetch_optional(db.read())
        .await?;
    Ok(found.is_some())
}

/// Today's agenda: events (bookings among them), the top three tasks, the focus blocks.
/// `None` on a day with nothing, unless asked for anyway.
async fn agenda(db: &Db, user: &UserRow, prefs: &Preferences, today: NaiveDate) -> Result<Option<Notice>, AppError> {
    let plan = super::planning::daily_plan(db, user).await?;
    let mut top: Vec<String> = plan.top.iter().map(|t| t.title.clone()).collect();
    if top.is_empty() {
        top = plan.candidates.iter().take(3).map(|t| t.title.clone()).collect();
    }
    top.truncate(3);
    let tz = user_zone(user);
    let (from, to) = (super::tasks::day_start(tz, today), super::tasks::day_start(tz, today + Duration::days(1)));
    let blocks: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT t.title, b.start_ms, b.end_ms FROM task_blocks b JOIN tasks t ON t.id = b.task_id \
         WHERE b.user_id = $1 AND b.start_ms >= $2 AND b.start_ms < $3 ORDER BY b.start_ms",
    )
    .bind(&user.id)
    .bind(from)
    .bind(to)
    .fetch_all(db.read())
    .await?;
    let bookings: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT title, invitee_name, start_ms FROM bookings WHERE host_id = $1 AND status IN ('confirmed', 'pending') \
         AND start_ms >= $2 AND start_ms < $3 ORDER BY start_ms",
    )
    .bind(&user.id)
    .bind(from)
    .bind(to)
    .fetch_all(db.read())
    .await?;
    if plan.events.is_empty() && top.is_empty() && blocks.is_empty() && !prefs.agenda_when_empty {
        return Ok(None);
    }
    let at = |ms: i64| time_text(user, local_at(tz, ms));
    let mut text = format!("Your day, {}\n", today.format("%A %-d %B"));
    let mut html = format!("<h1 style=\"font-size:18px\">Your day, {}</h1>", today.format("%A %-d %B"));
    let mut section = |heading: &str, lines: Vec<String>, empty: &str| {
        text.push_str(&format!("\n{heading}\n"));
        html.push_str(&format!("<h2 style=\"font-size:15px\">{heading}</h2><ul>"));
        if lines.is_empty() {
            text.push_str(&format!("  {empty}\n"));
            html.push_str(&format!("<li>{empty}</li>"));
        }
        for line in lines {
            text.push_str(&format!("  • {line}\n"));
            html.push_str(&format!("<li>{}</li>", escape_html(&line)));
        }
        html.push_str("</ul>");
    };
    section(
        "Events",
        plan.events.iter().map(|e| format!("{} {}", e.time, e.title)).collect(),
        "Nothing on the calendar.",
    );
    if !bookings.is_empty() {
        section(
            "Bookings",
            bookings.iter().map(|(title, who, start)| format!("{} {title} with {who}", at(*start))).collect(),
            "",
        );
    }
    section("Top three", top.clone(), "No tasks chosen yet.");
    section(
        "Focus plan",
        blocks.iter().map(|(title, start, end)| format!("{}–{} {title}", at(*start), at(*end))).collect(),
        "No focus blocks planned.",
    );
    let count = plan.events.len();
    Ok(Some(Notice {
        kind: NotifyKind::DailyAgenda,
        key: format!("agenda:{today}"),
        title: format!(
            "Today: {count} event{}, {} task{}",
            if count == 1 { "" } else { "s" },
            top.len(),
            if top.len() == 1 { "" } else { "s" }
        ),
        body: format!("Your agenda for {}.", today.format("%A")),
        path: "/today".to_owned(),
        email: Some((text, html)),
    }))
}

/// The week that ends today: tasks done, focus minutes, the streak.
async fn review(db: &Db, user: &UserRow, today: NaiveDate) -> Result<Notice, AppError> {
    let stats = super::focus::stats(db, user, 7).await?;
    let done: i64 = stats.days.iter().map(|d| d.tasks_done).sum();
    let steps: i64 = stats.days.iter().map(|d| d.steps_done).sum();
    let minutes: i64 = stats.days.iter().map(|d| d.focus_minutes).sum();
    let active = stats.days.iter().filter(|d| d.active).count();
    let progress = super::motivation::progress(db, user).await?;
    let streak = progress.streak.current;
    let lines = [
        format!("Tasks done: {done} (and {steps} micro-steps)"),
        format!("Focus: {} h {} min", minutes / 60, minutes % 60),
        format!("Active days: {active} of 7"),
        format!("Streak: {streak} day{}", if streak == 1 { "" } else { "s" }),
    ];
    let text = format!("Your week up to {}\n\n{}\n", today.format("%A %-d %B"), lines.join("\n"));
    let html = format!(
        "<h1 style=\"font-size:18px\">Your week up to {}</h1><ul>{}</ul>",
        today.format("%A %-d %B"),
        lines.iter().map(|l| format!("<li>{}</li>", escape_html(l))).collect::<String>()
    );
    Ok(Notice {
        kind: NotifyKind::WeeklyReview,
        key: format!("review:{today}"),
        title: format!("Your week: {done} done, {} h {} min of focus", minutes / 60, minutes % 60),
        body: "Your weekly review.".to_owned(),
        path: "/stats".to_owned(),
        email: Some((text, html)),
    })
}

// ---------------------------------------------------------------------------------------
// Reactions: focus sessions and bookings
// ---------------------------------------------------------------------------------------

/// A reaction to the change feed: a focus session that started or changed gets a check at
/// its end; a booking that changed gets its host told.
pub fn notify_on_changes<'a>(
    write: &'a mut Write,
    user_id: &'a str,
    changed: &'a [Change],
) -> BoxFuture<'a, Result<(), AppError>> {
    Box::pin(async move {
        for change in changed {
            match change.kind {
                Kind::FocusSession if change.op != Op::Deleted => {
                    let payload = serde_json::json!({ "session_id": change.id, "user_id": user_id });
                    let key = format!("focus:{}", change.id);
                    jobs::enqueue_once(write, FOCUS_JOB, &key, &payload, now_ms()).await?;
                }
                Kind::Booking if change.op != Op::Deleted => {
                    let payload = serde_json::json!({ "booking_id": change.id, "user_id": user_id });
                    jobs::enqueue(write, BOOKING_JOB, &payload, now_ms()).await?;
                }
                _ => {}
            }
        }
        Ok(())
    })
}

/// When a session runs, waits for its end (queuing itself again for then); when its time
/// has run out, tells the person once.
async fn focus_check(db: &Db, payload: &serde_json::Value, public_url: &str) -> Result<(), AppError> {
    let session_id = payload["session_id"].as_str().unwrap_or_default();
    let user_id = payload["user_id"].as_str().unwrap_or_default();
    let row: Option<(String, String, i64, i64, Option<i64>, i64, Option<String>)> = sqlx::query_as(
        "SELECT s.kind, s.state, s.planned_ms, s.started_ms, s.paused_at_ms, s.paused_total_ms, t.title \
         FROM focus_sessions s LEFT JOIN tasks t ON t.id = s.task_id WHERE s.id = $1 AND s.user_id = $2",
    )
    .bind(session_id)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?;
    let Some((kind, state, planned, started, paused_at, paused_total, task)) = row else { return Ok(()) };
    // Paused, completed by hand or abandoned: nothing to tell (a resume queues a new check).
    if state != "running" || paused_at.is_some() {
        return Ok(());
    }
    let ends = started + planned + paused_total;
    let now = now_ms();
    if ends > now {
        let mut write = changes::begin_unowned(db).await?;
        jobs::enqueue_once(&mut write, FOCUS_JOB, &format!("focus:{session_id}"), payload, ends).await?;
        return write.commit().await;
    }
    let Some(user) = accounts::find_by_id(db, user_id).await? else { return Ok(()) };
    let prefs = preferences(db, user_id).await?;
    let sender = Sender::load(db, public_url).await?;
    let (title, body) = if kind == "focus" {
        let what = task.map(|t| format!(" on “{t}”")).unwrap_or_default();
        ("Focus session done".to_owned(), format!("{} minutes{what}. Time for a break.", planned / 60_000))
    } else {
        ("Break over".to_owned(), "Ready for the next focus session?".to_owned())
    };
    let notice = Notice {
        kind: NotifyKind::FocusEnd,
        key: format!("focus_end:{session_id}:{ends}"),
        title,
        body,
        path: "/focus".to_owned(),
        email: None,
    };
    let mut write = changes::begin_unowned(db).await?;
    deliver(&mut write, &user, &prefs, &notice, &sender, now).await?;
    write.commit().await
}

/// Tells a host what happened to a booking (new, waiting for approval, cancelled,
/// rescheduled), once per booking and status.
async fn booking_notice(db: &Db, payload: &serde_json::Value, public_url: &str) -> Result<(), AppError> {
    let booking_id = payload["booking_id"].as_str().unwrap_or_default();
    let user_id = payload["user_id"].as_str().unwrap_or_default();
    let row: Option<(String, String, String, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT title, status, invitee_name, start_ms, rescheduled_from, sequence FROM bookings \
         WHERE id = $1 AND host_id = $2",
    )
    .bind(booking_id)
    .bind(user_id)
    .fetch_optional(db.read())
    .await?;
    let Some((title, status, who, start, _, sequence)) = row else { return Ok(()) };
    // Confirmed after waiting for approval: the host approved it, and knows.
    if status == "confirmed" && sequence == 0 {
        let approved: Option<String> =
            sqlx::query_scalar("SELECT key FROM notifications_sent WHERE key LIKE $1 LIMIT 1")
                .bind(format!("booking:{booking_id}:pending:%"))
                .fetch_optional(db.read())
                .await?;
        if approved.is_some() {
            return Ok(());
        }
    }
    let Some(user) = accounts::find_by_id(db, user_id).await? else { return Ok(()) };
    let tz = user_zone(&user);
    let local = local_at(tz, start);
    let when = format!("{} at {}", local.format("%a %-d %b"), time_text(&user, local));
    let (headline, detail) = match status.as_str() {
        "pending" => ("Booking waiting for approval", format!("{who} asks for {title}, {when}.")),
        // Each move raises the invitation's sequence.
        "confirmed" if sequence > 0 => ("Booking rescheduled", format!("{title} with {who} is now {when}.")),
        "confirmed" => ("New booking", format!("{who} booked {title}, {when}.")),
        "cancelled" => ("Booking cancelled", format!("{title} with {who}, {when}, was cancelled.")),
        // Declined is the host's own doing: nothing to tell.
        _ => return Ok(()),
    };
    let notice = Notice {
        kind: NotifyKind::Booking,
        key: format!("booking:{booking_id}:{status}:{sequence}"),
        title: headline.to_owned(),
        body: detail,
        path: "/bookings".to_owned(),
        email: None,
    };
    let prefs = preferences(db, user_id).await?;
    let sender = Sender::load(db, public_url).await?;
    let mut write = changes::begin_unowned(db).await?;
    deliver(&mut write, &user, &prefs, &notice, &sender, now_ms()).await?;
    write.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn subscription_keys_are_checked_for_length() {
        let key = "B".repeat(87);
        assert!(is_base64url(&key, 65, 65));
        assert!(!is_base64url(&"B".repeat(40), 65, 65));
        assert!(is_base64url("AAAAAAAAAAAAAAAAAAAAAA", 16, 16));
        assert!(!is_base64url("AAAAAAAAAAAAAAAAAAAAA+", 16, 16));
        assert_eq!(url_host("https://fcm.googleapis.com/fcm/send/abc"), "fcm.googleapis.com");
    }
}
