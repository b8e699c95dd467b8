//! The attester checks the assignment's job against the spec hash its owner registered in the
//! `JobRegistry`, so a scheduler cannot change a registered job's trigger or action.

use std::sync::Arc;

use alloy_primitives::Address;
use anyhow::Result;
use triggerx_core::{
    Timestamp,
    chain::SpecRegistry,
    clock::SystemClock,
    ids::Occurrence,
    protocol::{Assignment, RejectReason},
    spec::spec_hash,
    transport::{AllowAll, inprocess::InProcessNetwork},
    types::{CatchUp, Evidence, Overlap, Schedule, TimeTrigger, Trigger},
};
use triggerx_keeper::{
    attester::Attester,
    performer::{Error, PerformerService},
};

use crate::attester::Fixture;

fn every_minute_from(start: i64) -> Trigger {
    Trigger::Time(TimeTrigger {
        schedule: Schedule::Interval { every_secs: 60 },
        start: Some(Timestamp::from_secs(start)),
        catch_up: CatchUp::Skip,
        overlap: Overlap::Allow,
    })
}

/// An assignment, due now, of a job registered with its spec hash.
async fn bound_assignment(f: &Fixture, now: i64) -> Result<Assignment> {
    let due = Timestamp::from_secs(now);
    let mut job = f.job(every_minute_from(now));
    let owner = f.env.devnet.users[0].clone();
    job.id = f
        .env
        .devnet
        .create_job_with_spec(
            &owner,
            f.env.devnet.addresses.counter,
            4_000_000_000,
            spec_hash(&job),
        )
        .await?;
    let occurrence = Occurrence::Time { job: job.id, due };
    Ok(f.assign(job, occurrence, Evidence::Time { due }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_performer_refuses_a_job_that_differs_from_its_registered_spec() -> Result<()> {
    let f = Fixture::start().await?;
    let a = bound_assignment(&f, f.chain_now().await?).await?;
    let net = InProcessNetwork::new(Default::default());
    let node = Arc::new(net.join(
        f.signer(a.performer),
        Arc::new(AllowAll),
        Arc::new(SystemClock),
    ));
    let specs = Arc::new(SpecRegistry::new(f.client.clone(), f.env.hub()));
    let mut performer = PerformerService::new(
        f.engine(a.performer).clone(),
        node,
        Arc::new(SystemClock),
        Address::ZERO,
    )
    .with_spec_check(specs);

    // The scheduler hands out the registered job with another target: nothing is sent.
    let mut lied = a.clone();
    lied.job.action.target = f.env.devnet.addresses.demo_token;
    let err = performer.perform(&lied).await.unwrap_err();
    assert!(
        matches!(err, Error::SpecMismatch(id) if id == a.job.id),
        "{err}"
    );
    assert!(!f.env.executed(a.task.id).await?, "nothing was executed");

    // The registered job itself is executed.
    let report = performer.perform(&a).await?;
    assert_eq!(report.task_id, a.task.id);
    assert!(f.env.executed(a.task.id).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_checked_against_its_registered_spec_hash() -> Result<()> {
    let f = Fixture::start().await?;
    let config = f.attester.config().clone().with_require_spec_hash(true);
    let strict = Attester::new(f.client.clone(), config);
    let now = f.chain_now().await?;
    let due = Timestamp::from_secs(now);

    // A job registered with the hash of its spec: approved.
    let bound = bound_assignment(&f, now).await?;
    let report = f.honest(&bound).await?;
    assert_eq!(strict.verify(&bound, &report).await?, Ok(()));

    // The same job id handed out with another action or trigger: rejected before anything else.
    let mut lied = bound.clone();
    lied.job.action.target = Address::repeat_byte(0x99);
    assert_eq!(
        strict.verify(&lied, &report).await?,
        Err(RejectReason::SpecMismatch)
    );
    let mut lied = bound.clone();
    lied.job.trigger = every_minute_from(now - 30);
    assert_eq!(
        strict.verify(&lied, &report).await?,
        Err(RejectReason::SpecMismatch)
    );

    // A job registered without a spec hash: rejected when the hash is required, approved
    // (on the scheduler's word) when it is not.
    let plain = f.job(every_minute_from(now));
    let occurrence = Occurrence::Time { job: plain.id, due };
    let unbound = f.assign(plain, occurrence, Evidence::Time { due });
    let report = f.honest(&unbound).await?;
    assert_eq!(
        strict.verify(&unbound, &report).await?,
        Err(RejectReason::SpecMismatch)
    );
    assert_eq!(f.verdict(&unbound, &report).await?, Ok(()));
    Ok(())
}
