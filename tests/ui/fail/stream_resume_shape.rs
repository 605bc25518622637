use futures::stream;
use steadfast::retry;
use steadfast::stream::Stream;

#[derive(Debug)]
struct E;

// A resume must make a stream of the same items; this one returns the item.
#[retry(attempts = 3, resume = |last: &u32| *last)]
fn numbers() -> impl Stream<Item = Result<u32, E>> {
    stream::iter([Ok(1)])
}

fn main() {}
