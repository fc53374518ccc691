//! Tests of `render`: the golden two-site view, format validity at scale, escaping,
//! duplicates.

use std::sync::Arc;

use super::check::check;
use super::*;
use crate::collect::summary::{CountBytes, DedupMean, DurationHistogram, JobsSummary};
use crate::collect::Sourced;
use crate::nbu::{ApiVersion, StorageUnit};

fn k2(a: &str, b: &str) -> (Arc<str>, Arc<str>) {
    (a.into(), b.into())
}

fn k3(a: &str, b: &str, c: &str) -> (Arc<str>, Arc<str>, Arc<str>) {
    (a.into(), b.into(), c.into())
}

fn unit(
    name: &str,
    server_type: &str,
    free: Option<i64>,
    used: Option<i64>,
    total: Option<i64>,
) -> StorageUnit {
    StorageUnit {
        name: name.into(),
        storage_type: "DISK".into(),
        storage_sub_type: "PureDisk".into(),
        storage_server_type: server_type.into(),
        free_capacity_bytes: free,
        used_capacity_bytes: used,
        total_capacity_bytes: total,
        max_concurrent_jobs: Some(10),
        max_fragment_size_megabytes: Some(51200),
        ..StorageUnit::default()
    }
}

fn up_site(name: &str, summary: JobsSummary, units: Vec<StorageUnit>) -> SiteSnapshot {
    SiteSnapshot {
        site: name.into(),
        up: true,
        api_version: Some(ApiVersion::V13_0),
        jobs: Some(Sourced {
            value: Arc::new(summary),
            collected_at: 1_700_000_000_123,
        }),
        storage: Some(Sourced {
            value: Arc::new(units),
            collected_at: 1_700_000_000_000,
        }),
        collectors: Vec::new(),
        parts: Default::default(),
        last_error: None,
    }
}

fn golden_sites() -> Vec<Arc<SiteSnapshot>> {
    let mut s = JobsSummary::default();
    s.by_outcome.insert(
        k3("BACKUP", "STANDARD", "0"),
        CountBytes {
            count: 3,
            bytes: 3_145_728,
        },
    );
    s.by_outcome
        .insert(k3("BACKUP", "STANDARD", "1"), CountBytes { count: 1, bytes: 0 });
    s.status_count.insert(k2("BACKUP", "0"), 3);
    s.status_count.insert(k2("BACKUP", "1"), 1);
    s.files.insert(k2("BACKUP", "STANDARD"), 1200);
    s.dedup
        .insert(k2("BACKUP", "STANDARD"), DedupMean { sum: 7.5, n: 3 });
    s.durations.insert(
        k2("BACKUP", "STANDARD"),
        DurationHistogram {
            buckets: [1, 2, 0, 0, 0, 0, 0, 0, 0],
            count: 4,
            sum_seconds: 90_630.5,
        },
    );
    s.state_count.insert(k2("BACKUP", "ACTIVE"), 2);
    s.state_count.insert(k2("BACKUP", "DONE"), 4);
    s.queued.insert(k2("BACKUP", "2"), 1);
    s.jobs_seen = 7;

    let mut cloud = unit("cloud-stu", "PureDisk", None, None, None);
    cloud.storage_sub_type = "CloudCatalyst".into();
    cloud.is_cloud = true;
    cloud.max_concurrent_jobs = None;
    cloud.max_fragment_size_megabytes = None;
    cloud.replication_capable = true;
    let msdp = unit("msdp-stu", "PureDisk", Some(1000), Some(500), Some(1500));
    let mut adv = unit("adv-stu", "AdvancedDisk", Some(20), Some(80), Some(100));
    adv.worm_capable = true;
    adv.use_worm = true;
    adv.instant_access_enabled = true;

    vec![
        Arc::new(up_site("paris", s, vec![msdp, cloud, adv])),
        Arc::new(SiteSnapshot::empty("london")),
    ]
}

fn render_text(sites: &[Arc<SiteSnapshot>], exporter: &ExporterMetrics) -> String {
    let view = ScrapeView {
        generation: 7,
        config_sha256: "0123456789ab",
        sites,
    };
    String::from_utf8(render(&view, exporter)).expect("utf-8 output")
}

