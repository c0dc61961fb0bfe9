use std::{
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use tower_layer::Layer;
use tower_service::Service;

use super::{Retried, Retry, RetryState, Silent, core::Decide, future::Attempts};
use std::marker::PhantomData;

use crate::policy::{CallFuture, Deferred};
use crate::{
    lift::{LiftError, LiftedError},
    sync::Arc,
};

/// Makes the request of the next attempt from the stored one: implemented by [`CloneRequest`]
/// (the default, for `Clone` requests) and by every closure `Fn(&Req) -> Option<Req>`, as tower's
/// `Policy::clone_request`. `None` sends the request once, without retrying it.
///
/// ```
/// use failguard::retry::Replay;
/// // A request with a streaming body cannot be replayed; one with a buffered body can.
/// enum Body { Buffered(Vec<u8>), Streaming }
/// let replay = |req: &Body| match req {
///     Body::Buffered(bytes) => Some(Body::Buffered(bytes.clone())),
///     Body::Streaming => None,
/// };
/// assert!(replay.replay(&Body::Streaming).is_none());
/// ```
///
/// A tonic request's body is a stream that cannot be copied: with the `grpc` feature,
/// `failguard::grpc::GrpcLayer` reads it once and hands the stack a `GrpcRequest`, which the
/// default `CloneRequest` replays when its body was kept.
///
/// A request type that is not `Clone` under the default does not compile, and the compiler says
/// what to write:
///
/// ```compile_fail
/// use failguard::{Error, Retry};
/// use tower::{Service, ServiceBuilder};
///
/// struct Upload; // not Clone
/// fn serve<S: Service<Upload>>(_: S) {}
/// let svc = ServiceBuilder::new()
///     .layer(Retry::new(3).unwrap().layer())
///     .service_fn(|_: Upload| async { Ok::<_, Error<std::io::Error>>(()) });
/// serve(svc);
/// ```
#[diagnostic::on_unimplemented(
    message = "a retry cannot make another attempt's request from `{Req}`",
    label = "the retry layer keeps a copy of each request for its retries",
    note = "derive or implement `Clone` for `{Req}`, or give the layer a replay hook: `retry.layer().replay(|req: &{Req}| ...)` returning `Some(copy)`, or `None` to send each request once without retrying",
    note = "for a tonic channel's `http::Request<tonic::body::Body>`, put the stack's layer in `failguard::grpc::GrpcLayer` (feature `grpc`), which keeps each unary request's body so the retry replays it"
)]
pub trait Replay<Req> {
    /// A copy of `request` for another attempt, or `None` if it cannot be made.
    fn replay(&self, request: &Req) -> Option<Req>;
}

/// The default [`Replay`]: clones the request.
///
/// ```
/// use failguard::retry::{CloneRequest, Replay};
/// assert_eq!(CloneRequest.replay(&"GET /"), Some("GET /"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CloneRequest;

impl<Req: Clone> Replay<Req> for CloneRequest {
    #[inline]
    fn replay(&self, request: &Req) -> Option<Req> {
        Some(request.clone())
    }
}

impl<Req, F: Fn(&Req) -> Option<Req>> Replay<Req> for F {
    fn replay(&self, request: &Req) -> Option<Req> {
        self(request)
    }
}

/// Ties a layer's or service's `C`, `H` and `N` to its handle `P`, whatever `P` is; owns nothing.
type Policy<C, H, N> = PhantomData<fn() -> RetryState<C, H, N>>;

/// A [`Retry`] as a tower [`Layer`].
///
/// Every clone of the layer and every service it makes share the retry's configuration, its
/// random generator and its budget: cloning the layer does not create a new budget.
///
/// Each call keeps a copy of the request (made by the [`Replay`], a clone by default) and a clone
/// of the inner service, to make the retries: the service is made ready again before each one.
/// The service's error type must implement [`PolicyError`](crate::PolicyError), so the retry can
/// see rejections from the layers below it (an open circuit's `retry_after`), or be
/// `Infallible`, which the layer makes `Error<Infallible>` ([`LiftError`]).
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use failguard::{Error, Retry};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let calls = AtomicU32::new(0);
/// let retry = Retry::new(3)?;
/// let mut svc = ServiceBuilder::new()
///     .layer(retry.layer())
///     .map_err(Error::Inner)
///     .service_fn(|q: &'static str| {
///         let n = calls.fetch_add(1, Ordering::Relaxed);
///         async move { if n < 2 { Err(std::io::Error::other("flaky")) } else { Ok(q.len()) } }
///     });
/// assert_eq!(svc.ready().await?.call("three").await?, 5);
/// assert_eq!(calls.load(Ordering::Relaxed), 3);
/// # Ok(())
/// # }
/// ```
///
/// A request that cannot be cloned still goes through the layer, sent once:
///
/// ```
/// use failguard::{Error, Retry};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// struct Upload(std::fs::File); // not Clone
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let retry = Retry::new(3)?;
/// let mut svc = ServiceBuilder::new()
///     .layer(retry.layer().replay(|_: &Upload| None))
///     .map_err(Error::Inner)
///     .service_fn(|_: Upload| async { Ok::<_, std::io::Error>("stored") });
/// # let file = std::fs::File::open(std::env::current_exe()?)?;
/// assert_eq!(svc.ready().await?.call(Upload(file)).await?, "stored");
/// # Ok(())
/// # }
/// ```
///
/// `P` is how the layer holds the retry: shared (an `Arc`, from [`Retry::layer`]) or borrowed
/// (from [`Retry::layer_ref`]).
#[derive(Debug)]
pub struct RetryLayer<C, H, Rp = CloneRequest, N = Silent, P = Arc<RetryState<C, H, N>>> {
    state: P,
    replay: Rp,
    _policy: Policy<C, H, N>,
}

