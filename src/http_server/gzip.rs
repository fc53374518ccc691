//! gzip for `/metrics`: which coding a request's `Accept-Encoding` allows, and one gzip
//! member built from a part compressed once (the sites' families, reused while no
//! snapshot changes) followed by a part compressed per scrape (the self-metrics).
//!
//! A deflate stream can be cut at a sync flush: the blocks before it are not final and end
//! on a byte boundary, so the blocks of a second, independent compressor may follow, and
//! the trailer's CRC-32 is the combination of the two parts' CRCs. A decoder sees one
//! ordinary member. This module knows bytes and header values only, not what they hold.

use flate2::{Compress, Compression, FlushCompress, Status};

/// The coding of a `/metrics` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Coding {
    Gzip,
    Identity,
}

/// What `Accept-Encoding` (every field of that name, in order) allows, preferring gzip
/// unless identity has a higher weight (RFC 9110 §12.5.3). No field: identity, as a
/// client that says nothing may not decode gzip. `gzip;q=0` or `identity;q=0` exclude a
/// coding; `*` stands for any coding not named. `None` when neither is acceptable.
pub(super) fn negotiate<'a>(fields: impl IntoIterator<Item = &'a str>) -> Option<Coding> {
    let mut seen_field = false;
    let (mut gzip, mut identity, mut any) = (None, None, None);
    for field in fields {
        seen_field = true;
        for item in field.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            if coding.is_empty() {
                continue;
            }
            let mut weight = Some(1000);
            for param in parts {
                if let Some((name, value)) = param.split_once('=') {
                    if name.trim().eq_ignore_ascii_case("q") {
                        weight = parse_qvalue(value.trim());
                    }
                }
            }
            // A malformed weight makes the item meaningless; it is skipped.
            let Some(weight) = weight else { continue };
            match coding.as_str() {
                "gzip" | "x-gzip" => gzip = Some(weight),
                "identity" => identity = Some(weight),
                "*" => any = Some(weight),
                _ => {}
            }
        }
    }
    if !seen_field {
        return Some(Coding::Identity);
    }
    let gzip = gzip.or(any).unwrap_or(0);
    let identity = identity.or(any).unwrap_or(1);
    if gzip > 0 && gzip >= identity {
        Some(Coding::Gzip)
    } else if identity > 0 {
        Some(Coding::Identity)
    } else {
        None
    }
}

/// A qvalue in thousandths: `0` to `1` with at most three decimals.
fn parse_qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The gzip header: deflate, no name, no time, unknown OS.
pub(super) const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// How hard the part compressed once is compressed (it is reused by every scrape until a
/// snapshot changes).
const PREFIX_LEVEL: u32 = 6;
/// How hard the per-scrape part is compressed: a few kilobytes of self-metrics.
const TAIL_LEVEL: u32 = 1;

/// The first part of a member: deflate blocks ending in a sync flush, and the CRC-32 and
/// length of what they hold.
pub(super) struct DeflatedPrefix {
    blocks: Vec<u8>,
    crc: crc32fast::Hasher,
}

impl DeflatedPrefix {
    /// Compresses `plain`, given as consecutive chunks of `len` bytes in all; `None` only
    /// if the compressor fails, which it does not on valid use.
    pub(super) fn new<'a>(plain: impl IntoIterator<Item = &'a [u8]>, len: usize) -> Option<DeflatedPrefix> {
        let mut compress = Compress::new(Compression::new(PREFIX_LEVEL), false);
        let mut blocks = Vec::with_capacity(len / 8 + 1024);
        let mut crc = crc32fast::Hasher::new();
        for chunk in plain {
            deflate(&mut compress, chunk, FlushCompress::None, &mut blocks)?;
            crc.update(chunk);
        }
        deflate(&mut compress, &[], FlushCompress::Sync, &mut blocks)?;
        blocks.shrink_to_fit();
        Some(DeflatedPrefix { blocks, crc })
    }

    /// The compressed bytes, to send after `HEADER`.
    pub(super) fn blocks(&self) -> &[u8] {
        &self.blocks
    }
}

