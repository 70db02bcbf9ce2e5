//! The Schema Registry client (Confluent's REST API: <https://docs.confluent.io/platform/current/schema-registry/develop/api.html>),
//! over the same sockets as Kafka ([`http1`]). Schemas by id never change, so they are cached
//! in instance memory without expiry (bounded); registrations are cached briefly.
//!
//! Failures: unreachable, timed out or 5xx → [`Error::Unavailable`] (408/40801); a 4xx (unknown
//! subject or id, a schema it rejects) → [`Error::Refused`] with the registry's own message.

pub mod avro;
pub mod http1;
pub mod json_schema;
pub mod protobuf;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use crate::kafka::resolve::{HostMap, resolve};
use crate::kafka::tls::BrokerStream;
use crate::kafka::tls::{Failure, Tls, TlsOptions};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime, with_deadline};
use http1::BaseUrl;

/// Schemas kept per instance; beyond this the cache starts over (ids are cheap to fetch again).
const MAX_CACHED: usize = 1000;
/// How long a subject's registration answer is reused.
const REGISTERED_TTL_MS: u64 = 30_000;

#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    #[error("Schema Registry unavailable: {0}")]
    Unavailable(String),
    #[error("Schema Registry: {message}")]
    Refused { status: u16, code: Option<i64>, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("no Schema Registry configured: set schema_registry_url to use the {0} format")]
    NotConfigured(&'static str),
}

/// The schema formats the registry knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Avro,
    Protobuf,
    Json,
}

impl Kind {
    pub fn registry_name(self) -> &'static str {
        match self {
            Kind::Avro => "AVRO",
            Kind::Protobuf => "PROTOBUF",
            Kind::Json => "JSON",
        }
    }

    /// The kind of an embedded format (None: the format has no schema).
    pub fn of(format: crate::formats::Format) -> Option<Kind> {
        use crate::formats::Format;
        match format {
            Format::Avro => Some(Kind::Avro),
            Format::Protobuf => Some(Kind::Protobuf),
            Format::JsonSchema => Some(Kind::Json),
            _ => None,
        }
    }

    /// The embedded format of this kind (its v2 and v3 names).
    pub fn format(self) -> crate::formats::Format {
        use crate::formats::Format;
        match self {
            Kind::Avro => Format::Avro,
            Kind::Protobuf => Format::Protobuf,
            Kind::Json => Format::JsonSchema,
        }
    }

    /// How errors name the format.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Avro => "Avro",
            Kind::Protobuf => "Protobuf",
            Kind::Json => "JSON Schema",
        }
    }
}

/// A parsed schema of one of the three kinds.
pub enum Codec {
    Avro(avro::AvroSchema),
    Protobuf(protobuf::ProtoSchema),
    Json(json_schema::JsonSchema),
}

/// A schema as registered, parsed for use.
pub struct Schema {
    pub id: i32,
    pub kind: Kind,
    pub codec: Codec,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Schema({}, {:?})", self.id, self.kind)
    }
}

impl Schema {
    /// Parses `text` of `kind` (Err: the schema is invalid, 42205).
    pub fn parse(id: i32, kind: Kind, text: &str) -> Result<Schema, Error> {
        Schema::parse_with(id, kind, text, &[])
    }

    /// Like [`Schema::parse`], with the schemas it references as `(reference name, text)`,
    /// dependencies first (Avro named types from other subjects, Protobuf imports, JSON `$ref`s).
    pub fn parse_with(id: i32, kind: Kind, text: &str, references: &[(String, String)]) -> Result<Schema, Error> {
        let invalid = |e: String| Error::Invalid(format!("Invalid {} schema: {e}", kind.title()));
        let codec = match kind {
            Kind::Avro => {
                let texts: Vec<String> = references.iter().map(|(_, t)| t.clone()).collect();
                Codec::Avro(avro::AvroSchema::parse(text, &texts).map_err(invalid)?)
            }
            Kind::Protobuf => Codec::Protobuf(protobuf::ProtoSchema::parse(text, references).map_err(invalid)?),
            Kind::Json => Codec::Json(json_schema::JsonSchema::parse(text, references).map_err(invalid)?),
        };
        Ok(Schema { id, kind, codec })
    }

