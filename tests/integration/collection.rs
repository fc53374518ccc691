//! Collection end to end: exact values for the simulator's known data set, pagination at
//! scale, unfinished jobs, per-site isolation, 401/406 handling and last-good values.

use std::time::Duration;

use nbu_exporter::timefmt::now_millis;
use nbu_sim::{known_expectations, ApiVersion, DataSpec, Fault, Scope, SimData};

use crate::support::*;

#[test]
fn known_dataset_gives_exact_values() {
    let sim = known_site();
    let d = TestDaemon::start(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    d.wait_ready();
    let m = d.metrics();
    let x = known_expectations();
    let s = ("site", "paris");
    assert_eq!(m.value("nbu_up", &[s]), 1.0);
    assert_eq!(m.value("nbu_api_version", &[s, ("version", "14.0")]), 1.0);
    for (action, policy, status, count, bytes) in x.outcomes {
        let labels = [s, ("action", action), ("policy_type", policy), ("status", status)];
        assert_eq!(m.value("nbu_jobs_count", &labels), *count as f64, "{labels:?}");
        assert_eq!(m.value("nbu_jobs_bytes", &labels), *bytes as f64, "{labels:?}");
    }
    assert_eq!(m.matching("nbu_jobs_count", &[s]).len(), x.outcomes.len());
    for (action, status, count) in x.status_counts {
        assert_eq!(
            m.value("nbu_status_count", &[s, ("action", action), ("status", status)]),
            *count as f64
        );
    }
    for (action, policy, files) in x.files {
        assert_eq!(
            m.value(
                "nbu_jobs_files_count",
                &[s, ("action", action), ("policy_type", policy)]
            ),
            *files as f64
        );
    }
    for (action, policy, mean, _) in x.dedup_means {
        assert_eq!(
            m.value(
                "nbu_jobs_dedup_ratio",
                &[s, ("action", action), ("policy_type", policy)]
            ),
            *mean
        );
    }
    assert_eq!(
        m.matching("nbu_jobs_dedup_ratio", &[s]).len(),
        x.dedup_means.len()
    );
    for (action, policy, count, sum) in x.durations {
        let labels = [s, ("action", action), ("policy_type", policy)];
        assert_eq!(m.value("nbu_job_duration_seconds_count", &labels), *count as f64);
        assert_eq!(m.value("nbu_job_duration_seconds_sum", &labels), *sum);
    }
    for (action, state, count) in x.state_counts {
        assert_eq!(
            m.value("nbu_jobs_state_count", &[s, ("action", action), ("state", state)]),
            *count as f64
        );
    }
    assert_eq!(
        m.matching("nbu_jobs_state_count", &[s]).len(),
        x.state_counts.len()
    );
    for (action, reason, count) in x.queued {
        assert_eq!(
            m.value(
                "nbu_jobs_queued_count",
                &[s, ("action", action), ("reason", reason)]
            ),
            *count as f64
        );
    }
    for unit in x.storage {
        let id = [s, ("name", unit.name), ("type", unit.storage_server_type)];
        let with = |size: &'static str| {
            [
                s,
                ("name", unit.name),
                ("type", unit.storage_server_type),
                ("size", size),
            ]
        };
        assert_eq!(
            m.get("nbu_disk_bytes", &with("free")),
            unit.free_bytes.map(|v| v as f64),
            "{}",
            unit.name
        );
        assert_eq!(
            m.get("nbu_disk_bytes", &with("used")),
            unit.used_bytes.map(|v| v as f64),
            "{}",
            unit.name
        );
        assert_eq!(
            m.get("nbu_disk_capacity_bytes", &id),
            unit.total_bytes.map(|v| v as f64),
            "{}",
            unit.name
        );
        assert_eq!(m.matching("nbu_storage_info", &[s, ("name", unit.name)]).len(), 1);
    }
    for tape in x.tape_units {
        assert!(!m.raw.contains(tape), "tape unit {tape} must be excluded");
    }
    for source in ["jobs", "storage"] {
        let ts = m.value("nbu_last_scrape_timestamp_seconds", &[s, ("source", source)]);
        assert!(
            (ts - now_millis() as f64 / 1000.0).abs() < 120.0,
            "{source} timestamp {ts}"
        );
    }
    assert_eq!(
        m.value("nbu_exporter_collection_success", &[s, ("collector", "jobs")]),
        1.0
    );
    assert_eq!(
        m.value("nbu_exporter_collection_success", &[s, ("collector", "storage")]),
        1.0
    );
}

