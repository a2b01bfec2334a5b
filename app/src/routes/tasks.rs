//! Tasks: the brain-dump box with its preview, lists (Today, Upcoming, All, Done, by zone or
//! tag), micro-steps with "just the next step", "plan my week", and XP and streak. Every
//! form is a plain HTML form first; the hydrated page adds the preview and j/k/x/e/c keys.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::components::{FormError, RequireUser, form_error, use_user};
use crate::models::{PlanResult, ProgressInfo, TaskInfo};
use crate::server::tasks::{
    AddReward, AddStep, CaptureTasks, ClaimReward, CopyTask, DeleteTask, EditTask, FinishOnboarding, ImportTasks,
    MoveStep, PlanWeek, SetTaskDone, SuggestSteps, list_task_page, list_zones, my_progress, needs_onboarding,
};

/// The page's write actions: every list and panel refetches after any of them.
#[derive(Clone, Copy)]
struct TaskActions {
    capture: ServerAction<CaptureTasks>,
    done: ServerAction<SetTaskDone>,
    add_step: ServerAction<AddStep>,
    shift: ServerAction<MoveStep>,
    delete: ServerAction<DeleteTask>,
    edit: ServerAction<EditTask>,
    plan: ServerAction<PlanWeek>,
    copy: ServerAction<CopyTask>,
    import: ServerAction<ImportTasks>,
    suggest: ServerAction<SuggestSteps>,
    add_reward: ServerAction<AddReward>,
    claim: ServerAction<ClaimReward>,
}

impl TaskActions {
    fn version(&self) -> usize {
        self.capture.version().get()
            + self.done.version().get()
            + self.add_step.version().get()
            + self.shift.version().get()
            + self.delete.version().get()
            + self.edit.version().get()
            + self.plan.version().get()
            + self.copy.version().get()
            + self.import.version().get()
            + self.suggest.version().get()
            + self.add_reward.version().get()
            + self.claim.version().get()
    }
}

/// The micro-step being dragged: its id, its parent and its place among its siblings.
#[derive(Clone, Copy)]
struct DraggedStep(RwSignal<Option<(String, Option<String>, usize)>>);

/// Which steps boxes are open, kept across the list's refetches (a box stays open while
/// someone adds step after step).
#[derive(Clone, Copy)]
struct OpenBoxes(RwSignal<std::collections::HashSet<String>>);

/// A `<details>` whose open state lives in [`OpenBoxes`] under `key`.
fn remembered(key: String) -> (impl Fn() -> bool + Send + Sync + 'static, impl Fn(leptos::ev::Event) + 'static) {
    let boxes = expect_context::<OpenBoxes>().0;
    let read_key = key.clone();
    let is_open = move || boxes.with(|set| set.contains(&read_key));
    let on_toggle = move |ev: leptos::ev::Event| {
        use leptos::wasm_bindgen::JsCast;
        let open = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            .is_some_and(|el| el.has_attribute("open"));
        if open != boxes.with_untracked(|set| set.contains(&key)) {
            boxes.update(|set| {
                if open {
                    set.insert(key.clone());
                } else {
                    set.remove(&key);
                }
            });
        }
    };
    (is_open, on_toggle)
}

const VIEWS: [(&str, &str); 5] =
    [("today", "Today"), ("upcoming", "Upcoming"), ("all", "All open"), ("done", "Done"), ("templates", "Templates")];

