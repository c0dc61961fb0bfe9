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

use crate::{Name, estimate::Hint, queue::Overflow};

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
    /// circuit will let calls through again (a promise), or about how long a full bulkhead or
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
            Rejection::Timeout(_) | Rejection::QueueTimeout(_) | Rejection::QueueClosed(_) => None,
            Rejection::QueueFull(e) => e.retry_after(),
            Rejection::BulkheadFull(e) => e.retry_after(),
            Rejection::CircuitOpen(e) => e.retry_after(),
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
/// assert_eq!(elapsed.to_string(), "timeout elapsed after 250ms");
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timeout{} elapsed after {after:?}", named(.name, "timeout"))]
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

/// A [`Queue`](crate::Queue) was full when an item arrived.
///
/// Which item pays depends on the queue's [`Overflow`] policy: with
/// [`Overflow::RejectNewest`] the newcomer gets this error at once; with
/// [`Overflow::DropOldest`] the oldest waiting item gets it and the newcomer takes its place.
/// [`overflow()`](Self::overflow) says which happened.
///
/// ```
/// use failguard::{Error, Queue, queue::Overflow};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// // No worker is idle and there is no waiting slot: the newcomer is rejected.
/// let queue = Queue::builder().capacity(0).workers(1).name("jobs").build()?;
/// let busy = queue.call(|| async {
///     tokio::time::sleep(std::time::Duration::from_secs(1)).await;
///     Ok::<_, std::io::Error>(())
/// });
/// let err = queue.call(|| async { Ok::<_, std::io::Error>(()) }).await.unwrap_err();
/// let Error::QueueFull(full) = err else { panic!("expected QueueFull") };
/// assert_eq!(full.overflow(), Overflow::RejectNewest);
/// assert_eq!(full.to_string(), "queue `jobs` is full (0 waiting slots): the new item was rejected");
/// # drop(busy);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue{} is full ({}): {}{}", named(.name, "queue"), count(*.capacity, "waiting slot"), .overflow.verdict(), about(.retry_after.get()))]
pub struct QueueFull {
    name: Name,
    capacity: usize,
    overflow: Overflow,
    retry_after: Hint,
}

impl QueueFull {
    pub(crate) fn new(
        name: Name,
        capacity: usize,
        overflow: Overflow,
        retry_after: Option<Duration>,
    ) -> Self {
        Self {
            name,
            capacity,
            overflow,
            retry_after: Hint::of(retry_after),
        }
    }

    /// About how long a new item would wait for a worker now: an estimate from what the queue
    /// has seen, for a server's `Retry-After` or a client's next attempt. `None` until the queue
    /// has timed an item (nothing is known yet).
    ///
    /// A full queue has `capacity` items waiting, so a newcomer's turn comes after
    /// `capacity + 1` items have taken a worker, `workers` at a time:
    /// `(capacity + 1) × service time ÷ workers`, where the service time is a moving average of
    /// how long each item has held its worker (each new item weighs 1/8, as TCP smooths its
    /// round-trip time). It is at most the queue's maximum queueing time, when one is set: no
    /// item waits longer (it is shed), so by then the line this caller saw has gone. Rounded up
    /// to a whole millisecond, so never zero.
    ///
    /// The workers start timing items the first time the queue sheds, and keep timing from
    /// then on: a queue that has never been full has no use for the estimate, and reads no
    /// clock for it. So the first rejections carry no estimate; they come once an item started
    /// after the first shedding has finished.
    ///
    /// A hint, not a promise (an open circuit's [`retry_after`](CircuitOpen::retry_after) is
    /// one): a [`Retry`](crate::Retry) waits at least this long before the next attempt, up to
    /// its backoff's cap, but never gives up because of it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Error, Queue};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// // One worker, no waiting slot; each item takes 100 ms.
    /// let queue = Queue::builder().capacity(0).workers(1).build()?;
    /// let work = || async {
    ///     tokio::time::sleep(Duration::from_millis(100)).await;
    ///     Ok::<_, std::io::Error>(())
    /// };
    ///
    /// // Full for the first time: the queue knows nothing yet, and starts timing its items.
    /// let busy = queue.call(work);
    /// let Err(Error::QueueFull(full)) = queue.call(work).await else { panic!("expected QueueFull") };
    /// assert_eq!(full.retry_after(), None);
    /// busy.await.unwrap();
    /// queue.call(work).await.unwrap(); // timed: 100 ms
    ///
    /// let busy = queue.call(work);
    /// let Err(Error::QueueFull(full)) = queue.call(work).await else { panic!("expected QueueFull") };
    /// assert_eq!(full.retry_after(), Some(Duration::from_millis(100)));
    /// assert_eq!(
    ///     full.to_string(),
    ///     "queue is full (0 waiting slots): the new item was rejected; retry after about 100ms"
    /// );
    /// # busy.await.unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after.get()
    }

    /// Which item was shed: the new one ([`Overflow::RejectNewest`]) or this one, the oldest
    /// waiting item, dropped for a newer one ([`Overflow::DropOldest`]).
    pub fn overflow(&self) -> Overflow {
        self.overflow
    }

    /// The queue's number of waiting slots.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The name of the queue.
    pub fn name(&self) -> &Name {
        &self.name
    }
}

