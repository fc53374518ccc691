//! First contact over TLS, against simulated primaries serving HTTPS with certificates made
//! at test time: `fetch-ca` shows the fingerprint `openssl` computes and its file works as
//! `caFile`; each certificate failure gives its own advice, one request per sweep.

use std::path::Path;
use std::process::Command;

use nbu_exporter::nbu::x509::utc_text;
use nbu_exporter::timefmt::now_millis;
use nbu_sim::{SimData, SimOptions, SimServer, SimTls};

use crate::support::{config_yaml, TestDaemon, KEY};

const DAY: i64 = 86_400;

pub fn https_site(tls: &SimTls) -> SimServer {
    SimServer::start_https(SimOptions::new(KEY, SimData::known(now_millis())), tls).expect("start simulator")
}

/// One `nbuservers` entry for an HTTPS simulator, with `caFile` when given.
pub fn https_site_yaml(name: &str, sim: &SimServer, ca_file: Option<&Path>, extra: &str) -> String {
    let ca = ca_file.map_or(String::new(), |p| format!("    caFile: {}\n", p.display()));
    format!(
        "  - site: {name}\n    scheme: https\n    host: 127.0.0.1\n    port: {}\n    apiKey: {KEY}\n{ca}{extra}",
        sim.port()
    )
}

/// `openssl x509 -noout -fingerprint -sha256` of a PEM file: `AB:CD:…`. openssl is part of
/// the test environment (`.ci/run` installs it), so its absence fails loudly.
pub fn openssl_sha256(pem_file: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pem_file)
        .output()
        .expect("openssl is needed by this test: install it (Debian: apt-get install openssl)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // `sha256 Fingerprint=AB:CD:…` (openssl 3) or `SHA256 Fingerprint=…` (1.1)
    text.split_once('=')
        .map(|(_, hex)| hex.trim().to_ascii_uppercase())
        .unwrap_or_else(|| panic!("unexpected openssl output {text:?}"))
}

