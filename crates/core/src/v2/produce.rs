//! v2 produce: `POST /topics/{t}` and `POST /topics/{t}/partitions/{p}` with the binary, json and
//! avro embedded formats (and the less specific types, binary assumed). Avro keys and values are
//! written in Confluent's wire format under a schema registered as `<topic>-key` / `<topic>-value`
//! (or named by id). Record headers are accepted as
//! an extension: `headers: [{"name", "value" (base64)}]` (kafka-rest #523).

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::Ctx;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::formats::{self, Format};
use crate::http::Response;
use crate::http::negotiate::media_type;
use crate::kafka::ops::produce::{OutRecord, produce};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProduceBody {
    records: Option<Vec<V2Record>>,
    key_schema: Option<Value>,
    key_schema_id: Option<Value>,
    value_schema: Option<Value>,
    value_schema_id: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V2Record {
    #[serde(default)]
    key: Value,
    #[serde(default)]
    value: Value,
    partition: Option<i32>,
    #[serde(default)]
    headers: Vec<V2Header>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V2Header {
    name: String,
    value: Option<String>,
}

#[derive(Serialize)]
struct OffsetView {
    partition: Option<i32>,
    offset: Option<i64>,
    error_code: Option<crate::error::RecordErrorCode>,
    error: Option<String>,
}

#[derive(Serialize)]
struct ProduceResponse {
    key_schema_id: Option<i32>,
    value_schema_id: Option<i32>,
    offsets: Vec<OffsetView>,
}

pub async fn to_topic<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    handle(ctx, None).await
}

pub async fn to_partition<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let id = validate::partition_id(ctx.param("topic"), ctx.param("partition"))?;
    handle(ctx, Some(id)).await
}

/// The embedded format from the request's Content-Type (415 for anything else).
fn request_format<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Format> {
    let ct = ctx.req.header("content-type").unwrap_or("application/vnd.kafka.binary.v2+json");
    let format = Format::from_v2_content_type(&media_type(ct)).ok_or_else(|| {
        ApiError::unsupported_media_type(
            ct,
            &[
                "application/vnd.kafka.binary.v2+json",
                "application/vnd.kafka.json.v2+json",
                "application/vnd.kafka.avro.v2+json",
                "application/vnd.kafka.protobuf.v2+json",
                "application/vnd.kafka.jsonschema.v2+json",
                "application/json",
            ],
        )
    })?;
    Ok(format)
}

/// Parses the body: broken JSON and a body of the wrong shape (`records` not an array, a field
/// of the wrong type, an unknown field) are 400, as Confluent's current proxy answers Jackson's
/// parse and mapping errors (rest-utils `JsonMappingExceptionMapper`; before 2021 it was 422).
fn parse_body(body: &[u8]) -> ApiResult<ProduceBody> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
            ApiError::bad_request(format!("Invalid JSON: {e}."))
        }
        serde_json::error::Category::Data => ApiError::bad_request(format!("Invalid request: {e}.")),
    })
}

