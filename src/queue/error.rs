//! The queue's rejections.

use std::time::Duration;

use super::Overflow;
use crate::{
    Name,
    error::{about, count, named},
    estimate::Hint,
};

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
    /// A hint, not a promise (an open circuit's [`retry_after`](crate::error::CircuitOpen::retry_after) is
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
