//! The change feed: every write of a user's data records what changed, in the same
//! transaction as the write, and everything that follows a change hangs from it.
//!
//! - **Write.** [`Write`] is the one way to change a user's data: [`begin`] opens a
//!   transaction whose first statement takes the user's row lock (`users.change_seq`), the
//!   storage functions write through it and call [`Write::record`] for each object they
//!   created, updated or deleted, and [`Write::commit`] flushes the records before it
//!   commits. Because every writer of a user takes the same lock first, a user's changes
//!   commit in the order of their numbers, and no lock is ever taken in the other order.
//! - **Flush** (inside the transaction): the reactions run (each may enqueue
//!   jobs, never write data; the list is `ssr::REACTIONS`), each calendar touched gets one new revision (its sync token
//!   and ctag), the user's `change_seq` grows by the number of changes, the rows are
//!   inserted, and on PostgreSQL a `NOTIFY` is queued (sent by the server at commit).
//! - **After commit**: the change is announced on the database handle's [`super::db::Bus`]
//!   (live updates subscribe there) and waiting job workers are woken.
//! - **Read**: [`read`] pages through a user's changes after a cursor (`GET /api/v1/changes`);
//!   [`prune`] drops changes older than the retention and remembers where the feed now
//!   starts, so an older cursor is refused as expired instead of silently missing changes.
//!
//! A new consumer of changes is one module: a reaction added to `ssr::REACTIONS` (work
//! done because of a change, as a job) or a subscriber of the bus (news after commit).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::db::Announced;
use super::{Backend, Db, now_ms};
use crate::AppError;
use crate::models::{ChangeInfo, ChangePage};

/// What kind of object changed. Its name is the feed's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An event: a one-off, a series, or an exception of a series (moved or cancelled
    /// instance), whatever wrote it (pages, API, imports, subscriptions, bookings, blocks).
    Event,
    Calendar,
    Booking,
    BookingLink,
    Schedule,
    /// A task or a micro-step (steps are tasks with a parent).
    Task,
    /// A life area tasks belong to.
    Zone,
    FocusSession,
    /// A note of what pulled the user away (during a focus session or on its own).
    Distraction,
    Energy,
    Reward,
    DailyPlan,
    TaskSettings,
    /// The account's own settings (name, username, zone, week start, clock, theme).
    Profile,
    /// A connected account (Google, Notion) or its sync state.
    Connection,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Event,
        Kind::Calendar,
        Kind::Booking,
        Kind::BookingLink,
        Kind::Schedule,
        Kind::Task,
        Kind::Zone,
        Kind::FocusSession,
        Kind::Distraction,
        Kind::Energy,
        Kind::Reward,
        Kind::DailyPlan,
        Kind::TaskSettings,
        Kind::Profile,
        Kind::Connection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Event => "event",
            Kind::Calendar => "calendar",
            Kind::Booking => "booking",
            Kind::BookingLink => "booking_link",
            Kind::Schedule => "schedule",
            Kind::Task => "task",
            Kind::Zone => "zone",
            Kind::FocusSession => "focus_session",
            Kind::Distraction => "distraction",
            Kind::Energy => "energy",
            Kind::Reward => "reward",
            Kind::DailyPlan => "daily_plan",
            Kind::TaskSettings => "task_settings",
            Kind::Profile => "profile",
            Kind::Connection => "connection",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The area whose read scope sees this kind in the feed; `None`: any credential (the
    /// profile, which `GET /api/v1/me` shows to any token).
    pub fn area(self) -> Option<calento::scope::Area> {
        use calento::scope::Area;
        match self {
            Kind::Event | Kind::Calendar => Some(Area::Calendar),
            Kind::Booking | Kind::BookingLink | Kind::Schedule => Some(Area::Bookings),
            Kind::Task
            | Kind::Zone
            | Kind::FocusSession
            | Kind::Distraction
            | Kind::Energy
            | Kind::Reward
            | Kind::DailyPlan
            | Kind::TaskSettings => Some(Area::Tasks),
            Kind::Profile | Kind::Connection => None,
        }
    }

    /// The kinds a credential with these scopes may see.
    pub fn visible_with(scopes: calento::scope::Scopes) -> Vec<Kind> {
        use calento::scope::Access;
        Kind::ALL.into_iter().filter(|k| k.area().is_none_or(|area| scopes.allows(area, Access::Read))).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Created,
    Updated,
    Deleted,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Created => "created",
            Op::Updated => "updated",
            Op::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Op> {
        [Op::Created, Op::Updated, Op::Deleted].into_iter().find(|o| o.as_str() == text)
    }

    /// Two changes of one object in one transaction, as one: what a reader of the feed
    /// must do afterwards (made then edited is made; made then gone is gone).
    fn then(self, later: Op) -> Op {
        match (self, later) {
            (Op::Created, Op::Updated) => Op::Created,
            (Op::Deleted, Op::Created | Op::Updated) => Op::Updated,
            (_, later) => later,
        }
    }
}

/// One object changed, as a write records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    pub id: String,
    pub op: Op,
    /// The calendar an event is in (for an event moved between calendars, a write records
    /// `deleted` in the old one and `created` in the new one), or the calendar itself.
    pub calendar_id: Option<String>,
}

