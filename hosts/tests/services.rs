//! The service hosts as a real network of processes: anvil with the contracts deployed and
//! five keepers registered, then `triggerx registrar`, `health`, `aggregator`, `scheduler` and
//! five `triggerx keeper` processes talking libp2p over 127.0.0.1, configured by TOML files
//! and `TRIGGERX__` environment overrides, all sharing one SQLite store.
//!
//! A time job with fixed instants fires through the run. Once a task has settled, the test
//! SIGKILLs the keeper the next occurrences select and checks that its tasks are taken over by
//! backups: every instant has exactly one task, every task is accepted, and the hub shows one
//! `TaskExecuted` per task id. The keepers' and the aggregator's `/metrics` counters must have
//! moved. Finally every process gets SIGTERM and must exit 0.
//!
//! Five keepers, not four: with equal voting power the quorum base excludes the performer, so
//! with one of four keepers dead only two of three attesters remain, which is not more than
//! two thirds; with five, three of four remain.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::Provider,
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use alloy_json_abi::Function;
use triggerx_core::{
    JobId, TaskId, Timestamp,
    chain::{
        anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
        contracts::{Counter, KeeperRegistry, TaskHub},
    },
    ids::Occurrence,
    selection::{Candidate, select_performer},
    spec::spec_hash,
    store::{JobStore, KeeperFilter, KeeperStore, TaskFilter, TaskStore, sqlite::SqliteStore},
    types::{Action, CatchUp, Job, Overlap, Schedule, Task, TaskStatus, TimeTrigger, Trigger},
};

const KEEPERS: usize = 5;
/// The job's instants: this many, this far apart.
const INSTANTS: usize = 14;
const SPACING_MS: i64 = 2_000;
/// A safety net for every wait (the test normally finishes far sooner).
const WAIT: Duration = Duration::from_secs(60);

