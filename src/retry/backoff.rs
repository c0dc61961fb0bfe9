//! Backoff as plain data: how long to wait before each retry, as a pure function of the retry
//! number and one random draw.
//!
//! A [`Backoff`] needs no timer and no runtime: [`Backoff::delay`] computes one delay from its
//! inputs, and [`Backoff::delays`] yields the sequence a [`Retry`](super::Retry) seeded the same
//! way would sleep. The formulas, with `n` the retry number (0 before the first retry), `base` the
//! configured delay, `cap` the `max_delay`, `prev` the previous delay (`base` before the first
//! retry) and `U(a, b)` a uniform draw from `[a, b)`:
//!
//! | growth | nominal delay `d(n)` |
//! |---|---|
//! | [`constant`](Backoff::constant) | `min(cap, base)` |
//! | [`linear`](Backoff::linear) | `min(cap, base * (n + 1))` |
//! | [`exponential`](Backoff::exponential) | `min(cap, base * factor^n)`, `factor` 2 unless set |
//!
//! | jitter | delay slept |
//! |---|---|
//! | [`Jitter::None`] | `d(n)` |
//! | [`Jitter::Full`] | `U(0, d(n))` |
//! | [`Jitter::Equal`] | `d(n) / 2 + U(0, d(n) / 2)` |
//! | [`Jitter::Decorrelated`] | `min(cap, U(base, 3 * prev))` (AWS's form: the growth is its own) |
//!
//! The cap is applied to `d(n)` before any jitter, so no jitter can exceed it, and decorrelated
//! jitter clamps its own draw: **the cap is a hard cap in every mode**. The arithmetic saturates
//! instead of overflowing, so any retry number (10,000, `u32::MAX`) gives a delay in range.
//!
//! Example delays (base 100 ms, cap 2 s, no jitter; for jitter, the range each delay is drawn
//! from):
//!
//! | n | constant | linear | exponential | full | equal | decorrelated |
//! |---|---|---|---|---|---|---|
//! | 0 | 100 ms | 100 ms | 100 ms | 0–100 ms | 50–100 ms | 100–300 ms |
//! | 1 | 100 ms | 200 ms | 200 ms | 0–200 ms | 100–200 ms | 100 ms–3 × prev |
//! | 2 | 100 ms | 300 ms | 400 ms | 0–400 ms | 200–400 ms | 100 ms–3 × prev |
//! | 4 | 100 ms | 500 ms | 1.6 s | 0–1.6 s | 0.8–1.6 s | at most 2 s |
//! | 5 | 100 ms | 600 ms | 2 s (capped) | 0–2 s | 1–2 s | at most 2 s |
//! | 10,000 | 100 ms | 2 s (capped) | 2 s (capped) | 0–2 s | 1–2 s | at most 2 s |
//!
//! (The full and equal columns use exponential growth.)

use std::time::Duration;

use rand::{SeedableRng, rngs::StdRng};

use super::rng::unit;
use crate::ConfigError;

/// The default `max_delay`: 30 seconds. A retry that waits longer than this is rarely still
/// wanted by its caller.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(30);

/// The longest `max_delay` accepted: one day.
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// How a [`Backoff`] randomises its delays, so that many clients retrying together do not all
/// come back at the same instant. See the [module docs](self) for the formulas.
///
/// ```
/// use std::time::Duration;
/// use failguard::retry::{Backoff, Jitter};
///
/// let backoff = Backoff::exponential(Duration::from_millis(100)).jitter(Jitter::Equal);
/// // Equal jitter keeps half the delay: at least 50 ms, less than 100 ms, before the first retry.
/// let d = backoff.delay(0, None, 0.5);
/// assert_eq!(d, Duration::from_millis(75));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Jitter {
    /// No randomness: the nominal delay.
    #[default]
    None,
    /// Anywhere from zero to the nominal delay: `U(0, d)`. Spreads retries the most.
    Full,
    /// Half the nominal delay fixed, half random: `d/2 + U(0, d/2)`. Never shorter than half.
    Equal,
    /// AWS's decorrelated jitter: `min(cap, U(base, 3 * prev))`, growing from the previous delay
    /// rather than from the retry number.
    Decorrelated,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Growth {
    Constant,
    Linear,
    Exponential { factor: f64 },
}

