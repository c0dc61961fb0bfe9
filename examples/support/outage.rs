//! The outage scenario shared by `examples/http_client.rs` and `tests/outage.rs`: a real HTTP
//! client (reqwest) behind one composed failguard policy, driven by paced callers against the
//! faulty server (`faulty_server.rs`) through an outage and its recovery, with everything that
//! happened recorded for the timeline and for the test's assertions.
//!
//! The including crate declares `faulty_server` and `timeline` as top-level modules (with
//! `#[path]`) next to this one.

#![allow(dead_code)] // each user takes what it needs

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use failguard::{
    Bulkhead, CircuitBreaker, ConfigError, Error, FailureIf, Fallback, Policy, Retry, Timeout,
    breaker::{BreakerSnapshot, State, StateChange},
    bulkhead::BulkheadSnapshot,
    events::{Event, Listener},
    retry::{Backoff, Jitter, RetryAttempt, RetryBudget},
};
use tokio::{task::JoinSet, time::MissedTickBehavior};

use crate::{
    faulty_server::{At, FaultyServer, Mode, Script},
    timeline::{End, Timeline},
};

// ---------------------------------------------------------------------------------------------
// The HTTP call and its errors.

/// Why an HTTP call failed, as the policies see it.
#[derive(Debug)]
pub enum HttpError {
    /// The server answered with a 5xx status; `retry_after` is its `Retry-After` hint, if any.
    Status {
        /// The status code.
        status: u16,
        /// How long the server asked us to wait.
        retry_after: Option<Duration>,
    },
    /// No answer at all: the connection was refused or reset.
    Transport(reqwest::Error),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Status { status, .. } => write!(f, "the server answered {status}"),
            HttpError::Transport(_) => f.write_str("no answer from the server"),
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Transport(e) => Some(e),
            HttpError::Status { .. } => None,
        }
    }
}

/// What a caller gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The server's own answer (its body).
    Fresh(String),
    /// The fallback's answer: a cached copy, served when the server failed or was too slow.
    Stale,
}

/// One GET: a 5xx becomes an error carrying its `Retry-After`, so the breaker counts it as a
/// failure and the retry reads the hint.
pub async fn get(client: &reqwest::Client, url: &str) -> Result<Answer, HttpError> {
    let response = client.get(url).send().await.map_err(HttpError::Transport)?;
    let status = response.status();
    if status.is_server_error() {
        let retry_after = retry_after(response.headers());
        // Read the (small) body so that the connection goes back to the pool.
        let _ = response.bytes().await;
        return Err(HttpError::Status {
            status: status.as_u16(),
            retry_after,
        });
    }
    let body = response.text().await.map_err(HttpError::Transport)?;
    Ok(Answer::Fresh(body))
}

/// `Retry-After` in whole seconds, or the fixture's `Retry-After-Ms` for sub-second hints.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let read = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    read("retry-after-ms")
        .map(Duration::from_millis)
        .or_else(|| read("retry-after").map(Duration::from_secs))
}

// ---------------------------------------------------------------------------------------------
// The policy.

/// Per-attempt timeout.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(100);
/// The breaker's time window, and its buckets.
pub const BREAKER_WINDOW: Duration = Duration::from_millis(400);
/// Buckets of the breaker's window.
pub const BREAKER_BUCKETS: usize = 8;
/// Calls the window needs before it judges.
pub const MINIMUM_CALLS: u32 = 20;
/// How long the breaker stays open before it lets probes through.
pub const OPEN_DURATION: Duration = Duration::from_millis(200);
/// Probes in flight while half-open.
pub const HALF_OPEN_CALLS: u32 = 4;
/// Calls per request, the first included.
pub const MAX_ATTEMPTS: u32 = 3;
/// Retries may add this percentage of the requests of the last `BUDGET_TTL`...
pub const BUDGET_PERCENT: f64 = 5.0;
/// ...plus this many per second.
pub const BUDGET_MIN_PER_SEC: u32 = 5;
/// The retry budget's window.
pub const BUDGET_TTL: Duration = Duration::from_secs(1);
/// Calls in flight at most, callers waiting at most, and for how long.
pub const MAX_CONCURRENT: usize = 24;
/// Callers waiting for the bulkhead at most.
pub const MAX_WAITING: usize = 8;
/// How long a caller waits for the bulkhead at most.
pub const MAX_WAIT: Duration = Duration::from_millis(20);

