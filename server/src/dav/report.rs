//! REPORTs on a calendar: calendar-multiget and calendar-query (RFC 4791 §7.8–7.9, time
//! ranges evaluated by Calento's recurrence engine, `expand` written from it),
//! sync-collection (RFC 6578, from the change feed's per-calendar revisions) and
//! free-busy-query (RFC 4791 §7.10).

use std::collections::{BTreeSet, HashMap, HashSet};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;

use app::AppError;
use app::ssr::calendars::CalendarRow;
use app::ssr::db::Db;
use app::ssr::events::{self, EventRow};
use calento::calendar_file::{self, ExportEvent};
use calento::ics::{self, Component};
use calento::recurrence::{CalTime, ExpandError, Placed};
use calento::scope::Access;

use super::store::{self, Listing, Object};
use super::todo;
use super::xml::{self, CALDAV, DAV, Multistatus, Name};
use super::{
    Collection, Ctx, Res, SYNC_PREFIX, Target, Wanted, Who, bad_xml, bodies, listing, multistatus, need_privilege,
    object_path, readable, refuse,
};

/// At most this many instances are written by one `expand`.
const MAX_EXPANDED: usize = 20_000;

pub async fn report(
    db: &Db,
    who: &Who,
    target: &Target,
    _headers: &HeaderMap,
    body: &str,
) -> Result<Response, AppError> {
    if !who.may_any(Access::Read) {
        return Ok(need_privilege("read", "This app password can read neither calendars nor tasks."));
    }
    let doc = xml::parse(body).map_err(bad_xml)?;
    let root = doc.root_element();
    let collection = match target {
        Target::Calendar(_, id) | Target::Object(_, id, _) => readable(db, who, id).await?,
        _ => return Ok(unsupported()),
    };
    let name = Name::of(root);
    if name.is(CALDAV, "calendar-multiget") {
        multiget(db, who, &collection, root).await
    } else if name.is(CALDAV, "calendar-query") {
        query(db, who, &collection, target, root).await
    } else if name.is(DAV, "sync-collection") {
        sync(db, who, &collection, root).await
    } else if let (true, Collection::Events(calendar)) = (name.is(CALDAV, "free-busy-query"), &collection) {
        free_busy(db, who, calendar, root).await
    } else {
        Ok(unsupported())
    }
}

fn unsupported() -> Response {
    refuse(
        StatusCode::FORBIDDEN,
        Name::new(DAV, "supported-report"),
        "",
        "Calendars answer calendar-query, calendar-multiget, sync-collection and free-busy-query.",
    )
}

/// What `<c:calendar-data>` asks for, when it asks to expand: the window.
fn expand_window(root: roxmltree::Node<'_, '_>) -> Result<Option<(NaiveDateTime, NaiveDateTime)>, AppError> {
    let expand = xml::child(root, DAV, "prop")
        .and_then(|p| xml::child(p, CALDAV, "calendar-data"))
        .and_then(|d| xml::child(d, CALDAV, "expand"));
    match expand {
        None => Ok(None),
        Some(e) => Ok(Some(range_of(e)?)),
    }
}

/// A time-range's `start` and `end` (UTC, `20060104T000000Z`); a missing side is open.
fn range_of(node: roxmltree::Node<'_, '_>) -> Result<(NaiveDateTime, NaiveDateTime), AppError> {
    let read = |attr: &str, default: NaiveDateTime| -> Result<NaiveDateTime, AppError> {
        match node.attribute(attr) {
            None => Ok(default),
            Some(text) => utc_time(text).ok_or_else(|| AppError::BadRequest {
                message: format!("A time-range's {attr} is a UTC time like 20060104T000000Z."),
            }),
        }
    };
    let from = read("start", NaiveDateTime::MIN)?;
    let to = read("end", NaiveDateTime::MAX)?;
    if from >= to {
        return Err(AppError::BadRequest { message: "A time-range's end comes after its start.".to_owned() });
    }
    Ok((from.max(bound(1900)), to.min(bound(2200))))
}

fn bound(year: i32) -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default()
}

