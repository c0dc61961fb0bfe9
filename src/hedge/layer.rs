use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{Hedge, HedgeAttempts, HedgeState, Hedged};
use crate::{
    Classify,
    lift::{LiftError, LiftedError},
    policy::{CallFuture, Deferred},
    retry::{CloneRequest, Replay},
    sync::Arc,
};

/// A [`Hedge`] as a tower [`Layer`].
///
/// Every clone of the layer and every service it makes share the hedge's histogram, budget
/// and counters. Each call keeps a copy of the request for its hedges (made by the
/// [`Replay`], a clone by default; `None` sends the request once, unhedged) and a clone of the
/// inner service, cloned again and made ready for each hedge.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, hedge::Hedge};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let hedge = Hedge::new(Duration::from_millis(10))?;
/// let slow_first = std::sync::atomic::AtomicBool::new(true);
/// let mut svc = ServiceBuilder::new()
///     .layer(hedge.layer())
///     .map_err(Error::Inner)
///     .service_fn(|q: &'static str| {
///         let slow = slow_first.swap(false, std::sync::atomic::Ordering::Relaxed);
///         async move {
///             tokio::time::sleep(Duration::from_millis(if slow { 500 } else { 5 })).await;
///             Ok::<_, std::io::Error>(q.len())
///         }
///     });
/// let start = tokio::time::Instant::now();
/// assert_eq!(svc.ready().await?.call("four").await?, 4);
/// assert_eq!(start.elapsed(), Duration::from_millis(15));
/// assert_eq!(hedge.snapshot().hedge_wins, 1);
/// # Ok(())
/// # }
/// ```
pub struct HedgeLayer<C, Rp = CloneRequest> {
    state: Arc<HedgeState<C>>,
    replay: Rp,
}

impl<C, Rp: Clone> Clone for HedgeLayer<C, Rp> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            replay: self.replay.clone(),
        }
    }
}

impl<C, Rp> std::fmt::Debug for HedgeLayer<C, Rp> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HedgeLayer")
            .field("name", &self.state.name)
            .finish_non_exhaustive()
    }
}

impl<C> HedgeLayer<C> {
    /// The layer of `hedge`; the same as [`Hedge::layer`].
    pub fn new(hedge: Hedge<C>) -> Self {
        Self {
            state: hedge.state,
            replay: CloneRequest,
        }
    }
}

impl<C, Rp> HedgeLayer<C, Rp> {
    /// Makes each hedge's request with `replay` instead of cloning it (the retry's
    /// [`Replay`] hook): `replay(|_: &Req| None)` lets a request type that is not `Clone`
    /// through, each request sent once and never hedged.
    ///
    /// ```
    /// let layer = failguard::hedge::Hedge::new(std::time::Duration::from_millis(5))?
    ///     .layer()
    ///     .replay(|req: &String| Some(req.clone()));
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn replay<Rp2>(self, replay: Rp2) -> HedgeLayer<C, Rp2> {
        HedgeLayer {
            state: self.state,
            replay,
        }
    }
}

impl<S, C, Rp: Clone> Layer<S> for HedgeLayer<C, Rp> {
    type Service = HedgeService<S, C, Rp>;

    fn layer(&self, inner: S) -> Self::Service {
        HedgeService {
            inner,
            state: self.state.clone(),
            replay: self.replay.clone(),
        }
    }
}

/// A tower [`Service`] that hedges slow calls; made by [`HedgeLayer`].
///
/// `poll_ready` is the inner service's. `call` moves the ready inner service into the call
/// for the first attempt (a clone stays behind) and keeps another clone for the hedges, each
/// made ready before it is called.
pub struct HedgeService<S, C, Rp = CloneRequest> {
    inner: S,
    state: Arc<HedgeState<C>>,
    replay: Rp,
}

impl<S: Clone, C, Rp: Clone> Clone for HedgeService<S, C, Rp> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            state: self.state.clone(),
            replay: self.replay.clone(),
        }
    }
}

impl<S: std::fmt::Debug, C, Rp> std::fmt::Debug for HedgeService<S, C, Rp> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HedgeService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, C, Rp> HedgeService<S, C, Rp> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// The tower service's attempts: the ready service and request for the first, a spare clone
/// of the service and a stored copy of the request for the hedges.
#[derive(Debug)]
pub struct ServiceHedges<S, Req, Rp> {
    ready: Option<S>,
    spare: S,
    first: Option<Req>,
    stored: Option<Req>,
    replay: Rp,
}

pin_project! {
    /// One attempt of a hedged tower call: its own service (made ready first, for a hedge)
    /// and request, then the service's future.
    pub struct ServiceAttempt<S, Req>
    where
        S: Service<Req>,
    {
        service: S,
        ready: bool,
        request: Option<Req>,
        #[pin]
        future: Deferred<S::Future>,
    }
}

impl<S: Service<Req>, Req> std::fmt::Debug for ServiceAttempt<S, Req> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAttempt")
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

impl<S, Req, Rp> HedgeAttempts for ServiceHedges<S, Req, Rp>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    Rp: Replay<Req>,
{
    type Ok = S::Response;
    type Error = LiftedError<S::Error>;
    type Call = ServiceAttempt<S, Req>;

    fn start(&mut self, first: bool) -> Option<Self::Call> {
        if first {
            return Some(ServiceAttempt {
                service: self.ready.take()?,
                ready: true,
                request: self.first.take(),
                future: Deferred::IDLE,
            });
        }
        let request = self.replay.replay(self.stored.as_ref()?)?;
        Some(ServiceAttempt {
            service: self.spare.clone(),
            ready: false,
            request: Some(request),
            future: Deferred::IDLE,
        })
    }

    fn poll_attempt(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<S::Response, LiftedError<S::Error>>> {
        let this = call.project();
        if !*this.ready {
            if let Err(error) = ready!(this.service.poll_ready(cx)) {
                return Poll::Ready(Err(error.lift()));
            }
            *this.ready = true;
        }
        let (service, request) = (this.service, this.request);
        this.future
            .poll_with(
                || service.call(request.take().expect("an attempt calls once")),
                cx,
            )
            .map_err(LiftError::lift)
    }
}

impl<S, Req, C, Rp> Service<Req> for HedgeService<S, C, Rp>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    Rp: Replay<Req> + Clone,
    C: Classify<S::Response, LiftedError<S::Error>>,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<Hedged<ServiceHedges<S, Req, Rp>, Arc<HedgeState<C>>>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let stored = self.replay.replay(&request);
        let fresh = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, fresh);
        let attempts = ServiceHedges {
            ready: Some(ready),
            spare: self.inner.clone(),
            first: Some(request),
            stored,
            replay: self.replay.clone(),
        };
        CallFuture::new(Hedged {
            attempts,
            state: self.state.clone(),
        })
    }
}