/// Handles kept to read the policies' figures: they share their state with the stack.
#[derive(Debug, Clone)]
pub struct Handles {
    /// The circuit breaker.
    pub breaker: CircuitBreaker,
    /// The bulkhead.
    pub bulkhead: Bulkhead,
    /// The retry's budget.
    pub budget: RetryBudget,
}

/// What `run_with` adds to the stack: a listener on every policy (`examples/metrics.rs` gives
/// each a `MetricsListener`), and a look at the handles before the load starts.
#[derive(Default)]
pub struct Setup {
    /// Makes the listener of each policy of the stack.
    pub listener: Option<MakeListener>,
    /// Called with the handles once the policy is built, before the load starts.
    pub on_built: Option<OnBuilt>,
}

/// Looks at the handles before the load starts.
pub type OnBuilt = Box<dyn FnOnce(&Handles) + Send>;

/// Makes a listener for a policy.
pub type MakeListener = Arc<dyn Fn() -> Box<dyn Listener> + Send + Sync>;

/// A boxed listener is a listener.
struct Boxed(Box<dyn Listener>);

impl Listener for Boxed {
    fn on_event(&self, event: &Event<'_>) {
        self.0.on_event(event)
    }

    fn per_call(&self) -> bool {
        self.0.per_call()
    }
}

/// Which errors the retry retries and the fallback answers for, one rule for both: the server's
/// failures (a 5xx, no answer) and attempts that took too long. A rejection (open circuit, full
/// bulkhead) is the client's own decision not to call: it is neither retried nor hidden, so the
/// caller sees it typed, with its `retry_after`.
fn server_failed(e: &Error<HttpError>) -> bool {
    matches!(e, Error::Inner(_) | Error::Timeout(_))
}

fn retry_after_hint(outcome: &Result<Answer, Error<HttpError>>) -> Option<Duration> {
    match outcome {
        Err(Error::Inner(HttpError::Status { retry_after, .. })) => *retry_after,
        _ => None,
    }
}

/// Builds the client policy; `on_state_change` and `on_retry` observe the breaker and the retry.
pub fn client_policy(
    on_state_change: impl Fn(&StateChange) + Send + Sync + 'static,
    on_retry: impl Fn(&RetryAttempt<'_, Answer, Error<HttpError>>) + Send + Sync + 'static,
    listener: Option<MakeListener>,
) -> Result<(impl Policy<Answer, HttpError>, Handles), ConfigError> {
    // Adds the setup's listener, if any, to a builder.
    macro_rules! listen {
        ($builder:expr) => {
            match &listener {
                Some(make) => $builder.listener(Boxed(make())),
                None => $builder,
            }
        };
    }
    let fallback = listen!(
        Fallback::value(Answer::Stale)
            .classify(FailureIf(server_failed))
            .name("cached")
    );
    let bulkhead = listen!(
        Bulkhead::builder()
            .max_concurrent(MAX_CONCURRENT)
            .max_waiting(MAX_WAITING)
            .max_wait(MAX_WAIT)
            .name("api")
    )
    .build()?;
    let budget = RetryBudget::builder()
        .ttl(BUDGET_TTL)
        .percent(BUDGET_PERCENT)
        .min_per_sec(BUDGET_MIN_PER_SEC)
        .build()?;
    let retry = listen!(
        Retry::builder()
            .max_attempts(MAX_ATTEMPTS)
            .backoff(
                Backoff::exponential(Duration::from_millis(20))
                    .max_delay(Duration::from_millis(250))
                    .jitter(Jitter::Full),
            )
            .budget(budget.clone())
            .classify(FailureIf(server_failed))
            .delay_hint(retry_after_hint)
            .on_retry(on_retry)
            .name("api")
    )
    .build()?;
    let breaker = listen!(
        CircuitBreaker::builder()
            .time_window(BREAKER_WINDOW, BREAKER_BUCKETS)
            .minimum_calls(MINIMUM_CALLS)
            .failure_rate(0.5)
            .open_duration(OPEN_DURATION)
            .half_open_calls(HALF_OPEN_CALLS)
            .on_state_change(on_state_change)
            .name("api")
    )
    .build()?;
    let attempt = listen!(Timeout::builder().duration(ATTEMPT_TIMEOUT).name("attempt")).build()?;
    let handles = Handles {
        breaker: breaker.clone(),
        bulkhead: bulkhead.clone(),
        budget,
    };
    // The composed client policy, outermost first: fallback → bulkhead → retry (with budget) →
    // circuit breaker → per-attempt timeout → the call. Held as `impl Policy`: no type to spell.
    let policy = fallback
        .wrap(bulkhead)
        .wrap(retry)
        .wrap(breaker)
        .wrap(attempt);
    Ok((policy, handles))
}

// ---------------------------------------------------------------------------------------------
// The script.

/// The outage starts: the server answers 500.
pub const OUTAGE: Duration = Duration::from_millis(500);
/// The server resets every connection.
pub const DOWN: Duration = Duration::from_millis(1_100);
/// The server answers 503 with `Retry-After`.
pub const OVERLOADED: Duration = Duration::from_millis(1_500);
/// The server is healthy again.
pub const RECOVERY: Duration = Duration::from_millis(1_900);
/// The load stops (once at least `Load::min_requests` requests were made).
pub const END: Duration = Duration::from_millis(2_700);
/// The `Retry-After` the server sends with its 503s.
pub const HINT: Duration = Duration::from_millis(100);
/// Before the outage, a blip: the server's requests in this range get a 503 with `Retry-After`,
/// too few to trip the breaker.
pub const BLIP: (u64, u64) = (200, 216);

/// The server's script: healthy (with a short blip of 503s), then 500s, connection resets, 503s
/// with `Retry-After`, and healthy again.
pub fn script() -> Script {
    Script::starting(Mode::Healthy)
        .then(At::Requests(BLIP.0), Mode::Overloaded { retry_after: HINT })
        .then(At::Requests(BLIP.1), Mode::Healthy)
        .then(At::Elapsed(OUTAGE), Mode::Failing)
        .then(At::Elapsed(DOWN), Mode::Down)
        .then(
            At::Elapsed(OVERLOADED),
            Mode::Overloaded { retry_after: HINT },
        )
        .then(At::Elapsed(RECOVERY), Mode::Healthy)
}

/// The timeline's name for a server mode.
pub fn mode_label(mode: Mode) -> &'static str {
    match mode {
        Mode::Healthy => "healthy",
        Mode::Slow(_) => "slow",
        Mode::Failing => "failing",
        Mode::Overloaded { .. } => "overloaded",
        Mode::Down => "down",
    }
}

