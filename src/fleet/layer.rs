//! The fleet's policies as tower layers.

use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{FleetBreaker, GlobalRateLimiter};
use crate::{
    lift::{LiftError, LiftedError},
    policy::{Apply, CallFuture, Operation, ServiceOp},
};

/// A [`GlobalRateLimiter`] or a [`FleetBreaker`] as a tower [`Layer`]; made by their `layer()`.
///
/// Every clone of the layer and every service it makes share the policy (its lease, its view of
/// the fleet). Readiness is the inner service's; the policy decides when the call's future is
/// first polled, and the inner service is called only once it has admitted the call.
///
/// # Examples
///
/// ```no_run
/// use failguard::{Error, fleet::Fleet};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let fleet = Fleet::builder("redis://127.0.0.1:6379/").build()?;
/// let limiter = fleet.rate_limiter("partner").per_second(100).build()?;
/// let mut svc = ServiceBuilder::new()
///     .layer(limiter.layer())
///     .service_fn(|n: u32| async move { Ok::<_, Error<std::io::Error>>(n) });
/// assert_eq!(svc.ready().await?.call(7).await?, 7);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FleetLayer<P> {
    policy: P,
}

/// A tower [`Service`] behind a fleet policy; made by [`FleetLayer`].
#[derive(Debug, Clone)]
pub struct FleetService<S, P> {
    inner: S,
    policy: P,
}

impl<S, P: Clone> Layer<S> for FleetLayer<P> {
    type Service = FleetService<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        FleetService {
            inner,
            policy: self.policy.clone(),
        }
    }
}

impl<S, P, Req> Service<Req> for FleetService<S, P>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    P: Apply<ServiceOp<S, Req>> + Clone,
    P::Output: Operation<Ok = S::Response, Error = LiftedError<S::Error>>,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<P::Output>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let op = ServiceOp::take_ready(&mut self.inner, req);
        CallFuture::new(self.policy.clone().apply(op))
    }
}

impl GlobalRateLimiter {
    /// This limiter as a tower layer; see [`FleetLayer`].
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let layer = fleet.rate_limiter("partner").per_second(100).build()?.layer();
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn layer(&self) -> FleetLayer<GlobalRateLimiter> {
        FleetLayer {
            policy: self.clone(),
        }
    }
}

impl<C: Clone> FleetBreaker<C> {
    /// This breaker as a tower layer; see [`FleetLayer`].
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let breaker = fleet.breaker(failguard::CircuitBreaker::builder().build()?).start().await?;
    /// let layer = breaker.layer();
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn layer(&self) -> FleetLayer<FleetBreaker<C>> {
        FleetLayer {
            policy: self.clone(),
        }
    }
}
