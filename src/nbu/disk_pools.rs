//! `GET /storage/disk-pools` (10.0 and later; the Go exporter wrongly gates it at 12.0):
//! every disk pool with its disk volumes, offset-paged at the largest limit allowed (500).
//!
//! It must not know how pools become metrics (`metrics::disk_pools`).

use std::time::Instant;

use serde::Deserialize;

use super::client::Client;
use super::decode;
use super::error::NbuError;
use super::listing::{Listing, Paging};
use crate::api_version::ApiVersion;

/// The request label of disk pool queries.
pub const DISK_POOLS_ENDPOINT: &str = "disk-pools";

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct DiskPool {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub attributes: DiskPoolAttributes,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskPoolAttributes {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub storage_category: String,
    /// UP DOWN TRANSIENT (raw).
    #[serde(default, deserialize_with = "decode::nullable")]
    pub disk_pool_state: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub disk_volumes: Vec<DiskVolume>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct DiskVolume {
    /// UP DOWN UNKNOWN (raw).
    #[serde(default, deserialize_with = "decode::nullable")]
    pub state: String,
}

impl Client {
    /// Every disk pool on every page, handed to `each` page by page.
    pub fn fetch_disk_pools(
        &self,
        version: ApiVersion,
        deadline: Instant,
        each: impl FnMut(DiskPool),
    ) -> Result<(), NbuError> {
        let listing = Listing {
            endpoint: DISK_POOLS_ENDPOINT,
            path: "/storage/disk-pools",
            paging: Paging::Offset { limit: 500 },
            query: &[],
        };
        self.read_listing(&listing, version, deadline, each)
    }
}