    /// Err when this schema is not of `kind` (a format's request naming a schema of another).
    pub fn expect(&self, kind: Kind) -> Result<(), String> {
        if self.kind == kind {
            return Ok(());
        }
        Err(format!("schema id {} is a {} schema, not {}", self.id, self.kind.title(), kind.title()))
    }

    /// A record's bytes for `json` in Confluent's wire format; Err says what does not fit.
    pub fn encode(&self, json: &Value) -> Result<Vec<u8>, String> {
        let payload = match &self.codec {
            Codec::Avro(a) => a.encode(json)?,
            Codec::Protobuf(p) => p.encode(json)?,
            Codec::Json(j) => {
                j.validate(json)?;
                serde_json::to_vec(json).map_err(|e| e.to_string())?
            }
        };
        Ok(frame(self.id, &payload))
    }

    /// The JSON of a record's payload (what follows the magic byte and schema id).
    pub fn decode(&self, payload: &[u8]) -> Result<Value, String> {
        let text = self.decode_to_json_text(payload, crate::limits::expansion_limit(payload.len()))?;
        serde_json::from_slice(&text).map_err(|e| e.to_string())
    }

    /// Like [`Schema::decode`], as JSON text of at most `limit` bytes (Avro and Protobuf
    /// render more than they read; past `limit` is an error naming it). JSON Schema data is
    /// checked and kept as it is.
    pub fn decode_to_json_text(&self, payload: &[u8], limit: usize) -> Result<Vec<u8>, String> {
        match &self.codec {
            Codec::Avro(a) => a.decode_to_json_text(payload, limit),
            Codec::Protobuf(p) => p.decode_to_json_text(payload, limit),
            Codec::Json(_) => serde_json::from_slice::<serde::de::IgnoredAny>(payload)
                .map(|_| payload.to_vec())
                .map_err(|e| format!("not JSON: {e}")),
        }
    }

    /// The record name subject strategies use: Avro's full name, the first Protobuf message's
    /// full name, a JSON Schema's title.
    pub fn record_name(&self) -> Option<String> {
        match &self.codec {
            Codec::Avro(a) => a.full_name(),
            Codec::Protobuf(p) => Some(p.name().to_owned()),
            Codec::Json(j) => j.name().map(str::to_owned),
        }
    }
}

pub struct Registry<C: Connect, R: Runtime> {
    connect: C,
    rt: R,
    url: BaseUrl,
    host_map: HostMap,
    /// `Basic …` from `schema_registry_basic_auth`.
    auth: Option<crate::secret::Secret>,
    timeout_ms: u64,
    tls: Option<Arc<Tls>>,
    by_id: RefCell<HashMap<i32, Rc<Schema>>>,
    registered: RefCell<HashMap<(String, String), (i32, u64)>>,
}

