//! The authorization matrix: every REST route and every server function is listed here
//! with who may call it. For each, a request without credentials gets 401 (unless it is
//! public), and user B gets 404 for user A's objects (403 for admin-only functions), or
//! sees none of A's data in lists. A route or server function missing from these tables
//! fails the test, so a new one cannot ship without a decision.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::booking::{book, host, invitee, link};
use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp, spawn_app};
use server::api::Guard;

on_both_backends!(every_route_and_server_function_refuses_strangers, every_route_asks_for_its_scope,);

/// Who may call a route or server function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    /// Anyone: it serves visitors and invitees (and never returns an account's data
    /// beyond what its public page shows).
    Public,
    /// A signed-in user, about their own data only. The arguments name A's objects as
    /// `{calendar}`, `{event}`…; B must get 404 for them. Without placeholders, B's
    /// answer must not contain any of A's data.
    Owner,
    /// An administrator of the instance: others get 403.
    Admin,
}

use Who::{Admin, Owner, Public};

/// `(method, path inside /api/v1, who, body)`; bodies are valid so that only
/// ownership decides the answer.
const API: &[(&str, &str, Who, &str)] = &[
    ("GET", "/me", Owner, ""),
    ("GET", "/changes", Owner, ""),
    ("GET", "/changes?since=0", Owner, ""),
    // A stream never ends by itself; a cursor that is not one of ours answers at once (400).
    ("GET", "/changes/stream?since=not-a-cursor", Owner, ""),
    ("GET", "/tokens", Owner, ""),
    ("POST", "/tokens", Owner, r#"{"name": "b"}"#),
    ("DELETE", "/tokens/{token}", Owner, ""),
    ("GET", "/calendars", Owner, ""),
    ("POST", "/calendars", Owner, r#"{"name": "B's"}"#),
    ("GET", "/calendars/{calendar}", Owner, ""),
    ("PATCH", "/calendars/{calendar}", Owner, r#"{"name": "Stolen"}"#),
    ("DELETE", "/calendars/{calendar}", Owner, ""),
    ("POST", "/calendars/{calendar}/feed", Owner, ""),
    ("DELETE", "/calendars/{calendar}/feed", Owner, ""),
    ("POST", "/calendars/{calendar}/import", Owner, ""),
    ("GET", "/calendars/{calendar}/export.ics", Owner, ""),
    ("POST", "/calendars/{calendar}/refresh", Owner, ""),
    ("GET", "/events?q=secret", Owner, ""),
    (
        "POST",
        "/events",
        Owner,
        r#"{"calendar_id": "{calendar}", "title": "x", "start": "2030-01-01T09:00:00", "end": "2030-01-01T10:00:00"}"#,
    ),
    ("GET", "/events/{event}", Owner, ""),
    (
        "PATCH",
        "/events/{event}",
        Owner,
        r#"{"title": "Stolen", "start": "2030-01-01T09:00:00", "end": "2030-01-01T10:00:00"}"#,
    ),
    ("DELETE", "/events/{event}", Owner, ""),
    ("GET", "/occurrences?from=2030-01-01&to=2030-02-01", Owner, ""),
    ("GET", "/freebusy?from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z", Owner, ""),
    ("GET", "/availability/schedules", Owner, ""),
    ("POST", "/availability/schedules", Owner, r#"{"name": "B", "timezone": "UTC", "rules": []}"#),
    ("GET", "/availability/schedules/{schedule}", Owner, ""),
    ("PATCH", "/availability/schedules/{schedule}", Owner, r#"{"name": "Stolen"}"#),
    ("DELETE", "/availability/schedules/{schedule}", Owner, ""),
    ("GET", "/booking-links", Owner, ""),
    ("POST", "/booking-links", Owner, r#"{"slug": "b-link", "title": "B", "durations": [30]}"#),
    ("GET", "/booking-links/{link}", Owner, ""),
    ("PATCH", "/booking-links/{link}", Owner, r#"{"title": "Stolen"}"#),
    ("DELETE", "/booking-links/{link}", Owner, ""),
    ("GET", "/bookings", Owner, ""),
    ("GET", "/bookings/{booking}", Owner, ""),
    ("POST", "/bookings/{booking}/cancel", Owner, r#"{"reason": "x"}"#),
    ("POST", "/bookings/{booking}/reschedule", Owner, r#"{"start": "2030-01-16T14:00:00Z"}"#),
    ("POST", "/bookings/{booking}/approve", Owner, ""),
    ("POST", "/bookings/{booking}/decline", Owner, ""),
    ("GET", "/outbox", Owner, ""),
    ("GET", "/connections", Owner, ""),
    ("PATCH", "/connections/{connection}", Owner, r#"{"send_updates": true}"#),
    ("DELETE", "/connections/{connection}", Owner, ""),
    ("POST", "/connections/{connection}/sync", Owner, ""),
    ("PATCH", "/connections/{connection}/calendars/{remote_calendar}", Owner, r#"{"mode": "busy"}"#),
    ("GET", "/tasks", Owner, ""),
    ("POST", "/tasks", Owner, r#"{"title": "B's"}"#),
    ("GET", "/tasks/export.json", Owner, ""),
    ("GET", "/tasks/export.csv", Owner, ""),
    ("POST", "/tasks/import", Owner, ""),
    ("POST", "/tasks/{task}/template", Owner, ""),
    ("POST", "/templates/{template}/use", Owner, ""),
    ("GET", "/tasks/{task}", Owner, ""),
    ("PATCH", "/tasks/{task}", Owner, r#"{"title": "Stolen"}"#),
    ("DELETE", "/tasks/{task}", Owner, ""),
    ("POST", "/tasks/{task}/steps", Owner, r#"{"title": "Stolen step"}"#),
    ("POST", "/tasks/{task}/blocks", Owner, r#"{"start": "2030-01-02T09:00:00Z", "end": "2030-01-02T10:00:00Z"}"#),
    ("POST", "/tasks/{task}/breakdown", Owner, ""),
    ("GET", "/zones", Owner, ""),
    ("POST", "/capture", Owner, r#"{"text": "B's thing"}"#),
    ("POST", "/plan", Owner, ""),
    ("GET", "/focus-sessions", Owner, ""),
    ("POST", "/focus-sessions", Owner, r#"{"task_id": "{task}"}"#),
    ("GET", "/focus-sessions/current", Owner, ""),
    ("GET", "/focus-sessions/{focus}", Owner, ""),
    ("POST", "/focus-sessions/{focus}/distractions", Owner, r#"{"note": "x"}"#),
    ("POST", "/focus-sessions/{focus}/pause", Owner, ""),
    ("GET", "/energy", Owner, ""),
    ("POST", "/energy", Owner, r#"{"level": 3}"#),
    ("GET", "/energy/now", Owner, ""),
    ("GET", "/stats", Owner, ""),
    ("GET", "/progress", Owner, ""),
    ("POST", "/rewards", Owner, r#"{"title": "B's", "cost": 10}"#),
    ("POST", "/rewards/{reward}/claim", Owner, ""),
    ("GET", "/task-settings", Owner, ""),
    ("PUT", "/task-settings", Owner, r#"{}"#),
    ("GET", "/account/sessions", Owner, ""),
    ("DELETE", "/account/sessions/{session}", Owner, ""),
    ("GET", "/account/apps", Owner, ""),
    ("DELETE", "/account/apps/{app}", Owner, ""),
    ("GET", "/account/audit", Owner, ""),
    ("GET", "/account/export", Owner, ""),
    ("POST", "/auth/token", Public, ""),
    ("POST", "/auth/refresh", Public, ""),
    ("GET", "/public/{username}/{slug}", Public, ""),
    ("GET", "/public/{username}/{slug}/slots", Public, ""),
    ("POST", "/public/{username}/{slug}/bookings", Public, ""),
    ("GET", "/public/bookings/{token}", Public, ""),
    ("POST", "/public/bookings/{token}/cancel", Public, ""),
    ("POST", "/public/bookings/{token}/reschedule", Public, ""),
    ("GET", "/public/bookings/{token}/invite.ics", Public, ""),
];

/// Routes outside `/api/v1` (pages are listed by the router; these are the others).
const OTHER_ROUTES: &[(&str, &str, Who)] = &[
    ("GET", "/pkg/{*path}", Public),
    ("GET", "/favicon.svg", Public),
    ("GET", "/icons/{file}", Public),
    ("GET", "/manifest.webmanifest", Public),
    ("GET", "/sw.js", Public),
    ("GET", "/app.js", Public),
    ("GET", "/notify.js", Public),
    ("GET", "/unsubscribe/{token}", Public),
    ("POST", "/unsubscribe/{token}", Public),
    ("GET", "/health/live", Public),
    ("GET", "/health/ready", Public),
    ("GET", "/metrics", Public),
    ("GET", "/api/openapi.json", Public),
    ("GET", "/feeds/{file}", Public),
    ("POST", "/settings/calendars/{id}/import", Owner),
    ("GET", "/settings/calendar-apps/calento.mobileconfig", Owner),
    ("GET", "/auth/oidc/{provider}/start", Public),
    ("GET", "/auth/oidc/{provider}/callback", Public),
    ("GET", "/connections/google/start", Owner),
    ("GET", "/connections/google/callback", Owner),
    ("POST", "/connections/google/notify", Public),
    ("POST", "/connections/notion", Owner),
    ("GET", "/connections/notion/start", Owner),
    ("GET", "/connections/notion/callback", Owner),
    ("POST", "/connections/notion/webhook", Public),
    ("ANY", "/.well-known/caldav", Public),
    ("ANY", "/dav", Owner),
    ("ANY", "/dav/", Owner),
    ("ANY", "/dav/{*path}", Owner),
];

/// `(server function, who, form fields)`.
const FNS: &[(&str, Who, &[(&str, &str)])] = &[
    ("current_user", Public, &[]),
    ("welcome_page", Owner, &[]),
    (
        "welcome_hours",
        Owner,
        &[("time_zone", "Europe/Paris"), ("work_start", "08:00"), ("work_end", "16:00"), ("d1", "on")],
    ),
    ("register", Public, &[]),
    ("login", Public, &[]),
    ("logout", Public, &[]),
    ("set_theme", Public, &[]),
    ("public_page", Public, &[]),
    ("book_slot", Public, &[]),
    ("manage_page", Public, &[]),
    ("cancel_my_booking", Public, &[]),
    ("reschedule_my_booking", Public, &[]),
    ("host_links", Public, &[]),
    ("confirm_email", Public, &[]),
    ("request_password_reset", Public, &[]),
    ("reset_password", Public, &[]),
    ("sign_in_providers", Public, &[]),
    ("unlink_provider", Owner, &[("id", "{token}")]),
    (
        "update_profile",
        Owner,
        &[("name", "B"), ("username", "bee"), ("time_zone", "UTC"), ("week_start", "monday"), ("clock", "24h")],
    ),
    ("load_calendar", Owner, &[("view", "month"), ("date", "2030-01-15")]),
    ("event_details", Owner, &[("id", "{event}")]),
    (
        "move_event",
        Owner,
        &[("id", "{event}"), ("start_utc", "2030-01-01T11:00:00Z"), ("end_utc", "2030-01-01T12:00:00Z")],
    ),
    ("delete_event", Owner, &[("id", "{event}")]),
    // Another user's undo token is refused as unknown: calendar::a_deleted_event_comes_back_exactly_with_undo.
    ("undo_delete", Owner, &[("token", "not-a-token")]),
    (
        "save_event",
        Owner,
        &[
            ("id", "{event}"),
            ("title", "Stolen"),
            ("start_date", "2030-01-01"),
            ("start_time", "09:00"),
            ("end_date", "2030-01-01"),
            ("end_time", "10:00"),
        ],
    ),
    ("list_calendars", Owner, &[]),
    ("create_calendar", Owner, &[("name", "B's")]),
    ("update_calendar", Owner, &[("id", "{calendar}"), ("name", "Stolen"), ("color", "#336699"), ("time_zone", "UTC")]),
    ("delete_calendar", Owner, &[("id", "{calendar}")]),
    ("publish_feed", Owner, &[("id", "{calendar}")]),
    ("revoke_feed", Owner, &[("id", "{calendar}")]),
    ("search_events", Owner, &[("q", "secret")]),
    ("due_reminders", Owner, &[]),
    ("list_outbox", Owner, &[]),
    ("load_connections", Owner, &[]),
    ("set_sync_mode", Owner, &[("remote_calendar_id", "{remote_calendar}"), ("mode", "busy")]),
    ("set_connection_options", Owner, &[("connection_id", "{connection}"), ("write_calendar", "none")]),
    ("sync_connection_now", Owner, &[("connection_id", "{connection}")]),
    ("disconnect_connection", Owner, &[("connection_id", "{connection}")]),
    ("answer_sync_question", Owner, &[("conflict_id", "nope"), ("answer", "keep")]),
    ("set_notion_mapping", Owner, &[("remote_calendar_id", "{remote_calendar}"), ("title", "Name")]),
    ("list_schedules", Owner, &[]),
    ("create_schedule", Owner, &[("name", "B's")]),
    ("save_schedule", Owner, &[("id", "{schedule}"), ("name", "Stolen"), ("timezone", "UTC")]),
    ("add_override", Owner, &[("id", "{schedule}"), ("date", "2030-02-01")]),
    ("remove_override", Owner, &[("id", "{schedule}"), ("date", "2030-02-01")]),
    ("set_default_schedule", Owner, &[("id", "{schedule}")]),
    ("delete_schedule", Owner, &[("id", "{schedule}")]),
    ("list_links", Owner, &[]),
    ("new_link", Owner, &[("title", "B's link")]),
    ("save_link", Owner, &[("id", "{link}"), ("title", "Stolen"), ("durations", "30")]),
    ("set_link_active", Owner, &[("id", "{link}"), ("active", "false")]),
    ("delete_link", Owner, &[("id", "{link}")]),
    ("list_bookings", Owner, &[]),
    ("cancel_booking", Owner, &[("id", "{booking}")]),
    ("approve_booking", Owner, &[("id", "{booking}")]),
    ("decline_booking", Owner, &[("id", "{booking}")]),
    ("reschedule_booking", Owner, &[("id", "{booking}"), ("start", "2030-01-16T09:30")]),
    ("load_security", Owner, &[]),
    ("revoke_session", Owner, &[("id", "{session}")]),
    ("revoke_app", Owner, &[("id", "{app}")]),
    ("change_password", Owner, &[("current_password", "wrong wrong wrong"), ("new_password", "whatever it is now")]),
    ("change_email", Owner, &[("email", "b2@example.org"), ("current_password", "wrong wrong wrong")]),
    ("resend_verification", Owner, &[]),
    ("my_audit_log", Owner, &[]),
    ("delete_account", Owner, &[("current_password", "wrong wrong wrong"), ("confirm", "DELETE")]),
    ("sign_out_everywhere", Owner, &[]),
    ("load_admin", Admin, &[]),
    ("admin_user_action", Admin, &[("user_id", "{user}"), ("action", "disable")]),
    ("admin_set_registration", Admin, &[("mode", "closed")]),
    ("admin_create_invite", Admin, &[]),
    ("admin_retry_job", Admin, &[("id", "none")]),
    ("admin_audit_log", Admin, &[]),
    ("copy_task", Owner, &[("id", "{task}"), ("template", "false")]),
    ("import_tasks", Owner, &[("text", "title\nB's")]),
    ("what_now", Owner, &[]),
    ("load_stats", Owner, &[("days", "7")]),
    ("load_task_settings", Owner, &[]),
    ("load_notifications", Owner, &[]),
    ("save_notification_settings", Owner, &[("event_reminder_email", "true"), ("quiet_start", "22:00")]),
    (
        "subscribe_push",
        Owner,
        &[
            ("endpoint", "http://127.0.0.1:9/push/asecret"),
            ("p256dh", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"),
            ("auth", "AAAAAAAAAAAAAAAAAAAAAA"),
        ],
    ),
    ("unsubscribe_push", Owner, &[("device", "none")]),
    ("test_notification", Owner, &[("channel", "email")]),
    (
        "save_task_settings",
        Owner,
        &[("focus_minutes", "25"), ("short_break_minutes", "5"), ("long_break_minutes", "15"), ("cycles", "4")],
    ),
    ("load_daily_plan", Owner, &[]),
    ("save_daily_plan", Owner, &[("intention", "x"), ("task_ids[0]", "{task}")]),
    ("shut_down_day", Owner, &[]),
    ("needs_onboarding", Owner, &[]),
    ("finish_onboarding", Owner, &[("skip", "1")]),
    ("suggest_steps", Owner, &[("id", "{task}")]),
    (
        "timebox_task",
        Owner,
        &[("task_id", "{task}"), ("start", "2030-01-02T09:00:00Z"), ("end", "2030-01-02T10:00:00Z")],
    ),
    ("add_reward", Owner, &[("title", "B's"), ("cost", "5")]),
    ("claim_reward", Owner, &[("id", "{reward}")]),
    ("list_tasks", Owner, &[("view", "all")]),
    ("list_task_page", Owner, &[("view", "all"), ("page", "1")]),
    ("list_zones", Owner, &[]),
    ("capture_tasks", Owner, &[("text", "B's thing")]),
    ("add_step", Owner, &[("parent_id", "{task}"), ("title", "Stolen")]),
    ("set_task_done", Owner, &[("id", "{task}"), ("done", "true")]),
    ("edit_task", Owner, &[("id", "{task}"), ("title", "Stolen")]),
    ("move_step", Owner, &[("id", "{task}"), ("by", "1")]),
    ("delete_task", Owner, &[("id", "{task}")]),
    ("plan_week", Owner, &[]),
    ("focus_overview", Owner, &[]),
    ("start_focus", Owner, &[("task_id", "{task}")]),
    ("change_focus", Owner, &[("id", "{focus}"), ("action", "pause")]),
    ("focus_now", Owner, &[]),
    ("change_focus_now", Owner, &[("id", "{focus}"), ("action", "pause")]),
    ("note_distraction", Owner, &[("note", "x")]),
    ("log_energy", Owner, &[("level", "3")]),
    ("my_progress", Owner, &[]),
    ("list_tokens", Owner, &[]),
    ("create_token", Owner, &[("name", "b")]),
    ("take_new_token", Owner, &[]),
    ("revoke_token", Owner, &[("id", "{token}")]),
    ("calendar_apps", Owner, &[]),
    ("create_app_password", Owner, &[("name", "b")]),
];

/// A's objects, by placeholder name.
pub(crate) struct Objects(pub(crate) HashMap<&'static str, String>);

impl Objects {
    fn fill(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (name, value) in &self.0 {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

fn id_of(reply: &Reply) -> String {
    assert!(reply.status < 300, "{}", reply.body);
    reply.json()["id"].as_str().unwrap_or_else(|| panic!("no id in {}", reply.body)).to_owned()
}

/// Everything user A owns, made through the API; markers contain "asecret".
pub(crate) async fn objects_of_a(app: &TestApp) -> (Objects, crate::booking::Host) {
    let a = host(app, "a-owner@example.org").await;
    let t = &a.token;
    let mut o = HashMap::new();
    o.insert(
        "calendar",
        id_of(&app.api("POST", "/api/v1/calendars", t, Some(json!({"name": "asecret calendar"}))).await),
    );
    let event = json!({"calendar_id": o["calendar"], "title": "asecret event", "start": "2030-01-01T09:00:00", "end": "2030-01-01T10:00:00"});
    o.insert("event", id_of(&app.api("POST", "/api/v1/events", t, Some(event)).await));
    o.insert("schedule", a.schedule.clone());
    let made = link(app, &a, json!({"slug": "asecret", "title": "asecret link", "durations": [30]})).await;
    o.insert("link", made["id"].as_str().expect("link").to_owned());
    let booked = book(app, &a, "asecret", invitee("2030-01-15T14:00:00Z"), None).await;
    o.insert("booking", id_of(&booked));
    let task = id_of(&app.api("POST", "/api/v1/tasks", t, Some(json!({"title": "asecret task"}))).await);
    o.insert("template", id_of(&app.api("POST", &format!("/api/v1/tasks/{task}/template"), t, None).await));
    o.insert("task", task.clone());
    o.insert("focus", id_of(&app.api("POST", "/api/v1/focus-sessions", t, Some(json!({"task_id": task}))).await));
    o.insert(
        "reward",
        id_of(&app.api("POST", "/api/v1/rewards", t, Some(json!({"title": "asecret reward", "cost": 1}))).await),
    );
    o.insert("token", id_of(&app.api("POST", "/api/v1/tokens", t, Some(json!({"name": "asecret token"}))).await));
    let sessions = app.api("GET", "/api/v1/account/sessions", t, None).await.json();
    o.insert("session", sessions[0]["id"].as_str().expect("a session of A").to_owned());
    let pair = app
        .send(
            "POST",
            "/api/v1/auth/token",
            &[("content-type", "application/json")],
            json!({"email": "a-owner@example.org", "password": "correct horse battery"}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(pair.status, 200, "{}", pair.body);
    let apps = app.api("GET", "/api/v1/account/apps", t, None).await.json();
    o.insert("app", apps[0]["id"].as_str().expect("an app of A").to_owned());
    let me = app.api("GET", "/api/v1/me", t, None).await.json();
    o.insert("user", me["id"].as_str().expect("id").to_owned());
    // A connected Google account (stored directly: no provider is needed to own one).
    let grant = app::ssr::connections::Grant {
        provider: "google".into(),
        external_id: None,
        account: "asecret@gmail.test".into(),
        refresh_secret: Some("v1.sealed".into()),
        access_secret: "v1.sealed".into(),
        access_expires_at: 0,
        scopes: "https://www.googleapis.com/auth/calendar".into(),
    };
    let connection = app::ssr::connections::save_grant(&app.state.db, &o["user"], &grant).await.expect("connection");
    let listed = [app::ssr::connections::Listed {
        remote_id: "asecret@gmail.test".into(),
        name: "asecret".into(),
        color: None,
        time_zone: Some("Europe/Paris".into()),
        primary: false,
    }];
    app::ssr::connections::save_listed(&app.state.db, &connection, &listed).await.expect("calendars");
    let remote = app::ssr::connections::remote_calendars_of(&app.state.db, &connection.id).await.expect("remote");
    o.insert("remote_calendar", remote[0].id.clone());
    o.insert("connection", connection.id);
    (Objects(o), a)
}

async fn every_route_and_server_function_refuses_strangers(backend: Backend) {
    let app = spawn_app(backend).await;

    // 1. The tables cover every route and server function, and nothing else. The routes
    // come from the server's own route table, where every route carries its guard.
    // Placeholders are compared by position only; the matrix names a focus action.
    let normalise = |(m, p): (String, String)| {
        let p = p
            .split('?')
            .next()
            .unwrap_or_default()
            .replace("/pause", "/{action}")
            .split('/')
            .map(|part| if part.starts_with('{') && part != "{action}" { "{id}" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        (m, p)
    };
    let table = server::api::route_table();
    let found: BTreeSet<(String, String)> =
        table.iter().map(|r| normalise((r.method.to_string(), r.path.to_owned()))).collect();
    let listed: BTreeSet<(String, String)> =
        API.iter().map(|(method, path, _, _)| normalise(((*method).to_owned(), (*path).to_owned()))).collect();
    let unlisted: Vec<_> = found.difference(&listed).collect();
    assert!(unlisted.is_empty(), "API routes missing from the authorization matrix: {unlisted:?}");
    let stale: Vec<_> = listed.difference(&found).collect();
    assert!(stale.is_empty(), "the matrix lists routes that do not exist: {stale:?}");
    for route in &table {
        let public = route.guard == Guard::Public;
        let listed_public = API.iter().any(|(m, p, who, _)| {
            normalise(((*m).to_owned(), (*p).to_owned()))
                == normalise((route.method.to_string(), route.path.to_owned()))
                && *who == Public
        });
        assert_eq!(
            public, listed_public,
            "{} {}: the guard and the matrix disagree on who may call it",
            route.method, route.path
        );
    }
    let others: BTreeSet<(String, String, Who)> = server::site_routes()
        .iter()
        .flat_map(|area| area.table().to_vec())
        .map(|r| (r.method.to_string(), r.path.to_owned(), if r.guard == Guard::Public { Public } else { Owner }))
        .collect();
    let listed_others: BTreeSet<(String, String, Who)> =
        OTHER_ROUTES.iter().map(|(m, p, who)| ((*m).to_owned(), (*p).to_owned(), *who)).collect();
    assert_eq!(others, listed_others, "routes outside the API must be listed in OTHER_ROUTES");

    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/fn/").to_owned())
        .collect();
    let listed_fns: BTreeSet<String> = FNS.iter().map(|(name, _, _)| (*name).to_owned()).collect();
    let unlisted: Vec<_> = registered.difference(&listed_fns).collect();
    assert!(unlisted.is_empty(), "server functions missing from the authorization matrix: {unlisted:?}");
    let stale: Vec<_> = listed_fns.difference(&registered).collect();
    assert!(stale.is_empty(), "the matrix lists server functions that do not exist: {stale:?}");
    let public: BTreeSet<&str> = FNS.iter().filter(|(_, who, _)| *who == Public).map(|(n, _, _)| *n).collect();
    assert_eq!(public, app::server::PUBLIC_FNS.iter().copied().collect(), "the public list matches the server's");

    // 2. Without credentials: 401 for everything not public; never a 5xx.
    let (objects, a_host) = objects_of_a(&app).await;
    let fill = |text: &str| {
        objects
            .fill(text)
            .replace("{username}", &a_host.username)
            .replace("{slug}", "asecret")
            .replace("{token}", "none")
    };
    for (method, path, who, body) in API {
        let path = format!("/api/v1{}", fill(path));
        let reply = app.send(method, &path, &[("content-type", "application/json")], fill(body).into_bytes()).await;
        assert!(reply.status < 500, "{method} {path}: {}", reply.body);
        if *who != Public {
            assert_eq!(reply.status, 401, "{method} {path} without credentials: {}", reply.body);
        }
    }
    for (name, who, fields) in FNS {
        let filled: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).to_owned(), fill(v))).collect();
        let pairs: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let reply = app.browser().call(name, &pairs).await;
        assert!(reply.status < 500, "{name}: {}", reply.body);
        if *who != Public {
            assert_eq!(reply.status, 401, "{name} without a session: {}", reply.body);
        }
    }
    // Without any arguments at all, too (the arguments are not even read).
    for (name, who, _) in FNS {
        let reply = app
            .send("POST", &format!("/fn/{name}"), &[("content-type", "application/x-www-form-urlencoded")], Vec::new())
            .await;
        assert!(reply.status < 500, "{name}: {}", reply.body);
        if *who != Public {
            assert_eq!(reply.status, 401, "{name}");
        }
    }
    let import =
        app.send("POST", &format!("/settings/calendars/{}/import", objects.0["calendar"]), &[], Vec::new()).await;
    assert!(import.status == 401 || import.status == 303, "{}", import.status);

    // 3. User B: 404 for A's objects, none of A's data in lists; 403 for admin functions.
    let b_token = crate::api::user_with_token(&app, "b-other@example.org").await;
    let b = app.browser();
    assert_eq!(b.login("b-other@example.org", "correct horse battery").await.status, 200);
    for (method, template, who, body) in API {
        if *who != Owner {
            continue;
        }
        let path = format!("/api/v1{}", fill(template));
        let reply = app
            .api(
                method,
                &path,
                &b_token,
                (!body.is_empty()).then(|| serde_json::from_str::<Value>(&fill(body)).expect("json")),
            )
            .await;
        assert!(reply.status < 500, "{method} {path}: {}", reply.body);
        assert!(!reply.body.contains("asecret"), "{method} {path} shows A's data to B: {}", reply.body);
        if template.contains('{') {
            assert_eq!(reply.status, 404, "{method} {path} for B on A's object: {}", reply.body);
        } else if body.contains("\"{") {
            // An id in the body is answered exactly as an id that does not exist.
            let unknown = body.replace("\"{", "\"01JZZZZZZZZZZZZZZZZZZZZZZZ{").replace("}\"", "\"");
            let unknown = serde_json::from_str::<Value>(&unknown).expect("json");
            let probe = app.api(method, &path, &b_token, Some(unknown)).await;
            assert!((400..500).contains(&reply.status), "{method} {path}: {}", reply.body);
            assert_eq!((reply.status, &reply.body), (probe.status, &probe.body), "{method} {path}: an oracle");
        }
    }
    for (name, who, fields) in FNS {
        let filled: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).to_owned(), fill(v))).collect();
        let pairs: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if *who == Public || *name == "sign_out_everywhere" {
            continue; // public ones (login, logout…) change B's session; sign-out is in the security tests
        }
        let reply = b.call(name, &pairs).await;
        assert!(reply.status < 500, "{name}: {}", reply.body);
        assert!(!reply.body.contains("asecret"), "{name} shows A's data to B: {}", reply.body);
        match who {
            Admin => assert_eq!(reply.status, 403, "{name} for a non-admin: {}", reply.body),
            Owner if fields.iter().any(|(k, v)| *k == "id" && v.starts_with('{')) => {
                assert_eq!(reply.status, 404, "{name} for B on A's object: {}", reply.body);
            }
            Owner if fields.iter().any(|(_, v)| v.starts_with('{')) => {
                // Another field names A's object: answered exactly as an id that does not exist.
                let unknown: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (*k, if v.starts_with('{') { "01JZZZZZZZZZZZZZZZZZZZZZZZ" } else { *v }))
                    .collect();
                let probe = b.call(name, &unknown).await;
                assert!((400..500).contains(&reply.status), "{name}: {}", reply.body);
                assert_eq!((reply.status, &reply.body), (probe.status, &probe.body), "{name}: an oracle");
            }
            _ => {}
        }
    }
    // A's objects are all still there and unchanged.
    let t = &a_host.token;
    let calendar = app.api("GET", &format!("/api/v1/calendars/{}", objects.0["calendar"]), t, None).await;
    assert_eq!(calendar.json()["name"], "asecret calendar");
    let task = app.api("GET", &format!("/api/v1/tasks/{}", objects.0["task"]), t, None).await;
    assert_eq!(task.json()["title"], "asecret task");
    assert_ne!(task.json()["status"], "done", "{}", task.body);
    assert_eq!(task.json()["steps"].as_array().map(Vec::len), Some(0), "no step added by B");
    let booking = app.api("GET", &format!("/api/v1/bookings/{}", objects.0["booking"]), t, None).await;
    assert_eq!(booking.json()["status"], "confirmed");
    assert_eq!(app.api("GET", "/api/v1/me", t, None).await.status, 200, "A's token still works");
}

/// A token of the wrong kind or scope, for each guard: 403 `insufficient_scope` on every
/// route, read from the route table. Nothing it asks for happens (A's objects stay).
async fn every_route_asks_for_its_scope(backend: Backend) {
    use calento::scope::Area;
    let app = spawn_app(backend).await;
    let (objects, a) = objects_of_a(&app).await;
    let fill = |text: &str| objects.fill(text).replace("{username}", &a.username).replace("{slug}", "asecret");
    let token = |scopes: Value| {
        let app = &app;
        let owner = a.token.clone();
        async move {
            let made =
                app.api("POST", "/api/v1/tokens", &owner, Some(json!({"name": "narrow", "scopes": scopes}))).await;
            assert_eq!(made.status, 201, "{}", made.body);
            made.json()["token"].as_str().expect("token").to_owned()
        }
    };
    let mut wrong_area = HashMap::new();
    let mut read_only = HashMap::new();
    for area in Area::ALL {
        let mut others: Vec<String> =
            Area::ALL.into_iter().filter(|x| *x != area).map(|x| format!("{}:write", x.as_str())).collect();
        others.push("account".to_owned());
        wrong_area.insert(area, token(json!(others)).await);
        read_only.insert(area, token(json!(format!("{}:read", area.as_str()))).await);
    }
    let without_account = token(json!("all")).await;
    let pair = app
        .send(
            "POST",
            "/api/v1/auth/token",
            &[("content-type", "application/json")],
            json!({"email": "a-owner@example.org", "password": "correct horse battery"}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(pair.status, 200, "{}", pair.body);
    let app_token = pair.json()["access_token"].as_str().expect("access token").to_owned();
    let refused = |reply: &Reply, what: &str| {
        assert_eq!(reply.status, 403, "{what}: {}", reply.body);
        assert!(reply.header("www-authenticate").is_some_and(|v| v.contains("insufficient_scope")), "{what}");
    };
    let mut checked = 0;
    for route in server::api::route_table() {
        // The matrix's example of this route (placeholders match by position).
        let (template, body) = API
            .iter()
            .filter(|(m, _, _, _)| *m == route.method.as_str())
            .find(|(_, p, _, _)| {
                let listed: Vec<&str> = p.split('?').next().unwrap_or_default().split('/').collect();
                let real: Vec<&str> = route.path.split('/').collect();
                listed.len() == real.len() && listed.iter().zip(&real).all(|(x, y)| x == y || y.starts_with('{'))
            })
            .map(|(_, p, _, body)| (*p, *body))
            .unwrap_or((route.path, ""));
        let path = format!("/api/v1{}", fill(template));
        let json_body = (!body.is_empty()).then(|| serde_json::from_str::<Value>(&fill(body)).expect("json"));
        let method = route.method.as_str();
        let what = format!("{method} {}", route.path);
        match route.guard {
            Guard::Area(area) => {
                refused(&app.api(method, &path, &wrong_area[&area], json_body.clone()).await, &what);
                if route.method == http::Method::GET {
                    let reply = app.api(method, &path, &read_only[&area], None).await;
                    assert_ne!(reply.status, 403, "{what} with its read scope: {}", reply.body);
                } else {
                    refused(&app.api(method, &path, &read_only[&area], json_body).await, &what);
                }
                checked += 1;
            }
            Guard::Account => {
                refused(&app.api(method, &path, &app_token, json_body.clone()).await, &what);
                refused(&app.api(method, &path, &without_account, json_body).await, &what);
                checked += 1;
            }
            Guard::Signed => {
                let reply = app.api(method, &path, &read_only[&Area::Tasks], json_body).await;
                assert_ne!(reply.status, 403, "{what} takes any credential: {}", reply.body);
            }
            // Not API routes; CalDAV checks its scopes per request (caldav.rs tests them).
            Guard::Public | Guard::Session | Guard::AppPassword => {}
        }
    }
    assert!(checked > 60, "only {checked} routes checked");
    // No token may make a token with a scope it does not hold, nor one reaching the account.
    let narrow_owner = token(json!(["calendar:read", "account"])).await;
    let wider =
        app.api("POST", "/api/v1/tokens", &narrow_owner, Some(json!({"name": "wider", "scopes": "tasks:write"}))).await;
    assert_eq!(wider.status, 403, "{}", wider.body);
    let same = app
        .api("POST", "/api/v1/tokens", &narrow_owner, Some(json!({"name": "same", "scopes": ["calendar:read"]})))
        .await;
    assert_eq!(same.status, 201, "{}", same.body);
    assert_eq!(same.json()["scopes"], "calendar:read");
    let default = app.api("POST", "/api/v1/tokens", &narrow_owner, Some(json!({"name": "default"}))).await;
    assert_eq!(default.json()["scopes"], "calendar:read", "a default never widens: {}", default.body);
    let app_account = app
        .send(
            "POST",
            "/api/v1/auth/token",
            &[("content-type", "application/json")],
            json!({"email": "a-owner@example.org", "password": "correct horse battery", "scopes": "account"})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(app_account.status, 422, "apps never hold the account scope: {}", app_account.body);
    // A's objects are all still there.
    let t = &a.token;
    let calendar = app.api("GET", &format!("/api/v1/calendars/{}", objects.0["calendar"]), t, None).await;
    assert_eq!(calendar.json()["name"], "asecret calendar");
    let task = app.api("GET", &format!("/api/v1/tasks/{}", objects.0["task"]), t, None).await;
    assert_eq!(task.json()["title"], "asecret task");
    assert_eq!(app.api("GET", "/api/v1/tokens", t, None).await.status, 200);
}
