//! Misbehaviour on demand: the `Fault` knobs tests turn, which requests they apply to
//! (`Scope`), and how each one is carried out on the connection, byte by byte.
//!
//! A fault is looked up once the request head has been read and replaces the normal
//! answer, before auth. Every wait here is cut into small slices that watch the stop flag,
//! the fault being cleared (for hangs) and the connection's absolute bound, so no fault can
//! hold shutdown up. It knows the API only through `routes::route`, `paging` and `wire`.

use std::time::{Duration, Instant};

use serde_json::{json, Map};

use crate::data::{SimJob, SimStorageUnit};
use crate::http::{Conn, Request, Response, CONNECTION_BOUND};
use crate::paging::{self, OffsetPage};
use crate::routes::{self, JSON_MEDIA};
use crate::server::Shared;
use crate::wire;

/// How a request misbehaves.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Wait, then answer normally (auth and all). Waits longer than the 5-minute
    /// connection bound, or cut short by shutdown, close without an answer.
    Delay(Duration),
    /// Answer this status with NetBackup's JSON error body and an optional `Retry-After`
    /// (seconds).
    Status { code: u16, retry_after: Option<u64> },
    /// 200 with the NetBackup JSON content type and a body that is not JSON.
    MalformedJson,
    /// The normal answer with a `Content-Length` larger than the bytes sent (half of the
    /// body is sent), then the connection closes.
    TruncatedBody,
    /// Read the request and never answer, until the fault is cleared or changed, the server
    /// shuts down, or 5 minutes pass; then close.
    Hang,
    /// Read the request and close without answering.
    Reset,
    /// The normal answer: head at once, then the body a few bytes at a time.
    SlowDrip { bytes_per_sec: u32 },
    /// Jobs: every page is full of fresh jobs and has a fresh `next` cursor. Storage units:
    /// every page claims there is one more. Other paths answer normally.
    EndlessCursor,
    /// A 200 whose JSON body (records plus padding) is `bytes` long, streamed, never built
    /// in memory. A `bytes` below the smallest such body (about 100) sends that body.
    OversizedPage { bytes: usize },
    /// 200 `text/html`, like a proxy's login page.
    HtmlPage,
}

/// Which requests a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every request, `/ping` and unknown paths included.
    All,
    /// `/netbackup/admin/jobs`.
    Jobs,
    /// `/netbackup/storage/storage-units`.
    StorageUnits,
    /// `/netbackup/storage/drives`.
    Drives,
    /// `/netbackup/storage/tape-media`.
    TapeMedia,
    /// `/netbackup/storage/robots-device-hosts`.
    RobotHosts,
    /// `/netbackup/storage/tape-volume-pools`.
    VolumePools,
    /// `/netbackup/storage/disk-pools`.
    DiskPools,
    /// `/netbackup/manage/alerts`.
    Alerts,
    /// `/netbackup/malware/latest-scan-results`.
    Malware,
    /// `/netbackup/catalog/images`.
    Catalog,
    /// `/netbackup/servicecatalog/slos`.
    Slos,
}

impl Scope {
    /// The specific scope a path belongs to, if any.
    pub(crate) fn of_path(path: &str) -> Option<Scope> {
        match path {
            "/netbackup/admin/jobs" => Some(Scope::Jobs),
            "/netbackup/storage/storage-units" => Some(Scope::StorageUnits),
            "/netbackup/storage/drives" => Some(Scope::Drives),
            "/netbackup/storage/tape-media" => Some(Scope::TapeMedia),
            "/netbackup/storage/robots-device-hosts" => Some(Scope::RobotHosts),
            "/netbackup/storage/tape-volume-pools" => Some(Scope::VolumePools),
            "/netbackup/storage/disk-pools" => Some(Scope::DiskPools),
            "/netbackup/manage/alerts" => Some(Scope::Alerts),
            "/netbackup/malware/latest-scan-results" => Some(Scope::Malware),
            "/netbackup/catalog/images" => Some(Scope::Catalog),
            "/netbackup/servicecatalog/slos" => Some(Scope::Slos),
            _ => None,
        }
    }

