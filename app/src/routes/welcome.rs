//! The guided setup a new account's first sign-in opens (`/welcome`): the time zone and
//! working hours, a first calendar to bring in, a first booking link, a first brain dump,
//! each skippable, then a page of what was made. One step a page (`?step=`), each a plain
//! form that works without JavaScript; hydrated, a saved step moves on in place.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::components::{Field, FormError, RequireUser, TimeZoneOptions, form_error};
use crate::models::WelcomeData;
use crate::server::account::{WelcomeHours, welcome_page};
use crate::server::calendar::CreateCalendar;
use crate::server::scheduling::NewLink;
use crate::server::tasks::CaptureTasks;

/// The steps, in order: the query value, and the heading.
const STEPS: [(&str, &str); 5] = [
    ("hours", "Your time zone and working hours"),
    ("calendar", "Bring in a calendar you already have"),
    ("link", "Your first booking link"),
    ("dump", "Empty your head"),
    ("done", "All set"),
];

fn step_href(step: &str) -> String {
    format!("/welcome?step={step}")
}

#[component]
pub fn WelcomePage() -> impl IntoView {
    let query = use_query_map();
    let step = Memo::new(move |_| {
        let asked = query.read().get("step").unwrap_or_default();
        STEPS.iter().position(|(key, _)| *key == asked).unwrap_or(0)
    });
    let hours = ServerAction::<WelcomeHours>::new();
    let subscribe = ServerAction::<CreateCalendar>::new();
    let link = ServerAction::<NewLink>::new();
    let dump = ServerAction::<CaptureTasks>::new();
    let data = Resource::new(
        move || {
            (step.get(), hours.version().get(), subscribe.version().get(), link.version().get(), dump.version().get())
        },
        |_| welcome_page(),
    );
    // Hydrated, a step that saved moves on to the next.
    let navigate = use_navigate();
    let go_on = move |done: bool, to: &'static str| {
        if done {
            navigate(&step_href(to), Default::default());
        }
    };
    let go = go_on.clone();
    Effect::new(move |_| go(matches!(hours.value().get(), Some(Ok(_))), "calendar"));
    let go = go_on.clone();
    Effect::new(move |_| go(matches!(subscribe.value().get(), Some(Ok(_))), "link"));
    let go = go_on.clone();
    Effect::new(move |_| go(matches!(link.value().get(), Some(Ok(_))), "dump"));
    Effect::new(move |_| go_on(matches!(dump.value().get(), Some(Ok(_))), "done"));
    view! {
        <Title text="Welcome" />
        <RequireUser>
            <section class="welcome card" data-testid="welcome">
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok(data) => view! { <Step index=step.get_untracked() data hours subscribe link dump /> }.into_any(),
                            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
}

#[component]
fn Step(
    index: usize,
    data: WelcomeData,
    hours: ServerAction<WelcomeHours>,
    subscribe: ServerAction<CreateCalendar>,
    link: ServerAction<NewLink>,
    dump: ServerAction<CaptureTasks>,
) -> impl IntoView {
    let (key, heading) = STEPS[index];
    let next = STEPS.get(index + 1).map(|(key, _)| *key).unwrap_or("done");
    let last = STEPS.len() - 1;
    let progress = (index < last).then(|| format!("Step {} of {}", index + 1, last));
    let body = match key {
        "hours" => view! { <HoursStep data hours /> }.into_any(),
        "calendar" => view! { <CalendarStep subscribe /> }.into_any(),
        "link" => view! { <LinkStep link /> }.into_any(),
        "dump" => view! { <DumpStep dump /> }.into_any(),
        _ => view! { <DoneStep data /> }.into_any(),
    };
    view! {
        <header class="welcome-head">
            <p class="hint" data-testid="welcome-progress">{progress}</p>
            <h1 data-testid="welcome-step">{heading}</h1>
        </header>
        {body}
        {(index < last).then(|| view! {
            <p class="welcome-skip">
                <a href=step_href(next) data-testid="skip-step">"Skip this step"</a>
                " · "
                <a href="/calendar" data-testid="skip-setup">"Skip the setup"</a>
            </p>
        })}
    }
}

#[component]
fn HoursStep(data: WelcomeData, hours: ServerAction<WelcomeHours>) -> impl IntoView {
    let error = form_error(move || hours.value().get());
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let days = (1u8..=7)
        .map(|day| {
            let name = format!("d{day}");
            let checked = data.work_days.contains(&day);
            view! {
                <label class="check day-check">
                    <input type="checkbox" name=name value="on" checked=checked />
                    {DAYS[usize::from(day - 1)]}
                </label>
            }
        })
        .collect_view();
    let unconfirmed = (!data.profile.email_verified).then(|| {
        view! {
            <p class="notice" data-testid="confirm-email-note">
                {format!("When you have a minute: we sent a link to {} to confirm your address. ", data.profile.email)}
                "It keeps your account yours if you forget your password. "
                <a href="/settings/security">"Send it again"</a>
            </p>
        }
    });
    let message = move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    // Times in the person's clock, as everywhere else (a browser's time picker follows
    // the browser's language instead); the server reads what is typed.
    let clock = data.profile.clock;
    let shown = move |text: &str| super::host::clock_text(text, clock);
    view! {
        {unconfirmed}
        <p>"Calento shows your day in your zone, and offers booking slots and plans tasks only in your working hours."</p>
        <ActionForm action=hours attr:class="form">
            <FormError error />
            <Field label="Time zone" name="time_zone" error value=data.profile.time_zone.clone() list="time-zones" id="welcome-zone" required=true />
            <fieldset class="days">
                <legend>"Working days"</legend>
                {days}
                <p class="field-error" role="alert">{message("days")}</p>
            </fieldset>
            <div class="field-row">
                <div class="field">
                    <label for="welcome-start">"From"</label>
                    <input id="welcome-start" name="work_start" autocomplete="off" size="8" value=shown(&data.work_start) data-testid="work-start" />
                </div>
                <div class="field">
                    <label for="welcome-end">"To"</label>
                    <input id="welcome-end" name="work_end" autocomplete="off" size="8" value=shown(&data.work_end) data-testid="work-end" />
                </div>
            </div>
            <p class="field-error" role="alert">{message("rules")}</p>
            <button type="submit" class="primary" data-testid="welcome-save">"Save and continue"</button>
        </ActionForm>
        <TimeZoneOptions />
    }
}

