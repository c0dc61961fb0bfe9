use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{Bulkhead, BulkheadFuture, BulkheadState};
use crate::{PolicyError, sync::Arc};

/// A [`Bulkhead`] as a tower [`Layer`].
///
/// Every clone of the layer and every service it makes share the bulkhead's permits: cloning the
/// layer does not create new limits. The service's error type must implement
/// [`PolicyError`](crate::PolicyError).
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
pub struct BulkheadLayer {
    bulkhead: Bulkhead,
}

impl BulkheadLayer {
    /// The layer of `bulkhead`; the same as [`Bulkhead::layer`].
    pub fn new(bulkhead: Bulkhead) -> Self {
        Self { bulkhead }
    }
}

impl<S> Layer<S> for BulkheadLayer {
    type Service = BulkheadService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BulkheadService {
            inner,
            state: self.bulkhead.state().clone(),
        }
    }
}

/// A tower [`Service`] behind a [`Bulkhead`]; made by [`BulkheadLayer`].
///
/// `poll_ready` is the inner service's: the bulkhead never parks a caller there, and a ready
/// clone holds no permit. The permit is taken in the call's future, with the bounded wait.
#[derive(Debug, Clone)]
pub struct BulkheadService<S> {
    inner: S,
    state: Arc<BulkheadState>,
}

impl<S> BulkheadService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, Req> Service<Req> for BulkheadService<S>
where
    S: Service<Req>,
    S::Error: PolicyError,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BulkheadFuture<S::Future, Arc<BulkheadState>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        BulkheadFuture::new(self.inner.call(req), self.state.clone())
    }
}
