use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(backoff = "expo")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
