//! A native Kafka client for the tests (the project's own core over std sockets), to set up and
//! check what the proxy reports independently of the proxy.

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record};
use kre_core::kafka::cluster::{ClientConfig, Cluster, Target};
use kre_core::kafka::compression::plain_record;
use kre_core::kafka::ops::{metadata, topics};
use kre_core::kafka::resolve::HostMap;
use kre_core::native::{NativeConnect, NativeRuntime, block_on};
use kre_core::{Deadline, Runtime};

pub struct Kafka {
    pub cluster: Cluster<NativeConnect, NativeRuntime>,
}

impl Kafka {
    pub fn new(bootstrap: &str) -> Kafka {
        let config = ClientConfig {
            bootstrap: bootstrap.split(',').map(String::from).collect(),
            client_id: "kre-tests".into(),
            host_map: HostMap::default(),
            connect_timeout_ms: 5_000,
            tls: None,
            sasl: None,
        };
        Kafka { cluster: Cluster::new(NativeConnect, NativeRuntime::default(), config) }
    }

    pub fn deadline(&self) -> Deadline {
        Deadline::after(self.cluster.runtime(), 30_000)
    }

    pub fn describe(&self) -> metadata::ClusterMetadata {
        block_on(metadata::describe_cluster(&self.cluster, self.deadline())).unwrap()
    }

    /// The topic's metadata, waiting (up to 10 s) for it to reach the broker that answers.
    pub fn topic(&self, name: &str) -> metadata::Topic {
        for _ in 0..100 {
            if let Some(t) = self.try_topic(name) {
                return t;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        block_on(metadata::topic(&self.cluster, name, self.deadline())).unwrap()
    }

    /// The topic, or None while the broker answering does not know it yet.
    pub fn try_topic(&self, name: &str) -> Option<metadata::Topic> {
        block_on(metadata::topic(&self.cluster, name, self.deadline())).ok()
    }

    pub fn create_topic(&self, name: &str, partitions: i32, replication: i16) {
        let t = topics::NewTopic {
            name: name.into(),
            partitions: Some(partitions),
            replication_factor: Some(replication),
            ..Default::default()
        };
        block_on(topics::create(&self.cluster, &t, self.deadline())).unwrap();
        // Wait until the topic's leaders are known to the broker answering metadata.
        for _ in 0..100 {
            if let Ok(t) = block_on(metadata::topic(&self.cluster, name, self.deadline()))
                && t.partitions.len() == partitions as usize
                && t.partitions.iter().all(|p| p.leader >= 0)
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("topic {name} did not become ready");
    }

    pub fn delete_topic(&self, name: &str) {
        let _ = block_on(topics::delete(&self.cluster, name, self.deadline()));
    }

    /// Produces `values` (with keys `k<i>`, headers `h<i>`) to one partition, uncompressed, now;
    /// returns the base offset.
    pub fn produce(&self, topic: &str, partition: i32, values: &[&str]) -> i64 {
        let now = self.cluster.runtime().wall_ms();
        self.produce_with(topic, partition, values, Compression::None, now)
    }
}

/// A record as read back from the broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: i64,
    pub compression: kafka_protocol::records::Compression,
}

impl Kafka {
    /// Every record of `partition` from offset 0 up to the high watermark.
    pub fn read_partition(&self, topic: &str, partition: i32) -> Vec<Read> {
        use kafka_protocol::messages::FetchRequest;
        use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
        let meta = self.topic(topic);
        let leader = meta.partition(partition).unwrap().leader;
        let mut out = Vec::new();
        let mut offset = 0i64;
        // Bounded: a fetch that never reaches the high watermark fails the test, not hangs it.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            assert!(std::time::Instant::now() < until, "{topic}/{partition}: offset {offset} never reached the end");
            let request = FetchRequest::default()
                .with_replica_id((-1).into())
                .with_max_wait_ms(100)
                .with_min_bytes(1)
                .with_max_bytes(8 << 20)
                .with_isolation_level(0)
                .with_session_epoch(-1)
                .with_topics(vec![
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(topic.to_owned())))
                        .with_topic_id(meta.id)
                        .with_partitions(vec![
                            FetchPartition::default()
                                .with_partition(partition)
                                .with_fetch_offset(offset)
                                .with_current_leader_epoch(-1)
                                .with_last_fetched_epoch(-1)
                                .with_log_start_offset(-1)
                                .with_partition_max_bytes(4 << 20),
                        ]),
                ]);
            let response = block_on(self.cluster.call(Target::Broker(leader), &request, self.deadline())).unwrap();
            assert_eq!(response.error_code, 0);
            let p = &response.responses[0].partitions[0];
            assert_eq!(p.error_code, 0, "fetch error");
            let sets = kre_core::kafka::compression::decode_batches(p.records.clone().unwrap_or_default()).unwrap();
            for set in sets {
                for r in set.records {
                    if r.offset < offset || r.control {
                        continue;
                    }
                    offset = r.offset + 1;
                    out.push(Read {
                        partition,
                        offset: r.offset,
                        key: r.key.map(|b| b.to_vec()),
                        value: r.value.map(|b| b.to_vec()),
                        headers: r.headers.into_iter().map(|(k, v)| (k.to_string(), v.map(|b| b.to_vec()))).collect(),
                        timestamp: r.timestamp,
                        compression: set.compression,
                    });
                }
            }
            if offset >= p.high_watermark {
                return out;
            }
        }
    }

    /// Every record of every partition, by partition then offset.
    pub fn read_all(&self, topic: &str) -> Vec<Read> {
        let n = self.topic(topic).partitions.len() as i32;
        (0..n).flat_map(|p| self.read_partition(topic, p)).collect()
    }
}

