//! Settings → Tasks & focus: Pomodoro lengths, peak hours, whether time blocks make you busy
//! on booking links, and which motivation features to use.

use leptos::prelude::*;
use leptos_meta::Title;

use super::host::clock_text;
use crate::components::{FormError, RequireUser, SettingsNav, form_error, use_user};
use crate::models::TaskSettingsForm;
use crate::server::tasks::{SaveTaskSettings, load_task_settings};

#[component]
pub fn TaskSettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveTaskSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| load_task_settings());
    let error = form_error(move || save.value().get());
    let saved = move || matches!(save.value().get(), Some(Ok(()))).then_some("Saved.");
    view! {
        <Title text="Tasks & focus settings" />
        <RequireUser>
            <section class="card">
                <h1>"Tasks & focus"</h1>
                <SettingsNav />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        settings.await.map(|form| view! { <SettingsForm form save error /> })
                    })}
                </Transition>
                <p class="saved" role="status" data-testid="settings-saved">{saved}</p>
            </section>
        </RequireUser>
    }
    .into_any()
}

#[component]
fn SettingsForm(
    form: TaskSettingsForm,
    save: ServerAction<SaveTaskSettings>,
    error: Signal<Option<crate::AppError>>,
) -> impl IntoView {
    let message = move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    let number = move |name: &'static str, label: &'static str, value: u32| {
        view! {
            <div class="field">
                <label for=name>{label}</label>
                <input id=name name=name type="number" min="1" max="240" value=value.to_string() class="short" />
                <p class="field-error">{message(name)}</p>
            </div>
        }
    };
    let check = |name: &'static str, label: &'static str, on: bool| {
        view! {
            <label class="check">
                <input type="checkbox" name=name value="true" checked=on />
                {label}
            </label>
        }
    };
    let s = form.switches;
    let clock = use_user().clock;
    let (peak_start, peak_end) = (clock_text(&form.peak_start, clock), clock_text(&form.peak_end, clock));
    let (start_hint, end_hint) = (clock_text("09:00", clock), clock_text("12:00", clock));
    view! {
        <ActionForm action=save attr:class="form">
            <FormError error />
            <fieldset>
                <legend>"Pomodoro"</legend>
                <div class="field-row">
                    {number("focus_minutes", "Focus (minutes)", form.focus.focus_minutes)}
                    {number("short_break_minutes", "Short break", form.focus.short_break_minutes)}
                    {number("long_break_minutes", "Long break", form.focus.long_break_minutes)}
                    {number("cycles", "Focus periods before a long break", form.focus.cycles)}
                </div>
                {check("sound", "Play a sound when a session or break ends", form.sound)}
            </fieldset>
            <fieldset>
                <legend>"Planning"</legend>
                <div class="field-row">
                    <div class="field">
                        <label for="peak_start">"Peak hours from"</label>
                        <input id="peak_start" name="peak_start" autocomplete="off" size="8" placeholder=start_hint value=peak_start />
                    </div>
                    <div class="field">
                        <label for="peak_end">"to"</label>
                        <input id="peak_end" name="peak_end" autocomplete="off" size="8" placeholder=end_hint value=peak_end />
                    </div>
                </div>
                <p class="field-error">{message("peak_hours")}</p>
                <p class="hint">"“Plan my week” puts high-energy tasks in your peak hours. Working hours are your default availability schedule."</p>
                {check("blocks_busy", "Time blocks make me busy on booking links", form.blocks_busy)}
            </fieldset>
            <fieldset>
                <legend>"Motivation"</legend>
                {check("xp", "XP and levels", s.xp)}
                {check("streaks", "Daily streak (with freeze days)", s.streaks)}
                {check("achievements", "Achievements", s.achievements)}
                {check("rewards", "Rewards", s.rewards)}
                {check("companion", "Companion", s.companion)}
            </fieldset>
            <div class="dialog-actions">
                <button type="submit" class="primary" data-testid="save-task-settings">"Save"</button>
            </div>
        </ActionForm>
    }
    .into_any()
}
