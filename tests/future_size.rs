//! The happy path costs at most 32 bytes of future: the retry state is one pointer until
//! the first failure (DESIGN.md, "Performance"). Sizes are deterministic for a compiler.

use std::mem::{size_of, size_of_val};

use steadfast::retry;

#[derive(Debug)]
struct E;

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("e")
    }
}
impl std::error::Error for E {}

async fn plain(x: u64) -> Result<u64, E> {
    tokio::task::yield_now().await;
    Ok(x)
}

#[retry(attempts = 5, min = "1s", max = "60s")]
async fn retried(x: u64) -> Result<u64, E> {
    tokio::task::yield_now().await;
    Ok(x)
}

async fn plain_owned(prompt: String, n: &mut u32) -> Result<usize, E> {
    *n += 1;
    tokio::task::yield_now().await;
    Ok(prompt.len())
}

#[retry(attempts = 5, min = "1s", max = "60s", on = std::io::Error)]
async fn retried_owned(prompt: String, n: &mut u32) -> Result<usize, E> {
    *n += 1;
    tokio::task::yield_now().await;
    Ok(prompt.len())
}

/// With the `metrics` feature a call also holds its fn's name, the `fn` label.
const METRICS: usize = if cfg!(feature = "metrics") { size_of::<&str>() } else { 0 };

#[test]
fn happy_path_future_is_at_most_32_bytes_larger() {
    let (p, r) = (size_of_val(&plain(1)), size_of_val(&retried(1)));
    println!("plain {p} B, #[retry] {r} B (+{})", r - p);
    assert!(r <= p + 32 + METRICS, "plain {p} B, #[retry] {r} B");
}

#[test]
fn owned_arguments_add_their_per_attempt_clone() {
    let (mut a, mut b) = (0, 0);
    let (p, r) = (size_of_val(&plain_owned(String::new(), &mut a)), size_of_val(&retried_owned(String::new(), &mut b)));
    println!("plain {p} B, #[retry] {r} B (+{})", r - p);
    // On top of the 32-byte budget, the attempt borrows each argument (one pointer each)
    // and holds its own clone of the owned one.
    let budget = 32 + METRICS + 2 * std::mem::size_of::<usize>() + std::mem::size_of::<String>();
    assert!(r <= p + budget, "plain {p} B, #[retry] {r} B");
}
