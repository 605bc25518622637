//! The delay before each retry: pure functions of the policy, the retry number and a draw.
//!
//! Everything is computed in whole nanoseconds held in a `u64` (584 years), with saturating
//! arithmetic, so no configuration and no retry number can overflow or panic.

use std::time::Duration;

use crate::observe::Reason;
use crate::policy::{Backoff, HintAboveMax, Jitter, Policy};
use crate::rng;

/// Nanoseconds, saturated at `u64::MAX`.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The bounds and inputs of one policy, resolved once per delay.
struct Bounds {
    min: u64,
    max: u64,
    base: u64,
}

impl Bounds {
    fn of(policy: &Policy) -> Self {
        let max = nanos(policy.get_max());
        Bounds { min: nanos(policy.get_min()).min(max), max, base: nanos(policy.get_base()) }
    }
}

fn shape(policy: &Policy, b: &Bounds, n: u32) -> u64 {
    let k = u64::from(n.max(1) - 1);
    let raw = match policy.backoff {
        Backoff::None => return 0,
        Backoff::Fixed => b.base,
        Backoff::Linear => b.base.saturating_add(nanos(policy.get_step()).saturating_mul(k)),
        Backoff::Fibonacci => b.base.saturating_mul(fibonacci(n)),
        Backoff::Exponential => {
            // f64 is exact for the powers of two users write; huge `n` gives infinity, which
            // saturates at `max` instead of overflowing.
            let x = b.base as f64 * policy.get_factor().powf(k as f64);
            if x.is_finite() && x < b.max as f64 {
                x.round() as u64
            } else {
                b.max
            }
        }
    };
    raw.clamp(b.min, b.max)
}

/// F(n) with F(1) = F(2) = 1, saturating at `u64::MAX` (reached at n = 94).
fn fibonacci(n: u32) -> u64 {
    let (mut a, mut b) = (1u64, 1u64);
    for _ in 1..n.min(100) {
        (a, b) = (b, a.saturating_add(b));
    }
    a
}

/// The delay before retry `n` (1-based) after `previous` (the last delay, or zero), jittered
/// with `draw(lo, hi)`, a uniform draw in `lo..=hi`.
///
/// For every policy and every `n` the result lies in `[min, max]` (zero for [`Backoff::None`]).
pub(crate) fn delay(policy: &Policy, n: u32, previous: Duration, draw: &mut impl FnMut(u64, u64) -> u64) -> Duration {
    let b = Bounds::of(policy);
    let d = shape(policy, &b, n);
    if policy.backoff == Backoff::None {
        return Duration::ZERO;
    }
    let mut uniform = |lo: u64, hi: u64| if lo >= hi { lo } else { draw(lo, hi).clamp(lo, hi) };
    let jittered = match policy.jitter {
        Jitter::None => d,
        // The window is clamped, not the draw, so there is no spike at `max`.
        Jitter::Full => uniform(b.min, d.saturating_mul(2).min(b.max)),
        Jitter::Equal => (d / 2 + uniform(0, d - d / 2)).max(b.min),
        Jitter::Decorrelated => {
            let previous = if previous.is_zero() { b.base } else { nanos(previous) };
            uniform(b.base, previous.saturating_mul(3).max(b.base)).min(b.max).max(b.min)
        }
    };
    Duration::from_nanos(jittered)
}

/// The delays a policy sleeps, in order: one per retry, `attempts - 1` in all.
///
/// Returned by [`Policy::delays`]; it draws from the same source as `#[retry]` (see
/// [`testing::seed`](crate::testing::seed)).
#[derive(Debug, Clone)]
pub struct Delays {
    policy: Policy,
    schedule: Schedule,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.schedule.next(&self.policy)
    }
}

impl Policy {
    /// The sleeps this policy would take if every attempt failed.
    pub fn delays(&self) -> Delays {
        Delays { policy: *self, schedule: Schedule::new() }
    }

    /// The delay before retry `n` (1-based) after `previous`, drawn from `rng`; for
    /// simulations that need their own random stream.
    pub fn delay_with<R: rand::Rng + ?Sized>(&self, n: u32, previous: Duration, rng: &mut R) -> Duration {
        delay(self, n, previous, &mut |lo, hi| rng.random_range(lo..=hi))
    }