fn utc_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim().strip_suffix('Z')?;
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").ok()
}

/// Writes the responses for `objects`, with their text when it is asked for (expanded to
/// single instances when `expand` says so).
async fn respond(
    db: &Db,
    who: &Who,
    collection: &Collection,
    root: roxmltree::Node<'_, '_>,
    objects: &[&Object],
    out: &mut Multistatus,
) -> Result<(), AppError> {
    let wanted = Wanted::of(Some(root));
    let ctx = Ctx::load(db, who).await?;
    let mut bodies = if wanted.wants(CALDAV, "calendar-data") {
        match (expand_window(root)?, collection) {
            (Some((from, to)), Collection::Events(_)) => expanded(db, objects, from, to).await?,
            _ => bodies(db, who, collection, objects).await?,
        }
    } else {
        HashMap::new()
    };
    for object in objects {
        let body = bodies.remove(&object.id);
        let res = Res::Object(collection, object, body.as_deref());
        ctx.describe(out, &object_path(&who.user.id, collection.id(), &object.name), &res, &wanted);
    }
    Ok(())
}

/// The path part of an href (clients may send absolute URLs).
fn href_path(text: &str) -> &str {
    let text = text.trim();
    match text.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => text,
    }
}

async fn multiget(
    db: &Db,
    who: &Who,
    collection: &Collection,
    root: roxmltree::Node<'_, '_>,
) -> Result<Response, AppError> {
    let listing = listing(db, who, collection).await?;
    let mut found: Vec<&Object> = Vec::new();
    let mut out = Multistatus::new();
    for href in xml::elements(root).filter(|n| xml::is(*n, DAV, "href")) {
        let text = xml::text(href);
        let path = href_path(&text);
        let object = match Target::parse(path) {
            Some(Target::Object(user, id, name)) if user == who.user.id && id == collection.id() => {
                listing.by_name(&name)
            }
            _ => None,
        };
        match object {
            Some(o) if !found.iter().any(|f| f.id == o.id) => found.push(o),
            Some(_) => {}
            None => out.status(path, "404 Not Found"),
        }
    }
    respond(db, who, collection, root, &found, &mut out).await?;
    Ok(multistatus(out.finish()))
}

/// A `comp-filter`, `prop-filter` or `param-filter` (RFC 4791 §9.7).
#[derive(Debug, Default)]
struct Filter {
    name: String,
    not_defined: bool,
    time_range: Option<(NaiveDateTime, NaiveDateTime)>,
    text: Option<TextMatch>,
    comps: Vec<Filter>,
    props: Vec<Filter>,
    params: Vec<Filter>,
}

#[derive(Debug)]
struct TextMatch {
    text: String,
    negate: bool,
    octet: bool,
}

impl Filter {
    fn read(node: roxmltree::Node<'_, '_>) -> Result<Self, AppError> {
        let mut filter =
            Filter { name: node.attribute("name").unwrap_or("").to_ascii_uppercase(), ..Filter::default() };
        for child in xml::elements(node) {
            let local = child.tag_name().name();
            match local {
                "is-not-defined" => filter.not_defined = true,
                "time-range" => filter.time_range = Some(range_of(child)?),
                "text-match" => {
                    filter.text = Some(TextMatch {
                        text: xml::text(child),
                        negate: child.attribute("negate-condition") == Some("yes"),
                        octet: child.attribute("collation") == Some("i;octet"),
                    })
                }
                "comp-filter" => filter.comps.push(Filter::read(child)?),
                "prop-filter" => filter.props.push(Filter::read(child)?),
                "param-filter" => filter.params.push(Filter::read(child)?),
                _ => {}
            }
        }
        Ok(filter)
    }

    /// Whether only the object's events and their times matter (no text needed).
    fn simple(&self) -> bool {
        self.comps.is_empty() && self.props.is_empty()
    }
}

impl TextMatch {
    fn matches(&self, value: &str) -> bool {
        let found = if self.octet {
            value.contains(&self.text)
        } else {
            value.to_lowercase().contains(&self.text.to_lowercase())
        };
        found != self.negate
    }
}

