//! An evolving job load: jobs arrive, wait (QUEUED), run (ACTIVE) and end (DONE), each step
//! moving the job's `lastUpdateTime` to the moment it happened; NetBackup's job-database
//! cleanup deletes DONE jobs after `retention`, and a test may delete a job at any time.
//!
//! Pure and deterministic: the same spec and the same calls give the same records, however
//! the time is stepped (each job is drawn whole, in arrival order, when it arrives). It
//! knows nothing of HTTP or clocks: whoever drives it says what time it is
//! (`SimServer::drive` uses the server's [`crate::SimClock`]).
//!
//! What it does not model: progress updates of running jobs (NetBackup also moves
//! `lastUpdateTime` while a job transfers data); here a running job changes only when it
//! starts and when it ends.

use crate::data::{generated_job, generated_units, SimData, SimJob, SimStorageUnit, XorShift, HOUR, MINUTE};
use crate::resources::SimResources;
use crate::time::UnixMillis;

/// What a [`Workload`] runs.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadSpec {
    /// Mean arrival rate (arrivals are evenly spread with +-50 % jitter).
    pub jobs_per_hour: u32,
    /// How long a DONE job stays before the job-database cleanup deletes it.
    pub retention_millis: i64,
    pub storage_units: usize,
    pub tape_units: usize,
    pub seed: u64,
}

impl Default for WorkloadSpec {
    /// A modest site, as `nbu-exporter demo` shows it.
    fn default() -> WorkloadSpec {
        WorkloadSpec {
            jobs_per_hour: 360,
            retention_millis: 3 * HOUR,
            storage_units: 12,
            tape_units: 2,
            seed: 1,
        }
    }
}

/// One job with its whole life planned at arrival.
#[derive(Clone, Debug)]
struct Planned {
    /// The job as it is once DONE.
    done: SimJob,
    arrival: UnixMillis,
    active_at: UnixMillis,
    end_at: UnixMillis,
    queue_reason: i64,
}

impl Planned {
    /// The record as the server shows it at `now` (`now` >= arrival).
    fn at(&self, now: UnixMillis) -> SimJob {
        if now >= self.end_at {
            return self.done.clone();
        }
        let mut job = self.done.clone();
        job.end_time = None;
        job.status = 0;
        job.dedup_ratio = None;
        job.kilobytes_transferred = 0;
        job.number_of_files = 0;
        if now >= self.active_at {
            job.state = "ACTIVE".into();
            job.last_update = Some(self.active_at);
        } else {
            job.state = "QUEUED".into();
            job.job_queue_reason = Some(self.queue_reason);
            job.last_update = Some(self.arrival);
        }
        job
    }
}

/// The evolving job database of one simulated primary server.
pub struct Workload {
    spec: WorkloadSpec,
    rng: XorShift,
    clients: Vec<String>,
    now: UnixMillis,
    next_arrival: UnixMillis,
    next_id: i64,
    /// In job id (= arrival) order.
    jobs: Vec<Planned>,
    storage_units: Vec<SimStorageUnit>,
    /// The opt-in collectors' records, served as they are (they do not evolve).
    resources: SimResources,
}

const QUEUE_REASONS: [i64; 6] = [1, 2, 4, 6, 9, 18];

impl Workload {
    /// A workload in its steady state at `now`: arrivals have been running for the
    /// retention plus the longest job (4 h), so every kind of job is present.
    pub fn new(spec: WorkloadSpec, now: UnixMillis) -> Workload {
        let mut rng = XorShift::new(spec.seed);
        let storage_units = generated_units(&mut rng, spec.storage_units, spec.tape_units);
        let start = now - spec.retention_millis.max(0) - 4 * HOUR;
        let mut workload = Workload {
            clients: (0..500).map(|i| format!("client{i:04}.sim.example")).collect(),
            rng,
            now: start,
            next_arrival: start,
            next_id: 1_000,
            jobs: Vec::new(),
            storage_units,
            resources: SimResources::default(),
            spec,
        };
        workload.advance_to(now);
        workload
    }

    /// The time the records stand at.
    pub fn now(&self) -> UnixMillis {
        self.now
    }

    /// Lets time run to `now` (never backwards): jobs arrive, start and end, and the
    /// cleanup deletes DONE jobs older than the retention.
    pub fn advance_to(&mut self, now: UnixMillis) {
        if now <= self.now {
            return;
        }
        let gap = 3_600_000 / i64::from(self.spec.jobs_per_hour.max(1));
        while self.next_arrival <= now {
            let arrival = self.next_arrival;
            let planned = self.plan(arrival);
            self.jobs.push(planned);
            self.next_arrival = arrival + (gap / 2 + self.rng.range(0, gap + 1)).max(1);
        }
        let horizon = now - self.spec.retention_millis;
        self.jobs.retain(|p| p.end_at > now || p.end_at >= horizon);
        self.now = now;
    }

