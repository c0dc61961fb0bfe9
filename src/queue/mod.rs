//! Bounded queue: a worker-backed queue between callers and the work that sheds load instead of
//! piling it up.
//!
//! A [`Queue`] owns `workers` tokio tasks that run submitted items, at most `workers` at once,
//! and `capacity` waiting slots in front of them. When the slots are full it sheds by its
//! [`Overflow`] policy; an item that waited its whole maximum queueing time is failed instead of
//! run (nobody is waiting for that work any more); an item whose caller went away is never run.
//! Unlike tower's `Buffer`, which only applies backpressure, a full queue answers at once, a
//! deadline bounds every wait, and a worker that dies fails its callers instead of hanging them.
//!
//! # Semantics
//!
//! | situation | result |
//! |---|---|
//! | a worker is idle | the item runs at once (it takes no waiting slot) |
//! | all workers busy, fewer than `capacity` items waiting | the item waits, first in first out |
//! | all workers busy, `capacity` items waiting, [`Overflow::RejectNewest`] | the new item fails at once with [`Error::QueueFull`] |
//! | the same, [`Overflow::DropOldest`] | the oldest waiting item fails with `QueueFull`; the new item takes a slot |
//! | an item has waited `max_wait` (exactly, or longer) | it fails with [`Error::QueueTimeout`] and never runs |
//! | the caller drops its future while the item waits | the item leaves the queue at once and never runs |
//! | the caller drops its future while the item runs | the work is dropped at its next await point |
//! | the work panics | the caller gets [`Error::QueueClosed`] (`Panicked`); the worker keeps serving |
//! | the queue is closed | new items fail with `QueueClosed` (`ShutDown`) |
//! | the workers' runtime shuts down | every waiting and running item fails with `QueueClosed` (`WorkerStopped`) |
//!
//! So `workers + capacity` items fit at once; capacity 0 is a hand-off: an item is accepted only
//! if a worker is free to take it. The maximum queueing time is measured with tokio's clock from
//! submission; the caller's future fails at exactly `enqueued + max_wait` (its own timer removes
//! the item), and a worker that reaches an item at or after that instant fails it the same way,
//! so an item nobody polls is never run late either.
//!
//! A [`QueueFull`] carries an estimate of how long a newcomer would
//! wait for a worker, from the average time items have held their workers
//! ([`retry_after`](crate::error::QueueFull::retry_after); the workers time items from the
//! first time the queue sheds, so it is `None` until one of those has finished): a server can
//! send it as `Retry-After`, and a [`Retry`](crate::Retry) waits at least that long (up to its
//! cap).
//!
//! # When the work is admitted
//!
//! The policies inside a queue decide when a worker starts the work, not when it was queued (see
//! [`policy`](crate::policy)): a backlog queued while a breaker inside was closed meets the
//! breaker as it is when each item runs. The queue owns what it runs, cloning the policy handles
//! inside it into each item.
//!
//! # Shutdown
//!
//! [`close`](Queue::close) stops accepting and lets the workers finish everything already queued;
//! [`close_now`](Queue::close_now) also fails every waiting item with `QueueClosed` at once.
//! Either way running items finish, and [`closed`](Queue::closed) resolves when the last worker
//! has exited. [`shutdown`](Queue::shutdown) is `close` then `closed`. Dropping every handle (and
//! every layer and service made from it) closes the queue the graceful way.
//!
//! # Two front doors
//!
//! As a combinator, [`Queue::call`] submits the future your closure makes; [`Queue::submit`]
//! takes a future you already have. Either submits at once, when called; the returned
//! [`QueueFuture`] only waits for the outcome (dropping it cancels). The work runs on the queue's workers, so it must be
//! `Send + 'static` (own its data). The queue also composes with other policies
//! ([`wrap`](Queue::wrap)) whenever the operation inside it makes `Send + 'static`
//! futures, which failguard's own futures do when yours do (a [`Timeout`](crate::Timeout)
//! inside a queue bounds the run, not the wait). A future that borrows local data cannot go
//! through a queue: use a bulkhead for that. For the same reason a stack with a queue in it is
//! not a [`Policy<T, E>`](crate::Policy) (which takes borrowing closures): hold it by its type. Work that waits for another item of the same queue
//! can wait forever when every worker is busy with such work: give it more workers than nesting
//! depth, or a `max_wait`.
//!
//! As a tower layer, [`QueueLayer`] moves the service behind the queue: the workers call it (one
//! `poll_ready` + `call` at a time) and run the response futures. The resulting service is
//! `Clone`, its `poll_ready` is always ready (a merely ready clone holds no slot), and its `call`
//! sheds as above.
//!
//! # Costs
//!
//! A queue is a hand-off between tasks, not a free wrapper: each call boxes the work (one
//! allocation) and makes one `oneshot` channel (one more), takes one short lock to enqueue and one
//! to dequeue, and clones the queue's `Arc`. For `QueueFull`'s estimate, a worker loads one
//! relaxed flag per item; once the queue has shed, it also reads the clock when it takes an item
//! and when the item ends, and folds the difference into one relaxed atomic. The caller's side
//! touches neither until the queue sheds. Benchmarks compare it with tower's `Buffer` and with a
//! raw tokio `mpsc` + `oneshot` round trip.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Error, Queue, queue::Overflow};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let queue = Queue::builder()
//!     .capacity(100)
//!     .workers(4)
//!     .overflow(Overflow::DropOldest)
//!     .max_wait(Duration::from_millis(500))
//!     .name("thumbnails")
//!     .build()?;
//!
//! let size = queue.call(|| async { Ok::<_, std::io::Error>(64) }).await;
//! assert_eq!(size.unwrap(), 64);
//! match queue.call(|| async { Ok::<_, std::io::Error>(()) }).await {
//!     Ok(()) => {}
//!     Err(Error::QueueFull(_) | Error::QueueTimeout(_)) => println!("overloaded: try later"),
//!     Err(e) => println!("failed: {e}"),
//! }
//! queue.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub(crate) mod apply;
mod builder;
#[cfg(feature = "serde")]
mod config;
mod core;
mod error;
mod events;
mod future;
#[cfg(feature = "tower")]
mod layer;
mod snapshot;
mod worker;

