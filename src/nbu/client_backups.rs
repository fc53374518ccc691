//! The targeted `/admin/jobs` query behind per-client freshness: the newest successful
//! BACKUP job of one client (`clientName eq '<name>' and jobType eq 'BACKUP' and status eq
//! 0`, `sort=-endTime`, `page[limit]=1`). Asked only for clients whose newest success is
//! not known from the jobs the sweep already reads.
//!
//! It must not know when it is asked (`collect::freshness`).

use std::time::Instant;

use super::catalog::odata_string;
use super::client::{Client, Get};
use super::error::NbuError;
use super::jobs::decode_jobs_page;
use crate::api_version::ApiVersion;
use crate::timefmt::UnixMillis;

/// The request label of the targeted query.
pub const CLIENT_BACKUPS_ENDPOINT: &str = "client-backups";

/// The filter of the targeted query, the client name as an OData string.
pub fn last_backup_filter(client: &str) -> String {
    format!(
        "clientName eq {} and jobType eq 'BACKUP' and status eq 0",
        odata_string(client)
    )
}

impl Client {
    /// The `endTime` of `client`'s newest successful backup; `None` when it has none.
    pub fn last_successful_backup(
        &self,
        version: ApiVersion,
        client: &str,
        deadline: Instant,
    ) -> Result<Option<UnixMillis>, NbuError> {
        let filter = last_backup_filter(client);
        let query = [
            ("filter", filter.as_str()),
            ("sort", "-endTime"),
            ("page[limit]", "1"),
        ];
        let get = Get {
            endpoint: CLIENT_BACKUPS_ENDPOINT,
            path: "/admin/jobs",
            query: &query,
            version,
        };
        let body = self.get(&get, deadline)?;
        let page = decode_jobs_page(&body).map_err(|e| self.decode_error(&get, e, &body))?;
        Ok(page.jobs.iter().filter_map(|j| j.end_time).max())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_name_is_an_odata_string() {
        assert_eq!(
            super::last_backup_filter("o'hara"),
            "clientName eq 'o''hara' and jobType eq 'BACKUP' and status eq 0"
        );
    }
}
