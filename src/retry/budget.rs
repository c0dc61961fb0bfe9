//! Retry budget: retries allowed in proportion to recent traffic, so that retries cannot
//! multiply an outage.
//!
//! # Why a budget, and not only a maximum number of attempts
//!
//! `max_attempts` bounds the retries of *one* call; it does nothing for a fleet of callers. When
//! a dependency fails, every caller retries at once: three attempts per call triple the load on a
//! service that is already failing, which keeps it down. A budget bounds the retries of *all*
//! calls together: they may add at most `percent` to the traffic, plus a small reserve so that a
//! quiet client can still retry. When the budget is empty the retry gives up at once and returns
//! the last outcome, and the dependency sees its ordinary traffic, not a multiple of it.
//!
//! # Arithmetic (Finagle's semantics)
//!
//! Over the last `ttl`:
//!
//! ```text
//! retries allowed = percent / 100 * requests + min_per_sec * ttl_in_seconds - retries made
//! ```
//!
//! Every call through the retry counts as one request (once, however many attempts it makes),
//! every retry as one withdrawal. Requests and withdrawals older than `ttl` no longer count: the
//! window slides in ten slices of `ttl / 10`. Amounts are kept as exact integers (a request is
//! worth `percent * 10,000` millionths of a retry), so a fractional percentage such as 12.5 % or
//! 0.1 % allows exactly that share of retries, rounded down: the budget never over-allocates.
//!
//! Each slice's counts carry the slice's full number (not a few low bits of it), so a slice left
//! untouched for any length of time never counts again. Every retry commits with one
//! compare-and-swap on the same word, so two retries racing for the last one never both get it,
//! even when their clocks fall on either side of a slice boundary.
//!
//! # Costs
//!
//! Lock-free: a request is one clock read and one write to the current slice. The slices of
//! requests are striped per thread, and a thread that owns its stripe writes with a plain store
//! (the first thread on a stripe owns it; the others on it write its shared half, with a
//! compare-and-swap). The slice is found with a multiplication: the newest slice is known, and a
//! request in it proves so without dividing. A retry reads the slices of every stripe and takes
//! one compare-and-swap (plus one, the first time a slice spends). Nothing allocates. Time is
//! `tokio::time::Instant`, so tests drive the window with tokio's paused clock.

use std::{
    cmp::Ordering::{Equal, Greater, Less},
    time::Duration,
};

use tokio::time::Instant;

use crate::{
    ConfigError,
    sync::{Arc, AtomicU64, Ordering, StripedCounts},
};

/// The number of slices the window slides in.
const SLICES: usize = 10;
/// A retry's cost in budget units; a request is worth `percent * PER_PERCENT` units.
const WITHDRAW: u128 = 1_000_000;
const PER_PERCENT: f64 = 10_000.0;
// A count is packed with the full number of its slice (its epoch) in one word, so that a slice's
// reset and its count change together and no idle time can make an old slice look current:
// [epoch: 40 bits | count: 24 bits].
const COUNT_BITS: u32 = 24;
const COUNT_MAX: u64 = (1 << COUNT_BITS) - 1;
/// The clock stops here rather than wrap: 2^40 slices are 3,484 years at the shortest slice.
const EPOCH_MAX: u64 = (1 << (64 - COUNT_BITS)) - 1;

/// The shortest `ttl` accepted.
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// The longest `ttl` accepted.
pub const MAX_TTL: Duration = Duration::from_secs(60);
/// The largest `percent` accepted: retries may add at most ten times the traffic.
pub const MAX_PERCENT: f64 = 1000.0;