use std::{fmt, future::Future, sync::Arc, time::Duration};

pub use builder::QueueBuilder;
#[cfg(feature = "serde")]
pub use config::QueueConfig;
pub use core::Overflow;
pub use error::{QueueClosed, QueueClosedReason, QueueFull, QueueTimeout};
pub use events::QueueEvent;
pub use future::QueueFuture;
#[cfg(feature = "tower")]
pub use layer::{QueueLayer, QueueService};
pub use snapshot::QueueSnapshot;

use self::core::Shared;
use crate::{ConfigError, Error, Name, PolicyError, policy::Lifted};

/// The most waiting slots a queue accepts.
pub const MAX_CAPACITY: usize = 1 << 20;
/// The most workers a queue accepts.
pub const MAX_WORKERS: usize = 4096;
/// The longest maximum queueing time a queue accepts.
pub const MAX_WAIT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

const DEFAULT_NAME: Name = Name::from_static("queue");

/// A bounded, worker-backed queue that sheds load; see the [module docs](self) for the rules.
///
/// A cheap `Clone` handle: every clone, every [`QueueLayer`] and every service made from it share
/// the same workers, slots and counters. When the last of them is dropped the queue closes
/// gracefully (queued items still run).
///
/// # Cancel safety
///
/// Dropping a [`QueueFuture`] cancels its item and frees its slot at once; see there.
///
/// # Examples
///
/// ```
/// use failguard::Queue;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let queue = Queue::builder().capacity(16).workers(2).build()?;
///
/// // A future you already have, run on the queue's workers.
/// let job = async { Ok::<_, std::io::Error>("encoded") };
/// assert_eq!(queue.submit(job).await?, "encoded");
///
/// // Fan out; at most two run at once, at most 16 wait.
/// let results: Vec<_> = (0..4u32)
///     .map(|i| queue.call(move || async move { Ok::<_, std::io::Error>(i * i) }))
///     .collect();
/// let mut squares = Vec::new();
/// for r in results {
///     squares.push(r.await?);
/// }
/// assert_eq!(squares, [0, 1, 4, 9]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Queue {
    handle: Arc<HandleGuard>,
}

/// Closes the queue when the last handle goes.
struct HandleGuard {
    shared: Arc<Shared>,
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        self.shared.close(false);
    }
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.shared().config;
        f.debug_struct("Queue")
            .field("name", &config.name)
            .field("capacity", &config.capacity)
            .field("workers", &config.workers)
            .field("overflow", &config.overflow)
            .field("max_wait", &config.max_wait)
            .finish()
    }
}

