//! IANA time zone names as users choose them, validated against the tz database.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;

use crate::FieldError;

/// A time zone name known to the IANA database, such as `Europe/Paris` or `UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZoneName(Tz);

impl TimeZoneName {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new("time_zone", "Choose a time zone."));
        }
        Tz::from_str(trimmed).map(Self).map_err(|_| {
            FieldError::new(
                "time_zone",
                format!(
                    "\u{201c}{}\u{201d} is not a known time zone (for example Europe/Paris).",
                    truncate(trimmed, 64)
                ),
            )
        })
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }

    /// Every zone name in the database, for pickers.
    pub fn all() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }
}

impl Default for TimeZoneName {
    fn default() -> Self {
        Self(Tz::UTC)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cuts user input for quoting in a message without splitting a character.
pub(crate) fn truncate(input: &str, max_chars: usize) -> String {
    match input.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}\u{2026}", &input[..at]),
        None => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones_are_accepted_and_keep_their_canonical_name() {
        assert_eq!(TimeZoneName::parse("Europe/Paris").map(|z| z.as_str()), Ok("Europe/Paris"));
        assert_eq!(TimeZoneName::parse(" America/New_York ").map(|z| z.as_str()), Ok("America/New_York"));
        assert_eq!(TimeZoneName::parse("UTC").map(|z| z.as_str()), Ok("UTC"));
    }

    #[test]
    fn unknown_or_empty_zones_are_rejected_with_a_message_naming_the_field() {
        for bad in ["", "   ", "Mars/Olympus", "Europe/Pariss", "+02:00"] {
            let err = TimeZoneName::parse(bad).expect_err(bad);
            assert_eq!(err.field, "time_zone");
        }
    }

    #[test]
    fn long_garbage_is_quoted_shortly() {
        let long = "x".repeat(10_000);
        let err = TimeZoneName::parse(&long).expect_err("too long");
        assert!(err.message.chars().count() < 200, "{}", err.message);
    }

    #[test]
    fn the_picker_lists_hundreds_of_zones() {
        assert!(TimeZoneName::all().count() > 400);
        assert!(TimeZoneName::all().any(|z| z == "Australia/Sydney"));
    }
}
