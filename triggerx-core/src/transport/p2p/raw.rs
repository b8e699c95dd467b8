//! A raw libp2p peer for tests: puts arbitrary bytes on the wire of the direct protocol, so
//! tests can feed forged, stale, replayed and malformed frames to a real node over a real socket.

use std::collections::HashMap;

use libp2p::{
    futures::StreamExt,
    identity::Keypair,
    request_response::{self, OutboundRequestId, ProtocolSupport},
    swarm::{SwarmEvent, dial_opts::DialOpts},
};
use tokio::sync::{mpsc, oneshot};

use super::{
    Config, P2pError, hello,
    swarm::{self, BehaviourEvent},
};

type Reply = oneshot::Sender<Result<Vec<u8>, P2pError>>;

/// A libp2p node with a fresh identity that verifies nothing, answers nothing and only sends
/// raw frames. Dropping it stops its task.
#[derive(Debug)]
pub struct RawPeer {
    sends: mpsc::Sender<(String, Vec<u8>, Reply)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawPeer {
    /// Starts the peer (it does not listen). Must run inside a tokio runtime.
    pub fn start() -> Result<Self, P2pError> {
        let mut swarm = swarm::build(
            Keypair::generate_ed25519(),
            &Config::default(),
            ProtocolSupport::Outbound,
        )?;
        let (tx, mut rx) = mpsc::channel::<(String, Vec<u8>, Reply)>(64);
        let task = tokio::spawn(async move {
            let mut pending: HashMap<OutboundRequestId, Reply> = HashMap::new();
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
                    s = rx.recv() => {
                        let Some((to, frame, reply)) = s else { break };
                        let addr = match swarm::parse(&to) {
                            Ok(a) => a,
                            Err(e) => {
                                let _ = reply.send(Err(e));
                                continue;
                            }
                        };
                        let Some(peer) = hello::peer_of(&addr) else {
                            let _ = reply.send(Err(P2pError::InvalidAddress {
                                addr: to,
                                message: "no /p2p/<peer id>".into(),
                            }));
                            continue;
                        };
                        if !swarm.is_connected(&peer) {
                            let _ = swarm.dial(DialOpts::peer_id(peer).addresses(vec![addr]).build());
                        }
                        let id = swarm.behaviour_mut().direct().send_request(&peer, frame);
                        pending.insert(id, reply);
                    }
                }
            }
        });
        Ok(Self { sends: tx, task })
    }

    /// Sends `frame` as a direct request to the node at `to` (a multiaddr ending in
    /// `/p2p/<peer id>`) and returns its raw response; an error when the node gave none (as it
    /// does for frames it drops).
    pub async fn send(&self, to: &str, frame: Vec<u8>) -> Result<Vec<u8>, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.sends
            .send((to.to_owned(), frame, tx))
            .await
            .map_err(|_| P2pError::Send("raw peer stopped".into()))?;
        rx.await
            .map_err(|_| P2pError::Send("raw peer stopped".into()))?
    }
}
