//! SASL authentication of one connection: SaslHandshake then SaslAuthenticate
//! (<https://kafka.apache.org/protocol#sasl_handshake>, KIP-43, KIP-152) with the mechanisms
//! PLAIN (RFC 4616), SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677, KIP-84) and
//! OAUTHBEARER (RFC 7628, KIP-255). The broker's session lifetime (KIP-368) comes back so the
//! cluster can retire the connection before the broker would drop it.
//!
//! Secrets live in [`Secret`] (Debug prints no value) and appear only in the bytes sent to the
//! broker; errors name the mechanism and the broker, never a credential.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use sha2::{Digest, Sha256, Sha512};

use super::connection::Connection;
use super::error::{Error, Result, check};
use super::transport::Stream;
pub use crate::secret::Secret;

/// Kafka's SASL mechanism names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}

impl Mechanism {
    pub fn parse(name: &str) -> Option<Mechanism> {
        Some(match name {
            "PLAIN" => Mechanism::Plain,
            "SCRAM-SHA-256" => Mechanism::ScramSha256,
            "SCRAM-SHA-512" => Mechanism::ScramSha512,
            "OAUTHBEARER" => Mechanism::OAuthBearer,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// One principal's login.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credentials {
    /// PLAIN or SCRAM.
    Password { mechanism: Mechanism, username: String, password: Secret },
    /// OAUTHBEARER: a token the broker validates.
    Bearer { token: Secret },
}

impl Credentials {
    pub fn mechanism(&self) -> Mechanism {
        match self {
            Credentials::Password { mechanism, .. } => *mechanism,
            Credentials::Bearer { .. } => Mechanism::OAuthBearer,
        }
    }
}

/// Whose credentials a connection uses: the proxy's own (configuration) or the HTTP caller's
/// (passthrough). It decides what a refusal means to the client: 500 or 401.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sasl {
    pub credentials: Credentials,
    pub from_caller: bool,
}

/// Authenticates `conn` (after ApiVersions). Returns the session lifetime the broker gave, in
/// ms (0: none).
pub async fn authenticate<S: Stream>(conn: &mut Connection<S>, sasl: &Sasl) -> Result<i64> {
    let mechanism = sasl.credentials.mechanism();
    let refused = |conn: &Connection<S>, message: String| Error::Authentication {
        broker: conn.broker().to_owned(),
        mechanism: mechanism.name(),
        message,
        caller: sasl.from_caller,
    };
    let handshake = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism.name()));
    let answer = conn.call_version(&handshake, 1).await?;
    if check(answer.error_code).is_err() {
        let offered: Vec<&str> = answer.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(refused(conn, format!("the broker does not offer it (it offers {})", offered.join(", "))));
    }
    let mut exchange = Exchange::new(&sasl.credentials);
    let mut outgoing = exchange.first();
    loop {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(outgoing.into());
        let answer = conn.call(&request).await?;
        if check(answer.error_code).is_err() {
            let message = answer.error_message.map(|m| m.to_string()).unwrap_or_else(|| "authentication failed".into());
            return Err(refused(conn, message));
        }
        match exchange.next(&answer.auth_bytes).map_err(|m| refused(conn, m))? {
            Some(more) => outgoing = more,
            None => return Ok(answer.session_lifetime_ms.max(0)),
        }
    }
}

