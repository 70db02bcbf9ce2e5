//! v2 consumer instances: `POST /consumers/{group}`, `DELETE /consumers/{group}/instances/{instance}`.
//!
//! The instance is a record in the key-value store, not an object in this process: any instance of
//! the component serves it. Group membership, subscriptions, offsets and records build on this
//! record (issue: stateless v2 consumers).

use http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::app::Ctx;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::{ConsumerInstance, KvStore, consumer_key};

const FORMATS: &[&str] = &["binary", "json", "avro", "jsonschema", "protobuf"];

fn invalid_config(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidConsumerConfig, message)
}

/// A group or instance name: used in URLs and keys, so no control characters and a sane length.
fn check_name(what: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!("Invalid {what} '{}'.", name.escape_default())));
    }
    Ok(())
}

/// A setting given as a string (as the reference shows) or as a JSON scalar.
fn setting(body: &serde_json::Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v @ (Value::Bool(_) | Value::Number(_))) => Ok(Some(v.to_string())),
        Some(other) => Err(invalid_config(format!("{key}: expected a string, got {other}"))),
    }
}

#[derive(Serialize)]
struct Created {
    instance_id: String,
    base_uri: String,
}

pub async fn create<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let group = ctx.param("group").to_owned();
    check_name("consumer group name", &group)?;
    let body: Value = if ctx.req.body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&ctx.req.body)
            .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}.")))?
    };
    let Value::Object(body) = body else {
        return Err(ApiError::unprocessable("The request body must be a JSON object."));
    };
    let rt = ctx.cluster().runtime();
    let name = match setting(&body, "name")? {
        Some(n) => n,
        None => format!("rest-consumer-{:016x}", rt.random_u64()),
    };
    check_name("consumer instance name", &name)?;
    let format = setting(&body, "format")?.unwrap_or_else(|| "binary".into()).to_ascii_lowercase();
    if !FORMATS.contains(&format.as_str()) {
        return Err(invalid_config(format!("format: '{format}' is not one of {}", FORMATS.join(", "))));
    }
    let auto_offset_reset = setting(&body, "auto.offset.reset")?.unwrap_or_else(|| "latest".into());
    if !["earliest", "latest", "none"].contains(&auto_offset_reset.as_str()) {
        return Err(invalid_config(format!(
            "auto.offset.reset: '{auto_offset_reset}' is not earliest, latest or none"
        )));
    }
    let auto_commit_enable = match setting(&body, "auto.commit.enable")?.as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => return Err(invalid_config(format!("auto.commit.enable: '{other}' is not true or false"))),
    };
    let fetch_min_bytes = match setting(&body, "fetch.min.bytes")? {
        None => None,
        Some(v) => Some(
            v.parse::<i32>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid_config(format!("fetch.min.bytes: '{v}' is not a non-negative integer")))?,
        ),
    };
    let request_timeout_ms = match setting(&body, "consumer.request.timeout.ms")? {
        None => None,
        Some(v) => Some(v.parse::<u64>().ok().ok_or_else(|| {
            invalid_config(format!("consumer.request.timeout.ms: '{v}' is not a non-negative integer"))
        })?),
    };
    let now = rt.wall_ms();
    let record = ConsumerInstance {
        group: group.clone(),
        name: name.clone(),
        format,
        auto_offset_reset,
        auto_commit_enable,
        fetch_min_bytes,
        request_timeout_ms,
        created_ms: now,
        last_used_ms: now,
        version: 1,
        subscription: None,
        assignment: vec![],
        member: None,
        positions: vec![],
        last_commit_ms: 0,
    };
    // Create-if-absent: of two racing creates of one name, one gets 40902.
    if !crate::state::create_consumer(&ctx.app.kv, &record).await? {
        return Err(ApiError::new(
            ErrorCode::ConsumerAlreadyExists,
            format!("Consumer instance with the name '{name}' already exists."),
        ));
    }
    let base_uri = format!(
        "{}/consumers/{}/instances/{}",
        ctx.base_url(),
        crate::http::router::encode_segment(&group),
        crate::http::router::encode_segment(&name)
    );
    Ok(ctx.json(StatusCode::OK, &Created { instance_id: name, base_uri }))
}

// ---------------------------------------------------------------------------------------------
// Everything after creation: each request loads the instance record, does its Kafka work, and
// writes the record back (versioned). No instance memory is involved, so any proxy instance
// serves any consumer.

use crate::kafka::ops::consumer::{self, Subscribe};
use crate::kafka::ops::{groups, metadata, offsets};
use crate::kafka::readahead::{Lookup, MAX_READAHEAD_BYTES, Positions};
use crate::state::{Membership, Subscription, TopicPartition, load_consumer, save_consumer};

/// Loads the instance named in the path; gone when missing or idle past the instance timeout.
async fn instance<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<ConsumerInstance> {
    let (group, name) = (ctx.param("group"), ctx.param("instance"));
    let Some(rec) = load_consumer(&ctx.app.kv, group, name).await? else {
        return Err(ApiError::consumer_not_found(group, name));
    };
    let now = ctx.cluster().runtime().wall_ms();
    if now - rec.last_used_ms > ctx.app.config.consumer_instance_timeout_ms as i64 {
        // Expired: clean up what is left (the broker fenced its membership long ago).
        ctx.app.kv.delete(&consumer_key(group, name)).await?;
        return Err(ApiError::consumer_not_found(group, name));
    }
    Ok(rec)
}

