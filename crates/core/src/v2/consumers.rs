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
    // Both are segments of the base_uri handed back.
    crate::validate::path_name(what, name)
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
        write_id: rt.random_u64(),
        owner: ctx.principal.clone(),
        recent_writes: vec![],
        idle_timeout_ms: Some(ctx.app.config.consumer_instance_timeout_ms),
    };
    // Create-if-absent: of two racing creates of one name, one gets 40902.
    if !crate::state::create_consumer(&ctx.app.kv, &record).await? {
        return Err(ApiError::new(
            ErrorCode::ConsumerAlreadyExists,
            format!("Consumer instance with the name '{name}' already exists."),
        ));
    }
    // The name is ours; now its place in the group (an instance past the limit is undone).
    let config = &ctx.app.config;
    let limit = config.max_consumers_per_group;
    let admitted =
        crate::state::join_group_list(&ctx.app.kv, rt, &record, limit, now, config.consumer_instance_timeout_ms).await;
    if !matches!(admitted, Ok(true)) {
        crate::state::delete_consumer(&ctx.app.kv, rt, &group, &name, rt.random_u64()).await?;
        admitted?;
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            format!("Consumer group '{group}' has {limit} instances already (max_consumers_per_group)."),
        ));
    }
    // Expired instances leave the store on creates and deletes (no background work here): a
    // failed sweep is the next one's to finish, not this create's failure.
    let _ =
        crate::state::sweep_expired(&ctx.app.kv, rt, &group, now, config.consumer_instance_timeout_ms, rt.random_u64())
            .await;
    let base_uri = format!(
        "{}/consumers/{}/instances/{}",
        ctx.base_url(),
        crate::percent::encode_segment(&group),
        crate::percent::encode_segment(&name)
    );
    Ok(ctx.json(StatusCode::OK, &Created { instance_id: name, base_uri }))
}

// ---------------------------------------------------------------------------------------------
// Everything after creation: each request loads the instance record, does its Kafka work, and
// writes the record back (versioned). No instance memory is involved, so any proxy instance
// serves any consumer.

use crate::kafka::group::{self, Session};
use crate::kafka::ops::{consumer, groups, offsets};
use crate::state::{Subscription, TopicPartition, load_consumer, save_consumer};

/// This request's group session (membership, positions, read-ahead live below HTTP).
fn session<'a, C: Connect, R: Runtime, K: KvStore>(ctx: &'a Ctx<'_, C, R, K>) -> Session<'a, C, R> {
    Session { client: ctx.client(), protocol: &ctx.app.config.consumer_group_protocol, deadline: ctx.deadline }
}

/// Loads the instance named in the path; gone when missing or idle past the instance timeout.
async fn instance<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<ConsumerInstance> {
    let (group, name) = (ctx.param("group"), ctx.param("instance"));
    let Some(rec) = load_consumer(&ctx.app.kv, group, name).await? else {
        return Err(ApiError::consumer_not_found(group, name));
    };
    // Another principal's instance does not exist for this caller (a leaked base_uri is no way in).
    if rec.owner != ctx.principal {
        return Err(ApiError::consumer_not_found(group, name));
    }
    let now = ctx.cluster().runtime().wall_ms();
    if rec.expired(now, ctx.app.config.consumer_instance_timeout_ms) {
        // Expired: clean up what is left (the broker fenced its membership long ago).
        crate::state::delete_consumer(
            &ctx.app.kv,
            ctx.cluster().runtime(),
            group,
            name,
            ctx.cluster().runtime().random_u64(),
        )
        .await?;
        return Err(ApiError::consumer_not_found(group, name));
    }
    Ok(rec)
}

