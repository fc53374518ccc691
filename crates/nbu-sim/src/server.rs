//! Starting and stopping a simulated primary server, and the control surface tests use:
//! [`SimOptions`], [`SimServer`], [`SimHandle`] and the requests it recorded.
//!
//! Owns the state shared by the handles and the connection threads (key, versions, data,
//! faults, request log). How connections are served belongs to `http`, what a request is
//! answered to `routes` and `paging`, how it misbehaves to `faults`.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::clock::SimClock;
use crate::data::SimData;
use crate::faults::{Fault, FaultTable, Scope};
use crate::http::{accept_loop, Request};
use crate::paging::Served;
use crate::routes::{negotiate, JSON_MEDIA};
use crate::tls::{SimTls, TlsMaterial};
use crate::version::ApiVersion;
use crate::workload::Workload;

/// Requests kept for `SimHandle::requests` (the oldest are dropped beyond this).
const MAX_RECORDS: usize = 10_000;

/// How to start a simulated primary server.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Where to listen; `127.0.0.1:0` by default (a free port).
    pub bind: SocketAddr,
    /// The only `Authorization` value accepted (raw, no `Bearer`).
    pub api_key: String,
    /// API versions answered; others get 406. All four by default.
    pub versions: Vec<ApiVersion>,
    pub data: SimData,
    /// The primary's clock (`lastUpdateTime` of static unfinished jobs, `/ping`); the wall
    /// clock by default.
    pub clock: SimClock,
}

impl SimOptions {
    pub fn new(api_key: &str, data: SimData) -> SimOptions {
        SimOptions {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: api_key.to_string(),
            versions: ApiVersion::ALL.to_vec(),
            data,
            clock: SimClock::wall(),
        }
    }
}

/// One request as the simulator saw it, with the status it answered (0 when it answered
/// nothing: reset, hang, or shutdown during a delay).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRecord {
    /// The decoded path, e.g. `/netbackup/admin/jobs`; empty if the request did not parse.
    pub path: String,
    /// Decoded query parameters in request order.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header as sent.
    pub api_key: Option<String>,
    pub accept: Option<String>,
    pub status: u16,
    /// When the request head had been read.
    pub at: Instant,
}

/// A running simulated NetBackup primary server. Dropping it stops it and joins every
/// thread it started.
pub struct SimServer {
    addr: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    /// The threads of [`SimServer::drive`].
    drivers: Vec<JoinHandle<()>>,
}

impl SimServer {
    /// Binds `options.bind` and starts serving plain HTTP.
    pub fn start(options: SimOptions) -> io::Result<SimServer> {
        SimServer::start_with(options, None)
    }

    /// Binds `options.bind` and starts serving HTTPS with certificates generated from `tls`
    /// (and `GET /security/cacert` publishing their CA).
    pub fn start_https(options: SimOptions, tls: &SimTls) -> io::Result<SimServer> {
        SimServer::start_with(options, Some(Arc::new(TlsMaterial::generate(tls)?)))
    }

    fn start_with(options: SimOptions, tls: Option<Arc<TlsMaterial>>) -> io::Result<SimServer> {
        let listener = TcpListener::bind(options.bind)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            local_addr: addr,
            clock: options.clock,
            active: AtomicUsize::new(0),
            state: Mutex::new(State {
                api_key: options.api_key,
                versions: options.versions,
                data: Arc::new(Served::new(options.data)),
                faults: FaultTable::default(),
            }),
            log: Mutex::new(RequestLog::default()),
            tls,
        });
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("sim-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(SimServer {
            addr,
            shared,
            accept: Some(accept),
            drivers: Vec::new(),
        })
    }

    /// Serves `workload` as it evolves: every `period` of wall time (and once at once) it
    /// is advanced to the server clock's `now` and its records replace the data served.
    /// Runs until the server stops.
    pub fn drive(&mut self, mut workload: Workload, period: Duration) -> io::Result<()> {
        let shared = Arc::clone(&self.shared);
        let period = period.max(Duration::from_millis(10));
        let handle = thread::Builder::new()
            .name("sim-workload".into())
            .spawn(move || {
                while !shared.stopping() {
                    workload.advance_to(shared.clock.now());
                    shared.set_served(Served::new(workload.data()));
                    let until = Instant::now() + period;
                    while !shared.stopping() && Instant::now() < until {
                        thread::sleep(Duration::from_millis(10).min(period));
                    }
                }
            })?;
        self.drivers.push(handle);
        Ok(())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The CA certificate (PEM) of an HTTPS server: what `/security/cacert` publishes and
    /// what a `caFile` must hold to trust it.
    pub fn ca_pem(&self) -> Option<String> {
        self.shared.tls().map(|tls| tls.ca_pem.clone())
    }

    /// The certificate (PEM) an HTTPS server presents, and its `notAfter` in Unix seconds.
    pub fn leaf(&self) -> Option<(String, i64)> {
        self.shared
            .tls()
            .map(|tls| (tls.leaf_pem.clone(), tls.leaf_not_after))
    }

    /// `http://127.0.0.1:PORT/netbackup`, or `https://…` when serving HTTPS (a wildcard bind
    /// address becomes loopback).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let scheme = if self.shared.tls().is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}/netbackup", SocketAddr::new(ip, self.addr.port()))
    }

    pub fn handle(&self) -> SimHandle {
        SimHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops accepting, ends every connection (hung ones included) and joins all threads.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for driver in self.drivers.drain(..) {
            let _ = driver.join();
        }
    }
}

