//! The attester checks the assignment's job against the spec hash its owner registered in the
//! `JobRegistry`, so a scheduler cannot change a registered job's trigger or action.

use alloy_primitives::Address;
use anyhow::Result;
use triggerx_core::{
    Timestamp,
    ids::Occurrence,
    protocol::RejectReason,
    spec::spec_hash,
    types::{CatchUp, Evidence, Overlap, Schedule, TimeTrigger, Trigger},
};
use triggerx_keeper::attester::Attester;

use crate::attester::Fixture;

fn every_minute_from(start: i64) -> Trigger {
    Trigger::Time(TimeTrigger {
        schedule: Schedule::Interval { every_secs: 60 },
        start: Some(Timestamp::from_secs(start)),
        catch_up: CatchUp::Skip,
        overlap: Overlap::Allow,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_checked_against_its_registered_spec_hash() -> Result<()> {
    let f = Fixture::start().await?;
    let config = f.attester.config().clone().with_require_spec_hash(true);
    let strict = Attester::new(f.client.clone(), config);
    let now = f.chain_now().await?;
    let due = Timestamp::from_secs(now);

    // A job registered with the hash of its spec: approved.
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
    let bound = f.assign(job, occurrence, Evidence::Time { due });
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
