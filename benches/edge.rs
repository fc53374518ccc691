//! The exporter's own port with a web config (issue 11), measured on the real binary:
//!
//! - `/metrics` p50 / p99 over TLS against plain HTTP, a new connection per scrape
//!   (keep-alive off: the front closes after every answer anyway), for a small body (1
//!   site) and the 50-site body of `reload_latency`;
//! - the same with basic auth on (the bcrypt verdict cached after the first scrape);
//! - the front's own cost: the same scrapes straight to tiny_http's Unix socket (found in
//!   `/proc`, as `nbu-exporter reload --pid` finds it) against through the front;
//! - TLS handshakes per second: sequential full handshakes from one client (no session
//!   resumption, as Prometheus' Go client by default), and the exporter's CPU time per
//!   handshake from `/proc`, which gives handshakes per second per core.
//!
//! Run: `cargo bench --bench edge` (about a minute; `NBU_BENCH_SCRAPES`, default 1000,
//! and `NBU_BENCH_HANDSHAKES`, default 2000, set the counts). It prints and judges
//! nothing; figures go to docs/performance.md by hand.

mod support;

use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use nbu_exporter::timefmt::now_millis;
use nbu_sim::SimData;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use support::*;

struct Tls {
    ca_pem: String,
}

/// A CA and a server certificate for 127.0.0.1 (ECDSA P-256, rcgen's default), written
/// with a web config into `dir`; returns the CA to trust.
fn write_web_config(dir: &Path, users: &str) -> Tls {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("sign");
    std::fs::write(dir.join("server.crt"), cert.pem()).expect("write");
    std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("write");
    std::fs::write(
        dir.join("web.yml"),
        format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{users}"),
    )
    .expect("write");
    Tls { ca_pem: ca.pem() }
}

fn tls_agent(ca_pem: &str) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let root = Certificate::from_pem(ca_pem.as_bytes()).expect("CA");
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&[root]))
                .build(),
        )
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// `n` scrapes of `url`, one after another, each on a new connection.
fn scrapes(agent: &ureq::Agent, url: &str, authorization: Option<&str>, n: usize) -> (Stats, usize, u64) {
    let mut latencies = Vec::with_capacity(n);
    let mut errors = 0;
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let mut request = agent.get(url);
        if let Some(a) = authorization {
            request = request.header("Authorization", a);
        }
        let ok = match request.call() {
            Ok(mut r) if r.status() == 200 => {
                let body = r
                    .body_mut()
                    .with_config()
                    .limit(256 << 20)
                    .read_to_vec()
                    .unwrap_or_default();
                bytes = body.len();
                !body.is_empty()
            }
            _ => false,
        };
        if ok {
            latencies.push(t.elapsed());
        } else {
            errors += 1;
        }
    }
    (Stats::of(&latencies), bytes, errors)
}

/// `n` scrapes straight to tiny_http over its Unix socket (no front).
fn scrapes_unix(socket: &Path, n: usize) -> (Stats, u64) {
    use std::io::{Read, Write};
    let mut latencies = Vec::with_capacity(n);
    let mut errors = 0;
    for _ in 0..n {
        let t = Instant::now();
        let ok = std::os::unix::net::UnixStream::connect(socket)
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(30)))?;
                s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
                let mut answer = Vec::new();
                s.read_to_end(&mut answer)?;
                Ok(answer.starts_with(b"HTTP/1.1 200"))
            })
            .unwrap_or(false);
        if ok {
            latencies.push(t.elapsed());
        } else {
            errors += 1;
        }
    }
    (Stats::of(&latencies), errors)
}

/// The workers' Unix socket of process `pid`, from /proc.
fn worker_socket(pid: u32) -> Option<std::path::PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/unix")).ok()?;
    let suffix = format!("/{}", nbu_exporter::http_server::SOCKET_NAME);
    let own = format!("nbu-exporter-{pid}-");
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(7))
        .find(|p| p.ends_with(&suffix) && p.contains(&own))
        .map(std::path::PathBuf::from)
}

