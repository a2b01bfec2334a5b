//! Registering, signing in and out, sessions, limits on failed logins, and settings.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use crate::on_both_backends;
use crate::support::{Backend, Browser, PASSWORD, Reply, TestApp, spawn_app, spawn_app_with};

on_both_backends!(
    the_first_account_is_signed_in_by_registering,
    later_accounts_log_in_after_registering,
    registration_rejects_bad_fields_and_changes_nothing,
    registering_a_taken_address_answers_exactly_like_a_new_one,
    the_owner_of_a_taken_address_is_told_once_an_hour_with_a_reset_link,
    the_operator_is_told_plainly_that_an_address_is_taken,
    usernames_are_derived_unique_and_changeable,
    wrong_passwords_do_not_reveal_which_accounts_exist,
    repeated_failed_logins_are_paused_with_retry_after,
    logging_in_rotates_the_session_and_logging_out_ends_it,
    settings_change_the_profile_with_validation,
    forms_without_javascript_redirect_and_show_errors,
);

async fn the_first_account_is_signed_in_by_registering(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let reply = browser.register("Ada@Example.org", "Ada Lovelace").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.header("serverfnredirect").is_some(), "the page is told to go on");
    assert_eq!(reply.header("location"), Some("/calendar"));
    let cookie = reply.header("set-cookie").expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");

    let me = browser.get("/api/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["email"], "ada@example.org");
    assert_eq!(me["name"], "Ada Lovelace");
    assert_eq!(me["username"], "ada");
    assert_eq!(me["time_zone"], "Europe/Paris");
    assert_eq!(me["week_start"], "monday");
    assert_eq!(me["clock"], "24h");
}

async fn registration_rejects_bad_fields_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let reply = browser
        .call(
            "register",
            &[("email", "not-an-email"), ("password", "short"), ("name", " "), ("time_zone", "Mars/Base")],
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["code"], "invalid");
    let fields: Vec<&str> =
        body["fields"].as_array().expect("fields").iter().filter_map(|f| f["field"].as_str()).collect();
    assert_eq!(fields, ["email", "password", "name", "time_zone"]);
    assert!(browser.session_cookie().is_none(), "no session for a failed registration");

    // Nothing was stored: the same email registers cleanly afterwards.
    let reply = browser.call("register", &[("email", "ok@example.org"), ("password", "short"), ("name", "Ok")]).await;
    assert_eq!(reply.status, 422);
    assert_eq!(browser.register("ok@example.org", "Ok").await.status, 200);
}

async fn later_accounts_log_in_after_registering(backend: Backend) {
    let app = spawn_app(backend).await;
    app.browser().register("first@example.org", "First").await;
    let browser = app.browser();
    let reply = register_as(&browser, "Second@Example.org", "a long password here").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("location"), Some("/login?registered=1"), "asked to confirm, then to log in");
    assert!(reply.header("set-cookie").is_none(), "not signed in by registering");
    assert_eq!(browser.get("/api/v1/me").await.status, 401);
    let page = browser.get("/login?registered=1").await;
    assert!(page.body.contains("We sent an email to the address you gave"), "the login page says what happened");
    assert_eq!(browser.login("second@example.org", "a long password here").await.status, 200);
    assert_eq!(browser.get("/api/v1/me").await.json()["email"], "second@example.org");
    let outbox = browser.get("/api/v1/outbox").await.json();
    assert_eq!(outbox[0]["kind"], "verify_email", "{outbox}");
}

/// Registers with the page's server function, as the hydrated page does.
async fn register_as(browser: &Browser<'_>, email: &str, password: &str) -> Reply {
    browser
        .call("register", &[("email", email), ("password", password), ("name", "Someone"), ("time_zone", "UTC")])
        .await
}

/// Registers with the plain form, as a browser without JavaScript does.
async fn register_without_javascript(app: &TestApp, email: &str) -> Reply {
    let fields = [("email", email), ("password", "an impostor's password"), ("name", "Someone")];
    app.browser().submit("register", "/register", &fields).await
}

