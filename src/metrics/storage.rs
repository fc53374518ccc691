//! Storage families (`nbu_disk_*`, `nbu_storage_*`) from each site's storage units, with
//! the names, labels and meaning of the Go exporter; `type` is the storage server type.
//!
//! Two units with the same name and type would give duplicate series, which makes
//! Prometheus reject the whole scrape (the Go exporter answers 500). Here the first unit in
//! NetBackup's order wins and the others are counted as dropped.
//!
//! A value NetBackup did not report (a cloud unit without capacity) has no sample rather
//! than a fake 0. Pure: units in, text out; it must not know about HTTP or requests.

use super::text::{Sample, TextWriter, Value};
use super::SiteRef;
use crate::nbu::StorageUnit;

/// Writes the storage families; returns the number of duplicate units dropped per site, in
/// the order of `sites`.
pub(crate) fn write(w: &mut TextWriter, sites: &[SiteRef]) -> Vec<u64> {
    let per_site: Vec<Vec<&StorageUnit>> = sites.iter().map(shown_units).collect();
    let dropped = sites
        .iter()
        .zip(&per_site)
        .map(|(site, shown)| {
            let all = site
                .snap
                .storage
                .as_ref()
                .map_or(0, |s| s.value.iter().filter(|u| !u.is_tape()).count());
            let n = (all - shown.len()) as u64;
            if n > 0 {
                log::debug!(site = site.snap.site.as_str(), count = n; "drop duplicate storage units");
            }
            n
        })
        .collect();

    per_unit(
        w,
        sites,
        &per_site,
        "nbu_disk_bytes",
        "Free and used bytes of a storage unit; a size NetBackup does not report has no sample.",
        &|w, site, u| {
            for (size, v) in [("free", u.free_capacity_bytes), ("used", u.used_capacity_bytes)] {
                if let Some(v) = v {
                    unit_sample(w, "nbu_disk_bytes", site, u)
                        .label("size", size)
                        .value(Value::I(v));
                }
            }
        },
    );
    simple(
        w,
        sites,
        &per_site,
        "nbu_disk_capacity_bytes",
        "Total capacity in bytes of a storage unit; absent when NetBackup does not report it (e.g. cloud units).",
        |u| u.total_capacity_bytes,
    );
    simple(
        w,
        sites,
        &per_site,
        "nbu_storage_max_concurrent_jobs",
        "Maximum concurrent jobs of a storage unit; absent when NetBackup does not report it.",
        |u| u.max_concurrent_jobs,
    );
    simple(
        w,
        sites,
        &per_site,
        "nbu_storage_max_fragment_size_bytes",
        "Maximum fragment size in bytes of a storage unit; absent when NetBackup does not report it.",
        |u| {
            u.max_fragment_size_megabytes
                .map(|mb| mb.saturating_mul(1_048_576))
        },
    );
    per_unit(
        w,
        sites,
        &per_site,
        "nbu_storage_info",
        "Properties of a storage unit; always 1.",
        &|w, site, u| {
            let b = |v: bool| if v { "true" } else { "false" };
            unit_sample(w, "nbu_storage_info", site, u)
                .label("subtype", &u.storage_sub_type)
                .label("is_cloud", b(u.is_cloud))
                .label("worm_capable", b(u.worm_capable))
                .label("use_worm", b(u.use_worm))
                .label("replication_capable", b(u.replication_capable))
                .label("instant_access", b(u.instant_access_enabled))
                .value(Value::U(1));
        },
    );
    dropped
}

/// One site's units to show: sorted by (name, type), the first of equal keys in
/// NetBackup's order kept. Tape is excluded upstream; filtering again costs nothing.
fn shown_units<'a>(site: &SiteRef<'a>) -> Vec<&'a StorageUnit> {
    let mut units: Vec<&StorageUnit> = site
        .snap
        .storage
        .as_ref()
        .map(|s| s.value.iter().filter(|u| !u.is_tape()).collect())
        .unwrap_or_default();
    // A stable sort keeps equal keys in input order; dedup keeps the first of a run.
    units.sort_by(|a, b| key(a).cmp(&key(b)));
    units.dedup_by(|later, earlier| key(later) == key(earlier));
    units
}

fn key(u: &StorageUnit) -> (&str, &str) {
    (&u.name, &u.storage_server_type)
}

fn unit_sample<'w>(w: &'w mut TextWriter, name: &str, site: &str, u: &StorageUnit) -> Sample<'w> {
    w.sample(name, "")
        .label_escaped("site", site)
        .label("name", &u.name)
        .label("type", &u.storage_server_type)
}

/// A gauge with one optional value per unit and no extra label.
fn simple(
    w: &mut TextWriter,
    sites: &[SiteRef],
    per_site: &[Vec<&StorageUnit>],
    name: &str,
    help: &str,
    value: impl Fn(&StorageUnit) -> Option<i64>,
) {
    per_unit(w, sites, per_site, name, help, &|w, site, u| {
        if let Some(v) = value(u) {
            unit_sample(w, name, site, u).value(Value::I(v));
        }
    });
}

/// A gauge family with the samples `each` writes for every shown unit of every site.
fn per_unit(
    w: &mut TextWriter,
    sites: &[SiteRef],
    per_site: &[Vec<&StorageUnit>],
    name: &str,
    help: &str,
    each: &dyn Fn(&mut TextWriter, &str, &StorageUnit),
) {
    let mark = w.begin_family(name, help, "gauge");
    for (site, units) in sites.iter().zip(per_site) {
        for u in units {
            each(w, &site.label, u);
        }
    }
    w.end_family(mark);
}
