//! v3 clusters: `GET /v3/clusters`, `GET /v3/clusters/{cluster_id}` (DescribeCluster).

use http::StatusCode;
use serde::Serialize;

use super::{Collection, Links, Related, Resource};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::metadata;
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;

/// `ClusterData`.
#[derive(Serialize)]
struct ClusterData {
    cluster_id: String,
    /// Absent while the cluster has no active controller (optional in the document).
    #[serde(skip_serializing_if = "Option::is_none")]
    controller: Option<Related>,
    acls: Related,
    brokers: Related,
    broker_configs: Related,
    consumer_groups: Related,
    topics: Related,
    partition_reassignments: Related,
}

fn cluster_view(links: &Links, controller_id: i32) -> Resource<ClusterData> {
    links.resource(
        "KafkaCluster",
        "",
        "",
        ClusterData {
            cluster_id: links.cluster_id().to_owned(),
            controller: (controller_id >= 0).then(|| links.rel(&format!("/brokers/{controller_id}"))),
            acls: links.rel("/acls"),
            brokers: links.rel("/brokers"),
            broker_configs: links.rel("/broker-configs"),
            consumer_groups: links.rel("/consumer-groups"),
            topics: links.rel("/topics"),
            partition_reassignments: links.rel("/topics/-/partitions/-/reassignment"),
        },
    )
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let meta = metadata::describe_cluster(ctx.cluster(), ctx.deadline).await?;
    ctx.client().remember_cluster_id(&meta.cluster_id);
    let links = Links::new(ctx, &meta.cluster_id);
    let self_url = format!("{}/v3/clusters", ctx.base_url());
    Ok(ctx.json(
        StatusCode::OK,
        &Collection::new("KafkaClusterList", self_url, vec![cluster_view(&links, meta.controller_id)]),
    ))
}

pub async fn get<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let meta = metadata::describe_cluster(ctx.cluster(), ctx.deadline).await?;
    ctx.client().remember_cluster_id(&meta.cluster_id);
    if ctx.param("cluster") != meta.cluster_id {
        return Err(ApiError::cluster_not_found(ctx.param("cluster")));
    }
    Ok(ctx.json(StatusCode::OK, &cluster_view(&Links::new(ctx, &meta.cluster_id), meta.controller_id)))
}
