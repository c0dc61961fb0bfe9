//! Chaos: **a testing tool.** Injects faults (errors, latency, replacement results) into a
//! share of calls, to prove that a stack of policies does what you think when its dependency
//! misbehaves.
//!
//! <div class="warning">
//!
//! [`Chaos`] makes calls fail on purpose. It is for tests, staging and game days; a build
//! that ships it should keep it [disabled](Chaos::disable) unless someone turned it on
//! deliberately. Every injection is reported (`chaos.injected`, and [`ChaosEvent`] to listeners)
//! so that an injected fault is never mistaken for a real one.
//!
//! </div>
//!
//! # Why inject faults
//!
//! A retry, a breaker and a fallback are code paths that run only when something goes wrong,
//! which is exactly when nobody is watching. Unit tests with a mock that fails prove one policy;
//! injecting faults into the real stack (the real client, the real order of policies) proves
//! that they compose: that the timeout fires inside the retry and not outside it, that the
//! breaker opens before the retry budget is spent, that the fallback answers. Polly calls this
//! Simmy; tower-resilience and seatbelt have their own chaos layers.
//!
//! # What it injects
//!
//! One fault per policy (stack several for several faults: a chaos policy is a policy like any
//! other, usable anywhere in a stack and through both doors):
//!
//! | builder | the call | the operation inside |
//! |---|---|---|
//! | [`error(e)`](ChaosBuilder::error), [`error_with(f)`](ChaosBuilder::error_with) | fails with `e` (your own error type, as `Error::Inner`) | not called |
//! | [`latency(d)`](ChaosBuilder::latency), [`latency_with(f)`](ChaosBuilder::latency_with) | waits `d` first | called after the wait |
//! | [`result(v)`](ChaosBuilder::result), [`result_with(f)`](ChaosBuilder::result_with) | answers `Ok(v)` | not called |
//!
//! A call is injected with probability [`injection_rate`](ChaosBuilder::injection_rate): one
//! uniform draw from `rand` per call while enabled. [`seed`](ChaosBuilder::seed) pins the draws
//! (and the draws a [`latency_with`](ChaosBuilder::latency_with) closure makes), so a test that
//! injects is reproducible.
//!
//! # The switch
//!
//! [`enable`](Chaos::enable), [`disable`](Chaos::disable) and
//! [`set_injection_rate`](Chaos::set_injection_rate) act at run time, on every clone, layer and
//! call in flight that has not yet been polled: the handle is shared state (atomics). A test
//! flips it between phases; a service can expose it on an admin endpoint.
//!
//! # Costs
//!
//! **Disabled: one relaxed atomic load per call**, no random draw, no clock read, no timer
//! (a test checks this on the paused clock, and the `chaos` bench row measures it against a
//! bare call). Enabled: one random draw per call (under a lock when the generator is seeded or
//! given, as for [`Retry`](crate::Retry)'s jitter), plus the fault.
//!
//! # Examples
//!
//! ```
//! use failguard::{Error, Retry, chaos::Chaos};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! // Every call fails once injected; the retry must absorb a 50 % fault rate.
//! let chaos = Chaos::builder()
//!     .injection_rate(0.5)
//!     .error_with(|| std::io::Error::other("injected"))
//!     .seed(7)
//!     .build()?;
//! let policy = Retry::new(10)?.wrap(chaos.clone());
//! let answer = policy.call(|| async { Ok::<_, std::io::Error>("real") }).await;
//! assert_eq!(answer.unwrap(), "real");
//!
//! // Off: calls pass untouched.
//! chaos.disable();
//! let injected = chaos.snapshot().injected;
//! for _ in 0..100 {
//!     chaos.call(|| async { Ok::<_, std::io::Error>(()) }).await.unwrap();
//! }
//! assert_eq!(chaos.snapshot().injected, injected);
//! # Ok(())
//! # }
//! ```

mod events;
mod fault;
pub(crate) mod future;
#[cfg(feature = "tower")]
mod layer;

use std::{fmt, future::Future, sync::PoisonError, time::Duration};

use rand::RngCore;

pub use events::ChaosEvent;
pub use fault::{
    Drawn, ErrorFault, Fault, FromFn, InjectError, Injection, LatencyFault, Make, NoFault,
    ResultFault, Value,
};
pub use future::{ChaosCall, Injected};
#[cfg(feature = "tower")]
pub use layer::{ChaosLayer, ChaosService};