async fn save<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, rec: &mut ConsumerInstance) -> ApiResult<()> {
    rec.last_used_ms = ctx.cluster().runtime().wall_ms();
    save_consumer(&ctx.app.kv, rec).await?;
    Ok(())
}

fn body_json<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Value> {
    if ctx.req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&ctx.req.body).map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}.")))
}

/// `[{"topic", "partition"}]` under `field`.
fn partitions_of(body: &Value, field: &str) -> ApiResult<Vec<TopicPartition>> {
    let list = body
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::unprocessable(format!("{field} must be a list.")))?;
    list.iter()
        .map(|p| {
            let topic = p.get("topic").and_then(Value::as_str);
            let partition = p.get("partition").and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok());
            match (topic, partition) {
                (Some(t), Some(n)) if n >= 0 => Ok(TopicPartition { topic: t.to_owned(), partition: n }),
                _ => {
                    Err(ApiError::unprocessable(format!("{field}: each entry needs a topic and a partition, got {p}.")))
                }
            }
        })
        .collect()
}

fn mutually_exclusive() -> ApiError {
    ApiError::new(ErrorCode::IllegalState, "Subscription to topics, partitions and pattern are mutually exclusive.")
}

pub async fn subscribe<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let mut rec = instance(ctx).await?;
    let body = body_json(ctx)?;
    let topics = body.get("topics").filter(|v| !v.is_null());
    let pattern = body.get("topic_pattern").filter(|v| !v.is_null());
    let subscription = match (topics, pattern) {
        (Some(_), Some(_)) => return Err(mutually_exclusive()),
        (Some(t), None) => {
            let names: Vec<String> = t
                .as_array()
                .and_then(|a| a.iter().map(|v| v.as_str().map(String::from)).collect::<Option<Vec<_>>>())
                .ok_or_else(|| ApiError::unprocessable("topics must be a list of topic names."))?;
            if names.is_empty() {
                return Err(ApiError::unprocessable("topics may not be empty."));
            }
            for n in &names {
                crate::validate::topic_name(n)?;
            }
            Subscription::Topics(names)
        }
        (None, Some(p)) => Subscription::Pattern(
            p.as_str()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ApiError::unprocessable("topic_pattern must be a regular expression."))?
                .to_owned(),
        ),
        (None, None) => return Err(ApiError::unprocessable("topics or topic_pattern is required.")),
    };
    if !rec.assignment.is_empty() {
        return Err(mutually_exclusive());
    }
    rec.subscription = Some(subscription);
    save(ctx, &mut rec).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn subscription<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let rec = instance(ctx).await?;
    let topics: Vec<String> = match &rec.subscription {
        Some(Subscription::Topics(t)) => t.clone(),
        // A pattern: the topics it currently brings (as assigned to this member).
        Some(Subscription::Pattern(_)) => {
            let mut t: Vec<String> = rec.partitions().into_iter().map(|p| p.topic).collect();
            t.dedup();
            t
        }
        None => vec![],
    };
    Ok(ctx.json(StatusCode::OK, &serde_json::json!({ "topics": topics })))
}

/// Leaves the group at once (KIP-848: a heartbeat with epoch -1; classic: LeaveGroup), so the
/// partitions move without waiting for the session to time out.
async fn leave<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, rec: &ConsumerInstance) {
    if let (Some(m), Some(sub)) = (&rec.member, &rec.subscription) {
        let Ok(coords) = groups::coordinators(ctx.cluster(), std::slice::from_ref(&rec.group), ctx.deadline).await
        else {
            return;
        };
        let Some(&coordinator) = coords.get(&rec.group) else { return };
        if m.protocol == "classic" {
            // LeaveGroup: the group rebalances now rather than when the session runs out.
            let _ =
                crate::kafka::ops::classic::leave(ctx.cluster(), coordinator, &rec.group, &m.member_id, ctx.deadline)
                    .await;
            return;
        }
        let meta =
            metadata::ClusterMetadata { cluster_id: String::new(), controller_id: -1, brokers: vec![], topics: vec![] };
        let topics;
        let subscribe = match sub {
            Subscription::Topics(t) => {
                topics = t.clone();
                Subscribe::Topics(&topics)
            }
            Subscription::Pattern(p) => Subscribe::Pattern(p),
        };
        let _ = consumer::heartbeat(
            ctx.cluster(),
            coordinator,
            &rec.group,
            &m.member_id,
            -1,
            &subscribe,
            &[],
            &meta,
            ctx.deadline,
        )
        .await;
    }
}

pub async fn unsubscribe<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let mut rec = instance(ctx).await?;
    leave(ctx, &rec).await;
    rec.subscription = None;
    rec.member = None;
    rec.positions.clear();
    save(ctx, &mut rec).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn delete_instance<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let rec = instance(ctx).await?;
    leave(ctx, &rec).await;
    ctx.app.readahead.forget(&consumer_key(&rec.group, &rec.name));
    ctx.app.kv.delete(&consumer_key(&rec.group, &rec.name)).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn assign<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let mut rec = instance(ctx).await?;
    let parts = partitions_of(&body_json(ctx)?, "partitions")?;
    if rec.subscription.is_some() {
        return Err(mutually_exclusive());
    }
    rec.assignment = parts;
    rec.assignment.sort();
    rec.assignment.dedup();
    rec.positions.retain(|p| rec.assignment.iter().any(|a| a.topic == p.topic && a.partition == p.partition));
    save(ctx, &mut rec).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn assignments<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let rec = instance(ctx).await?;
    let parts: Vec<Value> =
        rec.partitions().iter().map(|p| serde_json::json!({"topic": p.topic, "partition": p.partition})).collect();
    Ok(ctx.json(StatusCode::OK, &serde_json::json!({ "partitions": parts })))
}

