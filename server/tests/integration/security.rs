//! Accounts and security on both databases: app tokens with rotating refresh tokens and
//! scopes, rate limits shared by several server processes, email verification, password
//! reset and change, change of email, sessions, the audit log, administrators and
//! registration modes, same-origin checks, export and deletion, and hostile input.

use serde_json::{Value, json};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp, spawn_app, spawn_app_on, spawn_app_with};

on_both_backends!(
    app_tokens_rotate_and_a_reused_refresh_token_revokes_the_family,
    scopes_are_enforced_on_every_area,
    bad_sign_ins_and_bodies_get_clear_4xx,
    rate_limits_hold_across_server_processes,
    email_is_verified_by_a_single_use_link,
    password_reset_ends_every_session_and_token,
    changing_the_password_needs_the_current_one_and_ends_other_sessions,
    changing_the_email_needs_the_password_and_a_link_to_the_new_address,
    sessions_are_listed_with_their_device_and_can_be_revoked,
    the_audit_log_records_security_events_for_the_user_and_admins,
    admins_manage_users_and_registration_modes,
    cross_site_requests_are_refused,
    export_holds_every_owned_table_and_each_calendar_as_ics,
    deleting_an_account_removes_it_and_everything_it_owns,
    hostile_tokens_cookies_and_headers_never_cause_a_5xx,
    session_cookies_are_host_prefixed_and_secure_on_https,
);

const PASSWORD: &str = "correct horse battery";

async fn token_pair(app: &TestApp, email: &str, scopes: Option<Value>) -> Reply {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(scopes) = scopes {
        body["scopes"] = scopes;
    }
    app.send("POST", "/api/v1/auth/token", &[("content-type", "application/json")], body.to_string().into_bytes()).await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Reply {
    let body = json!({ "refresh_token": refresh_token }).to_string().into_bytes();
    app.send("POST", "/api/v1/auth/refresh", &[("content-type", "application/json")], body).await
}

/// The secret of the newest link emailed to `to` of that kind.
async fn emailed_link(app: &TestApp, to: &str, kind: &str) -> String {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT text_body FROM emails WHERE to_address = $1 AND kind = $2 ORDER BY created_at DESC, id DESC",
    )
    .bind(to)
    .bind(kind)
    .fetch_all(app.state.db.read())
    .await
    .expect("emails");
    let body = &rows.first().unwrap_or_else(|| panic!("no {kind} email to {to}")).0;
    let start = body.find("token=").expect("a link with a token") + "token=".len();
    body[start..].split_whitespace().next().expect("token").to_owned()
}

async fn app_tokens_rotate_and_a_reused_refresh_token_revokes_the_family(backend: Backend) {
    let app = spawn_app(backend).await;
    user_with_token(&app, "ana@example.org").await;
    let reply = token_pair(&app, "ana@example.org", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let first = reply.json();
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 900);
    let access = first["access_token"].as_str().expect("access").to_owned();
    let refresh_1 = first["refresh_token"].as_str().expect("refresh").to_owned();
    assert_eq!(app.api("GET", "/api/v1/calendars", &access, None).await.status, 200);

    // Refreshing answers a new pair; the spent refresh token is then worthless.
    let reply = refresh(&app, &refresh_1).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let second = reply.json();
    let access_2 = second["access_token"].as_str().expect("access").to_owned();
    let refresh_2 = second["refresh_token"].as_str().expect("refresh").to_owned();
    assert_ne!(access_2, access);
    assert_ne!(refresh_2, refresh_1);
    assert_eq!(app.api("GET", "/api/v1/calendars", &access_2, None).await.status, 200);

    // Someone presents the first refresh token again: 401, and the whole family dies.
    let reply = refresh(&app, &refresh_1).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(reply.json()["message"].as_str().expect("message").contains("already used"));
    assert_eq!(app.api("GET", "/api/v1/calendars", &access_2, None).await.status, 401);
    assert_eq!(app.api("GET", "/api/v1/calendars", &access, None).await.status, 401);
    assert_eq!(refresh(&app, &refresh_2).await.status, 401, "the family's newest refresh token too");

    // A new sign-in starts a new family, unaffected.
    let fresh = token_pair(&app, "ana@example.org", None).await.json();
    let access_3 = fresh["access_token"].as_str().expect("access");
    assert_eq!(app.api("GET", "/api/v1/calendars", access_3, None).await.status, 200);

    // Two refreshes racing with the same token: one wins, the other is a reuse.
    let refresh_3 = fresh["refresh_token"].as_str().expect("refresh").to_owned();
    let (a, b) = tokio::join!(refresh(&app, &refresh_3), refresh(&app, &refresh_3));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401], "{} / {}", a.body, b.body);
}

