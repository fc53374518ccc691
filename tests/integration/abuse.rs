//! Abuse of the exporter's own HTTP port while another client scrapes `/metrics`
//! continuously: every scrape must succeed and stay fast. Slowloris, oversized request
//! lines and headers, connection floods, unknown methods, path tricks, and floods of
//! `POST /-/reload` (also while a reload is held by `ReloadControl::defer`).
//!
//! Loopback only; every loop is bounded in count and time; a paced attacker sleeps only
//! between its own bytes.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::*;

/// The bound on one scrape while the port is abused.
const SCRAPE_BOUND: Duration = Duration::from_secs(1);
/// No scraper runs longer than this, whatever happens to the test.
const SCRAPER_MAX: Duration = Duration::from_secs(60);

/// Scrapes `/metrics` back to back on its own thread, timing every scrape.
struct Scraper {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    handle: JoinHandle<ScrapeStats>,
}

#[derive(Debug, Default)]
struct ScrapeStats {
    ok: u64,
    failures: Vec<String>,
    slowest: Duration,
}

impl Scraper {
    fn start(d: &TestDaemon) -> Scraper {
        Scraper::start_with_bound(d, SCRAPE_BOUND)
    }

    /// With another bound on one scrape, for bodies that a debug build takes long to render.
    fn start_with_bound(d: &TestDaemon, bound: Duration) -> Scraper {
        let url = format!("{}/metrics", d.base());
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&done));
        let handle = std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(5)))
                .http_status_as_error(false)
                .build()
                .into();
            let mut stats = ScrapeStats::default();
            let end = Instant::now() + SCRAPER_MAX;
            while !flag.load(Ordering::SeqCst) && Instant::now() < end {
                let started = Instant::now();
                let result = agent
                    .get(&url)
                    .call()
                    .map_err(|e| e.to_string())
                    .and_then(|mut r| {
                        let status = r.status().as_u16();
                        let body = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
                        if status == 200 && body.contains("nbu_up{") {
                            Ok(())
                        } else {
                            Err(format!("HTTP {status}"))
                        }
                    });
                let took = started.elapsed();
                count.fetch_add(1, Ordering::SeqCst);
                stats.slowest = stats.slowest.max(took);
                match result {
                    Ok(()) if took < bound => stats.ok += 1,
                    Ok(()) => stats.failures.push(format!("slow scrape: {took:?}")),
                    Err(e) => stats.failures.push(format!("{e} after {took:?}")),
                }
                let pause = Instant::now() + Duration::from_millis(20);
                while Instant::now() < pause {
                    std::thread::yield_now();
                }
            }
            stats
        });
        Scraper { stop, done, handle }
    }

    /// Waits until at least `min_ok` scrapes have run, stops, and checks every scrape
    /// succeeded fast.
    fn finish(self, min_ok: u64) -> ScrapeStats {
        wait_until(Duration::from_secs(10), "enough scrapes", || {
            self.done.load(Ordering::SeqCst) >= min_ok
        });
        self.stop.store(true, Ordering::SeqCst);
        let stats = self.handle.join().expect("scraper thread");
        assert!(
            stats.failures.is_empty(),
            "{} failed or slow scrapes (of {}), first: {:?}",
            stats.failures.len(),
            stats.ok + stats.failures.len() as u64,
            stats.failures.first()
        );
        assert!(stats.ok >= min_ok, "only {} scrapes ran", stats.ok);
        eprintln!("scrapes: {} ok, slowest {:?}", stats.ok, stats.slowest);
        stats
    }
}

fn daemon(extra: &str) -> (TestDaemon, nbu_sim::SimServer) {
    let sim = known_site();
    let d = TestDaemon::start(&config_yaml(extra, &[site_yaml("paris", &sim, "")]));
    d.wait_ready();
    (d, sim)
}

/// Sends `request` (from a helper thread, so a server that stops reading cannot block us)
/// and reads the answer until the server closes or 5 s pass. Returns the status (0 when
/// there was no answer) and the raw answer.
fn exchange(addr: SocketAddr, request: Vec<u8>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let mut writer = stream.try_clone().expect("clone");
    writer
        .set_write_timeout(Some(Duration::from_secs(5)))
        .expect("write timeout");
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end && answer.len() < 1 << 20 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    let _ = sender.join();
    let text = String::from_utf8_lossy(&answer).into_owned();
    (status_of(&text), text)
}

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A request for `target` with `Connection: close` so the answer ends with the connection.
fn get_request(method: &str, target: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} ").into_bytes();
    r.extend_from_slice(target);
    r.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    r
}

/// Many connections, each sending its request head one byte at a time, slowly.
struct Slowloris {
    conns: Vec<Option<TcpStream>>,
    addr: SocketAddr,
    /// Connections the server closed (or answered) while they were still sending.
    closed_by_server: u64,
    /// When each connection was opened.
    opened: Vec<Instant>,
    /// How long the server let each closed connection live.
    lifetimes: Vec<Duration>,
    sent: Vec<usize>,
}

