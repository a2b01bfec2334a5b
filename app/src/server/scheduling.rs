//! The host's side of scheduling: availability schedules, booking links and the bookings
//! made through them. Every function takes flat form fields, so each page works as plain
//! HTML forms; lists of rows (a weekday's ranges, a link's questions) are repeated fields
//! named `name[]`, which HTML forms and the hydrated page send alike.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::models::{BookingInfo, BookingLinkInfo, ScheduleInfo};
#[cfg(feature = "ssr")]
use {
    super::request,
    crate::models::{
        LinkLocation, LinkPatch, LocationKind, OverrideInput, Question, QuestionKind, RangeInput, RuleInput,
        ScheduleBody,
    },
    crate::ssr::{bookings, scheduling},
    calento::FieldError,
    chrono::{NaiveDate, NaiveDateTime},
};

/// What the booking links page needs: the links and the schedules they can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinksData {
    pub username: String,
    /// This site's address as the browser reached it (`https://cal.example.org`), for
    /// the links' full public URLs.
    pub origin: String,
    pub links: Vec<BookingLinkInfo>,
    pub schedules: Vec<ScheduleInfo>,
}

/// A booking as the host's list shows it: times already in the host's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostBooking {
    pub booking: BookingInfo,
    /// e.g. "Tue 15 Jan 2030, 10:00 – 10:30".
    pub when: String,
    /// The start as a `datetime-local` value in the host's zone (`YYYY-MM-DDTHH:MM`).
    pub local_start: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingsData {
    pub time_zone: String,
    pub bookings: Vec<HostBooking>,
    /// This page (from 1), its size, and how many bookings the tab has in all.
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Splits minutes into the largest whole unit, for a number-and-unit input pair.
pub fn split_minutes(minutes: u32) -> (u32, &'static str) {
    if minutes == 0 {
        (0, "hours")
    } else if minutes.is_multiple_of(1440) {
        (minutes / 1440, "days")
    } else if minutes.is_multiple_of(60) {
        (minutes / 60, "hours")
    } else {
        (minutes, "minutes")
    }
}

#[cfg(feature = "ssr")]
fn filled(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(feature = "ssr")]
fn checked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| v != "false" && v != "off" && v != "no")
}

#[cfg(feature = "ssr")]
fn redirect_back(back: Option<String>, default: &str) {
    if request::is_plain_form_post() {
        leptos_axum::redirect(&request::local_path(filled(back), default));
    }
}

// A time as typed in a range's field ("9:00", "930", "5 pm", "17:00"), as `HH:MM`; what
// is not a time goes on as typed, to be refused with the range's message. The fields are
// text, not `type="time"`: a browser's time picker follows the browser's language (12-hour
// beside a 24-hour calendar).
#[cfg(feature = "ssr")]
use calento::clock::typed_time;

/// An end time as typed: 00:00 (or 24:00) means the end of the day.
#[cfg(feature = "ssr")]
fn end_time(text: &str) -> String {
    match typed_time(text).as_str() {
        "00:00" | "24:00" => "24:00".to_owned(),
        time => time.to_owned(),
    }
}

/// Ranges from paired `start[]`/`end[]` fields; rows left empty are skipped.
#[cfg(feature = "ssr")]
fn ranges_of(starts: &[String], ends: &[String]) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for i in 0..starts.len().max(ends.len()) {
        let start = starts.get(i).map(|s| s.trim()).unwrap_or_default();
        let end = ends.get(i).map(|s| s.trim()).unwrap_or_default();
        if start.is_empty() && end.is_empty() {
            continue;
        }
        out.push((i, typed_time(start), end_time(end)));
    }
    out
}

// ---- Availability schedules ----

#[server(prefix = "/fn", endpoint = "list_schedules")]
pub async fn list_schedules() -> Result<Vec<ScheduleInfo>, AppError> {
    let user = request::require_user().await?;
    let rows = scheduling::list_schedules(&request::state()?.db, &user.id).await?;
    Ok(rows.iter().map(|r| r.info()).collect())
}