impl Queue {
    /// A queue with `capacity` waiting slots and one worker, spawned on the current tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `capacity` is above [`MAX_CAPACITY`] or no tokio runtime is running.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::new(32)?;
    /// assert_eq!(queue.capacity(), 32);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(capacity: usize) -> Result<Self, ConfigError> {
        Self::builder().capacity(capacity).build()
    }

    /// A builder for every knob.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::builder().capacity(8).workers(3).name("mail").build()?;
    /// assert_eq!(queue.workers(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> QueueBuilder {
        QueueBuilder::default()
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// Submits the future `f` makes and waits for its result. The closure runs now, on the
    /// caller's task, and the item takes its place in the queue at once (this is the queue's own
    /// submission, like [`submit`](Self::submit)); the future runs on a worker. Composed with
    /// other policies, the queue submits when the composed call is first polled instead; see
    /// [`policy`](crate::policy).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let queue = failguard::Queue::new(8)?;
    /// let id = 7;
    /// assert_eq!(queue.call(move || async move { Ok::<_, std::io::Error>(id) }).await?, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F, Fut, T, E>(&self, f: F) -> QueueFuture<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.submit(f())
    }

    /// Submits `future` and waits for its result; the same as [`call`](Self::call) for a future
    /// you already have.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let queue = failguard::Queue::new(8)?;
    /// let n = queue.submit(async { Ok::<_, std::io::Error>(1) }).await?;
    /// assert_eq!(n, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn submit<Fut, T, E>(&self, future: Fut) -> QueueFuture<T, Error<E>>
    where
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        QueueFuture::submit(self.shared(), Lifted::new(future))
    }

    /// Submits a future whose error type already carries rejections (a service's, or a
    /// composed operation's), without lifting it.
    pub(crate) fn submit_raw<Fut, T, Er>(&self, future: Fut) -> QueueFuture<T, Er>
    where
        Fut: Future<Output = Result<T, Er>> + Send + 'static,
        T: Send + 'static,
        Er: PolicyError + Send + 'static,
    {
        QueueFuture::submit(self.shared(), future)
    }

    /// This queue as a tower layer: the service moves behind the queue. See [`QueueLayer`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let layer = failguard::Queue::new(8)?.layer();
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> QueueLayer {
        QueueLayer::new(self.clone())
    }

    crate::policy::wrap_method!("failguard::Queue::builder().capacity(8).build()?");

    /// Stops accepting items; the workers still run every item already queued, then exit.
    /// Await [`closed`](Self::closed) to know when they are done. Idempotent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::new(8)?;
    /// let queued = queue.call(|| async { Ok::<_, std::io::Error>("still runs") });
    /// queue.close();
    /// assert!(queue.is_closed());
    /// assert_eq!(queued.await.unwrap(), "still runs");
    /// assert!(queue.call(|| async { Ok::<_, std::io::Error>(()) }).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        self.shared().close(false);
    }

    /// Stops accepting items and fails every waiting item with
    /// [`QueueClosed`] (`ShutDown`) now; running items finish.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::new(8)?;
    /// let queued = queue.call(|| async { Ok::<_, std::io::Error>(()) });
    /// queue.close_now();
    /// assert!(matches!(queued.await, Err(failguard::Error::QueueClosed(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn close_now(&self) {
        self.shared().close(true);
    }

    /// Resolves once the queue is closed and every worker has exited: all accepted work has
    /// finished or failed. Pending until someone closes the queue (or its runtime stops).
    ///
    /// # Cancel safety
    ///
    /// Dropping it changes nothing; await it again later.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::new(8)?;
    /// queue.close();
    /// queue.closed().await;
    /// assert_eq!(queue.snapshot().running, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn closed(&self) {
        self.shared().all_workers_exited().await;
    }

    /// Graceful shutdown: [`close`](Self::close), then wait for [`closed`](Self::closed).
    ///
    /// # Cancel safety
    ///
    /// The queue is closed when this is first polled; dropping the future afterwards only stops
    /// the waiting.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::new(8)?;
    /// let queued = queue.call(|| async { Ok::<_, std::io::Error>(5) });
    /// queue.shutdown().await;
    /// assert_eq!(queued.await.unwrap(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(&self) {
        self.close();
        self.closed().await;
    }

    /// Whether the queue no longer accepts items.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::new(8)?;
    /// assert!(!queue.is_closed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared().is_closed()
    }

    /// What the queue is doing now and what it has shed so far; lock-free.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::new(8)?;
    /// queue.call(|| async { Ok::<_, std::io::Error>(()) }).await.unwrap();
    /// let snap = queue.snapshot();
    /// assert_eq!((snap.queued, snap.running, snap.completed), (0, 0, 1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn snapshot(&self) -> QueueSnapshot {
        QueueSnapshot::of(self.shared())
    }

    /// Reads snapshots without keeping the queue open (the workers' state, not a handle).
    #[cfg(feature = "metrics")]
    pub(crate) fn snapshots(&self) -> impl Fn() -> QueueSnapshot + Send + Sync + 'static {
        let shared = self.shared().clone();
        move || QueueSnapshot::of(&shared)
    }

    /// The number of waiting slots.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// assert_eq!(failguard::Queue::new(4)?.capacity(), 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared().config.capacity
    }

    /// The number of workers (concurrent executions).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// assert_eq!(failguard::Queue::new(4)?.workers(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn workers(&self) -> usize {
        self.shared().config.workers
    }

    /// The queue's name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// assert_eq!(failguard::Queue::new(4)?.name(), "queue");
    /// # Ok(())
    /// # }
    /// ```
    pub fn name(&self) -> &Name {
        &self.shared().config.name
    }
}