impl<C, H, Rp: Clone, N, P: Clone> Clone for RetryLayer<C, H, Rp, N, P> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            replay: self.replay.clone(),
            _policy: PhantomData,
        }
    }
}

impl<C, H, N> RetryLayer<C, H, CloneRequest, N> {
    /// The layer of `retry`; the same as [`Retry::layer`].
    ///
    /// ```
    /// let layer = failguard::retry::RetryLayer::new(&failguard::Retry::new(2)?);
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn new(retry: &Retry<C, H, N>) -> Self {
        Self {
            state: retry.state.clone(),
            replay: CloneRequest,
            _policy: PhantomData,
        }
    }
}

impl<'a, C, H, N> RetryLayer<C, H, CloneRequest, N, &'a RetryState<C, H, N>> {
    /// The layer of a retry that outlives its services; the same as [`Retry::layer_ref`].
    pub fn borrowing(retry: &'a Retry<C, H, N>) -> Self {
        Self {
            state: &retry.state,
            replay: CloneRequest,
            _policy: PhantomData,
        }
    }
}

impl<C, H, Rp, N, P> RetryLayer<C, H, Rp, N, P> {
    /// Makes the next attempt's request with `replay` instead of cloning it; see [`Replay`].
    /// `replay(|_: &Req| None)` lets a request type that is not `Clone` use the layer, each
    /// request sent once.
    ///
    /// ```
    /// let layer = failguard::Retry::new(2)?.layer().replay(|req: &String| Some(req.clone()));
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn replay<Rp2>(self, replay: Rp2) -> RetryLayer<C, H, Rp2, N, P> {
        RetryLayer {
            state: self.state,
            replay,
            _policy: PhantomData,
        }
    }
}

impl<S, C, H, Rp: Clone, N, P: Clone> Layer<S> for RetryLayer<C, H, Rp, N, P> {
    type Service = RetryService<S, C, H, Rp, N, P>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            state: self.state.clone(),
            replay: self.replay.clone(),
            _policy: PhantomData,
        }
    }
}

/// A tower [`Service`] that retries failed calls; made by [`RetryLayer`].
///
/// `poll_ready` is the inner service's. Each call holds a clone of the inner service for its
/// retries, made ready again before each.
#[derive(Debug)]
pub struct RetryService<S, C, H, Rp = CloneRequest, N = Silent, P = Arc<RetryState<C, H, N>>> {
    inner: S,
    state: P,
    replay: Rp,
    _policy: Policy<C, H, N>,
}

impl<S: Clone, C, H, Rp: Clone, N, P: Clone> Clone for RetryService<S, C, H, Rp, N, P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            state: self.state.clone(),
            replay: self.replay.clone(),
            _policy: PhantomData,
        }
    }
}

impl<S, C, H, Rp, N, P> RetryService<S, C, H, Rp, N, P> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// The tower service's attempts: the ready service moved out of the layer's service, the first
/// request and the stored copy that later attempts replay.
#[derive(Debug)]
pub struct ServiceAttempts<S, Req, Rp> {
    service: S,
    // Whether `service` is ready for the next call (it is, for the first attempt).
    ready: bool,
    // `poll_ready` failed: the service is unusable and no further attempt is made.
    broken: bool,
    first: Option<Req>,
    stored: Option<Req>,
    next: Option<Req>,
    replay: Rp,
}

impl<S, Req, Rp> Attempts for ServiceAttempts<S, Req, Rp>
where
    S: Service<Req>,
    S::Error: LiftError,
    Rp: Replay<Req>,
{
    type Ok = S::Response;
    type Error = LiftedError<S::Error>;
    type Call = Deferred<S::Future>;

    #[inline]
    fn start(&self) -> Self::Call {
        Deferred::IDLE
    }

    fn prepare(&mut self, last: bool) -> bool {
        if self.broken {
            return false;
        }
        self.next = if last {
            self.stored.take()
        } else {
            self.stored.as_ref().and_then(|r| self.replay.replay(r))
        };
        self.next.is_some()
    }

    #[inline]
    fn poll_attempt(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<S::Response, LiftedError<S::Error>>> {
        if call.is_idle() {
            if !self.ready {
                if let Err(error) = ready!(self.service.poll_ready(cx)) {
                    self.broken = true;
                    return Poll::Ready(Err(error.lift()));
                }
            }
            self.ready = false;
        }
        let Self {
            service,
            first,
            next,
            ..
        } = self;
        call.poll_with(
            || {
                let request = first.take().or_else(|| next.take());
                service.call(request.expect("an attempt is made with a prepared request"))
            },
            cx,
        )
        .map_err(LiftError::lift)
    }
}

impl<S, Req, C, H, Rp, N, P> Service<Req> for RetryService<S, C, H, Rp, N, P>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    Rp: Replay<Req> + Clone,
    RetryState<C, H, N>: Decide<S::Response, LiftedError<S::Error>>,
    P: Deref<Target = RetryState<C, H, N>> + Decide<S::Response, LiftedError<S::Error>> + Clone,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<Retried<ServiceAttempts<S, Req, Rp>, P>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        // Keep a copy for the retries only when there may be one.
        let stored = if self.state.max_attempts > 1 {
            self.replay.replay(&request)
        } else {
            None
        };
        // The ready service travels with the call (a fresh clone stays behind), so the first
        // attempt is made when the future is first polled and later ones can wait for readiness.
        let fresh = self.inner.clone();
        let attempts = ServiceAttempts {
            service: std::mem::replace(&mut self.inner, fresh),
            ready: true,
            broken: false,
            first: Some(request),
            stored,
            next: None,
            replay: self.replay.clone(),
        };
        CallFuture::new(Retried {
            attempts,
            policy: self.state.clone(),
        })
    }
}
