//! v2 partitions: `GET /topics/{t}/partitions`, `…/partitions/{p}`, `…/partitions/{p}/offsets`.

use http::StatusCode;
use serde::Serialize;

use super::PartitionView;
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::{metadata, offsets};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic");
    validate::lookup_topic_name(name)?;
    let topic = metadata::topic(ctx.cluster(), name, ctx.deadline).await?;
    let view: Vec<PartitionView> = topic.partitions.iter().map(PartitionView::from).collect();
    Ok(ctx.json(StatusCode::OK, &view))
}

pub async fn get<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic");
    validate::lookup_topic_name(name)?;
    let id = validate::partition_id(name, ctx.param("partition"))?;
    let topic = metadata::topic(ctx.cluster(), name, ctx.deadline).await?;
    let partition = topic.partition(id).ok_or_else(|| ApiError::partition_not_found(name, id))?;
    Ok(ctx.json(StatusCode::OK, &PartitionView::from(partition)))
}

#[derive(Serialize)]
struct OffsetsView {
    beginning_offset: i64,
    end_offset: i64,
}

pub async fn offsets<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic");
    validate::lookup_topic_name(name)?;
    let id = validate::partition_id(name, ctx.param("partition"))?;
    let topic = metadata::topic(ctx.cluster(), name, ctx.deadline).await?;
    if topic.partition(id).is_none() {
        return Err(ApiError::partition_not_found(name, id));
    }
    let (beginning_offset, end_offset) = offsets::bounds(ctx.cluster(), &topic, id, ctx.deadline).await?;
    Ok(ctx.json(StatusCode::OK, &OffsetsView { beginning_offset, end_offset }))
}
