use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{Chaos, ChaosCall, ChaosState, Fault, Injected};
use crate::policy::{CallFuture, Deferred, ServiceOp};
use crate::{
    lift::{LiftError, LiftedError},
    sync::Arc,
};

/// A [`Chaos`] policy as a tower [`Layer`]: **a testing tool** (see [`chaos`](super)).
///
/// Every clone of the layer and every service it makes share the policy's switch, rate and
/// generator. The fault is judged for the service's response and error types: an error fault
/// makes the service's error (`failguard::Error<E>` from your `E`, or a `BoxError` from any
/// error).
///
/// # Examples
///
/// ```
/// use failguard::{BoxError, chaos::Chaos};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), BoxError> {
/// let chaos = Chaos::builder().injection_rate(1.0).error_with(|| std::io::Error::other("reset")).build()?;
/// let mut svc = ServiceBuilder::new()
///     .layer(chaos.layer())
///     .service_fn(|x: u32| async move { Ok::<_, BoxError>(x) });
/// let err = svc.ready().await?.call(1).await.unwrap_err();
/// assert!(err.downcast_ref::<std::io::Error>().is_some());
/// # Ok(())
/// # }
/// ```
pub struct ChaosLayer<F> {
    chaos: Chaos<F>,
}

impl<F> Clone for ChaosLayer<F> {
    fn clone(&self) -> Self {
        Self {
            chaos: self.chaos.clone(),
        }
    }
}

impl<F> std::fmt::Debug for ChaosLayer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChaosLayer")
            .field("chaos", &self.chaos)
            .finish()
    }
}

impl<F> ChaosLayer<F> {
    /// The layer of `chaos`; the same as [`Chaos::layer`].
    pub fn new(chaos: Chaos<F>) -> Self {
        Self { chaos }
    }
}

impl<S, F> Layer<S> for ChaosLayer<F> {
    type Service = ChaosService<S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        ChaosService {
            inner,
            state: self.chaos.state.clone(),
        }
    }
}

/// A tower [`Service`] behind a [`Chaos`] policy; made by [`ChaosLayer`].
///
/// Readiness is the inner service's. `call` moves the ready inner service into the future
/// (leaving a clone behind, which is why the inner service must be `Clone`), so that an
/// injected error or result never calls it, and an injected latency calls it after the wait.
pub struct ChaosService<S, F> {
    inner: S,
    state: Arc<ChaosState<F>>,
}

impl<S: Clone, F> Clone for ChaosService<S, F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S: std::fmt::Debug, F> std::fmt::Debug for ChaosService<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChaosService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, F> ChaosService<S, F> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, F, Req> Service<Req> for ChaosService<S, F>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    F: Fault<S::Response, LiftedError<S::Error>>,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<Injected<ServiceOp<S, Req>, Arc<ChaosState<F>>>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let op = Injected {
            op: ServiceOp::take_ready(&mut self.inner, req),
            state: self.state.clone(),
        };
        CallFuture::from_parts(op, ChaosCall::new(Deferred::IDLE))
    }
}