fn main() {
    check_binary();
    println!("{}", machine_info());
    let n: usize = env_or("NBU_BENCH_SCRAPES", 1000);
    let mut rows: Vec<(String, String)> = Vec::new();

    for sites in [1usize, 50] {
        let sims = start_sims(sites, &SimData::known(now_millis()));
        let ports: Vec<u16> = sims.iter().map(|s| s.port()).collect();
        let plain = Exporter::start(&BenchConfig::new(&ports).yaml());
        plain.wait_ready(Duration::from_secs(120));
        let (p, bytes, p_err) = scrapes(
            &agent(Duration::from_secs(30)),
            &format!("{}/metrics", plain.base),
            None,
            n,
        );
        let socket = worker_socket(plain.pid()).expect("the workers' socket in /proc");
        let (direct, d_err) = scrapes_unix(&socket, n);
        drop(plain);

        let web_dir = tempfile::tempdir().expect("temp dir");
        let hash = bcrypt::hash("bench", 10).expect("bcrypt");
        let tls = write_web_config(web_dir.path(), &format!("basic_auth_users:\n  bench: {hash}\n"));
        let mut cfg = BenchConfig::new(&ports);
        cfg.server_extra = format!("  webConfigFile: {}\n", web_dir.path().join("web.yml").display());
        let secured = Exporter::start(&cfg.yaml());
        let base = secured.base.replacen("http://", "https://", 1);
        let agent = tls_agent(&tls.ca_pem);
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("bench:bench")
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        while agent
            .get(&format!("{base}/-/ready"))
            .call()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
            != 200
        {
            assert!(Instant::now() < deadline, "not ready over TLS");
            std::thread::sleep(Duration::from_millis(50));
        }
        let (t, _, t_err) = scrapes(&agent, &format!("{base}/metrics"), Some(&auth), n);
        drop(secured);
        println!("\n-- /metrics, {sites} site(s), {bytes} bytes, new connection per scrape");
        println!("plain HTTP:            {} errors={p_err}", p.line());
        println!("tiny_http directly:    {} errors={d_err}", direct.line());
        println!("TLS 1.3 + basic auth:  {} errors={t_err}", t.line());
        rows.push((
            format!(
                "`/metrics`, {sites} site(s) ({} KB), plain HTTP, p50 / p99",
                bytes / 1000
            ),
            format!("{:.2} / {:.2} ms (n={}, {p_err} errors)", p.p50, p.p99, p.n),
        ));
        rows.push((
            "same straight to tiny_http's Unix socket (no front), p50 / p99".to_string(),
            format!(
                "{:.2} / {:.2} ms (n={}, {d_err} errors; the front adds {:.2} ms at p50)",
                direct.p50,
                direct.p99,
                direct.n,
                p.p50 - direct.p50
            ),
        ));
        rows.push((
            "same over TLS 1.3 with basic auth, p50 / p99".to_string(),
            format!(
                "{:.2} / {:.2} ms (n={}, {t_err} errors; +{:.2} ms at p50)",
                t.p50,
                t.p99,
                t.n,
                t.p50 - p.p50
            ),
        ));
    }

    // Handshakes: one client, sequential; the exporter's CPU time per handshake.
    let handshakes: usize = env_or("NBU_BENCH_HANDSHAKES", 2000);
    let sims = start_sims(1, &SimData::known(now_millis()));
    let web_dir = tempfile::tempdir().expect("temp dir");
    let tls = write_web_config(web_dir.path(), "");
    let mut cfg = BenchConfig::new(&[sims[0].port()]);
    cfg.server_extra = format!("  webConfigFile: {}\n", web_dir.path().join("web.yml").display());
    let exporter = Exporter::start(&cfg.yaml());
    let addr: std::net::SocketAddr = exporter
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(tls.ca_pem.as_bytes()) {
        roots.add(der.expect("CA")).expect("CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut results = Vec::new();
    for (label, versions) in [
        ("TLS 1.3 full", &[&rustls::version::TLS13][..]),
        ("TLS 1.2 full", &[&rustls::version::TLS12][..]),
    ] {
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        let config = Arc::new(config);
        let hz = clock_ticks_per_second();
        let before = cpu_ticks(exporter.pid());
        let t = Instant::now();
        let mut failed = 0;
        for _ in 0..handshakes {
            let name = ServerName::try_from("127.0.0.1").expect("name");
            let mut conn = rustls::ClientConnection::new(Arc::clone(&config), name).expect("client");
            let Ok(mut socket) = TcpStream::connect(addr) else {
                failed += 1;
                continue;
            };
            let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
            let mut done = false;
            for _ in 0..20 {
                if !conn.is_handshaking() {
                    done = true;
                    break;
                }
                if conn.complete_io(&mut socket).is_err() {
                    break;
                }
            }
            if !done {
                failed += 1;
            }
        }
        let wall = t.elapsed().as_secs_f64();
        // Let the connection threads see the closes before reading the CPU time.
        std::thread::sleep(Duration::from_millis(500));
        let cpu = (cpu_ticks(exporter.pid()) - before) as f64 / hz as f64;
        let per = cpu / handshakes as f64 * 1000.0;
        println!(
            "\n-- {label} handshakes: {handshakes} sequential from one client in {wall:.2}s = {:.0}/s; exporter CPU {cpu:.2}s = {per:.3} ms each = {:.0} per core-second; {failed} failed",
            handshakes as f64 / wall,
            1000.0 / per
        );
        results.push((
            format!("{label} handshakes (ECDSA P-256 certificate), one client"),
            format!(
                "{:.0}/s wall; exporter CPU {per:.2} ms each = {:.0}/s per core; {failed} failed",
                handshakes as f64 / wall,
                1000.0 / per
            ),
        ));
    }
    drop(exporter);
    rows.extend(results);

    println!("\n| figure | measured |\n| --- | --- |");
    for (figure, measured) in rows {
        println!("| {figure} | {measured} |");
    }
}
