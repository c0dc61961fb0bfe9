//! `failguard::http` against a real HTTP server on 127.0.0.1 through reqwest: a 503 with a
//! `Retry-After` is retried after the server's delay and counted as a failure by the breaker; a
//! 500 without one is retried after the backoff. Real time, short durations, bounded.
#![cfg(feature = "http")]

#[path = "../examples/support/faulty_server.rs"]
mod faulty_server;

use std::time::{Duration, Instant};

use failguard::{
    CircuitBreaker, Retry,
    http::{RetryAfter, ServerFaults},
    retry::Backoff,
};
use faulty_server::{At, FaultyServer, Mode, Script};

async fn get(
    client: &reqwest::Client,
    url: &str,
) -> Result<http::Response<reqwest::Body>, reqwest::Error> {
    client.get(url).send().await.map(http::Response::from)
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_after_the_servers_delay() {
    let server = FaultyServer::start(
        Script::starting(Mode::Overloaded {
            retry_after: Duration::from_secs(1),
        })
        .then(At::Requests(1), Mode::Failing)
        .then(At::Requests(2), Mode::Healthy),
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let breaker = CircuitBreaker::builder()
        .classify(ServerFaults)
        .build()
        .unwrap();
    let policy = Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(Duration::from_millis(50)))
        .classify(ServerFaults)
        .delay_hint(RetryAfter)
        .build()
        .unwrap()
        .wrap(breaker.clone());

    let url = server.url();
    let start = Instant::now();
    let response = policy.call(|| get(&client, &url)).await.unwrap();
    let took = start.elapsed();

    assert_eq!(response.status(), 200);
    // 1 s asked by the 503, then the 50 ms backoff after the 500 (no header).
    assert!(took >= Duration::from_millis(1050), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.calls, 3);
    assert!(
        (snapshot.failure_rate - 2.0 / 3.0).abs() < 1e-9,
        "{snapshot:?}"
    );
}
