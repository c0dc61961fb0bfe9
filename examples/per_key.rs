//! Per-key policies on loopback: a rate limit per tenant in front of an axum handler (429 with
//! an exact `Retry-After`), and a circuit breaker per host in a reqwest client (one host down
//! opens its own breaker and leaves the other host's closed).
//!
//! Run it with `cargo run --features keyed --example per_key`. It finishes in well under a
//! second.

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use axum::{
    Router,
    body::Body,
    error_handling::HandleErrorLayer,
    http::{Request, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
    routing::get,
};
use failguard::{CircuitBreaker, Error, RateLimiter, keyed::Keyed};
use tokio::net::TcpListener;
use tower::ServiceBuilder;

/// A rejection as an HTTP answer: a rate limit is `429` with the exact wait, rounded up to
/// whole seconds.
async fn rejected(error: Error<Infallible>) -> Response {
    match &error {
        Error::RateLimited(_) => {
            let secs = error
                .retry_after()
                .map_or(1, |d| d.as_secs_f64().ceil().max(1.0) as u64);
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(RETRY_AFTER, secs.to_string())],
                "slow down",
            )
                .into_response()
        }
        other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()).into_response(),
    }
}

/// The tenant a request belongs to, borrowed from its header (no allocation per request).
fn tenant(req: &Request<Body>) -> &str {
    req.headers()
        .get("x-tenant")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous")
}

async fn serve(app: Router) -> Result<SocketAddr, std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

#[derive(Debug)]
struct Status(u16);

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the server answered {}", self.0)
    }
}

impl std::error::Error for Status {}

/// A GET whose 5xx is an error (the breaker's failure) and whose other answers are values.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<u16, Status> {
    let status = client
        .get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(599);
    if status >= 500 {
        Err(Status(status))
    } else {
        Ok(status)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // The server: 5 requests a minute per tenant, all 5 at once if they like. (A rate slow
    // enough that the figures below do not depend on how fast this machine sends.)
    let limits: Keyed<String, RateLimiter> = Keyed::builder(
        RateLimiter::builder()
            .rate(5, Duration::from_secs(60))
            .build()?,
    )
    .name("tenants")
    .name_each(|tenant: &String| format!("tenant {tenant}"))
    .max_keys(10_000)
    .build()?;
    let api = Router::new().route("/", get(|| async { "ok" })).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(rejected))
            .layer(limits.layer(tenant)),
    );
    let api = serve(api).await?;
    let down =
        serve(Router::new().route("/", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))).await?;

    let client = reqwest::Client::new();
    println!("per-tenant rate limit on http://{api}/ (5 a minute):");
    for tenant in [
        "acme", "acme", "acme", "acme", "acme", "acme", "acme", "globex",
    ] {
        let response = client
            .get(format!("http://{api}/"))
            .header("x-tenant", tenant)
            .send()
            .await?;
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .map(|v| format!(", Retry-After: {}", v.to_str().unwrap_or("?")))
            .unwrap_or_default();
        println!("  {tenant:>6}: {}{retry_after}", response.status());
    }
    assert_eq!(limits.len(), 2);
    assert_eq!(limits.get("acme").snapshot().rejected, 2);
    assert_eq!(limits.get("globex").snapshot().rejected, 0);

    // The client: a breaker per host (host and port), made on first use.
    let breakers: Keyed<String, CircuitBreaker> = Keyed::builder(
        CircuitBreaker::builder()
            .count_window(10)
            .minimum_calls(3)
            .open_duration(Duration::from_secs(10))
            .build()?,
    )
    .name_each(|host: &String| format!("upstream {host}"))
    .build()?;
    println!("\na breaker per host:");
    for _ in 0..5 {
        for addr in [api, down] {
            let host = addr.to_string();
            let url = format!("http://{host}/");
            let outcome = breakers.call(host.as_str(), || fetch(&client, &url)).await;
            let shown = match outcome {
                Ok(status) => format!("{status}"),
                Err(Error::CircuitOpen(open)) => format!("not called: {open}"),
                Err(other) => format!("{other}"),
            };
            println!("  {host}: {shown}");
        }
    }

    // What a health endpoint would show: every host and its breaker.
    println!("\nhealth:");
    let mut health = breakers.entries();
    health.sort_by(|a, b| a.0.cmp(&b.0));
    for (host, breaker) in &health {
        let s = breaker.snapshot();
        println!(
            "  {host}: {} ({} calls, failure rate {:.0}%)",
            s.state,
            s.calls,
            s.failure_rate * 100.0
        );
    }
    assert_eq!(breakers.get(&down.to_string()).state().as_str(), "open");
    assert_eq!(breakers.get(&api.to_string()).state().as_str(), "closed");
    Ok(())
}
