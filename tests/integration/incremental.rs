//! Issue 10: incremental jobs collection against the simulator's evolving workload. After
//! every sweep, the tracked jobs' summary must equal what a full re-download gives at that
//! instant, over randomized workloads (arrivals, state changes, jobs ending, jobs leaving
//! the window, the cleanup deleting old jobs, a job deleted by hand, a failed sweep), with
//! the primary's clock 10 minutes ahead of, equal to, or behind the exporter's.
//!
//! The one documented exception is checked exactly too: a job deleted while it still
//! counts stays counted (as its last record) until the next resync or until it leaves the
//! window; the API lists no deletions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use nbu_exporter::collect::jobs::{JobsTracker, SweepInput, SweepKind};
use nbu_exporter::collect::JobsSummary;
use nbu_exporter::config::{Scheme, Secret, SiteConfig};
use nbu_exporter::nbu::{ApiVersion, Client, ClientOptions, Job};
use nbu_sim::{Fault, Scope, SimClock, SimData, SimOptions, SimServer, Workload, WorkloadSpec};

const KEY: &str = "incremental-key";
const MINUTE: i64 = 60_000;
/// The exporter's clock at the first sweep.
const T0: i64 = 1_760_000_000_000;

fn site(port: u16) -> SiteConfig {
    SiteConfig {
        name: "paris".into(),
        scheme: Scheme::Http,
        host: "127.0.0.1".into(),
        port,
        uri: "/netbackup".into(),
        api_key: Secret::new(KEY),
        api_key_file: None,
        api_version: Some(ApiVersion::V13_0),
        insecure_skip_verify: false,
        ca_file: None,
        ca_pem: None,
        timeout: Duration::from_secs(10),
    }
}

/// splitmix64, for the case parameters.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The jobs-ended count per action and the state count per (action, state), worked out
/// from the simulator's own records: a check that does not go through the exporter's
/// client or summary at all.
fn independent_counts(
    data: &SimData,
    window_start: i64,
) -> (BTreeMap<String, u64>, BTreeMap<(String, String), u64>) {
    let label = |s: &str| {
        if s.is_empty() {
            "UNKNOWN".to_string()
        } else {
            s.to_string()
        }
    };
    let (mut ended, mut states) = (BTreeMap::new(), BTreeMap::new());
    for j in &data.jobs {
        let in_window = j.end_time.is_some_and(|e| e >= window_start);
        if in_window {
            *ended.entry(label(&j.job_type)).or_default() += 1;
        }
        if in_window || (j.end_time.is_none() && j.state != "DONE") {
            *states.entry((label(&j.job_type), label(&j.state))).or_default() += 1;
        }
    }
    (ended, states)
}

fn summary_counts(s: &JobsSummary) -> (BTreeMap<String, u64>, BTreeMap<(String, String), u64>) {
    let mut ended = BTreeMap::new();
    for ((action, _, _), cb) in &s.by_outcome {
        *ended.entry(action.to_string()).or_default() += cb.count;
    }
    let states = s
        .state_count
        .iter()
        .map(|((action, state), n)| ((action.to_string(), state.to_string()), *n))
        .collect();
    (ended, states)
}

struct Case {
    seed: u64,
    skew: i64,
}

