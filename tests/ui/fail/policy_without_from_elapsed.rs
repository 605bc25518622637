use std::time::Duration;
use steadfast::{retry, Policy};

#[derive(Debug)]
struct E;

// A run-time policy may carry a timeout, so the error type must be able to report one.
static POLICY: Policy = Policy::fixed(Duration::from_millis(10));

#[retry(policy = POLICY)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
