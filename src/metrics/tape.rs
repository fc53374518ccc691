//! The tape families: drives (`nbu_tape_drives_count`, `nbu_tape_drive_info`), volumes
//! (`nbu_tape_media_count`), robot device hosts (`nbu_tape_robot_device_hosts`) and volume
//! pools (`nbu_tape_pool_partially_full`). Four parts of the `tape` collector, one
//! summary and one renderer each. Enum values are passed through raw as labels.
//!
//! Pure: records in, text out.

use std::collections::{BTreeMap, BTreeSet};

use super::part::{family, typed, PartSite};
use super::text::{TextWriter, Value};
use crate::nbu::drives::Drive;
use crate::nbu::tape_media::TapeVolume;
use crate::nbu::volume_pools::VolumePool;

/// `nbu_tape_drive_info` labels after `site`: drive_name, media_server, drive_type,
/// robot_number, status.
pub type DriveInfo = (String, String, String, String, String);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrivesSummary {
    /// Drives per `(driveType, robotType, driveStatus)`.
    pub counts: BTreeMap<(String, String, String), u64>,
    pub info: BTreeSet<DriveInfo>,
}

impl DrivesSummary {
    pub fn add(&mut self, drive: &Drive) {
        let a = &drive.attributes;
        *self
            .counts
            .entry((a.drive_type.clone(), a.robot_type.clone(), a.drive_status.clone()))
            .or_default() += 1;
        self.info.insert((
            drive.id.clone(),
            a.device_host.clone(),
            a.drive_type.clone(),
            a.robot_number.map(|n| n.to_string()).unwrap_or_default(),
            a.drive_status.clone(),
        ));
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaSummary {
    /// Volumes per `(volumePool, mediaType, robot.robotType)`; "" for no robot.
    pub counts: BTreeMap<(String, String, String), u64>,
}

impl MediaSummary {
    pub fn add(&mut self, volume: &TapeVolume) {
        let a = &volume.attributes;
        let robot = a.robot.as_ref().map(|r| r.robot_type.clone()).unwrap_or_default();
        *self
            .counts
            .entry((a.volume_pool.clone(), a.media_type.clone(), robot))
            .or_default() += 1;
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RobotHostsSummary {
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolsSummary {
    /// `partiallyFullMedia` per `(volumePoolName, poolType)` (summed on a repeat).
    pub partially_full: BTreeMap<(String, String), i64>,
}

impl PoolsSummary {
    pub fn add(&mut self, pool: &VolumePool) {
        let a = &pool.attributes;
        let n = self
            .partially_full
            .entry((a.volume_pool_name.clone(), a.pool_type.clone()))
            .or_default();
        *n = n.saturating_add(a.partially_full_media);
    }
}

pub(crate) fn write_drives(w: &mut TextWriter, sites: &[PartSite]) {
    let sites = typed::<DrivesSummary>(sites);
    family(
        w,
        &sites,
        "nbu_tape_drives_count",
        "Tape drives by drive type, robot type and drive status.",
        |w, site, s| {
            for ((drive_type, robot_type, status), n) in &s.counts {
                w.sample("nbu_tape_drives_count", "")
                    .label_escaped("site", site)
                    .label("drive_type", drive_type)
                    .label("robot_type", robot_type)
                    .label("status", status)
                    .value(Value::U(*n));
            }
        },
    );
    family(
        w,
        &sites,
        "nbu_tape_drive_info",
        "One series per tape drive with its name, media server, type, robot number and status; always 1.",
        |w, site, s| {
            for (name, host, drive_type, robot_number, status) in &s.info {
                w.sample("nbu_tape_drive_info", "")
                    .label_escaped("site", site)
                    .label("drive_name", name)
                    .label("media_server", host)
                    .label("drive_type", drive_type)
                    .label("robot_number", robot_number)
                    .label("status", status)
                    .value(Value::U(1));
            }
        },
    );
}

pub(crate) fn write_media(w: &mut TextWriter, sites: &[PartSite]) {
    let sites = typed::<MediaSummary>(sites);
    family(
        w,
        &sites,
        "nbu_tape_media_count",
        "Tape volumes by volume pool, media type and robot type (empty for a standalone volume).",
        |w, site, s| {
            for ((pool, media_type, robot_type), n) in &s.counts {
                w.sample("nbu_tape_media_count", "")
                    .label_escaped("site", site)
                    .label("pool", pool)
                    .label("media_type", media_type)
                    .label("robot_type", robot_type)
                    .value(Value::U(*n));
            }
        },
    );
}

pub(crate) fn write_robot_hosts(w: &mut TextWriter, sites: &[PartSite]) {
    let sites = typed::<RobotHostsSummary>(sites);
    family(
        w,
        &sites,
        "nbu_tape_robot_device_hosts",
        "Robot device hosts.",
        |w, site, s| {
            w.sample("nbu_tape_robot_device_hosts", "")
                .label_escaped("site", site)
                .value(Value::U(s.count));
        },
    );
}

pub(crate) fn write_pools(w: &mut TextWriter, sites: &[PartSite]) {
    let sites = typed::<PoolsSummary>(sites);
    family(
        w,
        &sites,
        "nbu_tape_pool_partially_full",
        "Partially full media of a tape volume pool.",
        |w, site, s| {
            for ((name, pool_type), n) in &s.partially_full {
                w.sample("nbu_tape_pool_partially_full", "")
                    .label_escaped("site", site)
                    .label("pool_name", name)
                    .label("pool_type", pool_type)
                    .value(Value::I(*n));
            }
        },
    );
}
