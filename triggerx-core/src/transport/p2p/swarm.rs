//! The swarm task: owns the libp2p swarm, verifies every inbound frame, dispatches it, and
//! carries out the handles' commands.

mod inbound;

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use alloy::primitives::{Address, Bytes, keccak256};
use libp2p::{
    Multiaddr, PeerId, Swarm,
    core::ConnectedPoint,
    futures::StreamExt,
    gossipsub::{self, IdentTopic, TopicHash},
    identify,
    identity::Keypair,
    request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel},
    swarm::{
        ConnectionId, NetworkBehaviour, SwarmEvent,
        dial_opts::{DialOpts, PeerCondition},
    },
};
use tokio::sync::{mpsc, oneshot};

use super::{
    Command, Config, Control, P2pError, Shared, codec, gossip_topic,
    hello::{self, HELLO_TOPIC},
};
use crate::transport::TransportError;

/// At most this many recent publications, of at most this many bytes in all, are kept for
/// catch-up.
const RECENT_CAP: usize = 256;
const RECENT_BYTES: usize = 16 << 20;
/// At most this many inbound requests wait for their server's answer.
const MAX_INBOUND_PENDING: usize = 4096;
/// Dial hints are followed only while fewer peers than this are connected.
const MAX_PEERS: usize = 64;
/// Delay before a hello the transport failed is sent again, and how often it is tried.
const HELLO_RETRY: Duration = Duration::from_millis(500);
const HELLO_ATTEMPTS: u8 = 3;

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    direct: request_response::Behaviour<codec::FrameCodec>,
    identify: identify::Behaviour,
}

impl Behaviour {
    /// The direct (request-response) protocol.
    #[cfg_attr(not(feature = "test-utils"), allow(dead_code))]
    pub(super) fn direct(&mut self) -> &mut request_response::Behaviour<codec::FrameCodec> {
        &mut self.direct
    }

    /// Gossipsub.
    #[cfg_attr(not(feature = "test-utils"), allow(dead_code))]
    pub(super) fn gossipsub(&mut self) -> &mut gossipsub::Behaviour {
        &mut self.gossipsub
    }
}

/// A gossip message's id: keccak256 of its gossip topic and its frame, so the same frame
/// misfiled under another topic does not shadow the original.
fn message_id(m: &gossipsub::Message) -> gossipsub::MessageId {
    let mut bytes = m.topic.as_str().as_bytes().to_vec();
    bytes.push(0);
    bytes.extend_from_slice(&m.data);
    gossipsub::MessageId(keccak256(&bytes).to_vec())
}