/// Work that follows a change, decided inside the writing transaction: a reaction looks
/// at the changes and may enqueue jobs through the write (never record changes or write
/// data itself: the job does that in its own write).
pub type Reaction = for<'a> fn(&'a mut Write, &'a str, &'a [Change]) -> BoxFuture<'a, Result<(), AppError>>;
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A transaction that writes, and records what it changed. Dereferences to the
/// connection, so statements run with `.execute(&mut **w)` as in a plain transaction.
pub struct Write {
    tx: Transaction<'static, Any>,
    db: Db,
    user_id: Option<String>,
    pending: Vec<Change>,
    wake_jobs: bool,
}

impl std::ops::Deref for Write {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Write {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Opens a write of `user_id`'s data. Its first statement takes the user's row lock, so the
/// user's writes run one after the other (PostgreSQL; SQLite has one writer anyway).
/// `NotFound` when the user does not exist.
pub async fn begin(db: &Db, user_id: &str) -> Result<Write, AppError> {
    let mut write = begin_unowned(db).await?;
    let locked = sqlx::query("UPDATE users SET change_seq = change_seq WHERE id = $1")
        .bind(user_id)
        .execute(&mut *write.tx)
        .await?
        .rows_affected();
    if locked == 0 {
        return Err(AppError::NotFound);
    }
    write.user_id = Some(user_id.to_owned());
    Ok(write)
}

/// Opens a write that changes no user's data (jobs, the instance's own tables, sessions and
/// tokens). Recording a change in it is a bug, refused at commit.
pub async fn begin_unowned(db: &Db) -> Result<Write, AppError> {
    let tx = db.write().begin().await?;
    Ok(Write { tx, db: db.clone(), user_id: None, pending: Vec::new(), wake_jobs: false })
}

impl Write {
    /// The user whose data this write changes.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Records that `id` (of `kind`, in `calendar_id` when it has one) was created, updated
    /// or deleted by this write. Written at commit, merged with earlier records of the same
    /// object in this write.
    pub fn record(&mut self, kind: Kind, id: &str, op: Op, calendar_id: Option<&str>) {
        let calendar_id = calendar_id.map(str::to_owned);
        if let Some(earlier) =
            self.pending.iter_mut().find(|c| c.kind == kind && c.id == id && c.calendar_id == calendar_id)
        {
            earlier.op = earlier.op.then(op);
            return;
        }
        self.pending.push(Change { kind, id: id.to_owned(), op, calendar_id });
    }

    /// What this write has recorded so far.
    pub fn recorded(&self) -> &[Change] {
        &self.pending
    }

    /// Marks that this write enqueued a job: workers everywhere are woken at commit.
    pub fn jobs_enqueued(&mut self) {
        self.wake_jobs = true;
    }

    /// Writes the recorded changes, commits, and announces them.
    pub async fn commit(mut self) -> Result<(), AppError> {
        let announced = self.flush().await?;
        self.tx.commit().await?;
        let bus = self.db.bus();
        if let Some(news) = announced {
            bus.announce(news);
        }
        if self.wake_jobs {
            bus.wake_jobs();
        }
        Ok(())
    }

    /// Throws the write away (also what dropping it does).
    pub async fn rollback(self) -> Result<(), AppError> {
        self.tx.rollback().await?;
        Ok(())
    }

