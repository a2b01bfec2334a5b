//! Settings from environment variables (and an optional file of `KEY=VALUE` lines named by
//! `CALENTO_CONFIG`), validated at start-up with a one-line error naming the bad setting.

use std::collections::HashMap;
use std::net::SocketAddr;

use app::ssr::LoginLimits;
use app::ssr::rate_limit::{Limit, RateLimits};

use crate::oidc::{Kind, ProviderConfig};
use crate::outbound::{Allowlist, Outbound};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: String,
    pub db_max_connections: u32,
    pub public_url: Option<String>,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
    pub session_days: u32,
    pub login_limits: LoginLimits,
    pub trust_proxy: bool,
    pub site_root: String,
    pub shutdown_grace_secs: u64,
    /// Requests served at once and how long one may take, per class (pages, API, public
    /// booking, imports): beyond either, 503 with Retry-After.
    pub load: crate::ops::LoadLimits,
    /// Days the change feed keeps changes (older cursors answer 410).
    pub changes_retention_days: u32,
    /// How long a background job's claim lasts without its worker's heartbeat (a job of a
    /// process that died is taken over after this).
    pub job_lease_secs: u64,
    /// Scheduled backups: the folder (none: off), hours between them, how many are kept.
    pub backups: Option<crate::backup::Schedule>,
    /// Request budgets; 0 turns one off.
    pub rate_limits: app::ssr::rate_limit::RateLimits,
    /// The SMTP server emails are sent through; none means emails stay in the outbox.
    pub smtp_url: Option<String>,
    /// An OpenAI-compatible endpoint for micro-step suggestions, its model and key.
    pub llm_url: Option<String>,
    pub llm_model: String,
    pub llm_api_key: Option<String>,
    pub smtp_from: String,
    /// Sign-in providers (OpenID Connect, GitHub), in the order their buttons show.
    pub sign_in_providers: Vec<crate::oidc::ProviderConfig>,
    /// Host names and address blocks outbound calls may reach although they are private.
    pub outbound_allow: Allowlist,
    /// `CALENTO_SECRET_KEY`: seals connected accounts' tokens at rest (its `Debug` shows
    /// nothing of the key).
    pub secrets: Option<crate::secrets::SecretBox>,
    /// Google Calendar's endpoints (Google's own unless a test or proxy names others).
    pub google_endpoints: crate::google::Endpoints,
    /// How often a synced Google calendar or Notion database is polled.
    pub google_poll_secs: u64,
    /// Notion's API (Notion's own unless a test or proxy names another).
    pub notion_api_url: String,
    /// A Notion public integration (OAuth): its client id and secret.
    pub notion_client: Option<(String, String)>,
}

