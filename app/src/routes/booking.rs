//! The public booking pages: `/{username}` (the host's links), `/{username}/{slug}` (a
//! month of available days, the slots of a day in the invitee's zone, the booking form)
//! and `/booking/{token}` (the invitee's own page: confirmation, add to calendar, cancel,
//! reschedule). Everything is a link or a plain form, so it all works without JavaScript;
//! once hydrated the browser's zone is used and forms answer in place.

use chrono::{Datelike, Duration, NaiveDate};
use futures::FutureExt;
use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title};
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{FormDraft, FormError, TimeZoneOptions, form_error, percent_encode, textarea_text};
use crate::models::{DaySlots, ManagePage, PublicPage};
use crate::server::public::{
    BookSlot, CancelMyBooking, RescheduleMyBooking, load_host_links, load_manage_page, load_public_page,
};
use calento::ClockFormat;

/// Answers 404 for a page rendered on the server (the page is fully awaited first).
fn not_found_status() {
    error_status(&crate::AppError::NotFound);
}

/// Answers a page rendered on the server with its error's status (429 when the public
/// budget is spent, with how long to wait), not 200.
fn error_status(error: &crate::AppError) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(error.status())
    {
        response.set_status(status);
        if let crate::AppError::RateLimited { retry_after_secs } = error
            && let Ok(value) = http::HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.insert_header(http::header::RETRY_AFTER, value);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = error;
}

/// A page's description for search results and link previews: the host's own words when
/// they wrote some, else `fallback`; at most about 160 characters.
fn page_description(written: &str, fallback: &str) -> String {
    let text = written.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = if text.is_empty() { format!("{fallback}: choose a time that suits you.") } else { text };
    if text.chars().count() <= 160 {
        text
    } else {
        format!("{}…", text.chars().take(159).collect::<String>().trim_end())
    }
}

fn utc_param(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The booking page's state, all in its address.
#[derive(Debug, Clone, Default, PartialEq)]
struct Nav {
    path: String,
    key: Option<String>,
    tz: Option<String>,
    duration: Option<String>,
    clock: Option<String>,
    reschedule: Option<String>,
    month: Option<String>,
    date: Option<String>,
    slot: Option<String>,
}

impl Nav {
    fn href(&self) -> String {
        let pairs = [
            ("key", &self.key),
            ("reschedule", &self.reschedule),
            ("duration", &self.duration),
            ("tz", &self.tz),
            ("clock", &self.clock),
            ("month", &self.month),
            ("date", &self.date),
            ("slot", &self.slot),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter_map(|(k, v)| v.as_ref().filter(|v| !v.is_empty()).map(|v| format!("{k}={}", percent_encode(v))))
            .collect();
        if query.is_empty() { self.path.clone() } else { format!("{}?{}", self.path, query.join("&")) }
    }

    fn with(&self, change: impl FnOnce(&mut Self)) -> String {
        let mut next = self.clone();
        change(&mut next);
        next.href()
    }
}

#[component]
pub fn PublicBookingPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let q = move |k: &str| query.read().get(k).filter(|v| !v.trim().is_empty());
    let username = move || params.read().get("username").unwrap_or_default();
    let slug = move || params.read().get("slug").unwrap_or_default();
    // Not a `Resource`: these pages are never hydrated, so nothing needs the loaded
    // page serialized into the HTML for the browser (see `BookingApp`).
    // Made once and shared: the server renders a `Suspend` closure twice (once to find
    // what it waits for, once to draw it), and calling the loader in it would load the
    // page, and count it against the public budget, twice.
    let page =
        load_public_page(username(), slug(), q("key"), q("month"), q("tz"), q("duration"), q("clock"), q("reschedule"))
            .shared();
    // The forms post to their server functions, which answer by sending the browser on
    // (these pages are not hydrated: see `BookingApp`).
    let book = ServerAction::<BookSlot>::new();
    let moved = ServerAction::<RescheduleMyBooking>::new();
    view! {
        <Title text="Book a time" />
        <section class="card booking-page" data-testid="booking-page">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let loaded = page.clone();
                    Suspend::new(async move {
                    match loaded.await {
                        Ok(page) => {
                            let nav = nav_of(&username(), &slug(), &|k| q(k));
                            view! { <BookingBody page nav book moved /> }.into_any()
                        }
                        Err(crate::AppError::NotFound) => {
                            not_found_status();
                            view! {
                                <h1>"Not found"</h1>
                                <p>"This booking link does not exist or is no longer open."</p>
                            }.into_any()
                        }
                        Err(error) => {
                            error_status(&error);
                            view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any()
                        }
                    }
                })
                }}
            </Transition>
        </section>
    }
}

