//! What a site's poller and its collector parts need for their runs: [`PollSettings`],
//! replaced as a whole on reload.
//!
//! Plain data; it must not know threads or how a sweep runs.

use std::sync::Arc;
use std::time::Duration;

use crate::config::model::CollectorsConfig;
use crate::config::SiteConfig;
use crate::nbu::Client;

/// What a poller needs for a sweep; replaced as a whole on reload.
pub struct PollSettings {
    pub site: SiteConfig,
    pub client: Arc<Client>,
    /// Time between sweep starts.
    pub interval: Duration,
    /// Hard deadline of one sweep.
    pub timeout: Duration,
    /// The jobs look-back window.
    pub window: Duration,
    /// Time between full jobs downloads; zero: every sweep is one.
    pub resync_interval: Duration,
    /// The opt-in collectors (`collectors.*`).
    pub collectors: CollectorsConfig,
}
