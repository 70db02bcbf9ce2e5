//! TLS to brokers — Kafka's `SSL` and `SASL_SSL` security protocols
//! (<https://kafka.apache.org/documentation/#security_ssl>) — on rustls, over any [`Stream`].
//!
//! The crypto provider is RustCrypto's pure-Rust one (`rustls-rustcrypto`): ring and aws-lc need
//! a C compiler targeting wasm32, which a fresh machine does not have (docs/security.md). The
//! server's certificate is checked against the configured CA (or the web PKI roots) and the
//! broker's *advertised* host name — the name used for SNI too — even when `kafka_host_map`
//! sent the connection to another address. Resumption is offered between connections of one
//! instance through the shared [`rustls::ClientConfig`]'s in-memory cache (Apache Kafka 4.3.1 on
//! JDK 17 declined it in every test: crates/core/tests/security.rs).
//!
//! Cipher choice: WebAssembly has no AES instructions, and software AES-GCM ran at a quarter of
//! ChaCha20-Poly1305's speed here (`make bench`: produce over SASL_SSL 20k vs 79k records/s).
//! Brokers pick the suite by their own preference (Java's puts AES-GCM first), so the first
//! handshake offers only ChaCha20-Poly1305; a broker that refuses it is asked again with every
//! suite, and the instance remembers not to try again.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::transport::Stream;

/// What configuration says about TLS (all PEM text, so each fits one Spin variable).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// CA certificates to trust; None: the bundled web PKI roots.
    pub ca_pem: Option<String>,
    /// Client certificate chain and its key, for brokers that require mTLS.
    pub cert_pem: Option<String>,
    pub key_pem: Option<crate::secret::Secret>,
    /// Skips certificate and host-name verification (`kafka_tls_insecure_skip_verify=true`).
    pub insecure_skip_verify: bool,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("cert_pem", &self.cert_pem.as_ref().map(|_| "<pem>"))
            .field("key_pem", &self.key_pem)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

/// TLS settings of an instance: ChaCha20-only first, every suite for brokers that refuse it.
#[derive(Debug)]
pub struct Tls {
    chacha: Arc<ClientConfig>,
    all: Arc<ClientConfig>,
    chacha_refused: AtomicBool,
}

impl Tls {
    /// Built once per instance (the configurations hold the session caches).
    pub fn new(options: &TlsOptions) -> Result<Self, String> {
        Ok(Tls {
            chacha: client_config(options, true)?,
            all: client_config(options, false)?,
            chacha_refused: AtomicBool::new(false),
        })
    }

    /// Runs the handshake on `connect()`'s stream; once more on a new one, offering every
    /// suite, when the broker refused ChaCha20-Poly1305.
    pub async fn connect<S: Stream, F: std::future::Future<Output = io::Result<S>>>(
        &self,
        connect: impl Fn() -> F,
        server_name: &str,
    ) -> Result<TlsStream<S>, Failure> {
        if !self.chacha_refused.load(Ordering::Relaxed) {
            let stream = connect().await.map_err(Failure::Connect)?;
            match TlsStream::connect(stream, self.chacha.clone(), server_name).await {
                Ok(s) => return Ok(s),
                Err(e) if refused_suites(&e) => self.chacha_refused.store(true, Ordering::Relaxed),
                Err(e) => return Err(Failure::Tls(e)),
            }
        }
        let stream = connect().await.map_err(Failure::Connect)?;
        TlsStream::connect(stream, self.all.clone(), server_name).await.map_err(Failure::Tls)
    }
}

/// Why a TLS connection could not be made: the TCP connection, or the TLS handshake.
#[derive(Debug)]
pub enum Failure {
    Connect(io::Error),
    Tls(io::Error),
}

/// Whether the handshake failed because the broker shares none of the offered suites.
fn refused_suites(e: &io::Error) -> bool {
    matches!(
        e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure))
            | Some(rustls::Error::PeerIncompatible(_))
    )
}

/// The rustls configuration for these options: ChaCha20-Poly1305 suites only, or all.
fn client_config(options: &TlsOptions, chacha_only: bool) -> Result<Arc<ClientConfig>, String> {
    let mut provider = rustls_rustcrypto::provider();
    if chacha_only {
        provider.cipher_suites.retain(|s| {
            matches!(
                s.suite(),
                rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
                    | rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                    | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
            )
        });
    }
    let provider = Arc::new(provider);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = if options.insecure_skip_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        match &options.ca_pem {
            Some(pem) => {
                let certs = certificates(pem, "kafka_tls_ca_pem")?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err("kafka_tls_ca_pem: no usable CA certificate".into());
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots)
    };
    let config = match (&options.cert_pem, &options.key_pem) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let chain = certificates(cert, "kafka_tls_cert_pem")?;
            let key = PrivateKeyDer::from_pem_slice(key.expose().as_bytes())
                .map_err(|_| "kafka_tls_key_pem: no private key in PEM form".to_string())?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("kafka_tls_cert_pem/kafka_tls_key_pem: {e}"))?
        }
        _ => return Err("kafka_tls_cert_pem and kafka_tls_key_pem go together".into()),
    };
    Ok(Arc::new(config))
}

/// Cryptographically secure random bytes from the TLS provider's source (the OS / WASI
/// `random`): SCRAM nonces, per-instance salts. Zeros only if that source fails.
pub fn random_bytes(buf: &mut [u8]) {
    let _ = rustls_rustcrypto::provider().secure_random.fill(buf);
}

fn certificates(pem: &str, name: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{name}: not PEM certificates ({e:?})"))?;
    if certs.is_empty() {
        return Err(format!("{name}: no certificate in it"));
    }
    Ok(certs)
}

