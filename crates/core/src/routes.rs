//! The route table: every endpoint in one declaration — method, path pattern with named
//! parameters, handler, the request body it reads, what it answers with, and its API identifier as
//! Confluent's proxy names it (its `@ResourceName` annotations: `api.<version>.<family>.<action>`;
//! the allow/block lists of the security issue read them). The enum, the table and the dispatch
//! are generated from this one list, so adding an endpoint is one line.

use http::Method;

use crate::app::Ctx;
use crate::error::ApiResult;
use crate::http::Response;
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::v3::configs::ScopeKind;
use crate::{v2, v3};

/// The request body a route reads; its Content-Type is checked once, from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// No body is read (any Content-Type is ignored).
    None,
    /// v2 JSON: the v2 vendor types (any embedded format), `application/vnd.kafka+json` or
    /// `application/json`.
    V2,
    /// v2 produce: the embedded format comes from the Content-Type (checked by the handler, which
    /// needs the format).
    V2Embedded,
    /// v3 JSON: `application/json` or `application/vnd.kafka.v3+json`.
    V3,
}

/// What a route answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Produces {
    /// The v2 types, negotiated from Accept.
    V2,
    /// The v3 types, negotiated from Accept.
    V3,
    /// The consumer's embedded format, which Accept must match (40601; checked by the handler,
    /// which knows the consumer's format).
    ConsumerFormat,
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Spec {
    pub route: Route,
    pub method: Method,
    /// `/`-separated; `{name}` is a parameter, `{name}:action` a parameter followed by `:action`.
    pub pattern: &'static str,
    pub body: Body,
    pub produces: Produces,
    /// Confluent's `@ResourceName` of the endpoint (this project's own for its extensions).
    pub api_id: &'static str,
    /// The family's (resource class's) identifier when it is not the endpoint's with its last
    /// segment replaced by `*`.
    pub family: Option<&'static str>,
    /// The request body arrives as a stream (the host must not buffer it).
    pub streams: bool,
}

macro_rules! routes {
    ($(
        $route:ident: $method:ident $pattern:literal => $($handler:ident)::+ $(($($arg:expr),*))?,
            $body:ident -> $produces:ident, $api_id:literal $(in $family:literal)? $(, $streams:ident)?;
    )*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Route { $($route,)* }

        /// Literal segments are listed before `{param}` ones that would also match them.
        pub const TABLE: &[Spec] = &[$(Spec {
            route: Route::$route,
            method: Method::$method,
            pattern: $pattern,
            body: Body::$body,
            produces: Produces::$produces,
            api_id: $api_id,
            family: routes!(@family $($family)?),
            streams: routes!(@streams $($streams)?),
        },)*];

        pub(crate) async fn dispatch<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
            ctx: &Ctx<'_, C, R, K>,
            route: Route,
        ) -> ApiResult<Response> {
            match route {
                $(Route::$route => $($handler)::+(ctx $($(, $arg)*)?).await,)*
            }
        }
    };
    (@family) => { None };
    (@family $family:literal) => { Some($family) };
    (@streams) => { false };
    (@streams streaming) => { true };
}

