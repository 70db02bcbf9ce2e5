//! The v2 API (`application/vnd.kafka.v2+json`), one file per resource.

pub mod brokers;
pub mod consumers;
pub mod partitions;
pub mod produce;
pub mod topics;

use serde::Serialize;

use crate::kafka::ops::metadata::Partition;

/// A partition as v2 shows it (reference: `GET /topics/{t}/partitions`).
#[derive(Serialize)]
pub struct PartitionView {
    pub partition: i32,
    pub leader: i32,
    pub replicas: Vec<ReplicaView>,
}

#[derive(Serialize)]
pub struct ReplicaView {
    pub broker: i32,
    pub leader: bool,
    pub in_sync: bool,
}

impl From<&Partition> for PartitionView {
    fn from(p: &Partition) -> Self {
        PartitionView {
            partition: p.id,
            leader: p.leader,
            replicas: p
                .replicas
                .iter()
                .map(|&b| ReplicaView { broker: b, leader: b == p.leader, in_sync: p.isr.contains(&b) })
                .collect(),
        }
    }
}
