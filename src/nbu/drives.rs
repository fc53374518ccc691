//! `GET /storage/drives` (10.0 and later): every tape drive, offset-paged (limit 100). The
//! drive name is the resource `id`; there is no `driveName` attribute.
//!
//! It must not know how drives become metrics (`metrics::tape`).

use std::time::Instant;

use serde::Deserialize;

use super::client::Client;
use super::decode;
use super::error::NbuError;
use super::listing::{decode_page, Listing, Paging};
use crate::api_version::ApiVersion;

/// The request label of drive queries.
pub const DRIVES_ENDPOINT: &str = "drives";

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Drive {
    /// The drive name.
    #[serde(default, deserialize_with = "decode::nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub attributes: DriveAttributes,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriveAttributes {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub drive_type: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub drive_status: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub robot_type: String,
    #[serde(default)]
    pub robot_number: Option<i64>,
    /// A host, or `<multiple>`.
    #[serde(default, deserialize_with = "decode::nullable")]
    pub device_host: String,
}

pub fn decode_drives_page(body: &[u8]) -> Result<Vec<Drive>, String> {
    decode_page(body, false).map(|p| p.records)
}

impl Client {
    /// Every drive on every page, handed to `each` page by page.
    pub fn fetch_drives(
        &self,
        version: ApiVersion,
        deadline: Instant,
        each: impl FnMut(Drive),
    ) -> Result<(), NbuError> {
        let listing = Listing {
            endpoint: DRIVES_ENDPOINT,
            path: "/storage/drives",
            paging: Paging::Offset { limit: 100 },
            query: &[],
        };
        self.read_listing(&listing, version, deadline, each)
    }
}
