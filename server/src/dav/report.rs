//! REPORTs on a calendar: calendar-multiget and calendar-query (RFC 4791 §7.8–7.9, time
//! ranges evaluated by Calento's recurrence engine, `expand` written from it),
//! sync-collection (RFC 6578, from the change feed's per-calendar revisions) and
//! free-busy-query (RFC 4791 §7.10).

use std::collections::{HashMap, HashSet};

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
    let name = Name::of(root);
    let collection = match target {
        Target::Calendar(_, id) | Target::Object(_, id, _) => readable(db, who, id).await?,
        _ if name.is(DAV, "principal-property-search") || name.is(DAV, "principal-match") => {
            return principals(db, who, root).await;
        }
        _ => return Ok(unsupported()),
    };
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

/// principal-property-search and principal-match (RFC 3744 §9.3–9.4): an account sees
/// only its own principal, and finds it by its name, username or email.
async fn principals(db: &Db, who: &Who, root: roxmltree::Node<'_, '_>) -> Result<Response, AppError> {
    let user = &who.user;
    let known = [user.name.to_lowercase(), user.username.to_lowercase(), user.email.to_lowercase()];
    let matches = xml::elements(root).filter(|n| xml::is(*n, DAV, "property-search")).all(|search| {
        let wanted = xml::child(search, DAV, "match").map(xml::text).unwrap_or_default().to_lowercase();
        known.iter().any(|k| k.contains(wanted.trim()))
    });
    let mut wanted = Wanted::of(Some(root));
    if matches!(&wanted, Wanted::Props(names) if names.is_empty()) {
        // python caldav (3.6) writes the properties beside an empty <prop/>: read them there.
        let siblings = xml::elements(root)
            .filter(|n| !xml::is(*n, DAV, "property-search") && !xml::is(*n, DAV, "prop") && !xml::is(*n, DAV, "self"))
            .filter(|n| !xml::is(*n, DAV, "apply-to-principal-collection-set"))
            .map(Name::of)
            .collect();
        wanted = Wanted::Props(siblings);
    }
    let ctx = Ctx::load(db, who).await?;
    let mut out = Multistatus::new();
    if matches {
        ctx.describe(&mut out, &super::principal_path(&user.id), &Res::Principal, &wanted);
    }
    Ok(multistatus(out.finish()))
}

fn unsupported() -> Response {
    refuse(
        StatusCode::FORBIDDEN,
        Name::new(DAV, "supported-report"),
        "",
        "Calendars answer calendar-query, calendar-multiget, sync-collection and free-busy-query.",
    )
}

/// The window `<c:calendar-data>` gives with `element` (`expand` or
/// `limit-recurrence-set`), when it has one.
fn data_window(
    root: roxmltree::Node<'_, '_>,
    element: &str,
) -> Result<Option<(NaiveDateTime, NaiveDateTime)>, AppError> {
    xml::child(root, DAV, "prop")
        .and_then(|p| xml::child(p, CALDAV, "calendar-data"))
        .and_then(|d| xml::child(d, CALDAV, element))
        .map(range_of)
        .transpose()
}

