use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{Timed, Timeout, TimeoutCall};
use crate::lift::{LiftError, LiftedError};
use crate::policy::{CallFuture, Deferred, FutureOp};

/// A [`Timeout`] as a tower [`Layer`].
///
/// The wrapped service keeps its error type, which must implement [`PolicyError`](crate::PolicyError) so the layer
/// can report [`Elapsed`](crate::error::Elapsed) through it: lift the innermost service's error
/// with `.map_err(failguard::Error::Inner)` for a typed `failguard::Error<E>`, or use tower's
/// `BoxError`. A service that cannot fail (`Infallible`) needs no lift: the layer's error is then
/// `Error<Infallible>` ([`LiftError`]). Cloning the layer clones a duration and a name; there is no shared state.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let timeout = failguard::Timeout::new(Duration::from_millis(100))?;
/// let mut svc = ServiceBuilder::new()
///     .layer(timeout.layer())
///     .map_err(failguard::Error::Inner)
///     .service_fn(|_: ()| async {
///         tokio::time::sleep(Duration::from_secs(1)).await;
///         Ok::<_, std::io::Error>("late")
///     });
/// let err = svc.ready().await?.call(()).await.unwrap_err();
/// assert!(matches!(err, failguard::Error::Timeout(_)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TimeoutLayer {
    timeout: Timeout,
}

impl TimeoutLayer {
    /// The layer of `timeout`; the same as [`Timeout::layer`].
    pub fn new(timeout: Timeout) -> Self {
        Self { timeout }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = TimeoutService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimeoutService {
            inner,
            timeout: self.timeout.clone(),
        }
    }
}

/// A tower [`Service`] with a [`Timeout`] around each call; made by [`TimeoutLayer`].
///
/// `poll_ready` is the inner service's, unbounded by the timeout, as in tower's `Timeout`.
#[derive(Debug, Clone)]
pub struct TimeoutService<S> {
    inner: S,
    timeout: Timeout,
}

impl<S> TimeoutService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Req> Service<Req> for TimeoutService<S>
where
    S: Service<Req>,
    S::Error: LiftError,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<Timed<FutureOp<S::Future>, Timeout>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        // Nothing to admit: the inner service is called now, and the clock starts at the first
        // poll that finds it pending.
        let op = Timed {
            op: FutureOp::made(),
            timeout: self.timeout.clone(),
        };
        CallFuture::from_parts(op, TimeoutCall::lent(Deferred::made(self.inner.call(req))))
    }
}
