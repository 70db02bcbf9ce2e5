//! The route table: method + path pattern → [`Route`]. An unknown path is 404, a known path with
//! another method is 405, both as JSON errors.

use http::Method;

use crate::error::ApiError;

/// API family of a route: decides error content type and negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    V2,
    V3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    // v2
    V2Topics,
    V2Topic,
    V2Partitions,
    V2Partition,
    V2PartitionOffsets,
    V2Brokers,
    V2Produce,
    V2ProducePartition,
    V2CreateConsumer,
    V2DeleteConsumer,
    V2Subscribe,
    V2Subscription,
    V2Unsubscribe,
    V2Assign,
    V2Assignments,
    V2Seek,
    V2SeekBeginning,
    V2SeekEnd,
    V2Commit,
    V2Committed,
    V2Records,
    // v3
    Clusters,
    Cluster,
    Brokers,
    Broker,
    Topics,
    CreateTopic,
    Topic,
    DeleteTopic,
    UpdateTopic,
    Partitions,
    Partition,
    PartitionOffsets,
    ReadPartition,
    FollowRecords,
    ProduceRecords,
    ProduceBatch,
    // v3 configs
    ClusterConfigs,
    ClusterConfigsAlter,
    ClusterConfig,
    ClusterConfigUpdate,
    ClusterConfigDelete,
    AllBrokersConfigs,
    BrokerConfigs,
    BrokerConfigsAlter,
    BrokerConfig,
    BrokerConfigUpdate,
    BrokerConfigDelete,
    AllTopicsConfigs,
    TopicConfigs,
    TopicConfigsAlter,
    TopicConfig,
    TopicConfigUpdate,
    TopicConfigDelete,
    // v3 replicas and reassignments
    Replicas,
    Replica,
    BrokerReplicas,
    AllReassignments,
    TopicReassignments,
    PartitionReassignment,
    // v3 consumer groups
    ConsumerGroups,
    ConsumerGroup,
    Consumers,
    Consumer,
    ConsumerAssignments,
    ConsumerAssignment,
    Lags,
    Lag,
    LagSummary,
    // v3 ACLs
    Acls,
    CreateAcl,
    DeleteAcls,
    CreateAclsBatch,
    // v3 brokers
    UnregisterBroker,
    /// Families that need Confluent Server (cluster links, balancer, broker tasks, ...).
    ConfluentOnly,
}

impl Route {
    pub fn api(self) -> Api {
        match self {
            Route::V2Topics
            | Route::V2Topic
            | Route::V2Partitions
            | Route::V2Partition
            | Route::V2PartitionOffsets
            | Route::V2Brokers
            | Route::V2Produce
            | Route::V2ProducePartition
            | Route::V2CreateConsumer
            | Route::V2DeleteConsumer
            | Route::V2Subscribe
            | Route::V2Subscription
            | Route::V2Unsubscribe
            | Route::V2Assign
            | Route::V2Assignments
            | Route::V2Seek
            | Route::V2SeekBeginning
            | Route::V2SeekEnd
            | Route::V2Commit
            | Route::V2Committed
            | Route::V2Records => Api::V2,
            _ => Api::V3,
        }
    }
}

