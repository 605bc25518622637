use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(fields = url)]
async fn call(url: &str) -> Result<(), E> {
    let _ = url;
    Ok(())
}

fn main() {
    let _ = call("x");
}
