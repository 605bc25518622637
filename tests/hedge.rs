//! Hedged calls (`Retry::hedge`, `#[retry(hedge = …)]`) and fallbacks, on tokio's paused
//! clock: the schedule, the winner, the losers' drop, fatal errors, guards and the budget,
//! the learned delay, and the fallback on each way a call can end.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use steadfast::hedge::Latencies;
use steadfast::{Breaker, BreakerState, Budget, Elapsed, Open, Policy, Throttle};
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
enum E {
    Busy(u32),
    Denied(u32),
    TimedOut,
    Open,
}

impl From<Elapsed> for E {
    fn from(_: Elapsed) -> Self {
        E::TimedOut
    }
}

impl From<Open> for E {
    fn from(_: Open) -> Self {
        E::Open
    }
}

/// How one copy answers: after how long, and with what.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Ok(Duration),
    Busy(Duration),
    Denied(Duration),
    Hang,
}

/// What the copies did: when each was sent, and when each was dropped before answering.
#[derive(Debug, Default)]
struct Log {
    sent: Vec<Duration>,
    dropped: Vec<(u32, Duration)>,
    answered: Vec<u32>,
}

/// Marks a copy dropped unless it answered.
struct Watch {
    n: u32,
    log: Rc<RefCell<Log>>,
    origin: Instant,
    answered: bool,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut log = self.log.borrow_mut();
        if self.answered {
            log.answered.push(self.n);
        } else {
            log.dropped.push((self.n, self.origin.elapsed()));
        }
    }
}

/// An operation whose n-th copy follows `plans[n - 1]` (the last plan once they run out).
fn service(
    plans: Vec<Plan>,
    log: Rc<RefCell<Log>>,
) -> impl FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, E>>>> {
    let origin = Instant::now();
    move || {
        let n = {
            let mut l = log.borrow_mut();
            l.sent.push(origin.elapsed());
            l.sent.len() as u32
        };
        let plan = plans[(n as usize - 1).min(plans.len() - 1)];
        let watch = Watch { n, log: log.clone(), origin, answered: false };
        Box::pin(async move {
            // The whole watch moves in, not only its flag.
            let mut watch = watch;
            let result = match plan {
                Plan::Ok(d) => {
                    tokio::time::sleep(d).await;
                    Ok(n)
                }
                Plan::Busy(d) => {
                    tokio::time::sleep(d).await;
                    Err(E::Busy(n))
                }
                Plan::Denied(d) => {
                    tokio::time::sleep(d).await;
                    Err(E::Denied(n))
                }
                Plan::Hang => std::future::pending().await,
            };
            watch.answered = true;
            result
        })
    }
}

