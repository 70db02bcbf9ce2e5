//! Protobuf with a schema from the registry, as Confluent's serializers write it
//! (<https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format>):
//! after the magic byte and schema id, the message-index path of the message type within the
//! file (zigzag varints: a count, then the indexes; `[0]` — the first message — as the single
//! byte 0), then the message's Protobuf bytes.
//!
//! Schemas are `.proto` text (what Confluent's registry stores) or a base64
//! `FileDescriptorProto` (what Java and Python serializers register, and some registries return
//! as they got it); imports are the schema's references, by their import name, plus Google's
//! well-known types. Parsed with protox, messages are prost-reflect's dynamic messages; JSON is
//! Protobuf's canonical JSON mapping as Confluent's proxy prints it (`JsonFormat.printer()
//! .includingDefaultValueFields()`: lowerCamelCase names, defaults included, 64-bit integers
//! as strings, enums by name) and parses it (unknown fields refused).

use std::collections::HashMap;

use base64::Engine;
use prost_reflect::prost::Message as _;
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::Value as Json;

/// The name the schema itself goes by among its imports.
const MAIN: &str = "kre-schema.proto";
/// The deepest message-index path a record may name (nesting deeper than this is refused).
const MAX_INDEXES: usize = 32;
/// How deeply messages may nest in a record: prost's decoder stops at its recursion limit.
pub const MAX_MESSAGE_DEPTH: usize = 100;

pub struct ProtoSchema {
    /// The message records are written with: the file's first (Confluent's default).
    message: MessageDescriptor,
    /// Its message-index path, as written before each record.
    indexes: Vec<u8>,
    /// Every message of the schema's own file, by index path (decoding takes the record's).
    file: prost_reflect::FileDescriptor,
}

impl std::fmt::Debug for ProtoSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProtoSchema({})", self.message.full_name())
    }
}

/// The schema's own source and its imports, by name.
struct Sources(HashMap<String, File>);

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        self.0.get(name).cloned().ok_or_else(|| protox::Error::file_not_found(name))
    }
}

/// A schema text as a protox file: `.proto` source, or a base64 `FileDescriptorProto`.
fn file(name: &str, text: &str) -> Result<File, String> {
    let trimmed = text.trim();
    let looks_base64 =
        !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if looks_base64
        && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(trimmed)
        && let Ok(mut proto) = prost_reflect::prost_types::FileDescriptorProto::decode(bytes.as_slice())
    {
        // Imports are matched by name: the file goes by the name it is known under here.
        proto.name = Some(name.to_owned());
        let deepest = deepest_nesting(&proto.message_type);
        if deepest > crate::limits::MAX_SCHEMA_NESTING {
            return Err(too_nested(name, deepest));
        }
        return Ok(File::from_file_descriptor_proto(proto));
    }
    let deepest = crate::limits::brace_depth(text);
    if deepest > crate::limits::MAX_SCHEMA_NESTING {
        return Err(too_nested(name, deepest));
    }
    File::from_source(name, text).map_err(|e| e.to_string())
}

fn too_nested(name: &str, deepest: usize) -> String {
    let name = if name == MAIN { "the schema" } else { name };
    format!("{name} nests {deepest} levels deep; the limit is {}", crate::limits::MAX_SCHEMA_NESTING)
}