    /// The delay before retry `n` (1-based) after `previous` (the last delay, or zero),
    /// jittered by `draw(lo, hi)`, which must return a value in `lo..=hi` (one outside is
    /// clamped). For every policy and every `n` it lies in `[min, max]`.
    pub fn delay_by(&self, n: u32, previous: Duration, mut draw: impl FnMut(u64, u64) -> u64) -> Duration {
        delay(self, n, previous, &mut draw)
    }

    /// The un-jittered delay `d(n)` before retry `n` (1-based), clamped to `[min, max]`.
    pub fn unjittered(&self, n: u32) -> Duration {
        Duration::from_nanos(shape(self, &Bounds::of(self), n))
    }
}

/// Where a call is in its policy: retries taken and the last delay.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Schedule {
    retries: u32,
    previous: Duration,
}

impl Schedule {
    /// A call that has made its first attempt.
    pub(crate) const fn new() -> Self {
        Schedule { retries: 0, previous: Duration::ZERO }
    }

    /// Attempts made so far (1 before the first retry).
    pub(crate) const fn attempt(&self) -> u32 {
        self.retries.saturating_add(1)
    }

    /// The last delay taken (zero before the first retry).
    pub(crate) const fn previous(&self) -> Duration {
        self.previous
    }

    /// The delay before the next attempt, or `None` when the policy has no attempt left.
    pub(crate) fn next(&mut self, policy: &Policy) -> Option<Duration> {
        self.advance(policy, None, None).ok()
    }