use crate::{
    ConfigError, Name, Operation,
    policy::{Apply, CallFuture, OperationFn},
    retry::rng::{SharedRng, Source},
    sync::{Arc, AtomicBool, AtomicU64, Ordering},
};

const DEFAULT_NAME: Name = Name::from_static("chaos");

/// **A testing tool**: injects a fault (an error, a latency or a result) into a share of the
/// calls through it, switchable at run time. See the [module docs](self).
///
/// A cheap `Clone` handle: every clone, every layer made with [`layer`](Self::layer) and every
/// service of it share one switch, one rate and one generator. `F` is the fault
/// ([`ErrorFault`], [`LatencyFault`], [`ResultFault`] or your own [`Fault`]).
///
/// # Panics
///
/// A latency injection is a tokio timer, which panics outside a Tokio runtime or in one built
/// without the time driver.
///
/// # Cancel safety
///
/// Dropping a call drops its injected wait or the call inside; see [`ChaosCall`].
///
/// # Examples
///
/// Slowing one call in four by 200 ms, through a tower stack, then turning it off:
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, chaos::Chaos};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let chaos = Chaos::builder()
///     .injection_rate(0.25)
///     .latency(Duration::from_millis(200))
///     .seed(1)
///     .build()?;
/// let mut svc = ServiceBuilder::new()
///     .layer(chaos.layer())
///     .map_err(Error::Inner)
///     .service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x) });
/// let start = tokio::time::Instant::now();
/// for i in 0..100 {
///     svc.ready().await?.call(i).await?;
/// }
/// let slowed = chaos.snapshot().injected;
/// assert!((10..=40).contains(&slowed));
/// assert_eq!(start.elapsed(), Duration::from_millis(200) * slowed as u32);
///
/// chaos.disable();
/// let start = tokio::time::Instant::now();
/// svc.ready().await?.call(0).await?;
/// assert_eq!(start.elapsed(), Duration::ZERO);
/// # Ok(())
/// # }
/// ```
pub struct Chaos<F> {
    state: Arc<ChaosState<F>>,
}

impl<F> Clone for Chaos<F> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
        }
    }
}

impl<F> fmt::Debug for Chaos<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chaos")
            .field("name", &self.state.name)
            .field("enabled", &self.state.is_enabled())
            .field("injection_rate", &self.state.rate())
            .finish_non_exhaustive()
    }
}

/// The state every clone of a [`Chaos`] shares.
pub struct ChaosState<F> {
    enabled: AtomicBool,
    // The rate's `f64` bits, so it can change at run time.
    rate: AtomicU64,
    injected: AtomicU64,
    fault: F,
    rng: Option<SharedRng>,
    name: Name,
    sinks: crate::events::Sinks,
}

impl<F> fmt::Debug for ChaosState<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChaosState").finish_non_exhaustive()
    }
}

impl<F> ChaosState<F> {
    #[inline(always)]
    fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    fn rate(&self) -> f64 {
        f64::from_bits(self.rate.load(Ordering::Relaxed))
    }

    /// Draws whether to inject and, if so, what.
    #[inline(never)]
    fn draw<T, Err>(&self) -> Option<Injection<T, Err>>
    where
        F: Fault<T, Err>,
    {
        let pick = |rng: &mut dyn RngCore| {
            // `random::<f64>()` is in [0, 1): a rate of 1 always injects, 0 never.
            let u: f64 = rand::Rng::random(rng);
            (u < self.rate()).then(|| self.fault.inject(rng))
        };
        let injection = match &self.rng {
            None => pick(&mut rand::rng()),
            Some(rng) => pick(&mut *rng.lock().unwrap_or_else(PoisonError::into_inner)),
        };
        if injection.is_some() {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        injection
    }
}

/// What a [`Chaos`] policy is doing, read without a lock.
///
/// ```
/// let chaos = failguard::chaos::Chaos::builder().latency(std::time::Duration::ZERO).build()?;
/// let snapshot = chaos.snapshot();
/// assert!(snapshot.enabled);
/// assert_eq!((snapshot.injection_rate, snapshot.injected), (0.1, 0));
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ChaosSnapshot {
    /// The policy's name.
    pub name: Name,
    /// Whether it injects.
    pub enabled: bool,
    /// The share of calls injected while enabled, from 0 to 1.
    pub injection_rate: f64,
    /// Faults injected since the policy was built.
    pub injected: u64,
}

impl Chaos<NoFault> {
    /// A builder: pick a fault (`error*`, `latency*` or `result*`), a rate, a seed.
    ///
    /// ```
    /// use failguard::chaos::Chaos;
    /// let chaos = Chaos::builder()
    ///     .injection_rate(0.05)
    ///     .result("stale")
    ///     .name("cache-chaos")
    ///     .build()?;
    /// assert_eq!(chaos.name(), "cache-chaos");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> ChaosBuilder<NoFault> {
        ChaosBuilder {
            fault: NoFault,
            rate: DEFAULT_RATE,
            enabled: true,
            rng: Source::Thread,
            name: None,
            sinks: crate::events::Sinks::default(),
        }
    }
}

