//! A queue's settings as data (the `serde` feature).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Overflow, Queue, QueueBuilder, builder::DEFAULT_WORKERS};
use crate::{ConfigError, Name};

/// A [`Queue`]'s settings as data, read from a file (see [`config`](crate::config)).
///
/// Every field but `capacity` (which the builder requires too) has the builder's default;
/// unknown fields are refused. The runtime the workers run on is code:
/// [`builder`](Self::builder) then [`runtime`](QueueBuilder::runtime), or build inside a tokio
/// runtime. A queue runs only `'static` work, so it is not part of a
/// [`StackConfig`](crate::config::StackConfig): keep its config beside one.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::queue::{Overflow, QueueConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config: QueueConfig = toml::from_str(r#"
///     name = "thumbnails"
///     capacity = 100
///     workers = 4
///     overflow = "drop_oldest"
///     max_wait = "500ms"
/// "#)?;
/// assert_eq!(config.overflow, Overflow::DropOldest);
/// let queue = config.build()?;
/// assert_eq!(queue.capacity(), 100);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct QueueConfig {
    /// The name shown in events, errors and snapshots; `"queue"` when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// See [`capacity`](QueueBuilder::capacity); it must be set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<usize>,
    /// See [`workers`](QueueBuilder::workers).
    pub workers: usize,
    /// What a full queue sheds: `"reject_newest"` or `"drop_oldest"`.
    pub overflow: Overflow,
    /// See [`max_wait`](QueueBuilder::max_wait); items wait as long as it takes when left out.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::config::duration::option"
    )]
    pub max_wait: Option<Duration>,
}

/// The builder's defaults.
///
/// ```
/// let config = failguard::queue::QueueConfig::default();
/// assert_eq!((config.capacity, config.workers), (None, 1));
/// ```
impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            name: None,
            capacity: None,
            workers: DEFAULT_WORKERS,
            overflow: Overflow::RejectNewest,
            max_wait: None,
        }
    }
}

impl QueueConfig {
    /// The builder these settings describe; `build()` checks every value.
    ///
    /// # Errors
    ///
    /// None today: every queue setting a file can hold, a builder can. (A `Result`, as every
    /// config's `builder()`, so that one that cannot may come without a breaking change.)
    ///
    /// ```
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// let config: failguard::queue::QueueConfig = toml::from_str("capacity = 8")?;
    /// let queue = config.builder()?.runtime(runtime.handle().clone()).build()?;
    /// assert_eq!(queue.capacity(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(&self) -> Result<QueueBuilder, ConfigError> {
        let mut b = Queue::builder()
            .workers(self.workers)
            .overflow(self.overflow);
        if let Some(capacity) = self.capacity {
            b = b.capacity(capacity);
        }
        if let Some(max_wait) = self.max_wait {
            b = b.max_wait(max_wait);
        }
        if let Some(name) = &self.name {
            b = b.name(name.clone());
        }
        Ok(b)
    }

    /// Builds the queue and spawns its workers on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// As [`QueueBuilder::build`]: `queue.capacity`, `queue.workers`, `queue.max_wait`, and
    /// `queue.runtime` outside a tokio runtime.
    ///
    /// ```
    /// let config: failguard::queue::QueueConfig = toml::from_str("capacity = 8\nworkers = 0")?;
    /// assert_eq!(config.build().unwrap_err().field(), "queue.workers");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self) -> Result<Queue, ConfigError> {
        self.builder()?.build()
    }
}
