//! Configuration and state as data (the `serde` feature): every policy's settings read from a
//! file (TOML, YAML, JSON, any serde format), a whole stack described in one file, and every
//! snapshot written out for a health endpoint.
//!
//! # Settings are data, rules are code
//!
//! Each policy has a config type in its own module ([`BreakerConfig`](crate::breaker::BreakerConfig),
//! [`RetryConfig`](crate::retry::RetryConfig), [`RetryBudgetConfig`](crate::retry::RetryBudgetConfig),
//! [`TimeoutConfig`](crate::timeout::TimeoutConfig), [`BulkheadConfig`](crate::bulkhead::BulkheadConfig),
//! [`QueueConfig`](crate::queue::QueueConfig), [`FallbackConfig`](crate::fallback::FallbackConfig)):
//! plain data with public fields, whose [`Default`] is the builder's defaults, so a file says
//! only what it changes. Unknown fields are refused (a misspelt `falure_rate` is an error, not
//! a default silently kept). A config turns into the policy's **builder** (`config.builder()`),
//! so the file goes through the very checks `build()` makes for code, and what is code (a
//! classifier, a callback, a delay hint, the tokio runtime of a queue) is added to that builder
//! in code:
//!
//! ```
//! use failguard::{Error, FailureIf, breaker::BreakerConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config: BreakerConfig = toml::from_str(r#"
//!     name = "inventory"
//!     failure_rate = 0.25
//!     open_duration = "10s"
//! "#)?;
//! // Code: "not found" is an answer, not a sign the dependency is failing; and a callback.
//! let not_found = |e: &Error<std::io::Error>| {
//!     matches!(e, Error::Inner(io) if io.kind() == std::io::ErrorKind::NotFound)
//! };
//! let breaker = config
//!     .builder()?
//!     .classify(FailureIf(move |e: &Error<std::io::Error>| !not_found(e)))
//!     .on_state_change(|change| eprintln!("{} is {}", change.name, change.to))
//!     .build()?;
//! assert_eq!(breaker.name(), "inventory");
//! # Ok(())
//! # }
//! ```
//!
//! # Durations
//!
//! Written with their unit, as people write them: `"250ms"`, `"1.5s"`, `"2m"`, `"1h 30m"`. A
//! bare number is refused (milliseconds or seconds?). Snapshots write durations the same way
//! (`"retry_after": "4.25s"`), one rule everywhere, so a figure read off a health endpoint can
//! be pasted into a file. [`duration`] has the grammar, and serves fields of your own.
//!
//! # Errors name the field
//!
//! A value of the wrong type or out of its type's range is found while reading: read with
//! [`from_deserializer`] and it is a [`ConfigError`] whose [`field`](ConfigError::field) is the
//! value's path in the file (`breaker.failure_rate`), whatever the format, including those
//! whose own errors give only a line and column (JSON). A value of the right type that breaks a
//! rule (a failure rate of 1.5, a window of 0, a cap below the base delay) is a [`ConfigError`]
//! from `builder()` or `build()`, named by its path too: `breaker.failure_rate`, and in a
//! [`StackConfig`] `attempt_timeout.duration` for the second timeout. Nothing panics.
//!
//! ```
//! use failguard::config::{StackConfig, from_deserializer};
//!
//! let wrong_type = r#"{ "breaker": { "failure_rate": "high" } }"#;
//! let err = from_deserializer::<StackConfig, _>(&mut serde_json::Deserializer::from_str(wrong_type))
//!     .unwrap_err();
//! assert_eq!(err.field(), "breaker.failure_rate");
//!
//! let out_of_range = r#"{ "breaker": { "failure_rate": 1.5 } }"#;
//! let config: StackConfig = serde_json::from_str(out_of_range).unwrap();
//! let err = config.build().unwrap_err();
//! assert_eq!(err.field(), "breaker.failure_rate");
//! assert_eq!(err.rule(), "must be greater than 0.0 and at most 1.0 (got 1.5)");
//! ```
//!
//! # A stack in one file
//!
//! [`StackConfig`] has one optional section per layer, in the recommended order: `bulkhead`,
//! `timeout` (the whole operation), `retry` with its `retry_budget`, `breaker`,
//! `attempt_timeout` (each attempt). It builds a [`Stack`]: one type whichever sections the
//! file has, a [`Policy<T, E>`](crate::Policy) like any other and one tower layer
//! ([`Stack::layer`]), with the handles inside it to read ([`Stack::breaker`]). A fallback (its value is code) goes around it in code, and a
//! queue (which runs only `'static` work and has a runtime to name) sits beside it in your
//! own config struct.
//!
//! ```
//! use failguard::{Error, FailureIf, Fallback, Policy, config::StackConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config: StackConfig = toml::from_str(r#"
//!     [bulkhead]
//!     max_concurrent = 64
//!
//!     [retry]
//!     max_attempts = 3
//!     backoff = { base = "50ms", max_delay = "1s" }
//!
//!     [breaker]
//!     failure_rate = 0.5
//!     open_duration = "5s"
//!
//!     [attempt_timeout]
//!     duration = "2s"
//! "#)?;
//! let failed = FailureIf(|e: &Error<std::io::Error>| !matches!(e, Error::CircuitOpen(_)));
//! let stack = config.builder()?.classify(failed).build()?;
//! let breaker = stack.breaker().expect("the file has a breaker").clone();
//!
//! let policy = Fallback::value("cached".to_string()).wrap(stack);
//! let body = Policy::call(&policy, || async { Ok("fresh".to_string()) }).await?;
//! assert_eq!(body, "fresh");
//! assert_eq!(breaker.snapshot().calls, 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Snapshots
//!
//! [`BreakerSnapshot`](crate::breaker::BreakerSnapshot),
//! [`BulkheadSnapshot`](crate::bulkhead::BulkheadSnapshot) and
//! [`QueueSnapshot`](crate::queue::QueueSnapshot) are `Serialize` (and `Deserialize`, for a
//! client reading another service's health), with the breaker's [`State`](crate::breaker::State)
//! as its event name (`"half_open"`), names as strings and durations as above. A health
//! endpoint is one line:
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use failguard::{CircuitBreaker, breaker::BreakerSnapshot};
//!
//! # fn main() -> Result<(), failguard::ConfigError> {
//! let breaker = CircuitBreaker::builder().name("inventory").build()?;
//! let app: Router = Router::new().route(
//!     "/health/inventory",
//!     get(move || async move { Json(breaker.snapshot()) }),
//! );
//! // {"name":"inventory","state":"closed","failure_rate":0.0,"slow_call_rate":0.0,
//! //  "calls":0,"rejected":0,"retry_after":null}
//! # let _: Option<Json<BreakerSnapshot>> = None;
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

