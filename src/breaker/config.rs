//! A circuit breaker's settings as data (the `serde` feature).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CircuitBreaker, CircuitBreakerBuilder, MAX_WINDOW, WindowKind};
use crate::{ConfigError, Name};

/// The buckets of a `time_window` when the file does not say: each a tenth of the window.
const DEFAULT_BUCKETS: usize = 10;

/// A [`CircuitBreaker`]'s settings as data, read from a file (see [`config`](crate::config)).
///
/// Every field has the builder's default, so a file gives only what it changes; unknown fields
/// are refused. [`builder`](Self::builder) gives the [`CircuitBreakerBuilder`], to which code
/// adds what is code (a classifier, state-change callbacks) before `build()` checks it all.
/// Durations are written with their unit (`"30s"`).
///
/// The window is `count_window` (the last N calls) or `time_window` (the last `time_window`,
/// in `time_window_buckets` buckets); with neither, a count window of 100 calls.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::breaker::{BreakerConfig, State};
///
/// let config: BreakerConfig = toml::from_str(r#"
///     name = "checkout"
///     time_window = "30s"
///     time_window_buckets = 30
///     minimum_calls = 20
///     failure_rate = 0.25
///     slow_call_duration = "500ms"
///     slow_call_rate = 0.5
///     open_duration = "10s"
///     open_backoff = 2.0
///     max_open_duration = "2m"
///     half_open_calls = 5
///     max_half_open_wait = "30s"
/// "#)?;
/// assert_eq!(config.open_duration, Duration::from_secs(10));
/// let breaker = config.builder()?.build()?;
/// assert_eq!(breaker.state(), State::Closed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// The name shown in events, errors and snapshots; `"circuit-breaker"` when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Judge the last N calls ([`count_window`](CircuitBreakerBuilder::count_window)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_window: Option<usize>,
    /// Judge the calls of the last `time_window`
    /// ([`time_window`](CircuitBreakerBuilder::time_window)); excludes `count_window`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::config::duration::option"
    )]
    pub time_window: Option<Duration>,
    /// The buckets of the time window; 10 when left out. Only with `time_window`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_window_buckets: Option<usize>,
    /// See [`failure_rate`](CircuitBreakerBuilder::failure_rate).
    pub failure_rate: f64,
    /// See [`slow_call_duration`](CircuitBreakerBuilder::slow_call_duration); off when left
    /// out.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::config::duration::option"
    )]
    pub slow_call_duration: Option<Duration>,
    /// See [`slow_call_rate`](CircuitBreakerBuilder::slow_call_rate).
    pub slow_call_rate: f64,
    /// See [`minimum_calls`](CircuitBreakerBuilder::minimum_calls).
    pub minimum_calls: u32,
    /// See [`open_duration`](CircuitBreakerBuilder::open_duration).
    #[serde(with = "crate::config::duration")]
    pub open_duration: Duration,
    /// The multiplier of [`open_backoff`](CircuitBreakerBuilder::open_backoff); above 1.0 it
    /// needs `max_open_duration`.
    pub open_backoff: f64,
    /// The cap of [`open_backoff`](CircuitBreakerBuilder::open_backoff); `open_duration` when
    /// left out.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::config::duration::option"
    )]
    pub max_open_duration: Option<Duration>,
    /// See [`half_open_calls`](CircuitBreakerBuilder::half_open_calls).
    pub half_open_calls: u32,
    /// See [`max_half_open_wait`](CircuitBreakerBuilder::max_half_open_wait); none when left
    /// out.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::config::duration::option"
    )]
    pub max_half_open_wait: Option<Duration>,
}

/// The builder's defaults, read off [`CircuitBreakerBuilder::default`] so the two cannot drift.
///
/// ```
/// let config = failguard::breaker::BreakerConfig::default();
/// assert_eq!((config.failure_rate, config.minimum_calls), (0.5, 100));
/// ```
impl Default for BreakerConfig {
    fn default() -> Self {
        let b = CircuitBreakerBuilder::default();
        Self {
            name: None,
            count_window: None,
            time_window: None,
            time_window_buckets: None,
            failure_rate: b.failure_rate,
            slow_call_duration: b.slow_call_duration,
            slow_call_rate: b.slow_call_rate,
            minimum_calls: b.minimum_calls,
            open_duration: b.open_duration,
            open_backoff: b.open_backoff,
            max_open_duration: b.max_open_duration,
            half_open_calls: b.half_open_calls,
            max_half_open_wait: b.max_half_open_wait,
        }
    }
}

impl BreakerConfig {
    /// The builder these settings describe; `build()` checks every value as it does for code.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for what only a file can say and no builder can hold:
    /// `breaker.time_window` set together with `count_window` (a breaker judges one window),
    /// `breaker.time_window_buckets` without a `time_window` or out of range (the builder takes
    /// the window and its buckets as one setting, `time_window`).
    ///
    /// ```
    /// let config: failguard::breaker::BreakerConfig = toml::from_str(r#"
    ///     count_window = 50
    ///     time_window = "30s"
    /// "#)?;
    /// assert_eq!(config.builder().unwrap_err().field(), "breaker.time_window");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(&self) -> Result<CircuitBreakerBuilder, ConfigError> {
        let mut b = CircuitBreaker::builder();
        match (
            self.count_window,
            self.time_window,
            self.time_window_buckets,
        ) {
            (Some(_), Some(_), _) => {
                return Err(ConfigError::new(
                    "breaker.time_window",
                    "cannot be set together with count_window: a breaker judges one window",
                ));
            }
            (_, None, Some(_)) => {
                return Err(ConfigError::new(
                    "breaker.time_window_buckets",
                    "divides a time window: set time_window too",
                ));
            }
            (Some(calls), None, None) => b.window = WindowKind::Count(calls),
            (None, Some(window), buckets) => {
                let buckets = buckets.unwrap_or(DEFAULT_BUCKETS);
                // The builder's own rule, named by the file's field rather than `time_window`.
                if buckets == 0 || buckets > MAX_WINDOW {
                    return Err(ConfigError::new(
                        "breaker.time_window_buckets",
                        format!("must be from 1 to {MAX_WINDOW} (got {buckets})"),
                    ));
                }
                b.window = WindowKind::Time { window, buckets };
            }
            (None, None, None) => {}
        }
        b.failure_rate = self.failure_rate;
        b.slow_call_duration = self.slow_call_duration;
        b.slow_call_rate = self.slow_call_rate;
        b.minimum_calls = self.minimum_calls;
        b.open_duration = self.open_duration;
        // Set apart: `open_backoff(multiplier, max)` takes both, a file may give one.
        b.open_backoff = self.open_backoff;
        b.max_open_duration = self.max_open_duration;
        b.half_open_calls = self.half_open_calls;
        b.max_half_open_wait = self.max_half_open_wait;
        if let Some(name) = &self.name {
            b.name = name.clone();
        }
        Ok(b)
    }

    /// Builds the breaker these settings describe, judging every error a failure.
    ///
    /// # Errors
    ///
    /// As [`builder`](Self::builder), then [`CircuitBreakerBuilder::build`].
    ///
    /// ```
    /// let config: failguard::breaker::BreakerConfig = toml::from_str("failure_rate = 1.5")?;
    /// assert_eq!(config.build().unwrap_err().field(), "breaker.failure_rate");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self) -> Result<CircuitBreaker, ConfigError> {
        self.builder()?.build()
    }
}
