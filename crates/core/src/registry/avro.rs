//! Avro with a schema from the registry (<https://avro.apache.org/docs/1.11.1/specification/>):
//! record bodies are Avro's JSON encoding — as Confluent's proxy reads and writes them (unions
//! as `{"<branch>": value}` or `null`, bytes and fixed as strings of code points 0–255) — and
//! go to Kafka as Avro's binary encoding, on apache-avro.

use std::collections::HashMap;

use apache_avro::schema::{Name, Schema};
use apache_avro::types::Value as Avro;
use serde_json::{Map, Value as Json};

/// The most the Avro decoder allocates for one string, bytes value or array.
const MAX_ALLOCATION: usize = 64 << 20;

/// A parsed writer schema with its named types (so `Ref`s resolve).
pub struct AvroSchema {
    schema: Schema,
    /// Schemas of other subjects it references (their named types).
    references: Vec<Schema>,
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
        // A corrupt record's length prefix must not make the decoder allocate gigabytes: no
        // string, bytes or array of one record is larger than a Kafka record can be.
        apache_avro::util::max_allocation_bytes(MAX_ALLOCATION);
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
        Ok(AvroSchema { schema, references: referenced, names })
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
    pub fn decode(&self, mut bytes: &[u8]) -> Result<Json, String> {
        let value = if self.references.is_empty() {
            apache_avro::from_avro_datum(&self.schema, &mut bytes, None)
        } else {
            let schemata: Vec<&Schema> = self.references.iter().collect();
            apache_avro::from_avro_datum_schemata(&self.schema, schemata, &mut bytes, None)
        }
        .map_err(|e| e.to_string())?;
        self.to_json(&self.schema, &value)
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

    fn to_json(&self, schema: &Schema, value: &Avro) -> Result<Json, String> {
        let schema = self.named(schema)?;
        Ok(match (schema, value) {
            (_, Avro::Null) => Json::Null,
            (_, Avro::Boolean(b)) => Json::Bool(*b),
            (_, Avro::Int(i) | Avro::Date(i) | Avro::TimeMillis(i)) => Json::from(*i),
            (
                _,
                Avro::Long(i)
                | Avro::TimeMicros(i)
                | Avro::TimestampMillis(i)
                | Avro::TimestampMicros(i)
                | Avro::TimestampNanos(i)
                | Avro::LocalTimestampMillis(i)
                | Avro::LocalTimestampMicros(i)
                | Avro::LocalTimestampNanos(i),
            ) => Json::from(*i),
            (_, Avro::Float(f)) => Json::from(f64::from(*f)),
            (_, Avro::Double(f)) => Json::from(*f),
            (_, Avro::String(s)) => Json::String(s.clone()),
            (_, Avro::Uuid(u)) => Json::String(u.to_string()),
            (_, Avro::Bytes(b) | Avro::Fixed(_, b)) => Json::String(b.iter().map(|&c| char::from(c)).collect()),
            (_, Avro::Enum(_, s)) => Json::String(s.clone()),
            (Schema::Array(a), Avro::Array(items)) => {
                Json::Array(items.iter().map(|v| self.to_json(&a.items, v)).collect::<Result<_, _>>()?)
            }
            (Schema::Map(m), Avro::Map(entries)) => {
                let mut out = Map::new();
                let mut keys: Vec<_> = entries.keys().collect();
                keys.sort();
                for k in keys {
                    out.insert(k.clone(), self.to_json(&m.types, &entries[k])?);
                }
                Json::Object(out)
            }
            (Schema::Record(r), Avro::Record(fields)) => {
                let mut out = Map::new();
                for ((name, v), f) in fields.iter().zip(&r.fields) {
                    out.insert(name.clone(), self.to_json(&f.schema, v)?);
                }
                Json::Object(out)
            }
            (Schema::Union(u), Avro::Union(i, v)) => {
                let branch = u.variants().get(*i as usize).ok_or("union branch out of range")?;
                if matches!(**v, Avro::Null) {
                    Json::Null
                } else {
                    let mut out = Map::new();
                    out.insert(self.branch_name(branch).unwrap_or_default(), self.to_json(branch, v)?);
                    Json::Object(out)
                }
            }
            (_, Avro::Decimal(d)) => {
                let b: Vec<u8> = d.try_into().map_err(|e: apache_avro::Error| e.to_string())?;
                Json::String(b.iter().map(|&c| char::from(c)).collect())
            }
            (_, other) => return Err(format!("cannot render {other:?} as JSON")),
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
