//! Demo targets, and the devnet harness itself.

use crate::common::*;

#[tokio::test]
async fn demo_targets_basics() -> TestResult {
    let (_anvil, net) = devnet(0).await;
    let user = &net.users[0];
    let up = net.provider_for(user);

    let counter = Counter::new(net.addresses.counter, up.clone());
    let r = receipt(counter.incrementBy(U256::from(5)).send().await).await;
    let ev = r
        .decoded_log::<Counter::Incremented>()
        .expect("Incremented")
        .data;
    assert_eq!((ev.caller, ev.newCount), (user.address(), U256::from(5)));
    receipt(counter.increment().send().await).await;
    assert_eq!(counter.count().call().await?, U256::from(6));
    let _: Counter::ZeroIncrement = revert(counter.incrementBy(U256::ZERO).send().await);

    let feed_owner = PriceFeed::new(net.addresses.price_feed, net.provider.clone());
    let first = feed_owner.latestRoundData().call().await?;
    assert_eq!(
        (first.roundId.to::<u64>(), first.answer),
        (1, I256::try_from(2_000i64 * 100_000_000)?)
    );
    assert_eq!(feed_owner.decimals().call().await?, 8);
    let price = I256::try_from(-1_234i64)?;
    let r = receipt(feed_owner.setPrice(price).send().await).await;
    let ev = r
        .decoded_log::<PriceFeed::AnswerUpdated>()
        .expect("AnswerUpdated")
        .data;
    assert_eq!((ev.current, ev.roundId), (price, U256::from(2)));
    let latest = feed_owner.latestRoundData().call().await?;
    assert_eq!(
        (
            latest.roundId.to::<u64>(),
            latest.answer,
            latest.answeredInRound.to::<u64>()
        ),
        (2, price, 2)
    );
    assert_eq!(latest.updatedAt, ev.updatedAt);
    let _: PriceFeed::NotOwner = revert(
        PriceFeed::new(net.addresses.price_feed, up.clone())
            .setPrice(price)
            .send()
            .await,
    );

    let token = DemoToken::new(net.addresses.demo_token, up.clone());
    assert_eq!(token.symbol().call().await?, "TXD");
    let amount = U256::from(1_000u64);
    let r = receipt(token.mint(user.address(), amount).send().await).await;
    let ev = r
        .decoded_log::<DemoToken::Transfer>()
        .expect("Transfer")
        .data;
    assert_eq!(
        (ev.from, ev.to, ev.value),
        (Address::ZERO, user.address(), amount)
    );
    let other = net.users[1].address();
    receipt(token.transfer(other, U256::from(400)).send().await).await;
    assert_eq!(
        token.balanceOf(user.address()).call().await?,
        U256::from(600)
    );
    assert_eq!(token.balanceOf(other).call().await?, U256::from(400));
    assert_eq!(token.totalSupply().call().await?, amount);
    let _: DemoToken::InsufficientBalance =
        revert(token.transfer(other, U256::from(601)).send().await);
    let r = receipt(token.approve(other, U256::from(100)).send().await).await;
    assert_eq!(
        r.decoded_log::<DemoToken::Approval>()
            .expect("Approval")
            .data
            .value,
        U256::from(100)
    );
    let spender = DemoToken::new(net.addresses.demo_token, net.provider_for(&net.users[1]));
    let _: DemoToken::InsufficientAllowance = revert(
        spender
            .transferFrom(user.address(), other, U256::from(101))
            .send()
            .await,
    );
    receipt(
        spender
            .transferFrom(user.address(), other, U256::from(100))
            .send()
            .await,
    )
    .await;
    assert_eq!(
        token.allowance(user.address(), other).call().await?,
        U256::ZERO
    );
    Ok(())
}

