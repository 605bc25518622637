//! [`Breaker`]: a circuit breaker shared by every call site that names it.
//!
//! The whole state is one word, so that every transition is one compare-and-swap and the
//! closed path is one load:
//!
//! ```text
//! bits 34..64  generation: bumped by every change of phase, so that a permit taken in an
//!              earlier phase can neither count nor give a slot back in a later one
//! bits 32..34  phase: closed, open, half-open, or opening (open, its reopen time not yet
//!              written)
//! bits  0..32  count: consecutive failures when closed, probes in flight when half-open
//! ```
//!
//! The time at which an open breaker lets probes through lives in a second atomic. Only
//! the thread whose compare-and-swap moved the breaker to "opening" writes it, and it
//! publishes "open" after, so whoever sees "open" sees its reopen time.

use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::time::Duration;

use super::sync::{const_fn, AtomicU64, Ordering};
use super::{Admit, Fits, Guard, Immediate, Record, Verdict};
use crate::error::Open;
use crate::observe;
use crate::timer::{Clock, DefaultClock, Instant};

/// Where a [`Breaker`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through; failures are counted.
    Closed,
    /// Calls fail at once with [`Open`] until the cooldown has passed.
    Open,
    /// The cooldown has passed: up to `probes` calls go through to test the service.
    HalfOpen,
}

/// A circuit breaker shared by every call site that names it.
///
/// Closed, it lets every call through and counts consecutive failures; after `failures`
/// of them it opens, and every call fails at once with [`Open`] (the body does not run).
/// After `cooldown` it is half-open: up to [`probes`](Self::probes) calls go through; the
/// first probe to succeed closes it, a probe that fails opens it for another cooldown.
///
/// A failure is an attempt that the call's classification retries (`on`, `unless`, `when`,
/// `if_ok`, timeouts), whether or not an attempt remains; a success is an `Ok` that is not
/// retried. An error that is not retried (say, a 401) is neither: it neither counts
/// towards opening nor resets the count, since it says nothing about the service's health.
///
/// Admission on the closed path is one atomic load; time is tokio's clock.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, Breaker, BreakerState, Open};
///
/// static PAYMENTS: Breaker = Breaker::new(3, Duration::from_secs(30));
///
/// #[derive(Debug, PartialEq)]
/// enum Error {
///     Unavailable,
///     Open,
/// }
///
/// impl From<Open> for Error {
///     fn from(_: Open) -> Self {
///         Error::Open
///     }
/// }
///
/// #[retry(attempts = 1, breaker = PAYMENTS)]
/// async fn charge() -> Result<(), Error> {
///     Err(Error::Unavailable)
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// for _ in 0..3 {
///     assert_eq!(charge().await, Err(Error::Unavailable));
/// }
/// assert_eq!(PAYMENTS.state(), BreakerState::Open);
/// assert_eq!(charge().await, Err(Error::Open)); // the body did not run
///
/// tokio::time::advance(Duration::from_secs(30)).await;
/// assert_eq!(PAYMENTS.state(), BreakerState::HalfOpen);
/// # }
/// ```
///
/// On its own, around any fallible work: take a permit, then report how the work went.
/// A permit dropped without a verdict (a cancelled call) counts as neither and gives its
/// probe slot back.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Breaker, Open};
///
/// static FEED: Breaker = Breaker::new(5, Duration::from_secs(10)).probes(2).named("feed");
///
/// # async fn next_batch() -> Result<Vec<u8>, std::io::Error> { Ok(vec![1]) }
/// async fn poll_feed() -> Result<Option<Vec<u8>>, Open> {
///     let permit = FEED.try_acquire()?;
///     match next_batch().await {
///         Ok(batch) => {
///             permit.success();
///             Ok(Some(batch))
///         }
///         Err(_) => {
///             permit.failure();
///             Ok(None)
///         }
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() { assert!(poll_feed().await.unwrap().is_some()); }
/// ```
pub struct Breaker<C = DefaultClock> {
    state: AtomicU64,
    /// When an open breaker lets probes through: nanoseconds on the clock `C`.
    reopen_at: AtomicU64,
    failures: u32,
    probes: u32,
    cooldown: Duration,
    name: &'static str,
    /// A dropped attempt that ran this long counts as a failure.
    hung_after: Option<Duration>,
    clock: PhantomData<fn() -> C>,
}

const CLOSED: u64 = 0;
const OPEN: u64 = 1;
const HALF_OPEN: u64 = 2;
const OPENING: u64 = 3;

const PHASE_SHIFT: u32 = 32;
const GENERATION_SHIFT: u32 = 34;
const COUNT_MASK: u64 = 0xFFFF_FFFF;

