//! Lifting a leaf service's error into [`Error::Inner`], so failguard's tower layers can report
//! their rejections through it.
//!
//! A failguard tower layer returns its service's error type, which must also carry failguard's
//! rejections ([`PolicyError`]): then a stack of any number of layers has one flat error. A leaf
//! service's own error (an `io::Error`, a `hyper::Error`) cannot carry them, so a stack lifts it
//! once, at the bottom, into [`Error::Inner`]; every failguard layer above returns the same
//! [`Error<E>`].
//!
//! A service that cannot fail (its error is [`Infallible`], as for every axum route and
//! handler) needs no lift: the failguard layer right above it returns [`Error<Infallible>`] by
//! itself, and the layers above that keep it ([`LiftError`]). So `Router::layer` takes
//! failguard's layers as they are.
//!
//! For any other leaf there are two ways to write the step, and they cost the same:
//!
//! - `.map_err(Error::Inner)` in a `ServiceBuilder`: the shortest, when the stack's type is
//!   never written down;
//! - `.layer(LiftLayer)`, or [`Lift::new`], giving [`Lift<S>`]: the same, with a type you can
//!   name in a struct field or a function's return type. Its future is
//!   [`Lifted<S::Future>`](crate::parts::Lifted), also nameable.
//!
//! tower's `map_err` gives `MapErr<S, F>`, where `F` is the type of `Error::Inner` as a function
//! item, which has no name. Coercing it to a function pointer (`Error::Inner as fn(_) -> _`)
//! makes the type nameable but turns the lift into an indirect call that the optimiser cannot
//! see through: about 20 more instructions per call, 1.5 to 2 ns alone and more under a
//! bulkhead. `Lift` is named and as fast as the function item (`benches/failguard/lift.rs`
//! measures all three in one run).
//!
//! The name says what it does to the error: it lifts it into the one variant of failguard's
//! error that holds your service's own failures, as [`Lifted`] does for a future.
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

use std::convert::Infallible;
#[cfg(feature = "tower")]
use std::task::{Context, Poll};

#[cfg(feature = "tower")]
use tower_layer::Layer;
#[cfg(feature = "tower")]
use tower_service::Service;

#[cfg(feature = "tower")]
use crate::policy::Lifted;
use crate::{Error, PolicyError};

