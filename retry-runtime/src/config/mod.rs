//! Policies and guards from configuration files (feature `serde`).
//!
//! [`Policy`](crate::Policy), [`Backoff`](crate::Backoff), [`Jitter`](crate::Jitter),
//! [`Throttle`](crate::Throttle), [`Breaker`](crate::Breaker) and [`Budget`](crate::Budget)
//! implement [`serde::Deserialize`], with the keys, names and duration strings of
//! `#[retry(...)]`: a policy means the same in a TOML, JSON or YAML file as in the attribute.
//!
//! ```toml
//! [retry]
//! attempts = 5
//! backoff = "exp"        # "exp" | "fixed" | "linear" | "fibonacci" | "none"
//! min = "2s"
//! max = "60s"
//! jitter = "full"        # "full" | "equal" | "decorrelated" | "none"
//! deadline = "2m"
//! timeout = "30s"
//! hint_above_max = "give_up"  # "give_up" | "clamp" | "ignore": a server's hint above `max`
//!
//! [breaker]
//! failures = 5
//! cooldown = "30s"
//! probes = 2             # optional
//! name = "payments"      # optional
//! hung_after = "10s"     # optional
//!
//! [throttle]
//! per_second = 10        # or per_minute = 600
//! burst = 5              # optional
//!
//! [budget]
//! max_tokens = 10
//! ratio = 0.1
//! ```
//!
//! **Policy**: every key is optional and defaults as in [`Policy::new`](crate::Policy::new);
//! `base`, `factor` and `step` are there too. Durations are the attribute's strings:
//! `"250ms"`, `"2s"`, `"1.5s"`, `"1m30s"`, `"1h"`, `"500us"` (or `"500µs"`), `"750ns"`, up to
//! about 584 years. The attribute's compile-time checks are made when the file is read, in
//! the same words: `attempts` at least 1, `factor` a finite number above 1, `max`, `timeout`
//! and `deadline` above zero, `min` and `base` no larger than `max`, `step` only with
//! `backoff = "linear"`, `factor` only with `"exp"`, and no `min`, `base`, `max` or `jitter`
//! with `"none"`. Unknown keys are errors, with a did-you-mean where one is close.
//!
//! **Guards**: deserializing builds a fresh guard, with its own state. `failures` and
//! `cooldown` of a breaker, one of `per_second` and `per_minute` of a throttle, and both
//! keys of a budget are required; counts are at least 1 (a budget's `max_tokens` may be 0:
//! no retry ever), durations above zero, and a budget's `ratio` is a finite number of at
//! least 0.001 (the budget keeps three decimals). A breaker's `name` is kept for the rest of
//! the program, since [`Breaker::named`](crate::Breaker::named) takes a `&'static str`: each
//! distinct name is leaked once, so reading the same file again costs nothing more.
//!
//! A policy and its guards, read from one file and used by `#[retry]` through a client that
//! owns them (with `#[derive(Deserialize)]` the tables would be fields of your own config
//! struct):
//!
//! ```
//! use std::time::Duration;
//! use steadfast::{retry, Breaker, BreakerState, Budget, Jitter, Open, Policy, Throttle};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), toml::de::Error> {
//! let file: toml::Table = toml::from_str(
//!     r#"
//!     [retry]
//!     attempts = 5
//!     min = "2s"
//!     max = "60s"
//!     jitter = "none"
//!     timeout = "30s"
//!
//!     [breaker]
//!     failures = 3
//!     cooldown = "30s"
//!     name = "payments"
//!
//!     [throttle]
//!     per_second = 10
//!
//!     [budget]
//!     max_tokens = 10
//!     ratio = 0.1
//!     "#,
//! )?;
//!
//! // The same policy as the builder's, delays and all.
//! let policy: Policy = file["retry"].clone().try_into()?;
//! let s = Duration::from_secs;
//! assert_eq!(policy, Policy::exponential(s(2), s(60)).attempts(5).jitter(Jitter::None).timeout(s(30)));
//! assert_eq!(policy.delays().collect::<Vec<_>>(), [s(2), s(4), s(8), s(16)]);
//!
//! struct Payments {
//!     policy: Policy,
//!     breaker: Breaker,
//!     throttle: Throttle,
//!     budget: Budget,
//! }
//!
//! #[derive(Debug, PartialEq)]
//! enum Error {
//!     Declined,
//!     Open(Option<&'static str>),
//!     TimedOut,
//! }
//! impl From<Open> for Error {
//!     fn from(open: Open) -> Self { Error::Open(open.breaker()) }
//! }
//! impl From<steadfast::Elapsed> for Error {
//!     fn from(_: steadfast::Elapsed) -> Self { Error::TimedOut }
//! }
//!
//! impl Payments {
//!     #[retry(policy = self.policy, breaker = self.breaker, throttle = self.throttle, budget = self.budget)]
//!     async fn charge(&self) -> Result<(), Error> {
//!         Err(Error::Declined)
//!     }
//! }
//!
//! let payments = Payments {
//!     policy,
//!     breaker: file["breaker"].clone().try_into()?,
//!     throttle: file["throttle"].clone().try_into()?,
//!     budget: file["budget"].clone().try_into()?,
//! };
//! // Three failed attempts open the breaker, which ends the retries; the next call is
//! // turned away by name.
//! assert_eq!(payments.charge().await, Err(Error::Declined));
//! assert_eq!(payments.breaker.state(), BreakerState::Open);
//! assert_eq!(payments.charge().await, Err(Error::Open(Some("payments"))));
//!
//! // Mistakes are errors that name the key and the value.
//! let error = toml::from_str::<Policy>(r#"min = "2m""#).unwrap_err();
//! assert_eq!(error.message(), r#"invalid value for `min`: "2m" is larger than the default `max` of 30s; raise `max`"#);
//! let error = toml::from_str::<Policy>("attempt = 5").unwrap_err();
//! assert_eq!(error.message(), "unknown field `attempt`; did you mean `attempts`?");
//! # Ok(())
//! # }
//! ```
//!
//! Durations and names must be strings and numbers must be numbers. Counts and numbers are
//! asked of the format by their type, so a source whose values are all strings
//! (environment variables) works when its deserializer converts a string to the number
//! asked for.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::duration;

