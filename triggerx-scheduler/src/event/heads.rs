//! New-heads notifications over WebSocket (`eth_subscribe("newHeads")`): a wake-up signal that
//! makes the follower poll as soon as a block arrives instead of at its next interval. The
//! follower still reads the head and checks continuity itself, so a lost or duplicated
//! notification changes nothing but latency; when the subscription fails or ends, the follower
//! keeps polling.

use alloy::providers::{Provider, ProviderBuilder, WsConnect};
use tokio::{sync::mpsc, task::JoinHandle};

/// Subscribes to new heads at `ws_url`; each new block number is sent on the returned channel.
/// The task ends (and the channel closes) when the subscription fails.
pub async fn subscribe(
    ws_url: &str,
) -> Result<(mpsc::Receiver<u64>, JoinHandle<()>), triggerx_core::chain::Error> {
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_ws(WsConnect::new(ws_url))
        .await?;
    let mut sub = provider.subscribe_blocks().await?;
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        let _keep_alive = provider;
        while let Ok(header) = sub.recv().await {
            // A full channel means a poll is already due: dropping the signal is harmless.
            if tx.try_send(header.number).is_err() && tx.is_closed() {
                return;
            }
        }
    });
    Ok((rx, task))
}
