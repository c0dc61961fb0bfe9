//! Unit tests of the limiter's state: admission, waiting order, and the window's verdicts.

use super::*;
use crate::adaptive::Aimd;

fn state(max_waiting: usize, order: WaitOrder) -> AdaptiveState {
    AdaptiveState::new(
        Name::from_static("t"),
        Sinks::default(),
        Box::new(Aimd::new().initial_limit(2)),
        Box::new([Partition::new(Name::from_static("default"), 1.0)]),
        (1, 10),
        SampleWindow::Calls(1),
        max_waiting,
        Duration::from_secs(1),
        order,
    )
}

#[test]
fn rejects_beyond_the_limit_and_reports_it() {
    let s = state(0, WaitOrder::Fifo);
    assert!(matches!(s.acquire(0), Admission::Admitted(1)));
    assert!(matches!(s.acquire(0), Admission::Admitted(2)));
    assert!(matches!(
        s.acquire(0),
        Admission::Rejected {
            limit: 2,
            in_flight: 2
        }
    ));
    s.release(0);
    assert!(matches!(s.acquire(0), Admission::Admitted(2)));
    assert_eq!(s.rejected(), 1);
}

#[test]
fn lifo_grants_the_newest_waiter() {
    let s = state(2, WaitOrder::Lifo);
    let _ = (s.acquire(0), s.acquire(0));
    let (Admission::Wait(old), Admission::Wait(new)) = (s.acquire(0), s.acquire(0)) else {
        panic!("expected two waiters")
    };
    s.release(0);
    assert!(new.granted.load(Acquire));
    assert!(!old.granted.load(Acquire));
    assert!(!s.leave(&old));
    assert_eq!(s.waiting(), 0);
}

#[test]
fn a_drop_shrinks_the_limit_and_an_unused_limit_never_grows() {
    let s = state(0, WaitOrder::Fifo);
    let ms = Duration::from_millis(10);
    s.record(ms, 0, false); // 0 of 2 in flight: not in use
    assert_eq!(s.limit(), 2);
    s.record(ms, 2, false);
    assert_eq!(s.limit(), 3);
    s.record(ms, 3, true);
    assert_eq!(s.limit(), 2);
    assert_eq!(s.dropped(), 1);
}