/// Offsets of `parts` at `timestamp` (EARLIEST / LATEST / a time), topic by topic.
async fn offsets_at<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    parts: &[(TopicPartition, i64)],
) -> ApiResult<Vec<(TopicPartition, i64)>> {
    let mut names: Vec<String> = parts.iter().map(|(p, _)| p.topic.clone()).collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Ok(vec![]);
    }
    let meta = metadata::fetch(ctx.cluster(), metadata::Topics::Named(&names), ctx.deadline).await?;
    let mut out = Vec::new();
    for (tp, ts) in parts {
        let topic = meta.topic(&tp.topic).ok_or_else(|| ApiError::topic_not_found(&tp.topic))?;
        if topic.partition(tp.partition).is_none() {
            return Err(ApiError::partition_not_found(&tp.topic, tp.partition));
        }
        let found = offsets::list(ctx.cluster(), topic, &[tp.partition], *ts, ctx.deadline).await?;
        // A timestamp after the last record: the end of the partition.
        let offset = match found.get(&tp.partition).copied() {
            Some(o) if o >= 0 => o,
            _ => offsets::list(ctx.cluster(), topic, &[tp.partition], offsets::LATEST, ctx.deadline)
                .await?
                .get(&tp.partition)
                .copied()
                .unwrap_or(0),
        };
        out.push((tp.clone(), offset));
    }
    Ok(out)
}

pub async fn seek<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let mut rec = instance(ctx).await?;
    let body = body_json(ctx)?;
    let mut targets = Vec::new();
    if let Some(list) = body.get("offsets").and_then(Value::as_array) {
        for o in list {
            let tp = partitions_of(&serde_json::json!({"p": [o]}), "p")?.remove(0);
            let offset = o
                .get("offset")
                .and_then(Value::as_i64)
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::unprocessable(format!("offsets: {o} needs a non-negative offset.")))?;
            targets.push((tp, offset));
        }
    }
    if let Some(list) = body.get("timestamps").and_then(Value::as_array) {
        let mut by_time = Vec::new();
        for t in list {
            let tp = partitions_of(&serde_json::json!({"p": [t]}), "p")?.remove(0);
            let ms = match t.get("timestamp") {
                Some(Value::Number(n)) => n.as_i64(),
                Some(Value::String(s)) => crate::time::parse_ms(s),
                _ => None,
            }
            .filter(|ms| *ms >= 0)
            .ok_or_else(|| ApiError::unprocessable(format!("timestamps: {t} needs a timestamp (ms or RFC 3339).")))?;
            by_time.push((tp, ms));
        }
        targets.extend(offsets_at(ctx, &by_time).await?);
    }
    if targets.is_empty() {
        return Err(ApiError::unprocessable("offsets or timestamps is required."));
    }
    for (tp, offset) in targets {
        rec.set_position(&tp.topic, tp.partition, offset);
    }
    save(ctx, &mut rec).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn seek_to<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, end: bool) -> ApiResult<Response> {
    let mut rec = instance(ctx).await?;
    let parts = partitions_of(&body_json(ctx)?, "partitions")?;
    let at = if end { offsets::LATEST } else { offsets::EARLIEST };
    let list: Vec<(TopicPartition, i64)> = parts.into_iter().map(|p| (p, at)).collect();
    for (tp, offset) in offsets_at(ctx, &list).await? {
        rec.set_position(&tp.topic, tp.partition, offset);
    }
    save(ctx, &mut rec).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

/// The group's coordinator, from the instance cache or FindCoordinator.
async fn coordinator_of<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, group: &str) -> ApiResult<i32> {
    if let Some(c) = ctx.app.coordinators.borrow().get(group).copied() {
        return Ok(c);
    }
    let coords = groups::coordinators(ctx.cluster(), &[group.to_owned()], ctx.deadline).await?;
    let c =
        coords.get(group).copied().ok_or_else(|| ApiError::internal(format!("no coordinator for group '{group}'")))?;
    ctx.app.coordinators.borrow_mut().insert(group.to_owned(), c);
    Ok(c)
}

fn forget_coordinator<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, group: &str) {
    ctx.app.coordinators.borrow_mut().remove(group);
}

fn member_of(rec: &ConsumerInstance) -> Option<(&str, i32)> {
    rec.member.as_ref().filter(|_| rec.subscription.is_some()).map(|m| (m.member_id.as_str(), m.epoch))
}

