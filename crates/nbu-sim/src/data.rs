//! The simulator's datasets: the plain records it serves (`SimJob`, `SimStorageUnit`), the
//! fixed `known` dataset with its documented expected metric values, the seeded `generate`
//! dataset for volume tests and the demo, and the wire (JSON) form of one record.
//!
//! It is an independent model of what NetBackup stores and sends: it must not use the
//! exporter's decoding types (`nbu::model`) or its aggregation (`collect`), so that tests
//! built on it catch bugs there. It knows nothing of HTTP, paging, filters or faults.

use std::fmt::Write as _;

use serde_json::Value;

use crate::time::{format_rfc3339_millis, UnixMillis};

/// What NetBackup writes for a time that has not happened yet (e.g. `endTime` of a job
/// that is still running).
pub const NO_TIME: &str = "0001-01-01T00:00:00Z";

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// One job as the simulated primary server stores it. Every other attribute of the wire
/// form (about 60) is derived from these fields by [`job_resource`].
#[derive(Clone, Debug, PartialEq)]
pub struct SimJob {
    pub job_id: i64,
    pub parent_job_id: i64,
    pub job_type: String,
    pub policy_type: String,
    pub policy_name: String,
    pub client_name: String,
    pub schedule_type: String,
    pub state: String,
    pub status: i64,
    pub kilobytes_transferred: i64,
    pub number_of_files: i64,
    /// Omitted from the JSON when `None`.
    pub dedup_ratio: Option<f64>,
    /// Sent as `0001-01-01T00:00:00Z` when `None`.
    pub start_time: Option<UnixMillis>,
    /// Sent as `0001-01-01T00:00:00Z` when `None` (the job has not finished).
    pub end_time: Option<UnixMillis>,
    /// Omitted from the JSON when `None`.
    pub job_queue_reason: Option<i64>,
}

/// One storage unit. Capacity and limit fields are omitted from the JSON when `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct SimStorageUnit {
    pub name: String,
    /// Free text: `DISK`, `CLOUD`, `TAPE`, `Tape`, ...
    pub storage_type: String,
    pub storage_sub_type: String,
    pub storage_server_type: String,
    pub free_capacity_bytes: Option<i64>,
    pub used_capacity_bytes: Option<i64>,
    pub total_capacity_bytes: Option<i64>,
    /// Sent as `maxConcurrentJobs`, or as `maxConcurrentDrives` for tape units.
    pub max_concurrent_jobs: Option<i64>,
    pub max_fragment_size_megabytes: Option<i64>,
    pub is_cloud: bool,
    pub worm_capable: bool,
    pub use_worm: bool,
    pub replication_capable: bool,
    pub instant_access_enabled: bool,
}

impl SimStorageUnit {
    /// Whether the unit is a tape unit (`storageType` compared case-insensitively).
    pub fn is_tape(&self) -> bool {
        self.storage_type.trim().eq_ignore_ascii_case("tape")
    }
}

/// Everything one simulated primary server serves. Job ids should be unique.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimData {
    pub jobs: Vec<SimJob>,
    pub storage_units: Vec<SimStorageUnit>,
}

/// What [`SimData::generate`] makes. `jobs` DONE jobs plus `active_jobs` ACTIVE and
/// `queued_jobs` QUEUED ones; `storage_units` units in total, `tape_units` of them tape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSpec {
    pub jobs: usize,
    pub active_jobs: usize,
    pub queued_jobs: usize,
    pub storage_units: usize,
    pub tape_units: usize,
    pub seed: u64,
}

impl Default for DataSpec {
    /// A modest site, as `nbu-exporter demo` shows it.
    fn default() -> DataSpec {
        DataSpec {
            jobs: 300,
            active_jobs: 6,
            queued_jobs: 4,
            storage_units: 12,
            tape_units: 2,
            seed: 1,
        }
    }
}

/// One row of the `known` table: (id, jobType, policyType, state, status, KB, files,
/// dedup, start minutes ago, end minutes ago, queue reason).
type KnownRow = (
    i64,
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    i64,
    Option<f64>,
    f64,
    Option<f64>,
    Option<i64>,
);

/// The window the `known` expectations hold for: jobs that ended in the last hour.
pub const KNOWN_WINDOW_MILLIS: i64 = HOUR;

