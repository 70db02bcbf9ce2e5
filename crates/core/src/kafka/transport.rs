//! What the Kafka client needs from the host: a TCP byte stream and (where the host allows it) name lookup.

use std::io;
use std::net::{IpAddr, SocketAddr};

/// A connected, ordered byte stream (one TCP connection to one broker).
pub trait Stream {
    /// Writes every byte of `data`.
    async fn write_all(&mut self, data: Vec<u8>) -> io::Result<()>;
    /// Reads at least one byte into `buf` (appending); `Ok(0)` means the peer closed.
    async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize>;
}

/// Opens streams. Implemented by the host (WASI 0.3 sockets) and natively for tests.
pub trait Connect {
    type Stream: Stream;
    async fn connect(&self, addr: SocketAddr) -> io::Result<Self::Stream>;
    /// The host's own name lookup; hosts without one (Spin) return `Unsupported`.
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}
