//! The job change feed: one store-wide revision per job write, in commit order; each job once,
//! at its last write; paging by revision.

use super::{Opener, fixtures::*, fresh, jobs::job_set};
use crate::{
    Error, JobId,
    store::{JobChange, Store, WriteBatch},
    types::JobStatus,
};

/// Reads the whole feed after `after` in pages of `limit`.
fn walk(store: &dyn Store, after: u64, limit: usize) -> Vec<JobChange> {
    let mut out: Vec<JobChange> = Vec::new();
    let mut cursor = after;
    for _ in 0..1000 {
        let page = store
            .list_jobs_changed(cursor, limit)
            .expect("list_jobs_changed");
        assert!(page.len() <= limit, "a page holds at most `limit` entries");
        let Some(last) = page.last() else {
            return out;
        };
        cursor = last.revision;
        out.extend(page);
    }
    panic!("the feed did not end");
}

/// Checks the feed's shape: strictly increasing revisions, each job once, bodies as stored.
fn check_shape(store: &dyn Store, feed: &[JobChange]) {
    for w in feed.windows(2) {
        assert!(
            w[0].revision < w[1].revision,
            "revisions increase: {feed:?}"
        );
    }
    let mut ids: Vec<JobId> = feed.iter().map(|c| c.job.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), feed.len(), "each job appears once");
    for c in feed {
        assert_eq!(store.get_job(c.job.id).unwrap().as_ref(), Some(&c.job));
    }
}

/// Revisions, the head, paging, and which writes move a job in the feed.
pub fn job_change_feed(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    assert_eq!(store.job_revision().unwrap(), 0, "an empty store's head");
    assert!(store.list_jobs_changed(0, 10).unwrap().is_empty());

    let jobs = job_set();
    store.insert_jobs(&jobs[..20]).unwrap();
    let head = store.job_revision().unwrap();
    let feed = store.list_jobs_changed(0, 100).unwrap();
    assert_eq!(feed.len(), 20);
    check_shape(&*store, &feed);
    assert_eq!(
        feed.last().map(|c| c.revision),
        Some(head),
        "the head is the last revision"
    );
    assert_eq!(walk(&*store, 0, 7), feed, "paging yields the same feed");
    assert_eq!(walk(&*store, 0, 1), feed);
    assert!(store.list_jobs_changed(head, 10).unwrap().is_empty());
    assert_eq!(
        store.list_jobs_changed(feed[4].revision, 3).unwrap(),
        feed[5..8]
    );
    assert!(store.list_jobs_changed(u64::MAX, 10).unwrap().is_empty());

    // Writes of other records leave the head where it is.
    store.put_checkpoint("watch/jobs", b"x").unwrap();
    store.create_task(&time_task(jobs[0].id, 5)).unwrap();
    store.upsert_keeper(&keeper(1)).unwrap();
    assert_eq!(store.job_revision().unwrap(), head);

    // A failed batch gives out no revision.
    let mut batch = WriteBatch::new();
    batch
        .insert_job(jobs[20].clone())
        .insert_job(jobs[0].clone());
    assert_err!(store.commit(&batch), Error::AlreadyExists { .. });
    assert_eq!(store.job_revision().unwrap(), head);
    assert!(store.list_jobs_changed(head, 10).unwrap().is_empty());
    // A failed compare-and-set neither.
    assert_err!(
        store.set_job_status(jobs[1].id, JobStatus::Paused, JobStatus::Active, T0),
        Error::Conflict { .. }
    );
    assert_eq!(store.job_revision().unwrap(), head);

    // A status change moves the job to the end of the feed.
    let paused = store
        .set_job_status(
            jobs[3].id,
            JobStatus::Active,
            JobStatus::Paused,
            T0.add_millis(1),
        )
        .unwrap();
    let after_pause = store.job_revision().unwrap();
    assert!(after_pause > head);
    assert_eq!(
        store.list_jobs_changed(head, 10).unwrap(),
        [JobChange {
            revision: after_pause,
            job: paused.clone(),
        }]
    );

    // An edit too.
    let mut edited = paused.clone();
    edited.title = "edited".to_owned();
    edited.updated_at = T0.add_millis(2);
    store.replace_job(&edited, paused.updated_at).unwrap();
    let after_edit = store.job_revision().unwrap();
    assert!(after_edit > after_pause);
    let tail = store.list_jobs_changed(head, 10).unwrap();
    assert_eq!(
        tail.len(),
        1,
        "the job is in the feed once, at its last write"
    );
    assert_eq!((tail[0].revision, &tail[0].job), (after_edit, &edited));

    // One batch writing several jobs (one of them twice): all after the old head, each once,
    // in the order of their last write.
    let mut batch = WriteBatch::new();
    batch
        .set_job_status(
            jobs[5].id,
            JobStatus::Active,
            JobStatus::Paused,
            T0.add_millis(3),
        )
        .insert_job(jobs[20].clone())
        .set_job_status(
            jobs[5].id,
            JobStatus::Paused,
            JobStatus::Active,
            T0.add_millis(4),
        );
    store.commit(&batch).unwrap();
    let tail = store.list_jobs_changed(after_edit, 10).unwrap();
    let ids: Vec<JobId> = tail.iter().map(|c| c.job.id).collect();
    assert_eq!(ids, [jobs[20].id, jobs[5].id]);
    assert_eq!(tail[1].job.status, JobStatus::Active);
    assert_eq!(tail[1].revision, store.job_revision().unwrap());

    // The whole feed still holds every job once, and the jobs written last come last.
    let feed = walk(&*store, 0, 4);
    assert_eq!(feed.len(), 21);
    check_shape(&*store, &feed);
    let last: Vec<JobId> = feed[18..].iter().map(|c| c.job.id).collect();
    assert_eq!(last, [jobs[3].id, jobs[20].id, jobs[5].id]);
}