/// A new schedule: working hours (Monday to Friday, 09:00–17:00) in the zone given.
#[server(prefix = "/fn", endpoint = "create_schedule")]
pub async fn create_schedule(name: String, timezone: Option<String>) -> Result<ScheduleInfo, AppError> {
    let user = request::require_user().await?;
    let body = ScheduleBody { name: filled(Some(name)), timezone: filled(timezone), ..Default::default() };
    let info = scheduling::create_schedule(&request::state()?.db, &user.id, &user.time_zone, body).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect(&format!("/availability?schedule={}", info.id));
    }
    Ok(info)
}

/// Saves a schedule's name, zone and weekly hours (its date overrides stay). Each range
/// row posts `weekday[]`, `start[]` and `end[]`; `day_on[]` lists the weekdays (1–7)
/// switched on. A day switched on without hours gets 09:00–17:00. Errors about a day's
/// ranges name the field `day{N}`.
#[server(prefix = "/fn", endpoint = "save_schedule")]
#[allow(clippy::too_many_arguments)]
pub async fn save_schedule(
    id: String,
    name: String,
    timezone: String,
    #[server(default)] day_on: Vec<String>,
    #[server(default)] weekday: Vec<String>,
    #[server(default)] start: Vec<String>,
    #[server(default)] end: Vec<String>,
    back: Option<String>,
) -> Result<ScheduleInfo, AppError> {
    let user = request::require_user().await?;
    let on: Vec<u8> =
        day_on.iter().filter_map(|d| d.trim().parse::<u8>().ok()).filter(|d| (1..=7).contains(d)).collect();
    let mut rules = Vec::new();
    // Which day each rule came from, to put its errors beside that day.
    let mut rule_days = Vec::new();
    for (i, start, end) in ranges_of(&start, &end) {
        let Some(day) = weekday.get(i).and_then(|d| d.trim().parse::<u8>().ok()) else { continue };
        if !on.contains(&day) {
            continue;
        }
        rules.push(RuleInput { weekday: day, start, end });
        rule_days.push(day);
    }
    for day in &on {
        if !rule_days.contains(day) {
            rules.push(RuleInput { weekday: *day, start: "09:00".into(), end: "17:00".into() });
            rule_days.push(*day);
        }
    }
    let body = ScheduleBody {
        name: Some(name),
        timezone: Some(timezone.trim().to_owned()),
        rules: Some(rules),
        overrides: None,
        is_default: None,
    };
    let db = request::state()?.db.clone();
    let saved = scheduling::update_schedule(&db, &user.id, &id, body).await.map_err(|e| day_errors(e, &rule_days))?;
    redirect_back(back, &format!("/availability?schedule={id}"));
    Ok(saved)
}

/// Renames `rules[i].…` errors to the weekday the rule came from (`day1` … `day7`).
#[cfg(feature = "ssr")]
fn day_errors(error: AppError, rule_days: &[u8]) -> AppError {
    match error {
        AppError::Invalid { message, fields } => {
            let mut out: Vec<FieldError> = Vec::new();
            for f in fields {
                let field = f
                    .field
                    .strip_prefix("rules[")
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| rule_days.get(i))
                    .map(|day| format!("day{day}"))
                    .unwrap_or(f.field);
                if !out.iter().any(|e| e.field == field) {
                    out.push(FieldError::new(&field, f.message));
                }
            }
            AppError::Invalid { message, fields: out }
        }
        other => other,
    }
}

/// Gives one date its own hours (`hours=off`: unavailable all day), replacing any it had.
#[server(prefix = "/fn", endpoint = "add_override")]
pub async fn add_override(
    id: String,
    date: String,
    hours: Option<String>,
    #[server(default)] start: Vec<String>,
    #[server(default)] end: Vec<String>,
    back: Option<String>,
) -> Result<ScheduleInfo, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::field(FieldError::new("override_date", "Choose a date.")))?;
    let unavailable = filled(hours).as_deref() != Some("hours");
    let ranges: Vec<RangeInput> = if unavailable {
        Vec::new()
    } else {
        ranges_of(&start, &end).into_iter().map(|(_, start, end)| RangeInput { start, end }).collect()
    };
    if !unavailable && ranges.is_empty() {
        return Err(AppError::field(FieldError::new(
            "override_hours",
            "Give the hours of that day, or choose \u{201c}unavailable all day\u{201d}.",
        )));
    }
    let date_text = date.format("%Y-%m-%d").to_string();
    let mut overrides = scheduling::find_schedule(&db, &user.id, &id).await?.info().overrides;
    overrides.retain(|o| o.date != date_text);
    overrides.push(OverrideInput { date: date_text.clone(), ranges });
    overrides.sort_by(|a, b| a.date.cmp(&b.date));
    let position = overrides.iter().position(|o| o.date == date_text).unwrap_or(0);
    let body = ScheduleBody { overrides: Some(overrides), ..Default::default() };
    let saved = scheduling::update_schedule(&db, &user.id, &id, body).await.map_err(|e| match e {
        AppError::Invalid { message, fields } => {
            let prefix = format!("overrides[{position}]");
            let fields = fields
                .into_iter()
                .map(|f| if f.field.starts_with(&prefix) { FieldError::new("override_hours", f.message) } else { f })
                .collect();
            AppError::Invalid { message, fields }
        }
        other => other,
    })?;
    redirect_back(back, &format!("/availability?schedule={id}"));
    Ok(saved)
}

