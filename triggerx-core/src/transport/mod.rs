//! The transport seam: publish/subscribe on named topics and request/response to a peer, every
//! message a [signed envelope](envelope). Unsigned, forged, stale, replayed, malformed or
//! non-member messages are dropped and counted ([`Stats`]), never delivered.
//!
//! Backends: [`inprocess`] (bounded tokio channels between transports in one process) and, with
//! the `p2p` feature, `p2p` (libp2p between OS processes: gossipsub, request-response,
//! identify, noise, yamux); both run the same [`conformance`] suite. No backend type appears in
//! this module's API.

#[cfg(feature = "test-utils")]
pub mod conformance;
pub mod envelope;
pub mod inprocess;
mod local;
#[cfg(feature = "p2p")]
pub mod p2p;

use std::{
    collections::HashSet,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use alloy::primitives::{Address, Bytes};
use tokio::sync::{mpsc, oneshot};

pub use self::envelope::DropReason;
use crate::Timestamp;

/// A verified message received on a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic.
    pub topic: String,
    /// The verified sender.
    pub sender: Address,
    /// The body.
    pub payload: Bytes,
    /// The sender's signing time.
    pub timestamp: Timestamp,
}

/// A verified request from a peer, to be answered with [`Request::respond`].
#[derive(Debug)]
pub struct Request {
    /// The verified requester.
    pub from: Address,
    /// The request kind.
    pub kind: String,
    /// The body.
    pub payload: Bytes,
    reply: oneshot::Sender<Bytes>,
}

impl Request {
    /// Builds a request (backends only).
    pub fn new(from: Address, kind: String, payload: Bytes, reply: oneshot::Sender<Bytes>) -> Self {
        Self {
            from,
            kind,
            payload,
            reply,
        }
    }

    /// Sends the response; `false` when the requester is gone.
    pub fn respond(self, body: Bytes) -> bool {
        self.reply.send(body).is_ok()
    }
}

/// Transport failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The transport was shut down.
    #[error("transport closed")]
    Closed,
    /// No response within the timeout.
    #[error("request timed out")]
    Timeout,
    /// The peer is not reachable.
    #[error("unknown or unreachable peer {0}")]
    UnknownPeer(Address),
    /// The peer does not serve this request kind, or dropped the request.
    #[error("request refused")]
    Refused,
    /// A topic or payload exceeds the limits.
    #[error("message too large: {0}")]
    TooLarge(&'static str),
}

impl TransportError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Timeout | Self::UnknownPeer(_))
    }
}

/// Who may send messages: the network's members (registered keepers and services).
pub trait Membership: Send + Sync + std::fmt::Debug {
    /// Whether `address` is a member.
    fn is_member(&self, address: Address) -> bool;
}

/// Everyone with a valid signature is a member (open networks, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Membership for AllowAll {
    fn is_member(&self, _: Address) -> bool {
        true
    }
}

/// A fixed set of members.
#[derive(Debug, Clone, Default)]
pub struct Members(pub HashSet<Address>);

impl Membership for Members {
    fn is_member(&self, address: Address) -> bool {
        self.0.contains(&address)
    }
}

/// Counters of a transport, as plain numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Frames received.
    pub received: u64,
    /// Messages delivered to subscribers or servers, and responses to requesters.
    pub delivered: u64,
    /// Dropped: did not decode.
    pub malformed: u64,
    /// Dropped: missing, invalid or mismatched signature.
    pub forged: u64,
    /// Dropped: timestamp outside the window.
    pub stale: u64,
    /// Dropped: (sender, nonce) already seen.
    pub replayed: u64,
    /// Dropped: sender not a member.
    pub unknown_sender: u64,
    /// Dropped: a local subscriber's queue was full.
    pub lagged: u64,
}

impl StatsSnapshot {
    /// Every message dropped for being untrustworthy.
    pub fn rejected(&self) -> u64 {
        self.malformed + self.forged + self.stale + self.replayed + self.unknown_sender
    }
}

/// Live counters (shared by a backend's tasks).
#[derive(Debug, Default)]
pub struct Stats {
    received: AtomicU64,
    delivered: AtomicU64,
    malformed: AtomicU64,
    forged: AtomicU64,
    stale: AtomicU64,
    replayed: AtomicU64,
    unknown_sender: AtomicU64,
    lagged: AtomicU64,
}

impl Stats {
    /// Counts a received frame.
    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a delivery.
    pub fn delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a subscriber that could not keep up.
    pub fn lagged(&self) {
        self.lagged.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a dropped message.
    pub fn dropped(&self, reason: DropReason) {
        let c = match reason {
            DropReason::Malformed => &self.malformed,
            DropReason::Forged => &self.forged,
            DropReason::Stale => &self.stale,
            DropReason::Replayed => &self.replayed,
            DropReason::UnknownSender => &self.unknown_sender,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            received: g(&self.received),
            delivered: g(&self.delivered),
            malformed: g(&self.malformed),
            forged: g(&self.forged),
            stale: g(&self.stale),
            replayed: g(&self.replayed),
            unknown_sender: g(&self.unknown_sender),
            lagged: g(&self.lagged),
        }
    }
}

/// Limits every backend enforces.
pub const MAX_TOPIC_LEN: usize = 256;
/// Largest payload in bytes (1 MiB).
pub const MAX_PAYLOAD: usize = 1 << 20;

/// Publish/subscribe and request/response with signed envelopes. Object-safe through
/// `async_trait`; services hold an `Arc<dyn Transport>`.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// This node's signing address.
    fn local_address(&self) -> Address;

    /// Signs and publishes `payload` on `topic` to every other member (not to itself).
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), TransportError>;

    /// Receives verified messages published on `topic` by others, through a bounded queue of
    /// `capacity` (when it is full, new messages are dropped and counted as `lagged`).
    fn subscribe(&self, topic: &str, capacity: usize) -> mpsc::Receiver<Message>;

    /// Sends a signed request of `kind` to `peer` and waits for its signed response.
    async fn request(
        &self,
        peer: Address,
        kind: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, TransportError>;

    /// Receives verified requests of `kind`, through a bounded queue of `capacity`.
    fn serve(&self, kind: &str, capacity: usize) -> mpsc::Receiver<Request>;

    /// The transport's counters.
    fn stats(&self) -> StatsSnapshot;
}

fn check_limits(topic: &str, payload: &[u8]) -> Result<(), TransportError> {
    if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
        return Err(TransportError::TooLarge("topic"));
    }
    if payload.len() > MAX_PAYLOAD {
        return Err(TransportError::TooLarge("payload"));
    }
    Ok(())
}
