//! Tape (tape collector): drives, media, robots and volume pools.

use super::sel;
use crate::model::{Dashboard, Item, Panel};

/// The `collector` values of the tape collector's parts (disk pools are on the storage board).
const TAPE_PARTS: &str = r#"collector=~"tape_drives|tape_media|robot_hosts|volume_pools""#;

pub fn dashboard() -> Dashboard {
    Dashboard {
        uid: "nbu-tape",
        title: "NetBackup / Tape",
        description: "Tape drives, media, robots and volume pools",
        variables: Vec::new(),
        items: vec![
            Item::Row("Tape library"),
            Item::Panel(
                Panel::stat("Drives", "").query(format!("sum({})", sel("nbu_tape_drives_count", "")), ""),
            ),
            Item::Panel(
                Panel::stat("Media", "").query(format!("sum({})", sel("nbu_tape_media_count", "")), ""),
            ),
            Item::Panel(
                Panel::stat("Robot device hosts", "")
                    .query(format!("sum({})", sel("nbu_tape_robot_device_hosts", "")), ""),
            ),
            Item::Panel(
                Panel::stat(
                    "Partially full media",
                    "Media that are neither empty nor full, over all volume pools.",
                )
                .query(format!("sum({})", sel("nbu_tape_pool_partially_full", "")), ""),
            ),
            Item::Panel(
                Panel::stat(
                    "Tape parts supported",
                    "Parts of the tape collector the site's API version offers (1) or not (0).",
                )
                .query(
                    sel("nbu_exporter_collector_supported", TAPE_PARTS),
                    "{{site}} {{collector}}",
                )
                .boolean("no", "yes")
                .size(8, 4),
            ),
            Item::Row("Drives"),
            Item::Panel(
                Panel::bargauge("Drives by status", "Drives per raw NetBackup drive status.").query(
                    format!("sum by (site, status) ({})", sel("nbu_tape_drives_count", "")),
                    "{{site}} {{status}}",
                ),
            ),
            Item::Panel(Panel::bargauge("Drives by type", "").query(
                format!(
                    "sum by (site, drive_type, robot_type) ({})",
                    sel("nbu_tape_drives_count", "")
                ),
                "{{site}} {{drive_type}} ({{robot_type}})",
            )),
            Item::Panel(
                Panel::table("Drives", "Every drive with its media server, robot and status.")
                    .query(sel("nbu_tape_drive_info", ""), "")
                    .size(24, 8),
            ),
            Item::Row("Media and volume pools"),
            Item::Panel(Panel::bargauge("Media by volume pool", "").query(
                format!("sum by (site, pool) ({})", sel("nbu_tape_media_count", "")),
                "{{site}} {{pool}}",
            )),
            Item::Panel(
                Panel::bargauge("Media by type", "Robot type empty: the volume is in no robot.").query(
                    format!(
                        "sum by (site, media_type, robot_type) ({})",
                        sel("nbu_tape_media_count", "")
                    ),
                    "{{site}} {{media_type}} {{robot_type}}",
                ),
            ),
            Item::Panel(
                Panel::timeseries("Partially full media by pool", "")
                    .query(
                        sel("nbu_tape_pool_partially_full", ""),
                        "{{site}} {{pool_name}} ({{pool_type}})",
                    )
                    .size(24, 8),
            ),
        ],
    }
}
