//! From [`Change`]s to one [`WriteBatch`]: keeper records, task outcomes, points and the
//! per-task settlement markers, read from the store once per record and written once per
//! record. Pure over the store (no RPC), so a batch refused by a compare-and-set conflict is
//! planned again from fresh reads.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, U256};
use triggerx_core::{
    TaskId, Timestamp,
    store::{Store, TaskUpdate, WriteBatch},
    types::{JobStatus, Keeper, TaskStatus, User},
};

use super::{
    Stats,
    decode::{Change, Settlement},
    points,
};
use crate::Result;

/// The checkpoint key of the marker recording that `task`'s settlement was applied.
pub fn settled_key(chain_id: u64, task: TaskId) -> String {
    format!("registrar/{chain_id}/settled/{task}")
}

/// The store writes of one block range and the counters they imply.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) batch: WriteBatch,
    pub(crate) stats: Stats,
}

/// Plans `changes` against the current store contents.
pub(crate) fn plan(store: &dyn Store, chain_id: u64, changes: &[Change]) -> Result<Planned> {
    let mut p = Planner {
        store,
        chain_id,
        keepers: BTreeMap::new(),
        users: BTreeMap::new(),
        settled: BTreeSet::new(),
        batch: WriteBatch::new(),
        stats: Stats::default(),
    };
    for change in changes {
        p.apply(change)?;
    }
    let Planner {
        keepers,
        users,
        mut batch,
        stats,
        ..
    } = p;
    // Only the registrar's part of each record: health's check-ins since it was read stay.
    for keeper in keepers.into_values() {
        batch.put_keeper_registration(keeper);
    }
    for user in users.into_values() {
        batch.upsert_user(user);
    }
    Ok(Planned { batch, stats })
}

struct Planner<'a> {
    store: &'a dyn Store,
    chain_id: u64,
    keepers: BTreeMap<Address, Keeper>,
    users: BTreeMap<Address, User>,
    /// Tasks settled earlier in this batch.
    settled: BTreeSet<TaskId>,
    batch: WriteBatch,
    stats: Stats,
}

impl Planner<'_> {
    fn apply(&mut self, change: &Change) -> Result<()> {
        match change {
            Change::KeeperAdded { keeper, power, at } => {
                let k = self.keeper(*keeper, *at)?;
                k.registered = true;
                k.voting_power = *power;
                // The first registration is kept on a re-add.
                k.registered_at = k.registered_at.min(*at);
                self.stats.keepers_added += 1;
            }
            Change::KeeperRemoved { keeper, at } => {
                let k = self.keeper(*keeper, *at)?;
                k.registered = false;
                k.online = false;
                // The registry zeroes a removed keeper's power.
                k.voting_power = U256::ZERO;
                self.stats.keepers_removed += 1;
            }
            Change::PowerChanged { keeper, power, at } => {
                let k = self.keeper(*keeper, *at)?;
                k.voting_power = *power;
                self.stats.power_changes += 1;
            }
            Change::Settled(s) => self.settle(s)?,
            Change::JobCancelled { job, at } => match self.store.get_job(*job)? {
                Some(j) if j.status.can_become(JobStatus::Deleted) => {
                    self.batch
                        .set_job_status(*job, j.status, JobStatus::Deleted, *at);
                    self.stats.jobs_cancelled += 1;
                }
                Some(_) => {}
                None => self.stats.unknown_jobs += 1,
            },
        }
        Ok(())
    }

    /// The keeper's record as this batch will write it: read from the store the first time,
    /// created (registered, no power) when the store has none.
    fn keeper(&mut self, address: Address, at: Timestamp) -> Result<&mut Keeper> {
        if !self.keepers.contains_key(&address) {
            let k = match self.store.get_keeper(address)? {
                Some(k) => k,
                None => Keeper::new(address, U256::ZERO, at),
            };
            self.keepers.insert(address, k);
        }
        Ok(self.keepers.get_mut(&address).expect("just inserted"))
    }

    fn settle(&mut self, s: &Settlement) -> Result<()> {
        let marker = settled_key(self.chain_id, s.task);
        if self.settled.contains(&s.task) || self.store.get_checkpoint(&marker)?.is_some() {
            self.stats.already_applied += 1;
            return Ok(());
        }
        let Some(task) = self.store.get_task(s.task)? else {
            self.stats.unknown_tasks += 1;
            return Ok(());
        };
        let to = if s.accepted {
            TaskStatus::Accepted
        } else {
            TaskStatus::Rejected
        };
        if task.status == to {
            self.stats.already_recorded += 1;
        } else if task.status.can_become(to) {
            let note = if s.accepted {
                format!("verdict tx {}", s.tx_hash)
            } else {
                format!("rejected by quorum; verdict tx {}", s.tx_hash)
            };
            self.batch.transition_task(
                s.task,
                task.status,
                TaskUpdate::new(to, s.at).with_error(note),
            );
            if s.accepted {
                self.stats.accepted += 1;
            } else {
                self.stats.rejected += 1;
            }
        } else {
            // `created`/`assigned` (the store lags the chain) or ended otherwise: the chain's
            // outcome is final, so the points are still credited; the status is left alone.
            self.stats.status_conflicts += 1;
        }
        if !s.charge_found {
            self.stats.charges_missing += 1;
        }

        // Points.
        match &s.attesters {
            Some(attesters) => {
                let reward = points::attester_reward(&s.cost);
                for a in attesters {
                    let k = self.keeper(*a, s.at)?;
                    k.points = points::add(&k.points, &reward);
                    k.attested_tasks += 1;
                }
            }
            None => self.stats.attesters_unknown += 1,
        }
        let reward = points::performer_reward(&s.cost, s.accepted);
        let k = self.keeper(s.performer, s.at)?;
        k.points = points::add(&k.points, &reward);
        k.executed_tasks += 1;
        match self.store.get_job(task.job_id)? {
            Some(job) => {
                let owner = job.owner;
                if !self.users.contains_key(&owner) {
                    let user = self.store.get_user(owner)?.unwrap_or(User {
                        address: owner,
                        points: triggerx_core::types::Decimal::zero(),
                        total_jobs: 0,
                        total_tasks: 0,
                        created_at: s.at,
                    });
                    self.users.insert(owner, user);
                }
                let u = self.users.get_mut(&owner).expect("just inserted");
                u.points = points::add(&u.points, &points::owner_reward(&s.cost));
                u.total_tasks += 1;
            }
            None => self.stats.unknown_owners += 1,
        }
        let value = serde_json::json!({
            "accepted": s.accepted,
            "block": s.block,
            "tx": s.tx_hash,
            "cost": s.cost.to_string(),
        });
        self.batch
            .put_checkpoint(marker, serde_json::to_vec(&value).expect("json"));
        self.settled.insert(s.task);
        self.stats.credited += 1;
        Ok(())
    }
}
