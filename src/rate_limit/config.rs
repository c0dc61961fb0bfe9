//! A rate limiter's settings as data (the `serde` feature).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{RateLimiter, RateLimiterBuilder};
use crate::{ConfigError, Name};

/// A [`RateLimiter`]'s settings as data, read from a file (see [`config`](crate::config)).
///
/// `permits` per `period` is the rate (both required, as the builder requires a rate); every
/// other field has the builder's default; unknown fields are refused. Durations are written
/// with their unit (`"1s"`).
///
/// # Examples
///
/// ```
/// use failguard::rate_limit::RateLimitConfig;
///
/// let config: RateLimitConfig = toml::from_str(r#"
///     name = "geo"
///     permits = 100
///     period = "1s"
///     burst = 10
///     max_wait = "50ms"
/// "#)?;
/// let limiter = config.build()?;
/// assert_eq!(limiter.snapshot().burst, 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// The name shown in events, errors and snapshots; `"rate-limiter"` when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// How many calls per `period`; see [`rate`](RateLimiterBuilder::rate). Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permits: Option<u32>,
    /// The period of the rate; see [`rate`](RateLimiterBuilder::rate). Required.
    #[serde(
        with = "crate::config::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub period: Option<Duration>,
    /// See [`burst`](RateLimiterBuilder::burst): `permits` when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// See [`max_wait`](RateLimiterBuilder::max_wait): `"0s"`, reject at once.
    #[serde(with = "crate::config::duration")]
    pub max_wait: Duration,
}

impl RateLimitConfig {
    /// The builder these settings describe; `build()` checks every value.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if only one of `permits` and `period` is given (`rate_limit.period`
    /// or `rate_limit.permits`).
    ///
    /// ```
    /// let config: failguard::rate_limit::RateLimitConfig = toml::from_str("permits = 4")?;
    /// assert_eq!(config.builder().unwrap_err().field(), "rate_limit.period");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(&self) -> Result<RateLimiterBuilder, ConfigError> {
        let mut b = RateLimiter::builder().max_wait(self.max_wait);
        match (self.permits, self.period) {
            (Some(permits), Some(period)) => b = b.rate(permits, period),
            (Some(_), None) => return Err(ConfigError::new("rate_limit.period", "must be set")),
            (None, Some(_)) => return Err(ConfigError::new("rate_limit.permits", "must be set")),
            (None, None) => {}
        }
        if let Some(burst) = self.burst {
            b = b.burst(burst);
        }
        if let Some(name) = &self.name {
            b = b.name(name.clone());
        }
        Ok(b)
    }

    /// Builds the limiter.
    ///
    /// # Errors
    ///
    /// As [`builder`](Self::builder) and [`RateLimiterBuilder::build`].
    ///
    /// ```
    /// let config: failguard::rate_limit::RateLimitConfig =
    ///     toml::from_str("permits = 0\nperiod = \"1s\"")?;
    /// assert_eq!(config.build().unwrap_err().field(), "rate_limit.rate");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self) -> Result<RateLimiter, ConfigError> {
        self.builder()?.build()
    }
}