/// One setting: its variable, default and meaning. The README's table is this list.
pub struct Setting {
    pub var: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

pub const SETTINGS: &[Setting] = &[
    Setting { var: "CALENTO_ADDR", default: "127.0.0.1:3000", meaning: "Address and port to listen on." },
    Setting {
        var: "DATABASE_URL",
        default: "sqlite://data/calento.db",
        meaning: "sqlite:… file (created on first run) or postgres://… URL.",
    },
    Setting { var: "CALENTO_DB_MAX_CONNECTIONS", default: "10", meaning: "Largest database pool." },
    Setting {
        var: "CALENTO_PUBLIC_URL",
        default: "(unset)",
        meaning: "The URL people use, e.g. https://cal.example.org; https makes cookies Secure and __Host- prefixed.",
    },
    Setting {
        var: "CALENTO_LOG",
        default: "info",
        meaning: "Log filter (tracing EnvFilter syntax, e.g. info,sqlx=warn).",
    },
    Setting {
        var: "CALENTO_LOG_FORMAT",
        default: "pretty",
        meaning: "pretty (for people) or json (for log collectors).",
    },
    Setting {
        var: "CALENTO_MAX_BODY_BYTES",
        default: "1048576",
        meaning: "Largest request body; larger requests get 413.",
    },
    Setting {
        var: "CALENTO_MAX_IMPORT_BYTES",
        default: "20971520",
        meaning: "Largest iCalendar file accepted by an import (larger ones get 413) or fetched for a subscription.",
    },
    Setting {
        var: "CALENTO_SESSION_DAYS",
        default: "30",
        meaning: "Days of inactivity after which a browser session ends.",
    },
    Setting {
        var: "CALENTO_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        default: "5",
        meaning: "Failed logins on one account within the window before it pauses (429).",
    },
    Setting {
        var: "CALENTO_LOGIN_MAX_FAILURES_PER_IP",
        default: "20",
        meaning: "Failed logins from one address within the window before it pauses (429).",
    },
    Setting { var: "CALENTO_LOGIN_WINDOW_SECS", default: "900", meaning: "The window for the two limits above." },
    Setting {
        var: "CALENTO_TRUST_PROXY",
        default: "false",
        meaning: "Take the client address from X-Forwarded-For (only behind your own reverse proxy).",
    },
    Setting {
        var: "CALENTO_SITE_ROOT",
        default: "target/site",
        meaning: "Folder with the built pkg/ (JS, WASM, CSS) and public files.",
    },
    Setting {
        var: "CALENTO_MAX_IN_FLIGHT",
        default: "64,128,128,2",
        meaning: "Requests served at once per class: pages, API (with CalDAV and server functions), public booking, imports. Past it a request gets 503 with Retry-After at once; nothing queues without bound. Health checks, static files and live-update streams are not counted.",
    },
    Setting {
        var: "CALENTO_REQUEST_TIMEOUT_SECS",
        default: "30,60,15,300",
        meaning: "How long a request of each class (same order) may take before it is answered 503 with Retry-After (what it was doing is rolled back).",
    },
    Setting {
        var: "CALENTO_JOB_LEASE_SECS",
        default: "60",
        meaning: "How long a background job (an email, a reminder, a sync) stays claimed by a worker that stopped renewing it: a job of a process that died is taken over after this.",
    },
    Setting {
        var: "CALENTO_BACKUP_DIR",
        default: "(unset)",
        meaning: "A folder for scheduled backups (the archive `calento-server backup` writes, and on SQLite a checked copy); unset: no scheduled backups.",
    },
    Setting { var: "CALENTO_BACKUP_EVERY_HOURS", default: "24", meaning: "Hours between scheduled backups." },
    Setting {
        var: "CALENTO_BACKUP_KEEP",
        default: "7",
        meaning: "Scheduled backups kept in CALENTO_BACKUP_DIR; older ones are deleted after each new one.",
    },
    Setting {
        var: "CALENTO_SHUTDOWN_GRACE_SECS",
        default: "10",
        meaning: "Seconds to finish requests in flight after SIGTERM.",
    },
    Setting {
        var: "CALENTO_CHANGES_RETENTION_DAYS",
        default: "30",
        meaning: "Days the change feed (/api/v1/changes) keeps changes; a client whose cursor is older must read \
                  everything again (410 cursor_expired).",
    },
    Setting {
        var: "CALENTO_PUBLIC_RATE_PER_MINUTE",
        default: "300",
        meaning: "Requests per minute one client address may make to the public booking pages and API (then 429; 0: no limit).",
    },
    Setting {
        var: "CALENTO_API_RATE_PER_MINUTE",
        default: "600",
        meaning: "Requests per minute to the REST API per token (or signed-in user); then 429.",
    },
    Setting {
        var: "CALENTO_REGISTER_RATE_PER_HOUR",
        default: "10",
        meaning: "New accounts per hour from one client address.",
    },
    Setting {
        var: "CALENTO_RESET_RATE_PER_HOUR",
        default: "5",
        meaning: "Password-reset emails per hour, per client address and per account.",
    },
    Setting {
        var: "CALENTO_TOKEN_RATE_PER_MINUTE",
        default: "30",
        meaning: "Sign-ins and refreshes per minute on /api/v1/auth/token and /auth/refresh, per client address.",
    },
    Setting {
        var: "CALENTO_SMTP_URL",
        default: "(unset)",
        meaning: "SMTP server for emails: smtp://host:port, smtp://user:pass@host:587?tls=starttls or \
                  smtps://user:pass@host:465. Unset: emails are not sent but listed in Settings → Outbox.",
    },
    Setting {
        var: "CALENTO_SMTP_FROM",
        default: "Calento <calento@localhost>",
        meaning: "The From address of the emails Calento sends.",
    },
    Setting {
        var: "CALENTO_LLM_URL",
        default: "(unset)",
        meaning: "An OpenAI-compatible API (e.g. http://127.0.0.1:8080/v1) for “split into micro-steps”. Unset: \
                  rule-based suggestions only.",
    },
    Setting { var: "CALENTO_LLM_MODEL", default: "gpt-4o-mini", meaning: "The model asked for micro-steps." },
    Setting {
        var: "CALENTO_LLM_API_KEY",
        default: "(unset)",
        meaning: "Sent as a bearer token to CALENTO_LLM_URL (never logged).",
    },
    Setting {
        var: "CALENTO_OIDC_ISSUER",
        default: "(unset)",
        meaning: "Sign-in with any OpenID Connect provider: its issuer URL (its discovery document is read from \
                  {issuer}/.well-known/openid-configuration). Needs CALENTO_OIDC_CLIENT_ID.",
    },
    Setting {
        var: "CALENTO_OIDC_CLIENT_ID",
        default: "(unset)",
        meaning: "The client id Calento has at that provider.",
    },
    Setting {
        var: "CALENTO_OIDC_CLIENT_SECRET",
        default: "(unset)",
        meaning: "Its client secret (unset for a public client: PKCE is always used); never logged.",
    },
    Setting {
        var: "CALENTO_OIDC_LABEL", default: "Single sign-on", meaning: "The button's name: “Sign in with …”."
    },
    Setting {
        var: "CALENTO_GOOGLE_CLIENT_ID",
        default: "(unset)",
        meaning: "Sign-in with Google (OpenID Connect) and Google Calendar sync with this OAuth client id; with \
                  CALENTO_GOOGLE_CLIENT_SECRET.",
    },
    Setting { var: "CALENTO_GOOGLE_CLIENT_SECRET", default: "(unset)", meaning: "Google's client secret." },
    Setting {
        var: "CALENTO_SECRET_KEY",
        default: "(unset)",
        meaning: "At least 32 characters (e.g. `openssl rand -base64 32`): seals the tokens of connected accounts \
                  (Google) at rest. Needed to connect accounts; start-up refuses to run without it once one is \
                  connected. Never logged; keep it with your backups, apart from the database.",
    },
    Setting {
        var: "CALENTO_GOOGLE_SYNC_SECONDS",
        default: "120",
        meaning: "How often each synced Google calendar and Notion database is polled (push channels and \
                  webhooks make it sooner when CALENTO_PUBLIC_URL is a public https address).",
    },
    Setting {
        var: "CALENTO_GOOGLE_OAUTH_URL",
        default: "https://accounts.google.com/o/oauth2/v2/auth",
        meaning: "Google's authorization endpoint (change only for a test server or proxy).",
    },
    Setting {
        var: "CALENTO_GOOGLE_TOKEN_URL",
        default: "https://oauth2.googleapis.com/token",
        meaning: "Google's token endpoint.",
    },
    Setting {
        var: "CALENTO_GOOGLE_REVOKE_URL",
        default: "https://oauth2.googleapis.com/revoke",
        meaning: "Google's token revocation endpoint.",
    },
    Setting {
        var: "CALENTO_GOOGLE_CALENDAR_URL",
        default: "https://www.googleapis.com/calendar/v3",
        meaning: "Google Calendar API's base address.",
    },
    Setting {
        var: "CALENTO_NOTION_CLIENT_ID",
        default: "(unset)",
        meaning: "A Notion public integration's OAuth client id (with CALENTO_NOTION_CLIENT_SECRET): people then \
                  connect Notion by signing in there instead of pasting an integration secret.",
    },
    Setting { var: "CALENTO_NOTION_CLIENT_SECRET", default: "(unset)", meaning: "Its client secret; never logged." },
    Setting {
        var: "CALENTO_NOTION_API_URL",
        default: "https://api.notion.com/v1",
        meaning: "Notion's API (change only for a test server or proxy).",
    },
    Setting {
        var: "CALENTO_MICROSOFT_CLIENT_ID",
        default: "(unset)",
        meaning: "Sign-in with Microsoft (Entra ID, OpenID Connect) with this application id.",
    },
    Setting { var: "CALENTO_MICROSOFT_CLIENT_SECRET", default: "(unset)", meaning: "Microsoft's client secret." },
    Setting {
        var: "CALENTO_MICROSOFT_TENANT",
        default: "common",
        meaning: "The Microsoft tenant: common, organizations, consumers or a tenant id.",
    },
    Setting {
        var: "CALENTO_GITHUB_CLIENT_ID",
        default: "(unset)",
        meaning: "Sign-in with GitHub (OAuth app) with this client id; with CALENTO_GITHUB_CLIENT_SECRET.",
    },
    Setting { var: "CALENTO_GITHUB_CLIENT_SECRET", default: "(unset)", meaning: "GitHub's client secret." },
    Setting {
        var: "CALENTO_GITHUB_URL",
        default: "https://github.com",
        meaning: "GitHub's web address (GitHub Enterprise: your server's).",
    },
    Setting {
        var: "CALENTO_GITHUB_API_URL",
        default: "https://api.github.com",
        meaning: "GitHub's API address (GitHub Enterprise: https://your-server/api/v3).",
    },
    Setting {
        var: "CALENTO_OUTBOUND_ALLOW",
        default: "(unset)",
        meaning: "Host names and address blocks (CIDR) on your own network that Calento may call although they are \
                  private, comma-separated: e.g. nextcloud.lan,192.168.1.0/24,127.0.0.1/32 (a feed, a model, a \
                  sign-in provider on the LAN). Unset: only public addresses.",
    },
    Setting {
        var: "CALENTO_CONFIG",
        default: "(unset)",
        meaning: "Optional file of KEY=VALUE lines read first; environment variables override it.",
    },
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

fn bad(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { setting: setting.to_owned(), message: message.into() }
}

impl Config {
    /// Reads the process environment, after the file named by `CALENTO_CONFIG` if any.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut values = HashMap::new();
        if let Ok(path) = std::env::var("CALENTO_CONFIG") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| bad("CALENTO_CONFIG", format!("cannot read {path}: {e}")))?;
            values.extend(parse_file(&text).map_err(|m| bad("CALENTO_CONFIG", format!("{path}: {m}")))?);
        }
        values.extend(std::env::vars().filter(|(k, _)| SETTINGS.iter().any(|s| s.var == k)));
        Self::from_values(&values)
    }

    /// Builds the configuration from a map of settings; unset ones take their defaults.
    pub fn from_values(values: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |var: &str| values.get(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let number = |var: &str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(text) => match text.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(bad(var, format!("expected a whole number from {min} to {max}, got {text:?}"))),
                },
            }
        };
        let flag = |var: &str| -> Result<bool, ConfigError> {
            match get(var).as_deref() {
                None | Some("false" | "0" | "no") => Ok(false),
                Some("true" | "1" | "yes") => Ok(true),
                Some(other) => Err(bad(var, format!("expected true or false, got {other:?}"))),
            }
        };
        let addr_text = get("CALENTO_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let addr = addr_text.parse::<SocketAddr>().map_err(|_| {
            bad("CALENTO_ADDR", format!("expected host:port such as 127.0.0.1:3000, got {addr_text:?}"))
        })?;
        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/calento.db".to_owned());
        if app::ssr::Backend::of_url(&database_url).is_none() {
            return Err(bad("DATABASE_URL", "expected a sqlite: or postgres:// URL"));
        }
        let public_url = get("CALENTO_PUBLIC_URL");
        if let Some(url) = &public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(bad("CALENTO_PUBLIC_URL", format!("expected an http:// or https:// URL, got {url:?}")));
        }
        let log_format = match get("CALENTO_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(bad("CALENTO_LOG_FORMAT", format!("expected pretty or json, got {other:?}"))),
        };
        let log_filter = get("CALENTO_LOG").unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(bad("CALENTO_LOG", format!("not a log filter: {log_filter:?}")));
        }
        let smtp_url = get("CALENTO_SMTP_URL");
        let smtp_from = get("CALENTO_SMTP_FROM").unwrap_or_else(|| app::ssr::mail::DEFAULT_FROM.to_owned());
        if let Some(url) = &smtp_url {
            app::ssr::mail::Mailer::new(url, app::ssr::mail::DEFAULT_FROM).map_err(|m| bad("CALENTO_SMTP_URL", m))?;
        }
        if let Err(message) = app::ssr::mail::Mailer::new("smtp://localhost", &smtp_from) {
            return Err(bad("CALENTO_SMTP_FROM", message));
        }
        let llm_url = get("CALENTO_LLM_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(url) = &llm_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(bad("CALENTO_LLM_URL", format!("expected an http:// or https:// URL, got {url:?}")));
        }
        let small = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let url_setting = |var: &str, default: &str| -> Result<String, ConfigError> {
            let value = get(var).unwrap_or_else(|| default.to_owned());
            if value.starts_with("https://") || value.starts_with("http://") {
                Ok(value.trim_end_matches('/').to_owned())
            } else {
                Err(bad(var, format!("expected an http:// or https:// URL, got {value:?}")))
            }
        };
        let mut sign_in_providers = Vec::new();
        let mut provider = |id: &str, label: String, kind: Kind, prefix: &str| -> Result<(), ConfigError> {
            let client_id = get(&format!("{prefix}_CLIENT_ID"));
            let client_secret = get(&format!("{prefix}_CLIENT_SECRET"));
            match client_id {
                Some(client_id) => {
                    sign_in_providers.push(ProviderConfig { id: id.to_owned(), label, kind, client_id, client_secret });
                    Ok(())
                }
                None if client_secret.is_some() => {
                    Err(bad(&format!("{prefix}_CLIENT_ID"), "a client secret is set but no client id"))
                }
                None => Ok(()),
            }
        };
        provider(
            "google",
            "Google".to_owned(),
            Kind::Oidc {
                issuer: "https://accounts.google.com".to_owned(),
                expected_issuer: "https://accounts.google.com".to_owned(),
            },
            "CALENTO_GOOGLE",
        )?;
        let tenant = get("CALENTO_MICROSOFT_TENANT").unwrap_or_else(|| "common".to_owned());
        if !tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
            return Err(bad("CALENTO_MICROSOFT_TENANT", format!("not a tenant name or id: {tenant:?}")));
        }
        let shared_tenant = matches!(tenant.as_str(), "common" | "organizations" | "consumers");
        provider(
            "microsoft",
            "Microsoft".to_owned(),
            Kind::Oidc {
                issuer: format!("https://login.microsoftonline.com/{tenant}/v2.0"),
                expected_issuer: if shared_tenant {
                    "https://login.microsoftonline.com/{tenantid}/v2.0".to_owned()
                } else {
                    format!("https://login.microsoftonline.com/{tenant}/v2.0")
                },
            },
            "CALENTO_MICROSOFT",
        )?;
        let github = Kind::GitHub {
            web: url_setting("CALENTO_GITHUB_URL", "https://github.com")?,
            api: url_setting("CALENTO_GITHUB_API_URL", "https://api.github.com")?,
        };
        provider("github", "GitHub".to_owned(), github, "CALENTO_GITHUB")?;
        if get("CALENTO_OIDC_ISSUER").is_some() || get("CALENTO_OIDC_CLIENT_ID").is_some() {
            let issuer = url_setting("CALENTO_OIDC_ISSUER", "")?;
            if get("CALENTO_OIDC_CLIENT_ID").is_none() {
                return Err(bad("CALENTO_OIDC_CLIENT_ID", "CALENTO_OIDC_ISSUER is set: give its client id too"));
            }
            let label = get("CALENTO_OIDC_LABEL").unwrap_or_else(|| "Single sign-on".to_owned());
            provider("oidc", label, Kind::Oidc { issuer: issuer.clone(), expected_issuer: issuer }, "CALENTO_OIDC")?;
        }
        let secrets = match get("CALENTO_SECRET_KEY") {
            Some(key) => Some(crate::secrets::SecretBox::new(&key).map_err(|m| bad("CALENTO_SECRET_KEY", m))?),
            None => None,
        };
        let google_endpoints = crate::google::Endpoints {
            auth: url_setting("CALENTO_GOOGLE_OAUTH_URL", crate::google::AUTH_URL)?,
            token: url_setting("CALENTO_GOOGLE_TOKEN_URL", crate::google::TOKEN_URL)?,
            revoke: url_setting("CALENTO_GOOGLE_REVOKE_URL", crate::google::REVOKE_URL)?,
            calendar: url_setting("CALENTO_GOOGLE_CALENDAR_URL", crate::google::CALENDAR_URL)?,
        };
        let google_poll_secs = number("CALENTO_GOOGLE_SYNC_SECONDS", 120, 10, 86_400)?;
        let outbound_allow = Allowlist::parse(&get("CALENTO_OUTBOUND_ALLOW").unwrap_or_default())
            .map_err(|m| bad("CALENTO_OUTBOUND_ALLOW", m))?;
        let notion_api_url = url_setting("CALENTO_NOTION_API_URL", crate::notion::API_URL)?;
        let notion_client = match (get("CALENTO_NOTION_CLIENT_ID"), get("CALENTO_NOTION_CLIENT_SECRET")) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad(
                    "CALENTO_NOTION_CLIENT_SECRET",
                    "CALENTO_NOTION_CLIENT_ID is set: give its secret too",
                ));
            }
            (None, Some(_)) => return Err(bad("CALENTO_NOTION_CLIENT_ID", "a client secret is set but no client id")),
        };
        Ok(Self {
            notion_api_url,
            notion_client,
            secrets,
            google_endpoints,
            google_poll_secs,
            outbound_allow,
            llm_url,
            llm_model: get("CALENTO_LLM_MODEL").unwrap_or_else(|| "gpt-4o-mini".to_owned()),
            llm_api_key: get("CALENTO_LLM_API_KEY"),
            addr,
            database_url,
            db_max_connections: small(number("CALENTO_DB_MAX_CONNECTIONS", 10, 1, 1000)?),
            public_url,
            log_filter,
            log_format,
            max_body_bytes: usize::try_from(number("CALENTO_MAX_BODY_BYTES", 1 << 20, 1024, 1 << 30)?)
                .unwrap_or(1 << 20),
            max_import_bytes: usize::try_from(number("CALENTO_MAX_IMPORT_BYTES", 20 << 20, 1024, 1 << 30)?)
                .unwrap_or(20 << 20),
            session_days: small(number("CALENTO_SESSION_DAYS", 30, 1, 3650)?),
            login_limits: LoginLimits {
                per_account: small(number("CALENTO_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5, 1, 1_000_000)?),
                per_ip: small(number("CALENTO_LOGIN_MAX_FAILURES_PER_IP", 20, 1, 1_000_000)?),
                window_secs: small(number("CALENTO_LOGIN_WINDOW_SECS", 900, 1, 86_400 * 30)?),
            },
            trust_proxy: flag("CALENTO_TRUST_PROXY")?,
            site_root: get("CALENTO_SITE_ROOT")
                .or_else(|| get("LEPTOS_SITE_ROOT"))
                .unwrap_or_else(|| "target/site".to_owned()),
            shutdown_grace_secs: number("CALENTO_SHUTDOWN_GRACE_SECS", 10, 0, 3600)?,
            load: {
                let four = |var: &str, default: &str, max: u64| -> Result<[u64; 4], ConfigError> {
                    let text = get(var).unwrap_or_else(|| default.to_owned());
                    let values: Vec<u64> = text.split(',').filter_map(|v| v.trim().parse().ok()).collect();
                    match values.as_slice() {
                        [a, b, c, d] if values.iter().all(|v| (1..=max).contains(v)) => Ok([*a, *b, *c, *d]),
                        _ => Err(bad(
                            var,
                            format!(
                                "expected four whole numbers from 1 to {max} (pages,api,public,imports), got {text:?}"
                            ),
                        )),
                    }
                };
                crate::ops::LoadLimits {
                    in_flight: four("CALENTO_MAX_IN_FLIGHT", "64,128,128,2", 100_000)?,
                    timeout_secs: four("CALENTO_REQUEST_TIMEOUT_SECS", "30,60,15,300", 86_400)?,
                }
            },
            changes_retention_days: small(number("CALENTO_CHANGES_RETENTION_DAYS", 30, 1, 3650)?),
            job_lease_secs: number("CALENTO_JOB_LEASE_SECS", 60, 3, 3600)?,
            backups: {
                let every_hours = number("CALENTO_BACKUP_EVERY_HOURS", 24, 1, 24 * 366)?;
                let keep = number("CALENTO_BACKUP_KEEP", 7, 1, 10_000)?;
                get("CALENTO_BACKUP_DIR").map(|dir| crate::backup::Schedule {
                    dir: dir.into(),
                    every: std::time::Duration::from_secs(every_hours * 3600),
                    keep: usize::try_from(keep).unwrap_or(7),
                })
            },
            rate_limits: RateLimits {
                public: Limit::per_minute(small(number("CALENTO_PUBLIC_RATE_PER_MINUTE", 300, 0, 1_000_000)?)),
                api: Limit::per_minute(small(number("CALENTO_API_RATE_PER_MINUTE", 600, 0, 1_000_000)?)),
                register: Limit::per_hour(small(number("CALENTO_REGISTER_RATE_PER_HOUR", 10, 0, 1_000_000)?)),
                reset: Limit::per_hour(small(number("CALENTO_RESET_RATE_PER_HOUR", 5, 0, 1_000_000)?)),
                token: Limit::per_minute(small(number("CALENTO_TOKEN_RATE_PER_MINUTE", 30, 0, 1_000_000)?)),
            },
            smtp_url,
            smtp_from,
            sign_in_providers,
        })
    }

    /// The mailer when SMTP is configured (checked when the configuration was read).
    pub fn mailer(&self) -> Option<app::ssr::mail::Mailer> {
        let url = self.smtp_url.as_deref()?;
        app::ssr::mail::Mailer::new(url, &self.smtp_from).ok()
    }

    /// The guarded client for calls out of the server, with the operator's allowlist.
    pub fn outbound(&self) -> Outbound {
        Outbound::new(self.outbound_allow.clone())
    }

    /// Cookies are `Secure` (and `__Host-` prefixed) when people reach us over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
    }
}

