//! Bounded memory for the aggregator, and recording verdicts in the store by compare-and-set.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
};

use triggerx_core::{
    Timestamp,
    store::{Store, TaskUpdate},
    types::TaskStatus,
};

use super::SettledVerdict;

/// A map that forgets its oldest entries beyond `cap`.
#[derive(Debug)]
pub(crate) struct Bounded<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    cap: usize,
}

impl<K: Eq + Hash + Clone, V> Bounded<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    pub(crate) fn insert(&mut self, k: K, v: V) {
        if self.map.insert(k.clone(), v).is_none() {
            self.order.push_back(k);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }

    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }

    pub(crate) fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }
}

/// What recording a verdict found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// This call moved the task to `accepted` / `rejected`.
    Now,
    /// The task already had that outcome.
    Already,
    /// The task is not in the store.
    Unknown,
    /// The task is in a state that cannot take the verdict yet (`created`, `assigned`): the
    /// store lags behind the chain; try again later.
    NotYet(TaskStatus),
    /// The task ended otherwise (`failed`, `expired`, or the opposite verdict).
    Conflicting(TaskStatus),
}

/// The `error` text stored with a verdict.
pub(crate) fn note(v: &SettledVerdict) -> String {
    let tx = v
        .tx_hash
        .map_or_else(|| "unknown".to_owned(), |h| h.to_string());
    if v.approve {
        format!("verdict tx {tx}")
    } else {
        let reason = v.reason.as_deref().unwrap_or("rejected by quorum");
        format!("{reason}; verdict tx {tx}")
    }
}

/// Moves the task to the verdict's outcome if it is `executed` or `attested` (compare-and-set,
/// re-read on a conflict).
pub(crate) fn record(
    store: &dyn Store,
    v: &SettledVerdict,
    now: Timestamp,
) -> triggerx_core::Result<Recorded> {
    let to = if v.approve {
        TaskStatus::Accepted
    } else {
        TaskStatus::Rejected
    };
    let update = TaskUpdate::new(to, now).with_error(note(v));
    let mut attempts = 0;
    loop {
        let Some(task) = store.get_task(v.task_id)? else {
            return Ok(Recorded::Unknown);
        };
        if task.status == to {
            return Ok(Recorded::Already);
        }
        if task.status.is_final() {
            return Ok(Recorded::Conflicting(task.status));
        }
        if !task.status.can_become(to) {
            return Ok(Recorded::NotYet(task.status));
        }
        match store.transition_task(v.task_id, task.status, &update) {
            Ok(_) => return Ok(Recorded::Now),
            Err(triggerx_core::Error::Conflict { .. }) if attempts < 3 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Moves a task from `executed` to `attested` (its attestations are being collected); any
/// other state is left alone.
pub(crate) fn mark_attested(
    store: &dyn Store,
    task: triggerx_core::TaskId,
    now: Timestamp,
) -> triggerx_core::Result<()> {
    match store.get_task(task)? {
        Some(t) if t.status == TaskStatus::Executed => {
            match store.transition_task(
                task,
                TaskStatus::Executed,
                &TaskUpdate::new(TaskStatus::Attested, now),
            ) {
                Ok(_) | Err(triggerx_core::Error::Conflict { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_forgets_the_oldest() {
        let mut b = Bounded::new(2);
        b.insert(1, 'a');
        b.insert(2, 'b');
        b.insert(1, 'c');
        b.insert(3, 'd');
        assert!(!b.contains(&1) && b.contains(&2) && b.contains(&3));
        assert_eq!(b.get(&3), Some(&'d'));
    }
}
