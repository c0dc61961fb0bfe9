//! Fallback: answer with something else when a call fails or is rejected.
//!
//! A [`Fallback`] replaces an error with a value ([`Fallback::value`]), the result of a closure
//! of the error ([`Fallback::from_fn`]), the result of an async closure of the error
//! ([`Fallback::from_async`]), or, in tower, the response of another service
//! ([`Fallback::service`]). [`when`](Fallback::when) (a closure of the error) or
//! [`classify`](Fallback::classify) (the [`Classify`] a breaker and a retry take too) chooses
//! which errors fall back; by default every error does, the operation's own errors and
//! failguard's rejections alike.
//!
//! The fallback sees the error of the stack below it, so a typed stack hands it a
//! [`failguard::Error<E>`](crate::Error): match on `Error::Timeout`, `Error::Inner(..)` and so on
//! to decide or to build the answer.
//!
//! Put a fallback outermost: it then also covers the rejections of every policy inside it.
//!
//! A fallback admits every call: it calls the operation inside it on the first poll (see
//! [`policy`](crate::policy)) and steps in only once that call has failed or been rejected.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Error, Fallback, Timeout};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! // Serve a stale price when the pricing service is slow, but not when it says "no such item".
//! let policy = Fallback::value(9.99)
//!     .when(|e: &Error<&str>| e.is_rejection())
//!     .wrap(Timeout::new(Duration::from_millis(100))?);
//!
//! let slow = policy
//!     .call(|| async {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         Ok(12.50)
//!     })
//!     .await;
//! assert_eq!(slow.unwrap(), 9.99);
//!
//! let missing = policy.call(|| async { Err("no such item") }).await;
//! assert!(matches!(missing, Err(Error::Inner("no such item"))));
//! # Ok(())
//! # }
//! ```

pub(crate) mod action;
#[cfg(feature = "serde")]
mod config;
mod events;
pub(crate) mod future;
#[cfg(feature = "tower")]
pub(crate) mod layer;

use std::future::Future;

pub(crate) use action::{Action, Handler};
#[cfg(feature = "serde")]
pub use config::FallbackConfig;
pub use events::FallbackEvent;
#[cfg(feature = "tower")]
pub(crate) use future::FallbackCall;
pub(crate) use future::WithFallback;
#[cfg(feature = "tower")]
pub use layer::{FallbackLayer, FallbackService};

use crate::{
    Classify, ErrorIsFailure, FailureIf, Name, Operation,
    policy::{Apply, CallFuture, OperationFn},
};

const DEFAULT_NAME: Name = Name::from_static("fallback");

/// Answers with something else when a call fails or is rejected.
///
/// `A` is the action (a [`Value`], [`FromFn`], [`FromAsync`] or [`FromService`]); `W` the
/// [`Classify`] that picks which errors fall back: those it calls failures ([`ErrorIsFailure`],
/// every error, unless [`when`](Self::when) or [`classify`](Self::classify) says otherwise). A fallback holds no state; its tower layer shares one copy of it between all clones.
///
/// # Cancel safety
///
/// Dropping the call's future drops the operation or the fallback in flight; nothing else
/// happens.
///
/// # Examples
///
/// ```
/// use failguard::{Error, Fallback};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fallback = Fallback::from_fn(|e: Error<String>| format!("degraded: {e}"));
/// let answer = fallback.call(|| async { Err::<String, _>("db down".to_string()) }).await;
/// assert_eq!(answer.unwrap(), "degraded: db down");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Fallback<A, W = ErrorIsFailure> {
    action: A,
    when: W,
    name: Name,
    sinks: crate::events::Sinks,
}

impl<A> Fallback<A> {
    fn with_action(action: A) -> Self {
        Self {
            action,
            when: ErrorIsFailure,
            name: DEFAULT_NAME,
            sinks: crate::events::Sinks::default(),
        }
    }
}

impl<T: Clone> Fallback<Value<T>> {
    /// Falls back to a clone of `value`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let fallback = failguard::Fallback::value(Vec::<u32>::new());
    /// let items = fallback.call(|| async { Err::<Vec<u32>, _>("timeout") }).await;
    /// assert!(items.unwrap().is_empty());
    /// # }
    /// ```
    pub fn value(value: T) -> Self {
        Self::with_action(Value(value))
    }
}

