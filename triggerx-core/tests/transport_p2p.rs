//! The libp2p backend over real sockets on 127.0.0.1: the transport conformance suite (raw
//! frames injected through a separate raw libp2p peer), two nodes in separate OS processes (this
//! test binary re-executes itself as the second node), a peer that is killed and restarted is
//! redialed, and a non-member's messages are dropped.
#![cfg(all(feature = "p2p", feature = "test-utils"))]

use std::{
    collections::{HashMap, HashSet},
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    primitives::{Address, Bytes},
    signers::local::PrivateKeySigner,
};
use triggerx_core::{
    clock::SystemClock,
    transport::{
        AllowAll, Members, Membership, Transport, TransportError,
        conformance::{self, Harness, key},
        p2p::{Config, P2pError, P2pTransport, RawPeer, peer_id_of},
    },
};

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn members(keys: &[u8]) -> Arc<dyn Membership> {
    Arc::new(Members(keys.iter().map(|i| key(*i).address()).collect()))
}

fn config(bootstrap: Vec<String>) -> Config {
    Config {
        bootstrap,
        redial: (Duration::from_millis(100), Duration::from_secs(1)),
        ..Config::default()
    }
}

async fn node(k: u8, members: Arc<dyn Membership>, bootstrap: Vec<String>) -> Arc<P2pTransport> {
    Arc::new(
        P2pTransport::start(config(bootstrap), key(k), members, Arc::new(SystemClock))
            .await
            .expect("start p2p transport"),
    )
}

struct P2p {
    raw: RawPeer,
    addrs: Mutex<HashMap<Address, String>>,
}

#[async_trait::async_trait]
impl Harness for P2p {
    fn chain_id(&self) -> u64 {
        31337
    }

    /// The first node is every other's bootstrap; the rest find each other through hellos.
    /// Returns once every node has verified every other's hello.
    async fn start(&self, keys: Vec<PrivateKeySigner>) -> Vec<Arc<dyn Transport>> {
        let all: HashSet<Address> = keys.iter().map(|k| k.address()).collect();
        let members: Arc<dyn Membership> = Arc::new(Members(all.clone()));
        let mut nodes: Vec<Arc<P2pTransport>> = Vec::new();
        for k in keys {
            let bootstrap = nodes
                .first()
                .map(|n| vec![n.listen_addrs()[0].clone()])
                .unwrap_or_default();
            let n =
                P2pTransport::start(config(bootstrap), k, members.clone(), Arc::new(SystemClock))
                    .await
                    .expect("start p2p transport");
            self.addrs
                .lock()
                .unwrap()
                .insert(n.local_address(), n.listen_addrs()[0].clone());
            nodes.push(Arc::new(n));
        }
        for n in &nodes {
            let others: HashSet<Address> = all
                .iter()
                .copied()
                .filter(|a| *a != n.local_address())
                .collect();
            eventually("every node knows every other", || {
                n.known_peers().is_superset(&others)
            })
            .await;
        }
        let nodes: Vec<Arc<dyn Transport>> =
            nodes.into_iter().map(|n| n as Arc<dyn Transport>).collect();
        // Keep the nodes alive for the rest of the test run.
        Box::leak(Box::new(nodes.clone()));
        nodes
    }

    async fn inject(&self, to: Address, frame: Vec<u8>) {
        let addr = self.addrs.lock().unwrap()[&to].clone();
        // The node answers only frames it accepts; either way it has processed this one.
        let _ = self.raw.send(&addr, frame).await;
    }
}

#[tokio::test]
async fn p2p_backend_conforms() {
    let h = P2p {
        raw: RawPeer::start().expect("raw peer"),
        addrs: Mutex::new(HashMap::new()),
    };
    conformance::run_all(&h).await;
}