/// A child process, SIGKILLed on drop; its output goes to a log file.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(dir: &Path, name: &str, role: &str, config: &Path, env: &[(&str, String)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_triggerx"));
        cmd.arg(role)
            .arg("--config")
            .arg(config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn triggerx");
        Self {
            name: name.to_owned(),
            child,
            log,
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {}", self.name);
    }

    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let until = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < until,
                "{} did not exit\n{}",
                self.name,
                self.tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(40);
        format!("--- {} ---\n{}", self.name, lines[from..].join("\n"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn key(name: &str) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&keccak256(format!("triggerx.test.services.{name}"))).unwrap()
}

fn write_key(dir: &Path, name: &str, signer: &PrivateKeySigner) -> PathBuf {
    let path = dir.join(format!("{name}.key"));
    std::fs::write(
        &path,
        format!("0x{}\n", alloy::hex::encode(signer.to_bytes())),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

/// `GET path` on `addr`: (status, body).
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// The value of the sample `name` (exact name and labels) in a Prometheus text body.
fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn scrape(addr: SocketAddr) -> String {
    let (status, body) = http_get(addr, "/metrics").expect("scrape /metrics");
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls `f` every 250 ms until it returns `Some`, failing with `what` and the logs after
/// [`WAIT`].
async fn until<T>(what: &str, procs: &[&Proc], mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = procs.iter().map(|p| p.tail()).collect();
            let store = procs
                .first()
                .map(|p| summary(&p.log.with_file_name("triggerx.sqlite")))
                .unwrap_or_default();
            panic!("timed out waiting for {what}\n{store}\n{}", logs.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every task and keeper in the store at `path`, one line each (for failure messages).
fn summary(path: &Path) -> String {
    let Ok(store) = SqliteStore::open(path) else {
        return String::new();
    };
    let mut out = String::from("--- store ---\n");
    for t in store
        .list_tasks(&TaskFilter::default())
        .map(|p| p.items)
        .unwrap_or_default()
    {
        out.push_str(&format!(
            "task {} {:?} attempts {} performer {:?} error {:?}\n",
            t.id.0, t.status, t.attempts, t.performer, t.error
        ));
    }
    for k in store
        .list_keepers(&KeeperFilter::default())
        .unwrap_or_default()
    {
        out.push_str(&format!(
            "keeper {} registered {} online {}\n",
            k.address, k.registered, k.online
        ));
    }
    out
}

fn job_tasks(store: &SqliteStore, job: JobId) -> Vec<Task> {
    store
        .list_tasks(&TaskFilter {
            job_id: Some(job),
            ..TaskFilter::default()
        })
        .unwrap()
        .items
}

struct Node {
    name: String,
    p2p: u16,
    metrics: SocketAddr,
}

impl Node {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            p2p: free_port(),
            metrics: SocketAddr::from(([127, 0, 0, 1], free_port())),
        }
    }

    fn listen(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.p2p)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_of_service_processes_settles_tasks_and_survives_a_killed_keeper() {
    let anvil = Anvil::start(AnvilOptions {
        block_time: Some(Duration::from_secs(1)),
        ..AnvilOptions::default()
    })
    .await
    .expect("anvil (bash scripts/setup.sh)");
    let devnet = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers: KEEPERS,
            ..DevnetOptions::default()
        },
    )
    .await
    .unwrap();
    let a = devnet.addresses;
    let dir = tempfile::tempdir().unwrap();
    let dir = if std::env::var_os("TRIGGERX_TEST_KEEP").is_some() {
        dir.keep()
    } else {
        dir.path().to_owned()
    };
    let dir = dir.as_path();
    let store_path = dir.join("triggerx.sqlite");
    // Created (and migrated) before any service opens it.
    let store = SqliteStore::open(&store_path).unwrap();

    let scheduler_key = key("scheduler");
    let health_key = key("health");
    let aggregator_key = devnet.users[4].clone(); // funded: it pays for submitVerdict
    let registrar = Node::new("registrar");
    let health = Node::new("health");
    let aggregator = Node::new("aggregator");
    let scheduler = Node::new("scheduler");
    let keepers: Vec<Node> = (0..KEEPERS)
        .map(|i| Node::new(&format!("keeper{i}")))
        .collect();
    let p2p_nodes: Vec<&Node> = [&health, &aggregator, &scheduler]
        .into_iter()
        .chain(keepers.iter())
        .collect();

    // One configuration per process: the shared parts, its own listen address and the others
    // as bootstrap peers. Keys and the metrics address come from the environment.
    let config = |me: &Node, extra: &str| -> PathBuf {
        let bootstrap: Vec<String> = p2p_nodes
            .iter()
            .filter(|n| n.name != me.name)
            .map(|n| format!("{:?}", n.listen()))
            .collect();
        let text = format!(
            r#"
[chain]
chain_id = {chain_id}
rpc_urls = ["{rpc}"]
ws_url = "{ws}"
task_hub = "{hub}"
keeper_registry = "{registry}"
job_registry = "{jobs}"

[network]
listen = ["{listen}"]
bootstrap = [{bootstrap}]
scheduler = "{scheduler}"
aggregator = "{aggregator}"
health = "{health}"

[store]
path = "{store}"

[log]
level = "info,libp2p=warn"

[keeper]
checkin_interval = "2s"

[keeper.attester]
require_spec_hash = true

[scheduler]
execution_timeout = "6s"

[registrar]
poll_interval = "500ms"
confirmations = 1

[health]
silence = "20s"
{extra}"#,
            chain_id = devnet.chain_id,
            rpc = devnet.endpoint,
            ws = devnet.ws_endpoint,
            hub = a.task_hub,
            registry = a.keeper_registry,
            jobs = a.job_registry,
            listen = me.listen(),
            bootstrap = bootstrap.join(", "),
            scheduler = scheduler_key.address(),
            aggregator = aggregator_key.address(),
            health = health_key.address(),
            store = store_path.display(),
        );
        let path = dir.join(format!("{}.toml", me.name));
        std::fs::write(&path, text).unwrap();
        path
    };
    let env = |node: &Node, section: &str, key_file: Option<PathBuf>| {
        let mut e = vec![("TRIGGERX__METRICS__LISTEN", node.metrics.to_string())];
        if let Some(k) = key_file {
            let var: &'static str = match section {
                "keeper" => "TRIGGERX__KEEPER__KEY_FILE",
                "scheduler" => "TRIGGERX__SCHEDULER__KEY_FILE",
                "aggregator" => "TRIGGERX__AGGREGATOR__KEY_FILE",
                _ => "TRIGGERX__HEALTH__KEY_FILE",
            };
            e.push((var, k.display().to_string()));
        }
        e
    };

    // The registrar first: it records the registered keepers in the store.
    let registrar_proc = Proc::spawn(
        dir,
        "registrar",
        "registrar",
        &config(&registrar, ""),
        &env(&registrar, "registrar", None),
    );
    until(
        "the registrar to record the keepers",
        &[&registrar_proc],
        || {
            let n = store
                .list_keepers(&KeeperFilter {
                    registered: Some(true),
                    online: None,
                })
                .ok()?
                .len();
            (n == KEEPERS).then_some(())
        },
    )
    .await;

    // Health, the aggregator (JSON logs) and the keepers.
    let health_proc = Proc::spawn(
        dir,
        "health",
        "health",
        &config(&health, ""),
        &env(
            &health,
            "health",
            Some(write_key(dir, "health", &health_key)),
        ),
    );
    let aggregator_proc = Proc::spawn(
        dir,
        "aggregator",
        "aggregator",
        &config(&aggregator, ""),
        &[
            env(
                &aggregator,
                "aggregator",
                Some(write_key(dir, "aggregator", &aggregator_key)),
            ),
            vec![("TRIGGERX__LOG__FORMAT", "json".to_owned())],
        ]
        .concat(),
    );
    let mut keeper_procs: Vec<Option<Proc>> = keepers
        .iter()
        .zip(&devnet.keepers)
        .map(|(node, k)| {
            Some(Proc::spawn(
                dir,
                &node.name,
                "keeper",
                &config(node, ""),
                &env(node, "keeper", Some(write_key(dir, &node.name, &k.signer))),
            ))
        })
        .collect();
    {
        let mut all: Vec<&Proc> = vec![&registrar_proc, &health_proc];
        all.extend(keeper_procs.iter().flatten());
        until("every keeper online", &all, || {
            let n = store
                .list_keepers(&KeeperFilter {
                    registered: Some(true),
                    online: Some(true),
                })
                .ok()?
                .len();
            (n == KEEPERS).then_some(())
        })
        .await;
    }

    // The job: Counter.increment() at INSTANTS fixed instants, on-chain and in the store.
    let owner = &devnet.users[0];
    devnet
        .deposit(owner.address(), U256::from(10u64).pow(U256::from(19u64)))
        .await
        .unwrap();
    let first = Timestamp::now().add_millis(6_000);
    let instants: Vec<Timestamp> = (0..INSTANTS as i64)
        .map(|i| first.add_millis(i * SPACING_MS))
        .collect();
    let expires = first.add_millis(3_600_000);
    let action = Action::without_arguments(
        devnet.chain_id,
        a.counter,
        Function::parse("increment()").unwrap(),
    );
    let trigger = Trigger::Time(TimeTrigger {
        schedule: Schedule::At {
            instants: instants.clone(),
        },
        start: None,
        // Nothing lost even if the scheduler starts late; instants may overlap.
        catch_up: CatchUp::FireAll { window_secs: 300 },
        overlap: Overlap::Allow,
    });
    // Registered with its spec hash: the keepers' attesters require it.
    let mut job = Job::new(
        JobId::from_u64(0),
        owner.address(),
        trigger,
        action,
        Timestamp::now(),
    );
    job.expires_at = Some(expires);
    let job_id = devnet
        .create_job_with_spec(owner, a.counter, expires.as_secs() as u64, spec_hash(&job))
        .await
        .unwrap();
    job.id = job_id;
    store.insert_job(&job).unwrap();
    let expected: HashMap<TaskId, Timestamp> = instants
        .iter()
        .map(|due| {
            let o = Occurrence::Time {
                job: job_id,
                due: *due,
            };
            (o.task_id(), *due)
        })
        .collect();

    let scheduler_proc = Proc::spawn(
        dir,
        "scheduler",
        "scheduler",
        &config(&scheduler, ""),
        &env(
            &scheduler,
            "scheduler",
            Some(write_key(dir, "scheduler", &scheduler_key)),
        ),
    );
    let services = [
        &registrar_proc,
        &health_proc,
        &aggregator_proc,
        &scheduler_proc,
    ];

    // Tasks execute and settle.
    let mut watched: Vec<&Proc> = services.to_vec();
    watched.extend(keeper_procs.iter().flatten());
    until("a task accepted", &watched, || {
        let n = job_tasks(&store, job_id)
            .iter()
            .filter(|t| t.status == TaskStatus::Accepted)
            .count();
        (n >= 1).then_some(())
    })
    .await;

    // Kill the keeper the next occurrences select (first attempt, every keeper online), one
    // that performs nothing right now.
    let power = devnet.keepers[0].voting_power;
    let candidates: Vec<Candidate> = devnet
        .keepers
        .iter()
        .map(|k| Candidate {
            address: k.address(),
            power,
        })
        .collect();
    let now = Timestamp::now().as_millis();
    let busy: HashSet<Address> = job_tasks(&store, job_id)
        .iter()
        .filter(|t| !t.status.is_final())
        .filter_map(|t| t.performer)
        .collect();
    let mut upcoming: BTreeMap<Address, Vec<TaskId>> = BTreeMap::new();
    for (id, due) in &expected {
        // Due in the next few seconds: assigned while health still counts the victim online.
        if due.as_millis() > now + 1_500 && due.as_millis() < now + 9_000 {
            let p = select_performer(*id, 0, &candidates, &[]).unwrap();
            upcoming.entry(p).or_default().push(*id);
        }
    }
    let (victim, victim_tasks) = upcoming
        .into_iter()
        .filter(|(k, _)| !busy.contains(k))
        .max_by_key(|(_, ids)| ids.len())
        .expect("an upcoming occurrence selects an idle keeper");
    let index = devnet
        .keepers
        .iter()
        .position(|k| k.address() == victim)
        .unwrap();
    let mut dead = keeper_procs[index].take().unwrap();
    dead.child.kill().unwrap(); // SIGKILL
    dead.child.wait().unwrap();

    // Everything settles: every instant one task, every task accepted.
    let mut watched: Vec<&Proc> = services.to_vec();
    watched.extend(keeper_procs.iter().flatten());
    let tasks = until("every task settled", &watched, || {
        let tasks = job_tasks(&store, job_id);
        (tasks.len() == INSTANTS && tasks.iter().all(|t| t.status.is_final())).then_some(tasks)
    })
    .await;
    let by_id: HashMap<TaskId, &Task> = tasks.iter().map(|t| (t.id, t)).collect();
    assert_eq!(
        by_id.keys().copied().collect::<HashSet<_>>(),
        expected.keys().copied().collect::<HashSet<_>>(),
        "one task per instant"
    );
    for t in &tasks {
        assert_eq!(t.status, TaskStatus::Accepted, "{t:?}");
    }
    // The victim's tasks were taken over by a backup.
    for id in &victim_tasks {
        let t = by_id[id];
        assert_ne!(t.performer, Some(victim), "{t:?}");
        assert!(
            t.attempts >= 2,
            "taken over after the victim stayed silent: {t:?}"
        );
    }

    // On-chain: one TaskExecuted per task, one settlement each, the counter moved once each.
    let provider = devnet.provider.clone();
    let logs = provider
        .get_logs(
            &Filter::new()
                .address(a.task_hub)
                .event_signature(TaskHub::TaskExecuted::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    let mut executions: HashMap<B256, usize> = HashMap::new();
    for log in &logs {
        let e = TaskHub::TaskExecuted::decode_log(&log.inner).unwrap();
        assert!(e.success, "{e:?}");
        *executions.entry(e.taskId).or_default() += 1;
    }
    for id in expected.keys() {
        assert_eq!(executions.get(&id.0), Some(&1), "TaskExecuted for {id:?}");
    }
    assert_eq!(executions.len(), INSTANTS, "no other executions");
    let registry = KeeperRegistry::new(a.keeper_registry, provider.clone());
    for id in expected.keys() {
        assert_eq!(
            registry.settlement(id.0).call().await.unwrap(),
            1,
            "settled {id:?}"
        );
    }
    let count = Counter::new(a.counter, provider.clone())
        .count()
        .call()
        .await
        .unwrap();
    assert_eq!(count, U256::from(INSTANTS));

    // Counters moved: a keeper's performer/attester and transport, the aggregator's verdicts.
    let mut executed = 0.0;
    let mut published = 0.0;
    for (i, k) in keepers.iter().enumerate() {
        if i == index {
            continue; // killed
        }
        let body = scrape(k.metrics);
        executed += metric(&body, "triggerx_performer_executed_total").unwrap();
        published += metric(&body, "triggerx_attester_published_total").unwrap();
        assert!(
            metric(&body, "triggerx_transport_received_total").unwrap() > 0.0,
            "{body}"
        );
        assert!(
            metric(&body, "triggerx_transport_connected_peers").unwrap() > 0.0,
            "{body}"
        );
    }
    assert!(executed >= 3.0, "performers executed {executed}");
    assert!(published >= 3.0, "attesters published {published}");
    let body = scrape(aggregator.metrics);
    assert!(
        metric(&body, "triggerx_aggregator_verdicts_submitted_total").unwrap() >= 1.0,
        "{body}"
    );
    assert!(
        metric(&body, "triggerx_aggregator_counted_total").unwrap() >= 3.0,
        "{body}"
    );
    assert!(
        metric(&body, "triggerx_store_tasks{status=\"accepted\"}").unwrap() >= 1.0,
        "{body}"
    );
    assert_eq!(
        metric(
            &body,
            "triggerx_service_info{service=\"aggregator\",version=\"0.1.0\"}"
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        http_get(health.metrics, "/healthz").unwrap(),
        (200, "ok\n".into())
    );

    // SIGTERM: every service stops gracefully and exits 0.
    let mut all: Vec<Proc> = vec![scheduler_proc];
    all.extend(keeper_procs.into_iter().flatten());
    all.extend([aggregator_proc, health_proc, registrar_proc]);
    for p in &all {
        p.signal("TERM");
    }
    for p in &mut all {
        let status = p.wait_exit(Duration::from_secs(30));
        assert!(
            status.success(),
            "{} exited with {status}\n{}",
            p.name,
            p.tail()
        );
        let log = std::fs::read_to_string(&p.log).unwrap();
        assert!(log.contains("stopped"), "{}", p.tail());
    }
    // The JSON log format is one object per line.
    let json = std::fs::read_to_string(dir.join("aggregator.log")).unwrap();
    for line in json.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        assert!(v.get("level").is_some(), "{line}");
    }
}

#[test]
fn a_signal_during_start_up_ends_the_service_cleanly() {
    // The chain does not answer, so the registrar keeps retrying its first call.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registrar.toml");
    std::fs::write(
        &file,
        format!(
            "[chain]\nrpc_urls = [\"http://127.0.0.1:{}\"]\ntask_hub = \"{}\"\nkeeper_registry = \"{}\"\n\
             [store]\npath = \"{}\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
            free_port(),
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            dir.path().join("s.sqlite").display()
        ),
    )
    .unwrap();
    let mut p = Proc::spawn(dir.path(), "registrar", "registrar", &file, &[]);
    let until = Instant::now() + WAIT;
    while !std::fs::read_to_string(&p.log)
        .unwrap()
        .contains("chain not reachable yet")
    {
        assert!(Instant::now() < until, "{}", p.tail());
        std::thread::sleep(Duration::from_millis(100));
    }
    p.signal("TERM");
    let status = p.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}\n{}", p.tail());
    assert!(
        std::fs::read_to_string(&p.log)
            .unwrap()
            .contains("signal during start-up")
    );
}
