//! Google Calendar two-way sync (issue 18): connecting an account (OAuth 2.0 with PKCE,
//! offline access, the calendar scope), the API client (through the guarded outbound
//! client; tokens sealed at rest and refreshed before they expire), and the sync jobs.
//!
//! - `connect`: `GET /connections/google/start` and `…/callback`, and the push channel's
//!   notification address `POST /connections/google/notify`.
//! - `sync`: pulling (full listing, then `syncToken`; 410 starts over without duplicates),
//!   pushing Calento's changes (ids chosen by Calento, `If-Match`, 412 → merge), and the
//!   conflict policy of `calento::sync`.
//! - `convert`: Google's JSON to and from Calento's events.

pub mod connect;
pub mod convert;
pub mod sync;

use std::time::Duration;

use http::{Method, Request, header};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{ClientId, ClientSecret, RefreshToken, TokenResponse, TokenUrl};
use serde_json::Value;

use app::ssr::connections::{self, ConnectionRow, Grant, Listed};
use app::ssr::{Db, now_ms};

use crate::outbound::{Limits, Outbound};
use crate::secrets::SecretBox;

pub const AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const REVOKE_URL: &str = "https://oauth2.googleapis.com/revoke";
pub const CALENDAR_URL: &str = "https://www.googleapis.com/calendar/v3";
/// See, edit, share and delete the calendars (events.watch and calendarList need it).
pub const SCOPE: &str = "https://www.googleapis.com/auth/calendar";
/// Access tokens are refreshed when they have less than this left.
const REFRESH_BEFORE_MS: i64 = 5 * 60_000;
const REFRESH_PURPOSE: &str = "google-refresh";
const ACCESS_PURPOSE: &str = "google-access";
const USER_AGENT: &str = concat!("Calento/", env!("CARGO_PKG_VERSION"), " (calendar sync)");

/// Google's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub auth: String,
    pub token: String,
    pub revoke: String,
    pub calendar: String,
}

/// What a call to Google can end in, besides success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The grant was revoked or expired (`invalid_grant`): the person must connect again.
    #[error("Google refused the grant: {0}")]
    Revoked(String),
    /// 429, or 403 `rateLimitExceeded`/`userRateLimitExceeded`: back off.
    #[error("Google asked to slow down")]
    RateLimited(Option<Duration>),
    /// 410: the sync token is no longer valid (or the item is gone).
    #[error("Google answered 410 Gone")]
    Gone,
    /// 412: the item changed since the etag we sent.
    #[error("the event changed at Google since it was last read (412)")]
    PreconditionFailed,
    #[error("Google has no such item (404)")]
    NotFound,
    /// 409: an item with that id exists.
    #[error("Google already has an item with that id (409)")]
    Duplicate,
    #[error("Google answered {0}: {1}")]
    Status(u16, String),
    #[error("{0}")]
    Transport(String),
    /// The instance cannot open or seal tokens (no or another CALENTO_SECRET_KEY).
    #[error("{0}")]
    Setup(String),
}

/// Google as this instance speaks to it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Google {
    pub endpoints: Endpoints,
    pub client_id: String,
    client_secret: Option<String>,
    pub secrets: Option<SecretBox>,
    client: Outbound,
    /// How often a synced calendar is polled.
    pub poll_every_ms: i64,
    /// `CALENTO_PUBLIC_URL` (push channels need a public https address) and the address
    /// for links in emails.
    pub public_url: Option<String>,
    pub base_url: String,
}

