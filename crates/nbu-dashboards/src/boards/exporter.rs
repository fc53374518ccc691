//! The exporter itself: build, configuration reloads and generation, the file watcher,
//! cache flushes, collection success and duration per collector, NetBackup request rates
//! and the process.

use super::{sel, serving};
use crate::model::{Dashboard, Item, Panel};

pub fn dashboard() -> Dashboard {
    let requests = |by: &str, more: &str| {
        format!(
            "sum by ({by}) (rate({}[$__rate_interval]))",
            sel("nbu_exporter_nbu_requests_total", more)
        )
    };
    Dashboard {
        uid: "nbu-exporter",
        title: "NetBackup / Exporter",
        description: "Reloads, generation, watcher, collections and NetBackup requests of nbu-exporter",
        variables: Vec::new(),
        items: vec![
            Item::Row("Configuration"),
            Item::Panel(
                Panel::stat("Version", "")
                    .query(
                        format!("count by (version) ({})", serving("nbu_exporter_build_info")),
                        "{{version}}",
                    )
                    .size(4, 4),
            ),
            Item::Panel(
                Panel::stat(
                    "Generation",
                    "Generation of the running configuration; rises on every applied reload.",
                )
                .query(format!("max({})", serving("nbu_exporter_config_generation")), "")
                .size(4, 4),
            ),
            Item::Panel(
                Panel::stat(
                    "Last reload",
                    "Whether the last reload attempt succeeded (unchanged counts as success).",
                )
                .query(
                    format!("min({})", serving("nbu_exporter_config_last_reload_successful")),
                    "",
                )
                .boolean("failed", "ok")
                .size(4, 4),
            ),
            Item::Panel(
                Panel::stat("Since last successful reload", "")
                    .query(
                        format!(
                            "time() - max({})",
                            serving("nbu_exporter_config_last_reload_success_timestamp_seconds")
                        ),
                        "",
                    )
                    .unit("s")
                    .size(4, 4),
            ),
            Item::Panel(
                Panel::stat(
                    "Config watcher",
                    "File watcher running, else reloads rely on the content poll.",
                )
                .query(format!("min({})", serving("nbu_exporter_config_watcher_up")), "")
                .boolean("polling", "watching")
                .size(4, 4),
            ),
            Item::Panel(
                Panel::table(
                    "Configuration in use",
                    "First 12 hex characters of the running config's SHA-256.",
                )
                .query(serving("nbu_exporter_config_info"), "")
                .size(4, 4),
            ),
            Item::Panel(
                Panel::timeseries("Reloads by trigger and result", "Reload attempts per interval.")
                    .query(
                        format!(
                            "sum by (trigger, result) ({})",
                            serving("increase(nbu_exporter_config_reloads_total[$__rate_interval])")
                        ),
                        "{{trigger}} {{result}}",
                    )
                    .stacked()
                    .size(8, 8),
            ),
            Item::Panel(
                Panel::timeseries("Reload duration", "From reading the file to the swap.")
                    .query(
                        format!(
                            "histogram_quantile(0.99, sum by (le) ({}))",
                            serving(
                                "rate(nbu_exporter_config_reload_duration_seconds_bucket[$__rate_interval])"
                            )
                        ),
                        "p99",
                    )
                    .query(
                        format!(
                            "sum({}) / sum({})",
                            serving(
                                "rate(nbu_exporter_config_reload_duration_seconds_sum[$__rate_interval])"
                            ),
                            serving(
                                "rate(nbu_exporter_config_reload_duration_seconds_count[$__rate_interval])"
                            )
                        ),
                        "mean",
                    )
                    .unit("s")
                    .size(8, 8),
            ),
            Item::Panel(
                Panel::timeseries(
                    "Generation and cache flushes",
                    "A flush discards a site's cache (address changed or site removed).",
                )
                .query(
                    format!("max({})", serving("nbu_exporter_config_generation")),
                    "generation",
                )
                .query(
                    format!(
                        "sum by (site, reason) (increase({}[$__rate_interval]))",
                        sel("nbu_exporter_cache_flushes_total", "")
                    ),
                    "{{site}} flush {{reason}}",
                )
                .size(8, 8),
            ),
            Item::Row("Collections"),
            Item::Panel(
                Panel::timeseries(
                    "Collection success",
                    "Latest run of each collector: 1 succeeded, 0 failed.",
                )
                .query(
                    sel("nbu_exporter_collection_success", ""),
                    "{{site}} {{collector}}",
                )
                .range(0.0, 1.0),
            ),
            Item::Panel(
                Panel::timeseries(
                    "Collection duration",
                    "Duration of the latest run of each collector.",
                )
                .query(
                    sel("nbu_exporter_collection_duration_seconds", ""),
                    "{{site}} {{collector}}",
                )
                .unit("s"),
            ),
            Item::Panel(
                Panel::bargauge(
                    "Data age",
                    "Seconds since the last successful collection of each source.",
                )
                .query(
                    format!("time() - {}", sel("nbu_last_scrape_timestamp_seconds", "")),
                    "{{site}} {{source}}",
                )
                .unit("s")
                .thresholds("green", &[("orange", 900.0), ("red", 1800.0)]),
            ),
            Item::Panel(
                Panel::table(
                    "Collectors",
                    "Which collector parts each site's API version supports, and their latest run.",
                )
                .query(
                    format!(
                        "max by (site, collector) ({})",
                        sel("nbu_exporter_collector_supported", "")
                    ),
                    "Supported",
                )
                .query(
                    format!(
                        "max by (site, collector) ({})",
                        sel("nbu_exporter_collection_success", "")
                    ),
                    "Last run succeeded",
                )
                .query(
                    format!(
                        "max by (site, collector) ({})",
                        sel("nbu_exporter_collection_duration_seconds", "")
                    ),
                    "Duration",
                )
                .field_unit("Duration", "s"),
            ),
            Item::Row("NetBackup requests"),
            Item::Panel(
                Panel::timeseries("Requests by endpoint", "")
                    .query(requests("site, endpoint", ""), "{{site}} {{endpoint}}")
                    .unit("reqps")
                    .stacked()
                    .size(8, 8),
            ),
            Item::Panel(
                Panel::timeseries("Requests by status code", "HTTP status or error kind.")
                    .query(requests("site, code", ""), "{{site}} {{code}}")
                    .unit("reqps")
                    .stacked()
                    .size(8, 8),
            ),
            Item::Panel(
                Panel::timeseries(
                    "Unsuccessful requests",
                    "Share of requests not answered with a 2xx status.",
                )
                .query(
                    format!(
                        "{} / {}",
                        requests("site", r#"code!~"2..""#),
                        requests("site", "")
                    ),
                    "{{site}}",
                )
                .unit("percentunit")
                .size(8, 8),
            ),
            Item::Row("Process"),
            Item::Panel(
                Panel::stat(
                    "Duplicate series dropped",
                    "Storage units left out because another unit of the site has the same name and type.",
                )
                .query(
                    format!("sum({})", sel("nbu_exporter_duplicate_series_dropped", "")),
                    "",
                )
                .thresholds("green", &[("orange", 1.0)])
                .size(4, 8),
            ),
            Item::Panel(
                Panel::timeseries("CPU", "")
                    .query(
                        serving("rate(process_cpu_seconds_total[$__rate_interval])"),
                        "{{instance}}",
                    )
                    .unit("percentunit")
                    .size(5, 8),
            ),
            Item::Panel(
                Panel::timeseries("Resident memory", "")
                    .query(serving("process_resident_memory_bytes"), "{{instance}}")
                    .unit("bytes")
                    .size(5, 8),
            ),
            Item::Panel(
                Panel::timeseries("Open files", "")
                    .query(serving("process_open_fds"), "{{instance}} open")
                    .query(serving("process_max_fds"), "{{instance}} limit")
                    .size(5, 8),
            ),
            Item::Panel(
                Panel::timeseries("Threads", "")
                    .query(serving("process_threads"), "{{instance}}")
                    .size(5, 8),
            ),
        ],
    }
}
