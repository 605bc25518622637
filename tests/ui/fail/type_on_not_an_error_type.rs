use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(on = std::io::Error)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
