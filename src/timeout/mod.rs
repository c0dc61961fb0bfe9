//! Timeout: abandon a call that takes too long.
//!
//! [`Timeout`] drops the operation's future when its duration elapses and returns
//! [`Error::Timeout`](crate::Error::Timeout), which says after how long.
//!
//! # Semantics
//!
//! | situation | result |
//! |---|---|
//! | the call finishes before the duration elapses | its own result |
//! | the call finishes at exactly the deadline | its own result (the call is polled before the timer) |
//! | the duration elapses first | `Error::Timeout`, the call's future dropped |
//! | the caller drops the future | cancellation, not a timeout: nothing is reported |
//!
//! The clock starts when the call is first polled. A call that finishes on its first poll costs
//! no clock read and no timer: the deadline is taken and the timer armed only if the call is
//! still pending after that poll.
//!
//! Inside a retry a timeout bounds each attempt; outside it bounds the whole operation, retries
//! and their waits included. See the crate docs for the recommended order.
//!
//! # When the clock starts
//!
//! At the first poll that finds the call pending: a timeout around a bulkhead or queue bounds the
//! wait there as well as the call. Nothing is admitted or refused by a timeout, so it calls the
//! operation inside it on the first poll (see [`policy`](crate::policy)).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Error, Timeout};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let timeout = Timeout::new(Duration::from_millis(200))?;
//!
//! let result = timeout
//!     .call(|| async {
//!         tokio::time::sleep(Duration::from_secs(5)).await;
//!         Ok::<_, std::io::Error>(())
//!     })
//!     .await;
//! assert!(matches!(result, Err(Error::Timeout(e)) if e.after() == Duration::from_millis(200)));
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "serde")]
mod config;
mod error;
mod events;
pub(crate) mod future;
#[cfg(feature = "tower")]
mod layer;

use std::{future::Future, time::Duration};

#[cfg(feature = "serde")]
pub use config::TimeoutConfig;
pub(crate) use future::{Timed, TimeoutCall};
#[cfg(feature = "tower")]
pub use layer::{TimeoutLayer, TimeoutService};

pub use error::Elapsed;
pub use events::TimeoutEvent;

use crate::{
    ConfigError, Name, Operation,
    policy::{Apply, CallFuture, OperationFn},
};

/// The longest duration a timeout accepts. Anything longer is almost certainly a unit mistake
/// (milliseconds passed as seconds) and would never fire in practice.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

const DEFAULT_NAME: Name = Name::from_static("timeout");

/// Abandons a call that takes longer than a fixed duration.
///
/// A `Timeout` is a small value (a duration and a name); cloning it is cheap and clones share
/// nothing because there is nothing to share.
///
/// # Panics
///
/// Building a timeout needs no runtime (it may be built in a synchronous `main`, or in a
/// `static`). A call that is still pending after its first poll arms a tokio timer, which panics
/// outside a Tokio runtime or in one built without the time driver (`enable_time` or
/// `enable_all`); a call ready on its first poll reads no clock.
///
/// # Cancel safety
///
/// The call's future is dropped when the timeout elapses, so the operation must itself be safe to
/// drop at any await point. Dropping the [`TimeoutCall`] drops the operation and reports nothing.
///
/// # Examples
///
/// As a combinator and as a tower layer:
///
/// ```
/// use std::time::Duration;
/// use failguard::Timeout;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let timeout = Timeout::builder()
///     .duration(Duration::from_secs(1))
///     .name("inventory")
///     .build()?;
///
/// let n = timeout.call(|| async { Ok::<_, std::io::Error>(3) }).await?;
/// assert_eq!(n, 3);
///
/// let mut svc = ServiceBuilder::new()
///     .layer(timeout.layer())
///     .map_err(failguard::Error::Inner)
///     .service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x * 2) });
/// assert_eq!(svc.ready().await?.call(21).await?, 42);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Timeout {
    duration: Duration,
    name: Name,
    sinks: crate::events::Sinks,
}

impl Timeout {
    /// A timeout of `duration`, named `"timeout"`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `duration` is zero or longer than [`MAX_DURATION`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert!(failguard::Timeout::new(Duration::from_secs(3)).is_ok());
    /// assert!(failguard::Timeout::new(Duration::ZERO).is_err());
    /// ```
    pub fn new(duration: Duration) -> Result<Self, ConfigError> {
        Self::builder().duration(duration).build()
    }