const SLOW_HEAD: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: slowloris\r\nX-Padding: ";

impl Slowloris {
    fn open(addr: SocketAddr, n: usize) -> Slowloris {
        let mut s = Slowloris {
            conns: Vec::new(),
            addr,
            closed_by_server: 0,
            opened: Vec::new(),
            lifetimes: Vec::new(),
            sent: Vec::new(),
        };
        for _ in 0..n {
            s.conns.push(Some(s.connect()));
            s.opened.push(Instant::now());
            s.sent.push(0);
        }
        s
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_nonblocking(true).expect("nonblocking");
        stream
    }

    /// One byte on every connection; a connection the server closed is counted and
    /// reopened (at most `reopen` times in all).
    fn tick(&mut self, reopen: &mut u32) {
        for i in 0..self.conns.len() {
            let Some(stream) = self.conns[i].as_mut() else {
                continue;
            };
            let mut probe = [0u8; 256];
            let closed = match stream.read(&mut probe) {
                Ok(_) => true, // EOF or an answer (408): the server gave up on us
                Err(e) if e.kind() == ErrorKind::WouldBlock => false,
                Err(_) => true,
            };
            let byte = if self.sent[i] < SLOW_HEAD.len() {
                SLOW_HEAD[self.sent[i]]
            } else {
                b'a'
            };
            let closed = closed || stream.write(&[byte]).is_err();
            if closed {
                self.closed_by_server += 1;
                self.lifetimes.push(self.opened[i].elapsed());
                self.conns[i] = None;
                if *reopen > 0 {
                    *reopen -= 1;
                    self.conns[i] = Some(self.connect());
                    self.opened[i] = Instant::now();
                    self.sent[i] = 0;
                }
            } else {
                self.sent[i] += 1;
            }
        }
    }
}

