//! `check-config --connect`: after the config checks, every site is contacted the way the
//! daemon will contact it, one check per line: TCP reachability, TLS (trusted? through
//! which CA? when does the certificate expire?), authentication, the API version, then one
//! minimal request per enabled collector part, showing whether the key has the permission.
//!
//! The parts are data ([`PARTS`]): a collector part is one row (its config key, path, the
//! API version that introduced it and the permission it needs). Sites are checked in
//! parallel, each bounded in total by its `timeout`. Nothing printed holds the API key
//! (errors come from `nbu`, which never shows it). It owns the order of the checks and
//! their text; requests are `nbu`'s. It must not know the daemon or the reload machinery.

use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::api_version::ApiVersion;
use crate::config::model::CollectorKey;
use crate::config::{Config, Scheme, SiteConfig};
use crate::nbu::leaf::presented_leaf;
use crate::nbu::x509::{utc_text, CertSummary};
use crate::nbu::{Client, ClientOptions, NbuError};
use crate::timefmt::{format_go_duration, now_millis};

/// When a part is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnabledBy {
    /// A core collector: always on.
    Always,
    /// An opt-in collector: `collectors.<key>.enabled`.
    Collector(&'static str),
}

/// One collector part and the minimal request that shows whether it can work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// The `collector` label of the part.
    pub name: &'static str,
    pub enabled_by: EnabledBy,
    pub path: &'static str,
    pub query: &'static [(&'static str, &'static str)],
    /// The first API version that has the endpoint.
    pub since: ApiVersion,
    /// What the key's role needs (the RBAC namespace, README §2.2).
    pub permission: &'static str,
}

const ONE: &[(&str, &str)] = &[("page[limit]", "1")];

const fn part(
    name: &'static str,
    enabled_by: EnabledBy,
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
    since: ApiVersion,
    permission: &'static str,
) -> Part {
    Part {
        name,
        enabled_by,
        path,
        query,
        since,
        permission,
    }
}

/// Every collector part, in the order they are checked. API versions per the collectors'
/// contract; the tape collector has five parts.
pub const PARTS: &[Part] = {
    use EnabledBy::{Always, Collector};
    const V10: ApiVersion = ApiVersion::V10_0;
    const V12: ApiVersion = ApiVersion::V12_0;
    const V13: ApiVersion = ApiVersion::V13_0;
    &[
        part("jobs", Always, "/admin/jobs", ONE, V10, "|MANAGE|JOBS| view"),
        part(
            "storage",
            Always,
            "/storage/storage-units",
            ONE,
            V10,
            "|STORAGE|STORAGE-UNITS| view",
        ),
        part(
            "alerts",
            Collector("alerts"),
            "/manage/alerts",
            ONE,
            V10,
            "view on alerts",
        ),
        part(
            "malware",
            Collector("malware"),
            "/malware/latest-scan-results",
            ONE,
            V10,
            "|MANAGE|MALWARE| view",
        ),
        part(
            "catalog",
            Collector("catalog"),
            "/catalog/images",
            ONE,
            V13,
            "|MANAGE|IMAGES| view",
        ),
        part(
            "slo",
            Collector("slo"),
            "/servicecatalog/slos",
            ONE,
            V10,
            "view on service level objectives",
        ),
        part(
            "tape_drives",
            Collector("tape"),
            "/storage/drives",
            ONE,
            V10,
            "|STORAGE|TAPE-DEVICES| view",
        ),
        part(
            "tape_media",
            Collector("tape"),
            "/storage/tape-media",
            ONE,
            V12,
            "|STORAGE|TAPE-MEDIA| view",
        ),
        part(
            "robot_hosts",
            Collector("tape"),
            "/storage/robots-device-hosts",
            &[],
            V12,
            "|STORAGE|TAPE-DEVICES| view",
        ),
        part(
            "volume_pools",
            Collector("tape"),
            "/storage/tape-volume-pools",
            ONE,
            V12,
            "|STORAGE|TAPE-MEDIA|VOLUME-POOLS| view",
        ),
        part(
            "disk_pools",
            Collector("tape"),
            "/storage/disk-pools",
            ONE,
            V10,
            "|STORAGE|DISK-POOLS| view",
        ),
        part(
            "client_backups",
            Collector("perClient"),
            "/admin/jobs",
            ONE,
            V10,
            "|MANAGE|JOBS| view",
        ),
    ]
};