async fn save<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, rec: &mut ConsumerInstance) -> ApiResult<()> {
    rec.last_used_ms = ctx.cluster().runtime().wall_ms();
    rec.write_id = ctx.cluster().runtime().random_u64();
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

pub async fn unsubscribe<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let mut rec = instance(ctx).await?;
    session(ctx).leave(&rec).await;
    rec.subscription = None;
    rec.member = None;
    rec.positions.clear();
    save(ctx, &mut rec).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn delete_instance<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let rec = instance(ctx).await?;
    session(ctx).leave(&rec).await;
    ctx.client().readahead().forget(&consumer_key(&rec.group, &rec.name));
    let rt = ctx.cluster().runtime();
    crate::state::delete_consumer(&ctx.app.kv, rt, &rec.group, &rec.name, rt.random_u64()).await?;
    let idle = ctx.app.config.consumer_instance_timeout_ms;
    let _ = crate::state::sweep_expired(&ctx.app.kv, rt, &rec.group, rt.wall_ms(), idle, rt.random_u64()).await;
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
        targets.extend(session(ctx).offsets_at(&by_time).await?);
    }
    if targets.is_empty() {
        return Err(ApiError::unprocessable("offsets or timestamps is required."));
    }
    assigned(&rec, targets.iter().map(|(tp, _)| tp))?;
    for (tp, offset) in targets {
        rec.set_position(&tp.topic, tp.partition, offset);
    }
    save(ctx, &mut rec).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn seek_to<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, end: bool) -> ApiResult<Response> {
    let mut rec = instance(ctx).await?;
    let parts = partitions_of(&body_json(ctx)?, "partitions")?;
    assigned(&rec, parts.iter())?;
    let at = if end { offsets::LATEST } else { offsets::EARLIEST };
    let list: Vec<(TopicPartition, i64)> = parts.into_iter().map(|p| (p, at)).collect();
    for (tp, offset) in session(ctx).offsets_at(&list).await? {
        rec.set_position(&tp.topic, tp.partition, offset);
    }
    save(ctx, &mut rec).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

/// Seeking needs the partition assigned, as the Java consumer Confluent's proxy wraps does ("No
/// current assignment for partition", an IllegalStateException → 409/40903).
fn assigned<'a>(rec: &ConsumerInstance, mut parts: impl Iterator<Item = &'a TopicPartition>) -> ApiResult<()> {
    let mine = rec.partitions();
    match parts.find(|p| !mine.contains(p)) {
        Some(p) => Err(ApiError::new(
            ErrorCode::IllegalState,
            format!("Illegal state: No current assignment for partition {}-{}", p.topic, p.partition),
        )),
        None => Ok(()),
    }
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
                    // The offset given is the last record consumed: the commit is the next one
                    // (Confluent's KafkaConsumerState.commitOffsets), so a restart resumes after it.
                    let next = offset.saturating_add(1);
                    let metadata = o.get("metadata").and_then(Value::as_str).map(String::from);
                    if let Some(m) = &metadata {
                        crate::validate::protocol_string("offsets[].metadata", m)?;
                    }
                    Ok(((tp.topic, tp.partition), next, metadata))
                })
                .collect::<ApiResult<_>>()?
        }
        // No body: everything this consumer has read so far, of the partitions it holds.
        None => {
            let held = rec.partitions();
            rec.positions
                .iter()
                .filter(|p| held.iter().any(|h| h.topic == p.topic && h.partition == p.partition))
                .map(|p| ((p.topic.clone(), p.partition), p.offset, None))
                .collect()
        }
    };
    if !offsets.is_empty() {
        let coordinator = ctx.client().coordinator(&rec.group, ctx.deadline).await?;
        consumer::commit(ctx.cluster(), coordinator, &rec.group, group::member_of(&rec), &offsets, ctx.deadline)
            .await?;
    }
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn committed<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let rec = instance(ctx).await?;
    let parts = partitions_of(&body_json(ctx)?, "partitions")?;
    let coordinator = ctx.client().coordinator(&rec.group, ctx.deadline).await?;
    let all = groups::committed_with_metadata(ctx.cluster(), &rec.group, coordinator, ctx.deadline).await?;
    let offsets: Vec<Value> = parts
        .iter()
        .map(|p| {
            let (offset, metadata) = all.get(&(p.topic.clone(), p.partition)).cloned().unwrap_or((-1, String::new()));
            serde_json::json!({"topic": p.topic, "partition": p.partition, "offset": offset, "metadata": metadata})
        })
        .collect();
    Ok(ctx.json(StatusCode::OK, &serde_json::json!({ "offsets": offsets })))
}

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
    let timeout_ms = match ctx.req.query_param("timeout") {
        Some(t) => crate::validate::wait_ms(&t)?,
        None => rec.request_timeout_ms.unwrap_or(ctx.app.config.consumer_request_timeout_ms),
    };
    let max_bytes = match ctx.req.query_param("max_bytes") {
        Some(b) => crate::validate::max_bytes(&b)?,
        None => 64 << 20,
    };
    let mut out = session(ctx).poll(&mut rec, timeout_ms, max_bytes).await?;
    if let Some(kind) = schema_kind(&rec.format) {
        decode_schema_data(ctx, kind, &mut rec, &mut out, max_bytes).await?;
    }
    if rec.format == "json"
        && let Some(bad) = out.iter().position(|r| !is_json(&r.key) || !is_json(&r.value))
    {
        // Bytes that are not JSON cannot be shown as JSON without losing what they are (raw
        // `test` and JSON `"test"` would look the same). Confluent's JSON consumer fails the
        // read (a SerializationException, which its KafkaRestExceptionMapper answers 408/40801):
        // the records before it are answered, the position stays on it (seek past it, or read
        // it with a binary consumer).
        let r = &out[bad];
        let err = ApiError::new(
            ErrorCode::Deserialization,
            format!(
                "Error deserializing JSON message: the record at offset {} of partition {} of topic {} is not JSON; this consumer's format is json (seek past it, or read it with a binary consumer).",
                r.offset, r.partition, r.topic
            ),
        );
        stop_at(ctx, &mut rec, &mut out, bad, err).await?;
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
    Ok(Response { status: StatusCode::OK, content_type: media.to_owned(), body, stream: None, headers: Vec::new() })
}