#[server(prefix = "/fn", endpoint = "remove_override")]
pub async fn remove_override(id: String, date: String, back: Option<String>) -> Result<ScheduleInfo, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let mut overrides = scheduling::find_schedule(&db, &user.id, &id).await?.info().overrides;
    overrides.retain(|o| o.date != date.trim());
    let body = ScheduleBody { overrides: Some(overrides), ..Default::default() };
    let saved = scheduling::update_schedule(&db, &user.id, &id, body).await?;
    redirect_back(back, &format!("/availability?schedule={id}"));
    Ok(saved)
}

#[server(prefix = "/fn", endpoint = "set_default_schedule")]
pub async fn set_default_schedule(id: String, back: Option<String>) -> Result<ScheduleInfo, AppError> {
    let user = request::require_user().await?;
    let body = ScheduleBody { is_default: Some(true), ..Default::default() };
    let saved = scheduling::update_schedule(&request::state()?.db, &user.id, &id, body).await?;
    redirect_back(back, &format!("/availability?schedule={id}"));
    Ok(saved)
}

#[server(prefix = "/fn", endpoint = "delete_schedule")]
pub async fn delete_schedule(id: String) -> Result<(), AppError> {
    let user = request::require_user().await?;
    scheduling::delete_schedule(&request::state()?.db, &user.id, &id).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect("/availability");
    }
    Ok(())
}

// ---- Booking links ----

#[server(prefix = "/fn", endpoint = "list_links")]
pub async fn list_links() -> Result<LinksData, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let links = scheduling::list_links(&db, &user.id).await?.iter().map(|l| l.info(&user.username)).collect();
    let schedules = scheduling::list_schedules(&db, &user.id).await?.iter().map(|s| s.info()).collect();
    Ok(LinksData { username: user.username.clone(), origin: origin(), links, schedules })
}

/// The site's address from the request: its `Host`, over https when cookies are secure
/// (or a trusted proxy says so).
#[cfg(feature = "ssr")]
fn origin() -> String {
    let state = use_context::<crate::ssr::AppState>();
    let Some(parts) = use_context::<http::request::Parts>() else { return String::new() };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Some(host) = header("host") else { return String::new() };
    let trust_proxy = state.as_ref().is_some_and(|s| s.trust_proxy);
    let scheme = match header("x-forwarded-proto") {
        Some(proto) if trust_proxy && (proto == "https" || proto == "http") => proto,
        _ if state.as_ref().is_some_and(|s| s.secure_cookies) => "https".to_owned(),
        _ => "http".to_owned(),
    };
    format!("{scheme}://{host}")
}

/// Minutes from a number and a unit (`minutes`, `hours` or `days`).
#[cfg(feature = "ssr")]
fn minutes_of(value: Option<String>, unit: Option<String>) -> Result<u32, ()> {
    let Some(text) = filled(value) else { return Ok(0) };
    let n: u32 = text.parse().map_err(|_| ())?;
    let factor = match filled(unit).as_deref() {
        Some("days") => 1440,
        Some("hours") => 60,
        _ => 1,
    };
    n.checked_mul(factor).ok_or(())
}

