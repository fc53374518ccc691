//! `GET /catalog/images`, count only: `page[limit]=1` and `meta.pagination.count` for one
//! filter. String literals in the filter are OData strings: quoted, `'` doubled (the Go
//! exporter left them bare, which OData rejects).
//!
//! It must not know which counts are asked for (`collect::collectors`).

use std::time::Instant;

use serde::Deserialize;

use super::client::{Client, Get};
use super::decode;
use super::error::NbuError;
use crate::api_version::ApiVersion;

/// The request label of catalog queries.
pub const CATALOG_ENDPOINT: &str = "catalog";

/// `'text'` with every `'` doubled: an OData string literal.
pub fn odata_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[derive(Deserialize)]
struct CountPage {
    #[serde(deserialize_with = "decode::nullable")]
    meta: CountMeta,
}

#[derive(Default, Deserialize)]
struct CountMeta {
    #[serde(default, deserialize_with = "decode::nullable")]
    pagination: CountPagination,
}

#[derive(Default, Deserialize)]
struct CountPagination {
    count: Option<i64>,
}

/// `meta.pagination.count` of a catalog page; required, an integer.
pub fn decode_image_count(body: &[u8]) -> Result<u64, String> {
    let page: CountPage = decode::body(body)?;
    match page.meta.pagination.count {
        Some(n) => Ok(u64::try_from(n).unwrap_or(0)),
        None => Err("meta.pagination.count is missing".into()),
    }
}

impl Client {
    /// The number of catalog images matching `filter`.
    pub fn count_images(
        &self,
        version: ApiVersion,
        filter: &str,
        deadline: Instant,
    ) -> Result<u64, NbuError> {
        let query = [("filter", filter), ("page[limit]", "1")];
        let get = Get {
            endpoint: CATALOG_ENDPOINT,
            path: "/catalog/images",
            query: &query,
            version,
        };
        let body = self.get(&get, deadline)?;
        decode_image_count(&body).map_err(|e| self.decode_error(&get, e, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_and_counts_required() {
        assert_eq!(odata_string("CLEAN"), "'CLEAN'");
        assert_eq!(odata_string("o'brien"), "'o''brien'");
        assert_eq!(
            decode_image_count(br#"{"data":[],"meta":{"pagination":{"count":42}}}"#),
            Ok(42)
        );
        assert!(decode_image_count(br#"{"data":[]}"#).is_err());
        assert!(decode_image_count(br#"{"meta":{"pagination":{"count":"4"}}}"#).is_err());
    }
}
