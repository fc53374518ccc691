//! The records behind the opt-in collectors' endpoints, as a NetBackup primary stores them:
//! tape drives, tape volumes, robot device hosts, tape volume pools, disk pools, alerts,
//! malware scan results, catalog images and SLOs ([`SimResources`]), and the seeded
//! [`SimResources::generate`] that fills them for volume tests and the demo.
//!
//! An independent model, like `data`: it shares nothing with the exporter's decoders or
//! aggregation. It knows nothing of JSON, paging or HTTP (`resource_routes` answers).

use crate::data::XorShift;
use crate::time::UnixMillis;

/// `GET /storage/drives` record. The drive name is the resource `id`.
#[derive(Clone, Debug, PartialEq)]
pub struct SimDrive {
    pub name: String,
    /// DT_HCART, DT_DLT, ... (sent raw, so a value outside the spec enum can be tested).
    pub drive_type: String,
    /// NA, NOT_ROBOTIC, ACS, TLD.
    pub robot_type: String,
    pub robot_number: i64,
    /// DRIVE_STATUS_UP, DRIVE_STATUS_DOWN, DRIVE_STATUS_MIXED, DRIVE_STATUS_DISABLED.
    pub status: String,
    pub device_host: String,
}

/// The nested `robot` object of a tape volume.
#[derive(Clone, Debug, PartialEq)]
pub struct SimRobot {
    pub robot_type: String,
    pub robot_number: i64,
    pub robot_host: String,
}

/// `GET /storage/tape-media` record (`volumeInfo`); the media id is the resource `id`.
#[derive(Clone, Debug, PartialEq)]
pub struct SimTapeVolume {
    pub media_id: String,
    pub media_type: String,
    pub volume_pool: String,
    /// `None`: a standalone volume, sent without a `robot` object.
    pub robot: Option<SimRobot>,
}

/// `GET /storage/tape-volume-pools` record (`volumePoolDetails`).
#[derive(Clone, Debug, PartialEq)]
pub struct SimVolumePool {
    pub number: i64,
    pub name: String,
    /// REGULAR_MEDIA_POOL, SCRATCH_MEDIA_POOL, CATALOG_MEDIA_POOL, AVAILABLE_MEDIA_POOL.
    pub pool_type: String,
    pub partially_full: i64,
}

/// One `diskVolumes[]` entry of a disk pool.
#[derive(Clone, Debug, PartialEq)]
pub struct SimDiskVolume {
    pub name: String,
    /// UP, DOWN, UNKNOWN.
    pub state: String,
}

/// `GET /storage/disk-pools` record.
#[derive(Clone, Debug, PartialEq)]
pub struct SimDiskPool {
    pub name: String,
    /// ADVANCED_DISK, CLOUD, CLOUD_CATALYST, MSDP, OPEN_STORAGE.
    pub storage_category: String,
    /// UP, DOWN, TRANSIENT.
    pub state: String,
    pub volumes: Vec<SimDiskVolume>,
}

/// `GET /manage/alerts` record.
#[derive(Clone, Debug, PartialEq)]
pub struct SimAlert {
    pub id: i64,
    /// INFO, WARNING, ERROR.
    pub severity: String,
    /// JOB.
    pub category: String,
    pub created: UnixMillis,
}

/// `GET /malware/latest-scan-results` record (`scanResult`).
#[derive(Clone, Debug, PartialEq)]
pub struct SimScanResult {
    pub id: String,
    pub client: String,
    /// Unix seconds, as in backup ids (`client_1718000000`).
    pub backup_time: i64,
    pub scan_state: String,
    pub files_scanned: i64,
    /// `numberOfFilesImpacted` (12.0+) or `noOfFilesImpacted` (10.0).
    pub files_impacted: i64,
}

/// A catalog image, seen only through `GET /catalog/images` counts.
#[derive(Clone, Debug, PartialEq)]
pub struct SimImage {
    pub backup_id: String,
    pub client: String,
    pub backup_time: UnixMillis,
    pub malware_status: String,
    pub anomaly_status: String,
}

/// `GET /servicecatalog/slos` record (`slov3`).
#[derive(Clone, Debug, PartialEq)]
pub struct SimSlo {
    pub id: String,
    pub name: String,
    pub workload_type: String,
    pub subscription_count: i64,
}

/// Everything the opt-in collectors read. Empty by default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimResources {
    pub drives: Vec<SimDrive>,
    pub tape_media: Vec<SimTapeVolume>,
    pub robot_hosts: Vec<String>,
    pub volume_pools: Vec<SimVolumePool>,
    pub disk_pools: Vec<SimDiskPool>,
    pub alerts: Vec<SimAlert>,
    pub scan_results: Vec<SimScanResult>,
    pub images: Vec<SimImage>,
    pub slos: Vec<SimSlo>,
}

