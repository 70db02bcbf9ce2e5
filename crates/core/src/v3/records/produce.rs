//! v3 produce: `POST /v3/clusters/{c}/topics/{t}/records` and `…/records:batch`.
//!
//! `/records` always reads its body as a stream of concatenated JSON records and answers with one
//! delivery report per record, in order, each written as soon as its record is acknowledged — a
//! single record is just the shortest stream, and a chunked request may stay open indefinitely.
//! Records are read while earlier ones are being written (pipelined), a malformed record gets its
//! own error report and the stream continues, and memory stays bounded (a bounded queue between
//! reading and writing, and a per-record size limit).

use http::StatusCode;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{App, Ctx};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::formats::{self, Format};
use crate::http::json_stream::{Item, Splitter};
use crate::http::{BodyStream, Driven, Response};
use crate::kafka::Client;
use crate::kafka::ops::produce::{Delivery, OutRecord, produce as produce_records};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};
use crate::state::KvStore;
use crate::{time, validate};

/// Records produced together at most (what is queued when the previous write finishes).
const MAX_BATCH: usize = 2000;
/// Parsed records waiting for the writer: bounds memory of a long stream.
const QUEUE: usize = 4096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V3Record<'a> {
    partition_id: Option<i32>,
    #[serde(default)]
    headers: Vec<V3Header>,
    #[serde(borrow)]
    key: Option<V3Data<'a>>,
    #[serde(borrow)]
    value: Option<V3Data<'a>>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V3Header {
    name: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V3Data<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Unparsed: binary and string data are decoded straight from the request bytes.
    #[serde(borrow)]
    data: Option<&'a serde_json::value::RawValue>,
    subject: Option<String>,
    subject_name_strategy: Option<String>,
    schema_id: Option<i64>,
    schema_version: Option<i64>,
    schema: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchEntry<'a> {
    id: Value,
    partition_id: Option<i32>,
    #[serde(default)]
    headers: Vec<V3Header>,
    #[serde(borrow)]
    key: Option<V3Data<'a>>,
    #[serde(borrow)]
    value: Option<V3Data<'a>>,
    timestamp: Option<String>,
}

/// What a delivery report says about a key or value: its type and size, and for schema-based
/// data the subject, schema id and version used.
#[derive(Clone, Debug)]
struct Meta {
    format: Format,
    size: usize,
    subject: Option<String>,
    schema_id: Option<i32>,
    schema_version: Option<i32>,
}

type DataMeta = Option<Meta>;

fn plain(format: Format, size: usize) -> Meta {
    Meta { format, size, subject: None, schema_id: None, schema_version: None }
}

struct Parsed {
    record: OutRecord,
    key: DataMeta,
    value: DataMeta,
    /// Schema-based key and value, encoded once their schemas are resolved (asynchronously,
    /// in `write_batch`).
    pending: [Option<SchemaData>; 2],
}

/// Schema-based data as requested: which schema (`schema_id`; or `schema` registered under the
/// subject; or `schema_version` / the latest of the subject) and the data itself.
struct SchemaData {
    /// The requested type (None: inferred from the schema, Avro for a schema text).
    kind: Option<crate::registry::Kind>,
    subject: Option<String>,
    strategy: Option<String>,
    schema_id: Option<i64>,
    schema_version: Option<i64>,
    schema: Option<String>,
    data: Value,
}

enum Converted {
    Ready(Option<bytes::Bytes>, DataMeta),
    Pending(SchemaData),
}

