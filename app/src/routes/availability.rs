//! Availability: the host's schedules, each a weekly grid of hours in its own zone plus
//! dates with other hours. Plain forms first; once live, ranges are added and removed in
//! place and Monday can be copied to the other weekdays.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::host::{
    BlankRange, FieldMessage, RangeInputs, RangeRow, SchedulingNav, action_error, clock_text, plain_form_error,
    use_live,
};
use crate::AppError;
use crate::components::{FormError, RequireUser, TimeZoneOptions, use_user};
use crate::models::ScheduleInfo;
use crate::server::scheduling::{
    AddOverride, CreateSchedule, DeleteSchedule, RemoveOverride, SaveSchedule, SetDefaultSchedule, list_schedules,
};

const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

#[derive(Clone, Copy)]
struct ScheduleActions {
    create: ServerAction<CreateSchedule>,
    save: ServerAction<SaveSchedule>,
    add_override: ServerAction<AddOverride>,
    remove_override: ServerAction<RemoveOverride>,
    set_default: ServerAction<SetDefaultSchedule>,
    delete: ServerAction<DeleteSchedule>,
}

#[component]
pub fn AvailabilityPage() -> impl IntoView {
    let actions = ScheduleActions {
        create: ServerAction::new(),
        save: ServerAction::new(),
        add_override: ServerAction::new(),
        remove_override: ServerAction::new(),
        set_default: ServerAction::new(),
        delete: ServerAction::new(),
    };
    provide_context(actions);
    let schedules = Resource::new(
        move || {
            (
                actions.create.version().get(),
                actions.save.version().get(),
                actions.add_override.version().get(),
                actions.remove_override.version().get(),
                actions.set_default.version().get(),
                actions.delete.version().get(),
            )
        },
        |_| list_schedules(),
    );
    let query = use_query_map();
    let selected = Memo::new(move |_| query.read().get("schedule"));
    // A new schedule opens in the editor.
    Effect::new(move |_| {
        if let Some(Ok(info)) = actions.create.value().get() {
            use_navigate()(&format!("/availability?schedule={}", info.id), Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = actions.delete.value().get() {
            use_navigate()("/availability", Default::default());
        }
    });
    let page_error = plain_form_error();
    let other_error = Signal::derive(move || {
        action_error(move || actions.delete.value().get())
            .get()
            .or_else(|| action_error(move || actions.set_default.value().get()).get())
            .or_else(|| action_error(move || actions.remove_override.value().get()).get())
    });
    view! {
        <Title text="Availability" />
        <RequireUser>
            <section class="card availability" data-testid="availability">
                <h1>"Availability"</h1>
                <SchedulingNav />
                <p class="hint">
                    "The hours people can book you, in a time zone of your choice. Each booking link uses one schedule; the default one unless you choose another."
                </p>
                <FormError error=page_error />
                <FormError error=other_error />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let selected_now = selected.get();
                        match schedules.await {
                            Ok(list) => view! { <Schedules list selected=selected_now.clone() /> }.into_any(),
                            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
                <NewSchedule />
                <TimeZoneOptions />
            </section>
        </RequireUser>
    }
}

#[component]
fn Schedules(list: Vec<ScheduleInfo>, selected: Option<String>) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p class="empty" data-testid="no-schedules">
                "No schedule yet. Your first booking link gets one (Monday to Friday, 09:00–17:00), or make one below."
            </p>
        }
        .into_any();
    }
    let current = selected.and_then(|id| list.iter().find(|s| s.id == id).cloned()).unwrap_or_else(|| list[0].clone());
    let tabs = list
        .iter()
        .map(|s| {
            let href = format!("/availability?schedule={}", s.id);
            let here = s.id == current.id;
            view! {
                <li>
                    <a href=href aria-current=here.then_some("page") data-testid="schedule-tab">
                        {s.name.clone()}
                    </a>
                    {s.is_default.then(|| view! { " " <span class="badge">"default"</span> })}
                </li>
            }
        })
        .collect_view();
    view! {
        <ul class="schedule-tabs" data-testid="schedules">
            {tabs}
        </ul>
        <ScheduleEditor schedule=current />
    }
    .into_any()
}

