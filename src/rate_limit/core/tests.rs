//! The core against a reference model of the GCRA, and its arithmetic at its boundaries.

use proptest::prelude::*;

use super::*;

fn state(count: u64, period: Duration, burst: u32, max_wait: Duration) -> RateLimitState {
    let gcra = Gcra::new(count, period, burst).unwrap();
    RateLimitState::new(gcra, max_wait, Name::from("test"))
}

/// The textbook virtual-scheduling GCRA (ITU-T I.371), on exact rational time: times are
/// kept in `ticks` of `1 / (q·m)` ns (so both `T` and a clock reading are integers), with the
/// clock read as the limiter reads it (rounded down to a unit, `p` ticks). Its parameters are
/// derived here from `count` and `period` directly, not from the core's.
struct Model {
    /// Ticks per ns.
    per_ns: u128,
    /// Ticks per unit.
    unit: u128,
    /// `T` in ticks.
    t: u128,
    /// `burst · T` in ticks.
    tolerance: u128,
    burst: u32,
    tat: u128,
}

impl Model {
    fn new(count: u64, period: Duration, burst: u32) -> Self {
        let period_ns = period.as_nanos();
        let count = u128::from(count);
        let g = gcd(period_ns, count);
        let (p, q) = (period_ns / g, count / g);
        let m = p.div_ceil(q);
        // T = p/q ns = p·m ticks when a tick is 1/(q·m) ns.
        Model {
            per_ns: q * m,
            unit: p,
            t: p * m,
            tolerance: u128::from(burst) * p * m,
            burst,
            tat: 0,
        }
    }

    fn clock(&self, ns: u64) -> u128 {
        u128::from(ns) * self.per_ns / self.unit * self.unit
    }

    fn conforms(&self, ns: u64, weight: u32) -> bool {
        let now = self.clock(ns);
        weight <= self.burst
            && self.tat.max(now) + u128::from(weight) * self.t - now <= self.tolerance
    }

    fn take(&mut self, ns: u64, weight: u32) {
        let now = self.clock(ns);
        self.tat = self.tat.max(now) + u128::from(weight) * self.t;
    }

