//! Task cases: idempotent creation, transitions, listings and counts; atomic batches.

use alloy_primitives::B256;

use super::{Opener, fixtures::*, fresh};
use crate::{
    Error, JobId,
    store::{Created, OpOutcome, Store, TaskFilter, TaskUpdate, WriteBatch},
    types::{JobStatus, Task, TaskStatus},
};

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
