//! One sweep of every opt-in collector part against the simulator at the acceptance sizes
//! (250 drives, 1,200 tape volumes, 130 volume pools, 620 disk pools, 150 alerts, 350
//! malware results, 400 catalog images, 130 SLOs, 3 allowlisted clients), through the
//! collectors table exactly as a site's scheduler runs it: requests, wall time per part and
//! in total, and the process's peak RSS (VmHWM; the simulator runs in this process too, so
//! it is an upper bound).
//!
//! `cargo bench --bench collectors_sweep` (prints figures; no timed assertions).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nbu_exporter::api_version::ApiVersion;
use nbu_exporter::collect::collectors::{RunInput, PARTS};
use nbu_exporter::collect::freshness::FreshnessBook;
use nbu_exporter::config::load_from_bytes;
use nbu_exporter::nbu::{Client, ClientOptions};
use nbu_sim::{now_millis, DataSpec, ResourceSpec, SimData, SimOptions, SimResources, SimServer};
use parking_lot::Mutex;

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let now = now_millis();
    let data = SimData {
        resources: SimResources::generate(&ResourceSpec::default(), now),
        ..SimData::generate(&DataSpec::default(), now)
    };
    let sim = SimServer::start(SimOptions::new("bench-key", data)).expect("simulator");
    let yaml = format!(
        "nbuservers:\n  - {{site: bench, scheme: http, host: 127.0.0.1, port: {}, apiKey: bench-key}}\n\
         collectors:\n  alerts: {{enabled: true}}\n  malware: {{enabled: true}}\n  catalog: {{enabled: true}}\n  \
         slo: {{enabled: true}}\n  tape: {{enabled: true}}\n  perClient: {{enabled: true, allowlist: [client0001.sim.example, client0002.sim.example, nobody]}}\n",
        sim.port()
    );
    let dir = std::env::temp_dir();
    let loaded = load_from_bytes(&dir.join("bench.yaml"), yaml.as_bytes(), &|_| None).expect("config");
    let cfg = loaded.config;
    let client = Client::new(&cfg.sites[0], ClientOptions::default(), None).expect("client");
    let book = Mutex::new(FreshnessBook::default());
    book.lock().set_allowlist(&cfg.collectors.allowlist);
    let rss_before = vm_hwm_kib();
    let rounds = 5;
    println!("collector sweep against the simulator (API 14.0), {rounds} rounds");
    let mut totals: Vec<(Duration, usize)> = Vec::new();
    for round in 0..rounds {
        let round_start = Instant::now();
        let requests_start = sim.handle().request_count();
        for part in &PARTS {
            let before = sim.handle().request_count();
            let t = Instant::now();
            let input = RunInput {
                client: &client,
                version: ApiVersion::V14_0,
                deadline: Instant::now() + Duration::from_secs(60),
                settings: cfg.collectors.get(part.key),
                freshness: &book,
            };
            let data = (part.run)(&input).unwrap_or_else(|e| panic!("{}: {e}", part.label));
            drop(Arc::clone(&data));
            if round == 0 {
                println!(
                    "  {:<15} {:>3} requests {:>8.1} ms",
                    part.label,
                    sim.handle().request_count() - before,
                    t.elapsed().as_secs_f64() * 1000.0
                );
            }
        }
        totals.push((
            round_start.elapsed(),
            sim.handle().request_count() - requests_start,
        ));
    }
    for (i, (wall, requests)) in totals.iter().enumerate() {
        println!(
            "  round {i}: {requests} requests, {:.1} ms wall (parts in sequence)",
            wall.as_secs_f64() * 1000.0
        );
    }
    println!(
        "  peak RSS (VmHWM, exporter side + simulator): {} KiB before the sweeps, {} KiB after",
        rss_before.map_or("?".into(), |k| k.to_string()),
        vm_hwm_kib().map_or("?".into(), |k| k.to_string())
    );
}
