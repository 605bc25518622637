use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(when = |_: &E| 42)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