pub async fn commit<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let rec = instance(ctx).await?;
    let body = body_json(ctx)?;
    let offsets: Vec<((String, i32), i64, Option<String>)> = match body.get("offsets").and_then(Value::as_array) {
        Some(list) => {
            list.iter()
                .map(|o| {
                    let tp = partitions_of(&serde_json::json!({"p": [o]}), "p")?.remove(0);
                    let offset =
                        o.get("offset").and_then(Value::as_i64).filter(|n| *n >= 0).ok_or_else(|| {
                            ApiError::unprocessable(format!("offsets: {o} needs a non-negative offset."))
                        })?;
                    Ok(((tp.topic, tp.partition), offset, o.get("metadata").and_then(Value::as_str).map(String::from)))
                })
                .collect::<ApiResult<_>>()?
        }
        // No body: everything this consumer has read so far.
        None => rec.positions.iter().map(|p| ((p.topic.clone(), p.partition), p.offset, None)).collect(),
    };
    if !offsets.is_empty() {
        let coordinator = coordinator_of(ctx, &rec.group).await?;
        consumer::commit(ctx.cluster(), coordinator, &rec.group, member_of(&rec), &offsets, ctx.deadline).await?;
    }
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn committed<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let rec = instance(ctx).await?;
    let parts = partitions_of(&body_json(ctx)?, "partitions")?;
    let coordinator = coordinator_of(ctx, &rec.group).await?;
    let all = groups::committed(ctx.cluster(), &rec.group, coordinator, ctx.deadline).await?;
    let offsets: Vec<Value> = parts
        .iter()
        .map(|p| {
            let offset = all.get(&(p.topic.clone(), p.partition)).copied().unwrap_or(-1);
            serde_json::json!({"topic": p.topic, "partition": p.partition, "offset": offset, "metadata": ""})
        })
        .collect();
    Ok(ctx.json(StatusCode::OK, &serde_json::json!({ "offsets": offsets })))
}

