//! The calendar: day, week, month and agenda views, the event dialog with its repeat
//! editor and edit scopes, drag to move and resize, and keyboard shortcuts.
//!
//! Everything is a link or a form first (the URL holds the view, the date and an open
//! dialog), so the page works without JavaScript; hydrated, it adds dragging and keys.
//! Its links are plain `<a>` (the router still moves between them in place): the router's
//! `A` marks every link whose path is the current one as the current page, and every link
//! here is `/calendar` with a different query.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use calento::ClockFormat;
use calento::calendar_view::{ViewKind, lay_out_day, minutes_into, repeat_choices};

use crate::components::{FormError, RequireUser, TimeZoneOptions, form_error, percent_encode};
use crate::models::{CalendarData, Deleted, EventInfo, ViewItem};
use crate::server::calendar::{DeleteEvent, MoveEvent, SaveEvent, UndoDelete, event_details, load_calendar};

/// Height of one hour in the day and week grids, in pixels (CSS uses the same number).
const HOUR_PX: f64 = 48.0;
/// Events shown in a month cell before "+N more".
const MONTH_CELL_ITEMS: usize = 3;

/// The URL of a view at a date; dialogs add their own parameters to it.
fn view_href(view: ViewKind, date: NaiveDate) -> String {
    format!("/calendar?view={}&date={}", view.as_str(), date.format("%Y-%m-%d"))
}

/// `2030-01-14` (a date's `Display` is ISO 8601 for the years a calendar shows).
fn date_text(date: NaiveDate) -> String {
    date.to_string()
}

/// `09:30`, or `9:30 AM` / `9 AM` on the 12-hour clock (written directly: `format` with a
/// pattern reads the pattern again for every time, and a week grid writes hundreds).
/// A time of day in the person's clock ("14:30" or "2:30 PM").
pub(crate) fn time_label(time: NaiveTime, clock: ClockFormat) -> String {
    let (hour, minute) = (time.hour(), time.minute());
    match clock {
        ClockFormat::H24 => format!("{hour:02}:{minute:02}"),
        ClockFormat::H12 => {
            let (pm, hour12) = time.hour12();
            let half = if pm { "PM" } else { "AM" };
            if minute == 0 { format!("{hour12} {half}") } else { format!("{hour12}:{minute:02} {half}") }
        }
    }
}

fn hour_label(hour: u32, clock: ClockFormat) -> String {
    NaiveTime::from_hms_opt(hour, 0, 0).map(|t| time_label(t, clock)).unwrap_or_default()
}

