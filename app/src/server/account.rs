//! Registration, sign-in and out, the current user, profile settings and the theme.

use leptos::prelude::*;

use crate::AppError;
use crate::models::{Theme, UserProfile};
#[cfg(feature = "ssr")]
use {super::request, crate::ssr::accounts};

#[server(prefix = "/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserProfile>, AppError> {
    Ok(request::current_user().await?.map(|user| user.profile()))
}

#[server(prefix = "/fn", endpoint = "register")]
pub async fn register(
    email: String,
    password: String,
    name: String,
    #[server(default)] username: String,
    #[server(default)] time_zone: String,
    #[server(default)] invite: String,
) -> Result<(), AppError> {
    let state = request::state()?;
    let origin = request::origin().await;
    crate::ssr::rate_limit::hit(&state.db, "register", &origin.ip, state.rate_limits.register).await?;
    let form = accounts::Registration { email, password, name, username, time_zone, invite, by_operator: false };
    // An address that has an account answers exactly like a new one (the owner gets an
    // email instead), so registering cannot be used to learn who has an account. Hence no
    // sign-in here: the person logs in with the password they chose. Only the instance's
    // first account, its administrator, is signed in at once: before it nobody has an
    // account, so there is nothing to reveal (docs/SECURITY.md).
    match accounts::sign_up(&state.db, &form).await? {
        accounts::SignUp::Created(user) => {
            crate::ssr::audit::record(
                &state.db,
                Some(&user.id),
                None,
                crate::ssr::audit::event::REGISTERED,
                "",
                &origin,
            )
            .await;
            crate::ssr::security::send_verification(&state.db, &state.public_url, &user).await?;
            if user.is_admin == 1 {
                request::sign_in(&request::session().await?, &user).await?;
                leptos_axum::redirect("/calendar");
                return Ok(());
            }
        }
        accounts::SignUp::AddressInUse(owner) => {
            crate::ssr::security::tell_owner_of_sign_up(&state.db, &state.public_url, &owner, &origin).await;
        }
    }
    leptos_axum::redirect("/login?registered=1");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(email: String, password: String, #[server(default)] next: Option<String>) -> Result<(), AppError> {
    let state = request::state()?;
    let origin = request::origin().await;
    let user = accounts::authenticate(&state.db, &state.login_limits, &email, &password, &origin).await?;
    let session = request::session().await?;
    request::sign_in(&session, &user).await?;
    // A provider sign-in that matched this account's email waited for this password.
    let key = crate::ssr::identities::PENDING_LINK_KEY;
    let pending: Option<crate::ssr::identities::Identity> = session.remove(key).await.ok().flatten();
    if let Some(identity) = pending.filter(|i| i.email.as_deref() == Some(user.email.as_str())) {
        crate::ssr::identities::link(&state.db, &user.id, &identity, &origin).await?;
        leptos_axum::redirect("/settings/security?linked=1");
        return Ok(());
    }
    // A new account's first sign-in goes to the guided setup (offered once).
    let home = if accounts::needs_welcome(&state.db, &user.id).await? { "/welcome" } else { "/calendar" };
    leptos_axum::redirect(&request::local_path(next, home));
    Ok(())
}

/// What the guided setup shows: the person's zone and working hours, and what they have
/// made so far (calendars, booking links, tasks). Opening it counts as the setup having
/// been offered: sign-in no longer sends the account here.
#[server(prefix = "/fn", endpoint = "welcome_page")]
pub async fn welcome_page() -> Result<crate::models::WelcomeData, AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    accounts::mark_welcomed(&db, &user.id).await?;
    // The default schedule's hours, or the working hours one would be made with: opening
    // the page makes nothing.
    let schedules = crate::ssr::scheduling::list_schedules(&db, &user.id).await?;
    let rules = match schedules.iter().find(|s| s.is_default != 0).or(schedules.first()) {
        Some(schedule) => schedule.info().rules,
        None => crate::ssr::scheduling::working_hours(),
    };
    let work_days = rules.iter().map(|r| r.weekday).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let first = rules.first();
    let calendars = crate::ssr::calendars::list(&db, &user.id).await?;
    let links = crate::ssr::scheduling::list_links(&db, &user.id).await?;
    let open_tasks: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE user_id = $1 AND parent_id IS NULL AND status <> 'done' AND is_template = 0",
    )
    .bind(&user.id)
    .fetch_one(db.read())
    .await?;
    Ok(crate::models::WelcomeData {
        profile: user.profile(),
        work_start: first.map_or_else(|| "09:00".to_owned(), |r| r.start.clone()),
        work_end: first.map_or_else(|| "17:00".to_owned(), |r| r.end.clone()),
        work_days,
        subscriptions: calendars.iter().filter_map(|c| c.source_url.as_ref().map(|_| c.name.clone())).collect(),
        calendars: calendars.len(),
        links: links.iter().map(|l| (l.title.clone(), l.url(&user.username))).collect(),
        open_tasks,
    })
}

