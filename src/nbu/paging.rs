//! The two NetBackup pagination styles as small state machines: given what a page
//! returned, decide the next request or stop, and refuse to loop forever (repeated
//! cursor, ignored offset, too many pages) or to hold too much (`RecordCap`: too many
//! records in one sweep).
//!
//! Pure: no HTTP, no decoding. `nbu::jobs` and `nbu::storage` drive them.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Cursor style (`page[after]` ← `meta.pagination.next`, an opaque string).
#[derive(Debug)]
pub(crate) struct CursorPager {
    max_pages: usize,
    pages: usize,
    /// A 64-bit hash of every cursor followed, not the cursor: the server chooses a
    /// cursor's length, and keeping `max_pages` long ones held hundreds of MiB. Two
    /// different cursors sharing a hash (odds about 1 in 10^11 at 10,000 pages) would stop
    /// the listing with a "repeated cursor" error, never loop it.
    seen: HashSet<u64>,
}

/// A server-chosen text (a cursor, a record id) as quoted in an error: its first 40
/// characters when it is longer.
fn quoted(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
        None => format!("{text:?}"),
    }
}

fn cursor_hash(cursor: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    cursor.hash(&mut hasher);
    hasher.finish()
}

impl CursorPager {
    pub(crate) fn new(max_pages: usize) -> CursorPager {
        CursorPager {
            max_pages: max_pages.max(1),
            pages: 0,
            seen: HashSet::new(),
        }
    }

    /// After a page with `rows` records and cursor `next`: `Ok(Some(cursor))` to fetch
    /// `page[after]=cursor`, `Ok(None)` when done, `Err` when pagination does not converge.
    pub(crate) fn after_page(&mut self, rows: usize, next: Option<&str>) -> Result<Option<String>, String> {
        self.pages += 1;
        let next = match next.map(str::trim) {
            Some(n) if !n.is_empty() && rows > 0 => n,
            _ => return Ok(None),
        };
        if !self.seen.insert(cursor_hash(next)) {
            return Err(format!(
                "the server repeated cursor {} after {} pages",
                quoted(next),
                self.pages
            ));
        }
        if self.pages >= self.max_pages {
            return Err(format!("more than {} pages", self.max_pages));
        }
        Ok(Some(next.to_string()))
    }
}

/// Offset style (`page[offset]`, advanced by the rows each page returned).
#[derive(Debug)]
pub(crate) struct OffsetPager {
    limit: usize,
    max_pages: usize,
    pages: usize,
    offset: u64,
    previous_first: Option<String>,
}

impl OffsetPager {
    pub(crate) fn new(limit: usize, max_pages: usize) -> OffsetPager {
        OffsetPager {
            limit,
            max_pages: max_pages.max(1),
            pages: 0,
            offset: 0,
            previous_first: None,
        }
    }

    /// The offset of the next request.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// After a page that returned `rows` records, the first one identified by `first_id`,
    /// with `meta.pagination.count` = `count`: `Ok(true)` to fetch the next page at
    /// `offset()`, `Ok(false)` when done, `Err` when pagination does not converge.
    pub(crate) fn after_page(
        &mut self,
        rows: usize,
        count: Option<u64>,
        first_id: Option<&str>,
    ) -> Result<bool, String> {
        self.pages += 1;
        if rows == 0 {
            return Ok(false);
        }
        if let (Some(first), Some(previous)) = (first_id, self.previous_first.as_deref()) {
            if !first.is_empty() && first == previous {
                return Err(format!(
                    "the server ignored page[offset]={} (page starts with {} again)",
                    self.offset,
                    quoted(first)
                ));
            }
        }
        self.previous_first = first_id.map(str::to_string);
        self.offset = self.offset.saturating_add(rows as u64);
        let more = match count {
            Some(count) => self.offset < count,
            None => rows >= self.limit,
        };
        if more && self.pages >= self.max_pages {
            return Err(format!("more than {} pages", self.max_pages));
        }
        Ok(more)
    }
}

/// The most records of one resource a sweep may hold, over every page of every query it
/// makes for that resource. Consulted before a page's records are kept, so what is held
/// never exceeds `max`.
#[derive(Debug)]
pub struct RecordCap {
    max: usize,
    /// What the records are, plural (`jobs`, `storage units`), for the error text.
    noun: &'static str,
    held: usize,
    pages: usize,
}

impl RecordCap {
    pub fn new(max: usize, noun: &'static str) -> RecordCap {
        RecordCap {
            max,
            noun,
            held: 0,
            pages: 0,
        }
    }

