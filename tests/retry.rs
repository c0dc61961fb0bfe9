//! Retry through the public API, on tokio's paused clock: attempts are counted and the virtual
//! time slept is asserted exactly.

use std::{
    io,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use failguard::{
    Bulkhead, CircuitBreaker, Error, Queue, Retry, Timeout,
    retry::{Backoff, Jitter, NoHint, OnRetry, RetryAttempt, RetryBudget, RetryReason, Rules},
};
use rand::{SeedableRng, rngs::StdRng};
use tokio::time::{Instant, sleep};

const MS: Duration = Duration::from_millis(1);

/// A retry of `attempts` with a constant 100 ms backoff and no jitter.
fn constant(attempts: u32) -> Retry {
    Retry::builder()
        .max_attempts(attempts)
        .backoff(Backoff::constant(100 * MS))
        .build()
        .unwrap()
}

/// An operation that fails its first `failures` calls (error "fail N"), then returns the call
/// number; counts calls and records when each started.
#[derive(Clone, Default)]
struct Flaky {
    calls: Arc<AtomicU32>,
    at: Arc<Mutex<Vec<Duration>>>,
}

impl Flaky {
    fn call(
        &self,
        failures: u32,
        origin: Instant,
    ) -> impl Future<Output = Result<u32, io::Error>> + use<> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.at.lock().unwrap().push(origin.elapsed());
        async move {
            if n <= failures {
                Err(io::Error::other(format!("fail {n}")))
            } else {
                Ok(n)
            }
        }
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    fn at(&self) -> Vec<Duration> {
        self.at.lock().unwrap().clone()
    }
}

fn message(e: Error<io::Error>) -> String {
    e.into_inner().expect("an inner error").to_string()
}

#[tokio::test(start_paused = true)]
async fn a_first_success_is_one_attempt_and_no_wait() {
    let (op, start) = (Flaky::default(), Instant::now());
    assert_eq!(constant(3).call(|| op.call(0, start)).await.unwrap(), 1);
    assert_eq!(op.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn one_failure_is_two_attempts_one_backoff_apart() {
    let (op, start) = (Flaky::default(), Instant::now());
    assert_eq!(constant(3).call(|| op.call(1, start)).await.unwrap(), 2);
    assert_eq!(op.at(), [Duration::ZERO, 100 * MS]);
    assert_eq!(start.elapsed(), 100 * MS);
}

#[tokio::test(start_paused = true)]
async fn max_attempts_counts_the_first_call_and_returns_the_last_error() {
    let (op, start) = (Flaky::default(), Instant::now());
    let err = constant(3).call(|| op.call(10, start)).await.unwrap_err();
    assert_eq!(message(err), "fail 3");
    assert_eq!(op.at(), [Duration::ZERO, 100 * MS, 200 * MS]);
    assert_eq!(start.elapsed(), 200 * MS);
}

#[tokio::test(start_paused = true)]
async fn one_attempt_means_no_retry() {
    let (op, start) = (Flaky::default(), Instant::now());
    let err = constant(1).call(|| op.call(10, start)).await.unwrap_err();
    assert_eq!(message(err), "fail 1");
    assert_eq!(op.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_non_retryable_error_stops_at_once() {
    let retry = Retry::builder()
        .max_attempts(5)
        .backoff(Backoff::constant(100 * MS))
        .retry_if(|e: &Error<io::Error>| e.inner().is_none_or(|e| e.to_string() != "fail 1"))
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    let err = retry.call(|| op.call(10, start)).await.unwrap_err();
    assert_eq!(message(err), "fail 1");
    assert_eq!(op.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_retryable_result_is_retried_and_the_last_one_returned() {
    let retry = Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(100 * MS))
        .retry_on_result(|n: &u32| *n < 10)
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    assert_eq!(retry.call(|| op.call(0, start)).await.unwrap(), 3);
    assert_eq!(op.at(), [Duration::ZERO, 100 * MS, 200 * MS]);

    // A result the predicate accepts ends the retry.
    let retry = Retry::builder()
        .backoff(Backoff::constant(100 * MS))
        .retry_on_result(|n: &u32| *n < 2)
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    assert_eq!(retry.call(|| op.call(0, start)).await.unwrap(), 2);
    assert_eq!(start.elapsed(), 100 * MS);
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_doubles_up_to_the_cap() {
    let retry = Retry::builder()
        .max_attempts(6)
        .backoff(Backoff::exponential(100 * MS).max_delay(500 * MS))
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    retry.call(|| op.call(10, start)).await.unwrap_err();
    // Waits 100, 200, 400, 500 (capped), 500.
    assert_eq!(
        op.at(),
        [0, 100, 300, 700, 1200, 1700].map(|ms| ms * MS).to_vec()
    );
}

#[tokio::test(start_paused = true)]
async fn a_seeded_retry_sleeps_exactly_the_backoffs_delays() {
    for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
        let backoff = Backoff::exponential(100 * MS)
            .max_delay(2000 * MS)
            .jitter(jitter);
        let retry = Retry::builder()
            .max_attempts(6)
            .backoff(backoff)
            .seed(7)
            .build()
            .unwrap();
        let (op, start) = (Flaky::default(), Instant::now());
        retry.call(|| op.call(10, start)).await.unwrap_err();
        assert_eq!(op.at(), wait_ends(backoff.delays(7).take(5)), "{jitter:?}");
    }
}

/// The virtual time each wait of `delays` ends at, from zero: tokio's timer has a resolution of
/// 1 ms, so each wait ends on the next whole millisecond.
fn wait_ends(delays: impl Iterator<Item = Duration>) -> Vec<Duration> {
    let mut at = vec![Duration::ZERO];
    for d in delays {
        let ms = d.as_nanos().div_ceil(1_000_000) as u64;
        at.push(*at.last().unwrap() + Duration::from_millis(ms));
    }
    at
}

#[tokio::test(start_paused = true)]
async fn a_retry_given_a_seeded_std_rng_sleeps_what_that_seed_pins() {
    let backoff = Backoff::exponential(100 * MS)
        .max_delay(2000 * MS)
        .jitter(Jitter::Equal);
    let retry = Retry::builder()
        .max_attempts(6)
        .backoff(backoff)
        .rng(StdRng::seed_from_u64(7))
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    retry.call(|| op.call(10, start)).await.unwrap_err();
    assert_eq!(op.at(), wait_ends(backoff.delays(7).take(5)));
}

#[tokio::test(start_paused = true)]
async fn clones_of_a_retry_share_its_generator_and_builds_from_a_seed_start_afresh() {
    // Constant full jitter: every wait is U(0, 1 s) of the next draw, whatever the retry number.
    let backoff = Backoff::constant(1000 * MS).jitter(Jitter::Full);
    let builder = Retry::builder().max_attempts(2).backoff(backoff);
    let shared = builder
        .clone()
        .rng(StdRng::seed_from_u64(7))
        .build()
        .unwrap();
    let draws: Vec<_> = backoff.delays(7).take(3).collect();
    for (n, retry) in [shared.clone(), shared.clone(), shared].iter().enumerate() {
        let (op, start) = (Flaky::default(), Instant::now());
        retry.call(|| op.call(10, start)).await.unwrap_err();
        assert_eq!(op.at(), wait_ends([draws[n]].into_iter()), "call {n}");
    }
    let seeded = builder.seed(7);
    for retry in [seeded.clone().build().unwrap(), seeded.build().unwrap()] {
        let (op, start) = (Flaky::default(), Instant::now());
        retry.call(|| op.call(10, start)).await.unwrap_err();
        assert_eq!(op.at(), wait_ends([draws[0]].into_iter()));
    }
}

#[test]
fn unseeded_jitter_stays_in_range_on_every_thread() {
    // Each thread draws from its own generator; each runs its own paused runtime.
    let retry = Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(100 * MS).jitter(Jitter::Full))
        .build()
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let retry = retry.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .start_paused(true)
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let (op, start) = (Flaky::default(), Instant::now());
                    retry.call(|| op.call(10, start)).await.unwrap_err();
                    op.at()
                })
            })
        })
        .collect();
    for thread in threads {
        let at = thread.join().unwrap();
        assert_eq!(at.len(), 3);
        assert!(at.windows(2).all(|w| w[1] - w[0] <= 100 * MS), "{at:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_never_starts_a_wait_that_ends_at_or_past_it() {
    // Waits end at 100 and 200; the next would end at 300, past 250.
    let retry = Retry::builder()
        .max_attempts(10)
        .max_elapsed(250 * MS)
        .backoff(Backoff::constant(100 * MS))
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    assert_eq!(
        message(retry.call(|| op.call(10, start)).await.unwrap_err()),
        "fail 3"
    );
    assert_eq!(start.elapsed(), 200 * MS);

    // A wait that would end exactly at max_elapsed is not begun either.
    let retry = Retry::builder()
        .max_attempts(10)
        .max_elapsed(200 * MS)
        .backoff(Backoff::constant(100 * MS))
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    retry.call(|| op.call(10, start)).await.unwrap_err();
    assert_eq!(op.calls(), 2);
    assert_eq!(start.elapsed(), 100 * MS);
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_counts_the_time_attempts_take() {
    let retry = Retry::builder()
        .max_attempts(10)
        .max_elapsed(400 * MS)
        .backoff(Backoff::constant(50 * MS))
        .build()
        .unwrap();
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let result = retry
        .call(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                sleep(100 * MS).await;
                Err::<(), _>("slow failure")
            }
        })
        .await;
    // Attempts run 0-100, 150-250, 300-400; a wait from 400 would end past the limit.
    assert!(matches!(result, Err(Error::Inner("slow failure"))));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), 400 * MS);
}

