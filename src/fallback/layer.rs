use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{Fallback, FallbackCall, FromAsync, FromFn, FromService, Handler, Value, WithFallback};
use crate::policy::{CallFuture, Deferred, FutureOp};
use crate::{
    Classify,
    lift::{LiftError, LiftedError},
};

/// A [`Fallback`] as a tower [`Layer`].
///
/// Every clone of the layer and every service it makes share one copy of the fallback (an `Arc`),
/// so a call costs no clone of the fallback's value or closure until it is needed.
///
/// # Examples
///
/// ```
/// use tower::{Service, ServiceBuilder, ServiceExt};
/// use failguard::{Error, Fallback};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error<std::io::Error>> {
/// let mut svc = ServiceBuilder::new()
///     .layer(Fallback::value("maintenance page").layer())
///     .map_err(Error::Inner)
///     .service_fn(|_: ()| async { Err::<&str, _>(std::io::Error::other("down")) });
/// assert_eq!(svc.ready().await?.call(()).await?, "maintenance page");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FallbackLayer<A, W> {
    fallback: Arc<Fallback<A, W>>,
}

impl<A, W> Clone for FallbackLayer<A, W> {
    fn clone(&self) -> Self {
        Self {
            fallback: self.fallback.clone(),
        }
    }
}

impl<A, W> FallbackLayer<A, W> {
    pub(crate) fn new(fallback: Arc<Fallback<A, W>>) -> Self {
        Self { fallback }
    }
}

impl<S, A, W> Layer<S> for FallbackLayer<A, W> {
    type Service = FallbackService<S, A, W>;

    fn layer(&self, inner: S) -> Self::Service {
        FallbackService {
            inner,
            fallback: self.fallback.clone(),
        }
    }
}

/// A tower [`Service`] with a [`Fallback`] around each call; made by [`FallbackLayer`].
#[derive(Debug)]
pub struct FallbackService<S, A, W> {
    inner: S,
    fallback: Arc<Fallback<A, W>>,
}

impl<S: Clone, A, W> Clone for FallbackService<S, A, W> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            fallback: self.fallback.clone(),
        }
    }
}

/// How a fallback action takes part in a tower call: most need only the shared fallback, a
/// [`FromService`] also needs a clone of the request. You do not implement it.
pub trait ServiceAction<Req, W>: Sized {
    /// What the call's future keeps to run the fallback.
    type Handler;

    /// Prepares the fallback for the call of `request`, before the primary call is made.
    fn handler(fallback: &Arc<Fallback<Self, W>>, request: &Req) -> Self::Handler;
}

macro_rules! shared_handler {
    ($($action:ident),*) => {$(
        impl<X, Req, W> ServiceAction<Req, W> for $action<X> {
            type Handler = Arc<Fallback<$action<X>, W>>;

            #[inline]
            fn handler(fallback: &Arc<Fallback<Self, W>>, _request: &Req) -> Self::Handler {
                fallback.clone()
            }
        }
    )*};
}
shared_handler!(Value, FromFn, FromAsync);

impl<S2, Req: Clone, W> ServiceAction<Req, W> for FromService<S2> {
    type Handler = ServiceHandler<S2, Req, W>;

    fn handler(fallback: &Arc<Fallback<Self, W>>, request: &Req) -> Self::Handler {
        ServiceHandler {
            fallback: fallback.clone(),
            request: request.clone(),
        }
    }
}

impl<S, A, W, Req> Service<Req> for FallbackService<S, A, W>
where
    S: Service<Req>,
    S::Error: LiftError,
    A: ServiceAction<Req, W>,
    A::Handler: Handler<S::Response, LiftedError<S::Error>> + Clone,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<WithFallback<FutureOp<S::Future>, A::Handler>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        // Nothing to admit: the inner service is called now.
        let handler = A::handler(&self.fallback, &req);
        let op = WithFallback {
            op: FutureOp::made(),
            handler,
        };
        CallFuture::from_parts(op, FallbackCall::lent(Deferred::made(self.inner.call(req))))
    }
}

/// The fallback of one tower call to a fallback service: the shared fallback and a clone of the
/// request.
#[derive(Debug)]
pub struct ServiceHandler<S, Req, W> {
    fallback: Arc<Fallback<FromService<S>, W>>,
    request: Req,
}

impl<S, Req: Clone, W> Clone for ServiceHandler<S, Req, W> {
    fn clone(&self) -> Self {
        Self {
            fallback: self.fallback.clone(),
            request: self.request.clone(),
        }
    }
}

impl<S, Req, W> Handler<S::Response, LiftedError<S::Error>> for ServiceHandler<S, Req, W>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    W: Classify<S::Response, LiftedError<S::Error>>,
{
    type Future = ServiceCall<S, Req>;

    fn applies(&self, outcome: &Result<S::Response, LiftedError<S::Error>>) -> bool {
        self.fallback.when.classify(outcome) == crate::Outcome::Failure
    }

    fn report(&self, error: &LiftedError<S::Error>) {
        self.fallback.report_applied(error);
    }

    fn handle(self, _error: LiftedError<S::Error>) -> Self::Future {
        ServiceCall {
            state: CallState::Ready {
                service: self.fallback.action.0.clone(),
                request: Some(self.request),
            },
        }
    }
}

pin_project! {
    /// A call to the fallback service: waits for it to be ready, then calls it. Its error is the
    /// fallback service's, lifted as the primary's is ([`LiftError`]).
    #[must_use = "futures do nothing unless polled"]
    pub struct ServiceCall<S: Service<Req>, Req> {
        #[pin]
        state: CallState<S, Req>,
    }
}

pin_project! {
    #[project = CallStateProj]
    enum CallState<S: Service<Req>, Req> {
        Ready { service: S, request: Option<Req> },
        Calling { #[pin] future: S::Future },
    }
}

impl<S, Req> Future for ServiceCall<S, Req>
where
    S: Service<Req>,
    S::Error: LiftError,
{
    type Output = Result<S::Response, LiftedError<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        if let CallStateProj::Ready { service, request } = state.as_mut().project() {
            ready!(service.poll_ready(cx)).map_err(LiftError::lift)?;
            let request = request.take().expect("ServiceCall polled after completion");
            let future = service.call(request);
            state.set(CallState::Calling { future });
        }
        match state.project() {
            CallStateProj::Calling { future } => future.poll(cx).map_err(LiftError::lift),
            CallStateProj::Ready { .. } => unreachable!("the call was made above"),
        }
    }
}

impl<S: Service<Req>, Req> std::fmt::Debug for ServiceCall<S, Req> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceCall").finish_non_exhaustive()
    }
}
