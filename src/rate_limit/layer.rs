use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{Limited, RateLimitCall, RateLimitState, RateLimiter};
use crate::policy::{CallFuture, Deferred, ServiceOp};
use crate::{
    lift::{LiftError, LiftedError},
    sync::Arc,
};

/// A [`RateLimiter`] as a tower [`Layer`].
///
/// Every clone of the layer and every service it makes share the limiter's one state: cloning
/// the layer, or a service, does not make a new rate (tower's own `RateLimit` keeps its state
/// per service, so each clone gets the whole rate). The service's error type must implement
/// [`PolicyError`](crate::PolicyError), or be `Infallible`, which the layer makes
/// `Error<Infallible>` ([`LiftError`]).
///
/// # Examples
///
/// ```
/// use failguard::{Error, RateLimiter};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let limiter = RateLimiter::per_second(100)?;
/// let mut svc = ServiceBuilder::new()
///     .layer(limiter.layer())
///     .map_err(Error::Inner)
///     .service_fn(|q: &'static str| async move { Ok::<_, std::io::Error>(q.len()) });
/// assert_eq!(svc.ready().await?.call("four").await?, 4);
/// assert_eq!(limiter.snapshot().available, 99);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    limiter: RateLimiter,
}

impl RateLimitLayer {
    /// The layer of `limiter`; the same as [`RateLimiter::layer`].
    pub fn new(limiter: RateLimiter) -> Self {
        Self { limiter }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            state: self.limiter.state().clone(),
        }
    }
}

/// A tower [`Service`] behind a [`RateLimiter`]; made by [`RateLimitLayer`].
///
/// # Readiness
///
/// Readiness is the inner service's: the limiter never parks a caller in `poll_ready`, and a
/// ready service holds no permit. The permit is taken in the call's future, on its first poll:
/// at once, or after a wait of at most `max_wait` (a reservation, given back if the future is
/// dropped first), or the future fails with `RateLimited` and its exact `retry_after`. Tower's
/// own `RateLimit` instead parks in `poll_ready` until its next period and keeps its count
/// per clone, so `n` clones let `n` times the rate through; here every clone shares one rate.
///
/// `call` moves the ready inner service into the future (leaving a clone behind, which is why
/// the inner service must be `Clone`); the inner service is called only once the permit is
/// held.
#[derive(Debug, Clone)]
pub struct RateLimitService<S> {
    inner: S,
    state: Arc<RateLimitState>,
}

impl<S> RateLimitService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, Req> Service<Req> for RateLimitService<S>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<Limited<ServiceOp<S, Req>, Arc<RateLimitState>>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let op = Limited {
            op: ServiceOp::take_ready(&mut self.inner, req),
            state: None,
            weight: 1,
        };
        CallFuture::from_parts(
            op,
            RateLimitCall::lent(Deferred::IDLE, self.state.clone(), 1),
        )
    }
}
