//! The pages, one component each.

mod availability;
mod booking;
mod booking_links;
mod calendar;
mod calendars;
mod connections;
mod focus;
mod host;
mod host_bookings;
mod notifications;
mod outbox;
mod search;
pub mod security;
mod stats;
mod task_settings;
mod tasks;
mod today;
mod welcome;

pub use availability::AvailabilityPage;
pub use booking::{HostPage, ManageBookingPage, PublicBookingPage};
pub use booking_links::BookingLinksPage;
pub use calendar::CalendarPage;
pub use calendars::CalendarsPage;
pub use connections::ConnectionsPage;
pub use focus::FocusPage;
pub use host_bookings::BookingsPage;
pub use notifications::NotificationsPage;
pub use outbox::OutboxPage;
pub use search::SearchPage;
pub use stats::StatsPage;
pub use task_settings::TaskSettingsPage;
pub use tasks::TasksPage;
pub use today::TodayPage;
pub use welcome::WelcomePage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};
use leptos_router::hooks::use_query_map;

use calento::{ClockFormat, WeekStart};

use crate::Auth;
use crate::components::{
    Field, FormError, ProviderButtons, RequireUser, SettingsNav, SubmitButton, TimeZoneOptions, form_error, use_user,
};
use crate::server::tokens::{CreateAppPassword, CreateToken, RevokeToken, calendar_apps, list_tokens, take_new_token};

