use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(attempt = 3, min = 2, backoff = "expo", on = "E", attempts = 0)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
