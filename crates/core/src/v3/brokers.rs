//! v3 brokers: `GET /v3/clusters/{c}/brokers`, `GET …/brokers/{broker_id}` (DescribeCluster).

use http::StatusCode;
use serde::Serialize;

use super::{Collection, Links, Related, Resource};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::metadata::{self, Broker};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

/// `BrokerData`.
#[derive(Serialize)]
struct BrokerData {
    cluster_id: String,
    broker_id: i32,
    host: String,
    port: i32,
    rack: Option<String>,
    configs: Related,
    partition_replicas: Related,
}

fn broker_view(links: &Links, b: &Broker) -> Resource<BrokerData> {
    let id = b.id;
    links.resource(
        "KafkaBroker",
        &format!("/brokers/{id}"),
        &format!("/broker={id}"),
        BrokerData {
            cluster_id: links.cluster_id().to_owned(),
            broker_id: id,
            host: b.host.clone(),
            port: b.port,
            rack: b.rack.clone(),
            configs: links.rel(&format!("/brokers/{id}/configs")),
            partition_replicas: links.rel(&format!("/brokers/{id}/partition-replicas")),
        },
    )
}

async fn described<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<metadata::ClusterMetadata> {
    let meta = metadata::describe_cluster(ctx.cluster(), ctx.deadline).await?;
    ctx.client().remember_cluster_id(&meta.cluster_id);
    if ctx.param("cluster") != meta.cluster_id {
        return Err(ApiError::cluster_not_found(ctx.param("cluster")));
    }
    Ok(meta)
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let meta = described(ctx).await?;
    let links = Links::new(ctx, &meta.cluster_id);
    let data = meta.brokers.iter().map(|b| broker_view(&links, b)).collect();
    Ok(ctx.json(StatusCode::OK, &Collection::new("KafkaBrokerList", links.url("/brokers"), data)))
}

pub async fn get<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let id = validate::broker_id(ctx.param("broker"))?;
    let meta = described(ctx).await?;
    let links = Links::new(ctx, &meta.cluster_id);
    let broker = meta.brokers.iter().find(|b| b.id == id).ok_or_else(|| ApiError::broker_not_found(id))?;
    Ok(ctx.json(StatusCode::OK, &broker_view(&links, broker)))
}

/// `POST …/brokers/{id}:unregister`: removes a stopped broker's registration (KRaft).
pub async fn unregister<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let id = validate::broker_id(ctx.param("broker"))?;
    ctx.check_cluster().await?;
    crate::kafka::ops::brokers::unregister(ctx.cluster(), id, ctx.deadline).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

/// The families only Confluent Server implements: a clear answer instead of a bare 404.
pub async fn confluent_only<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    Err(ApiError::new(
        crate::error::ErrorCode::NotImplemented,
        format!(
            "{} {} needs Confluent Server (cluster linking, Self-Balancing, broker tasks, replica exclusions or replica \
             status); this cluster runs Apache Kafka.",
            ctx.req.method, ctx.req.path
        ),
    ))
}
