//! Every `Error` variant's `Display`, exactly, with the policy's default name and a custom one:
//! these are the words that end up in log lines and HTTP bodies.

use std::{error::Error as _, io, time::Duration};

use failguard::{Bulkhead, CircuitBreaker, Error, Queue, Timeout, queue::Overflow};

type Io = Result<(), io::Error>;

async fn ok() -> Io {
    Ok(())
}

async fn slow() -> Io {
    tokio::time::sleep(Duration::from_secs(10)).await;
    Ok(())
}

fn refused() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused")
}

#[test]
fn inner_is_transparent() {
    #[derive(Debug, thiserror::Error)]
    #[error("the server answered 500")]
    struct Status(#[source] io::Error);

    let err: Error<io::Error> = Error::Inner(refused());
    assert_eq!(err.to_string(), "connection refused");
    assert!(err.source().is_none());

    // The source is the inner error's own, so a reporter prints each message once.
    let err = Error::Inner(Status(refused()));
    assert_eq!(err.to_string(), "the server answered 500");
    assert_eq!(err.source().unwrap().to_string(), "connection refused");
    assert_eq!(
        err.inner().unwrap().0.kind(),
        io::ErrorKind::ConnectionRefused
    );
}

#[test]
fn timeout() {
    let default = Timeout::new(Duration::from_millis(500)).unwrap();
    assert_eq!(
        Error::<io::Error>::Timeout(default.elapsed()).to_string(),
        "timeout elapsed after 500ms"
    );
    let named = Timeout::builder()
        .duration(Duration::from_millis(1500))
        .name("search")
        .build()
        .unwrap();
    assert_eq!(
        Error::<io::Error>::Timeout(named.elapsed()).to_string(),
        "timeout `search` elapsed after 1.5s"
    );
}

#[tokio::test(start_paused = true)]
async fn circuit_open() {
    let forced = CircuitBreaker::builder().build().unwrap();
    forced.force_open();
    let err = forced.call(ok).await.unwrap_err();
    assert_eq!(err.to_string(), "circuit breaker is open");

    let tripped = CircuitBreaker::builder()
        .count_window(1)
        .minimum_calls(1)
        .open_duration(Duration::from_secs(30))
        .name("payments")
        .build()
        .unwrap();
    let _ = tripped.call(|| async { Err::<(), _>(refused()) }).await;
    let err = tripped.call(ok).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "circuit breaker `payments` is open; retry after 30s"
    );
}

#[tokio::test(start_paused = true)]
async fn bulkhead_full() {
    let default = Bulkhead::new(1).unwrap();
    let busy = tokio::spawn({
        let b = default.clone();
        async move { b.call(slow).await }
    });
    tokio::task::yield_now().await;
    let err = default.call(ok).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "bulkhead is full (1 call in flight, no room to wait)"
    );
    busy.abort();

    let named = Bulkhead::builder()
        .max_concurrent(2)
        .max_waiting(1)
        .max_wait(Duration::from_millis(20))
        .name("db")
        .build()
        .unwrap();
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let b = named.clone();
            tokio::spawn(async move { b.call(slow).await })
        })
        .collect();
    tokio::task::yield_now().await;
    let err = named.call(ok).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "bulkhead `db` is full (2 calls in flight, the wait ran out)"
    );
    busy.iter().for_each(|b| b.abort());
}

#[tokio::test(start_paused = true)]
async fn queue_full() {
    let default = Queue::builder().capacity(0).build().unwrap();
    let busy = default.call(slow);
    tokio::pin!(busy);
    let _ = futures_poll_once(busy.as_mut()).await;
    let err = default.call(ok).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "queue is full (0 waiting slots): the new item was rejected"
    );

    let named = Queue::builder()
        .capacity(1)
        .overflow(Overflow::DropOldest)
        .name("jobs")
        .build()
        .unwrap();
    let busy = named.call(slow);
    tokio::pin!(busy);
    let _ = futures_poll_once(busy.as_mut()).await;
    let oldest = named.call(ok);
    tokio::pin!(oldest);
    let _ = futures_poll_once(oldest.as_mut()).await;
    let newer = named.call(ok);
    tokio::pin!(newer);
    let _ = futures_poll_once(newer.as_mut()).await;
    let err = oldest.await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "queue `jobs` is full (1 waiting slot): the oldest waiting item was dropped for a newer one"
    );
}