const fn phase(word: u64) -> u64 {
    (word >> PHASE_SHIFT) & 0b11
}

const fn count(word: u64) -> u32 {
    (word & COUNT_MASK) as u32
}

const fn generation(word: u64) -> u64 {
    word >> GENERATION_SHIFT
}

/// `word` with a new count.
const fn with_count(word: u64, count: u32) -> u64 {
    (word & !COUNT_MASK) | count as u64
}

/// The first word of the next phase (the generation wraps after 2^30 changes).
const fn next(word: u64, phase: u64, count: u32) -> u64 {
    (generation(word).wrapping_add(1) << GENERATION_SHIFT) | (phase << PHASE_SHIFT) | count as u64
}

impl Breaker {
    const_fn! {
        /// Opens after `failures` consecutive failures (`0` is taken as 1) and lets one
        /// probe through once `cooldown` has passed.
        pub fn new(failures: u32, cooldown: Duration) -> Self {
            Breaker {
                state: AtomicU64::new(CLOSED << PHASE_SHIFT),
                reopen_at: AtomicU64::new(0),
                failures: if failures == 0 { 1 } else { failures },
                probes: 1,
                cooldown,
                name: "",
                hung_after: None,
                clock: PhantomData,
            }
        }
    }
}

impl<C: Clock> Breaker<C> {
    const_fn! {
        /// The same breaker, timing its cooldown on the clock `C` instead of the
        /// [`DefaultClock`].
        pub fn clock<D: Clock>(self) -> Breaker<D> {
            Breaker {
                state: self.state,
                reopen_at: self.reopen_at,
                failures: self.failures,
                probes: self.probes,
                cooldown: self.cooldown,
                name: self.name,
                hung_after: self.hung_after,
                clock: PhantomData,
            }
        }
    }

    const_fn! {
        /// How many calls a half-open breaker lets through at once (1 by default, `0` is
        /// taken as 1). The first to succeed closes it; the first to fail re-opens it.
        pub fn probes(mut self, n: u32) -> Self {
            self.probes = if n == 0 { 1 } else { n };
            self
        }
    }

    const_fn! {
        /// Counts an attempt that is dropped after running at least `limit` as a failure, so
        /// that a hung service trips the breaker even when every caller gives up first (an
        /// outer timeout, a `select!`, a client going away). Without it a dropped attempt
        /// counts as neither, since callers also drop calls for reasons of their own.
        pub fn hung_after(mut self, limit: Duration) -> Self {
            self.hung_after = Some(limit);
            self
        }
    }

    const_fn! {
        /// A name for the `breaker` field of its tracing events.
        pub fn named(mut self, name: &'static str) -> Self {
            self.name = name;
            self
        }
    }

    /// Where the breaker stands now. An open breaker whose cooldown has passed is
    /// reported half-open: the next call would be a probe.
    pub fn state(&self) -> BreakerState {
        let word = self.state.load(Ordering::Acquire);
        match phase(word) {
            CLOSED => BreakerState::Closed,
            HALF_OPEN => BreakerState::HalfOpen,
            OPEN if C::now().as_nanos() >= self.reopen_at.load(Ordering::Acquire) => BreakerState::HalfOpen,
            _ => BreakerState::Open,
        }
    }

    /// How long until the breaker lets a probe through: `None` unless it is open, zero
    /// once the cooldown has passed (the next call is a probe) or while probes are out.
    pub fn reopens_in(&self) -> Option<Duration> {
        let word = self.state.load(Ordering::Acquire);
        match phase(word) {
            CLOSED => None,
            HALF_OPEN => Some(Duration::ZERO),
            OPEN => {
                let at = self.reopen_at.load(Ordering::Acquire);
                Some(Duration::from_nanos(at.saturating_sub(C::now().as_nanos())))
            }
            // Opening: the reopen time is being written by the thread that opened it.
            _ => Some(self.cooldown),
        }
    }

