//! Web Push: the instance's VAPID key pair (RFC 8292), payload encryption (`aes128gcm`,
//! RFC 8188 as RFC 8291 uses it), and the `send_push` job that delivers one message to one
//! device's push service through the guarded outbound client.
//!
//! Everything cryptographic is `ring`'s (already the TLS provider): P-256 ECDSA for the
//! VAPID signature, ephemeral P-256 ECDH per message, HMAC-SHA-256 for HKDF, AES-128-GCM.
//! The push service answers 201 when it took the message; 404 and 410 mean the browser
//! unsubscribed (the subscription is forgotten); 429 and 5xx are retried with the job's
//! backoff; anything else is noted on the device and not retried.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http::{Method, Request, StatusCode, header};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use ring::{aead, agreement, hmac};

use crate::outbound::Outbound;
use app::ssr::jobs::Handlers;
use app::ssr::notify::{self, PushMessage, SEND_PUSH};
use app::ssr::{Db, now_ms};

/// The name of the VAPID key pair (PKCS#8, base64url) in `instance_keys`.
const VAPID_KEY: &str = "vapid_pkcs8";
/// How long a push service keeps a message for an offline device (seconds).
const TTL_SECS: u32 = 4 * 3600;
/// The record size written in the header (one record: the payload is small).
const RECORD_SIZE: u32 = 4096;
/// Largest payload before encryption: push services take 4096 bytes of body.
const MAX_PAYLOAD: usize = 3_000;

/// The instance's VAPID key pair.
pub struct Vapid {
    pair: EcdsaKeyPair,
    /// Who to contact about this sender (`mailto:` or an https URL), the JWT's `sub`.
    subject: String,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid").field("public_key", &self.public_key()).field("subject", &self.subject).finish()
    }
}

impl Vapid {
    /// Reads the key pair from the database, making it on first start.
    pub async fn load(db: &Db, subject: String) -> Result<Self, String> {
        let rng = SystemRandom::new();
        let stored = notify::instance_key(db, VAPID_KEY, || {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map(|doc| B64.encode(doc.as_ref()))
                .unwrap_or_default()
        })
        .await
        .map_err(|e| format!("reading the VAPID key: {e}"))?;
        let pkcs8 = B64.decode(stored.as_bytes()).map_err(|_| "the stored VAPID key is not base64url".to_owned())?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
            .map_err(|_| "the stored VAPID key is not a P-256 key".to_owned())?;
        Ok(Self { pair, subject })
    }

    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url.
    pub fn public_key(&self) -> String {
        B64.encode(self.pair.public_key().as_ref())
    }

    /// The `Authorization` header for a push service at `audience` (its origin).
    pub fn authorization(&self, audience: &str, now_secs: i64) -> Result<String, String> {
        let header = B64.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({ "aud": audience, "exp": now_secs + 12 * 3600, "sub": self.subject });
        let input = format!("{header}.{}", B64.encode(claims.to_string().as_bytes()));
        let signature =
            self.pair.sign(&SystemRandom::new(), input.as_bytes()).map_err(|_| "signing the VAPID token".to_owned())?;
        Ok(format!("vapid t={input}.{}, k={}", B64.encode(signature.as_ref()), self.public_key()))
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.sign().as_ref());
    out
}

