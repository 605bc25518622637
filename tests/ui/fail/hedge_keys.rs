use futures::stream;
use steadfast::retry;
use steadfast::stream::Stream;

#[derive(Debug)]
struct E;

impl From<steadfast::Elapsed> for E {
    fn from(_: steadfast::Elapsed) -> Self {
        E
    }
}

// Not a percentile, not a duration.
#[retry(hedge = "p100")]
async fn p100() -> Result<u32, E> {
    Ok(1)
}

#[retry(hedge = "300 millis")]
async fn millis() -> Result<u32, E> {
    Ok(1)
}

// A blocking fn cannot run its copies at the same time.
#[retry(hedge = "300ms")]
fn blocking() -> Result<u32, E> {
    Ok(1)
}

// The hedge delay replaces the backoff; events of a hedged fn have no fields.
#[retry(attempts = 3, hedge = "300ms", backoff = "exp", min = "1s", jitter = "none", fields(n = 1))]
async fn backoff_too() -> Result<u32, E> {
    Ok(1)
}

// A stream is committed by its first item: no hedges, no fallback.
#[retry(hedge = "300ms", fallback = |_| Ok(0))]
fn numbers() -> impl Stream<Item = Result<u32, E>> {
    stream::iter([Ok(1)])
}

fn main() {}