#[tokio::test(start_paused = true)]
async fn a_delay_hint_replaces_the_backoff_and_is_clamped_to_the_cap() {
    let retry = Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(100 * MS).max_delay(5000 * MS))
        .retry_on_result(|status: &u16| *status == 429)
        .delay_hint(|r: &Result<u16, Error<io::Error>>| match r {
            Ok(429) => Some(Duration::from_secs(2)),
            Err(_) => Some(Duration::from_secs(60)),
            _ => None,
        })
        .build()
        .unwrap();
    let mut statuses = [429, 200].into_iter();
    let start = Instant::now();
    let status = retry
        .call(|| {
            let s = statuses.next().unwrap();
            async move { Ok::<_, io::Error>(s) }
        })
        .await;
    assert_eq!(status.unwrap(), 200);
    assert_eq!(start.elapsed(), Duration::from_secs(2));

    // A hint of 60 s waits the 5 s cap.
    let start = Instant::now();
    let mut first = true;
    let status = retry
        .call(|| {
            let fail = std::mem::take(&mut first);
            async move {
                if fail {
                    Err(io::Error::other("busy"))
                } else {
                    Ok(200)
                }
            }
        })
        .await;
    assert_eq!(status.unwrap(), 200);
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn an_open_circuit_is_not_retried_before_its_retry_after() {
    let breaker = CircuitBreaker::builder()
        .count_window(1)
        .minimum_calls(1)
        .open_duration(Duration::from_secs(1))
        .build()
        .unwrap();
    let policy = constant(5).wrap(breaker.clone());
    let (op, start) = (Flaky::default(), Instant::now());
    // Attempt 1 fails and opens the breaker; attempt 2 (at 100 ms) is rejected with
    // retry_after 900 ms; attempt 3 waits for it, and its probe succeeds.
    assert_eq!(policy.call(|| op.call(1, start)).await.unwrap(), 2);
    assert_eq!(op.at(), [Duration::ZERO, 1000 * MS]);
    assert_eq!(start.elapsed(), 1000 * MS);
}