/// Encrypts `payload` for a browser whose public key is `ua_public` (65 bytes) and auth
/// secret `auth` (16 bytes), with the sender's key pair and salt given (RFC 8291 §3.4).
/// Returns the `aes128gcm` body: salt, record size, the sender's public key, ciphertext.
pub fn encrypt_with(
    payload: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    as_private: agreement::EphemeralPrivateKey,
    salt: [u8; 16],
) -> Result<Vec<u8>, String> {
    if payload.len() > MAX_PAYLOAD {
        return Err(format!("the message is {} bytes; push takes at most {MAX_PAYLOAD}", payload.len()));
    }
    let as_public = as_private.compute_public_key().map_err(|_| "computing the sender's key".to_owned())?;
    let as_public = as_public.as_ref().to_vec();
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, ua_public);
    let ecdh_secret = agreement::agree_ephemeral(as_private, &peer, |secret| secret.to_vec())
        .map_err(|_| "the browser's key (p256dh) is not a point on P-256".to_owned())?;
    // IKM = HKDF(auth, ecdh_secret, "WebPush: info" || 0 || ua_public || as_public, 32)
    let prk_key = hmac_sha256(auth, &[&ecdh_secret]);
    let ikm = hmac_sha256(&prk_key, &[b"WebPush: info\0", ua_public, &as_public, &[1]]);
    // Then RFC 8188: the content key and the nonce from the salt.
    let prk = hmac_sha256(&salt, &[&ikm]);
    let cek = hmac_sha256(&prk, &[b"Content-Encoding: aes128gcm\0", &[1]]);
    let nonce = hmac_sha256(&prk, &[b"Content-Encoding: nonce\0", &[1]]);
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &cek[..16]).map_err(|_| "making the content key".to_owned())?,
    );
    let nonce = aead::Nonce::try_assume_unique_for_key(&nonce[..12]).map_err(|_| "making the nonce".to_owned())?;
    // One record, the last: the payload then the delimiter 2 (no padding).
    let mut record = payload.to_vec();
    record.push(2);
    key.seal_in_place_append_tag(nonce, aead::Aad::empty(), &mut record).map_err(|_| "encrypting".to_owned())?;
    let mut body = Vec::with_capacity(16 + 4 + 1 + as_public.len() + record.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(u8::try_from(as_public.len()).unwrap_or(65));
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&record);
    Ok(body)
}

/// [`encrypt_with`] a fresh key pair and salt, as every message must be.
pub fn encrypt(payload: &[u8], p256dh: &str, auth: &str) -> Result<Vec<u8>, String> {
    let ua_public = B64.decode(p256dh.trim_end_matches('=')).map_err(|_| "p256dh is not base64url".to_owned())?;
    let auth = B64.decode(auth.trim_end_matches('=')).map_err(|_| "auth is not base64url".to_owned())?;
    let rng = SystemRandom::new();
    let private = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
        .map_err(|_| "making a key pair".to_owned())?;
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| "making a salt".to_owned())?;
    encrypt_with(payload, &ua_public, &auth, private, salt)
}

/// The origin of a URL (`https://push.example.org`), the VAPID audience.
fn origin(endpoint: &str) -> Result<String, String> {
    let url = url::Url::parse(endpoint).map_err(|_| "the endpoint is not a URL".to_owned())?;
    Ok(url.origin().ascii_serialization())
}

/// What became of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The browser unsubscribed: the subscription was forgotten.
    Gone,
    /// Refused for good (noted on the device).
    Refused(String),
}

/// Sends one message to one subscription.
pub async fn send(
    db: &Db,
    outbound: &Outbound,
    vapid: &Vapid,
    subscription_id: &str,
    message: &PushMessage,
) -> Result<Outcome, String> {
    let found = notify::subscription(db, subscription_id).await.map_err(|e| e.to_string())?;
    let Some((endpoint, p256dh, auth)) = found else { return Ok(Outcome::Gone) };
    let payload = serde_json::to_vec(message).map_err(|e| e.to_string())?;
    let body = encrypt(&payload, &p256dh, &auth)?;
    let authorization = vapid.authorization(&origin(&endpoint)?, now_ms() / 1000)?;
    let urgency = if message.kind == "event_reminder" || message.kind == "focus_end" { "high" } else { "normal" };
    let request = Request::builder()
        .method(Method::POST)
        .uri(&endpoint)
        .header(header::AUTHORIZATION, authorization)
        .header(header::CONTENT_ENCODING, "aes128gcm")
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header("TTL", TTL_SECS.to_string())
        .header("Urgency", urgency)
        .body(body)
        .map_err(|e| format!("building the request: {e}"))?;
    let response = outbound.send(request).await.map_err(|e| format!("push service: {e}"))?;
    let status = response.status();
    let outcome = match status {
        s if s.is_success() => Outcome::Delivered,
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            notify::drop_subscription(db, subscription_id).await.map_err(|e| e.to_string())?;
            tracing::info!(subscription = %subscription_id, %status, "push subscription expired; forgotten");
            return Ok(Outcome::Gone);
        }
        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
            let error = format!("push service answered {status}; trying again later");
            let _ = notify::note_push(db, subscription_id, Some(&error)).await;
            return Err(error);
        }
        _ => {
            let text = String::from_utf8_lossy(&response.body()[..response.body().len().min(200)]).into_owned();
            Outcome::Refused(format!("push service answered {status}: {}", text.trim()))
        }
    };
    let error = match &outcome {
        Outcome::Refused(reason) => Some(reason.as_str()),
        _ => None,
    };
    notify::note_push(db, subscription_id, error).await.map_err(|e| e.to_string())?;
    Ok(outcome)
}

