//! `Connect` on `wasi:sockets@0.3.0` (via kre-wasi-tcp): async TCP to the brokers.

use std::io;
use std::net::{IpAddr, SocketAddr};

use kre_wasi_tcp::TcpStream;

#[derive(Clone, Copy)]
pub struct WasiConnect;

pub struct WasiStream(TcpStream);

impl kre_core::kafka::Stream for WasiStream {
    async fn write_all(&mut self, data: Vec<u8>) -> io::Result<()> {
        self.0.write_all(data).await
    }

    async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.0.read_some(buf).await
    }
}

impl kre_core::kafka::Connect for WasiConnect {
    type Stream = WasiStream;

    async fn connect(&self, addr: SocketAddr) -> io::Result<WasiStream> {
        TcpStream::connect(addr).await.map(WasiStream)
    }

    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        kre_wasi_tcp::lookup(host).await
    }
}
