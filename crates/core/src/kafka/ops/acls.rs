//! ACLs: DescribeAcls (29), CreateAcls (30), DeleteAcls (31) — KIP-140 filters.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest, create_acls_request::AclCreation,
    delete_acls_request::DeleteAclsFilter,
};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::error::{Error, Result};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

/// Kafka's enum codes and the v3 API's names for them, in one table each.
pub const RESOURCE_TYPES: &[(i8, &str)] = &[
    (0, "UNKNOWN"),
    (1, "ANY"),
    (2, "TOPIC"),
    (3, "GROUP"),
    (4, "CLUSTER"),
    (5, "TRANSACTIONAL_ID"),
    (6, "DELEGATION_TOKEN"),
    (7, "USER"),
];
pub const PATTERN_TYPES: &[(i8, &str)] = &[(0, "UNKNOWN"), (1, "ANY"), (2, "MATCH"), (3, "LITERAL"), (4, "PREFIXED")];
pub const OPERATIONS: &[(i8, &str)] = &[
    (0, "UNKNOWN"),
    (1, "ANY"),
    (2, "ALL"),
    (3, "READ"),
    (4, "WRITE"),
    (5, "CREATE"),
    (6, "DELETE"),
    (7, "ALTER"),
    (8, "DESCRIBE"),
    (9, "CLUSTER_ACTION"),
    (10, "DESCRIBE_CONFIGS"),
    (11, "ALTER_CONFIGS"),
    (12, "IDEMPOTENT_WRITE"),
    (13, "CREATE_TOKENS"),
    (14, "DESCRIBE_TOKENS"),
    (15, "TWO_PHASE_COMMIT"),
];
pub const PERMISSIONS: &[(i8, &str)] = &[(0, "UNKNOWN"), (1, "ANY"), (2, "DENY"), (3, "ALLOW")];

pub fn name_of(table: &[(i8, &'static str)], code: i8) -> &'static str {
    table.iter().find(|(c, _)| *c == code).map_or("UNKNOWN", |(_, n)| n)
}

pub fn code_of(table: &[(i8, &str)], name: &str) -> Option<i8> {
    table.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(c, _)| *c)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    pub resource_type: i8,
    pub resource_name: String,
    pub pattern_type: i8,
    pub principal: String,
    pub host: String,
    pub operation: i8,
    pub permission: i8,
}

/// A filter: None fields match anything (codes use ANY).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: i8,
    pub resource_name: Option<String>,
    pub pattern_type: i8,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: i8,
    pub permission: i8,
}

fn s(v: &Option<String>) -> Option<StrBytes> {
    v.clone().map(StrBytes::from_string)
}

fn broker_error(code: i16, message: Option<StrBytes>) -> Result<()> {
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(code) => Err(Error::Broker { code, message: message.map(|m| m.to_string()) }),
    }
}

pub async fn describe<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    f: &AclFilter,
    deadline: Deadline,
) -> Result<Vec<Acl>> {
    let request = DescribeAclsRequest::default()
        .with_resource_type_filter(f.resource_type)
        .with_resource_name_filter(s(&f.resource_name))
        .with_pattern_type_filter(f.pattern_type)
        .with_principal_filter(s(&f.principal))
        .with_host_filter(s(&f.host))
        .with_operation(f.operation)
        .with_permission_type(f.permission);
    let response = cluster.call(Target::Any, &request, deadline).await?;
    broker_error(response.error_code, response.error_message)?;
    let mut out = Vec::new();
    for r in response.resources {
        for a in r.acls {
            out.push(Acl {
                resource_type: r.resource_type,
                resource_name: r.resource_name.to_string(),
                pattern_type: r.pattern_type,
                principal: a.principal.to_string(),
                host: a.host.to_string(),
                operation: a.operation,
                permission: a.permission_type,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.resource_type, &a.resource_name, a.pattern_type, &a.principal, &a.host, a.operation, a.permission).cmp(&(
            b.resource_type,
            &b.resource_name,
            b.pattern_type,
            &b.principal,
            &b.host,
            b.operation,
            b.permission,
        ))
    });
    Ok(out)
}

pub async fn create<C: Connect, R: Runtime>(cluster: &Cluster<C, R>, acls: &[Acl], deadline: Deadline) -> Result<()> {
    let request = CreateAclsRequest::default().with_creations(
        acls.iter()
            .map(|a| {
                AclCreation::default()
                    .with_resource_type(a.resource_type)
                    .with_resource_name(StrBytes::from_string(a.resource_name.clone()))
                    .with_resource_pattern_type(a.pattern_type)
                    .with_principal(StrBytes::from_string(a.principal.clone()))
                    .with_host(StrBytes::from_string(a.host.clone()))
                    .with_operation(a.operation)
                    .with_permission_type(a.permission)
            })
            .collect(),
    );
    let response = cluster.call(Target::Any, &request, deadline).await?;
    for r in response.results {
        broker_error(r.error_code, r.error_message)?;
    }
    Ok(())
}

/// Deletes what `filter` matches and returns it.
pub async fn delete<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    f: &AclFilter,
    deadline: Deadline,
) -> Result<Vec<Acl>> {
    let request = DeleteAclsRequest::default().with_filters(vec![
        DeleteAclsFilter::default()
            .with_resource_type_filter(f.resource_type)
            .with_resource_name_filter(s(&f.resource_name))
            .with_pattern_type_filter(f.pattern_type)
            .with_principal_filter(s(&f.principal))
            .with_host_filter(s(&f.host))
            .with_operation(f.operation)
            .with_permission_type(f.permission),
    ]);
    let response = cluster.call(Target::Any, &request, deadline).await?;
    let mut out = Vec::new();
    for r in response.filter_results {
        broker_error(r.error_code, r.error_message)?;
        for m in r.matching_acls {
            broker_error(m.error_code, m.error_message)?;
            out.push(Acl {
                resource_type: m.resource_type,
                resource_name: m.resource_name.to_string(),
                pattern_type: m.pattern_type,
                principal: m.principal.to_string(),
                host: m.host.to_string(),
                operation: m.operation,
                permission: m.permission_type,
            });
        }
    }
    Ok(out)
}