    fn slot(self) -> usize {
        match self {
            Scope::All => 0,
            Scope::Jobs => 1,
            Scope::StorageUnits => 2,
            Scope::Drives => 3,
            Scope::TapeMedia => 4,
            Scope::RobotHosts => 5,
            Scope::VolumePools => 6,
            Scope::DiskPools => 7,
            Scope::Alerts => 8,
            Scope::Malware => 9,
            Scope::Catalog => 10,
            Scope::Slos => 11,
        }
    }
}

/// The fault set per scope, each with an id so a hang can tell it was cleared or replaced.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    slots: [Option<(u64, Fault)>; 12],
    next_id: u64,
}

impl FaultTable {
    pub(crate) fn set(&mut self, scope: Scope, fault: Fault) {
        self.next_id += 1;
        self.slots[scope.slot()] = Some((self.next_id, fault));
    }

    pub(crate) fn clear(&mut self) {
        self.slots = Default::default();
    }

    /// The fault for a request in `path_scope` (specific first, then `All`), with the
    /// scope it was set on and its id.
    pub(crate) fn lookup(&self, path_scope: Option<Scope>) -> Option<(Scope, u64, Fault)> {
        path_scope
            .into_iter()
            .chain([Scope::All])
            .find_map(|s| self.slots[s.slot()].as_ref().map(|(id, f)| (s, *id, f.clone())))
    }

    pub(crate) fn is_current(&self, scope: Scope, id: u64) -> bool {
        self.slots[scope.slot()]
            .as_ref()
            .is_some_and(|(current, _)| *current == id)
    }
}

/// A faulty request: what it is, which scope its path is in, and which fault applies.
pub(crate) struct Faulty<'r> {
    pub(crate) req: &'r Request,
    pub(crate) at: Instant,
    pub(crate) path_scope: Option<Scope>,
    /// The scope the fault was set on, and its id.
    pub(crate) set_on: (Scope, u64),
}

const MALFORMED_BODY: &str = r#"{"data":[{"type":"job","id":"1","attributes":{"jobId":1,"state":"DONE"}},{"type":"job","id":"2","attr"#;

const HTML_BODY: &str = "<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>\n\
<body><h1>Authentication required</h1>\n<form method=\"post\" action=\"/login\">\n\
<input name=\"username\"><input name=\"password\" type=\"password\">\n\
<button type=\"submit\">Sign in</button></form></body></html>\n";

