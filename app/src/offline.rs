//! Quick capture without a connection: a capture that cannot reach the server is kept in
//! the browser's `localStorage`, each with an idempotency key made when it was typed, and
//! sent when the connection returns (the `online` event) or the next time a page of the
//! app opens, until the server has it. The server makes each key's tasks once
//! (`capture_keys`), so a capture sent twice (an answer lost on the way back) is not made
//! twice, and nothing typed is lost to a closed tab.

use serde::{Deserialize, Serialize};

/// A capture waiting for the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub key: String,
    pub text: String,
}

/// The `localStorage` item holding the waiting captures (JSON).
pub const STORE: &str = "calento.pending-captures";

/// Whether an error means the server was not reached (so the capture waits), rather than
/// that it refused the text (which the person must see and fix).
pub fn unreachable(error: &crate::AppError) -> bool {
    matches!(error, crate::AppError::BadRequest { message } if message.starts_with("The server could not be reached"))
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{Pending, STORE};

    fn storage() -> Option<web_sys::Storage> {
        leptos::prelude::window().local_storage().ok().flatten()
    }

    pub fn pending() -> Vec<Pending> {
        storage()
            .and_then(|s| s.get_item(STORE).ok().flatten())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    fn save(list: &[Pending]) {
        if let Some(storage) = storage() {
            if list.is_empty() {
                let _ = storage.remove_item(STORE);
            } else if let Ok(text) = serde_json::to_string(list) {
                let _ = storage.set_item(STORE, &text);
            }
        }
    }

    pub fn keep(item: Pending) {
        let mut list = pending();
        if !list.iter().any(|p| p.key == item.key) {
            list.push(item);
        }
        save(&list);
    }

    pub fn forget(key: &str) {
        let mut list = pending();
        list.retain(|p| p.key != key);
        save(&list);
    }

    pub fn offline() -> bool {
        !leptos::prelude::window().navigator().on_line()
    }

    /// A key no other capture of this person will have: the time and two random numbers.
    pub fn new_key() -> String {
        let random = || (js_sys::Math::random() * 1e12) as u64;
        format!("c{:x}-{:x}-{:x}", js_sys::Date::now() as u64, random(), random())
    }
}

#[cfg(feature = "hydrate")]
pub use browser::{forget, keep, new_key, offline, pending};

#[cfg(not(feature = "hydrate"))]
pub fn pending() -> Vec<Pending> {
    Vec::new()
}

#[cfg(not(feature = "hydrate"))]
pub fn keep(_: Pending) {}

#[cfg(not(feature = "hydrate"))]
pub fn forget(_: &str) {}

#[cfg(not(feature = "hydrate"))]
pub fn offline() -> bool {
    false
}

#[cfg(not(feature = "hydrate"))]
pub fn new_key() -> String {
    String::new()
}
