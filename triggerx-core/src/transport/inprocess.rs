//! The in-process transport: transports in one process joined through an
//! [`InProcessNetwork`], exchanging **encoded, signed** frames over bounded tokio channels, so
//! they verify exactly what a network backend would (and tests can inject raw frames).
//!
//! Frame topics: `pub/<topic>` for publications, `req/<kind>` and `resp/<kind>` for requests and
//! responses, whose payloads start with an 8-byte request id.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::{Address, Bytes},
    signers::local::PrivateKeySigner,
};
use tokio::sync::{mpsc, oneshot};

use super::{
    Membership, Message, Request, Stats, StatsSnapshot, Transport, TransportError, check_limits,
    envelope::{SignedMessage, Verifier},
    local::{Local, split_id, with_id},
};
use crate::clock::Clock;

type Inbox = mpsc::Sender<Vec<u8>>;

/// Settings of an in-process network.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The network's chain id (part of the signature domain).
    pub chain_id: u64,
    /// Frames each node's inbox holds before senders drop (default 4096).
    pub inbox_capacity: usize,
    /// Accepted clock difference between sender and receiver (default 30 s).
    pub max_skew: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            chain_id: 31337,
            inbox_capacity: 4096,
            max_skew: Duration::from_secs(30),
        }
    }
}

/// The hub that in-process transports join.
#[derive(Debug, Clone)]
pub struct InProcessNetwork {
    config: Config,
    peers: Arc<Mutex<HashMap<Address, Inbox>>>,
}

impl InProcessNetwork {
    /// An empty network.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            peers: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Joins a node signing with `signer`, accepting messages from `members`. Must be called
    /// inside a tokio runtime (it spawns the node's receive loop).
    pub fn join(
        &self,
        signer: PrivateKeySigner,
        members: Arc<dyn Membership>,
        clock: Arc<dyn Clock>,
    ) -> InProcessTransport {
        let (tx, rx) = mpsc::channel(self.config.inbox_capacity.max(1));
        let address = signer.address();
        self.peers.lock().expect("peers lock").insert(address, tx);
        let node = Arc::new(Node {
            network: self.clone(),
            address,
            signer,
            clock: clock.clone(),
            nonce: AtomicU64::new(
                u64::try_from(clock.now().as_millis())
                    .unwrap_or(0)
                    .saturating_mul(1000),
            ),
            next_request: AtomicU64::new(1),
            verifier: Verifier::new(
                self.config.chain_id,
                i64::try_from(self.config.max_skew.as_millis()).unwrap_or(i64::MAX),
            ),
            members,
            stats: Stats::default(),
            local: Local::default(),
            pending: Mutex::new(HashMap::new()),
        });
        let receiver = node.clone();
        let task = tokio::spawn(async move { receiver.receive(rx).await });
        InProcessTransport {
            node,
            task: Arc::new(task),
        }
    }

    /// Delivers raw bytes to `to`'s inbox as if they came off the wire (tests: forged and
    /// malformed frames). Returns `false` when `to` is unknown or its inbox is full.
    pub fn inject(&self, to: Address, frame: Vec<u8>) -> bool {
        let inbox = self.peers.lock().expect("peers lock").get(&to).cloned();
        inbox.is_some_and(|i| i.try_send(frame).is_ok())
    }

    /// Removes a node (it stops receiving; its requests fail).
    pub fn leave(&self, address: Address) {
        self.peers.lock().expect("peers lock").remove(&address);
    }

    fn inbox(&self, to: Address) -> Option<Inbox> {
        self.peers.lock().expect("peers lock").get(&to).cloned()
    }

    fn others(&self, me: Address) -> Vec<Inbox> {
        let peers = self.peers.lock().expect("peers lock");
        peers
            .iter()
            .filter(|(a, _)| **a != me)
            .map(|(_, i)| i.clone())
            .collect()
    }
}

#[derive(Debug)]
struct Node {
    network: InProcessNetwork,
    address: Address,
    signer: PrivateKeySigner,
    clock: Arc<dyn Clock>,
    nonce: AtomicU64,
    next_request: AtomicU64,
    verifier: Verifier,
    members: Arc<dyn Membership>,
    stats: Stats,
    local: Local,
    pending: Mutex<HashMap<u64, (Address, oneshot::Sender<Bytes>)>>,
}

impl Node {
    fn sign(&self, topic: &str, payload: Bytes) -> Vec<u8> {
        let nonce = self.nonce.fetch_add(1, Ordering::Relaxed);
        SignedMessage::sign(
            &self.signer,
            self.network.config.chain_id,
            topic,
            payload,
            self.clock.now(),
            nonce,
        )
        .encode()
    }