    /// Closes the breaker and forgets every failure: for tests that share one, and for an
    /// operator who knows the service is back. Permits taken before the reset change
    /// nothing after it.
    pub fn reset(&self) {
        let mut word = self.state.load(Ordering::Acquire);
        loop {
            // "Opening" finishes in a moment; the reset waits for it rather than racing
            // the opener's write of the reopen time.
            if phase(word) == OPENING {
                std::hint::spin_loop();
                word = self.state.load(Ordering::Acquire);
                continue;
            }
            let wanted = next(word, CLOSED, 0);
            match self.state.compare_exchange_weak(word, wanted, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if phase(word) != CLOSED {
                        observe::breaker_changed(self.name, "closed");
                    }
                    return;
                }
                Err(actual) => word = actual,
            }
        }
    }

    /// Lets a call through, or fails at once with [`Open`].
    ///
    /// Report the call's outcome on the permit; dropping it counts as neither.
    #[inline]
    pub fn try_acquire(&self) -> Result<BreakerPermit<'_, C>, Open> {
        let word = self.state.load(Ordering::Acquire);
        if phase(word) == CLOSED {
            return Ok(BreakerPermit { breaker: self, word });
        }
        self.acquire_slow(word)
    }

    /// The phase and the count, for the loom models.
    #[cfg(all(test, loom))]
    pub(super) fn raw(&self) -> (BreakerState, u32) {
        let word = self.state.load(Ordering::Acquire);
        let phase = match phase(word) {
            CLOSED => BreakerState::Closed,
            HALF_OPEN => BreakerState::HalfOpen,
            _ => BreakerState::Open,
        };
        (phase, count(word))
    }

    /// Ends the cooldown now, for the loom models (which cannot wait).
    #[cfg(all(test, loom))]
    pub(super) fn reopen_now(&self) {
        self.reopen_at.store(0, Ordering::Release);
    }

    /// Whether the breaker turns calls away at once (no clock read: an open breaker
    /// whose cooldown has passed still counts).
    pub(crate) fn is_open(&self) -> bool {
        matches!(phase(self.state.load(Ordering::Acquire)), OPEN | OPENING)
    }

    #[cold]
    fn acquire_slow(&self, mut word: u64) -> Result<BreakerPermit<'_, C>, Open> {
        loop {
            let wanted = match phase(word) {
                CLOSED => return Ok(BreakerPermit { breaker: self, word }),
                OPEN if C::now().as_nanos() >= self.reopen_at.load(Ordering::Acquire) => next(word, HALF_OPEN, 1),
                HALF_OPEN if count(word) < self.probes => with_count(word, count(word) + 1),
                _ => return Err(Open::new(self.name, self.reopens_in().unwrap_or_default())),
            };
            match self.state.compare_exchange_weak(word, wanted, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if phase(word) == OPEN {
                        observe::breaker_changed(self.name, "half_open");
                        tracing::info!(
                            target: "steadfast::breaker",
                            breaker = self.name,
                            probes = self.probes,
                            "circuit breaker half-open: letting probes through"
                        );
                    }
                    return Ok(BreakerPermit { breaker: self, word: wanted });
                }
                Err(actual) => word = actual,
            }
        }
    }

    /// One load when closed with nothing counted, the common case.
    #[inline]
    fn succeeded(&self, admitted: u64) {
        let word = self.state.load(Ordering::Acquire);
        if word != admitted || count(word) != 0 || phase(word) != CLOSED {
            self.succeeded_slow(admitted, word);
        }
    }

    #[cold]
    fn succeeded_slow(&self, admitted: u64, mut word: u64) {
        loop {
            if generation(word) != generation(admitted) {
                return;
            }
            let wanted = match phase(word) {
                CLOSED if count(word) == 0 => return,
                CLOSED => with_count(word, 0),
                HALF_OPEN => next(word, CLOSED, 0),
                _ => return,
            };
            match self.state.compare_exchange_weak(word, wanted, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if phase(word) == HALF_OPEN {
                        observe::breaker_changed(self.name, "closed");
                        tracing::info!(
                            target: "steadfast::breaker",
                            breaker = self.name,
                            "circuit breaker closed: a probe succeeded"
                        );
                    }
                    return;
                }
                Err(actual) => word = actual,
            }
        }
    }

    fn failed(&self, admitted: u64) {
        let mut word = self.state.load(Ordering::Acquire);
        loop {
            if generation(word) != generation(admitted) {
                return;
            }
            let wanted = match phase(word) {
                CLOSED if count(word).saturating_add(1) < self.failures => with_count(word, count(word) + 1),
                CLOSED | HALF_OPEN => next(word, OPENING, 0),
                _ => return,
            };
            match self.state.compare_exchange_weak(word, wanted, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) if phase(wanted) == OPENING => return self.open(wanted, phase(word) == HALF_OPEN),
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// Finishes opening: only the thread that moved the breaker to "opening" gets here,
    /// and no other transition starts from "opening", so plain stores suffice.
    fn open(&self, opening: u64, probe_failed: bool) {
        self.reopen_at.store(C::now().saturating_add(self.cooldown).as_nanos(), Ordering::Release);
        self.state.store((opening & !(0b11 << PHASE_SHIFT)) | (OPEN << PHASE_SHIFT), Ordering::Release);
        observe::breaker_changed(self.name, "open");
        let cooldown_ms = u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX);
        if probe_failed {
            tracing::warn!(
                target: "steadfast::breaker",
                breaker = self.name,
                cooldown_ms,
                "circuit breaker re-opened: a probe failed"
            );
        } else {
            tracing::warn!(
                target: "steadfast::breaker",
                breaker = self.name,
                failures = self.failures,
                cooldown_ms,
                "circuit breaker opened"
            );
        }
    }

    /// A probe ended without a verdict: its slot is free again.
    fn released(&self, admitted: u64) {
        let mut word = self.state.load(Ordering::Acquire);
        while generation(word) == generation(admitted) && phase(word) == HALF_OPEN {
            let wanted = with_count(word, count(word).saturating_sub(1));
            match self.state.compare_exchange_weak(word, wanted, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
    }
}

impl<C: Clock> fmt::Debug for Breaker<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .field("failures", &self.failures)
            .field("cooldown", &self.cooldown)
            .field("probes", &self.probes)
            .finish()
    }
}

