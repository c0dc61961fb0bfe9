//! A retry's and a retry budget's settings as data (the `serde` feature).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    Backoff, Jitter, Retry, RetryBudget, RetryBudgetBuilder, RetryBuilder,
    backoff::Growth,
    budget::{DEFAULT_MIN_PER_SEC, DEFAULT_PERCENT, DEFAULT_TTL},
    builder::{DEFAULT_MAX_ATTEMPTS, default_backoff},
};
use crate::{ConfigError, Name};

/// A [`Retry`]'s settings as data, read from a file (see [`config`](crate::config)).
///
/// Every field has the builder's default, so a file gives only what it changes; unknown fields
/// are refused. [`builder`](Self::builder) gives the [`RetryBuilder`], to which code adds what
/// is code (which outcomes to retry, a delay hint, callbacks, a budget shared with other
/// retries) before `build()` checks it all. Durations are written with their unit (`"10s"`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::retry::RetryConfig;
///
/// let config: RetryConfig = toml::from_str(r#"
///     name = "inventory"
///     max_attempts = 5
///     max_elapsed = "10s"
///
///     [backoff]
///     growth = "exponential"
///     base = "200ms"
///     factor = 3.0
///     max_delay = "5s"
///     jitter = "decorrelated"
/// "#)?;
/// let retry = config
///     .builder()?
///     .retry_if(|e: &failguard::Error<std::io::Error>| e.inner().is_some())
///     .build()?;
/// assert_eq!(retry.max_attempts(), 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RetryConfig {
    /// The name shown in events and callbacks; `"retry"` when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// See [`max_attempts`](RetryBuilder::max_attempts): the first call included.
    pub max_attempts: u32,
    /// See [`max_elapsed`](RetryBuilder::max_elapsed); none when left out.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::config::duration::option"
    )]
    pub max_elapsed: Option<Duration>,
    /// The delay before each retry.
    pub backoff: BackoffConfig,
    /// See [`seed`](RetryBuilder::seed): the same delays on every run. Each thread's own
    /// generator when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// The builder's defaults.
///
/// ```
/// let config = failguard::retry::RetryConfig::default();
/// assert_eq!(config.max_attempts, 3);
/// ```
impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            name: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_elapsed: None,
            backoff: BackoffConfig::default(),
            seed: None,
        }
    }
}

impl RetryConfig {
    /// The builder these settings describe; `build()` checks every value as it does for code.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for what only a file can say: `retry.backoff.factor` for a growth
    /// other than exponential.
    ///
    /// ```
    /// let config: failguard::retry::RetryConfig = toml::from_str(r#"
    ///     backoff = { growth = "linear", factor = 3.0 }
    /// "#)?;
    /// assert_eq!(config.builder().unwrap_err().field(), "retry.backoff.factor");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(&self) -> Result<RetryBuilder, ConfigError> {
        let mut b = Retry::builder()
            .max_attempts(self.max_attempts)
            .backoff(self.backoff.backoff()?);
        if let Some(max) = self.max_elapsed {
            b = b.max_elapsed(max);
        }
        if let Some(seed) = self.seed {
            b = b.seed(seed);
        }
        if let Some(name) = &self.name {
            b = b.name(name.clone());
        }
        Ok(b)
    }

    /// Builds the retry these settings describe, with the default rules of what to retry.
    ///
    /// # Errors
    ///
    /// As [`builder`](Self::builder), then [`RetryBuilder::build`].
    ///
    /// ```
    /// let config: failguard::retry::RetryConfig = toml::from_str("max_attempts = 0")?;
    /// assert_eq!(config.build().unwrap_err().field(), "retry.max_attempts");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self) -> Result<Retry, ConfigError> {
        self.builder()?.build()
    }
}

/// How a [`BackoffConfig`]'s delay grows (see [`backoff`](super::backoff) for the formulas).
///
/// ```
/// use failguard::retry::BackoffGrowth;
/// assert_eq!(serde_json::to_string(&BackoffGrowth::Exponential).unwrap(), r#""exponential""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BackoffGrowth {
    /// [`Backoff::constant`]: the same delay before every retry.
    Constant,
    /// [`Backoff::linear`]: `base * (n + 1)`.
    Linear,
    /// [`Backoff::exponential`]: `base * factor^n`.
    #[default]
    Exponential,
}

/// A [`Backoff`] as data: the `backoff` of a [`RetryConfig`].
///
/// Each field left out has the value of a retry built without a backoff: exponential growth
/// from 100 ms, factor 2, capped at 30 s, full jitter.
///
/// ```
/// use std::time::Duration;
/// use failguard::retry::{Backoff, BackoffConfig, Jitter};
///
/// let config: BackoffConfig = toml::from_str(r#"
///     growth = "constant"
///     base = "1s"
///     jitter = "none"
/// "#)?;
/// assert_eq!(config.backoff()?, Backoff::constant(Duration::from_secs(1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// How the delay grows.
    pub growth: BackoffGrowth,
    /// The first delay (the only one, for constant growth).
    #[serde(with = "crate::config::duration")]
    pub base: Duration,
    /// The growth factor, for exponential growth only; 2.0 when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// The hard cap on every delay, jitter included.
    #[serde(with = "crate::config::duration")]
    pub max_delay: Duration,
    /// How delays are randomised: `"none"`, `"full"`, `"equal"` or `"decorrelated"`.
    pub jitter: Jitter,
}

