//! A fault-injecting HTTP/1.1 proxy, put between `ddbsnap apply` and
//! DynamoDB (Local) so that the apply meets what real DynamoDB does to it
//! under load: throttling, partially processed batches, and connections
//! that die before or after a write reached the table. `rehearse` puts it
//! in front of the target when asked to inject faults, and the fault tests
//! use it in front of DynamoDB Local.
//!
//! Faults are deterministic ("every Nth request") so that a failing test
//! fails the same way again, and every injected fault is counted so that a
//! test can assert the faults really happened: a fault test whose faults
//! never fire proves nothing.
//!
//! Built on `std::net` and a thread per connection rather than tokio: the
//! crate's tokio does not enable the `net` feature, and the proxy is small
//! enough that blocking I/O keeps it obvious.
//!
//! Each request is forwarded over a fresh upstream connection with
//! `Connection: close`, so the upstream response ends at EOF whatever its
//! framing; it is read whole (Content-Length, chunked, or to EOF) and relayed
//! to the client with a Content-Length, keeping the client's connection
//! alive as the SDK expects.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

/// Which faults to inject. Each `*_every` is N for "every Nth" (counted
/// over all requests, or over BatchWriteItem calls for `unprocess_every`);
/// 0 never. When several fall on one request, the first listed wins.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Answer `ProvisionedThroughputExceededException` without forwarding.
    pub throttle_every: u64,
    /// Close the client's connection without forwarding: nothing was written.
    pub drop_before_every: u64,
    /// Forward, then close without answering: the write happened, but the
    /// client cannot know it did.
    pub drop_after_every: u64,
    /// Of the BatchWriteItem calls forwarded: hold back the last half of the
    /// table's write requests (not written) and return them as
    /// `UnprocessedItems`, as DynamoDB does when a partition is hot.
    pub unprocess_every: u64,
}

/// What the proxy saw and did, for assertions.
#[derive(Debug, Default)]
pub struct Counts {
    pub requests: AtomicU64,
    pub forwarded: AtomicU64,
    pub throttled: AtomicU64,
    pub dropped_before: AtomicU64,
    pub dropped_after: AtomicU64,
    /// Of `dropped_after`: those the upstream had answered with 200, i.e.
    /// writes that landed while the client heard nothing.
    pub dropped_after_landed: AtomicU64,
    pub batch_calls: AtomicU64,
    /// BatchWriteItem calls answered with injected unprocessed items.
    pub unprocessed_calls: AtomicU64,
    pub unprocessed_items: AtomicU64,
    /// Requests per `X-Amz-Target` operation (e.g. `UpdateItem`).
    pub operations: Mutex<BTreeMap<String, u64>>,
}

/// A plain copy of [`Counts`], for messages and comparisons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub requests: u64,
    pub forwarded: u64,
    pub throttled: u64,
    pub dropped_before: u64,
    pub dropped_after: u64,
    pub dropped_after_landed: u64,
    pub batch_calls: u64,
    pub unprocessed_calls: u64,
    pub unprocessed_items: u64,
    pub operations: BTreeMap<String, u64>,
}

