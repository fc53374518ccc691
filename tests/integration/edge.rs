//! The exporter's own port with a web config (issue 11): TLS, client certificates, basic
//! authentication, live rotation, the cross-site refusal, and no back door. Certificates
//! are made at test time (rcgen): a CA per test, server and client certificates from it.
//!
//! Loopback only; every loop is bounded in count and time.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::support::*;

/// A CA made for one test, issuing server and client certificates.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "nbu-exporter test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        Pki { ca }
    }

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// (certificate, key) PEM for 127.0.0.1 and localhost.
    fn server(&self) -> (String, String) {
        let params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("params");
        self.issue(params)
    }

    fn client(&self) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "prometheus");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.ca).expect("sign");
        (cert.pem(), key.serialize_pem())
    }
}

/// Writes `server.crt`, `server.key` (and the given web config) into `dir`.
fn write_server_files(dir: &Path, (cert, key): &(String, String)) {
    write_file(&dir.join("server.crt"), cert);
    write_file(&dir.join("server.key"), key);
}

const TLS_WEB: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

/// A daemon whose config names `web.yml` (written first, with `web`), against one site.
fn daemon_with_web(web: &str, prepare: impl FnOnce(&Path)) -> (TestDaemon, nbu_sim::SimServer) {
    let sim = known_site();
    let dir = tempfile::tempdir().expect("temp dir");
    prepare(dir.path());
    write_file(&dir.path().join("web.yml"), web);
    let path = dir.path().join("config.yaml");
    write_file(
        &path,
        &config_yaml("  webConfigFile: web.yml\n", &[site_yaml("paris", &sim, "")]),
    );
    let d = TestDaemon::start_at(dir, path, |_| {});
    (d, sim)
}

fn https(d: &TestDaemon, path: &str) -> String {
    format!("https://{}{path}", d.daemon().local_addr())
}

fn http(d: &TestDaemon, path: &str) -> String {
    format!("http://{}{path}", d.daemon().local_addr())
}

/// An agent trusting `ca_pem`, with a client certificate when given.
fn tls_agent(ca_pem: &str, client: Option<&(String, String)>) -> ureq::Agent {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
    let root = Certificate::from_pem(ca_pem.as_bytes()).expect("CA pem");
    let mut tls = TlsConfig::builder().root_certs(RootCerts::new_with_certs(&[root]));
    if let Some((cert, key)) = client {
        let cert = Certificate::from_pem(cert.as_bytes()).expect("cert pem");
        let key = PrivateKey::from_pem(key.as_bytes()).expect("key pem");
        tls = tls.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// (status, body, WWW-Authenticate) of one `GET` or `POST` (empty body); `Err` when no
/// answer came.
fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, String, Option<String>), String> {
    let sent = if method == "POST" {
        let mut request = agent.post(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send_empty()
    } else {
        let mut request = agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.call()
    };
    let mut response = sent.map_err(|e| e.to_string())?;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Ok((status, body, challenge))
}

fn status_of(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)]) -> u16 {
    call(agent, "GET", url, headers)
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .0
}

/// The DER of the certificate the port serves now.
fn served_certificate(addr: SocketAddr, ca_pem: &str) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(der.expect("CA pem")).expect("CA");
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let mut socket = TcpStream::connect(addr).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let end = Instant::now() + Duration::from_secs(10);
    while conn.is_handshaking() && Instant::now() < end {
        conn.complete_io(&mut socket).expect("handshake");
    }
    conn.peer_certificates().expect("a certificate")[0].to_vec()
}

fn der_of(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("pem")
        .to_vec()
}

/// Scrapes `/metrics` back to back on its own thread with `agent`, counting failures.
struct Scraper {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    handle: JoinHandle<(u64, Vec<String>)>,
}