/// The timeline's name for a breaker state.
pub fn state_label(state: State) -> &'static str {
    match state {
        State::Closed => "closed",
        State::Open | State::ForcedOpen => "open",
        State::HalfOpen => "half-open",
        _ => "disabled",
    }
}

// ---------------------------------------------------------------------------------------------
// The load and what it recorded.

/// The callers: each makes one request per `pace` tick (closed loop: a caller waits for its
/// answer before its next tick), until `END` and at least `min_requests` requests, within
/// `max_requests` and `hard_stop`.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Concurrent callers.
    pub callers: usize,
    /// Each caller's interval between requests.
    pub pace: Duration,
    /// Requests to make at least (unless `hard_stop` passes first).
    pub min_requests: u64,
    /// Requests to make at most.
    pub max_requests: u64,
    /// The load stops at this point whatever happened.
    pub hard_stop: Duration,
}

impl Default for Load {
    fn default() -> Self {
        Self {
            callers: 32,
            pace: Duration::from_millis(4),
            min_requests: 10_000,
            max_requests: 40_000,
            hard_stop: Duration::from_millis(4_500),
        }
    }
}

/// One request, from the caller's side.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    /// When it started, since the start of the load.
    pub start: Duration,
    /// How long it took.
    pub took: Duration,
    /// How it ended.
    pub end: End,
}

/// A breaker state change.
#[derive(Debug, Clone, Copy)]
pub struct Transition {
    /// When, since the start of the load.
    pub at: Duration,
    /// From.
    pub from: State,
    /// To.
    pub to: State,
    /// Requests the server had received at that moment.
    pub server_requests: u64,
}

/// The wait between a 503 with `Retry-After` and the next attempt of the same request that
/// reached the HTTP client.
#[derive(Debug, Clone, Copy)]
pub struct HintWait {
    /// The server's hint.
    pub hint: Duration,
    /// From the 503's arrival to the next attempt's start.
    pub waited: Duration,
}

/// The server's mode and request count, sampled every few milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When, since the start of the load.
    pub at: Duration,
    /// The server's mode.
    pub mode: &'static str,
    /// Requests the server had received.
    pub server_requests: u64,
}