#[component]
fn ScheduleEditor(schedule: ScheduleInfo) -> AnyView {
    let actions = expect_context::<ScheduleActions>();
    let live = use_live();
    let page_error = plain_form_error();
    let save_error = action_error(move || actions.save.value().get());
    let errors = vec![save_error, page_error];
    let back = format!("/availability?schedule={}", schedule.id);
    let clock = use_user().clock;
    let days: Vec<DayState> = (1..=7u8)
        .map(|day| {
            let rows: Vec<RangeRow> = schedule
                .rules
                .iter()
                .filter(|r| r.weekday == day)
                .map(|r| RangeRow::new(&r.start, &r.end, clock))
                .collect();
            DayState { day, on: RwSignal::new(!rows.is_empty()), rows: RwSignal::new(rows) }
        })
        .collect();
    let days = StoredValue::new(days);
    let copy_monday = move |_| {
        days.with_value(|days| {
            let monday = days[0];
            let on = monday.on.get_untracked();
            let rows = monday.rows.get_untracked();
            for day in &days[1..5] {
                day.on.set(on);
                day.rows.set(
                    rows.iter()
                        .map(|r| RangeRow::new(&r.start.get_untracked(), &r.end.get_untracked(), clock))
                        .collect(),
                );
            }
        })
    };
    let heading = schedule.name.clone();
    let id = schedule.id.clone();
    let (default_id, delete_id) = (id.clone(), id.clone());
    let is_default = schedule.is_default;
    let (name, zone) = (schedule.name.clone(), schedule.timezone.clone());
    let back_default = back.clone();
    view! {
        <article class="schedule" data-testid="schedule-editor">
            <h2>{heading}</h2>
            <ActionForm action=actions.save attr:class="form" attr:novalidate=true attr:data-testid="schedule-form">
                <FormError error=save_error />
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="back" value=back />
                <div class="field-row">
                    <div class="field">
                        <label for="schedule-name">"Name"</label>
                        <input id="schedule-name" name="name" value=name required=true />
                        <FieldMessage errors=errors.clone() name="name" />
                    </div>
                    <div class="field">
                        <label for="schedule-zone">"Time zone"</label>
                        <input id="schedule-zone" name="timezone" list="time-zones" value=zone />
                        <FieldMessage errors=errors.clone() name="timezone" />
                    </div>
                </div>
                <fieldset class="weekly" data-testid="weekly-grid">
                    <legend>"Weekly hours"</legend>
                    {days
                        .get_value()
                        .into_iter()
                        .map(|day| view! { <DayRow day live errors=errors.clone() /> })
                        .collect_view()}
                    {move || {
                        live.get()
                            .then(|| {
                                view! {
                                    <button type="button" on:click=copy_monday data-testid="copy-monday">
                                        "Copy Monday to all weekdays"
                                    </button>
                                }
                            })
                    }}
                </fieldset>
                <p class="hint">
                    "An end of 00:00 means midnight at the end of the day. Without JavaScript, fill the empty row of a day to add a range and clear a range to remove it."
                </p>
                <div class="dialog-actions">
                    <p class="saved" role="status" data-testid="schedule-saved">
                        {move || matches!(actions.save.value().get(), Some(Ok(_))).then_some("Saved.")}
                    </p>
                    <button type="submit" class="primary" data-testid="save-schedule">
                        "Save schedule"
                    </button>
                </div>
            </ActionForm>
            <Overrides schedule />
            <div class="calendar-tools">
                {(!is_default)
                    .then(|| {
                        view! {
                            <ActionForm action=actions.set_default attr:class="inline-form">
                                <input type="hidden" name="id" value=default_id.clone() />
                                <input type="hidden" name="back" value=back_default.clone() />
                                <button type="submit" data-testid="make-default">"Make default"</button>
                            </ActionForm>
                        }
                    })}
                <ActionForm action=actions.delete attr:class="inline-form">
                    <input type="hidden" name="id" value=delete_id />
                    <button type="submit" class="danger" data-testid="delete-schedule">"Delete schedule"</button>
                </ActionForm>
            </div>
        </article>
    }
    .into_any()
}

#[derive(Clone, Copy)]
struct DayState {
    /// 1 = Monday … 7 = Sunday.
    day: u8,
    on: RwSignal<bool>,
    rows: RwSignal<Vec<RangeRow>>,
}

#[component]
fn DayRow(day: DayState, live: RwSignal<bool>, errors: Vec<Signal<Option<AppError>>>) -> AnyView {
    let name = WEEKDAYS[usize::from(day.day - 1)];
    let field: &'static str = ["day1", "day2", "day3", "day4", "day5", "day6", "day7"][usize::from(day.day - 1)];
    let check_id = format!("day-on-{}", day.day);
    let label_for = check_id.clone();
    let rows = day.rows;
    let clock = use_user().clock;
    let on_toggle = move |ev: leptos::ev::Event| {
        let checked = event_target_checked(&ev);
        day.on.set(checked);
        if checked && rows.with_untracked(Vec::is_empty) {
            rows.set(vec![RangeRow::new("09:00", "17:00", clock)]);
        }
    };
    let add = move |_| rows.update(|list| list.push(RangeRow::after(list, clock)));
    view! {
        <div class="day-row" data-testid="day" data-day=day.day>
            <label class="check day-name" for=label_for>
                <input
                    type="checkbox"
                    id=check_id
                    name="day_on[]"
                    value=day.day.to_string()
                    checked=day.on.get_untracked()
                    on:change=on_toggle
                    data-testid="day-on"
                />
                {name}
            </label>
            <div class="ranges" class:hidden=move || live.get() && !day.on.get()>
                <For each=move || rows.get() key=|row| row.key let:row>
                    <RangeInputs row label=name.to_owned() rows live weekday=day.day />
                </For>
                <BlankRange live label=name.to_owned() weekday=day.day />
                {move || {
                    live.get()
                        .then(|| {
                            view! {
                                <button type="button" class="link-button" on:click=add data-testid="add-range">
                                    "+ Add a range"
                                </button>
                            }
                        })
                }}
            </div>
            <p class="unavailable" class:hidden=move || !live.get() || day.on.get()>
                "Unavailable"
            </p>
            <FieldMessage errors name=field />
        </div>
    }
    .into_any()
}

