//! Where jitter's random draws come from: this thread's `rand` generator by default, or one
//! generator the user hands in (or a seeded `StdRng`), shared by every clone and call of the
//! retry behind a lock that is taken only to draw.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
};

use rand::{Rng, RngCore, SeedableRng, rngs::StdRng};

/// One generator shared by a retry's clones and calls. A `Mutex` because `RngCore` draws through
/// `&mut`; it is locked only for a draw, and draws happen only before a retry's wait.
pub(crate) type SharedRng = Arc<Mutex<dyn RngCore + Send>>;

/// The builder's choice of generator.
#[derive(Clone)]
pub(crate) enum Source {
    /// `rand::rng()`: each thread draws from its own generator, so nothing is shared.
    Thread,
    /// A `StdRng` seeded with this, made at `build()`: every retry built gets its own.
    Seed(u64),
    /// The user's generator, already shared (builder clones share it too).
    Shared(SharedRng),
}

impl Source {
    pub(crate) fn shared(rng: impl RngCore + Send + 'static) -> Self {
        Source::Shared(Arc::new(Mutex::new(rng)))
    }

    /// The generator a built retry draws from; `None` is this thread's.
    pub(crate) fn build(self) -> Option<SharedRng> {
        match self {
            Source::Thread => None,
            Source::Seed(seed) => Some(Arc::new(Mutex::new(StdRng::seed_from_u64(seed)))),
            Source::Shared(rng) => Some(rng),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Thread => f.write_str("Thread"),
            Source::Seed(seed) => f.debug_tuple("Seed").field(seed).finish(),
            Source::Shared(_) => f.write_str("Shared"),
        }
    }
}

/// One uniform draw from `[0, 1)`: `rand`'s standard `f64`, which [`Backoff::delays`] and the
/// tests' model take the same way, so a seed pins the same delays everywhere.
///
/// [`Backoff::delays`]: super::Backoff::delays
pub(crate) fn unit(rng: &mut (impl RngCore + ?Sized)) -> f64 {
    rng.random()
}

/// One draw from `shared`, or from this thread's generator when there is none.
pub(crate) fn draw(shared: Option<&SharedRng>) -> f64 {
    match shared {
        None => unit(&mut rand::rng()),
        // A panic elsewhere while the lock was held cannot leave a generator unusable for
        // jitter, so a poisoned lock is used as it is rather than failing the retry.
        Some(rng) => unit(&mut *rng.lock().unwrap_or_else(PoisonError::into_inner)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_pins_the_draws_and_each_build_starts_afresh() {
        let seeded = Source::Seed(7);
        let (a, b) = (seeded.clone().build(), seeded.build());
        let mut model = StdRng::seed_from_u64(7);
        for _ in 0..3 {
            let want = unit(&mut model);
            assert_eq!(draw(a.as_ref()), want);
            assert_eq!(draw(b.as_ref()), want);
        }
    }

    #[test]
    fn draws_are_below_one() {
        for _ in 0..1000 {
            let d = draw(None);
            assert!((0.0..1.0).contains(&d));
        }
    }
}