/// Parses `KEY=VALUE` lines; `#` starts a comment; values may be quoted.
fn parse_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| format!("line {}: expected KEY=VALUE", number + 1))?;
        let key = key.trim().trim_start_matches("export ").trim();
        if !SETTINGS.iter().any(|s| s.var == key) {
            return Err(format!("line {}: unknown setting {key}", number + 1));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_values(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn defaults_run_on_an_embedded_sqlite_file() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url, "sqlite://data/calento.db");
        assert!(!config.secure_cookies());
        assert!(config.mailer().is_none(), "no SMTP unless configured");
    }

    #[test]
    fn smtp_is_configured_by_url() {
        let config = config(&[("CALENTO_SMTP_URL", "smtp://127.0.0.1:2525"), ("CALENTO_SMTP_FROM", "cal@example.org")])
            .expect("valid");
        assert_eq!(config.mailer().expect("mailer").from().to_string(), "cal@example.org");
        let error = super::Config::from_values(
            &[("CALENTO_SMTP_URL".to_owned(), "smtp://me:s3cret@host?tls=maybe".to_owned())].into_iter().collect(),
        );
        assert!(!error.expect_err("bad tls").to_string().contains("s3cret"));
    }

    #[test]
    fn a_bad_setting_is_named_in_a_one_line_error() {
        let err = config(&[("CALENTO_ADDR", "localhost")]).expect_err("bad addr");
        assert_eq!(err.setting, "CALENTO_ADDR");
        assert!(!err.to_string().contains('\n'));
        assert_eq!(config(&[("DATABASE_URL", "mysql://x")]).expect_err("bad url").setting, "DATABASE_URL");
        assert_eq!(config(&[("CALENTO_SESSION_DAYS", "0")]).expect_err("zero").setting, "CALENTO_SESSION_DAYS");
        assert_eq!(config(&[("CALENTO_TRUST_PROXY", "maybe")]).expect_err("flag").setting, "CALENTO_TRUST_PROXY");
        assert_eq!(config(&[("CALENTO_LOG_FORMAT", "xml")]).expect_err("format").setting, "CALENTO_LOG_FORMAT");
        assert_eq!(config(&[("CALENTO_SMTP_URL", "mail.example.org")]).expect_err("smtp").setting, "CALENTO_SMTP_URL");
        assert_eq!(config(&[("CALENTO_SMTP_FROM", "nobody")]).expect_err("from").setting, "CALENTO_SMTP_FROM");
        let allow = config(&[("CALENTO_OUTBOUND_ALLOW", "nextcloud.lan,192.168.1.0/33")]).expect_err("allow");
        assert_eq!(allow.setting, "CALENTO_OUTBOUND_ALLOW");
        assert!(allow.to_string().contains("192.168.1.0/33"), "{allow}");
    }

    #[test]
    fn outbound_calls_reach_only_public_addresses_unless_allowed() {
        assert_eq!(config(&[]).expect("defaults").outbound_allow, Allowlist::default());
        let config = config(&[("CALENTO_OUTBOUND_ALLOW", "nextcloud.lan, 192.168.1.0/24,127.0.0.1/32,fd00::/8")]);
        assert_ne!(config.expect("valid").outbound_allow, Allowlist::default());
    }

    #[test]
    fn https_public_urls_make_cookies_secure() {
        assert!(config(&[("CALENTO_PUBLIC_URL", "https://cal.example.org")]).expect("valid").secure_cookies());
    }

    #[test]
    fn config_files_hold_known_settings_only() {
        let parsed = parse_file("# comment\nCALENTO_ADDR=0.0.0.0:8080\nexport CALENTO_LOG=\"debug\"\n").expect("valid");
        assert_eq!(
            parsed,
            vec![("CALENTO_ADDR".into(), "0.0.0.0:8080".into()), ("CALENTO_LOG".into(), "debug".into())]
        );
        assert!(parse_file("CALENTO_ADRR=1").expect_err("typo").contains("unknown setting CALENTO_ADRR"));
        assert!(parse_file("just words").is_err());
    }
}