impl Kafka {
    /// Starts (Some(replicas)) or cancels (None) a reassignment of one partition (KIP-455).
    pub fn reassign(&self, topic: &str, partition: i32, replicas: Option<Vec<i32>>) {
        use kafka_protocol::messages::AlterPartitionReassignmentsRequest;
        use kafka_protocol::messages::BrokerId;
        use kafka_protocol::messages::alter_partition_reassignments_request::{
            ReassignablePartition, ReassignableTopic,
        };
        let request = AlterPartitionReassignmentsRequest::default()
            .with_timeout_ms(10_000)
            .with_allow_replication_factor_change(true)
            .with_topics(vec![
                ReassignableTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                    .with_partitions(vec![
                        ReassignablePartition::default()
                            .with_partition_index(partition)
                            .with_replicas(replicas.map(|r| r.into_iter().map(BrokerId).collect())),
                    ]),
            ]);
        let response = block_on(self.cluster.call(Target::Any, &request, self.deadline())).unwrap();
        assert_eq!(response.error_code, 0, "{response:?}");
        for t in &response.responses {
            for p in &t.partitions {
                assert!(p.error_code == 0 || p.error_code == 85, "{p:?}"); // 85: nothing to cancel
            }
        }
    }
}

impl Kafka {
    /// Produces `values` to `partition` in one batch with `codec`, each record with a header and
    /// the given timestamp; returns the base offset.
    pub fn produce_with(
        &self,
        topic: &str,
        partition: i32,
        values: &[&str],
        codec: Compression,
        timestamp: i64,
    ) -> i64 {
        self.produce_keyed(topic, partition, values, codec, timestamp, |i| format!("k{i}"))
    }

    /// As [`Kafka::produce_with`], with keys that are JSON strings (`"k<i>"`, quotes included).
    pub fn produce_json_with(&self, topic: &str, partition: i32, values: &[&str], timestamp: i64) -> i64 {
        self.produce_keyed(topic, partition, values, Compression::None, timestamp, |i| format!("\"k{i}\""))
    }

    fn produce_keyed(
        &self,
        topic: &str,
        partition: i32,
        values: &[&str],
        codec: Compression,
        timestamp: i64,
        key: impl Fn(usize) -> String,
    ) -> i64 {
        let meta = self.topic(topic);
        let leader = meta.partition(partition).unwrap().leader;
        let records: Vec<Record> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let headers =
                    [(StrBytes::from_string(format!("h{i}")), Some(Bytes::from_static(b"hv")))].into_iter().collect();
                plain_record(
                    i as i64,
                    timestamp,
                    Some(Bytes::from(key(i))),
                    Some(Bytes::copy_from_slice(v.as_bytes())),
                    headers,
                )
            })
            .collect();
        let batch = kre_core::kafka::compression::encode_batch(&records, codec).unwrap();
        let request = ProduceRequest::default().with_acks(-1).with_timeout_ms(10_000).with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                .with_topic_id(meta.id)
                .with_partition_data(vec![
                    PartitionProduceData::default().with_index(partition).with_records(Some(batch)),
                ]),
        ]);
        for _ in 0..50 {
            let response = block_on(self.cluster.call(Target::Broker(leader), &request, self.deadline())).unwrap();
            let p = &response.responses[0].partition_responses[0];
            match kafka_protocol::ResponseError::try_from_code(p.error_code) {
                None => return p.base_offset,
                Some(e) if e.is_retriable() => std::thread::sleep(std::time::Duration::from_millis(100)),
                Some(e) => panic!("produce failed: {e} {p:?}"),
            }
        }
        panic!("produce kept failing");
    }
}
