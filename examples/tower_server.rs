//! failguard on the server side: a bounded queue and a timeout in front of an axum handler, so
//! that under overload latency stays bounded and excess requests are shed at once with a typed
//! error (503 with `Retry-After`) instead of piling up.
//!
//! The handler needs one of 4 "database connections" for 10 ms, so the service can do about
//! 400 requests a second. A load generator on loopback offers 1,000 requests a second (open
//! loop: requests arrive on schedule whether or not earlier ones have finished), first against
//! the unprotected service, then against the same service behind failguard.
//!
//! Run it with `cargo run --example tower_server`. It finishes in about 3 seconds.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    error_handling::HandleErrorLayer,
    extract::State,
    http::{StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
    routing::get,
};
use failguard::{Error, Queue, Timeout, queue::Overflow};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinSet};
use tower::ServiceBuilder;

const CONNECTIONS: usize = 4;
const WORK: Duration = Duration::from_millis(10);
const OFFERED_PER_SEC: u64 = 1_000;
const PHASE: Duration = Duration::from_millis(1_000);

/// The handler: waits for a pooled connection, then works for 10 ms.
async fn handler(State(pool): State<Arc<Semaphore>>) -> &'static str {
    let _connection = pool.acquire().await.expect("the pool is never closed");
    tokio::time::sleep(WORK).await;
    "ok"
}

/// Turns failguard's typed rejections into HTTP answers.
async fn rejected(error: Error<Infallible>) -> Response {
    match &error {
        Error::QueueFull(_) | Error::QueueTimeout(_) => {
            // An honest Retry-After: a full queue estimates how long a newcomer would wait (once
            // an item has run); otherwise 1 s. Whole seconds, rounded up.
            let secs = error
                .retry_after()
                .map_or(1, |wait| wait.as_secs_f64().ceil().max(1.0) as u64);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(RETRY_AFTER, secs.to_string())],
                "overloaded, try again",
            )
                .into_response()
        }
        Error::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "took too long").into_response(),
        other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()).into_response(),
    }
}

fn app(protected: bool) -> Result<Router, failguard::ConfigError> {
    let pool = Arc::new(Semaphore::new(CONNECTIONS));
    let router = Router::new().route("/", get(handler)).with_state(pool);
    if !protected {
        return Ok(router);
    }
    // As many workers as connections; a short queue in front; nobody waits more than 50 ms for a
    // worker, and no request runs more than 250 ms. A route cannot fail (its error is
    // `Infallible`), so the layers need no lift: their error is `Error<Infallible>`.
    let queue = Queue::builder()
        .workers(CONNECTIONS)
        .capacity(8)
        .overflow(Overflow::RejectNewest)
        .max_wait(Duration::from_millis(50))
        .name("api")
        .build()?;
    let timeout = Timeout::builder()
        .duration(Duration::from_millis(250))
        .name("api")
        .build()?;
    Ok(router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(rejected))
            .layer(queue.layer())
            .layer(timeout.layer()),
    ))
}

#[derive(Default)]
struct Phase {
    ok: Vec<Duration>,
    shed: Vec<Duration>,
    timed_out: usize,
    other: usize,
}

fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = (q * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// Offers `OFFERED_PER_SEC` requests a second for `PHASE`, open loop, and collects the answers.
async fn load(addr: SocketAddr) -> Phase {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(256)
        .build()
        .expect("a client");
    let url = format!("http://{addr}/");
    let mut tasks = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / OFFERED_PER_SEC));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = OFFERED_PER_SEC * PHASE.as_millis() as u64 / 1_000;
    for _ in 0..total {
        tick.tick().await;
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let start = Instant::now();
            let status = client.get(&url).send().await.map(|r| r.status());
            (status, start.elapsed())
        });
    }
    let mut phase = Phase::default();
    while let Some(joined) = tasks.join_next().await {
        let (status, took) = joined.expect("a load task");
        match status {
            Ok(StatusCode::OK) => phase.ok.push(took),
            Ok(StatusCode::SERVICE_UNAVAILABLE) => phase.shed.push(took),
            Ok(StatusCode::GATEWAY_TIMEOUT) => phase.timed_out += 1,
            _ => phase.other += 1,
        }
    }
    phase
}

async fn serve(router: Router) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the server runs");
    });
    Ok((addr, server))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    println!(
        "capacity ~{} req/s ({CONNECTIONS} connections x {WORK:?}); offered {OFFERED_PER_SEC} req/s for {PHASE:?}\n",
        CONNECTIONS as u64 * 1_000 / WORK.as_millis() as u64
    );
    println!(
        "{:<12} {:>6} {:>6} {:>6} {:>6} {:>10} {:>10} {:>12}",
        "", "sent", "ok", "shed", "504", "ok p50", "ok p99", "shed p99"
    );
    for protected in [false, true] {
        let (addr, server) = serve(app(protected)?).await?;
        let mut phase = load(addr).await;
        server.abort();
        let sent = phase.ok.len() + phase.shed.len() + phase.timed_out + phase.other;
        println!(
            "{:<12} {:>6} {:>6} {:>6} {:>6} {:>10} {:>10} {:>12}",
            if protected {
                "failguard"
            } else {
                "unprotected"
            },
            sent,
            phase.ok.len(),
            phase.shed.len(),
            phase.timed_out,
            format!("{:.1?}", quantile(&mut phase.ok, 0.5)),
            format!("{:.1?}", quantile(&mut phase.ok, 0.99)),
            format!("{:.1?}", quantile(&mut phase.shed, 0.99)),
        );
        if protected {
            // The promise of the protected service: what is served is served within the queue's
            // wait plus the work (with scheduling slack), and what is shed is shed fast.
            let ok_p99 = quantile(&mut phase.ok, 0.99);
            assert!(ok_p99 < Duration::from_millis(200), "served p99 {ok_p99:?}");
            assert!(!phase.shed.is_empty(), "overload must shed");
        }
    }
    println!(
        "\nUnprotected, every request waits its turn and latency grows for as long as the overload lasts.\n\
         Behind failguard, a request waits at most 50 ms for a worker; the excess is answered at once\n\
         with 503 and Retry-After, and the latency of what is served stays bounded."
    );
    Ok(())
}
