//! `triggerx job …`: validating job specs (`validate`, `next`, `explain`), and the jobs of a
//! running network's store (`create`, `list`, `pause`, `resume`, `delete`; see
//! [`store`] and [`create`]).

mod create;
mod store;

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Args, Subcommand};
use triggerx_core::{
    Timestamp,
    abi::{display_event, display_function},
    spec::{self, FileError, ValidationContext},
    types::{Arguments, CatchUp, FireMode, Job, Overlap, Schedule, Trigger, ValueSource},
};

use super::{EXIT_INVALID, EXIT_USAGE};

/// Job subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum JobCommand {
    /// Validate job spec files and print each normalized job.
    ///
    /// Accepts the native spec as .json or .toml, and the original TriggerX CreateJobData
    /// (.json, a single object or the API's array). Exits 0 when every file is valid, 1 when
    /// any spec is invalid (every problem is printed as `<file>: <path>: <reason>`), and 2 for
    /// unreadable files or an unsupported file type.
    Validate(ValidateArgs),
    /// Print the next fire instants of a time job, in UTC and in the job's time zone, without
    /// running anything (the same schedule code the engine uses).
    Next(NextArgs),
    /// Say in plain words what a job watches, when it fires, and what it does.
    Explain(ExplainArgs),
    /// Add a job to a running network; prints its id.
    ///
    /// Validates the spec, registers the job on the devnet's JobRegistry (which assigns its
    /// id), tops up its owner's prepaid TaskHub balance, and stores it as active; the running
    /// scheduler picks it up within its watch interval (1 s). See docs/devnet.md ("Your own
    /// jobs").
    ///
    /// Exits 1 for an invalid spec (errors as `job validate` prints
    /// them) or a failed chain call, 2 for an unreadable file or a missing store.
    Create(create::CreateArgs),
    /// List the jobs in the store, as a table (or `--json`, one job per line).
    List(store::ListArgs),
    /// Pause an active job: the running scheduler stops firing it at once.
    Pause(store::IdArgs),
    /// Resume a paused job: it fires again from its next occurrence.
    ///
    /// A time job follows its catch-up policy for what was due while it was paused.
    Resume(store::IdArgs),
    /// Delete a job (kept in the store as `deleted`): it never fires again.
    Delete(store::IdArgs),
}

/// Arguments of `triggerx job next`.
#[derive(Debug, Args)]
pub(crate) struct NextArgs {
    /// A spec file (.json or .toml) holding a time job.
    #[arg(value_name = "SPEC")]
    file: PathBuf,
    /// Count from this RFC 3339 instant (default: now). The job is validated as if created then.
    #[arg(long, value_name = "RFC3339")]
    from: Option<Timestamp>,
    /// How many instants to print.
    #[arg(long, default_value_t = 10)]
    count: usize,
}

/// Arguments of `triggerx job explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// A spec file (.json or .toml).
    #[arg(value_name = "SPEC")]
    file: PathBuf,
}

/// Arguments of `triggerx job validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Spec files (.json or .toml).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print the normalized jobs as JSON (one document per line) instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs a job subcommand.
pub(crate) fn run(cmd: JobCommand) -> ExitCode {
    match cmd {
        JobCommand::Validate(args) => validate(&args),
        JobCommand::Next(args) => next(&args),
        JobCommand::Explain(args) => explain(&args),
        JobCommand::Create(args) => create::run(&args),
        JobCommand::List(args) => store::list(&args),
        JobCommand::Pause(args) => store::transition(&args, store::Change::Pause),
        JobCommand::Resume(args) => store::transition(&args, store::Change::Resume),
        JobCommand::Delete(args) => store::transition(&args, store::Change::Delete),
    }
}

