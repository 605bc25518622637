//! Loom models of hedging's shared state, [`Latencies`] (the delay in an atomic, the
//! samples behind a lock): every interleaving of the threads recording and reading. Run
//! with the guards' models (`guard_loom` in the name; see `guard/loom.rs`).
//!
//! Both use the median (warm-up 20) and fill the window on the model's own thread before
//! spawning, so that the threads do only the few records that cross a selection. The
//! expected delays are computed here by sorting, not by `Latencies::select`.

use std::time::Duration;

use loom::thread;

use super::Latencies;

const MS: Duration = Duration::from_millis(1);

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// The median as `Latencies::percentile(50.0)` defines it: the sample at rank ⌈n/2⌉.
fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len().div_ceil(2) - 1]
}

/// `samples` and one more.
fn with(samples: &[Duration], one: Duration) -> Vec<Duration> {
    let mut all = samples.to_vec();
    all.push(one);
    all
}

/// A median learner holding `samples`, recorded in order.
fn filled(samples: &[Duration]) -> &'static Latencies {
    let latencies = leak(Latencies::percentile(50.0));
    assert_eq!(latencies.warm_up(), 20);
    for &sample in samples {
        latencies.record(sample);
    }
    latencies
}

#[test]
fn guard_loom_hedge_two_records_cross_the_warm_up() {
    loom::model(|| {
        // One sample short of the warm-up: whichever record lands first completes it.
        let before: Vec<Duration> = (1..20).map(|i| i * 10 * MS).collect();
        let latencies = filled(&before);
        assert_eq!(latencies.delay(), None);
        let (low, high) = (5 * MS, 1000 * MS);
        // 90 ms if the low one landed first, 100 ms if the high one did.
        let candidates = [median(&with(&before, low)), median(&with(&before, high))];
        assert_ne!(candidates[0], candidates[1]);

        let threads = [low, high].map(|latency| {
            thread::spawn(move || {
                latencies.record(latency);
                latencies.delay()
            })
        });
        // A reader beside them (checked below, against the order the samples landed in).
        let first = latencies.delay();
        let second = latencies.delay();
        assert!(first.is_none_or(|d| candidates.contains(&d)), "{first:?}");

        let seen_by_recorders = threads.map(|t| t.join().unwrap());
        let samples = latencies.samples();
        assert_eq!(latencies.len(), 21);
        assert_eq!(samples[..19], before[..]);
        assert!(samples[19..] == [low, high] || samples[19..] == [high, low], "{samples:?}");
        // The selection over the first 20 in the order they landed; the 21st is one fresh
        // sample, no refresh. Each recorder, once its record returned, sees that delay:
        // the one that chose it stored it, the other took the lock after it did.
        let expected = Some(median(&samples[..20]));
        assert_eq!(latencies.delay(), expected);
        assert_eq!(seen_by_recorders, [expected; 2]);
        // The reader saw no delay yet or that one, never the other candidate; once it had
        // seen it, it kept seeing it.
        assert!([first, second].iter().all(|d| d.is_none() || *d == expected), "{first:?}, {second:?}");
        assert!(first.is_none() || second == first, "{first:?} then {second:?}");
    });
}

#[test]
fn guard_loom_hedge_a_refresh_is_never_overwritten_by_an_older_selection() {
    loom::model(|| {
        // Warm (the delay chosen at 20 samples) and 15 fresh samples since: the next
        // record refreshes the delay, and 16 more refresh it again.
        let before: Vec<Duration> = (1..=35).map(|i| i * MS).collect();
        let latencies = filled(&before);
        assert_eq!(latencies.delay(), Some(median(&before[..20])));
        let one = 36 * MS;
        let many: Vec<Duration> = (100..116).map(|i| i * MS).collect();
        let all: Vec<Duration> = [&before[..], &[one], &many[..]].concat();
        let last = median(&all);
        // The first refresh chooses 18 ms whichever thread's record makes it; the second,
        // over all 52 samples, 26 ms. The first must not land after the second.
        assert_ne!(median(&with(&before, one)), last);
        assert_ne!(median(&with(&before, many[0])), last);

        // The second refresh is the 17th record of the threads: B's last, or A's record if
        // it comes after all of B's.
        let a = thread::spawn(move || latencies.record(one));
        let b = thread::spawn(move || {
            for &latency in &many {
                latencies.record(latency);
            }
        });
        a.join().unwrap();
        b.join().unwrap();

        assert_eq!(latencies.len(), all.len());
        assert_eq!(latencies.delay(), Some(last), "the selection over the final window");
    });
}