#[tokio::test]
async fn args_probe_echoes_static_arguments() -> TestResult {
    let (_anvil, net) = devnet(0).await;
    let probe = ArgsProbe::new(net.addresses.args_probe, net.provider_for(&net.users[0]));
    let order = ArgsProbe::Order {
        id: U256::from(7),
        leg: ArgsProbe::Leg {
            token: net.addresses.demo_token,
            amounts: vec![U256::from(1), U256::MAX, U256::ZERO],
        },
        memo: "nested ✓".into(),
    };
    let r = receipt(probe.probeTuple(order.clone()).send().await).await;
    assert_eq!(
        r.decoded_log::<ArgsProbe::Tuple>()
            .expect("Tuple")
            .data
            .order,
        order
    );

    let r = receipt(
        probe
            .probeIntegers(255, I256::MINUS_ONE, U256::MAX)
            .send()
            .await,
    )
    .await;
    let ev = r
        .decoded_log::<ArgsProbe::Integers>()
        .expect("Integers")
        .data;
    assert_eq!(
        (ev.small, ev.signed, ev.big),
        (255, I256::MINUS_ONE, U256::MAX)
    );

    let blob = Bytes::from(vec![0u8, 1, 2, 3, 255]);
    let r = receipt(
        probe
            .probeBlobs(B256::repeat_byte(0xab), blob.clone(), "hi".into())
            .send()
            .await,
    )
    .await;
    let ev = r.decoded_log::<ArgsProbe::Blobs>().expect("Blobs").data;
    assert_eq!(
        (ev.word, ev.data, ev.text),
        (B256::repeat_byte(0xab), blob, "hi".to_string())
    );

    let r = receipt(
        probe
            .probeAddressBool(net.users[1].address(), true)
            .send()
            .await,
    )
    .await;
    let ev = r
        .decoded_log::<ArgsProbe::AddressBool>()
        .expect("AddressBool")
        .data;
    assert_eq!((ev.account, ev.flag), (net.users[1].address(), true));

    let values = vec![U256::from(3), U256::from(1) << 200];
    let r = receipt(probe.probeArray(values.clone()).send().await).await;
    assert_eq!(
        r.decoded_log::<ArgsProbe::Array>()
            .expect("Array")
            .data
            .values,
        values
    );

    let r = receipt(
        probe
            .probeMixed(Address::ZERO, U256::from(9), String::new(), false)
            .send()
            .await,
    )
    .await;
    let ev = r.decoded_log::<ArgsProbe::Mixed>().expect("Mixed").data;
    assert_eq!(
        (ev.account, ev.amount, ev.text, ev.flag),
        (Address::ZERO, U256::from(9), String::new(), false)
    );

    // Any other calldata is recorded raw by the fallback.
    let raw = Bytes::from(alloy::hex::decode(
        "12345678000000000000000000000000000000000000000000000000000000000000002a",
    )?);
    let tx = alloy::rpc::types::TransactionRequest::default()
        .to(net.addresses.args_probe)
        .input(raw.clone().into());
    let r = net
        .provider
        .send_transaction(tx)
        .await?
        .get_receipt()
        .await?;
    assert!(r.status());
    assert_eq!(
        r.decoded_log::<ArgsProbe::Called>()
            .expect("Called")
            .data
            .data,
        raw
    );
    assert_eq!(probe.calls().call().await?, U256::from(7));
    Ok(())
}

#[tokio::test]
async fn devnet_deploys_under_interval_mining() -> TestResult {
    let anvil = Anvil::start(AnvilOptions {
        block_time: Some(Duration::from_millis(500)),
        ..AnvilOptions::default()
    })
    .await?;
    let start = anvil.provider()?.get_block_number().await?;
    let net = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers: 4,
            ..DevnetOptions::default()
        },
    )
    .await?;
    let end = net.provider.get_block_number().await?;
    // Two phases (contracts, then keepers), each sent in one go: a handful of blocks, where
    // one transaction per block would take 7 + 2 * 4 = 15 (slack for a phase straddling a
    // block boundary on a loaded machine).
    assert!(end - start <= 6, "deploy took {} blocks", end - start);
    let registry = net.keeper_registry(&net.provider);
    assert_eq!(registry.keeperCount().call().await?, U256::from(4));
    for k in &net.keepers {
        assert!(registry.isKeeper(k.address()).call().await?);
        assert_eq!(
            net.provider.get_balance(k.address()).await?,
            DevnetOptions::default().keeper_funding
        );
    }
    let port = anvil.port();
    drop(anvil);
    // Killed on drop: the port no longer answers.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    Ok(())
}
