use steadfast::retry;

#[derive(Debug)]
struct E;

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("e")
    }
}

impl std::error::Error for E {}

fn not_a_type() {}

#[retry(on = not_a_type)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
