//! A hedge's shared state: its settings, the delay (fixed, or read from the latency
//! histogram), the budget, and its counters.

use std::time::Duration;

use tokio::time::Instant;

use super::{HedgeEvent, histogram::Histogram};
use crate::{
    Name,
    events::EventKind,
    retry::RetryBudget,
    sync::{AtomicU64, Ordering},
};

/// How often a dynamic delay is read again from the histogram, at most.
pub(crate) const REFRESH: Duration = Duration::from_millis(100);
/// Observations a dynamic delay needs before it trusts its percentile; until then it waits
/// its cap.
pub const MIN_SAMPLES: u64 = 50;

pub(crate) struct Dynamic {
    pub(crate) histogram: Histogram,
    percent: f64,
    floor: Duration,
    cap: Duration,
    /// The delay in nanoseconds, and when it may be read again (nanoseconds from `origin`).
    cached: AtomicU64,
    next_refresh: AtomicU64,
    origin: Instant,
}

/// What every clone of a [`Hedge`](super::Hedge) shares.
pub struct HedgeState<C> {
    pub(crate) max_hedged: u32,
    pub(crate) fixed: Duration,
    pub(crate) dynamic: Option<Dynamic>,
    pub(crate) hedge_on_failure: bool,
    pub(crate) classify: C,
    pub(crate) budget: Option<RetryBudget>,
    pub(crate) name: Name,
    pub(crate) sinks: crate::events::Sinks,
    pub(crate) hedges: AtomicU64,
    pub(crate) hedge_wins: AtomicU64,
    pub(crate) budget_exhausted: AtomicU64,
}

impl<C> std::fmt::Debug for HedgeState<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HedgeState")
            .field("name", &self.name)
            .field("max_hedged", &self.max_hedged)
            .finish_non_exhaustive()
    }
}

impl Dynamic {
    pub(crate) fn new(percent: f64, floor: Duration, cap: Duration, window: Duration) -> Self {
        let origin = Instant::now();
        Self {
            histogram: Histogram::new(window, origin),
            percent,
            floor,
            cap,
            cached: AtomicU64::new(nanos(cap)),
            next_refresh: AtomicU64::new(0),
            origin,
        }
    }

    /// The delay now: the cached one, read again from the histogram at most every `REFRESH`
    /// (by one caller; the others keep the cached value meanwhile).
    fn delay(&self, now: Instant) -> Duration {
        let at = nanos(now.saturating_duration_since(self.origin));
        let next = self.next_refresh.load(Ordering::Relaxed);
        if at >= next
            && self
                .next_refresh
                .compare_exchange(
                    next,
                    at + nanos(REFRESH),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            let delay = self.estimate(now);
            self.cached.store(nanos(delay), Ordering::Relaxed);
            return delay;
        }
        Duration::from_nanos(self.cached.load(Ordering::Relaxed))
    }

    pub(crate) fn estimate(&self, now: Instant) -> Duration {
        let counts = self.histogram.counts(now);
        if counts.total() < MIN_SAMPLES {
            return self.cap;
        }
        counts
            .percentile(self.percent)
            .map_or(self.cap, |d| d.clamp(self.floor, self.cap))
    }

    pub(crate) fn samples(&self, now: Instant) -> u64 {
        self.histogram.counts(now).total()
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl<C> HedgeState<C> {
    /// The delay before the next hedge of a call starting now.
    pub(crate) fn delay(&self, now: Instant) -> Duration {
        match &self.dynamic {
            None => self.fixed,
            Some(dynamic) => dynamic.delay(now),
        }
    }

    /// Whether the delay is read from latencies (and attempts must be timed).
    #[inline(always)]
    pub(crate) fn timed(&self) -> bool {
        self.dynamic.is_some()
    }

    /// Records an attempt's latency: completed, or censored (cancelled after `latency`).
    pub(crate) fn record(&self, latency: Duration, censored: bool, now: Instant) {
        if let Some(dynamic) = &self.dynamic {
            dynamic.histogram.record(latency, censored, now);
        }
    }

    /// Counts a call in the budget, if there is one.
    #[inline]
    pub(crate) fn deposit(&self) {
        if let Some(budget) = &self.budget {
            budget.deposit();
        }
    }

    /// Takes a hedge from the budget; `false` (reported) when it is empty.
    pub(crate) fn withdraw(&self, attempts: u32) -> bool {
        match &self.budget {
            Some(budget) if !budget.try_withdraw() => {
                self.budget_exhausted.fetch_add(1, Ordering::Relaxed);
                self.emit(HedgeEvent::BudgetExhausted { attempts });
                false
            }
            _ => true,
        }
    }

    pub(crate) fn emit(&self, event: HedgeEvent) {
        self.sinks.emit(&self.name, EventKind::Hedge(event));
    }
}
