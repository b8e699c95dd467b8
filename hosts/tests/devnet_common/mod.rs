//! What the devnet end-to-end tests share: running the built `triggerx devnet`, reading its
//! summary, and the checks on the summary and on the chain.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses part of the helpers"
)]

use std::{
    collections::{HashMap, HashSet},
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use serde_json::Value;
use triggerx_core::chain::{
    anvil::Anvil,
    contracts::{Counter, KeeperRegistry, TaskHub},
};

/// A safety net only: runs end by themselves (`--exit-after`, a signal) well before this.
pub const WATCHDOG: Duration = Duration::from_secs(300);

/// Runs `triggerx devnet` with `args`; returns (exit success, stdout, stderr).
pub fn devnet(args: &[&str]) -> (bool, String, String) {
    Running::spawn(args).wait(WATCHDOG)
}

/// A `triggerx devnet` process whose output is collected while it runs.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts `triggerx devnet <args>` with piped (not terminal) output.
    pub fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_triggerx"))
            .arg("devnet")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn triggerx");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let lines = stdout.clone();
        let text = stderr.clone();
        let readers = vec![
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            }),
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let mut t = text.lock().unwrap();
                    t.push_str(&line);
                    t.push('\n');
                }
            }),
        ];
        Self {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// Waits until `n` stdout lines contain `needle`; panics (after killing the process) when
    /// that takes longer than `timeout` or the process exits first.
    pub fn wait_for(&mut self, needle: &str, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self
                .stdout
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains(needle))
                .count();
            if seen >= n {
                return;
            }
            let exited = self.child.try_wait().unwrap().is_some();
            if exited || Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "waiting for {n} lines with {needle:?} (exited: {exited})\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `signal` (`INT`, `TERM`, `KILL`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit (killing it after `timeout`, a safety net); returns (exit
    /// success, stdout, stderr).
    pub fn wait(mut self, timeout: Duration) -> (bool, String, String) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let err = self.stderr.lock().unwrap().clone();
        (status.success(), self.stdout(), err)
    }
}

pub fn read_summary(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("summary written")).expect("summary JSON")
}

pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

pub fn tasks_of<'a>(summary: &'a Value, job: &str) -> Vec<&'a Value> {
    summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["job_id"] == job)
        .collect()
}

