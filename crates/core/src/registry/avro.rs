//! Avro with a schema from the registry (<https://avro.apache.org/docs/1.11.1/specification/>):
//! record bodies are Avro's JSON encoding — as Confluent's proxy reads and writes them (unions
//! as `{"<branch>": value}` or `null`, bytes and fixed as strings of code points 0–255) — and
//! go to Kafka as Avro's binary encoding, on apache-avro.

use std::collections::HashMap;

use apache_avro::schema::{Name, Schema};
use serde_json::Value as Json;

/// A parsed writer schema with its named types (so `Ref`s resolve).
pub struct AvroSchema {
    schema: Schema,
    names: HashMap<Name, Schema>,
}

impl std::fmt::Debug for AvroSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AvroSchema")
    }
}

impl AvroSchema {
    /// `text` with the schemas it references (named types defined in other subjects) first.
    pub fn parse(text: &str, references: &[String]) -> Result<AvroSchema, String> {
        let schema = if references.is_empty() {
            Schema::parse_str(text).map_err(|e| e.to_string())?
        } else {
            let refs: Vec<&str> = references.iter().map(String::as_str).collect();
            let (schema, _) = Schema::parse_str_with_list(text, &refs).map_err(|e| e.to_string())?;
            schema
        };
        let referenced: Vec<Schema> =
            Schema::parse_list(references.iter().map(String::as_str)).map_err(|e| e.to_string())?;
        // Dependencies first: the resolver looks a reference up when it meets it.
        let mut all: Vec<&Schema> = referenced.iter().collect();
        all.push(&schema);
        // Resolved together: the main schema's references point into the others.
        let resolved = apache_avro::schema::ResolvedSchema::try_from(all).map_err(|e| e.to_string())?;
        let names: HashMap<Name, Schema> =
            resolved.get_names().iter().map(|(name, schema)| (name.clone(), (*schema).clone())).collect();
        Ok(AvroSchema { schema, names })
    }

    /// The full name of a named schema (a record, enum or fixed).
    pub fn full_name(&self) -> Option<String> {
        self.schema.name().map(|n| n.fullname(None))
    }

