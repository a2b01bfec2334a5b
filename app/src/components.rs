//! Pieces every page uses: the header, the sign-in guard, form fields and errors.

use leptos::prelude::*;
use leptos_router::components::{A, Redirect};
use leptos_router::hooks::{use_location, use_query_map};
use leptos_router::params::ParamsMap;

use crate::models::UserProfile;
use crate::{AppError, Auth, page_theme};

#[component]
pub fn Header() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <header class="app-header">
            <A href="/" attr:class="brand">
                "Calento"
            </A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(user)) => view! { <SignedInNav user /> }.into_any(),
                        _ => {
                            view! {
                                <nav class="nav" aria-label="Account">
                                    <A href="/login">"Log in"</A>
                                    <A href="/register">"Create account"</A>
                                </nav>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            <ThemeToggle />
        </header>
    }
}

#[component]
fn SignedInNav(user: UserProfile) -> impl IntoView {
    let more = NodeRef::<leptos::html::Details>::new();
    let secondary = move || {
        let mut links = vec![
            ("/availability", "Availability"),
            ("/booking-links", "Booking links"),
            ("/bookings", "Bookings"),
            ("/settings", "Settings"),
        ];
        if user.is_admin {
            links.push(("/admin", "Admin"));
        }
        links
    };
    // On a desktop every page's link is in one row. On a phone the row is a bar at the
    // bottom of the screen, within the thumb's reach: the four pages of every day, and
    // "More" for the rest and logging out (the desktop's links are hidden there, and the
    // menu's on a desktop; CSS decides, so the server draws one page for both).
    view! {
        <nav class="nav main-nav" aria-label="Main">
            <A href="/calendar">"Calendar"</A>
            <A href="/today">"Today"</A>
            <A href="/tasks">"Tasks"</A>
            <A href="/focus">"Focus"</A>
            {secondary()
                .into_iter()
                .map(|(href, label)| view! { <A href=href attr:class="secondary">{label}</A> })
                .collect_view()}
            <details class="nav-more" node_ref=more>
                <summary data-testid="nav-more">"More"</summary>
                <div
                    class="nav-more-menu"
                    on:click=move |_| {
                        if let Some(details) = more.get() {
                            let _ = details.remove_attribute("open");
                        }
                    }
                >
                    {secondary().into_iter().map(|(href, label)| view! { <A href=href>{label}</A> }).collect_view()}
                    <LogOut />
                </div>
            </details>
        </nav>
        <QuickCaptureBox />
        <Reminders />
        <FocusBadge />
        <div class="account">
            <span class="account-name" data-testid="account-name">
                {user.name}
            </span>
            <LogOut />
        </div>
    }
}

/// "Log out": in the header on a desktop, in the "More" menu on a phone.
#[component]
fn LogOut() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <ActionForm action=auth.logout attr:class="inline-form">
            <button type="submit" class="link-button">
                "Log out"
            </button>
        </ActionForm>
    }
}

