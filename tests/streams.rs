//! `Policy::retry_stream`: retried until the first item, committed after it, both
//! timeouts, resume, exhaustion and guards, under tokio's paused clock.

use std::cell::{Cell, RefCell};
use std::pin::pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::stream::{self, BoxStream, Stream};
use futures::StreamExt;
use proptest::prelude::*;
use steadfast::guard::{Admit, Fits, Guard, Record, Verdict};
use steadfast::{testing, Breaker, Budget, Elapsed, Jitter, Open, Policy, Throttle};
use tokio::time::Instant;

const S: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
enum E {
    Busy,
    Denied,
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

/// One step of a scripted stream.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Item(u32),
    Fail(&'static str),
    /// No item for this long.
    Stall(Duration),
    /// Never another item.
    Hang,
}

use Step::*;

/// A stream playing `steps`; `busy` is retryable, anything else is `Denied`.
fn scripted(steps: Vec<Step>) -> BoxStream<'static, Result<u32, E>> {
    stream::unfold(steps.into_iter(), |mut steps| async move {
        loop {
            match steps.next()? {
                Item(n) => return Some((Ok(n), steps)),
                Fail("busy") => return Some((Err(E::Busy), steps)),
                Fail(_) => return Some((Err(E::Denied), steps)),
                Stall(d) => tokio::time::sleep(d).await,
                Hang => std::future::pending::<()>().await,
            }
        }
    })
    .boxed()
}

/// A make closure playing one script per attempt (the last again once they run out),
/// counting the attempts.
fn attempts(scripts: Vec<Vec<Step>>, opens: &Cell<u32>) -> impl FnMut() -> BoxStream<'static, Result<u32, E>> + '_ {
    move || {
        let n = opens.get() as usize;
        opens.set(opens.get() + 1);
        scripted(scripts[n.min(scripts.len() - 1)].clone())
    }
}

fn exact(attempts: u32) -> Policy {
    Policy::fixed(S).attempts(attempts).jitter(Jitter::None)
}

async fn all<T>(stream: impl Stream<Item = T>) -> Vec<T> {
    stream.collect().await
}

#[tokio::test(start_paused = true)]
async fn errors_before_the_first_item_are_retried_and_never_seen() {
    let sleeps = testing::record_sleeps();
    let opens = Cell::new(0);
    let start = Instant::now();
    let items =
        all(exact(5)
            .retry_stream(attempts(vec![vec![Fail("busy")], vec![Fail("busy")], vec![Item(1), Item(2)]], &opens)))
        .await;
    assert_eq!(items, [Ok(1), Ok(2)]);
    assert_eq!(opens.get(), 3);
    assert_eq!(sleeps.take(), [S, S]);
    assert_eq!(start.elapsed(), 2 * S);
}