/// What a client can see of an answer, without what differs on every response.
fn visible(reply: &Reply) -> (u16, BTreeMap<String, String>, String) {
    let headers = reply
        .headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    (reply.status, headers, reply.body.clone())
}

/// The instance's administrator, and the owner of `owner@example.org` signed in.
async fn admin_and_owner(app: &TestApp) -> Browser<'_> {
    app.browser().register("admin@example.org", "Admin").await;
    let owner = app.browser();
    assert_eq!(owner.register("owner@example.org", "Owner").await.status, 200);
    assert_eq!(owner.get("/api/v1/me").await.status, 200, "signed in");
    owner
}

async fn count(app: &TestApp, sql: &'static str, value: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).bind(value).fetch_one(app.state.db.read()).await.expect("count")
}

async fn registering_a_taken_address_answers_exactly_like_a_new_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = admin_and_owner(&app).await;
    let hash_before: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = $1")
        .bind("owner@example.org")
        .fetch_one(app.state.db.read())
        .await
        .expect("hash");
    let owner_id = owner.get("/api/v1/me").await.json()["id"].as_str().expect("id").to_owned();
    let sessions = "SELECT COUNT(*) FROM sessions WHERE user_id = $1";
    let sessions_before = count(&app, sessions, &owner_id).await;
    assert_eq!(sessions_before, 1);

    // The page's server function (the hydrated form), then the plain form without JavaScript.
    let (newcomer, someone) = (app.browser(), app.browser());
    let started = Instant::now();
    let new = register_as(&newcomer, "newcomer@example.org", "an impostor's password").await;
    let new_took = started.elapsed();
    let started = Instant::now();
    let taken = register_as(&someone, "Owner@Example.org", "an impostor's password").await;
    let taken_took = started.elapsed();
    assert_eq!(new.status, 200, "{}", new.body);
    assert_eq!(visible(&taken), visible(&new), "status, headers and body are the same");
    assert_eq!(new.header("location"), Some("/login?registered=1"));
    let (new_form, taken_form) = (
        register_without_javascript(&app, "another.newcomer@example.org").await,
        register_without_javascript(&app, "owner@example.org").await,
    );
    assert_eq!(new_form.status, 302, "{}", new_form.body);
    assert_eq!(visible(&taken_form), visible(&new_form));
    // Both hash the password: the answer for a taken address is not the quick one.
    let hash_takes = {
        let started = Instant::now();
        let password = calento::Password::parse("time one hash of this").expect("password");
        app::ssr::passwords::hash(&password).await.expect("hash");
        started.elapsed()
    };
    assert!(taken_took >= hash_takes / 2, "{taken_took:?} against a hash of {hash_takes:?} (new: {new_took:?})");

    // Nobody got into the owner's account, and nothing in it changed.
    assert_eq!(someone.get("/api/v1/me").await.status, 401, "not signed in");
    assert_eq!(someone.login("owner@example.org", "an impostor's password").await.status, 422);
    let hash_after: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = $1")
        .bind("owner@example.org")
        .fetch_one(app.state.db.read())
        .await
        .expect("hash");
    assert_eq!(hash_after, hash_before);
    assert_eq!(owner.get("/api/v1/me").await.status, 200, "the owner's session goes on");
    assert_eq!(count(&app, sessions, &owner_id).await, sessions_before, "no session was made or ended");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users WHERE email = $1", "owner@example.org").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users WHERE email <> $1", "").await, 4, "admin, owner, two newcomers");
    // The newcomers' accounts work with the password they chose.
    assert_eq!(app.browser().login("newcomer@example.org", "an impostor's password").await.status, 200);
}

/// The outbox of a signed-in browser: `(kind, subject, text)` newest first.
async fn outbox(browser: &Browser<'_>) -> Vec<(String, String, String)> {
    let list: Value = browser.get("/api/v1/outbox").await.json();
    let text = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_owned();
    list.as_array().expect("list").iter().map(|e| (text(e, "kind"), text(e, "subject"), text(e, "text_body"))).collect()
}

