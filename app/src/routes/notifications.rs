//! Settings → Notifications: which kinds reach you by email and by push, quiet hours, the
//! daily agenda and weekly review, this browser's push subscription and the other devices,
//! and a test button per channel.
//!
//! Subscribing a browser to push is done by `/notify.js` (loaded by this page only: the
//! service worker and push code never reach other pages' bundles). It registers
//! `/sw.js`, subscribes with the server's VAPID key and hands the subscription to
//! `subscribe_push`.

use calento::notify::{Channel, NotifyKind, clock_text};
use leptos::prelude::*;
use leptos_meta::{Script, Title};

use crate::components::{FormError, RequireUser, SettingsNav, form_error};
use crate::models::NotificationSettings;
use crate::server::notify::{SaveNotificationSettings, TestNotification, UnsubscribePush, load_notifications};

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let save = ServerAction::<SaveNotificationSettings>::new();
    let forget = ServerAction::<UnsubscribePush>::new();
    let test = ServerAction::<TestNotification>::new();
    let settings = Resource::new(move || (save.version().get(), forget.version().get()), |_| load_notifications());
    let error = form_error(move || save.value().get());
    let saved = move || matches!(save.value().get(), Some(Ok(()))).then_some("Saved.");
    let tested = move || match test.value().get() {
        Some(Ok(0)) => "Nothing to send to.".to_owned(),
        Some(Ok(n)) => format!("Sent ({n}). It should arrive within a minute."),
        Some(Err(e)) => e.field_message("channel").unwrap_or_else(|| e.to_string()),
        None => String::new(),
    };
    view! {
        <Title text="Notifications" />
        <Script src="/notify.js" defer="defer" />
        <RequireUser>
            <section class="card">
                <h1>"Notifications"</h1>
                <SettingsNav />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        settings
                            .await
                            .map(|found| {
                                view! {
                                    <Devices found=found.clone() forget />
                                    <Preferences found save error />
                                }
                            })
                    })}
                </Transition>
                <p class="saved" role="status" data-testid="settings-saved">{saved}</p>
                <h2>"Test"</h2>
                <div class="button-row">
                    <ActionForm action=test>
                        <input type="hidden" name="channel" value="email" />
                        <button type="submit" data-testid="test-email">"Send a test email"</button>
                    </ActionForm>
                    <ActionForm action=test>
                        <input type="hidden" name="channel" value="push" />
                        <button type="submit" data-testid="test-push">"Send a test push"</button>
                    </ActionForm>
                </div>
                <p role="status" data-testid="test-result">{tested}</p>
            </section>
        </RequireUser>
    }
    .into_any()
}