/// A non-member can connect, but its hello binds nothing, its publications and requests are
/// dropped and counted, and it cannot be asked anything.
#[tokio::test]
async fn non_member_messages_are_dropped() {
    let m = members(&[31, 32]);
    let a = node(31, m.clone(), vec![]).await;
    let boot = vec![a.listen_addrs()[0].clone()];
    let b = node(32, m, boot.clone()).await;
    let c = node(33, Arc::new(AllowAll), boot).await;
    let mut sub = a.subscribe("tasks", 16);
    let mut server = a.serve("echo", 4);
    eventually("a knows b", || a.known_peers().contains(&b.local_address())).await;
    eventually("c knows a", || c.known_peers().contains(&a.local_address())).await;
    eventually("a dropped c's hello", || a.stats().unknown_sender >= 1).await;
    let before = a.stats().unknown_sender;
    for i in 0..3u8 {
        c.publish("tasks", Bytes::from(vec![b'x', i]))
            .await
            .unwrap();
    }
    b.publish("tasks", Bytes::from_static(b"good"))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .expect("member's message arrives")
        .unwrap();
    assert_eq!(
        (got.sender, &got.payload[..]),
        (b.local_address(), &b"good"[..])
    );
    eventually("c's three publications were dropped", || {
        a.stats().unknown_sender >= before + 3
    })
    .await;
    let err = c
        .request(
            a.local_address(),
            "echo",
            Bytes::new(),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Refused), "{err:?}");
    assert!(
        server.try_recv().is_err(),
        "the non-member's request was not served"
    );
    assert!(
        sub.try_recv().is_err(),
        "nothing from the non-member is delivered"
    );
    assert!(!a.known_peers().contains(&c.local_address()));
    let err = a
        .request(
            c.local_address(),
            "echo",
            Bytes::new(),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::UnknownPeer(_)), "{err:?}");
    assert_eq!(a.stats().delivered, 1, "{:?}", a.stats());
    for n in [a, b, c] {
        n.shutdown().await;
    }
}

// ---- two OS processes ----

const CHILD_ENV: &str = "TRIGGERX_P2P_CHILD";

/// A node in its own process (this test binary, re-executed), killed on drop.
struct ChildNode(Child);