/// Runs `attack` every `step` until `length` has passed, scraping all along.
fn paced(step: Duration, length: Duration, mut attack: impl FnMut()) {
    let end = Instant::now() + length;
    while Instant::now() < end {
        attack();
        let next = Instant::now() + step;
        while Instant::now() < next {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn slowloris_does_not_starve_scrapes() {
    let (d, _sim) = daemon("");
    let addr = d.daemon().local_addr();
    let scraper = Scraper::start(&d);
    let mut attack = Slowloris::open(addr, 50);
    let mut reopen = 200;
    // One byte per connection every 300 ms for 8 s.
    paced(Duration::from_millis(300), Duration::from_secs(8), || {
        attack.tick(&mut reopen)
    });
    scraper.finish(20);
    assert_eq!(d.get("/-/healthy").0, 200);
}

/// Regression: tiny_http has no read timeout, so a client that never finishes its request
/// head held a connection and a thread for ever.
#[test]
fn slowloris_connections_are_cut_at_the_head_deadline() {
    let (d, _sim) = daemon("");
    let addr = d.daemon().local_addr();
    let mut attack = Slowloris::open(addr, 20);
    let mut reopen = 0;
    let deadline = nbu_exporter::http_server::HEAD_TIMEOUT;
    paced(
        Duration::from_millis(250),
        deadline + Duration::from_secs(3),
        || attack.tick(&mut reopen),
    );
    assert_eq!(
        attack.closed_by_server, 20,
        "every slow connection is closed by the server"
    );
    for lived in &attack.lifetimes {
        assert!(
            *lived >= deadline - Duration::from_millis(500) && *lived < deadline + Duration::from_secs(2),
            "a slow connection lived {lived:?}, the head deadline is {deadline:?}"
        );
    }
}

/// Regression: every connection got its own thread, without limit. Past the cap, the
/// connection that has waited longest for its request head is closed to make room.
#[test]
fn a_connection_flood_is_capped_and_scrapes_still_get_in() {
    let (d, _sim) = daemon("");
    let addr = d.daemon().local_addr();
    let cap = nbu_exporter::http_server::MAX_CONNECTIONS;
    let idle: Vec<TcpStream> = (0..cap + 50)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    // Scrapes get in even with the cap reached by idle connections.
    let scraper = Scraper::start(&d);
    let started = Instant::now();
    wait_until(Duration::from_secs(10), "20 scrapes", || {
        started.elapsed() > Duration::from_secs(1)
    });
    scraper.finish(10);
    let still_open = idle
        .iter()
        .filter(|s| {
            let mut s: &TcpStream = s;
            s.set_nonblocking(true).expect("nonblocking");
            matches!(s.read(&mut [0u8; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock)
        })
        .count();
    assert!(
        still_open <= cap,
        "{still_open} idle connections still open, the cap is {cap}"
    );
}

/// Regression: tiny_http buffered a request line or a header of any length in memory.
#[test]
fn oversized_request_lines_and_headers_are_refused() {
    let (d, _sim) = daemon("");
    let addr = d.daemon().local_addr();
    let scraper = Scraper::start(&d);
    let mib = 1 << 20;

    let long_url = [b"/metrics?".as_slice(), &vec![b'a'; mib]].concat();
    let (status, answer) = exchange(addr, get_request("GET", &long_url));
    assert_eq!(status, 414, "1 MiB URL: {}", &answer[..answer.len().min(200)]);

    let mut huge_header = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge_header.extend(vec![b'b'; mib]);
    huge_header.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    let (status, answer) = exchange(addr, huge_header);
    assert_eq!(status, 431, "1 MiB header: {}", &answer[..answer.len().min(200)]);

    let mut many = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_vec();
    for i in 0..10_000 {
        many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let (status, answer) = exchange(addr, many);
    assert_eq!(status, 431, "10k headers: {}", &answer[..answer.len().min(200)]);

    // A request under the limits still works on the same port.
    let (status, _) = exchange(addr, get_request("GET", b"/metrics"));
    assert_eq!(status, 200);
    scraper.finish(5);
}

#[test]
fn unknown_methods_and_path_tricks_get_clean_answers() {
    let (d, _sim) = daemon("");
    let addr = d.daemon().local_addr();
    let scraper = Scraper::start(&d);
    let long_path = [b"/".as_slice(), &vec![b'p'; 4000]].concat();
    let cases: &[(&str, &[u8], u16)] = &[
        ("BREW", b"/metrics", 405),
        ("PROPFIND", b"/", 405),
        ("DELETE", b"/-/reload", 405),
        ("TRACE", b"/metrics", 405),
        ("GET", b"/../metrics", 404),
        ("GET", b"//metrics", 404),
        ("GET", b"/metrics/", 404),
        ("GET", b"/%2e%2e/metrics", 404),
        ("GET", b"/%2e%2e%2fmetrics", 404),
        ("GET", b"/metrics%00", 404),
        ("GET", b"/metrics\0", 404),
        ("GET", b"/\0/../metrics", 404),
        ("GET", &long_path, 404),
        ("GET", b"/metrics?", 200),
        ("GET", b"/metrics?x=%00&y=..%2f", 200),
        ("HEAD", b"/metrics", 200),
    ];
    for (method, target, want) in cases {
        let (status, answer) = exchange(addr, get_request(method, target));
        let shown = String::from_utf8_lossy(&target[..target.len().min(40)]).into_owned();
        assert_eq!(status, *want, "{method} {shown:?}: {answer}");
        assert!(!answer.contains("panicked"), "{method} {shown:?}: {answer}");
    }
    scraper.finish(5);
    assert_eq!(d.get("/-/healthy").0, 200);
}

/// Sends `n` concurrent `POST /-/reload` and returns each (status, body).
fn post_flood(d: &TestDaemon, n: usize) -> Vec<(u16, String)> {
    let url = format!("{}/-/reload", d.base());
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(30)))
                    .http_status_as_error(false)
                    .build()
                    .into();
                match agent.post(&url).send_empty() {
                    Ok(mut r) => (
                        r.status().as_u16(),
                        r.body_mut().read_to_string().unwrap_or_default(),
                    ),
                    Err(e) => (0, e.to_string()),
                }
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().expect("poster")).collect()
}

#[test]
fn a_flood_of_reload_posts_does_not_starve_scrapes() {
    let (d, _sim) = daemon("");
    let scraper = Scraper::start(&d);
    let mut answered = Vec::new();
    let end = Instant::now() + Duration::from_secs(3);
    for _ in 0..30 {
        if Instant::now() >= end {
            break;
        }
        answered.extend(post_flood(&d, 40));
    }
    scraper.finish(20);
    let ok = answered.iter().filter(|(s, _)| *s == 200).count();
    assert!(ok >= 1, "some reloads ran: {answered:?}");
    for (status, body) in &answered {
        assert!(
            *status == 200 || (*status == 429 && body.contains("another reload")),
            "unexpected answer {status}: {body}"
        );
    }
}

/// Regression: `POST /-/reload` held an HTTP worker until the reload finished; with
/// reloads held by `ReloadControl::defer`, four POSTs took every worker for a minute.
#[test]
fn reload_posts_held_by_defer_cannot_starve_scrapes() {
    let (d, _sim) = daemon("");
    let guard = d.daemon().shared().control.defer();
    let url = format!("{}/-/reload", d.base());
    let answers = Arc::new(Mutex::new(Vec::new()));
    let answered = Arc::new(AtomicU64::new(0));
    let posters: Vec<_> = (0..8)
        .map(|_| {
            let (url, answers, answered) = (url.clone(), Arc::clone(&answers), Arc::clone(&answered));
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(30)))
                    .http_status_as_error(false)
                    .build()
                    .into();
                let answer = match agent.post(&url).send_empty() {
                    Ok(mut r) => (
                        r.status().as_u16(),
                        r.body_mut().read_to_string().unwrap_or_default(),
                    ),
                    Err(e) => (0, e.to_string()),
                };
                answers.lock().expect("answers").push(answer);
                answered.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let scraper = Scraper::start(&d);
    // The POSTs beyond the waiting ones are turned away at once; scrapes go on.
    wait_until(Duration::from_secs(10), "the extra POSTs answered", || {
        answered.load(Ordering::SeqCst) >= 8 - nbu_exporter::http_server::RELOAD_WAITERS as u64
    });
    let hold_until = Instant::now() + Duration::from_secs(2);
    wait_until(Duration::from_secs(10), "a held period", || {
        Instant::now() >= hold_until
    });
    scraper.finish(20);
    drop(guard);
    wait_until(Duration::from_secs(20), "every POST answered", || {
        answered.load(Ordering::SeqCst) == 8
    });
    for p in posters {
        p.join().expect("poster");
    }
    let answers = answers.lock().expect("answers");
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, nbu_exporter::http_server::RELOAD_WAITERS, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 429, "{body}");
        assert!(body.contains("another reload"), "{body}");
    }
}

/// With a POST already waiting on a held reload, `nbu-exporter reload` is told 429 and
/// asks again until it gets its own answer.
#[test]
fn the_reload_client_waits_its_turn_behind_another_http_reload() {
    let (d, _sim) = daemon("");
    let guard = d.daemon().shared().control.defer();
    // Two POSTs: one waits on the held reload, the other is turned away.
    let (tx, rx) = std::sync::mpsc::channel();
    let posters: Vec<_> = (0..2)
        .map(|_| {
            let (url, tx) = (format!("{}/-/reload", d.base()), tx.clone());
            std::thread::spawn(move || {
                let status = agent().post(&url).send_empty().map(|r| r.status().as_u16());
                let _ = tx.send(status.unwrap_or(0));
            })
        })
        .collect();
    let turned_away = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("one POST answered at once");
    assert_eq!(turned_away, 429);
    let (path, base) = (d.path.clone(), d.base());
    let client =
        std::thread::spawn(move || nbu_exporter::reload::command::run(&path, None, Some(base), "15s"));
    let held_until = Instant::now() + Duration::from_millis(500);
    wait_until(Duration::from_secs(5), "the client retrying", || {
        Instant::now() >= held_until
    });
    drop(guard);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the waiting POST"),
        200
    );
    for p in posters {
        p.join().expect("poster");
    }
    assert_eq!(client.join().expect("client"), std::process::ExitCode::SUCCESS);
}

