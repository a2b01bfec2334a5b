//! Focus: the Pomodoro timer. The session lives on the server, so a reload or another device
//! shows the same running timer; the hydrated page counts down each second, notifies when
//! time is up, and takes a distraction note with one key (d).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{FormError, RequireUser, form_error};
use crate::models::{FocusKind, FocusSessionInfo, FocusState, NowSuggestion, energy_word};
use crate::server::tasks::{ChangeFocus, LogEnergy, NoteDistraction, StartFocus, load_focus, what_now};

#[derive(Clone, Copy)]
struct FocusActions {
    start: ServerAction<StartFocus>,
    change: ServerAction<ChangeFocus>,
    note: ServerAction<NoteDistraction>,
    energy: ServerAction<LogEnergy>,
}

#[component]
pub fn FocusPage() -> impl IntoView {
    let actions = FocusActions {
        start: ServerAction::new(),
        change: ServerAction::new(),
        note: ServerAction::new(),
        energy: ServerAction::new(),
    };
    provide_context(actions);
    // Bumped by the countdown when time runs out, so the page asks the server again.
    let expired = RwSignal::new(0u32);
    // A session started, paused or ended in another tab or on another device shows here too.
    let live = crate::live::Live::here();
    let overview = Resource::new(
        move || {
            (
                actions.start.version().get(),
                actions.change.version().get(),
                actions.note.version().get(),
                expired.get(),
                live.tasks.get(),
            )
        },
        |_| load_focus(),
    );
    let suggestion = Resource::new(
        move || {
            (
                actions.energy.version().get(),
                actions.change.version().get(),
                actions.start.version().get(),
                live.tasks.get(),
            )
        },
        |_| what_now(),
    );
    let start_error = form_error(move || actions.start.value().get());
    // `?task=ID` (a task's "Focus on this") chooses the task to work on.
    let query = leptos_router::hooks::use_query_map();
    let chosen_task = Memo::new(move |_| query.read().get("task"));
    let change_error = form_error(move || actions.change.value().get());
    view! {
        <Title text="Focus" />
        // Resources are made above, outside the sign-in guard's Suspense (stable hydration).
        <RequireUser>
            <section class="card focus-page">
                <h1>"Focus"</h1>
                <FormError error=start_error />
                <FormError error=change_error />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match overview.await {
                            Ok(data) => {
                                let current = data.current.clone();
                                view! {
                                    {match current {
                                        Some(session) => view! { <RunningSession session expired sound=data.sound /> }.into_any(),
                                        None => view! { <StartForm tasks=data.open_tasks.clone() next=data.next_kind chosen=chosen_task.get() /> }.into_any(),
                                    }}
                                    <p class="hint" data-testid="focus-today">
                                        {format!("Focused today: {} min", data.focus_minutes_today)}
                                        {format!(" · focus {} min, short break {} min, long break {} min every {} focus periods",
                                            data.settings.focus_minutes, data.settings.short_break_minutes,
                                            data.settings.long_break_minutes, data.settings.cycles)}
                                    </p>
                                    {(!data.recent.is_empty()).then(|| view! {
                                        <h2>"Today"</h2>
                                        <ul class="focus-history" data-testid="focus-history">
                                            {data.recent.into_iter().map(|s| view! {
                                                <li data-state=state_name(s.state)>
                                                    {format!("{} · {} min · {}", s.kind.label(), s.elapsed_seconds / 60, state_name(s.state))}
                                                    {s.task_title.map(|t| format!(" · {t}"))}
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                    })}
                                }.into_any()
                            }
                            Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
                <EnergyCheck />
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        // A suggestion starts a session when none is running.
                        let idle = overview.await.is_ok_and(|d| d.current.is_none());
                        suggestion.await.ok().map(|now| view! { <WhatNow now can_start=idle /> })
                    })}
                </Transition>
                <p><a href="/stats" data-testid="stats-link">"Statistics"</a></p>
            </section>
        </RequireUser>
    }
    .into_any()
}

fn state_name(state: FocusState) -> &'static str {
    match state {
        FocusState::Running => "running",
        FocusState::Paused => "paused",
        FocusState::Completed => "completed",
        FocusState::Abandoned => "abandoned",
    }
}

fn clock(seconds: i64) -> String {
    let seconds = seconds.max(0);
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}

