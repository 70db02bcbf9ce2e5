//! v3 ACLs (KIP-140): list with filters (query), create one, create a batch, delete by filter
//! (answering with what was deleted).

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Links, parse_body};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::acls::{
    self, Acl, AclFilter, OPERATIONS, PATTERN_TYPES, PERMISSIONS, RESOURCE_TYPES, code_of, name_of,
};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

const ANY: i8 = 1;

fn acl_view(links: &Links, a: &Acl) -> Value {
    let query = format!(
        "resource_type={}&resource_name={}&pattern_type={}&principal={}&host={}&operation={}&permission={}",
        name_of(RESOURCE_TYPES, a.resource_type),
        encode(&a.resource_name),
        name_of(PATTERN_TYPES, a.pattern_type),
        encode(&a.principal),
        encode(&a.host),
        name_of(OPERATIONS, a.operation),
        name_of(PERMISSIONS, a.permission)
    );
    json!({
        "kind": "KafkaAcl",
        "metadata": { "self": links.url(&format!("/acls?{query}")) },
        "cluster_id": links.cluster_id(),
        "resource_type": name_of(RESOURCE_TYPES, a.resource_type),
        "resource_name": a.resource_name,
        "pattern_type": name_of(PATTERN_TYPES, a.pattern_type),
        "principal": a.principal,
        "host": a.host,
        "operation": name_of(OPERATIONS, a.operation),
        "permission": name_of(PERMISSIONS, a.permission),
    })
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn enum_param(table: &[(i8, &str)], field: &str, value: Option<String>) -> ApiResult<i8> {
    match value {
        None => Ok(ANY),
        // UNKNOWN is a value the broker reports, never one it accepts in a filter (it drops the
        // connection): refused here like any unknown name.
        Some(v) => code_of(table, &v).filter(|_| !v.eq_ignore_ascii_case("UNKNOWN")).ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(_, n)| *n).filter(|n| *n != "UNKNOWN").collect();
            ApiError::bad_request(format!("{field} '{v}' is not one of {}.", names.join(", ")))
        }),
    }
}

fn filter_from_query<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<AclFilter> {
    for field in ["resource_name", "principal", "host"] {
        if let Some(v) = ctx.req.query_param(field) {
            validate::protocol_string(field, &v)?;
        }
    }
    let q = |n: &str| ctx.req.query_param(n).filter(|v| !v.is_empty());
    Ok(AclFilter {
        resource_type: enum_param(RESOURCE_TYPES, "resource_type", q("resource_type"))?,
        resource_name: q("resource_name"),
        pattern_type: enum_param(PATTERN_TYPES, "pattern_type", q("pattern_type"))?,
        principal: q("principal"),
        host: q("host"),
        operation: enum_param(OPERATIONS, "operation", q("operation"))?,
        permission: enum_param(PERMISSIONS, "permission", q("permission"))?,
    })
}

fn list_body(links: &Links, self_url: String, acls: &[Acl]) -> Value {
    json!({
        "kind": "KafkaAclList",
        "metadata": { "self": self_url, "next": null },
        "data": acls.iter().map(|a| acl_view(links, a)).collect::<Vec<_>>(),
    })
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let filter = filter_from_query(ctx)?;
    let cluster_id = ctx.check_cluster().await?;
    let found = acls::describe(ctx.cluster(), &filter, ctx.deadline).await?;
    let links = Links::new(ctx, &cluster_id);
    let self_url = links.url(&format!("/acls{}", ctx.req.query.as_ref().map(|q| format!("?{q}")).unwrap_or_default()));
    Ok(ctx.json(StatusCode::OK, &list_body(&links, self_url, &found)))
}

pub async fn delete<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    if ctx.req.query_param("resource_type").is_none_or(|v| v.is_empty()) {
        return Err(ApiError::bad_request("resource_type is required to delete ACLs."));
    }
    let filter = filter_from_query(ctx)?;
    let cluster_id = ctx.check_cluster().await?;
    let deleted = acls::delete(ctx.cluster(), &filter, ctx.deadline).await?;
    let links = Links::new(ctx, &cluster_id);
    let self_url = links.url(&format!("/acls{}", ctx.req.query.as_ref().map(|q| format!("?{q}")).unwrap_or_default()));
    Ok(ctx.json(StatusCode::OK, &list_body(&links, self_url, &deleted)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AclBody {
    resource_type: String,
    resource_name: String,
    pattern_type: String,
    principal: String,
    host: String,
    operation: String,
    permission: String,
}

/// A concrete ACL: filter-only values (ANY, MATCH, UNKNOWN) are refused.
fn to_acl(b: AclBody, at: &str) -> ApiResult<Acl> {
    let concrete = |table: &[(i8, &str)], field: &str, v: &str| -> ApiResult<i8> {
        match code_of(table, v) {
            Some(c) if c > 1 && !(table == PATTERN_TYPES && c == 2) => Ok(c),
            _ => Err(ApiError::bad_request(format!("{at}{field} '{v}' is not valid for a new ACL."))),
        }
    };
    for (field, v) in [("resource_name", &b.resource_name), ("principal", &b.principal), ("host", &b.host)] {
        validate::protocol_string(&format!("{at}{field}"), v)?;
    }
    let acl = Acl {
        resource_type: concrete(RESOURCE_TYPES, "resource_type", &b.resource_type)?,
        resource_name: b.resource_name,
        pattern_type: concrete(PATTERN_TYPES, "pattern_type", &b.pattern_type)?,
        principal: b.principal,
        host: b.host,
        operation: concrete(OPERATIONS, "operation", &b.operation)?,
        permission: concrete(PERMISSIONS, "permission", &b.permission)?,
    };
    if acl.resource_type == 4 && acl.resource_name != "kafka-cluster" {
        return Err(ApiError::conflict_with_cluster("The only valid name for the CLUSTER resource is kafka-cluster"));
    }
    if !acl.principal.contains(':') {
        return Err(ApiError::bad_request(format!(
            "{at}principal '{}' must be TYPE:NAME, e.g. User:alice.",
            acl.principal
        )));
    }
    Ok(acl)
}

pub async fn create<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let body: AclBody = parse_body(ctx)?;
    let acl = to_acl(body, "")?;
    ctx.check_cluster().await?;
    acls::create(ctx.cluster(), &[acl], ctx.deadline).await?;
    Ok(Response::empty(StatusCode::CREATED, ctx.content_type))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    data: Vec<AclBody>,
}

pub async fn create_batch<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let body: BatchBody = parse_body(ctx)?;
    if body.data.is_empty() {
        return Err(ApiError::bad_request("data may not be empty."));
    }
    let acls = body
        .data
        .into_iter()
        .enumerate()
        .map(|(i, b)| to_acl(b, &format!("data[{i}].")))
        .collect::<ApiResult<Vec<_>>>()?;
    ctx.check_cluster().await?;
    acls::create(ctx.cluster(), &acls, ctx.deadline).await?;
    Ok(Response::empty(StatusCode::CREATED, ctx.content_type))
}