/// Whether `components` (the children named as the filter names, of one parent) satisfy
/// a comp-filter. `in_range` says whether the object has an instance in a VEVENT's range.
fn comp_matches(filter: &Filter, components: &[&Component], in_range: &dyn Fn(&Filter) -> bool) -> bool {
    let named: Vec<&&Component> = components.iter().filter(|c| c.name.eq_ignore_ascii_case(&filter.name)).collect();
    if filter.not_defined {
        return named.is_empty();
    }
    if named.is_empty() {
        return false;
    }
    if filter.time_range.is_some() && filter.name == "VEVENT" && !in_range(filter) {
        return false;
    }
    named.iter().filter(|c| filter.name != "VTODO" || filter.time_range.is_none_or(|r| todo_in_range(c, r))).any(|c| {
        let children: Vec<&Component> = c.components.iter().collect();
        filter.props.iter().all(|p| prop_matches(p, c))
            && filter.comps.iter().all(|f| comp_matches(f, &children, in_range))
    })
}

/// A date or time property as a UTC instant (a date at its midnight; floating and unknown
/// zones read as UTC).
fn instant_of(component: &Component, name: &str) -> Option<NaiveDateTime> {
    let p = component.property(name)?;
    Some(match ics::parse_date_or_date_time(p.value.trim(), p.param("VALUE"))? {
        ics::DateTimeValue::Date(d) => d.and_hms_opt(0, 0, 0)?,
        ics::DateTimeValue::Utc(t) => t,
        ics::DateTimeValue::Floating(t) => match p.param("TZID").and_then(calento::calendar_file::iana_zone) {
            Some(tz) => calento::recurrence::local_to_utc(tz, t),
            None => t,
        },
    })
}

/// Whether a VTODO overlaps `[start, end)` (RFC 4791 §9.9).
fn todo_in_range(todo: &Component, (start, end): (NaiveDateTime, NaiveDateTime)) -> bool {
    let dtstart = instant_of(todo, "DTSTART");
    let due = instant_of(todo, "DUE");
    let completed = instant_of(todo, "COMPLETED");
    let created = instant_of(todo, "CREATED");
    match (dtstart, due, completed, created) {
        (Some(s), Some(d), _, _) => (start < d || start <= s) && (end > s || end >= d),
        (Some(s), None, _, _) => start <= s && end > s,
        (None, Some(d), _, _) => start < d && end >= d,
        (None, None, Some(done), Some(made)) => (start <= made || start <= done) && (end >= made || end >= done),
        (None, None, Some(done), None) => start <= done && end >= done,
        (None, None, None, Some(made)) => end > made,
        (None, None, None, None) => true,
    }
}

fn prop_matches(filter: &Filter, component: &Component) -> bool {
    let props: Vec<&ics::Property> = component.properties_named(&filter.name).collect();
    if filter.not_defined {
        return props.is_empty();
    }
    if props.is_empty() {
        return false;
    }
    props.iter().any(|p| {
        filter.text.as_ref().is_none_or(|t| t.matches(&p.text()))
            && filter.params.iter().all(|param| {
                let value = p.param(&param.name);
                if param.not_defined {
                    return value.is_none();
                }
                value.is_some_and(|v| param.text.as_ref().is_none_or(|t| t.matches(v)))
            })
    })
}

