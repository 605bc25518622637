use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(unless = std::io::Error)]
fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