    /// A builder, to set a name as well.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let t = failguard::Timeout::builder().duration(Duration::from_secs(1)).name("db").build()?;
    /// assert_eq!(t.name(), "db");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> TimeoutBuilder {
        TimeoutBuilder::default()
    }

    /// The configured duration.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let t = failguard::Timeout::new(Duration::from_secs(2))?;
    /// assert_eq!(t.duration(), Duration::from_secs(2));
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The policy's name.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(failguard::Timeout::new(Duration::from_secs(2))?.name(), "timeout");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The error this timeout reports when it elapses; handy for tests and mocks.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let t = failguard::Timeout::new(Duration::from_secs(2))?;
    /// assert_eq!(t.elapsed().after(), Duration::from_secs(2));
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn elapsed(&self) -> Elapsed {
        Elapsed::new(self.duration, self.name.clone())
    }

    /// Calls `f` and waits for its future at most the configured duration.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let timeout = failguard::Timeout::new(Duration::from_secs(1))?;
    /// assert_eq!(timeout.call(|| async { Ok::<_, std::io::Error>(1) }).await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F, Fut, T, E>(&self, f: F) -> CallFuture<Timed<OperationFn<F>, &Timeout>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// This timeout as a tower layer.
    ///
    /// The service's error type must implement [`PolicyError`](crate::PolicyError) (or be
    /// `Infallible`); see the
    /// [`TimeoutLayer`] docs.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let layer = failguard::Timeout::new(Duration::from_secs(1))?.layer();
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> TimeoutLayer {
        TimeoutLayer::new(self.clone())
    }

    crate::policy::wrap_method!("failguard::Timeout::new(Duration::from_secs(5))?");
}

#[cfg(feature = "tower")]
impl crate::policy::ToLayer for Timeout {
    type Layer = TimeoutLayer;

    fn layer(&self) -> Self::Layer {
        Timeout::layer(self)
    }
}

crate::policy::typed_policy!([] Timeout => Timed<Op, &'a Timeout>);

impl<'a, Op: Operation> Apply<Op> for &'a Timeout {
    type Output = Timed<Op, &'a Timeout>;

    fn apply(self, op: Op) -> Self::Output {
        Timed { op, timeout: self }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op: Operation> Apply<Op> for Timeout {
    type Output = Timed<Op, Timeout>;

    fn apply(self, op: Op) -> Self::Output {
        Timed { op, timeout: self }
    }
}

/// Builds a [`Timeout`].
///
/// # Examples
///
/// ```
/// # use std::time::Duration;
/// let timeout = failguard::Timeout::builder()
///     .duration(Duration::from_millis(750))
///     .name("search")
///     .build()?;
/// assert_eq!(timeout.duration(), Duration::from_millis(750));
/// # Ok::<(), failguard::ConfigError>(())
/// ```
///
/// The builder is `Clone`, so one configuration can stamp out a timeout per host. A timeout
/// holds no state between calls; the instances differ only in what they were built with.
///
/// ```
/// use std::time::Duration;
///
/// let template = failguard::Timeout::builder().duration(Duration::from_millis(300));
/// let eu = template.clone().name("eu").build()?;
/// let us = template.duration(Duration::from_millis(500)).name("us").build()?;
/// assert_eq!((eu.name().as_str(), eu.duration()), ("eu", Duration::from_millis(300)));
/// assert_eq!((us.name().as_str(), us.duration()), ("us", Duration::from_millis(500)));
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct TimeoutBuilder {
    duration: Option<Duration>,
    name: Option<Name>,
    sinks: crate::events::Sinks,
}

impl TimeoutBuilder {
    /// How long a call may take.
    ///
    /// # Default
    ///
    /// None: it must be set. It must be greater than zero and at most [`MAX_DURATION`].
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// The name shown in events and errors.
    ///
    /// # Default
    ///
    /// `"timeout"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends the timeout's [`TimeoutEvent`]s to `listener`, next to the `tracing` output. See
    /// [`events`](crate::events).
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::{Timeout, events::Event};
    /// let timeout = Timeout::builder()
    ///     .duration(Duration::from_secs(1))
    ///     .listener(|e: &Event<'_>| eprintln!("{}: {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = timeout;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// Checks the configuration and builds the timeout.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `timeout.duration` if it is unset, zero, or longer than
    /// [`MAX_DURATION`].
    pub fn build(self) -> Result<Timeout, ConfigError> {
        let duration = self
            .duration
            .ok_or_else(|| ConfigError::new("timeout.duration", "must be set"))?;
        if duration.is_zero() {
            return Err(ConfigError::new(
                "timeout.duration",
                "must be greater than zero (got 0ns)",
            ));
        }
        if duration > MAX_DURATION {
            return Err(ConfigError::new(
                "timeout.duration",
                format!("must be at most 365 days (got {duration:?})"),
            ));
        }
        Ok(Timeout {
            duration,
            name: self.name.unwrap_or(DEFAULT_NAME),
            sinks: self.sinks,
        })
    }
}