#[tokio::test(start_paused = true)]
async fn an_open_circuit_with_no_known_end_or_one_beyond_the_cap_is_not_retried() {
    let breaker = CircuitBreaker::builder().build().unwrap();
    breaker.force_open();
    let policy = constant(5).wrap(breaker);
    let (op, start) = (Flaky::default(), Instant::now());
    let err = policy.call(|| op.call(0, start)).await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen(ref open) if open.retry_after().is_none()));
    assert_eq!((op.calls(), start.elapsed()), (0, Duration::ZERO));

    let breaker = CircuitBreaker::builder()
        .count_window(1)
        .minimum_calls(1)
        .open_duration(Duration::from_secs(60))
        .build()
        .unwrap();
    let retry = Retry::builder()
        .max_attempts(5)
        .backoff(Backoff::constant(100 * MS).max_delay(Duration::from_secs(10)))
        .build()
        .unwrap();
    let policy = retry.wrap(breaker);
    let (op, start) = (Flaky::default(), Instant::now());
    let err = policy.call(|| op.call(10, start)).await.unwrap_err();
    // Attempt 2 meets the open circuit (59.9 s to go, beyond the 10 s cap) and the retry stops.
    assert!(matches!(err, Error::CircuitOpen(_)));
    assert_eq!(op.calls(), 1);
    assert_eq!(start.elapsed(), 100 * MS);
}

