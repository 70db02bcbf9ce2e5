//! The application: configuration, the Kafka cluster client, the state store, and the request
//! pipeline (route → negotiate → handler → response, errors mapped once).

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::http::negotiate::{self, JSON, V2_JSON, V2_OFFERS, V3_OFFERS};
use crate::http::router::{self, Api, Route};
use crate::http::{Request, Response};
use crate::kafka::cluster::{ClientConfig, Cluster};
use crate::kafka::ops::metadata;
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};
use crate::state::KvStore;
use crate::{v2, v3};

pub struct App<C: Connect, R: Runtime, K: KvStore> {
    pub config: Config,
    pub cluster: Cluster<C, R>,
    pub kv: K,
    /// Topic metadata reused by the produce path.
    pub topics: crate::kafka::ops::metadata::TopicCache,
    /// Round robin for unkeyed records.
    pub spread: crate::kafka::ops::produce::RoundRobin,
    /// Group coordinators by group (a cache: dropped on coordinator errors).
    pub coordinators: RefCell<std::collections::HashMap<String, i32>>,
    /// v2 consumers' next records, fetched after their last answer (a cache).
    pub readahead: crate::kafka::readahead::ReadAhead,
    /// The cluster id never changes for a bootstrap list; cached for v3 path checks.
    cluster_id: RefCell<Option<String>>,
}

/// What a handler gets: the app, the request, its path parameters, the negotiated type, the deadline.
pub struct Ctx<'a, C: Connect, R: Runtime, K: KvStore> {
    pub app: &'a Rc<App<C, R, K>>,
    pub req: &'a Request,
    pub params: Vec<String>,
    pub content_type: &'static str,
    pub deadline: Deadline,
}

impl<C: Connect, R: Runtime, K: KvStore> Ctx<'_, C, R, K> {
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    pub fn cluster(&self) -> &Cluster<C, R> {
        &self.app.cluster
    }

    /// Base of absolute links: the configured URL or the origin the client used.
    pub fn base_url(&self) -> &str {
        self.app.config.advertised_base_url.as_deref().unwrap_or(&self.req.origin)
    }

    pub fn json(&self, status: http::StatusCode, value: &impl serde::Serialize) -> Response {
        Response::json(status, self.content_type, value)
    }

    /// The cluster id, checking it against the `{cluster_id}` path parameter (404 when different).
    pub async fn check_cluster(&self) -> ApiResult<String> {
        let id = self.app.cluster_id(self.deadline).await?;
        let wanted = self.param(0);
        if wanted != id {
            return Err(ApiError::cluster_not_found(wanted));
        }
        Ok(id)
    }
}

impl<C: Connect, R: Runtime, K: KvStore> App<C, R, K> {
    pub fn new(config: Config, connect: C, rt: R, kv: K) -> Self {
        let client = ClientConfig {
            bootstrap: config.bootstrap_servers.clone(),
            client_id: config.client_id.clone(),
            host_map: config.host_map.clone(),
            connect_timeout_ms: config.connect_timeout_ms,
        };
        let spread = crate::kafka::ops::produce::RoundRobin::seeded(rt.random_u64() as u32);
        App {
            cluster: Cluster::new(connect, rt, client),
            config,
            kv,
            topics: Default::default(),
            spread,
            coordinators: Default::default(),
            readahead: Default::default(),
            cluster_id: RefCell::new(None),
        }
    }

    pub async fn cluster_id(&self, deadline: Deadline) -> ApiResult<String> {
        if let Some(id) = self.cluster_id.borrow().clone() {
            return Ok(id);
        }
        let meta = metadata::fetch(&self.cluster, metadata::Topics::None, deadline).await?;
        self.remember_cluster_id(&meta.cluster_id);
        Ok(meta.cluster_id)
    }

    pub fn remember_cluster_id(&self, id: &str) {
        *self.cluster_id.borrow_mut() = Some(id.to_owned());
    }

    /// The produce options from configuration.
    pub fn produce_options(&self) -> crate::kafka::ops::produce::ProduceOptions {
        crate::kafka::ops::produce::ProduceOptions {
            acks: self.config.producer_acks,
            compression: self.config.producer_compression,
            metadata_max_age_ms: self.config.metadata_max_age_ms,
            max_batch_bytes: self.config.producer_max_batch_bytes,
        }
    }
}

impl<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static> App<C, R, K> {
    pub async fn handle(self: &Rc<Self>, req: Request) -> Response {
        let api = router::api_of(&req.path);
        let error_type = match api {
            Api::V2 => V2_JSON,
            Api::V3 => JSON,
        };
        let matched = match router::route(&req.method, &req.path) {
            Ok(m) => m,
            Err(e) => return Response::error(&e, error_type),
        };
        let offers = match matched.route.api() {
            Api::V2 => V2_OFFERS,
            Api::V3 => V3_OFFERS,
        };
        // Records come in the consumer's own format: that route checks Accept itself (40601).
        let content_type = if matched.route == Route::V2Records {
            V2_JSON
        } else {
            match negotiate::negotiate(req.header("accept"), offers) {
                Ok(t) => t,
                Err(e) => return Response::error(&e, error_type),
            }
        };
        if req.body.len() > self.config.max_request_bytes {
            return Response::error(&ApiError::payload_too_large(self.config.max_request_bytes), content_type);
        }
        let deadline = Deadline::after(self.cluster.runtime(), self.config.request_timeout_ms);
        let ctx = Ctx { app: self, req: &req, params: matched.params, content_type, deadline };
        match dispatch(&ctx, matched.route).await {
            Ok(response) => response,
            Err(e) => Response::error(&e, content_type),
        }
    }
}

