//! nbu-exporter: a Prometheus exporter for Veritas NetBackup whose configuration reloads
//! really apply.
//!
//! ```text
//! SIGHUP/SIGTERM ──[signals]──┐
//! config dir ─────[notify]────┼──> Event channel ──> [reload worker] ── sole writer ──┐
//! POST /-/reload ─[http]──────┘      read once → validate → diff → prepare → commit   │
//!                    (startup: load → prepare from nothing → commit, = generation 1)  v
//!  SharedState { RwLock<Arc<Generation>> } <── readers clone the Arc, never hold the lock
//!     ├─ [http workers]  /metrics renders one generation's site snapshots
//!     └─ [poll-SITE]     one thread per NetBackup site, publishing snapshots
//! ```
//!
//! `config` owns the file format and validation, `nbu` the REST client, `collect` the
//! pollers and snapshots, `metrics` the text output and self-metrics, `state` what the
//! threads share (the generation, events, attempts), `http_server` the exporter's own HTTP
//! listener, `reload` the triggers, the worker and `apply` (how a generation is built),
//! `daemon` the thread topology, `demo` the `demo`/`simulate` subcommands over the simulated
//! NetBackup of the `nbu-sim` crate (only with the `demo` feature). Arrows between them point
//! one way; `ARCHITECTURE.md` lists them. `manual` generates the man pages and shell
//! completions from `cli`.

pub mod api_version;
pub mod cli;
pub mod collect;
pub mod config;
pub mod connect_check;
pub mod daemon;
#[cfg(feature = "demo")]
pub mod demo;
pub mod fetch_ca;
pub mod http_server;
pub mod logging;
pub mod manual;
pub mod metrics;
pub mod nbu;
pub mod reload;
pub mod sd_notify;
pub mod state;
pub mod sys;
pub mod timefmt;
pub mod version;
