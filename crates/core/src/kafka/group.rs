//! A v2 consumer's group session: membership (KIP-848's ConsumerGroupHeartbeat, or the classic
//! JoinGroup/SyncGroup/Heartbeat protocol, KIP-848 §"Upgrade"), positions (the consumer's own,
//! the group's commit, else `auto.offset.reset`), auto-commit, and the read-ahead — all of it
//! as steps on the instance's stored state, which the caller loads before and saves after.
//!
//! Nothing here knows HTTP or the key-value store: the membership logic is tested against the
//! real broker with a [`ConsumerInstance`] in memory (crates/core/tests/group.rs).

use std::rc::Rc;

use super::client::Client;
use super::ops::consumer::{self, Subscribe};
use super::ops::metadata::{self, Topic};
use super::ops::{groups, offsets};
use super::readahead::{Lookup, MAX_READAHEAD_BYTES, Positions};
use super::transport::Connect;
use crate::runtime::{Deadline, Runtime};
use crate::state::{ConsumerInstance, Membership, Subscription, TopicPartition, consumer_key};

/// What a session step can fail with, beyond Kafka's own errors.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kafka(#[from] super::Error),
    /// The subscription's pattern does not compile (a consumer configuration error).
    #[error("{0}")]
    InvalidPattern(String),
    /// `auto.offset.reset` is `none` and some partitions have no committed offset.
    #[error("No committed offset for {partitions} partition(s) and auto.offset.reset is none.")]
    NoCommittedOffset { partitions: usize },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn unknown_topic(topic: &str) -> super::Error {
    super::Error::Topic {
        topic: topic.to_owned(),
        code: kafka_protocol::ResponseError::UnknownTopicOrPartition,
        message: None,
    }
}

fn unknown_partition(topic: &str, partition: i32) -> super::Error {
    super::Error::Partition {
        topic: topic.to_owned(),
        partition,
        code: kafka_protocol::ResponseError::UnknownTopicOrPartition,
        message: None,
    }
}

/// A consumer's session for one request: the client it talks through, the group protocol
/// configured (`auto`, `consumer` or `classic`), and the request's deadline.
pub struct Session<'a, C: Connect, R: Runtime> {
    pub client: &'a Rc<Client<C, R>>,
    pub protocol: &'a str,
    pub deadline: Deadline,
}

