use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(crate = "not a path")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
