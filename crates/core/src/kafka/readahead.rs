//! Read-ahead for v2 consumers: after answering a records request, the instance fetches the next
//! records (from the positions it just saved) in the background, so the consumer's next request
//! finds them already decoded instead of waiting for a Fetch round trip.
//!
//! A cache, never state: an entry serves only a request of the same consumer at exactly the
//! positions it was fetched from (any seek, rebalance or request served elsewhere meanwhile moves
//! the positions and so misses), and Kafka's log below the last stable offset is immutable, so a
//! hit returns what a fresh read_committed Fetch from those positions would have started with.
//! A request that finds the read-ahead of its positions still under way waits for it (polling
//! its own timer: wakeups across component-model tasks are not assumed).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::kafka::ops::consumer::{FetchResult, FetchedRecord};

/// Entries kept per instance (each holds at most one answer's `max_bytes`) ...
const MAX_ENTRIES: usize = 16;
/// ... and the bytes they may hold together (what is under way counts with its `max_bytes`).
const MAX_TOTAL_BYTES: usize = 32 << 20;
/// An entry older than this is dropped unused (it only holds memory).
const MAX_AGE_MS: u64 = 10_000;
/// Larger reads are not read ahead: the memory would be too much for a cache.
pub const MAX_READAHEAD_BYTES: usize = 8 << 20;

/// (topic, partition) → offset, sorted: the exact positions a read starts from.
pub type Positions = Vec<((String, i32), i64)>;

/// What [`ReadAhead::take`] found.
pub enum Lookup {
    Ready(FetchResult),
    /// A read-ahead from these positions is under way (another request's task fills it).
    InFlight,
    Miss,
}

enum Slot {
    InFlight { token: u64 },
    Ready(FetchResult),
}

struct Entry {
    positions: Positions,
    at_ms: u64,
    /// Key and value bytes held (or, under way, that may arrive).
    bytes: usize,
    slot: Slot,
}

fn held(result: &FetchResult) -> usize {
    result.records.iter().map(FetchedRecord::data_len).sum()
}

#[derive(Default)]
pub struct ReadAhead {
    entries: RefCell<HashMap<String, Entry>>,
    next_token: std::cell::Cell<u64>,
}

impl ReadAhead {
    /// The read-ahead of consumer `key` from exactly `positions`: ready (and then removed: it is
    /// used once), still under way, or none (a ready entry for other positions, or with errors or
    /// nothing read, is dropped).
    pub fn take(&self, key: &str, positions: &Positions, now_ms: u64) -> Lookup {
        let mut entries = self.entries.borrow_mut();
        let Some(entry) = entries.remove(key) else { return Lookup::Miss };
        let matches = entry.positions == *positions && now_ms.saturating_sub(entry.at_ms) < MAX_AGE_MS;
        match entry.slot {
            Slot::InFlight { .. } => {
                // Left in place: it lands (and is dropped by the next miss) whatever happens here.
                entries.insert(key.to_owned(), entry);
                if matches { Lookup::InFlight } else { Lookup::Miss }
            }
            Slot::Ready(result) if matches && result.errors.is_empty() && !result.records.is_empty() => {
                Lookup::Ready(result)
            }
            Slot::Ready(_) => Lookup::Miss,
        }
    }

