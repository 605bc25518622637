use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(on = |e| true)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