impl Scraper {
    fn start(agent: ureq::Agent, url: String, headers: Vec<(String, String)>, bound: Duration) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&done));
        let handle = std::thread::spawn(move || {
            let (mut ok, mut failures) = (0u64, Vec::new());
            let end = Instant::now() + Duration::from_secs(90);
            let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            while !flag.load(Ordering::SeqCst) && Instant::now() < end {
                let started = Instant::now();
                match call(&agent, "GET", &url, &headers) {
                    Ok((200, body, _)) if body.contains("nbu_up{") && started.elapsed() < bound => ok += 1,
                    Ok((status, _, _)) => {
                        failures.push(format!("HTTP {status} after {:?}", started.elapsed()))
                    }
                    Err(e) => failures.push(format!("{e} after {:?}", started.elapsed())),
                }
                count.fetch_add(1, Ordering::SeqCst);
                let pause = Instant::now() + Duration::from_millis(20);
                while Instant::now() < pause {
                    std::thread::yield_now();
                }
            }
            (ok, failures)
        });
        Scraper { stop, done, handle }
    }

    fn finish(self, min_ok: u64) {
        wait_until(Duration::from_secs(30), "enough scrapes", || {
            self.done.load(Ordering::SeqCst) >= min_ok
        });
        self.stop.store(true, Ordering::SeqCst);
        let (ok, failures) = self.handle.join().expect("scraper thread");
        assert!(
            failures.is_empty(),
            "{} failed scrapes (of {}), first: {:?}",
            failures.len(),
            ok + failures.len() as u64,
            failures.first()
        );
        assert!(ok >= min_ok, "only {ok} scrapes ran");
    }
}

/// The status page, read over TLS with `agent`.
fn status_page(agent: &ureq::Agent, d: &TestDaemon) -> serde_json::Value {
    let (status, body, _) = call(agent, "GET", &https(d, "/-/config-status"), &[]).expect("status page");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON")
}

#[test]
fn tls_scrapes_work_and_plain_http_on_the_tls_port_fails_fast() {
    let pki = Pki::new();
    let (d, _sim) = daemon_with_web(TLS_WEB, |dir| write_server_files(dir, &pki.server()));
    let agent = tls_agent(&pki.ca_pem(), None);
    wait_until(Duration::from_secs(20), "ready over TLS", || {
        status_of(&agent, &https(&d, "/-/ready"), &[]) == 200
    });
    let (status, body, _) = call(&agent, "GET", &https(&d, "/metrics"), &[]).expect("scrape");
    assert_eq!(status, 200);
    assert!(body.contains("nbu_up{"), "{body}");

    // Plain HTTP on the TLS port: a clear 400 at once, not a hang.
    let mut plain = TcpStream::connect(d.daemon().local_addr()).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    plain
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut answer = String::new();
    let _ = plain.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer:?}");
    assert!(answer.contains("HTTP request to an HTTPS server"), "{answer}");
    let e = crate::support::agent()
        .get(&http(&d, "/metrics"))
        .call()
        .map(|r| r.status().as_u16());
    assert_eq!(e.ok(), Some(400), "ureq over plain HTTP sees the same 400");
}

#[test]
fn required_client_certificates_refuse_clients_without_one() {
    let pki = Pki::new();
    let web = format!("{TLS_WEB}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n");
    let (d, _sim) = daemon_with_web(&web, |dir| {
        write_server_files(dir, &pki.server());
        write_file(&dir.join("ca.crt"), &pki.ca_pem());
    });
    let with_cert = tls_agent(&pki.ca_pem(), Some(&pki.client()));
    assert_eq!(status_of(&with_cert, &https(&d, "/metrics"), &[]), 200);

    let without = tls_agent(&pki.ca_pem(), None);
    let refused = call(&without, "GET", &https(&d, "/metrics"), &[]);
    assert!(refused.is_err(), "no client certificate: {refused:?}");

    let stranger = Pki::new();
    let foreign = tls_agent(&pki.ca_pem(), Some(&stranger.client()));
    let refused = call(&foreign, "GET", &https(&d, "/metrics"), &[]);
    assert!(refused.is_err(), "a certificate from another CA: {refused:?}");
    // The port still serves after the refusals.
    assert_eq!(status_of(&with_cert, &https(&d, "/-/healthy"), &[]), 200);
}