/// An object's text with only the overridden instances (components with a RECURRENCE-ID)
/// that touch `[from, to)`, where they are now or where they were: the master and the
/// rest stay (RFC 4791 §9.6.6). `None` when nothing is left out.
fn limited(text: &str, from: NaiveDateTime, to: NaiveDateTime) -> Option<String> {
    let parsed = ics::parse(text.as_bytes(), &ics::Limits::default()).ok()?;
    let calendar = parsed.components.iter().find(|c| c.name == "VCALENDAR")?;
    let touches = |c: &Component| {
        let start = instant_of(c, "DTSTART");
        let end = start.map(|s| s + instant_length(c));
        let now_in = match (start, end) {
            (Some(s), Some(e)) if e > s => s < to && e > from,
            (Some(s), _) => s >= from && s < to,
            _ => true,
        };
        let was_in = instant_of(c, "RECURRENCE-ID").is_some_and(|r| r >= from && r < to);
        now_in || was_in
    };
    let dropped = |c: &Component| {
        matches!(c.name.as_str(), "VEVENT" | "VTODO") && c.property("RECURRENCE-ID").is_some() && !touches(c)
    };
    if !calendar.components.iter().any(dropped) {
        return None;
    }
    let mut out = Component::new("VCALENDAR");
    for p in &calendar.properties {
        out.push(p.clone());
    }
    for c in calendar.components.iter().filter(|c| !dropped(c)) {
        out.push_component(c.clone());
    }
    Some(ics::write(&out))
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
    ctx: &Ctx<'_>,
    collection: &Collection,
    root: roxmltree::Node<'_, '_>,
    objects: &[&Object],
    out: &mut Multistatus,
) -> Result<(), AppError> {
    let wanted = Wanted::of(Some(root));
    let mut bodies = if wanted.wants(CALDAV, "calendar-data") {
        match (data_window(root, "expand")?, collection) {
            (Some((from, to)), Collection::Events(_)) => expanded(db, objects, from, to).await?,
            (Some((from, to)), Collection::Tasks(_)) => {
                let mut texts = bodies(db, who, collection, objects).await?;
                for text in texts.values_mut() {
                    if let Some(instances) = expanded_todo(text, from, to) {
                        *text = instances;
                    }
                }
                texts
            }
            _ => {
                let mut texts = bodies(db, who, collection, objects).await?;
                if let Some((from, to)) = data_window(root, "limit-recurrence-set")? {
                    for text in texts.values_mut() {
                        if let Some(fewer) = limited(text, from, to) {
                            *text = fewer;
                        }
                    }
                }
                texts
            }
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
pub(super) fn href_path(text: &str) -> &str {
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
    let ctx = Ctx::load(db, who).await?;
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
    respond(db, who, &ctx, collection, root, &found, &mut out).await?;
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
    comp_matches_in(filter, components, None, in_range)
}

/// [`comp_matches`] for the children of `parent` (a VALARM's time range is its trigger's,
/// which counts from its event or task).
fn comp_matches_in(
    filter: &Filter,
    components: &[&Component],
    parent: Option<&Component>,
    in_range: &dyn Fn(&Filter) -> bool,
) -> bool {
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
    let timely = |c: &Component| match (filter.name.as_str(), filter.time_range) {
        (_, None) => true,
        ("VTODO", Some(r)) => todo_in_range(c, r),
        ("VALARM", Some(r)) => parent.is_some_and(|p| alarm_in_range(p, c, r)),
        _ => true,
    };
    named.iter().filter(|c| timely(c)).any(|c| {
        let children: Vec<&Component> = c.components.iter().collect();
        filter.props.iter().all(|p| prop_matches(p, c))
            && filter.comps.iter().all(|f| comp_matches_in(f, &children, Some(c), in_range))
    })
}

/// Whether an alarm of `parent` triggers in `[start, end)` (RFC 4791 §9.9): its TRIGGER
/// as a time, or as a duration from the start (or, `RELATED=END`, the end) of the event or
/// task, for each of its instances when it repeats.
fn alarm_in_range(parent: &Component, alarm: &Component, (start, end): (NaiveDateTime, NaiveDateTime)) -> bool {
    let Some(trigger) = alarm.property("TRIGGER") else { return false };
    if trigger.param("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE-TIME")) {
        return instant_of(alarm, "TRIGGER").is_some_and(|t| start <= t && t < end);
    }
    let Some(d) = ics::parse_duration(trigger.value.trim()) else { return false };
    let offset = exact(d);
    let from_end = trigger.param("RELATED").is_some_and(|r| r.eq_ignore_ascii_case("END"));
    let series = if parent.name == "VTODO" {
        todo_series(parent)
    } else {
        let mut calendar = Component::new("VCALENDAR");
        calendar.push(ics::Property::new("VERSION", "2.0")).push_component(parent.clone());
        calendar_file::read(ics::write(&calendar).as_bytes())
            .ok()
            .and_then(|f| f.events.into_iter().next())
            .map(|e| e.series)
    };
    match series {
        // The instants the alarm counts from fall in the range moved back by its offset.
        Some(series) => {
            let length = if from_end { instant_length(parent) } else { chrono::Duration::zero() };
            let (from, to) = (start - offset - length, end - offset - length);
            match series.occurrences(&[], from, to + chrono::Duration::seconds(1), 100_000) {
                Ok(found) => found.iter().any(|o| {
                    let at = placed_instant(o.instance.start) + offset + length;
                    start <= at && at < end
                }),
                Err(_) => false,
            }
        }
        None => {
            let base = if from_end {
                instant_of(parent, "DTEND").or_else(|| instant_of(parent, "DUE"))
            } else {
                instant_of(parent, "DTSTART").or_else(|| instant_of(parent, "DUE"))
            };
            base.is_some_and(|b| start <= b + offset && b + offset < end)
        }
    }
}

/// An event's or task's length from its DTSTART to its DTEND or DUE (zero without one).
fn instant_length(c: &Component) -> chrono::Duration {
    match (instant_of(c, "DTSTART"), instant_of(c, "DTEND").or_else(|| instant_of(c, "DUE"))) {
        (Some(s), Some(e)) => e - s,
        _ => chrono::Duration::zero(),
    }
}

fn placed_instant(placed: Placed) -> NaiveDateTime {
    match placed {
        Placed::Date(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default(),
        Placed::Floating(t) | Placed::Utc(t) => t,
    }
}

/// A DURATION as exact time (days as 24 hours: instants here are UTC).
fn exact(d: ics::NominalDuration) -> chrono::Duration {
    let seconds = (d.weeks * 7 + d.days) * 86_400 + d.seconds;
    chrono::Duration::seconds(if d.negative { -seconds } else { seconds })
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

/// A repeating VTODO's series, read as Calento reads a VEVENT: DTSTART (or DUE alone) as
/// the start, DUE or DURATION for the length, and the rule and dates as written.
fn todo_series(todo: &Component) -> Option<calento::recurrence::Series> {
    if todo.property("RRULE").is_none() && todo.property("RDATE").is_none() {
        return None;
    }
    let mut event = Component::new("VEVENT");
    let has_start = todo.property("DTSTART").is_some();
    for p in &todo.properties {
        let mut p = p.clone();
        match p.name.as_str() {
            "UID" | "DTSTART" | "RRULE" | "RDATE" | "EXDATE" | "DURATION" => {}
            "DUE" if has_start => p.name = "DTEND".to_owned(),
            "DUE" => p.name = "DTSTART".to_owned(),
            _ => continue,
        }
        event.push(p);
    }
    let mut calendar = Component::new("VCALENDAR");
    calendar.push(ics::Property::new("VERSION", "2.0")).push_component(event);
    let file = calendar_file::read(ics::write(&calendar).as_bytes()).ok()?;
    file.events.into_iter().next().map(|e| e.series)
}

/// Whether a VTODO overlaps `[start, end)` (RFC 4791 §9.9); a repeating one when any
/// instance does.
fn todo_in_range(todo: &Component, (start, end): (NaiveDateTime, NaiveDateTime)) -> bool {
    if let Some(series) = todo_series(todo) {
        return match series.occurrences(&[], start, end, 1) {
            Ok(found) => !found.is_empty(),
            Err(ExpandError::TooMany { .. }) => true,
            Err(_) => false,
        };
    }
    let dtstart = instant_of(todo, "DTSTART");
    // DTSTART with a DURATION ends where a DUE would (RFC 4791 §9.9, first row).
    let length = todo.property("DURATION").and_then(|p| ics::parse_duration(p.value.trim()));
    let due = instant_of(todo, "DUE").or_else(|| Some(dtstart? + exact(length?)));
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
    let ctx = Ctx::load(db, who).await?;
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
    respond(db, who, &ctx, collection, root, &candidates, &mut out).await?;
    Ok(multistatus(out.finish()))
}

/// What a sync token names: a calendar's revision and the feed's counter, or (a task
/// list's) the feed's counter alone; and, while a first sync comes in parts, the last
/// object sent.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Calendar(i64, i64, Option<String>),
    Tasks(i64, Option<String>),
}

fn read_token(token: &str) -> Option<Token> {
    let rest = token.trim().strip_prefix(SYNC_PREFIX)?;
    let after = |part: Option<&str>| part.filter(|p| !p.is_empty()).map(str::to_owned);
    if let Some(rest) = rest.strip_prefix('t') {
        let mut parts = rest.splitn(2, '-');
        let seq = parts.next()?.parse().ok()?;
        return Some(Token::Tasks(seq, after(parts.next())));
    }
    let mut parts = rest.splitn(3, '-');
    let revision = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    Some(Token::Calendar(revision, seq, after(parts.next())))
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
    let limit: Option<usize> = xml::child(root, DAV, "limit")
        .and_then(|l| xml::child(l, DAV, "nresults"))
        .and_then(|n| xml::text(n).trim().parse().ok())
        .filter(|n| *n > 0);
    let ctx = Ctx::load(db, who).await?;
    // The revision is read after the feed's counter, so the token never claims more.
    let collection = &readable(db, who, collection.id()).await?;
    let floor = ctx.floor;
    // Where the client is: the mark (revision or feed counter) it has everything up to,
    // and during a first sync in parts, the last object it was sent.
    let (mark, after): (Option<i64>, Option<String>) = if token.trim().is_empty() {
        (None, None)
    } else {
        match (read_token(&token), collection) {
            (Some(Token::Calendar(revision, seq, after)), Collection::Events(calendar)) => {
                if revision > calendar.revision || seq < floor || seq > ctx.seq {
                    return Ok(invalid_token());
                }
                (Some(revision), after)
            }
            (Some(Token::Tasks(seq, after)), Collection::Tasks(_)) => {
                if seq < floor || seq > ctx.seq {
                    return Ok(invalid_token());
                }
                (Some(seq), after)
            }
            _ => return Ok(invalid_token()),
        }
    };
    let now = match collection {
        Collection::Events(calendar) => calendar.revision,
        Collection::Tasks(_) => ctx.seq,
    };
    let changed = match (mark, collection) {
        (None, _) => Vec::new(),
        (Some(m), Collection::Events(calendar)) => store::changed_since(db, &calendar.id, m, now).await?,
        (Some(m), Collection::Tasks(_)) => todo::changed_since(db, &who.user.id, m, now).await?,
    };
    // A sync after a few changes reads only the objects that changed.
    let mut listing = match (collection, &mark, &after) {
        (Collection::Events(calendar), Some(_), None) if changed.len() <= 500 => {
            let ids: Vec<String> = changed.iter().map(|(id, _)| id.clone()).collect();
            store::list_of(db, &calendar.id, &ids).await?
        }
        _ => listing(db, who, collection).await?,
    };
    listing.objects.sort_by(|a, b| a.id.cmp(&b.id));
    // Objects of a first sync not sent yet.
    let first: Vec<&Object> = match (&mark, &after) {
        (None, _) => listing.objects.iter().collect(),
        (Some(_), Some(after)) => listing.objects.iter().filter(|o| o.id > *after).collect(),
        (Some(_), None) => Vec::new(),
    };
    // What changed, by object (exceptions count as their series), once, in order.
    let mut delta: Vec<(String, i64)> = Vec::new();
    for (id, at) in changed {
        let master = listing.exceptions.get(&id).cloned().unwrap_or(id);
        if after.as_ref().is_some_and(|a| master > *a) || delta.iter().any(|(d, _)| *d == master) {
            continue;
        }
        delta.push((master, at));
    }
    let mut new_mark = now;
    let mut sent_first = first.len();
    let mut truncated = false;
    if let Some(n) = limit
        && delta.len() + first.len() > n
    {
        truncated = true;
        if delta.len() >= n {
            // Whole marks only: everything up to the last one sent is then known.
            let cut = delta[n - 1].1;
            let keep = delta.iter().take_while(|(_, at)| *at <= cut).count();
            delta.truncate(keep.max(1));
            new_mark = delta.last().map_or(now, |(_, at)| *at);
            sent_first = 0;
        } else {
            sent_first = n - delta.len();
        }
    }
    let first = &first[..sent_first];
    let resume = (sent_first > 0 && truncated).then(|| first.last().map(|o| o.id.clone())).flatten().or_else(|| {
        // Still inside a first sync when none of it was sent this time.
        if truncated && sent_first == 0 { after.clone() } else { None }
    });
    let new_token = match collection {
        Collection::Events(_) => format!("{SYNC_PREFIX}{new_mark}-{}", ctx.seq),
        Collection::Tasks(_) => format!("{SYNC_PREFIX}t{new_mark}"),
    };
    let new_token = match &resume {
        Some(id) => format!("{new_token}-{id}"),
        None => new_token,
    };
    let mut present: Vec<&Object> = first.to_vec();
    let mut gone: Vec<String> = Vec::new();
    for (id, _) in &delta {
        match listing.objects.iter().find(|o| o.id == *id) {
            Some(o) if !present.iter().any(|p| p.id == o.id) => present.push(o),
            Some(_) => {}
            None => gone.push(id.clone()),
        }
    }
    let mut out = Multistatus::new();
    respond(db, who, &ctx, collection, root, &present, &mut out).await?;
    // Names an app moved objects away from (to another collection or name) are gone too.
    let departed =
        if delta.is_empty() { HashMap::new() } else { store::departed(db, &who.user.id, collection.id()).await? };
    let mut gone_names = Vec::new();
    for object in &present {
        if let Some(old) = departed.get(&object.id).filter(|old| **old != object.name) {
            gone_names.push(old.clone());
        }
    }
    for id in gone {
        let name = store::name_of_gone(db, &who.user.id, &id).await?;
        if let Some(old) = departed.get(&id).filter(|old| **old != name) {
            gone_names.push(old.clone());
        }
        gone_names.push(name);
    }
    for name in gone_names {
        out.status(&object_path(&who.user.id, collection.id(), &name), "404 Not Found");
    }
    if truncated {
        // RFC 6578 §3.6: more to come; the token continues from here.
        out.status(&super::calendar_path(&who.user.id, collection.id()), "507 Insufficient Storage");
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

/// A repeating VTODO's instances in `[from, to)` as VTODOs in UTC with RECURRENCE-IDs;
/// `None` for a task that does not repeat (or cannot be read), which is kept as it is.
fn expanded_todo(text: &str, from: NaiveDateTime, to: NaiveDateTime) -> Option<String> {
    let parsed = ics::parse(text.as_bytes(), &ics::Limits::default()).ok()?;
    let calendar = parsed.components.iter().find(|c| c.name == "VCALENDAR")?;
    let todo = calendar.components_named("VTODO").next()?;
    let series = todo_series(todo)?;
    let found = series.occurrences(&[], from, to, MAX_EXPANDED).ok()?;
    let has_start = todo.property("DTSTART").is_some();
    let has_due = todo.property("DUE").is_some();
    let stamp = |placed: Placed, name: &str| match placed {
        Placed::Date(d) => ics::Property::new(name, ics::format_date(d)).with_param("VALUE", "DATE"),
        Placed::Floating(t) => ics::Property::new(name, ics::format_date_time(t)),
        Placed::Utc(t) => ics::Property::new(name, format!("{}Z", ics::format_date_time(t))),
    };
    let mut out = Component::new("VCALENDAR");
    out.push(ics::Property::new("VERSION", "2.0")).push(ics::Property::new("PRODID", "-//Calento//Calento//EN"));
    for occurrence in found {
        let mut instance = Component::new("VTODO");
        for p in &todo.properties {
            if !matches!(p.name.as_str(), "DTSTART" | "DUE" | "RRULE" | "RDATE" | "EXDATE" | "DURATION") {
                instance.push(p.clone());
            }
        }
        instance.push(stamp(occurrence.instance.recurrence_id, "RECURRENCE-ID"));
        if has_start {
            instance.push(stamp(occurrence.instance.start, "DTSTART"));
            if has_due {
                instance.push(stamp(occurrence.instance.end, "DUE"));
            }
        } else {
            instance.push(stamp(occurrence.instance.start, "DUE"));
        }
        out.push_component(instance);
    }
    Some(ics::write(&out))
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
        assert_eq!(read_token(&format!("{SYNC_PREFIX}12-340")), Some(Token::Calendar(12, 340, None)));
        assert_eq!(
            read_token(&format!("{SYNC_PREFIX}12-340-01ABC")),
            Some(Token::Calendar(12, 340, Some("01ABC".into())))
        );
        assert_eq!(read_token(&format!("{SYNC_PREFIX}t340")), Some(Token::Tasks(340, None)));
        assert_eq!(read_token(&format!("{SYNC_PREFIX}t340-01ABC")), Some(Token::Tasks(340, Some("01ABC".into()))));
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
