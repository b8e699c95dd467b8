//! The schema: one section per concern, every field with its default.
//!
//! Durations are written as text (`500ms`, `30s`, `5m`, `1h30m`) or integer seconds.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use super::Secret;

/// Serde for [`Duration`] as humane text (`30s`, `5m`, `250ms`) or integer seconds.
pub(crate) mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use triggerx_core::spec::{DurationValue, format_duration, parse_duration};

    /// Writes `d` as text in the largest exact units.
    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        s.serialize_str(&format_duration(ms))
    }

    /// Reads text or integer seconds.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = DurationValue::deserialize(d)?;
        parse_duration(&v)
            .map(Duration::from_millis)
            .map_err(D::Error::custom)
    }
}

/// Every service's configuration. Each service reads the sections it needs and ignores the
/// others, so one file can serve a whole machine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// The chain: RPC endpoints and contracts.
    pub(crate) chain: Chain,
    /// The libp2p network and its members.
    pub(crate) network: Network,
    /// The shared store.
    pub(crate) store: Store,
    /// The Prometheus endpoint.
    pub(crate) metrics: Metrics,
    /// Logging.
    pub(crate) log: Log,
    /// `triggerx keeper`.
    pub(crate) keeper: Keeper,
    /// `triggerx scheduler`.
    pub(crate) scheduler: Scheduler,
    /// `triggerx aggregator`.
    pub(crate) aggregator: Aggregator,
    /// `triggerx registrar`.
    pub(crate) registrar: Registrar,
    /// `triggerx health`.
    pub(crate) health: Health,
}

/// `[chain]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Chain {
    /// Expected chain id; checked against the endpoint's. Read from the chain when absent.
    pub(crate) chain_id: Option<u64>,
    /// HTTP RPC endpoints, tried in order (failover).
    pub(crate) rpc_urls: Vec<String>,
    /// WebSocket endpoint for new-head notifications (default: the first RPC URL with `ws`).
    pub(crate) ws_url: Option<String>,
    /// The `TaskHub`.
    pub(crate) task_hub: Option<Address>,
    /// The `KeeperRegistry`.
    pub(crate) keeper_registry: Option<Address>,
    /// The `JobRegistry` (the registrar follows its cancellations).
    pub(crate) job_registry: Option<Address>,
    /// Time allowed for one RPC attempt on one endpoint.
    #[serde(with = "duration")]
    pub(crate) attempt_timeout: Duration,
    /// Times every endpoint is tried before a call fails.
    pub(crate) rounds: u32,
}

impl Default for Chain {
    fn default() -> Self {
        Self {
            chain_id: None,
            rpc_urls: vec!["http://127.0.0.1:8545".into()],
            ws_url: None,
            task_hub: None,
            keeper_registry: None,
            job_registry: None,
            attempt_timeout: Duration::from_secs(5),
            rounds: 3,
        }
    }
}

/// `[network]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Network {
    /// libp2p listen multiaddresses.
    pub(crate) listen: Vec<String>,
    /// Peers to dial at start (multiaddresses).
    pub(crate) bootstrap: Vec<String>,
    /// The scheduler's address: its assignments are the ones keepers and the aggregator trust.
    pub(crate) scheduler: Option<Address>,
    /// The aggregator's transport address (a member of the network).
    pub(crate) aggregator: Option<Address>,
    /// The health service's transport address (a member of the network).
    pub(crate) health: Option<Address>,
    /// Accepted clock difference of a signed message (replay window).
    #[serde(with = "duration")]
    pub(crate) max_skew: Duration,
    /// How often the registered keepers are re-read from the registry.
    #[serde(with = "duration")]
    pub(crate) membership_refresh: Duration,
}

impl Default for Network {
    fn default() -> Self {
        Self {
            listen: vec!["/ip4/0.0.0.0/tcp/4001".into()],
            bootstrap: Vec::new(),
            scheduler: None,
            aggregator: None,
            health: None,
            max_skew: Duration::from_secs(30),
            membership_refresh: Duration::from_secs(30),
        }
    }
}

/// The storage backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Backend {
    /// SQLite (WAL): several processes may share one file.
    #[default]
    Sqlite,
    /// redb: one process per file.
    Redb,
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Store {
    /// The backend.
    pub(crate) backend: Backend,
    /// The database file.
    pub(crate) path: PathBuf,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            path: PathBuf::from("data/triggerx.sqlite"),
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Metrics {
    /// Serve `/metrics` and `/healthz`.
    pub(crate) enabled: bool,
    /// Where.
    pub(crate) listen: SocketAddr,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 9100)),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Log {
    /// A `tracing` filter (`info`, `warn,triggerx_keeper=debug`); `RUST_LOG` wins when set.
    pub(crate) level: String,
    /// `text` or `json`.
    pub(crate) format: LogFormat,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// `[keeper]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Keeper {
    /// The keeper's private key (hex); prefer `key_file` or `TRIGGERX__KEEPER__KEY`.
    pub(crate) key: Option<Secret>,
    /// A file holding the private key (hex).
    pub(crate) key_file: Option<PathBuf>,
    /// Time between check-ins.
    #[serde(with = "duration")]
    pub(crate) checkin_interval: Duration,
    /// The transaction engine.
    pub(crate) engine: Engine,
    /// The attester.
    pub(crate) attester: Attester,
}