impl SimData {
    /// A small fixed dataset whose metric values are known. Times are relative to `now`
    /// and stay at least 5 minutes away from the 1-hour window edge, so a test whose clock
    /// moves on by a few seconds still sees the same numbers.
    ///
    /// Jobs (`-50m` means 50 minutes before `now`; KB = `kilobytesTransferred`):
    ///
    /// | id | jobType | policyType | state | status | KB | files | dedup | start | end | reason |
    /// |---|---|---|---|---|---|---|---|---|---|---|
    /// | 101 | BACKUP | STANDARD | DONE | 0 | 1,000,000 | 1,200 | 4.0 | -50m | -40m | |
    /// | 102 | BACKUP | STANDARD | DONE | 0 | 500,000 | 300 | 2.0 | -45m | -30m | |
    /// | 103 | BACKUP | STANDARD | DONE | 1 | 250,000 | 100 | - | -40m | -20m | |
    /// | 104 | BACKUP | VMWARE | DONE | 0 | 3,000,000,000 | 50 | 10.0 | -55m | -25m | |
    /// | 105 | BACKUP | VMWARE | DONE | 96 | 0 | 0 | - | -20m | -19m | |
    /// | 106 | RESTORE | STANDARD | DONE | 0 | 300,000 | 4,000 | - | -15m | -10m | |
    /// | 107 | IMAGEDELETE | "" | DONE | 0 | 0 | 0 | - | -30m | -29m30s | |
    /// | 108 | BACKUP | WINDOWS_NT | DONE | 1 | 750,000 | 20,000 | 3.0 | -180m | -5m | |
    /// | 109 | BACKUP | STANDARD | DONE | 0 | 999 | 9 | 5.0 | -240m | -180m | |
    /// | 110 | BACKUP | VMWARE | ACTIVE | 0 | 123,456 | 10 | 1.5 | -10m | - | |
    /// | 111 | BACKUP | STANDARD | ACTIVE | 0 | 5,000 | 20 | - | -120m | - | |
    /// | 112 | BACKUP | STANDARD | QUEUED | 0 | 0 | 0 | - | -5m | - | 1 |
    /// | 113 | DUPLICATE | STANDARD | QUEUED | 0 | 0 | 0 | - | -8m | - | 2 |
    ///
    /// Job 109 ended 3 hours ago (outside the window); 110 and 111 are running (111
    /// started before the window); 112 and 113 wait. 104 moves more than 2^31 KB; 110
    /// reports a dedup ratio although it has not finished (it must not count).
    ///
    /// Expected values for the 1-hour window (labels as the exporter writes them: an empty
    /// `policyType` becomes `UNKNOWN`; bytes = KB x 1024). Also available as data from
    /// [`known_expectations`].
    ///
    /// | (action, policy_type, status) | count | bytes |
    /// |---|---|---|
    /// | BACKUP, STANDARD, 0 | 2 | 1,536,000,000 |
    /// | BACKUP, STANDARD, 1 | 1 | 256,000,000 |
    /// | BACKUP, VMWARE, 0 | 1 | 3,072,000,000,000 |
    /// | BACKUP, VMWARE, 96 | 1 | 0 |
    /// | BACKUP, WINDOWS_NT, 1 | 1 | 768,000,000 |
    /// | IMAGEDELETE, UNKNOWN, 0 | 1 | 0 |
    /// | RESTORE, STANDARD, 0 | 1 | 307,200,000 |
    ///
    /// - status count (action, status): BACKUP 0 = 3, BACKUP 1 = 2, BACKUP 96 = 1,
    ///   IMAGEDELETE 0 = 1, RESTORE 0 = 1.
    /// - files (action, policy_type): BACKUP STANDARD = 1,600, BACKUP VMWARE = 50,
    ///   BACKUP WINDOWS_NT = 20,000, IMAGEDELETE UNKNOWN = 0, RESTORE STANDARD = 4,000.
    /// - dedup mean (action, policy_type): BACKUP STANDARD = 3.0 (of 2 jobs),
    ///   BACKUP VMWARE = 10.0 (of 1), BACKUP WINDOWS_NT = 3.0 (of 1); no entry for RESTORE
    ///   or IMAGEDELETE (no job reported a ratio).
    /// - duration (action, policy_type): BACKUP STANDARD 3 jobs, 2,700 s;
    ///   BACKUP VMWARE 2 jobs, 1,860 s; BACKUP WINDOWS_NT 1 job, 10,500 s;
    ///   IMAGEDELETE UNKNOWN 1 job, 30 s; RESTORE STANDARD 1 job, 300 s.
    /// - state count (action, state), ended in the window plus unfinished:
    ///   BACKUP DONE = 6, BACKUP ACTIVE = 2, BACKUP QUEUED = 1, DUPLICATE QUEUED = 1,
    ///   IMAGEDELETE DONE = 1, RESTORE DONE = 1.
    /// - queued (action, reason): BACKUP 1 = 1, DUPLICATE 2 = 1.
    ///
    /// Storage units (tape units `stu-tape-01` (`TAPE`) and `stu-tape-02` (`Tape`) are
    /// excluded from storage metrics):
    ///
    /// | name | storageType | storageServerType | free | used | total |
    /// |---|---|---|---|---|---|
    /// | stu-disk-01 | DISK | AdvancedDisk | 4,398,046,511,104 | 6,597,069,766,656 | 10,995,116,277,760 |
    /// | stu-msdp-01 | DISK | PureDisk | 12,000,000,000,000 | 8,000,000,000,000 | 20,000,000,000,000 |
    /// | stu-basic-01 | DISK | BasicDisk | 0 | 536,870,912,000 | 536,870,912,000 |
    /// | stu-cloud-01 | CLOUD | CloudCatalyst | absent | absent | absent |
    pub fn known(now: UnixMillis) -> SimData {
        let at = |minutes_ago: f64| Some(now - (minutes_ago * MINUTE as f64) as i64);
        #[rustfmt::skip]
        let rows: [KnownRow; 13] = [
            (101, "BACKUP", "STANDARD", "DONE", 0, 1_000_000, 1_200, Some(4.0), 50.0, Some(40.0), None),
            (102, "BACKUP", "STANDARD", "DONE", 0, 500_000, 300, Some(2.0), 45.0, Some(30.0), None),
            (103, "BACKUP", "STANDARD", "DONE", 1, 250_000, 100, None, 40.0, Some(20.0), None),
            (104, "BACKUP", "VMWARE", "DONE", 0, 3_000_000_000, 50, Some(10.0), 55.0, Some(25.0), None),
            (105, "BACKUP", "VMWARE", "DONE", 96, 0, 0, None, 20.0, Some(19.0), None),
            (106, "RESTORE", "STANDARD", "DONE", 0, 300_000, 4_000, None, 15.0, Some(10.0), None),
            (107, "IMAGEDELETE", "", "DONE", 0, 0, 0, None, 30.0, Some(29.5), None),
            (108, "BACKUP", "WINDOWS_NT", "DONE", 1, 750_000, 20_000, Some(3.0), 180.0, Some(5.0), None),
            (109, "BACKUP", "STANDARD", "DONE", 0, 999, 9, Some(5.0), 240.0, Some(180.0), None),
            (110, "BACKUP", "VMWARE", "ACTIVE", 0, 123_456, 10, Some(1.5), 10.0, None, None),
            (111, "BACKUP", "STANDARD", "ACTIVE", 0, 5_000, 20, None, 120.0, None, None),
            (112, "BACKUP", "STANDARD", "QUEUED", 0, 0, 0, None, 5.0, None, Some(1)),
            (113, "DUPLICATE", "STANDARD", "QUEUED", 0, 0, 0, None, 8.0, None, Some(2)),
        ];
        let jobs = rows
            .iter()
            .map(
                |&(id, job_type, policy_type, state, status, kb, files, dedup, start, end, reason)| {
                    let policy_name = match policy_type {
                        "" => String::new(),
                        "STANDARD" => "std-daily".to_string(),
                        "VMWARE" => "vm-gold".to_string(),
                        other => format!("{}-daily", other.to_ascii_lowercase()),
                    };
                    let client_name = match job_type {
                        "IMAGEDELETE" => "nbu-primary.sim.example".to_string(),
                        _ => format!("client{:02}.sim.example", id % 7),
                    };
                    SimJob {
                        job_id: id,
                        parent_job_id: 0,
                        job_type: job_type.to_string(),
                        policy_type: policy_type.to_string(),
                        policy_name,
                        client_name,
                        schedule_type: "FULL_BACKUP".to_string(),
                        state: state.to_string(),
                        status,
                        kilobytes_transferred: kb,
                        number_of_files: files,
                        dedup_ratio: dedup,
                        start_time: at(start),
                        end_time: end.and_then(at),
                        job_queue_reason: reason,
                    }
                },
            )
            .collect();

        let unit =
            |name: &str, ty: &str, sub: &str, server: &str, cap: Option<(i64, i64, i64)>| SimStorageUnit {
                name: name.to_string(),
                storage_type: ty.to_string(),
                storage_sub_type: sub.to_string(),
                storage_server_type: server.to_string(),
                free_capacity_bytes: cap.map(|c| c.0),
                used_capacity_bytes: cap.map(|c| c.1),
                total_capacity_bytes: cap.map(|c| c.2),
                max_concurrent_jobs: Some(20),
                max_fragment_size_megabytes: Some(524_288),
                is_cloud: false,
                worm_capable: false,
                use_worm: false,
                replication_capable: false,
                instant_access_enabled: false,
            };
        const TIB: i64 = 1 << 40;
        let mut msdp = unit(
            "stu-msdp-01",
            "DISK",
            "PureDisk",
            "PureDisk",
            Some((12_000_000_000_000, 8_000_000_000_000, 20_000_000_000_000)),
        );
        msdp.worm_capable = true;
        msdp.use_worm = true;
        msdp.replication_capable = true;
        msdp.instant_access_enabled = true;
        let mut cloud = unit("stu-cloud-01", "CLOUD", "CloudCatalyst", "CloudCatalyst", None);
        cloud.is_cloud = true;
        cloud.replication_capable = true;
        let mut tape1 = unit("stu-tape-01", "TAPE", "hcart3", "Tape", Some((0, 0, 0)));
        tape1.max_concurrent_jobs = Some(4);
        tape1.max_fragment_size_megabytes = Some(1_048_576);
        let mut tape2 = unit("stu-tape-02", "Tape", "hcart2", "Tape", None);
        tape2.max_concurrent_jobs = Some(2);
        tape2.max_fragment_size_megabytes = None;
        let storage_units = vec![
            unit(
                "stu-disk-01",
                "DISK",
                "AdvancedDisk",
                "AdvancedDisk",
                Some((4 * TIB, 6 * TIB, 10 * TIB)),
            ),
            tape1,
            msdp,
            unit(
                "stu-basic-01",
                "DISK",
                "BasicDisk",
                "BasicDisk",
                Some((0, 500 << 30, 500 << 30)),
            ),
            cloud,
            tape2,
        ];
        SimData { jobs, storage_units }
    }

