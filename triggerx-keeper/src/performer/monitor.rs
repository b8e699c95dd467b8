//! Following one nonce to its outcome: receipts, confirmations, same-bytes re-broadcasts,
//! fee-bumped replacements and detection of a nonce used elsewhere.

use std::{sync::Arc, sync::atomic::Ordering, time::Instant};

use alloy::{
    eips::BlockId,
    network::ReceiptResponse,
    rpc::types::{TransactionReceipt, TransactionRequest},
};
use tokio::sync::oneshot;
use triggerx_core::chain;

use super::{
    Error, Outcome, RevertReason, Status,
    engine::{Inner, Permit, Signed, fill_gaps, rpc, send, sign, since},
    nonce,
};

/// Everything the engine knows about one nonce.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) nonce: u64,
    /// The transaction without nonce and fees, for re-signing and for replaying a revert.
    request: TransactionRequest,
    /// Every signed version, oldest first; never empty.
    versions: Vec<Signed>,
    /// Whether the node is known to hold the newest version.
    pub(crate) known: bool,
    /// Whether the node refused the newest version's fees (bump at once).
    pub(crate) needs_bump: bool,
    last_broadcast: Instant,
    priced_at: Instant,
    replacements: u32,
    filler: bool,
}

impl Slot {
    pub(crate) fn new(
        nonce: u64,
        request: TransactionRequest,
        first: Signed,
        filler: bool,
    ) -> Self {
        let now = Instant::now();
        Self {
            nonce,
            request,
            versions: vec![first],
            known: false,
            needs_bump: false,
            last_broadcast: now,
            priced_at: now,
            replacements: 0,
            filler,
        }
    }

    fn newest(&self) -> &Signed {
        // `versions` is never empty: it starts with the first signed version.
        &self.versions[self.versions.len() - 1]
    }
}

/// Follows `slot` until it is confirmed, taken by another transaction, or the receipt
/// timeout passes; reports on `tx` and frees the in-flight permit.
pub(crate) async fn run(
    inner: Arc<Inner>,
    mut slot: Slot,
    permit: Permit,
    tx: oneshot::Sender<Result<Outcome, Error>>,
) {
    let started = Instant::now();
    let config = &inner.config;
    let mut check_taken = false;
    let result = loop {
        tokio::time::sleep(config.poll_interval).await;
        match find_receipt(&inner, &slot).await {
            Ok(Some(receipt)) => match confirm(&inner, &slot, receipt).await {
                Ok(Some(outcome)) => break Ok(outcome),
                Ok(None) => continue,
                Err(e) => {
                    tracing::debug!(nonce = slot.nonce, error = %e, "confirmation check failed");
                    continue;
                }
            },
            Ok(None) => {}
            Err(e) => tracing::debug!(nonce = slot.nonce, error = %e, "receipt check failed"),
        }
        if since(started) >= config.receipt_timeout {
            break Err(Error::NotMined {
                nonce: slot.nonce,
                hashes: slot.versions.iter().map(|v| v.hash).collect(),
                after: since(started),
            });
        }
        let stuck = since(slot.priced_at) >= config.stuck_after;
        if check_taken || stuck {
            check_taken = false;
            match taken_elsewhere(&inner, &slot).await {
                Ok(true) => break Err(Error::NonceTakenElsewhere { nonce: slot.nonce }),
                Ok(false) => {}
                Err(e) => tracing::debug!(nonce = slot.nonce, error = %e, "nonce check failed"),
            }
            if stuck {
                // A stuck nonce may wait on an earlier nonce nobody will send: fill gaps.
                fill_gaps(&inner, slot.nonce).await;
            }
        }
        if (slot.needs_bump || stuck) && slot.replacements < config.max_replacements {
            check_taken |= replace(&inner, &mut slot).await;
        } else if stuck {
            slot.priced_at = Instant::now();
        } else if !slot.known && since(slot.last_broadcast) >= config.rebroadcast_after {
            check_taken |= rebroadcast(&inner, &mut slot).await;
        }
    };
    match &result {
        Err(Error::NotMined { .. }) => {} // still in flight as far as the chain is concerned
        _ => inner.nonces.confirm(slot.nonce).await,
    }
    if slot.filler {
        tracing::debug!(nonce = slot.nonce, ok = result.is_ok(), "gap filler done");
    }
    drop(permit);
    let _ = tx.send(result);
}

/// The receipt of any signed version.
async fn find_receipt(inner: &Inner, slot: &Slot) -> chain::Result<Option<TransactionReceipt>> {
    for version in slot.versions.iter().rev() {
        let receipt = rpc(
            &inner.config,
            "eth_getTransactionReceipt",
            inner.client.transaction_receipt(version.hash),
        )
        .await?;
        if receipt.is_some() {
            return Ok(receipt);
        }
    }
    Ok(None)
}

