//! Record batches (v2, <https://kafka.apache.org/documentation/#recordbatch>) with every codec Kafka
//! uses, all pure Rust: gzip and snappy through kafka-protocol, lz4 (LZ4 frame, KIP-57) through
//! lz4_flex, zstd (KIP-110) through ruzstd.

use std::io::{Read, Write};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Decompressor, Gzip, Snappy};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, RecordSet,
};

/// The codec type (kafka-protocol's), re-exported so users need not depend on that crate.
pub type Codec = Compression;

/// Parses a codec name as Kafka's `compression.type` spells it.
pub fn parse(name: &str) -> Result<Compression, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "" | "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "snappy" => Ok(Compression::Snappy),
        "lz4" => Ok(Compression::Lz4),
        "zstd" => Ok(Compression::Zstd),
        other => Err(format!("unknown compression '{other}' (none, gzip, snappy, lz4, zstd)")),
    }
}

fn compress(raw: &mut BytesMut, out: &mut BytesMut, codec: Compression) -> anyhow::Result<()> {
    match codec {
        Compression::None => out.put_slice(raw),
        Compression::Gzip => <Gzip as Compressor<BytesMut>>::compress(out, |b| {
            b.put_slice(raw);
            Ok(())
        })?,
        Compression::Snappy => <Snappy as Compressor<BytesMut>>::compress(out, |b| {
            b.put_slice(raw);
            Ok(())
        })?,
        Compression::Lz4 => {
            // Independent 64 KiB blocks, no content size: what Kafka's KafkaLZ4BlockOutputStream writes.
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, out.writer());
            enc.write_all(raw)?;
            enc.finish().map_err(|e| anyhow::anyhow!("lz4: {e}"))?;
        }
        Compression::Zstd => {
            let compressed = ruzstd::encoding::compress_to_vec(&raw[..], ruzstd::encoding::CompressionLevel::Fastest);
            out.put_slice(&compressed);
        }
    }
    Ok(())
}

fn decompress(data: &mut Bytes, codec: Compression) -> anyhow::Result<Bytes> {
    Ok(match codec {
        Compression::None => data.clone(),
        Compression::Gzip => <Gzip as Decompressor<Bytes>>::decompress(data, |b| Ok(b.clone()))?,
        Compression::Snappy => <Snappy as Decompressor<Bytes>>::decompress(data, |b| Ok(b.clone()))?,
        Compression::Lz4 => {
            let mut out = Vec::new();
            lz4_flex::frame::FrameDecoder::new(&data[..]).read_to_end(&mut out)?;
            Bytes::from(out)
        }
        Compression::Zstd => {
            let mut out = Vec::new();
            ruzstd::decoding::StreamingDecoder::new(&data[..])
                .map_err(|e| anyhow::anyhow!("zstd: {e}"))?
                .read_to_end(&mut out)?;
            Bytes::from(out)
        }
    })
}

/// A plain (non-transactional, non-idempotent) record at `offset` of its batch. kafka-protocol
/// starts a new batch unless offset - sequence stays constant; base sequence -1 (not idempotent)
/// then means sequence = offset - 1.
pub fn plain_record(
    offset: i64,
    timestamp: i64,
    key: Option<bytes::Bytes>,
    value: Option<bytes::Bytes>,
    headers: kafka_protocol::indexmap::IndexMap<kafka_protocol::protocol::StrBytes, Option<bytes::Bytes>>,
) -> Record {
    Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: kafka_protocol::records::TimestampType::Creation,
        offset,
        sequence: offset as i32 - 1,
        timestamp,
        key,
        value,
        headers,
        delete_horizon: false,
    }
}

/// Encodes `records` (non-empty, consecutive offsets from 0) as one v2 batch.
pub fn encode_batch(records: &[Record], codec: Compression) -> Result<Bytes, String> {
    if records.is_empty() {
        return Err("a record batch needs at least one record".into());
    }
    let mut buf = BytesMut::with_capacity(records.iter().map(|r| r.value.as_ref().map_or(0, Bytes::len) + 32).sum());
    RecordBatchEncoder::encode_with_custom_compression(
        &mut buf,
        records,
        &RecordEncodeOptions { version: 2, compression: codec },
        Some(compress),
    )
    .map_err(|e| e.to_string())?;
    Ok(buf.freeze())
}

/// Decodes every batch in `data` (a Fetch response's records), whatever its codec.
pub fn decode_batches(mut data: Bytes) -> Result<Vec<RecordSet>, String> {
    let mut sets = Vec::new();
    while !data.is_empty() {
        // A fetch may end with a partial batch (max_bytes cut it): not an error, just the end.
        if data.len() < 12 {
            break;
        }
        let len = i32::from_be_bytes([data[8], data[9], data[10], data[11]]);
        if len < 0 || data.len() < 12 + len as usize {
            break;
        }
        let mut one = data.split_to(12 + len as usize);
        sets.push(
            RecordBatchDecoder::decode_with_custom_compression(&mut one, Some(decompress))
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(i: i64, key: Option<Vec<u8>>, value: Option<Vec<u8>>, headers: Vec<(String, Option<Vec<u8>>)>) -> Record {
        plain_record(
            i,
            1_700_000_000_000 + i,
            key.map(Bytes::from),
            value.map(Bytes::from),
            headers.into_iter().map(|(k, v)| (k.into(), v.map(Bytes::from))).collect(),
        )
    }

    const CODECS: [Compression; 5] =
        [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn batches_round_trip_with_every_codec(
            rows in proptest::collection::vec(
                (proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                 proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
                 proptest::collection::vec(("[a-z]{1,8}", proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))), 0..3)),
                1..20),
            codec in 0usize..5,
        ) {
            let records: Vec<Record> = rows.into_iter().enumerate()
                .map(|(i, (k, v, h))| record(i as i64, k, v, h)).collect();
            let bytes = encode_batch(&records, CODECS[codec]).expect("encodes");
            let sets = decode_batches(bytes).expect("decodes");
            prop_assert_eq!(sets.len(), 1, "one batch");
            prop_assert_eq!(sets[0].compression, CODECS[codec]);
            prop_assert_eq!(&sets[0].records, &records);
        }
    }

    #[test]
    fn codec_names() {
        assert_eq!(parse("LZ4"), Ok(Compression::Lz4));
        assert_eq!(parse("none"), Ok(Compression::None));
        assert!(parse("brotli").is_err());
        assert!(encode_batch(&[], Compression::None).is_err());
    }

    #[test]
    fn partial_trailing_batch_is_ignored() {
        let one = encode_batch(&[record(0, None, Some(b"v".to_vec()), vec![])], Compression::None).expect("encodes");
        let mut two = one.to_vec();
        two.extend_from_slice(&one[..one.len() - 3]);
        assert_eq!(decode_batches(Bytes::from(two)).expect("decodes").len(), 1);
    }
}
