//! The one error type every policy returns, the rejections it can carry, and configuration
//! errors.
//!
//! A call through any stack of failguard policies ends in [`Error<E>`]: either
//! [`Error::Inner`], the operation's own error unchanged, or one variant per *rejection*, the
//! policy refusing or abandoning the call. Stacking policies never nests the error: a timeout
//! inside a fallback inside a retry is still `Error::Timeout`, not `Error<Error<E>>`.
//!
//! Tower users keep their service's error type instead: any type that implements
//! [`PolicyError`] can carry rejections. [`Error<E>`] does (typed: match on variants) and so does
//! tower's `BoxError` (boxed: downcast to [`Elapsed`] and the other rejection types). A service
//! that cannot fail (`Infallible`) gets `Error<Infallible>` from the layer above it
//! ([`lift`](crate::lift)).

use std::{borrow::Cow, error::Error as StdError, fmt, time::Duration};

use crate::Name;

// Each policy's rejection lives in its folder; this is the one list of them.
pub use crate::adaptive::ConcurrencyLimited;
pub use crate::breaker::CircuitOpen;
pub use crate::bulkhead::{BulkheadFull, BulkheadFullReason};
pub use crate::queue::{QueueClosed, QueueClosedReason, QueueFull, QueueTimeout};
pub use crate::rate_limit::RateLimited;
pub use crate::throttle::Throttled;
pub use crate::timeout::Elapsed;

/// The error of a call made through failguard policies.
///
/// `Inner` is the operation's own error; every other variant is a rejection by a policy, carrying
/// what the caller needs to react (how long the timeout was, when to try again). The enum is
/// `#[non_exhaustive]`: policies added later add variants without breaking a `match` that has a
/// wildcard arm.
///
/// `Inner` is transparent, as thiserror's `#[error(transparent)]`: it displays exactly as the
/// inner error (a log line or an HTTP body reads "connection refused", not a wrapper's words),
/// and its [`source()`](std::error::Error::source) is the inner error's own source. An error
/// reporter walking the chain therefore prints each message once. Reach the inner error itself
/// with [`inner()`](Self::inner), [`into_inner()`](Self::into_inner) or a `match`.
///
/// Every rejection reads as one short, lowercase log line that names the policy, and the policy's
/// name when it is not the default one: `timeout elapsed after 500ms`,
/// ``circuit breaker `payments` is open; retry after 30s``.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, Timeout};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let timeout = Timeout::new(Duration::from_millis(100))?;
/// let result = timeout
///     .call(|| async {
///         tokio::time::sleep(Duration::from_secs(1)).await;
///         Ok::<_, std::io::Error>("late")
///     })
///     .await;
///
/// match result {
///     Ok(body) => println!("got {body}"),
///     Err(Error::Inner(io)) => println!("the call failed: {io}"),
///     Err(Error::Timeout(elapsed)) => assert_eq!(elapsed.after(), Duration::from_millis(100)),
///     Err(other) => println!("rejected: {other}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E> {
    /// The operation itself failed; its error is unchanged, and so are its `Display` and
    /// `source()`.
    ///
    /// ```
    /// use std::error::Error as _;
    ///
    /// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
    /// let err = failguard::Error::Inner(refused);
    /// assert_eq!(err.to_string(), "connection refused");
    /// assert!(err.source().is_none()); // the io error's own source
    /// assert_eq!(err.inner().unwrap().kind(), std::io::ErrorKind::ConnectionRefused);
    /// ```
    #[error(transparent)]
    Inner(E),
    /// A [`Timeout`](crate::Timeout) elapsed before the operation finished.
    #[error(transparent)]
    Timeout(Elapsed),
    /// A [`Queue`](crate::Queue) was full: the new item was rejected, or it was the oldest
    /// waiting item and was dropped for a newer one.
    #[error(transparent)]
    QueueFull(QueueFull),
    /// An item waited in a [`Queue`](crate::Queue) for its whole maximum queueing time and was
    /// failed instead of run.
    #[error(transparent)]
    QueueTimeout(QueueTimeout),
    /// A [`Queue`](crate::Queue) could not run the item: it was shut down, its workers stopped, or
    /// the item's work panicked.
    #[error(transparent)]
    QueueClosed(QueueClosed),
    /// A [`Bulkhead`](crate::Bulkhead) had no free permit: no room (or no time) to wait, or the
    /// wait ran out. Never reported as a timeout.
    #[error(transparent)]
    BulkheadFull(BulkheadFull),
    /// A [`CircuitBreaker`](crate::CircuitBreaker) was open: the call was not made.
    /// [`retry_after`](CircuitOpen::retry_after) says when it may let calls through again.
    #[error(transparent)]
    CircuitOpen(CircuitOpen),
    /// A [`RateLimiter`](crate::RateLimiter) had no permit now (or within its `max_wait`):
    /// the call was not made. [`retry_after`](RateLimited::retry_after) says exactly when a
    /// permit will be free.
    #[error(transparent)]
    RateLimited(RateLimited),
    /// An [`AdaptiveLimit`](crate::adaptive::AdaptiveLimit) had no room under its current limit
    /// (and no room or time to wait): the call was not made.
    /// [`limit`](ConcurrencyLimited::limit) and [`in_flight`](ConcurrencyLimited::in_flight) say
    /// what it found.
    #[error(transparent)]
    ConcurrencyLimited(ConcurrencyLimited),
    /// An [`AdaptiveThrottle`](crate::throttle::AdaptiveThrottle) rejected the request locally:
    /// the backend has been rejecting most of what it gets. The call was not made.
    #[error(transparent)]
    Throttled(Throttled),
}

