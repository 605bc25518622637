use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(backoff = "fixed", factor = 3)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
