//! The tower side: a failguard layer made fit for a tonic `Channel`.

use std::task::{Context, Poll};

use tonic::body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::{GrpcRequest, GrpcService};

/// How many bytes of a request body are kept for retries unless [`GrpcLayer::max_buffer`] says
/// otherwise: 256 KiB, gRPC core's per-call retry buffer.
pub const DEFAULT_MAX_BUFFER: usize = 256 * 1024;

/// A failguard layer (one policy's, or a whole stack's `policy.layer()`) made fit for a tonic
/// `Channel` under a generated client.
///
/// It does three things the stack cannot do alone:
///
/// - **Requests can be retried.** tonic's request body is a stream, not `Clone`. The layer reads
///   it once, before the policies see the call: a body that is complete without waiting (every
///   unary call, and a client stream of messages already at hand) and at most
///   [`max_buffer`](Self::max_buffer) bytes is kept, and every attempt sends a copy (the bytes
///   are shared, not copied). A body that has to wait for its next message (a stream fed as
///   the call goes) or is larger than the bound is sent once, as it came: a retry sees it
///   cannot replay it and returns the first outcome. The policies see each call as a
///   [`GrpcRequest`], which retries replay (and hedging, later, will) through
///   [`Replay`](crate::retry::Replay).
/// - **Rejections read as gRPC codes.** Errors reach the generated client's caller as the
///   `tonic::Status` [`IntoStatus`](super::IntoStatus) makes: an open circuit is
///   `UNAVAILABLE`, a timeout `DEADLINE_EXCEEDED`, a full bulkhead `RESOURCE_EXHAUSTED`, and the
///   failguard rejection is the status's `source()`.
/// - **The channel gets tonic's request back**: under the stack, each attempt's request is an
///   `http::Request<tonic::body::Body>` again.
///
/// Classify outcomes with [`ServerFaults`](super::ServerFaults) (breaker, fallback) and
/// [`Transient`](super::Transient) plus [`RetryPushback`](super::RetryPushback) (retry): the
/// policies see the channel's `http::Response` and read `grpc-status` from it.
///
/// Cloning the layer clones the failguard layer inside, which shares its policies' state.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use failguard::{CircuitBreaker, Error, Retry, Timeout};
/// use failguard::grpc::{GrpcLayer, RetryPushback, ServerFaults, Transient};
/// use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
/// use tower::ServiceBuilder;
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let policy = Retry::builder()
///     .max_attempts(3)
///     .classify(Transient)
///     .delay_hint(RetryPushback)
///     .build()?
///     .wrap(CircuitBreaker::builder().classify(ServerFaults).build()?)
///     .wrap(Timeout::new(Duration::from_secs(1))?);
/// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
/// let stack = ServiceBuilder::new()
///     .layer(GrpcLayer::new(policy.layer()))
///     .map_err(Error::Inner)
///     .service(channel);
/// let mut client = HealthClient::new(stack);
/// let status = client.check(HealthCheckRequest::default()).await?.into_inner().status();
/// # let _ = status;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct GrpcLayer<L> {
    inner: L,
    max_buffer: usize,
}

impl<L> GrpcLayer<L> {
    /// `layer` (failguard's, or any taking [`GrpcRequest`]s) fit for a tonic channel.
    ///
    /// ```
    /// let layer = failguard::grpc::GrpcLayer::new(failguard::Retry::new(3)?.layer());
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn new(layer: L) -> Self {
        Self {
            inner: layer,
            max_buffer: DEFAULT_MAX_BUFFER,
        }
    }

    /// The largest request body kept for retries, in bytes; a larger one is sent once. `0`
    /// keeps nothing but empty bodies.
    ///
    /// # Default
    ///
    /// [`DEFAULT_MAX_BUFFER`], 256 KiB.
    ///
    /// ```
    /// let layer = failguard::grpc::GrpcLayer::new(failguard::Retry::new(3)?.layer())
    ///     .max_buffer(4 * 1024 * 1024);
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn max_buffer(mut self, bytes: usize) -> Self {
        self.max_buffer = bytes;
        self
    }
}

impl<S, L> Layer<S> for GrpcLayer<L>
where
    L: Layer<ToChannel<S>>,
{
    type Service = GrpcService<L::Service>;

    fn layer(&self, channel: S) -> Self::Service {
        GrpcService::new(
            self.inner.layer(ToChannel { inner: channel }),
            self.max_buffer,
        )
    }
}

/// The bottom of a [`GrpcLayer`]: hands each attempt's [`GrpcRequest`] to the channel as
/// `http::Request<tonic::body::Body>`. Readiness, response and error are the channel's.
#[derive(Debug, Clone)]
pub struct ToChannel<S> {
    inner: S,
}

impl<S> Service<GrpcRequest> for ToChannel<S>
where
    S: Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: GrpcRequest) -> S::Future {
        self.inner.call(request.into_http())
    }
}
