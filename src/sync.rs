//! Atomics and locks used by policy cores, swapped for loom's under `--cfg failguard_loom` so
//! the loom models next to each core explore every interleaving.
//!
//! (A custom cfg rather than `loom`: tokio reads `cfg(loom)` itself and would not build.)

#![allow(unused_imports)]

#[cfg(all(test, failguard_loom))]
pub(crate) use loom::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering},
};
#[cfg(not(all(test, failguard_loom)))]
pub(crate) use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering},
};