impl<F> Chaos<F> {
    /// Calls `f`, or injects the fault instead (an error or a result) or before it (a latency).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let chaos = failguard::chaos::Chaos::builder().injection_rate(1.0).result(0).build()?;
    /// assert_eq!(chaos.call(|| async { Ok::<_, std::io::Error>(42) }).await.unwrap(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F2, Fut, T, E>(
        &self,
        f: F2,
    ) -> CallFuture<Injected<OperationFn<F2>, &ChaosState<F>>>
    where
        F2: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        F: Fault<T, crate::Error<E>>,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// Turns injection on, for every clone and layer.
    ///
    /// ```
    /// let chaos = failguard::chaos::Chaos::builder().enabled(false).result(0).build()?;
    /// chaos.enable();
    /// assert!(chaos.is_enabled());
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn enable(&self) {
        self.state.enabled.store(true, Ordering::Relaxed);
    }

    /// Turns injection off, for every clone and layer: calls then pass untouched, at the cost
    /// of one atomic load.
    ///
    /// ```
    /// let chaos = failguard::chaos::Chaos::builder().result(0).build()?;
    /// chaos.disable();
    /// assert!(!chaos.is_enabled());
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn disable(&self) {
        self.state.enabled.store(false, Ordering::Relaxed);
    }

    /// Whether it injects.
    ///
    /// ```
    /// assert!(failguard::chaos::Chaos::builder().result(0).build()?.is_enabled());
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.state.is_enabled()
    }

    /// Changes the share of calls injected, for every clone and layer.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `rate` is not within 0 to 1; the rate is then unchanged.
    ///
    /// ```
    /// let chaos = failguard::chaos::Chaos::builder().result(0).build()?;
    /// chaos.set_injection_rate(0.5)?;
    /// assert_eq!(chaos.snapshot().injection_rate, 0.5);
    /// assert!(chaos.set_injection_rate(1.5).is_err());
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn set_injection_rate(&self, rate: f64) -> Result<(), ConfigError> {
        check_rate(rate)?;
        self.state.rate.store(rate.to_bits(), Ordering::Relaxed);
        Ok(())
    }

    /// Its switch, rate and count of injections, read without a lock.
    ///
    /// ```
    /// let chaos = failguard::chaos::Chaos::builder().result(0).build()?;
    /// assert_eq!(chaos.snapshot().injected, 0);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn snapshot(&self) -> ChaosSnapshot {
        ChaosSnapshot {
            name: self.state.name.clone(),
            enabled: self.state.is_enabled(),
            injection_rate: self.state.rate(),
            injected: self.state.injected.load(Ordering::Relaxed),
        }
    }

    /// The policy's name.
    ///
    /// ```
    /// assert_eq!(failguard::chaos::Chaos::builder().result(0).build()?.name(), "chaos");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.state.name
    }

    /// This policy as a tower layer, sharing its switch, rate and generator.
    ///
    /// ```
    /// let layer = failguard::chaos::Chaos::builder().result(0).build()?.layer();
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> ChaosLayer<F> {
        ChaosLayer::new(self.clone())
    }

    crate::policy::wrap_method!(
        "failguard::chaos::Chaos::builder().latency(Duration::from_millis(1)).build()?"
    );
}

