//! The v3 API (`application/json`), one file per resource; shapes follow the v3 OpenAPI document
//! (`Resource`/`ResourceCollection` with `kind`, `metadata.self`, `resource_name`, `related` links).

pub mod acls;
pub mod brokers;
pub mod clusters;
pub mod configs;
pub mod consumer_groups;
pub mod partitions;
pub mod reassignments;
pub mod records;
pub mod replicas;
pub mod topics;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::app::Ctx;
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;

/// Builds absolute links under `{base}/v3/clusters/{cluster_id}`.
pub struct Links {
    cluster: String,
    cluster_id: String,
}

impl Links {
    pub fn new<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>, cluster_id: &str) -> Self {
        Links { cluster: format!("{}/v3/clusters/{}", ctx.base_url(), cluster_id), cluster_id: cluster_id.to_owned() }
    }

    /// `{base}/v3/clusters/{id}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cluster)
    }

    pub fn related(&self, path: &str) -> Value {
        json!({ "related": self.url(path) })
    }

    /// `crn:///kafka={id}{suffix}`.
    pub fn crn(&self, suffix: &str) -> String {
        format!("crn:///kafka={}{suffix}", self.cluster_id)
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }
}

/// A `related` link (`Relationship` in the OpenAPI document).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Related {
    pub related: String,
}

/// `ResourceMetadata`: the resource's own URL and its CRN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metadata {
    #[serde(rename = "self")]
    pub self_url: String,
    pub resource_name: String,
}

/// A typed single resource: `kind`, `metadata`, then the resource's own fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resource<T> {
    pub kind: &'static str,
    pub metadata: Metadata,
    #[serde(flatten)]
    pub data: T,
}

/// `ResourceCollectionMetadata`: whole collections, so `next` is always null.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CollectionMetadata {
    #[serde(rename = "self")]
    pub self_url: String,
    pub next: Option<String>,
}

/// A typed collection: `kind`, `metadata`, `data`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Collection<T> {
    pub kind: &'static str,
    pub metadata: CollectionMetadata,
    pub data: Vec<T>,
}

impl<T> Collection<T> {
    pub fn new(kind: &'static str, self_url: String, data: Vec<T>) -> Self {
        Collection { kind, metadata: CollectionMetadata { self_url, next: None }, data }
    }
}

impl Links {
    /// A typed `related` link under the cluster.
    pub fn rel(&self, path: &str) -> Related {
        Related { related: self.url(path) }
    }

    /// A typed resource at `{cluster}{path}` named `crn:///kafka={id}{crn}`.
    pub fn resource<T>(&self, kind: &'static str, path: &str, crn: &str, data: T) -> Resource<T> {
        Resource { kind, metadata: Metadata { self_url: self.url(path), resource_name: self.crn(crn) }, data }
    }
}

/// A single resource: `kind`, `metadata {self, resource_name}`, then `fields` (untyped; resources
/// not yet given their own struct).
pub fn resource(kind: &str, self_url: String, resource_name: String, fields: Value) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind));
    out.insert("metadata".into(), json!({ "self": self_url, "resource_name": resource_name }));
    if let Value::Object(f) = fields {
        out.extend(f);
    }
    Value::Object(out)
}

/// A collection: `kind`, `metadata {self, next: null}`, `data` (this API returns whole collections).
pub fn collection(kind: &str, self_url: String, data: Vec<Value>) -> Value {
    json!({ "kind": kind, "metadata": { "self": self_url, "next": null }, "data": data })
}

/// Parses a JSON request body (its Content-Type was checked from the route table); a body that is not JSON, or has a field of the wrong type, is a 400
/// whose message names the problem (the reference's "JSON field cannot be deserialized").
pub fn parse_body<T: serde::de::DeserializeOwned, C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
) -> crate::error::ApiResult<T> {
    use crate::error::ApiError;
    if ctx.req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("The request body is empty; a JSON object is required."));
    }
    serde_json::from_slice(&ctx.req.body).map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}.")))
}

/// Metadata for `topics`, checking the `{cluster_id}` path parameter against the cluster's id.
pub async fn checked_metadata<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    topics: crate::kafka::ops::metadata::Topics<'_>,
) -> crate::error::ApiResult<crate::kafka::ops::metadata::ClusterMetadata> {
    use crate::kafka::ops::metadata;
    // A missing topic must not hide a wrong cluster id: check the cluster first.
    let cluster_id = ctx.check_cluster().await?;
    let meta = metadata::fetch(ctx.cluster(), topics, ctx.deadline).await?;
    if meta.cluster_id != cluster_id {
        ctx.client().remember_cluster_id(&meta.cluster_id);
        return Err(crate::error::ApiError::cluster_not_found(ctx.param("cluster")));
    }
    Ok(meta)
}
