use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(backoff = 2)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
