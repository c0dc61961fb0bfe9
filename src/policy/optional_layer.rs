//! The tower face of `Option<P>`: a layer that may be left out, one service type either way.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::ToLayer;
use crate::lift::{LiftError, LiftedError};

/// `Some(policy)`'s layer, or no layer: the service it makes is the policy's around the inner
/// service, or the inner service itself.
impl<P: ToLayer> ToLayer for Option<P> {
    type Layer = OptionalLayer<P::Layer>;

    fn layer(&self) -> Self::Layer {
        OptionalLayer(self.as_ref().map(P::layer))
    }
}

/// The layer of an `Option<P>` policy: `Some` applies the policy's layer, `None` leaves the
/// service as it is, and the service type is the same either way ([`OptionalService`]).
///
/// A failguard layer makes an `Infallible` service's error `Error<Infallible>`, so the service
/// left as it is has its error lifted the same way ([`LiftError`]); any other error passes
/// unchanged.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, Timeout, parts::ToLayer};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// for timeout in [Some(Timeout::new(Duration::from_millis(100))?), None] {
///     let mut svc = ServiceBuilder::new()
///         .layer(timeout.layer())
///         .map_err(Error::Inner)
///         .service_fn(|_: ()| async {
///             tokio::time::sleep(Duration::from_secs(1)).await;
///             Ok::<_, std::io::Error>("late")
///         });
///     let answer = svc.ready().await?.call(()).await;
///     assert_eq!(answer.is_ok(), timeout.is_none());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct OptionalLayer<L>(Option<L>);

impl<S, L: Layer<S>> Layer<S> for OptionalLayer<L> {
    type Service = OptionalService<L::Service, S>;

    fn layer(&self, inner: S) -> Self::Service {
        match &self.0 {
            Some(layer) => OptionalService::On(layer.layer(inner)),
            None => OptionalService::Off(inner),
        }
    }
}

/// The service of an [`OptionalLayer`]: the policy's service around the inner one, or the
/// inner one as it is (its error lifted as a failguard layer lifts it).
#[derive(Debug, Clone)]
pub enum OptionalService<A, S> {
    /// The policy's service.
    On(A),
    /// The inner service, the layer left out.
    Off(S),
}

impl<A, S, Req> Service<Req> for OptionalService<A, S>
where
    S: Service<Req>,
    S::Error: LiftError,
    A: Service<Req, Response = S::Response, Error = LiftedError<S::Error>>,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = OptionalFuture<A::Future, S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self {
            OptionalService::On(a) => a.poll_ready(cx),
            OptionalService::Off(s) => s.poll_ready(cx).map_err(LiftError::lift),
        }
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let state = match self {
            OptionalService::On(a) => FutureState::On {
                future: a.call(req),
            },
            OptionalService::Off(s) => FutureState::Off {
                future: s.call(req),
            },
        };
        OptionalFuture { state }
    }
}

pin_project! {
    /// The response future of an [`OptionalService`].
    ///
    /// # Cancel safety
    ///
    /// As the future inside it: dropping it drops that future.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct OptionalFuture<A, B> {
        #[pin]
        state: FutureState<A, B>,
    }
}

pin_project! {
    #[project = FutureStateProj]
    #[derive(Debug)]
    enum FutureState<A, B> {
        On { #[pin] future: A },
        Off { #[pin] future: B },
    }
}

impl<A, B, T, E> Future for OptionalFuture<A, B>
where
    B: Future<Output = Result<T, E>>,
    E: LiftError,
    A: Future<Output = Result<T, LiftedError<E>>>,
{
    type Output = Result<T, LiftedError<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            FutureStateProj::On { future } => future.poll(cx),
            FutureStateProj::Off { future } => future.poll(cx).map_err(LiftError::lift),
        }
    }
}
