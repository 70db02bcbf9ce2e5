//! Splits a byte stream of concatenated JSON values (the v3 streaming produce body) into one
//! slice per top-level value, without parsing them: a malformed value becomes one bad item and
//! the stream continues after it. Items larger than a limit are dropped as they stream by, so
//! memory stays bounded however long the stream runs.

#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    /// One complete top-level value (an object or array) or stray text between values.
    Value(Vec<u8>),
    /// A value longer than the limit: its bytes were discarded.
    TooLarge(usize),
}

#[derive(Default)]
pub struct Splitter {
    buf: Vec<u8>,
    /// Where the item in progress starts inside `buf`.
    start: usize,
    /// Scan position inside `buf`.
    pos: usize,
    depth: usize,
    in_string: bool,
    /// The previous byte was a backslash inside a string (possibly at the end of the last chunk).
    escaped: bool,
    /// Bytes of the current item already discarded because it grew past the limit.
    dropped: usize,
    limit: usize,
}

impl Splitter {
    pub fn new(limit: usize) -> Self {
        Splitter { limit: limit.max(1), ..Default::default() }
    }

    /// Adds bytes; returns the items they complete.
    pub fn push(&mut self, data: &[u8]) -> Vec<Item> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        // `buf` may shrink inside the loop (an oversize item is dropped): re-read its length.
        while self.pos < self.buf.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    self.pos += 1;
                    continue;
                }
                // Jump to the next quote or backslash: string contents are most of the bytes.
                match memchr::memchr2(b'"', b'\\', &self.buf[self.pos..]) {
                    None => self.pos = self.buf.len(),
                    Some(i) => {
                        self.pos += i + 1;
                        if self.buf[self.pos - 1] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                        }
                    }
                }
                self.check_limit();
                continue;
            }
            let b = self.buf[self.pos];
            if self.depth == 0 {
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' if self.pos == self.start => {
                        // Whitespace between values.
                        self.start += 1;
                        self.pos += 1;
                    }
                    b'{' | b'[' => {
                        if self.pos > self.start || self.dropped > 0 {
                            // Text before this value that was not a value: one bad item.
                            out.push(self.take_item());
                        }
                        self.depth = 1;
                        self.pos += 1;
                    }
                    _ => {
                        // Stray scalar text at top level: collected until the next value starts.
                        self.pos += 1;
                        self.check_limit();
                    }
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => self.depth -= 1,
                _ => {}
            }
            self.pos += 1;
            // The closing byte counts too: a value one byte over the limit is too large
            // (found by the fuzzer: it passed whole).
            self.check_limit();
            if self.depth == 0 {
                out.push(self.take_item());
            }
        }
        // One compaction per push, not per item.
        self.buf.drain(..self.start);
        self.pos -= self.start;
        self.start = 0;
        out
    }

    /// The item from `start` to `pos`, or its size when it was dropped.
    fn take_item(&mut self) -> Item {
        let item = if self.dropped > 0 {
            Item::TooLarge(self.dropped + self.pos - self.start)
        } else {
            Item::Value(self.buf[self.start..self.pos].to_vec())
        };
        self.dropped = 0;
        self.start = self.pos;
        item
    }

    /// An item longer than the limit: forget its bytes, keep its structure.
    fn check_limit(&mut self) {
        if self.pos - self.start > self.limit {
            self.dropped += self.pos - self.start;
            self.buf.drain(..self.pos);
            self.start = 0;
            self.pos = 0;
        }
    }

    /// The end of the stream: whatever is left is one last (incomplete or stray) item.
    pub fn finish(&mut self) -> Option<Item> {
        let rest: Vec<u8> = self.buf.split_off(self.start);
        let dropped = std::mem::take(&mut self.dropped);
        self.buf.clear();
        self.start = 0;
        self.pos = 0;
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
        if dropped > 0 {
            Some(Item::TooLarge(dropped + rest.len()))
        } else if rest.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(Item::Value(rest))
        }
    }

    /// Bytes held for the item in progress.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_all(chunks: &[&[u8]], limit: usize) -> Vec<Item> {
        let mut s = Splitter::new(limit);
        let mut out = Vec::new();
        for c in chunks {
            out.extend(s.push(c));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn a_value_ending_one_byte_over_the_limit_is_too_large() {
        assert_eq!(split_all(&[b"{\"a\":1}"], 6), vec![Item::TooLarge(7)]);
        assert_eq!(split_all(&[b"{\"a\":1}"], 7), vec![v("{\"a\":1}")]);
    }

    fn v(s: &str) -> Item {
        Item::Value(s.as_bytes().to_vec())
    }

    #[test]
    fn splits_concatenated_objects() {
        let items = split_all(&[b"{\"a\":1}{\"b\":\"}{\"}\n  {\"c\":[1,{\"d\":2}]}"], 1000);
        assert_eq!(items, vec![v("{\"a\":1}"), v("{\"b\":\"}{\"}"), v("{\"c\":[1,{\"d\":2}]}")]);
    }

    #[test]
    fn values_may_span_chunks() {
        let items = split_all(&[b"{\"a\":", b"\"x\\\"", b"}\"}", b" {}"], 1000);
        assert_eq!(items, vec![v("{\"a\":\"x\\\"}\"}"), v("{}")]);
    }

    #[test]
    fn stray_text_is_its_own_item_and_the_stream_goes_on() {
        let items = split_all(&[b"{\"a\":1} garbage {\"b\":2} oops"], 1000);
        assert_eq!(items, vec![v("{\"a\":1}"), v("garbage "), v("{\"b\":2}"), v("oops")]);
        // An unterminated value at the end is reported, not lost.
        assert_eq!(split_all(&[b"{\"a\":1}{\"b\":"], 1000), vec![v("{\"a\":1}"), v("{\"b\":")]);
    }

    #[test]
    fn long_stray_text_is_dropped_then_values_resume() {
        let items = split_all(&[&[b'x'; 100], b"{\"a\":1}"], 16);
        assert_eq!(items, vec![Item::TooLarge(100), v("{\"a\":1}")]);
    }

    #[test]
    fn oversize_values_are_dropped_with_bounded_memory() {
        let mut s = Splitter::new(16);
        let mut out = s.push(b"{\"a\":\"");
        for _ in 0..1000 {
            out.extend(s.push(&[b'x'; 100]));
            assert!(s.buffered() <= 116, "buffered {}", s.buffered());
        }
        out.extend(s.push(b"\"}{\"ok\":1}"));
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0], Item::TooLarge(n) if n == 100_000 + 8));
        assert_eq!(out[1], v("{\"ok\":1}"));
    }

    proptest! {
        // However the bytes are cut into chunks, the items are the same.
        #[test]
        fn chunking_does_not_matter(values in proptest::collection::vec(any::<u32>(), 1..10), cuts in proptest::collection::vec(0usize..200, 0..8)) {
            let text: String = values.iter().map(|n| format!("{{\"n\":{n},\"s\":\"a}}b\\\\\"}} ")).collect();
            let bytes = text.as_bytes();
            let whole = split_all(&[bytes], 10_000);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort();
            let mut chunks = Vec::new();
            let mut last = 0;
            for c in cuts { chunks.push(&bytes[last..c]); last = c; }
            chunks.push(&bytes[last..]);
            prop_assert_eq!(split_all(&chunks, 10_000), whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = split_all(&[&data], 32);
        }
    }
}
