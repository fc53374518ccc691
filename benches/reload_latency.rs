//! The reload and scrape latency bench: runs the real `nbu-exporter` binary against
//! simulated NetBackup sites on loopback and prints a table of figures next to their
//! targets (issue 5 items 5 and 6, `reload-anchors.md` §8.3):
//!
//! - SIGHUP -> new generation visible, 50-site config;
//! - the same with 0.3 s between one reload being seen and the next edit + SIGHUP;
//! - file edit -> new generation visible (inotify, default 200 ms debounce);
//! - `/metrics` latency idle and during a storm of 100 HTTP reloads/s;
//! - `/metrics` time, body size and RSS at about 10k and 100k series;
//! - `/metrics` time and RSS with 10 and 50 modest sites (about 7k and 35k series);
//! - `/metrics` CPU and bytes per scrape at 10 sites, plain and gzip;
//! - idle CPU of the process over 60 s with no scrapes and no edits.
//!
//! Run: `cargo bench --bench reload_latency` (Cargo builds the release binary first).
//! Knobs: `NBU_BENCH_RELOADS` (200), `NBU_BENCH_PACED` (200), `NBU_BENCH_EDITS` (200),
//! `NBU_BENCH_STORM_SECS` (10), `NBU_BENCH_IDLE_SECS` (60), `NBU_BENCH_SCRAPES` (300),
//! `NBU_BENCH_STORM_PHASE=locked` (each storm reload starts with a scrape instead of at a
//! pseudo-random point of its 10 ms slot), `NBU_BENCH_ONLY=signal,paced,edit,storm,size,gzip,rss,idle`.
//!
//! Every scrape asks for gzip as Prometheus does (`Accept-Encoding: gzip`), except the
//! plain rows of the `gzip` section.
//!
//! It never asserts a timing: it prints. Every loop is bounded in count and time. It must
//! not use the daemon's internals; it sees what an operator sees.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nbu_exporter::timefmt::now_millis;
use nbu_sim::{DataSpec, SimData, XorShift};
use support::*;

/// The reload worker merges asynchronous triggers within this long after a reload
/// (`reload::worker::ASYNC_SPACING`); signals are spaced beyond it.
const ASYNC_SPACING: Duration = Duration::from_millis(200);
/// The default `reload.debounce`.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// The operator's pause between seeing one reload applied and the next edit + SIGHUP in
/// the `paced` section: longer than `ASYNC_SPACING`, shorter than the watcher's re-check
/// plus `ASYNC_SPACING`.
const PACED_PAUSE: Duration = Duration::from_millis(300);
/// One reload is given up on after this long (counted as a miss, never waited forever).
const VISIBLE_WITHIN: Duration = Duration::from_secs(5);
/// How often visibility is polled.
const POLL_EVERY: Duration = Duration::from_millis(1);

/// One line of the final table.
struct Row {
    what: String,
    target: String,
    measured: String,
    met: Option<bool>,
}

fn row(
    what: impl Into<String>,
    target: impl Into<String>,
    measured: impl Into<String>,
    met: Option<bool>,
) -> Row {
    Row {
        what: what.into(),
        target: target.into(),
        measured: measured.into(),
        met,
    }
}