/// An item waited in a [`Queue`](crate::Queue) for the whole maximum queueing time and was
/// failed instead of run: nobody is waiting for that work any more.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, Queue};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let queue = Queue::builder().capacity(8).max_wait(Duration::from_millis(50)).build()?;
/// let busy = queue.call(|| async {
///     tokio::time::sleep(Duration::from_secs(1)).await;
///     Ok::<_, std::io::Error>(())
/// });
/// let err = queue.call(|| async { Ok::<_, std::io::Error>(()) }).await.unwrap_err();
/// let Error::QueueTimeout(timeout) = err else { panic!("expected QueueTimeout") };
/// assert_eq!(timeout.waited(), Duration::from_millis(50));
/// assert_eq!(timeout.to_string(), "queue dropped an item that waited 50ms (max 50ms)");
/// # drop(busy);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue{} dropped an item that waited {waited:?} (max {max_wait:?})", named(.name, "queue"))]
pub struct QueueTimeout {
    name: Name,
    waited: Duration,
    max_wait: Duration,
}

impl QueueTimeout {
    pub(crate) fn new(name: Name, waited: Duration, max_wait: Duration) -> Self {
        Self {
            name,
            waited,
            max_wait,
        }
    }

    /// How long the item waited in the queue (at least the maximum queueing time).
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The queue's maximum queueing time.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The name of the queue.
    pub fn name(&self) -> &Name {
        &self.name
    }
}

/// A [`Queue`](crate::Queue) could not run an item; [`reason()`](Self::reason) says why.
///
/// ```
/// use failguard::{Error, Queue, error::QueueClosedReason};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let queue = Queue::builder().capacity(8).build()?;
/// queue.shutdown().await;
/// let err = queue.call(|| async { Ok::<_, std::io::Error>(()) }).await.unwrap_err();
/// let Error::QueueClosed(closed) = err else { panic!("expected QueueClosed") };
/// assert_eq!(closed.reason(), QueueClosedReason::ShutDown);
/// assert_eq!(closed.to_string(), "queue is shut down");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue{} {}", named(.name, "queue"), .reason.verdict())]
pub struct QueueClosed {
    name: Name,
    reason: QueueClosedReason,
}

impl QueueClosed {
    pub(crate) fn new(name: Name, reason: QueueClosedReason) -> Self {
        Self { name, reason }
    }

    /// Why the item could not run.
    pub fn reason(&self) -> QueueClosedReason {
        self.reason
    }

    /// The name of the queue.
    pub fn name(&self) -> &Name {
        &self.name
    }
}

/// Why a [`Queue`](crate::Queue) could not run an item; see [`QueueClosed`].
///
/// ```
/// use failguard::error::QueueClosedReason;
/// assert_ne!(QueueClosedReason::ShutDown, QueueClosedReason::Panicked);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueueClosedReason {
    /// The queue was shut down: it no longer accepts items, or it failed the queued ones
    /// ([`Queue::close_now`](crate::Queue::close_now)).
    ShutDown,
    /// The queue's workers stopped (their tokio runtime shut down) before the item finished.
    WorkerStopped,
    /// The item's work panicked on a worker. The queue caught the panic and keeps serving.
    Panicked,
}

