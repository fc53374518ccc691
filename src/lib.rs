//! nbu-exporter: a Prometheus exporter for Veritas NetBackup whose configuration reloads
//! really apply.
//!
//! ```text
//! SIGHUP/SIGTERM ──[signals]──┐
//! config dir ─────[notify]────┼──> Event channel ──> [reload worker] ── sole writer ──┐
//! POST /-/reload ─[http]──────┘      read once → validate → diff → prepare → swap     │
//!                                                                                     v
//!  Shared { RwLock<Arc<Generation>> } <── readers clone the Arc, never hold the lock
//!     ├─ [http workers]  /metrics renders one generation's site snapshots
//!     └─ [poll-SITE]     one thread per NetBackup site, publishing snapshots
//! ```
//!
//! `config` owns the file format and validation, `nbu` the REST client, `collect` the
//! pollers and snapshots, `metrics` the text output, `reload` the triggers and the worker,
//! `http` the listener, `daemon` the thread topology, `sim` the simulated NetBackup,
//! `manual` the man pages and shell completions generated from `cli`.

pub mod cli;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod http;
pub mod logging;
pub mod manual;
pub mod metrics;
pub mod nbu;
pub mod notify;
pub mod reload;
pub mod sim;
pub mod state;
pub mod timefmt;