/// A retry budget shared by every retry given a clone of it (Finagle's semantics; see the
/// [module docs](self) for the arithmetic).
///
/// A cheap `Clone` handle around one shared, lock-free state: give the same budget to every
/// [`Retry`](super::Retry) calling one dependency, and they share its allowance.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::retry::RetryBudget;
///
/// // Retries may add 10 % to the traffic of the last 10 s, plus 1 per second.
/// let budget = RetryBudget::builder()
///     .ttl(Duration::from_secs(10))
///     .min_per_sec(1)
///     .percent(10.0)
///     .build()?;
/// assert_eq!(budget.available(), 10); // the reserve: 1/s over 10 s
/// for _ in 0..100 {
///     budget.deposit();
/// }
/// assert_eq!(budget.available(), 20); // plus 10 % of 100 requests
/// assert!(budget.try_withdraw());
/// assert_eq!(budget.available(), 19);
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RetryBudget {
    state: Arc<BudgetState>,
    /// The fleet's share of a budget kept across instances (feature `redis`).
    #[cfg(feature = "redis")]
    pub(crate) fleet: Option<Arc<crate::fleet::BudgetShare>>,
}

#[derive(Debug)]
struct BudgetState {
    /// Requests per slice, at index `epoch % SLICES`, striped per thread: a thread that owns its
    /// stripe counts a request with a plain store, no locked instruction.
    requests: StripedCounts<SLICES>,
    /// Retries per slice, at index `epoch % SLICES`, for slices older than `spending`'s.
    retries: [AtomicU64; SLICES],
    /// The retries of the newest slice that has spent any. Every withdrawal commits here, so
    /// withdrawals are totally ordered (each sees all before it) whichever slices their clocks
    /// fall in; a slice's retries move to `retries` when a newer slice first spends.
    spending: AtomicU64,
    /// The newest slice a request has been counted in: a hint that spares nearly every request
    /// the division (a request in that slice proves it with one multiplication).
    latest: AtomicU64,
    origin: Instant,
    slice_nanos: u64,
    deposit: u128,
    reserve: u128,
}

impl RetryBudget {
    /// A builder; every knob has Finagle's default, so `RetryBudget::builder().build()` works.
    ///
    /// ```
    /// let budget = failguard::retry::RetryBudget::builder().build()?;
    /// assert_eq!(budget.available(), 100); // 10/s over 10 s
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> RetryBudgetBuilder {
        RetryBudgetBuilder::default()
    }

    /// Counts one request (a call through a retry does this itself, once per call).
    ///
    /// ```
    /// let budget = failguard::retry::RetryBudget::builder().min_per_sec(0).percent(50.0).build()?;
    /// budget.deposit();
    /// budget.deposit();
    /// assert_eq!(budget.available(), 1);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn deposit(&self) {
        #[cfg(feature = "redis")]
        if let Some(fleet) = &self.fleet {
            fleet.deposit();
        }
        self.state.deposit(Instant::now());
    }

    /// Takes one retry from the budget if it has one; `false` when it is empty.
    ///
    /// ```
    /// let budget = failguard::retry::RetryBudget::builder().min_per_sec(0).build()?;
    /// assert!(!budget.try_withdraw());
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn try_withdraw(&self) -> bool {
        #[cfg(feature = "redis")]
        if let Some(fleet) = &self.fleet {
            if let Some(granted) = fleet.try_withdraw() {
                return granted;
            }
        }
        self.state.try_withdraw(Instant::now())
    }

    /// How many retries the budget allows now.
    ///
    /// ```
    /// let budget = failguard::retry::RetryBudget::builder().min_per_sec(3).build()?;
    /// assert_eq!(budget.available(), 30); // 3/s over the default 10 s
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn available(&self) -> u64 {
        #[cfg(feature = "redis")]
        if let Some(fleet) = &self.fleet {
            if let Some(available) = fleet.available() {
                return available;
            }
        }
        let balance = self.state.balance_now(Instant::now());
        u64::try_from(balance.max(0) as u128 / WITHDRAW).unwrap_or(u64::MAX)
    }

    /// A budget with these settings and nothing deposited or withdrawn (a keyed container's
    /// new instance; a fleet budget's local fallback).
    #[cfg(any(feature = "keyed", feature = "redis"))]
    pub(crate) fn fresh(&self) -> Self {
        Self {
            state: Arc::new(self.state.fresh()),
            #[cfg(feature = "redis")]
            fleet: None,
        }
    }

    /// Whether a fresh budget would allow no more than this one: it holds at least its reserve.
    #[cfg(feature = "keyed")]
    pub(crate) fn at_rest(&self) -> bool {
        self.state.balance_now(Instant::now()) >= self.state.reserve as i128
    }

    /// The terms in the budget's units: (credit per request, reserve over the window, cost of a
    /// retry, the window).
    #[cfg(feature = "redis")]
    pub(crate) fn terms(&self) -> (u128, u128, u128, Duration) {
        let window = Duration::from_nanos(self.state.slice_nanos * SLICES as u64);
        (self.state.deposit, self.state.reserve, WITHDRAW, window)
    }
}