fn convert_data(d: &Option<V3Data<'_>>, what: &str) -> Result<Converted, String> {
    let Some(d) = d else { return Ok(Converted::Ready(None, None)) };
    let schema_fields = d.subject.is_some()
        || d.subject_name_strategy.is_some()
        || d.schema_id.is_some()
        || d.schema_version.is_some()
        || d.schema.is_some();
    let format = match d.kind.as_deref() {
        Some(name) => Format::from_v3_name(name).ok_or_else(|| {
            format!("{what}.type '{name}' is not one of BINARY, JSON, STRING, AVRO, PROTOBUF, JSONSCHEMA")
        })?,
        // Schema fields without a type: the schema's own type (resolved later).
        None if schema_fields => Format::Avro,
        // Without a type or schema, data is JSON (the schema-less default).
        None => Format::Json,
    };
    if format.needs_schema_registry() {
        let data = match d.data {
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| format!("{what}.data: {e}"))?,
            None => Value::Null,
        };
        return Ok(Converted::Pending(SchemaData {
            kind: if d.kind.is_some() { crate::registry::Kind::of(format) } else { None },
            subject: d.subject.clone(),
            strategy: d.subject_name_strategy.clone(),
            schema_id: d.schema_id,
            schema_version: d.schema_version,
            schema: d.schema.clone(),
            data,
        }));
    }
    if schema_fields {
        return Err(format!(
            "{what}: schema fields go with type AVRO, PROTOBUF or JSONSCHEMA, not {}",
            format.v3_name()
        ));
    }
    let bytes = formats::encode_raw(format, d.data, &format!("{what}.data"))?;
    let size = bytes.as_ref().map_or(0, bytes::Bytes::len);
    Ok(Converted::Ready(bytes, Some(plain(format, size))))
}

fn convert(
    partition_id: Option<i32>,
    headers: Vec<V3Header>,
    key: &Option<V3Data<'_>>,
    value: &Option<V3Data<'_>>,
    timestamp: &Option<String>,
) -> Result<Parsed, String> {
    let mut pending = [None, None];
    let (key_bytes, key_meta) = match convert_data(key, "key")? {
        Converted::Ready(b, m) => (b, m),
        Converted::Pending(p) => {
            pending[0] = Some(p);
            (None, None)
        }
    };
    let (value_bytes, value_meta) = match convert_data(value, "value")? {
        Converted::Ready(b, m) => (b, m),
        Converted::Pending(p) => {
            pending[1] = Some(p);
            (None, None)
        }
    };
    let mut out_headers = Vec::with_capacity(headers.len());
    for h in headers {
        let v = formats::header_value(&h.value, &h.name)?;
        out_headers.push((h.name, v));
    }
    let timestamp = match timestamp {
        None => None,
        Some(t) => Some(time::parse_ms(t).ok_or_else(|| format!("timestamp '{t}' is not an RFC 3339 date-time"))?),
    };
    if let Some(p) = partition_id
        && p < 0
    {
        return Err(format!("partition_id {p} is negative"));
    }
    Ok(Parsed {
        record: OutRecord {
            partition: partition_id,
            key: key_bytes,
            value: value_bytes,
            headers: out_headers,
            timestamp,
        },
        key: key_meta,
        value: value_meta,
        pending,
    })
}

/// One streamed item → a record, or the error its report will carry.
fn parse_item(item: Item) -> Result<Parsed, ApiError> {
    let bytes = match item {
        Item::Value(b) => b,
        Item::TooLarge(n) => {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("The record is {n} bytes, more than the limit."),
            ));
        }
    };
    let r: V3Record = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("Bad Request: {e} in '{}'.", preview(&bytes))))?;
    convert(r.partition_id, r.headers, &r.key, &r.value, &r.timestamp)
        .map_err(|e| ApiError::bad_request(format!("Bad Request: {}.", e.trim_end_matches('.'))))
}

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).to_string();
    if bytes.len() > 60 { format!("{text}…") } else { text }
}

/// The outcome of one record: where it landed, or why not.
enum Report {
    Delivered { delivery: Delivery, key: DataMeta, value: DataMeta },
    Failed(ApiError),
}

impl Report {
    fn to_json(&self, cluster_id: &str, topic: &str) -> Value {
        match self {
            Report::Delivered { delivery, key, value } => {
                Value::Object(success(cluster_id, topic, delivery, key, value))
            }
            Report::Failed(e) => serde_json::to_value(e.to_body()).unwrap_or(Value::Null),
        }
    }