pub mod duration;
mod stack;

pub use stack::{Stack, StackBuilder, StackConfig};

use serde::{Deserialize, Deserializer};

use crate::ConfigError;

/// Reads a `T` (a [`StackConfig`], a policy's config, or a struct of your own holding them)
/// from any serde deserializer, turning every error into a [`ConfigError`] whose field is the
/// path of the value in the file (`retry.backoff.max_delay`; `.` for the document as a whole)
/// and whose rule is the format's own message (with its line and column where it gives them).
///
/// The format crates' own `from_str` work too; this adds the path, which some of them (JSON)
/// leave out of their messages.
///
/// # Errors
///
/// A [`ConfigError`] for the first value the format or the config type refuses: a syntax
/// error, a value of the wrong type, an unknown field, a duration without its unit.
///
/// # Examples
///
/// ```
/// use failguard::config::{StackConfig, from_deserializer};
///
/// let text = r#"
/// [retry]
/// max_attempts = 3
/// max_elapsed = 10
/// "#;
/// let err = from_deserializer::<StackConfig, _>(toml::Deserializer::parse(text).unwrap())
///     .unwrap_err();
/// assert_eq!(err.field(), "retry.max_elapsed");
/// assert!(err.rule().contains(r#"expected a duration with a unit, such as "250ms""#));
/// ```
pub fn from_deserializer<'de, T, D>(deserializer: D) -> Result<T, ConfigError>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    serde_path_to_error::deserialize(deserializer)
        .map_err(|e| ConfigError::new(e.path().to_string(), e.into_inner().to_string()))
}
