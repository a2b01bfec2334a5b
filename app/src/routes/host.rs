//! Pieces the host's scheduling pages share: their sub-navigation, "is the page live",
//! and errors shown beside fields.

use leptos::prelude::*;
use leptos_router::components::A;

use calento::ClockFormat;
use chrono::NaiveTime;

use crate::AppError;
use crate::components::{form_error, use_user};

/// Availability · Booking links · Bookings.
#[component]
pub fn SchedulingNav() -> impl IntoView {
    view! {
        <nav class="subnav" aria-label="Scheduling">
            <A href="/availability">"Availability"</A>
            <A href="/booking-links">"Booking links"</A>
            <A href="/bookings">"Bookings"</A>
        </nav>
    }
}

/// False while rendered on the server and during hydration, true once the page is live:
/// controls that need JavaScript appear only then, and rows meant for plain forms go.
pub fn use_live() -> RwSignal<bool> {
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    live
}

/// The error of an action's last submission (not the one a plain form left in the URL).
pub fn action_error<T: Send + Sync + 'static>(
    value: impl Fn() -> Option<Result<T, AppError>> + Send + Sync + 'static,
) -> Signal<Option<AppError>> {
    Signal::derive(move || value().and_then(Result::err))
}

/// The error a form posted without JavaScript left in the `err` query parameter.
pub fn plain_form_error() -> Signal<Option<AppError>> {
    form_error(|| None::<Result<(), AppError>>)
}

/// The message for one field: from the action's last submission, else from the URL.
pub fn field_error(
    errors: Vec<Signal<Option<AppError>>>,
    name: &'static str,
) -> impl Fn() -> Option<String> + Send + Sync + 'static + Clone {
    move || errors.iter().find_map(|e| e.get().and_then(|e| e.field_message(name)))
}

/// A `<p class="field-error">` for one field.
#[component]
pub fn FieldMessage(
    #[prop(into)] errors: Vec<Signal<Option<AppError>>>,
    name: &'static str,
    #[prop(optional)] id: Option<String>,
) -> impl IntoView {
    let message = field_error(errors, name);
    view! {
        <p class="field-error" role="alert" id=id data-field=name>
            {message}
        </p>
    }
}

/// A time of day (`17:00`, or as typed: `5pm`) in the person's clock: `17:00` or `5 PM`.
/// Text that names no time is left as it is, for the form to refuse with its message.
pub fn clock_text(text: &str, clock: ClockFormat) -> String {
    match calento::clock::parse_time_of_day(text) {
        Some(time) => super::calendar::time_label(time, clock),
        None if text == "24:00" => clock_text("00:00", clock),
        None => text.to_owned(),
    }
}

/// What a time field shows before anything is typed: `09:00` or `9 AM` (and `17:00`/`5 PM`).
pub fn clock_placeholders(clock: ClockFormat) -> (&'static str, &'static str) {
    match clock {
        ClockFormat::H24 => ("09:00", "17:00"),
        ClockFormat::H12 => ("9 AM", "5 PM"),
    }
}

/// An hour after a time of day (as typed, in either clock), staying within the day,
/// written in the person's clock; 09:00 when `text` names no time.
pub fn plus_hour(text: &str, clock: ClockFormat) -> String {
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
    let time = calento::clock::parse_time_of_day(text).unwrap_or(nine);
    let last = NaiveTime::from_hms_opt(23, 59, 0).unwrap_or_default();
    let later = if time >= NaiveTime::from_hms_opt(22, 59, 0).unwrap_or_default() {
        last
    } else {
        time + chrono::Duration::hours(1)
    };
    super::calendar::time_label(later, clock)
}

/// Keys for rows added in the browser, unique within the page.
pub fn next_key() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One time range being edited: its inputs update these as the person types.
#[derive(Clone, Copy)]
pub struct RangeRow {
    pub key: usize,
    pub start: RwSignal<String>,
    pub end: RwSignal<String>,
}

impl RangeRow {
    /// A row showing `start` and `end` (`HH:MM`, or as typed) in the person's clock.
    pub fn new(start: &str, end: &str, clock: ClockFormat) -> Self {
        let (start, end) = (clock_text(start, clock), clock_text(end, clock));
        Self { key: next_key(), start: RwSignal::new(start), end: RwSignal::new(end) }
    }

    /// A row after the last: starting where it ends, an hour long (09:00–17:00 when
    /// there is none, or the last ends at midnight).
    pub fn after(rows: &[RangeRow], clock: ClockFormat) -> Self {
        let start = rows
            .last()
            .and_then(|last| calento::clock::parse_time_of_day(&last.end.get_untracked()))
            .filter(|time| *time != NaiveTime::MIN);
        match start {
            Some(start) => {
                let start = super::calendar::time_label(start, clock);
                let end = plus_hour(&start, clock);
                Self::new(&start, &end, clock)
            }
            None => Self::new("09:00", "17:00", clock),
        }
    }
}

/// The start and end inputs of one range (`start[]`, `end[]`), with a remove button once live.
#[component]
pub fn RangeInputs(
    row: RangeRow,
    /// Read by screen readers before "from" and "to", e.g. "Monday".
    label: String,
    rows: RwSignal<Vec<RangeRow>>,
    live: RwSignal<bool>,
    #[prop(optional)] weekday: Option<u8>,
) -> AnyView {
    let from_label = format!("{label} from");
    let to_label = format!("{label} to");
    let (from_hint, to_hint) = clock_placeholders(use_user().clock);
    let remove_label = format!("Remove this range of {label}");
    view! {
        <div class="range-row" data-testid="range">
            {weekday.map(|day| view! { <input type="hidden" name="weekday[]" value=day.to_string() /> })}
            <input
                type="text"
                size="8"
                autocomplete="off"
                placeholder=from_hint
                name="start[]"
                aria-label=from_label
                value=row.start.get_untracked()
                on:input=move |ev| row.start.set(event_target_value(&ev))
                data-testid="range-start"
            />
            <span aria-hidden="true">"–"</span>
            <input
                type="text"
                size="8"
                autocomplete="off"
                placeholder=to_hint
                name="end[]"
                aria-label=to_label
                value=row.end.get_untracked()
                on:input=move |ev| row.end.set(event_target_value(&ev))
                data-testid="range-end"
            />
            {move || {
                live.get()
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="link-button"
                                aria-label=remove_label.clone()
                                title="Remove"
                                data-testid="remove-range"
                                on:click=move |_| rows.update(|list| list.retain(|r| r.key != row.key))
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

/// An empty range row for plain forms (adding a range without JavaScript); gone once live.
#[component]
pub fn BlankRange(live: RwSignal<bool>, label: String, #[prop(optional)] weekday: Option<u8>) -> AnyView {
    let from_label = format!("{label} from (new range)");
    let to_label = format!("{label} to (new range)");
    let (from_hint, to_hint) = clock_placeholders(use_user().clock);
    view! {
        {move || {
            (!live.get())
                .then(|| {
                    view! {
                        <div class="range-row blank" data-testid="blank-range">
                            {weekday.map(|day| view! { <input type="hidden" name="weekday[]" value=day.to_string() /> })}
                            <input type="text" size="8" autocomplete="off" placeholder=from_hint name="start[]" aria-label=from_label.clone() />
                            <span aria-hidden="true">"–"</span>
                            <input type="text" size="8" autocomplete="off" placeholder=to_hint name="end[]" aria-label=to_label.clone() />
                        </div>
                    }
                })
        }}
    }
    .into_any()
}
