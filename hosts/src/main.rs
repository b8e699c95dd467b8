//! The `triggerx` command: job tooling, `triggerx devnet` (the whole network in one process)
//! and the service hosts (`triggerx keeper | scheduler | aggregator | registrar | health`, one
//! role per process over libp2p).

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
