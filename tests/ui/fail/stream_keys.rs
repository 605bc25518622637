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

// Stream keys on fns that are not streams.
#[retry(first_item_timeout = "10s")]
async fn not_a_stream() -> Result<u32, E> {
    Ok(1)
}

#[retry(resume = |_| stream::iter([Ok(2)]))]
fn not_a_stream_either() -> Result<u32, E> {
    Ok(1)
}

// Keys a stream cannot take, and a `&mut` argument.
#[retry(timeout = "30s", if_ok = |v| *v == 0)]
fn numbers(counter: &mut u32) -> impl Stream<Item = Result<u32, E>> + '_ {
    *counter += 1;
    stream::iter([Ok(*counter)])
}

fn main() {}