    fn plan(&mut self, arrival: UnixMillis) -> Planned {
        let rng = &mut self.rng;
        let mut done = generated_job(rng, "DONE", &self.clients, arrival);
        let queued_for = if rng.chance(70) {
            0
        } else {
            rng.range(10_000, 5 * MINUTE)
        };
        let runs_for = match rng.below(10) {
            0..=3 => rng.range(30_000, 10 * MINUTE),
            4..=7 => rng.range(10 * MINUTE, HOUR),
            _ => rng.range(HOUR, 4 * HOUR),
        };
        let queue_reason = *rng.pick(&QUEUE_REASONS);
        let active_at = arrival + queued_for;
        let end_at = active_at + runs_for;
        done.job_id = self.next_id;
        self.next_id += 1;
        done.start_time = Some(arrival);
        done.end_time = Some(end_at);
        done.last_update = Some(end_at);
        Planned {
            done,
            arrival,
            active_at,
            end_at,
            queue_reason,
        }
    }

    /// Deletes a job as `bpdbjobs -delete` would; `false` when there is no such job.
    pub fn delete_job(&mut self, job_id: i64) -> bool {
        let before = self.jobs.len();
        self.jobs.retain(|p| p.done.job_id != job_id);
        self.jobs.len() != before
    }

    /// The records as they stand at `now()`, in job id order, plus the storage units.
    pub fn data(&self) -> SimData {
        SimData {
            jobs: self.jobs.iter().map(|p| p.at(self.now)).collect(),
            storage_units: self.storage_units.clone(),
            resources: self.resources.clone(),
        }
    }

    /// Serves `resources` (tape, disk pools, alerts, ...) beside the evolving jobs.
    pub fn with_resources(mut self, resources: SimResources) -> Workload {
        self.resources = resources;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_750_000_000_000;

    fn spec(jobs_per_hour: u32) -> WorkloadSpec {
        WorkloadSpec {
            jobs_per_hour,
            seed: 9,
            ..WorkloadSpec::default()
        }
    }

    #[test]
    fn steady_state_has_every_state_and_consistent_times() {
        let w = Workload::new(spec(1_200), NOW);
        let data = w.data();
        let count = |state: &str| data.jobs.iter().filter(|j| j.state == state).count();
        let (done, active, queued) = (count("DONE"), count("ACTIVE"), count("QUEUED"));
        assert_eq!(done + active + queued, data.jobs.len());
        // About 3 h of DONE jobs at 1,200/h, and a running population.
        assert!((3_000..4_500).contains(&done), "{done}");
        assert!(active > 100 && queued > 0, "{active} {queued}");
        for j in &data.jobs {
            let lu = j.last_update.unwrap();
            assert!(lu <= NOW && lu >= j.start_time.unwrap(), "{j:?}");
            match j.state.as_str() {
                "DONE" => assert_eq!(j.end_time, Some(lu)),
                "QUEUED" => assert!(j.job_queue_reason.is_some() && j.end_time.is_none()),
                _ => assert!(j.end_time.is_none()),
            }
        }
        assert!(data.jobs.windows(2).all(|p| p[0].job_id < p[1].job_id));
        assert_eq!(data.storage_units.len(), 12);
    }

    #[test]
    fn stepping_does_not_change_the_outcome_and_time_moves_records() {
        let mut coarse = Workload::new(spec(600), NOW);
        let mut fine = Workload::new(spec(600), NOW);
        let before = coarse.data();
        coarse.advance_to(NOW + HOUR);
        for step in 1..=60 {
            fine.advance_to(NOW + step * MINUTE);
        }
        assert_eq!(coarse.data(), fine.data());
        let after = coarse.data();
        // Jobs arrived, some ended, the oldest were cleaned up, and the ones that changed
        // carry the time they changed.
        assert!(after.jobs.last().unwrap().job_id > before.jobs.last().unwrap().job_id);
        assert!(after.jobs.first().unwrap().job_id > before.jobs.first().unwrap().job_id);
        let changed = after
            .jobs
            .iter()
            .filter(|j| !before.jobs.contains(j))
            .collect::<Vec<_>>();
        assert!(!changed.is_empty());
        assert!(changed.iter().all(|j| j.last_update.unwrap() > NOW));
        coarse.advance_to(NOW); // never backwards
        assert_eq!(coarse.now(), NOW + HOUR);
    }

    #[test]
    fn delete_job() {
        let mut w = Workload::new(spec(60), NOW);
        let id = w.data().jobs[3].job_id;
        assert!(w.delete_job(id));
        assert!(!w.delete_job(id));
        assert!(w.data().jobs.iter().all(|j| j.job_id != id));
    }
}
