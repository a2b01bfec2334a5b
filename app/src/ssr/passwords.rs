//! Password hashing with argon2id (OWASP's parameters), off the async threads.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use calento::Password;

use crate::AppError;

fn hasher() -> Argon2<'static> {
    // m = 19 MiB, t = 2, p = 1: OWASP's recommended minimum for argon2id.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub async fn hash(password: &Password) -> Result<String, AppError> {
    let password = password.clone();
    let salt_bytes: [u8; 16] = rand::random();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| super::unexpected("salt", e))?;
        hasher()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| super::unexpected("hashing a password", e))
    })
    .await
    .map_err(|e| super::unexpected("hashing task", e))?
}

/// True when `candidate` matches the stored hash. Without a stored hash (unknown account)
/// the same work is done against a fixed hash, so timing does not reveal which emails exist.
pub async fn verify(candidate: &str, stored: Option<String>) -> bool {
    let candidate = candidate.to_owned();
    let known = stored.is_some();
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        hasher().verify_password(candidate.as_bytes(), &parsed).is_ok() && known
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, made once, to verify against for unknown accounts.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt_bytes: [u8; 16] = rand::random();
        let secret: [u8; 16] = rand::random();
        SaltString::encode_b64(&salt_bytes)
            .ok()
            .and_then(|salt| hasher().hash_password(&secret, &salt).ok().map(|hash| hash.to_string()))
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let password = Password::parse("correct horse battery").expect("valid");
        let stored = hash(&password).await.expect("hashes");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(stored.clone())).await);
        assert!(!verify("correct horse batterY", Some(stored)).await);
        assert!(!verify("correct horse battery", None).await);
    }
}
