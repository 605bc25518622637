use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(when = |e: &String| e.is_empty())]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
