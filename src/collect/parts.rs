//! Running the opt-in collector parts of one site (the rows of `collectors::PARTS`), each
//! on its own cadence (`collectors.<key>.interval`, default `server.collectionInterval`)
//! and its own deadline ([`part_timeout`]), apart from the jobs and storage sweep: a hung
//! part delays nothing but itself.
//!
//! One scheduler thread per site (`parts-SITE`, started and stopped with the site's poller,
//! which joins it) plans the parts and runs each due one on a short-lived scoped thread of
//! its own; the scheduler joins them before it ends, each bounded by its deadline. A part
//! that becomes enabled, or whose window or allowlist changes, runs at once; an interval
//! change re-plans from the last run. Parts wait for the API version the poller detects;
//! one whose endpoint the version lacks is never requested.
//!
//! It must not know what a part fetches (`collectors`) nor how its data is kept
//! ([`PartsHost::publish_part`], which `site::SiteRuntime` implements).

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::collectors::{Part, RunInput, PARTS};
use super::freshness::FreshnessBook;
use super::settings::PollSettings;
use super::snapshot::PartValue;
use crate::api_version::ApiVersion;
use crate::config::model::CollectorKey;

/// What a collector part's run, or the jobs sweep for the per-client part, hands to
/// [`SiteRuntime::publish_part`].
pub(crate) enum PartOutcome {
    /// The site's API version lacks the part's endpoint; nothing was requested.
    Unsupported,
    /// A run finished: the new data, or why it failed (the last good data is kept).
    Ran {
        result: Result<PartValue, String>,
        duration: Duration,
    },
    /// New data without a run of the part (the jobs sweep's per-client view).
    Refreshed(PartValue),
}

/// The site runtime as the scheduler sees it (`site::SiteRuntime`).
pub(crate) trait PartsHost: Sync {
    /// The site name.
    fn site(&self) -> &str;
    fn settings(&self) -> Arc<PollSettings>;
    /// The API version the poller found (or the one configured is in the settings).
    fn api_version(&self) -> Option<ApiVersion>;
    fn freshness(&self) -> &Mutex<FreshnessBook>;
    fn publish_part(&self, part: &'static Part, outcome: PartOutcome);
}

/// What the scheduler is told.
pub(crate) enum PartsCmd {
    /// Begin (the generation holding the runtime is live).
    Start,
    /// Settings changed: re-plan.
    Refresh,
    /// The poller finished a sweep (the API version may be known now).
    Swept,
    /// A part's run finished.
    Finished,
    Stop,
}

/// What a part's schedule depends on; a change re-plans it.
#[derive(Clone, Debug, PartialEq)]
struct Plan {
    interval: Duration,
    window: Duration,
    allowlist: Vec<String>,
}

impl Plan {
    /// `None` when the part is disabled.
    fn of(settings: &PollSettings, part: &Part) -> Option<Plan> {
        let section = settings.collectors.get(part.key);
        section.enabled.then(|| Plan {
            interval: section.interval.unwrap_or(settings.interval),
            window: section.window,
            allowlist: if part.key == CollectorKey::PerClient {
                settings.collectors.allowlist.clone()
            } else {
                Vec::new()
            },
        })
    }

    fn differs_only_in_interval(&self, other: &Plan) -> bool {
        self.window == other.window && self.allowlist == other.allowlist
    }
}

#[derive(Default)]
struct Slot<'scope> {
    plan: Option<Plan>,
    next_due: Option<Instant>,
    last_start: Option<Instant>,
    running: Option<ScopedJoinHandle<'scope, ()>>,
}

/// The deadline of one run: at most the part's interval (a run ends before the next is
/// due) and `server.collectionTimeout`, but never less than 2 minutes below the interval:
/// `collectionTimeout` is sized for the jobs sweep's cadence, which a slower part (say
/// tape every 30 minutes) does not share.
fn part_timeout(collection_timeout: Duration, interval: Duration) -> Duration {
    interval.min(collection_timeout.max(Duration::from_secs(120)))
}

