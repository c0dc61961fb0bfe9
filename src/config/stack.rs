//! A stack described in one file: the sections, the builder they make, and the stack it builds.

use serde::{Deserialize, Serialize};

#[cfg(feature = "tower")]
use crate::policy::ToLayer;
use crate::{
    Bulkhead, CircuitBreaker, ConfigError, ErrorIsFailure, RateLimiter, Retry, Timeout, Wrap,
    breaker::{BreakerConfig, CircuitBreakerBuilder},
    bulkhead::{BulkheadBuilder, BulkheadConfig},
    policy::{Apply, Call, CallFuture, OperationFn, SendOperation, around::Around},
    rate_limit::{RateLimitConfig, RateLimiterBuilder},
    retry::{NoHint, RetryBudgetConfig, RetryBuilder, RetryConfig, Rules, Silent},
    timeout::{TimeoutBuilder, TimeoutConfig},
};

/// A stack of policies as data: one optional section per layer, in the recommended order
/// (outermost first). A section left out is a layer left out.
///
/// | section | layer | why there |
/// |---|---|---|
/// | `bulkhead` | [`BulkheadConfig`] | limits concurrency before anything else is spent on a call |
/// | `timeout` | [`TimeoutConfig`] | bounds the whole operation, retries and their waits included |
/// | `retry` | [`RetryConfig`] | re-runs everything below it |
/// | `retry_budget` | [`RetryBudgetConfig`] | the retry's budget (only with a `retry`) |
/// | `rate_limit` | [`RateLimitConfig`] | each attempt takes a permit, as the dependency sees every attempt (a retry waits for the permit its rejection promises); outside the breaker, so a rate-limited attempt is not the dependency's failure and an open breaker spends no permit |
/// | `breaker` | [`BreakerConfig`] | sees every attempt, so each failed attempt counts |
/// | `attempt_timeout` | [`TimeoutConfig`] | a hung attempt is a failure the breaker sees and the retry retries |
///
/// A fallback is code (its value or closure) and goes around the built [`Stack`] in code; a
/// queue runs only `'static` work, so a stack holding one could not be a
/// [`Policy<T, E>`](crate::Policy): put a [`QueueConfig`](crate::queue::QueueConfig) beside a
/// `StackConfig` in a struct of your own.
///
/// Errors name the field by its path in the file: `breaker.failure_rate`,
/// `attempt_timeout.duration`, `retry_budget.percent`, `rate_limit.burst`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::config::StackConfig;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config: StackConfig = toml::from_str(r#"
///     [timeout]
///     duration = "5s"
///
///     [retry]
///     max_attempts = 4
///
///     [retry_budget]
///     percent = 10.0
/// "#)?;
/// let stack = config.build()?;
/// assert_eq!(stack.timeout().unwrap().duration(), Duration::from_secs(5));
/// assert!(stack.breaker().is_none());
/// let n = stack.call(|| async { Ok::<_, std::io::Error>(7) }).await?;
/// assert_eq!(n, 7);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StackConfig {
    /// The bulkhead, outermost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulkhead: Option<BulkheadConfig>,
    /// The timeout of the whole operation, retries included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<TimeoutConfig>,
    /// The retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryConfig>,
    /// The retry's budget, built afresh for this stack; needs a `retry`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_budget: Option<RetryBudgetConfig>,
    /// The rate limiter, per attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitConfig>,
    /// The circuit breaker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerConfig>,
    /// The timeout of each attempt, innermost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_timeout: Option<TimeoutConfig>,
}

