//! [`Devnet::deploy`]: every TriggerX contract deployed from anvil's first dev account, N keepers
//! registered and funded with deterministic keys, and the calls tests make on them.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    transports::http::reqwest::Url,
};

use super::super::contracts::{
    ArgsProbe, Counter, DemoToken, JobRegistry, KeeperRegistry, PriceFeed, TaskHub,
};
use super::{Anvil, DevnetError, DevnetResult, wallet_provider};
use crate::JobId;

/// How to deploy the devnet.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// Number of keepers to register.
    pub keepers: usize,
    /// Voting power of each keeper.
    pub voting_power: U256,
    /// Ether sent to each keeper for gas, in wei.
    pub keeper_funding: U256,
    /// The hub's flat fee per execution, in wei.
    pub fee_per_execution: U256,
    /// Decimals of the demo price feed.
    pub price_decimals: u8,
    /// The price feed's first answer.
    pub initial_price: i64,
}

impl Default for DevnetOptions {
    fn default() -> Self {
        Self {
            keepers: 3,
            voting_power: U256::from(100u64),
            keeper_funding: U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64)),
            fee_per_execution: U256::from(1_000_000_000_000u64),
            price_decimals: 8,
            initial_price: 2_000 * 100_000_000,
        }
    }
}

/// Addresses of the deployed contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevnetAddresses {
    /// `TaskHub`.
    pub task_hub: Address,
    /// `KeeperRegistry` (also the attestation contract).
    pub keeper_registry: Address,
    /// `JobRegistry`.
    pub job_registry: Address,
    /// Demo `Counter`.
    pub counter: Address,
    /// Demo `DemoToken`.
    pub demo_token: Address,
    /// Demo `PriceFeed`.
    pub price_feed: Address,
    /// Demo `ArgsProbe`.
    pub args_probe: Address,
}

/// A registered, funded keeper.
#[derive(Debug, Clone)]
pub struct DevnetKeeper {
    /// Its key.
    pub signer: PrivateKeySigner,
    /// Its voting power.
    pub voting_power: U256,
}

impl DevnetKeeper {
    /// Its address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }
}

/// The TriggerX contracts deployed on an [`Anvil`], with keepers registered.
#[derive(Debug, Clone)]
pub struct Devnet {
    /// Chain id.
    pub chain_id: u64,
    /// HTTP RPC endpoint.
    pub endpoint: String,
    /// WebSocket RPC endpoint.
    pub ws_endpoint: String,
    /// Contract addresses.
    pub addresses: DevnetAddresses,
    /// The deployer: anvil dev account 0, owner of the registry and the price feed.
    pub deployer: PrivateKeySigner,
    /// The registered keepers, keys derived from `keccak256("triggerx.devnet.keeper" ‖ i)`.
    pub keepers: Vec<DevnetKeeper>,
    /// The other dev accounts (1, 2, …): job owners and users for tests.
    pub users: Vec<PrivateKeySigner>,
    /// A provider that sends as the deployer.
    pub provider: DynProvider,
    url: Url,
}

/// The deterministic key of devnet keeper `index`.
pub fn keeper_key(index: usize) -> PrivateKeySigner {
    let mut seed = b"triggerx.devnet.keeper".to_vec();
    seed.extend_from_slice(&(index as u64).to_be_bytes());
    let mut secret: B256 = keccak256(&seed);
    // A valid secp256k1 scalar is overwhelmingly likely; re-hash in the negligible other case.
    loop {
        if let Ok(s) = PrivateKeySigner::from_bytes(&secret) {
            return s;
        }
        secret = keccak256(secret);
    }
}

