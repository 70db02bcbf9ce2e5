//! v2 topics: `GET /topics`, `GET /topics/{topic}`.

use http::StatusCode;
use std::collections::BTreeMap;

use serde::Serialize;

use super::PartitionView;
use crate::app::Ctx;
use crate::error::ApiResult;
use crate::http::Response;
use crate::kafka::ops::{configs, metadata};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let meta = metadata::fetch(ctx.cluster(), metadata::Topics::All, ctx.deadline).await?;
    // Like the Java AdminClient's listTopics() that Confluent's v2 uses: internal topics are not listed.
    let names: Vec<&str> = meta.topics.iter().filter(|t| !t.is_internal).map(|t| t.name.as_str()).collect();
    Ok(ctx.json(StatusCode::OK, &names))
}

#[derive(Serialize)]
struct TopicView<'a> {
    name: &'a str,
    configs: BTreeMap<String, Option<String>>,
    partitions: Vec<PartitionView>,
}

pub async fn get<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic");
    validate::lookup_topic_name(name)?;
    // Metadata and the topic's configs, from two brokers at once if need be. Every config, as
    // Confluent's v2 (AdminClientWrapper.buildTopic puts all of describeConfigs' entries in).
    let (topic, configs) = futures::join!(
        metadata::topic(ctx.cluster(), name, ctx.deadline),
        configs::describe_topic(ctx.cluster(), name, ctx.deadline)
    );
    let topic = topic?;
    let configs = configs?.into_iter().map(|c| (c.name, if c.sensitive { None } else { c.value })).collect();
    Ok(ctx.json(
        StatusCode::OK,
        &TopicView {
            name: &topic.name,
            configs,
            partitions: topic.partitions.iter().map(PartitionView::from).collect(),
        },
    ))
}
