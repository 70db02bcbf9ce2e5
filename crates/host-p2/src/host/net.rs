//! `Connect` on `wasi:sockets@0.2` TCP, non-blocking: every wait is a pollable handed to wstd's
//! reactor, so one request's connections to several brokers progress at once (one `poll` call
//! waits for all of them).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wasip2::io::streams::{InputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;
use wstd::io::AsyncOutputStream;
use wstd::runtime::AsyncPollable;

/// Bytes asked for per read; the host hands back what it has, up to this.
const READ_CHUNK: u64 = 64 * 1024;

#[derive(Clone, Copy)]
pub struct WasiConnect;

pub struct WasiStream {
    // Field order is drop order: the pollable and the streams go before their socket.
    readable: Option<AsyncPollable>,
    output: AsyncOutputStream,
    input: InputStream,
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

fn stream_err(e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => io::Error::from(io::ErrorKind::ConnectionReset),
        StreamError::LastOperationFailed(e) => io::Error::other(e.to_debug_string()),
    }
}

impl kre_core::kafka::Stream for WasiStream {
    async fn write_all(&mut self, data: Vec<u8>) -> io::Result<()> {
        self.output.write_all(&data).await
    }

    /// Appends at least one byte to `buf`; `Ok(0)` when the peer closed.
    async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            match self.input.read(READ_CHUNK) {
                // Nothing there yet: wait on the stream's pollable alongside everything else.
                Ok(chunk) if chunk.is_empty() => {
                    let input = &self.input;
                    self.readable.get_or_insert_with(|| AsyncPollable::new(input.subscribe())).wait_for().await;
                }
                Ok(chunk) => {
                    let n = chunk.len();
                    if buf.is_empty() {
                        *buf = chunk;
                    } else {
                        buf.extend_from_slice(&chunk);
                    }
                    return Ok(n);
                }
                Err(StreamError::Closed) => return Ok(0),
                Err(e) => return Err(stream_err(e)),
            }
        }
    }
}

impl kre_core::kafka::Connect for WasiConnect {
    type Stream = WasiStream;

    async fn connect(&self, addr: SocketAddr) -> io::Result<WasiStream> {
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
        let socket = create_tcp_socket(family).map_err(err)?;
        socket.start_connect(&instance_network(), remote).map_err(err)?;
        let (input, output) = {
            let connected = AsyncPollable::new(socket.subscribe());
            loop {
                match socket.finish_connect() {
                    Ok(streams) => break streams,
                    Err(ErrorCode::WouldBlock) => connected.wait_for().await,
                    Err(e) => return Err(err(e)),
                }
            }
        };
        Ok(WasiStream { readable: None, output: AsyncOutputStream::new(output), input, _socket: socket })
    }

    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let network = instance_network();
        let stream = resolve_addresses(&network, host).map_err(err)?;
        let ready = AsyncPollable::new(stream.subscribe());
        let mut out = Vec::new();
        loop {
            match stream.resolve_next_address() {
                Ok(Some(IpAddress::Ipv4((a, b, c, d)))) => out.push(IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
                Ok(Some(IpAddress::Ipv6((a, b, c, d, e, f, g, h)))) => {
                    out.push(IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)))
                }
                Ok(None) => break,
                Err(ErrorCode::WouldBlock) => ready.wait_for().await,
                Err(e) => return Err(io::Error::new(io::ErrorKind::Unsupported, format!("{e:?}"))),
            }
        }
        drop(ready);
        Ok(out)
    }
}