/// Carries out `fault` for one request, recording it with the status answered.
pub(crate) fn serve(shared: &Shared, mut conn: Conn<'_>, f: Faulty<'_>, fault: Fault) {
    let req = f.req;
    let record = |status: u16| shared.record(req.record(status, f.at));
    let json_type = || format!("{JSON_MEDIA};version={}", shared.claimed_version(req));
    let answer = |mut conn: Conn<'_>, response: Response| {
        record(response.status);
        let _ = conn.send(&response);
        conn.finish();
    };
    match fault {
        Fault::Delay(delay) => {
            if conn.pause(delay, || true) {
                answer(conn, routes::route(shared, req));
            } else {
                record(0);
                conn.abort();
            }
        }
        Fault::Status { code, retry_after } => {
            let mut response = Response::error(code, &format!("simulated HTTP {code}"), Map::new());
            if let Some(seconds) = retry_after {
                response.headers.push(("Retry-After", seconds.to_string()));
            }
            answer(conn, response);
        }
        Fault::MalformedJson => {
            answer(
                conn,
                Response::new(200, &json_type(), MALFORMED_BODY.as_bytes().to_vec()),
            );
        }
        Fault::HtmlPage => {
            answer(
                conn,
                Response::new(200, "text/html; charset=utf-8", HTML_BODY.as_bytes().to_vec()),
            );
        }
        Fault::TruncatedBody => {
            let response = routes::route(shared, req);
            record(response.status);
            let body = &response.body;
            let claimed = if body.is_empty() { 64 } else { body.len() };
            let _ = conn
                .write_all(&response.head(claimed))
                .and_then(|()| conn.write_all(&body[..body.len() / 2]));
            conn.abort();
        }
        Fault::Hang => {
            record(0);
            let (scope, id) = f.set_on;
            conn.pause(CONNECTION_BOUND, || shared.fault_still_set(scope, id));
            conn.abort();
        }
        Fault::Reset => {
            record(0);
            conn.abort();
        }
        Fault::SlowDrip { bytes_per_sec } => {
            let response = routes::route(shared, req);
            record(response.status);
            let bps = bytes_per_sec.max(1) as usize;
            let (chunk, interval) = if bps >= 10 {
                (bps / 10, Duration::from_millis(100))
            } else {
                (1, Duration::from_millis(1000 / bps as u64))
            };
            if conn.write_all(&response.head(response.body.len())).is_err() {
                return conn.abort();
            }
            for piece in response.body.chunks(chunk) {
                if !conn.pause(interval, || true) || conn.write_all(piece).is_err() {
                    return conn.abort();
                }
            }
            conn.finish();
        }
        Fault::EndlessCursor => {
            let response = match f.path_scope {
                Some(Scope::Jobs) => Response::new(200, &json_type(), endless_jobs(shared, req).into_bytes()),
                Some(Scope::StorageUnits) => {
                    Response::new(200, &json_type(), endless_storage(shared, req).into_bytes())
                }
                _ => routes::route(shared, req),
            };
            answer(conn, response);
        }
        Fault::OversizedPage { bytes } => {
            record(200);
            let item = sample_item(shared, req, f.path_scope);
            let _ = stream_oversized(&mut conn, &json_type(), &item, bytes);
            conn.finish();
        }
    }
}

const ENDLESS_ID_BASE: i64 = 900_000_000;

fn synthetic_job(now: i64) -> SimJob {
    SimJob {
        job_id: 0,
        parent_job_id: 0,
        job_type: "BACKUP".into(),
        policy_type: "STANDARD".into(),
        policy_name: "endless".into(),
        client_name: "client-endless.sim.example".into(),
        schedule_type: "FULL_BACKUP".into(),
        state: "DONE".into(),
        status: 0,
        kilobytes_transferred: 1024,
        number_of_files: 10,
        dedup_ratio: Some(2.0),
        start_time: Some(now - 120_000),
        end_time: Some(now - 60_000),
        job_queue_reason: None,
        last_update: None,
    }
}

fn synthetic_unit() -> SimStorageUnit {
    SimStorageUnit {
        name: String::new(),
        storage_type: "DISK".into(),
        storage_sub_type: "AdvancedDisk".into(),
        storage_server_type: "AdvancedDisk".into(),
        free_capacity_bytes: Some(1 << 40),
        used_capacity_bytes: Some(1 << 40),
        total_capacity_bytes: Some(2 << 40),
        max_concurrent_jobs: Some(10),
        max_fragment_size_megabytes: Some(524_288),
        is_cloud: false,
        worm_capable: false,
        use_worm: false,
        replication_capable: false,
        instant_access_enabled: false,
    }
}

fn limit_param(req: &Request, max: usize) -> usize {
    req.param("page[limit]")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| (1..=max).contains(l))
        .unwrap_or(10)
}

