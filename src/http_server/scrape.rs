//! The `/metrics` answer. The sites' part of the body depends only on their snapshots:
//! each site's text is rendered once per snapshot and shared by every body that shows
//! that snapshot; a body is a list of ranges into those texts, sent as a stream, so no
//! scrape copies it. On the first request that accepts gzip it is compressed once per set
//! of snapshots. The self-metrics part is rendered (and compressed) per scrape and
//! appended. The answer is gzip when `Accept-Encoding` allows it, plain text otherwise.
//!
//! It must not know how snapshots are made or what the text holds: `metrics` renders,
//! `gzip` compresses, this module only decides what to reuse.

use std::cell::RefCell;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tiny_http::{Header, Request, Response};

use super::gzip::{self, Coding, DeflatedPrefix, TailCompressor};
use super::header;
use crate::collect::SiteSnapshot;
use crate::metrics::{self, ExporterMetrics, SiteText, SitesText};
use crate::state::Generation;

/// What a listener's workers share for `/metrics`: the sites' part last assembled, and
/// one compressor for the per-scrape part.
#[derive(Default)]
pub(super) struct ScrapeCache {
    kept: Mutex<Option<Arc<RenderedSites>>>,
    /// Held while a new part is rendered, so that workers arriving meanwhile wait for it
    /// and reuse it instead of rendering copies of their own.
    rendering: Mutex<()>,
    /// A compressor's state is about 300 KiB; one per worker was a megabyte at four
    /// workers for a part that takes well under a millisecond to compress (60 KB of
    /// self-metrics at 50 sites), so the workers take turns with one.
    compressor: Mutex<Option<TailCompressor>>,
}

/// The sites' part of the body for one set of snapshots.
pub(super) struct RenderedSites {
    /// The snapshots it was rendered from, in view order, each with its text; held so
    /// that a pointer match can never be a freed snapshot's address reused.
    sites: Vec<(Arc<SiteSnapshot>, Arc<SiteText>)>,
    text: SitesText,
    deflated: OnceLock<Option<DeflatedPrefix>>,
}

impl RenderedSites {
    /// The compressed form, made by the first request that wants it (others wait).
    fn deflated(&self) -> Option<&DeflatedPrefix> {
        self.deflated
            .get_or_init(|| DeflatedPrefix::new(self.text.chunks(), self.text.len()))
            .as_ref()
    }

    fn shows(&self, snapshots: &[Arc<SiteSnapshot>]) -> bool {
        self.sites.len() == snapshots.len()
            && self
                .sites
                .iter()
                .zip(snapshots)
                .all(|((a, _), b)| Arc::ptr_eq(a, b))
    }
}

impl ScrapeCache {
    /// The sites' part for `snapshots`: the one kept if they are the same snapshots (by
    /// pointer), else a new one that reuses the kept texts of unchanged snapshots and
    /// renders only the others; it is kept instead.
    pub(super) fn get(&self, snapshots: Vec<Arc<SiteSnapshot>>) -> Arc<RenderedSites> {
        if let Some(kept) = self.kept_for(&snapshots) {
            return kept;
        }
        let _rendering = self.rendering.lock();
        // Another worker may have rendered these snapshots while this one waited.
        let previous = self.kept.lock().clone();
        if let Some(kept) = previous.as_ref().filter(|k| k.shows(&snapshots)) {
            return Arc::clone(kept);
        }
        let sites: Vec<(Arc<SiteSnapshot>, Arc<SiteText>)> = snapshots
            .into_iter()
            .map(|snap| {
                let reused = previous.as_ref().and_then(|p| {
                    p.sites
                        .iter()
                        .find(|(s, _)| Arc::ptr_eq(s, &snap))
                        .map(|(_, text)| Arc::clone(text))
                });
                let text = reused.unwrap_or_else(|| Arc::new(SiteText::render(&snap)));
                (snap, text)
            })
            .collect();
        drop(previous);
        let text = SitesText::assemble(sites.iter().map(|(_, t)| Arc::clone(t)).collect());
        let rendered = Arc::new(RenderedSites {
            sites,
            text,
            deflated: OnceLock::new(),
        });
        *self.kept.lock() = Some(Arc::clone(&rendered));
        rendered
    }

    fn kept_for(&self, snapshots: &[Arc<SiteSnapshot>]) -> Option<Arc<RenderedSites>> {
        self.kept
            .lock()
            .as_ref()
            .filter(|k| k.shows(snapshots))
            .map(Arc::clone)
    }
}

/// What a worker keeps between scrapes: the per-scrape part, plain and compressed.
struct Scratch {
    tail: Vec<u8>,
    gzip_tail: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch { tail: Vec::new(), gzip_tail: Vec::new() })
    };
}

/// Above this a worker's kept per-scrape buffer is given back after use.
const SCRATCH_KEEP_MAX: usize = 1 << 20;

/// Which coding the request's `Accept-Encoding` fields allow.
pub(super) fn coding(request: &Request) -> Option<Coding> {
    gzip::negotiate(
        request
            .headers()
            .iter()
            .filter(|h| h.field.equiv("Accept-Encoding"))
            .map(|h| h.value.as_str()),
    )
}

/// Answers a `/metrics` request from one generation: the sites' part for that
/// generation's snapshots (from `cache`) and this scrape's self-metrics, in `coding`.
pub(super) fn respond(
    request: Request,
    coding: Coding,
    cache: &ScrapeCache,
    generation: &Generation,
    exporter: &ExporterMetrics,
) {
    let sites = cache.get(generation.sites.iter().map(|s| s.snapshot()).collect());
    SCRATCH.with_borrow_mut(|s| {
        s.tail.clear();
        metrics::render_exporter(generation.number, &generation.sha_short, exporter, &mut s.tail);
        let gzip_prefix = match coding {
            Coding::Gzip => sites.deflated(),
            Coding::Identity => None,
        };
        let compressed = gzip_prefix.and_then(|prefix| {
            let mut compressor = cache.compressor.lock();
            let compressor = compressor.get_or_insert_with(TailCompressor::new);
            compressor.finish(prefix, &s.tail, &mut s.gzip_tail)?;
            Some(prefix)
        });
        match compressed {
            Some(prefix) => {
                let body = (&gzip::HEADER[..]).chain(prefix.blocks()).chain(&s.gzip_tail[..]);
                let len = gzip::HEADER.len() + prefix.blocks().len() + s.gzip_tail.len();
                send(request, body, len, Some("gzip"));
            }
            // Identity, or (never expected) a compressor failure: plain text is correct.
            None => {
                let body = sites.text.reader().chain(&s.tail[..]);
                send(request, body, sites.text.len() + s.tail.len(), None);
            }
        }
        for buf in [&mut s.tail, &mut s.gzip_tail] {
            if buf.capacity() > SCRATCH_KEEP_MAX {
                *buf = Vec::new();
            }
        }
    })
}

fn send(request: Request, body: impl Read, len: usize, encoding: Option<&str>) {
    let headers: Vec<Header> = [
        header("Content-Type", metrics::CONTENT_TYPE),
        header("Vary", "Accept-Encoding"),
        encoding.and_then(|e| header("Content-Encoding", e)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let response = Response::new(tiny_http::StatusCode(200), headers, body, Some(len), None);
    if let Err(e) = request.respond(response) {
        log::debug!(error:% = e; "http response not delivered");
    }
}
