//! The incremental jobs bench (issue 10): one site running 10,000 jobs an hour, a 1 h
//! window, a sweep every 5 minutes, 2 hours of simulated time on the simulator's stepped
//! clock (so it takes seconds of wall time, not hours). Prints job records transferred
//! and requests per hour for `jobsResyncInterval` 0 (a full download every sweep, the
//! old behaviour), 1h (the default) and 6h, resync and incremental records apart, and
//! checks that every run gives the same metric values at every sweep.
//!
//! Run: `cargo bench --bench incremental`. Knobs: `NBU_BENCH_JOBS_PER_HOUR` (10000),
//! `NBU_BENCH_HOURS` (2). It prints, never asserts a timing; it exits non-zero if the
//! runs disagree on a value.

use std::time::{Duration, Instant};

use nbu_exporter::collect::jobs::{JobsTracker, SweepInput, SweepKind};
use nbu_exporter::collect::JobsSummary;
use nbu_exporter::config::{Scheme, Secret, SiteConfig};
use nbu_exporter::nbu::{ApiVersion, Client, ClientOptions};
use nbu_sim::{SimClock, SimOptions, SimServer, Workload, WorkloadSpec};

const KEY: &str = "bench-key";
const MINUTE: i64 = 60_000;
const T0: i64 = 1_760_000_000_000;
const SWEEP_EVERY: i64 = 5 * MINUTE;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one run measured, summed over the simulated hours after the first sweep.
#[derive(Default)]
struct Run {
    resync_records: u64,
    incremental_records: u64,
    requests: u64,
    resyncs: u64,
    incremental_sweeps: u64,
    /// Records of each incremental sweep, and the jobs that changed since the previous one.
    incremental: Vec<(u64, u64)>,
    full_sweep_records: Vec<u64>,
    peak_table_bytes: usize,
    peak_tracked: usize,
    summaries: Vec<JobsSummary>,
    wall: Duration,
}

fn run(jobs_per_hour: u32, hours: i64, resync: Duration) -> Run {
    let spec = WorkloadSpec {
        jobs_per_hour,
        seed: 10,
        ..WorkloadSpec::default()
    };
    let clock = SimClock::manual(T0);
    let mut workload = Workload::new(spec, T0);
    let mut options = SimOptions::new(KEY, workload.data());
    options.clock = clock.clone();
    let server = SimServer::start(options).expect("start the simulator");
    let handle = server.handle();
    let site = SiteConfig {
        name: "bench".into(),
        scheme: Scheme::Http,
        host: "127.0.0.1".into(),
        port: server.port(),
        uri: "/netbackup".into(),
        api_key: Secret::new(KEY),
        api_key_file: None,
        api_version: Some(ApiVersion::V13_0),
        insecure_skip_verify: false,
        ca_file: None,
        ca_pem: None,
        timeout: Duration::from_secs(60),
    };
    let client = Client::new(&site, ClientOptions::default(), None).expect("client");
    let mut tracker = JobsTracker::new();
    let mut out = Run::default();
    let started = Instant::now();
    let sweeps = hours * 60 * MINUTE / SWEEP_EVERY;
    let mut previous = T0;
    for n in 0..=sweeps {
        if n > 0 {
            clock.advance(SWEEP_EVERY);
            workload.advance_to(clock.now());
            handle.set_data(workload.data());
        }
        let changed = workload
            .data()
            .jobs
            .iter()
            .filter(|j| j.last_update.is_some_and(|t| t > previous))
            .count() as u64;
        previous = clock.now();
        let before_requests = handle.request_count();
        let before = tracker.records_received();
        let input = SweepInput {
            version: ApiVersion::V13_0,
            now: clock.now(),
            window: Duration::from_secs(3600),
            resync_interval: resync,
            deadline: Instant::now() + Duration::from_secs(300),
        };
        let sweep = tracker.sweep(&client, &input).expect("jobs sweep");
        out.summaries
            .push(JobsSummary::from_table(tracker.table(), sweep.window_start));
        out.peak_table_bytes = out.peak_table_bytes.max(tracker.table().heap_bytes());
        out.peak_tracked = out.peak_tracked.max(sweep.tracked);
        if n == 0 {
            continue; // the first sweep is a full download in every run
        }
        let after = tracker.records_received();
        out.resync_records += after.0 - before.0;
        out.incremental_records += after.1 - before.1;
        out.requests += (handle.request_count() - before_requests) as u64;
        match sweep.kind {
            SweepKind::Full => {
                out.resyncs += 1;
                out.full_sweep_records.push(sweep.records);
            }
            SweepKind::Incremental => {
                out.incremental_sweeps += 1;
                out.incremental.push((sweep.records, changed));
            }
        }
    }
    out.wall = started.elapsed();
    out
}

