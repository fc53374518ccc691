//! The soak run (not in CI): the real `nbu-exporter` binary under mixed load for 10 minutes
//! by default, printing once a minute its RSS, open fds, thread count and error counts,
//! which must stay flat.
//!
//! Load, all on loopback: 8 simulated sites swept every 15 s; a reload storm of 20 HTTP
//! reloads/s (mostly applied, every 10th an invalid file that is rejected, every 7th
//! unchanged), a SIGHUP every second, scrapes of `/metrics` at 50/s from two clients, and
//! one simulator at a time misbehaving (a different fault every 5 s, see `DEFAULT_FAULTS`).
//!
//! Run: `nice cargo bench --bench soak` (10 minutes), or shorter with
//! `SOAK_SECS=120 cargo bench --bench soak`. For diagnosis, `SOAK_EVERY_SECS` (60) sets the
//! sampling interval, `SOAK_FAULTS` picks the faults (`none`, or a list such as
//! `status,hang,endless`) and `SOAK_RELOADS=0` leaves out reloads and signals. It prints and judges; it never asserts a
//! timing. It must not use the daemon's internals.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nbu_exporter::timefmt::now_millis;
use nbu_sim::{DataSpec, Fault, Scope, SimData};
use support::*;

const SITES: usize = 8;
/// The faults rotated through (`SOAK_FAULTS`, comma-separated; `none` for none). `endless`
/// (endless jobs and storage-unit listings) is left out by default: a sweep then holds up
/// to `ClientOptions::max_jobs` jobs before it gives up, a real but bounded peak (about
/// 30 MiB) that would hide a slow leak; run it on its own with `SOAK_FAULTS=endless`.
const DEFAULT_FAULTS: &str = "status,delay,reset,malformed,truncated,hang,html,slowdrip,oversized";
const INVALID: &str = "server:\n  port: not-a-port\nnbuservers: []\n";

/// Counters the load threads share.
#[derive(Default)]
struct Counters {
    scrapes_ok: AtomicU64,
    scrape_errors: AtomicU64,
    /// HTTP reload answers by status.
    reloads: Mutex<BTreeMap<u16, u64>>,
    signals: AtomicU64,
    faults: AtomicU64,
}

impl Counters {
    fn reload_status(&self, status: u16) {
        *self.reloads.lock().expect("counters").entry(status).or_insert(0) += 1;
    }

    /// Answers other than 200 (applied or unchanged) and 400 (rejected).
    fn unexpected_reloads(&self) -> u64 {
        self.reloads
            .lock()
            .expect("counters")
            .iter()
            .filter(|(s, _)| !matches!(s, 200 | 400))
            .map(|(_, n)| n)
            .sum()
    }
}

/// One line of the per-minute table.
#[derive(Clone, Copy, Default)]
struct Sample {
    at: Duration,
    proc: ProcStats,
    scrapes_ok: u64,
    scrape_errors: u64,
    reloads: u64,
    unexpected_reloads: u64,
    collection_errors: usize,
    generation: u64,
    /// NetBackup series in a `/metrics` body taken with the sample.
    series: usize,
}

