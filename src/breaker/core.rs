//! The breaker's state machine. Admission and recording are lock-free; transitions (rare) take
//! a short lock and bump a generation, so a result admitted in one state never counts in another.

use std::{fmt, sync::Arc as StdArc, time::Duration};

use tokio::time::Instant;

use super::BreakerEvent;
use crate::window::{Mark, Totals, Window};
use crate::{
    Name, Outcome,
    events::EventKind,
    sync::{
        AtomicU32, AtomicU64, Mutex,
        Ordering::{AcqRel, Acquire, Release},
        StripedCounts,
    },
};

/// The state of a circuit breaker.
///
/// With the `serde` feature it is written as its [`as_str`](Self::as_str) name:
///
/// ```
/// # #[cfg(feature = "serde")]
/// assert_eq!(serde_json::to_string(&failguard::breaker::State::HalfOpen).unwrap(), r#""half_open""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum State {
    /// Calls flow; outcomes are recorded in the window.
    Closed,
    /// Calls are rejected until the open duration has passed.
    Open,
    /// A limited number of probe calls decide whether to close or open again.
    HalfOpen,
    /// Opened by hand ([`force_open`](super::CircuitBreaker::force_open)): rejects until reset.
    ForcedOpen,
    /// Disabled by hand ([`disable`](super::CircuitBreaker::disable)): every call flows, nothing
    /// is recorded.
    Disabled,
}

impl State {
    const fn code(self) -> u64 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::ForcedOpen => 3,
            State::Disabled => 4,
        }
    }

    fn from_code(code: u64) -> Self {
        match code {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::ForcedOpen,
            _ => State::Disabled,
        }
    }

    /// The state's name as it appears in events: `"closed"`, `"open"`, `"half_open"`,
    /// `"forced_open"`, `"disabled"`.
    ///
    /// ```
    /// assert_eq!(failguard::breaker::State::HalfOpen.as_str(), "half_open");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of state, as given to [`on_state_change`](super::CircuitBreakerBuilder::on_state_change)
/// callbacks.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StateChange {
    /// The breaker's name.
    pub name: Name,
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
    /// The failure rate (0.0 to 1.0) that decided it, when a window decided it.
    pub failure_rate: Option<f64>,
    /// The slow-call rate (0.0 to 1.0) that decided it, when a window decided it.
    pub slow_call_rate: Option<f64>,
}

pub(crate) type Listener = StdArc<dyn Fn(&StateChange) + Send + Sync>;

/// The breaker's configuration, checked by the builder.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) name: Name,
    pub(crate) failure_rate: f64,
    pub(crate) slow_call_rate: f64,
    pub(crate) slow_call_duration: Option<Duration>,
    /// As configured: the half-open verdict needs `min(minimum_calls, half_open_calls)`.
    pub(crate) minimum_calls: u32,
    /// What the closed window needs: `minimum_calls`, capped by a count window's size.
    pub(crate) window_minimum: u32,
    pub(crate) open_duration: Duration,
    pub(crate) open_backoff: f64,
    pub(crate) max_open_duration: Duration,
    pub(crate) half_open_calls: u32,
    pub(crate) max_half_open_wait: Option<Duration>,
    pub(crate) listeners: Vec<Listener>,
    pub(crate) sinks: crate::events::Sinks,
}

const CODE_BITS: u32 = 3;
const CODE_MASK: u64 = (1 << CODE_BITS) - 1;

/// The shared state of a [`CircuitBreaker`](super::CircuitBreaker); it only appears in type
/// signatures.
pub struct BreakerState {
    pub(crate) cfg: Config,
    window: Window,
    /// `generation << 3 | state code`.
    word: AtomicU64,
    base: Instant,
    /// Nanoseconds since `base` when the current state ends by itself: open, when it lets probes
    /// through; half-open, when `max_half_open_wait` reopens it (`u64::MAX` without one).
    until: AtomicU64,
    /// The latest opening's open duration in nanoseconds: the `retry_after` of a half-open
    /// rejection when no `max_half_open_wait` bounds the probes.
    open_for: AtomicU64,
    openings: AtomicU32,
    probes_admitted: AtomicU32,
    /// Half-open results: calls, failures and slow calls, 21 bits each (as the window's totals).
    probes: AtomicU64,
    /// Rejections, striped per thread: an open breaker rejects on every core at once.
    rejected: StripedCounts<1>,
    transition: Mutex<()>,
}

