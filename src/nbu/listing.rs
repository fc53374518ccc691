//! Reading a whole listing of one of the opt-in collectors' endpoints: every page, with the
//! endpoint's own pagination style (offset with `meta.pagination.count`, offset until a
//! short page, cursor `page[after]`, or a single unpaged answer), each page's records
//! handed to the caller before the next page is fetched (so a sweep aggregates while paging
//! and holds one page at a time), under a [`RecordCap`] per listing.
//!
//! Records are decoded strictly: unknown fields are ignored, but a used field of the wrong
//! type fails the page (and the collector), rather than becoming a silent 0. It must not
//! know what the records mean.

use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::client::{Client, Get};
use super::decode;
use super::error::NbuError;
use super::paging::{CursorPager, OffsetPager, RecordCap};
use crate::api_version::ApiVersion;

/// How an endpoint pages (README §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Paging {
    /// `page[offset]`/`page[limit]`, until `meta.pagination.count` is reached, or a short
    /// or empty page when the count is absent.
    Offset { limit: usize },
    /// `page[offset]`/`page[limit]` with no `meta` at all: until a page comes back shorter
    /// than `limit` (SLOs).
    OffsetUntilShort { limit: usize },
    /// `page[after]` ← `meta.pagination.next` (a string), until it is absent or empty.
    Cursor { limit: usize },
    /// One answer, no parameters.
    Single,
}

/// One listing to read.
pub(crate) struct Listing<'a> {
    /// The request label (`alerts`, `tape-media`, ...).
    pub endpoint: &'static str,
    /// Below the base URL, e.g. `/manage/alerts`.
    pub path: &'static str,
    pub paging: Paging,
    /// Extra parameters sent on every page (a `filter`).
    pub query: &'a [(&'a str, &'a str)],
}

/// One decoded page of any listing.
#[derive(Debug, PartialEq)]
pub struct ListingPage<R> {
    pub records: Vec<R>,
    /// `meta.pagination.count` (offset endpoints).
    pub count: Option<u64>,
    /// `meta.pagination.next` as a cursor (cursor endpoints).
    pub next: Option<String>,
}

#[derive(Deserialize)]
#[serde(bound = "R: Deserialize<'de>")]
struct RawPage<R> {
    #[serde(default, deserialize_with = "decode::nullable")]
    data: Vec<R>,
    #[serde(default, deserialize_with = "decode::nullable")]
    meta: RawMeta,
}

#[derive(Default, Deserialize)]
struct RawMeta {
    #[serde(default, deserialize_with = "decode::nullable")]
    pagination: RawPagination,
}

#[derive(Default, Deserialize)]
struct RawPagination {
    #[serde(default)]
    count: Option<i64>,
    /// An integer offset on offset endpoints, a string cursor on cursor endpoints.
    #[serde(default)]
    next: Option<serde_json::Value>,
}

/// Decodes one page. `cursor` says whether `meta.pagination.next` must be a string cursor.
pub(crate) fn decode_page<R: DeserializeOwned>(body: &[u8], cursor: bool) -> Result<ListingPage<R>, String> {
    let raw: RawPage<R> = decode::body(body)?;
    let p = raw.meta.pagination;
    let next = match p.next {
        Some(serde_json::Value::String(s)) => Some(s).filter(|s| !s.trim().is_empty()),
        None | Some(serde_json::Value::Null) => None,
        Some(other) if cursor => {
            return Err(format!(
                "meta.pagination.next: expected a string cursor, got {other}"
            ))
        }
        Some(_) => None,
    };
    Ok(ListingPage {
        records: raw.data,
        count: p.count.map(|c| u64::try_from(c).unwrap_or(0)),
        next,
    })
}

impl Client {
    /// Reads every page of `listing`, calling `each` for every record, page by page. Fails
    /// on the first failed request or undecodable page, when pagination does not converge,
    /// or past `ClientOptions::max_collector_records` records.
    pub(crate) fn read_listing<R: DeserializeOwned>(
        &self,
        listing: &Listing,
        version: ApiVersion,
        deadline: Instant,
        mut each: impl FnMut(R),
    ) -> Result<(), NbuError> {
        let stopped = |detail| NbuError::Pagination {
            endpoint: listing.endpoint,
            detail,
        };
        let mut cap = RecordCap::new(self.options.max_collector_records, "records");
        let (limit, cursor_style) = match listing.paging {
            Paging::Offset { limit } | Paging::OffsetUntilShort { limit } => (limit, false),
            Paging::Cursor { limit } => (limit, true),
            Paging::Single => (0, false),
        };
        let limit_text = limit.to_string();
        let mut offsets = OffsetPager::new(limit, self.options.max_pages);
        let mut cursors = CursorPager::new(self.options.max_pages);
        let mut after: Option<String> = None;
        loop {
            let offset_text = offsets.offset().to_string();
            let mut query: Vec<(&str, &str)> = listing.query.to_vec();
            match listing.paging {
                Paging::Offset { .. } | Paging::OffsetUntilShort { .. } => {
                    query.push(("page[offset]", &offset_text));
                    query.push(("page[limit]", &limit_text));
                }
                Paging::Cursor { .. } => {
                    query.push(("page[limit]", &limit_text));
                    if let Some(cursor) = after.as_deref() {
                        query.push(("page[after]", cursor));
                    }
                }
                Paging::Single => {}
            }
            let get = Get {
                endpoint: listing.endpoint,
                path: listing.path,
                query: &query,
                version,
            };
            let body = self.get(&get, deadline)?;
            let page: ListingPage<R> =
                decode_page(&body, cursor_style).map_err(|e| self.decode_error(&get, e, &body))?;
            let rows = page.records.len();
            cap.admit(rows).map_err(stopped)?;
            page.records.into_iter().for_each(&mut each);
            let more = match listing.paging {
                Paging::Single => false,
                Paging::Offset { .. } => offsets.after_page(rows, page.count, None).map_err(stopped)?,
                Paging::OffsetUntilShort { .. } => offsets.after_page(rows, None, None).map_err(stopped)?,
                Paging::Cursor { .. } => {
                    after = cursors.after_page(rows, page.next.as_deref()).map_err(stopped)?;
                    after.is_some()
                }
            };
            if !more {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Rec {
        id: String,
    }

    #[test]
    fn pages_decode_strictly_on_what_is_used() {
        let page: ListingPage<Rec> = decode_page(
            br#"{"data":[{"id":"a","x":1}],"meta":{"pagination":{"count":3,"next":1}}}"#,
            false,
        )
        .unwrap();
        assert_eq!(page.records, [Rec { id: "a".into() }]);
        assert_eq!((page.count, page.next), (Some(3), None));
        let page: ListingPage<Rec> =
            decode_page(br#"{"data":[],"meta":{"pagination":{"next":"c.1"}}}"#, true).unwrap();
        assert_eq!(page.next.as_deref(), Some("c.1"));
        let page: ListingPage<Rec> = decode_page(br#"{"data":null}"#, true).unwrap();
        assert!(page.records.is_empty());
        for (body, cursor, says) in [
            (&br#"{"data":[{"id":5}]}"#[..], false, "invalid type"),
            (br#"{"data":{}}"#, false, "invalid type"),
            (
                br#"{"data":[],"meta":{"pagination":{"next":7}}}"#,
                true,
                "string cursor",
            ),
            (
                br#"{"data":[],"meta":{"pagination":{"count":"7"}}}"#,
                false,
                "invalid type",
            ),
            (b"nope", false, "JSON"),
        ] {
            let err = decode_page::<Rec>(body, cursor).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }
}
