use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tenacious::{retry, testing};

#[derive(Debug, PartialEq)]
struct Busy;
impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("busy")
    }
}
impl std::error::Error for Busy {}

static CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 5, min = "2s", max = "60s", jitter = "none", on = Busy)]
async fn flaky(prompt: String, log: &mut Vec<String>) -> Result<usize, Busy> {
    log.push(prompt.clone());
    if CALLS.fetch_add(1, Ordering::SeqCst) < 3 {
        return Err(Busy);
    }
    Ok(prompt.len())
}

#[tokio::test(start_paused = true)]
async fn smoke() {
    let sleeps = testing::record_sleeps();
    let mut log = Vec::new();
    assert_eq!(flaky("hi".to_string(), &mut log).await, Ok(2));
    assert_eq!(log.len(), 4);
    assert_eq!(sleeps.take(), [2, 4, 8].map(Duration::from_secs));
}