fn nav_of(username: &str, slug: &str, q: &dyn Fn(&str) -> Option<String>) -> Nav {
    Nav {
        path: format!("/{username}/{slug}"),
        key: q("key"),
        tz: q("tz"),
        duration: q("duration"),
        clock: q("clock"),
        reschedule: q("reschedule"),
        month: q("month"),
        date: q("date"),
        slot: q("slot"),
    }
}

#[component]
fn BookingBody(
    page: PublicPage,
    nav: Nav,
    book: ServerAction<BookSlot>,
    moved: ServerAction<RescheduleMyBooking>,
) -> impl IntoView {
    let clock = page.clock;
    let link = page.link.clone();
    // The chosen day: from the address, else the first day with slots.
    let chosen_date = nav
        .date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .or_else(|| page.days.first().map(|d| d.date));
    let day: Option<DaySlots> = chosen_date.and_then(|d| page.days.iter().find(|x| x.date == d).cloned());
    let slot_ms =
        nav.slot.as_deref().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|t| t.timestamp_millis());
    let month_label = page.month.format("%B %Y").to_string();
    let prev_month = (page.month - Duration::days(1)).format("%Y-%m").to_string();
    let next_month = (page.month + Duration::days(32)).format("%Y-%m").to_string();
    let prev_href = page.has_previous.then(|| {
        nav.with(|n| {
            n.month = Some(prev_month.clone());
            n.date = None;
            n.slot = None;
        })
    });
    let next_href = nav.with(|n| {
        n.month = Some(next_month.clone());
        n.date = None;
        n.slot = None;
    });
    let other_clock = match clock {
        ClockFormat::H24 => ("12", "12-hour clock"),
        ClockFormat::H12 => ("24", "24-hour clock"),
    };
    let clock_href = nav.with(|n| n.clock = Some(other_clock.0.to_owned()));
    let durations = link.durations.clone();
    let duration = page.duration;
    let rescheduling = page.rescheduling.clone();
    let kept = nav.clone();
    let summary = page_description(&link.description, &format!("Book “{}” with {}", link.title, link.host_name));
    let canonical = page.canonical.clone();
    view! {
        <Meta name="description" content=summary />
        {canonical.map(|url| view! { <Link rel="canonical" href=url /> })}
        // A secret link, or a booking being moved: not for search engines.
        {(!page.indexed).then(|| view! { <Meta name="robots" content="noindex" /> })}
        <p class="host" data-testid="host-name">{link.host_name.clone()}</p>
        <h1 data-testid="link-title">{link.title.clone()}</h1>
        {(!link.description.is_empty()).then(|| view! { <p class="description">{link.description.clone()}</p> })}
        <p class="meta">
            <span data-testid="duration">{format!("{duration} min")}</span>
            {(!link.location.text().is_empty()).then(|| view! { " · " <span data-testid="link-location">{link.location.text()}</span> })}
            {(link.location.kind == crate::models::LocationKind::Video)
                .then(|| view! { " · " <span class="hint">"the link comes with your confirmation"</span> })}
            {link.requires_approval.then(|| view! { " · " <span>"The host confirms each booking"</span> })}
        </p>
        {page.rescheduling_when.clone().map(|when| {
            view! {
                <p class="notice" role="status" data-testid="rescheduling">
                    {format!("Moving your booking of {when}. Choose a new time.")}
                </p>
            }
        })}
        {(durations.len() > 1).then(|| view! {
            <nav class="durations" aria-label="Duration">
                {durations.iter().map(|d| {
                    let href = nav.with(|n| { n.duration = Some(d.to_string()); n.slot = None; });
                    let current = *d == duration;
                    view! {
                        <A href=href attr:class=if current { "button selected" } else { "button" } attr:aria-current=current.then_some("true")>
                            {format!("{d} min")}
                        </A>
                    }
                }).collect_view()}
            </nav>
        })}
        <form method="get" action=nav.path.clone() class="zone-form">
            {kept.key.clone().map(|v| view! { <input type="hidden" name="key" value=v /> })}
            {kept.reschedule.clone().map(|v| view! { <input type="hidden" name="reschedule" value=v /> })}
            {kept.duration.clone().map(|v| view! { <input type="hidden" name="duration" value=v /> })}
            {kept.clock.clone().map(|v| view! { <input type="hidden" name="clock" value=v /> })}
            {kept.month.clone().map(|v| view! { <input type="hidden" name="month" value=v /> })}
            <label for="invitee-tz">"Your time zone"</label>
            <input id="invitee-tz" name="tz" list="time-zones" value=page.timezone.clone() data-testid="invitee-tz" />
            <button type="submit" data-testid="change-tz">"Show times"</button>
            <span class="hint" data-testid="host-tz">{format!("The host is in {}.", link.host_timezone)}</span>
            <A href=clock_href attr:class="clock-switch" attr:data-testid="clock-switch">{format!("Use the {}", other_clock.1)}</A>
        </form>
        <TimeZoneOptions />
        <div class="booking-grid">
            <MonthView page=page.clone() nav=nav.clone() chosen=chosen_date prev_href next_href month_label />
            <div class="day-slots" data-testid="day-slots">
                {match (&day, chosen_date) {
                    (Some(day), _) => {
                        let heading = day.date.format("%A %-d %B").to_string();
                        view! {
                            <h2>{heading}</h2>
                            <ul class="slots">
                                {day.starts.iter().enumerate().map(|(i, start)| {
                                    // The form below is where the eyes go next: the link lands on it.
                                    let href = nav.with(|n| { n.slot = Some(utc_param(*start)); n.date = Some(day.date.format("%Y-%m-%d").to_string()); }) + "#your-details";
                                    let chosen = slot_ms == Some(*start);
                                    let label = day.times.get(i).cloned().unwrap_or_else(|| utc_param(*start));
                                    let host_time = day.host_times.get(i).cloned().flatten().map(|t| format!(" ({t} host time)"));
                                    view! {
                                        <li>
                                            <A href=href attr:class=if chosen { "slot selected" } else { "slot" } attr:data-testid="slot" attr:data-start=utc_param(*start)>
                                                {label}
                                            </A>
                                            {host_time.map(|t| view! { <span class="hint">{t}</span> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                    (None, Some(_)) => view! { <p class="empty">"No times left on this day. Choose another."</p> }.into_any(),
                    (None, None) => view! { <p class="empty" data-testid="no-days">"No times are open this month."</p> }.into_any(),
                }}
            </div>
        </div>
        {slot_ms.map(|start| {
            // The slot as the page lists it; a slot no longer listed is named in UTC.
            let when = page
                .days
                .iter()
                .find_map(|d| d.starts.iter().position(|s| *s == start).map(|i| (d, i)))
                .map(|(d, i)| format!("{}, {}", d.date.format("%A %-d %B %Y"), d.times.get(i).cloned().unwrap_or_default()))
                .unwrap_or_else(|| format!("{} UTC", utc_param(start).replace('T', " ").trim_end_matches('Z')));
            match rescheduling.clone() {
                Some(_) => view! { <MoveForm start when nav=nav.clone() moved /> }.into_any(),
                None => view! { <BookForm page=page.clone() start when nav=nav.clone() book /> }.into_any(),
            }
        })}
    }
}

#[component]
fn MonthView(
    page: PublicPage,
    nav: Nav,
    chosen: Option<NaiveDate>,
    prev_href: Option<String>,
    next_href: String,
    month_label: String,
) -> impl IntoView {
    let first = page.month;
    let lead = first.weekday().num_days_from_monday() as i64;
    let days_in_month = calento::recurrence::days_in_month_of(first.year(), first.month()) as i64;
    let cells = (lead + days_in_month + 6) / 7 * 7;
    view! {
        <div class="month-picker" data-testid="month">
            <div class="month-head">
                {prev_href.map(|href| view! { <A href=href attr:class="button icon" attr:aria-label="Previous month" attr:data-testid="prev-month">"‹"</A> })}
                <h2 data-testid="month-title">{month_label}</h2>
                <A href=next_href attr:class="button icon" attr:aria-label="Next month" attr:data-testid="next-month">"›"</A>
            </div>
            <div class="month-days" role="group" aria-label="Days with times to book">
                {["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map(|d| view! { <span class="weekday">{d}</span> }).collect_view()}
                {(0..cells).map(|i| {
                    let offset = i - lead;
                    if offset < 0 || offset >= days_in_month {
                        return view! { <span class="day blank"></span> }.into_any();
                    }
                    let date = first + Duration::days(offset);
                    let open = page.days.iter().any(|d| d.date == date);
                    let number = date.day().to_string();
                    if open {
                        let href = nav.with(|n| { n.date = Some(date.format("%Y-%m-%d").to_string()); n.slot = None; });
                        let selected = chosen == Some(date);
                        view! {
                            <A href=href attr:class=if selected { "day open selected" } else { "day open" } attr:data-testid="open-day" attr:data-date=date.format("%Y-%m-%d").to_string() attr:aria-label=date.format("%A %-d %B, times available").to_string()>
                                {number}
                            </A>
                        }.into_any()
                    } else {
                        view! { <span class="day" class:today=date == page.today>{number}</span> }.into_any()
                    }
                }).collect_view()}
            </div>
        </div>
    }
}

#[component]
fn BookForm(page: PublicPage, start: i64, when: String, nav: Nav, book: ServerAction<BookSlot>) -> impl IntoView {
    let error = form_error(move || book.value().get());
    let field = move |name: &'static str| move || error.get().and_then(|e| e.field_message(name));
    let questions = page.link.questions.clone();
    view! {
        <ActionForm action=book attr:class="form booking-form" attr:novalidate=true attr:data-testid="booking-form">
            <h2 id="your-details">"Your details"</h2>
            <p class="chosen" data-testid="chosen-time">{when} " (" {page.timezone.clone()} ")"</p>
            <FormError error />
            <input type="hidden" name="username" value=page.link.username.clone() />
            <input type="hidden" name="slug" value=page.link.slug.clone() />
            <input type="hidden" name="key" value=nav.key.clone().unwrap_or_default() />
            <input type="hidden" name="start" value=utc_param(start) />
            <input type="hidden" name="duration" value=page.duration.to_string() />
            <input type="hidden" name="timezone" value=page.timezone.clone() />
            <input type="hidden" name="clock" value=nav.clock.clone().unwrap_or_default() />
            <div class="field">
                <label for="book-name">"Name"</label>
                <input id="book-name" name="name" value=FormDraft::field("name") autocomplete="name" required=true maxlength="200" data-testid="book-name" />
                <p class="field-error" role="alert">{field("name")}</p>
            </div>
            <div class="field">
                <label for="book-email">"Email"</label>
                <input id="book-email" name="email" value=FormDraft::field("email") type="email" autocomplete="email" required=true maxlength="254" data-testid="book-email" />
                <p class="field-error" role="alert">{field("email")}</p>
            </div>
            {questions.into_iter().map(|q| {
                let id = format!("answer-{}", q.id);
                let name = format!("answers[{}]", q.id);
                let key = format!("answers.{}", q.id);
                let message = move || error.get().and_then(|e| e.field_message(&key));
                let label = if q.required { q.label.clone() } else { format!("{} (optional)", q.label) };
                let typed = FormDraft::field(&name);
                view! {
                    <div class="field">
                        <label for=id.clone()>{label}</label>
                        {match q.kind {
                            crate::models::QuestionKind::Long => view! { <textarea id=id name=name rows="3" required=q.required maxlength="5000" data-testid="answer">{textarea_text(&typed)}</textarea> }.into_any(),
                            crate::models::QuestionKind::Short => view! { <input id=id name=name value=typed required=q.required maxlength="500" data-testid="answer" /> }.into_any(),
                        }}
                        <p class="field-error" role="alert">{message}</p>
                    </div>
                }
            }).collect_view()}
            <div class="field">
                <label for="book-notes">"Anything to share beforehand? (optional)"</label>
                <textarea id="book-notes" name="notes" rows="3" maxlength="5000">{textarea_text(&FormDraft::field("notes"))}</textarea>
                <p class="field-error" role="alert">{field("notes")}</p>
            </div>
            // People never see this field; bots fill it in.
            <div class="hp" aria-hidden="true">
                <label for="book-website">"Website"</label>
                <input id="book-website" name="website" tabindex="-1" autocomplete="off" />
            </div>
            <div class="dialog-actions">
                <button type="submit" class="primary" disabled=move || book.pending().get() data-testid="confirm-booking">
                    {move || if book.pending().get() { "Booking…" } else { "Confirm booking" }}
                </button>
            </div>
        </ActionForm>
    }
}

#[component]
fn MoveForm(start: i64, when: String, nav: Nav, moved: ServerAction<RescheduleMyBooking>) -> impl IntoView {
    let error = form_error(move || moved.value().get());
    view! {
        <ActionForm action=moved attr:class="form booking-form" attr:data-testid="move-form">
            <FormError error />
            <input type="hidden" name="token" value=nav.reschedule.clone().unwrap_or_default() />
            <input type="hidden" name="start" value=utc_param(start) />
            <h2 id="your-details">"Move to"</h2>
            <p class="chosen" data-testid="chosen-time">{when}</p>
            <button type="submit" class="primary" data-testid="confirm-move">"Move my booking here"</button>
        </ActionForm>
    }
}

/// `/booking/{token}`: the invitee's page for their booking.
#[component]
pub fn ManageBookingPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let cancel = ServerAction::<CancelMyBooking>::new();
    // Made once and shared (see `PublicBookingPage`).
    let page = load_manage_page(token(), query.read().get("clock")).shared();
    view! {
        <Title text="Your booking" />
        // The address carries the invitee's secret: never indexed.
        <Meta name="robots" content="noindex" />
        <section class="card booking-page" data-testid="manage-page">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let loaded = page.clone();
                    Suspend::new(async move {
                    match loaded.await {
                        Ok(page) => view! { <ManageBody page token=token() cancel /> }.into_any(),
                        Err(crate::AppError::NotFound) => {
                            not_found_status();
                            view! {
                                <h1>"Not found"</h1>
                                <p>"This booking link is not valid."</p>
                            }.into_any()
                        }
                        Err(error) => {
                            error_status(&error);
                            view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any()
                        }
                    }
                })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn ManageBody(page: ManagePage, token: String, cancel: ServerAction<CancelMyBooking>) -> impl IntoView {
    let query = use_query_map();
    let b = page.booking.clone();

    let heading = match b.status {
        crate::models::BookingStatus::Confirmed => "You are booked",
        crate::models::BookingStatus::Pending => "Waiting for the host to confirm",
        crate::models::BookingStatus::Cancelled => "This booking is cancelled",
        crate::models::BookingStatus::Declined => "The host declined this booking",
    };
    let is_new = query.read_untracked().get("new").is_some();
    let was_moved = query.read_untracked().get("moved").is_some();
    let error = form_error(move || cancel.value().get());
    let (when, host_when) = (page.when.clone(), page.host_when.clone());
    let active = matches!(b.status, crate::models::BookingStatus::Confirmed | crate::models::BookingStatus::Pending);
    let reschedule_href =
        page.link_path.clone().filter(|_| page.can_change && active).map(|p| format!("{p}?reschedule={token}"));
    view! {
        <h1 data-testid="booking-status">{heading}</h1>
        {is_new.then(|| view! { <p class="notice" role="status" data-testid="booked">{format!("Booked. Details go to {}.", b.email)}</p> })}
        {was_moved.then(|| view! { <p class="notice" role="status" data-testid="moved">"Your booking was moved."</p> })}
        <dl class="booking-details">
            <dt>"What"</dt>
            <dd data-testid="booking-title">{format!("{} with {}", b.title, page.host_name)}</dd>
            <dt>"When"</dt>
            <dd data-testid="booking-when">{when} " (" {b.timezone.clone()} ")"</dd>
            {host_when.map(|t| view! { <dt>"Host's time"</dt><dd>{t} " (" {page.host_timezone.clone()} ")"</dd> })}
            {(!b.location.is_empty()).then(|| {
                let place = b.location.clone();
                let is_link = place.starts_with("https://") || place.starts_with("http://");
                view! {
                    <dt>"Where"</dt>
                    <dd data-testid="booking-where">
                        {if is_link {
                            view! { <a href=place.clone() rel="noopener noreferrer">{place.clone()}</a> }.into_any()
                        } else {
                            place.clone().into_any()
                        }}
                    </dd>
                }
            })}
            <dt>"Who"</dt>
            <dd>{format!("{} <{}>", b.name, b.email)}</dd>
            {b.answers.iter().map(|a| view! { <dt>{a.label.clone()}</dt><dd>{a.value.clone()}</dd> }).collect_view()}
            {b.reason.clone().filter(|_| !active).map(|r| view! { <dt>"Reason"</dt><dd>{r}</dd> })}
        </dl>
        {active.then(|| view! {
            <p>
                <a class="button" href=format!("/api/v1/public/bookings/{token}/invite.ics") download="booking.ics" rel="external" data-testid="add-to-calendar">
                    "Add to calendar (.ics)"
                </a>
            </p>
        })}
        {reschedule_href.map(|href| view! { <p><a class="button" href=href data-testid="reschedule">"Reschedule"</a></p> })}
        {(active && page.can_change).then(|| view! {
            <ActionForm action=cancel attr:class="form cancel-form" attr:data-testid="cancel-form">
                <FormError error />
                <input type="hidden" name="token" value=token.clone() />
                <div class="field">
                    <label for="cancel-reason">"Reason for cancelling (optional)"</label>
                    <textarea id="cancel-reason" name="reason" rows="2" maxlength="1000" data-testid="cancel-reason">{textarea_text(&FormDraft::field("reason"))}</textarea>
                </div>
                <button type="submit" class="danger" data-testid="cancel-booking">"Cancel booking"</button>
            </ActionForm>
        })}
        {(active && !page.can_change).then(|| view! { <p class="hint">"It is too late to change this booking here; please contact the host."</p> })}
    }
}

/// `/{username}`: the host's listed booking links.
#[component]
pub fn HostPage() -> impl IntoView {
    let params = use_params_map();
    let username = move || params.read().get("username").unwrap_or_default();
    // Made once and shared (see `PublicBookingPage`).
    let links = load_host_links(username()).shared();
    view! {
        <Title text="Book a time" />
        <section class="card booking-page" data-testid="host-page">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let loaded = links.clone();
                    Suspend::new(async move {
                    match loaded.await {
                        Ok(host) => {
                            let username = host.username.clone();
                            let empty = host.links.is_empty();
                            let summary = page_description("", &format!("Book a time with {}", host.host_name));
                            view! {
                            <Meta name="description" content=summary />
                            {host.canonical.clone().map(|url| view! { <Link rel="canonical" href=url /> })}
                            <h1>{host.host_name.clone()}</h1>
                            {empty.then(|| view! { <p class="empty">"No booking links here yet."</p> })}
                            <ul class="listed-links">
                                {host.links.into_iter().map(|l| {
                                    let href = format!("/{username}/{}", l.slug);
                                    let minutes = l.durations.iter().map(|d| format!("{d} min")).collect::<Vec<_>>().join(" / ");
                                    view! {
                                        <li>
                                            <A href=href attr:data-testid="listed-link">{l.title.clone()}</A>
                                            <span class="hint">{minutes}</span>
                                            {(!l.description.is_empty()).then(|| view! { <p>{l.description.clone()}</p> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                        }
                        Err(crate::AppError::NotFound) => {
                            not_found_status();
                            view! { <h1>"Not found"</h1><p>"There is no one here by that name."</p> }.into_any()
                        }
                        Err(error) => {
                            error_status(&error);
                            view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any()
                        }
                    }
                })
                }}
            </Transition>
        </section>
    }
}
