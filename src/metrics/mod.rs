//! The `/metrics` body: NetBackup families written from per-site snapshots, then the
//! exporter's self-metrics, then the config generation the scrape was taken from.
//!
//! `text` is the hand-written exposition writer; `exporter` owns the self-metrics registry.
//! Everything here is pure. It must not know about HTTP, NetBackup requests, threads or the
//! config file.

pub mod exporter;
#[allow(dead_code)] // used by the NetBackup families, next commit
mod text;

pub use exporter::ExporterMetrics;

/// The `Content-Type` of the `/metrics` body.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
