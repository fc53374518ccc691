//! Storage: capacity and use of the storage units, their properties, and the disk pools
//! (tape collector).

use super::{sel, storage_used_ratio};
use crate::model::{Dashboard, Item, Panel};

pub fn dashboard() -> Dashboard {
    Dashboard {
        uid: "nbu-storage",
        title: "NetBackup / Storage and disk pools",
        description: "Storage unit capacity and use, properties, disk pool state",
        variables: Vec::new(),
        items: vec![
            Item::Row("Storage units"),
            Item::Panel(
                Panel::stat("Capacity", "Total capacity of the units that report one.")
                    .query(format!("sum({})", sel("nbu_disk_capacity_bytes", "")), "")
                    .unit("bytes")
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::stat("Used", "")
                    .query(format!("sum({})", sel("nbu_disk_bytes", r#"size="used""#)), "")
                    .unit("bytes")
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::stat("Free", "")
                    .query(format!("sum({})", sel("nbu_disk_bytes", r#"size="free""#)), "")
                    .unit("bytes")
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::stat("Used ratio", "Used over capacity of the units that report one.")
                    .query(storage_used_ratio(""), "")
                    .unit("percentunit")
                    .thresholds("green", &[("orange", 0.8), ("red", 0.9)])
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::bargauge(
                    "Use by storage unit",
                    "The NbuStorageAlmostFull alert fires past 90%.",
                )
                .query(
                    format!(
                        "{} / ignoring (size) ({} > 0)",
                        sel("nbu_disk_bytes", r#"size="used""#),
                        sel("nbu_disk_capacity_bytes", "")
                    ),
                    "{{site}} {{name}}",
                )
                .unit("percentunit")
                .range(0.0, 1.0)
                .thresholds("green", &[("orange", 0.8), ("red", 0.9)]),
            ),
            Item::Panel(
                Panel::timeseries("Used bytes by site", "")
                    .query(
                        format!("sum by (site) ({})", sel("nbu_disk_bytes", r#"size="used""#)),
                        "{{site}} used",
                    )
                    .query(
                        format!("sum by (site) ({})", sel("nbu_disk_bytes", r#"size="free""#)),
                        "{{site}} free",
                    )
                    .unit("bytes"),
            ),
            Item::Panel(
                Panel::table("Storage units", "Capacity, use and limits per unit.")
                    .query(
                        format!(
                            "sum by (site, name, type) ({})",
                            sel("nbu_disk_capacity_bytes", "")
                        ),
                        "Capacity",
                    )
                    .query(
                        format!(
                            "sum by (site, name, type) ({})",
                            sel("nbu_disk_bytes", r#"size="used""#)
                        ),
                        "Used",
                    )
                    .query(
                        format!(
                            "sum by (site, name, type) ({})",
                            sel("nbu_disk_bytes", r#"size="free""#)
                        ),
                        "Free",
                    )
                    .query(
                        format!(
                            "sum by (site, name, type) ({})",
                            sel("nbu_storage_max_concurrent_jobs", "")
                        ),
                        "Max concurrent jobs",
                    )
                    .unit("bytes")
                    .field_unit("Max concurrent jobs", "short")
                    .size(24, 8),
            ),
            Item::Panel(
                Panel::table(
                    "Storage unit properties",
                    "Cloud, WORM, replication and instant access per unit.",
                )
                .query(sel("nbu_storage_info", ""), "")
                .size(24, 8),
            ),
            Item::Row("Disk pools (tape collector)"),
            Item::Panel(
                Panel::stat("Disk pools down", "Disk pools whose state is not UP.")
                    .query(
                        format!("count({} == 0) or vector(0)", sel("nbu_disk_pool_up", "")),
                        "",
                    )
                    .thresholds("green", &[("red", 1.0)]),
            ),
            Item::Panel(
                Panel::stat("Disk pool state", "")
                    .query(sel("nbu_disk_pool_up", ""), "{{site}} {{pool_name}}")
                    .boolean("down", "up")
                    .size(20, 4),
            ),
            Item::Panel(
                Panel::table(
                    "Disk volumes by state",
                    "Volumes of each disk pool by volume state.",
                )
                .query(
                    format!(
                        "sum by (site, pool_name, storage_category, state) ({})",
                        sel("nbu_disk_pool_volume_count", "")
                    ),
                    "Volumes",
                )
                .size(24, 8),
            ),
        ],
    }
}
