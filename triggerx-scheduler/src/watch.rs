//! [`JobWatcher`]: makes running engines pick up jobs that are created, paused, resumed, edited or
//! deleted in the store while they run (by `triggerx job …`, the API, the registrar or another
//! process on the same SQLite file).
//!
//! The engines load the active jobs once, at start ([`TimeEngine::load`] and its siblings). The
//! watcher follows the store's job change feed ([`JobStore::list_jobs_changed`]): every job write
//! takes the next store-wide revision, so one indexed query per poll finds what changed since the
//! last one, however many jobs the store holds. Each changed job goes to the engine of its
//! trigger kind (event jobs: the engine of their chain) as an upsert when it is active, and as a
//! removal everywhere else — so a paused, deleted, completed or expired job stops at once in
//! whichever engine held it, and a job whose trigger kind (or chain) was edited leaves its old
//! engine.
//!
//! **Start-up.** Read [`head`] *before* the engines load, and start the watcher after it
//! ([`JobWatcher::starting_after`]): a job written before the head is in the engines' initial
//! load; one written after it (even while the engines were loading) comes through the watcher. A
//! job seen by both is upserted twice, which changes nothing (engine upserts are idempotent and
//! tasks are idempotent by occurrence). Nothing is missed, because revisions are given out inside
//! the write transaction, in commit order.
//!
//! **Cursor.** The revision applied so far is persisted as the checkpoint
//! [`CHECKPOINT_KEY`] after each page, so a watcher restarted without a fresh engine load
//! continues where it stopped; the cursor starts at the larger of the checkpoint and the
//! revision given to `starting_after`.
//!
//! [`TimeEngine::load`]: crate::time::TimeEngine::load
//! [`JobStore::list_jobs_changed`]: triggerx_core::store::JobStore::list_jobs_changed

use std::{collections::BTreeMap, future::Future, sync::Arc, time::Duration};

use tokio::sync::watch;
use triggerx_core::{
    store::{AsyncStore, JobChange, Store},
    types::{Job, JobStatus, Trigger},
};

use crate::{Result, time::service::Handle};

/// The checkpoint under which the watcher keeps its cursor (a big-endian `u64` revision).
pub const CHECKPOINT_KEY: &str = "watch/jobs";

/// Watcher settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How often the feed is polled (default 1 s). A poll that finds nothing costs one indexed
    /// query.
    pub poll_interval: Duration,
    /// Changes read per query (default 1000); a poll reads pages until it has caught up.
    pub page: usize,
    /// The checkpoint key of the cursor (default [`CHECKPOINT_KEY`]).
    pub checkpoint_key: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            page: 1000,
            checkpoint_key: CHECKPOINT_KEY.to_owned(),
        }
    }
}

/// The engines the watcher feeds: their service [`Handle`]s.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// The time engine.
    pub time: Option<Handle>,
    /// The condition engine.
    pub condition: Option<Handle>,
    /// The event engines, by the chain they follow.
    pub events: BTreeMap<u64, Handle>,
}

impl Targets {
    /// No engines.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds time jobs to `handle`.
    pub fn with_time(mut self, handle: Handle) -> Self {
        self.time = Some(handle);
        self
    }

    /// Feeds condition jobs to `handle`.
    pub fn with_condition(mut self, handle: Handle) -> Self {
        self.condition = Some(handle);
        self
    }

    /// Feeds event jobs on `chain_id` to `handle`.
    pub fn with_event(mut self, chain_id: u64, handle: Handle) -> Self {
        self.events.insert(chain_id, handle);
        self
    }

    /// Every engine, with the route it serves.
    fn all(&self) -> impl Iterator<Item = (Route, &Handle)> {
        self.time
            .iter()
            .map(|h| (Route::Time, h))
            .chain(self.condition.iter().map(|h| (Route::Condition, h)))
            .chain(self.events.iter().map(|(c, h)| (Route::Event(*c), h)))
    }
}

/// Which engine serves a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Time,
    Condition,
    Event(u64),
}

impl Route {
    fn of(job: &Job) -> Self {
        match &job.trigger {
            Trigger::Time(_) => Self::Time,
            Trigger::Condition(_) => Self::Condition,
            Trigger::Event(e) => Self::Event(e.chain_id),
        }
    }
}

/// What the watcher has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Changed jobs read from the feed.
    pub changes: u64,
    /// Upserts sent (active jobs to their engine).
    pub upserts: u64,
    /// Removals sent.
    pub removals: u64,
    /// Active jobs no engine serves (e.g. an event job on a chain without a follower).
    pub unrouted: u64,
    /// Commands an engine could not take because its service had stopped.
    pub closed: u64,
    /// The revision applied so far.
    pub cursor: u64,
}

/// The head of the store's job change feed: read it before the engines load, and start the
/// watcher after it ([`JobWatcher::starting_after`]).
///
/// # Errors
/// A store failure.
pub fn head(store: &dyn Store) -> Result<u64> {
    Ok(store.job_revision()?)
}

