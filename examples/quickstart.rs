//! A flaky call, retried: the first two attempts fail with a rate limit, the third works.
//! Each retry is logged by `tracing`, as it would be in a service.
//!
//! `cargo run --example quickstart`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use steadfast::retry;

#[derive(Debug)]
enum ApiError {
    RateLimited,
    Unauthorized,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::RateLimited => f.write_str("429 Too Many Requests"),
            ApiError::Unauthorized => f.write_str("401 Unauthorized"),
        }
    }
}

impl std::error::Error for ApiError {}

static CALLS: AtomicU32 = AtomicU32::new(0);

/// Pretends to call a model: rate-limited twice, then an answer; a bad key is refused.
#[retry(attempts = 5, min = "200ms", max = "2s", when = |e: &ApiError| matches!(e, ApiError::RateLimited))]
async fn generate(api_key: &str, prompt: String) -> Result<String, ApiError> {
    let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if api_key != "sk-demo" {
        return Err(ApiError::Unauthorized);
    }
    if call < 3 {
        return Err(ApiError::RateLimited);
    }
    Ok(format!("(after {call} calls) {}", prompt.to_uppercase()))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_target(true).without_time().init();

    let start = Instant::now();
    match generate("sk-demo", "a haiku about retries".to_string()).await {
        Ok(text) => println!("ok in {:.1?}: {text}", start.elapsed()),
        Err(e) => println!("failed: {e}"),
    }

    CALLS.store(0, Ordering::SeqCst);
    let start = Instant::now();
    match generate("sk-wrong", "another".to_string()).await {
        Ok(text) => println!("ok: {text}"),
        Err(e) => println!("not retried, failed at once in {:.1?}: {e}", start.elapsed()),
    }
}
