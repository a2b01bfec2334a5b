//! The REST API: credentials on every route, tokens, and answers to bad input.

use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp, spawn_app};

on_both_backends!(
    every_api_route_needs_credentials,
    tokens_are_shown_once_work_as_bearer_and_can_be_revoked,
    a_user_cannot_touch_another_users_tokens,
    bad_request_bodies_get_clear_4xx_answers,
);

/// Registers a user and returns a token with every scope (the account included), made
/// through the API with the session: the owner of the account, as tests need one.
pub(crate) async fn user_with_token(app: &TestApp, email: &str) -> String {
    let browser = app.browser();
    assert_eq!(browser.register(email, "Tester").await.status, 200);
    token_of(&browser).await
}

/// A token with every scope (the account included) for the account `browser` is signed in to.
pub(crate) async fn token_of(browser: &crate::support::Browser<'_>) -> String {
    let reply = browser
        .send(
            "POST",
            "/api/v1/tokens",
            &[("content-type", "application/json")],
            json!({"name": "tests", "scopes": ["all", "account"]}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["token"].as_str().expect("token").to_owned()
}

async fn every_api_route_needs_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    for (method, path) in [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/01JABCDEFGHJKMNPQRSTVWXYZ0"),
        ("GET", "/api/v1/calendars"),
        ("POST", "/api/v1/calendars"),
        ("GET", "/api/v1/calendars/01JABCDEFGHJKMNPQRSTVWXYZ0"),
        ("PATCH", "/api/v1/calendars/01JABCDEFGHJKMNPQRSTVWXYZ0"),
        ("DELETE", "/api/v1/calendars/01JABCDEFGHJKMNPQRSTVWXYZ0"),
        ("POST", "/api/v1/calendars/01JABCDEFGHJKMNPQRSTVWXYZ0/import"),
        ("GET", "/api/v1/calendars/01JABCDEFGHJKMNPQRSTVWXYZ0/export.ics"),
        ("POST", "/api/v1/calendars/01JABCDEFGHJKMNPQRSTVWXYZ0/feed"),
        ("DELETE", "/api/v1/calendars/01JABCDEFGHJKMNPQRSTVWXYZ0/feed"),
        ("POST", "/api/v1/events"),
        ("GET", "/api/v1/events/01JABCDEFGHJKMNPQRSTVWXYZ0"),
        ("PATCH", "/api/v1/events/01JABCDEFGHJKMNPQRSTVWXYZ0"),
        ("DELETE", "/api/v1/events/01JABCDEFGHJKMNPQRSTVWXYZ0"),
        ("GET", "/api/v1/occurrences?from=2024-01-01&to=2024-02-01"),
        ("GET", "/api/v1/events?q=x"),
        ("POST", "/api/v1/calendars/01JABCDEFGHJKMNPQRSTVWXYZ0/refresh"),
        ("GET", "/api/v1/no-such-route"),
    ] {
        let reply = app.send(method, path, &[], Vec::new()).await;
        assert_eq!(reply.status, 401, "{method} {path}");
        assert_eq!(reply.json()["code"], "unauthorized", "{method} {path}");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        let forged =
            app.api(method, path, "cal_0000000000000000000000000000000000000000000000000000000000000000", None).await;
        assert_eq!(forged.status, 401, "{method} {path} with a made-up token");
        let garbage = app.api(method, path, "not even close \u{fc}\u{e9}", None).await;
        assert_eq!(garbage.status, 401, "{method} {path} with garbage");
    }
}

async fn tokens_are_shown_once_work_as_bearer_and_can_be_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "tok@example.org").await;
    assert!(token.starts_with("cal_"));

    let me = app.api("GET", "/api/v1/me", &token, None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["email"], "tok@example.org");

    let created = app.api("POST", "/api/v1/tokens", &token, Some(json!({"name": "second"}))).await;
    assert_eq!(created.status, 201);
    let second = created.json();

    let list = app.api("GET", "/api/v1/tokens", &token, None).await;
    assert_eq!(list.status, 200);
    let list = list.json();
    let names: Vec<&str> = list.as_array().expect("array").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["second", "tests"], "newest first");
    assert!(!list.to_string().contains(&token), "the secret is never listed");
    assert!(list[1]["last_used_at"].is_string(), "use is recorded: {list}");
    assert!(list[0]["last_used_at"].is_null());

    let id = second["id"].as_str().expect("id");
    assert_eq!(app.api("DELETE", &format!("/api/v1/tokens/{id}"), &token, None).await.status, 204);
    let revoked_secret = second["token"].as_str().expect("token");
    assert_eq!(app.api("GET", "/api/v1/me", revoked_secret, None).await.status, 401, "a revoked token stops working");
    assert_eq!(app.api("DELETE", &format!("/api/v1/tokens/{id}"), &token, None).await.status, 404, "already revoked");
    assert_eq!(app.api("GET", "/api/v1/tokens", &token, None).await.json().as_array().map(Vec::len), Some(1));
    assert_eq!(app.api("GET", "/api/v1/no-such-route", &token, None).await.status, 404);
}