/// Builds the TCP + noise + yamux swarm with gossipsub, the direct protocol and identify.
pub(super) fn build(
    keypair: Keypair,
    config: &Config,
    direct_support: ProtocolSupport,
) -> Result<Swarm<Behaviour>, P2pError> {
    let gossip = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .message_id_fn(message_id)
        .validate_messages()
        .flood_publish(true)
        .mesh_n(4)
        .mesh_n_low(1)
        .mesh_n_high(8)
        .mesh_outbound_min(1)
        .gossip_lazy(4)
        .heartbeat_interval(Duration::from_millis(500))
        .max_transmit_size(codec::MAX_FRAME + 1024)
        .duplicate_cache_time(
            config
                .max_skew
                .saturating_mul(2)
                .max(Duration::from_secs(60)),
        )
        .build()
        .map_err(|e| P2pError::Setup(e.to_string()))?;
    let chain_id = config.chain_id;
    let request_timeout = config.request_timeout;
    let idle = config.idle_timeout;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| P2pError::Setup(e.to_string()))?
        .with_behaviour(move |key| {
            let gossipsub =
                gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip)?;
            let direct = request_response::Behaviour::new(
                [(codec::DIRECT_PROTOCOL, direct_support)],
                request_response::Config::default().with_request_timeout(request_timeout),
            );
            let identify = identify::Behaviour::new(identify::Config::new(
                format!("/triggerx/{chain_id}/1"),
                key.public(),
            ));
            Ok(Behaviour {
                gossipsub,
                direct,
                identify,
            })
        })
        .map_err(|e| P2pError::Setup(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}

pub(super) fn parse(addr: &str) -> Result<Multiaddr, P2pError> {
    addr.parse()
        .map_err(|e: libp2p::multiaddr::Error| P2pError::InvalidAddress {
            addr: addr.to_owned(),
            message: e.to_string(),
        })
}

/// A bootstrap address and its redial state.
#[derive(Debug)]
struct Bootstrap {
    addr: Multiaddr,
    /// From the address's `/p2p/` suffix.
    configured: Option<PeerId>,
    /// The peer last reached there.
    peer: Option<PeerId>,
    dialing: Option<ConnectionId>,
    next: Instant,
    backoff: Duration,
}

/// A recent publication, kept for peers that subscribe late.
#[derive(Debug)]
struct Recent {
    topic: TopicHash,
    frame: Vec<u8>,
    at: Instant,
    reached: HashSet<PeerId>,
}

/// What an outbound direct request was for.
#[derive(Debug)]
enum Outbound {
    /// A catch-up publication: the ack is ignored.
    Ack,
    /// A hello (the attempt number): retried a few times when the transport fails it.
    Hello(u8),
    /// A caller's request to a member, answered with the raw response frame.
    Caller(Address, oneshot::Sender<Result<Vec<u8>, TransportError>>),
}

pub(super) struct Driver {
    swarm: Swarm<Behaviour>,
    shared: Arc<Shared>,
    control: mpsc::UnboundedSender<Control>,
    ready: Option<oneshot::Sender<Result<(), P2pError>>>,
    pending_listeners: HashMap<libp2p::core::transport::ListenerId, String>,
    bootstrap: Vec<Bootstrap>,
    redial: (Duration, Duration),
    catch_up: Duration,
    hello_interval: Duration,
    last_hello: Instant,
    hello_retry: Vec<(PeerId, Instant, u8)>,
    recent: VecDeque<Recent>,
    recent_bytes: usize,
    outbound: HashMap<OutboundRequestId, Outbound>,
    inbound: HashMap<u64, ResponseChannel<Vec<u8>>>,
    next_inbound: u64,
    /// Listen addresses identify reported per connected peer.
    peer_addrs: HashMap<PeerId, Vec<Multiaddr>>,
    /// Verified address per peer (reverse of `Shared::bound`).
    peer_address: HashMap<PeerId, Address>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("peer_id", &self.shared.peer_id)
            .finish_non_exhaustive()
    }
}

impl Driver {
    pub(super) fn new(
        config: &Config,
        keypair: Keypair,
        shared: Arc<Shared>,
        control: mpsc::UnboundedSender<Control>,
        ready: oneshot::Sender<Result<(), P2pError>>,
    ) -> Result<Self, P2pError> {
        let mut swarm = build(keypair, config, ProtocolSupport::Full)?;
        let mut pending_listeners = HashMap::new();
        for l in &config.listen {
            let addr = parse(l)?;
            let id = swarm.listen_on(addr).map_err(|e| P2pError::Listen {
                addr: l.clone(),
                message: e.to_string(),
            })?;
            pending_listeners.insert(id, l.clone());
        }
        let now = Instant::now();
        let bootstrap = config
            .bootstrap
            .iter()
            .map(|b| {
                let addr = parse(b)?;
                let configured = hello::peer_of(&addr);
                Ok(Bootstrap {
                    addr,
                    configured,
                    peer: configured,
                    dialing: None,
                    next: now,
                    backoff: config.redial.0,
                })
            })
            .collect::<Result<Vec<_>, P2pError>>()?;
        let mut driver = Self {
            swarm,
            shared,
            control,
            ready: Some(ready),
            pending_listeners,
            bootstrap,
            redial: config.redial,
            catch_up: config.catch_up.min(config.max_skew / 2),
            hello_interval: config.hello_interval,
            last_hello: now,
            hello_retry: Vec::new(),
            recent: VecDeque::new(),
            recent_bytes: 0,
            outbound: HashMap::new(),
            inbound: HashMap::new(),
            next_inbound: 1,
            peer_addrs: HashMap::new(),
            peer_address: HashMap::new(),
        };
        if driver.pending_listeners.is_empty() {
            driver.signal_ready(Ok(()));
        }
        Ok(driver)
    }

