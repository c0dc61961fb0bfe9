//! A bulkhead's settings as data (the `serde` feature).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Bulkhead, BulkheadBuilder};
use crate::{ConfigError, Name};

/// A [`Bulkhead`]'s settings as data, read from a file (see [`config`](crate::config)).
///
/// Every field but `max_concurrent` (which the builder requires too) has the builder's
/// default; unknown fields are refused. `max_wait` is written with its unit (`"20ms"`).
///
/// # Examples
///
/// ```
/// use failguard::bulkhead::BulkheadConfig;
///
/// let config: BulkheadConfig = toml::from_str(r#"
///     name = "search"
///     max_concurrent = 16
///     max_waiting = 32
///     max_wait = "20ms"
/// "#)?;
/// let bulkhead = config.build()?;
/// assert_eq!(bulkhead.snapshot().max_concurrent, 16);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BulkheadConfig {
    /// The name shown in events, errors and snapshots; `"bulkhead"` when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// See [`max_concurrent`](BulkheadBuilder::max_concurrent); it must be set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<usize>,
    /// See [`max_waiting`](BulkheadBuilder::max_waiting): 0, nobody waits.
    pub max_waiting: usize,
    /// See [`max_wait`](BulkheadBuilder::max_wait): `"0s"`, reject at once.
    #[serde(with = "crate::config::duration")]
    pub max_wait: Duration,
}

impl BulkheadConfig {
    /// The builder these settings describe; `build()` checks every value.
    ///
    /// # Errors
    ///
    /// None today: every bulkhead setting a file can hold, a builder can. (A `Result`, as every
    /// config's `builder()`, so that one that cannot may come without a breaking change.)
    ///
    /// ```
    /// let config: failguard::bulkhead::BulkheadConfig = toml::from_str("max_concurrent = 4")?;
    /// assert!(config.builder()?.build().is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(&self) -> Result<BulkheadBuilder, ConfigError> {
        let mut b = Bulkhead::builder()
            .max_waiting(self.max_waiting)
            .max_wait(self.max_wait);
        if let Some(max) = self.max_concurrent {
            b = b.max_concurrent(max);
        }
        if let Some(name) = &self.name {
            b = b.name(name.clone());
        }
        Ok(b)
    }

    /// Builds the bulkhead.
    ///
    /// # Errors
    ///
    /// As [`BulkheadBuilder::build`]: `bulkhead.max_concurrent` unset or out of range, and the
    /// rules that tie `max_waiting` and `max_wait` together.
    ///
    /// ```
    /// let config: failguard::bulkhead::BulkheadConfig = toml::from_str(r#"
    ///     max_concurrent = 4
    ///     max_wait = "50ms"
    /// "#)?;
    /// assert_eq!(config.build().unwrap_err().field(), "bulkhead.max_waiting");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self) -> Result<Bulkhead, ConfigError> {
        self.builder()?.build()
    }
}
