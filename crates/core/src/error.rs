//! The one place where failures become HTTP answers: `{"error_code", "message"}` with the
//! reference's codes (rest-proxy-api-reference §"Errors"; v3 OpenAPI error responses; Confluent's
//! `io.confluent.kafkarest.Errors` for the codes the reference only names).
//!
//! Handlers never write a status or a code: they pick an [`ErrorCode`], which carries both. The
//! same [`ErrorBody`] is the whole-response error and the per-record error of streamed produce
//! and consume, so the two cannot drift apart.

use http::StatusCode;
use kafka_protocol::ResponseError;
use serde::Serialize;

use crate::kafka;

/// Why a request body stopped arriving.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// No piece arrived for `body_idle_timeout_ms` (see [`crate::http::idle_limited`]): 408.
    #[error("no request body data for {0} ms")]
    Idle(u64),
    /// The host could not read it (the client went away, broken framing): 400.
    #[error("{0}")]
    Read(String),
}

/// Every error this API answers with: the reference's `error_code` and the HTTP status it goes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 400: the request cannot be read (broken JSON, a field of the wrong type).
    BadRequest,
    /// 400/40002 (v3): the request conflicts with the cluster's state or rules.
    ConflictWithCluster,
    /// 400/40035 (v3): the broker does not speak a version this needs.
    UnsupportedVersion,
    /// 401/40101: Kafka authentication failed.
    Unauthenticated,
    /// 403/40301: Kafka authorization failed.
    Forbidden,
    /// 404: no such resource (path, cluster, broker).
    NotFound,
    /// 404/40401.
    TopicNotFound,
    /// 404/40402.
    PartitionNotFound,
    /// 404/40403.
    ConsumerNotFound,
    /// 405.
    MethodNotAllowed,
    /// 406: no offered content type is acceptable.
    NotAcceptable,
    /// 406/40601: the Accept header does not match the consumer's embedded format.
    ConsumerFormatMismatch,
    /// 408/40801: Schema Registry lookup or registration failed.
    SchemaRegistryUnavailable,
    /// 408: the request body stopped arriving (idle longer than `body_idle_timeout_ms`).
    RequestTimeout,
    /// 409: a concurrent request changed the same state first (retry).
    Conflict,
    /// 409/40902.
    ConsumerAlreadyExists,
    /// 409/40903: subscription and assignment are mutually exclusive (Confluent: illegal state).
    IllegalState,
    /// 413.
    PayloadTooLarge,
    /// 429: a configured limit is reached (`max_consumers_per_group`); retry once it is not.
    TooManyRequests,
    /// 431: request line and headers past `max_header_bytes`.
    HeadersTooLarge,
    /// 415.
    UnsupportedMediaType,
    /// 422: the request is readable but semantically wrong.
    Unprocessable,
    /// 422/42201.
    KeySchemaMissing,
    /// 422/42202.
    ValueSchemaMissing,
    /// 422/42203: data does not convert to its schema.
    SchemaConversion,
    /// 422/42204.
    InvalidConsumerConfig,
    /// 422/42205.
    InvalidSchema,
    /// 422/42207: the registry refused a registration or lookup (Confluent's
    /// `Errors.messageSerializationException`).
    SerializationFailed,
    /// 408/40801: a record cannot be deserialized in the consumer's format; Confluent's
    /// `KafkaRestExceptionMapper` answers Kafka's `SerializationException` so.
    Deserialization,
    /// 500: a failure of this proxy.
    Internal,
    /// 500/50002: Kafka failed and retrying will not help.
    KafkaError,
    /// 500/50003: Kafka failed in a way a retry may pass (leader moved, broker unreachable).
    KafkaRetriable,
    /// 500/50101: TLS is needed but not configured.
    NoSslSupport,
    /// 501: the operation needs Confluent Server.
    NotImplemented,
}

impl ErrorCode {
    pub const fn status(self) -> StatusCode {
        use ErrorCode as E;
        match self {
            E::BadRequest | E::ConflictWithCluster | E::UnsupportedVersion => StatusCode::BAD_REQUEST,
            E::Unauthenticated => StatusCode::UNAUTHORIZED,
            E::Forbidden => StatusCode::FORBIDDEN,
            E::NotFound | E::TopicNotFound | E::PartitionNotFound | E::ConsumerNotFound => StatusCode::NOT_FOUND,
            E::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            E::NotAcceptable | E::ConsumerFormatMismatch => StatusCode::NOT_ACCEPTABLE,
            E::SchemaRegistryUnavailable | E::RequestTimeout | E::Deserialization => StatusCode::REQUEST_TIMEOUT,
            E::Conflict | E::ConsumerAlreadyExists | E::IllegalState => StatusCode::CONFLICT,
            E::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            E::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            E::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            E::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            E::Unprocessable
            | E::KeySchemaMissing
            | E::ValueSchemaMissing
            | E::SchemaConversion
            | E::InvalidConsumerConfig
            | E::InvalidSchema
            | E::SerializationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            E::Internal | E::KafkaError | E::KafkaRetriable | E::NoSslSupport => StatusCode::INTERNAL_SERVER_ERROR,
            E::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        }
    }

