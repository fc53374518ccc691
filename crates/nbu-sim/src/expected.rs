//! What the `known` dataset must produce: the exporter's metric values for it, written out
//! by hand, so integration tests can assert exact numbers instead of recomputing them
//! with logic that could share the exporter's bugs.
//!
//! Plain constants; a unit test recomputes them from the data so the two cannot drift
//! apart. It knows nothing of the exporter's metric names or text format.

use crate::data::KNOWN_WINDOW_MILLIS;

/// The expected metric values of [`SimData::known`](crate::SimData::known) for a 1-hour
/// window, written out by hand (not computed from the data), so tests can assert exact
/// values. Label values are as the exporter should write them: an empty `policyType` is
/// `UNKNOWN`.
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

/// The expected values of [`SimData::known`](crate::SimData::known); see its doc comment for the table.
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::data::SimData;
    use crate::time::UnixMillis;

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
}
