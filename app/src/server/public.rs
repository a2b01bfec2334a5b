//! Server functions of the public booking pages: no account needed, rate limited per
//! client address like the public API.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::AppError;
use crate::models::{CreatedBooking, ManagePage, PublicPage};

#[cfg(feature = "ssr")]
use super::request;

/// The first day of `month` (`YYYY-MM`), or this month in `tz` when absent or unreadable.
#[cfg(feature = "ssr")]
fn month_start(month: Option<&str>, today: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    month
        .and_then(|m| chrono::NaiveDate::parse_from_str(&format!("{}-01", m.trim()), "%Y-%m-%d").ok())
        .unwrap_or_else(|| today.with_day(1).unwrap_or(today))
}

/// 12-hour clocks for the locales that use them; 24-hour elsewhere.
#[cfg(feature = "ssr")]
fn clock_for(choice: Option<&str>) -> calento::ClockFormat {
    match choice.map(str::trim) {
        Some("12" | "12h") => return calento::ClockFormat::H12,
        Some("24" | "24h") => return calento::ClockFormat::H24,
        _ => {}
    }
    let twelve = ["en-us", "en", "en-ca", "en-au", "en-nz", "en-in", "en-ph", "es-mx", "es-us", "hi", "ar", "ko"];
    match request::preferred_language() {
        Some(lang) if twelve.contains(&lang.as_str()) => calento::ClockFormat::H12,
        _ => calento::ClockFormat::H24,
    }
}

/// One month of a link's slots in the invitee's zone. `reschedule` is the invitee's token
/// when they are moving a booking (their own booking then does not block).
#[server(prefix = "/fn", endpoint = "public_page")]
#[allow(clippy::too_many_arguments)]
pub async fn load_public_page(
    username: String,
    slug: String,
    key: Option<String>,
    month: Option<String>,
    tz: Option<String>,
    duration: Option<String>,
    clock: Option<String>,
    reschedule: Option<String>,
) -> Result<PublicPage, AppError> {
    use crate::ssr::bookings;
    use chrono::{Datelike, Duration};

    request::check_public_rate().await?;
    let db = request::state()?.db.clone();
    let moving = match reschedule.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => Some(bookings::find_by_token(&db, token).await?),
        None => None,
    };
    let found = match &moving {
        // The invitee's token opens their own link, even a secret one.
        Some(row) => match &row.link_id {
            Some(link_id) => bookings::found_for_link(&db, &row.host_id, link_id).await?,
            None => return Err(AppError::NotFound),
        },
        None => bookings::find_public(&db, &username, &slug, key.as_deref()).await?,
    };
    let zone = tz
        .as_deref()
        .and_then(|z| calento::TimeZoneName::parse(z).ok())
        .or_else(|| calento::TimeZoneName::parse(&found.schedule_row.time_zone).ok())
        .unwrap_or_default();
    let tz = zone.tz();
    let now = crate::ssr::now_ms();
    let today = calento::recurrence::utc_to_local(tz, crate::ssr::millis_to_utc(now).naive_utc()).date();
    // Moving a booking starts at the month it is in (when that is still ahead).
    let booked_day = moving
        .as_ref()
        .filter(|r| r.start_ms > now)
        .map(|r| calento::recurrence::utc_to_local(tz, crate::ssr::millis_to_utc(r.start_ms).naive_utc()).date());
    let month = month_start(month.as_deref(), booked_day.unwrap_or(today));
    let next = (month + Duration::days(32)).with_day(1).unwrap_or(month);
    let chosen = match (bookings::parse_duration(duration.as_deref())?, &moving) {
        (Some(d), _) => Some(d),
        (None, Some(row)) => u32::try_from((row.end_ms - row.start_ms) / 60_000).ok(),
        (None, None) => None,
    };
    let duration = found.duration(chosen).or_else(|_| found.duration(None))?;
    let midnight = |d: chrono::NaiveDate| calento::availability::wall_to_utc_ms(tz, d.and_time(chrono::NaiveTime::MIN));
    let (from, to) = (midnight(month), midnight(next));
    let starts = if to <= now {
        Vec::new()
    } else {
        bookings::offered(
            &db,
            &found,
            duration,
            from.max(now - 86_400_000),
            to,
            now,
            moving.as_ref().map(|r| r.id.as_str()),
        )
        .await?
    };
    let clock = clock_for(clock.as_deref());
    let host_tz = zone_named(&found.schedule_row.time_zone);
    let mut days: Vec<crate::models::DaySlots> = Vec::new();
    for start in starts {
        let date = calento::recurrence::utc_to_local(tz, crate::ssr::millis_to_utc(start).naive_utc()).date();
        if days.last().is_none_or(|day| day.date != date) {
            days.push(crate::models::DaySlots { date, starts: Vec::new(), times: Vec::new(), host_times: Vec::new() });
        }
        if let Some(day) = days.last_mut() {
            day.starts.push(start);
            day.times.push(time_text(start, tz, clock));
            day.host_times.push((host_tz != tz).then(|| time_text(start, host_tz, clock)));
        }
    }
    let is_secret = found.link.secret != 0;
    if moving.is_none() {
        // The same for every invitee asking for this address, until the host's data changes.
        crate::ssr::page_cache::allow(Some(&found.host.id));
    }
    Ok(PublicPage {
        link: found.public(),
        key: (is_secret && moving.is_none()).then(|| found.link.link_key.clone()),
        duration,
        timezone: zone.as_str().to_owned(),
        clock,
        month,
        today,
        days,
        has_previous: month > today.with_day(1).unwrap_or(today),
        canonical: match (is_secret || moving.is_some(), request::state()?.canonical_base.clone()) {
            (false, Some(base)) => {
                Some(format!("{}/{}/{}", base.trim_end_matches('/'), found.host.username, found.link.slug))
            }
            _ => None,
        },
        indexed: !is_secret && moving.is_none(),
        rescheduling_when: moving
            .as_ref()
            .map(|r| format!("{} at {}", day_text(r.start_ms, tz), time_text(r.start_ms, tz, clock))),
        rescheduling: moving.map(|r| r.info()),
    })
}