const GOLDEN_NBU: &str = r#"# HELP nbu_up Whether the latest sweep of the site reached NetBackup and got jobs or storage data (1) or not (0); 0 before the first sweep.
# TYPE nbu_up gauge
nbu_up{site="paris"} 1
nbu_up{site="london"} 0
# HELP nbu_api_version NetBackup REST API version used by the latest successful sweep; always 1.
# TYPE nbu_api_version gauge
nbu_api_version{site="paris",version="13.0"} 1
# HELP nbu_last_scrape_timestamp_seconds Unix time of the sweep that collected the data shown for a source; it ages while sweeps fail, since the last good data is kept.
# TYPE nbu_last_scrape_timestamp_seconds gauge
nbu_last_scrape_timestamp_seconds{site="paris",source="jobs"} 1700000000.123
nbu_last_scrape_timestamp_seconds{site="paris",source="storage"} 1700000000
# HELP nbu_jobs_count Jobs that ended in the time window, by job type, policy type and status code.
# TYPE nbu_jobs_count gauge
nbu_jobs_count{site="paris",action="BACKUP",policy_type="STANDARD",status="0"} 3
nbu_jobs_count{site="paris",action="BACKUP",policy_type="STANDARD",status="1"} 1
# HELP nbu_jobs_bytes Bytes transferred by jobs that ended in the time window, by job type, policy type and status code.
# TYPE nbu_jobs_bytes gauge
nbu_jobs_bytes{site="paris",action="BACKUP",policy_type="STANDARD",status="0"} 3145728
nbu_jobs_bytes{site="paris",action="BACKUP",policy_type="STANDARD",status="1"} 0
# HELP nbu_status_count Jobs that ended in the time window, by job type and status code.
# TYPE nbu_status_count gauge
nbu_status_count{site="paris",action="BACKUP",status="0"} 3
nbu_status_count{site="paris",action="BACKUP",status="1"} 1
# HELP nbu_jobs_files_count Files processed by jobs that ended in the time window, by job type and policy type.
# TYPE nbu_jobs_files_count gauge
nbu_jobs_files_count{site="paris",action="BACKUP",policy_type="STANDARD"} 1200
# HELP nbu_jobs_dedup_ratio Mean deduplication ratio of jobs that ended in the time window and reported one; absent for a key with no such job.
# TYPE nbu_jobs_dedup_ratio gauge
nbu_jobs_dedup_ratio{site="paris",action="BACKUP",policy_type="STANDARD"} 2.5
# HELP nbu_jobs_state_count Jobs that ended in the time window plus all unfinished jobs, by job type and state.
# TYPE nbu_jobs_state_count gauge
nbu_jobs_state_count{site="paris",action="BACKUP",state="ACTIVE"} 2
nbu_jobs_state_count{site="paris",action="BACKUP",state="DONE"} 4
# HELP nbu_jobs_queued_count Queued jobs by job type and queue reason code.
# TYPE nbu_jobs_queued_count gauge
nbu_jobs_queued_count{site="paris",action="BACKUP",reason="2"} 1
# HELP nbu_job_duration_seconds Duration of jobs that ended in the time window, by job type and policy type; rebuilt every sweep, so not monotonic.
# TYPE nbu_job_duration_seconds histogram
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="60"} 1
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="300"} 3
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="900"} 3
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="1800"} 3
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="3600"} 3
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="7200"} 3
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="14400"} 3
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="28800"} 3
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="86400"} 3
nbu_job_duration_seconds_bucket{site="paris",action="BACKUP",policy_type="STANDARD",le="+Inf"} 4
nbu_job_duration_seconds_sum{site="paris",action="BACKUP",policy_type="STANDARD"} 90630.5
nbu_job_duration_seconds_count{site="paris",action="BACKUP",policy_type="STANDARD"} 4
# HELP nbu_disk_bytes Free and used bytes of a storage unit; a size NetBackup does not report has no sample.
# TYPE nbu_disk_bytes gauge
nbu_disk_bytes{site="paris",name="adv-stu",type="AdvancedDisk",size="free"} 20
nbu_disk_bytes{site="paris",name="adv-stu",type="AdvancedDisk",size="used"} 80
nbu_disk_bytes{site="paris",name="msdp-stu",type="PureDisk",size="free"} 1000
nbu_disk_bytes{site="paris",name="msdp-stu",type="PureDisk",size="used"} 500
# HELP nbu_disk_capacity_bytes Total capacity in bytes of a storage unit; absent when NetBackup does not report it (e.g. cloud units).
# TYPE nbu_disk_capacity_bytes gauge
nbu_disk_capacity_bytes{site="paris",name="adv-stu",type="AdvancedDisk"} 100
nbu_disk_capacity_bytes{site="paris",name="msdp-stu",type="PureDisk"} 1500
# HELP nbu_storage_max_concurrent_jobs Maximum concurrent jobs of a storage unit; absent when NetBackup does not report it.
# TYPE nbu_storage_max_concurrent_jobs gauge
nbu_storage_max_concurrent_jobs{site="paris",name="adv-stu",type="AdvancedDisk"} 10
nbu_storage_max_concurrent_jobs{site="paris",name="msdp-stu",type="PureDisk"} 10
# HELP nbu_storage_max_fragment_size_bytes Maximum fragment size in bytes of a storage unit; absent when NetBackup does not report it.
# TYPE nbu_storage_max_fragment_size_bytes gauge
nbu_storage_max_fragment_size_bytes{site="paris",name="adv-stu",type="AdvancedDisk"} 53687091200
nbu_storage_max_fragment_size_bytes{site="paris",name="msdp-stu",type="PureDisk"} 53687091200
# HELP nbu_storage_info Properties of a storage unit; always 1.
# TYPE nbu_storage_info gauge
nbu_storage_info{site="paris",name="adv-stu",type="AdvancedDisk",subtype="PureDisk",is_cloud="false",worm_capable="true",use_worm="true",replication_capable="false",instant_access="true"} 1
nbu_storage_info{site="paris",name="cloud-stu",type="PureDisk",subtype="CloudCatalyst",is_cloud="true",worm_capable="false",use_worm="false",replication_capable="true",instant_access="false"} 1
nbu_storage_info{site="paris",name="msdp-stu",type="PureDisk",subtype="PureDisk",is_cloud="false",worm_capable="false",use_worm="false",replication_capable="false",instant_access="false"} 1
# HELP nbu_exporter_duplicate_series_dropped Storage units left out of this scrape because an earlier unit of the site has the same name and type, so their series would be duplicates.
# TYPE nbu_exporter_duplicate_series_dropped gauge
nbu_exporter_duplicate_series_dropped{site="paris"} 0
nbu_exporter_duplicate_series_dropped{site="london"} 0
"#;

