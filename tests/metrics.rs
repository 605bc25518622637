//! The `metrics` feature: every metric `steadfast::metrics` lists, read back from
//! metrics-util's debugging recorder, installed for the test's thread only (tests run on
//! parallel threads of one process). Time runs on tokio's paused clock.
#![cfg(feature = "metrics")]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use steadfast::metrics::{
    ATTEMPTS, BREAKER_TRANSITIONS, CALLS, GIVE_UPS, RETRIES, SLEEP_SECONDS, THROTTLE_WAIT_SECONDS,
};
use steadfast::{retry, Breaker, Budget, Open, Policy, Throttle};

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Unavailable,
    Unauthorized,
    SlowDown(Duration),
    Open,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ApiError {}

impl From<Open> for ApiError {
    fn from(_: Open) -> Self {
        ApiError::Open
    }
}

use ApiError::{SlowDown, Unauthorized, Unavailable};

/// What a run recorded: by name and sorted labels.
#[derive(Debug, Default)]
struct Recorded(BTreeMap<(String, Vec<(String, String)>), DebugValue>);

impl Recorded {
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        let mut labels: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        labels.sort();
        self.0.get(&(name.to_string(), labels))
    }

    /// A counter's value; 0 when it was never touched.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.value(name, labels) {
            Some(DebugValue::Counter(n)) => *n,
            None => 0,
            Some(other) => panic!("{name} is not a counter: {other:?}"),
        }
    }

    /// A histogram's samples; empty when it was never touched.
    fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.value(name, labels) {
            Some(DebugValue::Histogram(samples)) => samples.iter().map(|s| s.into_inner()).collect(),
            None => Vec::new(),
            Some(other) => panic!("{name} is not a histogram: {other:?}"),
        }
    }

    /// Every name recorded.
    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.0.keys().map(|(name, _)| name.as_str()).collect();
        names.dedup();
        names
    }
}

/// Runs `f` to completion on a paused current-thread runtime, with a recorder of its own.
fn record<F: Future>(f: impl FnOnce() -> F) -> (F::Output, Recorded) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let output = metrics::with_local_recorder(&recorder, || runtime.block_on(f()));
    let mut recorded = Recorded::default();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let mut labels: Vec<(String, String)> =
            key.key().labels().map(|l| (l.key().to_string(), l.value().to_string())).collect();
        labels.sort();
        recorded.0.insert((key.key().name().to_string(), labels), value);
    }
    (output, recorded)
}

/// Answers attempt n (from 1) with `script[n - 1]`, the last answer after that.
struct Script {
    answers: Vec<Result<u32, ApiError>>,
    runs: AtomicU32,
}

impl Script {
    fn new(answers: impl IntoIterator<Item = Result<u32, ApiError>>) -> Self {
        Script { answers: answers.into_iter().collect(), runs: AtomicU32::new(0) }
    }

    fn next(&self) -> Result<u32, ApiError> {
        let n = self.runs.fetch_add(1, Ordering::Relaxed) as usize;
        self.answers[n.min(self.answers.len() - 1)].clone()
    }
}

#[retry(attempts = 3, backoff = "fixed", min = "2s", max = "10s", jitter = "none", on = ApiError,
        retry_after = |e: &ApiError| match e { SlowDown(d) => Some(*d), _ => None },
        when = |e: &ApiError| *e != Unauthorized)]
async fn fetch(script: &Script) -> Result<u32, ApiError> {
    script.next()
}

const FETCH: [(&str, &str); 1] = [("fn", "fetch")];

#[test]
fn a_first_success_is_one_call_and_one_attempt() {
    let script = Script::new([Ok(1)]);
    let (answer, m) = record(|| fetch(&script));
    assert_eq!(answer, Ok(1));
    assert_eq!(m.counter(CALLS, &FETCH), 1);
    assert_eq!(m.counter(ATTEMPTS, &FETCH), 1);
    assert_eq!(m.counter(RETRIES, &FETCH), 0);
    assert_eq!(m.names(), [ATTEMPTS, CALLS], "nothing else is reported for a first success");
}