#[component]
pub fn CalendarPage() -> impl IntoView {
    let query = use_query_map();
    // No view named: the server picks one for the device (three days on a phone, else the
    // week) and says which in the data, so the page and its hydration agree.
    let view_kind = Memo::new(move |_| {
        query.read().get("view").and_then(|v| ViewKind::parse(&v)).map(ViewKind::as_str).unwrap_or_default()
    });
    let date_param = Memo::new(move |_| query.read().get("date").unwrap_or_default());
    let save = ServerAction::<SaveEvent>::new();
    let remove = ServerAction::<DeleteEvent>::new();
    let moved = ServerAction::<MoveEvent>::new();
    let restore = ServerAction::<UndoDelete>::new();
    let boxed = ServerAction::<crate::server::tasks::TimeboxTask>::new();
    // Changes made elsewhere (another tab, a phone, a calendar app, a booking) refetch too.
    let live = crate::live::Live::here();
    let data = Resource::new(
        move || {
            (
                view_kind.get(),
                date_param.get(),
                save.version().get(),
                remove.version().get(),
                moved.version().get(),
                restore.version().get(),
                boxed.version().get(),
                live.calendar.get(),
            )
        },
        |(view, date, ..)| load_calendar(view.to_owned(), date),
    );
    let opened = Resource::new(
        move || (query.read().get("event"), save.version().get(), moved.version().get(), live.calendar.get()),
        |(id, ..)| async move {
            match id {
                Some(id) => event_details(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    provide_context(OpenedEvent(opened));
    let tray = Resource::new(
        move || (boxed.version().get(), live.tasks.get()),
        |_| crate::server::tasks::list_tasks("all".to_owned(), None, None, None),
    );
    let actions = Actions {
        boxed,
        save,
        remove,
        moved,
        restore,
        pending_move: RwSignal::new(None),
        undo: RwSignal::new(None),
        toast: RwSignal::new(None),
        refocus: StoredValue::new(None),
    };
    provide_context(actions);
    // A move that was saved offers to put it back (a later move or delete replaces it).
    Effect::new(move |_| {
        if matches!(moved.value().get(), Some(Ok(_)))
            && let Some((title, back)) = actions.undo.get_untracked()
        {
            actions.undo.set(None);
            actions.offer(format!("Moved \u{201c}{title}\u{201d}"), Undo::Move(back));
        }
    });
    Effect::new(move |_| match restore.value().get() {
        Some(Ok(title)) => actions.offer(format!("\u{201c}{title}\u{201d} is back"), Undo::Nothing),
        Some(Err(error)) => actions.offer(error.to_string(), Undo::Nothing),
        None => {}
    });
    // Without JavaScript a delete comes back here with its token: the same offer, as a form.
    let deleted_token = Memo::new(move |_| query.read().get("deleted"));
    let back_here = move || {
        let view = query.read().get("view").map(|v| format!("view={}&", percent_encode(&v))).unwrap_or_default();
        format!("/calendar?{view}date={}", percent_encode(&date_param.get()))
    };
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
                                let timed = data.view.is_timed();
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
            {move || actions.toast.get().map(|Toast { text, undo, .. }| {
                let testid = match undo {
                    Undo::Move(_) => "undo-move",
                    Undo::Delete(_) => "undo-delete",
                    Undo::Nothing => "",
                };
                let undo = StoredValue::new(undo);
                view! {
                    <div class="undo-toast" role="status" data-testid="undo-toast">
                        <span>{text}</span>
                        {(!testid.is_empty()).then(|| view! {
                            <button
                                type="button"
                                data-testid=testid
                                on:click=move |_| {
                                    actions.toast.set(None);
                                    match undo.get_value() {
                                        Undo::Move(back) => {
                                            actions.moved.dispatch(back);
                                        }
                                        Undo::Delete(token) => {
                                            actions.restore.dispatch(UndoDelete { token, back: None });
                                        }
                                        Undo::Nothing => {}
                                    }
                                }
                            >
                                "Undo"
                            </button>
                        })}
                    </div>
                }
            })}
            {move || deleted_token.get().filter(|_| restore.version().get() == 0 && actions.toast.with(Option::is_none)).map(|token| view! {
                <ActionForm action=restore attr:class="undo-toast" attr:data-testid="undo-toast">
                    <span>"Event deleted."</span>
                    <input type="hidden" name="token" value=token />
                    <input type="hidden" name="back" value=back_here() />
                    <button type="submit" data-testid="undo-delete">"Undo"</button>
                </ActionForm>
            })}
        </RequireUser>
    }
}

/// What the toast at the bottom of the calendar puts back.
#[derive(Clone)]
enum Undo {
    /// The move back of a moved event.
    Move(MoveEvent),
    /// A deleted event's token.
    Delete(String),
    /// Only a message.
    Nothing,
}

#[derive(Clone)]
struct Toast {
    id: u64,
    text: String,
    undo: Undo,
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
    /// Puts back a deleted event.
    restore: ServerAction<UndoDelete>,
    /// The last move's title and the move that puts it back, offered as "Undo".
    undo: RwSignal<Option<(String, MoveEvent)>>,
    /// The toast shown: what just happened, and its undo (for eight seconds).
    toast: RwSignal<Option<Toast>>,
    /// The event (id, occurrence) moved with the keyboard, to focus again once redrawn.
    refocus: StoredValue<Option<String>>,
}

impl Actions {
    /// Shows a toast for eight seconds (a later one replaces it).
    fn offer(self, text: String, undo: Undo) {
        let id = self.toast.with_untracked(|t| t.as_ref().map_or(0, |t| t.id)) + 1;
        self.toast.set(Some(Toast { id, text, undo }));
        #[cfg(feature = "hydrate")]
        set_timeout(
            move || {
                if self.toast.with_untracked(|t| t.as_ref().is_some_and(|t| t.id == id)) {
                    self.toast.set(None);
                }
            },
            std::time::Duration::from_secs(8),
        );
    }

    /// After a delete: "Deleted …" with its undo.
    fn offer_undo_delete(self, deleted: Deleted) {
        if !deleted.undo.is_empty() {
            self.offer(format!("Deleted \u{201c}{}\u{201d}", deleted.title), Undo::Delete(deleted.undo));
        }
    }

    /// Saves a move of `item` by whole days and minutes (a resize moves its end only), in
    /// the viewer's zone; a repeating event asks "this, following or all" first. A single
    /// event's move, or one occurrence's, can be undone.
    fn save_move(self, item: &ViewItem, days: i64, minutes: i64, resize: bool, zone: &str) {
        let (start, end) = if resize {
            (
                item.local_start,
                (item.local_end + Duration::minutes(minutes)).max(item.local_start + Duration::minutes(15)),
            )
        } else {
            let shift = Duration::minutes(minutes) + Duration::days(days);
            (item.local_start + shift, item.local_end + shift)
        };
        let tz = calento::TimeZoneName::parse(zone).map(|z| z.tz()).unwrap_or(chrono_tz::Tz::UTC);
        let utc =
            |t: NaiveDateTime| format!("{}Z", calento::recurrence::local_to_utc(tz, t).format("%Y-%m-%dT%H:%M:%S"));
        let change = |start: NaiveDateTime, end: NaiveDateTime, scope: Option<&str>| MoveEvent {
            id: item.event_id.clone(),
            recurrence_id: item.recurrence_id.clone(),
            start_utc: utc(start),
            end_utc: utc(end),
            scope: scope.map(str::to_owned),
        };
        if item.recurring {
            self.undo.set(Some((item.summary.clone(), change(item.local_start, item.local_end, Some("this")))));
            self.pending_move.set(Some(change(start, end, None)));
        } else {
            self.undo.set(Some((item.summary.clone(), change(item.local_start, item.local_end, None))));
            self.moved.dispatch(change(start, end, None));
        }
    }
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
    let open_mode = Memo::new(move |_| {
        let query = query.read();
        if query.get("copy").is_some() {
            Open::Copy
        } else if query.get("edit").is_some() {
            Open::Edit
        } else {
            Open::Card
        }
    });
    let show_keys = Memo::new(move |_| query.read().get("keys").is_some());
    let here_for_keys = here.clone();
    keyboard_shortcuts(data, here_for_keys);
    let dialog_open = Memo::new(move |_| open_event.get().is_some() || new_at.get().is_some() || show_keys.get());
    return_focus_after_dialogs(dialog_open);
    let pending_move = expect_context::<Actions>().pending_move;
    let (view_kind, date, today_date, zone) = data.with_value(|d| (d.view, d.date, d.today, d.time_zone.clone()));
    view! {
        <div class="calendar-toolbar">
            <a href=today.clone() class="button" data-testid="today-button">
                "Today"
            </a>
            <a href=prev class="button icon" aria-label="Previous" data-testid="prev">
                "‹"
            </a>
            <a href=next class="button icon" aria-label="Next" data-testid="next">
                "›"
            </a>
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
                            <a
                                href=href
                                class=if current { "button selected" } else { "button" }
                                aria-current=current.then_some("page")
                            >
                                {kind.label()}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
            <a href=format!("{here}&new={}&quick=1", create_at(data)) class="button primary" data-testid="create">
                "Create"
            </a>
            <a href="/calendar/search" class="button" data-testid="search">
                "Search"
            </a>
            <a href=format!("{here}&keys=1") class="button icon" aria-label="Keyboard shortcuts">
                "?"
            </a>
        </div>
        <p class="calendar-zone" data-testid="today">
            "Today is " {today_date.format("%A %-d %B %Y").to_string()} " in " {zone} "."
        </p>
        {match view_kind {
            ViewKind::Day | ViewKind::ThreeDays | ViewKind::Week => view! { <TimeGrid data here=here.clone() /> }.into_any(),
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
                view! { <EventDialog data id rid=open_rid.get() here mode=open_mode.get() /> }.into_any()
            } else if let Some(at) = new_at.get() {
                let query = query.read_untracked();
                if query.get("quick").is_some() {
                    view! { <QuickCreate data at here /> }.into_any()
                } else {
                    let (until, title, calendar) = (query.get("until"), query.get("title"), query.get("calendar"));
                    view! { <NewEventDialog data at until title calendar here /> }.into_any()
                }
            } else {
                ().into_any()
            }
        }}
    }
}

/// The link that opens an occurrence's dialog.
fn item_href(here: &str, item: &ViewItem) -> String {
    event_href(here, &item.event_id, item.recurrence_id.as_deref())
}

/// The link that opens an event (at one occurrence of a series) on the view at `here`.
fn event_href(here: &str, id: &str, rid: Option<&str>) -> String {
    let rid = rid.map(|r| format!("&rid={}", percent_encode(r))).unwrap_or_default();
    format!("{here}&event={}{rid}", percent_encode(id))
}

fn item_time(item: &ViewItem, clock: ClockFormat) -> String {
    if item.all_day {
        "All day".to_owned()
    } else {
        format!("{} – {}", time_label(item.local_start.time(), clock), time_label(item.local_end.time(), clock))
    }
}

/// All-day items and timed items longer than a day go in the all-day row.
fn in_all_day_row(item: &ViewItem) -> bool {
    item.all_day || item.local_end - item.local_start >= Duration::hours(24)
}

/// An all-day bar: the item (its index in the view's items), the first column it covers
/// and how many, its lane, and whether it goes on before or after the days shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bar {
    index: usize,
    column: usize,
    span: usize,
    lane: usize,
    before: bool,
    after: bool,
}

/// Lays out the all-day row of `columns` days from `first`: each bar takes the first lane
/// that is free on every day it covers (items come sorted by start). Returns the bars and
/// the number of lanes.
fn all_day_bars(items: &[ViewItem], first: NaiveDate, columns: usize) -> (Vec<Bar>, usize) {
    let mut lane_ends: Vec<usize> = Vec::new();
    let mut bars = Vec::new();
    for (index, item) in items.iter().enumerate().filter(|(_, i)| in_all_day_row(i)) {
        // The last day covered: an end at midnight belongs to the day before.
        let last = if item.local_end.time() == NaiveTime::MIN && item.local_end > item.local_start {
            item.local_end.date() - Duration::days(1)
        } else {
            item.local_end.date()
        };
        let from = (item.local_start.date() - first).num_days();
        let to = (last - first).num_days();
        if to < 0 || from >= columns as i64 {
            continue;
        }
        let column = from.max(0) as usize;
        let end = (to as usize + 1).min(columns);
        let lane = match lane_ends.iter().position(|e| *e <= column) {
            Some(lane) => {
                lane_ends[lane] = end;
                lane
            }
            None => {
                lane_ends.push(end);
                lane_ends.len() - 1
            }
        };
        bars.push(Bar { index, column, span: end - column, lane, before: from < 0, after: to >= columns as i64 });
    }
    (bars, lane_ends.len())
}

#[component]
fn TimeGrid(data: StoredValue<CalendarData>, here: String) -> impl IntoView {
    let (first, end, clock, today, now) = data.with_value(|d| (d.first_day, d.end_day, d.clock, d.today, d.now));
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d < end).collect();
    let columns = days.len();
    let drag = DragState { current: RwSignal::new(None), just_dropped: StoredValue::new(false) };
    watch_drags(drag, data);
    // An event moved with the keyboard keeps the focus once the grid is drawn again.
    if let Some(actions) = use_context::<Actions>()
        && let Some(id) = actions.refocus.get_value()
    {
        actions.refocus.set_value(None);
        Effect::new(move |_| {
            let selector = format!(".event-block a.event-link[href*=\"event={id}\"]");
            request_animation_frame(move || {
                if let Some(link) = document().query_selector(&selector).ok().flatten() {
                    let _ = leptos::wasm_bindgen::JsCast::unchecked_into::<leptos::web_sys::HtmlElement>(link).focus();
                }
            });
        });
    }
    // All-day events (and timed ones of a day or more) as bars across the days they cover,
    // each in the first lane free on all of them, as calendar apps draw them.
    let (bars, lanes) = data.with_value(|d| all_day_bars(&d.items, first, columns));
    let cells = (0..columns)
        .map(|c| view! { <div class="all-day-cell" style=format!("grid-column: {}", c + 2)></div> })
        .collect_view();
    let all_day_row = bars
        .into_iter()
        .map(|bar| {
            let item = data.with_value(|d| d.items[bar.index].clone());
            let href = item_href(&here, &item);
            let style = format!(
                "grid-column: {} / span {}; grid-row: {}; --event-color: {}; --event-text: {}",
                bar.column + 2,
                bar.span,
                bar.lane + 1,
                item.color,
                crate::components::text_on(&item.color)
            );
            view! {
                <a
                    href=href
                    class="chip all-day-bar"
                    class:continues-before=bar.before
                    class:continues-after=bar.after
                    style=style
                    data-testid="event"
                >
                    {item.summary}
                </a>
            }
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
    // Each column's slots and events are written as one string of markup (`column_markup`)
    // rather than a view per element: a week of 500 events cost the server 7× its empty
    // week as views (BENCHMARKS.md, "Week view with 500 events"). The browser keeps the
    // server's markup when it hydrates (`inner_html` is not re-applied), and one handler
    // per column finds the event a pointer went down on by its `data-i`.
    let day_columns = days
        .iter()
        .map(|day| {
            let day = *day;
            let now_top = (day == today).then(|| f64::from(now.num_seconds_from_midnight()) / 3600.0 * HOUR_PX);
            let markup = data.with_value(|d| column_markup(day, &here, clock, &d.items, now_top));
            let on_drop = drop_task(day);
            view! {
                <div
                    class="day-column"
                    class:today=day == today
                    data-date=date_text(day)
                    on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
                    on:drop=on_drop
                    on:pointerdown=move |ev| start_drag(ev, data, drag)
                    // No native drag of an event's link or text: it would cancel the pointer's drag.
                    on:dragstart=|ev: leptos::ev::DragEvent| {
                        if in_event_block(ev.target()) {
                            ev.prevent_default();
                        }
                    }
                    on:click=move |ev: leptos::ev::MouseEvent| {
                        // The click that ends a drag lands on the link under the pointer.
                        if drag.just_dropped.get_value() {
                            drag.just_dropped.set_value(false);
                            ev.prevent_default();
                            ev.stop_propagation();
                        }
                    }
                    inner_html=markup
                ></div>
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
            <div class="grid-all-day" style=format!("--lanes: {}", lanes.max(1))>
                <div class="gutter all-day-label">"All day"</div>
                {cells}
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
    /// The item's index in the view's items (its blocks' `data-i`).
    index: usize,
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
fn watch_drags(state: DragState, data: StoredValue<CalendarData>) {
    let drag = state.current;
    let actions = expect_context::<Actions>();
    let zone = use_context::<ZoneName>().map(|z| z.0).unwrap_or_default();
    Effect::new(move |_| drag.with(|d| show_drag(d.as_ref())));
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
            if let Some(item) = data.with_value(|data| data.items.get(d.index).cloned()) {
                actions.save_move(&item, d.dx_days, d.dy_minutes, d.resize, &zone);
            }
        });
        on_cleanup(move || {
            moving.remove();
            cancelling.remove();
            releasing.remove();
        });
    });
}

/// The contents of one day column of the week or day grid, as markup: 24 hour slots (links
/// that open the new-event dialog), the day's timed events laid out side by side, and the
/// now-line. An event block carries `data-i`, its index in the view's items, which the
/// column's pointer handler reads; its style places it with three custom properties a drag
/// sets (`--dy`, `--dh`: pixels down and taller; `--dx`: days to the right).
fn column_markup(day: NaiveDate, here: &str, clock: ClockFormat, items: &[ViewItem], now_top: Option<f64>) -> String {
    use std::fmt::Write;
    let midnight = day.and_time(NaiveTime::MIN);
    let next_midnight = midnight + Duration::days(1);
    let timed: Vec<usize> = (0..items.len())
        .filter(|i| {
            let item = &items[*i];
            !in_all_day_row(item)
                && item.local_start < next_midnight
                && item.local_end.max(item.local_start + Duration::minutes(1)) > midnight
        })
        .collect();
    let spans: Vec<(i64, i64)> = timed
        .iter()
        .map(|i| (minutes_into(day, items[*i].local_start), minutes_into(day, items[*i].local_end)))
        .collect();
    let slots = lay_out_day(&spans);
    let mut out = String::with_capacity(24 * 110 + timed.len() * 480);
    let mut here_html = String::with_capacity(here.len() + 8);
    crate::components::push_escaped(&mut here_html, here);
    let date = date_text(day);
    for h in 0..24u32 {
        let _ = write!(
            out,
            r#"<a href="{here_html}&amp;new={date}T{h:02}:00&amp;quick=1" class="slot" aria-label="Create at {}"></a>"#,
            hour_label(h, clock)
        );
    }
    for (i, place) in timed.into_iter().zip(slots) {
        let item = &items[i];
        let minutes = place.bottom - place.top;
        let width = 100.0 / place.columns as f64;
        out.push_str(r#"<div class="event-block"#);
        // Under 45 minutes the title and time share one line; under 25 they shrink to fit, so
        // a short event shows its title whole instead of cut through the middle of a line.
        for (on, class) in [
            (minutes < 45, " short"),
            (minutes < 25, " tiny"),
            (!item.busy, " free"),
            (item.status == calento::event::EventStatus::Tentative, " tentative"),
        ] {
            if on {
                out.push_str(class);
            }
        }
        let _ = write!(
            out,
            r#"" style="top: calc({:.1}px + var(--dy, 0px)); height: max({MIN_BLOCK_PX}px, calc({:.1}px + var(--dh, 0px))); left: calc({:.3}% + var(--dx, 0) * 100%); width: {width:.3}%; --event-color: "#,
            place.top as f64 / 60.0 * HOUR_PX,
            minutes as f64 / 60.0 * HOUR_PX,
            width * place.column as f64,
        );
        crate::components::push_escaped(&mut out, &item.color);
        let _ = write!(
            out,
            r#"; --event-text: {}" data-testid="event" data-i="{i}"><a href=""#,
            crate::components::text_on(&item.color)
        );
        crate::components::push_escaped(&mut out, &item_href(here, item));
        out.push_str(r#"" class="event-link" draggable="false"><span class="event-title">"#);
        crate::components::push_escaped(&mut out, &item.summary);
        out.push_str(r#"</span><span class="event-time">"#);
        out.push_str(&item_time(item, clock));
        out.push_str("</span></a>");
        if !item.read_only {
            out.push_str(r#"<span class="resize-handle" aria-hidden="true"></span>"#);
        }
        out.push_str("</div>");
    }
    if let Some(top) = now_top {
        let _ = write!(out, r#"<div class="now-line" style="top: {top:.1}px" data-testid="now-line"></div>"#);
    }
    out
}

/// The shortest an event block is drawn, in pixels (a 5-minute event stays clickable; a
/// resize stops at 15 minutes, 12 px).
const MIN_BLOCK_PX: f64 = 14.0;

/// The index of the event whose link has the keyboard's focus, if any.
fn focused_event(ev: &leptos::ev::KeyboardEvent) -> Option<usize> {
    use leptos::wasm_bindgen::JsCast;
    let target = ev.target()?.dyn_into::<leptos::web_sys::Element>().ok()?;
    target.closest(".event-block").ok()??.get_attribute("data-i")?.parse().ok()
}

/// Whether an event's target is inside an event block of the grid.
fn in_event_block(target: Option<leptos::web_sys::EventTarget>) -> bool {
    use leptos::wasm_bindgen::JsCast;
    target
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
        .and_then(|el| el.closest(".event-block").ok().flatten())
        .is_some()
}

/// A pointer went down in a day column: on an event block (not read-only), a drag starts,
/// a move or, on the block's lower edge, a resize.
fn start_drag(ev: leptos::ev::PointerEvent, data: StoredValue<CalendarData>, drag: DragState) {
    use leptos::wasm_bindgen::JsCast;
    if ev.button() != 0 || !ev.is_primary() {
        return;
    }
    let Some(target) = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok()) else { return };
    let Some(block) = target.closest(".event-block").ok().flatten() else { return };
    let Some(index) = block.get_attribute("data-i").and_then(|i| i.parse::<usize>().ok()) else { return };
    let Some(item) = data.with_value(|d| d.items.get(index).cloned()) else { return };
    if item.read_only {
        return;
    }
    drag.current.set(Some(Drag {
        index,
        resize: target.class_list().contains("resize-handle"),
        pointer: ev.pointer_id(),
        origin_x: ev.client_x(),
        origin_y: ev.client_y(),
        dx_days: 0,
        dy_minutes: 0,
    }));
}

/// Draws a drag in progress on the dragged event's blocks (an event crossing midnight has
/// one per day): the `dragging` class and the custom properties its style reads. The
/// blocks are the server's markup, so this is done on the elements, not through a view.
fn show_drag(drag: Option<&Drag>) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::web_sys::HtmlElement;
        let each = |selector: &str, f: &dyn Fn(&HtmlElement)| {
            if let Ok(list) = document().query_selector_all(selector) {
                for el in
                    (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into::<HtmlElement>().ok())
                {
                    f(&el);
                }
            }
        };
        each(".event-block.dragging", &|el| {
            let _ = el.class_list().remove_1("dragging");
            let style = el.style();
            for property in ["--dx", "--dy", "--dh"] {
                let _ = style.remove_property(property);
            }
        });
        let Some(d) = drag else { return };
        let pixels = d.dy_minutes as f64 / 60.0 * HOUR_PX;
        let (dx, dy, dh) = if d.resize { (0, 0.0, pixels) } else { (d.dx_days, pixels, 0.0) };
        each(&format!(".event-block[data-i=\"{}\"]", d.index), &|el| {
            let _ = el.class_list().add_1("dragging");
            let style = el.style();
            let _ = style.set_property("--dx", &dx.to_string());
            let _ = style.set_property("--dy", &format!("{dy:.1}px"));
            let _ = style.set_property("--dh", &format!("{dh:.1}px"));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = drag;
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
                        item.summary.clone()
                    } else {
                        format!("{} {}", time_label(item.local_start.time(), clock), item.summary)
                    };
                    let href = item_href(&here, item);
                    let style =
                        format!("--event-color: {}; --event-text: {}", item.color, crate::components::text_on(&item.color));
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
            let new_href = format!("{here}&new={}T09:00&quick=1", date_text(day));
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
                    let summary = item.summary.clone();
                    let location = item.location.clone();
                    view! {
                        <li>
                            <span class="agenda-time">{item_time(item, clock)}</span>
                            <span class="dot" style=format!("--event-color: {}", item.color)></span>
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
        .filter(|i| i.busy && !i.all_day && i.local_start < end && i.local_end > start)
        .filter(|i| match except {
            Some((id, rid)) => !(i.event_id == id && i.recurrence_id.as_deref() == rid),
            None => true,
        })
        .map(|i| i.summary.clone())
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

impl Draft {
    /// A new single event with this one's details and times, in one of the person's own
    /// calendars (a subscribed calendar's event is copied into the first of theirs).
    fn copied(self, data: StoredValue<CalendarData>) -> Self {
        let calendar_id = own_calendar(data, Some(&self.calendar_id));
        Self { id: None, recurrence_id: None, recurring: false, repeats: None, calendar_id, read_only: false, ..self }
    }
}

/// When "Create" starts a new event: the next whole hour today when the view shows
/// today, else 09:00 on the view's first day.
fn create_at(data: StoredValue<CalendarData>) -> String {
    data.with_value(|d| {
        let shows_today = d.first_day <= d.today && d.today < d.end_day;
        let next_hour = (d.now.hour() + 1).min(23);
        let at = if shows_today { d.today.and_hms_opt(next_hour, 0, 0) } else { d.date.and_hms_opt(9, 0, 0) };
        at.unwrap_or_default().format("%Y-%m-%dT%H:%M").to_string()
    })
}

/// A dialog's title field takes the focus when the dialog opens (`autofocus` only works
/// on a page's first load, not when the dialog is drawn after a click).
fn focus_event_title() {
    Effect::new(move |_| {
        if let Some(title) = document().get_element_by_id("event-title") {
            let _ = leptos::wasm_bindgen::JsCast::unchecked_into::<leptos::web_sys::HtmlElement>(title).focus();
        }
    });
}

/// The frame of a dialog with a form (the quick popover, the event's form): the backdrop,
/// the modal that keeps the keyboard, its heading and the close link.
#[component]
fn FormDialog(
    class: &'static str,
    testid: &'static str,
    heading: &'static str,
    close: String,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="dialog-backdrop">
            <div
                class=class
                role="dialog"
                aria-modal="true"
                aria-labelledby="dialog-title"
                data-testid=testid
                on:keydown=keep_focus_in_dialog
            >
                <div class="dialog-head">
                    <h2 id="dialog-title">{heading}</h2>
                    <a href=close class="button icon" aria-label="Close" data-testid="close-dialog">"×"</a>
                </div>
                {children()}
            </div>
        </div>
    }
}

/// The calendar a new event goes in: the one asked for if it is the person's own, else
/// their first own calendar.
fn own_calendar(data: StoredValue<CalendarData>, wanted: Option<&str>) -> String {
    data.with_value(|d| {
        let own = || d.calendars.iter().filter(|c| c.source_url.is_none());
        own().find(|c| Some(c.id.as_str()) == wanted).or_else(|| own().next()).map(|c| c.id.clone()).unwrap_or_default()
    })
}

#[component]
fn NewEventDialog(
    data: StoredValue<CalendarData>,
    at: String,
    until: Option<String>,
    title: Option<String>,
    calendar: Option<String>,
    here: String,
) -> impl IntoView {
    let (zone, date) = data.with_value(|d| (d.time_zone.clone(), d.date));
    let calendar_id = own_calendar(data, calendar.as_deref());
    let parse = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").ok();
    let start = parse(&at).unwrap_or_else(|| date.and_hms_opt(9, 0, 0).unwrap_or_default());
    let end = until.as_deref().and_then(parse).filter(|end| *end > start).unwrap_or(start + Duration::hours(1));
    // A new event offers its calendar's default reminders.
    let reminders = data.with_value(|d| {
        d.calendars.iter().find(|c| c.id == calendar_id).map(|c| c.default_reminders.clone()).unwrap_or_default()
    });
    let details = calento::event::EventDetails { title: title.unwrap_or_default(), reminders, ..Default::default() };
    let draft = Draft {
        id: None,
        recurrence_id: None,
        recurring: false,
        repeats: None,
        calendar_id,
        all_day: false,
        start,
        end,
        time_zone: zone,
        details,
        read_only: false,
    };
    view! { <EventForm data draft here heading="New event" /> }
}

/// The small popover a click on an empty slot (or "Create") opens: the title, focused,
/// read as the person types ("lunch with Sam tomorrow 12:30 for 1h" sets the day, the
/// time and the length, with the capture parser), the times, the calendar, and "More
/// options" for the whole form with what was typed. Without JavaScript it is a plain
/// form, and the server reads the title the same way.
#[component]
fn QuickCreate(data: StoredValue<CalendarData>, at: String, here: String) -> impl IntoView {
    let actions = expect_context::<Actions>();
    let save_error = form_error(move || actions.save.value().get());
    let navigate = use_navigate();
    let back = here.clone();
    Effect::new(move |_| {
        if matches!(actions.save.value().get(), Some(Ok(_))) {
            actions.save.value().set(None);
            navigate(&back, Default::default());
        }
    });
    focus_event_title();
    let (zone, date, clock, context) = data.with_value(|d| {
        let context = calento::capture::CaptureContext { now: d.now, week_start: d.week_start.weekday() };
        (d.time_zone.clone(), d.date, d.clock, context)
    });
    let slot = NaiveDateTime::parse_from_str(&at, "%Y-%m-%dT%H:%M")
        .unwrap_or_else(|_| date.and_hms_opt(9, 0, 0).unwrap_or_default());
    let day = RwSignal::new(date_text(slot.date()));
    let from = RwSignal::new(time_label(slot.time(), clock));
    let to = RwSignal::new(time_label((slot + Duration::hours(1)).time(), clock));
    let calendar = RwSignal::new(own_calendar(data, None));
    let text = RwSignal::new(String::new());
    let fields = move || {
        let day = NaiveDate::parse_from_str(&day.get(), "%Y-%m-%d").ok()?;
        let from = calento::clock::parse_time_of_day(&from.get())?;
        let to = calento::clock::parse_time_of_day(&to.get())?;
        let start = day.and_time(from);
        let end = if to > from { day.and_time(to) } else { (day + Duration::days(1)).and_time(to) };
        Some((start, end))
    };
    // What the title says of when wins over the fields, and goes when it is deleted: the
    // fields as they were before the title said anything come back.
    let before = StoredValue::new(None::<(NaiveDateTime, NaiveDateTime)>);
    let read = Memo::new(move |_| calento::capture::parse_event_line(&text.get(), &context));
    Effect::new(move |_| {
        let line = read.get();
        let says = line.date.is_some() || line.time.is_some() || line.minutes.is_some();
        let base = match before.get_value() {
            Some(base) => base,
            None if says => match untrack(fields) {
                Some(base) => {
                    before.set_value(Some(base));
                    base
                }
                None => return,
            },
            None => return,
        };
        let (start, end) = if says { line.place(base.0, base.1) } else { base };
        if !says {
            before.set_value(None);
        }
        day.set(date_text(start.date()));
        from.set(time_label(start.time(), clock));
        to.set(time_label(end.time(), clock));
    });
    let end_date = move || fields().map(|(_, end)| date_text(end.date())).unwrap_or_else(|| day.get());
    let summary = move || {
        let line = read.get();
        let (start, end) = fields()?;
        let title = if line.title.trim().is_empty() { "(no title)".to_owned() } else { line.title.clone() };
        Some(format!("{title} \u{b7} {}", when_text(start, end, false, clock)))
    };
    let more_here = here.clone();
    let more = move || {
        let here = &more_here;
        let line = read.get();
        let (start, end) = fields().unwrap_or((slot, slot + Duration::hours(1)));
        format!(
            "{here}&new={}&until={}&title={}&calendar={}",
            start.format("%Y-%m-%dT%H:%M"),
            end.format("%Y-%m-%dT%H:%M"),
            percent_encode(&line.title),
            percent_encode(&calendar.get())
        )
    };
    let calendars =
        data.with_value(|d| d.calendars.iter().filter(|c| c.source_url.is_none()).cloned().collect::<Vec<_>>());
    let close = here.clone();
    view! {
        <FormDialog class="dialog quick-create" testid="quick-create" heading="New event" close>
                <ActionForm action=actions.save attr:class="form event-form" attr:novalidate=true>
                    <FormError error=save_error />
                    <input type="hidden" name="back" value=here.clone() />
                    <input type="hidden" name="time_zone" value=zone.clone() />
                    <input type="hidden" name="quick" value="1" />
                    <input type="hidden" name="repeat" value="none" />
                    <input type="hidden" name="end_date" value=end_date />
                    <div class="field">
                        <label for="event-title">"Title"</label>
                        <input
                            id="event-title"
                            name="title"
                            required=true
                            autofocus=true
                            autocomplete="off"
                            placeholder="Lunch with Sam tomorrow 12:30 for 1h"
                            data-testid="event-title"
                            on:input=move |ev| text.set(event_target_value(&ev))
                        />
                        <p class="field-error" role="alert">{move || save_error.get().and_then(|e| e.field_message("title"))}</p>
                    </div>
                    <p class="hint quick-when" role="status" data-testid="quick-when">{summary}</p>
                    <div class="field-row">
                        <div class="field">
                            <label for="start-date">"Day"</label>
                            <input id="start-date" type="date" name="start_date" value=day.get_untracked() prop:value=move || day.get() on:input=move |ev| day.set(event_target_value(&ev)) data-testid="start-date" />
                        </div>
                        <div class="field">
                            <label for="start-time">"From"</label>
                            <TimeField id="start-time" name="start_time" value=from clock />
                        </div>
                        <div class="field">
                            <label for="end-time">"To"</label>
                            <TimeField id="end-time" name="end_time" value=to clock />
                        </div>
                        <TimeChoices clock />
                    </div>
                    <p class="field-error" role="alert">{move || save_error.get().and_then(|e| e.field_message("end").or_else(|| e.field_message("start")))}</p>
                    <div class="field">
                        <label for="calendar">"Calendar"</label>
                        <select id="calendar" name="calendar_id" on:change=move |ev| calendar.set(event_target_value(&ev))>
                            {calendars.into_iter().map(|c| {
                                let selected = c.id == calendar.get_untracked();
                                view! { <option value=c.id selected=selected>{c.name}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <p class="hint">{format!("Times are in {zone}.")}</p>
                    <div class="dialog-actions">
                        <a href=more class="button" data-testid="more-options">"More options"</a>
                        <button type="submit" class="primary" data-testid="save-event">"Save"</button>
                    </div>
                </ActionForm>
        </FormDialog>
    }
}

/// How an event opens: a short card (what, when, where, who, with edit, duplicate and
/// delete), as calendar apps do on a click; the full form (`&edit=1`); or the form for a
/// copy of it (`&copy=1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Card,
    Edit,
    Copy,
}

/// The event opened by the address (`&event=ID`), read at the page's top with the view's
/// data: a resource made inside the view's `Suspend` is made twice on the server (once to
/// learn what the view waits for, once to draw it) and once in the browser, so the page
/// loaded with an event open did not hydrate.
#[derive(Clone, Copy)]
struct OpenedEvent(Resource<Result<Option<EventInfo>, crate::AppError>>);

#[component]
fn EventDialog(
    data: StoredValue<CalendarData>,
    id: String,
    rid: Option<String>,
    here: String,
    mode: Open,
) -> impl IntoView {
    let item = data.with_value(|d| d.items.iter().find(|i| i.event_id == id && i.recurrence_id == rid).cloned());
    let event = expect_context::<OpenedEvent>().0;
    let rid = StoredValue::new(rid);
    let item = StoredValue::new(item);
    view! {
        <Suspense fallback=|| view! { <div class="dialog-backdrop"><div class="dialog" role="dialog"><p>"Loading…"</p></div></div> }>
            {move || {
                let here = here.clone();
                Suspend::new(async move {
                    match event.await {
                        Ok(None) => ().into_any(),
                        Ok(Some(info)) => {
                            let draft = draft_of(&info, rid.get_value(), item.get_value(), data);
                            match mode {
                                Open::Card => view! { <EventCard data draft item=item.get_value() here /> }.into_any(),
                                Open::Edit => view! { <EventForm data draft here heading="Event" /> }.into_any(),
                                Open::Copy => {
                                    let draft = draft.copied(data);
                                    view! { <EventForm data draft here heading="Duplicate event" /> }.into_any()
                                }
                            }
                        }
                        Err(error) => view! {
                            <div class="dialog-backdrop">
                                <div class="dialog" role="dialog" aria-modal="true">
                                    <p class="form-error" role="alert">{error.to_string()}</p>
                                    <a href=here class="button">"Close"</a>
                                </div>
                            </div>
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// When an occurrence happens, in words: "Tuesday 15 January 2030, 09:00 – 10:00", "Tuesday
/// 15 January 2030, all day", or both ends written out when it spans days.
fn when_text(start: NaiveDateTime, end: NaiveDateTime, all_day: bool, clock: ClockFormat) -> String {
    const DAY: &str = "%A %-d %B %Y";
    if all_day {
        let last = (end.date() - Duration::days(1)).max(start.date());
        return if last == start.date() {
            format!("{}, all day", start.format(DAY))
        } else {
            format!("{} – {}, all day", start.format(DAY), last.format(DAY))
        };
    }
    let (from, to) = (time_label(start.time(), clock), time_label(end.time(), clock));
    let same_day =
        end.date() == start.date() || (end.time() == NaiveTime::MIN && end.date() == start.date() + Duration::days(1));
    if same_day {
        format!("{}, {from} – {to}", start.format(DAY))
    } else {
        format!("{} {from} – {} {to}", start.format(DAY), end.format(DAY))
    }
}

/// The card an event opens as: its title, time, calendar, place, link, guests and notes,
/// with "Edit", "Duplicate" and "Delete" (the this/following/all choice for a series).
#[component]
fn EventCard(data: StoredValue<CalendarData>, draft: Draft, item: Option<ViewItem>, here: String) -> impl IntoView {
    let actions = expect_context::<Actions>();
    let navigate = use_navigate();
    let after_delete = here.clone();
    Effect::new(move |_| {
        if let Some(Ok(deleted)) = actions.remove.value().get() {
            actions.remove.value().set(None);
            actions.offer_undo_delete(deleted);
            navigate(&after_delete, Default::default());
        }
    });
    // The card takes the focus (its first action) once drawn, so Escape and Tab stay in it.
    let first_action = NodeRef::<leptos::html::A>::new();
    Effect::new(move |_| {
        if first_action.get().is_some() {
            // After the frame that shows the card: it is built before it is in the page.
            request_animation_frame(move || {
                if let Some(link) = first_action.get_untracked() {
                    let _ = link.focus();
                }
            });
        }
    });
    let (clock, calendar) = data.with_value(|d| {
        (d.clock, d.calendars.iter().find(|c| c.id == draft.calendar_id).map(|c| (c.name.clone(), c.color.clone())))
    });
    // The grid's times (the viewer's zone) when the occurrence is on screen, else the event's.
    let (start, end) = item.as_ref().map_or((draft.start, draft.end), |i| (i.local_start, i.local_end));
    let when = when_text(start, end, draft.all_day, clock);
    let id = draft.id.clone().unwrap_or_default();
    let rid = draft.recurrence_id.clone();
    let open = event_href(&here, &id, rid.as_deref());
    let edit_href = format!("{open}&edit=1");
    let copy_href = format!("{open}&copy=1");
    let details = draft.details.clone();
    let color = details.color.clone().or_else(|| calendar.as_ref().map(|c| c.1.clone())).unwrap_or_default();
    let link = Some(details.url.clone()).filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let guests: Vec<(String, &'static str)> = details
        .attendees
        .iter()
        .map(|a| {
            (
                if a.name.is_empty() { a.email.clone() } else { format!("{} <{}>", a.name, a.email) },
                response_label(a.response),
            )
        })
        .collect();
    let guest_count = guests.len();
    let recurring = draft.recurring;
    let read_only = draft.read_only;
    view! {
        <div class="dialog-backdrop">
            <div
                class="dialog event-card"
                role="dialog"
                aria-modal="true"
                aria-labelledby="card-title"
                data-testid="event-card"
                on:keydown=keep_focus_in_dialog
            >
                <div class="dialog-head">
                    <h2 id="card-title">
                        <span class="dot" style=format!("--event-color: {color}") aria-hidden="true"></span>
                        " "
                        {details.title.clone()}
                    </h2>
                    <a href=here.clone() class="button icon" aria-label="Close" data-testid="close-dialog">"×"</a>
                </div>
                <dl class="card-facts">
                    <dt class="visually-hidden">"When"</dt>
                    <dd data-testid="card-when">{when}</dd>
                    {draft.repeats.clone().map(|r| view! { <dt class="visually-hidden">"Repeats"</dt><dd data-testid="repeats">{format!("Repeats: {r}")}</dd> })}
                    {calendar.map(|(name, _)| view! { <dt>"Calendar"</dt><dd data-testid="card-calendar">{name}</dd> })}
                    {(!details.location.is_empty()).then(|| view! { <dt>"Where"</dt><dd data-testid="card-location">{details.location.clone()}</dd> })}
                    {link.map(|url| {
                        let text = url.clone();
                        view! { <dt>"Link"</dt><dd><a href=url rel="noopener noreferrer" target="_blank" data-testid="card-link">{text}</a></dd> }
                    })}
                    {(guest_count > 0).then(|| view! {
                        <dt>{if guest_count == 1 { "1 guest".to_owned() } else { format!("{guest_count} guests") }}</dt>
                        <dd>
                            <ul class="attendees" data-testid="card-guests">
                                {guests.into_iter().map(|(who, reply)| view! { <li>{who} " \u{2014} " {reply}</li> }).collect_view()}
                            </ul>
                        </dd>
                    })}
                    {(!details.description.is_empty()).then(|| view! { <dt>"Notes"</dt><dd class="card-notes">{details.description.clone()}</dd> })}
                </dl>
                {read_only.then(|| view! { <p class="hint">"This event comes from a subscribed calendar and cannot be changed here."</p> })}
                // Plain links: the router's `A` marks every link to /calendar as the current page.
                <div class="dialog-actions">
                    {if read_only {
                        view! { <a href=copy_href class="button" data-testid="duplicate-event" node_ref=first_action>"Duplicate"</a> }.into_any()
                    } else {
                        view! {
                            <a href=edit_href class="button primary" data-testid="edit-event" node_ref=first_action>"Edit"</a>
                            <a href=copy_href class="button" data-testid="duplicate-event">"Duplicate"</a>
                        }
                        .into_any()
                    }}
                </div>
                {(!read_only).then(|| view! {
                    <DeleteEventForm id=id.clone() rid=rid.clone().unwrap_or_default() back=here.clone() recurring />
                })}
            </div>
        </div>
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
                (at(item.start_ms), at(item.end_ms))
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
    let navigate = use_navigate();
    let here_after_save = here.clone();
    // Once hydrated, a saved or deleted event closes the dialog (without JS the server redirects).
    Effect::new(move |_| {
        let saved = matches!(actions.save.value().get(), Some(Ok(_)));
        let deleted = match actions.remove.value().get() {
            Some(Ok(deleted)) => Some(deleted),
            _ => None,
        };
        if saved || deleted.is_some() {
            actions.save.value().set(None);
            actions.remove.value().set(None);
            if let Some(deleted) = deleted {
                actions.offer_undo_delete(deleted);
            }
            navigate(&here_after_save, Default::default());
        }
    });
    focus_event_title();
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
        <FormDialog class="dialog" testid="event-dialog" heading close=here.clone()>
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
                            // One reminder the menu does not offer (a calendar's default, an import).
                            {match draft.details.reminders.as_slice() {
                                [m] if !REMINDER_CHOICES.iter().any(|(c, _)| *c == Some(*m)) => {
                                    Some(view! { <option value=m.to_string() selected=true>{format!("{m} minutes before")}</option> })
                                }
                                _ => None,
                            }}
                            {REMINDER_CHOICES.iter().map(|(minutes, label)| {
                                let selected = draft.details.reminders.len() <= 1 && draft.details.reminders.first().copied() == *minutes;
                                // "none", not empty: an empty field reads as absent on the server.
                                view! { <option value=minutes.map_or_else(|| "none".to_owned(), |m| m.to_string()) selected=selected>{*label}</option> }
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
                    <DeleteEventForm id rid=delete_rid back=delete_back recurring />
                })}
        </FormDialog>
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
/// "Delete" for an event (for a series, with the choice of which occurrences), in its card
/// and in its form; a plain form without JavaScript, which the server sends back to `back`.
#[component]
fn DeleteEventForm(id: String, rid: String, back: String, recurring: bool) -> impl IntoView {
    let actions = expect_context::<Actions>();
    let delete_error = form_error(move || actions.remove.value().get());
    view! {
        <ActionForm action=actions.remove attr:class="form delete-form">
            <FormError error=delete_error />
            <input type="hidden" name="id" value=id />
            <input type="hidden" name="recurrence_id" value=rid />
            <input type="hidden" name="back" value=back />
            {recurring.then(|| view! { <ScopeChoice name="scope" testid="delete-scope" /> })}
            <button type="submit" class="danger" data-testid="delete-event">"Delete"</button>
        </ActionForm>
    }
}

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
            // Only one occurrence's move is undone by moving it back.
            if scope != Some("this") {
                actions.undo.set(None);
            }
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
        ("d / x / w / m / a", "Day, three days, week, month, agenda view"),
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
                    <a href=here class="button icon" aria-label="Close">"×"</a>
                </div>
                <dl class="shortcuts">
                    {keys.into_iter().map(|(k, what)| view! { <dt><kbd>{k}</kbd></dt><dd>{what}</dd> }).collect_view()}
                </dl>
            </div>
        </div>
    }
}

/// A closed dialog gives the focus back to what opened it (the slot, the event, the
/// button), as a modal does: the last link or button focused outside a dialog is
/// remembered by its address or test id and found again once the view is redrawn (after
/// a save the grid is new).
fn return_focus_after_dialogs(dialog_open: Memo<bool>) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::web_sys::{Element, HtmlElement};
        let opener = StoredValue::new(None::<(String, String)>);
        Effect::new(move |_| {
            let handle = window_event_listener(leptos::ev::focusin, move |ev| {
                let Some(el) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
                if el.closest("[role=dialog]").ok().flatten().is_some() {
                    return;
                }
                let key = match (el.get_attribute("href"), el.get_attribute("data-testid")) {
                    (Some(href), _) => Some(("href".to_owned(), href)),
                    (None, Some(id)) => Some(("data-testid".to_owned(), id)),
                    _ => None,
                };
                if key.is_some() {
                    opener.set_value(key);
                }
            });
            on_cleanup(move || handle.remove());
        });
        Effect::new(move |was_open: Option<bool>| {
            let open = dialog_open.get();
            if was_open == Some(true)
                && !open
                && let Some((attribute, value)) = opener.get_value()
            {
                request_animation_frame(move || {
                    let Ok(found) = document().query_selector_all(&format!("[{attribute}]")) else { return };
                    let target = (0..found.length())
                        .filter_map(|i| found.item(i))
                        .filter_map(|node| node.dyn_into::<HtmlElement>().ok())
                        .find(|el| el.get_attribute(&attribute).as_deref() == Some(value.as_str()));
                    if let Some(target) = target {
                        let _ = target.focus();
                    }
                });
            }
            open
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = dialog_open;
}

/// d/x/w/m/a, t, j/k and arrows, c, / and ?, once hydrated; ignored while typing.
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
            // Arrow keys on a focused event move it: a quarter of an hour up or down, a day
            // to either side (elsewhere they change the period shown).
            if let Some(index) = focused_event(&ev) {
                let (days, minutes) = match ev.key().as_str() {
                    "ArrowUp" => (0, -15),
                    "ArrowDown" => (0, 15),
                    "ArrowLeft" => (-1, 0),
                    "ArrowRight" => (1, 0),
                    _ => (0, 0),
                };
                if (days, minutes) != (0, 0) {
                    ev.prevent_default();
                    let item = data.with_value(|d| d.items.get(index).cloned()).filter(|i| !i.read_only);
                    if let (Some(actions), Some(item)) = (actions, item) {
                        actions.refocus.set_value(Some(item.event_id.clone()));
                        let zone = data.with_value(|d| d.time_zone.clone());
                        actions.save_move(&item, days, minutes, false, &zone);
                    }
                    return;
                }
            }
            let (view, date, today) = data.with_value(|d| (d.view, d.date, d.today));
            let go =
                |view: ViewKind, date: NaiveDate| format!("/calendar?view={}&date={}", view.as_str(), date_text(date));
            let target = match ev.key().as_str() {
                "d" => Some(go(ViewKind::Day, date)),
                "x" => Some(go(ViewKind::ThreeDays, date)),
                "w" => Some(go(ViewKind::Week, date)),
                "m" => Some(go(ViewKind::Month, date)),
                "a" => Some(go(ViewKind::Agenda, date)),
                "t" => Some(go(view, today)),
                "j" | "ArrowRight" => Some(go(view, view.step(date, 1))),
                "k" | "ArrowLeft" => Some(go(view, view.step(date, -1))),
                "c" => Some(format!("{here}&new={}&quick=1", create_at(data))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_chrono_would_write_them_in_either_clock() {
        for hour in 0..24 {
            for minute in [0, 5, 30, 59] {
                let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
                assert_eq!(time_label(time, ClockFormat::H24), time.format("%H:%M").to_string());
                let twelve = if minute == 0 { "%-I %p" } else { "%-I:%M %p" };
                assert_eq!(time_label(time, ClockFormat::H12), time.format(twelve).to_string());
            }
        }
        assert_eq!(time_label(NaiveTime::from_hms_opt(0, 0, 0).unwrap(), ClockFormat::H12), "12 AM");
        assert_eq!(date_text(NaiveDate::from_ymd_opt(2030, 1, 4).unwrap()), "2030-01-04");
    }

    fn item(i: usize, summary: &str, start: &str, end: &str) -> ViewItem {
        let at = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M").unwrap();
        ViewItem::new(
            crate::models::OccurrenceInfo {
                event_id: format!("e{i}"),
                calendar_id: "c".into(),
                uid: format!("u{i}"),
                recurrence_id: None,
                start: start.into(),
                end: end.into(),
                all_day: false,
                summary: summary.into(),
                start_ms: 0,
                end_ms: 0,
                floating: false,
                recurring: false,
                color: "#3b82f6".into(),
                location: String::new(),
                status: calento::event::EventStatus::Confirmed,
                transparency: calento::event::Transparency::Busy,
                read_only: i == 2,
                reminders: Vec::new(),
            },
            at(start),
            at(end),
            true,
        )
    }

    #[test]
    fn all_day_events_are_one_bar_across_their_days_in_the_first_free_lane() {
        let first = NaiveDate::from_ymd_opt(2030, 1, 14).unwrap();
        // Sorted by start, as the view's items come.
        let mut items = vec![
            // From the week before to the week after.
            item(0, "Leave", "2030-01-10T00:00", "2030-01-25T00:00"),
            // Tue–Wed (ends at Thursday's midnight).
            item(1, "Conference", "2030-01-15T00:00", "2030-01-17T00:00"),
            item(2, "Meeting", "2030-01-15T09:00", "2030-01-15T10:00"),
            // Wednesday: lanes 0 and 1 are taken.
            item(3, "Holiday", "2030-01-16T00:00", "2030-01-17T00:00"),
            // Thursday: lane 1 is free again. A timed day and a half is a bar too.
            item(4, "Trip", "2030-01-17T08:00", "2030-01-18T20:00"),
        ];
        for i in [0, 1, 3] {
            items[i].all_day = true;
        }
        let (bars, lanes) = all_day_bars(&items, first, 7);
        let bar = |index: usize| {
            let b = bars.iter().find(|b| b.index == index).unwrap();
            (b.column, b.span, b.lane, b.before, b.after)
        };
        assert_eq!(bars.len(), 4, "the one-hour meeting is not in the row");
        assert_eq!(bar(0), (0, 7, 0, true, true));
        assert_eq!(bar(1), (1, 2, 1, false, false));
        assert_eq!(bar(3), (2, 1, 2, false, false));
        assert_eq!(bar(4), (3, 2, 1, false, false));
        assert_eq!(lanes, 3);
        // A day view of Wednesday: three bars, the Trip not among them.
        let (day, lanes) = all_day_bars(&items, NaiveDate::from_ymd_opt(2030, 1, 16).unwrap(), 1);
        assert_eq!((day.len(), lanes), (3, 3));
        assert!(day.iter().all(|b| b.index != 4 && b.column == 0 && b.span == 1));
    }

    #[test]
    fn a_day_columns_markup_escapes_titles_and_places_each_event_once() {
        let day = NaiveDate::from_ymd_opt(2030, 1, 15).unwrap();
        let items = vec![
            item(0, "Other day", "2030-01-14T09:00", "2030-01-14T10:00"),
            item(1, "Tom & <b>Jerry</b> \"live\"", "2030-01-15T09:00", "2030-01-15T10:00"),
            item(2, "Read-only overlap", "2030-01-15T09:30", "2030-01-15T09:45"),
            item(3, "Late", "2030-01-15T23:30", "2030-01-16T01:00"),
        ];
        let html = column_markup(day, "/calendar?view=week&date=2030-01-14", ClockFormat::H24, &items, Some(480.0));
        assert_eq!(html.matches("class=\"slot\"").count(), 24);
        assert!(
            html.contains(r#"href="/calendar?view=week&amp;date=2030-01-14&amp;new=2030-01-15T09:00&amp;quick=1""#),
            "{html}"
        );
        assert!(html.contains("Tom &amp; &lt;b&gt;Jerry&lt;/b&gt; &quot;live&quot;"), "{html}");
        assert!(!html.contains("<b>"));
        assert!(!html.contains("Other day"));
        assert_eq!(html.matches("data-testid=\"event\"").count(), 3);
        // Index in the view's items, so a pointer handler finds the event.
        assert!(html.contains(r#"data-i="1""#) && html.contains(r#"data-i="3""#) && !html.contains(r#"data-i="0""#));
        // Overlapping events share the width; a 15-minute one is drawn on one small line.
        assert!(html.contains("width: 50.000%"), "{html}");
        assert!(html.contains(r#"class="event-block short tiny""#), "{html}");
        // The read-only event has no resize handle: two handles for three events.
        assert_eq!(html.matches("resize-handle").count(), 2);
        assert!(html.contains("09:00 – 10:00") && html.contains("23:30 – 01:00"), "{html}");
        assert!(html.contains(r#"class="now-line" style="top: 480.0px""#));
        let empty = column_markup(day, "/calendar", ClockFormat::H12, &[], None);
        assert!(empty.contains("aria-label=\"Create at 1 PM\"") && !empty.contains("now-line"));
    }
}
