//! [`Budget`]: gRPC's retry throttling (proposal A6) shared by a fleet, on one Redis key.

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, LazyLock};

use redis::Script;

use super::{FailMode, Redis, Unavailable, TARGET};
use crate::guard::{Admit, Fits, Guard, Record, Verdict};

static A6: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("budget.lua")));

/// Thousandths of a token, as the in-process budget and gRPC's `token_ratio` keep them.
const SCALE: u64 = 1000;

/// A retry budget shared by every process that names the same key: retries stop across the
/// fleet while too many attempts fail anywhere in it.
///
/// The semantics are those of the in-process [`crate::Budget`] (gRPC's retry throttling,
/// proposal A6): the bucket starts full at `max_tokens`; each failed attempt worth retrying
/// takes one token, each success gives back `ratio`; after a failure has taken its token a
/// retry may start only while more than `max_tokens / 2` are left. The tokens are one key,
/// `{prefix}:{name}:budget`, in thousandths of a token (no key is a full bucket), changed by
/// one Lua script per call. Every process should give the same `max_tokens` and `ratio`.
///
/// Without Redis ([`FailMode::Open`], the default) the budget answers as an in-process
/// budget with the same settings, which records this process's attempts all along; with
/// [`FailMode::Closed`] it refuses every retry (first attempts are never refused).
///
/// ```no_run
/// use steadfast::distributed::{Budget, Redis};
///
/// # async fn upload(_: u32) -> Result<(), std::io::Error> { Ok(()) }
/// async fn upload_with_retries(retries: &Budget, chunk: u32) -> Result<(), std::io::Error> {
///     loop {
///         match upload(chunk).await {
///             Ok(()) => {
///                 retries.record_success().await;
///                 return Ok(());
///             }
///             Err(e) if !retries.record_failure().await => return Err(e),
///             Err(_) => continue, // back off here
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let redis = Redis::open("redis://127.0.0.1:6379/").expect("a valid url");
/// let retries = Budget::new(&redis, "uploads", 10, 0.1);
/// upload_with_retries(&retries, 1).await.unwrap();
/// # }
/// ```
///
/// Clones share the bucket (it is in Redis) and the local stand-in.
#[derive(Clone)]
pub struct Budget {
    redis: Redis,
    key: Arc<str>,
    /// Thousandths of a token.
    max: u64,
    /// Thousandths of a token.
    ratio: u64,
    mode: FailMode,
    /// The stand-in while Redis is down ([`FailMode::Open`]); told of every attempt.
    local: Arc<crate::Budget>,
}

impl Budget {
    /// A full bucket of `max_tokens` for every process that uses `name`; each success gives
    /// back `ratio` tokens, rounded to three decimals (a negative or NaN ratio is 0). With
    /// `max_tokens = 0` no retry ever starts.
    pub fn new(redis: &Redis, name: &str, max_tokens: u32, ratio: f64) -> Self {
        Budget {
            redis: redis.clone(),
            key: redis.key(name, "budget").into(),
            max: u64::from(max_tokens) * SCALE,
            // Rounded as the in-process budget rounds it; `as` saturates NaN and negatives to 0.
            ratio: (ratio * SCALE as f64 + 0.5) as u64,
            mode: FailMode::Open,
            local: Arc::new(crate::Budget::new(max_tokens, ratio)),
        }
    }

    /// What to do while Redis is unreachable ([`FailMode::Open`] by default).
    pub fn fail_mode(mut self, mode: FailMode) -> Self {
        self.mode = mode;
        self
    }

    /// The Redis key that holds the tokens.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// A success: gives back `ratio`, up to `max_tokens`. Without Redis the success is lost
    /// to the fleet (a bucket a little emptier than it should be) and logged.
    pub async fn record_success(&self) {
        self.local.record_success();
        if let Err(e) = self.run("success").await {
            self.warn(&e);
        }
    }

    /// A failed attempt worth retrying: takes a token, then says whether a retry may start
    /// (more than `max_tokens / 2` left).
    pub async fn record_failure(&self) -> bool {
        let local = self.local.record_failure();
        match self.run("failure").await {
            Ok(tokens) => self.allows(tokens),
            Err(e) => self.fall_back(&e, local),
        }
    }

    /// Whether a retry could start now, without taking a token.
    pub async fn allows_retry(&self) -> bool {
        match self.run("peek").await {
            Ok(tokens) => self.allows(tokens),
            Err(e) => self.fall_back(&e, self.local.allows_retry()),
        }
    }

    /// The tokens left in the shared bucket, to three decimals, whatever the [`FailMode`].
    pub async fn tokens(&self) -> Result<f64, Unavailable> {
        let tokens = self.run("peek").await?;
        Ok(tokens as f64 / SCALE as f64)
    }

    /// Runs the script's `op`; the tokens after it, in thousandths.
    async fn run(&self, op: &str) -> Result<u64, Unavailable> {
        let mut a6 = A6.prepare_invoke();
        a6.key(&*self.key).arg(op).arg(self.max).arg(SCALE).arg(self.ratio);
        self.redis.eval(&self.key, &a6).await
    }

    fn allows(&self, tokens: u64) -> bool {
        // tokens > max / 2, without losing the half.
        tokens.saturating_mul(2) > self.max
    }

    /// Without Redis: the local budget's answer (`Open`), or no retry (`Closed`).
    fn fall_back(&self, e: &Unavailable, local: bool) -> bool {
        self.warn(e);
        match self.mode {
            FailMode::Open => local,
            FailMode::Closed => false,
        }
    }

    fn warn(&self, e: &Unavailable) {
        // One event per failed call to the server, not one per attempt while it is left alone.
        if !e.is_skipped() {
            let fallback = match self.mode {
                FailMode::Open => "budgeting with the local bucket",
                FailMode::Closed => "no retries until it is back",
            };
            tracing::warn!(target: TARGET, key = %self.key, error = %e, "redis unavailable: {fallback}");
        }
    }
}

/// The `budget` key and [`Retry::budget`](crate::builder::Retry::budget) take it: every
/// attempt's verdict is a round-trip to Redis.
impl Guard for Budget {
    type Refusal = Infallible;
    type Ticket = ();

    fn admit(&self) -> Admit<(), Infallible> {
        Admit::Now(())
    }

    fn record(&self, _: (), verdict: Verdict) -> Record {
        if !verdict.is_failure() && !verdict.is_success() {
            return Record::Now(true);
        }
        let budget = self.clone();
        Record::Pending(Box::pin(async move {
            if verdict.is_failure() {
                budget.record_failure().await
            } else {
                budget.record_success().await;
                true
            }
        }))
    }
}

impl Fits<crate::Budget> for Budget {}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("key", &self.key)
            .field("max_tokens", &(self.max / SCALE))
            .field("ratio", &(self.ratio as f64 / SCALE as f64))
            .field("fail_mode", &self.mode)
            .field("local", &self.local)
            .finish()
    }
}