/// Issue 11: once a bulkhead or a queue has an estimate of the wait, its message ends with it,
/// as "about": an estimate, where an open circuit's "retry after" is a promise.
#[tokio::test(start_paused = true)]
async fn full_bulkheads_and_queues_end_with_their_estimate() {
    async fn quarter() -> Io {
        tokio::time::sleep(Duration::from_millis(250)).await;
        Ok(())
    }
    let bulkhead = Bulkhead::new(1).unwrap();
    let mut messages = Vec::new();
    for _ in 0..2 {
        let busy = tokio::spawn({
            let b = bulkhead.clone();
            async move { b.call(quarter).await }
        });
        tokio::task::yield_now().await;
        messages.push(bulkhead.call(ok).await.unwrap_err().to_string());
        busy.await.unwrap().unwrap();
    }
    assert_eq!(
        messages,
        [
            "bulkhead is full (1 call in flight, no room to wait)",
            "bulkhead is full (1 call in flight, no room to wait); retry after about 250ms",
        ]
    );

    async fn long() -> Io {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Ok(())
    }
    let queue = Queue::builder()
        .capacity(2)
        .workers(2)
        .name("jobs")
        .build()
        .unwrap();
    let mut messages = Vec::new();
    for _ in 0..2 {
        let busy: Vec<_> = (0..4).map(|_| queue.call(long)).collect();
        messages.push(queue.call(ok).await.unwrap_err().to_string());
        for call in busy {
            call.await.unwrap();
        }
    }
    assert_eq!(
        messages,
        [
            "queue `jobs` is full (2 waiting slots): the new item was rejected",
            "queue `jobs` is full (2 waiting slots): the new item was rejected; retry after about 2.25s",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn queue_timeout() {
    for (builder, expected) in [
        (
            Queue::builder(),
            "queue dropped an item that waited 50ms (max 50ms)",
        ),
        (
            Queue::builder().name("jobs"),
            "queue `jobs` dropped an item that waited 50ms (max 50ms)",
        ),
    ] {
        let queue = builder
            .capacity(8)
            .max_wait(Duration::from_millis(50))
            .build()
            .unwrap();
        let busy = queue.call(slow);
        tokio::pin!(busy);
        let _ = futures_poll_once(busy.as_mut()).await;
        let err = queue.call(ok).await.unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

#[tokio::test(start_paused = true)]
async fn queue_closed() {
    let default = Queue::new(8).unwrap();
    default.shutdown().await;
    let err = default.call(ok).await.unwrap_err();
    assert_eq!(err.to_string(), "queue is shut down");

    let named = Queue::builder().capacity(8).name("jobs").build().unwrap();
    let err = named
        .call(|| async {
            if true {
                panic!("boom");
            }
            ok().await
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "queue `jobs` lost the item: its work panicked"
    );
}

/// Polls a future once, so a queued call takes its place before the next one arrives.
async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
    let mut f = f;
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn concurrency_limited() {
    use failguard::adaptive::{AdaptiveLimit, Vegas};

    for (name, message) in [
        (None, "adaptive limit reached (1 call in flight, limit 1)"),
        (
            Some("db"),
            "adaptive limit `db` reached (1 call in flight, limit 1)",
        ),
    ] {
        let mut builder = AdaptiveLimit::builder().algorithm(Vegas::new().initial_limit(1));
        if let Some(name) = name {
            builder = builder.name(name);
        }
        let limit = builder.build().unwrap();
        let busy = limit.call(slow);
        tokio::pin!(busy);
        assert!(futures_poll_once(&mut busy).await.is_none());
        let err = limit.call(ok).await.unwrap_err();
        assert_eq!(err.to_string(), message);
        assert_eq!(err.rejection().unwrap().policy(), "adaptive-limit");
    }
}

#[tokio::test(start_paused = true)]
async fn throttled() {
    use failguard::throttle::AdaptiveThrottle;

    for (name, start) in [
        (
            None,
            "adaptive throttle rejected the request locally (probability ",
        ),
        (
            Some("ads"),
            "adaptive throttle `ads` rejected the request locally (probability ",
        ),
    ] {
        let mut builder = AdaptiveThrottle::builder().seed(1);
        if let Some(name) = name {
            builder = builder.name(name);
        }
        let throttle = builder.build().unwrap();
        let err = loop {
            match throttle.call(|| async { Err::<(), _>(refused()) }).await {
                Err(Error::Throttled(t)) => break Error::<io::Error>::Throttled(t),
                _ => continue,
            }
        };
        let message = err.to_string();
        assert!(message.starts_with(start), "{message}");
        assert!(message.ends_with("accepted in the window)"), "{message}");
        assert_eq!(err.rejection().unwrap().policy(), "adaptive-throttle");
    }
}