/// How long to wait before each retry: a growth (constant, linear or exponential), a hard cap
/// and a jitter. Plain data: [`delay`](Self::delay) is a pure function.
///
/// Values are checked when the [`Retry`](super::Retry) using the backoff is built (a cap below
/// the base, a factor below 1, ...); `delay` itself never panics, whatever the values.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::retry::{Backoff, Jitter};
///
/// let backoff = Backoff::exponential(Duration::from_millis(100))
///     .max_delay(Duration::from_secs(1))
///     .jitter(Jitter::None);
/// let delays: Vec<_> = backoff.delays(0).take(6).collect();
/// assert_eq!(
///     delays,
///     [100, 200, 400, 800, 1000, 1000].map(Duration::from_millis)
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    growth: Growth,
    base: Duration,
    max_delay: Duration,
    jitter: Jitter,
}

impl Backoff {
    fn with(growth: Growth, base: Duration) -> Self {
        Self {
            growth,
            base,
            max_delay: DEFAULT_MAX_DELAY,
            jitter: Jitter::None,
        }
    }

    /// The same delay before every retry. `Backoff::constant(Duration::ZERO)` retries at once.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = failguard::retry::Backoff::constant(Duration::from_millis(250));
    /// assert_eq!(backoff.delay(7, None, 0.0), Duration::from_millis(250));
    /// ```
    pub fn constant(delay: Duration) -> Self {
        Self::with(Growth::Constant, delay)
    }

    /// `base * (n + 1)` before retry `n`: `base`, `2 * base`, `3 * base`, ...
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = failguard::retry::Backoff::linear(Duration::from_millis(100));
    /// assert_eq!(backoff.delay(2, None, 0.0), Duration::from_millis(300));
    /// ```
    pub fn linear(base: Duration) -> Self {
        Self::with(Growth::Linear, base)
    }

    /// `base * factor^n` before retry `n`, with `factor` 2 unless [`factor`](Self::factor) says
    /// otherwise: `base`, `2 * base`, `4 * base`, ...
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = failguard::retry::Backoff::exponential(Duration::from_millis(100));
    /// assert_eq!(backoff.delay(3, None, 0.0), Duration::from_millis(800));
    /// ```
    pub fn exponential(base: Duration) -> Self {
        Self::with(Growth::Exponential { factor: 2.0 }, base)
    }

    /// The growth factor of an [`exponential`](Self::exponential) backoff; makes any other
    /// backoff exponential from its base.
    ///
    /// # Default
    ///
    /// 2.0. It must be finite, at least 1.0 and at most 100.0.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = failguard::retry::Backoff::exponential(Duration::from_millis(100)).factor(3.0);
    /// assert_eq!(backoff.delay(2, None, 0.0), Duration::from_millis(900));
    /// ```
    pub fn factor(mut self, factor: f64) -> Self {
        self.growth = Growth::Exponential { factor };
        self
    }

    /// The hard cap on every delay, jitter included.
    ///
    /// # Default
    ///
    /// [`DEFAULT_MAX_DELAY`] (30 s). It must be at least the base delay and at most [`MAX_DELAY`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = failguard::retry::Backoff::exponential(Duration::from_secs(1))
    ///     .max_delay(Duration::from_secs(5));
    /// assert_eq!(backoff.delay(10_000, None, 0.0), Duration::from_secs(5));
    /// ```
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// How delays are randomised.
    ///
    /// # Default
    ///
    /// [`Jitter::None`] for a `Backoff` you make; a [`Retry`](super::Retry) without a backoff
    /// set uses exponential growth with [`Jitter::Full`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::retry::{Backoff, Jitter};
    /// let backoff = Backoff::constant(Duration::from_secs(1)).jitter(Jitter::Full);
    /// assert_eq!(backoff.delay(0, None, 0.25), Duration::from_millis(250));
    /// ```
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The base delay.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = failguard::retry::Backoff::linear(Duration::from_millis(10));
    /// assert_eq!(backoff.base(), Duration::from_millis(10));
    /// ```
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The cap.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = failguard::retry::Backoff::linear(Duration::from_millis(10));
    /// assert_eq!(backoff.cap(), failguard::retry::backoff::DEFAULT_MAX_DELAY);
    /// ```
    pub fn cap(&self) -> Duration {
        self.max_delay
    }

