//! A fallback's settings as data (the `serde` feature).

use serde::{Deserialize, Serialize};

use super::{Fallback, Value};
use crate::Name;

/// A [`Fallback::value`] as data: the value to answer with, read from a file (see
/// [`config`](crate::config)), and a name.
///
/// Only a value can come from a file: a closure, an async closure or a service is code, and so
/// is [`when`](Fallback::when) (which errors fall back), added to the built fallback in code.
/// The value needs no checking, so [`build`](Self::build) cannot fail. Unknown fields are
/// refused; `value` must be there.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, Timeout, fallback::FallbackConfig};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config: FallbackConfig<Vec<String>> = toml::from_str(r#"
///     name = "stale-tags"
///     value = ["popular", "new"]
/// "#)?;
/// let fallback = config.build().when(|e: &Error<std::io::Error>| e.is_rejection());
/// let policy = fallback.wrap(Timeout::new(Duration::from_millis(100))?);
/// let tags = policy.call(|| std::future::pending()).await?;
/// assert_eq!(tags, ["popular", "new"]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FallbackConfig<T> {
    /// The name shown in events; `"fallback"` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The value answered instead of an error.
    pub value: T,
}

impl<T> FallbackConfig<T> {
    /// Settings answering with `value`, unnamed.
    ///
    /// ```
    /// let config = failguard::fallback::FallbackConfig::new(0);
    /// assert_eq!(config.value, 0);
    /// ```
    pub fn new(value: T) -> Self {
        Self { name: None, value }
    }

    /// The fallback these settings describe (every error falls back; narrow it with
    /// [`when`](Fallback::when) or [`classify`](Fallback::classify)).
    ///
    /// ```
    /// let config: failguard::fallback::FallbackConfig<u32> = toml::from_str("value = 7")?;
    /// assert_eq!(config.build().policy_name(), "fallback");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self) -> Fallback<Value<T>>
    where
        T: Clone,
    {
        let fallback = Fallback::value(self.value.clone());
        match &self.name {
            Some(name) => fallback.name(name.clone()),
            None => fallback,
        }
    }
}