/// The error of the service inside a failguard tower layer, and what the layer makes of it.
///
/// A failguard layer must be able to report its own rejections (a timeout, an open circuit)
/// through its error type. Two kinds of inner error allow it:
///
/// | the inner service's error | the layer's error |
/// |---|---|
/// | a [`PolicyError`]: [`Error<E>`], `BoxError`, or your own | the same type, unchanged |
/// | [`Infallible`]: a service that cannot fail | [`Error<Infallible>`] |
///
/// So a stack of layers over a service that cannot fail (an axum route or handler) returns
/// `Error<Infallible>` with no step of yours, and a stack over a lifted leaf keeps the one flat
/// error it was given. Any other error (`std::io::Error`, `hyper::Error`) is lifted once at the
/// bottom, with [`LiftLayer`] or `.map_err(Error::Inner)`.
///
/// You do not implement this trait: implement [`PolicyError`] for your own error type instead,
/// and this follows.
///
/// # Examples
///
/// ```
/// use std::{convert::Infallible, time::Duration};
/// use failguard::{Error, Timeout};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// // A leaf that cannot fail; the timeout above it can, and says so in `Error<Infallible>`.
/// let mut svc = ServiceBuilder::new()
///     .layer(Timeout::new(Duration::from_millis(100))?.layer())
///     .service_fn(|ms: u64| async move {
///         tokio::time::sleep(Duration::from_millis(ms)).await;
///         Ok::<_, Infallible>(ms)
///     });
/// assert_eq!(svc.ready().await.unwrap().call(10).await.unwrap(), 10);
/// let err: Error<Infallible> = svc.ready().await.unwrap().call(500).await.unwrap_err();
/// assert!(matches!(err, Error::Timeout(_)));
/// # Ok(())
/// # }
/// ```
///
/// # When the leaf is not lifted
///
/// An error that is neither does not compile, and wherever the compiler follows the stack down
/// to its leaf it says what to write ("`std::io::Error` cannot carry failguard's rejections
/// ... lift the innermost service's error once"). It does not follow it in two common places,
/// and there the message is about the outer type instead:
///
/// - `svc.ready()` as a method (E0599: "the method `ready` exists for struct
///   `TimeoutService<..>`, but its trait bounds were not satisfied ... `TimeoutService<..>:
///   Service<_>`"). The method lookup gives up one level above the leaf. Naming the request
///   type, `ServiceExt::<Req>::ready(&mut svc)`, shows failguard's message:
///
/// ```compile_fail,E0277
/// use std::time::Duration;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut svc = ServiceBuilder::new()
///     .layer(failguard::Timeout::new(Duration::from_secs(1))?.layer())
///     .service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x) });
/// let n = ServiceExt::<u32>::ready(&mut svc).await?.call(1).await?;
/// # let _ = n;
/// # Ok(())
/// # }
/// ```
///
/// - axum's `HandleError` / `HandleErrorLayer` over a leaf that can fail (E0277: "the trait bound
///   `HandleError<BulkheadService<..>, .., _>: Service<Request<Body>>` is not satisfied"):
///   `HandleError` has one `Service` implementation per number of extractors, and while none
///   applies the compiler cannot tell which one was meant, so it stops there. A route or handler
///   cannot fail, and needs no lift; a service of your own under `route_service` does.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry failguard's rejections",
    label = "a failguard layer needs an error type that can also report a timeout, an open circuit or a full bulkhead",
    note = "lift the innermost service's error once, e.g. `ServiceBuilder::new().layer(..).map_err(failguard::Error::Inner).service(svc)` (or `.layer(failguard::LiftLayer)`, the same with a type you can name), and every failguard layer above it returns `failguard::Error<E>`",
    note = "or box it with `.map_err(tower::BoxError::from)` and downcast rejections such as `failguard::error::Elapsed`"
)]
pub trait LiftError: sealed::Sealed + Sized {
    /// The error of a failguard layer whose inner service fails with `Self`.
    type Lifted: PolicyError;

    /// `self` as the layer's error: unchanged for a [`PolicyError`]; never called for
    /// [`Infallible`], which has no values.
    ///
    /// ```
    /// use failguard::{Error, lift::LiftError};
    /// let err: Error<&str> = Error::Inner("boom").lift();
    /// assert_eq!(err.into_inner(), Some("boom"));
    /// ```
    fn lift(self) -> Self::Lifted;
}

impl<E: PolicyError> LiftError for E {
    type Lifted = E;

    #[inline(always)]
    fn lift(self) -> E {
        self
    }
}

impl LiftError for Infallible {
    type Lifted = Error<Infallible>;

    #[inline(always)]
    fn lift(self) -> Error<Infallible> {
        match self {}
    }
}

/// The error of a failguard layer over a service that fails with `E`; see [`LiftError`].
pub type LiftedError<E> = <E as LiftError>::Lifted;

mod sealed {
    pub trait Sealed {}
    impl<E: crate::PolicyError> Sealed for E {}
    impl Sealed for std::convert::Infallible {}
}

#[cfg(feature = "tower")]
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

#[cfg(feature = "tower")]
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

#[cfg(feature = "tower")]
impl<S> Layer<S> for LiftLayer {
    type Service = Lift<S>;

    #[inline]
    fn layer(&self, inner: S) -> Lift<S> {
        Lift::new(inner)
    }
}

#[cfg(feature = "tower")]
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

#[cfg(feature = "tower")]
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

#[cfg(feature = "tower")]
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
