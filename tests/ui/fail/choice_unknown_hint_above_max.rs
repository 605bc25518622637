use std::time::Duration;

use steadfast::retry;

#[derive(Debug)]
struct E(Option<Duration>);

#[retry(max = "60s", retry_after = |e: &E| e.0, hint_above_max = "clip")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
