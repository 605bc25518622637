use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(attempts)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
