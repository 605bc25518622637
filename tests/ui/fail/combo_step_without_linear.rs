use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(step = "1s")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
