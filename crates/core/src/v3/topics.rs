//! v3 topics: list, get, create (CreateTopics), delete (DeleteTopics), PATCH partitions_count
//! (CreatePartitions) under `/v3/clusters/{cluster_id}/topics`.

use http::StatusCode;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde::Serialize;

use super::{Collection, Links, Related, Resource, checked_metadata, parse_body};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::metadata::{self, Topic, Topics};
use crate::kafka::ops::topics::{self, NewTopic};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

/// `TopicData` (`authorized_operations` is not returned).
#[derive(Serialize)]
struct TopicData {
    cluster_id: String,
    topic_name: String,
    is_internal: bool,
    replication_factor: i64,
    partitions_count: i64,
    partitions: Related,
    configs: Related,
    partition_reassignments: Related,
}

fn topic_view(
    links: &Links,
    name: &str,
    is_internal: bool,
    replication_factor: i64,
    partitions_count: i64,
) -> Resource<TopicData> {
    let t = format!("/topics/{name}");
    links.resource(
        "KafkaTopic",
        &t,
        &format!("/topic={name}"),
        TopicData {
            cluster_id: links.cluster_id().to_owned(),
            topic_name: name.to_owned(),
            is_internal,
            replication_factor,
            partitions_count,
            partitions: links.rel(&format!("{t}/partitions")),
            configs: links.rel(&format!("{t}/configs")),
            partition_reassignments: links.rel(&format!("{t}/partitions/-/reassignment")),
        },
    )
}

fn view_of(links: &Links, t: &Topic) -> Resource<TopicData> {
    topic_view(links, &t.name, t.is_internal, t.replication_factor() as i64, t.partitions.len() as i64)
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let meta = checked_metadata(ctx, Topics::All).await?;
    let links = Links::new(ctx, &meta.cluster_id);
    let data = meta.topics.iter().map(|t| view_of(&links, t)).collect();
    Ok(ctx.json(StatusCode::OK, &Collection::new("KafkaTopicList", links.url("/topics"), data)))
}

pub async fn get<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic").to_owned();
    validate::topic_name(&name)?;
    let names = [name.clone()];
    let meta = checked_metadata(ctx, Topics::Named(&names)).await?;
    let topic = meta.topic(&name).ok_or_else(|| ApiError::topic_not_found(&name))?;
    Ok(ctx.json(StatusCode::OK, &view_of(&Links::new(ctx, &meta.cluster_id), topic)))
}

#[derive(Deserialize)]
struct CreateTopicRequest {
    topic_name: String,
    partitions_count: Option<i32>,
    replication_factor: Option<i16>,
    #[serde(default)]
    replicas_assignments: Assignments,
    #[serde(default)]
    configs: Vec<ConfigEntry>,
    #[serde(default)]
    validate_only: bool,
}

/// `replicas_assignments` as the OpenAPI document has it (`{"0": [1, 2]}`), or as Confluent's Go
/// SDK sends it (`[{"partition_id": 0, "broker_ids": [1, 2]}]`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Assignments {
    Map(BTreeMap<String, Vec<i32>>),
    List(Vec<AssignmentEntry>),
}

impl Default for Assignments {
    fn default() -> Self {
        Assignments::Map(BTreeMap::new())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignmentEntry {
    partition_id: i32,
    broker_ids: Vec<i32>,
}

#[derive(Deserialize)]
struct ConfigEntry {
    name: String,
    value: Option<String>,
}

pub async fn create<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let body: CreateTopicRequest = parse_body(ctx)?;
    validate::topic_name(&body.topic_name)?;
    let mut assignments = Vec::new();
    match &body.replicas_assignments {
        Assignments::Map(map) => {
            for (partition, brokers) in map {
                let p = partition.parse::<i32>().ok().filter(|p| *p >= 0).ok_or_else(|| {
                    ApiError::bad_request(format!("replicas_assignments: '{partition}' is not a partition id."))
                })?;
                assignments.push((p, brokers.clone()));
            }
        }
        Assignments::List(list) => {
            for e in list {
                if e.partition_id < 0 {
                    return Err(ApiError::bad_request(format!(
                        "replicas_assignments: {} is not a partition id.",
                        e.partition_id
                    )));
                }
                assignments.push((e.partition_id, e.broker_ids.clone()));
            }
        }
    }
    let assigned_partitions = assignments.len() as i64;
    if body.configs.iter().any(|c| c.name.is_empty()) {
        return Err(ApiError::bad_request("configs: every entry needs a non-empty name."));
    }
    let cluster_id = ctx.check_cluster().await?;
    let new_topic = NewTopic {
        name: body.topic_name.clone(),
        partitions: body.partitions_count,
        replication_factor: body.replication_factor,
        assignments,
        configs: body.configs.into_iter().map(|c| (c.name, c.value)).collect(),
        validate_only: body.validate_only,
    };
    let created = topics::create(ctx.cluster(), &new_topic, ctx.deadline).await?;
    let links = Links::new(ctx, &cluster_id);
    // Older brokers answer -1 for these; then report what was asked for.
    let partitions = if created.partitions > 0 {
        created.partitions as i64
    } else {
        body.partitions_count.map(i64::from).unwrap_or(assigned_partitions)
    };
    let rf = if created.replication_factor > 0 {
        created.replication_factor as i64
    } else {
        body.replication_factor.map(i64::from).unwrap_or(-1)
    };
    let status = if body.validate_only { StatusCode::OK } else { StatusCode::CREATED };
    Ok(ctx.json(status, &topic_view(&links, &body.topic_name, false, rf, partitions)))
}

pub async fn delete<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic");
    validate::topic_name(name)?;
    validate::writable_topic(name, &ctx.app.config)?;
    ctx.check_cluster().await?;
    topics::delete(ctx.cluster(), name, ctx.deadline).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

#[derive(Deserialize)]
struct UpdatePartitionCountRequest {
    partitions_count: i32,
}

pub async fn update<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic").to_owned();
    validate::topic_name(&name)?;
    validate::writable_topic(&name, &ctx.app.config)?;
    let body: UpdatePartitionCountRequest = parse_body(ctx)?;
    let names = [name.clone()];
    let meta = checked_metadata(ctx, Topics::Named(&names)).await?;
    let topic = meta.topic(&name).ok_or_else(|| ApiError::topic_not_found(&name))?;
    let current = topic.partitions.len() as i32;
    if body.partitions_count <= current {
        return Err(ApiError::conflict_with_cluster(format!(
            "Topic '{name}' already has {current} partitions; partitions_count can only grow."
        )));
    }
    topics::create_partitions(ctx.cluster(), &name, body.partitions_count, false, ctx.deadline).await?;
    let links = Links::new(ctx, &meta.cluster_id);
    Ok(ctx.json(
        StatusCode::OK,
        &topic_view(&links, &name, topic.is_internal, topic.replication_factor() as i64, body.partitions_count as i64),
    ))
}

/// Metadata of one topic of the cluster in the path (used by the partitions resource too).
pub async fn checked_topic<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    name: &str,
) -> ApiResult<(String, metadata::Topic)> {
    validate::topic_name(name)?;
    let names = [name.to_owned()];
    let meta = checked_metadata(ctx, Topics::Named(&names)).await?;
    let topic = meta.topic(name).cloned().ok_or_else(|| ApiError::topic_not_found(name))?;
    Ok((meta.cluster_id, topic))
}
