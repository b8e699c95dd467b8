//! Job cases: records, listings with every filter and pagination, compare-and-set.

use alloy_primitives::U256;

use super::{Opener, fixtures::*, fresh};
use crate::{
    Error, JobId,
    store::{JobFilter, Store},
    types::{Job, JobStatus, TriggerKind},
};

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