impl StackConfig {
    /// The builders of every section the file has, to add what is code (a classifier,
    /// callbacks, a delay hint) before [`build`](StackBuilder::build).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for settings that exclude each other (see each section's
    /// `builder()`), a `retry_budget` without a `retry`, or a budget that
    /// [`RetryBudgetBuilder::build`](crate::retry::RetryBudgetBuilder::build) refuses (the
    /// budget is built here, its window starting now).
    ///
    /// ```
    /// let config: failguard::config::StackConfig = toml::from_str("[retry_budget]")?;
    /// let err = config.builder().unwrap_err();
    /// assert_eq!(err.field(), "retry_budget");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(&self) -> Result<StackBuilder, ConfigError> {
        let mut retry = self.retry.as_ref().map(RetryConfig::builder).transpose()?;
        if let Some(budget) = &self.retry_budget {
            let Some(builder) = retry else {
                return Err(ConfigError::new(
                    "retry_budget",
                    "needs a retry section: the budget limits the stack's retries",
                ));
            };
            retry = Some(builder.budget(budget.builder()?.build()?));
        }
        Ok(StackBuilder {
            bulkhead: self
                .bulkhead
                .as_ref()
                .map(BulkheadConfig::builder)
                .transpose()?,
            timeout: self
                .timeout
                .as_ref()
                .map(TimeoutConfig::builder)
                .transpose()?,
            retry,
            rate_limit: self
                .rate_limit
                .as_ref()
                .map(RateLimitConfig::builder)
                .transpose()?,
            breaker: self
                .breaker
                .as_ref()
                .map(BreakerConfig::builder)
                .transpose()?,
            attempt_timeout: self
                .attempt_timeout
                .as_ref()
                .map(TimeoutConfig::builder)
                .transpose()
                .map_err(|e| in_section(e, "attempt_timeout"))?,
        })
    }

    /// Builds the stack with the default classifiers (every error is a failure to the breaker;
    /// the retry retries errors that waiting can help).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first field, by its path in the file, that
    /// [`builder`](Self::builder) or a section's `build()` refuses.
    ///
    /// ```
    /// let config: failguard::config::StackConfig = toml::from_str(r#"
    ///     [attempt_timeout]
    ///     duration = "0s"
    /// "#)?;
    /// let err = config.build().unwrap_err();
    /// assert_eq!(err.field(), "attempt_timeout.duration");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self) -> Result<Stack, ConfigError> {
        self.builder()?.build()
    }
}

/// `timeout.duration` of the builder is `attempt_timeout.duration` in the file.
fn in_section(e: ConfigError, section: &str) -> ConfigError {
    let knob = e
        .field()
        .split_once('.')
        .map_or(e.field(), |(_, knob)| knob);
    ConfigError::new(format!("{section}.{knob}"), e.rule().to_owned())
}

/// The builders of a [`StackConfig`]'s sections, to add what is code before building the
/// [`Stack`]. Made by [`StackConfig::builder`].
///
/// What is added to a section the file left out is dropped with it: a classifier for a breaker
/// that is not there changes nothing (but the stack's type, which stays the same whichever
/// sections the file has).
///
/// # Examples
///
/// One rule of what counts as a failure for the breaker and the retry, and a callback:
///
/// ```
/// use failguard::{Error, FailureIf, config::StackConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config: StackConfig = toml::from_str(r#"
///     [retry]
///     [breaker]
///     open_duration = "30s"
/// "#)?;
/// // Not found is an answer, not a failure.
/// let failed = FailureIf(|e: &Error<std::io::Error>| {
///     !matches!(e, Error::Inner(io) if io.kind() == std::io::ErrorKind::NotFound)
/// });
/// let stack = config
///     .builder()?
///     .classify(failed)
///     .breaker(|b| b.on_state_change(|change| eprintln!("breaker {}", change.to)))
///     .build()?;
/// # let _ = stack;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct StackBuilder<BC = ErrorIsFailure, RC = Rules, RH = NoHint, RN = Silent> {
    bulkhead: Option<BulkheadBuilder>,
    timeout: Option<TimeoutBuilder>,
    retry: Option<RetryBuilder<RC, RH, RN>>,
    rate_limit: Option<RateLimiterBuilder>,
    breaker: Option<CircuitBreakerBuilder<BC>>,
    attempt_timeout: Option<TimeoutBuilder>,
}

impl<BC, RC, RH, RN> StackBuilder<BC, RC, RH, RN> {
    /// One rule of what counts as a failure for the breaker and the retry alike (see
    /// [`Classify`](crate::Classify)): the breaker counts it, the retry retries it.
    ///
    /// # Default
    ///
    /// Each builder's own: [`ErrorIsFailure`] for the breaker, [`Rules`] for the retry.
    pub fn classify<C: Clone>(self, classify: C) -> StackBuilder<C, C, RH, RN> {
        StackBuilder {
            bulkhead: self.bulkhead,
            timeout: self.timeout,
            retry: self.retry.map(|r| r.classify(classify.clone())),
            rate_limit: self.rate_limit,
            breaker: self.breaker.map(|b| b.classify(classify)),
            attempt_timeout: self.attempt_timeout,
        }
    }

