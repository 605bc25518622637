use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(max = "1.2.3s")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