    /// The `error_code` of the body: the status itself where the reference gives no finer code.
    pub const fn code(self) -> u32 {
        use ErrorCode as E;
        match self {
            E::ConflictWithCluster => 40002,
            E::UnsupportedVersion => 40035,
            E::Unauthenticated => 40101,
            E::Forbidden => 40301,
            E::TopicNotFound => 40401,
            E::PartitionNotFound => 40402,
            E::ConsumerNotFound => 40403,
            E::ConsumerFormatMismatch => 40601,
            E::SchemaRegistryUnavailable | E::Deserialization => 40801,
            E::ConsumerAlreadyExists => 40902,
            E::IllegalState => 40903,
            E::KeySchemaMissing => 42201,
            E::ValueSchemaMissing => 42202,
            E::SchemaConversion => 42203,
            E::InvalidConsumerConfig => 42204,
            E::InvalidSchema => 42205,
            E::SerializationFailed => 42207,
            E::KafkaError => 50002,
            E::KafkaRetriable => 50003,
            E::NoSslSupport => 50101,
            other => other.status().as_u16() as u32,
        }
    }
}

/// The per-record `error_code` of a v2 produce answer (reference: "1 for non-retriable Kafka
/// exceptions, 2 for retriable Kafka exceptions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "u32")]
pub enum RecordErrorCode {
    NonRetriable,
    Retriable,
}

impl From<RecordErrorCode> for u32 {
    fn from(c: RecordErrorCode) -> u32 {
        match c {
            RecordErrorCode::NonRetriable => 1,
            RecordErrorCode::Retriable => 2,
        }
    }
}

impl RecordErrorCode {
    pub fn of(err: &kafka::Error) -> Self {
        if err.is_retriable() { RecordErrorCode::Retriable } else { RecordErrorCode::NonRetriable }
    }
}

/// The `error_code` of a v3 produce report for a delivered record (Confluent writes the status).
pub const DELIVERED: u32 = 200;

/// The body of every error: a whole response, or one record's report in a streamed answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorBody<'a> {
    pub error_code: u32,
    pub message: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    /// For 405: the methods the resource has (the `Allow` header).
    allowed: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code.code())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), allowed: None }
    }
    pub fn kind(&self) -> ErrorCode {
        self.code
    }
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
    pub fn error_code(&self) -> u32 {
        self.code.code()
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn to_body(&self) -> ErrorBody<'_> {
        ErrorBody { error_code: self.error_code(), message: &self.message }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    /// 400/40002: the request conflicts with the cluster's state (v3).
    pub fn conflict_with_cluster(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ConflictWithCluster, message)
    }
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unprocessable, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn topic_not_found(topic: &str) -> Self {
        // Confluent's and Karapace's fixed template, which clients match on.
        Self::new(ErrorCode::TopicNotFound, format!("Topic {topic} not found."))
    }
    pub fn partition_not_found(topic: &str, partition: i32) -> Self {
        Self::new(ErrorCode::PartitionNotFound, format!("Partition {partition} of topic {topic} not found."))
    }
    pub fn broker_not_found(broker: i32) -> Self {
        Self::new(ErrorCode::NotFound, format!("Broker {broker} not found."))
    }
    pub fn cluster_not_found(cluster: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("Cluster '{cluster}' not found."))
    }
    pub fn method_not_allowed(method: &str, path: &str, allowed: &[&str]) -> Self {
        let mut e =
            Self::new(ErrorCode::MethodNotAllowed, format!("HTTP method {method} is not supported for {path}."));
        e.allowed = Some(allowed.join(", "));
        e
    }
    /// The `Allow` header's value, for a 405.
    pub fn allowed(&self) -> Option<&str> {
        self.allowed.as_deref()
    }
    pub fn not_acceptable(accept: &str, offered: &[&str]) -> Self {
        Self::new(
            ErrorCode::NotAcceptable,
            format!("None of the accepted types '{accept}' can be served; available: {}.", offered.join(", ")),
        )
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(ErrorCode::PayloadTooLarge, format!("Request body larger than the limit of {limit} bytes."))
    }
    pub fn too_many_records(count: usize, limit: usize) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("{count} records in one request; the limit is {limit} (max_records_per_request)."),
        )
    }
    pub fn headers_too_large(size: usize, limit: usize) -> Self {
        Self::new(
            ErrorCode::HeadersTooLarge,
            format!("Request line and headers are {size} bytes; the limit is {limit} (max_header_bytes)."),
        )
    }
    pub fn unsupported_media_type(got: &str, expected: &[&str]) -> Self {
        Self::new(
            ErrorCode::UnsupportedMediaType,
            format!("Content-Type '{got}' is not supported here; use one of: {}.", expected.join(", ")),
        )
    }
    pub fn consumer_not_found(group: &str, instance: &str) -> Self {
        Self::new(ErrorCode::ConsumerNotFound, format!("Consumer instance {instance} of group {group} not found."))
    }
    /// A body read failed: 408 when it went idle (see [`crate::http::idle_limited`]), else 400.
    pub fn body_read(err: &BodyError) -> Self {
        match err {
            BodyError::Idle(_) => Self::new(ErrorCode::RequestTimeout, format!("Request body: {err}.")),
            BodyError::Read(_) => Self::bad_request(format!("Cannot read the request body: {err}")),
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_body()).unwrap_or_else(|_| b"{\"error_code\":500,\"message\":\"error\"}".to_vec())
    }
}

