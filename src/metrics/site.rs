//! Site-level NetBackup families: `nbu_up`, `nbu_api_version` and
//! `nbu_last_scrape_timestamp_seconds`, from the snapshot's flags and the collection times of
//! its last good data.
//!
//! Pure: snapshots in, text out. It must not know how a sweep ran or about HTTP.

use super::text::{TextWriter, Value};
use super::{write_family, SiteRef};

pub(crate) fn write(w: &mut TextWriter, sites: &[SiteRef]) {
    write_family(
        w,
        sites,
        "nbu_up",
        "Whether the latest sweep of the site reached NetBackup and got jobs or storage data (1) or not (0); 0 before the first sweep.",
        "gauge",
        |w, site| {
            let up = u64::from(site.snap.up);
            w.sample("nbu_up", "").label_escaped("site", &site.label).value(Value::U(up));
        },
    );
    write_family(
        w,
        sites,
        "nbu_api_version",
        "NetBackup REST API version used by the latest successful sweep; always 1.",
        "gauge",
        |w, site| {
            if let Some(version) = site.snap.api_version {
                w.sample("nbu_api_version", "")
                    .label_escaped("site", &site.label)
                    .label("version", &version.to_string())
                    .value(Value::U(1));
            }
        },
    );
    write_family(
        w,
        sites,
        "nbu_last_scrape_timestamp_seconds",
        "Unix time of the sweep that collected the data shown for a source; it ages while sweeps fail, since the last good data is kept.",
        "gauge",
        |w, site| {
            let jobs = site.snap.jobs.as_ref().map(|s| s.collected_at);
            let storage = site.snap.storage.as_ref().map(|s| s.collected_at);
            let parts = site
                .snap
                .parts
                .iter()
                .map(|(label, state)| (*label, state.data.as_ref().map(|(_, at)| *at)));
            for (source, at) in [("jobs", jobs), ("storage", storage)].into_iter().chain(parts) {
                if let Some(ms) = at {
                    w.sample("nbu_last_scrape_timestamp_seconds", "")
                        .label_escaped("site", &site.label)
                        .label("source", source)
                        .value(Value::F(ms as f64 / 1000.0));
                }
            }
        },
    );
}
