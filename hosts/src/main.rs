//! The `triggerx` command: job tooling and `triggerx devnet` (the whole network in one process);
//! the scheduler and keeper hosts join it as further subcommands.

use std::process::ExitCode;

use clap::Parser;

mod commands;
mod devnet;
mod roles;
mod service;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    commands::run(cli)
}