    async fn flush(&mut self) -> Result<Option<Announced>, AppError> {
        if self.pending.is_empty() {
            self.notify(None).await?;
            return Ok(None);
        }
        let Some(user_id) = self.user_id.clone() else {
            tracing::error!(changes = ?self.pending, "changes recorded in a write that belongs to no user");
            return Err(AppError::Unexpected);
        };
        let changes = std::mem::take(&mut self.pending);
        for reaction in super::REACTIONS {
            reaction(self, &user_id, &changes).await?;
        }
        let now = now_ms();
        // One new revision per calendar touched (sorted: one lock order for everyone).
        let mut revisions: BTreeMap<&str, Option<i64>> = BTreeMap::new();
        for calendar_id in changes.iter().filter_map(|c| c.calendar_id.as_deref()) {
            revisions.insert(calendar_id, None);
        }
        for (calendar_id, revision) in &mut revisions {
            *revision = sqlx::query_scalar(
                "UPDATE calendars SET revision = revision + 1, changed_at = $1 WHERE id = $2 RETURNING revision",
            )
            .bind(now)
            .bind(*calendar_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        }
        let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
        let last: i64 =
            sqlx::query_scalar("UPDATE users SET change_seq = change_seq + $1 WHERE id = $2 RETURNING change_seq")
                .bind(count)
                .bind(&user_id)
                .fetch_one(&mut *self.tx)
                .await?;
        let first = last - count + 1;
        for (chunk_index, chunk) in changes.chunks(INSERT_CHUNK).enumerate() {
            let offset = first + i64::try_from(chunk_index * INSERT_CHUNK).unwrap_or(0);
            let sql = insert_sql(chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, change) in chunk.iter().enumerate() {
                let revision = change.calendar_id.as_deref().and_then(|c| revisions.get(c).copied().flatten());
                query = query
                    .bind(user_id.clone())
                    .bind(offset + i64::try_from(i).unwrap_or(0))
                    .bind(change.kind.as_str())
                    .bind(change.id.clone())
                    .bind(change.op.as_str())
                    .bind(change.calendar_id.clone())
                    .bind(revision)
                    .bind(now);
            }
            query.execute(&mut *self.tx).await?;
        }
        let news = Announced { user_id, seq: last };
        self.notify(Some(&news)).await?;
        Ok(Some(news))
    }

    /// On PostgreSQL, queues a `NOTIFY` (delivered only if the transaction commits) for the
    /// other server processes: the new end of a user's feed, and whether jobs are waiting.
    async fn notify(&mut self, news: Option<&Announced>) -> Result<(), AppError> {
        if self.db.backend() != Backend::Postgres || (news.is_none() && !self.wake_jobs) {
            return Ok(());
        }
        let payload = serde_json::json!({
            "p": self.db.bus().process(),
            "u": news.map(|n| n.user_id.clone()),
            "s": news.map(|n| n.seq),
            "j": self.wake_jobs,
        });
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(self.db.bus().channel().to_owned())
            .bind(payload.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

/// Rows per insert statement (8 values each: well under both databases' limits).
const INSERT_CHUNK: usize = 200;

fn insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=8).map(|c| format!("${}", r * 8 + c)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO changes (user_id, seq, kind, object_id, op, calendar_id, revision, at) VALUES {}",
        values.join(", ")
    )
}

/// The largest page of changes one read returns.
pub const MAX_LIMIT: i64 = 1000;
pub const DEFAULT_LIMIT: i64 = 100;

/// The changes of `user_id` after `since` that a credential seeing `kinds` may see, at
/// most `limit`, in order. Without `since`: none, only the current cursor (where a client
/// starts following). A cursor that is not one of ours is `bad_request`; one older than
/// what was kept (or newer than anything written: another database) is `cursor_expired`.
pub async fn read(
    db: &Db,
    user_id: &str,
    since: Option<&str>,
    limit: i64,
    kinds: &[Kind],
) -> Result<ChangePage, AppError> {
    let row = sqlx::query("SELECT change_seq, changes_floor FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.read())
        .await?
        .ok_or(AppError::NotFound)?;
    let (end, floor): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let Some(since) = since else {
        return Ok(ChangePage { changes: Vec::new(), cursor: end.to_string(), more: false });
    };
    let since = parse_cursor(since)?;
    if since < floor || since > end {
        return Err(AppError::CursorExpired {
            message: "This cursor is older than the changes kept (or from another server); read everything again and \
                      follow from the cursor given without since."
                .to_owned(),
        });
    }
    if kinds.is_empty() {
        return Ok(ChangePage { changes: Vec::new(), cursor: end.to_string(), more: false });
    }
    let kind_params: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 5)).collect();
    let sql = format!(
        "SELECT seq, kind, object_id, op, calendar_id, at FROM changes \
         WHERE user_id = $1 AND seq > $2 AND seq <= $3 AND kind IN ({}) ORDER BY seq LIMIT $4",
        kind_params.join(", ")
    );
    let limit = limit.clamp(1, MAX_LIMIT);
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).bind(since).bind(end).bind(limit + 1);
    for kind in kinds {
        query = query.bind(kind.as_str());
    }
    let rows = query.fetch_all(db.read()).await?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows.iter().take(usize::try_from(limit).unwrap_or(usize::MAX)) {
        let seq: i64 = row.try_get(0)?;
        let kind: String = row.try_get(1)?;
        let op: String = row.try_get(3)?;
        changes.push(ChangeInfo {
            cursor: seq.to_string(),
            kind,
            id: row.try_get(2)?,
            op,
            calendar_id: row.try_get(4)?,
            at: super::millis_to_utc(row.try_get(5)?),
        });
    }
    let cursor = match (more, changes.last()) {
        (true, Some(last)) => last.cursor.clone(),
        _ => end.to_string(),
    };
    Ok(ChangePage { changes, cursor, more })
}

/// A cursor is the decimal number of a change (what the feed hands out).
fn parse_cursor(text: &str) -> Result<i64, AppError> {
    let valid = !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| text.parse::<i64>().ok()).flatten().ok_or_else(|| {
        AppError::bad_request("The cursor is not one this server gave out; use the cursor of a response.")
    })
}

/// A calendar's revision: it grows with every change to the calendar or its events.
pub async fn calendar_revision(db: &Db, calendar_id: &str) -> Result<Option<i64>, AppError> {
    Ok(sqlx::query_scalar("SELECT revision FROM calendars WHERE id = $1")
        .bind(calendar_id)
        .fetch_optional(db.read())
        .await?)
}

/// Deletes changes written before `before_ms`, first remembering per user the newest one
/// deleted (a cursor below it has lost changes). Returns how many were deleted.
pub async fn prune(db: &Db, before_ms: i64) -> Result<u64, AppError> {
    let mut write = begin_unowned(db).await?;
    sqlx::query(
        "UPDATE users SET changes_floor = (SELECT MAX(c.seq) FROM changes c WHERE c.user_id = users.id AND c.at < $1) \
         WHERE id IN (SELECT DISTINCT user_id FROM changes WHERE at < $1)",
    )
    .bind(before_ms)
    .execute(&mut *write)
    .await?;
    let deleted = sqlx::query("DELETE FROM changes WHERE at < $1").bind(before_ms).execute(&mut *write).await?;
    // Names of objects calendar apps moved (CalDAV) matter only to syncs the feed still serves.
    sqlx::query("DELETE FROM dav_departed WHERE departed_at < $1").bind(before_ms).execute(&mut *write).await?;
    write.commit().await?;
    Ok(deleted.rows_affected())
}

/// On PostgreSQL, listens for the `NOTIFY` of other server processes on this database and
/// passes their news to this process' bus: changes to subscribers, job wake-ups to the
/// workers. Reconnects after a lost connection; ends when the database closes.
pub fn spawn_listener(db: &Db, url: &str) {
    if db.backend() != Backend::Postgres {
        return;
    }
    let db = db.clone();
    let url = url.to_owned();
    tokio::spawn(async move {
        loop {
            if db.write().is_closed() {
                return;
            }
            match listen(&db, &url).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, "listening for other server processes' changes; retrying");
                    // Whatever was announced meanwhile: workers look for jobs once more.
                    db.bus().wake_jobs();
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
}

async fn listen(db: &Db, url: &str) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(db.bus().channel()).await?;
    loop {
        let notification = tokio::select! {
            received = listener.try_recv() => received?,
            () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {
                if db.write().is_closed() { return Ok(()); }
                continue;
            }
        };
        let Some(notification) = notification else {
            // The connection was lost and is re-established by the next receive; anything
            // said in between is caught up by a look for jobs.
            db.bus().wake_jobs();
            continue;
        };
        let Ok(news) = serde_json::from_str::<serde_json::Value>(notification.payload()) else { continue };
        if news["p"].as_str() == Some(db.bus().process()) {
            continue;
        }
        if news["j"].as_bool() == Some(true) {
            db.bus().wake_jobs();
        }
        if let (Some(user_id), Some(seq)) = (news["u"].as_str(), news["s"].as_i64()) {
            db.bus().announce(Announced { user_id: user_id.to_owned(), seq });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_changes_of_one_object_read_as_what_is_left_to_do() {
        assert_eq!(Op::Created.then(Op::Updated), Op::Created);
        assert_eq!(Op::Created.then(Op::Deleted), Op::Deleted);
        assert_eq!(Op::Updated.then(Op::Deleted), Op::Deleted);
        assert_eq!(Op::Deleted.then(Op::Created), Op::Updated);
        assert_eq!(Op::Updated.then(Op::Updated), Op::Updated);
    }

    #[test]
    fn kinds_round_trip_and_a_read_scope_sees_its_own_kinds() {
        use calento::scope::{Access, Area, Scopes};
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        let calendar_only = Kind::visible_with(Scopes::none().with(Area::Calendar, Access::Read));
        assert_eq!(calendar_only, vec![Kind::Event, Kind::Calendar, Kind::Profile, Kind::Connection]);
        assert_eq!(Kind::visible_with(Scopes::all()).len(), Kind::ALL.len());
    }

    #[test]
    fn cursors_are_decimal_change_numbers() {
        assert_eq!(parse_cursor("0").ok(), Some(0));
        assert_eq!(parse_cursor("42").ok(), Some(42));
        for bad in ["", "-1", "abc", "1e3", " 1", "99999999999999999999", "１"] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn inserts_number_their_placeholders_row_by_row() {
        let sql = insert_sql(2);
        assert!(sql.ends_with("($1, $2, $3, $4, $5, $6, $7, $8), ($9, $10, $11, $12, $13, $14, $15, $16)"), "{sql}");
    }
}