fn main() {
    check_binary();
    let only: Option<Vec<String>> = std::env::var("NBU_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|s| s == name));

    println!("== reload_latency\n{}\n", machine_info());
    let mut rows = Vec::new();
    if wanted("signal") || wanted("paced") || wanted("edit") || wanted("storm") {
        fifty_sites(&mut rows, &wanted);
    }
    if wanted("size") {
        sizes(&mut rows);
    }
    if wanted("gzip") {
        gzip_costs(&mut rows);
    }
    if wanted("rss") {
        many_sites_rss(&mut rows);
    }
    if wanted("idle") {
        idle_cpu(&mut rows);
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\n== summary (load average at end: {})",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!("| figure | target | measured | met |");
    println!("| --- | --- | --- | --- |");
    for r in &rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        println!("| {} | {} | {} | {met} |", r.what, r.target, r.measured);
    }
}

/// Polls `/-/config-status` until the generation exceeds `after`; the instant it was
/// seen and the status, or `None` after `VISIBLE_WITHIN`.
fn wait_generation(
    exporter: &Exporter,
    after: u64,
    started: Instant,
) -> Option<(Instant, serde_json::Value)> {
    loop {
        let body = exporter.get("/-/config-status").1;
        let now = Instant::now();
        if status_generation(&body) > after {
            return Some((now, serde_json::from_str(&body).unwrap_or_default()));
        }
        if now >= started + VISIBLE_WITHIN {
            return None;
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// Where the time of one reload went, from the daemon's own record of its last attempt
/// (wall-clock milliseconds): waiting before the reload started, the reload itself, and
/// the rest (the attempt being recorded and the answer reaching the bench).
struct Breakdown {
    total_ms: f64,
    waited_ms: f64,
    reload_ms: f64,
}

impl Breakdown {
    fn new(total: Duration, sent_unix_ms: i64, status: &serde_json::Value) -> Breakdown {
        let attempt = &status["last_attempt"];
        let finished = attempt["at_unix_ms"].as_i64().unwrap_or(0) as f64;
        let reload_ms = attempt["duration_ms"].as_f64().unwrap_or(0.0);
        Breakdown {
            total_ms: total.as_secs_f64() * 1000.0,
            waited_ms: finished - reload_ms - sent_unix_ms as f64,
            reload_ms,
        }
    }
}

/// Prints the slowest samples with their breakdown.
fn print_slowest(what: &str, mut all: Vec<Breakdown>) {
    all.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    for b in all.iter().take(3) {
        println!(
            "slowest {what}: total {:.1} ms = waited {:.0} ms before the reload started + reload {:.1} ms + {:.0} ms recording and answering",
            b.total_ms,
            b.waited_ms,
            b.reload_ms,
            (b.total_ms - b.waited_ms - b.reload_ms).max(0.0)
        );
    }
}

/// The 50-site sections: signal, paced, edit, storm.
fn fifty_sites(rows: &mut Vec<Row>, wanted: &dyn Fn(&str) -> bool) {
    let sims = start_sims(50, &SimData::known(now_millis()));
    let ports: Vec<u16> = sims.iter().map(|s| s.port()).collect();
    let mut cfg = BenchConfig::new(&ports);
    println!(
        "50-site config: {} bytes, each site on its own simulator (known dataset)",
        cfg.yaml().len()
    );
    let exporter = Exporter::start(&cfg.yaml());
    exporter.wait_ready(Duration::from_secs(60));
    let mut toggled = 0usize;

    if wanted("signal") {
        let n: usize = env_or("NBU_BENCH_RELOADS", 200);
        // Each cycle: change one site's timeout, write the file, SIGHUP at once, wait for
        // the generation. The signal's reload also serves the watcher's event for the
        // write. Cycles start 500 ms apart, beyond ASYNC_SPACING (kept from before issue 8
        // so figures compare; `paced` measures a 0.3 s pause after each reload).
        let cycle = DEBOUNCE + ASYNC_SPACING + Duration::from_millis(100);
        println!(
            "\n-- SIGHUP -> generation visible: {n} reloads, one every {}ms",
            cycle.as_millis()
        );
        let mut samples = Vec::with_capacity(n);
        let mut breakdowns = Vec::with_capacity(n);
        let mut misses = 0;
        let section_deadline = Instant::now() + Duration::from_secs(20) + cycle * n as u32 * 2;
        for _ in 0..n {
            if Instant::now() > section_deadline {
                break;
            }
            let before = exporter.generation();
            cfg.toggle_site_timeout(toggled);
            toggled += 1;
            replace_file(&exporter.config, &cfg.yaml());
            let sent = now_millis();
            let t0 = Instant::now();
            exporter.sighup();
            match wait_generation(&exporter, before, t0) {
                Some((seen, status)) => {
                    samples.push(seen - t0);
                    breakdowns.push(Breakdown::new(seen - t0, sent, &status));
                }
                None => misses += 1,
            }
            std::thread::sleep((t0 + cycle).saturating_duration_since(Instant::now()));
        }
        let s = Stats::of(&samples);
        println!("signal: {} misses={misses}", s.line());
        print_slowest("signal", breakdowns);
        println!(
            "daemon-side duration_ms (read..swap): {}",
            logged_durations(&exporter, "signal").line()
        );
        let body = exporter.get("/metrics").1;
        println!(
            "reloads_total: signal/applied={} watch/applied={} (the watcher must not win the race)",
            sum_samples(
                &body,
                "nbu_exporter_config_reloads_total",
                &["trigger=\"signal\"", "result=\"applied\""]
            ),
            sum_samples(
                &body,
                "nbu_exporter_config_reloads_total",
                &["trigger=\"watch\"", "result=\"applied\""]
            ),
        );
        rows.push(row(
            "SIGHUP -> generation visible, 50 sites, p50",
            "-",
            format!("{:.1} ms (n={})", s.p50, s.n),
            None,
        ));
        rows.push(row(
            "SIGHUP -> generation visible, 50 sites, p99",
            "< 20 ms",
            format!("{:.1} ms (max {:.1}, misses {misses})", s.p99, s.max),
            Some(s.p99 < 20.0 && misses == 0 && s.n > 0),
        ));
    }

    if wanted("paced") {
        let n: usize = env_or("NBU_BENCH_PACED", 200);
        paced_signals(rows, &exporter, &mut cfg, &mut toggled, n);
    }

    if wanted("edit") {
        let n: usize = env_or("NBU_BENCH_EDITS", 200);
        // Each cycle: rename a new file over the config, wait for the generation; the
        // next edit comes after the post-reload spacing.
        let spacing = ASYNC_SPACING + Duration::from_millis(50);
        println!("\n-- file edit (rename) -> generation visible: {n} edits, debounce 200ms (default)");
        let mut samples = Vec::with_capacity(n);
        let mut breakdowns = Vec::with_capacity(n);
        let mut misses = 0;
        let section_deadline = Instant::now() + Duration::from_secs(20) + Duration::from_secs(2) * n as u32;
        for _ in 0..n {
            if Instant::now() > section_deadline {
                break;
            }
            let before = exporter.generation();
            cfg.toggle_site_timeout(toggled);
            toggled += 1;
            let sent = now_millis();
            replace_file(&exporter.config, &cfg.yaml());
            let t0 = Instant::now();
            match wait_generation(&exporter, before, t0) {
                Some((seen, status)) => {
                    samples.push(seen - t0);
                    breakdowns.push(Breakdown::new(seen - t0, sent, &status));
                }
                None => misses += 1,
            }
            std::thread::sleep(spacing);
        }
        let s = Stats::of(&samples);
        println!("edit: {} misses={misses}", s.line());
        print_slowest("edit (waited includes the debounce)", breakdowns);
        println!(
            "daemon-side duration_ms (read..swap): {}",
            logged_durations(&exporter, "watch").line()
        );
        let target = DEBOUNCE.as_secs_f64() * 1000.0 + 50.0;
        rows.push(row(
            "file edit -> generation visible (inotify), p50",
            "-",
            format!("{:.1} ms (n={})", s.p50, s.n),
            None,
        ));
        rows.push(row(
            "file edit -> generation visible (inotify), p99",
            format!("< debounce + 50 ms = {target:.0} ms"),
            format!("{:.1} ms (max {:.1}, misses {misses})", s.p99, s.max),
            Some(s.p99 < target && misses == 0 && s.n > 0),
        ));
    }

    if wanted("storm") {
        let secs: u64 = env_or("NBU_BENCH_STORM_SECS", 10);
        let length = Duration::from_secs(secs);
        let phase = StormPhase::from_env();
        println!(
            "\n-- /metrics latency, 50 sites, Accept-Encoding: gzip: idle, then during 100 HTTP reloads/s ({phase:?} in their slots), {secs}s each"
        );
        let body = exporter.get("/metrics").1;
        let (all, nbu) = count_series(&body);
        println!(
            "/metrics body: {} bytes, {all} samples ({nbu} NetBackup)",
            body.len()
        );
        // Let the watcher's check of the last edit pass.
        std::thread::sleep(DEBOUNCE + ASYNC_SPACING);
        let hz = clock_ticks_per_second() as f64;
        let at_start = exporter.proc();
        let idle = scrape_for(&exporter.base, length, None);
        let after_idle = exporter.proc();
        let gen_before = exporter.generation();
        let storm = scrape_for(&exporter.base, length, Some((&exporter.config, &mut cfg, phase)));
        let gen_after = exporter.generation();
        let after_storm = exporter.proc();
        let busy = |from: &ProcStats, to: &ProcStats, wall: Duration| {
            100.0 * (to.cpu_ticks - from.cpu_ticks) as f64 / hz / wall.as_secs_f64()
        };
        println!(
            "exporter CPU: idle phase {:.1}% of a core, storm phase {:.1}%",
            busy(&at_start, &after_idle, idle.elapsed),
            busy(&after_idle, &after_storm, storm.elapsed)
        );
        let (si, ss) = (Stats::of(&idle.latencies), Stats::of(&storm.latencies));
        println!("idle scrapes:  {} errors={}", si.line(), idle.errors);
        println!(
            "storm scrapes: {} errors={}\nstorm: {} reloads in {:.1}s ({:.0}/s), statuses {:?}, generation {gen_before} -> {gen_after}",
            ss.line(),
            storm.errors,
            storm.reloads,
            storm.elapsed.as_secs_f64(),
            storm.reloads as f64 / storm.elapsed.as_secs_f64(),
            storm.reload_statuses,
        );
        rows.push(row(
            "/metrics (gzip), 50 sites, idle, p50 / p99",
            "-",
            format!("{:.2} / {:.2} ms (n={})", si.p50, si.p99, si.n),
            None,
        ));
        rows.push(row(
            format!(
                "/metrics (gzip) during {:.0} reloads/s ({phase:?}), p50 / p99",
                storm.reloads as f64 / storm.elapsed.as_secs_f64()
            ),
            format!("p99 <= 1.5 x idle p99 = {:.2} ms, 0 errors", 1.5 * si.p99),
            format!(
                "{:.2} / {:.2} ms (n={}, {:.2}x), {} errors",
                ss.p50,
                ss.p99,
                ss.n,
                ss.p99 / si.p99,
                idle.errors + storm.errors
            ),
            Some(ss.p99 <= 1.5 * si.p99 && idle.errors + storm.errors == 0),
        ));
    }
    drop(exporter);
    drop(sims);
}

/// SIGHUP -> generation visible when the operator pauses `PACED_PAUSE` after each reload:
/// write a changed config (atomic rename), SIGHUP, wait for the new generation, pause,
/// repeat. The pause is the workload (an operator or a config manager acting again soon
/// after a reload), not synchronisation: nothing waits for the watcher's own check.
fn paced_signals(
    rows: &mut Vec<Row>,
    exporter: &Exporter,
    cfg: &mut BenchConfig,
    toggled: &mut usize,
    n: usize,
) {
    println!(
        "\n-- SIGHUP -> generation visible, {}ms pause after each: {n} reloads",
        PACED_PAUSE.as_millis()
    );
    let mut samples = Vec::with_capacity(n);
    let mut waits = Vec::with_capacity(n);
    let mut breakdowns = Vec::with_capacity(n);
    let mut triggers = std::collections::BTreeMap::<String, u64>::new();
    let mut misses = 0;
    let section_deadline =
        Instant::now() + Duration::from_secs(20) + (PACED_PAUSE + VISIBLE_WITHIN) * n as u32;
    for _ in 0..n {
        if Instant::now() > section_deadline {
            break;
        }
        let before = exporter.generation();
        cfg.toggle_site_timeout(*toggled);
        *toggled += 1;
        replace_file(&exporter.config, &cfg.yaml());
        let sent = now_millis();
        let t0 = Instant::now();
        exporter.sighup();
        match wait_generation(exporter, before, t0) {
            Some((seen, status)) => {
                samples.push(seen - t0);
                let b = Breakdown::new(seen - t0, sent, &status);
                waits.push(Duration::from_secs_f64(b.waited_ms.max(0.0) / 1000.0));
                breakdowns.push(b);
                let trigger = status["last_attempt"]["trigger"].as_str().unwrap_or("?");
                *triggers.entry(trigger.to_string()).or_insert(0) += 1;
            }
            None => misses += 1,
        }
        std::thread::sleep(PACED_PAUSE);
    }
    let s = Stats::of(&samples);
    println!("paced: {} misses={misses}", s.line());
    println!(
        "paced, signal sent -> reload started (the daemon's record): {}",
        Stats::of(&waits).line()
    );
    println!("paced, trigger of the attempt that applied: {triggers:?}");
    print_slowest("paced", breakdowns);
    rows.push(row(
        format!(
            "SIGHUP -> generation visible, {} ms pause after each reload, 50 sites, p50",
            PACED_PAUSE.as_millis()
        ),
        "-",
        format!("{:.1} ms (n={})", s.p50, s.n),
        None,
    ));
    rows.push(row(
        format!(
            "SIGHUP -> generation visible, {} ms pause after each reload, 50 sites, p99",
            PACED_PAUSE.as_millis()
        ),
        "< 20 ms",
        format!("{:.1} ms (max {:.1}, misses {misses})", s.p99, s.max),
        Some(s.p99 < 20.0 && misses == 0 && s.n > 0),
    ));
}

/// The `duration_ms` the daemon logged for its applied reloads with this trigger.
fn logged_durations(exporter: &Exporter, trigger: &str) -> Stats {
    let needle = format!("msg=\"config reload applied\" trigger={trigger} ");
    let samples: Vec<Duration> = exporter
        .stderr()
        .lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("duration_ms=")))
        .filter_map(|v| v.parse::<f64>().ok())
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect();
    Stats::of(&samples)
}

struct ScrapeRun {
    latencies: Vec<Duration>,
    errors: u64,
    reloads: u64,
    reload_statuses: std::collections::BTreeMap<u16, u64>,
    elapsed: Duration,
}

/// How the storm's reloads lie in their 10 ms slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StormPhase {
    /// At a pseudo-random point of each slot (fixed seed): the reloads keep no phase with
    /// the scrapes, as a config manager's reloads and Prometheus' scrapes keep none.
    Jittered,
    /// At the start of each slot, where the scrapes start too, so that nearly every
    /// scrape begins together with a reload: the worst alignment, and the schedule of
    /// this bench before 2026-12-04 (`NBU_BENCH_STORM_PHASE=locked`).
    Locked,
}

impl StormPhase {
    fn from_env() -> StormPhase {
        match std::env::var("NBU_BENCH_STORM_PHASE").as_deref() {
            Ok("locked") => StormPhase::Locked,
            _ => StormPhase::Jittered,
        }
    }
}

/// One reload per slot: 100/s.
const STORM_SLOT: Duration = Duration::from_millis(10);

/// The seed of the jittered schedule, so every run places its reloads alike.
const STORM_SEED: u64 = 20_261_204;

/// Scrapes `/metrics` every 10 ms for `length`; with `storm`, a second thread meanwhile
/// rewrites the config (alternating `collectionInterval`) and `POST /-/reload`s it once in
/// every 10 ms slot, where in the slot as the storm's [`StormPhase`] says (100/s when a
/// reload takes under 10 ms).
fn scrape_for(
    base: &str,
    length: Duration,
    storm: Option<(&std::path::Path, &mut BenchConfig, StormPhase)>,
) -> ScrapeRun {
    let stop = Arc::new(AtomicBool::new(false));
    let reloads = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    std::thread::scope(|scope| {
        let storm_thread = storm.map(|(path, cfg, phase)| {
            let stop = Arc::clone(&stop);
            let reloads = Arc::clone(&reloads);
            let url = format!("{base}/-/reload");
            scope.spawn(move || {
                let agent = agent(Duration::from_secs(30));
                let mut statuses = std::collections::BTreeMap::new();
                let slots = Instant::now();
                let mut jitter = (phase == StormPhase::Jittered).then(|| XorShift::new(STORM_SEED));
                let slot_micros = STORM_SLOT.as_micros() as u64;
                // Bounded: 100/s for at most `length` plus slack.
                for slot in 0..(length.as_millis() as u32 / 10 + 10) {
                    let offset = jitter.as_mut().map_or(0, |rng| rng.below(slot_micros));
                    let at = slots + STORM_SLOT * slot + Duration::from_micros(offset);
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    cfg.toggle_collection_interval();
                    replace_file(path, &cfg.yaml());
                    let (status, _) = request(&agent, "POST", &url);
                    *statuses.entry(status).or_insert(0u64) += 1;
                    reloads.fetch_add(1, Ordering::SeqCst);
                }
                statuses
            })
        });
        let agent = agent(Duration::from_secs(30));
        let url = format!("{base}/metrics");
        let mut latencies = Vec::new();
        let mut errors = 0;
        let mut next = Instant::now();
        while started.elapsed() < length {
            let t = Instant::now();
            let (status, body) = request(&agent, "GET", &url);
            let took = t.elapsed();
            if status == 200 && body.contains("nbu_exporter_config_generation") {
                latencies.push(took);
            } else {
                errors += 1;
            }
            next += Duration::from_millis(10);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        stop.store(true, Ordering::SeqCst);
        let elapsed = started.elapsed();
        let reload_statuses = storm_thread
            .map(|t| t.join().expect("storm thread"))
            .unwrap_or_default();
        ScrapeRun {
            latencies,
            errors,
            reloads: reloads.load(Ordering::SeqCst),
            reload_statuses,
            elapsed,
        }
    })
}

/// `/metrics` time, size and RSS at about 10k and 100k NetBackup series.
fn sizes(rows: &mut Vec<Row>) {
    // One site of this data renders about 10k NetBackup series (mostly storage units:
    // six series each, plus the jobs families).
    let spec = DataSpec {
        jobs: 3_000,
        active_jobs: 40,
        queued_jobs: 20,
        storage_units: 1_700,
        tape_units: 60,
        seed: 7,
    };
    let data = SimData::generate(&spec, now_millis());
    for (label, sites) in [("10k", 1usize), ("100k", 10)] {
        println!("\n-- /metrics at about {label} series: {sites} site(s) of {spec:?}");
        let target = (label == "10k").then_some(20.0);
        memory_at(rows, sites, &data, target);
    }
}

/// `/metrics` time and RSS with many modest sites (`DataSpec::default()`, about 700
/// NetBackup series each): 10 sites and 50 sites.
fn many_sites_rss(rows: &mut Vec<Row>) {
    let spec = DataSpec::default();
    let data = SimData::generate(&spec, now_millis());
    for sites in [10usize, 50] {
        println!("\n-- RSS with {sites} sites of {spec:?}");
        memory_at(rows, sites, &data, None);
    }
}

/// Starts an exporter on `sites` simulators of `data`, times 50 scrapes, then reads RSS
/// after the first sweep and after `steady_state`; one latency row and one RSS row
/// (`target_mib` is the RSS target, if there is one).
fn memory_at(rows: &mut Vec<Row>, sites: usize, data: &SimData, target_mib: Option<f64>) {
    let sims = start_sims(sites, data);
    let ports: Vec<u16> = sims.iter().map(|s| s.port()).collect();
    let mut cfg = BenchConfig::new(&ports);
    let exporter = Exporter::start(&cfg.yaml());
    let t = Instant::now();
    exporter.wait_ready(Duration::from_secs(120));
    let first_sweep = t.elapsed();
    let mut latencies = Vec::new();
    let mut bytes = 0;
    let mut series = (0, 0);
    let n = 50;
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..n + 5 {
        if Instant::now() > deadline {
            break;
        }
        let t = Instant::now();
        let (status, body) = exporter.get("/metrics");
        let took = t.elapsed();
        assert_eq!(status, 200, "scrape failed");
        // The first few warm the connection and the allocator.
        if i >= 5 {
            latencies.push(took);
        }
        bytes = body.len();
        series = count_series(&body);
        std::thread::sleep(Duration::from_millis(20));
    }
    let p = exporter.proc();
    let (steady, scrapes) = steady_state(&exporter, &mut cfg);
    let s = Stats::of(&latencies);
    println!(
        "first sweep done in {:.1}s; body {bytes} bytes, {} samples ({} NetBackup); scrape {}",
        first_sweep.as_secs_f64(),
        series.0,
        series.1,
        s.line()
    );
    println!(
        "process after the first sweep and 55 scrapes: VmRSS {} KiB, VmHWM {} KiB, threads {}, fds {}",
        p.rss_kib, p.hwm_kib, p.threads, p.fds
    );
    println!(
        "process after 2 more sweeps of every site and {scrapes} scrapes from 4 clients at once: VmRSS {} KiB, VmHWM {} KiB, threads {}, fds {}",
        steady.rss_kib, steady.hwm_kib, steady.threads, steady.fds
    );
    rows.push(row(
        format!(
            "GET /metrics, {sites} site(s), {} NetBackup series, p50 / p99",
            series.1
        ),
        "-",
        format!("{:.1} / {:.1} ms, {} KiB body", s.p50, s.p99, bytes / 1024),
        None,
    ));
    let mib = |kib: u64| kib as f64 / 1024.0;
    let measured = format!(
        "{:.1} MiB after the first sweep; {:.1} MiB after 3 sweeps and {scrapes} concurrent scrapes (peak {:.1} MiB)",
        mib(p.rss_kib),
        mib(steady.rss_kib),
        mib(steady.hwm_kib)
    );
    let worst = mib(p.rss_kib.max(steady.rss_kib));
    rows.push(row(
        format!("RSS, {sites} site(s), {} NetBackup series", series.1),
        target_mib.map_or_else(|| "-".to_string(), |t| format!("< {t:.0} MiB")),
        measured,
        target_mib.map(|t| worst < t),
    ));
    drop(exporter);
    drop(sims);
}

/// Memory in use once every allocator arena has seen the work: two more sweeps of every
/// site (forced by a reload that changes every site's timeout) while 4 clients scrape at
/// once. Returns the process figures and the scrapes made.
fn steady_state(exporter: &Exporter, cfg: &mut BenchConfig) -> (ProcStats, u64) {
    let stop = AtomicBool::new(false);
    let scrapes = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let (stop, scrapes, url) = (&stop, &scrapes, format!("{}/metrics", exporter.base));
            scope.spawn(move || {
                let agent = agent(Duration::from_secs(60));
                // Bounded: at most 200 scrapes per client.
                for _ in 0..200 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let _ = request(&agent, "GET", &url);
                    scrapes.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
        }
        force_sweeps(exporter, cfg, 2, Duration::from_secs(120));
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::SeqCst);
    });
    (exporter.proc(), scrapes.load(Ordering::SeqCst))
}

