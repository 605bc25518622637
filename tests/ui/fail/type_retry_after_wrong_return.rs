use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(retry_after = |_: &E| 5u64)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
