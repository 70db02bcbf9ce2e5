//! Configuration: Spin variables on Spin; the same names, upper-cased, as environment variables
//! under wasmtime (the key-value shim exports them as Spin variables).

use crate::kafka::resolve::{HostMap, split_host_port};
pub use crate::secret::Secret;

/// Every variable the component reads, with its default ("" = unset).
pub const VARIABLES: &[(&str, &str)] = &[
    ("kafka_bootstrap_servers", "127.0.0.1:9092"),
    ("kafka_host_map", ""),
    ("kafka_client_id", "kafka-rest-edge"),
    ("kafka_request_timeout_ms", "30000"),
    ("kafka_connect_timeout_ms", "5000"),
    ("advertised_base_url", ""),
    ("max_request_bytes", "67108864"),
    ("kv_store", "default"),
    ("producer_acks", "all"),
    ("producer_compression", "none"),
    ("kafka_metadata_max_age_ms", "10000"),
    ("producer_max_batch_bytes", "1000000"),
    ("consumer_instance_timeout_ms", "300000"),
    ("consumer_request_timeout_ms", "1000"),
    ("consumer_group_protocol", "auto"),
    ("allow_internal_topic_writes", "false"),
    ("body_idle_timeout_ms", "60000"),
    ("max_header_bytes", "65536"),
    ("max_records_per_request", "100000"),
    ("max_consumers_per_group", "1000"),
    ("api_endpoints_allowlist", ""),
    ("api_endpoints_blocklist", ""),
    ("kafka_security_protocol", "PLAINTEXT"),
    ("kafka_tls_ca_pem", ""),
    ("kafka_tls_cert_pem", ""),
    ("kafka_tls_key_pem", ""),
    ("kafka_tls_insecure_skip_verify", "false"),
    ("kafka_auth_mode", "static"),
    ("kafka_sasl_mechanism", "PLAIN"),
    ("kafka_sasl_username", ""),
    ("kafka_sasl_password", ""),
    ("kafka_sasl_oauthbearer_token", ""),
    ("schema_registry_url", ""),
    ("schema_registry_basic_auth", ""),
    ("schema_registry_timeout_ms", "5000"),
];

/// Kafka's `security.protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }
}

/// Whose identity reaches Kafka.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// The proxy's own credentials (`kafka_sasl_*`), for every request.
    Static,
    /// Each request's `Authorization` header becomes its own SASL login.
    Passthrough,
}

/// How the proxy reaches a secured cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Security {
    pub protocol: SecurityProtocol,
    pub tls: crate::kafka::tls::TlsOptions,
    pub auth_mode: AuthMode,
    /// The mechanism for static credentials and for passthrough `Basic` logins.
    pub mechanism: crate::kafka::sasl::Mechanism,
    /// Static mode's login (None with PLAINTEXT / SSL).
    pub service: Option<crate::kafka::sasl::Credentials>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub bootstrap_servers: Vec<String>,
    pub host_map: HostMap,
    pub client_id: String,
    /// Budget for one HTTP request's Kafka work; answers come within it, never later.
    pub request_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Base of v3 `self`/`related` links and v2 `base_uri`; None: the request's own origin.
    pub advertised_base_url: Option<String>,
    pub max_request_bytes: usize,
    /// Label of the key-value store (Spin `key_value_stores`).
    pub kv_store: String,
    /// Produce acks: -1 (all in-sync replicas), 0, 1.
    pub producer_acks: i16,
    pub producer_compression: kafka_protocol::records::Compression,
    /// How long topic metadata is reused by the produce path.
    pub metadata_max_age_ms: u64,
    /// One partition's batch at most (keep at or below the brokers' `message.max.bytes`).
    pub producer_max_batch_bytes: usize,
    /// v2 consumer instances idle longer than this are gone (404/40403).
    pub consumer_instance_timeout_ms: u64,
    /// Default long-poll of `GET …/records` when the request names no timeout.
    pub consumer_request_timeout_ms: u64,
    /// v2 subscriptions: "consumer" (KIP-848), "classic", or "auto" (KIP-848 where the broker has it).
    pub consumer_group_protocol: String,
    /// Whether internal topics (`__consumer_offsets`, any `__*`) may be deleted, repartitioned or
    /// have their configs changed through the API (403/40301 otherwise).
    pub allow_internal_topic_writes: bool,
    /// A request body (streamed or not) silent for longer than this ends the request (408, or
    /// a final error report on streaming produce).
    pub body_idle_timeout_ms: u64,
    /// Request line plus headers, in bytes; more is answered 431.
    pub max_header_bytes: usize,
    /// Records of one v2 produce or v3 `records:batch` request; more is answered 413.
    pub max_records_per_request: usize,
    /// Consumer instances of one v2 group (0: no limit); a create past it is answered 429.
    pub max_consumers_per_group: usize,
    /// API identifiers (Confluent's `@ResourceName` values, see the route table) that stay
    /// enabled; empty: all.
    pub api_endpoints_allowlist: Vec<String>,
    /// API identifiers that are disabled (GET → 404, other methods → 405).
    pub api_endpoints_blocklist: Vec<String>,
    pub security: Security,
    /// The Schema Registry's base URL (may carry a path); None: schema formats answer 40801.
    pub schema_registry_url: Option<String>,
    /// `user:password` for the registry.
    pub schema_registry_basic_auth: Option<Secret>,
    /// One registry call at most (within the request's own deadline).
    pub schema_registry_timeout_ms: u64,
}

