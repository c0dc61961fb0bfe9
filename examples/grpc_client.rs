//! A gRPC client stack on real tonic: failguard between a tonic `Channel` and tonic-health's
//! generated `HealthClient`, against a real gRPC server on 127.0.0.1 whose answers are
//! scripted (`support/grpc_server.rs`): healthy, then `INVALID_ARGUMENT`s, a server that hangs,
//! `UNAVAILABLE` with a retry pushback, and healthy again.
//!
//! What to watch:
//!
//! - `INVALID_ARGUMENT` is the caller's fault: not retried, not counted by the breaker.
//! - A hanging server is cut by the per-attempt timeout, retried, and the caller reads
//!   `DEADLINE_EXCEEDED`.
//! - `UNAVAILABLE` is retried after the server's `grpc-retry-pushback-ms`; once the breaker has
//!   seen enough of them it opens, and the server sees no more calls: the caller reads
//!   `UNAVAILABLE` with the `CircuitOpen` rejection as the status's `source()`.
//! - After the open duration, probes find the server healthy and the breaker closes.
//!
//! Run it with `cargo run --features grpc --example grpc_client`; it finishes in about a second.

#[path = "support/grpc_server.rs"]
mod grpc_server;

use std::{error::Error as _, time::Duration};

use failguard::{
    Bulkhead, CircuitBreaker, Error, Retry, Timeout,
    error::CircuitOpen,
    grpc::{GrpcLayer, RetryPushback, ServerFaults, Transient},
    retry::Backoff,
};
use grpc_server::{Answer, GrpcServer};
use tonic::{Code, transport::Endpoint};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tower::ServiceBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let server = GrpcServer::start().await?;
    let breaker = CircuitBreaker::builder()
        .count_window(20)
        .minimum_calls(10)
        .failure_rate(0.5)
        .open_duration(Duration::from_millis(100))
        .half_open_calls(2)
        .classify(ServerFaults)
        .name("health")
        .build()?;
    // The stack, outermost first: bulkhead, retry, breaker, per-attempt timeout.
    let policy = Bulkhead::new(16)?
        .wrap(
            Retry::builder()
                .max_attempts(3)
                .backoff(
                    Backoff::exponential(Duration::from_millis(5))
                        .max_delay(Duration::from_millis(50)),
                )
                .classify(Transient)
                .delay_hint(RetryPushback)
                .name("health")
                .build()?,
        )
        .wrap(breaker.clone())
        .wrap(Timeout::new(Duration::from_millis(50))?);

    let channel = Endpoint::from_shared(server.url())?.connect().await?;
    // `GrpcLayer` fits it to the channel: request bodies kept for the retry, rejections as gRPC
    // codes for the generated client's caller.
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(policy.layer()))
        .map_err(Error::Inner)
        .service(channel);
    let mut client = HealthClient::new(stack);

    println!(
        "{:<30} {:>5} {:>4} {:>11} {:>8} {:>7} {:>12} {:>7} {:>9}",
        "phase",
        "calls",
        "ok",
        "unavailable",
        "deadline",
        "invalid",
        "circuit-open",
        "server",
        "breaker"
    );
    let phases = [
        ("healthy", Answer::Serving, 20),
        ("invalid arguments", Answer::code(Code::InvalidArgument), 10),
        ("hanging", Answer::Hang, 2),
        (
            "unavailable, pushback 20 ms",
            Answer::Status(Code::Unavailable, Some("20")),
            20,
        ),
        ("recovered (after 120 ms)", Answer::Serving, 20),
    ];
    for (name, answer, calls) in phases {
        if name.starts_with("recovered") {
            // Longer than the breaker's open duration, so the next call is a probe.
            tokio::time::sleep(Duration::from_millis(120)).await;
        }
        server.always(answer);
        let before = server.calls();
        let (mut ok, mut unavailable, mut deadline, mut invalid, mut open) = (0, 0, 0, 0, 0);
        for _ in 0..calls {
            let request = HealthCheckRequest {
                service: String::new(),
            };
            match client.check(request).await {
                Ok(_) => ok += 1,
                // The rejection is still there for those who want the detail.
                Err(status) if status.source().is_some_and(|s| s.is::<CircuitOpen>()) => open += 1,
                Err(status) => match status.code() {
                    Code::Unavailable => unavailable += 1,
                    Code::DeadlineExceeded => deadline += 1,
                    Code::InvalidArgument => invalid += 1,
                    _ => return Err(status.into()),
                },
            }
        }
        let reached = server.calls() - before;
        println!(
            "{name:<30} {calls:>5} {ok:>4} {unavailable:>11} {deadline:>8} {invalid:>7} {open:>12} {reached:>7} {:>9}",
            breaker.state().as_str()
        );
    }
    Ok(())
}
