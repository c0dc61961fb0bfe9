//! The adaptive limit's rejection.

use crate::{Name, error::named};

/// An [`AdaptiveLimit`](crate::adaptive::AdaptiveLimit) had no room for the call under its
/// current limit (and no room, or no time, to wait), so the call was not made.
///
/// Downcast a tower `BoxError` to this type to recognise it. It carries the limit and the calls
/// in flight when the call was turned away: the limit is what the limiter has learned the
/// dependency can take.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, adaptive::{AdaptiveLimit, Vegas}};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let limit = AdaptiveLimit::builder()
///     .algorithm(Vegas::new().initial_limit(1))
///     .name("db")
///     .build()?;
/// let busy = tokio::spawn({
///     let limit = limit.clone();
///     async move {
///         let slow = || async { tokio::time::sleep(Duration::from_secs(1)).await; Ok::<_, std::io::Error>(()) };
///         limit.call(slow).await
///     }
/// });
/// tokio::task::yield_now().await; // the busy call takes the only place
///
/// let Err(Error::ConcurrencyLimited(limited)) = limit.call(|| async { Ok::<_, std::io::Error>(()) }).await else {
///     panic!("expected a rejection")
/// };
/// assert_eq!((limited.limit(), limited.in_flight()), (1, 1));
/// assert_eq!(limited.to_string(), "adaptive limit `db` reached (1 call in flight, limit 1)");
/// assert!(busy.await.unwrap().is_ok());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("adaptive limit{} reached ({} in flight, limit {}){}", named(.name, "adaptive-limit"), crate::error::count(*.in_flight, "call"), .limit, if *.waited { "; the wait ran out" } else { "" })]
pub struct ConcurrencyLimited {
    name: Name,
    limit: usize,
    in_flight: usize,
    waited: bool,
}

impl ConcurrencyLimited {
    pub(crate) fn new(name: Name, limit: usize, in_flight: usize, waited: bool) -> Self {
        Self {
            name,
            limit,
            in_flight,
            waited,
        }
    }

    /// The limit when the call was turned away.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The calls in flight when the call was turned away.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Whether the call waited its whole `max_wait` first (otherwise there was no room to
    /// wait, or waiting is off).
    pub fn waited(&self) -> bool {
        self.waited
    }

    /// The name of the limiter.
    pub fn name(&self) -> &Name {
        &self.name
    }
}