    fn signal_ready(&mut self, result: Result<(), P2pError>) {
        if let Some(r) = self.ready.take() {
            let _ = r.send(result);
        }
    }

    pub(super) async fn run(
        mut self,
        mut control: mpsc::UnboundedReceiver<Control>,
        mut commands: mpsc::Receiver<Command>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm(event),
                c = control.recv() => match c {
                    Some(Control::Shutdown) | None => break,
                    Some(c) => self.on_control(c),
                },
                c = commands.recv() => match c {
                    Some(c) => self.on_command(c),
                    None => break,
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for p in peers {
            let _ = self.swarm.disconnect_peer_id(p);
        }
        self.shared.connected.store(0, Ordering::Relaxed);
    }

    fn on_control(&mut self, c: Control) {
        match c {
            Control::Subscribe(topic) => {
                let t = IdentTopic::new(gossip_topic(self.shared.chain_id, &topic));
                let _ = self.swarm.behaviour_mut().gossipsub.subscribe(&t);
            }
            Control::Respond { key, frame } => {
                if let Some(ch) = self.inbound.remove(&key)
                    && let Some(frame) = frame
                {
                    let _ = self.swarm.behaviour_mut().direct.send_response(ch, frame);
                }
            }
            Control::Shutdown => {}
        }
    }

    fn on_command(&mut self, c: Command) {
        match c {
            Command::Publish { topic, frame } => self.publish(&topic, frame),
            Command::Request { peer, frame, reply } => {
                let target = self
                    .shared
                    .bound
                    .lock()
                    .expect("bound lock")
                    .get(&peer)
                    .copied();
                match target {
                    Some(p) => {
                        let id = self.swarm.behaviour_mut().direct.send_request(&p, frame);
                        self.outbound.insert(id, Outbound::Caller(peer, reply));
                    }
                    None => {
                        let _ = reply.send(Err(TransportError::UnknownPeer(peer)));
                    }
                }
            }
        }
    }

    fn publish(&mut self, topic: &str, frame: Vec<u8>) {
        let hash = IdentTopic::new(gossip_topic(self.shared.chain_id, topic)).hash();
        let gs = &mut self.swarm.behaviour_mut().gossipsub;
        // Flood publishing sends to every peer known to subscribe; those that subscribe later
        // get it from the catch-up below. No subscribed peer yet is not an error.
        let reached: HashSet<PeerId> = gs
            .all_peers()
            .filter(|(_, topics)| topics.contains(&&hash))
            .map(|(p, _)| *p)
            .collect();
        let _ = gs.publish(hash.clone(), frame.clone());
        self.recent_bytes += frame.len();
        self.recent.push_back(Recent {
            topic: hash,
            frame,
            at: Instant::now(),
            reached,
        });
        while self.recent.len() > RECENT_CAP || self.recent_bytes > RECENT_BYTES {
            let Some(r) = self.recent.pop_front() else {
                break;
            };
            self.recent_bytes -= r.frame.len();
        }
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|r| now.duration_since(r.at) > self.catch_up)
        {
            if let Some(r) = self.recent.pop_front() {
                self.recent_bytes -= r.frame.len();
            }
        }
        for i in 0..self.bootstrap.len() {
            self.maybe_dial(i, now);
        }
        let (due, later): (Vec<_>, Vec<_>) = self
            .hello_retry
            .drain(..)
            .partition(|(_, at, _)| *at <= now);
        self.hello_retry = later;
        for (p, _, attempt) in due {
            if self.swarm.is_connected(&p) {
                self.send_hello_attempt(p, attempt);
            }
        }
        if now.duration_since(self.last_hello) >= self.hello_interval {
            self.last_hello = now;
            let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
            for p in peers {
                self.send_hello(p);
            }
        }
    }

    fn maybe_dial(&mut self, i: usize, now: Instant) {
        let b = &self.bootstrap[i];
        if b.peer == Some(self.shared.peer_id) {
            return;
        }
        let connected = b.peer.is_some_and(|p| self.swarm.is_connected(&p));
        if connected {
            self.bootstrap[i].backoff = self.redial.0;
            return;
        }
        if b.dialing.is_some() || now < b.next {
            return;
        }
        let opts = match b.configured {
            Some(p) => DialOpts::peer_id(p)
                .addresses(vec![b.addr.clone()])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build(),
            None => DialOpts::unknown_peer_id().address(b.addr.clone()).build(),
        };
        let id = opts.connection_id();
        let dialed = self.swarm.dial(opts).is_ok();
        let b = &mut self.bootstrap[i];
        b.dialing = dialed.then_some(id);
        b.next = now + b.backoff;
        b.backoff = (b.backoff * 2).min(self.redial.1);
    }

