//! A timeout's settings as data (the `serde` feature).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Timeout, TimeoutBuilder};
use crate::{ConfigError, Name};

/// A [`Timeout`]'s settings as data, read from a file (see [`config`](crate::config)).
///
/// Unknown fields are refused. The duration has no default (the builder has none): a file
/// without it is a [`ConfigError`] naming `timeout.duration` when built. It is written with its
/// unit (`"250ms"`, `"2s"`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::timeout::TimeoutConfig;
///
/// let config: TimeoutConfig = toml::from_str(r#"
///     name = "search"
///     duration = "750ms"
/// "#)?;
/// let timeout = config.build()?;
/// assert_eq!(timeout.duration(), Duration::from_millis(750));
/// assert_eq!(timeout.name(), "search");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TimeoutConfig {
    /// The name shown in events and errors; `"timeout"` when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// How long a call may take; it must be set.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::config::duration::option"
    )]
    pub duration: Option<Duration>,
}

impl TimeoutConfig {
    /// The builder these settings describe; `build()` checks every value.
    ///
    /// # Errors
    ///
    /// None today: every timeout setting a file can hold, a builder can. (A `Result`, as every
    /// config's `builder()`, so that one that cannot may come without a breaking change.)
    ///
    /// ```
    /// let config: failguard::timeout::TimeoutConfig = toml::from_str(r#"duration = "1s""#)?;
    /// let timeout = config.builder()?.name("renamed in code").build()?;
    /// assert_eq!(timeout.name(), "renamed in code");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(&self) -> Result<TimeoutBuilder, ConfigError> {
        let mut b = Timeout::builder();
        if let Some(duration) = self.duration {
            b = b.duration(duration);
        }
        if let Some(name) = &self.name {
            b = b.name(name.clone());
        }
        Ok(b)
    }

    /// Builds the timeout.
    ///
    /// # Errors
    ///
    /// As [`TimeoutBuilder::build`]: `timeout.duration` unset, zero or too long.
    ///
    /// ```
    /// let config: failguard::timeout::TimeoutConfig = toml::from_str("")?;
    /// let err = config.build().unwrap_err();
    /// assert_eq!((err.field(), err.rule()), ("timeout.duration", "must be set"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self) -> Result<Timeout, ConfigError> {
        self.builder()?.build()
    }
}
