//! The exporter's own metrics (`nbu_exporter_*` and `process_*`), held in a private
//! `prometheus::Registry`: build info, per-site collection results and NetBackup request
//! counts, the expiry of each primary's TLS certificate, config reload outcomes, cache
//! flushes.
//!
//! This file is the only place that knows each metric's label names and their order:
//! callers say what happened by name (`record_reload`, `nbu_request`, `collection_ran`,
//! `cache_flushed`, `set_watcher_up`) and never index a vector by position. It must not
//! know about HTTP, NetBackup requests or config files; label values arrive as plain
//! strings. `nbu_exporter_config_generation` and `nbu_exporter_config_info` are not here:
//! `render` writes them from the one generation a scrape reads.

use std::collections::HashMap;
use std::time::Duration;

use prometheus::core::{Collector, MetricVec, MetricVecBuilder};
use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

use crate::timefmt::UnixMillis;

/// The self-metric counting bcrypt verifications of basic-auth passwords.
pub const VERIFICATIONS_METRIC: &str = "nbu_exporter_http_password_verifications_total";
/// The `trigger` label values of `nbu_exporter_config_reloads_total`.
pub const RELOAD_TRIGGERS: [&str; 5] = ["startup", "signal", "watch", "poll", "http"];
/// The `result` label values of `nbu_exporter_config_reloads_total`.
pub const RELOAD_RESULTS: [&str; 4] = ["applied", "unchanged", "rejected", "failed"];
/// The `collector` label values pre-initialised by [`ExporterMetrics::init_site`].
pub const COLLECTORS: [&str; 2] = ["jobs", "storage"];
/// The `source` label values of `nbu_exporter_nbu_records_total`: job records of full
/// downloads (resyncs) and of incremental sweeps, and storage-unit records.
pub const RECORD_SOURCES: [&str; 3] = ["jobs_full", "jobs_incremental", "storage"];
/// The `kind` label values of `nbu_exporter_jobs_sweeps_total`.
pub const SWEEP_KINDS: [&str; 2] = ["full", "incremental"];
/// The `reason` label values of `nbu_exporter_cache_flushes_total`.
pub const FLUSH_REASONS: [&str; 2] = ["address_changed", "removed"];

/// Buckets of `nbu_exporter_config_reload_duration_seconds`: 0.1 ms to 10 s.
const RELOAD_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct ExporterMetrics {
    registry: Registry,
    /// `nbu_exporter_build_info{version,revision,rustc_version,target}` = 1.
    pub build_info: IntGauge,
    /// `nbu_exporter_collection_duration_seconds{site,collector}`.
    collection_duration_seconds: GaugeVec,
    /// `nbu_exporter_collection_success{site,collector}`.
    collection_success: GaugeVec,
    /// `nbu_exporter_collector_supported{site,collector}`: set through
    /// [`ExporterMetrics::set_collector_supported`].
    collector_supported: GaugeVec,
    /// `nbu_exporter_nbu_requests_total{site,endpoint,code}`.
    nbu_requests_total: IntCounterVec,
    /// `nbu_exporter_config_last_reload_successful`.
    config_last_reload_successful: IntGauge,
    /// `nbu_exporter_config_last_reload_success_timestamp_seconds`.
    config_last_reload_success_timestamp_seconds: Gauge,
    /// `nbu_exporter_config_last_reload_attempt_timestamp_seconds`.
    config_last_reload_attempt_timestamp_seconds: Gauge,
    /// `nbu_exporter_config_reloads_total{trigger,result}`.
    config_reloads_total: IntCounterVec,
    /// `nbu_exporter_config_reload_duration_seconds`.
    config_reload_duration_seconds: Histogram,
    /// `nbu_exporter_config_watcher_up`.
    config_watcher_up: IntGauge,
    /// `nbu_exporter_cache_flushes_total{site,reason}`.
    cache_flushes_total: IntCounterVec,
    /// `nbu_exporter_http_password_verifications_total`, counted by the HTTP edge's basic
    /// auth; handed out by [`ExporterMetrics::password_verifications`].
    password_verifications: IntCounter,
    /// `nbu_exporter_nbu_tls_cert_expiry_timestamp_seconds{site}`; set through
    /// [`ExporterMetrics::set_tls_cert_expiry`].
    tls_cert_expiry: GaugeVec,
    /// `nbu_exporter_nbu_records_total{site,source}`.
    nbu_records_total: IntCounterVec,
    /// `nbu_exporter_jobs_tracked{site}`.
    jobs_tracked: IntGaugeVec,
    /// `nbu_exporter_jobs_sweeps_total{site,kind}`.
    jobs_sweeps_total: IntCounterVec,
}

