//! TCP over `wasi:sockets@0.3.0` as plain async `write_all` / `read_some`.
//!
//! The socket's `send` takes a `stream<u8>` we write into; `receive` hands back a `stream<u8>` we
//! read from. Both run concurrently with anything else the component awaits, which is what lets
//! one request talk to several brokers at once.

#![cfg(target_arch = "wasm32")]

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wasip3::sockets::ip_name_lookup;
use wasip3::sockets::types::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, TcpSocket,
};
use wasip3::wit_bindgen::{FutureReader, StreamReader, StreamResult, StreamWriter};
use wasip3::wit_stream;

/// Bytes asked for per read; the host hands back what it has, up to this.
const READ_CHUNK: usize = 64 * 1024;

pub struct TcpStream {
    // Field order matters on drop: the streams close before the socket goes away.
    tx: StreamWriter<u8>,
    rx: StreamReader<u8>,
    _send_result: FutureReader<Result<(), ErrorCode>>,
    _recv_result: FutureReader<Result<(), ErrorCode>>,
    _socket: TcpSocket,
}

fn err(code: ErrorCode) -> io::Error {
    let kind = match code {
        ErrorCode::ConnectionRefused => io::ErrorKind::ConnectionRefused,
        ErrorCode::ConnectionReset => io::ErrorKind::ConnectionReset,
        ErrorCode::AccessDenied => io::ErrorKind::PermissionDenied,
        ErrorCode::Timeout => io::ErrorKind::TimedOut,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("{code:?}"))
}

impl TcpStream {
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let (family, remote) = match addr {
            SocketAddr::V4(a) => {
                let o = a.ip().octets();
                (
                    IpAddressFamily::Ipv4,
                    IpSocketAddress::Ipv4(Ipv4SocketAddress { port: a.port(), address: (o[0], o[1], o[2], o[3]) }),
                )
            }
            SocketAddr::V6(a) => {
                let s = a.ip().segments();
                (
                    IpAddressFamily::Ipv6,
                    IpSocketAddress::Ipv6(Ipv6SocketAddress {
                        port: a.port(),
                        flow_info: 0,
                        address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                        scope_id: 0,
                    }),
                )
            }
        };
        let socket = TcpSocket::create(family).map_err(err)?;
        socket.connect(remote).await.map_err(err)?;
        let (tx, tx_reader) = wit_stream::new::<u8>();
        let send_result = socket.send(tx_reader);
        let (rx, recv_result) = socket.receive();
        Ok(TcpStream { tx, rx, _send_result: send_result, _recv_result: recv_result, _socket: socket })
    }

    /// Writes every byte of `data`.
    pub async fn write_all(&mut self, data: Vec<u8>) -> io::Result<()> {
        let rest = self.tx.write_all(data).await;
        if rest.is_empty() { Ok(()) } else { Err(io::Error::new(io::ErrorKind::BrokenPipe, "connection closed")) }
    }

    /// Appends at least one byte to `buf`; `Ok(0)` when the peer closed. The host writes straight
    /// into `buf`'s spare capacity (no intermediate chunk to copy).
    pub async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            let mut owned = std::mem::take(buf);
            owned.reserve(READ_CHUNK);
            let before = owned.len();
            let (result, owned) = self.rx.read(owned).await;
            *buf = owned;
            match result {
                StreamResult::Complete(0) => continue,
                StreamResult::Complete(_) => return Ok(buf.len() - before),
                StreamResult::Dropped => return Ok(0),
                StreamResult::Cancelled => return Err(io::Error::new(io::ErrorKind::Interrupted, "read cancelled")),
            }
        }
    }
}

/// The host's name lookup (`wasi:sockets/ip-name-lookup`); Spin denies it to components.
pub async fn lookup(host: &str) -> io::Result<Vec<IpAddr>> {
    let addrs = ip_name_lookup::resolve_addresses(host.to_owned())
        .await
        .map_err(|e| io::Error::new(io::ErrorKind::Unsupported, format!("{e:?}")))?;
    Ok(addrs
        .into_iter()
        .map(|a| match a {
            IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
        })
        .collect())
}
