//! The calendar views' server functions: the data of a view, and creating, changing,
//! moving and deleting events from the dialog (also as plain forms without JavaScript).

use leptos::prelude::*;

use crate::AppError;
use crate::models::{CalendarData, Deleted, EventInfo};
#[cfg(feature = "ssr")]
use {
    super::request,
    crate::models::{EditScope, EventInput, EventPatch, ViewItem},
    crate::ssr::{calendars, events},
    calento::calendar_view::ViewKind,
    chrono::{Duration, NaiveDate, NaiveTime},
};

/// The occurrences of the days a view shows, placed in the viewer's zone.
#[server(prefix = "/fn", endpoint = "load_calendar")]
pub async fn load_calendar(view: String, date: String) -> Result<CalendarData, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let profile = user.profile();
    let tz = calento::TimeZoneName::parse(&profile.time_zone).map(|z| z.tz()).unwrap_or(chrono_tz::Tz::UTC);
    let now = calento::recurrence::utc_to_local(tz, chrono::Utc::now().naive_utc());
    let view = ViewKind::parse(&view)
        .unwrap_or_else(|| if request::is_phone() { ViewKind::ThreeDays } else { ViewKind::Week });
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .ok()
        .filter(|d| (1000..=9000).contains(&chrono::Datelike::year(d)))
        .unwrap_or(now.date());
    let (first_day, end_day) = view.days(date, profile.week_start);
    let local = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    let from = calento::recurrence::local_to_utc(tz, local(first_day)) - Duration::days(1);
    let to = calento::recurrence::local_to_utc(tz, local(end_day)) + Duration::days(1);
    let calendar_rows = calendars::list(&db, &user.id).await?;
    let visible: Vec<_> = calendar_rows.iter().filter(|c| c.visible == 1).cloned().collect();
    let found = events::occurrences_in(&db, &user.id, from, to, &visible).await?;
    let mut items = Vec::with_capacity(found.len());
    for occurrence in found {
        let (local_start, local_end) = if occurrence.all_day || occurrence.floating {
            let at = |ms: i64| crate::ssr::millis_to_utc(ms).naive_utc();
            (at(occurrence.start_ms), at(occurrence.end_ms))
        } else {
            let at = |ms: i64| calento::recurrence::utc_to_local(tz, crate::ssr::millis_to_utc(ms).naive_utc());
            (at(occurrence.start_ms), at(occurrence.end_ms))
        };
        if local_start >= local(end_day) || local_end.max(local_start + Duration::minutes(1)) <= local(first_day) {
            continue;
        }
        let counts =
            calendar_rows.iter().find(|c| c.id == occurrence.calendar_id).is_some_and(|c| c.counts_as_busy == 1);
        let busy = counts
            && occurrence.transparency == calento::event::Transparency::Busy
            && occurrence.status != calento::event::EventStatus::Cancelled;
        items.push(ViewItem::new(occurrence, local_start, local_end, busy));
    }
    items.sort_by(|a, b| (a.local_start, &a.summary).cmp(&(b.local_start, &b.summary)));
    Ok(CalendarData {
        view,
        date,
        first_day,
        end_day,
        today: now.date(),
        now,
        time_zone: profile.time_zone.clone(),
        week_start: profile.week_start,
        clock: profile.clock,
        calendars: calendar_rows.iter().map(|c| c.info()).collect(),
        items,
    })
}

#[server(prefix = "/fn", endpoint = "event_details")]
pub async fn event_details(id: String) -> Result<EventInfo, AppError> {
    let user = request::require_user().await?;
    events::get(&request::state()?.db, &user.id, &id).await
}

#[cfg(feature = "ssr")]
fn scope_of(scope: Option<&str>) -> Result<EditScope, AppError> {
    EditScope::parse(scope.unwrap_or("all").trim())
        .ok_or_else(|| AppError::field(calento::FieldError::new("scope", "Choose which events the change applies to.")))
}