/// Minutes separated by commas (`30, 60`, `45 min`); a part that is not a number is named.
#[cfg(feature = "ssr")]
fn duration_list(text: &str, errors: &mut Vec<FieldError>) -> Vec<u32> {
    let mut list = Vec::new();
    for part in text.split([',', ' ', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        match part.trim_end_matches("min").trim().parse::<u32>() {
            Ok(n) => list.push(n),
            Err(_) => {
                errors.push(FieldError::new("durations", "List minutes separated by commas, like 30, 60."));
                break;
            }
        }
    }
    list
}

/// Creates a link from the short "new link" form: its title, address and durations (none
/// given: 30 minutes). Every other setting starts at its default and is changed on the
/// link's own page, where the browser goes next (`/booking-links?edit=ID&created=1`), so
/// the list's form is empty again and a second click cannot make the link twice.
#[server(prefix = "/fn", endpoint = "new_link")]
pub async fn new_link(
    title: String,
    slug: Option<String>,
    durations: Option<String>,
    #[server(default)] next: Option<String>,
) -> Result<BookingLinkInfo, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let mut errors = Vec::new();
    let durations = filled(durations).map(|d| duration_list(&d, &mut errors));
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let settings = LinkPatch {
        title: Some(Some(title)),
        slug: Some(filled(slug)),
        durations: durations.map(Some),
        ..LinkPatch::default()
    };
    let created = scheduling::create_link(&db, &user.id, &user.username, &user.time_zone, &settings).await?;
    if request::is_plain_form_post() {
        let edit = format!("/booking-links?edit={}&created=1", created.id);
        leptos_axum::redirect(&request::local_path(next, &edit));
    }
    Ok(created)
}

