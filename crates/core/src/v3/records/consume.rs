//! A v3 consume extension (no open-source Confluent proxy has one, kafka-rest #1010), stateless:
//!
//! - `GET /v3/clusters/{c}/topics/{t}/partitions/{p}/records?offset=N&max_bytes=B&timeout=MS`
//!   → `{"records": [...], "next_offset": M}`: read one partition from an offset (default: the
//!   earliest); ask again with `next_offset` to go on.
//! - `GET /v3/clusters/{c}/topics/{t}/records?from=0:15,1:0&timeout=MS` (or `from=earliest|latest`,
//!   all partitions) → a chunked stream of newline-separated records that follows the partitions
//!   for as long as the client stays connected; resume from the last `partition_id`/`offset` seen + 1.
//!
//! Records use the v3 produce shapes: `key`/`value` as `{"type": "BINARY", "data": <base64>}`,
//! `headers` as `[{"name", "value" (base64)}]`, `timestamp` as RFC 3339. With `format=avro`,
//! `protobuf`, `jsonschema` (or `schema`: they mean the same), data in Confluent's wire format is
//! decoded with the schema its id names, whatever its kind:
//! `{"type": "AVRO"|"PROTOBUF"|"JSONSCHEMA", "schema_id": N, "data": <JSON>}`; anything else
//! stays BINARY.

use http::StatusCode;
use std::rc::Rc;

use base64::Engine;
use futures::SinkExt;
use futures::channel::mpsc;
use serde_json::{Value, json};

use crate::app::{App, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::http::{Driven, Response};
use crate::kafka::Client;
use crate::kafka::ops::consumer::{self, FetchedRecord};
use crate::kafka::ops::offsets;
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime, Turns};
use crate::state::KvStore;
use crate::v3::topics::checked_topic;
use crate::{time, validate};

fn data(b: &Option<bytes::Bytes>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => json!({"type": "BINARY", "data": base64::engine::general_purpose::STANDARD.encode(b)}),
    }
}

/// How record data is rendered: its bytes, or decoded with its schema where it carries one.
fn schema_rendering<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<bool> {
    match ctx.req.query_param("format").as_deref() {
        None | Some("") | Some("binary") => Ok(false),
        Some("avro" | "protobuf" | "jsonschema" | "schema") => {
            ctx.registry("avro, protobuf or jsonschema")?;
            Ok(true)
        }
        Some(other) => {
            Err(ApiError::bad_request(format!("format '{other}' is not binary, avro, protobuf, jsonschema or schema.")))
        }
    }
}

/// A key or value decoded with its schema when `registry` is given and the bytes carry one,
/// with the bytes it renders to (what `max_bytes` counts: a decoded record can render to far
/// more than it holds).
async fn rendered<C: Connect, R: Runtime>(
    registry: Option<&crate::registry::Registry<C, R>>,
    b: &Option<bytes::Bytes>,
    deadline: Deadline,
) -> ApiResult<(Value, usize)> {
    if let (Some(registry), Some(bytes)) = (registry, b)
        && let Ok((id, payload)) = crate::registry::unframe(bytes)
    {
        match registry.by_id(id, deadline).await {
            Ok(schema) => {
                let limit = crate::limits::expansion_limit(payload.len());
                if let Ok(text) = schema.decode_to_json_text(payload, limit)
                    && let Ok(json) = serde_json::from_slice::<Value>(&text)
                {
                    let value = json!({"type": schema.kind.format().v3_name(), "schema_id": id, "data": json});
                    return Ok((value, text.len()));
                }
            }
            // The registry down: say so rather than silently answer bytes.
            Err(e @ crate::registry::Error::Unavailable(_)) => return Err(e.into()),
            Err(_) => {}
        }
    }
    Ok((data(b), b.as_ref().map_or(0, |b| b.len())))
}

/// A record's JSON and the bytes its key and value render to.
async fn record_json<C: Connect, R: Runtime>(
    r: &FetchedRecord,
    registry: Option<&crate::registry::Registry<C, R>>,
    deadline: Deadline,
) -> ApiResult<(Value, usize)> {
    let (key, key_len) = rendered(registry, &r.key, deadline).await?;
    let (value, value_len) = rendered(registry, &r.value, deadline).await?;
    let json = json!({
        "topic_name": r.topic,
        "partition_id": r.partition,
        "offset": r.offset,
        "timestamp": time::format_ms(r.timestamp),
        "key": key,
        "value": value,
        "headers": r.headers.iter().map(|(k, v)| json!({
            "name": k,
            "value": v.as_ref().map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        })).collect::<Vec<_>>(),
    });
    Ok((json, key_len + value_len))
}

