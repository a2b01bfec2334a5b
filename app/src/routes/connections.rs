//! Settings → Connected accounts: connect Google accounts, choose how each of their
//! calendars syncs (not at all, busy time only, or two-way with a Calento calendar), where
//! new bookings go, and see each calendar's last and next sync, its counts and errors,
//! the conflicts sync settled and the questions it asks.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{FormError, RequireUser, SettingsNav, form_error};
use crate::models::{ConnectionInfo, ConnectionsPage, RemoteCalendarInfo, SyncConflictInfo};
use crate::server::connections::{
    AnswerSyncQuestion, DisconnectConnection, SetConnectionOptions, SetNotionMapping, SetSyncMode, SyncConnectionNow,
    load_connections,
};

#[derive(Clone, Copy)]
struct Actions {
    mode: ServerAction<SetSyncMode>,
    options: ServerAction<SetConnectionOptions>,
    sync: ServerAction<SyncConnectionNow>,
    disconnect: ServerAction<DisconnectConnection>,
    answer: ServerAction<AnswerSyncQuestion>,
    mapping: ServerAction<SetNotionMapping>,
}

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let actions = Actions {
        mode: ServerAction::new(),
        options: ServerAction::new(),
        sync: ServerAction::new(),
        disconnect: ServerAction::new(),
        answer: ServerAction::new(),
        mapping: ServerAction::new(),
    };
    let page = Resource::new(
        move || {
            (
                actions.mode.version().get(),
                actions.options.version().get(),
                actions.sync.version().get(),
                actions.disconnect.version().get(),
                actions.answer.version().get(),
                actions.mapping.version().get(),
            )
        },
        |_| load_connections(),
    );
    let error = form_error(move || {
        actions
            .mode
            .value()
            .get()
            .or_else(|| actions.options.value().get())
            .or_else(|| actions.sync.value().get())
            .or_else(|| actions.disconnect.value().get())
            .or_else(|| actions.answer.value().get())
            .or_else(|| actions.mapping.value().get())
    });
    let query = use_query_map();
    let connected =
        move || (query.read().get("connected").as_deref() == Some("google")).then_some("Google account connected.");
    let synced = move || matches!(actions.sync.value().get(), Some(Ok(()))).then_some("Syncing now…");
    view! {
        <Title text="Connected accounts" />
        <RequireUser>
            <section class="card">
                <h1>"Connected accounts"</h1>
                <SettingsNav />
                <p class="saved" role="status" data-testid="connections-status">{connected} {synced}</p>
                <FormError error />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move { page.await.map(|found| view! { <Connections found actions /> }) })}
                </Transition>
            </section>
        </RequireUser>
    }
    .into_any()
}