impl<C: Connect, R: Runtime> Registry<C, R> {
    pub fn new(
        connect: C,
        rt: R,
        url: &str,
        basic_auth: Option<&crate::secret::Secret>,
        timeout_ms: u64,
        host_map: HostMap,
    ) -> Result<Self, String> {
        let url = BaseUrl::parse(url).map_err(|e| format!("schema_registry_url: {e}"))?;
        let tls = if url.tls { Some(Arc::new(Tls::new(&TlsOptions::default())?)) } else { None };
        let auth = basic_auth.map(|a| {
            crate::secret::Secret::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(a.expose())
            ))
        });
        Ok(Registry {
            connect,
            rt,
            url,
            host_map,
            auth,
            timeout_ms,
            tls,
            by_id: RefCell::default(),
            registered: RefCell::default(),
        })
    }

    /// The schema with this id (cached for good once fetched).
    pub async fn by_id(&self, id: i32, deadline: Deadline) -> Result<Rc<Schema>, Error> {
        if let Some(s) = self.by_id.borrow().get(&id) {
            return Ok(s.clone());
        }
        let answer = self.call("GET", &format!("/schemas/ids/{id}"), None, deadline).await?;
        self.parse_answer(id, &answer, deadline).await
    }

    /// A registry answer carrying a schema (`schema`, `schemaType`, `references`), parsed with
    /// what it references and cached under `id`.
    async fn parse_answer(&self, id: i32, answer: &Value, deadline: Deadline) -> Result<Rc<Schema>, Error> {
        let text = answer["schema"].as_str().ok_or_else(|| Error::Unavailable("answer without a schema".into()))?;
        let kind = match answer["schemaType"].as_str().unwrap_or("AVRO") {
            "PROTOBUF" => Kind::Protobuf,
            "JSON" => Kind::Json,
            _ => Kind::Avro,
        };
        let references = self.references(answer, deadline).await?;
        let schema = Rc::new(Schema::parse_with(id, kind, text, &references)?);
        self.remember(schema.clone());
        Ok(schema)
    }

    /// The schemas an answer's `references` name (each a subject's version) as `(name, text)`,
    /// theirs first, depth-first; a cycle or a chain deeper than 16 is refused.
    async fn references(&self, answer: &Value, deadline: Deadline) -> Result<Vec<(String, String)>, Error> {
        let mut pending: Vec<(Value, usize)> = vec![(answer.clone(), 0)];
        let mut seen = std::collections::HashSet::new();
        // Each answer's references are fetched, and theirs before them (a stack of answers).
        let mut ordered: Vec<(String, String)> = Vec::new();
        while let Some((a, depth)) = pending.pop() {
            let Some(refs) = a["references"].as_array() else { continue };
            if depth >= 16 {
                return Err(Error::Invalid("schema references nest deeper than 16".into()));
            }
            for r in refs {
                let (Some(subject), Some(version)) = (r["subject"].as_str(), r["version"].as_i64()) else {
                    return Err(Error::Invalid(format!("malformed schema reference {r}")));
                };
                if !seen.insert((subject.to_owned(), version)) {
                    continue;
                }
                let path = format!("/subjects/{}/versions/{version}", crate::percent::encode_segment(subject));
                let referenced = self.call("GET", &path, None, deadline).await?;
                if let Some(t) = referenced["schema"].as_str() {
                    let name = r["name"].as_str().unwrap_or(subject);
                    ordered.push((name.to_owned(), t.to_owned()));
                }
                pending.push((referenced, depth + 1));
            }
        }
        // Deepest dependencies were found last: they go first.
        ordered.reverse();
        Ok(ordered)
    }

    /// Version `version` (None: the latest) of `subject`, with its version number.
    pub async fn by_subject(
        &self,
        subject: &str,
        version: Option<i64>,
        deadline: Deadline,
    ) -> Result<(Rc<Schema>, i32), Error> {
        let v = version.map_or_else(|| "latest".to_owned(), |v| v.to_string());
        let path = format!("/subjects/{}/versions/{v}", crate::percent::encode_segment(subject));
        let answer = self.call("GET", &path, None, deadline).await?;
        let id = answer["id"].as_i64().and_then(|i| i32::try_from(i).ok());
        let number = answer["version"].as_i64().and_then(|i| i32::try_from(i).ok());
        let (Some(id), Some(number)) = (id, number) else {
            return Err(Error::Unavailable(format!("'{subject}' version {v} answered without id and version")));
        };
        if let Some(s) = self.by_id.borrow().get(&id) {
            return Ok((s.clone(), number));
        }
        Ok((self.parse_answer(id, &answer, deadline).await?, number))
    }

    /// Registers `text` under `subject` (or finds it there) and returns the parsed schema.
    pub async fn register(
        &self,
        subject: &str,
        kind: Kind,
        text: &str,
        deadline: Deadline,
    ) -> Result<Rc<Schema>, Error> {
        // Invalid schemas are refused before the registry is asked.
        let parsed = Schema::parse(0, kind, text)?;
        let key = (subject.to_owned(), text.to_owned());
        let now = self.rt.monotonic_ms();
        let cached = self
            .registered
            .borrow()
            .get(&key)
            .filter(|(_, at)| now.saturating_sub(*at) < REGISTERED_TTL_MS)
            .map(|(id, _)| *id);
        let id = match cached {
            Some(id) => id,
            None => {
                let mut body = json!({"schema": text});
                if kind != Kind::Avro {
                    body["schemaType"] = json!(kind.registry_name());
                }
                let path = format!("/subjects/{}/versions", crate::percent::encode_segment(subject));
                let answer = self.call("POST", &path, Some(body.to_string().into_bytes()), deadline).await?;
                let id = answer["id"].as_i64().and_then(|i| i32::try_from(i).ok()).ok_or_else(|| {
                    Error::Unavailable(format!("registration of '{subject}' answered without an id: {answer}"))
                })?;
                self.registered.borrow_mut().insert(key, (id, now));
                id
            }
        };
        // The schema just parsed (not a cached one under this id): a development registry that
        // restarted empty hands out ids again, and what we encode must be what we registered.
        let schema = Rc::new(Schema { id, ..parsed });
        self.remember(schema.clone());
        Ok(schema)
    }

    fn remember(&self, schema: Rc<Schema>) {
        let mut cache = self.by_id.borrow_mut();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(schema.id, schema);
    }

    /// One request within the registry's own timeout and the request's deadline.
    async fn call(&self, method: &str, path: &str, body: Option<Vec<u8>>, deadline: Deadline) -> Result<Value, Error> {
        let within = deadline.min_with(&self.rt, self.timeout_ms);
        let target = format!("{}{path}", self.url.path);
        let fut = async {
            let addr = resolve(&self.connect, &self.host_map, &self.url.host, self.url.port)
                .await
                .map_err(|e| Error::Unavailable(e.to_string()))?;
            let unreachable =
                |e: std::io::Error| Error::Unavailable(format!("{}:{}: {e}", self.url.host, self.url.port));
            let mut stream = match &self.tls {
                None => BrokerStream::Plain(self.connect.connect(addr).await.map_err(unreachable)?),
                Some(tls) => BrokerStream::Tls(Box::new(
                    tls.connect(|| self.connect.connect(addr), &self.url.host).await.map_err(|e| match e {
                        Failure::Connect(e) | Failure::Tls(e) => unreachable(e),
                    })?,
                )),
            };
            let mut headers = vec![];
            let auth;
            if let Some(a) = &self.auth {
                auth = a.expose().to_owned();
                headers.push(("Authorization", auth.as_str()));
            }
            if body.is_some() {
                headers.push(("Content-Type", "application/vnd.schemaregistry.v1+json"));
            }
            http1::exchange(&mut stream, method, &self.url.host, &target, &headers, body.as_deref())
                .await
                .map_err(unreachable)
        };
        let (status, bytes) = with_deadline(&self.rt, within, fut)
            .await
            .unwrap_or_else(|| Err(Error::Unavailable(format!("no answer within {} ms", within.budget_ms()))))?;
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        match status {
            200..=299 => Ok(answer),
            400..=499 => Err(Error::Refused {
                status,
                code: answer["error_code"].as_i64(),
                message: answer["message"].as_str().map(str::to_owned).unwrap_or_else(|| format!("HTTP {status}")),
            }),
            _ => Err(Error::Unavailable(format!(
                "HTTP {status}: {}",
                answer["message"].as_str().unwrap_or("no message")
            ))),
        }
    }
}

/// Confluent's wire format: magic byte 0, the schema id (4 bytes, big-endian), the payload.
pub fn frame(id: i32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(0);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The schema id and payload of a record in Confluent's wire format.
pub fn unframe(bytes: &[u8]) -> Result<(i32, &[u8]), String> {
    match bytes {
        [0, a, b, c, d, rest @ ..] => Ok((i32::from_be_bytes([*a, *b, *c, *d]), rest)),
        [m, ..] => Err(format!("Unknown magic byte {m} (not Confluent's wire format)")),
        [] => Err("Unknown magic byte: the record is empty".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_round_trips() {
        let f = frame(258, b"payload");
        assert_eq!(&f[..5], &[0, 0, 0, 1, 2]);
        assert_eq!(unframe(&f).expect("ok"), (258, &b"payload"[..]));
        assert!(unframe(&[1, 0, 0, 0, 1]).expect_err("magic").contains("magic"));
        assert!(unframe(&[0, 0]).is_err());
        assert!(unframe(&[]).is_err());
    }
}
