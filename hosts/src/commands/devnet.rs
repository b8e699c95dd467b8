//! `triggerx devnet`: the whole keeper network in one process (see docs/devnet.md).

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::Args;

use crate::devnet::{self, Options};

/// Runs anvil (or connects to `--rpc`), deploys the contracts, registers and funds the keepers
/// and runs scheduler, keepers, aggregator and health over the in-process transport.
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Use this chain (HTTP RPC of an anvil with its default dev accounts) instead of starting
    /// anvil. A data directory is tied to its chain: a second run resumes it (its own anvil's
    /// chain is kept in the data directory; a `--rpc` chain must still run).
    #[arg(long, value_name = "URL")]
    rpc: Option<String>,
    /// WebSocket RPC for new-head notifications with `--rpc` (default: the HTTP URL with ws://).
    #[arg(long, value_name = "URL", requires = "rpc")]
    ws: Option<String>,
    /// Number of keepers to register and run.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=64))]
    keepers: u16,
    /// anvil's block time (e.g. `1s`, `500ms`), when the devnet starts anvil.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    block_time: Duration,
    /// Where the SQLite store and the devnet checkpoint live.
    #[arg(long, default_value = "./data", value_name = "DIR")]
    data_dir: PathBuf,
    /// Delete the data directory's store and kept chain first (start over on a new chain).
    #[arg(long)]
    reset: bool,
    /// Create one job of each kind on the demo contracts and keep them firing.
    #[arg(long)]
    demo: bool,
    /// Stop after this long (e.g. `45s`, `2m`): triggers stop, in-flight tasks settle, exit
    /// (Ctrl-C and SIGTERM stop the same way; a second one stops at once).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    exit_after: Option<Duration>,
    /// How long in-flight tasks may take to settle when stopping.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    drain: Duration,
    /// Write a JSON summary of every job and task here on exit.
    #[arg(long, value_name = "FILE.json")]
    summary: Option<PathBuf>,
    /// How long a performer has to report an execution before the task is assigned to a
    /// backup performer.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    execution_timeout: Duration,
    /// Fault drill: kill one keeper (its performer, attester and check-ins at once, as a crash)
    /// this long after the start; its tasks go to backups after `--execution-timeout`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    kill_keeper_after: Option<Duration>,
    /// Poll the engines at the original TriggerX's intervals instead (time every 30 s, events
    /// and conditions every 1 s, no new-head wake-ups): the latency benchmark's baseline.
    #[arg(long)]
    baseline_polling: bool,
}

/// Parses `1s`, `500ms`, `2m`, `1h` or a bare number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 1s, 500ms, 2m)"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{s}` (use ms, s, m or h)"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{s}` is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Runs the devnet until Ctrl-C or `--exit-after`.
pub(crate) fn run(args: DevnetArgs) -> ExitCode {
    let options = Options {
        rpc: args.rpc,
        ws: args.ws,
        keepers: usize::from(args.keepers),
        block_time: args.block_time,
        data_dir: args.data_dir,
        baseline_polling: args.baseline_polling,
        reset: args.reset,
        demo: args.demo,
        exit_after: args.exit_after,
        drain: args.drain,
        summary: args.summary,
        execution_timeout: args.execution_timeout,
        kill_keeper_after: args.kill_keeper_after,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(devnet::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3d").is_err());
    }
}