fn run(case: &Case) -> (usize, usize) {
    let mut rng = Rng(case.seed);
    let spec = WorkloadSpec {
        jobs_per_hour: 200 + rng.below(700) as u32,
        retention_millis: (90 + rng.below(120) as i64) * MINUTE,
        storage_units: 3,
        tape_units: 0,
        seed: case.seed,
    };
    let window = Duration::from_secs(60 * (20 + rng.below(70)));
    let resync_interval = [
        Duration::ZERO,
        Duration::from_secs(1800),
        Duration::from_secs(3600),
        Duration::from_secs(6 * 3600),
    ][rng.below(4) as usize];
    let clock = SimClock::manual(T0 + case.skew);
    let mut workload = Workload::new(spec.clone(), clock.now());
    let mut options = SimOptions::new(KEY, workload.data());
    options.clock = clock.clone();
    let server = SimServer::start(options).expect("start the simulator");
    let handle = server.handle();
    let client_options = ClientOptions {
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        max_attempts: 2,
        ..ClientOptions::default()
    };
    let client = Client::new(&site(server.port()), client_options, None).expect("client");
    let mut tracker = JobsTracker::new();
    let sweeps = 24;
    let delete_at = 3 + rng.below(15) as usize;
    let fail_at = 3 + rng.below(19) as usize;
    // A deleted job's last record, while it may still count.
    let mut ghost: Option<Job> = None;
    let mut previous_full: Vec<Job> = Vec::new();
    let (mut full_sweeps, mut incremental_sweeps) = (0, 0);
    let context = format!(
        "seed {} skew {} min, {} jobs/h, window {:?}, resync {:?}",
        case.seed,
        case.skew / MINUTE,
        spec.jobs_per_hour,
        window,
        resync_interval
    );
    for n in 0..sweeps {
        if n > 0 {
            clock.advance((1 + rng.below(9) as i64) * MINUTE + rng.below(60_000) as i64);
            workload.advance_to(clock.now());
        }
        if n == delete_at {
            // A DONE job the tracker has seen in its final state (it was DONE at the last
            // sweep) and that still counts.
            let window_start = clock.now() - case.skew - window.as_millis() as i64;
            let victim = previous_full
                .iter()
                .filter(|j| j.state == "DONE" && j.end_time.is_some_and(|e| e >= window_start + 10 * MINUTE))
                .nth(rng.below(50) as usize)
                .cloned();
            if let Some(victim) = victim {
                assert!(workload.delete_job(victim.job_id), "{context}");
                ghost = Some(victim);
            }
        }
        handle.set_data(workload.data());
        let now = clock.now() - case.skew; // the exporter's clock
        let input = SweepInput {
            version: ApiVersion::V13_0,
            now,
            window,
            resync_interval,
            deadline: Instant::now() + Duration::from_secs(60),
        };
        if n == fail_at {
            handle.set_fault(
                Scope::Jobs,
                Fault::Status {
                    code: 503,
                    retry_after: None,
                },
            );
            assert!(
                tracker.sweep(&client, &input).is_err(),
                "{context}: sweep {n} should fail"
            );
            handle.clear_faults();
        }
        let sweep = tracker
            .sweep(&client, &input)
            .unwrap_or_else(|e| panic!("{context}: sweep {n}: {e}"));
        let summary = JobsSummary::from_table(tracker.table(), sweep.window_start);
        if n == 0 || n == fail_at {
            assert_eq!(sweep.kind, SweepKind::Full, "{context}: sweep {n}");
        }
        if n == fail_at {
            assert_eq!(sweep.full_reason, Some("failed sweep"), "{context}");
        }
        match sweep.kind {
            SweepKind::Full => {
                full_sweeps += 1;
                ghost = None;
            }
            SweepKind::Incremental => incremental_sweeps += 1,
        }
        let window_start = now - window.as_millis() as i64;
        let full = client
            .fetch_jobs(
                ApiVersion::V13_0,
                window_start,
                Instant::now() + Duration::from_secs(60),
            )
            .expect("full re-download");
        let mut with_ghost = full.clone();
        with_ghost.extend(ghost.clone());
        let want = JobsSummary::from_jobs(&with_ghost, window_start);
        assert_eq!(summary, want, "{context}: sweep {n} ({:?})", sweep.kind);
        if ghost
            .as_ref()
            .is_none_or(|g| g.end_time.is_some_and(|e| e < window_start))
        {
            // No deleted job counts any more: exactly a full re-download, and the
            // simulator's own records agree.
            assert_eq!(
                summary,
                JobsSummary::from_jobs(&full, window_start),
                "{context}: sweep {n}"
            );
            assert_eq!(
                summary_counts(&summary),
                independent_counts(&workload.data(), window_start),
                "{context}: sweep {n}"
            );
        }
        assert_eq!(sweep.tracked as u64, want.jobs_seen, "{context}: sweep {n}");
        previous_full = full;
    }
    (full_sweeps, incremental_sweeps)
}

