//! The time engine: every time job of a scheduler in one timer heap.
//!
//! - One [`BinaryHeap`] of `(next due instant, job)` for all jobs — no task or thread per job.
//!   Removing or changing a job bumps its generation; stale heap entries are skipped lazily.
//! - Each job has a persisted cursor (`time/<job id>` checkpoint: the last instant handled). A
//!   tick commits the new tasks **and** the advanced cursors in one atomic store batch, so a
//!   crash either keeps both or neither: after a restart nothing is missed (the cursor tells
//!   what was not handled) and nothing is repeated (tasks are idempotent by occurrence anyway).
//! - Missed instants (downtime) follow the job's [`CatchUp`](triggerx_core::types::CatchUp)
//!   policy; an instant due while the job's previous task is unsettled follows its
//!   [`Overlap`] policy; instants at or after the job's expiry never fire, and the job moves to
//!   `expired` (or `completed` when its schedule runs out or a one-shot job has fired).
//!
//! The engine is synchronous and driven by [`TimeEngine::tick`] with an explicit `now`, so tests
//! control time completely; [`service::TimeService`] drives it on a tokio runtime.

pub mod service;

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap},
    sync::Arc,
};

use triggerx_core::{
    JobId, TaskId, Timestamp,
    ids::Occurrence,
    schedule::CompiledSchedule,
    store::{Store, WriteBatch},
    types::{CatchUp, Evidence, Job, JobStatus, Overlap, Task, Trigger, TriggerKind},
};

use crate::{Error, Result};

/// Time engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most missed instants one job fires at once under `fire_all` (default 100).
    pub max_catch_up: usize,
    /// Jobs read per page when loading from the store (default 1000).
    pub load_page: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_catch_up: 100,
            load_page: 1000,
        }
    }
}

/// Counters the engine keeps (exported as metrics by the hosts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tasks created.
    pub fired: u64,
    /// Occurrences whose task already existed (re-processing after a restart).
    pub already_existed: u64,
    /// Instants dropped by catch-up policies.
    pub skipped_catch_up: u64,
    /// Instants dropped because the previous task was unsettled.
    pub skipped_overlap: u64,
    /// Jobs that expired or completed.
    pub finished_jobs: u64,
}

#[derive(Debug)]
struct Entry {
    schedule: CompiledSchedule,
    catch_up: CatchUp,
    overlap: Overlap,
    recurring: bool,
    expires_at: Option<Timestamp>,
    /// The last instant handled (fired or skipped).
    last: Option<Timestamp>,
    /// The task of the last fired instant, for the overlap check.
    last_task: Option<TaskId>,
    generation: u32,
}

/// The cursor key of a job.
pub fn cursor_key(job: JobId) -> String {
    format!("time/{job}")
}

fn encode_cursor(last: Timestamp, task: Option<TaskId>) -> Vec<u8> {
    let mut v = last.as_millis().to_be_bytes().to_vec();
    if let Some(t) = task {
        v.extend_from_slice(t.0.as_slice());
    }
    v
}

fn decode_cursor(bytes: &[u8]) -> Option<(Timestamp, Option<TaskId>)> {
    let ms = i64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let task = match bytes.get(8..) {
        Some([]) | None => None,
        Some(b) => Some(TaskId(alloy_primitives::B256::try_from(b).ok()?)),
    };
    Some((Timestamp::from_millis(ms), task))
}

/// The time engine; see the [module docs](self).
pub struct TimeEngine {
    store: Arc<dyn Store>,
    config: Config,
    jobs: HashMap<JobId, Entry>,
    heap: BinaryHeap<Reverse<(Timestamp, JobId, u32)>>,
    next_generation: u32,
    stats: Stats,
}

