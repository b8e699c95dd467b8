//! Re-checking trigger evidence with the shared core functions: the schedule for time, the
//! event matcher over the log as the chain holds it for events, the comparison for conditions;
//! and the tolerance window between the evidence and the execution block.

use alloy::{eips::BlockNumberOrTag, rpc::types::Filter};
use alloy_primitives::{Address, B256, Bytes};
use triggerx_core::{
    Timestamp,
    chain::BlockHeader,
    matching::{EventMatcher, LogView},
    protocol::RejectReason,
    schedule::CompiledSchedule,
    types::{ConditionTrigger, Decimal, EventTrigger, Evidence, Job, TimeTrigger, Trigger},
};

use super::{Attester, Checked, Config, Error, check::ensure, config::secs};

/// A log as the evidence describes it.
struct ClaimedLog<'a> {
    chain_id: u64,
    block_number: u64,
    block_hash: B256,
    tx_hash: B256,
    log_index: u64,
    address: Address,
    topics: &'a [B256],
    data: &'a Bytes,
}

impl Attester {
    /// Checks the trigger evidence of `job` against the chain and the execution block `exec`.
    pub(super) async fn evidence(
        &self,
        job: &Job,
        evidence: &Evidence,
        exec: &BlockHeader,
    ) -> Result<Checked, Error> {
        match (&job.trigger, evidence) {
            (Trigger::Time(t), Evidence::Time { due }) => {
                Ok(time(&self.config, t, job, *due, exec.timestamp))
            }
            (
                Trigger::Event(t),
                Evidence::Event {
                    chain_id,
                    block_number,
                    block_hash,
                    tx_hash,
                    log_index,
                    address,
                    topics,
                    data,
                },
            ) => {
                let claimed = ClaimedLog {
                    chain_id: *chain_id,
                    block_number: *block_number,
                    block_hash: *block_hash,
                    tx_hash: *tx_hash,
                    log_index: *log_index,
                    address: *address,
                    topics,
                    data,
                };
                self.event(t, &claimed, exec).await
            }
            (
                Trigger::Condition(t),
                Evidence::Condition {
                    round,
                    sampled_at,
                    value,
                    ..
                },
            ) => Ok(condition(
                &self.config,
                t,
                *round,
                *sampled_at,
                value,
                exec.timestamp,
            )),
            _ => Ok(Err(RejectReason::EvidenceMismatch)),
        }
    }

    /// The log exists in the canonical block with that hash, at that index, with exactly the
    /// claimed contents, and matches the trigger; the execution came after the trigger's
    /// confirmations and within the event window.
    async fn event(
        &self,
        trigger: &EventTrigger,
        log: &ClaimedLog<'_>,
        exec: &BlockHeader,
    ) -> Result<Checked, Error> {
        use RejectReason::*;
        ensure!(
            log.chain_id == trigger.chain_id && log.chain_id == self.config.chain_id,
            LogNotFound
        );
        let block = self
            .read(
                "eth_getBlockByHash",
                self.client.header_by_hash(log.block_hash),
            )
            .await?;
        let Some(block) = block.filter(|b| b.number == log.block_number) else {
            return Ok(Err(LogNotFound));
        };
        let canonical = self
            .read(
                "eth_getBlockByNumber",
                self.client
                    .header_by_number(BlockNumberOrTag::Number(log.block_number)),
            )
            .await?;
        ensure!(
            canonical.is_some_and(|c| c.hash == log.block_hash),
            LogNotFound
        );
        let filter = Filter::new()
            .at_block_hash(log.block_hash)
            .address(log.address);
        let logs = self.read("eth_getLogs", self.client.logs(&filter)).await?;
        let found = logs.iter().find(|l| l.log_index == Some(log.log_index));
        ensure!(
            found.is_some_and(|l| l.transaction_hash == Some(log.tx_hash)
                && l.block_hash == Some(log.block_hash)
                && l.address() == log.address
                && l.topics() == log.topics
                && l.data().data == *log.data),
            LogNotFound
        );
        let Ok(matcher) = EventMatcher::new(trigger) else {
            return Ok(Err(LogNotFound));
        };
        ensure!(
            matcher
                .matches(LogView {
                    address: log.address,
                    topics: log.topics,
                    data: log.data,
                })
                .is_yes(),
            LogNotFound
        );
        // The scheduler fires once the log's block has `confirmations` blocks on top; the
        // window starts at the block that gave it those.
        let confirmed_at = log.block_number.saturating_add(trigger.confirmations);
        ensure!(
            exec.number > log.block_number && exec.number >= confirmed_at,
            OutsideWindow
        );
        let confirmed = if confirmed_at == log.block_number {
            Some(block)
        } else {
            self.read(
                "eth_getBlockByNumber",
                self.client
                    .header_by_number(BlockNumberOrTag::Number(confirmed_at)),
            )
            .await?
        };
        let Some(confirmed) = confirmed else {
            return Ok(Err(OutsideWindow));
        };
        let window = self.config.event_window.as_secs();
        ensure!(
            exec.timestamp <= confirmed.timestamp.saturating_add(window),
            OutsideWindow
        );
        Ok(Ok(()))
    }
}

/// The due instant is an occurrence of the job's schedule before its expiry, and the execution
/// block is at or after it and within the time window.
fn time(
    config: &Config,
    trigger: &TimeTrigger,
    job: &Job,
    due: Timestamp,
    exec_ts: u64,
) -> Checked {
    use RejectReason::*;
    let Ok(schedule) = CompiledSchedule::compile(trigger, job.created_at) else {
        return Err(NotDue);
    };
    if schedule.first_at_or_after(due) != Some(due) || job.is_expired_at(due) {
        return Err(NotDue);
    }
    let exec = i64::try_from(exec_ts).unwrap_or(i64::MAX);
    if exec < due.as_secs() {
        return Err(NotDue);
    }
    if exec > due.as_secs().saturating_add(secs(config.time_window)) {
        return Err(OutsideWindow);
    }
    Ok(())
}