#[test]
fn incremental_sweeps_equal_a_full_re_download_after_every_sweep() {
    let mut totals = (0, 0);
    for (seed, skew) in [
        (1, 0),
        (2, 10 * MINUTE),
        (3, -10 * MINUTE),
        (4, 10 * MINUTE),
        (5, -10 * MINUTE),
    ] {
        let (full, incremental) = run(&Case { seed, skew });
        totals = (totals.0 + full, totals.1 + incremental);
    }
    // The cases do exercise both kinds (unless every case drew jobsResyncInterval 0).
    assert!(totals.1 > 0, "no incremental sweep at all: {totals:?}");
}

/// Requests per sweep at one site with about 3,000 jobs in the job database (1,500 an
/// hour, kept 2 hours, so about 1,500 end inside the 1 h window) and 150 storage units,
/// swept every 5 minutes with the default hourly resync: every listing uses the largest
/// page its endpoint allows, a sweep between resyncs costs one storage page plus the
/// pages of what changed, and both that and the hourly average stay below the Go
/// exporter's 16 (1 storage page + one page per 100 jobs ended in the window).
#[test]
fn requests_per_sweep_and_page_sizes() {
    let spec = WorkloadSpec {
        jobs_per_hour: 1_500,
        retention_millis: 120 * MINUTE,
        storage_units: 150,
        tape_units: 6,
        seed: 11,
    };
    let clock = SimClock::manual(T0);
    let mut workload = Workload::new(spec, T0);
    let mut options = SimOptions::new(KEY, workload.data());
    options.clock = clock.clone();
    let server = SimServer::start(options).expect("start the simulator");
    let handle = server.handle();
    let client = Client::new(&site(server.port()), ClientOptions::default(), None).expect("client");
    let mut tracker = JobsTracker::new();
    let window = Duration::from_secs(3600);
    let mut per_sweep = Vec::new();
    for n in 0..13 {
        if n > 0 {
            clock.advance(5 * MINUTE);
            workload.advance_to(clock.now());
            handle.set_data(workload.data());
        }
        handle.clear_requests();
        let input = SweepInput {
            version: ApiVersion::V13_0,
            now: clock.now(),
            window,
            resync_interval: Duration::from_secs(3600),
            deadline: Instant::now() + Duration::from_secs(60),
        };
        let sweep = tracker.sweep(&client, &input).expect("jobs sweep");
        let summary = JobsSummary::from_table(tracker.table(), sweep.window_start);
        let storage = client
            .fetch_storage_listing(ApiVersion::V13_0, input.deadline)
            .expect("storage sweep");
        assert_eq!(storage.received, 150);
        let requests = handle.requests();
        for r in &requests {
            let limit = r
                .query
                .iter()
                .find(|(k, _)| k == "page[limit]")
                .map(|(_, v)| v.as_str());
            let probe = r.query.iter().any(|(k, v)| k == "sort" && v == "-lastUpdateTime");
            let want = if r.path.ends_with("/storage/storage-units") {
                "500"
            } else if probe {
                "1"
            } else {
                "100"
            };
            assert_eq!(limit, Some(want), "{r:?}");
        }
        let job_requests = requests
            .iter()
            .filter(|r| r.path.ends_with("/admin/jobs"))
            .count();
        let pages = |records: u64| records.div_ceil(100).max(1) as usize;
        match sweep.kind {
            SweepKind::Full => {
                let unfinished = summary
                    .state_count
                    .iter()
                    .filter(|((_, s), _)| &**s != "DONE")
                    .map(|(_, n)| n)
                    .sum::<u64>();
                let ended = summary.by_outcome.values().map(|c| c.count).sum::<u64>();
                assert_eq!(job_requests, 1 + pages(unfinished) + pages(ended), "sweep {n}");
            }
            SweepKind::Incremental => assert_eq!(job_requests, pages(sweep.records), "sweep {n}"),
        }
        let ended = summary.by_outcome.values().map(|c| c.count).sum::<u64>();
        let go = 1 + pages(ended);
        per_sweep.push((sweep.kind, requests.len(), go, sweep.records));
    }
    let full: Vec<_> = per_sweep.iter().filter(|s| s.0 == SweepKind::Full).collect();
    let incremental: Vec<_> = per_sweep
        .iter()
        .filter(|s| s.0 == SweepKind::Incremental)
        .collect();
    // Sweeps 0 and 12 (one hour later) resync; 1-11 are incremental.
    assert_eq!((full.len(), incremental.len()), (2, 11), "{per_sweep:?}");
    let hour: usize = per_sweep[..12].iter().map(|s| s.1).sum();
    let between = incremental.iter().map(|s| s.1).max().unwrap_or(0);
    let go = per_sweep.iter().map(|s| s.2).min().unwrap_or(0);
    eprintln!(
        "requests per sweep: between resyncs at most {between}, hourly average {:.2} ({hour} in 12 sweeps), \
         a resync {:?}; Go exporter on the same data at least {go}",
        hour as f64 / 12.0,
        full.iter().map(|s| s.1).collect::<Vec<_>>()
    );
    // The Go exporter's count on the same data (the issue measured 16 on such a site).
    assert!((15..=17).contains(&go), "{per_sweep:?}");
    assert!(between < go, "{per_sweep:?}");
    assert!(hour < go * 12, "{per_sweep:?}");
}

