//! A blocking Redis client (std::net, i.e. `wasi:sockets@0.2`) for the synchronous
//! `wasi:keyvalue@0.2.0-draft2` exports: a synchronous export cannot await, so these calls block
//! the caller for one round trip each.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::TcpStream;

use crate::resp::{self, Value};

const MAX_IDLE: usize = 4;

thread_local! {
    static IDLE: RefCell<Vec<Conn>> = const { RefCell::new(Vec::new()) };
}

struct Conn {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open() -> Result<Conn, String> {
        let addr = crate::redis_addr()?;
        let tcp = TcpStream::connect(addr).map_err(|e| format!("cannot connect to Redis at {addr}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        Ok(Conn { tcp, buf: Vec::with_capacity(4096) })
    }

    fn call(&mut self, args: &[&[u8]]) -> Result<Value, String> {
        self.tcp.write_all(&resp::command(args)).map_err(|e| format!("Redis write: {e}"))?;
        let mut chunk = [0u8; 8192];
        loop {
            if let Some((value, used)) = resp::parse(&self.buf)? {
                self.buf.drain(..used);
                return Ok(value);
            }
            let n = self.tcp.read(&mut chunk).map_err(|e| format!("Redis read: {e}"))?;
            if n == 0 {
                return Err("Redis closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// One command on a pooled connection; a stale pooled connection is replaced once.
pub fn call(args: &[&[u8]]) -> Result<Value, String> {
    let pooled = IDLE.with(|i| i.borrow_mut().pop());
    let reused = pooled.is_some();
    let mut conn = match pooled {
        Some(c) => c,
        None => Conn::open()?,
    };
    let value = match conn.call(args) {
        Ok(v) => v,
        Err(_) if reused => {
            conn = Conn::open()?;
            conn.call(args)?
        }
        Err(e) => return Err(e),
    };
    IDLE.with(|i| {
        let mut idle = i.borrow_mut();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    });
    resp::reply(value)
}

/// Sets KEYS[1] to ARGV[3] if it still holds ARGV[2] (ARGV[1] = "1") or is still absent
/// (ARGV[1] = "0"); 1 when written. One script, so no other command runs in between.
pub const SWAP_SCRIPT: &str = "local v = redis.call('GET', KEYS[1]) \
if (ARGV[1] == '0' and v == false) or (ARGV[1] == '1' and v == ARGV[2]) then \
redis.call('SET', KEYS[1], ARGV[3]) return 1 else return 0 end";