    /// Avro's binary encoding of `json` (Avro's JSON encoding); Err names the field that does
    /// not fit.
    ///
    /// Written straight from the JSON (Avro's binary encoding is a handful of rules): going
    /// through apache-avro's `Value` resolved and validated the whole schema for every record,
    /// which cost a third of the produce rate. Decoding stays with apache-avro, and the tests
    /// check every byte we write decodes there (and with Confluent's deserializer).
    pub fn encode(&self, json: &Json) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(64);
        self.write(&self.schema, json, "", &mut out)?;
        Ok(out)
    }

    fn write(&self, schema: &Schema, json: &Json, path: &str, out: &mut Vec<u8>) -> Result<(), String> {
        let at = |what: &str| {
            let place = if path.is_empty() { "the value".to_owned() } else { format!("field '{path}'") };
            format!("{place}: expected {what}, got {json}")
        };
        let schema = self.named(schema)?;
        match schema {
            Schema::Null => json.is_null().then_some(()).ok_or_else(|| at("null"))?,
            Schema::Boolean => out.push(u8::from(json.as_bool().ok_or_else(|| at("a boolean"))?)),
            Schema::Int | Schema::Date | Schema::TimeMillis => {
                zigzag(i64::from(int(json).ok_or_else(|| at("an int"))?), out)
            }
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => zigzag(json.as_i64().ok_or_else(|| at("a long"))?, out),
            Schema::Float => out.extend_from_slice(&(json.as_f64().ok_or_else(|| at("a float"))? as f32).to_le_bytes()),
            Schema::Double => out.extend_from_slice(&json.as_f64().ok_or_else(|| at("a double"))?.to_le_bytes()),
            Schema::String | Schema::Uuid => {
                let s = json.as_str().ok_or_else(|| at("a string"))?;
                zigzag(s.len() as i64, out);
                out.extend_from_slice(s.as_bytes());
            }
            // A decimal on a fixed is written as the fixed (no length).
            Schema::Decimal(d) if matches!(self.named(&d.inner)?, Schema::Fixed(_)) => {
                self.write(&d.inner, json, path, out)?
            }
            Schema::Bytes | Schema::Decimal(_) | Schema::BigDecimal => {
                let b = latin1(json).ok_or_else(|| at("bytes as a string"))?;
                zigzag(b.len() as i64, out);
                out.extend_from_slice(&b);
            }
            Schema::Fixed(f) => {
                let b = latin1(json).filter(|b| b.len() == f.size).ok_or_else(|| at(&format!("{} bytes", f.size)))?;
                out.extend_from_slice(&b);
            }
            Schema::Duration => {
                out.extend_from_slice(&latin1(json).filter(|b| b.len() == 12).ok_or_else(|| at("12 bytes"))?)
            }
            Schema::Enum(e) => {
                let s = json.as_str().ok_or_else(|| at("an enum symbol"))?;
                let i = e.symbols.iter().position(|x| x == s).ok_or_else(|| at(&format!("one of {:?}", e.symbols)))?;
                zigzag(i as i64, out);
            }
            Schema::Array(a) => {
                let items = json.as_array().ok_or_else(|| at("an array"))?;
                if !items.is_empty() {
                    zigzag(items.len() as i64, out);
                    for (i, item) in items.iter().enumerate() {
                        self.write(&a.items, item, &format!("{path}[{i}]"), out)?;
                    }
                }
                out.push(0);
            }
            Schema::Map(m) => {
                let obj = json.as_object().ok_or_else(|| at("an object"))?;
                if !obj.is_empty() {
                    zigzag(obj.len() as i64, out);
                    for (k, v) in obj {
                        zigzag(k.len() as i64, out);
                        out.extend_from_slice(k.as_bytes());
                        self.write(&m.types, v, &join(path, k), out)?;
                    }
                }
                out.push(0);
            }
            Schema::Record(r) => {
                let obj = json.as_object().ok_or_else(|| at("an object"))?;
                for f in &r.fields {
                    let field = join(path, &f.name);
                    match (obj.get(&f.name), &f.default) {
                        (Some(v), _) => self.write(&f.schema, v, &field, out)?,
                        (None, Some(d)) => match self.named(&f.schema)? {
                            // A union's default is for its first branch, written bare.
                            Schema::Union(u) if !u.variants().is_empty() => {
                                out.push(0);
                                self.write(&u.variants()[0], d, &field, out)?;
                            }
                            s => self.write(s, d, &field, out)?,
                        },
                        (None, None) => return Err(format!("field '{field}' is missing (no default)")),
                    }
                }
            }
            Schema::Union(u) => {
                if json.is_null() {
                    let i = u
                        .variants()
                        .iter()
                        .position(|s| matches!(s, Schema::Null))
                        .ok_or_else(|| at("a non-null union branch"))?;
                    zigzag(i as i64, out);
                    return Ok(());
                }
                // {"<branch type>": value}
                let obj =
                    json.as_object().filter(|o| o.len() == 1).ok_or_else(|| at("a union as {\"<type>\": value}"))?;
                let (branch, v) = obj.iter().next().ok_or_else(|| at("a union branch"))?;
                let i = u
                    .variants()
                    .iter()
                    .position(|s| self.branch_name(s).as_deref() == Some(branch.as_str()))
                    .ok_or_else(|| at(&format!("a branch of the union, not '{branch}'")))?;
                zigzag(i as i64, out);
                self.write(&u.variants()[i], v, path, out)?;
            }
            Schema::Ref { name } => return Err(format!("unresolved named type {name}")),
        }
        Ok(())
    }

    /// The JSON encoding of an Avro binary datum written with this schema.
    pub fn decode(&self, bytes: &[u8]) -> Result<Json, String> {
        let text = self.decode_to_json_text(bytes, crate::limits::expansion_limit(bytes.len()))?;
        serde_json::from_slice(&text).map_err(|e| e.to_string())
    }

    /// Like [`AvroSchema::decode`], written straight to JSON text, at most `limit` bytes of it
    /// and [`crate::limits::MAX_DEPTH`] levels deep (a linked list a few hundred records deep
    /// overflowed the component's stack in apache-avro's recursive decoder).
    pub fn decode_to_json_text(&self, bytes: &[u8], limit: usize) -> Result<Vec<u8>, String> {
        let mut r = Reader { bytes, out: Vec::with_capacity(bytes.len() * 2 + 16), limit };
        r.value(self, &self.schema, 0)?;
        Ok(r.out)
    }

    fn named<'a>(&'a self, schema: &'a Schema) -> Result<&'a Schema, String> {
        match schema {
            Schema::Ref { name } => self.names.get(name).ok_or_else(|| format!("unknown named type {name}")),
            s => Ok(s),
        }
    }

    /// The name a union branch goes by in the JSON encoding.
    fn branch_name(&self, schema: &Schema) -> Option<String> {
        Some(match schema {
            Schema::Null => "null".into(),
            Schema::Boolean => "boolean".into(),
            Schema::Int | Schema::Date | Schema::TimeMillis => "int".into(),
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => "long".into(),
            Schema::Float => "float".into(),
            Schema::Double => "double".into(),
            Schema::Bytes | Schema::Decimal(_) | Schema::BigDecimal => "bytes".into(),
            Schema::String | Schema::Uuid => "string".into(),
            Schema::Array(_) => "array".into(),
            Schema::Map(_) => "map".into(),
            Schema::Record(_) | Schema::Enum(_) | Schema::Fixed(_) | Schema::Duration => {
                schema.name().map(|n| n.fullname(None)).unwrap_or_else(|| "fixed".into())
            }
            Schema::Ref { name } => name.fullname(None),
            Schema::Union(_) => return None,
        })
    }
}

