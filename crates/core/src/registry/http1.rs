//! A small HTTP/1.1 client over the same [`Stream`] the Kafka client uses (TCP, or TLS over it):
//! one request per connection (`Connection: close`), answers framed by Content-Length, chunked
//! transfer coding or the end of the connection (RFC 9112). It serves the Schema Registry, whose
//! answers are cached, so connection reuse would buy little; running over the same sockets means
//! one code path on every host and no second network permission.

use std::io;

use crate::kafka::transport::Stream;

/// Answers larger than this are refused (a registry answer is a schema, not a data stream).
const MAX_ANSWER: usize = 16 << 20;

/// A parsed `http(s)://host[:port][/path]` base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Without a trailing slash ("" for the root).
    pub path: String,
}

impl BaseUrl {
    pub fn parse(url: &str) -> Result<BaseUrl, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("'{url}' is not an http:// or https:// URL"));
        };
        let (authority, path) =
            rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, String::new()));
        if authority.contains('@') {
            return Err("credentials go in schema_registry_basic_auth, not in the URL".into());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h.trim_matches(['[', ']']).to_owned(), p.parse().map_err(|_| format!("'{p}' is not a port"))?)
            }
            _ => (authority.trim_matches(['[', ']']).to_owned(), if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(format!("'{url}' names no host"));
        }
        Ok(BaseUrl { tls, host, port, path: path.trim_end_matches('/').to_owned() })
    }
}

/// One exchange: writes the request, reads the whole answer. Returns status and body.
pub async fn exchange<S: Stream>(
    stream: &mut S,
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<(u16, Vec<u8>)> {
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: application/vnd.schemaregistry.v1+json, application/json\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    stream.write_all(bytes).await?;
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut answer = httparse::Response::new(&mut headers);
        match answer.parse(&buf).map_err(|e| invalid(format!("malformed HTTP answer: {e}")))? {
            httparse::Status::Complete(head_len) => {
                let status = answer.code.unwrap_or(0);
                let header = |name: &str| {
                    answer
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
                        .map(str::trim)
                };
                let chunked = header("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
                let length = header("content-length").and_then(|l| l.parse::<usize>().ok());
                let mut body = buf.split_off(head_len);
                if chunked {
                    return Ok((status, dechunk(stream, body).await?));
                }
                match length {
                    Some(n) if n > MAX_ANSWER => return Err(invalid(format!("answer of {n} bytes is too large"))),
                    Some(n) => {
                        while body.len() < n {
                            if stream.read_some(&mut body).await? == 0 {
                                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "answer cut short"));
                            }
                        }
                        body.truncate(n);
                    }
                    None => {
                        while stream.read_some(&mut body).await? > 0 {
                            if body.len() > MAX_ANSWER {
                                return Err(invalid("answer too large".into()));
                            }
                        }
                    }
                }
                return Ok((status, body));
            }
            httparse::Status::Partial => {
                if buf.len() > 64 * 1024 {
                    return Err(invalid("HTTP answer head too large".into()));
                }
                if stream.read_some(&mut buf).await? == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before an answer"));
                }
            }
        }
    }
}

/// Reads a chunked body (RFC 9112 §7.1) whose first bytes are `buf`.
async fn dechunk<S: Stream>(stream: &mut S, mut buf: Vec<u8>) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        // The chunk-size line.
        let line_end = loop {
            if let Some(i) = buf[pos..].windows(2).position(|w| w == b"\r\n") {
                break pos + i;
            }
            if stream.read_some(&mut buf).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "chunked answer cut short"));
            }
        };
        let line = std::str::from_utf8(&buf[pos..line_end]).map_err(|_| invalid("bad chunk size".into()))?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid(format!("bad chunk size '{line}'")))?;
        pos = line_end + 2;
        if size == 0 {
            return Ok(out);
        }
        if out.len() + size > MAX_ANSWER {
            return Err(invalid("answer too large".into()));
        }
        while buf.len() < pos + size + 2 {
            if stream.read_some(&mut buf).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "chunked answer cut short"));
            }
        }
        out.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

/// A peer that replays `answer` in pieces of `step` bytes (the fuzz target and the tests).
pub struct Replay {
    answer: Vec<u8>,
    at: usize,
    step: usize,
}

impl Replay {
    pub fn new(answer: &[u8], step: usize) -> Self {
        Replay { answer: answer.to_vec(), at: 0, step: step.max(1) }
    }
}

impl Stream for Replay {
    async fn write_all(&mut self, _data: Vec<u8>) -> io::Result<()> {
        Ok(())
    }

    async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let n = (self.answer.len() - self.at).min(self.step);
        buf.extend_from_slice(&self.answer[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(answer: &str) -> io::Result<(u16, Vec<u8>)> {
        let mut s = Replay::new(answer.as_bytes(), 7);
        futures::executor::block_on(exchange(&mut s, "GET", "h", "/x", &[], None))
    }

    #[test]
    fn answers_are_framed_every_way() {
        assert_eq!(run("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").expect("ok"), (200, b"hello".to_vec()));
        let chunked =
            "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n";
        assert_eq!(run(chunked).expect("ok"), (404, b"abcdefg".to_vec()));
        assert_eq!(run("HTTP/1.1 200 OK\r\n\r\nuntil close").expect("ok"), (200, b"until close".to_vec()));
        assert!(run("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").is_err());
        assert!(run("garbage\r\n\r\n").is_err());
        assert!(run("").is_err());
    }

    #[test]
    fn base_urls_parse() {
        let u = BaseUrl::parse("http://127.0.0.1:8081/apis/ccompat/v7/").expect("ok");
        assert_eq!((u.tls, u.host.as_str(), u.port, u.path.as_str()), (false, "127.0.0.1", 8081, "/apis/ccompat/v7"));
        let u = BaseUrl::parse("https://psrc-x.confluent.cloud").expect("ok");
        assert_eq!((u.tls, u.port, u.path.as_str()), (true, 443, ""));
        assert!(BaseUrl::parse("ftp://x").is_err());
        assert!(BaseUrl::parse("http://user:pw@x").is_err());
    }
}
