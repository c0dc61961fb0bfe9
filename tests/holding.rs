//! Holding a stack without naming its type: `impl Policy<T, E>` returned from a function,
//! stored in a generic struct, called from generic code and from spawned tasks, and erased
//! into a `BoxPolicy`. Each compiles only because `Policy<T, E>` alone is enough to call.

use std::{io, sync::Arc, time::Duration};

use failguard::{
    CircuitBreaker, ConfigError, Error, Fallback, Outcome, Policy, Retry, Timeout, breaker::State,
    policy::BoxPolicy,
};

const MS: Duration = Duration::from_millis(1);

/// A breaker judging statuses, named to be passed around.
type Judge = fn(&Result<u16, Error<io::Error>>) -> Outcome;

/// A 404 is an answer, not a failure: the classifier is typed for `u16` statuses.
fn server_fault(r: &Result<u16, Error<io::Error>>) -> Outcome {
    match r {
        Ok(500..) | Err(_) => Outcome::Failure,
        Ok(_) => Outcome::Success,
    }
}

fn client_policy(
    breaker: CircuitBreaker<Judge>,
) -> Result<impl Policy<u16, io::Error>, ConfigError> {
    Ok(Fallback::value(599)
        .when(|e| e.is_rejection())
        .wrap(
            Retry::builder()
                .max_attempts(2)
                .retry_on_result(|s| *s >= 500)
                .build()?,
        )
        .wrap(breaker)
        .wrap(Timeout::new(100 * MS)?))
}

fn breaker() -> CircuitBreaker<Judge> {
    CircuitBreaker::builder()
        .count_window(2)
        .minimum_calls(2)
        .classify(server_fault as Judge)
        .build()
        .unwrap()
}

struct Client<P> {
    policy: P,
    status: u16,
}

impl<P: Policy<u16, io::Error>> Client<P> {
    async fn get(&self) -> Result<u16, Error<io::Error>> {
        // The closure borrows `self`: a `Policy` takes closures that borrow.
        self.policy.call(|| async { Ok(self.status) }).await
    }
}

async fn generic<P: Policy<u16, io::Error>>(policy: &P) -> Result<u16, Error<io::Error>> {
    policy.call(|| async { Ok(204) }).await
}

#[tokio::test(start_paused = true)]
async fn an_impl_policy_is_stored_called_generically_and_keeps_its_behaviour() {
    let breaker = breaker();
    let client = Client {
        policy: client_policy(breaker.clone()).unwrap(),
        status: 503,
    };
    // Two 503s (one call, retried once) trip the breaker; the last 503 comes back as `Ok`.
    assert_eq!(client.get().await.unwrap(), 503);
    assert_eq!(breaker.state(), State::Open);
    // Open: rejected, and the fallback answers for the rejection, through the generic door too.
    assert_eq!(client.get().await.unwrap(), 599);
    assert_eq!(generic(&client.policy).await.unwrap(), 599);
    assert_eq!(
        generic(&client_policy(self::breaker()).unwrap())
            .await
            .unwrap(),
        204
    );
}

#[tokio::test(start_paused = true)]
async fn an_impl_policy_is_shared_across_spawned_tasks() {
    let client = Arc::new(Client {
        policy: client_policy(breaker()).unwrap(),
        status: 200,
    });
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get().await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
}

#[tokio::test(start_paused = true)]
async fn a_wrap_of_impl_policies_is_a_policy_and_boxes() {
    let inner = client_policy(breaker()).unwrap();
    let outer = Timeout::new(Duration::from_secs(5)).unwrap().wrap(inner);
    let boxed: BoxPolicy<u16, io::Error> = BoxPolicy::new(outer);
    assert_eq!(boxed.call(|| async { Ok(201) }).await.unwrap(), 201);
    // The first attempt times out (100 ms): with the success before it, a failure rate of 50%
    // opens the breaker, so the retry's second attempt is rejected and the fallback answers.
    let slow = boxed
        .call(|| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(200)
        })
        .await;
    assert_eq!(slow.unwrap(), 599);
}