routes! {
    // v2: topics, partitions, brokers, produce
    V2Topics: GET "/topics" => v2::topics::list, None -> V2, "api.v2.topics.list";
    V2Topic: GET "/topics/{topic}" => v2::topics::get, None -> V2, "api.v2.topics.get";
    V2Produce: POST "/topics/{topic}" => v2::produce::to_topic, V2Embedded -> V2, "api.v2.produce-to-topic.binary";
    V2Partitions: GET "/topics/{topic}/partitions" => v2::partitions::list, None -> V2, "api.v2.partitions.list";
    V2Partition: GET "/topics/{topic}/partitions/{partition}" => v2::partitions::get, None -> V2, "api.v2.partitions.get";
    V2ProducePartition: POST "/topics/{topic}/partitions/{partition}" => v2::produce::to_partition,
        V2Embedded -> V2, "api.v2.produce-to-partition.binary";
    V2PartitionOffsets: GET "/topics/{topic}/partitions/{partition}/offsets" => v2::partitions::offsets,
        None -> V2, "api.v2.partitions.get-offsets";
    V2Brokers: GET "/brokers" => v2::brokers::list, None -> V2, "api.v2.brokers.list";
    // v2: consumers
    V2CreateConsumer: POST "/consumers/{group}" => v2::consumers::create, V2 -> V2, "api.v2.consumers.create";
    V2DeleteConsumer: DELETE "/consumers/{group}/instances/{instance}" => v2::consumers::delete_instance,
        None -> V2, "api.v2.consumers.delete";
    V2Subscribe: POST "/consumers/{group}/instances/{instance}/subscription" => v2::consumers::subscribe,
        V2 -> V2, "api.v2.consumers.subscribe";
    V2Subscription: GET "/consumers/{group}/instances/{instance}/subscription" => v2::consumers::subscription,
        None -> V2, "api.v2.consumers.get-subscription";
    V2Unsubscribe: DELETE "/consumers/{group}/instances/{instance}/subscription" => v2::consumers::unsubscribe,
        None -> V2, "api.v2.consumers.unsubscribe";
    V2Assign: POST "/consumers/{group}/instances/{instance}/assignments" => v2::consumers::assign,
        V2 -> V2, "api.v2.consumers.assign";
    V2Assignments: GET "/consumers/{group}/instances/{instance}/assignments" => v2::consumers::assignments,
        None -> V2, "api.v2.consumers.get-assignments";
    V2Seek: POST "/consumers/{group}/instances/{instance}/positions" => v2::consumers::seek,
        V2 -> V2, "api.v2.consumers.seek-to-offset";
    V2SeekBeginning: POST "/consumers/{group}/instances/{instance}/positions/beginning" => v2::consumers::seek_to(false),
        V2 -> V2, "api.v2.consumers.seek-to-beginning";
    V2SeekEnd: POST "/consumers/{group}/instances/{instance}/positions/end" => v2::consumers::seek_to(true),
        V2 -> V2, "api.v2.consumers.seek-to-end";
    V2Commit: POST "/consumers/{group}/instances/{instance}/offsets" => v2::consumers::commit,
        V2 -> V2, "api.v2.consumers.commit-offsets";
    V2Committed: GET "/consumers/{group}/instances/{instance}/offsets" => v2::consumers::committed,
        V2 -> V2, "api.v2.consumers.get-committed-offsets";
    // Confluent names one id per embedded format (consume-binary, consume-json, …), chosen by
    // Accept: `Spec::endpoint_id` picks it per request; this row names the binary one.
    V2Records: GET "/consumers/{group}/instances/{instance}/records" => v2::consumers::records,
        None -> ConsumerFormat, "api.v2.consumers.consume-binary";

    // v3: clusters, brokers
    Clusters: GET "/v3/clusters" => v3::clusters::list, None -> V3, "api.v3.clusters.list";
    Cluster: GET "/v3/clusters/{cluster}" => v3::clusters::get, None -> V3, "api.v3.clusters.get";
    Brokers: GET "/v3/clusters/{cluster}/brokers" => v3::brokers::list, None -> V3, "api.v3.brokers.list";
    Broker: GET "/v3/clusters/{cluster}/brokers/{broker}" => v3::brokers::get, None -> V3, "api.v3.brokers.get";
    UnregisterBroker: POST "/v3/clusters/{cluster}/brokers/{broker}:unregister" => v3::brokers::unregister,
        None -> V3, "api.v3.brokers.unregister";
    // v3: topics, partitions
    Topics: GET "/v3/clusters/{cluster}/topics" => v3::topics::list, None -> V3, "api.v3.topics.list";
    CreateTopic: POST "/v3/clusters/{cluster}/topics" => v3::topics::create, V3 -> V3, "api.v3.topics.create";
    Topic: GET "/v3/clusters/{cluster}/topics/{topic}" => v3::topics::get, None -> V3, "api.v3.topics.get";
    DeleteTopic: DELETE "/v3/clusters/{cluster}/topics/{topic}" => v3::topics::delete, None -> V3, "api.v3.topics.delete";
    UpdateTopic: PATCH "/v3/clusters/{cluster}/topics/{topic}" => v3::topics::update,
        V3 -> V3, "api.v3.topics.partitions";
    Partitions: GET "/v3/clusters/{cluster}/topics/{topic}/partitions" => v3::partitions::list,
        None -> V3, "api.v3.partitions.list";
    Partition: GET "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}" => v3::partitions::get,
        None -> V3, "api.v3.partitions.get";
    PartitionOffsets: GET "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/offset" => v3::partitions::offsets,
        None -> V3, "api.v3.partitions.list.offsets" in "api.v3.partition-offsets.*";
    // v3: records (produce; the consume extension)
    ProduceRecords: POST "/v3/clusters/{cluster}/topics/{topic}/records" => v3::records::produce,
        V3 -> V3, "api.v3.produce.produce-to-topic", streaming;
    FollowRecords: GET "/v3/clusters/{cluster}/topics/{topic}/records" => v3::records::follow,
        None -> V3, "api.v3.consume.follow-topic";
    ProduceBatch: POST "/v3/clusters/{cluster}/topics/{topic}/records:batch" => v3::records::produce_batch,
        V3 -> V3, "api.v3.produce.produce-batch-to-topic";
    ReadPartition: GET "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/records" => v3::records::read_partition,
        None -> V3, "api.v3.consume.read-partition";
    // v3: configs (cluster-wide, broker, topic)
    ClusterConfigs: GET "/v3/clusters/{cluster}/broker-configs" => v3::configs::list(ScopeKind::Cluster),
        None -> V3, "api.v3.cluster-configs.list";
    ClusterConfigsAlter: POST "/v3/clusters/{cluster}/broker-configs:alter" => v3::configs::alter(ScopeKind::Cluster),
        V3 -> V3, "api.v3.cluster-configs.alter";
    ClusterConfig: GET "/v3/clusters/{cluster}/broker-configs/{name}" => v3::configs::get(ScopeKind::Cluster),
        None -> V3, "api.v3.cluster-configs.get";
    ClusterConfigUpdate: PUT "/v3/clusters/{cluster}/broker-configs/{name}" => v3::configs::update(ScopeKind::Cluster),
        V3 -> V3, "api.v3.cluster-configs.update";
    ClusterConfigDelete: DELETE "/v3/clusters/{cluster}/broker-configs/{name}" => v3::configs::delete(ScopeKind::Cluster),
        None -> V3, "api.v3.cluster-configs.delete";
    AllBrokersConfigs: GET "/v3/clusters/{cluster}/brokers/-/configs" => v3::configs::list_all(false),
        None -> V3, "api.v3.broker-configs.list-all";
    BrokerConfigs: GET "/v3/clusters/{cluster}/brokers/{broker}/configs" => v3::configs::list(ScopeKind::Broker),
        None -> V3, "api.v3.broker-configs.list";
    BrokerConfigsAlter: POST "/v3/clusters/{cluster}/brokers/{broker}/configs:alter" => v3::configs::alter(ScopeKind::Broker),
        V3 -> V3, "api.v3.broker-configs.alter";
    BrokerConfig: GET "/v3/clusters/{cluster}/brokers/{broker}/configs/{name}" => v3::configs::get(ScopeKind::Broker),
        None -> V3, "api.v3.broker-configs.get";
    BrokerConfigUpdate: PUT "/v3/clusters/{cluster}/brokers/{broker}/configs/{name}" => v3::configs::update(ScopeKind::Broker),
        V3 -> V3, "api.v3.broker-configs.update";
    BrokerConfigDelete: DELETE "/v3/clusters/{cluster}/brokers/{broker}/configs/{name}" => v3::configs::delete(ScopeKind::Broker),
        None -> V3, "api.v3.broker-configs.delete";
    AllTopicsConfigs: GET "/v3/clusters/{cluster}/topics/-/configs" => v3::configs::list_all(true),
        None -> V3, "api.v3.topic-configs.list-all";
    TopicConfigs: GET "/v3/clusters/{cluster}/topics/{topic}/configs" => v3::configs::list(ScopeKind::Topic),
        None -> V3, "api.v3.topic-configs.list";
    TopicConfigsAlter: POST "/v3/clusters/{cluster}/topics/{topic}/configs:alter" => v3::configs::alter(ScopeKind::Topic),
        V3 -> V3, "api.v3.topic-configs.alter";
    TopicConfig: GET "/v3/clusters/{cluster}/topics/{topic}/configs/{name}" => v3::configs::get(ScopeKind::Topic),
        None -> V3, "api.v3.topic-configs.get";
    TopicConfigUpdate: PUT "/v3/clusters/{cluster}/topics/{topic}/configs/{name}" => v3::configs::update(ScopeKind::Topic),
        V3 -> V3, "api.v3.topic-configs.update";
    TopicConfigDelete: DELETE "/v3/clusters/{cluster}/topics/{topic}/configs/{name}" => v3::configs::delete(ScopeKind::Topic),
        None -> V3, "api.v3.topic-configs.delete";
    // v3: replicas, reassignments
    Replicas: GET "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/replicas" => v3::replicas::list,
        None -> V3, "api.v3.replicas.list";
    Replica: GET "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/replicas/{broker}" => v3::replicas::get,
        None -> V3, "api.v3.replicas.get";
    BrokerReplicas: GET "/v3/clusters/{cluster}/brokers/{broker}/partition-replicas" => v3::replicas::of_broker,
        None -> V3, "api.v3.replicas.search-by-broker";
    AllReassignments: GET "/v3/clusters/{cluster}/topics/-/partitions/-/reassignment" => v3::reassignments::all,
        None -> V3, "api.v3.partition-reassignment.list-all";
    TopicReassignments: GET "/v3/clusters/{cluster}/topics/{topic}/partitions/-/reassignment" => v3::reassignments::of_topic,
        None -> V3, "api.v3.partition-reassignment.list";
    PartitionReassignment: GET "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/reassignment" => v3::reassignments::of_partition,
        None -> V3, "api.v3.partition-reassignment.get";
    // v3: consumer groups, lags
    ConsumerGroups: GET "/v3/clusters/{cluster}/consumer-groups" => v3::consumer_groups::list,
        None -> V3, "api.v3.consumer-groups.list";
    ConsumerGroup: GET "/v3/clusters/{cluster}/consumer-groups/{group}" => v3::consumer_groups::get,
        None -> V3, "api.v3.consumer-groups.get";
    Consumers: GET "/v3/clusters/{cluster}/consumer-groups/{group}/consumers" => v3::consumer_groups::consumers,
        None -> V3, "api.v3.consumers.list";
    Consumer: GET "/v3/clusters/{cluster}/consumer-groups/{group}/consumers/{consumer}" => v3::consumer_groups::consumer,
        None -> V3, "api.v3.consumers.get";
    ConsumerAssignments: GET "/v3/clusters/{cluster}/consumer-groups/{group}/consumers/{consumer}/assignments" => v3::consumer_groups::assignments,
        None -> V3, "api.v3.consumer-assignments.list";
    ConsumerAssignment: GET "/v3/clusters/{cluster}/consumer-groups/{group}/consumers/{consumer}/assignments/{topic}/partitions/{partition}" => v3::consumer_groups::assignment,
        None -> V3, "api.v3.consumer-assignments.get";
    Lags: GET "/v3/clusters/{cluster}/consumer-groups/{group}/lags" => v3::consumer_groups::lags,
        None -> V3, "api.v3.consumer-lags.list";
    Lag: GET "/v3/clusters/{cluster}/consumer-groups/{group}/lags/{topic}/partitions/{partition}" => v3::consumer_groups::lag,
        None -> V3, "api.v3.consumer-lags.get";
    LagSummary: GET "/v3/clusters/{cluster}/consumer-groups/{group}/lag-summary" => v3::consumer_groups::lag_summary,
        None -> V3, "api.v3.consumer-group-lag-summary.get";
    // v3: ACLs
    Acls: GET "/v3/clusters/{cluster}/acls" => v3::acls::list, None -> V3, "api.v3.acls.list";
    CreateAcl: POST "/v3/clusters/{cluster}/acls" => v3::acls::create, V3 -> V3, "api.v3.acls.create";
    DeleteAcls: DELETE "/v3/clusters/{cluster}/acls" => v3::acls::delete, None -> V3, "api.v3.acls.delete";
    CreateAclsBatch: POST "/v3/clusters/{cluster}/acls:batch" => v3::acls::create_batch,
        V3 -> V3, "api.v3.acls.batch-create";
    // Confluent Server only (Self-Balancing broker removal); more families in `router::confluent_only`.
    ConfluentOnly: DELETE "/v3/clusters/{cluster}/brokers/{broker}" => v3::brokers::confluent_only,
        None -> V3, "api.v3.brokers.delete";
    ConfluentOnlyBrokersDelete: POST "/v3/clusters/{cluster}/brokers:delete" => v3::brokers::confluent_only,
        None -> V3, "api.v3.brokers.batch-delete";
    ConfluentOnlyDefaultConfigs: GET "/v3/clusters/{cluster}/topics/{topic}/default-configs" => v3::brokers::confluent_only,
        None -> V3, "api.v3.topic-configs.list-default";
}

