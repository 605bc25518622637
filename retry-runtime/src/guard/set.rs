//! The guards of one call, in the order the engine consults them, and what one attempt
//! holds of them from its admission to its verdict.

use std::task::{Context, Poll};
use std::time::Duration;

use super::{Admit, BoxFuture, Fits, Guard, Record, Report, Verdict};

/// An empty guard slot: costs nothing, consults nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGuard;

/// A guard slot of a call: empty, or a reference to a guard.
pub trait Slot: Copy {
    /// The guard in the slot (`()` when empty).
    type Guard: Guard + ?Sized;
    /// Where an attempt keeps the guard's ticket: nothing at all for an empty slot.
    type Held: Held<<Self::Guard as Guard>::Ticket>;
    /// Whether the slot is empty whatever its value (known at compile time).
    const EMPTY: bool = false;
    /// The guard, if the slot holds one.
    fn guard(&self) -> Option<&Self::Guard>;
}

/// A place for one ticket.
pub trait Held<K>: Default {
    /// Whether the slot has its ticket (an empty slot always has).
    fn has(&self) -> bool;
    /// Whether a ticket is kept here.
    fn some(&self) -> bool;
    /// Keeps `ticket`.
    fn put(&mut self, ticket: K);
    /// The ticket, if one is kept.
    fn take(&mut self) -> Option<K>;
}

/// No ticket, ever: an empty slot.
#[derive(Debug, Default)]
pub struct Nothing;

impl Held<()> for Nothing {
    #[inline(always)]
    fn has(&self) -> bool {
        true
    }

    #[inline(always)]
    fn some(&self) -> bool {
        false
    }

    #[inline(always)]
    fn put(&mut self, _: ()) {}

    #[inline(always)]
    fn take(&mut self) -> Option<()> {
        None
    }
}

impl<K> Held<K> for Option<K> {
    #[inline(always)]
    fn has(&self) -> bool {
        self.is_some()
    }

    #[inline(always)]
    fn some(&self) -> bool {
        self.is_some()
    }

    #[inline(always)]
    fn put(&mut self, ticket: K) {
        *self = Some(ticket);
    }

    #[inline(always)]
    fn take(&mut self) -> Option<K> {
        Option::take(self)
    }
}

impl Slot for NoGuard {
    type Guard = ();
    type Held = Nothing;
    const EMPTY: bool = true;

    #[inline(always)]
    fn guard(&self) -> Option<&()> {
        None
    }
}

impl<G: Guard + ?Sized> Slot for &G {
    type Guard = G;
    type Held = Option<G::Ticket>;

    #[inline(always)]
    fn guard(&self) -> Option<&G> {
        Some(*self)
    }
}

/// The guards of one call, consulted in this order: the breaker (so that a call turned
/// away spends no permit), the throttle, the budget.
#[derive(Debug, Clone, Copy, Default)]
pub struct Guards<B = NoGuard, T = NoGuard, U = NoGuard> {
    breaker: B,
    throttle: T,
    budget: U,
}

impl Guards {
    /// No guard at all.
    pub const fn new() -> Self {
        Guards { breaker: NoGuard, throttle: NoGuard, budget: NoGuard }
    }
}

impl<B: Slot, T: Slot, U: Slot> Guards<B, T, U> {
    /// Whether a hedge may be sent: each guard asked in turn (the budget last, since it
    /// spends a token when it agrees).
    pub(crate) fn hedge(&self) -> bool {
        self.breaker.guard().is_none_or(Guard::hedge)
            && self.throttle.guard().is_none_or(Guard::hedge)
            && self.budget.guard().is_none_or(Guard::hedge)
    }
}

/// A guard of the kind `K` (checked where the key names it).
#[inline(always)]
pub fn fits<K, G: Fits<K> + ?Sized>(guard: &G) -> &G {
    guard
}

impl<B, T, U> Guards<B, T, U> {
    /// With `breaker` in the breaker's slot.
    pub fn breaker<G: Guard + ?Sized>(self, breaker: &G) -> Guards<&G, T, U> {
        Guards { breaker, throttle: self.throttle, budget: self.budget }
    }

    /// With `throttle` in the throttle's slot.
    pub fn throttle<G: Guard + ?Sized>(self, throttle: &G) -> Guards<B, &G, U> {
        Guards { breaker: self.breaker, throttle, budget: self.budget }
    }

    /// With `budget` in the budget's slot.
    pub fn budget<G: Guard + ?Sized>(self, budget: &G) -> Guards<B, T, &G> {
        Guards { breaker: self.breaker, throttle: self.throttle, budget }
    }
}

/// Why a call was turned away, by the guard that did it.
#[derive(Debug)]
pub enum Refused<B, T, U> {
    /// The breaker's refusal ([`Open`](crate::Open)).
    Breaker(B),
    /// The throttle's (a Redis-backed throttle failing closed).
    Throttle(T),
    /// The budget's.
    Budget(U),
}

