//! A local anvil chain for tests: start, deploy, register and fund keepers, tear down on drop.
//!
//! [`Anvil::start`] spawns the anvil binary (found by [`find_anvil`]) on a free loopback port that
//! anvil picks itself (`--port 0`, read back from its output), waits until it answers RPC, and
//! kills it when dropped. [`Devnet::deploy`] deploys every TriggerX contract from anvil's first
//! dev account and registers and funds N keepers with deterministic keys.
//!
//! A chain that outlives its process: with [`AnvilOptions::state`] anvil loads the chain from
//! that file if it exists and writes it back when it stops (`--state`; blocks, receipts and logs,
//! accounts, code, storage, balances and nonces — not the transaction pool), optionally also
//! every [`AnvilOptions::state_interval`]. Such an anvil must be stopped gracefully to write its
//! state: [`Anvil::stop`] (SIGINT, then wait), which `Drop` also does for it.

use std::{
    env,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
    transports::http::reqwest::Url,
};

/// Errors from starting anvil or deploying the devnet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevnetError {
    /// No anvil binary was found (`TRIGGERX_ANVIL`, `node_modules/.bin/anvil`, `PATH`).
    #[error("anvil not found: set TRIGGERX_ANVIL or run scripts/setup.sh")]
    AnvilNotFound,
    /// Spawning anvil failed.
    #[error("spawning {path}: {source}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// anvil exited or did not become ready in time; `output` is the tail of its output.
    #[error("anvil did not start: {reason}\n{output}")]
    NotReady {
        /// Why.
        reason: String,
        /// The last lines anvil printed.
        output: String,
    },
    /// anvil did not stop cleanly (killed after the timeout, or a failed exit): a state file
    /// may not have been written.
    #[error("anvil did not stop cleanly: {reason}\n{output}")]
    Stop {
        /// Why.
        reason: String,
        /// The last lines anvil printed.
        output: String,
    },
    /// An RPC call, transaction or contract call failed.
    #[error("{context}: {message}")]
    Rpc {
        /// What was being done.
        context: String,
        /// The error.
        message: String,
    },
}

impl DevnetError {
    fn rpc(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Self::Rpc {
            context: context.into(),
            message: err.to_string(),
        }
    }

    /// Whether retrying may succeed (RPC hiccups; not a missing binary).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Rpc { .. } | Self::NotReady { .. })
    }
}

/// Result of devnet operations.
pub type DevnetResult<T> = Result<T, DevnetError>;

/// Finds the anvil binary: env `TRIGGERX_ANVIL`, then `node_modules/.bin/anvil` in this repository
/// (or in the current directory or one of its ancestors), then `anvil` on `PATH`.
pub fn find_anvil() -> Option<PathBuf> {
    if let Some(p) = env::var_os("TRIGGERX_ANVIL").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let bin = Path::new("node_modules").join(".bin").join("anvil");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|r| r.join(&bin));
    let from_cwd = env::current_dir()
        .ok()
        .into_iter()
        .flat_map(|d| d.ancestors().map(|a| a.join(&bin)).collect::<Vec<_>>());
    if let Some(p) = repo.into_iter().chain(from_cwd).find(|p| p.is_file()) {
        return Some(p);
    }
    env::var_os("PATH").and_then(|paths| {
        env::split_paths(&paths)
            .map(|d| d.join("anvil"))
            .find(|p| p.is_file())
    })
}

/// How to start anvil.
#[derive(Debug, Clone)]
pub struct AnvilOptions {
    /// Seal a block every interval; `None` mines one block per transaction (automine).
    pub block_time: Option<Duration>,
    /// Number of funded dev accounts (anvil's mnemonic `test test … junk`).
    pub accounts: u32,
    /// Balance of each dev account, in ether.
    pub balance_eth: u64,
    /// Chain id.
    pub chain_id: u64,
    /// The binary; `None` uses [`find_anvil`].
    pub binary: Option<PathBuf>,
    /// How long to wait for anvil to answer RPC.
    pub startup_timeout: Duration,
    /// Keep the chain in this file: load it at start if the file exists, write it on a graceful
    /// stop (anvil's `--state`). See [`Anvil::stop`].
    pub state: Option<PathBuf>,
    /// With [`state`](Self::state): also write the state every interval (whole seconds, at
    /// least one; anvil's `--state-interval`), so a crash loses at most that much.
    pub state_interval: Option<Duration>,
    /// With [`state`](Self::state): also write the states of recent blocks, so calls at a
    /// block before the restart still answer (anvil's `--preserve-historical-states`).
    pub preserve_historical_states: bool,
    /// Run anvil in its own process group, so a Ctrl-C at the terminal reaches only this
    /// process, which then stops anvil itself when it is done with the chain.
    pub own_process_group: bool,
    /// Further command-line arguments.
    pub extra_args: Vec<String>,
}

