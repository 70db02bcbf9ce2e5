//! v2 consumer instances: `POST /consumers/{group}`, `DELETE /consumers/{group}/instances/{instance}`.
//!
//! The instance is a record in the key-value store, not an object in this process: any instance of
//! the component serves it. Group membership, subscriptions, offsets and records build on this
//! record (issue: stateless v2 consumers).

use serde::Serialize;
use serde_json::Value;

use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::http::negotiate::{JSON, media_type};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::{ConsumerInstance, KvStore, consumer_key};

const FORMATS: &[&str] = &["binary", "json", "avro", "jsonschema", "protobuf"];

fn invalid_config(message: String) -> ApiError {
    ApiError::new(422, 42204, message)
}

/// A group or instance name: used in URLs and keys, so no control characters and a sane length.
fn check_name(what: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!("Invalid {what} '{}'.", name.escape_default())));
    }
    Ok(())
}

/// v2 request bodies: the v2 vendor types (any embedded format), the generic ones, or none.
fn check_v2_content_type<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<()> {
    let Some(ct) = ctx.req.header("content-type") else { return Ok(()) };
    let media = media_type(ct);
    let ok = media == JSON
        || media == "application/vnd.kafka+json"
        || (media.starts_with("application/vnd.kafka.") && media.ends_with(".v2+json"))
        || media == "application/vnd.kafka.v2+json";
    if ok { Ok(()) } else { Err(ApiError::unsupported_media_type(ct, &["application/vnd.kafka.v2+json", JSON])) }
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
    let group = ctx.param(0).to_owned();
    check_name("consumer group name", &group)?;
    check_v2_content_type(ctx)?;
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
    let key = consumer_key(&group, &name);
    // spin:key-value@3.0.0 has no create-if-absent: two racing creates of one name can both pass
    // this check (the later write wins). Names the proxy generates cannot collide.
    if ctx.app.kv.get(&key).await?.is_some() {
        return Err(ApiError::new(409, 40902, format!("Consumer instance with the name '{name}' already exists.")));
    }
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
    };
    let bytes = serde_json::to_vec(&record).map_err(|e| ApiError::internal(e.to_string()))?;
    ctx.app.kv.set(&key, &bytes).await?;
    let base_uri =
        format!("{}/consumers/{}/instances/{}", ctx.base_url(), encode_segment(&group), encode_segment(&name));
    Ok(ctx.json(200, &Created { instance_id: name, base_uri }))
}

pub async fn delete<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (group, instance) = (ctx.param(0), ctx.param(1));
    let key = consumer_key(group, instance);
    if ctx.app.kv.get(&key).await?.is_none() {
        return Err(ApiError::consumer_not_found(group, instance));
    }
    ctx.app.kv.delete(&key).await?;
    Ok(Response::empty(204, ctx.content_type))
}

/// Percent-encodes a path segment (names may hold any printable character).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