    /// A seeded, deterministic dataset (same spec and `now`, same data).
    ///
    /// - `spec.jobs` DONE jobs that ended between 55 and 1 minutes before `now`, after
    ///   running 10 s to 4 h; mixed job types (mostly BACKUP), policy types (including
    ///   `""` for IMAGEDELETE), statuses (about 80% 0, 10% 1, the rest failures), sizes
    ///   from a few KB to about 1 TB (log-spread), some with a dedup ratio;
    /// - `spec.active_jobs` ACTIVE jobs started up to 3 h ago and `spec.queued_jobs`
    ///   QUEUED jobs (queue reasons 1, 2, 4, 6, 9, 18) submitted in the last 15 minutes;
    /// - job ids 1000, 1001, ... in start-time order;
    /// - `spec.storage_units` units named `stu-0001`, `stu-0002`, ..., of which
    ///   `spec.tape_units` (spread evenly, alternately `TAPE` and `Tape`) are tape; about
    ///   one disk unit in seven is a CLOUD unit with no capacity fields.
    pub fn generate(spec: &DataSpec, now: UnixMillis) -> SimData {
        let mut rng = XorShift::new(spec.seed);
        let clients: Vec<String> = (0..500).map(|i| format!("client{i:04}.sim.example")).collect();
        let total = spec.jobs + spec.active_jobs + spec.queued_jobs;
        let mut jobs = Vec::with_capacity(total);
        for i in 0..total {
            let state = if i < spec.jobs {
                "DONE"
            } else if i < spec.jobs + spec.active_jobs {
                "ACTIVE"
            } else {
                "QUEUED"
            };
            jobs.push(generated_job(&mut rng, state, &clients, now));
        }
        jobs.sort_by_key(|j| j.start_time.unwrap_or(i64::MAX));
        for (i, job) in jobs.iter_mut().enumerate() {
            job.job_id = 1000 + i as i64;
        }

        let n = spec.storage_units;
        let tapes = spec.tape_units.min(n);
        let mut storage_units = Vec::with_capacity(n);
        let mut tape_seen = 0;
        for i in 0..n {
            // Bresenham-style spread: exactly `tapes` of the `n` units are tape.
            let is_tape = (i + 1) * tapes / n.max(1) > i * tapes / n.max(1);
            let name = format!("stu-{:04}", i + 1);
            let unit = if is_tape {
                tape_seen += 1;
                generated_tape(&mut rng, name, tape_seen % 2 == 1)
            } else {
                generated_disk(&mut rng, name)
            };
            storage_units.push(unit);
        }
        SimData { jobs, storage_units }
    }
}

const JOB_TYPES: [(&str, u64); 7] = [
    ("BACKUP", 70),
    ("DUPLICATE", 8),
    ("REPLICATE", 5),
    ("RESTORE", 5),
    ("SNAPSHOT", 4),
    ("IMAGEDELETE", 4),
    ("DBBACKUP", 4),
];
const POLICY_TYPES: [&str; 7] = [
    "STANDARD",
    "VMWARE",
    "WINDOWS_NT",
    "SQL_SERVER",
    "OBACKUP",
    "HYPERV",
    "NDMP",
];
const FAILURE_STATUSES: [i64; 9] = [2, 13, 50, 58, 96, 130, 156, 196, 2074];
const SCHEDULE_TYPES: [&str; 3] = [
    "FULL_BACKUP",
    "DIFFERENTIAL_INCREMENTAL_BACKUP",
    "CUMULATIVE_INCREMENTAL_BACKUP",
];
const QUEUE_REASONS: [i64; 6] = [1, 2, 4, 6, 9, 18];