/// The guided setup's first step: the person's time zone, and their working days and
/// hours (the default availability schedule, which booking links and planning use).
#[server(prefix = "/fn", endpoint = "welcome_hours")]
#[allow(clippy::too_many_arguments)]
pub async fn welcome_hours(
    time_zone: String,
    work_start: String,
    work_end: String,
    #[server(default)] d1: Option<String>,
    #[server(default)] d2: Option<String>,
    #[server(default)] d3: Option<String>,
    #[server(default)] d4: Option<String>,
    #[server(default)] d5: Option<String>,
    #[server(default)] d6: Option<String>,
    #[server(default)] d7: Option<String>,
) -> Result<(), AppError> {
    let user = request::require_user().await?;
    let db = request::state()?.db.clone();
    let days: Vec<u8> = [d1, d2, d3, d4, d5, d6, d7]
        .iter()
        .zip(1u8..)
        .filter(|(v, _)| v.as_deref().is_some_and(|v| !v.is_empty() && v != "false"))
        .map(|(_, day)| day)
        .collect();
    if days.is_empty() {
        return Err(AppError::field(calento::FieldError::new("days", "Choose at least one working day.")));
    }
    let profile = user.profile();
    let update = accounts::ProfileUpdate {
        name: user.name.clone(),
        username: user.username.clone(),
        time_zone: time_zone.trim().to_owned(),
        week_start: profile.week_start.as_str().to_owned(),
        clock: profile.clock.as_str().to_owned(),
    };
    // Times as typed in the person's clock ("9:00 AM", "17:00"); 24:00 is the day's end.
    let (start, end) = (calento::clock::typed_time(&work_start), calento::clock::typed_time(&work_end));
    let rules = days
        .iter()
        .map(|&weekday| calento::availability::RuleInput { weekday, start: start.clone(), end: end.clone() })
        .collect();
    // The zone first: a bad one is refused before anything changes.
    let zone = calento::TimeZoneName::parse(update.time_zone.trim())
        .map_err(|_| AppError::field(calento::FieldError::new("time_zone", "Choose a time zone from the list.")))?;
    let schedule = crate::ssr::scheduling::default_schedule(&db, &user.id, zone.as_str()).await?;
    let body = crate::models::ScheduleBody {
        timezone: Some(zone.as_str().to_owned()),
        rules: Some(rules),
        ..Default::default()
    };
    crate::ssr::scheduling::update_schedule(&db, &user.id, &schedule.id, body).await?;
    accounts::update_profile(&db, &user.id, &update).await?;
    if request::is_plain_form_post() {
        leptos_axum::redirect("/welcome?step=calendar");
    }
    Ok(())
}

/// The providers people can sign in with here ("Sign in with …" buttons).
#[server(prefix = "/fn", endpoint = "sign_in_providers")]
pub async fn sign_in_providers() -> Result<Vec<crate::models::ProviderInfo>, AppError> {
    Ok(request::state()?.sign_in_providers.clone())
}

#[server(prefix = "/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let session = request::session().await?;
    if let Some(user) = request::current_user().await? {
        let state = request::state()?;
        let origin = request::origin().await;
        crate::ssr::audit::record(&state.db, Some(&user.id), None, crate::ssr::audit::event::SIGN_OUT, "", &origin)
            .await;
    }
    session.flush().await.map_err(|e| crate::ssr::unexpected("ending the session", e))?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "update_profile")]
pub async fn update_profile(
    name: String,
    username: String,
    time_zone: String,
    week_start: String,
    clock: String,
) -> Result<UserProfile, AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    let update = accounts::ProfileUpdate { name, username, time_zone, week_start, clock };
    Ok(accounts::update_profile(&state.db, &user.id, &update).await?.profile())
}

/// Remembers the theme in a cookie, so the server renders the page in it from the start.
#[server(prefix = "/fn", endpoint = "set_theme")]
pub async fn set_theme(theme: String) -> Result<Theme, AppError> {
    let theme = Theme::parse(&theme);
    let secure = request::state()?.secure_cookies;
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
        Theme::COOKIE,
        theme.as_str(),
        if secure { "; Secure" } else { "" }
    );
    if let (Some(response), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(&cookie))
    {
        response.append_header(http::header::SET_COOKIE, value);
    }
    Ok(theme)
}