async fn scopes_are_enforced_on_every_area(backend: Backend) {
    let app = spawn_app(backend).await;
    let personal = user_with_token(&app, "sco@example.org").await;
    let reply = token_pair(&app, "sco@example.org", Some(json!("calendar:read tasks:write"))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["scope"], "calendar:read tasks:write");
    let token = reply.json()["access_token"].as_str().expect("access").to_owned();

    assert_eq!(app.api("GET", "/api/v1/me", &token, None).await.status, 200);
    assert_eq!(app.api("GET", "/api/v1/calendars", &token, None).await.status, 200);
    assert_eq!(app.api("GET", "/api/v1/occurrences?from=2030-01-01&to=2030-01-08", &token, None).await.status, 200);
    let write = app.api("POST", "/api/v1/calendars", &token, Some(json!({"name": "Nope"}))).await;
    assert_eq!(write.status, 403, "{}", write.body);
    assert_eq!(write.json()["code"], "forbidden");
    assert!(write.json()["message"].as_str().expect("message").contains("calendar:write"));
    assert!(write.header("www-authenticate").is_some_and(|v| v.contains("insufficient_scope")));
    assert_eq!(app.api("GET", "/api/v1/booking-links", &token, None).await.status, 403);
    assert_eq!(app.api("GET", "/api/v1/bookings", &token, None).await.status, 403);
    assert_eq!(app.api("GET", "/api/v1/tasks", &token, None).await.status, 200, "write includes read");
    let task = app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Scoped"}))).await;
    assert_eq!(task.status, 201, "{}", task.body);
    // App tokens never manage the account; personal tokens and sessions do.
    assert_eq!(app.api("GET", "/api/v1/tokens", &token, None).await.status, 403);
    assert_eq!(app.api("GET", "/api/v1/account/sessions", &token, None).await.status, 403);
    assert_eq!(app.api("GET", "/api/v1/tokens", &personal, None).await.status, 200);

    // A personal token can be narrowed too.
    let narrow = app
        .api("POST", "/api/v1/tokens", &personal, Some(json!({"name": "read only", "scopes": "bookings:read"})))
        .await;
    assert_eq!(narrow.status, 201, "{}", narrow.body);
    assert_eq!(narrow.json()["scopes"], "bookings:read");
    let narrow = narrow.json()["token"].as_str().expect("token").to_owned();
    assert_eq!(app.api("GET", "/api/v1/bookings", &narrow, None).await.status, 200);
    assert_eq!(app.api("GET", "/api/v1/calendars", &narrow, None).await.status, 403);
    let bad = app.api("POST", "/api/v1/tokens", &personal, Some(json!({"name": "x", "scopes": "root"}))).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.json()["fields"][0]["field"], "scopes");
}

async fn bad_sign_ins_and_bodies_get_clear_4xx(backend: Backend) {
    let app = spawn_app(backend).await;
    user_with_token(&app, "bad@example.org").await;
    let json_type = [("content-type", "application/json")];
    let wrong = json!({"email": "bad@example.org", "password": "not the password"}).to_string().into_bytes();
    let reply = app.send("POST", "/api/v1/auth/token", &json_type, wrong).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.json()["message"], "Email or password is incorrect.");
    let unknown = token_pair(&app, "nobody@example.org", None).await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.json()["message"], "Email or password is incorrect.", "no hint that the account is unknown");
    for (body, status) in [
        ("{", 400),
        ("[]", 422),
        ("{\"email\": 1}", 422),
        ("{\"email\": \"bad@example.org\", \"password\": \"correct horse battery\", \"scopes\": 5}", 400),
        ("{\"email\": \"bad@example.org\", \"password\": \"correct horse battery\", \"scopes\": \"admin\"}", 422),
    ] {
        let reply = app.send("POST", "/api/v1/auth/token", &json_type, body.as_bytes().to_vec()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
    }
    assert_eq!(app.send("POST", "/api/v1/auth/token", &[], b"email=x".to_vec()).await.status, 415);
    for token in ["", "car_", "car_zz", &format!("car_{}", "0".repeat(64)), &"x".repeat(5000), "cat_\u{0}"] {
        let reply = refresh(&app, token).await;
        assert_eq!(reply.status, 401, "{token:?}: {}", reply.body);
    }
    assert_eq!(app.send("POST", "/api/v1/auth/refresh", &json_type, b"{}".to_vec()).await.status, 422);
}

