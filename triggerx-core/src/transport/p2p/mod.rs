//! The libp2p transport backend: the same signed envelopes and [`Verifier`] as the in-process
//! backend, carried between OS processes over TCP with noise encryption and yamux.
//!
//! - **Publications** go over gossipsub, one gossip topic `triggerx/<chain id>/pub/<topic>` per
//!   transport topic, each gossip message one encoded envelope with frame topic `pub/<topic>`.
//!   Gossipsub signing is off (the envelope is the signature); message ids are the keccak256 of
//!   gossip topic and frame; a message is forwarded only after it verified.
//! - **Requests and responses** go over a request-response protocol (`/triggerx/direct/1`, one
//!   raw frame each way): `req/<kind>` and `resp/<kind>` frames whose payloads start with an
//!   8-byte request id, as in-process. Responses are signed and verified too.
//! - **Peers** come from bootstrap addresses, redialed with backoff while disconnected, and from
//!   the dial hints in signed hellos. Each node sends a signed hello on every new connection
//!   (and every `hello_interval`); its verified sender is bound to the libp2p peer that
//!   delivered it, which is how [`Transport::request`] finds a peer by address.
//!
//! No libp2p type appears in this module's API. See `docs/transport.md`.

mod codec;
mod hello;
#[cfg(feature = "test-utils")]
mod raw;
mod swarm;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::{Address, Bytes},
    signers::local::PrivateKeySigner,
};
use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot};

pub use self::hello::peer_id_of;
#[cfg(feature = "test-utils")]
pub use self::raw::RawPeer;
use super::{
    DropReason, Membership, Message, Request, Stats, StatsSnapshot, Transport, TransportError,
    check_limits,
    envelope::{SignedMessage, Verifier},
    local::{Local, split_id, with_id},
};
use crate::clock::Clock;

/// Settings of a libp2p transport. Every field has a default.
#[derive(Debug, Clone)]
pub struct Config {
    /// The network's chain id (signature domain, part of the gossip topic names); default 31337.
    pub chain_id: u64,
    /// Multiaddrs to listen on; default `["/ip4/127.0.0.1/tcp/0"]`.
    pub listen: Vec<String>,
    /// Multiaddrs to dial and keep dialing while disconnected, with or without a
    /// `/p2p/<peer id>` suffix.
    pub bootstrap: Vec<String>,
    /// Accepted signing-time difference; default 30 s.
    pub max_skew: Duration,
    /// Publications are retransmitted directly to peers that subscribe to their topic within
    /// this long after publishing (so publishing right after startup reaches peers whose
    /// subscriptions are still propagating); default 10 s, at most half of `max_skew`.
    pub catch_up: Duration,
    /// How often hellos are repeated to connected peers (so a peer that became a member since
    /// gets bound); default 10 s.
    pub hello_interval: Duration,
    /// First and largest delay between dials of an unreachable bootstrap address; default
    /// 250 ms and 5 s (doubling).
    pub redial: (Duration, Duration),
    /// Upper bound on any request's wait for a response at the protocol level (callers'
    /// timeouts are shorter); default 60 s.
    pub request_timeout: Duration,
    /// Connections are closed after this long without any stream; default 1 h.
    pub idle_timeout: Duration,
    /// Publications and requests queued for the swarm task before `publish` and `request`
    /// wait; default 1024.
    pub command_capacity: usize,
    /// How long [`P2pTransport::start`] waits for its listeners; default 10 s.
    pub startup_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            chain_id: 31337,
            listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
            bootstrap: Vec::new(),
            max_skew: Duration::from_secs(30),
            catch_up: Duration::from_secs(10),
            hello_interval: Duration::from_secs(10),
            redial: (Duration::from_millis(250), Duration::from_secs(5)),
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(3600),
            command_capacity: 1024,
            startup_timeout: Duration::from_secs(10),
        }
    }
}

/// Failures starting a libp2p transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum P2pError {
    /// A listen or bootstrap address does not parse as a multiaddr.
    #[error("invalid multiaddr {addr:?}: {message}")]
    InvalidAddress {
        /// The address as given.
        addr: String,
        /// Why it is invalid.
        message: String,
    },
    /// Listening failed (e.g. the port is in use) or did not complete in time.
    #[error("cannot listen on {addr}: {message}")]
    Listen {
        /// The listen address.
        addr: String,
        /// The cause.
        message: String,
    },
    /// The libp2p stack could not be built.
    #[error("libp2p setup failed: {0}")]
    Setup(String),
    /// A raw test peer's send failed.
    #[error("send failed: {0}")]
    Send(String),
}

