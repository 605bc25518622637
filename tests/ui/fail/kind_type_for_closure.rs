use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(when = Vec<u8>)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
