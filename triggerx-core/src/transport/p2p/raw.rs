//! A raw libp2p peer for tests: puts arbitrary bytes on the wire (the direct protocol or a
//! gossip topic), so tests can feed forged, stale, replayed and malformed frames to a real node
//! over a real socket.

use std::{collections::HashMap, time::Duration};

use libp2p::{
    Multiaddr, PeerId, Swarm,
    futures::StreamExt,
    gossipsub::{IdentTopic, TopicHash},
    identity::Keypair,
    request_response::{self, OutboundRequestId, ProtocolSupport},
    swarm::{SwarmEvent, dial_opts::DialOpts},
};
use tokio::sync::{mpsc, oneshot};

use super::{
    Config, P2pError, gossip_topic, hello,
    swarm::{self, Behaviour, BehaviourEvent},
};

type Reply = oneshot::Sender<Result<Vec<u8>, P2pError>>;

#[derive(Debug)]
enum Job {
    Send {
        to: String,
        frame: Vec<u8>,
        reply: Reply,
    },
    Publish {
        to: String,
        topic: String,
        frame: Vec<u8>,
        reply: Reply,
    },
}

/// A libp2p node with a fresh identity that verifies nothing, answers nothing and only sends
/// raw frames, on the network of chain 31337 (the default). Dropping it stops its task.
#[derive(Debug)]
pub struct RawPeer {
    jobs: mpsc::Sender<Job>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn target(to: &str) -> Result<(PeerId, Multiaddr), P2pError> {
    let addr = swarm::parse(to)?;
    let peer = hello::peer_of(&addr).ok_or_else(|| P2pError::InvalidAddress {
        addr: to.to_owned(),
        message: "no /p2p/<peer id>".into(),
    })?;
    Ok((peer, addr))
}

fn connect(swarm: &mut Swarm<Behaviour>, peer: PeerId, addr: Multiaddr) {
    if !swarm.is_connected(&peer) {
        let _ = swarm.dial(DialOpts::peer_id(peer).addresses(vec![addr]).build());
    }
}

impl RawPeer {
    /// Starts the peer (it does not listen). Must run inside a tokio runtime.
    pub fn start() -> Result<Self, P2pError> {
        let config = Config::default();
        let chain_id = config.chain_id;
        let mut swarm = swarm::build(
            Keypair::generate_ed25519(),
            &config,
            ProtocolSupport::Outbound,
        )?;
        let (tx, mut rx) = mpsc::channel::<Job>(64);
        let task = tokio::spawn(async move {
            let mut pending: HashMap<OutboundRequestId, Reply> = HashMap::new();
            // Publications wait until the target's subscription to their topic is known.
            let mut waiting: Vec<(PeerId, TopicHash, Vec<u8>, Reply)> = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tokio::select! {
                    event = swarm.select_next_some() => {
                        let SwarmEvent::Behaviour(BehaviourEvent::Direct(e)) = event else {
                            continue;
                        };
                        match e {
                            request_response::Event::Message {
                                message: request_response::Message::Response { request_id, response },
                                ..
                            } => {
                                if let Some(r) = pending.remove(&request_id) {
                                    let _ = r.send(Ok(response));
                                }
                            }
                            request_response::Event::OutboundFailure { request_id, error, .. } => {
                                if let Some(r) = pending.remove(&request_id) {
                                    let _ = r.send(Err(P2pError::Send(error.to_string())));
                                }
                            }
                            _ => {}
                        }
                    }
                    job = rx.recv() => match job {
                        None => break,
                        Some(Job::Send { to, frame, reply }) => match target(&to) {
                            Ok((peer, addr)) => {
                                connect(&mut swarm, peer, addr);
                                let id = swarm.behaviour_mut().direct().send_request(&peer, frame);
                                pending.insert(id, reply);
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        },
                        Some(Job::Publish { to, topic, frame, reply }) => match target(&to) {
                            Ok((peer, addr)) => {
                                connect(&mut swarm, peer, addr);
                                let hash = IdentTopic::new(gossip_topic(chain_id, &topic)).hash();
                                waiting.push((peer, hash, frame, reply));
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        },
                    },
                    _ = tick.tick() => {
                        let gs = swarm.behaviour_mut().gossipsub();
                        let ready: Vec<usize> = waiting
                            .iter()
                            .enumerate()
                            .filter(|(_, (peer, hash, _, _))| {
                                gs.all_peers().any(|(p, topics)| p == peer && topics.contains(&hash))
                            })
                            .map(|(i, _)| i)
                            .collect();
                        for i in ready.into_iter().rev() {
                            let (_, hash, frame, reply) = waiting.remove(i);
                            let result = gs
                                .publish(hash, frame)
                                .map(|_| Vec::new())
                                .map_err(|e| P2pError::Send(e.to_string()));
                            let _ = reply.send(result);
                        }
                    }
                }
            }
        });
        Ok(Self { jobs: tx, task })
    }

    async fn run(&self, job: impl FnOnce(Reply) -> Job) -> Result<Vec<u8>, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(job(tx))
            .await
            .map_err(|_| P2pError::Send("raw peer stopped".into()))?;
        rx.await
            .map_err(|_| P2pError::Send("raw peer stopped".into()))?
    }

    /// Sends `frame` as a direct request to the node at `to` (a multiaddr ending in
    /// `/p2p/<peer id>`) and returns its raw response (empty when the node dropped the frame).
    pub async fn send(&self, to: &str, frame: Vec<u8>) -> Result<Vec<u8>, P2pError> {
        self.run(|reply| Job::Send {
            to: to.to_owned(),
            frame,
            reply,
        })
        .await
    }

    /// Publishes `frame` as a gossip message on transport topic `topic`, once the node at `to`
    /// is connected and known to subscribe to it (wait with a timeout: a node that never
    /// subscribes never gets it).
    pub async fn publish(&self, to: &str, topic: &str, frame: Vec<u8>) -> Result<(), P2pError> {
        self.run(|reply| Job::Publish {
            to: to.to_owned(),
            topic: topic.to_owned(),
            frame,
            reply,
        })
        .await
        .map(|_| ())
    }
}
