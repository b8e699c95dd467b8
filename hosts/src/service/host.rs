//! What every service host sets up from its configuration: the chain client (failover over
//! `chain.rpc_urls`), keys, the store, and the libp2p transport with on-chain membership.

use std::{collections::HashSet, path::Path, sync::Arc, time::Duration};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use anyhow::{Context, bail};
use tokio::task::JoinHandle;
use triggerx_core::{
    chain::{ChainClient, FailoverClient, FailoverConfig, membership::RegistryMembership},
    clock::{Clock, SystemClock},
    store::{KeeperFilter, Store, redb::RedbStore, sqlite::SqliteStore},
    transport::{
        Transport,
        p2p::{self, P2pTransport},
    },
};

use super::{
    Role,
    config::{Backend, Config, Secret},
    metrics::{Kind, Metrics, stat_counters},
};

/// How long a service waits for its chain endpoint to answer at start.
const CHAIN_WAIT: Duration = Duration::from_secs(60);

/// A service's shared context.
#[derive(Debug)]
pub(crate) struct Host {
    /// Which service this is.
    pub(crate) role: Role,
    /// The effective configuration.
    pub(crate) config: Config,
    /// The chain's id (as the endpoint reports it).
    pub(crate) chain_id: u64,
    /// The chain client.
    pub(crate) client: Arc<dyn ChainClient>,
    /// Wall-clock time.
    pub(crate) clock: Arc<dyn Clock>,
    /// The metrics registry.
    pub(crate) metrics: Metrics,
}

/// A joined libp2p network.
#[derive(Debug)]
pub(crate) struct Joined {
    /// The transport.
    pub(crate) transport: Arc<P2pTransport>,
    /// The membership refresher (aborted at stop).
    pub(crate) refresh: JoinHandle<()>,
}

impl Host {
    /// Connects to the chain (waiting up to a minute for it to answer) and checks its id.
    pub(crate) async fn connect(
        role: Role,
        config: Config,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let c = &config.chain;
        if c.rpc_urls.is_empty() {
            bail!("chain.rpc_urls is empty: give at least one HTTP RPC endpoint");
        }
        let failover = FailoverConfig::default()
            .with_attempt_timeout(c.attempt_timeout)
            .with_rounds(c.rounds);
        let client: Arc<dyn ChainClient> =
            Arc::new(FailoverClient::http(&c.rpc_urls, failover).context("chain.rpc_urls")?);
        let deadline = tokio::time::Instant::now() + CHAIN_WAIT;
        let chain_id = loop {
            match client.chain_id().await {
                Ok(id) => break id,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, urls = ?c.rpc_urls, "chain not reachable yet; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("reaching the chain at {:?}", c.rpc_urls));
                }
            }
        };
        if let Some(expected) = c.chain_id
            && expected != chain_id
        {
            bail!(
                "chain.chain_id is {expected} but {} reports chain id {chain_id}",
                c.rpc_urls[0]
            );
        }
        Ok(Self {
            role,
            config,
            chain_id,
            client,
            clock: Arc::new(SystemClock),
            metrics,
        })
    }

    /// A contract address the service needs.
    pub(crate) fn contract(&self, field: &str, value: Option<Address>) -> anyhow::Result<Address> {
        required(self.role, &format!("chain.{field}"), value)
    }

    /// A service address (`network.scheduler`, …) the service needs.
    pub(crate) fn member(&self, field: &str, value: Option<Address>) -> anyhow::Result<Address> {
        required(self.role, &format!("network.{field}"), value)
    }

    /// The WebSocket endpoint: `chain.ws_url`, else the first RPC URL with `ws`.
    pub(crate) fn ws_url(&self) -> String {
        self.config
            .chain
            .ws_url
            .clone()
            .unwrap_or_else(|| self.config.chain.rpc_urls[0].replacen("http", "ws", 1))
    }

    /// Opens the configured store and exposes its task and keeper counts as metrics.
    pub(crate) fn store(&self) -> anyhow::Result<Arc<dyn Store>> {
        let s = &self.config.store;
        if let Some(dir) = s.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let store: Arc<dyn Store> = match s.backend {
            Backend::Sqlite => Arc::new(
                SqliteStore::open(&s.path)
                    .with_context(|| format!("opening the SQLite store {}", s.path.display()))?,
            ),
            Backend::Redb => Arc::new(
                RedbStore::open(&s.path)
                    .with_context(|| format!("opening the redb store {}", s.path.display()))?,
            ),
        };
        let st = store.clone();
        self.metrics.add(move |out| store_samples(st.as_ref(), out));
        Ok(store)
    }

    /// Starts the libp2p transport signing with `signer`. Members: the keepers registered in
    /// `chain.keeper_registry` (refreshed every `network.membership_refresh`) and the service
    /// addresses of `[network]`.
    pub(crate) async fn join(&self, signer: &PrivateKeySigner) -> anyhow::Result<Joined> {
        let n = &self.config.network;
        let registry = self.contract("keeper_registry", self.config.chain.keeper_registry)?;
        let mut services: HashSet<Address> = [n.scheduler, n.aggregator, n.health]
            .into_iter()
            .flatten()
            .collect();
        services.insert(signer.address());
        let members = Arc::new(RegistryMembership::new(
            self.client.clone(),
            registry,
            services,
        ));
        match members.refresh().await {
            Ok(count) => tracing::info!(members = count, "network members read from the registry"),
            Err(e) => {
                tracing::warn!(error = %e, "reading the registry's keepers; retrying in the background")
            }
        }
        let refresh = members.spawn_refresh(n.membership_refresh);
        let config = p2p::Config {
            chain_id: self.chain_id,
            listen: n.listen.clone(),
            bootstrap: n.bootstrap.clone(),
            max_skew: n.max_skew,
            ..p2p::Config::default()
        };
        let transport = Arc::new(
            P2pTransport::start(config, signer.clone(), members.clone(), self.clock.clone())
                .await
                .context("starting the libp2p transport (network.listen, network.bootstrap)")?,
        );
        tracing::info!(
            address = %signer.address(),
            peer_id = %transport.peer_id(),
            listen = ?transport.listen_addrs(),
            "libp2p transport listening"
        );
        let t = transport.clone();
        self.metrics.add(move |out| {
            let s = t.stats();
            stat_counters!(
                out,
                "triggerx_transport",
                "Transport",
                s,
                [
                    received,
                    delivered,
                    malformed,
                    forged,
                    stale,
                    replayed,
                    unknown_sender,
                    lagged
                ]
            );
            out.gauge(
                "triggerx_transport_connected_peers",
                "Peers connected now",
                t.connected_peers() as f64,
            );
            out.gauge(
                "triggerx_transport_known_peers",
                "Members whose signed hello was verified (reachable by address)",
                t.known_peers().len() as f64,
            );
            out.gauge(
                "triggerx_network_registered_keepers",
                "Keepers registered on-chain as of the last membership refresh",
                members.keepers().len() as f64,
            );
        });
        Ok(Joined { transport, refresh })
    }
}

