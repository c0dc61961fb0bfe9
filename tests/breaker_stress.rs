//! Issue 10: recorders on several threads while another thread reads `snapshot()` and calls
//! `reset()` in a loop. A reset (or closing, or a bucket leaving a time window) used to subtract
//! a call that its recorder had put in a bucket but not yet in the running totals: the totals
//! went below zero and wrapped ("attempt to add with overflow" with overflow checks, `calls =
//! u32::MAX` and spurious trips without).
//!
//! Real threads on the real clock (the race needs them), no sleeps, and a bounded number of
//! calls, so it takes a second or two of a debug build.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering::SeqCst},
    },
    thread,
    time::Duration,
};

use failguard::{
    CircuitBreaker,
    breaker::{CircuitBreakerBuilder, State},
};

const RECORDERS: usize = 3;

/// Runs the scenario against `builder`'s breaker: three threads record 50% failures
/// against a 99% threshold, `calls` calls each, while one thread loops `snapshot(); reset();`.
/// `most` is the most calls the window can hold.
fn hammer(builder: CircuitBreakerBuilder, calls: u64, most: u64) {
    let tripped = Arc::new(AtomicBool::new(false));
    let seen = tripped.clone();
    let breaker = builder
        .failure_rate(0.99)
        .on_state_change(move |change| {
            if change.to != State::Closed {
                seen.store(true, SeqCst);
            }
        })
        .build()
        .unwrap();
    // Calls started so far: a snapshot can never hold more.
    let started = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let recorders: Vec<_> = (0..RECORDERS)
        .map(|_| {
            let (breaker, started) = (breaker.clone(), started.clone());
            thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    for i in 0..calls {
                        started.fetch_add(1, SeqCst);
                        let _ = breaker
                            .call(|| async move {
                                if i % 2 == 0 {
                                    Ok(())
                                } else {
                                    Err(io::Error::other("half of the calls fail"))
                                }
                            })
                            .await;
                    }
                });
            })
        })
        .collect();

    let reader = {
        let (breaker, started, done) = (breaker.clone(), started.clone(), done.clone());
        thread::spawn(move || {
            let mut loops = 0u64;
            while !done.load(SeqCst) {
                let s = breaker.snapshot();
                let bound = started.load(SeqCst).min(most);
                assert!(
                    u64::from(s.calls) <= bound,
                    "{} calls in a window that holds at most {bound}",
                    s.calls
                );
                assert!((0.0..=1.0).contains(&s.failure_rate), "{s:?}");
                assert_eq!(s.state, State::Closed, "{s:?}");
                breaker.reset();
                loops += 1;
            }
            loops
        })
    };

    for r in recorders {
        r.join().expect("a recorder panicked");
    }
    done.store(true, SeqCst);
    let loops = reader.join().expect("the reader panicked");
    assert!(loops > 0);
    assert!(
        !tripped.load(SeqCst),
        "a breaker at 50% failures tripped against a 99% threshold"
    );
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn reset_racing_recorders_keeps_the_time_window_s_figures_in_range() {
    hammer(
        CircuitBreaker::builder()
            .time_window(Duration::from_secs(10), 10)
            .minimum_calls(1_000),
        200_000,
        u64::MAX,
    );
}

/// Buckets of 1 ms: they leave the window while the recorders run, so rotation races them too.
#[test]
fn reset_and_rotation_racing_recorders_keep_a_short_time_window_s_figures_in_range() {
    hammer(
        CircuitBreaker::builder()
            .time_window(Duration::from_millis(4), 4)
            .minimum_calls(100),
        200_000,
        u64::MAX,
    );
}

/// The count window's clear races its recorders the same way, and with three recorders on a
/// ring of 16 two of them can land on one slot a lap apart.
#[test]
fn reset_racing_recorders_keeps_the_count_window_s_figures_in_range() {
    hammer(
        CircuitBreaker::builder().count_window(16).minimum_calls(16),
        1_000_000,
        16,
    );
}