/// CPU and bytes per `/metrics` scrape at 10 sites, plain and gzip: sequential scrapes
/// on fresh connections, the exporter's CPU time (`/proc`) divided by their number.
fn gzip_costs(rows: &mut Vec<Row>) {
    let n: usize = env_or("NBU_BENCH_SCRAPES", 300);
    // Each site as the demo's larger one.
    let spec = DataSpec {
        jobs: 2_000,
        active_jobs: 25,
        queued_jobs: 12,
        storage_units: 150,
        tape_units: 6,
        seed: 7,
    };
    println!("\n-- /metrics at 10 sites of {spec:?}: {n} scrapes each, plain then gzip");
    let sims = start_sims(10, &SimData::generate(&spec, now_millis()));
    let ports: Vec<u16> = sims.iter().map(|s| s.port()).collect();
    let exporter = Exporter::start(&BenchConfig::new(&ports).yaml());
    exporter.wait_ready(Duration::from_secs(120));
    let hz = clock_ticks_per_second();
    let (_, body) = exporter.get("/metrics");
    let (all, nbu) = count_series(&body);
    println!(
        "body: {} bytes decoded, {all} samples ({nbu} NetBackup)",
        body.len()
    );
    for (label, gzip) in [("plain", false), ("gzip", true)] {
        for _ in 0..5 {
            raw_scrape(&exporter.base, "/metrics", gzip);
        }
        let mut latencies = Vec::with_capacity(n);
        let mut bytes = Vec::with_capacity(n);
        let mut errors = 0;
        let before = exporter.proc();
        let deadline = Instant::now() + Duration::from_secs(120);
        for _ in 0..n {
            if Instant::now() > deadline {
                break;
            }
            let t = Instant::now();
            let (status, wire, coding) = raw_scrape(&exporter.base, "/metrics", gzip);
            latencies.push(t.elapsed());
            if status != 200 || coding.is_some() != gzip {
                errors += 1;
            }
            bytes.push(wire);
        }
        let after = exporter.proc();
        let scrapes = latencies.len().max(1);
        let cpu_ms = (after.cpu_ticks - before.cpu_ticks) as f64 * 1000.0 / hz as f64 / scrapes as f64;
        let mean_bytes = bytes.iter().sum::<usize>() / bytes.len().max(1);
        let s = Stats::of(&latencies);
        println!(
            "{label}: cpu {cpu_ms:.2} ms/scrape (tick {}ms over {scrapes} scrapes); {mean_bytes} bytes/scrape on the wire; {} errors={errors}",
            1000 / hz,
            s.line()
        );
        rows.push(row(
            format!("/metrics at 10 sites, {label}: CPU / bytes per scrape"),
            "-",
            format!(
                "{cpu_ms:.2} ms, {} KB (p50 / p99 {:.2} / {:.2} ms, n={}, {errors} errors)",
                mean_bytes / 1000,
                s.p50,
                s.p99,
                s.n
            ),
            None,
        ));
    }
    drop(exporter);
    drop(sims);
}

