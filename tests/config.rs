//! Configuration and state as data (the `serde` feature): configs round-trip through TOML and
//! JSON, every invalid field is a `ConfigError` naming its path in the file, a stack read from
//! a file behaves as the file says, and every snapshot serializes.
#![cfg(feature = "serde")]

use std::{io, time::Duration};

use failguard::{
    Bulkhead, CircuitBreaker, ConfigError, Error, FailureIf, Policy, Queue,
    breaker::{BreakerConfig, BreakerSnapshot, State},
    bulkhead::{BulkheadConfig, BulkheadSnapshot},
    config::{StackConfig, from_deserializer},
    fallback::FallbackConfig,
    queue::{Overflow, QueueConfig, QueueSnapshot},
    retry::{BackoffConfig, BackoffGrowth, Jitter, RetryBudgetConfig, RetryConfig},
    timeout::TimeoutConfig,
};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

/// A stack that sets every field of every section, each to a value other than its default.
/// (`deny_unknown_fields` keeps the names honest; a field added to a config belongs here.)
const FULL: &str = r#"
[bulkhead]
name = "b"
max_concurrent = 8
max_waiting = 16
max_wait = "20ms"

[timeout]
name = "overall"
duration = "5s"

[retry]
name = "r"
max_attempts = 4
max_elapsed = "10s"
seed = 7
backoff = { growth = "linear", base = "50ms", max_delay = "1s", jitter = "equal" }

[retry_budget]
ttl = "30s"
min_per_sec = 2
percent = 12.5

[rate_limit]
name = "rl"
permits = 100
period = "1s"
burst = 20
max_wait = "50ms"

[breaker]
name = "br"
time_window = "30s"
time_window_buckets = 30
failure_rate = 0.25
slow_call_duration = "500ms"
slow_call_rate = 0.75
minimum_calls = 20
open_duration = "10s"
open_backoff = 2.0
max_open_duration = "2m"
half_open_calls = 5
max_half_open_wait = "30s"

[attempt_timeout]
name = "attempt"
duration = "1.5s"
"#;

fn full() -> StackConfig {
    toml::from_str(FULL).unwrap()
}

fn from_toml(text: &str) -> Result<StackConfig, ConfigError> {
    let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::new(".", e.to_string()))?;
    from_deserializer(de)
}

fn from_json(text: &str) -> Result<StackConfig, ConfigError> {
    from_deserializer(&mut serde_json::Deserializer::from_str(text))
}

// ---------------------------------------------------------------------------------------------
// Round trips

#[test]
fn the_file_reads_into_the_fields_it_names() {
    let c = full();
    let breaker = c.breaker.as_ref().unwrap();
    assert_eq!(breaker.time_window, Some(Duration::from_secs(30)));
    assert_eq!(breaker.max_open_duration, Some(Duration::from_secs(120)));
    assert_eq!(breaker.failure_rate, 0.25);
    let backoff = c.retry.as_ref().unwrap().backoff;
    assert_eq!(backoff.growth, BackoffGrowth::Linear);
    assert_eq!(backoff.jitter, Jitter::Equal);
    assert_eq!(backoff.base, Duration::from_millis(50));
    assert_eq!(c.retry_budget.unwrap().percent, 12.5);
    assert_eq!(
        c.attempt_timeout.unwrap().duration,
        Some(Duration::from_millis(1500))
    );
    assert_eq!(c.bulkhead.unwrap().max_wait, Duration::from_millis(20));
    let rate_limit = c.rate_limit.unwrap();
    assert_eq!(rate_limit.burst, Some(20));
    assert_eq!(rate_limit.period, Some(Duration::from_secs(1)));
}