async fn rate_limits_hold_across_server_processes(backend: Backend) {
    let settings = [("CALENTO_TOKEN_RATE_PER_MINUTE", "4"), ("CALENTO_API_RATE_PER_MINUTE", "6")];
    let first = spawn_app_with(backend, &settings).await;
    let second = spawn_app_on(&first.url, &settings).await;
    let token = user_with_token(&first, "lim@example.org").await;
    // Token sign-ins: four a minute per address, counted by both processes together.
    for app in [&first, &second, &first, &second] {
        assert_eq!(token_pair(app, "lim@example.org", None).await.status, 200);
    }
    let refused = token_pair(&second, "lim@example.org", None).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let wait: u64 = refused.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(refused.json()["code"], "rate_limited");
    assert_eq!(refresh(&first, "car_x").await.status, 429, "refresh shares the budget");

    // The API: six requests a minute per token, across processes (the token's creation used none).
    let mut statuses = Vec::new();
    for i in 0..8 {
        let app = if i % 2 == 0 { &first } else { &second };
        statuses.push(app.api("GET", "/api/v1/me", &token, None).await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);

    // Registration: per address per hour.
    let limited = spawn_app_with(backend, &[("CALENTO_REGISTER_RATE_PER_HOUR", "2")]).await;
    for i in 0..2 {
        assert_eq!(limited.browser().register(&format!("r{i}@example.org"), "R").await.status, 200);
    }
    let reply = limited.browser().register("r3@example.org", "R").await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert!(reply.header("retry-after").is_some());
}

async fn email_is_verified_by_a_single_use_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    assert_eq!(browser.register("ver@example.org", "Vera").await.status, 200);
    let me = browser.call("current_user", &[]).await.json();
    assert_eq!(me["email_verified"], false);
    let secret = emailed_link(&app, "ver@example.org", "verify_email").await;
    // A link opened in another browser (not signed in) works too.
    let reply = app.browser().call("confirm_email", &[("token", &secret)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("confirmed"));
    assert_eq!(browser.call("current_user", &[]).await.json()["email_verified"], true);
    let again = browser.call("confirm_email", &[("token", &secret)]).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.json()["message"].as_str().expect("message").contains("not valid"));
    for junk in ["", "cel_", "nonsense", &"a".repeat(10_000)] {
        assert_eq!(browser.call("confirm_email", &[("token", junk)]).await.status, 400);
    }
    // The page says it in words.
    let page = app.browser().get(&format!("/account/confirm?token={secret}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("not valid"), "a used link says so");
}

async fn password_reset_ends_every_session_and_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let personal = user_with_token(&app, "res@example.org").await;
    let _ = &browser;
    let signed_in = app.browser();
    assert_eq!(signed_in.login("res@example.org", PASSWORD).await.status, 200);
    let pair = token_pair(&app, "res@example.org", None).await.json();

    // Same answer for an unknown address; only the real one gets an email.
    let stranger = app.browser();
    let unknown = stranger.call("request_password_reset", &[("email", "nobody@example.org")]).await;
    let known = stranger.call("request_password_reset", &[("email", "res@example.org")]).await;
    assert_eq!((unknown.status, known.status), (200, 200));
    assert_eq!(unknown.body, known.body);
    let secret = emailed_link(&app, "res@example.org", "password_reset").await;

    let weak = stranger.call("reset_password", &[("token", &secret), ("password", "short")]).await;
    assert_eq!(weak.status, 422, "a too-short password changes nothing: {}", weak.body);
    let done = stranger.call("reset_password", &[("token", &secret), ("password", "a brand new passphrase")]).await;
    assert_eq!(done.status, 200, "{}", done.body);

    // Every way in that existed is gone.
    assert_eq!(signed_in.get("/api/v1/me").await.status, 401, "the browser session");
    assert_eq!(app.api("GET", "/api/v1/me", &personal, None).await.status, 401, "the personal token");
    let access = pair["access_token"].as_str().expect("access");
    assert_eq!(app.api("GET", "/api/v1/me", access, None).await.status, 401, "the app's access token");
    assert_eq!(refresh(&app, pair["refresh_token"].as_str().expect("refresh")).await.status, 401);
    // The link works once; the old password no longer does; the new one does.
    let again = stranger.call("reset_password", &[("token", &secret), ("password", "another new passphrase")]).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(app.browser().login("res@example.org", PASSWORD).await.status, 422);
    assert_eq!(app.browser().login("res@example.org", "a brand new passphrase").await.status, 200);

    // An expired link is refused (set its expiry in the past).
    stranger.call("request_password_reset", &[("email", "res@example.org")]).await;
    let secret = emailed_link(&app, "res@example.org", "password_reset").await;
    sqlx::query("UPDATE email_tokens SET expires_at = 0 WHERE purpose = 'reset' AND used_at IS NULL")
        .execute(app.state.db.write())
        .await
        .expect("expire");
    let expired = stranger.call("reset_password", &[("token", &secret), ("password", "yet another passphrase")]).await;
    assert_eq!(expired.status, 400);
}

async fn changing_the_password_needs_the_current_one_and_ends_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let here = app.browser();
    assert_eq!(here.register("pw@example.org", "Pat").await.status, 200);
    let there = app.browser();
    assert_eq!(there.login("pw@example.org", PASSWORD).await.status, 200);
    let wrong = here
        .call("change_password", &[("current_password", "not it at all"), ("new_password", "a new long passphrase")])
        .await;
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.json()["fields"][0]["field"], "current_password");
    assert_eq!(there.get("/api/v1/me").await.status, 200, "nothing changed");
    let done = here
        .call("change_password", &[("current_password", PASSWORD), ("new_password", "a new long passphrase")])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(here.get("/api/v1/me").await.status, 200, "this session stays");
    assert_eq!(there.get("/api/v1/me").await.status, 401, "the other one ends");
    assert_eq!(app.browser().login("pw@example.org", "a new long passphrase").await.status, 200);
    // The owner is told by email.
    let (notices,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM emails WHERE to_address = 'pw@example.org' AND kind = 'password_changed'")
            .fetch_one(app.state.db.read())
            .await
            .expect("count");
    assert_eq!(notices, 1);
}