/// The masters of `listing` with an instance overlapping `[from, to)`.
async fn overlapping(
    db: &Db,
    calendar: &CalendarRow,
    listing: &Listing,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<HashSet<String>, AppError> {
    let ms = |t: NaiveDateTime| t.and_utc().timestamp_millis();
    let rows = events::rows_in_window(db, &calendar.user_id, ms(from), ms(to)).await?;
    let mut found = HashSet::new();
    for master in rows.masters.iter().filter(|m| m.calendar_id == calendar.id) {
        let own: Vec<&EventRow> =
            rows.exceptions.iter().filter(|e| e.master_id.as_deref() == Some(&master.id)).collect();
        let exceptions = own.iter().map(|e| events::exception_of(e)).collect::<Result<Vec<_>, _>>()?;
        let any = match master.series()?.occurrences(&exceptions, from, to, 1) {
            Ok(list) => !list.is_empty(),
            Err(ExpandError::TooMany { .. }) => true,
            Err(_) => false,
        };
        if any {
            found.insert(master.id.clone());
        }
    }
    // Exceptions name their master in the listing; rows of other calendars are ignored.
    found.retain(|id| listing.objects.iter().any(|o| o.id == *id));
    Ok(found)
}

async fn query(
    db: &Db,
    who: &Who,
    collection: &Collection,
    target: &Target,
    root: roxmltree::Node<'_, '_>,
) -> Result<Response, AppError> {
    let filter = xml::child(root, CALDAV, "filter")
        .and_then(|f| xml::child(f, CALDAV, "comp-filter"))
        .map(Filter::read)
        .transpose()?
        .unwrap_or(Filter { name: "VCALENDAR".to_owned(), ..Filter::default() });
    if filter.name != "VCALENDAR" {
        return Ok(refuse(
            StatusCode::FORBIDDEN,
            Name::new(CALDAV, "valid-filter"),
            "",
            "A calendar-query filter starts with the VCALENDAR component.",
        ));
    }
    let listing = listing(db, who, collection).await?;
    let mut candidates: Vec<&Object> = match target {
        Target::Object(_, _, name) => listing.by_name(name).into_iter().collect(),
        _ => listing.objects.iter().collect(),
    };
    // Each VEVENT time range asked for, with the objects that have an instance in it.
    let mut ranges: HashMap<(NaiveDateTime, NaiveDateTime), HashSet<String>> = HashMap::new();
    let mut pending: Vec<&Filter> = vec![&filter];
    while let Some(f) = pending.pop() {
        if f.name == "VEVENT"
            && let Some(range) = f.time_range
            && !ranges.contains_key(&range)
            && let Collection::Events(calendar) = collection
        {
            ranges.insert(range, overlapping(db, calendar, &listing, range.0, range.1).await?);
        }
        pending.extend(f.comps.iter());
    }
    let simple = matches!(collection, Collection::Events(_))
        && filter.props.is_empty()
        && filter.comps.iter().all(|c| c.name == "VEVENT" && !c.not_defined && c.simple());
    if simple {
        candidates.retain(|o| {
            filter.comps.iter().all(|c| c.time_range.is_none_or(|r| ranges.get(&r).is_some_and(|s| s.contains(&o.id))))
        });
    } else {
        let texts = bodies(db, who, collection, &candidates).await?;
        candidates.retain(|o| {
            let Some(text) = texts.get(&o.id) else { return false };
            let Ok(parsed) = ics::parse(text.as_bytes(), &ics::Limits::default()) else { return false };
            let tops: Vec<&Component> = parsed.components.iter().collect();
            let in_range = |f: &Filter| f.time_range.is_none_or(|r| ranges.get(&r).is_some_and(|s| s.contains(&o.id)));
            comp_matches(&filter, &tops, &in_range)
        });
    }
    let mut out = Multistatus::new();
    respond(db, who, collection, root, &candidates, &mut out).await?;
    Ok(multistatus(out.finish()))
}

/// What a sync token names: a calendar's revision and the feed's counter, or (a task
/// list's) the feed's counter alone.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Calendar(i64, i64),
    Tasks(i64),
}

fn read_token(token: &str) -> Option<Token> {
    let rest = token.trim().strip_prefix(SYNC_PREFIX)?;
    if let Some(seq) = rest.strip_prefix('t') {
        return Some(Token::Tasks(seq.parse().ok()?));
    }
    let (revision, seq) = rest.split_once('-')?;
    Some(Token::Calendar(revision.parse().ok()?, seq.parse().ok()?))
}

fn invalid_token() -> Response {
    refuse(
        StatusCode::FORBIDDEN,
        Name::new(DAV, "valid-sync-token"),
        "",
        "This sync token is not one of this calendar's, or the changes since it are no longer kept: sync again from the start.",
    )
}