mod guards;
mod policy;

/// One key of a table: its name, the value it takes, and an example for messages.
pub(super) struct Key {
    pub(super) name: &'static str,
    kind: Kind,
    example: &'static str,
}

impl Key {
    pub(super) const fn new(name: &'static str, kind: Kind, example: &'static str) -> Self {
        Key { name, kind, example }
    }
}

/// What a key's value must look like (the attribute's kinds, less those a file cannot
/// hold), with the checks that concern that one value: they are made as it is read, so a
/// format that knows where the value is (TOML, JSON) points the error at it.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// A whole number from `floor` to `u32::MAX`: `reason` follows a value below the floor,
    /// `too_large` one above the maximum.
    Count { floor: u32, reason: &'static str, too_large: &'static str },
    /// A duration string, `"2s"`; with `nonzero`, zero is refused and the fix follows.
    Duration { nonzero: Option<&'static str> },
    /// A number, whole or not, that `ok` accepts; `reason` follows one it refuses.
    Number { ok: fn(f64) -> bool, reason: &'static str },
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
    /// Any string.
    Text,
}

/// A scalar as the format gave it, before it is judged against its key.
pub(super) enum Got {
    Int(i128),
    Float(f64),
    Str(String),
    Bool(bool),
}

/// A duration as written in the file, kept for messages: `"60s"`, not `1m`.
pub(super) struct Given {
    pub(super) value: Duration,
    pub(super) text: String,
}

impl Given {
    /// `"60s"`, quoted, as messages show it.
    pub(super) fn written(&self) -> String {
        format!("\"{}\"", self.text)
    }
}

/// The index of a [`Kind::Choice`] in its list.
pub(super) struct Pick(pub(super) usize);

/// A value of a key's kind, from what the format gave, checked.
pub(super) trait Judge: Sized {
    fn judge<E: de::Error>(key: &'static Key, got: Got) -> Result<Self, E>;
}

impl Judge for u32 {
    fn judge<E: de::Error>(key: &'static Key, got: Got) -> Result<Self, E> {
        match (key.kind, got) {
            (Kind::Count { floor, reason, too_large }, Got::Int(n)) => {
                if n < i128::from(floor) {
                    Err(invalid(key.name, format_args!("{n}; {reason}")))
                } else {
                    u32::try_from(n).map_err(|_| {
                        invalid(key.name, format_args!("{n} is too large; the maximum is {}{too_large}", u32::MAX))
                    })
                }
            }
            (_, got) => Err(wrong_kind(key, &got)),
        }
    }
}

impl Judge for f64 {
    fn judge<E: de::Error>(key: &'static Key, got: Got) -> Result<Self, E> {
        let f = match (key.kind, got) {
            (Kind::Number { .. }, Got::Int(n)) => n as f64,
            (Kind::Number { .. }, Got::Float(f)) => f,
            (_, got) => return Err(wrong_kind(key, &got)),
        };
        match key.kind {
            Kind::Number { ok, reason } if !ok(f) => Err(invalid(key.name, format_args!("{f}; {reason}"))),
            _ => Ok(f),
        }
    }
}

impl Judge for Given {
    fn judge<E: de::Error>(key: &'static Key, got: Got) -> Result<Self, E> {
        match (key.kind, got) {
            (Kind::Duration { nonzero }, Got::Str(text)) => {
                let value = duration::parse_duration(&text).map_err(|error| invalid(key.name, error))?;
                match nonzero {
                    Some(fix) if value.is_zero() => {
                        Err(invalid(key.name, format_args!("\"{text}\"; it must be greater than zero{fix}")))
                    }
                    _ => Ok(Given { value, text }),
                }
            }
            (_, got) => Err(wrong_kind(key, &got)),
        }
    }
}

impl Judge for String {
    fn judge<E: de::Error>(key: &'static Key, got: Got) -> Result<Self, E> {
        match (key.kind, got) {
            (Kind::Text, Got::Str(text)) => Ok(text),
            (_, got) => Err(wrong_kind(key, &got)),
        }
    }
}

impl Judge for Pick {
    fn judge<E: de::Error>(key: &'static Key, got: Got) -> Result<Self, E> {
        let (Kind::Choice(choices), Got::Str(text)) = (key.kind, &got) else {
            return Err(wrong_kind(key, &got));
        };
        match choices.iter().position(|c| c == text) {
            Some(index) => Ok(Pick(index)),
            None => {
                let hint = suggest(text, choices.iter().copied())
                    .map(|s| format!("; did you mean `\"{s}\"`?"))
                    .unwrap_or_default();
                Err(E::custom(format_args!(
                    "unknown {} `\"{text}\"`; expected one of: {}{hint}",
                    key.name,
                    choice_list(choices)
                )))
            }
        }
    }
}

/// Reads the value of `key` from `map`, checked.
pub(super) fn read<'de, T: Judge, A: MapAccess<'de>>(map: &mut A, key: &'static Key) -> Result<T, A::Error> {
    map.next_value_seed(Read::<T>(key, PhantomData))
}

/// Deserializes one choice on its own: a `Backoff` or a `Jitter` outside a policy.
pub(super) fn deserialize_choice<'de, D: Deserializer<'de>>(
    deserializer: D,
    key: &'static Key,
) -> Result<usize, D::Error> {
    Read::<Pick>(key, PhantomData).deserialize(deserializer).map(|pick| pick.0)
}

/// `invalid value for `key`: …`, the shape of every range and combination error.
pub(super) fn invalid<E: de::Error>(key: &str, detail: impl fmt::Display) -> E {
    E::custom(format_args!("invalid value for `{key}`: {detail}"))
}

/// "expected X for `key`, found Y; write Z", the attribute's message for a value of the
/// wrong kind, with the fix built from the value where one is obvious.
fn wrong_kind<E: de::Error>(key: &Key, got: &Got) -> E {
    let name = key.name;
    let found = match got {
        Got::Str(s) => format!("the string `\"{s}\"`"),
        Got::Int(n) => format!("the integer `{n}`"),
        Got::Float(f) => format!("the number `{f}`"),
        Got::Bool(b) => format!("`{b}`"),
    };
    let fix = match (key.kind, got) {
        (Kind::Count { .. }, Got::Str(s)) if s.trim().parse::<u32>().is_ok() => {
            format!("write `{name} = {}`, without quotes", s.trim())
        }
        (Kind::Number { .. }, Got::Str(s)) if s.trim().parse::<f64>().is_ok() => {
            format!("write `{name} = {}`, without quotes", s.trim())
        }
        (Kind::Duration { .. }, Got::Int(n)) => {
            format!("durations are strings with a unit: write `{name} = \"{n}s\"` or `{name} = \"{n}ms\"`")
        }
        (Kind::Duration { .. }, Got::Float(f)) => {
            format!("durations are strings with a unit: write `{name} = \"{f}s\"`")
        }
        (Kind::Choice(choices), _) => format!("write one of: {}", choice_list(choices)),
        _ => format!("write e.g. `{}`", key.example),
    };
    E::custom(format_args!("expected {} for `{name}`, found {found}; {fix}", expected(key.kind)))
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Count { .. } => "an integer",
        Kind::Duration { .. } => "a duration string",
        Kind::Number { .. } => "a number",
        Kind::Choice(_) | Kind::Text => "a string",
    }
}

fn choice_list(choices: &[&str]) -> String {
    choices.iter().map(|c| format!("`\"{c}\"`")).collect::<Vec<_>>().join(", ")
}

/// Reads one scalar and judges it, inside the format's call so that its error is placed at
/// the value. Numbers are asked for by their type, so that a format of strings
/// (environment variables) can convert them; strings by whatever the file holds, so that
/// `max = 60` gets the attribute's "write `\"60s\"`".
struct Read<T>(&'static Key, PhantomData<fn() -> T>);

impl<'de, T: Judge> DeserializeSeed<'de> for Read<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        match self.0.kind {
            Kind::Count { .. } => deserializer.deserialize_u64(self),
            Kind::Number { .. } => deserializer.deserialize_f64(self),
            Kind::Duration { .. } | Kind::Choice(_) | Kind::Text => deserializer.deserialize_any(self),
        }
    }
}