fn main() {
    check_binary();
    let mut secs: u64 = env_or("SOAK_SECS", 600);
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--minutes") {
        if let Some(m) = args.get(i + 1).and_then(|v| v.parse::<u64>().ok()) {
            secs = m * 60;
        }
    }
    let length = Duration::from_secs(secs);
    let every = Duration::from_secs(env_or("SOAK_EVERY_SECS", 60)).min(length);
    let fault_names: String = env_or("SOAK_FAULTS", DEFAULT_FAULTS.to_string());
    let kinds: Vec<Fault> = fault_names
        .split(',')
        .filter_map(|name| fault(name.trim()))
        .collect();
    let with_reloads = env_or("SOAK_RELOADS", 1) != 0;
    println!("== soak, {secs}s\n{}\n", machine_info());

    let spec = DataSpec::default();
    let sims = start_sims(SITES, &SimData::generate(&spec, now_millis()));
    let ports: Vec<u16> = sims.iter().map(|s| s.port()).collect();
    let mut cfg = BenchConfig::new(&ports);
    cfg.collection_secs = [15, 16];
    let exporter = Exporter::start(&cfg.yaml());
    exporter.wait_ready(Duration::from_secs(60));
    println!(
        "{SITES} sites of {spec:?}, collectionInterval 15s/16s; reloads 20/s, SIGHUP 1/s, scrapes 50/s, a new fault every 5s\n"
    );

    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut samples = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (counters, stop, base) = (&counters, &stop, exporter.base.clone());
            scope.spawn(move || scraper(&base, counters, stop));
        }
        if with_reloads {
            let (counters, stop, base, path) =
                (&counters, &stop, exporter.base.clone(), exporter.config.clone());
            let cfg = &mut cfg;
            scope.spawn(move || reloader(&base, &path, cfg, counters, stop));
        }
        if with_reloads {
            let (counters, stop, exporter) = (&counters, &stop, &exporter);
            scope.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    exporter.sighup();
                    counters.signals.fetch_add(1, Ordering::SeqCst);
                    sleep_unless(stop, Duration::from_secs(1));
                }
            });
        }
        if !kinds.is_empty() {
            let (counters, stop, sims, kinds) = (&counters, &stop, &sims, &kinds);
            scope.spawn(move || faults(sims, kinds, counters, stop));
        }

        println!("| min | VmRSS KiB | fds | threads | scrapes ok | scrape errors | http reloads | unexpected reload answers | collection errors (this interval) | generation | NetBackup series |");
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        let mut next = started;
        let mut logged_before = 0;
        // Bounded: one sample at the start and one per interval until `length`.
        for _ in 0..=secs / every.as_secs().max(1) {
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            let s = sample(&exporter, &counters, started.elapsed());
            println!(
                "| {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                s.at.as_secs_f64() / 60.0,
                s.proc.rss_kib,
                s.proc.fds,
                s.proc.threads,
                s.scrapes_ok,
                s.scrape_errors,
                s.reloads,
                s.unexpected_reloads,
                s.collection_errors - logged_before,
                s.generation,
                s.series
            );
            logged_before = s.collection_errors;
            samples.push(s);
            next += every;
            if next > started + length + Duration::from_secs(1) {
                break;
            }
        }
        stop.store(true, Ordering::SeqCst);
    });
    for sim in &sims {
        sim.handle().clear_faults();
    }

    let body = exporter.get("/metrics").1;
    println!("\nreloads_total by trigger/result:");
    for trigger in ["signal", "watch", "poll", "http"] {
        let per: Vec<String> = ["applied", "unchanged", "rejected", "failed"]
            .iter()
            .map(|r| {
                let n = sum_samples(
                    &body,
                    "nbu_exporter_config_reloads_total",
                    &[&format!("trigger=\"{trigger}\""), &format!("result=\"{r}\"")],
                );
                format!("{r}={n}")
            })
            .collect();
        println!("  {trigger}: {}", per.join(" "));
    }
    println!(
        "http reload answers by status: {:?}; SIGHUPs sent: {}; faults set: {}",
        counters.reloads.lock().expect("counters"),
        counters.signals.load(Ordering::SeqCst),
        counters.faults.load(Ordering::SeqCst)
    );
    // One example of each kind of collection error, for the record.
    let log = exporter.stderr();
    let mut kinds = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains("collection failed")) {
        let error = line
            .split_once("error=")
            .map_or("", |(_, e)| e.trim_start_matches('"'));
        let kind: String = error.chars().take(60).collect();
        kinds.entry(kind).or_insert_with(|| (0u64, line.to_string())).0 += 1;
    }
    println!("\ncollection errors by kind (first 60 characters), with one example:");
    for (n, example) in kinds.values() {
        println!("  {n} x {example}");
    }
    verdict(&samples);
    drop(exporter);
}

fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
    }
}

