use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(attempts = 99999999999)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
