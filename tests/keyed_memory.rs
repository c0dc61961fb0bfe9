//! A million distinct keys through a container bounded at 10,000 keys: the live heap stays
//! bounded. A counting global allocator tracks the bytes allocated and not yet freed.
#![cfg(feature = "keyed")]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    convert::Infallible,
    future::ready,
    pin::pin,
    sync::atomic::{AtomicIsize, Ordering::Relaxed},
    task::{Context, Poll, Waker},
};

use failguard::{CircuitBreaker, keyed::Keyed};

struct Live;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to the system allocator unchanged; counting touches one atomic.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

const MAX_KEYS: usize = 10_000;

fn call(breakers: &Keyed<String, CircuitBreaker>, key: &str) {
    let call = pin!(breakers.call(key, || ready(Ok::<_, Infallible>(()))));
    let Poll::Ready(out) = call.poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("a call that finishes at once");
    };
    out.unwrap();
}

#[test]
fn a_million_keys_through_ten_thousand_keep_memory_bounded() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let breakers: Keyed<String, CircuitBreaker> =
        Keyed::builder(CircuitBreaker::builder().count_window(20).build().unwrap())
            .max_keys(MAX_KEYS)
            .build()
            .unwrap();
    let mut key = String::new();
    let mut use_key = |i: usize| {
        use std::fmt::Write;
        key.clear();
        write!(key, "host-{i}.example.com").unwrap();
        call(&breakers, &key);
    };

    let start = LIVE_BYTES.load(Relaxed);
    // Fill it, then twice more: by then every structure has reached its working size.
    for i in 0..3 * MAX_KEYS {
        use_key(i);
    }
    let full = LIVE_BYTES.load(Relaxed) - start;
    let per_key = full / MAX_KEYS as isize;
    assert!(breakers.len() <= MAX_KEYS, "{} keys", breakers.len());

    let mut peak = full;
    for i in 3 * MAX_KEYS..1_000_000 {
        use_key(i);
        if i % 10_000 == 0 {
            let live = LIVE_BYTES.load(Relaxed) - start;
            peak = peak.max(live);
            assert!(
                breakers.len() <= MAX_KEYS,
                "{} keys at key {i}",
                breakers.len()
            );
        }
    }
    let end = LIVE_BYTES.load(Relaxed) - start;
    let snapshot = breakers.snapshot();
    assert_eq!(snapshot.created, 1_000_000);
    assert!(snapshot.evicted_full >= 1_000_000 - MAX_KEYS as u64);
    let report = format!(
        "live heap {full} bytes when full ({per_key} a key), {peak} at its peak, {end} at the end"
    );
    // Unbounded, a million breakers would take a hundred times what 10,000 do. The map's
    // tables settle a little above their size after the first fills (measured: 1.4%, in steps
    // as a shard's table or its ghost list grows once), and nothing grows with the keys.
    assert!(peak < full + full / 20, "{report}");

    drop(breakers);
    assert!(
        LIVE_BYTES.load(Relaxed) - start < per_key,
        "dropping the container frees every key"
    );
}