async fn changing_the_email_needs_the_password_and_a_link_to_the_new_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    assert_eq!(browser.register("old@example.org", "Olga").await.status, 200);
    app.browser().register("taken@example.org", "Tim").await;
    let wrong =
        browser.call("change_email", &[("email", "new@example.org"), ("current_password", "nope nope nope")]).await;
    assert_eq!(wrong.status, 422);
    let bad = browser.call("change_email", &[("email", "not an address"), ("current_password", PASSWORD)]).await;
    assert_eq!(bad.status, 422);
    let asked = browser.call("change_email", &[("email", "New@Example.org"), ("current_password", PASSWORD)]).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert_eq!(browser.call("current_user", &[]).await.json()["email"], "old@example.org", "not until confirmed");
    let secret = emailed_link(&app, "new@example.org", "confirm_email_change").await;
    let reply = browser.call("confirm_email", &[("token", &secret)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let me = browser.call("current_user", &[]).await.json();
    assert_eq!(me["email"], "new@example.org");
    assert_eq!(me["email_verified"], true);
    // The old address is told.
    let notice: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM emails WHERE to_address = $1 AND kind = 'email_changed'")
        .bind("old@example.org")
        .fetch_one(app.state.db.read())
        .await
        .expect("count");
    assert_eq!(notice.0, 1);
    assert_eq!(app.browser().login("new@example.org", PASSWORD).await.status, 200);
    // An address someone else has is refused when the link is opened.
    browser.call("change_email", &[("email", "taken@example.org"), ("current_password", PASSWORD)]).await;
    let secret = emailed_link(&app, "taken@example.org", "confirm_email_change").await;
    assert_eq!(browser.call("confirm_email", &[("token", &secret)]).await.status, 409);
    assert_eq!(browser.call("current_user", &[]).await.json()["email"], "new@example.org");
}

async fn sessions_are_listed_with_their_device_and_can_be_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let laptop = app.browser();
    assert_eq!(laptop.register("ses@example.org", "Sam").await.status, 200);
    let phone = app.browser();
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let reply = phone
        .send(
            "POST",
            "/fn/login",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "application/json"),
                ("user-agent", firefox),
            ],
            crate::support::form(&[("email", "ses@example.org"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let overview = laptop.call("load_security", &[]).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    let sessions = overview.json()["sessions"].as_array().expect("sessions").clone();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other = sessions.iter().find(|s| s["current"] == false).expect("the phone");
    assert_eq!(other["device"], "Firefox on Linux");
    assert_eq!(other["ip"], "127.0.0.1");
    let cookie = phone.session_cookie().expect("cookie");
    assert!(!overview.body.contains(&cookie), "the list never shows a session's secret");

    // Another user cannot revoke it; its owner can.
    let stranger = app.browser();
    stranger.register("str@example.org", "Str").await;
    let id = other["id"].as_str().expect("id");
    assert_eq!(stranger.call("revoke_session", &[("id", id)]).await.status, 404);
    assert_eq!(phone.get("/api/v1/me").await.status, 200);
    assert_eq!(laptop.call("revoke_session", &[("id", id)]).await.status, 200);
    assert_eq!(phone.get("/api/v1/me").await.status, 401);
    assert_eq!(laptop.get("/api/v1/me").await.status, 200);

    // Signing out everywhere ends this session too, and every app.
    phone.login("ses@example.org", PASSWORD).await;
    let pair = token_pair(&app, "ses@example.org", None).await.json();
    assert_eq!(laptop.call("sign_out_everywhere", &[]).await.status, 200);
    assert_eq!(laptop.get("/api/v1/me").await.status, 401);
    assert_eq!(phone.get("/api/v1/me").await.status, 401);
    assert_eq!(app.api("GET", "/api/v1/me", pair["access_token"].as_str().expect("a"), None).await.status, 401);
}

async fn the_audit_log_records_security_events_for_the_user_and_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.browser();
    assert_eq!(admin.register("adm@example.org", "Admin").await.status, 200);
    let user = app.browser();
    assert_eq!(user.register("aud@example.org", "Aud").await.status, 200);
    assert_eq!(app.browser().login("aud@example.org", "wrong password!").await.status, 422);
    assert_eq!(user.login("aud@example.org", PASSWORD).await.status, 200);
    let created = user.call("create_token", &[("name", "cli")]).await.json();
    user.call("revoke_token", &[("id", created["id"].as_str().expect("id"))]).await;
    token_pair(&app, "aud@example.org", Some(json!("calendar:read"))).await;

    let log = user.call("my_audit_log", &[]).await;
    assert_eq!(log.status, 200, "{}", log.body);
    let events: Vec<String> =
        log.json().as_array().expect("log").iter().map(|e| e["event"].as_str().expect("event").to_owned()).collect();
    for expected in ["registered", "sign_in", "sign_in_failed", "token_created", "token_revoked", "app_sign_in"] {
        assert!(events.contains(&expected.to_owned()), "{expected} missing from {events:?}");
    }
    assert!(!log.body.contains(PASSWORD) && !log.body.contains("wrong password!"), "no secrets in the log");
    assert!(!log.body.contains(created["token"].as_str().expect("token")));
    let failed = log.json().as_array().expect("log").iter().find(|e| e["event"] == "sign_in_failed").cloned();
    assert_eq!(failed.expect("failed")["ip"], "127.0.0.1");

    // Users see only their own; admins see everyone's; others may not look.
    assert!(!log.body.contains("adm@example.org"));
    assert_eq!(user.call("admin_audit_log", &[]).await.status, 403);
    let all = admin.call("admin_audit_log", &[]).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.body.contains("aud@example.org") && all.body.contains("adm@example.org"));
    let only = admin.call("admin_audit_log", &[("event_name", "sign_in_failed")]).await.json();
    assert!(only.as_array().expect("list").iter().all(|e| e["event"] == "sign_in_failed"));
    assert_eq!(app.browser().call("my_audit_log", &[]).await.status, 401);
    let api = app.api("GET", "/api/v1/account/audit", &user_with_token(&app, "third@example.org").await, None).await;
    assert_eq!(api.status, 200);
    assert!(!api.body.contains("aud@example.org"));
}

