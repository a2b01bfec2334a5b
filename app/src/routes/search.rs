//! Search: words in titles, descriptions and locations, with a date range, a calendar and
//! an order; a plain GET form, so results have addresses people can share and go back to.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::components::{RequireUser, percent_encode};
use crate::models::EventInfo;
use crate::server::calendar::{list_calendars, search_events};

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let results = Resource::new(
        move || (param("q"), param("from"), param("to"), param("calendar_id"), param("sort"), param("page")),
        |(q, from, to, calendar_id, sort, page)| async move {
            if q.trim().is_empty() && from.is_empty() && to.is_empty() {
                return Ok(None);
            }
            search_events(q, Some(from), Some(to), Some(calendar_id), Some(sort), Some(page)).await.map(Some)
        },
    );
    let calendars = Resource::new(|| (), |_| list_calendars());
    let page_href = move |page: i64| {
        let keep = ["q", "from", "to", "calendar_id", "sort"]
            .iter()
            .map(|k| format!("{k}={}", percent_encode(&param(k))))
            .collect::<Vec<_>>()
            .join("&");
        format!("/calendar/search?{keep}&page={page}")
    };
    view! {
        <Title text="Search" />
        // Resources are made above, outside the sign-in guard's Suspense (stable hydration).
        <RequireUser>
            <section class="card">
                <h1>"Search events"</h1>
                <form method="get" action="/calendar/search" class="form search-form" role="search">
                    <div class="field">
                        <label for="search-q">"Words"</label>
                        <input id="search-q" type="search" name="q" value=param("q") autofocus=true data-testid="search-q" />
                    </div>
                    <div class="field-row">
                        <div class="field">
                            <label for="search-from">"From"</label>
                            <input id="search-from" type="date" name="from" value=param("from") />
                        </div>
                        <div class="field">
                            <label for="search-to">"To"</label>
                            <input id="search-to" type="date" name="to" value=param("to") />
                        </div>
                        <div class="field">
                            <label for="search-calendar">"Calendar"</label>
                            <select id="search-calendar" name="calendar_id">
                                <option value="">"All calendars"</option>
                                <Suspense fallback=|| ()>
                                    {move || Suspend::new(async move {
                                        let chosen = param("calendar_id");
                                        calendars.await.unwrap_or_default().into_iter().map(|c| {
                                            let selected = c.id == chosen;
                                            view! { <option value=c.id selected=selected>{c.name}</option> }
                                        }).collect_view()
                                    })}
                                </Suspense>
                            </select>
                        </div>
                        <div class="field">
                            <label for="search-sort">"Sort by"</label>
                            <select id="search-sort" name="sort">
                                <option value="start" selected=param("sort") != "title" && param("sort") != "created">"Date"</option>
                                <option value="title" selected=param("sort") == "title">"Title"</option>
                                <option value="created" selected=param("sort") == "created">"Recently added"</option>
                            </select>
                        </div>
                    </div>
                    <div class="dialog-actions"><button type="submit" class="primary" data-testid="search-submit">"Search"</button></div>
                </form>
                <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
                    {move || Suspend::new(async move {
                        match results.await {
                            Ok(None) => view! { <p class="empty">"Type a few words to find events."</p> }.into_any(),
                            Ok(Some(page)) if page.items.is_empty() => view! { <p class="empty" data-testid="no-results">"No events match."</p> }.into_any(),
                            Ok(Some(page)) => {
                                let pages = (page.total + page.per_page - 1) / page.per_page;
                                let current = page.page;
                                view! {
                                    <p class="hint" data-testid="result-count">{format!("{} found", page.total)}</p>
                                    <ul class="search-results">
                                        {page.items.into_iter().map(|event| view! { <ResultRow event /> }).collect_view()}
                                    </ul>
                                    <nav class="pager" aria-label="Pages">
                                        {(current > 1).then(|| view! { <A href=page_href(current - 1)>"‹ Newer"</A> })}
                                        <span>{format!("Page {current} of {}", pages.max(1))}</span>
                                        {(current < pages).then(|| view! { <A href=page_href(current + 1) attr:data-testid="next-page">"More ›"</A> })}
                                    </nav>
                                }.into_any()
                            }
                            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
}

#[component]
fn ResultRow(event: EventInfo) -> impl IntoView {
    let date = event.start.get(..10).unwrap_or_default().to_owned();
    let href = format!("/calendar?view=week&date={date}&event={}", event.id);
    let when = if event.all_day {
        date.clone()
    } else {
        event.start.replace('T', " ").get(..16).unwrap_or_default().to_owned()
    };
    let repeats = event.repeats.clone();
    let location = event.details.location.clone();
    view! {
        <li data-testid="search-result">
            <A href=href>{event.details.title.clone()}</A>
            <span class="hint">" " {when} {repeats.map(|r| format!(" · {r}"))} {(!location.is_empty()).then(|| format!(" · {location}"))}</span>
        </li>
    }
}
