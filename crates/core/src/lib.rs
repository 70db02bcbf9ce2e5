//! kafka-rest-edge core: everything the component does, with no host types.
//!
//! One request reads top to bottom: [`http`] (routes, negotiation, the one error map) →
//! [`v2`] / [`v3`] (one file per REST resource) → [`kafka`] (operations → cluster → connection)
//! and [`state`] (the key-value store). The host supplies three small traits:
//! [`kafka::Connect`] (open a TCP stream), [`Runtime`] (clock and timers) and [`state::KvStore`].

pub mod app;
pub mod config;
pub mod error;
pub mod formats;
pub mod fuzz;
pub mod http;
pub mod kafka;
pub mod limits;
#[cfg(feature = "native")]
pub mod native;
pub mod percent;
pub mod principal;
pub mod registry;
pub mod routes;
pub mod runtime;
pub mod secret;
pub mod state;
pub mod time;
pub mod v2;
pub mod v3;
pub mod validate;

pub use app::App;
pub use config::Config;
pub use error::ApiError;
pub use runtime::{Deadline, Runtime};
