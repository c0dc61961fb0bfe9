//! `BoxPolicy`: a stack chosen at run time behind one type, stored, cloned and shared across
//! tasks, with the same outcomes as the stack it erases.

use std::{io, time::Duration};

use failguard::{Bulkhead, CircuitBreaker, Error, Fallback, Retry, Timeout, policy::BoxPolicy};

const MS: Duration = Duration::from_millis(1);

fn stack(kind: &str) -> BoxPolicy<u32, io::Error> {
    match kind {
        "fallback" => BoxPolicy::new(
            Fallback::value(0)
                .wrap(Retry::new(2).unwrap())
                .wrap(Timeout::new(10 * MS).unwrap()),
        ),
        "bulkhead" => BoxPolicy::new(
            Bulkhead::new(1)
                .unwrap()
                .wrap(Timeout::new(10 * MS).unwrap()),
        ),
        _ => BoxPolicy::new(Timeout::new(10 * MS).unwrap()),
    }
}

#[tokio::test(start_paused = true)]
async fn stacks_chosen_at_run_time_keep_their_behaviour() {
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok::<_, io::Error>(1)
    };
    // Retried twice, timed out twice, then the fallback answers.
    assert_eq!(stack("fallback").call(slow).await.unwrap(), 0);
    assert!(matches!(
        stack("plain").call(slow).await,
        Err(Error::Timeout(_))
    ));
    assert_eq!(
        stack("plain")
            .call(|| async { Ok::<_, io::Error>(5) })
            .await
            .unwrap(),
        5
    );
}

#[tokio::test(start_paused = true)]
async fn clones_share_the_stack_across_tasks() {
    let breaker = CircuitBreaker::builder().build().unwrap();
    let policy: BoxPolicy<u32, io::Error> = BoxPolicy::new(breaker.clone());
    let mut tasks = Vec::new();
    for n in 0..4 {
        let policy = policy.clone();
        tasks.push(tokio::spawn(async move {
            policy
                .call(move || async move { Ok::<_, io::Error>(n) })
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(breaker.snapshot().calls, 4);
}

#[tokio::test(start_paused = true)]
async fn a_full_bulkhead_rejects_through_the_box() {
    let policy = stack("bulkhead");
    let busy = policy.call(|| async {
        tokio::time::sleep(5 * MS).await;
        Ok::<_, io::Error>(1)
    });
    let mut busy = tokio_test::task::spawn(busy);
    assert!(busy.poll().is_pending());
    let rejected = policy.call(|| async { Ok::<_, io::Error>(2) }).await;
    assert!(matches!(rejected, Err(Error::BulkheadFull(_))));
    assert_eq!(busy.await.unwrap(), 1);
}