#[tokio::test(start_paused = true)]
async fn a_fatal_first_error_is_yielded_once_and_ends_the_stream() {
    let opens = Cell::new(0);
    let items =
        all(exact(5).retry_stream(attempts(vec![vec![Fail("denied"), Item(1)]], &opens)).when(|e| *e == E::Busy)).await;
    assert_eq!(items, [Err(E::Denied)]);
    assert_eq!(opens.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn exhaustion_yields_the_last_error_once() {
    let sleeps = testing::record_sleeps();
    let opens = Cell::new(0);
    let items = all(exact(3).retry_stream(attempts(vec![vec![Fail("busy"), Item(9)]], &opens))).await;
    assert_eq!(items, [Err(E::Busy)]);
    assert_eq!(opens.get(), 3);
    assert_eq!(sleeps.take(), [S, S]);
}

#[tokio::test(start_paused = true)]
async fn after_the_first_item_errors_pass_through_and_nothing_is_made_again() {
    let opens = Cell::new(0);
    let items =
        all(exact(5)
            .retry_stream(attempts(vec![vec![Item(1), Fail("busy"), Item(2), Fail("denied"), Item(3)]], &opens)))
        .await;
    assert_eq!(items, [Ok(1), Err(E::Busy), Ok(2), Err(E::Denied), Ok(3)]);
    assert_eq!(opens.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_attempt_with_no_items_is_a_success_with_no_items() {
    let opens = Cell::new(0);
    let items = all(exact(5).retry_stream(attempts(vec![vec![]], &opens))).await;
    assert!(items.is_empty());
    assert_eq!(opens.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn first_item_timeout_drops_the_attempt_and_retries_it_whatever_when_says() {
    let opens = Cell::new(0);
    let start = Instant::now();
    let mut firsts = Vec::new();
    let stream = exact(5)
        .retry_stream(attempts(vec![vec![Hang], vec![Stall(3 * S), Item(1)], vec![Item(2), Item(3)]], &opens))
        .when(|_| false)
        .first_item_timeout(2 * S);
    let mut stream = pin!(stream);
    while let Some(item) = stream.next().await {
        firsts.push((item, start.elapsed()));
    }
    // Two attempts cut at 2 s, each followed by a 1 s sleep.
    assert_eq!(firsts, [(Ok(2), 6 * S), (Ok(3), 6 * S)]);
    assert_eq!(opens.get(), 3);
}

#[tokio::test(start_paused = true)]
async fn first_item_timeouts_to_exhaustion_yield_the_elapsed_error() {
    let opens = Cell::new(0);
    let start = Instant::now();
    let items = all(exact(2).retry_stream(attempts(vec![vec![Hang]], &opens)).first_item_timeout(2 * S)).await;
    assert_eq!(items, [Err(E::TimedOut)]);
    assert_eq!(opens.get(), 2);
    assert_eq!(start.elapsed(), 2 * S + S + 2 * S);
}

#[tokio::test(start_paused = true)]
async fn unless_elapsed_gives_up_at_the_first_timeout() {
    let opens = Cell::new(0);
    let items =
        all(exact(5).retry_stream(attempts(vec![vec![Hang]], &opens)).first_item_timeout(S).unless_elapsed()).await;
    assert_eq!(items, [Err(E::TimedOut)]);
    assert_eq!(opens.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_ends_a_stalled_stream_with_one_error() {
    let opens = Cell::new(0);
    let start = Instant::now();
    let stream =
        exact(5).retry_stream(attempts(vec![vec![Item(1), Stall(S), Item(2), Hang]], &opens)).idle_timeout(2 * S);
    let mut stream = pin!(stream);
    let mut seen = Vec::new();
    while let Some(item) = stream.next().await {
        seen.push((item, start.elapsed()));
    }
    // A 1 s gap is under the limit; the hang is cut 2 s after the last item.
    assert_eq!(seen, [(Ok(1), Duration::ZERO), (Ok(2), S), (Err(E::TimedOut), 3 * S)]);
    assert_eq!(opens.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_does_not_apply_before_the_first_item() {
    let opens = Cell::new(0);
    let items = all(exact(5).retry_stream(attempts(vec![vec![Stall(10 * S), Item(1)]], &opens)).idle_timeout(S)).await;
    assert_eq!(items, [Ok(1)]);
}

#[tokio::test(start_paused = true)]
async fn resume_continues_from_the_last_item_without_duplicates() {
    let sleeps = testing::record_sleeps();
    let opens = Cell::new(0);
    let resumed_after = RefCell::new(Vec::new());
    let items = all(exact(5)
        .retry_stream(attempts(vec![vec![Fail("busy")], vec![Item(1), Item(2), Fail("busy")]], &opens))
        .resume(|last: &u32| {
            resumed_after.borrow_mut().push(*last);
            let from = *last + 1;
            // The continuation stalls once, then fails again, then finishes.
            if resumed_after.borrow().len() == 1 {
                scripted(vec![Item(from), Hang])
            } else {
                scripted(vec![Item(from), Item(from + 1)])
            }
        })
        .idle_timeout(2 * S))
    .await;
    assert_eq!(items, [Ok(1), Ok(2), Ok(3), Ok(4), Ok(5)]);
    assert_eq!(opens.get(), 2);
    assert_eq!(*resumed_after.borrow(), [2, 3]);
    // One retry before the commit, two resumes: each after the policy's sleep.
    assert_eq!(sleeps.take(), [S, S, S]);
}

#[tokio::test(start_paused = true)]
async fn resumes_share_the_attempts_and_the_last_error_is_yielded() {
    let opens = Cell::new(0);
    let resumes = Cell::new(0);
    let items = all(exact(3)
        .retry_stream(attempts(vec![vec![Fail("busy")], vec![Item(1), Fail("busy")]], &opens))
        .resume(|last: &u32| {
            resumes.set(resumes.get() + 1);
            scripted(vec![Item(last + 1), Fail("busy")])
        }))
    .await;
    // Attempt 1 fails, attempt 2 commits and fails, attempt 3 is the one resume.
    assert_eq!(items, [Ok(1), Ok(2), Err(E::Busy)]);
    assert_eq!((opens.get(), resumes.get()), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_after_the_commit_ends_a_resumable_stream() {
    let resumes = Cell::new(0);
    let opens = Cell::new(0);
    let items = all(exact(5)
        .retry_stream(attempts(vec![vec![Item(1), Fail("denied"), Item(2)]], &opens))
        .when(|e| *e == E::Busy)
        .resume(|_: &u32| {
            resumes.set(resumes.get() + 1);
            scripted(vec![])
        }))
    .await;
    assert_eq!(items, [Ok(1), Err(E::Denied)]);
    assert_eq!(resumes.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_stops_resumes_but_never_cuts_a_flowing_stream() {
    let opens = Cell::new(0);
    let start = Instant::now();
    let items = all(exact(5)
        .deadline(5 * S)
        .retry_stream(attempts(vec![vec![Item(1), Stall(4 * S), Item(2), Stall(4 * S), Item(3), Fail("busy")]], &opens))
        .resume(|_: &u32| scripted(vec![Item(100)])))
    .await;
    // 8 s of items flow past the 5 s deadline; the resume's sleep would end past it.
    assert_eq!(items, [Ok(1), Ok(2), Ok(3), Err(E::Busy)]);
    assert_eq!(start.elapsed(), 8 * S);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_cuts_the_wait_for_the_first_item() {
    let opens = Cell::new(0);
    let start = Instant::now();
    let items =
        all(exact(5).deadline(3 * S).retry_stream(attempts(vec![vec![Hang]], &opens)).first_item_timeout(10 * S)).await;
    assert_eq!(items, [Err(E::TimedOut)]);
    assert_eq!(start.elapsed(), 3 * S);
    assert_eq!(opens.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_sets_the_exact_sleep_and_notify_sees_each_retry() {
    let sleeps = testing::record_sleeps();
    let opens = Cell::new(0);
    let notes = RefCell::new(Vec::new());
    let items = all(exact(5)
        .retry_stream(attempts(vec![vec![Fail("busy")], vec![Item(1), Fail("busy")], vec![Item(7)]], &opens))
        .retry_after(|_| Some(Duration::from_millis(500)))
        .notify(|a| notes.borrow_mut().push((a.attempt(), a.delay(), a.error().cloned())))
        .resume(|last: &u32| scripted(vec![Item(last + 1)])))
    .await;
    assert_eq!(items, [Ok(1), Ok(2)]);
    let d = Duration::from_millis(500);
    assert_eq!(sleeps.take(), [d, d]);
    assert_eq!(*notes.borrow(), [(1, d, Some(E::Busy)), (2, d, Some(E::Busy))]);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_ends_the_stream_with_its_refusal() {
    let breaker = Breaker::new(1, 10 * S);
    let opens = Cell::new(0);
    // One failure opens it; the retry is refused.
    let items = all(exact(5).retry_stream(attempts(vec![vec![Fail("busy")]], &opens)).breaker(&breaker)).await;
    assert_eq!(items, [Err(E::Busy)]);
    let items = all(exact(5).retry_stream(attempts(vec![vec![Item(1)]], &opens)).breaker(&breaker)).await;
    assert_eq!(items, [Err(E::Open)]);
    assert_eq!(opens.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_throttle_paces_every_attempt_and_resume() {
    let throttle = Throttle::per_second(1).burst(1);
    let opens = Cell::new(0);
    let start = Instant::now();
    let stream = Policy::fixed(Duration::from_millis(1))
        .jitter(Jitter::None)
        .attempts(5)
        .retry_stream(attempts(vec![vec![Fail("busy")], vec![Item(1), Fail("busy")]], &opens))
        .resume(|last: &u32| scripted(vec![Item(last + 1)]))
        .throttle(&throttle);
    let items = all(stream).await;
    assert_eq!(items, [Ok(1), Ok(2)]);
    // Three permits at one per second: the second and third wait.
    assert!(start.elapsed() >= 2 * S - Duration::from_millis(5), "{:?}", start.elapsed());
    assert!(start.elapsed() < 3 * S, "{:?}", start.elapsed());
}

/// A budget-slot guard that records what it hears.
#[derive(Default)]
struct Ledger {
    admitted: AtomicU32,
    successes: AtomicU32,
    failures: AtomicU32,
}

impl Guard for Ledger {
    type Refusal = std::convert::Infallible;
    type Ticket = ();

    fn admit(&self) -> Admit<(), Self::Refusal> {
        self.admitted.fetch_add(1, Ordering::Relaxed);
        Admit::Now(())
    }

    fn record(&self, _: (), verdict: Verdict) -> Record {
        if verdict.is_success() {
            self.successes.fetch_add(1, Ordering::Relaxed);
        }
        if verdict.is_failure() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        Record::Now(true)
    }
}

impl Fits<Budget> for Ledger {}

#[tokio::test(start_paused = true)]
async fn guards_hear_each_attempt_a_success_at_its_first_item() {
    let ledger = Ledger::default();
    let opens = Cell::new(0);
    let resumes = Cell::new(0);
    let items = all(exact(5)
        .retry_stream(attempts(vec![vec![Fail("busy")], vec![Item(1), Fail("busy")]], &opens))
        .resume(|last: &u32| {
            resumes.set(resumes.get() + 1);
            match resumes.get() {
                1 => scripted(vec![Fail("busy"), Item(last + 1)]),
                _ => scripted(vec![Item(last + 1)]),
            }
        })
        .budget(&ledger))
    .await;
    // Attempts: fail; commit then fail (a resume); a continuation failing at once (a
    // failure); a continuation that yields (a success).
    assert_eq!(items, [Ok(1), Ok(2)]);
    let count = |a: &AtomicU32| a.load(Ordering::Relaxed);
    assert_eq!((count(&ledger.admitted), count(&ledger.successes), count(&ledger.failures)), (4, 2, 2));
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_stops_retries_before_the_commit() {
    let budget = Budget::new(2, 0.1);
    let opens = Cell::new(0);
    let items = all(exact(5).retry_stream(attempts(vec![vec![Fail("busy")]], &opens)).budget(&budget)).await;
    assert_eq!(items, [Err(E::Busy)]);
    assert!(opens.get() < 5, "the budget let {} attempts through", opens.get());
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_drops_the_attempt() {
    struct Probe<'a>(&'a Cell<u32>);
    impl Drop for Probe<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let dropped = Cell::new(0);
    let stream = exact(5).retry_stream(|| {
        let probe = Probe(&dropped);
        stream::once(async move {
            let _probe = probe;
            std::future::pending::<Result<u32, E>>().await
        })
    });
    let mut stream = Box::pin(stream);
    assert!(tokio::time::timeout(S, stream.next()).await.is_err());
    assert_eq!(dropped.get(), 0);
    drop(stream);
    assert_eq!(dropped.get(), 1);
}

/// What one attempt of a property script does.
#[derive(Debug, Clone)]
enum Plan {
    /// Fails before any item (retryable or not), or stalls past the first-item limit.
    Before(Step),
    /// Yields these items, then fails (or stalls), or ends.
    Yields(u32, Option<Step>),
}

fn plan() -> impl Strategy<Value = Plan> {
    let failure = prop_oneof![Just(Fail("busy")), Just(Fail("denied")), Just(Hang)];
    prop_oneof![
        failure.clone().prop_map(Plan::Before),
        (1u32..4, proptest::option::of(failure)).prop_map(|(n, end)| Plan::Yields(n, end)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For any script, the output is each committed segment's items in order, numbered
    /// without a gap or a duplicate, then at most one error, which is the last item.
    #[test]
    fn output_is_the_committed_items_in_order_without_duplicates(plans in proptest::collection::vec(plan(), 1..8), attempts in 1u32..8) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let (items, made) = runtime.block_on(async {
            let plans = RefCell::new(plans.into_iter());
            let made = Cell::new(0u32);
            // Every segment numbers its items after the last one it resumes from.
            let segment = |from: u32| {
                made.set(made.get() + 1);
                let steps = match plans.borrow_mut().next() {
                    Some(Plan::Before(step)) => vec![step],
                    Some(Plan::Yields(n, end)) => (1..=n).map(|i| Item(from + i)).chain(end).collect(),
                    None => vec![Item(from + 1)],
                };
                scripted(steps)
            };
            let items = all(
                Policy::fixed(S)
                    .jitter(Jitter::None)
                    .attempts(attempts)
                    .retry_stream(|| segment(0))
                    .when(|e| *e == E::Busy)
                    .first_item_timeout(S)
                    .idle_timeout(S)
                    .resume(|last: &u32| segment(*last)),
            )
            .await;
            (items, made.get())
        });
        prop_assert!(made <= attempts, "{made} segments for {attempts} attempts");
        let (oks, errs): (Vec<_>, Vec<_>) = items.iter().partition(|i| i.is_ok());
        let numbers: Vec<u32> = oks.iter().map(|i| *i.as_ref().unwrap()).collect();
        prop_assert_eq!(numbers.clone(), (1..=numbers.len() as u32).collect::<Vec<_>>());
        prop_assert!(errs.len() <= 1);
        if !errs.is_empty() {
            prop_assert!(items.last().unwrap().is_err());
        }
    }
}

/// A client whose streaming method carries `#[retry]`: the body is the `make` closure.
struct Client {
    scripts: RefCell<Vec<Vec<Step>>>,
    opens: Cell<u32>,
    throttle: Throttle,
}

impl Client {
    fn open(&self) -> BoxStream<'static, Result<u32, E>> {
        self.opens.set(self.opens.get() + 1);
        let mut scripts = self.scripts.borrow_mut();
        let script = if scripts.len() > 1 { scripts.remove(0) } else { scripts[0].clone() };
        scripted(script)
    }

    #[steadfast::retry(
        attempts = 4,
        backoff = "fixed",
        min = "1s",
        jitter = "none",
        on = Busy,
        first_item_timeout = "2s",
        idle_timeout = "2s",
        throttle = self.throttle,
        resume = |last| scripted(vec![Item(last + 1), Item(last + 2)]),
    )]
    // The body runs for each attempt, so the stream borrows every argument it names.
    fn chat<'a>(&'a self, prompt: &'a str) -> impl Stream<Item = Result<u32, E>> + 'a {
        assert_eq!(prompt, "hi");
        self.open()
    }
}

#[derive(Debug)]
struct Busy;

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("busy")
    }
}

impl std::error::Error for Busy {}

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for E {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        static BUSY: Busy = Busy;
        matches!(self, E::Busy).then_some(&BUSY as _)
    }
}

#[tokio::test(start_paused = true)]
async fn the_attribute_retries_a_stream_fn_and_resumes_it() {
    let sleeps = testing::record_sleeps();
    let client = Client {
        scripts: RefCell::new(vec![vec![Fail("busy")], vec![Hang], vec![Item(1), Stall(3 * S)]]),
        opens: Cell::new(0),
        throttle: Throttle::per_second(100),
    };
    let items = all(client.chat("hi")).await;
    // A busy first item and a first-item timeout are retried; the stall after the commit
    // is resumed from item 1.
    assert_eq!(items, [Ok(1), Ok(2), Ok(3)]);
    assert_eq!(client.opens.get(), 3);
    assert_eq!(sleeps.take(), [S, S, S]);
}

#[tokio::test(start_paused = true)]
async fn the_attribute_does_not_retry_errors_on_does_not_name() {
    let client = Client {
        scripts: RefCell::new(vec![vec![Fail("denied")]]),
        opens: Cell::new(0),
        throttle: Throttle::per_second(100),
    };
    assert_eq!(all(client.chat("hi")).await, [Err(E::Denied)]);
    assert_eq!(client.opens.get(), 1);
}

/// Owned arguments are cloned for each attempt, as in an `async fn`.
#[steadfast::retry(policy = POLICY_FOR_STREAMS)]
fn numbers(prefix: String, fail_first: &Cell<bool>) -> impl Stream<Item = Result<String, E>> + '_ {
    let fail = fail_first.replace(false);
    let items = if fail { vec![Err(E::Busy)] } else { vec![Ok(prefix.clone() + "1"), Ok(prefix + "2")] };
    stream::iter(items)
}

static POLICY_FOR_STREAMS: Policy = Policy::new().attempts(3).backoff(steadfast::Backoff::None);

#[tokio::test(start_paused = true)]
async fn the_attribute_clones_owned_arguments_and_takes_a_run_time_policy() {
    let fail_first = Cell::new(true);
    let items = all(numbers("n".to_string(), &fail_first)).await;
    assert_eq!(items, [Ok("n1".to_string()), Ok("n2".to_string())]);
}

/// A resumable stream whose closures borrow the task's locals can be spawned: its type is
/// `Send` without rustc having to prove the resume closure's higher-ranked bound (it could
/// not, and `tokio::spawn` of such a task failed to compile with "one type is more
/// general than the other").
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_resumable_stream_in_a_spawned_task() {
    let task = tokio::spawn(async move {
        let base = 10u32;
        let opens = AtomicU32::new(0);
        let stream = Policy::new()
            .attempts(3)
            .backoff(steadfast::Backoff::None)
            .retry_stream(|| {
                opens.fetch_add(1, Ordering::Relaxed);
                stream::iter([Ok(base), Err(E::Busy)]).boxed()
            })
            .resume(|last: &u32| stream::iter([Ok(last + base)]).boxed());
        let items: Vec<_> = stream.collect().await;
        (items, opens.load(Ordering::Relaxed))
    });
    assert_eq!(task.await.unwrap(), (vec![Ok(10), Ok(20)], 1));
}
