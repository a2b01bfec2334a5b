//! What a valid account is made of: email, password, display name, username and preferences.
//!
//! Each type can only be built through `parse`, so invalid input cannot travel past the
//! boundary where it arrived.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::zone::truncate;

/// An email address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let email = input.trim().to_lowercase();
        let invalid = || FieldError::new("email", "Enter an email address like name@example.com.");
        if email.is_empty() {
            return Err(FieldError::new("email", "Enter your email address."));
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new("email", "An email address has at most 254 characters."));
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok { Ok(Self(email)) } else { Err(invalid()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed: long enough to resist guessing, short enough to hash cheaply.
/// Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let chars = input.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::new("password", format!("Use at least {} characters.", Self::MIN_CHARS)));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new("password", format!("Use at most {} characters.", Self::MAX_CHARS)));
        }
        if input.trim().is_empty() {
            return Err(FieldError::new("password", "A password cannot be only spaces."));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// The name shown to other people, e.g. on booking pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "Enter your name."));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new("name", "A name has at most 100 characters."));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new("name", "A name cannot contain control characters."));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The public handle in booking links (`/{username}/{slug}`): lower-case letters, digits,
/// `-` and `_`, 3 to 32 characters, starting with a letter or digit, not a reserved path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

/// First path segments the app itself uses, which no username may take.
const RESERVED_USERNAMES: &[&str] = &[
    "about",
    "account",
    "admin",
    "api",
    "app",
    "assets",
    "auth",
    "availability",
    "booking",
    "booking-links",
    "bookings",
    "calendar",
    "calento",
    "dashboard",
    "favicon.ico",
    "feeds",
    "focus",
    "forgot-password",
    "health",
    "help",
    "login",
    "logout",
    "metrics",
    "onboarding",
    "oauth",
    "outbox",
    "plan",
    "pkg",
    "public",
    "register",
    "reset-password",
    "root",
    "security",
    "settings",
    "signup",
    "static",
    "stats",
    "support",
    "system",
    "tasks",
    "templates",
    "today",
    "tokens",
    "www",
];

impl Username {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 32;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let name = input.trim().to_lowercase();
        if name.len() < Self::MIN_CHARS || name.len() > Self::MAX_CHARS {
            return Err(FieldError::new("username", "A username has 3 to 32 characters."));
        }
        if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
            return Err(FieldError::new(
                "username",
                format!(
                    "\u{201c}{}\u{201d}: use only letters a\u{2013}z, digits, - and _.",
                    truncate(input.trim(), 40)
                ),
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new("username", "A username starts with a letter or a digit."));
        }
        if RESERVED_USERNAMES.contains(&name.as_str()) {
            return Err(FieldError::new("username", format!("\u{201c}{name}\u{201d} is reserved; choose another.")));
        }
        Ok(Self(name))
    }

    /// A valid username derived from an email's local part: `Jane.Doe+cal@x.org` → `jane-doe-cal`.
    pub fn suggest_from_email(email: &EmailAddress) -> Self {
        let mut name = String::new();
        for c in email.local_part().chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                name.push(c);
            } else if !name.is_empty() && !name.ends_with('-') {
                name.push('-');
            }
        }
        let mut name: String = name.trim_matches('-').chars().take(Self::MAX_CHARS).collect();
        name = name.trim_end_matches('-').to_owned();
        while name.len() < Self::MIN_CHARS || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            name.insert_str(0, "user");
            name.truncate(Self::MAX_CHARS);
        }
        if RESERVED_USERNAMES.contains(&name.as_str()) {
            name.push_str("-1");
        }
        Self(name)
    }

    /// The `n`th alternative when the suggestion is taken: `jane` → `jane-2`, `jane-3`, …
    pub fn with_suffix(&self, n: u32) -> Self {
        let suffix = format!("-{n}");
        let keep = Self::MAX_CHARS - suffix.len();
        let base: String = self.0.chars().take(keep).collect();
        Self(format!("{base}{suffix}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The label a person gives a personal access token ("CLI on my laptop").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "Give the token a name, such as \u{201c}CLI on my laptop\u{201d}."));
        }
        if name.chars().count() > Self::MAX_CHARS || name.chars().any(char::is_control) {
            return Err(FieldError::new("name", "A token name has at most 100 printable characters."));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first day of the week in calendar views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WeekStart {
    #[default]
    Monday,
    Sunday,
    Saturday,
}

impl WeekStart {
    pub const ALL: [Self; 3] = [Self::Monday, Self::Sunday, Self::Saturday];

    /// The first day of the week.
    pub fn weekday(self) -> chrono::Weekday {
        match self {
            Self::Monday => chrono::Weekday::Mon,
            Self::Sunday => chrono::Weekday::Sun,
            Self::Saturday => chrono::Weekday::Sat,
        }
    }

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        match input.trim().to_lowercase().as_str() {
            "monday" => Ok(Self::Monday),
            "sunday" => Ok(Self::Sunday),
            "saturday" => Ok(Self::Saturday),
            _ => Err(FieldError::new("week_start", "The week starts on monday, sunday or saturday.")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monday => "monday",
            Self::Sunday => "sunday",
            Self::Saturday => "saturday",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Monday => "Monday",
            Self::Sunday => "Sunday",
            Self::Saturday => "Saturday",
        }
    }
}

/// 24-hour (`14:30`) or 12-hour (`2:30 PM`) times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ClockFormat {
    #[default]
    #[serde(rename = "24h")]
    H24,
    #[serde(rename = "12h")]
    H12,
}

impl ClockFormat {
    pub const ALL: [Self; 2] = [Self::H24, Self::H12];

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        match input.trim().to_lowercase().as_str() {
            "24h" | "24" => Ok(Self::H24),
            "12h" | "12" => Ok(Self::H12),
            _ => Err(FieldError::new("clock", "The clock is 24h or 12h.")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::H24 => "24h",
            Self::H12 => "12h",
        }
    }

    /// A time of day on this clock, as emails and lists write it: `14:30` or `2:30 PM`.
    pub fn time_text(self, time: chrono::NaiveTime) -> String {
        match self {
            Self::H24 => time.format("%H:%M").to_string(),
            Self::H12 => time.format("%-I:%M %p").to_string(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::H24 => "24-hour (14:30)",
            Self::H12 => "12-hour (2:30 PM)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = EmailAddress::parse("  Jane.Doe@Example.ORG ").expect("valid");
        assert_eq!(email.as_str(), "jane.doe@example.org");
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.org",
            "jane@example",
            "jane doe@example.org",
            "jane@@example.org",
            "jane@exa mple.org",
            "jane@-example.org",
            "jane..doe@example.org",
            ".jane@example.org",
            "jane@example..org",
        ] {
            let err = EmailAddress::parse(bad).expect_err(bad);
            assert_eq!(err.field, "email", "{bad}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.org", "a".repeat(300))).is_err());
    }

    #[test]
    fn passwords_need_ten_characters_counted_as_people_count_them() {
        assert!(Password::parse("123456789").is_err());
        assert!(Password::parse("1234567890").is_ok());
        // Ten characters, more than ten bytes.
        assert!(Password::parse("ééééééééé").is_err());
        assert!(Password::parse("éééééééééé").is_ok());
        assert!(Password::parse("          ").is_err());
        assert!(Password::parse(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn password_debug_output_hides_the_secret() {
        let password = Password::parse("correct horse battery").expect("valid");
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada  ").map(|n| n.as_str().to_owned()), Ok("Ada".to_owned()));
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"a".repeat(101)).is_err());
        assert!(DisplayName::parse("bad\u{0007}name").is_err());
    }

    #[test]
    fn usernames_are_url_safe_and_not_reserved() {
        assert_eq!(Username::parse("Jane_Doe-2").map(|u| u.as_str().to_owned()), Ok("jane_doe-2".to_owned()));
        for bad in ["ab", "jane doe", "jane/doe", "-jane", "api", "login", "héllo", &"a".repeat(33)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_are_suggested_from_the_email() {
        let suggest =
            |e: &str| Username::suggest_from_email(&EmailAddress::parse(e).expect("valid")).as_str().to_owned();
        assert_eq!(suggest("Jane.Doe+cal@example.org"), "jane-doe-cal");
        assert_eq!(suggest("jo@example.org"), "userjo");
        assert_eq!(suggest("admin@example.org"), "admin-1");
        assert_eq!(suggest("é@example.org"), "user");
    }

    #[test]
    fn taken_usernames_get_numbered_alternatives_within_the_length_limit() {
        let long = Username::parse(&"a".repeat(32)).expect("valid");
        let alt = long.with_suffix(12);
        assert_eq!(alt.as_str().len(), 32);
        assert!(alt.as_str().ends_with("-12"));
        assert!(Username::parse(alt.as_str()).is_ok());
    }

    #[test]
    fn preferences_round_trip_through_their_names() {
        for w in WeekStart::ALL {
            assert_eq!(WeekStart::parse(w.as_str()), Ok(w));
        }
        for c in ClockFormat::ALL {
            assert_eq!(ClockFormat::parse(c.as_str()), Ok(c));
        }
        assert!(WeekStart::parse("tuesday").is_err());
        assert!(ClockFormat::parse("36h").is_err());
    }

    proptest! {
        #[test]
        fn every_email_suggests_a_username_that_parses(local in "[A-Za-z0-9._+-]{1,64}") {
            if let Ok(email) = EmailAddress::parse(&format!("{local}@example.org")) {
                let suggestion = Username::suggest_from_email(&email);
                prop_assert!(Username::parse(suggestion.as_str()).is_ok(), "{}", suggestion);
                for n in [2u32, 10, 999] {
                    prop_assert!(Username::parse(suggestion.with_suffix(n).as_str()).is_ok());
                }
            }
        }

        #[test]
        fn parsers_never_panic_on_any_input(input in "\\PC{0,300}") {
            let _ = EmailAddress::parse(&input);
            let _ = Password::parse(&input);
            let _ = DisplayName::parse(&input);
            let _ = Username::parse(&input);
            let _ = crate::TimeZoneName::parse(&input);
        }
    }
}