/// Changes a running server's behaviour and reads what it saw. Cheap to clone; usable
/// from any thread.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl SimHandle {
    /// Makes requests in `scope` misbehave (replacing that scope's previous fault). A
    /// request matching both a specific scope and `Scope::All` gets the specific fault.
    pub fn set_fault(&self, scope: Scope, fault: Fault) {
        self.shared.state.lock().faults.set(scope, fault);
    }

    /// Removes every fault; hung connections then close.
    pub fn clear_faults(&self) {
        self.shared.state.lock().faults.clear();
    }

    pub fn set_api_key(&self, key: &str) {
        self.shared.state.lock().api_key = key.to_string();
    }

    pub fn set_versions(&self, versions: Vec<ApiVersion>) {
        self.shared.state.lock().versions = versions;
    }

    /// Replaces the data served; requests already being answered keep the old data.
    pub fn set_data(&self, data: SimData) {
        self.shared.set_served(Served::new(data));
    }

    /// The primary's clock (shared: `advance` on it moves the server's time).
    pub fn clock(&self) -> SimClock {
        self.shared.clock.clone()
    }

    /// The most recent requests (up to 10,000), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.lock().records.iter().cloned().collect()
    }

    /// Every request recorded since start or the last `clear_requests`.
    pub fn request_count(&self) -> usize {
        self.shared.log.lock().total
    }

    pub fn clear_requests(&self) {
        let mut log = self.shared.log.lock();
        log.records.clear();
        log.total = 0;
    }
}

/// State shared by the accept thread, the connection threads and the handles.
pub(crate) struct Shared {
    pub(crate) stop: AtomicBool,
    local_addr: SocketAddr,
    pub(crate) clock: SimClock,
    /// Connections being served; `http` keeps it below `MAX_CONNECTIONS`.
    pub(crate) active: AtomicUsize,
    state: Mutex<State>,
    log: Mutex<RequestLog>,
    /// Certificates and settings when serving HTTPS.
    tls: Option<Arc<TlsMaterial>>,
}

struct State {
    api_key: String,
    versions: Vec<ApiVersion>,
    data: Arc<Served>,
    faults: FaultTable,
}

#[derive(Default)]
struct RequestLog {
    records: VecDeque<RequestRecord>,
    total: usize,
}

impl Shared {
    pub(crate) fn record(&self, record: RequestRecord) {
        let mut log = self.log.lock();
        if log.records.len() >= MAX_RECORDS {
            log.records.pop_front();
        }
        log.records.push_back(record);
        log.total += 1;
    }

    /// The fault for a request whose path is in `scope` (`None`: only `Scope::All`).
    pub(crate) fn fault_for(&self, scope: Option<Scope>) -> Option<(Scope, u64, Fault)> {
        self.state.lock().faults.lookup(scope)
    }

