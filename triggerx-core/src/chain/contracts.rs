//! Typed bindings for the TriggerX contracts, generated with `sol!` from the committed artifacts
//! in `triggerx-core/contracts/artifacts/` (ABI and bytecode; see `docs/contracts.md`).
//!
//! Each module (`TaskHub`, `KeeperRegistry`, …) holds the contract's calls, events and errors
//! as Rust types, plus an `<Name>Instance` for calls through a provider and `deploy` /
//! `deploy_builder` using the artifact's creation bytecode.
//!
//! [`ArgsProbe`] also exposes the nested tuple type `Order { id, leg: Leg { token, amounts },
//! memo }`, and [`KeeperRegistry`] the typed-data struct is [`Attestation`].

#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc, all_derives)]
    TaskHub,
    "contracts/artifacts/TaskHub.json"
);

sol!(
    #[sol(rpc, all_derives)]
    KeeperRegistry,
    "contracts/artifacts/KeeperRegistry.json"
);

sol!(
    #[sol(rpc, all_derives)]
    JobRegistry,
    "contracts/artifacts/JobRegistry.json"
);

sol!(
    #[sol(rpc, all_derives)]
    Counter,
    "contracts/artifacts/Counter.json"
);

sol!(
    #[sol(rpc, all_derives)]
    DemoToken,
    "contracts/artifacts/DemoToken.json"
);

sol!(
    #[sol(rpc, all_derives)]
    PriceFeed,
    "contracts/artifacts/PriceFeed.json"
);

sol!(
    #[sol(rpc, all_derives)]
    ArgsProbe,
    "contracts/artifacts/ArgsProbe.json"
);

sol! {
    /// The EIP-712 message a keeper signs to attest a verdict, as `KeeperRegistry` verifies it:
    /// `Attestation(bytes32 taskId,bytes32 reportDigest,address performer,bool approve)` in the
    /// domain [`attestation_domain`].
    #[derive(Debug, PartialEq, Eq)]
    struct Attestation {
        bytes32 taskId;
        bytes32 reportDigest;
        address performer;
        bool approve;
    }
}

/// The EIP-712 domain of the `KeeperRegistry` at `registry` on chain `chain_id`:
/// name "TriggerX", version "1".
pub fn attestation_domain(
    chain_id: u64,
    registry: alloy::primitives::Address,
) -> alloy::sol_types::Eip712Domain {
    alloy::sol_types::eip712_domain! {
        name: "TriggerX",
        version: "1",
        chain_id: chain_id,
        verifying_contract: registry,
    }
}

/// The digest a keeper signs to attest `approve` on (`task_id`, `report_digest`) executed by
/// `performer`, equal to the registry's `attestationDigest` view.
pub fn attestation_digest(
    chain_id: u64,
    registry: alloy::primitives::Address,
    task_id: alloy::primitives::B256,
    report_digest: alloy::primitives::B256,
    performer: alloy::primitives::Address,
    approve: bool,
) -> alloy::primitives::B256 {
    use alloy::sol_types::SolStruct as _;
    Attestation {
        taskId: task_id,
        reportDigest: report_digest,
        performer,
        approve,
    }
    .eip712_signing_hash(&attestation_domain(chain_id, registry))
}
