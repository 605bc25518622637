use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(jitter = "random")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
