//! `triggerx job next` and `triggerx job explain`: see what a job will do before trusting it.
//! Both use the engines' own code paths (`triggerx_core::schedule`, the validated `Job`).

use std::fmt::Write as _;

use triggerx_core::{
    Timestamp,
    abi::{display_event, display_function},
    schedule::{CompiledSchedule, ScheduleError},
    spec,
    types::{
        Arguments, CatchUp, FireMode, Job, Overlap, Schedule, TimeTrigger, Trigger, ValueSource,
    },
};

/// The next `count` fire instants of a time job from `from`, stopping at its expiry.
pub(crate) fn next_fires(
    job: &Job,
    trigger: &TimeTrigger,
    from: Timestamp,
    count: usize,
) -> Result<Vec<Timestamp>, ScheduleError> {
    let schedule = CompiledSchedule::compile(trigger, job.created_at)?;
    let mut fires = schedule.upcoming(from, count);
    if let Some(exp) = job.expires_at {
        fires.retain(|t| *t < exp);
    }
    Ok(fires)
}

/// One line per instant: UTC, then the job's zone.
pub(crate) fn format_fires(trigger: &TimeTrigger, fires: &[Timestamp]) -> String {
    let tz = match &trigger.schedule {
        Schedule::Cron { timezone, .. } => triggerx_core::schedule::parse_timezone(timezone).ok(),
        _ => None,
    };
    let mut out = String::new();
    for t in fires {
        match tz {
            Some(tz) => {
                let local = t.to_datetime().with_timezone(&tz);
                let _ = writeln!(out, "{t}  {}", local.format("%Y-%m-%d %H:%M:%S %Z (%:z)"));
            }
            None => {
                let _ = writeln!(out, "{t}");
            }
        }
    }
    out
}

/// A plain-words explanation of what a job watches, when it fires and what it does.
pub(crate) fn explain(job: &Job, now: Timestamp) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Job {} \"{}\", owned by {}.",
        job.id, job.title, job.owner
    );
    match &job.trigger {
        Trigger::Time(t) => explain_time(&mut s, job, t, now),
        Trigger::Event(ev) => {
            let addrs: Vec<String> = ev.addresses.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                s,
                "It watches chain {} for the event {} emitted by {}.",
                ev.chain_id,
                display_event(&ev.event),
                addrs.join(" or ")
            );
            let _ = writeln!(s, "  topic0 (the event selector) must be {}.", ev.topic0());
            for f in &ev.topics {
                let words: Vec<String> = f.any_of.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    s,
                    "  topic{} (indexed parameter \"{}\") must be one of: {}.",
                    f.position,
                    f.name,
                    words.join(", ")
                );
            }
            for c in &ev.conditions {
                let _ = writeln!(
                    s,
                    "  the decoded field \"{}\" must be {}.",
                    c.field, c.comparison
                );
            }
            let _ = writeln!(
                s,
                "Each matching log fires once, after {} confirmation(s) (blocks on top of the log's \
                 block), and only while that block is still canonical; a log from a block \
                 orphaned by a reorg never fires.",
                ev.confirmations
            );
            let _ = writeln!(
                s,
                "{}",
                if job.recurring {
                    "It keeps firing for every matching log until it expires."
                } else {
                    "It fires for the first matching log only, then completes."
                }
            );
        }
        Trigger::Condition(c) => {
            let source = match &c.source {
                ValueSource::Http {
                    url,
                    json_path,
                    headers,
                } => {
                    let path = json_path.as_deref().unwrap_or("$ (the whole body)");
                    let hdr = if headers.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " with headers {}",
                            headers.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    };
                    format!("an HTTP GET of {url}{hdr}, reading the number at {path}")
                }
                ValueSource::ViewCall {
                    chain_id,
                    address,
                    function,
                    output_index,
                    decimals,
                    ..
                } => {
                    format!(
                        "the view call {} on {address} (chain {chain_id}), reading output {output_index} scaled by 10^-{decimals}",
                        display_function(function)
                    )
                }
                ValueSource::PriceFeed {
                    chain_id,
                    address,
                    decimals,
                } => format!(
                    "the price feed latestRoundData().answer of {address} (chain {chain_id}), scaled by 10^-{decimals}"
                ),
            };
            let _ = writeln!(
                s,
                "It samples {source} every {} (on a fixed grid since the epoch, one sample per round).",
                spec::format_duration(c.poll_interval_ms)
            );
            let _ = writeln!(
                s,
                "The value, compared exactly as a decimal, must be {}.",
                c.comparison
            );
            let _ = match c.mode {
                FireMode::Edge => writeln!(
                    s,
                    "It fires when the comparison becomes true (false → true), once per crossing."
                ),
                FireMode::Level { cooldown_secs } => writeln!(
                    s,
                    "It fires on every sample where the comparison holds, at most once every {}.",
                    spec::format_duration(cooldown_secs * 1000)
                ),
            };
            let _ = writeln!(
                s,
                "A failed fetch or an unreadable value is retried, then the sample is skipped; it is never read as a value."
            );
        }
    }
    if let Some(e) = job.expires_at {
        let _ = writeln!(
            s,
            "It expires at {e}; nothing fires at or after that instant."
        );
    } else {
        let _ = writeln!(s, "It never expires.");
    }
    let a = &job.action;
    let _ = writeln!(
        s,
        "When it fires, a keeper calls {} on {} (chain {}) through the task hub{}{}.",
        display_function(&a.function),
        a.target,
        a.chain_id,
        if a.value.is_zero() {
            String::new()
        } else {
            format!(", sending {} wei", a.value)
        },
        a.gas_limit
            .map(|g| format!(", with at most {g} gas"))
            .unwrap_or_default()
    );
    let _ = match &a.arguments {
        Arguments::Static { calldata, .. } => writeln!(s, "  calldata: {calldata}"),
        Arguments::Dynamic { script } => {
            writeln!(
                s,
                "  its arguments are computed by the script {}",
                script.url
            )
        }
    };
    s
}