const GOLDEN_TAIL: &str = r#"# HELP nbu_exporter_config_generation Generation of the configuration this scrape was taken from; increases on every applied reload.
# TYPE nbu_exporter_config_generation gauge
nbu_exporter_config_generation 7
# HELP nbu_exporter_config_info The configuration this scrape was taken from: first 12 hex characters of its SHA-256; always 1.
# TYPE nbu_exporter_config_info gauge
nbu_exporter_config_info{sha256="0123456789ab"} 1
"#;

#[test]
fn golden_two_sites() {
    let exporter = ExporterMetrics::new();
    exporter.init_site("paris");
    exporter.init_site("london");
    let text = render_text(&golden_sites(), &exporter);

    let registry_start = text
        .find("# HELP nbu_exporter_build_info")
        .expect("self-metrics follow the NBU families");
    let nbu = &text[..registry_start];
    if nbu != GOLDEN_NBU {
        for (i, (got, want)) in nbu.lines().zip(GOLDEN_NBU.lines()).enumerate() {
            assert_eq!(got, want, "first difference at line {}", i + 1);
        }
        assert_eq!(nbu, GOLDEN_NBU);
    }
    assert!(text.ends_with(GOLDEN_TAIL), "{text}");

    let parsed = check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let families: Vec<&str> = parsed.families.iter().map(|(n, _)| n.as_str()).collect();
    for family in [
        "nbu_exporter_build_info",
        "nbu_exporter_collection_success",
        "nbu_exporter_config_reloads_total",
        "nbu_exporter_config_reload_duration_seconds",
        "nbu_exporter_config_last_reload_successful",
        "nbu_exporter_config_watcher_up",
        "nbu_exporter_cache_flushes_total",
        "nbu_exporter_config_generation",
        "nbu_exporter_config_info",
    ] {
        assert!(families.contains(&family), "{family} missing");
    }
    #[cfg(target_os = "linux")]
    assert!(families.iter().any(|f| f.starts_with("process_")));

    // Only labels from snapshots: nothing from the config (where secrets live) can appear.
    let allowed = [
        "site",
        "version",
        "source",
        "action",
        "policy_type",
        "status",
        "state",
        "reason",
        "le",
        "name",
        "type",
        "size",
        "subtype",
        "is_cloud",
        "worm_capable",
        "use_worm",
        "replication_capable",
        "instant_access",
    ];
    for s in parsed
        .samples
        .iter()
        .filter(|s| !s.name.starts_with("nbu_exporter_"))
    {
        if s.name.starts_with("nbu_") {
            for (label, _) in &s.labels {
                assert!(allowed.contains(&label.as_str()), "{} has label {label}", s.name);
            }
        }
    }
}