    /// The same JSON as [`Report::to_json`], written straight out (the streaming hot path).
    fn write(&self, out: &mut Vec<u8>, cluster_id: &str, topic: &str) {
        use std::io::Write;
        match self {
            Report::Delivered { delivery: d, key, value } => {
                let _ = writeln!(
                    out,
                    "{{\"error_code\":{},\"cluster_id\":{},\"topic_name\":{},\"partition_id\":{},\"offset\":{},\"timestamp\":\"{}\",\"key\":{},\"value\":{}}}",
                    crate::error::DELIVERED,
                    json_str(cluster_id),
                    json_str(topic),
                    d.partition,
                    d.offset,
                    time::format_ms(d.timestamp),
                    meta_json(key),
                    meta_json(value)
                );
            }
            Report::Failed(e) => {
                let _ = serde_json::to_writer(&mut *out, &e.to_body());
                out.push(b'\n');
            }
        }
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn meta_json(m: &DataMeta) -> Value {
    let Some(m) = m else { return Value::Null };
    let mut v = json!({ "type": m.format.v3_name(), "size": m.size });
    if let Some(s) = &m.subject {
        v["subject"] = json!(s);
    }
    if let Some(id) = m.schema_id {
        v["schema_id"] = json!(id);
    }
    if let Some(version) = m.schema_version {
        v["schema_version"] = json!(version);
    }
    v
}

fn success(
    cluster_id: &str,
    topic: &str,
    d: &Delivery,
    key: &DataMeta,
    value: &DataMeta,
) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("error_code".into(), json!(crate::error::DELIVERED));
    m.insert("cluster_id".into(), json!(cluster_id));
    m.insert("topic_name".into(), json!(topic));
    m.insert("partition_id".into(), json!(d.partition));
    m.insert("offset".into(), json!(d.offset));
    m.insert("timestamp".into(), json!(time::format_ms(d.timestamp)));
    m.insert("key".into(), meta_json(key));
    m.insert("value".into(), meta_json(value));
    m
}

/// Topic name, cluster id and the topic's existence, checked before any record is read.
async fn preflight<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<(String, String)> {
    let topic = ctx.param("topic").to_owned();
    validate::topic_name(&topic)?;
    let cluster_id = ctx.check_cluster().await?;
    ctx.client().topic(&topic, ctx.deadline).await?;
    Ok((cluster_id, topic))
}

pub(super) async fn stream<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
    ctx: &Ctx<'_, C, R, K>,
) -> ApiResult<Response> {
    let (cluster_id, topic) = preflight(ctx).await?;
    let mut input: BodyStream = match ctx.req.body_stream.borrow_mut().take() {
        Some(s) => s,
        // A host that buffered the body (or a test): the same code path over one chunk.
        None => Box::pin(futures::stream::iter([Ok(ctx.req.body.clone())])),
    };
    // Read until the first record (or the end): an empty body is a 422 with a proper status.
    let mut splitter = Splitter::new(ctx.app.config.max_request_bytes);
    let mut first = Vec::new();
    let mut ended = false;
    while first.is_empty() && !ended {
        match input.next().await {
            Some(Ok(chunk)) => first.extend(splitter.push(&chunk)),
            Some(Err(e)) => return Err(ApiError::body_read(&e)),
            None => {
                first.extend(splitter.finish());
                ended = true;
            }
        }
    }
    if first.is_empty() {
        return Err(ApiError::unprocessable("Payload error. Request body is empty. Data is required."));
    }
    let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
    let driver = drive(ctx.app.clone(), ctx.client.clone(), cluster_id, topic, input, splitter, first, ended, tx);
    Ok(Response::streaming(StatusCode::OK, ctx.content_type, Box::pin(Driven::new(driver, rx))))
}