async fn dispatch<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
    ctx: &Ctx<'_, C, R, K>,
    route: Route,
) -> ApiResult<Response> {
    match route {
        Route::V2Topics => v2::topics::list(ctx).await,
        Route::V2Topic => v2::topics::get(ctx).await,
        Route::V2Partitions => v2::partitions::list(ctx).await,
        Route::V2Partition => v2::partitions::get(ctx).await,
        Route::V2PartitionOffsets => v2::partitions::offsets(ctx).await,
        Route::V2Brokers => v2::brokers::list(ctx).await,
        Route::V2Produce => v2::produce::to_topic(ctx).await,
        Route::V2ProducePartition => v2::produce::to_partition(ctx).await,
        Route::V2CreateConsumer => v2::consumers::create(ctx).await,
        Route::V2DeleteConsumer => v2::consumers::delete_instance(ctx).await,
        Route::V2Subscribe => v2::consumers::subscribe(ctx).await,
        Route::V2Subscription => v2::consumers::subscription(ctx).await,
        Route::V2Unsubscribe => v2::consumers::unsubscribe(ctx).await,
        Route::V2Assign => v2::consumers::assign(ctx).await,
        Route::V2Assignments => v2::consumers::assignments(ctx).await,
        Route::V2Seek => v2::consumers::seek(ctx).await,
        Route::V2SeekBeginning => v2::consumers::seek_to(ctx, false).await,
        Route::V2SeekEnd => v2::consumers::seek_to(ctx, true).await,
        Route::V2Commit => v2::consumers::commit(ctx).await,
        Route::V2Committed => v2::consumers::committed(ctx).await,
        Route::V2Records => v2::consumers::records(ctx).await,
        Route::Clusters => v3::clusters::list(ctx).await,
        Route::Cluster => v3::clusters::get(ctx).await,
        Route::Brokers => v3::brokers::list(ctx).await,
        Route::Broker => v3::brokers::get(ctx).await,
        Route::Topics => v3::topics::list(ctx).await,
        Route::CreateTopic => v3::topics::create(ctx).await,
        Route::Topic => v3::topics::get(ctx).await,
        Route::DeleteTopic => v3::topics::delete(ctx).await,
        Route::UpdateTopic => v3::topics::update(ctx).await,
        Route::Partitions => v3::partitions::list(ctx).await,
        Route::Partition => v3::partitions::get(ctx).await,
        Route::PartitionOffsets => v3::partitions::offsets(ctx).await,
        Route::ReadPartition => v3::consume::read_partition(ctx).await,
        Route::FollowRecords => v3::consume::follow(ctx).await,
        Route::ProduceRecords => v3::records::produce(ctx).await,
        Route::ProduceBatch => v3::records::produce_batch(ctx).await,
        Route::ClusterConfigs => v3::configs::list(ctx, 'c').await,
        Route::ClusterConfigsAlter => v3::configs::alter(ctx, 'c').await,
        Route::ClusterConfig => v3::configs::get(ctx, 'c').await,
        Route::ClusterConfigUpdate => v3::configs::update(ctx, 'c').await,
        Route::ClusterConfigDelete => v3::configs::delete(ctx, 'c').await,
        Route::AllBrokersConfigs => v3::configs::list_all(ctx, false).await,
        Route::BrokerConfigs => v3::configs::list(ctx, 'b').await,
        Route::BrokerConfigsAlter => v3::configs::alter(ctx, 'b').await,
        Route::BrokerConfig => v3::configs::get(ctx, 'b').await,
        Route::BrokerConfigUpdate => v3::configs::update(ctx, 'b').await,
        Route::BrokerConfigDelete => v3::configs::delete(ctx, 'b').await,
        Route::AllTopicsConfigs => v3::configs::list_all(ctx, true).await,
        Route::TopicConfigs => v3::configs::list(ctx, 't').await,
        Route::TopicConfigsAlter => v3::configs::alter(ctx, 't').await,
        Route::TopicConfig => v3::configs::get(ctx, 't').await,
        Route::TopicConfigUpdate => v3::configs::update(ctx, 't').await,
        Route::TopicConfigDelete => v3::configs::delete(ctx, 't').await,
        Route::Replicas => v3::replicas::list(ctx).await,
        Route::Replica => v3::replicas::get(ctx).await,
        Route::BrokerReplicas => v3::replicas::of_broker(ctx).await,
        Route::AllReassignments => v3::reassignments::all(ctx).await,
        Route::TopicReassignments => v3::reassignments::of_topic(ctx).await,
        Route::PartitionReassignment => v3::reassignments::of_partition(ctx).await,
        Route::ConsumerGroups => v3::consumer_groups::list(ctx).await,
        Route::ConsumerGroup => v3::consumer_groups::get(ctx).await,
        Route::Consumers => v3::consumer_groups::consumers(ctx).await,
        Route::Consumer => v3::consumer_groups::consumer(ctx).await,
        Route::ConsumerAssignments => v3::consumer_groups::assignments(ctx).await,
        Route::ConsumerAssignment => v3::consumer_groups::assignment(ctx).await,
        Route::Lags => v3::consumer_groups::lags(ctx).await,
        Route::Lag => v3::consumer_groups::lag(ctx).await,
        Route::LagSummary => v3::consumer_groups::lag_summary(ctx).await,
        Route::Acls => v3::acls::list(ctx).await,
        Route::CreateAcl => v3::acls::create(ctx).await,
        Route::DeleteAcls => v3::acls::delete(ctx).await,
        Route::CreateAclsBatch => v3::acls::create_batch(ctx).await,
        Route::UnregisterBroker => v3::brokers::unregister(ctx).await,
        Route::ConfluentOnly => v3::brokers::confluent_only(ctx).await,
    }
}
