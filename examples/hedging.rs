//! Hedging against a real slow tail: a loopback HTTP server (axum) where 5 % of requests are
//! 20 times slower (100 ms instead of 5 ms), and a reqwest client calling it at 400 requests a
//! second, first plainly, then through a `Hedge` at the dynamic 95th percentile (up to two
//! hedges) with a 10 % budget. Prints the latency percentiles (after a warm-up of 0.5 s) and
//! the extra load the server saw.
//!
//! Run it with `cargo run --release --example hedging` (about 7 s); with
//! `-- --svg examples/hedging.svg` it also draws both latency curves (the README's picture). One run, release, on a
//! shared 2-core machine: p99 101.7 ms → 18.3 ms, p99.9 104.7 ms → 28.6 ms, for 5.2 % more
//! requests.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

#[path = "support/percentiles.rs"]
mod percentiles;

use axum::{Router, extract::State, routing::get};
use failguard::{Policy, hedge::Hedge, retry::RetryBudget};
use tokio::{net::TcpListener, task::JoinSet};

const PER_SEC: u64 = 400;
const PHASE: Duration = Duration::from_secs(3);
const FAST: Duration = Duration::from_millis(5);
const SLOW: Duration = Duration::from_millis(100);
/// Left out of the figures: the first requests, while the hedge learns the latencies.
const WARM_UP: Duration = Duration::from_millis(500);

/// 5 % of requests take 20 times longer: a GC pause, a cold cache, a slow disk.
async fn handler(State(served): State<Arc<AtomicU64>>) -> &'static str {
    served.fetch_add(1, Ordering::Relaxed);
    let slow = rand::random::<f64>() < 0.05;
    tokio::time::sleep(if slow { SLOW } else { FAST }).await;
    "ok"
}

fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let rank = (q * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// Offers `PER_SEC` requests a second for `PHASE`, each through `policy` (or plainly), and
/// returns their latencies.
async fn load(url: &str, policy: Option<Arc<Hedge>>) -> Vec<Duration> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()
        .expect("a client");
    let mut tasks = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / PER_SEC));
    let begin = Instant::now();
    for _ in 0..PER_SEC * PHASE.as_secs() {
        tick.tick().await;
        let measured = begin.elapsed() >= WARM_UP;
        let (client, url, policy) = (client.clone(), url.to_string(), policy.clone());
        tasks.spawn(async move {
            let start = Instant::now();
            let send = || {
                let request = client.get(&url).send();
                async move { request.await?.error_for_status() }
            };
            let ok = match &policy {
                None => send().await.is_ok(),
                Some(hedge) => Policy::call(&**hedge, send).await.is_ok(),
            };
            (ok, start.elapsed(), measured)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (ok, took, measured) = joined.expect("a load task");
        assert!(ok, "a request failed");
        if measured {
            latencies.push(took);
        }
    }
    latencies
}

fn report(label: &str, mut latencies: Vec<Duration>, served: u64) {
    let n = PER_SEC * PHASE.as_secs();
    println!(
        "{label:<22} p50 {:>8.1?}  p99 {:>8.1?}  p99.9 {:>8.1?}  extra load {:>5.1} %",
        quantile(&mut latencies, 0.50),
        quantile(&mut latencies, 0.99),
        quantile(&mut latencies, 0.999),
        (served as f64 / n as f64 - 1.0) * 100.0,
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let served = Arc::new(AtomicU64::new(0));
    let router = Router::new()
        .route("/", get(handler))
        .with_state(served.clone());
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr: SocketAddr = listener.local_addr()?;
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the server runs")
    });
    let url = format!("http://{addr}/");
    println!("{PER_SEC} requests a second for {PHASE:?}; 95 % take {FAST:?}, 5 % take {SLOW:?}\n");

    let plain = load(&url, None).await;
    report(
        "no hedging",
        plain.clone(),
        served.swap(0, Ordering::Relaxed),
    );

    let hedge = Hedge::builder()
        .percentile_delay(95.0)
        .delay_floor(Duration::from_millis(1))
        .delay_cap(Duration::from_millis(200))
        // Two hedges: with one, both attempts are slow for 0.25 % of requests, which is the
        // 99.9th percentile; with two, all three are slow for 0.0125 %.
        .max_hedged_attempts(2)
        .budget(RetryBudget::builder().percent(10.0).build()?)
        .name("loopback")
        .build()?;
    let hedged = load(&url, Some(Arc::new(hedge.clone()))).await;
    report(
        "hedge at dynamic p95",
        hedged.clone(),
        served.swap(0, Ordering::Relaxed),
    );
    let mut args = std::env::args().skip(1);
    if let (Some(flag), Some(path)) = (args.next(), args.next()) {
        if flag == "--svg" {
            let picture = percentiles::svg(
                "Latency against a server with a 5 % slow tail (400 requests a second, loopback)",
                &[
                    ("no hedging", "#c0392b", plain),
                    ("hedge at dynamic p95 (failguard Hedge)", "#2471a3", hedged),
                ],
            );
            std::fs::write(&path, picture)?;
            println!("wrote {path}");
        }
    }
    let s = hedge.snapshot();
    println!(
        "\nhedging delay now {:?} (from {} latencies); {} hedges sent, {} won, {} refused by the budget",
        s.delay, s.samples, s.hedges, s.hedge_wins, s.budget_exhausted
    );
    Ok(())
}