impl fmt::Debug for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerState")
            .field("name", &self.cfg.name)
            .field("state", &self.current())
            .finish_non_exhaustive()
    }
}

/// Leave to make one call, tied to the state and generation it was given in: the state word at
/// admission. One plain word, so that a future can hold it and read it back cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Permit(u64);

impl Permit {
    /// No permit: the call was rejected, or its outcome already recorded.
    pub(crate) const NONE: Permit = Permit(u64::MAX);

    /// Not asked for yet: the call has not been polled. Like `NONE`, a state word no breaker
    /// reaches (its generation would have to wrap 2^59 times).
    pub(crate) const UNASKED: Permit = Permit(u64::MAX - 1);

    fn generation(self) -> u64 {
        self.0 >> CODE_BITS
    }

    fn state(self) -> State {
        State::from_code(self.0 & CODE_MASK)
    }
}

/// What a call arriving now would find, read without moving the breaker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    pub(crate) state: State,
    /// The window's figures, or the probes' in the half-open state.
    pub(crate) totals: Totals,
    /// What a call turned away now would be told.
    pub(crate) retry_after: Option<Duration>,
}

/// `state` as a call at `at` would find it: open and half-open end by themselves at `until`, and
/// the first call after that moves the breaker on (until one comes, it has not moved).
fn due(state: State, at: u64, until: u64) -> State {
    match state {
        State::Open if at >= until => State::HalfOpen,
        State::HalfOpen if at >= until => State::Open,
        state => state,
    }
}

/// The answer to "may this call go?".
#[derive(Debug)]
pub(crate) enum Admission {
    Admit(Permit),
    Reject { retry_after: Option<Duration> },
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

impl BreakerState {
    pub(crate) fn new(cfg: Config, window: Window, base: Instant) -> Self {
        Self {
            open_for: AtomicU64::new(nanos(cfg.open_duration)),
            cfg,
            window,
            word: AtomicU64::new(State::Closed.code()),
            base,
            until: AtomicU64::new(u64::MAX),
            openings: AtomicU32::new(0),
            probes_admitted: AtomicU32::new(0),
            probes: AtomicU64::new(0),
            rejected: StripedCounts::new(crate::sync::stripes(16)),
            transition: Mutex::new(()),
        }
    }

    /// A breaker with these settings (renamed `name`, if given) and state of its own: closed,
    /// with an empty window.
    #[cfg(feature = "keyed")]
    pub(crate) fn fresh(&self, name: Option<&Name>) -> Self {
        let now = Instant::now();
        let mut cfg = self.cfg.clone();
        if let Some(name) = name {
            cfg.name = name.clone();
        }
        Self::new(cfg, self.window.fresh(now), now)
    }

    /// Whether a fresh, closed breaker could take this one's place without letting through
    /// calls this one would turn away: it is closed, or its open time is over and no probe is in
    /// flight. An open breaker is never at rest before its open duration ends; a half-open one
    /// is while it waits for its next probe (nothing calls through it: an idle key); one forced
    /// open or disabled by hand never is.
    #[cfg(feature = "keyed")]
    pub(crate) fn at_rest(&self) -> bool {
        match self.state() {
            State::Closed => true,
            State::Open => {
                let until = self.until.load(Acquire);
                due(State::Open, self.at(Instant::now()), until) != State::Open
            }
            State::HalfOpen => {
                let admitted = self.probes_admitted.load(Acquire);
                admitted <= Totals::unpack(self.probes.load(Acquire)).calls
            }
            State::ForcedOpen | State::Disabled => false,
        }
    }