impl<E> Error<E> {
    /// Whether a policy rejected the call (anything but [`Error::Inner`]).
    ///
    /// ```
    /// use failguard::Error;
    /// assert!(!Error::Inner("boom").is_rejection());
    /// ```
    pub fn is_rejection(&self) -> bool {
        !matches!(self, Error::Inner(_))
    }

    /// How long to wait before trying again, when the rejecting policy knows: when an open
    /// circuit will let calls through again or a rate limiter will have a permit (promises), or about how long a full bulkhead or
    /// queue would keep a newcomer waiting (an estimate from what it has seen; see
    /// [`BulkheadFull::retry_after`] and [`QueueFull::retry_after`]). `None` for the
    /// operation's own errors and for rejections without a hint.
    ///
    /// A server that answers a rejection with `503 Service Unavailable` can send it as
    /// `Retry-After` (whole seconds, rounded up):
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::Error;
    ///
    /// fn retry_after_header<E>(err: &Error<E>) -> Option<String> {
    ///     err.retry_after().map(|d| d.as_secs_f64().ceil().max(1.0).to_string())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::builder().capacity(0).build()?;
    /// let work = || async {
    ///     tokio::time::sleep(Duration::from_millis(1_500)).await;
    ///     Ok::<_, std::io::Error>(())
    /// };
    /// # let busy = queue.call(work);
    /// # let _ = queue.call(work).await.unwrap_err(); // the first shedding: timing starts
    /// # busy.await.unwrap();
    /// queue.call(work).await.unwrap(); // an item took 1.5 s
    /// let busy = queue.call(work);
    /// let err = queue.call(work).await.unwrap_err();
    /// assert_eq!(retry_after_header(&err).as_deref(), Some("2"));
    /// assert_eq!(retry_after_header(&Error::Inner("boom")), None);
    /// # busy.await.unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.rejection().and_then(|r| r.retry_after())
    }

    /// The operation's own error, if that is what this is.
    ///
    /// ```
    /// use failguard::Error;
    /// assert_eq!(Error::Inner("boom").inner(), Some(&"boom"));
    /// ```
    pub fn inner(&self) -> Option<&E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// The operation's own error, by value; `None` for rejections.
    ///
    /// ```
    /// use failguard::Error;
    /// assert_eq!(Error::Inner("boom").into_inner(), Some("boom"));
    /// ```
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// The rejection, if a policy rejected the call.
    ///
    /// ```
    /// use failguard::Error;
    /// assert!(Error::Inner("boom").rejection().is_none());
    /// ```
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            Error::Inner(_) => None,
            Error::Timeout(e) => Some(Rejection::Timeout(e.clone())),
            Error::QueueFull(e) => Some(Rejection::QueueFull(e.clone())),
            Error::QueueTimeout(e) => Some(Rejection::QueueTimeout(e.clone())),
            Error::QueueClosed(e) => Some(Rejection::QueueClosed(e.clone())),
            Error::BulkheadFull(e) => Some(Rejection::BulkheadFull(e.clone())),
            Error::CircuitOpen(e) => Some(Rejection::CircuitOpen(e.clone())),
            Error::RateLimited(e) => Some(Rejection::RateLimited(e.clone())),
            Error::ConcurrencyLimited(e) => Some(Rejection::ConcurrencyLimited(e.clone())),
            Error::Throttled(e) => Some(Rejection::Throttled(e.clone())),
        }
    }

    /// Maps the operation's own error, leaving rejections as they are.
    ///
    /// ```
    /// use failguard::Error;
    /// let e: Error<usize> = Error::Inner("boom").map_inner(str::len);
    /// assert_eq!(e.into_inner(), Some(4));
    /// ```
    pub fn map_inner<F, E2>(self, f: F) -> Error<E2>
    where
        F: FnOnce(E) -> E2,
    {
        match self {
            Error::Inner(e) => Error::Inner(f(e)),
            Error::Timeout(e) => Error::Timeout(e),
            Error::QueueFull(e) => Error::QueueFull(e),
            Error::QueueTimeout(e) => Error::QueueTimeout(e),
            Error::QueueClosed(e) => Error::QueueClosed(e),
            Error::BulkheadFull(e) => Error::BulkheadFull(e),
            Error::CircuitOpen(e) => Error::CircuitOpen(e),
            Error::RateLimited(e) => Error::RateLimited(e),
            Error::ConcurrencyLimited(e) => Error::ConcurrencyLimited(e),
            Error::Throttled(e) => Error::Throttled(e),
        }
    }
}

