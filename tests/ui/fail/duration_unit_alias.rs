use steadfast::retry;

#[derive(Debug)]
struct E;

// A unit spelled as in other crates gets the one this attribute takes.
#[retry(min = "2sec")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
