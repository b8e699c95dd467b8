//! Time engine integration tests: a controllable clock over real stores.

use std::sync::Arc;

use alloy_json_abi::Function;
use alloy_primitives::Address;
use triggerx_core::{
    JobId, Timestamp,
    ids::Occurrence,
    store::{JobStore, MemoryStore, Store, TaskFilter, TaskStore, TaskUpdate, sqlite::SqliteStore},
    types::{
        Action, CatchUp, Job, JobStatus, Overlap, Schedule, Task, TaskStatus, TimeTrigger, Trigger,
    },
};
use triggerx_scheduler::time::{Config, TimeEngine};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn job(id: u64, schedule: Schedule, catch_up: CatchUp, overlap: Overlap) -> Job {
    let trigger = Trigger::Time(TimeTrigger {
        schedule,
        start: None,
        catch_up,
        overlap,
    });
    let function = Function::parse("increment()").unwrap();
    let action = Action::without_arguments(31337, Address::repeat_byte(0x22), function);
    let mut job = Job::new(
        JobId::from_u64(id),
        Address::repeat_byte(0x11),
        trigger,
        action,
        ts("2026-12-03T10:00:00Z"),
    );
    job.title = format!("job {id}");
    job
}

fn every(secs: u64) -> Schedule {
    Schedule::Interval { every_secs: secs }
}

fn engine(store: &Arc<dyn Store>) -> TimeEngine {
    let mut e = TimeEngine::new(store.clone(), Config::default());
    e.load().unwrap();
    e
}

fn dues(tasks: &[Task]) -> Vec<Timestamp> {
    tasks
        .iter()
        .map(|t| match t.occurrence {
            Occurrence::Time { due, .. } => due,
            _ => panic!("not a time task"),
        })
        .collect()
}

fn all_tasks(store: &dyn Store, id: u64) -> Vec<Task> {
    let filter = TaskFilter {
        job_id: Some(JobId::from_u64(id)),
        ..Default::default()
    };
    store.list_tasks(&filter).unwrap().items
}

#[test]
fn interval_fires_each_instant_once() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .insert_job(&job(1, every(60), CatchUp::FireOnce, Overlap::Allow))
        .unwrap();
    let mut e = engine(&store);
    assert_eq!(e.next_wakeup(), Some(ts("2026-12-03T10:01:00Z")));
    assert!(e.tick(ts("2026-12-03T10:00:59.999Z")).unwrap().is_empty());
    let fired = e.tick(ts("2026-12-03T10:01:00.002Z")).unwrap();
    assert_eq!(dues(&fired), vec![ts("2026-12-03T10:01:00Z")]);
    // Ticking again at the same time creates nothing.
    assert!(e.tick(ts("2026-12-03T10:01:00.500Z")).unwrap().is_empty());
    let fired = e.tick(ts("2026-12-03T10:02:00Z")).unwrap();
    assert_eq!(dues(&fired), vec![ts("2026-12-03T10:02:00Z")]);
    assert_eq!(
        fired[0].id,
        Occurrence::Time {
            job: JobId::from_u64(1),
            due: ts("2026-12-03T10:02:00Z")
        }
        .task_id()
    );
    assert_eq!(all_tasks(store.as_ref(), 1).len(), 2);
    assert_eq!(e.stats().fired, 2);
}

#[test]
fn restart_misses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        store
            .insert_job(&job(
                1,
                every(10),
                CatchUp::FireAll { window_secs: 3600 },
                Overlap::Allow,
            ))
            .unwrap();
        let mut e = engine(&store);
        let fired = e.tick(ts("2026-12-03T10:00:30Z")).unwrap();
        assert_eq!(fired.len(), 3); // 10:00:10, :20, :30
    }
    // Down for a minute; a second engine over the same file catches up exactly the missed ones.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let mut e = engine(&store);
    let fired = e.tick(ts("2026-12-03T10:01:30Z")).unwrap();
    assert_eq!(dues(&fired).first(), Some(&ts("2026-12-03T10:00:40Z")));
    assert_eq!(fired.len(), 6); // :40 :50 1:00 1:10 1:20 1:30
    assert_eq!(e.stats().already_existed, 0);
    let tasks = all_tasks(store.as_ref(), 1);
    assert_eq!(tasks.len(), 9);
    let mut ids: Vec<_> = tasks.iter().map(|t| t.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 9);
}