    fn at(&self, now: Instant) -> u64 {
        nanos(now.saturating_duration_since(self.base))
    }

    /// The state as stored: what the last transition entered.
    pub(crate) fn state(&self) -> State {
        State::from_code(self.word.load(Acquire) & CODE_MASK)
    }

    /// The state a call arriving now would find: as stored, except that an open breaker whose
    /// open duration has passed is half-open, and a half-open one past `max_half_open_wait` open,
    /// though neither has moved yet. One load when closed; a second and a clock read otherwise.
    pub(crate) fn current(&self) -> State {
        match self.state() {
            state @ (State::Open | State::HalfOpen) => {
                due(state, self.at(Instant::now()), self.until.load(Acquire))
            }
            state => state,
        }
    }

    /// When an admitted call starts, if its duration matters: only with slow-call tracking on.
    #[inline]
    pub(crate) fn start(&self) -> Option<Instant> {
        self.cfg.slow_call_duration.map(|_| Instant::now())
    }

    /// May a call go now? In the closed state this is one atomic load (and a clock read only if
    /// slow calls are tracked).
    #[inline]
    pub(crate) fn admit(&self) -> Admission {
        let word = self.word.load(Acquire);
        match State::from_code(word & CODE_MASK) {
            State::Closed | State::Disabled => Admission::Admit(Permit(word)),
            _ => self.admit_slow(word),
        }
    }

    #[cold]
    fn admit_slow(&self, word: u64) -> Admission {
        let now = Instant::now();
        let generation = word >> CODE_BITS;
        match State::from_code(word & CODE_MASK) {
            State::Open => {
                let until = self.until.load(Acquire);
                let at = self.at(now);
                if at >= until {
                    // The first call at or after the deadline moves the breaker to half-open.
                    self.transition(generation, State::Open, State::HalfOpen, now, None);
                    return self.admit();
                }
                self.reject(State::Open, Some(Duration::from_nanos(until - at)))
            }
            State::HalfOpen => {
                let (until, at) = (self.until.load(Acquire), self.at(now));
                if at >= until {
                    // Probes that never report must not hold the breaker half-open forever.
                    self.transition(generation, State::HalfOpen, State::Open, now, None);
                    return self.admit();
                }
                let limit = self.cfg.half_open_calls;
                let taken = self
                    .probes_admitted
                    .fetch_update(AcqRel, Acquire, |n| (n < limit).then_some(n + 1));
                match taken {
                    Ok(_) if self.word.load(Acquire) == word => Admission::Admit(Permit(word)),
                    Ok(_) => {
                        // The breaker moved on while we took a probe: give it back and look again.
                        self.return_probe(generation);
                        self.admit()
                    }
                    Err(_) => self.reject(State::HalfOpen, Some(self.half_open_wait(until, at))),
                }
            }
            State::ForcedOpen => self.reject(State::ForcedOpen, None),
            State::Closed | State::Disabled => self.admit(),
        }
    }

    /// The `retry_after` of a call turned away in the half-open state because every probe permit
    /// is taken: the time left of `max_half_open_wait` (by then the probes have decided, or the
    /// breaker reopens); without one, nothing bounds how long the probes take, and the hint is
    /// the latest open duration, the pace at which the breaker itself tries again.
    fn half_open_wait(&self, until: u64, at: u64) -> Duration {
        match self.cfg.max_half_open_wait {
            Some(_) => Duration::from_nanos(until.saturating_sub(at)),
            None => Duration::from_nanos(self.open_for.load(Acquire)),
        }
    }

    #[cold]
    fn report(&self, outcome: Outcome, start: Option<Instant>, now: Option<Instant>) {
        let duration = match (start, now) {
            (Some(start), Some(now)) => Some(now.saturating_duration_since(start)),
            _ => None,
        };
        self.cfg.sinks.emit(
            &self.cfg.name,
            EventKind::Breaker(BreakerEvent::Recorded { outcome, duration }),
        );
    }