/// How many records [`SimResources::generate`] makes of each kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceSpec {
    pub drives: usize,
    pub tape_media: usize,
    pub robot_hosts: usize,
    pub volume_pools: usize,
    pub disk_pools: usize,
    pub alerts: usize,
    pub scan_results: usize,
    pub images: usize,
    pub slos: usize,
    pub seed: u64,
}

impl Default for ResourceSpec {
    /// The acceptance sizes: more than one page on every listing that pages.
    fn default() -> ResourceSpec {
        ResourceSpec {
            drives: 250,
            tape_media: 1_200,
            robot_hosts: 7,
            volume_pools: 130,
            disk_pools: 620,
            alerts: 150,
            scan_results: 350,
            images: 400,
            slos: 130,
            seed: 9,
        }
    }
}

const DRIVE_TYPES: [&str; 6] = [
    "DT_HCART",
    "DT_HCART2",
    "DT_HCART3",
    "DT_DLT",
    "DT_DLT2",
    "DT_DLT3",
];
const ROBOT_TYPES: [&str; 4] = ["TLD", "ACS", "NA", "NOT_ROBOTIC"];
const DRIVE_STATUS: [(&str, u64); 4] = [
    ("DRIVE_STATUS_UP", 80),
    ("DRIVE_STATUS_DOWN", 8),
    ("DRIVE_STATUS_MIXED", 4),
    ("DRIVE_STATUS_DISABLED", 8),
];
const MEDIA_TYPES: [&str; 5] = ["HCART", "HCART2", "HCART3", "DLT", "HC_CLN"];
const POOL_TYPES: [(&str, u64); 4] = [
    ("REGULAR_MEDIA_POOL", 60),
    ("SCRATCH_MEDIA_POOL", 20),
    ("CATALOG_MEDIA_POOL", 10),
    ("AVAILABLE_MEDIA_POOL", 10),
];
const DISK_CATEGORIES: [&str; 5] = ["ADVANCED_DISK", "CLOUD", "CLOUD_CATALYST", "MSDP", "OPEN_STORAGE"];
const SEVERITIES: [&str; 3] = ["INFO", "WARNING", "ERROR"];
const SCAN_STATES: [(&str, u64); 4] = [
    ("SCAN_COMPLETED", 70),
    ("SCAN_FAILED", 10),
    ("PENDING", 10),
    ("IN_PROGRESS", 10),
];
const MALWARE_STATUS: [&str; 3] = ["CLEAN", "INFECTION_DETECTED_BY_MALWARE_SCAN", "NOT_SCANNED"];
const ANOMALY_STATUS: [&str; 3] = ["ANOMALOUS", "NOT_ANOMALOUS", "NOT_PROCESSED"];
const WORKLOADS: [&str; 6] = [
    "VMWARE",
    "SQL_SERVER",
    "KUBERNETES",
    "CLOUD",
    "POSTGRESQL",
    "MYSQL",
];

