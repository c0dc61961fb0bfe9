//! A gRPC-style client stack: failguard layers in front of a `tower::Service` that stands in for
//! a tonic `Channel`, under a generated-style client that is generic over that service.
//!
//! With tonic, the same stack goes between `Channel` and the generated client:
//!
//! ```text
//! let channel = Endpoint::from_static("http://[::1]:50051").connect().await?;
//! let stack = ServiceBuilder::new().layer(policy.layer()).map_err(BoxError::from).service(channel);
//! let mut client = GreeterClient::new(stack);
//! ```
//!
//! tonic wants the channel's error to be `Into<BoxError>`, so this stack is the boxed flavour:
//! the leaf's error is boxed once (`map_err(BoxError::from)`), every failguard layer keeps that
//! one error type, and rejections are downcast (`error::CircuitOpen`, `error::Elapsed`, ...).
//! A tonic request (`http::Request` with a streaming body) is not `Clone`: stack the retry's own
//! layer with a replay hook (`retry.layer().replay(|req| ...)`, copying a buffered request, or
//! `None` to send it once) instead of the composed layer. The stand-in's request is `Clone`.
//!
//! gRPC semantics in the policies: only `UNAVAILABLE` (and a per-attempt timeout, the client's
//! own deadline) is retried, after the server's `grpc-retry-pushback-ms` when it sends one; an
//! `INVALID_ARGUMENT` is the caller's fault, so it is neither retried nor counted against the
//! service by the breaker.
//!
//! Run it with `cargo run --example grpc_client`. In-process, no network; it finishes in well
//! under a second.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    time::Duration,
};

use failguard::{
    BoxError, Bulkhead, CircuitBreaker, FailureIf, Outcome, Retry, Timeout, error::CircuitOpen,
    retry::Backoff,
};
use tower::{Service, ServiceBuilder, ServiceExt};

// ---------------------------------------------------------------------------------------------
// The stand-in for tonic: messages, a status, a channel and a generated-style client.

/// A request message (`Clone`, so the retry layer can resend it).
#[derive(Debug, Clone)]
struct HelloRequest {
    name: String,
}

/// A response message.
#[derive(Debug)]
struct HelloReply {
    message: String,
}

/// gRPC status codes this example uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    InvalidArgument,
    Unavailable,
}

/// A gRPC status, as tonic's `Status`: a code, and the server's retry pushback if it sent one.
#[derive(Debug)]
struct Status {
    code: Code,
    pushback: Option<Duration>,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "grpc status {:?}", self.code)
    }
}

impl std::error::Error for Status {}

/// How the backend behaves.
const HEALTHY: u8 = 0;
const UNAVAILABLE: u8 = 1;
const INVALID: u8 = 2;

/// The stand-in for a tonic `Channel`: a cheap `Clone` service whose behaviour the example
/// switches, counting the calls that reach it.
#[derive(Clone)]
struct Channel {
    mode: Arc<AtomicU8>,
    calls: Arc<AtomicU64>,
}

impl Service<HelloRequest> for Channel {
    type Response = HelloReply;
    type Error = Status;
    type Future = Pin<Box<dyn Future<Output = Result<HelloReply, Status>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Status>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: HelloRequest) -> Self::Future {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mode = self.mode.load(Ordering::Relaxed);
        Box::pin(async move {
            // A round trip.
            tokio::time::sleep(Duration::from_millis(1)).await;
            match mode {
                HEALTHY => Ok(HelloReply {
                    message: format!("hello, {}", req.name),
                }),
                UNAVAILABLE => Err(Status {
                    code: Code::Unavailable,
                    pushback: Some(Duration::from_millis(20)),
                }),
                _ => Err(Status {
                    code: Code::InvalidArgument,
                    pushback: None,
                }),
            }
        })
    }
}

/// What tonic generates: a client generic over any service with the channel's shape.
struct GreeterClient<S> {
    inner: S,
}

impl<S> GreeterClient<S>
where
    S: Service<HelloRequest, Response = HelloReply, Error = BoxError>,
{
    fn new(inner: S) -> Self {
        Self { inner }
    }

    async fn say_hello(&mut self, req: HelloRequest) -> Result<HelloReply, BoxError> {
        self.inner.ready().await?.call(req).await
    }
}