/// Reminders that are due, asked for once the page is live and every half minute after.
/// They are not part of the server-rendered page: a reminder is about the moment it is seen.
#[component]
fn Reminders() -> impl IntoView {
    let due = RwSignal::new(Vec::<crate::models::DueReminder>::new());
    Effect::new(move |_| {
        let fetch = move || {
            leptos::task::spawn_local(async move {
                if let Ok(found) = crate::server::calendar::due_reminders().await {
                    due.set(found);
                }
            });
        };
        fetch();
        if let Ok(handle) = set_interval_with_handle(fetch, std::time::Duration::from_secs(30)) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <div class="reminders" role="status" data-testid="reminders">
            {move || {
                due.get()
                    .into_iter()
                    .map(|r| {
                        let href = format!(
                            "/calendar?view=week&date={}&event={}{}",
                            r.date.format("%Y-%m-%d"),
                            r.event_id,
                            r.recurrence_id.map(|k| format!("&rid={}", percent_encode(&k))).unwrap_or_default()
                        );
                        let text = format!("\u{1f514} {} at {}", r.title, r.at);
                        view! { <A href=href>{text}</A> }
                    })
                    .collect_view()
            }}
        </div>
    }
}

/// The running focus session on every page but Focus itself: the time left (a link to
/// Focus), pause or resume, and stop. Asked for once the page is live, on every move to
/// another page and every half minute (another device may have started one); not part of
/// the server-rendered page, as reminders are not.
#[component]
fn FocusBadge() -> impl IntoView {
    use crate::models::FocusBadgeInfo;
    let session = RwSignal::new(None::<FocusBadgeInfo>);
    let left = RwSignal::new(0i64);
    let location = leptos_router::hooks::use_location();
    let show = move |found: Option<FocusBadgeInfo>| {
        left.set(found.as_ref().map_or(0, |s| s.remaining_seconds));
        session.set(found);
    };
    let fetch = move || {
        leptos::task::spawn_local(async move {
            if let Ok(found) = crate::server::tasks::focus_now().await {
                show(found);
            }
        });
    };
    Effect::new(move |_| {
        location.pathname.track();
        fetch();
    });
    Effect::new(move |_| {
        let poll = set_interval_with_handle(fetch, std::time::Duration::from_secs(30)).ok();
        let tick = set_interval_with_handle(
            move || {
                if session.with_untracked(|s| s.as_ref().is_some_and(|s| s.running)) {
                    left.update(|l| *l = (*l - 1).max(0));
                }
            },
            std::time::Duration::from_secs(1),
        )
        .ok();
        on_cleanup(move || {
            for handle in [poll, tick].into_iter().flatten() {
                handle.clear();
            }
        });
    });
    let change = move |action: &'static str| {
        if let Some(id) = session.with_untracked(|s| s.as_ref().map(|s| s.id.clone())) {
            leptos::task::spawn_local(async move {
                match crate::server::tasks::change_focus_now(id, action.to_owned()).await {
                    Ok(found) => show(found),
                    Err(_) => fetch(),
                }
            });
        }
    };
    view! {
        {move || {
            let elsewhere = location.pathname.with(|p| p != "/focus");
            session.get().filter(|_| elsewhere).map(|s| {
                let running = s.running;
                view! {
                    <div class="focus-badge" class:paused=!running data-testid="focus-badge">
                        <A href="/focus" attr:title=s.what.clone() attr:data-testid="badge-time">
                            {move || {
                                let seconds = left.get();
                                format!("\u{23f1} {:02}:{:02}", seconds / 60, seconds % 60)
                            }}
                        </A>
                        <button type="button" class="link-button" data-testid="badge-pause" on:click=move |_| change(if running { "pause" } else { "resume" })>
                            {if running { "Pause" } else { "Resume" }}
                        </button>
                        <button type="button" class="link-button" data-testid="badge-stop" on:click=move |_| change("abandon")>
                            "Stop"
                        </button>
                    </div>
                }
            })
        }}
    }
}

/// Cycles system → light → dark. Without WASM it is a form that sets a cookie and
/// reloads; with WASM the page changes in place.
#[component]
fn ThemeToggle() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let theme = RwSignal::new(page_theme());
    Effect::new(move |_| {
        if let Some(Ok(chosen)) = auth.set_theme.value().get() {
            theme.set(chosen);
            if let Some(html) = document().document_element() {
                let _ = html.set_attribute("data-theme", chosen.as_str());
            }
        }
    });
    view! {
        <ActionForm action=auth.set_theme attr:class="inline-form theme-form">
            <input type="hidden" name="theme" value=move || theme.get().next().as_str() />
            <button
                type="submit"
                class="theme-toggle"
                data-testid="theme-toggle"
                title="Switch between system, light and dark themes"
            >
                {move || theme.get().label()}
            </button>
        </ActionForm>
    }
}