/// 25 scrapes/s; a scrape counts as good when it is a 200 with exactly one generation.
fn scraper(base: &str, counters: &Counters, stop: &AtomicBool) {
    let agent = agent(Duration::from_secs(30));
    let url = format!("{base}/metrics");
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let (status, body) = request(&agent, "GET", &url);
        let generations = body
            .lines()
            .filter(|l| l.starts_with("nbu_exporter_config_generation "))
            .count();
        if status == 200 && generations == 1 {
            counters.scrapes_ok.fetch_add(1, Ordering::SeqCst);
        } else {
            counters.scrape_errors.fetch_add(1, Ordering::SeqCst);
        }
        next += Duration::from_millis(40);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// 20 HTTP reloads/s: a changed `collectionInterval` (applied), every 7th the same file
/// again (unchanged), every 10th an invalid file (rejected) that is then put right.
fn reloader(
    base: &str,
    path: &std::path::Path,
    cfg: &mut BenchConfig,
    counters: &Counters,
    stop: &AtomicBool,
) {
    let agent = agent(Duration::from_secs(60));
    let url = format!("{base}/-/reload");
    let mut next = Instant::now();
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        if i.is_multiple_of(10) {
            replace_file(path, INVALID);
        } else if !i.is_multiple_of(7) {
            cfg.toggle_collection_interval();
            replace_file(path, &cfg.yaml());
        }
        let (status, _) = request(&agent, "POST", &url);
        counters.reload_status(status);
        if i.is_multiple_of(10) {
            replace_file(path, &cfg.yaml());
        }
        next += Duration::from_millis(50);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// A fault by its short name.
fn fault(name: &str) -> Option<Fault> {
    Some(match name {
        "status" => Fault::Status {
            code: 503,
            retry_after: Some(1),
        },
        "delay" => Fault::Delay(Duration::from_secs(3)),
        "reset" => Fault::Reset,
        "malformed" => Fault::MalformedJson,
        "truncated" => Fault::TruncatedBody,
        "hang" => Fault::Hang,
        "html" => Fault::HtmlPage,
        "slowdrip" => Fault::SlowDrip {
            bytes_per_sec: 20_000,
        },
        "endless" => Fault::EndlessCursor,
        "oversized" => Fault::OversizedPage { bytes: 3_000_000 },
        _ => return None,
    })
}

/// Every 5 s, clears the previous simulator's fault and gives the next one the next fault.
fn faults(sims: &[nbu_sim::SimServer], kinds: &[Fault], counters: &Counters, stop: &AtomicBool) {
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let sim = &sims[i % sims.len()];
        sims[(i + sims.len() - 1) % sims.len()].handle().clear_faults();
        sim.handle().set_fault(Scope::All, kinds[i % kinds.len()].clone());
        counters.faults.fetch_add(1, Ordering::SeqCst);
        i += 1;
        sleep_unless(stop, Duration::from_secs(5));
    }
}

fn sample(exporter: &Exporter, counters: &Counters, at: Duration) -> Sample {
    let reloads = counters.reloads.lock().expect("counters").values().sum();
    let series = count_series(&exporter.get("/metrics").1).1;
    Sample {
        series,
        at,
        proc: exporter.proc(),
        scrapes_ok: counters.scrapes_ok.load(Ordering::SeqCst),
        scrape_errors: counters.scrape_errors.load(Ordering::SeqCst),
        reloads,
        unexpected_reloads: counters.unexpected_reloads(),
        collection_errors: exporter
            .stderr()
            .lines()
            .filter(|l| l.contains("collection failed"))
            .count(),
        generation: exporter.generation(),
    }
}

/// Flat means: no scrape error, no unexpected reload answer, RSS within 2 MiB of the
/// first full minute (T12) and within 1 MiB over the second half (no steady growth), fds
/// and threads within a small band of in-flight work.
fn verdict(samples: &[Sample]) {
    let Some(last) = samples.last() else {
        println!("\nno samples");
        return;
    };
    // The first full minute is the baseline: allocator arenas and caches have filled.
    let base = samples.get(1).unwrap_or(last);
    let range = |f: fn(&Sample) -> u64| {
        let tail = &samples[1.min(samples.len() - 1)..];
        (
            tail.iter().map(f).min().unwrap_or(0),
            tail.iter().map(f).max().unwrap_or(0),
        )
    };
    let rss_growth = last.proc.rss_kib as i64 - base.proc.rss_kib as i64;
    // A leak grows at a steady rate; allocator warm-up slows down. Compare the halves.
    let middle = &samples[samples.len() / 2];
    let second_half = last.proc.rss_kib as i64 - middle.proc.rss_kib as i64;
    let (fd_min, fd_max) = range(|s| s.proc.fds);
    let (th_min, th_max) = range(|s| s.proc.threads);
    // In flight at any moment: up to 4 HTTP connections, a reload-read thread, and per site
    // a jobs thread and a NetBackup connection or two.
    let band = 4 + 1 + 2 * SITES as u64;
    let checks = [
        ("scrape errors = 0", last.scrape_errors == 0),
        ("unexpected reload answers = 0", last.unexpected_reloads == 0),
        ("RSS growth after minute 1 <= 2048 KiB (T12)", rss_growth <= 2048),
        ("RSS growth over the second half <= 1024 KiB", second_half <= 1024),
        ("fd count within its in-flight band", fd_max - fd_min <= band),
        ("thread count within its in-flight band", th_max - th_min <= band),
    ];
    println!(
        "\n== verdict\nRSS {} -> {} KiB (growth {rss_growth} KiB after minute 1, {second_half} KiB over the second half); fds {fd_min}..{fd_max}; threads {th_min}..{th_max} (band {band})",
        base.proc.rss_kib, last.proc.rss_kib
    );
    println!(
        "{} scrapes ok, {} scrape errors; {} HTTP reloads, {} unexpected answers; generation {}",
        last.scrapes_ok, last.scrape_errors, last.reloads, last.unexpected_reloads, last.generation
    );
    for (what, ok) in checks {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
    }
}
