//! failguard's metrics, served to Prometheus while the outage scenario of
//! `examples/http_client.rs` runs: a real HTTP client behind the composed policy, a scripted
//! faulty server on 127.0.0.1, and `/metrics` served by `metrics-exporter-prometheus`'s recorder
//! on 127.0.0.1 as well.
//!
//! Every policy of the stack gets a `MetricsListener` (calls by outcome, rejections by reason,
//! transitions, retries, fallbacks), and the `/metrics` handler records the `Gauges` (breaker
//! state, bulkhead calls in flight and waiting, retry budget headroom) from the policies'
//! snapshots before it renders. The example scrapes its own endpoint over HTTP every 300 ms and
//! prints a few figures, then the whole scrape once the load has stopped.
//!
//! Run it with `cargo run --features metrics --example metrics`; it finishes in about 3 seconds.
//! `-- --addr 127.0.0.1:9898 --linger 60` serves on a fixed port and keeps serving for a minute
//! after the run, for `curl` or a local Prometheus.

#[path = "support/faulty_server.rs"]
mod faulty_server;
#[path = "support/metrics_server.rs"]
mod metrics_server;
#[path = "support/outage.rs"]
mod outage;
#[path = "support/timeline.rs"]
mod timeline;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use metrics_exporter_prometheus::PrometheusBuilder;
use metrics_server::{MetricsServer, Scrape};
use outage::{Load, run_with};
use timeline::End;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut addr: SocketAddr = "127.0.0.1:0".parse()?;
    let mut linger = Duration::ZERO;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--addr" => addr = value()?.parse()?,
            "--linger" => linger = Duration::from_secs(value()?.parse()?),
            other => return Err(format!("unknown argument {other:?} (--addr, --linger)").into()),
        }
    }
    if !addr.ip().is_loopback() {
        return Err("serve on a loopback address (127.0.0.1)".into());
    }

    // Installed before any policy sees traffic: each listener registers its series with the
    // recorder in effect at its policy's first event.
    let prometheus = PrometheusBuilder::new()
        .with_recommended_naming(true)
        .install_recorder()?;
    let server = MetricsServer::start(addr, prometheus).await?;
    let url = server.url();
    println!("serving {url}");

    let handles = Arc::new(Mutex::new(None));
    let scenario = tokio::spawn(run_with(Load::default(), server.setup(handles.clone())));

    let client = reqwest::Client::builder().no_proxy().build()?;
    println!("  time  breaker    in flight  waiting  calls ok/failed  rejected  retries  budget");
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    while !scenario.is_finished() {
        tick.tick().await;
        let s = Scrape::get(&client, &url).await?;
        let breaker = [("failguard_policy_type", "circuit-breaker")];
        let bulkhead = [("failguard_policy_type", "bulkhead")];
        let state = ["closed", "open", "half_open", "forced_open", "disabled"]
            .into_iter()
            .find(|state| {
                let labels = [breaker[0], ("failguard_state", state)];
                s.sum("failguard_breaker_state", &labels) == Some(1.0)
            })
            .unwrap_or("-");
        let n = |metric: &str, labels: &[(&str, &str)]| s.sum(metric, labels).unwrap_or(0.0);
        println!(
            "{:>5.1}s  {state:<9}  {:>9}  {:>7}  {:>7}/{:<7}  {:>8}  {:>7}  {:>6}",
            started.elapsed().as_secs_f64(),
            n(
                "failguard_bulkhead_calls",
                &[("failguard_state", "in_flight")]
            ),
            n(
                "failguard_bulkhead_calls",
                &[("failguard_state", "waiting")]
            ),
            n(
                "failguard_calls_total",
                &[breaker[0], ("failguard_outcome", "success")]
            ),
            n(
                "failguard_calls_total",
                &[breaker[0], ("failguard_outcome", "failure")]
            ),
            n("failguard_rejections_total", &breaker) + n("failguard_rejections_total", &bulkhead),
            n("failguard_retries_total", &[]),
            n("failguard_retry_budget_available", &[]),
        );
    }
    let report = scenario.await??;
    println!(
        "{} requests in {:.2?}: {} succeeded, {} fell back, {} retries",
        report.records.len(),
        report.elapsed,
        report.count(End::Success),
        report.count(End::Fallback),
        report.retries.len(),
    );

    println!("\nthe final scrape of {url}:");
    let s = Scrape::get(&client, &url).await?;
    for (policy, name) in [
        ("fallback", "cached"),
        ("bulkhead", "api"),
        ("retry", "api"),
        ("retry-budget", "api"),
        ("circuit-breaker", "api"),
        ("timeout", "attempt"),
    ] {
        println!("  {policy} {name:?}:");
        for line in s.lines_of(policy, name) {
            println!("    {line}");
        }
    }
    if !linger.is_zero() {
        println!("serving {url} for {linger:?} more");
        tokio::time::sleep(linger).await;
    }
    drop(handles);
    Ok(())
}