impl Default for ExporterMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers a metric built from a fixed definition; both steps fail only on a programming
/// error (bad name, name registered twice), which the tests catch.
fn register<C: Collector + Clone + 'static>(registry: &Registry, metric: prometheus::Result<C>) -> C {
    let metric = metric.expect("valid static metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help)
}

impl ExporterMetrics {
    pub fn new() -> ExporterMetrics {
        let r = Registry::new();
        let build_info = register(
            &r,
            IntGauge::with_opts(
                opts(
                    "nbu_exporter_build_info",
                    "The running nbu-exporter: version, git revision (unknown when built outside a checkout), compiler and target; always 1.",
                )
                .const_label("version", crate::version::VERSION)
                .const_label("revision", crate::version::REVISION)
                .const_label("rustc_version", crate::version::RUSTC_VERSION)
                .const_label("target", crate::version::TARGET),
            ),
        );
        build_info.set(1);
        let m = ExporterMetrics {
            build_info,
            collection_duration_seconds: register(
                &r,
                GaugeVec::new(
                    opts(
                        "nbu_exporter_collection_duration_seconds",
                        "Duration of the latest run of a collector for a site.",
                    ),
                    &["site", "collector"],
                ),
            ),
            collection_success: register(
                &r,
                GaugeVec::new(
                    opts(
                        "nbu_exporter_collection_success",
                        "Whether the latest run of a collector for a site succeeded (1) or not (0).",
                    ),
                    &["site", "collector"],
                ),
            ),
            collector_supported: register(
                &r,
                GaugeVec::new(
                    opts(
                        "nbu_exporter_collector_supported",
                        "Whether the site's API version has the endpoint of an enabled collector part (1) or not (0, never requested).",
                    ),
                    &["site", "collector"],
                ),
            ),
            nbu_requests_total: register(
                &r,
                IntCounterVec::new(
                    opts(
                        "nbu_exporter_nbu_requests_total",
                        "NetBackup API requests by endpoint and HTTP status code (or error kind).",
                    ),
                    &["site", "endpoint", "code"],
                ),
            ),
            config_last_reload_successful: register(
                &r,
                IntGauge::with_opts(opts(
                    "nbu_exporter_config_last_reload_successful",
                    "Whether the last configuration reload attempt succeeded (1) or not (0); unchanged counts as success.",
                )),
            ),
            config_last_reload_success_timestamp_seconds: register(
                &r,
                Gauge::with_opts(opts(
                    "nbu_exporter_config_last_reload_success_timestamp_seconds",
                    "Unix time of the last successful configuration reload.",
                )),
            ),
            config_last_reload_attempt_timestamp_seconds: register(
                &r,
                Gauge::with_opts(opts(
                    "nbu_exporter_config_last_reload_attempt_timestamp_seconds",
                    "Unix time of the last configuration reload attempt.",
                )),
            ),
            config_reloads_total: register(
                &r,
                IntCounterVec::new(
                    opts(
                        "nbu_exporter_config_reloads_total",
                        "Configuration reload attempts by trigger and result.",
                    ),
                    &["trigger", "result"],
                ),
            ),
            config_reload_duration_seconds: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "nbu_exporter_config_reload_duration_seconds",
                        "Duration of configuration reloads, from reading the file to the swap.",
                    )
                    .buckets(RELOAD_BUCKETS.to_vec()),
                ),
            ),
            config_watcher_up: register(
                &r,
                IntGauge::with_opts(opts(
                    "nbu_exporter_config_watcher_up",
                    "Whether the configuration file watcher is running (1) or reloads rely on polling (0).",
                )),
            ),
            cache_flushes_total: register(
                &r,
                IntCounterVec::new(
                    opts(
                        "nbu_exporter_cache_flushes_total",
                        "Site snapshots discarded by a reload, by reason.",
                    ),
                    &["site", "reason"],
                ),
            ),
            tls_cert_expiry: register(
                &r,
                GaugeVec::new(
                    opts(
                        "nbu_exporter_nbu_tls_cert_expiry_timestamp_seconds",
                        "notAfter (Unix time) of the TLS certificate the NetBackup primary presents, read on every sweep.",
                    ),
                    &["site"],
                ),
            ),
            nbu_records_total: register(
                &r,
                IntCounterVec::new(
                    opts(
                        "nbu_exporter_nbu_records_total",
                        "NetBackup records received, by source: job records of full downloads (jobs_full) and of incremental sweeps (jobs_incremental), storage units (storage).",
                    ),
                    &["site", "source"],
                ),
            ),
            jobs_tracked: register(
                &r,
                IntGaugeVec::new(
                    opts(
                        "nbu_exporter_jobs_tracked",
                        "Jobs kept between sweeps: ended inside the window, unfinished or queued.",
                    ),
                    &["site"],
                ),
            ),
            jobs_sweeps_total: register(
                &r,
                IntCounterVec::new(
                    opts(
                        "nbu_exporter_jobs_sweeps_total",
                        "Successful jobs sweeps by kind: full (a resync downloading every needed job) or incremental (only jobs changed since the last sweep).",
                    ),
                    &["site", "kind"],
                ),
            ),
            password_verifications: register(
                &r,
                IntCounter::with_opts(opts(
                    VERIFICATIONS_METRIC,
                    "bcrypt verifications of basic-auth passwords (each distinct credential once; then cached)",
                )),
            ),
            registry: r,
        };
        for trigger in RELOAD_TRIGGERS {
            for result in RELOAD_RESULTS {
                m.config_reloads_total.with_label_values(&[trigger, result]);
            }
        }
        #[cfg(target_os = "linux")]
        {
            let process = prometheus::process_collector::ProcessCollector::for_self();
            if let Err(e) = m.registry.register(Box::new(process)) {
                log::warn!(error:% = e; "register process metrics failed");
            }
        }
        m
    }

    /// The counter of bcrypt verifications, for the HTTP edge to count on.
    pub fn password_verifications(&self) -> IntCounter {
        self.password_verifications.clone()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// One finished config reload attempt: counts it under `{trigger, result}`, observes
    /// its duration, stamps the attempt time and, when `succeeded`, the success time.
    pub fn record_reload(
        &self,
        trigger: &str,
        result: &str,
        succeeded: bool,
        finished_at: UnixMillis,
        duration: Duration,
    ) {
        let at = finished_at as f64 / 1000.0;
        self.config_reloads_total
            .with_label_values(&[trigger, result])
            .inc();
        self.config_last_reload_attempt_timestamp_seconds.set(at);
        self.config_reload_duration_seconds
            .observe(duration.as_secs_f64());
        self.config_last_reload_successful.set(i64::from(succeeded));
        if succeeded {
            self.config_last_reload_success_timestamp_seconds.set(at);
        }
    }

    /// One request to a NetBackup `endpoint` of `site` ended with `code` (an HTTP status or
    /// an error kind).
    pub fn nbu_request(&self, site: &str, endpoint: &str, code: &str) {
        self.nbu_requests_total
            .with_label_values(&[site, endpoint, code])
            .inc();
    }

    /// The latest run of `collector` for `site` took `duration` and succeeded or not.
    pub fn collection_ran(&self, site: &str, collector: &str, duration: Duration, success: bool) {
        self.collection_duration_seconds
            .with_label_values(&[site, collector])
            .set(duration.as_secs_f64());
        self.collection_success
            .with_label_values(&[site, collector])
            .set(if success { 1.0 } else { 0.0 });
    }

    /// A reload discarded `site`'s snapshot cache, for `reason` (one of [`FLUSH_REASONS`]).
    pub fn cache_flushed(&self, site: &str, reason: &str) {
        self.cache_flushes_total.with_label_values(&[site, reason]).inc();
    }

    /// Whether the config file watcher runs (else reloads rely on the content poll).
    pub fn set_watcher_up(&self, up: bool) {
        self.config_watcher_up.set(i64::from(up));
    }

    /// Counts `records` NetBackup records of `source` (one of [`RECORD_SOURCES`]) received
    /// for `site`.
    pub fn add_nbu_records(&self, site: &str, source: &str, records: u64) {
        self.nbu_records_total
            .with_label_values(&[site, source])
            .inc_by(records);
    }

    /// Sets how many jobs `site` tracks between sweeps.
    pub fn set_jobs_tracked(&self, site: &str, jobs: usize) {
        self.jobs_tracked
            .with_label_values(&[site])
            .set(i64::try_from(jobs).unwrap_or(i64::MAX));
    }

    /// Counts one successful jobs sweep of `kind` (one of [`SWEEP_KINDS`]) for `site`.
    pub fn count_jobs_sweep(&self, site: &str, kind: &str) {
        self.jobs_sweeps_total.with_label_values(&[site, kind]).inc();
    }

    /// Removes every series of `site` from the per-site families (`collection_*`,
    /// `nbu_requests_total`), for a site removed from the config. `cache_flushes_total` keeps
    /// its series: the flush that removed the site is what it counts.
    pub fn forget_site(&self, site: &str) {
        remove_site(&self.collection_duration_seconds, site);
        remove_site(&self.collection_success, site);
        remove_site(&self.collector_supported, site);
        remove_site(&self.nbu_requests_total, site);
        remove_site(&self.nbu_records_total, site);
        remove_site(&self.jobs_tracked, site);
        remove_site(&self.jobs_sweeps_total, site);
        remove_site(&self.tls_cert_expiry, site);
    }

    /// Records the `notAfter` of the certificate `site` presents.
    pub fn set_tls_cert_expiry(&self, site: &str, not_after_unix_seconds: i64) {
        self.tls_cert_expiry
            .with_label_values(&[site])
            .set(not_after_unix_seconds as f64);
    }

    /// Drops the expiry series of `site` (it no longer uses TLS).
    pub fn clear_tls_cert_expiry(&self, site: &str) {
        remove_site(&self.tls_cert_expiry, site);
    }

    /// `nbu_exporter_collector_supported{site,collector}`.
    pub fn set_collector_supported(&self, site: &str, collector: &str, supported: bool) {
        self.collector_supported
            .with_label_values(&[site, collector])
            .set(if supported { 1.0 } else { 0.0 });
    }

    /// Removes a disabled collector part's self-metrics, so they leave with its series.
    pub fn forget_collector(&self, site: &str, collector: &str) {
        for vec in [
            &self.collection_duration_seconds,
            &self.collection_success,
            &self.collector_supported,
        ] {
            // Absent already (never ran) is fine.
            let _ = vec.remove_label_values(&[site, collector]);
        }
    }

    /// Creates a new site's series so they read 0 rather than absent before anything
    /// happens: `collection_success` for each of [`COLLECTORS`], `cache_flushes_total`
    /// for each of [`FLUSH_REASONS`], `nbu_records_total` for each of [`RECORD_SOURCES`],
    /// `jobs_sweeps_total` for each of [`SWEEP_KINDS`], and `jobs_tracked`.
    pub fn init_site(&self, site: &str) {
        for collector in COLLECTORS {
            self.collection_success
                .with_label_values(&[site, collector])
                .set(0.0);
        }
        for reason in FLUSH_REASONS {
            self.cache_flushes_total.with_label_values(&[site, reason]);
        }
        for source in RECORD_SOURCES {
            self.nbu_records_total.with_label_values(&[site, source]);
        }
        for kind in SWEEP_KINDS {
            self.jobs_sweeps_total.with_label_values(&[site, kind]);
        }
        self.jobs_tracked.with_label_values(&[site]).set(0);
    }
}

