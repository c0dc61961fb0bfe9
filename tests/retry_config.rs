//! Every invalid retry setting is an `Err(ConfigError)` from `build()` naming its field; one test
//! per rule, each next to the boundary that is accepted.

use std::time::Duration;

use failguard::{
    ConfigError, Retry,
    retry::{Backoff, RetryBuilder},
};

const MS: Duration = Duration::from_millis(1);

fn error(builder: RetryBuilder) -> ConfigError {
    builder.build().unwrap_err()
}

#[test]
fn the_defaults_build() {
    let retry = Retry::builder().build().unwrap();
    assert_eq!(retry.max_attempts(), 3);
    assert_eq!(retry.backoff().base(), 100 * MS);
    assert_eq!(retry.backoff().cap(), Duration::from_secs(30));
}

#[test]
fn max_attempts_must_be_at_least_one() {
    let e = error(Retry::builder().max_attempts(0));
    assert_eq!(e.field(), "retry.max_attempts");
    assert!(e.rule().contains("the first included"), "{e}");
    assert!(Retry::builder().max_attempts(1).build().is_ok());
    assert!(Retry::builder().max_attempts(u32::MAX).build().is_ok());
}

#[test]
fn max_elapsed_must_be_positive_and_at_most_a_day() {
    let day = Duration::from_secs(86_400);
    assert_eq!(
        error(Retry::builder().max_elapsed(Duration::ZERO)).field(),
        "retry.max_elapsed"
    );
    assert_eq!(
        error(Retry::builder().max_elapsed(day + MS)).field(),
        "retry.max_elapsed"
    );
    assert!(Retry::builder().max_elapsed(day).build().is_ok());
    assert!(
        Retry::builder()
            .max_elapsed(Duration::from_nanos(1))
            .build()
            .is_ok()
    );
}

#[test]
fn a_growing_backoff_needs_a_base_above_zero() {
    for backoff in [
        Backoff::linear(Duration::ZERO),
        Backoff::exponential(Duration::ZERO),
    ] {
        assert_eq!(
            error(Retry::builder().backoff(backoff)).field(),
            "retry.backoff.base"
        );
    }
    // A constant zero delay retries at once, which is allowed.
    assert!(
        Retry::builder()
            .backoff(Backoff::constant(Duration::ZERO))
            .build()
            .is_ok()
    );
}

#[test]
fn the_cap_must_not_be_below_the_base() {
    let backoff = Backoff::exponential(100 * MS).max_delay(99 * MS);
    let e = error(Retry::builder().backoff(backoff));
    assert_eq!(e.field(), "retry.backoff.max_delay");
    assert!(e.rule().contains("base"), "{e}");
    assert!(
        Retry::builder()
            .backoff(Backoff::exponential(100 * MS).max_delay(100 * MS))
            .build()
            .is_ok()
    );
}

#[test]
fn the_cap_must_be_at_most_a_day() {
    let day = Duration::from_secs(86_400);
    let e = error(Retry::builder().backoff(Backoff::constant(MS).max_delay(day + MS)));
    assert_eq!(e.field(), "retry.backoff.max_delay");
    assert!(
        Retry::builder()
            .backoff(Backoff::constant(MS).max_delay(day))
            .build()
            .is_ok()
    );
}

#[test]
fn the_factor_must_be_from_one_to_a_hundred() {
    for factor in [0.99, 100.01, f64::NAN, f64::INFINITY, -2.0] {
        let backoff = Backoff::exponential(MS).factor(factor);
        assert_eq!(
            error(Retry::builder().backoff(backoff)).field(),
            "retry.backoff.factor",
            "{factor}"
        );
    }
    for factor in [1.0, 100.0] {
        assert!(
            Retry::builder()
                .backoff(Backoff::exponential(MS).factor(factor))
                .build()
                .is_ok()
        );
    }
}