impl<'de, T: Judge> Visitor<'de> for Read<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for `{}`, e.g. `{}`", expected(self.0.kind), self.0.name, self.0.example)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        T::judge(self.0, Got::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::judge(self.0, Got::Int(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::judge(self.0, Got::Int(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<T, E> {
        T::judge(self.0, Got::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<T, E> {
        T::judge(self.0, Got::Int(i128::try_from(v).unwrap_or(i128::MAX)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        T::judge(self.0, Got::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::judge(self.0, Got::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        T::judge(self.0, Got::Str(v))
    }
}

/// The keys of one table, for `deserialize_struct` and for reading each key's name.
pub(super) struct Table {
    /// The type, in messages: "a `Breaker`".
    pub(super) what: &'static str,
    pub(super) keys: &'static [Key],
    pub(super) names: &'static [&'static str],
    /// Names users bring from other libraries, with the key that does the job.
    pub(super) aliases: &'static [(&'static str, &'static str)],
    /// Why a name that is not a key of this table belongs elsewhere, if it does.
    pub(super) elsewhere: fn(&str) -> Option<String>,
}

impl Table {
    /// Reads the next key's name; an unknown one is an error with a did-you-mean.
    pub(super) fn next_key<'de, A: MapAccess<'de>>(
        &'static self,
        map: &mut A,
    ) -> Result<Option<&'static Key>, A::Error> {
        map.next_key_seed(KeyName(self))
    }

    fn unknown(&self, name: &str) -> String {
        if let Some(why) = (self.elsewhere)(name) {
            return format!("unknown field `{name}`: {why}");
        }
        let alias = self.aliases.iter().find(|(alias, _)| *alias == name).map(|(_, key)| *key);
        match alias.or_else(|| suggest(name, self.names.iter().copied())) {
            Some(key) => format!("unknown field `{name}`; did you mean `{key}`?"),
            None => format!(
                "unknown field `{name}` in {}; expected one of: {}",
                self.what,
                self.names.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

struct KeyName(&'static Table);

impl<'de> DeserializeSeed<'de> for KeyName {
    type Value = &'static Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<&'static Key, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for KeyName {
    type Value = &'static Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the name of a key of {}", self.0.what)
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<&'static Key, E> {
        match self.0.keys.iter().find(|key| key.name == name) {
            Some(key) => Ok(key),
            None => Err(E::custom(self.0.unknown(name))),
        }
    }
}

/// Keeps the first value of a key; a second is serde's "duplicate field" (TOML refuses
/// one itself, JSON does not).
pub(super) fn once<T, E: de::Error>(slot: &mut Option<T>, key: &'static Key, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(key.name));
    }
    *slot = Some(value);
    Ok(())
}

/// Marks a visitor generic over a guard's clock.
pub(super) struct Of<C>(pub(super) PhantomData<fn() -> C>);

/// The closest candidate, if it is close enough to be a typo: the attribute's rule
/// (Jaro-Winkler above 0.8, as `strsim` computes it).
fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `strsim::jaro_winkler`, over chars, for the few short names a table has.
fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let sim = jaro(&a, &b);
    if sim > 0.7 {
        let prefix = a.iter().take(4).zip(&b).take_while(|(x, y)| x == y).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

fn jaro(a: &[char], b: &[char]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let range = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_flags = vec![false; a.len()];
    let mut b_flags = vec![false; b.len()];
    let mut matches = 0usize;
    for (i, x) in a.iter().enumerate() {
        let low = i.saturating_sub(range);
        let high = (i + range + 1).min(b.len());
        for j in low..high {
            if !b_flags[j] && *x == b[j] {
                a_flags[i] = true;
                b_flags[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut matched_b = b.iter().zip(&b_flags).filter(|(_, flag)| **flag).map(|(c, _)| c);
    for (x, _) in a.iter().zip(&a_flags).filter(|(_, flag)| **flag) {
        if matched_b.next() != Some(x) {
            transpositions += 1;
        }
    }
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - (transpositions / 2) as f64) / m) / 3.0
}

/// `2s`, `1m30s`, `250ms`: how a duration the file did not give is shown (the attribute's
/// rendering).
pub(super) fn show(d: Duration) -> String {
    duration::format_duration(d).unwrap_or_else(|_| format!("{d:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaro_winkler_is_strsims() {
        // Values from strsim's own tests.
        let close = |a: &str, b: &str, expected: f64| {
            let got = jaro_winkler(a, b);
            assert!((got - expected).abs() < 0.001, "{a} / {b}: {got}");
        };
        close("cheeseburger", "cheese fries", 0.866);
        close("dixon", "dicksonx", 0.813);
        close("martha", "marhta", 0.961);
        close("dwayne", "duane", 0.84);
        close("", "", 1.0);
        close("a", "", 0.0);
        close("abc", "xyz", 0.0);
    }

    #[test]
    fn suggestions_are_the_attributes() {
        let keys = ["attempts", "backoff", "min", "base", "max", "factor", "step", "jitter", "deadline", "timeout"];
        assert_eq!(suggest("attempt", keys.iter().copied()), Some("attempts"));
        assert_eq!(suggest("jiter", keys.iter().copied()), Some("jitter"));
        assert_eq!(suggest("timeuot", keys.iter().copied()), Some("timeout"));
        assert_eq!(suggest("colour", keys.iter().copied()), None);
        assert_eq!(suggest("expo", ["exp", "fixed", "linear", "fibonacci", "none"].into_iter()), Some("exp"));
    }

    #[test]
    fn shows_durations_as_the_attribute_does() {
        assert_eq!(show(Duration::from_secs(30)), "30s");
        assert_eq!(show(Duration::from_secs(90)), "1m30s");
        assert_eq!(show(Duration::from_secs(120)), "2m");
        assert_eq!(show(Duration::from_millis(250)), "250ms");
        assert_eq!(show(Duration::from_micros(5)), "5us");
    }
}