impl Default for Keeper {
    fn default() -> Self {
        Self {
            key: None,
            key_file: None,
            checkin_interval: Duration::from_secs(60),
            engine: Engine::default(),
            attester: Attester::default(),
        }
    }
}

/// `[keeper.engine]`: the performer's transaction engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Engine {
    /// Blocks that must include a transaction before it is reported.
    pub(crate) confirmations: u64,
    /// Not mined this long → replaced with higher fees.
    #[serde(with = "duration")]
    pub(crate) stuck_after: Duration,
    /// Fee bump per replacement, percent (at least 10).
    pub(crate) bump_percent: u64,
    /// Replacements per nonce before only waiting.
    pub(crate) max_replacements: u32,
    /// Fee cap, gwei.
    pub(crate) max_fee_gwei: u64,
    /// Smallest priority fee, gwei.
    pub(crate) min_priority_fee_gwei: u64,
    /// Gas limit = estimate × (100 + this) / 100, capped by the job's gas limit.
    pub(crate) gas_margin_percent: u64,
    /// Unconfirmed transactions at once.
    pub(crate) max_in_flight: usize,
    /// Time allowed for one RPC call.
    #[serde(with = "duration")]
    pub(crate) rpc_timeout: Duration,
    /// Wait for a receipt at most this long.
    #[serde(with = "duration")]
    pub(crate) receipt_timeout: Duration,
}

impl Default for Engine {
    fn default() -> Self {
        let d = triggerx_keeper::performer::Config::default();
        Self {
            confirmations: d.confirmations,
            stuck_after: d.stuck_after,
            bump_percent: d.bump_percent,
            max_replacements: d.max_replacements,
            max_fee_gwei: u64::try_from(d.max_fee_per_gas / GWEI).unwrap_or(u64::MAX),
            min_priority_fee_gwei: u64::try_from(d.min_priority_fee_per_gas / GWEI)
                .unwrap_or(u64::MAX),
            gas_margin_percent: d.gas_margin_percent,
            max_in_flight: d.max_in_flight,
            rpc_timeout: d.rpc_timeout,
            receipt_timeout: d.receipt_timeout,
        }
    }
}

/// One gwei in wei.
pub(crate) const GWEI: u128 = 1_000_000_000;

impl Engine {
    /// The library configuration these settings give.
    pub(crate) fn to_library(&self) -> triggerx_keeper::performer::Config {
        triggerx_keeper::performer::Config {
            confirmations: self.confirmations,
            stuck_after: self.stuck_after,
            bump_percent: self.bump_percent,
            max_replacements: self.max_replacements,
            max_fee_per_gas: u128::from(self.max_fee_gwei) * GWEI,
            min_priority_fee_per_gas: u128::from(self.min_priority_fee_gwei) * GWEI,
            gas_margin_percent: self.gas_margin_percent,
            max_in_flight: self.max_in_flight,
            rpc_timeout: self.rpc_timeout,
            receipt_timeout: self.receipt_timeout,
            ..triggerx_keeper::performer::Config::default()
        }
    }
}

/// `[keeper.attester]`: how much slack an execution gets, and the checking service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Attester {
    /// Time tasks: due instant → execution block timestamp.
    #[serde(with = "duration")]
    pub(crate) time_window: Duration,
    /// Event tasks: confirming block → execution.
    #[serde(with = "duration")]
    pub(crate) event_window: Duration,
    /// Condition tasks: sample → execution.
    #[serde(with = "duration")]
    pub(crate) condition_window: Duration,
    /// Accepted clock difference between the scheduler and the chain.
    #[serde(with = "duration")]
    pub(crate) clock_skew: Duration,
    /// How long a report waits for its assignment.
    #[serde(with = "duration")]
    pub(crate) assignment_wait: Duration,
    /// Reports checked at once.
    pub(crate) max_concurrent: usize,
    /// Require every job to match the spec hash its owner registered in the `JobRegistry`.
    pub(crate) require_spec_hash: bool,
}

impl Default for Attester {
    fn default() -> Self {
        let c = triggerx_keeper::attester::Config::default();
        let s = triggerx_keeper::attester::ServiceConfig::default();
        Self {
            time_window: c.time_window,
            event_window: c.event_window,
            condition_window: c.condition_window,
            clock_skew: c.clock_skew,
            assignment_wait: s.assignment_wait,
            max_concurrent: s.max_concurrent,
            require_spec_hash: c.require_spec_hash,
        }
    }
}

