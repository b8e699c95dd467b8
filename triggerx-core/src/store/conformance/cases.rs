//! The single-threaded cases: records, listings, compare-and-set, idempotency, batches.

use alloy_primitives::{B256, U256};

use super::{Opener, fixtures::*, fresh};
use crate::{
    Error, JobId, Timestamp,
    store::{
        Created, JobFilter, KeeperFilter, OpOutcome, Store, TaskFilter, TaskUpdate, WriteBatch,
    },
    types::{Job, JobStatus, Task, TaskStatus, TriggerKind},
};

macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected {}, got {other:?}", stringify!($pattern)),
        }
    };
}

/// 24 jobs of every kind, three owners, two trigger chains and two action chains, with ids
/// spread over the whole 256-bit range (so byte order must be numeric order), in an order
/// that is not id order.
pub fn job_set() -> Vec<Job> {
    (0u64..24)
        .rev()
        .map(|i| {
            let id = JobId(U256::from(i + 1) << (60 * (i % 5) as usize));
            let owner = address((i / 2) % 3 + 1);
            let trigger_chain = [1, 10][(i % 2) as usize];
            let action_chain = [1, 137][((i / 3) % 2) as usize];
            match i % 3 {
                0 if i % 6 == 3 => cron_job(id, owner, action_chain),
                0 => time_job(id, owner, action_chain),
                1 => event_job(id, owner, trigger_chain, action_chain),
                _ => condition_job(id, owner, trigger_chain, action_chain),
            }
        })
        .collect()
}

/// Reads every page of `filter` with page size `limit`, checking the page shapes.
fn walk_jobs(store: &dyn Store, filter: &JobFilter, limit: usize) -> Vec<Job> {
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..1000 {
        let page = store
            .list_jobs(&JobFilter {
                limit: Some(limit),
                after,
                ..filter.clone()
            })
            .expect("list_jobs");
        assert!(
            page.items.len() <= limit,
            "a page holds at most `limit` items"
        );
        out.extend(page.items.iter().cloned());
        match page.next {
            Some(next) => {
                assert_eq!(
                    page.items.len(),
                    limit,
                    "only a full page has a next cursor"
                );
                assert_eq!(Some(next), page.items.last().map(|j| j.id));
                after = Some(next);
            }
            None => return out,
        }
    }
    panic!("pagination did not terminate");
}

fn walk_tasks(store: &dyn Store, filter: &TaskFilter, limit: usize) -> Vec<Task> {
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..10_000 {
        let page = store
            .list_tasks(&TaskFilter {
                limit: Some(limit),
                after,
                ..filter.clone()
            })
            .expect("list_tasks");
        assert!(page.items.len() <= limit);
        out.extend(page.items.iter().cloned());
        match page.next {
            Some(next) => {
                assert_eq!(
                    page.items.len(),
                    limit,
                    "only a full page has a next cursor"
                );
                after = Some(next);
            }
            None => return out,
        }
    }
    panic!("pagination did not terminate");
}

/// Insert, read back, duplicate ids, atomic multi-insert.
pub fn job_crud(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    let job = event_job(JobId::from_u64(7), address(1), 10, 1);
    assert_eq!(store.get_job(job.id).unwrap(), None);
    store.insert_job(&job).unwrap();
    assert_eq!(
        store.get_job(job.id).unwrap().as_ref(),
        Some(&job),
        "stored body round-trips"
    );
    assert_err!(
        store.insert_job(&job),
        Error::AlreadyExists { entity: "job", .. }
    );

    // A batch with one taken id inserts nothing.
    let fresh_jobs = [time_job(JobId::from_u64(8), address(1), 1), job];
    assert_err!(store.insert_jobs(&fresh_jobs), Error::AlreadyExists { .. });
    assert_eq!(
        store.get_job(JobId::from_u64(8)).unwrap(),
        None,
        "no partial multi-insert"
    );

    let many: Vec<Job> = (100..150)
        .map(|i| time_job(JobId::from_u64(i), address(2), 1))
        .collect();
    store.insert_jobs(&many).unwrap();
    for j in &many {
        assert_eq!(store.get_job(j.id).unwrap().as_ref(), Some(j));
    }
    assert_eq!(
        store.list_jobs(&JobFilter::default()).unwrap().items.len(),
        51
    );
}