impl From<crate::state::KvError> for ApiError {
    /// The key-value store failed (unreachable, restarting): the request may pass when retried,
    /// so the answer is the reference's retriable 50003, never stale state.
    fn from(err: crate::state::KvError) -> Self {
        ApiError::new(ErrorCode::KafkaRetriable, err.to_string())
    }
}

impl From<crate::state::SaveError> for ApiError {
    fn from(err: crate::state::SaveError) -> Self {
        match err {
            crate::state::SaveError::Kv(e) => e.into(),
            // Another request for the same instance won: the client retries (never a silent loss).
            crate::state::SaveError::Conflict => ApiError::new(ErrorCode::Conflict, err.to_string()),
            crate::state::SaveError::Gone => ApiError::new(ErrorCode::ConsumerNotFound, err.to_string()),
        }
    }
}

impl From<kafka::Error> for ApiError {
    /// Kafka failure → HTTP status and error_code. Every Kafka error reaches HTTP through here.
    fn from(err: kafka::Error) -> Self {
        use kafka::Error as E;
        let message = err.to_string();
        match &err {
            E::Topic { topic, code: ResponseError::UnknownTopicOrPartition, .. } => ApiError::topic_not_found(topic),
            E::Partition { topic, partition, code: ResponseError::UnknownTopicOrPartition, .. } => {
                ApiError::partition_not_found(topic, *partition)
            }
            E::Topic { topic, code: ResponseError::TopicAlreadyExists, .. } => {
                ApiError::conflict_with_cluster(format!("Topic '{topic}' already exists."))
            }
            E::UnknownBroker { broker_id } => ApiError::broker_not_found(*broker_id),
            // The caller's own login was refused; the proxy's own (static) is a 500 below.
            E::Authentication { caller: true, .. } => ApiError::new(ErrorCode::Unauthenticated, message),
            E::NoBroker { last, .. } if matches!(**last, E::Authentication { caller: true, .. }) => {
                ApiError::new(ErrorCode::Unauthenticated, last.to_string())
            }
            E::UnsupportedVersion { .. } => ApiError::new(ErrorCode::UnsupportedVersion, message),
            E::Encode { .. } => ApiError::bad_request(message),
            _ => ApiError::new(kafka_error_code(&err), message),
        }
    }
}

impl From<crate::registry::Error> for ApiError {
    /// Registry failures: unreachable, slow or 5xx → 408/40801 (the reference); a schema we
    /// cannot parse → 422/42205 (the reference); a registration or lookup the registry refuses
    /// (incompatible, unknown subject or id) → 422/42207 with its message, as Confluent's
    /// current `SchemaManagerImpl` answers (`Errors.messageSerializationException`), or
    /// 403/40301 when it refused for authorization.
    fn from(err: crate::registry::Error) -> Self {
        use crate::registry::Error as E;
        let code = match &err {
            E::Unavailable(_) | E::NotConfigured(_) => ErrorCode::SchemaRegistryUnavailable,
            E::Refused { code: Some(40301), .. } => ErrorCode::Forbidden,
            E::Refused { .. } => ErrorCode::SerializationFailed,
            E::Invalid(_) => ErrorCode::InvalidSchema,
        };
        ApiError::new(code, err.to_string())
    }
}

impl From<crate::runtime::OutOfTime> for ApiError {
    /// CPU work (validating, encoding, decoding) ran past the deadline: the request is too big
    /// to do in time, and sending it again will not help.
    fn from(err: crate::runtime::OutOfTime) -> Self {
        ApiError::new(ErrorCode::PayloadTooLarge, err.to_string())
    }
}

impl From<kafka::group::Error> for ApiError {
    fn from(err: kafka::group::Error) -> Self {
        use kafka::group::Error as E;
        match err {
            E::Kafka(e) => e.into(),
            E::InvalidPattern(_) => ApiError::new(ErrorCode::InvalidConsumerConfig, err.to_string()),
            E::NoCommittedOffset { .. } => ApiError::new(ErrorCode::PartitionNotFound, err.to_string()),
        }
    }
}

