use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{ThrottleCall, ThrottleState, Throttling};
use crate::{
    Classify,
    lift::{LiftError, LiftedError},
    policy::{CallFuture, Deferred, ServiceOp},
    sync::Arc,
};

/// An [`AdaptiveThrottle`](super::AdaptiveThrottle) as a tower [`Layer`]; made by
/// [`AdaptiveThrottle::layer`](super::AdaptiveThrottle::layer).
///
/// Every clone of the layer and every service it makes share the throttle's one window:
/// cloning the layer does not start a new count.
///
/// ```
/// use failguard::{Error, throttle::AdaptiveThrottle};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let throttle = AdaptiveThrottle::builder().build()?;
/// let mut svc = ServiceBuilder::new()
///     .layer(throttle.layer())
///     .map_err(Error::Inner)
///     .service_fn(|q: &'static str| async move { Ok::<_, std::io::Error>(q.len()) });
/// assert_eq!(svc.ready().await?.call("four").await?, 4);
/// assert_eq!(throttle.snapshot().accepts, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ThrottleLayer<C> {
    state: Arc<ThrottleState>,
    classify: C,
}

impl<C> ThrottleLayer<C> {
    pub(crate) fn new(state: Arc<ThrottleState>, classify: C) -> Self {
        Self { state, classify }
    }
}

impl<S, C: Clone> Layer<S> for ThrottleLayer<C> {
    type Service = ThrottleService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        ThrottleService {
            inner,
            state: self.state.clone(),
            classify: self.classify.clone(),
        }
    }
}

/// A tower [`Service`] behind an [`AdaptiveThrottle`](super::AdaptiveThrottle); made by
/// [`ThrottleLayer`].
///
/// Readiness is the inner service's; the throttle decides on the call's first poll.
#[derive(Debug, Clone)]
pub struct ThrottleService<S, C> {
    inner: S,
    state: Arc<ThrottleState>,
    classify: C,
}

impl<S, C> ThrottleService<S, C> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, C, Req> Service<Req> for ThrottleService<S, C>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    C: Classify<S::Response, LiftedError<S::Error>> + Clone,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<Throttling<ServiceOp<S, Req>, Arc<ThrottleState>, C>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let op = Throttling {
            op: ServiceOp::take_ready(&mut self.inner, req),
            state: None,
            classify: self.classify.clone(),
        };
        CallFuture::from_parts(op, ThrottleCall::lent(Deferred::IDLE, self.state.clone()))
    }
}
