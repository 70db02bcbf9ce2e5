//! The core's host traits on WASI 0.2: `wasi:sockets` TCP driven by `wasi:io/poll` through
//! wstd's reactor ([`net`]), `wasi:clocks` timers ([`clock`]), `wasi:keyvalue` ([`kv`]) and
//! `wasi:config` ([`vars`]).

pub mod clock;
pub mod kv;
pub mod net;
pub mod vars;
