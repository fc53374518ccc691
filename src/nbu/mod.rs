//! The NetBackup REST API: the records we decode and the versions we speak.
//!
//! It must not know about Prometheus, snapshots or the config file format.

pub mod model;
pub mod version;

pub use model::{Job, StorageUnit};
pub use version::ApiVersion;
