//! Deploying onto a chain the devnet did not start (`--rpc`).
//!
//! `Devnet::deploy` needs the `Anvil` it started (its banner's dev keys and URL); with `--rpc`
//! there is none, so this mirrors its two phases (contracts, then keepers) over any endpoint.
//! It belongs next to `Devnet::deploy` in `triggerx-core` (a `Devnet::deploy_at(url, keys)`).

use alloy::{
    network::TransactionBuilder,
    primitives::I256,
    providers::{PendingTransactionBuilder, Provider},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use triggerx_core::chain::{
    anvil::{DevnetKeeper, DevnetOptions, keeper_key, wallet_provider},
    contracts::{Counter, DemoToken, JobRegistry, KeeperRegistry, PriceFeed, TaskHub},
};

use super::chain::Contracts;

type Pending = Result<PendingTransactionBuilder<alloy::network::Ethereum>, alloy::contract::Error>;

async fn confirm(
    what: &str,
    pending: Pending,
) -> anyhow::Result<alloy::rpc::types::TransactionReceipt> {
    let receipt = pending
        .with_context(|| what.to_owned())?
        .get_receipt()
        .await
        .with_context(|| what.to_owned())?;
    if !receipt.status() {
        bail!("{what}: transaction {} reverted", receipt.transaction_hash);
    }
    Ok(receipt)
}

/// Deploys the contracts from `deployer` on `rpc` and registers and funds `keepers` keepers.
pub(crate) async fn deploy_at(
    rpc: &str,
    deployer: &PrivateKeySigner,
    keepers: usize,
) -> anyhow::Result<(Contracts, Vec<DevnetKeeper>)> {
    let options = DevnetOptions::default();
    let p = wallet_provider(rpc.parse()?, deployer);
    let from = deployer.address();
    let balance = p.get_balance(from).await.context("deployer balance")?;
    if balance.is_zero() {
        bail!(
            "{from} (anvil's dev account 0) has no ether on {rpc}: --rpc needs an anvil with its default accounts"
        );
    }
    let mut nonce = p.get_transaction_count(from).await?;
    let registry_addr = from.create(nonce);
    let jobs_addr = from.create(nonce + 1);
    let mut next = || {
        nonce += 1;
        nonce - 1
    };
    let sends = vec![
        (
            "deploy KeeperRegistry",
            KeeperRegistry::deploy_builder(&p)
                .nonce(next())
                .send()
                .await,
        ),
        (
            "deploy JobRegistry",
            JobRegistry::deploy_builder(&p).nonce(next()).send().await,
        ),
        (
            "deploy TaskHub",
            TaskHub::deploy_builder(&p, registry_addr, jobs_addr, options.fee_per_execution)
                .nonce(next())
                .send()
                .await,
        ),
        (
            "deploy Counter",
            Counter::deploy_builder(&p).nonce(next()).send().await,
        ),
        (
            "deploy DemoToken",
            DemoToken::deploy_builder(&p, "TriggerX Demo".into(), "TXD".into())
                .nonce(next())
                .send()
                .await,
        ),
        (
            "deploy PriceFeed",
            PriceFeed::deploy_builder(
                &p,
                options.price_decimals,
                I256::try_from(options.initial_price)?,
            )
            .nonce(next())
            .send()
            .await,
        ),
    ];
    let mut deployed = Vec::new();
    for (what, pending) in sends {
        let receipt = confirm(what, pending).await?;
        deployed.push(receipt.contract_address.context("no contract address")?);
    }
    let contracts = Contracts {
        keeper_registry: deployed[0],
        job_registry: deployed[1],
        task_hub: deployed[2],
        counter: deployed[3],
        demo_token: deployed[4],
        price_feed: deployed[5],
    };
    let keepers: Vec<_> = (0..keepers)
        .map(|i| DevnetKeeper {
            signer: keeper_key(i),
            voting_power: options.voting_power,
        })
        .collect();
    let registry = KeeperRegistry::new(contracts.keeper_registry, &p);
    let mut pending = Vec::new();
    for k in &keepers {
        let add = registry
            .addKeeper(k.address(), k.voting_power)
            .nonce(next())
            .send()
            .await;
        pending.push(("addKeeper", add));
        let fund = TransactionRequest::default()
            .with_to(k.address())
            .with_value(options.keeper_funding)
            .with_nonce(next());
        let sent = p
            .send_transaction(fund)
            .await
            .map_err(alloy::contract::Error::from);
        pending.push(("fund keeper", sent));
    }
    for (what, tx) in pending {
        confirm(what, tx).await?;
    }
    Ok((contracts, keepers))
}
