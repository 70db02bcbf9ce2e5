//! The cluster: bootstrap with failover, the broker table (filled and refreshed by itself), routing a request to any
//! broker or to one broker (leader, coordinator), connection reuse within an instance, deadlines.
//!
//! Everything kept here is a cache: a fresh instance, or one whose brokers moved, rebuilds it from
//! the bootstrap servers. Concurrent requests never share a connection: each call checks one out
//! of the idle pool (or opens one) and returns it when the exchange completed cleanly.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::messages::MetadataRequest;
use kafka_protocol::protocol::Request;

use super::connection::Connection;
use super::error::{Error, Result};
use super::resolve::{HostMap, resolve, split_host_port};
use super::sasl::{self, Sasl};
use super::tls::BrokerStream;
use super::tls::Failure;
use super::transport::Connect;
use crate::runtime::{Deadline, Runtime, with_deadline};

/// Idle connections kept per broker; more concurrent calls than this open extra, short-lived ones.
const MAX_IDLE_PER_BROKER: usize = 8;

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `host:port` entries, tried in order.
    pub bootstrap: Vec<String>,
    pub client_id: String,
    pub host_map: HostMap,
    /// Upper bound for one connection attempt, so a dead bootstrap server leaves time for the next.
    pub connect_timeout_ms: u64,
    /// TLS for every connection (`SSL`, `SASL_SSL`); shared so sessions may resume.
    pub tls: Option<Arc<super::tls::Tls>>,
    /// The SASL login of every connection (`SASL_*`).
    pub sasl: Option<Sasl>,
}

type Conn<C> = Connection<BrokerStream<<C as Connect>::Stream>>;

