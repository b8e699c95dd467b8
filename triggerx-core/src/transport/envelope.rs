//! Signed envelopes: the wire form of every transport message, and their verification.
//!
//! **Signature scheme** (one scheme for all messages): EIP-712 typed data
//! `Envelope(string topic,address sender,uint64 timestamp,uint64 nonce,bytes32 payloadHash)` in the
//! domain `{ name: "TriggerX Transport", version: "1", chainId }` of the network, signed with the
//! sender's secp256k1 key (65-byte `r ‖ s ‖ v`). The receiver recovers the signer from the
//! signature and requires it to equal `sender`.
//!
//! **Wire encoding** (big-endian): `version u8 = 1 ‖ topic_len u16 ‖ topic ‖ sender [20] ‖
//! timestamp u64 (ms) ‖ nonce u64 ‖ payload_len u32 ‖ payload ‖ signature [65]`. Anything that does
//! not decode exactly is malformed.
//!
//! **Replay protection**: a message is accepted only if its timestamp is within `max_skew` of the
//! receiver's clock and its `(sender, nonce)` was not seen within that window.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use alloy::{
    primitives::{Address, B256, Bytes, Signature, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{Eip712Domain, SolStruct, eip712_domain},
};

use crate::Timestamp;

alloy::sol! {
    /// The EIP-712 struct a sender signs.
    struct Envelope {
        string topic;
        address sender;
        uint64 timestamp;
        uint64 nonce;
        bytes32 payloadHash;
    }
}

const VERSION: u8 = 1;

/// The EIP-712 domain of a network's transport messages.
pub fn domain(chain_id: u64) -> Eip712Domain {
    eip712_domain! {
        name: "TriggerX Transport",
        version: "1",
        chain_id: chain_id,
    }
}

/// A decoded, not yet verified message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    /// The topic (or request kind).
    pub topic: String,
    /// The claimed sender.
    pub sender: Address,
    /// The sender's clock when it signed.
    pub timestamp: Timestamp,
    /// Unique per sender.
    pub nonce: u64,
    /// The message body.
    pub payload: Bytes,
    /// 65-byte signature.
    pub signature: [u8; 65],
}

/// Why a message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DropReason {
    /// It does not decode.
    #[error("malformed")]
    Malformed,
    /// The signature is missing or does not recover to the claimed sender.
    #[error("forged or unsigned")]
    Forged,
    /// Its timestamp is outside the accepted window.
    #[error("stale")]
    Stale,
    /// Its (sender, nonce) was already accepted.
    #[error("replayed")]
    Replayed,
    /// The sender is not a member of the network.
    #[error("unknown sender")]
    UnknownSender,
}

impl SignedMessage {
    fn digest(&self, chain_id: u64) -> B256 {
        Envelope {
            topic: self.topic.clone(),
            sender: self.sender,
            timestamp: u64::try_from(self.timestamp.as_millis()).unwrap_or(0),
            nonce: self.nonce,
            payloadHash: keccak256(&self.payload),
        }
        .eip712_signing_hash(&domain(chain_id))
    }

    /// Signs a new message.
    pub fn sign(
        signer: &PrivateKeySigner,
        chain_id: u64,
        topic: &str,
        payload: Bytes,
        timestamp: Timestamp,
        nonce: u64,
    ) -> Self {
        let mut msg = Self {
            topic: topic.to_owned(),
            sender: signer.address(),
            timestamp,
            nonce,
            payload,
            signature: [0; 65],
        };
        let sig = signer
            .sign_hash_sync(&msg.digest(chain_id))
            .expect("local signing cannot fail");
        msg.signature = sig.as_bytes();
        msg
    }

    /// Whether the signature recovers to `sender`.
    pub fn signature_valid(&self, chain_id: u64) -> bool {
        let Ok(sig) = Signature::from_raw(&self.signature) else {
            return false;
        };
        sig.recover_address_from_prehash(&self.digest(chain_id))
            .is_ok_and(|a| a == self.sender)
    }

