//! The permit accounting driven by hand, without a runtime: the wait list's costs, and grants
//! and cancellations against a plain FIFO model.

use std::collections::VecDeque;

use super::*;

fn state(max_concurrent: usize, max_waiting: usize) -> BulkheadState {
    BulkheadState::new(
        max_concurrent,
        max_waiting,
        Duration::from_secs(1),
        Name::from("test"),
    )
}

fn wait(s: &BulkheadState) -> Arc<Waiter> {
    match s.acquire() {
        Admission::Wait(w) => w,
        other => panic!("expected to wait, got {other:?}"),
    }
}

/// Issue 10: a cancellation searched the wait list from the front, so cancelling n waiters
/// examined O(n²) entries. Each must now examine one, whatever the order.
#[test]
fn cancelling_waiters_in_any_order_examines_one_node_each() {
    const N: usize = 200_000;
    let s = state(1, N);
    assert!(matches!(s.acquire(), Admission::Admitted));
    let waiters: Vec<_> = (0..N).map(|_| wait(&s)).collect();
    // A stride through the list (104,729 is prime, so it visits every waiter once): far from
    // FIFO, and it leaves holes everywhere before the neighbours go.
    for k in 0..N {
        assert!(!s.cancel(&waiters[k * 104_729 % N]));
        let examined = s.waiters.lock().unwrap().examined;
        assert!(
            examined <= k as u64 + 1,
            "{examined} after {} cancellations",
            k + 1
        );
    }
    assert_eq!(s.waiting(), 0);
    s.release();
    assert_eq!(s.in_flight(), 0);
    // Every node was freed: the next crowd reuses them instead of growing the slab.
    assert!(matches!(s.acquire(), Admission::Admitted));
    let again: Vec<_> = (0..N).map(|_| wait(&s)).collect();
    assert_eq!(s.waiters.lock().unwrap().nodes.len(), N);
    for w in &again {
        assert!(!s.cancel(w));
    }
}

/// Random acquisitions, releases, cancellations and claims against a plain FIFO model: the
/// oldest waiter is always the one granted (reused nodes do not reorder the queue), the
/// counts are exact at every step, and a cancelled waiter that had been granted reports it.
#[test]
fn grants_follow_arrival_order_around_cancellations_and_reused_nodes() {
    const MAX_CONCURRENT: usize = 3;
    const MAX_WAITING: usize = 6;
    let s = state(MAX_CONCURRENT, MAX_WAITING);
    let mut held = 0; // permits held: running calls and claimed grants
    let mut queue: VecDeque<Arc<Waiter>> = VecDeque::new(); // the model, oldest first
    let mut granted: Vec<Arc<Waiter>> = Vec::new(); // granted, not yet claimed
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for step in 0..100_000 {
        // xorshift: deterministic, no dependency.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        match seed % 5 {
            0 | 1 => match s.acquire() {
                Admission::Admitted => {
                    assert!(queue.is_empty() && held < MAX_CONCURRENT, "step {step}");
                    held += 1;
                }
                Admission::Wait(w) => {
                    assert_eq!(held + granted.len(), MAX_CONCURRENT, "step {step}");
                    assert!(queue.len() < MAX_WAITING, "step {step}");
                    queue.push_back(w);
                }
                Admission::Rejected(_) => {
                    assert_eq!(queue.len(), MAX_WAITING, "step {step}");
                }
            },
            2 if held > 0 => {
                s.release();
                held -= 1;
                if let Some(oldest) = queue.pop_front() {
                    granted.push(oldest);
                }
            }
            3 if !queue.is_empty() => {
                let at = (seed >> 8) as usize % queue.len();
                let w = queue.remove(at).unwrap();
                assert!(
                    !s.cancel(&w),
                    "step {step}: a queued waiter was not granted"
                );
            }
            4 if !granted.is_empty() => {
                // A granted waiter either runs or gives up just then; both keep the permit.
                let w = granted.swap_remove((seed >> 8) as usize % granted.len());
                if seed & (1 << 40) == 0 {
                    assert!(s.cancel(&w), "step {step}: the grant was lost");
                } else {
                    let waker = std::task::Waker::noop();
                    assert!(s.poll_granted(&w, waker), "step {step}");
                }
                held += 1;
            }
            _ => {}
        }
        assert_eq!(s.in_flight(), held + granted.len(), "step {step}");
        assert_eq!(s.waiting(), queue.len(), "step {step}");
        // The watch is on only while saturated, and always while anyone waits.
        let watched = s.counts.load(Relaxed) & WATCH != 0;
        assert!(!watched || s.in_flight() == MAX_CONCURRENT, "step {step}");
        assert!(queue.is_empty() || watched, "step {step}");
        for w in &queue {
            assert!(
                !w.granted.load(Relaxed),
                "step {step}: granted out of order"
            );
        }
        for w in &granted {
            assert!(w.granted.load(Relaxed), "step {step}");
        }
    }
}

/// The watch that times free permits starts with the first caller turned away, sends releases
/// through the slow path only until a permit is free, and then leaves the fast paths as they
/// were: no clock read, no lock.
#[test]
fn the_watch_starts_with_a_rejection_and_ends_when_a_permit_is_free() {
    let s = BulkheadState::new(2, 0, Duration::ZERO, Name::from("test"));
    let watched = |s: &BulkheadState| s.counts.load(Relaxed) & WATCH != 0;
    assert!(matches!(s.acquire(), Admission::Admitted));
    assert!(matches!(s.acquire(), Admission::Admitted));
    assert!(!watched(&s), "saturated, but nobody turned away yet");
    assert!(matches!(s.acquire(), Admission::Rejected(Hint::NONE)));
    assert!(watched(&s));
    assert!(s.waiters.lock().unwrap().since.is_some());
    s.release();
    assert!(!watched(&s));
    assert!(s.waiters.lock().unwrap().since.is_none());
    assert!(s.waiters.lock().unwrap().gap.get().is_some());
    // Back on the fast path: the word holds the counts alone.
    assert!(matches!(s.acquire(), Admission::Admitted));
    assert_eq!(s.counts.load(Relaxed), 2);
    s.release();
    s.release();
    assert_eq!(s.counts.load(Relaxed), 0);
}