/// Which broker a request must go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Any live broker (metadata, admin requests: KRaft brokers forward those to the controller).
    Any,
    /// One broker by id (partition leader, group coordinator).
    Broker(i32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerAddr {
    pub id: i32,
    pub host: String,
    pub port: u16,
}

pub struct Cluster<C: Connect, R: Runtime> {
    connect: C,
    rt: R,
    config: ClientConfig,
    idle: RefCell<HashMap<String, Vec<Conn<C>>>>,
    brokers: RefCell<Vec<BrokerAddr>>,
}

impl<C: Connect, R: Runtime> Cluster<C, R> {
    pub fn new(connect: C, rt: R, config: ClientConfig) -> Self {
        Cluster { connect, rt, config, idle: RefCell::default(), brokers: RefCell::default() }
    }

    pub fn runtime(&self) -> &R {
        &self.rt
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Remembers the brokers a Metadata answer listed (used to route later calls).
    pub fn learn_brokers(&self, brokers: Vec<BrokerAddr>) {
        *self.brokers.borrow_mut() = brokers;
    }

    pub fn known_brokers(&self) -> Vec<BrokerAddr> {
        self.brokers.borrow().clone()
    }

    /// Sends `request` to `target` and waits for the answer, within `deadline`.
    pub async fn call<Q: Request>(&self, target: Target, request: &Q, deadline: Deadline) -> Result<Q::Response> {
        let what = || format!("{} from {}", super::connection::api_name(Q::KEY), describe(target));
        match with_deadline(&self.rt, deadline, self.call_inner(target, request, deadline)).await {
            Some(result) => result,
            None => Err(Error::Timeout { what: what(), ms: deadline.budget_ms() }),
        }
    }

    /// Like [`Cluster::call`] but also hands back the negotiated version (callers whose
    /// request shape depends on it).
    pub async fn negotiated_version<Q: Request>(&self, target: Target, deadline: Deadline) -> Result<i16> {
        let fut = async {
            let (key, conn) = self.checkout(target, deadline).await?;
            let v = conn.version_for::<Q>();
            self.checkin(key, conn);
            v
        };
        with_deadline(&self.rt, deadline, fut).await.unwrap_or_else(|| {
            Err(Error::Timeout { what: format!("a connection to {}", describe(target)), ms: deadline.budget_ms() })
        })
    }

    async fn call_inner<Q: Request>(&self, target: Target, request: &Q, deadline: Deadline) -> Result<Q::Response> {
        let (key, mut conn, reused) = self.checkout_tracked(target, deadline).await?;
        match conn.call(request).await {
            Ok(response) => {
                self.checkin(key, conn);
                Ok(response)
            }
            // A pooled connection may have been closed by the broker while idle: retry once on a new one.
            Err(Error::Io { .. }) if reused => {
                drop(conn);
                let (key, mut conn) = self.open(target, deadline).await?;
                let response = conn.call(request).await?;
                self.checkin(key, conn);
                Ok(response)
            }
            Err(e) => Err(e),
        }
    }

    async fn checkout(&self, target: Target, deadline: Deadline) -> Result<(String, Conn<C>)> {
        let (key, conn, _) = self.checkout_tracked(target, deadline).await?;
        Ok((key, conn))
    }

    async fn checkout_tracked(&self, target: Target, deadline: Deadline) -> Result<(String, Conn<C>, bool)> {
        if let Some((key, conn)) = self.take_idle(target) {
            return Ok((key, conn, true));
        }
        let (key, conn) = self.open(target, deadline).await?;
        Ok((key, conn, false))
    }

    fn take_idle(&self, target: Target) -> Option<(String, Conn<C>)> {
        let mut idle = self.idle.borrow_mut();
        let key = match target {
            Target::Any => idle.iter().find(|(_, v)| !v.is_empty()).map(|(k, _)| k.clone())?,
            Target::Broker(id) => {
                let brokers = self.brokers.borrow();
                let b = brokers.iter().find(|b| b.id == id)?;
                format!("{}:{}", b.host, b.port)
            }
        };
        let list = idle.get_mut(&key)?;
        let now = self.rt.monotonic_ms();
        // Connections whose SASL session is about to end are dropped, not reused.
        while let Some(conn) = list.pop() {
            if !conn.retired(now) {
                return Some((key, conn));
            }
        }
        None
    }

    fn checkin(&self, key: String, conn: Conn<C>) {
        let mut idle = self.idle.borrow_mut();
        let list = idle.entry(key).or_default();
        if list.len() < MAX_IDLE_PER_BROKER {
            list.push(conn);
        }
    }

    async fn open(&self, target: Target, deadline: Deadline) -> Result<(String, Conn<C>)> {
        match target {
            Target::Broker(id) => {
                let addr = match self.broker_addr(id) {
                    Some(a) => a,
                    // A cold instance (or a broker that joined since): ask the cluster once.
                    None => {
                        Box::pin(self.refresh_brokers(deadline)).await?;
                        self.broker_addr(id).ok_or(Error::UnknownBroker { broker_id: id })?
                    }
                };
                let name = format!("{id} ({}:{})", addr.host, addr.port);
                let conn = self.open_addr(&addr.host, addr.port, name, deadline).await?;
                Ok((format!("{}:{}", addr.host, addr.port), conn))
            }
            Target::Any => {
                // Known brokers first (they are live members), then the bootstrap list; first success wins.
                let mut candidates: Vec<(String, u16, String)> = self
                    .brokers
                    .borrow()
                    .iter()
                    .map(|b| (b.host.clone(), b.port, format!("{} ({}:{})", b.id, b.host, b.port)))
                    .collect();
                for server in &self.config.bootstrap {
                    match split_host_port(server) {
                        Ok((h, p)) => candidates.push((h, p, format!("bootstrap {server}"))),
                        Err(reason) => {
                            return Err(Error::Resolve { host: server.clone(), reason });
                        }
                    }
                }
                let mut last = None;
                for (host, port, name) in candidates {
                    if deadline.remaining_ms(&self.rt) == 0 {
                        break;
                    }
                    match self.open_addr(&host, port, name, deadline).await {
                        Ok(conn) => return Ok((format!("{host}:{port}"), conn)),
                        // Refused credentials are refused by every broker: say so at once.
                        Err(e @ Error::Authentication { .. }) => return Err(e),
                        Err(e) => last = Some(e),
                    }
                }
                Err(Error::NoBroker {
                    servers: self.config.bootstrap.join(","),
                    last: Box::new(
                        last.unwrap_or(Error::Timeout { what: "a broker connection".into(), ms: deadline.budget_ms() }),
                    ),
                })
            }
        }
    }

    /// Fills the broker table from a Metadata request for no topics (the table is the
    /// cluster's own: callers never have to fetch metadata first to route by broker id).
    pub async fn refresh_brokers(&self, deadline: Deadline) -> Result<()> {
        let request = MetadataRequest::default().with_topics(Some(vec![])).with_allow_auto_topic_creation(false);
        let response = self.call(Target::Any, &request, deadline).await?;
        self.learn_brokers(
            response
                .brokers
                .iter()
                .filter_map(|b| {
                    Some(BrokerAddr { id: b.node_id.0, host: b.host.to_string(), port: u16::try_from(b.port).ok()? })
                })
                .collect(),
        );
        Ok(())
    }

    fn broker_addr(&self, id: i32) -> Option<BrokerAddr> {
        self.brokers.borrow().iter().find(|b| b.id == id).cloned()
    }

    async fn open_addr(&self, host: &str, port: u16, name: String, deadline: Deadline) -> Result<Conn<C>> {
        let attempt = deadline.min_with(&self.rt, self.config.connect_timeout_ms);
        let fut = async {
            let addr = resolve(&self.connect, &self.config.host_map, host, port).await?;
            let stream = match &self.config.tls {
                None => BrokerStream::Plain(
                    self.connect.connect(addr).await.map_err(|e| Error::connect(format!("{name} at {addr}"), e))?,
                ),
                // The advertised name, not the mapped address: SNI and certificate check.
                Some(tls) => BrokerStream::Tls(Box::new(
                    tls.connect(|| self.connect.connect(addr), host).await.map_err(|e| match e {
                        Failure::Connect(e) => Error::connect(format!("{name} at {addr}"), e),
                        Failure::Tls(e) => tls_failure(&name, addr, e),
                    })?,
                )),
            };
            let mut conn = Connection::handshake(stream, name.clone(), &self.config.client_id).await?;
            if let Some(sasl) = &self.config.sasl {
                let lifetime = sasl::authenticate(&mut conn, sasl).await?;
                if let Ok(lifetime) = u64::try_from(lifetime)
                    && lifetime > 0
                {
                    conn.retire_at(self.rt.monotonic_ms() + lifetime - reauth_margin(lifetime));
                }
            }
            Ok(conn)
        };
        with_deadline(&self.rt, attempt, fut).await.unwrap_or_else(|| {
            Err(Error::connect(
                name.clone(),
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {} ms", attempt.budget_ms()),
                ),
            ))
        })
    }
}

/// How long before the broker's session ends a connection stops being reused: a tenth of the
/// lifetime, at least a second (a request in flight when the session ends is answered; the
/// broker checks at the next one), never more than half.
fn reauth_margin(lifetime_ms: u64) -> u64 {
    (lifetime_ms / 10).max(1000).min(lifetime_ms / 2)
}

/// A TLS handshake failure names TLS and the broker; a plain transport failure stays retriable.
fn tls_failure(name: &str, addr: std::net::SocketAddr, e: std::io::Error) -> Error {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::InvalidData | K::InvalidInput | K::UnexpectedEof => {
            Error::Tls { broker: format!("{name} at {addr}"), source: Arc::new(e) }
        }
        _ => Error::connect(format!("{name} at {addr}"), e),
    }
}

fn describe(target: Target) -> String {
    match target {
        Target::Any => "the cluster".into(),
        Target::Broker(id) => format!("broker {id}"),
    }
}
