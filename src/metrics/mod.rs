//! The `/metrics` body: NetBackup families written from per-site snapshots, then the
//! exporter's self-metrics, then the config generation the scrape was taken from.
//!
//! One file per resource (`site`, `jobs`, `storage`, and each opt-in collector's: `alerts`,
//! `malware`, `catalog`, `slos`, `tape`, `disk_pools`, `clients`, listed in
//! `collect::collectors::PARTS`) writes its families with the small
//! text writer in `text`; `exporter` owns the self-metrics registry. Everything here is
//! pure: a [`ScrapeView`] in, bytes out. It must not know about HTTP, NetBackup requests,
//! threads or the config file, and it never takes a label from the config (no secret can
//! reach the output).
//!
//! Guarantees of [`render`]: one HELP and TYPE per family with all sites' samples under it;
//! `site` first; sites in view order and keys sorted; never a duplicate series (duplicate
//! storage units are dropped and counted, a repeated site is skipped); every site has `nbu_up`,
//! also before its first sweep.

pub mod alerts;
mod assembly;
pub mod catalog;
pub mod clients;
pub mod disk_pools;
pub mod exporter;
mod jobs;
pub mod malware;
pub mod part;
mod site;
pub mod slos;
mod storage;
pub mod tape;
pub mod text;

use std::sync::Arc;

use crate::collect::SiteSnapshot;
use part::PartSite;
use text::{escaped_label_value, TextWriter, Value};

pub use assembly::{SiteText, SitesReader, SitesText};
pub use exporter::ExporterMetrics;

/// The `Content-Type` of the body [`render`] returns.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What one scrape shows, all taken from one config generation.
#[derive(Clone, Copy, Debug)]
pub struct ScrapeView<'a> {
    pub generation: u64,
    /// The first 12 hex characters of the config file's SHA-256.
    pub config_sha256: &'a str,
    pub sites: &'a [Arc<SiteSnapshot>],
}

/// A site to write, with its `site` label value escaped once.
pub(crate) struct SiteRef<'a> {
    pub snap: &'a SiteSnapshot,
    pub label: String,
}

/// Renders the whole `/metrics` body in text format 0.0.4.
pub fn render(view: &ScrapeView, exporter: &ExporterMetrics) -> Vec<u8> {
    let mut body = Vec::new();
    render_into(view, exporter, &mut body);
    body
}

/// [`render`] into `body`, which is cleared first: a caller that keeps one buffer per
/// thread renders every scrape into the same memory instead of a new allocation each time.
pub fn render_into(view: &ScrapeView, exporter: &ExporterMetrics, body: &mut Vec<u8>) {
    body.clear();
    render_sites(view.sites, body);
    render_exporter(view.generation, view.config_sha256, exporter, body);
}

/// Appends the first part of the body: the NetBackup families and
/// `nbu_exporter_duplicate_series_dropped`. It depends on the snapshots alone, so a caller
/// may keep it while the same snapshots are current; `/metrics` keeps it as a
/// [`SitesText`] instead, so that a site's text is rendered once per snapshot and the body
/// is never copied.
pub fn render_sites(snapshots: &[Arc<SiteSnapshot>], body: &mut Vec<u8>) {
    let texts = snapshots
        .iter()
        .map(|snap| Arc::new(SiteText::render(snap)))
        .collect();
    SitesText::assemble(texts).write_to(body);
}

/// Writes every NetBackup family of `sites`, each family's samples of all sites together.
fn write_site_families(w: &mut TextWriter, sites: &[SiteRef]) {
    site::write(w, sites);
    jobs::write(w, sites);
    let dropped = storage::write(w, sites);
    write_parts(w, sites);

    let mark = w.begin_family(
        "nbu_exporter_duplicate_series_dropped",
        "Storage units left out of this scrape because an earlier unit of the site has the same name and type, so their series would be duplicates.",
        "gauge",
    );
    for (site, n) in sites.iter().zip(&dropped) {
        w.sample("nbu_exporter_duplicate_series_dropped", "")
            .label_escaped("site", &site.label)
            .value(Value::U(*n));
    }
    w.end_family(mark);
}

/// Appends the rest of the body, which changes from scrape to scrape: the self-metrics,
/// then the config generation the scrape was taken from (its number and the first 12
/// hex characters of its SHA-256).
pub fn render_exporter(generation: u64, config_sha256: &str, exporter: &ExporterMetrics, body: &mut Vec<u8>) {
    let mut w = TextWriter::over(std::mem::take(body));
    let families = exporter.registry().gather();
    if let Err(e) = prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &families, w.buf_mut()) {
        log::error!(error:% = e; "encode exporter metrics failed");
    }

    let mark = w.begin_family(
        "nbu_exporter_config_generation",
        "Generation of the configuration this scrape was taken from; increases on every applied reload.",
        "gauge",
    );
    w.sample("nbu_exporter_config_generation", "")
        .value(Value::U(generation));
    w.end_family(mark);
    let mark = w.begin_family(
        "nbu_exporter_config_info",
        "The configuration this scrape was taken from: first 12 hex characters of its SHA-256; always 1.",
        "gauge",
    );
    w.sample("nbu_exporter_config_info", "")
        .label("sha256", config_sha256)
        .value(Value::U(1));
    w.end_family(mark);

    *body = w.into_bytes();
}

/// The opt-in collector parts' families, in table order, from each site's last good data.
fn write_parts(w: &mut TextWriter, sites: &[SiteRef]) {
    for part in &crate::collect::collectors::PARTS {
        let data: Vec<PartSite> = sites
            .iter()
            .filter_map(|s| {
                let (value, _) = s.snap.parts.get(part.label)?.data.as_ref()?;
                Some(PartSite {
                    label: &s.label,
                    data: value.as_ref(),
                })
            })
            .collect();
        if !data.is_empty() {
            (part.render)(w, &data);
        }
    }
}

/// A rough body size so the buffer is allocated once: about 112 bytes a series plus the
/// self-metrics. Over-estimating only reserves address space; under-estimating only grows.
fn size_hint(sites: &[SiteRef]) -> usize {
    let series: usize = sites
        .iter()
        .map(|site| {
            let jobs = site.snap.jobs.as_ref().map_or(0, |j| {
                let j = &j.value;
                2 * j.by_outcome.len()
                    + j.status_count.len()
                    + j.files.len()
                    + j.dedup.len()
                    + 12 * j.durations.len()
                    + j.state_count.len()
                    + j.queued.len()
            });
            let storage = site.snap.storage.as_ref().map_or(0, |s| 6 * s.value.len());
            let parts = 64 * site.snap.parts.len();
            5 + jobs + storage + parts
        })
        .sum();
    16 * 1024 + 112 * series
}

/// Writes one family: the header, then `each` for every site; no header if no sample.
pub(crate) fn write_family(
    w: &mut TextWriter,
    sites: &[SiteRef],
    name: &str,
    help: &str,
    kind: &str,
    mut each: impl FnMut(&mut TextWriter, &SiteRef),
) {
    let mark = w.begin_family(name, help, kind);
    for site in sites {
        each(w, site);
    }
    w.end_family(mark);
}

#[cfg(test)]
mod check;
#[cfg(test)]
mod tests;
