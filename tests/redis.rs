//! The distributed guards against a real `redis-server`, started by each test on a free
//! loopback port and killed when the test ends.
//!
//! Redis keeps its own clock, so these tests run in real time, each for a few hundred
//! milliseconds (the fleet test for three seconds). They are `#[ignore]`d, so that a
//! machine without `redis-server` reports them as ignored rather than passed: run them
//! with `cargo test --all-features --test redis -- --ignored` (CI does); asked for, a test
//! fails if it cannot start a server. `REDIS_SERVER` names another binary.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use steadfast::distributed::{Budget, FailMode, Redis, Throttle, Unavailable};
use steadfast::retry;

#[path = "common/capture.rs"]
mod capture;

// ---------------------------------------------------------------------------------------
// A redis-server of the test's own

/// A `redis-server` child process on a loopback port; killed on drop.
struct Server {
    port: u16,
    child: Option<Child>,
}

impl Server {
    /// A new server; a test that asked for one fails without it.
    fn start() -> Server {
        let mut last = None;
        // A free port may be taken between our probe and the server's bind: try a few.
        for _ in 0..3 {
            let port = free_port();
            match spawn(port) {
                Ok(child) => return Server { port, child: Some(child) },
                Err(e) => last = Some(e),
            }
        }
        let e = last.expect("three attempts");
        panic!("cannot start redis-server ({e}); install it (`apt-get install -y redis-server`) or name one in REDIS_SERVER");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn redis(&self) -> Redis {
        Redis::open(&self.url()).expect("a valid url")
    }

    /// Kills the server at once (SIGKILL: no goodbye to its clients).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a new server on the same port.
    fn restart(&mut self) {
        self.kill();
        self.child = Some(spawn(self.port).expect("redis-server restarts on its port"));
    }

    /// One command over a fresh connection, with the reply in a short form: a status or bulk
    /// string as is, an integer as digits, a nil as `nil`, an error as its message.
    fn cmd(&self, args: &[&str]) -> String {
        command(self.port, args).expect("the test's redis-server answers")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// Starts `redis-server` on `port` and waits (at most 3s) until it answers `PING`.
fn spawn(port: u16) -> io::Result<Child> {
    let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
    let mut child = Command::new(binary)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!("redis-server exited: {status}")));
        }
        if command(port, &["PING"]).is_ok_and(|reply| reply == "PONG") {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(io::Error::other("redis-server did not answer within 3s"))
}

/// A RESP client just big enough for the tests' look at the keys.
fn command(port: u16, args: &[&str]) -> io::Result<String> {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    (&stream).write_all(request.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line.trim_end();
    let (kind, rest) = line.split_at(line.len().min(1));
    Ok(match kind {
        "$" if rest == "-1" => "nil".to_owned(),
        "$" => {
            let len: usize = rest.parse().map_err(io::Error::other)?;
            let mut bulk = vec![0; len + 2];
            reader.read_exact(&mut bulk)?;
            String::from_utf8_lossy(&bulk[..len]).into_owned()
        }
        _ => rest.to_owned(),
    })
}

fn between(elapsed: Duration, low_ms: u64, high_ms: u64) -> bool {
    Duration::from_millis(low_ms) <= elapsed && elapsed <= Duration::from_millis(high_ms)
}

// ---------------------------------------------------------------------------------------
// Throttle

#[tokio::test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
async fn throttle_lets_a_burst_through_then_spaces_permits() {
    let server = Server::start();
    let redis = server.redis();
    let throttle = Throttle::per_second(&redis, "burst", 10).burst(3).fail_mode(FailMode::Closed);
    assert_eq!(throttle.key(), "steadfast:burst:throttle");

    // Three at once, then none until a period (100ms) has passed since the first.
    let start = Instant::now();
    for n in 1..=3 {
        assert!(throttle.try_acquire().await.unwrap(), "permit {n} of the burst");
    }
    assert!(!throttle.try_acquire().await.unwrap(), "a fourth permit at once");
    // The key holds the schedule, three periods ahead, and expires when it passes.
    let ttl: u64 = server.cmd(&["PTTL", throttle.key()]).parse().unwrap();
    assert!((150..=300).contains(&ttl), "PTTL {ttl}ms");

    throttle.acquire().await.unwrap();
    let waited = start.elapsed();
    assert!(between(waited, 90, 250), "the fourth permit came after {waited:?}");

    // Then one every 100ms.
    let start = Instant::now();
    for _ in 0..3 {
        throttle.acquire().await.unwrap();
    }
    let spaced = start.elapsed();
    assert!(between(spaced, 280, 450), "three permits took {spaced:?}");
}

#[tokio::test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
async fn throttle_key_is_shared_by_name_and_expires_when_idle() {
    let server = Server::start();
    // Two handles with their own connections, as two processes would have.
    let (a, b) = (server.redis(), server.redis().prefix("steadfast"));
    let first = Throttle::per_second(&a, "shared", 20).burst(2);
    let second = Throttle::per_second(&b, "shared", 20).burst(2);
    let other = Throttle::per_second(&a, "other", 20);
    let elsewhere = Throttle::per_second(&a.clone().prefix("staging"), "shared", 20);
    assert_eq!(elsewhere.key(), "staging:shared:throttle");

    assert!(first.try_acquire().await.unwrap());
    assert!(second.try_acquire().await.unwrap());
    assert!(!first.try_acquire().await.unwrap(), "the burst of 2 is shared");
    assert!(!second.try_acquire().await.unwrap());
    assert!(other.try_acquire().await.unwrap(), "another name has its own schedule");
    assert!(elsewhere.try_acquire().await.unwrap(), "another prefix has its own schedule");

    // Idle for longer than the schedule runs ahead: nothing is left behind.
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(server.cmd(&["EXISTS", first.key()]), "0");
    assert_eq!(server.cmd(&["EXISTS", other.key()]), "0");
}

#[tokio::test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
async fn throttle_survives_a_garbled_key_and_reports_a_wrong_typed_one() {
    let server = Server::start();
    let redis = server.redis();
    let closed = Throttle::per_second(&redis, "garbled", 10).fail_mode(FailMode::Closed);
    // A value that is no number is read as no schedule at all.
    assert_eq!(server.cmd(&["SET", closed.key(), "not a number"]), "OK");
    assert!(closed.try_acquire().await.unwrap());
    assert!(!closed.try_acquire().await.unwrap());

    // A key of another type makes the script fail: closed refuses, open uses its local
    // limit; the server is not marked down for the other keys.
    let wrong = Throttle::per_second(&redis, "wrong", 10).fail_mode(FailMode::Closed);
    assert_eq!(server.cmd(&["LPUSH", wrong.key(), "x"]), "1");
    let error = wrong.try_acquire().await.unwrap_err();
    assert!(!error.is_timeout());
    assert_eq!(error.key(), "steadfast:wrong:throttle");
    assert!(error.to_string().starts_with("redis failed for `steadfast:wrong:throttle`"), "{error}");
    assert!(std::error::Error::source(&error).is_some());
    let open = Throttle::per_second(&redis, "wrong", 10);
    assert!(open.try_acquire().await.unwrap(), "the local throttle's first permit");
    assert!(!open.try_acquire().await.unwrap(), "the local throttle's limit");
    redis.ping().await.expect("other keys still reach the server");
}

#[derive(Debug)]
enum ApiError {
    Flaky,
    Unavailable(Unavailable),
}

impl ApiError {
    fn is_flaky(&self) -> bool {
        matches!(self, ApiError::Flaky)
    }
}

impl From<Unavailable> for ApiError {
    fn from(e: Unavailable) -> Self {
        ApiError::Unavailable(e)
    }
}

/// Fails twice, then answers the number of calls; each attempt waits for a permit first.
#[retry(attempts = 3, backoff = "none", when = ApiError::is_flaky)]
async fn flaky(throttle: &Throttle, calls: &AtomicU32) -> Result<u32, ApiError> {
    throttle.acquire().await?;
    let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
    if n % 3 == 0 {
        Ok(n)
    } else {
        Err(ApiError::Flaky)
    }
}

#[tokio::test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
async fn each_attempt_of_a_retried_fn_waits_for_a_permit() {
    let mut server = Server::start();
    let redis = server.redis();
    let throttle = Throttle::per_second(&redis, "retried", 20).fail_mode(FailMode::Closed);
    let calls = AtomicU32::new(0);

    // Permits at 0, 50 and 100ms: the retries wait for theirs too.
    let start = Instant::now();
    assert_eq!(flaky(&throttle, &calls).await.unwrap(), 3);
    assert!(between(start.elapsed(), 95, 250), "three attempts took {:?}", start.elapsed());

    // Without the server, the first attempt ends with the caller's error; no retry, no body.
    server.kill();
    let start = Instant::now();
    match flaky(&throttle, &calls).await {
        Err(ApiError::Unavailable(e)) => assert_eq!(e.key(), "steadfast:retried:throttle"),
        other => panic!("expected the throttle's error, got {other:?}"),
    }
    assert!(start.elapsed() <= Duration::from_millis(150), "{:?}", start.elapsed());
    assert_eq!(calls.load(Ordering::Relaxed), 3);
}

/// The server of the test below, for the guards in `static`s that the attribute names.
static KEYED: OnceLock<Redis> = OnceLock::new();
static FLEET_LIMIT: LazyLock<Throttle> = LazyLock::new(|| {
    Throttle::per_second(KEYED.get().expect("set by the test"), "keyed", 20).fail_mode(FailMode::Closed)
});
static FLEET_BUDGET: LazyLock<Budget> =
    LazyLock::new(|| Budget::new(KEYED.get().expect("set by the test"), "keyed", 4, 0.1));

/// The same guards through the attribute's keys: every attempt waits for a fleet permit and
/// reports to the fleet's budget.
#[retry(attempts = 5, backoff = "none", when = ApiError::is_flaky, throttle = FLEET_LIMIT, budget = FLEET_BUDGET)]
async fn keyed(calls: &AtomicU32) -> Result<u32, ApiError> {
    calls.fetch_add(1, Ordering::Relaxed);
    Err(ApiError::Flaky)
}

#[tokio::test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
async fn the_throttle_and_budget_keys_take_the_distributed_guards() {
    let mut server = Server::start();
    KEYED.set(server.redis()).expect("only this test sets it");
    let calls = AtomicU32::new(0);

    // The budget (4 tokens) allows one retry: 4 -> 3 leaves more than half, 3 -> 2 does not.
    // The two attempts are a throttle period (50ms) apart.
    let start = Instant::now();
    assert!(matches!(keyed(&calls).await, Err(ApiError::Flaky)));
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    assert!(between(start.elapsed(), 45, 250), "two attempts took {:?}", start.elapsed());
    assert_eq!(FLEET_BUDGET.tokens().await.unwrap(), 2.0);

    // Without the server the throttle (failing closed) refuses the first permit: the call
    // ends with the caller's error made from `Unavailable`, and the body never runs.
    server.kill();
    match keyed(&calls).await {
        Err(ApiError::Unavailable(e)) => assert_eq!(e.key(), "steadfast:keyed:throttle"),
        other => panic!("expected the throttle's error, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

// ---------------------------------------------------------------------------------------
// Budget

#[tokio::test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
async fn budget_starts_full_drains_on_failures_and_refills_on_successes() {
    let server = Server::start();
    let redis = server.redis();
    let budget = Budget::new(&redis, "a6", 10, 0.1).fail_mode(FailMode::Closed);
    assert_eq!(budget.key(), "steadfast:a6:budget");
    assert_eq!(budget.tokens().await.unwrap(), 10.0);
    assert_eq!(server.cmd(&["EXISTS", budget.key()]), "0", "a full bucket is no key");
    assert!(budget.allows_retry().await);

    // 10 -> 9, 8, 7, 6 allow a retry; 5 is not more than half.
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(budget.record_failure().await);
    }
    assert_eq!(answers, [true, true, true, true, false]);
    assert_eq!(budget.tokens().await.unwrap(), 5.0);
    assert_eq!(server.cmd(&["GET", budget.key()]), "5000", "thousandths of a token");
    assert!(!budget.allows_retry().await);

    // Another process sees the same bucket; ten successes of 0.1 give back exactly one token.
    let other = Budget::new(&server.redis(), "a6", 10, 0.1);
    for _ in 0..10 {
        other.record_success().await;
    }
    assert_eq!(budget.tokens().await.unwrap(), 6.0);
    assert!(budget.allows_retry().await);

    // Full again: the key is gone; more successes change nothing.
    for _ in 0..45 {
        budget.record_success().await;
    }
    assert_eq!(budget.tokens().await.unwrap(), 10.0);
    assert_eq!(server.cmd(&["EXISTS", budget.key()]), "0");

    // It never goes below zero, and a smaller configuration caps what is stored.
    for _ in 0..12 {
        budget.record_failure().await;
    }
    assert_eq!(budget.tokens().await.unwrap(), 0.0);
    assert_eq!(server.cmd(&["SET", budget.key(), "9000"]), "OK");
    let smaller = Budget::new(&redis, "a6", 4, 0.1);
    assert_eq!(smaller.tokens().await.unwrap(), 4.0);
}

#[tokio::test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
async fn budget_answers_as_the_in_process_budget() {
    let server = Server::start();
    let redis = server.redis();
    for (max, ratio) in [(10, 0.1), (3, 0.25), (1, 1.0), (0, 0.5), (7, 0.333)] {
        let shared = Budget::new(&redis, &format!("same-{max}-{ratio}"), max, ratio).fail_mode(FailMode::Closed);
        let local = steadfast::Budget::new(max, ratio);
        // A fixed pseudo-random mix of successes and failures (xorshift), 60 steps.
        let mut x: u32 = 0x9e37_79b9 ^ max;
        for step in 0..60 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if x % 3 == 0 {
                shared.record_success().await;
                local.record_success();
            } else {
                assert_eq!(shared.record_failure().await, local.record_failure(), "step {step} of ({max}, {ratio})");
            }
            assert_eq!(shared.tokens().await.unwrap(), local.tokens(), "step {step} of ({max}, {ratio})");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Many processes

/// Set in the environment of the fleet test's workers: the server's url.
const WORKER_URL: &str = "STEADFAST_FLEET_URL";
/// The workers' common start, in milliseconds since the epoch.
const WORKER_START: &str = "STEADFAST_FLEET_START_MS";
const FLEET_RATE: u32 = 20;
const FLEET_BURST: u32 = 5;
const FLEET_SECS: u64 = 3;

/// Not a test of its own: a worker of `four_processes_share_one_throttle`, which runs this
/// test binary again with `WORKER_URL` set. Without it, it does nothing.
#[test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
fn fleet_worker() {
    let (Ok(url), Ok(start)) = (std::env::var(WORKER_URL), std::env::var(WORKER_START)) else {
        return;
    };
    let start = UNIX_EPOCH + Duration::from_millis(start.parse().expect("a start time"));
    let end = start + Duration::from_secs(FLEET_SECS);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let permits = runtime.block_on(async {
        let redis = Redis::open(&url).unwrap().timeout(Duration::from_secs(1));
        let throttle = Throttle::per_second(&redis, "fleet", FLEET_RATE).burst(FLEET_BURST).fail_mode(FailMode::Closed);
        redis.ping().await.expect("the fleet's server");
        if let Ok(wait) = start.duration_since(SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
        // When each permit came, in milliseconds after the common start.
        let mut permits = Vec::new();
        // Bounded by the window: each wait ends at its end at the latest.
        while let Ok(left) = end.duration_since(SystemTime::now()) {
            match tokio::time::timeout(left, throttle.acquire()).await {
                Ok(permit) => {
                    permit.expect("redis stays up");
                    permits.push(SystemTime::now().duration_since(start).unwrap_or_default().as_millis());
                }
                Err(_) => break,
            }
        }
        permits
    });
    let at: Vec<String> = permits.iter().map(u128::to_string).collect();
    println!("fleet-worker permits={} at={}", permits.len(), at.join(","));
}

#[test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
fn four_processes_share_one_throttle() {
    let server = Server::start();
    // Far enough ahead for four processes to start and connect.
    let start = SystemTime::now() + Duration::from_millis(500);
    let start_ms = start.duration_since(UNIX_EPOCH).unwrap().as_millis().to_string();
    let exe = std::env::current_exe().expect("the test binary");
    let workers: Vec<Child> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "fleet_worker", "--include-ignored", "--nocapture", "--test-threads=1"])
                .env(WORKER_URL, server.url())
                .env(WORKER_START, &start_ms)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("a worker process")
        })
        .collect();

    let mut counts = Vec::new();
    let mut times = Vec::new();
    for mut worker in workers {
        // The window is 3.5s from now; a worker that outlives 10s is killed.
        let deadline = Instant::now() + Duration::from_secs(10);
        while worker.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if worker.try_wait().unwrap().is_none() {
            let _ = worker.kill();
        }
        let output = worker.wait_with_output().unwrap();
        assert!(output.status.success(), "a worker failed: {:?}", output.status);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|line| line.split_once("fleet-worker permits=").map(|(_, rest)| rest))
            .unwrap_or_else(|| panic!("no count in the worker's output:\n{stdout}"));
        let (count, at) = line.split_once(" at=").expect("permit times");
        counts.push(count.parse::<u64>().unwrap());
        times.extend(at.split(',').filter(|t| !t.is_empty()).map(|t| t.parse::<u64>().unwrap()));
    }
    times.sort_unstable();

    // GCRA over a window of t seconds from an idle key lets through at most the burst plus
    // rate * t (one more for a permit on each edge of the window): 5 + 60 + 1 = 66.
    let total: u64 = counts.iter().sum();
    let most = u64::from(FLEET_BURST) + u64::from(FLEET_RATE) * FLEET_SECS + 1;
    // At least the burst and 90% of the rate's 60: each permit comes a little after it is
    // due (a round trip, a wake-up), and with the burst spent that lateness is lost.
    let least = u64::from(FLEET_BURST) + u64::from(FLEET_RATE) * FLEET_SECS * 9 / 10;
    assert!((least..=most).contains(&total), "{counts:?}: {total} permits in {FLEET_SECS}s, expected {least}..={most}");
    // A throttle ignoring the burst (one permit at a time) would still make 61, inside the
    // range; the burst shows at the start instead: the first five permits come at once,
    // where one at a time the fifth is due 4 * 50ms = 200ms after the first, which came
    // at or after the start. 150ms leaves room for a slow wake-up of the four processes.
    let fifth = times[FLEET_BURST as usize - 1];
    assert!(fifth < 150, "the burst of {FLEET_BURST} is let through at once: permits at {times:?} ms");
    // No queue: once a permit is due, the first process to ask gets it, so a process that
    // the scheduler runs late (two cores, four workers, other tests) gets fewer. Each
    // gets some.
    assert!(counts.iter().all(|&n| n >= 1), "every process makes progress: {counts:?}");
    eprintln!("permits per process: {counts:?}, {total} in all (at most {most}); the fifth at {fifth} ms");
}

// ---------------------------------------------------------------------------------------
// Redis going away

#[tokio::test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
async fn fail_open_falls_back_to_the_local_rate_and_recovers() {
    let mut server = Server::start();
    let log = capture::start();
    let redis = server.redis().timeout(Duration::from_millis(100)).recheck(Duration::from_millis(200));
    // Shared: 10 a second. Local stand-in: 50 a second.
    let throttle = Throttle::per_second(&redis, "outage", 10).local(steadfast::Throttle::per_second(50));
    let budget = Budget::new(&redis, "outage", 10, 0.1);
    throttle.acquire().await.unwrap();
    assert!(budget.record_failure().await);
    assert_eq!(server.cmd(&["GET", budget.key()]), "9000");

    server.kill();
    // Five permits at the local rate: 4 * 20ms, where Redis's rate would take 400ms.
    let start = Instant::now();
    for _ in 0..5 {
        throttle.acquire().await.unwrap();
    }
    let flowed = start.elapsed();
    assert!(between(flowed, 70, 250), "five permits took {flowed:?} without Redis");
    // The budget goes on with its local bucket, which has heard of the failure above.
    assert!(budget.record_failure().await, "local 10 -> 9 -> 8");
    assert!(budget.tokens().await.is_err(), "the shared bucket is out of reach");
    let text = log.text();
    assert!(text.contains("WARN steadfast::distributed: redis unavailable: throttling with the local limit"), "{text}");
    assert!(text.contains("key=steadfast:outage:throttle"), "{text}");
    // One warning for the call that found the server gone, not one per permit.
    assert_eq!(text.matches("throttling with the local limit").count(), 1, "{text}");

    server.restart();
    let back = Instant::now();
    while redis.ping().await.is_err() {
        assert!(back.elapsed() < Duration::from_secs(2), "redis back within 2s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The throttle is on the shared schedule again: its key is back in the new server.
    throttle.acquire().await.unwrap();
    assert_ne!(server.cmd(&["PTTL", throttle.key()]), "-2");
    assert!(budget.record_failure().await);
    assert_eq!(server.cmd(&["GET", budget.key()]), "9000", "a fresh, full bucket lost one token");
    assert!(log.text().contains("INFO steadfast::distributed: redis is reachable again"), "{}", log.text());
}

#[tokio::test]
#[ignore = "starts a redis-server: cargo test --test redis -- --ignored (CI does)"]
async fn fail_closed_refuses_promptly_and_recovers() {
    let mut server = Server::start();
    let redis = server.redis().timeout(Duration::from_millis(100)).recheck(Duration::from_millis(200));
    let throttle = Throttle::per_second(&redis, "closed", 1000).fail_mode(FailMode::Closed);
    let budget = Budget::new(&redis, "closed", 10, 0.1).fail_mode(FailMode::Closed);
    throttle.acquire().await.unwrap();
    assert!(budget.record_failure().await);

    server.kill();
    let start = Instant::now();
    let error = throttle.acquire().await.unwrap_err();
    assert!(start.elapsed() <= Duration::from_millis(150), "refused after {:?}", start.elapsed());
    assert_eq!(error.key(), "steadfast:closed:throttle");
    // While the server is left alone, refusals take no round-trip at all.
    let start = Instant::now();
    let skipped = throttle.acquire().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_millis(20), "{:?}", start.elapsed());
    assert_eq!(skipped.to_string(), "redis is down; `steadfast:closed:throttle` was not tried");
    assert!(!budget.record_failure().await, "no retries without the shared budget");
    assert!(!budget.allows_retry().await);

    server.restart();
    let back = Instant::now();
    loop {
        match throttle.acquire().await {
            Ok(()) => break,
            Err(_) => assert!(back.elapsed() < Duration::from_secs(2), "redis back within 2s"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(back.elapsed() <= Duration::from_millis(600), "recovered after {:?}", back.elapsed());
    assert!(budget.record_failure().await, "a fresh bucket: 10 -> 9");
}

/// A server that accepts connections and never answers: each call ends at its time limit.
#[tokio::test]
async fn a_server_that_never_answers_costs_one_timeout_per_recheck() {
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let url = format!("redis://127.0.0.1:{}/", silent.local_addr().unwrap().port());
    let redis = Redis::open(&url).unwrap().timeout(Duration::from_millis(100)).recheck(Duration::from_millis(300));
    let closed = Throttle::per_second(&redis, "silent", 10).fail_mode(FailMode::Closed);
    let open = Throttle::per_second(&redis, "silent", 10).local(steadfast::Throttle::per_second(1000));

    let start = Instant::now();
    let error = closed.acquire().await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert!(between(start.elapsed(), 95, 200), "timed out after {:?}", start.elapsed());
    assert_eq!(error.to_string(), "redis did not answer for `steadfast:silent:throttle` within 100ms");

    // Within the recheck interval nobody waits for the server again.
    let start = Instant::now();
    assert!(closed.acquire().await.is_err());
    for _ in 0..10 {
        open.acquire().await.unwrap();
    }
    assert!(start.elapsed() < Duration::from_millis(60), "{:?}", start.elapsed());

    // After it, one call tries again and pays the timeout again; the others, meanwhile, do
    // not wait for it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    let probe = async {
        assert!(closed.acquire().await.unwrap_err().is_timeout());
        start.elapsed()
    };
    let others = async {
        tokio::task::yield_now().await;
        let skipped = closed.acquire().await.unwrap_err();
        assert!(!skipped.is_timeout(), "{skipped}");
        open.acquire().await.unwrap();
        start.elapsed()
    };
    let (probed, passed) = tokio::join!(probe, others);
    assert!(between(probed, 95, 200), "the probe took {probed:?}");
    assert!(passed < Duration::from_millis(50), "the others took {passed:?}");
    drop(silent);
}

#[test]
fn guards_are_send_and_sync_and_their_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Redis>();
    send_sync::<Throttle>();
    send_sync::<Budget>();
    let redis = Redis::open("redis://127.0.0.1:1/").unwrap();
    let throttle = Throttle::per_second(&redis, "send", 1);
    let budget = Budget::new(&redis, "send", 1, 0.1);
    send(&throttle.acquire());
    send(&throttle.try_acquire());
    send(&budget.record_failure());
    send(&budget.record_success());
    send(&redis.ping());
    assert!(format!("{redis:?}").contains("127.0.0.1"));
}
