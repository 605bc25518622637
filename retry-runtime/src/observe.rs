//! Tracing events: one before each sleep, one when a call stops retrying, and a `debug`
//! one for an error that is not retried.
//!
//! Fields: `fn`, `attempt` (the 1-based number of the attempt that just ended),
//! `max_attempts` (the policy's), `delay_ms` (the sleep about to start), `reason` (why the
//! retries stopped), `error` (`Display` where the error has it, else `Debug`, else
//! omitted), and the fields a `#[retry(fields(…))]` names. Argument values are never
//! recorded otherwise: they carry API keys.
//!
//! `#[retry]` keeps the function's module as the events' target without expanding
//! tracing's macros in every function: it declares two `static` callsites (its level and
//! `debug`), and the one emitting function lives here.

use std::fmt;
use std::time::Duration;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use tracing::callsite::{Callsite as _, DefaultCallsite, Identifier};
use tracing::field::{FieldSet, Value};
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
use tracing::subscriber::Interest;
use tracing::Level;
use tracing::Metadata;

/// The level of retry events (`log = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Log {
    /// `tracing::Level::ERROR`.
    Error,
    /// `tracing::Level::WARN` (the default).
    #[default]
    Warn,
    /// `tracing::Level::INFO`.
    Info,
    /// `tracing::Level::DEBUG`.
    Debug,
    /// `tracing::Level::TRACE`.
    Trace,
    /// No events.
    Off,
}

/// Why a retried call stopped retrying: the `reason` field of the event, and
/// [`Attempt`](crate::Attempt)'s for a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The policy's attempts are all made.
    Exhausted,
    /// The next sleep would end at or past the deadline.
    Deadline,
    /// The server's hint (`retry_after`) is longer than `max`.
    HintTooLong,
    /// The breaker is open: this call's failure opened it, or it was found open.
    BreakerOpen,
    /// The retry budget is spent.
    BudgetSpent,
    /// A guard refused the call (a Redis-backed throttle failing closed).
    Refused,
    /// The error is not one to retry (`on`, `unless`, `when`).
    NotRetryable,
}

impl Reason {
    /// The name in events: `"exhausted"`, `"deadline"`, `"hint_too_long"`,
    /// `"breaker_open"`, `"budget_spent"`, `"refused"`, `"not_retryable"`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Reason::Exhausted => "exhausted",
            Reason::Deadline => "deadline",
            Reason::HintTooLong => "hint_too_long",
            Reason::BreakerOpen => "breaker_open",
            Reason::BudgetSpent => "budget_spent",
            Reason::Refused => "refused",
            Reason::NotRetryable => "not_retryable",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the engine reports: the kind of event and its data.
#[doc(hidden)]
#[derive(Debug)]
pub struct Event<'a, E> {
    pub(crate) kind: Kind,
    pub(crate) attempt: u32,
    pub(crate) max_attempts: u32,
    pub(crate) delay: Option<Duration>,
    pub(crate) reason: Option<Reason>,
    pub(crate) error: Option<&'a E>,
}

impl<'a, E> Event<'a, E> {
    /// The error of the attempt that just ended, if it was an error.
    pub fn error(&self) -> Option<&'a E> {
        self.error
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Before a sleep.
    Retrying,
    /// The retries stopped with an error.
    GaveUp,
    /// An error that is not retried: ends the call at once (`debug`).
    NotRetried,
    /// A hedged call sends another copy: the earlier ones are slow.
    Hedging,
}

/// Where events go: the code `#[retry]` generates, or the builder's.
#[doc(hidden)]
pub trait Events<E> {
    /// Reports `event`.
    fn event(&mut self, event: &Event<'_, E>);
}

/// The field names every retry event has, in order; user fields follow.
pub(crate) const FIELDS: &[&str] = &["message", "fn", "attempt", "max_attempts", "delay_ms", "reason", "error"];

/// How many fields a `fields(…)` list may add.
pub(crate) const MAX_USER_FIELDS: usize = 8;

/// The two callsites of one retried function, its `log` level and `debug`, declared by
/// the attribute as a `static` of the function's own module (so that `module_path!()` is
/// the events' target).
///
/// The `static` holds plain data, cheap for the compiler to evaluate once per function;
/// tracing's metadata is built (and leaked, once per function) at the first event.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Callsites {
    name: &'static str,
    module: &'static str,
    file: &'static str,
    line: u32,
    level: Level,
    /// [`FIELDS`], then the user's.
    names: &'static [&'static str],
    sites: OnceLock<&'static [Site; 2]>,
}

