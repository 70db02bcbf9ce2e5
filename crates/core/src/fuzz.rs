//! Fuzz entry points: every parser that reads bytes from outside — broker frames, the streamed
//! JSON splitter, the route table, Accept negotiation, RFC 3339 times, the Schema Registry's
//! HTTP answers, schema-bound records (wire format + Avro), SCRAM server messages. Each takes arbitrary
//! bytes and must return (an error is fine), never panic or hang. `fuzz/` runs them under
//! libFuzzer (`make fuzz`); the proptests run the same functions on every `make test`.

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiVersionsRequest, ConsumerGroupHeartbeatRequest, FetchRequest, MetadataRequest, ProduceRequest,
};

use crate::http::json_stream::{Item, Splitter};

/// A response frame body from a broker, decoded as the answers the client reads most.
pub fn frame(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else { return };
    let mut b = Bytes::copy_from_slice(body);
    let _ = match selector % 5 {
        0 => crate::kafka::connection::decode_response::<ApiVersionsRequest>(&mut b, 3, 1).map(drop),
        1 => crate::kafka::connection::decode_response::<MetadataRequest>(&mut b, 12, 1).map(drop),
        2 => crate::kafka::connection::decode_response::<FetchRequest>(&mut b, 16, 1).map(drop),
        3 => crate::kafka::connection::decode_response::<ProduceRequest>(&mut b, 11, 1).map(drop),
        _ => crate::kafka::connection::decode_response::<ConsumerGroupHeartbeatRequest>(&mut b, 0, 1).map(drop),
    };
    // Record batches inside fetch answers: the codec path (all compressions).
    let _ = crate::kafka::compression::decode_batches(Bytes::copy_from_slice(body));
}

/// The streamed-produce splitter, fed in chunks cut where the first byte says; every value it
/// yields is at most the limit and the bytes it yields come from the input.
pub fn json_stream(data: &[u8]) {
    let Some((&cut, body)) = data.split_first() else { return };
    let step = usize::from(cut).max(1);
    let mut s = Splitter::new(64);
    let mut total = 0;
    for chunk in body.chunks(step) {
        for item in s.push(chunk) {
            if let Item::Value(v) = item {
                assert!(v.len() <= 64, "value over the limit");
                total += v.len();
            }
        }
        assert!(s.buffered() <= body.len());
    }
    if let Some(Item::Value(v)) = s.finish() {
        total += v.len();
    }
    assert!(total <= body.len(), "more bytes out than in");
}

/// Method (first byte) and path (the rest) through the route table: a route or a 400/404/405.
pub fn route(data: &[u8]) {
    let Some((&m, path)) = data.split_first() else { return };
    let method = [
        http::Method::GET,
        http::Method::POST,
        http::Method::PUT,
        http::Method::DELETE,
        http::Method::PATCH,
        http::Method::HEAD,
    ][usize::from(m) % 6]
        .clone();
    let path = String::from_utf8_lossy(path);
    if let Err(e) = crate::http::router::route(&method, &path) {
        assert!(matches!(e.status().as_u16(), 400 | 404 | 405), "{e}");
    }
    let _ = crate::percent::percent_decode(&path);
}

/// An Accept header against both APIs' offers: a type offered, or 406.
pub fn negotiate(data: &[u8]) {
    use crate::http::negotiate::{V2_OFFERS, V3_OFFERS, negotiate};
    let accept = String::from_utf8_lossy(data);
    for offers in [V2_OFFERS, V3_OFFERS] {
        match negotiate(Some(&accept), offers) {
            Ok(t) => assert!(offers.iter().any(|o| o.media == t)),
            Err(e) => assert_eq!(e.status().as_u16(), 406),
        }
    }
}

/// RFC 3339 parsing; what parses formats back to a time that parses to the same instant.
pub fn rfc3339(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(ms) = crate::time::parse_ms(&text)
        && (0..253_402_300_800_000).contains(&ms)
    {
        assert_eq!(crate::time::parse_ms(&crate::time::format_ms(ms)), Some(ms), "{text}");
    }
}

/// A Schema Registry answer as the HTTP client reads it, delivered in pieces the first byte sets.
pub fn registry_answer(data: &[u8]) {
    use futures::FutureExt;
    let Some((&step, answer)) = data.split_first() else { return };
    let mut peer = crate::registry::http1::Replay::new(answer, usize::from(step));
    let done = crate::registry::http1::exchange(&mut peer, "GET", "h", "/", &[], None).now_or_never();
    // The peer is always ready: the exchange ends (answer or error) without waiting.
    assert!(done.is_some(), "the HTTP client waited on a peer that had nothing more to say");
}

