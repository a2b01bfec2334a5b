//! Every write leaves a change: each write route of the REST API (read from the route table)
//! and each server function that writes (read from Leptos' registry) is called with input
//! that succeeds, and the owner's change feed must have moved on. A write route or server
//! function missing from these lists fails the test, so a new write path cannot forget the
//! feed (the storage layer records changes through `changes::Write`).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::authz::objects_of_a;
use crate::booking::{book, invitee, link};
use crate::on_both_backends;
use crate::support::{Backend, Browser, Reply, TestApp, spawn_app};

on_both_backends!(every_write_route_and_writing_server_function_records_a_change,);

/// Writes that record no change, and why: they change who may act, not what the user keeps.
const NOT_IN_THE_FEED: &[(&str, &str, &str)] = &[
    ("POST", "/tokens", "a personal token: account security, in the audit log"),
    ("DELETE", "/tokens/{id}", "a personal token: account security, in the audit log"),
    ("DELETE", "/account/sessions/{id}", "a browser session: account security, in the audit log"),
    ("DELETE", "/account/apps/{id}", "an app's sign-in: account security, in the audit log"),
    ("POST", "/auth/token", "an app signs in: account security, in the audit log"),
    ("POST", "/auth/refresh", "an app's tokens rotate: account security"),
    ("POST", "/connections/{id}/sync", "queues a poll: what the poll finds is recorded when it runs"),
];

/// Server functions that write nothing of the user's data in the feed, and why.
const FNS_NOT_IN_THE_FEED: &[(&str, &str)] = &[
    ("register", "makes the account (its first calendar is the new account's first change)"),
    ("login", "a session"),
    ("logout", "a session"),
    ("set_theme", "a cookie of the browser"),
    ("unlink_provider", "account security"),
    ("revoke_session", "account security"),
    ("revoke_app", "account security"),
    ("change_password", "account security"),
    ("change_email", "account security (after the link is opened)"),
    ("resend_verification", "an email"),
    ("confirm_email", "account security"),
    ("request_password_reset", "an email"),
    ("reset_password", "account security"),
    ("delete_account", "the account and its feed are gone"),
    ("sign_out_everywhere", "account security"),
    ("admin_user_action", "the instance's administration"),
    ("admin_set_registration", "the instance's administration"),
    ("admin_create_invite", "the instance's administration"),
    ("admin_retry_job", "the instance's administration"),
    ("create_token", "a personal token"),
    ("take_new_token", "reads the session"),
    ("revoke_token", "a personal token"),
    ("create_app_password", "a personal token (an app password)"),
    ("test_notification", "an email or a push to the account's own devices"),
    ("sync_connection_now", "queues a poll: what the poll finds is recorded when it runs"),
];

/// Server functions that only read (some make a default on first use, which records).
const FNS_READING: &[&str] = &[
    "current_user",
    "welcome_page",
    "sign_in_providers",
    "public_page",
    "manage_page",
    "host_links",
    "load_calendar",
    "event_details",
    "list_calendars",
    "search_events",
    "due_reminders",
    "list_outbox",
    "list_schedules",
    "list_links",
    "list_bookings",
    "load_security",
    "my_audit_log",
    "load_admin",
    "admin_audit_log",
    "what_now",
    "load_stats",
    "load_task_settings",
    "load_daily_plan",
    "needs_onboarding",
    "list_tasks",
    "list_task_page",
    "list_zones",
    "focus_overview",
    "focus_now",
    "my_progress",
    "list_tokens",
    "calendar_apps",
    "load_notifications",
    "load_connections",
];