async fn sync(
    db: &Db,
    who: &Who,
    collection: &Collection,
    root: roxmltree::Node<'_, '_>,
) -> Result<Response, AppError> {
    let token = xml::child(root, DAV, "sync-token").map(xml::text).unwrap_or_default();
    let ctx = Ctx::load(db, who).await?;
    // The revision is read after the feed's counter, so the token never claims more.
    let collection = &readable(db, who, collection.id()).await?;
    let new_token = ctx.sync_token(collection);
    let listing = listing(db, who, collection).await?;
    let mut out = Multistatus::new();
    if token.trim().is_empty() {
        let all: Vec<&Object> = listing.objects.iter().collect();
        respond(db, who, collection, root, &all, &mut out).await?;
        out.sync_token(&new_token);
        return Ok(multistatus(out.finish()));
    }
    let (_, floor) = store::feed_bounds(db, &who.user.id).await?;
    let changed = match (read_token(&token), collection) {
        (Some(Token::Calendar(revision, seq)), Collection::Events(calendar)) => {
            if revision > calendar.revision || seq < floor || seq > ctx.seq {
                return Ok(invalid_token());
            }
            store::changed_since(db, &calendar.id, revision, calendar.revision).await?
        }
        (Some(Token::Tasks(seq)), Collection::Tasks(_)) => {
            if seq < floor || seq > ctx.seq {
                return Ok(invalid_token());
            }
            todo::changed_since(db, &who.user.id, seq, ctx.seq).await?
        }
        _ => return Ok(invalid_token()),
    };
    let mut present: Vec<&Object> = Vec::new();
    let mut gone: BTreeSet<String> = BTreeSet::new();
    for id in changed {
        let master = listing.exceptions.get(&id).cloned().unwrap_or(id);
        match listing.objects.iter().find(|o| o.id == master) {
            Some(o) => {
                if !present.iter().any(|p| p.id == o.id) {
                    present.push(o);
                }
            }
            None => {
                gone.insert(master);
            }
        }
    }
    respond(db, who, collection, root, &present, &mut out).await?;
    for id in gone {
        let name = store::name_of_gone(db, &who.user.id, &id).await?;
        out.status(&object_path(&who.user.id, collection.id(), &name), "404 Not Found");
    }
    out.sync_token(&new_token);
    Ok(multistatus(out.finish()))
}

/// Placed instants as UTC times for an expanded instance (all-day and floating stay so).
fn as_utc(placed: Placed) -> CalTime {
    match placed {
        Placed::Date(d) => CalTime::Date(d),
        Placed::Floating(t) => CalTime::Floating(t),
        Placed::Utc(t) => CalTime::Zoned(t, chrono_tz::Tz::UTC),
    }
}