impl ChildNode {
    /// Starts the child node with key `k` accepting `parent`, listening on `listen`, dialing
    /// `bootstrap`; returns once it listens.
    fn spawn(k: u8, parent: u8, listen: &str, bootstrap: &str) -> (Self, String) {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "child_node",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{k} {parent} {listen} {bootstrap}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child node");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("child printed its address")
                .expect("read child stdout");
            // libtest may print `test child_node ... ` on the same line first.
            if let Some((_, a)) = line.split_once("LISTEN ") {
                break a.trim().to_owned();
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        (Self(child), addr)
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The second process: echoes requests of kind `echo`; on each `ping` publication asks the
/// parent's `echo` and publishes the answer as `pong`. Run by the tests below.
#[tokio::test]
#[ignore = "helper process for the multi-process tests"]
async fn child_node() {
    let spec = std::env::var(CHILD_ENV).expect("run by the multi-process tests");
    let parts: Vec<&str> = spec.split(' ').collect();
    let (k, parent): (u8, u8) = (parts[0].parse().unwrap(), parts[1].parse().unwrap());
    let bootstrap = parts
        .get(3)
        .filter(|b| !b.is_empty())
        .map(|b| b.to_string());
    let cfg = Config {
        listen: vec![parts[2].to_owned()],
        ..config(bootstrap.into_iter().collect())
    };
    let n = Arc::new(
        P2pTransport::start(cfg, key(k), members(&[k, parent]), Arc::new(SystemClock))
            .await
            .expect("child starts"),
    );
    println!("LISTEN {}", n.listen_addrs()[0]);
    let mut echo = n.serve("echo", 16);
    tokio::spawn(async move {
        while let Some(req) = echo.recv().await {
            let mut body = b"echo:".to_vec();
            body.extend_from_slice(&req.payload);
            req.respond(Bytes::from(body));
        }
    });
    let mut pings = n.subscribe("ping", 16);
    let until = tokio::time::Instant::now() + Duration::from_secs(120);
    while let Ok(Some(m)) = tokio::time::timeout_at(until, pings.recv()).await {
        let answer = n
            .request(m.sender, "echo", m.payload, Duration::from_secs(10))
            .await
            .expect("parent answers");
        n.publish("pong", answer).await.unwrap();
    }
}

/// The parent's half: serves `echo`, publishes `ping`, expects the child's `pong` carrying the
/// parent's own echo, and asks the child's `echo`.
async fn round_trip(
    a: &P2pTransport,
    child: Address,
    pongs: &mut tokio::sync::mpsc::Receiver<triggerx_core::transport::Message>,
    tag: &str,
) {
    a.publish("ping", Bytes::from(tag.as_bytes().to_vec()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(20), pongs.recv())
        .await
        .expect("pong from the child process")
        .unwrap();
    assert_eq!(pong.sender, child);
    assert_eq!(
        pong.payload,
        Bytes::from(format!("echo:{tag}").into_bytes())
    );
    let resp = a
        .request(
            child,
            "echo",
            Bytes::from(tag.as_bytes().to_vec()),
            Duration::from_secs(10),
        )
        .await
        .expect("child process answers");
    assert_eq!(resp, Bytes::from(format!("echo:{tag}").into_bytes()));
}

fn serve_echo(a: &P2pTransport) {
    let mut echo = a.serve("echo", 16);
    tokio::spawn(async move {
        while let Some(req) = echo.recv().await {
            let mut body = b"echo:".to_vec();
            body.extend_from_slice(&req.payload);
            req.respond(Bytes::from(body));
        }
    });
}

#[tokio::test]
async fn two_processes_exchange_publications_and_requests() {
    let a = node(41, members(&[41, 42]), vec![]).await;
    serve_echo(&a);
    let mut pongs = a.subscribe("pong", 16);
    let (_child, _) = ChildNode::spawn(42, 41, "/ip4/127.0.0.1/tcp/0", &a.listen_addrs()[0]);
    let child = key(42).address();
    eventually("the child process said hello", || {
        a.known_peers().contains(&child)
    })
    .await;
    round_trip(&a, child, &mut pongs, "one").await;
    round_trip(&a, child, &mut pongs, "two").await;
    assert_eq!(a.stats().rejected(), 0, "{:?}", a.stats());
    a.shutdown().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The parent's bootstrap peer is a child process: the parent dials it before it exists, it is
/// killed, and restarted on the same port; each time the parent redials and traffic resumes.
#[tokio::test]
async fn bootstrap_peer_that_restarts_is_redialed() {
    let port = free_port();
    let listen = format!("/ip4/127.0.0.1/tcp/{port}");
    let child = key(52).address();
    let bootstrap = format!("{listen}/p2p/{}", peer_id_of(&key(52)));
    let a = node(51, members(&[51, 52]), vec![bootstrap]).await;
    serve_echo(&a);
    let mut pongs = a.subscribe("pong", 16);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.connected_peers(), 0, "nothing listens there yet");

    let (mut first, addr) = ChildNode::spawn(52, 51, &listen, "");
    assert!(addr.starts_with(&listen), "{addr}");
    eventually("connected to the child", || {
        a.known_peers().contains(&child)
    })
    .await;
    round_trip(&a, child, &mut pongs, "before").await;

    first.kill();
    eventually("the killed child is disconnected", || {
        a.connected_peers() == 0
    })
    .await;
    let err = a
        .request(child, "echo", Bytes::new(), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        err.is_retryable() || err == TransportError::Refused,
        "{err:?}"
    );

    let (_second, _) = ChildNode::spawn(52, 51, &listen, "");
    eventually("redialed the restarted child", || a.connected_peers() == 1).await;
    // The restarted child subscribes anew; publications reach it once its subscription
    // arrives (or by catch-up), so retry the first round trip a few times.
    let mut ok = false;
    for _ in 0..20 {
        let resp = a
            .request(
                child,
                "echo",
                Bytes::from_static(b"again"),
                Duration::from_secs(2),
            )
            .await;
        if resp.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok, "the restarted child answers");
    round_trip(&a, child, &mut pongs, "after").await;
    a.shutdown().await;
}

/// Raw gossip messages from a raw libp2p peer: only the valid one is delivered; forged, stale,
/// non-member, malformed and misfiled frames (frame topic not that of the gossip topic) are
/// dropped and counted. A byte-identical repeat is deduplicated by gossipsub itself.
#[tokio::test]
async fn gossip_frames_from_the_wire_are_verified() {
    use triggerx_core::{Timestamp, transport::envelope::SignedMessage};
    let a = node(61, members(&[61, 62]), vec![]).await;
    let to = a.listen_addrs()[0].clone();
    let mut sub = a.subscribe("tasks", 16);
    let raw = RawPeer::start().unwrap();
    let now = Timestamp::now();
    let sign = |k: u8, topic: &str, body: &'static [u8], at: Timestamp, nonce: u64| {
        SignedMessage::sign(&key(k), 31337, topic, Bytes::from_static(body), at, nonce)
    };
    let publish = |frame: Vec<u8>| {
        let raw = &raw;
        let to = to.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(20), raw.publish(&to, "tasks", frame))
                .await
                .expect("the node subscribes")
                .expect("published");
        }
    };
    let good = sign(62, "pub/tasks", b"ok", now, 1).encode();
    publish(good.clone()).await;
    let m = tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .expect("the valid gossip frame arrives")
        .unwrap();
    assert_eq!((m.sender, &m.payload[..]), (key(62).address(), &b"ok"[..]));
    let mut forged = sign(62, "pub/tasks", b"a", now, 2);
    forged.payload = Bytes::from_static(b"evil");
    publish(forged.encode()).await;
    publish(sign(62, "pub/tasks", b"old", now.add_millis(-600_000), 3).encode()).await;
    publish(sign(69, "pub/tasks", b"outsider", now, 4).encode()).await;
    let misfiled = sign(62, "pub/verdicts", b"misfiled", now, 5).encode();
    publish(misfiled.clone()).await;
    publish(vec![1, 2, 3]).await;
    // Gossipsub deduplicates a byte-identical repeat by message id (here already the sender).
    let _ = raw.publish(&to, "tasks", good).await;
    eventually("every bad frame is counted", || a.stats().rejected() >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = a.stats();
    assert_eq!(
        (s.forged, s.stale, s.unknown_sender, s.malformed, s.replayed),
        (1, 1, 1, 2, 0),
        "{s:?}"
    );
    assert!(sub.try_recv().is_err(), "nothing untrusted is delivered");
    // The misfiled copy did not shadow the frame under its own topic.
    let mut verdicts = a.subscribe("verdicts", 4);
    tokio::time::timeout(
        Duration::from_secs(20),
        raw.publish(&to, "verdicts", misfiled),
    )
    .await
    .expect("the node subscribes")
    .expect("published");
    let m = tokio::time::timeout(Duration::from_secs(10), verdicts.recv())
        .await
        .expect("the frame arrives under its own topic")
        .unwrap();
    assert_eq!(&m.payload[..], b"misfiled");
    a.shutdown().await;
}

/// The largest payload travels both as a publication and as a request and response; one byte
/// more is refused locally.
#[tokio::test]
async fn largest_payload_travels() {
    use triggerx_core::transport::MAX_PAYLOAD;
    let m = members(&[71, 72]);
    let a = node(71, m.clone(), vec![]).await;
    // A bootstrap address without `/p2p/<peer id>` works too.
    let plain = a.listen_addrs()[0]
        .split("/p2p/")
        .next()
        .unwrap()
        .to_owned();
    let b = node(72, m, vec![plain]).await;
    eventually("a knows b", || a.known_peers().contains(&b.local_address())).await;
    let mut sub = b.subscribe("big", 4);
    let mut server = b.serve("big", 4);
    tokio::spawn(async move {
        while let Some(req) = server.recv().await {
            let body = req.payload.clone();
            req.respond(body);
        }
    });
    let big = Bytes::from(vec![7u8; MAX_PAYLOAD]);
    a.publish("big", big.clone()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(20), sub.recv())
        .await
        .expect("the large publication arrives")
        .unwrap();
    assert_eq!(got.payload, big);
    let resp = a
        .request(
            b.local_address(),
            "big",
            big.clone(),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(resp, big);
    let over = Bytes::from(vec![0u8; MAX_PAYLOAD + 1]);
    assert!(matches!(
        a.publish("big", over.clone()).await,
        Err(TransportError::TooLarge("payload"))
    ));
    assert!(matches!(
        a.request(b.local_address(), "big", over, Duration::from_secs(1))
            .await,
        Err(TransportError::TooLarge("payload"))
    ));
    assert_eq!(b.stats().rejected(), 0, "{:?}", b.stats());
    a.shutdown().await;
    assert_eq!(
        a.publish("big", Bytes::new()).await,
        Err(TransportError::Closed)
    );
    assert_eq!(
        a.request(
            b.local_address(),
            "big",
            Bytes::new(),
            Duration::from_secs(1)
        )
        .await,
        Err(TransportError::Closed)
    );
    eventually("b sees a leave", || b.connected_peers() == 0).await;
    b.shutdown().await;
}

/// Bad addresses and busy ports fail `start` with typed errors.
#[tokio::test]
async fn start_errors_are_typed() {
    let start = |listen: Vec<String>, bootstrap: Vec<String>| {
        P2pTransport::start(
            Config {
                listen,
                bootstrap,
                ..Config::default()
            },
            key(91),
            members(&[91]),
            Arc::new(SystemClock),
        )
    };
    let err = start(vec!["not a multiaddr".into()], vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, P2pError::InvalidAddress { .. }) && !err.is_retryable(),
        "{err}"
    );
    let err = start(vec![], vec!["/ip4/127.0.0.1/tcp/x".into()])
        .await
        .unwrap_err();
    assert!(matches!(err, P2pError::InvalidAddress { .. }), "{err}");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let err = start(vec![format!("/ip4/127.0.0.1/tcp/{port}")], vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, P2pError::Listen { .. }) && err.is_retryable(),
        "{err}"
    );
}