    /// Before keeping a page of `rows` records: `Ok` when the records held would stay
    /// within the cap (they then count as held), `Err` when they would not.
    pub fn admit(&mut self, rows: usize) -> Result<(), String> {
        self.pages += 1;
        let held = self.held.saturating_add(rows);
        if held > self.max {
            return Err(format!(
                "the listing did not end within {} {} ({} pages read); refusing to hold more in one sweep",
                self.max, self.noun, self.pages
            ));
        }
        self.held = held;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_pager() {
        // (rows, next) per page, and the expected outcome of the last step.
        type Step<'a> = (usize, Option<&'a str>);
        let check = |max_pages: usize, steps: &[Step], want: Result<Option<&str>, &str>| {
            let mut pager = CursorPager::new(max_pages);
            let mut got = Ok(None);
            for (rows, next) in steps {
                got = pager.after_page(*rows, *next);
                if got.is_err() {
                    break;
                }
            }
            let got = got.as_ref().map(|o| o.as_deref()).map_err(String::as_str);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{steps:?}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{g} vs {w}"),
                (g, w) => panic!("{steps:?}: got {g:?}, want {w:?}"),
            }
        };
        check(10, &[(100, Some("abc"))], Ok(Some("abc")));
        check(10, &[(100, Some("abc")), (100, Some("def"))], Ok(Some("def")));
        check(10, &[(100, Some(""))], Ok(None));
        check(10, &[(100, None)], Ok(None));
        check(10, &[(0, Some("abc"))], Ok(None));
        check(10, &[(100, Some("  "))], Ok(None));
        check(
            10,
            &[(100, Some("9007199254740993"))],
            Ok(Some("9007199254740993")),
        );
        check(
            10,
            &[(100, Some("a")), (100, Some("b")), (100, Some("a"))],
            Err("repeated cursor \"a\""),
        );
        check(2, &[(100, Some("a")), (100, Some("b"))], Err("more than 2 pages"));
        check(2, &[(100, Some("a")), (100, None)], Ok(None));
    }

    #[test]
    fn long_cursors_are_told_apart_and_repeats_caught() {
        // Cursors that differ only in their last byte, as a 16 KiB server cursor might.
        let long = |last: char| format!("{}{last}", "x".repeat(16 * 1024));
        let mut pager = CursorPager::new(10);
        for last in ['a', 'b', 'c'] {
            assert_eq!(pager.after_page(1, Some(&long(last))), Ok(Some(long(last))));
        }
        let err = pager.after_page(1, Some(&long('b'))).unwrap_err();
        let x40 = "x".repeat(40);
        assert_eq!(
            err,
            format!("the server repeated cursor \"{x40}\"... (16385 bytes) after 4 pages")
        );
    }

    #[test]
    fn record_cap() {
        // (cap, rows per page, pages admitted before the error, or None when all are)
        let cases: &[(usize, &[usize], Option<usize>)] = &[
            (250, &[100, 100, 50], None),
            (250, &[100, 100, 50, 0], None),
            (250, &[100, 100, 100], Some(2)),
            (250, &[100, 100, 51], Some(2)),
            (250, &[251], Some(0)),
            (0, &[0, 0], None),
            (0, &[1], Some(0)),
            (usize::MAX, &[usize::MAX, 1], None),
        ];
        for &(max, pages, want) in cases {
            let mut cap = RecordCap::new(max, "storage units");
            let mut held = 0usize;
            let mut admitted = 0;
            let mut error = None;
            for &rows in pages {
                match cap.admit(rows) {
                    Ok(()) => {
                        held = held.saturating_add(rows);
                        admitted += 1;
                    }
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
                assert!(held <= max, "{max} {pages:?}: holding {held}");
            }
            match (want, error) {
                (None, None) => assert_eq!(admitted, pages.len()),
                (Some(n), Some(e)) => {
                    assert_eq!(admitted, n, "{max} {pages:?}");
                    assert_eq!(
                        e,
                        format!(
                            "the listing did not end within {max} storage units ({} pages read); \
                             refusing to hold more in one sweep",
                            n + 1
                        )
                    );
                }
                (want, got) => panic!("{max} {pages:?}: want an error after {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn offset_pager() {
        // (rows, count, first id) per page; the offsets requested; the final outcome.
        type Page<'a> = (usize, Option<u64>, Option<&'a str>);
        let check = |max_pages: usize, pages: &[Page], offsets: &[u64], want: Result<bool, &str>| {
            let mut pager = OffsetPager::new(100, max_pages);
            let mut got_offsets = vec![pager.offset()];
            let mut got = Ok(false);
            for (rows, count, first) in pages {
                got = pager.after_page(*rows, *count, *first);
                match got {
                    Ok(true) => got_offsets.push(pager.offset()),
                    _ => break,
                }
            }
            assert_eq!(got_offsets, offsets, "{pages:?}");
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w),
                (Err(g), Err(w)) => assert!(g.contains(w), "{g} vs {w}"),
                (g, w) => panic!("{pages:?}: got {g:?}, want {w:?}"),
            }
        };
        // count known: 250 units over 3 pages
        check(
            10,
            &[
                (100, Some(250), Some("a")),
                (100, Some(250), Some("b")),
                (50, Some(250), Some("c")),
            ],
            &[0, 100, 200],
            Ok(false),
        );
        // count absent: stop on a short page
        check(
            10,
            &[(100, None, Some("a")), (7, None, Some("b"))],
            &[0, 100],
            Ok(false),
        );
        // count absent, exact multiple: one extra empty page
        check(
            10,
            &[(100, None, Some("a")), (0, None, None)],
            &[0, 100],
            Ok(false),
        );
        // server page size smaller than ours, count known: keep going by rows returned
        check(
            10,
            &[(10, Some(25), Some("a")), (10, Some(25), Some("b"))],
            &[0, 10, 20],
            Ok(true),
        );
        // empty first page
        check(10, &[(0, Some(0), None)], &[0], Ok(false));
        // offset ignored
        check(
            10,
            &[(100, Some(300), Some("a")), (100, Some(300), Some("a"))],
            &[0, 100],
            Err("ignored page[offset]=100"),
        );
        // too many pages
        check(
            2,
            &[(100, Some(1000), Some("a")), (100, Some(1000), Some("b"))],
            &[0, 100],
            Err("more than 2 pages"),
        );
    }
}
