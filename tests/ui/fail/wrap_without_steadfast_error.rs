use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(timeout = "1s", wrap)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