async fn admins_manage_users_and_registration_modes(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.browser();
    assert_eq!(admin.register("first@example.org", "First").await.status, 200);
    assert_eq!(admin.call("current_user", &[]).await.json()["is_admin"], true, "the first account is the admin");
    let user = app.browser();
    assert_eq!(user.register("second@example.org", "Second").await.status, 200);
    assert_eq!(user.call("current_user", &[]).await.json()["is_admin"], false);
    assert_eq!(user.call("load_admin", &[]).await.status, 403);
    assert_eq!(user.get("/admin").await.status, 200, "the page renders, saying no");

    let overview = admin.call("load_admin", &[("query", "second")]).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    let users = overview.json()["users"].as_array().expect("users").clone();
    assert_eq!(users.len(), 1);
    let second_id = users[0]["id"].as_str().expect("id").to_owned();

    // Disable: the session ends, tokens stop, sign-in is refused; re-enable restores sign-in.
    let token = app.api("POST", "/api/v1/tokens", "", None).await;
    assert_eq!(token.status, 401);
    let personal = user.call("create_token", &[("name", "t")]).await.json()["token"].as_str().expect("t").to_owned();
    assert_eq!(user.call("admin_user_action", &[("user_id", &second_id), ("action", "disable")]).await.status, 403);
    let done = admin.call("admin_user_action", &[("user_id", &second_id), ("action", "disable")]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(user.get("/api/v1/me").await.status, 401);
    assert_eq!(app.api("GET", "/api/v1/me", &personal, None).await.status, 401);
    let refused = app.browser().login("second@example.org", PASSWORD).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("disabled"));
    admin.call("admin_user_action", &[("user_id", &second_id), ("action", "enable")]).await;
    assert_eq!(user.login("second@example.org", PASSWORD).await.status, 200);
    // Make admin; an admin cannot disable themselves.
    admin.call("admin_user_action", &[("user_id", &second_id), ("action", "make_admin")]).await;
    assert_eq!(user.call("load_admin", &[]).await.status, 200);
    let me = admin.call("current_user", &[]).await.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(admin.call("admin_user_action", &[("user_id", &me), ("action", "disable")]).await.status, 409);
    let junk = admin.call("admin_user_action", &[("user_id", &second_id), ("action", "explode")]).await;
    assert_eq!(junk.status, 400);
    assert_eq!(admin.call("admin_user_action", &[("user_id", "nobody"), ("action", "disable")]).await.status, 404);

    // Closed: nobody registers. Invite-only: only with a valid, unused invite.
    assert_eq!(admin.call("admin_set_registration", &[("mode", "closed")]).await.status, 200);
    let closed = app.browser().register("c@example.org", "C").await;
    assert_eq!(closed.status, 403, "{}", closed.body);
    assert_eq!(admin.call("admin_set_registration", &[("mode", "sometimes")]).await.status, 400);
    assert_eq!(admin.call("admin_set_registration", &[("mode", "invite_only")]).await.status, 200);
    let no_invite = app.browser().register("i@example.org", "I").await;
    assert_eq!(no_invite.status, 422, "{}", no_invite.body);
    let invite = admin.call("admin_create_invite", &[]).await;
    assert_eq!(invite.status, 200, "{}", invite.body);
    let link = invite.json()["link"].as_str().expect("link").to_owned();
    let secret = link.split("invite=").nth(1).expect("secret").to_owned();
    let with = |email: &'static str, secret: String| {
        let browser = app.browser();
        async move {
            browser
                .call(
                    "register",
                    &[("email", email), ("password", PASSWORD), ("name", "Invited"), ("invite", secret.as_str())],
                )
                .await
        }
    };
    assert_eq!(with("i@example.org", secret.clone()).await.status, 200);
    assert_eq!(with("j@example.org", secret.clone()).await.status, 422, "an invite works once");
    let for_one = admin.call("admin_create_invite", &[("email", "k@example.org")]).await.json();
    let secret = for_one["link"].as_str().expect("link").split("invite=").nth(1).expect("s").to_owned();
    assert_eq!(with("l@example.org", secret.clone()).await.status, 422, "an invite for another address");
    assert_eq!(with("k@example.org", secret).await.status, 200);
    let listed = admin.call("load_admin", &[]).await.json();
    assert_eq!(listed["registration_mode"], "invite_only");
    assert_eq!(listed["invites"].as_array().expect("invites").iter().filter(|i| i["used"] == true).count(), 2);
    assert!(listed["invites"].as_array().expect("invites").iter().all(|i| i["link"].is_null()), "secrets shown once");
}