#[tokio::test(start_paused = true)]
async fn a_full_bulkhead_is_retried_with_backoff() {
    let bulkhead = Bulkhead::new(1).unwrap();
    let busy = tokio::spawn({
        let bulkhead = bulkhead.clone();
        async move {
            bulkhead
                .call(|| async {
                    sleep(150 * MS).await;
                    Ok::<_, io::Error>(0)
                })
                .await
        }
    });
    tokio::task::yield_now().await;
    let policy = constant(5).wrap(bulkhead);
    let (op, start) = (Flaky::default(), Instant::now());
    // Rejected at 0 and 100 ms, admitted at 200. Admission is lazy: the closure is called only
    // once the bulkhead lets the attempt in, so the rejected attempts never called it.
    assert_eq!(policy.call(|| op.call(0, start)).await.unwrap(), 1);
    assert_eq!(op.at(), [200 * MS]);
    assert_eq!(start.elapsed(), 200 * MS);
    assert!(busy.await.unwrap().is_ok());
}

type Recording<T> = Retry<Rules, NoHint, OnRetry<T, Error<io::Error>>>;

/// A retry of 5 attempts that records the delay before each retry, and the delays it recorded.
fn recording<T>(backoff: Backoff) -> (Recording<T>, Arc<Mutex<Vec<Duration>>>) {
    let delays = Arc::new(Mutex::new(Vec::new()));
    let retry = Retry::builder()
        .max_attempts(5)
        .backoff(backoff)
        .on_retry({
            let delays = delays.clone();
            move |e| delays.lock().unwrap().push(e.delay)
        })
        .build()
        .unwrap();
    (retry, delays)
}

/// Issue 11: a full bulkhead's estimate is honoured like an open circuit's `retry_after`: the
/// retry does not come back sooner than it.
#[tokio::test(start_paused = true)]
async fn a_full_bulkhead_is_retried_no_sooner_than_its_estimate() {
    let bulkhead = Bulkhead::new(1).unwrap();
    let hold = |ms: u32| {
        let bulkhead = bulkhead.clone();
        tokio::spawn(async move {
            bulkhead
                .call(|| async move {
                    sleep(ms * MS).await;
                    Ok::<_, io::Error>(0)
                })
                .await
        })
    };
    // The bulkhead learns its pace: the permit comes free 300 ms after a caller was turned away.
    let first = hold(300);
    tokio::task::yield_now().await;
    assert!(
        bulkhead
            .call(|| async { Ok::<_, io::Error>(0) })
            .await
            .is_err()
    );
    first.await.unwrap().unwrap();
    let second = hold(250);
    tokio::task::yield_now().await;

    let (retry, delays) = recording(Backoff::constant(100 * MS));
    let policy = retry.wrap(bulkhead.clone());
    let (op, start) = (Flaky::default(), Instant::now());
    // Turned away with an estimate of 300 ms, the retry waits that instead of its 100 ms backoff
    // and gets in (the permit came free at 250), with no futile attempt in between.
    assert_eq!(policy.call(|| op.call(0, start)).await.unwrap(), 1);
    assert_eq!(*delays.lock().unwrap(), [300 * MS]);
    assert_eq!(op.at(), [300 * MS]);
    assert_eq!(bulkhead.snapshot().rejected, 2);
    second.await.unwrap().unwrap();
}

