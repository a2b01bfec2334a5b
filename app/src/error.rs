//! `AppError`: the one error type of server functions and the REST API, with a stable
//! machine code, an HTTP status and a message a person can act on. Causes of unexpected
//! errors are logged on the server and never sent to the client.

use calento::FieldError;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    /// Some fields were rejected; each names the field and what to change.
    #[error("{message}")]
    Invalid { message: String, fields: Vec<FieldError> },
    #[error("Sign in to continue.")]
    Unauthorized,
    #[error("Not found.")]
    NotFound,
    /// Signed in, but not allowed: a token without the scope, a request from another
    /// site, a disabled account, a page for administrators.
    #[error("{message}")]
    Forbidden { message: String },
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    /// The chosen booking slot was taken (or closed) since it was offered.
    #[error("{message}")]
    SlotTaken { message: String },
    /// The change conflicts with the current state (say, a schedule still in use).
    #[error("{message}")]
    Conflict { message: String },
    /// The request itself could not be read (malformed body, wrong encoding).
    #[error("{message}")]
    BadRequest { message: String },
    /// A change-feed cursor older than the changes kept: the client must read everything
    /// again (410).
    #[error("{message}")]
    CursorExpired { message: String },
    /// The database cannot be reached right now (stopped, restarting, every connection
    /// busy): try again shortly (503 with Retry-After).
    #[error("The service is briefly unavailable. Please try again in a moment.")]
    Unavailable,
    /// A fault on our side; the details are in the server log under the request id.
    #[error("Something went wrong on our side. Please try again.")]
    Unexpected,
}

impl AppError {
    pub fn field(error: FieldError) -> Self {
        Self::fields(vec![error])
    }

    pub fn fields(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => one.message.clone(),
            _ => "Some fields need attention.".to_owned(),
        };
        Self::Invalid { message, fields }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden { message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest { message: message.into() }
    }

    /// The stable machine-readable code, as in the JSON `code` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "invalid",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::Forbidden { .. } => "forbidden",
            Self::RateLimited { .. } => "rate_limited",
            Self::BadRequest { .. } => "bad_request",
            Self::SlotTaken { .. } => "slot_taken",
            Self::Conflict { .. } => "conflict",
            Self::CursorExpired { .. } => "cursor_expired",
            Self::Unavailable => "unavailable",
            Self::Unexpected => "unexpected",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid { .. } => 422,
            Self::Unauthorized => 401,
            Self::NotFound => 404,
            Self::Forbidden { .. } => 403,
            Self::RateLimited { .. } => 429,
            Self::BadRequest { .. } => 400,
            Self::SlotTaken { .. } | Self::Conflict { .. } => 409,
            Self::CursorExpired { .. } => 410,
            Self::Unavailable => 503,
            Self::Unexpected => 500,
        }
    }

    /// The message for one field, for showing beside that input.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            Self::Invalid { fields, .. } => fields.iter().find(|f| f.field == name).map(|f| f.message.clone()),
            _ => None,
        }
    }
}

impl From<FieldError> for AppError {
    fn from(error: FieldError) -> Self {
        Self::field(error)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                Self::bad_request(format!("The request could not be read: {m}"))
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                Self::bad_request("The server could not be reached. Check your connection and try again.")
            }
            _ => Self::Unexpected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialise_with_a_stable_code() {
        let error = AppError::field(FieldError::new("email", "Enter your email address."));
        let json = serde_json::to_value(&error).expect("serialises");
        assert_eq!(json["code"], "invalid");
        assert_eq!(json["message"], "Enter your email address.");
        assert_eq!(json["fields"][0]["field"], "email");
        let back: AppError = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, error);
        assert_eq!(serde_json::to_value(AppError::Unauthorized).expect("ok")["code"], "unauthorized");
    }
}
