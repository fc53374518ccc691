//! nbu-sim: a simulated Veritas NetBackup primary server, for nbu-exporter's test suites,
//! benchmarks and its `demo` and `simulate` subcommands.
//!
//! It speaks the read-only REST calls the exporter makes, on a real TCP socket, as the
//! NetBackup API documents them: raw API-key auth (401), versioned media types (406),
//! NetBackup's JSON error body, HTTPS with generated certificates and `/security/cacert`,
//! `/admin/jobs` with cursor paging, sort and the OData filter
//! subset the exporter sends, `/storage/storage-units` with offset paging, and `/ping`.
//! Tests steer it through a [`SimHandle`]: swap the key, the versions or the data, inject a
//! [`Fault`], and read back every request it saw.
//!
//! - `server`: starting and stopping, the control handle, the state shared with
//!   connections;
//! - `http`: the listener and connection threads, request parsing, the response writer;
//! - `routes`: which endpoint answers, auth, version negotiation (406), the error body;
//! - `paging`: `/admin/jobs` (sort, cursors) and `/storage/storage-units` (offsets);
//! - `resources`, `resource_routes`: the opt-in collectors' records (tape, disk pools,
//!   alerts, malware, catalog, SLOs) and their endpoints, version gating and paging;
//! - `filter`: the OData filter subset of `/admin/jobs`;
//! - `faults`: the misbehaviour knobs and how each is carried out on the wire;
//! - `data`: the records served, the fixed `known` dataset and the seeded `generate` one;
//!   `expected`: the metric values `known` must produce; `wire`: each record's JSON form;
//! - `tls`: HTTPS with generated certificates (a CA-signed leaf, a CA used as the leaf,
//!   expired or misnamed ones, a refused TLS version) and `GET /security/cacert`;
//! - `workload`: an evolving job load (arrivals, QUEUED -> ACTIVE -> DONE with
//!   `lastUpdateTime` advancing, cleanup and deletions) that `SimServer::drive` serves;
//! - `clock`: the primary's own clock (skewed, faster than wall time, or stepped by hand);
//! - `version`, `time`: API version numbers and RFC 3339 time text.
//!
//! It is an independent implementation of the API and depends on nothing of the exporter
//! (not even its version or time types): a bug in the exporter's client, decoding or
//! aggregation must not be able to hide itself in the tests by being shared.
//!
//! Deliberate strictness, to make exporter bugs visible: unknown query parameters, filter
//! clauses outside the supported subset, `page[limit]` over the maximum and cursors it did
//! not issue are all 400s with a message saying what was wrong. Query strings are decoded
//! as forms are, so a `+` that was not percent-encoded (say in a `+02:00` offset) arrives
//! as a space and the filter is rejected.
//!
//! ```no_run
//! use nbu_sim::{now_millis, Fault, Scope, SimData, SimOptions, SimServer};
//!
//! let server = SimServer::start(SimOptions::new("key", SimData::known(now_millis()))).unwrap();
//! let base = server.base_url(); // http://127.0.0.1:PORT/netbackup
//! server.handle().set_fault(Scope::Jobs, Fault::Status { code: 503, retry_after: Some(5) });
//! # let _ = base;
//! ```

mod clock;
mod data;
mod expected;
mod faults;
mod filter;
mod http;
mod paging;
mod resource_routes;
mod resources;
mod routes;
mod server;
#[cfg(test)]
mod testing;
mod time;
mod tls;
mod version;
mod wire;
mod workload;

pub use clock::SimClock;
pub use data::{DataSpec, SimData, SimJob, SimStorageUnit, XorShift, KNOWN_WINDOW_MILLIS, NO_TIME};
pub use expected::{known_expectations, ExpectedStorage, KnownExpectations};
pub use faults::{Fault, Scope};
pub use http::{MAX_CONNECTIONS, MAX_HEAD_BYTES};
pub use resources::{
    ResourceSpec, SimAlert, SimDiskPool, SimDiskVolume, SimDrive, SimImage, SimResources, SimRobot,
    SimScanResult, SimSlo, SimTapeVolume, SimVolumePool,
};
pub use server::{RequestRecord, SimHandle, SimOptions, SimServer};
pub use time::{now_millis, UnixMillis};
pub use tls::{LeafKind, SimTls, SIM_CA_NAME};
pub use version::ApiVersion;
pub use workload::{Workload, WorkloadSpec};