    fn send_hello(&mut self, peer: PeerId) {
        self.send_hello_attempt(peer, 1);
    }

    fn send_hello_attempt(&mut self, peer: PeerId, attempt: u8) {
        let mut hints: Vec<Multiaddr> = self
            .shared
            .listen_addrs
            .lock()
            .expect("listen lock")
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        for (p, addrs) in &self.peer_addrs {
            if *p != peer && self.peer_address.contains_key(p) {
                hints.extend(addrs.iter().map(|a| hello::with_peer(a, *p)));
            }
        }
        hints.truncate(hello::MAX_HINTS);
        let payload = hello::encode(&self.shared.peer_id, &hints);
        let frame = self.shared.sign(HELLO_TOPIC, Bytes::from(payload));
        let id = self.swarm.behaviour_mut().direct.send_request(&peer, frame);
        self.outbound.insert(id, Outbound::Hello(attempt));
    }

    /// Sends a hello to every connected peer but `except` (announcing a newly bound peer).
    fn announce(&mut self, except: PeerId) {
        let peers: Vec<PeerId> = self
            .swarm
            .connected_peers()
            .copied()
            .filter(|p| *p != except)
            .collect();
        for p in peers {
            self.send_hello(p);
        }
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => self.on_gossip(e),
            SwarmEvent::Behaviour(BehaviourEvent::Direct(e)) => self.on_direct(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let addrs: Vec<Multiaddr> = info.listen_addrs.into_iter().take(8).collect();
                for a in &addrs {
                    self.swarm.add_peer_address(peer_id, a.clone());
                }
                self.peer_addrs.insert(peer_id, addrs);
            }
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                let full = hello::with_peer(&address, self.shared.peer_id).to_string();
                self.shared
                    .listen_addrs
                    .lock()
                    .expect("listen lock")
                    .push(full);
                self.pending_listeners.remove(&listener_id);
                if self.pending_listeners.is_empty() {
                    self.signal_ready(Ok(()));
                }
            }
            SwarmEvent::ListenerError { listener_id, error } => {
                if let Some(addr) = self.pending_listeners.remove(&listener_id) {
                    self.signal_ready(Err(P2pError::Listen {
                        addr,
                        message: error.to_string(),
                    }));
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                if let Some(addr) = self.pending_listeners.remove(&listener_id) {
                    self.signal_ready(Err(P2pError::Listen {
                        addr,
                        message: format!("listener closed: {reason:?}"),
                    }));
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                self.update_connected();
                for b in &mut self.bootstrap {
                    let here = matches!(&endpoint, ConnectedPoint::Dialer { address, .. }
                        if hello::peer_of(address).is_none_or(|p| p == peer_id)
                            && strip_peer(address) == strip_peer(&b.addr));
                    if b.dialing == Some(connection_id) || here {
                        b.dialing = None;
                        b.peer = Some(peer_id);
                        b.backoff = self.redial.0;
                    }
                }
                if num_established.get() == 1 {
                    self.send_hello(peer_id);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => {
                self.update_connected();
                if num_established == 0 {
                    self.peer_addrs.remove(&peer_id);
                }
            }
            SwarmEvent::OutgoingConnectionError { connection_id, .. } => {
                for b in &mut self.bootstrap {
                    if b.dialing == Some(connection_id) {
                        b.dialing = None;
                    }
                }
            }
            _ => {}
        }
    }

    fn update_connected(&self) {
        self.shared
            .connected
            .store(self.swarm.connected_peers().count(), Ordering::Relaxed);
    }
}

/// `addr` without a trailing `/p2p/<peer id>`.
fn strip_peer(addr: &Multiaddr) -> Multiaddr {
    let mut a = addr.clone();
    if hello::peer_of(&a).is_some() {
        a.pop();
    }
    a
}
