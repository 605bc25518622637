//! Where `#[retry]`'s happy-path cost comes from: awaiting the body as a nested `async`
//! block, which is how each attempt re-runs the body with `?` and `return` ending the
//! attempt (see docs/DESIGN.md). These hand-written shapes carry no steadfast code at all.
//!
//! `cargo bench --bench nesting`

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
#[derive(Debug)]
struct U;
#[inline(never)]
async fn plain(x: u64) -> Result<u64, U> {
    let x = black_box(x);
    if x == u64::MAX {
        return Err(U);
    }
    Ok(x.wrapping_mul(31).rotate_left(7))
}
#[inline(never)]
async fn nested(x: u64) -> Result<u64, U> {
    loop {
        let r = async {
            let x = black_box(x);
            if x == u64::MAX {
                return Err(U);
            }
            Ok(x.wrapping_mul(31).rotate_left(7))
        }
        .await;
        if r.is_ok() {
            return r;
        }
        tokio::task::yield_now().await;
    }
}
#[inline(never)]
async fn nested_state(x: u64) -> Result<u64, U> {
    let mut st: Option<Box<u64>> = None;
    loop {
        let r = async {
            let x = black_box(x);
            if x == u64::MAX {
                return Err(U);
            }
            Ok(x.wrapping_mul(31).rotate_left(7))
        }
        .await;
        if r.is_ok() {
            return r;
        }
        **st.get_or_insert_with(|| Box::new(0)) += 1;
        tokio::task::yield_now().await;
    }
}
#[inline(never)]
async fn nested_once(x: u64) -> Result<u64, U> {
    let r = async {
        let x = black_box(x);
        if x == u64::MAX {
            return Err(U);
        }
        Ok(x.wrapping_mul(31).rotate_left(7))
    }
    .await;
    r
}
#[inline(never)]
async fn nested_sync_slow(x: u64) -> Result<u64, U> {
    loop {
        let r = async {
            let x = black_box(x);
            if x == u64::MAX {
                return Err(U);
            }
            Ok(x.wrapping_mul(31).rotate_left(7))
        }
        .await;
        if r.is_ok() {
            return r;
        }
        std::thread::yield_now();
    }
}
fn b(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    c.bench_function("plain", |b| b.to_async(&rt).iter(|| async { plain(black_box(7)).await }));
    c.bench_function("nested", |b| b.to_async(&rt).iter(|| async { nested(black_box(7)).await }));
    c.bench_function("nested_once", |b| b.to_async(&rt).iter(|| async { nested_once(black_box(7)).await }));
    c.bench_function("nested_sync_slow", |b| b.to_async(&rt).iter(|| async { nested_sync_slow(black_box(7)).await }));
    c.bench_function("nested_state", |b| b.to_async(&rt).iter(|| async { nested_state(black_box(7)).await }));
}
criterion_group!(g, b);
criterion_main!(g);
