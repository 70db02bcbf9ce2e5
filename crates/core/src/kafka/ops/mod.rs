//! Kafka operations, one file per group. Each returns plain data the REST layer shapes.

pub mod acls;
pub mod brokers;
pub mod classic;
pub mod configs;
pub mod consumer;
pub mod groups;
pub mod metadata;
pub mod offsets;
pub mod produce;
pub mod reassignments;
pub mod topics;