    fn reject(&self, state: State, retry_after: Option<Duration>) -> Admission {
        self.rejected.add(0);
        self.cfg.sinks.emit(
            &self.cfg.name,
            EventKind::Breaker(BreakerEvent::Rejected { state, retry_after }),
        );
        Admission::Reject { retry_after }
    }

    fn return_probe(&self, generation: u64) {
        if self.word.load(Acquire) >> CODE_BITS == generation {
            let _ = self
                .probes_admitted
                .fetch_update(AcqRel, Acquire, |n| n.checked_sub(1));
        }
    }

    /// A call given `permit` was dropped before it finished: it counts nowhere and gives back
    /// a probe permit if it held one.
    pub(crate) fn cancel(&self, permit: Permit) {
        if permit.state() == State::HalfOpen {
            self.return_probe(permit.generation());
        }
    }

    /// Records how a call given `permit` ended.
    #[inline]
    pub(crate) fn record(&self, permit: Permit, start: Option<Instant>, outcome: Outcome) {
        let word = self.word.load(Acquire);
        if word != permit.0 {
            // Admitted in an earlier state: it does not count in this one.
            return;
        }
        if outcome == Outcome::Ignored {
            self.cancel(permit);
            return;
        }
        let needs_now = self.window.needs_clock() || start.is_some();
        let now = needs_now.then(Instant::now);
        let slow = match (self.cfg.slow_call_duration, start, now) {
            (Some(limit), Some(start), Some(now)) => now.saturating_duration_since(start) > limit,
            _ => false,
        };
        let mark = Mark {
            failure: outcome == Outcome::Failure,
            slow,
        };
        if self.cfg.sinks.per_call() {
            self.report(outcome, start, now);
        }
        match permit.state() {
            State::Closed => {
                let Some(totals) = self.window.record(mark, now) else {
                    return;
                };
                if totals.calls >= self.cfg.window_minimum && self.over_threshold(totals) {
                    let now = now.unwrap_or_else(Instant::now);
                    self.transition(
                        permit.generation(),
                        State::Closed,
                        State::Open,
                        now,
                        Some(totals),
                    );
                }
            }
            State::HalfOpen => {
                let delta = mark.packed() as u64;
                let totals =
                    Totals::unpack(self.probes.fetch_add(delta, AcqRel).wrapping_add(delta));
                let needed = self.cfg.minimum_calls.min(self.cfg.half_open_calls);
                if totals.calls >= needed {
                    let to = if self.over_threshold(totals) {
                        State::Open
                    } else {
                        State::Closed
                    };
                    let now = now.unwrap_or_else(Instant::now);
                    self.transition(permit.generation(), State::HalfOpen, to, now, Some(totals));
                }
            }
            _ => {}
        }
    }

    fn over_threshold(&self, t: Totals) -> bool {
        let calls = t.calls.max(1) as f64;
        t.failures as f64 / calls >= self.cfg.failure_rate
            || (self.cfg.slow_call_duration.is_some()
                && t.slow as f64 / calls >= self.cfg.slow_call_rate)
    }

    /// The open duration for the next opening, counting it.
    fn next_open_duration(&self) -> Duration {
        self.open_duration(self.openings.fetch_add(1, AcqRel))
    }

    /// `open_duration * open_backoff^k` for the k-th consecutive opening, capped at
    /// `max_open_duration`.
    fn open_duration(&self, k: u32) -> Duration {
        let base = self.cfg.open_duration.as_secs_f64();
        let grown = base * self.cfg.open_backoff.powi(k.min(1_000) as i32);
        let capped = grown.min(self.cfg.max_open_duration.as_secs_f64());
        Duration::try_from_secs_f64(capped).unwrap_or(self.cfg.max_open_duration)
    }

    /// Moves from `from` (in `generation`) to `to`, unless someone already moved on.
    fn transition(
        &self,
        generation: u64,
        from: State,
        to: State,
        now: Instant,
        totals: Option<Totals>,
    ) {
        let _guard = self.transition.lock().unwrap();
        let word = self.word.load(Acquire);
        if word != generation << CODE_BITS | from.code() {
            return;
        }
        self.enter(word, to, now);
        drop(_guard);
        self.announce(from, to, totals);
    }

