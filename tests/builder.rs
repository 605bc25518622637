//! The runtime builder, for closures and code that cannot take an attribute: the same
//! behaviours as `#[retry]`, under tokio's paused clock.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use steadfast::timer::{Clock, Timer, Tokio};
use steadfast::{testing, Elapsed, Jitter, Log, Policy};
use tokio::time::{sleep, Instant};

const S: Duration = Duration::from_secs(1);

#[derive(Debug, PartialEq)]
enum E {
    Busy,
    Denied,
    TimedOut,
}

impl From<Elapsed> for E {
    fn from(_: Elapsed) -> Self {
        E::TimedOut
    }
}

fn exact(attempts: u32) -> Policy {
    Policy::exponential(S, 60 * S).attempts(attempts).jitter(Jitter::None)
}

#[tokio::test(start_paused = true)]
async fn retries_a_closure_with_the_policy_delays() {
    let sleeps = testing::record_sleeps();
    let calls = Cell::new(0);
    let result = exact(4)
        .retry(|| {
            calls.set(calls.get() + 1);
            async { Err::<(), _>(E::Busy) }
        })
        .await;
    assert_eq!(result, Err(E::Busy));
    assert_eq!(calls.get(), 4);
    assert_eq!(sleeps.take(), [S, 2 * S, 4 * S]);
}

#[tokio::test(start_paused = true)]
async fn when_if_ok_and_notify() {
    let calls = Cell::new(0);
    let notes = RefCell::new(Vec::new());
    let result = exact(5)
        .retry(|| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                match n {
                    1 => Err(E::Busy),
                    2 => Ok(0),
                    _ => Err(E::Denied),
                }
            }
        })
        .when(|e| *e == E::Busy)
        .if_ok(|v| *v == 0)
        .notify(|a| notes.borrow_mut().push((a.attempt(), a.delay(), a.error().is_some())))
        .log(Log::Off)
        .await;
    assert_eq!(result, Err(E::Denied), "Denied is not retried");
    assert_eq!(calls.get(), 3);
    assert_eq!(*notes.borrow(), [(1, S, true), (2, 2 * S, false)]);
}

#[tokio::test(start_paused = true)]
async fn retry_after_and_timeout() {
    let sleeps = testing::record_sleeps();
    let start = Instant::now();
    let result: Result<(), E> = exact(3)
        .retry(|| async {
            sleep(10 * S).await;
            Ok(())
        })
        .timeout(2 * S)
        .await;
    assert_eq!(result, Err(E::TimedOut));
    assert_eq!(start.elapsed(), 3 * 2 * S + S + 2 * S);
    sleeps.take();

    let result: Result<(), E> =
        exact(3).retry(|| async { Err(E::Busy) }).retry_after(|_| Some(Duration::from_millis(1500))).await;
    assert_eq!(result, Err(E::Busy));
    assert_eq!(sleeps.take(), [Duration::from_millis(1500); 2]);

    let result: Result<(), E> = exact(3).retry(|| async { Err(E::Busy) }).retry_after(|_| Some(120 * S)).await;
    assert_eq!(result, Err(E::Busy));
    assert!(sleeps.take().is_empty(), "a hint above max ends the retries");
}

#[tokio::test(start_paused = true)]
async fn deadline_stops_before_a_sleep_that_would_pass_it() {
    let start = Instant::now();
    let calls = Cell::new(0);
    let result: Result<(), E> = exact(10)
        .deadline(10 * S)
        .retry(|| {
            calls.set(calls.get() + 1);
            async { Err(E::Busy) }
        })
        .await;
    assert_eq!(result, Err(E::Busy));
    // sleeps 1, 2, 4 (t = 7); 7 + 8 >= 10
    assert_eq!(calls.get(), 4);
    assert_eq!(start.elapsed(), 7 * S);
}

thread_local! {
    static CLOCK_READS: Cell<u32> = const { Cell::new(0) };
}