impl<B, T, U> Refused<B, T, U> {
    /// The reason of the give-up this refusal ends a call with.
    pub(crate) const fn reason(&self) -> crate::observe::Reason {
        use crate::observe::Reason;
        match self {
            Refused::Breaker(_) => Reason::BreakerOpen,
            Refused::Throttle(_) => Reason::Refused,
            Refused::Budget(_) => Reason::BudgetSpent,
        }
    }
}

#[diagnostic::do_not_recommend]
impl<E: Report<B> + Report<T> + Report<U>, B, T, U> Report<Refused<B, T, U>> for E {
    fn report(refusal: Refused<B, T, U>) -> Self {
        match refusal {
            Refused::Breaker(r) => E::report(r),
            Refused::Throttle(r) => E::report(r),
            Refused::Budget(r) => E::report(r),
        }
    }
}

type Ticket<S> = <<S as Slot>::Guard as Guard>::Ticket;
type Refusal<S> = <<S as Slot>::Guard as Guard>::Refusal;
type PendingAdmit<S> = BoxFuture<Result<Ticket<S>, Refusal<S>>>;

/// The set's refusal.
pub type SetRefusal<B, T, U> = Refused<Refusal<B>, Refusal<T>, Refusal<U>>;

/// What one attempt holds of its guards: each guard's ticket from its admission until its
/// verdict. Dropped with tickets outstanding (a cancelled call), it gives each back, telling
/// the guard whether the attempt was running.
pub(crate) struct Permit<B: Slot, T: Slot, U: Slot> {
    guards: Guards<B, T, U>,
    breaker: B::Held,
    throttle: T::Held,
    budget: U::Held,
}

/// Answers still on their way (a guard backed by Redis); boxed with the call's slow state.
pub(crate) struct Pending<B: Slot, T: Slot, U: Slot> {
    breaker: Option<PendingAdmit<B>>,
    throttle: Option<PendingAdmit<T>>,
    budget: Option<PendingAdmit<U>>,
    records: [Option<BoxFuture<bool>>; 3],
    /// The slots whose verdicts heard so far refuse a retry.
    refused: Refusals,
}

impl<B: Slot, T: Slot, U: Slot> Default for Pending<B, T, U> {
    fn default() -> Self {
        Pending { breaker: None, throttle: None, budget: None, records: [None, None, None], refused: Refusals::NONE }
    }
}

/// The slots whose guards refused a retry after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Refusals(u8);

impl Refusals {
    pub(crate) const NONE: Refusals = Refusals(0);
    const BREAKER: u8 = 1;
    const THROTTLE: u8 = 2;
    const BUDGET: u8 = 4;

    pub(crate) const fn is_none(self) -> bool {
        self.0 == 0
    }

    /// The reason to report: the breaker's first (it ends every call), then the budget's.
    pub(crate) const fn reason(self) -> crate::observe::Reason {
        use crate::observe::Reason;
        if self.0 & Self::BREAKER != 0 {
            Reason::BreakerOpen
        } else if self.0 & Self::BUDGET != 0 {
            Reason::BudgetSpent
        } else {
            Reason::Refused
        }
    }

    pub(crate) fn add(&mut self, other: Refusals) {
        self.0 |= other.0;
    }
}

/// Where an admission stands.
pub(crate) enum Admission<R> {
    /// Every guard let the attempt through.
    Admitted,
    /// Ask again after this long (a throttle's next permit).
    Wait(Duration),
    /// Turned away.
    Refused(R),
}

/// A slot's admission: the ticket, `Err(step)` when the admission cannot go on yet.
macro_rules! admit_slot {
    ($self:ident, $pending:ident, $cx:ident, $slot:ident, $variant:ident) => {
        if !$self.$slot.has() {
            if let Some(guard) = $self.guards.$slot.guard() {
                let answer = match $pending.as_deref_mut().and_then(|p| p.$slot.as_mut()) {
                    Some(future) => match future.as_mut().poll($cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(answer) => {
                            if let Some(p) = $pending.as_deref_mut() {
                                p.$slot = None;
                            }
                            answer
                        }
                    },
                    None => match guard.admit() {
                        Admit::Now(ticket) => Ok(ticket),
                        Admit::Refused(refusal) => Err(refusal),
                        Admit::Wait(wait) => return Poll::Ready(Admission::Wait(wait)),
                        Admit::Pending(mut future) => match future.as_mut().poll($cx) {
                            Poll::Ready(answer) => answer,
                            Poll::Pending => {
                                $pending.get_or_insert_with(Default::default).$slot = Some(future);
                                return Poll::Pending;
                            }
                        },
                    },
                };
                match answer {
                    Ok(ticket) => $self.$slot.put(ticket),
                    Err(refusal) => {
                        $self.abandon();
                        return Poll::Ready(Admission::Refused(Refused::$variant(refusal)));
                    }
                }
            }
        }
    };
}

