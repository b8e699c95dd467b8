//! Command-line parsing and dispatch. Each subcommand lives in its own module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::service::Role;

mod config;
mod devnet;
mod explain;
pub(crate) mod job;
mod service;

/// Exit code for a run that found problems in its input (invalid job specs).
pub(crate) const EXIT_INVALID: u8 = 1;
/// Exit code for usage errors and unreadable files.
pub(crate) const EXIT_USAGE: u8 = 2;

/// TriggerX: a decentralized keeper network that automates on-chain actions.
///
/// A job says: when TRIGGER fires (a time schedule, a contract event, or a condition on a
/// sampled value), call FUNCTION on CONTRACT on CHAIN with ARGUMENTS, until EXPIRY.
/// This command validates and manages job specs (docs/job-spec.md), runs the whole network in
/// one process (`devnet`, docs/devnet.md) or one service per process (`keeper`, `scheduler`,
/// `aggregator`, `registrar`, `health`, docs/services.md).
#[derive(Debug, Parser)]
#[command(
    name = "triggerx",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with job specs (native JSON/TOML, or the original CreateJobData JSON) and with the
    /// jobs of a running network (create, list, pause, resume, delete).
    #[command(subcommand)]
    Job(job::JobCommand),
    /// Run the whole network on a local anvil in one process (see docs/devnet.md).
    Devnet(devnet::DevnetArgs),
    /// The service configuration file: print an example, check a file.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Run a keeper (performer, attester, check-ins) over libp2p.
    #[command(long_about = service::KEEPER_ABOUT, after_long_help = service::ENV_HELP)]
    Keeper(service::ServiceArgs),
    /// Run the scheduler (trigger engines and assigner) over libp2p.
    #[command(long_about = service::SCHEDULER_ABOUT, after_long_help = service::ENV_HELP)]
    Scheduler(service::ServiceArgs),
    /// Run the aggregator (attestations, quorum, on-chain verdicts) over libp2p.
    #[command(long_about = service::AGGREGATOR_ABOUT, after_long_help = service::ENV_HELP)]
    Aggregator(service::ServiceArgs),
    /// Run the registrar (registry logs into the store).
    #[command(long_about = service::REGISTRAR_ABOUT, after_long_help = service::ENV_HELP)]
    Registrar(service::ServiceArgs),
    /// Run the health service (check-ins, online status, alerts) over libp2p.
    #[command(long_about = service::HEALTH_ABOUT, after_long_help = service::ENV_HELP)]
    Health(service::ServiceArgs),
}

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Job(cmd) => job::run(cmd),
        Command::Devnet(args) => devnet::run(args),
        Command::Config(cmd) => config::run(cmd),
        Command::Keeper(args) => service::run(Role::Keeper, args),
        Command::Scheduler(args) => service::run(Role::Scheduler, args),
        Command::Aggregator(args) => service::run(Role::Aggregator, args),
        Command::Registrar(args) => service::run(Role::Registrar, args),
        Command::Health(args) => service::run(Role::Health, args),
    }
}
