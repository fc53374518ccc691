//! The golden `/metrics` file: the NetBackup families rendered for the simulator's known
//! data set, compared byte for byte. Time-dependent lines (scrape timestamps, exporter
//! self-metrics) are left out. `UPDATE_GOLDEN=1 cargo test golden` rewrites the file after
//! an intended change; review the diff before committing it.

use crate::support::*;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/known_site.metrics");

/// Keeps the NetBackup families whose values depend only on the data set.
fn stable_part(text: &str) -> String {
    let keep = |name: &str| {
        name.starts_with("nbu_")
            && !name.starts_with("nbu_exporter_")
            && name != "nbu_last_scrape_timestamp_seconds"
    };
    let mut out = String::new();
    for line in text.lines() {
        let name = match line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
        {
            Some(rest) => rest.split_whitespace().next().unwrap_or(""),
            None => line.split(['{', ' ']).next().unwrap_or(""),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| *base == "nbu_job_duration_seconds")
            })
            .unwrap_or(name);
        if keep(family) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn golden_metrics_for_the_known_data_set() {
    let sim = known_site();
    let d = TestDaemon::start(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    d.wait_ready();
    let got = stable_part(&d.get("/metrics").1);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(GOLDEN).expect("golden file present (UPDATE_GOLDEN=1 creates it)");
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .filter(|(_, (w, g))| w != g)
            .take(10)
            .map(|(i, (w, g))| format!("line {}:\n  want {w}\n  got  {g}", i + 1))
            .collect();
        panic!(
            "/metrics differs from {GOLDEN} ({} vs {} lines):\n{}",
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}