impl QueueClosedReason {
    fn verdict(self) -> &'static str {
        match self {
            QueueClosedReason::ShutDown => "is shut down",
            QueueClosedReason::WorkerStopped => "lost the item: its workers stopped",
            QueueClosedReason::Panicked => "lost the item: its work panicked",
        }
    }
}

/// A [`Bulkhead`](crate::Bulkhead) had no free permit for the call.
///
/// Downcast a tower `BoxError` to this type to recognise it. [`reason`](Self::reason) says
/// whether there was no room (or no time) to wait, or the wait ran out.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Bulkhead, Error, error::BulkheadFullReason};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let bulkhead = Bulkhead::builder().max_concurrent(1).name("db").build()?;
/// let busy = tokio::spawn({
///     let bulkhead = bulkhead.clone();
///     async move {
///         let slow = || async { tokio::time::sleep(Duration::from_secs(1)).await; Ok::<_, std::io::Error>(()) };
///         bulkhead.call(slow).await
///     }
/// });
/// tokio::task::yield_now().await; // let the busy call take the only permit
///
/// let Err(Error::BulkheadFull(full)) = bulkhead.call(|| async { Ok::<_, std::io::Error>(()) }).await else {
///     panic!("expected a full bulkhead")
/// };
/// assert_eq!(full.reason(), BulkheadFullReason::Full);
/// assert_eq!(full.to_string(), "bulkhead `db` is full (1 call in flight, no room to wait)");
/// assert!(busy.await.unwrap().is_ok());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bulkhead{} is full ({} in flight, {}){}", named(.name, "bulkhead"), count(*.max_concurrent, "call"), .reason.describe(), about(.retry_after.get()))]
pub struct BulkheadFull {
    name: Name,
    max_concurrent: usize,
    reason: BulkheadFullReason,
    retry_after: Hint,
}

impl BulkheadFull {
    pub(crate) fn new(
        name: Name,
        max_concurrent: usize,
        reason: BulkheadFullReason,
        retry_after: Hint,
    ) -> Self {
        Self {
            name,
            max_concurrent,
            reason,
            retry_after,
        }
    }

    /// About how long a call arriving now would wait for a permit: an estimate from what the
    /// bulkhead has seen, for a server's `Retry-After` or a client's next attempt. `None` until
    /// a permit has come free while every permit was taken (nothing is known yet).
    ///
    /// The bulkhead times how often a permit comes free while it is saturated, and only then:
    /// the uncontended path reads no clock and touches nothing new. Once a call has been
    /// rejected or has queued, every permit returned until the bulkhead has room again takes
    /// the slow path, and the time since the previous one (or since the rejection) is a sample
    /// of a moving average (each new sample weighs 1/8, as TCP smooths its round-trip time).
    /// A caller at the back of the line gets a permit after `waiting + 1` permits come free:
    /// the estimate is `(waiting + 1) × max(average, time since a permit last came free)`, the
    /// second term so that a bulkhead whose calls have all hung reports the stall it is in, not
    /// the pace it used to have. It is at most `max_wait`, when waiting is allowed: no caller
    /// waits longer, so by then the line this caller saw has gone. Rounded up to a whole
    /// millisecond, so never zero.
    ///
    /// A hint, not a promise (an open circuit's [`retry_after`](CircuitOpen::retry_after) is
    /// one): a [`Retry`](crate::Retry) waits at least this long before the next attempt, up to
    /// its backoff's cap, but never gives up because of it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Bulkhead, Error};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let bulkhead = Bulkhead::new(1)?;
    /// let query = || async {
    ///     tokio::time::sleep(Duration::from_millis(100)).await;
    ///     Ok::<_, std::io::Error>(())
    /// };
    /// let busy = tokio::spawn({
    ///     let bulkhead = bulkhead.clone();
    ///     async move { bulkhead.call(query).await }
    /// });
    /// tokio::task::yield_now().await; // the busy call takes the only permit
    ///
    /// // The first rejection: no permit has come free yet under load, so no estimate.
    /// let Err(Error::BulkheadFull(full)) = bulkhead.call(query).await else { panic!() };
    /// assert_eq!(full.retry_after(), None);
    ///
    /// // The permit came free 100 ms after that rejection: the next one says so.
    /// busy.await.unwrap().unwrap();
    /// let busy = tokio::spawn({
    ///     let bulkhead = bulkhead.clone();
    ///     async move { bulkhead.call(query).await }
    /// });
    /// tokio::task::yield_now().await;
    /// let Err(Error::BulkheadFull(full)) = bulkhead.call(query).await else { panic!() };
    /// assert_eq!(full.retry_after(), Some(Duration::from_millis(100)));
    /// assert_eq!(
    ///     full.to_string(),
    ///     "bulkhead is full (1 call in flight, no room to wait); retry after about 100ms"
    /// );
    /// # busy.await.unwrap().unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after.get()
    }

    /// Why the call got no permit.
    pub fn reason(&self) -> BulkheadFullReason {
        self.reason
    }

    /// The bulkhead's limit of calls in flight.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// The name of the bulkhead.
    pub fn name(&self) -> &Name {
        &self.name
    }
}