/// Shows its children only to a signed-in user (provided to them as context); others go
/// to the login page and come back afterwards.
#[component]
pub fn RequireUser(children: ChildrenFn) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let location = use_location();
    // The path this page was drawn for: while the next page's code loads, this one is
    // still shown under the next page's address, and must not send that address to log in.
    let own_path = StoredValue::new(location.pathname.get_untracked());
    let children = StoredValue::new(children);
    view! {
        // A signed-in page is one person's own: never for search engines.
        <leptos_meta::Meta name="robots" content="noindex" />
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(user)) => {
                        provide_context(user);
                        children.with_value(|children| children()).into_any()
                    }
                    Ok(None) if own_path.with_value(|own| *own != location.pathname.get_untracked()) => ().into_any(),
                    Ok(None) => {
                        let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
                        let target = if here.is_empty() || here == "/" { String::new() } else { format!("?next={}", percent_encode(&here)) };
                        view! { <Redirect path=format!("/login{target}") /> }.into_any()
                    }
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A number with its noun: "1 task", "2 tasks", "0 tasks".
pub fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// `&`, `<`, `>`, `"` and `'` as HTML entities.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    push_escaped(&mut out, text);
    out
}

/// Appends `text` to `out` with `&`, `<`, `>`, `"` and `'` as HTML entities (for markup
/// written as a string: emails, and the week grid's events).
pub fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// Percent-encodes a path for a query parameter, keeping it readable.
pub fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A `<textarea>`'s text. Leptos writes a textarea's children into the server's HTML
/// unescaped (it is "raw text" to it), so text a person or an invitee wrote, holding
/// `</textarea>` say, would end the field and become markup: escaped on the server.
/// The browser decodes the entities back, and a page drawn in the browser sets the
/// text node directly, so there it stays as it is.
pub fn textarea_text(text: &str) -> String {
    if cfg!(feature = "ssr") {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    } else {
        text.to_owned()
    }
}

/// The cookie that carries a refused form's fields back to its page (`FormDraft`).
pub const FORM_DRAFT_COOKIE: &str = "calento_form";

/// What a person typed into a form that came back with an error, so a page rendered by
/// the server (a form posted without the app's script) shows it again instead of empty
/// fields. The server keeps it in a cookie for a minute and hands it to the next page
/// once. Passwords, keys, tokens, codes and the bots' trap field are never kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormDraft(Vec<(String, String)>);

impl FormDraft {
    /// At most this many bytes of fields are kept (a cookie holds about 4 KB).
    const MAX_BYTES: usize = 3000;

    /// The fields of `pairs` that may be kept, while they fit.
    pub fn keepable(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut kept = Vec::new();
        let mut size = 0;
        for (name, value) in pairs {
            let lower = name.to_ascii_lowercase();
            let secret = ["password", "secret", "token", "key", "code", "website"].iter().any(|s| lower.contains(s));
            if secret || value.is_empty() {
                continue;
            }
            // Percent-encoding may triple a value.
            size += 3 * (name.len() + value.len()) + 2;
            if size > Self::MAX_BYTES {
                break;
            }
            kept.push((name, value));
        }
        Self(kept)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// What the person typed into the field `name` of the form just refused, if anything.
    /// Empty in the browser: a hydrated form keeps its own fields.
    pub fn field(name: &str) -> String {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|parts| {
                    parts
                        .extensions
                        .get::<FormDraft>()
                        .and_then(|draft| draft.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
                })
                .unwrap_or_default()
        }
        #[cfg(not(feature = "ssr"))]
        {
            let _ = name;
            String::new()
        }
    }
}

/// The error a form should show: the last submission's, or, after a submission without
/// JavaScript, the one the server put in the `err` query parameter.
pub fn form_error<T>(
    value: impl Fn() -> Option<Result<T, AppError>> + Send + Sync + 'static,
) -> Signal<Option<AppError>> {
    let query = use_query_map();
    Signal::derive(move || match value() {
        Some(Err(error)) => Some(error),
        Some(Ok(_)) => None,
        None => error_from_query(&query.read()),
    })
}

