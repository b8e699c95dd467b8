//! The libp2p identity of a node and the signed hello that binds its address to its peer id.
//!
//! A hello is an ordinary signed envelope with frame topic [`HELLO_TOPIC`] whose payload is
//! JSON `{"peer": "<peer id>", "addrs": ["<multiaddr>/p2p/<peer id>", …]}`. A receiver binds the
//! envelope's verified sender to the libp2p peer that delivered it only when `peer` names that
//! very peer (noise has authenticated it), so a hello cannot be relayed by someone else. `addrs`
//! are the sender's own listen addresses and those of its other bound peers: dial hints, each
//! authenticated again by noise and a hello when dialed.

use alloy::{primitives::keccak256, signers::local::PrivateKeySigner};
use libp2p::{Multiaddr, PeerId, identity::Keypair, multiaddr::Protocol};

/// The frame topic of hellos.
pub(super) const HELLO_TOPIC: &str = "hello";

/// At most this many dial hints are sent or followed per hello.
pub(super) const MAX_HINTS: usize = 32;

/// The node's libp2p identity: an ed25519 key derived from its secp256k1 signing key (a
/// domain-separated keccak256 of it), so a restarted node keeps its peer id and bootstrap
/// addresses with `/p2p/<peer id>` stay valid.
pub(super) fn keypair_of(signer: &PrivateKeySigner) -> Keypair {
    let mut seed = b"triggerx/libp2p-identity/v1".to_vec();
    seed.extend_from_slice(signer.to_bytes().as_slice());
    let secret = keccak256(&seed);
    Keypair::ed25519_from_bytes(secret.0).expect("32 bytes are a valid ed25519 secret")
}

/// The libp2p peer id a node signing with `signer` uses, as text.
pub fn peer_id_of(signer: &PrivateKeySigner) -> String {
    keypair_of(signer).public().to_peer_id().to_string()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct HelloBody {
    peer: String,
    addrs: Vec<String>,
}

/// The payload of a hello from `peer` with dial hints `addrs`.
pub(super) fn encode(peer: &PeerId, addrs: &[Multiaddr]) -> Vec<u8> {
    let body = HelloBody {
        peer: peer.to_string(),
        addrs: addrs
            .iter()
            .take(MAX_HINTS)
            .map(|a| a.to_string())
            .collect(),
    };
    serde_json::to_vec(&body).expect("hello encodes")
}

/// Decodes a hello payload: the peer it names and its dial hints (those that parse and end in
/// `/p2p/<peer id>`). `None` when malformed.
pub(super) fn decode(payload: &[u8]) -> Option<(PeerId, Vec<(PeerId, Multiaddr)>)> {
    let body: HelloBody = serde_json::from_slice(payload).ok()?;
    let peer = body.peer.parse().ok()?;
    let hints = body
        .addrs
        .iter()
        .take(MAX_HINTS)
        .filter_map(|a| {
            let addr: Multiaddr = a.parse().ok()?;
            Some((peer_of(&addr)?, addr))
        })
        .collect();
    Some((peer, hints))
}

/// The `/p2p/<peer id>` at the end of `addr`, if any.
pub(super) fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(p)) => Some(p),
        _ => None,
    }
}

/// `addr` with `/p2p/<peer>` appended unless it already ends in one.
pub(super) fn with_peer(addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    if peer_of(addr).is_some() {
        addr.clone()
    } else {
        addr.clone().with(Protocol::P2p(peer))
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::B256;

    use super::*;

    #[test]
    fn identity_is_stable_and_hellos_round_trip() {
        let k = PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap();
        let other = PrivateKeySigner::from_bytes(&B256::repeat_byte(2)).unwrap();
        assert_eq!(peer_id_of(&k), peer_id_of(&k));
        assert_ne!(peer_id_of(&k), peer_id_of(&other));
        let p = keypair_of(&k).public().to_peer_id();
        let q = keypair_of(&other).public().to_peer_id();
        let a: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        let payload = encode(&p, &[with_peer(&a, q), a.clone()]);
        let (peer, hints) = decode(&payload).unwrap();
        assert_eq!(peer, p);
        // The hint without a peer id is not followed.
        assert_eq!(hints, vec![(q, with_peer(&a, q))]);
        assert!(decode(b"{}").is_none());
        assert!(decode(b"not json").is_none());
    }
}