const TABLE: &[(Method, &str, Route)] = &[
    (Method::GET, "/topics", Route::V2Topics),
    (Method::GET, "/topics/{topic}", Route::V2Topic),
    (Method::POST, "/topics/{topic}", Route::V2Produce),
    (Method::GET, "/topics/{topic}/partitions", Route::V2Partitions),
    (Method::GET, "/topics/{topic}/partitions/{partition}", Route::V2Partition),
    (Method::POST, "/topics/{topic}/partitions/{partition}", Route::V2ProducePartition),
    (Method::GET, "/topics/{topic}/partitions/{partition}/offsets", Route::V2PartitionOffsets),
    (Method::GET, "/brokers", Route::V2Brokers),
    (Method::POST, "/consumers/{group}", Route::V2CreateConsumer),
    (Method::DELETE, "/consumers/{group}/instances/{instance}", Route::V2DeleteConsumer),
    (Method::POST, "/consumers/{group}/instances/{instance}/subscription", Route::V2Subscribe),
    (Method::GET, "/consumers/{group}/instances/{instance}/subscription", Route::V2Subscription),
    (Method::DELETE, "/consumers/{group}/instances/{instance}/subscription", Route::V2Unsubscribe),
    (Method::POST, "/consumers/{group}/instances/{instance}/assignments", Route::V2Assign),
    (Method::GET, "/consumers/{group}/instances/{instance}/assignments", Route::V2Assignments),
    (Method::POST, "/consumers/{group}/instances/{instance}/positions", Route::V2Seek),
    (Method::POST, "/consumers/{group}/instances/{instance}/positions/beginning", Route::V2SeekBeginning),
    (Method::POST, "/consumers/{group}/instances/{instance}/positions/end", Route::V2SeekEnd),
    (Method::POST, "/consumers/{group}/instances/{instance}/offsets", Route::V2Commit),
    (Method::GET, "/consumers/{group}/instances/{instance}/offsets", Route::V2Committed),
    (Method::GET, "/consumers/{group}/instances/{instance}/records", Route::V2Records),
    (Method::GET, "/v3/clusters", Route::Clusters),
    (Method::GET, "/v3/clusters/{cluster}", Route::Cluster),
    (Method::GET, "/v3/clusters/{cluster}/brokers", Route::Brokers),
    (Method::GET, "/v3/clusters/{cluster}/brokers/{broker}", Route::Broker),
    (Method::GET, "/v3/clusters/{cluster}/topics", Route::Topics),
    (Method::POST, "/v3/clusters/{cluster}/topics", Route::CreateTopic),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}", Route::Topic),
    (Method::DELETE, "/v3/clusters/{cluster}/topics/{topic}", Route::DeleteTopic),
    (Method::PATCH, "/v3/clusters/{cluster}/topics/{topic}", Route::UpdateTopic),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/partitions", Route::Partitions),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}", Route::Partition),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/offset", Route::PartitionOffsets),
    (Method::POST, "/v3/clusters/{cluster}/topics/{topic}/records", Route::ProduceRecords),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/records", Route::FollowRecords),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/records", Route::ReadPartition),
    (Method::POST, "/v3/clusters/{cluster}/topics/{topic}/records:batch", Route::ProduceBatch),
    // Literal `-` segments first: `{param}` would match them too.
    (Method::GET, "/v3/clusters/{cluster}/broker-configs", Route::ClusterConfigs),
    (Method::POST, "/v3/clusters/{cluster}/broker-configs:alter", Route::ClusterConfigsAlter),
    (Method::GET, "/v3/clusters/{cluster}/broker-configs/{name}", Route::ClusterConfig),
    (Method::PUT, "/v3/clusters/{cluster}/broker-configs/{name}", Route::ClusterConfigUpdate),
    (Method::DELETE, "/v3/clusters/{cluster}/broker-configs/{name}", Route::ClusterConfigDelete),
    (Method::GET, "/v3/clusters/{cluster}/brokers/-/configs", Route::AllBrokersConfigs),
    (Method::GET, "/v3/clusters/{cluster}/brokers/{broker}/configs", Route::BrokerConfigs),
    (Method::POST, "/v3/clusters/{cluster}/brokers/{broker}/configs:alter", Route::BrokerConfigsAlter),
    (Method::GET, "/v3/clusters/{cluster}/brokers/{broker}/configs/{name}", Route::BrokerConfig),
    (Method::PUT, "/v3/clusters/{cluster}/brokers/{broker}/configs/{name}", Route::BrokerConfigUpdate),
    (Method::DELETE, "/v3/clusters/{cluster}/brokers/{broker}/configs/{name}", Route::BrokerConfigDelete),
    (Method::GET, "/v3/clusters/{cluster}/topics/-/configs", Route::AllTopicsConfigs),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/configs", Route::TopicConfigs),
    (Method::POST, "/v3/clusters/{cluster}/topics/{topic}/configs:alter", Route::TopicConfigsAlter),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/configs/{name}", Route::TopicConfig),
    (Method::PUT, "/v3/clusters/{cluster}/topics/{topic}/configs/{name}", Route::TopicConfigUpdate),
    (Method::DELETE, "/v3/clusters/{cluster}/topics/{topic}/configs/{name}", Route::TopicConfigDelete),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/replicas", Route::Replicas),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/replicas/{broker}", Route::Replica),
    (Method::GET, "/v3/clusters/{cluster}/brokers/{broker}/partition-replicas", Route::BrokerReplicas),
    (Method::GET, "/v3/clusters/{cluster}/topics/-/partitions/-/reassignment", Route::AllReassignments),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/partitions/-/reassignment", Route::TopicReassignments),
    (
        Method::GET,
        "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/reassignment",
        Route::PartitionReassignment,
    ),
    (Method::GET, "/v3/clusters/{cluster}/consumer-groups", Route::ConsumerGroups),
    (Method::GET, "/v3/clusters/{cluster}/consumer-groups/{group}", Route::ConsumerGroup),
    (Method::GET, "/v3/clusters/{cluster}/consumer-groups/{group}/consumers", Route::Consumers),
    (Method::GET, "/v3/clusters/{cluster}/consumer-groups/{group}/consumers/{consumer}", Route::Consumer),
    (
        Method::GET,
        "/v3/clusters/{cluster}/consumer-groups/{group}/consumers/{consumer}/assignments",
        Route::ConsumerAssignments,
    ),
    (
        Method::GET,
        "/v3/clusters/{cluster}/consumer-groups/{group}/consumers/{consumer}/assignments/{topic}/partitions/{partition}",
        Route::ConsumerAssignment,
    ),
    (Method::GET, "/v3/clusters/{cluster}/consumer-groups/{group}/lags", Route::Lags),
    (Method::GET, "/v3/clusters/{cluster}/consumer-groups/{group}/lags/{topic}/partitions/{partition}", Route::Lag),
    (Method::GET, "/v3/clusters/{cluster}/consumer-groups/{group}/lag-summary", Route::LagSummary),
    (Method::GET, "/v3/clusters/{cluster}/acls", Route::Acls),
    (Method::POST, "/v3/clusters/{cluster}/acls", Route::CreateAcl),
    (Method::DELETE, "/v3/clusters/{cluster}/acls", Route::DeleteAcls),
    (Method::POST, "/v3/clusters/{cluster}/acls:batch", Route::CreateAclsBatch),
    (Method::POST, "/v3/clusters/{cluster}/brokers/{broker}:unregister", Route::UnregisterBroker),
    // Confluent Server only (Self-Balancing broker removal).
    (Method::DELETE, "/v3/clusters/{cluster}/brokers/{broker}", Route::ConfluentOnly),
    (Method::POST, "/v3/clusters/{cluster}/brokers:delete", Route::ConfluentOnly),
    (Method::GET, "/v3/clusters/{cluster}/topics/{topic}/default-configs", Route::ConfluentOnly),
];

