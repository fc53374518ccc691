//! Hot reload end to end: every writer and trigger, selective application (key rotation,
//! address change, listener move), the reload storm under scrape load, coalescing of slow
//! writes, `ReloadControl::defer`, symlinked configs and the polling fallback.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nbu_exporter::reload::watch::WatchMode;
use nbu_exporter::state::{Event, Trigger};

use crate::support::*;

const LONG: Duration = Duration::from_secs(20);

fn reloads(m: &Metrics, trigger: &str, result: &str) -> f64 {
    m.value(
        "nbu_exporter_config_reloads_total",
        &[("trigger", trigger), ("result", result)],
    )
}

/// The configured collection interval of the running generation, as a marker of content.
fn running_interval(d: &TestDaemon) -> Duration {
    d.daemon().shared().current().config.server.collection_interval
}

fn config_with_interval(sim: &nbu_sim::SimServer, interval: &str) -> String {
    config_yaml(
        &format!("  collectionInterval: {interval}\n"),
        &[site_yaml("paris", sim, "")],
    )
}

/// Waits until no further reload happens for a while after the expected one, so "exactly
/// one" is checked after any straggler would have arrived.
fn settle(d: &TestDaemon) -> Metrics {
    let mut last = d.status()["attempts"].as_u64();
    let mut stable_since = Instant::now();
    wait_until(LONG, "reloads to settle", || {
        let now = d.status()["attempts"].as_u64();
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
        stable_since.elapsed() > Duration::from_millis(700)
    });
    d.metrics()
}

/// Runs one writer against the config and checks it gives exactly one applied watch
/// reload with the new content.
fn check_writer(name: &str, write: impl FnOnce(&Path, &str)) {
    let sim = known_site();
    let d = TestDaemon::start(&config_with_interval(&sim, "30s"));
    let before = settle(&d);
    write(&d.path, &config_with_interval(&sim, "45s"));
    wait_until(LONG, name, || running_interval(&d) == Duration::from_secs(45));
    let after = settle(&d);
    assert_eq!(
        reloads(&after, "watch", "applied") - reloads(&before, "watch", "applied"),
        1.0,
        "{name}: exactly one applied reload"
    );
    for result in ["rejected", "failed"] {
        assert_eq!(
            reloads(&after, "watch", result),
            0.0,
            "{name}: no {result} reload"
        );
    }
    assert_eq!(
        after.value("nbu_exporter_config_last_reload_successful", &[]),
        1.0
    );
}

#[test]
fn writer_in_place_truncate_and_write() {
    check_writer("in-place", |path, text| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    });
}

#[test]
fn writer_editor_rename_save() {
    check_writer("vim-style rename", |path, text| {
        // vim: move the original away, write a new file, remove the backup; plus its noise.
        let dir = path.parent().unwrap();
        std::fs::write(dir.join(".config.yaml.swp"), "swap").unwrap();
        std::fs::write(dir.join("4913"), "").unwrap();
        std::fs::remove_file(dir.join("4913")).unwrap();
        std::fs::rename(path, dir.join("config.yaml~")).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::remove_file(dir.join("config.yaml~")).unwrap();
    });
}

#[test]
fn writer_sed_in_place() {
    check_writer("sed -i", |path, _| {
        let status = std::process::Command::new("sed")
            .args(["-i", "s/collectionInterval: 30s/collectionInterval: 45s/"])
            .arg(path)
            .status()
            .expect("sed");
        assert!(status.success());
    });
}

#[test]
fn writer_cp_over() {
    check_writer("cp", |path, text| {
        let source = path.parent().unwrap().join("new.yaml.src");
        std::fs::write(&source, text).unwrap();
        assert!(std::process::Command::new("cp")
            .arg(&source)
            .arg(path)
            .status()
            .unwrap()
            .success());
    });
}

