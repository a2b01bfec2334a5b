//! Secrets at rest: the tokens of connected accounts are sealed with AES-256-GCM under a
//! key derived from `CALENTO_SECRET_KEY`, so a copy of the database (a backup, a stolen
//! disk) holds nothing usable without the configuration.
//!
//! A sealed value is `v1.` + base64url(nonce ‖ ciphertext ‖ tag); the nonce is random per
//! value, and the purpose (e.g. `google-refresh`) is bound as associated data, so a value
//! cannot be moved to another column and still open.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// The shortest `CALENTO_SECRET_KEY` accepted.
pub const MIN_KEY_CHARS: usize = 32;
const PREFIX: &str = "v1.";

/// Seals and opens secrets under the instance's key.
#[derive(Clone)]
pub struct SecretBox {
    key: std::sync::Arc<LessSafeKey>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(…)")
    }
}

/// Opening failed: the value was damaged or sealed under another key or purpose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored secret cannot be opened (damaged, or CALENTO_SECRET_KEY changed)")]
pub struct Unreadable;

impl SecretBox {
    /// The box for `CALENTO_SECRET_KEY` (at least [`MIN_KEY_CHARS`] characters; any text,
    /// e.g. `openssl rand -base64 32`). The AES key is its HKDF-SHA256 expansion.
    pub fn new(secret: &str) -> Result<Self, String> {
        if secret.chars().count() < MIN_KEY_CHARS {
            return Err(format!("must be at least {MIN_KEY_CHARS} characters (try: openssl rand -base64 32)"));
        }
        let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"calento secret key");
        let prk = salt.extract(secret.as_bytes());
        let okm = prk.expand(&[b"aes-256-gcm v1"], &AES_256_GCM).map_err(|_| "key derivation failed".to_owned())?;
        let key = UnboundKey::from(okm);
        Ok(Self { key: std::sync::Arc::new(LessSafeKey::new(key)) })
    }

    /// Seals `plain` for `purpose`.
    pub fn seal(&self, purpose: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        // The system's generator does not fail on supported systems.
        let _ = SystemRandom::new().fill(&mut nonce);
        let mut data = plain.as_bytes().to_vec();
        let sealed = self.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(purpose.as_bytes()),
            &mut data,
        );
        debug_assert!(sealed.is_ok(), "sealing only fails for inputs beyond 64 GiB");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Opens a value sealed for `purpose`.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<String, Unreadable> {
        let bytes = sealed.strip_prefix(PREFIX).and_then(|b| B64.decode(b).ok()).ok_or(Unreadable)?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(Unreadable);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unreadable)?;
        let mut data = rest.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut data).map_err(|_| Unreadable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "a-test-key-that-is-long-enough-123456";

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_purpose() {
        let secrets = SecretBox::new(KEY).expect("key");
        let sealed = secrets.seal("google-refresh", "1//refresh-token");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("refresh-token"), "the token is not readable in the sealed value");
        assert_eq!(secrets.open("google-refresh", &sealed).as_deref(), Ok("1//refresh-token"));
        assert_ne!(sealed, secrets.seal("google-refresh", "1//refresh-token"), "a fresh nonce per value");
        assert_eq!(secrets.open("google-access", &sealed), Err(Unreadable), "bound to its purpose");
        let other = SecretBox::new("another-key-that-is-long-enough-654321").expect("key");
        assert_eq!(other.open("google-refresh", &sealed), Err(Unreadable));
        let mut damaged = sealed.clone();
        damaged.pop();
        damaged.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(secrets.open("google-refresh", &damaged), Err(Unreadable));
        assert_eq!(secrets.open("google-refresh", "v1.AAAA"), Err(Unreadable));
        assert_eq!(secrets.open("google-refresh", "plain"), Err(Unreadable));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(SecretBox::new("short").is_err());
        assert!(SecretBox::new(&"x".repeat(MIN_KEY_CHARS)).is_ok());
    }
}
