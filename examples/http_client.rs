//! A real HTTP client (reqwest) behind one composed failguard policy, driven through an outage
//! and its recovery against a real, scripted, faulty HTTP server on 127.0.0.1.
//!
//! The policy, outermost first (`examples/support/outage.rs` builds it):
//!
//! ```text
//! fallback (a cached answer when the server failed or was too slow)
//!   → bulkhead (24 calls in flight, 8 waiting for at most 20 ms)
//!     → retry (3 attempts, exponential backoff with full jitter, the server's Retry-After,
//!              a budget of 5 % of recent requests plus 5 a second)
//!       → circuit breaker (opens at 50 % failures over a 400 ms window; open 200 ms; 4 probes)
//!         → per-attempt timeout (100 ms)
//!           → GET, where a 5xx is an error carrying its status and Retry-After
//! ```
//!
//! The server's script: healthy (with a blip of sixteen 503s with `Retry-After`, too few to trip
//! the breaker), 500s from 0.5 s, connection resets from 1.1 s, 503s with `Retry-After` from
//! 1.5 s, healthy again from 1.9 s. 32 callers each make one request every 4 ms until 2.7 s.
//! It prints one line per 100 ms: the server's mode, requests, how they ended (success, fallback,
//! typed rejections by kind), retries, calls that reached the server, the breaker's state and
//! p50/p99 latency.
//!
//! Run it with `cargo run --example http_client`; it finishes in about 3 seconds. With
//! `-- --svg examples/outage.svg` it also renders the timeline as the SVG picture shown in the
//! README.

#[path = "support/faulty_server.rs"]
mod faulty_server;
#[path = "support/outage.rs"]
mod outage;
#[path = "support/timeline.rs"]
mod timeline;

use std::time::Duration;

use outage::{Load, run};
use timeline::End;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let mut svg = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--svg" => svg = Some(args.next().ok_or("--svg needs a file name")?),
            other => return Err(format!("unknown argument {other:?} (try --svg FILE)").into()),
        }
    }

    let report = run(Load::default()).await?;
    let timeline = report.timeline(Duration::from_millis(100));
    println!("{}", timeline.table());

    let requests = report.records.len();
    let rejected: u64 = timeline
        .totals()
        .iter()
        .filter(|(e, _)| matches!(e, End::Rejected(_)))
        .map(|(_, n)| n)
        .sum();
    println!(
        "{requests} requests in {:.2?}: {} succeeded, {} fell back, {rejected} were rejected (typed), {} failed",
        report.elapsed,
        report.count(End::Success),
        report.count(End::Fallback),
        report.count(End::Failed),
    );
    println!(
        "{} retries; {} attempts reached the client, {} the server",
        report.retries.len(),
        report.attempts,
        report.server.requests,
    );
    println!("breaker transitions:");
    for t in &report.transitions {
        println!(
            "  {:>7.1?}  {} -> {} (server had {} requests)",
            t.at, t.from, t.to, t.server_requests
        );
    }
    if let Some(path) = svg {
        std::fs::write(
            &path,
            timeline.svg("failguard: an HTTP client through an outage (100 ms buckets)"),
        )?;
        println!("wrote {path}");
    }
    Ok(())
}