/// The events of a retried function, from its signature `$sig`: a `static` [`Callsites`]
/// declared where the function is (so that `module_path!()`, `file!()` and `line!()` are
/// its), and the error shown by `Display`, else `Debug`, else not at all.
///
/// A `macro_rules!` rather than tokens from the attribute: rustc reads these as cheaply as
/// source, where each token a procedural macro emits costs it a little more.
#[doc(hidden)]
#[macro_export]
macro_rules! __retry_events {
    ($sig:ident, $name:literal, $level:ident, [$($field:literal)*], $fields:expr) => {{
        static CALLSITES: $crate::__private::Callsites = $crate::__private::Callsites::new(
            $name,
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
            $crate::__private::Level::$level,
            &["message", "fn", "attempt", "max_attempts", "delay_ms", "reason", "error" $(, $field)*],
        );
        $sig.events(&CALLSITES, $sig.describer().pick(), $fields)
    }};
}

impl Callsites {
    /// The callsites of the function `name` in `module`, at `file`:`line`, with the field
    /// `names` ([`FIELDS`], then the user's).
    pub const fn new(
        name: &'static str,
        module: &'static str,
        file: &'static str,
        line: u32,
        level: Level,
        names: &'static [&'static str],
    ) -> Self {
        Callsites { name, module, file, line, level, names, sites: OnceLock::new() }
    }

    fn sites(&'static self) -> &'static [Site; 2] {
        self.sites.get_or_init(|| {
            let sites: &'static [Site; 2] = Box::leak(Box::new([Site::new(), Site::new()]));
            for (site, level) in sites.iter().zip([self.level, Level::DEBUG]) {
                let _ = site.meta.set(Metadata::new(
                    "retry event",
                    self.module,
                    level,
                    Some(self.file),
                    Some(self.line),
                    Some(self.module),
                    FieldSet::new(self.names, Identifier(site)),
                    tracing::metadata::Kind::EVENT,
                ));
            }
            sites
        })
    }
}

/// A callsite whose metadata is set once, right after it is made and before it is used.
struct Site {
    meta: OnceLock<Metadata<'static>>,
    interest: AtomicU8,
}

const UNREGISTERED: u8 = u8::MAX;
const NEVER: u8 = 0;
const SOMETIMES: u8 = 1;
const ALWAYS: u8 = 2;

impl Site {
    const fn new() -> Self {
        Site { meta: OnceLock::new(), interest: AtomicU8::new(UNREGISTERED) }
    }

    fn interest(&'static self) -> Interest {
        let mut value = self.interest.load(Ordering::Relaxed);
        if value == UNREGISTERED {
            // Registration asks every subscriber, and stores their answer here.
            tracing::callsite::register(self);
            value = self.interest.load(Ordering::Relaxed);
        }
        match value {
            NEVER => Interest::never(),
            ALWAYS => Interest::always(),
            _ => Interest::sometimes(),
        }
    }

    fn metadata(&'static self) -> &'static Metadata<'static> {
        self.meta.get().unwrap_or(&FALLBACK_META)
    }
}

impl tracing::Callsite for Site {
    fn set_interest(&self, interest: Interest) {
        let value = if interest.is_never() {
            NEVER
        } else if interest.is_always() {
            ALWAYS
        } else {
            SOMETIMES
        };
        self.interest.store(value, Ordering::SeqCst);
    }

    fn metadata(&self) -> &Metadata<'_> {
        self.meta.get().unwrap_or(&FALLBACK_META)
    }
}

