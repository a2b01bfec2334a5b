//! Settings → Notifications: preferences, quiet hours, push devices, test buttons.

use leptos::prelude::*;

use crate::AppError;
use crate::models::{NotificationSettings, PushDevice};
#[cfg(feature = "ssr")]
use {super::request, crate::ssr::notify};

#[server(prefix = "/fn", endpoint = "load_notifications")]
pub async fn load_notifications() -> Result<NotificationSettings, AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    notify::settings(&state.db, &user.id, state.vapid_public_key.clone()).await
}

/// Saves the notifications form: a checkbox per kind and channel (`{kind}_{channel}`) and
/// per kind for "urgent" (breaks through quiet hours); absent checkboxes mean off. Times
/// are `HH:MM`; an empty agenda time or review day turns that email off.
#[server(prefix = "/fn", endpoint = "save_notification_settings")]
pub async fn save_notification_settings(
    #[server(default)] event_reminder_email: Option<String>,
    #[server(default)] event_reminder_push: Option<String>,
    #[server(default)] event_reminder_urgent: Option<String>,
    #[server(default)] task_due_email: Option<String>,
    #[server(default)] task_due_push: Option<String>,
    #[server(default)] task_due_urgent: Option<String>,
    #[server(default)] focus_end_push: Option<String>,
    #[server(default)] focus_end_urgent: Option<String>,
    #[server(default)] booking_email: Option<String>,
    #[server(default)] booking_push: Option<String>,
    #[server(default)] booking_urgent: Option<String>,
    #[server(default)] daily_agenda_email: Option<String>,
    #[server(default)] daily_agenda_urgent: Option<String>,
    #[server(default)] weekly_review_email: Option<String>,
    #[server(default)] weekly_review_urgent: Option<String>,
    #[server(default)] quiet_start: String,
    #[server(default)] quiet_end: String,
    #[server(default)] all_day_at: String,
    #[server(default)] agenda_at: String,
    #[server(default)] agenda_when_empty: Option<String>,
    #[server(default)] review_day: String,
    #[server(default)] review_at: String,
) -> Result<(), AppError> {
    use calento::FieldError;
    use calento::notify::{KindChoice, NotifyKind, Preferences, parse_clock};
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let on = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty() && v != "false");
    let mut prefs = Preferences::default();
    let mut choose = |kind: NotifyKind, email: &Option<String>, push: &Option<String>, urgent: &Option<String>| {
        prefs.kinds.insert(kind, KindChoice { email: on(email), push: on(push), urgent: on(urgent) });
    };
    choose(NotifyKind::EventReminder, &event_reminder_email, &event_reminder_push, &event_reminder_urgent);
    choose(NotifyKind::TaskDue, &task_due_email, &task_due_push, &task_due_urgent);
    choose(NotifyKind::FocusEnd, &None, &focus_end_push, &focus_end_urgent);
    choose(NotifyKind::Booking, &booking_email, &booking_push, &booking_urgent);
    choose(NotifyKind::DailyAgenda, &daily_agenda_email, &None, &daily_agenda_urgent);
    choose(NotifyKind::WeeklyReview, &weekly_review_email, &None, &weekly_review_urgent);
    let mut errors = Vec::new();
    let mut time = |field: &'static str, text: &str, optional: bool| -> Option<u16> {
        let text = text.trim();
        if text.is_empty() && optional {
            return None;
        }
        let parsed = parse_clock(text);
        if parsed.is_none() {
            errors.push(FieldError::new(field, "Give a time as HH:MM, e.g. 07:30."));
        }
        parsed
    };
    prefs.quiet_start = time("quiet_start", &quiet_start, true);
    prefs.quiet_end = time("quiet_end", &quiet_end, true);
    prefs.all_day_at = time("all_day_at", &all_day_at, true).unwrap_or(9 * 60);
    prefs.agenda_at = time("agenda_at", &agenda_at, true);
    prefs.review_at = time("review_at", &review_at, true).unwrap_or(17 * 60);
    if prefs.quiet_start.is_some() != prefs.quiet_end.is_some() {
        errors.push(FieldError::new("quiet_end", "Quiet hours need a start and an end (or neither)."));
    } else if prefs.quiet_start.is_some() && prefs.quiet_start == prefs.quiet_end {
        errors.push(FieldError::new("quiet_end", "Quiet hours end at another time than they start."));
    }
    prefs.agenda_when_empty = on(&agenda_when_empty);
    prefs.review_day = match review_day.trim() {
        "" => None,
        text => match text.parse::<u8>() {
            Ok(day) if day < 7 => Some(day),
            _ => {
                errors.push(FieldError::new("review_day", "Choose a day of the week."));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    notify::save_preferences(&db, &user.id, &prefs).await
}

/// Keeps this browser's push subscription (what `PushSubscription.toJSON()` gives).
#[server(prefix = "/fn", endpoint = "subscribe_push")]
pub async fn subscribe_push(
    endpoint: String,
    p256dh: String,
    auth: String,
    #[server(default)] label: String,
) -> Result<PushDevice, AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    let sub = notify::Subscription { endpoint, p256dh, auth, label };
    notify::subscribe(&state.db, &user.id, &sub, &state.url_check).await
}

/// Forgets a device, by its id or (from the browser itself) by its endpoint.
#[server(prefix = "/fn", endpoint = "unsubscribe_push")]
pub async fn unsubscribe_push(device: String) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    notify::unsubscribe_device(&db, &user.id, &device).await
}

/// Sends a test notification by `channel` (`email` or `push`) now; returns how many were
/// queued (for push: one per device).
#[server(prefix = "/fn", endpoint = "test_notification")]
pub async fn test_notification(channel: String) -> Result<usize, AppError> {
    let user = request::require_user().await?;
    let state = request::state()?;
    let Some(channel) = calento::notify::Channel::parse(&channel) else {
        return Err(AppError::field(calento::FieldError::new("channel", "The channel is email or push.")));
    };
    if channel == calento::notify::Channel::Push && notify::devices(&state.db, &user.id).await?.is_empty() {
        return Err(AppError::field(calento::FieldError::new(
            "channel",
            "No device receives push yet: turn push on for this browser first.",
        )));
    }
    notify::send_test(&state.db, &user, channel, &state.public_url).await
}
