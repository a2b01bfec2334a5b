//! iCalendar files as calendars: reading VEVENTs (with their rules, exclusions, extra dates,
//! moved instances and time zones) into series, and writing series back out.

use std::collections::{BTreeMap, HashMap, hash_map};
use std::str::FromStr;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use crate::event::{Attendee, EventDetails, EventStatus, MAX_TITLE, Response, Transparency};
use crate::ics::{self, Component, DateTimeValue, Property};
use crate::recurrence::{CalTime, ExtraDate, Length, Rule, Series, local_to_utc, utc_to_local};

/// One series read from a file, with its moved or cancelled instances.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedEvent {
    pub uid: String,
    pub line: usize,
    pub details: EventDetails,
    pub start: CalTime,
    pub end: CalTime,
    pub series: Series,
    pub sequence: i64,
    pub exceptions: Vec<ImportedException>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportedException {
    pub line: usize,
    pub recurrence_id: CalTime,
    pub details: EventDetails,
    pub start: CalTime,
    pub end: CalTime,
}

impl ImportedEvent {
    /// The moved and cancelled instances as the recurrence module takes them.
    pub fn exceptions(&self) -> Vec<crate::recurrence::Exception> {
        self.exceptions
            .iter()
            .map(|e| crate::recurrence::Exception {
                recurrence_id: e.recurrence_id,
                start: e.start,
                end: e.end,
                cancelled: e.details.status == EventStatus::Cancelled,
            })
            .collect()
    }
}

/// Something in the file that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub uid: Option<String>,
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CalendarFile {
    pub name: Option<String>,
    pub events: Vec<ImportedEvent>,
    pub skipped: Vec<Skipped>,
}

/// Reads an iCalendar file. Structural damage (a missing END, a file too large) fails the
/// whole file; a bad event is skipped with its reason; a bad line is skipped and reported.
///
/// Each VEVENT becomes an [`ImportedEvent`] as soon as its END is read and its text is
/// dropped, so what a large or hostile file holds in memory is its events, not its lines.
/// An event naming a time zone whose VTIMEZONE comes later in the file waits for the end.
pub fn read(input: &[u8]) -> Result<CalendarFile, ics::IcsError> {
    let mut readings: Vec<Reading> = Vec::new();
    let parsed = ics::parse_each(input, &ics::Limits::default(), |parent, child| {
        if parent.name != "VCALENDAR" {
            return Some(child);
        }
        if readings.last().is_none_or(|r| r.line != parent.line) {
            readings.push(Reading::new(parent.line));
        }
        let reading = readings.last_mut()?;
        match child.name.as_str() {
            "VTIMEZONE" => {
                reading.zones.add(&child);
                None
            }
            "VEVENT" if reading.zones.knows_every_zone_of(&child) => {
                reading.event(&child);
                None
            }
            _ => Some(child),
        }
    })?;
    let mut file = CalendarFile::default();
    for problem in &parsed.problems {
        file.skipped.push(Skipped { uid: None, line: problem.line, reason: problem.message.clone() });
    }
    let calendars: Vec<&Component> = parsed.components.iter().filter(|c| c.name == "VCALENDAR").collect();
    if calendars.is_empty() {
        return Err(ics::IcsError {
            line: 0,
            message: "This is not an iCalendar file: it has no BEGIN:VCALENDAR.".into(),
        });
    }
    for calendar in calendars {
        if file.name.is_none() {
            file.name = calendar.property("X-WR-CALNAME").map(|p| p.text()).filter(|n| !n.trim().is_empty());
        }
        let mut reading = match readings.iter().position(|r| r.line == calendar.line) {
            Some(at) => readings.swap_remove(at),
            None => Reading::new(calendar.line),
        };
        for event in calendar.components_named("VEVENT") {
            reading.event(event);
        }
        reading.finish(&mut file);
    }
    // Lines are unique per event, so the unstable sort (which needs no buffer) is exact.
    file.events.sort_unstable_by_key(|e| e.line);
    Ok(file)
}

/// One VCALENDAR of a file being read: its zones, its series and their changed instances.
struct Reading {
    /// The line of the VCALENDAR's BEGIN.
    line: usize,
    zones: ZoneMap,
    /// The series in the order read. They are held once: this vector becomes the file's
    /// list of events, so a large file's events are never copied from one collection to
    /// another (on a 20 MiB file that copy was the import's peak of memory).
    masters: Vec<ImportedEvent>,
    /// Where each UID's series is in `masters`.
    by_uid: HashMap<String, usize>,
    moved: Vec<(String, ImportedException)>,
    skipped: Vec<Skipped>,
}