impl P2pError {
    /// Whether trying again may succeed (a busy port may be freed, a send may reach the peer).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Listen { .. } | Self::Send(_))
    }
}

/// The state shared by a transport's handle, its swarm task and its responder tasks.
#[derive(Debug)]
struct Shared {
    chain_id: u64,
    address: Address,
    peer_id: PeerId,
    signer: PrivateKeySigner,
    clock: Arc<dyn Clock>,
    members: Arc<dyn Membership>,
    verifier: Verifier,
    stats: Stats,
    nonce: AtomicU64,
    next_request: AtomicU64,
    connected: AtomicUsize,
    listen_addrs: Mutex<Vec<String>>,
    /// Verified address → the libp2p peer that delivered its hello.
    bound: Mutex<HashMap<Address, PeerId>>,
    pub(super) local: Local,
}

impl Shared {
    fn sign(&self, topic: &str, payload: Bytes) -> Vec<u8> {
        let nonce = self.nonce.fetch_add(1, Ordering::Relaxed);
        SignedMessage::sign(
            &self.signer,
            self.chain_id,
            topic,
            payload,
            self.clock.now(),
            nonce,
        )
        .encode()
    }

    /// Counts a received frame and verifies it; drops are counted. A frame whose topic this
    /// channel does not carry (`topic_ok`) is malformed, checked before the signature so the
    /// misfiled copy of a valid frame never enters the replay cache (and cannot shadow the
    /// original). A frame signed by this node itself is an echo and dropped as replayed.
    fn verify(
        &self,
        frame: &[u8],
        topic_ok: impl Fn(&str) -> bool,
    ) -> Result<SignedMessage, DropReason> {
        self.stats.received();
        let members = |a: Address| self.members.is_member(a);
        let result = SignedMessage::decode(frame)
            .filter(|m| topic_ok(&m.topic))
            .ok_or(DropReason::Malformed)
            .and_then(|_| self.verifier.verify(frame, self.clock.now(), &members))
            .and_then(|m| {
                if m.sender == self.address {
                    Err(DropReason::Replayed)
                } else {
                    Ok(m)
                }
            });
        if let Err(reason) = result {
            self.stats.dropped(reason);
        }
        result
    }
}

/// The gossip topic name of a transport topic.
fn gossip_topic(chain_id: u64, topic: &str) -> String {
    format!("triggerx/{chain_id}/pub/{topic}")
}

/// Sent from the handle to the swarm task without waiting (control).
#[derive(Debug)]
enum Control {
    Subscribe(String),
    Respond { key: u64, frame: Option<Vec<u8>> },
    Shutdown,
}

/// Sent from the handle to the swarm task through the bounded queue.
#[derive(Debug)]
enum Command {
    Publish {
        topic: String,
        frame: Vec<u8>,
    },
    Request {
        peer: Address,
        frame: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, TransportError>>,
    },
}

/// A node on a libp2p network. Dropping it stops its swarm task.
#[derive(Debug)]
pub struct P2pTransport {
    shared: Arc<Shared>,
    control: mpsc::UnboundedSender<Control>,
    commands: mpsc::Sender<Command>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl P2pTransport {
    /// Starts a node signing with `signer` and accepting messages from `members`: listens on
    /// `config.listen`, dials `config.bootstrap`, and returns once it listens (meshes and
    /// subscriptions form afterwards; see [`Config::catch_up`]). Must run inside a tokio runtime.
    pub async fn start(
        config: Config,
        signer: PrivateKeySigner,
        members: Arc<dyn Membership>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, P2pError> {
        let keypair = hello::keypair_of(&signer);
        let peer_id = keypair.public().to_peer_id();
        let shared = Arc::new(Shared {
            chain_id: config.chain_id,
            address: signer.address(),
            peer_id,
            nonce: AtomicU64::new(
                u64::try_from(clock.now().as_millis())
                    .unwrap_or(0)
                    .saturating_mul(1000),
            ),
            signer,
            clock,
            members,
            verifier: Verifier::new(
                config.chain_id,
                i64::try_from(config.max_skew.as_millis()).unwrap_or(i64::MAX),
            ),
            stats: Stats::default(),
            next_request: AtomicU64::new(1),
            connected: AtomicUsize::new(0),
            listen_addrs: Mutex::new(Vec::new()),
            bound: Mutex::new(HashMap::new()),
            local: Local::default(),
        });
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (command_tx, command_rx) = mpsc::channel(config.command_capacity.max(1));
        let (ready_tx, ready_rx) = oneshot::channel();
        let driver = swarm::Driver::new(
            &config,
            keypair,
            shared.clone(),
            control_tx.clone(),
            ready_tx,
        )?;
        let task = tokio::spawn(driver.run(control_rx, command_rx));
        let first = config.listen.first().cloned().unwrap_or_default();
        match tokio::time::timeout(config.startup_timeout, ready_rx).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                task.abort();
                return Err(e);
            }
            Ok(Err(_)) | Err(_) => {
                task.abort();
                return Err(P2pError::Listen {
                    addr: first,
                    message: "listener did not start in time".into(),
                });
            }
        }
        Ok(Self {
            shared,
            control: control_tx,
            commands: command_tx,
            task: Mutex::new(Some(task)),
        })
    }

