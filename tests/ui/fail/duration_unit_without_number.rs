use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(min = "s")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