/// Tokio's timer, counting every read of its clock (a paused clock does not move, so only a
/// count can tell a read happened).
struct Counted;

impl Clock for Counted {
    fn now() -> steadfast::timer::Instant {
        CLOCK_READS.with(|n| n.set(n.get() + 1));
        Tokio::now()
    }
}

impl Timer for Counted {
    type Sleep = <Tokio as Timer>::Sleep;

    fn sleep(duration: Duration) -> Self::Sleep {
        Tokio::sleep(duration)
    }
}

fn clock_reads() -> u32 {
    CLOCK_READS.with(|n| n.replace(0))
}

#[steadfast::retry(attempts = 3, min = "1s", timer = Counted)]
async fn attribute_on_counted() -> Result<u32, E> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn succeeds_without_touching_the_clock() {
    let result: Result<u32, E> = Policy::new().retry(|| async { Ok(7) }).timer::<Counted>().await;
    assert_eq!(result, Ok(7));
    assert_eq!(clock_reads(), 0, "the builder's happy path reads no clock");
    assert_eq!(attribute_on_counted().await, Ok(1));
    assert_eq!(clock_reads(), 0, "the attribute's happy path reads no clock");

    // The count sees a read where there is one: a deadline's start.
    let result: Result<u32, E> = Policy::new().deadline(S).retry(|| async { Ok(7) }).timer::<Counted>().await;
    assert_eq!(result, Ok(7));
    assert!(clock_reads() > 0, "a deadline is measured from the start");
}

/// A foreign error type through the builder: `.wrap()` may come first, and the hooks and
/// the timeout still follow it.
#[tokio::test(start_paused = true)]
async fn hooks_and_timeout_follow_wrap_in_any_order() {
    let calls = Cell::new(0);
    let start = Instant::now();
    // Each attempt hangs: the timeout cuts it, and the last one is `Error::Elapsed`.
    let hung = exact(3)
        .retry(|| async {
            calls.set(calls.get() + 1);
            sleep(3600 * S).await;
            Ok::<(), std::io::Error>(())
        })
        .wrap()
        .when(|e: &std::io::Error| e.kind() != std::io::ErrorKind::PermissionDenied)
        .timeout(2 * S)
        .await;
    assert!(matches!(hung, Err(steadfast::Error::Elapsed(e)) if e.limit() == 2 * S));
    assert_eq!(calls.replace(0), 3);
    assert_eq!(start.elapsed(), 3 * (2 * S) + S + 2 * S); // three timeouts, sleeps 1s and 2s

    // `when` after `wrap` still sees the operation's own error.
    let denied = exact(3)
        .retry(|| async {
            calls.set(calls.get() + 1);
            Err::<(), _>(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
        })
        .wrap()
        .when(|e: &std::io::Error| e.kind() != std::io::ErrorKind::PermissionDenied)
        .await;
    assert!(matches!(denied, Err(steadfast::Error::Inner(e)) if e.kind() == std::io::ErrorKind::PermissionDenied));
    assert_eq!(calls.replace(0), 1);
}

/// `unless_elapsed`: a call that must not be sent twice is not retried after a timeout,
/// in either mode.
#[tokio::test(start_paused = true)]
async fn unless_elapsed_does_not_retry_a_timeout() {
    let calls = Cell::new(0);
    let hang = || async {
        calls.set(calls.get() + 1);
        sleep(3600 * S).await;
        Ok::<(), E>(())
    };
    let plain = exact(3).retry(hang).timeout(S).unless_elapsed().await;
    assert_eq!(plain, Err(E::TimedOut));
    assert_eq!(calls.replace(0), 1);
    let wrapped = exact(3).retry(hang).wrap().unless_elapsed().timeout(S).await;
    assert!(matches!(wrapped, Err(steadfast::Error::Elapsed(_))));
    assert_eq!(calls.replace(0), 1);
}