async fn cursor(app: &TestApp, token: &str) -> u64 {
    let reply = app.api("GET", "/api/v1/changes", token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["cursor"].as_str().expect("cursor").parse().expect("a number")
}

fn id_of(reply: &Reply) -> String {
    assert!(reply.status < 300, "{}", reply.body);
    reply.json()["id"].as_str().unwrap_or_else(|| panic!("no id in {}", reply.body)).to_owned()
}

async fn every_write_route_and_writing_server_function_records_a_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let (objects, a) = objects_of_a(&app).await;
    let o = |name: &str| objects.0[name].clone();
    let t = a.token.clone();
    let user = a.username.clone();

    // ---- The REST API: each write, in an order where each one succeeds. ----
    let mut done: BTreeSet<(String, String)> = BTreeSet::new();
    // `(route, method, path, body)`: the route as the table spells it, the request made.
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:w@t\r\nDTSTART:20300101T100000Z\r\nDTEND:20300101T110000Z\r\nSUMMARY:Imported\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let calendar = id_of(&app.api("POST", "/api/v1/calendars", &t, Some(json!({"name": "W"}))).await);
    done.insert(("POST".into(), "/calendars".into()));
    let mut step = async |route: &str, method: &str, path: String, body: Option<Value>, raw: Option<&str>| {
        let before = cursor(&app, &t).await;
        let reply = match raw {
            Some(text) => {
                let auth = format!("Bearer {t}");
                app.send(
                    method,
                    &path,
                    &[("authorization", &auth), ("content-type", "text/plain")],
                    text.as_bytes().to_vec(),
                )
                .await
            }
            None => app.api(method, &path, &t, body).await,
        };
        assert!(reply.status < 300, "{method} {path}: {} {}", reply.status, reply.body);
        assert!(cursor(&app, &t).await > before, "{method} {route} wrote without recording a change");
        done.insert((method.to_owned(), route.to_owned()));
        reply
    };
    let v1 = |path: String| format!("/api/v1{path}");
    step("/calendars/{id}", "PATCH", v1(format!("/calendars/{calendar}")), Some(json!({"name": "W2"})), None).await;
    step("/calendars/{id}/feed", "POST", v1(format!("/calendars/{calendar}/feed")), None, None).await;
    step("/calendars/{id}/feed", "DELETE", v1(format!("/calendars/{calendar}/feed")), None, None).await;
    step("/calendars/{id}/import", "POST", v1(format!("/calendars/{calendar}/import")), None, Some(ics)).await;
    let event =
        json!({"calendar_id": calendar, "title": "E", "start": "2030-02-01T09:00:00", "end": "2030-02-01T10:00:00"});
    let event = id_of(&step("/events", "POST", v1("/events".into()), Some(event), None).await);
    step("/events/{id}", "PATCH", v1(format!("/events/{event}")), Some(json!({"title": "E2"})), None).await;
    step("/events/{id}", "DELETE", v1(format!("/events/{event}")), None, None).await;
    let schedule = json!({"name": "S", "timezone": "UTC", "rules": [{"weekday": 1, "start": "09:00", "end": "17:00"}]});
    let schedule = id_of(
        &step("/availability/schedules", "POST", v1("/availability/schedules".into()), Some(schedule), None).await,
    );
    let path = v1(format!("/availability/schedules/{schedule}"));
    step("/availability/schedules/{id}", "PATCH", path, Some(json!({"name": "S2"})), None).await;
    let approval = json!({"slug": "w-approve", "title": "W", "durations": [30], "requires_approval": true, "schedule_id": a.schedule});
    let approval = id_of(&step("/booking-links", "POST", v1("/booking-links".into()), Some(approval), None).await);
    step("/booking-links/{id}", "PATCH", v1(format!("/booking-links/{approval}")), Some(json!({"title": "W2"})), None)
        .await;
    // Invitees book, move and cancel on the public API: the host's feed hears of it.
    let public = |slug: &str| v1(format!("/public/{user}/{slug}/bookings"));
    let pending = id_of(
        &step(
            "/public/{username}/{slug}/bookings",
            "POST",
            public("w-approve"),
            Some(invitee("2030-01-16T14:00:00Z")),
            None,
        )
        .await,
    );
    step("/bookings/{id}/approve", "POST", v1(format!("/bookings/{pending}/approve")), None, None).await;
    let declined = book(&app, &a, "w-approve", invitee("2030-01-16T15:00:00Z"), None).await;
    step(
        "/bookings/{id}/decline",
        "POST",
        v1(format!("/bookings/{}/decline", id_of(&declined))),
        Some(json!({})),
        None,
    )
    .await;
    let mine = book(&app, &a, "asecret", invitee("2030-01-17T14:00:00Z"), None).await.json();
    let manage = mine["manage_url"].as_str().expect("url").trim_start_matches("/booking/").to_owned();
    let moved = json!({"start": "2030-01-17T15:00:00Z"});
    step(
        "/public/bookings/{token}/reschedule",
        "POST",
        v1(format!("/public/bookings/{manage}/reschedule")),
        Some(moved),
        None,
    )
    .await;
    step(
        "/public/bookings/{token}/cancel",
        "POST",
        v1(format!("/public/bookings/{manage}/cancel")),
        Some(json!({})),
        None,
    )
    .await;
    let booking = o("booking");
    let moved = json!({"start": "2030-01-15T15:30:00Z"});
    step("/bookings/{id}/reschedule", "POST", v1(format!("/bookings/{booking}/reschedule")), Some(moved), None).await;
    step("/bookings/{id}/cancel", "POST", v1(format!("/bookings/{booking}/cancel")), Some(json!({})), None).await;
    // Tasks and focus.
    let task = json!({"title": "T", "estimate_minutes": 30});
    let task = id_of(&step("/tasks", "POST", v1("/tasks".into()), Some(task), None).await);
    step("/tasks/{id}", "PATCH", v1(format!("/tasks/{task}")), Some(json!({"title": "T2"})), None).await;
    step("/tasks/{id}/steps", "POST", v1(format!("/tasks/{task}/steps")), Some(json!({"title": "Step"})), None).await;
    let block = json!({"start": "2030-02-04T09:00:00Z", "end": "2030-02-04T09:30:00Z"});
    step("/tasks/{id}/blocks", "POST", v1(format!("/tasks/{task}/blocks")), Some(block), None).await;
    step("/tasks/{id}/breakdown", "POST", v1(format!("/tasks/{task}/breakdown")), Some(json!({"apply": true})), None)
        .await;
    let template =
        id_of(&step("/tasks/{id}/template", "POST", v1(format!("/tasks/{task}/template")), None, None).await);
    step("/templates/{id}/use", "POST", v1(format!("/templates/{template}/use")), None, None).await;
    step("/tasks/import", "POST", v1("/tasks/import".into()), None, Some("title\nImported task\n")).await;
    step("/capture", "POST", v1("/capture".into()), Some(json!({"text": "call mum ~15m", "preview": false})), None)
        .await;
    step("/plan", "POST", v1("/plan".into()), Some(json!({"task_ids": [task], "apply": true})), None).await;
    let focus = o("focus");
    step("/focus-sessions/{id}/{action}", "POST", v1(format!("/focus-sessions/{focus}/pause")), None, None).await;
    let note = json!({"note": "phone"});
    step(
        "/focus-sessions/{id}/distractions",
        "POST",
        v1(format!("/focus-sessions/{focus}/distractions")),
        Some(note),
        None,
    )
    .await;
    app.api("POST", &v1(format!("/focus-sessions/{focus}/abandon")), &t, None).await;
    let session =
        step("/focus-sessions", "POST", v1("/focus-sessions".into()), Some(json!({"task_id": task})), None).await;
    app.api("POST", &v1(format!("/focus-sessions/{}/abandon", id_of(&session))), &t, None).await;
    step("/energy", "POST", v1("/energy".into()), Some(json!({"level": 4})), None).await;
    step("/task-settings", "PUT", v1("/task-settings".into()), Some(json!({})), None).await;
    step("/rewards", "POST", v1("/rewards".into()), Some(json!({"title": "Tea", "cost": 1})), None).await;
    app.api("PATCH", &v1(format!("/tasks/{task}")), &t, Some(json!({"status": "done"}))).await;
    step("/rewards/{id}/claim", "POST", v1(format!("/rewards/{}/claim", o("reward"))), None, None).await;
    step("/tasks/{id}", "DELETE", v1(format!("/tasks/{task}")), None, None).await;
    // Connected accounts.
    let (connection, remote) = (o("connection"), o("remote_calendar"));
    step(
        "/connections/{id}",
        "PATCH",
        v1(format!("/connections/{connection}")),
        Some(json!({"send_updates": true})),
        None,
    )
    .await;
    let path = v1(format!("/connections/{connection}/calendars/{remote}"));
    step("/connections/{id}/calendars/{calendar}", "PATCH", path, Some(json!({"mode": "busy"})), None).await;
    app.api("POST", &v1(format!("/connections/{connection}/sync")), &t, None).await;
    step("/connections/{id}", "DELETE", v1(format!("/connections/{connection}")), None, None).await;
    // Deletes last.
    step("/booking-links/{id}", "DELETE", v1(format!("/booking-links/{approval}")), None, None).await;
    step("/availability/schedules/{id}", "DELETE", v1(format!("/availability/schedules/{schedule}")), None, None).await;
    step("/calendars/{id}", "DELETE", v1(format!("/calendars/{calendar}")), None, None).await;
    // A subscription's refresh records what the poll changed (tested in subscriptions.rs);
    // here: a refresh of a calendar that is not a subscription is refused and records nothing.
    let before = cursor(&app, &t).await;
    let refused = app.api("POST", &v1(format!("/calendars/{}/refresh", o("calendar"))), &t, None).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(cursor(&app, &t).await, before, "a refused write records nothing");
    done.insert(("POST".into(), "/calendars/{id}/refresh".into()));

    let writes: BTreeSet<(String, String)> = server::api::route_table()
        .into_iter()
        .filter(|r| r.method != http::Method::GET)
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let exempt: BTreeSet<(String, String)> =
        NOT_IN_THE_FEED.iter().map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned())).collect();
    let untested: Vec<_> = writes.iter().filter(|w| !done.contains(*w) && !exempt.contains(*w)).collect();
    assert!(
        untested.is_empty(),
        "write routes this test does not drive (add them, or to NOT_IN_THE_FEED with why): {untested:?}"
    );

    // ---- Server functions, as the signed-in page calls them. ----
    let b = app.browser();
    assert_eq!(b.login("a-owner@example.org", "correct horse battery").await.status, 200);
    let mut called: BTreeSet<String> = BTreeSet::new();
    let mut call = async |b: &Browser<'_>, name: &str, fields: &[(&str, &str)]| {
        let before = cursor(&app, &t).await;
        let reply = b.call(name, fields).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
        assert!(cursor(&app, &t).await > before, "{name} wrote without recording a change: {}", reply.body);
        called.insert(name.to_owned());
        reply
    };
    let profile =
        [("name", "A"), ("username", user.as_str()), ("time_zone", "UTC"), ("week_start", "monday"), ("clock", "24h")];
    call(&b, "update_profile", &profile).await;
    let made = call(&b, "create_calendar", &[("name", "Page")]).await.json();
    let page_calendar = made["id"].as_str().expect("id").to_owned();
    let pc = page_calendar.as_str();
    call(&b, "update_calendar", &[("id", pc), ("name", "Page 2"), ("color", "#336699"), ("time_zone", "UTC")]).await;
    call(&b, "publish_feed", &[("id", pc)]).await;
    call(&b, "revoke_feed", &[("id", pc)]).await;
    let event_fields = [
        ("calendar_id", pc),
        ("title", "Page event"),
        ("start_date", "2030-03-01"),
        ("start_time", "09:00"),
        ("end_date", "2030-03-01"),
        ("end_time", "10:00"),
    ];
    let made = call(&b, "save_event", &event_fields).await.json();
    let page_event = made["id"].as_str().expect("id").to_owned();
    let pe = page_event.as_str();
    let moved = [("id", pe), ("start_utc", "2030-03-01T11:00:00Z"), ("end_utc", "2030-03-01T12:00:00Z")];
    call(&b, "move_event", &moved).await;
    let deleted = call(&b, "delete_event", &[("id", pe)]).await.json();
    let token = deleted["undo"].as_str().expect("undo token").to_owned();
    call(&b, "undo_delete", &[("token", token.as_str())]).await;
    let made = call(&b, "create_schedule", &[("name", "Page hours")]).await.json();
    let page_schedule = made["id"].as_str().expect("id").to_owned();
    let ps = page_schedule.as_str();
    call(&b, "save_schedule", &[("id", ps), ("name", "Page hours 2"), ("timezone", "UTC")]).await;
    call(&b, "add_override", &[("id", ps), ("date", "2030-02-01")]).await;
    call(&b, "remove_override", &[("id", ps), ("date", "2030-02-01")]).await;
    call(&b, "set_default_schedule", &[("id", ps)]).await;
    let made =
        call(&b, "save_link", &[("title", "Page link"), ("slug", "page-link"), ("durations", "30")]).await.json();
    let page_link = made["id"].as_str().expect("id").to_owned();
    call(&b, "save_link", &[("id", &page_link), ("title", "Page link 2"), ("durations", "30")]).await;
    let short_link = id_of(&call(&b, "new_link", &[("title", "Short link"), ("durations", "15")]).await);
    call(&b, "set_link_active", &[("id", &page_link), ("active", "false")]).await;
    call(&b, "set_link_active", &[("id", &page_link), ("active", "true")]).await;
    let visitor = app.browser();
    let slot = [
        ("username", user.as_str()),
        ("slug", "asecret"),
        ("start", "2030-01-22T14:00:00Z"),
        ("name", "Grace"),
        ("email", "grace@example.org"),
        ("timezone", "UTC"),
    ];
    let made = call(&visitor, "book_slot", &slot).await.json();
    let manage = made["manage_url"].as_str().expect("url").trim_start_matches("/booking/").to_owned();
    call(&visitor, "reschedule_my_booking", &[("token", &manage), ("start", "2030-01-22T15:00:00Z")]).await;
    call(&visitor, "cancel_my_booking", &[("token", &manage)]).await;
    let booked = |start: &'static str| {
        let app = &app;
        let a = &a;
        async move { id_of(&book(app, a, "w-approve2", invitee(start), None).await) }
    };
    link(&app, &a, json!({"slug": "w-approve2", "title": "W", "durations": [30], "requires_approval": true})).await;
    let first = booked("2030-01-23T14:00:00Z").await;
    call(&b, "approve_booking", &[("id", &first)]).await;
    call(&b, "reschedule_booking", &[("id", &first), ("start", "2030-01-23T16:00")]).await;
    call(&b, "cancel_booking", &[("id", &first)]).await;
    let second = booked("2030-01-23T15:00:00Z").await;
    call(&b, "decline_booking", &[("id", &second)]).await;
    // Tasks and focus on the pages.
    let made = call(&b, "capture_tasks", &[("text", "page task ~30m"), ("save", "true")]).await.json();
    let page_task = made["tasks"][0]["id"].as_str().expect("id").to_owned();
    let pt = page_task.as_str();
    call(&b, "edit_task", &[("id", pt), ("title", "Page task 2")]).await;
    call(&b, "add_step", &[("parent_id", pt), ("title", "First")]).await;
    let made = call(&b, "add_step", &[("parent_id", pt), ("title", "Second")]).await.json();
    let second_step = made["id"].as_str().expect("step").to_owned();
    call(&b, "move_step", &[("id", &second_step), ("by", "-1")]).await;
    call(&b, "suggest_steps", &[("id", pt), ("apply", "true")]).await;
    call(&b, "copy_task", &[("id", pt), ("template", "true")]).await;
    call(&b, "import_tasks", &[("text", "title\nPage import")]).await;
    call(&b, "timebox_task", &[("task_id", pt), ("start", "2030-02-05T09:00:00Z"), ("end", "2030-02-05T09:30:00Z")])
        .await;
    // Planning needs working hours: the default schedule must have some.
    call(&b, "set_default_schedule", &[("id", &a.schedule)]).await;
    call(&b, "plan_week", &[("apply", "true")]).await;
    call(&b, "save_daily_plan", &[("intention", "Focus"), ("task_ids[0]", pt)]).await;
    call(&b, "shut_down_day", &[]).await;
    let settings =
        [("focus_minutes", "25"), ("short_break_minutes", "5"), ("long_break_minutes", "15"), ("cycles", "4")];
    call(&b, "save_task_settings", &settings).await;
    call(&b, "save_notification_settings", &[("event_reminder_email", "true"), ("agenda_at", "07:00")]).await;
    let push = [
        ("endpoint", "http://127.0.0.1:9/push/device"),
        ("p256dh", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"),
        ("auth", "AAAAAAAAAAAAAAAAAAAAAA"),
    ];
    call(&b, "subscribe_push", &push).await;
    call(&b, "unsubscribe_push", &[("device", "http://127.0.0.1:9/push/device")]).await;
    call(&b, "finish_onboarding", &[("skip", "1")]).await;
    // Connected accounts on the sync page (a second account: the API test removed the first).
    let grant = app::ssr::connections::Grant {
        provider: "google".into(),
        external_id: None,
        account: "page@gmail.test".into(),
        refresh_secret: Some("v1.sealed".into()),
        access_secret: "v1.sealed".into(),
        access_expires_at: 0,
        scopes: "https://www.googleapis.com/auth/calendar".into(),
    };
    let owner = o("user");
    let connection = app::ssr::connections::save_grant(&app.state.db, &owner, &grant).await.expect("connection");
    let listed = [app::ssr::connections::Listed {
        remote_id: "page@gmail.test".into(),
        name: "Page".into(),
        color: None,
        time_zone: None,
        primary: false,
    }];
    app::ssr::connections::save_listed(&app.state.db, &connection, &listed).await.expect("listed");
    let remote = app::ssr::connections::remote_calendars_of(&app.state.db, &connection.id).await.expect("rc");
    let rc = remote[0].id.clone();
    call(&b, "set_sync_mode", &[("remote_calendar_id", &rc), ("mode", "two_way"), ("calendar_id", "new")]).await;
    call(&b, "set_connection_options", &[("connection_id", &connection.id), ("write_calendar", "page@gmail.test")])
        .await;
    let mut write = app::ssr::changes::begin(&app.state.db, &owner).await.expect("write");
    app::ssr::connections::log_conflict(&mut write, &owner, &rc, "u@t", "Asked", "deleted", "ask", "?", None)
        .await
        .expect("question");
    write.commit().await.expect("commit");
    let page = b.call("load_connections", &[]).await.json();
    let question = page["conflicts"][0]["id"].as_str().expect("a question").to_owned();
    call(&b, "answer_sync_question", &[("conflict_id", &question), ("answer", "keep")]).await;
    call(&b, "set_notion_mapping", &[("remote_calendar_id", &rc), ("title", "Name"), ("due", "Due")]).await;
    call(&b, "disconnect_connection", &[("connection_id", &connection.id), ("remove_events", "on")]).await;
    let made = call(&b, "start_focus", &[("task_id", pt)]).await.json();
    let session = made["id"].as_str().expect("id").to_owned();
    call(&b, "change_focus", &[("id", &session), ("action", "pause")]).await;
    let badge = call(&b, "change_focus_now", &[("id", &session), ("action", "resume")]).await.json();
    assert_eq!(badge["running"], true, "the badge's answer is the resumed session: {badge}");
    call(&b, "note_distraction", &[("note", "mail")]).await;
    call(&b, "log_energy", &[("level", "2")]).await;
    call(&b, "set_task_done", &[("id", pt), ("done", "true")]).await;
    let made = call(&b, "add_reward", &[("title", "Walk"), ("cost", "1")]).await.json();
    call(&b, "claim_reward", &[("id", made["id"].as_str().expect("id"))]).await;
    call(&b, "delete_task", &[("id", pt)]).await;
    call(&b, "delete_link", &[("id", &page_link)]).await;
    call(&b, "delete_link", &[("id", &short_link)]).await;
    call(&b, "delete_schedule", &[("id", ps)]).await;
    call(&b, "delete_calendar", &[("id", pc)]).await;
    // Last: it changes the default schedule the booking calls above rely on.
    let hours =
        [("time_zone", "Europe/Paris"), ("work_start", "08:00"), ("work_end", "16:00"), ("d1", "on"), ("d2", "on")];
    call(&b, "welcome_hours", &hours).await;

    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/fn/").to_owned())
        .collect();
    let known: BTreeSet<String> = called
        .iter()
        .cloned()
        .chain(FNS_NOT_IN_THE_FEED.iter().map(|(n, _)| (*n).to_owned()))
        .chain(FNS_READING.iter().map(|n| (*n).to_owned()))
        .collect();
    let unknown: Vec<_> = registered.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "server functions this test does not know (call them if they write, else list them as reading): {unknown:?}"
    );
}