impl<F> Fallback<FromFn<F>> {
    /// Falls back to `f(error)`.
    ///
    /// ```
    /// use failguard::Error;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let fallback = failguard::Fallback::from_fn(|e: Error<u16>| match e {
    ///     Error::Inner(status) => format!("status {status}"),
    ///     other => format!("rejected: {other}"),
    /// });
    /// let answer = fallback.call(|| async { Err::<String, _>(503) }).await;
    /// assert_eq!(answer.unwrap(), "status 503");
    /// # }
    /// ```
    pub fn from_fn(f: F) -> Self {
        Self::with_action(FromFn(f))
    }
}

impl<F> Fallback<FromAsync<F>> {
    /// Falls back to the result of the future `f(error)`, which may itself fail.
    ///
    /// ```
    /// use failguard::Error;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let fallback = failguard::Fallback::from_async(|_e: Error<&str>| async {
    ///     // e.g. read a cached copy
    ///     Ok::<_, Error<&str>>("from cache")
    /// });
    /// let answer = fallback.call(|| async { Err::<&str, _>("origin down") }).await;
    /// assert_eq!(answer.unwrap(), "from cache");
    /// # }
    /// ```
    pub fn from_async(f: F) -> Self {
        Self::with_action(FromAsync(f))
    }
}

#[cfg(feature = "tower")]
impl<S> Fallback<FromService<S>> {
    /// (tower) Falls back to calling `service` with a clone of the request.
    ///
    /// The request type must be `Clone`: it is cloned before the primary call, so the fallback
    /// service can be called with it. The fallback service must have the same response and error
    /// types as the primary.
    ///
    /// ```
    /// use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
    /// use failguard::{Error, Fallback};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Error<&'static str>> {
    /// let replica = service_fn(|q: u32| async move { Ok::<_, Error<&str>>(q + 1000) });
    /// let mut svc = ServiceBuilder::new()
    ///     .layer(Fallback::service(replica).layer())
    ///     .service_fn(|_q: u32| async { Err::<u32, _>(Error::Inner("primary down")) });
    /// assert_eq!(svc.ready().await?.call(7).await?, 1007);
    /// # Ok(())
    /// # }
    /// ```
    pub fn service(service: S) -> Self {
        Self::with_action(FromService(service))
    }
}

impl<A, W> Fallback<A, W> {
    /// Falls back only for errors for which `predicate` returns `true`; the others pass through.
    ///
    /// The closure takes a [`failguard::Error<E>`](crate::Error), so it needs no annotation to
    /// ask about failguard's rejections (`e.is_rejection()`, `matches!(e, Error::Timeout(_))`).
    /// For a stack whose error is not `Error<E>` (a boxed tower error), or to share one rule
    /// with a breaker and a retry, use [`classify`](Self::classify).
    ///
    /// # Default
    ///
    /// Every error falls back ([`ErrorIsFailure`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Error, Fallback, Timeout};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// // Fall back when a policy rejected the call, not when the server said "bad input".
    /// let fallback = Fallback::value(0).when(|e| e.is_rejection());
    /// assert!(fallback.call(|| async { Err::<i32, _>("bad input") }).await.is_err());
    ///
    /// let policy = fallback.wrap(Timeout::new(Duration::from_millis(10))?);
    /// let slow = policy.call(|| std::future::pending::<Result<i32, &str>>()).await;
    /// assert_eq!(slow.unwrap(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn when<E, F>(self, predicate: F) -> Fallback<A, FailureIf<F>>
    where
        F: Fn(&crate::Error<E>) -> bool,
    {
        self.classify(FailureIf(predicate))
    }

    /// Falls back for the errors `classify` calls failures; the others (successes and ignored
    /// outcomes) pass through. The same [`Classify`] value can judge outcomes for a
    /// [`CircuitBreaker`](crate::CircuitBreaker) and a [`Retry`](crate::Retry).
    ///
    /// A fallback replaces errors: an `Ok` the classifier calls a failure (an HTTP 503 answered
    /// as a response) passes through unchanged; make the operation return it as an error (as
    /// reqwest's `error_for_status`) to have it fall back.
    ///
    /// # Default
    ///
    /// Every error falls back ([`ErrorIsFailure`]).
    ///
    /// ```
    /// use failguard::{Error, Fallback, FailureIf};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let server_fault = FailureIf(|e: &Error<u16>| matches!(e, Error::Inner(500..)) || e.is_rejection());
    /// let fallback = Fallback::value("cached").classify(server_fault);
    /// assert_eq!(fallback.call(|| async { Err::<&str, _>(503) }).await.unwrap(), "cached");
    /// assert!(fallback.call(|| async { Err::<&str, _>(404) }).await.is_err());
    /// # }
    /// ```
    pub fn classify<C>(self, classify: C) -> Fallback<A, C> {
        Fallback {
            action: self.action,
            when: classify,
            name: self.name,
            sinks: self.sinks,
        }
    }

