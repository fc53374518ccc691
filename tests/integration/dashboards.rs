//! The Grafana dashboards (`crates/nbu-dashboards`) against what the exporter really serves:
//! every metric an expression names is in `/metrics` of an exporter run against the
//! simulator with every collector enabled, every label matcher names a label that metric
//! has, an equality matcher's value is one the metric takes, and every selector of a
//! per-site metric filters on `$site`. The check is shown to fail on a copy of the golden
//! output with a metric or a label renamed.
//!
//! That every expression parses is `promtool`'s job (`.ci/check-dashboards.sh`); that the
//! committed JSON is what the generator writes is the dashboards crate's own test.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use nbu_dashboards::promql::selectors;
use nbu_dashboards::{queries, Query};

use crate::support::*;

/// Metrics of the opt-in collectors' contract (`nbu-api/collectors.md`) that the dashboards
/// use and this build does not export yet, with their labels per the contract; until they
/// are exported, matchers on them are checked against these labels. Empty now that every
/// collector of the contract is exported: the test fails on a name listed here that is
/// exported (stale), as on a name missing from the output that is not listed here.
const NOT_YET_EXPORTED: &[(&str, &[&str])] = &[];

/// Every collector enabled, and two clients of the known data set allowlisted.
const ALL_COLLECTORS: &str = "collectors:
  alerts: {enabled: true}
  malware: {enabled: true}
  catalog: {enabled: true}
  slo: {enabled: true}
  tape: {enabled: true}
  perClient:
    enabled: true
    allowlist: [client03.sim.example, client04.sim.example]
";

/// The series of a `/metrics` text: metric name -> label name -> values seen.
#[derive(Default)]
struct Exported {
    series: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// Families with a `# TYPE` line, with or without samples.
    declared: BTreeSet<String>,
}

impl Exported {
    fn parse(text: &str) -> Exported {
        let mut out = Exported::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                if let Some(name) = rest.split_whitespace().next() {
                    out.declared.insert(name.to_string());
                }
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (name, labels) = sample_labels(line);
            let entry = out.series.entry(name).or_default();
            for (label, value) in labels {
                entry.entry(label).or_default().insert(value);
            }
        }
        out
    }

    fn has(&self, name: &str) -> bool {
        self.series.contains_key(name) || self.declared.contains(name)
    }
}

/// The metric name and labels of one sample line.
fn sample_labels(line: &str) -> (String, Vec<(String, String)>) {
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    let name = line[..name_end].to_string();
    let mut labels = Vec::new();
    if line[name_end..].starts_with('{') {
        let mut chars = line[name_end + 1..].chars();
        let (mut label, mut value) = (String::new(), String::new());
        // Label name until `=`, then a quoted value with `\` escapes, then `,` or `}`.
        while let Some(c) = chars.next() {
            match c {
                '}' => break,
                ',' | ' ' => {}
                '=' => {
                    assert_eq!(chars.next(), Some('"'), "unquoted label value in {line:?}");
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => value.extend(chars.next()),
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    labels.push((std::mem::take(&mut label), std::mem::take(&mut value)));
                }
                c => label.push(c),
            }
        }
    }
    (name, labels)
}

/// What the check found.
#[derive(Debug, Default)]
struct Report {
    /// Metrics named by the dashboards that the output lacks, not counting `NOT_YET_EXPORTED`.
    missing: BTreeSet<String>,
    /// Every other problem, one line each.
    problems: BTreeSet<String>,
}