impl Google {
    /// Google sync when the instance has a Google OAuth client (`CALENTO_GOOGLE_CLIENT_ID`).
    pub fn from_config(config: &crate::Config) -> Option<Self> {
        let provider = config.sign_in_providers.iter().find(|p| p.id == "google")?;
        let limits = Limits {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_bytes: 32 << 20,
            redirects: 0,
        };
        Some(Self {
            endpoints: config.google_endpoints.clone(),
            client_id: provider.client_id.clone(),
            client_secret: provider.client_secret.clone(),
            secrets: config.secrets.clone(),
            client: config.outbound().with_limits(limits),
            poll_every_ms: i64::try_from(config.google_poll_secs).unwrap_or(120).saturating_mul(1000),
            public_url: config.public_url.clone(),
            base_url: config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.addr)),
        })
    }

    fn secrets(&self) -> Result<&SecretBox, ApiError> {
        self.secrets
            .as_ref()
            .ok_or_else(|| ApiError::Setup("CALENTO_SECRET_KEY is not set: connected accounts cannot be used".into()))
    }

    /// Seals a fresh grant's tokens for storage.
    pub fn grant(
        &self,
        account: &str,
        access: &str,
        refresh: Option<&str>,
        expires_in: Option<Duration>,
        scopes: &str,
    ) -> Result<Grant, ApiError> {
        let secrets = self.secrets()?;
        Ok(Grant {
            provider: "google".into(),
            external_id: None,
            account: account.to_owned(),
            refresh_secret: refresh.map(|r| secrets.seal(REFRESH_PURPOSE, r)),
            access_secret: secrets.seal(ACCESS_PURPOSE, access),
            access_expires_at: now_ms() + expires_ms(expires_in),
            scopes: scopes.to_owned(),
        })
    }

    /// An access token for the connection: the stored one while it has more than five
    /// minutes left, else a refreshed one. A refused refresh marks the connection
    /// "reconnect" and tells the person ([`connections::needs_reconnect`]).
    pub async fn access_token(&self, db: &Db, connection: &ConnectionRow) -> Result<String, ApiError> {
        let secrets = self.secrets()?;
        if connection.status != "ok" {
            return Err(ApiError::Revoked(connection.status_reason.clone().unwrap_or_else(|| "reconnect".into())));
        }
        if let (Some(sealed), Some(expires)) = (&connection.access_secret, connection.access_expires_at)
            && expires - REFRESH_BEFORE_MS > now_ms()
            && let Ok(token) = secrets.open(ACCESS_PURPOSE, sealed)
        {
            return Ok(token);
        }
        let Some(refresh) = connection.refresh_secret.as_deref().and_then(|s| secrets.open(REFRESH_PURPOSE, s).ok())
        else {
            let reason = "no refresh token is stored (or CALENTO_SECRET_KEY changed)";
            self.revoked(db, connection, reason).await;
            return Err(ApiError::Revoked(reason.into()));
        };
        let token_url = TokenUrl::new(self.endpoints.token.clone()).map_err(|e| ApiError::Setup(e.to_string()))?;
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone())).set_token_uri(token_url);
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        let answer = client.exchange_refresh_token(&RefreshToken::new(refresh)).request_async(&self.client).await;
        match answer {
            Ok(token) => {
                let access = token.access_token().secret().clone();
                let expires_at = now_ms() + expires_ms(token.expires_in());
                if let Err(error) =
                    connections::store_access(db, &connection.id, &secrets.seal(ACCESS_PURPOSE, &access), expires_at)
                        .await
                {
                    tracing::warn!(%error, "storing a refreshed Google token");
                }
                Ok(access)
            }
            Err(oauth2::RequestTokenError::ServerResponse(response))
                if matches!(
                    response.error(),
                    BasicErrorResponseType::InvalidGrant | BasicErrorResponseType::UnauthorizedClient
                ) =>
            {
                let reason = response
                    .error_description()
                    .cloned()
                    .unwrap_or_else(|| "the refresh token was revoked or expired".into());
                self.revoked(db, connection, &reason).await;
                Err(ApiError::Revoked(reason))
            }
            Err(oauth2::RequestTokenError::ServerResponse(response)) => {
                Err(ApiError::Status(400, format!("refreshing the token: {}", response.error())))
            }
            Err(other) => Err(ApiError::Transport(format!("refreshing the token: {other}"))),
        }
    }

    async fn revoked(&self, db: &Db, connection: &ConnectionRow, reason: &str) {
        tracing::warn!(connection = %connection.id, %reason, "Google refused the grant");
        if let Err(error) = connections::needs_reconnect(db, connection, reason, &self.base_url).await {
            tracing::error!(%error, "recording a refused Google grant");
        }
    }

    /// One call to the Calendar API (`path` under its base, with its query); the answer's
    /// JSON (`Null` for 204).
    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Value, ApiError> {
        let url = format!("{}{path_and_query}", self.endpoints.calendar);
        let mut builder = Request::builder()
            .method(method)
            .uri(&url)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, USER_AGENT);
        if let Some(etag) = if_match {
            builder = builder.header(header::IF_MATCH, etag);
        }
        let (status, retry_after, json) = send_json(&self.client, builder, body, "Google").await?;
        let reason = json["error"]["errors"][0]["reason"].as_str().unwrap_or_default().to_owned();
        let message = json["error"]["message"].as_str().unwrap_or_default().chars().take(200).collect::<String>();
        match status {
            200..=299 => Ok(json),
            429 => Err(ApiError::RateLimited(retry_after)),
            403 if reason.contains("RateLimitExceeded") || reason.contains("rateLimitExceeded") => {
                Err(ApiError::RateLimited(retry_after))
            }
            410 => Err(ApiError::Gone),
            412 => Err(ApiError::PreconditionFailed),
            404 => Err(ApiError::NotFound),
            409 => Err(ApiError::Duplicate),
            _ => Err(ApiError::Status(status, if message.is_empty() { reason } else { message })),
        }
    }

    /// The account's calendars.
    pub async fn calendar_list(&self, token: &str) -> Result<Vec<Listed>, ApiError> {
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut path = "/users/me/calendarList?maxResults=250".to_owned();
            if let Some(p) = &page {
                path.push_str(&format!("&pageToken={}", app::components::percent_encode(p)));
            }
            let answer = self.call(token, Method::GET, &path, None, None).await?;
            for item in answer["items"].as_array().into_iter().flatten() {
                let Some(id) = item["id"].as_str() else { continue };
                out.push(Listed {
                    remote_id: id.to_owned(),
                    name: item["summaryOverride"].as_str().or(item["summary"].as_str()).unwrap_or(id).to_owned(),
                    color: item["backgroundColor"].as_str().map(str::to_owned),
                    time_zone: item["timeZone"].as_str().map(str::to_owned),
                    primary: item["primary"].as_bool().unwrap_or(false),
                });
            }
            match answer["nextPageToken"].as_str() {
                Some(next) => page = Some(next.to_owned()),
                None => return Ok(out),
            }
        }
    }

    /// Revokes a disconnected account's grant at Google (its sealed refresh token).
    pub async fn revoke(&self, sealed: &str) -> Result<(), String> {
        let secrets = self.secrets().map_err(|e| e.to_string())?;
        let Ok(token) = secrets.open(REFRESH_PURPOSE, sealed) else {
            // Nothing usable to revoke (another key): the grant expires unused at Google.
            return Ok(());
        };
        let body = format!("token={}", app::components::percent_encode(&token));
        let request = Request::post(&self.endpoints.revoke)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.into_bytes());
        let request = request.map_err(|e| e.to_string())?;
        let response = self.client.send(request).await.map_err(|e| format!("revoking a Google grant: {e}"))?;
        // 400 means Google no longer knows the token: revoked already.
        if response.status().is_success() || response.status().as_u16() == 400 {
            Ok(())
        } else {
            Err(format!("revoking a Google grant: Google answered {}", response.status()))
        }
    }
}

