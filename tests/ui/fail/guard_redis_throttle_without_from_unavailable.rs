use std::sync::LazyLock;

use steadfast::distributed::{Redis, Throttle};
use steadfast::retry;

static REDIS: LazyLock<Redis> = LazyLock::new(|| Redis::open("redis://127.0.0.1:6379/").unwrap());
static FLEET: LazyLock<Throttle> = LazyLock::new(|| Throttle::per_second(&REDIS, "api", 10));

#[derive(Debug)]
struct E;

#[retry(throttle = FLEET)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
