//! Health service tests: signed check-ins over the in-process transport, a manual clock, and a
//! local server standing in for the webhook and the Telegram Bot API.

use std::{collections::HashSet, sync::Arc, time::Duration};

use alloy_primitives::{Address, U256};
use triggerx_core::{
    Timestamp,
    clock::{Clock, ManualClock},
    protocol::{self, CheckIn, topics},
    store::{KeeperFilter, KeeperStore, MemoryStore, Store},
    test_http::TestServer,
    transport::{
        Members, Message, Transport,
        conformance::key,
        inprocess::{Config as NetConfig, InProcessNetwork},
    },
    types::Keeper,
};
use triggerx_scheduler::health::{AlertSink, Config, Health, TelegramSink, WebhookSink};

struct Env {
    store: Arc<dyn Store>,
    clock: ManualClock,
    keeper: Arc<dyn Transport>,
    stranger: Arc<dyn Transport>,
    inbox: tokio::sync::mpsc::Receiver<Message>,
    health: Health,
    server: TestServer,
    _health_node: Arc<dyn Transport>,
}

async fn env() -> Env {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(Timestamp::now());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let net = InProcessNetwork::new(NetConfig::default());
    let members: HashSet<Address> = [key(1), key(2), key(50)]
        .iter()
        .map(|k| k.address())
        .collect();
    let members = Arc::new(Members(members));
    let health_node: Arc<dyn Transport> =
        Arc::new(net.join(key(50), members.clone(), shared.clone()));
    let keeper: Arc<dyn Transport> = Arc::new(net.join(key(1), members.clone(), shared.clone()));
    // A transport member that is not a registered keeper.
    let stranger: Arc<dyn Transport> = Arc::new(net.join(key(2), members, shared.clone()));
    let inbox = health_node.subscribe(topics::CHECKINS, 64);
    let mut k = Keeper::new(key(1).address(), U256::from(100), clock.now());
    k.name = "alpha".into();
    store.upsert_keeper(&k).unwrap();
    let server = TestServer::start().await.unwrap();
    server.set("/hook", 200, "{}");
    server.set("/botT0KEN/sendMessage", 200, r#"{"ok":true}"#);
    let sinks: Vec<Arc<dyn AlertSink>> = vec![
        Arc::new(WebhookSink::new(server.url("/hook"))),
        Arc::new(TelegramSink::new(server.url(""), "T0KEN", "42")),
    ];
    let health = Health::new(store.clone(), shared, Config::default(), sinks);
    Env {
        store,
        clock,
        keeper,
        stranger,
        inbox,
        health,
        server,
        _health_node: health_node,
    }
}

impl Env {
    async fn check_in(&mut self, from: &Arc<dyn Transport>) -> bool {
        let body = protocol::encode(&CheckIn {
            version: "0.1.0".into(),
            peer_id: None,
        });
        from.publish(topics::CHECKINS, body).await.unwrap();
        let msg = tokio::time::timeout(Duration::from_secs(5), self.inbox.recv())
            .await
            .unwrap()
            .unwrap();
        self.health.on_checkin(&msg).await.unwrap()
    }

    fn keeper(&self) -> Keeper {
        self.store.get_keeper(key(1).address()).unwrap().unwrap()
    }

    fn selectable(&self) -> bool {
        !self
            .store
            .list_keepers(&KeeperFilter::SELECTABLE)
            .unwrap()
            .is_empty()
    }
}

#[tokio::test]
async fn check_ins_mark_online_and_count_uptime() {
    let mut env = env().await;
    assert!(!env.selectable());
    let keeper = env.keeper.clone();
    assert!(env.check_in(&keeper).await);
    assert!(env.keeper().online);
    assert!(env.selectable());
    env.clock.advance_millis(60_000);
    assert!(env.check_in(&keeper).await);
    assert_eq!(env.keeper().uptime_secs, 60);
    assert_eq!(env.keeper().version.as_deref(), Some("0.1.0"));
    // A member that is not a registered keeper is refused.
    let stranger = env.stranger.clone();
    assert!(!env.check_in(&stranger).await);
    assert_eq!(env.health.stats().unknown_keeper, 1);
}

#[tokio::test]
async fn replayed_and_malformed_check_ins_are_rejected() {
    let mut env = env().await;
    let keeper = env.keeper.clone();
    keeper
        .publish(
            topics::CHECKINS,
            protocol::encode(&CheckIn {
                version: "1".into(),
                peer_id: None,
            }),
        )
        .await
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), env.inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(env.health.on_checkin(&msg).await.unwrap());
    // The same signed check-in again (e.g. replayed after a restart): not later than the last.
    assert!(!env.health.on_checkin(&msg).await.unwrap());
    let mut older = msg.clone();
    older.timestamp = msg.timestamp.add_millis(-1);
    assert!(!env.health.on_checkin(&older).await.unwrap());
    assert_eq!(env.health.stats().replayed, 2);
    keeper
        .publish(
            topics::CHECKINS,
            alloy_primitives::Bytes::from_static(b"not json"),
        )
        .await
        .unwrap();
    let bad = tokio::time::timeout(Duration::from_secs(5), env.inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(!env.health.on_checkin(&bad).await.unwrap());
    assert_eq!(env.health.stats().malformed, 1);
}

#[tokio::test]
async fn silence_goes_offline_then_alerts_after_ten_minutes_then_recovers() {
    let mut env = env().await;
    let keeper = env.keeper.clone();
    assert!(env.check_in(&keeper).await);
    env.clock.advance_millis(179_000);
    env.health.tick().await.unwrap();
    assert!(env.keeper().online, "still within the silence threshold");
    env.clock.advance_millis(2_000);
    env.health.tick().await.unwrap();
    assert!(!env.keeper().online, "offline after 180 s of silence");
    assert!(!env.selectable(), "an offline keeper is not selected");
    assert_eq!(env.server.total_hits(), 0);
    // Ten minutes after going offline: one notice per sink, and no repeats.
    // Offline since 180 s after the last check-in; now at 778 s: not yet ten minutes offline.
    env.clock.advance_millis(597_000);
    env.health.tick().await.unwrap();
    assert_eq!(env.server.total_hits(), 0, "not yet ten minutes");
    env.clock.advance_millis(3_000);
    env.health.tick().await.unwrap();
    env.health.tick().await.unwrap();
    assert_eq!(env.server.hits("/hook"), 1);
    assert_eq!(env.server.hits("/botT0KEN/sendMessage"), 1);
    let bodies = env.server.bodies();
    let hook: serde_json::Value = serde_json::from_slice(&bodies[0].1).unwrap();
    let telegram = bodies
        .iter()
        .find(|(p, _)| p.contains("sendMessage"))
        .unwrap();
    let telegram: serde_json::Value = serde_json::from_slice(&telegram.1).unwrap();
    assert_eq!(hook["kind"], "offline");
    assert_eq!(hook["keeper"], key(1).address().to_string().to_lowercase());
    assert_eq!(telegram["chat_id"], "42");
    assert!(
        telegram["text"].as_str().unwrap().contains("OFFLINE"),
        "{telegram}"
    );
    // It checks in again: a recovery notice to each sink.
    assert!(env.check_in(&keeper).await);
    assert!(env.keeper().online);
    assert_eq!(env.server.hits("/hook"), 2);
    assert_eq!(env.server.hits("/botT0KEN/sendMessage"), 2);
    let last: serde_json::Value = serde_json::from_slice(
        &env.server
            .bodies()
            .iter()
            .rev()
            .find(|(p, _)| p == "/hook")
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(last["kind"], "recovered");
    env.health.tick().await.unwrap();
    assert_eq!(env.server.total_hits(), 4, "nothing more");
}

#[tokio::test]
async fn failed_alerts_are_retried_until_delivered() {
    let mut env = env().await;
    env.server.set("/hook", 503, "{}");
    let keeper = env.keeper.clone();
    assert!(env.check_in(&keeper).await);
    env.clock.advance_millis(181_000);
    env.health.tick().await.unwrap();
    env.clock.advance_millis(600_000);
    env.health.tick().await.unwrap();
    assert_eq!(env.health.stats().alert_failures, 1);
    assert_eq!(env.server.hits("/botT0KEN/sendMessage"), 1);
    env.server.set("/hook", 200, "{}");
    env.health.tick().await.unwrap();
    env.health.tick().await.unwrap();
    assert_eq!(
        env.server.hits("/hook"),
        2,
        "one failure, then one delivery"
    );
    assert_eq!(
        env.server.hits("/botT0KEN/sendMessage"),
        1,
        "telegram is not sent twice"
    );
}
