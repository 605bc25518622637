use steadfast::retry;

#[derive(Debug)]
struct E;

#[tracing::instrument]
#[retry(attempts = 3)]
async fn generate(prompt: String) -> Result<usize, E> {
    Ok(prompt.len())
}

fn main() {
    let _ = generate(String::new());
}