fn explain_time(s: &mut String, job: &Job, t: &TimeTrigger, now: Timestamp) {
    let what = match &t.schedule {
        Schedule::Interval { every_secs } => {
            format!("every {}", spec::format_duration(every_secs * 1000))
        }
        Schedule::Cron {
            expression,
            timezone,
        } => {
            format!(
                "on the cron schedule \"{expression}\" (sec min hour day month weekday) in {timezone}"
            )
        }
        Schedule::At { instants } => format!("at {} specific instant(s)", instants.len()),
    };
    let _ = writeln!(s, "It fires {what}.");
    if let Some(start) = t.start {
        let _ = writeln!(s, "  not before {start}.");
    }
    let _ = match t.catch_up {
        CatchUp::Skip => writeln!(
            s,
            "  Instants missed while the scheduler was down are skipped."
        ),
        CatchUp::FireOnce => writeln!(
            s,
            "  Instants missed while the scheduler was down fire once, for the latest of them."
        ),
        CatchUp::FireAll { window_secs } => writeln!(
            s,
            "  Instants missed while the scheduler was down fire each, if at most {} old.",
            spec::format_duration(window_secs * 1000)
        ),
    };
    let _ = match t.overlap {
        Overlap::Skip => writeln!(
            s,
            "  An instant due while the previous task is unsettled is skipped."
        ),
        Overlap::Allow => writeln!(
            s,
            "  An instant due while the previous task is unsettled still fires."
        ),
    };
    match next_fires(job, t, now, 3) {
        Ok(fires) if !fires.is_empty() => {
            let _ = writeln!(s, "  Next fires:");
            for line in format_fires(t, &fires).lines() {
                let _ = writeln!(s, "    {line}");
            }
        }
        Ok(_) => {
            let _ = writeln!(s, "  It has no future fire instant.");
        }
        Err(e) => {
            let _ = writeln!(s, "  Its schedule cannot be evaluated: {e}");
        }
    }
}
