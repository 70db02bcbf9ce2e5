//! The Kafka client: one [`Cluster`] (connections and the broker table) and everything learned
//! about the cluster that is worth keeping between requests — topic metadata, group
//! coordinators, the cluster id, the round-robin position for unkeyed records.
//!
//! Everything here is a cache with one invalidation policy ([`Client::observe`]): an error that
//! says the cluster moved (leader, coordinator, unknown topic) drops what it contradicts, and
//! topic metadata also expires after `metadata_max_age_ms` so new partitions are picked up.
//! A per-principal client (the security issue) is one more `Client` keyed by principal.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use kafka_protocol::ResponseError;

use super::cluster::Cluster;
use super::error::{Error, Result};
use super::ops::groups;
use super::ops::metadata::{self, ClusterMetadata, Topic, Topics};
use super::partitioner::RoundRobin;
use super::transport::Connect;
use crate::runtime::{Deadline, Runtime};

pub struct Client<C: Connect, R: Runtime> {
    cluster: Cluster<C, R>,
    metadata_max_age_ms: u64,
    topics: RefCell<HashMap<String, (Rc<Topic>, u64)>>,
    coordinators: RefCell<HashMap<String, i32>>,
    cluster_id: RefCell<Option<String>>,
    spread: RoundRobin,
    readahead: super::readahead::ReadAhead,
}

impl<C: Connect, R: Runtime> Client<C, R> {
    pub fn new(cluster: Cluster<C, R>, metadata_max_age_ms: u64) -> Self {
        let spread = RoundRobin::seeded(cluster.runtime().random_u64() as u32);
        Client {
            cluster,
            metadata_max_age_ms,
            topics: RefCell::default(),
            coordinators: RefCell::default(),
            cluster_id: RefCell::default(),
            spread,
            readahead: Default::default(),
        }
    }

    /// The connection layer, for operations.
    pub fn cluster(&self) -> &Cluster<C, R> {
        &self.cluster
    }

    pub fn runtime(&self) -> &R {
        self.cluster.runtime()
    }

    /// Round robin over partitions for records without key or partition.
    pub fn spread(&self) -> &RoundRobin {
        &self.spread
    }

    /// v2 consumers' next records, fetched after their last answer.
    pub fn readahead(&self) -> &super::readahead::ReadAhead {
        &self.readahead
    }

    /// Metadata as the cluster reports it now (never cached: the caller asked for it); the
    /// cluster id is remembered.
    pub async fn metadata(&self, topics: Topics<'_>, deadline: Deadline) -> Result<ClusterMetadata> {
        let meta = metadata::fetch(&self.cluster, topics, deadline).await;
        self.observe(meta.as_ref().err(), None, None);
        let meta = meta?;
        self.remember_cluster_id(&meta.cluster_id);
        Ok(meta)
    }

    /// The cluster id (it never changes for a bootstrap list).
    pub async fn cluster_id(&self, deadline: Deadline) -> Result<String> {
        if let Some(id) = self.cluster_id.borrow().clone() {
            return Ok(id);
        }
        Ok(self.metadata(Topics::None, deadline).await?.cluster_id)
    }

    /// What a cluster-wide answer said the id is (e.g. DescribeCluster).
    pub fn remember_cluster_id(&self, id: &str) {
        if !id.is_empty() {
            *self.cluster_id.borrow_mut() = Some(id.to_owned());
        }
    }

    /// One topic's metadata, from the cache while it is younger than `metadata_max_age_ms`.
    /// `UnknownTopicOrPartition` when it does not exist.
    pub async fn topic(&self, name: &str, deadline: Deadline) -> Result<Rc<Topic>> {
        let now = self.runtime().monotonic_ms();
        if let Some((t, at)) = self.topics.borrow().get(name)
            && now.saturating_sub(*at) < self.metadata_max_age_ms
        {
            return Ok(t.clone());
        }
        let t = metadata::topic(&self.cluster, name, deadline).await;
        self.observe(t.as_ref().err(), Some(name), None);
        let t = Rc::new(t?);
        // Leaderless partitions would only produce retries: do not keep such a view.
        if t.partitions.iter().all(|p| p.leader >= 0) {
            self.topics.borrow_mut().insert(name.to_owned(), (t.clone(), now));
        }
        Ok(t)
    }

    /// Several topics' metadata (cached as [`Client::topic`]), in the order asked.
    pub async fn topics(&self, names: &[String], deadline: Deadline) -> Result<Vec<Topic>> {
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            out.push((*self.topic(n, deadline).await?).clone());
        }
        Ok(out)
    }

    /// The coordinator of `group`, from the cache or FindCoordinator.
    pub async fn coordinator(&self, group: &str, deadline: Deadline) -> Result<i32> {
        if let Some(c) = self.coordinators.borrow().get(group).copied() {
            return Ok(c);
        }
        let found = groups::coordinators(&self.cluster, &[group.to_owned()], deadline).await?;
        let c = found.get(group).copied().ok_or_else(|| Error::Broker {
            code: ResponseError::CoordinatorNotAvailable,
            message: Some(format!("no coordinator for group '{group}'")),
        })?;
        self.coordinators.borrow_mut().insert(group.to_owned(), c);
        Ok(c)
    }

    /// The one invalidation policy: what an error about `topic` / `group` says is out of date.
    /// Retriable errors mean leaders or coordinators moved (or a broker is gone): the topic's
    /// metadata and the group's coordinator are dropped, so the next call asks again.
    pub fn observe(&self, err: Option<&Error>, topic: Option<&str>, group: Option<&str>) {
        let Some(err) = err else { return };
        let stale = err.is_retriable()
            || matches!(err.kafka_code(), Some(ResponseError::UnknownTopicOrPartition | ResponseError::UnknownTopicId));
        if !stale {
            return;
        }
        if let Some(t) = topic {
            self.topics.borrow_mut().remove(t);
        }
        if let Some(g) = group {
            self.coordinators.borrow_mut().remove(g);
        }
    }

    /// Drops the cached metadata of `topic` (e.g. a partition the cache does not know yet).
    pub fn forget_topic(&self, topic: &str) {
        self.topics.borrow_mut().remove(topic);
    }

    /// Drops the cached coordinator of `group` (it answered NOT_COORDINATOR, or vanished).
    pub fn forget_coordinator(&self, group: &str) {
        self.coordinators.borrow_mut().remove(group);
    }
}