    /// The bound listen addresses, each ending in `/p2p/<peer id>` (usable as bootstrap).
    pub fn listen_addrs(&self) -> Vec<String> {
        self.shared
            .listen_addrs
            .lock()
            .expect("listen lock")
            .clone()
    }

    /// This node's libp2p peer id, as text.
    pub fn peer_id(&self) -> String {
        self.shared.peer_id.to_string()
    }

    /// How many peers are connected now.
    pub fn connected_peers(&self) -> usize {
        self.shared.connected.load(Ordering::Relaxed)
    }

    /// The members whose hello this node verified, i.e. the addresses it can send requests to.
    pub fn known_peers(&self) -> HashSet<Address> {
        self.shared
            .bound
            .lock()
            .expect("bound lock")
            .keys()
            .copied()
            .collect()
    }

    /// Stops the swarm task gracefully and waits for it; later calls fail with
    /// [`TransportError::Closed`].
    pub async fn shutdown(&self) {
        let _ = self.control.send(Control::Shutdown);
        let task = self.task.lock().expect("task lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for P2pTransport {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().expect("task lock").take() {
            task.abort();
        }
    }
}

#[async_trait::async_trait]
impl Transport for P2pTransport {
    fn local_address(&self) -> Address {
        self.shared.address
    }

    async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), TransportError> {
        check_limits(topic, &payload)?;
        let frame = self.shared.sign(&format!("pub/{topic}"), payload);
        self.commands
            .send(Command::Publish {
                topic: topic.to_owned(),
                frame,
            })
            .await
            .map_err(|_| TransportError::Closed)
    }

    fn subscribe(&self, topic: &str, capacity: usize) -> mpsc::Receiver<Message> {
        let rx = self.shared.local.subscribe(topic, capacity);
        let _ = self.control.send(Control::Subscribe(topic.to_owned()));
        rx
    }

    async fn request(
        &self,
        peer: Address,
        kind: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, TransportError> {
        check_limits(kind, &payload)?;
        if !self
            .shared
            .bound
            .lock()
            .expect("bound lock")
            .contains_key(&peer)
        {
            return Err(TransportError::UnknownPeer(peer));
        }
        let id = self.shared.next_request.fetch_add(1, Ordering::Relaxed);
        let frame = self
            .shared
            .sign(&format!("req/{kind}"), with_id(id, &payload));
        let (tx, rx) = oneshot::channel();
        let exchange = async {
            self.commands
                .send(Command::Request {
                    peer,
                    frame,
                    reply: tx,
                })
                .await
                .map_err(|_| TransportError::Closed)?;
            rx.await.map_err(|_| TransportError::Closed)?
        };
        let response = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| TransportError::Timeout)??;
        // An empty response is a refusal: the peer serves no such kind, its server is full,
        // or it dropped the request (an empty byte string is never a frame).
        if response.is_empty() {
            return Err(TransportError::Refused);
        }
        let expected = format!("resp/{kind}");
        let msg = self
            .shared
            .verify(&response, |t| t == expected)
            .map_err(|_| TransportError::Refused)?;
        // Only the peer asked may answer, only for this kind and this request.
        if msg.sender != peer {
            self.shared.stats.dropped(DropReason::Forged);
            return Err(TransportError::Refused);
        }
        match split_id(&msg.payload) {
            Some((rid, body)) if rid == id => {
                self.shared.stats.delivered();
                Ok(body)
            }
            _ => {
                self.shared.stats.dropped(DropReason::Malformed);
                Err(TransportError::Refused)
            }
        }
    }

    fn serve(&self, kind: &str, capacity: usize) -> mpsc::Receiver<Request> {
        self.shared.local.serve(kind, capacity)
    }

    fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }
}
