//! Shared helpers for the contract tests: a fresh anvil + devnet per test, revert decoding.

pub(crate) use std::{fmt::Debug, time::Duration};

pub(crate) use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, Bytes, I256, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionReceipt,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{SolCall, SolError},
};
pub(crate) use triggerx_core::{
    JobId,
    chain::{
        anvil::{Anvil, AnvilOptions, Devnet, DevnetKeeper, DevnetOptions},
        contracts::{
            ArgsProbe, Counter, DemoToken, JobRegistry, KeeperRegistry, PriceFeed, TaskHub,
            attestation_digest, attestation_domain,
        },
    },
};

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

pub(crate) const ETHER: u128 = 1_000_000_000_000_000_000;
pub(crate) const GAS_LIMIT: u64 = 300_000;

pub(crate) async fn devnet(keepers: usize) -> (Anvil, Devnet) {
    let anvil = Anvil::start(AnvilOptions::default())
        .await
        .unwrap_or_else(|e| panic!("start anvil (run scripts/setup.sh): {e}"));
    let net = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers,
            ..DevnetOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("deploy devnet: {e}"));
    (anvil, net)
}

/// The decoded custom error `E` of a failed call or send, or a panic naming what happened.
pub(crate) fn revert<E: SolError + Debug, T: Debug>(
    result: Result<T, alloy::contract::Error>,
) -> E {
    match result {
        Ok(v) => panic!("expected revert {}, call succeeded: {v:?}", E::SIGNATURE),
        Err(e) => e
            .as_decoded_error::<E>()
            .unwrap_or_else(|| panic!("expected revert {}, got: {e}", E::SIGNATURE)),
    }
}

pub(crate) async fn receipt(
    pending: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> TransactionReceipt {
    let r = pending.expect("send").get_receipt().await.expect("receipt");
    assert!(r.status(), "transaction reverted: {r:?}");
    r
}

pub(crate) async fn chain_now(p: &DynProvider) -> u64 {
    p.get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .expect("latest block")
        .expect("a latest block")
        .header
        .timestamp
}

pub(crate) async fn advance_time(p: &DynProvider, secs: u64) {
    let _: serde_json::Value = p
        .raw_request("evm_increaseTime".into(), (secs,))
        .await
        .expect("evm_increaseTime");
    let _: serde_json::Value = p
        .raw_request("evm_mine".into(), ())
        .await
        .expect("evm_mine");
}

pub(crate) fn task(name: &str) -> B256 {
    keccak256(name.as_bytes())
}

pub(crate) fn increment() -> Bytes {
    Counter::incrementCall {}.abi_encode().into()
}

/// A job on the counter owned by user 0, with 1 ether deposited.
pub(crate) async fn counter_job(net: &Devnet) -> (PrivateKeySigner, JobId) {
    let owner = net.users[0].clone();
    let now = chain_now(&net.provider).await;
    let job = net
        .create_job(&owner, net.addresses.counter, now + 3600)
        .await
        .expect("job");
    net.deposit(owner.address(), U256::from(ETHER))
        .await
        .expect("deposit");
    (owner, job)
}

pub(crate) fn sign(
    net: &Devnet,
    k: &DevnetKeeper,
    task: B256,
    report: B256,
    performer: Address,
    approve: bool,
) -> Bytes {
    let digest = attestation_digest(
        net.chain_id,
        net.addresses.keeper_registry,
        task,
        report,
        performer,
        approve,
    );
    Bytes::from(
        k.signer
            .sign_hash_sync(&digest)
            .expect("sign")
            .as_bytes()
            .to_vec(),
    )
}
