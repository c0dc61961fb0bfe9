//! The generic cell rate algorithm (GCRA) on one atomic word, in exact integer arithmetic.
//!
//! # The arithmetic
//!
//! A rate of `count` permits per `period` spaces permits `T = period / count` apart, which is
//! rarely a whole number of nanoseconds (a third of a second is not). Rounding `T` would drift:
//! a limiter of 3 per second rounding to 333,333,333 ns lets one extra call through every
//! 333 million calls, and more at higher rates. So the core counts time in *units* chosen so
//! that `T` is a whole number of them, exactly:
//!
//! - reduce `period_ns / count` to `p / q` (lowest terms), so `T = p / q` ns;
//! - let `m = ceil(p / q)`, the number of units in `T`; one unit is `u = T / m` ns, which is
//!   at most 1 ns and more than 0.5 ns (`T` is at least 1 ns, a rule of the builder);
//! - a time of `t` ns is `floor(t · q · m / p)` units (computed in `u128`: exact).
//!
//! `T` is exactly `m` units and the burst tolerance exactly `burst · m` units: each permit moves
//! the theoretical arrival time (TAT) by an exact integer, so nothing accumulates, whatever the
//! number of calls. The only rounding is of the clock reading itself (down, to a unit under a
//! nanosecond), which does not accumulate either: it is a floor of the true time, not a sum.
//!
//! No overflow: the builder keeps `period` at most 365 days (`p < 2^55`, `q·m <= p + q < 2^56`)
//! and `burst · m` at most `2^62`, so `t · q · m` fits `u128` for any `t < 2^64` ns, a unit
//! count is at most twice the nanoseconds (it overflows `u64` after 292 years of uptime, and
//! saturates there rather than wrapping), and `TAT + weight · m` is a saturating add that
//! cannot saturate in practice.
//!
//! # The decision
//!
//! With the TAT in the word and `now` in units, a call of `n` permits is allowed when
//! `max(TAT, now) + n·m - now <= burst·m`, and then `max(TAT, now) + n·m` is the new TAT (one
//! compare-and-swap). When it is not allowed, the earliest time it would be is
//! `TAT + n·m - burst·m` units, converted back to the first nanosecond at or after it: the
//! rejection's `retry_after` is exact. A call of more than `burst` permits is never allowed.

use std::time::Duration;

use tokio::time::Instant;

use crate::{
    Name,
    sync::{
        AtomicU64,
        Ordering::{AcqRel, Acquire, Relaxed},
    },
};

/// The longest period accepted.
pub(crate) const MAX_PERIOD: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// The largest burst tolerance, in units.
const MAX_TOLERANCE: u128 = 1 << 62;

/// The constants of one rate, in units (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// `T` in units.
    m: u64,
    /// `burst · m`.
    tolerance: u64,
    /// `q · m`: units per `p` ns.
    qm: u128,
    /// `q · m - p` (less than `q`): the units a reading gains over its nanoseconds, per `p` ns.
    /// Zero when `T` is a whole number of nanoseconds: a unit is then a nanosecond.
    extra: u64,
    /// `p`.
    p: u128,
    burst: u32,
}

