//! v3 configs (DescribeConfigs with synonyms, IncrementalAlterConfigs): cluster-wide broker
//! defaults (`/broker-configs`), one broker's (`/brokers/{id}/configs`), every broker's
//! (`/brokers/-/configs`), a topic's (`/topics/{t}/configs`) and every topic's (`/topics/-/configs`);
//! list, one, PUT (SET), DELETE (back to the default) and `:alter` (SET/DELETE, validate_only).

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Links, checked_metadata, collection, parse_body, resource};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::configs::{self, AlterOp, ConfigEntry, Resource, SOURCE_DEFAULT, source_name};
use crate::kafka::ops::metadata::Topics;
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

/// Which family of configs a request is about.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Cluster,
    Broker(i32),
    Topic(&'a str),
}

impl Scope<'_> {
    fn resource(&self) -> Resource {
        match self {
            Scope::Cluster => Resource::cluster_defaults(),
            Scope::Broker(id) => Resource::broker(*id),
            Scope::Topic(t) => Resource::topic(t),
        }
    }

    fn base(&self) -> String {
        match self {
            Scope::Cluster => "/broker-configs".into(),
            Scope::Broker(id) => format!("/brokers/{id}/configs"),
            Scope::Topic(t) => format!("/topics/{t}/configs"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Scope::Cluster => "KafkaClusterConfig",
            Scope::Broker(_) => "KafkaBrokerConfig",
            Scope::Topic(_) => "KafkaTopicConfig",
        }
    }
}

fn config_view(links: &Links, scope: Scope<'_>, e: &ConfigEntry) -> Value {
    let (crn, extra) = match scope {
        Scope::Cluster => (format!("/broker-config={}", e.name), json!({"config_type": "BROKER"})),
        Scope::Broker(id) => (format!("/broker={id}/config={}", e.name), json!({"broker_id": id})),
        Scope::Topic(t) => (format!("/topic={t}/config={}", e.name), json!({"topic_name": t})),
    };
    let mut fields = json!({
        "cluster_id": links.cluster_id(),
        "name": e.name,
        "value": e.value,
        "is_default": e.source == SOURCE_DEFAULT,
        "is_read_only": e.read_only,
        "is_sensitive": e.sensitive,
        "source": source_name(e.source),
        "synonyms": e.synonyms.iter().map(|(n, v, s)| json!({"name": n, "value": v, "source": source_name(*s)})).collect::<Vec<_>>(),
    });
    if let (Value::Object(f), Value::Object(x)) = (&mut fields, extra) {
        f.extend(x);
    }
    resource(scope.kind(), links.url(&format!("{}/{}", scope.base(), e.name)), links.crn(&crn), fields)
}

/// Which configs a route addresses (the route table names it per route).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    Cluster,
    Broker,
    Topic,
}

/// Resolves the scope from the path, checking the cluster id and that the broker/topic exists.
async fn scope_of<'a, C: Connect, R: Runtime, K: KvStore>(
    ctx: &'a Ctx<'_, C, R, K>,
    kind: ScopeKind,
) -> ApiResult<(String, Scope<'a>)> {
    match kind {
        ScopeKind::Cluster => Ok((ctx.check_cluster().await?, Scope::Cluster)),
        ScopeKind::Broker => {
            let id = validate::broker_id(ctx.param("broker"))?;
            let meta = checked_metadata(ctx, Topics::None).await?;
            if !meta.brokers.iter().any(|b| b.id == id) {
                return Err(ApiError::broker_not_found(id));
            }
            Ok((meta.cluster_id, Scope::Broker(id)))
        }
        ScopeKind::Topic => {
            let t = ctx.param("topic");
            validate::topic_name(t)?;
            if ctx.req.method != http::Method::GET {
                validate::writable_topic(t, &ctx.app.config)?;
            }
            let names = [t.to_owned()];
            let meta = checked_metadata(ctx, Topics::Named(&names)).await?;
            Ok((meta.cluster_id, Scope::Topic(t)))
        }
    }
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, kind: ScopeKind) -> ApiResult<Response> {
    let (cluster_id, scope) = scope_of(ctx, kind).await?;
    let described = configs::describe(ctx.cluster(), &[scope.resource()], None, ctx.deadline).await?;
    let links = Links::new(ctx, &cluster_id);
    let data =
        described.iter().flat_map(|(_, entries)| entries.iter().map(|e| config_view(&links, scope, e))).collect();
    Ok(ctx.json(StatusCode::OK, &collection(&format!("{}List", scope.kind()), links.url(&scope.base()), data)))
}