pub fn job_id(summary: &Value, title_prefix: &str) -> String {
    summary["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| s(j, "title").starts_with(title_prefix))
        .map(|j| s(j, "id").to_owned())
        .unwrap_or_else(|| panic!("no job {title_prefix}: {}", summary["jobs"]))
}

/// The checks on one summary. Returns the number of accepted tasks.
pub fn check_demo(summary: &Value) -> usize {
    let tasks = summary["tasks"].as_array().unwrap();
    let ctx = || serde_json::to_string_pretty(summary).unwrap();
    assert_eq!(summary["jobs"].as_array().unwrap().len(), 4, "{}", ctx());

    // Every task executed once and was accepted, in the store and in the registry's logs.
    for t in tasks {
        assert_eq!(t["status"], "accepted", "task not accepted: {t}");
        assert!(t["execution"]["tx_hash"].is_string(), "no execution: {t}");
        assert_eq!(
            t["settlement"]["accepted"], true,
            "no accepting settlement log: {t}"
        );
        assert_eq!(t["executed_on_chain"], true, "{t}");
        assert_eq!(t["settlement_on_chain"], 1, "{t}");
        let (eb, sb) = (
            t["execution"]["block"].as_u64().unwrap(),
            t["settlement"]["block"].as_u64().unwrap(),
        );
        assert!(sb >= eb, "settled before executed: {t}");
        assert!(
            t["latency_blocks"].is_i64() && t["latency_ms"].is_i64(),
            "{t}"
        );
    }
    let unique = |key: &dyn Fn(&Value) -> String, what: &str| {
        let all: Vec<_> = tasks.iter().map(key).collect();
        let set: HashSet<_> = all.iter().collect();
        assert_eq!(set.len(), all.len(), "duplicate {what}: {}", ctx());
    };
    unique(&|t| s(t, "id").to_owned(), "task ids");
    unique(
        &|t| t["execution"]["tx_hash"].to_string(),
        "execution tx hashes",
    );
    unique(
        &|t| t["settlement"]["tx_hash"].to_string(),
        "settlement tx hashes",
    );
    // One task per occurrence: per job, one per due instant / log / sample.
    unique(
        &|t| format!("{} {}", s(t, "job_id"), t["trigger"]),
        "occurrences",
    );

    // Time jobs fired.
    for title in ["demo: every 5 s", "demo: cron"] {
        let id = job_id(summary, title);
        assert!(
            !tasks_of(summary, &id).is_empty(),
            "{title} never fired: {}",
            ctx()
        );
    }

    // The event job fired exactly on the transfers to the watched address.
    let driver = summary["driver"].as_array().unwrap();
    let mints = |matching: bool| -> HashSet<String> {
        driver
            .iter()
            .filter(|d| d["kind"] == "mint" && d["matching"] == matching)
            .map(|d| s(d, "tx_hash").to_owned())
            .collect()
    };
    let (matching, other) = (mints(true), mints(false));
    assert!(!matching.is_empty() && !other.is_empty(), "{}", ctx());
    let event_job = job_id(summary, "demo: DemoToken Transfer");
    let fired: HashSet<String> = tasks_of(summary, &event_job)
        .iter()
        .map(|t| s(&t["trigger"], "tx_hash").to_owned())
        .collect();
    assert_eq!(
        fired,
        matching,
        "event tasks ≠ matching transfers: {}",
        ctx()
    );
    assert!(fired.is_disjoint(&other));

    // The condition job fired once per upward crossing, on a value above the threshold.
    let mut above = false;
    let mut ups = 0;
    for d in driver.iter().filter(|d| d["kind"] == "price") {
        let now_above = d["above"] == true;
        if now_above && !above {
            ups += 1;
        }
        above = now_above;
    }
    assert!(ups >= 1, "the price never crossed: {}", ctx());
    let condition_job = job_id(summary, "demo: PriceFeed");
    let fired = tasks_of(summary, &condition_job);
    assert_eq!(fired.len(), ups, "one task per upward crossing: {}", ctx());
    let first_up = driver
        .iter()
        .find(|d| d["kind"] == "price" && d["above"] == true)
        .unwrap()["block"]
        .as_u64()
        .unwrap();
    for t in &fired {
        let v: f64 = s(&t["trigger"], "value").parse().unwrap();
        assert!(v > 2500.0, "fired on {v}: {t}");
        assert!(
            t["execution"]["block"].as_u64().unwrap() >= first_up,
            "fired before the price crossed: {t}"
        );
    }
    tasks.len()
}

/// Reads the chain: the counter equals the accepted tasks (every demo job increments it),
/// and the hub and registry agree on every task.
pub async fn check_chain(anvil: &Anvil, summary: &Value, accepted: usize) {
    let provider = anvil.provider().unwrap();
    let contracts = &summary["contracts"];
    let addr = |k: &str| s(contracts, k).parse::<Address>().unwrap();
    let count = Counter::new(addr("counter"), &provider)
        .count()
        .call()
        .await
        .unwrap();
    assert_eq!(
        count,
        alloy::primitives::U256::from(accepted),
        "Counter.count"
    );
    let hub = TaskHub::new(addr("task_hub"), &provider);
    let registry = KeeperRegistry::new(addr("keeper_registry"), &provider);
    for t in summary["tasks"].as_array().unwrap() {
        let id: B256 = s(t, "id").parse().unwrap();
        assert!(
            hub.executed(id).call().await.unwrap(),
            "executed on-chain: {t}"
        );
        assert_eq!(registry.settlement(id).call().await.unwrap(), 1, "{t}");
    }
}

/// How many times the chain logged each task id: `TaskExecuted` on the hub, and
/// `TaskSubmitted` (accepted) on the registry, over every block.
pub async fn logged_per_task(
    provider: &DynProvider,
    summary: &Value,
) -> (HashMap<B256, usize>, HashMap<B256, usize>) {
    let contracts = &summary["contracts"];
    let addr = |k: &str| s(contracts, k).parse::<Address>().unwrap();
    let head = provider.get_block_number().await.unwrap();
    let count = async |address: Address, topic: B256| {
        let filter = Filter::new()
            .address(address)
            .event_signature(topic)
            .from_block(0)
            .to_block(head);
        let mut per = HashMap::new();
        for log in provider.get_logs(&filter).await.unwrap() {
            *per.entry(log.topics()[1]).or_insert(0) += 1;
        }
        per
    };
    (
        count(addr("task_hub"), TaskHub::TaskExecuted::SIGNATURE_HASH).await,
        count(
            addr("keeper_registry"),
            KeeperRegistry::TaskSubmitted::SIGNATURE_HASH,
        )
        .await,
    )
}

/// From the chain's logs: every task of the summary executed exactly once and was accepted
/// exactly once, and the chain executed no task the store does not know.
pub async fn check_logs_once(provider: &DynProvider, summary: &Value) {
    let (executed, submitted) = logged_per_task(provider, summary).await;
    let ids: HashSet<B256> = summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| s(t, "id").parse().unwrap())
        .collect();
    for id in &ids {
        assert_eq!(executed.get(id), Some(&1), "TaskExecuted logs of {id}");
        assert_eq!(submitted.get(id), Some(&1), "TaskSubmitted logs of {id}");
    }
    let unknown: Vec<_> = executed.keys().filter(|id| !ids.contains(*id)).collect();
    assert!(
        unknown.is_empty(),
        "executed on-chain, unknown to the store: {unknown:?}"
    );
}

