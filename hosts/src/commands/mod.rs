//! Command-line parsing and dispatch. Each subcommand lives in its own module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod config;
mod devnet;
mod explain;
pub(crate) mod job;

/// Exit code for a run that found problems in its input (invalid job specs).
pub(crate) const EXIT_INVALID: u8 = 1;
/// Exit code for usage errors and unreadable files.
pub(crate) const EXIT_USAGE: u8 = 2;

/// TriggerX: a decentralized keeper network that automates on-chain actions.
///
/// A job says: when TRIGGER fires (a time schedule, a contract event, or a condition on a
/// sampled value), call FUNCTION on CONTRACT on CHAIN with ARGUMENTS, until EXPIRY.
/// This command validates job specs; see docs/job-spec.md for the format.
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
    /// Work with job specs (native JSON/TOML, or the original CreateJobData JSON).
    #[command(subcommand)]
    Job(job::JobCommand),
    /// Run the whole network on a local anvil in one process (see docs/devnet.md).
    Devnet(devnet::DevnetArgs),
    /// The service configuration file: print an example, check a file.
    #[command(subcommand)]
    Config(config::ConfigCommand),
}

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Job(cmd) => job::run(cmd),
        Command::Devnet(args) => devnet::run(args),
        Command::Config(cmd) => config::run(cmd),
    }
}
