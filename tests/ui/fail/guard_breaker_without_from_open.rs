use std::time::Duration;
use steadfast::{retry, Breaker};

#[derive(Debug)]
struct E;

static API_BREAKER: Breaker = Breaker::new(5, Duration::from_secs(30));

#[retry(breaker = API_BREAKER)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
