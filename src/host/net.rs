//! `Connect` on `wasi:sockets@0.3.0`: async TCP, so one request talks to several brokers at once.
//! spin-sdk has no TCP wrapper; this adapts the socket's byte streams to the core's `Stream`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use spin_sdk::wasip3::sockets::ip_name_lookup;
use spin_sdk::wasip3::sockets::types::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    TcpSocket,
};
use spin_sdk::wasip3::wit_bindgen::{FutureReader, StreamReader, StreamResult, StreamWriter};
use spin_sdk::wasip3::wit_stream;

pub struct WasiConnect;

pub struct WasiStream {
    // Field order matters on drop: the streams close before the socket goes away.
    tx: StreamWriter<u8>,
    rx: StreamReader<u8>,
    _send_result: FutureReader<Result<(), ErrorCode>>,
    _recv_result: FutureReader<Result<(), ErrorCode>>,
    _socket: TcpSocket,
}

fn err(code: ErrorCode) -> io::Error {
    io::Error::other(format!("{code:?}"))
}

impl kre_core::kafka::Stream for WasiStream {
    async fn write_all(&mut self, data: Vec<u8>) -> io::Result<()> {
        let rest = self.tx.write_all(data).await;
        if rest.is_empty() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "connection closed",
            ))
        }
    }

    async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let chunk = Vec::with_capacity(64 * 1024);
        let (result, chunk) = self.rx.read(chunk).await;
        match result {
            StreamResult::Complete(n) => {
                buf.extend_from_slice(&chunk);
                Ok(n)
            }
            StreamResult::Dropped => Ok(0),
            StreamResult::Cancelled => {
                Err(io::Error::new(io::ErrorKind::Interrupted, "read cancelled"))
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
                    IpSocketAddress::Ipv4(Ipv4SocketAddress {
                        port: a.port(),
                        address: (o[0], o[1], o[2], o[3]),
                    }),
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
        Ok(WasiStream {
            tx,
            rx,
            _send_result: send_result,
            _recv_result: recv_result,
            _socket: socket,
        })
    }

    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let addrs = ip_name_lookup::resolve_addresses(host.to_owned())
            .await
            .map_err(|e| io::Error::new(io::ErrorKind::Unsupported, format!("{e:?}")))?;
        Ok(addrs
            .into_iter()
            .map(|a| match a {
                IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
                IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
                    IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
                }
            })
            .collect())
    }
}