/// The metadata of a site that has none yet, which does not happen: it is set before the
/// site is shared.
static FALLBACK_META: Metadata<'static> = Metadata::new(
    "retry event",
    "steadfast",
    Level::TRACE,
    None,
    None,
    None,
    FieldSet::new(FIELDS, Identifier(&FALLBACK)),
    tracing::metadata::Kind::EVENT,
);
static FALLBACK: DefaultCallsite = DefaultCallsite::new(&FALLBACK_META);

/// Emits `event` at one of `callsites`, with the error described as `error` and the
/// values of the user's fields.
#[doc(hidden)]
#[cold]
#[inline(never)]
pub fn emit<E>(
    callsites: &'static Callsites,
    event: &Event<'_, E>,
    error: Option<ErrorField<'_>>,
    user: &[Option<&dyn Value>],
) {
    let debug = event.kind == Kind::NotRetried;
    let level = if debug { Level::DEBUG } else { callsites.level };
    if level > STATIC_MAX_LEVEL || level > LevelFilter::current() {
        return;
    }
    let site = &callsites.sites()[usize::from(debug)];
    dispatch(site.metadata(), site.interest(), callsites.name, event, error, user);
}

fn dispatch<E>(
    meta: &'static Metadata<'static>,
    interest: Interest,
    name: &str,
    event: &Event<'_, E>,
    error: Option<ErrorField<'_>>,
    user: &[Option<&dyn Value>],
) {
    let level = *meta.level();
    if level > STATIC_MAX_LEVEL || level > LevelFilter::current() {
        return;
    }
    if interest.is_never()
        || !(interest.is_always() || tracing::dispatcher::get_default(|dispatch| dispatch.enabled(meta)))
    {
        return;
    }
    let message = match event.kind {
        Kind::Retrying => format_args!("retrying"),
        Kind::GaveUp => format_args!("giving up"),
        Kind::NotRetried => format_args!("not retried"),
        Kind::Hedging => format_args!("hedging"),
    };
    let delay_ms = event.delay.map(millis);
    let reason = event.reason.map(|r| r.as_str());
    let error = error.as_ref().map(tracing::field::display);
    let fields = meta.fields();
    let mut names = fields.iter();
    let Some(first) = names.next() else { return };
    // `value_set` takes an array: the fixed fields, the user's, then padding with no value.
    const SLOTS: usize = 7 + MAX_USER_FIELDS;
    let names: [tracing::field::Field; SLOTS] =
        std::array::from_fn(|i| if i == 0 { first.clone() } else { names.next().unwrap_or_else(|| first.clone()) });
    let fixed: [Option<&dyn Value>; 7] = [
        Some(&message),
        Some(&name),
        Some(&event.attempt),
        Some(&event.max_attempts),
        delay_ms.as_ref().map(|d| d as &dyn Value),
        reason.as_ref().map(|r| r as &dyn Value),
        error.as_ref().map(|e| e as &dyn Value),
    ];
    let pairs: [(&tracing::field::Field, Option<&dyn Value>); SLOTS] = std::array::from_fn(|i| {
        let value = match i {
            0..7 => fixed[i],
            _ => user.get(i - 7).copied().flatten(),
        };
        (&names[i], value)
    });
    tracing::Event::dispatch(meta, &fields.value_set(&pairs));
}

/// Milliseconds, for the `delay_ms` field.
pub(crate) fn millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
}

/// The error of an event: `Display` where the error has it, else `Debug`.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub enum ErrorField<'a> {
    Display(&'a dyn fmt::Display),
    Debug(&'a dyn fmt::Debug),
}

impl fmt::Display for ErrorField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorField::Display(e) => e.fmt(f),
            ErrorField::Debug(e) => e.fmt(f),
        }
    }
}

/// The builder's events: target `steadfast`, at the level its [`Log`] names.
pub(crate) struct BuilderEvents {
    pub(crate) log: Log,
    pub(crate) name: &'static str,
}