    /// How the delay grows.
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) fn growth(&self) -> Growth {
        self.growth
    }

    /// The jitter.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::retry::{Backoff, Jitter};
    /// assert_eq!(Backoff::linear(Duration::from_millis(10)).jitter_mode(), Jitter::None);
    /// ```
    pub fn jitter_mode(&self) -> Jitter {
        self.jitter
    }

    /// The nominal delay before retry `n`, capped, before jitter: `d(n)` in the module docs.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = failguard::retry::Backoff::exponential(Duration::from_millis(1));
    /// assert_eq!(backoff.nominal(u32::MAX), failguard::retry::backoff::DEFAULT_MAX_DELAY);
    /// ```
    pub fn nominal(&self, n: u32) -> Duration {
        let cap = nanos(self.max_delay);
        let base = nanos(self.base);
        let d = match self.growth {
            Growth::Constant => base.min(cap),
            Growth::Linear => base.saturating_mul(u64::from(n) + 1).min(cap),
            Growth::Exponential { factor } => {
                // In f64 so that a huge n saturates to infinity (then the cap) instead of
                // overflowing; exact for the usual bases and factors (below 2^53 ns).
                let exponent = i32::try_from(n).unwrap_or(i32::MAX);
                let d = base as f64 * factor.powi(exponent);
                clamp_nanos(d, cap)
            }
        };
        Duration::from_nanos(d)
    }

    /// The delay before retry `n` (0 before the first retry), given the previous delay `prev`
    /// (for decorrelated jitter; `None` before the first retry, meaning `base`) and one uniform
    /// random draw from `[0, 1)` (ignored without jitter; clamped into range, NaN counts as 0).
    ///
    /// This is the whole of the backoff's arithmetic; see the module docs for the formulas.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::retry::{Backoff, Jitter};
    ///
    /// let backoff = Backoff::exponential(Duration::from_millis(100))
    ///     .max_delay(Duration::from_secs(1))
    ///     .jitter(Jitter::Decorrelated);
    /// // U(base, 3 * prev) with prev = 200 ms and a draw of 0.5: 100 + 0.5 * (600 - 100) = 350 ms.
    /// let d = backoff.delay(1, Some(Duration::from_millis(200)), 0.5);
    /// assert_eq!(d, Duration::from_millis(350));
    /// ```
    pub fn delay(&self, n: u32, prev: Option<Duration>, draw: f64) -> Duration {
        let draw = if (0.0..1.0).contains(&draw) {
            draw
        } else if draw >= 1.0 {
            MAX_DRAW
        } else {
            0.0 // negative or NaN
        };
        let cap = nanos(self.max_delay);
        let d = match self.jitter {
            Jitter::None => return self.nominal(n),
            Jitter::Full => scale(nanos(self.nominal(n)), draw),
            Jitter::Equal => {
                let d = nanos(self.nominal(n));
                let half = d / 2;
                // The random half is `d - half`, so an odd d still ends below d.
                half + scale(d - half, draw)
            }
            Jitter::Decorrelated => {
                let base = nanos(self.base).min(cap);
                let prev = prev.map_or(base, nanos);
                let high = prev.saturating_mul(3).max(base);
                (base + scale(high - base, draw)).min(cap)
            }
        };
        Duration::from_nanos(d)
    }

    /// The delays a retry would sleep, in order, with randomness from a [`StdRng`] seeded with
    /// `seed`: the same sequence as a [`Retry`](super::Retry) built with `.seed(seed)` sleeps on
    /// its first call (when every attempt asks for a retry and no hint overrides the backoff).
    /// Each jittered delay takes one `f64` from the generator (`rng.random::<f64>()`, uniform in
    /// `[0, 1)`); without jitter nothing is drawn.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::retry::{Backoff, Jitter};
    /// let backoff = Backoff::exponential(Duration::from_millis(100)).jitter(Jitter::Full);
    /// for (n, d) in backoff.delays(42).take(20).enumerate() {
    ///     assert!(d < backoff.nominal(n as u32));
    /// }
    /// ```
    pub fn delays(&self, seed: u64) -> Delays {
        Delays {
            backoff: *self,
            rng: StdRng::seed_from_u64(seed),
            n: 0,
            prev: None,
        }
    }

    /// Checks the values; fields are named `retry.backoff.*`.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.max_delay > MAX_DELAY {
            return Err(ConfigError::new(
                "retry.backoff.max_delay",
                format!("must be at most one day (got {:?})", self.max_delay),
            ));
        }
        if self.max_delay < self.base {
            return Err(ConfigError::new(
                "retry.backoff.max_delay",
                format!(
                    "must be at least the base delay {:?} (got {:?})",
                    self.base, self.max_delay
                ),
            ));
        }
        if self.base.is_zero() && self.growth != Growth::Constant {
            return Err(ConfigError::new(
                "retry.backoff.base",
                "must be greater than zero for linear and exponential growth (got 0ns)",
            ));
        }
        if let Growth::Exponential { factor } = self.growth {
            if !(1.0..=100.0).contains(&factor) {
                return Err(ConfigError::new(
                    "retry.backoff.factor",
                    format!("must be from 1.0 to 100.0 (got {factor})"),
                ));
            }
        }
        Ok(())
    }
}

