//! The chain under the devnet: an anvil it starts (its chain kept in the data directory, so a
//! later run resumes it), or one it connects to with `--rpc`, with the contracts deployed and the
//! keepers registered; and the checkpoints that tie a data directory to its chain.

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use triggerx_core::{
    chain::{
        AlloyClient, ChainClient,
        anvil::{
            Anvil, AnvilOptions, Devnet, DevnetAddresses, DevnetKeeper, DevnetOptions, keeper_key,
            wallet_provider,
        },
    },
    store::Store,
};

/// The checkpoint key of the devnet's [`State`].
pub(crate) const STATE_KEY: &str = "devnet/state";
/// The checkpoint key of the last block the devnet saw ([`Seen`]).
const SEEN_KEY: &str = "devnet/seen";
/// The devnet's own anvil keeps its chain in this file of the data directory.
const ANVIL_STATE_FILE: &str = "anvil-state.json";
/// The process id of the devnet's own anvil while it runs.
const ANVIL_PID_FILE: &str = "anvil.pid";
/// How long anvil may take to write its state and exit.
const ANVIL_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The files of the devnet's own anvil in `data_dir`: the chain's state file and the pid file.
pub(crate) fn anvil_files(data_dir: &Path) -> [PathBuf; 2] {
    [
        data_dir.join(ANVIL_STATE_FILE),
        data_dir.join(ANVIL_PID_FILE),
    ]
}

/// anvil's default dev accounts (mnemonic `test test … junk`), used with `--rpc`, where the
/// banner that lists them is not ours to read.
const ANVIL_DEV_KEYS: [&str; 10] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// Contract addresses, as stored in the checkpoint and written to the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Contracts {
    pub(crate) task_hub: Address,
    pub(crate) keeper_registry: Address,
    pub(crate) job_registry: Address,
    pub(crate) counter: Address,
    pub(crate) demo_token: Address,
    pub(crate) price_feed: Address,
}

impl From<DevnetAddresses> for Contracts {
    fn from(a: DevnetAddresses) -> Self {
        Self {
            task_hub: a.task_hub,
            keeper_registry: a.keeper_registry,
            job_registry: a.job_registry,
            counter: a.counter,
            demo_token: a.demo_token,
            price_feed: a.price_feed,
        }
    }
}

/// What a data directory remembers about its chain (checkpoint [`STATE_KEY`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) chain_id: u64,
    pub(crate) genesis_hash: B256,
    pub(crate) contracts: Contracts,
    pub(crate) keepers: usize,
    /// The demo jobs, once created.
    pub(crate) demo: Option<super::demo::DemoJobs>,
    /// Whether the chain is an anvil the devnet started, kept in the data directory's state file
    /// (false for `--rpc`, and in checkpoints written before the devnet kept its chain).
    #[serde(default)]
    pub(crate) own_anvil: bool,
    /// The chain's HTTP RPC as of the run that wrote the checkpoint, so `triggerx job create`
    /// can reach the running devnet (absent in checkpoints written before it was recorded).
    #[serde(default)]
    pub(crate) rpc: Option<String>,
}

impl State {
    /// Reads the checkpoint.
    pub(crate) fn load(store: &dyn Store) -> anyhow::Result<Option<Self>> {
        match store.get_checkpoint(STATE_KEY)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(
                serde_json::from_slice(&bytes).context("reading the devnet checkpoint")?,
            )),
        }
    }

    /// Writes the checkpoint.
    pub(crate) fn save(&self, store: &dyn Store) -> anyhow::Result<()> {
        store.put_checkpoint(STATE_KEY, &serde_json::to_vec(self)?)?;
        Ok(())
    }
}

/// The last block the data directory has seen (checkpoint `devnet/seen`, written every second
/// while the devnet runs). A resumed chain must still have this block with this hash: a chain
/// that lacks it is another chain, or an older copy of this one (an anvil state file written
/// before the store's last updates), on which the store's cursors and tasks would be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Seen {
    pub(crate) number: u64,
    pub(crate) hash: B256,
}

impl Seen {
    fn load(store: &dyn Store) -> anyhow::Result<Option<Self>> {
        match store.get_checkpoint(SEEN_KEY)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(
                serde_json::from_slice(&bytes).context("reading the devnet's last seen block")?,
            )),
        }
    }
}