// ---------------------------------------------------------------------------------------------
// The policies.

fn status(e: &BoxError) -> Option<&Status> {
    e.downcast_ref::<Status>()
}

/// Retry UNAVAILABLE and the per-attempt deadline; nothing else.
fn retryable(e: &BoxError) -> bool {
    status(e).map_or(e.is::<failguard::error::Elapsed>(), |s| {
        s.code == Code::Unavailable
    })
}

/// The server's `grpc-retry-pushback-ms`.
fn pushback(r: &Result<HelloReply, BoxError>) -> Option<Duration> {
    status(r.as_ref().err()?)?.pushback
}

/// An INVALID_ARGUMENT says nothing about the service's health.
fn judge(r: &Result<HelloReply, BoxError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Success,
        Err(e) if status(e).is_some_and(|s| s.code == Code::InvalidArgument) => Outcome::Ignored,
        Err(_) => Outcome::Failure,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let channel = Channel {
        mode: Arc::new(AtomicU8::new(HEALTHY)),
        calls: Arc::new(AtomicU64::new(0)),
    };
    let breaker = CircuitBreaker::builder()
        .count_window(20)
        .minimum_calls(10)
        .failure_rate(0.5)
        .open_duration(Duration::from_millis(100))
        .half_open_calls(2)
        .classify(judge as fn(&Result<HelloReply, BoxError>) -> Outcome)
        .name("greeter")
        .build()?;
    let policy = Bulkhead::builder()
        .max_concurrent(16)
        .name("greeter")
        .build()?
        .wrap(
            Retry::builder()
                .max_attempts(3)
                .backoff(
                    Backoff::exponential(Duration::from_millis(5))
                        .max_delay(Duration::from_millis(50)),
                )
                .classify(FailureIf(retryable as fn(&BoxError) -> bool))
                .delay_hint(pushback as fn(&Result<HelloReply, BoxError>) -> Option<Duration>)
                .name("greeter")
                .build()?,
        )
        .wrap(breaker.clone())
        .wrap(Timeout::new(Duration::from_millis(50))?);

    let stack = ServiceBuilder::new()
        .layer(policy.layer())
        .map_err(BoxError::from)
        .service(channel.clone());
    let mut client = GreeterClient::new(stack);

    println!(
        "{:<28} {:>5} {:>4} {:>11} {:>7} {:>12} {:>8} {:>8}",
        "phase", "calls", "ok", "unavailable", "invalid", "circuit-open", "backend", "breaker"
    );
    let phases = [
        ("healthy", HEALTHY, 20),
        ("invalid arguments", INVALID, 10),
        ("unavailable, pushback 20 ms", UNAVAILABLE, 30),
        ("recovered (after 120 ms)", HEALTHY, 20),
    ];
    for (name, mode, calls) in phases {
        channel.mode.store(mode, Ordering::Relaxed);
        if name.starts_with("recovered") {
            // Longer than the breaker's open duration, so the next call is a probe.
            tokio::time::sleep(Duration::from_millis(120)).await;
        }
        let before = channel.calls.load(Ordering::Relaxed);
        let (mut ok, mut unavailable, mut invalid, mut open) = (0, 0, 0, 0);
        for i in 0..calls {
            let req = HelloRequest {
                name: format!("caller {i}"),
            };
            match client.say_hello(req).await {
                Ok(reply) => {
                    debug_assert!(reply.message.starts_with("hello"));
                    ok += 1;
                }
                Err(e) if e.is::<CircuitOpen>() => open += 1,
                Err(e) => match status(&e).map(|s| s.code) {
                    Some(Code::Unavailable) => unavailable += 1,
                    Some(Code::InvalidArgument) => invalid += 1,
                    None => return Err(e),
                },
            }
        }
        let backend = channel.calls.load(Ordering::Relaxed) - before;
        println!(
            "{name:<28} {calls:>5} {ok:>4} {unavailable:>11} {invalid:>7} {open:>12} {backend:>8} {:>8}",
            breaker.state().as_str()
        );
    }
    Ok(())
}