impl Default for AnvilOptions {
    fn default() -> Self {
        Self {
            block_time: None,
            accounts: 10,
            balance_eth: 10_000,
            chain_id: 31_337,
            binary: None,
            startup_timeout: Duration::from_secs(20),
            state: None,
            state_interval: None,
            preserve_historical_states: false,
            own_process_group: false,
            extra_args: Vec::new(),
        }
    }
}

/// A running anvil on 127.0.0.1, killed on drop (stopped gracefully if it keeps a state file).
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    /// Whether the child has been waited for.
    exited: bool,
    /// The state file, if any: `Drop` then stops gracefully so that it is written.
    state: Option<PathBuf>,
    port: u16,
    chain_id: u64,
    dev_signers: Vec<PrivateKeySigner>,
    output: Arc<Mutex<Tail>>,
}

/// The last lines of anvil's output, for error messages.
#[derive(Debug, Default)]
struct Tail(Vec<String>);

impl Tail {
    const MAX: usize = 40;

    fn push(&mut self, line: String) {
        if self.0.len() == Self::MAX {
            self.0.remove(0);
        }
        self.0.push(line);
    }
}

fn tail_text(output: &Arc<Mutex<Tail>>) -> String {
    output.lock().map(|t| t.0.join("\n")).unwrap_or_default()
}

/// What anvil's start-up banner told us.
struct Banner {
    port: u16,
    keys: Vec<PrivateKeySigner>,
}

/// Reads anvil's stdout: the private keys and the listening port, then drains the rest.
fn read_stdout(
    stdout: impl Read,
    output: Arc<Mutex<Tail>>,
    ready: tokio::sync::oneshot::Sender<Banner>,
) {
    let mut ready = Some(ready);
    let mut keys = Vec::new();
    let mut in_keys = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let trimmed = line.trim();
        if ready.is_some() {
            if trimmed.starts_with("Private Keys") {
                in_keys = true;
            } else if in_keys && trimmed.starts_with('(') {
                let key = trimmed.split_whitespace().nth(1).unwrap_or_default();
                if let Ok(signer) = key.parse::<PrivateKeySigner>() {
                    keys.push(signer);
                }
            } else if in_keys && !trimmed.is_empty() && !trimmed.starts_with('=') {
                in_keys = false;
            }
            if let Some(addr) = trimmed.strip_prefix("Listening on ") {
                let port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
                if let (Some(port), Some(tx)) = (port, ready.take()) {
                    let _ = tx.send(Banner {
                        port,
                        keys: std::mem::take(&mut keys),
                    });
                }
            }
        }
        if let Ok(mut t) = output.lock() {
            t.push(line);
        }
    }
}

impl Anvil {
    /// Starts anvil on a free loopback port and waits until it answers RPC.
    pub async fn start(options: AnvilOptions) -> DevnetResult<Self> {
        let path = options
            .binary
            .clone()
            .or_else(find_anvil)
            .ok_or(DevnetError::AnvilNotFound)?;
        let mut cmd = Command::new(&path);
        cmd.args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--accounts", &options.accounts.to_string()])
            .args(["--balance", &options.balance_eth.to_string()])
            .args(["--chain-id", &options.chain_id.to_string()]);
        if let Some(bt) = options.block_time {
            cmd.args(["--block-time", &bt.as_secs_f64().to_string()]);
        }
        if let Some(state) = &options.state {
            cmd.arg("--state").arg(state);
            if let Some(every) = options.state_interval {
                cmd.args(["--state-interval", &every.as_secs().max(1).to_string()]);
            }
            if options.preserve_historical_states {
                cmd.arg("--preserve-historical-states");
            }
        }
        #[cfg(unix)]
        if options.own_process_group {
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        }
        cmd.args(&options.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|source| DevnetError::Spawn { path, source })?;

        let output = Arc::new(Mutex::new(Tail::default()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Some(stdout) = child.stdout.take() {
            let out = Arc::clone(&output);
            std::thread::spawn(move || read_stdout(stdout, out, tx));
        }
        if let Some(stderr) = child.stderr.take() {
            let out = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(mut t) = out.lock() {
                        t.push(line);
                    }
                }
            });
        }

