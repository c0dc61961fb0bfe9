//! The throttle's rejection.

use crate::{Name, error::named};

/// An [`AdaptiveThrottle`](crate::throttle::AdaptiveThrottle) rejected the request locally: the
/// backend has been rejecting so much of what it gets that sending this one would most likely
/// only add to its load.
///
/// Downcast a tower `BoxError` to this type to recognise it.
///
/// ```
/// use failguard::{Error, throttle::AdaptiveThrottle};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let throttle = AdaptiveThrottle::builder().seed(7).name("search").build()?;
/// let refused = || async { Err::<(), _>(std::io::Error::other("overloaded")) };
/// let mut throttled = None;
/// for _ in 0..20 {
///     if let Err(Error::Throttled(t)) = throttle.call(refused).await {
///         throttled = Some(t);
///     }
/// }
/// let throttled = throttled.expect("a backend that accepts nothing is throttled");
/// assert_eq!(throttled.accepts(), 0);
/// assert!(throttled.probability() > 0.5);
/// assert!(throttled.to_string().starts_with("adaptive throttle `search` rejected the request locally"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("adaptive throttle{} rejected the request locally (probability {:.2}: {} requests, {} accepted in the window)", named(.name, "adaptive-throttle"), .probability, .requests, .accepts)]
pub struct Throttled {
    name: Name,
    probability: f64,
    requests: u64,
    accepts: u64,
}

impl Throttled {
    pub(crate) fn new(name: Name, probability: f64, requests: u64, accepts: u64) -> Self {
        Self {
            name,
            probability,
            requests,
            accepts,
        }
    }

    /// The probability the request was rejected with, above 0 and below 1.
    pub fn probability(&self) -> f64 {
        self.probability
    }

    /// The requests in the window (locally rejected ones included).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The requests the backend accepted in the window.
    pub fn accepts(&self) -> u64 {
        self.accepts
    }

    /// The name of the throttle.
    pub fn name(&self) -> &Name {
        &self.name
    }
}