/// A slot's verdict: heard now, or left pending.
macro_rules! record_slot {
    ($self:ident, $pending:ident, $i:expr, $bit:expr, $slot:ident, $verdict:expr, $refused:ident) => {
        if let (Some(ticket), Some(guard)) = ($self.$slot.take(), $self.guards.$slot.guard()) {
            match guard.record(ticket, $verdict) {
                Record::Now(true) => {}
                Record::Now(false) => $refused.0 |= $bit,
                Record::Pending(future) => $pending.get_or_insert_with(Default::default).records[$i] = Some(future),
            }
        }
    };
}

impl<B: Slot, T: Slot, U: Slot> Permit<B, T, U> {
    /// Whether the call has no guard at all, so an attempt's verdict goes nowhere.
    pub(crate) const UNGUARDED: bool = B::EMPTY && T::EMPTY && U::EMPTY;

    #[inline]
    pub(crate) fn new(guards: Guards<B, T, U>) -> Self {
        Permit { guards, breaker: Default::default(), throttle: Default::default(), budget: Default::default() }
    }

    /// Admits the next attempt, guard by guard; a guard already passed keeps its ticket
    /// while a later one makes the attempt wait.
    #[inline]
    pub(crate) fn poll_admit(
        &mut self,
        pending: &mut Option<Box<Pending<B, T, U>>>,
        cx: &mut Context<'_>,
    ) -> Poll<Admission<SetRefusal<B, T, U>>> {
        admit_slot!(self, pending, cx, breaker, Breaker);
        admit_slot!(self, pending, cx, throttle, Throttle);
        admit_slot!(self, pending, cx, budget, Budget);
        Poll::Ready(Admission::Admitted)
    }

    /// Tells every guard how the attempt went; whether they all allow a retry. A guard
    /// that answers later leaves its answer in `pending`, to be awaited by
    /// [`poll_recorded`](Self::poll_recorded).
    #[inline]
    pub(crate) fn record(&mut self, verdict: Verdict, pending: &mut Option<Box<Pending<B, T, U>>>) -> Refusals {
        let mut refused = Refusals::NONE;
        record_slot!(self, pending, 0, Refusals::BREAKER, breaker, verdict, refused);
        record_slot!(self, pending, 1, Refusals::THROTTLE, throttle, verdict, refused);
        record_slot!(self, pending, 2, Refusals::BUDGET, budget, verdict, refused);
        refused
    }

    /// Whether verdicts are still on their way.
    pub(crate) fn recording(pending: &Option<Box<Pending<B, T, U>>>) -> bool {
        pending.as_deref().is_some_and(|p| p.records.iter().any(Option::is_some))
    }

    /// Awaits the verdicts left pending by [`record`](Self::record), every one of them
    /// (a guard is told of every attempt, whatever another says); whether they allow a
    /// retry. Without a context (a driver that cannot wait) they are polled once with a
    /// no-op waker.
    pub(crate) fn poll_recorded(
        pending: &mut Option<Box<Pending<B, T, U>>>,
        cx: Option<&mut Context<'_>>,
    ) -> Poll<Refusals> {
        let mut noop = Context::from_waker(std::task::Waker::noop());
        std::task::ready!(Self::poll_verdicts(pending, cx.unwrap_or(&mut noop)));
        Poll::Ready(pending.as_deref_mut().map_or(Refusals::NONE, |p| std::mem::take(&mut p.refused)))
    }

    /// Waits for the verdicts left pending, keeping their answers for
    /// [`poll_recorded`](Self::poll_recorded).
    pub(crate) fn poll_verdicts(pending: &mut Option<Box<Pending<B, T, U>>>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(pending) = pending.as_deref_mut() else { return Poll::Ready(()) };
        let mut waiting = false;
        for (i, slot) in pending.records.iter_mut().enumerate() {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(allows) => {
                        if !allows {
                            pending.refused.0 |= 1 << i;
                        }
                        *slot = None;
                    }
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// Gives back every ticket still held. The attempt was running if every guard had let
    /// it through.
    fn abandon(&mut self) {
        let running = self.breaker.has() && self.throttle.has() && self.budget.has();
        if let (Some(ticket), Some(guard)) = (self.breaker.take(), self.guards.breaker.guard()) {
            guard.abandon(ticket, running);
        }
        if let (Some(ticket), Some(guard)) = (self.throttle.take(), self.guards.throttle.guard()) {
            guard.abandon(ticket, running);
        }
        if let (Some(ticket), Some(guard)) = (self.budget.take(), self.guards.budget.guard()) {
            guard.abandon(ticket, running);
        }
    }
}

impl<B: Slot, T: Slot, U: Slot> Drop for Permit<B, T, U> {
    #[inline]
    fn drop(&mut self) {
        if self.breaker.some() || self.throttle.some() || self.budget.some() {
            self.abandon();
        }
    }
}
