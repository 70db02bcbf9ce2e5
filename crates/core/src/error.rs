//! The one place where failures become HTTP answers: `{"error_code", "message"}` with the
//! reference's codes (rest-proxy-api-reference §"Errors"; v3 OpenAPI error responses).

use kafka_protocol::ResponseError;
use serde::Serialize;

use crate::kafka;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    pub error_code: u32,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, error_code: u32, message: impl Into<String>) -> Self {
        ApiError { status, error_code, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, 400, message)
    }
    /// 400/40002: the request conflicts with the cluster's state (v3).
    pub fn conflict_with_cluster(message: impl Into<String>) -> Self {
        Self::new(400, 40002, message)
    }
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, 422, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, 404, message)
    }
    pub fn topic_not_found(topic: &str) -> Self {
        Self::new(404, 40401, format!("Topic '{topic}' not found."))
    }
    pub fn partition_not_found(topic: &str, partition: i32) -> Self {
        Self::new(404, 40402, format!("Partition {partition} of topic '{topic}' not found."))
    }
    pub fn broker_not_found(broker: i32) -> Self {
        Self::new(404, 404, format!("Broker {broker} not found."))
    }
    pub fn cluster_not_found(cluster: &str) -> Self {
        Self::new(404, 404, format!("Cluster '{cluster}' not found."))
    }
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(405, 405, format!("HTTP method {method} is not supported for {path}."))
    }
    pub fn not_acceptable(accept: &str, offered: &[&str]) -> Self {
        Self::new(
            406,
            406,
            format!("None of the accepted types '{accept}' can be served; available: {}.", offered.join(", ")),
        )
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(413, 413, format!("Request body larger than the limit of {limit} bytes."))
    }
    pub fn unsupported_media_type(got: &str, expected: &[&str]) -> Self {
        Self::new(415, 415, format!("Content-Type '{got}' is not supported here; use one of: {}.", expected.join(", ")))
    }
    pub fn consumer_not_found(group: &str, instance: &str) -> Self {
        Self::new(404, 40403, format!("Consumer instance '{instance}' of group '{group}' not found."))
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, 500, message)
    }

    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| b"{\"error_code\":500,\"message\":\"error\"}".to_vec())
    }
}

impl From<crate::state::KvError> for ApiError {
    fn from(err: crate::state::KvError) -> Self {
        ApiError::internal(err.to_string())
    }
}

impl From<crate::state::SaveError> for ApiError {
    fn from(err: crate::state::SaveError) -> Self {
        match err {
            crate::state::SaveError::Kv(e) => e.into(),
            // Another request for the same instance won: the client retries (never a silent loss).
            crate::state::SaveError::Conflict => ApiError::new(409, 409, err.to_string()),
            crate::state::SaveError::Gone => ApiError::new(404, 40403, err.to_string()),
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
            E::UnsupportedVersion { .. } => ApiError::new(400, 40035, message),
            _ => match err.kafka_code() {
                Some(code) => from_kafka_code(code, message),
                // Transport failures (unreachable, timeout, connection lost) may pass on retry.
                None if err.is_retriable() => ApiError::new(500, 50003, message),
                None => ApiError::new(500, 50002, message),
            },
        }
    }
}

fn from_kafka_code(code: ResponseError, message: String) -> ApiError {
    use ResponseError as K;
    match code {
        K::TopicAuthorizationFailed
        | K::GroupAuthorizationFailed
        | K::ClusterAuthorizationFailed
        | K::TransactionalIdAuthorizationFailed
        | K::DelegationTokenAuthorizationFailed => ApiError::new(403, 40301, message),
        K::SaslAuthenticationFailed | K::IllegalSaslState | K::UnsupportedSaslMechanism => {
            ApiError::new(401, 40101, message)
        }
        K::InvalidTopicException
        | K::InvalidPartitions
        | K::InvalidReplicationFactor
        | K::InvalidReplicaAssignment
        | K::InvalidConfig
        | K::InvalidRequest
        | K::PolicyViolation
        | K::TopicDeletionDisabled => ApiError::conflict_with_cluster(message),
        K::UnsupportedVersion => ApiError::new(400, 40035, message),
        c if c.is_retriable() => ApiError::new(500, 50003, message),
        _ => ApiError::new(500, 50002, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka::Error as E;

    fn map(e: E) -> (u16, u32) {
        let a = ApiError::from(e);
        (a.status, a.error_code)
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
        assert_eq!(map(E::Connect { broker: "b".into(), reason: "refused".into() }), (500, 50003));
        assert_eq!(map(E::Resolve { host: "h".into(), reason: "r".into() }), (500, 50002));
        assert_eq!(map(E::Protocol { broker: "b".into(), reason: "r".into() }), (500, 50002));
        assert_eq!(map(E::UnsupportedVersion { broker: "b".into(), api: "Fetch" }), (400, 40035));
        assert_eq!(map(E::UnknownBroker { broker_id: 7 }), (404, 404));
    }

    #[test]
    fn error_body_has_reference_shape() {
        let body = ApiError::topic_not_found("orders").body();
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v, serde_json::json!({"error_code": 40401, "message": "Topic 'orders' not found."}));
    }
}