fn generated_job(rng: &mut XorShift, state: &str, clients: &[String], now: UnixMillis) -> SimJob {
    let job_type = rng.weighted(&JOB_TYPES);
    let policy_type = match job_type {
        "IMAGEDELETE" => "",
        "DBBACKUP" => "NBU_CATALOG",
        _ => *rng.pick(&POLICY_TYPES),
    };
    let policy_name = if policy_type.is_empty() {
        String::new()
    } else {
        format!("{}-{:02}", policy_type.to_ascii_lowercase(), rng.below(12))
    };
    let client_name = rng.pick(clients).clone();
    let schedule_type = if job_type == "BACKUP" {
        *rng.pick(&SCHEDULE_TYPES)
    } else {
        "FULL_BACKUP"
    };
    let moves_data = !matches!(job_type, "IMAGEDELETE");
    let log_size = |rng: &mut XorShift| {
        let magnitude = 10u64.pow(1 + rng.below(9) as u32);
        1 + rng.below(magnitude) as i64
    };

    let (status, kb, start, end, reason) = match state {
        "DONE" => {
            let roll = rng.below(100);
            let status = if roll < 80 {
                0
            } else if roll < 90 {
                1
            } else {
                *rng.pick(&FAILURE_STATUSES)
            };
            let kb = if moves_data && (status <= 1 || rng.chance(20)) {
                log_size(rng)
            } else {
                0
            };
            let end = now - rng.range(MINUTE, 55 * MINUTE);
            let duration = rng.range(10_000, 4 * HOUR);
            (status, kb, Some(end - duration), Some(end), None)
        }
        "ACTIVE" => {
            let kb = if moves_data { log_size(rng) } else { 0 };
            (0, kb, Some(now - rng.range(MINUTE, 3 * HOUR)), None, None)
        }
        _ => {
            let start = now - rng.range(0, 15 * MINUTE);
            (0, 0, Some(start), None, Some(*rng.pick(&QUEUE_REASONS)))
        }
    };
    let number_of_files = if kb == 0 {
        0
    } else {
        1 + kb / (1 + rng.range(1, 5_000))
    };
    let dedup_ratio = if job_type == "BACKUP" && kb > 0 && rng.chance(70) {
        Some(1.0 + rng.below(1_900) as f64 / 100.0)
    } else {
        None
    };
    SimJob {
        job_id: 0,
        parent_job_id: 0,
        job_type: job_type.to_string(),
        policy_type: policy_type.to_string(),
        policy_name,
        client_name,
        schedule_type: schedule_type.to_string(),
        state: state.to_string(),
        status,
        kilobytes_transferred: kb,
        number_of_files,
        dedup_ratio,
        start_time: start,
        end_time: end,
        job_queue_reason: reason,
    }
}

fn generated_disk(rng: &mut XorShift, name: String) -> SimStorageUnit {
    let (ty, sub, cloud) = match rng.below(7) {
        0 => ("CLOUD", "CloudCatalyst", true),
        1 | 2 => ("DISK", "AdvancedDisk", false),
        3 => ("DISK", "BasicDisk", false),
        _ => ("DISK", "PureDisk", false),
    };
    let total = rng.range(1 << 30, 100 << 40);
    let used = total / 100 * rng.range(0, 101);
    let capacity = |v: i64| if cloud { None } else { Some(v) };
    SimStorageUnit {
        name,
        storage_type: ty.to_string(),
        storage_sub_type: sub.to_string(),
        storage_server_type: sub.to_string(),
        free_capacity_bytes: capacity(total - used),
        used_capacity_bytes: capacity(used),
        total_capacity_bytes: capacity(total),
        max_concurrent_jobs: Some(rng.range(1, 200)),
        max_fragment_size_megabytes: Some(524_288),
        is_cloud: cloud,
        worm_capable: sub == "PureDisk",
        use_worm: sub == "PureDisk" && rng.chance(50),
        replication_capable: sub == "PureDisk" || cloud,
        instant_access_enabled: sub == "PureDisk" && rng.chance(50),
    }
}

fn generated_tape(rng: &mut XorShift, name: String, upper: bool) -> SimStorageUnit {
    SimStorageUnit {
        name,
        storage_type: if upper { "TAPE" } else { "Tape" }.to_string(),
        storage_sub_type: "hcart3".to_string(),
        storage_server_type: "Tape".to_string(),
        free_capacity_bytes: None,
        used_capacity_bytes: None,
        total_capacity_bytes: None,
        max_concurrent_jobs: Some(rng.range(1, 16)),
        max_fragment_size_megabytes: Some(1_048_576),
        is_cloud: false,
        worm_capable: false,
        use_worm: false,
        replication_capable: false,
        instant_access_enabled: false,
    }
}

/// xorshift64 seeded through splitmix64: tiny, deterministic, good enough for test data.
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> XorShift {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// In `lo..hi` (`lo` when the range is empty).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below((hi - lo) as u64) as i64
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn weighted<'a>(&mut self, items: &[(&'a str, u64)]) -> &'a str {
        let total: u64 = items.iter().map(|i| i.1).sum();
        let mut roll = self.below(total);
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        items[0].0
    }
}

/// The expected metric values of [`SimData::known`] for a 1-hour window, written out by
/// hand (not computed from the data), so tests can assert exact values. Label values are
/// as the exporter should write them: an empty `policyType` is `UNKNOWN`.
#[derive(Clone, Debug, PartialEq)]
pub struct KnownExpectations {
    /// The window the job numbers hold for ([`KNOWN_WINDOW_MILLIS`]).
    pub window_millis: i64,
    /// Every job in the dataset, whatever its time.
    pub total_jobs: usize,
    /// Jobs ended in the window: `(action, policy_type, status, count, bytes)`.
    pub outcomes: &'static [(&'static str, &'static str, &'static str, u64, u64)],
    /// Jobs ended in the window: `(action, status, count)`.
    pub status_counts: &'static [(&'static str, &'static str, u64)],
    /// Jobs ended in the window: `(action, policy_type, files)`.
    pub files: &'static [(&'static str, &'static str, u64)],
    /// Jobs ended in the window that reported a ratio: `(action, policy_type, mean, n)`.
    pub dedup_means: &'static [(&'static str, &'static str, f64, u64)],
    /// Jobs ended in the window: `(action, policy_type, count, sum_seconds)`.
    pub durations: &'static [(&'static str, &'static str, u64, f64)],
    /// Ended in the window plus unfinished: `(action, state, count)`.
    pub state_counts: &'static [(&'static str, &'static str, u64)],
    /// QUEUED jobs: `(action, reason, count)`.
    pub queued: &'static [(&'static str, &'static str, u64)],
    /// Non-tape storage units, in dataset order.
    pub storage: &'static [ExpectedStorage],
    /// Tape units, which must not appear in storage metrics.
    pub tape_units: &'static [&'static str],
}

/// One non-tape unit of the `known` dataset; `None` means the field is absent.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedStorage {
    pub name: &'static str,
    pub storage_type: &'static str,
    pub storage_server_type: &'static str,
    pub free_bytes: Option<i64>,
    pub used_bytes: Option<i64>,
    pub total_bytes: Option<i64>,
}

