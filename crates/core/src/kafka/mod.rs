//! A small async Kafka client on the `kafka-protocol` crate, layered like rskafka:
//! protocol types (kafka-protocol) → [`connection`] (framing, correlation ids, ApiVersions)
//! → [`cluster`] (bootstrap, the broker table, routing to leader / controller / any broker, connection reuse)
//! → [`client`] (what is known about the cluster: topic metadata, coordinators, cluster id)
//! → [`ops`] (one file per operation group).
//!
//! Wire format: <https://kafka.apache.org/protocol>.

pub mod client;
pub mod cluster;
pub mod compression;
pub mod connection;
pub mod error;
pub mod group;
pub mod ops;
pub mod partitioner;
pub mod readahead;
pub mod resolve;
pub mod sasl;
pub mod tls;
pub mod transport;

pub use client::Client;
pub use cluster::{ClientConfig, Cluster};
pub use error::{Error, Result};
pub use transport::{Connect, Stream};
