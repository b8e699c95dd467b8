//! The attester against a real anvil: honest time, event and condition reports are approved;
//! lying performers are rejected with the right reason; the service turns assignments and
//! reports from the in-process network into signed attestations.

use std::{sync::Arc, time::Duration};

use alloy::{
    network::TransactionBuilder,
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use alloy_json_abi::{Event, Function};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use anyhow::{Context, Result};
use triggerx_core::{
    Timestamp,
    chain::{
        ChainClient,
        contracts::{Counter, TaskHub},
    },
    clock::SystemClock,
    ids::Occurrence,
    protocol::{self, Assignment, RejectReason, report_digest, topics},
    selection::{Candidate, select_performer},
    transport::{AllowAll, Transport, inprocess::InProcessNetwork},
    types::{
        Action, Arguments, Attestation, CatchUp, Comparison, ConditionTrigger, EventTrigger,
        Evidence, ExecutionReport, FireMode, Job, JobStatus, Overlap, Schedule, Task, TimeTrigger,
        Trigger, ValueSource, Verdict,
    },
};
use triggerx_keeper::{
    attester::{Attester, AttesterService, Config, ServiceConfig, receipt_digest_of},
    performer::{self, Call, Engine, Outcome, static_calldata},
};

use crate::common::{Env, known_errors};

/// A devnet with three keepers, one engine per keeper and an attester.
///
/// The cases here vary the trigger of one registered job (registered without a spec hash), so
/// the attester runs with `require_spec_hash = false`; the spec binding has its own cases in
/// `spec_binding.rs`.
pub(crate) struct Fixture {
    pub(crate) env: Env,
    pub(crate) client: Arc<dyn ChainClient>,
    pub(crate) attester: Attester,
    engines: Vec<Engine>,
    scheduler: PrivateKeySigner,
}

impl Fixture {
    pub(crate) async fn start() -> Result<Self> {
        let env = Env::start().await?;
        assert!(env.devnet.keepers.len() >= 3);
        let client = env.client()?;
        let mut engines = Vec::new();
        for k in &env.devnet.keepers {
            engines.push(
                Engine::new(
                    client.clone(),
                    k.signer.clone(),
                    performer::Config::default(),
                )
                .await?
                .with_known_errors(known_errors()),
            );
        }
        let scheduler = PrivateKeySigner::from_bytes(&keccak256("attester-test scheduler"))?;
        let config = Config::new(
            env.devnet.chain_id,
            env.hub(),
            env.devnet.addresses.keeper_registry,
            scheduler.address(),
        )
        .with_require_spec_hash(false);
        Ok(Self {
            attester: Attester::new(client.clone(), config),
            env,
            client,
            engines,
            scheduler,
        })
    }

    fn candidates(&self) -> Vec<Candidate> {
        self.env
            .devnet
            .keepers
            .iter()
            .map(|k| Candidate {
                address: k.address(),
                power: k.voting_power,
            })
            .collect()
    }

    pub(crate) fn engine(&self, who: Address) -> &Engine {
        self.engines
            .iter()
            .find(|e| e.address() == who)
            .expect("a devnet keeper")
    }

    pub(crate) fn signer(&self, who: Address) -> PrivateKeySigner {
        self.env
            .devnet
            .keepers
            .iter()
            .find(|k| k.address() == who)
            .expect("a devnet keeper")
            .signer
            .clone()
    }

    /// A keeper other than `than`.
    fn other(&self, than: Address) -> Address {
        self.candidates()
            .into_iter()
            .map(|c| c.address)
            .find(|a| *a != than)
            .expect("three keepers")
    }

    /// The on-chain job (counter target) with `trigger` and the `increment()` action.
    pub(crate) fn job(&self, trigger: Trigger) -> Job {
        Job {
            id: self.env.job,
            owner: self.env.devnet.users[0].address(),
            title: "attester test".into(),
            trigger,
            action: self.env.action.clone(),
            recurring: true,
            expires_at: None,
            status: JobStatus::Active,
            created_at: Timestamp::from_secs(1),
            updated_at: Timestamp::from_secs(1),
        }
    }

    /// The scheduler's assignment of attempt 0, performer chosen by the shared selection.
    pub(crate) fn assign(
        &self,
        job: Job,
        occurrence: Occurrence,
        evidence: Evidence,
    ) -> Assignment {
        let task = Task::new(occurrence, evidence, Timestamp::now());
        let candidates = self.candidates();
        let performer = select_performer(task.id, 0, &candidates, &[]).expect("a performer");
        Assignment {
            task,
            job,
            attempt: 0,
            performer,
            candidates,
            excluded: vec![],
            hub: self.env.hub(),
            deadline: Timestamp::now().add_millis(60_000),
        }
    }

    /// The latest block's timestamp.
    pub(crate) async fn chain_now(&self) -> Result<i64> {
        Ok(i64::try_from(self.client.head().await?.timestamp)?)
    }

    /// A time assignment due at `due` (the schedule's start; every minute after).
    fn time_assignment(&self, due: i64) -> Assignment {
        let trigger = Trigger::Time(TimeTrigger {
            schedule: Schedule::Interval { every_secs: 60 },
            start: Some(Timestamp::from_secs(due)),
            catch_up: CatchUp::Skip,
            overlap: Overlap::Allow,
        });
        let due = Timestamp::from_secs(due);
        self.assign(
            self.job(trigger),
            Occurrence::Time {
                job: self.env.job,
                due,
            },
            Evidence::Time { due },
        )
    }

    /// Executes `a`'s task through the hub from `by` with `action` (the job's, or a lie).
    async fn execute(&self, a: &Assignment, by: Address, action: &Action) -> Result<Outcome> {
        Ok(self
            .engine(by)
            .execute_task(a.hub, a.task.id, a.job.id, action)
            .await?)
    }

    /// The report `by` makes of `outcome` for `a`, as an honest performer builds it.
    fn report(&self, a: &Assignment, by: Address, outcome: &Outcome) -> Result<ExecutionReport> {
        Ok(ExecutionReport {
            task_id: a.task.id,
            performer: by,
            evidence: a.task.evidence.clone(),
            inputs_digest: keccak256(static_calldata(&a.job.action)?),
            tx_hash: outcome.tx_hash,
            block_number: outcome.block_number,
            receipt_digest: receipt_digest_of(&outcome.receipt),
            gas_used: outcome.gas_used,
            reported_at: Timestamp::now(),
        })
    }

    /// The selected performer executes the job's action and reports it.
    pub(crate) async fn honest(&self, a: &Assignment) -> Result<ExecutionReport> {
        let outcome = self.execute(a, a.performer, &a.job.action).await?;
        assert_eq!(outcome.status, performer::Status::Success);
        self.report(a, a.performer, &outcome)
    }

    /// Sends `input` to `to` from `by` with a fixed gas limit (no estimate, so a call that
    /// reverts is still mined).
    async fn send_unchecked(
        &self,
        by: Address,
        to: Address,
        input: Bytes,
    ) -> Result<TransactionReceipt> {
        let provider = self.env.devnet.provider_for(&self.signer(by));
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(input)
            .with_gas_limit(600_000)
            .with_max_fee_per_gas(100_000_000_000)
            .with_max_priority_fee_per_gas(1_000_000_000);
        Ok(provider.send_transaction(tx).await?.get_receipt().await?)
    }

    /// A report of `receipt` by `by` for `a`.
    fn report_of_receipt(
        &self,
        a: &Assignment,
        by: Address,
        receipt: &TransactionReceipt,
    ) -> Result<ExecutionReport> {
        Ok(ExecutionReport {
            task_id: a.task.id,
            performer: by,
            evidence: a.task.evidence.clone(),
            inputs_digest: keccak256(static_calldata(&a.job.action)?),
            tx_hash: receipt.transaction_hash,
            block_number: receipt.block_number.context("mined")?,
            receipt_digest: receipt_digest_of(receipt),
            gas_used: receipt.gas_used,
            reported_at: Timestamp::now(),
        })
    }

    pub(crate) async fn verdict(
        &self,
        a: &Assignment,
        r: &ExecutionReport,
    ) -> Result<Result<(), RejectReason>> {
        Ok(self.attester.verify(a, r).await?)
    }

    /// An `Incremented` log emitted by a user's direct `increment()` call, as event evidence.
    async fn counter_log(&self) -> Result<Evidence> {
        let user = &self.env.devnet.users[1];
        let counter = Counter::new(
            self.env.devnet.addresses.counter,
            self.env.devnet.provider_for(user),
        );
        let receipt = counter.increment().send().await?.get_receipt().await?;
        let log = receipt.inner.logs().first().context("Incremented log")?;
        Ok(Evidence::Event {
            chain_id: self.env.devnet.chain_id,
            block_number: log.block_number.context("block number")?,
            block_hash: log.block_hash.context("block hash")?,
            tx_hash: log.transaction_hash.context("tx hash")?,
            log_index: log.log_index.context("log index")?,
            address: log.address(),
            topics: log.topics().to_vec(),
            data: log.data().data.clone(),
        })
    }

    /// An event assignment for `evidence` on the counter's `Incremented` event.
    fn event_assignment(&self, evidence: Evidence) -> Result<Assignment> {
        let Evidence::Event {
            chain_id,
            tx_hash,
            log_index,
            ..
        } = &evidence
        else {
            anyhow::bail!("event evidence expected");
        };
        let trigger = Trigger::Event(EventTrigger {
            chain_id: self.env.devnet.chain_id,
            addresses: vec![self.env.devnet.addresses.counter],
            event: Event::parse("event Incremented(address indexed caller, uint256 newCount)")?,
            topics: vec![],
            conditions: vec![],
            confirmations: 0,
        });
        let occurrence = Occurrence::Event {
            job: self.env.job,
            chain_id: *chain_id,
            tx_hash: *tx_hash,
            log_index: *log_index,
        };
        Ok(self.assign(self.job(trigger), occurrence, evidence))
    }

    /// A condition assignment (price feed > 1500) for a sample of `value` taken at `at` seconds.
    fn condition_assignment(&self, value: &str, at: i64) -> Result<Assignment> {
        let trigger = Trigger::Condition(ConditionTrigger {
            source: ValueSource::PriceFeed {
                chain_id: self.env.devnet.chain_id,
                address: self.env.devnet.addresses.price_feed,
                decimals: 8,
            },
            comparison: Comparison::GreaterThan {
                value: "1500".parse()?,
            },
            poll_interval_ms: 1_000,
            mode: FireMode::Edge,
        });
        let sampled_at = Timestamp::from_secs(at);
        let round = u64::try_from(sampled_at.as_millis())? / 1_000;
        Ok(self.assign(
            self.job(trigger),
            Occurrence::Condition {
                job: self.env.job,
                round,
            },
            Evidence::Condition {
                round,
                sampled_at,
                value: value.parse()?,
                source_digest: keccak256(value.as_bytes()),
            },
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_time_event_and_condition_reports_are_approved() -> Result<()> {
    let f = Fixture::start().await?;
    let now = f.chain_now().await?;

    let time = f.time_assignment(now);
    let report = f.honest(&time).await?;
    assert_eq!(f.attester.check(&time, &report).await?, Verdict::Approve);

    let event = f.event_assignment(f.counter_log().await?)?;
    let report = f.honest(&event).await?;
    assert_eq!(f.verdict(&event, &report).await?, Ok(()));

    let condition = f.condition_assignment("2000.5", f.chain_now().await?)?;
    let report = f.honest(&condition).await?;
    assert_eq!(f.verdict(&condition, &report).await?, Ok(()));

    // The same honest report with any figure changed is not approved.
    let mut r = report.clone();
    r.gas_used += 1;
    assert_eq!(
        f.verdict(&condition, &r).await?,
        Err(RejectReason::ReceiptMismatch)
    );
    let mut r = report.clone();
    r.evidence = time.task.evidence.clone();
    assert_eq!(
        f.verdict(&condition, &r).await?,
        Err(RejectReason::EvidenceMismatch)
    );
    let mut r = report;
    r.tx_hash = B256::repeat_byte(0x77);
    assert_eq!(
        f.verdict(&condition, &r).await?,
        Err(RejectReason::TxNotFound)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_executions_are_rejected() -> Result<()> {
    let f = Fixture::start().await?;
    let now = f.chain_now().await?;

    // Another action through the hub for the task: same target, other calldata.
    let a = f.time_assignment(now - 1);
    let function = Function::parse("incrementBy(uint256)")?;
    let other = Action {
        arguments: Arguments::Static {
            values: vec![serde_json::json!(5)],
            calldata: Counter::incrementByCall { by: U256::from(5) }
                .abi_encode()
                .into(),
        },
        function,
        ..a.job.action.clone()
    };
    let outcome = f.execute(&a, a.performer, &other).await?;
    let lie = f.report(&a, a.performer, &outcome)?;
    assert_eq!(
        f.attester.check(&a, &lie).await?,
        RejectReason::CalldataMismatch.verdict()
    );

    // Another target: the hub refuses it on-chain, and the attester names why.
    let a = f.time_assignment(now - 2);
    let call = Call::hub_execute(a.hub, a.task.id, a.job.id, &a.job.action)?;
    let mut decoded = TaskHub::executeCall::abi_decode(&call.input)?;
    decoded.target = f.env.devnet.addresses.demo_token;
    let receipt = f
        .send_unchecked(a.performer, a.hub, decoded.abi_encode().into())
        .await?;
    assert!(!receipt.status(), "the hub refuses a foreign target");
    let lie = f.report_of_receipt(&a, a.performer, &receipt)?;
    assert_eq!(f.verdict(&a, &lie).await?, Err(RejectReason::WrongTarget));

    // The job's call straight to the target, around the hub.
    let a = f.time_assignment(now - 3);
    let receipt = f
        .send_unchecked(
            a.performer,
            a.job.action.target,
            static_calldata(&a.job.action)?,
        )
        .await?;
    let lie = f.report_of_receipt(&a, a.performer, &receipt)?;
    assert_eq!(f.verdict(&a, &lie).await?, Err(RejectReason::WrongHub));

    // A target call that fails: the hub consumes the task and says so.
    let mut a = f.time_assignment(now - 4);
    let fail = Function::parse("fail()")?;
    a.job.action = Action {
        arguments: Arguments::Static {
            values: vec![],
            calldata: fail.selector().to_vec().into(),
        },
        function: fail,
        ..a.job.action.clone()
    };
    let report = f.honest(&a).await?;
    assert_eq!(
        f.verdict(&a, &report).await?,
        Err(RejectReason::TargetCallFailed)
    );

    // A reverted transaction: the same task executed a second time.
    let a = f.time_assignment(now - 5);
    f.honest(&a).await?;
    let call = Call::hub_execute(a.hub, a.task.id, a.job.id, &a.job.action)?;
    let receipt = f.send_unchecked(a.performer, a.hub, call.input).await?;
    assert!(!receipt.status(), "the hub executes a task once");
    let lie = f.report_of_receipt(&a, a.performer, &receipt)?;
    assert_eq!(f.verdict(&a, &lie).await?, Err(RejectReason::TxFailed));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_performers_are_rejected() -> Result<()> {
    let f = Fixture::start().await?;
    let now = f.chain_now().await?;

    // Someone who was not selected executes the task and reports it.
    let a = f.time_assignment(now - 1);
    let intruder = f.other(a.performer);
    let outcome = f.execute(&a, intruder, &a.job.action).await?;
    let lie = f.report(&a, intruder, &outcome)?;
    assert_eq!(
        f.verdict(&a, &lie).await?,
        Err(RejectReason::NotSelectedPerformer)
    );
    // … and the selected performer claims that execution as its own.
    let claimed = f.report(&a, a.performer, &outcome)?;
    assert_eq!(
        f.verdict(&a, &claimed).await?,
        Err(RejectReason::SenderMismatch)
    );
    // An assignment naming a performer the selection does not give.
    let mut forged = a.clone();
    forged.performer = intruder;
    assert_eq!(
        f.verdict(&forged, &lie).await?,
        Err(RejectReason::NotSelectedPerformer)
    );

    // A candidate whose power is not what the registry holds.
    let mut a = f.time_assignment(now - 2);
    a.candidates[0].power = U256::from(1_000u64);
    a.performer = select_performer(a.task.id, 0, &a.candidates, &[]).context("performer")?;
    let report = f.honest(&a).await?;
    assert_eq!(
        f.verdict(&a, &report).await?,
        Err(RejectReason::CandidateNotRegistered)
    );
    // An unregistered candidate.
    let mut a = f.time_assignment(now - 3);
    a.candidates.push(Candidate {
        address: Address::repeat_byte(0x99),
        power: U256::from(100u64),
    });
    a.performer = select_performer(a.task.id, 0, &a.candidates, &[]).context("performer")?;
    let fake = f.report_of_receipt(&a, a.performer, &f.counter_receipt().await?)?;
    assert_eq!(
        f.verdict(&a, &fake).await?,
        Err(RejectReason::CandidateNotRegistered)
    );
    Ok(())
}

impl Fixture {
    /// Some mined transaction (a user's direct counter call).
    async fn counter_receipt(&self) -> Result<TransactionReceipt> {
        let user = &self.env.devnet.users[1];
        let counter = Counter::new(
            self.env.devnet.addresses.counter,
            self.env.devnet.provider_for(user),
        );
        Ok(counter.increment().send().await?.get_receipt().await?)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_trigger_evidence_is_rejected() -> Result<()> {
    let f = Fixture::start().await?;
    let now = f.chain_now().await?;

    // A log at a block hash that does not exist.
    let mut made_up = f.counter_log().await?;
    if let Evidence::Event { block_hash: h, .. } = &mut made_up {
        *h = keccak256(h.as_slice());
    }
    let a = f.event_assignment(made_up)?;
    let report = f.honest(&a).await?;
    assert_eq!(
        f.verdict(&a, &report).await?,
        Err(RejectReason::LogNotFound)
    );

    // A log index with no log behind it, in a real block.
    let mut made_up = f.counter_log().await?;
    if let Evidence::Event { log_index: i, .. } = &mut made_up {
        *i += 7;
    }
    let a = f.event_assignment(made_up)?;
    let report = f.honest(&a).await?;
    assert_eq!(
        f.verdict(&a, &report).await?,
        Err(RejectReason::LogNotFound)
    );

    // A real log with other contents than claimed.
    let mut made_up = f.counter_log().await?;
    if let Evidence::Event { data, .. } = &mut made_up {
        *data = U256::from(999u64).to_be_bytes::<32>().to_vec().into();
    }
    let a = f.event_assignment(made_up)?;
    let report = f.honest(&a).await?;
    assert_eq!(
        f.verdict(&a, &report).await?,
        Err(RejectReason::LogNotFound)
    );

    // The same kind of log, unaltered: approved (the lies above are what fails).
    let a = f.event_assignment(f.counter_log().await?)?;
    let report = f.honest(&a).await?;
    assert_eq!(f.verdict(&a, &report).await?, Ok(()));

    // A condition sample that does not satisfy the comparison.
    let a = f.condition_assignment("1499.99999999", f.chain_now().await?)?;
    let report = f.honest(&a).await?;
    assert_eq!(
        f.verdict(&a, &report).await?,
        Err(RejectReason::ConditionNotMet)
    );
    // A condition sample long before the execution.
    let a = f.condition_assignment("2000", now - 1_000)?;
    let report = f.honest(&a).await?;
    assert_eq!(
        f.verdict(&a, &report).await?,
        Err(RejectReason::OutsideWindow)
    );

    // A time task due long before the execution block.
    let a = f.time_assignment(now - 1_000);
    let report = f.honest(&a).await?;
    assert_eq!(
        f.verdict(&a, &report).await?,
        Err(RejectReason::OutsideWindow)
    );
    // A time task executed before it was due.
    let a = f.time_assignment(now + 1_000);
    let report = f.honest(&a).await?;
    assert_eq!(f.verdict(&a, &report).await?, Err(RejectReason::NotDue));
    // A due instant that is not an occurrence of the schedule.
    let mut a = f.time_assignment(now - 30);
    if let Trigger::Time(t) = &mut a.job.trigger {
        t.start = Some(Timestamp::from_secs(now - 31));
    }
    let report = f.honest(&a).await?;
    assert_eq!(f.verdict(&a, &report).await?, Err(RejectReason::NotDue));
    Ok(())
}

/// Receives the next attestation, or fails after a safety timeout.
async fn next_attestation(
    rx: &mut tokio::sync::mpsc::Receiver<triggerx_core::transport::Message>,
) -> Result<(Address, Attestation)> {
    let m = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .context("no attestation in time")?
        .context("subscription closed")?;
    let a: Attestation = protocol::decode(&m.payload).context("attestation decodes")?;
    Ok((m.sender, a))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_attests_reports_and_drops_untrusted_messages() -> Result<()> {
    let f = Fixture::start().await?;
    let net = InProcessNetwork::new(triggerx_core::transport::inprocess::Config {
        chain_id: f.env.devnet.chain_id,
        ..Default::default()
    });
    let join = |s: &PrivateKeySigner| -> Arc<dyn Transport> {
        Arc::new(net.join(s.clone(), Arc::new(AllowAll), Arc::new(SystemClock)))
    };
    let scheduler = join(&f.scheduler);
    let mallory = join(&PrivateKeySigner::from_bytes(&keccak256("mallory"))?);
    let aggregator = join(&PrivateKeySigner::from_bytes(&keccak256("aggregator"))?);
    let mut attestations = aggregator.subscribe(topics::ATTESTATIONS, 64);

    let a = f.time_assignment(f.chain_now().await?);
    // Every keeper runs an attester. The performer's publishes from its own node, and its
    // attester runs on a second node (another transport key, the same signing key), so its
    // own reports reach it.
    let performer_transport = join(&f.signer(a.performer));
    let mut services = Vec::new();
    let mut transports = Vec::new();
    for k in &f.env.devnet.keepers {
        let t = if k.address() == a.performer {
            join(&PrivateKeySigner::from_bytes(&keccak256(
                "performer's attester node",
            ))?)
        } else {
            join(&k.signer)
        };
        transports.push((k.address(), t.clone()));
        let service = AttesterService::new(
            f.attester.clone(),
            t,
            k.signer.clone(),
            ServiceConfig::default(),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(service.run(async move {
            let _ = stopped.await;
        }));
        services.push((k.address(), stop, handle));
    }
    let honest = f.honest(&a).await?;
    let mut lie = honest.clone();
    lie.gas_used -= 1;

    // Untrusted input first: an assignment from someone other than the scheduler, a payload
    // that is no report, a report relayed by someone other than its performer, a raw frame
    // that is no envelope.
    mallory
        .publish(topics::ASSIGNMENTS, protocol::encode(&a))
        .await?;
    performer_transport
        .publish(topics::REPORTS, Bytes::from_static(b"{\"task_id\": 7}"))
        .await?;
    mallory
        .publish(topics::REPORTS, protocol::encode(&honest))
        .await?;
    for (_, t) in &transports {
        assert!(net.inject(t.local_address(), b"not an envelope".to_vec()));
    }
    // The report before its assignment: the attesters wait for it.
    performer_transport
        .publish(topics::REPORTS, protocol::encode(&honest))
        .await?;
    scheduler
        .publish(topics::ASSIGNMENTS, protocol::encode(&a))
        .await?;
    performer_transport
        .publish(topics::REPORTS, protocol::encode(&lie))
        .await?;
    // A duplicate is attested once.
    performer_transport
        .publish(topics::REPORTS, protocol::encode(&honest))
        .await?;

    let domain = f.attester.config().domain();
    let others: Vec<Address> = transports
        .iter()
        .map(|(a2, _)| *a2)
        .filter(|a2| *a2 != a.performer)
        .collect();
    let mut got = Vec::new();
    for _ in 0..2 * others.len() {
        let (sender, att) = next_attestation(&mut attestations).await?;
        assert!(domain.verify(&att), "a valid EIP-712 signature");
        assert_eq!(sender, att.attester);
        assert!(others.contains(&att.attester), "never the performer itself");
        assert_eq!(att.task_id, a.task.id);
        got.push(att);
    }
    for attester in &others {
        let mine: Vec<_> = got.iter().filter(|g| g.attester == *attester).collect();
        assert_eq!(mine.len(), 2);
        let approve = mine
            .iter()
            .find(|g| g.report_digest == report_digest(&honest))
            .context("attestation of the honest report")?;
        assert_eq!(approve.verdict, Verdict::Approve);
        let reject = mine
            .iter()
            .find(|g| g.report_digest == report_digest(&lie))
            .context("attestation of the lie")?;
        assert_eq!(reject.verdict, RejectReason::ReceiptMismatch.verdict());
    }

    for (addr, stop, handle) in services {
        let _ = stop.send(());
        let s = handle.await?.stats();
        assert_eq!(s.untrusted_assignments, 1, "{addr}");
        assert_eq!(s.malformed_reports, 1, "{addr}");
        assert_eq!(s.forged_reports, 1, "{addr}");
        if addr == a.performer {
            assert_eq!(s.own_reports, 3, "its own reports are never attested");
            assert_eq!((s.reports, s.published), (0, 0));
            continue;
        }
        assert_eq!(s.duplicate_reports, 1, "{addr}");
        assert_eq!((s.approved, s.rejected, s.published), (1, 1, 2), "{addr}");
        assert_eq!(s.assignments, 1);
    }
    for (addr, t) in &transports {
        assert!(t.stats().malformed >= 1, "{addr}: raw frame counted");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_performer_services_reports_are_approved() -> Result<()> {
    let f = Fixture::start().await?;
    let net = InProcessNetwork::new(triggerx_core::transport::inprocess::Config {
        chain_id: f.env.devnet.chain_id,
        ..Default::default()
    });
    let join = |s: &PrivateKeySigner| -> Arc<dyn Transport> {
        Arc::new(net.join(s.clone(), Arc::new(AllowAll), Arc::new(SystemClock)))
    };
    let scheduler = join(&f.scheduler);
    let aggregator = join(&PrivateKeySigner::from_bytes(&keccak256("aggregator"))?);
    let mut attestations = aggregator.subscribe(topics::ATTESTATIONS, 64);
    let a = f.event_assignment(f.counter_log().await?)?;
    let mut performer = performer::PerformerService::new(
        f.engine(a.performer).clone(),
        join(&f.signer(a.performer)),
        Arc::new(SystemClock),
        f.scheduler.address(),
    );
    let mut stops = Vec::new();
    let mut attesters = Vec::new();
    for k in f
        .env
        .devnet
        .keepers
        .iter()
        .filter(|k| k.address() != a.performer)
    {
        let service = AttesterService::new(
            f.attester.clone(),
            join(&k.signer),
            k.signer.clone(),
            ServiceConfig::default(),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(service.run(async move {
            let _ = stopped.await;
        }));
        stops.push(stop);
        attesters.push(k.address());
    }
    scheduler
        .publish(topics::ASSIGNMENTS, protocol::encode(&a))
        .await?;
    let report = performer.perform(&a).await?;
    let domain = f.attester.config().domain();
    let mut seen = Vec::new();
    for _ in 0..attesters.len() {
        let (_, att) = next_attestation(&mut attestations).await?;
        assert!(domain.verify(&att));
        assert_eq!(att.verdict, Verdict::Approve, "{:?}", att.verdict);
        assert_eq!(att.report_digest, report_digest(&report));
        seen.push(att.attester);
    }
    seen.sort();
    attesters.sort();
    assert_eq!(seen, attesters);
    for stop in stops {
        let _ = stop.send(());
    }
    Ok(())
}