impl<E> From<Rejection> for Error<E> {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Timeout(e) => Error::Timeout(e),
            Rejection::QueueFull(e) => Error::QueueFull(e),
            Rejection::QueueTimeout(e) => Error::QueueTimeout(e),
            Rejection::QueueClosed(e) => Error::QueueClosed(e),
            Rejection::BulkheadFull(e) => Error::BulkheadFull(e),
            Rejection::CircuitOpen(e) => Error::CircuitOpen(e),
            Rejection::RateLimited(e) => Error::RateLimited(e),
            Rejection::ConcurrencyLimited(e) => Error::ConcurrencyLimited(e),
            Rejection::Throttled(e) => Error::Throttled(e),
        }
    }
}

/// Why a policy refused or abandoned a call: every variant of [`Error`] but `Inner`.
///
/// This is what [`PolicyError`] carries, so that one policy can tell another's rejection apart
/// from the operation's own failure whatever the error type (a retry honours an open circuit's
/// `retry_after`, a breaker counts a timeout as a failure).
///
/// # Examples
///
/// ```
/// use failguard::{Error, Rejection};
///
/// fn describe(rejection: &Rejection) -> &'static str {
///     match rejection {
///         Rejection::Timeout(_) => "too slow",
///         _ => "refused",
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// A [`Timeout`](crate::Timeout) elapsed.
    #[error(transparent)]
    Timeout(Elapsed),
    /// A [`Queue`](crate::Queue) was full.
    #[error(transparent)]
    QueueFull(QueueFull),
    /// An item waited too long in a [`Queue`](crate::Queue).
    #[error(transparent)]
    QueueTimeout(QueueTimeout),
    /// A [`Queue`](crate::Queue) could not run the item.
    #[error(transparent)]
    QueueClosed(QueueClosed),
    /// A [`Bulkhead`](crate::Bulkhead) had no free permit.
    #[error(transparent)]
    BulkheadFull(BulkheadFull),
    /// A [`CircuitBreaker`](crate::CircuitBreaker) was open.
    #[error(transparent)]
    CircuitOpen(CircuitOpen),
    /// A [`RateLimiter`](crate::RateLimiter) had no permit.
    #[error(transparent)]
    RateLimited(RateLimited),
    /// An [`AdaptiveLimit`](crate::adaptive::AdaptiveLimit) had no room.
    #[error(transparent)]
    ConcurrencyLimited(ConcurrencyLimited),
    /// An [`AdaptiveThrottle`](crate::throttle::AdaptiveThrottle) rejected the request locally.
    #[error(transparent)]
    Throttled(Throttled),
}

