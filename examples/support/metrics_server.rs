//! Serves failguard's metrics as Prometheus text on `/metrics` (axum, 127.0.0.1), puts a
//! `MetricsListener` on every policy of the outage scenario's stack, and reads a scrape back.
//!
//! Shared by `examples/metrics.rs` and `tests/metrics_scrape.rs` (included with `#[path]`); the
//! including crate declares `outage` as a top-level module next to this one.

#![allow(dead_code)] // each user takes what it needs

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{Router, routing::get};
use failguard::{
    events::Listener,
    metrics::{Gauges, MetricsListener},
};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{net::TcpListener, task::JoinHandle};

use crate::outage::{Handles, Setup};

/// The `/metrics` endpoint, running.
pub struct MetricsServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The gauges it records before each scrape; `setup` fills them in.
    pub gauges: Arc<Mutex<Gauges>>,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Serves `prometheus`'s text on `http://{addr}/metrics`, recording the gauges first.
    pub async fn start(addr: SocketAddr, prometheus: PrometheusHandle) -> std::io::Result<Self> {
        let gauges = Arc::new(Mutex::new(Gauges::new()));
        let app = Router::new().route(
            "/metrics",
            get({
                let gauges = gauges.clone();
                move || {
                    // The gauges from fresh snapshots, then the text: a scrape sees exactly what
                    // the policies' snapshots say at that moment.
                    gauges.lock().unwrap().record();
                    prometheus.run_upkeep();
                    let text = prometheus.render();
                    async move { text }
                }
            }),
        );
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the metrics server");
        });
        Ok(Self { addr, gauges, task })
    }

    /// The scrape URL.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// A `Setup` for the outage scenario: a `MetricsListener` on every policy, and the breaker,
    /// the bulkhead and the retry budget in the gauges. The handles are also kept in `keep`.
    pub fn setup(&self, keep: Arc<Mutex<Option<Handles>>>) -> Setup {
        let gauges = self.gauges.clone();
        Setup {
            listener: Some(Arc::new(|| {
                Box::new(MetricsListener::new()) as Box<dyn Listener>
            })),
            on_built: Some(Box::new(move |handles: &Handles| {
                *gauges.lock().unwrap() = Gauges::new()
                    .breaker(&handles.breaker)
                    .bulkhead(&handles.bulkhead)
                    .budget("api", &handles.budget);
                *keep.lock().unwrap() = Some(handles.clone());
            })),
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A scrape, parsed: every series of the Prometheus text with its labels and value.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    series: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// Parses Prometheus text (the subset the exporter writes: no escaped quotes in values).
    pub fn parse(text: &str) -> Self {
        let mut series = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let (name, labels) = match key.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (key, ""),
            };
            let labels = labels
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
                .collect();
            if let Ok(value) = value.parse() {
                series.push((name.to_owned(), labels, value));
            }
        }
        Self { series }
    }

    /// Scrapes `url` with `client`.
    pub async fn get(
        client: &reqwest::Client,
        url: &str,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let response = client.get(url).send().await?.error_for_status()?;
        Ok(Self::parse(&response.text().await?))
    }

    /// The sum of the series of `metric` whose labels include all of `labels`; `None` if there
    /// is no such series.
    pub fn sum(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = None;
        for (name, have, value) in &self.series {
            let matches = labels
                .iter()
                .all(|(k, v)| have.get(*k).is_some_and(|h| h == v));
            if name == metric && matches {
                *found.get_or_insert(0.0) += value;
            }
        }
        found
    }

    /// Every counter series (`…_total`), by its full name and labels.
    pub fn counters(&self) -> BTreeMap<String, f64> {
        self.series
            .iter()
            .filter(|(name, _, _)| name.ends_with("_total"))
            .map(|(name, labels, value)| (format!("{name}{labels:?}"), *value))
            .collect()
    }

    /// The series of the policy of type `policy` named `name`, as `metric{label="value"} n`
    /// lines without those two labels, sorted.
    pub fn lines_of(&self, policy: &str, name: &str) -> Vec<String> {
        self.series
            .iter()
            .filter(|(_, l, _)| {
                l.get("failguard_policy_type").is_some_and(|p| p == policy)
                    && l.get("failguard_policy_name").is_some_and(|n| n == name)
            })
            .map(|(metric, labels, value)| {
                let rest: Vec<String> = labels
                    .iter()
                    .filter(|(k, _)| !k.starts_with("failguard_policy_"))
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect();
                match rest.is_empty() {
                    true => format!("{metric} {value}"),
                    false => format!("{metric}{{{}}} {value}", rest.join(",")),
                }
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}