/// The client side of one mechanism's exchange.
enum Exchange<'a> {
    Plain { username: &'a str, password: &'a Secret },
    Scram(Scram<'a>),
    Bearer { token: &'a Secret, failed: bool },
}

impl<'a> Exchange<'a> {
    fn new(credentials: &'a Credentials) -> Self {
        match credentials {
            Credentials::Password { mechanism: Mechanism::ScramSha256, username, password } => {
                Exchange::Scram(Scram::new(Hash::Sha256, username, password, nonce()))
            }
            Credentials::Password { mechanism: Mechanism::ScramSha512, username, password } => {
                Exchange::Scram(Scram::new(Hash::Sha512, username, password, nonce()))
            }
            Credentials::Password { username, password, .. } => Exchange::Plain { username, password },
            Credentials::Bearer { token } => Exchange::Bearer { token, failed: false },
        }
    }

    fn first(&mut self) -> Vec<u8> {
        match self {
            // authzid empty: the broker takes the authentication id as the principal.
            Exchange::Plain { username, password } => format!("\0{username}\0{}", password.expose()).into_bytes(),
            Exchange::Scram(s) => s.client_first().into_bytes(),
            Exchange::Bearer { token, .. } => format!("n,,\x01auth=Bearer {}\x01\x01", token.expose()).into_bytes(),
        }
    }

    /// The next message to send after the broker's `challenge`; None when done.
    fn next(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, String> {
        match self {
            Exchange::Plain { .. } => Ok(None),
            Exchange::Scram(s) => s.next(challenge),
            // RFC 7628 §3.2.2: an error challenge is acknowledged with a single %x01; the broker
            // then fails the exchange with its message.
            Exchange::Bearer { failed, .. } if !challenge.is_empty() && !*failed => {
                *failed = true;
                Ok(Some(vec![1]))
            }
            Exchange::Bearer { .. } => Ok(None),
        }
    }
}

/// 24 random bytes, base64 (printable, no ','), as RFC 5802 §5.1 asks of the client nonce.
fn nonce() -> String {
    let mut bytes = [0u8; 24];
    super::tls::random_bytes(&mut bytes);
    B64.encode(bytes)
}

#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha512,
}

impl Hash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            Hash::Sha512 => {
                let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// Hi() of RFC 5802 §2.2: PBKDF2 with HMAC over this hash.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Hash::Sha256 => pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec(),
            Hash::Sha512 => pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec(),
        }
    }
}

/// Kafka's brokers store SCRAM credentials with 4096..=16384 iterations; more than this is a
/// broker (or something posing as one) asking for a denial of service.
const MAX_ITERATIONS: u32 = 100_000;

/// RFC 5802 client: client-first, then client-final with the proof, then the server's signature
/// is checked. Kafka takes the password as its UTF-8 bytes (no SASLprep; `ScramFormatter`).
struct Scram<'a> {
    hash: Hash,
    password: &'a Secret,
    client_first_bare: String,
    nonce: String,
    server_signature: Option<Vec<u8>>,
}

impl<'a> Scram<'a> {
    fn new(hash: Hash, username: &str, password: &'a Secret, nonce: String) -> Self {
        // saslname: ',' and '=' escaped (RFC 5802 §5.1).
        let name = username.replace('=', "=3D").replace(',', "=2C");
        Scram { hash, password, client_first_bare: format!("n={name},r={nonce}"), nonce, server_signature: None }
    }

    fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    fn next(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let text =
            std::str::from_utf8(challenge).map_err(|_| "SCRAM: the server's message is not UTF-8".to_string())?;
        if let Some(expected) = self.server_signature.take() {
            // server-final-message: v=<signature> or e=<error>.
            let attrs = attributes(text);
            if let Some(e) = attrs.iter().find(|(k, _)| *k == 'e') {
                return Err(format!("SCRAM: the server refused: {}", e.1));
            }
            let v = attrs.iter().find(|(k, _)| *k == 'v').ok_or("SCRAM: no server signature")?;
            let got = B64.decode(v.1).map_err(|_| "SCRAM: the server signature is not base64")?;
            if !constant_time_eq(&got, &expected) {
                return Err(
                    "SCRAM: the server's signature does not match (not the broker that holds these credentials)".into(),
                );
            }
            return Ok(None);
        }
        // server-first-message: r=<nonce>,s=<salt>,i=<iterations>.
        let attrs = attributes(text);
        let get = |k: char| attrs.iter().find(|(a, _)| *a == k).map(|(_, v)| *v);
        let server_nonce = get('r').ok_or("SCRAM: no nonce in the server's first message")?;
        if !server_nonce.starts_with(&self.nonce) || server_nonce.len() == self.nonce.len() {
            return Err("SCRAM: the server's nonce does not extend ours".into());
        }
        let salt = B64.decode(get('s').ok_or("SCRAM: no salt")?).map_err(|_| "SCRAM: the salt is not base64")?;
        let iterations: u32 = get('i').and_then(|i| i.parse().ok()).ok_or("SCRAM: no iteration count")?;
        if !(1..=MAX_ITERATIONS).contains(&iterations) {
            return Err(format!("SCRAM: {iterations} iterations asked, at most {MAX_ITERATIONS} accepted"));
        }
        let salted = self.hash.salted_password(self.password.expose().as_bytes(), &salt, iterations);
        let client_key = self.hash.hmac(&salted, b"Client Key");
        let stored_key = self.hash.digest(&client_key);
        // "biws" = base64("n,,"): no channel binding, no authzid.
        let without_proof = format!("c=biws,r={server_nonce}");
        let auth_message = format!("{},{text},{without_proof}", self.client_first_bare);
        let signature = self.hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let server_key = self.hash.hmac(&salted, b"Server Key");
        self.server_signature = Some(self.hash.hmac(&server_key, auth_message.as_bytes()));
        Ok(Some(format!("{without_proof},p={}", B64.encode(proof)).into_bytes()))
    }
}

