//! The event job index: address → topic 0 → jobs, so one `eth_getLogs` for the union of all
//! jobs' filters is matched locally in constant time per log.

use std::collections::{BTreeSet, HashMap};

use alloy_primitives::{Address, B256};
use triggerx_core::{JobId, Timestamp, matching::EventMatcher};

/// One watched event job.
#[derive(Debug, Clone)]
pub(crate) struct Watched {
    pub(crate) matcher: EventMatcher,
    pub(crate) confirmations: u64,
    pub(crate) recurring: bool,
    pub(crate) expires_at: Option<Timestamp>,
    /// Logs in blocks before this one never match the job.
    pub(crate) start_block: u64,
}

/// Jobs by id, and their (address, topic 0) keys.
#[derive(Debug, Default)]
pub(crate) struct Index {
    jobs: HashMap<JobId, Watched>,
    by_key: HashMap<Address, HashMap<B256, Vec<JobId>>>,
}

impl Index {
    pub(crate) fn insert(&mut self, id: JobId, watched: Watched) {
        self.remove(id);
        for address in watched.matcher.addresses() {
            self.by_key
                .entry(*address)
                .or_default()
                .entry(watched.matcher.topic0())
                .or_default()
                .push(id);
        }
        self.jobs.insert(id, watched);
    }

    pub(crate) fn remove(&mut self, id: JobId) -> Option<Watched> {
        let watched = self.jobs.remove(&id)?;
        for address in watched.matcher.addresses() {
            if let Some(by_topic) = self.by_key.get_mut(address) {
                if let Some(ids) = by_topic.get_mut(&watched.matcher.topic0()) {
                    ids.retain(|j| *j != id);
                    if ids.is_empty() {
                        by_topic.remove(&watched.matcher.topic0());
                    }
                }
                if by_topic.is_empty() {
                    self.by_key.remove(address);
                }
            }
        }
        Some(watched)
    }

    pub(crate) fn get(&self, id: JobId) -> Option<&Watched> {
        self.jobs.get(&id)
    }

    /// The jobs that may match a log from `address` with `topic0`.
    pub(crate) fn candidates(&self, address: Address, topic0: Option<B256>) -> &[JobId] {
        topic0
            .and_then(|t| self.by_key.get(&address)?.get(&t))
            .map_or(&[], Vec::as_slice)
    }

    /// The union filter: every watched address and every watched topic 0, sorted.
    pub(crate) fn union(&self) -> (Vec<Address>, Vec<B256>) {
        let mut topics = BTreeSet::new();
        for by_topic in self.by_key.values() {
            topics.extend(by_topic.keys().copied());
        }
        let mut addresses: Vec<_> = self.by_key.keys().copied().collect();
        addresses.sort_unstable();
        (addresses, topics.into_iter().collect())
    }

    pub(crate) fn len(&self) -> usize {
        self.jobs.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&JobId, &Watched)> {
        self.jobs.iter()
    }
}

impl Index {
    /// Whether no address is watched (then no log query is needed).
    pub(crate) fn is_empty_index(&self) -> bool {
        self.by_key.is_empty()
    }
}
