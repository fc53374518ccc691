//! `/metrics` in gzip when `Accept-Encoding` allows it, plain text otherwise, as the
//! bytes on the wire show; the compressed body follows sweeps and reloads.

use std::time::Duration;

use crate::support::*;

/// What `curl --compressed` sends (curl 8 with brotli and zstd built in).
const CURL_COMPRESSED: &str = "deflate, gzip, br, zstd";

/// The body without the lines that change on their own between two scrapes (the
/// process's CPU, memory and descriptors).
fn steady(body: &[u8]) -> String {
    String::from_utf8(body.to_vec())
        .expect("UTF-8 body")
        .lines()
        .filter(|l| !l.starts_with("process_"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn scrape(d: &TestDaemon, accept_encoding: Option<&str>) -> RawAnswer {
    let fields: Vec<(&str, &str)> = accept_encoding
        .map(|v| ("Accept-Encoding", v))
        .into_iter()
        .collect();
    raw_request(d.daemon().local_addr(), "GET", "/metrics", &fields)
}

#[test]
fn metrics_are_gzip_when_accepted_and_plain_text_otherwise() {
    let sim = known_site();
    let d = TestDaemon::start_http_only(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    d.wait_ready();

    let plain = scrape(&d, None);
    assert_eq!(plain.status, 200);
    assert_eq!(
        plain.header("content-encoding"),
        None,
        "no Accept-Encoding: plain text"
    );
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(
        plain.body.starts_with(b"# HELP nbu_up "),
        "{:?}",
        String::from_utf8_lossy(&plain.body)
    );

    // Decompressed, the body is the plain body (only the process's own figures move
    // between two scrapes). A sweep in between could change more; then try again.
    let mut last = (String::new(), String::new());
    let same = (0..5).any(|_| {
        let gz = scrape(&d, Some(CURL_COMPRESSED));
        assert_eq!(gz.status, 200);
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
        assert!(
            gz.body.len() * 3 < plain.body.len(),
            "{} vs {}",
            gz.body.len(),
            plain.body.len()
        );
        let plain = scrape(&d, None);
        last = (steady(&gunzip(&gz.body)), steady(&plain.body));
        last.0 == last.1
    });
    assert!(
        same,
        "gunzip(gzip body) != plain body:\n{}\n----\n{}",
        last.0, last.1
    );

    // Prometheus's header, and the edge cases of the header's grammar.
    for (accept, gzip) in [
        ("gzip", true),
        ("*", true),
        ("x-gzip", true),
        ("gzip;q=0", false),
        ("gzip;q=0.5, identity;q=1", false),
        ("br", false),
        ("identity", false),
        ("", false),
    ] {
        let answer = scrape(&d, Some(accept));
        assert_eq!(answer.status, 200, "{accept:?}");
        let coding = answer.header("content-encoding");
        assert_eq!(
            coding == Some("gzip"),
            gzip,
            "Accept-Encoding {accept:?}: {coding:?}"
        );
        let text = if gzip { gunzip(&answer.body) } else { answer.body };
        let text = String::from_utf8(text).expect("UTF-8");
        assert!(
            text.contains("\nnbu_exporter_config_generation 1\n"),
            "{accept:?}: {text}"
        );
    }
    let refused = scrape(&d, Some("identity;q=0, *;q=0"));
    assert_eq!(refused.status, 406);
}

/// The sites' part is kept between scrapes and compressed once; a sweep that publishes
/// and a reload that swaps must both show in the next gzip body.
#[test]
fn the_gzip_body_follows_sweeps_and_reloads() {
    let sim = known_site();
    let yaml = config_yaml("", &[site_yaml("paris", &sim, "")]);
    let d = TestDaemon::start_http_only(&yaml);
    d.wait_ready();
    let gzip_metrics =
        || Metrics::parse(&String::from_utf8(gunzip(&scrape(&d, Some("gzip")).body)).expect("UTF-8"));
    let swept_at = |m: &Metrics| {
        m.value(
            "nbu_last_scrape_timestamp_seconds",
            &[("site", "paris"), ("source", "jobs")],
        )
    };
    let before = gzip_metrics();
    assert_eq!(before.value("nbu_exporter_config_generation", &[]), 1.0);

    // A forced reload sweeps at once: the new snapshot shows in the gzip body.
    let (status, answer) = d.post("/-/reload?force=1");
    assert_eq!(status, 200, "{answer}");
    let after = wait_for(Duration::from_secs(20), "the new sweep in the gzip body", || {
        let m = gzip_metrics();
        (swept_at(&m) > swept_at(&before)).then_some(m)
    });
    assert_eq!(after.value("nbu_exporter_config_generation", &[]), 2.0);

    // A reload that adds a site swaps the sites' part.
    let second = known_site();
    d.write_config(&config_yaml(
        "",
        &[site_yaml("paris", &sim, ""), site_yaml("london", &second, "")],
    ));
    let (status, answer) = d.reload();
    assert_eq!(status, 200, "{answer}");
    let m = gzip_metrics();
    assert_eq!(m.value("nbu_exporter_config_generation", &[]), 3.0);
    assert!(m.get("nbu_up", &[("site", "london")]).is_some(), "{}", m.raw);
    let plain = Metrics::parse(&String::from_utf8(scrape(&d, None).body).expect("UTF-8"));
    assert_eq!(
        m.get("nbu_up", &[("site", "london")]),
        plain.get("nbu_up", &[("site", "london")])
    );
}

/// Workers take turns with one compressor for the per-scrape part, and a site's text is
/// rendered once per snapshot while other scrapes read the previous body: scrapes from
/// many clients at once, across sweeps and a reload, each get one whole member (its
/// CRC-32 and length check out) with every site in it.
#[test]
fn concurrent_gzip_scrapes_each_get_a_whole_body() {
    let sims: Vec<_> = (0..3).map(|_| known_site()).collect();
    let names = ["paris", "london", "oslo"];
    let sites: Vec<String> = names
        .iter()
        .zip(&sims)
        .map(|(n, s)| site_yaml(n, s, ""))
        .collect();
    let d = TestDaemon::start_http_only(&config_yaml("", &sites));
    d.wait_ready();
    std::thread::scope(|scope| {
        let clients: Vec<_> = (0..8)
            .map(|i| {
                let d = &d;
                scope.spawn(move || {
                    for _ in 0..15 {
                        let coding = if i % 4 == 0 { None } else { Some("gzip") };
                        let answer = scrape(d, coding);
                        assert_eq!(answer.status, 200);
                        let text = match coding {
                            Some(_) => gunzip(&answer.body),
                            None => answer.body,
                        };
                        let m = Metrics::parse(&String::from_utf8(text).expect("UTF-8"));
                        for name in names {
                            assert!(m.get("nbu_up", &[("site", name)]).is_some(), "{name}: {}", m.raw);
                        }
                        assert!(m.get("nbu_exporter_config_generation", &[]).is_some());
                    }
                })
            })
            .collect();
        // Every site sweeps again, publishing new snapshots while the clients scrape.
        let (status, answer) = d.post("/-/reload?force=1");
        assert_eq!(status, 200, "{answer}");
        for client in clients {
            client.join().expect("a client thread");
        }
    });
}