#[test]
fn retries_count_attempts_retries_and_the_seconds_slept() {
    let script = Script::new([Err(Unavailable), Err(SlowDown(Duration::from_millis(3500))), Ok(7)]);
    let (answer, m) = record(|| fetch(&script));
    assert_eq!(answer, Ok(7));
    assert_eq!(m.counter(CALLS, &FETCH), 1);
    assert_eq!(m.counter(ATTEMPTS, &FETCH), 3);
    assert_eq!(m.counter(RETRIES, &FETCH), 2);
    // The fixed 2 s, then the server's hint.
    assert_eq!(m.histogram(SLEEP_SECONDS, &FETCH), [2.0, 3.5]);
    assert!(m.names().iter().all(|n| *n != GIVE_UPS), "a call that succeeds gives nothing up");
}

#[test]
fn give_ups_are_counted_by_reason() {
    type Answers = Vec<Result<u32, ApiError>>;
    let cases: [(&str, Answers, u64); 3] = [
        ("exhausted", vec![Err(Unavailable)], 3),
        ("not_retryable", vec![Err(Unavailable), Err(Unauthorized)], 2),
        ("hint_too_long", vec![Err(SlowDown(Duration::from_secs(60)))], 1),
    ];
    for (reason, answers, attempts) in cases {
        let script = Script::new(answers);
        let (answer, m) = record(|| fetch(&script));
        assert!(answer.is_err());
        assert_eq!(m.counter(GIVE_UPS, &[("fn", "fetch"), ("reason", reason)]), 1, "{reason}");
        assert_eq!(m.counter(ATTEMPTS, &FETCH), attempts, "{reason}");
        let reasons: Vec<_> = m.0.keys().filter(|(name, _)| name == GIVE_UPS).collect();
        assert_eq!(reasons.len(), 1, "one give-up, for {reason}: {reasons:?}");
    }
}

#[retry(attempts = 10, backoff = "fixed", min = "4s", max = "4s", jitter = "none", deadline = "10s")]
async fn until_deadline(script: &Script) -> Result<u32, ApiError> {
    script.next()
}

#[test]
fn a_deadline_give_up_has_its_reason() {
    let script = Script::new([Err(Unavailable)]);
    let (_, m) = record(|| until_deadline(&script));
    // Attempts at 0 s, 4 s and 8 s: a sleep to 12 s would pass the deadline.
    assert_eq!(m.counter(ATTEMPTS, &[("fn", "until_deadline")]), 3);
    assert_eq!(m.counter(GIVE_UPS, &[("fn", "until_deadline"), ("reason", "deadline")]), 1);
}

#[retry(attempts = 3, backoff = "none", log = "off")]
fn quiet(script: &Script) -> Result<u32, ApiError> {
    script.next()
}

#[test]
fn log_off_silences_events_not_metrics_and_sync_fns_count_too() {
    let script = Script::new([Err(Unavailable), Ok(2)]);
    let (answer, m) = record(|| async { quiet(&script) });
    assert_eq!(answer, Ok(2));
    assert_eq!(m.counter(CALLS, &[("fn", "quiet")]), 1);
    assert_eq!(m.counter(ATTEMPTS, &[("fn", "quiet")]), 2);
    assert_eq!(m.counter(RETRIES, &[("fn", "quiet")]), 1);
    // backoff = "none": a retry with no sleep.
    assert_eq!(m.histogram(SLEEP_SECONDS, &[("fn", "quiet")]), [0.0]);
}

static TRIPS: Breaker = Breaker::new(2, Duration::from_secs(30)).named("billing");

#[retry(attempts = 5, backoff = "fixed", min = "1s", max = "1s", jitter = "none", breaker = TRIPS)]
async fn charge(script: &Script) -> Result<u32, ApiError> {
    script.next()
}

