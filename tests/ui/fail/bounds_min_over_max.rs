use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(min = "2m", max = "60s")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
