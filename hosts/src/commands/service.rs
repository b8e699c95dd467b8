//! `triggerx keeper | scheduler | aggregator | registrar | health`: one service per process
//! (see docs/services.md).

use std::{path::PathBuf, process::ExitCode};

use clap::Args;

use crate::service::{self, Role};

/// What every service takes.
#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// The configuration file (TOML; `triggerx config example` prints every field). Without
    /// it: the defaults plus the TRIGGERX__ environment overrides.
    #[arg(long, short, value_name = "FILE", env = "TRIGGERX_CONFIG")]
    config: Option<PathBuf>,
}

/// The environment-override scheme, shown under every service's `--help`.
pub(crate) const ENV_HELP: &str = "\
Configuration: a TOML file (--config FILE, or TRIGGERX_CONFIG) with environment overrides on top:
  TRIGGERX__<SECTION>__<FIELD>=value   (a double underscore per level of nesting)
  e.g. TRIGGERX__KEEPER__KEY_FILE=/run/secrets/keeper.key
       TRIGGERX__CHAIN__RPC_URLS=http://10.0.0.1:8545,http://10.0.0.2:8545
       TRIGGERX__LOG__FORMAT=json
`triggerx config example` prints a commented full configuration; `triggerx config check FILE`
validates one and prints the effective values (secrets redacted). RUST_LOG overrides log.level.

Runtime: Prometheus metrics on GET /metrics and liveness on GET /healthz at metrics.listen
(default 127.0.0.1:9100). SIGINT or SIGTERM stops the service gracefully (exit 0); a second
signal exits at once. Exit code 2: invalid configuration; 1: the service failed.
See docs/services.md and docs/configuration.md.";

/// `triggerx keeper --help`.
pub(crate) const KEEPER_ABOUT: &str = "\
Run a keeper: the performer, the attester and the check-in client under one key.

The performer executes the tasks the scheduler assigns to this keeper through the TaskHub
(pipelined nonces, EIP-1559 fees with caps, replacement of stuck transactions) and publishes a
signed execution report. The attester re-checks the other keepers' reports against the chain
(trigger evidence, selection, calldata, receipt, window) and signs a verdict for the
aggregator. Check-ins tell the health service the keeper is online.

Needs: [chain] rpc_urls, task_hub, keeper_registry; [keeper] key_file or key (registered in the
KeeperRegistry and funded for gas); [network] scheduler (whose assignments are trusted),
listen and bootstrap peers. No store.";

/// `triggerx scheduler --help`.
pub(crate) const SCHEDULER_ABOUT: &str = "\
Run the scheduler: the time, event and condition engines and the assigner.

The engines turn every trigger occurrence of the store's active jobs into exactly one task;
the assigner selects the performer (stake-weighted, deterministic from the task id, among the
registered keepers that are online), publishes the signed assignment, reassigns to a backup
after scheduler.execution_timeout and follows the task until it is settled.

Needs: [chain] rpc_urls (and ws_url for new-head wake-ups), task_hub, keeper_registry;
[scheduler] key_file or key (its address is network.scheduler); [store] shared with the
registrar, health and aggregator; [network] listen and bootstrap peers.";

/// `triggerx aggregator --help`.
pub(crate) const AGGREGATOR_ABOUT: &str = "\
Run the aggregator: collects the keepers' signed attestations and settles each task.

It checks every attestation's signature and the attester's voting power, decides by
stake-weighted quorum (more than 2/3 approve, more than 1/3 reject), submits the verdict with
the signatures to the KeeperRegistry (verified on-chain) and records it in the store. Only
assignments from network.scheduler are trusted.

Needs: [chain] rpc_urls, keeper_registry; [aggregator] key_file or key (pays for
submitVerdict, so it needs gas; its address is network.aggregator); [network] scheduler,
listen and bootstrap peers; [store].";

/// `triggerx registrar --help`.
pub(crate) const REGISTRAR_ABOUT: &str = "\
Run the registrar: follows the KeeperRegistry, TaskHub and JobRegistry logs into the store.

Confirmed (registrar.confirmations deep), cursor-persisted: keepers registered and removed,
voting power, tasks submitted or rejected on-chain, points credited once per task, jobs
cancelled on-chain. A restart resumes from its cursor.

Needs: [chain] rpc_urls, keeper_registry, task_hub (job_registry to follow cancellations);
[store]. No key and no network: it only reads the chain.";

/// `triggerx health --help`.
pub(crate) const HEALTH_ABOUT: &str = "\
Run the health service: verifies the keepers' signed check-ins and keeps their status.

A registered keeper is online while its check-ins arrive (each later than the last), offline
after health.silence without one; after health.alert_after offline, operators are alerted
through the configured sinks (a webhook, the Telegram Bot API), and told again when it recovers.
Performer selection reads the online status from the store.

Needs: [chain] rpc_urls, keeper_registry (the registered keepers are the members);
[health] key_file or key (its address is network.health), alert sinks; [network] listen and
bootstrap peers; [store] shared with the registrar and the scheduler.";

/// Runs `role`.
pub(crate) fn run(role: Role, args: ServiceArgs) -> ExitCode {
    service::main(role, args.config.as_deref())
}
