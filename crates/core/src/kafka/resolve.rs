//! Broker host names → socket addresses.
//!
//! Brokers advertise host names, and Spin gives components no DNS (spin#2181). The chain is:
//! an IP literal as is → the configured host map (`kafka_host_map`) → the host's own lookup
//! (wasmtime with `-Sallow-ip-name-lookup`, native) → an error naming the host.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::error::{Error, Result};
use super::transport::Connect;

/// `host=ip` pairs, e.g. `kafka-0.kafka=10.0.0.7,kafka-1.kafka=10.0.0.8`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostMap(HashMap<String, IpAddr>);

impl HostMap {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut map = HashMap::new();
        for entry in text.split([',', ';', '\n']).map(str::trim).filter(|e| !e.is_empty()) {
            let (host, ip) = entry.split_once('=').ok_or_else(|| format!("host map entry '{entry}' is not host=ip"))?;
            let ip: IpAddr = ip
                .trim()
                .parse()
                .map_err(|_| format!("host map entry '{entry}': '{}' is not an IP address", ip.trim()))?;
            map.insert(host.trim().to_ascii_lowercase(), ip);
        }
        Ok(HostMap(map))
    }

    pub fn get(&self, host: &str) -> Option<IpAddr> {
        self.0.get(&host.to_ascii_lowercase()).copied()
    }
}

/// Splits `host:port` (IPv6 as `[addr]:port`).
pub fn split_host_port(server: &str) -> Result<(String, u16), String> {
    let server = server.trim();
    let (host, port) = if let Some(rest) = server.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(|| format!("'{server}' is not [ipv6]:port"))?;
        (h, p)
    } else {
        server.rsplit_once(':').ok_or_else(|| format!("'{server}' has no port (host:port)"))?
    };
    let port = port.parse::<u16>().map_err(|_| format!("'{server}' has an invalid port"))?;
    if host.is_empty() {
        return Err(format!("'{server}' has no host"));
    }
    Ok((host.to_owned(), port))
}

pub async fn resolve<C: Connect>(connect: &C, map: &HostMap, host: &str, port: u16) -> Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if let Some(ip) = map.get(host) {
        return Ok(SocketAddr::new(ip, port));
    }
    match connect.lookup(host).await {
        Ok(ips) => ips
            .into_iter()
            // Prefer IPv4: Spin's allowed_outbound_hosts lists addresses, and brokers mostly listen on v4.
            .min_by_key(|ip| ip.is_ipv6())
            .map(|ip| SocketAddr::new(ip, port))
            .ok_or_else(|| Error::Resolve { host: host.to_owned(), reason: "the name has no addresses".into() }),
        Err(e) => Err(Error::Resolve {
            host: host.to_owned(),
            reason: format!(
                "not in kafka_host_map and the host's lookup failed ({e}); add '{host}=<ip>' to kafka_host_map"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_maps() {
        let m = HostMap::parse(" broker-1=10.0.0.1, Broker-2 = ::1 ").expect("valid map");
        assert_eq!(m.get("BROKER-1"), Some("10.0.0.1".parse().expect("ip")));
        assert_eq!(m.get("broker-2"), Some("::1".parse().expect("ip")));
        assert_eq!(m.get("broker-3"), None);
        assert!(HostMap::parse("broker-1").is_err());
        assert!(HostMap::parse("broker-1=not-an-ip").is_err());
        assert_eq!(HostMap::parse("").expect("empty is fine"), HostMap::default());
    }

    #[test]
    fn splits_host_and_port() {
        assert_eq!(split_host_port("127.0.0.1:9092"), Ok(("127.0.0.1".into(), 9092)));
        assert_eq!(split_host_port("[::1]:9092"), Ok(("::1".into(), 9092)));
        assert_eq!(split_host_port("kafka:19092"), Ok(("kafka".into(), 19092)));
        assert!(split_host_port("kafka").is_err());
        assert!(split_host_port("kafka:99999").is_err());
        assert!(split_host_port(":9092").is_err());
    }
}