/// Validates one file for `next`/`explain`, printing errors the way `validate` does.
fn load_one(file: &Path, ctx: &ValidationContext) -> Result<Vec<Job>, ExitCode> {
    let mut err = std::io::stderr().lock();
    match spec::validate_file(file, ctx) {
        Ok(jobs) => Ok(jobs),
        Err(FileError::Invalid(errors)) => {
            for e in &errors.0 {
                let path = if e.path.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", e.path)
                };
                let _ = writeln!(err, "{}: {path}{}", file.display(), e.message);
            }
            Err(ExitCode::from(EXIT_INVALID))
        }
        Err(other) => {
            let _ = writeln!(err, "{}: {other}", file.display());
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

fn next(args: &NextArgs) -> ExitCode {
    let from = args
        .from
        .unwrap_or_else(|| Timestamp::from_secs(Timestamp::now().as_secs()));
    let jobs = match load_one(&args.file, &ValidationContext::new(from)) {
        Ok(jobs) => jobs,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    for job in &jobs {
        let Trigger::Time(t) = &job.trigger else {
            eprintln!(
                "{}: trigger: job {} is a {} job; `job next` lists time jobs only (try `job explain`)",
                args.file.display(),
                job.id,
                job.kind().as_str()
            );
            return ExitCode::from(EXIT_INVALID);
        };
        match super::explain::next_fires(job, t, from, args.count) {
            Ok(fires) => {
                if jobs.len() > 1 {
                    let _ = writeln!(out, "job {} ({}):", job.id, job.title);
                }
                let _ = write!(out, "{}", super::explain::format_fires(t, &fires));
                if fires.len() < args.count {
                    let _ = writeln!(
                        out,
                        "(no further instants{})",
                        job.expires_at
                            .map(|e| format!(" before expiry at {e}"))
                            .unwrap_or_default()
                    );
                }
            }
            Err(e) => {
                eprintln!("{}: trigger: {e}", args.file.display());
                return ExitCode::from(EXIT_INVALID);
            }
        }
    }
    ExitCode::SUCCESS
}

fn explain(args: &ExplainArgs) -> ExitCode {
    let now = Timestamp::from_secs(Timestamp::now().as_secs());
    let jobs = match load_one(&args.file, &ValidationContext::new(now)) {
        Ok(jobs) => jobs,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    for job in &jobs {
        let _ = writeln!(out, "{}", super::explain::explain(job, now));
    }
    ExitCode::SUCCESS
}

fn validate(args: &ValidateArgs) -> ExitCode {
    let ctx = ValidationContext::new(Timestamp::from_secs(Timestamp::now().as_secs()));
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let mut worst = 0u8;
    for file in &args.files {
        let shown = file.display();
        match spec::validate_file(file, &ctx) {
            Ok(jobs) => {
                for job in &jobs {
                    let printed = if args.json {
                        print_json(&mut out, file, job)
                    } else {
                        print_text(&mut out, file, job)
                    };
                    if printed.is_err() {
                        return ExitCode::from(EXIT_USAGE);
                    }
                }
            }
            Err(FileError::Invalid(errors)) => {
                worst = worst.max(EXIT_INVALID);
                for e in &errors.0 {
                    let path = if e.path.is_empty() {
                        String::new()
                    } else {
                        format!("{}: ", e.path)
                    };
                    let _ = writeln!(err, "{shown}: {path}{}", e.message);
                }
            }
            Err(other) => {
                worst = worst.max(EXIT_USAGE);
                let _ = writeln!(err, "{shown}: {other}");
            }
        }
    }
    ExitCode::from(worst)
}

fn print_json(out: &mut impl Write, file: &Path, job: &Job) -> std::io::Result<()> {
    let doc = serde_json::json!({
        "file": file.display().to_string(),
        "spec": spec::to_spec(job),
        "job": job,
    });
    writeln!(out, "{doc}")
}

fn print_text(out: &mut impl Write, file: &Path, job: &Job) -> std::io::Result<()> {
    writeln!(out, "{}: ok", file.display())?;
    writeln!(out, "  id          {}", job.id)?;
    writeln!(out, "  title       {}", job.title)?;
    writeln!(out, "  owner       {}", job.owner)?;
    writeln!(out, "  trigger     {}", describe_trigger(&job.trigger))?;
    writeln!(out, "  recurring   {}", job.recurring)?;
    match job.expires_at {
        Some(t) => writeln!(out, "  expires     {t}")?,
        None => writeln!(out, "  expires     never")?,
    }
    let a = &job.action;
    writeln!(
        out,
        "  action      call {} on {} (chain {})",
        display_function(&a.function),
        a.target,
        a.chain_id
    )?;
    writeln!(out, "  selector    0x{}", hex(&a.selector()))?;
    if !a.value.is_zero() {
        writeln!(out, "  value       {} wei", a.value)?;
    }
    if let Some(g) = a.gas_limit {
        writeln!(out, "  gas limit   {g}")?;
    }
    match &a.arguments {
        Arguments::Static { calldata, .. } => writeln!(out, "  calldata    {calldata}")?,
        Arguments::Dynamic { script } => {
            writeln!(out, "  arguments   computed by script {}", script.url)?
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn describe_trigger(t: &Trigger) -> String {
    match t {
        Trigger::Time(tt) => {
            let schedule = match &tt.schedule {
                Schedule::Interval { every_secs } => {
                    format!("every {}", spec::format_duration(every_secs * 1000))
                }
                Schedule::Cron {
                    expression,
                    timezone,
                } => format!("cron \"{expression}\" in {timezone}"),
                Schedule::At { instants } => {
                    format!(
                        "at {}",
                        instants
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            };
            let catch_up = match tt.catch_up {
                CatchUp::Skip => "skip".to_owned(),
                CatchUp::FireOnce => "fire once".to_owned(),
                CatchUp::FireAll { window_secs } => format!(
                    "fire all within {}",
                    spec::format_duration(window_secs * 1000)
                ),
            };
            let overlap = match tt.overlap {
                Overlap::Skip => "skip",
                Overlap::Allow => "allow",
            };
            let start = tt.start.map(|s| format!(", from {s}")).unwrap_or_default();
            format!("time: {schedule}{start}; catch-up {catch_up}; overlap {overlap}")
        }
        Trigger::Event(ev) => {
            let addrs: Vec<String> = ev.addresses.iter().map(ToString::to_string).collect();
            let mut s = format!(
                "event: {} from {} on chain {}, topic0 {}, {} confirmation(s)",
                display_event(&ev.event),
                addrs.join(" or "),
                ev.chain_id,
                ev.topic0(),
                ev.confirmations
            );
            for f in &ev.topics {
                let words: Vec<String> = f.any_of.iter().map(ToString::to_string).collect();
                s.push_str(&format!(
                    "; topic{} ({}) is {}",
                    f.position,
                    f.name,
                    words.join(" or ")
                ));
            }
            for c in &ev.conditions {
                s.push_str(&format!("; where {} {}", c.field, c.comparison));
            }
            s
        }
        Trigger::Condition(c) => {
            let source = match &c.source {
                ValueSource::Http { url, json_path, .. } => {
                    format!(
                        "GET {url}{}",
                        json_path
                            .as_ref()
                            .map(|p| format!(" at {p}"))
                            .unwrap_or_default()
                    )
                }
                ValueSource::ViewCall {
                    chain_id,
                    address,
                    function,
                    output_index,
                    decimals,
                    ..
                } => format!(
                    "{} on {address} (chain {chain_id}), output {output_index}, {decimals} decimals",
                    display_function(function)
                ),
                ValueSource::PriceFeed {
                    chain_id,
                    address,
                    decimals,
                } => {
                    format!("price feed {address} (chain {chain_id}), {decimals} decimals")
                }
            };
            let mode = match c.mode {
                FireMode::Edge => "edge".to_owned(),
                FireMode::Level { cooldown_secs } => format!(
                    "level, cooldown {}",
                    spec::format_duration(cooldown_secs * 1000)
                ),
            };
            format!(
                "condition: {source} {} every {} ({mode})",
                c.comparison,
                spec::format_duration(c.poll_interval_ms)
            )
        }
    }
}