/// Creates a link (no `id`) or saves every setting of one from its form. Durations are a
/// comma list of minutes; questions post `q_id[]`, `q_label[]`, `q_kind[]` (short or
/// long) and `q_required[]` (yes or no) per row, rows without a label being skipped.
#[server(prefix = "/fn", endpoint = "save_link")]
#[allow(clippy::too_many_arguments)]
pub async fn save_link(
    id: Option<String>,
    title: String,
    slug: Option<String>,
    description: Option<String>,
    durations: String,
    location_kind: Option<String>,
    location_value: Option<String>,
    schedule_id: Option<String>,
    slot_interval: Option<String>,
    buffer_before: Option<String>,
    buffer_after: Option<String>,
    notice_value: Option<String>,
    notice_unit: Option<String>,
    not_same_day: Option<String>,
    window: Option<String>,
    booking_window_days: Option<String>,
    window_start: Option<String>,
    window_end: Option<String>,
    max_per_day: Option<String>,
    max_per_week: Option<String>,
    max_minutes_per_day: Option<String>,
    max_minutes_per_week: Option<String>,
    #[server(default)] q_id: Vec<String>,
    #[server(default)] q_label: Vec<String>,
    #[server(default)] q_kind: Vec<String>,
    #[server(default)] q_required: Vec<String>,
    requires_approval: Option<String>,
    active: Option<String>,
    secret: Option<String>,
    cutoff_value: Option<String>,
    cutoff_unit: Option<String>,
    reminder_hours: Option<String>,
) -> Result<BookingLinkInfo, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let mut errors: Vec<FieldError> = Vec::new();
    let mut optional = |field: &str, value: Option<String>, message: &str| -> Option<u32> {
        let text = filled(value)?;
        text.parse::<u32>().map_err(|_| errors.push(FieldError::new(field, message))).ok()
    };
    let slot_interval = optional("slot_interval", slot_interval, "Enter a number of minutes, or leave it empty.");
    let buffer_before = optional("buffer_before", buffer_before, "Enter a number of minutes.");
    let buffer_after = optional("buffer_after", buffer_after, "Enter a number of minutes.");
    let max_per_day = optional("max_per_day", max_per_day, "Enter a number, or leave it empty for no limit.");
    let max_per_week = optional("max_per_week", max_per_week, "Enter a number, or leave it empty for no limit.");
    let max_minutes_per_day =
        optional("max_minutes_per_day", max_minutes_per_day, "Enter minutes, or leave it empty for no limit.");
    let max_minutes_per_week =
        optional("max_minutes_per_week", max_minutes_per_week, "Enter minutes, or leave it empty for no limit.");
    let reminder = optional("reminder_hours", reminder_hours, "Enter a number of hours, or leave it empty.");
    let window_kind = filled(window).unwrap_or_else(|| "none".into());
    let rolling = if window_kind == "rolling" {
        let days = optional("booking_window_days", booking_window_days, "Enter a number of days.");
        if days.is_none() {
            errors.push(FieldError::new("booking_window_days", "Enter how many days ahead people can book."));
        }
        days
    } else {
        None
    };
    let mut date = |field: &str, value: Option<String>| -> Option<NaiveDate> {
        let text = filled(value)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| errors.push(FieldError::new(field, "Enter a date like 2030-01-15.")))
            .ok()
    };
    let (window_start, window_end) = if window_kind == "range" {
        (date("window_start", window_start), date("window_end", window_end))
    } else {
        (None, None)
    };
    if window_kind == "range" && window_start.is_none() && !errors.iter().any(|e| e.field == "window_start") {
        errors.push(FieldError::new("window_start", "Give the first bookable date."));
    }
    let duration_list = duration_list(&durations, &mut errors);
    let notice = minutes_of(notice_value, notice_unit).unwrap_or_else(|()| {
        errors.push(FieldError::new("minimum_notice_minutes", "Enter a whole number."));
        0
    });
    let cutoff = minutes_of(cutoff_value, cutoff_unit).unwrap_or_else(|()| {
        errors.push(FieldError::new("cancel_cutoff_minutes", "Enter a whole number."));
        0
    });
    let kind = match filled(location_kind).as_deref().unwrap_or("none") {
        "none" => Some(LocationKind::None),
        "in_person" => Some(LocationKind::InPerson),
        "phone" => Some(LocationKind::Phone),
        "video" => Some(LocationKind::Video),
        "custom" => Some(LocationKind::Custom),
        _ => None,
    };
    let Some(kind) = kind.or_else(|| {
        errors.push(FieldError::new("location", "Choose where the meeting happens."));
        None
    }) else {
        return Err(AppError::fields(errors));
    };
    let mut questions = Vec::new();
    for (i, label) in q_label.iter().enumerate() {
        if label.trim().is_empty() {
            continue;
        }
        questions.push(Question {
            id: q_id.get(i).map(|s| s.trim().to_owned()).unwrap_or_default(),
            label: label.trim().to_owned(),
            kind: if q_kind.get(i).is_some_and(|k| k == "long") { QuestionKind::Long } else { QuestionKind::Short },
            required: q_required.get(i).is_some_and(|r| r == "yes" || r == "true" || r == "on"),
        });
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    // The form shows every setting, so every one is given (empty optional ones clear).
    let settings = LinkPatch {
        title: Some(Some(title)),
        slug: Some(filled(slug)),
        description: Some(description),
        durations: Some(Some(duration_list)),
        schedule_id: Some(filled(schedule_id)),
        location: Some(Some(LinkLocation { kind, value: location_value.unwrap_or_default() })),
        slot_interval: Some(slot_interval),
        buffer_before: Some(buffer_before),
        buffer_after: Some(buffer_after),
        minimum_notice_minutes: Some(Some(notice)),
        not_same_day: Some(Some(checked(&not_same_day))),
        booking_window_days: Some(rolling),
        window_start: Some(window_start),
        window_end: Some(window_end),
        max_per_day: Some(max_per_day),
        max_per_week: Some(max_per_week),
        max_minutes_per_day: Some(max_minutes_per_day),
        max_minutes_per_week: Some(max_minutes_per_week),
        questions: Some(Some(questions)),
        requires_approval: Some(Some(checked(&requires_approval))),
        active: Some(Some(checked(&active))),
        secret: Some(Some(checked(&secret))),
        cancel_cutoff_minutes: Some(Some(cutoff)),
        reminder_hours: Some(reminder),
    };
    let saved = match filled(id) {
        Some(id) => scheduling::update_link(&db, &user.id, &user.username, &user.time_zone, &id, &settings).await?,
        None => scheduling::create_link(&db, &user.id, &user.username, &user.time_zone, &settings).await?,
    };
    if request::is_plain_form_post() {
        leptos_axum::redirect("/booking-links");
    }
    Ok(saved)
}

/// Switches a link on or off (`active`: true or false).
#[server(prefix = "/fn", endpoint = "set_link_active")]
pub async fn set_link_active(id: String, active: String) -> Result<BookingLinkInfo, AppError> {
    let user = request::require_user().await?;
    let patch = LinkPatch { active: Some(Some(active.trim() == "true")), ..LinkPatch::default() };
    let saved =
        scheduling::update_link(&request::state()?.db, &user.id, &user.username, &user.time_zone, &id, &patch).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect("/booking-links");
    }
    Ok(saved)
}