/// Why a rate cannot be represented; the builder turns it into a `ConfigError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GcraError {
    Count,
    Period,
    TooFast,
    Burst,
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Gcra {
    /// `count` permits per `period`, up to `burst` at once.
    pub(crate) fn new(count: u64, period: Duration, burst: u32) -> Result<Self, GcraError> {
        if count == 0 {
            return Err(GcraError::Count);
        }
        if period.is_zero() || period > MAX_PERIOD {
            return Err(GcraError::Period);
        }
        let period_ns = period.as_nanos();
        let count = u128::from(count);
        if count > period_ns {
            return Err(GcraError::TooFast);
        }
        if burst == 0 {
            return Err(GcraError::Burst);
        }
        let g = gcd(period_ns, count);
        let (p, q) = (period_ns / g, count / g);
        let m = p.div_ceil(q);
        let tolerance = u128::from(burst) * m;
        if tolerance > MAX_TOLERANCE {
            return Err(GcraError::Burst);
        }
        Ok(Self {
            m: m as u64,
            tolerance: tolerance as u64,
            qm: q * m,
            extra: (q * m - p) as u64,
            p,
            burst,
        })
    }

    /// `ns` nanoseconds after the base, in units (rounded down): `ns · q·m / p`, which is
    /// `ns + ns · extra / p`. No division at all when `T` is whole nanoseconds, a 64-bit one
    /// while `ns · extra` fits 64 bits, a 128-bit one (a library call, several times slower)
    /// only beyond that.
    #[inline]
    pub(crate) fn units(&self, ns: u64) -> u64 {
        if self.extra == 0 {
            return ns;
        }
        match ns.checked_mul(self.extra) {
            Some(x) => ns.saturating_add(x / self.p as u64),
            None => u64::try_from(u128::from(ns) * self.qm / self.p).unwrap_or(u64::MAX),
        }
    }

    /// The first nanosecond at which the clock reads at least `units` (rounded up).
    #[inline]
    pub(crate) fn nanos(&self, units: u64) -> u64 {
        u64::try_from((u128::from(units) * self.p).div_ceil(self.qm)).unwrap_or(u64::MAX)
    }

    /// The burst, in permits.
    pub(crate) fn burst(&self) -> u32 {
        self.burst
    }

    /// A call of `weight` permits at `now` units, with the TAT at `tat`: `Ok(new TAT)` if it
    /// conforms, else `Err(Some(the earliest unit at which it would))`, or `Err(None)` if it
    /// never will (`weight` above the burst).
    ///
    /// `slack` extends the tolerance: a call that conforms within `slack` units reserves its
    /// permits now, for the earliest unit it conforms at, returned alongside.
    #[inline]
    pub(crate) fn decide(&self, tat: u64, now: u64, weight: u32, slack: u64) -> Decision {
        if weight > self.burst {
            return Decision::Never;
        }
        let increment = u64::from(weight) * self.m;
        let new_tat = tat.max(now).saturating_add(increment);
        let ahead = new_tat - now;
        if ahead <= self.tolerance {
            return Decision::Now { new_tat };
        }
        // Here `tat > now`: an idle limiter (tat <= now) always conforms, as weight <= burst.
        let at = new_tat - self.tolerance;
        if ahead - self.tolerance <= slack {
            Decision::Later { new_tat, at }
        } else {
            Decision::No { at }
        }
    }

    /// Permits free at `now`, with the TAT at `tat`.
    pub(crate) fn available(&self, tat: u64, now: u64) -> u32 {
        let used = tat.saturating_sub(now).div_ceil(self.m);
        (u64::from(self.burst)).saturating_sub(used) as u32
    }

    /// `weight` permits, in units.
    pub(crate) fn cost(&self, weight: u32) -> u64 {
        u64::from(weight) * self.m
    }
}

/// What [`Gcra::decide`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Conforms now; store `new_tat`.
    Now { new_tat: u64 },
    /// Conforms at unit `at`, within the slack; store `new_tat` to reserve it.
    Later { new_tat: u64, at: u64 },
    /// Conforms at unit `at`, beyond the slack.
    No { at: u64 },
    /// Never conforms.
    Never,
}

/// The shared state of a [`RateLimiter`](super::RateLimiter); it only appears in type
/// signatures.
#[derive(Debug)]
pub struct RateLimitState {
    pub(crate) gcra: Gcra,
    pub(crate) max_wait: Duration,
    pub(crate) name: Name,
    pub(crate) sinks: crate::events::Sinks,
    base: Instant,
    /// The theoretical arrival time, in units after `base`.
    tat: AtomicU64,
    rejected: AtomicU64,
}

/// What [`RateLimitState::acquire`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    /// The permits are taken; go.
    Now,
    /// The permits are reserved for `at`, leaving the TAT at `tat`; sleep until then, and
    /// offer them back ([`RateLimitState::give_back`]) if dropped.
    Wait { at: Instant, tat: u64 },
    /// Not now: `retry_after` until a call of this weight would pass, `None` if never.
    Rejected { retry_after: Option<Duration> },
}

