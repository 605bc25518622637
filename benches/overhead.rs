//! The happy path: a function that succeeds at once, awaited in a loop, written plain, as
//! the retry loop a careful engineer writes by hand, with `#[retry]`, with the builder, with
//! backon and with tokio-retry2, measured side by side in one run.
//!
//! `cargo bench --bench overhead`

use std::hint::black_box;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use criterion::{criterion_group, criterion_main, Criterion};
use steadfast::retry;

#[derive(Debug)]
struct Unavailable;

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unavailable")
    }
}
impl std::error::Error for Unavailable {}

/// The work: small enough that any overhead shows.
#[inline(never)]
async fn plain(x: u64) -> Result<u64, Unavailable> {
    let x = black_box(x);
    if x == u64::MAX {
        return Err(Unavailable);
    }
    Ok(x.wrapping_mul(31).rotate_left(7))
}

#[inline(never)]
#[retry(attempts = 5, backoff = "exp", min = "2s", max = "60s", on = Unavailable)]
async fn retried(x: u64) -> Result<u64, Unavailable> {
    let x = black_box(x);
    if x == u64::MAX {
        return Err(Unavailable);
    }
    Ok(x.wrapping_mul(31).rotate_left(7))
}

#[inline(never)]
#[retry(attempts = 5, backoff = "exp", min = "2s", max = "60s", on = Unavailable)]
fn retried_blocking(x: u64) -> Result<u64, Unavailable> {
    let x = black_box(x);
    if x == u64::MAX {
        return Err(Unavailable);
    }
    Ok(x.wrapping_mul(31).rotate_left(7))
}

#[inline(never)]
fn plain_blocking(x: u64) -> Result<u64, Unavailable> {
    let x = black_box(x);
    if x == u64::MAX {
        return Err(Unavailable);
    }
    Ok(x.wrapping_mul(31).rotate_left(7))
}

/// The loop written by hand with the attribute's semantics: five attempts, the body as a
/// nested async block, exponential delays from 2s to 60s with full jitter on the retry
/// path, only `Unavailable` retried (every error here is one).
#[inline(never)]
async fn hand_written(x: u64) -> Result<u64, Unavailable> {
    let mut attempt = 1u32;
    loop {
        let result = async {
            let x = black_box(x);
            if x == u64::MAX {
                return Err(Unavailable);
            }
            Ok(x.wrapping_mul(31).rotate_left(7))
        }
        .await;
        match result {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 5 => return Err(e),
            Err(_) => {
                let ceiling = Duration::from_secs(2).saturating_mul(1 << (attempt - 1)).min(Duration::from_secs(60));
                tokio::time::sleep(rand::random_range(Duration::from_secs(2)..=ceiling)).await;
                attempt += 1;
            }
        }
    }
}

#[inline(never)]
fn hand_written_blocking(x: u64) -> Result<u64, Unavailable> {
    let mut attempt = 1u32;
    loop {
        let result = (|| {
            let x = black_box(x);
            if x == u64::MAX {
                return Err(Unavailable);
            }
            Ok(x.wrapping_mul(31).rotate_left(7))
        })();
        match result {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 5 => return Err(e),
            Err(_) => {
                let ceiling = Duration::from_secs(2).saturating_mul(1 << (attempt - 1)).min(Duration::from_secs(60));
                std::thread::sleep(rand::random_range(Duration::from_secs(2)..=ceiling));
                attempt += 1;
            }
        }
    }
}

fn happy_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let mut group = c.benchmark_group("happy_path");

    group.bench_function("plain", |b| b.to_async(&rt).iter(|| async { plain(black_box(7)).await }));
    group.bench_function("hand_written", |b| b.to_async(&rt).iter(|| async { hand_written(black_box(7)).await }));
    group.bench_function("steadfast", |b| b.to_async(&rt).iter(|| async { retried(black_box(7)).await }));
    group.bench_function("steadfast_builder", |b| {
        let policy = steadfast::Policy::exponential(Duration::from_secs(2), Duration::from_secs(60)).attempts(5);
        b.to_async(&rt).iter(|| async { policy.retry(|| plain(black_box(7))).await })
    });
    group.bench_function("backon", |b| {
        let builder = ExponentialBuilder::default()
            .with_min_delay(Duration::from_secs(2))
            .with_max_delay(Duration::from_secs(60))
            .with_max_times(4)
            .with_jitter();
        b.to_async(&rt).iter(|| async { (|| plain(black_box(7))).retry(builder).await })
    });
    group.bench_function("tokio_retry2", |b| {
        b.to_async(&rt).iter(|| async {
            let strategy = tokio_retry2::strategy::ExponentialBackoff::from_millis(2000)
                .max_delay(Duration::from_secs(60))
                .map(tokio_retry2::strategy::jitter)
                .take(4);
            tokio_retry2::Retry::spawn(strategy, || async {
                plain(black_box(7)).await.map_err(tokio_retry2::RetryError::transient)
            })
            .await
        })
    });
    group.finish();

    let mut group = c.benchmark_group("happy_path_blocking");
    group.bench_function("plain", |b| b.iter(|| plain_blocking(black_box(7))));
    group.bench_function("hand_written", |b| b.iter(|| hand_written_blocking(black_box(7))));
    group.bench_function("steadfast", |b| b.iter(|| retried_blocking(black_box(7))));
    group.finish();
}

criterion_group!(benches, happy_path);
criterion_main!(benches);
