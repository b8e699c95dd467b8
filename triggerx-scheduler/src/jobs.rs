//! What every trigger engine does with the store: load the active jobs of its kind, and commit a
//! tick's tasks together with its cursor and job-status changes.

use triggerx_core::{
    Error as CoreError,
    store::{JobFilter, OpOutcome, Store, WriteBatch, WriteOp},
    types::{Job, Task, TriggerKind},
};

use crate::Result;

/// Calls `f` for every active job of `kind`, reading `page` jobs at a time; returns how many
/// jobs `f` accepted (returned `true` for).
pub(crate) fn for_each_active(
    store: &dyn Store,
    kind: TriggerKind,
    page: usize,
    mut f: impl FnMut(&Job) -> Result<bool>,
) -> Result<usize> {
    let mut filter = JobFilter::active(kind);
    filter.limit = Some(page.max(1));
    let mut n = 0;
    loop {
        let page = store.list_jobs(&filter)?;
        for job in &page.items {
            if f(job)? {
                n += 1;
            }
        }
        match page.next {
            Some(next) => filter.after = Some(next),
            None => return Ok(n),
        }
    }
}

/// The tasks a commit created, and how many occurrences already had their task.
#[derive(Debug, Default)]
pub(crate) struct Committed {
    pub(crate) created: Vec<Task>,
    pub(crate) existed: u64,
}

/// Commits an engine's batch atomically. When a job-status change in it is stale (the job was
/// paused or deleted meanwhile), the batch is committed again without the status changes — the
/// tasks and cursors must not be lost because a job changed under the engine.
pub(crate) fn commit(store: &dyn Store, batch: &WriteBatch) -> Result<Committed> {
    let outcome = match store.commit(batch) {
        Ok(o) => o,
        Err(CoreError::Conflict { .. })
            if batch
                .ops()
                .iter()
                .any(|op| matches!(op, WriteOp::SetJobStatus { .. })) =>
        {
            let mut retry = WriteBatch::new();
            for op in batch.ops() {
                if !matches!(op, WriteOp::SetJobStatus { .. }) {
                    retry.push(op.clone());
                }
            }
            store.commit(&retry)?
        }
        Err(e) => return Err(e.into()),
    };
    let mut committed = Committed::default();
    for o in outcome.outcomes {
        if let OpOutcome::Created(c) = o {
            if c.is_inserted() {
                committed.created.push(c.into_inner());
            } else {
                committed.existed += 1;
            }
        }
    }
    Ok(committed)
}
