//! Recovered reports: settling a task that was executed on-chain although its performer's report
//! never arrived.
//!
//! The hub records every execution (`TaskHub.executed(taskId)`, event `TaskExecuted`), so the
//! chain knows what the lost report would have said. [`find_execution`] reads it: the log gives
//! the transaction and the executing keeper (`performer`, the hub's `msg.sender`) and the hash of
//! the forwarded calldata; the receipt gives block, gas and the receipt digest. The
//! [`Assigner`] builds the report from that with [`protocol::report_from_receipt`], the function
//! performers build theirs with, and relays it, with the attempt naming that keeper, as a
//! [`RecoveredReport`] on [`topics::RECOVERED`]. Attesters check it like any report, so a
//! recovered report of a wrong execution is rejected, and one of an intruder (a keeper no
//! attempt names) is checked against the latest attempt and rejected.
//!
//! Published assignments are kept in the store's checkpoints under
//! `assigner/attempts/<task id>` (JSON, every attempt), so the attempt the attesters need
//! survives a restart; the entry is emptied when the task is settled or failed.

use alloy::{
    rpc::types::{Filter, TransactionReceipt},
    sol_types::SolEvent,
};
use alloy_primitives::{Address, B256};
use triggerx_core::{
    TaskId,
    chain::{self, ChainClient, contracts::TaskHub},
    protocol::{self, Assignment, RecoveredReport, topics},
    store::Store,
    types::{Task, TaskStatus},
};

use super::{Assigner, Tracked, ms};
use crate::{Error, Result};

/// An execution of a task as the chain recorded it.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The keeper that executed it (the transaction's sender, as the hub logged it).
    pub performer: Address,
    /// The hub's `calldataHash`: keccak-256 of the calldata it forwarded to the target.
    pub inputs_digest: B256,
    /// Whether the target call succeeded.
    pub success: bool,
    /// The receipt of the executing transaction.
    pub receipt: TransactionReceipt,
}

/// The execution of `task` through `hub`, when the hub says it executed it: the `TaskExecuted`
/// log for the task id (searched from `from_block`) and its transaction's receipt. `None` when
/// the hub has not executed the task, or its log or receipt cannot be found (a pruned node).
///
/// # Errors
/// A chain read failed, or the hub's answer does not decode.
pub async fn find_execution(
    client: &dyn ChainClient,
    hub: Address,
    from_block: u64,
    task: TaskId,
) -> chain::Result<Option<Execution>> {
    let executed = chain::view(client, hub, TaskHub::executedCall(task.0)).await?;
    if !executed {
        return Ok(None);
    }
    let filter = Filter::new()
        .address(hub)
        .event_signature(TaskHub::TaskExecuted::SIGNATURE_HASH)
        .topic1(task.0)
        .from_block(from_block);
    let logs = client.logs(&filter).await?;
    let Some((log, event)) = logs.iter().find_map(|l| {
        TaskHub::TaskExecuted::decode_log_data(l.data())
            .ok()
            .filter(|e| e.taskId == task.0)
            .map(|e| (l, e))
    }) else {
        return Ok(None);
    };
    let Some(tx) = log.transaction_hash else {
        return Ok(None);
    };
    let Some(receipt) = client.transaction_receipt(tx).await? else {
        return Ok(None);
    };
    Ok(Some(Execution {
        performer: event.performer,
        inputs_digest: event.calldataHash,
        success: event.success,
        receipt,
    }))
}

fn key(task: TaskId) -> String {
    format!("assigner/attempts/{task}")
}

/// Keeps a task's published attempts in the store (replacing what was there).
pub(super) fn persist(store: &dyn Store, task: TaskId, attempts: &[Assignment]) -> Result<()> {
    let bytes = serde_json::to_vec(attempts).expect("assignments serialize");
    store.put_checkpoint(&key(task), &bytes)?;
    Ok(())
}

/// A task's published attempts as kept by [`persist`]; empty when none (or unreadable).
fn load(store: &dyn Store, task: TaskId) -> Result<Vec<Assignment>> {
    Ok(store
        .get_checkpoint(&key(task))?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default())
}

impl Assigner {
    /// Stops tracking a task and empties its kept attempts.
    pub(super) fn forget(&mut self, id: TaskId) -> Result<()> {
        if self.tracked.remove(&id).is_some() {
            persist(self.store.as_ref(), id, &[])?;
        }
        Ok(())
    }

    /// Takes up a task left `assigned`, `executed` or `attested` by a previous run: settles it
    /// from the chain when the hub executed it (the attesters of this run have seen neither the
    /// assignment nor the report), otherwise waits a fresh deadline for it.
    pub(super) async fn resume(&mut self, task: Task) -> Result<()> {
        let assignments = load(self.store.as_ref(), task.id)?;
        let timeout = match task.status {
            TaskStatus::Assigned => self.config.execution_timeout,
            _ => self.config.settle_timeout,
        };
        let deadline = self.clock.now().add_millis(ms(timeout));
        self.tracked.insert(
            task.id,
            Tracked {
                assignments,
                deadline,
                relayed_again: false,
            },
        );
        self.recover_execution(&task).await?;
        Ok(())
    }

    /// When the hub executed `task`, relays the report rebuilt from the chain (and moves an
    /// `assigned` task to `executed` with the chain's performer and transaction). Returns
    /// whether the task was found executed, so it must not be reassigned. Without a chain
    /// client, or when the hub cannot be read, returns `false` (counted in
    /// `recovery_errors`; a backup's execution is then refused by the hub).
    pub(super) async fn recover_execution(&mut self, task: &Task) -> Result<bool> {
        let Some(client) = self.chain.clone() else {
            return Ok(false);
        };
        let found = find_execution(
            client.as_ref(),
            self.config.hub,
            self.config.recovery_from_block,
            task.id,
        )
        .await;
        let exec = match found {
            Ok(Some(exec)) => exec,
            Ok(None) => return Ok(false),
            Err(e) => {
                tracing::warn!(task = %task.id, error = %e, "hub not readable; no recovery");
                self.stats.recovery_errors += 1;
                return Ok(false);
            }
        };
        let tx = exec.receipt.transaction_hash;
        // The attempt naming the executing keeper; otherwise the latest one, against which the
        // attesters reject the execution (`not_selected_performer`).
        let attempts = self
            .tracked
            .get(&task.id)
            .map(|t| t.assignments.as_slice())
            .unwrap_or_default();
        let Some(assignment) = attempts
            .iter()
            .rev()
            .find(|a| a.performer == exec.performer)
            .or(attempts.last())
            .cloned()
        else {
            let reason = format!(
                "executed on-chain in {tx} by {}, but no assignment of it is kept to check it against",
                exec.performer
            );
            self.fail(task.id, task.status, &reason)?;
            return Ok(true);
        };
        let report = protocol::report_from_receipt(
            task,
            exec.performer,
            exec.inputs_digest,
            &exec.receipt,
            self.clock.now(),
        );
        if task.status == TaskStatus::Assigned {
            match self.mark_executed(&report) {
                // The performer's own report got there first: the same facts.
                Ok(()) | Err(triggerx_core::Error::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(
            task = %task.id, %tx, performer = %exec.performer, success = exec.success,
            "relaying a report recovered from the chain"
        );
        let recovered = RecoveredReport { assignment, report };
        self.transport
            .publish(topics::RECOVERED, protocol::encode(&recovered))
            .await
            .map_err(|e| Error::Transport(e.to_string()))?;
        self.stats.recovered += 1;
        Ok(true)
    }
}