/// Listing by owner, status, kind and chain, alone and combined, with pagination.
pub fn job_listing(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    let mut jobs = job_set();
    store.insert_jobs(&jobs).unwrap();
    // Some state changes, so the status indexes must follow updates.
    for (i, job) in jobs.iter_mut().enumerate() {
        let to = match i % 4 {
            1 => JobStatus::Paused,
            2 if i % 3 == 0 => JobStatus::Completed,
            _ => continue,
        };
        let at = T0.add_millis(1000);
        *job = store
            .set_job_status(job.id, JobStatus::Active, to, at)
            .unwrap();
    }
    jobs.sort_by_key(|j| j.id);

    let mut filters = vec![JobFilter::default()];
    for owner in [address(1), address(2), address(3), address(99)] {
        filters.push(JobFilter {
            owner: Some(owner),
            ..JobFilter::default()
        });
    }
    for status in JobStatus::ALL {
        filters.push(JobFilter {
            status: Some(status),
            ..JobFilter::default()
        });
    }
    for kind in [
        TriggerKind::Time,
        TriggerKind::Event,
        TriggerKind::Condition,
    ] {
        filters.push(JobFilter {
            kind: Some(kind),
            ..JobFilter::default()
        });
        filters.push(JobFilter::active(kind));
        filters.push(JobFilter {
            kind: Some(kind),
            owner: Some(address(2)),
            chain_id: Some(137),
            ..JobFilter::default()
        });
    }
    for chain in [1, 10, 137, 5] {
        filters.push(JobFilter {
            chain_id: Some(chain),
            ..JobFilter::default()
        });
        filters.push(JobFilter {
            chain_id: Some(chain),
            status: Some(JobStatus::Active),
            ..JobFilter::default()
        });
    }

    for filter in &filters {
        let expected: Vec<&Job> = jobs.iter().filter(|j| filter.matches(j)).collect();
        let all = store.list_jobs(filter).unwrap();
        assert_eq!(all.next, None, "an unlimited listing is one page");
        assert_eq!(
            all.items.iter().collect::<Vec<_>>(),
            expected,
            "filter {filter:?}"
        );
        for limit in [1, 3, 5] {
            let paged = walk_jobs(&*store, filter, limit);
            assert_eq!(
                paged.iter().collect::<Vec<_>>(),
                expected,
                "filter {filter:?} limit {limit}"
            );
        }
    }

    // Hand-checked figures, independent of `JobFilter::matches`.
    let time_active = store
        .list_jobs(&JobFilter::active(TriggerKind::Time))
        .unwrap()
        .items;
    assert!(
        time_active
            .iter()
            .all(|j| j.kind() == TriggerKind::Time && j.status == JobStatus::Active)
    );
    assert_eq!(
        store.list_jobs(&JobFilter::default()).unwrap().items.len(),
        24
    );
    let chain10 = store.list_jobs(&JobFilter {
        chain_id: Some(10),
        ..JobFilter::default()
    });
    let chain10 = chain10.unwrap().items;
    assert!(!chain10.is_empty());
    assert!(
        chain10
            .iter()
            .all(|j| j.trigger.chain_id() == Some(10) || j.action.chain_id == 10)
    );
    let ids: Vec<U256> = store
        .list_jobs(&JobFilter::default())
        .unwrap()
        .items
        .iter()
        .map(|j| j.id.0)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ordered by numeric id");
    assert!(
        ids.iter().any(|id| *id > U256::from(u64::MAX)),
        "ids beyond 64 bits are covered"
    );
    let page = store
        .list_jobs(&JobFilter {
            after: Some(JobId(U256::MAX)),
            ..JobFilter::default()
        })
        .unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
}