#[cfg(feature = "ssr")]
fn filled(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Creates (no `id`) or changes an event from the dialog's fields.
#[server(prefix = "/fn", endpoint = "save_event")]
#[allow(clippy::too_many_arguments)]
pub async fn save_event(
    id: Option<String>,
    scope: Option<String>,
    recurrence_id: Option<String>,
    calendar_id: Option<String>,
    title: String,
    all_day: Option<String>,
    start_date: String,
    start_time: Option<String>,
    end_date: String,
    end_time: Option<String>,
    time_zone: Option<String>,
    repeat: Option<String>,
    rrule: Option<String>,
    description: Option<String>,
    location: Option<String>,
    reminder: Option<String>,
    url: Option<String>,
    status: Option<String>,
    transparency: Option<String>,
    color: Option<String>,
    tags: Option<String>,
    attendees: Option<String>,
    back: Option<String>,
    quick: Option<String>,
) -> Result<EventInfo, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let all_day = all_day.is_some_and(|v| v != "false" && v != "off");
    // The quick-create popover: a day, a time or a length written in the title ("lunch
    // with Sam tomorrow 12:30 for 1h") wins over its fields, as the popover showed.
    let (title, start_date, start_time, end_date, end_time) = match filled(quick) {
        Some(_) if !all_day && filled(id.clone()).is_none() => {
            read_event_line(&user, title, start_date, start_time, end_date, end_time)
        }
        _ => (title, start_date, start_time, end_date, end_time),
    };
    let when = |date: &str, time: Option<String>| {
        if all_day {
            date.trim().to_owned()
        } else {
            // The dialog's time fields take what people type (`9:30`, `930`, `9:30 pm`);
            // what is not a time goes on as typed, to be refused with the field's message.
            let time = filled(time).unwrap_or_else(|| "09:00".into());
            let time = calento::clock::parse_time_of_day(&time).map_or(time, |t| t.format("%H:%M").to_string());
            format!("{}T{time}", date.trim())
        }
    };
    let start = when(&start_date, start_time);
    let mut end = when(&end_date, end_time);
    if all_day {
        // The dialog shows the last day of an all-day event; storage keeps the end exclusive.
        if let Ok(last) = NaiveDate::parse_from_str(end.trim(), "%Y-%m-%d") {
            end = (last + Duration::days(1)).format("%Y-%m-%d").to_string();
        }
    }
    let repeat = filled(repeat).unwrap_or_else(|| "keep".into());
    let rrule = match repeat.as_str() {
        "keep" => None,
        "custom" => Some(filled(rrule)),
        "none" => Some(None),
        key => {
            let date = NaiveDate::parse_from_str(start_date.trim(), "%Y-%m-%d")
                .map_err(|_| AppError::field(calento::FieldError::new("start", "Enter a date like 2024-03-14.")))?;
            let choice = calento::calendar_view::repeat_choices(date).into_iter().find(|c| c.key == key);
            Some(choice.and_then(|c| c.rule))
        }
    };
    // Left as offered (a new event's form offers its calendar's defaults) or absent (the
    // quick popover): a new event gets its calendar's default reminders.
    let calendar_defaults = matches!(reminder.as_deref().map(str::trim), None | Some("keep"));
    let reminders = match reminder.as_deref().map(str::trim) {
        Some("keep") => None,
        Some("" | "none") | None => Some(Some(Vec::new())),
        Some(minutes) => {
            let minutes: u32 = minutes.parse().map_err(|_| {
                AppError::field(calento::FieldError::new("reminders", "Choose a reminder from the list."))
            })?;
            Some(Some(vec![minutes]))
        }
    };
    // Fields the form may leave out (an older page, a script): absent means unchanged.
    let status = match filled(status) {
        Some(text) => Some(Some(calento::event::EventStatus::parse(&text).ok_or_else(|| {
            AppError::field(calento::FieldError::new("status", "Choose confirmed, tentative or cancelled."))
        })?)),
        None => None,
    };
    let transparency = match filled(transparency) {
        Some(text) => Some(Some(
            calento::event::Transparency::parse(&text)
                .ok_or_else(|| AppError::field(calento::FieldError::new("transparency", "Choose busy or free.")))?,
        )),
        None => None,
    };
    let attendees = match attendees {
        Some(lines) => {
            let known = match filled(id.clone()) {
                Some(id) => events::get(&db, &user.id, &id).await?.details.attendees,
                None => Vec::new(),
            };
            Some(Some(calento::event::parse_attendee_lines(&lines, &known)))
        }
        None => None,
    };
    let patch = EventPatch {
        calendar_id: filled(calendar_id),
        title: Some(Some(title)),
        description: Some(filled(description)),
        location: Some(filled(location)),
        url: url.map(|u| Some(u.trim().to_owned())),
        status,
        transparency,
        color: color.map(|c| Some(c.trim().to_owned()).filter(|c| !c.is_empty())),
        tags: tags.map(|t| Some(calento::event::parse_tag_list(&t))),
        reminders,
        attendees,
        start: Some(Some(start)),
        end: Some(Some(end)),
        all_day: Some(Some(all_day)),
        time_zone: match filled(time_zone) {
            Some(zone) => Some(Some(zone)),
            None if all_day => Some(None),
            None => None,
        },
        rrule,
        exdates: None,
        rdates: None,
    };
    let saved = match filled(id) {
        Some(id) => {
            let scope = scope_of(filled(scope).as_deref())?;
            events::update(&db, &user.id, &id, &patch, scope, filled(recurrence_id).as_deref()).await?
        }
        None => events::create_with(&db, &user.id, patch.apply(&EventInput::default()), calendar_defaults).await?,
    };
    if request::is_plain_form_post() {
        leptos_axum::redirect(&request::local_path(back, "/calendar"));
    }
    Ok(saved)
}

