//! `triggerx job create`: a person's own job on a running devnet.
//!
//! A job only executes when the chain knows it: the TaskHub refuses a task whose job is not an
//! active, unexpired JobRegistry job targeting the called contract, and charges the job owner's
//! prepaid balance. So `create` does what the devnet does for its demo jobs: it registers the
//! job on the JobRegistry (which assigns the id), tops up the owner's TaskHub balance, and stores
//! the job as active. The running scheduler's job watcher hands it to its engine.
//!
//! The owner signs its transactions: with `--owner-key`, or else the node signs for it (anvil
//! signs for its dev accounts, `eth_sendTransaction`). The RPC and the contracts come from the
//! data directory's devnet checkpoint (`--rpc` overrides the RPC).

use std::{path::PathBuf, process::ExitCode};

use alloy::{
    primitives::{Address, B256, U256, utils::format_ether, utils::parse_ether},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use triggerx_core::{
    JobId, Timestamp,
    chain::{
        anvil::wallet_provider,
        contracts::{JobRegistry, TaskHub},
    },
    spec::{self, ValidationContext},
    store::{CheckpointStore, JobStore},
    types::{Job, JobStatus},
};

use super::{
    super::EXIT_INVALID,
    load_one,
    store::{StoreArgs, retrying},
};

/// The checkpoint in which `triggerx devnet` records its chain (`devnet::chain::State`).
const DEVNET_STATE_KEY: &str = "devnet/state";

/// Arguments of `triggerx job create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// A spec file (.json or .toml; the original CreateJobData JSON too).
    #[arg(value_name = "SPEC")]
    file: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    /// Own the job as this address instead of the spec's `owner` (with the node signing, one
    /// of anvil's dev accounts).
    #[arg(long, value_name = "ADDRESS")]
    owner: Option<Address>,
    /// Sign the owner's transactions with this private key (hex); the owner is its address.
    #[arg(
        long,
        value_name = "HEX",
        env = "TRIGGERX_OWNER_KEY",
        hide_env_values = true
    )]
    owner_key: Option<String>,
    /// The chain's HTTP RPC (default: the one the data directory's devnet checkpoint records).
    #[arg(long, value_name = "URL")]
    rpc: Option<String>,
    /// Top the owner's prepaid TaskHub balance up to at least this much ether (0: no deposit).
    #[arg(long, value_name = "ETH", default_value = "1", value_parser = parse_eth)]
    fund: U256,
    /// Only store the job, with the spec's id: no registration, no funding (the job fires, but
    /// the TaskHub refuses to execute a job it does not know).
    #[arg(long, conflicts_with_all = ["owner_key", "rpc"])]
    offline: bool,
}

fn parse_eth(s: &str) -> Result<U256, String> {
    parse_ether(s).map_err(|e| format!("`{s}` is not an amount of ether: {e}"))
}