/// Job status compare-and-set and body replacement.
pub fn job_status_cas(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    let job = condition_job(JobId::from_u64(42), address(1), 1, 1);
    store.insert_job(&job).unwrap();
    let t1 = T0.add_millis(1);

    let paused = store
        .set_job_status(job.id, JobStatus::Active, JobStatus::Paused, t1)
        .unwrap();
    assert_eq!(paused.status, JobStatus::Paused);
    assert_eq!(paused.updated_at, t1);
    assert_eq!(store.get_job(job.id).unwrap(), Some(paused.clone()));

    // A writer that still believes the job is active loses.
    assert_err!(
        store.set_job_status(job.id, JobStatus::Active, JobStatus::Completed, t1),
        Error::Conflict { entity: "job", .. }
    );
    // paused → completed is not a transition.
    assert_err!(
        store.set_job_status(job.id, JobStatus::Paused, JobStatus::Completed, t1),
        Error::InvalidTransition { entity: "job", .. }
    );
    assert_err!(
        store.set_job_status(
            JobId::from_u64(9999),
            JobStatus::Active,
            JobStatus::Paused,
            t1
        ),
        Error::NotFound { entity: "job", .. }
    );
    assert_eq!(
        store.get_job(job.id).unwrap().map(|j| j.status),
        Some(JobStatus::Paused)
    );
    let by_status = |s| {
        store
            .list_jobs(&JobFilter {
                status: Some(s),
                ..JobFilter::default()
            })
            .unwrap()
            .items
    };
    assert!(
        by_status(JobStatus::Active).is_empty(),
        "the status index follows the change"
    );
    assert_eq!(by_status(JobStatus::Paused).len(), 1);

    // Edits: compare-and-set on updated_at.
    let mut edited = paused.clone();
    edited.title = "edited".to_owned();
    edited.updated_at = T0.add_millis(2);
    assert_err!(
        store.replace_job(&edited, T0),
        Error::Conflict { entity: "job", .. }
    );
    store.replace_job(&edited, t1).unwrap();
    assert_eq!(store.get_job(job.id).unwrap(), Some(edited.clone()));
    let mut stale = paused;
    stale.title = "stale edit".to_owned();
    assert_err!(store.replace_job(&stale, t1), Error::Conflict { .. });
    let mut bad = edited.clone();
    bad.status = JobStatus::Completed;
    assert_err!(
        store.replace_job(&bad, edited.updated_at),
        Error::InvalidTransition { .. }
    );
    let mut resumed = edited.clone();
    resumed.status = JobStatus::Active;
    resumed.updated_at = T0.add_millis(3);
    store.replace_job(&resumed, edited.updated_at).unwrap();
    assert_eq!(by_status(JobStatus::Active).len(), 1);

    // An edit that changes indexed fields (owner, action chain) moves the job in every index.
    let mut moved = resumed.clone();
    moved.owner = address(2);
    moved.action.chain_id = 8453;
    moved.updated_at = T0.add_millis(4);
    store.replace_job(&moved, resumed.updated_at).unwrap();
    let list = |f: JobFilter| store.list_jobs(&f).unwrap().items;
    assert_eq!(
        list(JobFilter {
            owner: Some(address(2)),
            ..JobFilter::default()
        }),
        [moved.clone()]
    );
    assert!(
        list(JobFilter {
            owner: Some(address(1)),
            ..JobFilter::default()
        })
        .is_empty()
    );
    assert_eq!(
        list(JobFilter {
            chain_id: Some(8453),
            ..JobFilter::default()
        }),
        [moved.clone()]
    );
    assert_eq!(
        list(JobFilter {
            chain_id: Some(1),
            ..JobFilter::default()
        }),
        [moved],
        "trigger chain"
    );
    let missing = time_job(JobId::from_u64(5), address(1), 1);
    assert_err!(store.replace_job(&missing, T0), Error::NotFound { .. });
}