    /// Names the fallback for events.
    ///
    /// # Default
    ///
    /// `"fallback"`.
    ///
    /// ```
    /// let fallback = failguard::Fallback::value(0).name("price");
    /// assert_eq!(fallback.policy_name(), "price");
    /// ```
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = name.into();
        self
    }

    /// Sends the fallback's [`FallbackEvent`]s to `listener`, next to the `tracing` output. See
    /// [`events`](crate::events).
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// use failguard::{Fallback, events::Event};
    /// let fallback = Fallback::value(0).listener(|e: &Event<'_>| eprintln!("{:?}", e.kind));
    /// # let _ = fallback;
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// Reports that the fallback replaced `error`.
    pub(crate) fn report_applied<E: crate::PolicyError>(&self, error: &E) {
        let rejection = error.rejection().as_ref().map(crate::Rejection::policy);
        self.sinks.emit(
            &self.name,
            crate::events::EventKind::Fallback(FallbackEvent::Applied { rejection }),
        );
    }

    /// The fallback's name.
    ///
    /// ```
    /// assert_eq!(failguard::Fallback::value(0).policy_name(), "fallback");
    /// ```
    pub fn policy_name(&self) -> &Name {
        &self.name
    }

    /// Calls `f`; if its future fails with an error the predicate picks, answers with the
    /// fallback instead.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let fallback = failguard::Fallback::value("default");
    /// assert_eq!(fallback.call(|| async { Ok::<_, ()>("real") }).await.unwrap(), "real");
    /// # }
    /// ```
    pub fn call<'a, F, Fut, T, E>(
        &'a self,
        f: F,
    ) -> CallFuture<WithFallback<OperationFn<F>, &'a Self>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        &'a Self: Handler<T, crate::Error<E>>,
    {
        CallFuture::new(WithFallback {
            op: OperationFn::new(f),
            handler: self,
        })
    }

    /// This fallback as a tower layer; every clone of the layer and its services shares one copy
    /// of the fallback.
    ///
    /// ```
    /// let layer = failguard::Fallback::value(0).layer();
    /// # let _ = layer;
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> FallbackLayer<A, W>
    where
        A: Clone,
        W: Clone,
    {
        FallbackLayer::new(std::sync::Arc::new(self.clone()))
    }

    crate::policy::wrap_method!("failguard::Fallback::value(0)");
}

#[cfg(feature = "tower")]
impl<A: Clone, W: Clone> crate::policy::ToLayer for Fallback<A, W> {
    type Layer = FallbackLayer<A, W>;

    fn layer(&self) -> Self::Layer {
        Fallback::layer(self)
    }
}

crate::policy::typed_policy!(
    [A, W] Fallback<A, W> => WithFallback<Op, &'a Fallback<A, W>>,
    where [
        A: Action<T, crate::Error<E>> + Send + Sync,
        A::Future: Send,
        W: Classify<T, crate::Error<E>> + Send + Sync,
    ]
);

/// Fall back to a clone of a value; made by [`Fallback::value`].
#[derive(Debug, Clone)]
pub struct Value<T>(T);

/// Fall back to a closure of the error; made by [`Fallback::from_fn`].
#[derive(Debug, Clone)]
pub struct FromFn<F>(F);

/// Fall back to an async closure of the error; made by [`Fallback::from_async`].
#[derive(Debug, Clone)]
pub struct FromAsync<F>(F);

/// (tower) Fall back to another service; made by [`Fallback::service`].
#[derive(Debug, Clone)]
pub struct FromService<S>(pub(crate) S);

impl<'a, Op, A, W> Apply<Op> for &'a Fallback<A, W>
where
    Op: Operation,
    A: Action<Op::Ok, Op::Error>,
    W: Classify<Op::Ok, Op::Error>,
{
    type Output = WithFallback<Op, &'a Fallback<A, W>>;

    fn apply(self, op: Op) -> Self::Output {
        WithFallback { op, handler: self }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op, A, W> Apply<Op> for Fallback<A, W>
where
    Op: Operation,
    A: Action<Op::Ok, Op::Error> + Clone,
    W: Classify<Op::Ok, Op::Error> + Clone,
{
    type Output = WithFallback<Op, Fallback<A, W>>;

    fn apply(self, op: Op) -> Self::Output {
        WithFallback { op, handler: self }
    }
}
