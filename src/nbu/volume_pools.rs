//! `GET /storage/tape-volume-pools` (12.0 and later): every tape volume pool, paged by
//! cursor (`page[after]`).
//!
//! It must not know how pools become metrics (`metrics::tape`).

use std::time::Instant;

use serde::Deserialize;

use super::client::Client;
use super::decode;
use super::error::NbuError;
use super::listing::{Listing, Paging};
use crate::api_version::ApiVersion;

/// The request label of volume pool queries.
pub const VOLUME_POOLS_ENDPOINT: &str = "tape-volume-pools";

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct VolumePool {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub attributes: VolumePoolAttributes,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumePoolAttributes {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub volume_pool_name: String,
    /// REGULAR_MEDIA_POOL SCRATCH_MEDIA_POOL CATALOG_MEDIA_POOL AVAILABLE_MEDIA_POOL (raw).
    #[serde(default, deserialize_with = "decode::nullable")]
    pub pool_type: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub partially_full_media: i64,
}

impl Client {
    /// Every volume pool on every page, handed to `each` page by page.
    pub fn fetch_volume_pools(
        &self,
        version: ApiVersion,
        deadline: Instant,
        each: impl FnMut(VolumePool),
    ) -> Result<(), NbuError> {
        let listing = Listing {
            endpoint: VOLUME_POOLS_ENDPOINT,
            path: "/storage/tape-volume-pools",
            paging: Paging::Cursor { limit: 100 },
            query: &[],
        };
        self.read_listing(&listing, version, deadline, each)
    }
}
