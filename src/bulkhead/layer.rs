use std::{
    ops::Deref,
    task::{Context, Poll},
};

use tower_layer::Layer;
use tower_service::Service;

use super::{Bulkhead, BulkheadCall, BulkheadState, Bulkheaded};
use crate::policy::{CallFuture, Deferred, ServiceOp};
use crate::{
    lift::{LiftError, LiftedError},
    sync::Arc,
};

/// A [`Bulkhead`] as a tower [`Layer`].
///
/// Every clone of the layer and every service it makes share the bulkhead's permits: cloning the
/// layer does not create new limits. The service's error type must implement
/// [`PolicyError`](crate::PolicyError), or be `Infallible`, which the layer makes
/// `Error<Infallible>` ([`LiftError`]).
///
/// # Examples
///
/// ```
/// use failguard::{Bulkhead, Error};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let bulkhead = Bulkhead::new(2)?;
/// let mut svc = ServiceBuilder::new()
///     .layer(bulkhead.layer())
///     .map_err(Error::Inner)
///     .service_fn(|q: &'static str| async move { Ok::<_, std::io::Error>(q.len()) });
/// assert_eq!(svc.ready().await?.call("four").await?, 4);
/// assert_eq!(bulkhead.snapshot().in_flight, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BulkheadLayer<H = Arc<BulkheadState>> {
    state: H,
}

impl BulkheadLayer {
    /// The layer of `bulkhead`; the same as [`Bulkhead::layer`].
    pub fn new(bulkhead: Bulkhead) -> Self {
        Self {
            state: bulkhead.state().clone(),
        }
    }
}

impl<'a> BulkheadLayer<&'a BulkheadState> {
    /// The layer of a bulkhead that outlives its services; the same as [`Bulkhead::layer_ref`].
    pub fn borrowing(bulkhead: &'a Bulkhead) -> Self {
        Self {
            state: &**bulkhead.state(),
        }
    }
}

impl<S, H: Clone> Layer<S> for BulkheadLayer<H> {
    type Service = BulkheadService<S, H>;

    fn layer(&self, inner: S) -> Self::Service {
        BulkheadService {
            inner,
            state: self.state.clone(),
        }
    }
}

/// A tower [`Service`] behind a [`Bulkhead`]; made by [`BulkheadLayer`].
///
/// Readiness is the inner service's: the bulkhead never parks a caller in `poll_ready`, and a
/// ready clone holds no permit. `call` moves the ready inner service into the future (leaving a
/// clone behind, which is why the inner service must be `Clone`); the future takes the permit on
/// its first poll, with the bounded wait, and only then calls the inner service.
#[derive(Debug, Clone)]
pub struct BulkheadService<S, H = Arc<BulkheadState>> {
    inner: S,
    state: H,
}

impl<S, H> BulkheadService<S, H> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, Req, H> Service<Req> for BulkheadService<S, H>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    H: Deref<Target = BulkheadState> + Clone,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<Bulkheaded<ServiceOp<S, Req>, H>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let op = Bulkheaded {
            op: ServiceOp::take_ready(&mut self.inner, req),
            state: None,
        };
        CallFuture::from_parts(op, BulkheadCall::lent(Deferred::IDLE, self.state.clone()))
    }
}