/// The largest draw below 1.0.
const MAX_DRAW: f64 = 1.0 - f64::EPSILON / 2.0;

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `d` (nanoseconds, possibly infinite or NaN) as whole nanoseconds, at most `cap`.
fn clamp_nanos(d: f64, cap: u64) -> u64 {
    if d >= cap as f64 {
        cap
    } else if d > 0.0 {
        (d as u64).min(cap) // `as` truncates: never rounds up past the formula
    } else {
        0
    }
}

/// `floor(range * draw)` for a draw in `[0, 1)`: always below `range` when `range > 0`.
fn scale(range: u64, draw: f64) -> u64 {
    let x = (range as f64 * draw) as u64;
    // f64 rounding of a huge range could reach it; the formula's interval is open above.
    x.min(range.saturating_sub(1))
}

/// The delays of a [`Backoff`] with randomness from a seed; made by [`Backoff::delays`].
///
/// An endless iterator: retry numbers saturate at `u32::MAX`.
///
/// ```
/// # use std::time::Duration;
/// let backoff = failguard::retry::Backoff::constant(Duration::from_secs(1));
/// let mut delays = backoff.delays(1);
/// assert_eq!(delays.next(), Some(Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone)]
pub struct Delays {
    backoff: Backoff,
    rng: StdRng,
    n: u32,
    prev: Option<Duration>,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let draw = if self.backoff.jitter == Jitter::None {
            0.0
        } else {
            unit(&mut self.rng)
        };
        let d = self.backoff.delay(self.n, self.prev, draw);
        self.n = self.n.saturating_add(1);
        self.prev = Some(d);
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn draw_is_clamped_into_range() {
        let b = Backoff::constant(100 * MS).jitter(Jitter::Full);
        assert_eq!(b.delay(0, None, f64::NAN), Duration::ZERO);
        assert_eq!(b.delay(0, None, -3.0), Duration::ZERO);
        assert!(b.delay(0, None, 7.0) < 100 * MS);
        assert!(b.delay(0, None, f64::INFINITY) < 100 * MS);
    }
}
