//! The shared guards' hot paths: a throttle permit against a bare `governor` limiter (1 and
//! 2 threads), a breaker's admission on the closed path, a budget's success on a full
//! bucket.
//!
//! `cargo bench --bench guards`

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use governor::{Quota, RateLimiter};
use steadfast::{Breaker, Budget, Throttle};

/// Rates no loop can reach, so every check is granted: what is measured is the check.
static THROTTLE: Throttle = Throttle::per_second(u32::MAX).burst(u32::MAX);
static BREAKER: Breaker = Breaker::new(5, Duration::from_secs(30));
static BUDGET: Budget = Budget::new(10, 0.1);

fn governor_limiter() -> governor::DefaultDirectRateLimiter {
    RateLimiter::direct(Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX))
}

/// `op` run `iters` times on each of two threads at once; the wall time of the pair.
fn two_threads(iters: u64, op: impl Fn() + Sync) -> Duration {
    std::thread::scope(|scope| {
        let start = Instant::now();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..iters {
                        op();
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        start.elapsed()
    })
}

fn throttle(c: &mut Criterion) {
    let mut group = c.benchmark_group("throttle");
    let limiter = governor_limiter();
    group.bench_function("governor check, 1 thread", |b| b.iter(|| black_box(limiter.check().is_ok())));
    group.bench_function("steadfast try_acquire, 1 thread", |b| b.iter(|| black_box(THROTTLE.try_acquire())));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    group.bench_function("steadfast acquire().await, 1 thread", |b| b.to_async(&runtime).iter(|| THROTTLE.acquire()));
    group.bench_function("governor check, 2 threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(limiter.check().is_ok());
            })
        })
    });
    group.bench_function("steadfast try_acquire, 2 threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(THROTTLE.try_acquire());
            })
        })
    });
    group.finish();
}

fn breaker(c: &mut Criterion) {
    let mut group = c.benchmark_group("breaker");
    let word = AtomicU64::new(0);
    group.bench_function("one atomic load (reference)", |b| b.iter(|| black_box(word.load(Ordering::Acquire))));
    group.bench_function("closed: try_acquire", |b| b.iter(|| black_box(BREAKER.try_acquire().is_ok())));
    group.bench_function("closed: try_acquire + success", |b| {
        b.iter(|| {
            if let Ok(permit) = BREAKER.try_acquire() {
                permit.success();
            }
        })
    });
    group.bench_function("closed: try_acquire, 2 threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(BREAKER.try_acquire().is_ok());
            })
        })
    });
    group.finish();
}

fn budget(c: &mut Criterion) {
    c.bench_function("budget/success on a full bucket", |b| b.iter(|| BUDGET.record_success()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = throttle, breaker, budget
}
criterion_main!(benches);
