use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(deadline = "99999999999999999h")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
