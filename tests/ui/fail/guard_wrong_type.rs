use std::time::Duration;
use steadfast::{retry, Breaker, Open};

#[derive(Debug)]
struct E;

impl From<Open> for E {
    fn from(_: Open) -> Self {
        E
    }
}

static API_BREAKER: Breaker = Breaker::new(5, Duration::from_secs(30));

#[retry(throttle = API_BREAKER)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