    /// Changes the breaker's builder, if the file has a breaker: a classifier, a state-change
    /// callback.
    pub fn breaker<BC2>(
        self,
        f: impl FnOnce(CircuitBreakerBuilder<BC>) -> CircuitBreakerBuilder<BC2>,
    ) -> StackBuilder<BC2, RC, RH, RN> {
        StackBuilder {
            bulkhead: self.bulkhead,
            timeout: self.timeout,
            retry: self.retry,
            rate_limit: self.rate_limit,
            breaker: self.breaker.map(f),
            attempt_timeout: self.attempt_timeout,
        }
    }

    /// Changes the retry's builder, if the file has a retry: which outcomes to retry, a delay
    /// hint, callbacks, a [`RetryBudget`](crate::retry::RetryBudget) shared with other stacks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Error, config::StackConfig};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config: StackConfig = toml::from_str("[retry]\nmax_attempts = 5")?;
    /// let stack = config
    ///     .builder()?
    ///     .retry(|r| {
    ///         r.delay_hint(|r: &Result<u16, Error<std::io::Error>>| match r {
    ///             Ok(503) => Some(Duration::from_secs(1)),
    ///             _ => None,
    ///         })
    ///     })
    ///     .build()?;
    /// assert_eq!(stack.retry().unwrap().max_attempts(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry<RC2, RH2, RN2>(
        self,
        f: impl FnOnce(RetryBuilder<RC, RH, RN>) -> RetryBuilder<RC2, RH2, RN2>,
    ) -> StackBuilder<BC, RC2, RH2, RN2> {
        StackBuilder {
            bulkhead: self.bulkhead,
            timeout: self.timeout,
            retry: self.retry.map(f),
            rate_limit: self.rate_limit,
            breaker: self.breaker,
            attempt_timeout: self.attempt_timeout,
        }
    }

    /// Builds every section the file has.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first field that a section's `build()` refuses, by its
    /// path in the file (`attempt_timeout.duration` for the second timeout).
    pub fn build(self) -> Result<Stack<BC, RC, RH, RN>, ConfigError> {
        let bulkhead = self.bulkhead.map(BulkheadBuilder::build).transpose()?;
        let timeout = self.timeout.map(TimeoutBuilder::build).transpose()?;
        let retry = self.retry.map(RetryBuilder::build).transpose()?;
        let rate_limit = self.rate_limit.map(RateLimiterBuilder::build).transpose()?;
        let breaker = self.breaker.map(CircuitBreakerBuilder::build).transpose()?;
        let attempt_timeout = self
            .attempt_timeout
            .map(TimeoutBuilder::build)
            .transpose()
            .map_err(|e| in_section(e, "attempt_timeout"))?;
        Ok(Stack {
            policy: Wrap {
                outer: bulkhead,
                inner: Wrap {
                    outer: timeout,
                    inner: Wrap {
                        outer: retry,
                        inner: Wrap {
                            outer: rate_limit,
                            inner: Wrap {
                                outer: breaker,
                                inner: attempt_timeout,
                            },
                        },
                    },
                },
            },
        })
    }
}

type Layers<BC, RC, RH, RN> = Wrap<
    Option<Bulkhead>,
    Wrap<
        Option<Timeout>,
        Wrap<
            Option<Retry<RC, RH, RN>>,
            Wrap<Option<RateLimiter>, Wrap<Option<CircuitBreaker<BC>>, Option<Timeout>>>,
        >,
    >,
>;