/// An anvil serving the chain kept in `state_file`, read-only (it does not write it back).
pub async fn reload_chain(state_file: &Path) -> Anvil {
    assert!(state_file.is_file(), "{} not written", state_file.display());
    Anvil::start(triggerx_core::chain::anvil::AnvilOptions {
        extra_args: vec!["--load-state".into(), state_file.display().to_string()],
        ..Default::default()
    })
    .await
    .expect("anvil on the kept chain")
}

/// A task's trigger instant (ms).
fn at_ms(t: &Value) -> i64 {
    t["trigger"]["at_ms"].as_i64().unwrap()
}

fn ms_field(t: &Value, key: &str) -> i64 {
    t[key].as_i64().unwrap_or_else(|| panic!("{key} in {t}"))
}

/// The time job `title` (instants `period_ms` apart) fired on every instant except those the
/// policies allow to skip: an instant due while the job's previous task was still open
/// (overlap `skip`), or one due while the devnet was down (`down`: from the stop signal, in ms,
/// to the start of the next run), where catch-up `fire_once` fires only the latest missed
/// instant, at the start of the next run. Returns how many instants were skipped for each reason.
pub fn check_time_instants(
    summary: &Value,
    title: &str,
    period_ms: i64,
    down: Option<(i64, i64)>,
) -> (usize, usize) {
    let job = job_id(summary, title);
    let mut tasks = tasks_of(summary, &job);
    tasks.sort_by_key(|t| at_ms(t));
    assert!(tasks.len() >= 2, "{title}: too few tasks to check");
    let (mut overlapped, mut while_down) = (0, 0);
    for pair in tasks.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let gap = at_ms(b) - at_ms(a);
        assert!(
            gap > 0 && gap % period_ms == 0,
            "{title}: instants {} and {} are not {period_ms} ms apart",
            at_ms(a),
            at_ms(b)
        );
        let mut m = at_ms(a) + period_ms;
        while m < at_ms(b) {
            let open = ms_field(a, "updated_at_ms") > m;
            let was_down = down.is_some_and(|(from, to)| {
                m >= from && ms_field(b, "created_at_ms") >= to && m <= ms_field(b, "created_at_ms")
            });
            assert!(
                open || was_down,
                "{title}: instant {m} was lost (the previous task {a} was final by then and \
                 the devnet was up; down: {down:?})"
            );
            if open {
                overlapped += 1;
            } else {
                while_down += 1;
            }
            m += period_ms;
        }
        if down.is_some_and(|(_, to)| {
            ms_field(b, "created_at_ms") >= to && ms_field(a, "created_at_ms") < to
        }) {
            // The first task after the restart: the latest instant due when it was noticed.
            let late = ms_field(b, "created_at_ms") - at_ms(b);
            assert!(
                late < period_ms + 2_000,
                "{title}: catch-up fired {} ms after its instant, not the latest missed instant: {b}",
                late
            );
        }
    }
    (overlapped, while_down)
}

/// Milliseconds since the Unix epoch (the clock the devnet stamps tasks with).
pub fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}
