//! `GET /manage/alerts` (all API versions): every alert, offset-paged, no time filter.
//!
//! It must not know how alerts are counted (`metrics::alerts`).

use std::time::Instant;

use serde::Deserialize;

use super::client::Client;
use super::decode;
use super::error::NbuError;
use super::listing::{decode_page, Listing, Paging};
use crate::api_version::ApiVersion;

/// The request label of alert queries.
pub const ALERTS_ENDPOINT: &str = "alerts";

/// One alert; `severity` (INFO WARNING ERROR) and `category` (JOB) are kept raw, so a value
/// outside the spec becomes its own label value.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Alert {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub attributes: AlertAttributes,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertAttributes {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub severity: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub category: String,
    /// RFC 3339 text.
    #[serde(default, deserialize_with = "decode::nullable")]
    pub created_date_time: String,
}

/// Decodes one alerts page.
pub fn decode_alerts_page(body: &[u8]) -> Result<Vec<Alert>, String> {
    decode_page(body, false).map(|p| p.records)
}

impl Client {
    /// Every alert on every page, handed to `each` page by page.
    pub fn fetch_alerts(
        &self,
        version: ApiVersion,
        deadline: Instant,
        each: impl FnMut(Alert),
    ) -> Result<(), NbuError> {
        let listing = Listing {
            endpoint: ALERTS_ENDPOINT,
            path: "/manage/alerts",
            paging: Paging::Offset { limit: 100 },
            query: &[],
        };
        self.read_listing(&listing, version, deadline, each)
    }
}
