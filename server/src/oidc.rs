//! Sign-in with OAuth 2.0 / OpenID Connect providers: Google, Microsoft and any OIDC
//! provider (by its discovery document), and GitHub (OAuth 2.0 with its user API).
//!
//! The authorization code flow, always with PKCE (S256) and a `state` bound to the
//! browser session; for OIDC also a `nonce`, and the ID token's signature and claims are
//! verified ([`crate::jwt`]). `GET /auth/oidc/{provider}/start` sends the browser to the
//! provider; `GET /auth/oidc/{provider}/callback` finishes: it signs in, links the
//! provider to the signed-in account, asks an existing account's owner for the password
//! once, or creates an account (as the registration mode allows).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, ExtraTokenFields,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use app::AppError;
use app::models::ProviderInfo;
use app::ssr::audit::{self, Origin, event};
use app::ssr::identities::{self, Identity, Outcome, PENDING_LINK_KEY};
use app::ssr::session_store::{USER_ID_KEY, start_signed_in};
use app::ssr::{AppState, now_ms};

use crate::api::ClientOrigin;
use crate::jwt::{self, Jwks};
use crate::outbound::{Limits, Outbound};

/// How long a started sign-in may take before its callback is refused.
const PENDING_SECS: i64 = 10 * 60;
const PENDING_KEY: &str = "oidc_pending";
/// Discovery documents and keys are fetched again after this.
const CACHE_FOR: Duration = Duration::from_secs(3600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RESPONSE: usize = 1 << 20;

/// How a provider is spoken to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// OpenID Connect: endpoints and keys from `{issuer}/.well-known/openid-configuration`.
    /// `expected_issuer` is what ID tokens must say (`{tenantid}` for Microsoft's common one).
    Oidc { issuer: String, expected_issuer: String },
    /// GitHub (OAuth 2.0 only): `web` for authorize and token, `api` for the user.
    GitHub { web: String, api: String },
}

/// One configured provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub id: String,
    pub label: String,
    pub kind: Kind,
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl ProviderConfig {
    pub fn info(&self) -> ProviderInfo {
        ProviderInfo { id: self.id.clone(), label: self.label.clone() }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The providers and the HTTP client that talks to them (an axum extension).
#[derive(Clone)]
pub struct SignIn {
    providers: Arc<Vec<ProviderConfig>>,
    /// `CALENTO_PUBLIC_URL`: the base of the callback address when set.
    public_url: Option<String>,
    /// The guarded client: a discovery document naming an address inside the network gets
    /// nowhere. Without redirects, as OAuth 2.0 token endpoints expect.
    client: Outbound,
    cache: Arc<tokio::sync::Mutex<HashMap<String, (Instant, Discovery, Jwks)>>>,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").field("providers", &self.providers.len()).finish()
    }
}

impl SignIn {
    pub fn new(providers: Vec<ProviderConfig>, public_url: Option<String>, client: Outbound) -> Self {
        let limits =
            Limits { connect_timeout: FETCH_TIMEOUT, timeout: FETCH_TIMEOUT, max_bytes: MAX_RESPONSE, redirects: 0 };
        Self { providers: Arc::new(providers), public_url, client: client.with_limits(limits), cache: Arc::default() }
    }

    pub fn infos(&self) -> Vec<ProviderInfo> {
        self.providers.iter().map(ProviderConfig::info).collect()
    }

    fn provider(&self, id: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.id == id)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str, bearer: Option<&str>) -> Result<T, String> {
        let mut builder =
            http::Request::get(url).header(header::ACCEPT, "application/json").header(header::USER_AGENT, "Calento");
        if let Some(token) = bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = builder.body(Vec::new()).map_err(|e| e.to_string())?;
        let response = self.client.send(request).await.map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        serde_json::from_slice(response.body()).map_err(|e| format!("{url}: {e}"))
    }

    /// The provider's endpoints and keys, from the cache or fetched (`fresh` skips the cache).
    async fn discover(&self, issuer: &str, fresh: bool) -> Result<(Discovery, Jwks), String> {
        let mut cache = self.cache.lock().await;
        if !fresh
            && let Some((at, discovery, jwks)) = cache.get(issuer)
            && at.elapsed() < CACHE_FOR
        {
            return Ok((discovery.clone(), jwks.clone()));
        }
        let base = issuer.trim_end_matches('/');
        let discovery: Discovery = self.get_json(&format!("{base}/.well-known/openid-configuration"), None).await?;
        // The document must be the issuer's own (Microsoft's common endpoint names a template).
        if discovery.issuer.trim_end_matches('/') != base && !discovery.issuer.contains("{tenantid}") {
            return Err(format!("the discovery document names the issuer {}", discovery.issuer));
        }
        let jwks: Jwks = self.get_json(&discovery.jwks_uri, None).await?;
        cache.insert(issuer.to_owned(), (Instant::now(), discovery.clone(), jwks.clone()));
        Ok((discovery, jwks))
    }
}