async fn drive<C: Connect, R: Runtime, K: KvStore>(
    app: Rc<App<C, R, K>>,
    client: Rc<Client<C, R>>,
    cluster_id: String,
    topic: String,
    mut input: BodyStream,
    mut splitter: Splitter,
    first: Vec<Item>,
    ended: bool,
    mut out: mpsc::Sender<Vec<u8>>,
) {
    let (mut queue_tx, mut queue_rx) = mpsc::channel::<Result<Parsed, ApiError>>(QUEUE);
    let reader = async move {
        for item in first {
            if queue_tx.send(parse_item(item)).await.is_err() {
                return;
            }
        }
        if ended {
            return;
        }
        while let Some(chunk) = input.next().await {
            let items = match chunk {
                Ok(c) => splitter.push(&c),
                Err(e) => {
                    let _ = queue_tx.send(Err(ApiError::body_read(&e))).await;
                    return;
                }
            };
            for item in items {
                if queue_tx.send(parse_item(item)).await.is_err() {
                    return;
                }
            }
        }
        if let Some(item) = splitter.finish() {
            let _ = queue_tx.send(parse_item(item)).await;
        }
    };
    let writer = async move {
        while let Some(head) = queue_rx.next().await {
            let mut batch = vec![head];
            while batch.len() < MAX_BATCH {
                match queue_rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            // One chunk per batch: a frame per report would cost more than the report itself.
            let mut bytes = Vec::new();
            for report in write_batch(&app, &client, &topic, batch).await {
                report.write(&mut bytes, &cluster_id, &topic);
            }
            if out.send(bytes).await.is_err() {
                return; // the client went away
            }
        }
    };
    futures::join!(reader, writer);
}

/// Produces the good records of `batch`; one report per entry, in order.
async fn write_batch<C: Connect, R: Runtime, K: KvStore>(
    app: &App<C, R, K>,
    client: &Client<C, R>,
    topic: &str,
    batch: Vec<Result<Parsed, ApiError>>,
) -> Vec<Report> {
    let deadline = Deadline::after(client.runtime(), app.config.request_timeout_ms);
    // Schema-based data: its schema resolved and the data encoded, or that record's error.
    let mut resolved = Vec::with_capacity(batch.len());
    // Encoding is CPU work: other requests of this instance get their turns between records,
    // and a record whose turn comes past the deadline fails alone.
    let rt = client.runtime();
    let mut turns = crate::runtime::Turns::new(rt, deadline, "encoding the records");
    for entry in batch {
        resolved.push(match entry {
            Ok(mut p) if p.pending.iter().any(Option::is_some) => match turns.take(rt).await {
                Ok(()) => resolve_schemas(app, topic, &mut p, deadline).await.map(|()| p),
                Err(e) => Err(e.into()),
            },
            other => other,
        });
    }
    let batch = resolved;
    let mut metas = Vec::new();
    let mut records = Vec::new();
    for p in batch.iter().flatten() {
        records.push(p.record.clone());
        metas.push((p.key.clone(), p.value.clone()));
    }
    let results = if records.is_empty() {
        Ok(vec![])
    } else {
        produce_records(client, topic, records, app.produce_options(), deadline).await
    };
    let mut results = match results {
        Ok(r) => r.into_iter().map(|r| r.map_err(ApiError::from)).collect::<Vec<_>>(),
        Err(e) => {
            let e = ApiError::from(e);
            vec![Err(e); metas.len()]
        }
    }
    .into_iter()
    .zip(metas);
    batch
        .into_iter()
        .map(|entry| match entry {
            Err(e) => Report::Failed(e),
            Ok(_) => match results.next() {
                Some((Ok(delivery), (key, value))) => Report::Delivered { delivery, key, value },
                Some((Err(e), _)) => Report::Failed(e),
                None => Report::Failed(ApiError::internal("no result for this record")),
            },
        })
        .collect()
}

/// Encodes a record's schema-based key and value with the schemas they name.
async fn resolve_schemas<C: Connect, R: Runtime, K: KvStore>(
    app: &App<C, R, K>,
    topic: &str,
    p: &mut Parsed,
    deadline: Deadline,
) -> ApiResult<()> {
    let registry =
        app.registry.as_ref().ok_or(crate::registry::Error::NotConfigured("AVRO, PROTOBUF or JSONSCHEMA"))?;
    for (side, is_key) in [(0, true), (1, false)] {
        let Some(d) = p.pending[side].take() else { continue };
        let what = if is_key { "key" } else { "value" };
        let (schema, subject, version) = if let Some(id) = d.schema_id {
            let id = i32::try_from(id)
                .map_err(|_| ApiError::bad_request(format!("{what}.schema_id {id} is out of range")))?;
            (registry.by_id(id, deadline).await?, d.subject.clone(), None)
        } else {
            let subject = match &d.subject {
                Some(s) => s.clone(),
                None => subject_for(topic, what, d.strategy.as_deref(), d.schema.as_deref(), d.kind)?,
            };
            match &d.schema {
                Some(text) => (
                    registry.register(&subject, d.kind.unwrap_or(crate::registry::Kind::Avro), text, deadline).await?,
                    Some(subject),
                    None,
                ),
                None => {
                    let (s, v) = registry.by_subject(&subject, d.schema_version, deadline).await?;
                    (s, Some(subject), Some(v))
                }
            }
        };
        let bytes = if d.data.is_null() {
            None
        } else {
            if let Some(want) = d.kind {
                schema.expect(want).map_err(|e| ApiError::new(ErrorCode::InvalidSchema, format!("{what}: {e}")))?;
            }
            let framed = schema.encode(&d.data).map_err(|e| {
                ApiError::new(
                    ErrorCode::SchemaConversion,
                    format!("Conversion of JSON to {} failed: {what}: {e}", schema.kind.title()),
                )
            })?;
            Some(bytes::Bytes::from(framed))
        };
        let meta = Meta {
            format: schema.kind.format(),
            size: bytes.as_ref().map_or(0, bytes::Bytes::len),
            subject,
            schema_id: Some(schema.id),
            schema_version: version,
        };
        if is_key {
            p.record.key = bytes;
            p.key = Some(meta);
        } else {
            p.record.value = bytes;
            p.value = Some(meta);
        }
    }
    Ok(())
}

/// The subject of `topic`'s key or value under a subject name strategy (Confluent's
/// TopicNameStrategy by default; the record strategies take the record's full name: Avro's
/// full name, the first Protobuf message's, a JSON Schema's title).
fn subject_for(
    topic: &str,
    side: &str,
    strategy: Option<&str>,
    schema: Option<&str>,
    kind: Option<crate::registry::Kind>,
) -> ApiResult<String> {
    let record_name = || -> ApiResult<String> {
        let text = schema.ok_or_else(|| {
            ApiError::bad_request(format!("{side}: RECORD_NAME and TOPIC_RECORD_NAME need the schema in the request"))
        })?;
        let parsed = crate::registry::Schema::parse(0, kind.unwrap_or(crate::registry::Kind::Avro), text)?;
        parsed.record_name().ok_or_else(|| ApiError::bad_request(format!("{side}: the schema has no record name")))
    };
    match strategy.unwrap_or("TOPIC_NAME") {
        "TOPIC_NAME" => Ok(format!("{topic}-{side}")),
        "RECORD_NAME" => record_name(),
        "TOPIC_RECORD_NAME" => Ok(format!("{topic}-{}", record_name()?)),
        other => Err(ApiError::bad_request(format!(
            "{side}.subject_name_strategy '{other}' is not TOPIC_NAME, RECORD_NAME or TOPIC_RECORD_NAME"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest<'a> {
    #[serde(borrow)]
    entries: Vec<BatchEntry<'a>>,
}

pub(super) async fn batch<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
    ctx: &Ctx<'_, C, R, K>,
) -> ApiResult<Response> {
    let (cluster_id, topic) = preflight(ctx).await?;
    if ctx.req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::unprocessable("Payload error. Request body is empty. Data is required."));
    }
    let body: BatchRequest = serde_json::from_slice(&ctx.req.body)
        .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}.")))?;
    if body.entries.is_empty() {
        // The OpenAPI document's answer for this is 400 (a bad request body), not 422.
        return Err(ApiError::bad_request("entries may not be empty."));
    }
    if body.entries.len() > ctx.app.config.max_records_per_request {
        return Err(ApiError::too_many_records(body.entries.len(), ctx.app.config.max_records_per_request));
    }
    let mut ids = Vec::with_capacity(body.entries.len());
    let mut parsed = Vec::with_capacity(body.entries.len());
    for (i, e) in body.entries.into_iter().enumerate() {
        let id = match &e.id {
            Value::String(s) if (1..=80).contains(&s.chars().count()) => s.clone(),
            other => {
                return Err(ApiError::bad_request(format!(
                    "entries[{i}].id must be a string of 1 to 80 characters, not {other}."
                )));
            }
        };
        if ids.contains(&id) {
            return Err(ApiError::bad_request(format!("entries[{i}].id '{id}' is used twice.")));
        }
        ids.push(id);
        parsed.push(
            convert(e.partition_id, e.headers, &e.key, &e.value, &e.timestamp)
                .map_err(|m| ApiError::bad_request(format!("Bad Request: {}.", m.trim_end_matches('.')))),
        );
    }
    let reports = write_batch(ctx.app, ctx.client(), &topic, parsed).await;
    let (mut successes, mut failures) = (Vec::new(), Vec::new());
    for (id, report) in ids.into_iter().zip(reports.iter().map(|r| r.to_json(&cluster_id, &topic))) {
        let ok = report["error_code"] == crate::error::DELIVERED;
        let mut entry = serde_json::Map::new();
        entry.insert("id".into(), json!(id));
        if let Value::Object(m) = report {
            entry.extend(m.into_iter().filter(|(k, _)| !(ok && k == "error_code")));
        }
        if ok { successes.push(Value::Object(entry)) } else { failures.push(Value::Object(entry)) }
    }
    // The OpenAPI document answers records:batch with 207 Multi-Status whatever the outcome.
    Ok(ctx.json(StatusCode::MULTI_STATUS, &json!({ "successes": successes, "failures": failures })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-record cost of the streaming parse path (run with --ignored --nocapture to see figures).
    #[test]
    #[ignore]
    fn parse_path_cost() {
        let payload = "YWJj".repeat(342);
        let record = format!("{{\"value\":{{\"type\":\"BINARY\",\"data\":\"{payload}\"}}}}");
        let chunk: String = std::iter::repeat_n(record.as_str(), 50).collect();
        let n = 2000;
        #[allow(clippy::disallowed_methods)] // a measurement run by hand, natively
        let t = std::time::Instant::now();
        let mut s = Splitter::new(1 << 20);
        let mut items = Vec::new();
        for _ in 0..n {
            items.extend(s.push(chunk.as_bytes()));
        }
        let split = t.elapsed();
        #[allow(clippy::disallowed_methods)] // a measurement run by hand, natively
        let t = std::time::Instant::now();
        let parsed: Vec<_> = items.into_iter().map(parse_item).collect();
        let parse = t.elapsed();
        assert!(parsed.iter().all(Result::is_ok));
        #[allow(clippy::disallowed_methods)] // a measurement run by hand, natively
        let t = std::time::Instant::now();
        let recs: Vec<_> = parsed.into_iter().flatten().map(|p| p.record).collect();
        let batch: Vec<kafka_protocol::records::Record> = recs
            .iter()
            .enumerate()
            .take(2000)
            .map(|(i, r)| {
                crate::kafka::compression::plain_record(i as i64, 0, r.key.clone(), r.value.clone(), Default::default())
            })
            .collect();
        for _ in 0..50 {
            crate::kafka::compression::encode_batch(&batch, kafka_protocol::records::Compression::None)
                .expect("encodes");
        }
        let encode = t.elapsed();
        let per = |d: std::time::Duration| d.as_nanos() as f64 / (n * 50) as f64;
        println!(
            "split {:.0} ns/record, parse {:.0} ns/record, encode {:.0} ns/record",
            per(split),
            per(parse),
            per(encode)
        );
    }
}