#[test]
fn writer_delete_then_recreate() {
    check_writer("delete+recreate", |path, text| {
        std::fs::remove_file(path).unwrap();
        std::fs::write(path, text).unwrap();
    });
}

#[test]
fn writer_atomic_mv() {
    check_writer("mv tmp", |path, text| {
        let tmp = path.parent().unwrap().join(".config.yaml.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    });
}

#[test]
fn writer_symlink_flip() {
    // config.yaml -> v1/config.yaml; flip to v2 by renaming a new link over it.
    let sim = known_site();
    let dir = tempfile::tempdir().unwrap();
    let d_path = dir.path().join("config.yaml");
    for v in ["v1", "v2"] {
        std::fs::create_dir(dir.path().join(v)).unwrap();
    }
    std::fs::write(
        dir.path().join("v1/config.yaml"),
        config_with_interval(&sim, "30s"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("v2/config.yaml"),
        config_with_interval(&sim, "45s"),
    )
    .unwrap();
    std::os::unix::fs::symlink("v1/config.yaml", &d_path).unwrap();
    let d = TestDaemon::start_at(dir, d_path.clone(), |_| {});
    let before = settle(&d);
    let tmp = d.dir.path().join("config.yaml.new");
    std::os::unix::fs::symlink("v2/config.yaml", &tmp).unwrap();
    std::fs::rename(&tmp, &d_path).unwrap();
    wait_until(LONG, "symlink flip applied", || {
        running_interval(&d) == Duration::from_secs(45)
    });
    let after = settle(&d);
    assert_eq!(
        reloads(&after, "watch", "applied") - reloads(&before, "watch", "applied"),
        1.0
    );
    // And an edit of the link's target in place is seen too (the target dir is watched).
    std::fs::write(
        d.dir.path().join("v2/config.yaml"),
        config_with_interval(&sim, "50s"),
    )
    .unwrap();
    wait_until(LONG, "target edit applied", || {
        running_interval(&d) == Duration::from_secs(50)
    });
}

#[test]
fn writer_kubelet_atomic_writer() {
    let sim = known_site();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Initial projection: ..2026_1/config.yaml, ..data -> ..2026_1, config.yaml -> ..data/config.yaml
    std::fs::create_dir(root.join("..2026_1")).unwrap();
    std::fs::write(
        root.join("..2026_1/config.yaml"),
        config_with_interval(&sim, "30s"),
    )
    .unwrap();
    std::os::unix::fs::symlink("..2026_1", root.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/config.yaml", root.join("config.yaml")).unwrap();
    let path = root.join("config.yaml");
    let d = TestDaemon::start_at(dir, path, |_| {});
    let before = settle(&d);
    // The exact AtomicWriter sequence: new timestamped dir, ..data_tmp link, rename over
    // ..data, remove the old dir.
    let root = d.dir.path();
    std::fs::create_dir(root.join("..2026_2")).unwrap();
    std::fs::write(
        root.join("..2026_2/config.yaml"),
        config_with_interval(&sim, "45s"),
    )
    .unwrap();
    std::os::unix::fs::symlink("..2026_2", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    std::fs::remove_dir_all(root.join("..2026_1")).unwrap();
    wait_until(LONG, "kubelet swap applied", || {
        running_interval(&d) == Duration::from_secs(45)
    });
    let after = settle(&d);
    assert_eq!(
        reloads(&after, "watch", "applied") - reloads(&before, "watch", "applied"),
        1.0
    );
    assert_eq!(reloads(&after, "watch", "failed"), 0.0);
}

#[test]
fn invalid_content_is_rejected_once_and_reverting_recovers() {
    let sim = known_site();
    let good = config_with_interval(&sim, "30s");
    let d = TestDaemon::start(&good);
    settle(&d);
    d.write_config(&good.replace("collectionInterval: 30s", "collectionInterval: soon"));
    wait_until(LONG, "rejection", || {
        d.metrics().get("nbu_exporter_config_last_reload_successful", &[]) == Some(0.0)
    });
    let m = settle(&d);
    assert_eq!(reloads(&m, "watch", "rejected"), 1.0);
    assert_eq!(d.generation(), 1, "the old config keeps serving");
    assert_eq!(m.value("nbu_up", &[("site", "paris")]), 1.0);
    let status = d.status();
    assert_eq!(status["state"], "failed");
    assert_eq!(
        status["last_attempt"]["problems"][0],
        "server.collectionInterval: \"soon\" is not a duration (expected a value like 30s, 5m or 1h30m)"
    );
    d.write_config(&good);
    wait_until(LONG, "success after revert", || {
        d.metrics().get("nbu_exporter_config_last_reload_successful", &[]) == Some(1.0)
    });
    let m = settle(&d);
    assert_eq!(
        reloads(&m, "watch", "unchanged"),
        1.0,
        "reverting needs no re-apply"
    );
    assert_eq!(d.generation(), 1);
}

#[test]
fn http_reload_answers_with_the_outcome() {
    let sim = known_site();
    let d = TestDaemon::start_http_only(&config_with_interval(&sim, "30s"));
    let (status, body) = d.reload();
    assert_eq!((status, body["result"].as_str()), (200, Some("unchanged")));
    d.write_config(&config_with_interval(&sim, "40s"));
    let (status, body) = d.reload();
    assert_eq!(status, 200, "{body}");
    assert!(
        ["applied", "unchanged"].contains(&body["result"].as_str().unwrap()),
        "{body}"
    );
    wait_until(LONG, "40s running", || {
        running_interval(&d) == Duration::from_secs(40)
    });
    let generation = d.generation();
    let (status, body) = d.post("/-/reload?force=1");
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["result"], "applied");
    assert_eq!(
        body["generation"],
        generation + 1,
        "force re-applies identical content"
    );
    d.write_config(&config_with_interval(&sim, "40s").replace("port: 0", "port: 70000"));
    let (status, body) = d.reload();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["result"], "rejected");
    assert_eq!(body["problems"][0], "server.port: 70000 is out of range 0-65535");
    assert_eq!(body["generation"], generation + 1);
}

#[test]
fn key_rotation_reaches_netbackup_within_one_sweep_without_a_flush() {
    let paris = known_site();
    let rome = known_site();
    let yaml = |key: &str| {
        config_yaml(
            "",
            &[
                site_yaml("paris", &paris, "").replace(KEY, key),
                site_yaml("rome", &rome, ""),
            ],
        )
    };
    let d = TestDaemon::start_http_only(&yaml(KEY));
    d.wait_ready();
    let before = d.metrics();
    let rome_requests = rome.handle().request_count();
    paris.handle().set_api_key("rotated-key");
    paris.handle().clear_requests();
    d.write_config(&yaml("rotated-key"));
    let (status, body) = d.reload();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changes"], serde_json::json!(["nbuservers[paris].apiKey"]));
    // The immediate sweep uses the new key; the cache was not flushed meanwhile.
    wait_until(LONG, "a sweep with the new key", || {
        paris
            .handle()
            .requests()
            .iter()
            .any(|r| r.api_key.as_deref() == Some("rotated-key") && r.status == 200)
    });
    let after_sweep = wait_for(LONG, "fresh paris data", || {
        let m = d.metrics();
        (m.get("nbu_up", &[("site", "paris")]) == Some(1.0)).then_some(m)
    });
    let sent: BTreeSet<Option<String>> = paris
        .handle()
        .requests()
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.api_key.clone())
        .collect();
    assert_eq!(
        sent,
        BTreeSet::from([Some("rotated-key".to_string())]),
        "only the new key succeeds"
    );
    assert_eq!(
        after_sweep.sum("nbu_jobs_count", &[("site", "paris")]),
        before.sum("nbu_jobs_count", &[("site", "paris")])
    );
    assert_eq!(
        after_sweep.get(
            "nbu_exporter_cache_flushes_total",
            &[("site", "paris"), ("reason", "address_changed")]
        ),
        Some(0.0)
    );
    // The untouched site saw no extra request and kept its series.
    assert_eq!(rome.handle().request_count(), rome_requests);
    assert!(after_sweep.has_site("rome"));
}

#[test]
fn address_change_flushes_the_old_servers_series() {
    let old = known_site();
    let spec = nbu_sim::DataSpec {
        jobs: 7,
        active_jobs: 0,
        queued_jobs: 0,
        storage_units: 3,
        tape_units: 0,
        seed: 9,
    };
    let new = site_with(nbu_sim::SimData::generate(
        &spec,
        nbu_exporter::timefmt::now_millis(),
    ));
    let rome = known_site();
    let d = TestDaemon::start_http_only(&config_yaml(
        "",
        &[site_yaml("paris", &old, ""), site_yaml("rome", &rome, "")],
    ));
    d.wait_ready();
    let old_unit = |m: &Metrics| {
        !m.matching("nbu_storage_info", &[("site", "paris"), ("name", "stu-disk-01")])
            .is_empty()
    };
    assert!(old_unit(&d.metrics()), "old server's storage unit present");
    let rome_requests = rome.handle().request_count();
    // New server hangs at first: the flushed site must show no old series meanwhile.
    new.handle().set_fault(
        nbu_sim::Scope::All,
        nbu_sim::Fault::Delay(Duration::from_millis(800)),
    );
    d.write_config(&config_yaml(
        "",
        &[site_yaml("paris", &new, ""), site_yaml("rome", &rome, "")],
    ));
    let (status, body) = d.reload();
    assert_eq!(status, 200, "{body}");
    let m = d.metrics();
    assert!(!old_unit(&m), "old server's series are gone at the swap");
    assert!(m.matching("nbu_jobs_count", &[("site", "paris")]).is_empty());
    assert_eq!(m.value("nbu_up", &[("site", "paris")]), 0.0);
    assert_eq!(
        m.value(
            "nbu_exporter_cache_flushes_total",
            &[("site", "paris"), ("reason", "address_changed")]
        ),
        1.0
    );
    let m = wait_for(LONG, "new server's series", || {
        let m = d.metrics();
        (m.get("nbu_up", &[("site", "paris")]) == Some(1.0)).then_some(m)
    });
    assert_eq!(m.sum("nbu_jobs_count", &[("site", "paris")]), 7.0);
    assert!(!old_unit(&m));
    assert_eq!(rome.handle().request_count(), rome_requests, "rome untouched");
}

#[test]
fn sites_can_be_added_and_removed() {
    let paris = known_site();
    let rome = known_site();
    let d = TestDaemon::start_http_only(&config_yaml("", &[site_yaml("paris", &paris, "")]));
    d.wait_ready();
    d.write_config(&config_yaml(
        "",
        &[site_yaml("paris", &paris, ""), site_yaml("rome", &rome, "")],
    ));
    assert_eq!(d.reload().1["result"], "applied");
    wait_until(LONG, "rome polled", || {
        d.metrics().get("nbu_up", &[("site", "rome")]) == Some(1.0)
    });
    d.write_config(&config_yaml("", &[site_yaml("rome", &rome, "")]));
    assert_eq!(d.reload().1["result"], "applied");
    let m = d.metrics();
    assert!(!m.has_site("paris") || m.matching("nbu_up", &[("site", "paris")]).is_empty());
    assert!(m.matching("nbu_jobs_count", &[("site", "paris")]).is_empty());
    assert_eq!(
        m.value(
            "nbu_exporter_cache_flushes_total",
            &[("site", "paris"), ("reason", "removed")]
        ),
        1.0
    );
}

#[test]
fn changing_the_port_moves_the_listener_without_failed_scrapes() {
    let sim = known_site();
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (p1, p2) = (free_port(), free_port());
    let yaml = |port: u16| {
        config_yaml("", &[site_yaml("paris", &sim, "")]).replace("port: 0\n", &format!("port: {port}\n"))
    };
    let d = TestDaemon::start_http_only(&yaml(p1));
    d.wait_ready();
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let successes = Arc::new(AtomicU64::new(0));
    // A scraper that follows the daemon's current address, as Prometheus would after the
    // target list changes: every request must succeed on whichever port it used.
    let scraper = {
        let (stop, failures, successes) = (stop.clone(), failures.clone(), successes.clone());
        let shared = Arc::clone(d.daemon().shared());
        std::thread::spawn(move || {
            let agent = agent();
            let deadline = Instant::now() + LONG;
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                let url = format!("http://{}/metrics", shared.listen_addr());
                match agent.get(&url).call() {
                    Ok(r) if r.status() == 200 => successes.fetch_add(1, Ordering::SeqCst),
                    other => {
                        eprintln!("failed scrape of {url}: {:?}", other.map(|r| r.status()));
                        failures.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        })
    };
    wait_until(LONG, "scrapes on the old port", || {
        successes.load(Ordering::SeqCst) > 20
    });
    d.write_config(&yaml(p2));
    let (status, body) = d.reload();
    assert_eq!(status, 200, "{body}");
    assert_eq!(d.daemon().local_addr().port(), p2);
    let seen = successes.load(Ordering::SeqCst);
    wait_until(LONG, "scrapes on the new port", || {
        successes.load(Ordering::SeqCst) > seen + 20
    });
    stop.store(true, Ordering::SeqCst);
    scraper.join().unwrap();
    assert_eq!(failures.load(Ordering::SeqCst), 0);
    // The old port is closed once drained.
    wait_until(LONG, "old port closed", || {
        std::net::TcpStream::connect(("127.0.0.1", p1)).is_err()
    });
}

#[test]
fn a_port_that_cannot_be_bound_rejects_the_reload() {
    let sim = known_site();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let d = TestDaemon::start_http_only(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    let old = d.daemon().local_addr();
    let port = taken.local_addr().unwrap().port();
    d.write_config(
        &config_yaml("", &[site_yaml("paris", &sim, "")]).replace("port: 0\n", &format!("port: {port}\n")),
    );
    let (status, body) = d.reload();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["result"], "rejected");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{body}"
    );
    assert_eq!(d.daemon().local_addr(), old, "the old listener keeps serving");
    assert_eq!(d.get("/-/healthy").0, 200);
}

#[test]
fn reload_storm_under_scrape_load_never_fails_or_mixes_generations() {
    let paris = known_site();
    let rome = known_site();
    // Odd generations run A (paris only), even ones B (paris and rome).
    let a = config_yaml("", &[site_yaml("paris", &paris, "")]);
    let b = config_yaml(
        "",
        &[site_yaml("paris", &paris, ""), site_yaml("rome", &rome, "")],
    );
    let invalid = a.replace("collectionInterval: 30s", "collectionInterval: never");
    let d = TestDaemon::start_http_only(&a);
    d.wait_ready();
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let mixed = Arc::new(AtomicU64::new(0));
    let scrapes = Arc::new(AtomicU64::new(0));
    let url = format!("{}/metrics", d.base());
    let scrapers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, failures, mixed, scrapes, url) = (
                stop.clone(),
                failures.clone(),
                mixed.clone(),
                scrapes.clone(),
                url.clone(),
            );
            std::thread::spawn(move || {
                let agent = agent();
                let deadline = Instant::now() + Duration::from_secs(120);
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    match agent.get(&url).call() {
                        Ok(mut r) if r.status() == 200 => {
                            let m = Metrics::parse(&r.body_mut().read_to_string().unwrap_or_default());
                            let generation =
                                m.get("nbu_exporter_config_generation", &[]).unwrap_or(0.0) as u64;
                            let has_rome = m.get("nbu_up", &[("site", "rome")]).is_some();
                            if has_rome != generation.is_multiple_of(2) {
                                mixed.fetch_add(1, Ordering::SeqCst);
                            }
                            scrapes.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => {
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
        })
        .collect();
    let mut current_is_a = true;
    let mut results = std::collections::BTreeMap::<String, u32>::new();
    for i in 0..1000 {
        let text = match i % 3 {
            0 => {
                current_is_a = !current_is_a;
                if current_is_a {
                    &a
                } else {
                    &b
                }
            }
            1 => &invalid,
            _ => {
                if current_is_a {
                    &a
                } else {
                    &b
                }
            }
        };
        d.write_config(text);
        let (_, body) = d.reload();
        *results
            .entry(body["result"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    stop.store(true, Ordering::SeqCst);
    for s in scrapers {
        s.join().unwrap();
    }
    assert_eq!(failures.load(Ordering::SeqCst), 0, "failed scrapes");
    assert_eq!(mixed.load(Ordering::SeqCst), 0, "scrapes mixing two generations");
    assert!(scrapes.load(Ordering::SeqCst) > 100, "the scrapers ran");
    assert_eq!(results.get("applied"), Some(&334), "{results:?}");
    assert_eq!(results.get("rejected"), Some(&333), "{results:?}");
    assert_eq!(results.get("unchanged"), Some(&333), "{results:?}");
}

#[test]
fn a_slow_cp_gives_one_reload_and_no_partial_parse() {
    let paris = known_site();
    let rome = known_site();
    let small = config_yaml("", &[site_yaml("paris", &paris, "")]);
    // A long file whose every prefix cut at a line end is itself valid YAML with fewer sites.
    let mut sites = vec![site_yaml("paris", &paris, "")];
    for i in 0..40 {
        sites.push(site_yaml(&format!("rome{i:02}"), &rome, ""));
    }
    let big = config_yaml("", &sites);
    let d = TestDaemon::start(&small);
    let before = settle(&d);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&d.path)
            .unwrap();
        for chunk in big.as_bytes().chunks(64) {
            f.write_all(chunk).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(5)); // the writer is slow on purpose
        }
    }
    wait_until(LONG, "all 41 sites running", || {
        d.daemon().shared().current().sites.len() == 41
    });
    let after = settle(&d);
    assert_eq!(
        reloads(&after, "watch", "applied") - reloads(&before, "watch", "applied"),
        1.0
    );
    assert_eq!(
        reloads(&after, "watch", "rejected"),
        0.0,
        "no partial content was parsed"
    );
    assert_eq!(d.generation(), 2);
}

#[test]
fn defer_holds_reloads_until_released() {
    let sim = known_site();
    let d = TestDaemon::start(&config_with_interval(&sim, "30s"));
    settle(&d);
    let control = d.daemon().shared().control.clone();
    let guard = control.defer();
    d.write_config(&config_with_interval(&sim, "45s"));
    let _ = d.daemon().shared().events.send(Event::Reload {
        trigger: Trigger::Signal,
        force: false,
        reply: None,
    });
    // Held: wait past debounce and coalescing, the config must not change.
    let until = Instant::now() + Duration::from_millis(600);
    wait_until(LONG, "hold period", || Instant::now() >= until);
    assert_eq!(running_interval(&d), Duration::from_secs(30));
    assert_eq!(d.generation(), 1);
    drop(guard);
    wait_until(LONG, "queued reload runs on release", || {
        running_interval(&d) == Duration::from_secs(45)
    });
    let m = settle(&d);
    assert_eq!(
        reloads(&m, "signal", "applied") + reloads(&m, "watch", "applied"),
        1.0,
        "queued triggers merged into one"
    );
}

#[test]
fn without_a_watcher_the_poll_finds_changes() {
    let sim = known_site();
    let yaml =
        |interval: &str| config_with_interval(&sim, interval).replace("pollInterval: 0", "pollInterval: 1s");
    let d = TestDaemon::start_with(&yaml("30s"), |o| o.watch_mode = WatchMode::Unavailable);
    let m = d.metrics();
    assert_eq!(m.value("nbu_exporter_config_watcher_up", &[]), 0.0);
    assert_eq!(d.status()["watcher"], "polling every 1s");
    d.write_config(&yaml("45s"));
    wait_until(LONG, "poll applies the change", || {
        running_interval(&d) == Duration::from_secs(45)
    });
    let m = settle(&d);
    assert_eq!(reloads(&m, "poll", "applied"), 1.0);
    assert_eq!(
        reloads(&m, "poll", "unchanged"),
        0.0,
        "quiet polls are not counted"
    );
}

#[test]
fn a_rotated_key_file_is_picked_up_by_a_reload() {
    let sim = known_site();
    let d = TestDaemon::start(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    let key_path = d.dir.path().join("paris.key");
    std::fs::write(&key_path, format!("{KEY}\n")).unwrap();
    let with_file = config_yaml(
        "",
        &[site_yaml("paris", &sim, "").replace(&format!("apiKey: {KEY}"), "apiKeyFile: paris.key")],
    );
    // Written right after startup: the watch (or the check made when it is armed) sees it.
    d.write_config(&with_file);
    wait_until(LONG, "key file config applied", || {
        d.daemon().shared().current().config.sites[0]
            .api_key_file
            .is_some()
    });
    d.wait_ready();
    // Rotate: new content in the same file, then an explicit reload.
    sim.handle().set_api_key("second-key");
    std::fs::write(&key_path, "second-key\n").unwrap();
    let (_, body) = d.reload();
    assert_eq!(body["result"], "applied", "{body}");
    assert_eq!(body["changes"], serde_json::json!(["nbuservers[paris].apiKey"]));
    wait_until(LONG, "sweep with the rotated key", || {
        sim.handle()
            .requests()
            .iter()
            .any(|r| r.api_key.as_deref() == Some("second-key") && r.status == 200)
    });
}

#[test]
fn a_key_file_in_another_directory_is_watched() {
    // Like a Kubernetes Secret mounted beside the ConfigMap: the key lives elsewhere, and
    // rotating it (a kubelet ..data swap there) is noticed by the watcher, not only the poll.
    let sim = known_site();
    let secrets = tempfile::tempdir().unwrap();
    let root = secrets.path();
    std::fs::create_dir(root.join("..2026_1")).unwrap();
    std::fs::write(root.join("..2026_1/paris.key"), KEY).unwrap();
    std::os::unix::fs::symlink("..2026_1", root.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/paris.key", root.join("paris.key")).unwrap();
    let key_file = root.join("paris.key");
    let site = site_yaml("paris", &sim, "").replace(
        &format!("apiKey: {KEY}"),
        &format!("apiKeyFile: {}", key_file.display()),
    );
    let d = TestDaemon::start(&config_yaml("", &[site]));
    d.wait_ready();
    sim.handle().set_api_key("rotated-in-secret");
    std::fs::create_dir(root.join("..2026_2")).unwrap();
    std::fs::write(root.join("..2026_2/paris.key"), "rotated-in-secret").unwrap();
    std::os::unix::fs::symlink("..2026_2", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    std::fs::remove_dir_all(root.join("..2026_1")).unwrap();
    wait_until(LONG, "the rotated key is applied by a watch reload", || {
        let m = d.metrics();
        reloads(&m, "watch", "applied") == 1.0
    });
    assert_eq!(
        d.status()["last_attempt"]["changes"],
        serde_json::json!(["nbuservers[paris].apiKey"])
    );
    wait_until(LONG, "a sweep with the rotated key", || {
        sim.handle()
            .requests()
            .iter()
            .any(|r| r.api_key.as_deref() == Some("rotated-in-secret") && r.status == 200)
    });
}
