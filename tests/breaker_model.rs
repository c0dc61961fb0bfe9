//! Property test: random sequences of outcomes and time steps, fed to the breaker and to a naive
//! reference model (a `Vec` of the last N outcomes for the count window; a list of timestamped
//! outcomes for the time window), must agree on the state and the rates after every step.

use std::{io, time::Duration};

use failguard::{CircuitBreaker, Error, breaker::State};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Step {
    Success,
    Failure,
    Wait(u64), // milliseconds
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Success),
        4 => Just(Step::Failure),
        2 => (1u64..3_000).prop_map(Step::Wait),
    ]
}

/// Mostly successes: long runs through a full, clean window (the breaker's no-write fast path),
/// broken by the odd failure.
fn healthy_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        16 => Just(Step::Success),
        2 => Just(Step::Failure),
        1 => (1u64..3_000).prop_map(Step::Wait),
    ]
}

const MIN: usize = 4;
const RATE: f64 = 0.5;
const OPEN_MS: u64 = 5_000;
const PROBES: usize = 2;

/// The textbook breaker, written as plainly as possible.
struct Model {
    window: Option<usize>, // Some(N): count window; None: time window
    time_window_ms: u64,
    outcomes: Vec<(u64, bool)>, // (time ms, failed)
    state: State,
    opened_at: u64,
    probes: Vec<bool>,
}

impl Model {
    fn live(&self, now: u64) -> Vec<bool> {
        match self.window {
            Some(n) => self.outcomes.iter().rev().take(n).map(|o| o.1).collect(),
            // 1 s buckets: a call leaves when its whole bucket is older than the window.
            None => {
                let bucket = |t: u64| t / 1_000;
                let buckets = self.time_window_ms / 1_000;
                self.outcomes
                    .iter()
                    .filter(|(t, _)| bucket(*t) + buckets > bucket(now))
                    .map(|o| o.1)
                    .collect()
            }
        }
    }

    fn minimum(&self) -> usize {
        self.window.map_or(MIN, |n| MIN.min(n))
    }

    /// Returns whether the call was admitted.
    fn call(&mut self, now: u64, failed: bool) -> bool {
        if self.state == State::Open {
            if now < self.opened_at + OPEN_MS {
                return false;
            }
            self.state = State::HalfOpen;
            self.probes.clear();
        }
        if self.state == State::HalfOpen {
            self.probes.push(failed);
            let needed = MIN.min(PROBES);
            if self.probes.len() >= needed {
                let rate =
                    self.probes.iter().filter(|f| **f).count() as f64 / self.probes.len() as f64;
                if rate >= RATE {
                    self.state = State::Open;
                    self.opened_at = now;
                } else {
                    self.state = State::Closed;
                    self.outcomes.clear();
                }
            }
            return true;
        }
        self.outcomes.push((now, failed));
        let live = self.live(now);
        let rate = live.iter().filter(|f| **f).count() as f64 / live.len() as f64;
        if live.len() >= self.minimum() && rate >= RATE {
            self.state = State::Open;
            self.opened_at = now;
        }
        true
    }

    /// The state a call at `now` would find, as `state()` and `snapshot()` report it: an open
    /// breaker whose open duration has passed reads as half-open before any call moves it.
    fn reading(&self, now: u64) -> State {
        if self.state == State::Open && now >= self.opened_at + OPEN_MS {
            State::HalfOpen
        } else {
            self.state
        }
    }

    fn failure_rate(&self, now: u64) -> f64 {
        if self.state == State::HalfOpen {
            let n = self.probes.len();
            return if n == 0 {
                0.0
            } else {
                self.probes.iter().filter(|f| **f).count() as f64 / n as f64
            };
        }
        let live = self.live(now);
        if live.is_empty() {
            0.0
        } else {
            live.iter().filter(|f| **f).count() as f64 / live.len() as f64
        }
    }
}

fn check(window: Option<usize>, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let builder = CircuitBreaker::builder()
            .minimum_calls(MIN as u32)
            .failure_rate(RATE)
            .open_duration(Duration::from_millis(OPEN_MS))
            .half_open_calls(PROBES as u32);
        let breaker = match window {
            Some(n) => builder.count_window(n),
            None => builder.time_window(Duration::from_secs(10), 10),
        }
        .build()
        .unwrap();
        let mut model = Model {
            window,
            time_window_ms: 10_000,
            outcomes: Vec::new(),
            state: State::Closed,
            opened_at: 0,
            probes: Vec::new(),
        };
        let mut now = 0u64;
        for (i, s) in steps.into_iter().enumerate() {
            match s {
                Step::Wait(ms) => {
                    tokio::time::advance(Duration::from_millis(ms)).await;
                    now += ms;
                }
                Step::Success | Step::Failure => {
                    let failed = matches!(s, Step::Failure);
                    let r = breaker
                        .call(|| async move {
                            if failed {
                                Err(io::Error::other("x"))
                            } else {
                                Ok(())
                            }
                        })
                        .await;
                    let admitted = !matches!(r, Err(Error::CircuitOpen(_)));
                    prop_assert_eq!(admitted, model.call(now, failed), "admission at step {}", i);
                }
            }
            let snapshot = breaker.snapshot();
            let reading = model.reading(now);
            prop_assert_eq!(snapshot.state, reading, "state after step {}", i);
            prop_assert_eq!(breaker.state(), reading, "state() after step {}", i);
            if reading == State::Open {
                let left = Duration::from_millis(model.opened_at + OPEN_MS - now);
                prop_assert_eq!(
                    snapshot.retry_after,
                    Some(left),
                    "retry_after after step {}",
                    i
                );
            } else if model.state == State::Open {
                // Half-open as read, not yet moved: no probe has reported.
                prop_assert_eq!((snapshot.calls, snapshot.failure_rate), (0, 0.0));
            } else {
                prop_assert!(
                    (snapshot.failure_rate - model.failure_rate(now)).abs() < 1e-9,
                    "failure rate after step {}: {} vs {}",
                    i,
                    snapshot.failure_rate,
                    model.failure_rate(now)
                );
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_count_window_agrees_with_the_model(n in 1usize..12, steps in prop::collection::vec(step(), 1..120)) {
        check(Some(n), steps)?;
    }

    #[test]
    fn the_time_window_agrees_with_the_model(steps in prop::collection::vec(step(), 1..120)) {
        check(None, steps)?;
    }

    #[test]
    fn a_mostly_healthy_count_window_agrees_with_the_model(n in 1usize..12, steps in prop::collection::vec(healthy_step(), 1..200)) {
        check(Some(n), steps)?;
    }

    #[test]
    fn a_mostly_healthy_time_window_agrees_with_the_model(steps in prop::collection::vec(healthy_step(), 1..200)) {
        check(None, steps)?;
    }
}
