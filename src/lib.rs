//! nbu-exporter: a Prometheus exporter for Veritas NetBackup whose configuration reloads
//! really apply.

pub mod collect;
pub mod config;
pub mod metrics;
pub mod nbu;
pub mod sim;
pub mod timefmt;