/// CPU used by an exporter with one site and default intervals while nothing happens.
fn idle_cpu(rows: &mut Vec<Row>) {
    let secs: u64 = env_or("NBU_BENCH_IDLE_SECS", 60);
    println!("\n-- idle CPU over {secs}s: 1 site, default intervals, no scrapes, no edits");
    let sims = start_sims(1, &SimData::known(now_millis()));
    let ports: Vec<u16> = sims.iter().map(|s| s.port()).collect();
    let exporter = Exporter::start(&BenchConfig::new(&ports).yaml());
    exporter.wait_ready(Duration::from_secs(60));
    // Let the startup sweep and the first content check settle.
    std::thread::sleep(Duration::from_secs(2));
    let hz = clock_ticks_per_second();
    let before = exporter.proc();
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let after = exporter.proc();
    let wall = t.elapsed().as_secs_f64();
    let cpu = (after.cpu_ticks - before.cpu_ticks) as f64 / hz as f64;
    let pct = 100.0 * cpu / wall;
    let wakeups = (after.switches - before.switches) as f64 / wall;
    println!(
        "cpu {cpu:.2}s of {wall:.1}s = {pct:.3}% of one core (tick {}ms); {wakeups:.0} context switches/s; threads {}; VmRSS {} KiB",
        1000 / hz,
        after.threads,
        after.rss_kib
    );
    rows.push(row(
        format!("idle CPU over {secs} s, 1 site"),
        "well under 1% of a core",
        format!("{pct:.3}% ({wakeups:.0} wakeups/s)"),
        Some(pct < 0.5),
    ));
    drop(exporter);
    drop(sims);
}