/// Follows the job change feed into the engines; see the [module docs](self).
#[derive(Debug)]
pub struct JobWatcher {
    store: AsyncStore,
    targets: Targets,
    config: Config,
    floor: u64,
    /// `None` until the checkpoint has been read (at the first poll).
    cursor: Option<u64>,
    stats: Stats,
    progress: watch::Sender<u64>,
}

impl JobWatcher {
    /// A watcher over `store` feeding `targets`. Without
    /// [`starting_after`](Self::starting_after) it starts at its checkpoint (the whole feed
    /// when there is none).
    pub fn new(store: Arc<dyn Store>, targets: Targets, config: Config) -> Self {
        Self {
            store: AsyncStore::new(store),
            targets,
            config,
            floor: 0,
            cursor: None,
            stats: Stats::default(),
            progress: watch::channel(0).0,
        }
    }

    /// Skips every change up to `revision` (the [`head`] read before the engines loaded).
    pub fn starting_after(mut self, revision: u64) -> Self {
        self.floor = revision;
        self
    }

    /// The revision applied so far, updated after each page (for tests and progress).
    pub fn progress(&self) -> watch::Receiver<u64> {
        self.progress.subscribe()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    async fn start_cursor(&mut self) -> Result<u64> {
        if let Some(c) = self.cursor {
            return Ok(c);
        }
        let key = self.config.checkpoint_key.clone();
        let saved = self
            .store
            .run(move |s| s.get_checkpoint(&key))
            .await?
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map_or(0, u64::from_be_bytes);
        let c = saved.max(self.floor);
        self.cursor = Some(c);
        self.stats.cursor = c;
        self.progress.send_replace(c);
        Ok(c)
    }

    /// Reads the feed until caught up and hands every change to the engines; returns how many
    /// changed jobs it read.
    ///
    /// # Errors
    /// A store failure (the cursor stays at the last page fully applied).
    pub async fn poll(&mut self) -> Result<usize> {
        let mut cursor = self.start_cursor().await?;
        let page = self.config.page.max(1);
        let mut total = 0;
        loop {
            let changes = self.store.list_jobs_changed(cursor, page).await?;
            let Some(last) = changes.last().map(|c| c.revision) else {
                break;
            };
            total += changes.len();
            for change in &changes {
                self.apply(change).await;
            }
            cursor = last;
            let (key, bytes) = (self.config.checkpoint_key.clone(), cursor.to_be_bytes());
            self.store
                .run(move |s| s.put_checkpoint(&key, &bytes))
                .await?;
            self.cursor = Some(cursor);
            self.stats.cursor = cursor;
            self.progress.send_replace(cursor);
            if changes.len() < page {
                break;
            }
        }
        Ok(total)
    }

    /// Sends one change: an upsert to the job's engine when it is active, a removal to every
    /// other engine.
    async fn apply(&mut self, change: &JobChange) {
        let job = &change.job;
        self.stats.changes += 1;
        let target = (job.status == JobStatus::Active).then(|| Route::of(job));
        if let Some(route) = target
            && !self.targets.all().any(|(r, _)| r == route)
        {
            self.stats.unrouted += 1;
            tracing::warn!(job = %job.id, kind = job.kind().as_str(), ?route, "no engine serves this job");
        }
        let mut stats = self.stats;
        for (route, handle) in self.targets.all() {
            let sent = if Some(route) == target {
                stats.upserts += 1;
                handle.upsert(job.clone()).await
            } else {
                stats.removals += 1;
                handle.remove(job.id).await
            };
            if !sent {
                stats.closed += 1;
            }
        }
        self.stats = stats;
        tracing::debug!(job = %job.id, revision = change.revision, status = job.status.as_str(), "job change applied");
    }

    /// Polls every [`Config::poll_interval`] until `shutdown` completes. Retryable store errors
    /// (a busy database) are retried at the next poll; others end the run.
    ///
    /// # Errors
    /// A non-retryable store failure.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<Stats> {
        tokio::pin!(shutdown);
        loop {
            match self.poll().await {
                Ok(_) => {}
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, "job watcher poll failed; retrying");
                }
                Err(e) => return Err(e),
            }
            tokio::select! {
                () = &mut shutdown => return Ok(self.stats),
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;
    use triggerx_core::{
        JobId,
        store::{
            CheckpointStore, JobStore, MemoryStore,
            conformance::fixtures::{T0, address, condition_job, event_job, time_job},
        },
    };

    use super::*;
    use crate::time::service::Command;

    struct Rig {
        store: Arc<dyn Store>,
        time: mpsc::Receiver<Command>,
        condition: mpsc::Receiver<Command>,
        event: mpsc::Receiver<Command>,
        targets: Targets,
    }

    fn rig() -> Rig {
        let (t, time) = Handle::channel();
        let (c, condition) = Handle::channel();
        let (e, event) = Handle::channel();
        Rig {
            store: Arc::new(MemoryStore::new()),
            time,
            condition,
            event,
            targets: Targets::new()
                .with_time(t)
                .with_condition(c)
                .with_event(10, e),
        }
    }

    /// `u` for an upsert of the job, `r` for a removal, per queued command.
    fn drain(rx: &mut mpsc::Receiver<Command>) -> Vec<(char, JobId)> {
        let mut out = Vec::new();
        while let Ok(cmd) = rx.try_recv() {
            out.push(match cmd {
                Command::Upsert(j) => ('u', j.id),
                Command::Remove(id) => ('r', id),
            });
        }
        out
    }

    #[tokio::test]
    async fn routes_each_change_to_its_engine_and_removes_it_elsewhere() {
        let mut r = rig();
        let (a, b, c, d) = (
            JobId::from_u64(1),
            JobId::from_u64(2),
            JobId::from_u64(3),
            JobId::from_u64(4),
        );
        r.store.insert_job(&time_job(a, address(1), 10)).unwrap();
        r.store
            .insert_job(&event_job(b, address(1), 10, 10))
            .unwrap();
        r.store
            .insert_job(&condition_job(c, address(1), 10, 10))
            .unwrap();
        // An event job on a chain no engine follows.
        r.store
            .insert_job(&event_job(d, address(1), 5, 10))
            .unwrap();
        let mut w = JobWatcher::new(r.store.clone(), r.targets.clone(), Config::default());
        assert_eq!(w.poll().await.unwrap(), 4);
        assert_eq!(drain(&mut r.time), [('u', a), ('r', b), ('r', c), ('r', d)]);
        assert_eq!(
            drain(&mut r.condition),
            [('r', a), ('r', b), ('u', c), ('r', d)]
        );
        assert_eq!(
            drain(&mut r.event),
            [('r', a), ('u', b), ('r', c), ('r', d)]
        );
        assert_eq!((w.stats().unrouted, w.stats().upserts), (1, 3));

        // Paused: removed everywhere. Nothing else changed, so nothing else is sent.
        r.store
            .set_job_status(a, JobStatus::Active, JobStatus::Paused, T0)
            .unwrap();
        assert_eq!(w.poll().await.unwrap(), 1);
        assert_eq!(drain(&mut r.time), [('r', a)]);
        assert_eq!(drain(&mut r.condition), [('r', a)]);
        assert_eq!(drain(&mut r.event), [('r', a)]);

        // An edit turning the condition job into a time job moves it between engines.
        let mut edited = r.store.get_job(c).unwrap().unwrap();
        edited.trigger = time_job(c, address(1), 10).trigger;
        edited.updated_at = T0.add_millis(1);
        let before = r.store.get_job(c).unwrap().unwrap().updated_at;
        r.store.replace_job(&edited, before).unwrap();
        assert_eq!(w.poll().await.unwrap(), 1);
        assert_eq!(drain(&mut r.time), [('u', c)]);
        assert_eq!(drain(&mut r.condition), [('r', c)]);
        assert_eq!(drain(&mut r.event), [('r', c)]);
        assert_eq!(w.poll().await.unwrap(), 0, "caught up");
    }

    #[tokio::test]
    async fn the_cursor_survives_a_restart_and_the_floor_skips_the_initial_load() {
        let mut r = rig();
        for i in 1..=5 {
            r.store
                .insert_job(&time_job(JobId::from_u64(i), address(1), 10))
                .unwrap();
        }
        let config = Config {
            page: 2,
            ..Config::default()
        };
        let mut w = JobWatcher::new(r.store.clone(), r.targets.clone(), config.clone());
        assert_eq!(w.poll().await.unwrap(), 5, "pages of 2 until caught up");
        let cursor = w.stats().cursor;
        assert_eq!(cursor, r.store.job_revision().unwrap());
        assert_eq!(
            r.store.get_checkpoint(CHECKPOINT_KEY).unwrap(),
            Some(cursor.to_be_bytes().to_vec())
        );
        drop(w);
        drain(&mut r.time);

        // A new watcher continues after the checkpoint: nothing is replayed.
        let mut w = JobWatcher::new(r.store.clone(), r.targets.clone(), config.clone());
        assert_eq!(w.poll().await.unwrap(), 0);
        assert!(drain(&mut r.time).is_empty());
        let six = JobId::from_u64(6);
        r.store.insert_job(&time_job(six, address(1), 10)).unwrap();
        assert_eq!(w.poll().await.unwrap(), 1);
        assert_eq!(drain(&mut r.time), [('u', six)]);

        // On a fresh store, a floor (the head read before the engines loaded) skips the jobs
        // the engines loaded themselves.
        let mut fresh = rig();
        for i in 1..=3 {
            fresh
                .store
                .insert_job(&time_job(JobId::from_u64(i), address(1), 10))
                .unwrap();
        }
        let head = head(fresh.store.as_ref()).unwrap();
        let late = JobId::from_u64(9);
        fresh
            .store
            .insert_job(&time_job(late, address(1), 10))
            .unwrap();
        let mut w = JobWatcher::new(fresh.store.clone(), fresh.targets.clone(), config)
            .starting_after(head);
        let progress = w.progress();
        assert_eq!(w.poll().await.unwrap(), 1);
        assert_eq!(drain(&mut fresh.time), [('u', late)]);
        assert_eq!(*progress.borrow(), head + 1);
    }
}
