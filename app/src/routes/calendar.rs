//! The calendar: day, week, month and agenda views, the event dialog with its repeat
//! editor and edit scopes, drag to move and resize, and keyboard shortcuts.
//!
//! Everything is a link or a form first (the URL holds the view, the date and an open
//! dialog), so the page works without JavaScript; hydrated, it adds dragging and keys.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use calento::ClockFormat;
use calento::calendar_view::{ViewKind, lay_out_day, minutes_into, repeat_choices};

use crate::components::{FormError, RequireUser, TimeZoneOptions, form_error, percent_encode};
use crate::models::{CalendarData, EventInfo, ViewItem};
use crate::server::calendar::{DeleteEvent, MoveEvent, SaveEvent, event_details, load_calendar};

/// Height of one hour in the day and week grids, in pixels (CSS uses the same number).
const HOUR_PX: f64 = 48.0;
/// Events shown in a month cell before "+N more".
const MONTH_CELL_ITEMS: usize = 3;

/// The URL of a view at a date; dialogs add their own parameters to it.
fn view_href(view: ViewKind, date: NaiveDate) -> String {
    format!("/calendar?view={}&date={}", view.as_str(), date.format("%Y-%m-%d"))
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn time_label(time: NaiveTime, clock: ClockFormat) -> String {
    match clock {
        ClockFormat::H24 => time.format("%H:%M").to_string(),
        ClockFormat::H12 if time.minute() == 0 => time.format("%-I %p").to_string(),
        ClockFormat::H12 => time.format("%-I:%M %p").to_string(),
    }
}

fn hour_label(hour: u32, clock: ClockFormat) -> String {
    NaiveTime::from_hms_opt(hour, 0, 0).map(|t| time_label(t, clock)).unwrap_or_default()
}

#[component]
pub fn CalendarPage() -> impl IntoView {
    let query = use_query_map();
    let view_kind = Memo::new(move |_| query.read().get("view").and_then(|v| ViewKind::parse(&v)).unwrap_or_default());
    let date_param = Memo::new(move |_| query.read().get("date").unwrap_or_default());
    let save = ServerAction::<SaveEvent>::new();
    let remove = ServerAction::<DeleteEvent>::new();
    let moved = ServerAction::<MoveEvent>::new();
    let boxed = ServerAction::<crate::server::tasks::TimeboxTask>::new();
    let data = Resource::new(
        move || {
            (
                view_kind.get(),
                date_param.get(),
                save.version().get(),
                remove.version().get(),
                moved.version().get(),
                boxed.version().get(),
            )
        },
        |(view, date, ..)| load_calendar(view.as_str().to_owned(), date),
    );
    let tray = Resource::new(
        move || boxed.version().get(),
        |_| crate::server::tasks::list_tasks("all".to_owned(), None, None, None),
    );
    provide_context(Actions { boxed, save, remove, moved, pending_move: RwSignal::new(None) });
    provide_context(DraggedTask(RwSignal::new(None)));
    // The resource is made here, outside the sign-in guard's Suspense, so the server and the
    // browser create it exactly once and in the same order (stable hydration).
    view! {
        <Title text="Calendar" />
        <RequireUser>
            <section class="calendar" data-testid="calendar">
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok(data) => {
                                let timed = matches!(data.view, ViewKind::Week | ViewKind::Day);
                                view! {
                                    <CalendarBody data />
                                    {timed.then(|| view! { <TaskTray tray /> })}
                                }
                                    .into_any()
                            }
                            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    /// A task dropped on the week view (a time block made for it).
    boxed: ServerAction<crate::server::tasks::TimeboxTask>,
    save: ServerAction<SaveEvent>,
    remove: ServerAction<DeleteEvent>,
    moved: ServerAction<MoveEvent>,
    /// A dragged occurrence of a repeating event, waiting for "this / following / all".
    pending_move: RwSignal<Option<MoveEvent>>,
}

#[component]
fn CalendarBody(data: CalendarData) -> impl IntoView {
    let query = use_query_map();
    let here = view_href(data.view, data.date);
    let prev = view_href(data.view, data.view.step(data.date, -1));
    let next = view_href(data.view, data.view.step(data.date, 1));
    let today = view_href(data.view, data.today);
    let title = data.view.title(data.date, data.week_start);
    let data = StoredValue::new(data);
    let open_event = Memo::new(move |_| query.read().get("event"));
    let open_rid = Memo::new(move |_| query.read().get("rid"));
    let new_at = Memo::new(move |_| query.read().get("new"));
    let show_keys = Memo::new(move |_| query.read().get("keys").is_some());
    let here_for_keys = here.clone();
    keyboard_shortcuts(data, here_for_keys);
    let pending_move = expect_context::<Actions>().pending_move;
    let (view_kind, date, today_date, zone) = data.with_value(|d| (d.view, d.date, d.today, d.time_zone.clone()));
    view! {
        <div class="calendar-toolbar">
            <A href=today.clone() attr:class="button" attr:data-testid="today-button">
                "Today"
            </A>
            <A href=prev attr:class="button icon" attr:aria-label="Previous" attr:data-testid="prev">
                "‹"
            </A>
            <A href=next attr:class="button icon" attr:aria-label="Next" attr:data-testid="next">
                "›"
            </A>
            <h1 class="calendar-title" data-testid="calendar-title">
                {title}
            </h1>
            <form method="get" action="/calendar" class="date-picker">
                <input type="hidden" name="view" value=view_kind.as_str() />
                <label class="visually-hidden" for="go-to-date">
                    "Go to date"
                </label>
                <input
                    id="go-to-date"
                    type="date"
                    name="date"
                    value=date_text(date)
                    data-testid="date-picker"
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        if NaiveDate::parse_from_str(&value, "%Y-%m-%d").is_ok() {
                            use_navigate()(&format!("/calendar?view={}&date={value}", view_kind.as_str()), Default::default());
                        }
                    }
                />
                <noscript>
                    <button type="submit">"Go"</button>
                </noscript>
            </form>
            <nav class="view-switch" aria-label="View">
                {ViewKind::ALL
                    .iter()
                    .map(|kind| {
                        let href = format!("/calendar?view={}&date={}", kind.as_str(), date_text(date));
                        let current = *kind == view_kind;
                        view! {
                            <A
                                href=href
                                attr:class=if current { "button selected" } else { "button" }
                                attr:aria-current=current.then_some("page")
                            >
                                {kind.label()}
                            </A>
                        }
                    })
                    .collect_view()}
            </nav>
            <A href=format!("{here}&new={}T09:00", date_text(date)) attr:class="button primary" attr:data-testid="create">
                "Create"
            </A>
            <A href="/calendar/search" attr:class="button" attr:data-testid="search">
                "Search"
            </A>
            <A href=format!("{here}&keys=1") attr:class="button icon" attr:aria-label="Keyboard shortcuts">
                "?"
            </A>
        </div>
        <p class="calendar-zone" data-testid="today">
            "Today is " {today_date.format("%A %-d %B %Y").to_string()} " in " {zone} "."
        </p>
        {match view_kind {
            ViewKind::Day | ViewKind::Week => view! { <TimeGrid data here=here.clone() /> }.into_any(),
            ViewKind::Month => view! { <MonthGrid data here=here.clone() /> }.into_any(),
            ViewKind::Agenda => view! { <Agenda data here=here.clone() /> }.into_any(),
        }}
        {move || {
            let here = here.clone();
            if pending_move.get().is_some() {
                view! { <MoveScopeDialog /> }.into_any()
            } else if show_keys.get() {
                view! { <ShortcutsDialog here /> }.into_any()
            } else if let Some(id) = open_event.get() {
                view! { <EventDialog data id rid=open_rid.get() here /> }.into_any()
            } else if let Some(at) = new_at.get() {
                view! { <NewEventDialog data at here /> }.into_any()
            } else {
                ().into_any()
            }
        }}
    }
}

/// The link that opens an occurrence's dialog.
fn item_href(here: &str, item: &ViewItem) -> String {
    let rid =
        item.occurrence.recurrence_id.as_deref().map(|r| format!("&rid={}", percent_encode(r))).unwrap_or_default();
    format!("{here}&event={}{rid}", item.occurrence.event_id)
}

fn item_time(item: &ViewItem, clock: ClockFormat) -> String {
    if item.occurrence.all_day {
        "All day".to_owned()
    } else {
        format!("{} – {}", time_label(item.local_start.time(), clock), time_label(item.local_end.time(), clock))
    }
}

/// All-day items and timed items longer than a day go in the all-day row.
fn in_all_day_row(item: &ViewItem) -> bool {
    item.occurrence.all_day || item.local_end - item.local_start >= Duration::hours(24)
}

#[component]
fn TimeGrid(data: StoredValue<CalendarData>, here: String) -> impl IntoView {
    let (first, end, clock, today, now, items) =
        data.with_value(|d| (d.first_day, d.end_day, d.clock, d.today, d.now, d.items.clone()));
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d < end).collect();
    let columns = days.len();
    let items = StoredValue::new(items);
    let drag = DragState { current: RwSignal::new(None), just_dropped: StoredValue::new(false) };
    watch_drags(drag);
    let all_day_row = days
        .iter()
        .map(|day| {
            let here = here.clone();
            let on_day: Vec<ViewItem> = items.with_value(|items| {
                items
                    .iter()
                    .filter(|i| {
                        in_all_day_row(i) && i.local_start.date() <= *day && i.local_end > day.and_time(NaiveTime::MIN)
                    })
                    .cloned()
                    .collect()
            });
            let chips = on_day
                .iter()
                .map(|item| {
                    let href = item_href(&here, item);
                    let style = format!("--event-color: {}", item.occurrence.color);
                    let summary = item.occurrence.summary.clone();
                    view! {
                        <a href=href class="chip" style=style data-testid="event">
                            {summary}
                        </a>
                    }
                })
                .collect_view();
            view! { <div class="all-day-cell">{chips}</div> }
        })
        .collect_view();
    let headers = days
        .iter()
        .map(|day| {
            let href = format!("/calendar?view=day&date={}", date_text(*day));
            let weekday = day.format("%a").to_string();
            let number = day.day();
            view! {
                <div class="day-head" class:today=*day == today>
                    <a href=href>
                        <span class="weekday">{weekday}</span>
                        <span class="day-number">{number}</span>
                    </a>
                </div>
            }
        })
        .collect_view();
    let hours = (0..24u32)
        .map(|h| view! { <div class="hour-label">{if h == 0 { String::new() } else { hour_label(h, clock) }}</div> })
        .collect_view();
    let day_columns = days
        .iter()
        .map(|day| {
            let day = *day;
            let here = here.clone();
            let midnight = day.and_time(NaiveTime::MIN);
            let timed: Vec<ViewItem> = items.with_value(|items| {
                items
                    .iter()
                    .filter(|i| {
                        !in_all_day_row(i)
                            && i.local_start < midnight + Duration::days(1)
                            && i.local_end.max(i.local_start + Duration::minutes(1)) > midnight
                    })
                    .cloned()
                    .collect()
            });
            let spans: Vec<(i64, i64)> =
                timed.iter().map(|i| (minutes_into(day, i.local_start), minutes_into(day, i.local_end))).collect();
            let slots = lay_out_day(&spans);
            let slot_links = (0..24u32)
                .map(|h| {
                    let href = format!("{here}&new={}T{h:02}:00", date_text(day));
                    let label = format!("Create at {}", hour_label(h, clock));
                    view! { <a href=href class="slot" aria-label=label>""</a> }
                })
                .collect_view();
            let blocks = timed
                .iter()
                .zip(slots)
                .map(|(item, slot)| {
                    let item = item.clone();
                    view! { <EventBlock item place=slot here=here.clone() clock drag /> }
                })
                .collect_view();
            let now_line = (day == today).then(|| {
                let top = f64::from(now.num_seconds_from_midnight()) / 3600.0 * HOUR_PX;
                view! { <div class="now-line" style=format!("top: {top:.1}px") data-testid="now-line"></div> }
            });
            let on_drop = drop_task(day);
            view! {
                <div
                    class="day-column"
                    class:today=day == today
                    data-date=date_text(day)
                    on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
                    on:drop=on_drop
                >
                    {slot_links}
                    {blocks}
                    {now_line}
                </div>
            }
        })
        .collect_view();
    let style = format!("--columns: {columns}; --hour: {HOUR_PX}px");
    // Open at the present hour when today is shown (an hour of the past above it), else at
    // 07:00, rather than at midnight, as calendar apps do.
    let opening_hour = if days.contains(&today) {
        (f64::from(now.num_seconds_from_midnight()) / 3600.0 - 1.0).clamp(0.0, 16.0)
    } else {
        7.0
    };
    Effect::new(move |_| {
        if let Some(body) = document().get_element_by_id("grid-body") {
            body.set_scroll_top((opening_hour * HOUR_PX) as i32);
        }
    });
    view! {
        <div class="time-grid" style=style data-testid="time-grid">
            <div class="grid-head">
                <div class="gutter"></div>
                {headers}
            </div>
            <div class="grid-all-day">
                <div class="gutter all-day-label">"All day"</div>
                {all_day_row}
            </div>
            <div class="grid-body" id="grid-body">
                <div class="gutter hours">{hours}</div>
                {day_columns}
            </div>
        </div>
    }
}