fn pack(epoch: u64, count: u64) -> u64 {
    (epoch << COUNT_BITS) | count
}

fn epoch_of(word: u64) -> u64 {
    word >> COUNT_BITS
}

fn count_of(word: u64) -> u64 {
    word & COUNT_MAX
}

/// The count of `word` if its slice is one of the `SLICES` ending with slice `epoch`.
fn in_window(word: u64, epoch: u64) -> u128 {
    match epoch.checked_sub(epoch_of(word)) {
        Some(age) if age < SLICES as u64 => u128::from(count_of(word)),
        // Expired, or newer than `epoch` (another thread read the clock after us).
        _ => 0,
    }
}

impl BudgetState {
    #[inline]
    fn epoch(&self, now: Instant) -> u64 {
        self.epoch_of_nanos(self.nanos(now), now)
    }

    /// Nanoseconds since `origin`, in 64 bits for the first 584 years: no 128-bit arithmetic on
    /// every request.
    #[inline]
    fn nanos(&self, now: Instant) -> Option<u64> {
        let since = now.saturating_duration_since(self.origin);
        since
            .as_secs()
            .checked_mul(1_000_000_000)
            .and_then(|n| n.checked_add(u64::from(since.subsec_nanos())))
    }

    /// The epoch of `now`, trying `latest` first: exact either way, since a time inside the
    /// hinted slice is in that slice, and any other goes through the division.
    #[inline]
    fn epoch_near(&self, now: Instant) -> u64 {
        let nanos = self.nanos(now);
        let latest = self.latest.load(Ordering::Relaxed);
        if let (Some(nanos), Some(begins)) = (nanos, latest.checked_mul(self.slice_nanos)) {
            if nanos >= begins && nanos - begins < self.slice_nanos {
                return latest;
            }
        }
        let epoch = self.epoch_of_nanos(nanos, now);
        if epoch > latest {
            // A racing store may leave an older slice here: a hint only, checked before use.
            self.latest.store(epoch, Ordering::Relaxed);
        }
        epoch
    }

    fn epoch_of_nanos(&self, nanos: Option<u64>, now: Instant) -> u64 {
        let epoch = match nanos {
            Some(nanos) => nanos / self.slice_nanos,
            None => {
                let since = now.saturating_duration_since(self.origin);
                u64::try_from(since.as_nanos() / u128::from(self.slice_nanos)).unwrap_or(EPOCH_MAX)
            }
        };
        epoch.min(EPOCH_MAX)
    }

    fn deposit(&self, now: Instant) {
        let epoch = self.epoch_near(now);
        self.requests
            .update((epoch % SLICES as u64) as usize, |word| {
                match epoch_of(word).cmp(&epoch) {
                    Equal if count_of(word) == COUNT_MAX => None, // saturated
                    Equal => Some(word + 1),
                    // Newer than our reading of the clock (we were preempted): drop the request,
                    // which errs on the side of fewer retries.
                    Greater => None,
                    // A slot only holds epochs congruent to its index, so an older one is at least
                    // `SLICES` old: expired.
                    Less => Some(pack(epoch, 1)),
                }
            });
    }