impl Rejection {
    /// How long to wait before trying again, when the rejecting policy knows: an open circuit's
    /// promise, or a full bulkhead's or queue's estimate; see [`Error::retry_after`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let elapsed = failguard::Timeout::new(Duration::from_secs(1)).unwrap().elapsed();
    /// let rejection = failguard::Rejection::Timeout(elapsed);
    /// assert_eq!(rejection.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Rejection::Timeout(_)
            | Rejection::QueueTimeout(_)
            | Rejection::QueueClosed(_)
            | Rejection::ConcurrencyLimited(_)
            | Rejection::Throttled(_) => None,
            Rejection::QueueFull(e) => e.retry_after(),
            Rejection::BulkheadFull(e) => e.retry_after(),
            Rejection::CircuitOpen(e) => e.retry_after(),
            Rejection::RateLimited(e) => e.retry_after(),
        }
    }

    /// The name of the policy that rejected the call.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let timeout = failguard::Timeout::builder()
    ///     .duration(Duration::from_secs(1))
    ///     .name("db")
    ///     .build()?;
    /// assert_eq!(failguard::Rejection::Timeout(timeout.elapsed()).name(), "db");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        match self {
            Rejection::Timeout(e) => e.name(),
            Rejection::QueueFull(e) => e.name(),
            Rejection::QueueTimeout(e) => e.name(),
            Rejection::QueueClosed(e) => e.name(),
            Rejection::BulkheadFull(e) => e.name(),
            Rejection::CircuitOpen(e) => e.name(),
            Rejection::RateLimited(e) => e.name(),
            Rejection::ConcurrencyLimited(e) => e.name(),
            Rejection::Throttled(e) => e.name(),
        }
    }

    /// Which kind of policy rejected the call, as it appears in `tracing` events
    /// (`"timeout"`, ...).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let elapsed = failguard::Timeout::new(Duration::from_secs(1)).unwrap().elapsed();
    /// assert_eq!(failguard::Rejection::Timeout(elapsed).policy(), "timeout");
    /// ```
    pub fn policy(&self) -> &'static str {
        match self {
            Rejection::Timeout(_) => "timeout",
            Rejection::QueueFull(_) | Rejection::QueueTimeout(_) | Rejection::QueueClosed(_) => {
                "queue"
            }
            Rejection::BulkheadFull(_) => "bulkhead",
            Rejection::CircuitOpen(_) => "circuit-breaker",
            Rejection::RateLimited(_) => "rate-limiter",
            Rejection::ConcurrencyLimited(_) => "adaptive-limit",
            Rejection::Throttled(_) => "adaptive-throttle",
        }
    }
}

/// A policy's name as its rejection shows it: `` `name`` after the policy's kind, or nothing when
/// it is the policy's default name, which would only repeat the kind ("timeout `timeout`").
/// The defaults are the `DEFAULT_NAME`s of the policy modules; `tests/error_display.rs` pins them.
pub(crate) fn named<'a>(name: &'a Name, default: &'static str) -> impl fmt::Display + 'a {
    struct Named<'a>(&'a Name, &'static str);
    impl fmt::Display for Named<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.0 == self.1 {
                Ok(())
            } else {
                write!(f, " `{}`", self.0)
            }
        }
    }
    Named(name, default)
}