impl Reading {
    fn new(line: usize) -> Self {
        Self {
            line,
            zones: ZoneMap(BTreeMap::new()),
            masters: Vec::new(),
            by_uid: HashMap::new(),
            moved: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Reads one VEVENT: a series, or a changed instance kept until every series is read.
    fn event(&mut self, component: &Component) {
        let uid = component.property("UID").map(|p| p.text()).filter(|u| !u.trim().is_empty());
        let uid =
            uid.map(|u| u.trim().chars().take(255).collect::<String>()).unwrap_or_else(|| synthetic_uid(component));
        let skip = |uid: String, line: usize, reason: String| Skipped { uid: Some(uid), line, reason };
        if component.property("RECURRENCE-ID").is_some() {
            match read_exception(component, &self.zones) {
                Ok(exception) => self.moved.push((uid, exception)),
                Err(reason) => self.skipped.push(skip(uid, component.line, reason)),
            }
            return;
        }
        match read_master(component, &self.zones, &uid) {
            Ok(event) => match self.by_uid.entry(uid) {
                hash_map::Entry::Vacant(slot) => {
                    slot.insert(self.masters.len());
                    self.masters.push(event);
                }
                // The first in the file is kept (an event may have waited for its zone).
                hash_map::Entry::Occupied(slot) => {
                    let kept = &mut self.masters[*slot.get()];
                    let later = if kept.line > event.line { std::mem::replace(kept, event).line } else { event.line };
                    let uid = slot.key().clone();
                    self.skipped.push(skip(uid, later, "Another event in this file has the same UID.".into()));
                }
            },
            Err(reason) => self.skipped.push(skip(uid, component.line, reason)),
        }
    }

    /// Gives each series its changed instances (the first change of an instance wins) and
    /// adds the series to `file`.
    fn finish(mut self, file: &mut CalendarFile) {
        self.moved.sort_by_key(|(_, exception)| exception.line);
        for (uid, exception) in self.moved {
            match self.by_uid.get(&uid).map(|&at| &mut self.masters[at]) {
                Some(master) => {
                    let key = master.series.placed(exception.recurrence_id);
                    if master.exceptions.iter().any(|e| master.series.placed(e.recurrence_id) == key) {
                        self.skipped.push(Skipped {
                            uid: Some(uid),
                            line: exception.line,
                            reason: "This instance is changed twice in the file; the first change is kept.".into(),
                        });
                    } else {
                        master.exceptions.push(exception);
                    }
                }
                None => self.skipped.push(Skipped {
                    uid: Some(uid),
                    line: exception.line,
                    reason: "A changed instance (RECURRENCE-ID) whose repeating event is not in the file.".into(),
                }),
            }
        }
        if file.events.is_empty() {
            file.events = self.masters;
        } else {
            file.events.append(&mut self.masters);
        }
        file.skipped.append(&mut self.skipped);
    }
}

/// A stable UID for an event that has none, so importing the file again updates it.
fn synthetic_uid(component: &Component) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for name in ["DTSTART", "SUMMARY", "DTEND", "RRULE"] {
        for byte in component.property(name).map(|p| p.value.as_str()).unwrap_or_default().bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}@import.calento")
}

/// TZIDs of the file mapped to IANA zones.
struct ZoneMap(BTreeMap<String, Option<Tz>>);

impl ZoneMap {
    /// Adds a VTIMEZONE: its TZID, mapped by name, by its X-LIC-LOCATION, or by its offsets.
    fn add(&mut self, zone: &Component) {
        // The TZID property is TEXT: Exchange writes display names with escaped commas
        // (`(UTC+01:00) Amsterdam\, Berlin\, …`) that events name unescaped, in quotes.
        let Some(tzid) = zone.property("TZID").map(|p| p.text()) else { return };
        let hint = zone.property("X-LIC-LOCATION").and_then(|p| iana_zone(&p.value));
        let found = iana_zone(&tzid).or(hint).or_else(|| zone_by_offsets(zone));
        self.0.insert(tzid, found);
    }

    /// Whether every TZID an event names is known now (by a VTIMEZONE read or by name).
    fn knows_every_zone_of(&self, event: &Component) -> bool {
        event
            .properties
            .iter()
            .filter_map(|p| p.param("TZID"))
            .all(|tzid| self.0.contains_key(tzid) || iana_zone(tzid).is_some())
    }

    fn get(&self, tzid: &str) -> Result<Tz, String> {
        match self.0.get(tzid) {
            Some(Some(tz)) => Ok(*tz),
            _ => iana_zone(tzid).ok_or_else(|| format!("Unknown time zone \u{201c}{}\u{201d}.", short(tzid))),
        }
    }
}

/// The IANA zone a TZID names: the name itself, a path ending in one
/// (`/mozilla.org/…/Europe/Berlin`), or a common Windows name.
pub fn iana_zone(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim().trim_matches('"');
    if let Ok(tz) = Tz::from_str(tzid) {
        return Some(tz);
    }
    let parts: Vec<&str> = tzid.split('/').collect();
    for start in 1..parts.len() {
        if let Ok(tz) = Tz::from_str(&parts[start..].join("/")) {
            return Some(tz);
        }
    }
    WINDOWS_ZONES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(tzid))
        .and_then(|(_, iana)| Tz::from_str(iana).ok())
        .or_else(|| zone_of_display_name(tzid))
}

