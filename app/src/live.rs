//! Live updates in the pages: what the account changes elsewhere (another tab or device, a
//! calendar app, the API, a booking) shows here within a second, without a reload.
//!
//! The browser follows the change feed as Server-Sent Events (`GET /api/v1/changes/stream`,
//! the browser's `EventSource`, with the session cookie; it reconnects by itself with
//! `Last-Event-ID`). Each change bumps the counter of its area ([`Live`]); a page puts the
//! counters of what it shows in its resources' keys, so those refetch. Bumps are gathered
//! for a moment (a burst of changes is one refetch), and held while a text field has the
//! focus or the person is busy with this page (a key, a click or an input in the last 1.5
//! s), so a refetch never re-renders a form under someone typing in it or a list they are
//! working through: they are applied when the focus leaves and the page is quiet. (This
//! tab's own changes come back too; its own actions have refetched already, so for them
//! the bump is one more read, made when the page is quiet.) On the server the counters stay at zero, so a page and
//! its hydration agree.

use leptos::prelude::*;

/// Counters that grow when the account's data of an area changes.
#[derive(Clone, Copy)]
pub struct Live {
    /// Calendars and events.
    pub calendar: RwSignal<u32>,
    /// Tasks, zones, focus sessions, energy, rewards, plans.
    pub tasks: RwSignal<u32>,
    /// Bookings, booking links, availability.
    pub bookings: RwSignal<u32>,
}

impl Live {
    fn new() -> Self {
        Self { calendar: RwSignal::new(0), tasks: RwSignal::new(0), bookings: RwSignal::new(0) }
    }

    /// The page's counters (the app provides them; a component rendered alone gets its own).
    pub fn here() -> Self {
        use_context::<Live>().unwrap_or_else(Live::new)
    }
}

/// The areas a change of this kind (the feed's `kind`) touches, as bits: 1 calendar, 2
/// tasks, 4 bookings. A booking is also an event in the host's calendar.
pub fn areas_of(kind: &str) -> u8 {
    match kind {
        "event" | "calendar" => 1,
        "task" | "zone" | "focus_session" | "distraction" | "energy" | "reward" | "daily_plan" | "task_settings" => 2,
        "booking" => 4 | 1,
        "booking_link" | "schedule" => 4,
        _ => 0,
    }
}

/// The `kind` of a change event's data (`{"cursor":…,"kind":"task",…}`), read without a
/// JSON parser in the browser's module.
pub fn kind_in(data: &str) -> Option<&str> {
    let rest = &data[data.find("\"kind\":\"")? + 8..];
    rest.get(..rest.find('"')?)
}

/// Makes the counters and, in the browser, follows the feed while someone is signed in.
pub fn provide(signed_in: impl Fn() -> bool + 'static) {
    let live = Live::new();
    provide_context(live);
    #[cfg(feature = "hydrate")]
    browser::follow(live, signed_in);
    #[cfg(not(feature = "hydrate"))]
    let _ = signed_in;
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::closure::Closure;

    use super::{Live, areas_of, kind_in};

    /// How long changes are gathered before the pages refetch.
    const GATHER: Duration = Duration::from_millis(150);
    /// How often held changes look again whether the person is still typing.
    const HOLD: Duration = Duration::from_millis(750);
    /// How long after the person's last key, click or input the page counts as busy (ms).
    const BUSY_MS: f64 = 1500.0;

    /// Whether the focus is in a field someone types into.
    fn typing() -> bool {
        let Some(element) = document().active_element() else { return false };
        match element.tag_name().as_str() {
            "TEXTAREA" => true,
            "INPUT" => {
                let kind = element.get_attribute("type").unwrap_or_default().to_ascii_lowercase();
                matches!(
                    kind.as_str(),
                    "" | "text"
                        | "search"
                        | "email"
                        | "url"
                        | "tel"
                        | "password"
                        | "number"
                        | "date"
                        | "time"
                        | "datetime-local"
                )
            }
            _ => element.get_attribute("contenteditable").is_some_and(|v| v != "false"),
        }
    }

    /// Bumps the counters of the pending areas, unless the person is typing or busy with
    /// the page (then later).
    fn flush(live: Live, pending: Rc<Cell<u8>>, scheduled: Rc<Cell<bool>>, active: Rc<Cell<f64>>) {
        if typing() || js_sys::Date::now() - active.get() < BUSY_MS {
            set_timeout(move || flush(live, pending, scheduled, active), HOLD);
            return;
        }
        scheduled.set(false);
        let areas = pending.replace(0);
        if areas & 1 != 0 {
            live.calendar.update(|n| *n = n.wrapping_add(1));
        }
        if areas & 2 != 0 {
            live.tasks.update(|n| *n = n.wrapping_add(1));
        }
        if areas & 4 != 0 {
            live.bookings.update(|n| *n = n.wrapping_add(1));
        }
    }

    pub fn follow(live: Live, signed_in: impl Fn() -> bool + 'static) {
        let source: StoredValue<Option<web_sys::EventSource>, LocalStorage> = StoredValue::new_local(None);
        let pending = Rc::new(Cell::new(0u8));
        let scheduled = Rc::new(Cell::new(false));
        // When the person last pressed a key, clicked or changed a field on this page.
        let active = Rc::new(Cell::new(0.0f64));
        {
            let active = active.clone();
            let on_activity = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| active.set(js_sys::Date::now()));
            for kind in ["keydown", "pointerdown", "input"] {
                let _ = document().add_event_listener_with_callback(kind, on_activity.as_ref().unchecked_ref());
            }
            on_activity.forget();
        }
        Effect::new(move |_| {
            let wanted = signed_in();
            let open = source.with_value(Option::is_some);
            if wanted && !open {
                let Ok(events) = web_sys::EventSource::new("/api/v1/changes/stream") else { return };
                let note = {
                    let pending = pending.clone();
                    let scheduled = scheduled.clone();
                    let active = active.clone();
                    move |areas: u8| {
                        pending.set(pending.get() | areas);
                        if areas != 0 && !scheduled.replace(true) {
                            let (pending, scheduled, active) = (pending.clone(), scheduled.clone(), active.clone());
                            set_timeout(move || flush(live, pending, scheduled, active), GATHER);
                        }
                    }
                };
                let on_change = {
                    let note = note.clone();
                    Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                        let data = event.data().as_string().unwrap_or_default();
                        note(kind_in(&data).map_or(0, areas_of));
                    })
                };
                // A cursor the feed no longer has: everything may have changed.
                let on_resync = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| note(1 | 2 | 4));
                let _ = events.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
                let _ = events.add_event_listener_with_callback("resync", on_resync.as_ref().unchecked_ref());
                on_change.forget();
                on_resync.forget();
                source.set_value(Some(events));
            } else if !wanted && open {
                source.update_value(|s| {
                    if let Some(events) = s.take() {
                        events.close();
                    }
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_names_its_areas() {
        let data = r#"{"cursor":"12","kind":"focus_session","id":"x","op":"created","at":"2030-01-01T00:00:00Z"}"#;
        assert_eq!(kind_in(data), Some("focus_session"));
        assert_eq!(areas_of("focus_session"), 2);
        assert_eq!(areas_of("booking"), 5, "a booking is also an event in the calendar");
        assert_eq!(areas_of("profile"), 0);
        assert_eq!(kind_in("{}"), None);
        assert_eq!(kind_in(r#"{"kind":"#), None);
    }
}
