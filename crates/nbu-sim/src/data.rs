//! The simulator's datasets: the plain records it serves (`SimJob`, `SimStorageUnit`), the
//! fixed `known` dataset (whose expected metric values are in `expected`) and the seeded
//! `generate` dataset for volume tests and the demo.
//!
//! It is an independent model of what NetBackup stores: it must not use the exporter's
//! decoding types or its aggregation, so that tests built on it catch bugs there. It knows
//! nothing of JSON (`wire`), HTTP, paging, filters or faults.

use crate::resources::SimResources;
use crate::time::UnixMillis;

/// What NetBackup writes for a time that has not happened yet (e.g. `endTime` of a job
/// that is still running).
pub const NO_TIME: &str = "0001-01-01T00:00:00Z";

pub(crate) const MINUTE: i64 = 60_000;
pub(crate) const HOUR: i64 = 60 * MINUTE;

/// One job as the simulated primary server stores it. Every other attribute of the wire
/// form (about 60) is derived from these fields by `wire::write_job`.
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
    /// `lastUpdateTime`: when NetBackup last changed the record. `None` for the static
    /// datasets: then the end time, or the server's `now` while the job is unfinished (it
    /// is updated all the time). The evolving [`crate::Workload`] always sets it.
    pub last_update: Option<UnixMillis>,
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
    /// What the opt-in collectors' endpoints serve (tape, disk pools, alerts, ...).
    pub resources: SimResources,
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
    /// [`known_expectations`](crate::known_expectations).
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
                        last_update: None,
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
        SimData {
            jobs,
            storage_units,
            resources: SimResources::default(),
        }
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

        let storage_units = generated_units(&mut rng, spec.storage_units, spec.tape_units);
        SimData {
            jobs,
            storage_units,
            resources: SimResources::default(),
        }
    }
}

/// `n` units named `stu-0001`, ..., `tapes` of them tape (spread evenly, alternately `TAPE`
/// and `Tape`).
pub(crate) fn generated_units(rng: &mut XorShift, n: usize, tapes: usize) -> Vec<SimStorageUnit> {
    let tapes = tapes.min(n);
    let mut storage_units = Vec::with_capacity(n);
    let mut tape_seen = 0;
    for i in 0..n {
        // Bresenham-style spread: exactly `tapes` of the `n` units are tape.
        let is_tape = (i + 1) * tapes / n.max(1) > i * tapes / n.max(1);
        let name = format!("stu-{:04}", i + 1);
        let unit = if is_tape {
            tape_seen += 1;
            generated_tape(rng, name, tape_seen % 2 == 1)
        } else {
            generated_disk(rng, name)
        };
        storage_units.push(unit);
    }
    storage_units
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

pub(crate) fn generated_job(rng: &mut XorShift, state: &str, clients: &[String], now: UnixMillis) -> SimJob {
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
        last_update: None,
    }
}

pub(crate) fn generated_disk(rng: &mut XorShift, name: String) -> SimStorageUnit {
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

pub(crate) fn generated_tape(rng: &mut XorShift, name: String, upper: bool) -> SimStorageUnit {
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

/// xorshift64 seeded through splitmix64: tiny, deterministic, good enough for test data
/// and for the benches' schedules.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// In `lo..hi` (`lo` when the range is empty).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below((hi - lo) as u64) as i64
        }
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub(crate) fn weighted<'a>(&mut self, items: &[(&'a str, u64)]) -> &'a str {
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    const NOW: UnixMillis = 1_750_000_000_000;

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
}