        // From here on, `anvil` owns the child and kills it on any early return.
        let mut anvil = Self {
            child,
            exited: false,
            state: options.state.clone(),
            port: 0,
            chain_id: options.chain_id,
            dev_signers: Vec::new(),
            output,
        };
        let not_ready = |anvil: &Self, reason: &str| DevnetError::NotReady {
            reason: reason.to_owned(),
            output: tail_text(&anvil.output),
        };
        let banner = match tokio::time::timeout(options.startup_timeout, rx).await {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => return Err(not_ready(&anvil, "anvil exited before listening")),
            Err(_) => return Err(not_ready(&anvil, "timed out waiting for anvil to listen")),
        };
        anvil.port = banner.port;
        anvil.dev_signers = banner.keys;

        let provider = anvil.provider()?;
        let deadline = tokio::time::Instant::now() + options.startup_timeout;
        loop {
            match provider.get_chain_id().await {
                Ok(id) if id == options.chain_id => break,
                Ok(id) => {
                    return Err(not_ready(
                        &anvil,
                        &format!("chain id {id}, expected {}", options.chain_id),
                    ));
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(not_ready(&anvil, &format!("RPC not answering: {e}"))),
            }
        }
        Ok(anvil)
    }

    /// Stops anvil gracefully: SIGINT, then waits up to `timeout` for it to exit (anvil writes
    /// its [state file](AnvilOptions::state) on the way out), then kills it. An error says that
    /// it had to be killed, or exited with a failure, so the state file may be stale.
    pub async fn stop(mut self, timeout: Duration) -> DevnetResult<()> {
        let deadline = std::time::Instant::now() + timeout;
        let signalled = self.interrupt();
        loop {
            if let Some(done) = self.poll_exit() {
                return done;
            }
            if !signalled || std::time::Instant::now() >= deadline {
                return Err(self.kill_after(timeout));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGINT. The workspace forbids `unsafe` (no `libc::kill`), so the `kill` utility
    /// sends it.
    fn interrupt(&self) -> bool {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `Some` once anvil has exited: `Ok` if it exited cleanly.
    fn poll_exit(&mut self) -> Option<DevnetResult<()>> {
        let status = match self.child.try_wait() {
            Ok(None) => return None,
            Ok(Some(status)) => status,
            Err(e) => {
                return Some(Err(DevnetError::Stop {
                    reason: format!("waiting for anvil: {e}"),
                    output: self.output_tail(),
                }));
            }
        };
        self.exited = true;
        Some(if status.success() {
            Ok(())
        } else {
            Err(DevnetError::Stop {
                reason: format!("anvil exited with {status}"),
                output: self.output_tail(),
            })
        })
    }

    /// Kills anvil after it did not stop gracefully.
    fn kill_after(&mut self, timeout: Duration) -> DevnetError {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.exited = true;
        DevnetError::Stop {
            reason: format!("anvil did not stop within {timeout:?} of SIGINT and was killed"),
            output: self.output_tail(),
        }
    }

    /// anvil's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The state file, if it keeps one.
    pub fn state_file(&self) -> Option<&Path> {
        self.state.as_deref()
    }

    /// The loopback port anvil listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The HTTP RPC endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The WebSocket RPC endpoint, `ws://127.0.0.1:<port>`.
    pub fn ws_endpoint(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// anvil's funded dev accounts, in order (account 0 first).
    pub fn dev_signers(&self) -> &[PrivateKeySigner] {
        &self.dev_signers
    }

    /// The last lines anvil printed.
    pub fn output_tail(&self) -> String {
        tail_text(&self.output)
    }

    fn url(&self) -> DevnetResult<Url> {
        self.endpoint()
            .parse()
            .map_err(|e| DevnetError::rpc("anvil endpoint", e))
    }

    /// A read-only HTTP provider.
    pub fn provider(&self) -> DevnetResult<DynProvider> {
        Ok(ProviderBuilder::new().connect_http(self.url()?).erased())
    }

    /// An HTTP provider that signs and sends transactions with `signer` (see [`wallet_provider`]).
    pub fn provider_with(&self, signer: &PrivateKeySigner) -> DevnetResult<DynProvider> {
        Ok(wallet_provider(self.url()?, signer))
    }
}

/// An HTTP provider that signs with `signer` and fills gas, chain id and nonce. The nonce is read
/// from the node (pending) for every transaction, so a send that fails before broadcast (a revert
/// found by gas estimation, as tests provoke on purpose) leaves no nonce gap behind.
pub fn wallet_provider(url: Url, signer: &PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(url)
        .erased()
}

impl Drop for Anvil {
    fn drop(&mut self) {
        if self.exited {
            return;
        }
        if self.state.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return;
        }
        // Not stopped with `stop`: stop gracefully anyway (blocking), so the state is written.
        let timeout = Duration::from_secs(30);
        let deadline = std::time::Instant::now() + timeout;
        let signalled = self.interrupt();
        let result = loop {
            if let Some(done) = self.poll_exit() {
                break done;
            }
            if !signalled || std::time::Instant::now() >= deadline {
                break Err(self.kill_after(timeout));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Err(e) = result {
            eprintln!("anvil: {e}");
        }
    }
}

mod devnet;

pub use self::devnet::{Devnet, DevnetAddresses, DevnetKeeper, DevnetOptions, keeper_key};

#[cfg(test)]
mod tests {
    use alloy::{eips::BlockNumberOrTag, rpc::types::Filter, sol_types::SolEvent};

    use super::*;
    use crate::chain::contracts::{Counter, KeeperRegistry};

    /// A chain kept in a state file comes back after a graceful stop: blocks (genesis included),
    /// logs over the old blocks, code, balances and nonces; new blocks continue after the old.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn state_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let options = AnvilOptions {
            state: Some(state.clone()),
            ..AnvilOptions::default()
        };
        let anvil = Anvil::start(options.clone()).await.unwrap();
        let devnet = Devnet::deploy(&anvil, DevnetOptions::default())
            .await
            .unwrap();
        let p = anvil.provider().unwrap();
        let genesis = p
            .get_block_by_number(BlockNumberOrTag::Number(0))
            .await
            .unwrap()
            .unwrap()
            .header
            .hash;
        let head = p.get_block_number().await.unwrap();
        let logs = |p: DynProvider| async move {
            let filter = Filter::new()
                .address(devnet.addresses.keeper_registry)
                .event_signature(KeeperRegistry::KeeperAdded::SIGNATURE_HASH)
                .from_block(0)
                .to_block(head);
            p.get_logs(&filter).await.unwrap()
        };
        let before = logs(p.clone()).await;
        assert_eq!(before.len(), 3);
        let deployer = devnet.deployer.address();
        let (nonce, balance) = (
            p.get_transaction_count(deployer).await.unwrap(),
            p.get_balance(deployer).await.unwrap(),
        );
        anvil.stop(Duration::from_secs(30)).await.unwrap();
        assert!(state.is_file());

        let anvil = Anvil::start(options).await.unwrap();
        let p = anvil.provider().unwrap();
        let block0 = p
            .get_block_by_number(BlockNumberOrTag::Number(0))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(block0.header.hash, genesis);
        assert!(p.get_block_number().await.unwrap() >= head);
        assert_eq!(logs(p.clone()).await, before);
        assert!(
            !p.get_code_at(devnet.addresses.task_hub)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(p.get_transaction_count(deployer).await.unwrap(), nonce);
        assert_eq!(p.get_balance(deployer).await.unwrap(), balance);
        // Automine: a transaction makes the next block.
        let counter = Counter::new(
            devnet.addresses.counter,
            anvil.provider_with(&devnet.deployer).unwrap(),
        );
        let receipt = counter
            .increment()
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.block_number.unwrap() > head);
    }
}
