//! The circuit breaker's rejection.

use std::time::Duration;

use crate::{Name, error::named};

/// A [`CircuitBreaker`](crate::CircuitBreaker) was open, so the call was not made.
///
/// Downcast a tower `BoxError` to this type to recognise it.
///
/// ```
/// use std::time::Duration;
/// use failguard::{CircuitBreaker, Error};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let breaker = CircuitBreaker::builder()
///     .name("payments")
///     .open_duration(Duration::from_secs(30))
///     .build()?;
/// breaker.force_open();
/// let Err(Error::CircuitOpen(open)) = breaker.call(|| async { Ok::<_, std::io::Error>(()) }).await else {
///     panic!("expected an open circuit")
/// };
/// assert_eq!(open.name(), "payments");
/// assert_eq!(open.retry_after(), None); // forced open: no known end
/// assert_eq!(open.to_string(), "circuit breaker `payments` is open");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker{} is open{}", named(.name, "circuit-breaker"), .retry_after.map(|d| format!("; retry after {d:?}")).unwrap_or_default())]
pub struct CircuitOpen {
    name: Name,
    retry_after: Option<Duration>,
}

impl CircuitOpen {
    pub(crate) fn new(name: Name, retry_after: Option<Duration>) -> Self {
        Self { name, retry_after }
    }

    /// How long until the breaker may let this call through: while open, the time left of the
    /// open duration; while half-open with every probe taken, the time left of
    /// `max_half_open_wait` (or, without one, the latest open duration). `None` when it is forced
    /// open.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The name of the breaker.
    pub fn name(&self) -> &Name {
        &self.name
    }
}