async fn handle<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    path_partition: Option<i32>,
) -> ApiResult<Response> {
    let topic = ctx.param("topic");
    validate::topic_name(topic)?;
    let format = request_format(ctx)?;
    let body = parse_body(&ctx.req.body)?;
    let records = body.records.unwrap_or_default();
    if records.is_empty() {
        return Err(ApiError::unprocessable("records may not be empty"));
    }
    if records.len() > ctx.app.config.max_records_per_request {
        return Err(ApiError::too_many_records(records.len(), ctx.app.config.max_records_per_request));
    }
    // Schema formats: each side's schema, registered under the topic's subject or named by id.
    let (key_schema, value_schema) = if let Some(kind) = crate::registry::Kind::of(format) {
        let registry = ctx.registry(format.v2_name())?;
        let keys = records.iter().any(|r| !r.key.is_null());
        let values = records.iter().any(|r| !r.value.is_null());
        let key = side_schema(
            ctx,
            registry,
            kind,
            &format!("{topic}-key"),
            &body.key_schema,
            &body.key_schema_id,
            keys,
            ErrorCode::KeySchemaMissing,
            "key",
        )
        .await?;
        let value = side_schema(
            ctx,
            registry,
            kind,
            &format!("{topic}-value"),
            &body.value_schema,
            &body.value_schema_id,
            values,
            ErrorCode::ValueSchemaMissing,
            "value",
        )
        .await?;
        (key, value)
    } else {
        (None, None)
    };
    let encode = |schema: &Option<std::rc::Rc<crate::registry::Schema>>,
                  data: &Value,
                  what: String|
     -> ApiResult<Option<bytes::Bytes>> {
        match schema {
            Some(_) if data.is_null() => Ok(None),
            Some(s) => s.encode(data).map(|b| Some(bytes::Bytes::from(b))).map_err(|e| {
                ApiError::new(
                    ErrorCode::SchemaConversion,
                    format!("Conversion of JSON to {} failed: {what}: {e}", s.kind.title()),
                )
            }),
            // Invalid base64, a binary value that is not a string: Jackson's mapping error (400).
            None => formats::encode(format, data, &what).map_err(ApiError::bad_request),
        }
    };
    let mut out = Vec::with_capacity(records.len());
    let rt = ctx.cluster().runtime();
    let mut turns = crate::runtime::Turns::new(rt, ctx.deadline, "validating and encoding the records");
    for (i, r) in records.into_iter().enumerate() {
        // CPU work per record: other requests of this instance get their turns; past the
        // deadline nothing is sent.
        turns.take(rt).await?;
        if let (Some(p), Some(want)) = (r.partition, path_partition)
            && p != want
        {
            return Err(ApiError::unprocessable(format!(
                "records[{i}].partition {p} differs from the partition in the path ({want})."
            )));
        }
        let key = encode(&key_schema, &r.key, format!("records[{i}].key"))?;
        let value = encode(&value_schema, &r.value, format!("records[{i}].value"))?;
        let mut headers = Vec::with_capacity(r.headers.len());
        for h in r.headers {
            let v = formats::header_value(&h.value, &h.name)
                .map_err(|e| ApiError::unprocessable(format!("records[{i}]: {e}")))?;
            headers.push((h.name, v));
        }
        out.push(OutRecord { partition: path_partition.or(r.partition), key, value, headers, timestamp: None });
    }

    let app = ctx.app;
    let opts = app.produce_options();
    // An unknown partition is a 404 for the whole request in v2; re-read metadata once before
    // deciding, in case partitions were added since it was cached.
    let mut meta = ctx.client().topic(topic, ctx.deadline).await?;
    if let Some(p) = out.iter().filter_map(|r| r.partition).find(|p| meta.partition(*p).is_none()) {
        ctx.client().forget_topic(topic);
        meta = ctx.client().topic(topic, ctx.deadline).await?;
        if meta.partition(p).is_none() {
            return Err(ApiError::partition_not_found(topic, p));
        }
    }
    let results = produce(ctx.client(), topic, out, opts, ctx.deadline).await?;
    let offsets = results
        .into_iter()
        .map(|r| match r {
            Ok(d) => OffsetView { partition: Some(d.partition), offset: Some(d.offset), error_code: None, error: None },
            Err(e) => OffsetView {
                partition: None,
                offset: None,
                error_code: Some(crate::error::RecordErrorCode::of(&e)),
                error: Some(e.to_string()),
            },
        })
        .collect();
    Ok(ctx.json(
        StatusCode::OK,
        &ProduceResponse {
            key_schema_id: key_schema.map(|s| s.id),
            value_schema_id: value_schema.map(|s| s.id),
            offsets,
        },
    ))
}

/// One side's schema: by id, or the full schema registered under `subject`; `needed` (records
/// carry data on this side) without either is `missing` (42201 / 42202).
#[allow(clippy::too_many_arguments)]
async fn side_schema<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    registry: &crate::registry::Registry<C, R>,
    kind: crate::registry::Kind,
    subject: &str,
    schema: &Option<Value>,
    id: &Option<Value>,
    needed: bool,
    missing: ErrorCode,
    side: &str,
) -> ApiResult<Option<std::rc::Rc<crate::registry::Schema>>> {
    match (schema, id) {
        (_, Some(id)) => {
            // A number, or a string of one (Jackson coerces "5" to an int, and clients send it).
            let id = match id {
                Value::String(s) => s.trim().parse::<i64>().ok(),
                other => other.as_i64(),
            }
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| ApiError::bad_request(format!("{side}_schema_id must be an integer, not {id}")))?;
            let schema = registry.by_id(id, ctx.deadline).await?;
            schema
                .expect(kind)
                .map_err(|e| ApiError::new(ErrorCode::InvalidSchema, format!("{side}_schema_id: {e}")))?;
            Ok(Some(schema))
        }
        (Some(Value::String(text)), None) => Ok(Some(registry.register(subject, kind, text, ctx.deadline).await?)),
        (Some(other), None) => {
            Err(ApiError::new(ErrorCode::InvalidSchema, format!("{side}_schema must be a string, not {other}")))
        }
        (None, None) if needed => Err(ApiError::new(
            missing,
            format!("Request includes {side}s but does not include {side}_schema or {side}_schema_id."),
        )),
        (None, None) => Ok(None),
    }
}