/// A TLS session over a connected stream.
pub struct TlsStream<S> {
    inner: S,
    conn: ClientConnection,
    /// Ciphertext read from `inner` that rustls has not taken yet.
    pending: Vec<u8>,
    pos: usize,
}

/// Kept as the source, so a refusal can be told apart (see `refused_suites`).
fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl<S: Stream> TlsStream<S> {
    /// Runs the handshake with `server_name` (the broker's advertised host: SNI and verification).
    pub async fn connect(inner: S, config: Arc<ClientConfig>, server_name: &str) -> io::Result<Self> {
        let name = ServerName::try_from(server_name.to_owned()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("TLS: '{server_name}' is no host name"))
        })?;
        let mut conn = ClientConnection::new(config, name).map_err(tls_error)?;
        // Large produce requests are written at once; rustls must not refuse part of them.
        conn.set_buffer_limit(None);
        let mut tls = TlsStream { inner, conn, pending: Vec::with_capacity(16 * 1024), pos: 0 };
        while tls.conn.is_handshaking() {
            tls.flush().await?;
            if tls.conn.is_handshaking() && tls.conn.wants_read() && !tls.feed().await? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "TLS: the broker closed the connection during the handshake (is this port TLS?)",
                ));
            }
        }
        tls.flush().await?;
        Ok(tls)
    }

    /// Whether this session was resumed from an earlier one (no full handshake).
    pub fn resumed(&self) -> bool {
        self.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// Sends whatever TLS records rustls has ready.
    async fn flush(&mut self) -> io::Result<()> {
        if !self.conn.wants_write() {
            return Ok(());
        }
        let mut out = Vec::new();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut out)?;
        }
        self.inner.write_all(out).await
    }

    /// Hands rustls the ciphertext it can take, reading more from the peer when none is
    /// pending. False when the peer closed.
    async fn feed(&mut self) -> io::Result<bool> {
        if self.pos == self.pending.len() {
            self.pending.clear();
            self.pos = 0;
            if self.inner.read_some(&mut self.pending).await? == 0 {
                return Ok(false);
            }
        }
        let mut slice = &self.pending[self.pos..];
        let n = self.conn.read_tls(&mut slice)?;
        self.pos += n;
        self.conn.process_new_packets().map_err(|e| {
            // Tell the broker why before giving up (rustls queued the alert).
            let mut alert = Vec::new();
            let _ = self.conn.write_tls(&mut alert);
            tls_error(e)
        })?;
        Ok(true)
    }
}

impl<S: Stream> Stream for TlsStream<S> {
    async fn write_all(&mut self, data: Vec<u8>) -> io::Result<()> {
        self.conn.writer().write_all(&data)?;
        self.flush().await
    }

    async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let start = buf.len();
        loop {
            // Whatever plaintext is ready; WouldBlock: none yet. A close_notify reads as end.
            match self.conn.reader().read_to_end(buf) {
                Ok(_) => return Ok(buf.len() - start),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Take all ciphertext already read before answering (fewer, larger reads).
            if buf.len() > start && self.pos == self.pending.len() {
                return Ok(buf.len() - start);
            }
            if !self.feed().await? {
                return if buf.len() > start {
                    Ok(buf.len() - start)
                } else {
                    Err(io::Error::new(io::ErrorKind::UnexpectedEof, "TLS: connection closed without close_notify"))
                };
            }
            // Key updates and similar post-handshake messages may need an answer.
            self.flush().await?;
        }
    }
}

/// `kafka_tls_insecure_skip_verify`: any certificate, any name. Handshake signatures are still
/// checked (so the peer holds the key of the certificate it sent), nothing more.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A broker connection's byte stream: plain TCP, or TLS over it (`SSL`, `SASL_SSL`).
pub enum BrokerStream<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
}

impl<S: Stream> Stream for BrokerStream<S> {
    async fn write_all(&mut self, data: Vec<u8>) -> io::Result<()> {
        match self {
            BrokerStream::Plain(s) => s.write_all(data).await,
            BrokerStream::Tls(s) => s.write_all(data).await,
        }
    }

    async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            BrokerStream::Plain(s) => s.read_some(buf).await,
            BrokerStream::Tls(s) => s.read_some(buf).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_are_named() {
        let e = Tls::new(&TlsOptions { ca_pem: Some("not pem".into()), ..Default::default() }).expect_err("bad");
        assert!(e.contains("kafka_tls_ca_pem"), "{e}");
        let e = Tls::new(&TlsOptions { cert_pem: Some("x".into()), ..Default::default() }).expect_err("half");
        assert!(e.contains("go together"), "{e}");
        // The web PKI roots and the no-verification switch both build.
        Tls::new(&TlsOptions::default()).expect("web pki");
        Tls::new(&TlsOptions { insecure_skip_verify: true, ..Default::default() }).expect("insecure");
    }

    #[test]
    fn the_first_offer_is_chacha20_only() {
        let tls = Tls::new(&TlsOptions::default()).expect("builds");
        let names = |c: &ClientConfig| c.crypto_provider().cipher_suites.iter().map(|s| s.suite()).collect::<Vec<_>>();
        assert!(names(&tls.chacha).iter().all(|s| format!("{s:?}").contains("CHACHA20")));
        assert!(names(&tls.all).len() > names(&tls.chacha).len());
        let refusal = tls_error(rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure));
        assert!(refused_suites(&refusal));
        assert!(!refused_suites(&tls_error(rustls::Error::AlertReceived(rustls::AlertDescription::BadCertificate))));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let o = TlsOptions {
            key_pem: Some(crate::secret::Secret::new("-----BEGIN PRIVATE KEY-----abc")),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("abc"));
    }
}
