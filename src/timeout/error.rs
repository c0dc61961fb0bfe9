//! The timeout's rejection.

use std::time::Duration;

use crate::{Name, error::named};

/// A [`Timeout`](crate::Timeout) elapsed before the operation finished.
///
/// Downcast a tower `BoxError` to this type to recognise a failguard timeout.
///
/// ```
/// # use std::time::Duration;
/// let timeout = failguard::Timeout::new(Duration::from_millis(250))?;
/// let elapsed = timeout.elapsed();
/// assert_eq!(elapsed.after(), Duration::from_millis(250));
/// assert_eq!(elapsed.to_string(), "timeout elapsed after 250ms");
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timeout{} elapsed after {after:?}", named(.name, "timeout"))]
pub struct Elapsed {
    after: Duration,
    name: Name,
}

impl Elapsed {
    pub(crate) fn new(after: Duration, name: Name) -> Self {
        Self { after, name }
    }

    /// The configured duration that elapsed.
    pub fn after(&self) -> Duration {
        self.after
    }

    /// The name of the timeout policy.
    pub fn name(&self) -> &Name {
        &self.name
    }
}
