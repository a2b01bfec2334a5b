//! What CalDAV reads and writes in storage: a calendar's objects (a series or single event
//! with its exceptions, under a resource name) with their ETags, their iCalendar text, and
//! the writes a client makes. Events are Calento's ordinary rows, written through the
//! change feed like every other write; beside them `dav_objects` keeps the text a client
//! PUT and the name it chose, served back while the rows are as that PUT left them.

use std::collections::{BTreeMap, HashMap, HashSet};

use sha2::{Digest, Sha256};

use app::AppError;
use app::ssr::calendars::CalendarRow;
use app::ssr::changes;
use app::ssr::events::{self, EventRow};
use app::ssr::{Db, ical, new_id, now_ms};
use calento::calendar_file::ImportedEvent;

/// One object of a calendar: a single event or a series with its exceptions.
#[derive(Clone, Debug)]
pub struct Object {
    /// The master row's id.
    pub id: String,
    pub uid: String,
    /// The resource name: the one the client chose, else `{id}.ics`.
    pub name: String,
    /// Without quotes.
    pub etag: String,
    /// Whether the client's own text is still the object's text.
    pub raw: bool,
    /// Newest update time of its rows (ms).
    pub updated_at: i64,
    /// A booking's event: read-only to apps (changed through the booking).
    pub booked: bool,
}

/// A calendar's objects, and for each exception row the master it belongs to.
pub struct Listing {
    pub objects: Vec<Object>,
    pub exceptions: HashMap<String, String>,
}

impl Listing {
    pub fn by_name(&self, name: &str) -> Option<&Object> {
        self.objects.iter().find(|o| o.name == name)
    }
}

/// The fields whose change means Calento wrote the event: every writer of an event row
/// sets one of them (a content edit its update time, a move its calendar, a split its
/// master, UID or key, a booking's reschedule its sequence).
#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    master_id: Option<String>,
    uid: String,
    calendar_id: String,
    recurrence_id: Option<String>,
    sequence: i64,
    updated_at: i64,
}

const KEY_COLUMNS: &str = "id, master_id, uid, calendar_id, recurrence_id, sequence, updated_at";

fn fingerprint(rows: &mut [&KeyRow]) -> String {
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let mut hasher = Sha256::new();
    for r in rows.iter() {
        hasher.update(format!(
            "{}|{}|{}|{}|{}|{}|{}\n",
            r.id,
            r.master_id.as_deref().unwrap_or(""),
            r.uid,
            r.calendar_id,
            r.recurrence_id.as_deref().unwrap_or(""),
            r.sequence,
            r.updated_at
        ));
    }
    hex(&hasher.finalize()[..16])
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The ETag of text Calento writes from the rows: their fingerprint and this build (a new
/// build may write the same rows differently).
pub(super) fn made_etag(fingerprint: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION"));
    hasher.update(fingerprint);
    hex(&hasher.finalize()[..16])
}

pub fn text_etag(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes())[..16])
}

/// The objects of a calendar with their names and ETags: two indexed reads, no text.
pub async fn list(db: &Db, calendar_id: &str) -> Result<Listing, AppError> {
    let rows: Vec<KeyRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {KEY_COLUMNS} FROM events WHERE calendar_id = $1")))
            .bind(calendar_id)
            .fetch_all(db.read())
            .await?;
    let kept: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT d.object_id, d.name, d.fingerprint, d.etag FROM dav_objects d JOIN events e ON e.id = d.object_id
          WHERE e.calendar_id = $1 AND e.master_id IS NULL",
    )
    .bind(calendar_id)
    .fetch_all(db.read())
    .await?;
    let kept: HashMap<String, (String, String, String)> =
        kept.into_iter().map(|(id, name, fp, etag)| (id, (name, fp, etag))).collect();
    let booked: HashSet<String> = sqlx::query_scalar(
        "SELECT b.event_id FROM bookings b JOIN events e ON e.id = b.event_id WHERE e.calendar_id = $1",
    )
    .bind(calendar_id)
    .fetch_all(db.read())
    .await?
    .into_iter()
    .collect();
    Ok(listing(&rows, &kept, &booked))
}

