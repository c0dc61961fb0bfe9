//! Composition: however many policies, one flat error, from both front doors.

use std::{io, time::Duration};

use failguard::{BoxError, Error, Fallback, Timeout};
use tokio::time::{Instant, sleep};
use tower::{Service, ServiceBuilder, ServiceExt};

fn timeout(ms: u64, name: &'static str) -> Timeout {
    Timeout::builder()
        .duration(Duration::from_millis(ms))
        .name(name)
        .build()
        .unwrap()
}

async fn slow(d: Duration) -> Result<&'static str, io::Error> {
    sleep(d).await;
    Ok("done")
}

#[tokio::test(start_paused = true)]
async fn a_three_policy_stack_returns_one_flat_typed_error() {
    // No annotations: the error of three timeouts is still `Error<io::Error>`.
    let policy = timeout(300, "overall")
        .wrap(timeout(200, "middle"))
        .wrap(timeout(100, "attempt"));
    let start = Instant::now();
    let err: Error<io::Error> = policy
        .call(|| slow(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert!(matches!(err, Error::Timeout(e) if e.name() == "attempt"));

    let err = policy
        .call(|| async { Err::<(), _>(io::Error::other("inner")) })
        .await
        .unwrap_err();
    assert_eq!(err.into_inner().unwrap().to_string(), "inner");
}

#[tokio::test(start_paused = true)]
async fn the_outermost_timeout_bounds_the_whole_stack() {
    let policy = timeout(100, "overall").wrap(timeout(500, "attempt"));
    let start = Instant::now();
    let err = policy
        .call(|| slow(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert!(matches!(err, Error::Timeout(e) if e.name() == "overall"));
}

#[tokio::test(start_paused = true)]
async fn three_layers_keep_one_typed_error() {
    let policy = Fallback::value("fallback")
        .when(|e: &Error<io::Error>| matches!(e, Error::Timeout(t) if t.name() == "overall"))
        .wrap(timeout(300, "overall"))
        .wrap(timeout(100, "attempt"));
    let mut svc = ServiceBuilder::new()
        .layer(policy.layer())
        .map_err(Error::Inner)
        .service_fn(slow);

    let err = svc
        .ready()
        .await
        .unwrap()
        .call(Duration::from_millis(150))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Timeout(e) if e.name() == "attempt"),
        "not picked by the predicate"
    );
    let ok = svc
        .ready()
        .await
        .unwrap()
        .call(Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(ok, "done");
}

#[tokio::test(start_paused = true)]
async fn three_separate_layers_keep_one_typed_error() {
    let mut svc = ServiceBuilder::new()
        .layer(
            Fallback::from_fn(|e: Error<io::Error>| {
                if e.is_rejection() {
                    "timed out"
                } else {
                    "failed"
                }
            })
            .layer(),
        )
        .layer(timeout(300, "overall").layer())
        .layer(timeout(100, "attempt").layer())
        .map_err(Error::Inner)
        .service_fn(slow);
    assert_eq!(
        svc.ready()
            .await
            .unwrap()
            .call(Duration::from_secs(1))
            .await
            .unwrap(),
        "timed out"
    );
}

#[tokio::test(start_paused = true)]
async fn three_layers_keep_one_boxed_error() {
    let mut svc = ServiceBuilder::new()
        .layer(timeout(300, "overall").layer())
        .layer(timeout(200, "middle").layer())
        .layer(timeout(100, "attempt").layer())
        .map_err(BoxError::from)
        .service_fn(slow);
    let err: BoxError = svc
        .ready()
        .await
        .unwrap()
        .call(Duration::from_secs(1))
        .await
        .unwrap_err();
    let elapsed = err
        .downcast_ref::<failguard::error::Elapsed>()
        .expect("a flat Elapsed, not nested");
    assert_eq!(elapsed.name(), "attempt");
    // And the boxed error still reports the rejection to policies that classify through it.
    assert!(failguard::PolicyError::rejection(&err).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_composed_policy_and_its_layer_share_one_value() {
    let policy = Fallback::value(0).wrap(timeout(10, "t"));
    let copy = policy.clone();
    assert_eq!(copy.outer().policy_name(), "fallback");
    assert_eq!(copy.inner().duration(), Duration::from_millis(10));
    assert_eq!(
        policy
            .call(|| async {
                sleep(Duration::from_secs(1)).await;
                Ok::<_, io::Error>(1)
            })
            .await
            .unwrap(),
        0
    );
}

#[test]
fn composed_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let policy = Fallback::value("x")
        .wrap(timeout(10, "a"))
        .wrap(timeout(5, "b"));
    let fut = policy.call(|| slow(Duration::from_millis(1)));
    assert_send(&fut);
}

#[tokio::test(start_paused = true)]
async fn a_retry_sees_rejections_through_a_boxed_error_too() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let retry = failguard::Retry::builder()
        .max_attempts(3)
        .backoff(failguard::retry::Backoff::constant(Duration::from_millis(
            10,
        )))
        .build()
        .unwrap();
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let mut svc = ServiceBuilder::new()
        .layer(retry.wrap(timeout(100, "attempt")).layer())
        .map_err(BoxError::from)
        .service_fn(move |_: ()| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    sleep(Duration::from_secs(1)).await;
                }
                Ok::<_, io::Error>("done")
            }
        });
    let start = Instant::now();
    assert_eq!(svc.ready().await.unwrap().call(()).await.unwrap(), "done");
    // The boxed `Elapsed` was recognised as a timeout and retried after 10 ms.
    assert_eq!(start.elapsed(), Duration::from_millis(110));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// `Option<P>` is a policy: `Some` applies it, `None` passes the call through, and the stack's
/// type is the same either way, from the inherent `call`, from `Policy::call`, under a retry
/// (which calls through it again) and inside a queue (which owns it).
#[tokio::test(start_paused = true)]
async fn an_optional_layer_applies_when_some_and_passes_through_when_none() {
    use failguard::{Policy, Queue, Retry};

    let stack = |attempt_ms: Option<u64>| {
        Retry::new(3)
            .unwrap()
            .wrap(attempt_ms.map(|ms| timeout(ms, "attempt")))
    };
    let (with, without) = (stack(Some(100)), stack(None));
    fn same_type<P>(_: &P, _: &P) {}
    same_type(&with, &without);

    // Some: each of the three attempts times out at 100 ms.
    let start = Instant::now();
    let mut calls = 0;
    let err = with
        .call(|| {
            calls += 1;
            slow(Duration::from_secs(1))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(e) if e.name() == "attempt"));
    assert_eq!(calls, 3);
    assert!(start.elapsed() >= Duration::from_millis(300));

    // None: nothing bounds the attempt.
    let start = Instant::now();
    let done = Policy::call(&without, || slow(Duration::from_secs(1))).await;
    assert_eq!(done.unwrap(), "done");
    assert_eq!(start.elapsed(), Duration::from_secs(1));

    // Owned by a queue's worker, both ways.
    let queue = Queue::new(4).unwrap();
    let queued = queue.clone().wrap(Some(timeout(100, "queued")));
    let err = queued
        .call(|| slow(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(e) if e.name() == "queued"));
    let queued = queue.wrap(None::<Timeout>);
    assert_eq!(
        queued.call(|| slow(Duration::from_secs(1))).await.unwrap(),
        "done"
    );
}

/// The tower face of `Option<P>`: one service type either way, and a layer left out over a
/// service that cannot fail lifts its error as a failguard layer would, so the layers above
/// it see `Error<Infallible>` whichever way the option went.
#[tokio::test(start_paused = true)]
async fn an_optional_layer_is_one_service_type_and_lifts_like_a_layer() {
    use std::convert::Infallible;

    use failguard::parts::ToLayer;

    for inner in [Some(timeout(100, "inner")), None] {
        let left_out = inner.is_none();
        let mut svc = ServiceBuilder::new()
            .layer(Some(timeout(300, "outer")).layer())
            .layer(inner.layer())
            .service_fn(|_: ()| async {
                sleep(Duration::from_millis(200)).await;
                Ok::<_, Infallible>("done")
            });
        let answer: Result<&str, Error<Infallible>> = svc.ready().await.unwrap().call(()).await;
        match answer {
            Ok(done) => assert!(left_out, "{done}"),
            Err(Error::Timeout(e)) => assert_eq!((e.name().as_str(), left_out), ("inner", false)),
            Err(other) => panic!("{other:?}"),
        }
    }
}