/// The stack a [`StackConfig`] describes: bulkhead, timeout, retry, rate limiter, breaker,
/// attempt timeout,
/// each there if the file has its section. A [`Policy<T, E>`](crate::Policy) like any stack:
/// call it, wrap it (a [`Fallback`](crate::Fallback) around it), hold it as
/// `impl Policy<T, E>`, or stack it in tower as one layer ([`layer`](Self::layer)).
///
/// # Costs
///
/// A layer left out costs one branch each time the call is polled (each layer is an `Option`,
/// see [`Optional`](crate::parts::Optional); in tower,
/// [`OptionalService`](crate::policy::OptionalService)); nothing is boxed or allocated, so the
/// stack is as cheap as the same layers wrapped by hand, plus a well-predicted branch per
/// section.
///
/// # Sharing
///
/// Cloning it clones the handles, which share their state: the breaker read through
/// [`breaker`](Self::breaker) is the one every call goes through.
///
/// # Examples
///
/// ```
/// use failguard::{Policy, config::StackConfig};
///
/// fn policy(text: &str) -> Result<impl Policy<u32, std::io::Error>, Box<dyn std::error::Error>> {
///     let config: StackConfig = toml::from_str(text)?;
///     Ok(config.build()?)
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = policy("[breaker]\nminimum_calls = 10")?;
/// assert_eq!(policy.call(|| async { Ok(3) }).await?, 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Stack<BC = ErrorIsFailure, RC = Rules, RH = NoHint, RN = Silent> {
    policy: Layers<BC, RC, RH, RN>,
}

impl<BC: Clone, RC: Clone, RH: Clone, RN: Clone> Clone for Stack<BC, RC, RH, RN> {
    fn clone(&self) -> Self {
        Self {
            policy: self.policy.clone(),
        }
    }
}

impl<BC, RC, RH, RN> Stack<BC, RC, RH, RN> {
    /// The bulkhead, if the file has one.
    ///
    /// ```
    /// let config: failguard::config::StackConfig = toml::from_str("[bulkhead]\nmax_concurrent = 8")?;
    /// assert_eq!(config.build()?.bulkhead().unwrap().snapshot().max_concurrent, 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bulkhead(&self) -> Option<&Bulkhead> {
        self.policy.outer.as_ref()
    }

    /// The timeout of the whole operation, if the file has one.
    ///
    /// ```
    /// let config: failguard::config::StackConfig = toml::from_str("[timeout]\nduration = \"3s\"")?;
    /// assert_eq!(config.build()?.timeout().unwrap().duration().as_secs(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(&self) -> Option<&Timeout> {
        self.policy.inner.outer.as_ref()
    }

    /// The retry, if the file has one.
    ///
    /// ```
    /// let config: failguard::config::StackConfig = toml::from_str("[retry]\nmax_attempts = 2")?;
    /// assert_eq!(config.build()?.retry().unwrap().max_attempts(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retry(&self) -> Option<&Retry<RC, RH, RN>> {
        self.policy.inner.inner.outer.as_ref()
    }

    /// The circuit breaker, if the file has one: keep a clone to read its snapshot.
    ///
    /// ```
    /// let config: failguard::config::StackConfig = toml::from_str("[breaker]\nname = \"users\"")?;
    /// let stack = config.build()?;
    /// assert_eq!(stack.breaker().unwrap().snapshot().name, "users");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn breaker(&self) -> Option<&CircuitBreaker<BC>> {
        self.policy.inner.inner.inner.inner.outer.as_ref()
    }

    /// The rate limiter, if the file has one.
    ///
    /// ```
    /// let config: failguard::config::StackConfig =
    ///     toml::from_str("[rate_limit]\npermits = 100\nperiod = \"1s\"\nburst = 10")?;
    /// assert_eq!(config.build()?.rate_limit().unwrap().snapshot().burst, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rate_limit(&self) -> Option<&RateLimiter> {
        self.policy.inner.inner.inner.outer.as_ref()
    }

    /// The timeout of each attempt, if the file has one.
    ///
    /// ```
    /// let config: failguard::config::StackConfig =
    ///     toml::from_str("[attempt_timeout]\nduration = \"500ms\"")?;
    /// assert_eq!(config.build()?.attempt_timeout().unwrap().duration().as_millis(), 500);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attempt_timeout(&self) -> Option<&Timeout> {
        self.policy.inner.inner.inner.inner.inner.as_ref()
    }

    /// Calls `f` through every layer, outermost first. The closure is called again for each
    /// attempt when the stack has a retry.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let stack = failguard::config::StackConfig::default().build()?; // no layer at all
    /// assert_eq!(stack.call(|| async { Ok::<_, std::io::Error>(1) }).await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<'a, F>(&'a self, f: F) -> Call<'a, Self, F>
    where
        &'a Self: Apply<OperationFn<F>>,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// The stack as one tower layer, each section's layer in the same order; a section the
    /// file left out is no layer ([`OptionalLayer`](crate::policy::OptionalLayer)). The layer
    /// shares the handles (the breaker's window, the bulkhead's permits) with this stack.
    ///
    /// ```
    /// use failguard::{Error, config::StackConfig};
    /// use tower::{Service, ServiceBuilder, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let config: StackConfig = toml::from_str(r#"
    ///     [bulkhead]
    ///     max_concurrent = 8
    ///     [breaker]
    ///     [attempt_timeout]
    ///     duration = "1s"
    /// "#)?;
    /// let stack = config.build()?;
    /// let mut svc = ServiceBuilder::new()
    ///     .layer(stack.layer())
    ///     .map_err(Error::Inner)
    ///     .service_fn(|n: u32| async move { Ok::<_, std::io::Error>(n + 1) });
    /// assert_eq!(svc.ready().await?.call(1).await?, 2);
    /// assert_eq!(stack.breaker().unwrap().snapshot().calls, 1);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> <Layers<BC, RC, RH, RN> as ToLayer>::Layer
    where
        Layers<BC, RC, RH, RN>: ToLayer,
    {
        self.policy.layer()
    }

    crate::policy::wrap_method!("failguard::config::StackConfig::default().build().unwrap()");
}

