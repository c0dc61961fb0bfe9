//! A retry budget kept across the fleet: requests and retries aggregated per time slice.

use std::{
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use tokio::time::Instant;

use super::Fleet;
use crate::{ConfigError, Name, retry::RetryBudget};

/// Slices in a budget's window, as in [`RetryBudget`].
const SLICES: u64 = 10;

/// The fleet's side of a [`RetryBudget`] made by [`Fleet::retry_budget`]: this instance's counts
/// since its last report, and the retries it may take until the next.
pub struct BudgetShare {
    fleet: Fleet,
    key: String,
    script: redis::Script,
    /// Requests and retries counted on this instance since it started.
    requests: AtomicU64,
    retries: AtomicU64,
    /// The retries this instance may take before its next report: its share of the fleet's
    /// balance, less what it took since.
    allowance: AtomicI64,
    /// Whether a report has been answered since the store last failed.
    synced: AtomicBool,
    terms: (u128, u128, u128, Duration),
    sync_every: Duration,
    reports: Mutex<Reports>,
}

impl std::fmt::Debug for BudgetShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BudgetShare")
            .field("key", &self.key)
            .field("allowance", &self.allowance.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// What the store has acknowledged, and the report on its way.
#[derive(Debug)]
struct Reports {
    boot: u64,
    seq: u64,
    acked: (u64, u64),
    in_flight: Option<(u64, u64, u64)>,
    last_ok: Option<Instant>,
}

impl BudgetShare {
    #[inline]
    pub(crate) fn deposit(&self) {
        self.requests.fetch_add(1, Relaxed);
    }

    /// `None` while the fleet's view is not to be trusted (the store failed): the local budget
    /// decides.
    #[inline]
    pub(crate) fn try_withdraw(&self) -> Option<bool> {
        if !self.trusted() {
            return None;
        }
        let granted = self
            .allowance
            .fetch_update(Relaxed, Relaxed, |a| (a > 0).then(|| a - 1))
            .is_ok();
        if granted {
            self.retries.fetch_add(1, Relaxed);
        }
        Some(granted)
    }

    pub(crate) fn available(&self) -> Option<u64> {
        self.trusted()
            .then(|| self.allowance.load(Relaxed).max(0) as u64)
    }

    fn trusted(&self) -> bool {
        self.synced.load(Relaxed) && !self.fleet.is_degraded()
    }

    /// One report and the fleet's figures back; the share recomputed from them.
    async fn sync(&self) {
        let (window, (token, q, r)) = {
            let Ok(mut reports) = self.reports.lock() else {
                return;
            };
            let window = self.terms.3;
            let now = (self.requests.load(Relaxed), self.retries.load(Relaxed));
            // Counts older than the window would credit the fleet with requests that have
            // expired: after a longer silence, report only what is new.
            if reports.last_ok.is_none_or(|ok| ok.elapsed() > window) {
                reports.acked = now;
                reports.in_flight = None;
            }
            let report = match reports.in_flight {
                Some(report) => report,
                None => {
                    reports.seq += 1;
                    let report = (
                        reports.seq,
                        now.0 - reports.acked.0,
                        now.1 - reports.acked.1,
                    );
                    reports.in_flight = Some(report);
                    report
                }
            };
            let token = format!("{:x}:{}", reports.boot, report.0);
            (window, (token, report.1, report.2))
        };
        let slice_us = (window.as_micros() as u64 / SLICES).max(1);
        let ttl_us = 3 * self.sync_every.as_micros() as u64;
        let deadline = Instant::now() + self.fleet.shared.bound;
        let (deposit, reserve, withdraw, _) = self.terms;
        let answer = self
            .fleet
            .ask(deadline, |mut conn| {
                let token = token.clone();
                async move {
                    self.script
                        .key(&self.key)
                        .arg(self.fleet.instance().as_str())
                        .arg(token)
                        .arg(q)
                        .arg(r)
                        .arg(slice_us)
                        .arg(SLICES)
                        .arg(ttl_us)
                        .arg(deposit.to_string())
                        .arg(reserve.to_string())
                        .arg(withdraw.to_string())
                        .invoke_async::<(u64, u64)>(&mut conn)
                        .await
                }
            })
            .await;
        let Ok(mut reports) = self.reports.lock() else {
            return;
        };
        let Some((grant, _live)) = answer else {
            self.synced.store(false, Relaxed);
            return;
        };
        reports.acked.0 += q;
        reports.acked.1 += r;
        reports.in_flight = None;
        reports.last_ok = Some(Instant::now());
        // What this instance took since the counts just reported comes out of the new grant.
        let since = self.retries.load(Relaxed) - reports.acked.1;
        let allowance = i64::try_from(grant).unwrap_or(i64::MAX) - since as i64;
        self.allowance.store(allowance, Relaxed);
        self.synced.store(true, Relaxed);
    }
}

/// Builds a fleet-wide [`RetryBudget`]; made by [`Fleet::retry_budget`].
///
/// ```no_run
/// use std::time::Duration;
/// use failguard::retry::RetryBudget;
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
/// let budget = fleet
///     .retry_budget("partner-api", RetryBudget::builder().percent(10.0).build()?)
///     .sync_every(Duration::from_millis(500))
///     .start()
///     .await?;
/// let retry = failguard::Retry::builder().budget(budget).build()?;
/// # let _ = retry;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FleetRetryBudgetBuilder {
    fleet: Fleet,
    name: Name,
    template: RetryBudget,
    sync_every: Option<Duration>,
}

impl FleetRetryBudgetBuilder {
    pub(crate) fn new(fleet: Fleet, name: Name, template: RetryBudget) -> Self {
        Self {
            fleet,
            name,
            template,
            sync_every: None,
        }
    }

    /// How often the instance reports its counts and reads the fleet's, from 10 ms to 1 minute.
    /// Between reports it spends the grant the last one gave it.
    ///
    /// # Default
    ///
    /// A tenth of the budget's window (1 s for the default 10 s).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// use std::time::Duration;
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:1/").build()?;
    /// let template = failguard::retry::RetryBudget::builder().build()?;
    /// let err = fleet
    ///     .retry_budget("a", template)
    ///     .sync_every(Duration::from_millis(1))
    ///     .start()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.field(), "fleet.retry_budget.sync_every");
    /// # Ok(())
    /// # }
    /// ```
    pub fn sync_every(mut self, every: Duration) -> Self {
        self.sync_every = Some(every);
        self
    }

    /// Checks the settings, makes the first report (within the fleet's bound), and starts the
    /// reports on the current tokio runtime; they stop when the last handle is dropped.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `fleet.retry_budget.sync_every` (out of range).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let template = failguard::retry::RetryBudget::builder().build()?;
    /// let budget = fleet.retry_budget("search", template).start().await?;
    /// # let _ = budget;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(self) -> Result<RetryBudget, ConfigError> {
        let terms = self.template.terms();
        let sync_every = self.sync_every.unwrap_or(terms.3 / SLICES as u32);
        if sync_every < Duration::from_millis(10) || sync_every > Duration::from_secs(60) {
            return Err(ConfigError::new(
                "fleet.retry_budget.sync_every",
                format!("must be from 10ms to 1 minute (got {sync_every:?})"),
            ));
        }
        let boot = rand::random::<u64>();
        let share = Arc::new(BudgetShare {
            key: self.fleet.key("budget", &self.name),
            fleet: self.fleet,
            script: redis::Script::new(include_str!("budget.lua")),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            allowance: AtomicI64::new(0),
            synced: AtomicBool::new(false),
            terms,
            sync_every,
            reports: Mutex::new(Reports {
                boot,
                seq: 0,
                acked: (0, 0),
                in_flight: None,
                last_ok: None,
            }),
        });
        share.sync().await;
        let weak: Weak<BudgetShare> = Arc::downgrade(&share);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(sync_every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(share) = weak.upgrade() else { return };
                share.sync().await;
            }
        });
        let mut budget = self.template.fresh();
        budget.fleet = Some(share);
        Ok(budget)
    }
}
