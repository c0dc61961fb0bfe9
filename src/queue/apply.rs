//! The queue as a [`Policy`](crate::Policy): composition through [`wrap`](crate::Policy::wrap).

#[cfg(feature = "tower")]
use super::QueueLayer;
use super::{Queue, QueueFuture};
use crate::{Operation, OperationMut, policy::Apply};

impl crate::Policy for Queue {
    #[cfg(feature = "tower")]
    type Layer = QueueLayer;

    #[cfg(feature = "tower")]
    fn layer(&self) -> QueueLayer {
        Queue::layer(self)
    }
}

/// An operation submitted through a [`Queue`]; made by applying the queue, which
/// [`Policy::call`](crate::Policy::call) and [`Policy::wrap`](crate::Policy::wrap) do for you.
///
/// The operation inside must make `Send + 'static` futures: they run on the queue's workers.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, Policy, Queue, Timeout};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// // The timeout bounds each run on a worker; the queue bounds the waiting.
/// let policy = Queue::new(8)?.wrap(Timeout::new(Duration::from_millis(100))?);
/// let slow = policy
///     .call(|| async {
///         tokio::time::sleep(Duration::from_secs(1)).await;
///         Ok::<_, std::io::Error>(())
///     })
///     .await;
/// assert!(matches!(slow, Err(Error::Timeout(_))));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Queued<'a, Op> {
    op: Op,
    queue: &'a Queue,
}

impl<'a, Op> Apply<Op> for &'a Queue
where
    Op: Operation,
    Op::Future: Send + 'static,
    Op::Ok: Send + 'static,
    Op::Error: Send + 'static,
{
    type Output = Queued<'a, Op>;

    fn apply(self, op: Op) -> Self::Output {
        Queued { op, queue: self }
    }
}

impl<Op> Operation for Queued<'_, Op>
where
    Op: Operation,
    Op::Future: Send + 'static,
    Op::Ok: Send + 'static,
    Op::Error: Send + 'static,
{
    type Ok = Op::Ok;
    type Error = Op::Error;
    type Future = QueueFuture<Op::Ok, Op::Error>;

    fn call_once(self) -> Self::Future {
        self.queue.submit_raw(self.op.call_once())
    }
}

impl<Op> OperationMut for Queued<'_, Op>
where
    Op: OperationMut,
    Op::Future: Send + 'static,
    Op::Ok: Send + 'static,
    Op::Error: Send + 'static,
{
    fn call_mut(&mut self) -> Self::Future {
        self.queue.submit_raw(self.op.call_mut())
    }
}
