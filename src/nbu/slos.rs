//! `GET /servicecatalog/slos` (10.0, 12.0, 13.0; 14.0 assumed the same, since the 11.2
//! bundle has no service catalog spec): every SLO definition. The schema has only `data`,
//! no `meta`, so pages are read by offset until one comes back short.
//!
//! It must not know how SLOs become metrics (`metrics::slos`).

use std::time::Instant;

use serde::Deserialize;

use super::client::Client;
use super::decode;
use super::error::NbuError;
use super::listing::{decode_page, Listing, Paging};
use crate::api_version::ApiVersion;

/// The request label of SLO queries.
pub const SLOS_ENDPOINT: &str = "slos";

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Slo {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub attributes: SloAttributes,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SloAttributes {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub workload_type: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub subscription_count: i64,
}

pub fn decode_slos_page(body: &[u8]) -> Result<Vec<Slo>, String> {
    decode_page(body, false).map(|p| p.records)
}

impl Client {
    /// Every SLO on every page, handed to `each` page by page.
    pub fn fetch_slos(
        &self,
        version: ApiVersion,
        deadline: Instant,
        each: impl FnMut(Slo),
    ) -> Result<(), NbuError> {
        let listing = Listing {
            endpoint: SLOS_ENDPOINT,
            path: "/servicecatalog/slos",
            paging: Paging::OffsetUntilShort { limit: 100 },
            query: &[],
        };
        self.read_listing(&listing, version, deadline, each)
    }
}