#[test]
fn empty_view_has_self_metrics_and_generation_only() {
    let exporter = ExporterMetrics::new();
    let text = render_text(&[], &exporter);
    let parsed = check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(parsed
        .families
        .iter()
        .all(|(n, _)| n.starts_with("nbu_exporter_") || n.starts_with("process_")));
    assert!(text.ends_with(GOLDEN_TAIL));
}

#[test]
fn label_values_are_escaped() {
    let nasty = "a\"b\\c\nd";
    let mut u = unit(nasty, "PureDisk", Some(1), Some(2), Some(3));
    u.storage_sub_type = "sub\\type".into();
    let sites = vec![Arc::new(up_site(nasty, JobsSummary::default(), vec![u]))];
    let text = render_text(&sites, &ExporterMetrics::new());
    assert!(text.contains(r#"nbu_up{site="a\"b\\c\nd"} 1"#), "{text}");
    assert!(
        text.contains(r#"nbu_disk_capacity_bytes{site="a\"b\\c\nd",name="a\"b\\c\nd",type="PureDisk"} 3"#),
        "{text}"
    );
    let parsed = check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let info = parsed
        .samples
        .iter()
        .find(|s| s.name == "nbu_storage_info")
        .expect("info sample");
    assert_eq!(info.label("site"), Some(nasty));
    assert_eq!(info.label("name"), Some(nasty));
    assert_eq!(info.label("subtype"), Some("sub\\type"));
}

#[test]
fn duplicate_storage_units_keep_the_first() {
    let units = vec![
        unit("dup", "PureDisk", Some(1), Some(1), Some(2)),
        unit("other", "PureDisk", Some(5), Some(5), Some(10)),
        unit("dup", "PureDisk", Some(9), Some(9), Some(18)),
        unit("dup", "AdvancedDisk", Some(3), Some(3), Some(6)),
        unit("dup", "PureDisk", Some(7), Some(7), Some(14)),
    ];
    let sites = vec![Arc::new(up_site("paris", JobsSummary::default(), units))];
    let text = render_text(&sites, &ExporterMetrics::new());
    let parsed = check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let capacity: Vec<(Option<&str>, Option<&str>, f64)> = parsed
        .samples
        .iter()
        .filter(|s| s.name == "nbu_disk_capacity_bytes")
        .map(|s| (s.label("name"), s.label("type"), s.value))
        .collect();
    assert_eq!(
        capacity,
        vec![
            (Some("dup"), Some("AdvancedDisk"), 6.0),
            (Some("dup"), Some("PureDisk"), 2.0),
            (Some("other"), Some("PureDisk"), 10.0),
        ]
    );
    assert!(text.contains("nbu_exporter_duplicate_series_dropped{site=\"paris\"} 2\n"));
}

#[test]
fn tape_units_and_repeated_sites_are_left_out() {
    let mut tape = unit("tape-stu", "Tape", Some(1), Some(1), Some(2));
    tape.storage_type = " tape ".into();
    let paris = Arc::new(up_site("paris", JobsSummary::default(), vec![tape]));
    let sites = vec![paris.clone(), Arc::new(SiteSnapshot::empty("paris"))];
    let text = render_text(&sites, &ExporterMetrics::new());
    check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(!text.contains("tape-stu"));
    assert!(text.contains("nbu_up{site=\"paris\"} 1\n"));
    assert!(!text.contains("nbu_up{site=\"paris\"} 0"));
    // A family with no sample at all has no header either.
    assert!(!text.contains("nbu_disk_bytes"));
}

/// A view of `sites` sites, each with the given jobs key fan-out and `units` storage units.
/// Per site: 2·A·P·S (count, bytes) + A·S (status) + 14·A·P (files, dedup, 12 histogram
/// lines) + 2·A·S (state, queue) + 6·units series.
pub(crate) fn synthetic_view(
    sites: usize,
    actions: usize,
    policies: usize,
    statuses: usize,
    units: usize,
) -> Vec<Arc<SiteSnapshot>> {
    (0..sites)
        .map(|i| {
            let mut s = JobsSummary::default();
            for a in 0..actions {
                let action = format!("ACTION_{a}");
                for p in 0..policies {
                    let policy = format!("POLICY_{p}");
                    for st in 0..statuses {
                        let cb = CountBytes {
                            count: (a + p + st) as u64,
                            bytes: ((a * p + st) as u64) << 30,
                        };
                        s.by_outcome.insert(k3(&action, &policy, &st.to_string()), cb);
                    }
                    s.files.insert(k2(&action, &policy), (a * 1000 + p) as u64);
                    s.dedup.insert(
                        k2(&action, &policy),
                        DedupMean {
                            sum: (a + p) as f64 * 1.37,
                            n: 3,
                        },
                    );
                    s.durations.insert(
                        k2(&action, &policy),
                        DurationHistogram {
                            buckets: [1, 2, 3, 4, 5, 6, 7, 8, 9],
                            count: 50,
                            sum_seconds: 123_456.789,
                        },
                    );
                }
                for st in 0..statuses {
                    s.status_count.insert(k2(&action, &st.to_string()), st as u64);
                    s.state_count
                        .insert(k2(&action, &format!("STATE_{st}")), st as u64);
                    s.queued.insert(k2(&action, &st.to_string()), 1);
                }
            }
            let units = (0..units)
                .map(|u| {
                    unit(
                        &format!("stu-{u}"),
                        "PureDisk",
                        Some(u as i64 * 1_000_000),
                        Some(u as i64 * 2_000_000),
                        Some(u as i64 * 3_000_000),
                    )
                })
                .collect();
            Arc::new(up_site(&format!("site-{i}"), s, units))
        })
        .collect()
}

#[test]
fn ten_thousand_series_parse() {
    // 4 sites × (2·8·10·10 + 8·10 + 14·8·10 + 2·8·10 + 6·100) = 4 × 3560 = 14240 series.
    let sites = synthetic_view(4, 8, 10, 10, 100);
    let text = render_text(&sites, &ExporterMetrics::new());
    let parsed = check(&text).unwrap_or_else(|e| panic!("{e}"));
    let nbu = parsed
        .samples
        .iter()
        .filter(|s| s.name.starts_with("nbu_") && !s.name.starts_with("nbu_exporter_"))
        .count();
    // Plus nbu_up, nbu_api_version and two nbu_last_scrape_timestamp_seconds per site.
    assert_eq!(nbu, 4 * (3560 + 4));
}

/// A reused buffer gives the same bytes as a fresh one: what it held is cleared, and a
/// smaller view after a larger one leaves nothing of the larger behind.
#[test]
fn render_into_a_reused_buffer_matches_render() {
    let exporter = ExporterMetrics::new();
    let sites = golden_sites();
    let view = |sites| ScrapeView {
        generation: 7,
        config_sha256: "0123456789ab",
        sites,
    };
    // The process_* samples (RSS, CPU) move between two renders.
    let stable = |body: &[u8]| -> String {
        String::from_utf8_lossy(body)
            .lines()
            .filter(|l| !l.starts_with("process_"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let mut body = b"stale bytes from an earlier scrape\n".to_vec();
    render_into(&view(&sites), &exporter, &mut body);
    assert_eq!(stable(&body), stable(&render(&view(&sites), &exporter)));
    let capacity = body.capacity();
    render_into(&view(&sites[1..]), &exporter, &mut body);
    assert_eq!(stable(&body), stable(&render(&view(&sites[1..]), &exporter)));
    assert!(!stable(&body).contains("paris") && !stable(&body).contains("stale"));
    assert_eq!(body.capacity(), capacity, "the memory is reused, not replaced");
}

/// The families of a text in order, each as (header lines, sample lines).
fn families_of(text: &str) -> Vec<(String, Vec<String>)> {
    let mut families: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("# HELP ") {
            families.push((format!("{line}\n"), Vec::new()));
        } else if line.starts_with("# TYPE ") {
            let (header, _) = families.last_mut().expect("TYPE after HELP");
            header.push_str(line);
        } else {
            let (_, samples) = families.last_mut().expect("sample after a header");
            samples.push(line.to_string());
        }
    }
    families
}

/// Sites whose family sets differ: one with nothing but `nbu_up`, one with storage only,
/// one with jobs only, one with everything, and an empty one last.
fn mixed_sites() -> Vec<Arc<SiteSnapshot>> {
    let full = golden_sites();
    let mut storage_only = (*full[0]).clone();
    storage_only.site = "rome".into();
    storage_only.jobs = None;
    let mut jobs_only = (*full[0]).clone();
    jobs_only.site = "oslo".into();
    jobs_only.storage = None;
    jobs_only.api_version = None;
    let mut last = SiteSnapshot::empty("lima");
    last.up = true;
    vec![
        Arc::clone(&full[1]),
        Arc::new(storage_only),
        Arc::new(jobs_only),
        Arc::clone(&full[0]),
        Arc::new(last),
    ]
}

/// The merged body holds, per family, exactly what writing every site's samples family by
/// family gives, in site order, with one header; and it is still valid text.
#[test]
fn assembled_sites_equal_writing_family_by_family() {
    for sites in [
        mixed_sites(),
        golden_sites(),
        synthetic_view(3, 2, 3, 4, 5),
        Vec::new(),
    ] {
        let refs: Vec<SiteRef> = sites
            .iter()
            .map(|snap| SiteRef {
                snap,
                label: escaped_label_value(&snap.site),
            })
            .collect();
        let mut w = TextWriter::over(Vec::new());
        write_site_families(&mut w, &refs);
        let direct = String::from_utf8(w.into_bytes()).expect("utf-8");

        let mut body = Vec::new();
        render_sites(&sites, &mut body);
        let assembled = String::from_utf8(body).expect("utf-8");
        check(&assembled).unwrap_or_else(|e| panic!("{e}\n{assembled}"));

        let mut want = families_of(&direct);
        let mut got = families_of(&assembled);
        let names = |f: &[(String, Vec<String>)]| f.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>();
        // Every site's own order of families is kept.
        for snap in &sites {
            let mut one = Vec::new();
            render_sites(std::slice::from_ref(snap), &mut one);
            let own = names(&families_of(&String::from_utf8(one).expect("utf-8")));
            let positions: Vec<usize> = own
                .iter()
                .map(|h| names(&got).iter().position(|g| g == h).expect("family present"))
                .collect();
            assert!(
                positions.windows(2).all(|p| p[0] < p[1]),
                "order of {}",
                snap.site
            );
        }
        want.sort();
        got.sort();
        assert_eq!(got, want);
        // When the first site has every family, the order is the writing order itself.
        if sites.len() > 1 && sites[0].jobs.is_some() && sites[0].storage.is_some() {
            assert_eq!(assembled, direct);
        }
    }
}

/// The reader gives the same bytes as `write_to`, whatever the size of the reads.
#[test]
fn the_sites_reader_streams_the_same_bytes() {
    use std::io::Read;
    let texts: Vec<Arc<SiteText>> = mixed_sites()
        .iter()
        .map(|snap| Arc::new(SiteText::render(snap)))
        .collect();
    let sites = SitesText::assemble(texts);
    let mut whole = Vec::new();
    sites.write_to(&mut whole);
    assert_eq!(whole.len(), sites.len());
    assert_eq!(sites.chunks().map(<[u8]>::len).sum::<usize>(), sites.len());
    for size in [1, 7, 100, 4096, 1 << 20] {
        let mut reader = sites.reader();
        let mut read = Vec::new();
        let mut buf = vec![0; size];
        for _ in 0..whole.len() + 1 {
            let n = reader.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            read.extend_from_slice(&buf[..n]);
        }
        assert_eq!(read, whole, "reads of {size} bytes");
    }
}

/// A site whose name repeats an earlier one is left out, never duplicating series.
#[test]
fn a_repeated_site_is_skipped() {
    let sites = golden_sites();
    let twice = vec![
        Arc::clone(&sites[0]),
        Arc::clone(&sites[1]),
        Arc::clone(&sites[0]),
    ];
    let mut body = Vec::new();
    render_sites(&twice, &mut body);
    let mut once = Vec::new();
    render_sites(&sites, &mut once);
    assert_eq!(body, once);
}
