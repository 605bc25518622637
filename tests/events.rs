//! The tracing events of `#[retry]`: one before each sleep, one on giving up, with fixed
//! fields, the function's module as target, and never an argument's value.

use std::fmt;
use std::time::Duration;

use capture::Seen;
use steadfast::retry;
use tracing::Level;

#[path = "common/capture.rs"]
mod capture;

/// Runs `f`, capturing the events of this thread.
async fn capture<F: std::future::Future>(f: F) -> Vec<Seen> {
    let capture = capture::start();
    f.await;
    capture.events()
}

#[derive(Debug)]
struct Busy;

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("429 too many requests")
    }
}
impl std::error::Error for Busy {}

#[retry(attempts = 3, min = "2s", jitter = "none")]
async fn generate(api_key: String) -> Result<(), Busy> {
    let _ = api_key;
    Err(Busy)
}

#[tokio::test(start_paused = true)]
async fn one_event_per_sleep_and_one_on_giving_up() {
    let seen = capture(generate("sk-secret-key".into())).await;
    assert_eq!(seen.len(), 3, "{seen:#?}");
    for (event, (attempt, delay)) in seen.iter().zip([("1", "2000"), ("2", "4000")]) {
        assert_eq!(event.level, Level::WARN);
        assert_eq!(event.target, module_path!());
        assert_eq!(event.field("fn"), Some("generate"));
        assert_eq!(event.field("attempt"), Some(attempt));
        assert_eq!(event.field("max_attempts"), Some("3"));
        assert_eq!(event.field("delay_ms"), Some(delay));
        assert_eq!(event.field("reason"), None);
        assert_eq!(event.field("error"), Some("429 too many requests"), "Display is preferred");
        assert_eq!(event.field("message"), Some("retrying"));
    }
    let gave_up = &seen[2];
    assert_eq!(gave_up.level, Level::WARN);
    assert_eq!(gave_up.field("message"), Some("giving up"));
    assert_eq!(gave_up.field("attempt"), Some("3"), "the attempt that ended the call");
    assert_eq!(gave_up.field("max_attempts"), Some("3"));
    assert_eq!(gave_up.field("reason"), Some("exhausted"));
    assert_eq!(gave_up.field("delay_ms"), None);
    let all = format!("{seen:?}");
    assert!(!all.contains("sk-secret-key"), "argument values are never recorded");
}

#[derive(Debug)]
struct DebugOnly {
    #[allow(dead_code)]
    code: u16,
}

struct Opaque;

#[retry(attempts = 2, min = "1s", log = "debug")]
async fn debug_only() -> Result<(), DebugOnly> {
    Err(DebugOnly { code: 503 })
}

#[retry(attempts = 2, min = "1s", log = "error")]
async fn opaque() -> Result<(), Opaque> {
    Err(Opaque)
}

#[tokio::test(start_paused = true)]
async fn the_error_field_falls_back_to_debug_then_to_nothing() {
    let seen = capture(debug_only()).await;
    assert_eq!(seen[0].level, Level::DEBUG);
    assert_eq!(seen[0].field("error"), Some("DebugOnly { code: 503 }"));
    let seen = capture(opaque()).await;
    assert_eq!(seen[0].level, Level::ERROR);
    assert_eq!(seen[0].field("error"), None);
    assert_eq!(seen[0].field("attempt"), Some("1"));
}

#[retry(attempts = 3, min = "1s", log = "off")]
async fn silent() -> Result<(), Busy> {
    Err(Busy)
}

#[retry(attempts = 3, min = "1s", on = std::io::Error)]
async fn not_retried() -> Result<(), Busy> {
    Err(Busy)
}

#[tokio::test(start_paused = true)]
async fn off_emits_nothing_and_an_error_not_retried_one_debug_event() {
    assert!(capture(silent()).await.is_empty());
    let seen = capture(not_retried()).await;
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].level, Level::DEBUG, "an error that is not retried is not a give-up");
    assert_eq!(seen[0].field("message"), Some("not retried"));
    assert_eq!(seen[0].field("reason"), Some("not_retryable"));
    assert_eq!(seen[0].field("attempt"), Some("1"));
    assert_eq!(seen[0].field("error"), Some("429 too many requests"));
}

// ---- fields(…) ----

#[retry(attempts = 2, min = "1s", jitter = "none", fields(url = %url, status = ?Some(503), try_limit = 2u32))]
async fn fetch(url: &str, api_key: &str) -> Result<(), Busy> {
    let _ = api_key;
    Err(Busy)
}

#[tokio::test(start_paused = true)]
async fn named_fields_are_added_to_every_event() {
    let seen = capture(fetch("https://api.example/v1/chat", "sk-secret-key")).await;
    assert_eq!(seen.len(), 2, "{seen:#?}");
    for event in &seen {
        assert_eq!(event.field("url"), Some("https://api.example/v1/chat"), "`%` records Display");
        assert_eq!(event.field("status"), Some("Some(503)"), "`?` records Debug");
        assert_eq!(event.field("try_limit"), Some("2"), "a bare value is recorded as itself");
    }
    assert!(!format!("{seen:?}").contains("sk-secret-key"), "only the named values are recorded");
}