/// The server's totals.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerTotals {
    /// Requests received.
    pub requests: u64,
    /// Answered 200.
    pub ok: u64,
    /// Answered 500.
    pub failed: u64,
    /// Answered 503.
    pub overloaded: u64,
    /// Reset.
    pub reset: u64,
}

/// Everything the run recorded.
#[derive(Debug)]
pub struct Report {
    /// Every request, in no particular order.
    pub records: Vec<Record>,
    /// The breaker's state changes, in order.
    pub transitions: Vec<Transition>,
    /// When each retry was granted (after its budget withdrawal, before its wait).
    pub retries: Vec<Duration>,
    /// Waits after a 503 with `Retry-After`.
    pub hint_waits: Vec<HintWait>,
    /// Attempts that reached the HTTP client (past the bulkhead and the breaker).
    pub attempts: u64,
    /// The server's mode over time.
    pub samples: Vec<Sample>,
    /// The server's totals at the end.
    pub server: ServerTotals,
    /// The breaker at the end.
    pub breaker: BreakerSnapshot,
    /// The bulkhead at the end.
    pub bulkhead: BulkheadSnapshot,
    /// Requests the callers started (each must end in exactly one record).
    pub started: u64,
    /// How long the load ran.
    pub elapsed: Duration,
}

/// Starts the faulty server, drives `load` through the outage with the client policy, stops the
/// server and returns what happened.
pub async fn run(load: Load) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    run_with(load, Setup::default()).await
}

/// `run`, with `setup`'s listener on every policy and its look at the handles.
pub async fn run_with(
    load: Load,
    setup: Setup,
) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    let server = Arc::new(FaultyServer::start(script()).await?);
    let counts = server.shared_counts();
    let start = Instant::now();

    let transitions = Arc::new(Mutex::new(Vec::new()));
    let retries = Arc::new(Mutex::new(Vec::new()));
    let (policy, handles) = {
        let (transitions, retries) = (transitions.clone(), retries.clone());
        let counts = counts.clone();
        client_policy(
            move |change| {
                transitions.lock().unwrap().push(Transition {
                    at: start.elapsed(),
                    from: change.from,
                    to: change.to,
                    server_requests: counts.requests.load(Ordering::SeqCst),
                })
            },
            move |_| retries.lock().unwrap().push(start.elapsed()),
            setup.listener,
        )?
    };
    if let Some(on_built) = setup.on_built {
        on_built(&handles);
    }
    let policy = Arc::new(policy);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()?;
    let url = server.url();
    let tickets = Arc::new(AtomicU64::new(0));
    let started = Arc::new(AtomicU64::new(0));
    let attempts = Arc::new(AtomicU64::new(0));

    // The sampler: the server's mode and request count every 5 ms, until the callers are done.
    let done = Arc::new(tokio::sync::Notify::new());
    let sampler = {
        let (server, done) = (server.clone(), done.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            while start.elapsed() < load.hard_stop + Duration::from_secs(1) {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = done.notified() => break,
                }
                samples.push(Sample {
                    at: start.elapsed(),
                    mode: mode_label(server.mode()),
                    server_requests: server.counts().requests.load(Ordering::SeqCst),
                });
            }
            samples
        })
    };

    let mut callers = JoinSet::new();
    for _ in 0..load.callers {
        let (policy, client, url) = (policy.clone(), client.clone(), url.clone());
        let (tickets, attempts, started) = (tickets.clone(), attempts.clone(), started.clone());
        callers.spawn(async move {
            let mut records = Vec::new();
            let mut hint_waits = Vec::new();
            let mut tick = tokio::time::interval(load.pace);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let now = start.elapsed();
                let made = tickets.load(Ordering::SeqCst);
                if now >= load.hard_stop || (now >= END && made >= load.min_requests) {
                    break;
                }
                if tickets.fetch_add(1, Ordering::SeqCst) >= load.max_requests {
                    break;
                }
                started.fetch_add(1, Ordering::SeqCst);
                let began = Instant::now();
                // The last 503's arrival and hint, for the next attempt of this request.
                let last_hint: Mutex<Option<(Instant, Duration)>> = Mutex::new(None);
                let waits: Mutex<Vec<HintWait>> = Mutex::new(Vec::new());
                let result = policy
                    .call(|| {
                        let (client, url, attempts) = (&client, &url, &attempts);
                        let (last_hint, waits) = (&last_hint, &waits);
                        async move {
                            let sent = Instant::now();
                            if let Some((at, hint)) = last_hint.lock().unwrap().take() {
                                waits.lock().unwrap().push(HintWait {
                                    hint,
                                    waited: sent - at,
                                });
                            }
                            attempts.fetch_add(1, Ordering::SeqCst);
                            let answer = get(client, url).await;
                            if let Err(HttpError::Status {
                                retry_after: Some(hint),
                                ..
                            }) = &answer
                            {
                                *last_hint.lock().unwrap() = Some((Instant::now(), *hint));
                            }
                            answer
                        }
                    })
                    .await;
                let end = match &result {
                    Ok(Answer::Fresh(_)) => End::Success,
                    Ok(Answer::Stale) => End::Fallback,
                    Err(Error::CircuitOpen(_)) => End::Rejected("circuit-open"),
                    Err(Error::BulkheadFull(_)) => End::Rejected("bulkhead-full"),
                    Err(e) if e.is_rejection() => End::Rejected("other"),
                    Err(_) => End::Failed,
                };
                records.push(Record {
                    start: began - start,
                    took: began.elapsed(),
                    end,
                });
                hint_waits.extend(waits.into_inner().unwrap());
            }
            (records, hint_waits)
        });
    }

    let mut records = Vec::new();
    let mut hint_waits = Vec::new();
    while let Some(joined) = callers.join_next().await {
        let (r, w) = joined?;
        records.extend(r);
        hint_waits.extend(w);
    }
    let elapsed = start.elapsed();
    done.notify_one();
    let samples = sampler.await?;

    let server_totals = ServerTotals {
        requests: counts.requests.load(Ordering::SeqCst),
        ok: counts.ok.load(Ordering::SeqCst),
        failed: counts.failed.load(Ordering::SeqCst),
        overloaded: counts.overloaded.load(Ordering::SeqCst),
        reset: counts.reset.load(Ordering::SeqCst),
    };
    let breaker = handles.breaker.snapshot();
    let bulkhead = handles.bulkhead.snapshot();
    drop(policy);
    match Arc::try_unwrap(server) {
        Ok(server) => server.shutdown(),
        Err(_) => unreachable!("the sampler and the callers are done"),
    }

    let transitions = std::mem::take(&mut *transitions.lock().unwrap());
    let retries = std::mem::take(&mut *retries.lock().unwrap());
    Ok(Report {
        records,
        transitions,
        retries,
        hint_waits,
        attempts: attempts.load(Ordering::SeqCst),
        samples,
        server: server_totals,
        breaker,
        bulkhead,
        started: started.load(Ordering::SeqCst),
        elapsed,
    })
}

