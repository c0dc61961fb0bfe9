use std::sync::atomic::Ordering;

use super::core::Shared;
use crate::Name;

/// What a [`Queue`](super::Queue) is doing now and what it has shed so far, from
/// [`Queue::snapshot`](super::Queue::snapshot).
///
/// Read from atomics without locking; the figures are each exact but not taken at one instant
/// together. Counters count from the queue's creation.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let queue = failguard::Queue::builder().capacity(0).build()?;
/// let first = queue.call(|| async { Ok::<_, std::io::Error>(()) });
/// let second = queue.call(|| async { Ok::<_, std::io::Error>(()) });
/// assert!(second.await.is_err());
/// first.await.unwrap();
/// let snap = queue.snapshot();
/// assert_eq!((snap.completed, snap.rejected_newest), (1, 1));
/// # Ok(())
/// # }
/// ```
///
/// With the `serde` feature it is `Serialize` and `Deserialize`, field for field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct QueueSnapshot {
    /// The queue's name.
    pub name: Name,
    /// Items waiting now.
    pub queued: usize,
    /// Items running now (taken by a worker and not yet done).
    pub running: usize,
    /// Items that ran to the end (their caller got the work's own result).
    pub completed: u64,
    /// New items rejected because the queue was full ([`Overflow::RejectNewest`](super::Overflow)).
    pub rejected_newest: u64,
    /// Waiting items dropped for newer ones ([`Overflow::DropOldest`](super::Overflow)).
    pub dropped_oldest: u64,
    /// Items failed after waiting the whole maximum queueing time.
    pub timed_out: u64,
    /// Items whose caller went away: skipped before running, or abandoned while running.
    pub cancelled: u64,
    /// Items failed because the queue was closed or its workers stopped.
    pub closed: u64,
    /// Items whose work panicked.
    pub panicked: u64,
    /// Whether the queue no longer accepts items.
    pub is_closed: bool,
}

impl QueueSnapshot {
    pub(crate) fn of(shared: &Shared) -> Self {
        let c = &shared.counters;
        Self {
            name: shared.config.name.clone(),
            queued: shared.queued.load(Ordering::Relaxed),
            running: shared.running.load(Ordering::Relaxed),
            completed: c.completed.load(Ordering::Relaxed),
            rejected_newest: c.rejected_newest.load(Ordering::Relaxed),
            dropped_oldest: c.dropped_oldest.load(Ordering::Relaxed),
            timed_out: c.timed_out.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            closed: c.closed.load(Ordering::Relaxed),
            panicked: c.panicked.load(Ordering::Relaxed),
            is_closed: shared.closed_flag.load(Ordering::Relaxed),
        }
    }
}