/// Each object's instances in `[from, to)` as single VEVENTs in UTC with RECURRENCE-IDs
/// (RFC 4791 §9.6.5).
async fn expanded(
    db: &Db,
    objects: &[&Object],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<HashMap<String, String>, AppError> {
    let mut out = HashMap::new();
    let mut written = 0usize;
    for object in objects {
        let rows = store::object_rows(db, &object.id).await?;
        let Some(master) = rows.iter().find(|r| r.master_id.is_none()) else { continue };
        let own: Vec<&EventRow> = rows.iter().filter(|r| r.master_id.is_some()).collect();
        let exceptions = own.iter().map(|e| events::exception_of(e)).collect::<Result<Vec<_>, _>>()?;
        let series = master.series()?;
        let found = series
            .occurrences(&exceptions, from, to, MAX_EXPANDED.saturating_sub(written).max(1))
            .map_err(|e| AppError::BadRequest { message: format!("This range cannot be expanded: {e}.") })?;
        written += found.len();
        let details: Vec<_> = found
            .iter()
            .map(|o| o.exception.and_then(|i| own.get(i).copied()).unwrap_or(master))
            .map(|row| (row, row.details()))
            .collect();
        let recurring = master.is_recurring();
        let events: Vec<ExportEvent<'_>> = found
            .iter()
            .zip(&details)
            .map(|(o, (row, details))| ExportEvent {
                uid: &master.uid,
                details,
                start: as_utc(o.instance.start),
                end: as_utc(o.instance.end),
                series: None,
                recurrence_id: (recurring || o.exception.is_some()).then(|| as_utc(o.instance.recurrence_id)),
                sequence: row.sequence,
                created: app::ssr::ical::at(row.created_at),
                modified: app::ssr::ical::at(row.updated_at),
            })
            .collect();
        let stamp = rows.iter().map(|r| r.updated_at).max().unwrap_or(0);
        out.insert(object.id.clone(), calendar_file::write("", &events, app::ssr::ical::at(stamp)));
    }
    Ok(out)
}

async fn free_busy(
    db: &Db,
    who: &Who,
    calendar: &CalendarRow,
    root: roxmltree::Node<'_, '_>,
) -> Result<Response, AppError> {
    let Some(range) = xml::child(root, CALDAV, "time-range") else {
        return Err(AppError::BadRequest { message: "A free-busy-query names a time-range.".to_owned() });
    };
    let (from, to) = range_of(range)?;
    let ms = |t: NaiveDateTime| t.and_utc().timestamp_millis();
    let rows = events::rows_in_window(db, &who.user.id, ms(from), ms(to)).await?;
    let rows = events::WindowRows {
        masters: rows.masters.into_iter().filter(|r| r.calendar_id == calendar.id).collect(),
        exceptions: rows.exceptions,
    };
    let occurrences = events::expand_rows(&rows, std::slice::from_ref(calendar), from, to)?;
    let mut busy: Vec<(i64, i64)> = occurrences
        .iter()
        .filter(|o| {
            o.status != calento::event::EventStatus::Cancelled && o.transparency != calento::event::Transparency::Free
        })
        .map(|o| (o.start_ms.max(ms(from)), o.end_ms.min(ms(to))))
        .filter(|(s, e)| s < e)
        .collect();
    busy.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (s, e) in busy {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let stamp = |t: i64| ics::format_date_time(app::ssr::millis_to_utc(t).naive_utc()) + "Z";
    let mut text =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Calento//Calento//EN\r\nBEGIN:VFREEBUSY\r\n");
    text.push_str(&format!("DTSTAMP:{}\r\n", stamp(app::ssr::now_ms())));
    text.push_str(&format!("DTSTART:{}\r\nDTEND:{}\r\n", stamp(ms(from)), stamp(ms(to))));
    for (s, e) in merged {
        text.push_str(&format!("FREEBUSY;FBTYPE=BUSY:{}/{}\r\n", stamp(s), stamp(e)));
    }
    text.push_str("END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"))], text)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_tokens_read_back_and_strangers_do_not() {
        assert_eq!(read_token(&format!("{SYNC_PREFIX}12-340")), Some(Token::Calendar(12, 340)));
        assert_eq!(read_token(&format!("{SYNC_PREFIX}t340")), Some(Token::Tasks(340)));
        assert_eq!(read_token("http://example.com/sync/12-340"), None);
        assert_eq!(read_token(&format!("{SYNC_PREFIX}x-1")), None);
    }

    #[test]
    fn text_matches_fold_case_unless_octet() {
        let m = TextMatch { text: "Lunch".into(), negate: false, octet: false };
        assert!(m.matches("team lunch"));
        let m = TextMatch { text: "Lunch".into(), negate: false, octet: true };
        assert!(!m.matches("team lunch"));
        let m = TextMatch { text: "lunch".into(), negate: true, octet: false };
        assert!(!m.matches("LUNCH"));
    }

    #[test]
    fn hrefs_may_be_absolute() {
        assert_eq!(href_path("https://cal.example.org/dav/calendars/u/c/x.ics"), "/dav/calendars/u/c/x.ics");
        assert_eq!(href_path("/dav/calendars/u/c/x.ics"), "/dav/calendars/u/c/x.ics");
    }
}