/// An estimated wait, as a rejection's message ends with it: "; retry after about 250ms", or
/// nothing without one. "About" tells it from an open circuit's "retry after", a promise.
pub(crate) fn about(retry_after: Option<Duration>) -> impl fmt::Display {
    struct About(Option<Duration>);
    impl fmt::Display for About {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.0 {
                Some(d) => write!(f, "; retry after about {d:?}"),
                None => Ok(()),
            }
        }
    }
    About(retry_after)
}

/// `n` of `noun`, in the singular for one: "1 call", "4 calls".
pub(crate) fn count(n: usize, noun: &'static str) -> impl fmt::Display {
    struct Count(usize, &'static str);
    impl fmt::Display for Count {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let s = if self.0 == 1 { "" } else { "s" };
            write!(f, "{} {}{s}", self.0, self.1)
        }
    }
    Count(n, noun)
}

/// An error type that can carry failguard's rejections.
///
/// Every failguard tower layer keeps its service's error type and requires only this trait of
/// it (or that the service cannot fail, [`LiftError`](crate::lift::LiftError)), so a stack of any
/// number of layers has one flat error. Two implementations cover the usual needs:
///
/// - [`Error<E>`]: typed. Lift the innermost service's error once, with
///   `.map_err(failguard::Error::Inner)` (or [`LiftLayer`](crate::LiftLayer), the same with a
///   type you can name), and match on variants. A service that cannot fail (its error is
///   `Infallible`, as an axum route's) needs no lift: the layer above it returns
///   `Error<Infallible>` ([`LiftError`](crate::lift::LiftError)).
/// - tower's `BoxError` (`Box<dyn std::error::Error + Send + Sync>`): boxed. Rejections are boxed
///   as their own types ([`Elapsed`], ...), which you downcast to.
///
/// Implement it for your own error type to let failguard report rejections through it.
///
/// # Examples
///
/// ```
/// use failguard::{Error, PolicyError, Rejection};
/// use std::time::Duration;
///
/// let elapsed = failguard::Timeout::new(Duration::from_secs(1))?.elapsed();
///
/// let typed = <Error<std::io::Error>>::from_rejection(Rejection::Timeout(elapsed.clone()));
/// assert!(matches!(typed, Error::Timeout(_)));
///
/// let boxed = <failguard::BoxError>::from_rejection(Rejection::Timeout(elapsed));
/// assert!(boxed.downcast_ref::<failguard::error::Elapsed>().is_some());
/// assert!(boxed.rejection().is_some());
/// # Ok::<(), failguard::ConfigError>(())
/// ```
///
/// Forgetting to lift the leaf's error does not compile, and the compiler says what to write
/// ("`std::io::Error` cannot carry failguard's rejections ... lift the innermost service's error
/// once, e.g. `.map_err(failguard::Error::Inner)`"):
///
/// ```compile_fail,E0277
/// # use std::time::Duration;
/// fn serve<S: tower::Service<u32>>(_: S) {}
/// let timeout = failguard::Timeout::new(Duration::from_secs(1)).unwrap();
/// let svc = tower::ServiceBuilder::new()
///     .layer(timeout.layer())
///     .service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x) });
/// serve(svc);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry failguard's rejections",
    label = "a failguard layer needs an error type that can also report a timeout, an open circuit or a full bulkhead",
    note = "lift the innermost service's error once, e.g. `ServiceBuilder::new().layer(..).map_err(failguard::Error::Inner).service(svc)` (or `.layer(failguard::LiftLayer)`, the same with a type you can name), and every failguard layer above it returns `failguard::Error<E>`",
    note = "or box it with `.map_err(tower::BoxError::from)` and downcast rejections such as `failguard::error::Elapsed`"
)]
pub trait PolicyError: Sized {
    /// Wraps a rejection in this error type.
    fn from_rejection(rejection: Rejection) -> Self;

    /// The rejection this error carries, if it is one.
    fn rejection(&self) -> Option<Rejection>;
}

impl<E> PolicyError for Error<E> {
    fn from_rejection(rejection: Rejection) -> Self {
        rejection.into()
    }