impl Counts {
    pub fn tally(&self) -> Tally {
        let get = |c: &AtomicU64| c.load(Ordering::SeqCst);
        Tally {
            requests: get(&self.requests),
            forwarded: get(&self.forwarded),
            throttled: get(&self.throttled),
            dropped_before: get(&self.dropped_before),
            dropped_after: get(&self.dropped_after),
            dropped_after_landed: get(&self.dropped_after_landed),
            batch_calls: get(&self.batch_calls),
            unprocessed_calls: get(&self.unprocessed_calls),
            unprocessed_items: get(&self.unprocessed_items),
            operations: self.operations.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

/// A running proxy; stops accepting when dropped (connections still open
/// end when their client closes them).
pub struct Proxy {
    url: String,
    addr: SocketAddr,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on 127.0.0.1 (a free port) in front of `upstream`
    /// (`http://host:port`).
    pub fn start(upstream: &str, faults: Faults) -> io::Result<Proxy> {
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (counts, stop) = (counts.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let (counts, upstream) = (counts.clone(), upstream.clone());
                    std::thread::spawn(move || {
                        // An I/O error ends this client connection only; the
                        // client sees it as the dropped connection it is.
                        let _ = serve(conn, &upstream, faults, &counts);
                    });
                }
            })
        };
        Ok(Proxy { url: format!("http://{addr}"), addr, counts, stop, accept: Some(accept) })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    pub fn tally(&self) -> Tally {
        self.counts.tally()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn every(n: u64, count: u64) -> bool {
    n > 0 && count.is_multiple_of(n)
}

/// Serves one client connection: its requests one after another (keep-alive).
fn serve(client: TcpStream, upstream: &str, faults: Faults, counts: &Counts) -> io::Result<()> {
    client.set_nodelay(true)?;
    // Bounds how long an idle connection holds a thread after a test ends.
    client.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    while let Some(mut req) = read_message(&mut reader, false)? {
        let n = counts.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let op = req.header("x-amz-target").map(|t| t.rsplit('.').next().unwrap_or(t).to_string()).unwrap_or_default();
        *counts.operations.lock().unwrap_or_else(|e| e.into_inner()).entry(op.clone()).or_default() += 1;
        let close = req.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        if every(faults.throttle_every, n) {
            counts.throttled.fetch_add(1, Ordering::SeqCst);
            client.write_all(&throttle_response(n).to_bytes(false))?;
        } else if every(faults.drop_before_every, n) {
            counts.dropped_before.fetch_add(1, Ordering::SeqCst);
            return client.shutdown(Shutdown::Both);
        } else {
            let mut held_back = None;
            if op == "BatchWriteItem" {
                let b = counts.batch_calls.fetch_add(1, Ordering::SeqCst) + 1;
                if every(faults.unprocess_every, b)
                    && let Some((body, table, removed)) = hold_back(&req.body)
                {
                    req.body = body;
                    held_back = Some((table, removed));
                }
            }
            let mut resp = forward(upstream, &req)?;
            counts.forwarded.fetch_add(1, Ordering::SeqCst);
            if every(faults.drop_after_every, n) {
                counts.dropped_after.fetch_add(1, Ordering::SeqCst);
                if resp.status() == 200 {
                    counts.dropped_after_landed.fetch_add(1, Ordering::SeqCst);
                }
                return client.shutdown(Shutdown::Both);
            }
            if let Some((table, removed)) = held_back
                && resp.status() == 200
            {
                let k = removed.len() as u64;
                let body = add_unprocessed(&resp.body, &table, removed)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a BatchWriteItem response that is not a JSON object"))?;
                resp.set_body(body);
                counts.unprocessed_calls.fetch_add(1, Ordering::SeqCst);
                counts.unprocessed_items.fetch_add(k, Ordering::SeqCst);
            }
            client.write_all(&resp.to_bytes(false))?;
        }
        if close {
            break;
        }
    }
    client.shutdown(Shutdown::Both)
}

/// Sends `req` upstream on a connection of its own and reads the whole answer.
fn forward(upstream: &str, req: &Message) -> io::Result<Message> {
    let mut conn = TcpStream::connect(upstream)?;
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    conn.write_all(&req.to_bytes(true))?;
    let mut reader = BufReader::new(conn);
    read_message(&mut reader, true)?.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "upstream closed without answering"))
}

/// DynamoDB's answer when a request exceeds the table's capacity.
fn throttle_response(n: u64) -> Message {
    let body = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"injected"}"#.to_vec();
    let mut m = Message {
        start: "HTTP/1.1 400 Bad Request".into(),
        headers: vec![
            ("Content-Type".into(), "application/x-amz-json-1.0".into()),
            ("x-amzn-RequestId".into(), format!("injected-throttle-{n}")),
        ],
        body: Vec::new(),
    };
    m.set_body(body);
    m
}

