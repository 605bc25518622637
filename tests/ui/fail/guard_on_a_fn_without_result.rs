use std::time::Duration;
use steadfast::{retry, Breaker, Budget};

static API_BREAKER: Breaker = Breaker::new(5, Duration::from_secs(30));
static RETRIES: Budget = Budget::new(10, 0.1);

#[retry(breaker = API_BREAKER, budget = RETRIES)]
async fn count() -> u32 {
    42
}

fn main() {
    let _ = count();
}