/// The chain the devnet runs on.
#[derive(Debug)]
pub(crate) struct Chain {
    /// The anvil we started, if any: stopped gracefully by [`Chain::stop`] (or on drop), so it
    /// writes its state file.
    anvil: Mutex<Option<Anvil>>,
    /// Whether the chain is an anvil the devnet started (and keeps in the data directory).
    own_anvil: bool,
    pub(crate) chain_id: u64,
    pub(crate) genesis_hash: B256,
    pub(crate) endpoint: String,
    pub(crate) ws_endpoint: String,
    pub(crate) contracts: Contracts,
    /// anvil dev account 0: deployer, registry and price-feed owner.
    pub(crate) deployer: PrivateKeySigner,
    pub(crate) keepers: Vec<DevnetKeeper>,
    /// anvil dev accounts 1…: job owner (1), token minter (2), aggregator (5).
    pub(crate) users: Vec<PrivateKeySigner>,
    pub(crate) client: std::sync::Arc<dyn ChainClient>,
    /// A read-only provider.
    pub(crate) provider: DynProvider,
}

impl Chain {
    /// A provider that signs with `signer`.
    pub(crate) fn provider_for(&self, signer: &PrivateKeySigner) -> anyhow::Result<DynProvider> {
        Ok(wallet_provider(self.endpoint.parse()?, signer))
    }

    /// The state to checkpoint for this chain.
    pub(crate) fn state(&self, demo: Option<super::demo::DemoJobs>) -> State {
        State {
            chain_id: self.chain_id,
            genesis_hash: self.genesis_hash,
            contracts: self.contracts,
            keepers: self.keepers.len(),
            demo,
            own_anvil: self.own_anvil,
            rpc: Some(self.endpoint.clone()),
        }
    }

    /// Records the chain's current head as the last block seen (see [`Seen`]).
    pub(crate) async fn record_head(&self, store: &dyn Store) -> anyhow::Result<()> {
        let head = self.client.head().await?;
        let seen = Seen {
            number: head.number,
            hash: head.hash,
        };
        store.put_checkpoint(SEEN_KEY, &serde_json::to_vec(&seen)?)?;
        Ok(())
    }

    /// Stops the anvil the devnet started, gracefully, so that it writes its state file.
    pub(crate) async fn stop(&self, data_dir: &Path) -> anyhow::Result<()> {
        let anvil = self.anvil.lock().ok().and_then(|mut a| a.take());
        if let Some(anvil) = anvil {
            anvil
                .stop(ANVIL_STOP_TIMEOUT)
                .await
                .context("stopping anvil (its state file may be stale)")?;
            let [_, pid] = anvil_files(data_dir);
            let _ = std::fs::remove_file(pid);
        }
        Ok(())
    }

    /// Starts anvil with `block_time` on a new chain kept in `data_dir`, deploys and registers
    /// `keepers` keepers.
    pub(crate) async fn start(
        block_time: Duration,
        keepers: usize,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        let [state_file, pid_file] = anvil_files(data_dir);
        stop_leftover(&pid_file, &state_file).await?;
        if state_file.exists() {
            bail!(
                "{} holds a chain but the store does not know it (was the store deleted?); \
                 start over with --reset",
                state_file.display()
            );
        }
        let anvil = start_anvil(block_time, data_dir).await?;
        let devnet = Devnet::deploy(
            &anvil,
            DevnetOptions {
                keepers,
                ..DevnetOptions::default()
            },
        )
        .await
        .context("deploying the contracts")?;
        let (client, provider, genesis_hash) = connect(&devnet.endpoint).await?;
        Ok(Self {
            chain_id: devnet.chain_id,
            genesis_hash,
            endpoint: devnet.endpoint.clone(),
            ws_endpoint: devnet.ws_endpoint.clone(),
            contracts: devnet.addresses.into(),
            deployer: devnet.deployer.clone(),
            keepers: devnet.keepers.clone(),
            users: devnet.users.clone(),
            client,
            provider,
            anvil: Mutex::new(Some(anvil)),
            own_anvil: true,
        })
    }