/// The schema kind of a consumer's format.
fn schema_kind(format: &str) -> Option<crate::registry::Kind> {
    crate::registry::Kind::of(crate::formats::Format::from_v2_name(format)?)
}

/// Schema-bound records become JSON (each decoded with the schema its id names: Avro's JSON
/// encoding, Protobuf's canonical JSON, JSON Schema data as it is). A record that cannot be
/// decoded (not Confluent's wire format, an id the registry does not know or of another kind,
/// bytes that do not fit the schema) ends the answer before it, as the json consumer does with
/// non-JSON bytes: 408/40801 (Confluent's answer to a SerializationException) when it is the
/// first, the position stays on it.
async fn decode_schema_data<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    kind: crate::registry::Kind,
    rec: &mut ConsumerInstance,
    out: &mut Vec<consumer::FetchedRecord>,
    max_bytes: usize,
) -> ApiResult<()> {
    use crate::registry::{Error as RegistryError, unframe};
    let registry = ctx.registry(kind.format().v2_name())?;
    let mut schemas = std::collections::HashMap::new();
    for r in out.iter() {
        for (id, _) in [&r.key, &r.value].into_iter().flatten().filter_map(|b| unframe(b).ok()) {
            if let std::collections::hash_map::Entry::Vacant(slot) = schemas.entry(id) {
                match registry.by_id(id, ctx.deadline).await {
                    Ok(s) => {
                        slot.insert(Ok(s));
                    }
                    // Unreachable: nothing is answered or saved; the next request reads the same records.
                    Err(e @ RegistryError::Unavailable(_)) => return Err(e.into()),
                    Err(e) => {
                        slot.insert(Err(e.to_string()));
                    }
                }
            }
        }
    }
    let decode = |data: &Option<bytes::Bytes>| -> Result<Option<bytes::Bytes>, String> {
        let Some(b) = data else { return Ok(None) };
        let (id, payload) = unframe(b)?;
        let schema = schemas.get(&id).ok_or("no schema")?.as_ref().map_err(|e| format!("schema id {id}: {e}"))?;
        schema.expect(kind)?;
        let limit = crate::limits::expansion_limit(payload.len());
        schema.decode_to_json_text(payload, limit).map(|v| Some(bytes::Bytes::from(v)))
    };
    let rt = ctx.cluster().runtime();
    let mut turns = crate::runtime::Turns::new(rt, ctx.deadline, "decoding records");
    let (mut bad, mut rendered) = (None, 0usize);
    for (i, r) in out.iter_mut().enumerate() {
        // Decoding is CPU work: other requests of this instance get their turns; past the
        // deadline, or past max_bytes of rendered JSON, the answer ends before this record
        // (the position stays on it).
        if i > 0 && turns.take(rt).await.is_err() {
            bad = Some((i, None));
            break;
        }
        match (decode(&r.key), decode(&r.value)) {
            (Ok(k), Ok(v)) => {
                let size = k.as_ref().map_or(0, |b| b.len()) + v.as_ref().map_or(0, |b| b.len());
                if i > 0 && rendered + size > max_bytes {
                    bad = Some((i, None));
                    break;
                }
                rendered += size;
                r.key = k;
                r.value = v;
            }
            (Err(e), _) | (_, Err(e)) => {
                bad = Some((i, Some(e)));
                break;
            }
        }
    }
    let (bad, reason) = match bad {
        None => return Ok(()),
        Some((bad, None)) => {
            // Never returned: the records before it (bad > 0) are the answer.
            let err = ApiError::internal("records were cut short");
            return stop_at(ctx, rec, out, bad, err).await;
        }
        Some((bad, Some(reason))) => (bad, reason),
    };
    let r = &out[bad];
    let err = ApiError::new(
        ErrorCode::Deserialization,
        format!(
            "Error deserializing {} message at offset {} of partition {} of topic {}: {reason} (seek past it, or read it with a binary consumer).",
            kind.title(),
            r.offset,
            r.partition,
            r.topic
        ),
    );
    stop_at(ctx, rec, out, bad, err).await
}

