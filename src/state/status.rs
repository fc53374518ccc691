//! The reload record behind `GET /-/config-status` and the `reload` command: the running
//! generation, the worker's state, the watcher mode, the last attempt and a short history.
//!
//! Written by the reload worker (and once at startup, for attempt 1); read by HTTP
//! handlers. Holds no secret: problems and
//! change sets are built from key names, never values.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde::Serialize;

use super::attempt::Attempt;
use crate::timefmt::UnixMillis;

/// How many attempts `/-/config-status` keeps.
pub const HISTORY_LEN: usize = 20;

/// The worker's state machine: `idle -> validating -> applying -> (rolling_back) -> idle|failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadState {
    Idle,
    Validating,
    Applying,
    RollingBack,
    /// The last attempt did not leave the file's content running.
    Failed,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusSnapshot {
    pub generation: u64,
    pub sha256: String,
    pub state: ReloadState,
    pub watcher: String,
    pub attempts: u64,
    pub last_attempt: Option<Attempt>,
    pub last_success_unix_ms: Option<UnixMillis>,
    pub history: Vec<Attempt>,
}

#[derive(Debug)]
struct Inner {
    generation: u64,
    sha256: String,
    state: ReloadState,
    watcher: String,
    attempts: u64,
    last_success: Option<UnixMillis>,
    history: VecDeque<Attempt>,
}

/// Written by the worker, read by HTTP handlers.
#[derive(Debug)]
pub struct StatusBoard {
    inner: Mutex<Inner>,
}

impl StatusBoard {
    pub fn new() -> StatusBoard {
        StatusBoard {
            inner: Mutex::new(Inner {
                generation: 0,
                sha256: String::new(),
                state: ReloadState::Idle,
                watcher: "starting".into(),
                attempts: 0,
                last_success: None,
                history: VecDeque::with_capacity(HISTORY_LEN),
            }),
        }
    }

    pub fn set_state(&self, state: ReloadState) {
        self.inner.lock().state = state;
    }

    pub fn set_watcher(&self, mode: &str) {
        self.inner.lock().watcher = mode.to_string();
    }

    /// The id the next attempt will get.
    pub fn next_attempt_id(&self) -> u64 {
        self.inner.lock().attempts + 1
    }

    /// Records a finished attempt and the generation now running.
    pub fn record(&self, attempt: Attempt, sha256: &str) {
        let mut inner = self.inner.lock();
        inner.attempts = inner.attempts.max(attempt.id);
        inner.generation = attempt.generation;
        inner.sha256 = sha256.to_string();
        inner.state = if attempt.result.is_success() {
            ReloadState::Idle
        } else {
            ReloadState::Failed
        };
        if attempt.result.is_success() {
            inner.last_success = Some(attempt.at_unix_ms);
        }
        if inner.history.len() == HISTORY_LEN {
            inner.history.pop_front();
        }
        inner.history.push_back(attempt);
    }

    pub fn snapshot(&self) -> StatusSnapshot {
        let inner = self.inner.lock();
        StatusSnapshot {
            generation: inner.generation,
            sha256: inner.sha256.clone(),
            state: inner.state,
            watcher: inner.watcher.clone(),
            attempts: inner.attempts,
            last_attempt: inner.history.back().cloned(),
            last_success_unix_ms: inner.last_success,
            history: inner.history.iter().cloned().collect(),
        }
    }
}

impl Default for StatusBoard {
    fn default() -> Self {
        StatusBoard::new()
    }
}