/// Path families only Confluent Server has: cluster links and mirrors, the balancer, broker tasks,
/// remove-broker tasks, broker replica exclusions, replica status (any method).
fn confluent_only(segments: &[&str]) -> bool {
    // segments: ["v3", "clusters", "{cluster}", family, ...]
    if segments.len() < 4 || segments[0] != "v3" || segments[1] != "clusters" {
        return false;
    }
    let family = segments[3].split(':').next().unwrap_or("");
    matches!(family, "links" | "balancer" | "broker-replica-exclusions" | "remove-broker-tasks")
        || (family == "brokers" && segments.get(5).is_some_and(|s| *s == "tasks"))
        || segments.last().is_some_and(|s| *s == "replica-status")
}

/// Whether the route at `method` + `path` reads its body as a stream (the host then must not
/// buffer it: v3 streaming produce may run for as long as the client keeps sending).
pub fn streams_body(method: &Method, path: &str) -> bool {
    matches!(route(method, path), Ok(Matched { route: Route::ProduceRecords, .. }))
}

/// A matched route and its path parameters (percent-decoded, in pattern order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    pub route: Route,
    pub params: Vec<String>,
}

/// The API family a path belongs to, even when no route matches (for the error's content type).
pub fn api_of(path: &str) -> Api {
    if path == "/v3" || path.starts_with("/v3/") { Api::V3 } else { Api::V2 }
}

pub fn route(method: &Method, path: &str) -> Result<Matched, ApiError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let mut path_matched = false;
    for (m, pattern, route) in TABLE {
        let Some(params) = match_pattern(pattern, &segments)? else {
            continue;
        };
        if m == method {
            return Ok(Matched { route: *route, params });
        }
        path_matched = true;
    }
    if confluent_only(&segments) {
        return Ok(Matched {
            route: Route::ConfluentOnly,
            params: segments.get(2).map(|c| vec![(*c).to_owned()]).unwrap_or_default(),
        });
    }
    if path_matched {
        Err(ApiError::method_not_allowed(method.as_str(), path))
    } else {
        Err(ApiError::not_found(format!("No resource at {path}.")))
    }
}