/// The backoff of a retry built without one.
///
/// ```
/// use std::time::Duration;
/// use failguard::retry::{BackoffGrowth, Jitter};
///
/// let config = failguard::retry::BackoffConfig::default();
/// assert_eq!(config.growth, BackoffGrowth::Exponential);
/// assert_eq!((config.base, config.max_delay), (Duration::from_millis(100), Duration::from_secs(30)));
/// assert_eq!((config.factor, config.jitter), (None, Jitter::Full)); // None: 2.0
/// ```
impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            // None rather than 2.0, so that a file naming another growth needs no factor.
            factor: None,
            ..Self::from(default_backoff())
        }
    }
}

/// The settings of a backoff made in code, to write it out.
///
/// ```
/// use std::time::Duration;
/// use failguard::retry::{Backoff, BackoffConfig};
///
/// let backoff = Backoff::linear(Duration::from_millis(50));
/// assert_eq!(BackoffConfig::from(backoff).backoff()?, backoff);
/// # Ok::<(), failguard::ConfigError>(())
/// ```
impl From<Backoff> for BackoffConfig {
    fn from(backoff: Backoff) -> Self {
        let (growth, factor) = match backoff.growth() {
            Growth::Constant => (BackoffGrowth::Constant, None),
            Growth::Linear => (BackoffGrowth::Linear, None),
            Growth::Exponential { factor } => (BackoffGrowth::Exponential, Some(factor)),
        };
        Self {
            growth,
            base: backoff.base(),
            factor,
            max_delay: backoff.cap(),
            jitter: backoff.jitter_mode(),
        }
    }
}

impl BackoffConfig {
    /// The backoff these settings describe. Its values are checked when the retry is built.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `retry.backoff.factor` when a factor is given for constant or
    /// linear growth (only exponential growth has one).
    ///
    /// ```
    /// let config: failguard::retry::BackoffConfig = toml::from_str("factor = 1.5")?;
    /// assert_eq!(config.backoff()?.nominal(1).as_millis(), 150);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn backoff(&self) -> Result<Backoff, ConfigError> {
        let backoff = match (self.growth, self.factor) {
            (BackoffGrowth::Exponential, factor) => {
                Backoff::exponential(self.base).factor(factor.unwrap_or(2.0))
            }
            (growth, Some(_)) => {
                let growth = match growth {
                    BackoffGrowth::Constant => "constant",
                    _ => "linear",
                };
                return Err(ConfigError::new(
                    "retry.backoff.factor",
                    format!("only exponential growth has a factor (growth is \"{growth}\")"),
                ));
            }
            (BackoffGrowth::Constant, None) => Backoff::constant(self.base),
            (BackoffGrowth::Linear, None) => Backoff::linear(self.base),
        };
        Ok(backoff.max_delay(self.max_delay).jitter(self.jitter))
    }
}

/// A [`RetryBudget`]'s settings as data, read from a file (see [`config`](crate::config)).
///
/// Every field has the builder's (Finagle's) default; unknown fields are refused. Each
/// [`build`](Self::build) makes a new budget: to share one between retries, build it once and
/// hand clones to each retry's builder.
///
/// ```
/// use std::time::Duration;
/// use failguard::retry::RetryBudgetConfig;
///
/// let config: RetryBudgetConfig = toml::from_str(r#"
///     ttl = "30s"
///     min_per_sec = 1
///     percent = 12.5
/// "#)?;
/// let budget = config.build()?;
/// assert_eq!(budget.available(), 30); // 1 a second over 30 s
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RetryBudgetConfig {
    /// See [`ttl`](RetryBudgetBuilder::ttl).
    #[serde(with = "crate::config::duration")]
    pub ttl: Duration,
    /// See [`min_per_sec`](RetryBudgetBuilder::min_per_sec).
    pub min_per_sec: u32,
    /// See [`percent`](RetryBudgetBuilder::percent).
    pub percent: f64,
}

/// The builder's defaults.
///
/// ```
/// let config = failguard::retry::RetryBudgetConfig::default();
/// assert_eq!((config.min_per_sec, config.percent), (10, 20.0));
/// ```
impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self {
            ttl: DEFAULT_TTL,
            min_per_sec: DEFAULT_MIN_PER_SEC,
            percent: DEFAULT_PERCENT,
        }
    }
}

impl RetryBudgetConfig {
    /// The builder these settings describe; `build()` checks every value.
    ///
    /// # Errors
    ///
    /// None today: every budget setting a file can hold, a builder can. (A `Result`, as every
    /// config's `builder()`, so that one that cannot may come without a breaking change.)
    ///
    /// ```
    /// let budget = failguard::retry::RetryBudgetConfig::default().builder()?.build()?;
    /// # let _ = budget;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder(&self) -> Result<RetryBudgetBuilder, ConfigError> {
        Ok(RetryBudget::builder()
            .ttl(self.ttl)
            .min_per_sec(self.min_per_sec)
            .percent(self.percent))
    }

    /// Builds a new budget; its window starts now.
    ///
    /// # Errors
    ///
    /// As [`RetryBudgetBuilder::build`]: `retry_budget.ttl`, `retry_budget.percent`.
    ///
    /// ```
    /// let config: failguard::retry::RetryBudgetConfig = toml::from_str("percent = -1.0")?;
    /// assert_eq!(config.build().unwrap_err().field(), "retry_budget.percent");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self) -> Result<RetryBudget, ConfigError> {
        self.builder()?.build()
    }
}