fn retryable(e: &E) -> bool {
    matches!(e, E::Busy(_) | E::TimedOut)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn a_copy_after_each_delay_with_no_answer() {
    let log = Rc::new(RefCell::new(Log::default()));
    let start = Instant::now();
    let result = Policy::new()
        .attempts(4)
        .retry(service(vec![Plan::Hang, Plan::Hang, Plan::Ok(ms(100))], log.clone()))
        .hedge(ms(300))
        .await;
    assert_eq!(result, Ok(3));
    assert_eq!(start.elapsed(), ms(700), "the third copy, sent at 600ms, answers 100ms later");
    let log = log.borrow();
    assert_eq!(log.sent, [ms(0), ms(300), ms(600)], "no fourth copy: the third answered first");
    assert_eq!(log.dropped, [(1, ms(700)), (2, ms(700))], "the losers are dropped when the winner answers");
}

#[tokio::test(start_paused = true)]
async fn never_more_copies_than_attempts() {
    let log = Rc::new(RefCell::new(Log::default()));
    let start = Instant::now();
    let result = Policy::new()
        .attempts(2)
        .retry(service(vec![Plan::Ok(ms(1000)), Plan::Ok(ms(900))], log.clone()))
        .hedge(ms(300))
        .await;
    assert_eq!(result, Ok(1), "the original answers at 1000ms, the hedge would at 1200ms");
    assert_eq!(start.elapsed(), ms(1000));
    assert_eq!(log.borrow().sent, [ms(0), ms(300)]);
    assert_eq!(log.borrow().dropped, [(2, ms(1000))]);
}

#[tokio::test(start_paused = true)]
async fn the_first_success_wins_not_the_first_answer() {
    let log = Rc::new(RefCell::new(Log::default()));
    // The original fails at 500ms (retryable): the third copy goes at once, not at 600ms.
    let result = Policy::new()
        .attempts(3)
        .retry(service(vec![Plan::Busy(ms(500)), Plan::Hang, Plan::Ok(ms(50))], log.clone()))
        .when(retryable)
        .hedge(ms(300))
        .await;
    assert_eq!(result, Ok(3));
    let log = log.borrow();
    assert_eq!(log.sent, [ms(0), ms(300), ms(500)]);
    assert_eq!(log.answered, [1, 3]);
    assert_eq!(log.dropped, [(2, ms(550))]);
}

#[tokio::test(start_paused = true)]
async fn an_error_not_retried_ends_the_call_and_drops_the_others() {
    let log = Rc::new(RefCell::new(Log::default()));
    let start = Instant::now();
    let result = Policy::new()
        .attempts(3)
        .retry(service(vec![Plan::Hang, Plan::Denied(ms(50)), Plan::Ok(ms(1))], log.clone()))
        .when(retryable)
        .hedge(ms(300))
        .await;
    assert_eq!(result, Err(E::Denied(2)));
    assert_eq!(start.elapsed(), ms(350));
    let log = log.borrow();
    assert_eq!(log.sent, [ms(0), ms(300)], "no copy after a fatal error");
    assert_eq!(log.dropped, [(1, ms(350))]);
}

#[tokio::test(start_paused = true)]
async fn every_copy_failed_returns_the_last_error() {
    let log = Rc::new(RefCell::new(Log::default()));
    let start = Instant::now();
    // Sent at 0, 300 and 600ms; they fail at 900, 500 and 650ms: the original is last.
    let result = Policy::new()
        .attempts(3)
        .retry(service(vec![Plan::Busy(ms(900)), Plan::Busy(ms(200)), Plan::Busy(ms(50))], log.clone()))
        .hedge(ms(300))
        .await;
    assert_eq!(log.borrow().sent, [ms(0), ms(300), ms(500)], "the third goes when the second fails");
    assert_eq!(result, Err(E::Busy(1)));
    assert_eq!(start.elapsed(), ms(900));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fails_a_copy_and_sends_the_next() {
    let log = Rc::new(RefCell::new(Log::default()));
    let result = Policy::new()
        .attempts(3)
        .retry(service(vec![Plan::Hang, Plan::Ok(ms(10))], log.clone()))
        .timeout(ms(200))
        .hedge(ms(300))
        .await;
    assert_eq!(result, Ok(2));
    assert_eq!(log.borrow().sent, [ms(0), ms(200)], "the timed-out original is retried at once");
}

#[tokio::test(start_paused = true)]
async fn no_copy_starts_past_the_deadline() {
    let log = Rc::new(RefCell::new(Log::default()));
    let start = Instant::now();
    let result = Policy::new()
        .attempts(5)
        .deadline(ms(700))
        .retry(service(vec![Plan::Busy(ms(2000))], log.clone()))
        .hedge(ms(300))
        .await;
    assert_eq!(log.borrow().sent, [ms(0), ms(300), ms(600)], "a copy due at 900ms is past the deadline");
    assert_eq!(result, Err(E::Busy(3)));
    assert_eq!(start.elapsed(), ms(2600));
}

#[tokio::test(start_paused = true)]
async fn a_deadline_cuts_each_copys_timeout() {
    let log = Rc::new(RefCell::new(Log::default()));
    let start = Instant::now();
    let result = Policy::new()
        .attempts(3)
        .deadline(ms(500))
        .retry(service(vec![Plan::Hang], log.clone()))
        .timeout(ms(10_000))
        .hedge(ms(300))
        .await;
    assert_eq!(result, Err(E::TimedOut));
    assert_eq!(start.elapsed(), ms(500), "every copy is cut at the deadline");
    assert_eq!(log.borrow().sent, [ms(0), ms(300)]);
}

#[tokio::test(start_paused = true)]
async fn one_event_and_one_notify_per_copy_sent() {
    let log = Rc::new(RefCell::new(Log::default()));
    let seen = RefCell::new(Vec::new());
    let result = Policy::new()
        .attempts(3)
        .retry(service(vec![Plan::Hang, Plan::Busy(ms(10)), Plan::Ok(ms(10))], log.clone()))
        .notify(|a| seen.borrow_mut().push((a.attempt(), a.delay(), a.error().cloned())))
        .hedge(ms(300))
        .await;
    assert_eq!(result, Ok(3));
    // The hedge after 300ms, then the copy sent at once when the hedge failed.
    assert_eq!(*seen.borrow(), [(1, ms(300), None), (2, Duration::ZERO, Some(E::Busy(2)))]);
}

#[tokio::test(start_paused = true)]
async fn a_throttle_permit_per_copy() {
    // One permit a second: the hedge due at 300ms waits for the permit at 1s.
    static LIMIT: Throttle = Throttle::per_second(1);
    let log = Rc::new(RefCell::new(Log::default()));
    let result = Policy::new()
        .attempts(2)
        .retry(service(vec![Plan::Hang, Plan::Ok(ms(10))], log.clone()))
        .throttle(&LIMIT)
        .hedge(ms(300))
        .await;
    assert_eq!(result, Ok(2));
    assert_eq!(log.borrow().sent, [ms(0), ms(1000)]);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_refuses_the_call_and_further_copies() {
    let breaker = Breaker::new(1, Duration::from_secs(60));
    let log = Rc::new(RefCell::new(Log::default()));
    // The original fails (retryable): the breaker opens, and no copy is sent after it.
    let result = Policy::new()
        .attempts(3)
        .retry(service(vec![Plan::Busy(ms(100)), Plan::Hang], log.clone()))
        .breaker(&breaker)
        .hedge(ms(300))
        .await;
    assert_eq!(result, Err(E::Busy(1)));
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(log.borrow().sent, [ms(0)]);
    // Open: the next call is refused before any copy is sent.
    let log = Rc::new(RefCell::new(Log::default()));
    let result = Policy::new()
        .attempts(3)
        .retry(service(vec![Plan::Ok(ms(1))], log.clone()))
        .breaker(&breaker)
        .hedge(ms(300))
        .await;
    assert_eq!(result, Err(E::Open));
    assert!(log.borrow().sent.is_empty());
}

#[tokio::test(start_paused = true)]
async fn hedges_spend_the_budget_and_stop_below_half() {
    // 4 tokens, no refill: a hedge takes one while more than 2 would be left.
    let budget = Budget::new(4, 0.0);
    let log = Rc::new(RefCell::new(Log::default()));
    let result = Policy::new()
        .attempts(5)
        .retry(service(vec![Plan::Ok(ms(1000))], log.clone()))
        .budget(&budget)
        .hedge(ms(300))
        .await;
    assert_eq!(result, Ok(1));
    assert_eq!(log.borrow().sent, [ms(0), ms(300)], "4 -> 3 tokens for the first hedge; a second would leave 2");
    assert_eq!(budget.tokens(), 3.0);
    // A call with the budget at 3 can hedge no more, but its first copy always goes.
    let log = Rc::new(RefCell::new(Log::default()));
    let result = Policy::new()
        .attempts(5)
        .retry(service(vec![Plan::Ok(ms(1000))], log.clone()))
        .budget(&budget)
        .hedge(ms(300))
        .await;
    assert_eq!(result, Ok(1));
    assert_eq!(log.borrow().sent, [ms(0)]);
}

#[tokio::test(start_paused = true)]
async fn a_learned_delay_hedges_after_its_warm_up() {
    static P90: Latencies = Latencies::percentile(90.0);
    // 19 calls of 10..=190ms: no hedge during the warm-up (20 samples).
    for i in 1..=19u64 {
        let log = Rc::new(RefCell::new(Log::default()));
        let result =
            Policy::new().attempts(2).retry(service(vec![Plan::Ok(ms(10 * i))], log.clone())).hedge(&P90).await;
        assert_eq!(result, Ok(1));
        assert_eq!(log.borrow().sent.len(), 1, "call {i} hedged during the warm-up");
    }
    assert_eq!(P90.delay(), None);
    let log = Rc::new(RefCell::new(Log::default()));
    let _ = Policy::new().attempts(2).retry(service(vec![Plan::Ok(ms(200))], log.clone())).hedge(&P90).await;
    // 20 samples, 10..=200ms: the 90th percentile is the 18th, 180ms.
    assert_eq!(P90.delay(), Some(ms(180)));
    let log = Rc::new(RefCell::new(Log::default()));
    let result =
        Policy::new().attempts(2).retry(service(vec![Plan::Hang, Plan::Ok(ms(5))], log.clone())).hedge(&P90).await;
    assert_eq!(result, Ok(2));
    assert_eq!(log.borrow().sent, [ms(0), ms(180)]);
    // The dropped original counts as having taken at least 185ms.
    assert_eq!(P90.len(), 21);
}

// --- fallback -------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn fallback_when_the_attempts_are_spent() {
    let calls = RefCell::new(0);
    let result: Result<u32, E> = Policy::fixed(ms(100))
        .attempts(3)
        .retry(|| {
            *calls.borrow_mut() += 1;
            async { Err(E::Busy(0)) }
        })
        .fallback(|e| async move {
            assert_eq!(e, E::Busy(0));
            Ok(42)
        })
        .await;
    assert_eq!(result, Ok(42));
    assert_eq!(*calls.borrow(), 3);
}

#[tokio::test(start_paused = true)]
async fn fallback_when_the_deadline_passes() {
    let start = Instant::now();
    let result: Result<u32, E> = Policy::fixed(Duration::from_secs(1))
        .attempts(100)
        .deadline(Duration::from_millis(2500))
        .retry(|| async { Err(E::Busy(0)) })
        .fallback(|_| async { Ok(7) })
        .await;
    assert_eq!(result, Ok(7));
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(2),
        "three attempts, two sleeps, the third sleep would end past 2.5s"
    );
}

#[tokio::test(start_paused = true)]
async fn fallback_when_a_guard_refuses() {
    let breaker = Breaker::new(1, Duration::from_secs(60));
    let _ = Policy::immediate().attempts(1).retry(|| async { Err::<u32, E>(E::Busy(0)) }).breaker(&breaker).await;
    assert_eq!(breaker.state(), BreakerState::Open);
    let seen = RefCell::new(None);
    let result: Result<u32, E> = Policy::immediate()
        .retry(|| async { Ok(1) })
        .breaker(&breaker)
        .fallback(|e| {
            *seen.borrow_mut() = Some(e);
            async { Ok(0) }
        })
        .await;
    assert_eq!(result, Ok(0));
    assert_eq!(*seen.borrow(), Some(E::Open));
}

#[tokio::test(start_paused = true)]
async fn no_fallback_for_a_success_or_an_error_not_retried() {
    let result: Result<u32, E> =
        Policy::immediate().retry(|| async { Err(E::Denied(0)) }).when(retryable).fallback(|_| async { Ok(0) }).await;
    assert_eq!(result, Err(E::Denied(0)), "not retried: the error is the answer, as in tenacity");
    let result: Result<u32, E> = Policy::immediate().retry(|| async { Ok(5) }).fallback(|_| async { Ok(0) }).await;
    assert_eq!(result, Ok(5));
}

#[tokio::test(start_paused = true)]
async fn fallback_of_a_hedged_call() {
    let log = Rc::new(RefCell::new(Log::default()));
    let result = Policy::new()
        .attempts(2)
        .retry(service(vec![Plan::Busy(ms(400))], log.clone()))
        .hedge(ms(300))
        .fallback(|e| async move {
            if e == E::Busy(2) {
                Ok(99)
            } else {
                Err(e)
            }
        })
        .await;
    assert_eq!(result, Ok(99), "the last error, the hedge's, goes to the fallback");
    let log = Rc::new(RefCell::new(Log::default()));
    let result = Policy::new()
        .attempts(2)
        .retry(service(vec![Plan::Denied(ms(10))], log.clone()))
        .when(retryable)
        .hedge(ms(300))
        .fallback(|_| async { Ok(0) })
        .await;
    assert_eq!(result, Err(E::Denied(1)));
}

#[tokio::test(start_paused = true)]
async fn a_sync_fallback_of_an_async_retry_and_of_a_hedged_call() {
    let result: Result<u32, E> =
        Policy::immediate().attempts(2).retry(|| async { Err(E::Busy(0)) }).fallback(|_| Ok(11)).await;
    assert_eq!(result, Ok(11));
    let result: Result<u32, E> =
        Policy::immediate().retry(|| async { Err(E::Denied(0)) }).when(retryable).fallback(|_| Ok(11)).await;
    assert_eq!(result, Err(E::Denied(0)), "not retried: no fallback");
    let log = Rc::new(RefCell::new(Log::default()));
    let result = Policy::new()
        .attempts(2)
        .retry(service(vec![Plan::Busy(ms(400))], log.clone()))
        .hedge(ms(300))
        .fallback(|e| if e == E::Busy(2) { Ok(12) } else { Err(e) })
        .await;
    assert_eq!(result, Ok(12));
}

#[test]
fn fallback_of_a_blocking_retry() {
    let _instant = steadfast::testing::instant_sleeps();
    let result: Result<u32, E> =
        Policy::fixed(ms(100)).attempts(2).retry_blocking(|| Err(E::Busy(0))).fallback(|_| Ok(3)).call();
    assert_eq!(result, Ok(3));
    let result: Result<u32, E> = Policy::fixed(ms(100))
        .attempts(2)
        .retry_blocking(|| Err(E::Denied(0)))
        .when(retryable)
        .fallback(|_| Ok(3))
        .call();
    assert_eq!(result, Err(E::Denied(0)));
}

// --- the attribute --------------------------------------------------------------------

mod attr {
    use super::*;
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::Pin;
    use steadfast::retry;

    type Copy = Pin<Box<dyn Future<Output = Result<u32, E>>>>;

    /// A service the attribute's fns take by value: each copy of a call gets a clone, and
    /// the clones are counted.
    struct Svc {
        op: Rc<RefCell<Box<dyn FnMut() -> Copy>>>,
        clones: Rc<Cell<u32>>,
    }

    impl Clone for Svc {
        fn clone(&self) -> Self {
            self.clones.set(self.clones.get() + 1);
            Svc { op: self.op.clone(), clones: self.clones.clone() }
        }
    }

    impl Svc {
        fn new(plans: Vec<Plan>) -> (Svc, Rc<RefCell<Log>>) {
            let log = Rc::new(RefCell::new(Log::default()));
            let op = service(plans, log.clone());
            (Svc { op: Rc::new(RefCell::new(Box::new(op))), clones: Rc::default() }, log)
        }

        fn send(&self) -> Copy {
            (self.op.borrow_mut())()
        }
    }

    #[retry(attempts = 4, hedge = "300ms")]
    async fn fixed(svc: Svc) -> Result<u32, E> {
        svc.send().await
    }

    #[tokio::test(start_paused = true)]
    async fn a_copy_after_each_delay_and_owned_args_cloned_per_copy() {
        let (svc, log) = Svc::new(vec![Plan::Hang, Plan::Hang, Plan::Ok(ms(100))]);
        let clones = svc.clones.clone();
        let start = Instant::now();
        assert_eq!(fixed(svc).await, Ok(3));
        assert_eq!(start.elapsed(), ms(700), "the third copy, sent at 600ms, answers 100ms later");
        let log = log.borrow();
        assert_eq!(log.sent, [ms(0), ms(300), ms(600)]);
        assert_eq!(log.dropped, [(1, ms(700)), (2, ms(700))], "the losers are dropped when the winner answers");
        assert_eq!(clones.get(), 3, "one clone of the owned argument per copy sent");
    }

    #[retry(attempts = 3, hedge = "300ms", when = retryable)]
    async fn judged(svc: Svc) -> Result<u32, E> {
        svc.send().await
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_success_wins_and_a_fatal_error_ends_the_call() {
        // The original fails at 500ms (retryable): the third copy goes at once.
        let (svc, log) = Svc::new(vec![Plan::Busy(ms(500)), Plan::Hang, Plan::Ok(ms(50))]);
        assert_eq!(judged(svc).await, Ok(3));
        assert_eq!(log.borrow().sent, [ms(0), ms(300), ms(500)]);
        assert_eq!(log.borrow().dropped, [(2, ms(550))]);
        // The hedge fails with an error `when` refuses: the call ends with it, the original dropped.
        let (svc, log) = Svc::new(vec![Plan::Hang, Plan::Denied(ms(50)), Plan::Ok(ms(1))]);
        assert_eq!(judged(svc).await, Err(E::Denied(2)));
        assert_eq!(log.borrow().sent, [ms(0), ms(300)]);
        assert_eq!(log.borrow().dropped, [(1, ms(350))]);
    }

    /// A client whose method is hedged through `&self`.
    struct Client {
        svc: Svc,
        budget: Budget,
        breaker: Breaker,
    }

    impl Client {
        #[retry(attempts = 5, hedge = "300ms", budget = self.budget, breaker = self.breaker)]
        async fn get(&self, extra: &u32) -> Result<u32, E> {
            self.svc.send().await.map(|n| n + *extra)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_method_through_self_with_the_budget_and_a_breaker() {
        let (svc, log) = Svc::new(vec![Plan::Ok(ms(1000))]);
        let client = Client { svc, budget: Budget::new(4, 0.0), breaker: Breaker::new(1, Duration::from_secs(60)) };
        assert_eq!(client.get(&100).await, Ok(101));
        assert_eq!(log.borrow().sent, [ms(0), ms(300)], "4 -> 3 tokens for the first hedge; a second would leave 2");
        assert_eq!(client.budget.tokens(), 3.0);
        // A retryable failure opens the breaker, which refuses the next copy and the next call.
        let (svc, log) = Svc::new(vec![Plan::Busy(ms(10)), Plan::Hang]);
        let client = Client { svc, ..client };
        assert_eq!(client.get(&0).await, Err(E::Busy(1)));
        assert_eq!(log.borrow().sent, [ms(0)], "the open breaker refuses the copy the failure would send");
        assert_eq!(client.get(&0).await, Err(E::Open));
        assert_eq!(log.borrow().sent.len(), 1, "and the next call");
    }

    #[retry(attempts = 2, hedge = "p90", timeout = "10s")]
    async fn learned(svc: Svc) -> Result<u32, E> {
        svc.send().await
    }

    #[tokio::test(start_paused = true)]
    async fn a_percentile_hedges_after_its_warm_up() {
        // 20 calls of 10..=200ms: no hedge while the fn learns (20 samples for p90).
        for i in 1..=20u64 {
            let (svc, log) = Svc::new(vec![Plan::Ok(ms(10 * i))]);
            assert_eq!(learned(svc).await, Ok(1));
            assert_eq!(log.borrow().sent.len(), 1, "call {i} hedged during the warm-up");
        }
        // The 90th percentile of 10..=200ms is 180ms.
        let (svc, log) = Svc::new(vec![Plan::Hang, Plan::Ok(ms(5))]);
        assert_eq!(learned(svc).await, Ok(2));
        assert_eq!(log.borrow().sent, [ms(0), ms(180)]);
    }

    #[retry(attempts = 2, hedge = "300ms", wrap)]
    async fn wrapped(svc: Svc) -> Result<u32, steadfast::Error<E>> {
        svc.send().await
    }

    #[tokio::test(start_paused = true)]
    async fn a_wrapped_hedged_fn() {
        let (svc, _) = Svc::new(vec![Plan::Hang, Plan::Ok(ms(10))]);
        assert_eq!(wrapped(svc).await.ok(), Some(2));
        let (svc, _) = Svc::new(vec![Plan::Busy(ms(10))]);
        assert!(matches!(wrapped(svc).await, Err(steadfast::Error::Inner(E::Busy(2)))));
    }

    // --- fallback, on the attribute -----------------------------------------------------

    fn cached(e: E) -> Result<u32, E> {
        match e {
            E::Busy(_) | E::TimedOut | E::Open => Ok(0),
            e => Err(e),
        }
    }

    async fn cached_later(e: E) -> Result<u32, E> {
        tokio::time::sleep(ms(5)).await;
        cached(e)
    }

    #[retry(attempts = 3, hedge = "300ms", fallback = cached)]
    async fn hedged_or_cached(svc: Svc) -> Result<u32, E> {
        svc.send().await
    }

    #[retry(attempts = 3, backoff = "fixed", min = "100ms", jitter = "none", when = retryable, fallback = cached_later)]
    async fn retried_or_cached(svc: Svc) -> Result<u32, E> {
        svc.send().await
    }

    #[retry(attempts = 100, backoff = "fixed", min = "1s", jitter = "none", deadline = "2500ms", fallback = |e| async move { if e == E::Busy(3) { Ok(7) } else { Err(e) } })]
    async fn until_the_deadline(svc: Svc) -> Result<u32, E> {
        svc.send().await
    }

    static OPEN: std::sync::LazyLock<Breaker> = std::sync::LazyLock::new(|| Breaker::new(1, Duration::from_secs(60)));

    #[retry(attempts = 1, breaker = OPEN, fallback = |e| { assert_eq!(e, E::Open); Ok(8) })]
    async fn behind_a_breaker(svc: Svc) -> Result<u32, E> {
        svc.send().await
    }

    #[retry(attempts = 2, backoff = "none", fallback = |_| Ok(9))]
    fn blocking(n: &std::cell::Cell<u32>) -> Result<u32, E> {
        n.set(n.get() + 1);
        Err(E::Busy(n.get()))
    }

    #[tokio::test(start_paused = true)]
    async fn the_fallback_of_a_hedged_fn_gets_the_last_error() {
        let (svc, log) = Svc::new(vec![Plan::Busy(ms(1000))]);
        assert_eq!(hedged_or_cached(svc).await, Ok(0), "three copies failed: the fallback's value");
        assert_eq!(log.borrow().sent.len(), 3);
        let (svc, _) = Svc::new(vec![Plan::Hang, Plan::Ok(ms(1))]);
        assert_eq!(hedged_or_cached(svc).await, Ok(2), "a success is the answer");
    }

    #[tokio::test(start_paused = true)]
    async fn an_async_fallback_when_the_attempts_are_spent_not_for_a_fatal_error() {
        let start = Instant::now();
        let (svc, log) = Svc::new(vec![Plan::Busy(ms(0))]);
        assert_eq!(retried_or_cached(svc).await, Ok(0));
        assert_eq!(log.borrow().sent.len(), 3);
        assert_eq!(start.elapsed(), ms(205), "two sleeps, then the fallback's own 5ms");
        let (svc, log) = Svc::new(vec![Plan::Denied(ms(0))]);
        assert_eq!(retried_or_cached(svc).await, Err(E::Denied(1)), "not retried: no fallback, as in tenacity");
        assert_eq!(log.borrow().sent.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fallback_when_the_deadline_ends_the_retries() {
        let start = Instant::now();
        let (svc, _) = Svc::new(vec![Plan::Busy(ms(0))]);
        assert_eq!(until_the_deadline(svc).await, Ok(7), "the third error, the last before the deadline");
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_fallback_when_a_guard_refuses() {
        OPEN.try_acquire().expect("closed").failure();
        let (svc, log) = Svc::new(vec![Plan::Ok(ms(1))]);
        assert_eq!(behind_a_breaker(svc).await, Ok(8));
        assert!(log.borrow().sent.is_empty(), "the breaker refused the call before any attempt");
    }

    #[test]
    fn a_sync_fallback_of_a_blocking_fn() {
        let _instant = steadfast::testing::instant_sleeps();
        let n = Cell::new(0);
        assert_eq!(blocking(&n), Ok(9));
        assert_eq!(n.get(), 2);
    }
}