#[component]
pub fn TasksPage() -> impl IntoView {
    let actions = TaskActions {
        capture: ServerAction::new(),
        done: ServerAction::new(),
        add_step: ServerAction::new(),
        shift: ServerAction::new(),
        delete: ServerAction::new(),
        edit: ServerAction::new(),
        plan: ServerAction::new(),
        copy: ServerAction::new(),
        import: ServerAction::new(),
        suggest: ServerAction::new(),
        add_reward: ServerAction::new(),
        claim: ServerAction::new(),
    };
    provide_context(actions);
    provide_context(OpenBoxes(RwSignal::new(Default::default())));
    provide_context(DraggedStep(RwSignal::new(None)));
    let quick = use_context::<crate::QuickCapture>();
    let query = use_query_map();
    let view_name = move || query.read().get("view").filter(|v| !v.is_empty()).unwrap_or_else(|| "all".to_owned());
    let zone = move || query.read().get("zone").filter(|v| !v.is_empty());
    let tag = move || query.read().get("tag").filter(|v| !v.is_empty());
    let sort = move || query.read().get("sort").filter(|v| !v.is_empty());
    let page = move || query.read().get("page").filter(|v| !v.is_empty());
    let quick_version = move || quick.map(|q| q.0.version().get()).unwrap_or_default();
    // Changes made elsewhere (another tab, a phone, a calendar app) refetch the lists too.
    let live = crate::live::Live::here();
    let tasks = Resource::new(
        // The task being edited is part of the key, so its row re-renders with the form.
        move || {
            (
                view_name(),
                zone(),
                tag(),
                sort(),
                page(),
                query.read().get("edit"),
                actions.version(),
                quick_version(),
                live.tasks.get(),
            )
        },
        |(view, zone, tag, sort, page, ..)| list_task_page(view, zone, tag, sort, page),
    );
    let finish = ServerAction::<FinishOnboarding>::new();
    let zones = Resource::new(
        move || {
            (actions.capture.version().get(), actions.edit.version().get(), finish.version().get(), live.tasks.get())
        },
        |_| list_zones(),
    );
    let progress = Resource::new(move || (actions.version(), quick_version(), live.tasks.get()), |_| my_progress());
    let onboarding = Resource::new(move || finish.version().get(), |_| needs_onboarding());
    let heading = move || {
        let name = view_name();
        let base = VIEWS.iter().find(|(v, _)| *v == name).map_or("Tasks", |(_, label)| label).to_owned();
        match (zone(), tag()) {
            (Some(zone), _) => format!("{base} · @{zone}"),
            (_, Some(tag)) => format!("{base} · #{tag}"),
            _ => base,
        }
    };
    keyboard(actions);
    // A ticked task leaves the list; "Undo" brings it back (a repeating one is not offered:
    // finishing it has already made the next one). It goes after eight seconds.
    let dismissed = RwSignal::new(0usize);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let version = actions.done.version().get();
        set_timeout(move || dismissed.set(version), std::time::Duration::from_secs(8));
    });
    let finished = move || match actions.done.value().get() {
        Some(Ok(task)) if task.is_done() && task.parent_id.is_none() && task.rrule.is_none() => {
            (dismissed.get() != actions.done.version().get()).then_some(task)
        }
        _ => None,
    };
    view! {
        <Title text="Tasks" />
        // Resources are made above, outside the sign-in guard's Suspense (stable hydration).
        <RequireUser>
            <div class="tasks-layout">
                <section class="card tasks-main">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            matches!(onboarding.await, Ok(true)).then(|| view! { <Onboarding finish /> })
                        })}
                    </Transition>
                    <h1>"Tasks"</h1>
                    <CaptureBox />
                    <nav class="tabs" aria-label="Task lists">
                        {VIEWS
                            .iter()
                            .map(|(key, label)| {
                                let href = format!("/tasks?view={key}");
                                view! {
                                    <a href=href aria-current=move || (view_name() == *key && zone().is_none() && tag().is_none()).then_some("page")>
                                        {*label}
                                    </a>
                                }
                            })
                            .collect_view()}
                    </nav>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let zones = zones.await.unwrap_or_default();
                            (!zones.is_empty()).then(|| view! {
                                <nav class="zone-links" aria-label="Zones">
                                    {zones.into_iter().map(|z| {
                                        let href = format!("/tasks?view=all&zone={}", crate::components::percent_encode(&z.name));
                                        let style = format!("--zone: {}", z.color);
                                        view! { <a href=href class="zone-chip" style=style>{format!("@{}", z.name)}</a> }
                                    }).collect_view()}
                                </nav>
                            })
                        })}
                    </Transition>
                    <h2 data-testid="list-heading">{heading}</h2>
                    <nav class="sort-links hint" aria-label="Sort">
                        "Sort: "
                        {[("smart", "smart"), ("due", "deadline"), ("priority", "priority"), ("created", "newest")].into_iter().map(|(key, label)| {
                            let href = move || {
                                let mut href = format!("/tasks?view={}&sort={key}", view_name());
                                if let Some(z) = zone() { href.push_str(&format!("&zone={}", crate::components::percent_encode(&z))); }
                                if let Some(t) = tag() { href.push_str(&format!("&tag={}", crate::components::percent_encode(&t))); }
                                href
                            };
                            let current = move || (sort().as_deref().unwrap_or("smart") == key).then_some("page");
                            view! { <a href=href aria-current=current>{label}</a> " " }
                        }).collect_view()}
                    </nav>
                    <Transition fallback=|| view! { <p class="loading">"Loading tasks…"</p> }>
                        {move || Suspend::new(async move {
                            match tasks.await {
                                Ok(list) if list.total == 0 => view! {
                                    <p class="empty" data-testid="no-tasks">"Nothing here. Capture what is on your mind above."</p>
                                }.into_any(),
                                Ok(list) => {
                                    let pager = Pager::of(&list, &query.read_untracked());
                                    view! {
                                        <ul class="task-list" data-testid="task-list">
                                            {list.items.into_iter().map(|task| view! { <TaskRow task today=list.today.clone() /> }).collect_view()}
                                        </ul>
                                        {pager.map(|pager| view! { <PagerNav pager /> })}
                                    }.into_any()
                                }
                                Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                    <p class="hint keys">
                        <kbd>"c"</kbd> " capture · " <kbd>"j"</kbd> "/" <kbd>"k"</kbd> " move · " <kbd>"x"</kbd>
                        " done · " <kbd>"e"</kbd> " edit · " <kbd>"n"</kbd> "/" <kbd>"p"</kbd> " next or previous page"
                    </p>
                </section>
                <aside class="tasks-side">
                    <ProgressPanel progress />
                    <PlanPanel />
                    <DataPanel />
                </aside>
            </div>
            {move || finished().map(|task| {
                let id = task.id.clone();
                view! {
                    <div class="undo-toast" role="status" data-testid="undo-toast">
                        <span>{format!("“{}” done", task.title)}</span>
                        <button
                            type="button"
                            data-testid="undo-done"
                            on:click=move |_| {
                                actions.done.dispatch(SetTaskDone { id: id.clone(), done: false });
                            }
                        >
                            "Undo"
                        </button>
                    </div>
                }
            })}
        </RequireUser>
    }
    .into_any()
}

/// Where a list longer than a page goes next: the links to the pages around this one.
#[derive(Debug, Clone, PartialEq)]
struct Pager {
    first: i64,
    last: i64,
    total: i64,
    previous: Option<String>,
    next: Option<String>,
}

impl Pager {
    /// `None` when the whole list is on this page.
    fn of(list: &crate::models::TaskPage, query: &leptos_router::params::ParamsMap) -> Option<Pager> {
        if list.pages() <= 1 && list.page <= 1 {
            return None;
        }
        let href = |page: i64| list_href(query, Some(page.to_string()));
        let first = (list.page - 1) * list.per_page + 1;
        Some(Pager {
            first,
            last: first + i64::try_from(list.items.len()).unwrap_or(0) - 1,
            total: list.total,
            previous: (list.page > 1).then(|| href((list.page - 1).min(list.pages()))),
            next: (list.page < list.pages()).then(|| href(list.page + 1)),
        })
    }
}

/// The address of the list `query` shows (its view, zone, tag and order) at `page`
/// (none, or the first: the list's own address).
fn list_href(query: &leptos_router::params::ParamsMap, page: Option<String>) -> String {
    let mut href =
        format!("/tasks?view={}", query.get("view").filter(|v| !v.is_empty()).unwrap_or_else(|| "all".to_owned()));
    for key in ["zone", "tag", "sort"] {
        if let Some(value) = query.get(key).filter(|v| !v.is_empty()) {
            href.push_str(&format!("&{key}={}", crate::components::percent_encode(&value)));
        }
    }
    if let Some(page) = page.filter(|p| !p.is_empty() && p != "1") {
        href.push_str(&format!("&page={}", crate::components::percent_encode(&page)));
    }
    href
}

#[component]
fn PagerNav(pager: Pager) -> impl IntoView {
    let shown = if pager.last >= pager.first {
        format!("Tasks {}–{} of {}", pager.first, pager.last, pager.total)
    } else {
        format!("No tasks on this page; the list holds {}.", pager.total)
    };
    view! {
        <nav class="pager" aria-label="Pages of the list" data-testid="task-pager">
            {pager.previous.map(|href| view! { <a href=href rel="prev" class="button" data-testid="tasks-previous">"Previous"</a> })}
            <span class="hint" data-testid="task-pager-shown">{shown}</span>
            {pager.next.map(|href| view! { <a href=href rel="next" class="button" data-testid="tasks-next">"Next"</a> })}
        </nav>
    }
}

/// The brain dump: many lines at once; Preview shows what was understood, Save makes tasks.
#[component]
fn CaptureBox() -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let capture = actions.capture;
    let error = form_error(move || capture.value().get());
    let preview = move || match capture.value().get() {
        Some(Ok(result)) if result.tasks.is_empty() => Some(result.items),
        _ => None,
    };
    let saved = move || match capture.value().get() {
        Some(Ok(result)) if !result.tasks.is_empty() => Some(result.tasks.len()),
        _ => None,
    };
    let text = RwSignal::new(String::new());
    // After a save the box empties, ready for the next dump.
    Effect::new(move |_| {
        if saved().is_some() {
            text.set(String::new());
        }
    });
    view! {
        <ActionForm action=capture attr:class="form capture" attr:id="capture-form">
            <div class="field">
                <label for="capture-text">"Brain dump: one task per line"</label>
                <textarea
                    id="capture-text"
                    name="text"
                    rows="4"
                    data-testid="capture-text"
                    placeholder="Call dentist tomorrow 3pm ~15m !1 #health\nWrite report by fri for 2h high energy @work"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
                <p class="hint">
                    "Dates (tomorrow 3pm, next fri, in 2 days, on 12 march), ~30m or for 1h, !1–!4, #tag, @zone, low/high energy."
                </p>
                <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field_message("text"))}</p>
            </div>
            <FormError error />
            <div class="dialog-actions">
                <button type="submit" name="save" value="" data-testid="capture-preview">"Preview"</button>
                <button type="submit" name="save" value="true" class="primary" data-testid="capture-save">"Save tasks"</button>
            </div>
        </ActionForm>
        {move || saved().map(|n| view! {
            <p class="notice" role="status" data-testid="capture-saved">{format!("Captured {n} task{}.", if n == 1 { "" } else { "s" })}</p>
        })}
        {move || preview().map(|items| view! {
            <div class="capture-preview" data-testid="capture-preview-list">
                <h3>"What I understood"</h3>
                <ol>
                    {items.into_iter().map(|item| {
                        let mut meta = Vec::new();
                        if let Some(at) = &item.do_at { meta.push(format!("do {}", short_when(at))); }
                        if let Some(due) = &item.due { meta.push(format!("due {}", short_when(due))); }
                        if let Some(m) = item.estimate_minutes { meta.push(format!("~{}", minutes_text(m))); }
                        if let Some(p) = item.priority { meta.push(format!("P{p}")); }
                        if let Some(zone) = &item.zone { meta.push(format!("@{zone}")); }
                        for tag in &item.tags { meta.push(format!("#{tag}")); }
                        if let Some(e) = item.energy { meta.push(format!("{} energy", energy_label(e))); }
                        view! {
                            <li data-testid="preview-item">
                                <strong>{item.title}</strong>
                                " "
                                <span class="task-meta">{meta.join(" · ")}</span>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </div>
        })}
    }
}

fn energy_label(energy: crate::models::Energy) -> &'static str {
    match energy {
        crate::models::Energy::Low => "low",
        crate::models::Energy::Medium => "medium",
        crate::models::Energy::High => "high",
    }
}

fn minutes_text(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// `2030-01-15` or `2030-01-15T15:00:00+01:00` as "2030-01-15" / "2030-01-15 15:00".
pub fn short_when(text: &str) -> String {
    match text.split_once('T') {
        Some((date, time)) => format!("{date} {}", time.get(..5).unwrap_or(time)),
        None => text.to_owned(),
    }
}

/// One task in a list: its check box, title, dates and the next micro-step; "Edit" opens it
/// in place (`?edit=ID`, a plain link) with its steps, fields, "Save as template" and
/// "Delete", so a closed row carries one form, not six.
#[component]
fn TaskRow(task: TaskInfo, today: String) -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let id = task.id.clone();
    let done = task.is_done();
    let mut meta: Vec<String> = Vec::new();
    let overdue = !done && task.due.as_deref().is_some_and(|due| crate::models::is_before(due, &today));
    if let Some(at) = &task.do_at {
        meta.push(format!("do {}", crate::models::when_label(at, &today)));
    }
    if let Some(m) = task.estimate_minutes {
        meta.push(format!("~{}", minutes_text(m)));
    }
    if task.priority < 4 {
        meta.push(format!("P{}", task.priority));
    }
    if let Some(e) = task.energy {
        meta.push(format!("{} energy", energy_label(e)));
    }
    if task.rrule.is_some() {
        meta.push("repeats".to_owned());
    }
    if task.status == crate::models::TaskStatus::Doing {
        meta.push("in progress".to_owned());
    }
    if task.status == crate::models::TaskStatus::Archived {
        meta.push("archived".to_owned());
    }
    let due = task.due.as_deref().map(|due| {
        let label = crate::models::when_label(due, &today);
        if overdue { format!("overdue, due {label}") } else { format!("due {label}") }
    });
    let zone = task.zone.clone();
    let tags = task.tags.clone();
    let progress = task.progress;
    let next = task.next_step().map(|(step, path)| (step.id.clone(), step.title.clone(), path.join(" › ")));
    let has_steps = !task.steps.is_empty();
    let title = task.title.clone();
    let use_id = id.clone();
    // The open task's parts are rendered only for the task being edited (`?edit=ID`),
    // which keeps a long list light; the links work without JavaScript too.
    let query = use_query_map();
    let (edit_href, close_href, editing, steps_first) = query.with_untracked(|q| {
        let base = list_href(q, q.get("page"));
        let editing = q.get("edit").as_deref() == Some(id.as_str());
        (format!("{base}&edit={id}"), base, editing, editing && q.get("steps").is_some())
    });
    let break_down = (!editing && !has_steps && !done && !task.is_template).then(|| format!("{edit_href}&steps=1"));
    view! {
        <li class="task" class:done=done class:open=editing data-testid="task" data-title=title.clone() tabindex="-1">
            {if task.is_template {
                view! {
                    <ActionForm action=actions.copy attr:class="inline-form">
                        <input type="hidden" name="id" value=use_id />
                        <input type="hidden" name="template" value="false" />
                        <button type="submit" class="primary" data-testid="use-template">"Use"</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! { <DoneToggle id=id.clone() done label=title.clone() /> }.into_any()
            }}
            <div class="task-body">
                <div class="task-head">
                    <span class="task-title">{title.clone()}</span>
                    {(!editing).then(|| view! {
                        <a href=edit_href class="task-open" data-testid="edit-link" aria-label=format!("Edit “{title}”")>"Edit"</a>
                    })}
                </div>
                <span class="task-meta">
                    {due.map(|due| view! { <span class="due" class:overdue=overdue>{due}</span> })}
                    {zone.map(|z| {
                        let style = format!("--zone: {}", z.color);
                        view! { <span class="zone-chip" style=style>{format!("@{}", z.name)}</span> }
                    })}
                    {tags.into_iter().map(|t| {
                        let href = format!("/tasks?view=all&tag={}", crate::components::percent_encode(&t));
                        view! { <a class="tag" href=href>{format!("#{t}")}</a> }
                    }).collect_view()}
                    {meta.join(" · ")}
                </span>
                {has_steps.then(|| view! {
                    <div class="progress" data-testid="task-progress" aria-label=format!("{} of {} steps done", progress.done, progress.total)>
                        <span class="bar"><span class="fill" style=format!("width: {}%", progress.percent())></span></span>
                        {format!("{}/{} steps", progress.done, progress.total)}
                    </div>
                })}
                {(!done).then(|| next.clone().map(|(step_id, step_title, path)| view! {
                    <div class="next-step" data-testid="next-step">
                        <span class="hint">{if path.is_empty() { "Next step".to_owned() } else { format!("Next step ({path})") }}</span>
                        <strong>{step_title.clone()}</strong>
                        <DoneToggle id=step_id done=false label=step_title />
                    </div>
                }))}
                {break_down.map(|href| view! { <a href=href class="break-down">"Break it down"</a> })}
                {editing.then(|| view! { <OpenTask task=task.clone() close=close_href steps_first /> })}
            </div>
        </li>
    }
    .into_any()
}

/// The task being edited, opened in its row: micro-steps, the edit form, and the actions
/// that are rarely wanted in passing (save as template, delete).
#[component]
fn OpenTask(task: TaskInfo, close: String, steps_first: bool) -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let id = task.id.clone();
    let has_steps = !task.steps.is_empty();
    let steps = task.steps.clone();
    let is_template = task.is_template;
    let title = task.title.clone();
    let (template_id, delete_id) = (id.clone(), id.clone());
    view! {
        <div class="open-task">
            <section class="steps" data-testid="steps" aria-label=format!("Micro-steps of “{title}”")>
                <h3 class="steps-heading">{if has_steps { "Micro-steps" } else { "Break it down" }}</h3>
                <StepList steps />
                <AddStepForm parent_id=id.clone() label="Add a micro-step" sub=false focus=steps_first />
                <SuggestSteps id=id.clone() />
            </section>
            <EditTaskForm task close focus=!steps_first />
            <div class="task-actions">
                {(!is_template).then(|| view! {
                    <a href=format!("/focus?task={}", crate::components::percent_encode(&id)) class="button" data-testid="focus-on-task">
                        "Focus on this"
                    </a>
                })}
                {(!is_template).then(|| view! {
                    <ActionForm action=actions.copy attr:class="inline-form">
                        <input type="hidden" name="id" value=template_id.clone() />
                        <input type="hidden" name="template" value="true" />
                        <button type="submit" class="link-button" data-testid="save-template">"Save as template"</button>
                    </ActionForm>
                })}
                <ActionForm action=actions.delete attr:class="inline-form">
                    <input type="hidden" name="id" value=delete_id />
                    <button type="submit" class="link-button danger" aria-label=format!("Delete “{title}”")>"Delete"</button>
                </ActionForm>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn DoneToggle(id: String, done: bool, label: String) -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let text = if done { format!("Mark “{label}” not done") } else { format!("Mark “{label}” done") };
    view! {
        <ActionForm action=actions.done attr:class="inline-form check-form">
            <input type="hidden" name="id" value=id />
            <input type="hidden" name="done" value=(!done).to_string() />
            <button type="submit" class="check-button" class:checked=done aria-label=text data-testid="done-toggle">
                {if done { "✓" } else { "" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn StepList(steps: Vec<TaskInfo>) -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let dragged = expect_context::<DraggedStep>().0;
    let count = steps.len();
    view! {
        <ol class="step-list">
            {steps.into_iter().enumerate().map(|(index, step)| {
                let id = step.id.clone();
                let children = step.steps.clone();
                let can_nest = step.depth < 7;
                let title = step.title.clone();
                let is_done = step.is_done();
                let up = format!("Move “{title}” up");
                let down = format!("Move “{title}” down");
                let (id1, id2, id3, id4) = (id.clone(), id.clone(), id.clone(), id.clone());
                let (sub_open, sub_toggle) = remembered(format!("sub-{id}"));
                let parent = step.parent_id.clone();
                let (drag_id, drag_parent, drop_parent, over_parent) = (id.clone(), parent.clone(), parent.clone(), parent);
                let handle_label = format!("Drag “{title}” to reorder");
                view! {
                    <li
                        class="step"
                        class:done=is_done
                        data-testid="step"
                        data-title=title.clone()
                        on:dragover=move |ev: leptos::ev::DragEvent| {
                            if dragged.with_untracked(|d| d.as_ref().is_some_and(|(_, p, _)| *p == over_parent)) {
                                ev.prevent_default();
                                ev.stop_propagation();
                            }
                        }
                        on:drop=move |ev: leptos::ev::DragEvent| {
                            let Some((moving, from_parent, from)) = dragged.get_untracked() else { return };
                            if from_parent != drop_parent {
                                return;
                            }
                            ev.prevent_default();
                            ev.stop_propagation();
                            dragged.set(None);
                            if from != index {
                                let by = index as i64 - from as i64;
                                actions.shift.dispatch(MoveStep { id: moving, by });
                            }
                        }
                    >
                        <div class="step-row">
                            <span
                                class="drag-handle"
                                draggable="true"
                                title=handle_label.clone()
                                aria-hidden="true"
                                data-testid="drag-step"
                                on:dragstart=move |_| dragged.set(Some((drag_id.clone(), drag_parent.clone(), index)))
                            >
                                "⠿"
                            </span>
                            <DoneToggle id=id1 done=is_done label=title.clone() />
                            <span class="step-title">{title.clone()}</span>
                            {(step.progress.total > 0).then(|| view! { <span class="hint">{format!("{}/{}", step.progress.done, step.progress.total)}</span> })}
                            <ActionForm action=actions.shift attr:class="inline-form">
                                <input type="hidden" name="id" value=id2 />
                                <input type="hidden" name="by" value="-1" />
                                <button type="submit" class="link-button" disabled=index == 0 aria-label=up>"↑"</button>
                            </ActionForm>
                            <ActionForm action=actions.shift attr:class="inline-form">
                                <input type="hidden" name="id" value=id3 />
                                <input type="hidden" name="by" value="1" />
                                <button type="submit" class="link-button" disabled=index + 1 == count aria-label=down>"↓"</button>
                            </ActionForm>
                        </div>
                        {(!children.is_empty()).then(|| view! { <StepList steps=children /> })}
                        {can_nest.then(|| view! {
                            <details class="sub-step" prop:open=sub_open on:toggle=sub_toggle>
                                <summary class="hint">"+ sub-step"</summary>
                                <AddStepForm parent_id=id4 label="Add a sub-step" sub=true />
                            </details>
                        })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
    .into_any()
}

/// "Suggest steps": a preview of micro-steps (from the model or by rules), then "Add them".
#[component]
fn SuggestSteps(id: String) -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let suggest = actions.suggest;
    let mine = id.clone();
    let preview = move || match suggest.value().get() {
        Some(Ok(info)) if info.task_id == mine && info.task.is_none() => Some(info),
        _ => None,
    };
    let (first, second) = (id.clone(), id);
    view! {
        <ActionForm action=suggest attr:class="inline-form">
            <input type="hidden" name="id" value=first />
            <button type="submit" name="apply" value="" class="link-button" data-testid="suggest-steps">"Suggest steps"</button>
        </ActionForm>
        {move || preview().map(|info| {
            let id = second.clone();
            view! {
                <div class="suggestions" data-testid="suggestions">
                    <p class="hint">{info.note.clone().unwrap_or_else(|| if info.source == "model" { "Suggested by your model:".to_owned() } else { "A gentle way to start:".to_owned() })}</p>
                    <ol>{info.steps.into_iter().map(|s| view! { <li>{s.title}</li> }).collect_view()}</ol>
                    <ActionForm action=suggest attr:class="inline-form">
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="apply" value="true" />
                        <button type="submit" data-testid="apply-suggestions">"Add them"</button>
                    </ActionForm>
                </div>
            }
        })}
    }
    .into_any()
}

#[component]
fn AddStepForm(parent_id: String, label: &'static str, sub: bool, #[prop(optional)] focus: bool) -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let field = format!("step-{parent_id}");
    let (input_id, button_id) =
        if sub { ("add-sub-step-title", "add-sub-step") } else { ("add-step-title", "add-step") };
    view! {
        <ActionForm action=actions.add_step attr:class="inline-form add-step">
            <input type="hidden" name="parent_id" value=parent_id />
            <label class="visually-hidden" for=field.clone()>{label}</label>
            <input id=field name="title" placeholder=label required=true autofocus=focus data-testid=input_id />
            <button type="submit" data-testid=button_id>"Add"</button>
        </ActionForm>
    }
}

#[component]
fn EditTaskForm(task: TaskInfo, close: String, focus: bool) -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let edit = actions.edit;
    let id = task.id.clone();
    let mine = id.clone();
    let error = Signal::derive(move || match (edit.input().get(), edit.value().get()) {
        (Some(input), _) if input.id != mine => None,
        (_, Some(Err(e))) => Some(e),
        _ => None,
    });
    let message = move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    // A date picker and an optional time for each of "do on" and "due".
    let date_of = |text: &Option<String>| text.as_deref().and_then(|t| t.get(..10)).unwrap_or_default().to_owned();
    let time_of = |text: &Option<String>| {
        text.as_deref()
            .and_then(|t| t.split_once('T'))
            .and_then(|(_, time)| time.get(..5))
            .unwrap_or_default()
            .to_owned()
    };
    view! {
        <details class="edit-task" data-testid="edit-task" open=true>
            <summary>"Edit"</summary>
            <ActionForm action=edit attr:class="form">
                <input type="hidden" name="id" value=id.clone() />
                <div class="field">
                    <label for=format!("title-{id}")>"Title"</label>
                    <input id=format!("title-{id}") name="title" value=task.title.clone() autofocus=focus />
                    <p class="field-error">{message("title")}</p>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for=format!("do-{id}")>"Do on"</label>
                        <div class="date-time">
                            <input id=format!("do-{id}") type="date" name="do_date" value=date_of(&task.do_at) data-testid="do-date" />
                            <input name="do_time" value=time_of(&task.do_at) placeholder="any time" aria-label="Do at (time, optional)" data-testid="do-time" />
                        </div>
                        <p class="field-error">{message("do_at")}</p>
                    </div>
                    <div class="field">
                        <label for=format!("due-{id}")>"Due"</label>
                        <div class="date-time">
                            <input id=format!("due-{id}") type="date" name="due_date" value=date_of(&task.due) data-testid="due-date" />
                            <input name="due_time" value=time_of(&task.due) placeholder="end of day" aria-label="Due at (time, optional)" data-testid="due-time" />
                        </div>
                        <p class="field-error">{message("due")}</p>
                    </div>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for=format!("est-{id}")>"Estimate (minutes)"</label>
                        <input id=format!("est-{id}") name="estimate_minutes" inputmode="numeric" value=task.estimate_minutes.map(|m| m.to_string()).unwrap_or_default() />
                        <p class="field-error">{message("estimate_minutes")}</p>
                    </div>
                    <div class="field">
                        <label for=format!("prio-{id}")>"Priority"</label>
                        <select id=format!("prio-{id}") name="priority">
                            {(1..=4u8).map(|p| view! { <option value=p.to_string() selected=task.priority == p>{format!("P{p}")}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for=format!("status-{id}")>"Status"</label>
                        <select id=format!("status-{id}") name="status">
                            {[("todo", "To do"), ("doing", "Doing"), ("done", "Done"), ("archived", "Archived")].into_iter().map(|(value, label)| {
                                let selected = task.status.as_str() == value;
                                view! { <option value=value selected=selected>{label}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for=format!("energy-{id}")>"Energy"</label>
                        <select id=format!("energy-{id}") name="energy">
                            <option value="" selected=task.energy.is_none()>"—"</option>
                            {["low", "medium", "high"].into_iter().map(|e| {
                                let selected = task.energy.map(energy_label) == Some(e);
                                view! { <option value=e selected=selected>{e}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for=format!("zone-{id}")>"Zone"</label>
                        <input id=format!("zone-{id}") name="zone" value=task.zone.as_ref().map(|z| z.name.clone()).unwrap_or_default() />
                        <p class="field-error">{message("zone")}</p>
                    </div>
                    <div class="field">
                        <label for=format!("tags-{id}")>"Tags"</label>
                        <input id=format!("tags-{id}") name="tags" value=task.tags.join(" ") />
                        <p class="field-error">{message("tags")}</p>
                    </div>
                </div>
                <div class="field">
                    <label for=format!("notes-{id}")>"Notes"</label>
                    <textarea id=format!("notes-{id}") name="notes" rows="2">{crate::components::textarea_text(&task.notes)}</textarea>
                </div>
                <div class="dialog-actions">
                    <a href=close class="button">"Close"</a>
                    <button type="submit" class="primary" data-testid="save-task">"Save"</button>
                </div>
            </ActionForm>
        </details>
    }
    .into_any()
}

#[component]
fn ProgressPanel(progress: Resource<Result<ProgressInfo, crate::AppError>>) -> impl IntoView {
    view! {
        <section class="card progress-panel" aria-label="Progress">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    progress.await.ok().map(|p| {
                        let s = p.switches;
                        let level_pct = if p.level.level_size > 0 { p.level.into_level * 100 / p.level.level_size } else { 0 };
                        view! {
                            {s.xp.then(|| view! {
                                <p class="xp" data-testid="xp">
                                    <strong>{format!("Level {}", p.level.level)}</strong>
                                    {format!(" · {} XP", p.xp)}
                                    {(p.xp_today > 0).then(|| format!(" (+{} today)", p.xp_today))}
                                </p>
                                <span class="bar"><span class="fill" style=format!("width: {level_pct}%")></span></span>
                            })}
                            {s.streaks.then(|| view! {
                                <p class="streak" data-testid="streak">
                                    {format!("{}-day streak", p.streak.current)}
                                    {(p.streak.freezes > 0).then(|| format!(" · {} freeze day{} saved", p.streak.freezes, if p.streak.freezes == 1 { "" } else { "s" }))}
                                </p>
                                {(!p.streak.active_today && p.streak.current > 0).then(|| view! { <p class="hint">"One small step today keeps it going."</p> })}
                            })}
                            {s.companion.then(|| view! {
                                <p class="companion" data-testid="companion">
                                    <span class=format!("sprite stage-{}", p.companion.stage) aria-hidden="true"></span>
                                    {format!("Your companion: {}", p.companion.name)}
                                </p>
                            })}
                            {s.achievements.then(|| {
                                let earned: Vec<_> = p.achievements.iter().filter(|a| a.earned).map(|a| a.title.clone()).collect();
                                let next = p.achievements.iter().find(|a| !a.earned).cloned();
                                view! {
                                    <p class="hint">{if earned.is_empty() { "No achievements yet.".to_owned() } else { format!("Achievements: {}", earned.join(", ")) }}</p>
                                    {next.map(|a| view! { <p class="hint">{format!("Next: {} ({}/{})", a.title, a.progress, a.goal)}</p> })}
                                }
                            })}
                            {s.rewards.then(|| view! { <Rewards points=p.points rewards=p.rewards.clone() /> })}
                        }
                    })
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// Rewards the user defines and buys with points (XP not yet spent).
#[component]
fn Rewards(points: i64, rewards: Vec<crate::models::RewardInfo>) -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let add_error = form_error(move || actions.add_reward.value().get());
    let claim_error = form_error(move || actions.claim.value().get());
    view! {
        <div class="rewards" data-testid="rewards">
            <p class="hint" data-testid="points">{format!("{points} points to spend")}</p>
            <FormError error=claim_error />
            <ul>
                {rewards.into_iter().map(|r| view! {
                    <li>
                        {format!("{} · {} points ", r.title, r.cost)}
                        <ActionForm action=actions.claim attr:class="inline-form">
                            <input type="hidden" name="id" value=r.id.clone() />
                            <button type="submit" class="link-button" disabled={r.cost > points} data-testid="claim-reward">"Treat yourself"</button>
                        </ActionForm>
                    </li>
                }).collect_view()}
            </ul>
            <details>
                <summary class="hint">"Add a reward"</summary>
                <ActionForm action=actions.add_reward attr:class="form">
                    <label for="reward-title">"Reward"</label>
                    <input id="reward-title" name="title" placeholder="A fancy coffee" data-testid="reward-title" />
                    <p class="field-error">{move || add_error.get().and_then(|e| e.field_message("title"))}</p>
                    <label for="reward-cost">"Cost in points"</label>
                    <input id="reward-cost" name="cost" inputmode="numeric" value="50" class="short" data-testid="reward-cost" />
                    <p class="field-error">{move || add_error.get().and_then(|e| e.field_message("cost"))}</p>
                    <button type="submit" data-testid="add-reward">"Add"</button>
                </ActionForm>
            </details>
        </div>
    }
    .into_any()
}

#[component]
fn PlanPanel() -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let plan = actions.plan;
    let error = form_error(move || plan.value().get());
    view! {
        <section class="card plan-panel" aria-label="Plan my week">
            <h2>"Plan my week"</h2>
            <p class="hint">"Places open tasks with an estimate into free working time before their deadlines."</p>
            <ActionForm action=plan attr:class="inline-form">
                <button type="submit" name="apply" value="" data-testid="plan-preview">"Preview"</button>
                <button type="submit" name="apply" value="true" class="primary" data-testid="plan-apply">"Plan my week"</button>
            </ActionForm>
            <FormError error />
            {move || match plan.value().get() {
                Some(Ok(result)) => Some(view! { <PlanView result /> }),
                _ => None,
            }}
        </section>
    }
    .into_any()
}

#[component]
fn PlanView(result: PlanResult) -> impl IntoView {
    let applied = result.applied;
    view! {
        <div class="plan-result" data-testid="plan-result">
            {(result.placements.is_empty()).then(|| view! { <p class="empty">"Nothing to place."</p> })}
            <ul>
                {result.placements.into_iter().map(|p| {
                    let week = format!("/calendar?view=week&date={}", p.start.get(..10).unwrap_or_default());
                    view! {
                        <li data-testid="placement">
                            <strong>{p.title}</strong> " " <span class="hint">{p.reason}</span>
                            {applied.then(|| view! { " " <a href=week data-testid="placement-week">"show"</a> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(!result.unplaced.is_empty()).then(|| view! {
                <h3>"Did not fit"</h3>
                <ul>
                    {result.unplaced.into_iter().map(|u| view! {
                        <li data-testid="unplaced"><strong>{u.title}</strong> " " <span class="hint">{u.reason}</span></li>
                    }).collect_view()}
                </ul>
            })}
            {applied.then(|| view! { <p><A href="/calendar?view=week">"See the blocks on your calendar"</A></p> })}
        </div>
    }
}

/// A new account's first visit: zones, working and peak hours, motivation features.
#[component]
fn Onboarding(finish: ServerAction<FinishOnboarding>) -> impl IntoView {
    let error = form_error(move || finish.value().get());
    let message = move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    let check = |name: &'static str, label: &'static str| {
        view! {
            <label class="check">
                <input type="checkbox" name=name value="true" checked=true />
                {label}
            </label>
        }
    };
    let clock = use_user().clock;
    let shown = move |text: &str| super::host::clock_text(text, clock);
    view! {
        <section class="onboarding notice" data-testid="onboarding" aria-label="Getting started">
            <h2>"Welcome! Three quick choices"</h2>
            <ActionForm action=finish attr:class="form">
                <FormError error />
                <div class="field">
                    <label for="onboard-zones">"Your life areas (zones), separated by commas"</label>
                    <input id="onboard-zones" name="zones" value="Work, Home, Health" data-testid="onboard-zones" />
                    <p class="field-error">{message("zones")}</p>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for="work-start">"Working hours from"</label>
                        <input id="work-start" name="work_start" autocomplete="off" size="8" placeholder=shown("09:00") value=shown("09:00") />
                        <p class="field-error">{message("work_start")}</p>
                    </div>
                    <div class="field">
                        <label for="work-end">"to"</label>
                        <input id="work-end" name="work_end" autocomplete="off" size="8" placeholder=shown("17:00") value=shown("17:00") />
                    </div>
                    <div class="field">
                        <label for="peak-start">"Best focus from"</label>
                        <input id="peak-start" name="peak_start" autocomplete="off" size="8" placeholder=shown("09:00") value=shown("09:00") />
                        <p class="field-error">{message("peak_hours")}</p>
                    </div>
                    <div class="field">
                        <label for="peak-end">"to"</label>
                        <input id="peak-end" name="peak_end" autocomplete="off" size="8" placeholder=shown("12:00") value=shown("12:00") />
                    </div>
                </div>
                <fieldset>
                    <legend>"What keeps you going (change it any time in Settings)"</legend>
                    {check("xp", "XP and levels")}
                    {check("streaks", "A daily streak that forgives a missed day")}
                    {check("achievements", "Achievements")}
                    {check("rewards", "Rewards you buy with points")}
                    {check("companion", "A companion that grows with you")}
                </fieldset>
                <div class="dialog-actions">
                    <button type="submit" name="skip" value="true" data-testid="onboard-skip">"Skip"</button>
                    <button type="submit" name="skip" value="" class="primary" data-testid="onboard-save">"Start"</button>
                </div>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// Export (JSON, CSV) and import (CSV from Todoist or Calento), with the import's report.
#[component]
fn DataPanel() -> impl IntoView {
    let actions = expect_context::<TaskActions>();
    let import = actions.import;
    let error = form_error(move || import.value().get());
    view! {
        <section class="card data-panel" aria-label="Your tasks' data">
            <h2>"Your data"</h2>
            <p>
                <a href="/api/v1/tasks/export.json" download="calento-tasks.json">"Export JSON"</a>
                " · "
                <a href="/api/v1/tasks/export.csv" download="calento-tasks.csv">"Export CSV"</a>
            </p>
            <details>
                <summary>"Import CSV (Todoist or Calento)"</summary>
                <ActionForm action=import attr:class="form">
                    <label for="import-text">"Paste the file's contents"</label>
                    <textarea id="import-text" name="text" rows="4" data-testid="import-text"></textarea>
                    <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field_message("file"))}</p>
                    <FormError error />
                    <button type="submit" data-testid="import-save">"Import"</button>
                </ActionForm>
            </details>
            {move || match import.value().get() {
                Some(Ok(report)) => Some(view! {
                    <div class="notice" role="status" data-testid="import-report">
                        <p>{format!(
                            "Imported {} and {} ({}); skipped {}.",
                            crate::components::count(report.tasks as i64, "task", "tasks"),
                            crate::components::count(report.steps as i64, "micro-step", "micro-steps"),
                            report.format,
                            report.skipped.len()
                        )}</p>
                        <ul class="skipped">
                            {report.skipped.into_iter().chain(report.notes).take(50).map(|n| view! { <li>{format!("Line {}: {}", n.line, n.reason)}</li> }).collect_view()}
                        </ul>
                    </div>
                }),
                _ => None,
            }}
        </section>
    }
    .into_any()
}

/// j/k move between tasks, x marks the focused one done, e opens its edit form, c goes to
/// the capture box; ignored while typing.
fn keyboard(_actions: TaskActions) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let focused = RwSignal::new(None::<usize>);
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            use leptos::wasm_bindgen::JsCast;
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let typing = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            if typing {
                return;
            }
            let Ok(rows) = document().query_selector_all("[data-testid=task]") else { return };
            let count = rows.length() as usize;
            let row = |i: usize| rows.item(i as u32).and_then(|n| n.dyn_into::<leptos::web_sys::HtmlElement>().ok());
            let current = focused.get_untracked().filter(|i| *i < count);
            match ev.key().as_str() {
                "j" | "k" if count > 0 => {
                    let next = match (current, ev.key().as_str()) {
                        (None, _) => 0,
                        (Some(i), "j") => (i + 1).min(count - 1),
                        (Some(i), _) => i.saturating_sub(1),
                    };
                    focused.set(Some(next));
                    if let Some(el) = row(next) {
                        let _ = el.focus();
                    }
                    ev.prevent_default();
                }
                "x" => {
                    if let Some(button) = current
                        .and_then(row)
                        .and_then(|el| el.query_selector("[data-testid=done-toggle]").ok().flatten())
                        && let Ok(button) = button.dyn_into::<leptos::web_sys::HtmlElement>()
                    {
                        button.click();
                        ev.prevent_default();
                    }
                }
                "e" => {
                    if let Some(link) =
                        current.and_then(row).and_then(|el| el.query_selector("[data-testid=edit-link]").ok().flatten())
                        && let Ok(link) = link.dyn_into::<leptos::web_sys::HtmlElement>()
                    {
                        link.click();
                        ev.prevent_default();
                    }
                }
                "n" | "p" => {
                    let testid = if ev.key() == "n" { "tasks-next" } else { "tasks-previous" };
                    if let Some(Ok(link)) = document()
                        .query_selector(&format!("[data-testid={testid}]"))
                        .ok()
                        .flatten()
                        .map(|el| el.dyn_into::<leptos::web_sys::HtmlElement>())
                    {
                        focused.set(None);
                        link.click();
                        ev.prevent_default();
                    }
                }
                "c" => {
                    if let Some(Ok(area)) = document()
                        .get_element_by_id("capture-text")
                        .map(|el| el.dyn_into::<leptos::web_sys::HtmlElement>())
                    {
                        let _ = area.focus();
                        ev.prevent_default();
                    }
                }
                _ => {}
            }
        });
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-task-keys", "ready");
        }
        on_cleanup(move || handle.remove());
    });
}
