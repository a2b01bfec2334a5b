//! Settings → Calendars: create, rename, colour, hide, subscribe, import and export, and
//! private feed addresses.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{FormError, RequireUser, SettingsNav, TimeZoneOptions, form_error};
use crate::models::{CalendarInfo, ImportReport};
use crate::server::calendar::{
    CreateCalendar, DeleteCalendar, PublishFeed, RevokeFeed, UpdateCalendar, list_calendars,
};

#[derive(Clone, Copy)]
struct ImportResult(RwSignal<Option<Result<ImportReport, String>>>);

#[derive(Clone, Copy)]
struct CalendarActions {
    update: ServerAction<UpdateCalendar>,
    delete: ServerAction<DeleteCalendar>,
    publish: ServerAction<PublishFeed>,
    revoke: ServerAction<RevokeFeed>,
}

#[component]
pub fn CalendarsPage() -> impl IntoView {
    let create = ServerAction::<CreateCalendar>::new();
    let actions = CalendarActions {
        update: ServerAction::new(),
        delete: ServerAction::new(),
        publish: ServerAction::new(),
        revoke: ServerAction::new(),
    };
    provide_context(actions);
    let imported = RwSignal::new(0u32);
    // The last import's report lives here, so it survives the list refreshing after it.
    let report = RwSignal::new(None::<Result<ImportReport, String>>);
    provide_context(ImportResult(report));
    let list = Resource::new(
        move || {
            (
                create.version().get(),
                actions.update.version().get(),
                actions.delete.version().get(),
                actions.publish.version().get(),
                actions.revoke.version().get(),
                imported.get(),
            )
        },
        |_| list_calendars(),
    );
    let create_error = form_error(move || create.value().get());
    let query = use_query_map();
    // After an import without JavaScript the server redirects here with the report.
    let plain_report =
        move || query.read().get("report").and_then(|json| serde_json::from_str::<ImportReport>(&json).ok());
    view! {
        <Title text="Calendars" />
        // Resources are made above, outside the sign-in guard's Suspense (stable hydration).
        <RequireUser>
            <section class="card">
                <h1>"Calendars"</h1>
                <SettingsNav />
                {move || plain_report().map(|report| view! { <ReportView report /> })}
                {move || report.get().map(|r| match r {
                    Ok(report) => view! { <ReportView report /> }.into_any(),
                    Err(message) => view! { <p class="form-error" role="alert">{message}</p> }.into_any(),
                })}
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match list.await {
                            Ok(calendars) => calendars
                                .into_iter()
                                .map(|calendar| view! { <CalendarCard calendar imported /> })
                                .collect_view()
                                .into_any(),
                            Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
                <h2>"Add a calendar"</h2>
                <ActionForm action=create attr:class="form" attr:novalidate=true>
                    <FormError error=create_error />
                    <div class="field-row">
                        <div class="field">
                            <label for="new-name">"Name"</label>
                            <input id="new-name" name="name" required=true data-testid="new-calendar-name" />
                            <p class="field-error">{move || create_error.get().and_then(|e| e.field_message("name"))}</p>
                        </div>
                        <div class="field">
                            <label for="new-color">"Colour"</label>
                            <input id="new-color" name="color" type="color" value="#0b8043" />
                        </div>
                    </div>
                    <div class="field">
                        <label for="new-source">"Subscribe to an address (optional)"</label>
                        <input id="new-source" name="source_url" type="url" placeholder="https://example.org/calendar.ics" />
                        <p class="hint">"A subscribed calendar is read-only and is refreshed on its own."</p>
                        <p class="field-error">{move || create_error.get().and_then(|e| e.field_message("source_url"))}</p>
                    </div>
                    <div class="dialog-actions">
                        <button type="submit" class="primary" data-testid="add-calendar">"Add calendar"</button>
                    </div>
                </ActionForm>
                <TimeZoneOptions />
            </section>
        </RequireUser>
    }
}

#[component]
fn ReportView(report: ImportReport) -> impl IntoView {
    let skipped = report.skipped.len();
    view! {
        <div class="notice" role="status" data-testid="import-report">
            <p>{format!("Imported {}, updated {}, skipped {}.", report.imported, report.updated, skipped)}</p>
            {(skipped > 0).then(|| view! {
                <ul class="skipped">
                    {report.skipped.into_iter().take(50).map(|s| {
                        let what = s.uid.map(|u| format!(" ({u})")).unwrap_or_default();
                        view! { <li>{format!("Line {}{what}: {}", s.line, s.reason)}</li> }
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}

#[component]
fn CalendarCard(calendar: CalendarInfo, imported: RwSignal<u32>) -> impl IntoView {
    let actions = expect_context::<CalendarActions>();
    let error = form_error(move || actions.update.value().get());
    let feed_path = move || match actions.publish.value().get() {
        Some(Ok(path)) => Some(path),
        _ => None,
    };
    let id = calendar.id.clone();
    let export_href = format!("/api/v1/calendars/{}/export.ics", calendar.id);
    let import_action = format!("/settings/calendars/{}/import", calendar.id);
    let read_only = calendar.source_url.is_some();
    let (delete_id, feed_id, revoke_id, import_id) = (id.clone(), id.clone(), id.clone(), id.clone());
    let card_style = format!("--event-color: {}", calendar.color);
    let heading = format!("{}{}", calendar.name, if calendar.is_default { " (default)" } else { "" });
    let source = calendar.source_url.clone().map(|url| {
        let failure = calendar.poll_error.clone().map(|e| format!(" — last refresh failed: {e}")).unwrap_or_default();
        format!("Subscribed to {url}{failure}")
    });
    let (name, color, zone) = (calendar.name.clone(), calendar.color.clone(), calendar.time_zone.clone());
    let (busy, visible, has_feed, is_default) =
        (calendar.counts_as_busy, calendar.visible, calendar.has_feed, calendar.is_default);
    let reminders = calendar.default_reminders.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    view! {
        <article class="calendar-card" data-testid="calendar-card" style=card_style>
            <h2><span class="dot"></span>" " {heading}</h2>
            {source.map(|text| view! { <p class="hint">{text}</p> })}
            <ActionForm action=actions.update attr:class="form" attr:novalidate=true>
                <FormError error />
                <input type="hidden" name="id" value=id.clone() />
                <div class="field-row">
                    <div class="field">
                        <label for=format!("name-{id}")>"Name"</label>
                        <input id=format!("name-{id}") name="name" value=name />
                    </div>
                    <div class="field">
                        <label for=format!("color-{id}")>"Colour"</label>
                        <input id=format!("color-{id}") name="color" type="color" value=color />
                    </div>
                    <div class="field">
                        <label for=format!("zone-{id}")>"Time zone"</label>
                        <input id=format!("zone-{id}") name="time_zone" list="time-zones" value=zone />
                    </div>
                </div>
                <label class="check"><input type="checkbox" name="counts_as_busy" checked=busy />" Counts as busy"</label>
                <label class="check"><input type="checkbox" name="visible" checked=visible />" Shown in the calendar"</label>
                <div class="field">
                    <label for=format!("reminders-{id}")>"Default reminders (minutes before, e.g. 10, 60)"</label>
                    <input id=format!("reminders-{id}") name="default_reminders" value=reminders inputmode="numeric" />
                    <p class="hint">"New events in this calendar get these reminders."</p>
                </div>
                <div class="dialog-actions"><button type="submit">"Save"</button></div>
            </ActionForm>
            <div class="calendar-tools">
                <a class="button" href=export_href download="">"Export .ics"</a>
                {(!read_only).then(|| view! { <ImportForm calendar_id=import_id action=import_action imported /> })}
                <ActionForm action=actions.publish attr:class="inline-form">
                    <input type="hidden" name="id" value=feed_id />
                    <button type="submit">{if has_feed { "New feed address" } else { "Publish private feed" }}</button>
                </ActionForm>
                {has_feed.then(|| view! {
                    <ActionForm action=actions.revoke attr:class="inline-form">
                        <input type="hidden" name="id" value=revoke_id.clone() />
                        <button type="submit">"Stop the feed"</button>
                    </ActionForm>
                })}
                {(!is_default).then(|| view! {
                    <ActionForm action=actions.delete attr:class="inline-form">
                        <input type="hidden" name="id" value=delete_id.clone() />
                        <button type="submit" class="danger">"Delete"</button>
                    </ActionForm>
                })}
            </div>
            {move || feed_path().map(|path| view! {
                <p class="notice" data-testid="feed-url">"Private address (shown once): " <code>{path}</code></p>
            })}
        </article>
    }
}

/// Uploads an `.ics` file. Without JavaScript it is a multipart form the server answers
/// with a redirect carrying the report; hydrated, it sends the file itself and shows the
/// upload's progress and then the report.
#[component]
fn ImportForm(calendar_id: String, action: String, imported: RwSignal<u32>) -> impl IntoView {
    let progress = RwSignal::new(None::<String>);
    let report = expect_context::<ImportResult>().0;
    let file_input = NodeRef::<leptos::html::Input>::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            if let Some(input) = file_input.get() {
                upload(&calendar_id, &input, progress, report, imported);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (&ev, &calendar_id, file_input, imported, report);
        }
    };
    view! {
        <form class="inline-form import-form" method="post" enctype="multipart/form-data" action=action on:submit=on_submit>
            <label>
                <span class="visually-hidden">"Calendar file"</span>
                <input type="file" name="file" accept=".ics,text/calendar" node_ref=file_input data-testid="import-file" />
            </label>
            <button type="submit" data-testid="import">"Import"</button>
            {move || progress.get().map(|p| view! { <span class="hint" role="status" data-testid="import-progress">{p}</span> })}
        </form>
    }
}

#[cfg(feature = "hydrate")]
fn upload(
    calendar_id: &str,
    input: &leptos::web_sys::HtmlInputElement,
    progress: RwSignal<Option<String>>,
    report: RwSignal<Option<Result<ImportReport, String>>>,
    imported: RwSignal<u32>,
) {
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::closure::Closure;
    let Some(file) = input.files().and_then(|files| files.get(0)) else {
        report.set(Some(Err("Choose a file first.".into())));
        return;
    };
    let Ok(request) = web_sys::XmlHttpRequest::new() else { return };
    if request.open("POST", &format!("/api/v1/calendars/{calendar_id}/import")).is_err() {
        return;
    }
    let _ = request.set_request_header("content-type", "text/calendar");
    let size = file.size();
    progress.set(Some("Uploading… 0%".into()));
    if let Ok(upload) = request.upload() {
        let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
            let total = if ev.length_computable() { ev.total() } else { size };
            if total > 0.0 {
                let percent = (ev.loaded() / total * 100.0).min(100.0);
                let text =
                    if percent >= 100.0 { "Importing…".to_owned() } else { format!("Uploading… {percent:.0}%") };
                progress.set(Some(text));
            }
        });
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        on_progress.forget();
    }
    let done_request = request.clone();
    let on_done = Closure::<dyn FnMut()>::new(move || {
        progress.set(None);
        let body = done_request.response_text().ok().flatten().unwrap_or_default();
        let status = done_request.status().unwrap_or(0);
        if status == 200 {
            match serde_json::from_str::<ImportReport>(&body) {
                Ok(parsed) => report.set(Some(Ok(parsed))),
                Err(_) => report.set(Some(Err("The server's answer could not be read.".into()))),
            }
            imported.update(|n| *n += 1);
        } else {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("The import failed (HTTP {status})."));
            report.set(Some(Err(message)));
        }
    });
    request.set_onloadend(Some(on_done.as_ref().unchecked_ref()));
    on_done.forget();
    if request.send_with_opt_blob(Some(&file)).is_err() {
        progress.set(None);
        report.set(Some(Err("The file could not be sent.".into())));
    }
}