impl Report {
    /// Requests that ended as `end`.
    pub fn count(&self, end: End) -> u64 {
        self.records.iter().filter(|r| r.end == end).count() as u64
    }

    /// The breaker's state at `at`, from its transitions.
    pub fn state_at(&self, at: Duration) -> State {
        self.transitions
            .iter()
            .take_while(|t| t.at <= at)
            .last()
            .map_or(State::Closed, |t| t.to)
    }

    /// The run as a timeline of buckets `width` wide. A bucket shows the worst breaker state and
    /// server mode seen during it.
    pub fn timeline(&self, width: Duration) -> Timeline {
        let mut t = Timeline::new(width);
        for r in &self.records {
            t.end(r.start + r.took, r.end, r.took);
        }
        for at in &self.retries {
            t.retry(*at);
        }
        let mut seen = 0;
        for s in &self.samples {
            t.server_calls(s.at, s.server_requests.saturating_sub(seen));
            seen = seen.max(s.server_requests);
        }
        let buckets = t.buckets().len();
        for i in 0..buckets {
            let (from, to) = (width * i as u32, width * (i as u32 + 1));
            let state = std::iter::once(self.state_at(from))
                .chain(
                    self.transitions
                        .iter()
                        .filter(|c| c.at >= from && c.at < to)
                        .map(|c| c.to),
                )
                .map(state_label)
                .max_by_key(|s| severity(s));
            if let Some(state) = state {
                t.breaker(from, state);
            }
            let mode = self
                .samples
                .iter()
                .filter(|s| s.at >= from && s.at < to)
                .map(|s| s.mode)
                .max_by_key(|m| severity(m));
            if let Some(mode) = mode {
                t.server(from, mode);
            }
        }
        t
    }
}

fn severity(label: &str) -> u8 {
    match label {
        "healthy" | "closed" => 0,
        "slow" | "half-open" => 1,
        "overloaded" => 2,
        "failing" | "open" => 3,
        "down" => 4,
        _ => 0,
    }
}
