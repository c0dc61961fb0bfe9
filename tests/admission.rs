//! Stacks that stay correct: admission is lazy (a policy decides when its call first runs, and
//! nothing inside it runs before), every permit survives a panic, and a retry never starves the
//! scheduler. Each test failed on the crate before lazy admission and permit guards.

use std::{
    convert::Infallible,
    future::Future,
    io,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use failguard::{
    Bulkhead, CircuitBreaker, Error, Fallback, Outcome, Queue, Retry, Timeout, breaker::State,
    retry::Backoff,
};
use tokio::time::{Instant, advance, sleep};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

const MS: Duration = Duration::from_millis(1);

/// Counts the calls that reached the dependency.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicU32>);

impl Calls {
    fn hit(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

fn waiting_bulkhead() -> Bulkhead {
    Bulkhead::builder()
        .max_concurrent(1)
        .max_waiting(8)
        .max_wait(Duration::from_secs(10))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. Admission happens when the call starts, not when its future is built.

#[tokio::test(start_paused = true)]
async fn a_call_waiting_in_a_bulkhead_meets_a_breaker_that_opened_meanwhile() {
    let bulkhead = waiting_bulkhead();
    let breaker = CircuitBreaker::builder().build().unwrap();
    let policy = bulkhead.clone().wrap(breaker.clone());
    let calls = Calls::default();

    let busy = tokio::spawn({
        let policy = policy.clone();
        let calls = calls.clone();
        async move {
            policy
                .call(|| async move {
                    calls.hit();
                    sleep(100 * MS).await;
                    Ok::<_, io::Error>(())
                })
                .await
        }
    });
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.snapshot().in_flight, 1);

    // B waits in the bulkhead; the breaker opens while it waits.
    let waiting = policy.call(|| async {
        calls.hit();
        Ok::<_, io::Error>(())
    });
    let mut waiting = tokio_test::task::spawn(waiting);
    assert!(waiting.poll().is_pending());
    assert_eq!(bulkhead.snapshot().waiting, 1);
    breaker.force_open();

    busy.await.unwrap().unwrap();
    let err = waiting.await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen(_)), "{err:?}");
    // Only the first call reached the dependency: B never went through the open breaker.
    assert_eq!(calls.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_call_the_breaker_rejects_does_not_wait_in_the_bulkhead_inside_it_nor_count_there() {
    let breaker = CircuitBreaker::builder().build().unwrap();
    let bulkhead = waiting_bulkhead();
    breaker.force_open();
    let policy = breaker.clone().wrap(bulkhead.clone());
    let hold = bulkhead.call(|| async {
        sleep(Duration::from_secs(5)).await;
        Ok::<_, io::Error>(())
    });
    let mut hold = tokio_test::task::spawn(hold);
    assert!(hold.poll().is_pending());

    let start = Instant::now();
    let err = policy
        .call(|| async { Ok::<_, io::Error>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CircuitOpen(_)));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(bulkhead.snapshot().waiting, 0);
    assert_eq!(bulkhead.snapshot().rejected, 0);
}

#[tokio::test(start_paused = true)]
async fn a_call_the_bulkhead_sheds_is_never_seen_by_the_breaker_inside_it() {
    let bulkhead = Bulkhead::builder()
        .max_concurrent(1)
        .max_waiting(1)
        .max_wait(10 * MS)
        .build()
        .unwrap();
    let breaker = CircuitBreaker::builder().build().unwrap();
    breaker.force_open();
    let policy = bulkhead.clone().wrap(breaker.clone());
    let hold = bulkhead.call(|| async {
        sleep(Duration::from_secs(1)).await;
        Ok::<_, io::Error>(())
    });
    let mut hold = tokio_test::task::spawn(hold);
    assert!(hold.poll().is_pending());

    let err = policy
        .call(|| async { Ok::<_, io::Error>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BulkheadFull(_)), "{err:?}");
    // The breaker never judged it: it was shed before it started.
    assert_eq!(breaker.snapshot().rejected, 0);
}

#[tokio::test(start_paused = true)]
async fn the_slow_call_clock_starts_when_the_call_runs_not_while_it_waits_outside() {
    let bulkhead = waiting_bulkhead();
    let breaker = CircuitBreaker::builder()
        .count_window(1)
        .minimum_calls(1)
        .slow_call_duration(50 * MS)
        .slow_call_rate(1.0)
        .build()
        .unwrap();
    let policy = bulkhead.clone().wrap(breaker.clone());
    let hold = bulkhead.call(|| async {
        sleep(Duration::from_secs(1)).await;
        Ok::<_, io::Error>(())
    });
    let mut hold = tokio_test::task::spawn(hold);
    assert!(hold.poll().is_pending());

    // Waits 1 s for the bulkhead, then runs for 10 ms: not slow.
    let waited = policy.call(|| async {
        sleep(10 * MS).await;
        Ok::<_, io::Error>(())
    });
    let (held, waited) = tokio::join!(hold, waited);
    held.unwrap();
    waited.unwrap();
    assert_eq!(breaker.snapshot().slow_call_rate, 0.0);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_queued_backlog_meets_a_breaker_that_opened_while_it_waited() {
    let queue = Queue::builder().capacity(8).workers(1).build().unwrap();
    let breaker = CircuitBreaker::builder().build().unwrap();
    let policy = queue.clone().wrap(breaker.clone());
    let calls = Calls::default();

    let mut backlog = Vec::new();
    for _ in 0..4 {
        let calls = calls.clone();
        let mut call = tokio_test::task::spawn(policy.call(move || async move {
            calls.hit();
            sleep(100 * MS).await;
            Ok::<_, io::Error>(())
        }));
        assert!(call.poll().is_pending());
        backlog.push(call);
    }
    // Let the worker take the first item, then open the breaker under the rest.
    tokio::task::yield_now().await;
    breaker.force_open();

    let mut opened = 0;
    for call in backlog {
        match call.await {
            Ok(()) => {}
            Err(Error::CircuitOpen(_)) => opened += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(opened, 3);
    assert_eq!(calls.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn tower_a_waiting_request_does_not_reach_the_inner_service_through_an_open_breaker() {
    let bulkhead = waiting_bulkhead();
    let breaker = CircuitBreaker::builder().build().unwrap();
    let calls = Calls::default();
    let svc = ServiceBuilder::new()
        .layer(bulkhead.layer())
        .layer(breaker.layer())
        .map_err(Error::Inner)
        .service(service_fn({
            let calls = calls.clone();
            move |ms: u64| {
                calls.hit();
                async move {
                    sleep(MS * ms as u32).await;
                    Ok::<_, Infallible>(ms)
                }
            }
        }));

    let mut first = tokio_test::task::spawn(svc.clone().oneshot(100));
    assert!(first.poll().is_pending());
    let mut second = tokio_test::task::spawn(svc.clone().oneshot(1));
    assert!(second.poll().is_pending());
    // The waiting request has not called anything below the bulkhead.
    assert_eq!(calls.get(), 1);
    breaker.force_open();

    assert_eq!(first.await.unwrap(), 100);
    let err = second.await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen(_)), "{err:?}");
    assert_eq!(calls.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn tower_the_breaker_decides_on_first_poll_not_in_call() {
    let breaker = CircuitBreaker::builder().build().unwrap();
    let calls = Calls::default();
    let mut svc = ServiceBuilder::new()
        .layer(breaker.layer())
        .map_err(Error::Inner)
        .service(service_fn({
            let calls = calls.clone();
            move |()| {
                calls.hit();
                async { Ok::<_, Infallible>(()) }
            }
        }));
    let future = svc.ready().await.unwrap().call(());
    breaker.force_open();
    assert!(matches!(future.await, Err(Error::CircuitOpen(_))));
    assert_eq!(calls.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_future_built_early_is_judged_when_it_is_first_polled() {
    let breaker = CircuitBreaker::builder().build().unwrap();
    let calls = Calls::default();
    let future = breaker.call(|| async {
        calls.hit();
        Ok::<_, io::Error>(())
    });
    breaker.force_open();
    assert!(matches!(future.await, Err(Error::CircuitOpen(_))));
    assert_eq!(calls.get(), 0);
}

// ---------------------------------------------------------------------------------------------
// 2. A panic gives every permit back: the breaker reaches its verdict afterwards.

/// Two failures open it; after 1 s it lets one probe in.
fn probing_breaker() -> CircuitBreaker<impl Fn(&Result<u32, Error<io::Error>>) -> Outcome + Clone> {
    CircuitBreaker::builder()
        .count_window(2)
        .minimum_calls(2)
        .half_open_calls(1)
        .open_duration(Duration::from_secs(1))
        .classify(|result: &Result<u32, Error<io::Error>>| match result {
            Ok(13) => panic!("the classifier panics on 13"),
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        })
        .build()
        .unwrap()
}

async fn open_then_half_open<P>(breaker: &CircuitBreaker<P>)
where
    P: Fn(&Result<u32, Error<io::Error>>) -> Outcome + Clone,
{
    for _ in 0..2 {
        let _ = breaker
            .call(|| async { Err::<u32, _>(io::Error::other("down")) })
            .await;
    }
    assert_eq!(breaker.state(), State::Open);
    advance(Duration::from_secs(1)).await;
}

/// Runs `call` on its own task and checks that it panicked.
async fn assert_panics<F>(call: F)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let joined = tokio::spawn(call).await;
    assert!(matches!(joined, Err(e) if e.is_panic()), "the call panics");
}

/// After the panicking probe, the next probe is admitted and closes the breaker.
async fn assert_verdict_reached<C>(breaker: &CircuitBreaker<C>)
where
    C: Fn(&Result<u32, Error<io::Error>>) -> Outcome + Clone,
{
    let probe = breaker.call(|| async { Ok::<u32, io::Error>(1) }).await;
    assert_eq!(probe.unwrap(), 1, "the probe permit leaked");
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_closure_gives_the_probe_permit_back() {
    let breaker = probing_breaker();
    open_then_half_open(&breaker).await;
    let b = breaker.clone();
    assert_panics(async move {
        b.call(|| -> std::future::Ready<Result<u32, io::Error>> { panic!("closure") })
            .await
    })
    .await;
    assert_verdict_reached(&breaker).await;
}

#[tokio::test(start_paused = true)]
async fn a_panicking_future_gives_the_probe_permit_back() {
    let breaker = probing_breaker();
    open_then_half_open(&breaker).await;
    let b = breaker.clone();
    assert_panics(async move {
        b.call(|| async {
            sleep(MS).await;
            panic!("future")
        })
        .await
    })
    .await;
    assert_verdict_reached(&breaker).await;
}

#[tokio::test(start_paused = true)]
async fn a_panicking_classifier_gives_the_probe_permit_back() {
    let breaker = probing_breaker();
    open_then_half_open(&breaker).await;
    let b = breaker.clone();
    assert_panics(async move { b.call(|| async { Ok(13) }).await }).await;
    assert_verdict_reached(&breaker).await;
}

#[tokio::test(start_paused = true)]
async fn a_panic_under_a_retry_gives_the_probe_permit_back() {
    let breaker = probing_breaker();
    open_then_half_open(&breaker).await;
    let policy = Retry::new(3).unwrap().wrap(breaker.clone());
    assert_panics(async move {
        policy
            .call(|| -> std::future::Ready<Result<u32, io::Error>> { panic!("closure") })
            .await
    })
    .await;
    assert_verdict_reached(&breaker).await;
}

#[tokio::test(start_paused = true)]
async fn tower_a_panicking_inner_call_or_classifier_gives_the_probe_permit_back() {
    for (panic_in, retried) in [
        ("call", false),
        ("future", false),
        ("classifier", false),
        ("call", true),
        ("classifier", true),
    ] {
        let breaker = probing_breaker();
        open_then_half_open(&breaker).await;
        let retry = retried.then(|| Retry::new(3).unwrap().layer());
        let svc = ServiceBuilder::new()
            .option_layer(retry)
            .layer(breaker.layer())
            .map_err(Error::Inner)
            .service(service_fn(move |()| {
                if panic_in == "call" {
                    panic!("inner call");
                }
                async move {
                    if panic_in == "future" {
                        panic!("inner future");
                    }
                    Ok::<u32, io::Error>(13)
                }
            }));
        assert_panics(svc.oneshot(())).await;
        assert_verdict_reached(&breaker).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_gives_the_bulkhead_permit_back() {
    let bulkhead = Bulkhead::new(1).unwrap();
    let b = bulkhead.clone();
    assert_panics(async move {
        b.call(|| -> std::future::Ready<Result<(), io::Error>> { panic!("closure") })
            .await
    })
    .await;
    assert_eq!(bulkhead.snapshot().in_flight, 0);
    bulkhead
        .call(|| async { Ok::<_, io::Error>(()) })
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// 4. A retry gives the scheduler a turn between attempts, whatever the delay.

#[tokio::test(start_paused = true)]
async fn a_zero_delay_retry_lets_a_timeout_around_it_fire() {
    let policy = Timeout::new(10 * MS).unwrap().wrap(
        Retry::builder()
            .max_attempts(100_000)
            .backoff(Backoff::constant(Duration::ZERO))
            .build()
            .unwrap(),
    );
    // Another task moves the clock on as soon as it gets a turn.
    let clock = tokio::spawn(advance(20 * MS));
    let calls = Calls::default();
    let err = policy
        .call(|| {
            calls.hit();
            async { Err::<(), _>(io::Error::other("fails at once")) }
        })
        .await
        .unwrap_err();
    clock.await.unwrap();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(calls.get() < 10, "{} attempts in one poll", calls.get());
}

#[tokio::test(start_paused = true)]
async fn a_retry_of_a_full_bulkhead_with_zero_delay_lets_other_tasks_run() {
    let bulkhead = Bulkhead::new(1).unwrap();
    let policy = Retry::builder()
        .max_attempts(100_000)
        .backoff(Backoff::constant(Duration::ZERO))
        .build()
        .unwrap()
        .wrap(bulkhead.clone());
    // Holds the only permit until it has had one more turn.
    let holder = tokio::spawn({
        let bulkhead = bulkhead.clone();
        async move {
            bulkhead
                .call(|| async {
                    tokio::task::yield_now().await;
                    Ok::<_, io::Error>(())
                })
                .await
        }
    });
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.snapshot().in_flight, 1);
    policy
        .call(|| async { Ok::<_, io::Error>(()) })
        .await
        .unwrap();
    holder.await.unwrap().unwrap();
    assert!(bulkhead.snapshot().rejected < 10);
}

// ---------------------------------------------------------------------------------------------
// 6. A queue owns what it runs.

#[tokio::test(start_paused = true)]
async fn a_queue_around_a_borrowed_stack_works_from_call() {
    async fn run(breaker: &CircuitBreaker, queue: &Queue) -> Result<u32, Error<io::Error>> {
        // Neither handle is 'static here: the queue clones what it needs into the work.
        let timeout = Timeout::new(Duration::from_secs(1)).unwrap();
        // Every shape of chain.
        let chained = queue.clone().wrap(breaker.clone()).wrap(timeout.clone());
        let nested = queue.clone().wrap(breaker.clone().wrap(timeout.clone()));
        let outer = Fallback::value(0)
            .wrap(queue.clone())
            .wrap(breaker.clone())
            .wrap(timeout);
        let a = chained.call(|| async { Ok::<_, io::Error>(7) }).await?;
        let b = nested.call(|| async { Ok::<_, io::Error>(7) }).await?;
        let c = outer.call(|| async { Ok::<_, io::Error>(7) }).await?;
        Ok(a + b + c)
    }
    let breaker = CircuitBreaker::builder().build().unwrap();
    let queue = Queue::new(4).unwrap();
    assert_eq!(run(&breaker, &queue).await.unwrap(), 21);
    assert_eq!(breaker.snapshot().calls, 3);
}

// ---------------------------------------------------------------------------------------------
// 6. Policies other than a queue need no runtime to be built; they need its time driver only
// for a timer, and say so under "Panics".

#[test]
fn policies_built_outside_a_runtime_work_inside_one() {
    let policy = Bulkhead::new(2).unwrap().wrap(
        Retry::new(2).unwrap().wrap(
            CircuitBreaker::builder()
                .build()
                .unwrap()
                .wrap(Timeout::new(Duration::from_secs(1)).unwrap()),
        ),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let calls = Calls::default();
    let result = runtime.block_on(policy.call(|| {
        let n = calls.hit();
        async move {
            sleep(MS).await;
            if n == 1 {
                Err(io::Error::other("once"))
            } else {
                Ok(n)
            }
        }
    }));
    assert_eq!(result.unwrap(), 2);
}

#[test]
fn a_timer_without_the_time_driver_panics_as_documented() {
    let timeout = Timeout::new(Duration::from_secs(1)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Ready on the first poll: no timer, no panic.
    let ready = runtime.block_on(timeout.call(|| async { Ok::<_, io::Error>(1) }));
    assert_eq!(ready.unwrap(), 1);
    let pending = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(timeout.call(|| async {
            tokio::task::yield_now().await;
            Ok::<_, io::Error>(1)
        }))
    }));
    assert!(pending.is_err());
}
