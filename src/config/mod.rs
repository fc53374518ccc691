//! Configuration: the checked model the daemon runs on.
//!
//! It must not know how a config is applied at run time.

pub mod model;

pub use model::{Config, ReloadSettings, Scheme, Secret, ServerConfig, SiteAddress, SiteConfig};