/// The VAPID `sub`: the instance's https address, else its sender's email address.
pub fn subject(config: &crate::Config) -> String {
    match &config.public_url {
        Some(url) if url.starts_with("https://") => url.trim_end_matches('/').to_owned(),
        _ => {
            let from = config.smtp_from.trim();
            let address = from.rsplit_once('<').map_or(from, |(_, rest)| rest.trim_end_matches('>'));
            format!("mailto:{}", address.trim())
        }
    }
}

/// Adds the `send_push` handler (reading the VAPID key on its first push).
pub fn register(handlers: Handlers, outbound: Outbound, subject: String) -> Handlers {
    let vapid: std::sync::Arc<tokio::sync::OnceCell<Vapid>> = Default::default();
    handlers.add(SEND_PUSH, move |db, payload| {
        let (outbound, vapid, subject) = (outbound.clone(), vapid.clone(), subject.clone());
        async move {
            let vapid = vapid.get_or_try_init(|| Vapid::load(&db, subject)).await?;
            let id = payload["subscription_id"].as_str().ok_or("the job names no subscription")?.to_owned();
            let message: PushMessage =
                serde_json::from_value(payload["message"].clone()).map_err(|e| format!("the job's message: {e}"))?;
            match send(&db, &outbound, vapid, &id, &message).await? {
                Outcome::Refused(reason) => {
                    tracing::warn!(subscription = %id, %reason, "push refused");
                    Ok(())
                }
                Outcome::Delivered | Outcome::Gone => Ok(()),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vapid_tokens_are_es256_jwts_for_the_push_service_origin() {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng).expect("pair");
        let vapid = Vapid { pair, subject: "mailto:ops@example.org".into() };
        let value = vapid.authorization("https://push.example.org", 1_000).expect("token");
        let (token, key) = value.strip_prefix("vapid t=").and_then(|v| v.split_once(", k=")).expect("shape");
        assert_eq!(key, vapid.public_key());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value = serde_json::from_slice(&B64.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims["aud"], "https://push.example.org");
        assert_eq!(claims["exp"], 1_000 + 12 * 3600);
        let public = B64.decode(key).expect("key");
        let verified = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &B64.decode(parts[2]).expect("sig"));
        assert!(verified.is_ok());
        assert_eq!(
            origin("https://push.example.org:8443/send/abc?x=1").expect("origin"),
            "https://push.example.org:8443"
        );
    }

    #[test]
    fn bodies_carry_salt_record_size_and_the_senders_key() {
        let rng = SystemRandom::new();
        let browser = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).expect("key");
        let ua_public = browser.compute_public_key().expect("public");
        let body = encrypt(b"hello", &B64.encode(ua_public.as_ref()), &B64.encode([7u8; 16])).expect("body");
        assert_eq!(&body[16..20], &4096u32.to_be_bytes());
        assert_eq!(body[20], 65);
        assert_eq!(body[21], 4, "an uncompressed point");
        // payload + delimiter + 16-byte tag
        assert_eq!(body.len(), 16 + 4 + 1 + 65 + 5 + 1 + 16);
        assert!(encrypt(b"hello", "not-a-key", "AAAAAAAAAAAAAAAAAAAAAA").is_err());
        assert!(encrypt(&[b'x'; 5000], &B64.encode(ua_public.as_ref()), "AAAAAAAAAAAAAAAAAAAAAA").is_err());
    }
}