    /// Gives back a reservation that left the TAT at `end`, if it is still the last one.
    fn give_back(&mut self, weight: u32, end: u128) -> bool {
        let last = self.tat == end;
        if last {
            self.tat -= u128::from(weight) * self.t;
        }
        last
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Advance the clock by this many ns, then call with this weight, waiting or not.
    Call { after: u64, weight: u32, wait: bool },
    /// A reservation still held (the newest, or the oldest) is dropped before its time.
    Drop { newest: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u64..400_000_000, 1u32..4, any::<bool>())
            .prop_map(|(after, weight, wait)| Op::Call { after, weight, wait }),
        2 => any::<bool>().prop_map(|newest| Op::Drop { newest }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every decision, every `retry_after`, every reservation's moment and every give-back
    /// match the reference model.
    #[test]
    fn the_core_is_the_reference_gcra(
        count in 1u64..50,
        period_ms in 1u64..3_000,
        burst in 1u32..6,
        max_wait_ms in 0u64..2_000,
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let period = Duration::from_millis(period_ms);
        let max_wait = Duration::from_millis(max_wait_ms);
        let s = state(count, period, burst, max_wait);
        let mut model = Model::new(count, period, burst);
        let mut now = 0u64;
        let mut held: std::collections::VecDeque<(u64, u32, u64, u128)> = Default::default();
        for op in ops {
            match op {
                Op::Call { after, weight, wait } => {
                    now += after;
                    held.retain(|&(at, ..)| at > now);
                    let got = s.acquire_at(now, weight, wait);
                    if model.conforms(now, weight) {
                        prop_assert_eq!(got, Grant::Now);
                        model.take(now, weight);
                        continue;
                    }
                    // The earliest nanosecond the model admits this call at.
                    let earliest = (weight <= burst).then(|| {
                        let (mut lo, mut hi) = (now, now + 10 * period.as_nanos() as u64 * 8);
                        while lo < hi {
                            let mid = lo + (hi - lo) / 2;
                            if model.conforms(mid, weight) { hi = mid } else { lo = mid + 1 }
                        }
                        lo
                    });
                    match (got, earliest) {
                        (Grant::Rejected { retry_after: None }, None) => {}
                        (Grant::Rejected { retry_after: Some(after) }, Some(at)) => {
                            prop_assert_eq!(after.as_nanos() as u64, at - now);
                            prop_assert!(!wait || at - now > max_wait.as_nanos() as u64);
                        }
                        (Grant::Wait { at: when, tat }, Some(at)) => {
                            prop_assert!(wait);
                            let when = (when - s.base).as_nanos() as u64;
                            prop_assert_eq!(when, at);
                            prop_assert!(at - now <= max_wait.as_nanos() as u64);
                            model.take(now, weight);
                            held.push_back((at, weight, tat, model.tat));
                        }
                        (got, earliest) => prop_assert!(false, "{got:?} vs {earliest:?}"),
                    }
                }
                Op::Drop { newest } => {
                    let dropped = if newest { held.pop_back() } else { held.pop_front() };
                    if let Some((_, weight, tat, end)) = dropped {
                        prop_assert_eq!(s.give_back(weight, tat), model.give_back(weight, end));
                    }
                }
            }
        }
    }
}

/// Three a second is a third of a second apart, which is no whole number of nanoseconds: a
/// rounded period would drift by a call every few hundred million. Exactly: permit `i` is free
/// at the first nanosecond at or after `i / 3` s, and not a nanosecond before, for the
/// 3,000,000th as for the first.
#[test]
fn three_a_second_never_drifts() {
    let s = state(3, Duration::from_secs(1), 1, Duration::ZERO);
    for i in 0..3_000_000u64 {
        let at = (u128::from(i) * 1_000_000_000).div_ceil(3) as u64;
        if i > 0 {
            let early = s.acquire_at(at - 1, 1, false);
            assert_eq!(
                early,
                Grant::Rejected {
                    retry_after: Some(Duration::from_nanos(1))
                },
                "permit {i} one nanosecond early"
            );
        }
        assert_eq!(s.acquire_at(at, 1, false), Grant::Now, "permit {i} on time");
    }
}

/// The extremes of every bound are representable and do not overflow.
#[test]
fn the_extremes_do_not_overflow() {
    // A billion a second, a permit each nanosecond.
    let fastest = state(
        1_000_000_000,
        Duration::from_secs(1),
        u32::MAX,
        Duration::ZERO,
    );
    assert_eq!(fastest.acquire_at(u64::MAX, u32::MAX, false), Grant::Now);
    // One a year, the longest period, a burst as large as allowed.
    let g = Gcra::new(1, MAX_PERIOD, 1).unwrap();
    assert_eq!(g.units(MAX_PERIOD.as_nanos() as u64), g.cost(1));
    let s = state(1, MAX_PERIOD, 1, Duration::ZERO);
    // 146 years in: still exact.
    let late = 1 << 62;
    assert_eq!(s.acquire_at(late, 1, false), Grant::Now);
    assert_eq!(
        s.acquire_at(late + 1, 1, false),
        Grant::Rejected {
            retry_after: Some(MAX_PERIOD - Duration::from_nanos(1))
        }
    );
    // The clock's end: the unit count saturates rather than wrapping.
    assert_eq!(g.units(u64::MAX), g.units(u64::MAX));
    for (count, period, burst) in [
        (0, Duration::from_secs(1), 1),
        (1, Duration::ZERO, 1),
        (1, MAX_PERIOD + Duration::from_nanos(1), 1),
        (1_000_000_001, Duration::from_secs(1), 1),
        (1, Duration::from_secs(1), 0),
        (1, MAX_PERIOD, u32::MAX),
    ] {
        assert!(
            Gcra::new(count, period, burst).is_err(),
            "{count} {period:?} {burst}"
        );
    }
}

/// A period's worth of units is exactly `count` permits, for periods that are no whole number
/// of nanoseconds per permit.
#[test]
fn a_period_is_exactly_count_permits() {
    for (count, period_ns) in [
        (3, 1_000_000_000u64),
        (7, 1_000),
        (999_983, 1_000_000_000),
        (1, 1),
    ] {
        let g = Gcra::new(count, Duration::from_nanos(period_ns), 1).unwrap();
        assert_eq!(
            g.units(period_ns),
            g.cost(1) * count,
            "{count} per {period_ns} ns"
        );
        assert_eq!(g.nanos(g.units(period_ns)), period_ns);
    }
}

proptest! {
    /// The conversion's fast paths (no division, a 64-bit one) agree with the 128-bit formula.
    #[test]
    fn every_path_of_the_unit_conversion_agrees(
        count in 1u64..=1_000_000_000,
        period_ns in 1_000_000_000u64..=10_000_000_000,
        ns in any::<u64>(),
    ) {
        let g = Gcra::new(count, Duration::from_nanos(period_ns), 1).unwrap();
        let exact = u64::try_from(u128::from(ns) * g.qm / g.p).unwrap_or(u64::MAX);
        prop_assert_eq!(g.units(ns), exact);
        prop_assert_eq!(g.units(ns >> 30), u64::try_from(u128::from(ns >> 30) * g.qm / g.p).unwrap());
    }
}
