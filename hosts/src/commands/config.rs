//! `triggerx config example | check`: the service configuration file.

use std::{path::PathBuf, process::ExitCode};

use clap::Subcommand;

use crate::service::{
    Role,
    config::{Config, EXAMPLE},
    run,
};

/// The service configuration: one TOML file for every service, plus `TRIGGERX__…` environment
/// overrides (see docs/configuration.md).
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print a commented configuration with every field at its default.
    Example,
    /// Validate FILE with the environment's overrides applied and print the effective
    /// configuration (secrets redacted). Exit code 1 when it is invalid.
    Check {
        /// The configuration file.
        file: PathBuf,
        /// Also check that it has what this service needs (its key loads, its contracts and
        /// service addresses are set), without connecting to anything.
        #[arg(long, value_enum)]
        service: Option<Role>,
    },
}

/// Runs a `config` subcommand.
pub(crate) fn run(cmd: ConfigCommand) -> ExitCode {
    match cmd {
        ConfigCommand::Example => {
            print!("{EXAMPLE}");
            ExitCode::SUCCESS
        }
        ConfigCommand::Check { file, service } => match Config::load(Some(&file), std::env::vars())
            .and_then(|c| {
                if let Some(role) = service {
                    run::check(role, &c)?;
                }
                Ok(c)
            }) {
            Ok(config) => {
                print!("{}", config.to_toml_redacted());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(super::EXIT_INVALID)
            }
        },
    }
}
