//! Pieces the host's scheduling pages share: their sub-navigation, "is the page live",
//! and errors shown beside fields.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::AppError;
use crate::components::form_error;

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

/// Adds an hour to `HH:MM`, staying within the day.
pub fn plus_hour(text: &str) -> String {
    let (h, m) = text.split_once(':').unwrap_or(("9", "0"));
    let minutes = h.parse::<u32>().unwrap_or(9) * 60 + m.parse::<u32>().unwrap_or(0) + 60;
    let minutes = minutes.min(23 * 60 + 59);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
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
    pub fn new(start: &str, end: &str) -> Self {
        Self { key: next_key(), start: RwSignal::new(start.to_owned()), end: RwSignal::new(end.to_owned()) }
    }

    /// A row after this one: starting where it ends, an hour long.
    pub fn after(rows: &[RangeRow]) -> Self {
        match rows.last() {
            Some(last) => {
                let start = last.end.get_untracked();
                let start = if start == "00:00" { "09:00".to_owned() } else { start };
                let end = plus_hour(&start);
                Self::new(&start, &end)
            }
            None => Self::new("09:00", "17:00"),
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
    let remove_label = format!("Remove this range of {label}");
    view! {
        <div class="range-row" data-testid="range">
            {weekday.map(|day| view! { <input type="hidden" name="weekday[]" value=day.to_string() /> })}
            <input
                type="text"
                size="6"
                autocomplete="off"
                placeholder="09:00"
                name="start[]"
                aria-label=from_label
                value=row.start.get_untracked()
                on:input=move |ev| row.start.set(event_target_value(&ev))
                data-testid="range-start"
            />
            <span aria-hidden="true">"–"</span>
            <input
                type="text"
                size="6"
                autocomplete="off"
                placeholder="17:00"
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
    view! {
        {move || {
            (!live.get())
                .then(|| {
                    view! {
                        <div class="range-row blank" data-testid="blank-range">
                            {weekday.map(|day| view! { <input type="hidden" name="weekday[]" value=day.to_string() /> })}
                            <input type="text" size="6" autocomplete="off" placeholder="09:00" name="start[]" aria-label=from_label.clone() />
                            <span aria-hidden="true">"–"</span>
                            <input type="text" size="6" autocomplete="off" placeholder="17:00" name="end[]" aria-label=to_label.clone() />
                        </div>
                    }
                })
        }}
    }
    .into_any()
}