impl RateLimitState {
    pub(crate) fn new(gcra: Gcra, max_wait: Duration, name: Name) -> Self {
        Self {
            gcra,
            max_wait,
            name,
            sinks: crate::events::Sinks::default(),
            base: Instant::now(),
            tat: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// Nanoseconds since the base: the one clock read of a call.
    #[inline]
    fn now_ns(&self) -> u64 {
        let since = Instant::now().saturating_duration_since(self.base);
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Takes `weight` permits now, or reserves them for a moment within `max_wait` when `wait`
    /// is set, or says when they will be free.
    #[inline]
    pub(crate) fn acquire(&self, weight: u32, wait: bool) -> Grant {
        let now_ns = self.now_ns();
        self.acquire_at(now_ns, weight, wait)
    }

    pub(crate) fn acquire_at(&self, now_ns: u64, weight: u32, wait: bool) -> Grant {
        let now = self.gcra.units(now_ns);
        // The slack in units: the units of the last nanosecond of the wait allowed.
        let slack = if wait && !self.max_wait.is_zero() {
            let until = now_ns.saturating_add(self.max_wait.as_nanos() as u64);
            self.gcra.units(until) - now
        } else {
            0
        };
        let mut tat = self.tat.load(Acquire);
        loop {
            let (new_tat, at) = match self.gcra.decide(tat, now, weight, slack) {
                Decision::Now { new_tat } => (new_tat, None),
                Decision::Later { new_tat, at } => (new_tat, Some(at)),
                Decision::No { at } => {
                    self.rejected.fetch_add(1, Relaxed);
                    let at_ns = self.gcra.nanos(at);
                    let retry_after = Duration::from_nanos(at_ns.saturating_sub(now_ns));
                    return Grant::Rejected {
                        retry_after: Some(retry_after),
                    };
                }
                Decision::Never => {
                    self.rejected.fetch_add(1, Relaxed);
                    return Grant::Rejected { retry_after: None };
                }
            };
            match self
                .tat
                .compare_exchange_weak(tat, new_tat, AcqRel, Acquire)
            {
                Ok(_) => {
                    return match at {
                        None => Grant::Now,
                        Some(at) => Grant::Wait {
                            at: self.base + Duration::from_nanos(self.gcra.nanos(at)),
                            tat: new_tat,
                        },
                    };
                }
                Err(actual) => tat = actual,
            }
        }
    }

    /// Gives back `weight` permits a waiter reserved (leaving the TAT at `reserved`) and never
    /// used, if no later reservation stands on them: returns whether it did.
    ///
    /// While a waiter waits, the TAT is at least its `reserved` (time has not reached its
    /// moment, so nothing clamps the TAT, and only give-backs lower it), and it is exactly
    /// `reserved` when every reservation made after it has been given back. Only then are its
    /// permits the last ones and can be returned by moving the TAT back by their cost: the
    /// limiter is then exactly as if the waiter had never come. A waiter with reservations
    /// after it cannot return its permits without letting a newcomer share a later waiter's
    /// moment (two calls where the rate allows one), so its permits go unused.
    pub(crate) fn give_back(&self, weight: u32, reserved: u64) -> bool {
        let cost = self.gcra.cost(weight);
        self.tat
            .compare_exchange(reserved, reserved - cost, AcqRel, Acquire)
            .is_ok()
    }

    /// Permits free now.
    /// A limiter with these settings (renamed `name`, if given) and its whole burst free.
    #[cfg(feature = "keyed")]
    pub(crate) fn fresh(&self, name: Option<&Name>) -> Self {
        let name = name.unwrap_or(&self.name).clone();
        let mut state = Self::new(self.gcra, self.max_wait, name);
        state.sinks = self.sinks.clone();
        state
    }

    /// Its whole burst is free (nothing owed, no waiter's permit reserved): a fresh limiter
    /// would be the same. One that is limiting is never at rest, so dropping it cannot hand its
    /// caller a new burst.
    #[cfg(feature = "keyed")]
    pub(crate) fn at_rest(&self) -> bool {
        let now = self.gcra.units(self.now_ns());
        self.tat.load(Acquire) <= now
    }

    pub(crate) fn available(&self) -> u32 {
        let now = self.gcra.units(self.now_ns());
        self.gcra.available(self.tat.load(Acquire), now)
    }

    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Relaxed)
    }
}

#[cfg(test)]
mod tests;

#[cfg(all(test, failguard_loom))]
mod loom_tests {
    use super::*;
    use crate::sync::Arc;
    use loom::thread;

    fn state(burst: u32) -> Arc<RateLimitState> {
        let gcra = Gcra::new(1, Duration::from_secs(1), burst).unwrap();
        Arc::new(RateLimitState::new(
            gcra,
            Duration::from_secs(10),
            Name::from("loom"),
        ))
    }

    /// Two callers race for one permit at the same instant: exactly one gets it, whatever the
    /// interleaving.
    #[test]
    fn loom_one_permit_goes_to_exactly_one_caller() {
        loom::model(|| {
            let s = state(1);
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let s = s.clone();
                    thread::spawn(move || s.acquire_at(0, 1, false) == Grant::Now)
                })
                .collect();
            let admitted = threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|&a| a)
                .count();
            assert_eq!(admitted, 1);
        });
    }

    /// A waiter gives its reservation back while another caller reserves: the reservations
    /// left are exactly the ones still held, whatever the interleaving.
    #[test]
    fn loom_a_give_back_racing_a_reservation_loses_nothing() {
        loom::model(|| {
            let s = state(1);
            assert_eq!(s.acquire_at(0, 1, false), Grant::Now);
            let Grant::Wait { tat: reserved, .. } = s.acquire_at(0, 1, true) else {
                panic!("the second caller reserves")
            };
            let giver = {
                let s = s.clone();
                thread::spawn(move || s.give_back(1, reserved))
            };
            let other = s.acquire_at(0, 1, true);
            let given = giver.join().unwrap();
            assert!(matches!(other, Grant::Wait { .. }));
            // Given back only if it was still the last reservation; either way the TAT
            // counts exactly the cells still held (two, or three with the unused one).
            let held = if given { 2 } else { 3 };
            assert_eq!(s.tat.load(Acquire), held * s.gcra.m);
        });
    }
}