/// The objects among `ids` (event or exception ids; an exception stands for its series)
/// still in the calendar: what a sync after a few changes needs, without the rest.
pub async fn list_of(db: &Db, calendar_id: &str, ids: &[String]) -> Result<Listing, AppError> {
    if ids.is_empty() {
        return Ok(Listing { objects: Vec::new(), exceptions: HashMap::new() });
    }
    let marks = |n: usize| (2..n + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT id, master_id FROM events WHERE calendar_id = $1 AND id IN ({})", marks(ids.len()));
    let mut query = sqlx::query_as::<_, (String, Option<String>)>(sqlx::AssertSqlSafe(sql)).bind(calendar_id);
    for id in ids {
        query = query.bind(id);
    }
    let mut masters: Vec<String> =
        query.fetch_all(db.read()).await?.into_iter().map(|(id, m)| m.unwrap_or(id)).collect();
    masters.sort();
    masters.dedup();
    if masters.is_empty() {
        return Ok(Listing { objects: Vec::new(), exceptions: HashMap::new() });
    }
    let m = marks(masters.len());
    let sql =
        format!("SELECT {KEY_COLUMNS} FROM events WHERE calendar_id = $1 AND (id IN ({m}) OR master_id IN ({m}))");
    let mut query = sqlx::query_as::<_, KeyRow>(sqlx::AssertSqlSafe(sql)).bind(calendar_id);
    for id in &masters {
        query = query.bind(id);
    }
    let rows = query.fetch_all(db.read()).await?;
    let sql = format!("SELECT object_id, name, fingerprint, etag FROM dav_objects WHERE object_id IN ({})", {
        (1..=masters.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
    });
    let mut query = sqlx::query_as::<_, (String, String, String, String)>(sqlx::AssertSqlSafe(sql));
    for id in &masters {
        query = query.bind(id);
    }
    let kept =
        query.fetch_all(db.read()).await?.into_iter().map(|(id, name, fp, etag)| (id, (name, fp, etag))).collect();
    let sql = format!("SELECT event_id FROM bookings WHERE event_id IN ({})", {
        (1..=masters.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
    });
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
    for id in &masters {
        query = query.bind(id);
    }
    let booked = query.fetch_all(db.read()).await?.into_iter().collect();
    Ok(listing(&rows, &kept, &booked))
}

fn listing(rows: &[KeyRow], kept: &HashMap<String, (String, String, String)>, booked: &HashSet<String>) -> Listing {
    let mut groups: BTreeMap<&str, Vec<&KeyRow>> = BTreeMap::new();
    let mut exceptions = HashMap::new();
    for row in rows {
        let master = row.master_id.as_deref().unwrap_or(&row.id);
        if row.master_id.is_some() {
            exceptions.insert(row.id.clone(), master.to_owned());
        }
        groups.entry(master).or_default().push(row);
    }
    let mut objects = Vec::with_capacity(groups.len());
    for (master_id, mut group) in groups {
        let Some(master) = group.iter().find(|r| r.id == master_id) else { continue };
        let uid = master.uid.clone();
        let updated_at = group.iter().map(|r| r.updated_at).max().unwrap_or(0);
        let fp = fingerprint(&mut group);
        let (name, etag, raw) = match kept.get(master_id) {
            Some((name, stored, etag)) if *stored == fp => (name.clone(), etag.clone(), true),
            Some((name, _, _)) => (name.clone(), made_etag(&fp), false),
            None => (format!("{master_id}.ics"), made_etag(&fp), false),
        };
        let booked = booked.contains(master_id);
        objects.push(Object { id: master_id.to_owned(), uid, name, etag, raw, updated_at, booked });
    }
    Listing { objects, exceptions }
}

/// The iCalendar text of objects: the client's own where it still holds, else written
/// from the rows (with each object's newest update as its DTSTAMP, so the same rows give
/// the same bytes).
pub async fn bodies(db: &Db, calendar_id: &str, objects: &[&Object]) -> Result<HashMap<String, String>, AppError> {
    let mut out = HashMap::with_capacity(objects.len());
    if objects.iter().any(|o| o.raw) {
        let raws: Vec<(String, String)> = if objects.len() <= 8 {
            let mut found = Vec::new();
            for object in objects.iter().filter(|o| o.raw) {
                let raw: Option<Option<String>> =
                    sqlx::query_scalar("SELECT raw FROM dav_objects WHERE object_id = $1")
                        .bind(&object.id)
                        .fetch_optional(db.read())
                        .await?;
                if let Some(Some(raw)) = raw {
                    found.push((object.id.clone(), raw));
                }
            }
            found
        } else {
            sqlx::query_as(
                "SELECT d.object_id, d.raw FROM dav_objects d JOIN events e ON e.id = d.object_id
                  WHERE e.calendar_id = $1 AND d.raw IS NOT NULL",
            )
            .bind(calendar_id)
            .fetch_all(db.read())
            .await?
        };
        let wanted: HashMap<&str, bool> = objects.iter().map(|o| (o.id.as_str(), o.raw)).collect();
        for (id, raw) in raws {
            if wanted.get(id.as_str()) == Some(&true) {
                out.insert(id, raw);
            }
        }
    }
    let made: Vec<&&Object> = objects.iter().filter(|o| !out.contains_key(&o.id)).collect();
    if made.is_empty() {
        return Ok(out);
    }
    let rows: Vec<EventRow> = if made.len() <= 8 {
        let mut rows = Vec::new();
        for object in &made {
            rows.extend(object_rows(db, &object.id).await?);
        }
        rows
    } else {
        events::all_in_calendar(db, calendar_id).await?
    };
    let mut groups: HashMap<String, Vec<EventRow>> = HashMap::new();
    for row in rows {
        let master = row.master_id.clone().unwrap_or_else(|| row.id.clone());
        groups.entry(master).or_default().push(row);
    }
    for object in made {
        let Some(mut rows) = groups.remove(&object.id) else { continue };
        rows.sort_by_key(|r| (r.master_id.is_some(), r.recurrence_ms));
        let stamp = rows.iter().map(|r| r.updated_at).max().unwrap_or(0);
        out.insert(object.id.clone(), ical::file_of("", rows, ical::at(stamp))?);
    }
    Ok(out)
}

/// A series' rows (master first) or a single event's row.
pub async fn object_rows(db: &Db, id: &str) -> Result<Vec<EventRow>, AppError> {
    let mut rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM events WHERE id = $1 OR master_id = $1",
        events::COLUMNS
    )))
    .bind(id)
    .fetch_all(db.read())
    .await?;
    rows.sort_by_key(|r| (r.master_id.is_some(), r.recurrence_ms));
    Ok(rows)
}