async fn a_user_cannot_touch_another_users_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = user_with_token(&app, "alice@example.org").await;
    let bob = user_with_token(&app, "bob@example.org").await;
    let alice_tokens = app.api("GET", "/api/v1/tokens", &alice, None).await.json();
    let alice_token_id = alice_tokens[0]["id"].as_str().expect("id").to_owned();
    let attempt = app.api("DELETE", &format!("/api/v1/tokens/{alice_token_id}"), &bob, None).await;
    assert_eq!(attempt.status, 404);
    assert_eq!(app.api("GET", "/api/v1/me", &alice, None).await.status, 200, "alice's token still works");
    let bob_tokens = app.api("GET", "/api/v1/tokens", &bob, None).await.json();
    assert!(!bob_tokens.to_string().contains(&alice_token_id));
}

async fn bad_request_bodies_get_clear_4xx_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "bad@example.org").await;
    let auth = format!("Bearer {token}");
    let post = |content_type: &'static str, body: Vec<u8>| {
        let auth = auth.clone();
        let app = &app;
        async move {
            app.send("POST", "/api/v1/tokens", &[("authorization", &auth), ("content-type", content_type)], body).await
        }
    };
    let malformed = post("application/json", b"{\"name\": ".to_vec()).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["code"], "malformed_json");

    let wrong_shape = post("application/json", b"{\"nom\": 1}".to_vec()).await;
    assert_eq!(wrong_shape.status, 422);
    assert_eq!(wrong_shape.json()["code"], "invalid");

    let empty_name = post("application/json", b"{\"name\": \"   \"}".to_vec()).await;
    assert_eq!(empty_name.status, 422);
    assert_eq!(empty_name.json()["fields"][0]["field"], "name");

    let not_json = post("text/plain", b"name=x".to_vec()).await;
    assert_eq!(not_json.status, 415);

    let huge = post("application/json", format!("{{\"name\": \"{}\"}}", "x".repeat(100_000)).into_bytes()).await;
    assert_eq!(huge.status, 413);

    // Nothing above created a token.
    assert_eq!(app.api("GET", "/api/v1/tokens", &token, None).await.json().as_array().map(Vec::len), Some(1));

    // Server functions with missing or garbled arguments: 400, never 500.
    let browser = app.browser();
    let missing = browser.call("login", &[("email", "x@example.org")]).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    let garbled = browser
        .send("POST", "/fn/register", &[("content-type", "application/x-www-form-urlencoded")], vec![0xff, 0xfe, b'%'])
        .await;
    assert!((400..500).contains(&garbled.status), "{} {}", garbled.status, garbled.body);
    let unknown = browser.call("no_such_function", &[]).await;
    assert!((400..500).contains(&unknown.status), "{}", unknown.status);
}
