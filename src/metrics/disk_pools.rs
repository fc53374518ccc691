//! `nbu_disk_pool_volume_count` (disk volumes per pool x category x volume state) and
//! `nbu_disk_pool_up` (1 when `diskPoolState` is UP).
//!
//! Pure: disk pools in, text out.

use std::collections::BTreeMap;

use super::part::{family, typed, PartSite};
use super::text::{TextWriter, Value};
use crate::nbu::disk_pools::DiskPool;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiskPoolsSummary {
    /// Disk volumes per `(pool name, storageCategory, volume state)`.
    pub volumes: BTreeMap<(String, String, String), u64>,
    /// Whether each `(pool name, storageCategory)` is UP (a repeat is up only if all are).
    pub up: BTreeMap<(String, String), bool>,
}

impl DiskPoolsSummary {
    pub fn add(&mut self, pool: &DiskPool) {
        let a = &pool.attributes;
        let key = (a.name.clone(), a.storage_category.clone());
        let up = a.disk_pool_state == "UP";
        self.up.entry(key.clone()).and_modify(|u| *u &= up).or_insert(up);
        for volume in &a.disk_volumes {
            *self
                .volumes
                .entry((key.0.clone(), key.1.clone(), volume.state.clone()))
                .or_default() += 1;
        }
    }
}

pub(crate) fn write(w: &mut TextWriter, sites: &[PartSite]) {
    let sites = typed::<DiskPoolsSummary>(sites);
    family(
        w,
        &sites,
        "nbu_disk_pool_volume_count",
        "Disk volumes of a disk pool by volume state.",
        |w, site, s| {
            for ((pool, category, state), n) in &s.volumes {
                w.sample("nbu_disk_pool_volume_count", "")
                    .label_escaped("site", site)
                    .label("pool_name", pool)
                    .label("storage_category", category)
                    .label("state", state)
                    .value(Value::U(*n));
            }
        },
    );
    family(
        w,
        &sites,
        "nbu_disk_pool_up",
        "Whether a disk pool's state is UP (1) or not (0).",
        |w, site, s| {
            for ((pool, category), up) in &s.up {
                w.sample("nbu_disk_pool_up", "")
                    .label_escaped("site", site)
                    .label("pool_name", pool)
                    .label("storage_category", category)
                    .value(Value::U(u64::from(*up)));
            }
        },
    );
}