#[component]
fn Connections(found: ConnectionsPage, actions: Actions) -> impl IntoView {
    let connect = if found.google_available {
        view! {
            <p>
                <a href="/connections/google/start" rel="external" class="button primary" data-testid="connect-google">
                    "Connect a Google account"
                </a>
            </p>
            <p class="hint">
                "Choose per calendar: busy time only (it blocks your booking slots and the planner) or two-way (events "
                "made or changed on either side appear on the other)."
            </p>
        }
        .into_any()
    } else {
        view! {
            <p class="hint" data-testid="google-unavailable">
                "Google is not set up on this server. Its administrator sets " <code>"CALENTO_GOOGLE_CLIENT_ID"</code>
                ", " <code>"CALENTO_GOOGLE_CLIENT_SECRET"</code> " and " <code>"CALENTO_SECRET_KEY"</code> "."
            </p>
        }
        .into_any()
    };
    let own = found.own_calendars.clone();
    let webhook = found.notion_webhook_token.clone();
    let questions: Vec<SyncConflictInfo> =
        found.conflicts.iter().filter(|c| c.kept == "ask" && !c.resolved).cloned().collect();
    let log: Vec<SyncConflictInfo> = found.conflicts.iter().filter(|c| c.kept != "ask").cloned().collect();
    view! {
        {connect}
        <h2>"Notion"</h2>
        {found
            .notion_sign_in
            .then(|| {
                view! {
                    <p>
                        <a href="/connections/notion/start" rel="external" class="button primary" data-testid="connect-notion-oauth">
                            "Connect a Notion workspace"
                        </a>
                    </p>
                    <p class="hint">"Or paste an internal integration's secret:"</p>
                }
            })}
        <form method="post" action="/connections/notion" class="form" data-testid="connect-notion">
            <div class="field">
                <label for="notion-token">"Internal integration secret"</label>
                <input id="notion-token" name="token" type="password" autocomplete="off" required=true />
                <p class="hint">
                    "Make an internal integration at notion.so/profile/integrations, share your task database "
                    "with it, and paste its secret here. Tasks then sync both ways; micro-steps are the page's "
                    "to-do blocks."
                </p>
            </div>
            <button type="submit">"Connect Notion"</button>
        </form>
        {webhook
            .map(|token| {
                view! {
                    <p class="hint" data-testid="notion-webhook-token">
                        "Notion's webhook verification token (paste it in the integration's Webhooks tab): "
                        <code>{token}</code>
                    </p>
                }
            })}
        {(!questions.is_empty())
            .then(|| {
                view! {
                    <h2>"Waiting for you"</h2>
                    <ul class="plain-list" data-testid="sync-questions">
                        {questions.into_iter().map(|q| view! { <Question q actions /> }).collect_view()}
                    </ul>
                }
            })}
        {if found.connections.is_empty() {
            view! { <p class="empty" data-testid="no-connections">"No account is connected."</p> }.into_any()
        } else {
            found
                .connections
                .into_iter()
                .map(|connection| view! { <Connection connection own=own.clone() actions /> })
                .collect_view()
                .into_any()
        }}
        {(!log.is_empty())
            .then(|| {
                view! {
                    <h2>"Conflicts"</h2>
                    <p class="hint">
                        "Changed on both sides between two syncs: fields changed on one side only are merged; for the "
                        "same field, the organiser's copy wins for others' events, otherwise the later change."
                    </p>
                    <ul class="plain-list" data-testid="sync-conflicts">
                        {log
                            .into_iter()
                            .map(|c| {
                                view! {
                                    <li>
                                        <strong>{c.title}</strong>
                                        " · "
                                        {c.field}
                                        " · "
                                        <span class="hint">{c.detail}</span>
                                        " "
                                        <span class="hint">{c.at.format("%Y-%m-%d %H:%M UTC").to_string()}</span>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            })}
    }
}

#[component]
fn Question(q: SyncConflictInfo, actions: Actions) -> impl IntoView {
    let (cancel_id, keep_id) = (q.id.clone(), q.id.clone());
    view! {
        <li data-testid="sync-question">
            <strong>{q.title}</strong>
            <p>{q.detail}</p>
            <div class="button-row">
                <ActionForm action=actions.answer attr:class="inline">
                    <input type="hidden" name="conflict_id" value=cancel_id />
                    <input type="hidden" name="answer" value="cancel" />
                    <button type="submit" class="danger">"Cancel the booking"</button>
                </ActionForm>
                <ActionForm action=actions.answer attr:class="inline">
                    <input type="hidden" name="conflict_id" value=keep_id />
                    <input type="hidden" name="answer" value="keep" />
                    <button type="submit">"Keep it"</button>
                </ActionForm>
            </div>
        </li>
    }
}

#[component]
fn Connection(connection: ConnectionInfo, own: Vec<(String, String)>, actions: Actions) -> impl IntoView {
    let status = if connection.status == "ok" {
        view! { <span class="badge" data-testid="connection-ok">"Connected"</span> }.into_any()
    } else {
        view! {
            <span class="badge warn" data-testid="connection-reconnect">"Reconnect needed"</span>
            " "
            <span class="field-error">{connection.status_reason.clone()}</span>
            " "
            <a href="/connections/google/start" rel="external">"Connect again"</a>
        }
        .into_any()
    };
    let label = if connection.provider == "google" { "Google" } else { "Notion" };
    let notion = connection.provider == "notion";
    let (sync_id, disconnect_id, options_id) = (connection.id.clone(), connection.id.clone(), connection.id.clone());
    let write_target = connection.write_calendar.clone().unwrap_or_default();
    let choices: Vec<(String, String)> =
        connection.calendars.iter().map(|c| (c.remote_id.clone(), c.name.clone())).collect();
    view! {
        <article class="connection" data-testid="connection" data-account=connection.account.clone()>
            <h2>{label} " · " {connection.account.clone()}</h2>
            <p>{status}</p>
            <div class="button-row">
                <ActionForm action=actions.sync attr:class="inline">
                    <input type="hidden" name="connection_id" value=sync_id />
                    <button type="submit" data-testid="sync-now">"Sync now"</button>
                </ActionForm>
            </div>
            <table class="tokens" data-testid="remote-calendars">
                <thead>
                    <tr>
                        <th scope="col">"Calendar"</th>
                        <th scope="col">"Sync"</th>
                        <th scope="col">"Last sync"</th>
                        <th scope="col">"Next sync"</th>
                        <th scope="col">"Created / updated / deleted"</th>
                    </tr>
                </thead>
                <tbody>
                    {connection
                        .calendars
                        .into_iter()
                        .map(|calendar| view! { <RemoteCalendar calendar own=own.clone() actions notion /> })
                        .collect_view()}
                </tbody>
            </table>
            <ActionForm action=actions.options attr:class="form" attr:hidden=notion>
                <input type="hidden" name="connection_id" value=options_id />
                <div class="field">
                    <label for=format!("bookings-{}", connection.id)>"New bookings go to"</label>
                    <select id=format!("bookings-{}", connection.id) name="write_calendar">
                        <option value="none" selected=write_target.is_empty()>"Nowhere in this account"</option>
                        {choices
                            .into_iter()
                            .map(|(id, name)| {
                                let selected = id == write_target;
                                view! { <option value=id selected=selected>{name}</option> }
                            })
                            .collect_view()}
                    </select>
                </div>
                <label class="check">
                    <input type="checkbox" name="send_updates" value="on" checked=connection.send_updates />
                    " Let Google email the guests of events Calento writes"
                </label>
                <button type="submit">"Save"</button>
            </ActionForm>
            <ActionForm action=actions.disconnect attr:class="form">
                <input type="hidden" name="connection_id" value=disconnect_id />
                <label class="check">
                    <input type="checkbox" name="remove_events" value="on" />
                    " Also remove the calendars and events it brought"
                </label>
                <button type="submit" class="danger" data-testid="disconnect">"Disconnect"</button>
            </ActionForm>
        </article>
    }
}

#[component]
fn RemoteCalendar(
    calendar: RemoteCalendarInfo,
    own: Vec<(String, String)>,
    actions: Actions,
    notion: bool,
) -> impl IntoView {
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "—".to_owned())
    };
    let mode = calendar.mode.clone();
    let paired = calendar.calendar_id.clone().unwrap_or_default();
    let select_id = format!("mode-{}", calendar.id);
    let pair_id = format!("pair-{}", calendar.id);
    view! {
        <tr data-testid="remote-calendar" data-remote=calendar.remote_id.clone() data-mode=calendar.mode.clone()>
            <td>
                {calendar.name.clone()}
                {calendar.primary.then_some(" (primary)")}
                {calendar.error.clone().map(|e| view! { <p class="field-error" data-testid="sync-error">{e}</p> })}
                {(notion && calendar.mode != "off").then(|| view! { <Mapping calendar=calendar.clone() actions /> })}
            </td>
            <td>
                <ActionForm action=actions.mode attr:class="inline">
                    <input type="hidden" name="remote_calendar_id" value=calendar.id.clone() />
                    <label class="visually-hidden" for=select_id.clone()>"How it syncs"</label>
                    <select id=select_id name="mode">
                        <option value="off" selected=mode == "off">"Not synced"</option>
                        {(!notion).then(|| view! { <option value="busy" selected=mode == "busy">"Busy time only"</option> })}
                        <option value="two_way" selected=mode == "two_way">"Two-way"</option>
                    </select>
                    <label class="visually-hidden" for=pair_id.clone()>"With the Calento calendar"</label>
                    <select id=pair_id name="calendar_id" hidden=notion>
                        <option value="new">"with a new calendar"</option>
                        {own
                            .into_iter()
                            .map(|(id, name)| {
                                let selected = id == paired;
                                view! { <option value=id selected=selected>"with " {name}</option> }
                            })
                            .collect_view()}
                    </select>
                    <button type="submit">"Apply"</button>
                </ActionForm>
            </td>
            <td>{when(calendar.last_sync)}</td>
            <td>{when(calendar.next_sync)}</td>
            <td data-testid="sync-counts">
                {format!("{} / {} / {}", calendar.created, calendar.updated, calendar.deleted)}
            </td>
        </tr>
    }
}

/// A Notion database's property mapping: guessed at the first sync, editable here.
#[component]
fn Mapping(calendar: RemoteCalendarInfo, actions: Actions) -> impl IntoView {
    let mapping = calendar.mapping.clone().unwrap_or_default();
    let fields: [(&'static str, &'static str); 10] = [
        ("title", "Title"),
        ("status", "Done (status, checkbox or select)"),
        ("done_value", "Option meaning done"),
        ("open_value", "Option when reopened"),
        ("do_date", "Do date"),
        ("due", "Due date"),
        ("priority", "Priority (select)"),
        ("tags", "Tags (multi-select)"),
        ("estimate", "Estimate in minutes (number)"),
        ("parent", "Parent item (steps as sub-items; empty: to-do blocks)"),
    ];
    view! {
        <details data-testid="notion-mapping">
            <summary>"Which property holds what"</summary>
            <ActionForm action=actions.mapping attr:class="form">
                <input type="hidden" name="remote_calendar_id" value=calendar.id.clone() />
                {fields
                    .into_iter()
                    .map(|(name, label)| {
                        let id = format!("map-{}-{name}", calendar.id);
                        let value = mapping.get(name).cloned().unwrap_or_default();
                        view! {
                            <div class="field">
                                <label for=id.clone()>{label}</label>
                                <input id=id name=name value=value />
                            </div>
                        }
                    })
                    .collect_view()}
                <button type="submit">"Save mapping"</button>
            </ActionForm>
        </details>
    }
}