/// The token response of a provider: OAuth's, plus OIDC's `id_token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenFields {
    #[serde(default)]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenFields {}

type OidcClient = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenFields, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn client(provider: &ProviderConfig, auth: &str, token: &str, redirect: &str) -> Result<OidcClient, String> {
    let mut client = oauth2::Client::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(AuthUrl::new(auth.to_owned()).map_err(|e| e.to_string())?)
        .set_token_uri(TokenUrl::new(token.to_owned()).map_err(|e| e.to_string())?)
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).map_err(|e| e.to_string())?);
    if let Some(secret) = &provider.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(client)
}

/// A started sign-in, kept in the browser's session until its callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
    redirect_uri: String,
    next: String,
    /// The signed-in account to link to (Settings → Security → Link).
    link_to: Option<String>,
    invite: Option<String>,
    started_at: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StartQuery {
    next: Option<String>,
    intent: Option<String>,
    invite: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn random_text() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    // The system's generator does not fail on supported systems; a failure leaves zeros,
    // which the provider's code exchange then refuses (the nonce would not match).
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal without telling, through timing, where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn local_path(next: Option<&str>, default: &str) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') && path.len() < 500 => {
            path.to_owned()
        }
        _ => default.to_owned(),
    }
}

fn redirect(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

/// Back to the login page with the message shown there.
fn fail(error: AppError) -> Response {
    let json = serde_json::to_string(&error).unwrap_or_default();
    redirect(&format!("/login?err={}", app::components::percent_encode(&json)))
}

/// The address the provider sends the browser back to: the configured public URL, else
/// the host the browser used.
fn callback_url(sign_in: &SignIn, state: &AppState, headers: &HeaderMap, provider: &str) -> String {
    let base = match (sign_in.public_url.clone(), headers.get(header::HOST).and_then(|h| h.to_str().ok())) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(host)) if host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) => {
            format!("http://{host}")
        }
        _ => state.public_url.trim_end_matches('/').to_owned(),
    };
    format!("{base}/auth/oidc/{provider}/callback")
}

fn unknown_provider() -> Response {
    AppError::NotFound.into_response()
}

