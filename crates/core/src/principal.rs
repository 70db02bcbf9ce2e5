//! Who is calling, under `kafka_auth_mode=passthrough`: the request's `Authorization` header
//! becomes the caller's own SASL login — `Basic` as PLAIN or SCRAM (the configured
//! mechanism), `Bearer` as OAUTHBEARER — so Kafka's ACLs apply to the caller, on v2 and v3.
//!
//! Connections are pooled per principal under a key derived from the credentials with a salt
//! drawn per instance (so the key reveals nothing, and two principals never share a
//! connection). The principal's *name* (`User:alice`, a token's `sub`) is what a v2 consumer
//! instance records as its owner; no secret is ever kept outside instance memory.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::kafka::sasl::{Credentials, Mechanism, Secret};

/// An HTTP caller's Kafka identity.
#[derive(Clone, Debug)]
pub struct Principal {
    /// Kafka's name for it, as far as the proxy can tell (`User:<name>`).
    pub name: String,
    /// Pool key: a salted hash of the credentials.
    pub key: [u8; 32],
    pub credentials: Credentials,
}

/// The caller's credentials from `Authorization`. `mechanism` is the one `Basic` logins use.
pub fn from_header(header: Option<&str>, mechanism: Mechanism, salt: &[u8]) -> ApiResult<Principal> {
    let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Err(unauthenticated("Authentication required: send Authorization: Basic or Bearer"));
    };
    let (scheme, value) = header.split_once(' ').unwrap_or((header, ""));
    let value = value.trim();
    let (name, credentials) = if scheme.eq_ignore_ascii_case("basic") {
        if mechanism == Mechanism::OAuthBearer {
            return Err(unauthenticated("This proxy logs in with OAUTHBEARER: send Authorization: Bearer <token>"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unauthenticated("Authorization: Basic credentials are not base64 of user:password"))?;
        let (user, password) = decoded
            .split_once(':')
            .filter(|(u, _)| !u.is_empty())
            .ok_or_else(|| unauthenticated("Authorization: Basic credentials are not base64 of user:password"))?;
        (
            format!("User:{user}"),
            Credentials::Password { mechanism, username: user.to_owned(), password: Secret::new(password) },
        )
    } else if scheme.eq_ignore_ascii_case("bearer") && !value.is_empty() {
        (
            format!("User:{}", token_subject(value).unwrap_or_default()),
            Credentials::Bearer { token: Secret::new(value) },
        )
    } else {
        return Err(unauthenticated("Authorization: only the Basic and Bearer schemes are accepted"));
    };
    let mut hash = Sha256::new();
    hash.update(salt);
    match &credentials {
        Credentials::Password { mechanism, username, password } => {
            hash.update(mechanism.name());
            hash.update([0]);
            hash.update(username);
            hash.update([0]);
            hash.update(password.expose());
        }
        Credentials::Bearer { token } => {
            hash.update("OAUTHBEARER\0");
            hash.update(token.expose());
        }
    }
    Ok(Principal { name, key: hash.finalize().into(), credentials })
}

/// The `sub` claim of a JWT (unverified: the broker verifies the token when it logs in, before
/// the proxy acts on the name).
fn token_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    #[test]
    fn basic_and_bearer_become_logins() {
        let basic = format!("Basic {}", STANDARD.encode("alice:alice-secret"));
        let p = from_header(Some(&basic), Mechanism::ScramSha512, b"salt").expect("basic");
        assert_eq!(p.name, "User:alice");
        assert_eq!(p.credentials.mechanism(), Mechanism::ScramSha512);
        // Same credentials, same key; another salt or password, another key.
        assert_eq!(p.key, from_header(Some(&basic), Mechanism::ScramSha512, b"salt").expect("again").key);
        assert_ne!(p.key, from_header(Some(&basic), Mechanism::ScramSha512, b"pepper").expect("salted").key);
        let other = format!("Basic {}", STANDARD.encode("alice:guess"));
        assert_ne!(p.key, from_header(Some(&other), Mechanism::ScramSha512, b"salt").expect("other").key);
        assert!(!format!("{p:?}").contains("alice-secret"));

        let jwt = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"carol"}"#)
        );
        let p = from_header(Some(&format!("Bearer {jwt}")), Mechanism::Plain, b"s").expect("bearer");
        assert_eq!(p.name, "User:carol");
        assert_eq!(p.credentials.mechanism(), Mechanism::OAuthBearer);
    }

    #[test]
    fn missing_or_malformed_credentials_are_401() {
        for h in [None, Some(""), Some("Basic"), Some("Basic !!!"), Some("Digest x"), Some("Bearer ")] {
            let e = from_header(h, Mechanism::Plain, b"s").expect_err("refused");
            assert_eq!((e.status().as_u16(), e.error_code()), (401, 40101), "{h:?}");
        }
        let basic = format!("Basic {}", STANDARD.encode("bob:pw"));
        assert!(from_header(Some(&basic), Mechanism::OAuthBearer, b"s").is_err());
    }
}
