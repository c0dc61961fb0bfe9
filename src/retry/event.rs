//! What a retry tells its `on_retry` callbacks before each retry's wait, and how the builder
//! keeps them.

use std::{fmt, sync::Arc, time::Duration};

use super::RetryReason;
use crate::Name;

/// What an `on_retry` callback is told before each retry's wait: the outcome that caused the
/// retry, the attempt about to be made, the delay and the reason.
///
/// `T` and `E` are the outcome's types as the retry sees them: with [`Retry::call`](crate::Retry::call)
/// `E` is [`failguard::Error<E>`](crate::Error), so the callback sees failguard's rejections too.
/// A closure needs no annotations when the retry is then used with an operation in the same
/// function; to store or return the retry, name them (`|e: &RetryAttempt<'_, u16, Error<MyError>>|`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let retry = failguard::Retry::builder()
///     .on_retry(|e| println!("{}: attempt {} in {:?} after {:?}", e.name, e.attempt, e.delay, e.outcome()))
///     .build()?;
/// let _ = retry.call(|| async { Err::<(), _>("connection refused") }).await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryAttempt<'a, T, E> {
    /// The retry policy's name.
    pub name: &'a Name,
    /// The number of the attempt about to be made (2 for the first retry).
    pub attempt: u32,
    /// How long the retry waits before making it.
    pub delay: Duration,
    /// Why the previous attempt is retried.
    pub reason: RetryReason,
    /// The previous attempt's outcome: the error, or the result the result predicate retried.
    pub outcome: &'a Result<T, E>,
}

// By hand: the event only borrows, so it is `Copy` whatever `T` and `E` are.
impl<T, E> Clone for RetryAttempt<'_, T, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, E> Copy for RetryAttempt<'_, T, E> {}

impl<'a, T, E> RetryAttempt<'a, T, E> {
    /// The previous attempt's outcome.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = failguard::Retry::builder()
    ///     .on_retry(|e| assert!(e.outcome().is_err()))
    ///     .build()?;
    /// let _ = retry.call(|| async { Err::<(), _>("flaky") }).await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn outcome(&self) -> &'a Result<T, E> {
        self.outcome
    }

    /// The previous attempt's error, or `None` when a successful result was retried.
    ///
    /// ```
    /// use failguard::Error;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = failguard::Retry::builder()
    ///     .on_retry(|e| assert!(matches!(e.error(), Some(Error::Inner("flaky")))))
    ///     .build()?;
    /// let _ = retry.call(|| async { Err::<(), _>("flaky") }).await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn error(&self) -> Option<&'a E> {
        self.outcome.as_ref().err()
    }

    /// The previous attempt's successful result, when the result predicate retried it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = failguard::Retry::builder()
    ///     .retry_on_result(|status: &u16| *status == 503)
    ///     .on_retry(|e| assert_eq!(e.value(), Some(&503)))
    ///     .build()?;
    /// let mut statuses = [503, 200].into_iter();
    /// let status = retry
    ///     .call(|| {
    ///         let status = statuses.next().unwrap();
    ///         async move { Ok::<_, std::io::Error>(status) }
    ///     })
    ///     .await;
    /// assert_eq!(status.unwrap(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn value(&self) -> Option<&'a T> {
        self.outcome.as_ref().ok()
    }
}

/// What a retry does before each retry's wait, besides its `tracing` event: implemented by
/// [`Silent`] (no `on_retry` callback, the default) and [`OnRetry`] (the callbacks the builder
/// was given). You never implement it.
///
/// ```
/// use failguard::{parts::Notify, retry::{OnRetry, Silent}};
/// // The type a retry's callbacks have: `Silent`, or `OnRetry` of its outcome's types.
/// fn takes_unit_outcomes<N: Notify<(), &'static str>>(_: &N) {}
/// takes_unit_outcomes(&Silent);
/// ```
pub trait Notify<T, E> {
    /// Tells the callbacks about the retry.
    fn notify(&self, event: &RetryAttempt<'_, T, E>);
}

/// The default [`Notify`]: no callback, so the retry can be used with any operation.
///
/// ```
/// let retry: failguard::Retry = failguard::Retry::builder().build()?;
/// # let _ = retry;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Silent;

impl<T, E> Notify<T, E> for Silent {
    #[inline]
    fn notify(&self, _: &RetryAttempt<'_, T, E>) {}
}

/// The `on_retry` callbacks of a retry whose outcomes are `Result<T, E>`, called in the order
/// they were added. Shared (an `Arc` each), so cloning a builder or a retry clones no closure.
///
/// ```
/// use failguard::{Error, Retry, retry::{NoHint, OnRetry, RetryAttempt, Rules}};
///
/// // Named, to keep the retry in a struct: the callback's types say which outcomes it takes.
/// let retry: Retry<Rules, NoHint, OnRetry<u16, Error<std::io::Error>>> =
///     Retry::builder()
///         .on_retry(|e: &RetryAttempt<'_, u16, Error<std::io::Error>>| println!("{:?}", e.error()))
///         .build()?;
/// # let _ = retry;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
pub struct OnRetry<T, E> {
    callbacks: Vec<Callback<T, E>>,
}

// std's `Arc` even under loom: the callbacks are configuration, not shared state to model.
type Callback<T, E> = Arc<dyn Fn(&RetryAttempt<'_, T, E>) + Send + Sync>;

impl<T, E> OnRetry<T, E> {
    pub(crate) fn push(mut self, callback: Callback<T, E>) -> Self {
        self.callbacks.push(callback);
        self
    }
}

// By hand: the callbacks are shared, so cloning needs nothing of `T` or `E`.
impl<T, E> Clone for OnRetry<T, E> {
    fn clone(&self) -> Self {
        Self {
            callbacks: self.callbacks.clone(),
        }
    }
}

impl<T, E> fmt::Debug for OnRetry<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnRetry")
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl<T, E> Notify<T, E> for OnRetry<T, E> {
    fn notify(&self, event: &RetryAttempt<'_, T, E>) {
        for callback in &self.callbacks {
            callback(event);
        }
    }
}

/// What the builder's callbacks become when one more is added: [`Silent`] starts a list for
/// any outcome types, [`OnRetry`] extends its own (so every callback takes the same outcome).
/// You never implement it.
///
/// ```
/// // A second callback takes the same outcome types as the first.
/// let retry = failguard::Retry::builder()
///     .on_retry(|e: &failguard::retry::RetryAttempt<'_, u16, failguard::Error<()>>| println!("{}", e.attempt))
///     .on_retry(|e| println!("{:?}", e.value()))
///     .build()?;
/// # let _ = retry;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
pub trait AddCallback<T, E> {
    /// This and `callback`, in that order.
    #[doc(hidden)]
    fn add(self, callback: Callback<T, E>) -> OnRetry<T, E>;
}

impl<T, E> AddCallback<T, E> for Silent {
    fn add(self, callback: Callback<T, E>) -> OnRetry<T, E> {
        OnRetry {
            callbacks: Vec::new(),
        }
        .push(callback)
    }
}

impl<T, E> AddCallback<T, E> for OnRetry<T, E> {
    fn add(self, callback: Callback<T, E>) -> OnRetry<T, E> {
        self.push(callback)
    }
}