    /// The wire encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(1 + 2 + self.topic.len() + 20 + 16 + 4 + self.payload.len() + 65);
        out.push(VERSION);
        out.extend_from_slice(&(self.topic.len() as u16).to_be_bytes());
        out.extend_from_slice(self.topic.as_bytes());
        out.extend_from_slice(self.sender.as_slice());
        out.extend_from_slice(&(self.timestamp.as_millis() as u64).to_be_bytes());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decodes the wire encoding; `None` when malformed.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        if r.take(1)?[0] != VERSION {
            return None;
        }
        let topic_len = u16::from_be_bytes(r.take(2)?.try_into().ok()?) as usize;
        let topic = std::str::from_utf8(r.take(topic_len)?).ok()?.to_owned();
        let sender = Address::from_slice(r.take(20)?);
        let timestamp = i64::try_from(u64::from_be_bytes(r.take(8)?.try_into().ok()?)).ok()?;
        let nonce = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let payload_len = u32::from_be_bytes(r.take(4)?.try_into().ok()?) as usize;
        let payload = Bytes::copy_from_slice(r.take(payload_len)?);
        let signature: [u8; 65] = r.take(65)?.try_into().ok()?;
        if !r.0.is_empty() || topic.is_empty() {
            return None;
        }
        Some(Self {
            topic,
            sender,
            timestamp: Timestamp::from_millis(timestamp),
            nonce,
            payload,
            signature,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
}

/// Verifies incoming messages: decoding, signature, freshness, replay, membership.
#[derive(Debug)]
pub struct Verifier {
    chain_id: u64,
    max_skew_ms: i64,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    set: HashMap<(Address, u64), i64>,
    order: VecDeque<(i64, Address, u64)>,
}

impl Verifier {
    /// A verifier for `chain_id`'s network accepting timestamps within `max_skew_ms`.
    pub fn new(chain_id: u64, max_skew_ms: i64) -> Self {
        Self {
            chain_id,
            max_skew_ms,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Decodes and checks one message received at `now`. `is_member` says whether a sender
    /// belongs to the network.
    pub fn verify(
        &self,
        bytes: &[u8],
        now: Timestamp,
        is_member: &dyn Fn(Address) -> bool,
    ) -> Result<SignedMessage, DropReason> {
        let msg = SignedMessage::decode(bytes).ok_or(DropReason::Malformed)?;
        if !msg.signature_valid(self.chain_id) {
            return Err(DropReason::Forged);
        }
        if (now.as_millis() - msg.timestamp.as_millis()).abs() > self.max_skew_ms {
            return Err(DropReason::Stale);
        }
        if !is_member(msg.sender) {
            return Err(DropReason::UnknownSender);
        }
        let mut seen = self.seen.lock().expect("verifier lock");
        let horizon = now.as_millis() - 2 * self.max_skew_ms;
        while seen.order.front().is_some_and(|(t, _, _)| *t < horizon) {
            let (_, a, n) = seen.order.pop_front().expect("front exists");
            seen.set.remove(&(a, n));
        }
        let key = (msg.sender, msg.nonce);
        if seen.set.contains_key(&key) {
            return Err(DropReason::Replayed);
        }
        seen.set.insert(key, now.as_millis());
        seen.order
            .push_back((now.as_millis(), msg.sender, msg.nonce));
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::repeat_byte(i)).unwrap()
    }

    #[test]
    fn round_trip_and_checks() {
        let now = Timestamp::from_secs(1_800_000_000);
        let m = SignedMessage::sign(&key(1), 31337, "tasks", Bytes::from_static(b"hi"), now, 7);
        let bytes = m.encode();
        assert_eq!(SignedMessage::decode(&bytes), Some(m.clone()));
        let v = Verifier::new(31337, 30_000);
        let all = |_: Address| true;
        assert_eq!(v.verify(&bytes, now, &all), Ok(m.clone()));
        assert_eq!(v.verify(&bytes, now, &all), Err(DropReason::Replayed));
        // Another network's signature does not verify here.
        let other = SignedMessage::sign(&key(1), 1, "tasks", Bytes::new(), now, 8).encode();
        assert_eq!(v.verify(&other, now, &all), Err(DropReason::Forged));
        // Tampered payload.
        let mut t = m;
        t.payload = Bytes::from_static(b"ho");
        t.nonce = 9;
        assert_eq!(v.verify(&t.encode(), now, &all), Err(DropReason::Forged));
        // Claimed sender differs from the signer.
        let mut s = SignedMessage::sign(&key(2), 31337, "tasks", Bytes::new(), now, 10);
        s.sender = key(1).address();
        assert_eq!(v.verify(&s.encode(), now, &all), Err(DropReason::Forged));
        let stale = SignedMessage::sign(
            &key(1),
            31337,
            "tasks",
            Bytes::new(),
            now.add_millis(-60_000),
            11,
        );
        assert_eq!(v.verify(&stale.encode(), now, &all), Err(DropReason::Stale));
        let outsider = SignedMessage::sign(&key(3), 31337, "tasks", Bytes::new(), now, 12);
        let members = |a: Address| a != key(3).address();
        assert_eq!(
            v.verify(&outsider.encode(), now, &members),
            Err(DropReason::UnknownSender)
        );
        assert_eq!(
            v.verify(&bytes[..bytes.len() - 1], now, &all),
            Err(DropReason::Malformed)
        );
        assert_eq!(v.verify(&[], now, &all), Err(DropReason::Malformed));
        let mut long = bytes;
        long.push(0);
        assert_eq!(v.verify(&long, now, &all), Err(DropReason::Malformed));
    }
}
