use steadfast::retry;

#[derive(Debug)]
struct E;

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("e")
    }
}

impl std::error::Error for E {}

impl From<steadfast::Elapsed> for E {
    fn from(_: steadfast::Elapsed) -> Self {
        E
    }
}

#[retry(timeout = "0ms")]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