// ---- reason, for each way a call stops ----

#[retry(attempts = 5, min = "1s", max = "10s", jitter = "none", deadline = "2s")]
async fn past_deadline() -> Result<(), Busy> {
    Err(Busy)
}

#[retry(attempts = 5, min = "1s", max = "10s", retry_after = |_: &Busy| Some(Duration::from_secs(60)))]
async fn hint_too_long() -> Result<(), Busy> {
    Err(Busy)
}

#[derive(Debug)]
enum Guarded {
    Busy,
    Open,
}

impl From<steadfast::Open> for Guarded {
    fn from(_: steadfast::Open) -> Self {
        Guarded::Open
    }
}

static BREAKER: steadfast::Breaker = steadfast::Breaker::new(1, Duration::from_secs(60)).named("llm");
static BUDGET: steadfast::Budget = steadfast::Budget::new(2, 0.0);

#[retry(attempts = 5, min = "1s", breaker = BREAKER)]
async fn opens_the_breaker() -> Result<(), Guarded> {
    Err(Guarded::Busy)
}

#[retry(attempts = 5, min = "1s", budget = BUDGET)]
async fn spends_the_budget() -> Result<(), Guarded> {
    Err(Guarded::Busy)
}

fn reasons(seen: &[Seen]) -> Vec<&str> {
    seen.iter().filter(|e| e.field("message") == Some("giving up")).filter_map(|e| e.field("reason")).collect()
}

#[tokio::test(start_paused = true)]
async fn the_give_up_event_says_why() {
    let seen = capture(past_deadline()).await;
    // a 1s sleep, then a 2s one would end past the 2s deadline
    assert_eq!(reasons(&seen), ["deadline"]);
    assert_eq!(seen.last().and_then(|e| e.field("attempt")), Some("2"));

    assert_eq!(reasons(&capture(hint_too_long()).await), ["hint_too_long"]);

    let seen = capture(opens_the_breaker()).await;
    assert_eq!(reasons(&seen), ["breaker_open"], "{seen:#?}");
    assert_eq!(seen.last().and_then(|e| e.field("attempt")), Some("1"), "with attempts left");
    assert!(matches!(opens_the_breaker().await, Err(Guarded::Open)));

    // 2 tokens: the first failure takes one and leaves 1, not above half of 2
    let seen = capture(spends_the_budget()).await;
    assert_eq!(reasons(&seen), ["budget_spent"], "{seen:#?}");
}

// ---- the builder's events ----

#[tokio::test(start_paused = true)]
async fn the_builder_emits_the_same_events_under_its_own_target() {
    let seen = capture(async {
        let _: Result<(), Busy> = steadfast::Policy::exponential(Duration::from_secs(2), Duration::from_secs(60))
            .jitter(steadfast::Jitter::None)
            .attempts(3)
            .retry(|| async { Err(Busy) })
            .named("complete")
            .await;
    })
    .await;
    assert_eq!(seen.len(), 3, "{seen:#?}");
    for (event, (attempt, delay)) in seen.iter().zip([("1", "2000"), ("2", "4000")]) {
        assert_eq!(event.level, Level::WARN);
        assert_eq!(event.target, "steadfast");
        assert_eq!(event.message(), "retrying");
        assert_eq!(event.field("fn"), Some("complete"));
        assert_eq!(event.field("attempt"), Some(attempt));
        assert_eq!(event.field("max_attempts"), Some("3"));
        assert_eq!(event.field("delay_ms"), Some(delay));
        assert_eq!(event.field("error"), Some("Busy"), "the builder shows Debug");
    }
    assert_eq!(seen[2].message(), "giving up");
    assert_eq!(seen[2].field("reason"), Some("exhausted"));
    assert_eq!(seen[2].field("attempt"), Some("3"));

    // `log` sets the level, `Off` silences it, and an error not retried is one debug event.
    let seen = capture(async {
        let _: Result<(), Busy> =
            steadfast::Policy::immediate().retry(|| async { Err(Busy) }).log(steadfast::Log::Info).await;
    })
    .await;
    assert!(seen.iter().all(|e| e.level == Level::INFO && e.field("fn") == Some("retry")), "{seen:#?}");
    assert_eq!(seen.len(), 3);
    let seen = capture(async {
        let _: Result<(), Busy> =
            steadfast::Policy::immediate().retry(|| async { Err(Busy) }).log(steadfast::Log::Off).await;
    })
    .await;
    assert_eq!(seen, []);
    let seen = capture(async {
        let _: Result<(), Busy> = steadfast::Policy::immediate().retry(|| async { Err(Busy) }).when(|_| false).await;
    })
    .await;
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!((seen[0].level, seen[0].message()), (Level::DEBUG, "not retried"));
    assert_eq!(seen[0].field("reason"), Some("not_retryable"));
}