/// Checks every query against `exported`; the metrics in `not_yet` are taken to have the
/// labels listed there.
fn check(exported: &Exported, queries: &[Query], not_yet: &[(&str, &[&str])]) -> Report {
    let mut report = Report::default();
    for q in queries {
        let at = format!("{} {}", q.dashboard, q.place);
        let selectors = match selectors(&q.expr) {
            Ok(s) => s,
            Err(e) => {
                report
                    .problems
                    .insert(format!("{at}: cannot read {:?}: {e}", q.expr));
                continue;
            }
        };
        for (i, s) in selectors.iter().enumerate() {
            let contract = not_yet.iter().find(|(name, _)| *name == s.metric);
            let labels: BTreeMap<String, Option<&BTreeSet<String>>> =
                match (exported.series.get(&s.metric), contract) {
                    (Some(series), _) => series
                        .iter()
                        .map(|(l, values)| (l.clone(), Some(values)))
                        .collect(),
                    (None, Some((_, labels))) => labels.iter().map(|l| (l.to_string(), None)).collect(),
                    (None, None) => {
                        report.missing.insert(s.metric.clone());
                        report
                            .problems
                            .insert(format!("{at}: {} is not in the exporter's output", s.metric));
                        continue;
                    }
                };
            for m in &s.matchers {
                match labels.get(&m.label) {
                    None => {
                        report
                            .problems
                            .insert(format!("{at}: {} has no label {:?}", s.metric, m.label));
                    }
                    Some(Some(values))
                        if m.op == "=" && !m.value.contains('$') && !values.contains(&m.value) =>
                    {
                        report.problems.insert(format!(
                            "{at}: no series of {} has {}={:?} (seen: {values:?})",
                            s.metric, m.label, m.value
                        ));
                    }
                    Some(_) => {}
                }
            }
            let by_site = s
                .matcher("site")
                .is_some_and(|m| m.op == "=~" && m.value == "$site");
            // The site variable lists the sites; everything else shows the selected ones.
            if labels.contains_key("site") && !by_site && q.lists_label != Some("site") {
                report
                    .problems
                    .insert(format!("{at}: {} is not filtered by site=~\"$site\"", s.metric));
            }
            if let (0, Some(listed)) = (i, q.lists_label) {
                if !labels.contains_key(listed) {
                    report
                        .problems
                        .insert(format!("{at}: {} has no label {listed:?} to list", s.metric));
                }
            }
        }
    }
    report
}