/// Books the chosen slot from the public page's form. Without JavaScript the browser is
/// sent on to the booking's own page.
#[server(prefix = "/fn", endpoint = "book_slot")]
#[allow(clippy::too_many_arguments)]
pub async fn book_slot(
    username: String,
    slug: String,
    key: Option<String>,
    start: String,
    duration: Option<String>,
    timezone: Option<String>,
    name: String,
    email: String,
    notes: Option<String>,
    website: Option<String>,
    answers: Option<BTreeMap<String, String>>,
    idempotency_key: Option<String>,
    #[server(default)] clock: Option<String>,
) -> Result<CreatedBooking, AppError> {
    use crate::ssr::bookings;

    request::check_public_rate().await?;
    let db = request::state()?.db.clone();
    let found = bookings::find_public(&db, &username, &slug, key.as_deref()).await?;
    let duration = bookings::parse_duration(duration.as_deref())?;
    let req = crate::models::BookingRequest {
        start,
        duration,
        name,
        email,
        notes,
        answers: answers.unwrap_or_default(),
        timezone,
        website,
    };
    // A form sent twice (a double click, a reload) books once: without a key of its own,
    // the same person and start make the key.
    let key = idempotency_key.filter(|k| !k.trim().is_empty()).unwrap_or_else(|| {
        crate::ssr::tokens::hash(&format!("form:{}:{}", req.start.trim(), req.email.trim().to_lowercase()))
    });
    let base = request::state()?.public_url.clone();
    let (created, _) = bookings::create(&db, &found, &req, Some(&key), &base).await?;
    if request::is_plain_form_post() {
        // The invitee's clock choice carries over to their booking's page.
        let clock =
            clock.filter(|c| matches!(c.as_str(), "12" | "24")).map(|c| format!("&clock={c}")).unwrap_or_default();
        leptos_axum::redirect(&format!("{}?new=1{clock}", created.manage_url));
    }
    Ok(created)
}