/// What the data directory's devnet checkpoint says about its chain (the fields `create`
/// needs; the devnet owns the format).
#[derive(Debug, Deserialize)]
struct DevnetState {
    chain_id: u64,
    contracts: DevnetContracts,
    /// The RPC, when the checkpoint records it.
    #[serde(default, alias = "endpoint")]
    rpc: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DevnetContracts {
    task_hub: Address,
    job_registry: Address,
}

/// A job registered on-chain.
#[derive(Debug)]
struct Registered {
    id: JobId,
    owner: Address,
    tx: B256,
    registry: Address,
    balance: U256,
    deposited: U256,
}

/// `triggerx job create`.
pub(crate) fn run(args: &CreateArgs) -> ExitCode {
    let now = Timestamp::from_secs(Timestamp::now().as_secs());
    let jobs = match load_one(&args.file, &ValidationContext::new(now)) {
        Ok(jobs) => jobs,
        Err(code) => return code,
    };
    let store = match args.store.open() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    for mut job in jobs {
        if let Some(owner) = args.owner {
            job.owner = owner;
        }
        job.status = JobStatus::Active;
        if !args.offline {
            match runtime.block_on(register(args, &store, &job)) {
                Ok(r) => {
                    eprintln!(
                        "registered job {} on JobRegistry {} (tx {}); owner {} has {} ETH on the TaskHub{}",
                        r.id,
                        r.registry,
                        r.tx,
                        r.owner,
                        format_ether(r.balance),
                        if r.deposited.is_zero() {
                            String::new()
                        } else {
                            format!(" (deposited {})", format_ether(r.deposited))
                        }
                    );
                    job.id = r.id;
                    job.owner = r.owner;
                }
                Err(e) => {
                    eprintln!("error: {}: {e:#}", args.file.display());
                    return ExitCode::from(EXIT_INVALID);
                }
            }
        }
        if let Err(e) = retrying(|| store.insert_job(&job)) {
            eprintln!("error: storing job {}: {e}", job.id);
            return ExitCode::FAILURE;
        }
        eprintln!(
            "stored job {} ({}, {}) as active in {}",
            job.id,
            job.kind().as_str(),
            job.title,
            args.store.path().display()
        );
        println!("{}", job.id);
    }
    ExitCode::SUCCESS
}

/// Registers `job` on the devnet's JobRegistry and funds its owner; the registry's id.
async fn register(
    args: &CreateArgs,
    store: &dyn CheckpointStore,
    job: &Job,
) -> anyhow::Result<Registered> {
    let state: DevnetState = match store.get_checkpoint(DEVNET_STATE_KEY)? {
        Some(bytes) => serde_json::from_slice(&bytes).context("reading the devnet checkpoint")?,
        None => bail!(
            "{} has no devnet checkpoint ({DEVNET_STATE_KEY}): `job create` registers jobs on the \
             contracts a `triggerx devnet` deployed (or use --offline to only store the job)",
            args.store.path().display()
        ),
    };
    let Some(rpc) = args.rpc.clone().or(state.rpc) else {
        bail!(
            "the devnet checkpoint records no RPC (a devnet older than `job create` wrote it): \
             pass --rpc (the URL `triggerx devnet` logs as `rpc=` when the chain is ready)"
        );
    };
    let url = rpc.parse().with_context(|| format!("RPC URL {rpc}"))?;
    let (provider, owner): (DynProvider, Address) = match &args.owner_key {
        Some(key) => {
            let signer: PrivateKeySigner = key
                .trim()
                .trim_start_matches("0x")
                .parse()
                .context("--owner-key is not a private key")?;
            if let Some(o) = args.owner
                && o != signer.address()
            {
                bail!(
                    "--owner {o} is not the address of --owner-key ({})",
                    signer.address()
                );
            }
            (wallet_provider(url, &signer), signer.address())
        }
        None => (ProviderBuilder::new().connect_http(url).erased(), job.owner),
    };
    let chain_id = provider
        .get_chain_id()
        .await
        .with_context(|| format!("reaching {rpc}"))?;
    if chain_id != state.chain_id {
        bail!(
            "{rpc} is chain {chain_id}, but the store belongs to the devnet on chain {}",
            state.chain_id
        );
    }
    if job.action.chain_id != chain_id {
        bail!(
            "action.chain_id: the job runs on chain {}, the devnet is chain {chain_id}",
            job.action.chain_id
        );
    }
    if provider.get_code_at(job.action.target).await?.is_empty() {
        eprintln!(
            "warning: action.target {} has no code on chain {chain_id}",
            job.action.target
        );
    }

    // The registry: owner, target, expiry (2^64 - 1 for none), and the spec's hash.
    let expires = job
        .expires_at
        .map_or(u64::MAX, |t| u64::try_from(t.as_secs()).unwrap_or(0));
    let spec_hash = spec::spec_hash(job);
    let registry = JobRegistry::new(state.contracts.job_registry, provider.clone());
    let receipt = registry
        .createJob(job.action.target, expires, spec_hash)
        .from(owner)
        .send()
        .await
        .map_err(|e| signing_hint(e.into(), owner))?
        .get_receipt()
        .await
        .context("waiting for createJob")?;
    if !receipt.status() {
        bail!("createJob reverted (tx {})", receipt.transaction_hash);
    }
    let created = receipt
        .decoded_log::<JobRegistry::JobCreated>()
        .context("createJob emitted no JobCreated")?;

    // The owner's prepaid balance pays for every execution.
    let hub = TaskHub::new(state.contracts.task_hub, provider);
    let balance = hub.balanceOf(owner).call().await?;
    let mut deposited = U256::ZERO;
    if balance < args.fund {
        deposited = args.fund - balance;
        let r = hub
            .deposit(owner)
            .value(deposited)
            .from(owner)
            .send()
            .await
            .map_err(|e| signing_hint(e.into(), owner))?
            .get_receipt()
            .await
            .context("waiting for the TaskHub deposit")?;
        if !r.status() {
            bail!("the TaskHub deposit reverted (tx {})", r.transaction_hash);
        }
    }
    Ok(Registered {
        id: JobId(created.jobId),
        owner,
        tx: receipt.transaction_hash,
        registry: state.contracts.job_registry,
        balance: balance + deposited,
        deposited,
    })
}

/// Says what to do when the node would not sign for the owner.
fn signing_hint(e: anyhow::Error, owner: Address) -> anyhow::Error {
    let text = format!("{e:#}");
    if text.contains("signer") || text.contains("Signer") || text.contains("unknown account") {
        e.context(format!(
            "the node does not sign for the owner {owner}: make one of anvil's dev accounts the \
             owner (--owner), or pass --owner-key"
        ))
    } else {
        e
    }
}