/// Ends an answer before the record at `bad`, which cannot be shown in the consumer's format:
/// the records before it are answered, the positions stay on it and what follows it; with
/// nothing before it the request fails with `err` (the positions saved first).
async fn stop_at<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    rec: &mut ConsumerInstance,
    out: &mut Vec<consumer::FetchedRecord>,
    bad: usize,
    err: ApiError,
) -> ApiResult<()> {
    for dropped in out.drain(bad..) {
        let keep = rec.position(&dropped.topic, dropped.partition).map_or(dropped.offset, |p| p.min(dropped.offset));
        rec.set_position(&dropped.topic, dropped.partition, keep);
    }
    if out.is_empty() {
        save(ctx, rec).await?;
        return Err(err);
    }
    Ok(())
}

/// Whether `data` (absent, or bytes) can be shown as JSON.
fn is_json(data: &Option<bytes::Bytes>) -> bool {
    data.as_ref().is_none_or(|b| serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok())
}

fn write_record(out: &mut Vec<u8>, format: &str, r: &consumer::FetchedRecord) {
    use std::io::Write;
    fn data(out: &mut Vec<u8>, format: &str, b: &Option<bytes::Bytes>) {
        match b {
            None => out.extend_from_slice(b"null"),
            // Valid JSON is embedded as it is; anything else as a string of its text.
            // Schema-bound records arrive here already as JSON.
            // JSON already: a json consumer's records were checked (`is_json`), schema-bound
            // ones were decoded to JSON text.
            Some(b) if format != "binary" => out.extend_from_slice(b),
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
            // JSON: a json consumer's records are checked before they are written.
            key: Some(bytes::Bytes::from_static(b"[\"k\"]")),
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
        #[allow(clippy::disallowed_methods)] // a measurement run by hand, natively
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
        #[allow(clippy::disallowed_methods)] // a measurement run by hand, natively
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