/// A drag in progress: which item, moving or resizing, and how far the pointer went, with
/// what the release needs to save the move.
#[derive(Debug, Clone, PartialEq)]
struct Drag {
    key: String,
    event_id: String,
    recurrence_id: Option<String>,
    recurring: bool,
    start: NaiveDateTime,
    end: NaiveDateTime,
    resize: bool,
    pointer: i32,
    origin_x: i32,
    origin_y: i32,
    dx_days: i64,
    dy_minutes: i64,
}

/// The grid's one drag: the item being dragged, and whether the click that ends a drag
/// must be swallowed (it lands on the link under the pointer, which must not open).
#[derive(Clone, Copy)]
struct DragState {
    current: RwSignal<Option<Drag>>,
    just_dropped: StoredValue<bool>,
}

/// Pointer moves, the release and a cancel are watched once for the whole grid, on the
/// window, so a fast drag that leaves the event is not lost, and a drag the browser takes
/// over (a native drag, a scroll: `pointercancel`) leaves nothing ghosted behind.
fn watch_drags(state: DragState) {
    let drag = state.current;
    let actions = expect_context::<Actions>();
    let zone = use_context::<ZoneName>().map(|z| z.0).unwrap_or_default();
    Effect::new(move |_| {
        let zone = zone.clone();
        let moving = window_event_listener(leptos::ev::pointermove, move |ev| {
            if let Some(mut d) = drag.get_untracked().filter(|d| d.pointer == ev.pointer_id()) {
                let column_width = column_width();
                let dy = ((f64::from(ev.client_y() - d.origin_y) / HOUR_PX * 60.0) / 15.0).round() as i64 * 15;
                let dx = if d.resize || column_width <= 0.0 {
                    0
                } else {
                    (f64::from(ev.client_x() - d.origin_x) / column_width).round() as i64
                };
                if (dx, dy) != (d.dx_days, d.dy_minutes) {
                    d.dx_days = dx;
                    d.dy_minutes = dy;
                    drag.set(Some(d));
                }
            }
        });
        let cancelling = window_event_listener(leptos::ev::pointercancel, move |_| {
            if drag.get_untracked().is_some() {
                drag.set(None);
            }
        });
        let releasing = window_event_listener(leptos::ev::pointerup, move |ev| {
            let Some(d) = drag.get_untracked() else { return };
            drag.set(None);
            if d.pointer != ev.pointer_id() || (d.dy_minutes == 0 && d.dx_days == 0) {
                return;
            }
            // The click that follows this release is swallowed; a click later is not.
            state.just_dropped.set_value(true);
            set_timeout(move || state.just_dropped.set_value(false), std::time::Duration::from_millis(100));
            let (new_start, new_end) = if d.resize {
                (d.start, (d.end + Duration::minutes(d.dy_minutes)).max(d.start + Duration::minutes(15)))
            } else {
                let shift = Duration::minutes(d.dy_minutes) + Duration::days(d.dx_days);
                (d.start + shift, d.end + shift)
            };
            let tz = calento::TimeZoneName::parse(&zone).map(|z| z.tz()).unwrap_or(chrono_tz::Tz::UTC);
            let utc =
                |t: NaiveDateTime| format!("{}Z", calento::recurrence::local_to_utc(tz, t).format("%Y-%m-%dT%H:%M:%S"));
            let change = MoveEvent {
                id: d.event_id,
                recurrence_id: d.recurrence_id,
                start_utc: utc(new_start),
                end_utc: utc(new_end),
                scope: None,
            };
            if d.recurring {
                actions.pending_move.set(Some(change));
            } else {
                actions.moved.dispatch(change);
            }
        });
        on_cleanup(move || {
            moving.remove();
            cancelling.remove();
            releasing.remove();
        });
    });
}

