use std::sync::LazyLock;
use steadfast::{retry, Budget, Open};

#[derive(Debug)]
struct E;

impl From<Open> for E {
    fn from(_: Open) -> Self {
        E
    }
}

static RETRIES: LazyLock<Budget> = LazyLock::new(|| Budget::new(10, 0.1));

#[retry(breaker = RETRIES)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
