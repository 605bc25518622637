use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(fields(attempt = 1, url = %url, url = %url))]
async fn call(url: &str) -> Result<(), E> {
    let _ = url;
    Ok(())
}

fn main() {
    let _ = call("x");
}