    async fn receive(self: Arc<Self>, mut rx: mpsc::Receiver<Vec<u8>>) {
        while let Some(frame) = rx.recv().await {
            self.stats.received();
            let members = |a: Address| self.members.is_member(a);
            let msg = match self.verifier.verify(&frame, self.clock.now(), &members) {
                Ok(m) => m,
                Err(reason) => {
                    self.stats.dropped(reason);
                    continue;
                }
            };
            if let Some(topic) = msg.topic.strip_prefix("pub/") {
                self.local.deliver(topic, &msg, &self.stats);
            } else if let Some(kind) = msg.topic.strip_prefix("req/") {
                let kind = kind.to_owned();
                self.handle_request(&kind, msg);
            } else if msg.topic.starts_with("resp/") {
                self.handle_response(msg);
            } else {
                self.stats.dropped(super::DropReason::Malformed);
            }
        }
    }

    fn handle_request(self: &Arc<Self>, kind: &str, msg: SignedMessage) {
        let Some((id, body)) = split_id(&msg.payload) else {
            self.stats.dropped(super::DropReason::Malformed);
            return;
        };
        let Some(server) = self.local.server(kind) else {
            return;
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        let req = Request::new(msg.sender, kind.to_owned(), body, reply_tx);
        if server.try_send(req).is_err() {
            self.stats.lagged();
            return;
        }
        self.stats.delivered();
        let node = self.clone();
        let kind = kind.to_owned();
        let to = msg.sender;
        tokio::spawn(async move {
            if let Ok(body) = reply_rx.await {
                let frame = node.sign(&format!("resp/{kind}"), with_id(id, &body));
                if let Some(inbox) = node.network.inbox(to) {
                    let _ = inbox.try_send(frame);
                }
            }
        });
    }

    fn handle_response(&self, msg: SignedMessage) {
        let Some((id, body)) = split_id(&msg.payload) else {
            self.stats.dropped(super::DropReason::Malformed);
            return;
        };
        let mut pending = self.pending.lock().expect("pending lock");
        // Only the peer that was asked may answer.
        if pending
            .get(&id)
            .is_some_and(|(peer, _)| *peer == msg.sender)
            && let Some((_, tx)) = pending.remove(&id)
            && tx.send(body).is_ok()
        {
            self.stats.delivered();
        }
    }
}

/// One node's handle on an [`InProcessNetwork`]. Clones share the node.
#[derive(Debug, Clone)]
pub struct InProcessTransport {
    node: Arc<Node>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for InProcessTransport {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.node.network.leave(self.node.address);
            self.task.abort();
        }
    }
}

#[async_trait::async_trait]
impl Transport for InProcessTransport {
    fn local_address(&self) -> Address {
        self.node.address
    }

    async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), TransportError> {
        check_limits(topic, &payload)?;
        let frame = self.node.sign(&format!("pub/{topic}"), payload);
        for inbox in self.node.network.others(self.node.address) {
            // A full inbox drops the frame for that peer, as a network would.
            let _ = inbox.try_send(frame.clone());
        }
        Ok(())
    }

    fn subscribe(&self, topic: &str, capacity: usize) -> mpsc::Receiver<Message> {
        self.node.local.subscribe(topic, capacity)
    }

    async fn request(
        &self,
        peer: Address,
        kind: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, TransportError> {
        check_limits(kind, &payload)?;
        let inbox = self
            .node
            .network
            .inbox(peer)
            .ok_or(TransportError::UnknownPeer(peer))?;
        let id = self.node.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.node
            .pending
            .lock()
            .expect("pending lock")
            .insert(id, (peer, tx));
        let frame = self
            .node
            .sign(&format!("req/{kind}"), with_id(id, &payload));
        if inbox.try_send(frame).is_err() {
            self.node.pending.lock().expect("pending lock").remove(&id);
            return Err(TransportError::UnknownPeer(peer));
        }
        let result = tokio::time::timeout(timeout, rx).await;
        self.node.pending.lock().expect("pending lock").remove(&id);
        match result {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(_)) => Err(TransportError::Refused),
            Err(_) => Err(TransportError::Timeout),
        }
    }

    fn serve(&self, kind: &str, capacity: usize) -> mpsc::Receiver<Request> {
        self.node.local.serve(kind, capacity)
    }

    fn stats(&self) -> StatsSnapshot {
        self.node.stats.snapshot()
    }
}
