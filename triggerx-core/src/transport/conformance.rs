//! The transport conformance suite: every backend runs these cases through a [`Harness`].

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, Bytes},
    signers::local::PrivateKeySigner,
};

use super::{Transport, TransportError, envelope::SignedMessage};
use crate::Timestamp;

/// How the suite starts a backend's transports and reaches its wire.
#[async_trait::async_trait]
pub trait Harness: Send + Sync {
    /// The network's chain id (signature domain).
    fn chain_id(&self) -> u64;

    /// Starts one connected transport per key; members are exactly these keys' addresses.
    /// Returns when they can all reach each other.
    async fn start(&self, keys: Vec<PrivateKeySigner>) -> Vec<Arc<dyn Transport>>;

    /// Delivers raw frame bytes to the node `to` as if they came off the wire.
    async fn inject(&self, to: Address, frame: Vec<u8>);
}

/// A deterministic test key.
pub fn key(i: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(i)).expect("valid key")
}

async fn recv<T>(rx: &mut tokio::sync::mpsc::Receiver<T>) -> Option<T> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .ok()
        .flatten()
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Runs every case.
pub async fn run_all(h: &dyn Harness) {
    publish_reaches_every_other_member(h).await;
    request_gets_the_peers_signed_response(h).await;
    untrusted_frames_are_dropped_and_counted(h).await;
}

/// A publication reaches every other member's subscribers, not the publisher's own.
pub async fn publish_reaches_every_other_member(h: &dyn Harness) {
    let nodes = h.start(vec![key(1), key(2), key(3)]).await;
    let mut subs: Vec<_> = nodes.iter().map(|n| n.subscribe("tasks", 16)).collect();
    let mut other_topic = nodes[1].subscribe("verdicts", 16);
    nodes[0]
        .publish("tasks", Bytes::from_static(b"task-1"))
        .await
        .expect("publish");
    for (i, sub) in subs.iter_mut().enumerate().skip(1) {
        let m = recv(sub)
            .await
            .unwrap_or_else(|| panic!("node {i} got the message"));
        assert_eq!(m.sender, nodes[0].local_address());
        assert_eq!(m.topic, "tasks");
        assert_eq!(&m.payload[..], b"task-1");
    }
    settle().await;
    assert!(
        subs[0].try_recv().is_err(),
        "the publisher does not receive its own message"
    );
    assert!(other_topic.try_recv().is_err(), "other topics see nothing");
    assert!(matches!(
        nodes[0].publish("", Bytes::new()).await,
        Err(TransportError::TooLarge("topic"))
    ));
}

/// Requests reach the served kind and come back with the peer's answer; unknown peers and
/// unserved kinds fail cleanly.
pub async fn request_gets_the_peers_signed_response(h: &dyn Harness) {
    let nodes = h.start(vec![key(4), key(5)]).await;
    let mut server = nodes[1].serve("report", 8);
    tokio::spawn(async move {
        while let Some(req) = server.recv().await {
            let mut body = b"ack:".to_vec();
            body.extend_from_slice(&req.payload);
            req.respond(Bytes::from(body));
        }
    });
    let to = nodes[1].local_address();
    let resp = nodes[0]
        .request(
            to,
            "report",
            Bytes::from_static(b"r1"),
            Duration::from_secs(5),
        )
        .await
        .expect("response");
    assert_eq!(&resp[..], b"ack:r1");
    let err = nodes[0]
        .request(
            key(99).address(),
            "report",
            Bytes::new(),
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::UnknownPeer(_)), "{err:?}");
    let err = nodes[0]
        .request(to, "unserved", Bytes::new(), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::Timeout | TransportError::Refused),
        "{err:?}"
    );
}

/// Forged, unsigned, malformed, replayed, stale and non-member frames are never delivered,
/// and each is counted.
pub async fn untrusted_frames_are_dropped_and_counted(h: &dyn Harness) {
    let nodes = h.start(vec![key(6), key(7)]).await;
    let target = nodes[1].local_address();
    let mut sub = nodes[1].subscribe("tasks", 64);
    let now = Timestamp::now();
    let chain = h.chain_id();
    let member = key(6);
    let good = SignedMessage::sign(
        &member,
        chain,
        "pub/tasks",
        Bytes::from_static(b"ok"),
        now,
        1,
    );
    // Valid once, then a replay.
    h.inject(target, good.encode()).await;
    h.inject(target, good.encode()).await;
    // Forged: payload changed after signing.
    let mut forged = SignedMessage::sign(
        &member,
        chain,
        "pub/tasks",
        Bytes::from_static(b"a"),
        now,
        2,
    );
    forged.payload = Bytes::from_static(b"evil");
    h.inject(target, forged.encode()).await;
    // Unsigned.
    let mut unsigned = SignedMessage::sign(
        &member,
        chain,
        "pub/tasks",
        Bytes::from_static(b"u"),
        now,
        3,
    );
    unsigned.signature = [0; 65];
    h.inject(target, unsigned.encode()).await;
    // Signed for another network.
    let wrong_chain = SignedMessage::sign(&member, chain + 1, "pub/tasks", Bytes::new(), now, 4);
    h.inject(target, wrong_chain.encode()).await;
    // Stale.
    let stale = SignedMessage::sign(
        &member,
        chain,
        "pub/tasks",
        Bytes::new(),
        now.add_millis(-600_000),
        5,
    );
    h.inject(target, stale.encode()).await;
    // Not a member.
    let outsider = SignedMessage::sign(&key(66), chain, "pub/tasks", Bytes::new(), now, 6);
    h.inject(target, outsider.encode()).await;
    // Malformed.
    h.inject(target, vec![1, 2, 3]).await;
    h.inject(target, Vec::new()).await;
    let first = recv(&mut sub).await.expect("the valid message arrives");
    assert_eq!(&first.payload[..], b"ok");
    settle().await;
    assert!(sub.try_recv().is_err(), "nothing untrusted is delivered");
    let s = nodes[1].stats();
    assert_eq!(s.replayed, 1, "{s:?}");
    assert_eq!(s.forged, 3, "{s:?}");
    assert_eq!(s.stale, 1, "{s:?}");
    assert_eq!(s.unknown_sender, 1, "{s:?}");
    assert_eq!(s.malformed, 2, "{s:?}");
    assert_eq!(s.rejected(), 8, "{s:?}");
}