/// The expected values of [`SimData::known`]; see its doc comment for the table.
pub fn known_expectations() -> KnownExpectations {
    KnownExpectations {
        window_millis: KNOWN_WINDOW_MILLIS,
        total_jobs: 13,
        outcomes: &[
            ("BACKUP", "STANDARD", "0", 2, 1_536_000_000),
            ("BACKUP", "STANDARD", "1", 1, 256_000_000),
            ("BACKUP", "VMWARE", "0", 1, 3_072_000_000_000),
            ("BACKUP", "VMWARE", "96", 1, 0),
            ("BACKUP", "WINDOWS_NT", "1", 1, 768_000_000),
            ("IMAGEDELETE", "UNKNOWN", "0", 1, 0),
            ("RESTORE", "STANDARD", "0", 1, 307_200_000),
        ],
        status_counts: &[
            ("BACKUP", "0", 3),
            ("BACKUP", "1", 2),
            ("BACKUP", "96", 1),
            ("IMAGEDELETE", "0", 1),
            ("RESTORE", "0", 1),
        ],
        files: &[
            ("BACKUP", "STANDARD", 1_600),
            ("BACKUP", "VMWARE", 50),
            ("BACKUP", "WINDOWS_NT", 20_000),
            ("IMAGEDELETE", "UNKNOWN", 0),
            ("RESTORE", "STANDARD", 4_000),
        ],
        dedup_means: &[
            ("BACKUP", "STANDARD", 3.0, 2),
            ("BACKUP", "VMWARE", 10.0, 1),
            ("BACKUP", "WINDOWS_NT", 3.0, 1),
        ],
        durations: &[
            ("BACKUP", "STANDARD", 3, 2_700.0),
            ("BACKUP", "VMWARE", 2, 1_860.0),
            ("BACKUP", "WINDOWS_NT", 1, 10_500.0),
            ("IMAGEDELETE", "UNKNOWN", 1, 30.0),
            ("RESTORE", "STANDARD", 1, 300.0),
        ],
        state_counts: &[
            ("BACKUP", "ACTIVE", 2),
            ("BACKUP", "DONE", 6),
            ("BACKUP", "QUEUED", 1),
            ("DUPLICATE", "QUEUED", 1),
            ("IMAGEDELETE", "DONE", 1),
            ("RESTORE", "DONE", 1),
        ],
        queued: &[("BACKUP", "1", 1), ("DUPLICATE", "2", 1)],
        storage: &[
            ExpectedStorage {
                name: "stu-disk-01",
                storage_type: "DISK",
                storage_server_type: "AdvancedDisk",
                free_bytes: Some(4_398_046_511_104),
                used_bytes: Some(6_597_069_766_656),
                total_bytes: Some(10_995_116_277_760),
            },
            ExpectedStorage {
                name: "stu-msdp-01",
                storage_type: "DISK",
                storage_server_type: "PureDisk",
                free_bytes: Some(12_000_000_000_000),
                used_bytes: Some(8_000_000_000_000),
                total_bytes: Some(20_000_000_000_000),
            },
            ExpectedStorage {
                name: "stu-basic-01",
                storage_type: "DISK",
                storage_server_type: "BasicDisk",
                free_bytes: Some(0),
                used_bytes: Some(536_870_912_000),
                total_bytes: Some(536_870_912_000),
            },
            ExpectedStorage {
                name: "stu-cloud-01",
                storage_type: "CLOUD",
                storage_server_type: "CloudCatalyst",
                free_bytes: None,
                used_bytes: None,
                total_bytes: None,
            },
        ],
        tape_units: &["stu-tape-01", "stu-tape-02"],
    }
}

