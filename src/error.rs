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
//! tower's `BoxError` (boxed: downcast to [`Elapsed`] and the other rejection types).

use std::{borrow::Cow, error::Error as StdError, fmt, time::Duration};

use crate::Name;

/// The error of a call made through failguard policies.
///
/// `Inner` is the operation's own error; every other variant is a rejection by a policy, carrying
/// what the caller needs to react (how long the timeout was, when to try again). The enum is
/// `#[non_exhaustive]`: policies added later add variants without breaking a `match` that has a
/// wildcard arm.
///
/// [`source()`](std::error::Error::source) of `Inner` is the inner error, so error reporters print
/// the whole chain.
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
    /// The operation itself failed; its error is unchanged.
    #[error("the operation failed")]
    Inner(#[source] E),
    /// A [`Timeout`](crate::Timeout) elapsed before the operation finished.
    #[error(transparent)]
    Timeout(Elapsed),
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

    /// How long to wait before trying again, when the rejection says so (an open circuit, a rate
    /// limit). `None` for the operation's own errors and for rejections without a hint.
    ///
    /// ```
    /// use failguard::Error;
    /// assert_eq!(Error::Inner("boom").retry_after(), None);
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
        }
    }
}

impl<E> From<Rejection> for Error<E> {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Timeout(e) => Error::Timeout(e),
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
}

impl Rejection {
    /// How long to wait before trying again, when the rejecting policy knows.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let elapsed = failguard::Timeout::new(Duration::from_secs(1)).unwrap().elapsed();
    /// let rejection = failguard::Rejection::Timeout(elapsed);
    /// assert_eq!(rejection.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Rejection::Timeout(_) => None,
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
        }
    }
}

/// A [`Timeout`](crate::Timeout) elapsed before the operation finished.
///
/// Downcast a tower `BoxError` to this type to recognise a failguard timeout.
///
/// ```
/// # use std::time::Duration;
/// let timeout = failguard::Timeout::new(Duration::from_millis(250))?;
/// let elapsed = timeout.elapsed();
/// assert_eq!(elapsed.after(), Duration::from_millis(250));
/// assert_eq!(elapsed.to_string(), "timeout `timeout` elapsed after 250ms");
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timeout `{name}` elapsed after {after:?}")]
pub struct Elapsed {
    after: Duration,
    name: Name,
}

impl Elapsed {
    pub(crate) fn new(after: Duration, name: Name) -> Self {
        Self { after, name }
    }

    /// The configured duration that elapsed.
    pub fn after(&self) -> Duration {
        self.after
    }

    /// The name of the timeout policy.
    pub fn name(&self) -> &Name {
        &self.name
    }
}

/// An error type that can carry failguard's rejections.
///
/// Every failguard tower layer keeps its service's error type and requires only this trait of
/// it, so a stack of any number of layers has one flat error. Two implementations cover the usual
/// needs:
///
/// - [`Error<E>`]: typed. Lift the innermost service's error once, with
///   `.map_err(failguard::Error::Inner)`, and match on variants.
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
/// ```compile_fail
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
    note = "lift the innermost service's error once, e.g. `ServiceBuilder::new().layer(..).map_err(failguard::Error::Inner).service(svc)`, and every failguard layer above it returns `failguard::Error<E>`",
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
        }
    }

    fn rejection(&self) -> Option<Rejection> {
        if let Some(e) = self.downcast_ref::<Elapsed>() {
            return Some(Rejection::Timeout(e.clone()));
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
    field: &'static str,
    rule: Cow<'static, str>,
}

impl ConfigError {
    /// A configuration error for `field` (as `policy.knob`) that broke `rule`.
    ///
    /// ```
    /// let err = failguard::ConfigError::new("queue.capacity", "must be at least 1");
    /// assert_eq!(err.rule(), "must be at least 1");
    /// ```
    pub fn new(field: &'static str, rule: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field,
            rule: rule.into(),
        }
    }

    /// The field, as `policy.knob` (e.g. `"timeout.duration"`).
    pub fn field(&self) -> &'static str {
        self.field
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