/// The name an object is known by (its kept name, else `{id}.ics`), whether or not it
/// still exists (sync reports name what is gone).
pub async fn name_of_gone(db: &Db, user_id: &str, id: &str) -> Result<String, AppError> {
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM dav_objects WHERE object_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .fetch_optional(db.read())
        .await?;
    Ok(name.unwrap_or_else(|| format!("{id}.ics")))
}

/// Where an app moved an object from: the collection it left and the name it had there.
pub struct Left<'a> {
    pub collection_id: &'a str,
    pub name: &'a str,
}

/// Where a PUT's object goes: its name, the object it replaces (the one under the name, or
/// the one with its UID that it moves here), and where that one was.
pub struct Place<'a> {
    pub name: &'a str,
    pub existing: Option<&'a str>,
    pub left: Option<Left<'a>>,
}

/// Remembers, inside a move's write, the name an object had in the collection it left (or
/// had before a rename there), and forgets any such name in the collection it now is in
/// under `name` (`dav_departed`).
pub async fn moved(
    write: &mut changes::Write,
    user_id: &str,
    id: &str,
    left: &Left<'_>,
    to_collection: &str,
    name: &str,
) -> Result<(), AppError> {
    arrived(write, user_id, to_collection, id, name).await?;
    if left.collection_id != to_collection || left.name != name {
        sqlx::query(
            "INSERT INTO dav_departed (user_id, collection_id, object_id, name, departed_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, collection_id, object_id) DO UPDATE SET name = $4, departed_at = $5",
        )
        .bind(user_id)
        .bind(left.collection_id)
        .bind(id)
        .bind(left.name)
        .bind(now_ms())
        .execute(&mut **write)
        .await?;
    }
    Ok(())
}

