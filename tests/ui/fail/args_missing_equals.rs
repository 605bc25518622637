use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(attempts: 5)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
