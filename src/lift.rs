//! Lifting a tower service's error into [`Error::Inner`], as a service you can name.
//!
//! Every failguard tower layer keeps its service's error type and needs it to carry failguard's
//! rejections too ([`PolicyError`](crate::PolicyError)). A leaf service's own error (an
//! `io::Error`, a `hyper::Error`) cannot, so a stack lifts it once, at the bottom, into
//! [`Error::Inner`]; every failguard layer above then returns the same flat [`Error<E>`].
//!
//! There are two ways to write that step, and they compile to the same code:
//!
//! - `.map_err(Error::Inner)` in a `ServiceBuilder`: the shortest, when the stack's type is
//!   never written down;
//! - `.layer(LiftLayer)`, or [`Lift::new`], giving [`Lift<S>`]: the same, with a type you can
//!   name in a struct field or a function's return type. Its future is
//!   [`Lifted<S::Future>`](crate::policy::Lifted), also nameable.
//!
//! tower's `map_err` gives `MapErr<S, F>`, where `F` is the type of `Error::Inner` as a function
//! item, which has no name. Coercing it to a function pointer (`Error::Inner as fn(_) -> _`)
//! makes the type nameable but turns the lift into an indirect call that the optimiser cannot
//! see through: about 2 ns more per call, and nothing around it inlined. `Lift` is named and
//! as fast as the function item (`benches/failguard/lift.rs` measures all three).
//!
//! The name says what it does to the error: it lifts it into the one variant of failguard's
//! error that holds your service's own failures, as [`Lifted`](crate::policy::Lifted) does for a
//! future.
//!
//! # Examples
//!
//! A client that keeps its stack in a field, by type:
//!
//! ```
//! use std::{future::Ready, io, task::{Context, Poll}};
//! use failguard::{Bulkhead, Error, Lift, LiftLayer, bulkhead::BulkheadService};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! /// The leaf: a backend whose error is its own.
//! #[derive(Clone)]
//! struct Backend;
//!
//! impl Service<u32> for Backend {
//!     type Response = u32;
//!     type Error = io::Error;
//!     type Future = Ready<Result<u32, io::Error>>;
//!
//!     fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
//!         Poll::Ready(Ok(()))
//!     }
//!
//!     fn call(&mut self, n: u32) -> Self::Future {
//!         std::future::ready(Ok(n * 2))
//!     }
//! }
//!
//! struct Client {
//!     stack: BulkheadService<Lift<Backend>>,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error<io::Error>> {
//! let bulkhead = Bulkhead::new(8).expect("a valid bulkhead");
//! let mut client = Client {
//!     stack: ServiceBuilder::new()
//!         .layer(bulkhead.layer())
//!         .layer(LiftLayer)
//!         .service(Backend),
//! };
//! assert_eq!(client.stack.ready().await?.call(21).await?, 42);
//! # Ok(())
//! # }
//! ```

use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use crate::{Error, policy::Lifted};

/// A tower [`Layer`] that lifts its service's error into [`Error::Inner`]; makes [`Lift`].
///
/// Put it innermost, right above the leaf service, under every failguard layer:
/// `ServiceBuilder::new().layer(policy.layer()).layer(LiftLayer).service(svc)`. It is the same
/// as `.map_err(Error::Inner)`, with a service type you can name. It holds nothing: cloning it
/// is free.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, LiftLayer, Timeout};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let timeout = Timeout::new(Duration::from_millis(100))?;
/// let mut svc = ServiceBuilder::new()
///     .layer(timeout.layer())
///     .layer(LiftLayer)
///     .service_fn(|path: &'static str| async move {
///         std::fs::metadata(path).map(|m| m.len())
///     });
/// let err = svc.ready().await?.call("/no/such/file").await.unwrap_err();
/// assert!(matches!(err, Error::Inner(io) if io.kind() == std::io::ErrorKind::NotFound));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LiftLayer;

impl LiftLayer {
    /// The layer; the same as the unit value `LiftLayer`.
    ///
    /// ```
    /// let layer = failguard::LiftLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for LiftLayer {
    type Service = Lift<S>;

    #[inline]
    fn layer(&self, inner: S) -> Lift<S> {
        Lift::new(inner)
    }
}

/// A tower [`Service`] whose error is its inner service's, lifted into [`Error::Inner`]; made by
/// [`LiftLayer`] or [`Lift::new`].
///
/// Readiness and calls are the inner service's, unchanged: `poll_ready`'s error and the
/// response future's error (through [`Lifted`]) become `Error::Inner(e)`. Nothing else is added:
/// no state, no allocation, no clock. Cloning it clones the inner service.
///
/// # Examples
///
/// ```
/// use failguard::{Error, Lift};
/// use tower::{Service, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut svc = Lift::new(service_fn(|n: u32| async move {
///     u8::try_from(n).map_err(|_| "too big")
/// }));
/// assert_eq!(svc.ready().await.unwrap().call(7).await.unwrap(), 7);
/// let err: Error<&str> = svc.ready().await.unwrap().call(700).await.unwrap_err();
/// assert_eq!(err.into_inner(), Some("too big"));
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Lift<S> {
    inner: S,
}

impl<S> Lift<S> {
    /// Lifts `inner`'s error into [`Error::Inner`].
    ///
    /// ```
    /// let svc = failguard::Lift::new(tower::service_fn(|n: u32| async move {
    ///     Ok::<_, std::io::Error>(n)
    /// }));
    /// # let _ = svc;
    /// ```
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The wrapped service.
    ///
    /// ```
    /// let svc = failguard::Lift::new(42);
    /// assert_eq!(*svc.get_ref(), 42);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// let mut svc = failguard::Lift::new(41);
    /// *svc.get_mut() += 1;
    /// assert_eq!(svc.into_inner(), 42);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    ///
    /// ```
    /// assert_eq!(failguard::Lift::new("inner").into_inner(), "inner");
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Req> Service<Req> for Lift<S>
where
    S: Service<Req>,
{
    type Response = S::Response;
    type Error = Error<S::Error>;
    type Future = Lifted<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Error::Inner)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        Lifted::new(self.inner.call(req))
    }
}