    /// Restarts the devnet's own anvil on the chain kept in `data_dir` (the data directory's
    /// `state`), and checks that it is that chain.
    pub(crate) async fn resume_own(
        block_time: Duration,
        data_dir: &Path,
        state: &State,
        store: &dyn Store,
    ) -> anyhow::Result<Self> {
        let [state_file, pid_file] = anvil_files(data_dir);
        stop_leftover(&pid_file, &state_file).await?;
        if !state_file.is_file() {
            bail!(
                "{} belongs to chain id {} with genesis {} (TaskHub {}), but its chain's state \
                 file {} is missing, so the chain cannot be resumed. Start over with --reset \
                 (or another --data-dir).",
                data_dir.display(),
                state.chain_id,
                state.genesis_hash,
                state.contracts.task_hub,
                state_file.display()
            );
        }
        let anvil = start_anvil(block_time, data_dir).await?;
        let (endpoint, ws) = (anvil.endpoint(), anvil.ws_endpoint());
        let mut chain = Self::resume(&endpoint, &ws, state, store)
            .await
            .with_context(|| format!("resuming the chain kept in {}", state_file.display()))?;
        chain.anvil = Mutex::new(Some(anvil));
        chain.own_anvil = true;
        Ok(chain)
    }

    /// Connects to a running chain whose contracts the data directory's `state` recorded, and
    /// checks that it is that chain and has every block the data directory has seen.
    pub(crate) async fn resume(
        rpc: &str,
        ws: &str,
        state: &State,
        store: &dyn Store,
    ) -> anyhow::Result<Self> {
        let (client, provider, genesis_hash) = connect(rpc).await?;
        let chain_id = client.chain_id().await?;
        if chain_id != state.chain_id || genesis_hash != state.genesis_hash {
            bail!(mismatch(state, chain_id, genesis_hash));
        }
        let code = provider.get_code_at(state.contracts.task_hub).await?;
        if code.is_empty() {
            bail!(
                "the data directory's TaskHub {} has no code on {rpc}; use --reset to start over",
                state.contracts.task_hub
            );
        }
        if let Some(seen) = Seen::load(store)? {
            let block = client
                .header_by_number(alloy::eips::BlockNumberOrTag::Number(seen.number))
                .await?;
            if block.as_ref().map(|b| b.hash) != Some(seen.hash) {
                let head = client.block_number().await?;
                bail!(
                    "the chain at {rpc} (head {head}) does not have block {} with hash {}, which \
                     the data directory has seen: it is an older copy of the chain (anvil stopped \
                     without writing its state?) or another chain. The store's tasks and cursors \
                     would not match it; start over with --reset.",
                    seen.number,
                    seen.hash
                );
            }
        }
        let mut dev = dev_keys();
        let deployer = dev.remove(0);
        Ok(Self {
            anvil: Mutex::new(None),
            own_anvil: false,
            chain_id,
            genesis_hash,
            endpoint: rpc.to_owned(),
            ws_endpoint: ws.to_owned(),
            contracts: state.contracts,
            deployer,
            keepers: (0..state.keepers)
                .map(|i| DevnetKeeper {
                    signer: keeper_key(i),
                    voting_power: DevnetOptions::default().voting_power,
                })
                .collect(),
            users: dev,
            client,
            provider,
        })
    }

    /// Connects to a chain this data directory has not seen: deploys and registers keepers.
    pub(crate) async fn deploy_at(rpc: &str, ws: &str, keepers: usize) -> anyhow::Result<Self> {
        let (client, provider, genesis_hash) = connect(rpc).await?;
        let chain_id = client.chain_id().await?;
        let options = DevnetOptions {
            keepers,
            ..DevnetOptions::default()
        };
        let devnet = Devnet::deploy_at(rpc, ws, dev_keys(), options)
            .await
            .with_context(|| {
                format!("deploying the contracts on {rpc} (it needs anvil's default dev accounts)")
            })?;
        Ok(Self {
            anvil: Mutex::new(None),
            own_anvil: false,
            chain_id,
            genesis_hash,
            endpoint: rpc.to_owned(),
            ws_endpoint: ws.to_owned(),
            contracts: devnet.addresses.into(),
            deployer: devnet.deployer,
            keepers: devnet.keepers,
            users: devnet.users,
            client,
            provider,
        })
    }
}

pub(crate) fn mismatch(state: &State, chain_id: u64, genesis: B256) -> String {
    format!(
        "the data directory belongs to another chain (chain id {}, genesis {}), this one is \
         chain id {chain_id}, genesis {genesis}. A data directory is tied to its chain: {}, or \
         pass --reset (or another --data-dir) to start over.",
        state.chain_id,
        state.genesis_hash,
        if state.own_anvil {
            "the devnet keeps it in the data directory's anvil-state.json (was it replaced?)"
        } else {
            "resume with --rpc <URL of that chain>"
        }
    )
}

