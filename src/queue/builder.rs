use std::{sync::Arc, time::Duration};

use tokio::runtime::Handle;

use super::{
    DEFAULT_NAME, HandleGuard, MAX_CAPACITY, MAX_WAIT, MAX_WORKERS, Overflow, Queue,
    core::{Config, Shared},
    worker,
};
use crate::{ConfigError, Name};

/// Builds a [`Queue`] and spawns its workers.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{Queue, queue::Overflow};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let queue = Queue::builder()
///     .capacity(50)
///     .workers(8)
///     .overflow(Overflow::DropOldest)
///     .max_wait(Duration::from_secs(2))
///     .name("reports")
///     .build()?;
/// assert_eq!(queue.capacity(), 50);
/// # Ok(())
/// # }
/// ```
///
/// The builder is `Clone`, so one configuration can stamp out a queue per host. Each `build()`
/// makes a new queue with its own slots and workers.
///
/// ```
/// use failguard::Queue;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let template = Queue::builder().capacity(16).workers(2);
/// let eu = template.clone().name("eu").build()?;
/// let us = template.name("us").build()?;
///
/// eu.shutdown().await;
/// assert!(eu.is_closed());
/// assert!(!us.is_closed());
/// assert!(us.call(|| async { Ok::<_, std::io::Error>(()) }).await.is_ok());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct QueueBuilder {
    capacity: Option<usize>,
    workers: usize,
    overflow: Overflow,
    max_wait: Option<Duration>,
    name: Option<Name>,
    runtime: Option<Handle>,
    sinks: crate::events::Sinks,
}

/// The workers of a queue built without saying.
pub(crate) const DEFAULT_WORKERS: usize = 1;

impl Default for QueueBuilder {
    fn default() -> Self {
        Self {
            capacity: None,
            workers: DEFAULT_WORKERS,
            overflow: Overflow::RejectNewest,
            max_wait: None,
            name: None,
            runtime: None,
            sinks: crate::events::Sinks::default(),
        }
    }
}

impl QueueBuilder {
    /// How many items may wait for a worker. Items an idle worker takes at once do not count, so
    /// `workers + capacity` items fit at once; 0 makes the queue a hand-off that accepts an item
    /// only when a worker is free.
    ///
    /// # Default
    ///
    /// None: it must be set, at most [`MAX_CAPACITY`].
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// How many items run at once: the number of worker tasks.
    ///
    /// # Default
    ///
    /// 1. It must be at least 1 and at most [`MAX_WORKERS`].
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// What a full queue sheds.
    ///
    /// # Default
    ///
    /// [`Overflow::RejectNewest`].
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// The longest an item may wait for a worker. An item still waiting when `max_wait` has
    /// elapsed since its submission fails with [`QueueTimeout`](crate::error::QueueTimeout) and
    /// never runs. It bounds the wait only; bound the run with a
    /// [`Timeout`](crate::Timeout) inside the queue.
    ///
    /// # Default
    ///
    /// None: items wait as long as it takes. When set, greater than zero and at most
    /// [`MAX_WAIT`].
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// The name shown in events, errors and snapshots.
    ///
    /// # Default
    ///
    /// `"queue"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends the queue's [`QueueEvent`](super::QueueEvent)s (sheds, panics) to `listener`,
    /// next to the `tracing` output. See [`events`](crate::events).
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// use failguard::{Queue, events::Event};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = Queue::builder()
    ///     .capacity(8)
    ///     .listener(|e: &Event<'_>| eprintln!("{}: {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = queue;
    /// # Ok(())
    /// # }
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// The tokio runtime the workers are spawned on.
    ///
    /// # Default
    ///
    /// The runtime `build()` is called in ([`Handle::try_current`]).
    pub fn runtime(mut self, runtime: Handle) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Checks the configuration, then spawns the workers.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field:
    ///
    /// - `queue.capacity`: unset, or above [`MAX_CAPACITY`];
    /// - `queue.workers`: 0, or above [`MAX_WORKERS`];
    /// - `queue.max_wait`: zero, or above [`MAX_WAIT`];
    /// - `queue.runtime`: not set and `build()` was called outside a tokio runtime (the workers
    ///   are tokio tasks).
    ///
    /// ```
    /// let err = failguard::Queue::builder().capacity(4).build().unwrap_err();
    /// assert_eq!(err.field(), "queue.runtime");
    /// ```
    pub fn build(self) -> Result<Queue, ConfigError> {
        let capacity = self
            .capacity
            .ok_or_else(|| ConfigError::new("queue.capacity", "must be set"))?;
        if capacity > MAX_CAPACITY {
            return Err(ConfigError::new(
                "queue.capacity",
                format!("must be at most {MAX_CAPACITY} (got {capacity})"),
            ));
        }
        if self.workers == 0 {
            return Err(ConfigError::new(
                "queue.workers",
                "must be at least 1 (got 0)",
            ));
        }
        if self.workers > MAX_WORKERS {
            return Err(ConfigError::new(
                "queue.workers",
                format!("must be at most {MAX_WORKERS} (got {})", self.workers),
            ));
        }
        if let Some(max_wait) = self.max_wait {
            if max_wait.is_zero() {
                return Err(ConfigError::new(
                    "queue.max_wait",
                    "must be greater than zero (got 0ns)",
                ));
            }
            if max_wait > MAX_WAIT {
                return Err(ConfigError::new(
                    "queue.max_wait",
                    format!("must be at most 365 days (got {max_wait:?})"),
                ));
            }
        }
        let runtime = match self.runtime {
            Some(runtime) => runtime,
            None => Handle::try_current().map_err(|_| {
                ConfigError::new(
                    "queue.runtime",
                    "the workers are tokio tasks: call build() inside a tokio runtime or set \
                     `.runtime(handle)` (no runtime is running)",
                )
            })?,
        };
        let shared = Arc::new(Shared::new(Config {
            name: self.name.unwrap_or(DEFAULT_NAME),
            sinks: self.sinks,
            capacity,
            workers: self.workers,
            overflow: self.overflow,
            max_wait: self.max_wait,
        }));
        worker::spawn(&shared, &runtime);
        Ok(Queue {
            handle: Arc::new(HandleGuard { shared }),
        })
    }
}