/// The second creation of the same occurrence returns the stored task, unchanged.
pub fn task_idempotent_creation(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    let job = JobId::from_u64(3);
    let first = event_task(job, 1, 5, 2);
    let created = store.create_task(&first).unwrap();
    assert_eq!(created, Created::Inserted(first.clone()));

    // Same occurrence, seen again later with other evidence (e.g. after a reorg) and time.
    let mut again = event_task(job, 1, 5, 2);
    again.created_at = T0.add_millis(60_000);
    again.updated_at = again.created_at;
    assert_eq!(again.id, first.id);
    let second = store.create_task(&again).unwrap();
    assert_eq!(second, Created::Existing(first.clone()));
    assert!(!second.is_inserted());

    // Also after the task moved on: the existing (moved-on) task is returned.
    let assigned = store
        .transition_task(
            first.id,
            TaskStatus::Created,
            &TaskUpdate::assign(address(9), T0),
        )
        .unwrap();
    assert_eq!(
        store.create_task(&again).unwrap(),
        Created::Existing(assigned.clone())
    );

    // Batch creation: duplicates within and across batches.
    let t1 = time_task(job, 100);
    let t2 = condition_task(job, 7);
    let outcomes = store
        .create_tasks(&[t1.clone(), again, t2.clone(), t1.clone()])
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            Created::Inserted(t1.clone()),
            Created::Existing(assigned),
            Created::Inserted(t2),
            Created::Existing(t1),
        ]
    );
    let all = store.list_tasks(&TaskFilter::default()).unwrap().items;
    assert_eq!(all.len(), 3, "one row per occurrence");
    let counts = store.count_tasks_by_status().unwrap();
    assert_eq!(counts[&TaskStatus::Created], 2);
    assert_eq!(counts[&TaskStatus::Assigned], 1);

    // A task whose id is not derived from its occurrence is refused.
    let mut forged = time_task(job, 200);
    forged.id = time_task(job, 201).id;
    assert_err!(store.create_task(&forged), Error::Invalid(_));
    assert_eq!(store.get_task(forged.id).unwrap(), None);
}