/// The invitee's page for one booking, found by its secret token.
#[server(prefix = "/fn", endpoint = "manage_page")]
pub async fn load_manage_page(token: String, clock: Option<String>) -> Result<ManagePage, AppError> {
    use crate::ssr::bookings;

    request::check_public_rate().await?;
    let db = request::state()?.db.clone();
    let row = bookings::find_by_token(&db, &token).await?;
    let found = match &row.link_id {
        Some(link_id) => bookings::found_for_link(&db, &row.host_id, link_id).await.ok(),
        None => None,
    };
    let host_name = match &found {
        Some(found) => found.host.name.clone(),
        None => crate::ssr::accounts::find_by_id(&db, &row.host_id).await?.map(|u| u.name).unwrap_or_default(),
    };
    let host_timezone =
        found.as_ref().map(|f| f.schedule_row.time_zone.clone()).unwrap_or_else(|| row.invitee_zone.clone());
    let clock = clock_for(clock.as_deref());
    let (tz, host_tz) = (zone_named(&row.invitee_zone), zone_named(&host_timezone));
    let span = |tz| {
        let (day, from, to) =
            (day_text(row.start_ms, tz), time_text(row.start_ms, tz, clock), time_text(row.end_ms, tz, clock));
        format!("{day}, {from} \u{2013} {to}")
    };
    Ok(ManagePage {
        booking: row.info(),
        when: span(tz),
        host_when: (host_tz != tz).then(|| format!("{} for {host_name}", span(host_tz))),
        host_name,
        host_timezone,
        link_path: found.as_ref().map(|f| format!("/{}/{}", f.host.username, f.link.slug)),
        can_change: bookings::invitee_can_change(&db, &row).await,
        clock,
    })
}

#[server(prefix = "/fn", endpoint = "cancel_my_booking")]
pub async fn cancel_my_booking(token: String, reason: Option<String>) -> Result<(), AppError> {
    use crate::ssr::bookings;

    request::check_public_rate().await?;
    let db = request::state()?.db.clone();
    let row = bookings::find_by_token(&db, &token).await?;
    bookings::cancel(&db, &row, bookings::Actor::Invitee, reason.as_deref(), &request::state()?.public_url).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect(&format!("/booking/{}", token.trim()));
    }
    Ok(())
}

#[server(prefix = "/fn", endpoint = "reschedule_my_booking")]
pub async fn reschedule_my_booking(token: String, start: String) -> Result<(), AppError> {
    use crate::ssr::bookings;

    request::check_public_rate().await?;
    let db = request::state()?.db.clone();
    let row = bookings::find_by_token(&db, &token).await?;
    bookings::reschedule(&db, &row, bookings::Actor::Invitee, &start, None, &request::state()?.public_url).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect(&format!("/booking/{}?moved=1", token.trim()));
    }
    Ok(())
}

/// A host's public links, for `/{username}`: active and not secret.
#[server(prefix = "/fn", endpoint = "host_links")]
pub async fn load_host_links(username: String) -> Result<crate::models::HostLinks, AppError> {
    request::check_public_rate().await?;
    let db = request::state()?.db.clone();
    let (host, links) = crate::ssr::bookings::listed_links(&db, &username).await?;
    let base = request::state()?.canonical_base.clone();
    crate::ssr::page_cache::allow(Some(&host.id));
    Ok(crate::models::HostLinks {
        canonical: base.map(|base| format!("{}/{}", base.trim_end_matches('/'), host.username)),
        host_name: host.name,
        username: host.username,
        links: links
            .iter()
            .map(|l| {
                let f = l.fields();
                crate::models::ListedLink {
                    slug: f.slug,
                    title: f.title,
                    description: f.description,
                    durations: f.durations,
                }
            })
            .collect(),
    })
}

/// A zone by name (UTC when the stored name is no longer known).
#[cfg(feature = "ssr")]
fn zone_named(name: &str) -> chrono_tz::Tz {
    calento::TimeZoneName::parse(name).map(|z| z.tz()).unwrap_or(chrono_tz::Tz::UTC)
}

/// A wall-clock time of an instant in `tz`, on a 12- or 24-hour clock.
#[cfg(feature = "ssr")]
fn time_text(ms: i64, tz: chrono_tz::Tz, clock: calento::ClockFormat) -> String {
    clock.time_text(calento::recurrence::utc_to_local(tz, crate::ssr::millis_to_utc(ms).naive_utc()).time())
}

/// The day of an instant in `tz`: "Tuesday 15 January 2030".
#[cfg(feature = "ssr")]
fn day_text(ms: i64, tz: chrono_tz::Tz) -> String {
    calento::recurrence::utc_to_local(tz, crate::ssr::millis_to_utc(ms).naive_utc()).format("%A %-d %B %Y").to_string()
}