#[test]
fn every_page_is_collected_at_scale() {
    let spec = DataSpec {
        jobs: 1_500,
        active_jobs: 30,
        queued_jobs: 20,
        storage_units: 260,
        tape_units: 10,
        seed: 3,
    };
    let sim = site_with(SimData::generate(&spec, now_millis()));
    let d = TestDaemon::start(&config_yaml(
        "  scrapingInterval: 2h\n",
        &[site_yaml("big", &sim, "")],
    ));
    d.wait_ready();
    let m = d.metrics();
    let s = ("site", "big");
    assert_eq!(
        m.sum("nbu_jobs_count", &[s]),
        spec.jobs as f64,
        "all DONE jobs in the window"
    );
    assert_eq!(
        m.sum("nbu_jobs_state_count", &[s]),
        (spec.jobs + spec.active_jobs + spec.queued_jobs) as f64
    );
    assert_eq!(
        m.sum("nbu_jobs_state_count", &[s, ("state", "ACTIVE")]),
        spec.active_jobs as f64
    );
    assert_eq!(m.sum("nbu_jobs_queued_count", &[s]), spec.queued_jobs as f64);
    assert_eq!(
        m.matching("nbu_storage_info", &[s]).len(),
        spec.storage_units - spec.tape_units
    );
    // The jobs were paged 100 at a time (limit is the API's maximum), storage units too.
    let requests = sim.handle().requests();
    let job_pages = requests
        .iter()
        .filter(|r| r.path.ends_with("/admin/jobs") && r.status == 200)
        .count();
    assert!(job_pages >= 16, "expected at least 16 job pages, saw {job_pages}");
    assert!(requests
        .iter()
        .filter(|r| r.path.ends_with("/admin/jobs"))
        .all(|r| r
            .query
            .iter()
            .any(|(k, v)| k == "page[limit]" && (v == "100" || v == "1"))));
}

#[test]
fn a_hanging_site_does_not_delay_another() {
    let hung = known_site();
    hung.handle().set_fault(Scope::All, Fault::Hang);
    let healthy = known_site();
    let yaml = config_yaml(
        "  collectionInterval: 5m\n  collectionTimeout: 60s\n",
        &[
            site_yaml("hung", &hung, "    timeout: 60s\n"),
            site_yaml("healthy", &healthy, ""),
        ],
    );
    let d = TestDaemon::start(&yaml);
    let m = wait_for(Duration::from_secs(15), "healthy site's data", || {
        let m = d.metrics();
        (m.get("nbu_up", &[("site", "healthy")]) == Some(1.0)).then_some(m)
    });
    assert!(m.sum("nbu_jobs_count", &[("site", "healthy")]) > 0.0);
    // The hung site is still in its first sweep: not up, no data, and not ready.
    assert_eq!(m.value("nbu_up", &[("site", "hung")]), 0.0);
    assert!(m.matching("nbu_jobs_count", &[("site", "hung")]).is_empty());
    assert_eq!(d.get("/-/ready").0, 503);
    hung.handle().clear_faults();
}