/// Joins or renews the group membership within `budget_ms`, returning the partitions to read.
async fn renew_membership<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    rec: &mut ConsumerInstance,
    budget: crate::Deadline,
) -> ApiResult<()> {
    let Some(sub) = rec.subscription.clone() else { return Ok(()) };
    let rt = ctx.cluster().runtime();
    // Between heartbeats (the broker's interval, 5 s by default) the membership stands as stored.
    if let Some(m) = &rec.member
        && m.epoch > 0
        && rt.wall_ms() < m.next_heartbeat_ms
    {
        return Ok(());
    }
    if use_classic(ctx, rec, budget).await? {
        return renew_classic(ctx, rec, &sub, budget).await;
    }
    let mut coordinator = coordinator_of(ctx, &rec.group).await?;
    let meta = consumer::all_topics(ctx.cluster(), budget).await?;
    let subscribe = match &sub {
        Subscription::Topics(t) => Subscribe::Topics(t),
        Subscription::Pattern(p) => Subscribe::Pattern(p),
    };
    let mut joined_now = false;
    loop {
        let (member_id, epoch, owned) = match &rec.member {
            Some(m) => (
                m.member_id.clone(),
                m.epoch,
                m.assigned.iter().map(|p| (p.topic.clone(), p.partition)).collect::<Vec<_>>(),
            ),
            None => {
                joined_now = true;
                (format!("{:016x}{:016x}", rt.random_u64(), rt.random_u64()), 0, vec![])
            }
        };
        match consumer::heartbeat(
            ctx.cluster(),
            coordinator,
            &rec.group,
            &member_id,
            epoch,
            &subscribe,
            &owned,
            &meta,
            budget,
        )
        .await
        {
            Ok(hb) => {
                let assigned = match hb.assignment {
                    Some(a) => a.into_iter().map(|(topic, partition)| TopicPartition { topic, partition }).collect(),
                    None => rec.member.as_ref().map(|m| m.assigned.clone()).unwrap_or_default(),
                };
                let next_heartbeat_ms = rt.wall_ms() + i64::from(hb.interval_ms.max(0));
                rec.member = Some(Membership {
                    member_id: hb.member_id,
                    epoch: hb.epoch,
                    assigned,
                    next_heartbeat_ms,
                    protocol: "consumer".into(),
                });
                // A fresh member waits (briefly) for its first assignment; otherwise one heartbeat is enough.
                let waiting = joined_now && rec.partitions().is_empty();
                if !waiting || budget.remaining_ms(rt) < 150 {
                    return Ok(());
                }
                rt.sleep(100).await;
            }
            // Fenced or forgotten (a session that timed out): rejoin as a new member.
            Err(e)
                if matches!(
                    e.kafka_code(),
                    Some(
                        kafka_protocol::ResponseError::FencedMemberEpoch
                            | kafka_protocol::ResponseError::UnknownMemberId
                    )
                ) && !joined_now =>
            {
                rec.member = None;
                rec.positions.clear();
            }
            Err(e) if e.is_retriable() && budget.remaining_ms(rt) > 150 => {
                rt.sleep(100).await;
                // The coordinator may have moved (NOT_COORDINATOR).
                forget_coordinator(ctx, &rec.group);
                coordinator = coordinator_of(ctx, &rec.group).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether this consumer's membership uses the classic protocol: as configured, or (auto) when
/// the broker has no KIP-848 (no ConsumerGroupHeartbeat in its ApiVersions).
async fn use_classic<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    rec: &ConsumerInstance,
    budget: crate::Deadline,
) -> ApiResult<bool> {
    if let Some(m) = &rec.member {
        return Ok(m.protocol == "classic");
    }
    Ok(match ctx.app.config.consumer_group_protocol.as_str() {
        "classic" => true,
        "consumer" => false,
        _ => {
            use crate::kafka::cluster::Target;
            use kafka_protocol::messages::ConsumerGroupHeartbeatRequest;
            matches!(
                ctx.cluster().negotiated_version::<ConsumerGroupHeartbeatRequest>(Target::Any, budget).await,
                Err(crate::kafka::Error::UnsupportedVersion { .. })
            )
        }
    })
}

/// Classic membership, retried within `budget` while the group's coordinator moves or loads
/// (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS, a lost connection).
async fn renew_classic<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    rec: &mut ConsumerInstance,
    sub: &Subscription,
    budget: crate::Deadline,
) -> ApiResult<()> {
    let rt = ctx.cluster().runtime();
    loop {
        match renew_classic_once(ctx, rec, sub, budget).await? {
            Ok(()) => return Ok(()),
            Err(e) => {
                forget_coordinator(ctx, &rec.group);
                if budget.remaining_ms(rt) < 150 {
                    return Err(e.into());
                }
                rt.sleep(100).await;
            }
        }
    }
}

/// Whether a group call failed because the coordinator moved or is not ready yet.
fn coordinator_unsettled(e: &crate::kafka::Error) -> bool {
    use kafka_protocol::ResponseError as K2;
    matches!(e, crate::kafka::Error::Io { .. } | crate::kafka::Error::Connect { .. })
        || matches!(
            e.kafka_code(),
            Some(K2::NotCoordinator | K2::CoordinatorNotAvailable | K2::CoordinatorLoadInProgress)
        )
}

/// One classic step: JoinGroup + SyncGroup (range assignor, computed here when this member
/// leads) to join or after a rebalance, Heartbeat when due. A join that outlives the request's
/// budget is simply sent again by the next request (the coordinator answers a repeated join of
/// the same member with the generation it completed). `Ok(Err(e))`: the coordinator was not
/// there to answer; try again.
async fn renew_classic_once<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    rec: &mut ConsumerInstance,
    sub: &Subscription,
    budget: crate::Deadline,
) -> ApiResult<Result<(), crate::kafka::Error>> {
    use crate::kafka::ops::classic;
    use kafka_protocol::ResponseError as K2;
    let rt = ctx.cluster().runtime();
    let coordinator = coordinator_of(ctx, &rec.group).await?;
    if let Some(m) = &rec.member
        && m.epoch >= 0
    {
        match classic::heartbeat(ctx.cluster(), coordinator, &rec.group, &m.member_id, m.epoch, budget).await {
            Ok(()) => {
                if let Some(m) = rec.member.as_mut() {
                    m.next_heartbeat_ms = rt.wall_ms() + CLASSIC_HEARTBEAT_MS;
                }
                return Ok(Ok(()));
            }
            Err(e) if e.kafka_code() == Some(K2::RebalanceInProgress) => {}
            Err(e) if matches!(e.kafka_code(), Some(K2::UnknownMemberId | K2::IllegalGeneration)) => {
                rec.member = None;
                rec.positions.clear();
            }
            Err(e) if coordinator_unsettled(&e) => return Ok(Err(e)),
            Err(e) => {
                forget_coordinator(ctx, &rec.group);
                return Err(e.into());
            }
        }
    }
    let meta = consumer::all_topics(ctx.cluster(), budget).await?;
    let topics: Vec<String> = match sub {
        Subscription::Topics(t) => t.clone(),
        Subscription::Pattern(p) => {
            let re = regex_lite::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidConsumerConfig,
                    format!("topic_pattern is not a valid regular expression: {e}"),
                )
            })?;
            meta.topics.iter().filter(|t| !t.is_internal && re.is_match(&t.name)).map(|t| t.name.clone()).collect()
        }
    };
    let mut member_id = rec.member.as_ref().map(|m| m.member_id.clone()).unwrap_or_default();
    let joined =
        classic::join(ctx.cluster(), coordinator, &rec.group, &mut member_id, &topics, 45_000, 10_000, budget).await;
    let joined = match joined {
        Ok(j) => j,
        // The group waits for other members to rejoin: try again on the next request.
        Err(crate::kafka::Error::Timeout { .. }) => {
            rec.member = Some(pending_classic(member_id));
            return Ok(Ok(()));
        }
        // The member id is kept: the retry joins as the same member.
        Err(e) if coordinator_unsettled(&e) => {
            rec.member = Some(pending_classic(member_id));
            return Ok(Err(e));
        }
        // The member expired meanwhile (its session passed): the next request joins as new.
        Err(e) if e.kafka_code() == Some(K2::UnknownMemberId) => {
            rec.member = None;
            rec.positions.clear();
            return Ok(Ok(()));
        }
        Err(e) => return Err(e.into()),
    };
    let assignments = match &joined.members {
        Some(members) => classic::range_assign(members, &meta),
        None => Default::default(),
    };
    let assigned = match classic::sync(ctx.cluster(), coordinator, &rec.group, &joined, &assignments, budget).await {
        Ok(a) => a,
        // A follower's SyncGroup waits for the leader's, which comes with the leader's next
        // request; a rebalance may also have started again. Either way: pending, join again next time.
        Err(e)
            if matches!(e, crate::kafka::Error::Timeout { .. })
                || matches!(e.kafka_code(), Some(K2::RebalanceInProgress | K2::IllegalGeneration)) =>
        {
            rec.member = Some(pending_classic(joined.member_id));
            return Ok(Ok(()));
        }
        Err(e) if coordinator_unsettled(&e) => {
            rec.member = Some(pending_classic(joined.member_id));
            return Ok(Err(e));
        }
        Err(e) => return Err(e.into()),
    };
    rec.member = Some(Membership {
        member_id: joined.member_id,
        epoch: joined.generation,
        assigned: assigned.into_iter().map(|(topic, partition)| TopicPartition { topic, partition }).collect(),
        next_heartbeat_ms: rt.wall_ms() + CLASSIC_HEARTBEAT_MS,
        protocol: "classic".into(),
    });
    Ok(Ok(()))
}