/// The sample belongs to its round, satisfies the comparison, and the execution block is
/// within the condition window after it.
fn condition(
    config: &Config,
    trigger: &ConditionTrigger,
    round: u64,
    sampled_at: Timestamp,
    value: &Decimal,
    exec_ts: u64,
) -> Checked {
    use RejectReason::*;
    let sampled_ms = u64::try_from(sampled_at.as_millis()).unwrap_or(0);
    if trigger.poll_interval_ms == 0 || sampled_ms / trigger.poll_interval_ms != round {
        return Err(EvidenceMismatch);
    }
    if !trigger.comparison.holds(value) {
        return Err(ConditionNotMet);
    }
    // Block timestamps are whole seconds: the block at `t` covers [t, t + 1).
    let exec_ms = i64::try_from(exec_ts)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    let sampled = sampled_at.as_millis();
    let skew = secs(config.clock_skew).saturating_mul(1000);
    let window = secs(config.condition_window).saturating_mul(1000);
    if exec_ms.saturating_add(999).saturating_add(skew) < sampled
        || exec_ms > sampled.saturating_add(window)
    {
        return Err(OutsideWindow);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use alloy_json_abi::Function;
    use triggerx_core::{
        JobId,
        types::{Action, CatchUp, Comparison, FireMode, JobStatus, Overlap, Schedule, ValueSource},
    };

    use super::*;

    fn job(trigger: Trigger) -> Job {
        let function = Function::parse("increment()").unwrap();
        let calldata = function.selector().to_vec().into();
        Job {
            id: JobId::from_u64(1),
            owner: Address::repeat_byte(1),
            title: "t".into(),
            trigger,
            action: Action::with_calldata(
                31337,
                Address::repeat_byte(2),
                function,
                vec![],
                calldata,
            ),
            recurring: true,
            expires_at: Some(Timestamp::from_secs(10_000)),
            status: JobStatus::Active,
            created_at: Timestamp::from_secs(0),
            updated_at: Timestamp::from_secs(0),
        }
    }

    fn every(secs: u64, start: Option<i64>) -> TimeTrigger {
        TimeTrigger {
            schedule: Schedule::Interval { every_secs: secs },
            start: start.map(Timestamp::from_secs),
            catch_up: CatchUp::default(),
            overlap: Overlap::default(),
        }
    }

    #[test]
    fn time_due_instants_and_window() {
        let config = Config::default().with_time_window(Duration::from_secs(60));
        let t = every(100, Some(1_000));
        let j = job(Trigger::Time(t.clone()));
        let due = Timestamp::from_secs(1_200);
        assert_eq!(time(&config, &t, &j, due, 1_200), Ok(()));
        assert_eq!(time(&config, &t, &j, due, 1_260), Ok(()));
        assert_eq!(
            time(&config, &t, &j, due, 1_261),
            Err(RejectReason::OutsideWindow)
        );
        assert_eq!(time(&config, &t, &j, due, 1_199), Err(RejectReason::NotDue));
        // Not an occurrence of the schedule, before the start, or at/after expiry.
        for not_due in [1_250, 900, 10_000] {
            assert_eq!(
                time(
                    &config,
                    &t,
                    &j,
                    Timestamp::from_secs(not_due),
                    not_due as u64
                ),
                Err(RejectReason::NotDue),
                "{not_due}"
            );
        }
        // Without a start, the first occurrence is one period after creation.
        let from_creation = every(100, None);
        assert_eq!(
            time(&config, &from_creation, &j, Timestamp::from_secs(0), 0),
            Err(RejectReason::NotDue)
        );
        assert_eq!(
            time(&config, &from_creation, &j, Timestamp::from_secs(100), 100),
            Ok(())
        );
    }

    #[test]
    fn condition_sample_comparison_and_window() {
        let config = Config::default().with_condition_window(Duration::from_secs(30));
        let t = ConditionTrigger {
            source: ValueSource::PriceFeed {
                chain_id: 31337,
                address: Address::repeat_byte(3),
                decimals: 8,
            },
            comparison: Comparison::GreaterThan {
                value: "2000".parse().unwrap(),
            },
            poll_interval_ms: 1_000,
            mode: FireMode::Edge,
        };
        let at = Timestamp::from_millis(5_000_500);
        let high: Decimal = "2000.01".parse().unwrap();
        let low: Decimal = "2000".parse().unwrap();
        assert_eq!(condition(&config, &t, 5_000, at, &high, 5_001), Ok(()));
        // The block second that contains the sample counts.
        assert_eq!(condition(&config, &t, 5_000, at, &high, 5_000), Ok(()));
        assert_eq!(
            condition(&config, &t, 5_000, at, &low, 5_001),
            Err(RejectReason::ConditionNotMet)
        );
        assert_eq!(
            condition(&config, &t, 4_999, at, &high, 5_001),
            Err(RejectReason::EvidenceMismatch)
        );
        assert_eq!(
            condition(&config, &t, 5_000, at, &high, 5_031),
            Err(RejectReason::OutsideWindow)
        );
        // Up to the clock skew (5 s) before the sample, not more.
        assert_eq!(condition(&config, &t, 5_000, at, &high, 4_995), Ok(()));
        assert_eq!(
            condition(&config, &t, 5_000, at, &high, 4_994),
            Err(RejectReason::OutsideWindow)
        );
    }
}
