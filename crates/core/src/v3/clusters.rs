//! v3 clusters: `GET /v3/clusters`, `GET /v3/clusters/{cluster_id}` (DescribeCluster).

use http::StatusCode;
use serde_json::{Value, json};

use super::{Links, collection, resource};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::metadata;
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;

fn cluster_view(links: &Links, controller_id: i32) -> Value {
    let controller = (controller_id >= 0).then(|| links.related(&format!("/brokers/{controller_id}")));
    let mut v = resource(
        "KafkaCluster",
        links.url(""),
        links.crn(""),
        json!({
            "cluster_id": links.cluster_id(),
            "acls": links.related("/acls"),
            "brokers": links.related("/brokers"),
            "broker_configs": links.related("/broker-configs"),
            "consumer_groups": links.related("/consumer-groups"),
            "topics": links.related("/topics"),
            "partition_reassignments": links.related("/topics/-/partitions/-/reassignment"),
        }),
    );
    if let (Some(c), Value::Object(map)) = (controller, &mut v) {
        map.insert("controller".into(), c);
    }
    v
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let meta = metadata::describe_cluster(ctx.cluster(), ctx.deadline).await?;
    ctx.client().remember_cluster_id(&meta.cluster_id);
    let links = Links::new(ctx, &meta.cluster_id);
    let self_url = format!("{}/v3/clusters", ctx.base_url());
    Ok(ctx.json(
        StatusCode::OK,
        &collection("KafkaClusterList", self_url, vec![cluster_view(&links, meta.controller_id)]),
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
