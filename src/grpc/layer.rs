//! The tower side: a failguard layer made fit for a tonic `Channel`.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use pin_project_lite::pin_project;
use tonic::{Status, body::Body};
use tower_layer::Layer;
use tower_service::Service;

use super::{
    IntoStatus,
    body::{Collect, Payload},
};
use crate::{
    BoxError,
    retry::{CloneRequest, Replay},
};

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
///   [`GrpcRequest`], which retries replay (and hedging, later, will) through [`Replay`].
/// - **Rejections read as gRPC codes.** Errors reach the generated client's caller as the
///   `tonic::Status` [`IntoStatus`] makes: an open circuit is `UNAVAILABLE`, a timeout
///   `DEADLINE_EXCEEDED`, a full bulkhead `RESOURCE_EXHAUSTED`, and the failguard rejection is
///   the status's `source()`.
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
        GrpcService {
            inner: self.inner.layer(ToChannel { inner: channel }),
            max_buffer: self.max_buffer,
        }
    }
}

/// A gRPC call as the policies inside a [`GrpcLayer`] see it: the request's head, and its body
/// read once, kept for replay when it could be.
///
/// ```
/// use failguard::grpc::GrpcRequest;
///
/// let request = GrpcRequest::buffered(
///     http::Request::builder().uri("/grpc.health.v1.Health/Check").body(()).unwrap(),
///     bytes::Bytes::from_static(b"\0\0\0\0\0"),
/// );
/// assert!(request.is_replayable());
/// assert_eq!(request.try_clone().unwrap().uri().path(), "/grpc.health.v1.Health/Check");
/// ```
pub struct GrpcRequest {
    head: http::request::Parts,
    payload: Payload,
}

impl fmt::Debug for GrpcRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcRequest")
            .field("method", &self.head.method)
            .field("uri", &self.head.uri)
            .field("headers", &self.head.headers)
            .field("replayable", &self.is_replayable())
            .finish_non_exhaustive()
    }
}

impl GrpcRequest {
    /// A request whose whole body is `body`: replayable.
    ///
    /// ```
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), bytes::Bytes::new());
    /// assert!(request.is_replayable());
    /// ```
    pub fn buffered(head: http::Request<()>, body: Bytes) -> Self {
        Self {
            head: head.into_parts().0,
            payload: Payload::Buffered {
                data: body,
                trailers: None,
            },
        }
    }

    /// Whether another attempt can send this request again (its body was kept).
    ///
    /// ```
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), bytes::Bytes::new());
    /// assert!(request.is_replayable());
    /// ```
    pub fn is_replayable(&self) -> bool {
        self.payload.is_replayable()
    }

    /// A copy for another attempt (the body's bytes are shared), or `None` when the body is sent
    /// once. What the retry layer's [`Replay`] calls.
    ///
    /// ```
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), "hi".into());
    /// assert!(request.try_clone().is_some());
    /// ```
    pub fn try_clone(&self) -> Option<Self> {
        Some(Self {
            head: self.head.clone(),
            payload: self.payload.try_clone()?,
        })
    }

    /// The request's URI; its path names the method (`/package.Service/Method`).
    ///
    /// ```
    /// let head = http::Request::builder().uri("/pkg.Svc/Call").body(()).unwrap();
    /// let request = failguard::grpc::GrpcRequest::buffered(head, bytes::Bytes::new());
    /// assert_eq!(request.uri().path(), "/pkg.Svc/Call");
    /// ```
    pub fn uri(&self) -> &http::Uri {
        &self.head.uri
    }

    /// The request's headers (gRPC metadata).
    ///
    /// ```
    /// let head = http::Request::builder().header("x-tenant", "7").body(()).unwrap();
    /// let request = failguard::grpc::GrpcRequest::buffered(head, bytes::Bytes::new());
    /// assert_eq!(request.headers()["x-tenant"], "7");
    /// ```
    pub fn headers(&self) -> &http::HeaderMap {
        &self.head.headers
    }

    /// The request's extensions (tonic puts the `GrpcMethod` there).
    ///
    /// ```
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), bytes::Bytes::new());
    /// assert!(request.extensions().is_empty());
    /// ```
    pub fn extensions(&self) -> &http::Extensions {
        &self.head.extensions
    }

    /// The request as tonic's channel takes it.
    ///
    /// ```
    /// use http_body::Body as _;
    ///
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), "hi".into());
    /// let http = request.into_http();
    /// assert_eq!(http.body().size_hint().exact(), Some(2));
    /// ```
    pub fn into_http(self) -> http::Request<Body> {
        http::Request::from_parts(self.head, self.payload.into_body())
    }
}

/// The retry layer's default replays a [`GrpcRequest`] whose body was kept, and sends any other
/// once: no `replay` hook to write.
impl Replay<GrpcRequest> for CloneRequest {
    fn replay(&self, request: &GrpcRequest) -> Option<GrpcRequest> {
        request.try_clone()
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

/// The top of a [`GrpcLayer`], what the generated client calls: reads each request's body
/// once, calls the failguard stack with a [`GrpcRequest`], and turns its errors into
/// `tonic::Status`.
///
/// Readiness is the stack's. `call` moves the ready stack into the future (a clone stays
/// behind), which reads the body when first polled and then calls it.
#[derive(Debug, Clone)]
pub struct GrpcService<S> {
    inner: S,
    max_buffer: usize,
}

impl<S, B> Service<http::Request<B>> for GrpcService<S>
where
    S: Service<GrpcRequest> + Clone,
    S::Error: IntoStatus,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = Status;
    type Future = GrpcFuture<S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.inner.poll_ready(cx).map_err(IntoStatus::into_status)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let fresh = self.inner.clone();
        let (head, body) = request.into_parts();
        GrpcFuture {
            state: State::Collecting {
                call: Some((
                    std::mem::replace(&mut self.inner, fresh),
                    head,
                    Body::new(body),
                )),
                max_buffer: self.max_buffer,
            },
        }
    }
}

pin_project! {
    /// The future of [`GrpcService`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the call: the stack's future, or the request not yet sent.
    #[must_use = "futures do nothing unless polled"]
    pub struct GrpcFuture<S: Service<GrpcRequest>> {
        #[pin]
        state: State<S>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S: Service<GrpcRequest>> {
        // Until the first poll: the ready stack and the request. The body is read in that one
        // poll (a body that has nothing ready is not waited for), so this state never lasts
        // beyond it.
        Collecting {
            call: Option<(S, http::request::Parts, Body)>,
            max_buffer: usize,
        },
        Calling {
            #[pin]
            future: S::Future,
        },
    }
}

impl<S> fmt::Debug for GrpcFuture<S>
where
    S: Service<GrpcRequest>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Collecting { .. } => "collecting",
            State::Calling { .. } => "calling",
        };
        f.debug_struct("GrpcFuture").field("state", &state).finish()
    }
}

impl<S> Future for GrpcFuture<S>
where
    S: Service<GrpcRequest>,
    S::Error: IntoStatus,
{
    type Output = Result<S::Response, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Collecting { call, max_buffer } => {
                    let Some((mut service, head, mut body)) = call.take() else {
                        unreachable!("a collecting call holds its service and request");
                    };
                    let mut collect = Collect::new();
                    let outcome = collect.poll(&mut body, *max_buffer, cx);
                    let payload = collect.finish(outcome, body);
                    let future = service.call(GrpcRequest { head, payload });
                    this.state.set(State::Calling { future });
                }
                StateProj::Calling { future } => {
                    let result = ready!(future.poll(cx));
                    return Poll::Ready(result.map_err(IntoStatus::into_status));
                }
            }
        }
    }
}
