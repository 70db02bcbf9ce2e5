//! Credentials (SASL passwords and tokens, TLS keys, the registry's login) as a type whose Debug
//! prints nothing: a logged or asserted value leaks no secret. Below the configuration and the
//! Kafka client, which both hold them.

/// A credential. Debug prints no value, so a logged or asserted Config leaks nothing.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that must send it (the SASL exchange, the TLS key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