impl<C: Connect, R: Runtime> Session<'_, C, R> {
    /// Leaves the group at once (KIP-848: a heartbeat with epoch -1; classic: LeaveGroup), so the
    /// partitions move without waiting for the session to time out.
    pub async fn leave(&self, rec: &ConsumerInstance) {
        if let (Some(m), Some(sub)) = (&rec.member, &rec.subscription) {
            let Ok(coords) =
                groups::coordinators(self.client.cluster(), std::slice::from_ref(&rec.group), self.deadline).await
            else {
                return;
            };
            let Some(&coordinator) = coords.get(&rec.group) else { return };
            if m.protocol == "classic" {
                // LeaveGroup: the group rebalances now rather than when the session runs out.
                let _ = crate::kafka::ops::classic::leave(
                    self.client.cluster(),
                    coordinator,
                    &rec.group,
                    &m.member_id,
                    self.deadline,
                )
                .await;
                return;
            }
            let topics;
            let subscribe = match sub {
                Subscription::Topics(t) => {
                    topics = t.clone();
                    Subscribe::Topics(&topics)
                }
                Subscription::Pattern(p) => Subscribe::Pattern(p),
            };
            let _ = consumer::heartbeat(
                self.client.cluster(),
                coordinator,
                &rec.group,
                &m.member_id,
                -1,
                &subscribe,
                &[],
                &[],
                self.deadline,
            )
            .await;
        }
    }

    /// Offsets of `parts` at `timestamp` (EARLIEST / LATEST / a time), topic by topic.
    pub async fn offsets_at(&self, parts: &[(TopicPartition, i64)]) -> Result<Vec<(TopicPartition, i64)>> {
        let mut names: Vec<String> = parts.iter().map(|(p, _)| p.topic.clone()).collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Ok(vec![]);
        }
        let meta = metadata::fetch(self.client.cluster(), metadata::Topics::Named(&names), self.deadline).await?;
        let mut out = Vec::new();
        for (tp, ts) in parts {
            let topic = meta.topic(&tp.topic).ok_or_else(|| unknown_topic(&tp.topic))?;
            if topic.partition(tp.partition).is_none() {
                return Err(unknown_partition(&tp.topic, tp.partition).into());
            }
            let found = offsets::list(self.client.cluster(), topic, &[tp.partition], *ts, self.deadline).await?;
            // A timestamp after the last record: the end of the partition.
            let offset = match found.get(&tp.partition).copied() {
                Some(o) if o >= 0 => o,
                _ => offsets::list(self.client.cluster(), topic, &[tp.partition], offsets::LATEST, self.deadline)
                    .await?
                    .get(&tp.partition)
                    .copied()
                    .unwrap_or(0),
            };
            out.push((tp.clone(), offset));
        }
        Ok(out)
    }

    /// Joins or renews the group membership within `budget_ms`, returning the partitions to read.
    ///
    /// Positions of partitions this member no longer holds go (as the Java consumer drops a
    /// revoked partition's position): a commit of "everything read" never carries them, where
    /// they would move the group's offset back under the partition's new owner, and a partition
    /// that comes back starts from the group's commit, not from where this member once was.
    pub async fn renew_membership(&self, rec: &mut ConsumerInstance, budget: crate::Deadline) -> Result<()> {
        let result = self.renew(rec, budget).await;
        if rec.subscription.is_some() {
            let held = rec.partitions();
            rec.positions.retain(|p| held.iter().any(|h| h.topic == p.topic && h.partition == p.partition));
        }
        result
    }

    async fn renew(&self, rec: &mut ConsumerInstance, budget: crate::Deadline) -> Result<()> {
        let Some(sub) = rec.subscription.clone() else { return Ok(()) };
        let rt = self.client.runtime();
        // Between heartbeats (the broker's interval, 5 s by default) the membership stands as stored.
        if let Some(m) = &rec.member
            && m.epoch > 0
            && rt.wall_ms() < m.next_heartbeat_ms
        {
            return Ok(());
        }
        if self.use_classic(rec, budget).await? {
            return self.renew_classic(rec, &sub, budget).await;
        }
        let mut coordinator = self.client.coordinator(&rec.group, self.deadline).await?;
        let meta = consumer::all_topics(self.client.cluster(), budget).await?;
        let subscribe = match &sub {
            Subscription::Topics(t) => Subscribe::Topics(t),
            Subscription::Pattern(p) => Subscribe::Pattern(p),
        };
        let mut joined_now = false;
        loop {
            let (member_id, epoch, owned) = match &rec.member {
                Some(m) => (
                    m.member_id.clone(),
                    m.epoch,
                    m.assigned.iter().map(|p| (p.topic.clone(), p.partition)).collect::<Vec<_>>(),
                ),
                None => {
                    joined_now = true;
                    (format!("{:016x}{:016x}", rt.random_u64(), rt.random_u64()), 0, vec![])
                }
            };
            match consumer::heartbeat(
                self.client.cluster(),
                coordinator,
                &rec.group,
                &member_id,
                epoch,
                &subscribe,
                &owned,
                &meta.topics,
                budget,
            )
            .await
            {
                Ok(hb) => {
                    let assigned = match hb.assignment {
                        Some(a) => {
                            a.into_iter().map(|(topic, partition)| TopicPartition { topic, partition }).collect()
                        }
                        None => rec.member.as_ref().map(|m| m.assigned.clone()).unwrap_or_default(),
                    };
                    let next_heartbeat_ms = rt.wall_ms() + i64::from(hb.interval_ms.max(0));
                    rec.member = Some(Membership {
                        member_id: hb.member_id,
                        epoch: hb.epoch,
                        assigned,
                        next_heartbeat_ms,
                        protocol: "consumer".into(),
                    });
                    // A fresh member waits (briefly) for its first assignment; otherwise one heartbeat is enough.
                    let waiting = joined_now && rec.partitions().is_empty();
                    if !waiting || budget.remaining_ms(rt) < 150 {
                        return Ok(());
                    }
                    rt.sleep(100).await;
                }
                // Fenced or forgotten (a session that timed out): rejoin as a new member.
                Err(e)
                    if matches!(
                        e.kafka_code(),
                        Some(
                            kafka_protocol::ResponseError::FencedMemberEpoch
                                | kafka_protocol::ResponseError::UnknownMemberId
                        )
                    ) && !joined_now =>
                {
                    rec.member = None;
                    rec.positions.clear();
                }
                Err(e) if e.is_retriable() && budget.remaining_ms(rt) > 150 => {
                    rt.sleep(100).await;
                    // The coordinator may have moved (NOT_COORDINATOR).
                    self.client.forget_coordinator(&rec.group);
                    coordinator = self.client.coordinator(&rec.group, self.deadline).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether this consumer's membership uses the classic protocol: as configured, or (auto) when
    /// the broker has no KIP-848 (no ConsumerGroupHeartbeat in its ApiVersions).
    pub async fn use_classic(&self, rec: &ConsumerInstance, budget: crate::Deadline) -> Result<bool> {
        if let Some(m) = &rec.member {
            return Ok(m.protocol == "classic");
        }
        Ok(match self.protocol {
            "classic" => true,
            "consumer" => false,
            _ => {
                use crate::kafka::cluster::Target;
                use kafka_protocol::messages::ConsumerGroupHeartbeatRequest;
                matches!(
                    self.client
                        .cluster()
                        .negotiated_version::<ConsumerGroupHeartbeatRequest>(Target::Any, budget)
                        .await,
                    Err(crate::kafka::Error::UnsupportedVersion { .. })
                )
            }
        })
    }

    /// Classic membership, retried within `budget` while the group's coordinator moves or loads
    /// (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS, a lost connection).
    pub async fn renew_classic(
        &self,
        rec: &mut ConsumerInstance,
        sub: &Subscription,
        budget: crate::Deadline,
    ) -> Result<()> {
        let rt = self.client.runtime();
        loop {
            match self.renew_classic_once(rec, sub, budget).await? {
                Ok(()) => return Ok(()),
                Err(e) => {
                    self.client.forget_coordinator(&rec.group);
                    if budget.remaining_ms(rt) < 150 {
                        return Err(e.into());
                    }
                    rt.sleep(100).await;
                }
            }
        }
    }

    /// One classic step: JoinGroup + SyncGroup (range assignor, computed here when this member
    /// leads) to join or after a rebalance, Heartbeat when due. A join that outlives the request's
    /// budget is simply sent again by the next request (the coordinator answers a repeated join of
    /// the same member with the generation it completed). `Ok(Err(e))`: the coordinator was not
    /// there to answer; try again.
    pub async fn renew_classic_once(
        &self,
        rec: &mut ConsumerInstance,
        sub: &Subscription,
        budget: crate::Deadline,
    ) -> Result<Result<(), crate::kafka::Error>> {
        use crate::kafka::ops::classic;
        use kafka_protocol::ResponseError as K2;
        let rt = self.client.runtime();
        let coordinator = self.client.coordinator(&rec.group, self.deadline).await?;
        if let Some(m) = &rec.member
            && m.epoch >= 0
        {
            match classic::heartbeat(self.client.cluster(), coordinator, &rec.group, &m.member_id, m.epoch, budget)
                .await
            {
                Ok(()) => {
                    if let Some(m) = rec.member.as_mut() {
                        m.next_heartbeat_ms = rt.wall_ms() + CLASSIC_HEARTBEAT_MS;
                    }
                    return Ok(Ok(()));
                }
                Err(e) if e.kafka_code() == Some(K2::RebalanceInProgress) => {}
                Err(e) if matches!(e.kafka_code(), Some(K2::UnknownMemberId | K2::IllegalGeneration)) => {
                    rec.member = None;
                    rec.positions.clear();
                }
                Err(e) if coordinator_unsettled(&e) => return Ok(Err(e)),
                Err(e) => {
                    self.client.forget_coordinator(&rec.group);
                    return Err(e.into());
                }
            }
        }
        let meta = consumer::all_topics(self.client.cluster(), budget).await?;
        let topics: Vec<String> = match sub {
            Subscription::Topics(t) => t.clone(),
            Subscription::Pattern(p) => {
                let re = regex_lite::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                    Error::InvalidPattern(format!("topic_pattern is not a valid regular expression: {e}"))
                })?;
                meta.topics.iter().filter(|t| !t.is_internal && re.is_match(&t.name)).map(|t| t.name.clone()).collect()
            }
        };
        let mut member_id = rec.member.as_ref().map(|m| m.member_id.clone()).unwrap_or_default();
        let joined = classic::join(
            self.client.cluster(),
            coordinator,
            &rec.group,
            &mut member_id,
            &topics,
            45_000,
            10_000,
            budget,
        )
        .await;
        let joined = match joined {
            Ok(j) => j,
            // The group waits for other members to rejoin: try again on the next request.
            Err(crate::kafka::Error::Timeout { .. }) => {
                rec.member = Some(pending_classic(member_id));
                return Ok(Ok(()));
            }
            // The member id is kept: the retry joins as the same member.
            Err(e) if coordinator_unsettled(&e) => {
                rec.member = Some(pending_classic(member_id));
                return Ok(Err(e));
            }
            // The member expired meanwhile (its session passed): the next request joins as new.
            Err(e) if e.kafka_code() == Some(K2::UnknownMemberId) => {
                rec.member = None;
                rec.positions.clear();
                return Ok(Ok(()));
            }
            Err(e) => return Err(e.into()),
        };
        let assignments = match &joined.members {
            Some(members) => classic::range_assign(members, &meta.topics),
            None => Default::default(),
        };
        let assigned =
            match classic::sync(self.client.cluster(), coordinator, &rec.group, &joined, &assignments, budget).await {
                Ok(a) => a,
                // A follower's SyncGroup waits for the leader's, which comes with the leader's next
                // request; a rebalance may also have started again. Either way: pending, join again next time.
                Err(e)
                    if matches!(e, crate::kafka::Error::Timeout { .. })
                        || matches!(e.kafka_code(), Some(K2::RebalanceInProgress | K2::IllegalGeneration)) =>
                {
                    rec.member = Some(pending_classic(joined.member_id));
                    return Ok(Ok(()));
                }
                Err(e) if coordinator_unsettled(&e) => {
                    rec.member = Some(pending_classic(joined.member_id));
                    return Ok(Err(e));
                }
                Err(e) => return Err(e.into()),
            };
        rec.member = Some(Membership {
            member_id: joined.member_id,
            epoch: joined.generation,
            assigned: assigned.into_iter().map(|(topic, partition)| TopicPartition { topic, partition }).collect(),
            next_heartbeat_ms: rt.wall_ms() + CLASSIC_HEARTBEAT_MS,
            protocol: "classic".into(),
        });
        Ok(Ok(()))
    }

    /// The read-ahead of this consumer from `positions`: ready, or waited for while it is under way
    /// (a Fetch it would otherwise duplicate), at most [`READAHEAD_WAIT_MS`].
    pub async fn ready_ahead(
        &self,
        key: &str,
        positions: &Positions,
        budget: crate::Deadline,
    ) -> Option<consumer::FetchResult> {
        let rt = self.client.runtime();
        let wait = budget.min_with(rt, READAHEAD_WAIT_MS);
        loop {
            match self.client.readahead().take(key, positions, rt.monotonic_ms()) {
                Lookup::Ready(result) => return Some(result),
                Lookup::InFlight if wait.remaining_ms(rt) > 0 => rt.sleep_micros(250).await,
                Lookup::InFlight | Lookup::Miss => return None,
            }
        }
    }
}

impl<C: Connect + 'static, R: Runtime + 'static> Session<'_, C, R> {
    /// One records request: renews the membership, settles positions (the consumer's own, the
    /// group's commit, else `auto.offset.reset`), auto-commits when due, and fetches up to
    /// `max_bytes` (from the read-ahead when it is ready), moving `rec`'s positions past what
    /// it returns. Waits at most `timeout_ms` for records.
    pub async fn poll(
        &self,
        rec: &mut ConsumerInstance,
        timeout_ms: u64,
        max_bytes: usize,
    ) -> Result<Vec<consumer::FetchedRecord>> {
        let rt = self.client.runtime();
        // The whole request, rebalance included, ends within its timeout (plus a little for the
        // answer): membership may use the timeout (at least 200 ms: a join may wait for the other
        // members; one that outlives it is re-sent by the next request), the fetch long-polls for
        // what is left of it.
        let started = rt.monotonic_ms();
        self.renew_membership(rec, self.deadline.min_with(rt, timeout_ms.max(200))).await?;
        let wait_ms = timeout_ms.saturating_sub(rt.monotonic_ms().saturating_sub(started));
        let budget = self.deadline.min_with(rt, wait_ms + 2000);
        let parts = rec.partitions();
        let mut names: Vec<String> = parts.iter().map(|p| p.topic.clone()).collect();
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        if !names.is_empty() {
            // Topic metadata from the client's cache (as the produce path): no Metadata per poll.
            let topics = self.client.topics(&names, budget).await?;
            // Positions: where this consumer is, else the group's commit, else auto.offset.reset.
            let missing: Vec<&TopicPartition> =
                parts.iter().filter(|p| rec.position(&p.topic, p.partition).is_none()).collect();
            if !missing.is_empty() {
                let coordinator = self.client.coordinator(&rec.group, self.deadline).await?;
                let committed = groups::committed(self.client.cluster(), &rec.group, coordinator, budget).await?;
                let mut reset = Vec::new();
                for p in missing {
                    match committed.get(&(p.topic.clone(), p.partition)) {
                        Some(o) => rec.set_position(&p.topic, p.partition, *o),
                        None => reset.push(p.clone()),
                    }
                }
                if rec.auto_offset_reset == "none" && !reset.is_empty() {
                    return Err(Error::NoCommittedOffset { partitions: reset.len() });
                }
                let at = if rec.auto_offset_reset == "earliest" { offsets::EARLIEST } else { offsets::LATEST };
                let list: Vec<(TopicPartition, i64)> = reset.into_iter().map(|p| (p, at)).collect();
                for (tp, o) in self.offsets_at(&list).await? {
                    rec.set_position(&tp.topic, tp.partition, o);
                }
            } else if rec.auto_commit_enable
                && member_of(rec).is_some()
                && rt.wall_ms() - rec.last_commit_ms >= AUTO_COMMIT_INTERVAL_MS
            {
                // Auto-commit as the Java consumer does on poll (every auto.commit.interval.ms):
                // what earlier requests returned.
                let coordinator = self.client.coordinator(&rec.group, self.deadline).await?;
                let offs: Vec<((String, i32), i64, Option<String>)> =
                    rec.positions.iter().map(|p| ((p.topic.clone(), p.partition), p.offset, None)).collect();
                match consumer::commit(self.client.cluster(), coordinator, &rec.group, member_of(rec), &offs, budget)
                    .await
                {
                    Ok(()) => rec.last_commit_ms = rt.wall_ms(),
                    Err(_) => self.client.forget_coordinator(&rec.group),
                }
            }
            let readahead_key = consumer_key(&rec.group, &rec.name);
            let min_bytes = rec.fetch_min_bytes.unwrap_or(1).max(1);
            // As Confluent's read task: the answer fills up to max_bytes from every assigned
            // partition, fetching again while it is under three quarters full and the wait is not
            // over (one Fetch answers with what one partition had ready first); once it has
            // records, it takes only what is ready within FILL_LINGER_MS.
            let mut bytes = 0usize;
            let mut first = true;
            let (rest, clean) = loop {
                let positions = positions_of(rec, &parts);
                let mut remaining_wait = wait_ms.saturating_sub(rt.monotonic_ms().saturating_sub(started));
                if !out.is_empty() {
                    // With records in hand, only what is ready now (or within a short linger) is
                    // added: a consumer at the head of the log is not held until its timeout.
                    remaining_wait = remaining_wait.min(FILL_LINGER_MS);
                }
                let max_wait = i32::try_from(remaining_wait.min(budget.remaining_ms(rt))).unwrap_or(i32::MAX);
                let ready = if first { self.ready_ahead(&readahead_key, &positions, budget).await } else { None };
                first = false;
                let fetched = match ready {
                    Some(ready) => ready,
                    None => {
                        let max = i32::try_from(max_bytes.saturating_sub(bytes).max(1)).unwrap_or(i32::MAX);
                        consumer::fetch(self.client.cluster(), &topics, &positions, max_wait, min_bytes, max, budget)
                            .await
                    }
                };
                // Leaders moved: fresh metadata next time. Out of range (data deleted, or a seek
                // past the end): reset as configured.
                for ((t, _), e) in &fetched.errors {
                    if e.is_retriable() {
                        self.client.forget_topic(t);
                    }
                }
                for ((t, p), e) in &fetched.errors {
                    if e.kafka_code() == Some(kafka_protocol::ResponseError::OffsetOutOfRange) {
                        let at = if rec.auto_offset_reset == "latest" { offsets::LATEST } else { offsets::EARLIEST };
                        let tp = TopicPartition { topic: t.clone(), partition: *p };
                        for (tp, o) in self.offsets_at(&[(tp, at)]).await? {
                            rec.set_position(&tp.topic, tp.partition, o);
                        }
                    }
                }
                let got = fetched.records.len();
                let mut records = fetched.records.into_iter().peekable();
                while let Some(r) = records.peek() {
                    if !out.is_empty() && bytes + r.data_len() > max_bytes {
                        break;
                    }
                    let Some(r) = records.next() else { break };
                    bytes += r.data_len();
                    rec.set_position(&r.topic, r.partition, r.offset + 1);
                    out.push(r);
                }
                let rest: Vec<consumer::FetchedRecord> = records.collect();
                let clean = fetched.errors.is_empty();
                let waited_out = wait_ms <= rt.monotonic_ms().saturating_sub(started) || budget.remaining_ms(rt) == 0;
                // Full (a surplus is left), an error to report, the wait is over, or nothing came
                // within it: answer now.
                // Three quarters full is full enough: another Fetch for the last few records would
                // cost a broker round trip per answer (measured: consume 0.76× → 0.51× native).
                let full = bytes >= max_bytes / 4 * 3;
                if !rest.is_empty() || !clean || waited_out || got == 0 || full {
                    break (rest, clean);
                }
            };
            // A consumer catching up (this answer at least half full) gets its next records ready
            // while the client handles these: what the last Fetch brought beyond max_bytes when
            // that is enough for another such answer, else a read-ahead.
            let ahead_bytes = max_bytes.min(MAX_READAHEAD_BYTES);
            let next = positions_of(rec, &parts);
            if clean && rest.iter().map(consumer::FetchedRecord::data_len).sum::<usize>() >= ahead_bytes / 2 {
                let rest = consumer::FetchResult { records: rest, errors: vec![] };
                self.client.readahead().keep(&readahead_key, next, rest, rt.monotonic_ms());
            } else if bytes >= ahead_bytes / 2 && !out.is_empty() {
                self.read_ahead(readahead_key, next, topics, ahead_bytes);
            }
        }
        Ok(out)
    }

    /// Fetches from `positions` in the background (no waiting for data) into the instance's
    /// read-ahead cache, for this consumer's next request if it lands on this instance.
    fn read_ahead(&self, key: String, positions: Positions, topics: Vec<Topic>, max_bytes: usize) {
        let rt = self.client.runtime();
        let token = self.client.readahead().begin(&key, positions.clone(), max_bytes, rt.monotonic_ms());
        let client = self.client.clone();
        let entry = key.clone();
        let spawned = rt.spawn(async move {
            let deadline = crate::Deadline::after(client.runtime(), READAHEAD_BUDGET_MS);
            let max = i32::try_from(max_bytes).unwrap_or(i32::MAX);
            let result = consumer::fetch(client.cluster(), &topics, &positions, 0, 1, max, deadline).await;
            client.readahead().complete(&entry, token, result);
        });
        if !spawned {
            self.client.readahead().forget(&key);
        }
    }
}