/// `/metrics` of an exporter with every collector enabled against the known data set and
/// the collectors' generated records,
/// taken once every metric the dashboards use (but `NOT_YET_EXPORTED`) is there, or after
/// a deadline with whatever is there.
fn live_output() -> Exported {
    // The known data set plus the opt-in collectors' records (drives, media, alerts, ...).
    let now = nbu_sim::now_millis();
    let mut data = nbu_sim::SimData::known(now);
    data.resources = nbu_sim::SimResources::generate(&nbu_sim::ResourceSpec::default(), now);
    let sim = site_with(data);
    let config = config_yaml("", &[site_yaml("paris", &sim, "")]) + ALL_COLLECTORS;
    let d = TestDaemon::start(&config);
    d.wait_ready();
    let queries = queries();
    // Collectors may publish after the first sweep of jobs and storage: wait for them.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = d.get("/metrics");
        assert_eq!(status, 200, "{body}");
        let exported = Exported::parse(&body);
        let done = check(&exported, &queries, NOT_YET_EXPORTED).missing.is_empty();
        if done || Instant::now() >= deadline {
            return exported;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_dashboard_expression_matches_the_live_exporter_output() {
    let exported = live_output();
    let queries = queries();
    let report = check(&exported, &queries, NOT_YET_EXPORTED);
    let mut problems: Vec<String> = report.problems.into_iter().collect();
    for (name, _) in NOT_YET_EXPORTED {
        if exported.has(name) {
            problems.push(format!(
                "{name} is exported now: remove it from NOT_YET_EXPORTED in tests/integration/dashboards.rs"
            ));
        }
        if !queries.iter().any(|q| q.expr.contains(name)) {
            problems.push(format!("{name} is in NOT_YET_EXPORTED but no dashboard uses it"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The core and self-metrics the dashboards rest on were really checked, not skipped.
    for name in [
        "nbu_up",
        "nbu_jobs_count",
        "nbu_job_duration_seconds_bucket",
        "nbu_disk_bytes",
        "nbu_exporter_collection_success",
        "nbu_exporter_config_generation",
        "nbu_exporter_nbu_requests_total",
        "process_resident_memory_bytes",
    ] {
        assert!(
            exported.series.contains_key(name),
            "{name} missing from the live output"
        );
        assert!(
            queries.iter().any(|q| q.expr.contains(name)),
            "no dashboard uses {name}"
        );
    }
}

/// The check against the golden output, and against a copy with `from` replaced by `to`:
/// the problems the copy has and the golden output has not.
fn new_problems_after(from: &str, to: &str) -> (Report, BTreeSet<String>) {
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/known_site.metrics"
    ))
    .expect("golden output");
    assert!(golden.contains(from), "the golden output has no {from:?}");
    let queries = queries();
    let before = check(&Exported::parse(&golden), &queries, NOT_YET_EXPORTED);
    let after = check(
        &Exported::parse(&golden.replace(from, to)),
        &queries,
        NOT_YET_EXPORTED,
    );
    let new = after.problems.difference(&before.problems).cloned().collect();
    (after, new)
}

#[test]
fn the_check_fails_on_a_renamed_metric() {
    let (after, new) = new_problems_after("nbu_disk_capacity_bytes", "nbu_disk_capacity_size_bytes");
    assert!(after.missing.contains("nbu_disk_capacity_bytes"), "{after:?}");
    assert!(!new.is_empty());
    for problem in &new {
        assert!(
            problem.ends_with("nbu_disk_capacity_bytes is not in the exporter's output"),
            "{problem}"
        );
    }
    // Every dashboard that shows storage capacity is named.
    for dashboard in ["nbu-overview", "nbu-storage", "nbu-sites"] {
        assert!(
            new.iter().any(|p| p.starts_with(dashboard)),
            "{dashboard}: {new:#?}"
        );
    }
}

#[test]
fn the_check_fails_on_a_renamed_label_or_a_label_value_never_seen() {
    let (_, new) = new_problems_after(r#"size=""#, r#"kind=""#);
    assert!(
        new.iter()
            .any(|p| p == r#"nbu-storage panel "Used": nbu_disk_bytes has no label "size""#),
        "{new:#?}"
    );
    let (_, new) = new_problems_after(r#"action="RESTORE""#, r#"action="RECOVER""#);
    assert_eq!(
        new.into_iter().collect::<Vec<_>>(),
        [
            r#"nbu-jobs panel "Restores": no series of nbu_status_count has action="RESTORE" (seen: {"BACKUP", "IMAGEDELETE", "RECOVER"})"#
        ]
    );
}

#[test]
fn the_check_fails_on_a_selector_not_filtered_by_site() {
    let exported = Exported::parse("nbu_up{site=\"paris\"} 1\nnbu_exporter_config_generation 3\n");
    let query = |expr: &str| Query {
        dashboard: "test",
        place: "panel".to_string(),
        expr: expr.to_string(),
        lists_label: None,
    };
    let report = check(
        &exported,
        &[
            query("max(nbu_up)"),
            query(r#"nbu_exporter_config_generation and on (instance) nbu_up{site=~"$site"}"#),
            query(r#"nbu_exporter_config_generation{site=~"$site"}"#),
        ],
        &[],
    );
    assert_eq!(
        report.problems.into_iter().collect::<Vec<_>>(),
        [
            r#"test panel: nbu_exporter_config_generation has no label "site""#,
            r#"test panel: nbu_up is not filtered by site=~"$site""#,
        ]
    );
}

#[test]
fn sample_lines_give_their_name_and_labels() {
    let (name, labels) = sample_labels(r#"m{a="x",b="q\"uote, \\ {}"} 1"#);
    assert_eq!(name, "m");
    assert_eq!(
        labels,
        [
            ("a".to_string(), "x".to_string()),
            ("b".to_string(), r#"q"uote, \ {}"#.to_string())
        ]
    );
    assert_eq!(sample_labels("m 1"), ("m".to_string(), Vec::new()));
}
