use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(factor = "1.5")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