fn exporter(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nbu-exporter"))
        .args(args)
        .output()
        .expect("run nbu-exporter");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fetch_ca_shows_the_openssl_fingerprint_and_its_file_makes_the_site_up() {
    let sim = https_site(&SimTls::ca_signed());
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.pem");
    std::fs::write(&reference, sim.ca_pem().unwrap()).unwrap();
    let want = openssl_sha256(&reference);

    // Without --out nothing is written, and the screen says the request was not verified.
    let (code, stdout, stderr) = exporter(&["fetch-ca", &sim.base_url()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("WITHOUT verifying the server's certificate"),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!("  SHA-256:  {want}\n")),
        "{want}\n{stdout}"
    );
    assert!(
        stdout.contains("subject:  O=nbu-sim, CN=nbu-sim NetBackup CA"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not written: run again with --out FILE"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let ca_file = dir.path().join("ca.pem");
    let (code, stdout, stderr) = exporter(&["fetch-ca", &sim.base_url(), "--out", ca_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("wrote 1 certificate(s) to {}", ca_file.display())),
        "{stdout}"
    );
    assert_eq!(openssl_sha256(&ca_file), want);

    let d = TestDaemon::start(&config_yaml(
        "",
        &[https_site_yaml("paris", &sim, Some(&ca_file), "")],
    ));
    d.wait_ready();
    let m = d.metrics();
    assert_eq!(m.value("nbu_up", &[("site", "paris")]), 1.0);
}

#[test]
fn fetch_ca_failures_exit_1_with_the_reason() {
    // A plain HTTP server answers the ClientHello with a 400, as web servers do.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let _ = conn.read(&mut [0u8; 1024]);
        let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let (code, _, stderr) = exporter(&["fetch-ca", &format!("127.0.0.1:{port}"), "--timeout", "5s"]);
    server.join().unwrap();
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "error: cacert: TLS handshake with https://127.0.0.1:{port}/netbackup/security/cacert failed: \
             the server did not answer in TLS"
        )),
        "{stderr}"
    );
    let (code, _, stderr) = exporter(&["fetch-ca", "http://127.0.0.1:1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("fetch-ca needs an https URL"), "{stderr}");
}

/// The advice a site's sweep error must hold for each certificate problem, and the code
/// its one request is counted under.
struct Case {
    tls: SimTls,
    /// Trust the simulator's CA through caFile.
    with_ca_file: bool,
    code: &'static str,
    advice: String,
}

#[test]
fn each_certificate_failure_has_its_own_advice_and_one_request_per_sweep() {
    let now = now_millis() / 1000;
    let expired_at = now - 2 * DAY;
    let valid_from = now + 2 * DAY;
    let cases = vec![
        Case {
            tls: SimTls::ca_signed(),
            with_ca_file: false,
            code: "tls_certificate",
            advice:
                "the server's certificate is not signed by a CA you trust: run `nbu-exporter fetch-ca \
                     {base}`, compare the fingerprint with `nbcertcmd -listCACertDetails` on the primary, \
                     then save it with --out and set caFile (rustls: invalid peer certificate: UnknownIssuer)"
                    .into(),
        },
        Case {
            tls: SimTls::ca_as_leaf(),
            with_ca_file: true,
            code: "tls_certificate",
            advice:
                "the server presents a CA certificate (basicConstraints CA:TRUE) as its own, as `openssl \
                     req -x509` makes by default; no caFile can make that acceptable"
                    .into(),
        },
        Case {
            tls: SimTls::ca_signed().with_names(&["nbu-elsewhere.example", "10.1.2.3"]),
            with_ca_file: true,
            code: "tls_certificate",
            advice:
                "the server's certificate is not valid for 127.0.0.1: it is valid for nbu-elsewhere.example, \
                     10.1.2.3; set host to one of those names"
                    .into(),
        },
        Case {
            tls: SimTls::ca_signed().with_validity(now - 30 * DAY, expired_at),
            with_ca_file: true,
            code: "tls_certificate",
            advice: format!(
                "the server's certificate expired on {} (now ",
                utc_text(expired_at)
            ),
        },
        Case {
            tls: SimTls::ca_signed().with_validity(valid_from, now + 30 * DAY),
            with_ca_file: true,
            code: "tls_certificate",
            advice: format!(
                "the server's certificate is not valid before {} (now ",
                utc_text(valid_from)
            ),
        },
        Case {
            tls: SimTls::refusing_every_version(),
            with_ca_file: true,
            code: "tls",
            advice: "the server and the exporter have no TLS version in common: the exporter speaks TLS 1.2 \
                     and 1.3 only; enable TLS 1.2 or later on the primary (rustls: received fatal alert: \
                     ProtocolVersion)"
                .into(),
        },
    ];
    for case in cases {
        let sim = https_site(&case.tls);
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, sim.ca_pem().unwrap()).unwrap();
        let site = https_site_yaml("paris", &sim, case.with_ca_file.then_some(ca_file.as_path()), "");
        let d = TestDaemon::start(&config_yaml("", &[site]));
        d.wait_ready();
        let base = sim.base_url();
        let advice = case.advice.replace("{base}", &base);

        let generation = d.daemon().shared().current();
        let error = generation.sites[0]
            .snapshot()
            .last_error
            .clone()
            .unwrap_or_default();
        let lead = format!("version detection: version-probe: TLS handshake with {base}/admin/jobs failed: ");
        assert!(error.starts_with(&lead), "{error}");
        assert!(
            error[lead.len()..].starts_with(&advice),
            "want {advice}\ngot  {error}"
        );
        assert!(error.ends_with(')') && error.contains(" (rustls: "), "{error}");

        // The first sweep is over and made exactly one attempt: no retry of a certificate.
        let m = d.metrics();
        let labels = [
            ("site", "paris"),
            ("endpoint", "version-probe"),
            ("code", case.code),
        ];
        assert_eq!(
            m.value("nbu_exporter_nbu_requests_total", &labels),
            1.0,
            "{advice}"
        );
        assert_eq!(
            m.sum("nbu_exporter_nbu_requests_total", &[("site", "paris")]),
            1.0
        );
        assert_eq!(m.value("nbu_up", &[("site", "paris")]), 0.0);
        assert_eq!(
            sim.handle().request_count(),
            0,
            "no request got through a failed handshake"
        );
    }
}

/// The expiry metric is the presented leaf's `notAfter`, for a trusted certificate and for
/// an expired one alike (that one is what the alert is for).
#[test]
fn the_expiry_metric_is_the_leaf_not_after() {
    let now = now_millis() / 1000;
    for tls in [
        SimTls::ca_signed().with_validity(now - DAY, now + 29 * DAY),
        SimTls::ca_signed().with_validity(now - 30 * DAY, now - DAY),
    ] {
        let sim = https_site(&tls);
        let (_, not_after) = sim.leaf().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, sim.ca_pem().unwrap()).unwrap();
        let d = TestDaemon::start(&config_yaml(
            "",
            &[https_site_yaml("paris", &sim, Some(&ca_file), "")],
        ));
        let value = crate::support::wait_for(std::time::Duration::from_secs(20), "the expiry metric", || {
            d.metrics().get(
                "nbu_exporter_nbu_tls_cert_expiry_timestamp_seconds",
                &[("site", "paris")],
            )
        });
        assert_eq!(value, not_after as f64);
    }
    // A plain HTTP site has no such series.
    let sim = crate::support::known_site();
    let d = TestDaemon::start(&config_yaml("", &[crate::support::site_yaml("paris", &sim, "")]));
    d.wait_ready();
    assert!(d
        .metrics()
        .get(
            "nbu_exporter_nbu_tls_cert_expiry_timestamp_seconds",
            &[("site", "paris")]
        )
        .is_none());
}