/// Task compare-and-set transitions, forbidden transitions, listing and counts.
pub fn task_transitions(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    let job = JobId::from_u64(11);
    let task = time_task(job, 1_000);
    store.create_task(&task).unwrap();
    let (k1, k2) = (address(0x51), address(0x52));

    let a1 = store
        .transition_task(
            task.id,
            TaskStatus::Created,
            &TaskUpdate::assign(k1, T0.add_millis(1)),
        )
        .unwrap();
    assert_eq!(
        (a1.status, a1.performer, a1.attempts),
        (TaskStatus::Assigned, Some(k1), 1)
    );
    assert_eq!(a1.updated_at, T0.add_millis(1));
    assert_eq!(a1.created_at, task.created_at);

    // A second scheduler acting on the stale "created" state loses.
    assert_err!(
        store.transition_task(task.id, TaskStatus::Created, &TaskUpdate::assign(k2, T0)),
        Error::Conflict { entity: "task", .. }
    );
    // created → executed skips a step: forbidden even when `expected` is right.
    let other = time_task(job, 2_000);
    store.create_task(&other).unwrap();
    let exec = TaskUpdate::new(TaskStatus::Executed, T0).with_execution(B256::repeat_byte(1), 9);
    assert_err!(
        store.transition_task(other.id, TaskStatus::Created, &exec),
        Error::InvalidTransition { entity: "task", .. }
    );
    // An assignment must name the performer.
    assert_err!(
        store.transition_task(
            other.id,
            TaskStatus::Created,
            &TaskUpdate::new(TaskStatus::Assigned, T0)
        ),
        Error::Invalid(_)
    );
    assert_eq!(
        store.get_task(other.id).unwrap(),
        Some(other.clone()),
        "failed writes change nothing"
    );

    // Reassignment to the backup performer bumps attempts.
    let a2 = store
        .transition_task(
            task.id,
            TaskStatus::Assigned,
            &TaskUpdate::assign(k2, T0.add_millis(2)),
        )
        .unwrap();
    assert_eq!((a2.performer, a2.attempts), (Some(k2), 2));
    let tx = B256::repeat_byte(0xaa);
    let executed = store
        .transition_task(
            task.id,
            TaskStatus::Assigned,
            &TaskUpdate::new(TaskStatus::Executed, T0.add_millis(3)).with_execution(tx, 77),
        )
        .unwrap();
    assert_eq!(
        (executed.tx_hash, executed.block_number),
        (Some(tx), Some(77))
    );
    assert_eq!(executed.performer, Some(k2), "unset fields are kept");
    let accepted = store
        .transition_task(
            task.id,
            TaskStatus::Executed,
            &TaskUpdate::new(TaskStatus::Accepted, T0),
        )
        .unwrap();
    assert_eq!(store.get_task(task.id).unwrap(), Some(accepted));
    assert_err!(
        store.transition_task(
            task.id,
            TaskStatus::Accepted,
            &TaskUpdate::new(TaskStatus::Failed, T0).with_error("late")
        ),
        Error::InvalidTransition { .. }
    );
    let failed = store
        .transition_task(
            other.id,
            TaskStatus::Created,
            &TaskUpdate::new(TaskStatus::Failed, T0).with_error("no performer online"),
        )
        .unwrap();
    assert_eq!(failed.error.as_deref(), Some("no performer online"));
    assert_err!(
        store.transition_task(
            time_task(job, 1).id,
            TaskStatus::Created,
            &TaskUpdate::assign(k1, T0)
        ),
        Error::NotFound { entity: "task", .. }
    );

    // Listing by job, status and performer; counts per status.
    let other_job = JobId::from_u64(12);
    let mut expected_k1 = Vec::new();
    for i in 0..40 {
        let job_id = if i % 2 == 0 { job } else { other_job };
        let t = time_task(job_id, 10_000 + i);
        store.create_task(&t).unwrap();
        if i % 3 == 0 {
            let p = if i % 2 == 0 { k1 } else { k2 };
            let t = store
                .transition_task(t.id, TaskStatus::Created, &TaskUpdate::assign(p, T0))
                .unwrap();
            if p == k1 {
                expected_k1.push(t.id);
            }
        }
    }
    let all = store.list_tasks(&TaskFilter::default()).unwrap().items;
    assert_eq!(all.len(), 42);
    assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "ordered by task id"
    );
    let filters = [
        TaskFilter {
            job_id: Some(job),
            ..TaskFilter::default()
        },
        TaskFilter {
            job_id: Some(other_job),
            ..TaskFilter::default()
        },
        TaskFilter {
            status: Some(TaskStatus::Created),
            ..TaskFilter::default()
        },
        TaskFilter {
            status: Some(TaskStatus::Assigned),
            ..TaskFilter::default()
        },
        TaskFilter {
            performer: Some(k1),
            ..TaskFilter::default()
        },
        TaskFilter {
            performer: Some(k2),
            status: Some(TaskStatus::Assigned),
            ..TaskFilter::default()
        },
        TaskFilter {
            job_id: Some(job),
            status: Some(TaskStatus::Created),
            ..TaskFilter::default()
        },
    ];
    for filter in &filters {
        let expected: Vec<&Task> = all.iter().filter(|t| filter.matches(t)).collect();
        assert!(!expected.is_empty(), "fixture covers {filter:?}");
        let listed = store.list_tasks(filter).unwrap().items;
        assert_eq!(
            listed.iter().collect::<Vec<_>>(),
            expected,
            "filter {filter:?}"
        );
        for limit in [1, 4, 7] {
            let paged = walk_tasks(&*store, filter, limit);
            assert_eq!(
                paged.iter().collect::<Vec<_>>(),
                expected,
                "filter {filter:?} limit {limit}"
            );
        }
    }
    let mut by_k1: Vec<_> = store
        .list_tasks(&TaskFilter {
            performer: Some(k1),
            ..TaskFilter::default()
        })
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.id)
        .collect();
    expected_k1.sort();
    by_k1.sort();
    assert_eq!(
        by_k1, expected_k1,
        "k1 lost the first task to k2 on reassignment"
    );

    let counts = store.count_tasks_by_status().unwrap();
    assert_eq!(
        counts.len(),
        TaskStatus::ALL.len(),
        "every state is reported"
    );
    for status in TaskStatus::ALL {
        let n = all.iter().filter(|t| t.status == status).count() as u64;
        assert_eq!(counts[&status], n, "count of {status:?}");
    }
    assert_eq!(counts[&TaskStatus::Accepted], 1);
    assert_eq!(counts[&TaskStatus::Failed], 1);
    assert_eq!(counts[&TaskStatus::Assigned], 14);
}