/// A jobs page of fresh jobs (ids never seen before) with a fresh `next`.
fn endless_jobs(shared: &Shared, req: &Request) -> String {
    let page = req
        .param("page[after]")
        .and_then(|c| c.strip_prefix("endless."))
        .and_then(|n| n.parse::<u32>().ok())
        .map_or(0, i64::from);
    let limit = limit_param(req, 100) as i64;
    let served = shared.served();
    let jobs = &served.data.jobs;
    let now = shared.clock.now();
    let base = req.base_href(shared.local_addr());
    let next = format!("endless.{}", page + 1);
    let link = |after: &str| json!({"href": format!("{base}/admin/jobs?page%5Blimit%5D={limit}&page%5Bafter%5D={after}")});
    let meta = json!({"pagination": {"limit": limit, "next": next}});
    let links = json!({
        "self": link(&format!("endless.{page}")),
        "first": {"href": format!("{base}/admin/jobs?page%5Blimit%5D={limit}")},
        "next": link(&next),
    });
    paging::page_json(limit as usize, meta, links, |out, i| {
        let n = page.saturating_mul(limit).saturating_add(i as i64);
        let mut job = if jobs.is_empty() {
            synthetic_job(now)
        } else {
            jobs[(n as usize) % jobs.len()].clone()
        };
        job.job_id = ENDLESS_ID_BASE.saturating_add(n);
        wire::write_job(out, &job, &next, now, &base);
    })
}

/// A storage page whose `count` always promises one more page.
fn endless_storage(shared: &Shared, req: &Request) -> String {
    let offset: i64 = req
        .param("page[offset]")
        .and_then(|o| o.parse().ok())
        .filter(|o| (0..i64::MAX / 4).contains(o))
        .unwrap_or(0);
    let limit = limit_param(req, 500) as i64;
    let served = shared.served();
    let units = &served.data.storage_units;
    let base = req.base_href(shared.local_addr());
    let page = OffsetPage { offset, limit };
    let (meta, links) = paging::offset_meta(&page, offset + 2 * limit, &base, "/storage/storage-units");
    paging::page_json(limit as usize, meta, links, |out, i| {
        let n = offset + i as i64;
        let mut unit = if units.is_empty() {
            synthetic_unit()
        } else {
            units[(n as usize) % units.len()].clone()
        };
        unit.name = format!("stu-endless-{n:06}");
        wire::write_storage_unit(out, &unit, &base);
    })
}

/// One record to repeat in an oversized page: from the data when there is some.
fn sample_item(shared: &Shared, req: &Request, path_scope: Option<Scope>) -> String {
    let served = shared.served();
    let base = req.base_href(shared.local_addr());
    let mut out = String::new();
    if path_scope == Some(Scope::StorageUnits) {
        let unit = served.data.storage_units.first().cloned().unwrap_or_else(|| {
            let mut u = synthetic_unit();
            u.name = "stu-big".into();
            u
        });
        wire::write_storage_unit(&mut out, &unit, &base);
    } else {
        let now = shared.clock.now();
        let mut job = served
            .data
            .jobs
            .first()
            .cloned()
            .unwrap_or_else(|| synthetic_job(now));
        job.job_id = ENDLESS_ID_BASE;
        wire::write_job(&mut out, &job, "big", now, &base);
    }
    out
}