/// Waits for the confirmations and checks the receipt is still there; `None` when it was
/// reorged out.
async fn confirm(
    inner: &Inner,
    slot: &Slot,
    receipt: TransactionReceipt,
) -> Result<Option<Outcome>, Error> {
    let config = &inner.config;
    let Some(mined_in) = receipt.block_number() else {
        return Ok(None);
    };
    let receipt = if config.confirmations > 1 {
        let target = mined_in + config.confirmations - 1;
        loop {
            let head = rpc(config, "eth_blockNumber", inner.client.block_number()).await?;
            if head >= target {
                break;
            }
            tokio::time::sleep(config.poll_interval).await;
        }
        let hash = receipt.transaction_hash();
        match rpc(
            config,
            "eth_getTransactionReceipt",
            inner.client.transaction_receipt(hash),
        )
        .await?
        {
            Some(again) if again.block_hash() == receipt.block_hash() => again,
            _ => return Ok(None),
        }
    } else {
        receipt
    };
    let status = if receipt.status() {
        Status::Success
    } else {
        Status::Reverted {
            reason: replay_revert(inner, slot, mined_in).await,
        }
    };
    Ok(Some(Outcome {
        nonce: slot.nonce,
        tx_hash: receipt.transaction_hash(),
        block_number: mined_in,
        gas_used: receipt.gas_used(),
        effective_gas_price: receipt.effective_gas_price(),
        status,
        replacements: slot.replacements,
        versions: slot.versions.iter().map(|v| (v.hash, v.fees)).collect(),
        receipt,
    }))
}

/// Recovers a mined revert's data by replaying the call: at the parent block first (the
/// state before the block), then at the block itself (the state after it, which holds the
/// effects of earlier transactions in the same block). An approximation: the exact state before
/// the transaction needs a tracing API.
async fn replay_revert(inner: &Inner, slot: &Slot, block: u64) -> RevertReason {
    let mut request = slot.request.clone();
    request.nonce = None;
    for at in [block.saturating_sub(1), block] {
        match rpc(
            &inner.config,
            "eth_call",
            inner.client.call(&request, BlockId::number(at)),
        )
        .await
        {
            Err(e) => {
                if let Some(reason) = RevertReason::from_chain_error(&e, &inner.known_errors) {
                    return reason;
                }
                return RevertReason::Other(format!("reverted; replay failed: {e}"));
            }
            Ok(_) => continue,
        }
    }
    RevertReason::Other("reverted on chain; replaying the call did not revert".into())
}

/// Whether the chain has mined this nonce with a transaction that is none of ours. Reads the
/// account nonce before the receipts, so a version mined in between is not missed.
async fn taken_elsewhere(inner: &Inner, slot: &Slot) -> Result<bool, Error> {
    let mined = nonce::count(
        &*inner.client,
        &inner.config,
        inner.address,
        BlockId::latest(),
    )
    .await?;
    if mined <= slot.nonce {
        return Ok(false);
    }
    Ok(find_receipt(inner, slot).await?.is_none())
}

/// Signs and sends a replacement with both fees bumped. Returns whether the node said the
/// nonce is already used (check which transaction took it).
async fn replace(inner: &Inner, slot: &mut Slot) -> bool {
    let config = &inner.config;
    let old = slot.newest().fees;
    let floor = inner
        .fees
        .current(&*inner.client, config)
        .await
        .unwrap_or(old);
    slot.priced_at = Instant::now();
    slot.needs_bump = false;
    let Some(fees) = old.bumped(config.bump_percent, floor, config.max_fee_per_gas) else {
        tracing::warn!(
            nonce = slot.nonce,
            "stuck at the fee cap; waiting without replacing"
        );
        slot.replacements = config.max_replacements;
        return false;
    };
    let signed = match sign(inner, &slot.request, slot.nonce, fees).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(nonce = slot.nonce, error = %e, "replacement signing failed");
            return false;
        }
    };
    slot.versions.push(signed.clone());
    slot.replacements += 1;
    slot.last_broadcast = Instant::now();
    slot.known = false;
    inner.counters.replacements.fetch_add(1, Ordering::Relaxed);
    tracing::info!(nonce = slot.nonce, hash = %signed.hash, max_fee = fees.max_fee_per_gas, "replacement sent");
    outcome_of_send(inner, slot, send(inner, &signed.raw).await).await
}

/// Asks the node whether it holds the newest version; re-sends the same bytes if not.
async fn rebroadcast(inner: &Inner, slot: &mut Slot) -> bool {
    let hash = slot.newest().hash;
    match rpc(
        &inner.config,
        "eth_getTransactionByHash",
        inner.client.transaction_by_hash(hash),
    )
    .await
    {
        Ok(Some(_)) => {
            slot.known = true;
            return false;
        }
        Ok(None) => {}
        Err(e) => {
            tracing::debug!(nonce = slot.nonce, error = %e, "lookup failed; re-sending");
        }
    }
    slot.last_broadcast = Instant::now();
    inner.counters.rebroadcasts.fetch_add(1, Ordering::Relaxed);
    let raw = slot.newest().raw.clone();
    outcome_of_send(inner, slot, send(inner, &raw).await).await
}

async fn outcome_of_send(inner: &Inner, slot: &mut Slot, sent: chain::Result<()>) -> bool {
    match sent {
        Ok(()) => {
            slot.known = true;
            false
        }
        Err(chain::Error::NonceTooLow { .. }) => true,
        Err(chain::Error::ReplacementUnderpriced { .. }) => {
            slot.needs_bump = true;
            false
        }
        Err(chain::Error::FeeTooLow { .. }) => {
            inner.fees.invalidate().await;
            slot.needs_bump = true;
            false
        }
        Err(e) => {
            tracing::debug!(nonce = slot.nonce, error = %e, "send unconfirmed");
            false
        }
    }
}