#[component]
fn EventBlock(
    item: ViewItem,
    place: calento::calendar_view::Slot,
    here: String,
    clock: ClockFormat,
    drag: DragState,
) -> impl IntoView {
    let href = item_href(&here, &item);
    let key = format!("{}|{}", item.occurrence.event_id, item.occurrence.recurrence_id.as_deref().unwrap_or_default());
    let width = 100.0 / place.columns as f64;
    let time_text = item_time(&item, clock);
    let busy = item.busy;
    let tentative = item.occurrence.status == calento::event::EventStatus::Tentative;
    let read_only = item.occurrence.read_only;
    let ViewItem { occurrence, local_start, local_end, .. } = item;
    let crate::models::OccurrenceInfo { event_id, recurrence_id, recurring, color, summary, .. } = occurrence;
    let current = drag.current;
    let mine = {
        let key = key.clone();
        move || current.with(|d| d.as_ref().filter(|d| d.key == key).map(|d| (d.resize, d.dx_days, d.dy_minutes)))
    };
    let style = {
        let mine = mine.clone();
        move || {
            let (mut top, mut bottom, mut shift) = (place.top, place.bottom, 0i64);
            match mine() {
                Some((true, _, dy)) => bottom = (bottom + dy).max(top + 15),
                Some((false, dx, dy)) => {
                    top += dy;
                    bottom += dy;
                    shift = dx;
                }
                None => {}
            }
            format!(
                "top: {:.1}px; height: {:.1}px; left: calc({:.3}% + {}00%); width: {:.3}%; --event-color: {}",
                top as f64 / 60.0 * HOUR_PX,
                ((bottom - top) as f64 / 60.0 * HOUR_PX).max(14.0),
                width * place.column as f64,
                shift,
                width,
                color
            )
        }
    };
    let on_pointer_down = move |ev: leptos::ev::PointerEvent| {
        if read_only || ev.button() != 0 || !ev.is_primary() {
            return;
        }
        let target =
            ev.target().and_then(|t| leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::Element>(t).ok());
        let resize = target.as_ref().is_some_and(|el| el.class_list().contains("resize-handle"));
        current.set(Some(Drag {
            key: key.clone(),
            event_id: event_id.clone(),
            recurrence_id: recurrence_id.clone(),
            recurring,
            start: local_start,
            end: local_end,
            resize,
            pointer: ev.pointer_id(),
            origin_x: ev.client_x(),
            origin_y: ev.client_y(),
            dx_days: 0,
            dy_minutes: 0,
        }));
    };
    let dragging = move || mine().is_some();
    // Under 45 minutes the title and time share one line; under 25 they shrink to fit, so
    // a short event shows its title whole instead of cut through the middle of a line.
    let minutes = place.bottom - place.top;
    view! {
        <div
            class="event-block"
            class:short=minutes < 45
            class:tiny=minutes < 25
            class:dragging=dragging
            class:free=!busy
            class:tentative=tentative
            style=style
            data-testid="event"
            on:pointerdown=on_pointer_down
            // No native drag of the link or its text: it would cancel the pointer's drag.
            on:dragstart=|ev: leptos::ev::DragEvent| ev.prevent_default()
            on:click=move |ev: leptos::ev::MouseEvent| {
                if drag.just_dropped.get_value() {
                    drag.just_dropped.set_value(false);
                    ev.prevent_default();
                    ev.stop_propagation();
                }
            }
        >
            <a href=href class="event-link" draggable="false">
                <span class="event-title">{summary}</span>
                <span class="event-time">{time_text}</span>
            </a>
            {(!read_only).then(|| view! { <span class="resize-handle" aria-hidden="true"></span> })}
        </div>
    }
}

