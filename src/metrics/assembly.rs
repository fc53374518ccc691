//! The sites' part of `/metrics` without a copy of it per scrape: each site's families are
//! rendered once per snapshot ([`SiteText`]), and a body is a list of byte ranges into
//! those texts ([`SitesText`]), families merged across sites so that each family has one
//! header with every site's samples under it.
//!
//! When one site publishes a new snapshot only that site is rendered again; the others'
//! texts are shared by the old and the new body. The text exists once however many
//! scrapes are reading it.
//!
//! It knows the layout of a rendered text (headers and sample runs, from `text`) and
//! nothing of what a family means, of HTTP, or of how snapshots are made.

use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

use super::text::{FamilySpan, TextWriter};
use super::{escaped_label_value, size_hint, write_site_families, SiteRef};
use crate::collect::SiteSnapshot;

/// One site's NetBackup families as text, with where each family's header and samples lie.
#[derive(Debug)]
pub struct SiteText {
    site: String,
    bytes: Vec<u8>,
    families: Vec<FamilySpan>,
}

impl SiteText {
    /// Renders the families of `snap`, exactly as [`super::render_sites`] writes them
    /// for a view of that site alone.
    pub fn render(snap: &SiteSnapshot) -> SiteText {
        let site = SiteRef {
            snap,
            label: escaped_label_value(&snap.site),
        };
        let sites = std::slice::from_ref(&site);
        let mut w = TextWriter::over(Vec::with_capacity(size_hint(sites)));
        write_site_families(&mut w, sites);
        let (mut bytes, families) = w.into_parts();
        bytes.shrink_to_fit();
        SiteText {
            site: snap.site.clone(),
            bytes,
            families,
        }
    }

    fn header(&self, span: &FamilySpan) -> &[u8] {
        &self.bytes[span.start..span.after_header]
    }
}

/// A byte range of one site's text.
#[derive(Clone, Debug)]
struct Piece {
    site: usize,
    range: Range<usize>,
}

/// The sites' part of a body: ranges of the sites' texts in output order.
#[derive(Debug)]
pub struct SitesText {
    sites: Vec<Arc<SiteText>>,
    pieces: Vec<Piece>,
    len: usize,
}

/// A family of the merged output: the header (taken from the first site that has the
/// family) and each site's samples, in view order.
struct MergedFamily {
    header: Piece,
    samples: Vec<Piece>,
}

impl SitesText {
    /// Merges `sites` (in view order) into one body. A site whose name repeats an earlier
    /// one is skipped (config validation keeps names unique; a repeat would only duplicate
    /// series).
    ///
    /// Every site writes its families in the same code order, leaving out those with no
    /// sample, so each site's list is a subsequence of one order. A family not seen yet is
    /// placed right after the last family this site shared with earlier sites, which keeps
    /// every site's order, and gives the code order whenever a site has all families.
    pub fn assemble(texts: Vec<Arc<SiteText>>) -> SitesText {
        let mut sites: Vec<Arc<SiteText>> = Vec::with_capacity(texts.len());
        for text in texts {
            if sites.iter().any(|s| s.site == text.site) {
                log::warn!(site = text.site.as_str(); "skip duplicate site snapshot");
                continue;
            }
            sites.push(text);
        }

        let mut merged: Vec<MergedFamily> = Vec::new();
        for (index, text) in sites.iter().enumerate() {
            let mut cursor = 0;
            for span in &text.families {
                let samples = Piece {
                    site: index,
                    range: span.after_header..span.end,
                };
                let header = text.header(span);
                let known = merged
                    .iter()
                    .position(|f| sites[f.header.site].bytes[f.header.range.clone()] == *header);
                match known {
                    Some(at) => {
                        merged[at].samples.push(samples);
                        cursor = cursor.max(at + 1);
                    }
                    None => {
                        let header = Piece {
                            site: index,
                            range: span.start..span.after_header,
                        };
                        merged.insert(
                            cursor,
                            MergedFamily {
                                header,
                                samples: vec![samples],
                            },
                        );
                        cursor += 1;
                    }
                }
            }
        }

        let mut pieces: Vec<Piece> = Vec::with_capacity(merged.iter().map(|f| 1 + f.samples.len()).sum());
        for family in merged {
            for piece in std::iter::once(family.header).chain(family.samples) {
                // A header followed by its own site's samples is one range of that text.
                match pieces.last_mut() {
                    Some(last) if last.site == piece.site && last.range.end == piece.range.start => {
                        last.range.end = piece.range.end;
                    }
                    _ => pieces.push(piece),
                }
            }
        }
        let len = pieces.iter().map(|p| p.range.len()).sum();
        SitesText { sites, pieces, len }
    }

    /// Length of the body part in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body part as slices of the sites' texts, in order.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.pieces
            .iter()
            .map(|p| &self.sites[p.site].bytes[p.range.clone()])
    }

    /// The body part as a reader, for an answer that streams it.
    pub fn reader(&self) -> SitesReader<'_> {
        SitesReader {
            text: self,
            piece: 0,
            offset: 0,
        }
    }

    /// Appends the body part to `body`.
    pub fn write_to(&self, body: &mut Vec<u8>) {
        body.reserve(self.len);
        for chunk in self.chunks() {
            body.extend_from_slice(chunk);
        }
    }
}

/// Reads a [`SitesText`] from the start.
pub struct SitesReader<'a> {
    text: &'a SitesText,
    piece: usize,
    offset: usize,
}

impl Read for SitesReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            let Some(piece) = self.text.pieces.get(self.piece) else {
                break;
            };
            let bytes = &self.text.sites[piece.site].bytes[piece.range.clone()];
            let rest = &bytes[self.offset..];
            let n = rest.len().min(buf.len() - written);
            buf[written..written + n].copy_from_slice(&rest[..n]);
            written += n;
            self.offset += n;
            if self.offset == bytes.len() {
                self.piece += 1;
                self.offset = 0;
            }
        }
        Ok(written)
    }
}