#[test]
fn a_breaker_reports_its_transitions_and_the_calls_it_ends() {
    let script = Script::new([Err(Unavailable), Err(Unavailable), Err(Unavailable), Ok(5)]);
    let (_, m) = record(|| async {
        // Two failures open it: the call ends with its own error.
        assert_eq!(charge(&script).await, Err(Unavailable));
        // Found open: turned away before an attempt.
        assert_eq!(charge(&script).await, Err(ApiError::Open));
        tokio::time::advance(Duration::from_secs(31)).await;
        // A probe fails (re-opens), then after another cooldown one succeeds (closes).
        assert_eq!(charge(&script).await, Err(Unavailable));
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(charge(&script).await, Ok(5));
    });
    let to = |state| m.counter(BREAKER_TRANSITIONS, &[("breaker", "billing"), ("to", state)]);
    assert_eq!((to("open"), to("half_open"), to("closed")), (2, 2, 1));
    let charge = |reason| m.counter(GIVE_UPS, &[("fn", "charge"), ("reason", reason)]);
    // The first call's failure opened the breaker, the second was turned away, the probe's
    // failure re-opened it: three calls that ended with the breaker open.
    assert_eq!(charge("breaker_open"), 3);
    assert_eq!(m.counter(CALLS, &[("fn", "charge")]), 4);
    assert_eq!(m.counter(ATTEMPTS, &[("fn", "charge")]), 4, "the call turned away made no attempt");
}

#[test]
fn a_reset_that_closes_an_open_breaker_is_a_transition() {
    let breaker = Breaker::new(1, Duration::from_secs(30)).named("reset");
    let (_, m) = record(|| async {
        breaker.reset(); // already closed: no transition
        breaker.try_acquire().unwrap().failure();
        breaker.reset();
    });
    let to = |state| m.counter(BREAKER_TRANSITIONS, &[("breaker", "reset"), ("to", state)]);
    assert_eq!((to("open"), to("closed")), (1, 1));
}

static SPENT: Budget = Budget::new(2, 0.1);

#[retry(attempts = 5, backoff = "none", budget = SPENT)]
async fn budgeted(script: &Script) -> Result<u32, ApiError> {
    script.next()
}

#[test]
fn a_spent_budget_is_a_reason() {
    let script = Script::new([Err(Unavailable)]);
    let (_, m) = record(|| budgeted(&script));
    // Tokens 2 → 1 after the first failure: 1 is not above 2/2, no retry.
    assert_eq!(m.counter(GIVE_UPS, &[("fn", "budgeted"), ("reason", "budget_spent")]), 1);
    assert_eq!(m.counter(ATTEMPTS, &[("fn", "budgeted")]), 1);
}

static PACED: Throttle = Throttle::per_second(2);

#[retry(attempts = 1, throttle = PACED)]
async fn paced(script: &Script) -> Result<u32, ApiError> {
    script.next()
}

#[test]
fn throttle_waits_are_recorded_in_seconds() {
    let script = Script::new([Ok(1)]);
    let (_, m) = record(|| async {
        for _ in 0..3 {
            paced(&script).await.unwrap();
        }
    });
    // One permit each 500 ms: the first call passes, the next two wait for theirs.
    assert_eq!(m.histogram(THROTTLE_WAIT_SECONDS, &[("fn", "paced")]), [0.5, 0.5]);
    assert_eq!(m.counter(CALLS, &[("fn", "paced")]), 3);
}

#[test]
fn the_builder_and_streams_are_labelled_by_their_names() {
    let script = Script::new([Err(Unavailable), Ok(3)]);
    let policy = Policy::fixed(Duration::from_secs(1)).attempts(3);
    let (_, m) = record(|| async {
        policy.retry(|| async { script.next() }).named("import").await.unwrap();
        script.runs.store(0, Ordering::Relaxed);
        policy.retry(|| async { script.next() }).await.unwrap();
    });
    assert_eq!(m.counter(ATTEMPTS, &[("fn", "import")]), 2);
    assert_eq!(m.counter(RETRIES, &[("fn", "retry")]), 1, "an unnamed builder is `retry`");

    use futures::StreamExt;
    let (items, m) = record(|| {
        policy
            .retry_stream(|| futures::stream::iter([Err::<u32, ApiError>(Unavailable)]))
            .named("feed")
            .collect::<Vec<_>>()
    });
    assert_eq!(items, [Err(Unavailable)]);
    assert_eq!(m.counter(ATTEMPTS, &[("fn", "feed")]), 3);
    assert_eq!(m.counter(GIVE_UPS, &[("fn", "feed"), ("reason", "exhausted")]), 1);
}