/// `field` or an error saying which service needs it and how to set it.
pub(crate) fn required(role: Role, field: &str, value: Option<Address>) -> anyhow::Result<Address> {
    value.ok_or_else(|| {
        anyhow::anyhow!(
            "{field} is required by `triggerx {}`: set it in the configuration file or as {}",
            role.name(),
            env_name(field)
        )
    })
}

/// The environment variable that sets `field` (`chain.task_hub` → `TRIGGERX__CHAIN__TASK_HUB`).
pub(crate) fn env_name(field: &str) -> String {
    format!(
        "{}{}",
        super::config::ENV_PREFIX,
        field.replace('.', "__").to_ascii_uppercase()
    )
}

/// The private key of `section`: `key` (hex) or `key_file` (a file holding the hex), exactly
/// one of them.
pub(crate) fn load_key(
    section: &str,
    key: Option<&Secret>,
    key_file: Option<&Path>,
) -> anyhow::Result<PrivateKeySigner> {
    let (hex, from) = match (key, key_file) {
        (Some(_), Some(_)) => bail!("set one of {section}.key and {section}.key_file, not both"),
        (None, None) => bail!(
            "{section}.key_file (or {section}.key) is required: set it in the configuration \
             file or as {} / {}",
            env_name(&format!("{section}.key_file")),
            env_name(&format!("{section}.key"))
        ),
        (Some(k), None) => (k.expose().to_owned(), format!("{section}.key")),
        (None, Some(path)) => {
            warn_if_readable_by_others(path);
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{section}.key_file: reading {}", path.display()))?;
            (text, format!("{section}.key_file ({})", path.display()))
        }
    };
    let hex = hex.trim();
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    // The key itself never appears in the message.
    hex.parse::<PrivateKeySigner>()
        .map_err(|_| anyhow::anyhow!("{from} is not a private key (64 hex digits, 0x optional)"))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the key file is readable by group or others (chmod 600 it)");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// Task counts by status and keeper counts, read from the store at scrape time.
fn store_samples(store: &dyn Store, out: &mut super::metrics::Samples) {
    match store.count_tasks_by_status() {
        Ok(counts) => {
            for (status, n) in counts {
                let label = serde_json::to_value(status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("{status:?}"));
                out.push(
                    "triggerx_store_tasks",
                    "Tasks in the store by status",
                    Kind::Gauge,
                    vec![("status".into(), label)],
                    n as f64,
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: counting tasks"),
    }
    for (state, filter) in [
        (
            "registered",
            KeeperFilter {
                registered: Some(true),
                online: None,
            },
        ),
        (
            "online",
            KeeperFilter {
                registered: Some(true),
                online: Some(true),
            },
        ),
    ] {
        match store.list_keepers(&filter) {
            Ok(k) => out.push(
                "triggerx_store_keepers",
                "Keepers in the store: registered, and registered and online",
                Kind::Gauge,
                vec![("state".into(), state.into())],
                k.len() as f64,
            ),
            Err(e) => tracing::warn!(error = %e, "metrics: counting keepers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_load_from_hex_or_a_file_and_never_show_in_errors() {
        let hex = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        let a = load_key("keeper", Some(&Secret::new(hex)), None).unwrap();
        let b = load_key("keeper", Some(&Secret::new(format!("0x{hex}\n"))), None).unwrap();
        assert_eq!(a.address(), b.address());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, format!("0x{hex}\n")).unwrap();
        assert_eq!(
            load_key("keeper", None, Some(&path)).unwrap().address(),
            a.address()
        );

        let bad = format!("{}zz", &hex[..62]);
        let e = load_key("keeper", Some(&Secret::new(bad.clone())), None).unwrap_err();
        assert!(!format!("{e:#}").contains(&bad[..20]), "{e:#}");
        assert!(format!("{e:#}").contains("keeper.key"), "{e:#}");
        let e = load_key("keeper", None, None).unwrap_err();
        assert!(
            format!("{e:#}").contains("TRIGGERX__KEEPER__KEY_FILE"),
            "{e:#}"
        );
        assert!(load_key("keeper", Some(&Secret::new(hex)), Some(&path)).is_err());
    }

    #[test]
    fn a_missing_contract_names_the_field_and_its_variable() {
        let e = required(Role::Keeper, "chain.task_hub", None).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("chain.task_hub") && msg.contains("TRIGGERX__CHAIN__TASK_HUB"),
            "{msg}"
        );
        assert!(msg.contains("triggerx keeper"), "{msg}");
    }
}