fn error_from_query(query: &ParamsMap) -> Option<AppError> {
    query.get("err").and_then(|json| serde_json::from_str(&json).ok())
}

/// A labelled input with its own error message, announced to screen readers.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    error: Signal<Option<AppError>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] list: &'static str,
    #[prop(optional)] node_ref: NodeRef<leptos::html::Input>,
    /// The input's id when a page has two fields of one name (default `field-{name}`).
    #[prop(optional)]
    id: &'static str,
) -> impl IntoView {
    let value = if value.is_empty() && kind != "password" { FormDraft::field(name) } else { value };
    let id = if id.is_empty() { format!("field-{name}") } else { id.to_owned() };
    let message_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let message = move || error.get().and_then(|e| e.field_message(name));
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type=kind
                name=name
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                list=(!list.is_empty()).then_some(list)
                value=value
                required=required
                aria-invalid=move || if message().is_some() { "true" } else { "false" }
                aria-describedby=format!("{message_id} {hint_id}")
                node_ref=node_ref
            />
            <p class="hint" id=hint_id>
                {hint}
            </p>
            <p class="field-error" id=message_id role="alert">
                {message}
            </p>
        </div>
    }
}

/// The message of an error that is not about one field (rate limits, server trouble).
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    let message = move || match error.get() {
        Some(AppError::Invalid { fields, .. }) if !fields.is_empty() => None,
        Some(other) => Some(other.to_string()),
        None => None,
    };
    view! {
        <p class="form-error" role="alert" data-testid="form-error">
            {message}
        </p>
    }
}

#[component]
pub fn SubmitButton(label: &'static str, busy_label: &'static str, pending: Signal<bool>) -> impl IntoView {
    view! {
        <button type="submit" class="primary" aria-busy=move || pending.get().to_string() disabled=move || pending.get()>
            {move || if pending.get() { busy_label } else { label }}
        </button>
    }
}

/// The fallback of the app's error boundary.
#[component]
pub fn ErrorList(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <section class="card" role="alert">
            <h1>"Something went wrong"</h1>
            <ul>
                {move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()}
            </ul>
            <p>
                <a href="/">"Back to the start"</a>
            </p>
        </section>
    }
}

/// The list of zones for `<input list="time-zones">`.
#[component]
pub fn TimeZoneOptions() -> impl IntoView {
    view! {
        <datalist id="time-zones">
            {calento::TimeZoneName::all().map(|zone| view! { <option value=zone></option> }).collect_view()}
        </datalist>
    }
}

/// "Sign in with …" buttons for the providers this instance offers (none: nothing).
/// They are plain links: the sign-in leaves for the provider's page and comes back.
#[component]
pub fn ProviderButtons(#[prop(into)] query: Signal<String>) -> impl IntoView {
    let providers = Resource::new(|| (), |_| crate::server::account::sign_in_providers());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let list = providers.await.unwrap_or_default();
                (!list.is_empty()).then(|| {
                    view! {
                        <div class="providers" data-testid="providers">
                            <p class="divider">"or"</p>
                            {list
                                .into_iter()
                                .map(|p| {
                                    let href = move || format!("/auth/oidc/{}/start{}", p.id, query.get());
                                    // rel=external: a full page load (the router would look for a page here).
                                    view! { <a class="button provider" rel="external" href=href>{format!("Sign in with {}", p.label)}</a> }
                                })
                                .collect_view()}
                        </div>
                    }
                })
            })}
        </Suspense>
    }
}