/// A batch with one failing compare-and-set writes nothing; a good one writes everything.
pub fn batch_atomicity(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    let job = event_job(JobId::from_u64(1), address(1), 1, 1);
    store.insert_job(&job).unwrap();
    let existing = event_task(job.id, 1, 1, 0);
    store.create_task(&existing).unwrap();
    store
        .put_checkpoint("follower/1", &5u64.to_be_bytes())
        .unwrap();

    let tasks: Vec<Task> = (2..22).map(|tx| event_task(job.id, 1, tx, 0)).collect();
    let build = |expected: JobStatus| {
        let mut b = WriteBatch::new();
        b.insert_job(time_job(JobId::from_u64(2), address(2), 1));
        for t in &tasks {
            b.create_task(t.clone());
        }
        b.transition_task(
            existing.id,
            TaskStatus::Created,
            TaskUpdate::assign(address(5), T0),
        );
        b.upsert_keeper(keeper(1));
        b.upsert_user(user(1));
        b.put_api_key(api_key("k1", "alice"));
        b.put_checkpoint("follower/1", 21u64.to_be_bytes());
        b.set_job_status(job.id, expected, JobStatus::Paused, T0.add_millis(1));
        b
    };

    // The last write's compare-and-set fails: nothing of the batch may be visible.
    assert_err!(
        store.commit(&build(JobStatus::Paused)),
        Error::Conflict { .. }
    );
    assert_eq!(store.get_job(JobId::from_u64(2)).unwrap(), None);
    for t in &tasks {
        assert_eq!(store.get_task(t.id).unwrap(), None);
    }
    assert_eq!(store.get_task(existing.id).unwrap(), Some(existing.clone()));
    assert_eq!(store.get_keeper(keeper(1).address).unwrap(), None);
    assert_eq!(store.get_user(user(1).address).unwrap(), None);
    assert_eq!(
        store
            .get_api_key_by_hash(api_key("k1", "alice").key_hash)
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_checkpoint("follower/1").unwrap(),
        Some(5u64.to_be_bytes().to_vec())
    );
    assert_eq!(
        store.get_job(job.id).unwrap().map(|j| j.status),
        Some(JobStatus::Active)
    );
    assert_eq!(
        store.count_tasks_by_status().unwrap()[&TaskStatus::Created],
        1
    );
    assert_eq!(
        store
            .list_tasks(&TaskFilter::default())
            .unwrap()
            .items
            .len(),
        1
    );

    // A failing transition in the middle aborts too.
    let mut b = WriteBatch::new();
    b.create_task(tasks[0].clone());
    b.transition_task(
        existing.id,
        TaskStatus::Created,
        TaskUpdate::new(TaskStatus::Accepted, T0),
    );
    b.put_checkpoint("follower/1", 99u64.to_be_bytes());
    assert_err!(store.commit(&b), Error::InvalidTransition { .. });
    assert_eq!(store.get_task(tasks[0].id).unwrap(), None);

    // The same batch with the right expectation lands completely.
    let outcome = store.commit(&build(JobStatus::Active)).unwrap();
    assert_eq!(outcome.outcomes.len(), 27);
    assert_eq!(outcome.tasks_inserted(), 20);
    assert_eq!(outcome.tasks_existing(), 0);
    assert!(
        matches!(&outcome.outcomes[21], OpOutcome::Task(t) if t.status == TaskStatus::Assigned)
    );
    assert!(matches!(&outcome.outcomes[26], OpOutcome::Job(j) if j.status == JobStatus::Paused));
    for t in &tasks {
        assert_eq!(store.get_task(t.id).unwrap().as_ref(), Some(t));
    }
    assert!(store.get_job(JobId::from_u64(2)).unwrap().is_some());
    assert_eq!(
        store.get_keeper(keeper(1).address).unwrap(),
        Some(keeper(1))
    );
    assert_eq!(store.get_user(user(1).address).unwrap(), Some(user(1)));
    assert_eq!(
        store.get_checkpoint("follower/1").unwrap(),
        Some(21u64.to_be_bytes().to_vec())
    );
    assert_eq!(
        store
            .list_tasks(&TaskFilter::default())
            .unwrap()
            .items
            .len(),
        21
    );

    // Writes later in a batch see earlier ones.
    let mut b = WriteBatch::new();
    let j3 = time_job(JobId::from_u64(3), address(3), 1);
    b.insert_job(j3.clone());
    b.set_job_status(j3.id, JobStatus::Active, JobStatus::Paused, T0);
    let t = time_task(j3.id, 1);
    b.create_task(t.clone());
    b.transition_task(
        t.id,
        TaskStatus::Created,
        TaskUpdate::assign(address(4), T0),
    );
    b.create_task(t);
    let outcome = store.commit(&b).unwrap();
    assert!(
        matches!(&outcome.outcomes[4], OpOutcome::Created(Created::Existing(x)) if x.status == TaskStatus::Assigned)
    );
    assert_eq!(store.commit(&WriteBatch::new()).unwrap().outcomes, vec![]);
}