/// The daemon end to end: a site whose jobs evolve in real time is swept every 3 s;
/// sweeps after the first are incremental, the self-metrics say so and count the records,
/// `nbu_exporter_jobs_tracked` matches the jobs the state counts cover, and a reload that
/// changes the window makes the next sweep a full one.
#[test]
fn the_daemon_sweeps_incrementally_and_reports_it() {
    use crate::support::{config_yaml, site_yaml, wait_for, TestDaemon, KEY as DAEMON_KEY};
    let spec = WorkloadSpec {
        jobs_per_hour: 1_200, // one every 3 s; the 10 s overlap re-reads a few every sweep
        retention_millis: 60 * MINUTE,
        storage_units: 4,
        tape_units: 1,
        ..WorkloadSpec::default()
    };
    let mut sim =
        SimServer::start(SimOptions::new(DAEMON_KEY, SimData::default())).expect("start the simulator");
    sim.drive(
        Workload::new(spec, nbu_sim::now_millis()),
        Duration::from_millis(200),
    )
    .expect("drive the workload");
    let yaml = |window: &str| {
        config_yaml(
            &format!("  collectionInterval: 3s\n  scrapingInterval: {window}\n"),
            &[site_yaml("evolving", &sim, "")],
        )
    };
    let d = TestDaemon::start(&yaml("1h"));
    let s = ("site", "evolving");
    let m = wait_for(Duration::from_secs(60), "two incremental sweeps", || {
        let m = d.metrics();
        (m.value("nbu_exporter_jobs_sweeps_total", &[s, ("kind", "incremental")]) >= 2.0).then_some(m)
    });
    assert_eq!(
        m.value("nbu_exporter_jobs_sweeps_total", &[s, ("kind", "full")]),
        1.0
    );
    assert!(m.value("nbu_exporter_nbu_records_total", &[s, ("source", "jobs_full")]) > 500.0);
    assert!(
        m.value(
            "nbu_exporter_nbu_records_total",
            &[s, ("source", "jobs_incremental")]
        ) > 0.0
    );
    assert!(m.value("nbu_exporter_nbu_records_total", &[s, ("source", "storage")]) >= 4.0);
    // Every tracked job is in exactly one state count (the workload's jobs are either
    // unfinished or DONE); the gauge and the snapshot may be one sweep apart.
    wait_for(
        Duration::from_secs(30),
        "jobs_tracked = the jobs counted by state",
        || {
            let m = d.metrics();
            let tracked = m.value("nbu_exporter_jobs_tracked", &[s]);
            (tracked > 0.0 && tracked == m.sum("nbu_jobs_state_count", &[s])).then_some(())
        },
    );
    d.write_config(&yaml("30m"));
    assert_eq!(d.reload().0, 200);
    wait_for(
        Duration::from_secs(30),
        "a full sweep after the window changed",
        || {
            let full = d
                .metrics()
                .value("nbu_exporter_jobs_sweeps_total", &[s, ("kind", "full")]);
            (full >= 2.0).then_some(())
        },
    );
}
