//! Embedded data formats: how keys and values in REST bodies become record bytes.
//! binary (base64), json (the JSON text), string (UTF-8). The Schema Registry formats
//! (avro, protobuf, jsonschema) plug in here later.

use base64::Engine;
use bytes::Bytes;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Binary,
    Json,
    String,
    Avro,
    Protobuf,
    JsonSchema,
}

impl Format {
    pub fn needs_schema_registry(self) -> bool {
        matches!(self, Format::Avro | Format::Protobuf | Format::JsonSchema)
    }

    /// The v2 name (a consumer's `format`, the `vnd.kafka.<name>.v2` media types).
    pub fn v2_name(self) -> &'static str {
        match self {
            Format::Binary => "binary",
            Format::Json => "json",
            Format::String => "string",
            Format::Avro => "avro",
            Format::Protobuf => "protobuf",
            Format::JsonSchema => "jsonschema",
        }
    }

    /// The format a v2 name stands for.
    pub fn from_v2_name(name: &str) -> Option<Format> {
        [Format::Binary, Format::Json, Format::String, Format::Avro, Format::Protobuf, Format::JsonSchema]
            .into_iter()
            .find(|f| f.v2_name() == name)
    }

    /// The v3 `type` name.
    pub fn v3_name(self) -> &'static str {
        match self {
            Format::Binary => "BINARY",
            Format::Json => "JSON",
            Format::String => "STRING",
            Format::Avro => "AVRO",
            Format::Protobuf => "PROTOBUF",
            Format::JsonSchema => "JSONSCHEMA",
        }
    }

    pub fn from_v3_name(name: &str) -> Option<Format> {
        Some(match name {
            "BINARY" => Format::Binary,
            "JSON" => Format::Json,
            "STRING" => Format::String,
            "AVRO" => Format::Avro,
            "PROTOBUF" => Format::Protobuf,
            "JSONSCHEMA" => Format::JsonSchema,
            _ => return None,
        })
    }

    /// The embedded format of a v2 request Content-Type; less specific types mean binary.
    pub fn from_v2_content_type(media: &str) -> Option<Format> {
        Some(match media {
            "application/vnd.kafka.binary.v2+json"
            | "application/vnd.kafka.v2+json"
            | "application/vnd.kafka+json"
            | "application/json"
            | "application/octet-stream" => Format::Binary,
            "application/vnd.kafka.json.v2+json" => Format::Json,
            "application/vnd.kafka.avro.v2+json" => Format::Avro,
            "application/vnd.kafka.protobuf.v2+json" => Format::Protobuf,
            "application/vnd.kafka.jsonschema.v2+json" => Format::JsonSchema,
            _ => return None,
        })
    }
}

/// Record bytes for `data` in `format` (binary/json/string); `null` is no bytes (a tombstone value).
pub fn encode(format: Format, data: &Value, what: &str) -> Result<Option<Bytes>, String> {
    if data.is_null() {
        return Ok(None);
    }
    match format {
        Format::Binary => match data {
            Value::String(s) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(|b| Some(Bytes::from(b)))
                .map_err(|e| format!("{what} is not valid base64: {e}")),
            other => Err(format!("{what} must be a base64 string, not {}", kind(other))),
        },
        Format::Json => serde_json::to_vec(data).map(|b| Some(Bytes::from(b))).map_err(|e| e.to_string()),
        Format::String => match data {
            Value::String(s) => Ok(Some(Bytes::from(s.clone().into_bytes()))),
            other => Err(format!("{what} must be a string for type STRING, not {}", kind(other))),
        },
        f => Err(format!(
            "{what}: the {} format needs Schema Registry, which this proxy does not support yet",
            f.v3_name()
        )),
    }
}

/// Like [`encode`], from the unparsed JSON text of the data: binary and string data are decoded
/// straight from the request's bytes (the streaming produce path's hot spot).
pub fn encode_raw(
    format: Format,
    data: Option<&serde_json::value::RawValue>,
    what: &str,
) -> Result<Option<Bytes>, String> {
    let Some(raw) = data else { return Ok(None) };
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    match format {
        Format::Binary | Format::String if text.starts_with('"') => {
            let s: std::borrow::Cow<'_, str> = serde_json::from_str(text).map_err(|e| format!("{what}: {e}"))?;
            if format == Format::String {
                return Ok(Some(Bytes::from(s.into_owned().into_bytes())));
            }
            base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map(|b| Some(Bytes::from(b)))
                .map_err(|e| format!("{what} is not valid base64: {e}"))
        }
        _ => {
            let value: Value = serde_json::from_str(text).map_err(|e| format!("{what}: {e}"))?;
            encode(format, &value, what)
        }
    }
}

/// Header values travel base64-encoded.
pub fn header_value(value: &Option<String>, name: &str) -> Result<Option<Bytes>, String> {
    match value {
        None => Ok(None),
        Some(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(|b| Some(Bytes::from(b)))
            .map_err(|e| format!("header '{name}' value is not valid base64: {e}")),
    }
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_each_format() {
        assert_eq!(encode(Format::Binary, &json!("a2V5"), "key"), Ok(Some(Bytes::from_static(b"key"))));
        assert_eq!(encode(Format::Binary, &json!(null), "key"), Ok(None));
        assert!(encode(Format::Binary, &json!("@@"), "key").expect_err("bad").contains("base64"));
        assert!(encode(Format::Binary, &json!(5), "key").expect_err("bad").contains("number"));
        assert_eq!(encode(Format::Json, &json!({"a": [1]}), "v"), Ok(Some(Bytes::from_static(b"{\"a\":[1]}"))));
        assert_eq!(encode(Format::String, &json!("hé"), "v"), Ok(Some(Bytes::from("hé".as_bytes().to_vec()))));
        assert!(encode(Format::String, &json!(1), "v").is_err());
        assert!(encode(Format::Avro, &json!(1), "v").expect_err("sr").contains("Schema Registry"));
    }

    #[test]
    fn v2_content_types() {
        assert_eq!(Format::from_v2_content_type("application/vnd.kafka.json.v2+json"), Some(Format::Json));
        assert_eq!(Format::from_v2_content_type("application/json"), Some(Format::Binary));
        assert_eq!(Format::from_v2_content_type("text/plain"), None);
    }
}
