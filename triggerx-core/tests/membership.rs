//! `RegistryMembership` against a real anvil devnet: registered keepers are members, a removed
//! keeper stops being one after a refresh, a newly added one becomes one through the refresh
//! task, and the fixed services are members throughout.
#![cfg(all(feature = "chain", feature = "test-utils"))]

use std::{collections::HashSet, sync::Arc, time::Duration};

use alloy::{primitives::U256, signers::local::PrivateKeySigner};
use triggerx_core::{
    chain::{
        AlloyClient, ChainClient, RegistryMembership,
        anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
    },
    transport::Membership,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn registry_keepers_and_services_are_members() -> TestResult {
    let anvil = Anvil::start(AnvilOptions::default()).await?;
    let net = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers: 3,
            ..DevnetOptions::default()
        },
    )
    .await?;
    let client: Arc<dyn ChainClient> = Arc::new(AlloyClient::http(&net.endpoint)?);
    let scheduler = PrivateKeySigner::random().address();
    let health = PrivateKeySigner::random().address();
    let outsider = PrivateKeySigner::random().address();
    let members = Arc::new(RegistryMembership::new(
        client,
        net.addresses.keeper_registry,
        HashSet::from([scheduler, health]),
    ));
    let keepers: Vec<_> = net.keepers.iter().map(|k| k.address()).collect();

    // Before the first refresh only the services are members.
    assert!(members.is_member(scheduler) && members.is_member(health));
    assert!(!members.is_member(keepers[0]));

    assert_eq!(members.refresh().await?, 5);
    for k in &keepers {
        assert!(members.is_member(*k), "registered keeper {k} is a member");
    }
    assert!(members.is_member(scheduler) && members.is_member(health));
    assert!(!members.is_member(outsider));
    assert_eq!(members.keepers(), keepers.iter().copied().collect());

    // Removed on-chain: a member until the next refresh, then not.
    let registry = net.keeper_registry(&net.provider);
    registry
        .removeKeeper(keepers[0])
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(members.is_member(keepers[0]));
    assert_eq!(members.refresh().await?, 4);
    assert!(
        !members.is_member(keepers[0]),
        "removed keeper is no member"
    );
    assert!(members.is_member(keepers[1]) && members.is_member(keepers[2]));

    // A keeper added on-chain becomes a member through the refresh task.
    let task = members.spawn_refresh(Duration::from_millis(100));
    registry
        .addKeeper(outsider, U256::from(10))
        .send()
        .await?
        .get_receipt()
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !members.is_member(outsider) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refresh task picks up the new keeper"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    task.abort();
    assert!(members.is_member(scheduler), "services stay members");
    Ok(())
}

/// A registry that cannot be read leaves the previous members and reports the error.
#[tokio::test]
async fn failed_refresh_keeps_previous_members() -> TestResult {
    let anvil = Anvil::start(AnvilOptions::default()).await?;
    let net = Devnet::deploy(&anvil, DevnetOptions::default()).await?;
    let client: Arc<dyn ChainClient> = Arc::new(AlloyClient::http(&net.endpoint)?);
    let members = RegistryMembership::new(
        client.clone(),
        net.addresses.keeper_registry,
        HashSet::new(),
    );
    assert_eq!(members.refresh().await?, 3);
    // Not a registry (the counter contract has no `keepers()`): the call reverts.
    let wrong = RegistryMembership::new(client, net.addresses.counter, HashSet::new());
    assert!(wrong.refresh().await.is_err());
    drop(anvil);
    let k = net.keepers[0].address();
    assert!(members.refresh().await.is_err(), "anvil is gone");
    assert!(members.is_member(k), "the last good list still counts");
    Ok(())
}