async fn the_owner_of_a_taken_address_is_told_once_an_hour_with_a_reset_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = admin_and_owner(&app).await;
    for _ in 0..3 {
        assert_eq!(register_as(&app.browser(), "owner@example.org", "an impostor's password").await.status, 200);
    }
    let notices: Vec<_> = outbox(&owner).await.into_iter().filter(|(kind, _, _)| kind == "sign_up_attempt").collect();
    assert_eq!(notices.len(), 1, "one email an hour, however often someone tries: {notices:?}");
    let (_, subject, text) = &notices[0];
    assert_eq!(subject, "Someone tried to create a Calento account with your address");
    assert!(text.contains("No account was created"), "{text}");
    let audit = owner.get("/api/v1/account/audit").await.json();
    let attempts = audit.as_array().expect("audit").iter().filter(|e| e["event"] == "sign_up_attempted").count();
    assert_eq!(attempts, 3, "every attempt is in the owner's audit log");

    // The link resets the password.
    let start = text.find("/reset-password?token=").expect("a reset link") + "/reset-password?token=".len();
    let secret = text[start..].split_whitespace().next().expect("token");
    let stranger = app.browser();
    let reset = stranger.call("reset_password", &[("token", secret), ("password", "the owner's new password")]).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(stranger.login("owner@example.org", PASSWORD).await.status, 422, "the old password is gone");
    assert_eq!(stranger.login("owner@example.org", "the owner's new password").await.status, 200);

    // An hour later the owner may be told again.
    sqlx::query("UPDATE rate_limits SET window_start = window_start - 3600000 WHERE key LIKE 'sign-up-notice:%'")
        .execute(app.state.db.write())
        .await
        .expect("an hour passes");
    register_as(&app.browser(), "owner@example.org", "an impostor's password").await;
    let notices = outbox(&stranger).await.into_iter().filter(|(kind, _, _)| kind == "sign_up_attempt").count();
    assert_eq!(notices, 2);
}

async fn the_operator_is_told_plainly_that_an_address_is_taken(backend: Backend) {
    let app = spawn_app(backend).await;
    admin_and_owner(&app).await;
    let form = app::ssr::accounts::Registration {
        email: "OWNER@example.org".into(),
        password: "an operator's password".into(),
        name: "Owner again".into(),
        username: String::new(),
        time_zone: String::new(),
        invite: String::new(),
        by_operator: true,
    };
    let error = app::ssr::accounts::register(&app.state.db, &form).await.expect_err("taken");
    assert_eq!(
        error.field_message("email").as_deref(),
        Some("An account with this email already exists. Log in instead.")
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users WHERE email = $1", "owner@example.org").await, 1);
}

async fn usernames_are_derived_unique_and_changeable(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.browser();
    first.register("jo.doe@example.org", "Jo").await;
    let second = app.browser();
    second.register("jo.doe@example.net", "Jo too").await;
    assert_eq!(first.get("/api/v1/me").await.json()["username"], "jo-doe");
    assert_eq!(second.get("/api/v1/me").await.json()["username"], "jo-doe-2");

    let taken = app.browser();
    let reply = taken
        .call(
            "register",
            &[("email", "x@example.org"), ("password", "correct horse battery"), ("name", "X"), ("username", "jo-doe")],
        )
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["fields"][0]["field"], "username");
}

async fn wrong_passwords_do_not_reveal_which_accounts_exist(backend: Backend) {
    let app = spawn_app(backend).await;
    app.browser().register("kim@example.org", "Kim").await;
    let wrong_password = app.browser().login("kim@example.org", "not the password").await;
    let unknown_email = app.browser().login("nobody@example.org", "not the password").await;
    assert_eq!(wrong_password.status, 422);
    assert_eq!(unknown_email.status, 422);
    assert_eq!(wrong_password.json()["message"], unknown_email.json()["message"]);
    assert_eq!(wrong_password.json()["message"], "Email or password is incorrect.");
}

