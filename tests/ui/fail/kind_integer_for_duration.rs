use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(min = 2)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
