//! The check-in client: a signed liveness heartbeat to the health service on a configurable
//! interval (default 60 s), over the transport ([`topics::CHECKINS`]).

use std::{future::Future, sync::Arc, time::Duration};

use triggerx_core::{
    protocol::{self, CheckIn, topics},
    transport::{Transport, TransportError},
};

/// Check-in settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Time between check-ins (default 60 s).
    pub interval: Duration,
    /// The version reported.
    pub version: String,
    /// The transport peer id reported, when there is one.
    pub peer_id: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            peer_id: None,
        }
    }
}

/// Sends one check-in.
pub async fn check_in(transport: &dyn Transport, config: &Config) -> Result<(), TransportError> {
    let body = CheckIn {
        version: config.version.clone(),
        peer_id: config.peer_id.clone(),
    };
    transport
        .publish(topics::CHECKINS, protocol::encode(&body))
        .await
}

/// Checks in now and then every `config.interval` until `shutdown` completes. Failures are
/// logged and retried at the next interval.
pub async fn run(
    transport: Arc<dyn Transport>,
    config: Config,
    shutdown: impl Future<Output = ()>,
) {
    let mut interval = tokio::time::interval(config.interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = interval.tick() => {
                if let Err(e) = check_in(transport.as_ref(), &config).await {
                    tracing::warn!(error = %e, "check-in failed; retrying at the next interval");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use triggerx_core::{
        clock::SystemClock,
        transport::{
            AllowAll,
            conformance::key,
            inprocess::{Config as NetConfig, InProcessNetwork},
        },
    };

    use super::*;

    #[tokio::test]
    async fn sends_signed_check_ins_on_the_interval() {
        let net = InProcessNetwork::new(NetConfig::default());
        let keeper: Arc<dyn Transport> =
            Arc::new(net.join(key(1), Arc::new(AllowAll), Arc::new(SystemClock)));
        let health = net.join(key(2), Arc::new(AllowAll), Arc::new(SystemClock));
        let mut rx = health.subscribe(topics::CHECKINS, 16);
        let config = Config {
            interval: Duration::from_millis(20),
            ..Config::default()
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run(keeper, config, async move {
            let _ = stopped.await;
        }));
        for _ in 0..3 {
            let m = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(m.sender, key(1).address());
            let c: CheckIn = protocol::decode(&m.payload).unwrap();
            assert_eq!(c.version, env!("CARGO_PKG_VERSION"));
        }
        stop.send(()).unwrap();
        task.await.unwrap();
    }
}