impl Spec {
    /// The identifier of the endpoint's family, as Confluent annotates the resource class
    /// (`api.v3.topics.list` → `api.v3.topics.*`).
    pub fn family_id(&self) -> String {
        if let Some(family) = self.family {
            return family.to_owned();
        }
        match self.api_id.rsplit_once('.') {
            Some((family, _)) => format!("{family}.*"),
            None => self.api_id.to_owned(),
        }
    }

    /// The endpoint's identifier for one request. Confluent has one Java method (and id) per
    /// embedded format where this project has one route: v2 produce picks it by Content-Type
    /// (`api.v2.produce-to-topic.json`, `….json-schema`, …), v2 records by Accept
    /// (`api.v2.consumers.consume-avro`, …); binary when neither names a format.
    pub fn endpoint_id(&self, content_type: Option<&str>, accept: Option<&str>) -> String {
        let format = |header: Option<&str>| {
            let header = header.unwrap_or_default().to_ascii_lowercase();
            ["jsonschema", "protobuf", "avro", "json"]
                .into_iter()
                .find(|f| header.contains(&format!("vnd.kafka.{f}.v2")))
                .unwrap_or("binary")
        };
        let name = |f: &str| if f == "jsonschema" { "json-schema".to_owned() } else { f.to_owned() };
        match self.route {
            Route::V2Produce => format!("api.v2.produce-to-topic.{}", name(format(content_type))),
            Route::V2ProducePartition => format!("api.v2.produce-to-partition.{}", name(format(content_type))),
            Route::V2Records => format!("api.v2.consumers.consume-{}", name(format(accept))),
            _ => self.api_id.to_owned(),
        }
    }

