//! Sign-in with OpenID Connect (and GitHub's OAuth) against a real local provider over
//! HTTP (server/examples/oidc_provider/provider.rs), on both databases: new accounts,
//! returning people, linking and unlinking, registration modes, and every way a callback
//! can be wrong (state, replayed code, nonce, expiry, audience, issuer, signature).

#[path = "../../examples/oidc_provider/provider.rs"]
#[allow(dead_code)]
pub(crate) mod provider;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::on_both_backends;
use crate::support::{Backend, Browser, TestApp, spawn_app_with};

on_both_backends!(
    a_new_person_signs_in_with_pkce_and_gets_an_account,
    wrong_state_replayed_code_bad_nonce_and_expired_tokens_are_refused,
    an_existing_account_links_only_after_its_password_or_from_settings,
    the_last_way_in_cannot_be_unlinked,
    registration_modes_and_disabled_accounts_apply_to_provider_sign_ins,
    github_sign_in_uses_its_user_api,
);

const CLIENT_ID: &str = "calento-test";
const SECRET: &str = "provider s3cret";

async fn setup(backend: Backend) -> (TestApp, provider::Provider) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let idp = provider::Provider::serve(listener, CLIENT_ID, SECRET).await;
    let issuer = idp.issuer().to_owned();
    let api = format!("{issuer}/api");
    let app = spawn_app_with(
        backend,
        &[
            ("CALENTO_OIDC_ISSUER", issuer.as_str()),
            ("CALENTO_OIDC_CLIENT_ID", CLIENT_ID),
            ("CALENTO_OIDC_CLIENT_SECRET", SECRET),
            ("CALENTO_OIDC_LABEL", "Test ID"),
            ("CALENTO_GITHUB_CLIENT_ID", CLIENT_ID),
            ("CALENTO_GITHUB_CLIENT_SECRET", SECRET),
            ("CALENTO_GITHUB_URL", issuer.as_str()),
            ("CALENTO_GITHUB_API_URL", api.as_str()),
        ],
    )
    .await;
    (app, idp)
}