#[component]
pub fn HomePage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Title text="" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(_)) => view! { <Redirect path="/calendar" /> }.into_any(),
                    _ => {
                        view! {
                            <section class="hero">
                                <h1>"Your calendar, your booking links, your focus."</h1>
                                <p>
                                    "Calento is a self-hosted calendar with public booking pages and a gentle task and focus space that finds time for what matters."
                                </p>
                                <p class="actions">
                                    <A href="/register" attr:class="button primary">
                                        "Create an account"
                                    </A>
                                    <A href="/login" attr:class="button">
                                        "Log in"
                                    </A>
                                </p>
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    // Nobody's data: the same page for every visitor who is not signed in.
    #[cfg(feature = "ssr")]
    crate::ssr::page_cache::allow(None);
    let auth = expect_context::<Auth>();
    let query = use_query_map();
    let error = form_error(move || auth.login.value().get());
    let next = move || query.read().get("next").unwrap_or_default();
    let notice = move || {
        let q = query.read();
        if q.get("registered").is_some() {
            // Said the same whether the address was new or already had an account.
            Some(
                "Thank you! We sent an email to the address you gave; open its link to confirm the address. \
                 Log in now with your email and password.",
            )
        } else if q.get("reset").is_some() {
            Some("Your password is changed, and every session was signed out. Log in with the new one.")
        } else if q.get("deleted").is_some() {
            Some("Your account and its data are deleted.")
        } else {
            None
        }
    };
    view! {
        <Title text="Log in" />
        <leptos_meta::Meta
            name="description"
            content="Log in to Calento: your calendar, booking links, tasks and focus sessions in one place."
        />
        <section class="card auth-card">
            <h1>"Log in"</h1>
            {move || notice().map(|text| view! { <p class="notice" role="status" data-testid="login-notice">{text}</p> })}
            <ActionForm action=auth.login attr:class="form" attr:novalidate=true>
                <FormError error />
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true error />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error
                />
                <input type="hidden" name="next" value=next />
                <SubmitButton label="Log in" busy_label="Logging in…" pending=auth.login.pending().into() />
            </ActionForm>
            <ProviderButtons query=Signal::derive(move || {
                let next = next();
                if next.is_empty() { String::new() } else { format!("?next={}", crate::components::percent_encode(&next)) }
            }) />
            <p><A href="/forgot-password">"Forgot your password?"</A></p>
            <p>"New here? " <A href="/register">"Create an account"</A></p>
        </section>
    }
}

/// The browser's IANA time zone, e.g. `Europe/Paris`.
pub(crate) fn browser_time_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        let options = format.resolved_options();
        js_sys::Reflect::get(&options, &"timeZone".into()).ok().and_then(|v| v.as_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let error = form_error(move || auth.register.value().get());
    let zone_input = NodeRef::<leptos::html::Input>::new();
    let query = use_query_map();
    let invite = move || query.read().get("invite").unwrap_or_default();
    // Runs only in the browser: pre-fill the zone the person is in.
    Effect::new(move |_| {
        if let (Some(input), Some(zone)) = (zone_input.get(), browser_time_zone()) {
            input.set_value(&zone);
        }
    });
    view! {
        <Title text="Create an account" />
        <leptos_meta::Meta
            name="description"
            content="Create a Calento account: a calendar to live in, booking links to share, and tasks that find their time."
        />
        <section class="card auth-card">
            <h1>"Create your account"</h1>
            <ActionForm action=auth.register attr:class="form" attr:novalidate=true>
                <FormError error />
                <Field label="Name" name="name" autocomplete="name" required=true error />
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true error />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 10 characters."
                    required=true
                    error
                />
                <Field
                    label="Username"
                    name="username"
                    autocomplete="username"
                    hint="Your booking links live at /username/…; leave empty to derive it from your email."
                    error
                />
                <Field
                    label="Time zone"
                    name="time_zone"
                    list="time-zones"
                    value="UTC"
                    hint="Detected from your browser; change it if it is wrong."
                    node_ref=zone_input
                    error
                />
                <TimeZoneOptions />
                <input type="hidden" name="invite" value=invite />
                <SubmitButton
                    label="Create account"
                    busy_label="Creating your account…"
                    pending=auth.register.pending().into()
                />
            </ActionForm>
            <ProviderButtons query=Signal::derive(move || {
                let invite = invite();
                if invite.is_empty() { String::new() } else { format!("?invite={}", crate::components::percent_encode(&invite)) }
            }) />
            <p>"Already have an account? " <A href="/login">"Log in"</A></p>
        </section>
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let user = use_user();
    let error = form_error(move || auth.update_profile.value().get());
    let saved = move || matches!(auth.update_profile.value().get(), Some(Ok(_)));
    let week_start = user.week_start;
    let clock = user.clock;
    view! {
        <Title text="Settings" />
        <section class="card">
            <h1>"Settings"</h1>
            <SettingsNav />
            <p>
                "Signed in as " <strong>{user.email.clone()}</strong> ". "
                <a href="/welcome" data-testid="guided-setup">"Guided setup"</a>
                " walks through your hours, a calendar, a booking link and a brain dump."
            </p>
            <ActionForm action=auth.update_profile attr:class="form" attr:novalidate=true>
                <FormError error />
                <Field label="Name" name="name" autocomplete="name" value=user.name.clone() required=true error />
                <Field
                    label="Username"
                    name="username"
                    value=user.username.clone()
                    hint="Used in your public booking links."
                    required=true
                    error
                />
                <Field label="Time zone" name="time_zone" list="time-zones" value=user.time_zone.clone() error />
                <TimeZoneOptions />
                <div class="field">
                    <label for="field-week_start">"Week starts on"</label>
                    <select id="field-week_start" name="week_start">
                        {WeekStart::ALL
                            .into_iter()
                            .map(|w| view! { <option value=w.as_str() selected=w == week_start>{w.label()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="field-clock">"Clock"</label>
                    <select id="field-clock" name="clock">
                        {ClockFormat::ALL
                            .into_iter()
                            .map(|c| view! { <option value=c.as_str() selected=c == clock>{c.label()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <SubmitButton label="Save" busy_label="Saving…" pending=auth.update_profile.pending().into() />
                <p class="saved" role="status" data-testid="saved">
                    {move || saved().then_some("Saved.")}
                </p>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let from_plain_form = Resource::new(|| (), |_| take_new_token());
    let error = form_error(move || create.value().get());
    let revoke_error = Signal::derive(move || match revoke.value().get() {
        Some(Err(error)) => Some(error),
        _ => None,
    });
    view! {
        <Title text="API tokens" />
        // Resources are made above, outside the sign-in guard's Suspense (stable hydration).
        <RequireUser>
            <section class="card">
                <h1>"API tokens"</h1>
                <SettingsNav />
                <p>
                    "Personal access tokens let scripts and apps use the API as you: send "
                    <code>"Authorization: Bearer <token>"</code> " to " <code>"/api/v1/…"</code> "."
                </p>
                <ActionForm action=create attr:class="form inline" attr:novalidate=true>
                    <FormError error />
                    <Field label="Token name" name="name" hint="Something to recognise it by, e.g. “CLI on my laptop”." error />
                    <SubmitButton label="Create token" busy_label="Creating…" pending=create.pending().into() />
                </ActionForm>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let from_form = from_plain_form.await.ok().flatten();
                        let created = create.value().get().and_then(Result::ok).or(from_form);
                        created
                            .map(|created| {
                                view! {
                                    <div class="notice" role="status">
                                        <p>
                                            "Your new token “" {created.info.name} "”. Copy it now: it will not be shown again."
                                        </p>
                                        <code class="token" data-testid="new-token">
                                            {created.token}
                                        </code>
                                    </div>
                                }
                            })
                    })}
                </Suspense>
                <FormError error=revoke_error />
                <Transition fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
                    {move || Suspend::new(async move {
                        tokens
                            .await
                            .map(|list| {
                                if list.is_empty() {
                                    return view! { <p class="empty" data-testid="no-tokens">"No tokens yet."</p> }.into_any();
                                }
                                view! {
                                    <table class="tokens" data-testid="tokens">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Created"</th>
                                                <th scope="col">"Last used"</th>
                                                <th scope="col">
                                                    <span class="visually-hidden">"Actions"</span>
                                                </th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {list
                                                .into_iter()
                                                .map(|token| {
                                                    let label = format!("Revoke {}", token.name);
                                                    view! {
                                                        <tr>
                                                            <td>{token.name}</td>
                                                            <td>{token.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                                            <td>
                                                                {token
                                                                    .last_used_at
                                                                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                                                                    .unwrap_or_else(|| "Never".to_owned())}
                                                            </td>
                                                            <td>
                                                                <ActionForm action=revoke attr:class="inline-form">
                                                                    <input type="hidden" name="id" value=token.id />
                                                                    <button type="submit" class="danger" aria-label=label>
                                                                        "Revoke"
                                                                    </button>
                                                                </ActionForm>
                                                            </td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                }
                                    .into_any()
                            })
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
}

/// Settings → Calendar apps: what to type into Apple Calendar, Thunderbird or DAVx5, an
/// app password per app (shown once), and the apps' last use.
#[component]
pub fn CalendarAppsPage() -> impl IntoView {
    let create = ServerAction::<CreateAppPassword>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let info = Resource::new(move || (create.version().get(), revoke.version().get()), |_| calendar_apps());
    let from_plain_form = Resource::new(|| (), |_| take_new_token());
    let error = form_error(move || create.value().get());
    let revoke_error = Signal::derive(move || match revoke.value().get() {
        Some(Err(error)) => Some(error),
        _ => None,
    });
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    view! {
        <Title text="Calendar apps" />
        <RequireUser>
            <section class="card">
                <h1>"Calendar apps"</h1>
                <SettingsNav />
                <p>
                    "Apple Calendar and Reminders, Thunderbird, DAVx5 on Android and other CalDAV apps sync "
                    "your calendars and tasks with Calento, both ways. Add a CalDAV account in the app with:"
                </p>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        info.await
                            .map(|info| {
                                view! {
                                    <dl class="facts" data-testid="caldav-account">
                                        <dt>"Server"</dt>
                                        <dd><code>{info.server_url}</code></dd>
                                        <dt>"User name"</dt>
                                        <dd><code>{info.login}</code></dd>
                                        <dt>"Password"</dt>
                                        <dd>"an app password made below, one for each app"</dd>
                                    </dl>
                                }
                            })
                    })}
                </Transition>
                <details>
                    <summary>"iPhone, iPad and Mac"</summary>
                    <p>
                        <a href="/settings/calendar-apps/calento.mobileconfig" rel="external" data-testid="apple-profile">
                            "Download the profile"
                        </a>
                        " and open it: it adds the account, and asks for the app password. Or by hand: Settings → "
                        "Calendar → Accounts → Add Account → Other → Add CalDAV Account (on a Mac: Calendar → "
                        "Settings → Accounts → + → Other CalDAV Account, Manual), with the server's host name, "
                        "your user name and the app password."
                    </p>
                </details>
                <details>
                    <summary>"Thunderbird"</summary>
                    <p>"New Calendar → On the Network: your user name and the server's address; then the app password."</p>
                </details>
                <details>
                    <summary>"Android (DAVx5)"</summary>
                    <p>"Add account → Login with URL and user name: the server's address, your user name and the app password."</p>
                </details>
                <ActionForm action=create attr:class="form inline" attr:novalidate=true>
                    <FormError error />
                    <Field label="App name" name="name" hint="The app or device it is for, e.g. “iPhone”." error />
                    <SubmitButton label="Create app password" busy_label="Creating…" pending=create.pending().into() />
                </ActionForm>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let from_form = from_plain_form.await.ok().flatten();
                        let created = create.value().get().and_then(Result::ok).or(from_form);
                        created
                            .map(|created| {
                                view! {
                                    <div class="notice" role="status">
                                        <p>
                                            "The app password for “" {created.info.name}
                                            "”. Type it into the app now: it will not be shown again."
                                        </p>
                                        <code class="token" data-testid="new-app-password">
                                            {created.token}
                                        </code>
                                    </div>
                                }
                            })
                    })}
                </Suspense>
                <FormError error=revoke_error />
                <Transition fallback=|| view! { <p class="loading">"Loading apps…"</p> }>
                    {move || Suspend::new(async move {
                        info.await
                            .map(|info| {
                                if info.passwords.is_empty() {
                                    return view! { <p class="empty" data-testid="no-apps">"No app passwords yet."</p> }
                                        .into_any();
                                }
                                view! {
                                    <table class="tokens" data-testid="apps">
                                        <thead>
                                            <tr>
                                                <th scope="col">"App"</th>
                                                <th scope="col">"Created"</th>
                                                <th scope="col">"Last synced"</th>
                                                <th scope="col">
                                                    <span class="visually-hidden">"Actions"</span>
                                                </th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {info
                                                .passwords
                                                .into_iter()
                                                .map(|app| {
                                                    let label = format!("Revoke {}", app.name);
                                                    view! {
                                                        <tr>
                                                            <td>{app.name}</td>
                                                            <td>{when(app.created_at)}</td>
                                                            <td>{app.last_used_at.map(when).unwrap_or_else(|| "Never".to_owned())}</td>
                                                            <td>
                                                                <ActionForm action=revoke attr:class="inline-form">
                                                                    <input type="hidden" name="id" value=app.id />
                                                                    <button type="submit" class="danger" aria-label=label>
                                                                        "Revoke"
                                                                    </button>
                                                                </ActionForm>
                                                            </td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                }
                                    .into_any()
                            })
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="card">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <p>
                <a href="/">"Go to the start page"</a>
            </p>
        </section>
    }
}