async fn cross_site_requests_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    assert_eq!(browser.register("csrf@example.org", "C").await.status, 200);
    let ours = format!("http://{}", app.addr);
    let post = |origin: &'static str, site: Option<&'static str>| {
        let browser = &browser;
        let ours = ours.clone();
        async move {
            let origin = if origin == "ours" { ours } else { origin.to_owned() };
            let mut headers = vec![
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "application/json"),
                ("origin", origin.as_str()),
            ];
            if let Some(site) = site {
                headers.push(("sec-fetch-site", site));
            }
            browser.send("POST", "/fn/create_token", &headers, crate::support::form(&[("name", "x")])).await
        }
    };
    let evil = post("https://evil.example", None).await;
    assert_eq!(evil.status, 403, "{}", evil.body);
    assert_eq!(evil.json()["code"], "forbidden");
    assert_eq!(post("ours", Some("cross-site")).await.status, 403);
    assert_eq!(post("null", None).await.status, 403);
    assert_eq!(post("ours", None).await.status, 200);
    assert_eq!(post("ours", Some("same-origin")).await.status, 200);
    let tokens = browser.call("list_tokens", &[]).await.json();
    assert_eq!(tokens.as_array().expect("list").len(), 2, "only the two same-origin requests made tokens");
    // The REST API with the session cookie is guarded the same way.
    let api = browser
        .send(
            "POST",
            "/api/v1/calendars",
            &[("content-type", "application/json"), ("sec-fetch-site", "cross-site")],
            b"{\"name\":\"x\"}".to_vec(),
        )
        .await;
    assert_eq!(api.status, 403);
}

pub(crate) fn untar(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut at = 0;
    while at + 512 <= bytes.len() {
        let header = &bytes[at..at + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let name = String::from_utf8_lossy(&header[..100]).trim_end_matches('\0').to_owned();
        let size_text = String::from_utf8_lossy(&header[124..135]).to_string();
        let size = usize::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8).expect("size");
        let start = at + 512;
        files.push((name, bytes[start..start + size].to_vec()));
        at = start + size.div_ceil(512) * 512;
    }
    files
}

