//! The opt-in collectors end to end (issue 9): every metric against values this test
//! computes itself by paging the simulator with plain HTTP requests (not through the
//! exporter's client), version gating, isolation of a failing or hung collector,
//! per-client freshness without a request per client, and live reload of every setting.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use nbu_exporter::timefmt::now_millis;
use nbu_sim::{ApiVersion, DataSpec, Fault, ResourceSpec, Scope, SimData, SimJob, SimResources, SimServer};
use serde_json::Value;

use crate::support::*;

const ALL_ON: &str =
    "collectors:\n  alerts: {enabled: true}\n  malware: {enabled: true}\n  catalog: {enabled: true}\n  \
                      slo: {enabled: true}\n  tape: {enabled: true}\n";

const PARTS: [&str; 9] = [
    "alerts",
    "malware",
    "catalog",
    "slo",
    "tape_drives",
    "tape_media",
    "robot_hosts",
    "volume_pools",
    "disk_pools",
];

fn big_site() -> SimServer {
    let now = now_millis();
    let mut data = SimData::generate(&DataSpec::default(), now);
    data.resources = SimResources::generate(&ResourceSpec::default(), now);
    site_with(data)
}

/// One GET of the simulator, as the test's own client: `(status, JSON body)`.
fn sim_get(sim: &SimServer, path_and_query: &str, version: &str) -> (u16, Value) {
    let url = format!("{}{path_and_query}", sim.base_url());
    let reply = agent()
        .get(&url)
        .header("Authorization", KEY)
        .header(
            "Accept",
            &format!("application/vnd.netbackup+json;version={version}"),
        )
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = reply.status().as_u16();
    let body = reply.into_body().read_to_string().expect("body");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Every record of an offset listing, paged by the test itself.
fn offset_all(sim: &SimServer, path: &str, limit: usize, version: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 0..1_000 {
        let (status, body) = sim_get(
            sim,
            &format!("{path}?page%5Boffset%5D={}&page%5Blimit%5D={limit}", page * limit),
            version,
        );
        assert_eq!(status, 200, "{path}");
        let data = body["data"].as_array().cloned().unwrap_or_default();
        let n = data.len();
        out.extend(data);
        if n < limit {
            return out;
        }
    }
    panic!("{path} never ended");
}

/// Every record of a cursor listing, paged by the test itself.
fn cursor_all(sim: &SimServer, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    for _ in 0..1_000 {
        let query = if after.is_empty() {
            "?page%5Blimit%5D=100".to_string()
        } else {
            format!("?page%5Blimit%5D=100&page%5Bafter%5D={after}")
        };
        let (status, body) = sim_get(sim, &format!("{path}{query}"), "13.0");
        assert_eq!(status, 200, "{path}");
        out.extend(body["data"].as_array().cloned().unwrap_or_default());
        match body["meta"]["pagination"]["next"].as_str() {
            Some(next) if !next.is_empty() => after = next.to_string(),
            _ => return out,
        }
    }
    panic!("{path} never ended");
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Expected samples, `series key -> value`, computed from the simulator's own answers.
fn expected(sim: &SimServer, site: &str, version: &str) -> BTreeMap<String, f64> {
    let mut want: BTreeMap<String, f64> = BTreeMap::new();
    let mut add = |name: &str, labels: &[(&str, &str)], v: f64| {
        let mut all = vec![("site", site)];
        all.extend_from_slice(labels);
        *want.entry(series_key(name, &all)).or_default() += v;
    };
    let v13 = version >= "12.0";
    for a in offset_all(sim, "/manage/alerts", 100, version) {
        let at = &a["attributes"];
        add(
            "nbu_alerts_count",
            &[
                ("severity", &text(&at["severity"])),
                ("category", &text(&at["category"])),
            ],
            1.0,
        );
    }
    let floor = now_millis() / 1000 - 86_400;
    for r in offset_all(sim, "/malware/latest-scan-results", 100, version) {
        let at = &r["attributes"];
        if at["backupTime"].as_i64().unwrap() < floor {
            continue;
        }
        add(
            "nbu_malware_files_scanned",
            &[],
            at["numberOfFilesScanned"].as_f64().unwrap(),
        );
        let impacted = if v13 {
            &at["numberOfFilesImpacted"]
        } else {
            &at["noOfFilesImpacted"]
        };
        add("nbu_malware_files_infected", &[], impacted.as_f64().unwrap());
        add(
            "nbu_malware_scan_count",
            &[("status", &text(&at["scanState"]))],
            1.0,
        );
    }
    let slos = offset_all(sim, "/servicecatalog/slos", 100, version);
    add("nbu_slo_count", &[], slos.len() as f64);
    for s in &slos {
        let at = &s["attributes"];
        add(
            "nbu_slo_subscription_count",
            &[
                ("slo", &text(&at["name"])),
                ("workload_type", &text(&at["workloadType"])),
            ],
            at["subscriptionCount"].as_f64().unwrap(),
        );
    }
    for d in offset_all(sim, "/storage/drives", 100, version) {
        let at = &d["attributes"];
        let (dt, rt, st) = (
            text(&at["driveType"]),
            text(&at["robotType"]),
            text(&at["driveStatus"]),
        );
        add(
            "nbu_tape_drives_count",
            &[("drive_type", &dt), ("robot_type", &rt), ("status", &st)],
            1.0,
        );
        let info = [
            ("drive_name", text(&d["id"])),
            ("media_server", text(&at["deviceHost"])),
            ("drive_type", dt.clone()),
            ("robot_number", text(&at["robotNumber"])),
            ("status", st.clone()),
        ];
        let info: Vec<(&str, &str)> = info.iter().map(|(k, v)| (*k, v.as_str())).collect();
        add("nbu_tape_drive_info", &info, 1.0);
    }
    for p in offset_all(sim, "/storage/disk-pools", 500, version) {
        let at = &p["attributes"];
        let (name, cat) = (text(&at["name"]), text(&at["storageCategory"]));
        let up = if text(&at["diskPoolState"]) == "UP" {
            1.0
        } else {
            0.0
        };
        add(
            "nbu_disk_pool_up",
            &[("pool_name", &name), ("storage_category", &cat)],
            up,
        );
        for v in at["diskVolumes"].as_array().unwrap() {
            let state = text(&v["state"]);
            add(
                "nbu_disk_pool_volume_count",
                &[
                    ("pool_name", &name),
                    ("storage_category", &cat),
                    ("state", &state),
                ],
                1.0,
            );
        }
    }
    if v13 {
        for v in cursor_all(sim, "/storage/tape-media") {
            let at = &v["attributes"];
            let robot = text(&at["robot"]["robotType"]);
            add(
                "nbu_tape_media_count",
                &[
                    ("pool", &text(&at["volumePool"])),
                    ("media_type", &text(&at["mediaType"])),
                    ("robot_type", &robot),
                ],
                1.0,
            );
        }
        for p in cursor_all(sim, "/storage/tape-volume-pools") {
            let at = &p["attributes"];
            add(
                "nbu_tape_pool_partially_full",
                &[
                    ("pool_name", &text(&at["volumePoolName"])),
                    ("pool_type", &text(&at["poolType"])),
                ],
                at["partiallyFullMedia"].as_f64().unwrap(),
            );
        }
        let (_, hosts) = sim_get(sim, "/storage/robots-device-hosts", version);
        add(
            "nbu_tape_robot_device_hosts",
            &[],
            hosts["data"].as_array().unwrap().len() as f64,
        );
    }
    if version >= "13.0" {
        // Images of the last 24 hours: the endpoint's own default window.
        let mut counts: BTreeMap<(String, String), f64> = BTreeMap::new();
        for m in ["CLEAN", "INFECTION_DETECTED_BY_MALWARE_SCAN", "NOT_SCANNED"] {
            for a in ["ANOMALOUS", "NOT_ANOMALOUS", "NOT_PROCESSED"] {
                counts.insert((m.into(), a.into()), 0.0);
            }
        }
        for i in offset_all(sim, "/catalog/images", 100, version) {
            let at = &i["attributes"];
            if let Some(n) = counts.get_mut(&(text(&at["malwareStatus"]), text(&at["anomalyStatus"]))) {
                *n += 1.0;
            }
        }
        for ((m, a), n) in counts {
            add(
                "nbu_catalog_images_count",
                &[("malware_status", &m), ("anomaly_status", &a)],
                n,
            );
        }
    }
    want
}

/// The exporter's samples of the families in `want`.
fn shown(m: &Metrics, want: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let names: BTreeSet<&str> = want.keys().map(|k| k.split('{').next().unwrap()).collect();
    m.samples
        .iter()
        .filter(|(k, _)| names.contains(k.split('{').next().unwrap()))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn success(m: &Metrics, site: &str, part: &str) -> Option<f64> {
    m.get(
        "nbu_exporter_collection_success",
        &[("site", site), ("collector", part)],
    )
}

fn wait_parts(d: &TestDaemon, site: &str, parts: &[&str]) -> Metrics {
    wait_for(Duration::from_secs(60), "every part to succeed", || {
        let m = d.metrics();
        parts
            .iter()
            .all(|p| success(&m, site, p) == Some(1.0))
            .then_some(m)
    })
}

fn requests_to(sim: &SimServer, path: &str) -> usize {
    sim.handle()
        .requests()
        .iter()
        .filter(|r| r.path == format!("/netbackup{path}"))
        .count()
}

#[test]
fn every_collector_equals_the_independent_computation() {
    let sim = big_site();
    let d = TestDaemon::start(&format!(
        "{}{ALL_ON}",
        config_yaml("", &[site_yaml("paris", &sim, "")])
    ));
    d.wait_ready();
    let m = wait_parts(&d, "paris", &PARTS);
    // What the exporter asked, before this test's own paging adds to the log.
    let asked = sim.handle().requests();
    let want = expected(&sim, "paris", "14.0");
    let mut got = shown(&m, &want);
    // The alerts' newest timestamps: one per group, checked for presence.
    got.retain(|k, _| !k.starts_with("nbu_alerts_latest"));
    assert_eq!(got, want);
    for part in PARTS {
        let labels = [("site", "paris"), ("collector", part)];
        assert_eq!(
            m.value("nbu_exporter_collector_supported", &labels),
            1.0,
            "{part}"
        );
        assert!(m
            .get(
                "nbu_last_scrape_timestamp_seconds",
                &[("site", "paris"), ("source", part)]
            )
            .is_some());
    }
    assert_eq!(
        m.matching("nbu_alerts_latest_timestamp_seconds", &[("site", "paris")])
            .len(),
        m.matching("nbu_alerts_count", &[("site", "paris")]).len()
    );
    // Cursor listings were read by cursor, every page once.
    let media: Vec<_> = asked
        .iter()
        .filter(|r| r.path.ends_with("/storage/tape-media"))
        .collect();
    assert!(media
        .iter()
        .all(|r| r.query.iter().all(|(k, _)| k != "page[offset]")));
    assert_eq!(media.len(), 12, "1,200 volumes in pages of 100");
    // Catalog filters quote their string literals (the simulator answers 400 otherwise).
    let catalog: Vec<_> = asked
        .iter()
        .filter(|r| r.path.ends_with("/catalog/images"))
        .collect();
    assert_eq!(catalog.len(), 9);
    for r in &catalog {
        assert_eq!(r.status, 200);
        let filter = &r.query.iter().find(|(k, _)| k == "filter").unwrap().1;
        assert!(
            filter.starts_with("malwareStatus eq '") && filter.contains("backupTime ge '"),
            "{filter}"
        );
    }
}

#[test]
fn api_10_skips_newer_parts_and_never_asks_for_them() {
    let sim = big_site();
    sim.handle().set_versions(vec![ApiVersion::V10_0]);
    let d = TestDaemon::start(&format!(
        "{}{ALL_ON}",
        config_yaml("", &[site_yaml("paris", &sim, "")])
    ));
    d.wait_ready();
    let supported = ["alerts", "malware", "slo", "tape_drives", "disk_pools"];
    let m = wait_parts(&d, "paris", &supported);
    let m = wait_for(Duration::from_secs(20), "unsupported parts reported", || {
        let m2 = d.metrics();
        ["catalog", "tape_media", "robot_hosts", "volume_pools"]
            .iter()
            .all(|p| {
                m2.get(
                    "nbu_exporter_collector_supported",
                    &[("site", "paris"), ("collector", p)],
                ) == Some(0.0)
            })
            .then_some(m2)
    })
    .samples
    .into_iter()
    .chain(m.samples)
    .collect::<BTreeMap<_, _>>();
    let m = Metrics {
        samples: m,
        raw: String::new(),
    };
    for path in [
        "/catalog/images",
        "/storage/tape-media",
        "/storage/robots-device-hosts",
        "/storage/tape-volume-pools",
    ] {
        assert_eq!(requests_to(&sim, path), 0, "{path} must never be requested");
    }
    let want = expected(&sim, "paris", "10.0");
    let mut got = shown(&m, &want);
    got.retain(|k, _| !k.starts_with("nbu_alerts_latest"));
    assert_eq!(got, want);
    for family in [
        "nbu_tape_media_count",
        "nbu_catalog_images_count",
        "nbu_tape_robot_device_hosts",
    ] {
        assert!(m.matching(family, &[]).is_empty(), "{family}");
    }
    assert_eq!(m.value("nbu_up", &[("site", "paris")]), 1.0);
}

#[test]
fn alerts_401_or_403_fails_alerts_alone() {
    for code in [401, 403] {
        let sim = big_site();
        sim.handle().set_fault(
            Scope::Alerts,
            Fault::Status {
                code,
                retry_after: None,
            },
        );
        let d = TestDaemon::start(&format!(
            "{}{ALL_ON}",
            config_yaml("", &[site_yaml("paris", &sim, "")])
        ));
        d.wait_ready();
        let others: Vec<&str> = PARTS.iter().copied().filter(|p| *p != "alerts").collect();
        wait_parts(&d, "paris", &others);
        let m = wait_for(Duration::from_secs(20), "alerts to fail", || {
            let m2 = d.metrics();
            (success(&m2, "paris", "alerts") == Some(0.0)).then_some(m2)
        });
        assert_eq!(m.value("nbu_up", &[("site", "paris")]), 1.0, "{code}");
        assert_eq!(success(&m, "paris", "jobs"), Some(1.0));
        assert_eq!(success(&m, "paris", "storage"), Some(1.0));
        assert!(m.matching("nbu_alerts_count", &[]).is_empty(), "{code}");
        sim.handle().clear_faults();
        let mut want = expected(&sim, "paris", "14.0");
        want.retain(|k, _| !k.starts_with("nbu_alerts"));
        assert!(!m.matching("nbu_jobs_count", &[("site", "paris")]).is_empty());
        assert_eq!(shown(&m, &want), want, "{code}");
    }
}

#[test]
fn a_hung_tape_media_listing_delays_nothing_else() {
    let sim = big_site();
    sim.handle().set_fault(Scope::TapeMedia, Fault::Hang);
    let yaml = config_yaml(
        "  collectionInterval: 1s\n  collectionTimeout: 1s\n",
        &[site_yaml("paris", &sim, "")],
    );
    // The tape parts run every 30 s, so their deadline is 30 s: the hang outlasts many
    // 1 s jobs sweeps.
    let yaml =
        format!("{yaml}collectors:\n  tape: {{enabled: true, interval: 30s}}\n  alerts: {{enabled: true}}\n");
    let d = TestDaemon::start(&yaml);
    d.wait_ready();
    wait_until(Duration::from_secs(20), "the tape-media request to hang", || {
        sim.handle()
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/storage/tape-media"))
    });
    let jobs_at = |m: &Metrics| {
        m.get(
            "nbu_last_scrape_timestamp_seconds",
            &[("site", "paris"), ("source", "jobs")],
        )
    };
    let first = jobs_at(&d.metrics()).expect("jobs collected");
    let mut seen = BTreeSet::new();
    wait_until(
        Duration::from_secs(15),
        "three more jobs sweeps while tape-media hangs",
        || {
            let m = d.metrics();
            if let Some(t) = jobs_at(&m) {
                if t > first {
                    seen.insert(t.to_bits());
                }
            }
            seen.len() >= 3
        },
    );
    let m = d.metrics();
    assert!(success(&m, "paris", "tape_media").is_none(), "still running");
    assert_eq!(success(&m, "paris", "tape_drives"), Some(1.0));
    assert_eq!(success(&m, "paris", "alerts"), Some(1.0));
    assert_eq!(m.value("nbu_up", &[("site", "paris")]), 1.0);
    // The alerts part ran again on its own 1 s cadence meanwhile.
    assert!(requests_to(&sim, "/manage/alerts") >= 2);
    sim.handle().clear_faults();
}

fn job(id: i64, client: &str, status: i64, ended_ago_ms: i64) -> SimJob {
    let now = now_millis();
    SimJob {
        job_id: id,
        parent_job_id: 0,
        job_type: "BACKUP".into(),
        policy_type: "STANDARD".into(),
        policy_name: "gold".into(),
        client_name: client.into(),
        schedule_type: "FULL".into(),
        state: "DONE".into(),
        status,
        kilobytes_transferred: 1,
        number_of_files: 1,
        dedup_ratio: None,
        start_time: Some(now - ended_ago_ms - 60_000),
        end_time: Some(now - ended_ago_ms),
        job_queue_reason: None,
        last_update: None,
    }
}

fn targeted(sim: &SimServer) -> Vec<String> {
    sim.handle()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/admin/jobs"))
        .filter_map(|r| {
            r.query
                .into_iter()
                .find(|(k, v)| k == "filter" && v.starts_with("clientName"))
        })
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn per_client_freshness_costs_no_request_once_known() {
    let hour = 3_600_000;
    let data = SimData {
        jobs: vec![
            job(1, "web01", 0, 10 * 60_000),
            job(2, "web01", 1, 5 * 60_000),
            job(3, "db'02", 0, 3 * 24 * hour), // outside the window: needs the targeted query
            job(4, "other", 0, 60_000),
        ],
        ..SimData::default()
    };
    let sim = site_with(data);
    let yaml = format!(
        "{}collectors:\n  perClient: {{enabled: true, allowlist: [web01, \"db'02\", never]}}\n",
        config_yaml("  collectionInterval: 1s\n", &[site_yaml("paris", &sim, "")])
    );
    let d = TestDaemon::start(&yaml);
    d.wait_ready();
    wait_parts(&d, "paris", &["client_backups"]);
    wait_until(Duration::from_secs(20), "both backups known", || {
        d.metrics()
            .matching("nbu_client_last_successful_backup_timestamp_seconds", &[])
            .len()
            == 2
    });
    let asked = targeted(&sim);
    assert_eq!(
        asked,
        [
            "clientName eq 'db''02' and jobType eq 'BACKUP' and status eq 0",
            "clientName eq 'never' and jobType eq 'BACKUP' and status eq 0"
        ],
        "only the clients the jobs stream did not answer, once each"
    );
    let jobs_before = requests_to(&sim, "/admin/jobs");
    wait_until(Duration::from_secs(20), "three more sweeps", || {
        requests_to(&sim, "/admin/jobs") >= jobs_before + 6
    });
    assert_eq!(
        targeted(&sim).len(),
        2,
        "no request per client per sweep after warm-up"
    );
    let m = d.metrics();
    let s = ("site", "paris");
    let t = |c: &str| {
        m.get(
            "nbu_client_last_successful_backup_timestamp_seconds",
            &[s, ("client", c)],
        )
    };
    assert!(t("web01").is_some() && t("db'02").is_some() && t("never").is_none());
    assert_eq!(
        m.value(
            "nbu_client_jobs_count",
            &[s, ("client", "web01"), ("action", "BACKUP"), ("status", "1")]
        ),
        1.0
    );
    assert!(m
        .matching("nbu_client_jobs_count", &[("client", "other")])
        .is_empty());
    assert!(m
        .get(
            "nbu_client_last_job_success_seconds",
            &[s, ("client", "web01"), ("policy", "gold"), ("action", "BACKUP")]
        )
        .is_some());
}

#[test]
fn reload_enables_disables_and_retunes_collectors_live() {
    let sim = big_site();
    let base = config_yaml("", &[site_yaml("paris", &sim, "")]);
    let d = TestDaemon::start_http_only(&base);
    d.wait_ready();
    let jobs = || requests_to(&sim, "/admin/jobs");
    let storage = || requests_to(&sim, "/storage/storage-units");
    let (jobs0, storage0) = (jobs(), storage());
    assert!(d.metrics().matching("nbu_alerts_count", &[]).is_empty());

    // Enable: runs at once; jobs and storage are not fetched again.
    d.write_config(&format!(
        "{base}collectors:\n  alerts: {{enabled: true}}\n  tape: {{enabled: true}}\n"
    ));
    assert_eq!(d.reload().0, 200);
    wait_parts(&d, "paris", &["alerts", "tape_drives", "disk_pools"]);
    assert!(!d.metrics().matching("nbu_alerts_count", &[]).is_empty());
    assert_eq!((jobs(), storage()), (jobs0, storage0), "nothing else re-fetched");

    // Interval: the tape parts re-run on the new cadence, alerts do not.
    let (drives0, alerts0) = (
        requests_to(&sim, "/storage/drives"),
        requests_to(&sim, "/manage/alerts"),
    );
    d.write_config(&format!(
        "{base}collectors:\n  alerts: {{enabled: true}}\n  tape: {{enabled: true, interval: 1s}}\n"
    ));
    assert_eq!(d.reload().0, 200);
    wait_until(
        Duration::from_secs(20),
        "drives fetched on the 1 s cadence",
        || requests_to(&sim, "/storage/drives") >= drives0 + 2 * 3,
    );
    assert_eq!(requests_to(&sim, "/manage/alerts"), alerts0);
    assert_eq!((jobs(), storage()), (jobs0, storage0));

    // Disable: gone in the very next scrape, with its self-metrics.
    d.write_config(&format!(
        "{base}collectors:\n  tape: {{enabled: true, interval: 1s}}\n"
    ));
    assert_eq!(d.reload().0, 200);
    let m = d.metrics();
    assert!(m.matching("nbu_alerts_count", &[]).is_empty());
    assert!(m.matching("nbu_alerts_latest_timestamp_seconds", &[]).is_empty());
    assert!(success(&m, "paris", "alerts").is_none());
    assert!(m
        .get(
            "nbu_last_scrape_timestamp_seconds",
            &[("site", "paris"), ("source", "alerts")]
        )
        .is_none());
    assert!(!m.matching("nbu_tape_drives_count", &[]).is_empty());
    assert_eq!((jobs(), storage()), (jobs0, storage0));
}

#[test]
fn reload_of_the_allowlist_and_window() {
    let data = SimData {
        jobs: vec![job(1, "web01", 0, 60_000), job(2, "web02", 0, 120_000)],
        ..SimData::default()
    };
    let now = now_millis();
    let mut data = data;
    data.resources = SimResources::generate(&ResourceSpec::default(), now);
    let sim = site_with(data);
    let base = config_yaml("", &[site_yaml("paris", &sim, "")]);
    let with = |allow: &str, window: &str| {
        format!("{base}collectors:\n  perClient: {{enabled: true, allowlist: [{allow}]}}\n  malware: {{enabled: true, window: {window}}}\n")
    };
    let d = TestDaemon::start_http_only(&with("web01", "24h"));
    d.wait_ready();
    wait_parts(&d, "paris", &["client_backups", "malware"]);
    let backup = |m: &Metrics, c: &str| {
        m.get(
            "nbu_client_last_successful_backup_timestamp_seconds",
            &[("site", "paris"), ("client", c)],
        )
    };
    let m = wait_for(Duration::from_secs(20), "web01 known", || {
        let m = d.metrics();
        backup(&m, "web01").is_some().then_some(m)
    });
    assert!(backup(&m, "web02").is_none());
    let scanned_24h = m.value("nbu_malware_files_scanned", &[("site", "paris")]);
    let jobs0 = requests_to(&sim, "/admin/jobs");

    d.write_config(&with("web02", "48h"));
    assert_eq!(d.reload().0, 200);
    let m = d.metrics();
    assert!(
        backup(&m, "web01").is_none(),
        "a client dropped from the allowlist is gone at once"
    );
    // web02 needs one targeted query (the jobs stream is not re-read); the new window
    // re-runs malware alone.
    let m = wait_for(Duration::from_secs(20), "web02 and the 48h window", || {
        let m = d.metrics();
        let scanned = m.get("nbu_malware_files_scanned", &[("site", "paris")])?;
        (backup(&m, "web02").is_some() && scanned > scanned_24h).then_some(m)
    });
    assert!(backup(&m, "web01").is_none());
    assert_eq!(
        targeted(&sim).len(),
        1,
        "web01 came from the jobs stream; web02 needed one query"
    );
    assert_eq!(
        requests_to(&sim, "/admin/jobs"),
        jobs0 + 1,
        "only web02's targeted query"
    );
}
