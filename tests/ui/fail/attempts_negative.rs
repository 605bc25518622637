use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(attempts = -1)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
