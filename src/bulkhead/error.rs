//! The bulkhead's rejection.

use std::time::Duration;

use crate::{
    Name,
    error::{about, count, named},
    estimate::Hint,
};

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
    /// A hint, not a promise (an open circuit's [`retry_after`](crate::error::CircuitOpen::retry_after) is
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
