use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use tokio::{
    sync::oneshot,
    time::{Instant, Sleep},
};

use super::{core::Shared, worker};
use crate::{
    Name, PolicyError, Rejection,
    error::{QueueClosed, QueueClosedReason},
};

pin_project! {
    /// The caller's side of an item submitted to a [`Queue`](super::Queue), from either front
    /// door: it resolves to the work's result, or to the error of a queue that shed it.
    ///
    /// The item is submitted when the future is created (by [`Queue::call`](super::Queue::call),
    /// [`Queue::submit`](super::Queue::submit) or the tower service's `call`); the future only
    /// waits for the outcome. If the queue rejected the item, the first poll returns the error
    /// without waiting. In a composed policy (`queue.wrap(..)`, `outer.wrap(queue)`) admission is
    /// lazy, as for every policy: the item is submitted when the composed call is first polled,
    /// and the policies inside the queue admit it when a worker runs it.
    ///
    /// # Cancel safety
    ///
    /// Dropping it cancels the item, and nothing is ever left holding a slot: an item still
    /// waiting leaves the queue at once and never runs; an item already running is dropped by its
    /// worker at its next await point (as if the caller had dropped the work in place), and the
    /// worker takes the next item.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::Queue;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = Queue::builder().capacity(1).build()?;
    /// let busy = queue.call(|| async {
    ///     tokio::time::sleep(Duration::from_millis(10)).await;
    ///     Ok::<_, std::io::Error>(1)
    /// });
    /// // Queued behind `busy`; dropping it frees the slot at once and the work never runs.
    /// let waiting = queue.call(|| async { Ok::<_, std::io::Error>(2) });
    /// assert_eq!(queue.snapshot().queued, 2);
    /// drop(waiting);
    /// assert_eq!(queue.snapshot().queued, 1);
    /// assert_eq!(busy.await.unwrap(), 1);
    /// assert_eq!(queue.snapshot().cancelled, 1);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "the item is already submitted; dropping this future cancels it"]
    pub struct QueueFuture<T, Er> {
        reply: oneshot::Receiver<Result<T, Er>>,
        ticket: Ticket,
        #[pin]
        timer: Timer,
    }
}

pin_project! {
    // Armed lazily, at the first poll that finds the item still waiting.
    #[project = TimerProj]
    enum Timer {
        Unarmed,
        Armed { #[pin] sleep: Sleep },
        Off,
    }
}

/// The caller's claim on a waiting item: dropping it while live takes the item out of the queue.
struct Ticket {
    shared: Option<Arc<Shared>>,
    id: u64,
    enqueued_at: Option<Instant>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.cancel(self.id);
        }
    }
}

impl<T, Er> fmt::Debug for QueueFuture<T, Er> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueFuture")
            .field("waiting", &self.ticket.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl<T, Er> QueueFuture<T, Er>
where
    T: Send + 'static,
    Er: PolicyError + Send + 'static,
{
    /// Submits `future` to the queue and returns the caller's side.
    pub(crate) fn submit<F>(shared: &Arc<Shared>, future: F) -> Self
    where
        F: Future<Output = Result<T, Er>> + Send + 'static,
    {
        let (tx, reply) = oneshot::channel();
        let enqueued_at = shared.config.max_wait.map(|_| Instant::now());
        let id = shared.submit(worker::task(future, tx), enqueued_at);
        Self {
            reply,
            ticket: Ticket {
                shared: id.map(|_| shared.clone()),
                id: id.unwrap_or_default(),
                enqueued_at,
            },
            timer: Timer::Unarmed,
        }
    }
}

impl<T, Er> Future for QueueFuture<T, Er>
where
    Er: PolicyError,
{
    type Output = Result<T, Er>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(reply) = Pin::new(&mut *this.reply).poll(cx) {
            let shared = this.ticket.shared.take();
            return Poll::Ready(reply.unwrap_or_else(|_| {
                // The sender was dropped unanswered: the worker running it was dropped with its
                // runtime.
                let name = shared.map_or(Name::from_static("queue"), |s| s.config.name.clone());
                let closed = QueueClosed::new(name, QueueClosedReason::WorkerStopped);
                Err(Er::from_rejection(Rejection::QueueClosed(closed)))
            }));
        }
        let (Some(shared), Some(enqueued_at)) = (&this.ticket.shared, this.ticket.enqueued_at)
        else {
            return Poll::Pending;
        };
        let Some(max_wait) = shared.config.max_wait else {
            return Poll::Pending;
        };
        if let TimerProj::Unarmed = this.timer.as_mut().project() {
            let sleep = tokio::time::sleep_until(enqueued_at + max_wait);
            this.timer.set(Timer::Armed { sleep });
        }
        let TimerProj::Armed { sleep } = this.timer.as_mut().project() else {
            return Poll::Pending;
        };
        if sleep.poll(cx).is_pending() {
            return Poll::Pending;
        }
        match shared.expire(this.ticket.id, enqueued_at) {
            Some(timeout) => {
                this.ticket.shared = None;
                Poll::Ready(Err(Er::from_rejection(Rejection::QueueTimeout(timeout))))
            }
            None => {
                // A worker took it just in time: wait for its result.
                this.timer.set(Timer::Off);
                Poll::Pending
            }
        }
    }
}
