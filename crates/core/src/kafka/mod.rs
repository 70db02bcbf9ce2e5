//! A small async Kafka client on the `kafka-protocol` crate, layered like rskafka:
//! protocol types (kafka-protocol) → [`connection`] (framing, correlation ids, ApiVersions)
//! → [`cluster`] (bootstrap, metadata, routing to leader / controller / any broker, connection reuse)
//! → [`ops`] (one file per operation group).
//!
//! Wire format: <https://kafka.apache.org/protocol>.

pub mod cluster;
pub mod compression;
pub mod connection;
pub mod error;
pub mod ops;
pub mod partitioner;
pub mod readahead;
pub mod resolve;
pub mod transport;

pub use cluster::{ClientConfig, Cluster};
pub use error::{Error, Result};
pub use transport::{Connect, Stream};
