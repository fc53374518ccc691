//! The NetBackup REST API: the records we decode, the versions we speak, and the client
//! that fetches them (auth, versioned `Accept`, detection, retries, pagination).
//!
//! Adding a resource means one file here (`<resource>.rs`: its decoding and its `fetch_*`
//! method on `Client`). It must not know about Prometheus, snapshots or the config file
//! format.

pub mod client;
mod decode;
pub mod detect;
pub mod error;
mod http;
pub mod jobs;
pub mod model;
mod paging;
#[cfg(test)]
mod proptests;
pub mod storage;
#[cfg(test)]
pub(crate) mod stub;

pub use crate::api_version::ApiVersion;
pub use client::{Client, ClientOptions, RequestObserver, RequestOutcome};
pub use detect::PROBE_ENDPOINT;
pub use error::{CaFileProblem, NbuError, SetupError};
pub use jobs::{decode_jobs_page, JobsPage, JobsQuery, RecordCap, JOBS_ENDPOINT};
pub use model::{Job, StorageUnit};
pub use storage::{decode_storage_page, StorageListing, StoragePage, STORAGE_ENDPOINT};