/// How deeply messages nest in a descriptor, walked without recursion.
fn deepest_nesting(messages: &[prost_reflect::prost_types::DescriptorProto]) -> usize {
    let mut stack: Vec<(&prost_reflect::prost_types::DescriptorProto, usize)> =
        messages.iter().map(|m| (m, 1)).collect();
    let mut deepest = 0;
    while let Some((m, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        stack.extend(m.nested_type.iter().map(|n| (n, depth + 1)));
    }
    deepest
}

impl ProtoSchema {
    /// `text` with the files it imports as `(import name, text)`.
    pub fn parse(text: &str, references: &[(String, String)]) -> Result<ProtoSchema, String> {
        let mut sources = HashMap::new();
        for (name, t) in references {
            sources.insert(name.clone(), file(name, t)?);
        }
        sources.insert(MAIN.to_owned(), file(MAIN, text)?);
        let mut resolver = ChainFileResolver::new();
        resolver.add(Sources(sources));
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.open_file(MAIN).map_err(|e| e.to_string())?;
        let pool: DescriptorPool = compiler.descriptor_pool();
        let file = pool.get_file_by_name(MAIN).ok_or("the schema's file is missing")?;
        let message = file.messages().next().ok_or("the schema defines no message")?;
        let mut indexes = Vec::with_capacity(1);
        write_indexes(&[0], &mut indexes);
        Ok(ProtoSchema { message, indexes, file })
    }

    /// The full name of the message records are written with (RECORD_NAME subjects).
    pub fn name(&self) -> &str {
        self.message.full_name()
    }

    /// The message-index path and Protobuf bytes of `json` (canonical JSON mapping).
    pub fn encode(&self, json: &Json) -> Result<Vec<u8>, String> {
        let message = DynamicMessage::deserialize_with_options(
            self.message.clone(),
            json,
            &DeserializeOptions::new().deny_unknown_fields(true),
        )
        .map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(self.indexes.len() + message.encoded_len());
        out.extend_from_slice(&self.indexes);
        message.encode(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// The canonical JSON of a record's payload (its message-index path, then the message).
    pub fn decode(&self, payload: &[u8]) -> Result<Json, String> {
        let text = self.decode_to_json_text(payload, crate::limits::expansion_limit(payload.len()))?;
        serde_json::from_slice(&text).map_err(|e| e.to_string())
    }

    /// Like [`ProtoSchema::decode`], as JSON text of at most `limit` bytes: with default values
    /// included, a few bytes of repeated empty messages can render to megabytes. Messages nest
    /// at most 100 deep (prost's decoder refuses deeper ones).
    pub fn decode_to_json_text(&self, payload: &[u8], limit: usize) -> Result<Vec<u8>, String> {
        let (path, mut rest) = read_indexes(payload)?;
        let message = self.message_at(&path)?;
        let decoded = DynamicMessage::decode(message, &mut rest).map_err(|e| e.to_string())?;
        let mut out = crate::limits::Bounded::new(limit);
        decoded
            .serialize_with_options(
                &mut serde_json::Serializer::new(&mut out),
                &SerializeOptions::new().skip_default_fields(false),
            )
            .map_err(|e| e.to_string())?;
        Ok(out.out)
    }

    fn message_at(&self, path: &[usize]) -> Result<MessageDescriptor, String> {
        let unknown = || format!("the schema has no message at index path {path:?}");
        let (first, nested) = path.split_first().ok_or_else(unknown)?;
        let mut message = self.file.messages().nth(*first).ok_or_else(unknown)?;
        for i in nested {
            let child = message.child_messages().nth(*i);
            message = child.ok_or_else(unknown)?;
        }
        Ok(message)
    }
}

fn zigzag(v: i64, out: &mut Vec<u8>) {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn read_zigzag(bytes: &mut &[u8]) -> Result<i64, String> {
    let mut n: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first().ok_or("the message-index path is cut short")?;
        *bytes = rest;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(((n >> 1) as i64) ^ -((n & 1) as i64));
        }
    }
    Err("a message index is longer than a varint".into())
}

/// Confluent's message-index path: `[0]` as the single byte 0, else the count and each index.
fn write_indexes(path: &[usize], out: &mut Vec<u8>) {
    if path == [0] {
        out.push(0);
        return;
    }
    zigzag(path.len() as i64, out);
    for i in path {
        zigzag(*i as i64, out);
    }
}

/// The message-index path at the start of `payload`, and what follows it.
fn read_indexes(payload: &[u8]) -> Result<(Vec<usize>, &[u8]), String> {
    let mut rest = payload;
    let count = read_zigzag(&mut rest)?;
    if count == 0 {
        return Ok((vec![0], rest));
    }
    let count = usize::try_from(count)
        .ok()
        .filter(|c| *c <= MAX_INDEXES)
        .ok_or_else(|| format!("invalid message-index count {count}"))?;
    let mut path = Vec::with_capacity(count);
    for _ in 0..count {
        let i = read_zigzag(&mut rest)?;
        path.push(usize::try_from(i).map_err(|_| format!("invalid message index {i}"))?);
    }
    Ok((path, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: &str = r#"syntax = "proto3";
package kre.test;
import "google/protobuf/timestamp.proto";
message User {
  string name = 1;
  int64 id = 2;
  Kind kind = 3;
  repeated string tags = 4;
  google.protobuf.Timestamp at = 5;
  message Inner { int32 x = 1; }
  Inner inner = 6;
}
enum Kind { A = 0; B = 1; }
message Other { bool flag = 1; }
"#;

    #[test]
    fn json_round_trips_in_the_canonical_mapping() {
        let s = ProtoSchema::parse(USER, &[]).expect("parses");
        assert_eq!(s.name(), "kre.test.User");
        let bytes = s
            .encode(&json!({"name": "ann", "id": "7", "kind": "B", "tags": ["a"], "at": "2024-01-02T03:04:05Z"}))
            .expect("encodes");
        assert_eq!(bytes[0], 0, "[0] is written as one 0 byte");
        let back = s.decode(&bytes).expect("decodes");
        assert_eq!(back, json!({"name": "ann", "id": "7", "kind": "B", "tags": ["a"], "at": "2024-01-02T03:04:05Z"}));
        // Defaults are printed, as JsonFormat's includingDefaultValueFields does.
        let empty = s.decode(&s.encode(&json!({})).expect("encodes")).expect("decodes");
        assert_eq!(empty, json!({"name": "", "id": "0", "kind": "A", "tags": []}));
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let s = ProtoSchema::parse(USER, &[]).expect("parses");
        assert!(s.encode(&json!({"nope": 1})).is_err());
        assert!(s.encode(&json!({"id": "x"})).is_err());
        assert!(s.encode(&json!([1])).is_err());
        assert!(ProtoSchema::parse("message {", &[]).is_err());
        assert!(ProtoSchema::parse("syntax = \"proto3\";", &[]).expect_err("no message").contains("no message"));
        assert!(ProtoSchema::parse("import \"missing.proto\"; message A {}", &[]).is_err());
    }

    #[test]
    fn message_index_paths() {
        let s = ProtoSchema::parse(USER, &[]).expect("parses");
        // [0, 0]: User.Inner (count 2, 0, 0 as zigzag varints).
        let mut payload = vec![];
        write_indexes(&[0, 0], &mut payload);
        assert_eq!(payload, [4, 0, 0]);
        payload.extend_from_slice(&[8, 5]);
        assert_eq!(s.decode(&payload).expect("inner"), json!({"x": 5}));
        // [1]: Other.
        assert_eq!(s.decode(&[2, 2, 8, 1]).expect("other"), json!({"flag": true}));
        assert!(s.decode(&[2, 10]).is_err(), "no message 5");
        assert!(s.decode(&[0x80]).is_err(), "cut short");
        assert!(s.decode(&[200, 1]).is_err(), "count too large");
    }

    #[test]
    fn imports_resolve_through_references_and_descriptors() {
        let dep = "syntax = \"proto3\"; package dep; message Addr { string city = 1; }";
        let main = "syntax = \"proto3\"; import \"dep.proto\"; message P { dep.Addr home = 1; }";
        let s = ProtoSchema::parse(main, &[("dep.proto".into(), dep.into())]).expect("parses");
        let b = s.encode(&json!({"home": {"city": "x"}})).expect("encodes");
        assert_eq!(s.decode(&b).expect("decodes"), json!({"home": {"city": "x"}}));
        // The same schema as a base64 FileDescriptorProto (as Python's serializer registers it).
        let compiled = {
            let mut c = protox::Compiler::with_file_resolver(Sources(HashMap::from([(
                "m.proto".to_owned(),
                File::from_source("m.proto", "syntax = \"proto3\"; message M { int32 n = 1; }").expect("src"),
            )])));
            c.open_file("m.proto").expect("opens");
            c.file_descriptor_set().file.remove(0).encode_to_vec()
        };
        let text = base64::engine::general_purpose::STANDARD.encode(compiled);
        let m = ProtoSchema::parse(&text, &[]).expect("descriptor parses");
        assert_eq!(m.decode(&m.encode(&json!({"n": 3})).expect("enc")).expect("dec"), json!({"n": 3}));
    }
}

#[cfg(test)]
mod depth_tests {
    use super::*;

    /// `depth` `N`s nested in one another (`next`), the innermost with `v = 7`.
    fn nested(depth: usize) -> Vec<u8> {
        let mut m: Vec<u8> = vec![0x10, 0x07];
        for _ in 0..depth {
            let mut outer = vec![0x0a];
            let mut len = m.len();
            while len >= 0x80 {
                outer.push((len as u8) | 0x80);
                len >>= 7;
            }
            outer.push(len as u8);
            outer.extend_from_slice(&m);
            m = outer;
        }
        [vec![0], m].concat()
    }

    #[test]
    fn messages_nest_to_prosts_limit_and_no_deeper() {
        let s =
            ProtoSchema::parse("syntax = \"proto3\";\nmessage N { N next = 1; int32 v = 2; }\n", &[]).expect("schema");
        let deepest = (1..200).take_while(|&d| s.decode(&nested(d)).is_ok()).last().unwrap_or(0);
        assert_eq!(deepest, MAX_MESSAGE_DEPTH, "the deepest message that decodes");
        let e = s.decode(&nested(5000)).expect_err("too deep");
        assert!(e.contains("recursion limit"), "{e}");
    }

    #[test]
    fn schemas_nest_to_the_limit_and_no_deeper() {
        let proto = |depth: usize| {
            let mut s = String::from("syntax = \"proto3\";\n");
            for i in 0..depth {
                s.push_str(&format!("message M{i} {{ int32 x = 1;\n"));
            }
            s + &"}\n".repeat(depth)
        };
        assert!(ProtoSchema::parse(&proto(crate::limits::MAX_SCHEMA_NESTING), &[]).is_ok());
        let e = ProtoSchema::parse(&proto(800), &[]).expect_err("too deep");
        assert!(e.contains("nests 800 levels deep"), "{e}");
    }
}
