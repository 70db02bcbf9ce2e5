//! RESP2, the Redis wire protocol (<https://redis.io/docs/latest/develop/reference/protocol-spec/>):
//! commands out as arrays of bulk strings, replies in as any RESP2 value.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

/// Nesting deeper than this is refused (a hostile or corrupt reply must not exhaust the stack).
const MAX_DEPTH: usize = 16;
/// Bulk strings above this are refused (Redis' own limit is 512 MB).
const MAX_BULK: i64 = 512 * 1024 * 1024;

pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Encodes any value (replies are only parsed in production; this backs the round-trip tests).
pub fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Simple(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
        Value::Error(s) => out.extend_from_slice(format!("-{s}\r\n").as_bytes()),
        Value::Int(i) => out.extend_from_slice(format!(":{i}\r\n").as_bytes()),
        Value::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
        Value::Bulk(Some(b)) => {
            out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Value::Array(None) => out.extend_from_slice(b"*-1\r\n"),
        Value::Array(Some(items)) => {
            out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
            for i in items {
                encode(i, out);
            }
        }
    }
}

/// A reply as a result: Redis errors become `Err`.
pub fn reply(v: Value) -> Result<Value, String> {
    match v {
        Value::Error(e) => Err(format!("Redis: {e}")),
        v => Ok(v),
    }
}

/// One page of a `SCAN … MATCH <prefix>*` reply: the keys under `prefix` (prefix removed) and
/// the cursor for the next page (`b"0"`: done).
pub fn scan_page(reply: Value, prefix: &str) -> Result<(Vec<String>, Vec<u8>), String> {
    let Value::Array(Some(mut parts)) = reply else { return Err("unexpected SCAN reply".into()) };
    let (Some(Value::Array(Some(batch))), Some(Value::Bulk(Some(next)))) = (parts.pop(), parts.pop()) else {
        return Err("unexpected SCAN reply".into());
    };
    let keys = batch
        .into_iter()
        .filter_map(|k| match k {
            Value::Bulk(Some(k)) => String::from_utf8(k).ok()?.strip_prefix(prefix).map(str::to_owned),
            _ => None,
        })
        .collect();
    Ok((keys, next))
}

/// Parses one value from the front of `buf`: `Ok(None)` when more bytes are needed, else the
/// value and how many bytes it used.
pub fn parse(buf: &[u8]) -> Result<Option<(Value, usize)>, String> {
    parse_at(buf, 0, 0)
}

fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], at + end + 2))
}

fn int(text: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(text).ok().and_then(|s| s.parse().ok()).ok_or_else(|| "invalid integer in reply".to_owned())
}

fn parse_at(buf: &[u8], at: usize, depth: usize) -> Result<Option<(Value, usize)>, String> {
    if depth > MAX_DEPTH {
        return Err("reply nested too deeply".into());
    }
    let Some(&kind) = buf.get(at) else { return Ok(None) };
    let Some((text, next)) = line(buf, at + 1) else { return Ok(None) };
    let string = || String::from_utf8(text.to_vec()).map_err(|_| "reply is not UTF-8".to_owned());
    match kind {
        b'+' => Ok(Some((Value::Simple(string()?), next))),
        b'-' => Ok(Some((Value::Error(string()?), next))),
        b':' => Ok(Some((Value::Int(int(text)?), next))),
        b'$' => {
            let len = int(text)?;
            if len == -1 {
                return Ok(Some((Value::Bulk(None), next)));
            }
            if !(0..=MAX_BULK).contains(&len) {
                return Err(format!("invalid bulk length {len}"));
            }
            let len = len as usize;
            if buf.len() < next + len + 2 {
                return Ok(None);
            }
            if &buf[next + len..next + len + 2] != b"\r\n" {
                return Err("bulk string not terminated by CRLF".into());
            }
            Ok(Some((Value::Bulk(Some(buf[next..next + len].to_vec())), next + len + 2)))
        }
        b'*' => {
            let n = int(text)?;
            if n == -1 {
                return Ok(Some((Value::Array(None), next)));
            }
            if !(0..=MAX_BULK).contains(&n) {
                return Err(format!("invalid array length {n}"));
            }
            let mut items = Vec::with_capacity((n as usize).min(1024));
            let mut pos = next;
            for _ in 0..n {
                match parse_at(buf, pos, depth + 1)? {
                    Some((v, p)) => {
                        items.push(v);
                        pos = p;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Value::Array(Some(items)), pos)))
        }
        other => Err(format!("unknown reply type byte 0x{other:02x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_pages_keep_only_the_stores_keys() {
        let bulk = |s: &str| Value::Bulk(Some(s.as_bytes().to_vec()));
        let page =
            Value::Array(Some(vec![bulk("17"), Value::Array(Some(vec![bulk("kre:default:a"), bulk("other:b")]))]));
        assert_eq!(scan_page(page, "kre:default:"), Ok((vec!["a".to_string()], b"17".to_vec())));
        assert!(scan_page(Value::Int(1), "p").is_err());
        assert_eq!(reply(Value::Error("ERR x".into())), Err("Redis: ERR x".into()));
        assert_eq!(reply(Value::Int(1)), Ok(Value::Int(1)));
    }
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            "[^\r\n]*".prop_map(Value::Simple),
            "[^\r\n]*".prop_map(Value::Error),
            any::<i64>().prop_map(Value::Int),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)).prop_map(Value::Bulk),
        ];
        leaf.prop_recursive(4, 32, 8, |inner| {
            proptest::option::of(proptest::collection::vec(inner, 0..8)).prop_map(Value::Array)
        })
    }

    proptest! {
        #[test]
        fn round_trips(v in value()) {
            let mut buf = Vec::new();
            encode(&v, &mut buf);
            prop_assert_eq!(parse(&buf).expect("valid"), Some((v.clone(), buf.len())));
            // Every strict prefix asks for more bytes, never errs or returns a value.
            for cut in 0..buf.len() {
                prop_assert_eq!(parse(&buf[..cut]).expect("prefix is valid so far"), None);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&bytes);
        }
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(command(&[b"GET", b"k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        let parsed = parse(&command(&[b"SET", b"k", b"\r\n"])).expect("ok").expect("complete").0;
        assert_eq!(
            parsed,
            Value::Array(Some(vec![
                Value::Bulk(Some(b"SET".to_vec())),
                Value::Bulk(Some(b"k".to_vec())),
                Value::Bulk(Some(b"\r\n".to_vec()))
            ]))
        );
    }

    #[test]
    fn refuses_malformed_replies() {
        assert!(parse(b"?x\r\n").is_err());
        assert!(parse(b"$-5\r\n").is_err());
        assert!(parse(b"$1\r\nab\r\n").is_err());
        assert!(parse(b":x\r\n").is_err());
        let deep = "*1\r\n".repeat(40) + ":1\r\n";
        assert!(parse(deep.as_bytes()).is_err());
    }
}