    pub(crate) fn tls(&self) -> Option<&TlsMaterial> {
        self.tls.as_deref()
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the fault `id` is still the one set for `scope`.
    pub(crate) fn fault_still_set(&self, scope: Scope, id: u64) -> bool {
        self.state.lock().faults.is_current(scope, id)
    }

    /// The key, the versions and the data a request is answered with, taken together.
    pub(crate) fn answer_state(&self) -> (String, Vec<ApiVersion>, Arc<Served>) {
        let state = self.state.lock();
        (
            state.api_key.clone(),
            state.versions.clone(),
            Arc::clone(&state.data),
        )
    }

    fn set_served(&self, served: Served) {
        let served = Arc::new(served);
        self.state.lock().data = served;
    }

    pub(crate) fn served(&self) -> Arc<Served> {
        Arc::clone(&self.state.lock().data)
    }

    /// The version a faulty 200 claims: the negotiated one, else the newest accepted.
    pub(crate) fn claimed_version(&self, req: &Request) -> ApiVersion {
        let versions = self.state.lock().versions.clone();
        negotiate(req.accept().as_deref(), JSON_MEDIA, &versions)
            .or_else(|| versions.iter().max().copied())
            .unwrap_or(ApiVersion::V13_0)
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::time::now_millis;

    #[test]
    fn requests_are_recorded_decoded() {
        let server = start(SimData::known(now_millis()));
        let handle = server.handle();
        let filter = "state eq 'ACTIVE'";
        get(
            &server,
            &format!("/admin/jobs?filter={}&page%5Blimit%5D=3", enc(filter)),
        );
        get_with(server.addr(), "/netbackup/admin/jobs", Some("nope"), None);
        let records = handle.requests();
        assert_eq!(handle.request_count(), 2);
        assert_eq!(records[0].path, "/netbackup/admin/jobs");
        assert_eq!(
            records[0].query,
            vec![
                ("filter".to_string(), filter.to_string()),
                ("page[limit]".to_string(), "3".to_string())
            ]
        );
        assert_eq!(records[0].api_key.as_deref(), Some(KEY));
        assert_eq!(
            records[0].accept.as_deref(),
            Some("application/vnd.netbackup+json;version=13.0")
        );
        assert_eq!((records[0].status, records[1].status), (200, 401));
        assert!(records[0].at <= records[1].at);
        handle.clear_requests();
        assert_eq!(handle.request_count(), 0);
        assert!(handle.requests().is_empty());
    }

    #[test]
    fn set_data_replaces_what_is_served() {
        let server = start(SimData::known(now_millis()));
        server.handle().set_data(SimData::default());
        let body = get(&server, "/admin/jobs").json();
        assert_eq!(body["data"].as_array().unwrap().len(), 0);
        let body = get(&server, "/storage/storage-units").json();
        assert_eq!(body["meta"]["pagination"]["count"], 0);
        assert_eq!(body["meta"]["pagination"]["pages"], 0);
    }

    #[test]
    fn a_driven_workload_evolves_with_the_server_clock_and_honours_last_update_gt() {
        use crate::time::format_rfc3339_millis;
        use crate::workload::{Workload, WorkloadSpec};
        const T0: i64 = 1_750_000_000_000;
        let clock = SimClock::manual(T0);
        let mut options = SimOptions::new(KEY, SimData::default());
        options.clock = clock.clone();
        let mut server = SimServer::start(options).unwrap();
        let spec = WorkloadSpec {
            jobs_per_hour: 3_000,
            ..WorkloadSpec::default()
        };
        server
            .drive(Workload::new(spec, T0), Duration::from_millis(10))
            .unwrap();
        // Changes in the 5 minutes after T0, oldest first, as the exporter asks for them.
        let since = |t: i64| {
            format!(
                "/admin/jobs?filter={}&sort=lastUpdateTime&page%5Blimit%5D=100",
                enc(&format!("lastUpdateTime gt {}", format_rfc3339_millis(t)))
            )
        };
        let updates = |body: &serde_json::Value| -> Vec<i64> {
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| {
                    let text = j["attributes"]["lastUpdateTime"].as_str().unwrap();
                    crate::time::parse_rfc3339(text).unwrap()
                })
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !get(&server, &since(T0)).json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            assert!(
                Instant::now() < deadline,
                "jobs changed after T0 although the clock stood still"
            );
            thread::sleep(Duration::from_millis(5));
        }
        clock.advance(5 * 60_000);
        let deadline = Instant::now() + Duration::from_secs(10);
        let body = loop {
            let body = get(&server, &since(T0)).json();
            if !body["data"].as_array().unwrap().is_empty() {
                break body;
            }
            assert!(Instant::now() < deadline, "the workload did not follow the clock");
            thread::sleep(Duration::from_millis(5));
        };
        let times = updates(&body);
        assert!(
            times.iter().all(|t| *t > T0 && *t <= T0 + 5 * 60_000),
            "{times:?}"
        );
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        // 3,000 jobs/h: about 250 arrivals in 5 minutes, so a full first page.
        assert_eq!(times.len(), 100);
        server.shutdown();
    }
}