/// `GET /auth/oidc/{provider}/start`: to the provider's sign-in page.
pub async fn start(
    State(state): State<AppState>,
    Extension(sign_in): Extension<SignIn>,
    Path(provider_id): Path<String>,
    Query(query): Query<StartQuery>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let Some(provider) = sign_in.provider(&provider_id) else { return unknown_provider() };
    let link_to = if query.intent.as_deref() == Some("link") {
        match session.get::<String>(USER_ID_KEY).await.ok().flatten() {
            Some(user_id) => Some(user_id),
            None => return redirect("/login?next=/settings/security"),
        }
    } else {
        None
    };
    let (auth_url, token_url, oidc) = match &provider.kind {
        Kind::Oidc { issuer, .. } => match sign_in.discover(issuer, false).await {
            Ok((discovery, _)) => (discovery.authorization_endpoint, discovery.token_endpoint, true),
            Err(error) => {
                tracing::warn!(provider = %provider.id, %error, "OpenID discovery failed");
                return fail(AppError::bad_request(format!(
                    "{} cannot be reached right now. Try again later.",
                    provider.label
                )));
            }
        },
        Kind::GitHub { web, .. } => {
            (format!("{web}/login/oauth/authorize"), format!("{web}/login/oauth/access_token"), false)
        }
    };
    let redirect_uri = callback_url(&sign_in, &state, &headers, &provider.id);
    let client = match client(provider, &auth_url, &token_url, &redirect_uri) {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(provider = %provider.id, %error, "provider endpoints are not URLs");
            return fail(AppError::bad_request(format!("{} is not set up correctly.", provider.label)));
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = random_text();
    let mut request = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge);
    if oidc {
        request = request
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .add_extra_param("nonce", nonce.clone());
    } else {
        request = request.add_scope(Scope::new("read:user".into())).add_scope(Scope::new("user:email".into()));
    }
    let (url, csrf) = request.url();
    let pending = Pending {
        provider: provider.id.clone(),
        state: csrf.secret().clone(),
        nonce,
        verifier: verifier.secret().clone(),
        redirect_uri,
        next: local_path(query.next.as_deref(), if link_to.is_some() { "/settings/security" } else { "/calendar" }),
        link_to,
        invite: query.invite.filter(|i| !i.is_empty() && i.len() < 200),
        started_at: now_ms(),
    };
    if session.insert(PENDING_KEY, &pending).await.is_err() {
        return AppError::Unexpected.into_response();
    }
    redirect(url.as_str())
}

/// What GitHub's user API says (the parts we use).
#[derive(Deserialize)]
struct GitHubUser {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    login: Option<String>,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

/// Exchanges the code and verifies who the provider says signed in.
async fn identify(
    sign_in: &SignIn,
    provider: &ProviderConfig,
    pending: &Pending,
    code: &str,
) -> Result<Identity, String> {
    let (auth_url, token_url, discovered) = match &provider.kind {
        Kind::Oidc { issuer, .. } => {
            let (discovery, jwks) = sign_in.discover(issuer, false).await?;
            (discovery.authorization_endpoint.clone(), discovery.token_endpoint.clone(), Some(jwks))
        }
        Kind::GitHub { web, .. } => {
            (format!("{web}/login/oauth/authorize"), format!("{web}/login/oauth/access_token"), None)
        }
    };
    let client = client(provider, &auth_url, &token_url, &pending.redirect_uri)?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&sign_in.client)
        .await
        .map_err(|e| match e {
            oauth2::RequestTokenError::ServerResponse(r) => format!("the provider refused the code: {}", r.error()),
            other => format!("the code exchange failed: {other}"),
        })?;
    match (&provider.kind, discovered) {
        (Kind::Oidc { issuer, expected_issuer }, Some(jwks)) => {
            let id_token = token.extra_fields().id_token.as_deref().ok_or("no ID token in the answer")?;
            let expect = jwt::Expect {
                issuer: expected_issuer,
                client_id: &provider.client_id,
                nonce: &pending.nonce,
                now_secs: now_ms() / 1000,
            };
            let claims = match jwt::verify(id_token, &jwks, &expect) {
                // Keys rotate: fetch them once more before giving up.
                Err(jwt::JwtError::NoKey) => {
                    let (_, jwks) = sign_in.discover(issuer, true).await?;
                    jwt::verify(id_token, &jwks, &expect)
                }
                other => other,
            }
            .map_err(|e| format!("the ID token was refused: {e}"))?;
            Ok(Identity {
                provider: provider.id.clone(),
                label: provider.label.clone(),
                subject: claims.subject,
                email: claims.email,
                email_verified: claims.email_verified,
                name: claims.name,
            })
        }
        (Kind::GitHub { api, .. }, _) => {
            let access = token.access_token().secret();
            let user: GitHubUser = sign_in.get_json(&format!("{api}/user"), Some(access)).await?;
            let emails: Vec<GitHubEmail> = sign_in.get_json(&format!("{api}/user/emails"), Some(access)).await?;
            let primary =
                emails.iter().find(|e| e.primary && e.verified).or_else(|| emails.iter().find(|e| e.verified));
            Ok(Identity {
                provider: provider.id.clone(),
                label: provider.label.clone(),
                subject: user.id.to_string(),
                email: primary.map(|e| e.email.trim().to_lowercase()),
                email_verified: primary.is_some(),
                name: user.name.or(user.login),
            })
        }
        _ => Err("the provider is not set up correctly".to_owned()),
    }
}