/// Issue 11: an estimate beyond the backoff's cap is waited up to the cap, and never makes the
/// retry give up (an open circuit's `retry_after` beyond the cap does: it is a promise).
#[tokio::test(start_paused = true)]
async fn an_estimate_beyond_the_cap_waits_the_cap_and_never_gives_up() {
    let queue = Queue::builder().capacity(0).build().unwrap();
    let work = |ms: u32| async move {
        sleep(ms * MS).await;
        Ok::<_, io::Error>(0)
    };
    // The queue sheds once (which starts its timing), then times items of 400 ms.
    let busy = queue.call(move || work(400));
    assert!(queue.call(move || work(0)).await.is_err());
    busy.await.unwrap();
    queue.call(move || work(400)).await.unwrap();
    let busy = queue.call(move || work(380));

    let (retry, delays) = recording(Backoff::constant(100 * MS).max_delay(150 * MS));
    let policy = retry.wrap(queue.clone());
    let start = Instant::now();
    // Each rejection estimates 400 ms: the retry waits its 150 ms cap each time, and the fourth
    // attempt, at 450 ms, finds the worker free (it was busy until 380).
    let out = policy.call(|| async { Ok::<_, io::Error>(7) }).await;
    assert_eq!(out.unwrap(), 7);
    assert_eq!(*delays.lock().unwrap(), [150 * MS; 3]);
    assert_eq!(start.elapsed(), 450 * MS);
    assert_eq!(queue.snapshot().rejected_newest, 4);
    busy.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_timeout_inside_is_per_attempt_and_outside_is_overall() {
    let slow_once = || {
        let mut first = true;
        move || {
            let slow = std::mem::take(&mut first);
            async move {
                if slow {
                    sleep(Duration::from_secs(1)).await;
                }
                Ok::<_, io::Error>("done")
            }
        }
    };
    let per_attempt = constant(3).wrap(Timeout::new(50 * MS).unwrap());
    let start = Instant::now();
    assert_eq!(per_attempt.call(slow_once()).await.unwrap(), "done");
    assert_eq!(start.elapsed(), 150 * MS); // 50 ms timed out, 100 ms wait, then at once

    let overall = Timeout::new(120 * MS).unwrap().wrap(constant(3));
    let start = Instant::now();
    let err = overall
        .call(|| async {
            sleep(100 * MS).await;
            Err::<(), _>(io::Error::other("down"))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)));
    assert_eq!(start.elapsed(), 120 * MS);
}

#[tokio::test(start_paused = true)]
async fn an_empty_budget_returns_the_last_outcome() {
    let budget = RetryBudget::builder()
        .min_per_sec(0)
        .percent(0.0)
        .build()
        .unwrap();
    let retry = Retry::builder()
        .backoff(Backoff::constant(100 * MS))
        .budget(budget)
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    assert_eq!(
        message(retry.call(|| op.call(10, start)).await.unwrap_err()),
        "fail 1"
    );
    assert_eq!((op.calls(), start.elapsed()), (1, Duration::ZERO));
}

#[tokio::test(start_paused = true)]
async fn calls_fill_the_budget_that_their_retries_spend() {
    // 50 % of requests, no reserve: every second call may retry once.
    let budget = RetryBudget::builder()
        .min_per_sec(0)
        .percent(50.0)
        .build()
        .unwrap();
    let retry = Retry::builder()
        .max_attempts(2)
        .backoff(Backoff::constant(Duration::ZERO))
        .budget(budget.clone())
        .build()
        .unwrap();
    let op = Flaky::default();
    let start = Instant::now();
    for _ in 0..10 {
        let _ = retry.call(|| op.call(u32::MAX, start)).await;
    }
    // Calls 2, 4, ..., 10 found a whole retry in the budget: 10 calls + 5 retries.
    assert_eq!(op.calls(), 15);
    assert_eq!(budget.available(), 0);
}

