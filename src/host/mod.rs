//! Implementations of the core's host traits on WASI 0.3 and Spin's interfaces.

pub mod clock;
pub mod kv;
pub mod net;
pub mod vars;