/// The code of a Kafka failure that has no more specific answer (also the per-record code of
/// v3 produce reports).
pub fn kafka_error_code(err: &kafka::Error) -> ErrorCode {
    match err.kafka_code() {
        Some(code) => from_kafka_code(code),
        // Transport failures (unreachable, timeout, connection lost) may pass on retry.
        None if err.is_retriable() => ErrorCode::KafkaRetriable,
        None => ErrorCode::KafkaError,
    }
}

fn from_kafka_code(code: ResponseError) -> ErrorCode {
    use ResponseError as K;
    match code {
        K::TopicAuthorizationFailed
        | K::GroupAuthorizationFailed
        | K::ClusterAuthorizationFailed
        | K::TransactionalIdAuthorizationFailed
        | K::DelegationTokenAuthorizationFailed => ErrorCode::Forbidden,
        K::SaslAuthenticationFailed | K::IllegalSaslState | K::UnsupportedSaslMechanism => ErrorCode::Unauthenticated,
        K::InvalidTopicException
        | K::InvalidPartitions
        | K::InvalidReplicationFactor
        | K::InvalidReplicaAssignment
        | K::InvalidConfig
        | K::InvalidRequest
        | K::PolicyViolation
        | K::TopicDeletionDisabled => ErrorCode::ConflictWithCluster,
        K::UnsupportedVersion => ErrorCode::UnsupportedVersion,
        c if c.is_retriable() => ErrorCode::KafkaRetriable,
        _ => ErrorCode::KafkaError,
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use kafka::Error as E;

    fn map(e: E) -> (u16, u32) {
        let a = ApiError::from(e);
        (a.status().as_u16(), a.error_code())
    }

    #[test]
    fn kafka_errors_map_to_reference_codes() {
        let topic = |code| E::Topic { topic: "t".into(), code, message: None };
        assert_eq!(map(topic(ResponseError::UnknownTopicOrPartition)), (404, 40401));
        assert_eq!(
            map(E::Partition {
                topic: "t".into(),
                partition: 3,
                code: ResponseError::UnknownTopicOrPartition,
                message: None
            }),
            (404, 40402)
        );
        assert_eq!(map(topic(ResponseError::TopicAlreadyExists)), (400, 40002));
        assert_eq!(map(topic(ResponseError::InvalidReplicationFactor)), (400, 40002));
        assert_eq!(map(topic(ResponseError::TopicAuthorizationFailed)), (403, 40301));
        assert_eq!(map(topic(ResponseError::SaslAuthenticationFailed)), (401, 40101));
        assert_eq!(map(topic(ResponseError::NotLeaderOrFollower)), (500, 50003));
        assert_eq!(map(topic(ResponseError::UnknownServerError)), (500, 50002));
        assert_eq!(map(E::Timeout { what: "x".into(), ms: 5 }), (500, 50003));
        assert_eq!(
            map(E::connect("b", std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"))),
            (500, 50003)
        );
        assert_eq!(map(E::Resolve { host: "h".into(), reason: "r".into() }), (500, 50002));
        assert_eq!(map(E::Protocol { broker: "b".into(), reason: "r".into() }), (500, 50002));
        assert_eq!(map(E::UnsupportedVersion { broker: "b".into(), api: "Fetch" }), (400, 40035));
        assert_eq!(map(E::UnknownBroker { broker_id: 7 }), (404, 404));
    }

    #[test]
    fn hostile_input_errors_map_to_their_codes() {
        let a = ApiError::from(E::Encode { api: "CreateAcls", reason: "CompactString is too long".into() });
        assert_eq!((a.status().as_u16(), a.error_code()), (400, 400));
        let a = ApiError::from(crate::runtime::OutOfTime { what: "encoding the records", budget_ms: 30_000 });
        assert_eq!((a.status().as_u16(), a.error_code()), (413, 413));
        assert!(a.message().starts_with("encoding the records took longer"), "{}", a.message());
        let refused = |code| crate::registry::Error::Refused { status: 409, code, message: "no".into() };
        assert_eq!(ApiError::from(refused(Some(409))).error_code(), 42207);
        assert_eq!(ApiError::from(refused(Some(40301))).error_code(), 40301);
        assert_eq!(ApiError::from(crate::registry::Error::Invalid("x".into())).error_code(), 42205);
        let d = ApiError::new(ErrorCode::Deserialization, "x");
        assert_eq!((d.status().as_u16(), d.error_code()), (408, 40801));
    }

    #[test]
    fn error_body_has_reference_shape() {
        let body = ApiError::topic_not_found("orders").body();
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v, serde_json::json!({"error_code": 40401, "message": "Topic orders not found."}));
    }
}