#[cfg(feature = "tower")]
impl<F> crate::policy::ToLayer for Chaos<F> {
    type Layer = ChaosLayer<F>;

    fn layer(&self) -> Self::Layer {
        Chaos::layer(self)
    }
}

crate::policy::typed_policy!(
    [F] Chaos<F> => Injected<Op, &'a ChaosState<F>>,
    where [F: Fault<T, crate::Error<E>> + Send + Sync]
);

impl<'a, Op: Operation, F> Apply<Op> for &'a Chaos<F>
where
    F: Fault<Op::Ok, Op::Error>,
{
    type Output = Injected<Op, &'a ChaosState<F>>;

    fn apply(self, op: Op) -> Self::Output {
        Injected {
            op,
            state: &self.state,
        }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op: Operation, F> Apply<Op> for Chaos<F>
where
    F: Fault<Op::Ok, Op::Error>,
{
    type Output = Injected<Op, Arc<ChaosState<F>>>;

    fn apply(self, op: Op) -> Self::Output {
        Injected {
            op,
            state: self.state,
        }
    }
}

const DEFAULT_RATE: f64 = 0.1;

fn check_rate(rate: f64) -> Result<(), ConfigError> {
    if (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(ConfigError::new(
            "chaos.injection_rate",
            format!("must be from 0.0 to 1.0 (got {rate})"),
        ))
    }
}

/// Builds a [`Chaos`] policy: a fault, a rate, a seed.
///
/// ```
/// use std::time::Duration;
/// use failguard::chaos::Chaos;
/// use rand::Rng;
///
/// // A tenth of the calls wait 50 to 150 ms, drawn from the seeded generator.
/// let chaos = Chaos::builder()
///     .injection_rate(0.1)
///     .latency_with(|rng| Duration::from_millis(rng.random_range(50..150)))
///     .seed(42)
///     .build()?;
/// # let _ = chaos;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[must_use = "a builder does nothing until `build()` is called"]
pub struct ChaosBuilder<F> {
    fault: F,
    rate: f64,
    enabled: bool,
    rng: Source,
    name: Option<Name>,
    sinks: crate::events::Sinks,
}

impl<F> fmt::Debug for ChaosBuilder<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChaosBuilder")
            .field("rate", &self.rate)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl<F> ChaosBuilder<F> {
    fn fault<G>(self, fault: G) -> ChaosBuilder<G> {
        ChaosBuilder {
            fault,
            rate: self.rate,
            enabled: self.enabled,
            rng: self.rng,
            name: self.name,
            sinks: self.sinks,
        }
    }

    /// Injected calls fail with a clone of `error`, your operation's own error type (for a
    /// `BoxError` tower service, any error).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let chaos = failguard::chaos::Chaos::builder().injection_rate(1.0).error("refused").build()?;
    /// let r = chaos.call(|| async { Ok::<u8, &str>(1) }).await;
    /// assert!(matches!(r, Err(failguard::Error::Inner("refused"))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn error<X: Clone>(self, error: X) -> ChaosBuilder<ErrorFault<Value<X>>> {
        self.fault(ErrorFault(Value(error)))
    }

    /// Injected calls fail with `make()`: for errors that are not `Clone` (`std::io::Error`).
    ///
    /// ```
    /// let chaos = failguard::chaos::Chaos::builder()
    ///     .error_with(|| std::io::Error::other("connection reset"))
    ///     .build()?;
    /// # let _ = chaos;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn error_with<X, M: Fn() -> X>(self, make: M) -> ChaosBuilder<ErrorFault<FromFn<M>>> {
        self.fault(ErrorFault(FromFn(make)))
    }

    /// Injected calls wait `delay` before they run.
    ///
    /// ```
    /// let chaos = failguard::chaos::Chaos::builder()
    ///     .latency(std::time::Duration::from_secs(2))
    ///     .build()?;
    /// # let _ = chaos;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn latency(self, delay: Duration) -> ChaosBuilder<LatencyFault<Value<Duration>>> {
        self.fault(LatencyFault(Value(delay)))
    }

    /// Injected calls wait `draw(rng)` before they run; `rng` is the policy's generator, so a
    /// [`seed`](Self::seed) pins these delays too.
    ///
    /// ```
    /// use rand::Rng;
    /// let chaos = failguard::chaos::Chaos::builder()
    ///     .latency_with(|rng| std::time::Duration::from_millis(rng.random_range(0..100)))
    ///     .build()?;
    /// # let _ = chaos;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn latency_with<D>(self, draw: D) -> ChaosBuilder<LatencyFault<Drawn<D>>>
    where
        D: Fn(&mut dyn RngCore) -> Duration,
    {
        self.fault(LatencyFault(Drawn(draw)))
    }

    /// Injected calls answer `Ok(value)` (a clone) without running.
    ///
    /// ```
    /// let chaos = failguard::chaos::Chaos::builder().result(Vec::<u8>::new()).build()?;
    /// # let _ = chaos;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn result<T: Clone>(self, value: T) -> ChaosBuilder<ResultFault<Value<T>>> {
        self.fault(ResultFault(Value(value)))
    }

    /// Injected calls answer `Ok(make())` without running.
    ///
    /// ```
    /// let chaos = failguard::chaos::Chaos::builder().result_with(|| String::from("stale")).build()?;
    /// # let _ = chaos;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn result_with<T, M: Fn() -> T>(self, make: M) -> ChaosBuilder<ResultFault<FromFn<M>>> {
        self.fault(ResultFault(FromFn(make)))
    }

    /// Injects any [`Fault`] of your own.
    ///
    /// ```
    /// use failguard::chaos::{Chaos, Fault, Injection};
    /// struct Teapot;
    /// impl<E> Fault<u16, E> for Teapot {
    ///     fn inject(&self, _: &mut dyn rand::RngCore) -> Injection<u16, E> {
    ///         Injection::Replace(418)
    ///     }
    /// }
    /// let chaos = Chaos::builder().custom(Teapot).build()?;
    /// # let _ = chaos;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn custom<G>(self, fault: G) -> ChaosBuilder<G> {
        self.fault(fault)
    }

    /// The share of calls injected while enabled, from 0 to 1; one uniform draw per call.
    ///
    /// # Default
    ///
    /// 0.1.
    pub fn injection_rate(mut self, rate: f64) -> Self {
        self.rate = rate;
        self
    }

    /// Whether the policy starts enabled; flip it later with [`Chaos::enable`].
    ///
    /// # Default
    ///
    /// `true`.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Draws from a `StdRng` seeded with `seed`: the same calls are injected, with the same
    /// faults, on every run (for calls made in the same order).
    ///
    /// # Default
    ///
    /// Each thread's own generator, [`rand::rng()`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = Source::Seed(seed);
        self
    }

    /// Draws from `rng`, any [`rand`] generator, shared by every clone behind a lock taken for
    /// one draw. Replaces [`seed`](Self::seed).
    ///
    /// # Default
    ///
    /// Each thread's own generator, [`rand::rng()`].
    pub fn rng(mut self, rng: impl RngCore + Send + 'static) -> Self {
        self.rng = Source::shared(rng);
        self
    }

    /// The name shown in events and snapshots.
    ///
    /// # Default
    ///
    /// `"chaos"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends the policy's [`ChaosEvent`]s (one per injection) to `listener`, next to the
    /// `tracing` output.
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// use failguard::{chaos::Chaos, events::Event};
    /// let chaos = Chaos::builder()
    ///     .result(0)
    ///     .listener(|e: &Event<'_>| eprintln!("{}: {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = chaos;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// Checks the configuration and builds the policy. A policy built without a fault
    /// ([`NoFault`]) is a policy for no call: pick one first.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `chaos.injection_rate` if the rate is not within 0 to 1.
    ///
    /// ```
    /// let err = failguard::chaos::Chaos::builder().injection_rate(2.0).result(0).build().unwrap_err();
    /// assert_eq!(err.field(), "chaos.injection_rate");
    /// ```
    pub fn build(self) -> Result<Chaos<F>, ConfigError> {
        check_rate(self.rate)?;
        Ok(Chaos {
            state: Arc::new(ChaosState {
                enabled: AtomicBool::new(self.enabled),
                rate: AtomicU64::new(self.rate.to_bits()),
                injected: AtomicU64::new(0),
                fault: self.fault,
                rng: self.rng.build(),
                name: self.name.unwrap_or(DEFAULT_NAME),
                sinks: self.sinks,
            }),
        })
    }
}