#[component]
fn Overrides(schedule: ScheduleInfo) -> AnyView {
    let actions = expect_context::<ScheduleActions>();
    let live = use_live();
    let add_error = action_error(move || actions.add_override.value().get());
    let errors = vec![add_error, plain_form_error()];
    let back = format!("/availability?schedule={}", schedule.id);
    let clock = use_user().clock;
    let rows = RwSignal::new(vec![RangeRow::new("09:00", "12:00", clock)]);
    let hours_chosen = RwSignal::new(false);
    let empty = schedule.overrides.is_empty();
    let schedule_id = schedule.id.clone();
    let item_back = back.clone();
    let items = schedule
        .overrides
        .iter()
        .map(|o| {
            let (id, back, date) = (schedule_id.clone(), item_back.clone(), o.date.clone());
            let hours = if o.ranges.is_empty() {
                "Unavailable all day".to_owned()
            } else {
                o.ranges
                    .iter()
                    .map(|r| format!("{}–{}", clock_text(&r.start, clock), clock_text(&r.end, clock)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let label = format!("Remove {}", o.date);
            view! {
                <li data-testid="override">
                    <strong>{o.date.clone()}</strong>
                    " "
                    <span>{hours}</span>
                    " "
                    <ActionForm action=actions.remove_override attr:class="inline-form">
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="date" value=date />
                        <input type="hidden" name="back" value=back />
                        <button type="submit" class="link-button" aria-label=label data-testid="remove-override">
                            "Remove"
                        </button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="overrides" data-testid="overrides">
            <h3>"Dates with other hours"</h3>
            {empty.then(|| view! { <p class="empty">"None: every date follows the weekly hours."</p> })}
            <ul class="override-list">{items}</ul>
            <ActionForm action=actions.add_override attr:class="form" attr:novalidate=true attr:data-testid="override-form">
                <FormError error=add_error />
                <input type="hidden" name="id" value=schedule.id />
                <input type="hidden" name="back" value=back />
                <div class="field">
                    <label for="override-date">"Date"</label>
                    <input id="override-date" type="date" name="date" data-testid="override-date" />
                    <FieldMessage errors=errors.clone() name="override_date" />
                </div>
                <fieldset class="choice">
                    <legend>"That day"</legend>
                    <label class="check">
                        <input
                            type="radio"
                            name="hours"
                            value="off"
                            checked=true
                            on:change=move |_| hours_chosen.set(false)
                            data-testid="override-off"
                        />
                        "Unavailable all day"
                    </label>
                    <label class="check">
                        <input
                            type="radio"
                            name="hours"
                            value="hours"
                            on:change=move |_| hours_chosen.set(true)
                            data-testid="override-hours"
                        />
                        "Available at other hours:"
                    </label>
                    <div class="ranges" class:hidden=move || live.get() && !hours_chosen.get()>
                        <For each=move || rows.get() key=|row| row.key let:row>
                            <RangeInputs row label="That day".to_owned() rows live />
                        </For>
                        <BlankRange live label="That day".to_owned() />
                        {move || {
                            live.get()
                                .then(|| {
                                    view! {
                                        <button
                                            type="button"
                                            class="link-button"
                                            on:click=move |_| rows.update(|list| list.push(RangeRow::after(list, clock)))
                                        >
                                            "+ Add a range"
                                        </button>
                                    }
                                })
                        }}
                    </div>
                    <FieldMessage errors=errors.clone() name="override_hours" />
                </fieldset>
                <div class="dialog-actions">
                    <button type="submit" data-testid="add-override">"Add date"</button>
                </div>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
fn NewSchedule() -> AnyView {
    let actions = expect_context::<ScheduleActions>();
    let user = use_user();
    let error = action_error(move || actions.create.value().get());
    let errors = vec![error];
    view! {
        <details class="new-schedule">
            <summary data-testid="new-schedule">"New schedule"</summary>
            <ActionForm action=actions.create attr:class="form" attr:novalidate=true>
                <FormError error />
                <div class="field-row">
                    <div class="field">
                        <label for="new-schedule-name">"Name"</label>
                        <input id="new-schedule-name" name="name" placeholder="Working hours" data-testid="new-schedule-name" />
                        <FieldMessage errors=errors.clone() name="name" />
                    </div>
                    <div class="field">
                        <label for="new-schedule-zone">"Time zone"</label>
                        <input id="new-schedule-zone" name="timezone" list="time-zones" value=user.time_zone.clone() />
                        <FieldMessage errors=errors.clone() name="timezone" />
                    </div>
                </div>
                <p class="hint">"It starts as Monday to Friday, 09:00–17:00; change the hours once it is made."</p>
                <div class="dialog-actions">
                    <button type="submit" class="primary" data-testid="create-schedule">"Create schedule"</button>
                </div>
            </ActionForm>
        </details>
    }
    .into_any()
}
