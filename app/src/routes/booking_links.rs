//! Booking links: the host's list (public address with a copy button, on/off, secret), a
//! short form that creates a link (title, address, durations), and the link's own page
//! with every setting (`?edit={id}`), where a new link opens (`&created=1`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::host::{FieldMessage, SchedulingNav, action_error, next_key, plain_form_error, use_live};
use crate::components::{Field, FormError, RequireUser};
use crate::models::{BookingLinkFields, BookingLinkInfo, LocationKind, Question, QuestionKind, ScheduleInfo};
use crate::server::scheduling::{DeleteLink, LinksData, NewLink, SaveLink, SetLinkActive, list_links, split_minutes};

#[derive(Clone, Copy)]
struct LinkActions {
    create: ServerAction<NewLink>,
    save: ServerAction<SaveLink>,
    toggle: ServerAction<SetLinkActive>,
    delete: ServerAction<DeleteLink>,
}

#[component]
pub fn BookingLinksPage() -> impl IntoView {
    let actions = LinkActions {
        create: ServerAction::new(),
        save: ServerAction::new(),
        toggle: ServerAction::new(),
        delete: ServerAction::new(),
    };
    provide_context(actions);
    let data = Resource::new(
        move || {
            (
                actions.create.version().get(),
                actions.save.version().get(),
                actions.toggle.version().get(),
                actions.delete.version().get(),
            )
        },
        |_| list_links(),
    );
    let query = use_query_map();
    let editing = Memo::new(move |_| query.read().get("edit").filter(|id| !id.is_empty()));
    let created = Memo::new(move |_| query.read().get("created").is_some());
    // A new link opens on its own page (without JS the server redirects there).
    Effect::new(move |_| {
        if let Some(Ok(link)) = actions.create.value().get() {
            actions.create.value().set(None);
            use_navigate()(&format!("/booking-links?edit={}&created=1", link.id), Default::default());
        }
    });
    // A saved edit goes back to the list.
    Effect::new(move |_| {
        if let Some(Ok(_)) = actions.save.value().get()
            && editing.get_untracked().is_some()
        {
            use_navigate()("/booking-links", Default::default());
        }
    });
    let saved = move || matches!(actions.save.value().get(), Some(Ok(_))).then_some("Link saved.");
    let other_error = Signal::derive(move || {
        action_error(move || actions.toggle.value().get())
            .get()
            .or_else(|| action_error(move || actions.delete.value().get()).get())
    });
    view! {
        <Title text="Booking links" />
        <RequireUser>
            <section class="card booking-links" data-testid="booking-links">
                <h1>"Booking links"</h1>
                <SchedulingNav />
                <p class="saved" role="status" data-testid="saved">{saved}</p>
                <FormError error=other_error />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let editing_now = editing.get();
                        let created_now = created.get();
                        match data.await {
                            Ok(data) => view! { <LinksView data editing=editing_now.clone() created=created_now /> }.into_any(),
                            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
}

#[component]
fn LinksView(data: LinksData, editing: Option<String>, created: bool) -> impl IntoView {
    let LinksData { username, origin, links, schedules } = data;
    if let Some(id) = editing {
        return match links.into_iter().find(|l| l.id == id) {
            Some(link) => {
                let full = format!("{origin}{}", link.url);
                view! {
                    {created.then(|| view! {
                        <div class="notice" role="status" data-testid="created">
                            <p>
                                <strong>{format!("\u{201c}{}\u{201d} is ready to share: ", link.fields.title)}</strong>
                                <a href=link.url.clone() rel="external" data-testid="created-url">{full.clone()}</a>
                            </p>
                            <p class="hint">"Everything below is optional: working hours, where you meet, limits, questions. Save applies it."</p>
                        </div>
                    })}
                    <h2>"Edit \u{201c}" {link.fields.title.clone()} "\u{201d}"</h2>
                    <p>
                        <A href="/booking-links">"Back to the list"</A>
                    </p>
                    <LinkForm link=Some(link) schedules username />
                }
                .into_any()
            }
            None => view! {
                <p class="form-error" role="alert">"This booking link does not exist (any more)."</p>
                <p>
                    <A href="/booking-links">"Back to the list"</A>
                </p>
            }
            .into_any(),
        };
    }
    let list = if links.is_empty() {
        view! {
            <p class="empty" data-testid="no-links">
                "No booking links yet. Yours will live under " {format!("{origin}/{username}/…")}
            </p>
        }
        .into_any()
    } else {
        links.into_iter().map(|link| view! { <LinkCard link origin=origin.clone() /> }).collect_view().into_any()
    };
    view! {
        <div class="link-list" data-testid="link-list">
            {list}
        </div>
        <NewLinkForm username />
    }
    .into_any()
}

/// The short form that makes a link: a title, its address (made from the title when left
/// empty) and durations. The rest is set on the link's page, where a new link opens.
#[component]
fn NewLinkForm(username: String) -> impl IntoView {
    let actions = expect_context::<LinkActions>();
    let create_error = action_error(move || actions.create.value().get());
    let page_error = plain_form_error();
    let error = Signal::derive(move || create_error.get().or_else(|| page_error.get()));
    let errors = vec![error];
    let slug_hint = format!("Your link will be /{username}/slug; left empty, it is made from the title.");
    // What was typed comes back after a refused plain form; a fresh form offers 30 minutes.
    let durations = Some(crate::components::FormDraft::field("durations"))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "30".to_owned());
    view! {
        <h2 id="new-link">"New booking link"</h2>
        <ActionForm action=actions.create attr:class="form new-link-form" attr:novalidate=true attr:data-testid="new-link-form" attr:aria-labelledby="new-link">
            <FormError error />
            <Field label="Title" name="title" required=true error hint="What invitees book, e.g. Intro call." />
            <div class="field" class:invalid=move || error.get().and_then(|e| e.field_message("slug")).is_some()>
                <label for="field-slug">"Slug"</label>
                <input id="field-slug" name="slug" placeholder="intro-call" />
                <p class="hint">{slug_hint}</p>
                <FieldMessage errors=errors.clone() name="slug" />
            </div>
            <Field label="Durations (minutes)" name="durations" value=durations error hint="One or more, like 30 or 30, 60." />
            <div class="dialog-actions">
                <button type="submit" class="primary" data-testid="create-link">"Create link"</button>
            </div>
        </ActionForm>
    }
}

fn durations_text(durations: &[u32]) -> String {
    let parts: Vec<String> = durations.iter().map(u32::to_string).collect();
    match parts.as_slice() {
        [] => String::new(),
        [one] => format!("{one} min"),
        [rest @ .., last] => format!("{} or {last} min", rest.join(", ")),
    }
}

#[component]
fn LinkCard(link: BookingLinkInfo, origin: String) -> AnyView {
    let actions = expect_context::<LinkActions>();
    let live = use_live();
    let copied = RwSignal::new(false);
    let f = &link.fields;
    let full = format!("{origin}{}", link.url);
    let copy_text = full.clone();
    let copy = move |_| {
        if copy_to_clipboard(&copy_text) {
            copied.set(true);
        }
    };
    let location = f.location.text();
    let about = if location.is_empty() {
        durations_text(&f.durations)
    } else {
        format!("{} · {location}", durations_text(&f.durations))
    };
    let active = f.active;
    let edit = format!("/booking-links?edit={}", link.id);
    let (toggle_id, delete_id) = (link.id.clone(), link.id.clone());
    let delete_label = format!("Delete {}", f.title);
    view! {
        <article class="link-card" class:inactive=!active data-testid="link-card">
            <h3>
                <span data-testid="link-title">{f.title.clone()}</span>
                {f.secret.then(|| view! { " " <span class="badge" data-testid="secret-badge">"secret"</span> })}
                {(!active).then(|| view! { " " <span class="badge muted" data-testid="off-badge">"off"</span> })}
                {f.requires_approval.then(|| view! { " " <span class="badge muted">"needs approval"</span> })}
            </h3>
            <p class="hint" data-testid="link-about">{about}</p>
            <p class="link-url">
                // The public page is not part of the app: the browser loads it.
                <a href=link.url.clone() rel="external" data-testid="link-url">{full.clone()}</a>
                {move || {
                    live.get()
                        .then(|| {
                            view! {
                                " "
                                <button type="button" class="copy" on:click=copy.clone() data-testid="copy-url">
                                    {move || if copied.get() { "Copied" } else { "Copy" }}
                                </button>
                            }
                        })
                }}
            </p>
            <div class="calendar-tools">
                <A href=edit attr:class="button" attr:data-testid="edit-link">
                    "Edit"
                </A>
                <ActionForm action=actions.toggle attr:class="inline-form">
                    <input type="hidden" name="id" value=toggle_id />
                    <input type="hidden" name="active" value=(!active).to_string() />
                    <button type="submit" role="switch" aria-checked=active.to_string() data-testid="toggle-active">
                        {if active { "Active: turn off" } else { "Off: turn on" }}
                    </button>
                </ActionForm>
                <ActionForm action=actions.delete attr:class="inline-form">
                    <input type="hidden" name="id" value=delete_id />
                    <button type="submit" class="danger" aria-label=delete_label data-testid="delete-link">
                        "Delete"
                    </button>
                </ActionForm>
            </div>
        </article>
    }
    .into_any()
}

/// Puts text on the clipboard; false when the browser does not allow it.
fn copy_to_clipboard(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::{JsCast, JsValue};
        let get = |target: &JsValue, key: &str| js_sys::Reflect::get(target, &JsValue::from_str(key)).ok();
        let Some(navigator) = get(&js_sys::global().into(), "navigator") else { return false };
        let Some(clipboard) = get(&navigator, "clipboard").filter(|c| !c.is_undefined()) else { return false };
        let Some(write) = get(&clipboard, "writeText").and_then(|w| w.dyn_into::<js_sys::Function>().ok()) else {
            return false;
        };
        write.call1(&clipboard, &JsValue::from_str(text)).is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}

#[derive(Clone)]
struct QuestionRow {
    key: usize,
    question: Question,
}

const LOCATION_KINDS: [(LocationKind, &str, &str); 5] = [
    (LocationKind::None, "none", "Not set"),
    (LocationKind::InPerson, "in_person", "In person (an address)"),
    (LocationKind::Phone, "phone", "Phone (a number)"),
    (LocationKind::Video, "video", "Video call (a link)"),
    (LocationKind::Custom, "custom", "Something else (a few words)"),
];

fn number(value: Option<u32>) -> String {
    value.map(|n| n.to_string()).unwrap_or_default()
}

#[component]
fn UnitSelect(name: &'static str, selected: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <select name=name aria-label=label>
            {["minutes", "hours", "days"]
                .into_iter()
                .map(|unit| view! { <option value=unit selected=unit == selected>{unit}</option> })
                .collect_view()}
        </select>
    }
}

