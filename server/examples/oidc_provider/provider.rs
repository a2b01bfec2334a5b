//! A small OpenID Connect provider for tests: discovery, JWKS, the authorization endpoint
//! (a sign-in form, or an immediate answer when the test names the person), and the
//! token endpoint (PKCE S256 checked, codes single-use, ID tokens signed with ES256).
//! It also speaks GitHub's dialect (`/login/oauth/…` and `/api/user…`).
//!
//! Misbehaviour on request, for the tests of what Calento refuses: `tamper=nonce`,
//! `expired`, `audience`, `issuer` or `signature` on the authorization request changes the
//! ID token that code buys; `deny=1` answers `access_denied`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

#[derive(Clone, Debug)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: String,
    subject: String,
    email: String,
    name: String,
    verified: bool,
    tamper: String,
    used: bool,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: String,
    key: EcdsaKeyPair,
    other_key: EcdsaKeyPair,
    grants: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, Grant>>,
}

/// A running provider's handle: its issuer URL.
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

fn key_pair() -> EcdsaKeyPair {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("generate a key");
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("load the key")
}

fn random() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 24];
    SystemRandom::new().fill(&mut bytes).expect("random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Provider {
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Serves on `listener` until the process ends.
    pub async fn serve(listener: tokio::net::TcpListener, client_id: &str, client_secret: &str) -> Provider {
        let addr = listener.local_addr().expect("address");
        let inner = Arc::new(Inner {
            issuer: format!("http://{addr}"),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            key: key_pair(),
            other_key: key_pair(),
            grants: Mutex::default(),
            tokens: Mutex::default(),
        });
        let provider = Provider { inner: inner.clone() };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(token))
            .route("/api/user", get(github_user))
            .route("/api/user/emails", get(github_emails))
            .with_state(inner);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        provider
    }
}

async fn discovery(State(p): State<Arc<Inner>>) -> Json<Value> {
    let base = &p.issuer;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(p): State<Arc<Inner>>) -> Json<Value> {
    let public = p.key.public_key().as_ref();
    Json(json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "test-key",
        "x": URL_SAFE_NO_PAD.encode(&public[1..33]), "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
    }]}))
}

fn bad(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, message.to_owned()).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn authorize(State(p): State<Arc<Inner>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != p.client_id {
        return bad("unknown client_id");
    }
    if get("response_type") != "code" {
        return bad("response_type must be code");
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        return bad("PKCE with S256 is required");
    }
    let redirect_uri = get("redirect_uri");
    if !redirect_uri.starts_with("http://") && !redirect_uri.starts_with("https://") {
        return bad("redirect_uri must be an absolute URL");
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let state = get("state");
    if get("deny") == "1" {
        let to = format!("{redirect_uri}{separator}error=access_denied&state={}", urlencode(&state));
        return (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    }
    let email = get("email");
    if email.is_empty() {
        // The sign-in page a person sees: every parameter carried through the form.
        let hidden: String = q
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "email" | "name" | "verified"))
            .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)))
            .collect();
        return Html(format!(
            "<!doctype html><html><head><title>Test provider</title></head><body><h1>Test provider: sign in</h1>\
             <form method=\"get\" action=\"/authorize\">{hidden}\
             <label>Email <input name=\"email\" type=\"email\"></label>\
             <label>Name <input name=\"name\"></label>\
             <label><input type=\"checkbox\" name=\"verified\" value=\"1\" checked> Email verified</label>\
             <button type=\"submit\">Continue</button></form></body></html>"
        ))
        .into_response();
    }
    let code = random();
    let grant = Grant {
        client_id: get("client_id"),
        redirect_uri: redirect_uri.clone(),
        challenge: get("code_challenge"),
        nonce: get("nonce"),
        subject: format!("sub-{}", email.to_lowercase()),
        name: if get("name").is_empty() { "Test Person".to_owned() } else { get("name") },
        email,
        verified: get("verified") == "1" || get("verified") == "true",
        tamper: get("tamper"),
        used: false,
    };
    p.grants.lock().expect("grants").insert(code.clone(), grant);
    let to = format!("{redirect_uri}{separator}code={}&state={}", urlencode(&code), urlencode(&state));
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
}

fn sign(key: &EcdsaKeyPair, claims: &Value) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "test-key"});
    let signed =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let sig = key.sign(&SystemRandom::new(), signed.as_bytes()).expect("sign");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

async fn token(State(p): State<Arc<Inner>>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    // Client authentication: HTTP Basic (what oauth2 sends) or the form's fields.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    let (client_id, secret) = match basic.as_deref().and_then(|b| b.split_once(':')) {
        // RFC 6749 §2.3.1: both are form-urlencoded before the Basic encoding.
        Some((id, secret)) => (form_decode(id), form_decode(secret)),
        None => (get("client_id"), get("client_secret")),
    };
    if client_id != p.client_id || (!p.client_secret.is_empty() && secret != p.client_secret) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"}))).into_response();
    }
    if get("grant_type") != "authorization_code" {
        return token_error("unsupported_grant_type");
    }
    let grant = {
        let mut grants = p.grants.lock().expect("grants");
        match grants.get_mut(&get("code")) {
            // A code is good once: a replay is refused.
            Some(grant) if !grant.used => {
                grant.used = true;
                grant.clone()
            }
            _ => return token_error("invalid_grant"),
        }
    };
    if grant.client_id != client_id || grant.redirect_uri != get("redirect_uri") {
        return token_error("invalid_grant");
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, get("code_verifier").as_bytes());
    if URL_SAFE_NO_PAD.encode(digest.as_ref()) != grant.challenge {
        return token_error("invalid_grant");
    }
    let access = random();
    p.tokens.lock().expect("tokens").insert(access.clone(), grant.clone());
    let now = now();
    let mut claims = json!({
        "iss": p.issuer, "aud": p.client_id, "sub": grant.subject, "email": grant.email,
        "email_verified": grant.verified, "name": grant.name, "nonce": grant.nonce,
        "iat": now, "exp": now + 300,
    });
    let mut key = &p.key;
    match grant.tamper.as_str() {
        "nonce" => claims["nonce"] = json!("not-the-nonce"),
        "expired" => {
            claims["iat"] = json!(now - 4000);
            claims["exp"] = json!(now - 3600);
        }
        "audience" => claims["aud"] = json!("someone-else"),
        "issuer" => claims["iss"] = json!("https://evil.example"),
        "signature" => key = &p.other_key,
        _ => {}
    }
    Json(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": 300,
        "id_token": sign(key, &claims), "scope": "openid email profile",
    }))
    .into_response()
}

fn bearer_grant(p: &Inner, headers: &HeaderMap) -> Option<Grant> {
    let token = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")?;
    p.tokens.lock().ok()?.get(token).cloned()
}

async fn github_user(State(p): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    match bearer_grant(&p, &headers) {
        Some(grant) => {
            let id: i64 = grant.subject.bytes().fold(7i64, |acc, b| (acc * 31 + i64::from(b)) % 1_000_000_007);
            Json(json!({"id": id, "login": grant.email.split('@').next(), "name": grant.name})).into_response()
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn github_emails(State(p): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    match bearer_grant(&p, &headers) {
        Some(grant) => {
            Json(json!([{"email": grant.email, "primary": true, "verified": grant.verified}])).into_response()
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}