#[tokio::test(start_paused = true)]
async fn on_retry_sees_the_exact_error_of_each_failed_attempt() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let retry = Retry::builder()
        .max_attempts(4)
        .backoff(Backoff::constant(100 * MS))
        .on_retry({
            let seen = seen.clone();
            // Annotated only because the body inspects the inner error before the call below
            // fixes the types.
            move |e: &RetryAttempt<'_, u32, Error<io::Error>>| {
                let error = match e.error() {
                    Some(Error::Inner(io)) => io.to_string(),
                    other => panic!("expected the operation's error, got {other:?}"),
                };
                assert!(e.value().is_none() && e.outcome().is_err());
                seen.lock()
                    .unwrap()
                    .push((e.attempt, error, Instant::now()));
            }
        })
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    assert_eq!(retry.call(|| op.call(3, start)).await.unwrap(), 4);
    let seen = seen.lock().unwrap().clone();
    // Told before each wait, with the error of the attempt just made.
    assert_eq!(
        seen,
        [
            (2, "fail 1".to_string(), start),
            (3, "fail 2".to_string(), start + 100 * MS),
            (4, "fail 3".to_string(), start + 200 * MS),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn on_retry_callbacks_run_in_order_and_see_a_retried_result() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let push = |tag: &'static str| {
        let seen = seen.clone();
        move |e: &RetryAttempt<'_, u16, Error<io::Error>>| {
            seen.lock().unwrap().push((tag, e.value().copied()))
        }
    };
    let retry = Retry::builder()
        .backoff(Backoff::constant(MS))
        .retry_on_result(|status: &u16| *status == 503)
        .on_retry(push("first"))
        .on_retry(push("second"))
        .build()
        .unwrap();
    let mut statuses = [503, 200].into_iter();
    let status = retry
        .call(|| {
            let status = statuses.next().unwrap();
            async move { Ok::<_, io::Error>(status) }
        })
        .await;
    assert_eq!(status.unwrap(), 200);
    assert_eq!(
        *seen.lock().unwrap(),
        [("first", Some(503)), ("second", Some(503))]
    );
}

