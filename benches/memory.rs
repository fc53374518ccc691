//! Exporter memory against its series and tracked jobs (issue 10): the real binary,
//! started with no added environment variable (glibc's malloc defaults; `MALLOC_ARENA_MAX`
//! is not set unless the bench's own environment sets it), against simulated sites:
//!
//! - 1 site, 3,000 DONE jobs (+60 active, +30 queued), 150 storage units;
//! - 10 and 50 sites of 500 jobs and 40 units each (956 series a site);
//! - 10 and 50 sites of 150 jobs and 20 units each (636 series a site, the shape of the
//!   issue's goals: ~6.5k series at 10 sites, ~32k at 50);
//! - 1 site tracking about 98,700 jobs (the most one sweep may hold is 100,000).
//!
//! For each: VmRSS after the first sweep and 20 scrapes, then after two more sweeps of
//! every site while 4 clients scrape at once, and bytes per series above 8 MiB.
//!
//! Run: `cargo bench --bench memory` (the exporter gets the bench's environment, nothing
//! added); `NBU_BENCH_BIN=path` measures
//! another build (a "before" figure); `NBU_BENCH_ONLY=1,10,50,10s,50s,100k` picks scenarios. It
//! prints, never asserts.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nbu_exporter::timefmt::now_millis;
use nbu_sim::{DataSpec, SimData};
use support::*;

fn spec(jobs: usize, units: usize) -> DataSpec {
    DataSpec {
        jobs,
        active_jobs: (jobs / 50).min(500),
        queued_jobs: (jobs / 100).min(200),
        storage_units: units,
        tape_units: units / 25,
        seed: 7,
    }
}

/// `(label, sites, data)` of each scenario.
fn scenarios() -> Vec<(&'static str, usize, DataSpec)> {
    vec![
        ("1", 1, spec(3_000, 150)),
        ("10", 10, spec(500, 40)),
        ("50", 50, spec(500, 40)),
        // The shape: about 650 series a site (6.4k at 10 sites, 32k at 50).
        ("10s", 10, spec(150, 20)),
        ("50s", 50, spec(150, 20)),
        // 98,000 + 500 + 200: under the 100,000-job cap of one sweep.
        ("100k", 1, spec(98_000, 150)),
    ]
}

fn main() {
    check_binary();
    let only: Option<Vec<String>> = std::env::var("NBU_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    println!(
        "# memory bench: binary {}, allocator variables passed to the exporter: {}",
        bin(),
        allocator_environment()
    );
    println!("| sites | NetBackup series | jobs tracked | body | VmRSS after first sweep | VmRSS after 3 sweeps + concurrent scrapes | bytes/series above 8 MiB |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (label, sites, spec) in scenarios() {
        if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == label)) {
            continue;
        }
        let data = SimData::generate(&spec, now_millis());
        let sims = start_sims(sites, &data);
        let ports: Vec<u16> = sims.iter().map(|s| s.port()).collect();
        let mut cfg = BenchConfig::new(&ports);
        let exporter = Exporter::start(&cfg.yaml());
        exporter.wait_ready(Duration::from_secs(300));
        let mut body = String::new();
        for _ in 0..20 {
            body = exporter.get("/metrics").1;
            std::thread::sleep(Duration::from_millis(20));
        }
        let (_, series) = count_series(&body);
        let tracked = sum_samples(&body, "nbu_exporter_jobs_tracked", &[]);
        let first = exporter.proc().rss_kib;
        let steady = more_sweeps(&exporter, &mut cfg);
        let worst = first.max(steady) as f64 * 1024.0;
        let per_series = (worst - 8.0 * 1048576.0) / series.max(1) as f64;
        println!(
            "| {sites} | {series} | {tracked:.0} | {} KiB | {:.1} MiB | {:.1} MiB | {per_series:.0} |",
            body.len() / 1024,
            first as f64 / 1024.0,
            steady as f64 / 1024.0
        );
        drop(exporter);
        drop(sims);
    }
}

/// Two more sweeps of every site (a reload that changes every site's timeout sweeps it at
/// once) while 4 clients scrape; VmRSS afterwards.
fn more_sweeps(exporter: &Exporter, cfg: &mut BenchConfig) -> u64 {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let (stop, url) = (&stop, format!("{}/metrics", exporter.base));
            scope.spawn(move || {
                let agent = agent(Duration::from_secs(60));
                for _ in 0..200 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let _ = request(&agent, "GET", &url);
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
        }
        force_sweeps(exporter, cfg, 2, Duration::from_secs(300));
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::SeqCst);
    });
    exporter.proc().rss_kib
}
