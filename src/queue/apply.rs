//! The queue in a stack: composition through [`wrap`](Queue::wrap).

#[cfg(feature = "tower")]
use super::QueueLayer;
use super::{Queue, QueueFuture};
use std::{
    pin::Pin,
    task::{Context, Poll},
};

use crate::{
    Operation, OperationMut,
    policy::{Apply, CallFuture, Deferred},
};

#[cfg(feature = "tower")]
impl crate::policy::ToLayer for Queue {
    type Layer = QueueLayer;

    fn layer(&self) -> QueueLayer {
        Queue::layer(self)
    }
}

/// An operation submitted through a [`Queue`]; made by applying the queue, which
/// [`Wrap::call`](crate::Wrap::call) does for you.
///
/// The operation inside must make `Send + 'static` futures: they run on the queue's workers.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, Queue, Timeout};
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
    op: Option<Op>,
    queue: &'a Queue,
}

impl<'a, Op> Apply<Op> for &'a Queue
where
    Op: Operation + Send + 'static,
    Op::Call: Send + 'static,
    Op::Ok: Send + 'static,
    Op::Error: Send + 'static,
{
    type Output = Queued<'a, Op>;

    fn apply(self, op: Op) -> Self::Output {
        Queued {
            op: Some(op),
            queue: self,
        }
    }
}

impl<Op> Queued<'_, Op>
where
    Op: Operation + Send + 'static,
    Op::Call: Send + 'static,
    Op::Ok: Send + 'static,
    Op::Error: Send + 'static,
{
    #[inline]
    fn poll_with(
        &mut self,
        call: Pin<&mut Deferred<QueueFuture<Op::Ok, Op::Error>>>,
        cx: &mut Context<'_>,
        take: impl FnOnce(&mut Option<Op>) -> Op,
    ) -> Poll<Result<Op::Ok, Op::Error>> {
        let Self { op, queue } = self;
        // Submitted on the first poll; the operation (with every policy inside the queue)
        // starts on a worker, so those policies admit it when it runs, not when it was queued.
        call.poll_with(|| queue.submit_raw(CallFuture::new(take(op))), cx)
    }
}

impl<Op> Operation for Queued<'_, Op>
where
    Op: Operation + Send + 'static,
    Op::Call: Send + 'static,
    Op::Ok: Send + 'static,
    Op::Error: Send + 'static,
{
    type Ok = Op::Ok;
    type Error = Op::Error;
    type Call = Deferred<QueueFuture<Op::Ok, Op::Error>>;

    fn start(&self) -> Self::Call {
        Deferred::IDLE
    }

    fn poll_once(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Op::Ok, Op::Error>> {
        self.poll_with(call, cx, |op| {
            op.take()
                .expect("an operation driven with `poll_once` makes one call only")
        })
    }
}

/// Under a retry, each attempt submits a copy of the operation.
impl<Op> OperationMut for Queued<'_, Op>
where
    Op: Operation + Clone + Send + 'static,
    Op::Call: Send + 'static,
    Op::Ok: Send + 'static,
    Op::Error: Send + 'static,
{
    fn poll_mut(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Op::Ok, Op::Error>> {
        self.poll_with(call, cx, |op| {
            op.clone()
                .expect("a queued operation is kept for the next attempt")
        })
    }
}