/// What a broker (or anything posing as one) may send during SCRAM: a server-first message, a
/// zero byte, a server-final message. Errors are fine; panics are not.
pub fn fuzz_scram(data: &[u8]) {
    let (first, last) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    // Costly iteration counts only slow the fuzzer down; the cap itself has a unit test.
    if attributes(&String::from_utf8_lossy(first)).iter().any(|(k, v)| *k == 'i' && v.len() > 4) {
        return;
    }
    let password = Secret::new("pw");
    let mut s = Scram::new(Hash::Sha256, "user", &password, "nonce".into());
    if s.next(first).is_ok() {
        let _ = s.next(last);
    }
}

/// `k=value` attributes of a SCRAM message (values may contain '=').
fn attributes(text: &str) -> Vec<(char, &str)> {
    text.split(',')
        .filter_map(|part| {
            let mut chars = part.chars();
            let k = chars.next()?;
            part.get(1..)?.strip_prefix('=').map(|v| (k, v))
        })
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677 §3 test vector (SCRAM-SHA-256): user "user", password "pencil".
    #[test]
    fn scram_sha256_matches_rfc7677() {
        let password = Secret::new("pencil");
        let mut s = Scram::new(Hash::Sha256, "user", &password, "rOprNGfwEbeRWgbNEkqO".into());
        assert_eq!(s.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let final_msg = s.next(server_first.as_bytes()).expect("ok").expect("client final");
        assert_eq!(
            String::from_utf8(final_msg).expect("utf8"),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(s.next(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").expect("verified"), None);
    }

    #[test]
    fn a_wrong_server_signature_or_nonce_is_refused() {
        let password = Secret::new("pencil");
        let mut s = Scram::new(Hash::Sha256, "user", &password, "abc".into());
        s.next(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=4096").expect("ok");
        let e = s.next(b"v=AAAA").expect_err("bad signature");
        assert!(e.contains("signature"), "{e}");
        let mut s = Scram::new(Hash::Sha512, "user", &password, "abc".into());
        assert!(s.next(b"r=xyz123,s=QSXCR+Q6sek8bf92,i=4096").is_err(), "foreign nonce");
        let mut s = Scram::new(Hash::Sha512, "user", &password, "abc".into());
        assert!(s.next(b"r=abcd,s=QSXCR+Q6sek8bf92,i=999999999").is_err(), "absurd iteration count");
        let mut s = Scram::new(Hash::Sha512, "user", &password, "abc".into());
        let e = s.next(b"r=abcd,s=QSXCR+Q6sek8bf92,i=4096").and_then(|_| s.next(b"e=invalid-proof")).expect_err("e=");
        assert!(e.contains("invalid-proof") && !e.contains("pencil"), "{e}");
    }

    #[test]
    fn usernames_are_escaped_and_messages_framed() {
        let password = Secret::new("p");
        let s = Scram::new(Hash::Sha256, "a,b=c", &password, "n".into());
        assert_eq!(s.client_first(), "n,,n=a=2Cb=3Dc,r=n");
        let creds = Credentials::Password {
            mechanism: Mechanism::Plain,
            username: "alice".into(),
            password: Secret::new("s3"),
        };
        assert_eq!(Exchange::new(&creds).first(), b"\0alice\0s3");
        let bearer = Credentials::Bearer { token: Secret::new("tk-7e1") };
        let mut e = Exchange::new(&bearer);
        assert_eq!(e.first(), b"n,,\x01auth=Bearer tk-7e1\x01\x01");
        assert_eq!(e.next(b"{\"status\":\"invalid_token\"}").expect("ack"), Some(vec![1]));
        assert!(!format!("{creds:?}{bearer:?}").contains("s3") && !format!("{bearer:?}").contains("tk-7e1"));
        assert_eq!(nonce().len(), 32);
        assert_ne!(nonce(), nonce());
    }
}