/// An object now in `collection` under `name`: what that collection remembered of the
/// object's earlier stay, and of another object that had the name, no longer holds.
pub async fn arrived(
    write: &mut changes::Write,
    user_id: &str,
    collection: &str,
    id: &str,
    name: &str,
) -> Result<(), AppError> {
    sqlx::query("DELETE FROM dav_departed WHERE user_id = $1 AND collection_id = $2 AND (object_id = $3 OR name = $4)")
        .bind(user_id)
        .bind(collection)
        .bind(id)
        .bind(name)
        .execute(&mut **write)
        .await?;
    Ok(())
}

/// The names objects had in a collection before an app moved or renamed them, by object.
pub async fn departed(db: &Db, user_id: &str, collection: &str) -> Result<HashMap<String, String>, AppError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT object_id, name FROM dav_departed WHERE user_id = $1 AND collection_id = $2")
            .bind(user_id)
            .bind(collection)
            .fetch_all(db.read())
            .await?;
    Ok(rows.into_iter().collect())
}

/// Whether `name` is one an object had in the collection before an app moved it away.
pub async fn departed_name(db: &Db, user_id: &str, collection: &str, name: &str) -> Result<bool, AppError> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT object_id FROM dav_departed WHERE user_id = $1 AND collection_id = $2 AND name = $3 LIMIT 1",
    )
    .bind(user_id)
    .bind(collection)
    .bind(name)
    .fetch_optional(db.read())
    .await?;
    Ok(found.is_some())
}

/// An object's kept name, and the fingerprint under which its client text still holds
/// (`None`: the rows changed since, only the name is kept), for [`rename`].
pub struct Renamed<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub holds_at: Option<&'a str>,
}

/// Renames an object's kept text inside a write (a MOVE).
pub async fn rename(write: &mut changes::Write, renamed: Renamed<'_>) -> Result<(), AppError> {
    if let Some(fingerprint) = renamed.holds_at {
        sqlx::query("UPDATE dav_objects SET name = $2, fingerprint = $3, updated_at = $4 WHERE object_id = $1")
            .bind(renamed.id)
            .bind(renamed.name)
            .bind(fingerprint)
            .bind(now_ms())
            .execute(&mut **write)
            .await?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO dav_objects (object_id, kind, user_id, name, uid, raw, fingerprint, etag, updated_at)
         VALUES ($1, $2, $3, $4, $5, NULL, '', '', $6)
         ON CONFLICT (object_id) DO UPDATE SET name = $4, raw = NULL, fingerprint = '', etag = '', updated_at = $6",
    )
    .bind(renamed.id)
    .bind(renamed.kind)
    .bind(renamed.user_id)
    .bind(renamed.name)
    .bind(renamed.uid)
    .bind(now_ms())
    .execute(&mut **write)
    .await?;
    Ok(())
}

/// Moves an event object to another calendar (or renames it in its own) for a MOVE: its
/// rows keep their ids and content, recorded as gone from one calendar and new in the
/// other; the client's text, if it still holds, stays the object's text. Returns its ETag.
pub async fn relocate(
    db: &Db,
    user_id: &str,
    object: &Object,
    from: &str,
    to: &CalendarRow,
    name: &str,
) -> Result<String, AppError> {
    let mut write = changes::begin(db, user_id).await?;
    if from == to.id {
        write.record(changes::Kind::Event, &object.id, changes::Op::Updated, Some(from));
    } else {
        let moved: Vec<String> = sqlx::query_scalar(
            "UPDATE events SET calendar_id = $1 WHERE (id = $2 OR master_id = $2) AND calendar_id = $3 RETURNING id",
        )
        .bind(&to.id)
        .bind(&object.id)
        .bind(from)
        .fetch_all(&mut *write)
        .await?;
        for id in moved {
            write.record(changes::Kind::Event, &id, changes::Op::Deleted, Some(from));
            write.record(changes::Kind::Event, &id, changes::Op::Created, Some(&to.id));
        }
    }
    let rows: Vec<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {KEY_COLUMNS} FROM events WHERE id = $1 OR master_id = $1"
    )))
    .bind(&object.id)
    .fetch_all(&mut *write)
    .await?;
    let fp = fingerprint(&mut rows.iter().collect::<Vec<_>>());
    let holds_at = object.raw.then_some(fp.as_str());
    let renamed = Renamed { kind: "event", id: &object.id, user_id, name, uid: &object.uid, holds_at };
    rename(&mut write, renamed).await?;
    moved(&mut write, user_id, &object.id, &Left { collection_id: from, name: &object.name }, &to.id, name).await?;
    write.commit().await?;
    Ok(if object.raw { object.etag.clone() } else { made_etag(&fp) })
}