/// A classic member whose join or sync is still under way: the next request joins again.
fn pending_classic(member_id: String) -> Membership {
    Membership { member_id, epoch: -1, assigned: vec![], next_heartbeat_ms: 0, protocol: "classic".into() }
}

/// How often a classic member heartbeats (the Java consumer's default heartbeat.interval.ms).
const CLASSIC_HEARTBEAT_MS: i64 = 3000;

/// The Java consumer's default auto.commit.interval.ms.
const AUTO_COMMIT_INTERVAL_MS: i64 = 5000;

/// The v2 media type of a consumer's format, which its records requests must accept.
fn format_media(format: &str) -> &'static str {
    match format {
        "json" => "application/vnd.kafka.json.v2+json",
        "avro" => "application/vnd.kafka.avro.v2+json",
        "jsonschema" => "application/vnd.kafka.jsonschema.v2+json",
        "protobuf" => "application/vnd.kafka.protobuf.v2+json",
        _ => "application/vnd.kafka.binary.v2+json",
    }
}

pub async fn records<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
    ctx: &Ctx<'_, C, R, K>,
) -> ApiResult<Response> {
    let mut rec = instance(ctx).await?;
    let media = format_media(&rec.format);
    // The one negotiation (q-values, wildcards), with the consumer's format as the only offer.
    let offer = [crate::http::negotiate::Offer { media, qs: 1.0 }];
    if let Some(accept) = ctx.req.header("accept").filter(|a| !a.trim().is_empty())
        && crate::http::negotiate::negotiate(Some(accept), &offer).is_err()
    {
        return Err(ApiError::new(
            ErrorCode::ConsumerFormatMismatch,
            format!(
                "Consumer format does not match the embedded format requested by the Accept header (this consumer's format is {}: {media}).",
                rec.format
            ),
        ));
    }
    if !matches!(rec.format.as_str(), "binary" | "json") {
        return Err(ApiError::new(
            ErrorCode::ConsumerFormatMismatch,
            format!("The {} format needs Schema Registry, which this proxy does not support yet.", rec.format),
        ));
    }
    let rt = ctx.cluster().runtime();
    let timeout_ms = match ctx.req.query_param("timeout") {
        Some(t) => t
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request(format!("timeout '{t}' is not a number of milliseconds.")))?,
        None => rec.request_timeout_ms.unwrap_or(ctx.app.config.consumer_request_timeout_ms),
    };
    let max_bytes = match ctx.req.query_param("max_bytes") {
        Some(b) => b
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("max_bytes '{b}' is not a number of bytes.")))?,
        None => 64 << 20,
    };
    // The whole request, rebalance included, ends within its timeout (plus a little for the
    // answer): membership may use the timeout (at least 200 ms: a join may wait for the other
    // members; one that outlives it is re-sent by the next request), the fetch long-polls for
    // what is left of it.
    let started = rt.monotonic_ms();
    renew_membership(ctx, &mut rec, ctx.deadline.min_with(rt, timeout_ms.max(200))).await?;
    let wait_ms = timeout_ms.saturating_sub(rt.monotonic_ms().saturating_sub(started));
    let budget = ctx.deadline.min_with(rt, wait_ms + 2000);
    let parts = rec.partitions();
    let mut names: Vec<String> = parts.iter().map(|p| p.topic.clone()).collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    if !names.is_empty() {
        // Topic metadata from the instance cache (as the produce path): no Metadata per poll.
        let age = ctx.app.config.metadata_max_age_ms;
        let mut topics = Vec::with_capacity(names.len());
        for n in &names {
            topics.push((*ctx.app.topics.get(ctx.cluster(), n, age, budget).await?).clone());
        }
        let meta = metadata::ClusterMetadata { cluster_id: String::new(), controller_id: -1, brokers: vec![], topics };
        // Positions: where this consumer is, else the group's commit, else auto.offset.reset.
        let missing: Vec<&TopicPartition> =
            parts.iter().filter(|p| rec.position(&p.topic, p.partition).is_none()).collect();
        if !missing.is_empty() {
            let coordinator = coordinator_of(ctx, &rec.group).await?;
            let committed = groups::committed(ctx.cluster(), &rec.group, coordinator, budget).await?;
            let mut reset = Vec::new();
            for p in missing {
                match committed.get(&(p.topic.clone(), p.partition)) {
                    Some(o) => rec.set_position(&p.topic, p.partition, *o),
                    None => reset.push(p.clone()),
                }
            }
            if rec.auto_offset_reset == "none" && !reset.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::PartitionNotFound,
                    format!("No committed offset for {} partition(s) and auto.offset.reset is none.", reset.len()),
                ));
            }
            let at = if rec.auto_offset_reset == "earliest" { offsets::EARLIEST } else { offsets::LATEST };
            let list: Vec<(TopicPartition, i64)> = reset.into_iter().map(|p| (p, at)).collect();
            for (tp, o) in offsets_at(ctx, &list).await? {
                rec.set_position(&tp.topic, tp.partition, o);
            }
        } else if rec.auto_commit_enable
            && member_of(&rec).is_some()
            && rt.wall_ms() - rec.last_commit_ms >= AUTO_COMMIT_INTERVAL_MS
        {
            // Auto-commit as the Java consumer does on poll (every auto.commit.interval.ms):
            // what earlier requests returned.
            let coordinator = coordinator_of(ctx, &rec.group).await?;
            let offs: Vec<((String, i32), i64, Option<String>)> =
                rec.positions.iter().map(|p| ((p.topic.clone(), p.partition), p.offset, None)).collect();
            match consumer::commit(ctx.cluster(), coordinator, &rec.group, member_of(&rec), &offs, budget).await {
                Ok(()) => rec.last_commit_ms = rt.wall_ms(),
                Err(_) => forget_coordinator(ctx, &rec.group),
            }
        }
        let positions = positions_of(&rec, &parts);
        let readahead_key = consumer_key(&rec.group, &rec.name);
        let fetched = match ready_ahead(ctx, &readahead_key, &positions, budget).await {
            Some(ready) => ready,
            None => {
                let max_wait = i32::try_from(wait_ms.min(budget.remaining_ms(rt))).unwrap_or(i32::MAX);
                let min_bytes = rec.fetch_min_bytes.unwrap_or(1).max(1);
                let max = i32::try_from(max_bytes).unwrap_or(i32::MAX);
                consumer::fetch(ctx.cluster(), &meta, &positions, max_wait, min_bytes, max, budget).await
            }
        };
        // Leaders moved: fresh metadata next time. Out of range (data deleted, or a seek past the
        // end): reset as configured.
        for ((t, _), e) in &fetched.errors {
            if e.is_retriable() {
                ctx.app.topics.invalidate(t);
            }
        }
        for ((t, p), e) in &fetched.errors {
            if e.kafka_code() == Some(kafka_protocol::ResponseError::OffsetOutOfRange) {
                let at = if rec.auto_offset_reset == "latest" { offsets::LATEST } else { offsets::EARLIEST };
                let tp = TopicPartition { topic: t.clone(), partition: *p };
                for (tp, o) in offsets_at(ctx, &[(tp, at)]).await? {
                    rec.set_position(&tp.topic, tp.partition, o);
                }
            }
        }
        let mut bytes = 0usize;
        let mut records = fetched.records.into_iter().peekable();
        while let Some(r) = records.peek() {
            if !out.is_empty() && bytes + r.data_len() > max_bytes {
                break;
            }
            let Some(r) = records.next() else { break };
            bytes += r.data_len();
            rec.set_position(&r.topic, r.partition, r.offset + 1);
            out.push(r);
        }
        // A consumer catching up (this answer at least half full) gets its next records ready
        // while the client handles these: what this Fetch brought beyond max_bytes when that is
        // enough for another such answer, else a read-ahead.
        let ahead_bytes = max_bytes.min(MAX_READAHEAD_BYTES);
        let rest: Vec<consumer::FetchedRecord> = records.collect();
        let next = positions_of(&rec, &parts);
        if fetched.errors.is_empty()
            && rest.iter().map(consumer::FetchedRecord::data_len).sum::<usize>() >= ahead_bytes / 2
        {
            let rest = consumer::FetchResult { records: rest, errors: vec![] };
            ctx.app.readahead.keep(&readahead_key, next, rest, rt.monotonic_ms());
        } else if bytes >= ahead_bytes / 2 && !out.is_empty() {
            read_ahead(ctx, readahead_key, next, meta, ahead_bytes);
        }
    }
    // Saved first: a request that lost a race (409) encodes nothing.
    save(ctx, &mut rec).await?;
    // Written straight out: a JSON tree per record would cost more than fetching it.
    let mut body = Vec::with_capacity(
        out.iter().map(|r| r.value.as_ref().map_or(0, |v| v.len() * 4 / 3)).sum::<usize>() + 64 * out.len() + 2,
    );
    body.push(b'[');
    for (i, r) in out.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        write_record(&mut body, &rec.format, r);
    }
    body.push(b']');
    Ok(Response { status: StatusCode::OK, content_type: media.to_owned(), body, stream: None })
}