    /// Marks a read-ahead of consumer `key` from `positions` (at most `bytes`) as started; the
    /// returned token completes it. Makes room by dropping the oldest entries.
    pub fn begin(&self, key: &str, positions: Positions, bytes: usize, now_ms: u64) -> u64 {
        let token = self.next_token.get().wrapping_add(1);
        self.next_token.set(token);
        let mut entries = self.entries.borrow_mut();
        entries.retain(|k, e| k != key && now_ms.saturating_sub(e.at_ms) < MAX_AGE_MS);
        while entries.len() >= MAX_ENTRIES || entries.values().map(|e| e.bytes).sum::<usize>() + bytes > MAX_TOTAL_BYTES
        {
            let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.at_ms).map(|(k, _)| k.clone()) else { break };
            entries.remove(&oldest);
        }
        entries.insert(key.to_owned(), Entry { positions, at_ms: now_ms, bytes, slot: Slot::InFlight { token } });
        token
    }

    /// Keeps records already fetched (beyond what an answer could take) for the consumer's next
    /// request from `positions`.
    pub fn keep(&self, key: &str, positions: Positions, result: FetchResult, now_ms: u64) {
        let token = self.begin(key, positions, held(&result), now_ms);
        self.complete(key, token, result);
    }

    /// Stores a finished read-ahead, unless the consumer's entry was replaced or used meanwhile.
    pub fn complete(&self, key: &str, token: u64, result: FetchResult) {
        let mut entries = self.entries.borrow_mut();
        if let Some(e) = entries.get_mut(key)
            && matches!(e.slot, Slot::InFlight { token: t } if t == token)
        {
            e.bytes = held(&result);
            e.slot = Slot::Ready(result);
        }
    }

    /// Drops the consumer's entry (its positions were changed by hand, or it is gone).
    pub fn forget(&self, key: &str) {
        self.entries.borrow_mut().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Lookup {
        fn is_none(&self) -> bool {
            !matches!(self, Lookup::Ready(_))
        }
        fn map<T>(self, f: impl FnOnce(FetchResult) -> T) -> Option<T> {
            match self {
                Lookup::Ready(r) => Some(f(r)),
                _ => None,
            }
        }
        fn is_some(&self) -> bool {
            matches!(self, Lookup::Ready(_))
        }
    }

    fn result(offsets: &[i64]) -> FetchResult {
        FetchResult {
            records: offsets
                .iter()
                .map(|o| FetchedRecord {
                    topic: "t".into(),
                    partition: 0,
                    offset: *o,
                    timestamp: 0,
                    key: None,
                    value: None,
                    headers: vec![],
                })
                .collect(),
            errors: vec![],
        }
    }

    fn at(offset: i64) -> Positions {
        vec![(("t".into(), 0), offset)]
    }

    #[test]
    fn only_a_completed_read_from_the_same_positions_is_served_once() {
        let ra = ReadAhead::default();
        let token = ra.begin("c", at(10), 0, 0);
        assert!(matches!(ra.take("c", &at(10), 1), Lookup::InFlight));
        assert!(matches!(ra.take("c", &at(12), 1), Lookup::Miss), "in flight from elsewhere: not waited for");
        ra.complete("c", token, result(&[10, 11]));
        assert!(ra.take("c", &at(12), 2).is_none(), "other positions miss");
        assert!(ra.take("c", &at(10), 2).is_none(), "and the entry is gone after a miss");

        let token = ra.begin("c", at(10), 0, 0);
        ra.complete("c", token, result(&[10, 11]));
        assert_eq!(ra.take("c", &at(10), 5).map(|r| r.records.len()), Some(2));
        assert!(ra.take("c", &at(10), 5).is_none(), "used once");

        ra.keep("c", at(12), result(&[12]), 6);
        assert_eq!(ra.take("c", &at(12), 7).map(|r| r.records[0].offset), Some(12), "kept surplus");
    }

    #[test]
    fn stale_replaced_empty_or_failed_reads_are_not_served() {
        let ra = ReadAhead::default();
        let token = ra.begin("c", at(0), 0, 0);
        ra.complete("c", token, result(&[0]));
        assert!(ra.take("c", &at(0), MAX_AGE_MS + 1).is_none(), "too old");

        let old = ra.begin("c", at(0), 0, 0);
        let new = ra.begin("c", at(5), 0, 1);
        ra.complete("c", old, result(&[0]));
        assert!(ra.take("c", &at(0), 2).is_none(), "a replaced read-ahead does not land");
        ra.complete("c", new, result(&[]));
        assert!(ra.take("c", &at(5), 2).is_none(), "nothing read ahead: fetch (and long-poll) as usual");

        let token = ra.begin("c", at(0), 0, 0);
        let mut failed = result(&[0]);
        failed.errors.push((("t".into(), 1), crate::kafka::Error::Timeout { what: "Fetch".into(), ms: 1 }));
        ra.complete("c", token, failed);
        assert!(ra.take("c", &at(0), 1).is_none(), "a read with errors is redone");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let ra = ReadAhead::default();
        for i in 0..(MAX_ENTRIES as u64 * 3) {
            let key = format!("c{i}");
            let token = ra.begin(&key, at(0), 0, i);
            ra.complete(&key, token, result(&[0]));
        }
        assert_eq!(ra.entries.borrow().len(), MAX_ENTRIES);
        // And within the byte budget: a large read-ahead pushes the oldest ones out.
        ra.begin("big", at(0), MAX_TOTAL_BYTES - 10, 1_000);
        assert!(ra.entries.borrow().values().map(|e| e.bytes).sum::<usize>() <= MAX_TOTAL_BYTES);
        assert!(ra.entries.borrow().contains_key("big"));
        let last = format!("c{}", MAX_ENTRIES as u64 * 3 - 1);
        assert!(ra.take(&last, &at(0), MAX_ENTRIES as u64 * 3).is_some(), "the newest entries stay");
    }

    proptest::proptest! {
        // Whatever the interleaving of requests of several consumers (read-aheads begun, kept,
        // completed late or out of order, looked up from any position), a hit is always data
        // read from exactly the positions asked for, and never served twice.
        #[test]
        fn a_hit_is_always_from_the_positions_asked_for(
            ops in proptest::collection::vec((0u8..4, 0usize..3, 0i64..4, 0usize..4), 1..200)
        ) {
            let ra = ReadAhead::default();
            // Each read-ahead's records start at the offset it was begun from.
            let mut tokens: Vec<(String, u64, i64)> = Vec::new();
            for (step, (op, consumer, offset, pick)) in ops.into_iter().enumerate() {
                let key = format!("c{consumer}");
                let now = step as u64;
                match op {
                    0 => tokens.push((key.clone(), ra.begin(&key, at(offset), 100, now), offset)),
                    1 => {
                        if !tokens.is_empty() {
                            let (k, token, from) = tokens.remove(pick % tokens.len());
                            ra.complete(&k, token, result(&[from, from + 1]));
                        }
                    }
                    2 => ra.keep(&key, at(offset), result(&[offset]), now),
                    _ => {
                        if let Lookup::Ready(r) = ra.take(&key, &at(offset), now) {
                            proptest::prop_assert_eq!(r.records[0].offset, offset);
                            proptest::prop_assert!(!matches!(ra.take(&key, &at(offset), now), Lookup::Ready(_)));
                        }
                    }
                }
                proptest::prop_assert!(ra.entries.borrow().len() <= MAX_ENTRIES);
            }
        }
    }
}
