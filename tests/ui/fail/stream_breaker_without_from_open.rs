use futures::stream;
use steadfast::stream::Stream;
use steadfast::{retry, Breaker};

#[derive(Debug)]
struct E;

static BREAKER: Breaker = Breaker::new(3, std::time::Duration::from_secs(10));

// An open breaker ends the stream with `E::from(Open)`: reported at the guard.
#[retry(attempts = 3, breaker = BREAKER)]
fn numbers() -> impl Stream<Item = Result<u32, E>> {
    stream::iter([Ok(1)])
}

fn main() {}