async fn export_holds_every_owned_table_and_each_calendar_as_ics(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "exp@example.org").await;
    let event = json!({"title": "Dentist <3", "start": "2030-03-01T09:00:00", "end": "2030-03-01T10:00:00"});
    let calendars = app.api("GET", "/api/v1/calendars", &token, None).await.json();
    let calendar = calendars[0]["id"].as_str().expect("calendar").to_owned();
    let mut event = event;
    event["calendar_id"] = json!(calendar);
    let created = app.api("POST", "/api/v1/events", &token, Some(event)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "File taxes"}))).await.status, 201);
    let other = user_with_token(&app, "oth@example.org").await;
    app.api("POST", "/api/v1/tasks", &other, Some(json!({"title": "Someone else's secret"}))).await;

    let reply = app.api("GET", "/api/v1/account/export", &token, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/x-tar"));
    // The body went through a String (lossy); the archive here is all ASCII/UTF-8 text.
    let files = untar(reply.body.as_bytes());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"calento-export/account.json"), "{names:?}");
    let ics = files.iter().find(|(n, _)| n.ends_with(".ics")).expect("a calendar file");
    let ics = String::from_utf8_lossy(&ics.1);
    assert!(ics.contains("BEGIN:VCALENDAR") && ics.contains("SUMMARY:Dentist <3"), "{ics}");
    let json: Value = serde_json::from_slice(&files.iter().find(|(n, _)| n.ends_with("account.json")).expect("json").1)
        .expect("json");
    assert_eq!(json["format"], "calento-export");
    assert_eq!(json["data"]["account"]["email"], "exp@example.org");
    assert!(json["data"]["account"].get("password_hash").is_none(), "never the password hash");
    assert_eq!(json["data"]["tasks"][0]["title"], "File taxes");
    assert_eq!(json["data"]["events"][0]["title"], "Dentist <3");
    assert!(json["data"]["api_tokens"][0].get("token_hash").is_none());
    let text = json.to_string();
    assert!(!text.contains("Someone else's secret"), "another account's data never leaks");
    for (table, _, _) in app::ssr::export::OWNED_TABLES {
        assert!(json["data"][*table].is_array(), "{table}");
    }
    // Every table with a user_id column is exported or deliberately left out.
    let columns: Vec<(String,)> = match backend {
        Backend::Sqlite => sqlx::query_as(
            "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name IN ('user_id', 'host_id')",
        )
        .fetch_all(app.state.db.read())
        .await
        .expect("schema"),
        Backend::Postgres => sqlx::query_as(
            "SELECT table_name::text FROM information_schema.columns WHERE column_name IN ('user_id', 'host_id') AND table_schema = current_schema()",
        )
        .fetch_all(app.state.db.read())
        .await
        .expect("schema"),
    };
    assert!(columns.len() > 10);
    for (table,) in columns {
        let listed = app::ssr::export::OWNED_TABLES.iter().any(|(t, _, _)| *t == table)
            || app::ssr::export::NOT_EXPORTED.contains(&table.as_str());
        assert!(listed, "table {table} holds account data but is neither exported nor listed as left out");
    }
    // The page's link works with the session too.
    let browser = app.browser();
    browser.register("page@example.org", "P").await;
    let page_export = browser.get("/api/v1/account/export").await;
    assert_eq!(page_export.status, 200);
    assert!(!untar(page_export.body.as_bytes()).is_empty());
    assert_eq!(app.get("/api/v1/account/export").await.status, 401);
}