    /// Enters `to`; called with the transition lock held.
    fn enter(&self, word: u64, to: State, now: Instant) {
        let next_generation = (word >> CODE_BITS) + 1;
        match to {
            State::Open => {
                let open_for = nanos(self.next_open_duration());
                self.open_for.store(open_for, Release);
                self.until
                    .store(self.at(now).saturating_add(open_for), Release);
            }
            State::HalfOpen => {
                self.probes_admitted.store(0, Release);
                self.probes.store(0, Release);
                let wait = self.cfg.max_half_open_wait.map_or(u64::MAX, nanos);
                self.until.store(self.at(now).saturating_add(wait), Release);
            }
            State::Closed => {
                self.openings.store(0, Release);
                self.window.clear();
            }
            State::ForcedOpen | State::Disabled => {}
        }
        self.word
            .store(next_generation << CODE_BITS | to.code(), Release);
    }

    fn announce(&self, from: State, to: State, totals: Option<Totals>) {
        let rate = |n: u32, t: Totals| n as f64 / t.calls.max(1) as f64;
        let change = StateChange {
            name: self.cfg.name.clone(),
            from,
            to,
            failure_rate: totals.map(|t| rate(t.failures, t)),
            slow_call_rate: totals.map(|t| rate(t.slow, t)),
        };
        self.cfg.sinks.emit(
            &self.cfg.name,
            EventKind::Breaker(BreakerEvent::Transition(&change)),
        );
        for listener in &self.cfg.listeners {
            listener(&change);
        }
    }

    /// Moves to `to` by hand, from whatever state.
    pub(crate) fn force(&self, to: State) {
        let guard = self.transition.lock().unwrap();
        let word = self.word.load(Acquire);
        let from = State::from_code(word & CODE_MASK);
        // Entering a state starts it afresh (a reset of a closed breaker empties its window), but
        // only a change of state is announced.
        self.enter(word, to, Instant::now());
        drop(guard);
        if from != to {
            self.announce(from, to, None);
        }
    }

    /// What a call arriving now would find (see [`current`](Self::current)), with the figures
    /// and the `retry_after` that go with it. Moves nothing.
    pub(crate) fn view(&self) -> View {
        let stored = self.state();
        let timed = matches!(stored, State::Open | State::HalfOpen);
        let now = (timed || self.window.needs_clock()).then(Instant::now);
        let until = self.until.load(Acquire);
        let at = now.map_or(0, |now| self.at(now));
        let window = || self.window.totals(now);
        let view = |state, totals, retry_after| View {
            state,
            totals,
            retry_after,
        };
        match (stored, due(stored, at, until)) {
            // The first call will move it half-open, with no probe results yet, and go through.
            (State::Open, State::HalfOpen) => view(State::HalfOpen, Totals::default(), None),
            (State::Open, _) => view(
                State::Open,
                window(),
                Some(Duration::from_nanos(until - at)),
            ),
            // The first call will reopen it, for the next open duration, and be turned away.
            (State::HalfOpen, State::Open) => view(
                State::Open,
                window(),
                Some(self.open_duration(self.openings.load(Acquire))),
            ),
            (State::HalfOpen, _) => {
                let full = self.probes_admitted.load(Acquire) >= self.cfg.half_open_calls;
                view(
                    State::HalfOpen,
                    Totals::unpack(self.probes.load(Acquire)),
                    full.then(|| self.half_open_wait(until, at)),
                )
            }
            (state, _) => view(state, window(), None),
        }
    }

    pub(crate) fn rejected(&self) -> u64 {
        let [rejected] = self.rejected.sum();
        rejected
    }

    pub(crate) fn open_error(&self, retry_after: Option<Duration>) -> crate::error::CircuitOpen {
        crate::error::CircuitOpen::new(self.cfg.name.clone(), retry_after)
    }
}

#[cfg(all(test, failguard_loom))]
mod loom_tests {
    use super::*;
    use crate::{sync::Arc, window::CountWindow};
    use loom::thread;

