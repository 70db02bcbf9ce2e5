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

/// Where Redis listens (`KRE_REDIS_ADDR`).
pub fn redis_addr() -> Result<std::net::SocketAddr, String> {
    let text = std::env::var("KRE_REDIS_ADDR").unwrap_or_else(|_| "127.0.0.1:6379".into());
    text.parse().map_err(|_| format!("KRE_REDIS_ADDR '{text}' is not an IP:port"))
}

// The generated canonical-ABI glue is unsafe by nature; our own code in it is not.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;