/// `[scheduler]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Scheduler {
    /// The scheduler's transport key (hex); its address is `network.scheduler`.
    pub(crate) key: Option<Secret>,
    /// A file holding the key (hex).
    pub(crate) key_file: Option<PathBuf>,
    /// Time a performer has to report before a backup is assigned.
    #[serde(with = "duration")]
    pub(crate) execution_timeout: Duration,
    /// Event engine: head poll interval (WebSocket new heads wake it earlier).
    #[serde(with = "duration")]
    pub(crate) event_poll: Duration,
    /// Event engine: subscribe to new heads over `chain.ws_url`.
    pub(crate) new_heads: bool,
    /// Condition engine: time allowed for one source fetch.
    #[serde(with = "duration")]
    pub(crate) fetch_timeout: Duration,
    /// Condition engine: largest source response, bytes.
    pub(crate) max_response_bytes: usize,
}

impl Default for Scheduler {
    fn default() -> Self {
        let s = crate::roles::scheduler::Settings::new(0, Address::ZERO);
        Self {
            key: None,
            key_file: None,
            execution_timeout: s.execution_timeout,
            event_poll: s.event_poll,
            new_heads: true,
            fetch_timeout: s.fetch_timeout,
            max_response_bytes: s.fetch_limit,
        }
    }
}

/// `[aggregator]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Aggregator {
    /// The aggregator's key (hex): signs on the transport and pays for `submitVerdict`.
    pub(crate) key: Option<Secret>,
    /// A file holding the key (hex).
    pub(crate) key_file: Option<PathBuf>,
    /// A task with votes but no verdict is given up after this.
    #[serde(with = "duration")]
    pub(crate) collect_timeout: Duration,
    /// … or this long after no quorum is reachable.
    #[serde(with = "duration")]
    pub(crate) linger_after_impossible: Duration,
    /// Wait for the verdict transaction's receipt at most this long.
    #[serde(with = "duration")]
    pub(crate) receipt_timeout: Duration,
    /// Voting-power cache lifetime.
    #[serde(with = "duration")]
    pub(crate) power_ttl: Duration,
}

impl Default for Aggregator {
    fn default() -> Self {
        Self {
            key: None,
            key_file: None,
            collect_timeout: Duration::from_secs(600),
            linger_after_impossible: Duration::from_secs(30),
            receipt_timeout: Duration::from_secs(60),
            power_ttl: Duration::from_secs(2),
        }
    }
}

/// `[registrar]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Registrar {
    /// Head poll interval.
    #[serde(with = "duration")]
    pub(crate) poll_interval: Duration,
    /// Blocks a log must be buried under before it is applied.
    pub(crate) confirmations: u64,
    /// Most blocks per `eth_getLogs`.
    pub(crate) max_block_range: u64,
    /// Where a registrar without a cursor starts (the registry's deployment block).
    pub(crate) start_block: u64,
}

impl Default for Registrar {
    fn default() -> Self {
        let c = triggerx_scheduler::registrar::Config::new(Address::ZERO, Address::ZERO);
        Self {
            poll_interval: Duration::from_secs(1),
            confirmations: c.confirmations,
            max_block_range: c.max_block_range,
            start_block: c.start_block,
        }
    }
}

/// `[health]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Health {
    /// The health service's transport key (hex); its address is `network.health`.
    pub(crate) key: Option<Secret>,
    /// A file holding the key (hex).
    pub(crate) key_file: Option<PathBuf>,
    /// No check-in this long → offline.
    #[serde(with = "duration")]
    pub(crate) silence: Duration,
    /// Offline this long → alert.
    #[serde(with = "duration")]
    pub(crate) alert_after: Duration,
    /// Alerts are POSTed here as JSON.
    pub(crate) webhook_url: Option<Secret>,
    /// Alerts are sent through the Telegram Bot API.
    pub(crate) telegram: Option<Telegram>,
}

impl Default for Health {
    fn default() -> Self {
        let c = triggerx_scheduler::health::Config::default();
        Self {
            key: None,
            key_file: None,
            silence: c.silence,
            alert_after: c.alert_after,
            webhook_url: None,
            telegram: None,
        }
    }
}

/// `[health.telegram]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Telegram {
    /// The Bot API's base URL.
    #[serde(default = "telegram_base_url")]
    pub(crate) base_url: String,
    /// The bot token.
    pub(crate) token: Secret,
    /// The chat alerts go to (a number or `@channel`).
    #[serde(deserialize_with = "string_or_integer")]
    pub(crate) chat_id: String,
}

fn telegram_base_url() -> String {
    triggerx_scheduler::health::TelegramSink::DEFAULT_BASE_URL.to_owned()
}

/// A string, or an integer read as its decimal text (chat ids).
fn string_or_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        S(String),
        I(i64),
    }
    Ok(match Either::deserialize(d)? {
        Either::S(s) => s,
        Either::I(i) => i.to_string(),
    })
}