/// GET of an absolute URL (the provider), without cookies: `(status, Location)`.
async fn visit(url: &str) -> (u16, String) {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = client.get(url.parse().expect("url")).await.expect("provider answers");
    let status = response.status().as_u16();
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let _ = response.into_body().collect().await;
    (status, location)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// The path and query of an absolute URL on the app.
fn local(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or_else(|| "/".to_owned(), |i| rest[i..].to_owned())
}

/// Starts a sign-in: the provider's authorization URL.
async fn start(browser: &Browser<'_>, provider: &str, query: &str) -> String {
    let reply = browser.get(&format!("/auth/oidc/{provider}/start{query}")).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    reply.header("location").expect("to the provider").to_owned()
}

/// The provider signs `email` in (with `extra` parameters) and sends the browser back:
/// the callback path on the app.
async fn at_provider(authorize: &str, email: &str, extra: &str) -> String {
    let (status, location) = visit(&format!("{authorize}&email={email}&verified=1{extra}")).await;
    assert_eq!(status, 303, "the provider redirects back");
    local(&location)
}

/// A whole sign-in; the app's final redirect.
async fn sign_in(browser: &Browser<'_>, provider: &str, email: &str, extra: &str) -> String {
    let authorize = start(browser, provider, "?next=/tasks").await;
    let callback = at_provider(&authorize, email, extra).await;
    let reply = browser.get(&callback).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    reply.header("location").expect("somewhere").to_owned()
}

fn message_of(location: &str) -> String {
    let err = query_param(location, "err").unwrap_or_default();
    let decoded = percent_decode(&err);
    serde_json::from_str::<Value>(&decoded)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or(decoded)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn me(browser: &Browser<'_>) -> (u16, Value) {
    let reply = browser.get("/api/v1/me").await;
    let json = if reply.status == 200 { reply.json() } else { Value::Null };
    (reply.status, json)
}

async fn a_new_person_signs_in_with_pkce_and_gets_an_account(backend: Backend) {
    let (app, _idp) = setup(backend).await;
    // The login page offers the providers.
    let providers = app.browser().call("sign_in_providers", &[]).await.json();
    assert_eq!(providers, serde_json::json!([{"id": "github", "label": "GitHub"}, {"id": "oidc", "label": "Test ID"}]));

    let browser = app.browser();
    let authorize = start(&browser, "oidc", "?next=/tasks").await;
    assert_eq!(query_param(&authorize, "code_challenge_method").as_deref(), Some("S256"));
    assert!(query_param(&authorize, "code_challenge").is_some_and(|c| c.len() >= 43));
    assert!(query_param(&authorize, "state").is_some_and(|s| s.len() >= 16));
    assert!(query_param(&authorize, "nonce").is_some_and(|n| n.len() >= 32));
    assert!(query_param(&authorize, "scope").is_some_and(|s| s.contains("openid")));
    let callback = at_provider(&authorize, "new.person@example.org", "&name=New%20Person").await;
    let reply = browser.get(&callback).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.header("location"), Some("/tasks"));
    let (status, profile) = me(&browser).await;
    assert_eq!(status, 200);
    assert_eq!(profile["email"], "new.person@example.org");
    assert_eq!(profile["name"], "New Person");
    assert_eq!(profile["email_verified"], true);

    // Coming back later (another browser) finds the same account.
    let again = app.browser();
    assert_eq!(sign_in(&again, "oidc", "new.person@example.org", "").await, "/tasks");
    assert_eq!(me(&again).await.1["id"], profile["id"]);
    // The account has no password; its security page lists the provider.
    let security = again.call("load_security", &[]).await.json();
    assert_eq!(security["has_password"], false);
    assert_eq!(security["providers"][0]["label"], "Test ID");
    let log = again.call("my_audit_log", &[]).await.json().to_string();
    for event in ["registered", "provider_linked", "sign_in"] {
        assert!(log.contains(event), "{event}: {log}");
    }
    assert!(!log.contains(SECRET));
}

async fn wrong_state_replayed_code_bad_nonce_and_expired_tokens_are_refused(backend: Backend) {
    let (app, _idp) = setup(backend).await;
    let refused = |location: &str| location.starts_with("/login?err=");
    // The instance's administrator (the first account) reads the failures at the end.
    let admin = app.browser();
    admin.register("admin-oidc@example.org", "Admin").await;

    // A wrong state.
    let browser = app.browser();
    let authorize = start(&browser, "oidc", "").await;
    let callback = at_provider(&authorize, "eve@example.org", "").await;
    let state = query_param(&callback, "state").expect("state");
    let forged = callback.replace(&format!("state={state}"), "state=forged-state");
    let reply = browser.get(&forged).await;
    assert!(refused(reply.header("location").unwrap_or_default()), "{:?}", reply.header("location"));
    assert_eq!(me(&browser).await.0, 401);
    // The pending sign-in was used up by that attempt: the right state now fails too.
    let reply = browser.get(&callback).await;
    assert!(refused(reply.header("location").unwrap_or_default()));

    // A replayed code: the first use signs in, the second (with a fresh state) is refused.
    let first = app.browser();
    let authorize = start(&first, "oidc", "").await;
    let callback = at_provider(&authorize, "rita@example.org", "").await;
    assert_eq!(first.get(&callback).await.header("location"), Some("/calendar"));
    let second = app.browser();
    let authorize = start(&second, "oidc", "").await;
    let fresh_state = query_param(&authorize, "state").expect("state");
    let old_code = query_param(&callback, "code").expect("code");
    let replay = format!("/auth/oidc/oidc/callback?code={old_code}&state={fresh_state}");
    let reply = second.get(&replay).await;
    assert!(refused(reply.header("location").unwrap_or_default()));
    assert_eq!(me(&second).await.0, 401);

    // ID tokens the provider spoils: each one refused, nobody signed in.
    for tamper in ["nonce", "expired", "audience", "issuer", "signature"] {
        let browser = app.browser();
        let location = sign_in(&browser, "oidc", "mallory@example.org", &format!("&tamper={tamper}")).await;
        assert!(refused(&location), "{tamper}: {location}");
        assert!(message_of(&location).contains("did not work"), "{tamper}: {}", message_of(&location));
        assert_eq!(me(&browser).await.0, 401, "{tamper}");
    }
    // The person says no at the provider.
    let browser = app.browser();
    let authorize = start(&browser, "oidc", "").await;
    let (_, back) = visit(&format!("{authorize}&deny=1")).await;
    let reply = browser.get(&local(&back)).await;
    assert!(message_of(reply.header("location").unwrap_or_default()).contains("access_denied"));

    // A callback nobody started, junk parameters, unknown providers: clear 4xx or a
    // redirect to the login page with a message, never a 5xx.
    let stranger = app.browser();
    for path in [
        "/auth/oidc/oidc/callback".to_owned(),
        "/auth/oidc/oidc/callback?code=x&state=y".to_owned(),
        format!("/auth/oidc/oidc/callback?code={}&state=%00", "c".repeat(5000)),
        "/auth/oidc/oidc/callback?error=%3Cscript%3E".to_owned(),
    ] {
        let reply = stranger.get(&path).await;
        assert_eq!(reply.status, 303, "{path}");
        assert!(refused(reply.header("location").unwrap_or_default()));
    }
    for path in ["/auth/oidc/nope/start", "/auth/oidc/nope/callback?code=x&state=y", "/auth/oidc/%2e%2e/start"] {
        let reply = stranger.get(path).await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
    }
    // Failed sign-ins are in the audit log (the admin's view: no account to attach them to).
    let log = admin.call("admin_audit_log", &[("event_name", "sign_in_failed")]).await.body;
    for reason in ["state mismatch", "wrong nonce", "expired", "wrong audience", "wrong issuer", "bad signature"] {
        assert!(log.contains(reason), "{reason}: {log}");
    }
}

async fn an_existing_account_links_only_after_its_password_or_from_settings(backend: Backend) {
    let (app, _idp) = setup(backend).await;
    let owner = app.browser();
    assert_eq!(owner.register("owner@example.org", "Owner").await.status, 200);
    let owner_id = me(&owner).await.1["id"].clone();

    // Someone signs in with a provider that says (verified) owner@example.org: no access
    // until the account's password is given in that browser.
    let visitor = app.browser();
    let location = sign_in(&visitor, "oidc", "owner@example.org", "").await;
    assert!(message_of(&location).contains("Log in with its password"), "{location}");
    assert_eq!(me(&visitor).await.0, 401);
    assert_eq!(visitor.login("owner@example.org", "correct horse battery").await.status, 200);
    let security = visitor.call("load_security", &[]).await.json();
    assert_eq!(security["providers"].as_array().map(Vec::len), Some(1), "{security}");
    // From now on the provider alone signs in to that account.
    let later = app.browser();
    assert_eq!(sign_in(&later, "oidc", "owner@example.org", "").await, "/tasks");
    assert_eq!(me(&later).await.1["id"], owner_id);

    // An unverified matching email never links.
    let other = app.browser();
    assert_eq!(other.register("unverified@example.org", "U").await.status, 200);
    let sneaky = app.browser();
    let authorize = start(&sneaky, "oidc", "").await;
    let (_, back) = visit(&format!("{authorize}&email=unverified@example.org&verified=0")).await;
    let reply = sneaky.get(&local(&back)).await;
    assert!(message_of(reply.header("location").unwrap_or_default()).contains("already uses"));
    assert_eq!(me(&sneaky).await.0, 401);

    // Linking from Settings → Security: any provider identity, for the signed-in account.
    let authorize = start(&other, "oidc", "?intent=link").await;
    let callback = at_provider(&authorize, "someone.else@example.org", "").await;
    assert_eq!(other.get(&callback).await.header("location"), Some("/settings/security?linked=1"));
    let fresh = app.browser();
    sign_in(&fresh, "oidc", "someone.else@example.org", "").await;
    assert_eq!(me(&fresh).await.1["email"], "unverified@example.org");
    // That identity cannot be linked to a second account.
    let authorize = start(&owner, "oidc", "?intent=link").await;
    let callback = at_provider(&authorize, "someone.else@example.org", "").await;
    let location = owner.get(&callback).await.header("location").unwrap_or_default().to_owned();
    assert!(message_of(&location).contains("already linked"), "{location}");
    // Linking needs a signed-in session.
    let anonymous = app.browser();
    let reply = anonymous.get("/auth/oidc/oidc/start?intent=link").await;
    assert!(reply.header("location").is_some_and(|l| l.starts_with("/login")));
}

async fn the_last_way_in_cannot_be_unlinked(backend: Backend) {
    let (app, _idp) = setup(backend).await;
    let browser = app.browser();
    sign_in(&browser, "oidc", "only.provider@example.org", "").await;
    let security = browser.call("load_security", &[]).await.json();
    let id = security["providers"][0]["id"].as_str().expect("linked").to_owned();
    let refused = browser.call("unlink_provider", &[("id", &id)]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.json()["message"].as_str().expect("message").contains("Set a password"));
    // A fresh sign-in lets a provider-only account set a password without a current one.
    let set =
        browser.call("change_password", &[("current_password", ""), ("new_password", "a password at last")]).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(browser.call("unlink_provider", &[("id", &id)]).await.status, 200);
    assert_eq!(app.browser().login("only.provider@example.org", "a password at last").await.status, 200);
    // A stranger cannot unlink someone else's provider.
    let other = app.browser();
    sign_in(&other, "oidc", "second@example.org", "").await;
    let theirs = other.call("load_security", &[]).await.json()["providers"][0]["id"].as_str().expect("id").to_owned();
    assert_eq!(browser.call("unlink_provider", &[("id", &theirs)]).await.status, 404);
}

async fn registration_modes_and_disabled_accounts_apply_to_provider_sign_ins(backend: Backend) {
    let (app, _idp) = setup(backend).await;
    let admin = app.browser();
    assert_eq!(admin.register("boss@example.org", "Boss").await.status, 200);
    admin.call("admin_set_registration", &[("mode", "closed")]).await;
    let browser = app.browser();
    let location = sign_in(&browser, "oidc", "newcomer@example.org", "").await;
    assert!(message_of(&location).contains("closed"), "{location}");
    assert_eq!(me(&browser).await.0, 401);

    admin.call("admin_set_registration", &[("mode", "invite_only")]).await;
    let location = sign_in(&browser, "oidc", "newcomer@example.org", "").await;
    assert!(message_of(&location).contains("invitation"), "{location}");
    let invite = admin.call("admin_create_invite", &[]).await.json();
    let secret = invite["link"].as_str().expect("link").split("invite=").nth(1).expect("secret").to_owned();
    let authorize = start(&browser, "oidc", &format!("?invite={secret}")).await;
    let callback = at_provider(&authorize, "newcomer@example.org", "").await;
    assert_eq!(browser.get(&callback).await.header("location"), Some("/calendar"));
    let (status, profile) = me(&browser).await;
    assert_eq!(status, 200);
    assert_eq!(profile["is_admin"], false);

    // A disabled account cannot come in through its provider either.
    let users = admin.call("load_admin", &[("query", "newcomer")]).await.json();
    let id = users["users"][0]["id"].as_str().expect("id").to_owned();
    admin.call("admin_user_action", &[("user_id", &id), ("action", "disable")]).await;
    let again = app.browser();
    let location = sign_in(&again, "oidc", "newcomer@example.org", "").await;
    assert!(message_of(&location).contains("disabled"), "{location}");
    assert_eq!(me(&again).await.0, 401);
}

async fn github_sign_in_uses_its_user_api(backend: Backend) {
    let (app, _idp) = setup(backend).await;
    let browser = app.browser();
    let authorize = start(&browser, "github", "").await;
    assert!(authorize.contains("/login/oauth/authorize?"), "{authorize}");
    assert_eq!(query_param(&authorize, "code_challenge_method").as_deref(), Some("S256"));
    assert!(query_param(&authorize, "nonce").is_none(), "OAuth only: no nonce");
    let callback = at_provider(&authorize, "octo@example.org", "&name=Octo%20Cat").await;
    assert_eq!(browser.get(&callback).await.header("location"), Some("/calendar"));
    let (status, profile) = me(&browser).await;
    assert_eq!(status, 200);
    assert_eq!(profile["email"], "octo@example.org");
    assert_eq!(profile["name"], "Octo Cat");
    let security = browser.call("load_security", &[]).await.json();
    assert_eq!(security["providers"][0]["provider"], "github");
}
