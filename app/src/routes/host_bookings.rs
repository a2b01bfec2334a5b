//! Bookings: what invitees booked through the host's links, by tab (upcoming, past,
//! cancelled, awaiting approval), with approve, decline, cancel and move.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::host::{SchedulingNav, plain_form_error};
use crate::AppError;
use crate::components::{FormError, RequireUser};
use crate::models::BookingStatus;
use crate::server::scheduling::{
    ApproveBooking, BookingsData, CancelBooking, DeclineBooking, HostBooking, RescheduleBooking, list_bookings,
};

const TABS: [(&str, &str); 4] =
    [("upcoming", "Upcoming"), ("past", "Past"), ("cancelled", "Cancelled"), ("pending", "Awaiting approval")];

#[derive(Clone, Copy)]
struct BookingActions {
    cancel: ServerAction<CancelBooking>,
    approve: ServerAction<ApproveBooking>,
    decline: ServerAction<DeclineBooking>,
    reschedule: ServerAction<RescheduleBooking>,
}

#[component]
pub fn BookingsPage() -> impl IntoView {
    let actions = BookingActions {
        cancel: ServerAction::new(),
        approve: ServerAction::new(),
        decline: ServerAction::new(),
        reschedule: ServerAction::new(),
    };
    provide_context(actions);
    let query = use_query_map();
    let tab = Memo::new(move |_| {
        let asked = query.read().get("tab").unwrap_or_default();
        TABS.iter().find(|(key, _)| *key == asked).map(|(key, _)| *key).unwrap_or("upcoming")
    });
    let page = Memo::new(move |_| query.read().get("page").filter(|p| !p.is_empty()));
    // A booking made, cancelled or rescheduled by an invitee shows without a reload.
    let live = crate::live::Live::here();
    let data = Resource::new(
        move || {
            (
                tab.get(),
                page.get(),
                actions.cancel.version().get(),
                actions.approve.version().get(),
                actions.decline.version().get(),
                actions.reschedule.version().get(),
                live.bookings.get(),
            )
        },
        |(tab, page, ..)| list_bookings(Some(tab.to_owned()), page),
    );
    // The last action's error, whichever it was.
    let last_error = RwSignal::new(None::<AppError>);
    let watch = move |value: Signal<Option<Option<AppError>>>| {
        Effect::new(move |_| {
            if let Some(result) = value.get() {
                last_error.set(result);
            }
        });
    };
    watch(Signal::derive(move || actions.cancel.value().get().map(|r| r.err())));
    watch(Signal::derive(move || actions.approve.value().get().map(|r| r.err())));
    watch(Signal::derive(move || actions.decline.value().get().map(|r| r.err())));
    watch(Signal::derive(move || actions.reschedule.value().get().map(|r| r.err())));
    let page_error = plain_form_error();
    view! {
        <Title text="Bookings" />
        <RequireUser>
            <section class="card bookings" data-testid="bookings">
                <h1>"Bookings"</h1>
                <SchedulingNav />
                <nav class="tabs" aria-label="Which bookings">
                    {TABS
                        .into_iter()
                        .map(|(key, label)| {
                            view! {
                                <a
                                    href=format!("/bookings?tab={key}")
                                    class="button"
                                    class:selected=move || tab.get() == key
                                    aria-current=move || (tab.get() == key).then_some("page")
                                    data-testid=format!("tab-{key}")
                                >
                                    {label}
                                </a>
                            }
                        })
                        .collect_view()}
                </nav>
                <FormError error=page_error />
                <FormError error=last_error.into() />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let tab_now = tab.get();
                        match data.await {
                            Ok(data) => view! { <BookingList data tab=tab_now /> }.into_any(),
                            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
}

#[component]
fn BookingList(data: BookingsData, tab: &'static str) -> impl IntoView {
    let zone = data.time_zone.clone();
    if data.bookings.is_empty() {
        let text = match tab {
            "past" => "No past bookings.",
            "cancelled" => "No cancelled or declined bookings.",
            "pending" => "Nothing is waiting for your approval.",
            _ => "No upcoming bookings. Share a booking link and they will appear here.",
        };
        return view! { <p class="empty" data-testid="no-bookings">{text}</p> }.into_any();
    }
    let (page, last) = (data.page, (data.total + data.per_page - 1) / data.per_page.max(1));
    let link = move |to: i64| format!("/bookings?tab={tab}&page={to}");
    view! {
        <p class="hint">"Times are in " {zone} "."</p>
        <ul class="booking-list">
            {data.bookings.into_iter().map(|item| view! { <BookingRow item tab /> }).collect_view()}
        </ul>
        {(last > 1)
            .then(|| {
                view! {
                    <nav class="pager" aria-label="More bookings" data-testid="bookings-pager">
                        {(page > 1).then(|| view! { <a class="button" href=link(page - 1) rel="prev">"Previous"</a> })}
                        <span>{format!("Page {page} of {last} ({} bookings)", data.total)}</span>
                        {(page < last).then(|| view! { <a class="button" href=link(page + 1) rel="next">"Next"</a> })}
                    </nav>
                }
            })}
    }
    .into_any()
}

#[component]
fn BookingRow(item: HostBooking, tab: &'static str) -> AnyView {
    let actions = expect_context::<BookingActions>();
    let HostBooking { booking, when, local_start } = item;
    let back = format!("/bookings?tab={tab}");
    let status = match booking.status {
        BookingStatus::Pending => "Awaiting approval",
        BookingStatus::Confirmed => "Confirmed",
        BookingStatus::Declined => "Declined",
        BookingStatus::Cancelled => "Cancelled",
    };
    let pending = booking.status == BookingStatus::Pending;
    let open = matches!(booking.status, BookingStatus::Pending | BookingStatus::Confirmed) && tab != "past";
    let id = booking.id.clone();
    let invitee = format!("{} <{}>", booking.name, booking.email);
    let answers = booking
        .answers
        .iter()
        .filter(|a| !a.value.trim().is_empty())
        .map(|a| view! { <dt>{a.label.clone()}</dt> <dd>{a.value.clone()}</dd> })
        .collect_view();
    let notes = (!booking.notes.trim().is_empty()).then(|| booking.notes.clone());
    let reason = booking.reason.clone().filter(|r| !r.trim().is_empty());
    let approve_form = pending.then(|| {
        let (id, back) = (id.clone(), back.clone());
        view! {
            <ActionForm action=actions.approve attr:class="inline-form">
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="back" value=back />
                <button type="submit" class="primary" data-testid="approve">"Approve"</button>
            </ActionForm>
        }
    });
    let decline_form = pending.then(|| {
        let (id, back) = (id.clone(), back.clone());
        view! {
            <details class="booking-action">
                <summary data-testid="decline-open">"Decline…"</summary>
                <ActionForm action=actions.decline attr:class="form">
                    <input type="hidden" name="id" value=id.clone() />
                    <input type="hidden" name="back" value=back />
                    <div class="field">
                        <label for=format!("decline-reason-{id}")>"Reason (sent to the invitee, optional)"</label>
                        <input id=format!("decline-reason-{id}") name="reason" data-testid="decline-reason" />
                    </div>
                    <button type="submit" class="danger" data-testid="decline">"Decline booking"</button>
                </ActionForm>
            </details>
        }
    });
    let change_forms = open.then(|| {
        let (cancel_id, move_id) = (id.clone(), id.clone());
        let back2 = back.clone();
        view! {
            <details class="booking-action">
                <summary data-testid="cancel-open">"Cancel…"</summary>
                <ActionForm action=actions.cancel attr:class="form">
                    <input type="hidden" name="id" value=cancel_id.clone() />
                    <input type="hidden" name="back" value=back.clone() />
                    <div class="field">
                        <label for=format!("cancel-reason-{cancel_id}")>"Reason (sent to the invitee, optional)"</label>
                        <input id=format!("cancel-reason-{cancel_id}") name="reason" data-testid="cancel-reason" />
                    </div>
                    <button type="submit" class="danger" data-testid="cancel-booking">"Cancel booking"</button>
                </ActionForm>
            </details>
            <details class="booking-action">
                <summary data-testid="reschedule-open">"Move…"</summary>
                <ActionForm action=actions.reschedule attr:class="form">
                    <input type="hidden" name="id" value=move_id.clone() />
                    <input type="hidden" name="back" value=back2 />
                    <div class="field">
                        <label for=format!("reschedule-{move_id}")>"New start (your time zone)"</label>
                        <input
                            id=format!("reschedule-{move_id}")
                            type="datetime-local"
                            name="start"
                            value=local_start.clone()
                            data-testid="reschedule-start"
                        />
                        <p class="hint">"It must be a time the link offers."</p>
                    </div>
                    <div class="field">
                        <label for=format!("reschedule-reason-{move_id}")>"Reason (optional, told to the invitee)"</label>
                        <input id=format!("reschedule-reason-{move_id}") name="reason" maxlength="1000" data-testid="reschedule-reason" />
                    </div>
                    <button type="submit" data-testid="reschedule">"Move booking"</button>
                </ActionForm>
            </details>
        }
    });
    let status_class = format!("badge status-{}", booking.status.as_str());
    view! {
        <li class="booking-row" data-testid="booking" data-status=booking.status.as_str()>
            <div class="booking-head">
                <strong data-testid="booking-when">{when}</strong>
                " "
                <span class=status_class data-testid="booking-status">{status}</span>
            </div>
            <p class="booking-who">
                <span data-testid="booking-invitee">{invitee}</span>
                " · "
                <span data-testid="booking-title">{booking.title.clone()}</span>
                {(!booking.location.is_empty()).then(|| format!(" · {}", booking.location))}
            </p>
            <dl class="answers" data-testid="booking-answers">
                {answers}
                {notes.map(|n| view! { <dt>"Notes"</dt> <dd>{n}</dd> })}
                {reason.map(|r| view! { <dt>"Reason"</dt> <dd data-testid="booking-reason">{r}</dd> })}
            </dl>
            <div class="booking-actions">{approve_form} {decline_form} {change_forms}</div>
        </li>
    }
    .into_any()
}