pub fn member_of(rec: &ConsumerInstance) -> Option<(&str, i32)> {
    rec.member.as_ref().filter(|_| rec.subscription.is_some()).map(|m| (m.member_id.as_str(), m.epoch))
}

/// Whether a group call failed because the coordinator moved or is not ready yet.
fn coordinator_unsettled(e: &crate::kafka::Error) -> bool {
    use kafka_protocol::ResponseError as K2;
    matches!(e, crate::kafka::Error::Io { .. } | crate::kafka::Error::Connect { .. })
        || matches!(
            e.kafka_code(),
            Some(K2::NotCoordinator | K2::CoordinatorNotAvailable | K2::CoordinatorLoadInProgress)
        )
}

/// A classic member whose join or sync is still under way: the next request joins again.
fn pending_classic(member_id: String) -> Membership {
    Membership { member_id, epoch: -1, assigned: vec![], next_heartbeat_ms: 0, protocol: "classic".into() }
}

/// How long a records request, once it has records, waits for more to fill its answer.
const FILL_LINGER_MS: u64 = 50;

/// How often a classic member heartbeats (the Java consumer's default heartbeat.interval.ms).
const CLASSIC_HEARTBEAT_MS: i64 = 3000;

/// The Java consumer's default auto.commit.interval.ms.
const AUTO_COMMIT_INTERVAL_MS: i64 = 5000;

/// Where `rec` reads `parts` from, sorted (the read-ahead cache compares them exactly).
fn positions_of(rec: &ConsumerInstance, parts: &[TopicPartition]) -> Positions {
    let mut positions: Positions = parts
        .iter()
        .filter_map(|p| Some(((p.topic.clone(), p.partition), rec.position(&p.topic, p.partition)?)))
        .collect();
    positions.sort();
    positions
}

/// How long a records request waits for a read-ahead under way before fetching itself.
const READAHEAD_WAIT_MS: u64 = 100;

/// A read-ahead that takes longer than this is given up (the next request fetches itself).
const READAHEAD_BUDGET_MS: u64 = 5_000;