#[test]
fn a_stack_config_round_trips_through_toml_and_json() {
    let config = full();
    let text = toml::to_string(&config).unwrap();
    assert_eq!(
        toml::from_str::<StackConfig>(&text).unwrap(),
        config,
        "{text}"
    );
    assert!(
        text.contains(r#"duration = "1.5s""#),
        "durations keep their unit: {text}"
    );
    assert!(text.contains(r#"max_open_duration = "2m""#), "{text}");

    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(
        serde_json::from_str::<StackConfig>(&json).unwrap(),
        config,
        "{json}"
    );
}

#[test]
fn defaults_round_trip_and_an_empty_file_is_the_defaults() {
    assert_eq!(from_toml("").unwrap(), StackConfig::default());
    let text = toml::to_string(&StackConfig::default()).unwrap();
    assert_eq!(text, "", "no section, no layer");

    macro_rules! round_trip {
        ($($config:ty),*) => {$(
            let default = <$config>::default();
            let text = toml::to_string(&default).unwrap();
            assert_eq!(toml::from_str::<$config>(&text).unwrap(), default, "{text}");
            assert_eq!(toml::from_str::<$config>("").unwrap(), default);
        )*};
    }
    round_trip!(
        BreakerConfig,
        RetryConfig,
        BackoffConfig,
        RetryBudgetConfig,
        TimeoutConfig,
        BulkheadConfig,
        QueueConfig
    );
}

#[test]
fn a_queue_and_a_fallback_config_round_trip() {
    let queue: QueueConfig = toml::from_str(
        r#"
        name = "q"
        capacity = 10
        workers = 3
        overflow = "drop_oldest"
        max_wait = "250ms"
        "#,
    )
    .unwrap();
    assert_eq!(queue.overflow, Overflow::DropOldest);
    let text = toml::to_string(&queue).unwrap();
    assert_eq!(toml::from_str::<QueueConfig>(&text).unwrap(), queue);

    let fallback: FallbackConfig<Vec<u32>> = toml::from_str("value = [1, 2]").unwrap();
    assert_eq!(fallback, FallbackConfig::new(vec![1, 2]));
    let json = serde_json::to_string(&fallback).unwrap();
    assert_eq!(json, r#"{"value":[1,2]}"#);
    assert_eq!(
        serde_json::from_str::<FallbackConfig<Vec<u32>>>(&json).unwrap(),
        fallback
    );
}

#[test]
fn a_backoff_made_in_code_writes_out_and_reads_back_the_same() {
    use failguard::retry::Backoff;
    for backoff in [
        Backoff::constant(Duration::from_secs(1)),
        Backoff::linear(Duration::from_millis(10)).jitter(Jitter::Full),
        Backoff::exponential(Duration::from_millis(100))
            .factor(3.0)
            .max_delay(Duration::from_secs(5))
            .jitter(Jitter::Decorrelated),
    ] {
        let config = BackoffConfig::from(backoff);
        let text = toml::to_string(&config).unwrap();
        let read: BackoffConfig = toml::from_str(&text).unwrap();
        assert_eq!(read.backoff().unwrap(), backoff, "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Every invalid field is named

/// Every leaf of `value` with its path, as `a.b.c`.
fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                leaves(v, path, out);
            }
        }
        leaf => out.push((path, leaf.clone())),
    }
}

/// `value` with `with` at `path` (its parents exist).
fn replaced(value: &Value, path: &str, with: Value) -> Value {
    let mut value = value.clone();
    let (parents, last) = path.rsplit_once('.').unwrap();
    let mut at = &mut value;
    for key in parents.split('.') {
        at = at.get_mut(key).unwrap();
    }
    at.as_object_mut().unwrap().insert(last.to_owned(), with);
    value
}

/// A value of the wrong type at any field, in TOML or in JSON, is a `ConfigError` whose field
/// is that field's path in the file.
#[test]
fn a_value_of_the_wrong_type_is_named_by_its_path_in_every_format() {
    let full = serde_json::to_value(full()).unwrap();
    let mut fields = Vec::new();
    leaves(&full, String::new(), &mut fields);
    // The two that exclude a field FULL sets (a type error is found before that rule).
    fields.push(("breaker.count_window".into(), json!(10)));
    fields.push(("retry.backoff.factor".into(), json!(2.0)));
    assert_eq!(fields.len(), 38, "every field of every section: {fields:?}");
    for (path, leaf) in fields {
        // A string where a number goes, a number where a string (a name, a duration, a
        // growth, a jitter) goes.
        let wrong = if leaf.is_string() {
            json!(5)
        } else {
            json!("x")
        };
        let file = replaced(&full, &path, wrong);

        let err = from_json(&file.to_string()).unwrap_err();
        assert_eq!(err.field(), path, "JSON: {err}");
        assert!(
            err.rule().contains("at line 1 column"),
            "JSON {path}: {err}"
        );

        let text = toml::to_string(&file).unwrap();
        let err = from_toml(&text).unwrap_err();
        assert_eq!(err.field(), path, "TOML: {err}");
        assert!(
            err.rule().starts_with("TOML parse error at line"),
            "TOML {path}: {err}"
        );
    }
}

#[test]
fn an_unknown_field_or_section_is_named() {
    let err = from_toml("[breaker]\nfalure_rate = 0.5").unwrap_err();
    assert_eq!(err.field(), "breaker.falure_rate");
    assert!(err.rule().contains("unknown field `falure_rate`"), "{err}");
    let err = from_toml("[braker]").unwrap_err();
    assert_eq!(err.field(), "braker");
    let err = from_json(r#"{"retry": {"backoff": {"cap": "1s"}}}"#).unwrap_err();
    assert_eq!(err.field(), "retry.backoff.cap");
}

#[test]
fn a_duration_without_its_unit_is_refused_and_named() {
    let err = from_toml("[breaker]\nopen_duration = 60").unwrap_err();
    assert_eq!(err.field(), "breaker.open_duration");
    assert!(
        err.rule()
            .contains(r#"expected a duration with a unit, such as "250ms", "1.5s" or "2m""#),
        "{err}"
    );
    let err = from_toml("[timeout]\nduration = \"60\"").unwrap_err();
    assert_eq!(err.field(), "timeout.duration");
    assert!(err.rule().contains("a number needs a unit"), "{err}");
    let err = from_json(r#"{"retry": {"max_elapsed": "5 parsecs"}}"#).unwrap_err();
    assert_eq!(err.field(), "retry.max_elapsed");
    assert!(
        err.rule().contains(r#"unknown time unit "parsecs""#),
        "{err}"
    );
}

/// Values of the right type that break a rule: every one is a `ConfigError` from building the
/// stack, named by its path in the file, never a panic.
#[test]
fn every_value_that_breaks_a_rule_is_named_by_its_path() {
    let cases: &[(&str, &str)] = &[
        // bulkhead
        ("[bulkhead]", "bulkhead.max_concurrent"),
        ("[bulkhead]\nmax_concurrent = 0", "bulkhead.max_concurrent"),
        (
            "[bulkhead]\nmax_concurrent = 16777217",
            "bulkhead.max_concurrent",
        ),
        (
            "[bulkhead]\nmax_concurrent = 1\nmax_waiting = 16777217\nmax_wait = \"1s\"",
            "bulkhead.max_waiting",
        ),
        (
            "[bulkhead]\nmax_concurrent = 1\nmax_wait = \"1s\"",
            "bulkhead.max_waiting",
        ),
        (
            "[bulkhead]\nmax_concurrent = 1\nmax_waiting = 1",
            "bulkhead.max_wait",
        ),
        (
            "[bulkhead]\nmax_concurrent = 1\nmax_waiting = 1\nmax_wait = \"2h\"",
            "bulkhead.max_wait",
        ),
        // timeout
        ("[timeout]", "timeout.duration"),
        ("[timeout]\nduration = \"0s\"", "timeout.duration"),
        ("[timeout]\nduration = \"400d\"", "timeout.duration"),
        // retry
        ("[retry]\nmax_attempts = 0", "retry.max_attempts"),
        ("[retry]\nmax_elapsed = \"0s\"", "retry.max_elapsed"),
        ("[retry]\nmax_elapsed = \"2d\"", "retry.max_elapsed"),
        ("[retry.backoff]\nbase = \"0s\"", "retry.backoff.base"),
        (
            "[retry.backoff]\ngrowth = \"linear\"\nbase = \"0s\"",
            "retry.backoff.base",
        ),
        (
            "[retry.backoff]\nmax_delay = \"2d\"",
            "retry.backoff.max_delay",
        ),
        (
            "[retry.backoff]\nbase = \"2s\"\nmax_delay = \"1s\"",
            "retry.backoff.max_delay",
        ),
        ("[retry.backoff]\nfactor = 0.5", "retry.backoff.factor"),
        ("[retry.backoff]\nfactor = 101.0", "retry.backoff.factor"),
        (
            "[retry.backoff]\ngrowth = \"constant\"\nfactor = 2.0",
            "retry.backoff.factor",
        ),
        (
            "[retry.backoff]\ngrowth = \"linear\"\nfactor = 2.0",
            "retry.backoff.factor",
        ),
        // retry_budget
        ("[retry_budget]", "retry_budget"),
        (
            "[retry]\n[retry_budget]\nttl = \"500ms\"",
            "retry_budget.ttl",
        ),
        ("[retry]\n[retry_budget]\nttl = \"61s\"", "retry_budget.ttl"),
        (
            "[retry]\n[retry_budget]\npercent = -1.0",
            "retry_budget.percent",
        ),
        (
            "[retry]\n[retry_budget]\npercent = 1000.5",
            "retry_budget.percent",
        ),
        // rate_limit
        ("[rate_limit]", "rate_limit.rate"),
        (
            "[rate_limit]\npermits = 0\nperiod = \"1s\"",
            "rate_limit.rate",
        ),
        (
            "[rate_limit]\npermits = 10\nperiod = \"0s\"",
            "rate_limit.rate",
        ),
        (
            "[rate_limit]\npermits = 10\nperiod = \"1s\"\nburst = 0",
            "rate_limit.burst",
        ),
        (
            "[rate_limit]\npermits = 10\nperiod = \"1s\"\nmax_wait = \"2h\"",
            "rate_limit.max_wait",
        ),
        // breaker
        ("[breaker]\nfailure_rate = 0.0", "breaker.failure_rate"),
        ("[breaker]\nfailure_rate = 1.5", "breaker.failure_rate"),
        ("[breaker]\nslow_call_rate = 0.0", "breaker.slow_call_rate"),
        (
            "[breaker]\nslow_call_duration = \"0s\"",
            "breaker.slow_call_duration",
        ),
        ("[breaker]\nminimum_calls = 0", "breaker.minimum_calls"),
        (
            "[breaker]\nminimum_calls = 1048576",
            "breaker.minimum_calls",
        ),
        ("[breaker]\nhalf_open_calls = 0", "breaker.half_open_calls"),
        ("[breaker]\nopen_duration = \"0s\"", "breaker.open_duration"),
        ("[breaker]\nopen_duration = \"2d\"", "breaker.open_duration"),
        (
            "[breaker]\nopen_backoff = 0.5\nmax_open_duration = \"2m\"",
            "breaker.open_backoff",
        ),
        ("[breaker]\nopen_backoff = 2.0", "breaker.max_open_duration"),
        (
            "[breaker]\nopen_duration = \"1m\"\nmax_open_duration = \"30s\"",
            "breaker.max_open_duration",
        ),
        (
            "[breaker]\nmax_half_open_wait = \"0s\"",
            "breaker.max_half_open_wait",
        ),
        ("[breaker]\ncount_window = 0", "breaker.count_window"),
        ("[breaker]\ncount_window = 1048576", "breaker.count_window"),
        ("[breaker]\ntime_window = \"5ms\"", "breaker.time_window"),
        ("[breaker]\ntime_window = \"2d\"", "breaker.time_window"),
        (
            "[breaker]\ncount_window = 10\ntime_window = \"10s\"",
            "breaker.time_window",
        ),
        (
            "[breaker]\ntime_window = \"10s\"\ntime_window_buckets = 0",
            "breaker.time_window_buckets",
        ),
        (
            "[breaker]\ntime_window_buckets = 10",
            "breaker.time_window_buckets",
        ),
        // attempt_timeout: the second timeout is named by its own section
        ("[attempt_timeout]", "attempt_timeout.duration"),
        (
            "[attempt_timeout]\nduration = \"0s\"",
            "attempt_timeout.duration",
        ),
    ];
    for (text, field) in cases {
        let config = from_toml(text).unwrap_or_else(|e| panic!("{text:?} reads: {e}"));
        let err = config.build().unwrap_err();
        assert_eq!(err.field(), *field, "{text:?}: {err}");
        assert!(
            err.to_string().starts_with(&format!("invalid {field}: ")),
            "{err}"
        );
    }
    // The full stack breaks no rule.
    full().build().unwrap();
}

#[tokio::test]
async fn every_invalid_queue_field_is_named() {
    let cases = [
        ("", "queue.capacity"),
        ("capacity = 16777217", "queue.capacity"),
        ("capacity = 1\nworkers = 0", "queue.workers"),
        ("capacity = 1\nworkers = 100000", "queue.workers"),
        ("capacity = 1\nmax_wait = \"0s\"", "queue.max_wait"),
        ("capacity = 1\nmax_wait = \"400d\"", "queue.max_wait"),
    ];
    for (text, field) in cases {
        let config: QueueConfig = toml::from_str(text).unwrap();
        let err = config.build().unwrap_err();
        assert_eq!(err.field(), field, "{text:?}: {err}");
    }
    let err = from_deserializer::<QueueConfig, _>(
        toml::Deserializer::parse("overflow = \"drop_newest\"").unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.field(), "overflow");
    assert!(
        err.rule()
            .contains("expected `reject_newest` or `drop_oldest`"),
        "{err}"
    );
}

#[test]
fn a_fallback_config_needs_its_value() {
    let err = from_deserializer::<FallbackConfig<String>, _>(
        toml::Deserializer::parse("name = \"f\"").unwrap(),
    )
    .unwrap_err();
    assert!(err.rule().contains("missing field `value`"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// A stack read from a file behaves as the file says

/// The README's recipe: the stack of `examples/stack.toml`, read from the file.
#[test]
fn the_readme_stack_file_loads_and_builds() {
    let text = std::fs::read_to_string("examples/stack.toml").unwrap();
    let config: StackConfig = from_deserializer(toml::Deserializer::parse(&text).unwrap()).unwrap();
    let stack = config.build().unwrap();
    assert_eq!(stack.bulkhead().unwrap().snapshot().max_concurrent, 64);
    assert_eq!(stack.timeout().unwrap().duration(), Duration::from_secs(5));
    assert_eq!(stack.retry().unwrap().max_attempts(), 3);
    assert_eq!(stack.breaker().unwrap().name(), "inventory");
    assert_eq!(
        stack.attempt_timeout().unwrap().duration(),
        Duration::from_secs(1)
    );
}

#[tokio::test(start_paused = true)]
async fn each_section_is_a_layer_in_the_recommended_order() {
    let config = from_toml(
        r#"
        [retry]
        max_attempts = 3
        backoff = { growth = "constant", base = "100ms", jitter = "none" }
        [breaker]
        count_window = 10
        minimum_calls = 3
        failure_rate = 1.0
        [attempt_timeout]
        duration = "50ms"
        "#,
    )
    .unwrap();
    let stack = config.build().unwrap();
    let breaker = stack.breaker().unwrap().clone();

    // Each attempt times out (attempt_timeout), the breaker sees each one, the retry makes 3.
    let start = Instant::now();
    let mut calls = 0;
    let err = stack
        .call(|| {
            calls += 1;
            async {
                sleep(Duration::from_secs(1)).await;
                Ok::<_, io::Error>(())
            }
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(e) if e.after() == Duration::from_millis(50)));
    assert_eq!(calls, 3);
    assert_eq!(start.elapsed(), Duration::from_millis(350)); // 3 × 50 ms + 2 × 100 ms
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.snapshot().calls, 3);

    // Open: the retry waits no more (no retry_after within its cap) and the call is not made.
    let err = stack
        .call(|| async { Ok::<_, io::Error>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CircuitOpen(_)), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_of_the_file_takes_a_permit_per_attempt_outside_the_breaker() {
    let config = from_toml(
        r#"
        [retry]
        max_attempts = 3
        backoff = { growth = "constant", base = "10ms", max_delay = "2s", jitter = "none" }
        [rate_limit]
        permits = 2
        period = "1s"
        [breaker]
        count_window = 10
        minimum_calls = 10
        "#,
    )
    .unwrap();
    let stack = config.build().unwrap();
    assert_eq!(stack.rate_limit().unwrap().snapshot().burst, 2);

    // Two attempts fail and spend the burst; the third is rate limited before the breaker,
    // which saw two calls, not three.
    let mut calls = 0;
    let err = stack
        .call(|| {
            calls += 1;
            async { Err::<(), _>(io::Error::other("refused")) }
        })
        .await
        .unwrap_err();
    assert_eq!(calls, 2);
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(stack.breaker().unwrap().snapshot().calls, 2);

    // A fresh stack, healthy dependency: the third call waits for the permit the rejection
    // promised (500 ms at 2 a second), because the retry honours `retry_after`.
    let stack = config.build().unwrap();
    for _ in 0..2 {
        stack
            .call(|| async { Ok::<_, io::Error>(()) })
            .await
            .unwrap();
    }
    let start_third = Instant::now();
    let mut attempts = 0;
    stack
        .call(|| {
            attempts += 1;
            async { Ok::<_, io::Error>(()) }
        })
        .await
        .unwrap();
    assert_eq!(
        attempts, 1,
        "the rate-limited attempt never reached the closure"
    );
    assert_eq!(start_third.elapsed(), Duration::from_millis(500));
    assert_eq!(stack.breaker().unwrap().snapshot().calls, 3);
}

#[tokio::test(start_paused = true)]
async fn a_stack_with_no_section_calls_straight_through() {
    let stack = StackConfig::default().build().unwrap();
    assert!(stack.bulkhead().is_none() && stack.timeout().is_none() && stack.retry().is_none());
    assert!(stack.breaker().is_none() && stack.attempt_timeout().is_none());
    let mut calls = 0;
    let err = stack
        .call(|| {
            calls += 1;
            async { Err::<(), _>(io::Error::other("refused")) }
        })
        .await
        .unwrap_err();
    assert_eq!(calls, 1);
    assert_eq!(err.into_inner().unwrap().to_string(), "refused");
}

#[tokio::test(start_paused = true)]
async fn the_overall_timeout_and_the_bulkhead_come_from_the_file() {
    let config = from_toml(
        r#"
        [bulkhead]
        max_concurrent = 1
        [timeout]
        duration = "200ms"
        "#,
    )
    .unwrap();
    let stack = std::sync::Arc::new(config.build().unwrap());
    let busy = tokio::spawn({
        let stack = stack.clone();
        async move {
            Policy::call(&*stack, || async {
                sleep(Duration::from_secs(1)).await;
                Ok::<_, io::Error>(())
            })
            .await
        }
    });
    tokio::task::yield_now().await;
    let err = stack
        .call(|| async { Ok::<_, io::Error>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BulkheadFull(_)), "{err:?}");
    let err = busy.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Timeout(e) if e.after() == Duration::from_millis(200)));
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_of_the_file_limits_the_retries() {
    let config = from_toml(
        r#"
        [retry]
        max_attempts = 5
        backoff = { growth = "constant", base = "1ms" }
        [retry_budget]
        percent = 0.0
        min_per_sec = 0
        "#,
    )
    .unwrap();
    let stack = config.build().unwrap();
    let mut calls = 0;
    let _ = stack
        .call(|| {
            calls += 1;
            async { Err::<(), _>(io::Error::other("refused")) }
        })
        .await;
    assert_eq!(calls, 1, "an empty budget allows no retry");
}

#[tokio::test(start_paused = true)]
async fn one_classifier_added_in_code_reaches_the_breaker_and_the_retry() {
    let config = from_toml(
        r#"
        [retry]
        max_attempts = 3
        [breaker]
        count_window = 5
        minimum_calls = 1
        "#,
    )
    .unwrap();
    // Not found is an answer: neither retried nor counted as a failure.
    let failed = FailureIf(
        |e: &Error<io::Error>| !matches!(e, Error::Inner(io) if io.kind() == io::ErrorKind::NotFound),
    );
    let stack = config.builder().unwrap().classify(failed).build().unwrap();
    let mut calls = 0;
    let _ = Policy::call(&stack, || {
        calls += 1;
        async { Err::<(), _>(io::Error::from(io::ErrorKind::NotFound)) }
    })
    .await;
    assert_eq!(calls, 1, "not retried");
    assert_eq!(stack.breaker().unwrap().snapshot().failure_rate, 0.0);
    assert_eq!(stack.breaker().unwrap().state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_fallback_from_a_file_goes_around_a_stack_from_a_file() {
    let fallback: FallbackConfig<String> = toml::from_str(r#"value = "cached""#).unwrap();
    let stack = from_toml("[timeout]\nduration = \"100ms\"")
        .unwrap()
        .build()
        .unwrap();
    let policy = fallback.build().wrap(stack);
    let body = policy
        .call(|| async {
            sleep(Duration::from_secs(1)).await;
            Ok::<_, io::Error>("fresh".to_string())
        })
        .await
        .unwrap();
    assert_eq!(body, "cached");
}

/// The same file through tower: the stack's layer gives the outcome its `call` gives, and
/// shares the breaker.
#[tokio::test(start_paused = true)]
async fn a_stack_from_a_file_is_one_tower_layer_with_the_same_behaviour() {
    use std::sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    };
    use tower::{Service, ServiceBuilder, ServiceExt};

    let config = from_toml(
        r#"
        [retry]
        max_attempts = 3
        backoff = { growth = "constant", base = "100ms", jitter = "none" }
        [breaker]
        count_window = 10
        minimum_calls = 3
        failure_rate = 1.0
        [attempt_timeout]
        duration = "50ms"
        "#,
    )
    .unwrap();
    let stack = config.build().unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let mut svc = ServiceBuilder::new()
        .layer(stack.layer())
        .map_err(Error::Inner)
        .service_fn({
            let calls = calls.clone();
            move |_: ()| {
                calls.fetch_add(1, Ordering::Relaxed);
                async {
                    sleep(Duration::from_secs(1)).await;
                    Ok::<_, io::Error>(())
                }
            }
        });
    let start = Instant::now();
    let err = svc.ready().await.unwrap().call(()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(e) if e.after() == Duration::from_millis(50)));
    assert_eq!(calls.load(Ordering::Relaxed), 3);
    assert_eq!(start.elapsed(), Duration::from_millis(350));
    assert_eq!(stack.breaker().unwrap().state(), State::Open);
    let err = svc.ready().await.unwrap().call(()).await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen(_)), "{err:?}");
    assert_eq!(calls.load(Ordering::Relaxed), 3);
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[tokio::test(start_paused = true)]
async fn a_breaker_snapshot_serializes_and_reads_back() {
    let breaker = CircuitBreaker::builder()
        .name("users")
        .count_window(1)
        .minimum_calls(1)
        .open_duration(Duration::from_millis(4250))
        .build()
        .unwrap();
    let _ = breaker.call(|| async { Err::<(), _>("refused") }).await;
    let snapshot = breaker.snapshot();
    let json = serde_json::to_value(&snapshot).unwrap();
    assert_eq!(
        json,
        json!({
            "name": "users",
            "state": "open",
            "failure_rate": 1.0,
            "slow_call_rate": 0.0,
            "calls": 1,
            "rejected": 0,
            "retry_after": "4.25s",
        })
    );
    let read: BreakerSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(read, snapshot);
}

#[test]
fn every_state_is_written_as_its_event_name() {
    for state in [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::Disabled,
    ] {
        let json = serde_json::to_value(state).unwrap();
        assert_eq!(json, json!(state.as_str()));
        assert_eq!(serde_json::from_value::<State>(json).unwrap(), state);
    }
}

#[tokio::test(start_paused = true)]
async fn a_bulkhead_snapshot_serializes_and_reads_back() {
    let bulkhead = Bulkhead::builder()
        .max_concurrent(3)
        .name("db")
        .build()
        .unwrap();
    let snapshot = bulkhead.snapshot();
    let json = serde_json::to_value(&snapshot).unwrap();
    assert_eq!(
        json,
        json!({"name": "db", "in_flight": 0, "waiting": 0, "rejected": 0, "max_concurrent": 3})
    );
    assert_eq!(
        serde_json::from_value::<BulkheadSnapshot>(json).unwrap(),
        snapshot
    );
}

#[tokio::test]
async fn a_queue_snapshot_serializes_and_reads_back() {
    let queue = Queue::builder().capacity(2).name("jobs").build().unwrap();
    queue
        .call(|| async { Ok::<_, io::Error>(()) })
        .await
        .unwrap();
    let snapshot = queue.snapshot();
    let json = serde_json::to_value(&snapshot).unwrap();
    assert_eq!(json["name"], "jobs");
    assert_eq!(json["completed"], 1);
    assert_eq!(json["is_closed"], false);
    assert_eq!(
        serde_json::from_value::<QueueSnapshot>(json).unwrap(),
        snapshot
    );
}

/// A health endpoint is one line: `Json(breaker.snapshot())`.
#[tokio::test]
async fn a_health_endpoint_is_one_line_with_axum() {
    use axum::{Json, Router, body::Body, http::Request, routing::get};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let breaker = CircuitBreaker::builder().name("inventory").build().unwrap();
    breaker.force_open();
    let app: Router = Router::new().route(
        "/health",
        get({
            let breaker = breaker.clone();
            move || async move { Json(breaker.snapshot()) }
        }),
    );
    let response = app
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let snapshot: BreakerSnapshot = serde_json::from_slice(&body).unwrap();
    assert_eq!(snapshot, breaker.snapshot());
    assert_eq!(snapshot.state, State::ForcedOpen);
}