pub async fn get<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, kind: ScopeKind) -> ApiResult<Response> {
    let (cluster_id, scope) = scope_of(ctx, kind).await?;
    let name = ctx.param("name").to_owned();
    validate::protocol_string("the config name", &name)?;
    let described =
        configs::describe(ctx.cluster(), &[scope.resource()], Some(std::slice::from_ref(&name)), ctx.deadline).await?;
    let entry = described
        .iter()
        .flat_map(|(_, e)| e.iter())
        .find(|e| e.name == name)
        .ok_or_else(|| ApiError::not_found(format!("Config '{name}' not found.")))?;
    Ok(ctx.json(StatusCode::OK, &config_view(&Links::new(ctx, &cluster_id), scope, entry)))
}

#[derive(Deserialize)]
struct UpdateBody {
    value: Option<String>,
}

pub async fn update<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    kind: ScopeKind,
) -> ApiResult<Response> {
    let body: UpdateBody = parse_body(ctx)?;
    let (_, scope) = scope_of(ctx, kind).await?;
    let name = ctx.param("name").to_owned();
    validate::protocol_string("the config name", &name)?;
    let value = body.value.ok_or_else(|| ApiError::bad_request("value is required."))?;
    validate::protocol_string("value", &value)?;
    configs::alter(ctx.cluster(), &scope.resource(), &[(name, AlterOp::Set, Some(value))], false, ctx.deadline).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

pub async fn delete<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    kind: ScopeKind,
) -> ApiResult<Response> {
    let (_, scope) = scope_of(ctx, kind).await?;
    let name = ctx.param("name").to_owned();
    validate::protocol_string("the config name", &name)?;
    configs::alter(ctx.cluster(), &scope.resource(), &[(name, AlterOp::Delete, None)], false, ctx.deadline).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

#[derive(Deserialize)]
struct AlterBody {
    data: Vec<AlterEntry>,
    #[serde(default)]
    validate_only: bool,
}

#[derive(Deserialize)]
struct AlterEntry {
    name: String,
    value: Option<String>,
    operation: Option<String>,
}

pub async fn alter<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, kind: ScopeKind) -> ApiResult<Response> {
    let body: AlterBody = parse_body(ctx)?;
    let (_, scope) = scope_of(ctx, kind).await?;
    let mut changes = Vec::with_capacity(body.data.len());
    for (i, e) in body.data.into_iter().enumerate() {
        let op = match e.operation.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("SET") => AlterOp::Set,
            Some("DELETE") => AlterOp::Delete,
            Some("APPEND") => AlterOp::Append,
            Some("SUBTRACT") => AlterOp::Subtract,
            Some(other) => {
                return Err(ApiError::bad_request(format!("data[{i}].operation '{other}' is not SET or DELETE.")));
            }
        };
        validate::protocol_string(&format!("data[{i}].name"), &e.name)?;
        if let Some(v) = &e.value {
            validate::protocol_string(&format!("data[{i}].value"), v)?;
        }
        // Kafka stores an empty name as given; it can never be read or removed again.
        if e.name.trim().is_empty() {
            return Err(ApiError::bad_request(format!("data[{i}].name may not be empty.")));
        }
        if op != AlterOp::Delete && e.value.is_none() {
            return Err(ApiError::bad_request(format!("data[{i}].value is required for {op:?}.")));
        }
        changes.push((e.name, op, e.value));
    }
    if changes.is_empty() {
        return Err(ApiError::bad_request("data may not be empty."));
    }
    configs::alter(ctx.cluster(), &scope.resource(), &changes, body.validate_only, ctx.deadline).await?;
    Ok(Response::empty(StatusCode::NO_CONTENT, ctx.content_type))
}

/// `/brokers/-/configs` and `/topics/-/configs`: every broker's or topic's configs.
pub async fn list_all<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, topics: bool) -> ApiResult<Response> {
    let meta = checked_metadata(ctx, if topics { Topics::All } else { Topics::None }).await?;
    let links = Links::new(ctx, &meta.cluster_id);
    let mut data = Vec::new();
    if topics {
        let resources: Vec<Resource> = meta.topics.iter().map(|t| Resource::topic(&t.name)).collect();
        if !resources.is_empty() {
            for (r, entries) in configs::describe(ctx.cluster(), &resources, None, ctx.deadline).await? {
                data.extend(entries.iter().map(|e| config_view(&links, Scope::Topic(&r.name), e)));
            }
        }
        return Ok(ctx.json(StatusCode::OK, &collection("KafkaTopicConfigList", links.url("/topics/-/configs"), data)));
    }
    // One DescribeConfigs per broker (each answers for itself), all at once.
    let calls = meta.brokers.iter().map(|b| {
        let r = [Resource::broker(b.id)];
        async move { (b.id, configs::describe(ctx.cluster(), &r, None, ctx.deadline).await) }
    });
    for (id, result) in futures::future::join_all(calls).await {
        for (_, entries) in result? {
            data.extend(entries.iter().map(|e| config_view(&links, Scope::Broker(id), e)));
        }
    }
    Ok(ctx.json(StatusCode::OK, &collection("KafkaBrokerConfigList", links.url("/brokers/-/configs"), data)))
}