/// Checkpoints: absent, stored, overwritten, arbitrary bytes, independent keys.
pub fn checkpoints(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    assert_eq!(store.get_checkpoint("events/31337").unwrap(), None);
    store.put_checkpoint("events/31337", b"block 10").unwrap();
    store.put_checkpoint("events/1", &[]).unwrap();
    let binary: Vec<u8> = (0..=255).collect();
    store.put_checkpoint("registrar", &binary).unwrap();
    assert_eq!(
        store.get_checkpoint("events/31337").unwrap().as_deref(),
        Some(&b"block 10"[..])
    );
    assert_eq!(store.get_checkpoint("events/1").unwrap(), Some(vec![]));
    assert_eq!(store.get_checkpoint("registrar").unwrap(), Some(binary));
    store.put_checkpoint("events/31337", b"block 11").unwrap();
    assert_eq!(
        store.get_checkpoint("events/31337").unwrap().as_deref(),
        Some(&b"block 11"[..])
    );
    assert_eq!(
        store.get_checkpoint("events/3133").unwrap(),
        None,
        "keys are exact"
    );
}

/// Keepers: upsert, filters, deregistration.
pub fn keepers(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    for n in 0..6 {
        let mut k = keeper(n);
        k.online = n % 2 == 0;
        store.upsert_keeper(&k).unwrap();
    }
    let mut k3 = keeper(3);
    k3.online = true;
    k3.points = "12.5".parse().unwrap();
    k3.last_checkin = Some(T0.add_millis(5));
    store.upsert_keeper(&k3).unwrap();
    assert_eq!(store.get_keeper(k3.address).unwrap(), Some(k3));
    assert_eq!(store.get_keeper(address(0xdead)).unwrap(), None);
    store.deregister_keeper(keeper(4).address).unwrap();
    assert_err!(
        store.deregister_keeper(address(0xdead)),
        Error::NotFound { .. }
    );
    let gone = store.get_keeper(keeper(4).address).unwrap().unwrap();
    assert!(!gone.registered && !gone.online);
    assert_eq!(gone.name, "keeper-4", "the record is kept");

    let names = |f: KeeperFilter| -> Vec<String> {
        store
            .list_keepers(&f)
            .unwrap()
            .into_iter()
            .map(|k| k.name)
            .collect()
    };
    assert_eq!(names(KeeperFilter::default()).len(), 6);
    assert_eq!(
        names(KeeperFilter::SELECTABLE),
        ["keeper-0", "keeper-2", "keeper-3"]
    );
    assert_eq!(
        names(KeeperFilter {
            registered: Some(false),
            online: None
        }),
        ["keeper-4"]
    );
    assert_eq!(
        names(KeeperFilter {
            registered: None,
            online: Some(false)
        }),
        ["keeper-1", "keeper-4", "keeper-5"]
    );
    let all = store.list_keepers(&KeeperFilter::default()).unwrap();
    assert!(
        all.windows(2).all(|w| w[0].address < w[1].address),
        "ordered by address"
    );
}