/// Sends a request with an optional JSON body through the guarded client: its status, its
/// `Retry-After` (seconds) and its JSON (`Null` when empty or not JSON). Google's and
/// Notion's clients both speak through it.
pub(crate) async fn send_json(
    client: &Outbound,
    mut builder: http::request::Builder,
    body: Option<&Value>,
    service: &str,
) -> Result<(u16, Option<Duration>, Value), ApiError> {
    let bytes = match body {
        Some(body) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            serde_json::to_vec(body).unwrap_or_default()
        }
        None => Vec::new(),
    };
    let request = builder.body(bytes).map_err(|e| ApiError::Transport(e.to_string()))?;
    let response = client.send(request).await.map_err(|e| ApiError::Transport(format!("{service}: {e}")))?;
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let json = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    Ok((response.status().as_u16(), retry_after, json))
}

fn expires_ms(expires_in: Option<Duration>) -> i64 {
    expires_in.map_or(3_600_000, |d| i64::try_from(d.as_millis()).unwrap_or(3_600_000))
}

/// The job handlers of connected accounts' sync (Google and Notion).
pub fn register(
    handlers: app::ssr::jobs::Handlers,
    google: Option<Google>,
    notion: crate::notion::Notion,
) -> app::ssr::jobs::Handlers {
    let revoker = google.clone();
    sync::register(handlers, sync::Services { google, notion }).add(connections::REVOKE_JOB, move |_db, payload| {
        let google = revoker.clone();
        async move {
            match (google, payload["provider"].as_str(), payload["sealed"].as_str()) {
                (Some(google), Some("google"), Some(sealed)) => google.revoke(sealed).await,
                // Notion's internal tokens are revoked in Notion's integration settings.
                _ => Ok(()),
            }
        }
    })
}
