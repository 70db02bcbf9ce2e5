//! v3 partitions: `GET /v3/clusters/{c}/topics/{t}/partitions` and `…/partitions/{partition_id}`.

use http::StatusCode;

use super::topics::checked_topic;
use serde::Serialize;

use super::{Collection, Links, Related, Resource};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::metadata::Partition;
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

/// `PartitionData`.
#[derive(Serialize)]
struct PartitionData {
    cluster_id: String,
    topic_name: String,
    partition_id: i32,
    /// Absent when the partition has no leader (offline; optional in the document).
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<Related>,
    replicas: Related,
    reassignment: Related,
}

/// `PartitionWithOffsetsData`.
#[derive(Serialize)]
struct PartitionOffsets {
    cluster_id: String,
    topic_name: String,
    partition_id: i32,
    earliest_offset: i64,
    latest_offset: i64,
}

fn partition_view(links: &Links, topic: &str, p: &Partition) -> Resource<PartitionData> {
    let base = format!("/topics/{topic}/partitions/{}", p.id);
    links.resource(
        "KafkaPartition",
        &base,
        &format!("/topic={topic}/partition={}", p.id),
        PartitionData {
            cluster_id: links.cluster_id().to_owned(),
            topic_name: topic.to_owned(),
            partition_id: p.id,
            leader: (p.leader >= 0).then(|| links.rel(&format!("{base}/replicas/{}", p.leader))),
            replicas: links.rel(&format!("{base}/replicas")),
            reassignment: links.rel(&format!("{base}/reassignment")),
        },
    )
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, topic) = checked_topic(ctx, ctx.param("topic")).await?;
    let links = Links::new(ctx, &cluster_id);
    let data = topic.partitions.iter().map(|p| partition_view(&links, &topic.name, p)).collect();
    Ok(ctx.json(
        StatusCode::OK,
        &Collection::new("KafkaPartitionList", links.url(&format!("/topics/{}/partitions", topic.name)), data),
    ))
}

pub async fn get<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic");
    validate::topic_name(name)?;
    let id = validate::partition_id(name, ctx.param("partition"))?;
    let (cluster_id, topic) = checked_topic(ctx, name).await?;
    let p = topic.partition(id).ok_or_else(|| ApiError::partition_not_found(name, id))?;
    Ok(ctx.json(StatusCode::OK, &partition_view(&Links::new(ctx, &cluster_id), name, p)))
}

/// `GET …/partitions/{p}/offset`: the earliest and latest offsets (ListOffsets, both at once).
pub async fn offsets<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    use crate::kafka::ops::offsets;
    if let Some(t) = ctx.req.query_param("offset_type")
        && !t.is_empty()
        && !t.eq_ignore_ascii_case("earliest")
        && !t.eq_ignore_ascii_case("latest")
    {
        return Err(ApiError::bad_request(format!("offset_type '{t}' is not earliest or latest.")));
    }
    let name = ctx.param("topic");
    validate::topic_name(name)?;
    let id = validate::partition_id(name, ctx.param("partition"))?;
    let (cluster_id, topic) = checked_topic(ctx, name).await?;
    if topic.partition(id).is_none() {
        return Err(ApiError::partition_not_found(name, id));
    }
    let (earliest, latest) = offsets::bounds(ctx.cluster(), &topic, id, ctx.deadline).await?;
    let links = Links::new(ctx, &cluster_id);
    let view = links.resource(
        "KafkaPartitionWithOffsets",
        &format!("/topics/{name}/partitions/{id}/offset"),
        &format!("/topic={name}/partition={id}/offset"),
        PartitionOffsets {
            cluster_id,
            topic_name: name.to_owned(),
            partition_id: id,
            earliest_offset: earliest,
            latest_offset: latest,
        },
    );
    Ok(ctx.json(StatusCode::OK, &view))
}
