//! A two-minute tour of failguard: one policy as a combinator, a stack of policies, and the same
//! stack as a tower layer.
//!
//! Run it with `cargo run --example quickstart`.

use std::time::Duration;

use failguard::{Error, Fallback, FutureExt, Timeout};
use tower::{Service, ServiceBuilder, ServiceExt};

/// A pretend backend: answers fast, slowly, or not at all.
async fn backend(path: &'static str) -> Result<String, std::io::Error> {
    match path {
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok("slow body".into())
        }
        "/broken" => Err(std::io::Error::other("connection reset by peer")),
        _ => Ok(format!("body of {path}")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // 1. A timeout: the call's own result when it is fast enough, `Error::Timeout` when not.
    let timeout = Timeout::builder()
        .duration(Duration::from_millis(50))
        .name("backend")
        .build()?;

    for path in ["/fast", "/slow", "/broken"] {
        match timeout.call(|| backend(path)).await {
            Ok(body) => println!("timeout  {path:8} -> ok: {body}"),
            Err(Error::Timeout(e)) => {
                println!("timeout  {path:8} -> timed out after {:?}", e.after())
            }
            Err(Error::Inner(io)) => println!("timeout  {path:8} -> backend error: {io}"),
            Err(other) => println!("timeout  {path:8} -> rejected: {other}"),
        }
    }

    // The same, as a method on a future you already have.
    let body = backend("/fast").timeout(&timeout).await?;
    println!("ext      /fast    -> ok: {body}");

    // 2. A stack, outermost first: a fallback answers for anything below it, rejections included.
    let policy = Fallback::from_fn(|e: Error<std::io::Error>| match e {
        Error::Inner(io) => format!("cached copy (backend error: {io})"),
        rejection => format!("cached copy ({rejection})"),
    })
    .wrap(timeout.clone());
    for path in ["/fast", "/slow", "/broken"] {
        let body = policy.call(|| backend(path)).await?;
        println!("stack    {path:8} -> {body}");
    }

    // 3. The same stack as one tower layer. The leaf's error is lifted once with
    //    `map_err(Error::Inner)`; every failguard layer above keeps that one error type.
    let mut svc = ServiceBuilder::new()
        .layer(policy.layer())
        .map_err(Error::Inner)
        .service_fn(backend);
    for path in ["/fast", "/slow", "/broken"] {
        let body = svc.ready().await?.call(path).await?;
        println!("tower    {path:8} -> {body}");
    }
    Ok(())
}