/// This browser's subscription and the account's devices.
#[component]
fn Devices(found: NotificationSettings, forget: ServerAction<UnsubscribePush>) -> impl IntoView {
    let key = found.vapid_public_key.clone();
    let hashes: Vec<String> = found.devices.iter().map(|d| d.endpoint_hash.clone()).collect();
    view! {
        <h2>"Push on this device"</h2>
        <div
            class="push-panel"
            data-testid="push-panel"
            data-vapid-key=key
            data-known=hashes.join(" ")
        >
            <p class="hint" data-push-status>
                "Push notifications reach this device even when Calento is closed."
            </p>
            <div class="button-row">
                <button type="button" class="primary" data-push="on" data-testid="push-on" hidden>
                    "Turn on push for this browser"
                </button>
                <button type="button" data-push="off" data-testid="push-off" hidden>
                    "Turn off push for this browser"
                </button>
            </div>
        </div>
        <h2>"Devices"</h2>
        {if found.devices.is_empty() {
            view! { <p class="empty" data-testid="no-devices">"No device receives push yet."</p> }.into_any()
        } else {
            view! {
                <ul class="plain-list" data-testid="devices">
                    {found
                        .devices
                        .into_iter()
                        .map(|device| {
                            let id = device.id.clone();
                            view! {
                                <li data-device=device.endpoint_hash.clone()>
                                    <strong>{device.label.clone()}</strong>
                                    " · "
                                    <span class="hint">{device.service.clone()}</span>
                                    {device
                                        .last_error
                                        .clone()
                                        .map(|e| view! { <span class="field-error">" · " {e}</span> })}
                                    <ActionForm action=forget attr:class="inline">
                                        <input type="hidden" name="device" value=id />
                                        <button type="submit" class="link">"Remove"</button>
                                    </ActionForm>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
                .into_any()
        }}
    }
}

#[component]
fn Preferences(
    found: NotificationSettings,
    save: ServerAction<SaveNotificationSettings>,
    error: Signal<Option<crate::AppError>>,
) -> impl IntoView {
    let prefs = found.preferences;
    let message = move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    let rows = NotifyKind::ALL
        .into_iter()
        .map(|kind| {
            let choice = prefs.choice(kind);
            let cell = move |channel: Channel| {
                let name = format!("{}_{}", kind.as_str(), channel.as_str());
                let label = format!("{} by {}", kind.label(), channel.as_str());
                if kind.offers(channel) {
                    view! {
                        <td>
                            <input type="checkbox" name=name value="true" aria-label=label checked=choice.wants(channel) />
                        </td>
                    }
                    .into_any()
                } else {
                    view! { <td class="hint">"—"</td> }.into_any()
                }
            };
            let urgent = format!("{}_urgent", kind.as_str());
            let urgent_label = format!("{}: urgent", kind.label());
            view! {
                <tr>
                    <th scope="row">{kind.label()}</th>
                    {cell(Channel::Email)}
                    {cell(Channel::Push)}
                    <td>
                        <input type="checkbox" name=urgent value="true" aria-label=urgent_label checked=choice.urgent />
                    </td>
                </tr>
            }
        })
        .collect_view();
    let time = |minute: Option<u16>| minute.map(clock_text).unwrap_or_default();
    let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    view! {
        <ActionForm action=save attr:class="form">
            <FormError error />
            <fieldset>
                <legend>"What reaches you, and how"</legend>
                <table class="choices">
                    <thead>
                        <tr>
                            <th scope="col">"Notification"</th>
                            <th scope="col">"Email"</th>
                            <th scope="col">"Push"</th>
                            <th scope="col">"Urgent"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                <p class="hint">"Urgent ones come through quiet hours too."</p>
            </fieldset>
            <fieldset>
                <legend>"Quiet hours"</legend>
                <div class="field-row">
                    <div class="field">
                        <label for="quiet_start">"From"</label>
                        <input id="quiet_start" name="quiet_start" size="8" placeholder="22:00" value=time(prefs.quiet_start) />
                    </div>
                    <div class="field">
                        <label for="quiet_end">"to"</label>
                        <input id="quiet_end" name="quiet_end" size="8" placeholder="07:00" value=time(prefs.quiet_end) />
                        <p class="field-error">{message("quiet_end")}</p>
                    </div>
                </div>
                <p class="hint">
                    "Inside them nothing is sent; the daily agenda and weekly review wait until they end."
                </p>
            </fieldset>
            <fieldset>
                <legend>"Reminders"</legend>
                <div class="field">
                    <label for="all_day_at">"All-day events remind at"</label>
                    <input id="all_day_at" name="all_day_at" size="8" value=clock_text(prefs.all_day_at) />
                    <p class="field-error">{message("all_day_at")}</p>
                </div>
            </fieldset>
            <fieldset>
                <legend>"Daily agenda and weekly review"</legend>
                <div class="field-row">
                    <div class="field">
                        <label for="agenda_at">"Daily agenda at"</label>
                        <input id="agenda_at" name="agenda_at" size="8" placeholder="off" value=time(prefs.agenda_at) />
                        <p class="field-error">{message("agenda_at")}</p>
                    </div>
                    <label class="check">
                        <input type="checkbox" name="agenda_when_empty" value="true" checked=prefs.agenda_when_empty />
                        "Also on days with nothing planned"
                    </label>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for="review_day">"Weekly review on"</label>
                        <select id="review_day" name="review_day">
                            <option value="" selected=prefs.review_day.is_none()>"Never"</option>
                            {days
                                .iter()
                                .enumerate()
                                .map(|(i, day)| {
                                    let selected = prefs.review_day == Some(i as u8);
                                    view! { <option value=i.to_string() selected=selected>{*day}</option> }
                                })
                                .collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="review_at">"at"</label>
                        <input id="review_at" name="review_at" size="8" value=clock_text(prefs.review_at) />
                        <p class="field-error">{message("review_at")}</p>
                    </div>
                </div>
            </fieldset>
            <div class="dialog-actions">
                <button type="submit" class="primary" data-testid="save-notifications">"Save"</button>
            </div>
        </ActionForm>
    }
}