async fn deleting_an_account_removes_it_and_everything_it_owns(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let token = user_with_token(&app, "del@example.org").await;
    let _ = &browser;
    let owner = app.browser();
    assert_eq!(owner.login("del@example.org", PASSWORD).await.status, 200);
    app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Gone soon"}))).await;
    let keeper = user_with_token(&app, "keep@example.org").await;
    app.api("POST", "/api/v1/tasks", &keeper, Some(json!({"title": "Stays"}))).await;

    let wrong = owner.call("delete_account", &[("current_password", "not my password"), ("confirm", "DELETE")]).await;
    assert_eq!(wrong.status, 422);
    let unconfirmed = owner.call("delete_account", &[("current_password", PASSWORD), ("confirm", "delete?")]).await;
    assert_eq!(unconfirmed.status, 422);
    assert_eq!(app.api("GET", "/api/v1/me", &token, None).await.status, 200, "nothing changed");

    let done = owner.call("delete_account", &[("current_password", PASSWORD), ("confirm", "DELETE")]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(app.api("GET", "/api/v1/me", &token, None).await.status, 401);
    assert_eq!(owner.get("/api/v1/me").await.status, 401);
    assert_eq!(app.browser().login("del@example.org", PASSWORD).await.status, 422);
    let db = app.state.db.read();
    for (sql, expected) in [
        ("SELECT COUNT(*) FROM users WHERE email = 'del@example.org'", 0),
        ("SELECT COUNT(*) FROM tasks WHERE title = 'Gone soon'", 0),
        ("SELECT COUNT(*) FROM tasks WHERE title = 'Stays'", 1),
        ("SELECT COUNT(*) FROM emails WHERE to_address = 'del@example.org'", 0),
        ("SELECT COUNT(*) FROM audit_log WHERE event = 'account_deleted'", 1),
        (
            "SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.user_id WHERE u.email = 'keep@example.org' AND a.event = 'registered'",
            1,
        ),
    ] {
        let (count,): (i64,) = sqlx::query_as(sql).fetch_one(db).await.expect(sql);
        assert_eq!(count, expected, "{sql}");
    }
    let (sessions,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE user_id NOT IN (SELECT id FROM users)")
            .fetch_one(db)
            .await
            .expect("sessions");
    assert_eq!(sessions, 0);
}

async fn hostile_tokens_cookies_and_headers_never_cause_a_5xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "fuzz@example.org").await;
    let long = "a".repeat(6000);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut values: Vec<String> = vec![
        String::new(),
        "Bearer".into(),
        "Bearer ".into(),
        "bearer    ".into(),
        "Basic dXNlcjpwYXNz".into(),
        format!("Bearer {long}"),
        format!("Bearer {}", &token[..token.len() - 1]),
        format!("Bearer {token}x"),
        format!("Bearer {}", token.to_uppercase()),
        "Bearer cat_".into(),
        format!("Bearer cat_{}", "g".repeat(64)),
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.".into(),
        "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln".into(),
        "Bearer a.b.c.d.e".into(),
    ];
    for _ in 0..40 {
        let len = (random() % 120) as usize;
        let text: String = (0..len).map(|_| char::from(b' ' + (random() % 95) as u8)).collect();
        values.push(format!("Bearer {text}"));
    }
    for value in &values {
        let reply = app.send("GET", "/api/v1/calendars", &[("authorization", value.as_str())], Vec::new()).await;
        assert_eq!(reply.status, 401, "{value:?}: {}", reply.body);
    }
    for cookie in [
        "calento_session=".to_owned(),
        "calento_session=%%%".to_owned(),
        format!("calento_session={long}"),
        "calento_session=a; calento_session=b".to_owned(),
        "=; ;; calento_session".to_owned(),
        "calento_session=\u{e9}t\u{e9}".to_owned(),
    ] {
        for path in ["/api/v1/me", "/settings/security", "/"] {
            let reply = app.send("GET", path, &[("cookie", cookie.as_str())], Vec::new()).await;
            assert!(reply.status < 500, "{cookie:?} {path}: {}", reply.status);
        }
    }
    // Oversized headers are refused before any work.
    let huge = "x".repeat(200_000);
    let reply = app.send("GET", "/api/v1/me", &[("x-filler", huge.as_str())], Vec::new()).await;
    assert!((400..500).contains(&reply.status), "{}", reply.status);
    // Confirmation and reset links with junk.
    let browser = app.browser();
    for junk in ["", "%00", "cel_%FF", &long, "cel_0123", "\u{202e}evil"] {
        let reply = browser.get(&format!("/account/confirm?token={}", app::components::percent_encode(junk))).await;
        assert_eq!(reply.status, 200, "{junk:?}");
        let reply = browser.get(&format!("/reset-password?token={}", app::components::percent_encode(junk))).await;
        assert_eq!(reply.status, 200, "{junk:?}");
        let reply = browser.call("reset_password", &[("token", junk), ("password", "a long enough one")]).await;
        assert_eq!(reply.status, 400, "{junk:?}");
    }
}

async fn session_cookies_are_host_prefixed_and_secure_on_https(backend: Backend) {
    let plain = spawn_app(backend).await;
    let reply = plain.browser().register("http@example.org", "H").await;
    let cookie = reply.header("set-cookie").expect("a session cookie").to_owned();
    assert!(cookie.starts_with("calento_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");

    let secure = spawn_app_with(backend, &[("CALENTO_PUBLIC_URL", "https://cal.example.org")]).await;
    let reply = secure.browser().register("https@example.org", "S").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let cookie = reply.header("set-cookie").expect("a session cookie").to_owned();
    assert!(cookie.starts_with("__Host-calento_session="), "{cookie}");
    for part in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "a __Host- cookie has no Domain: {cookie}");
    // Cross-site posts are refused against the public origin too; our own pass.
    let evil = secure
        .send(
            "POST",
            "/fn/login",
            &[("origin", "https://evil.example"), ("content-type", "application/x-www-form-urlencoded")],
            Vec::new(),
        )
        .await;
    assert_eq!(evil.status, 403);
    let ours = secure
        .send(
            "POST",
            "/fn/login",
            &[
                ("origin", "https://cal.example.org"),
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "application/json"),
            ],
            crate::support::form(&[("email", "https@example.org"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(ours.status, 200, "{}", ours.body);
}
