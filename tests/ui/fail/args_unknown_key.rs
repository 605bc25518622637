use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(attempt = 3)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
