use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(max = "60s", hint_above_max = "clamp")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
