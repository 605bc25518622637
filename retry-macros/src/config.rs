//! The attribute's arguments as a typed config: one field per key, with the tokens to
//! point errors at. Built from what `attr.rs` parsed by one exhaustive `match` on the key,
//! so a key added to `KEYS` without a field here does not compile.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{Expr, Ident, Type};

use crate::attr::{self, Arg, Args, Id, Value};

/// A key's value, with where it was written.
pub(crate) struct Given<T> {
    pub(crate) value: T,
    /// The key itself: `attempts` in `attempts = 5`.
    pub(crate) key: Ident,
    /// The value's tokens.
    pub(crate) tokens: TokenStream,
}

impl<T> Given<T> {
    /// The span of the whole argument, key through value.
    pub(crate) fn span(&self) -> Span {
        let mut tokens = self.key.to_token_stream();
        tokens.extend(self.tokens.clone());
        syn::spanned::Spanned::span(&tokens)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Backoff {
    Exponential,
    Fixed,
    Linear,
    Fibonacci,
    None,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Jitter {
    Full,
    Equal,
    Decorrelated,
    None,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum HintAboveMax {
    GiveUp,
    Clamp,
    Ignore,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
    Off,
}

impl Backoff {
    /// In the order of [`attr::BACKOFFS`].
    const ALL: [Backoff; 5] =
        [Backoff::Exponential, Backoff::Fixed, Backoff::Linear, Backoff::Fibonacci, Backoff::None];

    /// The name the attribute takes.
    pub(crate) fn name(self) -> &'static str {
        attr::BACKOFFS[Self::ALL.iter().position(|b| *b == self).unwrap_or(0)]
    }
}

impl Jitter {
    /// In the order of [`attr::JITTERS`].
    const ALL: [Jitter; 4] = [Jitter::Full, Jitter::Equal, Jitter::Decorrelated, Jitter::None];
}

impl HintAboveMax {
    /// In the order of [`attr::HINTS`].
    const ALL: [HintAboveMax; 3] = [HintAboveMax::GiveUp, HintAboveMax::Clamp, HintAboveMax::Ignore];
}

impl Level {
    /// In the order of [`attr::LOGS`].
    const ALL: [Level; 6] = [Level::Error, Level::Warn, Level::Info, Level::Debug, Level::Trace, Level::Off];
}

/// Everything the attribute says, typed.
#[derive(Default)]
pub(crate) struct Config {
    pub(crate) attempts: Option<Given<i128>>,
    pub(crate) backoff: Option<Given<Backoff>>,
    pub(crate) min: Option<Given<Duration>>,
    pub(crate) base: Option<Given<Duration>>,
    pub(crate) max: Option<Given<Duration>>,
    pub(crate) factor: Option<Given<f64>>,
    pub(crate) step: Option<Given<Duration>>,
    pub(crate) jitter: Option<Given<Jitter>>,
    pub(crate) hint_above_max: Option<Given<HintAboveMax>>,
    pub(crate) deadline: Option<Given<Duration>>,
    pub(crate) timeout: Option<Given<Duration>>,
    pub(crate) first_item_timeout: Option<Given<Duration>>,
    pub(crate) idle_timeout: Option<Given<Duration>>,
    pub(crate) resume: Option<Given<Expr>>,
    pub(crate) hedge: Option<Given<attr::Hedge>>,
    pub(crate) fallback: Option<Given<Expr>>,
    pub(crate) on: Option<Given<Vec<Type>>>,
    pub(crate) unless: Option<Given<Vec<Type>>>,
    pub(crate) when: Option<Given<Expr>>,
    pub(crate) if_ok: Option<Given<Expr>>,
    pub(crate) retry_after: Option<Given<Expr>>,
    pub(crate) log: Option<Given<Level>>,
    pub(crate) notify: Option<Given<Expr>>,
    pub(crate) throttle: Option<Given<Expr>>,
    pub(crate) breaker: Option<Given<Expr>>,
    pub(crate) budget: Option<Given<Expr>>,
    pub(crate) policy: Option<Given<Expr>>,
    pub(crate) timer: Option<Given<syn::Path>>,
    pub(crate) wrap: Option<Given<()>>,
    pub(crate) fields: Option<Given<Vec<attr::Field>>>,
    pub(crate) krate: Option<Given<syn::Path>>,
}

impl Config {
    /// The typed config of what parsed. A value of the wrong kind for its key cannot
    /// reach here (`attr.rs` parses each key as its kind), so such a pair is skipped.
    pub(crate) fn of(args: Args) -> Config {
        let mut config = Config::default();
        for Arg { key, ident, value, tokens } in args.args {
            macro_rules! given {
                ($value:expr) => {
                    Some(Given { value: $value, key: ident.clone(), tokens: tokens.clone() })
                };
            }
            match (key.id, value) {
                (Id::Attempts, Value::Count(n)) => config.attempts = given!(n),
                (Id::Backoff, Value::Choice(i)) => config.backoff = given!(Backoff::ALL[i]),
                (Id::Min, Value::Duration(d)) => config.min = given!(d),
                (Id::Base, Value::Duration(d)) => config.base = given!(d),
                (Id::Max, Value::Duration(d)) => config.max = given!(d),
                (Id::Factor, Value::Number(f)) => config.factor = given!(f),
                (Id::Step, Value::Duration(d)) => config.step = given!(d),
                (Id::Jitter, Value::Choice(i)) => config.jitter = given!(Jitter::ALL[i]),
                (Id::HintAboveMax, Value::Choice(i)) => config.hint_above_max = given!(HintAboveMax::ALL[i]),
                (Id::Deadline, Value::Duration(d)) => config.deadline = given!(d),
                (Id::Timeout, Value::Duration(d)) => config.timeout = given!(d),
                (Id::FirstItemTimeout, Value::Duration(d)) => config.first_item_timeout = given!(d),
                (Id::IdleTimeout, Value::Duration(d)) => config.idle_timeout = given!(d),
                (Id::Resume, Value::Expr(e)) => config.resume = given!(e),
                (Id::Hedge, Value::Hedge(h)) => config.hedge = given!(h),
                (Id::Fallback, Value::Expr(e)) => config.fallback = given!(e),
                (Id::On, Value::Types(t)) => config.on = given!(t),
                (Id::Unless, Value::Types(t)) => config.unless = given!(t),
                (Id::When, Value::Expr(e)) => config.when = given!(e),
                (Id::IfOk, Value::Expr(e)) => config.if_ok = given!(e),
                (Id::RetryAfter, Value::Expr(e)) => config.retry_after = given!(e),
                (Id::Log, Value::Choice(i)) => config.log = given!(Level::ALL[i]),
                (Id::Notify, Value::Expr(e)) => config.notify = given!(e),
                (Id::Throttle, Value::Expr(e)) => config.throttle = given!(e),
                (Id::Breaker, Value::Expr(e)) => config.breaker = given!(e),
                (Id::Budget, Value::Expr(e)) => config.budget = given!(e),
                (Id::Policy, Value::Expr(e)) => config.policy = given!(e),
                (Id::Timer, Value::TypePath(p)) => config.timer = given!(p),
                (Id::Wrap, Value::Flag) => config.wrap = given!(()),
                (Id::Fields, Value::Fields(list)) => config.fields = given!(list),
                (Id::Crate, Value::CratePath(p)) => config.krate = given!(p),
                (
                    Id::Attempts
                    | Id::Backoff
                    | Id::Min
                    | Id::Base
                    | Id::Max
                    | Id::Factor
                    | Id::Step
                    | Id::Jitter
                    | Id::HintAboveMax
                    | Id::Deadline
                    | Id::Timeout
                    | Id::FirstItemTimeout
                    | Id::IdleTimeout
                    | Id::Resume
                    | Id::Hedge
                    | Id::Fallback
                    | Id::On
                    | Id::Unless
                    | Id::When
                    | Id::IfOk
                    | Id::RetryAfter
                    | Id::Log
                    | Id::Notify
                    | Id::Throttle
                    | Id::Breaker
                    | Id::Budget
                    | Id::Policy
                    | Id::Timer
                    | Id::Wrap
                    | Id::Fields
                    | Id::Crate,
                    _,
                ) => {}
            }
        }
        config
    }

    /// The keys a `Policy` carries, as given: with `policy = …` they are errors.
    pub(crate) fn policy_keys(&self) -> Vec<&Ident> {
        let durations = [&self.min, &self.base, &self.max, &self.step, &self.deadline, &self.timeout];
        let mut keys: Vec<&Ident> = durations.into_iter().flatten().map(|g| &g.key).collect();
        keys.extend(self.attempts.as_ref().map(|g| &g.key));
        keys.extend(self.backoff.as_ref().map(|g| &g.key));
        keys.extend(self.factor.as_ref().map(|g| &g.key));
        keys.extend(self.jitter.as_ref().map(|g| &g.key));
        keys.extend(self.hint_above_max.as_ref().map(|g| &g.key));
        keys
    }

    /// The shape of the delays, after the default.
    pub(crate) fn backoff(&self) -> Backoff {
        self.backoff.as_ref().map_or(Backoff::Exponential, |g| g.value)
    }

    /// The events' level, after the default.
    pub(crate) fn level(&self) -> Level {
        self.log.as_ref().map_or(Level::Warn, |g| g.value)
    }
}