/// The title read for a day, a time and a length (`calento::capture::parse_event_line`),
/// placed from the fields' times; the fields unchanged when it names none of them (or the
/// fields are not times, to be refused with their own messages).
#[cfg(feature = "ssr")]
fn read_event_line(
    user: &crate::ssr::accounts::UserRow,
    title: String,
    start_date: String,
    start_time: Option<String>,
    end_date: String,
    end_time: Option<String>,
) -> (String, String, Option<String>, String, Option<String>) {
    let now = crate::ssr::accounts::local_now(user);
    let context = calento::capture::CaptureContext { now, week_start: user.profile().week_start.weekday() };
    let line = calento::capture::parse_event_line(&title, &context);
    let at = |date: &str, time: Option<&str>| {
        Some(
            NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
                .ok()?
                .and_time(calento::clock::parse_time_of_day(time?)?),
        )
    };
    let fields = (at(&start_date, start_time.as_deref()), at(&end_date, end_time.as_deref()));
    let says = line.date.is_some() || line.time.is_some() || line.minutes.is_some();
    match fields {
        (Some(start), Some(end)) if says => {
            let (start, end) = line.place(start, end);
            let time = |at: chrono::NaiveDateTime| Some(at.format("%H:%M").to_string());
            let date = |at: chrono::NaiveDateTime| at.format("%Y-%m-%d").to_string();
            (line.title, date(start), time(start), date(end), time(end))
        }
        _ => (title, start_date, start_time, end_date, end_time),
    }
}

/// Moves or resizes one event (for a repeating one, the one occurrence) to new instants.
#[server(prefix = "/fn", endpoint = "move_event")]
pub async fn move_event(
    id: String,
    recurrence_id: Option<String>,
    start_utc: String,
    end_utc: String,
    scope: Option<String>,
) -> Result<EventInfo, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let patch = EventPatch { start: Some(Some(start_utc)), end: Some(Some(end_utc)), ..EventPatch::default() };
    let key = filled(recurrence_id);
    let scope = match filled(scope) {
        Some(scope) => scope_of(Some(&scope))?,
        None if key.is_some() => EditScope::This,
        None => EditScope::All,
    };
    events::update(&db, &user.id, &id, &patch, scope, key.as_deref()).await
}