#[tokio::test(start_paused = true)]
async fn on_retry_is_told_each_attempt_its_delay_and_reason() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let retry = Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::linear(100 * MS))
        .name("db")
        .on_retry({
            let seen = seen.clone();
            move |e| {
                seen.lock()
                    .unwrap()
                    .push((e.name.to_string(), e.attempt, e.delay, e.reason))
            }
        })
        .build()
        .unwrap()
        .wrap(Timeout::new(10 * MS).unwrap());
    let mut calls = 0;
    let _ = retry
        .call(|| {
            calls += 1;
            let n = calls;
            async move {
                if n == 2 {
                    sleep(Duration::from_secs(1)).await;
                }
                Err::<(), _>(io::Error::other("boom"))
            }
        })
        .await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("db".to_string(), 2, 100 * MS, RetryReason::Error),
            (
                "db".to_string(),
                3,
                200 * MS,
                RetryReason::Rejection("timeout")
            ),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_during_a_wait_makes_no_further_attempt() {
    let retry = constant(5);
    let (op, start) = (Flaky::default(), Instant::now());
    let call = retry.call(|| op.call(10, start));
    assert!(tokio::time::timeout(150 * MS, call).await.is_err());
    sleep(Duration::from_secs(1)).await;
    assert_eq!(op.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_closure_extension_is_the_same_call() {
    use failguard::Retryable;
    let (op, start) = (Flaky::default(), Instant::now());
    assert_eq!((|| op.call(2, start)).retry(&constant(3)).await.unwrap(), 3);
    assert_eq!(start.elapsed(), 200 * MS);
}

#[tokio::test(start_paused = true)]
async fn the_closure_extension_retries_what_when_says() {
    use failguard::Retryable;
    let (op, start) = (Flaky::default(), Instant::now());
    // The policy would retry every error; `when` retries only the first.
    let err = (|| op.call(5, start))
        .retry(&constant(5))
        .when(|e| e.inner().is_some_and(|io| io.to_string() == "fail 1"))
        .await
        .unwrap_err();
    assert_eq!(err.inner().unwrap().to_string(), "fail 2");
    assert_eq!((op.calls(), start.elapsed()), (2, 100 * MS));
}

#[tokio::test(start_paused = true)]
async fn the_closure_extension_when_can_retry_what_the_policy_would_not() {
    use failguard::Retryable;
    let retry = Retry::builder()
        .backoff(Backoff::constant(100 * MS))
        .retry_if(|_: &Error<io::Error>| false)
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    let n = (|| op.call(2, start)).retry(&retry).when(|_| true).await;
    assert_eq!(n.unwrap(), 3);
    assert_eq!(start.elapsed(), 200 * MS);
}

#[tokio::test(start_paused = true)]
async fn the_closure_extension_notifies_each_error_and_delay_before_the_wait() {
    use failguard::Retryable;
    let on_retry = Arc::new(AtomicU32::new(0));
    let retry = Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::linear(100 * MS))
        .on_retry({
            let on_retry = on_retry.clone();
            move |_| {
                on_retry.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    let (op, start) = (Flaky::default(), Instant::now());
    let seen = Mutex::new(Vec::new());
    let err = (|| op.call(5, start))
        .retry(&retry)
        .notify(|e, delay| {
            // After the policy's own callback, before the wait.
            let policy_told = on_retry.load(Ordering::SeqCst);
            let error = e.inner().unwrap().to_string();
            seen.lock()
                .unwrap()
                .push((error, delay, start.elapsed(), policy_told))
        })
        .await
        .unwrap_err();
    assert_eq!(err.inner().unwrap().to_string(), "fail 3");
    assert_eq!(
        seen.into_inner().unwrap(),
        [
            ("fail 1".to_string(), 100 * MS, Duration::ZERO, 1),
            ("fail 2".to_string(), 200 * MS, 100 * MS, 2),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_closure_extension_is_lazy_until_awaited() {
    use failguard::Retryable;
    let (op, start) = (Flaky::default(), Instant::now());
    let retry = constant(2);
    let call = (|| op.call(0, start)).retry(&retry).notify(|_, _| {});
    assert_eq!(op.calls(), 0);
    assert_eq!(call.await.unwrap(), 1);
}

#[test]
fn the_future_is_send_when_the_operation_is() {
    fn assert_send<T: Send>(_: T) {}
    let retry = Retry::builder()
        .retry_if(|e: &Error<io::Error>| e.is_rejection())
        .build()
        .unwrap();
    assert_send(retry.call(|| async { Ok::<_, io::Error>(1) }));
    {
        use failguard::Retryable;
        use std::future::IntoFuture;
        assert_send(
            (|| async { Ok::<_, io::Error>(1) })
                .retry(&retry)
                .when(|e| e.is_rejection())
                .notify(|_, _| {})
                .into_future(),
        );
    }
    assert_send(
        constant(2)
            .wrap(Timeout::new(MS).unwrap())
            .call(|| async { Ok::<_, io::Error>(1) }),
    );
}

#[tokio::test(start_paused = true)]
async fn a_closed_queue_is_not_retried() {
    let queue = failguard::Queue::builder().capacity(4).build().unwrap();
    queue.shutdown().await;
    let policy = constant(3).wrap(queue);
    let start = Instant::now();
    let err = policy
        .call(|| async { Ok::<_, io::Error>(1) })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QueueClosed(_)));
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_retry_inside_a_retry_multiplies_the_attempts() {
    let policy = constant(2).wrap(constant(3));
    let (op, start) = (Flaky::default(), Instant::now());
    let err = policy.call(|| op.call(10, start)).await.unwrap_err();
    assert_eq!(message(err), "fail 6");
    // Inner: 0, 100, 200; outer wait 100; inner again: 300, 400, 500.
    assert_eq!(
        op.at(),
        [0, 100, 200, 300, 400, 500]
            .map(Duration::from_millis)
            .to_vec()
    );
}

#[test]
fn a_builder_with_closures_and_a_budget_is_a_template() {
    let budget = RetryBudget::builder().build().unwrap();
    let template = Retry::builder()
        .retry_if(|e: &Error<io::Error>| e.inner().is_some())
        .delay_hint(|_: &Result<u16, Error<io::Error>>| None)
        .budget(budget.clone())
        .on_retry(|e| assert!(e.outcome().is_err()));
    let a = template.clone().name("a").build().unwrap();
    let b = template.name("b").build().unwrap();
    assert_eq!(a.name(), "a");
    assert_eq!(b.name(), "b");
    // Both serve the same operation type, which fixes the callback's types.
    let _ = (
        a.call(|| async { Ok::<u16, io::Error>(1) }),
        b.call(|| async { Ok::<u16, io::Error>(2) }),
    );
}
