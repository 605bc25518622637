use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(max = "10")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
