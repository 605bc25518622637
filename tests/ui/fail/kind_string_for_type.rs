use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(on = "E")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