#[component]
fn LinkForm(link: Option<BookingLinkInfo>, schedules: Vec<ScheduleInfo>, username: String) -> AnyView {
    let actions = expect_context::<LinkActions>();
    let live = use_live();
    let save_error = action_error(move || actions.save.value().get());
    let page_error = plain_form_error();
    let error = Signal::derive(move || save_error.get().or_else(|| page_error.get()));
    let errors = vec![error];
    let editing = link.is_some();
    let id = link.as_ref().map(|l| l.id.clone()).unwrap_or_default();
    let f: BookingLinkFields = link.map(|l| l.fields).unwrap_or_default();
    let durations = f.durations.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let (notice_value, notice_unit) = split_minutes(f.minimum_notice_minutes);
    let (cutoff_value, cutoff_unit) = split_minutes(f.cancel_cutoff_minutes);
    let window = if f.window_start.is_some() {
        "range"
    } else if f.booking_window_days.is_some() {
        "rolling"
    } else {
        "none"
    };
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    let questions = RwSignal::new(
        f.questions.iter().cloned().map(|question| QuestionRow { key: next_key(), question }).collect::<Vec<_>>(),
    );
    let add_question =
        move |_| questions.update(|list| list.push(QuestionRow { key: next_key(), question: Question::default() }));
    let schedule_options = if schedules.is_empty() {
        view! { <option value="">"Working hours (made for you: Monday to Friday, 09:00–17:00)"</option> }.into_any()
    } else {
        schedules
            .iter()
            .map(|s| {
                let label = format!("{} ({}){}", s.name, s.timezone, if s.is_default { " · default" } else { "" });
                let chosen = if f.schedule_id.is_empty() { s.is_default } else { s.id == f.schedule_id };
                view! { <option value=s.id.clone() selected=chosen>{label}</option> }
            })
            .collect_view()
            .into_any()
    };
    let slug_hint = format!("The address is /{username}/slug; left empty, it is made from the title.");
    view! {
        <ActionForm action=actions.save attr:class="form link-form" attr:novalidate=true attr:data-testid="link-form">
            <FormError error />
            {editing.then(|| view! { <input type="hidden" name="id" value=id.clone() /> })}
            <Field label="Title" name="title" value=f.title.clone() required=true error />
            <div class="field" class:invalid=move || error.get().and_then(|e| e.field_message("slug")).is_some()>
                <label for="field-slug">"Slug"</label>
                <input id="field-slug" name="slug" value=f.slug.clone() placeholder="30-min-call" />
                <p class="hint">{slug_hint}</p>
                <FieldMessage errors=errors.clone() name="slug" />
            </div>
            <div class="field">
                <label for="field-description">"Description"</label>
                <textarea id="field-description" name="description" rows="3">
                    {f.description.clone()}
                </textarea>
                <FieldMessage errors=errors.clone() name="description" />
            </div>
            <Field
                label="Durations (minutes)"
                name="durations"
                value=durations
                hint="One or more, separated by commas, like 30, 60; the first is preselected."
                error
            />
            <div class="field-row">
                <div class="field">
                    <label for="field-location_kind">"Location"</label>
                    <select id="field-location_kind" name="location_kind">
                        {LOCATION_KINDS
                            .into_iter()
                            .map(|(kind, value, label)| {
                                view! { <option value=value selected=kind == f.location.kind>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="field-location_value">"Where"</label>
                    <input id="field-location_value" name="location_value" value=f.location.value.clone() />
                    <FieldMessage errors=errors.clone() name="location" />
                </div>
            </div>
            <div class="field">
                <label for="field-schedule_id">"Availability schedule"</label>
                <select id="field-schedule_id" name="schedule_id">
                    {schedule_options}
                </select>
                <p class="hint">
                    "Change the hours under " <A href="/availability">"Availability"</A> "."
                </p>
                <FieldMessage errors=errors.clone() name="schedule_id" />
            </div>
            <fieldset>
                <legend>"Times offered"</legend>
                <div class="field-row">
                    <Field
                        label="Start every (minutes)"
                        name="slot_interval"
                        kind="number"
                        value=number(f.slot_interval)
                        hint="Empty: the meeting's length."
                        error
                    />
                    <Field
                        label="Free before (minutes)"
                        name="buffer_before"
                        kind="number"
                        value=f.buffer_before.to_string()
                        error
                    />
                    <Field
                        label="Free after (minutes)"
                        name="buffer_after"
                        kind="number"
                        value=f.buffer_after.to_string()
                        error
                    />
                </div>
                <div class="field">
                    <label for="field-notice_value">"Minimum notice"</label>
                    <div class="with-unit">
                        <input id="field-notice_value" name="notice_value" type="number" min="0" value=notice_value.to_string() />
                        <UnitSelect name="notice_unit" selected=notice_unit label="Unit of the minimum notice" />
                    </div>
                    <label class="check">
                        <input type="checkbox" name="not_same_day" checked=f.not_same_day />
                        "Not on the same day (the earliest time is tomorrow)"
                    </label>
                    <FieldMessage errors=errors.clone() name="minimum_notice_minutes" />
                </div>
                <fieldset class="choice">
                    <legend>"How far ahead"</legend>
                    <label class="check">
                        <input type="radio" name="window" value="none" checked=window == "none" />
                        "Any time in the future"
                    </label>
                    <div class="check">
                        <input
                            type="radio"
                            name="window"
                            value="rolling"
                            checked=window == "rolling"
                            aria-label="Up to a number of days ahead"
                            data-testid="window-rolling"
                        />
                        <span aria-hidden="true">"Up to"</span>
                        <input
                            name="booking_window_days"
                            type="number"
                            min="1"
                            class="short"
                            aria-label="Days ahead"
                            value=number(f.booking_window_days)
                        />
                        <span aria-hidden="true">"days ahead"</span>
                    </div>
                    <FieldMessage errors=errors.clone() name="booking_window_days" />
                    <div class="check">
                        <input
                            type="radio"
                            name="window"
                            value="range"
                            checked=window == "range"
                            aria-label="Between two dates"
                            data-testid="window-range"
                        />
                        <span aria-hidden="true">"Between"</span>
                        <input name="window_start" type="date" aria-label="First bookable date" value=date(f.window_start) />
                        <span aria-hidden="true">"and"</span>
                        <input name="window_end" type="date" aria-label="Last bookable date" value=date(f.window_end) />
                    </div>
                    <FieldMessage errors=errors.clone() name="window_start" />
                    <FieldMessage errors=errors.clone() name="window_end" />
                </fieldset>
            </fieldset>
            <fieldset>
                <legend>"Limits (empty: none)"</legend>
                <div class="field-row">
                    <Field label="Bookings a day" name="max_per_day" kind="number" value=number(f.max_per_day) error />
                    <Field label="Bookings a week" name="max_per_week" kind="number" value=number(f.max_per_week) error />
                    <Field
                        label="Minutes a day"
                        name="max_minutes_per_day"
                        kind="number"
                        value=number(f.max_minutes_per_day)
                        error
                    />
                    <Field
                        label="Minutes a week"
                        name="max_minutes_per_week"
                        kind="number"
                        value=number(f.max_minutes_per_week)
                        error
                    />
                </div>
            </fieldset>
            <fieldset class="questions" data-testid="questions">
                <legend>"Questions on the booking form"</legend>
                <p class="hint">"Name, email and notes are always asked."</p>
                <For each=move || questions.get() key=|row| row.key let:row>
                    <QuestionInputs row questions live />
                </For>
                {move || (!live.get()).then(|| view! { <QuestionInputs row=QuestionRow { key: 0, question: Question::default() } questions live /> })}
                {move || {
                    live.get()
                        .then(|| {
                            view! {
                                <button type="button" on:click=add_question data-testid="add-question">
                                    "+ Add a question"
                                </button>
                            }
                        })
                }}
                <FieldMessage errors=errors.clone() name="questions" />
            </fieldset>
            <fieldset>
                <legend>"Booking and after"</legend>
                <label class="check">
                    <input type="checkbox" name="requires_approval" checked=f.requires_approval data-testid="requires-approval" />
                    "I approve each booking (it waits until I do)"
                </label>
                <label class="check">
                    <input type="checkbox" name="active" checked=f.active data-testid="active" />
                    "Active: people can book it"
                </label>
                <label class="check">
                    <input type="checkbox" name="secret" checked=f.secret data-testid="secret" />
                    "Secret: not listed on my page, reachable only through its address"
                </label>
                <div class="field-row">
                    <div class="field">
                        <label for="field-cutoff_value">"Invitees can cancel or move until"</label>
                        <div class="with-unit">
                            <input id="field-cutoff_value" name="cutoff_value" type="number" min="0" value=cutoff_value.to_string() />
                            <UnitSelect name="cutoff_unit" selected=cutoff_unit label="Unit of the cut-off" />
                            <span>"before"</span>
                        </div>
                        <FieldMessage errors=errors.clone() name="cancel_cutoff_minutes" />
                    </div>
                    <Field
                        label="Reminder email (hours before)"
                        name="reminder_hours"
                        kind="number"
                        value=number(f.reminder_hours)
                        hint="Empty: no reminder."
                        error
                    />
                </div>
            </fieldset>
            <div class="dialog-actions">
                {editing.then(|| view! { <A href="/booking-links" attr:class="button">"Cancel"</A> })}
                <button type="submit" class="primary" data-testid="save-link">
                    {if editing { "Save link" } else { "Create link" }}
                </button>
            </div>
        </ActionForm>
    }
    .into_any()
}

#[component]
fn QuestionInputs(row: QuestionRow, questions: RwSignal<Vec<QuestionRow>>, live: RwSignal<bool>) -> AnyView {
    let q = row.question;
    let key = row.key;
    let long = q.kind == QuestionKind::Long;
    view! {
        <div class="question-row" data-testid="question">
            <input type="hidden" name="q_id[]" value=q.id.clone() />
            <input name="q_label[]" aria-label="Question" placeholder="A question, e.g. Company" value=q.label.clone() data-testid="question-label" />
            <select name="q_kind[]" aria-label="Answer" data-testid="question-kind">
                <option value="short" selected=!long>"Short answer"</option>
                <option value="long" selected=long>"Long answer"</option>
            </select>
            <select name="q_required[]" aria-label="Required" data-testid="question-required">
                <option value="no" selected=!q.required>"Optional"</option>
                <option value="yes" selected=q.required>"Required"</option>
            </select>
            {move || {
                (live.get() && key != 0)
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="link-button"
                                aria-label="Remove this question"
                                data-testid="remove-question"
                                on:click=move |_| questions.update(|list| list.retain(|r| r.key != key))
                            >
                                "✕"
                            </button>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}
