use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(colour = "blue")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