#[component]
fn StartForm(tasks: Vec<(String, String)>, next: FocusKind, chosen: Option<String>) -> impl IntoView {
    let actions = expect_context::<FocusActions>();
    view! {
        <ActionForm action=actions.start attr:class="form start-focus">
            <div class="field-row">
                <div class="field">
                    <label for="focus-kind">"Session"</label>
                    <select id="focus-kind" name="kind" data-testid="focus-kind">
                        {[FocusKind::Focus, FocusKind::ShortBreak, FocusKind::LongBreak].into_iter().map(|k| view! {
                            <option value=k.as_str() selected=if chosen.is_some() { k == FocusKind::Focus } else { k == next }>{k.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="focus-task">"Working on (optional)"</label>
                    <select id="focus-task" name="task_id" data-testid="focus-task">
                        <option value="">"—"</option>
                        {tasks.into_iter().map(|(id, title)| {
                            let selected = chosen.as_deref() == Some(id.as_str());
                            view! { <option value=id selected=selected>{title}</option> }
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <div class="dialog-actions">
                <button type="submit" class="primary" data-testid="focus-start">"Start"</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn RunningSession(session: FocusSessionInfo, expired: RwSignal<u32>, sound: bool) -> impl IntoView {
    let actions = expect_context::<FocusActions>();
    let running = session.state == FocusState::Running;
    let remaining = RwSignal::new(session.remaining_seconds);
    // Count down in the browser from what the server said; the server stays the truth.
    if running {
        Effect::new(move |_| {
            let started = js_sys_now();
            let initial = remaining.get_untracked();
            let notified = StoredValue::new(false);
            let handle = set_interval_with_handle(
                move || {
                    let left = initial - ((js_sys_now() - started) / 1000.0) as i64;
                    remaining.set(left.max(0));
                    if left <= 0 && !notified.get_value() {
                        notified.set_value(true);
                        notify("Time is up", "Take a breath: your session is done.");
                        if sound {
                            chime();
                        }
                        expired.update(|n| *n += 1);
                    }
                },
                std::time::Duration::from_secs(1),
            );
            if let Ok(handle) = handle {
                on_cleanup(move || handle.clear());
            }
        });
    }
    let id = session.id.clone();
    let button = move |action: &'static str, label: &'static str, primary: bool| {
        let id = id.clone();
        view! {
            <ActionForm action=actions.change attr:class="inline-form">
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="action" value=action />
                <button type="submit" class:primary=primary data-testid=format!("focus-{action}")>{label}</button>
            </ActionForm>
        }
    };
    let distractions = session.distractions.clone();
    // The tab's title counts down too, so the time left shows from any other tab.
    let title = move || format!("{} {} Focus", clock(remaining.get()), if running { "▶" } else { "⏸" });
    view! {
        <Title text=title />
        <div class="focus-session" data-testid="focus-session" data-state=state_name(session.state) data-kind=session.kind.as_str()>
            <p class="focus-kind">
                {session.kind.label()}
                {session.task_title.clone().map(|t| format!(" · {t}"))}
            </p>
            <p class="focus-timer" data-testid="focus-timer" role="timer" aria-live="off">{move || clock(remaining.get())}</p>
            <p class="hint">{if running { "Running" } else { "Paused" }}</p>
            <div class="focus-buttons">
                {if running { button("pause", "Pause", true) } else { button("resume", "Resume", true) }}
                {button("complete", "Done", false)}
                {button("abandon", "Stop", false)}
            </div>
            <DistractionForm />
            {(!distractions.is_empty()).then(|| view! {
                <ul class="distractions" data-testid="distractions">
                    {distractions.into_iter().map(|d| view! { <li>{d.note}</li> }).collect_view()}
                </ul>
            })}
        </div>
    }
    .into_any()
}

/// "What pulled me away": press d, type, Enter, and you are back.
#[component]
fn DistractionForm() -> impl IntoView {
    let actions = expect_context::<FocusActions>();
    let error = form_error(move || actions.note.value().get());
    let input = NodeRef::<leptos::html::Input>::new();
    let text = RwSignal::new(String::new());
    Effect::new(move |_| {
        if matches!(actions.note.value().get(), Some(Ok(_))) {
            text.set(String::new());
            if let Some(el) = input.get_untracked() {
                let _ = el.blur();
            }
        }
    });
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            use leptos::wasm_bindgen::JsCast;
            let typing = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            if ev.key() == "d" && !typing && !ev.ctrl_key() && !ev.meta_key() && !ev.alt_key() {
                if let Some(el) = input.get_untracked() {
                    let _ = el.focus();
                }
                ev.prevent_default();
            }
        });
        on_cleanup(move || handle.remove());
    });
    view! {
        <ActionForm action=actions.note attr:class="inline-form distraction-form">
            <label for="distraction">"Distracted? Note it (" <kbd>"d"</kbd> ") and go back"</label>
            <input
                id="distraction"
                name="note"
                node_ref=input
                data-testid="distraction-note"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                autocomplete="off"
            />
            <button type="submit" data-testid="distraction-save">"Note"</button>
            <p class="field-error">{move || error.get().and_then(|e| e.field_message("note"))}</p>
        </ActionForm>
    }
}

#[component]
fn EnergyCheck() -> impl IntoView {
    let actions = expect_context::<FocusActions>();
    let logged = move || match actions.energy.value().get() {
        Some(Ok(e)) => Some(format!("Energy {} ({}) noted.", e.level, energy_word(e.level).to_lowercase())),
        _ => None,
    };
    view! {
        <section class="energy" aria-label="Energy">
            <h2>"How is your energy?"</h2>
            <ActionForm action=actions.energy attr:class="inline-form energy-form">
                <input type="hidden" name="check_in" value="" />
                {(1..=5u8).map(|level| view! {
                    <button type="submit" name="level" value=level.to_string() data-testid=format!("energy-{level}")
                        aria-label=format!("Energy {level} of 5: {}", energy_word(level))>
                        <span class="energy-level">{level}</span>
                        " "
                        <span class="energy-word">{energy_word(level)}</span>
                    </button>
                }).collect_view()}
            </ActionForm>
            <p class="saved" role="status">{logged}</p>
        </section>
    }
}

/// Milliseconds from the browser's monotonic clock (0 on the server, which never ticks).
fn js_sys_now() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        window().performance().map(|p| p.now()).unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// A browser notification when allowed (asked for on the first start), else nothing.
fn notify(title: &str, body: &str) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::web_sys::{Notification, NotificationOptions, NotificationPermission};
        if Notification::permission() == NotificationPermission::Granted {
            let options = NotificationOptions::new();
            options.set_body(body);
            let _ = Notification::new_with_options(title, &options);
        } else if Notification::permission() == NotificationPermission::Default {
            let _ = Notification::request_permission();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (title, body);
    }
}

/// Tasks that fit the energy just logged and the time before the next event.
#[component]
fn WhatNow(now: NowSuggestion, can_start: bool) -> impl IntoView {
    let actions = expect_context::<FocusActions>();
    let gap = match now.free_minutes {
        Some(0) => "You are in a busy block right now.".to_owned(),
        Some(minutes) => format!("{minutes} free minutes before your next event."),
        None => "Nothing on your calendar for the next 12 hours.".to_owned(),
    };
    let energy = now.energy.map_or("Log your energy to narrow this down.".to_owned(), |e| {
        format!("Energy {e} of 5 ({}).", energy_word(e).to_lowercase())
    });
    view! {
        <section class="what-now" aria-label="What can I do now" data-testid="what-now">
            <h2>"What can I do now?"</h2>
            <p class="hint">{format!("{energy} {gap}")}</p>
            {if now.tasks.is_empty() {
                view! { <p class="empty">"Nothing open fits right now: a short break counts too."</p> }.into_any()
            } else {
                view! {
                    <ul>
                        {now.tasks.into_iter().map(|t| view! {
                            <li data-testid="now-task">
                                <span>
                                    {t.title.clone()}
                                    {t.estimate_minutes.map(|m| format!(" · ~{m} min"))}
                                </span>
                                {can_start.then(|| view! {
                                    <ActionForm action=actions.start attr:class="inline-form">
                                        <input type="hidden" name="task_id" value=t.id.clone() />
                                        <input type="hidden" name="kind" value="focus" />
                                        <button type="submit" aria-label=format!("Focus on {}", t.title) data-testid="now-start">"Focus"</button>
                                    </ActionForm>
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

/// Two soft tones (Web Audio), when the browser allows sound.
fn chime() {
    #[cfg(feature = "hydrate")]
    {
        use leptos::web_sys::AudioContext;
        let Ok(context) = AudioContext::new() else { return };
        let now = context.current_time();
        for (i, frequency) in [660.0f32, 880.0].into_iter().enumerate() {
            let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain()) else { return };
            oscillator.frequency().set_value(frequency);
            let start = now + i as f64 * 0.25;
            let _ = gain.gain().set_value_at_time(0.15, start);
            let _ = gain.gain().linear_ramp_to_value_at_time(0.0, start + 0.4);
            let _ = oscillator.connect_with_audio_node(&gain);
            let _ = gain.connect_with_audio_node(&context.destination());
            let _ = oscillator.start_with_when(start);
            let _ = oscillator.stop_with_when(start + 0.45);
        }
    }
}