#[server(prefix = "/fn", endpoint = "delete_event")]
pub async fn delete_event(
    id: String,
    scope: Option<String>,
    recurrence_id: Option<String>,
    back: Option<String>,
) -> Result<Deleted, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let scope = scope_of(filled(scope).as_deref())?;
    let undo = events::delete_with_undo(&db, &user.id, &id, scope, filled(recurrence_id).as_deref()).await?;
    if request::is_plain_form_post() {
        // Without JavaScript the page the browser goes back to offers the undo.
        let back = request::local_path(back, "/calendar");
        let sep = if back.contains('?') { '&' } else { '?' };
        leptos_axum::redirect(&format!("{back}{sep}deleted={}", undo.token));
    }
    Ok(Deleted { title: undo.title, undo: undo.token })
}

/// Puts back an event deleted a moment ago (the `undo` token `delete_event` returned).
#[server(prefix = "/fn", endpoint = "undo_delete")]
pub async fn undo_delete(token: String, back: Option<String>) -> Result<String, AppError> {
    let user = request::require_user().await?;
    let title = events::restore(&request::state()?.db, &user.id, token.trim()).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect(&request::local_path(back, "/calendar"));
    }
    Ok(title)
}

#[server(prefix = "/fn", endpoint = "list_calendars")]
pub async fn list_calendars() -> Result<Vec<crate::models::CalendarInfo>, AppError> {
    let user = request::require_user().await?;
    let rows = calendars::list(&request::state()?.db, &user.id).await?;
    Ok(rows.iter().map(|c| c.info()).collect())
}

/// Creates a calendar, or subscribes to an ICS address when `source_url` is given.
#[server(prefix = "/fn", endpoint = "create_calendar")]
pub async fn create_calendar(
    name: String,
    color: Option<String>,
    time_zone: Option<String>,
    source_url: Option<String>,
    poll_minutes: Option<String>,
    #[server(default)] next: Option<String>,
) -> Result<crate::models::CalendarInfo, AppError> {
    let user = request::require_user().await?;
    let poll = match filled(poll_minutes) {
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| AppError::field(calento::FieldError::new("poll_minutes", "Enter a number of minutes.")))?,
        ),
        None => None,
    };
    let input = crate::models::CalendarInput {
        name: Some(name),
        color: filled(color),
        time_zone: filled(time_zone),
        counts_as_busy: None,
        visible: None,
        source_url: filled(source_url),
        poll_minutes: poll,
        default_reminders: None,
    };
    let state = request::state()?;
    calendars::check_subscription(&state.url_check, &input).await?;
    let row = calendars::create(&state.db, &user.id, &input, &user.time_zone).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect(&request::local_path(next, "/settings/calendars"));
    }
    Ok(row.info())
}

#[server(prefix = "/fn", endpoint = "update_calendar")]
pub async fn update_calendar(
    id: String,
    name: String,
    color: String,
    time_zone: String,
    counts_as_busy: Option<String>,
    visible: Option<String>,
    #[server(default)] default_reminders: Option<String>,
) -> Result<crate::models::CalendarInfo, AppError> {
    let user = request::require_user().await?;
    // "10, 60": minutes before; absent keeps them, empty clears them.
    let default_reminders = match default_reminders {
        None => None,
        Some(text) => Some(
            text.split([',', ' ', ';'])
                .filter(|part| !part.trim().is_empty())
                .map(|part| part.trim().parse::<u32>())
                .collect::<Result<Vec<u32>, _>>()
                .map_err(|_| {
                    AppError::field(calento::FieldError::new(
                        "default_reminders",
                        "Give minutes before the start, separated by commas (10, 60).",
                    ))
                })?,
        ),
    };
    let input = crate::models::CalendarInput {
        name: Some(name),
        color: Some(color),
        time_zone: Some(time_zone),
        counts_as_busy: Some(counts_as_busy.is_some()),
        visible: Some(visible.is_some()),
        source_url: None,
        poll_minutes: None,
        default_reminders,
    };
    let row = calendars::update(&request::state()?.db, &user.id, &id, &input).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect("/settings/calendars");
    }
    Ok(row.info())
}

#[server(prefix = "/fn", endpoint = "delete_calendar")]
pub async fn delete_calendar(id: String) -> Result<(), AppError> {
    let user = request::require_user().await?;
    calendars::delete(&request::state()?.db, &user.id, &id).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect("/settings/calendars");
    }
    Ok(())
}

