//! What every dashboard must have, checked on the generated JSON, and the drift check
//! against the committed files.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::promql::selectors;
use crate::{dashboards, for_prometheus, queries, recording_rules, render_all};

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/grafana");

fn rendered() -> Vec<Value> {
    render_all()
        .iter()
        .map(|(file, text)| serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect()
}

#[test]
fn the_committed_files_are_what_the_generator_writes() {
    let mut problems = Vec::new();
    let mut expected = BTreeSet::new();
    for (file, text) in render_all() {
        let path = format!("{COMMITTED}/{file}");
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == text => {}
            Ok(_) => problems.push(format!("{path} differs from what the generator writes")),
            Err(e) => problems.push(format!("{path}: {e}")),
        }
        expected.insert(file);
    }
    let dir = std::fs::read_dir(COMMITTED).expect("deploy/grafana exists");
    for entry in dir {
        let name = entry
            .expect("directory entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".json") && !expected.contains(&name) {
            problems.push(format!("{COMMITTED}/{name} is not generated (remove it)"));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nregenerate with `cargo run -p nbu-dashboards` and commit the result",
        problems.join("\n")
    );
}

#[test]
fn the_eight_dashboards_have_distinct_uids_and_titles() {
    let all = dashboards();
    let uids: BTreeSet<&str> = all.iter().map(|d| d.uid).collect();
    let titles: BTreeSet<&str> = all.iter().map(|d| d.title).collect();
    assert_eq!(uids.len(), 8);
    assert_eq!(titles.len(), 8);
    assert_eq!(
        uids,
        BTreeSet::from([
            "nbu-overview",
            "nbu-jobs",
            "nbu-storage",
            "nbu-tape",
            "nbu-protection",
            "nbu-clients",
            "nbu-sites",
            "nbu-exporter"
        ])
    );
}

#[test]
fn every_dashboard_has_a_datasource_and_a_multi_value_site_variable() {
    for d in rendered() {
        let uid = d["uid"].as_str().unwrap();
        assert_eq!(d["schemaVersion"], 39, "{uid}");
        let vars = d["templating"]["list"].as_array().unwrap();
        let var = |name: &str| {
            vars.iter()
                .find(|v| v["name"] == name)
                .unwrap_or_else(|| panic!("{uid} has no variable {name}"))
        };
        assert_eq!(var("datasource")["type"], "datasource", "{uid}");
        assert_eq!(var("datasource")["query"], "prometheus", "{uid}");
        let site = var("site");
        assert_eq!(site["type"], "query", "{uid}");
        assert_eq!(site["multi"], true, "{uid}");
        assert_eq!(site["includeAll"], true, "{uid}");
        assert_eq!(site["definition"], "label_values(nbu_up, site)", "{uid}");
        for v in vars.iter().filter(|v| v["type"] == "query") {
            assert_eq!(v["datasource"]["uid"], "${datasource}", "{uid} {}", v["name"]);
        }
    }
}

#[test]
fn every_panel_and_query_uses_the_datasource_variable() {
    for d in rendered() {
        let uid = d["uid"].as_str().unwrap();
        for p in d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] != "row")
        {
            assert_eq!(p["datasource"]["uid"], "${datasource}", "{uid} {}", p["title"]);
            let targets = p["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{uid} {} has no query", p["title"]);
            for t in targets {
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{uid} {}", p["title"]);
            }
        }
    }
}

#[test]
fn every_dashboard_links_to_every_other() {
    let all = rendered();
    for d in &all {
        let uid = d["uid"].as_str().unwrap();
        let links: BTreeSet<String> = d["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                assert_eq!(l["includeVars"], true, "{uid}: a link keeps the site selection");
                assert_eq!(l["keepTime"], true, "{uid}: a link keeps the time range");
                l["url"].as_str().unwrap().to_string()
            })
            .collect();
        let others: BTreeSet<String> = all
            .iter()
            .filter(|o| o["uid"] != uid)
            .map(|o| format!("/d/{}", o["uid"].as_str().unwrap()))
            .collect();
        assert_eq!(links, others, "{uid}");
    }
}

#[test]
fn panels_fit_the_grid_without_overlapping() {
    for d in rendered() {
        let uid = d["uid"].as_str().unwrap();
        let mut cells = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for p in d["panels"].as_array().unwrap() {
            assert!(ids.insert(p["id"].as_u64().unwrap()), "{uid}: duplicate panel id");
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().unwrap(),
                g["y"].as_u64().unwrap(),
                g["w"].as_u64().unwrap(),
                g["h"].as_u64().unwrap(),
            );
            assert!(x + w <= 24 && w > 0 && h > 0, "{uid} {}: {g}", p["title"]);
            for cx in x..x + w {
                for cy in y..y + h {
                    assert!(
                        cells.insert((cx, cy)),
                        "{uid} {} overlaps at {cx},{cy}",
                        p["title"]
                    );
                }
            }
        }
    }
}

#[test]
fn every_query_filters_by_the_site_variable() {
    for q in queries() {
        let selectors =
            selectors(&q.expr).unwrap_or_else(|e| panic!("{} {}: {e}: {}", q.dashboard, q.place, q.expr));
        assert!(
            !selectors.is_empty(),
            "{} {}: no selector in {}",
            q.dashboard,
            q.place,
            q.expr
        );
        if q.place == "variable site" {
            continue;
        }
        let filtered = selectors.iter().any(|s| {
            s.matcher("site")
                .is_some_and(|m| m.op == "=~" && m.value == "$site")
        });
        assert!(
            filtered,
            "{} {}: no site=~\"$site\" in {}",
            q.dashboard, q.place, q.expr
        );
    }
}

#[test]
fn every_grafana_variable_has_a_prometheus_stand_in() {
    for q in queries() {
        let text = for_prometheus(&q.expr);
        assert!(!text.contains('$'), "{} {}: {text}", q.dashboard, q.place);
    }
    assert_eq!(
        for_prometheus(r#"rate(x{site=~"$site"}[$__rate_interval]) / $__range"#),
        r#"rate(x{site=~".+"}[5m]) / 1d"#
    );
}

#[test]
fn the_recording_rules_hold_every_panel_query_once() {
    let rules = recording_rules();
    let panel_queries = queries().iter().filter(|q| q.lists_label.is_none()).count();
    assert_eq!(rules.matches("- record: dashboard:").count(), panel_queries);
    assert!(
        rules.contains(
            "- record: dashboard:nbu_overview:1\n        expr: \"sum(nbu_up{site=~\\\".+\\\"})\"\n"
        ),
        "{rules}"
    );
}
