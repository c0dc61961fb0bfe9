//! gRPC out of the box (feature `grpc`): failguard between a tonic `Channel` and a generated
//! client, with gRPC's own meaning of failure, retry and rejection.
//!
//! A tonic `Channel` does not fail a call that the server answered with an error: it answers
//! `Ok(http::Response)` with `grpc-status` in the headers, and only the generated client, above
//! any middleware, turns that into a `tonic::Status`. A stack written against `Status` never
//! sees a gRPC failure. This module reads the status where the stack sees it, and makes the rest
//! of a gRPC call fit the policies:
//!
//! - [`ServerFaults`]: the server's faults (`UNAVAILABLE`, `INTERNAL`, `UNKNOWN`, `DATA_LOSS`,
//!   `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`) are failures; the caller's mistakes
//!   (`INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`, `PERMISSION_DENIED`, ...) are ignored.
//!   One [`Classify`](crate::Classify) value for a breaker and a fallback.
//! - [`Transient`] and [`RetryPushback`]: what a retry may retry (`UNAVAILABLE`, a per-attempt
//!   timeout, `RESOURCE_EXHAUSTED` with pushback; never against a negative pushback), and the
//!   server's `grpc-retry-pushback-ms` as the delay, per gRPC's retry design.
//! - [`GrpcLayer`]: puts a failguard layer between the channel and the generated client. It
//!   keeps unary request bodies so a retry can send them again, sends streams once, and hands
//!   the caller rejections as `tonic::Status` codes ([`rejection_code`]) with the rejection as
//!   the status's `source()`.
//! - [`GrpcOutcome`]: the code, pushback and origin of an outcome, for classifiers of your own;
//!   it reads the channel's `http::Response` (tower) and a generated client's `Status`
//!   (the combinator, `policy.call(|| client.check(..))`).
//!
//! # Examples
//!
//! The client stack, on a real tonic `Channel` and tonic-health's generated client (the
//! README's gRPC recipe; `examples/grpc_client.rs` runs it against a real server):
//!
//! ```no_run
//! use std::time::Duration;
//! use failguard::{Bulkhead, CircuitBreaker, Error, Retry, Timeout, retry::Backoff};
//! use failguard::grpc::{GrpcLayer, RetryPushback, ServerFaults, Transient};
//! use tonic::transport::Endpoint;
//! use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let policy = Bulkhead::new(64)?
//!     .wrap(
//!         Retry::builder()
//!             .max_attempts(3)
//!             .backoff(Backoff::exponential(Duration::from_millis(20)))
//!             .classify(Transient)
//!             .delay_hint(RetryPushback)
//!             .build()?,
//!     )
//!     .wrap(CircuitBreaker::builder().classify(ServerFaults).build()?)
//!     .wrap(Timeout::new(Duration::from_millis(500))?);
//!
//! let channel = Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let stack = ServiceBuilder::new()
//!     .layer(GrpcLayer::new(policy.layer()))
//!     .map_err(Error::Inner)
//!     .service(channel);
//! let mut client = HealthClient::new(stack);
//! match client.check(HealthCheckRequest { service: String::new() }).await {
//!     Ok(response) => println!("{:?}", response.into_inner().status()),
//!     Err(status) if status.code() == tonic::Code::Unavailable => println!("not now"),
//!     Err(status) => println!("{status}"),
//! }
//! # Ok(())
//! # }
//! ```

mod body;
mod classify;
mod layer;
mod request;
mod service;
mod status;

pub use classify::{
    GrpcOutcome, PUSHBACK_HEADER, Pushback, RetryPushback, ServerFaults, Transient,
};
pub use layer::{DEFAULT_MAX_BUFFER, GrpcLayer, ToChannel};
pub use request::GrpcRequest;
pub use service::{GrpcFuture, GrpcService};
pub use status::{IntoStatus, rejection_code};