#[test]
fn catch_up_fire_once_and_skip() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .insert_job(&job(1, every(60), CatchUp::FireOnce, Overlap::Allow))
        .unwrap();
    store
        .insert_job(&job(2, every(60), CatchUp::Skip, Overlap::Allow))
        .unwrap();
    let mut e = engine(&store);
    // First look ten minutes after creation: ten instants are overdue.
    let fired = e.tick(ts("2026-12-03T10:10:30Z")).unwrap();
    assert_eq!(dues(&fired), vec![ts("2026-12-03T10:10:00Z")]);
    assert_eq!(fired[0].job_id, JobId::from_u64(1));
    // Both resume on schedule.
    let fired = e.tick(ts("2026-12-03T10:11:00.001Z")).unwrap();
    assert_eq!(fired.len(), 2);
}

#[test]
fn expiry_and_one_shot_schedules_finish_the_job() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut expiring = job(1, every(60), CatchUp::FireOnce, Overlap::Allow);
    expiring.expires_at = Some(ts("2026-12-03T10:03:00Z"));
    store.insert_job(&expiring).unwrap();
    let at = Schedule::At {
        instants: vec![ts("2026-12-03T10:00:30Z"), ts("2026-12-03T10:01:30Z")],
    };
    store
        .insert_job(&job(2, at, CatchUp::FireOnce, Overlap::Allow))
        .unwrap();
    let mut e = engine(&store);
    let mut fired = Vec::new();
    let mut now = ts("2026-12-03T10:00:00Z");
    while now < ts("2026-12-03T10:10:00Z") {
        fired.extend(e.tick(now).unwrap());
        now = now.add_millis(500);
    }
    let j1: Vec<_> = fired
        .iter()
        .filter(|t| t.job_id == JobId::from_u64(1))
        .collect();
    // 10:01 and 10:02 fire; 10:03 is at expiry and does not.
    assert_eq!(j1.len(), 2);
    assert_eq!(fired.len(), 4);
    assert_eq!(
        store.get_job(JobId::from_u64(1)).unwrap().unwrap().status,
        JobStatus::Expired
    );
    assert_eq!(
        store.get_job(JobId::from_u64(2)).unwrap().unwrap().status,
        JobStatus::Completed
    );
    assert!(e.is_empty());
}

#[test]
fn non_recurring_time_job_fires_once() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut one = job(1, every(60), CatchUp::FireOnce, Overlap::Allow);
    one.recurring = false;
    store.insert_job(&one).unwrap();
    let mut e = engine(&store);
    assert_eq!(e.tick(ts("2026-12-03T10:01:00Z")).unwrap().len(), 1);
    assert!(e.tick(ts("2026-12-03T10:05:00Z")).unwrap().is_empty());
    assert_eq!(
        store.get_job(JobId::from_u64(1)).unwrap().unwrap().status,
        JobStatus::Completed
    );
}

#[test]
fn overlap_skip_waits_for_the_previous_task() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .insert_job(&job(1, every(60), CatchUp::FireOnce, Overlap::Skip))
        .unwrap();
    let mut e = engine(&store);
    let first = e.tick(ts("2026-12-03T10:01:00Z")).unwrap().remove(0);
    // Previous task still unsettled at 10:02: skipped.
    assert!(e.tick(ts("2026-12-03T10:02:00Z")).unwrap().is_empty());
    assert_eq!(e.stats().skipped_overlap, 1);
    store
        .transition_task(
            first.id,
            TaskStatus::Created,
            &TaskUpdate::new(TaskStatus::Failed, ts("2026-12-03T10:02:10Z")),
        )
        .unwrap();
    assert_eq!(e.tick(ts("2026-12-03T10:03:00Z")).unwrap().len(), 1);
}

#[test]
fn pause_and_resume_take_effect_at_once() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let j = job(1, every(60), CatchUp::FireOnce, Overlap::Allow);
    store.insert_job(&j).unwrap();
    let mut e = engine(&store);
    assert_eq!(e.tick(ts("2026-12-03T10:01:00Z")).unwrap().len(), 1);
    e.remove_job(j.id);
    assert!(e.tick(ts("2026-12-03T10:05:00Z")).unwrap().is_empty());
    // Resumed at 10:05:30: the instants due while paused are dropped, not caught up.
    e.resume_job(&j, ts("2026-12-03T10:05:30Z")).unwrap();
    assert!(e.tick(ts("2026-12-03T10:05:30Z")).unwrap().is_empty());
    assert_eq!(
        dues(&e.tick(ts("2026-12-03T10:06:00Z")).unwrap()),
        vec![ts("2026-12-03T10:06:00Z")]
    );
    // A paused job loaded by a fresh engine is not watched at all.
    store
        .set_job_status(
            j.id,
            JobStatus::Active,
            JobStatus::Paused,
            ts("2026-12-03T10:06:10Z"),
        )
        .unwrap();
    let mut fresh = engine(&store);
    assert!(fresh.is_empty());
    assert!(fresh.tick(ts("2026-12-03T11:00:00Z")).unwrap().is_empty());
}

