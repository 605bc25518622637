//! A million retried calls against an in-process flaky service with every guard on, to show
//! that memory stays flat and that every call is accounted for.
//!
//! `cargo run --release --example soak -- [--calls N] [--concurrency C] [--seed S]`
//! (defaults: 1,000,000 calls, 64 at a time, seed 7)
//!
//! Each attempt's fate is a hash of (seed, call, attempt): 90% answer, 7% fail with a
//! transient error, 2% with a permanent one, 0.02% hang until the 2ms timeout cuts them,
//! and calls in the first 1,000 of every 100,000 meet an outage (every attempt fails) that
//! opens the breaker. Backoff sleeps are skipped (`testing::instant_sleeps`); the
//! throttle, the breaker's cooldown and the timeouts run on real time. Prints resident
//! memory at 10%, 50% and 100% of the calls as CSV, then the accounting; exits with an
//! error if the resident set grew by more than 5% after the first 10%, or if any call is
//! unaccounted for.

use std::cell::Cell;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use steadfast::{retry, testing, Breaker, Budget, Elapsed, Open, Throttle};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fail {
    Transient,
    Permanent,
    TimedOut,
    Open,
}

impl From<Elapsed> for Fail {
    fn from(_: Elapsed) -> Self {
        Fail::TimedOut
    }
}

impl From<Open> for Fail {
    fn from(_: Open) -> Self {
        Fail::Open
    }
}

struct Service {
    seed: u64,
    attempts: AtomicU64,
    breaker: Breaker,
    throttle: Throttle,
    budget: Budget,
}

/// splitmix64's finaliser: the attempt's fate, the same in every run of a seed.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Service {
    #[retry(
        attempts = 4,
        min = "1ms",
        max = "50ms",
        timeout = "2ms",
        when = |e: &Fail| matches!(e, Fail::Transient),
        breaker = self.breaker,
        throttle = self.throttle,
        budget = self.budget,
        log = "off"
    )]
    async fn call(&self, id: u64, attempt: &Cell<u64>) -> Result<u64, Fail> {
        let n = attempt.get();
        attempt.set(n + 1);
        self.attempts.fetch_add(1, Ordering::Relaxed);
        if id % 100_000 < 1_000 {
            return Err(Fail::Transient);
        }
        match mix(self.seed ^ mix(id) ^ n) % 10_000 {
            0..=1 => std::future::pending().await,
            2..=701 => Err(Fail::Transient),
            702..=901 => Err(Fail::Permanent),
            _ => Ok(id),
        }
    }
}

/// Resident memory in KiB, from `/proc/self/status` (Linux); `None` elsewhere.
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Args {
    calls: u64,
    concurrency: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { calls: 1_000_000, concurrency: 64, seed: 7 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {value:?}: {e}");
        match flag.as_str() {
            "--calls" => args.calls = value.parse().map_err(bad)?,
            "--concurrency" => args.concurrency = value.parse().map_err(bad)?,
            "--seed" => args.seed = value.parse().map_err(bad)?,
            _ => return Err(format!("unknown flag {flag}; expected --calls, --concurrency or --seed")),
        }
    }
    if args.calls < 10 || args.concurrency == 0 {
        return Err("--calls must be at least 10 and --concurrency at least 1".into());
    }
    Ok(args)
}

#[derive(Default)]
struct Tally {
    ok: u64,
    permanent: u64,
    exhausted: u64,
    timed_out: u64,
    refused: u64,
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("soak: {message}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a tokio runtime");
    let service = Service {
        seed: args.seed,
        attempts: AtomicU64::new(0),
        breaker: Breaker::new(20, Duration::from_millis(5)).named("soak"),
        throttle: Throttle::per_second(10_000_000).burst(10_000),
        budget: Budget::new(1_000, 0.2),
    };
    let _instant = testing::instant_sleeps();
    let started = Instant::now();
    let checkpoints = [args.calls / 10, args.calls / 2, args.calls];
    let mut resident = Vec::new();
    let mut tally = Tally::default();
    let mut done = 0u64;

    println!("progress,calls,resident_kib");
    rt.block_on(async {
        let mut results = stream::iter(0..args.calls)
            .map(|id| {
                let service = &service;
                async move { service.call(id, &Cell::new(0)).await }
            })
            .buffer_unordered(args.concurrency);
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => tally.ok += 1,
                Err(Fail::Permanent) => tally.permanent += 1,
                Err(Fail::Transient) => tally.exhausted += 1,
                Err(Fail::TimedOut) => tally.timed_out += 1,
                Err(Fail::Open) => tally.refused += 1,
            }
            done += 1;
            if checkpoints.contains(&done) {
                let kib = resident_kib();
                resident.push(kib);
                let shown = kib.map_or("n/a".to_owned(), |k| k.to_string());
                println!("{}%,{done},{shown}", done * 100 / args.calls);
            }
        }
    });

    let accounted = tally.ok + tally.permanent + tally.exhausted + tally.timed_out + tally.refused;
    eprintln!(
        "soak: {} calls in {:.1} s, {} attempts: ok {}, permanent {}, retries spent {}, timed out {}, refused by a guard {}; accounted {accounted}",
        args.calls,
        started.elapsed().as_secs_f64(),
        service.attempts.load(Ordering::Relaxed),
        tally.ok,
        tally.permanent,
        tally.exhausted,
        tally.timed_out,
        tally.refused,
    );
    let mut failed = false;
    if accounted != args.calls || done != args.calls {
        eprintln!("soak: {} calls unaccounted for", args.calls - accounted.min(args.calls));
        failed = true;
    }
    if let [Some(warm), _, Some(end)] = resident[..] {
        let growth = end as f64 / warm as f64 - 1.0;
        eprintln!("soak: resident memory {warm} KiB after warm-up, {end} KiB at the end ({:+.1}%)", growth * 100.0);
        if growth > 0.05 {
            eprintln!("soak: resident memory grew by more than 5% after warm-up");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