    fn try_withdraw(&self, now: Instant) -> bool {
        let clock = self.epoch(now);
        let mut spending = self.spending.load(Ordering::Acquire);
        loop {
            // A clock read before the last withdrawal's is judged at that withdrawal's slice, so
            // each withdrawal is judged no earlier than every one committed before it.
            let epoch = clock.max(epoch_of(spending));
            let new = if epoch_of(spending) == epoch {
                // Saturated retries would stop counting, so refuse rather than over-allocate.
                if count_of(spending) == COUNT_MAX {
                    return false;
                }
                spending + 1
            } else {
                // The first retry of a newer slice: the older slice's retries must be in the
                // ring before `spending` lets go of them.
                self.settle(spending);
                pack(epoch, 1)
            };
            if self.balance(epoch, spending) < WITHDRAW as i128 {
                return false;
            }
            // The check and the withdrawal are one compare-and-swap on the word every withdrawal
            // commits to, so racing withdrawals cannot both spend the last retry.
            match self
                .spending
                .compare_exchange(spending, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => spending = actual,
            }
        }
    }

    /// Copies `spending`'s retries into the ring. Racing copies of one slice agree: its count
    /// only grows while it is the newest, so the largest copy wins.
    fn settle(&self, spending: u64) {
        let epoch = epoch_of(spending);
        let slot = &self.retries[(epoch % SLICES as u64) as usize];
        let mut word = slot.load(Ordering::Acquire);
        // A newer slice there means `spending` moved on long ago: our snapshot is stale and its
        // compare-and-swap will fail.
        while epoch_of(word) < epoch || (epoch_of(word) == epoch && word < spending) {
            match slot.compare_exchange(word, spending, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// The balance in units over the window ending with slice `epoch`, reading the newest
    /// slice's retries from `spending` (a settled copy of that slice may lag behind it).
    fn balance(&self, epoch: u64, spending: u64) -> i128 {
        let (mut requests, mut retries) = (0u128, in_window(spending, epoch));
        for (slice, retries_slot) in self.retries.iter().enumerate() {
            for requests_slot in self.requests.each(slice) {
                requests += in_window(requests_slot.load(Ordering::Acquire), epoch);
            }
            let word = retries_slot.load(Ordering::Acquire);
            if epoch_of(word) != epoch_of(spending) {
                retries += in_window(word, epoch);
            }
        }
        let credit = requests * self.deposit + self.reserve;
        credit as i128 - (retries * WITHDRAW) as i128
    }

    #[cfg(any(feature = "keyed", feature = "redis"))]
    fn fresh(&self) -> Self {
        Self {
            requests: StripedCounts::new(crate::sync::stripes(16)),
            retries: std::array::from_fn(|_| AtomicU64::new(pack(0, 0))),
            spending: AtomicU64::new(pack(0, 0)),
            latest: AtomicU64::new(0),
            origin: Instant::now(),
            slice_nanos: self.slice_nanos,
            deposit: self.deposit,
            reserve: self.reserve,
        }
    }

    /// The balance now, as a withdrawal would judge it.
    fn balance_now(&self, now: Instant) -> i128 {
        let spending = self.spending.load(Ordering::Acquire);
        self.balance(self.epoch(now).max(epoch_of(spending)), spending)
    }
}

/// Builds a [`RetryBudget`]. Every knob has Finagle's default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let budget = failguard::retry::RetryBudget::builder()
///     .ttl(Duration::from_secs(60))
///     .min_per_sec(0)
///     .percent(12.5)
///     .build()?;
/// for _ in 0..8 {
///     budget.deposit();
/// }
/// assert_eq!(budget.available(), 1);
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct RetryBudgetBuilder {
    ttl: Duration,
    min_per_sec: u32,
    percent: f64,
}

pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_MIN_PER_SEC: u32 = 10;
pub(crate) const DEFAULT_PERCENT: f64 = 20.0;

impl Default for RetryBudgetBuilder {
    fn default() -> Self {
        Self {
            ttl: DEFAULT_TTL,
            min_per_sec: DEFAULT_MIN_PER_SEC,
            percent: DEFAULT_PERCENT,
        }
    }
}

impl RetryBudgetBuilder {
    /// How long a request or a retry counts in the budget.
    ///
    /// # Default
    ///
    /// 10 s. From [`MIN_TTL`] (1 s) to [`MAX_TTL`] (60 s).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Retries allowed per second of `ttl` whatever the traffic, so a quiet client can still
    /// retry: a reserve of `min_per_sec * ttl` retries.
    ///
    /// # Default
    ///
    /// 10.
    pub fn min_per_sec(mut self, min_per_sec: u32) -> Self {
        self.min_per_sec = min_per_sec;
        self
    }

    /// Retries allowed as a percentage of requests: `10.0` lets retries add 10 % to the traffic.
    /// Fractions are exact to 1/10,000 of a percent.
    ///
    /// # Default
    ///
    /// 20.0. From 0.0 to [`MAX_PERCENT`] (1000.0).
    pub fn percent(mut self, percent: f64) -> Self {
        self.percent = percent;
        self
    }

    /// Checks the configuration and builds the budget. The window starts now (tokio's clock).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `retry_budget.ttl` or `retry_budget.percent` for a value outside
    /// the range its setter documents.
    pub fn build(self) -> Result<RetryBudget, ConfigError> {
        if self.ttl < MIN_TTL || self.ttl > MAX_TTL {
            return Err(ConfigError::new(
                "retry_budget.ttl",
                format!("must be from 1s to 60s (got {:?})", self.ttl),
            ));
        }
        if !(0.0..=MAX_PERCENT).contains(&self.percent) {
            return Err(ConfigError::new(
                "retry_budget.percent",
                format!("must be from 0.0 to 1000.0 (got {})", self.percent),
            ));
        }
        let ttl_millis = self.ttl.as_millis();
        let state = BudgetState {
            requests: StripedCounts::new(crate::sync::stripes(16)),
            retries: std::array::from_fn(|_| AtomicU64::new(pack(0, 0))),
            spending: AtomicU64::new(pack(0, 0)),
            latest: AtomicU64::new(0),
            origin: Instant::now(),
            slice_nanos: (self.ttl.as_nanos() / SLICES as u128) as u64,
            // Rounded down: a fraction finer than the unit never over-allocates.
            deposit: (self.percent * PER_PERCENT) as u128,
            reserve: u128::from(self.min_per_sec) * ttl_millis * WITHDRAW / 1000,
        };
        Ok(RetryBudget {
            state: Arc::new(state),
            #[cfg(feature = "redis")]
            fleet: None,
        })
    }
}

#[cfg(all(test, not(failguard_loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_is_the_slice_number_at_every_boundary() {
        let b = RetryBudget::builder().ttl(MIN_TTL).build().unwrap();
        let s = &b.state;
        let reference = |now: Instant| {
            let since = now.saturating_duration_since(s.origin).as_nanos();
            u64::try_from(since / u128::from(s.slice_nanos)).map_or(EPOCH_MAX, |e| e.min(EPOCH_MAX))
        };
        let slice = s.slice_nanos;
        for nanos in [
            0,
            1,
            slice - 1,
            slice,
            slice + 1,
            10 * slice - 1,
            10 * slice,
            u64::MAX,
        ] {
            let now = s.origin + Duration::from_nanos(nanos);
            let epoch = reference(now);
            assert_eq!(s.epoch(now), epoch, "{nanos} ns");
            // Whatever slice the hint names (right, a neighbour, far off), the epoch is exact.
            for hint in [0, 1, epoch.saturating_sub(1), epoch, epoch + 1, EPOCH_MAX] {
                s.latest.store(hint, Ordering::Relaxed);
                assert_eq!(s.epoch_near(now), epoch, "{nanos} ns, hint {hint}");
            }
        }
        // Beyond 584 years the nanoseconds leave 64 bits: the slow path, still exact.
        let far = s.origin + Duration::from_secs(600 * 365 * 24 * 3600);
        assert_eq!(s.epoch(far), reference(far));
        assert_eq!(s.epoch(s.origin - Duration::from_nanos(1)), 0);
    }
}

#[cfg(all(test, not(failguard_loom)))]
mod striped_tests {
    use super::*;