/// An `offset` query parameter: a non-negative integer.
fn offset_param(text: &str) -> ApiResult<i64> {
    match text.parse::<i64>() {
        Ok(o) if o >= 0 => Ok(o),
        Ok(o) => Err(ApiError::bad_request(format!("offset {o} is negative."))),
        Err(_) => Err(ApiError::bad_request(format!("offset '{text}' is not a number."))),
    }
}

/// A query parameter through `parse` (a 400 naming it when invalid), None when absent.
fn query<T, C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    name: &str,
    parse: fn(&str) -> ApiResult<T>,
) -> ApiResult<Option<T>> {
    ctx.req.query_param(name).filter(|v| !v.is_empty()).map(|v| parse(&v)).transpose()
}

pub(super) async fn read_partition<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic");
    validate::topic_name(name)?;
    let id = validate::partition_id(name, ctx.param("partition"))?;
    let registry = if schema_rendering(ctx)? { ctx.app.registry.as_ref() } else { None };
    let (_, topic) = checked_topic(ctx, name).await?;
    if topic.partition(id).is_none() {
        return Err(ApiError::partition_not_found(name, id));
    }
    // Refused and capped as v2 refuses and caps them.
    let timeout = query(ctx, "timeout", validate::wait_ms)?.unwrap_or(0);
    let max_bytes = query(ctx, "max_bytes", validate::max_bytes)?.unwrap_or(1 << 20).clamp(1, i32::MAX as usize);
    let offset = match query(ctx, "offset", offset_param)? {
        Some(o) => o,
        None => {
            *offsets::list(ctx.cluster(), &topic, &[id], offsets::EARLIEST, ctx.deadline).await?.get(&id).unwrap_or(&0)
        }
    };
    // The long poll ends in time for the answer to make the request's deadline.
    let timeout = timeout.min(ctx.deadline.remaining_ms(ctx.cluster().runtime()).saturating_sub(500));
    let fetched = consumer::fetch(
        ctx.cluster(),
        std::slice::from_ref(&topic),
        &[((name.to_owned(), id), offset)],
        timeout as i32,
        1,
        max_bytes as i32,
        ctx.deadline,
    )
    .await;
    if let Some((_, e)) = fetched.errors.into_iter().next() {
        if e.kafka_code() == Some(kafka_protocol::ResponseError::OffsetOutOfRange) {
            // Past the end (or before the start, once retention deleted it): say what is valid.
            let first = offsets::list(ctx.cluster(), &topic, &[id], offsets::EARLIEST, ctx.deadline).await?;
            let end = offsets::list(ctx.cluster(), &topic, &[id], offsets::LATEST, ctx.deadline).await?;
            let (first, end) = (first.get(&id).copied().unwrap_or(0), end.get(&id).copied().unwrap_or(0));
            return Err(ApiError::bad_request(format!(
                "offset {offset} is out of range for partition {id} of topic '{name}': valid offsets are {first} to {end} ({end} waits for the next record)."
            )));
        }
        return Err(e.into());
    }
    let (mut out, mut next, mut bytes) = (Vec::new(), offset, 0usize);
    let rt = ctx.cluster().runtime();
    let mut turns = Turns::new(rt, ctx.deadline, "decoding records");
    for r in &fetched.records {
        // Decoding is CPU work: other requests of this instance get their turns; past the
        // deadline the answer ends here (next_offset says where to go on).
        if registry.is_some() && turns.take(rt).await.is_err() && !out.is_empty() {
            break;
        }
        // What the records render to counts: max_bytes bounds the answer, not only the fetch.
        if !out.is_empty() && bytes + r.data_len() > max_bytes {
            break;
        }
        let (json, size) = record_json(r, registry, ctx.deadline).await?;
        if !out.is_empty() && bytes + size > max_bytes {
            break;
        }
        bytes += size;
        next = r.offset + 1;
        out.push(json);
    }
    Ok(ctx.json(StatusCode::OK, &json!({ "records": out, "next_offset": next })))
}

