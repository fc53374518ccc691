//! A simulated NetBackup primary server, for the test suites and `nbu-exporter demo`.
//!
//! It speaks the read-only REST calls the exporter makes, on a real TCP socket, as
//! `/work/shared/nbu-api/README.md` describes them: raw API-key auth (401), versioned media
//! types (406), NetBackup's JSON error body, `/admin/jobs` with cursor paging, sort and
//! the OData filter subset the exporter sends, `/storage/storage-units` with offset paging,
//! and `/ping`. Tests steer it through a [`SimHandle`]: swap the key, the versions or the
//! data, inject a [`Fault`], and read back every request it saw.
//!
//! - `server`: HTTP on plain `std::net`, the control handle, the API endpoints;
//! - `data`: the records served, the fixed `known` dataset with its expected metric values,
//!   the seeded `generate` dataset, and each record's JSON form;
//! - `faults`: the misbehaviour knobs and how each is carried out on the wire.
//!
//! It is an independent implementation of the API: it must not use the exporter's NetBackup
//! client or decoding (`nbu::model`, `nbu` client code) or its aggregation (`collect`), so
//! that a bug there cannot hide itself in the tests. Only `nbu::ApiVersion` (a version
//! number) and `timefmt` (time text) are shared.
//!
//! Deliberate strictness, to make exporter bugs visible: unknown query parameters, filter
//! clauses outside the supported subset, `page[limit]` over the maximum and cursors it did
//! not issue are all 400s with a message saying what was wrong. Query strings are decoded
//! as forms are, so a `+` that was not percent-encoded (say in a `+02:00` offset) arrives
//! as a space and the filter is rejected.
//!
//! ```no_run
//! use nbu_exporter::sim::{Fault, Scope, SimData, SimOptions, SimServer};
//! use nbu_exporter::timefmt::now_millis;
//!
//! let server = SimServer::start(SimOptions::new("key", SimData::known(now_millis()))).unwrap();
//! let base = server.base_url(); // http://127.0.0.1:PORT/netbackup
//! server.handle().set_fault(Scope::Jobs, Fault::Status { code: 503, retry_after: Some(5) });
//! # let _ = base;
//! ```

mod data;
mod faults;
mod server;

pub use data::{
    known_expectations, DataSpec, ExpectedStorage, KnownExpectations, SimData, SimJob, SimStorageUnit,
    KNOWN_WINDOW_MILLIS, NO_TIME,
};
pub use faults::{Fault, Scope};
pub use server::{RequestRecord, SimHandle, SimOptions, SimServer, MAX_CONNECTIONS, MAX_HEAD_BYTES};
