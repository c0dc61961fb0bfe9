//! A real HTTP/1.1 server on 127.0.0.1 whose behaviour a test or an example scripts: healthy,
//! slow, failing (500), overloaded (503 with `Retry-After`), down (connections reset), and
//! recovering, switched at given times or request counts.
//!
//! Shared by `examples/http_client.rs` and `tests/outage.rs` (included with `#[path]`).

#![allow(dead_code)] // each user takes what it needs

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use http_body_util::Full;
use hyper::{Request, Response, StatusCode, body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinSet, time::Instant};

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 200 at once.
    Healthy,
    /// 200 after the given latency.
    Slow(Duration),
    /// 500 at once.
    Failing,
    /// 503 at once, with `Retry-After` in whole seconds (rounded up) and, for sub-second hints,
    /// `Retry-After-Ms`.
    Overloaded { retry_after: Duration },
    /// The connection is reset: no response at all.
    Down,
}

/// When a step of the script starts.
#[derive(Debug, Clone, Copy)]
pub enum At {
    /// This long after the server started.
    Elapsed(Duration),
    /// When the server has received this many requests (counting from 0: `Requests(100)` is the
    /// 101st request).
    Requests(u64),
}

/// The server's behaviour over time: a first mode, then modes that take over at given points.
#[derive(Debug, Clone)]
pub struct Script {
    first: Mode,
    steps: Vec<(At, Mode)>,
}

impl Script {
    /// A script that starts in `mode`.
    pub fn starting(mode: Mode) -> Self {
        Self {
            first: mode,
            steps: Vec::new(),
        }
    }

    /// Switches to `mode` at `at`. Steps are checked in order; the last one whose point has passed
    /// wins.
    pub fn then(mut self, at: At, mode: Mode) -> Self {
        self.steps.push((at, mode));
        self
    }

    fn mode(&self, elapsed: Duration, request: u64) -> Mode {
        let mut mode = self.first;
        for (at, m) in &self.steps {
            let passed = match at {
                At::Elapsed(d) => elapsed >= *d,
                At::Requests(n) => request >= *n,
            };
            if passed {
                mode = *m;
            }
        }
        mode
    }
}

/// What the server saw, per mode it answered in.
#[derive(Debug, Default)]
pub struct Counts {
    /// Requests received in total (including those whose connection was reset).
    pub requests: AtomicU64,
    /// Answered 200.
    pub ok: AtomicU64,
    /// Answered 500.
    pub failed: AtomicU64,
    /// Answered 503.
    pub overloaded: AtomicU64,
    /// Reset without an answer.
    pub reset: AtomicU64,
}

struct State {
    script: Mutex<Script>,
    started: Instant,
    counts: Arc<Counts>,
}

/// A running faulty server. Dropping it stops the server and closes every connection.
pub struct FaultyServer {
    addr: SocketAddr,
    state: Arc<State>,
    tasks: JoinSet<()>,
}

impl FaultyServer {
    /// Starts a server on an ephemeral port of 127.0.0.1 following `script`.
    pub async fn start(script: Script) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            script: Mutex::new(script),
            started: Instant::now(),
            counts: Arc::default(),
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(listener, state.clone()));
        Ok(Self { addr, state, tasks })
    }

    /// The server's base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the script from now on (its `Elapsed` points still count from the start).
    pub fn set_script(&self, script: Script) {
        *self.state.script.lock().unwrap() = script;
    }

    /// The mode the server is in now, for the next request.
    pub fn mode(&self) -> Mode {
        let n = self.state.counts.requests.load(Ordering::Relaxed);
        self.state
            .script
            .lock()
            .unwrap()
            .mode(self.state.started.elapsed(), n)
    }

    /// What the server has seen so far.
    pub fn counts(&self) -> &Counts {
        &self.state.counts
    }

    /// A handle on the counts that outlives a borrow of the server, for callbacks that must be
    /// `'static` (a breaker's state-change listener reading the request count, say).
    pub fn shared_counts(&self) -> Arc<Counts> {
        self.state.counts.clone()
    }

    /// How long the server has been running.
    pub fn elapsed(&self) -> Duration {
        self.state.started.elapsed()
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(mut self) {
        self.tasks.abort_all();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    // Connection tasks live in this set, so aborting the accept loop closes them all.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| answer(req, state.clone()));
            // An error here is a reset we caused on purpose, or a client that went away.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

/// The error that makes hyper drop the connection without answering.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the faulty server")
    }
}

impl std::error::Error for Reset {}

async fn answer(
    _req: Request<hyper::body::Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, Reset> {
    let n = state.counts.requests.fetch_add(1, Ordering::Relaxed);
    let mode = state
        .script
        .lock()
        .unwrap()
        .mode(state.started.elapsed(), n);
    let counts = &state.counts;
    let response = |status: StatusCode, body: &'static str| {
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
    };
    let built = match mode {
        Mode::Healthy => {
            counts.ok.fetch_add(1, Ordering::Relaxed);
            response(StatusCode::OK, "ok")
        }
        Mode::Slow(latency) => {
            tokio::time::sleep(latency).await;
            counts.ok.fetch_add(1, Ordering::Relaxed);
            response(StatusCode::OK, "ok (slow)")
        }
        Mode::Failing => {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            response(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
        Mode::Overloaded { retry_after } => {
            counts.overloaded.fetch_add(1, Ordering::Relaxed);
            let secs = retry_after.as_millis().div_ceil(1000).max(1);
            Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .header("retry-after", secs.to_string())
                .header("retry-after-ms", retry_after.as_millis().to_string())
                .body(Full::new(Bytes::from_static(b"overloaded")))
        }
        Mode::Down => {
            counts.reset.fetch_add(1, Ordering::Relaxed);
            return Err(Reset);
        }
    };
    Ok(built.expect("a valid response"))
}