/// Users and API keys.
pub fn users_and_api_keys(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    let mut u = user(1);
    store.upsert_user(&u).unwrap();
    u.total_jobs = 9;
    store.upsert_user(&u).unwrap();
    assert_eq!(store.get_user(u.address).unwrap(), Some(u));
    assert_eq!(store.get_user(address(0xbeef)).unwrap(), None);

    for (id, owner) in [
        ("kb", "alice"),
        ("ka", "alice"),
        ("kc", "bob"),
        ("kd", "alice2"),
    ] {
        store.put_api_key(&api_key(id, owner)).unwrap();
    }
    let ids = |owner: &str| -> Vec<String> {
        store
            .list_api_keys(owner)
            .unwrap()
            .into_iter()
            .map(|k| k.id)
            .collect()
    };
    assert_eq!(ids("alice"), ["ka", "kb"]);
    assert_eq!(ids("bob"), ["kc"]);
    assert_eq!(ids("alic"), Vec::<String>::new(), "owners are exact");
    let ka = api_key("ka", "alice");
    assert_eq!(
        store.get_api_key_by_hash(ka.key_hash).unwrap(),
        Some(ka.clone())
    );
    assert_eq!(store.get_api_key_by_hash(B256::ZERO).unwrap(), None);

    store.set_api_key_active("ka", false).unwrap();
    assert!(
        !store
            .get_api_key_by_hash(ka.key_hash)
            .unwrap()
            .unwrap()
            .active
    );
    assert_err!(
        store.set_api_key_active("nope", false),
        Error::NotFound { .. }
    );

    // Another id cannot take an existing hash.
    let mut thief = api_key("kz", "mallory");
    thief.key_hash = ka.key_hash;
    assert_err!(store.put_api_key(&thief), Error::AlreadyExists { .. });
    assert_eq!(ids("mallory"), Vec::<String>::new());

    // Rotating a key's secret and owner moves both indexes.
    let mut rotated = api_key("kb", "carol");
    rotated.key_hash = B256::repeat_byte(0x77);
    rotated.last_used = Some(Timestamp::from_secs(5));
    store.put_api_key(&rotated).unwrap();
    assert_eq!(
        store
            .get_api_key_by_hash(api_key("kb", "alice").key_hash)
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_api_key_by_hash(rotated.key_hash).unwrap(),
        Some(rotated)
    );
    assert_eq!(ids("alice"), ["ka"]);
    assert_eq!(ids("carol"), ["kb"]);
}
