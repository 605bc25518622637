//! The happy path: a function that succeeds at once, awaited in a loop, written plain, as
//! the retry loop a careful engineer writes by hand, with `#[retry]`, with the builder, with
//! backon and with tokio-retry2, measured side by side in one run.
//!
//! `cargo bench --bench overhead`; instruction counts with `OVERHEAD_CALLS` (see `main`).

use std::hint::black_box;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use criterion::{criterion_group, Criterion};
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

/// The same loop with its sleep boxed on the retry path, as `#[retry]` keeps everything a
/// retry needs behind one pointer made on the first failure: the like-for-like hand-written
/// loop. With tokio's `Sleep` inline (above) the future is 136 bytes instead of 56, and
/// copying it costs more than the loop itself.
#[inline(never)]
async fn hand_written_boxed_sleep(x: u64) -> Result<u64, Unavailable> {
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
                Box::pin(tokio::time::sleep(rand::random_range(Duration::from_secs(2)..=ceiling))).await;
                attempt += 1;
            }
        }
    }
}

/// Only the nested block, awaited once: what nesting the body costs by itself.
#[inline(never)]
async fn nested_block(x: u64) -> Result<u64, Unavailable> {
    async {
        let x = black_box(x);
        if x == u64::MAX {
            return Err(Unavailable);
        }
        Ok(x.wrapping_mul(31).rotate_left(7))
    }
    .await
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
    group.bench_function("nested_block", |b| b.to_async(&rt).iter(|| async { nested_block(black_box(7)).await }));
    group.bench_function("hand_written", |b| b.to_async(&rt).iter(|| async { hand_written(black_box(7)).await }));
    group.bench_function("hand_written_boxed_sleep", |b| {
        b.to_async(&rt).iter(|| async { hand_written_boxed_sleep(black_box(7)).await })
    });
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

/// `OVERHEAD_CALLS=FORM:N` calls one form N times and exits, for instruction counts
/// (`valgrind --tool=callgrind`, at two N, the difference divided by their difference);
/// `OVERHEAD_CALLS=sizes` prints each async form's future size. Otherwise criterion runs.
fn main() {
    match std::env::var("OVERHEAD_CALLS") {
        Ok(form) => calls(&form),
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}

fn calls(form: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    if form == "sizes" {
        let sizes = [
            ("plain", std::mem::size_of_val(&plain(7))),
            ("nested_block", std::mem::size_of_val(&nested_block(7))),
            ("hand_written", std::mem::size_of_val(&hand_written(7))),
            ("hand_written_boxed_sleep", std::mem::size_of_val(&hand_written_boxed_sleep(7))),
            ("steadfast", std::mem::size_of_val(&retried(7))),
        ];
        for (name, size) in sizes {
            println!("{name},{size}");
        }
        return;
    }
    let (name, n) = form.split_once(':').expect("OVERHEAD_CALLS=FORM:N");
    let n: u64 = n.parse().expect("N, a number of calls");
    macro_rules! run_async {
        ($f:ident) => {
            rt.block_on(async {
                for _ in 0..n {
                    let _ = black_box($f(black_box(7)).await);
                }
            })
        };
    }
    macro_rules! run_sync {
        ($f:ident) => {
            for _ in 0..n {
                let _ = black_box($f(black_box(7)));
            }
        };
    }
    match name {
        "plain" => run_async!(plain),
        "nested_block" => run_async!(nested_block),
        "hand_written" => run_async!(hand_written),
        "hand_written_boxed_sleep" => run_async!(hand_written_boxed_sleep),
        "steadfast" => run_async!(retried),
        "plain_blocking" => run_sync!(plain_blocking),
        "hand_written_blocking" => run_sync!(hand_written_blocking),
        "steadfast_blocking" => run_sync!(retried_blocking),
        _ => panic!("unknown form {name}"),
    }
}
