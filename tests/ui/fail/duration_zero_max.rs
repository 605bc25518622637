use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(max = "0s")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
