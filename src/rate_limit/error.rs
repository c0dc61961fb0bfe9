//! The rate limiter's rejection.

use std::time::Duration;

use crate::{Name, error::named};

/// A [`RateLimiter`](crate::RateLimiter) had no permit for the call now (or within its
/// `max_wait`), so the call was not made.
///
/// Downcast a tower `BoxError` to this type to recognise it.
/// [`retry_after`](Self::retry_after) is exact: a call of the same weight made that much later
/// passes, unless others take the permits first.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, RateLimiter};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let limiter = RateLimiter::builder().per_second(2).burst(1).name("api").build()?;
/// let ok = || async { Ok::<_, std::io::Error>(()) };
/// limiter.call(ok).await.unwrap();
/// let Err(Error::RateLimited(limited)) = limiter.call(ok).await else { panic!() };
/// assert_eq!(limited.retry_after(), Some(Duration::from_millis(500)));
/// assert_eq!(limited.to_string(), "rate limiter `api` is exhausted; retry after 500ms");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limiter{} is exhausted{}", named(.name, "rate-limiter"), match .retry_after {
    Some(d) => format!("; retry after {d:?}"),
    None => format!("; a call of {} permits exceeds its burst of {}", .weight, .burst),
})]
pub struct RateLimited {
    name: Name,
    retry_after: Option<Duration>,
    weight: u32,
    burst: u32,
}

impl RateLimited {
    pub(crate) fn new(name: Name, retry_after: Option<Duration>, weight: u32, burst: u32) -> Self {
        Self {
            name,
            retry_after,
            weight,
            burst,
        }
    }

    /// How long from the rejection until a call of the same weight would pass: exact, to the
    /// nanosecond, a promise as an open circuit's is (a [`Retry`](crate::Retry) never retries
    /// sooner, and gives up if it is beyond its backoff's cap). `None` when the call asked for
    /// more permits than the burst, which no wait can give.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// How many permits the call asked for.
    pub fn weight(&self) -> u32 {
        self.weight
    }

    /// The name of the rate limiter.
    pub fn name(&self) -> &Name {
        &self.name
    }
}
