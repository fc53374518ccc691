//! The NetBackup REST API: the records we decode, the versions we speak, and the client
//! that fetches them (auth, versioned `Accept`, detection, retries, pagination).
//!
//! Adding a resource means one file here (`<resource>.rs`: its decoding and its `fetch_*`
//! method on `Client`); the opt-in collectors' listings share `listing` (every page, the
//! endpoint's pagination style, a record cap, records handed over page by page). It must not know about Prometheus, snapshots or the config file
//! format.

pub mod alerts;
pub mod cacert;
pub mod catalog;
pub mod client;
pub mod client_backups;
mod decode;
pub mod detect;
pub mod disk_pools;
pub mod drives;
pub mod error;
mod http;
pub mod jobs;
pub mod leaf;
mod listing;
pub mod malware;
pub mod model;
mod paging;
pub mod probe;
#[cfg(test)]
mod proptests;
pub mod robot_hosts;
pub mod slos;
pub mod storage;
#[cfg(test)]
pub(crate) mod stub;
pub mod tape_media;
pub mod tls;
pub mod volume_pools;
pub mod x509;

pub use crate::api_version::ApiVersion;
pub use client::{Client, ClientOptions, RequestObserver, RequestOutcome};
pub use detect::PROBE_ENDPOINT;
pub use error::{CaFileProblem, NbuError, SetupError};
pub use jobs::{decode_jobs_page, JobsPage, JobsQuery, RecordCap, JOBS_ENDPOINT};
pub use listing::ListingPage;
pub use model::{Job, StorageUnit};
pub use storage::{decode_storage_page, StorageListing, StoragePage, STORAGE_ENDPOINT};
