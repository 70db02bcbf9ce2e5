//! kre-kv-redis: a component that exports `spin:key-value@3.0.0` backed by Redis (over
//! `wasi:sockets@0.3.0`), the same keys through `wasi:keyvalue@0.2.0-draft2` (store and atomics:
//! compare-and-swap as one Lua script), and `spin:variables@3.0.0` backed by environment variables. Composed with
//! the kafka-rest-edge component (`wac plug`), it lets the very artifact shipped to Spin run under
//! `wasmtime serve` with state that survives restarts.
//!
//! Configuration (environment): `KRE_REDIS_ADDR` (default `127.0.0.1:6379`, an IP:port),
//! `KRE_REDIS_PREFIX` (key prefix, default `kre:`).

pub mod resp;

#[cfg(target_arch = "wasm32")]
mod blocking;

/// A store's keys in Redis, the same for both interfaces (spin:key-value and wasi:keyvalue, so a
/// compare-and-swap through one guards what the other reads): `<KRE_REDIS_PREFIX><label>:<key>`.
pub struct Namespace(String);

impl Namespace {
    pub fn open(label: &str) -> Namespace {
        let prefix = std::env::var("KRE_REDIS_PREFIX").unwrap_or_else(|_| "kre:".into());
        Namespace(format!("{prefix}{label}:"))
    }

    pub fn prefix(&self) -> &str {
        &self.0
    }

    pub fn key(&self, key: &str) -> Vec<u8> {
        format!("{}{key}", self.0).into_bytes()
    }

    /// The SCAN pattern matching every key of the store.
    pub fn pattern(&self) -> String {
        let escaped: String = self
            .0
            .chars()
            .flat_map(|c| if matches!(c, '*' | '?' | '[' | ']' | '\\') { vec!['\\', c] } else { vec![c] })
            .collect();
        format!("{escaped}*")
    }
}

/// Where Redis listens (`KRE_REDIS_ADDR`).
pub fn redis_addr() -> Result<std::net::SocketAddr, String> {
    let text = std::env::var("KRE_REDIS_ADDR").unwrap_or_else(|_| "127.0.0.1:6379".into());
    text.parse().map_err(|_| format!("KRE_REDIS_ADDR '{text}' is not an IP:port"))
}

// The generated canonical-ABI glue is unsafe by nature; our own code in it is not.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;

#[cfg(test)]
mod tests {
    #[test]
    fn both_interfaces_share_one_key_layout_and_scan_pattern() {
        let ns = super::Namespace(String::from("kre:st[1]:"));
        assert_eq!(ns.key("consumer/1/g/c"), b"kre:st[1]:consumer/1/g/c".to_vec());
        assert_eq!(ns.pattern(), "kre:st\\[1\\]:*", "glob characters of the prefix are escaped");
    }
}
