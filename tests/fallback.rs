//! Fallback behaviour through both front doors.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use failguard::{BoxError, Error, Fallback, Timeout};
use tokio::time::{Instant, sleep};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

fn down() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, "down")
}

#[tokio::test]
async fn a_success_passes_through_untouched() {
    let fallback = Fallback::value(0);
    assert_eq!(
        fallback
            .call(|| async { Ok::<_, io::Error>(5) })
            .await
            .unwrap(),
        5
    );
}

#[tokio::test]
async fn a_value_replaces_an_error() {
    let fallback = Fallback::value("default".to_string());
    let out = fallback.call(|| async { Err::<String, _>(down()) }).await;
    assert_eq!(out.unwrap(), "default");
}

#[tokio::test]
async fn a_closure_receives_the_error() {
    let fallback = Fallback::from_fn(|e: Error<io::Error>| e.into_inner().unwrap().kind());
    let out = fallback.call(|| async { Err(down()) }).await;
    assert_eq!(out.unwrap(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test(start_paused = true)]
async fn an_async_closure_runs_after_the_failure_and_may_fail_itself() {
    let fallback = Fallback::from_async(|e: Error<io::Error>| async move {
        sleep(Duration::from_millis(10)).await;
        match e {
            Error::Inner(io) if io.kind() == io::ErrorKind::ConnectionRefused => Ok("replica"),
            other => Err(other),
        }
    });
    let start = Instant::now();
    assert_eq!(
        fallback.call(|| async { Err(down()) }).await.unwrap(),
        "replica"
    );
    assert_eq!(start.elapsed(), Duration::from_millis(10));

    let other = fallback
        .call(|| async { Err(io::Error::other("bad")) })
        .await;
    assert_eq!(other.unwrap_err().into_inner().unwrap().to_string(), "bad");
}

#[tokio::test]
async fn the_predicate_chooses_which_errors_fall_back() {
    let fallback = Fallback::value(0).when(|e: &Error<io::Error>| {
        e.inner()
            .is_some_and(|io| io.kind() != io::ErrorKind::InvalidInput)
    });
    assert_eq!(fallback.call(|| async { Err(down()) }).await.unwrap(), 0);
    let err = fallback
        .call(|| async { Err::<i32, _>(io::Error::from(io::ErrorKind::InvalidInput)) })
        .await
        .unwrap_err();
    assert_eq!(err.inner().unwrap().kind(), io::ErrorKind::InvalidInput);
}

#[tokio::test(start_paused = true)]
async fn rejections_fall_back_too_and_can_be_told_apart() {
    let policy = Fallback::from_fn(|e: Error<io::Error>| match e {
        Error::Timeout(t) => format!("slow ({:?})", t.after()),
        other => format!("other: {other}"),
    })
    .wrap(Timeout::new(Duration::from_millis(50)).unwrap());
    let out = policy
        .call(|| async {
            sleep(Duration::from_secs(1)).await;
            Ok::<_, io::Error>("late".to_string())
        })
        .await;
    assert_eq!(out.unwrap(), "slow (50ms)");
}

#[tokio::test(start_paused = true)]
async fn only_rejections_fall_back_when_asked() {
    let policy = Fallback::value("stale")
        .when(|e: &Error<io::Error>| e.is_rejection())
        .wrap(Timeout::new(Duration::from_millis(50)).unwrap());
    let slow = policy
        .call(|| async {
            sleep(Duration::from_secs(1)).await;
            Ok("fresh")
        })
        .await;
    assert_eq!(slow.unwrap(), "stale");
    let failed = policy.call(|| async { Err::<&str, _>(down()) }).await;
    assert!(matches!(failed, Err(Error::Inner(_))));
}

#[tokio::test]
async fn the_layer_falls_back_with_a_value_a_closure_and_an_async_closure() {
    let leaf = || {
        ServiceBuilder::new()
            .map_err(Error::Inner)
            .service_fn(|fail: bool| async move { if fail { Err(down()) } else { Ok(1) } })
    };
    let mut by_value = ServiceBuilder::new()
        .layer(Fallback::value(-1).layer())
        .service(leaf());
    assert_eq!(
        by_value.ready().await.unwrap().call(true).await.unwrap(),
        -1
    );
    assert_eq!(
        by_value.ready().await.unwrap().call(false).await.unwrap(),
        1
    );

    let mut by_fn = ServiceBuilder::new()
        .layer(Fallback::from_fn(|_: Error<io::Error>| -2).layer())
        .service(leaf());
    assert_eq!(by_fn.ready().await.unwrap().call(true).await.unwrap(), -2);

    let mut by_async = ServiceBuilder::new()
        .layer(Fallback::from_async(|_: Error<io::Error>| async { Ok(-3) }).layer())
        .service(leaf());
    assert_eq!(
        by_async.ready().await.unwrap().call(true).await.unwrap(),
        -3
    );
}

#[tokio::test]
async fn the_layer_falls_back_to_another_service_with_the_same_request() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let replica = service_fn(move |q: String| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, Error<io::Error>>(format!("replica answered {q}")) }
    });
    let mut svc = ServiceBuilder::new()
        .layer(
            Fallback::service(replica)
                .when(|e: &Error<io::Error>| !e.is_rejection())
                .layer(),
        )
        .map_err(Error::Inner)
        .service_fn(|q: String| async move {
            if q == "bad" {
                Err(down())
            } else {
                Ok(format!("primary answered {q}"))
            }
        });
    let ok = svc
        .ready()
        .await
        .unwrap()
        .call("good".into())
        .await
        .unwrap();
    assert_eq!(ok, "primary answered good");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the fallback service is not called on success"
    );
    let fell_back = svc.ready().await.unwrap().call("bad".into()).await.unwrap();
    assert_eq!(fell_back, "replica answered bad");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_layer_works_with_box_error() {
    let mut svc = ServiceBuilder::new()
        .layer(Fallback::from_fn(|e: BoxError| format!("fallback for: {e}")).layer())
        .map_err(BoxError::from)
        .service_fn(|_: ()| async { Err::<String, _>(down()) });
    assert_eq!(
        svc.ready().await.unwrap().call(()).await.unwrap(),
        "fallback for: down"
    );
}

#[test]
fn names() {
    assert_eq!(Fallback::value(1).policy_name(), "fallback");
    assert_eq!(
        Fallback::value(1)
            .name(format!("price-{}", 2))
            .policy_name(),
        "price-2"
    );
}
