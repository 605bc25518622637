use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(log = "warning")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
