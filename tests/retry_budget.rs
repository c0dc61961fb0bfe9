//! The retry budget against the textbook (Finagle) formula:
//! `allowed = percent / 100 * requests + min_per_sec * ttl - retries`, over the last `ttl`.

use std::{
    sync::{
        Arc, Barrier,
        atomic::{AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

use failguard::retry::RetryBudget;
use tokio::time::advance;

fn budget(ttl_secs: u64, min_per_sec: u32, percent: f64) -> RetryBudget {
    RetryBudget::builder()
        .ttl(Duration::from_secs(ttl_secs))
        .min_per_sec(min_per_sec)
        .percent(percent)
        .build()
        .unwrap()
}

/// Withdraws until refused; returns how many retries were granted.
fn drain(budget: &RetryBudget) -> u64 {
    let mut granted = 0;
    while budget.try_withdraw() {
        granted += 1;
    }
    granted
}

#[tokio::test(start_paused = true)]
async fn ten_percent_of_ten_thousand_requests_is_a_thousand_retries() {
    let b = budget(60, 0, 10.0);
    for _ in 0..10_000 {
        b.deposit();
    }
    assert_eq!(b.available(), 1_000);
    assert_eq!(drain(&b), 1_000);
    assert_eq!(b.available(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_reserve_adds_min_per_sec_times_ttl() {
    let b = budget(1, 10, 10.0);
    for _ in 0..10_000 {
        b.deposit();
    }
    assert_eq!(drain(&b), 1_010);
    // With no traffic at all, the reserve alone.
    assert_eq!(drain(&budget(10, 3, 50.0)), 30);
}

#[tokio::test(start_paused = true)]
async fn fractional_percentages_never_over_allocate() {
    for (percent, requests, expected) in [
        (12.5, 8, 1),
        (12.5, 7, 0),
        (0.1, 10_000, 10),
        (0.1, 9_999, 9),
        (33.3333, 3, 0), // 0.999999 of a retry is not a retry
        (33.3334, 3, 1),
        (2.5, 400, 10),
        (1000.0, 3, 30),
    ] {
        let b = budget(60, 0, percent);
        for _ in 0..requests {
            b.deposit();
        }
        assert_eq!(drain(&b), expected, "{percent}% of {requests}");
    }
}

#[tokio::test(start_paused = true)]
async fn requests_and_retries_expire_after_the_ttl() {
    let b = budget(10, 0, 50.0);
    for _ in 0..20 {
        b.deposit();
    }
    assert_eq!(b.available(), 10);
    assert!(b.try_withdraw());
    advance(Duration::from_secs(5)).await;
    for _ in 0..4 {
        b.deposit();
    }
    assert_eq!(b.available(), 11); // 10 + 2 - 1
    // The first 20 requests and the retry leave the window; the later 4 remain.
    advance(Duration::from_secs(5)).await;
    assert_eq!(b.available(), 2);
    advance(Duration::from_secs(5)).await;
    assert_eq!(b.available(), 0);
    // Spent reserve comes back once the retries that spent it expire.
    let b = budget(1, 5, 0.0);
    assert_eq!(drain(&b), 5);
    advance(Duration::from_millis(999)).await;
    assert_eq!(b.available(), 0);
    advance(Duration::from_millis(1)).await;
    assert_eq!(b.available(), 5);
}

#[test]
fn threads_hammering_one_budget_get_exactly_the_formula() {
    let b = budget(60, 0, 10.0);
    const THREADS: usize = 4;
    let barrier = Arc::new(Barrier::new(THREADS));
    thread::scope(|s| {
        for _ in 0..THREADS {
            let (b, barrier) = (b.clone(), barrier.clone());
            s.spawn(move || {
                barrier.wait();
                for _ in 0..2_500 {
                    b.deposit();
                }
            });
        }
    });
    // Concurrent withdrawals cannot both spend the last retry.
    let granted = Arc::new(AtomicU64::new(0));
    thread::scope(|s| {
        for _ in 0..THREADS {
            let (b, barrier, granted) = (b.clone(), barrier.clone(), granted.clone());
            s.spawn(move || {
                barrier.wait();
                granted.fetch_add(drain(&b), Ordering::Relaxed);
            });
        }
    });
    assert_eq!(granted.load(Ordering::Relaxed), 1_000);
}

#[test]
fn threads_depositing_and_withdrawing_at_once_never_exceed_the_formula() {
    let b = budget(60, 10, 10.0);
    const THREADS: usize = 4;
    let granted = Arc::new(AtomicU64::new(0));
    thread::scope(|s| {
        for _ in 0..THREADS {
            let (b, granted) = (b.clone(), granted.clone());
            s.spawn(move || {
                for i in 0..5_000 {
                    b.deposit();
                    if i % 3 == 0 && b.try_withdraw() {
                        granted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    // 20,000 requests: at most 2,000 + 600 reserve retries, and what was not granted is left.
    let granted = granted.load(Ordering::Relaxed);
    assert!(granted <= 2_600, "{granted}");
    assert_eq!(granted + b.available(), 2_600);
}

#[test]
fn every_invalid_value_is_a_config_error_naming_its_field() {
    let field = |b: failguard::retry::RetryBudgetBuilder| b.build().unwrap_err().field().to_owned();
    let b = RetryBudget::builder;
    assert_eq!(
        field(b().ttl(Duration::from_millis(999))),
        "retry_budget.ttl"
    );
    assert_eq!(field(b().ttl(Duration::from_secs(61))), "retry_budget.ttl");
    assert_eq!(field(b().percent(-0.1)), "retry_budget.percent");
    assert_eq!(field(b().percent(1000.1)), "retry_budget.percent");
    assert_eq!(field(b().percent(f64::NAN)), "retry_budget.percent");
    assert_eq!(field(b().percent(f64::INFINITY)), "retry_budget.percent");
    // The bounds themselves are accepted.
    assert!(b().ttl(Duration::from_secs(1)).percent(0.0).build().is_ok());
    assert!(
        b().ttl(Duration::from_secs(60))
            .percent(1000.0)
            .min_per_sec(u32::MAX)
            .build()
            .is_ok()
    );
}

/// Issue 10: slices were tagged with the low 24 bits of their number, so after 2^24 slices (19
/// days at a 1 s ttl) a slice untouched since then counted again: stale requests reappeared as
/// retries, stale retries as spent reserve. No distance may alias, however long the budget idles.
#[tokio::test(start_paused = true)]
async fn stale_slices_never_count_again_however_long_the_budget_idles() {
    const SLICE: Duration = Duration::from_millis(100); // a 1 s ttl in ten slices
    const TAG: u64 = 1 << 24; // the old tag's period
    for idle in [
        TAG,
        TAG + 1,
        TAG + 5,
        TAG + 9,
        TAG + 10,
        2 * TAG,
        2 * TAG + 3,
        5 * TAG + 7,
        1 << 32,
        (1 << 33) + 9,
    ] {
        let advance_slices = |slices: u64| advance(SLICE * u32::try_from(slices).unwrap());
        // Requests: 5 at 100 % are 5 retries now, none once they are stale.
        let b = budget(1, 0, 100.0);
        for _ in 0..5 {
            b.deposit();
        }
        assert_eq!(b.available(), 5);
        // In steps that fit a u32 multiplier of the slice.
        let mut left = idle;
        while left > 0 {
            let step = left.min(u64::from(u32::MAX));
            advance_slices(step).await;
            left -= step;
        }
        assert_eq!(
            b.available(),
            0,
            "stale requests counted after {idle} slices"
        );
        assert!(
            !b.try_withdraw(),
            "a stale request paid for a retry after {idle} slices"
        );
        // Retries: a spent reserve is whole again once the spending is stale.
        let b = budget(1, 5, 0.0);
        assert_eq!(drain(&b), 5);
        let mut left = idle;
        while left > 0 {
            let step = left.min(u64::from(u32::MAX));
            advance_slices(step).await;
            left -= step;
        }
        assert_eq!(
            b.available(),
            5,
            "stale retries counted after {idle} slices"
        );
    }
}

/// The fresh slices of a new budget are empty whatever the clock says: a budget first used
/// after a long idle counts its requests (the old tags marked fresh slices with a tag half a
/// period away, which made them look newer than the clock after 2^23 slices, dropping deposits).
#[tokio::test(start_paused = true)]
async fn a_budget_first_used_after_a_long_idle_counts_its_requests() {
    const SLICE: Duration = Duration::from_millis(100);
    for idle in [
        (1u32 << 23) - 9,
        (1 << 23) - 5,
        (1 << 23) - 1,
        1 << 23,
        1 << 24,
    ] {
        let b = budget(1, 0, 100.0);
        advance(SLICE * idle).await;
        for _ in 0..3 {
            b.deposit();
        }
        assert_eq!(b.available(), 3, "after {idle} idle slices");
    }
}

/// Retries are counted in the slice they were made in, even once later slices have spent: each
/// leaves the window exactly `ttl` after it was made.
#[tokio::test(start_paused = true)]
async fn retries_spent_slice_after_slice_each_expire_on_time() {
    const SLICE: Duration = Duration::from_millis(100);
    let b = budget(1, 0, 100.0);
    for _ in 0..3 {
        b.deposit();
    }
    for _ in 0..3 {
        assert!(b.try_withdraw());
        advance(SLICE).await;
    }
    assert!(!b.try_withdraw());
    // At 1 s the requests and the first retry leave; the retries of 100 and 200 ms stay.
    advance(SLICE * 7).await;
    for _ in 0..5 {
        b.deposit();
    }
    assert_eq!(b.available(), 3);
    advance(SLICE).await;
    assert_eq!(b.available(), 4);
    advance(SLICE).await;
    assert_eq!(b.available(), 5);
}