/// Where `rec` reads `parts` from, sorted (the read-ahead cache compares them exactly).
fn positions_of(rec: &ConsumerInstance, parts: &[TopicPartition]) -> Positions {
    let mut positions: Positions = parts
        .iter()
        .filter_map(|p| Some(((p.topic.clone(), p.partition), rec.position(&p.topic, p.partition)?)))
        .collect();
    positions.sort();
    positions
}

/// The read-ahead of this consumer from `positions`: ready, or waited for while it is under way
/// (a Fetch it would otherwise duplicate), at most [`READAHEAD_WAIT_MS`].
async fn ready_ahead<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    key: &str,
    positions: &Positions,
    budget: crate::Deadline,
) -> Option<consumer::FetchResult> {
    let rt = ctx.cluster().runtime();
    let wait = budget.min_with(rt, READAHEAD_WAIT_MS);
    loop {
        match ctx.app.readahead.take(key, positions, rt.monotonic_ms()) {
            Lookup::Ready(result) => return Some(result),
            Lookup::InFlight if wait.remaining_ms(rt) > 0 => rt.sleep_micros(250).await,
            Lookup::InFlight | Lookup::Miss => return None,
        }
    }
}

/// How long a records request waits for a read-ahead under way before fetching itself.
const READAHEAD_WAIT_MS: u64 = 100;