    fn rejection(&self) -> Option<Rejection> {
        Error::rejection(self)
    }
}

/// A type-erased error, as tower's `BoxError`.
pub type BoxError = Box<dyn StdError + Send + Sync>;

impl PolicyError for BoxError {
    fn from_rejection(rejection: Rejection) -> Self {
        // Box the leaf type, as tower's own middleware does, so users downcast to what happened.
        match rejection {
            Rejection::Timeout(e) => Box::new(e),
            Rejection::QueueFull(e) => Box::new(e),
            Rejection::QueueTimeout(e) => Box::new(e),
            Rejection::QueueClosed(e) => Box::new(e),
            Rejection::BulkheadFull(e) => Box::new(e),
            Rejection::CircuitOpen(e) => Box::new(e),
            Rejection::RateLimited(e) => Box::new(e),
            Rejection::ConcurrencyLimited(e) => Box::new(e),
            Rejection::Throttled(e) => Box::new(e),
        }
    }

    fn rejection(&self) -> Option<Rejection> {
        if let Some(e) = self.downcast_ref::<Elapsed>() {
            return Some(Rejection::Timeout(e.clone()));
        }
        if let Some(e) = self.downcast_ref::<QueueFull>() {
            return Some(Rejection::QueueFull(e.clone()));
        }
        if let Some(e) = self.downcast_ref::<QueueTimeout>() {
            return Some(Rejection::QueueTimeout(e.clone()));
        }
        if let Some(e) = self.downcast_ref::<QueueClosed>() {
            return Some(Rejection::QueueClosed(e.clone()));
        }
        if let Some(e) = self.downcast_ref::<BulkheadFull>() {
            return Some(Rejection::BulkheadFull(e.clone()));
        }
        if let Some(e) = self.downcast_ref::<CircuitOpen>() {
            return Some(Rejection::CircuitOpen(e.clone()));
        }
        if let Some(e) = self.downcast_ref::<RateLimited>() {
            return Some(Rejection::RateLimited(e.clone()));
        }
        if let Some(e) = self.downcast_ref::<ConcurrencyLimited>() {
            return Some(Rejection::ConcurrencyLimited(e.clone()));
        }
        if let Some(e) = self.downcast_ref::<Throttled>() {
            return Some(Rejection::Throttled(e.clone()));
        }
        None
    }
}

/// An invalid value given to a policy builder.
///
/// Every `build()` checks its whole configuration and returns this instead of panicking or
/// silently accepting a value that cannot work. It names the field and the rule it broke.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let err = failguard::Timeout::new(Duration::ZERO).unwrap_err();
/// assert_eq!(err.field(), "timeout.duration");
/// assert_eq!(err.to_string(), "invalid timeout.duration: must be greater than zero (got 0ns)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: Cow<'static, str>,
    rule: Cow<'static, str>,
}

impl ConfigError {
    /// A configuration error for `field` (as `policy.knob`, or a path in a configuration file
    /// such as `attempt_timeout.duration`) that broke `rule`.
    ///
    /// ```
    /// let err = failguard::ConfigError::new("queue.capacity", "must be at least 1");
    /// assert_eq!(err.rule(), "must be at least 1");
    /// ```
    pub fn new(field: impl Into<Cow<'static, str>>, rule: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The rule most durations share: greater than zero and at most one day (longer is a unit
    /// mistake, and would overflow nothing but help nobody).
    pub(crate) fn check_duration(field: &'static str, d: Duration) -> Result<(), ConfigError> {
        const DAY: Duration = Duration::from_secs(24 * 60 * 60);
        if d.is_zero() || d > DAY {
            return Err(ConfigError::new(
                field,
                format!("must be greater than zero and at most one day (got {d:?})"),
            ));
        }
        Ok(())
    }

    /// The field, as `policy.knob` (e.g. `"timeout.duration"`), or as its path in the file it
    /// was read from (with the `serde` feature).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The rule the value broke, in words.
    pub fn rule(&self) -> &str {
        &self.rule
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.rule)
    }
}

impl StdError for ConfigError {}
