//! `GET /storage/tape-media` (12.0 and later; absent from 10.0): every tape volume, paged by
//! cursor (`page[after]`; an offset would be ignored and the first page re-read forever).
//! The robot type is the nested `robot.robotType`.
//!
//! It must not know how volumes become metrics (`metrics::tape`).

use std::time::Instant;

use serde::Deserialize;

use super::client::Client;
use super::decode;
use super::error::NbuError;
use super::listing::{decode_page, Listing, Paging};
use crate::api_version::ApiVersion;

/// The request label of tape media queries.
pub const TAPE_MEDIA_ENDPOINT: &str = "tape-media";

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct TapeVolume {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub attributes: TapeVolumeAttributes,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TapeVolumeAttributes {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub media_type: String,
    #[serde(default, deserialize_with = "decode::nullable")]
    pub volume_pool: String,
    /// Absent for a standalone volume.
    #[serde(default)]
    pub robot: Option<VolumeRobot>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeRobot {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub robot_type: String,
}

pub fn decode_tape_media_page(body: &[u8]) -> Result<Vec<TapeVolume>, String> {
    decode_page(body, true).map(|p| p.records)
}

impl Client {
    /// Every tape volume on every page, handed to `each` page by page.
    pub fn fetch_tape_media(
        &self,
        version: ApiVersion,
        deadline: Instant,
        each: impl FnMut(TapeVolume),
    ) -> Result<(), NbuError> {
        let listing = Listing {
            endpoint: TAPE_MEDIA_ENDPOINT,
            path: "/storage/tape-media",
            paging: Paging::Cursor { limit: 100 },
            query: &[],
        };
        self.read_listing(&listing, version, deadline, each)
    }
}
