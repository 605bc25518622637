use std::time::Duration;

use tokio::time::advance;

use super::state::{Cubic, BETA, CUBIC_PLATEAU, MIN_RATE, PLATEAU_REQUESTS};
use super::*;

fn report(limit: u64, remaining: u64, reset_ms: u64) -> Report {
    Report { limit: Some(limit), remaining: Some(remaining), reset: Some(Duration::from_millis(reset_ms)) }
}

const NONE: Report = Report { limit: None, remaining: None, reset: None };

fn success() -> Verdict {
    Verdict::new(true, false, false, false)
}

fn throttled() -> Verdict {
    Verdict::new(false, true, false, true)
}

fn wait<T>(admit: Admit<T, Infallible>) -> Option<Duration> {
    match admit {
        Admit::Now(_) => None,
        Admit::Wait(d) => Some(d),
        _ => unreachable!("an adaptive throttle answers at once"),
    }
}

fn ticket(admit: Admit<AdaptiveTicket, Infallible>) -> AdaptiveTicket {
    match admit {
        Admit::Now(t) => t,
        other => panic!("expected a permit, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn headers_spread_what_remains() {
    let throttle = AdaptiveThrottle::new();
    // 10 left of 60, full again in 50s: the bucket refills at one a second.
    throttle.learn_reports(report(60, 10, 50_000), NONE, None);
    for _ in 0..10 {
        ticket(throttle.admit());
    }
    assert_eq!(wait(throttle.admit()), Some(Duration::from_secs(1)));
    advance(Duration::from_millis(999)).await;
    assert_eq!(wait(throttle.admit()), Some(Duration::from_millis(1)));
    advance(Duration::from_millis(1)).await;
    ticket(throttle.admit());
    let learned = throttle.learned();
    assert_eq!(learned.requests_per_minute, Some(60.0));
    assert!(learned.from_headers);
    assert_eq!(learned.admitted, 11);
}

#[tokio::test(start_paused = true)]
async fn requests_in_flight_count_as_spent() {
    let throttle = AdaptiveThrottle::new();
    // Three on their way when the first answer arrives: 5 left by the server's count, but
    // the two others may not be counted yet.
    let tickets: Vec<_> = (0..3).map(|_| ticket(throttle.admit())).collect();
    throttle.learn_reports(report(60, 5, 55_000), NONE, None);
    assert_eq!(throttle.snapshot().requests.level, 3.0);
    for t in tickets {
        throttle.record(t, success());
    }
    assert_eq!(throttle.snapshot().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn tokens_weigh_and_settle() {
    let throttle = AdaptiveThrottle::new();
    // 300 tokens left of 1000, full in 70s: 10 tokens a second.
    throttle.learn_reports(NONE, report(1000, 300, 70_000), None);
    let first = ticket(throttle.cost(200).admit());
    // 100 left: 200 more are 10s away.
    assert_eq!(wait(throttle.cost(200).admit()), Some(Duration::from_secs(10)));
    // A small call fits now.
    ticket(throttle.cost(100).admit());
    assert_eq!(wait(throttle.cost(50).admit()), Some(Duration::from_secs(5)));
    // The first call used 20 of its 200, and its response said nothing of the tokens
    // left: 180 come back.
    throttle.record(first, success());
    throttle.learn_reports(report(60, 50, 10_000), NONE, None);
    throttle.settle(200, 20);
    ticket(throttle.cost(150).admit());
    assert_eq!(throttle.learned().tokens_per_minute, Some(600.0));
    // A call larger than the whole bucket waits for a full bucket, not for ever.
    assert_eq!(wait(throttle.cost(5000).admit()), Some(Duration::from_secs(97)));
}

#[tokio::test(start_paused = true)]
async fn settle_leaves_a_fresh_count_of_tokens_alone() {
    let throttle = AdaptiveThrottle::new();
    throttle.learn_reports(NONE, report(1000, 300, 70_000), None);
    let t = ticket(throttle.cost(200).admit());
    throttle.record(t, success());
    // The response's headers counted what the call used: 100 left by the server's count.
    throttle.learn_reports(NONE, report(1000, 100, 90_000), None);
    throttle.settle(200, 20);
    assert_eq!(throttle.snapshot().tokens.level, 100.0);
}

#[test]
fn slow_limits_climb_back_over_many_requests() {
    let mut cubic = Cubic::NEW;
    // 6 requests in 12 s (half a request a second), then a throttle.
    for i in 0..6 {
        cubic.take(i * 2_000_000_000);
    }
    cubic.throttled(12_000_000_000, 0);
    assert!((cubic.rate - 0.5 * BETA).abs() < 1e-9, "{}", cubic.rate);
    // Back at the old rate after PLATEAU_REQUESTS requests' time at it, not 12 s.
    assert_eq!(cubic.plateau(), PLATEAU_REQUESTS / 0.5);
    assert!(cubic.at(CUBIC_PLATEAU) < 0.5 * 0.8);
    assert!((cubic.at(cubic.plateau()) - 0.5).abs() < 1e-9);
    // A limit of a few requests a minute is reachable: the floor is one a minute.
    for _ in 0..20 {
        let epoch = cubic.epoch;
        cubic.throttled(20_000_000_000, epoch);
    }
    assert_eq!(cubic.rate, MIN_RATE);
}

#[tokio::test(start_paused = true)]
async fn a_429_holds_every_call_until_its_hint() {
    let throttle = AdaptiveThrottle::new();
    ticket(throttle.admit());
    throttle.learn_reports(NONE, NONE, Some(Duration::from_secs(2)));
    assert_eq!(wait(throttle.admit()), Some(Duration::from_secs(2)));
    advance(Duration::from_secs(2)).await;
    ticket(throttle.admit());
}

#[tokio::test(start_paused = true)]
async fn throttles_cut_once_per_epoch_then_climb_along_the_cubic() {
    let throttle = AdaptiveThrottle::new();
    // Unlimited until the first 429: 40 requests in 2s (20 a second measured).
    let mut tickets = Vec::new();
    for _ in 0..40 {
        tickets.push(ticket(throttle.admit()));
        advance(Duration::from_millis(50)).await;
    }
    assert_eq!(throttle.learned().requests_per_minute, None);
    // Every one of them comes back 429: one cut, to 70% of what was sent.
    for t in tickets {
        throttle.record(t, throttled());
    }
    let cut = throttle.snapshot().cubic.rate;
    assert!((cut - 20.0 * BETA).abs() < 0.5, "{cut}");
    assert_eq!(throttle.learned().throttled, 40);
    // Paced at the cut rate from now on.
    let spacing = Duration::from_secs_f64(1.0 / cut);
    assert_eq!(wait(throttle.admit()), Some(spacing));
    advance(spacing).await;
    let first = ticket(throttle.admit());
    assert_eq!(wait(throttle.admit()), Some(spacing));
    // Successes climb back: slowly near the plateau, to the old rate after it.
    advance(Duration::from_secs_f64(CUBIC_PLATEAU / 2.0)).await;
    throttle.record(first, success());
    let cubic = throttle.snapshot().cubic;
    let halfway = cubic.rate;
    assert!(halfway > cut && halfway < cubic.at(CUBIC_PLATEAU), "{halfway}");
    assert!((cubic.at(0.0) - cut).abs() < 1e-9);
    assert!(cubic.at(CUBIC_PLATEAU + 5.0) > cubic.at(CUBIC_PLATEAU));
    // A throttle of an attempt admitted after the cut cuts again.
    advance(Duration::from_secs(1)).await;
    let late = ticket(throttle.admit());
    throttle.record(late, throttled());
    assert!(throttle.snapshot().cubic.rate < halfway);
    assert_eq!(throttle.snapshot().cubic.epoch, 2);
}

#[tokio::test(start_paused = true)]
async fn headers_take_over_from_429s() {
    let throttle = AdaptiveThrottle::new();
    let t = ticket(throttle.admit());
    throttle.learn_reports(report(100, 0, 6_000), NONE, None);
    throttle.record(t, throttled());
    // The headers pace (empty, 100 back in 6s): the cubic was not engaged.
    assert!(!throttle.snapshot().cubic.enabled);
    assert_eq!(wait(throttle.admit()), Some(Duration::from_millis(60)));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_gives_back_its_place_in_flight() {
    let throttle = AdaptiveThrottle::new();
    let t = ticket(throttle.cost(70).admit());
    assert_eq!((throttle.snapshot().in_flight, throttle.snapshot().in_flight_tokens), (1, 70));
    throttle.cost(70).abandon(t, true);
    assert_eq!((throttle.snapshot().in_flight, throttle.snapshot().in_flight_tokens), (0, 0));
}

#[test]
fn scopes_are_separate() {
    let limits: AdaptiveThrottles<(&str, &str)> = AdaptiveThrottles::new();
    let a = limits.get(&("key-a", "gpt-4o"));
    a.learn_reports(report(10, 0, 60_000), NONE, None);
    assert!(matches!(limits.get(&("key-a", "gpt-4o")).admit(), Admit::Wait(_)));
    assert!(matches!(limits.get(&("key-a", "gpt-4o-mini")).admit(), Admit::Now(_)));
    assert!(matches!(limits.get(&("key-b", "gpt-4o")).admit(), Admit::Now(_)));
    assert_eq!(limits.scopes().len(), 3);
}