/// Another object of the user's with this UID, in any calendar: (calendar id, master id).
pub async fn uid_taken(
    db: &Db,
    user_id: &str,
    uid: &str,
    except_event: Option<&str>,
) -> Result<Option<(String, String)>, AppError> {
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT calendar_id, id FROM events WHERE user_id = $1 AND uid = $2 AND master_id IS NULL AND id <> $3 LIMIT 1",
    )
    .bind(user_id)
    .bind(uid)
    .bind(except_event.unwrap_or(""))
    .fetch_optional(db.read())
    .await?;
    Ok(found)
}

/// Writes an object a client PUT: the event's rows (replacing the object's old ones, same
/// id) and the client's text under its name, in one write of the change feed. Returns the
/// new ETag.
pub async fn put(
    db: &Db,
    calendar: &CalendarRow,
    event: &ImportedEvent,
    text: &str,
    place: Place<'_>,
) -> Result<String, AppError> {
    let Place { name, existing, left } = place;
    let mut write = changes::begin(db, &calendar.user_id).await?;
    let id = match existing {
        Some(id) => {
            events::delete_row(&mut write, id).await?;
            id.to_owned()
        }
        None => new_id(),
    };
    ical::write_event(&mut write, calendar, event, Some(id.clone())).await?;
    let rows: Vec<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {KEY_COLUMNS} FROM events WHERE id = $1 OR master_id = $1"
    )))
    .bind(&id)
    .fetch_all(&mut *write)
    .await?;
    let fp = fingerprint(&mut rows.iter().collect::<Vec<_>>());
    let etag = text_etag(text);
    keep(
        &mut write,
        Kept {
            kind: "event",
            id: &id,
            user_id: &calendar.user_id,
            name,
            uid: &event.uid,
            raw: text,
            fingerprint: &fp,
            etag: &etag,
        },
    )
    .await?;
    match left {
        Some(left) => moved(&mut write, &calendar.user_id, &id, &left, &calendar.id, name).await?,
        None => arrived(&mut write, &calendar.user_id, &calendar.id, &id, name).await?,
    }
    write.commit().await?;
    Ok(etag)
}

/// A client's text of an object, as `dav_objects` keeps it.
pub struct Kept<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub raw: &'a str,
    pub fingerprint: &'a str,
    pub etag: &'a str,
}

/// Writes (or replaces) the kept text of an object, inside the caller's write.
pub async fn keep(write: &mut changes::Write, kept: Kept<'_>) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO dav_objects (object_id, kind, user_id, name, uid, raw, fingerprint, etag, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (object_id) DO UPDATE SET name = $4, uid = $5, raw = $6, fingerprint = $7, etag = $8, updated_at = $9",
    )
    .bind(kept.id)
    .bind(kept.kind)
    .bind(kept.user_id)
    .bind(kept.name)
    .bind(kept.uid)
    .bind(kept.raw)
    .bind(kept.fingerprint)
    .bind(kept.etag)
    .bind(now_ms())
    .execute(&mut **write)
    .await?;
    Ok(())
}

/// Deletes an object (its series and exceptions); its name stays known for sync reports.
pub async fn delete(db: &Db, user_id: &str, event_id: &str) -> Result<(), AppError> {
    let mut write = changes::begin(db, user_id).await?;
    events::delete_row(&mut write, event_id).await?;
    forget_text(&mut write, event_id).await?;
    write.commit().await
}