#[server(prefix = "/fn", endpoint = "delete_link")]
pub async fn delete_link(id: String) -> Result<(), AppError> {
    let user = request::require_user().await?;
    scheduling::delete_link(&request::state()?.db, &user.id, &id).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect("/booking-links");
    }
    Ok(())
}

// ---- Bookings ----

#[cfg(feature = "ssr")]
fn user_zone(user: &crate::ssr::accounts::UserRow) -> chrono_tz::Tz {
    calento::TimeZoneName::parse(&user.time_zone).map(|z| z.tz()).unwrap_or(chrono_tz::Tz::UTC)
}

/// The host's bookings: `upcoming` (default), `past`, `cancelled` or `pending`.
#[server(prefix = "/fn", endpoint = "list_bookings")]
pub async fn list_bookings(status: Option<String>, page: Option<String>) -> Result<BookingsData, AppError> {
    let user = request::require_user().await?;
    let profile = user.profile();
    let tz = user_zone(&user);
    let found =
        bookings::list(&request::state()?.db, &user.id, filled(status).as_deref(), filled(page).as_deref(), None)
            .await?;
    let (page, per_page, total) = (found.page, found.per_page, found.total);
    let list = found.items;
    let local = |text: &str| {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
            .map(|utc| calento::recurrence::utc_to_local(tz, utc))
            .unwrap_or_default()
    };
    let time = |t: NaiveDateTime| profile.clock.time_text(t.time());
    let bookings = list
        .into_iter()
        .map(|booking| {
            let (start, end) = (local(&booking.start), local(&booking.end));
            let end_text = if end.date() == start.date() {
                time(end)
            } else {
                format!("{} {}", end.format("%a %-d %b"), time(end))
            };
            HostBooking {
                when: format!("{}, {} \u{2013} {}", start.format("%a %-d %b %Y"), time(start), end_text),
                local_start: start.format("%Y-%m-%dT%H:%M").to_string(),
                booking,
            }
        })
        .collect();
    Ok(BookingsData { time_zone: user.time_zone.clone(), bookings, page, per_page, total })
}

#[server(prefix = "/fn", endpoint = "cancel_booking")]
pub async fn cancel_booking(id: String, reason: Option<String>, back: Option<String>) -> Result<BookingInfo, AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    let db = state.db.clone();
    let row = bookings::find(&db, &user.id, &id).await?;
    let done = bookings::cancel(&db, &row, bookings::Actor::Host, filled(reason).as_deref(), &state.public_url).await?;
    redirect_back(back, "/bookings");
    Ok(done)
}

#[server(prefix = "/fn", endpoint = "approve_booking")]
pub async fn approve_booking(id: String, back: Option<String>) -> Result<BookingInfo, AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    let db = state.db.clone();
    let row = bookings::find(&db, &user.id, &id).await?;
    let done = bookings::decide(&db, &row, true, None, &state.public_url).await?;
    redirect_back(back, "/bookings");
    Ok(done)
}

#[server(prefix = "/fn", endpoint = "decline_booking")]
pub async fn decline_booking(
    id: String,
    reason: Option<String>,
    back: Option<String>,
) -> Result<BookingInfo, AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    let db = state.db.clone();
    let row = bookings::find(&db, &user.id, &id).await?;
    let done = bookings::decide(&db, &row, false, filled(reason).as_deref(), &state.public_url).await?;
    redirect_back(back, "/bookings");
    Ok(done)
}

/// Moves a booking to `start`, a `datetime-local` value in the host's zone.
#[server(prefix = "/fn", endpoint = "reschedule_booking")]
pub async fn reschedule_booking(
    id: String,
    start: String,
    reason: Option<String>,
    back: Option<String>,
) -> Result<BookingInfo, AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    let db = state.db.clone();
    let text = start.trim();
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| AppError::field(FieldError::new("start", "Choose a date and a time.")))?;
    let utc = calento::recurrence::local_to_utc(user_zone(&user), local);
    let row = bookings::find(&db, &user.id, &id).await?;
    let done = bookings::reschedule(
        &db,
        &row,
        bookings::Actor::Host,
        &utc.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        reason.as_deref(),
        &state.public_url,
    )
    .await?;
    redirect_back(back, "/bookings");
    Ok(done)
}
