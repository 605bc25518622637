use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(when = true)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
