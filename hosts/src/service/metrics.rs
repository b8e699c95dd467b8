//! Prometheus metrics: `GET /metrics` (text exposition) and `GET /healthz`.
//!
//! Nothing is counted twice: at every scrape the [`Metrics`] sources read the libraries'
//! own counters (transport, engine, performer, attester, aggregator snapshots) and the store's
//! task and keeper counts, and encode them with `prometheus-client`. No library depends on it.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use anyhow::Context;
use axum::{Router, http::header, routing::get};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric, prometheus_text},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
    registry::Registry,
};
use tokio::task::JoinHandle;

/// Whether a metric only grows (restarting at 0 with the process) or goes up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Monotonic; exposed with a `_total` suffix.
    Counter,
    /// A current value.
    Gauge,
}

/// One value of one metric.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// The metric's name (without `_total` for counters).
    pub(crate) name: String,
    /// Its help text.
    pub(crate) help: String,
    /// Counter or gauge.
    pub(crate) kind: Kind,
    /// Label pairs.
    pub(crate) labels: Vec<(String, String)>,
    /// The value.
    pub(crate) value: f64,
}

/// Samples gathered at scrape time.
#[derive(Debug, Default)]
pub(crate) struct Samples(pub(crate) Vec<Sample>);

impl Samples {
    /// Adds a counter.
    pub(crate) fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.push(name, help, Kind::Counter, Vec::new(), value as f64);
    }

    /// Adds a gauge.
    pub(crate) fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.push(name, help, Kind::Gauge, Vec::new(), value);
    }

    /// Adds a labelled value.
    pub(crate) fn push(
        &mut self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: Vec<(String, String)>,
        value: f64,
    ) {
        self.0.push(Sample {
            name: name.to_owned(),
            help: help.to_owned(),
            kind,
            labels,
            value,
        });
    }
}

/// Adds one counter per field of a stats snapshot: `<prefix>_<field>_total`, with the help
/// text `<what>: <field>` (each field is documented on the library's stats struct).
macro_rules! stat_counters {
    ($samples:expr, $prefix:literal, $what:literal, $s:expr, [$($field:ident),* $(,)?]) => {{
        let s = $s;
        $(
            $samples.counter(
                concat!($prefix, "_", stringify!($field)),
                concat!($what, ": ", stringify!($field), " (see docs/services.md)"),
                s.$field as u64,
            );
        )*
    }};
}
pub(crate) use stat_counters;

/// A source of samples, read at every scrape.
pub(crate) type Source = Box<dyn Fn(&mut Samples) + Send + Sync>;

/// The registry of a service: sources can be added while it is served.
#[derive(Clone, Default)]
pub(crate) struct Metrics {
    sources: Arc<Mutex<Vec<Source>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.sources.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("Metrics").field("sources", &n).finish()
    }
}

impl Metrics {
    /// Adds a source.
    pub(crate) fn add(&self, source: impl Fn(&mut Samples) + Send + Sync + 'static) {
        self.sources
            .lock()
            .expect("metrics lock")
            .push(Box::new(source));
    }

    /// Every sample now.
    pub(crate) fn gather(&self) -> Vec<Sample> {
        let mut out = Samples::default();
        for s in self.sources.lock().expect("metrics lock").iter() {
            s(&mut out);
        }
        out.0
    }

    /// The Prometheus text exposition of every sample now.
    pub(crate) fn encode(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Snapshot(self.gather())));
        let mut out = String::new();
        prometheus_text::encode(&mut out, &registry).expect("writing to a String does not fail");
        out
    }

    /// Serves `/metrics` and `/healthz` on `listen` until the returned task is aborted;
    /// returns the bound address.
    pub(crate) async fn serve(
        &self,
        listen: SocketAddr,
    ) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("metrics: binding {listen} (metrics.listen)"))?;
        let addr = listener.local_addr()?;
        let me = self.clone();
        let app = Router::new()
            .route(
                "/metrics",
                get(move || {
                    let me = me.clone();
                    async move {
                        // Sources may read the store (blocking I/O).
                        let body = tokio::task::spawn_blocking(move || me.encode())
                            .await
                            .unwrap_or_default();
                        (
                            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
                            body,
                        )
                    }
                }),
            )
            .route("/healthz", get(|| async { "ok\n" }));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "metrics server stopped");
            }
        });
        Ok((addr, task))
    }
}

