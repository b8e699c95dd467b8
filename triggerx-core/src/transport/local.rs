//! What every backend keeps on its own side of the wire: the local subscribers of each topic, the
//! local server of each request kind, and the request-id framing of request and response
//! payloads.

use std::{collections::HashMap, sync::Mutex};

use alloy::primitives::Bytes;
use tokio::sync::mpsc;

use super::{Message, Request, Stats, envelope::SignedMessage};

/// Local subscribers and servers.
#[derive(Debug, Default)]
pub(crate) struct Local {
    subscribers: Mutex<HashMap<String, Vec<mpsc::Sender<Message>>>>,
    servers: Mutex<HashMap<String, mpsc::Sender<Request>>>,
}

impl Local {
    /// A new subscriber of `topic` with a queue of `capacity`.
    pub(crate) fn subscribe(&self, topic: &str, capacity: usize) -> mpsc::Receiver<Message> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        self.subscribers
            .lock()
            .expect("subscribers lock")
            .entry(topic.to_owned())
            .or_default()
            .push(tx);
        rx
    }

    /// The server of `kind`, replacing an earlier one, with a queue of `capacity`.
    pub(crate) fn serve(&self, kind: &str, capacity: usize) -> mpsc::Receiver<Request> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        self.servers
            .lock()
            .expect("servers lock")
            .insert(kind.to_owned(), tx);
        rx
    }

    /// The server of `kind`, when there is one.
    pub(crate) fn server(&self, kind: &str) -> Option<mpsc::Sender<Request>> {
        self.servers
            .lock()
            .expect("servers lock")
            .get(kind)
            .cloned()
    }

    /// Hands a verified publication to `topic`'s subscribers; a full queue counts `lagged`.
    pub(crate) fn deliver(&self, topic: &str, msg: &SignedMessage, stats: &Stats) {
        let mut subs = self.subscribers.lock().expect("subscribers lock");
        let Some(list) = subs.get_mut(topic) else {
            return;
        };
        list.retain(|s| !s.is_closed());
        for s in list.iter() {
            let m = Message {
                topic: topic.to_owned(),
                sender: msg.sender,
                payload: msg.payload.clone(),
                timestamp: msg.timestamp,
            };
            match s.try_send(m) {
                Ok(()) => stats.delivered(),
                Err(_) => stats.lagged(),
            }
        }
    }
}

/// A request or response payload: the 8-byte big-endian request id, then the body.
pub(crate) fn with_id(id: u64, body: &[u8]) -> Bytes {
    let mut payload = Vec::with_capacity(8 + body.len());
    payload.extend_from_slice(&id.to_be_bytes());
    payload.extend_from_slice(body);
    payload.into()
}

/// Splits a request or response payload into its request id and the body.
pub(crate) fn split_id(payload: &Bytes) -> Option<(u64, Bytes)> {
    let id = u64::from_be_bytes(payload.get(..8)?.try_into().ok()?);
    Some((id, payload.slice(8..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_frame_and_split() {
        let p = with_id(0x0102_0304_0506_0708, b"body");
        assert_eq!(&p[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            split_id(&p),
            Some((0x0102_0304_0506_0708, Bytes::from_static(b"body")))
        );
        assert_eq!(split_id(&Bytes::from_static(b"short")), None);
    }
}