macro_rules! builder_callsite {
    ($level:ident) => {{
        static META: tracing::Metadata<'static> = tracing::Metadata::new(
            "retry event",
            "steadfast",
            Level::$level,
            Some(file!()),
            Some(line!()),
            Some(module_path!()),
            tracing::field::FieldSet::new(FIELDS, tracing::callsite::Identifier(&CALLSITE)),
            tracing::metadata::Kind::EVENT,
        );
        static CALLSITE: DefaultCallsite = DefaultCallsite::new(&META);
        &CALLSITE
    }};
}

impl<E: fmt::Debug> Events<E> for BuilderEvents {
    fn event(&mut self, event: &Event<'_, E>) {
        builder_event(self.log, self.name, event, event.error.map(|e| ErrorField::Debug(e as &dyn fmt::Debug)));
    }
}

#[cold]
#[inline(never)]
fn builder_event<E>(log: Log, name: &str, event: &Event<'_, E>, error: Option<ErrorField<'_>>) {
    let callsite: &'static DefaultCallsite = match (event.kind, log) {
        (_, Log::Off) => return,
        (Kind::NotRetried, _) | (_, Log::Debug) => builder_callsite!(DEBUG),
        (_, Log::Error) => builder_callsite!(ERROR),
        (_, Log::Warn) => builder_callsite!(WARN),
        (_, Log::Info) => builder_callsite!(INFO),
        (_, Log::Trace) => builder_callsite!(TRACE),
    };
    dispatch(callsite.metadata(), callsite.interest(), name, event, error, &[]);
}

/// A call's metrics (feature `metrics`, `steadfast::metrics`): its function's name, and one
/// method per thing counted. Without the feature it is empty and every method does
/// nothing, so a call carries and computes nothing for it: this, and the breaker's
/// [`breaker_changed`], are the only places the feature is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meter {
    #[cfg(feature = "metrics")]
    name: &'static str,
}

#[cfg(feature = "metrics")]
use crate::metrics as m;

impl Meter {
    /// The metrics of the function `name`; counts the call.
    #[inline(always)]
    pub(crate) fn call(name: &'static str) -> Self {
        #[cfg(feature = "metrics")]
        {
            ::metrics::counter!(m::CALLS, "fn" => name).increment(1);
            Meter { name }
        }
        #[cfg(not(feature = "metrics"))]
        {
            let _ = name;
            Meter {}
        }
    }

    /// An attempt ended.
    #[inline(always)]
    pub(crate) fn attempt(self) {
        #[cfg(feature = "metrics")]
        ::metrics::counter!(m::ATTEMPTS, "fn" => self.name).increment(1);
    }

    /// A retry was decided, after `delay`.
    #[inline(always)]
    pub(crate) fn retry(self, delay: Duration) {
        #[cfg(feature = "metrics")]
        {
            ::metrics::counter!(m::RETRIES, "fn" => self.name).increment(1);
            ::metrics::histogram!(m::SLEEP_SECONDS, "fn" => self.name).record(delay.as_secs_f64());
        }
        #[cfg(not(feature = "metrics"))]
        let _ = delay;
    }

    /// The call ended with an error, for `reason`.
    #[inline(always)]
    pub(crate) fn gave_up(self, reason: Reason) {
        #[cfg(feature = "metrics")]
        ::metrics::counter!(m::GIVE_UPS, "fn" => self.name, "reason" => reason.as_str()).increment(1);
        #[cfg(not(feature = "metrics"))]
        let _ = reason;
    }

    /// The call waits `wait` for a throttle's permit.
    #[inline(always)]
    pub(crate) fn throttled(self, wait: Duration) {
        #[cfg(feature = "metrics")]
        ::metrics::histogram!(m::THROTTLE_WAIT_SECONDS, "fn" => self.name).record(wait.as_secs_f64());
        #[cfg(not(feature = "metrics"))]
        let _ = wait;
    }
}

/// A breaker changed state: `to` is `"open"`, `"half_open"` or `"closed"`.
#[inline(always)]
pub(crate) fn breaker_changed(breaker: &'static str, to: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(m::BREAKER_TRANSITIONS, "breaker" => breaker, "to" => to).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (breaker, to);
}