impl Default for Config {
    /// The declared defaults ([`VARIABLES`]): the one place they are written.
    fn default() -> Self {
        // Constants, parsed by a unit test (crates/core/tests/config_agrees.rs) on every make test.
        Config::from_lookup(|_| None).expect("the declared defaults parse")
    }
}

impl Config {
    /// Builds the configuration from a lookup of variable values (missing or empty: the default).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let get = |name: &str| -> String {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .or_else(|| VARIABLES.iter().find(|(n, _)| *n == name).map(|(_, d)| (*d).to_owned()))
                .unwrap_or_default()
        };
        let number = |name: &str| -> Result<u64, String> {
            let v = get(name);
            v.parse::<u64>().map_err(|_| format!("{name}: '{v}' is not a whole number"))
        };
        let bootstrap_servers: Vec<String> = get("kafka_bootstrap_servers")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if bootstrap_servers.is_empty() {
            return Err("kafka_bootstrap_servers is empty".into());
        }
        for s in &bootstrap_servers {
            split_host_port(s).map_err(|e| format!("kafka_bootstrap_servers: {e}"))?;
        }
        let base = get("advertised_base_url");
        Ok(Config {
            bootstrap_servers,
            host_map: HostMap::parse(&get("kafka_host_map")).map_err(|e| format!("kafka_host_map: {e}"))?,
            client_id: get("kafka_client_id"),
            request_timeout_ms: number("kafka_request_timeout_ms")?.max(1),
            connect_timeout_ms: number("kafka_connect_timeout_ms")?.max(1),
            advertised_base_url: (!base.is_empty()).then(|| base.trim_end_matches('/').to_owned()),
            max_request_bytes: usize::try_from(number("max_request_bytes")?).unwrap_or(usize::MAX),
            kv_store: get("kv_store"),
            producer_acks: match get("producer_acks").as_str() {
                "all" | "-1" => -1,
                "1" => 1,
                "0" => 0,
                other => return Err(format!("producer_acks: '{other}' is not all, 1 or 0")),
            },
            producer_compression: crate::kafka::compression::parse(&get("producer_compression"))
                .map_err(|e| format!("producer_compression: {e}"))?,
            metadata_max_age_ms: number("kafka_metadata_max_age_ms")?,
            producer_max_batch_bytes: usize::try_from(number("producer_max_batch_bytes")?.max(1024))
                .unwrap_or(usize::MAX),
            consumer_instance_timeout_ms: number("consumer_instance_timeout_ms")?,
            consumer_request_timeout_ms: number("consumer_request_timeout_ms")?,
            consumer_group_protocol: match get("consumer_group_protocol").as_str() {
                p @ ("auto" | "consumer" | "classic") => p.to_owned(),
                other => return Err(format!("consumer_group_protocol: '{other}' is not auto, consumer or classic")),
            },
            allow_internal_topic_writes: match get("allow_internal_topic_writes").as_str() {
                "true" => true,
                "false" => false,
                other => return Err(format!("allow_internal_topic_writes: '{other}' is not true or false")),
            },
            body_idle_timeout_ms: number("body_idle_timeout_ms")?.max(1),
            max_header_bytes: usize::try_from(number("max_header_bytes")?.max(1024)).unwrap_or(usize::MAX),
            max_records_per_request: usize::try_from(number("max_records_per_request")?.max(1)).unwrap_or(usize::MAX),
            max_consumers_per_group: usize::try_from(number("max_consumers_per_group")?).unwrap_or(usize::MAX),
            api_endpoints_allowlist: ids(&get("api_endpoints_allowlist")),
            api_endpoints_blocklist: ids(&get("api_endpoints_blocklist")),
            security: security(&get)?,
            schema_registry_url: Some(get("schema_registry_url")).filter(|u| !u.is_empty()),
            schema_registry_basic_auth: Some(get("schema_registry_basic_auth"))
                .filter(|a| !a.is_empty())
                .map(Secret::new),
            schema_registry_timeout_ms: number("schema_registry_timeout_ms")?.max(1),
        })
    }
}

