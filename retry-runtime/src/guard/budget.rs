//! [`Budget`]: gRPC's retry throttling (proposal A6), shared by every call site that names
//! it.

use std::convert::Infallible;
use std::fmt;

use super::sync::{const_fn, AtomicU64, Ordering};
use super::{Admit, Fits, Guard, Immediate, Record, Verdict};

/// Tokens are kept in thousandths, as gRPC keeps `token_ratio` to three decimals.
const SCALE: u64 = 1000;

/// A retry budget: retries stop while too many attempts fail, so that an outage cannot
/// multiply the load by the attempt count.
///
/// The bucket starts full, at `max_tokens`. Each failed attempt that the call's
/// classification retries takes one token (whether or not an attempt remains); each
/// success gives back `ratio` of a token, never above `max_tokens`. After a failure has
/// taken its token, a retry may start only while more than `max_tokens / 2` are left.
/// First attempts are never refused. This is gRPC's retry throttling (proposal A6); its
/// usual settings are `Budget::new(10, 0.1)`.
///
/// In a total outage every attempt fails: the first calls retry until half the bucket is
/// spent, then every call makes its first attempt only, so N calls make about
/// `N + max_tokens / 2` attempts whatever `attempts` says.
///
/// ```
/// use steadfast::{retry, Budget};
///
/// static RETRIES: Budget = Budget::new(10, 0.1);
///
/// #[retry(attempts = 5, backoff = "none", budget = RETRIES)]
/// async fn call() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// for _ in 0..100 {
///     assert!(call().await.is_err());
/// }
/// // 5 attempts for the first call (10 -> 5 tokens), then 1 for each of the other 99.
/// assert_eq!(RETRIES.tokens(), 0.0);
/// # }
/// ```
///
/// On its own, e.g. in a hand-written loop over a stream of work:
///
/// ```
/// use steadfast::Budget;
///
/// static RETRIES: Budget = Budget::new(10, 0.1);
///
/// # async fn upload(_: u32) -> Result<(), std::io::Error> { Ok(()) }
/// async fn upload_with_retries(chunk: u32) -> Result<(), std::io::Error> {
///     loop {
///         match upload(chunk).await {
///             Ok(()) => {
///                 RETRIES.record_success();
///                 return Ok(());
///             }
///             Err(e) if !RETRIES.record_failure() => return Err(e),
///             Err(_) => continue, // back off here
///         }
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() { upload_with_retries(1).await.unwrap(); }
/// ```
pub struct Budget {
    /// Thousandths of a token.
    tokens: AtomicU64,
    max: u64,
    ratio: u64,
}

impl Budget {
    const_fn! {
        /// A full bucket of `max_tokens`; each success gives back `ratio` tokens, rounded
        /// to three decimals (a negative or NaN ratio is 0: nothing is ever given back).
        /// With `max_tokens = 0` no retry ever starts.
        pub fn new(max_tokens: u32, ratio: f64) -> Self {
            let max = max_tokens as u64 * SCALE;
            // `as` saturates: NaN and negatives give 0, huge ratios refill at once.
            let ratio = (ratio * SCALE as f64 + 0.5) as u64;
            Budget { tokens: AtomicU64::new(max), max, ratio }
        }
    }

    /// A success: gives back `ratio`, up to `max_tokens`. One load when the bucket is full.
    #[inline]
    pub fn record_success(&self) {
        let mut tokens = self.tokens.load(Ordering::Relaxed);
        while tokens < self.max {
            let wanted = tokens.saturating_add(self.ratio).min(self.max);
            match self.tokens.compare_exchange_weak(tokens, wanted, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => tokens = actual,
            }
        }
    }

    /// A failed attempt worth retrying: takes a token, then says whether a retry may start
    /// (more than `max_tokens / 2` left).
    pub fn record_failure(&self) -> bool {
        let mut tokens = self.tokens.load(Ordering::Relaxed);
        loop {
            let wanted = tokens.saturating_sub(SCALE);
            match self.tokens.compare_exchange_weak(tokens, wanted, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return self.allows(wanted),
                Err(actual) => tokens = actual,
            }
        }
    }

    /// A hedge about to be sent: takes a token if one is left above half, as a retry's
    /// failure would, and says whether the hedge may go; a refused hedge takes nothing.
    pub fn record_hedge(&self) -> bool {
        let mut tokens = self.tokens.load(Ordering::Relaxed);
        loop {
            let wanted = tokens.saturating_sub(SCALE);
            if !self.allows(wanted) {
                return false;
            }
            match self.tokens.compare_exchange_weak(tokens, wanted, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => tokens = actual,
            }
        }
    }

    /// Whether a retry could start now, without taking a token.
    pub fn allows_retry(&self) -> bool {
        self.allows(self.tokens.load(Ordering::Relaxed))
    }

    /// The tokens left, to three decimals.
    pub fn tokens(&self) -> f64 {
        self.tokens.load(Ordering::Relaxed) as f64 / SCALE as f64
    }

    const fn allows(&self, tokens: u64) -> bool {
        // tokens > max / 2, without losing the half.
        tokens.saturating_mul(2) > self.max
    }
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("tokens", &self.tokens())
            .field("max_tokens", &(self.max / SCALE))
            .field("ratio", &(self.ratio as f64 / SCALE as f64))
            .finish()
    }
}

impl Guard for Budget {
    type Refusal = Infallible;
    type Ticket = ();

    /// A budget never turns a first attempt away; it refuses retries in [`record`](Self::record).
    #[inline]
    fn admit(&self) -> Admit<(), Infallible> {
        Admit::Now(())
    }

    #[inline]
    fn record(&self, _: (), verdict: Verdict) -> Record {
        Record::Now(if verdict.is_failure() {
            self.record_failure()
        } else {
            if verdict.is_success() {
                self.record_success();
            }
            true
        })
    }

    #[inline]
    fn hedge(&self) -> bool {
        self.record_hedge()
    }
}

impl Fits<Budget> for Budget {}
impl Immediate for Budget {}