    /// Whether the access lists disable this endpoint (identified as `endpoint_id`), as
    /// Confluent's ResourceAccesslistFeature decides: a non-empty allowlist disables what neither
    /// the family nor the endpoint id is in; a non-empty blocklist disables what either is in;
    /// both may apply.
    pub fn blocked_as(&self, endpoint_id: &str, allow: &[String], block: &[String]) -> bool {
        let family = self.family_id();
        let listed = |list: &[String]| list.iter().any(|id| id == endpoint_id || *id == family);
        (!allow.is_empty() && !listed(allow)) || (!block.is_empty() && listed(block))
    }

    /// [`Spec::blocked_as`] with the row's own identifier.
    pub fn blocked(&self, allow: &[String], block: &[String]) -> bool {
        self.blocked_as(self.api_id, allow, block)
    }
}

impl Route {
    pub fn spec(self) -> &'static Spec {
        // Every variant has exactly one row (the macro writes both from one list).
        TABLE.iter().find(|s| s.route == self).unwrap_or(&TABLE[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::router::route;

    /// A concrete path for `pattern` (`{p}` → `p1`, `{p}:action` → `p1:action`).
    fn sample(pattern: &str) -> String {
        pattern
            .split('/')
            .map(|seg| match seg.strip_prefix('{') {
                Some(inner) => match inner.split_once("}:") {
                    Some((name, action)) => format!("{name}1:{action}"),
                    None => format!("{}1", inner.trim_end_matches('}')),
                },
                None => seg.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn every_row_is_reachable_and_names_its_parameters() {
        for spec in TABLE {
            let path = sample(spec.pattern);
            let m = route(&spec.method, &path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(m.route, spec.route, "{} {path} is shadowed by an earlier row", spec.method);
            for seg in spec.pattern.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_start_matches('{').split('}').next().unwrap_or("");
                assert_eq!(m.params.get(name), format!("{name}1"), "{}", spec.pattern);
            }
        }
    }

    #[test]
    fn one_row_per_route_and_api_ids_are_unique_and_versioned() {
        let mut routes = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for spec in TABLE {
            assert!(routes.insert(spec.route), "{:?} twice", spec.route);
            assert!(ids.insert(spec.api_id), "{} twice", spec.api_id);
            let v3 = spec.pattern.starts_with("/v3/");
            assert!(spec.api_id.starts_with(if v3 { "api.v3." } else { "api.v2." }), "{}", spec.api_id);
            assert_eq!(v3, spec.produces == Produces::V3, "{}", spec.pattern);
            assert_eq!(spec.route.spec().pattern, spec.pattern);
        }
    }

    #[test]
    fn access_lists_as_the_reference_examples() {
        let list = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let (clusters, cluster, topics) = (Route::Clusters.spec(), Route::Cluster.spec(), Route::Topics.spec());
        assert_eq!(clusters.family_id(), "api.v3.clusters.*");
        // Only the v3 cluster APIs accessible.
        let allow = list(&["api.v3.clusters.*"]);
        assert!(!clusters.blocked(&allow, &[]) && !cluster.blocked(&allow, &[]) && topics.blocked(&allow, &[]));
        // Only the v3 cluster APIs inaccessible.
        assert!(clusters.blocked(&[], &allow) && cluster.blocked(&[], &allow) && !topics.blocked(&[], &allow));
        // The cluster APIs accessible, except list.
        let block = list(&["api.v3.clusters.list"]);
        assert!(clusters.blocked(&allow, &block) && !cluster.blocked(&allow, &block) && topics.blocked(&allow, &block));
        // Identifiers match exactly: no wildcards, no prefixes.
        assert!(topics.blocked(&list(&["api.v3.*"]), &[]));
        assert!(!Route::V2Topics.spec().blocked(&[], &list(&["api.v2.topics"])));
        // A family named apart from its endpoint (Confluent's ListPartitionOffsetsAction).
        let offsets = Route::PartitionOffsets.spec();
        assert_eq!(offsets.family_id(), "api.v3.partition-offsets.*");
        assert!(offsets.blocked(&[], &list(&["api.v3.partition-offsets.*"])));
        assert!(offsets.blocked(&[], &list(&["api.v3.partitions.list.offsets"])));
        // One id per embedded format, by Content-Type (produce) or Accept (records).
        let produce = Route::V2Produce.spec();
        assert_eq!(
            produce.endpoint_id(Some("application/vnd.kafka.json.v2+json"), None),
            "api.v2.produce-to-topic.json"
        );
        assert_eq!(
            produce.endpoint_id(Some("application/vnd.kafka.jsonschema.v2+json"), None),
            "api.v2.produce-to-topic.json-schema"
        );
        assert_eq!(produce.endpoint_id(None, None), "api.v2.produce-to-topic.binary");
        let records = Route::V2Records.spec();
        assert_eq!(
            records.endpoint_id(None, Some("application/vnd.kafka.avro.v2+json")),
            "api.v2.consumers.consume-avro"
        );
        let json_only = list(&["api.v2.produce-to-topic.json"]);
        assert!(!produce.blocked_as(
            &produce.endpoint_id(Some("application/vnd.kafka.json.v2+json"), None),
            &json_only,
            &[]
        ));
        assert!(produce.blocked_as(&produce.endpoint_id(None, None), &json_only, &[]));
    }

    #[test]
    fn bodies_are_declared_for_every_method_that_sends_one() {
        for spec in TABLE.iter().filter(|s| s.method == Method::PUT || s.method == Method::PATCH) {
            assert_ne!(spec.body, Body::None, "{}", spec.pattern);
        }
        assert!(TABLE.iter().filter(|s| s.streams).all(|s| s.route == Route::ProduceRecords));
    }
}