/// `label-site`, cut to the 15 bytes Linux keeps of a thread name.
fn thread_name(label: &str, site: &str) -> String {
    format!("{label}-{site}").chars().take(15).collect()
}

/// The scheduler thread's body; returns on `Stop` (or when the runtime is dropped) after
/// joining the runs in flight.
pub(crate) fn parts_loop(runtime: &impl PartsHost, commands: &Receiver<PartsCmd>, wake: &Sender<PartsCmd>) {
    loop {
        match commands.recv() {
            Ok(PartsCmd::Start) => break,
            Ok(PartsCmd::Stop) | Err(_) => return,
            Ok(_) => continue,
        }
    }
    std::thread::scope(|scope| {
        let mut slots: Vec<Slot> = PARTS.iter().map(|_| Slot::default()).collect();
        loop {
            let settings = runtime.settings();
            let version = settings.site.api_version.or(runtime.api_version());
            let now = Instant::now();
            for (part, slot) in PARTS.iter().zip(&mut slots) {
                if slot.running.as_ref().is_some_and(|h| h.is_finished()) {
                    if let Some(Err(_)) = slot.running.take().map(|h| h.join()) {
                        log::error!(
                            "collector run panicked site={} collector={}",
                            runtime.site(),
                            part.label
                        );
                    }
                }
                let plan = Plan::of(&settings, part);
                if plan != slot.plan {
                    slot.next_due = match (&slot.plan, &plan, slot.last_start) {
                        (_, None, _) => None,
                        (Some(old), Some(new), Some(last)) if old.differs_only_in_interval(new) => {
                            Some(last + new.interval)
                        }
                        _ => Some(now),
                    };
                    slot.plan = plan;
                }
                let (Some(plan), Some(due), Some(version)) = (&slot.plan, slot.next_due, version) else {
                    continue;
                };
                if due > now || slot.running.is_some() {
                    continue;
                }
                slot.last_start = Some(now);
                slot.next_due = Some(now + plan.interval);
                if !part.supported(version) {
                    runtime.publish_part(part, PartOutcome::Unsupported);
                    continue;
                }
                let deadline = now + part_timeout(settings.timeout, plan.interval);
                let run_settings = Arc::clone(&settings);
                let spawned = std::thread::Builder::new()
                    .name(thread_name(part.label, runtime.site()))
                    .spawn_scoped(scope, move || {
                        let started = Instant::now();
                        let input = RunInput {
                            client: &run_settings.client,
                            version,
                            deadline,
                            settings: run_settings.collectors.get(part.key),
                            freshness: runtime.freshness(),
                        };
                        let result = (part.run)(&input).map_err(|e| e.to_string());
                        let duration = started.elapsed();
                        runtime.publish_part(part, PartOutcome::Ran { result, duration });
                        let _ = wake.send(PartsCmd::Finished);
                    });
                match spawned {
                    Ok(handle) => slot.running = Some(handle),
                    Err(e) => log::error!(
                        "cannot start a collector run site={} collector={} error={e}",
                        runtime.site(),
                        part.label
                    ),
                }
            }
            // Parts wait for a version (the next `Swept`); otherwise for the earliest due.
            let wake_at = version.and_then(|_| {
                slots
                    .iter()
                    .filter(|s| s.running.is_none())
                    .filter_map(|s| s.next_due)
                    .min()
            });
            let command = match wake_at {
                Some(at) => super::recv_until(commands, at),
                None => commands.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match command {
                Ok(PartsCmd::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                _ => continue,
            }
        }
        // Leaving the scope joins the runs in flight; each ends by its own deadline.
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_ends_before_the_next_is_due() {
        let s = Duration::from_secs;
        assert_eq!(part_timeout(s(120), s(300)), s(120));
        assert_eq!(part_timeout(s(30), s(30)), s(30));
        assert_eq!(part_timeout(s(1), s(1800)), s(120));
        assert_eq!(part_timeout(s(600), s(1800)), s(600));
        assert_eq!(part_timeout(s(1), s(30)), s(30));
        assert_eq!(thread_name("volume_pools", "paris"), "volume_pools-pa");
    }
}