    /// More threads than any machine gets stripes: the first on each stripe own it and count with
    /// plain stores, the rest count on the stripes' shared halves; every request counts either
    /// way.
    #[test]
    fn requests_from_more_threads_than_stripes_all_count() {
        let b = RetryBudget::builder()
            .ttl(MAX_TTL)
            .min_per_sec(0)
            .percent(100.0)
            .build()
            .unwrap();
        std::thread::scope(|s| {
            for _ in 0..40 {
                s.spawn(|| {
                    for _ in 0..100 {
                        b.deposit();
                    }
                });
            }
        });
        assert_eq!(b.available(), 4_000);
        assert_eq!(
            (0..40 * 100).take_while(|_| b.try_withdraw()).count(),
            4_000
        );
    }
}

#[cfg(all(test, failguard_loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    fn budget(min_per_sec: u32, percent: f64) -> RetryBudget {
        RetryBudget::builder()
            .ttl(MAX_TTL)
            .min_per_sec(min_per_sec)
            .percent(percent)
            .build()
            .unwrap()
    }

    /// Two retries race for the last one in the budget: exactly one gets it.
    #[test]
    fn loom_racing_withdrawals_never_spend_the_last_retry_twice() {
        loom::model(|| {
            let b = budget(0, 100.0);
            b.deposit();
            let other = {
                let b = b.clone();
                thread::spawn(move || b.try_withdraw())
            };
            let mine = b.try_withdraw();
            let theirs = other.join().unwrap();
            assert!(mine ^ theirs, "granted {mine} and {theirs}");
            assert_eq!(b.available(), 0);
        });
    }

    /// A deposit racing a withdrawal is never lost: whatever the order, what was granted plus
    /// what is left is what was deposited.
    #[test]
    fn loom_a_deposit_racing_a_withdrawal_is_never_lost() {
        loom::model(|| {
            let b = budget(0, 100.0);
            let depositor = {
                let b = b.clone();
                thread::spawn(move || b.deposit())
            };
            let granted = u64::from(b.try_withdraw());
            depositor.join().unwrap();
            assert_eq!(granted + b.available(), 1);
        });
    }
    /// Two retries race for the last one, each on its side of a slice boundary (their clocks
    /// were read a moment apart): they commit to different slices, yet exactly one may get it.
    #[test]
    fn loom_withdrawals_across_a_slice_boundary_never_spend_the_last_retry_twice() {
        loom::model(|| {
            let b = RetryBudget::builder()
                .ttl(MIN_TTL)
                .min_per_sec(0)
                .percent(100.0)
                .build()
                .unwrap();
            let origin = b.state.origin;
            let next_slice = origin + MIN_TTL / SLICES as u32;
            b.state.deposit(origin);
            let other = {
                let b = b.clone();
                thread::spawn(move || b.state.try_withdraw(next_slice))
            };
            let mine = b.state.try_withdraw(origin);
            let theirs = other.join().unwrap();
            assert!(mine ^ theirs, "granted {mine} and {theirs}");
            assert_eq!(b.state.balance_now(next_slice), 0);
        });
    }
    /// Three retries race for the last two, one in a slice and two in the next: the first
    /// retries of the newer slice move the older slice's out of the way while it still spends,
    /// and exactly two are granted whatever the order.
    #[test]
    fn loom_a_slice_moving_on_while_the_last_one_spends_loses_no_retry() {
        loom::model(|| {
            let b = RetryBudget::builder()
                .ttl(MIN_TTL)
                .min_per_sec(0)
                .percent(100.0)
                .build()
                .unwrap();
            let origin = b.state.origin;
            let next_slice = origin + MIN_TTL / SLICES as u32;
            b.state.deposit(origin);
            b.state.deposit(origin);
            let threads: Vec<_> = [origin, next_slice]
                .into_iter()
                .map(|at| {
                    let b = b.clone();
                    thread::spawn(move || b.state.try_withdraw(at))
                })
                .collect();
            let mut granted = u64::from(b.state.try_withdraw(next_slice));
            for t in threads {
                granted += u64::from(t.join().unwrap());
            }
            assert_eq!(granted, 2);
            assert_eq!(b.state.balance_now(next_slice), 0);
        });
    }
}