/// Why a data directory of a `--rpc` chain cannot run on the devnet's own anvil.
pub(crate) fn mismatch_own_anvil(state: &State, data_dir: &str) -> String {
    format!(
        "{data_dir} belongs to chain id {} with genesis {} (TaskHub {}), a chain given with \
         --rpc, not one the devnet keeps. Resume with --rpc <URL of that chain> while it still \
         runs, or start over with --reset (or another --data-dir).",
        state.chain_id, state.genesis_hash, state.contracts.task_hub
    )
}

/// Starts the devnet's own anvil on the chain kept in `data_dir` (a new chain if there is none
/// yet); an anvil a killed devnet left running on it must have been stopped first
/// ([`stop_leftover`]).
async fn start_anvil(block_time: Duration, data_dir: &Path) -> anyhow::Result<Anvil> {
    let [state_file, pid_file] = anvil_files(data_dir);
    let anvil = Anvil::start(AnvilOptions {
        block_time: Some(block_time),
        // Written on a graceful stop only: a copy written while the devnet runs would be older
        // than the store anyway, and refused (see `Seen`). No historical states: nothing reads
        // state at a block before the restart, and they cost one copy of every account per block.
        state: Some(state_file),
        own_process_group: true,
        ..AnvilOptions::default()
    })
    .await
    .context("starting anvil (install it with `bash scripts/setup.sh`)")?;
    std::fs::write(&pid_file, anvil.pid().to_string())
        .with_context(|| format!("writing {}", pid_file.display()))?;
    Ok(anvil)
}

/// A devnet killed without a chance to stop its anvil (SIGKILL) leaves that anvil running, in
/// its own process group, still holding the chain. If the pid file names a live anvil on
/// `state_file`, it is stopped gracefully so that it writes the chain, which then resumes.
async fn stop_leftover(pid_file: &Path, state_file: &Path) -> anyhow::Result<()> {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return Ok(());
    };
    let pid = text.trim();
    // A live process's command line; empty once it has exited (also as a zombie).
    let cmdline =
        || std::fs::read(Path::new("/proc").join(pid).join("cmdline")).unwrap_or_default();
    let ours = pid.parse::<u32>().is_ok()
        && cmdline()
            .split(|b| *b == 0)
            .any(|arg| Path::new(&*String::from_utf8_lossy(arg)) == state_file);
    if ours {
        tracing::warn!(
            pid,
            "stopping the anvil a killed devnet left running on this chain"
        );
        let _ = std::process::Command::new("kill")
            .args(["-INT", pid])
            .status();
        let deadline = tokio::time::Instant::now() + ANVIL_STOP_TIMEOUT;
        while !cmdline().is_empty() {
            if tokio::time::Instant::now() >= deadline {
                bail!("the anvil left running (pid {pid}) on this chain did not stop; stop it");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let _ = std::fs::remove_file(pid_file);
    Ok(())
}

fn dev_keys() -> Vec<PrivateKeySigner> {
    ANVIL_DEV_KEYS
        .iter()
        .map(|k| k.parse().expect("anvil's well-known dev keys parse"))
        .collect()
}

/// Connects to `rpc`; returns the client, a provider and the genesis hash.
async fn connect(
    rpc: &str,
) -> anyhow::Result<(std::sync::Arc<dyn ChainClient>, DynProvider, B256)> {
    let client: std::sync::Arc<dyn ChainClient> =
        std::sync::Arc::new(AlloyClient::http(rpc).with_context(|| format!("RPC URL {rpc}"))?);
    let provider = ProviderBuilder::new().connect_http(rpc.parse()?).erased();
    let genesis = client
        .header_by_number(alloy::eips::BlockNumberOrTag::Number(0))
        .await
        .with_context(|| format!("reading the genesis block from {rpc}"))?
        .context("the chain has no genesis block")?;
    Ok((client, provider, genesis.hash))
}

/// The deterministic transport key of a devnet role (`scheduler`, `health`): the same on every
/// run, so a resumed run is the same network.
pub(crate) fn role_key(role: &str) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&keccak256(format!("triggerx.devnet.{role}")))
        .expect("a valid secp256k1 scalar")
}

/// One ether, in wei.
pub(crate) fn ether() -> U256 {
    U256::from(10u64).pow(U256::from(18u64))
}