/// The samples of one scrape, as a `prometheus-client` collector.
#[derive(Debug)]
struct Snapshot(Vec<Sample>);

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        // One family per name, in first-seen order.
        let mut names: Vec<&str> = Vec::new();
        for s in &self.0 {
            if !names.contains(&s.name.as_str()) {
                names.push(&s.name);
            }
        }
        for name in names {
            let family: Vec<&Sample> = self.0.iter().filter(|s| s.name == name).collect();
            let first = family[0];
            let metric_type = match first.kind {
                Kind::Counter => ConstCounter::new(0u64).metric_type(),
                Kind::Gauge => ConstGauge::new(0.0f64).metric_type(),
            };
            let mut m = encoder.encode_descriptor(name, &first.help, None, metric_type)?;
            for s in family {
                let e = m.encode_family(&s.labels)?;
                match s.kind {
                    Kind::Counter => ConstCounter::new(s.value as u64).encode(e)?,
                    Kind::Gauge => ConstGauge::new(s.value).encode(e)?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    struct Stats {
        sent: u64,
        failed: u64,
    }

    #[test]
    fn sources_are_read_at_every_scrape_and_encoded_as_prometheus_text() {
        let metrics = Metrics::default();
        let n = Arc::new(std::sync::atomic::AtomicU64::new(1));
        let read = n.clone();
        metrics.add(move |s| {
            let v = read.load(std::sync::atomic::Ordering::Relaxed);
            stat_counters!(
                s,
                "triggerx_test",
                "Test",
                Stats { sent: v, failed: 2 },
                [sent, failed]
            );
            s.gauge("triggerx_test_peers", "Peers", 3.0);
            for (status, v) in [("created", 4.0), ("accepted", 5.0)] {
                s.push(
                    "triggerx_test_tasks",
                    "Tasks by status",
                    Kind::Gauge,
                    vec![("status".into(), status.into())],
                    v,
                );
            }
        });
        let text = metrics.encode();
        assert!(
            text.contains("# TYPE triggerx_test_sent_total counter"),
            "{text}"
        );
        assert!(text.contains("triggerx_test_sent_total 1\n"), "{text}");
        assert!(text.contains("triggerx_test_failed_total 2\n"), "{text}");
        assert!(text.contains("triggerx_test_peers 3.0\n"), "{text}");
        assert!(
            text.contains("triggerx_test_tasks{status=\"created\"} 4.0\n"),
            "{text}"
        );
        assert!(
            text.contains("triggerx_test_tasks{status=\"accepted\"} 5.0\n"),
            "{text}"
        );
        n.store(7, std::sync::atomic::Ordering::Relaxed);
        assert!(metrics.encode().contains("triggerx_test_sent_total 7\n"));
    }

    #[tokio::test]
    async fn metrics_and_healthz_are_served_over_http() {
        let metrics = Metrics::default();
        metrics.add(|s| s.counter("triggerx_test_hits", "Hits", 9));
        let (addr, task) = metrics.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let get = |path: &'static str| async move {
            tokio::task::spawn_blocking(move || crate::service::http_get(addr, path))
                .await
                .unwrap()
                .unwrap()
        };
        let (status, body) = get("/metrics").await;
        assert_eq!(status, 200);
        assert!(body.contains("triggerx_test_hits_total 9"), "{body}");
        let (status, body) = get("/healthz").await;
        assert_eq!((status, body.as_str()), (200, "ok\n"));
        let (status, _) = get("/nothing").await;
        assert_eq!(status, 404);
        task.abort();
    }
}