#[test]
fn a_resumed_job_from_the_watcher_skips_what_was_due_while_paused() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let j = job(1, every(60), CatchUp::FireOnce, Overlap::Allow);
    store.insert_job(&j).unwrap();
    let mut e = engine(&store);
    assert_eq!(e.tick(ts("2026-12-03T10:01:00Z")).unwrap().len(), 1);
    let paused = store
        .set_job_status(
            j.id,
            JobStatus::Active,
            JobStatus::Paused,
            ts("2026-12-03T10:01:10Z"),
        )
        .unwrap();
    e.apply_change(&paused, ts("2026-12-03T10:01:11Z")).unwrap();
    assert!(!e.contains(j.id));
    let resumed = store
        .set_job_status(
            j.id,
            JobStatus::Paused,
            JobStatus::Active,
            ts("2026-12-03T10:05:30Z"),
        )
        .unwrap();
    // Delivered a little after the resume: 10:02 … 10:05 were due while paused and stay
    // unfired, even under `fire_once`.
    e.apply_change(&resumed, ts("2026-12-03T10:05:31Z"))
        .unwrap();
    assert!(e.contains(j.id));
    assert!(e.tick(ts("2026-12-03T10:05:31Z")).unwrap().is_empty());
    assert_eq!(
        dues(&e.tick(ts("2026-12-03T10:06:00Z")).unwrap()),
        vec![ts("2026-12-03T10:06:00Z")]
    );
    // An edit of a held job keeps its cursor: the next instant still fires once.
    let mut edited = resumed.clone();
    edited.title = "renamed".into();
    edited.updated_at = ts("2026-12-03T10:06:30Z");
    e.apply_change(&edited, ts("2026-12-03T10:07:30Z")).unwrap();
    assert_eq!(
        dues(&e.tick(ts("2026-12-03T10:07:30Z")).unwrap()),
        vec![ts("2026-12-03T10:07:00Z")]
    );
}

#[test]
fn a_new_job_from_the_watcher_is_a_plain_upsert() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut e = engine(&store);
    let j = job(2, every(60), CatchUp::FireOnce, Overlap::Allow);
    store.insert_job(&j).unwrap();
    // Delivered late, after its first instant: the first instant still fires.
    e.apply_change(&j, ts("2026-12-03T10:01:30Z")).unwrap();
    assert_eq!(
        dues(&e.tick(ts("2026-12-03T10:01:30Z")).unwrap()),
        vec![ts("2026-12-03T10:01:00Z")]
    );
}

#[test]
fn cron_job_in_a_time_zone() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let cron = Schedule::Cron {
        expression: "0 0 12 * * *".into(),
        timezone: "America/New_York".into(),
    };
    store
        .insert_job(&job(1, cron, CatchUp::FireOnce, Overlap::Allow))
        .unwrap();
    let mut e = engine(&store);
    // Noon in New York on 2026-12-03 is 17:00 UTC.
    assert_eq!(e.next_wakeup(), Some(ts("2026-12-03T17:00:00Z")));
    assert_eq!(e.tick(ts("2026-12-03T17:00:00Z")).unwrap().len(), 1);
    assert_eq!(e.next_wakeup(), Some(ts("2026-12-04T17:00:00Z")));
}

#[test]
fn a_job_paused_under_the_engine_does_not_lose_the_tick() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut one = job(1, every(60), CatchUp::FireOnce, Overlap::Allow);
    one.recurring = false;
    store.insert_job(&one).unwrap();
    store
        .insert_job(&job(2, every(60), CatchUp::FireOnce, Overlap::Allow))
        .unwrap();
    let mut e = engine(&store);
    // Paused through the API after the engine loaded it: the engine's Active → Completed is stale.
    store
        .set_job_status(
            one.id,
            JobStatus::Active,
            JobStatus::Paused,
            ts("2026-12-03T10:00:30Z"),
        )
        .unwrap();
    let fired = e.tick(ts("2026-12-03T10:01:00Z")).unwrap();
    assert_eq!(fired.len(), 2, "the tick's tasks and cursors still land");
    assert_eq!(
        store.get_job(one.id).unwrap().unwrap().status,
        JobStatus::Paused
    );
}