#[component]
fn CalendarStep(subscribe: ServerAction<CreateCalendar>) -> impl IntoView {
    let error = form_error(move || subscribe.value().get());
    view! {
        <p>
            "Subscribe to a calendar's ICS address (Google Calendar: Settings → your calendar → "
            "\u{201c}Secret address in iCal format\u{201d}; Outlook: Publish calendar → ICS). "
            "Its events show beside yours and block booking slots; it refreshes by itself."
        </p>
        <ActionForm action=subscribe attr:class="form">
            <FormError error />
            <input type="hidden" name="next" value=step_href("link") />
            <Field label="Name" name="name" error value="Work" id="welcome-calendar-name" required=true />
            <Field label="ICS address" name="source_url" kind="url" error id="welcome-source" hint="https://…/calendar.ics" required=true />
            <button type="submit" class="primary" data-testid="welcome-save">"Subscribe and continue"</button>
        </ActionForm>
        <p class="hint">
            "Have an .ics file instead? Import it into any calendar under "
            <a href="/settings/calendars">"Settings → Calendars"</a>
            "."
        </p>
    }
}

#[component]
fn LinkStep(link: ServerAction<NewLink>) -> impl IntoView {
    let error = form_error(move || link.value().get());
    view! {
        <p>"A page where people pick a time in your working hours; you can change everything about it later."</p>
        <ActionForm action=link attr:class="form">
            <FormError error />
            <input type="hidden" name="next" value=step_href("dump") />
            <Field label="Title" name="title" error value="Intro call" id="welcome-link-title" required=true />
            <div class="field">
                <label for="welcome-duration">"Length"</label>
                <select id="welcome-duration" name="durations" data-testid="welcome-duration">
                    <option value="15">"15 minutes"</option>
                    <option value="30" selected=true>"30 minutes"</option>
                    <option value="45">"45 minutes"</option>
                    <option value="60">"1 hour"</option>
                </select>
            </div>
            <button type="submit" class="primary" data-testid="welcome-save">"Create and continue"</button>
        </ActionForm>
    }
}

#[component]
fn DumpStep(dump: ServerAction<CaptureTasks>) -> impl IntoView {
    let error = form_error(move || dump.value().get());
    view! {
        <p>
            "Write down everything on your mind, one thing a line. Dates, times and lengths are "
            "understood: \u{201c}call the bank tomorrow 10am ~15m\u{201d}, \u{201c}tax return by 31 march !1\u{201d}."
        </p>
        <ActionForm action=dump attr:class="form">
            <FormError error />
            <input type="hidden" name="save" value="true" />
            <input type="hidden" name="next" value=step_href("done") />
            <div class="field">
                <label for="welcome-dump">"What is on your mind"</label>
                <textarea id="welcome-dump" name="text" rows="6" data-testid="welcome-dump"></textarea>
                <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field_message("text"))}</p>
            </div>
            <button type="submit" class="primary" data-testid="welcome-save">"Save and continue"</button>
        </ActionForm>
    }
}

#[component]
fn DoneStep(data: WelcomeData) -> impl IntoView {
    const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let days = data.work_days.iter().filter_map(|d| DAYS.get(usize::from(*d).wrapping_sub(1))).copied();
    let days = days.collect::<Vec<_>>().join(", ");
    let clock = data.profile.clock;
    let shown = move |text: &str| super::host::clock_text(text, clock);
    let calendars = if data.subscriptions.is_empty() {
        crate::components::count(data.calendars as i64, "calendar", "calendars")
    } else {
        format!(
            "{}, subscribed to {}",
            crate::components::count(data.calendars as i64, "calendar", "calendars"),
            data.subscriptions.join(", ")
        )
    };
    view! {
        <p>"Here is what you have now:"</p>
        <ul class="welcome-made" data-testid="welcome-made">
            <li data-testid="made-zone">{format!("Time zone: {}", data.profile.time_zone)}</li>
            <li data-testid="made-hours">{format!("Working hours: {days}, {} – {}", shown(&data.work_start), shown(&data.work_end))}</li>
            <li data-testid="made-calendars">
                <a href="/settings/calendars">{calendars}</a>
            </li>
            {data
                .links
                .into_iter()
                .map(|(title, url)| view! {
                    <li data-testid="made-link">"Booking link: " <a href=url.clone()>{title}</a> {format!(" ({url})")}</li>
                })
                .collect_view()}
            <li data-testid="made-tasks">
                <a href="/tasks">{crate::components::count(data.open_tasks, "open task", "open tasks")}</a>
            </li>
        </ul>
        <p class="welcome-next">
            <a href="/calendar" class="button primary" data-testid="welcome-finish">"Go to my calendar"</a>
            " "
            <a href="/tasks" class="button">"See my tasks"</a>
        </p>
    }
}
