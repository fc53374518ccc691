//! The NetBackup REST API: the records we decode, the versions we speak, and the client
//! that fetches them (auth, versioned `Accept`, detection, retries, pagination).
//!
//! Adding a resource means one file here (`<resource>.rs`: its decoding and its `fetch_*`
//! method on `Client`). It must not know about Prometheus, snapshots or the config file
//! format.

pub mod cacert;
pub mod client;
mod decode;
pub mod detect;
pub mod error;
mod http;
pub mod jobs;
pub mod leaf;
pub mod model;
mod paging;
pub mod probe;
#[cfg(test)]
mod proptests;
pub mod storage;
#[cfg(test)]
mod stub;
pub mod tls;
pub mod x509;

pub use crate::api_version::ApiVersion;
pub use client::{Client, ClientOptions, RequestObserver, RequestOutcome};
pub use detect::PROBE_ENDPOINT;
pub use error::{CaFileProblem, NbuError, SetupError};
pub use jobs::{decode_jobs_page, JobsPage, JOBS_ENDPOINT};
pub use model::{Job, StorageUnit};
pub use storage::{decode_storage_page, StoragePage, STORAGE_ENDPOINT};
