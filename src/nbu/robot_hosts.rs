//! `GET /storage/robots-device-hosts` (12.0 and later): the robot device hosts, one
//! unpaged answer of `{type, id}` records.
//!
//! It must not know how hosts become metrics (`metrics::tape`).

use std::time::Instant;

use serde::Deserialize;

use super::client::Client;
use super::decode;
use super::error::NbuError;
use super::listing::{Listing, Paging};
use crate::api_version::ApiVersion;

/// The request label of robot host queries.
pub const ROBOT_HOSTS_ENDPOINT: &str = "robots-device-hosts";

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct RobotHost {
    #[serde(default, deserialize_with = "decode::nullable")]
    pub id: String,
}

impl Client {
    /// Every robot device host, handed to `each`.
    pub fn fetch_robot_hosts(
        &self,
        version: ApiVersion,
        deadline: Instant,
        each: impl FnMut(RobotHost),
    ) -> Result<(), NbuError> {
        let listing = Listing {
            endpoint: ROBOT_HOSTS_ENDPOINT,
            path: "/storage/robots-device-hosts",
            paging: Paging::Single,
            query: &[],
        };
        self.read_listing(&listing, version, deadline, each)
    }
}
