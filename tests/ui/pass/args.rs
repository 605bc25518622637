use std::fmt::Display;
use steadfast::retry;

#[derive(Debug)]
struct E;

#[derive(Clone)]
struct Request {
    body: String,
}

/// Owned arguments the body moves are cloned for each attempt.
#[retry(attempts = 3, min = "1ms")]
async fn owned(prompt: String, request: Request) -> Result<usize, E> {
    let moved = prompt;
    let body = request.body;
    Ok(moved.len() + body.len())
}

#[retry(attempts = 3, min = "1ms")]
async fn references(text: &str, out: &mut Vec<String>, items: &[u8]) -> Result<usize, E> {
    out.push(text.to_owned());
    Ok(items.len())
}

#[retry(attempts = 3, min = "1ms")]
async fn mutable_owned(mut n: u32) -> Result<u32, E> {
    n += 1;
    Ok(n)
}

#[retry(attempts = 3, min = "1ms")]
async fn impl_trait_arg(label: impl Display + Clone) -> Result<String, E> {
    Ok(label.to_string())
}

#[retry(attempts = 3, min = "1ms")]
async fn destructured((a, b): (u32, String), _: u8) -> Result<usize, E> {
    Ok(a as usize + b.len())
}

#[retry(attempts = 3, min = "1ms")]
fn sync_owned(name: String, out: &mut Vec<String>) -> Result<(), E> {
    out.push(name);
    Ok(())
}

pub fn main() {
    let _ = owned;
    let _ = references;
    let _ = mutable_owned;
    drop(impl_trait_arg(String::new()));
    let _ = destructured;
    let _ = sync_owned;
}