/// Fetches from `positions` in the background (no waiting for data) into the instance's
/// read-ahead cache, for this consumer's next request if it lands on this instance.
fn read_ahead<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
    ctx: &Ctx<'_, C, R, K>,
    key: String,
    positions: Positions,
    meta: metadata::ClusterMetadata,
    max_bytes: usize,
) {
    let rt = ctx.cluster().runtime();
    let token = ctx.app.readahead.begin(&key, positions.clone(), max_bytes, rt.monotonic_ms());
    let app = ctx.app.clone();
    let entry = key.clone();
    let spawned = rt.spawn(async move {
        let deadline = crate::Deadline::after(app.cluster.runtime(), READAHEAD_BUDGET_MS);
        let max = i32::try_from(max_bytes).unwrap_or(i32::MAX);
        let result = consumer::fetch(&app.cluster, &meta, &positions, 0, 1, max, deadline).await;
        app.readahead.complete(&entry, token, result);
    });
    if !spawned {
        ctx.app.readahead.forget(&key);
    }
}

/// A read-ahead that takes longer than this is given up (the next request fetches itself).
const READAHEAD_BUDGET_MS: u64 = 5_000;

fn write_record(out: &mut Vec<u8>, format: &str, r: &consumer::FetchedRecord) {
    use std::io::Write;
    fn data(out: &mut Vec<u8>, format: &str, b: &Option<bytes::Bytes>) {
        match b {
            None => out.extend_from_slice(b"null"),
            // Valid JSON is embedded as it is; anything else as a string of its text.
            Some(b) if format == "json" => {
                if serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok() {
                    out.extend_from_slice(b);
                } else {
                    let _ = serde_json::to_writer(&mut *out, &String::from_utf8_lossy(b));
                }
            }
            Some(b) => {
                out.push(b'"');
                // SIMD where the target has it (wasm simd128): most of an answer is base64.
                base64_simd::STANDARD.encode_append(b, out);
                out.push(b'"');
            }
        }
    }
    out.extend_from_slice(b"{\"topic\":");
    let _ = serde_json::to_writer(&mut *out, &r.topic);
    out.extend_from_slice(b",\"key\":");
    data(out, format, &r.key);
    out.extend_from_slice(b",\"value\":");
    data(out, format, &r.value);
    // Extensions (kafka-rest #698, #1133, #935): the record's timestamp and headers.
    let _ = write!(
        out,
        ",\"partition\":{},\"offset\":{},\"timestamp\":{},\"headers\":[",
        r.partition, r.offset, r.timestamp
    );
    for (i, (k, v)) in r.headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":");
        let _ = serde_json::to_writer(&mut *out, k);
        out.extend_from_slice(b",\"value\":");
        data(out, "binary", v);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_records_equal_the_json_tree() {
        let r = consumer::FetchedRecord {
            topic: "t\"q".into(),
            partition: 2,
            offset: 7,
            timestamp: 1_700_000_000_000,
            key: Some(bytes::Bytes::from_static(b"not json")),
            value: Some(bytes::Bytes::from_static(b"{\"a\": [1, 2]}")),
            headers: vec![("h1".into(), Some(bytes::Bytes::from_static(b"x"))), ("h2".into(), None)],
        };
        for format in ["binary", "json"] {
            let mut out = Vec::new();
            write_record(&mut out, format, &r);
            let written: Value = serde_json::from_slice(&out).expect("valid JSON");
            assert_eq!(written, record_json(format, &r), "{format}");
        }
    }
}

/// The reference shape of a consumed record (the tests' yardstick for [`write_record`]).
#[cfg(test)]
fn record_json(format: &str, r: &consumer::FetchedRecord) -> Value {
    use base64::Engine;
    let b64 = |b: &bytes::Bytes| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    let data = |b: &Option<bytes::Bytes>| match (b, format) {
        (None, _) => Value::Null,
        (Some(b), "json") => {
            serde_json::from_slice(b).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned()))
        }
        (Some(b), _) => b64(b),
    };
    serde_json::json!({
        "topic": r.topic,
        "key": data(&r.key),
        "value": data(&r.value),
        "partition": r.partition,
        "offset": r.offset,
        // Extensions (kafka-rest #698, #1133, #935): the record's timestamp and headers.
        "timestamp": r.timestamp,
        "headers": r.headers.iter().map(|(k, v)| serde_json::json!({"key": k, "value": v.as_ref().map(b64)})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod cost {
    /// Per-record cost of the consume path after the Fetch (run with --ignored --nocapture).
    #[test]
    #[ignore]
    fn consume_path_cost() {
        use crate::kafka::compression::plain_record;
        use crate::kafka::compression::{decode_batches, encode_batch};
        use kafka_protocol::records::{Compression, Record};
        let records: Vec<Record> = (0..1000)
            .map(|i| plain_record(i, 0, None, Some(bytes::Bytes::from(vec![b'x'; 1024])), Default::default()))
            .collect();
        let batch = encode_batch(&records, Compression::None).expect("encodes");
        let n = 200;
        let t = std::time::Instant::now();
        let mut total = 0;
        for _ in 0..n {
            let sets = decode_batches(batch.clone()).expect("decodes");
            total += sets[0].records.len();
        }
        let decode = t.elapsed();
        let sets = decode_batches(batch.clone()).expect("decodes");
        let fetched: Vec<_> = sets[0]
            .records
            .iter()
            .map(|r| super::consumer::FetchedRecord {
                topic: "t".into(),
                partition: 0,
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: vec![],
            })
            .collect();
        let t = std::time::Instant::now();
        for _ in 0..n {
            let mut out = Vec::new();
            for r in &fetched {
                super::write_record(&mut out, "binary", r);
            }
            total += out.len();
        }
        let write = t.elapsed();
        let per = |d: std::time::Duration| d.as_nanos() as f64 / (n * 1000) as f64;
        println!("decode {:.0} ns/record, write {:.0} ns/record ({total})", per(decode), per(write));
    }
}