pub(super) async fn follow<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
    ctx: &Ctx<'_, C, R, K>,
) -> ApiResult<Response> {
    let name = ctx.param("topic").to_owned();
    let decode = schema_rendering(ctx)?;
    let (_, topic) = checked_topic(ctx, &name).await?;
    let all: Vec<i32> = topic.partitions.iter().map(|p| p.id).collect();
    let from = ctx.req.query_param("from").unwrap_or_else(|| "latest".into());
    let positions: Vec<(i32, i64)> = match from.as_str() {
        "earliest" | "latest" => {
            let at = if from == "earliest" { offsets::EARLIEST } else { offsets::LATEST };
            offsets::list(ctx.cluster(), &topic, &all, at, ctx.deadline).await?.into_iter().collect()
        }
        list => list
            .split(',')
            .map(|pair| {
                let (p, o) = pair
                    .split_once(':')
                    .ok_or_else(|| ApiError::bad_request(format!("from: '{pair}' is not partition:offset.")))?;
                let p = validate::partition_id(&name, p)?;
                let o = o
                    .parse::<i64>()
                    .ok()
                    .filter(|o| *o >= 0)
                    .ok_or_else(|| ApiError::bad_request(format!("from: '{pair}' has no valid offset.")))?;
                if !all.contains(&p) {
                    return Err(ApiError::partition_not_found(&name, p));
                }
                Ok((p, o))
            })
            .collect::<ApiResult<_>>()?,
    };
    let wait = query(ctx, "timeout", validate::wait_ms)?.unwrap_or(1000).max(10) as i32;
    let (tx, rx) = mpsc::channel::<Vec<u8>>(16);
    let driver = stream_records(ctx.app.clone(), ctx.client.clone(), name, positions, wait, decode, tx);
    Ok(Response::streaming(StatusCode::OK, ctx.content_type, Box::pin(Driven::new(driver, rx))))
}

/// Follows the partitions until the client goes away: each round one Fetch per leader, the
/// records written as one chunk, positions advanced past them.
async fn stream_records<C: Connect, R: Runtime, K: KvStore>(
    app: Rc<App<C, R, K>>,
    client: Rc<Client<C, R>>,
    topic: String,
    mut positions: Vec<(i32, i64)>,
    wait_ms: i32,
    decode: bool,
    mut out: mpsc::Sender<Vec<u8>>,
) {
    let registry = if decode { app.registry.as_ref() } else { None };
    loop {
        let deadline = Deadline::after(client.runtime(), app.config.request_timeout_ms);
        // From the client's cache; a retriable fetch error below drops it (leaders moved).
        let meta = match client.topic(&topic, deadline).await {
            Ok(m) => m,
            Err(e) => {
                let _ = out.send(error_line(e.into())).await;
                return;
            }
        };
        let pos: Vec<((String, i32), i64)> = positions.iter().map(|(p, o)| ((topic.clone(), *p), *o)).collect();
        let fetched =
            consumer::fetch(client.cluster(), std::slice::from_ref(&*meta), &pos, wait_ms, 1, 8 << 20, deadline).await;
        for (_, e) in &fetched.errors {
            client.observe(Some(e), Some(&topic), None);
        }
        let mut chunk = Vec::new();
        let mut turns = Turns::new(client.runtime(), deadline, "decoding records");
        for r in &fetched.records {
            // Past the round's deadline the rest is fetched again next round.
            if registry.is_some() && turns.take(client.runtime()).await.is_err() {
                break;
            }
            if let Some(p) = positions.iter_mut().find(|(p, _)| *p == r.partition) {
                p.1 = r.offset + 1;
            }
            match record_json(r, registry, deadline).await {
                Ok((v, _)) => {
                    if serde_json::to_writer(&mut chunk, &v).is_ok() {
                        chunk.push(b'\n');
                    }
                }
                Err(e) => {
                    chunk.extend(error_line(e));
                    let _ = out.send(chunk).await;
                    return;
                }
            }
        }
        if let Some((_, e)) = fetched.errors.into_iter().find(|(_, e)| !e.is_retriable()) {
            chunk.extend(error_line(e.into()));
            let _ = out.send(chunk).await;
            return;
        }
        // An empty chunk would end a chunked body: send only what there is. A client that left
        // is noticed at the next write (every `wait_ms` at most, when records flow).
        if !chunk.is_empty() && out.send(chunk).await.is_err() {
            return;
        }
        if out.is_closed() {
            return;
        }
    }
}

fn error_line(e: ApiError) -> Vec<u8> {
    let mut v = serde_json::to_vec(&e.to_body()).unwrap_or_default();
    v.push(b'\n');
    v
}