#[cfg(feature = "tower")]
impl<BC, RC, RH, RN> ToLayer for Stack<BC, RC, RH, RN>
where
    Layers<BC, RC, RH, RN>: ToLayer,
{
    type Layer = <Layers<BC, RC, RH, RN> as ToLayer>::Layer;

    fn layer(&self) -> Self::Layer {
        Stack::layer(self)
    }
}

impl<T, E, BC, RC, RH, RN> crate::Policy<T, E> for Stack<BC, RC, RH, RN>
where
    Layers<BC, RC, RH, RN>: crate::Policy<T, E>,
{
    type Around<'a, Op>
        = <Layers<BC, RC, RH, RN> as crate::Policy<T, E>>::Around<'a, Op>
    where
        Self: 'a,
        Op: SendOperation<T, E> + 'a;

    #[inline]
    fn around<'a, Op>(&'a self, op: Op) -> Self::Around<'a, Op>
    where
        Op: SendOperation<T, E> + 'a,
    {
        crate::Policy::<T, E>::around(&self.policy, op)
    }
}

impl<'a, Op, BC, RC, RH, RN> Apply<Op> for &'a Stack<BC, RC, RH, RN>
where
    &'a Layers<BC, RC, RH, RN>: Apply<Op>,
{
    type Output = <&'a Layers<BC, RC, RH, RN> as Apply<Op>>::Output;

    #[inline]
    fn apply(self, op: Op) -> Self::Output {
        (&self.policy).apply(op)
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op, BC, RC, RH, RN> Apply<Op> for Stack<BC, RC, RH, RN>
where
    Layers<BC, RC, RH, RN>: Apply<Op>,
{
    type Output = <Layers<BC, RC, RH, RN> as Apply<Op>>::Output;

    #[inline]
    fn apply(self, op: Op) -> Self::Output {
        self.policy.apply(op)
    }
}

/// In a chain (`stack.wrap(inner)`): the layers go around what is inside.
impl<'a, In, Op, BC, RC, RH, RN> Around<'a, In, Op> for Stack<BC, RC, RH, RN>
where
    Self: 'a,
    Layers<BC, RC, RH, RN>: Around<'a, In, Op>,
{
    type Output = <Layers<BC, RC, RH, RN> as Around<'a, In, Op>>::Output;

    #[inline]
    fn around(&'a self, inner: In, op: Op) -> Self::Output {
        Around::around(&self.policy, inner, op)
    }
}
