//! Config descriptions: DescribeConfigs (key 32, KIP-226 sources).

use kafka_protocol::messages::{
    DescribeConfigsRequest, IncrementalAlterConfigsRequest,
    describe_configs_request::DescribeConfigsResource,
    incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig},
};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::error::{Result, check_topic};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

/// KIP-226 config sources.
pub const SOURCE_DYNAMIC_TOPIC: i8 = 1;
pub const SOURCE_DEFAULT: i8 = 5;

/// The v3 API's name of a KIP-226 config source.
pub fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "DYNAMIC_CLIENT_METRICS_CONFIG",
        8 => "DYNAMIC_GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub source: i8,
    pub sensitive: bool,
    /// (name, value, source), most specific first (KIP-226).
    pub synonyms: Vec<(String, Option<String>, i8)>,
}

/// A config resource: a topic, one broker (`"1"`), or the cluster-wide broker defaults (`""`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub kind: i8,
    pub name: String,
}

impl Resource {
    pub fn topic(name: &str) -> Self {
        Resource { kind: RESOURCE_TOPIC, name: name.to_owned() }
    }
    pub fn broker(id: i32) -> Self {
        Resource { kind: RESOURCE_BROKER, name: id.to_string() }
    }
    pub fn cluster_defaults() -> Self {
        Resource { kind: RESOURCE_BROKER, name: String::new() }
    }
}

impl Resource {
    /// Where requests about this resource go: a broker answers only for its own configs.
    pub fn target(&self) -> Target {
        match (self.kind, self.name.parse::<i32>()) {
            (RESOURCE_BROKER, Ok(id)) => Target::Broker(id),
            _ => Target::Any,
        }
    }
}

/// The configs of several resources at once (one DescribeConfigs to `resources[0]`'s target), with synonyms.
pub async fn describe<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    resources: &[Resource],
    names: Option<&[String]>,
    deadline: Deadline,
) -> Result<Vec<(Resource, Vec<ConfigEntry>)>> {
    let request = DescribeConfigsRequest::default().with_include_synonyms(true).with_resources(
        resources
            .iter()
            .map(|r| {
                DescribeConfigsResource::default()
                    .with_resource_type(r.kind)
                    .with_resource_name(StrBytes::from_string(r.name.clone()))
                    .with_configuration_keys(
                        names.map(|n| n.iter().map(|k| StrBytes::from_string(k.clone())).collect()),
                    )
            })
            .collect(),
    );
    let target = resources.first().map_or(Target::Any, Resource::target);
    let response = cluster.call(target, &request, deadline).await?;
    let mut out = Vec::new();
    for result in response.results {
        let resource = Resource { kind: result.resource_type, name: result.resource_name.to_string() };
        if let Some(code) = kafka_protocol::ResponseError::try_from_code(result.error_code) {
            let message = result.error_message.map(|m| m.to_string());
            return Err(if resource.kind == RESOURCE_TOPIC {
                crate::kafka::error::Error::Topic { topic: resource.name, code, message }
            } else {
                crate::kafka::error::Error::Broker { code, message }
            });
        }
        let mut entries: Vec<ConfigEntry> = result.configs.into_iter().map(entry).collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        out.push((resource, entries));
    }
    Ok(out)
}

fn entry(c: kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult) -> ConfigEntry {
    ConfigEntry {
        name: c.name.to_string(),
        value: if c.is_sensitive { None } else { c.value.map(|v| v.to_string()) },
        read_only: c.read_only,
        source: c.config_source,
        sensitive: c.is_sensitive,
        synonyms: c
            .synonyms
            .into_iter()
            .map(|s| (s.name.to_string(), if c.is_sensitive { None } else { s.value.map(|v| v.to_string()) }, s.source))
            .collect(),
    }
}

/// An IncrementalAlterConfigs operation (KIP-339).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlterOp {
    Set = 0,
    Delete = 1,
    Append = 2,
    Subtract = 3,
}

/// Alters configs of one resource; `validate_only` checks without applying.
pub async fn alter<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    resource: &Resource,
    changes: &[(String, AlterOp, Option<String>)],
    validate_only: bool,
    deadline: Deadline,
) -> Result<()> {
    let request = IncrementalAlterConfigsRequest::default().with_validate_only(validate_only).with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(resource.kind)
            .with_resource_name(StrBytes::from_string(resource.name.clone()))
            .with_configs(
                changes
                    .iter()
                    .map(|(name, op, value)| {
                        AlterableConfig::default()
                            .with_name(StrBytes::from_string(name.clone()))
                            .with_config_operation(*op as i8)
                            .with_value(value.clone().map(StrBytes::from_string))
                    })
                    .collect(),
            ),
    ]);
    let response = cluster.call(resource.target(), &request, deadline).await?;
    for r in response.responses {
        if let Some(code) = kafka_protocol::ResponseError::try_from_code(r.error_code) {
            let message = r.error_message.map(|m| m.to_string());
            return Err(if resource.kind == RESOURCE_TOPIC {
                crate::kafka::error::Error::Topic { topic: resource.name.clone(), code, message }
            } else {
                crate::kafka::error::Error::Broker { code, message }
            });
        }
    }
    Ok(())
}

/// Every config of a topic.
pub async fn describe_topic<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topic: &str,
    deadline: Deadline,
) -> Result<Vec<ConfigEntry>> {
    let request = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(RESOURCE_TOPIC)
            .with_resource_name(StrBytes::from_string(topic.to_owned()))
            .with_configuration_keys(None),
    ]);
    let response = cluster.call(Target::Any, &request, deadline).await?;
    let mut out = Vec::new();
    for result in response.results {
        check_topic(topic, result.error_code, result.error_message.as_deref())?;
        out.extend(result.configs.into_iter().map(entry));
    }
    Ok(out)
}
