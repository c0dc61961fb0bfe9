use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{AdaptiveCall, AdaptiveLimited, AdaptiveState};
use crate::{
    Classify,
    lift::{LiftError, LiftedError},
    policy::{CallFuture, Deferred, ServiceOp},
    sync::Arc,
};

/// An [`AdaptiveLimit`](super::AdaptiveLimit) as a tower [`Layer`]; made by
/// [`AdaptiveLimit::layer`](super::AdaptiveLimit::layer).
///
/// Every clone of the layer and every service it makes share the limiter's one limit: cloning
/// the layer does not create a new limit. The service's error type must implement
/// [`PolicyError`](crate::PolicyError), or be `Infallible`.
///
/// ```
/// use failguard::{Error, adaptive::AdaptiveLimit};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let limit = AdaptiveLimit::builder().build()?;
/// let mut svc = ServiceBuilder::new()
///     .layer(limit.layer())
///     .map_err(Error::Inner)
///     .service_fn(|q: &'static str| async move { Ok::<_, std::io::Error>(q.len()) });
/// assert_eq!(svc.ready().await?.call("four").await?, 4);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AdaptiveLayer<C> {
    state: Arc<AdaptiveState>,
    classify: C,
}

impl<C> AdaptiveLayer<C> {
    pub(crate) fn new(state: Arc<AdaptiveState>, classify: C) -> Self {
        Self { state, classify }
    }
}

impl<S, C: Clone> Layer<S> for AdaptiveLayer<C> {
    type Service = AdaptiveService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        AdaptiveService {
            inner,
            state: self.state.clone(),
            classify: self.classify.clone(),
        }
    }
}

/// A tower [`Service`] behind an [`AdaptiveLimit`](super::AdaptiveLimit); made by
/// [`AdaptiveLayer`].
///
/// Readiness is the inner service's: the limiter never parks a caller in `poll_ready`, and a
/// ready clone holds no place. The future takes a place on its first poll (waiting if waiting
/// is on), then calls the inner service.
#[derive(Debug, Clone)]
pub struct AdaptiveService<S, C> {
    inner: S,
    state: Arc<AdaptiveState>,
    classify: C,
}

impl<S, C> AdaptiveService<S, C> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, C, Req> Service<Req> for AdaptiveService<S, C>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    C: Classify<S::Response, LiftedError<S::Error>> + Clone,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<AdaptiveLimited<ServiceOp<S, Req>, Arc<AdaptiveState>, C>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let op = AdaptiveLimited {
            op: ServiceOp::take_ready(&mut self.inner, req),
            state: None,
            classify: self.classify.clone(),
        };
        CallFuture::from_parts(op, AdaptiveCall::lent(Deferred::IDLE, self.state.clone()))
    }
}