async fn confirm(
    what: &str,
    pending: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> DevnetResult<TransactionReceipt> {
    let receipt = pending
        .map_err(|e| DevnetError::rpc(what, e))?
        .get_receipt()
        .await
        .map_err(|e| DevnetError::rpc(what, e))?;
    if !receipt.status() {
        return Err(DevnetError::rpc(
            what,
            format!("transaction {} reverted", receipt.transaction_hash),
        ));
    }
    Ok(receipt)
}

impl Devnet {
    /// Deploys every contract from anvil dev account 0, then registers `options.keepers` keepers
    /// and funds each with `options.keeper_funding`. Transactions are sent with explicit nonces
    /// so that each phase fits in one block also when anvil seals blocks on a timer.
    pub async fn deploy(anvil: &Anvil, options: DevnetOptions) -> DevnetResult<Self> {
        Self::deploy_at(
            &anvil.endpoint(),
            &anvil.ws_endpoint(),
            anvil.dev_signers().to_vec(),
            options,
        )
        .await
    }

    /// [`deploy`](Self::deploy) onto any chain at `endpoint` whose funded accounts are
    /// `dev_signers` (the first deploys and funds; the others become [`Devnet::users`]) — e.g. an
    /// anvil this process did not start.
    pub async fn deploy_at(
        endpoint: &str,
        ws_endpoint: &str,
        dev_signers: Vec<PrivateKeySigner>,
        options: DevnetOptions,
    ) -> DevnetResult<Self> {
        let url: Url = endpoint
            .parse()
            .map_err(|e| DevnetError::rpc("endpoint", format!("{endpoint}: {e}")))?;
        let mut dev = dev_signers.into_iter();
        let deployer = dev
            .next()
            .ok_or_else(|| DevnetError::rpc("deploy", "no funded account to deploy from"))?;
        let users: Vec<_> = dev.collect();
        let provider = wallet_provider(url.clone(), &deployer);
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| DevnetError::rpc("eth_chainId", e))?;
        let from = deployer.address();
        let mut nonce = provider
            .get_transaction_count(from)
            .await
            .map_err(|e| DevnetError::rpc("deployer nonce", e))?;
        // Phase 1: contracts. The hub's constructor needs the registries' addresses, which are
        // the deployer's CREATE addresses for the nonces used.
        let registry_addr = from.create(nonce);
        let jobs_addr = from.create(nonce + 1);
        let mut next = || {
            nonce += 1;
            nonce - 1
        };
        let p = &provider;
        let sends = vec![
            (
                "deploy KeeperRegistry",
                KeeperRegistry::deploy_builder(p).nonce(next()).send().await,
            ),
            (
                "deploy JobRegistry",
                JobRegistry::deploy_builder(p).nonce(next()).send().await,
            ),
            (
                "deploy TaskHub",
                TaskHub::deploy_builder(p, registry_addr, jobs_addr, options.fee_per_execution)
                    .nonce(next())
                    .send()
                    .await,
            ),
            (
                "deploy Counter",
                Counter::deploy_builder(p).nonce(next()).send().await,
            ),
            (
                "deploy DemoToken",
                DemoToken::deploy_builder(p, "TriggerX Demo".into(), "TXD".into())
                    .nonce(next())
                    .send()
                    .await,
            ),
            (
                "deploy PriceFeed",
                PriceFeed::deploy_builder(
                    p,
                    options.price_decimals,
                    alloy::primitives::I256::try_from(options.initial_price)
                        .map_err(|e| DevnetError::rpc("initial price", e))?,
                )
                .nonce(next())
                .send()
                .await,
            ),
            (
                "deploy ArgsProbe",
                ArgsProbe::deploy_builder(p).nonce(next()).send().await,
            ),
        ];
        let mut deployed = Vec::with_capacity(sends.len());
        for (what, pending) in sends {
            let receipt = confirm(what, pending).await?;
            deployed.push(
                receipt
                    .contract_address
                    .ok_or_else(|| DevnetError::rpc(what, "receipt has no contract address"))?,
            );
        }
        let addresses = DevnetAddresses {
            keeper_registry: deployed[0],
            job_registry: deployed[1],
            task_hub: deployed[2],
            counter: deployed[3],
            demo_token: deployed[4],
            price_feed: deployed[5],
            args_probe: deployed[6],
        };
        if addresses.keeper_registry != registry_addr || addresses.job_registry != jobs_addr {
            return Err(DevnetError::rpc(
                "deploy",
                "registries landed at unexpected addresses",
            ));
        }

        // Phase 2: keepers.
        let keepers: Vec<_> = (0..options.keepers)
            .map(|i| DevnetKeeper {
                signer: keeper_key(i),
                voting_power: options.voting_power,
            })
            .collect();
        let registry = KeeperRegistry::new(addresses.keeper_registry, p);
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

        Ok(Self {
            chain_id,
            endpoint: endpoint.to_owned(),
            ws_endpoint: ws_endpoint.to_owned(),
            addresses,
            deployer,
            keepers,
            users,
            provider,
            url,
        })
    }

    /// An HTTP provider that signs and sends with `signer` (see [`wallet_provider`]).
    pub fn provider_for(&self, signer: &PrivateKeySigner) -> DynProvider {
        wallet_provider(self.url.clone(), signer)
    }

    /// The hub, called through `provider`.
    pub fn task_hub(&self, provider: &DynProvider) -> TaskHub::TaskHubInstance<DynProvider> {
        TaskHub::new(self.addresses.task_hub, provider.clone())
    }

    /// The keeper registry, called through `provider`.
    pub fn keeper_registry(
        &self,
        provider: &DynProvider,
    ) -> KeeperRegistry::KeeperRegistryInstance<DynProvider> {
        KeeperRegistry::new(self.addresses.keeper_registry, provider.clone())
    }

    /// The job registry, called through `provider`.
    pub fn job_registry(
        &self,
        provider: &DynProvider,
    ) -> JobRegistry::JobRegistryInstance<DynProvider> {
        JobRegistry::new(self.addresses.job_registry, provider.clone())
    }

    /// Creates a job owned by `owner` on the job registry; returns its id.
    pub async fn create_job(
        &self,
        owner: &PrivateKeySigner,
        target: Address,
        expires_at: u64,
    ) -> DevnetResult<JobId> {
        self.create_job_with_spec(owner, target, expires_at, B256::ZERO)
            .await
    }

    /// Creates a job owned by `owner` with a spec hash; returns its id.
    pub async fn create_job_with_spec(
        &self,
        owner: &PrivateKeySigner,
        target: Address,
        expires_at: u64,
        spec_hash: B256,
    ) -> DevnetResult<JobId> {
        let registry = self.job_registry(&self.provider_for(owner));
        let receipt = confirm(
            "createJob",
            registry
                .createJob(target, expires_at, spec_hash)
                .send()
                .await,
        )
        .await?;
        let created = receipt
            .decoded_log::<JobRegistry::JobCreated>()
            .ok_or_else(|| DevnetError::rpc("createJob", "no JobCreated event"))?;
        Ok(JobId(created.jobId))
    }

    /// Deposits `amount` wei, paid by the deployer, into `owner`'s hub balance.
    pub async fn deposit(&self, owner: Address, amount: U256) -> DevnetResult<()> {
        let hub = self.task_hub(&self.provider);
        confirm("deposit", hub.deposit(owner).value(amount).send().await).await?;
        Ok(())
    }

    /// The addresses of the keepers in strictly ascending order (the order verdict signatures
    /// must be in).
    pub fn sorted_keepers(&self) -> Vec<&DevnetKeeper> {
        let mut k: Vec<_> = self.keepers.iter().collect();
        k.sort_by_key(|k| k.address());
        k
    }
}