impl std::fmt::Debug for TimeEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeEngine")
            .field("store", &self.store.backend())
            .field("jobs", &self.jobs.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TimeEngine {
    /// An empty engine over `store`.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        Self {
            store,
            config,
            jobs: HashMap::new(),
            heap: BinaryHeap::new(),
            next_generation: 0,
            stats: Stats::default(),
        }
    }

    /// Loads every active time job from the store; returns how many.
    pub fn load(&mut self) -> Result<usize> {
        let store = self.store.clone();
        crate::jobs::for_each_active(
            store.as_ref(),
            TriggerKind::Time,
            self.config.load_page,
            |job| {
                self.upsert_job(job)?;
                Ok(true)
            },
        )
    }

    /// Starts watching a job, or updates it; a job that is not an active time job is removed.
    pub fn upsert_job(&mut self, job: &Job) -> Result<()> {
        let Trigger::Time(trigger) = &job.trigger else {
            self.remove_job(job.id);
            return Ok(());
        };
        if job.status != JobStatus::Active {
            self.remove_job(job.id);
            return Ok(());
        }
        let schedule = CompiledSchedule::compile(trigger, job.created_at).map_err(|source| {
            Error::Schedule {
                job: job.id,
                source,
            }
        })?;
        let (last, last_task) = match self.store.get_checkpoint(&cursor_key(job.id))? {
            Some(bytes) => decode_cursor(&bytes)
                .map(|(t, task)| (Some(t), task))
                .ok_or_else(|| {
                    triggerx_core::Error::Corrupt(format!("cursor of job {}", job.id))
                })?,
            None => (None, None),
        };
        self.next_generation = self.next_generation.wrapping_add(1);
        let generation = self.next_generation;
        let wake = match last {
            Some(l) => schedule.next_after(l),
            None => schedule.first_at_or_after(Timestamp::EPOCH),
        };
        let entry = Entry {
            schedule,
            catch_up: trigger.catch_up,
            overlap: trigger.overlap,
            recurring: job.recurring,
            expires_at: job.expires_at,
            last,
            last_task,
            generation,
        };
        self.jobs.insert(job.id, entry);
        // A job with nothing left to fire is still given one wake-up, to be finished by tick.
        let wake = wake.unwrap_or(Timestamp::EPOCH);
        self.heap.push(Reverse((wake, job.id, generation)));
        Ok(())
    }

    /// Resumes a job that was paused: instants due while it was paused (before `now`) are
    /// dropped rather than caught up, and the cursor recording that is persisted.
    pub fn resume_job(&mut self, job: &Job, now: Timestamp) -> Result<()> {
        self.upsert_job(job)?;
        let Some(entry) = self.jobs.get_mut(&job.id) else {
            return Ok(());
        };
        let due = entry
            .schedule
            .due(entry.last, now.add_millis(-1), CatchUp::Skip, 1);
        if let Some(latest) = due.latest {
            self.store
                .put_checkpoint(&cursor_key(job.id), &encode_cursor(latest, entry.last_task))?;
            entry.last = Some(latest);
            self.stats.skipped_catch_up += due.skipped;
            self.next_generation = self.next_generation.wrapping_add(1);
            entry.generation = self.next_generation;
            if let Some(next) = due.next {
                self.heap.push(Reverse((next, job.id, entry.generation)));
            }
        }
        Ok(())
    }

    /// Applies a changed job from a running network (the job watcher's upserts): a job the
    /// engine does not hold that became active after it was created (resumed, or turned into a
    /// time job) is [resumed](Self::resume_job) from the moment it changed (`updated_at`, at the
    /// latest `now`), so nothing due while it was paused fires; a new job or an edit of a held
    /// job is an [upsert](Self::upsert_job).
    pub fn apply_change(&mut self, job: &Job, now: Timestamp) -> Result<()> {
        let activated = job.status == JobStatus::Active
            && job.updated_at > job.created_at
            && !self.jobs.contains_key(&job.id);
        if activated {
            self.resume_job(job, job.updated_at.min(now))
        } else {
            self.upsert_job(job)
        }
    }

    /// Whether the engine watches job `id`.
    pub fn contains(&self, id: JobId) -> bool {
        self.jobs.contains_key(&id)
    }

    /// Stops watching a job (paused, deleted). Takes effect at once.
    pub fn remove_job(&mut self, id: JobId) {
        self.jobs.remove(&id);
    }

    /// How many jobs the engine holds.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether the engine holds no job.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The engine's counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The earliest instant at which [`tick`](Self::tick) has work.
    pub fn next_wakeup(&mut self) -> Option<Timestamp> {
        while let Some(Reverse((t, id, generation))) = self.heap.peek().copied() {
            if self
                .jobs
                .get(&id)
                .is_some_and(|e| e.generation == generation)
            {
                return Some(t);
            }
            self.heap.pop();
        }
        None
    }

    /// Handles everything due at or before `now`: creates the tasks (and advances the cursors)
    /// in one atomic commit, and returns the tasks newly created, in due order.
    pub fn tick(&mut self, now: Timestamp) -> Result<Vec<Task>> {
        let mut due_jobs = Vec::new();
        while let Some(Reverse((t, id, generation))) = self.heap.peek().copied() {
            if t > now {
                break;
            }
            self.heap.pop();
            if self
                .jobs
                .get(&id)
                .is_some_and(|e| e.generation == generation)
            {
                due_jobs.push(id);
            }
        }
        if due_jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut plans = Vec::with_capacity(due_jobs.len());
        for id in due_jobs {
            plans.push(self.plan(id, now)?);
        }
        let mut batch = WriteBatch::new();
        for plan in &plans {
            plan.write(&mut batch, now);
        }
        let committed = crate::jobs::commit(self.store.as_ref(), &batch)?;
        self.stats.fired += committed.created.len() as u64;
        self.stats.already_existed += committed.existed;
        for plan in plans {
            self.apply(plan);
        }
        let mut created = committed.created;
        created.sort_by_key(|t| t.created_at);
        Ok(created)
    }

    fn plan(&mut self, id: JobId, now: Timestamp) -> Result<Plan> {
        let entry = self.jobs.get(&id).expect("due job is present");
        let due = entry
            .schedule
            .due(entry.last, now, entry.catch_up, self.config.max_catch_up);
        let mut skipped_catch_up = due.skipped;
        let expired_from = entry.expires_at;
        let mut fire: Vec<Timestamp> = due.fire;
        // Instants at or after expiry never fire.
        if let Some(exp) = expired_from {
            fire.retain(|t| *t < exp);
        }
        // Everything due up to now counts as handled, fired or skipped.
        let handled_up_to = due.latest.or(entry.last);
        let mut skipped_overlap = 0;
        if entry.overlap == Overlap::Skip
            && !fire.is_empty()
            && let Some(prev) = entry.last_task
            && self
                .store
                .get_task(prev)?
                .is_some_and(|t| !t.status.is_final())
        {
            skipped_overlap = fire.len() as u64;
            fire.clear();
        }
        if !entry.recurring && fire.len() > 1 {
            skipped_catch_up += (fire.len() - 1) as u64;
            fire.truncate(1);
        }
        let tasks: Vec<Task> = fire
            .iter()
            .map(|&t| {
                let occ = Occurrence::Time { job: id, due: t };
                Task::new(occ, Evidence::Time { due: t }, now)
            })
            .collect();
        let next = due.next.filter(|n| expired_from.is_none_or(|e| *n < e));
        let finish = if !entry.recurring && !tasks.is_empty() {
            Some(JobStatus::Completed)
        } else if next.is_none() {
            Some(
                if expired_from.is_some_and(|e| due.next.is_some() || now >= e) {
                    JobStatus::Expired
                } else {
                    JobStatus::Completed
                },
            )
        } else {
            None
        };
        Ok(Plan {
            job: id,
            tasks,
            handled_up_to,
            last_task: entry.last_task,
            next: if finish.is_some() { None } else { next },
            finish,
            skipped_catch_up,
            skipped_overlap,
        })
    }

    fn apply(&mut self, plan: Plan) {
        self.stats.skipped_catch_up += plan.skipped_catch_up;
        self.stats.skipped_overlap += plan.skipped_overlap;
        if plan.finish.is_some() {
            self.stats.finished_jobs += 1;
            self.jobs.remove(&plan.job);
            return;
        }
        let Some(entry) = self.jobs.get_mut(&plan.job) else {
            return;
        };
        entry.last = plan.handled_up_to;
        if let Some(t) = plan.tasks.last() {
            entry.last_task = Some(t.id);
        }
        if let Some(next) = plan.next {
            self.heap.push(Reverse((next, plan.job, entry.generation)));
        }
    }
}

/// What one tick does for one job.
#[derive(Debug)]
struct Plan {
    job: JobId,
    tasks: Vec<Task>,
    handled_up_to: Option<Timestamp>,
    last_task: Option<TaskId>,
    next: Option<Timestamp>,
    finish: Option<JobStatus>,
    skipped_catch_up: u64,
    skipped_overlap: u64,
}

impl Plan {
    fn write(&self, batch: &mut WriteBatch, now: Timestamp) {
        for t in &self.tasks {
            batch.create_task(t.clone());
        }
        if let Some(h) = self.handled_up_to {
            let task = self.tasks.last().map(|t| t.id).or(self.last_task);
            batch.put_checkpoint(cursor_key(self.job), encode_cursor(h, task));
        }
        if let Some(status) = self.finish {
            batch.set_job_status(self.job, JobStatus::Active, status, now);
        }
    }
}