fn security(get: &impl Fn(&str) -> String) -> Result<Security, String> {
    use crate::kafka::sasl::{Credentials, Mechanism};
    let optional = |name: &str| Some(get(name)).filter(|v| !v.is_empty());
    let protocol = match get("kafka_security_protocol").to_ascii_uppercase().as_str() {
        "PLAINTEXT" => SecurityProtocol::Plaintext,
        "SSL" => SecurityProtocol::Ssl,
        "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
        "SASL_SSL" => SecurityProtocol::SaslSsl,
        other => {
            return Err(format!(
                "kafka_security_protocol: '{other}' is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            ));
        }
    };
    let tls = crate::kafka::tls::TlsOptions {
        ca_pem: optional("kafka_tls_ca_pem"),
        cert_pem: optional("kafka_tls_cert_pem"),
        key_pem: optional("kafka_tls_key_pem").map(Secret::new),
        insecure_skip_verify: match get("kafka_tls_insecure_skip_verify").as_str() {
            "true" => true,
            "false" => false,
            other => return Err(format!("kafka_tls_insecure_skip_verify: '{other}' is not true or false")),
        },
    };
    let auth_mode = match get("kafka_auth_mode").as_str() {
        "static" => AuthMode::Static,
        "passthrough" => AuthMode::Passthrough,
        other => return Err(format!("kafka_auth_mode: '{other}' is not static or passthrough")),
    };
    let name = get("kafka_sasl_mechanism").to_ascii_uppercase();
    let mechanism = Mechanism::parse(&name).ok_or_else(|| {
        format!("kafka_sasl_mechanism: '{name}' is not PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")
    })?;
    if auth_mode == AuthMode::Passthrough && !protocol.sasl() {
        return Err("kafka_auth_mode=passthrough needs kafka_security_protocol SASL_SSL or SASL_PLAINTEXT".into());
    }
    let service = match (protocol.sasl(), auth_mode, mechanism) {
        (false, _, _) | (true, AuthMode::Passthrough, _) => None,
        (true, AuthMode::Static, Mechanism::OAuthBearer) => Some(Credentials::Bearer {
            token: optional("kafka_sasl_oauthbearer_token")
                .map(Secret::new)
                .ok_or("kafka_sasl_oauthbearer_token is needed for OAUTHBEARER")?,
        }),
        (true, AuthMode::Static, mechanism) => Some(Credentials::Password {
            mechanism,
            username: optional("kafka_sasl_username").ok_or("kafka_sasl_username is needed for SASL")?,
            password: optional("kafka_sasl_password")
                .map(Secret::new)
                .ok_or("kafka_sasl_password is needed for SASL")?,
        }),
    };
    Ok(Security { protocol, tls, auth_mode, mechanism, service })
}

/// A comma-separated list of API identifiers (blanks ignored).
fn ids(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::from_lookup(|_| None).expect("defaults parse");
        assert_eq!(c.bootstrap_servers, vec!["127.0.0.1:9092"]);
        assert_eq!(c.request_timeout_ms, 30_000);
        assert_eq!(c.advertised_base_url, None);
        assert_eq!(c, Config::default());
    }

    #[test]
    fn values_override_defaults() {
        let c = Config::from_lookup(|n| match n {
            "kafka_bootstrap_servers" => Some("a:1, b:2".into()),
            "advertised_base_url" => Some("https://proxy.example/".into()),
            "kafka_host_map" => Some("a=10.0.0.1".into()),
            "kafka_request_timeout_ms" => Some("500".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(c.bootstrap_servers, vec!["a:1", "b:2"]);
        assert_eq!(c.advertised_base_url.as_deref(), Some("https://proxy.example"));
        assert_eq!(c.request_timeout_ms, 500);
        assert!(c.host_map.get("a").is_some());
    }

    #[test]
    fn every_variable_reaches_both_hosts() {
        // Spin passes only declared variables; scripts/serve.sh only the names it lists.
        let manifest = include_str!("../../../spin.toml");
        let serve = include_str!("../../../scripts/serve.sh");
        for (name, _) in VARIABLES {
            assert!(manifest.contains(&format!("{name} = \"{{{{ {name} }}}}\"")), "spin.toml lacks {name}");
            assert!(serve.contains(&name.to_ascii_uppercase()), "serve.sh lacks {name}");
        }
    }

    #[test]
    fn security_settings_parse_and_are_checked() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned())
        };
        let c = Config::from_lookup(vars(&[
            ("kafka_security_protocol", "sasl_ssl"),
            ("kafka_sasl_mechanism", "scram-sha-512"),
            ("kafka_sasl_username", "svc"),
            ("kafka_sasl_password", "hunter2"),
        ]))
        .expect("valid");
        assert_eq!(c.security.protocol, SecurityProtocol::SaslSsl);
        assert!(!format!("{c:?}").contains("hunter2"), "no secret in Debug");
        let e = Config::from_lookup(vars(&[("kafka_security_protocol", "SASL_SSL")])).expect_err("no user");
        assert!(e.contains("kafka_sasl_username"), "{e}");
        let e = Config::from_lookup(vars(&[("kafka_auth_mode", "passthrough")])).expect_err("plaintext");
        assert!(e.contains("passthrough"), "{e}");
        let e = Config::from_lookup(vars(&[("kafka_security_protocol", "TLS")])).expect_err("name");
        assert!(e.contains("kafka_security_protocol"), "{e}");
        let c = Config::from_lookup(vars(&[
            ("kafka_security_protocol", "SASL_PLAINTEXT"),
            ("kafka_auth_mode", "passthrough"),
        ]))
        .expect("passthrough needs no service login");
        assert_eq!(c.security.service, None);
    }

    #[test]
    fn invalid_values_are_named() {
        let e = Config::from_lookup(|n| (n == "kafka_request_timeout_ms").then(|| "soon".into())).expect_err("bad");
        assert!(e.contains("kafka_request_timeout_ms"), "{e}");
        let e = Config::from_lookup(|n| (n == "kafka_bootstrap_servers").then(|| "nohost".into())).expect_err("bad");
        assert!(e.contains("kafka_bootstrap_servers"), "{e}");
        let e = Config::from_lookup(|n| (n == "producer_acks").then(|| "most".into())).expect_err("bad");
        assert!(e.contains("producer_acks"), "{e}");
        let e = Config::from_lookup(|n| (n == "producer_compression").then(|| "brotli".into())).expect_err("bad");
        assert!(e.contains("producer_compression"), "{e}");
        let c = Config::from_lookup(|n| (n == "producer_compression").then(|| "zstd".into())).expect("zstd");
        assert_eq!(c.producer_compression, kafka_protocol::records::Compression::Zstd);
    }
}