/// `GET /auth/oidc/{provider}/callback`: the provider sends the browser back here.
pub async fn callback(
    State(state): State<AppState>,
    Extension(sign_in): Extension<SignIn>,
    Path(provider_id): Path<String>,
    Query(query): Query<CallbackQuery>,
    ClientOrigin(origin): ClientOrigin,
    session: Session,
) -> Response {
    let Some(provider) = sign_in.provider(&provider_id) else { return unknown_provider() };
    // The pending sign-in is used once, whatever happens next.
    let pending: Option<Pending> = session.remove(PENDING_KEY).await.ok().flatten();
    let refuse = |reason: String, message: String| {
        let state = state.clone();
        let origin: Origin = origin.clone();
        let label = provider.label.clone();
        async move {
            tracing::warn!(provider = %label, %reason, "provider sign-in refused");
            audit::record(&state.db, None, None, event::SIGN_IN_FAILED, &format!("{label}: {reason}"), &origin).await;
            fail(AppError::bad_request(message))
        }
    };
    let again = format!("Signing in with {} did not work. Please start again.", provider.label);
    let Some(pending) = pending.filter(|p| p.provider == provider.id) else {
        return refuse("no sign-in was started in this browser (or it was used already)".into(), again).await;
    };
    if let Some(error) = &query.error {
        let error: String = error.chars().take(60).collect();
        return refuse(
            format!("the provider answered {error}"),
            format!("{} did not sign you in ({error}).", provider.label),
        )
        .await;
    }
    if !query.state.as_deref().is_some_and(|s| same(s, &pending.state)) {
        return refuse("state mismatch".into(), again).await;
    }
    if now_ms() - pending.started_at > PENDING_SECS * 1000 {
        return refuse("the sign-in took too long".into(), again).await;
    }
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty() && c.len() < 2048) else {
        return refuse("no code".into(), again).await;
    };
    let identity = match identify(&sign_in, provider, &pending, code).await {
        Ok(identity) => identity,
        Err(reason) => return refuse(reason, again).await,
    };
    let current: Option<String> = session.get::<String>(USER_ID_KEY).await.ok().flatten();
    let signed_in = match (&pending.link_to, current) {
        (None, _) => None,
        // Linking needs the same account still signed in in this browser.
        (Some(wanted), Some(current)) if *wanted == current => Some(current),
        (Some(_), _) => return refuse("the account to link is no longer signed in".into(), again).await,
    };
    match identities::resolve(&state.db, &identity, signed_in.as_deref(), pending.invite.as_deref(), &origin).await {
        Ok(Outcome::SignedIn(user)) => {
            let how = provider.label.clone();
            if let Err(error) = start_signed_in(&state.db, &session, &user.id, &how, &origin).await {
                return fail(error);
            }
            redirect(&pending.next)
        }
        Ok(Outcome::Linked(_)) => redirect("/settings/security?linked=1"),
        Ok(Outcome::NeedsPassword { email }) => {
            let kept = session.insert(PENDING_LINK_KEY, &identity).await;
            if kept.is_err() {
                return AppError::Unexpected.into_response();
            }
            fail(AppError::bad_request(format!(
                "An account already uses {email}. Log in with its password once to link {} to it.",
                provider.label
            )))
        }
        Err(error) => fail(error),
    }
}