/// The tabs of the settings pages.
#[component]
pub fn SettingsNav() -> impl IntoView {
    view! {
        <nav class="subnav" aria-label="Settings">
            <A href="/settings" exact=true>"Profile"</A>
            <A href="/settings/security">"Security"</A>
            <A href="/settings/calendars">"Calendars"</A>
            <A href="/settings/tasks">"Tasks & focus"</A>
            <A href="/settings/notifications">"Notifications"</A>
            <A href="/settings/calendar-apps">"Calendar apps"</A>
            <A href="/settings/connections">"Connected accounts"</A>
            <A href="/settings/tokens">"API tokens"</A>
            <A href="/settings/outbox">"Outbox"</A>
        </nav>
    }
}

/// The user the page is for (inside `RequireUser`).
pub fn use_user() -> UserProfile {
    use_context::<UserProfile>().unwrap_or_else(|| UserProfile {
        id: String::new(),
        email: String::new(),
        username: String::new(),
        name: String::new(),
        time_zone: "UTC".to_owned(),
        week_start: Default::default(),
        clock: Default::default(),
        is_admin: false,
        email_verified: false,
    })
}

/// The quick-capture box in the header: many lines at once, saved as tasks. Key c opens it
/// on any page but the calendar (where c makes an event) and the tasks page (its own box).
#[component]
fn QuickCaptureBox() -> impl IntoView {
    let Some(crate::QuickCapture(action)) = use_context::<crate::QuickCapture>() else {
        return ().into_any();
    };
    let open = RwSignal::new(false);
    let area = NodeRef::<leptos::html::Textarea>::new();
    let text = RwSignal::new(String::new());
    // What was sent last (key and text), kept on the device if the server was not reached.
    let last = RwSignal::new(None::<crate::offline::Pending>);
    // How many captures wait on this device for the connection.
    let waiting = RwSignal::new(0usize);
    let saved = move || match action.value().get() {
        Some(Ok(result)) => Some(result.tasks.len()),
        _ => None,
    };
    let error = move || match action.value().get() {
        Some(Err(error)) if !crate::offline::unreachable(&error) => Some(error.to_string()),
        _ => None,
    };
    Effect::new(move |_| {
        if saved().is_some() {
            text.set(String::new());
        }
    });
    // Not reached: kept on the device, the box emptied as if saved.
    Effect::new(move |_| {
        if let Some(Err(error)) = action.value().get()
            && crate::offline::unreachable(&error)
            && let Some(pending) = last.get_untracked()
        {
            crate::offline::keep(pending);
            waiting.set(crate::offline::pending().len());
            text.set(String::new());
        }
    });
    // Sends what waits on this device: now (a page opened) and whenever the connection
    // returns. Each capture keeps its key, so one sent twice is made once.
    let live = use_context::<crate::live::Live>();
    Effect::new(move |_| {
        let flush = move || {
            leptos::task::spawn_local(async move {
                for item in crate::offline::pending() {
                    let sent = crate::server::tasks::capture_tasks(
                        item.text.clone(),
                        Some("true".to_owned()),
                        None,
                        Some(item.key.clone()),
                    )
                    .await;
                    match sent {
                        Ok(_) => crate::offline::forget(&item.key),
                        Err(error) if crate::offline::unreachable(&error) => break,
                        // Refused (too many lines, signed out…): it would be refused again.
                        Err(_) => crate::offline::forget(&item.key),
                    }
                    waiting.set(crate::offline::pending().len());
                }
                waiting.set(crate::offline::pending().len());
                if let Some(live) = live {
                    live.tasks.update(|n| *n += 1);
                }
            });
        };
        waiting.set(crate::offline::pending().len());
        if waiting.get_untracked() > 0 && !crate::offline::offline() {
            flush();
        }
        let handle = window_event_listener(leptos::ev::online, move |_| flush());
        on_cleanup(move || handle.remove());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = text.get_untracked();
        if typed.trim().is_empty() {
            return;
        }
        let pending = crate::offline::Pending { key: crate::offline::new_key(), text: typed };
        if crate::offline::offline() {
            crate::offline::keep(pending);
            waiting.set(crate::offline::pending().len());
            text.set(String::new());
            return;
        }
        last.set(Some(pending.clone()));
        action.dispatch(crate::server::tasks::CaptureTasks {
            text: pending.text,
            save: Some("true".to_owned()),
            next: None,
            key: Some(pending.key),
        });
    };
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            use leptos::wasm_bindgen::JsCast;
            if ev.key() != "c" || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let typing = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            let path = window().location().pathname().unwrap_or_default();
            let own_box = document().get_element_by_id("capture-text").is_some();
            if typing || own_box || path.starts_with("/calendar") {
                return;
            }
            ev.prevent_default();
            open.set(true);
            // Open it now (not on the next render) so the box can take the focus at once.
            if let Some(details) = document().get_element_by_id("quick-capture") {
                let _ = details.set_attribute("open", "");
            }
            if let Some(el) = area.get_untracked() {
                let _ = el.focus();
            }
        });
        on_cleanup(move || handle.remove());
    });
    view! {
        <details id="quick-capture" class="quick-capture" data-testid="quick-capture" prop:open=move || open.get()
            on:toggle=move |ev| {
                use leptos::wasm_bindgen::JsCast;
                if let Some(el) = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok()) {
                    open.set(el.has_attribute("open"));
                }
            }>
            <summary>"+ Capture"</summary>
            // Without JavaScript the form posts to the server function itself.
            <form class="form" method="post" action="/fn/capture_tasks" on:submit=submit>
                <label for="quick-capture-text">"Capture tasks, one per line"</label>
                <textarea
                    id="quick-capture-text"
                    name="text"
                    rows="3"
                    node_ref=area
                    data-testid="quick-capture-text"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
                <input type="hidden" name="save" value="true" />
                <button type="submit" class="primary" data-testid="quick-capture-save">"Save"</button>
                <p class="saved" role="status" data-testid="quick-capture-status">
                    {move || match (waiting.get(), saved()) {
                        (0, Some(n)) => Some(format!("Captured {n} task{}.", if n == 1 { "" } else { "s" })),
                        (0, None) => None,
                        (n, _) => Some(format!(
                            "Kept on this device: {n} capture{} will be sent when you are back online.",
                            if n == 1 { "" } else { "s" }
                        )),
                    }}
                </p>
                <p class="form-error" role="alert">{error}</p>
            </form>
        </details>
    }
    .into_any()
}