/// Streams `{"data":[item,item,...],"meta":{...},"padding":"xxx"}` of exactly `bytes`
/// bytes (or the smallest such body, if `bytes` is below it).
fn stream_oversized(
    conn: &mut Conn<'_>,
    content_type: &str,
    item: &str,
    bytes: usize,
) -> std::io::Result<()> {
    const PREFIX: &str = r#"{"data":["#;
    const MIDDLE: &str = r#"],"meta":{"pagination":{"limit":100}},"padding":""#;
    const END: &str = r#""}"#;
    let fixed = PREFIX.len() + MIDDLE.len() + END.len();
    let room = bytes.saturating_sub(fixed);
    // n items take n * item + (n - 1) commas.
    let items = if room >= item.len() {
        (room + 1) / (item.len() + 1)
    } else {
        0
    };
    let items_len = if items == 0 {
        0
    } else {
        items * (item.len() + 1) - 1
    };
    let padding = room - items_len;
    let total = fixed + items_len + padding;

    conn.write_all(&Response::new(200, content_type, Vec::new()).head(total))?;
    let mut buf = Vec::with_capacity(64 * 1024 + item.len() + 1);
    buf.extend_from_slice(PREFIX.as_bytes());
    for i in 0..items {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(item.as_bytes());
        if buf.len() >= 64 * 1024 {
            conn.write_all(&buf)?;
            buf.clear();
        }
    }
    buf.extend_from_slice(MIDDLE.as_bytes());
    conn.write_all(&buf)?;
    let pad = vec![b'x'; 64 * 1024];
    let mut left = padding;
    while left > 0 {
        let n = left.min(pad.len());
        conn.write_all(&pad[..n])?;
        left -= n;
    }
    conn.write_all(END.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::thread;

    use serde_json::Value;

    use super::*;
    use crate::data::SimData;
    use crate::testing::{get, get_with, raw, start, KEY};
    use crate::time::now_millis;
    use crate::SimServer;

    const ACCEPT: &str = "application/vnd.netbackup+json;version=13.0";

    fn agent(timeout: Duration) -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into()
    }

    fn call(server: &SimServer, path: &str, timeout: Duration) -> Result<(u16, String), ureq::Error> {
        let mut response = agent(timeout)
            .get(format!("{}{path}", server.base_url()))
            .header("Authorization", KEY)
            .header("Accept", ACCEPT)
            .call()?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()?;
        Ok((status, body))
    }

    fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends a jobs request on a raw socket and returns it, unread.
    fn send_jobs_request(server: &SimServer) -> TcpStream {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let req =
            format!("GET /netbackup/admin/jobs HTTP/1.1\r\nAuthorization: {KEY}\r\nAccept: {ACCEPT}\r\n\r\n");
        stream.write_all(req.as_bytes()).unwrap();
        stream
    }

    fn known_server() -> SimServer {
        start(SimData::known(now_millis()))
    }

    #[test]
    fn hang_times_the_client_out_and_ends_when_cleared() {
        let server = known_server();
        let handle = server.handle();
        handle.set_fault(Scope::Jobs, Fault::Hang);
        let started = Instant::now();
        let err = call(&server, "/admin/jobs", Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, ureq::Error::Timeout(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // Storage is out of scope.
        assert_eq!(
            call(&server, "/storage/storage-units", Duration::from_secs(5))
                .unwrap()
                .0,
            200
        );

        let mut stream = send_jobs_request(&server);
        wait_until("the hung request", || {
            handle.requests().iter().filter(|r| r.status == 0).count() == 2
        });
        handle.clear_faults();
        let started = Instant::now();
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        assert!(buf.is_empty(), "a hang never answers");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            call(&server, "/admin/jobs", Duration::from_secs(5)).unwrap().0,
            200
        );
    }

    #[test]
    fn shutdown_is_prompt_with_a_hung_connection_open() {
        let server = known_server();
        let handle = server.handle();
        handle.set_fault(Scope::All, Fault::Hang);
        let mut stream = send_jobs_request(&server);
        wait_until("the hung request", || handle.request_count() == 1);
        let started = Instant::now();
        server.shutdown();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        assert!(buf.is_empty());
        assert_eq!(handle.requests()[0].status, 0);
    }

    #[test]
    fn reset_is_a_transport_error() {
        let server = known_server();
        server.handle().set_fault(Scope::Jobs, Fault::Reset);
        let err = call(&server, "/admin/jobs", Duration::from_secs(5)).unwrap_err();
        assert!(!matches!(err, ureq::Error::StatusCode(_)), "{err:?}");
        assert_eq!(server.handle().requests()[0].status, 0);
    }

    #[test]
    fn truncated_body_is_an_error() {
        let server = known_server();
        server.handle().set_fault(Scope::Jobs, Fault::TruncatedBody);
        assert!(call(&server, "/admin/jobs", Duration::from_secs(5)).is_err());
        let reply = raw(
            server.addr(),
            format!("GET /netbackup/admin/jobs HTTP/1.1\r\nAuthorization: {KEY}\r\nAccept: {ACCEPT}\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        let claimed: usize = reply.header("content-length").unwrap().parse().unwrap();
        assert!(reply.body.len() < claimed, "{} < {claimed}", reply.body.len());
        assert_eq!(server.handle().requests()[0].status, 200);
    }

    #[test]
    fn status_with_retry_after() {
        let server = known_server();
        let handle = server.handle();
        handle.set_fault(
            Scope::StorageUnits,
            Fault::Status {
                code: 503,
                retry_after: Some(7),
            },
        );
        let response = agent(Duration::from_secs(5))
            .get(format!("{}/storage/storage-units", server.base_url()))
            .header("Authorization", "wrong key: faults come before auth")
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 503);
        assert_eq!(response.headers().get("retry-after").unwrap(), "7");
        let body: Value = serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
        assert_eq!(body["errorCode"], 503);
        assert!(body["errorMessage"].is_string());

        handle.set_fault(
            Scope::Jobs,
            Fault::Status {
                code: 500,
                retry_after: None,
            },
        );
        let reply = get(&server, "/admin/jobs");
        assert_eq!(reply.status, 500);
        assert!(reply.header("retry-after").is_none());
        assert_eq!(
            handle.requests().iter().map(|r| r.status).collect::<Vec<_>>(),
            [503, 500]
        );
    }

    #[test]
    fn malformed_json_and_html_pages_are_200s_that_do_not_parse() {
        let server = known_server();
        let handle = server.handle();
        handle.set_fault(Scope::Jobs, Fault::MalformedJson);
        let (status, body) = call(&server, "/admin/jobs", Duration::from_secs(5)).unwrap();
        assert_eq!(status, 200);
        assert!(serde_json::from_str::<Value>(&body).is_err());
        let reply = get(&server, "/admin/jobs");
        assert_eq!(reply.header("content-type"), Some(ACCEPT));

        handle.clear_faults();
        handle.set_fault(Scope::All, Fault::HtmlPage);
        let reply = get(&server, "/storage/storage-units");
        assert_eq!(reply.status, 200);
        assert!(reply.header("content-type").unwrap().starts_with("text/html"));
        assert!(reply.body.contains("<form"));
        assert!(serde_json::from_str::<Value>(&reply.body).is_err());
        // A specific scope wins over All.
        handle.set_fault(Scope::Jobs, Fault::MalformedJson);
        assert!(get(&server, "/admin/jobs").body.starts_with("{\"data\""));
    }

    #[test]
    fn endless_cursor_returns_a_fresh_cursor_and_fresh_jobs_every_page() {
        let server = known_server();
        server.handle().set_fault(Scope::Jobs, Fault::EndlessCursor);
        let mut cursors = Vec::new();
        let mut ids = std::collections::HashSet::new();
        let mut after = String::new();
        for _ in 0..5 {
            let body = get(
                &server,
                &format!("/admin/jobs?page%5Blimit%5D=4&sort=jobId{after}"),
            )
            .json();
            let next = body["meta"]["pagination"]["next"].as_str().unwrap().to_string();
            assert!(!next.is_empty() && !cursors.contains(&next));
            let page = body["data"].as_array().unwrap();
            assert_eq!(page.len(), 4);
            for item in page {
                assert!(ids.insert(item["attributes"]["jobId"].as_i64().unwrap()));
            }
            after = format!("&page%5Bafter%5D={next}");
            cursors.push(next);
        }
        server
            .handle()
            .set_fault(Scope::StorageUnits, Fault::EndlessCursor);
        let body = get(
            &server,
            "/storage/storage-units?page%5Boffset%5D=1000&page%5Blimit%5D=5",
        )
        .json();
        assert_eq!(body["meta"]["pagination"]["next"], 1005);
        assert!(body["meta"]["pagination"]["count"].as_i64().unwrap() > 1005);
        assert_eq!(body["data"][0]["id"], "stu-endless-001000");
    }

    #[test]
    fn delay_then_normal_answer() {
        let server = known_server();
        server
            .handle()
            .set_fault(Scope::Jobs, Fault::Delay(Duration::from_millis(300)));
        let started = Instant::now();
        let (status, body) = call(&server, "/admin/jobs", Duration::from_secs(5)).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(status, 200);
        assert!(serde_json::from_str::<Value>(&body).is_ok());
        // Auth still applies after the delay.
        let reply = get_with(server.addr(), "/netbackup/admin/jobs", Some("bad"), Some(ACCEPT));
        assert_eq!(reply.status, 401);
    }

    #[test]
    fn slow_drip_is_slow_but_complete() {
        let server = known_server();
        server
            .handle()
            .set_fault(Scope::Jobs, Fault::SlowDrip { bytes_per_sec: 8_000 });
        let started = Instant::now();
        let reply = get(&server, "/admin/jobs?page%5Blimit%5D=1");
        let took = started.elapsed();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["data"].as_array().unwrap().len(), 1);
        // The body is over 2 KB at 800 bytes per 100 ms.
        assert!(reply.body.len() > 2_000, "{}", reply.body.len());
        assert!(took >= Duration::from_millis(200), "{took:?}");
        // A client with a short overall timeout gives up.
        assert!(call(
            &server,
            "/admin/jobs?page%5Blimit%5D=100",
            Duration::from_millis(300)
        )
        .is_err());
    }

    #[test]
    fn oversized_page_is_streamed_at_the_requested_size() {
        let server = known_server();
        let handle = server.handle();
        for (scope, path) in [
            (Scope::Jobs, "/admin/jobs"),
            (Scope::StorageUnits, "/storage/storage-units"),
        ] {
            handle.set_fault(scope, Fault::OversizedPage { bytes: 3_000_000 });
            let reply = get(&server, path);
            assert_eq!(reply.status, 200);
            assert_eq!(reply.header("content-length"), Some("3000000"));
            assert_eq!(reply.body.len(), 3_000_000);
            let body = reply.json();
            assert!(body["data"].as_array().unwrap().len() > 100);
        }
        handle.set_fault(Scope::Jobs, Fault::OversizedPage { bytes: 10 });
        let reply = get(&server, "/admin/jobs");
        assert_eq!(reply.json()["data"].as_array().unwrap().len(), 0);
        // A client that stops reading does not keep the server from shutting down.
        handle.set_fault(Scope::Jobs, Fault::OversizedPage { bytes: 1 << 30 });
        let _stream = send_jobs_request(&server);
        wait_until("the big request", || handle.request_count() == 4);
        let started = Instant::now();
        server.shutdown();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn fault_table_prefers_the_specific_scope() {
        let mut table = FaultTable::default();
        assert_eq!(table.lookup(Some(Scope::Jobs)), None);
        table.set(Scope::All, Fault::Reset);
        assert_eq!(table.lookup(None).map(|f| f.2), Some(Fault::Reset));
        table.set(Scope::Jobs, Fault::Hang);
        let (scope, id, fault) = table.lookup(Some(Scope::Jobs)).unwrap();
        assert_eq!((scope, fault), (Scope::Jobs, Fault::Hang));
        assert_eq!(
            table.lookup(Some(Scope::StorageUnits)).map(|f| f.2),
            Some(Fault::Reset)
        );
        assert!(table.is_current(Scope::Jobs, id));
        table.set(Scope::Jobs, Fault::Hang);
        assert!(
            !table.is_current(Scope::Jobs, id),
            "a replaced fault is not current"
        );
        table.clear();
        assert_eq!(table.lookup(Some(Scope::Jobs)), None);
    }
}
