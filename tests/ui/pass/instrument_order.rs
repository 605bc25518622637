//! `#[retry]` above `#[tracing::instrument]`: one span around the whole loop.

use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(attempts = 3, min = "1ms")]
#[tracing::instrument(skip(prompt))]
async fn generate(prompt: String, n: u32) -> Result<usize, E> {
    Ok(prompt.len() + n as usize)
}

pub fn main() {
    drop(generate(String::new(), 1));
}
