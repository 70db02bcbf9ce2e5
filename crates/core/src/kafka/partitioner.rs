//! The Java client's default partitioner for keyed records (`Utils.murmur2`, `toPositive`, modulo),
//! so REST and Java producers put the same key in the same partition; unkeyed records go round
//! robin.

use std::cell::Cell;

/// Spreads unkeyed records over partitions, round robin across the requests of an instance.
#[derive(Default)]
pub struct RoundRobin(Cell<u32>);

impl RoundRobin {
    pub fn seeded(seed: u32) -> Self {
        RoundRobin(Cell::new(seed))
    }

    pub fn next(&self, partitions: i32) -> i32 {
        let n = self.0.get();
        self.0.set(n.wrapping_add(1));
        (n % partitions.max(1) as u32) as i32
    }
}

/// Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2), seed 0x9747b28c.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    // Java reads the tail bytes as signed and masks them: the same as unsigned here.
    match tail.len() {
        3 => {
            h ^= (tail[2] as u32) << 16;
            h ^= (tail[1] as u32) << 8;
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        2 => {
            h ^= (tail[1] as u32) << 8;
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        1 => {
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java producer picks for `key` among `partitions`.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    // Utils.toPositive: clear the sign bit (not abs()).
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed with Apache Kafka 4.3.1's own `Utils.murmur2` / `Utils.toPositive` (jshell over the
    /// kafka-clients jar): key, hash, partition of 3, partition of 7.
    const JAVA: &[(&str, i32, i32, i32)] = &[
        ("", 275646681, 0, 2),
        ("a", -1563381124, 1, 5),
        ("ab", 316155434, 2, 0),
        ("abc", 479470107, 0, 4),
        ("abcd", -1323649548, 2, 5),
        ("key-1", 193331640, 0, 5),
        ("key-2", 852269702, 2, 4),
        ("order-12345", -1747359319, 1, 3),
        ("ü-unicode", 412092257, 2, 3),
        ("the quick brown fox jumps over the lazy dog", -890066680, 1, 3),
        ("ÿþ", -1869419400, 2, 0),
    ];

    #[test]
    fn matches_the_java_client() {
        for (key, hash, p3, p7) in JAVA {
            assert_eq!(murmur2(key.as_bytes()), *hash, "{key}");
            assert_eq!(partition_for_key(key.as_bytes(), 3), *p3, "{key} of 3");
            assert_eq!(partition_for_key(key.as_bytes(), 7), *p7, "{key} of 7");
        }
    }

    proptest::proptest! {
        #[test]
        fn partitions_are_in_range(key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), n in 1i32..500) {
            let p = partition_for_key(&key, n);
            proptest::prop_assert!((0..n).contains(&p));
        }
    }
}
