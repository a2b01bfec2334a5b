//! ID tokens (JWS compact serialization) from OpenID Connect providers: decoded with
//! hard size limits, the signature verified against the provider's published keys (RS256
//! or ES256 only: never `none`, never a shared-secret algorithm), then the claims checked
//! (issuer, audience, expiry, issue time, nonce).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature;
use serde::Deserialize;
use serde_json::Value;

/// Longest ID token read.
pub const MAX_TOKEN: usize = 16 * 1024;
/// Clock skew allowed between us and the provider.
const LEEWAY_SECS: i64 = 60;

/// One public key of a provider's JWKS document.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub usage: Option<String>,
    // RSA
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    // EC
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// What the claims must say.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// The issuer; `{tenantid}` stands for the token's `tid` claim (Microsoft's common endpoint).
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now_secs: i64,
}

/// The claims we use, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Why a token was refused (for the log and the audit entry; the person sees a short message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("unsupported algorithm {0}")]
    Algorithm(String),
    #[error("no matching key")]
    NoKey,
    #[error("bad signature")]
    Signature,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("expired")]
    Expired,
    #[error("issued in the future")]
    NotYetValid,
    #[error("wrong nonce")]
    Nonce,
    #[error("no subject")]
    Subject,
}

fn decode(part: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| JwtError::Malformed("not base64url"))
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

fn verify_signature(alg: &str, key: &Jwk, message: &[u8], sig: &[u8]) -> Result<(), JwtError> {
    match alg {
        "RS256" => {
            let (Some(n), Some(e)) = (&key.n, &key.e) else { return Err(JwtError::NoKey) };
            let components = signature::RsaPublicKeyComponents { n: decode(n)?, e: decode(e)? };
            components.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig).map_err(|_| JwtError::Signature)
        }
        "ES256" => {
            let (Some(x), Some(y)) = (&key.x, &key.y) else { return Err(JwtError::NoKey) };
            let (x, y) = (decode(x)?, decode(y)?);
            if x.len() != 32 || y.len() != 32 {
                return Err(JwtError::NoKey);
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, sig)
                .map_err(|_| JwtError::Signature)
        }
        other => Err(JwtError::Algorithm(other.chars().take(20).collect())),
    }
}

fn key_for<'k>(jwks: &'k Jwks, alg: &str, kid: Option<&str>) -> Option<&'k Jwk> {
    let kty = if alg == "RS256" { "RSA" } else { "EC" };
    let usable = |k: &&Jwk| k.kty == kty && k.usage.as_deref().is_none_or(|u| u == "sig");
    match kid {
        Some(kid) => jwks.keys.iter().filter(usable).find(|k| k.kid.as_deref() == Some(kid)),
        None => {
            let mut candidates = jwks.keys.iter().filter(usable);
            let first = candidates.next();
            // Without a kid, only an unambiguous key will do.
            if candidates.next().is_some() { None } else { first }
        }
    }
}