#[test]
fn basic_auth_guards_every_path_but_the_probes_and_verifies_once() {
    let hash = bcrypt::hash("correct horse", 6).expect("bcrypt");
    let web = format!("basic_auth_users:\n  prometheus: {hash}\n");
    let (d, _sim) = daemon_with_web(&web, |_| {});
    let agent = agent();
    let right = basic("prometheus", "correct horse");
    let authorized = [("Authorization", right.as_str())];
    wait_until(Duration::from_secs(20), "ready", || {
        status_of(&agent, &http(&d, "/-/ready"), &[]) == 200
    });
    for probe in ["/-/healthy", "/health", "/-/ready"] {
        assert_eq!(status_of(&agent, &http(&d, probe), &[]), 200, "{probe}");
    }
    for path in ["/metrics", "/", "/-/config-status", "/nope"] {
        let (status, _, challenge) = call(&agent, "GET", &http(&d, path), &[]).expect("answer");
        assert_eq!(status, 401, "{path}");
        assert!(
            challenge
                .as_deref()
                .is_some_and(|c| c.starts_with("Basic realm=")),
            "{path}: {challenge:?}"
        );
    }
    let (status, _, _) = call(&agent, "POST", &http(&d, "/-/reload"), &[]).expect("answer");
    assert_eq!(status, 401, "POST /-/reload without credentials");
    let wrong = basic("prometheus", "wrong");
    assert_eq!(
        status_of(&agent, &http(&d, "/metrics"), &[("Authorization", &wrong)]),
        401
    );
    assert_eq!(
        status_of(
            &agent,
            &http(&d, "/metrics"),
            &[("Authorization", &basic("nobody", "x"))]
        ),
        401
    );
    assert_eq!(status_of(&agent, &http(&d, "/-/config-status"), &authorized), 200);
    let (status, _, _) = call(&agent, "POST", &http(&d, "/-/reload"), &authorized).expect("answer");
    assert_eq!(status, 200, "POST /-/reload with credentials");

    let verifications = || {
        let (_, body, _) = call(&agent, "GET", &http(&d, "/metrics"), &authorized).expect("scrape");
        Metrics::parse(&body).value(nbu_exporter::http_server::VERIFICATIONS_METRIC, &[])
    };
    let before = verifications();
    for i in 0..1000 {
        assert_eq!(
            status_of(&agent, &http(&d, "/metrics"), &authorized),
            200,
            "scrape {i}"
        );
    }
    assert_eq!(
        verifications() - before,
        0.0,
        "1,000 scrapes with known credentials cost no bcrypt"
    );
    assert_eq!(
        before, 3.0,
        "one verification each: the right password, the wrong one, the unknown user"
    );
}

#[test]
fn rotating_certificate_and_key_under_a_scrape_loop_fails_no_scrape() {
    let pki = Pki::new();
    let first = pki.server();
    let (d, _sim) = daemon_with_web(TLS_WEB, |dir| write_server_files(dir, &first));
    let dir = d.path.parent().expect("dir").to_path_buf();
    let addr = d.daemon().local_addr();
    let agent = tls_agent(&pki.ca_pem(), None);
    wait_until(Duration::from_secs(20), "ready over TLS", || {
        status_of(&agent, &https(&d, "/-/ready"), &[]) == 200
    });
    assert_eq!(served_certificate(addr, &pki.ca_pem()), der_of(&first.0));
    let scraper = Scraper::start(
        tls_agent(&pki.ca_pem(), None),
        https(&d, "/metrics"),
        Vec::new(),
        Duration::from_secs(5),
    );

    // Certificate first, key second, in place: the pair is briefly mismatched.
    let second = pki.server();
    write_server_files(&dir, &second);
    wait_until(Duration::from_secs(20), "the new certificate served", || {
        served_certificate(addr, &pki.ca_pem()) == der_of(&second.0)
    });

    // A key that does not match: rejected, the current certificate serves on.
    let generation = d.generation();
    let seen = status_page(&agent, &d)["attempts"].as_u64().expect("attempts");
    let (_, stray_key) = pki.server();
    write_file(&dir.join("server.key"), &stray_key);
    wait_until(Duration::from_secs(20), "the mismatched key rejected", || {
        let page = status_page(&agent, &d);
        let history = page["history"].as_array().cloned().unwrap_or_default();
        history.iter().any(|a| {
            a["id"].as_u64() > Some(seen)
                && a["result"] == "rejected"
                && a["problems"][0]
                    .as_str()
                    .is_some_and(|p| p.contains("does not match the certificate"))
        })
    });
    assert_eq!(d.generation(), generation);
    assert_eq!(served_certificate(addr, &pki.ca_pem()), der_of(&second.0));
    scraper.finish(20);
}