/// Removes the last half of the first table's write requests from a
/// BatchWriteItem body: the reduced body, the table, and what was removed.
/// None when there is nothing to hold back (fewer than two requests).
fn hold_back(body: &[u8]) -> Option<(Vec<u8>, String, Vec<Value>)> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let (table, reqs) = v.get_mut("RequestItems")?.as_object_mut()?.iter_mut().next()?;
    let reqs = reqs.as_array_mut()?;
    let k = reqs.len() / 2;
    if k == 0 {
        return None;
    }
    let removed = reqs.split_off(reqs.len() - k);
    let table = table.clone();
    Some((serde_json::to_vec(&v).ok()?, table, removed))
}

/// Adds `removed` to the response's `UnprocessedItems` for `table`.
fn add_unprocessed(body: &[u8], table: &str, removed: Vec<Value>) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let unprocessed = v.as_object_mut()?.entry("UnprocessedItems").or_insert_with(|| Value::Object(Default::default()));
    let list = unprocessed.as_object_mut()?.entry(table).or_insert_with(|| Value::Array(Vec::new()));
    list.as_array_mut()?.extend(removed);
    serde_json::to_vec(&v).ok()
}

/// An HTTP/1.1 request or response, its body de-framed.
struct Message {
    /// The request line or the status line.
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn status(&self) -> u16 {
        self.start.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    /// Replaces the body. DynamoDB (and DynamoDB Local) send the CRC32 of
    /// each response body in `x-amz-crc32`; it is recomputed so that the
    /// edited body still matches it. (The Rust SDK does not check it today,
    /// as a wrong value showed; other SDKs do, and a later one may.)
    fn set_body(&mut self, body: Vec<u8>) {
        self.body = body;
        let mut crc = flate2::Crc::new();
        crc.update(&self.body);
        let sum = crc.sum().to_string();
        match self.headers.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("x-amz-crc32")) {
            Some(h) => h.1 = sum,
            None if self.start.starts_with("HTTP/") => self.headers.push(("x-amz-crc32".into(), sum)),
            None => {}
        }
    }

    /// The message as sent: framed by Content-Length, and with `Connection:
    /// close` when going upstream (so that each upstream answer ends at EOF).
    fn to_bytes(&self, upstream: bool) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (k, v) in &self.headers {
            if ["content-length", "transfer-encoding", "connection"].iter().any(|h| k.eq_ignore_ascii_case(h)) {
                continue;
            }
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        if upstream {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Reads one message; None at a clean EOF before its first byte (the
/// client closed an idle keep-alive connection). A response without
/// Content-Length or chunking runs to EOF (we asked for `Connection: close`).
fn read_message(r: &mut impl BufRead, response: bool) -> io::Result<Option<Message>> {
    let mut start = String::new();
    if r.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let start = start.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "headers cut short"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad header {line:?}")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut m = Message { start, headers, body: Vec::new() };
    let status = if response { m.status() } else { 0 };
    let bodiless = response && (status < 200 || status == 204 || status == 304);
    if bodiless {
        return Ok(Some(m));
    }
    if m.header("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked")) {
        m.body = read_chunked(r)?;
    } else if let Some(len) = m.header("content-length") {
        let len: usize = len.parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
        m.body = vec![0; len];
        r.read_exact(&mut m.body)?;
    } else if response {
        r.read_to_end(&mut m.body)?;
    }
    Ok(Some(m))
}

fn read_chunked(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size =
            usize::from_str_radix(size, 16).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut t = String::new();
                if r.read_line(&mut t)? == 0 || t.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        let at = body.len();
        body.resize(at + size, 0);
        r.read_exact(&mut body[at..])?;
        let mut crlf = [0; 2];
        r.read_exact(&mut crlf)?;
    }
}