/// Verifies an ID token and returns its claims.
pub fn verify(token: &str, jwks: &Jwks, expect: &Expect<'_>) -> Result<Claims, JwtError> {
    if token.len() > MAX_TOKEN {
        return Err(JwtError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three parts"));
    };
    let header: Header =
        serde_json::from_slice(&decode(header_b64)?).map_err(|_| JwtError::Malformed("header is not JSON"))?;
    if header.alg != "RS256" && header.alg != "ES256" {
        return Err(JwtError::Algorithm(header.alg.chars().take(20).collect()));
    }
    let key = key_for(jwks, &header.alg, header.kid.as_deref()).ok_or(JwtError::NoKey)?;
    let signed_len = header_b64.len() + 1 + payload_b64.len();
    verify_signature(&header.alg, key, &token.as_bytes()[..signed_len], &decode(sig_b64)?)?;

    let claims: Value =
        serde_json::from_slice(&decode(payload_b64)?).map_err(|_| JwtError::Malformed("claims are not JSON"))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    let issuer = match text("tid") {
        Some(tid) => expect.issuer.replace("{tenantid}", tid),
        None => expect.issuer.to_owned(),
    };
    if text("iss") != Some(issuer.as_str()) {
        return Err(JwtError::Issuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expect.client_id,
        Some(Value::Array(list)) => {
            list.iter().any(|a| a.as_str() == Some(expect.client_id))
                && (list.len() == 1 || text("azp") == Some(expect.client_id))
        }
        _ => false,
    };
    if !audience_ok {
        return Err(JwtError::Audience);
    }
    match number("exp") {
        Some(exp) if exp + LEEWAY_SECS > expect.now_secs => {}
        _ => return Err(JwtError::Expired),
    }
    if number("iat").is_some_and(|iat| iat > expect.now_secs + LEEWAY_SECS) {
        return Err(JwtError::NotYetValid);
    }
    if text("nonce") != Some(expect.nonce) {
        return Err(JwtError::Nonce);
    }
    let subject = text("sub").filter(|s| !s.is_empty() && s.len() <= 255).ok_or(JwtError::Subject)?;
    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(Claims {
        subject: subject.to_owned(),
        email: text("email").map(|e| e.trim().to_lowercase()),
        email_verified,
        name: text("name").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn key_pair() -> (EcdsaKeyPair, Jwks) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("pair");
        let public = pair.public_key().as_ref();
        let jwk = Jwk {
            kty: "EC".into(),
            kid: Some("k1".into()),
            alg: Some("ES256".into()),
            usage: Some("sig".into()),
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some(b64(&public[1..33])),
            y: Some(b64(&public[33..65])),
        };
        (pair, Jwks { keys: vec![jwk] })
    }

    fn sign(pair: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
        let signed = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let sig = pair.sign(&SystemRandom::new(), signed.as_bytes()).expect("sign");
        format!("{signed}.{}", b64(sig.as_ref()))
    }

    fn claims(now: i64) -> Value {
        serde_json::json!({"iss": "https://id.example", "aud": "calento", "sub": "u1", "exp": now + 300, "iat": now,
            "nonce": "n0nce", "email": "Ada@Example.org", "email_verified": true, "name": "Ada"})
    }

    const NOW: i64 = 1_900_000_000;

    fn expect() -> Expect<'static> {
        Expect { issuer: "https://id.example", client_id: "calento", nonce: "n0nce", now_secs: NOW }
    }

    #[test]
    fn a_good_token_gives_its_claims() {
        let (pair, jwks) = key_pair();
        let token = sign(&pair, &serde_json::json!({"alg": "ES256", "kid": "k1"}), &claims(NOW));
        let claims = verify(&token, &jwks, &expect()).expect("valid");
        assert_eq!(claims.subject, "u1");
        assert_eq!(claims.email.as_deref(), Some("ada@example.org"));
        assert!(claims.email_verified);
    }

    #[test]
    fn every_broken_claim_is_refused() {
        let (pair, jwks) = key_pair();
        let header = serde_json::json!({"alg": "ES256", "kid": "k1"});
        let cases: [(&str, Value, JwtError); 7] = [
            ("iss", serde_json::json!("https://evil.example"), JwtError::Issuer),
            ("aud", serde_json::json!("someone-else"), JwtError::Audience),
            ("aud", serde_json::json!(["calento", "other"]), JwtError::Audience),
            ("exp", serde_json::json!(NOW - 61), JwtError::Expired),
            ("iat", serde_json::json!(NOW + 3600), JwtError::NotYetValid),
            ("nonce", serde_json::json!("replayed"), JwtError::Nonce),
            ("sub", serde_json::json!(""), JwtError::Subject),
        ];
        for (name, value, error) in cases {
            let mut c = claims(NOW);
            c[name] = value;
            assert_eq!(verify(&sign(&pair, &header, &c), &jwks, &expect()), Err(error), "{name}");
        }
        let mut no_exp = claims(NOW);
        no_exp.as_object_mut().expect("object").remove("exp");
        assert_eq!(verify(&sign(&pair, &header, &no_exp), &jwks, &expect()), Err(JwtError::Expired));
    }

    #[test]
    fn signatures_keys_and_algorithms_are_checked() {
        let (pair, jwks) = key_pair();
        let (other, _) = key_pair();
        let header = serde_json::json!({"alg": "ES256", "kid": "k1"});
        let forged = sign(&other, &header, &claims(NOW));
        assert_eq!(verify(&forged, &jwks, &expect()), Err(JwtError::Signature));
        // A valid signature over other claims, with the claims swapped in.
        let good = sign(&pair, &header, &claims(NOW));
        let mut evil = claims(NOW);
        evil["sub"] = serde_json::json!("admin");
        let parts: Vec<&str> = good.split('.').collect();
        let swapped = format!("{}.{}.{}", parts[0], b64(evil.to_string().as_bytes()), parts[2]);
        assert_eq!(verify(&swapped, &jwks, &expect()), Err(JwtError::Signature));
        let unknown_kid = sign(&pair, &serde_json::json!({"alg": "ES256", "kid": "k2"}), &claims(NOW));
        assert_eq!(verify(&unknown_kid, &jwks, &expect()), Err(JwtError::NoKey));
        for alg in ["none", "HS256", "RS512", "ES384"] {
            let header = b64(serde_json::json!({"alg": alg}).to_string().as_bytes());
            let token = format!("{header}.{}.", b64(claims(NOW).to_string().as_bytes()));
            assert!(matches!(verify(&token, &jwks, &expect()), Err(JwtError::Algorithm(_))), "{alg}");
        }
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let (_, jwks) = key_pair();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"abcXYZ019-_.=+/ {}\":\\\x00\xff";
        let mut inputs: Vec<String> = vec![
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            "a.b.c".into(),
            "eyJhbGciOiJFUzI1NiJ9..".into(),
            "eyJhbGciOiJFUzI1NiJ9.e30.".into(),
            "eyJhbGciOiJFUzI1NiJ9.e30.AAAA".into(),
            "x".repeat(MAX_TOKEN + 1),
            format!("{}.{}.{}", "e".repeat(5000), "f".repeat(5000), "g".repeat(5000)),
        ];
        for _ in 0..2000 {
            let len = (next() % 200) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            inputs.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        for input in inputs {
            assert!(verify(&input, &jwks, &expect()).is_err(), "{input:?}");
        }
    }

    #[test]
    fn microsofts_common_issuer_takes_the_tenant_of_the_token() {
        let (pair, jwks) = key_pair();
        let mut c = claims(NOW);
        c["iss"] = serde_json::json!("https://login.microsoftonline.com/t-123/v2.0");
        c["tid"] = serde_json::json!("t-123");
        let token = sign(&pair, &serde_json::json!({"alg": "ES256", "kid": "k1"}), &c);
        let expect = Expect { issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", ..expect() };
        assert!(verify(&token, &jwks, &expect).is_ok());
    }
}
