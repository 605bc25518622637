// What a build with no timer feature (`default-features = false`) says about an async
// retry: `NoTimer` is its `DefaultTimer` there.
use std::time::Duration;

use steadfast::timer::NoTimer;
use steadfast::{retry, Policy};

#[derive(Debug)]
struct E;

#[retry(attempts = 3, timer = NoTimer)]
async fn call() -> Result<(), E> {
    Err(E)
}

async fn built() -> Result<(), E> {
    Policy::fixed(Duration::from_secs(1)).retry(|| async { Err(E) }).timer::<NoTimer>().await
}

fn main() {
    let _ = call();
    let _ = built();
}
