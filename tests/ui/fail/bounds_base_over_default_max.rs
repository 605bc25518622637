use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(base = "45s")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
