use std::{
    ops::Deref,
    task::{Context, Poll},
};

use tower_layer::Layer;
use tower_service::Service;

use super::{BreakerCall, BreakerState, CircuitBreaker, Guarded};
use crate::{
    Classify,
    lift::{LiftError, LiftedError},
    policy::{CallFuture, Deferred, ServiceOp},
    sync::Arc,
};

/// A [`CircuitBreaker`] as a tower [`Layer`].
///
/// Every clone of the layer, every service it makes, and every application of it (axum applies
/// layers more than once) share one breaker: one window, one state. The service's error type must
/// implement [`PolicyError`](crate::PolicyError), or be `Infallible`, which the layer makes
/// `Error<Infallible>` ([`LiftError`]).
///
/// # Examples
///
/// ```
/// use failguard::{CircuitBreaker, Error};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let breaker = CircuitBreaker::builder().name("users").build()?;
/// let mut svc = ServiceBuilder::new()
///     .layer(breaker.layer())
///     .map_err(Error::Inner)
///     .service_fn(|id: u64| async move { Ok::<_, std::io::Error>(id * 2) });
/// assert_eq!(svc.ready().await?.call(21).await?, 42);
/// assert_eq!(breaker.snapshot().calls, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BreakerLayer<C, H = Arc<BreakerState>> {
    state: H,
    classify: C,
}

impl<C> BreakerLayer<C> {
    /// The layer of `breaker`; the same as [`CircuitBreaker::layer`].
    pub fn new(breaker: CircuitBreaker<C>) -> Self {
        Self {
            state: breaker.state,
            classify: breaker.classify,
        }
    }
}

impl<'a, C: Clone> BreakerLayer<C, &'a BreakerState> {
    /// The layer of a breaker that outlives its services; the same as
    /// [`CircuitBreaker::layer_ref`].
    pub fn borrowing(breaker: &'a CircuitBreaker<C>) -> Self {
        Self {
            state: &breaker.state,
            classify: breaker.classify.clone(),
        }
    }
}

impl<S, C: Clone, H: Clone> Layer<S> for BreakerLayer<C, H> {
    type Service = BreakerService<S, C, H>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            state: self.state.clone(),
            classify: self.classify.clone(),
        }
    }
}

/// A tower [`Service`] behind a [`CircuitBreaker`]; made by [`BreakerLayer`].
///
/// Readiness is the inner service's: `poll_ready` asks it and holds no breaker permit. `call`
/// moves the ready inner service into the future (leaving a clone behind, which is why the inner
/// service must be `Clone`); the breaker decides when the future is first polled, and only if it
/// admits the call is the inner service called. When it rejects, the future answers
/// `CircuitOpen` and the inner service is never called.
#[derive(Debug, Clone)]
pub struct BreakerService<S, C, H = Arc<BreakerState>> {
    inner: S,
    state: H,
    classify: C,
}

impl<S, C, H, Req> Service<Req> for BreakerService<S, C, H>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    C: Classify<S::Response, LiftedError<S::Error>> + Clone,
    H: Deref<Target = BreakerState> + Clone,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<Guarded<ServiceOp<S, Req>, H, C>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let op = Guarded {
            op: ServiceOp::take_ready(&mut self.inner, req),
            state: None,
            classify: self.classify.clone(),
        };
        CallFuture::from_parts(op, BreakerCall::lent(Deferred::IDLE, self.state.clone()))
    }
}