/// Avro's zig-zag variable-length encoding of ints and longs.
fn zigzag(n: i64, out: &mut Vec<u8>) {
    let mut v = ((n << 1) ^ (n >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Avro's binary encoding read into Avro's JSON encoding, bounded in depth and output.
struct Reader<'a> {
    bytes: &'a [u8],
    out: Vec<u8>,
    limit: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if n > self.bytes.len() {
            return Err("the record is cut short".into());
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn long(&mut self) -> Result<i64, String> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((n >> 1) as i64) ^ -((n & 1) as i64));
            }
        }
        Err("a long is longer than 10 bytes".into())
    }

    /// A length or count, refused when negative or past what the output may still hold (every
    /// item renders at least one byte, so a forged count fails before any work).
    fn len(&mut self) -> Result<usize, String> {
        let n = self.long()?;
        usize::try_from(n).map_err(|_| format!("negative length {n}"))
    }

    fn bytes_value(&mut self) -> Result<&[u8], String> {
        let n = self.len()?;
        self.take(n)
    }

    fn room(&self, n: usize) -> Result<(), String> {
        if self.out.len().saturating_add(n) > self.limit {
            return Err(format!("the record renders to more than {} bytes of JSON", self.limit));
        }
        Ok(())
    }

    fn write_json<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), String> {
        serde_json::to_writer(&mut self.out, v).map_err(|e| e.to_string())?;
        self.room(0)
    }

    /// Bytes as Avro's JSON encoding writes them: one code point (U+0000..U+00FF) per byte.
    fn latin1(&mut self, n: Option<usize>) -> Result<(), String> {
        let b = match n {
            Some(n) => self.take(n)?,
            None => self.bytes_value()?,
        };
        // Each byte renders to at most 6 (`\u00xx`).
        let text: String = b.iter().map(|&c| char::from(c)).collect();
        self.room(text.len() + 2)?;
        self.write_json(&text)
    }

    /// Array and map items come in blocks: a count (negative: followed by the block's size in
    /// bytes), 0 ends.
    fn block(&mut self) -> Result<usize, String> {
        let n = self.long()?;
        if n < 0 {
            self.long()?;
        }
        let n = n.unsigned_abs();
        let n = usize::try_from(n).map_err(|_| format!("a block of {n} items"))?;
        self.room(n)?;
        Ok(n)
    }

    fn value(&mut self, schema_of: &AvroSchema, schema: &Schema, depth: usize) -> Result<(), String> {
        let schema = schema_of.named(schema)?;
        match schema {
            Schema::Null => self.out.extend_from_slice(b"null"),
            Schema::Boolean => match self.take(1)?[0] {
                0 => self.out.extend_from_slice(b"false"),
                1 => self.out.extend_from_slice(b"true"),
                b => return Err(format!("boolean byte {b}")),
            },
            Schema::Int | Schema::Date | Schema::TimeMillis => {
                let n = self.long()?;
                let n = i32::try_from(n).map_err(|_| format!("int {n} out of range"))?;
                self.write_json(&n)?
            }
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => {
                let n = self.long()?;
                self.write_json(&n)?
            }
            // Non-finite numbers render as null, as serde_json writes them.
            Schema::Float => {
                let b = self.take(4)?;
                let f = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                self.write_json(&f64::from(f))?
            }
            Schema::Double => {
                let b = self.take(8)?;
                let f = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                self.write_json(&f)?
            }
            Schema::String => {
                let b = self.bytes_value()?;
                let s = std::str::from_utf8(b).map_err(|e| format!("a string is not UTF-8: {e}"))?.to_owned();
                self.room(s.len() + 2)?;
                self.write_json(&s)?
            }
            // apache-avro's reading: 16 bytes are the UUID itself, anything else its text.
            Schema::Uuid => {
                let b = self.bytes_value()?;
                let s = match uuid::Uuid::from_slice(b) {
                    Ok(u) if b.len() == 16 => u.to_string(),
                    _ => {
                        let s = std::str::from_utf8(b).map_err(|e| format!("a uuid is not UTF-8: {e}"))?;
                        uuid::Uuid::parse_str(s).map_err(|e| format!("not a uuid: {e}"))?.to_string()
                    }
                };
                self.write_json(&s)?
            }
            Schema::Bytes | Schema::BigDecimal => self.latin1(None)?,
            Schema::Decimal(d) => match schema_of.named(&d.inner)? {
                Schema::Fixed(f) => self.latin1(Some(f.size))?,
                _ => self.latin1(None)?,
            },
            Schema::Fixed(f) => self.latin1(Some(f.size))?,
            Schema::Duration => self.latin1(Some(12))?,
            Schema::Enum(e) => {
                let i = self.long()?;
                let symbol = usize::try_from(i)
                    .ok()
                    .and_then(|i| e.symbols.get(i))
                    .ok_or_else(|| format!("enum index {i} out of range"))?;
                self.out.push(b'"');
                self.out.extend_from_slice(symbol.as_bytes());
                self.out.push(b'"');
            }
            Schema::Array(a) => {
                let depth = deeper(depth)?;
                self.out.push(b'[');
                let mut first = true;
                loop {
                    let n = self.block()?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        if !std::mem::take(&mut first) {
                            self.out.push(b',');
                        }
                        self.value(schema_of, &a.items, depth)?;
                        self.room(0)?;
                    }
                }
                self.out.push(b']');
            }
            Schema::Map(m) => {
                let depth = deeper(depth)?;
                self.out.push(b'{');
                let mut first = true;
                loop {
                    let n = self.block()?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        if !std::mem::take(&mut first) {
                            self.out.push(b',');
                        }
                        let k = self.bytes_value()?;
                        let k = std::str::from_utf8(k).map_err(|e| format!("a map key is not UTF-8: {e}"))?.to_owned();
                        self.room(k.len() + 3)?;
                        self.write_json(&k)?;
                        self.out.push(b':');
                        self.value(schema_of, &m.types, depth)?;
                        self.room(0)?;
                    }
                }
                self.out.push(b'}');
            }
            Schema::Record(r) => {
                let depth = deeper(depth)?;
                self.out.push(b'{');
                for (i, f) in r.fields.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.room(f.name.len() + 3)?;
                    self.write_json(&f.name)?;
                    self.out.push(b':');
                    self.value(schema_of, &f.schema, depth)?;
                }
                self.out.push(b'}');
            }
            Schema::Union(u) => {
                let i = self.long()?;
                let branch = usize::try_from(i)
                    .ok()
                    .and_then(|i| u.variants().get(i))
                    .ok_or_else(|| format!("union branch {i} out of range"))?;
                if matches!(schema_of.named(branch)?, Schema::Null) {
                    self.out.extend_from_slice(b"null");
                } else {
                    let depth = deeper(depth)?;
                    let name = schema_of.branch_name(branch).unwrap_or_default();
                    self.out.push(b'{');
                    self.write_json(&name)?;
                    self.out.push(b':');
                    self.value(schema_of, branch, depth)?;
                    self.out.push(b'}');
                }
            }
            Schema::Ref { name } => return Err(format!("unresolved named type {name}")),
        }
        self.room(0)
    }
}