#[test]
fn version_detection_steps_down_on_406() {
    let sim = known_site();
    sim.handle()
        .set_versions(vec![ApiVersion::V12_0, ApiVersion::V10_0]);
    let d = TestDaemon::start(&config_yaml("", &[site_yaml("old", &sim, "")]));
    d.wait_ready();
    let m = d.metrics();
    assert_eq!(
        m.value("nbu_api_version", &[("site", "old"), ("version", "12.0")]),
        1.0
    );
    assert_eq!(m.value("nbu_up", &[("site", "old")]), 1.0);
    let probes: Vec<String> = sim
        .handle()
        .requests()
        .iter()
        .filter(|r| r.status == 406)
        .filter_map(|r| r.accept.clone())
        .collect();
    assert_eq!(
        probes,
        [
            "application/vnd.netbackup+json;version=14.0",
            "application/vnd.netbackup+json;version=13.0"
        ],
        "each newer version probed exactly once"
    );
    assert!(sim
        .handle()
        .requests()
        .iter()
        .filter(|r| r.status == 200)
        .all(|r| r.accept.as_deref().is_some_and(|a| a.ends_with("version=12.0"))));
}

#[test]
fn unauthorized_is_not_retried() {
    let sim = known_site();
    sim.handle().set_api_key("another-key");
    let d = TestDaemon::start(&config_yaml("", &[site_yaml("locked", &sim, "")]));
    d.wait_ready();
    let m = d.metrics();
    assert_eq!(m.value("nbu_up", &[("site", "locked")]), 0.0);
    assert_eq!(
        sim.handle().request_count(),
        1,
        "one probe, answered 401, and nothing more"
    );
    assert_eq!(
        m.value(
            "nbu_exporter_nbu_requests_total",
            &[("site", "locked"), ("endpoint", "version-probe"), ("code", "401")]
        ),
        1.0
    );
}

#[test]
fn a_dead_site_keeps_its_last_values_with_an_ageing_timestamp() {
    let sim = known_site();
    let yaml = config_yaml(
        "  collectionInterval: 1s\n",
        &[site_yaml("paris", &sim, "    timeout: 2s\n")],
    );
    let d = TestDaemon::start(&yaml);
    d.wait_ready();
    let s = ("site", "paris");
    let before = d.metrics();
    let jobs_before = before.sum("nbu_jobs_count", &[s]);
    assert!(jobs_before > 0.0);

    sim.handle().set_fault(
        Scope::All,
        Fault::Status {
            code: 503,
            retry_after: None,
        },
    );
    let down = wait_for(Duration::from_secs(20), "nbu_up 0", || {
        let m = d.metrics();
        (m.get("nbu_up", &[s]) == Some(0.0)).then_some(m)
    });
    assert_eq!(
        down.sum("nbu_jobs_count", &[s]),
        jobs_before,
        "last good values kept"
    );
    let ts_down = down.value("nbu_last_scrape_timestamp_seconds", &[s, ("source", "jobs")]);
    // Another failed sweep later: the timestamp has not moved, so it ages.
    let failures = |m: &Metrics| {
        m.value(
            "nbu_exporter_nbu_requests_total",
            &[s, ("endpoint", "jobs"), ("code", "503")],
        )
    };
    let seen = failures(&down);
    let later = wait_for(Duration::from_secs(20), "another failed sweep", || {
        let m = d.metrics();
        (failures(&m) > seen).then_some(m)
    });
    assert_eq!(
        later.value("nbu_last_scrape_timestamp_seconds", &[s, ("source", "jobs")]),
        ts_down
    );
    assert_eq!(
        later.value("nbu_exporter_collection_success", &[s, ("collector", "jobs")]),
        0.0
    );

    sim.handle().clear_faults();
    // A sweep running when the fault clears may fail one source and not the other, so wait
    // for the jobs data itself to be fresh again.
    let recovered = wait_for(Duration::from_secs(20), "recovery", || {
        let m = d.metrics();
        let fresh = m
            .get("nbu_last_scrape_timestamp_seconds", &[s, ("source", "jobs")])
            .is_some_and(|t| t > ts_down);
        (fresh && m.get("nbu_up", &[s]) == Some(1.0)).then_some(m)
    });
    assert_eq!(recovered.sum("nbu_jobs_count", &[s]), jobs_before);
}
