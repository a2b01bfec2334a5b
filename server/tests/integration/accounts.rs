//! Registering, signing in and out, sessions, limits on failed logins, and settings.

use crate::on_both_backends;
use crate::support::{Backend, spawn_app, spawn_app_with};

on_both_backends!(
    registering_signs_the_person_in,
    registration_rejects_bad_fields_and_changes_nothing,
    registering_an_email_twice_is_refused,
    usernames_are_derived_unique_and_changeable,
    wrong_passwords_do_not_reveal_which_accounts_exist,
    repeated_failed_logins_are_paused_with_retry_after,
    logging_in_rotates_the_session_and_logging_out_ends_it,
    settings_change_the_profile_with_validation,
    forms_without_javascript_redirect_and_show_errors,
);

async fn registering_signs_the_person_in(backend: Backend) {
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

async fn registering_an_email_twice_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.browser().register("sam@example.org", "Sam").await.status, 200);
    let again = app.browser().register("SAM@example.org", "Sam again").await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert_eq!(again.json()["fields"][0]["field"], "email");
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