/// One level deeper, refused past [`crate::limits::MAX_DEPTH`].
fn deeper(depth: usize) -> Result<usize, String> {
    if depth >= crate::limits::MAX_DEPTH { Err(crate::limits::too_deep()) } else { Ok(depth + 1) }
}

fn int(json: &Json) -> Option<i32> {
    json.as_i64().and_then(|i| i32::try_from(i).ok())
}

/// Avro's JSON encoding of bytes: each char is one byte (U+0000..U+00FF).
fn latin1(json: &Json) -> Option<Vec<u8>> {
    json.as_str()?.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: &str = r#"{"type":"record","name":"User","namespace":"kre.test","fields":[
        {"name":"name","type":"string"},
        {"name":"age","type":["null","int"],"default":null},
        {"name":"tags","type":{"type":"array","items":"string"},"default":[]},
        {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]},"default":"A"},
        {"name":"attrs","type":{"type":"map","values":"long"},"default":{}},
        {"name":"raw","type":"bytes","default":""},
        {"name":"when","type":{"type":"long","logicalType":"timestamp-millis"},"default":0},
        {"name":"next","type":["null","User"],"default":null}
    ]}"#;

    #[test]
    fn json_encoding_round_trips() {
        let s = AvroSchema::parse(USER, &[]).expect("schema");
        let v = json!({"name":"ann","age":{"int":42},"tags":["x"],"kind":"B","attrs":{"a":1},"raw":"\u{0}\u{ff}",
                       "when":1700000000000i64,"next":{"kre.test.User":{"name":"bob","age":null,"tags":[],"kind":"A","attrs":{},"raw":"","when":0,"next":null}}});
        let bytes = s.encode(&v).expect("encodes");
        assert_eq!(s.decode(&bytes).expect("decodes"), v);
        // What we write is what apache-avro writes for the same value.
        let reference = {
            let value = apache_avro::types::Value::Record(vec![
                ("name".into(), apache_avro::types::Value::String("ann".into())),
                ("age".into(), apache_avro::types::Value::Union(1, Box::new(apache_avro::types::Value::Int(-42)))),
                ("tags".into(), apache_avro::types::Value::Array(vec![apache_avro::types::Value::String("x".into())])),
                ("kind".into(), apache_avro::types::Value::Enum(1, "B".into())),
                (
                    "attrs".into(),
                    apache_avro::types::Value::Map([("a".to_string(), apache_avro::types::Value::Long(300))].into()),
                ),
                ("raw".into(), apache_avro::types::Value::Bytes(vec![0, 255])),
                ("when".into(), apache_avro::types::Value::TimestampMillis(-1)),
                ("next".into(), apache_avro::types::Value::Union(0, Box::new(apache_avro::types::Value::Null))),
            ]);
            apache_avro::to_avro_datum(&s.schema, value).expect("apache-avro encodes")
        };
        let ours = s
            .encode(&json!({"name":"ann","age":{"int":-42},"tags":["x"],"kind":"B","attrs":{"a":300},"raw":"\u{0}\u{ff}","when":-1,"next":null}))
            .expect("encodes");
        assert_eq!(ours, reference);
        // Defaults fill what is missing.
        let bytes = s.encode(&json!({"name":"cy"})).expect("defaults");
        let back = s.decode(&bytes).expect("decodes");
        assert_eq!(back["age"], Json::Null);
        assert_eq!(back["kind"], "A");
    }

    #[test]
    fn misfits_name_the_field() {
        let s = AvroSchema::parse(USER, &[]).expect("schema");
        let e = s.encode(&json!({"name":"ann","age":{"int":"old"}})).expect_err("bad");
        assert!(e.contains("field 'age'"), "{e}");
        let e = s.encode(&json!({"age":null})).expect_err("missing");
        assert!(e.contains("'name'"), "{e}");
        let e = s.encode(&json!({"name":"x","kind":"C"})).expect_err("symbol");
        assert!(e.contains("field 'kind'"), "{e}");
        assert!(AvroSchema::parse(r#"{"type":"record"}"#, &[]).is_err());
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;
    use apache_avro::types::Value as Avro;
    use serde_json::json;

    const NODE: &str = r#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}"#;

    #[test]
    fn lists_nest_to_the_limit_and_no_deeper() {
        let s = AvroSchema::parse(NODE, &[]).expect("schema");
        // Each node is two JSON levels (the record and its union branch).
        let list = |n: usize| [vec![2u8; n], vec![0]].concat();
        let ok = s.decode(&list(crate::limits::MAX_DEPTH / 2 - 1)).expect("within the limit");
        assert!(ok["next"]["Node"]["next"].is_object());
        for n in [crate::limits::MAX_DEPTH / 2 + 1, 400, 100_000] {
            let e = s.decode(&list(n)).expect_err("too deep");
            assert!(e.contains("nested deeper than"), "{e}");
        }
    }

    #[test]
    fn output_is_bounded() {
        let s = AvroSchema::parse(r#"{"type":"array","items":"null"}"#, &[]).expect("schema");
        // 20 M nulls claimed in 5 bytes: refused before any work.
        let mut claim = Vec::new();
        zigzag(20_000_000, &mut claim);
        claim.push(0);
        let e = s.decode(&claim).expect_err("expands");
        assert!(e.contains("renders to more than"), "{e}");
        // Strings count too.
        let s = AvroSchema::parse(r#""string""#, &[]).expect("schema");
        let mut long = Vec::new();
        zigzag(100, &mut long);
        long.extend_from_slice(&[b'a'; 100]);
        assert!(s.decode_to_json_text(&long, 50).is_err());
        assert_eq!(s.decode_to_json_text(&long, 200).expect("fits").len(), 102);
        // Forged lengths and counts are errors, not allocations.
        assert!(s.decode(&[0x80, 0x80, 0x80, 0x80, 0x08]).is_err());
        assert!(s.decode(&[0x01]).is_err(), "negative length");
    }

    #[test]
    fn decodes_what_apache_avro_writes() {
        let schema = r#"{"type":"record","name":"R","fields":[
            {"name":"m","type":{"type":"map","values":"int"}},
            {"name":"a","type":{"type":"array","items":["null","string"]}},
            {"name":"d","type":{"type":"fixed","name":"F","size":2,"logicalType":"decimal","precision":4,"scale":2}},
            {"name":"u","type":{"type":"string","logicalType":"uuid"}},
            {"name":"f","type":"float"},{"name":"x","type":"double"},{"name":"b","type":"boolean"},
            {"name":"e","type":{"type":"enum","name":"E","symbols":["P","Q"]}},
            {"name":"t","type":{"type":"long","logicalType":"timestamp-micros"}}]}"#;
        let s = AvroSchema::parse(schema, &[]).expect("schema");
        let value = Avro::Record(vec![
            ("m".into(), Avro::Map([("k".to_string(), Avro::Int(-3))].into())),
            (
                "a".into(),
                Avro::Array(vec![
                    Avro::Union(1, Box::new(Avro::String("é\"".into()))),
                    Avro::Union(0, Box::new(Avro::Null)),
                ]),
            ),
            ("d".into(), Avro::Decimal(apache_avro::Decimal::from(vec![0x01, 0xff]))),
            ("u".into(), Avro::Uuid(uuid::Uuid::from_u128(0x1234))),
            ("f".into(), Avro::Float(1.5)),
            ("x".into(), Avro::Double(-2.25)),
            ("b".into(), Avro::Boolean(true)),
            ("e".into(), Avro::Enum(1, "Q".into())),
            ("t".into(), Avro::TimestampMicros(1_700_000_000_000_000)),
        ]);
        let bytes = apache_avro::to_avro_datum(&s.schema, value).expect("apache-avro writes");
        let got = s.decode(&bytes).expect("decodes");
        assert_eq!(
            got,
            json!({"m": {"k": -3}, "a": [{"string": "é\""}, null], "d": "\u{1}\u{ff}",
                   "u": "00000000-0000-0000-0000-000000001234", "f": 1.5, "x": -2.25, "b": true,
                   "e": "Q", "t": 1_700_000_000_000_000i64})
        );
        // And back: what we write from that JSON is what apache-avro wrote.
        assert_eq!(s.encode(&got).expect("encodes"), bytes);
    }
}

#[cfg(test)]
mod reference_tests {
    use super::*;

    #[test]
    fn a_named_type_from_a_referenced_schema_resolves() {
        let address =
            r#"{"type":"record","name":"Address","namespace":"kre.ref","fields":[{"name":"city","type":"string"}]}"#;
        let person = r#"{"type":"record","name":"Person","namespace":"kre.ref","fields":[{"name":"name","type":"string"},{"name":"home","type":"kre.ref.Address"}]}"#;
        let s = AvroSchema::parse(person, &[address.to_owned()]).expect("resolves");
        let v = serde_json::json!({"name": "x", "home": {"city": "Oslo"}});
        assert_eq!(s.decode(&s.encode(&v).expect("encodes")).expect("decodes"), v);
    }
}
