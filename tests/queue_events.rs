//! The queue's `tracing` events. A file of its own: tracing caches callsite interest per
//! process, and the queue tests in `tests/queue.rs` hit the same callsites on other threads with
//! no subscriber.

use std::{
    io,
    sync::{Arc, Mutex},
    time::Duration,
};

use failguard::{Error, Queue};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
struct Names(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Names {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        self.0
            .lock()
            .unwrap()
            .push(event.metadata().name().to_owned());
    }
}

#[tokio::test(start_paused = true)]
async fn shedding_and_panics_emit_events_and_successes_do_not() {
    let names = Names::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(names.clone()));
    let queue = Queue::builder()
        .capacity(0)
        .max_wait(Duration::from_millis(5))
        .build()
        .unwrap();
    queue
        .call(|| async { Ok::<_, io::Error>(()) })
        .await
        .unwrap();
    assert!(
        names.0.lock().unwrap().is_empty(),
        "nothing per successful call"
    );

    let busy = queue.call(|| async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok::<_, io::Error>(())
    });
    let shed = queue.call(|| async { Ok::<_, io::Error>(()) }).await;
    assert!(matches!(shed, Err(Error::QueueFull(_))));
    busy.await.unwrap();
    let boom = queue.call(|| async {
        if true {
            panic!("on purpose");
        }
        Ok::<_, io::Error>(())
    });
    assert!(matches!(boom.await, Err(Error::QueueClosed(_))));
    queue.shutdown().await;
    assert!(
        queue
            .call(|| async { Ok::<_, io::Error>(()) })
            .await
            .is_err()
    );
    assert_eq!(
        *names.0.lock().unwrap(),
        ["queue.shed", "queue.panicked", "queue.shed"]
    );
}