/// A compressor for the per-scrape part, kept by a worker between scrapes.
pub(super) struct TailCompressor(Compress);

impl TailCompressor {
    pub(super) fn new() -> TailCompressor {
        TailCompressor(Compress::new(Compression::new(TAIL_LEVEL), false))
    }

    /// Writes into `out` (cleared first) the rest of the member that `prefix` starts:
    /// `tail` compressed to the final block, then the trailer. `None` if the compressor
    /// fails.
    pub(super) fn finish(&mut self, prefix: &DeflatedPrefix, tail: &[u8], out: &mut Vec<u8>) -> Option<()> {
        out.clear();
        self.0.reset();
        deflate(&mut self.0, tail, FlushCompress::Finish, out)?;
        let mut crc = prefix.crc.clone();
        let mut tail_crc = crc32fast::Hasher::new();
        tail_crc.update(tail);
        crc.combine(&tail_crc);
        // ISIZE is the length modulo 2^32.
        let length = crc.total_len() as u32;
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&length.to_le_bytes());
        Some(())
    }
}

/// Feeds all of `input` to `compress` and flushes with `flush`, growing `out` as needed.
/// Stops with `None` when the compressor errs or makes no progress.
fn deflate(compress: &mut Compress, mut input: &[u8], flush: FlushCompress, out: &mut Vec<u8>) -> Option<()> {
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(16 * 1024));
        }
        let (before_in, before_out) = (compress.total_in(), compress.total_out());
        let status = compress.compress_vec(input, out, flush).ok()?;
        let consumed = (compress.total_in() - before_in) as usize;
        let produced = compress.total_out() - before_out;
        input = input.get(consumed..)?;
        let room_left = out.len() < out.capacity();
        match (flush, status) {
            (FlushCompress::Finish, Status::StreamEnd) => return Some(()),
            (FlushCompress::Finish, _) => {}
            // A flush is complete once all input is in and the output did not fill up.
            (_, _) if input.is_empty() && room_left => return Some(()),
            _ => {}
        }
        if consumed == 0 && produced == 0 && room_left {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn check(fields: &[&str], want: Option<Coding>) {
        assert_eq!(
            negotiate(fields.iter().copied()),
            want,
            "Accept-Encoding {fields:?}"
        );
    }

    #[test]
    fn accept_encoding_is_honoured() {
        use Coding::{Gzip, Identity};
        check(&[], Some(Identity));
        check(&[""], Some(Identity));
        check(&["gzip"], Some(Gzip));
        check(&["GZip"], Some(Gzip));
        check(&["x-gzip"], Some(Gzip));
        // What Prometheus, curl --compressed and browsers send.
        check(&["gzip"], Some(Gzip));
        check(&["deflate, gzip, br, zstd"], Some(Gzip));
        check(&["gzip, deflate, br"], Some(Gzip));
        check(&["br"], Some(Identity));
        check(&["gzip;q=0"], Some(Identity));
        check(&["gzip; q=0.000"], Some(Identity));
        check(&["gzip;q=0.001"], Some(Gzip));
        check(&["gzip;q=0.5, identity;q=1"], Some(Identity));
        check(&["gzip;q=1, identity;q=0.5"], Some(Gzip));
        check(&["gzip;q=0.5, identity;q=0.5"], Some(Gzip));
        check(&["*"], Some(Gzip));
        check(&["*;q=0.3, identity;q=0.2"], Some(Gzip));
        check(&["*;q=0"], None);
        check(&["*;q=0, identity"], Some(Identity));
        check(&["*;q=0, gzip"], Some(Gzip));
        check(&["gzip;q=0, *"], Some(Identity));
        check(&["identity;q=0"], None);
        check(&["identity;q=0, gzip"], Some(Gzip));
        check(&["identity"], Some(Identity));
        // Several fields are one list.
        check(&["br", "gzip"], Some(Gzip));
        check(&["gzip", "gzip;q=0"], Some(Identity));
        // Malformed weights are skipped, not trusted.
        check(&["gzip;q=2"], Some(Identity));
        check(&["gzip;q=abc"], Some(Identity));
        check(&["gzip;q=0.1234"], Some(Identity));
        check(&["gzip;q=1.5"], Some(Identity));
        check(&["gzip;q=1.000"], Some(Gzip));
        check(&[" , ;, gzip ;q=1 "], Some(Gzip));
    }

    /// The header, `blocks`, then the finished tail: what `/metrics` sends.
    fn member(prefix: &[u8], tail: &[u8], compressor: &mut TailCompressor) -> Vec<u8> {
        // In uneven chunks, as a body assembled from the sites' texts comes.
        let mut chunks = Vec::new();
        let mut rest = prefix;
        for size in [1usize, 100, 5_000, 70_000].into_iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, after) = rest.split_at(size.min(rest.len()));
            chunks.push(chunk);
            rest = after;
        }
        let deflated = DeflatedPrefix::new(chunks, prefix.len()).expect("compress");
        let mut rest = Vec::new();
        compressor.finish(&deflated, tail, &mut rest).expect("compress");
        [&HEADER[..], deflated.blocks(), &rest].concat()
    }

    fn gunzip(member: &[u8]) -> Vec<u8> {
        // GzDecoder reads one member and checks its CRC and length.
        let mut decoder = flate2::read::GzDecoder::new(member);
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).expect("a valid gzip member");
        out
    }

    #[test]
    fn a_spliced_member_decodes_to_both_parts() {
        let text = |seed: usize, n: usize| -> Vec<u8> {
            (0..n)
                .map(|i| {
                    format!(
                        "nbu_jobs_count{{site=\"s{}\",policy=\"p{}\"}} {}\n",
                        seed,
                        i % 97,
                        i * seed
                    )
                })
                .collect::<String>()
                .into_bytes()
        };
        let mut compressor = TailCompressor::new();
        let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (Vec::new(), Vec::new()),
            (Vec::new(), b"tail only\n".to_vec()),
            (b"prefix only\n".to_vec(), Vec::new()),
            (text(1, 10), text(2, 10)),
            // Past a 64 KiB output chunk and the 32 KiB window, with repeats across the cut.
            (text(3, 40_000), text(3, 3_000)),
            (
                (0..200_000u32)
                    .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
                    .collect(),
                text(4, 100),
            ),
        ];
        for (prefix, tail) in &cases {
            // The same compressor serves every case in turn, as a worker's does.
            let got = gunzip(&member(prefix, tail, &mut compressor));
            assert!(
                got == [prefix.as_slice(), tail].concat(),
                "prefix {} tail {}",
                prefix.len(),
                tail.len()
            );
        }
    }

    #[test]
    fn the_member_is_complete_and_compresses_metrics_text() {
        let prefix: Vec<u8> = (0..20_000)
            .map(|i| {
                format!(
                    "nbu_disk_bytes{{site=\"paris\",name=\"stu{i}\",type=\"MediaServer\"}} {}\n",
                    i * 1024
                )
            })
            .collect::<String>()
            .into_bytes();
        let gz = member(
            &prefix,
            b"nbu_exporter_config_generation 7\n",
            &mut TailCompressor::new(),
        );
        assert!(gz.len() * 5 < prefix.len(), "{} -> {}", prefix.len(), gz.len());
        // Nothing after the member: the multi-member decoder reads no more than one.
        let mut all = Vec::new();
        flate2::read::MultiGzDecoder::new(gz.as_slice())
            .read_to_end(&mut all)
            .expect("valid");
        assert_eq!(all.len(), prefix.len() + 33);
        let len = u32::from_le_bytes(gz[gz.len() - 4..].try_into().unwrap());
        assert_eq!(len as usize, prefix.len() + 33);
    }
}