/// The text colour that reads best on a background colour (`#rrggbb` or `#rgb`): white or
/// near-black, whichever has the higher contrast (WCAG relative luminance), so a pale
/// calendar colour gets dark text. White for a colour it cannot read.
pub fn text_on(background: &str) -> &'static str {
    let hex = background.trim().trim_start_matches('#');
    let digits: Vec<u8> = hex.chars().filter_map(|c| c.to_digit(16).map(|d| d as u8)).collect();
    let (r, g, b) = match digits.as_slice() {
        [r, g, b] => (r * 17, g * 17, b * 17),
        [r1, r2, g1, g2, b1, b2] => (r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2),
        _ => return "#fff",
    };
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const DARK: f64 = 0.0116; // #1b1b1b
    let on_white = 1.05 / (luminance + 0.05);
    let on_dark = (luminance + 0.05) / (DARK + 0.05);
    if on_white >= on_dark { "#fff" } else { "#1b1b1b" }
}

#[cfg(test)]
mod contrast_tests {
    use super::text_on;

    #[test]
    fn pale_colours_get_dark_text_and_deep_ones_white() {
        assert_eq!(text_on("#1a73e8"), "#fff");
        assert_eq!(text_on("#336699"), "#fff");
        assert_eq!(text_on("#ffeb3b"), "#1b1b1b");
        assert_eq!(text_on("#fff"), "#1b1b1b");
        assert_eq!(text_on("#8bc34a"), "#1b1b1b");
        assert_eq!(text_on("not a colour"), "#fff");
    }
}