impl SimResources {
    /// A seeded, deterministic set (same spec and `now`, same records): drives spread over
    /// four media servers; tape volumes in the generated pools (one in five without a
    /// robot); disk pools of one to four volumes; alerts, scan results and images within
    /// the last 48 hours (so a 24-hour window cuts them); SLO names `slo-0001`, ....
    pub fn generate(spec: &ResourceSpec, now: UnixMillis) -> SimResources {
        let mut rng = XorShift::new(spec.seed);
        let hosts: Vec<String> = (0..4).map(|i| format!("media{i}.sim.example")).collect();
        let drives = (0..spec.drives)
            .map(|i| SimDrive {
                name: format!("drive-{:04}", i + 1),
                drive_type: rng.pick(&DRIVE_TYPES).to_string(),
                robot_type: rng.pick(&ROBOT_TYPES).to_string(),
                robot_number: rng.range(0, 3),
                status: rng.weighted(&DRIVE_STATUS).to_string(),
                device_host: if rng.chance(5) {
                    "<multiple>".to_string()
                } else {
                    rng.pick(&hosts).clone()
                },
            })
            .collect();
        let volume_pools: Vec<SimVolumePool> = (0..spec.volume_pools)
            .map(|i| SimVolumePool {
                number: i as i64 + 1,
                name: match i {
                    0 => "scratch".to_string(),
                    1 => "NetBackup".to_string(),
                    _ => format!("pool-{:03}", i + 1),
                },
                pool_type: match i {
                    0 => "SCRATCH_MEDIA_POOL".to_string(),
                    _ => rng.weighted(&POOL_TYPES).to_string(),
                },
                partially_full: rng.range(0, 40),
            })
            .collect();
        let tape_media = (0..spec.tape_media)
            .map(|i| SimTapeVolume {
                media_id: format!("M{:05}", i + 1),
                media_type: rng.pick(&MEDIA_TYPES).to_string(),
                volume_pool: if volume_pools.is_empty() {
                    "None".to_string()
                } else {
                    rng.pick(&volume_pools).name.clone()
                },
                robot: (!rng.chance(20)).then(|| SimRobot {
                    robot_type: rng.pick(&ROBOT_TYPES[..2]).to_string(),
                    robot_number: rng.range(0, 3),
                    robot_host: rng.pick(&hosts).clone(),
                }),
            })
            .collect();
        let disk_pools = (0..spec.disk_pools)
            .map(|i| {
                let volumes = (0..rng.range(1, 5))
                    .map(|v| SimDiskVolume {
                        name: format!("dp{:04}-vol{v}", i + 1),
                        state: rng
                            .weighted(&[("UP", 85), ("DOWN", 10), ("UNKNOWN", 5)])
                            .to_string(),
                    })
                    .collect();
                SimDiskPool {
                    name: format!("dp-{:04}", i + 1),
                    storage_category: rng.pick(&DISK_CATEGORIES).to_string(),
                    state: rng
                        .weighted(&[("UP", 85), ("DOWN", 10), ("TRANSIENT", 5)])
                        .to_string(),
                    volumes,
                }
            })
            .collect();
        const HOUR: i64 = 3_600_000;
        let alerts = (0..spec.alerts)
            .map(|i| SimAlert {
                id: i as i64 + 1,
                severity: rng.pick(&SEVERITIES).to_string(),
                category: "JOB".to_string(),
                created: now - rng.range(60_000, 48 * HOUR),
            })
            .collect();
        let clients: Vec<String> = (0..40).map(|i| format!("client{i:02}.sim.example")).collect();
        let scan_results = (0..spec.scan_results)
            .map(|i| {
                let client = rng.pick(&clients).clone();
                // Whole seconds, at least 2 minutes off the 24-hour edge.
                let backup_time = (now - rng.range(60_000, 48 * HOUR)) / 1000;
                let backup_time = if (backup_time - (now / 1000 - 86_400)).abs() < 120 {
                    backup_time + 300
                } else {
                    backup_time
                };
                let files_scanned = rng.range(0, 200_000);
                SimScanResult {
                    id: format!("scan-{}", i + 1),
                    client,
                    backup_time,
                    scan_state: rng.weighted(&SCAN_STATES).to_string(),
                    files_scanned,
                    files_impacted: if rng.chance(10) { rng.range(1, 50) } else { 0 },
                }
            })
            .collect();
        let images = (0..spec.images)
            .map(|i| {
                let client = rng.pick(&clients).clone();
                let mut at = now - rng.range(60_000, 48 * HOUR);
                if (at - (now - 24 * HOUR)).abs() < 120_000 {
                    at += 300_000;
                }
                SimImage {
                    backup_id: format!("{client}_{}", at / 1000 + i as i64),
                    client,
                    backup_time: at,
                    malware_status: rng.pick(&MALWARE_STATUS).to_string(),
                    anomaly_status: rng.pick(&ANOMALY_STATUS).to_string(),
                }
            })
            .collect();
        let slos = (0..spec.slos)
            .map(|i| SimSlo {
                id: format!("{:08x}-slo", i + 1),
                name: format!("slo-{:04}", i + 1),
                workload_type: rng.pick(&WORKLOADS).to_string(),
                subscription_count: rng.range(0, 60),
            })
            .collect();
        SimResources {
            drives,
            tape_media,
            robot_hosts: (0..spec.robot_hosts)
                .map(|i| format!("robot-host{i}.sim.example"))
                .collect(),
            volume_pools,
            disk_pools,
            alerts,
            scan_results,
            images,
            slos,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_is_deterministic_and_follows_the_spec() {
        let spec = ResourceSpec::default();
        let a = SimResources::generate(&spec, 1_800_000_000_000);
        assert_eq!(a, SimResources::generate(&spec, 1_800_000_000_000));
        assert_eq!(a.drives.len(), 250);
        assert_eq!(a.tape_media.len(), 1_200);
        assert_eq!(a.alerts.len(), 150);
        assert_eq!(a.scan_results.len(), 350);
        assert_eq!(a.slos.len(), 130);
        assert!(a.volume_pools.iter().any(|p| p.pool_type == "SCRATCH_MEDIA_POOL"));
        assert!(a.tape_media.iter().any(|v| v.robot.is_none()));
        assert!(a.tape_media.iter().any(|v| v.volume_pool == "scratch"));
    }
}
