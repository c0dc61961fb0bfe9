//! The faulty HTTP server used by the outage test and the HTTP examples behaves as scripted.
//! Real server on 127.0.0.1, real time, short durations, bounded loops.

#[path = "../examples/support/faulty_server.rs"]
mod faulty_server;

use std::time::{Duration, Instant};

use faulty_server::{At, FaultyServer, Mode, Script};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_mode_answers_as_scripted_by_request_count() {
    let server = FaultyServer::start(
        Script::starting(Mode::Healthy)
            .then(At::Requests(1), Mode::Slow(Duration::from_millis(30)))
            .then(At::Requests(2), Mode::Failing)
            .then(
                At::Requests(3),
                Mode::Overloaded {
                    retry_after: Duration::from_millis(1500),
                },
            )
            .then(At::Requests(4), Mode::Down)
            .then(At::Requests(5), Mode::Healthy),
    )
    .await
    .unwrap();
    let client = client();
    let url = server.url();

    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);

    let start = Instant::now();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert!(
        start.elapsed() >= Duration::from_millis(30),
        "slow mode adds latency"
    );

    assert_eq!(client.get(&url).send().await.unwrap().status(), 500);

    let overloaded = client.get(&url).send().await.unwrap();
    assert_eq!(overloaded.status(), 503);
    assert_eq!(overloaded.headers()["retry-after"], "2");
    assert_eq!(overloaded.headers()["retry-after-ms"], "1500");

    let down = client.get(&url).send().await;
    assert!(down.is_err(), "down resets the connection: {down:?}");

    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        200,
        "recovered"
    );

    let counts = server.counts();
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(counts.requests.load(Relaxed), 6);
    assert_eq!(counts.ok.load(Relaxed), 3);
    assert_eq!(counts.failed.load(Relaxed), 1);
    assert_eq!(counts.overloaded.load(Relaxed), 1);
    assert_eq!(counts.reset.load(Relaxed), 1);
}

#[tokio::test]
async fn modes_switch_at_the_scripted_times() {
    let server = FaultyServer::start(
        Script::starting(Mode::Healthy)
            .then(At::Elapsed(Duration::from_millis(100)), Mode::Failing)
            // A failing phase long enough that no request spans it, even on a loaded machine.
            .then(At::Elapsed(Duration::from_millis(400)), Mode::Healthy),
    )
    .await
    .unwrap();
    let client = client();
    let mut seen = Vec::new();
    // Bounded in count and time: at most 2,000 requests or 2 s.
    let deadline = Instant::now() + Duration::from_secs(2);
    for _ in 0..2_000 {
        if Instant::now() > deadline || seen.len() == 3 {
            break;
        }
        let at = server.elapsed();
        let status = client
            .get(server.url())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if seen.last().map(|(s, _)| *s) != Some(status) {
            seen.push((status, at));
        }
        // Paced, so the count bound outlasts the script (a request alone takes ~0.1 ms).
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let statuses: Vec<u16> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 500, 200], "{seen:?}");
    assert!(
        seen[1].1 >= Duration::from_millis(95),
        "failing started at {:?}",
        seen[1].1
    );
    assert!(
        seen[2].1 >= Duration::from_millis(395),
        "recovery started at {:?}",
        seen[2].1
    );
}

#[path = "../examples/support/timeline.rs"]
mod timeline;

#[test]
fn the_timeline_buckets_counts_and_renders() {
    use timeline::{End, Timeline};
    let mut t = Timeline::new(Duration::from_millis(100));
    t.end(
        Duration::from_millis(10),
        End::Success,
        Duration::from_millis(2),
    );
    t.end(
        Duration::from_millis(20),
        End::Success,
        Duration::from_millis(4),
    );
    t.end(
        Duration::from_millis(150),
        End::Rejected("circuit-open"),
        Duration::from_micros(5),
    );
    t.end(
        Duration::from_millis(160),
        End::Fallback,
        Duration::from_millis(1),
    );
    t.retry(Duration::from_millis(120));
    t.breaker(Duration::from_millis(150), "open");
    t.server(Duration::from_millis(150), "failing");
    let buckets = t.buckets();
    assert_eq!(buckets.len(), 2);
    assert_eq!(buckets[0].requests(), 2);
    assert_eq!(buckets[0].quantile(0.5), Duration::from_millis(2));
    assert_eq!(buckets[0].quantile(0.99), Duration::from_millis(4));
    assert_eq!(buckets[1].rejections(), 1);
    assert_eq!(buckets[1].retries, 1);
    assert_eq!(t.totals().values().sum::<u64>(), 4);
    let table = t.table();
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(2).unwrap().contains("open"), "{table}");
    let svg = t.svg("test");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 2);
}