/// The width of one day column in pixels (0 before hydration).
fn column_width() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        document()
            .query_selector(".day-column")
            .ok()
            .flatten()
            .and_then(|el| leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::HtmlElement>(el).ok())
            .map(|el| f64::from(el.offset_width()))
            .unwrap_or(0.0)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// The viewer's zone, for turning dragged wall-clock times into instants.
#[derive(Clone)]
struct ZoneName(String);

#[component]
fn MonthGrid(data: StoredValue<CalendarData>, here: String) -> impl IntoView {
    let (first, end, date, today, clock, items) =
        data.with_value(|d| (d.first_day, d.end_day, d.date, d.today, d.clock, d.items.clone()));
    let weekdays = first
        .iter_days()
        .take(7)
        .map(|d| view! { <div class="weekday-head">{d.format("%a").to_string()}</div> })
        .collect_view();
    let cells = first
        .iter_days()
        .take_while(|d| *d < end)
        .map(|day| {
            let here = here.clone();
            let midnight = day.and_time(NaiveTime::MIN);
            let on_day: Vec<&ViewItem> = items
                .iter()
                .filter(|i| i.local_start < midnight + Duration::days(1) && i.local_end.max(i.local_start + Duration::minutes(1)) > midnight)
                .collect();
            let more = on_day.len().saturating_sub(MONTH_CELL_ITEMS);
            let shown = on_day
                .iter()
                .take(MONTH_CELL_ITEMS)
                .map(|item| {
                    let label = if in_all_day_row(item) {
                        item.occurrence.summary.clone()
                    } else {
                        format!("{} {}", time_label(item.local_start.time(), clock), item.occurrence.summary)
                    };
                    let href = item_href(&here, item);
                    let style = format!("--event-color: {}", item.occurrence.color);
                    view! {
                        <li>
                            <a href=href class="chip" style=style data-testid="event">
                                {label}
                            </a>
                        </li>
                    }
                })
                .collect_view();
            let day_href = format!("/calendar?view=day&date={}", date_text(day));
            let new_href = format!("{here}&new={}T09:00", date_text(day));
            let create_label = format!("Create on {}", day.format("%-d %B"));
            let number = day.day();
            let more_href = day_href.clone();
            let more_text = format!("+{more} more");
            view! {
                <div class="month-cell" class:other-month=day.month() != date.month() class:today=day == today data-date=date_text(day)>
                    <a href=day_href class="day-number">{number}</a>
                    <a href=new_href class="cell-create" aria-label=create_label>""</a>
                    <ul>{shown}</ul>
                    {(more > 0).then(|| view! {
                        <a href=more_href class="more" data-testid="more">
                            {more_text}
                        </a>
                    })}
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="month-grid" data-testid="month-grid">
            {weekdays}
            {cells}
        </div>
    }
}

#[component]
fn Agenda(data: StoredValue<CalendarData>, here: String) -> impl IntoView {
    let (first, end, clock, items) = data.with_value(|d| (d.first_day, d.end_day, d.clock, d.items.clone()));
    let here = here.as_str();
    let days = first
        .iter_days()
        .take_while(|d| *d < end)
        .filter_map(|day| {
            let midnight = day.and_time(NaiveTime::MIN);
            let on_day: Vec<ViewItem> = items
                .iter()
                .filter(|i| {
                    i.local_start < midnight + Duration::days(1)
                        && i.local_end.max(i.local_start + Duration::minutes(1)) > midnight
                })
                .cloned()
                .collect();
            if on_day.is_empty() {
                return None;
            }
            let rows = on_day
                .iter()
                .map(|item| {
                    let href = item_href(here, item);
                    let summary = item.occurrence.summary.clone();
                    let location = item.occurrence.location.clone();
                    view! {
                        <li>
                            <span class="agenda-time">{item_time(item, clock)}</span>
                            <span class="dot" style=format!("--event-color: {}", item.occurrence.color)></span>
                            <a href=href data-testid="event">{summary}</a>
                            {(!location.is_empty()).then(|| view! { <span class="agenda-location">{location}</span> })}
                        </li>
                    }
                })
                .collect_view();
            let heading = day.format("%A %-d %B").to_string();
            Some(view! {
                <section class="agenda-day">
                    <h2>{heading}</h2>
                    <ul>{rows}</ul>
                </section>
            })
        })
        .collect::<Vec<_>>();
    let empty = days.is_empty();
    view! {
        <div class="agenda" data-testid="agenda">
            {days}
            {empty.then(|| view! { <p class="empty">"Nothing planned in these 30 days."</p> })}
        </div>
    }
}

/// The reminder menu: minutes before the start.
const REMINDER_CHOICES: [(Option<u32>, &str); 7] = [
    (None, "No reminder"),
    (Some(5), "5 minutes before"),
    (Some(10), "10 minutes before"),
    (Some(30), "30 minutes before"),
    (Some(60), "1 hour before"),
    (Some(1440), "1 day before"),
    (Some(10080), "1 week before"),
];

/// Busy occurrences overlapping `[start, end)`, except the one being edited.
fn conflicts(
    data: &CalendarData,
    start: NaiveDateTime,
    end: NaiveDateTime,
    except: Option<(&str, Option<&str>)>,
) -> Vec<String> {
    data.items
        .iter()
        // All-day events mark a day (a holiday, a trip, a birthday); like Google Calendar,
        // they are not warned about as overlaps.
        .filter(|i| i.busy && !i.occurrence.all_day && i.local_start < end && i.local_end > start)
        .filter(|i| match except {
            Some((id, rid)) => !(i.occurrence.event_id == id && i.occurrence.recurrence_id.as_deref() == rid),
            None => true,
        })
        .map(|i| i.occurrence.summary.clone())
        .collect()
}

/// Fields of the event form, before it is saved.
#[derive(Debug, Clone, PartialEq)]
struct Draft {
    id: Option<String>,
    recurrence_id: Option<String>,
    recurring: bool,
    repeats: Option<String>,
    calendar_id: String,
    all_day: bool,
    start: NaiveDateTime,
    end: NaiveDateTime,
    time_zone: String,
    details: calento::event::EventDetails,
    read_only: bool,
}

#[component]
fn NewEventDialog(data: StoredValue<CalendarData>, at: String, here: String) -> impl IntoView {
    let (zone, calendar_id, date) = data.with_value(|d| {
        (
            d.time_zone.clone(),
            d.calendars.iter().find(|c| c.source_url.is_none()).map(|c| c.id.clone()).unwrap_or_default(),
            d.date,
        )
    });
    let start = NaiveDateTime::parse_from_str(&at, "%Y-%m-%dT%H:%M")
        .unwrap_or_else(|_| date.and_hms_opt(9, 0, 0).unwrap_or_default());
    let draft = Draft {
        id: None,
        recurrence_id: None,
        recurring: false,
        repeats: None,
        calendar_id,
        all_day: false,
        start,
        end: start + Duration::hours(1),
        time_zone: zone,
        details: Default::default(),
        read_only: false,
    };
    view! { <EventForm data draft here heading="New event" /> }
}

#[component]
fn EventDialog(data: StoredValue<CalendarData>, id: String, rid: Option<String>, here: String) -> impl IntoView {
    let item = data.with_value(|d| {
        d.items.iter().find(|i| i.occurrence.event_id == id && i.occurrence.recurrence_id == rid).cloned()
    });
    let event = Resource::new(move || id.clone(), event_details);
    let rid = StoredValue::new(rid);
    let item = StoredValue::new(item);
    view! {
        <Suspense fallback=|| view! { <div class="dialog-backdrop"><div class="dialog" role="dialog"><p>"Loading…"</p></div></div> }>
            {move || {
                let here = here.clone();
                Suspend::new(async move {
                    match event.await {
                        Ok(info) => {
                            let draft = draft_of(&info, rid.get_value(), item.get_value(), data);
                            view! { <EventForm data draft here heading="Event" /> }.into_any()
                        }
                        Err(error) => view! {
                            <div class="dialog-backdrop">
                                <div class="dialog" role="dialog" aria-modal="true">
                                    <p class="form-error" role="alert">{error.to_string()}</p>
                                    <A href=here attr:class="button">"Close"</A>
                                </div>
                            </div>
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// A time of day in the person's own clock (the grid's): typed freely (`9:30`, `930`,
/// `9:30 pm`) or picked from half-hour suggestions, and written back in that clock once it
/// is left. A browser's `type="time"` field follows the browser's language instead (12-hour
/// pickers beside a 24-hour grid).
#[component]
fn TimeField(id: &'static str, name: &'static str, value: RwSignal<String>, clock: ClockFormat) -> impl IntoView {
    let placeholder = time_label(NaiveTime::from_hms_opt(9, 30, 0).unwrap_or_default(), clock);
    view! {
        <input
            id=id
            name=name
            type="text"
            autocomplete="off"
            size="8"
            list=TIME_CHOICES
            placeholder=placeholder
            value=value.get_untracked()
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))
            on:change=move |ev| {
                if let Some(t) = calento::clock::parse_time_of_day(&event_target_value(&ev)) {
                    value.set(time_label(t, clock));
                }
            }
            data-testid=id
        />
    }
}

/// The half-hour suggestions every `TimeField` of a form shares (drawn once per form).
const TIME_CHOICES: &str = "time-choices";

#[component]
fn TimeChoices(clock: ClockFormat) -> impl IntoView {
    let choices = (0..48u32)
        .filter_map(|half| NaiveTime::from_hms_opt(half / 2, (half % 2) * 30, 0))
        .map(|t| view! { <option value=time_label(t, clock)></option> })
        .collect_view();
    view! { <datalist id=TIME_CHOICES>{choices}</datalist> }
}

/// A modal dialog keeps the keyboard: Tab from its last control goes to its first and
/// Shift+Tab from its first to its last (never into the grid behind it), and Escape closes it.
fn keep_focus_in_dialog(ev: leptos::ev::KeyboardEvent) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::web_sys::{Element, HtmlElement};
        let Some(dialog) = ev.current_target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
        if ev.key() == "Escape" {
            if let Some(Ok(close)) = dialog
                .query_selector("[data-testid=close-dialog]")
                .ok()
                .flatten()
                .map(|el| el.dyn_into::<HtmlElement>())
            {
                ev.prevent_default();
                ev.stop_propagation();
                close.click();
            }
            return;
        }
        if ev.key() != "Tab" {
            return;
        }
        const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), \
            select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";
        let Ok(list) = dialog.query_selector_all(FOCUSABLE) else { return };
        // Only what is drawn (a closed `<details>` hides its fields).
        let controls: Vec<HtmlElement> = (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|node| node.dyn_into::<HtmlElement>().ok())
            .filter(|el| el.offset_parent().is_some())
            .collect();
        let (Some(first), Some(last)) = (controls.first(), controls.last()) else { return };
        let active = document().active_element();
        let is = |el: &HtmlElement| active.as_ref().is_some_and(|a| a == el.unchecked_ref::<Element>());
        let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a)));
        if ev.shift_key() && (is(first) || !inside) {
            ev.prevent_default();
            let _ = last.focus();
        } else if !ev.shift_key() && (is(last) || !inside) {
            ev.prevent_default();
            let _ = first.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// The form's starting values for an event, at the occurrence that was clicked.
fn draft_of(info: &EventInfo, rid: Option<String>, item: Option<ViewItem>, data: StoredValue<CalendarData>) -> Draft {
    let parse = |text: &str| {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| d.and_time(NaiveTime::MIN)))
            .unwrap_or_default()
    };
    let viewer_zone = data.with_value(|d| d.time_zone.clone());
    let zone = info.time_zone.clone().unwrap_or(viewer_zone.clone());
    // The clicked occurrence's times, in the event's own zone.
    let (start, end) = match &item {
        Some(item) if !info.all_day => {
            let tz = calento::TimeZoneName::parse(&zone).map(|z| z.tz()).unwrap_or(chrono_tz::Tz::UTC);
            let at = |ms: i64| {
                calento::recurrence::utc_to_local(
                    tz,
                    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc(),
                )
            };
            if info.time_zone.is_some() {
                (at(item.occurrence.start_ms), at(item.occurrence.end_ms))
            } else {
                (item.local_start, item.local_end)
            }
        }
        Some(item) => (item.local_start, item.local_end),
        None => (parse(&info.start), parse(&info.end)),
    };
    let recurring = info.rrule.is_some() || !info.rdates.is_empty() || info.master_id.is_some();
    Draft {
        id: Some(info.id.clone()),
        recurrence_id: rid.or_else(|| info.recurrence_id.clone()),
        recurring,
        repeats: info.repeats.clone(),
        calendar_id: info.calendar_id.clone(),
        all_day: info.all_day,
        start,
        end,
        time_zone: zone,
        details: info.details.clone(),
        read_only: info.read_only,
    }
}

#[component]
fn EventForm(data: StoredValue<CalendarData>, draft: Draft, here: String, heading: &'static str) -> impl IntoView {
    let actions = expect_context::<Actions>();
    let save_error = form_error(move || actions.save.value().get());
    let delete_error = form_error(move || actions.remove.value().get());
    let navigate = use_navigate();
    let here_after_save = here.clone();
    // Once hydrated, a saved or deleted event closes the dialog (without JS the server redirects).
    Effect::new(move |_| {
        let saved = matches!(actions.save.value().get(), Some(Ok(_)));
        let deleted = matches!(actions.remove.value().get(), Some(Ok(_)));
        if saved || deleted {
            actions.save.value().set(None);
            actions.remove.value().set(None);
            navigate(&here_after_save, Default::default());
        }
    });
    // The title has the focus when the dialog opens (`autofocus` only works on a page's first
    // load, not when the dialog is drawn after a click).
    Effect::new(move |_| {
        if let Some(title) = document().get_element_by_id("event-title") {
            let _ = leptos::wasm_bindgen::JsCast::unchecked_into::<leptos::web_sys::HtmlElement>(title).focus();
        }
    });
    let start_date = RwSignal::new(date_text(draft.start.date()));
    let clock = data.with_value(|d| d.clock);
    let start_time = RwSignal::new(time_label(draft.start.time(), clock));
    let last_day = if draft.all_day { draft.end.date() - Duration::days(1) } else { draft.end.date() };
    let end_date = RwSignal::new(date_text(last_day.max(draft.start.date())));
    let end_time = RwSignal::new(time_label(draft.end.time(), clock));
    let all_day = RwSignal::new(draft.all_day);
    let repeat = RwSignal::new(if draft.recurring { "keep".to_owned() } else { "none".to_owned() });
    let custom_rule = RwSignal::new(String::new());
    let except_id = draft.id.clone();
    let except_rid = draft.recurrence_id.clone();
    let conflict_text = move || {
        let parse = |d: String, t: String| {
            Some(NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?.and_time(calento::clock::parse_time_of_day(&t)?))
        };
        if all_day.get() {
            return None;
        }
        let (start, end) = (parse(start_date.get(), start_time.get()), parse(end_date.get(), end_time.get()));
        let (Some(start), Some(end)) = (start, end) else { return None };
        let names =
            data.with_value(|d| conflicts(d, start, end, except_id.as_deref().map(|id| (id, except_rid.as_deref()))));
        (!names.is_empty()).then(|| format!("Overlaps with {}.", names.join(", ")))
    };
    let choices =
        move || NaiveDate::parse_from_str(&start_date.get(), "%Y-%m-%d").map(repeat_choices).unwrap_or_default();
    let rule_summary = move || {
        let text = custom_rule.get();
        if text.trim().is_empty() {
            return String::new();
        }
        let start = NaiveDate::parse_from_str(&start_date.get(), "%Y-%m-%d")
            .map(|d| d.and_time(NaiveTime::MIN))
            .unwrap_or_default();
        match calento::recurrence::Rule::parse(&text) {
            Ok(rule) => calento::recurrence::describe(&rule, &calento::recurrence::CalTime::Floating(start)),
            Err(e) => e.to_string(),
        }
    };
    let calendars =
        data.with_value(|d| d.calendars.iter().filter(|c| c.source_url.is_none()).cloned().collect::<Vec<_>>());
    let keep_label = draft.repeats.clone().map(|r| format!("Keep: {r}"));
    let recurring = draft.recurring;
    let read_only = draft.read_only;
    let status_now = draft.details.status.as_str();
    let shown_as = draft.details.transparency.as_str();
    let guest_lines = draft.details.attendees.iter().map(calento::event::attendee_line).collect::<Vec<_>>().join("\n");
    let guests: Vec<(String, &'static str)> = draft
        .details
        .attendees
        .iter()
        .map(|a| (if a.name.is_empty() { a.email.clone() } else { a.name.clone() }, response_label(a.response)))
        .collect();
    let has_more = {
        let d = &draft.details;
        !d.url.is_empty()
            || d.color.is_some()
            || !d.tags.is_empty()
            || !d.attendees.is_empty()
            || d.status != calento::event::EventStatus::Confirmed
            || d.transparency != calento::event::Transparency::Busy
    };
    let id = draft.id.clone();
    let rid = draft.recurrence_id.clone();
    let back = here.clone();
    let delete_id = id.clone();
    let delete_rid = rid.clone().unwrap_or_default();
    let delete_back = back.clone();
    view! {
        <div class="dialog-backdrop">
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby="dialog-title"
                data-testid="event-dialog"
                on:keydown=keep_focus_in_dialog
            >
                <div class="dialog-head">
                    <h2 id="dialog-title">{heading}</h2>
                    <A href=here.clone() attr:class="button icon" attr:aria-label="Close" attr:data-testid="close-dialog">"×"</A>
                </div>
                {draft.repeats.clone().map(|r| view! { <p class="repeats" data-testid="repeats">{format!("Repeats: {r}")}</p> })}
                {read_only.then(|| view! { <p class="hint">"This event comes from a subscribed calendar and cannot be changed here."</p> })}
                <ActionForm action=actions.save attr:class="form event-form" attr:novalidate=true>
                    <FormError error=save_error />
                    <input type="hidden" name="id" value=id.clone().unwrap_or_default() />
                    <input type="hidden" name="recurrence_id" value=rid.clone().unwrap_or_default() />
                    <input type="hidden" name="back" value=back.clone() />
                    <input type="hidden" name="time_zone" value=draft.time_zone.clone() />
                    <div class="field">
                        <label for="event-title">"Title"</label>
                        <input id="event-title" name="title" value=draft.details.title.clone() required=true autofocus=true data-testid="event-title" />
                        <p class="field-error" role="alert">{move || save_error.get().and_then(|e| e.field_message("title"))}</p>
                    </div>
                    <label class="check">
                        <input type="checkbox" name="all_day" value="on" checked=all_day.get_untracked() on:change=move |ev| all_day.set(event_target_checked(&ev)) data-testid="all-day" />
                        "All day"
                    </label>
                    <div class="field-row">
                        <div class="field">
                            <label for="start-date">"Starts"</label>
                            <input id="start-date" type="date" name="start_date" value=start_date.get_untracked() on:input=move |ev| start_date.set(event_target_value(&ev)) data-testid="start-date" />
                        </div>
                        <div class="field" class:hidden=move || all_day.get()>
                            <label for="start-time">"at"</label>
                            <TimeField id="start-time" name="start_time" value=start_time clock />
                        </div>
                        <div class="field">
                            <label for="end-date">"Ends"</label>
                            <input id="end-date" type="date" name="end_date" value=end_date.get_untracked() on:input=move |ev| end_date.set(event_target_value(&ev)) data-testid="end-date" />
                        </div>
                        <div class="field" class:hidden=move || all_day.get()>
                            <label for="end-time">"at"</label>
                            <TimeField id="end-time" name="end_time" value=end_time clock />
                        </div>
                        <TimeChoices clock />
                    </div>
                    <p class="field-error" role="alert">{move || save_error.get().and_then(|e| e.field_message("end").or_else(|| e.field_message("start")))}</p>
                    <p class="warning" role="status" data-testid="overlap-warning">{conflict_text}</p>
                    <p class="hint">{format!("Times are in {}.", draft.time_zone)}</p>
                    <div class="field">
                        <label for="repeat">"Repeat"</label>
                        <select id="repeat" name="repeat" on:change=move |ev| repeat.set(event_target_value(&ev)) data-testid="repeat">
                            {keep_label.map(|label| view! { <option value="keep" selected=true>{label}</option> })}
                            {move || choices().into_iter().map(|c| {
                                let selected = repeat.get_untracked() == c.key;
                                view! { <option value=c.key selected=selected>{c.label}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field custom-rule" class:hidden=move || repeat.get() != "custom">
                        <label for="rrule">"Custom rule (RRULE)"</label>
                        <input id="rrule" name="rrule" placeholder="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE" on:input=move |ev| custom_rule.set(event_target_value(&ev)) data-testid="rrule" />
                        <p class="hint" data-testid="rule-summary">{rule_summary}</p>
                        <p class="field-error" role="alert">{move || save_error.get().and_then(|e| e.field_message("rrule"))}</p>
                    </div>
                    <div class="field">
                        <label for="reminder">"Reminder"</label>
                        <select id="reminder" name="reminder" data-testid="reminder">
                            {(draft.details.reminders.len() > 1).then(|| view! { <option value="keep" selected=true>{format!("Keep {} reminders", draft.details.reminders.len())}</option> })}
                            {REMINDER_CHOICES.iter().map(|(minutes, label)| {
                                let selected = draft.details.reminders.len() <= 1 && draft.details.reminders.first().copied() == *minutes;
                                view! { <option value=minutes.map(|m| m.to_string()).unwrap_or_default() selected=selected>{*label}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="calendar">"Calendar"</label>
                        <select id="calendar" name="calendar_id">
                            {calendars.into_iter().map(|c| {
                                let selected = c.id == draft.calendar_id;
                                view! { <option value=c.id selected=selected>{c.name}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="location">"Location"</label>
                        <input id="location" name="location" value=draft.details.location.clone() />
                    </div>
                    <div class="field">
                        <label for="description">"Description"</label>
                        <textarea id="description" name="description" rows="3">{crate::components::textarea_text(&draft.details.description)}</textarea>
                    </div>
                    <details class="more-details" open=has_more>
                        <summary data-testid="more-options">"More options"</summary>
                        <div class="field-row">
                            <div class="field">
                                <label for="status">"Status"</label>
                                <select id="status" name="status" data-testid="event-status">
                                    {[("confirmed", "Confirmed"), ("tentative", "Tentative"), ("cancelled", "Cancelled")].into_iter().map(|(value, label)| {
                                        view! { <option value=value selected=status_now == value>{label}</option> }
                                    }).collect_view()}
                                </select>
                            </div>
                            <div class="field">
                                <label for="transparency">"Show as"</label>
                                <select id="transparency" name="transparency" data-testid="event-transparency">
                                    {[("busy", "Busy"), ("free", "Free")].into_iter().map(|(value, label)| {
                                        view! { <option value=value selected=shown_as == value>{label}</option> }
                                    }).collect_view()}
                                </select>
                            </div>
                            <div class="field">
                                <label for="event-color">"Colour"</label>
                                <select id="event-color" name="color" data-testid="event-color">
                                    <option value="" selected=draft.details.color.is_none()>"Calendar colour"</option>
                                    {color_choices(draft.details.color.as_deref()).into_iter().map(|(value, label, selected)| {
                                        view! { <option value=value selected=selected>{label}</option> }
                                    }).collect_view()}
                                </select>
                            </div>
                        </div>
                        <div class="field">
                            <label for="event-url">"Link"</label>
                            <input id="event-url" type="url" name="url" placeholder="https://" value=draft.details.url.clone() data-testid="event-url" />
                            <p class="field-error" role="alert">{move || save_error.get().and_then(|e| e.field_message("url"))}</p>
                        </div>
                        <div class="field">
                            <label for="event-tags">"Tags"</label>
                            <input id="event-tags" name="tags" placeholder="work, deep focus" value=draft.details.tags.join(", ") data-testid="event-tags" />
                            <p class="field-error" role="alert">{move || save_error.get().and_then(|e| e.field_message("tags"))}</p>
                        </div>
                        <div class="field">
                            <label for="event-attendees">"Guests (one per line)"</label>
                            <textarea id="event-attendees" name="attendees" rows="2" placeholder="Ada Lovelace <ada@example.com>" data-testid="event-attendees">{guest_lines}</textarea>
                            <p class="field-error" role="alert">{move || save_error.get().and_then(|e| e.field_message("attendees"))}</p>
                            {(!guests.is_empty()).then(|| view! {
                                <ul class="attendees" data-testid="attendee-responses">
                                    {guests.into_iter().map(|(who, reply)| view! { <li>{who} " \u{2014} " {reply}</li> }).collect_view()}
                                </ul>
                            })}
                        </div>
                    </details>
                    {recurring.then(|| view! { <ScopeChoice name="scope" testid="save-scope" /> })}
                    <div class="dialog-actions">
                        <button type="submit" class="primary" disabled=read_only data-testid="save-event">"Save"</button>
                    </div>
                </ActionForm>
                {delete_id.filter(|_| !read_only).map(|id| view! {
                    <ActionForm action=actions.remove attr:class="form delete-form">
                        <FormError error=delete_error />
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="recurrence_id" value=delete_rid />
                        <input type="hidden" name="back" value=delete_back />
                        {recurring.then(|| view! { <ScopeChoice name="scope" testid="delete-scope" /> })}
                        <button type="submit" class="danger" data-testid="delete-event">"Delete"</button>
                    </ActionForm>
                })}
            </div>
        </div>
        <TimeZoneOptions />
    }
}

/// Colours offered for an event, with the event's own colour kept when it is not one of them.
fn color_choices(current: Option<&str>) -> Vec<(String, String, bool)> {
    const COLORS: [(&str, &str); 8] = [
        ("#d50000", "Tomato"),
        ("#f4511e", "Tangerine"),
        ("#f6bf26", "Banana"),
        ("#33b679", "Basil"),
        ("#039be5", "Peacock"),
        ("#3f51b5", "Blueberry"),
        ("#8e24aa", "Grape"),
        ("#616161", "Graphite"),
    ];
    let mut choices: Vec<(String, String, bool)> = COLORS
        .iter()
        .map(|(value, label)| ((*value).to_owned(), (*label).to_owned(), current == Some(*value)))
        .collect();
    if let Some(color) = current.filter(|c| !COLORS.iter().any(|(value, _)| value == c)) {
        choices.push((color.to_owned(), format!("Custom ({color})"), true));
    }
    choices
}

fn response_label(response: calento::event::Response) -> &'static str {
    match response {
        calento::event::Response::NeedsAction => "awaiting reply",
        calento::event::Response::Accepted => "going",
        calento::event::Response::Declined => "not going",
        calento::event::Response::Tentative => "maybe",
    }
}

/// "This event / This and following / All events", asked whenever an event repeats.
#[component]
fn ScopeChoice(name: &'static str, testid: &'static str) -> impl IntoView {
    view! {
        <fieldset class="scope" data-testid=testid>
            <legend>"Apply to"</legend>
            <label><input type="radio" name=name value="this" checked=true />" This event"</label>
            <label><input type="radio" name=name value="following" />" This and following events"</label>
            <label><input type="radio" name=name value="all" />" All events"</label>
        </fieldset>
    }
}

/// Asked after dragging an occurrence of a repeating event: which occurrences move.
#[component]
fn MoveScopeDialog() -> impl IntoView {
    let actions = expect_context::<Actions>();
    let choose = move |scope: Option<&'static str>| {
        if let Some(mut change) = actions.pending_move.get_untracked() {
            actions.pending_move.set(None);
            if let Some(scope) = scope {
                change.scope = Some(scope.to_owned());
                actions.moved.dispatch(change);
            }
        }
    };
    view! {
        <div class="dialog-backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="move-title" data-testid="move-scope">
                <h2 id="move-title">"Move repeating event"</h2>
                <div class="scope-buttons">
                    <button type="button" class="primary" on:click=move |_| choose(Some("this")) data-testid="move-this">"This event"</button>
                    <button type="button" on:click=move |_| choose(Some("following")) data-testid="move-following">"This and following events"</button>
                    <button type="button" on:click=move |_| choose(Some("all")) data-testid="move-all">"All events"</button>
                    <button type="button" on:click=move |_| choose(None) data-testid="move-cancel">"Cancel"</button>
                </div>
            </div>
        </div>
    }
}

#[component]
fn ShortcutsDialog(here: String) -> impl IntoView {
    let keys = [
        ("d / w / m / a", "Day, week, month, agenda view"),
        ("t", "Today"),
        ("j or → / k or ←", "Next / previous period"),
        ("c", "Create an event"),
        ("/", "Search"),
        ("?", "Show these shortcuts"),
        ("Esc", "Close a dialog"),
    ];
    view! {
        <div class="dialog-backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="keys-title" data-testid="shortcuts">
                <div class="dialog-head">
                    <h2 id="keys-title">"Keyboard shortcuts"</h2>
                    <A href=here attr:class="button icon" attr:aria-label="Close">"×"</A>
                </div>
                <dl class="shortcuts">
                    {keys.into_iter().map(|(k, what)| view! { <dt><kbd>{k}</kbd></dt><dd>{what}</dd> }).collect_view()}
                </dl>
            </div>
        </div>
    }
}

/// d/w/m/a, t, j/k and arrows, c, / and ?, once hydrated; ignored while typing.
fn keyboard_shortcuts(data: StoredValue<CalendarData>, here: String) {
    let navigate = use_navigate();
    let actions = use_context::<Actions>();
    provide_context(ZoneName(data.with_value(|d| d.time_zone.clone())));
    Effect::new(move |_| {
        let navigate = navigate.clone();
        let here = here.clone();
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let typing = ev
                .target()
                .and_then(|t| leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::Element>(t).ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            if typing {
                return;
            }
            if let Some(actions) = actions.filter(|a| a.pending_move.get_untracked().is_some()) {
                if ev.key() == "Escape" {
                    actions.pending_move.set(None);
                }
                return;
            }
            let (view, date, today) = data.with_value(|d| (d.view, d.date, d.today));
            let go =
                |view: ViewKind, date: NaiveDate| format!("/calendar?view={}&date={}", view.as_str(), date_text(date));
            let target = match ev.key().as_str() {
                "d" => Some(go(ViewKind::Day, date)),
                "w" => Some(go(ViewKind::Week, date)),
                "m" => Some(go(ViewKind::Month, date)),
                "a" => Some(go(ViewKind::Agenda, date)),
                "t" => Some(go(view, today)),
                "j" | "ArrowRight" => Some(go(view, view.step(date, 1))),
                "k" | "ArrowLeft" => Some(go(view, view.step(date, -1))),
                "c" => Some(format!("{here}&new={}T09:00", date_text(date))),
                "/" => Some("/calendar/search".to_owned()),
                "?" => Some(format!("{here}&keys=1")),
                "Escape" => Some(here.clone()),
                _ => None,
            };
            if let Some(target) = target {
                ev.prevent_default();
                navigate(&target, Default::default());
            }
        });
        // Tells people's tools and the end-to-end tests that the keys now work.
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-shortcuts", "ready");
        }
        on_cleanup(move || handle.remove());
    });
}

/// The task being dragged from the tray: its id and how long its block should be.
#[derive(Clone, Copy)]
struct DraggedTask(RwSignal<Option<(String, u32)>>);

/// Drops a dragged task on a day column: a block at the 15-minute mark under the pointer,
/// as long as the task's estimate (30 minutes without one).
fn drop_task(day: NaiveDate) -> impl Fn(leptos::ev::DragEvent) + 'static {
    let actions = use_context::<Actions>();
    let dragged = use_context::<DraggedTask>();
    move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        let (Some(actions), Some(dragged)) = (actions, dragged) else { return };
        let Some((task_id, minutes)) = dragged.0.get_untracked() else { return };
        dragged.0.set(None);
        #[cfg(feature = "hydrate")]
        let top = ev
            .current_target()
            .and_then(|t| leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::Element>(t).ok())
            .map(|el| el.get_bounding_client_rect().top())
            .unwrap_or_default();
        #[cfg(not(feature = "hydrate"))]
        let top = 0.0;
        let offset = (f64::from(ev.client_y()) - top).max(0.0);
        let at = ((offset / HOUR_PX * 60.0 / 15.0).floor() as i64 * 15).clamp(0, 24 * 60 - 15);
        let start = day.and_time(NaiveTime::MIN) + Duration::minutes(at);
        let end = start + Duration::minutes(i64::from(minutes.max(15)));
        let text = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M").to_string();
        actions.boxed.dispatch(crate::server::tasks::TimeboxTask { task_id, start: text(start), end: text(end) });
    }
}

/// Open tasks to drag onto the week or day view, each becoming a time block.
#[component]
fn TaskTray(tray: Resource<Result<Vec<crate::models::TaskInfo>, crate::AppError>>) -> impl IntoView {
    let dragged = expect_context::<DraggedTask>();
    let actions = expect_context::<Actions>();
    let error = move || match actions.boxed.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    view! {
        <details class="task-tray" data-testid="task-tray">
            <summary>"Tasks: drag one onto the calendar to block time for it"</summary>
            <p class="form-error" role="alert">{error}</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let tasks = tray.await.unwrap_or_default();
                    if tasks.is_empty() {
                        return view! { <p class="empty">"No open tasks."</p> }.into_any();
                    }
                    view! {
                        <ul>
                            {tasks.into_iter().take(100).map(|task| {
                                let minutes = task.estimate_minutes.unwrap_or(30);
                                let id = task.id.clone();
                                view! {
                                    <li
                                        draggable="true"
                                        class="tray-task"
                                        data-testid="tray-task"
                                        data-title=task.title.clone()
                                        on:dragstart=move |ev: leptos::ev::DragEvent| {
                                            // Firefox starts a drag only with data set.
                                            #[cfg(feature = "hydrate")]
                                            if let Some(transfer) = ev.data_transfer() {
                                                let _ = transfer.set_data("text/plain", &id);
                                            }
                                            #[cfg(not(feature = "hydrate"))]
                                            let _ = &ev;
                                            dragged.0.set(Some((id.clone(), minutes)));
                                        }
                                    >
                                        {task.title.clone()}
                                        <span class="hint">{format!(" · {minutes} min")}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                    .into_any()
                })}
            </Transition>
        </details>
    }
    .into_any()
}