/// The opt-in collectors (`collectors.<key>`, as the file names them) a config enables;
/// their [`PARTS`] rows are checked after the core ones.
pub fn enabled_collectors(config: &Config) -> Vec<&'static str> {
    CollectorKey::ALL
        .into_iter()
        .filter(|key| config.collectors.get(*key).enabled)
        .map(CollectorKey::name)
        .collect()
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Fail,
    /// Not applicable (plain HTTP, a part the API version does not have): not a failure.
    Skip,
    /// Not run because an earlier check failed.
    NotRun,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "ok",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skipped",
            Verdict::NotRun => "-",
        })
    }
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckLine {
    pub check: String,
    pub verdict: Verdict,
    pub detail: String,
}

/// Every check of one site, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteReport {
    pub site: String,
    pub lines: Vec<CheckLine>,
}

impl SiteReport {
    fn push(&mut self, check: &str, verdict: Verdict, detail: impl Into<String>) {
        self.lines.push(CheckLine {
            check: check.to_string(),
            verdict,
            detail: detail.into(),
        });
    }

    /// Whether every check passed or was skipped.
    pub fn ok(&self) -> bool {
        self.lines
            .iter()
            .all(|l| matches!(l.verdict, Verdict::Ok | Verdict::Skip))
    }

    /// The checks that failed.
    pub fn failed(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.verdict == Verdict::Fail)
            .map(|l| l.check.as_str())
            .collect()
    }

    /// The line of `check`, if present.
    pub fn line(&self, check: &str) -> Option<&CheckLine> {
        self.lines.iter().find(|l| l.check == check)
    }
}

/// The parts checked for a site whose enabled opt-in collectors are `collectors`.
pub fn enabled_parts(collectors: &[&str]) -> Vec<&'static Part> {
    PARTS
        .iter()
        .filter(|p| match p.enabled_by {
            EnabledBy::Always => true,
            EnabledBy::Collector(key) => collectors.contains(&key),
        })
        .collect()
}

