//! Sample records built directly from the domain types: a time, an event and a condition job,
//! tasks for their occurrences, keepers, users and API keys.

use alloy_json_abi::{Event, Function};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};

use crate::{
    JobId, Timestamp,
    ids::Occurrence,
    types::{
        Action, ApiKey, Arguments, CatchUp, Comparison, ConditionTrigger, Decimal, EventTrigger,
        Evidence, FireMode, Job, JobStatus, Keeper, Overlap, Schedule, Task, TimeTrigger,
        TopicFilter, Trigger, User, ValueSource,
    },
};

/// The creation time of every fixture.
pub const T0: Timestamp = Timestamp::from_secs(1_764_759_600);

/// A deterministic address from a small number.
pub fn address(n: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&n.to_be_bytes());
    bytes[0] = 0xa0;
    Address::from(bytes)
}

fn function(signature: &str) -> Function {
    Function::parse(signature).unwrap_or_else(|e| panic!("fixture function {signature}: {e}"))
}

fn action(chain_id: u64) -> Action {
    let function = function("increment(uint256)");
    let mut calldata = function.selector().to_vec();
    calldata.extend_from_slice(&U256::from(1).to_be_bytes::<32>());
    Action {
        chain_id,
        target: address(0xc0),
        function,
        value: U256::ZERO,
        gas_limit: Some(200_000),
        arguments: Arguments::Static {
            values: vec![serde_json::json!("1")],
            calldata: Bytes::from(calldata),
        },
    }
}

fn job(id: JobId, owner: Address, trigger: Trigger, action_chain: u64) -> Job {
    Job {
        id,
        owner,
        title: format!("fixture job {id}"),
        trigger,
        action: action(action_chain),
        recurring: true,
        expires_at: Some(T0.add_millis(86_400_000)),
        status: JobStatus::Active,
        created_at: T0,
        updated_at: T0,
    }
}

/// A recurring time job (every 60 s) whose action runs on `action_chain`.
pub fn time_job(id: JobId, owner: Address, action_chain: u64) -> Job {
    let trigger = Trigger::Time(TimeTrigger {
        schedule: Schedule::Interval { every_secs: 60 },
        start: None,
        catch_up: CatchUp::FireOnce,
        overlap: Overlap::Skip,
    });
    job(id, owner, trigger, action_chain)
}

/// A cron time job in a named zone.
pub fn cron_job(id: JobId, owner: Address, action_chain: u64) -> Job {
    let trigger = Trigger::Time(TimeTrigger {
        schedule: Schedule::Cron {
            expression: "0 */5 * * * *".to_owned(),
            timezone: "Europe/Berlin".to_owned(),
        },
        start: Some(T0),
        catch_up: CatchUp::FireAll { window_secs: 600 },
        overlap: Overlap::Allow,
    });
    job(id, owner, trigger, action_chain)
}

/// An event job watching `Transfer` logs on `trigger_chain`, acting on `action_chain`.
pub fn event_job(id: JobId, owner: Address, trigger_chain: u64, action_chain: u64) -> Job {
    let event =
        Event::parse("event Transfer(address indexed from, address indexed to, uint256 value)")
            .unwrap_or_else(|e| panic!("fixture event: {e}"));
    let trigger = Trigger::Event(EventTrigger {
        chain_id: trigger_chain,
        addresses: vec![address(0xe0)],
        event,
        topics: vec![TopicFilter {
            position: 2,
            name: "to".to_owned(),
            any_of: vec![B256::left_padding_from(address(7).as_slice())],
        }],
        conditions: vec![],
        confirmations: 2,
    });
    job(id, owner, trigger, action_chain)
}

/// A condition job over a price feed on `source_chain`, acting on `action_chain`.
pub fn condition_job(id: JobId, owner: Address, source_chain: u64, action_chain: u64) -> Job {
    let trigger = Trigger::Condition(ConditionTrigger {
        source: ValueSource::PriceFeed {
            chain_id: source_chain,
            address: address(0xfe),
            decimals: 8,
        },
        comparison: Comparison::Between {
            lower: "2500.125".parse().unwrap_or_else(|_| Decimal::zero()),
            upper: Decimal::from(3000u64),
        },
        poll_interval_ms: 5_000,
        mode: FireMode::Level { cooldown_secs: 30 },
    });
    job(id, owner, trigger, action_chain)
}

/// The time-trigger task of `job` due at `due_secs`.
pub fn time_task(job: JobId, due_secs: i64) -> Task {
    let due = Timestamp::from_secs(due_secs);
    Task::new(Occurrence::Time { job, due }, Evidence::Time { due }, T0)
}

/// The event-trigger task of `job` for log `log_index` of transaction `tx`.
pub fn event_task(job: JobId, chain_id: u64, tx: u64, log_index: u64) -> Task {
    let tx_hash = keccak256(tx.to_be_bytes());
    let occurrence = Occurrence::Event {
        job,
        chain_id,
        tx_hash,
        log_index,
    };
    let evidence = Evidence::Event {
        chain_id,
        block_number: 100 + tx,
        block_hash: keccak256((100 + tx).to_be_bytes()),
        tx_hash,
        log_index,
        address: address(0xe0),
        topics: vec![B256::repeat_byte(0x11)],
        data: Bytes::from(vec![0u8; 32]),
    };
    Task::new(occurrence, evidence, T0)
}

/// The condition-trigger task of `job` for sample `round`.
pub fn condition_task(job: JobId, round: u64) -> Task {
    let evidence = Evidence::Condition {
        round,
        sampled_at: T0,
        value: "2600.5".parse().unwrap_or_else(|_| Decimal::zero()),
        source_digest: B256::repeat_byte(0x22),
    };
    Task::new(Occurrence::Condition { job, round }, evidence, T0)
}

/// A registered keeper.
pub fn keeper(n: u64) -> Keeper {
    let mut k = Keeper::new(address(0x1000 + n), U256::from(n * 1000), T0);
    k.name = format!("keeper-{n}");
    k
}

/// A user.
pub fn user(n: u64) -> User {
    User {
        address: address(0x2000 + n),
        points: Decimal::from(n),
        total_jobs: n,
        total_tasks: 2 * n,
        created_at: T0,
    }
}

/// An active API key of `owner`.
pub fn api_key(id: &str, owner: &str) -> ApiKey {
    ApiKey {
        id: id.to_owned(),
        key_hash: keccak256(format!("secret-{id}")),
        owner: owner.to_owned(),
        active: true,
        rate_limit_per_min: 60,
        created_at: T0,
        last_used: None,
    }
}