fn mean(values: impl Iterator<Item = u64>) -> f64 {
    let v: Vec<u64> = values.collect();
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<u64>() as f64 / v.len() as f64
    }
}

fn main() {
    let jobs_per_hour: u32 = env_or("NBU_BENCH_JOBS_PER_HOUR", 10_000);
    let hours: i64 = env_or("NBU_BENCH_HOURS", 2);
    println!(
        "# incremental jobs bench: {jobs_per_hour} jobs/h, 1 h window, a sweep every 5 min, {hours} h simulated"
    );
    let configs = [
        ("0", Duration::ZERO),
        ("1h", Duration::from_secs(3600)),
        ("6h", Duration::from_secs(6 * 3600)),
    ];
    let runs: Vec<(&str, Run)> = configs
        .iter()
        .map(|(name, interval)| (*name, run(jobs_per_hour, hours, *interval)))
        .collect();
    let reference = &runs[0].1.summaries;
    let mut disagreements = 0;
    for (name, r) in &runs[1..] {
        for (i, (a, b)) in reference.iter().zip(&r.summaries).enumerate() {
            if a != b {
                disagreements += 1;
                eprintln!("jobsResyncInterval {name}: sweep {i} differs from a full download");
            }
        }
    }
    let full_hour = runs[0].1.resync_records as f64 / hours as f64;
    println!();
    println!("| jobsResyncInterval | job records/h (resync + incremental) | ratio to 0 | requests/h | resyncs | records per incremental sweep (mean / max) | jobs changed per 5 min (mean) | tracked jobs (peak) | table heap (peak) | wall |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, r) in &runs {
        let per_hour = (r.resync_records + r.incremental_records) as f64 / hours as f64;
        println!(
            "| {name} | {:.0} ({:.0} + {:.0}) | {:.1}x below | {:.0} | {} | {:.0} / {} | {:.0} | {} | {:.1} MiB ({:.0} B/job) | {:.1} s |",
            per_hour,
            r.resync_records as f64 / hours as f64,
            r.incremental_records as f64 / hours as f64,
            full_hour / per_hour.max(1.0),
            r.requests as f64 / hours as f64,
            r.resyncs,
            mean(r.incremental.iter().map(|x| x.0)),
            r.incremental.iter().map(|x| x.0).max().unwrap_or(0),
            mean(r.incremental.iter().map(|x| x.1)),
            r.peak_tracked,
            r.peak_table_bytes as f64 / (1 << 20) as f64,
            r.peak_table_bytes as f64 / r.peak_tracked.max(1) as f64,
            r.wall.as_secs_f64(),
        );
    }
    let per_redownload = mean(runs[0].1.full_sweep_records.iter().copied());
    let per_incremental = mean(runs[1].1.incremental.iter().map(|x| x.0));
    println!();
    println!(
        "between resyncs: {per_incremental:.0} records per sweep vs {per_redownload:.0} for a re-download ({:.1}x below)",
        per_redownload / per_incremental.max(1.0)
    );
    println!(
        "equal metric values at every sweep of every run: {}",
        if disagreements == 0 { "yes" } else { "NO" }
    );
    if disagreements > 0 {
        std::process::exit(1);
    }
}
