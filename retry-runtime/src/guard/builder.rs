//! The guards of a [`Retry`](crate::Retry) built at run time: the same steps as the code
//! `#[retry]` generates, as a state machine.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::{Breaker, BreakerPermit, Budget, Throttle, Verdict};
use crate::clock::{self, Sleep};
use crate::error::Open;

/// The guards a `Retry` names; `E` is the caller's error, for [`Open`].
pub(crate) struct Guards<E> {
    pub(crate) throttle: Option<&'static Throttle>,
    pub(crate) breaker: Option<(&'static Breaker, IntoError<E>)>,
    pub(crate) budget: Option<&'static Budget>,
}

/// How a call turned away is reported in the caller's error type.
type IntoError<E> = fn(Open) -> E;

/// What one call keeps between attempts: the breaker's permit while an attempt runs, and
/// the timer while it waits for the throttle.
#[derive(Default)]
pub(crate) struct Gate {
    permit: Option<BreakerPermit<'static>>,
    sleep: Option<Pin<Box<Sleep>>>,
    waiting: bool,
}

impl<E> Guards<E> {
    pub(crate) const fn new() -> Self {
        Guards { throttle: None, breaker: None, budget: None }
    }

    /// Before an attempt: the breaker lets it through (or the call ends with `Open`), then
    /// the throttle gives it a permit.
    pub(crate) fn poll_admit(&self, gate: &mut Gate, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        if let Some((breaker, into)) = self.breaker {
            if gate.permit.is_none() {
                match breaker.try_acquire() {
                    Ok(permit) => gate.permit = Some(permit),
                    Err(open) => return Poll::Ready(Err(into(open))),
                }
            }
        }
        if let Some(throttle) = self.throttle {
            loop {
                if gate.waiting {
                    if let Some(sleep) = gate.sleep.as_mut() {
                        ready!(sleep.as_mut().poll(cx));
                    }
                    gate.waiting = false;
                }
                match throttle.check() {
                    Ok(()) => break,
                    Err(at) => {
                        let sleep = gate.sleep.get_or_insert_with(|| Box::pin(clock::idle_sleep()));
                        sleep.as_mut().reset(at);
                        gate.waiting = true;
                    }
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// After a classified attempt: reports it; whether a retry may still happen.
    pub(crate) fn record(&self, gate: &mut Gate, is_ok: bool, retry: bool) -> bool {
        let verdict = Verdict::of(is_ok, retry);
        let mut may_retry = retry;
        if let Some(permit) = gate.permit.take() {
            may_retry &= permit.record(verdict);
        }
        if let Some(budget) = self.budget {
            may_retry &= budget.record(verdict);
        }
        may_retry
    }
}
