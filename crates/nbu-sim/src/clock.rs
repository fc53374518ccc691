//! The simulated primary server's clock: NetBackup's own time, which is not the exporter's.
//!
//! A [`SimClock`] reads `origin + (wall time since the anchor) x rate`: the wall clock
//! (rate 1), the wall clock skewed by minutes (a primary whose clock is ahead or behind),
//! a clock that runs faster than wall time (rate > 1, for benches that simulate hours in
//! minutes) or one that moves only when told to (rate 0, `advance`). Clones share one
//! clock. It knows nothing of HTTP or records.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::time::{now_millis, UnixMillis};

#[derive(Clone, Debug)]
pub struct SimClock {
    state: Arc<Mutex<ClockState>>,
}

#[derive(Debug)]
struct ClockState {
    /// The simulated time at `anchor`.
    origin: UnixMillis,
    anchor: Instant,
    /// Simulated milliseconds per wall millisecond.
    rate: f64,
}

impl Default for SimClock {
    fn default() -> SimClock {
        SimClock::wall()
    }
}

impl SimClock {
    fn with(origin: UnixMillis, rate: f64) -> SimClock {
        SimClock {
            state: Arc::new(Mutex::new(ClockState {
                origin,
                anchor: Instant::now(),
                rate,
            })),
        }
    }

    /// The machine's clock.
    pub fn wall() -> SimClock {
        SimClock::with(now_millis(), 1.0)
    }

    /// The machine's clock shifted by `offset_millis` (positive: the primary is ahead).
    pub fn skewed(offset_millis: i64) -> SimClock {
        SimClock::with(now_millis().saturating_add(offset_millis), 1.0)
    }

    /// Starts at `origin` and runs `rate` times as fast as wall time (0: stands still until
    /// `advance` or `set`).
    pub fn scaled(origin: UnixMillis, rate: f64) -> SimClock {
        SimClock::with(origin, if rate.is_finite() { rate.max(0.0) } else { 0.0 })
    }

    /// Stands at `origin` and moves only through `advance` and `set`.
    pub fn manual(origin: UnixMillis) -> SimClock {
        SimClock::scaled(origin, 0.0)
    }

    /// The simulated time now.
    pub fn now(&self) -> UnixMillis {
        let s = self.state.lock();
        let elapsed = s.anchor.elapsed().as_secs_f64() * 1000.0 * s.rate;
        s.origin.saturating_add(elapsed as i64)
    }

    /// Moves the clock on (or back, with a negative amount) by `millis`.
    pub fn advance(&self, millis: i64) {
        let mut s = self.state.lock();
        s.origin = s.origin.saturating_add(millis);
    }

    /// Sets the simulated time, keeping the rate.
    pub fn set(&self, now: UnixMillis) {
        let mut s = self.state.lock();
        s.origin = now;
        s.anchor = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_skewed_and_fast_clocks() {
        let manual = SimClock::manual(1_000);
        assert_eq!(manual.now(), 1_000);
        let shared = manual.clone();
        shared.advance(300_000);
        assert_eq!(manual.now(), 301_000);
        manual.set(5);
        assert_eq!(shared.now(), 5);

        let ahead = SimClock::skewed(600_000).now() - now_millis();
        assert!((599_000..=601_000).contains(&ahead), "{ahead}");
        let behind = SimClock::skewed(-600_000).now() - now_millis();
        assert!((-601_000..=-599_000).contains(&behind), "{behind}");

        // 1000x: a short wait moves it by seconds; bounded wait, no timing assertion on
        // an upper bound.
        let fast = SimClock::scaled(0, 1_000.0);
        let until = Instant::now() + std::time::Duration::from_secs(5);
        while fast.now() < 2_000 && Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(fast.now() >= 2_000);
        assert_eq!(SimClock::scaled(7, f64::NAN).now(), 7);
    }
}
