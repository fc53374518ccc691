//! Criterion benches of `metrics::render` on generated views of about 10k and 100k NetBackup
//! series (the scrape path). Each prints its series count and body size once.
//!
//! `gzip_10k/*` weigh the two ways to serve gzip: compress the whole body every scrape
//! (`whole_level1`, `whole_level6`), or keep the sites' part compressed once per set of
//! snapshots and compress only the self-metrics per scrape (`tail_level1`: what
//! `/metrics` pays per scrape; `sites_once_level6`: what it pays when a snapshot changes).
//!
//! Run: `cargo bench --bench render`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::Compression;
use nbu_exporter::collect::summary::{CountBytes, DedupMean, DurationHistogram, JobsSummary};
use nbu_exporter::collect::{SiteSnapshot, Sourced};
use nbu_exporter::metrics::{render, render_exporter, render_sites, ExporterMetrics, ScrapeView};
use nbu_exporter::nbu::{ApiVersion, StorageUnit};

/// Per site: 2·A·P·S + 3·A·S + 14·A·P + 6·U + 4 series.
fn view(
    sites: usize,
    actions: usize,
    policies: usize,
    statuses: usize,
    units: usize,
) -> Vec<Arc<SiteSnapshot>> {
    let k2 = |a: &str, b: &str| -> (Arc<str>, Arc<str>) { (a.into(), b.into()) };
    (0..sites)
        .map(|i| {
            let mut s = JobsSummary::default();
            for a in 0..actions {
                let action = format!("ACTION_{a}");
                for p in 0..policies {
                    let policy = format!("POLICY_{p}");
                    for st in 0..statuses {
                        s.by_outcome.insert(
                            (
                                action.as_str().into(),
                                policy.as_str().into(),
                                st.to_string().into(),
                            ),
                            CountBytes {
                                count: (a + p + st) as u64,
                                bytes: ((a * p + st) as u64) << 30,
                            },
                        );
                    }
                    s.files.insert(k2(&action, &policy), (a * 1000 + p) as u64);
                    let mean = DedupMean {
                        sum: (a + p) as f64 * 1.37,
                        n: 3,
                    };
                    s.dedup.insert(k2(&action, &policy), mean);
                    let h = DurationHistogram {
                        buckets: [1, 2, 3, 4, 5, 6, 7, 8, 9],
                        count: 50,
                        sum_seconds: 123_456.789,
                    };
                    s.durations.insert(k2(&action, &policy), h);
                }
                for st in 0..statuses {
                    s.status_count.insert(k2(&action, &st.to_string()), st as u64);
                    s.state_count
                        .insert(k2(&action, &format!("STATE_{st}")), st as u64);
                    s.queued.insert(k2(&action, &st.to_string()), 1);
                }
            }
            let units = (0..units as i64)
                .map(|u| StorageUnit {
                    name: format!("stu-{u}"),
                    storage_type: "DISK".into(),
                    storage_sub_type: "PureDisk".into(),
                    storage_server_type: "PureDisk".into(),
                    free_capacity_bytes: Some(u * 1_000_000_007),
                    used_capacity_bytes: Some(u * 2_000_000_011),
                    total_capacity_bytes: Some(u * 3_000_000_018),
                    max_concurrent_jobs: Some(u % 64),
                    max_fragment_size_megabytes: Some(51_200),
                    ..StorageUnit::default()
                })
                .collect();
            Arc::new(SiteSnapshot {
                site: format!("site-{i}"),
                up: true,
                api_version: Some(ApiVersion::V13_0),
                jobs: Some(Sourced {
                    value: Arc::new(s),
                    collected_at: 1_700_000_000_123,
                }),
                storage: Some(Sourced {
                    value: Arc::new(units),
                    collected_at: 1_700_000_000_456,
                }),
                collectors: Vec::new(),
                parts: Default::default(),
                last_error: None,
            })
        })
        .collect()
}

fn bench_one(c: &mut Criterion, name: &str, sites: &[Arc<SiteSnapshot>]) {
    let exporter = ExporterMetrics::new();
    let view = ScrapeView {
        generation: 1,
        config_sha256: "0123456789ab",
        sites,
    };
    let body = render(&view, &exporter);
    let series = body
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"nbu_") && !l.starts_with(b"nbu_exporter_"))
        .count();
    eprintln!("{name}: {series} NetBackup series, {} bytes", body.len());
    c.bench_function(name, |b| b.iter(|| render(black_box(&view), &exporter)));
}

fn gzip(level: u32, body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 8), Compression::new(level));
    encoder.write_all(body).expect("in memory");
    encoder.finish().expect("in memory")
}

fn deflate(level: u32, body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(body.len() / 8), Compression::new(level));
    encoder.write_all(body).expect("in memory");
    encoder.finish().expect("in memory")
}

fn gzip_10k(c: &mut Criterion) {
    let sites = view(3, 8, 10, 10, 100);
    let exporter = ExporterMetrics::new();
    for s in &sites {
        exporter.init_site(&s.site);
    }
    let view = ScrapeView {
        generation: 1,
        config_sha256: "0123456789ab",
        sites: &sites,
    };
    let body = render(&view, &exporter);
    let mut sites_part = Vec::new();
    render_sites(&sites, &mut sites_part);
    let tail = &body[sites_part.len()..];
    eprintln!(
        "gzip_10k: body {} bytes (sites {}, self-metrics {}); gzip level 1 {} bytes, level 6 {} bytes; sites part at level 6 {} bytes + self-metrics at level 1 {} bytes",
        body.len(),
        sites_part.len(),
        tail.len(),
        gzip(1, &body).len(),
        gzip(6, &body).len(),
        deflate(6, &sites_part).len(),
        deflate(1, tail).len(),
    );
    let mut group = c.benchmark_group("gzip_10k");
    group.bench_function("whole_level1", |b| {
        b.iter(|| gzip(1, &render(black_box(&view), &exporter)))
    });
    group.bench_function("whole_level6", |b| {
        b.iter(|| gzip(6, &render(black_box(&view), &exporter)))
    });
    group.bench_function("tail_level1", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            buf.clear();
            render_exporter(1, "0123456789ab", &exporter, &mut buf);
            let mut crc = crc32fast::Hasher::new();
            crc.update(&buf);
            (deflate(1, black_box(&buf)), crc.finalize())
        })
    });
    group.bench_function("sites_once_level6", |b| {
        b.iter(|| {
            let mut part = Vec::new();
            render_sites(black_box(&sites), &mut part);
            deflate(6, &part)
        })
    });
    group.finish();
}

fn render_10k(c: &mut Criterion) {
    bench_one(c, "render_10k", &view(3, 8, 10, 10, 100));
}

fn render_100k(c: &mut Criterion) {
    bench_one(c, "render_100k", &view(10, 10, 20, 12, 300));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = render_10k, render_100k, gzip_10k
}
criterion_main!(benches);