/// An ISO 8601 duration such as `PT1H2M3S` (`PT0S` for zero or negative).
pub(crate) fn iso_duration(millis: i64) -> String {
    let secs = millis.max(0) / 1000;
    if secs == 0 {
        return "PT0S".to_string();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 {
        out.push_str(&format!("{s}S"));
    }
    out
}

fn time_text(t: Option<UnixMillis>) -> String {
    t.map_or_else(|| NO_TIME.to_string(), format_rfc3339_millis)
}

/// The `lastUpdateTime` of a job: its end, or `now` while it is unfinished (a running or
/// waiting job is updated all the time).
pub(crate) fn last_update(job: &SimJob, now: UnixMillis) -> UnixMillis {
    job.end_time.unwrap_or(now)
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON object written straight into a `String`: records are rendered by the
/// hundred thousand, and building `serde_json::Value` maps is far too slow for that in an
/// unoptimised test build.
pub(crate) struct JsonObject<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    pub(crate) fn new(out: &'a mut String) -> JsonObject<'a> {
        out.push('{');
        JsonObject { out, empty: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_json_str(self.out, key);
        self.out.push(':');
        self.out
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Self {
        push_json_str(self.key(key), value);
        self
    }

    pub(crate) fn int(&mut self, key: &str, value: i64) -> &mut Self {
        let out = self.key(key);
        let _ = write!(out, "{value}");
        self
    }

    pub(crate) fn num(&mut self, key: &str, value: f64) -> &mut Self {
        let out = self.key(key);
        if value.is_finite() {
            // serde_json's float text (shortest round-trip form).
            out.push_str(&Value::from(value).to_string());
        } else {
            out.push_str("null");
        }
        self
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// `value` must already be JSON text.
    pub(crate) fn raw(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key).push_str(value);
        self
    }

    /// A nested object filled by `fill`.
    pub(crate) fn obj(&mut self, key: &str, fill: impl FnOnce(&mut JsonObject<'_>)) -> &mut Self {
        let out = self.key(key);
        let mut inner = JsonObject::new(out);
        fill(&mut inner);
        inner.end();
        self
    }

    /// `{"href": value}`.
    pub(crate) fn href(&mut self, key: &str, value: &str) -> &mut Self {
        self.obj(key, |o| {
            o.str("href", value);
        })
    }

    pub(crate) fn end(&mut self) {
        self.out.push('}');
    }
}

/// Appends the wire form of one job: `{type, id, links, meta.page.cursor, attributes}`.
/// `base` is the `.../netbackup` URL prefix for links; `now` drives the times of
/// unfinished jobs.
pub(crate) fn write_job(out: &mut String, job: &SimJob, cursor: &str, now: UnixMillis, base: &str) {
    let id = job.job_id;
    let state = job.state.as_str();
    let done = state == "DONE" || job.end_time.is_some();
    let active = state == "ACTIVE";
    let queued = state == "QUEUED" || state == "REQUEUED";
    let kb = job.kilobytes_transferred;
    let elapsed = match (job.start_time, job.end_time) {
        (Some(s), Some(e)) => e.saturating_sub(s),
        (Some(s), None) if active => now.saturating_sub(s),
        _ => 0,
    };
    let kb_to_transfer = if done { kb } else { kb.saturating_mul(2) };
    let percent = if done {
        100
    } else if kb_to_transfer > 0 {
        kb.saturating_mul(100) / kb_to_transfer
    } else {
        0
    };
    let transfer_rate = if elapsed >= 1000 { kb / (elapsed / 1000) } else { 0 };
    let scheduled = matches!(job.job_type.as_str(), "BACKUP" | "DBBACKUP" | "SNAPSHOT");
    let schedule_name = match (scheduled, job.schedule_type.as_str()) {
        (false, _) => "",
        (true, "FULL_BACKUP") => "full",
        (true, "DIFFERENTIAL_INCREMENTAL_BACKUP") => "incr",
        (true, "CUMULATIVE_INCREMENTAL_BACKUP") => "cinc",
        (true, _) => "user",
    };
    let copies = matches!(job.job_type.as_str(), "DUPLICATE" | "REPLICATE" | "RESTORE");
    let stu = ["stu-disk-01", "stu-msdp-01"][(id.rem_euclid(2)) as usize];
    let media_server = "media01.sim.example";
    let backup_id = match (scheduled && done && job.status <= 1, job.start_time) {
        (true, Some(start)) => format!("{}_{}", job.client_name, start.div_euclid(1000)),
        _ => String::new(),
    };
    let job_path = if job.parent_job_id != 0 {
        format!("{}.{}", job.parent_job_id, id)
    } else {
        id.to_string()
    };
    let pick = |yes: bool, a: &'static str| if yes { a } else { "" };
    let href = format!("{base}/admin/jobs/{id}");

    let mut o = JsonObject::new(out);
    o.str("type", "job").str("id", &id.to_string());
    o.obj("links", |l| {
        l.href("self", &href)
            .href("file-lists", &format!("{href}/file-lists"))
            .href("try-logs", &format!("{href}/try-logs"));
    });
    o.obj("meta", |m| {
        m.obj("page", |p| {
            p.str("cursor", cursor);
        });
    });
    o.obj("attributes", |a| {
        a.int("jobId", id)
            .int("parentJobId", job.parent_job_id)
            .str("jobPath", &job_path)
            .int("childCount", 0)
            .int(
                "activeProcessId",
                if active { 10_000 + id.rem_euclid(50_000) } else { 0 },
            )
            .str("jobType", &job.job_type)
            .str(
                "jobSubType",
                if scheduled && !job.policy_name.is_empty() {
                    "SCHEDULED"
                } else {
                    "IMMEDIATE"
                },
            )
            .str("policyType", &job.policy_type)
            .str("policyName", &job.policy_name)
            .str("scheduleType", &job.schedule_type)
            .str("scheduleName", schedule_name)
            .str("clientName", &job.client_name)
            .str("controlHost", "nbu-primary.sim.example")
            .str("jobOwner", "root")
            .str("jobGroup", "root")
            .str("backupId", &backup_id)
            .str("sourceMediaId", "")
            .str("sourceStorageUnitName", if copies { stu } else { "" })
            .str("sourceMediaServerName", pick(copies, media_server))
            .str("destinationMediaId", "")
            .str("destinationStorageUnitName", if copies { "" } else { stu })
            .str("destinationMediaServerName", pick(!copies, media_server))
            .str("dataMovement", "STANDARD")
            .int("streamNumber", 0)
            .int("copyNumber", 1)
            .int("priority", 0)
            .int("compression", 0)
            .int("status", job.status)
            .str("state", state)
            .int("numberOfFiles", job.number_of_files)
            .int(
                "estimatedFiles",
                if done {
                    job.number_of_files
                } else {
                    job.number_of_files.saturating_mul(2)
                },
            )
            .int("kilobytesTransferred", kb)
            .int("kilobytesDataTransferred", kb / 100 * 95)
            .int("kilobytesToTransfer", kb_to_transfer)
            .int("transferRate", transfer_rate)
            .int("percentComplete", percent)
            .int("restartable", i64::from(done && job.status > 1))
            .int("suspendable", i64::from(active))
            .int("resumable", 0)
            .int("cancellable", i64::from(active || queued))
            .int("frozenImage", 0)
            .str("transportType", "LAN");
        if let Some(ratio) = job.dedup_ratio {
            a.num("dedupRatio", ratio);
        }
        a.int("currentOperation", if active { 14 } else { 0 })
            .int("sessionId", id / 10 + 1)
            .int("numberOfTapeToEject", 0)
            .int("submissionType", 0)
            .int("acceleratorOptimization", 0)
            .str("dumpHost", "")
            .str("instanceDatabaseName", "")
            .str("auditUserName", "root")
            .str("auditDomainName", "")
            .int("auditDomainType", 0)
            .str("restoreBackupIDs", "")
            .str("startTime", &time_text(job.start_time))
            .str("endTime", &time_text(job.end_time))
            .str(
                "activeTryStartTime",
                &time_text(if queued { None } else { job.start_time }),
            )
            .str("lastUpdateTime", &format_rfc3339_millis(last_update(job, now)))
            .str("initiatorId", "root")
            .int("retentionLevel", 1)
            .int("try", if done && job.status > 1 { 2 } else { 1 });
        if let Some(reason) = job.job_queue_reason {
            a.int("jobQueueReason", reason);
        }
        let elapsed = iso_duration(elapsed);
        a.str("jobQueueResource", pick(queued, stu))
            .str("elapsedTime", &elapsed)
            .str("activeElapsedTime", &elapsed)
            .str("offHostType", "STANDARD");
    });
    o.end();
}

fn storage_category(unit: &SimStorageUnit) -> &'static str {
    if unit.is_tape() {
        return "TAPE";
    }
    match unit.storage_sub_type.as_str() {
        "CloudCatalyst" => "CLOUD_CATALYST",
        _ if unit.is_cloud || unit.storage_type.eq_ignore_ascii_case("cloud") => "CLOUD",
        "PureDisk" => "MSDP",
        "AdvancedDisk" => "ADVANCED_DISK",
        "BasicDisk" => "BASIC_DISK",
        _ => "OPEN_STORAGE",
    }
}

/// Appends the wire form of one storage unit:
/// `{type, id, links, attributes, relationships}`.
pub(crate) fn write_storage_unit(out: &mut String, unit: &SimStorageUnit, base: &str) {
    let tape = unit.is_tape();
    let mut o = JsonObject::new(out);
    o.str("type", "storageUnit").str("id", &unit.name);
    o.obj("links", |l| {
        l.href("self", &format!("{base}/storage/storage-units/{}", unit.name));
    });
    o.obj("attributes", |a| {
        a.str("name", &unit.name)
            .str("storageType", &unit.storage_type)
            .str("storageSubType", &unit.storage_sub_type)
            .str("storageServerType", &unit.storage_server_type)
            .str("storageCategory", storage_category(unit));
        let optional = [
            ("freeCapacityBytes", unit.free_capacity_bytes),
            ("usedCapacityBytes", unit.used_capacity_bytes),
            ("totalCapacityBytes", unit.total_capacity_bytes),
            (
                if tape {
                    "maxConcurrentDrives"
                } else {
                    "maxConcurrentJobs"
                },
                unit.max_concurrent_jobs,
            ),
            ("maxFragmentSizeMegabytes", unit.max_fragment_size_megabytes),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                a.int(key, v);
            }
        }
        a.bool("isCloudSTU", unit.is_cloud)
            .bool("wormCapable", unit.worm_capable)
            .bool("useWorm", unit.use_worm)
            .bool("replicationCapable", unit.replication_capable)
            .bool("replicationSourceCapable", unit.replication_capable)
            .bool("replicationTargetCapable", unit.replication_capable)
            .bool("instantAccessEnabled", unit.instant_access_enabled)
            .bool("accelerator", !tape && !unit.is_cloud)
            .bool("onDemandOnly", tape)
            .bool("useAnyAvailableMediaServer", !tape)
            .bool("snapshot", false)
            .bool("mirror", false)
            .bool("independent", false)
            .bool("primary", false)
            .bool("scaleOutEnabled", false);
        if tape {
            a.str("robotType", "TLD")
                .int("robotNumber", 0)
                .str("density", &unit.storage_sub_type)
                .int("multiplexing", 1);
        }
        a.raw(
            "mediaServerDetails",
            r#"[{"name":"media01.sim.example","operatingSystem":"linux","netbackupVersion":"11.0"}]"#,
        );
    });
    o.obj("relationships", |r| {
        if !tape {
            let pool = format!("dp-{}", unit.name);
            r.obj("diskPool", |d| {
                d.obj("links", |l| {
                    l.href("related", &format!("{base}/storage/disk-pools/{pool}"));
                })
                .obj("data", |p| {
                    p.str("type", "diskPool").str("id", &pool);
                });
            });
        }
    });
    o.end();
}

/// [`write_job`] as a `Value` (tests and small pages).
#[cfg(test)]
pub(crate) fn job_resource(job: &SimJob, cursor: &str, now: UnixMillis, base: &str) -> Value {
    let mut out = String::new();
    write_job(&mut out, job, cursor, now, base);
    serde_json::from_str(&out).expect("job JSON")
}

/// [`write_storage_unit`] as a `Value`.
#[cfg(test)]
pub(crate) fn storage_unit_resource(unit: &SimStorageUnit, base: &str) -> Value {
    let mut out = String::new();
    write_storage_unit(&mut out, unit, base);
    serde_json::from_str(&out).expect("storage unit JSON")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use super::*;

    const NOW: UnixMillis = 1_750_000_000_000;

    fn label(s: &str) -> &str {
        if s.is_empty() {
            "UNKNOWN"
        } else {
            s
        }
    }

    /// Recomputes the hand-written expectations from the data, so the doc table, the
    /// constants and the dataset cannot drift apart.
    #[test]
    fn known_expectations_match_the_known_data() {
        let data = SimData::known(NOW);
        let want = known_expectations();
        let window_start = NOW - want.window_millis;
        assert_eq!(data.jobs.len(), want.total_jobs);

        let mut outcomes = BTreeMap::new();
        let mut status = BTreeMap::new();
        let mut files = BTreeMap::new();
        let mut dedup: BTreeMap<(&str, &str), (f64, u64)> = BTreeMap::new();
        let mut durations: BTreeMap<(&str, &str), (u64, f64)> = BTreeMap::new();
        let mut states = BTreeMap::new();
        let mut queued = BTreeMap::new();
        for j in &data.jobs {
            let (action, policy) = (j.job_type.as_str(), label(&j.policy_type));
            let ended = j.end_time.is_some_and(|e| e >= window_start);
            if ended {
                let o = outcomes
                    .entry((action, policy, j.status.to_string()))
                    .or_insert((0u64, 0u64));
                o.0 += 1;
                o.1 += j.kilobytes_transferred as u64 * 1024;
                *status.entry((action, j.status.to_string())).or_insert(0u64) += 1;
                *files.entry((action, policy)).or_insert(0u64) += j.number_of_files as u64;
                if let Some(r) = j.dedup_ratio {
                    let d = dedup.entry((action, policy)).or_default();
                    d.0 += r;
                    d.1 += 1;
                }
                let d = durations.entry((action, policy)).or_default();
                d.0 += 1;
                d.1 += (j.end_time.unwrap() - j.start_time.unwrap()) as f64 / 1000.0;
            }
            if ended || j.end_time.is_none() {
                *states.entry((action, j.state.as_str())).or_insert(0u64) += 1;
            }
            if j.state == "QUEUED" {
                *queued
                    .entry((action, j.job_queue_reason.unwrap().to_string()))
                    .or_insert(0u64) += 1;
            }
        }
        let got: Vec<_> = outcomes
            .iter()
            .map(|((a, p, s), (c, b))| (*a, *p, s.as_str(), *c, *b))
            .collect();
        assert_eq!(got, want.outcomes);
        let got: Vec<_> = status.iter().map(|((a, s), c)| (*a, s.as_str(), *c)).collect();
        assert_eq!(got, want.status_counts);
        let got: Vec<_> = files.iter().map(|((a, p), f)| (*a, *p, *f)).collect();
        assert_eq!(got, want.files);
        let got: Vec<_> = dedup
            .iter()
            .map(|((a, p), (s, n))| (*a, *p, s / *n as f64, *n))
            .collect();
        assert_eq!(got, want.dedup_means);
        let got: Vec<_> = durations
            .iter()
            .map(|((a, p), (n, s))| (*a, *p, *n, *s))
            .collect();
        assert_eq!(got, want.durations);
        let got: Vec<_> = states.iter().map(|((a, s), c)| (*a, *s, *c)).collect();
        assert_eq!(got, want.state_counts);
        let got: Vec<_> = queued.iter().map(|((a, r), c)| (*a, r.as_str(), *c)).collect();
        assert_eq!(got, want.queued);

        let got: Vec<_> = data
            .storage_units
            .iter()
            .filter(|u| !u.is_tape())
            .map(|u| {
                let (n, t, s) = (
                    u.name.as_str(),
                    u.storage_type.as_str(),
                    u.storage_server_type.as_str(),
                );
                (
                    n,
                    t,
                    s,
                    u.free_capacity_bytes,
                    u.used_capacity_bytes,
                    u.total_capacity_bytes,
                )
            })
            .collect();
        let want_storage: Vec<_> = want
            .storage
            .iter()
            .map(|e| {
                (
                    e.name,
                    e.storage_type,
                    e.storage_server_type,
                    e.free_bytes,
                    e.used_bytes,
                    e.total_bytes,
                )
            })
            .collect();
        assert_eq!(got, want_storage);
        let tapes: Vec<_> = data
            .storage_units
            .iter()
            .filter(|u| u.is_tape())
            .map(|u| u.name.as_str())
            .collect();
        assert_eq!(tapes, want.tape_units);
        let types: Vec<_> = data
            .storage_units
            .iter()
            .filter(|u| u.is_tape())
            .map(|u| u.storage_type.as_str())
            .collect();
        assert_eq!(types, ["TAPE", "Tape"]);
    }

    #[test]
    fn known_times_keep_clear_of_the_window_edge() {
        let data = SimData::known(NOW);
        let edge = NOW - KNOWN_WINDOW_MILLIS;
        for j in &data.jobs {
            if let Some(end) = j.end_time {
                assert!((end - edge).abs() >= 5 * MINUTE, "job {}", j.job_id);
                assert!(end <= NOW - 5 * MINUTE, "job {}", j.job_id);
            }
        }
    }

    #[test]
    fn generate_is_deterministic_and_follows_the_spec() {
        let spec = DataSpec {
            jobs: 500,
            active_jobs: 7,
            queued_jobs: 5,
            storage_units: 30,
            tape_units: 4,
            seed: 42,
        };
        let a = SimData::generate(&spec, NOW);
        assert_eq!(a, SimData::generate(&spec, NOW));
        assert_ne!(
            a,
            SimData::generate(
                &DataSpec {
                    seed: 43,
                    ..spec.clone()
                },
                NOW
            )
        );
        let count = |state: &str| a.jobs.iter().filter(|j| j.state == state).count();
        assert_eq!((count("DONE"), count("ACTIVE"), count("QUEUED")), (500, 7, 5));
        for j in &a.jobs {
            match j.state.as_str() {
                "DONE" => {
                    let end = j.end_time.unwrap();
                    assert!(end <= NOW - MINUTE && end > NOW - 55 * MINUTE - 1);
                    assert!(j.start_time.unwrap() <= end);
                }
                "QUEUED" => assert!(j.end_time.is_none() && j.job_queue_reason.is_some()),
                _ => assert!(j.end_time.is_none()),
            }
        }
        let ids: Vec<i64> = a.jobs.iter().map(|j| j.job_id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(a.jobs.iter().any(|j| j.policy_type.is_empty()));
        assert!(a.jobs.iter().any(|j| j.status != 0) && a.jobs.iter().any(|j| j.dedup_ratio.is_some()));
        assert_eq!(a.storage_units.len(), 30);
        assert_eq!(a.storage_units.iter().filter(|u| u.is_tape()).count(), 4);
        assert_eq!(a.storage_units[0].name, "stu-0001");
        assert_eq!(a.storage_units[29].name, "stu-0030");
    }

    #[test]
    fn generate_100k_jobs_is_quick() {
        let spec = DataSpec {
            jobs: 100_000,
            active_jobs: 100,
            queued_jobs: 100,
            storage_units: 1_000,
            tape_units: 10,
            seed: 7,
        };
        let started = Instant::now();
        let data = SimData::generate(&spec, NOW);
        let took = started.elapsed();
        assert_eq!(data.jobs.len(), 100_200);
        // Generous for an unoptimised build on a busy machine; typically well under.
        assert!(took.as_secs_f64() < 3.0, "took {took:?}");
    }

    #[test]
    fn job_wire_form() {
        let data = SimData::known(NOW);
        let done = job_resource(&data.jobs[3], "c", NOW, "http://h/netbackup");
        assert_eq!(done["type"], "job");
        assert_eq!(done["id"], "104");
        assert_eq!(done["meta"]["page"]["cursor"], "c");
        assert_eq!(done["links"]["self"]["href"], "http://h/netbackup/admin/jobs/104");
        let a = &done["attributes"];
        assert!(
            a.as_object().unwrap().len() >= 40,
            "{}",
            a.as_object().unwrap().len()
        );
        assert_eq!(a["kilobytesTransferred"], 3_000_000_000i64);
        assert_eq!(a["dedupRatio"], 10.0);
        assert_eq!(a["elapsedTime"], "PT30M");
        assert_eq!(a["startTime"], format_rfc3339_millis(NOW - 55 * MINUTE));
        assert!(a.get("jobQueueReason").is_none());

        let queued = job_resource(&data.jobs[11], "c", NOW, "");
        let a = &queued["attributes"];
        assert_eq!(a["endTime"], NO_TIME);
        assert_eq!(a["jobQueueReason"], 1);
        assert!(a.get("dedupRatio").is_none());
        assert_eq!(a["lastUpdateTime"], format_rfc3339_millis(NOW));
    }

    #[test]
    fn storage_wire_form() {
        let data = SimData::known(NOW);
        let by_name = |n: &str| data.storage_units.iter().find(|u| u.name == n).unwrap();
        let disk = storage_unit_resource(by_name("stu-disk-01"), "http://h/netbackup");
        assert_eq!(disk["type"], "storageUnit");
        assert_eq!(disk["id"], "stu-disk-01");
        assert_eq!(disk["attributes"]["freeCapacityBytes"], 4_398_046_511_104i64);
        assert_eq!(disk["attributes"]["maxConcurrentJobs"], 20);
        assert_eq!(disk["attributes"]["storageCategory"], "ADVANCED_DISK");
        assert_eq!(disk["relationships"]["diskPool"]["data"]["id"], "dp-stu-disk-01");
        let cloud = storage_unit_resource(by_name("stu-cloud-01"), "");
        assert!(cloud["attributes"].get("freeCapacityBytes").is_none());
        assert_eq!(cloud["attributes"]["isCloudSTU"], true);
        let tape = storage_unit_resource(by_name("stu-tape-02"), "");
        assert_eq!(tape["attributes"]["maxConcurrentDrives"], 2);
        assert!(tape["attributes"].get("maxConcurrentJobs").is_none());
    }

    #[test]
    fn iso_durations() {
        for (ms, want) in [
            (0, "PT0S"),
            (-5, "PT0S"),
            (30_000, "PT30S"),
            (3_600_000, "PT1H"),
            (3_723_000, "PT1H2M3S"),
        ] {
            assert_eq!(iso_duration(ms), want);
        }
    }

    #[test]
    fn extreme_values_render_valid_json() {
        let mut job = SimData::known(NOW).jobs[0].clone();
        for (value, time) in [(i64::MAX, Some(i64::MAX)), (i64::MIN, Some(i64::MIN)), (0, None)] {
            job.job_id = value;
            job.parent_job_id = value;
            job.kilobytes_transferred = value;
            job.number_of_files = value;
            job.start_time = time;
            job.end_time = time.map(|t| t / 2);
            job.dedup_ratio = Some(f64::NAN);
            job.client_name = "quote\" back\\slash \u{1} tab\t é".to_string();
            for state in ["DONE", "ACTIVE", "QUEUED"] {
                job.state = state.to_string();
                let v = job_resource(&job, "c\"", i64::MAX, "b");
                assert_eq!(v["attributes"]["clientName"], job.client_name.as_str());
                assert!(v["attributes"]["dedupRatio"].is_null());
            }
        }
    }
}
