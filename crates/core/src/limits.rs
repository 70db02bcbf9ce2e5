//! Bounds on what one request may cost, declared once: every recursive decoder, parser and
//! renderer reachable from a request or a record stops at [`MAX_DEPTH`], and decoded formats
//! render at most [`expansion_limit`] bytes per record.
//!
//! Why here and not in each parser: the WebAssembly stack is about 1 MiB (native tests have
//! 8 MiB and miss an overflow), and a trap fails every request sharing the instance
//! (README, "Limits").

/// Nesting levels of JSON a decoder or renderer produces or follows (records, unions, arrays,
/// maps, messages, `$ref` chains, `.proto` blocks count one each). serde_json refuses input
/// nested deeper than 128; Protobuf's own decoder stops at 100.
pub const MAX_DEPTH: usize = 100;

/// Blocks nested in a Protobuf schema (messages in messages, option aggregates): protox and
/// prost-reflect walk them recursively. Real schemas nest a handful deep.
pub const MAX_SCHEMA_NESTING: usize = 32;

/// The most a decoded key or value (Avro, Protobuf) may render to: 64 times its encoded size,
/// at least 1 MiB. A 10-byte Avro array claiming 20 M nulls must not become 100 MB of JSON.
pub fn expansion_limit(encoded: usize) -> usize {
    encoded.saturating_mul(64).max(1 << 20)
}

/// The longest string the Kafka protocol carries (a signed 16-bit length): a longer one is
/// refused before anything is sent (a broker closes the connection on it).
pub const MAX_PROTOCOL_STRING: usize = i16::MAX as usize;

/// An error naming the limit a decoder hit.
pub fn too_deep() -> String {
    format!("nested deeper than {MAX_DEPTH} levels")
}

/// A writer that fails once more than its limit was written: renderers that write through
/// serde (Protobuf's JSON mapping) stop there instead of building a huge answer.
pub struct Bounded {
    pub out: Vec<u8>,
    limit: usize,
}

impl Bounded {
    pub fn new(limit: usize) -> Self {
        Bounded { out: Vec::new(), limit }
    }
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len().saturating_add(buf.len()) > self.limit {
            return Err(std::io::Error::other(format!("the record renders to more than {} bytes of JSON", self.limit)));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How deeply `{` blocks nest in a `.proto` text (comments and string literals skipped): protox
/// parses nested messages recursively, and ~800 of them overflowed the component's stack.
pub fn brace_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '"' | '\'' => {
                let quote = c;
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        chars.next();
                    } else if c == quote {
                        break;
                    }
                }
            }
            '{' => {
                depth += 1;
                max = max.max(depth);
            }
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brace_depth_skips_comments_and_strings() {
        assert_eq!(brace_depth("message A { message B { } } // {{{{\n/* {{{ */ option x = \"{{\";"), 2);
        assert_eq!(brace_depth(""), 0);
        assert_eq!(brace_depth(&"message M {".repeat(800)), 800);
    }

    #[test]
    fn bounded_writer_stops_at_its_limit() {
        use std::io::Write;
        let mut w = Bounded::new(4);
        assert!(w.write_all(b"abcd").is_ok());
        assert!(w.write_all(b"e").is_err());
        assert_eq!(w.out, b"abcd");
    }
}