async fn repeated_failed_logins_are_paused_with_retry_after(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("CALENTO_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3"), ("CALENTO_LOGIN_MAX_FAILURES_PER_IP", "5")],
    )
    .await;
    app.browser().register("lee@example.org", "Lee").await;
    for _ in 0..3 {
        assert_eq!(app.browser().login("lee@example.org", "wrong password!").await.status, 422);
    }
    // Paused, even with the right password, and told for how long.
    let paused = app.browser().login("lee@example.org", "correct horse battery").await;
    assert_eq!(paused.status, 429, "{}", paused.body);
    let retry_after: u64 = paused.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(paused.json()["code"], "rate_limited");

    // Other accounts from the same address are paused once the address limit is reached.
    app.browser().register("max@example.org", "Max").await;
    assert_eq!(app.browser().login("max@example.org", "wrong password!").await.status, 422);
    assert_eq!(app.browser().login("max@example.org", "wrong password!").await.status, 422);
    assert_eq!(app.browser().login("max@example.org", "correct horse battery").await.status, 429);
}

async fn logging_in_rotates_the_session_and_logging_out_ends_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    browser.register("ria@example.org", "Ria").await;
    let first = browser.session_cookie().expect("session");
    assert_eq!(browser.login("ria@example.org", "correct horse battery").await.status, 200);
    let second = browser.session_cookie().expect("session");
    assert_ne!(first, second, "a new session id at sign-in");

    let old = app.browser();
    old.set_session_cookie(&first);
    assert_eq!(old.get("/api/v1/me").await.status, 401, "the old id no longer works");

    assert_eq!(browser.call("logout", &[]).await.status, 200);
    let after = app.browser();
    after.set_session_cookie(&second);
    assert_eq!(after.get("/api/v1/me").await.status, 401, "logged out everywhere this cookie went");
}

async fn settings_change_the_profile_with_validation(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    browser.register("noa@example.org", "Noa").await;
    let fields = |zone: &'static str| {
        [("name", "Noa Levi"), ("username", "noa"), ("time_zone", zone), ("week_start", "sunday"), ("clock", "12h")]
    };
    let bad = browser.call("update_profile", &fields("Atlantis/Capital")).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["fields"][0]["field"], "time_zone");
    assert_eq!(browser.get("/api/v1/me").await.json()["time_zone"], "Europe/Paris", "nothing changed");

    let good = browser.call("update_profile", &fields("America/New_York")).await;
    assert_eq!(good.status, 200, "{}", good.body);
    let me = browser.get("/api/v1/me").await.json();
    assert_eq!(me["time_zone"], "America/New_York");
    assert_eq!(me["name"], "Noa Levi");
    assert_eq!(me["week_start"], "sunday");
    assert_eq!(me["clock"], "12h");

    assert_eq!(app.browser().call("update_profile", &fields("UTC")).await.status, 401, "signed out");
}

async fn forms_without_javascript_redirect_and_show_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let reply = browser
        .submit("register", "/register", &[("email", "bad"), ("password", "correct horse battery"), ("name", "Zoe")])
        .await;
    assert_eq!(reply.status, 303);
    let location = reply.header("location").expect("back to the form").to_owned();
    assert!(location.starts_with("/register?err="), "{location}");
    let page = browser.get(&location).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Enter an email address like name@example.com."), "the page shows the error");

    let ok = browser
        .submit(
            "register",
            "/register",
            &[("email", "zoe@example.org"), ("password", "correct horse battery"), ("name", "Zoe")],
        )
        .await;
    assert_eq!(ok.status, 302);
    assert_eq!(ok.header("location"), Some("/calendar"));
    let calendar = browser.get("/calendar").await;
    assert_eq!(calendar.status, 200);
    assert!(calendar.body.contains("Today is"), "signed in, server-rendered");
}
