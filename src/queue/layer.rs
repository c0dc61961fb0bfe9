use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{Queue, QueueFuture};
use crate::lift::{LiftError, LiftedError};

/// A [`Queue`] as a tower [`Layer`]: the wrapped service moves behind the queue.
///
/// Like tower's `Buffer`, the resulting [`QueueService`] is `Clone` whatever the service is, and
/// the service is driven by the queue's workers; unlike `Buffer`, a full queue sheds
/// (`QueueFull`), a wait is bounded (`QueueTimeout`), and a dead worker fails callers
/// (`QueueClosed`) instead of hanging them.
///
/// The service's error type must implement [`PolicyError`](crate::PolicyError): lift the
/// innermost service's error with `.map_err(failguard::Error::Inner)` for a typed
/// `failguard::Error<E>`, or use tower's `BoxError`. A service that cannot fail (`Infallible`)
/// needs no lift: the layer's error is then `Error<Infallible>` ([`LiftError`]). The service, its requests, responses, errors and response futures must be
/// `Send + 'static`: they move to the workers.
///
/// Every clone of the layer, and every service it makes, shares the same queue (workers, slots
/// and counters) with the [`Queue`] handle it came from. Layering two services with one layer
/// puts both behind the same workers and slots.
///
/// # Examples
///
/// ```
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let queue = failguard::Queue::builder().capacity(32).workers(4).build()?;
/// let svc = ServiceBuilder::new()
///     .layer(queue.layer())
///     .map_err(failguard::Error::Inner)
///     .service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x + 1) });
/// let mut a = svc.clone();
/// let mut b = svc;
/// assert_eq!(a.ready().await?.call(1).await?, 2);
/// assert_eq!(b.ready().await?.call(2).await?, 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct QueueLayer {
    queue: Queue,
}

impl QueueLayer {
    /// The layer of `queue`; the same as [`Queue::layer`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let layer = failguard::queue::QueueLayer::new(failguard::Queue::new(4)?);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(queue: Queue) -> Self {
        Self { queue }
    }
}

impl<S> Layer<S> for QueueLayer {
    type Service = QueueService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        QueueService {
            queue: self.queue.clone(),
            inner: Arc::new(Mutex::new(inner)),
        }
    }
}

/// A tower [`Service`] behind a [`Queue`]; made by [`QueueLayer`].
///
/// `poll_ready` is always ready: admission happens in `call`, which sheds instead of making
/// callers wait, so a clone that is merely ready holds no slot. The workers call the inner service
/// one at a time (`poll_ready`, then `call`) and run its response futures, at most `workers` at
/// once. Cloning shares the inner service and the queue.
///
/// # Cancel safety
///
/// Dropping the [`QueueFuture`] of a call cancels it; see there.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::Error;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// // One worker, no waiting slot: a second call while the first runs is shed, not parked.
/// let queue = failguard::Queue::builder().capacity(0).build()?;
/// let mut svc = ServiceBuilder::new()
///     .layer(queue.layer())
///     .map_err(Error::Inner)
///     .service_fn(|ms: u64| async move {
///         tokio::time::sleep(Duration::from_millis(ms)).await;
///         Ok::<_, std::io::Error>(ms)
///     });
/// let first = svc.ready().await.unwrap().call(10);
/// let second = svc.ready().await.unwrap().call(10).await;
/// assert!(matches!(second, Err(Error::QueueFull(_))));
/// assert_eq!(first.await.unwrap(), 10);
/// # Ok(())
/// # }
/// ```
pub struct QueueService<S> {
    queue: Queue,
    inner: Arc<Mutex<S>>,
}

impl<S> Clone for QueueService<S> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<S> fmt::Debug for QueueService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueService")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl<S> QueueService<S> {
    /// The queue this service is behind.
    ///
    /// ```
    /// use tower::Layer;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::new(4)?;
    /// let svc = queue.layer().layer(tower::service_fn(|x: u8| async move {
    ///     Ok::<_, failguard::BoxError>(x)
    /// }));
    /// assert_eq!(svc.queue().capacity(), 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn queue(&self) -> &Queue {
        &self.queue
    }
}

impl<S, Req> Service<Req> for QueueService<S>
where
    S: Service<Req> + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: LiftError,
    LiftedError<S::Error>: Send + 'static,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = QueueFuture<S::Response, LiftedError<S::Error>>;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.queue.submit_raw(ServiceCall {
            service: self.inner.clone(),
            request: Some(req),
            response: None,
        })
    }
}

pin_project! {
    /// One call of the shared service, run by a worker: `poll_ready` then `call` under the
    /// service's lock (held within one poll, never across an await), then the response future.
    struct ServiceCall<S, Req, F> {
        service: Arc<Mutex<S>>,
        request: Option<Req>,
        #[pin]
        response: Option<F>,
    }
}

impl<S, Req> Future for ServiceCall<S, Req, S::Future>
where
    S: Service<Req>,
    S::Error: LiftError,
{
    type Output = Result<S::Response, LiftedError<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(response) = this.response.as_mut().as_pin_mut() {
            return response.poll(cx).map_err(LiftError::lift);
        }
        let response = {
            // A panic in the service under this lock is caught by the worker and reported to
            // this caller; the service stays usable for the next call.
            let mut service = this.service.lock().unwrap_or_else(PoisonError::into_inner);
            ready!(service.poll_ready(cx)).map_err(LiftError::lift)?;
            let Some(request) = this.request.take() else {
                unreachable!("the request is taken once, when the service is ready")
            };
            service.call(request)
        };
        this.response.set(Some(response));
        let Some(response) = this.response.as_pin_mut() else {
            unreachable!("just set")
        };
        response.poll(cx).map_err(LiftError::lift)
    }
}
