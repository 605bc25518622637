use steadfast::retry;

#[derive(Debug)]
struct E;

impl From<steadfast::Elapsed> for E {
    fn from(_: steadfast::Elapsed) -> Self {
        E
    }
}

const RETRIES: u32 = 3;

#[retry(policy = RETRIES)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