/// Publishes a new private feed address (replacing any earlier one) and returns its path.
#[server(prefix = "/fn", endpoint = "publish_feed")]
pub async fn publish_feed(id: String) -> Result<String, AppError> {
    let user = request::require_user().await?;
    let token = calendars::publish_feed(&request::state()?.db, &user.id, &id).await?;
    Ok(format!("/feeds/{token}.ics"))
}

#[server(prefix = "/fn", endpoint = "revoke_feed")]
pub async fn revoke_feed(id: String) -> Result<(), AppError> {
    let user = request::require_user().await?;
    calendars::revoke_feed(&request::state()?.db, &user.id, &id).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect("/settings/calendars");
    }
    Ok(())
}

/// Searches the user's events (title, description, location), a page at a time.
#[server(prefix = "/fn", endpoint = "search_events")]
pub async fn search_events(
    q: String,
    from: Option<String>,
    to: Option<String>,
    calendar_id: Option<String>,
    sort: Option<String>,
    page: Option<String>,
) -> Result<crate::models::EventPage, AppError> {
    use crate::ssr::search;
    let user = request::require_user().await?;
    let tz = calento::TimeZoneName::parse(&user.time_zone).map(|z| z.tz()).unwrap_or(chrono_tz::Tz::UTC);
    // Dates from the form are the user's local days.
    let day = |field: &str, value: Option<String>, end: bool| -> Result<Option<i64>, AppError> {
        match filled(value) {
            None => Ok(None),
            Some(text) => {
                let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .map_err(|_| AppError::field(calento::FieldError::new(field, "Enter a date like 2024-03-14.")))?;
                let date = if end { date + Duration::days(1) } else { date };
                let utc = calento::recurrence::local_to_utc(tz, date.and_time(NaiveTime::MIN));
                Ok(Some(utc.and_utc().timestamp_millis()))
            }
        }
    };
    let from_ms = day("from", from, false)?;
    let to_ms = day("to", to, true)?;
    let query = search::SearchQuery {
        q: Some(q),
        calendar_id: filled(calendar_id),
        sort: filled(sort),
        page: filled(page),
        per_page: Some("20".into()),
        ..Default::default()
    };
    let parsed = search::Search::parse(&query, from_ms, to_ms)?;
    search::search(&request::state()?.db, &user.id, &parsed).await
}

/// Reminders due now for the signed-in user (shown in the header of every page).
#[server(prefix = "/fn", endpoint = "due_reminders")]
pub async fn due_reminders() -> Result<Vec<crate::models::DueReminder>, AppError> {
    let Some(user) = request::current_user().await? else { return Ok(Vec::new()) };
    let db = request::state()?.db.clone();
    let profile = user.profile();
    let tz = calento::TimeZoneName::parse(&profile.time_zone).map(|z| z.tz()).unwrap_or(chrono_tz::Tz::UTC);
    let now = chrono::Utc::now().naive_utc();
    let now_ms = now.and_utc().timestamp_millis();
    let horizon = Duration::minutes(i64::from(calento::event::MAX_REMINDER_MINUTES)) + Duration::days(1);
    let rows = calendars::list(&db, &user.id).await?;
    let found = events::occurrences_in(&db, &user.id, now, now + horizon, &rows).await?;
    let mut due: Vec<crate::models::DueReminder> = found
        .into_iter()
        .filter(|o| o.status != calento::event::EventStatus::Cancelled)
        .filter(|o| calento::event::reminder_due(o.start_ms, &o.reminders, now_ms))
        .map(|o| {
            let start = crate::ssr::millis_to_utc(o.start_ms).naive_utc();
            let local = if o.floating || o.all_day { start } else { calento::recurrence::utc_to_local(tz, start) };
            let at = profile.clock.time_text(local.time());
            crate::models::DueReminder {
                event_id: o.event_id,
                recurrence_id: o.recurrence_id,
                title: o.summary,
                start_ms: o.start_ms,
                at: if o.all_day { "all day".to_owned() } else { at },
                date: local.date(),
            }
        })
        .collect();
    due.sort_by_key(|d| d.start_ms);
    due.truncate(5);
    Ok(due)
}
