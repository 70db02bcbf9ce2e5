//! Errors of the Kafka client, each with the context (broker, topic, partition) that produced it.

use std::io;
use std::sync::Arc;

use kafka_protocol::ResponseError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot resolve broker host '{host}': {reason}")]
    Resolve { host: String, reason: String },

    // I/O causes are kept as sources (shared: results are cloned into caches and reports).
    #[error("cannot connect to broker {broker}: {source}")]
    Connect {
        broker: String,
        #[source]
        source: Arc<io::Error>,
    },

    #[error("connection to broker {broker} failed: {source}")]
    Io {
        broker: String,
        #[source]
        source: Arc<io::Error>,
    },

    #[error("timed out after {ms} ms waiting for {what}")]
    Timeout { what: String, ms: u64 },

    #[error("no bootstrap server reachable ({servers}): {last}")]
    NoBroker {
        servers: String,
        #[source]
        last: Box<Error>,
    },

    #[error("broker {broker} supports no version of {api} that this client speaks")]
    UnsupportedVersion { broker: String, api: &'static str },

    #[error("protocol error with broker {broker}: {reason}")]
    Protocol { broker: String, reason: String },

    /// The request does not fit the protocol (a string longer than 32,767 bytes): nothing was
    /// sent, and sending it again will not help.
    #[error("the request cannot be sent to Kafka: {api}: {reason}")]
    Encode { api: &'static str, reason: String },

    #[error("{}", kafka_message(*code, message, &format!("topic '{topic}'")))]
    Topic { topic: String, code: ResponseError, message: Option<String> },

    #[error("{}", kafka_message(*code, message, &format!("partition {partition} of topic '{topic}'")))]
    Partition { topic: String, partition: i32, code: ResponseError, message: Option<String> },

    #[error("{}", kafka_message(*code, message, "the cluster"))]
    Broker { code: ResponseError, message: Option<String> },

    #[error("unknown broker {broker_id}")]
    UnknownBroker { broker_id: i32 },

    /// The TLS handshake failed (certificate, host name, protocol): retrying will not help.
    #[error("TLS with broker {broker} failed: {source}")]
    Tls {
        broker: String,
        #[source]
        source: Arc<io::Error>,
    },

    /// The broker refused the SASL login. `caller`: the credentials were the HTTP caller's.
    #[error("SASL {mechanism} authentication with broker {broker} failed: {message}")]
    Authentication { broker: String, mechanism: &'static str, message: String, caller: bool },
}

fn kafka_message(code: ResponseError, message: &Option<String>, subject: &str) -> String {
    match message {
        Some(m) if !m.is_empty() => format!("{code} on {subject}: {m}"),
        _ => format!("{code} on {subject}"),
    }
}

impl Error {
    pub fn connect(broker: impl Into<String>, source: io::Error) -> Self {
        Error::Connect { broker: broker.into(), source: Arc::new(source) }
    }

    pub fn io(broker: impl Into<String>, source: io::Error) -> Self {
        Error::Io { broker: broker.into(), source: Arc::new(source) }
    }

    /// Kafka's own error code, when the broker answered with one.
    pub fn kafka_code(&self) -> Option<ResponseError> {
        match self {
            Error::Topic { code, .. } | Error::Partition { code, .. } | Error::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether trying again (with fresh metadata) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Resolve { .. } | Error::UnsupportedVersion { .. } | Error::UnknownBroker { .. } => false,
            Error::Connect { .. } | Error::Io { .. } | Error::Timeout { .. } => true,
            // Unreachable may pass (a broker restarting, a name not yet in DNS); a refused
            // certificate or login will not.
            Error::NoBroker { last, .. } => !matches!(**last, Error::Tls { .. } | Error::Authentication { .. }),
            Error::Protocol { .. } | Error::Encode { .. } | Error::Tls { .. } | Error::Authentication { .. } => false,
            Error::Topic { code, .. } | Error::Partition { code, .. } | Error::Broker { code, .. } => {
                code.is_retriable()
            }
        }
    }
}

/// Turns a response's error code into a result.
pub fn check(code: i16) -> std::result::Result<(), ResponseError> {
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// A per-topic result of an admin response as `Error::Topic` with the broker's message.
pub fn check_topic(topic: &str, code: i16, message: Option<&str>) -> Result<()> {
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(code) => Err(Error::Topic { topic: topic.to_owned(), code, message: message.map(str::to_owned) }),
    }
}