fn match_pattern(pattern: &str, segments: &[&str]) -> Result<Option<Vec<String>>, ApiError> {
    let parts: Vec<&str> = pattern.split('/').skip(1).collect();
    if parts.len() != segments.len() {
        return Ok(None);
    }
    let mut params = Vec::new();
    for (p, s) in parts.iter().zip(segments) {
        if p.starts_with('{') {
            // `{param}:action` (e.g. `{broker}:unregister`): the segment must end with the action.
            let value = match p.split_once("}:") {
                Some((_, action)) => match s.strip_suffix(action).and_then(|v| v.strip_suffix(':')) {
                    Some(v) => v,
                    None => return Ok(None),
                },
                None => s,
            };
            if value.is_empty() {
                return Ok(None);
            }
            let decoded = percent_decode(value)
                .ok_or_else(|| ApiError::bad_request(format!("Invalid percent-encoding in path segment '{s}'.")))?;
            params.push(decoded);
        } else if p != s {
            return Ok(None);
        }
    }
    Ok(Some(params))
}

/// Decodes `%XX` escapes (and `+` as is); None for a malformed escape or non-UTF-8 result.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_params() {
        let m = route(&Method::GET, "/v3/clusters/abc/topics/my%2Etopic/partitions/3").expect("route");
        assert_eq!(m.route, Route::Partition);
        assert_eq!(m.params, vec!["abc", "my.topic", "3"]);
        assert_eq!(route(&Method::GET, "/topics/").expect("trailing slash").route, Route::V2Topics);
        assert_eq!(route(&Method::DELETE, "/v3/clusters/c/topics/t").expect("delete").route, Route::DeleteTopic);
    }

    #[test]
    fn literal_dashes_actions_and_confluent_only_families() {
        assert_eq!(route(&Method::GET, "/v3/clusters/c/topics/-/configs").expect("r").route, Route::AllTopicsConfigs);
        assert_eq!(route(&Method::GET, "/v3/clusters/c/topics/t/configs").expect("r").route, Route::TopicConfigs);
        let m = route(&Method::POST, "/v3/clusters/c/brokers/3:unregister").expect("r");
        assert_eq!((m.route, m.params), (Route::UnregisterBroker, vec!["c".to_string(), "3".to_string()]));
        assert_eq!(
            route(&Method::POST, "/v3/clusters/c/topics/t/configs:alter").expect("r").route,
            Route::TopicConfigsAlter
        );
        for p in [
            "/v3/clusters/c/links",
            "/v3/clusters/c/links/l/mirrors:promote",
            "/v3/clusters/c/balancer/any-uneven-load",
            "/v3/clusters/c/brokers/-/tasks",
            "/v3/clusters/c/brokers/1/tasks/add-broker",
            "/v3/clusters/c/broker-replica-exclusions:create",
            "/v3/clusters/c/remove-broker-tasks/1",
            "/v3/clusters/c/topics/t/partitions/-/replica-status",
        ] {
            assert_eq!(route(&Method::GET, p).expect(p).route, Route::ConfluentOnly, "{p}");
        }
        assert_eq!(route(&Method::DELETE, "/v3/clusters/c/brokers/1").expect("r").route, Route::ConfluentOnly);
    }

    #[test]
    fn unknown_path_is_404_and_wrong_method_405() {
        let e = route(&Method::GET, "/nope").expect_err("404");
        assert_eq!((e.status().as_u16(), e.error_code()), (404, 404));
        let e = route(&Method::PUT, "/v3/clusters/c/topics/t").expect_err("405");
        assert_eq!((e.status().as_u16(), e.error_code()), (405, 405));
        let e = route(&Method::GET, "/v3/clusters//topics").expect_err("empty segment");
        assert_eq!(e.status().as_u16(), 404);
        let e = route(&Method::GET, "/topics/%zz").expect_err("bad escape");
        assert_eq!(e.status().as_u16(), 400);
    }

    #[test]
    fn api_family_from_path() {
        assert_eq!(api_of("/v3/clusters"), Api::V3);
        assert_eq!(api_of("/topics"), Api::V2);
        assert_eq!(api_of("/v3x"), Api::V2);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Any path and method: a route, a 404/405/400 error, never a panic.
        #[test]
        fn routing_never_panics(path in "/[ -~]{0,80}", m in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])) {
            let method = Method::from_bytes(m.as_bytes()).expect("method");
            match route(&method, &path) {
                Ok(_) => {}
                Err(e) => prop_assert!(matches!(e.status().as_u16(), 400 | 404 | 405)),
            }
        }

        #[test]
        fn percent_decoding_round_trips(s in "\\PC{0,40}") {
            let encoded: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
            prop_assert_eq!(percent_decode(&encoded), Some(s));
        }
    }
}
