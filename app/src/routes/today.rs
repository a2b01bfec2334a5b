//! Today: the morning ritual (today's calendar, an intention, up to three top tasks placed on
//! the calendar) and the evening shutdown (unfinished tasks move to tomorrow).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{FormError, RequireUser, form_error};
use crate::models::{DailyPlanInfo, energy_word};
use crate::server::tasks::{LogEnergy, SaveDailyPlan, ShutDownDay, load_daily_plan};

#[component]
pub fn TodayPage() -> impl IntoView {
    let save = ServerAction::<SaveDailyPlan>::new();
    let shutdown = ServerAction::<ShutDownDay>::new();
    let live = crate::live::Live::here();
    let plan = Resource::new(
        move || (save.version().get(), shutdown.version().get(), live.calendar.get(), live.tasks.get()),
        |_| load_daily_plan(),
    );
    view! {
        <Title text="Today" />
        <RequireUser>
            <section class="card today-page">
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match plan.await {
                            Ok(plan) => view! { <Ritual plan save shutdown /> }.into_any(),
                            Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
    .into_any()
}

#[component]
fn Ritual(
    plan: DailyPlanInfo,
    save: ServerAction<SaveDailyPlan>,
    shutdown: ServerAction<ShutDownDay>,
) -> impl IntoView {
    let error = form_error(move || save.value().get());
    let placed = move || match save.value().get() {
        Some(Ok(Some(result))) => Some(result),
        _ => None,
    };
    let shut = move || match shutdown.value().get() {
        Some(Ok(report)) => Some(format!(
            "Good work today: {} done. {} unfinished task{} moved to tomorrow.",
            report.done_today,
            report.moved,
            if report.moved == 1 { "" } else { "s" }
        )),
        _ => None,
    };
    let chosen: Vec<String> = plan.top.iter().map(|t| t.id.clone()).collect();
    view! {
        <h1>{format!("Today · {}", plan.date)}</h1>
        <h2>"Your calendar"</h2>
        {if plan.events.is_empty() {
            view! { <p class="empty">"Nothing on the calendar today."</p> }.into_any()
        } else {
            view! {
                <ul class="day-events" data-testid="today-events">
                    {plan.events.into_iter().map(|e| view! { <li><span class="hint">{e.time}</span> " " {e.title}</li> }).collect_view()}
                </ul>
            }.into_any()
        }}
        {(!plan.top.is_empty()).then(|| view! {
            <h2>"Top tasks"</h2>
            <ol class="top-tasks" data-testid="top-tasks">
                {plan.top.iter().map(|t| view! { <li class:done=t.is_done()>{t.title.clone()}</li> }).collect_view()}
            </ol>
        })}
        <MorningCheckIn />
        <h2>{if plan.planned { "Change the plan" } else { "Plan the day" }}</h2>
        <ActionForm action=save attr:class="form">
            <FormError error />
            <div class="field">
                <label for="intention">"Today's intention"</label>
                <input id="intention" name="intention" value=plan.intention.clone() placeholder="Go gently, finish the report" data-testid="intention" />
            </div>
            <fieldset>
                <legend>"Pick up to three tasks"</legend>
                <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field_message("task_ids"))}</p>
                {if plan.candidates.is_empty() {
                    view! { <p class="empty">"No open tasks. Capture some on the Tasks page."</p> }.into_any()
                } else {
                    plan.candidates.into_iter().map(|t| {
                        let checked = chosen.contains(&t.id);
                        let meta = t.estimate_minutes.map(|m| format!(" · ~{m} min")).unwrap_or_default();
                        view! {
                            <label class="check" data-testid="candidate">
                                <input type="checkbox" name="task_ids[]" value=t.id.clone() checked=checked />
                                {t.title.clone()} <span class="hint">{meta}</span>
                            </label>
                        }
                    }).collect_view().into_any()
                }}
            </fieldset>
            <div class="dialog-actions">
                <button type="submit" name="place" value="">"Save plan"</button>
                <button type="submit" name="place" value="true" class="primary" data-testid="place-today">"Save and place on my calendar"</button>
            </div>
        </ActionForm>
        {move || placed().map(|result| view! {
            <div class="notice" role="status" data-testid="today-placed">
                <p>{format!("{} block{} placed today.", result.placements.len(), if result.placements.len() == 1 { "" } else { "s" })}</p>
                <ul>
                    {result.placements.into_iter().map(|p| view! { <li>{p.title} " " <span class="hint">{p.reason}</span></li> }).collect_view()}
                    {result.unplaced.into_iter().map(|u| view! { <li>{u.title} " " <span class="hint">{u.reason}</span></li> }).collect_view()}
                </ul>
            </div>
        })}
        <h2>"Evening shutdown"</h2>
        {(!plan.done_today.is_empty()).then(|| view! {
            <p data-testid="done-today">{format!("Done today: {}", plan.done_today.join(", "))}</p>
        })}
        {if plan.shutdown {
            view! { <p class="hint">"Today is shut down. Rest well."</p> }.into_any()
        } else {
            view! {
                <ActionForm action=shutdown attr:class="inline-form">
                    <button type="submit" data-testid="shutdown">"Shut down for today"</button>
                </ActionForm>
            }.into_any()
        }}
        <p class="saved" role="status" data-testid="shutdown-report">{shut}</p>
    }
    .into_any()
}

/// The morning check-in: energy 1–5, saved as a check-in.
#[component]
fn MorningCheckIn() -> impl IntoView {
    let log = ServerAction::<LogEnergy>::new();
    let noted = move || match log.value().get() {
        Some(Ok(e)) => {
            Some(format!("Energy {} ({}) noted for this morning.", e.level, energy_word(e.level).to_lowercase()))
        }
        _ => None,
    };
    view! {
        <h2>"How is your energy this morning?"</h2>
        <ActionForm action=log attr:class="inline-form energy-form">
            <input type="hidden" name="check_in" value="true" />
            {(1..=5u8).map(|level| view! {
                <button type="submit" name="level" value=level.to_string() data-testid=format!("check-in-{level}")
                    aria-label=format!("Energy {level} of 5: {}", energy_word(level))>
                    <span class="energy-level">{level}</span>
                    " "
                    <span class="energy-word">{energy_word(level)}</span>
                </button>
            }).collect_view()}
        </ActionForm>
        <p class="saved" role="status">{noted}</p>
    }
}