/// A call let through by a [`Breaker`]: report how it went with [`success`](Self::success)
/// or [`failure`](Self::failure). Dropped without a verdict, it counts as neither, and a
/// probe's slot is given back, so a cancelled probe never leaves the breaker stuck
/// half-open.
#[must_use = "report the call's outcome with `success()` or `failure()`"]
pub struct BreakerPermit<'a, C: Clock = DefaultClock> {
    breaker: &'a Breaker<C>,
    /// The state word when the call was let through.
    word: u64,
}

impl<C: Clock> BreakerPermit<'_, C> {
    /// The call succeeded: the failure count restarts; a probe closes the breaker.
    #[inline]
    pub fn success(self) {
        let this = ManuallyDrop::new(self);
        this.breaker.succeeded(this.word);
    }

    /// The call failed in a way worth retrying: it counts towards opening; a probe
    /// re-opens the breaker.
    pub fn failure(self) {
        let this = ManuallyDrop::new(self);
        this.breaker.failed(this.word);
    }

    /// Whether this call is one of a half-open breaker's probes.
    #[inline]
    pub fn is_probe(&self) -> bool {
        phase(self.word) == HALF_OPEN
    }
}

impl<C: Clock> Drop for BreakerPermit<'_, C> {
    #[inline]
    fn drop(&mut self) {
        if self.is_probe() {
            self.breaker.released(self.word);
        }
    }
}

impl<C: Clock> fmt::Debug for BreakerPermit<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerPermit").field("probe", &self.is_probe()).finish_non_exhaustive()
    }
}

/// What a breaker remembers of an attempt it let through.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    /// The state word the attempt was let through under.
    word: u64,
    /// When, if [`Breaker::hung_after`] needs to know.
    since: Option<Instant>,
}

impl<C: Clock> Guard for Breaker<C> {
    type Refusal = Open;
    type Ticket = Ticket;

    #[inline]
    fn admit(&self) -> Admit<Ticket, Open> {
        match self.try_acquire() {
            Ok(permit) => {
                let since = self.hung_after.map(|_| C::now());
                Admit::Now(Ticket { word: ManuallyDrop::new(permit).word, since })
            }
            Err(open) => Admit::Refused(open),
        }
    }

    /// A failure that the server paced (it sent a hint) does not count: the service is up.
    /// A timeout counts whether or not it is retried. Once open, no retry starts.
    #[inline]
    fn record(&self, ticket: Ticket, verdict: Verdict) -> Record {
        let permit = BreakerPermit { breaker: self, word: ticket.word };
        if verdict.is_success() {
            permit.success();
        } else if verdict.timed_out() || (verdict.is_failure() && !verdict.paced()) {
            permit.failure();
        } else {
            drop(permit);
        }
        Record::Now(!self.is_open())
    }

    /// An attempt dropped after running [`hung_after`](Breaker::hung_after) counts as a
    /// failure; any other gives its probe slot back.
    fn abandon(&self, ticket: Ticket, running: bool) {
        let permit = BreakerPermit { breaker: self, word: ticket.word };
        let hung = match (self.hung_after, ticket.since) {
            (Some(limit), Some(since)) => running && C::now().saturating_duration_since(since) >= limit,
            _ => false,
        };
        if hung {
            permit.failure();
        }
    }
}

impl<C: Clock> Fits<Breaker> for Breaker<C> {}
impl<C: Clock> Immediate for Breaker<C> {}