/// Drops a deleted object's kept text; its row stays so sync reports can name it.
pub async fn forget_text(conn: &mut sqlx::AnyConnection, id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE dav_objects SET raw = NULL, updated_at = $2 WHERE object_id = $1")
        .bind(id)
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// What changed in a calendar after revision `after` up to `upto`: each object once, with
/// the revision of its first change there, in that order.
pub async fn changed_since(db: &Db, calendar_id: &str, after: i64, upto: i64) -> Result<Vec<(String, i64)>, AppError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT object_id, revision FROM changes
          WHERE calendar_id = $1 AND kind = 'event' AND revision > $2 AND revision <= $3 ORDER BY revision",
    )
    .bind(calendar_id)
    .bind(after)
    .bind(upto)
    .fetch_all(db.read())
    .await?;
    Ok(first_of_each(rows))
}

/// Each id once, at its first place.
pub fn first_of_each(rows: Vec<(String, i64)>) -> Vec<(String, i64)> {
    let mut seen = std::collections::HashSet::new();
    rows.into_iter().filter(|(id, _)| seen.insert(id.clone())).collect()
}

/// The user's change counter and the newest change pruned away.
pub async fn feed_bounds(db: &Db, user_id: &str) -> Result<(i64, i64), AppError> {
    let (seq, floor): (i64, i64) = sqlx::query_as("SELECT change_seq, changes_floor FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(db.read())
        .await?;
    Ok((seq, floor))
}

/// Properties a client set on a calendar or a task list that Calento keeps as given, by
/// collection: (Clark name, text).
pub async fn dead_properties(db: &Db, user_id: &str) -> Result<HashMap<String, Vec<(String, String)>>, AppError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT calendar_id, name, value FROM dav_properties WHERE user_id = $1
         UNION ALL SELECT list_id, name, value FROM dav_list_properties WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(db.read())
    .await?;
    let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (calendar, name, value) in rows {
        out.entry(calendar).or_default().push((name, value));
    }
    Ok(out)
}

/// Whose dead properties are set: a calendar's, or a task list's ("Tasks" or a zone).
pub enum PropertiesOf<'a> {
    Calendar(&'a CalendarRow),
    List { user_id: &'a str, id: &'a str, zone: bool },
}

/// Sets (Some) or removes (None) dead properties of a calendar or a task list, recorded as
/// a change of the calendar (or of the zone a list is).
pub async fn set_dead_properties(
    db: &Db,
    owner: PropertiesOf<'_>,
    values: &[(String, Option<String>)],
) -> Result<(), AppError> {
    // (table, its collection column, its conflict target, user, collection)
    let (table, column, conflict, user_id, id) = match &owner {
        PropertiesOf::Calendar(c) => ("dav_properties", "calendar_id", "calendar_id, name", &c.user_id[..], &c.id[..]),
        PropertiesOf::List { user_id, id, .. } => {
            ("dav_list_properties", "list_id", "user_id, list_id, name", *user_id, *id)
        }
    };
    let mut write = changes::begin(db, user_id).await?;
    for (name, value) in values {
        match value {
            Some(value) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} ({column}, user_id, name, value) VALUES ($1, $2, $3, $4)
                     ON CONFLICT ({conflict}) DO UPDATE SET value = $4"
                )))
                .bind(id)
                .bind(user_id)
                .bind(name)
                .bind(value)
                .execute(&mut *write)
                .await?;
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE {column} = $1 AND user_id = $2 AND name = $3"
                )))
                .bind(id)
                .bind(user_id)
                .bind(name)
                .execute(&mut *write)
                .await?;
            }
        }
    }
    match owner {
        PropertiesOf::Calendar(c) => write.record(changes::Kind::Calendar, &c.id, changes::Op::Updated, Some(&c.id)),
        PropertiesOf::List { id, zone: true, .. } => write.record(changes::Kind::Zone, id, changes::Op::Updated, None),
        PropertiesOf::List { .. } => {}
    }
    write.commit().await
}