    type Changes = std::sync::Arc<std::sync::Mutex<Vec<(State, State)>>>;

    /// Explores interleavings with at most three preemptions per execution: enough to reorder
    /// every pair of steps between threads (the bugs these models look for need two), and it
    /// keeps the three-thread model to seconds instead of many minutes.
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    /// A breaker judging 2 calls (minimum 2, window 2) with `probes` half-open probes, and the
    /// list of its state changes.
    fn breaker(probes: u32) -> (Arc<BreakerState>, Changes) {
        let changes = Changes::default();
        let seen = changes.clone();
        let listener: Listener = StdArc::new(move |c: &StateChange| {
            seen.lock().unwrap().push((c.from, c.to));
        });
        let cfg = Config {
            name: Name::from("loom"),
            failure_rate: 0.5,
            slow_call_rate: 1.0,
            slow_call_duration: None,
            minimum_calls: 2,
            window_minimum: 2,
            open_duration: Duration::from_secs(1),
            open_backoff: 1.0,
            max_open_duration: Duration::from_secs(1),
            half_open_calls: probes,
            max_half_open_wait: None,
            listeners: vec![listener],
            sinks: crate::events::Sinks::default(),
        };
        let window = Window::Count(CountWindow::new(2));
        let state = Arc::new(BreakerState::new(cfg, window, Instant::now()));
        (state, changes)
    }

    fn half_open(probes: u32) -> Arc<BreakerState> {
        let (state, _) = breaker(probes);
        state.force(State::HalfOpen);
        state
    }

    /// Each of two threads is admitted and records `outcome` at once.
    fn two_calls(state: &Arc<BreakerState>, outcome: Outcome) {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let s = state.clone();
                thread::spawn(move || match s.admit() {
                    Admission::Admit(permit) => s.record(permit, None, outcome),
                    Admission::Reject { .. } => panic!("rejected"),
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    /// Two failures recorded at once into a closed breaker that trips on two: it opens, exactly
    /// once, whichever recorder sees the verdict.
    #[test]
    fn loom_concurrent_failures_open_the_breaker_exactly_once() {
        model(|| {
            let (s, changes) = breaker(2);
            two_calls(&s, Outcome::Failure);
            assert_eq!(s.state(), State::Open);
            assert_eq!(*changes.lock().unwrap(), [(State::Closed, State::Open)]);
        });
    }

    /// Two probes reporting at once in half-open: the verdict is reached once, never lost.
    #[test]
    fn loom_concurrent_probe_results_close_the_breaker_exactly_once() {
        model(|| {
            let (s, changes) = breaker(2);
            s.force(State::HalfOpen);
            two_calls(&s, Outcome::Success);
            assert_eq!(s.state(), State::Closed);
            assert_eq!(
                *changes.lock().unwrap(),
                [
                    (State::Closed, State::HalfOpen),
                    (State::HalfOpen, State::Closed)
                ]
            );
        });
    }

    /// Three callers race for one probe permit while one of them may give its permit back:
    /// never more than one probe is admitted at a time, and the permit count ends where it
    /// started.
    #[test]
    fn loom_half_open_never_admits_more_than_the_limit() {
        model(|| {
            let s = half_open(1);
            let admitted = Arc::new(AtomicU32::new(0));
            let threads: Vec<_> = (0..3)
                .map(|_| {
                    let (s, admitted) = (s.clone(), admitted.clone());
                    thread::spawn(move || {
                        if let Admission::Admit(permit) = s.admit() {
                            let now = admitted.fetch_add(1, AcqRel) + 1;
                            assert!(now <= 1, "{now} probes in flight");
                            admitted.fetch_sub(1, AcqRel);
                            s.cancel(permit);
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(
                s.probes_admitted.load(Acquire),
                0,
                "every probe permit came back"
            );
            assert_eq!(s.state(), State::HalfOpen);
        });
    }
}