/// Checks every site in parallel and prints the report; 0 when every enabled, supported
/// part works, 2 otherwise.
pub fn run(config: &Config) -> ExitCode {
    let collectors = enabled_collectors(config);
    let reports: Vec<SiteReport> = std::thread::scope(|scope| {
        let handles: Vec<_> = config
            .sites
            .iter()
            .map(|site| scope.spawn(|| check_site(site, &collectors)))
            .collect();
        handles
            .into_iter()
            .zip(&config.sites)
            .map(|(handle, site)| {
                handle.join().unwrap_or_else(|_| SiteReport {
                    site: site.name.clone(),
                    lines: vec![CheckLine {
                        check: "check".into(),
                        verdict: Verdict::Fail,
                        detail: "the check panicked".into(),
                    }],
                })
            })
            .collect()
    });
    print!("{}", render(&reports));
    if reports.iter().all(SiteReport::ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// One line per site and check, then a summary line.
pub fn render(reports: &[SiteReport]) -> String {
    let site_width = reports.iter().map(|r| r.site.len()).max().unwrap_or(0);
    let check_width = reports
        .iter()
        .flat_map(|r| r.lines.iter().map(|l| l.check.len()))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for report in reports {
        for line in &report.lines {
            out.push_str(&format!(
                "{:site_width$}  {:check_width$}  {:7}  {}\n",
                report.site,
                line.check,
                line.verdict.to_string(),
                line.detail
            ));
        }
    }
    let failing: Vec<String> = reports
        .iter()
        .filter(|r| !r.ok())
        .map(|r| format!("{}: {}", r.site, r.failed().join(", ")))
        .collect();
    if failing.is_empty() {
        out.push_str(&format!(
            "connect OK: {} site(s), every enabled part works\n",
            reports.len()
        ));
    } else {
        out.push_str(&format!(
            "connect FAILED: {} of {} site(s) failing ({})\n",
            failing.len(),
            reports.len(),
            failing.join("; ")
        ));
    }
    out
}

/// Runs the checks of one site, all within `site.timeout`.
pub fn check_site(site: &SiteConfig, collectors: &[&str]) -> SiteReport {
    let deadline = Instant::now() + site.timeout;
    let parts = enabled_parts(collectors);
    let mut report = SiteReport {
        site: site.name.clone(),
        lines: Vec::new(),
    };
    let not_run = |report: &mut SiteReport, from: &[&str], why: &str| {
        for check in from {
            report.push(check, Verdict::NotRun, format!("not checked: {why}"));
        }
        for part in &parts {
            report.push(part.name, Verdict::NotRun, format!("not checked: {why}"));
        }
    };
    let timeout_text = format_go_duration(site.timeout);

    // TCP
    let target = format!("{}:{}", site.host, site.port);
    let started = Instant::now();
    match connect(&site.host, site.port, deadline) {
        Ok(()) => report.push(
            "tcp",
            Verdict::Ok,
            format!("{target} reachable ({} ms)", started.elapsed().as_millis()),
        ),
        Err(e) => {
            report.push("tcp", Verdict::Fail, format!("{target}: {e}"));
            not_run(&mut report, &["tls", "auth", "version"], "tcp failed");
            return report;
        }
    }

    // The certificate, read without judging it; trust is judged by the first API request.
    let leaf = (site.scheme == Scheme::Https)
        .then(|| {
            presented_leaf(
                &site.host,
                site.port,
                deadline.saturating_duration_since(Instant::now()),
            )
            .ok()
        })
        .flatten()
        .and_then(|der| CertSummary::from_der(&der).ok());

    let options = ClientOptions {
        max_attempts: 1,
        ..ClientOptions::default()
    };
    let client = match Client::new(site, options, None) {
        Ok(client) => client,
        Err(e) => {
            report.push("tls", Verdict::Fail, e.to_string());
            not_run(&mut report, &["auth", "version"], "the client could not be built");
            return report;
        }
    };

    // Authentication and the version: the version probe is the first authenticated request.
    let probe = match site.api_version {
        Some(version) => client
            .check_get("/admin/jobs", ONE, version, deadline)
            .map(|()| (version, "configured")),
        None => client.detect_version(deadline).map(|v| (v, "detected")),
    };
    if let Err(NbuError::Tls {
        failure, base_url, ..
    }) = &probe
    {
        report.push(
            "tls",
            Verdict::Fail,
            format!(
                "{} (rustls: {})",
                failure.problem.advice(base_url),
                failure.detail
            ),
        );
        not_run(&mut report, &["auth", "version"], "tls failed");
        return report;
    }
    report.push_tls_line(site, leaf.as_ref());

    let version = match probe {
        Ok((version, how)) => {
            report.push("auth", Verdict::Ok, "the API key is accepted");
            report.push("version", Verdict::Ok, format!("{version} ({how})"));
            version
        }
        Err(NbuError::Auth { status: 403, .. }) => {
            report.push(
                "auth",
                Verdict::Ok,
                "the API key is accepted, but its role may not read /admin/jobs (HTTP 403)",
            );
            match site.api_version {
                Some(version) => {
                    report.push("version", Verdict::Ok, format!("{version} (configured)"));
                    version
                }
                None => {
                    report.push(
                        "version",
                        Verdict::Fail,
                        "not detected: detection reads /admin/jobs, which this key may not; give the role \
                         |MANAGE|JOBS| view or set apiVersion",
                    );
                    not_run(&mut report, &[], "no API version");
                    return report;
                }
            }
        }
        Err(NbuError::Auth { status, .. }) => {
            report.push(
                "auth",
                Verdict::Fail,
                format!(
                    "the API key is refused (HTTP {status}): it is wrong or expired, or its role lacks \
                     |MANAGE|JOBS| view; check apiKey"
                ),
            );
            not_run(&mut report, &["version"], "authentication failed");
            return report;
        }
        Err(e @ (NbuError::NotAcceptable { .. } | NbuError::NoSupportedVersion { .. })) => {
            report.push("auth", Verdict::NotRun, "not checked: no API version in common");
            let advice = if site.api_version.is_some() {
                "; remove apiVersion to detect the version"
            } else {
                ""
            };
            report.push("version", Verdict::Fail, format!("{e}{advice}"));
            not_run(&mut report, &[], "no API version");
            return report;
        }
        Err(NbuError::Deadline { .. }) => {
            report.push(
                "auth",
                Verdict::Fail,
                format!("the site's timeout ({timeout_text}) ran out"),
            );
            not_run(&mut report, &["version"], "the site's timeout ran out");
            return report;
        }
        Err(e) => {
            report.push("auth", Verdict::Fail, e.to_string());
            not_run(&mut report, &["version"], "authentication failed");
            return report;
        }
    };

    for part in parts {
        if version < part.since {
            report.push(
                part.name,
                Verdict::Skip,
                format!(
                    "API {version} has no {} (it needs {} or later)",
                    part.path, part.since
                ),
            );
            continue;
        }
        match client.check_get(part.path, part.query, version, deadline) {
            Ok(()) => report.push(part.name, Verdict::Ok, format!("GET {} answers 2xx", part.path)),
            Err(NbuError::Auth { status, .. }) => report.push(
                part.name,
                Verdict::Fail,
                format!(
                    "permission missing: HTTP {status} on GET {}; give the key's role {}",
                    part.path, part.permission
                ),
            ),
            Err(NbuError::Status { status: 404, .. }) => report.push(
                part.name,
                Verdict::Fail,
                format!(
                    "HTTP 404 on GET {}: this NetBackup release has no such endpoint{}",
                    part.path,
                    match part.enabled_by {
                        EnabledBy::Collector(key) => format!("; disable collectors.{key}"),
                        EnabledBy::Always => String::new(),
                    }
                ),
            ),
            Err(NbuError::Deadline { .. }) => report.push(
                part.name,
                Verdict::Fail,
                format!("the site's timeout ({timeout_text}) ran out"),
            ),
            Err(e) => report.push(part.name, Verdict::Fail, e.to_string()),
        }
    }
    report
}

impl SiteReport {
    /// The TLS line of a site whose handshake worked (or that has none).
    fn push_tls_line(&mut self, site: &SiteConfig, leaf: Option<&CertSummary>) {
        if site.scheme == Scheme::Http {
            self.push(
                "tls",
                Verdict::Skip,
                "plain HTTP (scheme: http): the API key crosses the network unencrypted",
            );
            return;
        }
        let trust = if site.insecure_skip_verify {
            "NOT verified (insecureSkipVerify: true: anyone on the path can read the API key; run \
             `nbu-exporter fetch-ca` and set caFile instead)"
                .to_string()
        } else if let Some(ca_file) = &site.ca_file {
            format!("trusted through caFile {}", ca_file.display())
        } else {
            "trusted through the built-in Mozilla roots".to_string()
        };
        let certificate = leaf.map_or(String::new(), |leaf| {
            let days = (leaf.not_after - now_millis().div_euclid(1000)).div_euclid(86_400);
            format!(
                "; certificate {} issued by {}, expires {} ({days} days{})",
                leaf.subject,
                leaf.issuer,
                utc_text(leaf.not_after),
                if days < 30 { ", renew it soon" } else { "" }
            )
        });
        self.push("tls", Verdict::Ok, format!("{trust}{certificate}"));
    }
}

/// A TCP connection to `host:port` opened and closed before `deadline`.
fn connect(host: &str, port: u16, deadline: Instant) -> Result<(), String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {bare}: {e}"))?;
    let mut last = "resolves to no address".to_string();
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err("the site's timeout ran out while connecting".into());
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = "connection refused".into();
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = "connection timed out".into();
            }
            Err(e) => last = format!("cannot connect: {e}"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_table() {
        let names =
            |collectors: &[&str]| -> Vec<&str> { enabled_parts(collectors).iter().map(|p| p.name).collect() };
        assert_eq!(names(&[]), ["jobs", "storage"]);
        assert_eq!(
            names(&["tape"]),
            [
                "jobs",
                "storage",
                "tape_drives",
                "tape_media",
                "robot_hosts",
                "volume_pools",
                "disk_pools"
            ]
        );
        let all = ["alerts", "malware", "catalog", "slo", "tape", "perClient"];
        assert_eq!(names(&all).len(), PARTS.len());
        // Every part name is unique and every path is absolute.
        let mut seen = std::collections::HashSet::new();
        for part in PARTS {
            assert!(seen.insert(part.name), "{}", part.name);
            assert!(part.path.starts_with('/'), "{}", part.path);
        }
        let since = |name: &str| PARTS.iter().find(|p| p.name == name).unwrap().since;
        assert_eq!(since("catalog"), ApiVersion::V13_0);
        assert_eq!(since("tape_media"), ApiVersion::V12_0);
        assert_eq!(since("tape_drives"), ApiVersion::V10_0);
    }

    #[test]
    fn the_report_has_a_line_per_check_and_a_summary() {
        let line = |check: &str, verdict| CheckLine {
            check: check.into(),
            verdict,
            detail: format!("{check} detail"),
        };
        let ok = SiteReport {
            site: "paris".into(),
            lines: vec![line("tcp", Verdict::Ok), line("tape_media", Verdict::Skip)],
        };
        let bad = SiteReport {
            site: "rome".into(),
            lines: vec![line("tcp", Verdict::Fail), line("auth", Verdict::NotRun)],
        };
        assert!(ok.ok() && !bad.ok());
        assert_eq!(
            render(&[ok.clone(), bad]),
            "paris  tcp         ok       tcp detail\n\
             paris  tape_media  skipped  tape_media detail\n\
             rome   tcp         FAIL     tcp detail\n\
             rome   auth        -        auth detail\n\
             connect FAILED: 1 of 2 site(s) failing (rome: tcp)\n"
        );
        assert!(render(&[ok]).ends_with("connect OK: 1 site(s), every enabled part works\n"));
    }
}
