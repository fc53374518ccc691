//! Test support shared by the unit tests of every module: a server on 127.0.0.1:0 with a
//! known key, and a raw HTTP/1.1 client that reads whole answers (the simulator closes
//! after each). Deliberately not `ureq`, so malformed requests can be sent too.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use crate::data::SimData;
use crate::http::{head_end, percent_encode};
use crate::server::{SimOptions, SimServer};

pub(crate) const KEY: &str = "test-key-123";

/// A response read off the wire by [`get`].
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends raw bytes and reads the whole answer (the server closes after it).
pub(crate) fn raw(addr: SocketAddr, request: &[u8]) -> io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request)?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    let end = head_end(&bytes).ok_or_else(|| io::Error::other("no response head"))?;
    let head = String::from_utf8_lossy(&bytes[..end]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("bad status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.trim().to_string()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes[end..]).to_string(),
    })
}

pub(crate) fn get_with(addr: SocketAddr, target: &str, key: Option<&str>, accept: Option<&str>) -> Reply {
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if let Some(k) = key {
        req.push_str(&format!("Authorization: {k}\r\n"));
    }
    if let Some(a) = accept {
        req.push_str(&format!("Accept: {a}\r\n"));
    }
    req.push_str("\r\n");
    raw(addr, req.as_bytes()).expect("request")
}

/// An authorised 13.0 GET of `/netbackup{path_and_query}`.
pub(crate) fn get(server: &SimServer, path_and_query: &str) -> Reply {
    get_with(
        server.addr(),
        &format!("/netbackup{path_and_query}"),
        Some(KEY),
        Some("application/vnd.netbackup+json;version=13.0"),
    )
}

pub(crate) fn start(data: SimData) -> SimServer {
    SimServer::start(SimOptions::new(KEY, data)).expect("start simulator")
}

pub(crate) fn enc(s: &str) -> String {
    percent_encode(s)
}

/// Follows `meta.pagination.next` (bounded) and returns every job id in order.
pub(crate) fn all_job_ids(server: &SimServer, params: &str) -> (Vec<i64>, usize) {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for pages in 1..=10_000 {
        let cursor = after
            .as_ref()
            .map_or(String::new(), |c| format!("&page%5Bafter%5D={}", enc(c)));
        let reply = get(server, &format!("/admin/jobs?{params}{cursor}"));
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        for item in body["data"].as_array().unwrap() {
            ids.push(item["attributes"]["jobId"].as_i64().unwrap());
        }
        match body["meta"]["pagination"]["next"].as_str() {
            Some(next) if !next.is_empty() => after = Some(next.to_string()),
            _ => return (ids, pages),
        }
    }
    panic!("pagination did not end");
}