/// Removes every child of `vec` whose `site` label is `site`, whatever its other labels.
fn remove_site<B: MetricVecBuilder>(vec: &MetricVec<B>, site: &str) {
    for family in vec.collect() {
        for metric in family.get_metric() {
            let labels: HashMap<&str, &str> =
                metric.get_label().iter().map(|l| (l.name(), l.value())).collect();
            if labels.get("site") == Some(&site) {
                // Absent already (a concurrent removal) is fine.
                let _ = vec.remove(&labels);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(name, labels)` of every sample in the registry, e.g. `("x", "a=1,b=2")`.
    fn series(m: &ExporterMetrics) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for family in m.registry().gather() {
            for metric in family.get_metric() {
                let labels: Vec<String> = metric
                    .get_label()
                    .iter()
                    .map(|l| format!("{}={}", l.name(), l.value()))
                    .collect();
                out.push((family.name().to_string(), labels.join(",")));
            }
        }
        out
    }

    fn has(m: &ExporterMetrics, name: &str, labels: &str) -> bool {
        series(m).iter().any(|(n, l)| n == name && l == labels)
    }

    #[test]
    fn reloads_total_is_pre_initialised() {
        let m = ExporterMetrics::new();
        for trigger in RELOAD_TRIGGERS {
            for result in RELOAD_RESULTS {
                assert_eq!(
                    m.config_reloads_total.with_label_values(&[trigger, result]).get(),
                    0
                );
                let labels = format!("result={result},trigger={trigger}");
                assert!(has(&m, "nbu_exporter_config_reloads_total", &labels), "{labels}");
            }
        }
        let n = series(&m)
            .iter()
            .filter(|(n, _)| n == "nbu_exporter_config_reloads_total")
            .count();
        assert_eq!(n, 20);
    }

    #[test]
    fn build_info_and_process_metrics() {
        let m = ExporterMetrics::new();
        let labels = format!(
            "revision={},rustc_version={},target={},version={}",
            crate::version::REVISION,
            crate::version::RUSTC_VERSION,
            crate::version::TARGET,
            env!("CARGO_PKG_VERSION")
        );
        assert!(has(&m, "nbu_exporter_build_info", &labels), "{:?}", series(&m));
        assert_eq!(m.build_info.get(), 1);
        #[cfg(target_os = "linux")]
        assert!(series(&m).iter().any(|(n, _)| n.starts_with("process_")));
    }

    #[test]
    fn init_site_then_forget_site() {
        let m = ExporterMetrics::new();
        m.init_site("paris");
        m.init_site("rome");
        for c in COLLECTORS {
            assert!(has(
                &m,
                "nbu_exporter_collection_success",
                &format!("collector={c},site=paris")
            ));
        }
        for r in FLUSH_REASONS {
            assert!(has(
                &m,
                "nbu_exporter_cache_flushes_total",
                &format!("reason={r},site=paris")
            ));
        }
        m.collection_duration_seconds
            .with_label_values(&["paris", "jobs"])
            .set(1.5);
        m.nbu_requests_total
            .with_label_values(&["paris", "/admin/jobs", "200"])
            .inc();
        m.nbu_requests_total
            .with_label_values(&["paris", "/admin/jobs", "401"])
            .inc();
        m.nbu_requests_total
            .with_label_values(&["rome", "/admin/jobs", "200"])
            .inc();
        m.set_tls_cert_expiry("paris", 1_900_000_000);
        m.set_tls_cert_expiry("rome", 1_900_000_000);
        assert!(has(
            &m,
            "nbu_exporter_nbu_tls_cert_expiry_timestamp_seconds",
            "site=paris"
        ));
        m.add_nbu_records("paris", "jobs_incremental", 12);
        m.set_jobs_tracked("paris", 7);
        m.count_jobs_sweep("paris", "incremental");
        assert_eq!(
            m.nbu_records_total
                .with_label_values(&["paris", "jobs_incremental"])
                .get(),
            12
        );
        assert_eq!(m.jobs_tracked.with_label_values(&["paris"]).get(), 7);

        m.forget_site("paris");
        let left = series(&m);
        let paris: Vec<_> = left.iter().filter(|(_, l)| l.contains("site=paris")).collect();
        assert!(
            paris.iter().all(|(n, _)| n == "nbu_exporter_cache_flushes_total"),
            "{paris:?}"
        );
        assert_eq!(paris.len(), FLUSH_REASONS.len());
        for (source, kind) in [("jobs_full", "full"), ("storage", "incremental")] {
            assert!(has(
                &m,
                "nbu_exporter_nbu_records_total",
                &format!("site=rome,source={source}")
            ));
            assert!(has(
                &m,
                "nbu_exporter_jobs_sweeps_total",
                &format!("kind={kind},site=rome")
            ));
        }
        assert!(has(&m, "nbu_exporter_jobs_tracked", "site=rome"));
        assert!(has(
            &m,
            "nbu_exporter_nbu_requests_total",
            "code=200,endpoint=/admin/jobs,site=rome"
        ));
        assert!(has(
            &m,
            "nbu_exporter_collection_success",
            "collector=jobs,site=rome"
        ));
        assert!(has(
            &m,
            "nbu_exporter_nbu_tls_cert_expiry_timestamp_seconds",
            "site=rome"
        ));
        m.clear_tls_cert_expiry("rome");
        assert!(!has(
            &m,
            "nbu_exporter_nbu_tls_cert_expiry_timestamp_seconds",
            "site=rome"
        ));
        // Forgetting twice, or an unknown site, is harmless.
        m.forget_site("paris");
        m.forget_site("nowhere");
    }

    /// Each by-name method lands its values under the right label names.
    #[test]
    fn events_are_recorded_under_their_label_names() {
        let m = ExporterMetrics::new();
        m.nbu_request("paris", "/admin/jobs", "503");
        assert!(has(
            &m,
            "nbu_exporter_nbu_requests_total",
            "code=503,endpoint=/admin/jobs,site=paris"
        ));
        m.collection_ran("paris", "storage", Duration::from_millis(1500), true);
        assert_eq!(
            m.collection_duration_seconds
                .with_label_values(&["paris", "storage"])
                .get(),
            1.5
        );
        assert_eq!(
            m.collection_success
                .with_label_values(&["paris", "storage"])
                .get(),
            1.0
        );
        m.cache_flushed("paris", "removed");
        assert_eq!(
            m.cache_flushes_total
                .with_label_values(&["paris", "removed"])
                .get(),
            1
        );

        m.record_reload("signal", "rejected", false, 2_000, Duration::from_millis(3));
        assert_eq!(
            m.config_reloads_total
                .with_label_values(&["signal", "rejected"])
                .get(),
            1
        );
        assert_eq!(m.config_last_reload_successful.get(), 0);
        assert_eq!(m.config_last_reload_attempt_timestamp_seconds.get(), 2.0);
        assert_eq!(m.config_last_reload_success_timestamp_seconds.get(), 0.0);
        m.record_reload("http", "unchanged", true, 5_000, Duration::from_millis(3));
        assert_eq!(m.config_last_reload_successful.get(), 1);
        assert_eq!(m.config_last_reload_success_timestamp_seconds.get(), 5.0);
        assert_eq!(m.config_reload_duration_seconds.get_sample_count(), 2);

        m.set_watcher_up(true);
        assert_eq!(m.config_watcher_up.get(), 1);
        m.set_watcher_up(false);
        assert_eq!(m.config_watcher_up.get(), 0);
    }
}
