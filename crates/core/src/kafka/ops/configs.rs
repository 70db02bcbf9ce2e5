//! Config descriptions: DescribeConfigs (key 32, KIP-226 sources).

use kafka_protocol::messages::{DescribeConfigsRequest, describe_configs_request::DescribeConfigsResource};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::error::{Result, check_topic};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

/// KIP-226 config sources.
pub const SOURCE_DYNAMIC_TOPIC: i8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub source: i8,
    pub sensitive: bool,
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
        out.extend(result.configs.into_iter().map(|c| ConfigEntry {
            name: c.name.to_string(),
            value: c.value.map(|v| v.to_string()),
            read_only: c.read_only,
            source: c.config_source,
            sensitive: c.is_sensitive,
        }));
    }
    Ok(out)
}
