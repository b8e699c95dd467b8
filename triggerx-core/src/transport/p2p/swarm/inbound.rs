//! Inbound frames: gossip messages and direct requests, verified and dispatched; hellos bind
//! addresses to peers; requests go to their servers and their answers back, signed.

use std::time::Instant;

use libp2p::{
    Multiaddr, PeerId,
    gossipsub::{self, MessageAcceptance},
    request_response::{self, ResponseChannel},
    swarm::dial_opts::{DialOpts, PeerCondition},
};
use tokio::sync::oneshot;

use super::{
    super::{Control, gossip_topic},
    Driver, HELLO_ATTEMPTS, HELLO_RETRY, HELLO_TOPIC, MAX_INBOUND_PENDING, MAX_PEERS, Outbound,
    hello,
};
use crate::transport::{
    DropReason, Request, TransportError,
    envelope::SignedMessage,
    local::{split_id, with_id},
};

impl Driver {
    pub(super) fn on_gossip(&mut self, e: gossipsub::Event) {
        match e {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                // The frame topic must be the `pub/` topic of the gossip topic it came on.
                let prefix = gossip_topic(self.shared.chain_id, "");
                let topic = message
                    .topic
                    .as_str()
                    .strip_prefix(prefix.as_str())
                    .map(|t| format!("pub/{t}"));
                let verified = self
                    .shared
                    .verify(&message.data, |t| topic.as_deref() == Some(t));
                let acceptance = match verified {
                    Ok(msg) => {
                        self.shared.local.deliver(
                            &msg.topic["pub/".len()..],
                            &msg,
                            &self.shared.stats,
                        );
                        MessageAcceptance::Accept
                    }
                    Err(DropReason::Malformed | DropReason::Forged) => MessageAcceptance::Reject,
                    Err(_) => MessageAcceptance::Ignore,
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                let mut late = Vec::new();
                for r in &mut self.recent {
                    if r.topic == topic && r.reached.insert(peer_id) {
                        late.push(r.frame.clone());
                    }
                }
                for frame in late {
                    let id = self
                        .swarm
                        .behaviour_mut()
                        .direct
                        .send_request(&peer_id, frame);
                    self.outbound.insert(id, Outbound::Ack);
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_direct(&mut self, e: request_response::Event<Vec<u8>, Vec<u8>>) {
        match e {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.on_request(peer, &request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(Outbound::Caller(_, reply)) = self.outbound.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                match self.outbound.remove(&request_id) {
                    Some(Outbound::Hello(attempt)) if attempt < HELLO_ATTEMPTS => {
                        // Try again shortly while the peer stays connected.
                        self.hello_retry
                            .push((peer, Instant::now() + HELLO_RETRY, attempt + 1));
                    }
                    Some(Outbound::Caller(to, reply)) => {
                        let err = match error {
                            request_response::OutboundFailure::Timeout => TransportError::Timeout,
                            request_response::OutboundFailure::DialFailure => {
                                TransportError::UnknownPeer(to)
                            }
                            _ => TransportError::Refused,
                        };
                        let _ = reply.send(Err(err));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// A frame that arrived on the direct protocol: a hello, a request, or a publication sent
    /// straight to this node (catch-up). Any other frame topic is malformed. Frames that do not
    /// verify get an empty answer (the stream closes).
    fn on_request(&mut self, peer: PeerId, frame: &[u8], channel: ResponseChannel<Vec<u8>>) {
        let carried = |t: &str| t == HELLO_TOPIC || t.starts_with("pub/") || t.starts_with("req/");
        let Ok(msg) = self.shared.verify(frame, carried) else {
            return;
        };
        if msg.topic == HELLO_TOPIC {
            self.on_hello(peer, &msg);
            let _ = self
                .swarm
                .behaviour_mut()
                .direct
                .send_response(channel, Vec::new());
        } else if let Some(topic) = msg.topic.strip_prefix("pub/") {
            self.shared.local.deliver(topic, &msg, &self.shared.stats);
            let _ = self
                .swarm
                .behaviour_mut()
                .direct
                .send_response(channel, Vec::new());
        } else if let Some(kind) = msg.topic.strip_prefix("req/") {
            self.serve(kind.to_owned(), msg, channel);
        }
    }

    fn on_hello(&mut self, peer: PeerId, msg: &SignedMessage) {
        let Some((named, hints)) = hello::decode(&msg.payload) else {
            self.shared.stats.dropped(DropReason::Malformed);
            return;
        };
        if named != peer {
            // Someone relays another node's hello: not a binding.
            self.shared.stats.dropped(DropReason::Forged);
            return;
        }
        let previous = self
            .shared
            .bound
            .lock()
            .expect("bound lock")
            .insert(msg.sender, peer);
        if let Some(old) = self.peer_address.insert(peer, msg.sender)
            && old != msg.sender
        {
            self.shared.bound.lock().expect("bound lock").remove(&old);
        }
        // The sender's own listen addresses are hints naming itself.
        let own: Vec<Multiaddr> = hints
            .iter()
            .filter(|(p, _)| *p == peer)
            .map(|(_, a)| a.clone())
            .collect();
        if !own.is_empty() {
            for a in &own {
                self.swarm.add_peer_address(peer, a.clone());
            }
            self.peer_addrs.insert(peer, own);
        }
        if previous != Some(peer) {
            // Tell the other peers about the new one, so they connect to it.
            self.announce(peer);
        }
        for (p, addr) in hints {
            if p == self.shared.peer_id
                || self.swarm.is_connected(&p)
                || self.swarm.connected_peers().count() >= MAX_PEERS
            {
                continue;
            }
            let opts = DialOpts::peer_id(p)
                .addresses(vec![addr])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            let _ = self.swarm.dial(opts);
        }
    }

    fn serve(&mut self, kind: String, msg: SignedMessage, channel: ResponseChannel<Vec<u8>>) {
        let Some((id, body)) = split_id(&msg.payload) else {
            self.shared.stats.dropped(DropReason::Malformed);
            return;
        };
        let server = self.shared.local.server(&kind);
        // Not served here: dropping the channel refuses the request.
        let Some(server) = server else { return };
        if self.inbound.len() >= MAX_INBOUND_PENDING {
            self.shared.stats.lagged();
            return;
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        if server
            .try_send(Request::new(msg.sender, kind.clone(), body, reply_tx))
            .is_err()
        {
            self.shared.stats.lagged();
            return;
        }
        self.shared.stats.delivered();
        let key = self.next_inbound;
        self.next_inbound += 1;
        self.inbound.insert(key, channel);
        let shared = self.shared.clone();
        let control = self.control.clone();
        tokio::spawn(async move {
            let frame = reply_rx
                .await
                .ok()
                .map(|body| shared.sign(&format!("resp/{kind}"), with_id(id, &body)));
            let _ = control.send(Control::Respond { key, frame });
        });
    }
}
