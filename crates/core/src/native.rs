//! A native transport and runtime (async-net / async-io) for tests and tools. Not in the wasm build.
//! The one place in the core that reads the system clock (clippy.toml keeps the rest off it).
#![allow(clippy::disallowed_methods)]

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::kafka::transport::{Connect, Stream};
use crate::runtime::Runtime;

#[derive(Clone, Copy)]
pub struct NativeConnect;

pub struct NativeStream(async_net::TcpStream);

impl Stream for NativeStream {
    async fn write_all(&mut self, data: Vec<u8>) -> io::Result<()> {
        self.0.write_all(&data).await
    }

    async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        // Read straight into the tail of `buf` (a stack array would bloat every future above this one).
        let start = buf.len();
        buf.resize(start + 64 * 1024, 0);
        let result = self.0.read(&mut buf[start..]).await;
        buf.truncate(start + *result.as_ref().unwrap_or(&0));
        result
    }
}

impl Connect for NativeConnect {
    type Stream = NativeStream;

    async fn connect(&self, addr: SocketAddr) -> io::Result<NativeStream> {
        let s = async_net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(NativeStream(s))
    }

    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        Ok((host, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
    }
}

#[derive(Clone, Copy)]
pub struct NativeRuntime {
    start: Instant,
}

impl Default for NativeRuntime {
    fn default() -> Self {
        NativeRuntime { start: Instant::now() }
    }
}

impl Runtime for NativeRuntime {
    fn monotonic_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn wall_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    async fn yield_now(&self) {
        futures_lite::future::yield_now().await;
    }

    async fn sleep(&self, ms: u64) {
        async_io::Timer::after(Duration::from_millis(ms)).await;
    }

    fn random_u64(&self) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(self.start.elapsed().as_nanos());
        h.finish()
    }
}

/// Runs a future to completion on the current thread (async-io drives the sockets and timers).
pub fn block_on<T>(fut: impl std::future::Future<Output = T>) -> T {
    async_io::block_on(fut)
}
