use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(backoff = "none", min = "1s", jitter = "full")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
