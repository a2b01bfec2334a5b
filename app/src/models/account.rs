//! Accounts: the signed-in person, tokens, sessions, apps, the audit log, sign-in
//! providers, the instance's administration, the theme, and the email outbox.

use calento::{ClockFormat, WeekStart};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The signed-in person, as `GET /api/v1/me` and the settings page show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserProfile {
    pub id: String,
    pub email: String,
    pub username: String,
    pub name: String,
    pub time_zone: String,
    pub week_start: WeekStart,
    pub clock: ClockFormat,
    /// An administrator of this instance.
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub email_verified: bool,
}

/// A personal access token as listed: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Space-separated scopes, e.g. `calendar:read tasks:write`.
    #[serde(default)]
    pub scopes: String,
}

/// What Settings → Calendar apps shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CalendarAppsInfo {
    /// The address apps are given (`CALENTO_PUBLIC_URL`, else the listening address).
    pub server_url: String,
    /// What apps take as the user name.
    pub login: String,
    /// App passwords that still work, newest first.
    pub passwords: Vec<TokenInfo>,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

/// One security event, as the audit log lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    pub user_id: Option<String>,
    /// The account's email (admins' view), when the account still exists.
    pub user_email: Option<String>,
    /// Done by an administrator rather than the account's owner.
    pub by_admin: bool,
    pub event: String,
    pub detail: String,
    pub ip: String,
    pub user_agent: String,
    pub at: DateTime<Utc>,
}

/// A signed-in browser session, as the sessions list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// A handle for revoking it (not the session's secret).
    pub id: String,
    /// "Firefox on Linux", from the browser's User-Agent.
    pub device: String,
    pub ip: String,
    pub signed_in_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The session this request came in.
    pub current: bool,
}

/// An app signed in with `POST /api/v1/auth/token`: one family of rotating tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AppGrantInfo {
    pub id: String,
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What `POST /api/v1/auth/token` and `/auth/refresh` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub scope: String,
}

/// The account's security page: what it can sign in with and where it is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SecurityOverview {
    pub email: String,
    pub email_verified: bool,
    pub has_password: bool,
    pub sessions: Vec<SessionInfo>,
    pub apps: Vec<AppGrantInfo>,
    pub providers: Vec<LinkedProvider>,
    /// Providers this instance offers that the account has not linked.
    pub available_providers: Vec<ProviderInfo>,
}

/// A sign-in provider linked to the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LinkedProvider {
    pub id: String,
    pub provider: String,
    pub label: String,
    pub email: String,
    pub linked_at: DateTime<Utc>,
}

/// A sign-in provider this instance offers ("Sign in with …").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderInfo {
    pub id: String,
    pub label: String,
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    #[default]
    Open,
    InviteOnly,
    Closed,
}

impl RegistrationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InviteOnly => "invite_only",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "open" => Some(Self::Open),
            "invite_only" | "invite-only" | "invite" => Some(Self::InviteOnly),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// An account as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub username: String,
    pub name: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
}

/// An invite link (invite-only registration); the secret is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InviteInfo {
    pub id: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    /// Only when just created: the path to send, `/register?invite=…`.
    pub link: Option<String>,
}

/// Light, dark, or whatever the system prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const COOKIE: &'static str = "calento_theme";

    pub fn parse(input: &str) -> Self {
        match input {
            "light" => Self::Light,
            "dark" => Self::Dark,
            _ => Self::System,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    /// The next theme when the toggle is pressed.
    pub fn next(self) -> Self {
        match self {
            Self::System => Self::Light,
            Self::Light => Self::Dark,
            Self::Dark => Self::System,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::System => "Theme: system",
            Self::Light => "Theme: light",
            Self::Dark => "Theme: dark",
        }
    }

    /// Reads the theme from a `Cookie` header value.
    pub fn from_cookie_header(header: &str) -> Self {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == Self::COOKIE)
            .map(|(_, value)| Self::parse(value))
            .unwrap_or_default()
    }
}

/// A background job as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminJob {
    pub id: String,
    pub kind: String,
    /// queued, running, done or dead; a queued job with attempts behind it failed and waits.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The newest scheduled backup (`CALENTO_BACKUP_DIR`), as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BackupRun {
    pub finished_at: DateTime<Utc>,
    pub ok: bool,
    /// The archive's file, when it was written.
    pub archive: Option<String>,
    pub bytes: Option<i64>,
    pub error: Option<String>,
}

/// The admin page's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminOverview {
    pub registration_mode: RegistrationMode,
    pub users: Vec<AdminUser>,
    pub invites: Vec<InviteInfo>,
    /// Jobs waiting for their first run.
    pub pending_jobs: usize,
    /// Jobs that failed and wait for another attempt.
    pub failed_jobs: usize,
    pub dead_jobs: usize,
    /// Failed and dead jobs, newest first.
    pub problem_jobs: Vec<AdminJob>,
    /// The newest scheduled backup, if any ran.
    pub last_backup: Option<BackupRun>,
}

/// "Firefox on Linux" from a User-Agent; "Unknown device" when it says nothing we know.
pub fn short_agent(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("HeadlessChrome") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        ""
    };
    let system = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        ""
    };
    match (browser, system) {
        ("", "") => "Unknown device".to_owned(),
        (b, "") => b.to_owned(),
        ("", s) => format!("A browser on {s}"),
        (b, s) => format!("{b} on {s}"),
    }
}

/// One email as the outbox page and `GET /api/v1/outbox` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OutboxEmail {
    pub id: String,
    pub booking_id: Option<String>,
    /// What it is about, e.g. `booking_confirmation`, `booking_cancelled`.
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    /// `pending` (not sent yet, or no SMTP server configured), `sent` or `failed`.
    pub status: String,
    /// The last delivery error, if any.
    pub error: Option<String>,
    pub text_body: String,
    /// Whether it carries an invitation (`.ics`).
    pub has_invitation: bool,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// A pending email's delivery: tries made so far, and when the next one is due.
    #[serde(default)]
    pub attempts: i64,
    #[serde(default)]
    pub next_try: Option<DateTime<Utc>>,
}

/// What the guided setup (/welcome) shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WelcomeData {
    pub profile: UserProfile,
    /// The default schedule's hours (its first range) and days (1 = Monday … 7 = Sunday).
    pub work_start: String,
    pub work_end: String,
    pub work_days: Vec<u8>,
    /// How many calendars the person has, and the subscribed ones' names.
    pub calendars: usize,
    pub subscriptions: Vec<String>,
    /// Booking links: title and public path.
    pub links: Vec<(String, String)>,
    pub open_tasks: i64,
}

/// Settings → Notifications: the preferences, this account's push devices, and the
/// server's VAPID public key (base64url) a browser subscribes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NotificationSettings {
    pub preferences: calento::notify::Preferences,
    pub devices: Vec<PushDevice>,
    pub vapid_public_key: String,
}

/// A browser that receives push notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushDevice {
    pub id: String,
    pub label: String,
    /// The push service's host (fcm.googleapis.com, updates.push.services.mozilla.com, …).
    pub service: String,
    /// A short fingerprint of the endpoint, so a browser can find its own entry.
    pub endpoint_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}