    /// The delay before the next attempt given a server's `hint` and the time since the
    /// first call, or why the retries end.
    ///
    /// A hint is used as is (never jittered, never adding attempts); one above `max` ends
    /// the retries, or is cut to `max` or ignored, as [`HintAboveMax`] says. With a `deadline`, a sleep that would end at or past it does not start
    /// (tenacity's `stop_before_delay`); `elapsed` is only read when a deadline is set.
    pub(crate) fn advance(
        &mut self,
        policy: &Policy,
        hint: Option<Duration>,
        elapsed: Option<Duration>,
    ) -> Result<Duration, Reason> {
        if self.attempt() >= policy.attempts {
            return Err(Reason::Exhausted);
        }
        let hint = match hint {
            Some(hint) if hint > policy.max => match policy.hint_above_max {
                HintAboveMax::GiveUp => return Err(Reason::HintTooLong),
                HintAboveMax::Clamp => Some(policy.max),
                HintAboveMax::Ignore => None,
            },
            hint => hint,
        };
        let delay = match hint {
            Some(hint) => hint,
            None => delay(policy, self.retries + 1, self.previous, &mut rng::draw),
        };
        if let (Some(deadline), Some(elapsed)) = (policy.deadline, elapsed) {
            if elapsed.saturating_add(delay) >= deadline {
                return Err(Reason::Deadline);
            }
        }
        self.retries += 1;
        self.previous = delay;
        Ok(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn plain(policy: Policy) -> Vec<Duration> {
        policy.jitter(Jitter::None).attempts(11).delays().collect()
    }

    fn secs(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&s| S * s as u32).collect()
    }

    #[test]
    fn exponential_matches_design_example() {
        let p = Policy::exponential(2 * S, 60 * S);
        assert_eq!(plain(p), secs(&[2, 4, 8, 16, 32, 60, 60, 60, 60, 60]));
    }

    #[test]
    fn tenacity_wait_exponential_parity() {
        // wait_exponential(multiplier=1, min=2, max=60) = base 1s, min 2s, max 60s
        let p = Policy::new().base(S).min(2 * S).max(60 * S);
        assert_eq!(plain(p), secs(&[2, 2, 4, 8, 16, 32, 60, 60, 60, 60]));
    }

    #[test]
    fn shapes() {
        assert_eq!(plain(Policy::fixed(3 * S)), secs(&[3; 10]));
        assert_eq!(plain(Policy::linear(S, 2 * S, 10 * S)), secs(&[1, 3, 5, 7, 9, 10, 10, 10, 10, 10]));
        assert_eq!(plain(Policy::fibonacci(S, 20 * S)), secs(&[1, 1, 2, 3, 5, 8, 13, 20, 20, 20]));
        assert_eq!(plain(Policy::immediate()), vec![Duration::ZERO; 10]);
        assert_eq!(
            plain(Policy::exponential(S, 100 * S).factor(3.0)),
            secs(&[1, 3, 9, 27, 81, 100, 100, 100, 100, 100])
        );
    }

    #[test]
    fn defaults() {
        let p = Policy::new();
        assert_eq!(p.get_min(), Duration::from_millis(500));
        assert_eq!(p.get_base(), Duration::from_millis(500));
        assert_eq!(p.get_max(), 30 * S);
        // the default min is lowered to a smaller max
        assert_eq!(Policy::new().max(Duration::from_millis(100)).get_min(), Duration::from_millis(100));
        // with only base given, the floor is zero
        assert_eq!(Policy::new().base(S).get_min(), Duration::ZERO);
        assert_eq!(Policy::new().base(S).get_step(), S);
    }

    #[test]
    fn full_jitter_window_is_clamped_not_the_draw() {
        let p = Policy::exponential(2 * S, 60 * S);
        let (mut lo, mut hi) = (Vec::new(), Vec::new());
        for n in 1..=8 {
            lo.push(delay(&p, n, Duration::ZERO, &mut |lo, _| lo));
            hi.push(delay(&p, n, Duration::ZERO, &mut |_, hi| hi));
        }
        assert_eq!(lo, secs(&[2; 8]));
        assert_eq!(hi, secs(&[4, 8, 16, 32, 60, 60, 60, 60]));
    }

    #[test]
    fn equal_jitter_first_retry_is_min() {
        let p = Policy::exponential(2 * S, 60 * S).jitter(Jitter::Equal);
        assert_eq!(delay(&p, 1, Duration::ZERO, &mut |_, hi| hi), 2 * S);
        assert_eq!(delay(&p, 1, Duration::ZERO, &mut |lo, _| lo), 2 * S);
        assert_eq!(delay(&p, 3, Duration::ZERO, &mut |lo, _| lo), 4 * S);
        assert_eq!(delay(&p, 3, Duration::ZERO, &mut |_, hi| hi), 8 * S);
    }

    #[test]
    fn decorrelated_grows_from_previous() {
        let p = Policy::new().base(S).max(10 * S).jitter(Jitter::Decorrelated);
        assert_eq!(delay(&p, 1, Duration::ZERO, &mut |_, hi| hi), 3 * S);
        assert_eq!(delay(&p, 2, 3 * S, &mut |_, hi| hi), 9 * S);
        assert_eq!(delay(&p, 3, 9 * S, &mut |_, hi| hi), 10 * S);
        assert_eq!(delay(&p, 3, 9 * S, &mut |lo, _| lo), S);
    }

    #[test]
    fn attempts_bound_the_delays() {
        assert_eq!(Policy::new().attempts(1).delays().count(), 0);
        assert_eq!(Policy::new().attempts(0).delays().count(), 0);
        assert_eq!(Policy::new().attempts(5).delays().count(), 4);
    }

    #[test]
    fn huge_retry_numbers_saturate() {
        let p = |backoff| Policy::new().backoff(backoff).min(S).max(Duration::MAX).jitter(Jitter::None);
        for backoff in [Backoff::Exponential, Backoff::Fibonacci] {
            assert_eq!(p(backoff).unjittered(u32::MAX), Duration::from_nanos(u64::MAX));
        }
        // 1s + (2^32 - 2) * 1s still fits in u64 nanoseconds; a larger step saturates
        assert_eq!(p(Backoff::Linear).unjittered(u32::MAX), S * u32::MAX);
        let big_step = p(Backoff::Linear).step(Duration::from_secs(1 << 40));
        assert_eq!(big_step.unjittered(u32::MAX), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn a_hint_above_max_gives_up_is_clamped_or_ignored() {
        let p = Policy::fixed(3 * S).max(10 * S).jitter(Jitter::None).attempts(5);
        let next = |p: Policy, hint| Schedule::new().advance(&p, Some(hint), None);
        // At or below max the hint is taken as is, whatever the choice.
        for choice in [HintAboveMax::GiveUp, HintAboveMax::Clamp, HintAboveMax::Ignore] {
            assert_eq!(next(p.hint_above_max(choice), 10 * S), Ok(10 * S), "{choice:?}");
        }
        assert_eq!(next(p, 11 * S), Err(Reason::HintTooLong), "the default gives up");
        assert_eq!(next(p.hint_above_max(HintAboveMax::Clamp), 11 * S), Ok(10 * S));
        assert_eq!(next(p.hint_above_max(HintAboveMax::Ignore), 11 * S), Ok(3 * S), "the policy's own delay");
        // A clamped hint still respects the deadline.
        let deadline = p.hint_above_max(HintAboveMax::Clamp).deadline(12 * S);
        assert_eq!(Schedule::new().advance(&deadline, Some(60 * S), Some(2 * S)), Err(Reason::Deadline));
    }
}
