//! Kafka operations, one file per group. Each returns plain data the REST layer shapes.

pub mod configs;
pub mod metadata;
pub mod offsets;
pub mod produce;
pub mod topics;
