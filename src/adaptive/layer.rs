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
pub struct AdaptiveLayer<C, P = usize> {
    state: Arc<AdaptiveState>,
    classify: C,
    choose: P,
}

impl<C> AdaptiveLayer<C> {
    pub(crate) fn new(state: Arc<AdaptiveState>, classify: C, partition: usize) -> Self {
        Self {
            state,
            classify,
            choose: partition,
        }
    }

    /// The same layer, putting each request in the partition `choose` names for it (see
    /// [Partitions](super#partitions)); a name the builder did not give is the default
    /// partition.
    ///
    /// ```
    /// use failguard::{Error, adaptive::AdaptiveLimit};
    /// use tower::{Service, ServiceBuilder, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let limit = AdaptiveLimit::builder().partition("live", 0.7).partition("batch", 0.3).build()?;
    /// let mut svc = ServiceBuilder::new()
    ///     .layer(limit.layer().partition_by(|job: &(bool, u32)| if job.0 { "batch" } else { "live" }))
    ///     .map_err(Error::Inner)
    ///     .service_fn(|job: (bool, u32)| async move { Ok::<_, std::io::Error>(job.1) });
    /// assert_eq!(svc.ready().await?.call((true, 7)).await?, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub fn partition_by<F>(self, choose: F) -> AdaptiveLayer<C, PartitionBy<F>> {
        AdaptiveLayer {
            state: self.state,
            classify: self.classify,
            choose: PartitionBy(choose),
        }
    }
}

impl<S, C: Clone, P: Clone> Layer<S> for AdaptiveLayer<C, P> {
    type Service = AdaptiveService<S, C, P>;

    fn layer(&self, inner: S) -> Self::Service {
        AdaptiveService {
            inner,
            state: self.state.clone(),
            classify: self.classify.clone(),
            choose: self.choose.clone(),
        }
    }
}

/// How a tower [`AdaptiveService`] picks each request's partition: a fixed one (`usize`, what
/// [`AdaptiveLimit::layer`](super::AdaptiveLimit::layer) gives), or [`PartitionBy`] a closure.
pub trait ChoosePartition<Req> {
    /// The partition of `req`, as an index into the limiter's partitions.
    fn choose(&self, req: &Req, state: &AdaptiveState) -> usize;
}

impl<Req> ChoosePartition<Req> for usize {
    #[inline]
    fn choose(&self, _: &Req, _: &AdaptiveState) -> usize {
        *self
    }
}

/// Each request's partition, named by a closure over the request; made by
/// [`AdaptiveLayer::partition_by`].
#[derive(Debug, Clone, Copy)]
pub struct PartitionBy<F>(F);

impl<Req, F> ChoosePartition<Req> for PartitionBy<F>
where
    F: Fn(&Req) -> &'static str,
{
    #[inline]
    fn choose(&self, req: &Req, state: &AdaptiveState) -> usize {
        state.partition_named((self.0)(req)).unwrap_or(0)
    }
}

/// A tower [`Service`] behind an [`AdaptiveLimit`](super::AdaptiveLimit); made by
/// [`AdaptiveLayer`].
///
/// Readiness is the inner service's: the limiter never parks a caller in `poll_ready`, and a
/// ready clone holds no place. The future takes a place on its first poll (waiting if waiting
/// is on), then calls the inner service.
#[derive(Debug, Clone)]
pub struct AdaptiveService<S, C, P = usize> {
    inner: S,
    state: Arc<AdaptiveState>,
    classify: C,
    choose: P,
}

impl<S, C, P> AdaptiveService<S, C, P> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, C, P, Req> Service<Req> for AdaptiveService<S, C, P>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    C: Classify<S::Response, LiftedError<S::Error>> + Clone,
    P: ChoosePartition<Req>,
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
        let partition = self.choose.choose(&req, &self.state);
        let op = AdaptiveLimited {
            op: ServiceOp::take_ready(&mut self.inner, req),
            state: None,
            classify: self.classify.clone(),
            partition,
        };
        let call = AdaptiveCall::lent(Deferred::IDLE, self.state.clone(), partition);
        CallFuture::from_parts(op, call)
    }
}