/// Why a [`Bulkhead`](crate::Bulkhead) rejected a call.
///
/// ```
/// use failguard::error::BulkheadFullReason;
/// assert_ne!(BulkheadFullReason::Full, BulkheadFullReason::WaitTimedOut);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BulkheadFullReason {
    /// Every permit was taken and there was no room to wait (every waiting place taken, or a
    /// maximum wait of zero).
    Full,
    /// The call waited its whole maximum wait without getting a permit.
    WaitTimedOut,
}

impl BulkheadFullReason {
    fn describe(self) -> &'static str {
        match self {
            BulkheadFullReason::Full => "no room to wait",
            BulkheadFullReason::WaitTimedOut => "the wait ran out",
        }
    }

    /// The reason as it appears in `tracing` events: `"full"` or `"wait_timed_out"`.
    ///
    /// ```
    /// assert_eq!(failguard::error::BulkheadFullReason::Full.as_str(), "full");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            BulkheadFullReason::Full => "full",
            BulkheadFullReason::WaitTimedOut => "wait_timed_out",
        }
    }
}

/// A [`CircuitBreaker`](crate::CircuitBreaker) was open, so the call was not made.
///
/// Downcast a tower `BoxError` to this type to recognise it.
///
/// ```
/// use std::time::Duration;
/// use failguard::{CircuitBreaker, Error};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let breaker = CircuitBreaker::builder()
///     .name("payments")
///     .open_duration(Duration::from_secs(30))
///     .build()?;
/// breaker.force_open();
/// let Err(Error::CircuitOpen(open)) = breaker.call(|| async { Ok::<_, std::io::Error>(()) }).await else {
///     panic!("expected an open circuit")
/// };
/// assert_eq!(open.name(), "payments");
/// assert_eq!(open.retry_after(), None); // forced open: no known end
/// assert_eq!(open.to_string(), "circuit breaker `payments` is open");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker{} is open{}", named(.name, "circuit-breaker"), .retry_after.map(|d| format!("; retry after {d:?}")).unwrap_or_default())]
pub struct CircuitOpen {
    name: Name,
    retry_after: Option<Duration>,
}

impl CircuitOpen {
    pub(crate) fn new(name: Name, retry_after: Option<Duration>) -> Self {
        Self { name, retry_after }
    }

    /// How long until the breaker may let this call through: while open, the time left of the
    /// open duration; while half-open with every probe taken, the time left of
    /// `max_half_open_wait` (or, without one, the latest open duration). `None` when it is forced
    /// open.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The name of the breaker.
    pub fn name(&self) -> &Name {
        &self.name
    }
}

/// A policy's name as its rejection shows it: `` `name`` after the policy's kind, or nothing when
/// it is the policy's default name, which would only repeat the kind ("timeout `timeout`").
/// The defaults are the `DEFAULT_NAME`s of the policy modules; `tests/error_display.rs` pins them.
fn named<'a>(name: &'a Name, default: &'static str) -> impl fmt::Display + 'a {
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
fn about(retry_after: Option<Duration>) -> impl fmt::Display {
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
fn count(n: usize, noun: &'static str) -> impl fmt::Display {
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