#[test]
fn turning_tls_on_is_a_reload() {
    let pki = Pki::new();
    let (d, _sim) = daemon_with_web("# nothing yet\n", |dir| write_server_files(dir, &pki.server()));
    let dir = d.path.parent().expect("dir").to_path_buf();
    assert_eq!(status_of(&agent(), &http(&d, "/-/healthy"), &[]), 200);
    write_file(&dir.join("web.yml"), TLS_WEB);
    let tls = tls_agent(&pki.ca_pem(), None);
    wait_until(Duration::from_secs(20), "TLS served", || {
        call(&tls, "GET", &https(&d, "/-/healthy"), &[]).is_ok_and(|(s, _, _)| s == 200)
    });
    let page = status_page(&tls, &d);
    let applied: Vec<&serde_json::Value> = page["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|a| a["result"] == "applied" && a["trigger"] != "startup")
        .collect();
    assert_eq!(applied.len(), 1, "{page}");
    assert_eq!(applied[0]["changes"][0], "server.webConfigFile", "{page}");
}

#[test]
fn a_cross_site_reload_post_is_refused_and_reloads_nothing() {
    let sim = known_site();
    let d = TestDaemon::start_http_only(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    let attempts = || d.status()["attempts"].as_u64().expect("attempts");
    let before = attempts();
    let agent = agent();
    let url = http(&d, "/-/reload");
    for headers in [
        vec![("Origin", "https://evil.example")],
        vec![("Sec-Fetch-Site", "cross-site")],
        vec![("Origin", "null")],
    ] {
        let (status, body, _) = call(&agent, "POST", &url, &headers).expect("answer");
        assert_eq!(status, 403, "{headers:?}");
        assert!(body.contains("cross-site request refused"), "{body}");
    }
    assert_eq!(attempts(), before, "no reload ran");
    let own = format!("http://{}", d.daemon().local_addr());
    let (status, _, _) = call(&agent, "POST", &url, &[("Origin", own.as_str())]).expect("answer");
    assert_eq!(status, 200, "the exporter's own origin");
    assert_eq!(attempts(), before + 1);
}

#[test]
fn configured_headers_are_on_every_answer() {
    let hash = bcrypt::hash("pw", 4).expect("bcrypt");
    let web = format!(
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  u: {hash}\n"
    );
    let (d, _sim) = daemon_with_web(&web, |_| {});
    for (path, auth) in [
        ("/-/healthy", None),
        ("/metrics", None),
        ("/metrics", Some(basic("u", "pw"))),
    ] {
        let mut request = agent().get(&http(&d, path));
        if let Some(auth) = &auth {
            request = request.header("Authorization", auth);
        }
        let response = request.call().expect("answer");
        let headers = response.headers();
        assert_eq!(
            headers.get("x-frame-options").map(|v| v.as_bytes()),
            Some(&b"deny"[..]),
            "{path}"
        );
        assert_eq!(
            headers.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
    }
}

/// A TLS client that sends its request head one byte at a time.
struct SlowTls {
    stream: Option<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
    opened: Instant,
    lived: Option<Duration>,
    sent: usize,
}

fn tls_client_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(der.expect("CA pem")).expect("CA");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn tls_connect(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let mut conn = rustls::ClientConnection::new(Arc::clone(config), name).expect("client");
    let mut socket = TcpStream::connect(addr).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let end = Instant::now() + Duration::from_secs(10);
    while conn.is_handshaking() && Instant::now() < end {
        conn.complete_io(&mut socket).expect("handshake");
    }
    rustls::StreamOwned::new(conn, socket)
}

#[test]
fn slow_heads_and_stalled_handshakes_over_tls_are_cut_while_scrapes_go_on() {
    let pki = Pki::new();
    let (d, _sim) = daemon_with_web(TLS_WEB, |dir| write_server_files(dir, &pki.server()));
    let addr = d.daemon().local_addr();
    let agent = tls_agent(&pki.ca_pem(), None);
    wait_until(Duration::from_secs(20), "ready over TLS", || {
        status_of(&agent, &https(&d, "/-/ready"), &[]) == 200
    });
    let config = tls_client_config(&pki.ca_pem());
    let mut slow: Vec<SlowTls> = (0..20)
        .map(|_| {
            let stream = tls_connect(addr, &config);
            stream.sock.set_nonblocking(true).expect("nonblocking");
            SlowTls {
                stream: Some(stream),
                opened: Instant::now(),
                lived: None,
                sent: 0,
            }
        })
        .collect();
    // Handshakes that start (a TLS record byte) and stall.
    let stalled: Vec<(TcpStream, Instant)> = (0..5)
        .map(|_| {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(&[0x16, 0x03, 0x01]).expect("send");
            s.set_nonblocking(true).expect("nonblocking");
            (s, Instant::now())
        })
        .collect();
    let mut stalled_lived: Vec<Option<Duration>> = vec![None; stalled.len()];
    let scraper = Scraper::start(
        tls_agent(&pki.ca_pem(), None),
        https(&d, "/metrics"),
        Vec::new(),
        Duration::from_secs(2),
    );
    let head = b"GET /metrics HTTP/1.1\r\nHost: slowloris\r\nX-Padding: ";
    let deadline = nbu_exporter::http_server::HEAD_TIMEOUT;
    let end = Instant::now() + deadline + Duration::from_secs(3);
    while Instant::now() < end {
        for conn in &mut slow {
            let Some(stream) = conn.stream.as_mut() else {
                continue;
            };
            let mut probe = [0u8; 256];
            // EOF, an answer (the 408) or an error: the server gave up on us.
            let closed = !matches!(stream.read(&mut probe), Err(e) if e.kind() == ErrorKind::WouldBlock);
            let byte = head.get(conn.sent).copied().unwrap_or(b'a');
            if closed || stream.write(&[byte]).is_err() {
                conn.lived = Some(conn.opened.elapsed());
                conn.stream = None;
            } else {
                conn.sent += 1;
            }
        }
        for ((socket, opened), lived) in stalled.iter().zip(&mut stalled_lived) {
            if lived.is_none() {
                let mut s: &TcpStream = socket;
                match s.read(&mut [0u8; 64]) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    _ => *lived = Some(opened.elapsed()),
                }
            }
        }
        let next = Instant::now() + Duration::from_millis(250);
        while Instant::now() < next {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    scraper.finish(10);
    for conn in &slow {
        let lived = conn.lived.expect("every slow TLS head is cut by the server");
        assert!(
            lived >= deadline - Duration::from_millis(500) && lived < deadline + Duration::from_secs(2),
            "a slow TLS connection lived {lived:?}, the head deadline is {deadline:?}"
        );
    }
    let handshake = nbu_exporter::http_server::HANDSHAKE_TIMEOUT;
    for lived in &stalled_lived {
        let lived = lived.expect("every stalled handshake is cut by the server");
        assert!(
            lived >= handshake - Duration::from_millis(500) && lived < handshake + Duration::from_secs(2),
            "a stalled handshake lived {lived:?}, the handshake deadline is {handshake:?}"
        );
    }
}

/// Over TLS too, slow readers of a large body are served from memory and do not hold
/// the workers (see abuse.rs for the plain-HTTP regression).
#[test]
fn slow_readers_over_tls_do_not_starve_scrapes() {
    let big = nbu_sim::DataSpec {
        jobs: 200,
        active_jobs: 5,
        queued_jobs: 5,
        storage_units: 8_500,
        tape_units: 10,
        seed: 11,
    };
    let sim = site_with(nbu_sim::SimData::generate(
        &big,
        nbu_exporter::timefmt::now_millis(),
    ));
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("temp dir");
    write_server_files(dir.path(), &pki.server());
    write_file(&dir.path().join("web.yml"), TLS_WEB);
    let path = dir.path().join("config.yaml");
    write_file(
        &path,
        &config_yaml(
            "  webConfigFile: web.yml\n",
            &[site_yaml("paris", &sim, ""), site_yaml("rome", &sim, "")],
        ),
    );
    let d = TestDaemon::start_at(dir, path, |_| {});
    let agent = tls_agent(&pki.ca_pem(), None);
    wait_until(Duration::from_secs(30), "ready over TLS", || {
        status_of(&agent, &https(&d, "/-/ready"), &[]) == 200
    });
    let (_, body, _) = call(&agent, "GET", &https(&d, "/metrics"), &[]).expect("scrape");
    assert!(
        body.len() > 8 << 20,
        "the body must outgrow socket buffers: {} bytes",
        body.len()
    );
    let config = tls_client_config(&pki.ca_pem());
    let addr = d.daemon().local_addr();
    let mut readers: Vec<_> = (0..5)
        .map(|_| {
            let mut s = tls_connect(addr, &config);
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .expect("send");
            s.sock
                .set_read_timeout(Some(Duration::from_millis(50)))
                .expect("timeout");
            s
        })
        .collect();
    let mut chunk = [0u8; 1024];
    let mut read_slowly = |length: Duration| {
        let end = Instant::now() + length;
        while Instant::now() < end {
            for r in &mut readers {
                let _ = r.read(&mut chunk);
            }
            let next = Instant::now() + Duration::from_millis(250);
            while Instant::now() < next {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    };
    read_slowly(Duration::from_secs(2));
    let scraper = Scraper::start(
        tls_agent(&pki.ca_pem(), None),
        https(&d, "/metrics"),
        Vec::new(),
        Duration::from_secs(6),
    );
    read_slowly(Duration::from_secs(5));
    scraper.finish(3);
}

/// Listening TCP sockets of process `pid`: its socket inodes against /proc/PID/net/tcp*.
fn listening_tcp_sockets(pid: u32) -> usize {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    l.to_string_lossy()
                        .strip_prefix("socket:[")
                        .and_then(|s| s.strip_suffix(']'))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|t| std::fs::read_to_string(format!("/proc/{pid}/net/{t}")).ok())
        .map(|text| {
            text.lines()
                .skip(1)
                .filter(|line| {
                    // state is field 3 (0A = LISTEN), inode field 9.
                    let f: Vec<&str> = line.split_whitespace().collect();
                    f.get(3) == Some(&"0A") && f.get(9).is_some_and(|i| inodes.contains(*i))
                })
                .count()
        })
        .sum()
}

/// The real binary in `run` mode, with TLS and basic auth: exactly one listening TCP
/// socket (tiny_http is on a Unix socket), and `nbu-exporter reload --pid` still works.
#[test]
fn the_run_mode_process_listens_on_one_tcp_socket() {
    let sim = known_site();
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("temp dir");
    write_server_files(dir.path(), &pki.server());
    let hash = bcrypt::hash("pw", 4).expect("bcrypt");
    write_file(
        &dir.path().join("web.yml"),
        &format!("{TLS_WEB}basic_auth_users:\n  u: {hash}\n"),
    );
    let config = dir.path().join("config.yaml");
    write_file(
        &config,
        &format!(
            "server:\n  host: 127.0.0.1\n  port: 0\n  webConfigFile: web.yml\nreload:\n  pollInterval: 0\nnbuservers:\n{}",
            site_yaml("paris", &sim, "")
        ),
    );
    let stderr_path = dir.path().join("stderr.log");
    let runtime = dir.path().join("run");
    std::fs::create_dir(&runtime).expect("runtime dir");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_nbu-exporter"))
        .arg("--config")
        .arg(&config)
        .env("RUNTIME_DIRECTORY", &runtime)
        .env_remove("NOTIFY_SOCKET")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).expect("stderr"))
        .spawn()
        .expect("spawn");
    /// Killed on drop, whatever the test's outcome.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(child);
    let pid = child.0.id();
    let line = wait_for(Duration::from_secs(20), "the startup line", || {
        std::fs::read_to_string(&stderr_path)
            .unwrap_or_default()
            .lines()
            .find(|l| l.contains("nbu-exporter started"))
            .map(str::to_string)
    });
    assert!(line.contains(" tls=true basic_auth_users=1 "), "{line}");
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("listen="))
        .expect("listen=")
        .to_string();
    let agent = tls_agent(&pki.ca_pem(), None);
    let auth = basic("u", "pw");
    assert_eq!(
        status_of(
            &agent,
            &format!("https://{addr}/metrics"),
            &[("Authorization", &auth)]
        ),
        200
    );
    assert_eq!(listening_tcp_sockets(pid), 1, "one listening TCP socket");
    let sockets: Vec<_> = std::fs::read_dir(&runtime)
        .expect("runtime dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(sockets.len(), 1, "one private directory: {sockets:?}");
    assert!(sockets[0].join(nbu_exporter::http_server::SOCKET_NAME).exists());

    // The systemd ExecReload path: SIGHUP, then the outcome through the daemon's socket.
    let code = nbu_exporter::reload::command::run(&config, Some(pid as i32), None, "15s");
    assert_eq!(code, std::process::ExitCode::SUCCESS);

    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).expect("pid"),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM");
    let status = wait_for(Duration::from_secs(20), "exit", || {
        child.0.try_wait().ok().flatten()
    });
    assert!(status.success(), "{status:?}");
    assert_eq!(
        std::fs::read_dir(&runtime).expect("runtime dir").count(),
        0,
        "the socket's directory is removed on exit"
    );
}

/// `check-config` reports a bad web config (exit 1, the problem with its file and key), and
/// accepts the shipped example given through `--web.config.file`.
#[test]
fn check_config_reports_a_bad_web_config_and_accepts_the_example() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("temp dir");
    write_server_files(dir.path(), &pki.server());
    write_file(&dir.path().join("other.key"), &pki.server().1);
    write_file(
        &dir.path().join("web.yml"),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
    );
    let config = dir.path().join("config.yaml");
    write_file(
        &config,
        "server:\n  webConfigFile: web.yml\nnbuservers: [{site: paris, host: nbu.example.com, apiKey: k}]\n",
    );
    let run = |extra: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nbu-exporter"))
            .arg("check-config")
            .args(extra)
            .arg(&config)
            .output()
            .expect("run check-config");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).replace(&dir.path().display().to_string(), "{dir}"),
        )
    };
    let (code, _, stderr) = run(&[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "{dir}/config.yaml: server.webConfigFile: {dir}/web.yml: tls_server_config.key_file: {dir}/other.key does not match the certificate"
        ),
        "{stderr}"
    );

    let example = dir.path().join("example.yml");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/web-config.example.yml"),
        &example,
    )
    .expect("copy the example");
    let (code, stdout, stderr) = run(&["--web.config.file".as_ref(), example.as_os_str()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("(TLS, basic auth for 1 user)"), "{stdout}");
}