/// Windows time zone names (what Exchange and Outlook write as TZIDs) and the IANA zone
/// CLDR's `windowsZones` maps each to for the world (territory `001`).
const WINDOWS_ZONES: [(&str, &str); 140] = [
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Aleutian Standard Time", "America/Adak"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Marquesas Standard Time", "Pacific/Marquesas"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("UTC-09", "Etc/GMT+9"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("UTC-08", "Etc/GMT+8"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
    ("Mountain Standard Time", "America/Denver"),
    ("Yukon Standard Time", "America/Whitehorse"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Easter Island Standard Time", "Pacific/Easter"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time (Mexico)", "America/Cancun"),
    ("Eastern Standard Time", "America/New_York"),
    ("Haiti Standard Time", "America/Port-au-Prince"),
    ("Cuba Standard Time", "America/Havana"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("Turks And Caicos Standard Time", "America/Grand_Turk"),
    ("Paraguay Standard Time", "America/Asuncion"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Central Brazilian Standard Time", "America/Cuiaba"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("Tocantins Standard Time", "America/Araguaina"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("Greenland Standard Time", "America/Nuuk"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("Magallanes Standard Time", "America/Punta_Arenas"),
    ("Saint Pierre Standard Time", "America/Miquelon"),
    ("Bahia Standard Time", "America/Bahia"),
    ("UTC-02", "Etc/GMT+2"),
    ("Azores Standard Time", "Atlantic/Azores"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    ("UTC", "UTC"),
    ("Coordinated Universal Time", "UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Sao Tome Standard Time", "Africa/Sao_Tome"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("Jordan Standard Time", "Asia/Amman"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Middle East Standard Time", "Asia/Beirut"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Syria Standard Time", "Asia/Damascus"),
    ("West Bank Standard Time", "Asia/Hebron"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Sudan Standard Time", "Africa/Juba"),
    ("Kaliningrad Standard Time", "Europe/Kaliningrad"),
    ("Sudan Standard Time", "Africa/Khartoum"),
    ("Libya Standard Time", "Africa/Tripoli"),
    ("Namibia Standard Time", "Africa/Windhoek"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Belarus Standard Time", "Europe/Minsk"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Volgograd Standard Time", "Europe/Volgograd"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Astrakhan Standard Time", "Europe/Astrakhan"),
    ("Azerbaijan Standard Time", "Asia/Baku"),
    ("Russia Time Zone 3", "Europe/Samara"),
    ("Mauritius Standard Time", "Indian/Mauritius"),
    ("Saratov Standard Time", "Europe/Saratov"),
    ("Georgian Standard Time", "Asia/Tbilisi"),
    ("Caucasus Standard Time", "Asia/Yerevan"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("Ekaterinburg Standard Time", "Asia/Yekaterinburg"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("Qyzylorda Standard Time", "Asia/Qyzylorda"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("Central Asia Standard Time", "Asia/Almaty"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Omsk Standard Time", "Asia/Omsk"),
    ("Myanmar Standard Time", "Asia/Yangon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("Altai Standard Time", "Asia/Barnaul"),
    ("W. Mongolia Standard Time", "Asia/Hovd"),
    ("North Asia Standard Time", "Asia/Krasnoyarsk"),
    ("N. Central Asia Standard Time", "Asia/Novosibirsk"),
    ("Tomsk Standard Time", "Asia/Tomsk"),
    ("China Standard Time", "Asia/Shanghai"),
    ("North Asia East Standard Time", "Asia/Irkutsk"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Ulaanbaatar Standard Time", "Asia/Ulaanbaatar"),
    ("Aus Central W. Standard Time", "Australia/Eucla"),
    ("Transbaikal Standard Time", "Asia/Chita"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("North Korea Standard Time", "Asia/Pyongyang"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Yakutsk Standard Time", "Asia/Yakutsk"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("Tasmania Standard Time", "Australia/Hobart"),
    ("Vladivostok Standard Time", "Asia/Vladivostok"),
    ("Lord Howe Standard Time", "Australia/Lord_Howe"),
    ("Bougainville Standard Time", "Pacific/Bougainville"),
    ("Russia Time Zone 10", "Asia/Srednekolymsk"),
    ("Magadan Standard Time", "Asia/Magadan"),
    ("Norfolk Standard Time", "Pacific/Norfolk"),
    ("Sakhalin Standard Time", "Asia/Sakhalin"),
    ("Central Pacific Standard Time", "Pacific/Guadalcanal"),
    ("Russia Time Zone 11", "Asia/Kamchatka"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("UTC+12", "Etc/GMT-12"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("Chatham Islands Standard Time", "Pacific/Chatham"),
    ("UTC+13", "Etc/GMT-13"),
    ("Tonga Standard Time", "Pacific/Tongatapu"),
    ("Samoa Standard Time", "Pacific/Apia"),
    ("Line Islands Standard Time", "Pacific/Kiritimati"),
];

/// The zone of a Windows display name, `(UTC+01:00) Amsterdam, Berlin, Bern, Rome,
/// Stockholm, Vienna`: the first city that names an IANA zone (`Europe/Amsterdam`) whose
/// standard offset today is the one written. `None` for anything else.
fn zone_of_display_name(name: &str) -> Option<Tz> {
    let rest = name.trim().strip_prefix("(UTC")?;
    let (offset, cities) = rest.split_once(')')?;
    let minutes = match offset {
        "" => 0,
        _ => {
            let sign = match offset.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, mins) = offset[1..].split_once(':')?;
            if hours.len() > 2 || mins.len() != 2 {
                return None;
            }
            sign * (hours.parse::<i32>().ok()? * 60 + mins.parse::<i32>().ok()?)
        }
    };
    // Windows writes a zone's standard offset as it is now: the city's offset in January
    // or in July of a recent year (a fixed one keeps the reading pure) must be it.
    let seasons: Vec<NaiveDateTime> = [1, 7]
        .iter()
        .filter_map(|m| NaiveDate::from_ymd_opt(2026, *m, 15).and_then(|d| d.and_hms_opt(12, 0, 0)))
        .collect();
    cities.split(',').map(|c| c.trim().replace(' ', "_")).filter(|c| !c.is_empty()).find_map(|city| {
        chrono_tz::TZ_VARIANTS.iter().copied().find(|tz| {
            tz.name().rsplit('/').next().is_some_and(|last| last.eq_ignore_ascii_case(&city))
                && seasons.iter().any(|at| tz.offset_from_utc_datetime(at).fix().local_minus_utc() == minutes * 60)
        })
    })
}

/// Zones tried first when a VTIMEZONE's name is unknown: the most used ones per offset.
const LIKELY_ZONES: [&str; 34] = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Halifax",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/Mexico_City",
    "America/Bogota",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Athens",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Africa/Cairo",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Pacific/Auckland",
    "UTC",
];

/// An IANA zone whose offsets now match a VTIMEZONE's latest standard and daylight
/// observances (for TZIDs such as "Custom Zone 1" from some exporters).
fn zone_by_offsets(vtimezone: &Component) -> Option<Tz> {
    let latest = |kind: &str| {
        vtimezone
            .components_named(kind)
            .max_by_key(|c| c.property("DTSTART").map(|p| p.value.clone()).unwrap_or_default())
            .and_then(|c| c.property("TZOFFSETTO"))
            .and_then(|p| ics::parse_utc_offset(p.value.trim()))
    };
    let standard = latest("STANDARD").or_else(|| latest("DAYLIGHT"))?;
    let daylight = latest("DAYLIGHT").unwrap_or(standard);
    let at = |month: u32| NaiveDate::from_ymd_opt(2025, month, 15).and_then(|d| d.and_hms_opt(12, 0, 0));
    let (Some(january), Some(july)) = (at(1), at(7)) else { return None };
    let offset = |tz: Tz, t: NaiveDateTime| tz.offset_from_utc_datetime(&t).fix().local_minus_utc();
    let matches = |tz: Tz| {
        let (jan, jul) = (offset(tz, january), offset(tz, july));
        (jan == standard && jul == daylight) || (jan == daylight && jul == standard)
    };
    LIKELY_ZONES
        .iter()
        .filter_map(|name| Tz::from_str(name).ok())
        .chain(chrono_tz::TZ_VARIANTS.iter().copied())
        .find(|tz| matches(*tz))
}

fn short(text: &str) -> String {
    crate::zone::truncate(text, 60)
}

/// A DATE or DATE-TIME property value as a calendar time.
fn time_of(property: &Property, value: &str, zones: &ZoneMap) -> Result<CalTime, String> {
    let parsed = ics::parse_date_or_date_time(value.trim(), property.param("VALUE"))
        .ok_or_else(|| format!("{} \u{201c}{}\u{201d} is not a date or time.", property.name, short(value)))?;
    Ok(match parsed {
        DateTimeValue::Date(d) => CalTime::Date(d),
        DateTimeValue::Utc(t) => CalTime::Zoned(t, Tz::UTC),
        DateTimeValue::Floating(t) => match property.param("TZID") {
            Some(tzid) => CalTime::Zoned(t, zones.get(tzid)?),
            None => CalTime::Floating(t),
        },
    })
}

fn required_time(component: &Component, name: &str, zones: &ZoneMap) -> Result<CalTime, String> {
    let property = component.property(name).ok_or_else(|| format!("The event has no {name}."))?;
    time_of(property, &property.value, zones)
}

/// The instance length: from DTEND, DURATION, or the defaults (one day for all-day, none else).
fn length_of(component: &Component, start: &CalTime, zones: &ZoneMap) -> Result<(Length, CalTime), String> {
    if let Some(property) = component.property("DTEND") {
        let end = time_of(property, &property.value, zones)?;
        return match (start, end) {
            (CalTime::Date(s), CalTime::Date(e)) if e > *s => Ok((Length::Days((e - *s).num_days()), end)),
            (CalTime::Date(_), _) => Err("DTEND must be a date after DTSTART for an all-day event.".into()),
            (_, CalTime::Date(_)) => Err("DTEND is a date but DTSTART is a time.".into()),
            _ if end.axis() < start.axis() => Err("The event ends (DTEND) before it starts.".into()),
            _ => Ok((Length::Exact(end.axis() - start.axis()), end)),
        };
    }
    if let Some(property) = component.property("DURATION") {
        let d = ics::parse_duration(property.value.trim())
            .ok_or_else(|| format!("DURATION \u{201c}{}\u{201d} is not a duration.", short(&property.value)))?;
        if d.negative {
            return Err("DURATION is negative.".into());
        }
        let days = d.weeks * 7 + d.days;
        let length = match start {
            CalTime::Date(_) => Length::Days(days.max(1)),
            _ if days == 0 => Length::Exact(Duration::seconds(d.seconds)),
            _ => Length::Nominal { days, exact: Duration::seconds(d.seconds) },
        };
        let end = within_years(end_after(start, &length), "The event")?;
        return Ok((length, end));
    }
    let length = match start {
        CalTime::Date(_) => Length::Days(1),
        _ => Length::Exact(Duration::zero()),
    };
    Ok((length, within_years(end_after(start, &length), "The event")?))
}

/// An end computed from a duration may pass the year 9999, which no iCalendar file (and so
/// no export of this one) can write.
fn within_years(end: CalTime, what: &str) -> Result<CalTime, String> {
    if chrono::Datelike::year(&end.local()) > 9999 {
        return Err(format!("{what} ends after the year 9999."));
    }
    Ok(end)
}

/// The end of the first instance, written like its start.
pub fn end_after(start: &CalTime, length: &Length) -> CalTime {
    match (*start, *length) {
        (CalTime::Date(d), Length::Days(n)) => CalTime::Date(d + Duration::days(n)),
        (CalTime::Date(d), Length::Exact(x)) => CalTime::Date(d + Duration::days(x.num_days().max(1))),
        (CalTime::Date(d), Length::Nominal { days, .. }) => CalTime::Date(d + Duration::days(days.max(1))),
        (CalTime::Floating(t), Length::Exact(x)) => CalTime::Floating(t + x),
        (CalTime::Floating(t), Length::Nominal { days, exact }) => CalTime::Floating(t + Duration::days(days) + exact),
        (CalTime::Floating(t), Length::Days(n)) => CalTime::Floating(t + Duration::days(n)),
        (CalTime::Zoned(t, tz), Length::Exact(x)) => CalTime::Zoned(utc_to_local(tz, local_to_utc(tz, t) + x), tz),
        (CalTime::Zoned(t, tz), Length::Nominal { days, exact }) => {
            let utc = local_to_utc(tz, t + Duration::days(days)) + exact;
            CalTime::Zoned(utc_to_local(tz, utc), tz)
        }
        (CalTime::Zoned(t, tz), Length::Days(n)) => CalTime::Zoned(t + Duration::days(n), tz),
    }
}

fn time_list(component: &Component, name: &str, zones: &ZoneMap) -> Result<Vec<ExtraDate>, String> {
    let mut out = Vec::new();
    for property in component.properties_named(name) {
        for value in property.values() {
            if out.len() >= crate::event::MAX_EXTRA_DATES {
                return Err(format!("More than {} {name} values.", crate::event::MAX_EXTRA_DATES));
            }
            let is_period =
                property.param("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("PERIOD")) || value.contains('/');
            if is_period {
                let (from, until) = value
                    .split_once('/')
                    .ok_or_else(|| format!("{name} period \u{201c}{}\u{201d} has no end.", short(value)))?;
                let at = time_of(property, from, zones)?;
                let end = match ics::parse_duration(until) {
                    Some(d) if !d.negative => {
                        let exact = Duration::seconds(d.seconds) + Duration::days(d.weeks * 7 + d.days);
                        within_years(end_after(&at, &Length::Exact(exact)), &format!("A {name} period"))?
                    }
                    _ => time_of(property, until, zones)?,
                };
                // A PERIOD is made of times (RFC 5545 §3.3.9); a date in one could not be written back.
                if matches!(at, CalTime::Date(_)) || matches!(end, CalTime::Date(_)) {
                    return Err(format!("{name} period \u{201c}{}\u{201d} has a date, not a time.", short(value)));
                }
                if end.axis() < at.axis() {
                    return Err(format!("{name} period \u{201c}{}\u{201d} ends before it starts.", short(value)));
                }
                out.push(ExtraDate { at, end: Some(end) });
            } else {
                out.push(ExtraDate { at: time_of(property, value, zones)?, end: None });
            }
        }
    }
    Ok(out)
}

fn details_of(component: &Component) -> EventDetails {
    let text = |name: &str| component.property(name).map(|p| p.text()).unwrap_or_default();
    let mut title: String = text("SUMMARY").trim().to_owned();
    if title.is_empty() {
        title = "(No title)".into();
    }
    if title.chars().count() > MAX_TITLE {
        title = title.chars().take(MAX_TITLE - 1).chain(std::iter::once('\u{2026}')).collect();
    }
    let clip = |s: String, max: usize| if s.chars().count() > max { s.chars().take(max).collect() } else { s };
    let url = text("URL");
    let url = if url.starts_with("http://") || url.starts_with("https://") {
        clip(url, crate::event::MAX_URL)
    } else {
        String::new()
    };
    let color =
        component.property("COLOR").map(|p| p.value.trim().to_ascii_lowercase()).filter(|c| crate::event::is_color(c));
    let mut tags: Vec<String> = Vec::new();
    for property in component.properties_named("CATEGORIES") {
        for value in property.values() {
            let tag =
                ics::Property::new("X", value).text().trim().chars().take(crate::event::MAX_TAG).collect::<String>();
            if !tag.is_empty() && !tags.contains(&tag) && tags.len() < crate::event::MAX_TAGS {
                tags.push(tag);
            }
        }
    }
    let mut reminders: Vec<u32> = Vec::new();
    for alarm in component.components_named("VALARM") {
        let Some(trigger) = alarm.property("TRIGGER") else { continue };
        if trigger.param("RELATED").is_some_and(|r| r.eq_ignore_ascii_case("END")) {
            continue;
        }
        if let Some(d) = ics::parse_duration(trigger.value.trim()) {
            let seconds = d.weeks * 7 * 86_400 + d.days * 86_400 + d.seconds;
            let minutes = if d.negative { seconds / 60 } else { 0 };
            if let Ok(m) = u32::try_from(minutes)
                && m <= crate::event::MAX_REMINDER_MINUTES
                && !reminders.contains(&m)
                && reminders.len() < crate::event::MAX_REMINDERS
            {
                reminders.push(m);
            }
        }
    }
    reminders.sort_unstable();
    let mut attendees = Vec::new();
    for property in component.properties_named("ATTENDEE").take(crate::event::MAX_ATTENDEES) {
        let address = property.value.trim();
        let email =
            address.get(..7).filter(|p| p.eq_ignore_ascii_case("mailto:")).map(|_| &address[7..]).unwrap_or(address);
        if let Ok(email) = crate::EmailAddress::parse(email) {
            attendees.push(Attendee {
                name: property.param("CN").unwrap_or_default().chars().take(200).collect(),
                email: email.as_str().to_owned(),
                response: property.param("PARTSTAT").and_then(Response::parse).unwrap_or_default(),
            });
        }
    }
    EventDetails {
        title,
        description: clip(text("DESCRIPTION"), crate::event::MAX_DESCRIPTION),
        location: clip(text("LOCATION"), crate::event::MAX_LOCATION),
        url,
        status: component.property("STATUS").and_then(|p| EventStatus::parse(&p.value)).unwrap_or_default(),
        transparency: component.property("TRANSP").and_then(|p| Transparency::parse(&p.value)).unwrap_or_default(),
        color,
        tags,
        reminders,
        attendees,
    }
}

fn read_master(component: &Component, zones: &ZoneMap, uid: &str) -> Result<ImportedEvent, String> {
    let start = required_time(component, "DTSTART", zones)?;
    let (length, end) = length_of(component, &start, zones)?;
    let mut rules = component.properties_named("RRULE");
    let rule = match rules.next() {
        Some(property) => Some(Rule::parse(&property.value).map_err(|e| format!("RRULE: {e}"))?),
        None => None,
    };
    if rules.next().is_some() {
        return Err("More than one RRULE in one event is not supported.".into());
    }
    let rdates = time_list(component, "RDATE", zones)?;
    let exdates = time_list(component, "EXDATE", zones)?.into_iter().map(|e| e.at).collect();
    let series = Series { start, length, rule, rdates, exdates };
    if series.rule.is_some() || !series.rdates.is_empty() {
        series.span().map_err(|e| e.to_string())?;
    }
    Ok(ImportedEvent {
        uid: uid.to_owned(),
        line: component.line,
        details: details_of(component),
        start,
        end,
        series,
        sequence: component.property("SEQUENCE").and_then(|p| p.value.trim().parse().ok()).unwrap_or(0),
        exceptions: Vec::new(),
    })
}

fn read_exception(component: &Component, zones: &ZoneMap) -> Result<ImportedException, String> {
    let recurrence_id = required_time(component, "RECURRENCE-ID", zones)?;
    let start = match component.property("DTSTART") {
        Some(p) => time_of(p, &p.value, zones)?,
        None => recurrence_id,
    };
    let (_, end) = length_of(component, &start, zones)?;
    Ok(ImportedException { line: component.line, recurrence_id, details: details_of(component), start, end })
}

// ---------------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------------

/// One VEVENT to write: a series (or an exception, with `recurrence_id`).
#[derive(Debug, Clone)]
pub struct ExportEvent<'a> {
    pub uid: &'a str,
    pub details: &'a EventDetails,
    pub start: CalTime,
    pub end: CalTime,
    pub series: Option<&'a Series>,
    pub recurrence_id: Option<CalTime>,
    pub sequence: i64,
    pub created: NaiveDateTime,
    pub modified: NaiveDateTime,
}

fn time_property(name: &str, time: &CalTime) -> Property {
    match time {
        CalTime::Date(d) => Property::new(name, ics::format_date(*d)).with_param("VALUE", "DATE"),
        CalTime::Floating(t) => Property::new(name, ics::format_date_time(*t)),
        CalTime::Zoned(t, Tz::UTC) => Property::new(name, format!("{}Z", ics::format_date_time(*t))),
        CalTime::Zoned(t, tz) => Property::new(name, ics::format_date_time(*t)).with_param("TZID", tz.name()),
    }
}

fn utc_stamp(name: &str, t: NaiveDateTime) -> Property {
    Property::new(name, format!("{}Z", ics::format_date_time(t)))
}

/// Writes a calendar file; `now` is the DTSTAMP.
pub fn write(name: &str, events: &[ExportEvent<'_>], now: NaiveDateTime) -> String {
    let mut calendar = Component::new("VCALENDAR");
    calendar
        .push(Property::new("VERSION", "2.0"))
        .push(Property::new("PRODID", "-//Calento//Calento//EN"))
        .push(Property::new("CALSCALE", "GREGORIAN"));
    // A calendar's name; a single object's file (CalDAV) has none.
    if !name.is_empty() {
        calendar.push(Property::new_text("X-WR-CALNAME", name));
    }
    let mut zones: BTreeMap<&'static str, (Tz, i32, i32)> = BTreeMap::new();
    let mut note_zone = |time: &CalTime| {
        if let CalTime::Zoned(t, tz) = time
            && *tz != Tz::UTC
        {
            let year = chrono::Datelike::year(t);
            let entry = zones.entry(tz.name()).or_insert((*tz, year, year));
            entry.1 = entry.1.min(year);
            entry.2 = entry.2.max(year);
        }
    };
    for event in events {
        note_zone(&event.start);
        note_zone(&event.end);
    }
    for (tz, first, last) in zones.values() {
        calendar.push_component(vtimezone(*tz, first - 1, (last + 1).max(2037)));
    }
    for event in events {
        let mut vevent = Component::new("VEVENT");
        vevent
            .push(Property::new_text("UID", event.uid))
            .push(utc_stamp("DTSTAMP", now))
            .push(utc_stamp("CREATED", event.created))
            .push(utc_stamp("LAST-MODIFIED", event.modified))
            .push(Property::new("SEQUENCE", event.sequence.to_string()));
        if let Some(recurrence_id) = &event.recurrence_id {
            vevent.push(time_property("RECURRENCE-ID", recurrence_id));
        }
        vevent.push(time_property("DTSTART", &event.start));
        match event.series.map(|s| s.length) {
            Some(Length::Nominal { days, exact }) => {
                let d = ics::NominalDuration { negative: false, weeks: 0, days, seconds: exact.num_seconds() };
                vevent.push(Property::new("DURATION", ics::format_duration(d)));
            }
            _ => {
                vevent.push(time_property("DTEND", &event.end));
            }
        }
        if let Some(series) = event.series {
            if let Some(rule) = &series.rule {
                vevent.push(Property::new("RRULE", rule.to_string()));
            }
            for extra in &series.rdates {
                match &extra.end {
                    Some(end) => {
                        let at = time_property("RDATE", &extra.at);
                        let end = time_property("RDATE", end);
                        let mut property = Property::new("RDATE", format!("{}/{}", at.value, end.value));
                        property.params = at.params;
                        vevent.push(property.with_param("VALUE", "PERIOD"));
                    }
                    None => {
                        vevent.push(time_property("RDATE", &extra.at));
                    }
                }
            }
            for exdate in &series.exdates {
                vevent.push(time_property("EXDATE", exdate));
            }
        }
        let d = event.details;
        vevent.push(Property::new_text("SUMMARY", &d.title));
        for (name, value) in [("DESCRIPTION", &d.description), ("LOCATION", &d.location)] {
            if !value.is_empty() {
                vevent.push(Property::new_text(name, value));
            }
        }
        if !d.url.is_empty() {
            vevent.push(Property::new("URL", d.url.clone()));
        }
        vevent.push(Property::new("STATUS", d.status.as_str().to_ascii_uppercase()));
        vevent
            .push(Property::new("TRANSP", if d.transparency == Transparency::Free { "TRANSPARENT" } else { "OPAQUE" }));
        if let Some(color) = &d.color {
            vevent.push(Property::new("COLOR", color.clone()));
        }
        if !d.tags.is_empty() {
            let joined: Vec<String> = d.tags.iter().map(|t| ics::escape_text(t)).collect();
            vevent.push(Property::new("CATEGORIES", joined.join(",")));
        }
        for attendee in &d.attendees {
            let mut property = Property::new("ATTENDEE", format!("mailto:{}", attendee.email));
            if !attendee.name.is_empty() {
                property = property.with_param("CN", &attendee.name);
            }
            vevent.push(property.with_param("PARTSTAT", attendee.response.as_ics()));
        }
        for minutes in &d.reminders {
            let mut alarm = Component::new("VALARM");
            let trigger =
                ics::NominalDuration { negative: *minutes > 0, weeks: 0, days: 0, seconds: i64::from(*minutes) * 60 };
            alarm
                .push(Property::new("ACTION", "DISPLAY"))
                .push(Property::new_text("DESCRIPTION", &d.title))
                .push(Property::new("TRIGGER", ics::format_duration(trigger)));
            vevent.push_component(alarm);
        }
        calendar.push_component(vevent);
    }
    ics::write(&calendar)
}

/// A VTIMEZONE with the zone's real transitions from `first_year` to `last_year`, found by
/// scanning tzdata, so any reader gets the same offsets Calento uses.
fn vtimezone(tz: Tz, first_year: i32, last_year: i32) -> Component {
    let mut zone = Component::new("VTIMEZONE");
    zone.push(Property::new("TZID", tz.name()));
    let offset_at = |t: NaiveDateTime| {
        let o = tz.offset_from_utc_datetime(&t);
        (o.fix().local_minus_utc(), o.dst_offset().num_seconds() != 0, o.abbreviation().unwrap_or_default().to_owned())
    };
    let (Some(begin), Some(end)) =
        (NaiveDate::from_ymd_opt(first_year.max(1800), 1, 1), NaiveDate::from_ymd_opt(last_year.min(9000), 12, 31))
    else {
        return zone;
    };
    let begin = begin.and_time(NaiveTime::MIN);
    let end = end.and_time(NaiveTime::MIN);
    let (mut offset, mut dst, abbreviation) = offset_at(begin);
    let observance = |kind: &str, at_local: NaiveDateTime, from: i32, to: i32, name: &str| {
        let mut c = Component::new(kind);
        c.push(Property::new("DTSTART", ics::format_date_time(at_local)))
            .push(Property::new("TZOFFSETFROM", ics::format_utc_offset(from)))
            .push(Property::new("TZOFFSETTO", ics::format_utc_offset(to)));
        if !name.is_empty() {
            c.push(Property::new_text("TZNAME", name));
        }
        c
    };
    // The offset in force at the start of the range, as a first observance.
    zone.push_component(observance(
        if dst { "DAYLIGHT" } else { "STANDARD" },
        begin + Duration::seconds(i64::from(offset)),
        offset,
        offset,
        &abbreviation,
    ));
    let mut day = begin;
    while day < end {
        let next = day + Duration::days(1);
        let (next_offset, next_dst, next_name) = offset_at(next);
        if next_offset != offset || next_dst != dst {
            // Binary search the minute of the change within the day.
            let (mut lo, mut hi) = (day, next);
            while hi - lo > Duration::minutes(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(mid).0 == offset && offset_at(mid).1 == dst { lo = mid } else { hi = mid }
            }
            let kind = if next_dst { "DAYLIGHT" } else { "STANDARD" };
            zone.push_component(observance(
                kind,
                hi + Duration::seconds(i64::from(offset)),
                offset,
                next_offset,
                &next_name,
            ));
            offset = next_offset;
            dst = next_dst;
        }
        day = next;
    }
    zone
}

#[cfg(test)]
mod tests;