/// Regression: the front relayed an answer at the pace its client read it, so a client
/// that asked for a large `/metrics` and then read slowly held a tiny_http worker until
/// the write deadline (10 s). A dozen such readers took all four workers in turn: a
/// scrape of a 10 MB body from another client waited 30 s; five hold them for 10 s.
#[test]
fn slow_readers_of_a_large_body_do_not_starve_scrapes() {
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
    // Two sites (the per-site cap is 10,000 units) on one simulator.
    let d = TestDaemon::start(&config_yaml(
        "",
        &[site_yaml("paris", &sim, ""), site_yaml("rome", &sim, "")],
    ));
    d.wait_ready();
    let body_bytes = d.get("/metrics").1.len();
    assert!(
        body_bytes > 8 << 20,
        "the body must outgrow socket buffers: {body_bytes} bytes"
    );
    let addr = d.daemon().local_addr();
    // Each asks for the whole body, then reads 1 KiB every 250 ms. Five: more than the
    // four workers, and within the front's 64 MiB budget for slow clients, so that a
    // scraper slowed down by a loaded machine is served from memory too rather than
    // closed for want of budget.
    let mut readers: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(&get_request("GET", b"/metrics")).expect("send");
            s.set_read_timeout(Some(Duration::from_millis(50)))
                .expect("timeout");
            s
        })
        .collect();
    let mut chunk = [0u8; 1024];
    let mut read_slowly = |length: Duration| {
        paced(Duration::from_millis(250), length, || {
            for r in &mut readers {
                let _ = r.read(&mut chunk);
            }
        })
    };
    // Their renders done first, then scrapes while they still read: held workers made a
    // scrape wait up to 10 s. A debug build takes about 1 s for one such scrape
    // alone, hence the wider bound.
    read_slowly(Duration::from_secs(2));
    let scraper = Scraper::start_with_bound(&d, Duration::from_secs(4));
    read_slowly(Duration::from_secs(5));
    scraper.finish(5);
}
