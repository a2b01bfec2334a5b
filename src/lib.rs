//! Calento's domain core: the rules of time, accounts and identifiers, free of I/O and UI.
//!
//! Everything here is pure and deterministic so it can be tested exhaustively, fuzzed,
//! benchmarked and compiled to WebAssembly for the browser.

pub mod account;
pub mod archive;
pub mod availability;
pub mod breakdown;
pub mod calendar_file;
pub mod calendar_view;
pub mod capture;
pub mod clock;
pub mod event;
pub mod focus;
pub mod ics;
pub mod id;
pub mod motivation;
pub mod notify;
pub mod planner;
pub mod recurrence;
pub mod scope;
pub mod sync;
pub mod task;
pub mod task_csv;
pub mod zone;

pub use account::{ClockFormat, DisplayName, EmailAddress, Password, TokenName, Username, WeekStart};
pub use zone::TimeZoneName;

/// One rejected field of user input: which field, and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