/// A record's bytes under an avro consumer: the wire-format header, then Avro decoding.
pub fn avro_record(data: &[u8]) {
    thread_local! {
        static SCHEMA: Option<crate::registry::avro::AvroSchema> = crate::registry::avro::AvroSchema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"s","type":"string"},
                {"name":"u","type":["null","long",{"type":"array","items":"R"}]},
                {"name":"m","type":{"type":"map","values":"bytes"}},
                {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
                {"name":"f","type":{"type":"fixed","name":"F","size":3}},{"name":"d","type":"double"}]}"#,
            &[],
        )
        .ok();
    }
    let payload = crate::registry::unframe(data).map(|(_, p)| p).unwrap_or(data);
    SCHEMA.with(|s| {
        if let Some(s) = s
            && let Ok(json) = s.decode(payload)
        {
            // What decodes and encodes again decodes to the same JSON (a NaN renders as null,
            // which does not encode: that is the one way back that may fail).
            if let Ok(again) = s.encode(&json) {
                assert_eq!(s.decode(&again).ok(), Some(json));
            }
        }
    });
}

/// A record's bytes under a protobuf consumer: the wire-format header, the message-index
/// path, then Protobuf decoding; what decodes encodes and decodes again to the same JSON.
pub fn protobuf_record(data: &[u8]) {
    thread_local! {
        static SCHEMA: Option<crate::registry::protobuf::ProtoSchema> = crate::registry::protobuf::ProtoSchema::parse(
            r#"syntax = "proto3"; package f; import "google/protobuf/timestamp.proto";
               message R { string s = 1; sint64 z = 2; repeated R kids = 3; map<string, bytes> m = 4;
                 oneof o { double d = 5; E e = 6; } google.protobuf.Timestamp t = 7; fixed32 x = 8;
                 message N { optional bool b = 1; } N n = 9; }
               enum E { A = 0; B = 1; }"#,
            &[],
        )
        .ok();
    }
    let payload = crate::registry::unframe(data).map(|(_, p)| p).unwrap_or(data);
    SCHEMA.with(|s| {
        if let Some(s) = s
            && let Ok(json) = s.decode(payload)
            && payload.first() == Some(&0)
            && let Ok(again) = s.encode(&json)
        {
            // Only records of the first message (path [0]) encode back with the same path.
            assert_eq!(s.decode(&again).ok(), Some(json));
        }
    });
}

/// A JSON Schema and an instance (split at the first 0 byte): parsing and validating end,
/// without a panic, within the step budget.
pub fn json_schema(data: &[u8]) {
    let (schema, instance) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"null"[..]),
    };
    let (Ok(schema), Ok(instance)) = (std::str::from_utf8(schema), serde_json::from_slice(instance)) else {
        return;
    };
    if let Ok(s) = crate::registry::json_schema::JsonSchema::parse(schema, &[]) {
        let _ = s.validate(&instance);
    }
}

/// SCRAM server messages (see `kafka::sasl::fuzz_scram`).
pub fn scram(data: &[u8]) {
    crate::kafka::sasl::fuzz_scram(data);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// The seeds `make fuzz` starts from must pass as they are.
    #[test]
    fn seeds_pass() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 10] = [
            ("frame", super::frame),
            ("json_stream", super::json_stream),
            ("route", super::route),
            ("negotiate", super::negotiate),
            ("rfc3339", super::rfc3339),
            ("registry_answer", super::registry_answer),
            ("avro_record", super::avro_record),
            ("protobuf_record", super::protobuf_record),
            ("json_schema", super::json_schema),
            ("scram", super::scram),
        ];
        // Inputs that once crashed a target (fuzz/known/) pass too.
        let known = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/known");
        for entry in std::fs::read_dir(&known).expect("fuzz/known").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((_, target)) =
                name.strip_suffix(".bin").and_then(|n| targets.iter().find(|(t, _)| n.starts_with(t)))
            {
                target(&std::fs::read(entry.path()).unwrap_or_default());
            }
        }
        for (name, target) in targets {
            let dir = root.join(name);
            let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            for entry in entries.flatten() {
                target(&std::fs::read(entry.path()).unwrap_or_default());
            }
        }
    }

    proptest! {
        // The fuzz targets on every `make test` (no coverage guidance; `make fuzz` has it).
        #[test]
        fn targets_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            super::frame(&data);
            super::json_stream(&data);
            super::route(&data);
            super::negotiate(&data);
            super::rfc3339(&data);
            super::registry_answer(&data);
            super::avro_record(&data);
            super::protobuf_record(&data);
            super::json_schema(&data);
            super::scram(&data);
        }
    }
}
